/*  ob_yamltree.c — a positioned YAML tree read from libyaml's event stream,
    shared by the rule and calendar loaders.

    One pass over the events builds the tree: collections are pushed on a
    stack (as deep as the caller's limit), scalars and collections are
    counted against the node cap, and aliases, second documents, NUL bytes
    in values and collections as mapping keys are refused where they
    start. libyaml's reader errors carry a byte offset, which is turned
    into a line and a column in characters; parser errors carry a mark.   */
#include "ob_yamltree.h"
#include <strings.h>
#include <yaml.h>
#include "ob_selftest.h"

struct ob_yamltree {
    ob_yamlnode_t *root;  /* NULL for an empty stream */
};

/* Parsing context: input, limits and where errors go. */
typedef struct {
    ob_yamlctx_t out;          /* the file's path and where errors go */
    const unsigned char *buf;  /* file contents, to place reader errors */
    size_t len;
    const ob_yamltree_limits_t *limits;
    size_t nnodes;
} s_ctx_t;

size_t ob_yamltree_verror(char *err, size_t errlen, const char *path, size_t line, size_t col,
                          const char *fmt, va_list ap)
{
    if (!err || errlen == 0)
        return 0;
    int n = snprintf(err, errlen, "%s:%zu:%zu: ", path, line, col);
    if (n < 0 || (size_t) n >= errlen)
        return 0;
    vsnprintf(err + n, errlen - (size_t) n, fmt, ap);
    return (size_t) n;
}

int ob_yamltree_error(char *err, size_t errlen, const char *path, size_t line, size_t col,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ob_yamltree_verror(err, errlen, path, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

size_t ob_yamltree_error_where(const char *err, const char *path, size_t *line, size_t *col)
{
    *line = *col = 0;
    size_t plen = strlen(path);
    if (!err || strncmp(err, path, plen) != 0 || err[plen] != ':')
        return 0;
    const char *p = err + plen + 1;
    size_t v[2];
    for (int i = 0; i < 2; i++) {
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 18 || p[digits] != ':')
            return 0;
        v[i] = (size_t) strtoull(p, NULL, 10);
        p += digits + 1;
    }
    if (*p != ' ')
        return 0;
    *line = v[0];
    *col = v[1];
    return (size_t) (p + 1 - err);
}

/* Errors of the parse, through the schema helpers' one writer. */
#define s_fail(ctx, ...) ob_yamlctx_fail(&(ctx)->out, __VA_ARGS__)
#define s_fail_at(ctx, ...) ob_yamlctx_fail_at(&(ctx)->out, __VA_ARGS__)

static void s_node_free(ob_yamlnode_t *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->nkids; i++)
        s_node_free(node->kids[i]);
    free(node->kids);
    free(node->text);
    free(node);
}

static int s_node_add(s_ctx_t *ctx, ob_yamlnode_t *parent, ob_yamlnode_t *kid)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? 2 * parent->cap : 8;
        ob_yamlnode_t **kids = realloc(parent->kids, cap * sizeof *kids);
        if (!kids)
            return s_fail_at(ctx, kid, "out of memory");
        parent->kids = kids;
        parent->cap = cap;
    }
    parent->kids[parent->nkids++] = kid;
    return 0;
}

/* Line and column (1-based, column in characters) of byte `offset`. */
static void s_position(s_ctx_t *ctx, size_t offset, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    if (offset > ctx->len)
        offset = ctx->len;
    for (size_t i = 0; i < offset; i++) {
        if (ctx->buf[i] == '\n') {
            (*line)++;
            *col = 1;
        }
        else if ((ctx->buf[i] & 0xC0) != 0x80)
            (*col)++;
    }
}

