/*  ob_rules.c — routing rules (DESIGN §6), loaded from YAML with libyaml.

    Loading happens in two passes. The first reads libyaml's event stream
    into a small tree of scalars, sequences and mappings, each node keeping
    its 1-based line and column; it refuses aliases (they could make the
    tree cyclic or exponentially large), more than one document, NUL bytes
    and anything past fixed caps on size, depth and node count. The second
    pass validates the tree against the format of router-rules/README.md
    and builds the rule set; every error names file:line:column.

    The rule set is immutable once loaded: routing only reads it, so a
    broker can swap a freshly loaded set in whole on reload.

    Keys that the full rules engine will add (keywords, polygons, channel,
    any/all/not, assisting departments, not-accepted, transfer, ...) are
    refused with "reserved for a later release" rather than silently
    ignored, so a file never means something else on an older broker.     */
#include "ob_rules.h"
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* Not yet in ob_rules.h (the lead owns it): the site's zone from the
   file's `timezone:`, minutes east of UTC, for ob_calendar_new_weekdays. */
int ob_rules_utc_offset_min(ob_rules_t *self);

#define S_MAX_FILE     (16 * 1024 * 1024) /* bytes in a rule file */
#define S_MAX_NODES    (256 * 1024)       /* YAML nodes in a rule file */
#define S_MAX_DEPTH    32                 /* nesting of YAML collections */
#define S_MAX_RULES    5000
#define S_MAX_DEPTS    1000
#define S_MAX_LIST     1000  /* entries in one `category:` or `district:` list */
#define S_MAX_LEVELS   8     /* levels in one category path */
#define S_MAX_TEXT     256   /* bytes in a name, category level or district code */
#define S_MAX_VERSION  128   /* bytes in the version string */
#define S_MAX_HOURS    8760  /* longest deadline in working hours (a year) */
#define S_MAX_DAYS     365   /* longest deadline in working days */
#define S_SHOW         64    /* bytes of a key or value quoted in an error */

/* Deadlines when neither the rule nor `defaults:` gives one. */
#define S_BUILTIN_SIGN_HOURS 24
#define S_BUILTIN_REPLY_DAYS 15

enum { S_NORMAL, S_URGENT, S_VERY_URGENT, S_URGENCIES };

/* A duration: exactly one of days and hours is non-zero. */
typedef struct {
    uint32_t days;  /* working days */
    uint32_t hours; /* working hours */
} s_dur_t;

/* A deadline setting, one duration per urgency. */
typedef struct {
    bool set;                 /* given in the file */
    s_dur_t by[S_URGENCIES];  /* indexed by S_NORMAL .. S_VERY_URGENT */
} s_deadline_t;

typedef struct {
    char *id;   /* [a-z0-9_-]{1,63} */
    char *name; /* display name, UTF-8 */
} s_dept_t;

/* One category prefix, split into its levels. */
typedef struct {
    char **levels;
    size_t nlevels;
} s_catpath_t;

typedef struct {
    char id[OB_RULE_ID_MAX];
    long priority;          /* higher first */
    size_t index;           /* position in the file, breaks priority ties */
    s_catpath_t *cats;      /* OR of category prefixes; none: any category */
    size_t ncats;
    char **districts;       /* OR of district codes; none: any district */
    size_t ndistricts;
    char lead[OB_DEPT_MAX]; /* declared department id */
    s_deadline_t sign;
    s_deadline_t reply;
} s_rule_t;

struct ob_rules {
    char *version;         /* the file's `version:` */
    int utc_offset_min;    /* the file's `timezone:`, default +480 */
    s_dept_t *depts;       /* in file order */
    size_t ndepts;
    s_deadline_t sign;     /* defaults (always set) */
    s_deadline_t reply;
    s_rule_t *rules;       /* sorted: priority descending, then file order */
    size_t nrules;
};

/* --- YAML tree ---------------------------------------------------------- */

typedef enum { S_SCALAR, S_SEQ, S_MAP } s_kind_t;

typedef struct s_node s_node_t;
struct s_node {
    s_kind_t kind;
    size_t line, col;  /* 1-based position of the node's start */
    char *text;        /* scalar value, NUL-free, NUL-terminated */
    size_t len;        /* its length in bytes */
    bool plain;        /* scalar was written without quotes or block style */
    s_node_t **kids;   /* sequence items; mapping: key, value, key, value... */
    size_t nkids, cap;
};

/* Loading context: where errors go and what has been counted. */
typedef struct {
    const char *path;
    char *err;
    size_t errlen;
    const unsigned char *buf; /* file contents, to place reader errors */
    size_t len;
    size_t nnodes;
} s_ctx_t;

/* Writes "path:line:column: message" into the error buffer. Returns -1 so
   that callers can `return s_fail(...)`. */