/* Turns libyaml's error state into "path:line:column: message". */
static int s_yaml_error(s_ctx_t *ctx, yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "malformed YAML";
    if (parser->error == YAML_MEMORY_ERROR)
        return s_fail(ctx, 1, 1, "out of memory");
    if (parser->error == YAML_READER_ERROR) {
        size_t line, col;
        s_position(ctx, parser->problem_offset, &line, &col);
        if (strstr(problem, "UTF-8") || strstr(problem, "UTF-16"))
            return s_fail(ctx, line, col, "file is not valid UTF-8 (%s)", problem);
        return s_fail(ctx, line, col, "%s", problem);
    }
    yaml_mark_t m = parser->problem_mark;
    if (parser->context)
        return s_fail(ctx, m.line + 1, m.column + 1, "invalid YAML: %s %s", problem,
                      parser->context);
    return s_fail(ctx, m.line + 1, m.column + 1, "invalid YAML: %s", problem);
}

/* A fresh node for a scalar or collection start event, counted against
   the node cap. Returns 0 and *node_p, or -1 with the error set. */
static int s_node_new(s_ctx_t *ctx, const yaml_event_t *ev, ob_yamlnode_t **node_p)
{
    size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
    if (++ctx->nnodes > ctx->limits->max_nodes)
        return s_fail(ctx, line, col, "%s too complex (more than %zu YAML nodes)",
                      ctx->limits->what, ctx->limits->max_nodes);
    ob_yamlnode_t *node = calloc(1, sizeof *node);
    if (!node)
        return s_fail(ctx, line, col, "out of memory");
    node->line = line;
    node->col = col;
    if (ev->type == YAML_SCALAR_EVENT) {
        node->kind = OB_YAML_SCALAR;
        node->len = ev->data.scalar.length;
        node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        node->text = malloc(node->len + 1);
        if (!node->text) {
            free(node);
            return s_fail(ctx, line, col, "out of memory");
        }
        memcpy(node->text, ev->data.scalar.value, node->len);
        node->text[node->len] = '\0';
        if (strlen(node->text) != node->len) {
            s_node_free(node);
            return s_fail(ctx, line, col, "NUL character in a value");
        }
    }
    else
        node->kind = ev->type == YAML_SEQUENCE_START_EVENT ? OB_YAML_SEQ : OB_YAML_MAP;
    *node_p = node;
    return 0;
}

/* Reads the event stream of ctx->buf into a tree. Returns 0 and *root_p
   (NULL for an empty stream), or -1 with the error set. */
static int s_parse(s_ctx_t *ctx, ob_yamlnode_t **root_p)
{
    int rc = -1;
    ob_yamlnode_t *root = NULL;
    size_t max_depth = ctx->limits->max_depth;
    if (max_depth > OB_YAMLTREE_DEPTH_MAX)
        max_depth = OB_YAMLTREE_DEPTH_MAX;
    ob_yamlnode_t *stack[OB_YAMLTREE_DEPTH_MAX + 1];
    size_t depth = 0;
    int docs = 0;
    bool done = false;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return s_fail(ctx, 1, 1, "out of memory");
    yaml_parser_set_input_string(&parser, ctx->buf, ctx->len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            s_yaml_error(ctx, &parser);
            goto out;
        }
        size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
        ob_yamlnode_t *node = NULL;
        int bad = 0;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                bad = s_fail(ctx, line, col, "only one YAML document is allowed in a %s",
                             ctx->limits->what);
            break;
        case YAML_ALIAS_EVENT:
            bad = s_fail(ctx, line, col, "aliases (*name) are not allowed in a %s",
                         ctx->limits->what);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            assert(depth > 0);  /* libyaml pairs start and end events */
            depth--;
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            bad = s_node_new(ctx, &ev, &node);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (node) {
            if (depth == 0)
                root = node;  /* one document has one root */
            else {
                ob_yamlnode_t *parent = stack[depth - 1];
                if (parent->kind == OB_YAML_MAP && parent->nkids % 2 == 0
                    && node->kind != OB_YAML_SCALAR)
                    bad = s_fail_at(ctx, node, "mapping keys must be strings");
                else
                    bad = s_node_add(ctx, parent, node);
                if (bad)
                    s_node_free(node);
            }
            if (!bad && node->kind != OB_YAML_SCALAR) {
                if (depth == max_depth)
                    bad = s_fail_at(ctx, node, "nesting deeper than %zu levels", max_depth);
                else
                    stack[depth++] = node;
            }
        }
        if (bad)
            goto out;
    }
    rc = 0;