static int s_fail(s_ctx_t *ctx, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_fail(s_ctx_t *ctx, size_t line, size_t col, const char *fmt, ...)
{
    if (!ctx->err || ctx->errlen == 0)
        return -1;
    int n = snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: ", ctx->path, line, col);
    if (n >= 0 && (size_t) n < ctx->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err + n, ctx->errlen - (size_t) n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#define s_fail_at(ctx, node, ...) s_fail((ctx), (node)->line, (node)->col, __VA_ARGS__)

static void s_node_free(s_node_t *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->nkids; i++)
        s_node_free(node->kids[i]);
    free(node->kids);
    free(node->text);
    free(node);
}

static int s_node_add(s_ctx_t *ctx, s_node_t *parent, s_node_t *kid)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? 2 * parent->cap : 8;
        s_node_t **kids = realloc(parent->kids, cap * sizeof *kids);
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

/* Reads the event stream of buf into a tree. Returns 0 and *root_p (NULL
   for an empty stream), or -1 with the error set. */
static int s_parse(s_ctx_t *ctx, s_node_t **root_p)
{
    int rc = -1;
    s_node_t *root = NULL;
    s_node_t *stack[S_MAX_DEPTH + 1];
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
        s_node_t *node = NULL;
        int bad = 0;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                bad = s_fail(ctx, line, col, "only one YAML document is allowed in a rule file");
            break;
        case YAML_ALIAS_EVENT:
            bad = s_fail(ctx, line, col, "aliases (*name) are not allowed in a rule file");
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            assert(depth > 0);  /* libyaml pairs start and end events */
            depth--;
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++ctx->nnodes > S_MAX_NODES) {
                bad = s_fail(ctx, line, col, "rule file too complex (more than %d YAML nodes)",
                             S_MAX_NODES);
                break;
            }
            node = calloc(1, sizeof *node);
            if (!node) {
                bad = s_fail(ctx, line, col, "out of memory");
                break;
            }
            node->line = line;
            node->col = col;
            if (ev.type == YAML_SCALAR_EVENT) {
                node->kind = S_SCALAR;
                node->len = ev.data.scalar.length;
                node->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                node->text = malloc(node->len + 1);
                if (!node->text) {
                    bad = s_fail(ctx, line, col, "out of memory");
                    break;
                }
                memcpy(node->text, ev.data.scalar.value, node->len);
                node->text[node->len] = '\0';
                if (strlen(node->text) != node->len)
                    bad = s_fail(ctx, line, col, "NUL character in a value");
            }
            else
                node->kind = ev.type == YAML_SEQUENCE_START_EVENT ? S_SEQ : S_MAP;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (node && bad && node != root)
            s_node_free(node);
        if (node && !bad) {
            if (depth == 0)
                root = node;  /* one document has one root */
            else {
                s_node_t *parent = stack[depth - 1];
                if (parent->kind == S_MAP && parent->nkids % 2 == 0 && node->kind != S_SCALAR)
                    bad = s_fail_at(ctx, node, "mapping keys must be strings");
                else
                    bad = s_node_add(ctx, parent, node);
                if (bad)
                    s_node_free(node);
            }
            if (!bad && node->kind != S_SCALAR) {
                if (depth == S_MAX_DEPTH)
                    bad = s_fail_at(ctx, node, "nesting deeper than %d levels", S_MAX_DEPTH);
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

/* --- validation helpers --------------------------------------------------- */

/* Keys the full rules engine will use: refused with a clear message. */
static const char *s_reserved[] = {
    /* top level */ "calendar", "calendars", "include", "sites", "taxonomy",
    /* when */ "keywords", "keywords_all", "keywords_any", "area", "polygon", "street",
               "channel", "urgency", "appeal_type", "complainant", "target_org",
               "time", "weekday", "any", "all", "not",
    /* then */ "assist", "assist_within", "reject", "transfer", "recuse", "contact",
               "confidential", "supervise", "escalate",
    NULL
};

typedef struct {
    const char *key;   /* accepted key */
    s_node_t *val;     /* its value, NULL when absent */
    s_node_t *keynode; /* its key node, for positions */
} s_field_t;

/* Bytes of `text` to quote in an error: at most S_SHOW, cut on a UTF-8
   character boundary so that the message stays valid UTF-8. */
static int s_show(const char *text)
{
    size_t n = strlen(text);
    if (n <= S_SHOW)
        return (int) n;
    n = S_SHOW;
    while (n > 0 && ((unsigned char) text[n] & 0xC0) == 0x80)
        n--;
    return (int) n;
}

static bool s_is_null(const s_node_t *node)
{
    return node->kind == S_SCALAR && node->plain
           && (node->len == 0 || strcmp(node->text, "~") == 0
               || strcmp(node->text, "null") == 0 || strcmp(node->text, "Null") == 0
               || strcmp(node->text, "NULL") == 0);
}

/* Checks that `map` (described by `what` in errors) is a mapping whose
   keys are among fields[0..n), each at most once; fills each field's val.
   Returns 0 or -1 with the error set. */
static int s_fields(s_ctx_t *ctx, const s_node_t *map, const char *what, s_field_t *fields,
                    size_t n)
{
    if (map->kind != S_MAP)
        return s_fail_at(ctx, map, "%s must be a mapping", what);
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        s_node_t *key = map->kids[i];
        size_t f;
        for (f = 0; f < n; f++)
            if (strcmp(key->text, fields[f].key) == 0)
                break;
        if (f == n) {
            for (size_t r = 0; s_reserved[r]; r++)
                if (strcmp(key->text, s_reserved[r]) == 0)
                    return s_fail_at(ctx, key,
                                     "key '%s' in %s is reserved for a later release "
                                     "of the rules engine", key->text, what);
            return s_fail_at(ctx, key, "unknown key '%.*s' in %s", s_show(key->text), key->text, what);
        }
        if (fields[f].val)
            return s_fail_at(ctx, key, "duplicate key '%s' in %s", fields[f].key, what);
        fields[f].val = map->kids[i + 1];
        fields[f].keynode = key;
    }
    return 0;
}

static int s_require(s_ctx_t *ctx, const s_node_t *map, const s_field_t *field,
                     const char *what)
{
    if (field->val)
        return 0;
    return s_fail_at(ctx, map, "missing required key '%s' in %s", field->key, what);
}

/* A non-empty string scalar of at most max bytes. */
static int s_string(s_ctx_t *ctx, const s_node_t *node, const char *what, size_t max,
                    const char **out)
{
    if (node->kind != S_SCALAR)
        return s_fail_at(ctx, node, "%s must be a string, not a %s", what,
                         node->kind == S_MAP ? "mapping" : "list");
    if (s_is_null(node) || node->len == 0)
        return s_fail_at(ctx, node, "%s must not be empty", what);
    if (node->len > max)
        return s_fail_at(ctx, node, "%s is too long (at most %zu bytes)", what, max);
    *out = node->text;
    return 0;
}

/* An identifier [a-z0-9_-]{1,63}. */
static int s_ident(s_ctx_t *ctx, const s_node_t *node, const char *what, const char **out)
{
    if (s_string(ctx, node, what, OB_DEPT_MAX - 1, out))
        return -1;
    for (const char *p = *out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'
              || *p == '-'))
            return s_fail_at(ctx, node, "%s '%.*s' may hold only a-z, 0-9, '_' and '-'",
                             what, s_show(*out), *out);
    return 0;
}

/* A plain (unquoted) integer scalar in [min, max]. */
static int s_integer(s_ctx_t *ctx, const s_node_t *node, const char *what, long min,
                     long max, long *out)
{
    if (node->kind != S_SCALAR || !node->plain || node->len == 0)
        return s_fail_at(ctx, node, "%s must be an integer", what);
    const char *p = node->text;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
        return s_fail_at(ctx, node, "%s must be an integer", what);
    errno = 0;
    long v = strtol(node->text, NULL, 10);
    if (errno || v < min || v > max)
        return s_fail_at(ctx, node, "%s must be between %ld and %ld", what, min, max);
    *out = v;
    return 0;
}

/* A duration "Nh" (working hours) or "Nd" (working days), N >= 1. */
static int s_duration(s_ctx_t *ctx, const s_node_t *node, const char *what, s_dur_t *out)
{
    if (node->kind != S_SCALAR)
        return s_fail_at(ctx, node, "%s must be a duration such as 24h or 15d", what);
    const char *t = node->text;
    size_t digits = strspn(t, "0123456789");
    char unit = t[digits];
    if (digits == 0 || digits > 6 || t[0] == '0' || (unit != 'h' && unit != 'd')
        || t[digits + 1] != '\0')
        return s_fail_at(ctx, node,
                         "bad duration '%.*s' for %s: expected Nh (working hours) "
                         "or Nd (working days), N >= 1", s_show(t), t, what);
    long n = strtol(t, NULL, 10);
    long max = unit == 'h' ? S_MAX_HOURS : S_MAX_DAYS;
    if (n > max)
        return s_fail_at(ctx, node, "duration '%s' for %s is too long (at most %ld%c)", t,
                         what, max, unit);
    out->days = unit == 'd' ? (uint32_t) n : 0;
    out->hours = unit == 'h' ? (uint32_t) n : 0;
    return 0;
}

/* A deadline: one duration for every urgency, or a mapping
   {normal, urgent, very_urgent} where normal is required, urgent defaults
   to normal and very_urgent to urgent. */
static int s_deadline(s_ctx_t *ctx, const s_node_t *node, const char *what,
                      s_deadline_t *out)
{
    out->set = true;
    if (node->kind != S_MAP) {
        if (s_duration(ctx, node, what, &out->by[S_NORMAL]))
            return -1;
        out->by[S_URGENT] = out->by[S_VERY_URGENT] = out->by[S_NORMAL];
        return 0;
    }
    s_field_t f[] = {{"normal", NULL, NULL}, {"urgent", NULL, NULL},
                     {"very_urgent", NULL, NULL}};
    if (s_fields(ctx, node, what, f, 3) || s_require(ctx, node, &f[0], what))
        return -1;
    for (int u = S_NORMAL; u < S_URGENCIES; u++) {
        if (f[u].val) {
            char sub[64];
            snprintf(sub, sizeof sub, "%s.%s", what, f[u].key);
            if (s_duration(ctx, f[u].val, sub, &out->by[u]))
                return -1;
        }
        else
            out->by[u] = out->by[u - 1];  /* u > 0: normal is required */
    }
    return 0;
}

/* A string or a non-empty list of strings, handed one by one to `each`. */
typedef int (*s_each_fn)(s_ctx_t *ctx, const s_node_t *item, void *arg);

static int s_one_or_list(s_ctx_t *ctx, const s_node_t *node, const char *what,
                         s_each_fn each, void *arg)
{
    if (node->kind == S_MAP)
        return s_fail_at(ctx, node, "%s must be a string or a list of strings", what);
    if (node->kind == S_SCALAR)
        return each(ctx, node, arg);
    if (node->nkids == 0)
        return s_fail_at(ctx, node, "%s must not be an empty list", what);
    if (node->nkids > S_MAX_LIST)
        return s_fail_at(ctx, node, "%s lists more than %d entries", what, S_MAX_LIST);
    for (size_t i = 0; i < node->nkids; i++)
        if (each(ctx, node->kids[i], arg))
            return -1;
    return 0;
}

/* --- building the rule set ------------------------------------------------ */

static void s_rule_clear(s_rule_t *rule)
{
    for (size_t i = 0; i < rule->ncats; i++) {
        for (size_t l = 0; l < rule->cats[i].nlevels; l++)
            free(rule->cats[i].levels[l]);
        free(rule->cats[i].levels);
    }
    free(rule->cats);
    for (size_t i = 0; i < rule->ndistricts; i++)
        free(rule->districts[i]);
    free(rule->districts);
    memset(rule, 0, sizeof *rule);
}

/* Adds one category prefix "a/b/c" to the rule. */
static int s_add_category(s_ctx_t *ctx, const s_node_t *item, void *arg)
{
    s_rule_t *rule = arg;
    const char *text;
    if (s_string(ctx, item, "category", S_MAX_LEVELS * (S_MAX_TEXT + 1), &text))
        return -1;
    s_catpath_t *cats = realloc(rule->cats, (rule->ncats + 1) * sizeof *cats);
    if (!cats)
        return s_fail_at(ctx, item, "out of memory");
    rule->cats = cats;
    s_catpath_t *cat = &rule->cats[rule->ncats++];
    memset(cat, 0, sizeof *cat);
    cat->levels = calloc(S_MAX_LEVELS, sizeof *cat->levels);
    if (!cat->levels)
        return s_fail_at(ctx, item, "out of memory");
    const char *p = text;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t) (slash - p) : strlen(p);
        if (n == 0)
            return s_fail_at(ctx, item, "category '%.*s' has an empty level", s_show(text), text);
        if (n > S_MAX_TEXT)
            return s_fail_at(ctx, item, "category level too long (at most %d bytes)",
                             S_MAX_TEXT);
        if (cat->nlevels == S_MAX_LEVELS)
            return s_fail_at(ctx, item, "category has more than %d levels", S_MAX_LEVELS);
        char *level = malloc(n + 1);
        if (!level)
            return s_fail_at(ctx, item, "out of memory");
        memcpy(level, p, n);
        level[n] = '\0';
        cat->levels[cat->nlevels++] = level;
        if (!slash)
            break;
        p = slash + 1;
    }
    return 0;
}