out:
    yaml_parser_delete(&parser);
    if (rc == 0)
        *root_p = root;
    else
        s_node_free(root);
    return rc;
}

ob_yamltree_t *ob_yamltree_parse(const void *buf, size_t len, const char *path,
                                 const ob_yamltree_limits_t *limits, char *err, size_t errlen)
{
    assert(buf || len == 0);
    assert(path);
    assert(limits && limits->what);
    s_ctx_t ctx = {.out = {.path = path, .err = err, .errlen = errlen},
                   .buf = buf ? buf : (const void *) "", .len = len, .limits = limits};
    ob_yamltree_t *self = calloc(1, sizeof *self);
    if (!self) {
        s_fail(&ctx, 1, 1, "out of memory");
        return NULL;
    }
    if (s_parse(&ctx, &self->root)) {
        free(self);
        return NULL;
    }
    return self;
}

void ob_yamltree_destroy(ob_yamltree_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_node_free((*self_p)->root);
    free(*self_p);
    *self_p = NULL;
}

const ob_yamlnode_t *ob_yamltree_root(ob_yamltree_t *self)
{
    assert(self);
    return self->root;
}

/* --- node helpers --------------------------------------------------------- */

const ob_yamlnode_t *ob_yamlnode_get(const ob_yamlnode_t *map, const char *key)
{
    if (!map || map->kind != OB_YAML_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->nkids; i += 2)
        if (strcmp(map->kids[i]->text, key) == 0)
            return map->kids[i + 1];
    return NULL;
}

bool ob_yamlnode_is_null(const ob_yamlnode_t *node)
{
    return node->kind == OB_YAML_SCALAR && node->plain
           && (node->len == 0 || strcmp(node->text, "~") == 0
               || strcmp(node->text, "null") == 0 || strcmp(node->text, "Null") == 0
               || strcmp(node->text, "NULL") == 0);
}

bool ob_yamlnode_is_text(const ob_yamlnode_t *node)
{
    return node->kind == OB_YAML_SCALAR && node->len > 0;
}

const char *ob_yamlnode_kind_name(const ob_yamlnode_t *node)
{
    return node->kind == OB_YAML_MAP ? "mapping" : node->kind == OB_YAML_SEQ ? "list" : "scalar";
}

int ob_yamltree_show(const char *text, size_t max)
{
    size_t n = strlen(text);
    if (n <= max)
        return (int) n;
    n = max;
    while (n > 0 && ((unsigned char) text[n] & 0xC0) == 0x80)
        n--;
    return (int) n;
}

/* --- schema helpers --------------------------------------------------------- */

#define S_SHOW 64   /* bytes of a key or value quoted in an error */

int ob_yamlctx_fail(ob_yamlctx_t *ctx, size_t line, size_t col, const char *fmt, ...)
{
    if (!ctx->err || ctx->errlen == 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    if (line) {
        ctx->emsg = ob_yamltree_verror(ctx->err, ctx->errlen, ctx->path, line, col, fmt, ap);
    }
    else {
        int n = snprintf(ctx->err, ctx->errlen, "%s: ", ctx->path);
        ctx->emsg = n > 0 && (size_t) n < ctx->errlen ? (size_t) n : 0;
        vsnprintf(ctx->err + ctx->emsg, ctx->errlen - ctx->emsg, fmt, ap);
        col = 0;
    }
    va_end(ap);
    ctx->pending = true;
    ctx->eline = line;
    ctx->ecol = col;
    return -1;
}

void ob_yamlctx_report(ob_yamlctx_t *ctx)
{
    ctx->pending = false;
    ctx->nerrors++;
    if (ctx->diag)
        ctx->diag(ctx->diag_arg, false, ctx->path, ctx->eline, ctx->ecol, ctx->err + ctx->emsg);
}

int ob_yamlctx_show(const char *text)
{
    return ob_yamltree_show(text, S_SHOW);
}

/* True when `key` is one of the context's reserved keys. */
static bool s_reserved(const ob_yamlctx_t *ctx, const char *key)
{
    for (size_t r = 0; ctx->reserved && ctx->reserved[r]; r++)
        if (strcmp(key, ctx->reserved[r]) == 0)
            return true;
    return false;
}

int ob_yamlctx_fields(ob_yamlctx_t *ctx, const ob_yamlnode_t *map, const char *what,
                      ob_yamlfield_t *fields, size_t n)
{
    if (map->kind != OB_YAML_MAP)
        return ob_yamlctx_fail_at(ctx, map, "%s must be a mapping", what);
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        ob_yamlnode_t *key = map->kids[i];
        size_t f;
        for (f = 0; f < n; f++)
            if (strcmp(key->text, fields[f].key) == 0)
                break;
        if (f == n && s_reserved(ctx, key->text))
            return ob_yamlctx_fail_at(ctx, key, "key '%s' in %s is reserved for a later "
                                      "release of %s", key->text, what, ctx->release_of);
        if (f == n)
            return ob_yamlctx_fail_at(ctx, key, "unknown key '%.*s' in %s",
                                      ob_yamlctx_show(key->text), key->text, what);
        if (fields[f].val)
            return ob_yamlctx_fail_at(ctx, key, "duplicate key '%s' in %s", fields[f].key, what);
        fields[f].val = map->kids[i + 1];
        fields[f].keynode = key;
    }
    return 0;
}