static int s_add_district(s_ctx_t *ctx, const s_node_t *item, void *arg)
{
    s_rule_t *rule = arg;
    const char *text;
    if (s_string(ctx, item, "district", OB_DEPT_MAX - 1, &text))
        return -1;
    char **districts = realloc(rule->districts, (rule->ndistricts + 1) * sizeof *districts);
    if (!districts)
        return s_fail_at(ctx, item, "out of memory");
    rule->districts = districts;
    rule->districts[rule->ndistricts] = strdup(text);
    if (!rule->districts[rule->ndistricts])
        return s_fail_at(ctx, item, "out of memory");
    rule->ndistricts++;
    return 0;
}

static int s_load_departments(s_ctx_t *ctx, ob_rules_t *self, const s_node_t *node)
{
    if (node->kind != S_SEQ)
        return s_fail_at(ctx, node, "departments must be a list");
    if (node->nkids == 0)
        return s_fail_at(ctx, node, "departments must declare at least one department");
    if (node->nkids > S_MAX_DEPTS)
        return s_fail_at(ctx, node, "more than %d departments", S_MAX_DEPTS);
    self->depts = calloc(node->nkids, sizeof *self->depts);
    if (!self->depts)
        return s_fail_at(ctx, node, "out of memory");
    for (size_t i = 0; i < node->nkids; i++) {
        const s_node_t *item = node->kids[i];
        s_field_t f[] = {{"id", NULL, NULL}, {"name", NULL, NULL}};
        const char *id, *name;
        if (s_fields(ctx, item, "a department", f, 2)
            || s_require(ctx, item, &f[0], "a department")
            || s_require(ctx, item, &f[1], "a department")
            || s_ident(ctx, f[0].val, "department id", &id)
            || s_string(ctx, f[1].val, "department name", S_MAX_TEXT, &name))
            return -1;
        for (size_t j = 0; j < self->ndepts; j++)
            if (strcmp(self->depts[j].id, id) == 0)
                return s_fail_at(ctx, f[0].val, "duplicate department id '%s'", id);
        s_dept_t *dept = &self->depts[self->ndepts];
        dept->id = strdup(id);
        dept->name = strdup(name);
        self->ndepts++;
        if (!dept->id || !dept->name)
            return s_fail_at(ctx, item, "out of memory");
    }
    return 0;
}