int ob_yamlctx_require(ob_yamlctx_t *ctx, const ob_yamlnode_t *map,
                       const ob_yamlfield_t *field, const char *what)
{
    if (field->val)
        return 0;
    return ob_yamlctx_fail_at(ctx, map, "missing required key '%s' in %s", field->key, what);
}

int ob_yamlctx_string(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                      size_t max, const char **out)
{
    if (node->kind != OB_YAML_SCALAR)
        return ob_yamlctx_fail_at(ctx, node, "%s must be a string, not a %s", what,
                                  node->kind == OB_YAML_MAP ? "mapping" : "list");
    if (ob_yamlnode_is_null(node) || node->len == 0)
        return ob_yamlctx_fail_at(ctx, node, "%s must not be empty", what);
    if (node->len > max)
        return ob_yamlctx_fail_at(ctx, node, "%s is too long (at most %zu bytes)", what, max);
    *out = node->text;
    return 0;
}

int ob_yamlctx_ident(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                     const char **out)
{
    if (ob_yamlctx_string(ctx, node, what, OB_DEPT_MAX - 1, out))
        return -1;
    for (const char *p = *out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'
              || *p == '-'))
            return ob_yamlctx_fail_at(ctx, node, "%s '%.*s' may hold only a-z, 0-9, '_' "
                                      "and '-'", what, ob_yamlctx_show(*out), *out);
    return 0;
}

int ob_yamlctx_integer(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                       long min, long max, long *out)
{
    if (node->kind != OB_YAML_SCALAR || !node->plain || node->len == 0)
        return ob_yamlctx_fail_at(ctx, node, "%s must be an integer", what);
    const char *p = node->text;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
        return ob_yamlctx_fail_at(ctx, node, "%s must be an integer", what);
    errno = 0;
    long v = strtol(node->text, NULL, 10);
    if (errno || v < min || v > max)
        return ob_yamlctx_fail_at(ctx, node, "%s must be between %ld and %ld", what, min, max);
    *out = v;
    return 0;
}

int ob_yamlctx_bool(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what, bool *out)
{
    if (node->kind == OB_YAML_SCALAR && node->plain) {
        if (strcasecmp(node->text, "true") == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(node->text, "false") == 0) {
            *out = false;
            return 0;
        }
    }
    return ob_yamlctx_fail_at(ctx, node, "%s must be true or false", what);
}

int ob_yamlctx_scalar(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what)
{
    if (node->kind != OB_YAML_SCALAR)
        return ob_yamlctx_fail_at(ctx, node, "%s must be a single value, not a %s", what,
                                  node->kind == OB_YAML_MAP ? "mapping" : "list");
    if (node->len == 0)
        return ob_yamlctx_fail_at(ctx, node, "%s must not be empty", what);
    return 0;
}

int ob_yamlctx_list(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what)
{
    if (node->kind != OB_YAML_SEQ)
        return ob_yamlctx_fail_at(ctx, node, "%s must be a list", what);
    return 0;
}

int ob_yamlctx_one_or_list(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                           size_t max, bool map_is_item, ob_yamlctx_each_fn each, void *arg)
{
    if (node->kind == OB_YAML_SEQ) {
        if (node->nkids == 0)
            return ob_yamlctx_fail_at(ctx, node, "%s must not be an empty list", what);
        if (node->nkids > max)
            return ob_yamlctx_fail_at(ctx, node, "%s lists more than %zu entries", what, max);
        for (size_t i = 0; i < node->nkids; i++)
            if (each(ctx, node->kids[i], arg))
                return -1;
        return 0;
    }
    if (node->kind == OB_YAML_MAP && !map_is_item)
        return ob_yamlctx_fail_at(ctx, node, "%s must be a string or a list of strings", what);
    return each(ctx, node, arg);
}

/* --- self-test ------------------------------------------------------------ */

/* Parses `text` expecting failure; asserts the error is `want`. */
static void s_test_fail(const char *text, size_t len, const ob_yamltree_limits_t *limits,
                        const char *want)
{
    char err[256] = "";
    ob_yamltree_t *tree = ob_yamltree_parse(text, len, "t.yaml", limits, err, sizeof err);
    if (tree || strcmp(err, want) != 0)
        fprintf(stderr, "\nyamltree: got '%s', want '%s'\n", err, want);
    assert(!tree);
    assert(strcmp(err, want) == 0);
}

/* Collects the first diagnostic of ob_yamlctx_report. */
static void s_test_diag(void *arg, bool warning, const char *path, size_t line, size_t col,
                        const char *message)
{
    snprintf(arg, 128, "%s %zu:%zu %s%s", path, line, col, warning ? "warning " : "", message);
}

static int s_test_each(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    if (item->kind != OB_YAML_SCALAR)
        return ob_yamlctx_fail_at(ctx, item, "item must be a scalar");
    (*(int *) arg)++;
    return 0;
}

/* The schema helpers on a small tree. */
static void s_test_ctx(void)
{
    const char *text = "a: 1\nb: [x, y]\nc: {d: e}\nnope: 2\ncalendar: 3\n";
    ob_yamltree_limits_t lim = {.max_nodes = 100, .max_depth = 8, .what = "test file"};
    char err[256] = "", diag[128] = "";
    ob_yamltree_t *tree = ob_yamltree_parse(text, strlen(text), "t.yaml", &lim, err, sizeof err);
    assert(tree);
    const ob_yamlnode_t *root = ob_yamltree_root(tree);
    static const char *const reserved[] = {"calendar", NULL};
    ob_yamlctx_t ctx = {.path = "t.yaml", .err = err, .errlen = sizeof err,
                        .reserved = reserved, .release_of = "the tests",
                        .diag = s_test_diag, .diag_arg = diag};
    ob_yamlfield_t f[] = {{"a", NULL, NULL}, {"b", NULL, NULL}, {"c", NULL, NULL}};
    int rc = ob_yamlctx_fields(&ctx, root, "the file", f, 3);
    assert(rc == -1 && strcmp(err, "t.yaml:4:1: unknown key 'nope' in the file") == 0);
    assert(ctx.pending && ctx.eline == 4 && ctx.ecol == 1);
    ob_yamlctx_report(&ctx);
    assert(!ctx.pending && ctx.nerrors == 1);
    assert(strcmp(diag, "t.yaml 4:1 unknown key 'nope' in the file") == 0);
    ob_yamlfield_t g[] = {{"a", NULL, NULL}, {"b", NULL, NULL}, {"c", NULL, NULL},
                          {"nope", NULL, NULL}};
    rc = ob_yamlctx_fields(&ctx, root, "the file", g, 4);
    assert(rc == -1 && strstr(err, "5:1: key 'calendar' in the file is reserved for a later "
                                   "release of the tests"));
    long v = 0;
    rc = ob_yamlctx_integer(&ctx, g[0].val, "a", 0, 9, &v);
    assert(rc == 0 && v == 1);
    rc = ob_yamlctx_integer(&ctx, g[0].val, "a", 2, 9, &v);
    assert(rc == -1 && strstr(err, "1:4: a must be between 2 and 9"));
    int n = 0;
    rc = ob_yamlctx_one_or_list(&ctx, g[1].val, "b", 8, false, s_test_each, &n);
    assert(rc == 0 && n == 2);
    rc = ob_yamlctx_one_or_list(&ctx, g[1].val, "b", 1, false, s_test_each, &n);
    assert(rc == -1 && strstr(err, "2:4: b lists more than 1 entries"));
    rc = ob_yamlctx_one_or_list(&ctx, g[2].val, "c", 8, false, s_test_each, &n);
    assert(rc == -1 && strstr(err, "3:4: c must be a string or a list of strings"));
    rc = ob_yamlctx_one_or_list(&ctx, g[2].val, "c", 8, true, s_test_each, &n);
    assert(rc == -1 && strstr(err, "3:4: item must be a scalar"));
    rc = ob_yamlctx_list(&ctx, g[1].val, "b");
    assert(rc == 0);
    rc = ob_yamlctx_scalar(&ctx, g[1].val, "b");
    assert(rc == -1 && strstr(err, "b must be a single value, not a list"));
    const char *s = NULL;
    rc = ob_yamlctx_ident(&ctx, g[0].val, "id", &s);
    assert(rc == 0 && strcmp(s, "1") == 0);
    bool yes = false;
    rc = ob_yamlctx_bool(&ctx, g[0].val, "flag", &yes);
    assert(rc == -1 && strstr(err, "flag must be true or false"));
    /* line 0: a problem of the whole file */
    rc = ob_yamlctx_fail(&ctx, 0, 7, "cannot %s", "read");
    assert(rc == -1 && strcmp(err, "t.yaml: cannot read") == 0);
    assert(ctx.eline == 0 && ctx.ecol == 0 && strcmp(err + ctx.emsg, "cannot read") == 0);
    ob_yamltree_destroy(&tree);
}