static int s_load_defaults(s_ctx_t *ctx, ob_rules_t *self, const s_node_t *node)
{
    s_field_t f[] = {{"sign_within", NULL, NULL}, {"reply_within", NULL, NULL}};
    if (s_is_null(node))
        return 0;
    if (s_fields(ctx, node, "defaults", f, 2))
        return -1;
    if (f[0].val && s_deadline(ctx, f[0].val, "sign_within", &self->sign))
        return -1;
    if (f[1].val && s_deadline(ctx, f[1].val, "reply_within", &self->reply))
        return -1;
    return 0;
}

static int s_load_rule(s_ctx_t *ctx, ob_rules_t *self, const s_node_t *node, s_rule_t *rule)
{
    s_field_t f[] = {{"id", NULL, NULL},   {"priority", NULL, NULL},
                     {"when", NULL, NULL}, {"then", NULL, NULL},
                     {"description", NULL, NULL}};
    const char *id, *text;
    if (s_fields(ctx, node, "a rule", f, 5) || s_require(ctx, node, &f[0], "a rule")
        || s_ident(ctx, f[0].val, "rule id", &id))
        return -1;
    for (size_t j = 0; j < self->nrules; j++)
        if (strcmp(self->rules[j].id, id) == 0)
            return s_fail_at(ctx, f[0].val, "duplicate rule id '%s'", id);
    memcpy(rule->id, id, strlen(id) + 1);  /* s_ident capped it below 64 */
    if (s_require(ctx, node, &f[3], "a rule"))
        return -1;
    if (f[1].val && s_integer(ctx, f[1].val, "priority", -1000000, 1000000, &rule->priority))
        return -1;
    if (f[4].val && s_string(ctx, f[4].val, "description", 4096, &text))
        return -1;

    /* when: absent, null or {} matches every order */
    if (f[2].val && !s_is_null(f[2].val)) {
        s_field_t w[] = {{"category", NULL, NULL}, {"district", NULL, NULL}};
        if (s_fields(ctx, f[2].val, "when", w, 2))
            return -1;
        if (w[0].val && s_one_or_list(ctx, w[0].val, "category", s_add_category, rule))
            return -1;
        if (w[1].val && s_one_or_list(ctx, w[1].val, "district", s_add_district, rule))
            return -1;
    }

    s_field_t t[] = {{"lead", NULL, NULL}, {"sign_within", NULL, NULL},
                     {"reply_within", NULL, NULL}};
    const char *lead;
    if (s_fields(ctx, f[3].val, "then", t, 3) || s_require(ctx, f[3].val, &t[0], "then")
        || s_ident(ctx, t[0].val, "lead department", &lead))
        return -1;
    if (!ob_rules_dept_lookup(self, lead))
        return s_fail_at(ctx, t[0].val,
                         "lead department '%s' is not declared under departments", lead);
    memcpy(rule->lead, lead, strlen(lead) + 1);
    if (t[1].val && s_deadline(ctx, t[1].val, "sign_within", &rule->sign))
        return -1;
    if (t[2].val && s_deadline(ctx, t[2].val, "reply_within", &rule->reply))
        return -1;
    return 0;
}

static int s_load_rules(s_ctx_t *ctx, ob_rules_t *self, const s_node_t *node)
{
    if (s_is_null(node))
        return 0;
    if (node->kind != S_SEQ)
        return s_fail_at(ctx, node, "rules must be a list");
    if (node->nkids > S_MAX_RULES)
        return s_fail_at(ctx, node, "more than %d rules", S_MAX_RULES);
    if (node->nkids == 0)
        return 0;
    self->rules = calloc(node->nkids, sizeof *self->rules);
    if (!self->rules)
        return s_fail_at(ctx, node, "out of memory");
    for (size_t i = 0; i < node->nkids; i++) {
        s_rule_t *rule = &self->rules[self->nrules];
        rule->index = i;
        int rc = s_load_rule(ctx, self, node->kids[i], rule);
        self->nrules++;  /* counted even on failure, so destroy frees it */
        if (rc)
            return -1;
    }
    return 0;
}