void ob_yamltree_test(bool verbose)
{
    (void) verbose;
    ob_yamltree_limits_t lim = {.max_nodes = 100, .max_depth = 4, .what = "test file"};
    char err[256] = "";

    /* Positions: 1-based lines, columns in characters (not bytes). */
    const char *text = "name: 市民热线\nlist:\n  - a\n  - \"b\"\ndeep: {k: [1, 2]}\n"
                       "中文: x\n";
    ob_yamltree_t *tree = ob_yamltree_parse(text, strlen(text), "t.yaml", &lim, err, sizeof err);
    assert(tree);
    const ob_yamlnode_t *root = ob_yamltree_root(tree);
    assert(root && root->kind == OB_YAML_MAP && root->nkids == 8);
    assert(root->line == 1 && root->col == 1);
    const ob_yamlnode_t *name = ob_yamlnode_get(root, "name");
    assert(name && name->kind == OB_YAML_SCALAR && strcmp(name->text, "市民热线") == 0);
    assert(name->line == 1 && name->col == 7 && name->len == 12 && name->plain);
    const ob_yamlnode_t *list = ob_yamlnode_get(root, "list");
    assert(list && list->kind == OB_YAML_SEQ && list->nkids == 2);
    assert(list->kids[0]->line == 3 && list->kids[0]->col == 5);
    assert(list->kids[1]->plain == false && strcmp(list->kids[1]->text, "b") == 0);
    const ob_yamlnode_t *deep = ob_yamlnode_get(root, "deep");
    assert(deep && deep->kind == OB_YAML_MAP && deep->line == 5 && deep->col == 7);
    const ob_yamlnode_t *k = ob_yamlnode_get(deep, "k");
    assert(k && k->kind == OB_YAML_SEQ && k->nkids == 2 && k->kids[1]->col == 15);
    const ob_yamlnode_t *cn = ob_yamlnode_get(root, "中文");
    assert(cn && cn->line == 6 && cn->col == 5);
    assert(!ob_yamlnode_get(root, "absent") && !ob_yamlnode_get(name, "name"));
    assert(strcmp(ob_yamlnode_kind_name(root), "mapping") == 0);
    assert(strcmp(ob_yamlnode_kind_name(list), "list") == 0);
    assert(ob_yamlnode_is_text(name) && !ob_yamlnode_is_text(list));
    assert(!ob_yamlnode_is_null(name));
    ob_yamltree_destroy(&tree);
    assert(!tree);
    ob_yamltree_destroy(&tree);  /* safe twice */

    /* Nulls, empty streams. */
    text = "a: ~\nb:\nc: null\nd: 'null'\n";
    tree = ob_yamltree_parse(text, strlen(text), "t.yaml", &lim, err, sizeof err);
    assert(tree);
    root = ob_yamltree_root(tree);
    assert(ob_yamlnode_is_null(ob_yamlnode_get(root, "a")));
    assert(ob_yamlnode_is_null(ob_yamlnode_get(root, "b")));
    assert(ob_yamlnode_is_null(ob_yamlnode_get(root, "c")));
    assert(!ob_yamlnode_is_null(ob_yamlnode_get(root, "d")));
    ob_yamltree_destroy(&tree);
    tree = ob_yamltree_parse("", 0, "t.yaml", &lim, err, sizeof err);
    assert(tree && !ob_yamltree_root(tree));
    ob_yamltree_destroy(&tree);
    tree = ob_yamltree_parse(NULL, 0, "t.yaml", &lim, err, sizeof err);
    assert(tree && !ob_yamltree_root(tree));
    ob_yamltree_destroy(&tree);

    /* Caps: node count and depth. */
    ob_yamltree_limits_t small = {.max_nodes = 3, .max_depth = 2, .what = "test file"};
    s_test_fail("[a, b, c]", 9, &small, "t.yaml:1:8: test file too complex (more than 3 YAML nodes)");
    s_test_fail("[[[a]]]", 7, &small, "t.yaml:1:3: nesting deeper than 2 levels");
    tree = ob_yamltree_parse("[[a]]", 5, "t.yaml", &small, err, sizeof err);
    assert(tree);
    ob_yamltree_destroy(&tree);

    /* Aliases, documents, keys, NUL bytes. */
    s_test_fail("a: &x 1\nb: *x\n", 14, &lim,
                "t.yaml:2:4: aliases (*name) are not allowed in a test file");
    s_test_fail("a: 1\n---\nb: 2\n", 14, &lim,
                "t.yaml:2:1: only one YAML document is allowed in a test file");
    s_test_fail("? [a]\n: b\n", 10, &lim, "t.yaml:1:3: mapping keys must be strings");
    s_test_fail("a: \"x\\0y\"\n", 10, &lim, "t.yaml:1:4: NUL character in a value");
    s_test_fail("a: [1, 2\n", 9, &lim,
                "t.yaml:2:1: invalid YAML: did not find expected ',' or ']' "
                "while parsing a flow sequence");

    /* Invalid UTF-8: placed by line and character column. */
    s_test_fail("a: 中\nb: \xff\n", 11, &lim,
                "t.yaml:2:4: file is not valid UTF-8 (invalid leading UTF-8 octet)");

    /* Error helpers. */
    int rc = ob_yamltree_error(err, sizeof err, "dir/r.yaml", 12, 3, "bad '%s'", "k");
    assert(rc == -1);
    assert(strcmp(err, "dir/r.yaml:12:3: bad 'k'") == 0);
    size_t line, col;
    size_t msg = ob_yamltree_error_where(err, "dir/r.yaml", &line, &col);
    assert(line == 12 && col == 3 && strcmp(err + msg, "bad 'k'") == 0);
    msg = ob_yamltree_error_where("dir/r.yaml: no position", "dir/r.yaml", &line, &col);
    assert(msg == 0);
    assert(line == 0 && col == 0);
    char tiny[4];
    rc = ob_yamltree_error(tiny, sizeof tiny, "dir/r.yaml", 1, 1, "x");
    assert(rc == -1);
    assert(ob_yamltree_error(NULL, 0, "p", 1, 1, "x") == -1);
    assert(ob_yamltree_show("abc", 64) == 3);
    assert(ob_yamltree_show("中文", 4) == 3);  /* never cuts a character */
    s_test_ctx();
}