/* "+08:00", "-05:30", "+8", "Z" / "UTC" into minutes east of UTC. */
static int s_timezone(s_ctx_t *ctx, const s_node_t *node, int *out)
{
    const char *t;
    if (s_string(ctx, node, "timezone", 16, &t))
        return -1;
    if (strcmp(t, "Z") == 0 || strcmp(t, "UTC") == 0) {
        *out = 0;
        return 0;
    }
    int sign = t[0] == '-' ? -1 : t[0] == '+' ? 1 : 0;
    size_t hd = sign ? strspn(t + 1, "0123456789") : 0;
    int h = 0, m = 0;
    bool ok = sign && (hd == 1 || hd == 2);
    if (ok) {
        h = atoi(t + 1);
        const char *rest = t + 1 + hd;
        if (*rest == ':') {
            ok = strspn(rest + 1, "0123456789") == 2 && rest[3] == '\0';
            m = ok ? atoi(rest + 1) : 0;
        }
        else
            ok = *rest == '\0';
    }
    if (!ok || h > 14 || m > 59 || (h == 14 && m > 0))
        return s_fail_at(ctx, node,
                         "bad timezone '%.*s': expected a UTC offset such as \"+08:00\"",
                         s_show(t), t);
    *out = sign * (h * 60 + m);
    return 0;
}

/* Higher priority first, then file order. */
static int s_rule_cmp(const void *a, const void *b)
{
    const s_rule_t *ra = a, *rb = b;
    if (ra->priority != rb->priority)
        return ra->priority > rb->priority ? -1 : 1;
    return ra->index < rb->index ? -1 : ra->index > rb->index ? 1 : 0;
}

static int s_build(s_ctx_t *ctx, ob_rules_t *self, const s_node_t *root)
{
    if (!root || s_is_null(root))
        return s_fail(ctx, 1, 1, "empty rule file (expected version, departments and rules)");
    if (root->kind != S_MAP)
        return s_fail_at(ctx, root, "a rule file must be a mapping with version, "
                                    "departments and rules");
    s_field_t f[] = {{"version", NULL, NULL},  {"timezone", NULL, NULL},
                     {"departments", NULL, NULL}, {"defaults", NULL, NULL},
                     {"rules", NULL, NULL}};
    const char *version;
    if (s_fields(ctx, root, "the rule file", f, 5)
        || s_require(ctx, root, &f[0], "the rule file")
        || s_string(ctx, f[0].val, "version", S_MAX_VERSION, &version)
        || s_require(ctx, root, &f[2], "the rule file"))
        return -1;
    self->version = strdup(version);
    if (!self->version)
        return s_fail_at(ctx, root, "out of memory");
    if (f[1].val && s_timezone(ctx, f[1].val, &self->utc_offset_min))
        return -1;
    if (s_load_departments(ctx, self, f[2].val))
        return -1;
    if (f[3].val && s_load_defaults(ctx, self, f[3].val))
        return -1;
    if (f[4].val && s_load_rules(ctx, self, f[4].val))
        return -1;
    if (self->nrules > 1)
        qsort(self->rules, self->nrules, sizeof *self->rules, s_rule_cmp);
    return 0;
}

/* Reads the whole file, refusing anything larger than S_MAX_FILE. Returns
   a NUL-terminated buffer and its length, or NULL with "path: message". */
static unsigned char *s_read_file(s_ctx_t *ctx, size_t *len_p)
{
    unsigned char *buf = NULL;
    FILE *file = fopen(ctx->path, "rb");
    if (!file) {
        snprintf(ctx->err, ctx->errlen, "%s: cannot open rule file: %s", ctx->path,
                 strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(ctx->err, ctx->errlen, "%s: not a regular file", ctx->path);
        goto out;
    }
    if (st.st_size > S_MAX_FILE) {
        snprintf(ctx->err, ctx->errlen, "%s: rule file larger than %d MiB", ctx->path,
                 S_MAX_FILE / (1024 * 1024));
        goto out;
    }
    size_t size = (size_t) st.st_size;
    buf = malloc(size + 1);
    if (!buf) {
        snprintf(ctx->err, ctx->errlen, "%s: out of memory", ctx->path);
        goto out;
    }
    /* Reading one byte more than expected catches a file that grows. */
    size_t len = fread(buf, 1, size + 1, file);
    if (ferror(file) || len != size) {
        snprintf(ctx->err, ctx->errlen, "%s: cannot read rule file%s", ctx->path,
                 ferror(file) ? "" : " (it changed while being read)");
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[len] = '\0';
    *len_p = len;
out:
    fclose(file);
    return buf;
}

/* --- public interface ----------------------------------------------------- */

ob_rules_t *ob_rules_load(const char *path, char *err, size_t errlen)
{
    assert(path);
    char scratch[1];
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    s_ctx_t ctx = {.path = path, .err = err, .errlen = errlen};
    s_node_t *root = NULL;
    ob_rules_t *self = NULL;
    unsigned char *buf = s_read_file(&ctx, &ctx.len);
    if (!buf)
        goto out;
    ctx.buf = buf;
    if (s_parse(&ctx, &root))
        goto out;
    self = calloc(1, sizeof *self);
    if (!self) {
        s_fail(&ctx, 1, 1, "out of memory");
        goto out;
    }
    self->utc_offset_min = 480;
    self->sign.by[S_NORMAL].hours = S_BUILTIN_SIGN_HOURS;
    self->reply.by[S_NORMAL].days = S_BUILTIN_REPLY_DAYS;
    for (int u = S_URGENT; u < S_URGENCIES; u++) {
        self->sign.by[u] = self->sign.by[S_NORMAL];
        self->reply.by[u] = self->reply.by[S_NORMAL];
    }
    self->sign.set = self->reply.set = true;
    if (s_build(&ctx, self, root))
        ob_rules_destroy(&self);
out:
    s_node_free(root);
    free(buf);
    return self;
}

void ob_rules_destroy(ob_rules_t **self_p)
{
    assert(self_p);
    ob_rules_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->nrules; i++)
        s_rule_clear(&self->rules[i]);
    free(self->rules);
    for (size_t i = 0; i < self->ndepts; i++) {
        free(self->depts[i].id);
        free(self->depts[i].name);
    }
    free(self->depts);
    free(self->version);
    free(self);
    *self_p = NULL;
}

static bool s_rule_matches(const s_rule_t *rule, const ob_workorder_t *order)
{
    if (rule->ncats) {
        bool any = false;
        for (size_t c = 0; c < rule->ncats && !any; c++) {
            const s_catpath_t *cat = &rule->cats[c];
            if (order->n_category < cat->nlevels)
                continue;
            any = true;
            for (size_t l = 0; l < cat->nlevels && any; l++)
                any = order->category[l] && strcmp(order->category[l], cat->levels[l]) == 0;
        }
        if (!any)
            return false;
    }
    if (rule->ndistricts) {
        const char *code = order->location ? order->location->district_code : NULL;
        if (!code || !*code)
            return false;
        bool any = false;
        for (size_t d = 0; d < rule->ndistricts && !any; d++)
            any = strcmp(code, rule->districts[d]) == 0;
        if (!any)
            return false;
    }
    return true;
}

static uint32_t s_as_hours(s_dur_t dur)
{
    return dur.hours ? dur.hours : dur.days * 24;
}

/* Routes by the first matching rule in priority order. Deadlines come from
   the rule where it gives them, else from defaults, picked by the order's
   urgency (an unknown urgency counts as normal). When nothing matches,
   out->matched is false, rule_id and dept are empty and the deadlines are
   the defaults, ready for a manual routing. */
int ob_rules_route(ob_rules_t *self, const ob_workorder_t *order, ob_route_t *out)
{
    assert(self);
    assert(order);
    assert(out);
    memset(out, 0, sizeof *out);
    int urgency = S_NORMAL;
    if (order->urgency == ORDERBUS__V1__URGENCY__URGENCY_URGENT)
        urgency = S_URGENT;
    else if (order->urgency == ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT)
        urgency = S_VERY_URGENT;

    const s_rule_t *hit = NULL;
    for (size_t i = 0; i < self->nrules && !hit; i++)
        if (s_rule_matches(&self->rules[i], order))
            hit = &self->rules[i];

    const s_deadline_t *sign = &self->sign, *reply = &self->reply;
    if (hit) {
        out->matched = true;
        memcpy(out->rule_id, hit->id, sizeof out->rule_id);
        memcpy(out->dept, hit->lead, sizeof out->dept);
        if (hit->sign.set)
            sign = &hit->sign;
        if (hit->reply.set)
            reply = &hit->reply;
    }
    out->sign_hours = s_as_hours(sign->by[urgency]);
    out->reply_days = reply->by[urgency].days;
    out->reply_hours = reply->by[urgency].hours;
    return 0;
}

const char *ob_rules_version(ob_rules_t *self)
{
    assert(self);
    return self->version;
}

int ob_rules_utc_offset_min(ob_rules_t *self)
{
    assert(self);
    return self->utc_offset_min;
}

size_t ob_rules_dept_count(ob_rules_t *self)
{
    assert(self);
    return self->ndepts;
}

const char *ob_rules_dept_id(ob_rules_t *self, size_t i)
{
    assert(self);
    return i < self->ndepts ? self->depts[i].id : NULL;
}

const char *ob_rules_dept_name(ob_rules_t *self, size_t i)
{
    assert(self);
    return i < self->ndepts ? self->depts[i].name : NULL;
}

const char *ob_rules_dept_lookup(ob_rules_t *self, const char *id)
{
    assert(self);
    if (!id)
        return NULL;
    for (size_t i = 0; i < self->ndepts; i++)
        if (strcmp(self->depts[i].id, id) == 0)
            return self->depts[i].name;
    return NULL;
}

/* Defaults for a normal-urgency order. */
void ob_rules_default_deadlines(ob_rules_t *self, uint32_t *sign_hours,
                                uint32_t *reply_days, uint32_t *reply_hours)
{
    assert(self);
    if (sign_hours)
        *sign_hours = s_as_hours(self->sign.by[S_NORMAL]);
    if (reply_days)
        *reply_days = self->reply.by[S_NORMAL].days;
    if (reply_hours)
        *reply_hours = self->reply.by[S_NORMAL].hours;
}

/* --- self-test ------------------------------------------------------------ */

/* Writes `text` to a fresh temp file; returns its path in `path`. */
static void s_test_write(char *path, size_t pathlen, const char *text, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, pathlen, "%s/ob_rules_test_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert(fd >= 0);
    assert(write(fd, text, len) == (ssize_t) len);
    close(fd);
}

static ob_rules_t *s_test_load(const char *text, char *err, size_t errlen)
{
    char path[256];
    s_test_write(path, sizeof path, text, strlen(text));
    ob_rules_t *rules = ob_rules_load(path, err, errlen);
    unlink(path);
    return rules;
}

/* Loading `text` fails with "path:<where> <message...>" containing `what`. */
static void s_test_bad(const char *text, size_t len, const char *where, const char *what,
                       bool verbose)
{
    char path[256], err[512];
    s_test_write(path, sizeof path, text, len);
    ob_rules_t *rules = ob_rules_load(path, err, sizeof err);
    unlink(path);
    size_t plen = strlen(path);
    bool ok = rules == NULL && strncmp(err, path, plen) == 0 && err[plen] == ':'
              && strncmp(err + plen + 1, where, strlen(where)) == 0 && strstr(err, what);
    if (verbose || !ok)
        printf("\n    %s%s", ok ? "" : "UNEXPECTED: ", err + plen);
    fflush(stdout);
    assert(ok);
}

#define S_TEST_BAD(text, where, what) s_test_bad(text, strlen(text), where, what, verbose)

static const char s_test_file[] =
    "version: \"2026-11-24.1\"\n"
    "timezone: \"+08:00\"\n"
    "departments:\n"
    "  - id: housing\n"
    "    name: 市住房和城乡建设局\n"
    "  - id: property\n"
    "    name: 市物业管理办公室\n"
    "  - id: a3-housing\n"
    "    name: A3区住房和城乡建设局\n"
    "  - id: hotline\n"
    "    name: 热线中心综合科\n"
    "defaults:\n"
    "  sign_within: 24h\n"
    "  reply_within: 15d\n"
    "rules:\n"
    "  - id: housing-urban\n"
    "    when:\n"
    "      category: 城乡建设\n"
    "    then:\n"
    "      lead: housing\n"
    "      reply_within: {normal: 10d, urgent: 5d, very_urgent: 24h}\n"
    "  - id: property\n"
    "    priority: 100\n"
    "    when:\n"
    "      category: [城乡建设/物业管理, 城乡建设/住房保障/物业]\n"
    "    then:\n"
    "      lead: property\n"
    "      sign_within: {normal: 12h, urgent: 2h}\n"
    "  - id: a3-housing\n"
    "    priority: 50\n"
    "    description: A3 handles its own housing cases\n"
    "    when:\n"
    "      category: 城乡建设\n"
    "      district: [A3, A4]\n"
    "    then:\n"
    "      lead: a3-housing\n"
    "  - id: catch-all\n"
    "    priority: -10\n"
    "    when: {}\n"
    "    then: {lead: hotline, reply_within: 48h}\n";

void ob_rules_test(bool verbose)
{
    char err[512];

    /* A missing file: message without line and column. */
    ob_rules_t *rules = ob_rules_load("/nonexistent/ob_rules.yaml", err, sizeof err);
    assert(rules == NULL);
    assert(strncmp(err, "/nonexistent/ob_rules.yaml: cannot open", 39) == 0);

    rules = s_test_load(s_test_file, err, sizeof err);
    if (!rules)
        printf("%s\n", err);
    assert(rules);
    assert(strcmp(ob_rules_version(rules), "2026-11-24.1") == 0);
    assert(ob_rules_utc_offset_min(rules) == 480);
    assert(ob_rules_dept_count(rules) == 4);
    assert(strcmp(ob_rules_dept_id(rules, 0), "housing") == 0);
    assert(strcmp(ob_rules_dept_name(rules, 1), "市物业管理办公室") == 0);
    assert(ob_rules_dept_id(rules, 4) == NULL);
    assert(strcmp(ob_rules_dept_lookup(rules, "hotline"), "热线中心综合科") == 0);
    assert(ob_rules_dept_lookup(rules, "police") == NULL);
    uint32_t sh, rd, rh;
    ob_rules_default_deadlines(rules, &sh, &rd, &rh);
    assert(sh == 24 && rd == 15 && rh == 0);

    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    Orderbus__V1__Location loc = ORDERBUS__V1__LOCATION__INIT;
    char *cats[3] = {(char *) "城乡建设", (char *) "物业管理", (char *) "物业服务"};
    order.category = cats;
    ob_route_t route;

    /* Longer prefix with higher priority wins: [城乡建设, 物业管理, 物业服务]. */
    order.n_category = 3;
    assert(ob_rules_route(rules, &order, &route) == 0);
    assert(route.matched);
    assert(strcmp(route.rule_id, "property") == 0);
    assert(strcmp(route.dept, "property") == 0);
    assert(route.sign_hours == 12);                      /* rule's own */
    assert(route.reply_days == 15 && route.reply_hours == 0);  /* defaults */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.sign_hours == 2);                       /* falls back to urgent */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;

    /* [城乡建设] alone does not match "城乡建设/物业管理": the general rule. */
    order.n_category = 1;
    ob_rules_route(rules, &order, &route);
    assert(route.matched && strcmp(route.rule_id, "housing-urban") == 0);
    assert(strcmp(route.dept, "housing") == 0);
    assert(route.sign_hours == 24 && route.reply_days == 10 && route.reply_hours == 0);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.reply_days == 5);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.reply_days == 0 && route.reply_hours == 24);
    order.urgency = (Orderbus__V1__Urgency) 77;  /* unknown: normal */
    ob_rules_route(rules, &order, &route);
    assert(route.reply_days == 10);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;

    /* District match and mismatch; no location at all. */
    order.location = &loc;
    loc.district_code = (char *) "A3";
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "a3-housing") == 0);
    assert(strcmp(route.dept, "a3-housing") == 0);
    loc.district_code = (char *) "A5";
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "housing-urban") == 0);
    loc.district_code = (char *) "";
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "housing-urban") == 0);
    /* Priority: the property rule (100) beats the district rule (50). */
    loc.district_code = (char *) "A4";
    order.n_category = 2;
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "property") == 0);
    order.location = NULL;

    /* Catch-all for any other category, and for no category at all. */
    cats[0] = (char *) "教育文体";
    ob_rules_route(rules, &order, &route);
    assert(route.matched && strcmp(route.rule_id, "catch-all") == 0);
    assert(strcmp(route.dept, "hotline") == 0);
    assert(route.reply_days == 0 && route.reply_hours == 48 && route.sign_hours == 24);
    order.n_category = 0;
    ob_rules_route(rules, &order, &route);
    assert(strcmp(route.rule_id, "catch-all") == 0);
    ob_rules_destroy(&rules);
    ob_rules_destroy(&rules);
    assert(rules == NULL);

    /* No catch-all: no match, default deadlines for manual routing. */
    rules = s_test_load("version: v1\n"
                        "departments: [{id: env, name: 市生态环境局}]\n"
                        "defaults: {sign_within: {normal: 2d, urgent: 4h}}\n"
                        "rules:\n"
                        "  - id: env\n"
                        "    when: {category: 环境保护}\n"
                        "    then: {lead: env}\n",
                        err, sizeof err);
    assert(rules);
    cats[0] = (char *) "交通运输";
    order.n_category = 1;
    ob_rules_route(rules, &order, &route);
    assert(!route.matched && route.rule_id[0] == '\0' && route.dept[0] == '\0');
    assert(route.sign_hours == 48 && route.reply_days == 15);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.sign_hours == 4);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;
    cats[0] = (char *) "环境保护";
    ob_rules_route(rules, &order, &route);
    assert(route.matched && strcmp(route.dept, "env") == 0 && route.sign_hours == 48);
    ob_rules_destroy(&rules);

    /* No rules at all: everything is manual. */
    rules = s_test_load("version: '1'\ntimezone: '-05:30'\ndepartments: [{id: a, name: A}]\n",
                        err, sizeof err);
    assert(rules);
    assert(ob_rules_utc_offset_min(rules) == -330);
    ob_rules_route(rules, &order, &route);
    assert(!route.matched && route.sign_hours == 24 && route.reply_days == 15);
    ob_rules_destroy(&rules);

    /* Bad files: the first problem, with its line and column. */
    const char *head = "version: v1\ndepartments:\n  - {id: a, name: A}\n";
    char text[1024];
#define S_WITH_HEAD(tail) (snprintf(text, sizeof text, "%s%s", head, tail), text)
    S_TEST_BAD("", "1:1: ", "empty rule file");
    S_TEST_BAD("- a\n- b\n", "1:1: ", "must be a mapping");
    S_TEST_BAD("departments: [{id: a, name: A}]\n", "1:1: ", "missing required key 'version'");
    S_TEST_BAD("version: v1\n", "1:1: ", "missing required key 'departments'");
    S_TEST_BAD("version: v1\nversoin: v2\n", "2:1: ", "unknown key 'versoin'");
    S_TEST_BAD("version: v1\nversion: v2\n", "2:1: ", "duplicate key 'version'");
    S_TEST_BAD("version: [v1]\n", "1:10: ", "version must be a string");
    S_TEST_BAD("version: v1\ndepartments: {}\n", "2:14: ", "departments must be a list");
    S_TEST_BAD("version: v1\ndepartments:\n  - id: Housing\n    name: x\n", "3:9: ",
               "may hold only");
    S_TEST_BAD("version: v1\ndepartments:\n  - id: a\n    name: x\n  - id: a\n    name: y\n",
               "5:9: ", "duplicate department id 'a'");
    S_TEST_BAD("version: v1\ndepartments:\n  - id: a\n    nmae: x\n", "4:5: ",
               "unknown key 'nmae' in a department");
    S_TEST_BAD("version: v1\ndepartments:\n  - id: a\n", "3:5: ",
               "missing required key 'name'");
    S_TEST_BAD("version: v1\ntimezone: \"+25:00\"\ndepartments: [{id: a, name: A}]\n",
               "2:11: ", "bad timezone");
    S_TEST_BAD(S_WITH_HEAD("defaults: {sign_within: 24}\n"), "4:25: ", "bad duration '24'");
    S_TEST_BAD(S_WITH_HEAD("defaults: {reply_within: 1w}\n"), "4:26: ", "bad duration");
    S_TEST_BAD(S_WITH_HEAD("defaults: {reply_within: 999d}\n"), "4:26: ", "too long");
    S_TEST_BAD(S_WITH_HEAD("defaults: {reply_within: {urgent: 2d}}\n"), "4:26: ",
               "missing required key 'normal'");
    S_TEST_BAD(S_WITH_HEAD("defaults: {reply_within: {normal: 2d, urgnet: 1d}}\n"),
               "4:39: ", "unknown key 'urgnet'");
    S_TEST_BAD(S_WITH_HEAD("rules: {}\n"), "4:8: ", "rules must be a list");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    then: {lead: b}\n"), "6:18: ",
               "lead department 'b' is not declared");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when: {}\n"), "5:5: ",
               "missing required key 'then'");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - then: {lead: a}\n"), "5:5: ",
               "missing required key 'id'");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - {id: r1, then: {lead: a}}\n"
                           "  - {id: r1, then: {lead: a}}\n"),
               "6:10: ", "duplicate rule id 'r1'");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - {id: r1, priority: high, then: {lead: a}}\n"),
               "5:24: ", "priority must be an integer");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - {id: r1, priority: '5', then: {lead: a}}\n"),
               "5:24: ", "priority must be an integer");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      category: []\n"
                           "    then: {lead: a}\n"),
               "7:17: ", "must not be an empty list");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      category: 城乡建设//物业\n"
                           "    then: {lead: a}\n"),
               "7:17: ", "empty level");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      category: {a: b}\n"
                           "    then: {lead: a}\n"),
               "7:17: ", "string or a list of strings");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      district: [A3, [A4]]\n"
                           "    then: {lead: a}\n"),
               "7:22: ", "district must be a string");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      keywords: [漏水]\n"
                           "    then: {lead: a}\n"),
               "7:7: ", "reserved for a later release");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      catgory: 城乡建设\n"
                           "    then: {lead: a}\n"),
               "7:7: ", "unknown key 'catgory' in when");
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    then: {lead: a, sign_within: 2x}\n"),
               "6:34: ", "bad duration '2x'");
    /* Chinese text before the error: columns count characters. */
    S_TEST_BAD("version: v1\ndepartments:\n  - {id: a, name: 市住建局, x: 1}\n", "3:25: ",
               "unknown key 'x'");
    /* YAML syntax errors, aliases, several documents. */
    S_TEST_BAD("version: v1\ndepartments: [a\n", "3:1: ", "invalid YAML");
    S_TEST_BAD("version: &v v1\ndepartments: *v\n", "2:14: ", "aliases");
    S_TEST_BAD("version: v1\ndepartments: [{id: a, name: A}]\n---\nversion: v2\n", "3:1: ",
               "only one YAML document");
    S_TEST_BAD("version: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
               "]]]]]]]]\n",
               "1:", "nesting deeper");
    S_TEST_BAD("? [a, b]\n: c\n", "1:3: ", "mapping keys must be strings");
    /* Not UTF-8: a Latin-1 byte, a UTF-16 file, a NUL byte. */
    S_TEST_BAD("version: v1\ndepartments: [{id: a, name: caf\xe9}]\n", "2:", "not valid UTF-8");
    s_test_bad("\xff\xfev\0e\0r\0", 8, "1:1: ", "not valid UTF-8", verbose);
    s_test_bad("version: v\0\n", 12, "1:", "control characters", verbose);
    S_TEST_BAD("version: \"v\\0\"\ndepartments: [{id: a, name: A}]\n", "1:10: ", "NUL");
#undef S_WITH_HEAD

    /* The shipped default rules, when run from the source tree. */
    if (access("router-rules/default.yaml", R_OK) == 0) {
        rules = ob_rules_load("router-rules/default.yaml", err, sizeof err);
        if (!rules)
            printf("%s\n", err);
        assert(rules);
        assert(ob_rules_dept_count(rules) == 7);
        static const char *expect[][2] = {
            {"劳动和社会保障", "hrss"}, {"城乡建设", "housing"},   {"教育文体", "education"},
            {"卫生计生", "health"},     {"交通运输", "transport"}, {"商贸旅游", "commerce"},
            {"环境保护", "environment"}};
        order.n_category = 1;
        for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
            assert(ob_rules_dept_lookup(rules, expect[i][1]));
            cats[0] = (char *) expect[i][0];
            ob_rules_route(rules, &order, &route);
            assert(route.matched && strcmp(route.dept, expect[i][1]) == 0);
            assert(route.sign_hours == 24 && route.reply_days >= 10 && route.reply_days <= 15);
        }
        cats[0] = (char *) "政法监察";
        ob_rules_route(rules, &order, &route);
        assert(!route.matched);
        ob_rules_destroy(&rules);
    }
    if (verbose)
        printf("\n    ");
}
