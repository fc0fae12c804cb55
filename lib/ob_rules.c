/*  ob_rules.c — routing rules (DESIGN §6), loaded from YAML with libyaml.

    Loading happens in two passes. The first reads libyaml's event stream
    into a small tree of scalars, sequences and mappings, each node keeping
    its 1-based line and column; it refuses aliases (they could make the
    tree cyclic or exponentially large), more than one document, NUL bytes
    and anything past fixed caps on size, depth and node count. The second
    pass validates the tree against the format of router-rules/README.md
    and builds the rule set; every error names file:line:column.

    Conditions are a tree (a rule's `when` is an `all` node); keywords of
    every rule go into one ob_match_t, so routing scans an order's title
    and content once, then checks conditions against the bitset of
    keywords found. Title conditions (title_keywords, title_keywords_none)
    read a second bitset: the title is scanned into it first, and the
    content's keywords are added to a copy of it, so each text is still
    scanned once. To keep routing cost nearly flat in the number of
    rules, each rule is "gated" where possible: a rule whose `when`
    requires one of some keywords is only a candidate when one of them was
    found; a rule that requires a category prefix only when the order's
    first category level is one of its own. Candidates are a bitset over
    the rules in try order, so the first that matches is the answer; rules
    without a gate are always candidates. Gating never changes a result
    (the self-test compares routing with the full evaluation of explain).

    The rule set is immutable once loaded: routing only reads it, so a
    broker can swap a freshly loaded set in whole on reload.             */
#include "ob_rules.h"
#include "ob_fsm.h"
#include "ob_geo.h"
#include "ob_match.h"
#include "ob_text.h"
#include "ob_yamltree.h"
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_FILE     (16 * 1024 * 1024) /* bytes in a rule file */
#define S_MAX_NODES    (1024 * 1024)      /* YAML nodes in a rule file */
#define S_MAX_DEPTH    32                 /* nesting of YAML collections */
#define S_MAX_RULES    5000
#define S_MAX_DEPTS    1000
#define S_MAX_LIST     1000  /* entries in one value list */
#define S_MAX_GROUP    16    /* words in one keyword group [w1, w2] */
#define S_MAX_LEVELS   8     /* levels in one category path */
#define S_MAX_TEXT     256   /* bytes in a name, category level or code */
#define S_MAX_VERSION  (OB_RULES_VERSION_MAX - 1)
#define S_MAX_HOURS    8760  /* longest deadline in working hours (a year) */
#define S_MAX_DAYS     365   /* longest deadline in working days */
#define S_MAX_TAXONOMY (4 * 1024 * 1024)  /* bytes in a taxonomy file */
#define S_TAXONOMY_BESIDE "taxonomy.csv"  /* read when the file names no taxonomy */
#define S_SHOW         64    /* bytes of a key or value quoted in an error */
#define S_MAX_WORDS    ((S_MAX_RULES + 63) / 64)
#define S_SEEN_WORDS   ((OB_MATCH_PATTERNS_MAX + 63) / 64)

/* Deadlines when neither the rule nor `defaults:` gives one. */
#define S_BUILTIN_SIGN_HOURS 24
#define S_BUILTIN_REPLY_DAYS 15
#define S_BUILTIN_ASSIST_DAYS 3

enum { S_NORMAL, S_URGENT, S_VERY_URGENT, S_URGENCIES };

/* A duration: exactly one of days and hours is non-zero. */
typedef ob_limit_t s_dur_t;

/* A deadline setting, one duration per urgency. */
typedef struct {
    bool set;                 /* given in the file */
    s_dur_t by[S_URGENCIES];  /* indexed by S_NORMAL .. S_VERY_URGENT */
} s_deadline_t;

typedef struct {
    char *id;   /* [a-z0-9_-]{1,63} */
    char *name; /* display name, UTF-8 */
    char *norm; /* name normalised for recusal (ASCII lower case, spaces) */
} s_dept_t;

/* One category path, split into its levels. */
typedef struct {
    char **levels;
    size_t nlevels;
} s_catpath_t;

typedef enum {
    C_ALL, C_ANY, C_NOT,
    C_CATEGORY, C_CATEGORY_EXACT,
    C_KEYWORDS, C_KEYWORDS_ALL, C_KEYWORDS_NONE,
    C_TITLE_KEYWORDS, C_TITLE_KEYWORDS_NONE,
    C_DISTRICT, C_STREET, C_POLYGON,
    C_CHANNEL, C_APPEAL, C_URGENCY, C_ANONYMOUS,
    C_TARGET_ORG, C_HOURS, C_WEEKDAYS,
    C_KINDS
} s_ckind_t;

/* Keys of `when`, by kind. */
static const char *const s_ckey[C_KINDS] = {
    "all", "any", "not", "category", "category_exact", "keywords", "keywords_all",
    "keywords_none", "title_keywords", "title_keywords_none", "district", "street",
    "polygon", "channel", "appeal_type", "urgency", "anonymous", "target_org", "hours",
    "weekdays",
};

/* One keyword entry: a word or phrase (n 1) or a group of words that must
   all occur (n > 1), as pattern ids of the rule set's matcher. */
typedef struct {
    uint32_t *ids;
    size_t n;
} s_kwent_t;

typedef struct s_cond s_cond_t;
struct s_cond {
    s_ckind_t kind;
    bool map;               /* ALL made from a mapping of conditions */
    size_t line, col;       /* the key (or the list item) that made it */
    s_cond_t **kids;        /* ALL, ANY: alternatives or parts; NOT: one */
    size_t nkids;
    s_catpath_t *cats;      /* CATEGORY, CATEGORY_EXACT */
    size_t ncats;
    char **strs;            /* DISTRICT, STREET, TARGET_ORG (normalised) */
    size_t nstrs;
    s_kwent_t *kw;          /* KEYWORDS, TITLE_KEYWORDS: entries (groups);
                               KEYWORDS_ALL/NONE, TITLE_KEYWORDS_NONE: one id each */
    size_t nkw;
    uint32_t bits;          /* CHANNEL/APPEAL/URGENCY: 1 << value; WEEKDAYS: 1 << day
                               (0 Sunday); ANONYMOUS: 1 true, 0 false */
    uint16_t (*ranges)[2];  /* HOURS: [start, end) minutes of the day, may wrap */
    size_t nranges;
    size_t *areas;          /* POLYGON: indices into the set's areas */
    size_t nareas;
};

/* A GeoJSON area, shared by the rules that name the same file and name. */
typedef struct {
    char *file;   /* as written in the rule file */
    char *name;   /* feature name, NULL: every polygon */
    ob_geo_t *geo;
} s_area_t;

typedef struct {
    char *id;
    char *name;
} s_site_t;

/* Recusal entry: how department `dept` is named, and who takes its cases. */
typedef struct {
    char dept[OB_DEPT_MAX];
    char **names;            /* normalised */
    size_t nnames;
    char instead[OB_DEPT_MAX];  /* empty: the section's default */
} s_recuse_t;

typedef struct {
    char id[OB_RULE_ID_MAX];
    long priority;          /* higher first */
    size_t index;           /* position in the file, breaks priority ties */
    size_t line, col;       /* the rule's position */
    s_cond_t *when;         /* an ALL node; NULL: every order */
    ob_decision_t decision;
    char lead[OB_DEPT_MAX]; /* DISPATCH */
    char (*assist)[OB_DEPT_MAX];
    size_t nassist;
    s_deadline_t sign;
    s_deadline_t reply;
    s_deadline_t assist_dl;
    uint32_t hprio;         /* then.priority */
    bool confidential;
    char *reason;           /* reject, transfer or manual reason */
    char *referral;         /* reject */
    char site[OB_DEPT_MAX]; /* transfer */
    bool gated_kw;          /* candidate only when a gate keyword is found */
} s_rule_t;

/* Rules gated by a first category level. */
typedef struct {
    const char *level;   /* borrowed from a rule's category path */
    uint32_t start, n;   /* range in cat_rules */
} s_catgate_t;

struct ob_rules {
    char *version;         /* the file's `version:` */
    int utc_offset_min;    /* the file's `timezone:`, default +480 */
    s_dept_t *depts;       /* in file order */
    size_t ndepts;
    s_site_t *sites;
    size_t nsites;
    s_deadline_t sign;     /* defaults (always set) */
    s_deadline_t reply;
    s_deadline_t assist;
    s_rule_t *rules;       /* sorted: priority descending, then file order */
    size_t nrules;
    s_recuse_t *recuse;
    size_t nrecuse;
    char recuse_instead[OB_DEPT_MAX];
    char **taxonomy;       /* sorted category paths and their prefixes, "a/b/c" */
    size_t ntaxonomy;
    char *taxonomy_file;   /* as written, or "taxonomy.csv" found beside the rule file */
    bool taxonomy_off;     /* `taxonomy: false`: categories are free, on purpose */
    bool has_category;     /* some condition names a category (check warns when no
                              taxonomy checked it) */
    s_area_t *areas;
    size_t nareas;
    ob_match_t *match;     /* keywords of every rule */
    bool has_title;        /* some condition looks at the title alone (title_keywords*):
                              routing keeps a bitset of the keywords found in the title */
    /* gates, built after sorting */
    uint64_t always[S_MAX_WORDS];   /* rules that are always candidates */
    uint64_t kwgated[S_MAX_WORDS];  /* rules gated by keywords */
    uint32_t *pat_start;   /* pattern id -> range in pat_rules (npats + 1) */
    uint32_t *pat_rules;   /* rule positions */
    s_catgate_t *catgates; /* sorted by level */
    size_t ncatgates;
    uint32_t *cat_rules;
};

/* --- YAML tree (ob_yamltree) -------------------------------------------- */

static const ob_yamltree_limits_t s_limits = {
    .max_nodes = S_MAX_NODES, .max_depth = S_MAX_DEPTH, .what = "rule file"};

/* Loading context: where errors go and what has been counted. */
typedef struct {
    const char *path;
    char *err;
    size_t errlen;
    size_t eline, ecol;       /* position of the last error (0: none) */
    size_t emsg;              /* offset of its message in err */
    ob_rules_diag_fn *diag;   /* check mode: report errors in rules and go on */
    void *diag_arg;
    int nerrors;
    bool pending;             /* an error was written and not yet reported */
} s_ctx_t;

/* Writes "path:line:column: message" into the error buffer and keeps its
   position for check mode; line 0 is a problem of the whole file (such as
   a taxonomy.csv found beside it that cannot be read): "path: message".
   Returns -1 so that callers can `return s_fail(...)`. */
static int s_fail(s_ctx_t *ctx, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_fail(s_ctx_t *ctx, size_t line, size_t col, const char *fmt, ...)
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

#define s_fail_at(ctx, node, ...) s_fail((ctx), (node)->line, (node)->col, __VA_ARGS__)

/* --- validation helpers --------------------------------------------------- */

/* Keys reserved for a later release: refused with a clear message. */
static const char *s_reserved[] = {
    /* top level */ "calendar", "calendars", "include",
    /* when */ "keywords_any", "area", "complainant", "time", "weekday",
    /* then */ "recuse", "contact", "supervise", "escalate",
    NULL
};

typedef struct {
    const char *key;   /* accepted key */
    ob_yamlnode_t *val;     /* its value, NULL when absent */
    ob_yamlnode_t *keynode; /* its key node, for positions */
} s_field_t;

/* Bytes of `text` to quote in an error (see ob_yamltree_show). */
static int s_show(const char *text)
{
    return ob_yamltree_show(text, S_SHOW);
}

/* Checks that `map` (described by `what` in errors) is a mapping whose
   keys are among fields[0..n), each at most once; fills each field's val.
   Returns 0 or -1 with the error set. */
static int s_fields(s_ctx_t *ctx, const ob_yamlnode_t *map, const char *what, s_field_t *fields,
                    size_t n)
{
    if (map->kind != OB_YAML_MAP)
        return s_fail_at(ctx, map, "%s must be a mapping", what);
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        ob_yamlnode_t *key = map->kids[i];
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

static int s_require(s_ctx_t *ctx, const ob_yamlnode_t *map, const s_field_t *field,
                     const char *what)
{
    if (field->val)
        return 0;
    return s_fail_at(ctx, map, "missing required key '%s' in %s", field->key, what);
}

/* A non-empty string scalar of at most max bytes. */
static int s_string(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what, size_t max,
                    const char **out)
{
    if (node->kind != OB_YAML_SCALAR)
        return s_fail_at(ctx, node, "%s must be a string, not a %s", what,
                         node->kind == OB_YAML_MAP ? "mapping" : "list");
    if (ob_yamlnode_is_null(node) || node->len == 0)
        return s_fail_at(ctx, node, "%s must not be empty", what);
    if (node->len > max)
        return s_fail_at(ctx, node, "%s is too long (at most %zu bytes)", what, max);
    *out = node->text;
    return 0;
}

/* An identifier [a-z0-9_-]{1,63}. */
static int s_ident(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what, const char **out)
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
static int s_integer(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what, long min,
                     long max, long *out)
{
    if (node->kind != OB_YAML_SCALAR || !node->plain || node->len == 0)
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
static int s_duration(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what, s_dur_t *out)
{
    if (node->kind != OB_YAML_SCALAR)
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
static int s_deadline(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                      s_deadline_t *out)
{
    out->set = true;
    if (node->kind != OB_YAML_MAP) {
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
typedef int (*s_each_fn)(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg);

static int s_one_or_list(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                         s_each_fn each, void *arg)
{
    if (node->kind == OB_YAML_MAP)
        return s_fail_at(ctx, node, "%s must be a string or a list of strings", what);
    if (node->kind == OB_YAML_SCALAR)
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


/* A boolean scalar: true/false (any case). */
static int s_bool(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what, bool *out)
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
    return s_fail_at(ctx, node, "%s must be true or false", what);
}

/* "dir/of/rulefile/" + rel, or rel when absolute. */
static char *s_relative(s_ctx_t *ctx, const char *rel)
{
    const char *slash = strrchr(ctx->path, '/');
    size_t dirlen = rel[0] == '/' || !slash ? 0 : (size_t) (slash - ctx->path) + 1;
    size_t len = strlen(rel);
    char *out = malloc(dirlen + len + 1);
    if (!out)
        return NULL;
    memcpy(out, ctx->path, dirlen);
    memcpy(out + dirlen, rel, len + 1);
    return out;
}

/* --- conditions ----------------------------------------------------------- */

static void s_cond_free(s_cond_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nkids; i++)
        s_cond_free(c->kids[i]);
    free(c->kids);
    for (size_t i = 0; i < c->ncats; i++) {
        for (size_t l = 0; l < c->cats[i].nlevels; l++)
            free(c->cats[i].levels[l]);
        free(c->cats[i].levels);
    }
    free(c->cats);
    for (size_t i = 0; i < c->nstrs; i++)
        free(c->strs[i]);
    free(c->strs);
    for (size_t i = 0; i < c->nkw; i++)
        free(c->kw[i].ids);
    free(c->kw);
    free(c->ranges);
    free(c->areas);
    free(c);
}

/* Grows an array of `size`-byte items to hold n + 1. */
static int s_grow(void **arr, size_t n, size_t size)
{
    void *p = realloc(*arr, (n + 1) * size);
    if (!p)
        return -1;
    *arr = p;
    return 0;
}

static s_cond_t *s_cond_new(s_ctx_t *ctx, s_ckind_t kind, const ob_yamlnode_t *at)
{
    s_cond_t *c = calloc(1, sizeof *c);
    if (!c) {
        s_fail_at(ctx, at, "out of memory");
        return NULL;
    }
    c->kind = kind;
    c->line = at->line;
    c->col = at->col;
    return c;
}

static int s_add_kid(s_ctx_t *ctx, s_cond_t *parent, s_cond_t *kid, const ob_yamlnode_t *at)
{
    if (s_grow((void **) &parent->kids, parent->nkids, sizeof *parent->kids)) {
        s_cond_free(kid);
        return s_fail_at(ctx, at, "out of memory");
    }
    parent->kids[parent->nkids++] = kid;
    return 0;
}

/* Splits "a/b/c" into a category path; checks it against the taxonomy. */
typedef struct {
    ob_rules_t *self;
    s_cond_t *cond;
} s_arg_t;

static int s_taxonomy_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int s_add_category(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_arg_t *a = arg;
    s_cond_t *c = a->cond;
    const char *text;
    const char *what = s_ckey[c->kind];
    if (s_string(ctx, item, what, S_MAX_LEVELS * (S_MAX_TEXT + 1), &text))
        return -1;
    if (s_grow((void **) &c->cats, c->ncats, sizeof *c->cats))
        return s_fail_at(ctx, item, "out of memory");
    s_catpath_t *cat = &c->cats[c->ncats++];
    memset(cat, 0, sizeof *cat);
    cat->levels = calloc(S_MAX_LEVELS, sizeof *cat->levels);
    if (!cat->levels)
        return s_fail_at(ctx, item, "out of memory");
    const char *p = text;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t) (slash - p) : strlen(p);
        if (n == 0)
            return s_fail_at(ctx, item, "%s '%.*s' has an empty level", what, s_show(text),
                             text);
        if (n > S_MAX_TEXT)
            return s_fail_at(ctx, item, "%s level too long (at most %d bytes)", what,
                             S_MAX_TEXT);
        if (cat->nlevels == S_MAX_LEVELS)
            return s_fail_at(ctx, item, "%s has more than %d levels", what, S_MAX_LEVELS);
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
    ob_rules_t *self = a->self;
    self->has_category = true;
    if (self->taxonomy
        && !bsearch(&text, self->taxonomy, self->ntaxonomy, sizeof *self->taxonomy,
                    s_taxonomy_cmp))
        return s_fail_at(ctx, item, "category '%.*s' is not in the taxonomy '%s'",
                         s_show(text), text, self->taxonomy_file);
    return 0;
}

/* District and street codes (exact), target_org names (normalised). */
static int s_add_str(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_cond_t *c = ((s_arg_t *) arg)->cond;
    const char *text;
    if (s_string(ctx, item, s_ckey[c->kind], S_MAX_TEXT, &text))
        return -1;
    if (s_grow((void **) &c->strs, c->nstrs, sizeof *c->strs))
        return s_fail_at(ctx, item, "out of memory");
    char *copy = c->kind == C_TARGET_ORG ? ob_text_fold_dup(text) : strdup(text);
    if (!copy)
        return s_fail_at(ctx, item, "out of memory");
    c->strs[c->nstrs++] = copy;
    if (!*copy)
        return s_fail_at(ctx, item, "%s must not be blank", s_ckey[c->kind]);
    return 0;
}

/* One keyword, added to the matcher: its id in *id. */
static int s_keyword(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *item, const char *what,
                     uint32_t *id)
{
    const char *text;
    if (s_string(ctx, item, what, 4 * OB_MATCH_PATTERN_MAX, &text))
        return -1;
    int n = ob_match_add(self->match, text, item->len);
    if (n < 0) {
        if (ob_match_count(self->match) >= OB_MATCH_PATTERNS_MAX)
            return s_fail_at(ctx, item, "more than %d distinct keywords in the rule file",
                             OB_MATCH_PATTERNS_MAX);
        return s_fail_at(ctx, item, "%s '%.*s' is blank, not UTF-8 or longer than %d bytes", what,
                         s_show(text), text, OB_MATCH_PATTERN_MAX);
    }
    *id = (uint32_t) n;
    return 0;
}

/* A keyword entry: a string, or (for `keywords` and `title_keywords`) a
   list of words that must all occur. */
static int s_add_keyword(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_arg_t *a = arg;
    s_cond_t *c = a->cond;
    const char *what = s_ckey[c->kind];
    if (s_grow((void **) &c->kw, c->nkw, sizeof *c->kw))
        return s_fail_at(ctx, item, "out of memory");
    s_kwent_t *ent = &c->kw[c->nkw++];
    memset(ent, 0, sizeof *ent);
    if (item->kind == OB_YAML_SEQ && (c->kind == C_KEYWORDS || c->kind == C_TITLE_KEYWORDS)) {
        if (item->nkids == 0)
            return s_fail_at(ctx, item, "a keyword group must not be an empty list");
        if (item->nkids > S_MAX_GROUP)
            return s_fail_at(ctx, item, "a keyword group has more than %d words", S_MAX_GROUP);
        ent->ids = calloc(item->nkids, sizeof *ent->ids);
        if (!ent->ids)
            return s_fail_at(ctx, item, "out of memory");
        for (size_t i = 0; i < item->nkids; i++) {
            if (item->kids[i]->kind != OB_YAML_SCALAR)
                return s_fail_at(ctx, item->kids[i], "a word in a keyword group must be a string");
            if (s_keyword(ctx, a->self, item->kids[i], "keyword", &ent->ids[ent->n]))
                return -1;
            ent->n++;
        }
        return 0;
    }
    if (item->kind == OB_YAML_SEQ)
        return s_fail_at(ctx, item, "%s entries must be strings (groups of words are for "
                                    "'keywords' and 'title_keywords')", what);
    ent->ids = calloc(1, sizeof *ent->ids);
    if (!ent->ids)
        return s_fail_at(ctx, item, "out of memory");
    if (s_keyword(ctx, a->self, item, "keyword", &ent->ids[0]))
        return -1;
    ent->n = 1;
    return 0;
}

/* Enum names for channel, appeal_type and urgency. */
static int s_add_enum(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_cond_t *c = ((s_arg_t *) arg)->cond;
    const char *text;
    if (s_string(ctx, item, s_ckey[c->kind], S_MAX_TEXT, &text))
        return -1;
    int v = -1;
    const char *names = "";
    if (c->kind == C_CHANNEL) {
        Orderbus__V1__Channel e;
        if (ob_channel_parse(text, &e) == 0 && e != ORDERBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED)
            v = (int) e;
        names = "PHONE, WEB, APP, WECHAT, EMAIL, LETTER, VISIT";
    }
    else if (c->kind == C_APPEAL) {
        Orderbus__V1__AppealType e;
        if (ob_appeal_parse(text, &e) == 0
            && e != ORDERBUS__V1__APPEAL_TYPE__APPEAL_UNSPECIFIED)
            v = (int) e;
        names = "CONSULTATION, HELP, COMPLAINT, REPORT, SUGGESTION, PRAISE";
    }
    else {
        Orderbus__V1__Urgency e;
        if (ob_urgency_parse(text, &e) == 0)
            v = (int) e;
        names = "NORMAL, URGENT, VERY_URGENT";
    }
    if (v < 0 || v > 31)
        return s_fail_at(ctx, item, "unknown %s '%.*s': expected one of %s", s_ckey[c->kind],
                         s_show(text), text, names);
    c->bits |= 1u << v;
    return 0;
}

static const char *const s_days[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int s_day(const char *text, size_t len)
{
    for (int d = 0; d < 7; d++)
        if (len == 3 && strncasecmp(text, s_days[d], 3) == 0)
            return d;
    return -1;
}

/* "mon", "mon-fri" (may wrap: "fri-mon"). */
static int s_add_weekday(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_cond_t *c = ((s_arg_t *) arg)->cond;
    const char *text;
    if (s_string(ctx, item, "weekdays", S_MAX_TEXT, &text))
        return -1;
    const char *dash = strchr(text, '-');
    int from = s_day(text, dash ? (size_t) (dash - text) : strlen(text));
    int to = dash ? s_day(dash + 1, strlen(dash + 1)) : from;
    if (from < 0 || to < 0)
        return s_fail_at(ctx, item, "bad weekday '%.*s': expected mon, tue, wed, thu, fri, "
                                    "sat, sun or a range such as mon-fri", s_show(text), text);
    for (int d = from;; d = (d + 1) % 7) {
        c->bits |= 1u << d;
        if (d == to)
            break;
    }
    return 0;
}

/* "HH:MM" into minutes; 24:00 allowed when `end`. -1 when malformed. */
static int s_clock(const char *t, size_t len, bool end)
{
    if (len != 5 || t[2] != ':' || strspn(t, "0123456789") != 2
        || strspn(t + 3, "0123456789") < 2)
        return -1;
    int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
        return -1;
    return h * 60 + m;
}

static int s_add_hours(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_cond_t *c = ((s_arg_t *) arg)->cond;
    const char *text;
    if (s_string(ctx, item, "hours", S_MAX_TEXT, &text))
        return -1;
    const char *dash = strchr(text, '-');
    int from = dash ? s_clock(text, (size_t) (dash - text), false) : -1;
    int to = dash ? s_clock(dash + 1, strlen(dash + 1), true) : -1;
    if (from < 0 || to < 0)
        return s_fail_at(ctx, item, "bad hours '%.*s': expected a range \"HH:MM-HH:MM\"",
                         s_show(text), text);
    if (from == to || (from == 0 && to == 1440))
        return s_fail_at(ctx, item, "hours '%s' %s", text,
                         from == to ? "is an empty range" : "is the whole day: leave it out");
    if (s_grow((void **) &c->ranges, c->nranges, sizeof *c->ranges))
        return s_fail_at(ctx, item, "out of memory");
    c->ranges[c->nranges][0] = (uint16_t) from;
    c->ranges[c->nranges][1] = (uint16_t) to;
    c->nranges++;
    return 0;
}

/* A polygon: "file.geojson" or {file, name}; loaded once per (file, name). */
static int s_add_polygon(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_arg_t *a = arg;
    ob_rules_t *self = a->self;
    s_cond_t *c = a->cond;
    const char *file, *name = NULL;
    if (item->kind == OB_YAML_MAP) {
        s_field_t f[] = {{"file", NULL, NULL}, {"name", NULL, NULL}};
        if (s_fields(ctx, item, "polygon", f, 2) || s_require(ctx, item, &f[0], "polygon")
            || s_string(ctx, f[0].val, "polygon file", 4096, &file)
            || (f[1].val && s_string(ctx, f[1].val, "polygon name", S_MAX_TEXT, &name)))
            return -1;
    }
    else if (s_string(ctx, item, "polygon", 4096, &file))
        return -1;
    size_t i;
    for (i = 0; i < self->nareas; i++)
        if (strcmp(self->areas[i].file, file) == 0
            && (name ? self->areas[i].name && strcmp(self->areas[i].name, name) == 0
                     : !self->areas[i].name))
            break;
    if (i == self->nareas) {
        char *full = s_relative(ctx, file);
        if (!full)
            return s_fail_at(ctx, item, "out of memory");
        char gerr[256];
        ob_geo_t *geo = ob_geo_load(full, name, gerr, sizeof gerr);
        free(full);
        if (!geo)
            return s_fail_at(ctx, item, "polygon '%.*s': %s", s_show(file), file, gerr);
        if (s_grow((void **) &self->areas, self->nareas, sizeof *self->areas)) {
            ob_geo_destroy(&geo);
            return s_fail_at(ctx, item, "out of memory");
        }
        s_area_t *area = &self->areas[self->nareas++];
        area->geo = geo;
        area->file = strdup(file);
        area->name = name ? strdup(name) : NULL;
        if (!area->file || (name && !area->name))
            return s_fail_at(ctx, item, "out of memory");
    }
    if (s_grow((void **) &c->areas, c->nareas, sizeof *c->areas))
        return s_fail_at(ctx, item, "out of memory");
    c->areas[c->nareas++] = i;
    return 0;
}

/* A value list where items may be mappings or lists (polygon, keywords). */
static int s_items(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what, bool map_is_item,
                   s_each_fn each, void *arg)
{
    if (node->kind == OB_YAML_SEQ) {
        if (node->nkids == 0)
            return s_fail_at(ctx, node, "%s must not be an empty list", what);
        if (node->nkids > S_MAX_LIST)
            return s_fail_at(ctx, node, "%s lists more than %d entries", what, S_MAX_LIST);
        for (size_t i = 0; i < node->nkids; i++)
            if (each(ctx, node->kids[i], arg))
                return -1;
        return 0;
    }
    if (node->kind == OB_YAML_MAP && !map_is_item)
        return s_fail_at(ctx, node, "%s must be a string or a list of strings", what);
    return each(ctx, node, arg);
}

static int s_load_when(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node, const char *what,
                       s_cond_t **out);

/* The value of one `when` key into a condition of that kind. */
static int s_load_cond(s_ctx_t *ctx, ob_rules_t *self, s_ckind_t kind, const ob_yamlnode_t *key,
                       const ob_yamlnode_t *val, s_cond_t **out)
{
    s_cond_t *c = s_cond_new(ctx, kind, key);
    if (!c)
        return -1;
    s_arg_t arg = {self, c};
    int rc = 0;
    switch (kind) {
    case C_ALL:
    case C_ANY:
        if (val->kind != OB_YAML_SEQ)
            rc = s_fail_at(ctx, val, "%s must be a list of condition mappings", s_ckey[kind]);
        else if (val->nkids == 0)
            rc = s_fail_at(ctx, val, "%s must not be an empty list", s_ckey[kind]);
        for (size_t i = 0; !rc && i < val->nkids; i++) {
            s_cond_t *kid = NULL;
            rc = s_load_when(ctx, self, val->kids[i], s_ckey[kind], &kid);
            if (!rc)
                rc = s_add_kid(ctx, c, kid, val->kids[i]);
        }
        break;
    case C_NOT: {
        s_cond_t *kid = NULL;
        rc = s_load_when(ctx, self, val, "not", &kid);
        if (!rc)
            rc = s_add_kid(ctx, c, kid, val);
        break;
    }
    case C_CATEGORY:
    case C_CATEGORY_EXACT:
        rc = s_one_or_list(ctx, val, s_ckey[kind], s_add_category, &arg);
        break;
    case C_KEYWORDS:
    case C_TITLE_KEYWORDS:
        rc = s_items(ctx, val, s_ckey[kind], false, s_add_keyword, &arg);
        self->has_title = self->has_title || kind == C_TITLE_KEYWORDS;
        break;
    case C_KEYWORDS_ALL:
    case C_KEYWORDS_NONE:
    case C_TITLE_KEYWORDS_NONE:
        rc = s_one_or_list(ctx, val, s_ckey[kind], s_add_keyword, &arg);
        self->has_title = self->has_title || kind == C_TITLE_KEYWORDS_NONE;
        break;
    case C_DISTRICT:
    case C_STREET:
    case C_TARGET_ORG:
        rc = s_one_or_list(ctx, val, s_ckey[kind], s_add_str, &arg);
        break;
    case C_POLYGON:
        rc = s_items(ctx, val, "polygon", true, s_add_polygon, &arg);
        break;
    case C_CHANNEL:
    case C_APPEAL:
    case C_URGENCY:
        rc = s_one_or_list(ctx, val, s_ckey[kind], s_add_enum, &arg);
        break;
    case C_ANONYMOUS: {
        bool b = false;
        rc = s_bool(ctx, val, "anonymous", &b);
        c->bits = b;
        break;
    }
    case C_HOURS:
        rc = s_one_or_list(ctx, val, "hours", s_add_hours, &arg);
        break;
    case C_WEEKDAYS:
        rc = s_one_or_list(ctx, val, "weekdays", s_add_weekday, &arg);
        if (!rc && c->bits == 0x7f)
            rc = s_fail_at(ctx, val, "weekdays names every day: leave it out");
        break;
    default:
        assert(false);
    }
    if (rc) {
        s_cond_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* A mapping of conditions, all of which must hold, into an ALL node. */
static int s_load_when(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node, const char *what,
                       s_cond_t **out)
{
    if (node->kind != OB_YAML_MAP)
        return s_fail_at(ctx, node, "%s must hold mappings of conditions such as "
                                    "{category: ..., keywords: ...}", what);
    s_cond_t *all = s_cond_new(ctx, C_ALL, node);
    if (!all)
        return -1;
    all->map = true;
    uint32_t seen = 0;
    for (size_t i = 0; i + 1 < node->nkids; i += 2) {
        const ob_yamlnode_t *key = node->kids[i], *val = node->kids[i + 1];
        int kind;
        for (kind = 0; kind < C_KINDS; kind++)
            if (strcmp(key->text, s_ckey[kind]) == 0)
                break;
        int rc = 0;
        if (kind == C_KINDS) {
            for (size_t r = 0; s_reserved[r]; r++)
                if (strcmp(key->text, s_reserved[r]) == 0)
                    rc = s_fail_at(ctx, key, "key '%s' in when is reserved for a later "
                                             "release of the rules engine", key->text);
            if (!rc)
                rc = s_fail_at(ctx, key, "unknown key '%.*s' in when", s_show(key->text),
                               key->text);
        }
        else if (seen & (1u << kind))
            rc = s_fail_at(ctx, key, "duplicate key '%s' in when", key->text);
        s_cond_t *c = NULL;
        if (!rc)
            rc = s_load_cond(ctx, self, (s_ckind_t) kind, key, val, &c);
        if (!rc)
            rc = s_add_kid(ctx, all, c, key);
        if (rc) {
            s_cond_free(all);
            return -1;
        }
        seen |= 1u << kind;
    }
    *out = all;
    return 0;
}

/* --- departments, sites, defaults, recusal, taxonomy ---------------------- */

static int s_load_departments(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    if (node->kind != OB_YAML_SEQ)
        return s_fail_at(ctx, node, "departments must be a list");
    if (node->nkids == 0)
        return s_fail_at(ctx, node, "departments must declare at least one department");
    if (node->nkids > S_MAX_DEPTS)
        return s_fail_at(ctx, node, "more than %d departments", S_MAX_DEPTS);
    self->depts = calloc(node->nkids, sizeof *self->depts);
    if (!self->depts)
        return s_fail_at(ctx, node, "out of memory");
    for (size_t i = 0; i < node->nkids; i++) {
        const ob_yamlnode_t *item = node->kids[i];
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
        dept->norm = ob_text_fold_dup(name);
        self->ndepts++;
        if (!dept->id || !dept->name || !dept->norm)
            return s_fail_at(ctx, item, "out of memory");
    }
    return 0;
}

static int s_load_sites(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    if (node->kind != OB_YAML_SEQ)
        return s_fail_at(ctx, node, "sites must be a list");
    if (node->nkids == 0)
        return s_fail_at(ctx, node, "sites must not be an empty list");
    if (node->nkids > S_MAX_DEPTS)
        return s_fail_at(ctx, node, "more than %d sites", S_MAX_DEPTS);
    self->sites = calloc(node->nkids, sizeof *self->sites);
    if (!self->sites)
        return s_fail_at(ctx, node, "out of memory");
    for (size_t i = 0; i < node->nkids; i++) {
        const ob_yamlnode_t *item = node->kids[i];
        s_field_t f[] = {{"id", NULL, NULL}, {"name", NULL, NULL}};
        const char *id, *name;
        if (s_fields(ctx, item, "a site", f, 2) || s_require(ctx, item, &f[0], "a site")
            || s_require(ctx, item, &f[1], "a site") || s_ident(ctx, f[0].val, "site id", &id)
            || s_string(ctx, f[1].val, "site name", S_MAX_TEXT, &name))
            return -1;
        for (size_t j = 0; j < self->nsites; j++)
            if (strcmp(self->sites[j].id, id) == 0)
                return s_fail_at(ctx, f[0].val, "duplicate site id '%s'", id);
        s_site_t *site = &self->sites[self->nsites++];
        site->id = strdup(id);
        site->name = strdup(name);
        if (!site->id || !site->name)
            return s_fail_at(ctx, item, "out of memory");
    }
    return 0;
}

static int s_load_defaults(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    s_field_t f[] = {{"sign_within", NULL, NULL}, {"reply_within", NULL, NULL},
                     {"assist_within", NULL, NULL}};
    if (ob_yamlnode_is_null(node))
        return 0;
    if (s_fields(ctx, node, "defaults", f, 3))
        return -1;
    if (f[0].val && s_deadline(ctx, f[0].val, "sign_within", &self->sign))
        return -1;
    if (f[1].val && s_deadline(ctx, f[1].val, "reply_within", &self->reply))
        return -1;
    if (f[2].val && s_deadline(ctx, f[2].val, "assist_within", &self->assist))
        return -1;
    return 0;
}

/* A declared department id into out (OB_DEPT_MAX bytes). */
static int s_dept_ref(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node, const char *what,
                      char *out)
{
    const char *id;
    if (s_ident(ctx, node, what, &id))
        return -1;
    if (!ob_rules_dept_lookup(self, id))
        return s_fail_at(ctx, node, "%s '%s' is not declared under departments", what, id);
    memcpy(out, id, strlen(id) + 1);
    return 0;
}

static int s_add_recuse_name(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_recuse_t *r = arg;
    const char *text;
    if (s_string(ctx, item, "recusal name", S_MAX_TEXT, &text))
        return -1;
    if (s_grow((void **) &r->names, r->nnames, sizeof *r->names))
        return s_fail_at(ctx, item, "out of memory");
    r->names[r->nnames] = ob_text_fold_dup(text);
    if (!r->names[r->nnames])
        return s_fail_at(ctx, item, "out of memory");
    if (!*r->names[r->nnames++])
        return s_fail_at(ctx, item, "recusal name must not be blank");
    return 0;
}

static int s_load_recusal(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    s_field_t f[] = {{"instead", NULL, NULL}, {"departments", NULL, NULL}};
    if (s_fields(ctx, node, "recusal", f, 2))
        return -1;
    if (f[0].val && s_dept_ref(ctx, self, f[0].val, "recusal instead", self->recuse_instead))
        return -1;
    if (!f[1].val)
        return 0;
    const ob_yamlnode_t *list = f[1].val;
    if (list->kind != OB_YAML_SEQ || list->nkids == 0)
        return s_fail_at(ctx, list, "recusal departments must be a non-empty list");
    if (list->nkids > S_MAX_DEPTS)
        return s_fail_at(ctx, list, "more than %d recusal entries", S_MAX_DEPTS);
    self->recuse = calloc(list->nkids, sizeof *self->recuse);
    if (!self->recuse)
        return s_fail_at(ctx, list, "out of memory");
    for (size_t i = 0; i < list->nkids; i++) {
        const ob_yamlnode_t *item = list->kids[i];
        s_field_t g[] = {{"dept", NULL, NULL}, {"names", NULL, NULL}, {"instead", NULL, NULL}};
        s_recuse_t *r = &self->recuse[self->nrecuse++];
        if (s_fields(ctx, item, "a recusal entry", g, 3)
            || s_require(ctx, item, &g[0], "a recusal entry")
            || s_dept_ref(ctx, self, g[0].val, "recusal dept", r->dept))
            return -1;
        for (size_t j = 0; j + 1 < self->nrecuse; j++)
            if (strcmp(self->recuse[j].dept, r->dept) == 0)
                return s_fail_at(ctx, g[0].val, "duplicate recusal entry for '%s'", r->dept);
        if (g[1].val && s_one_or_list(ctx, g[1].val, "names", s_add_recuse_name, r))
            return -1;
        if (g[2].val && s_dept_ref(ctx, self, g[2].val, "recusal instead", r->instead))
            return -1;
        const char *instead = r->instead[0] ? r->instead : self->recuse_instead;
        if (strcmp(instead, r->dept) == 0)
            return s_fail_at(ctx, g[2].val ? g[2].val : g[0].val,
                             "recusal: cases about '%s' cannot go instead to '%s' itself",
                             r->dept, instead);
    }
    return 0;
}

/* Reads the taxonomy CSV `rel` (relative to the rule file): a header line,
   then rows of levels; stores every row and every prefix of a row as "a",
   "a/b", "a/b/c", sorted, unique. Errors are placed at `node`, the
   `taxonomy:` value, or name the whole file when node is NULL (the
   taxonomy.csv found beside the rule file). */
static int s_read_taxonomy(s_ctx_t *ctx, ob_rules_t *self, const char *rel,
                           const ob_yamlnode_t *node)
{
    size_t at = node ? node->line : 0, col = node ? node->col : 0;
    const char *beside = node ? "" : " (beside the rule file)";
    self->taxonomy_file = strdup(rel);
    char *path = s_relative(ctx, rel);
    if (!self->taxonomy_file || !path) {
        free(path);
        return s_fail(ctx, at, col, "out of memory");
    }
    int rc = -1;
    char *buf = NULL;
    struct stat st;
    bool special = stat(path, &st) == 0 && !S_ISREG(st.st_mode);  /* never block on a FIFO */
    FILE *file = special ? NULL : fopen(path, "rb");
    if (!file) {
        rc = s_fail(ctx, at, col, "cannot open taxonomy '%.*s'%s: %s", s_show(rel), rel, beside,
                    special ? "not a regular file" : strerror(errno));
        goto out;
    }
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > S_MAX_TAXONOMY) {
        rc = s_fail(ctx, at, col, "taxonomy '%.*s'%s is not a regular file of at most %d MiB",
                    s_show(rel), rel, beside, S_MAX_TAXONOMY / (1024 * 1024));
        goto out;
    }
    buf = malloc((size_t) st.st_size + 1);
    if (!buf || fread(buf, 1, (size_t) st.st_size, file) != (size_t) st.st_size) {
        rc = s_fail(ctx, at, col, "cannot read taxonomy '%.*s'%s", s_show(rel), rel, beside);
        goto out;
    }
    buf[st.st_size] = '\0';
    size_t cap = 0;
    bool header = true;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (header || len == 0) {
            header = false;
            line = nl ? nl + 1 : NULL;
            continue;
        }
        /* every prefix of the row: cut at each comma in turn */
        for (char *p = line;; p++) {
            if (*p != ',' && *p != '\0')
                continue;
            size_t n = (size_t) (p - line);
            if (n == 0 || line[n - 1] == '/')
                break;  /* an empty level ends the row */
            if (self->ntaxonomy == cap) {
                cap = cap ? 2 * cap : 1024;
                char **tax = realloc(self->taxonomy, cap * sizeof *tax);
                if (!tax) {
                    rc = s_fail(ctx, at, col, "out of memory");
                    goto out;
                }
                self->taxonomy = tax;
            }
            char *entry = malloc(n + 1);
            if (!entry) {
                rc = s_fail(ctx, at, col, "out of memory");
                goto out;
            }
            for (size_t i = 0; i < n; i++)
                entry[i] = line[i] == ',' ? '/' : line[i];
            entry[n] = '\0';
            self->taxonomy[self->ntaxonomy++] = entry;
            if (*p == '\0' || p[1] == '\0' || p[1] == ',')
                break;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (self->ntaxonomy == 0) {
        rc = s_fail(ctx, at, col, "taxonomy '%.*s'%s holds no category", s_show(rel), rel,
                    beside);
        goto out;
    }
    qsort(self->taxonomy, self->ntaxonomy, sizeof *self->taxonomy, s_taxonomy_cmp);
    size_t u = 0;
    for (size_t i = 0; i < self->ntaxonomy; i++) {
        if (u && strcmp(self->taxonomy[u - 1], self->taxonomy[i]) == 0)
            free(self->taxonomy[i]);
        else
            self->taxonomy[u++] = self->taxonomy[i];
    }
    self->ntaxonomy = u;
    rc = 0;
out:
    if (file)
        fclose(file);
    free(buf);
    free(path);
    return rc;
}

/* `taxonomy:` names a CSV file, or is false: the file's categories are
   not the taxonomy's, on purpose (NYC complaint types, say). Without the
   key, taxonomy.csv beside the rule file is read when there is one; with
   neither, categories are not checked (ob_rules_check warns). */
static int s_load_taxonomy(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    if (node) {
        const char *rel;
        if (node->kind == OB_YAML_SCALAR && node->plain
            && (strcasecmp(node->text, "false") == 0 || strcasecmp(node->text, "true") == 0)) {
            if (strcasecmp(node->text, "true") == 0)
                return s_fail_at(ctx, node, "taxonomy must name a CSV file, or be false "
                                            "(categories not checked)");
            self->taxonomy_off = true;
            return 0;
        }
        if (s_string(ctx, node, "taxonomy", 4096, &rel))
            return -1;
        return s_read_taxonomy(ctx, self, rel, node);
    }
    char *path = s_relative(ctx, S_TAXONOMY_BESIDE);
    if (!path)
        return s_fail(ctx, 0, 0, "out of memory");
    struct stat st;
    bool there = stat(path, &st) == 0 || errno != ENOENT;
    free(path);
    return there ? s_read_taxonomy(ctx, self, S_TAXONOMY_BESIDE, NULL) : 0;
}

/* --- rules ---------------------------------------------------------------- */

static void s_rule_clear(s_rule_t *rule)
{
    s_cond_free(rule->when);
    free(rule->assist);
    free(rule->reason);
    free(rule->referral);
    memset(rule, 0, sizeof *rule);
}

/* A text field of a decision, copied. */
static int s_text(s_ctx_t *ctx, const ob_yamlnode_t *node, const char *what, size_t max, char **out)
{
    const char *text;
    if (s_string(ctx, node, what, max, &text))
        return -1;
    *out = strdup(text);
    return *out ? 0 : s_fail_at(ctx, node, "out of memory");
}

typedef struct {
    ob_rules_t *self;
    s_rule_t *rule;
} s_assist_arg_t;

static int s_add_assist(s_ctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_assist_arg_t *a = arg;
    s_rule_t *rule = a->rule;
    char id[OB_DEPT_MAX];
    if (s_dept_ref(ctx, a->self, item, "assist department", id))
        return -1;
    if (strcmp(id, rule->lead) == 0)
        return s_fail_at(ctx, item, "assist department '%s' is the lead", id);
    for (size_t i = 0; i < rule->nassist; i++)
        if (strcmp(rule->assist[i], id) == 0)
            return s_fail_at(ctx, item, "assist department '%s' is listed twice", id);
    if (rule->nassist == OB_ROUTE_ASSIST_MAX)
        return s_fail_at(ctx, item, "more than %d assist departments", OB_ROUTE_ASSIST_MAX);
    if (s_grow((void **) &rule->assist, rule->nassist, sizeof *rule->assist))
        return s_fail_at(ctx, item, "out of memory");
    memcpy(rule->assist[rule->nassist++], id, OB_DEPT_MAX);
    return 0;
}

static int s_load_then(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node, s_rule_t *rule)
{
    enum { T_LEAD, T_REJECT, T_TRANSFER, T_MANUAL, T_ASSIST, T_SIGN, T_REPLY, T_ASSIST_WITHIN,
           T_PRIORITY, T_CONFIDENTIAL, T_N };
    s_field_t t[T_N] = {{"lead", NULL, NULL},         {"reject", NULL, NULL},
                        {"transfer", NULL, NULL},     {"manual", NULL, NULL},
                        {"assist", NULL, NULL},       {"sign_within", NULL, NULL},
                        {"reply_within", NULL, NULL}, {"assist_within", NULL, NULL},
                        {"priority", NULL, NULL},     {"confidential", NULL, NULL}};
    if (s_fields(ctx, node, "then", t, T_N))
        return -1;
    /* exactly one decision: report the second one written */
    const s_field_t *first = NULL;
    for (int i = T_LEAD; i <= T_MANUAL; i++) {
        if (!t[i].val)
            continue;
        if (first) {
            const s_field_t *later = first->keynode->line > t[i].keynode->line
                                             || (first->keynode->line == t[i].keynode->line
                                                 && first->keynode->col > t[i].keynode->col)
                                         ? first : &t[i];
            const s_field_t *earlier = later == first ? &t[i] : first;
            return s_fail_at(ctx, later->keynode,
                             "then has both '%s' and '%s': a rule decides one of lead, "
                             "reject, transfer or manual", earlier->key, later->key);
        }
        first = &t[i];
    }
    if (!first)
        return s_fail_at(ctx, node, "then needs a decision: lead, reject, transfer or manual");
    for (int i = T_ASSIST; i <= T_ASSIST_WITHIN; i++)
        if (t[i].val && !t[T_LEAD].val)
            return s_fail_at(ctx, t[i].keynode, "'%s' goes only with 'lead'", t[i].key);
    if (t[T_ASSIST_WITHIN].val && !t[T_ASSIST].val)
        return s_fail_at(ctx, t[T_ASSIST_WITHIN].keynode, "'assist_within' goes only with "
                                                          "'assist'");
    if (t[T_LEAD].val) {
        rule->decision = OB_DECISION_DISPATCH;
        if (s_dept_ref(ctx, self, t[T_LEAD].val, "lead department", rule->lead))
            return -1;
    }
    else if (t[T_REJECT].val) {
        rule->decision = OB_DECISION_REJECT;
        s_field_t r[] = {{"reason", NULL, NULL}, {"referral", NULL, NULL}};
        if (s_fields(ctx, t[T_REJECT].val, "reject", r, 2)
            || s_require(ctx, t[T_REJECT].val, &r[0], "reject")
            || s_text(ctx, r[0].val, "reject reason", OB_ROUTE_TEXT_MAX - 1, &rule->reason)
            || (r[1].val && s_text(ctx, r[1].val, "referral", OB_ROUTE_REFERRAL_MAX - 1,
                                   &rule->referral)))
            return -1;
    }
    else if (t[T_TRANSFER].val) {
        rule->decision = OB_DECISION_TRANSFER;
        s_field_t r[] = {{"site", NULL, NULL}, {"reason", NULL, NULL}};
        const char *site;
        if (s_fields(ctx, t[T_TRANSFER].val, "transfer", r, 2)
            || s_require(ctx, t[T_TRANSFER].val, &r[0], "transfer")
            || s_ident(ctx, r[0].val, "transfer site", &site)
            || (r[1].val && s_text(ctx, r[1].val, "transfer reason", OB_ROUTE_TEXT_MAX - 1,
                                   &rule->reason)))
            return -1;
        if (!ob_rules_site_lookup(self, site))
            return s_fail_at(ctx, r[0].val, "transfer site '%s' is not declared under sites",
                             site);
        memcpy(rule->site, site, strlen(site) + 1);
    }
    else {
        rule->decision = OB_DECISION_MANUAL;
        if (s_text(ctx, t[T_MANUAL].val, "manual reason", OB_ROUTE_TEXT_MAX - 1, &rule->reason))
            return -1;
    }
    s_assist_arg_t arg = {self, rule};
    if (t[T_ASSIST].val && s_one_or_list(ctx, t[T_ASSIST].val, "assist", s_add_assist, &arg))
        return -1;
    if (t[T_SIGN].val && s_deadline(ctx, t[T_SIGN].val, "sign_within", &rule->sign))
        return -1;
    if (t[T_REPLY].val && s_deadline(ctx, t[T_REPLY].val, "reply_within", &rule->reply))
        return -1;
    if (t[T_ASSIST_WITHIN].val
        && s_deadline(ctx, t[T_ASSIST_WITHIN].val, "assist_within", &rule->assist_dl))
        return -1;
    long prio = 0;
    if (t[T_PRIORITY].val && s_integer(ctx, t[T_PRIORITY].val, "then.priority", 0, 9, &prio))
        return -1;
    rule->hprio = (uint32_t) prio;
    if (t[T_CONFIDENTIAL].val
        && s_bool(ctx, t[T_CONFIDENTIAL].val, "confidential", &rule->confidential))
        return -1;
    return 0;
}

static int s_load_rule(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node, s_rule_t *rule)
{
    s_field_t f[] = {{"id", NULL, NULL},   {"priority", NULL, NULL},
                     {"when", NULL, NULL}, {"then", NULL, NULL},
                     {"description", NULL, NULL}};
    const char *id, *text;
    rule->line = node->line;
    rule->col = node->col;
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
    if (f[2].val && !ob_yamlnode_is_null(f[2].val)) {
        if (s_load_when(ctx, self, f[2].val, "when", &rule->when))
            return -1;
        if (rule->when->nkids == 0) {
            s_cond_free(rule->when);
            rule->when = NULL;
        }
    }
    return s_load_then(ctx, self, f[3].val, rule);
}

/* Reports the error in ctx to the check callback. */
static void s_report(s_ctx_t *ctx)
{
    ctx->pending = false;
    ctx->nerrors++;
    if (ctx->diag)
        ctx->diag(ctx->diag_arg, false, ctx->path, ctx->eline, ctx->ecol, ctx->err + ctx->emsg);
}

static int s_load_rules(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    if (ob_yamlnode_is_null(node))
        return 0;
    if (node->kind != OB_YAML_SEQ)
        return s_fail_at(ctx, node, "rules must be a list");
    if (node->nkids > S_MAX_RULES)
        return s_fail_at(ctx, node, "more than %d rules", S_MAX_RULES);
    if (node->nkids == 0)
        return 0;
    self->rules = calloc(node->nkids, sizeof *self->rules);
    if (!self->rules)
        return s_fail_at(ctx, node, "out of memory");
    int bad = 0;
    for (size_t i = 0; i < node->nkids; i++) {
        s_rule_t *rule = &self->rules[self->nrules];
        rule->index = i;
        if (s_load_rule(ctx, self, node->kids[i], rule) == 0) {
            self->nrules++;
            continue;
        }
        s_rule_clear(rule);
        if (!ctx->diag)
            return -1;
        s_report(ctx);  /* check mode: report, skip the rule, go on */
        bad = -1;
    }
    return bad;
}

/* "+08:00", "-05:30", "+8", "Z" / "UTC" into minutes east of UTC. */
static int s_timezone(s_ctx_t *ctx, const ob_yamlnode_t *node, int *out)
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

/* The condition a rule is gated by: its first top-level `keywords`,
   `keywords_all` or `title_keywords` (a keyword found in the title is
   among the ids found), else its first `category` / `category_exact`;
   NULL. */
static const s_cond_t *s_gate(const s_rule_t *rule, bool keywords)
{
    if (!rule->when)
        return NULL;
    for (size_t i = 0; i < rule->when->nkids; i++) {
        const s_cond_t *c = rule->when->kids[i];
        if (keywords && (c->kind == C_KEYWORDS || c->kind == C_KEYWORDS_ALL
                         || c->kind == C_TITLE_KEYWORDS))
            return c;
        if (!keywords && (c->kind == C_CATEGORY || c->kind == C_CATEGORY_EXACT))
            return c;
    }
    return NULL;
}

typedef struct {
    const char *level;
    uint32_t rule;
} s_catpair_t;

static int s_catpair_cmp(const void *a, const void *b)
{
    const s_catpair_t *x = a, *y = b;
    int c = strcmp(x->level, y->level);
    return c ? c : x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Builds the gates over the sorted rules (see the banner). */
static int s_build_gates(ob_rules_t *self)
{
    size_t npats = ob_match_count(self->match);
    int rc = -1;
    s_catpair_t *pairs = NULL;
    size_t npairs = 0;
    self->pat_start = calloc(npats + 2, sizeof *self->pat_start);
    if (!self->pat_start)
        goto out;
    /* counting pass, then filling pass, for keyword gates */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t r = 0; r < self->nrules; r++) {
            s_rule_t *rule = &self->rules[r];
            const s_cond_t *g = s_gate(rule, true);
            if (!g)
                continue;
            rule->gated_kw = true;
            size_t n = g->kind == C_KEYWORDS_ALL ? 1 : g->nkw;
            for (size_t e = 0; e < n; e++) {
                uint32_t id = g->kw[e].ids[0];
                if (pass == 0)
                    self->pat_start[id + 2]++;
                else
                    self->pat_rules[self->pat_start[id + 1]++] = (uint32_t) r;
            }
        }
        if (pass == 0) {
            for (size_t i = 2; i < npats + 2; i++)
                self->pat_start[i] += self->pat_start[i - 1];
            self->pat_rules = malloc((self->pat_start[npats + 1] + 1) * sizeof *self->pat_rules);
            if (!self->pat_rules)
                goto out;
        }
    }
    /* pat_start[id] .. pat_start[id + 1] now spans pattern id's rules */

    for (size_t r = 0; r < self->nrules; r++) {
        s_rule_t *rule = &self->rules[r];
        if (rule->gated_kw) {
            self->kwgated[r / 64] |= 1ULL << (r % 64);
            continue;
        }
        const s_cond_t *g = s_gate(rule, false);
        if (!g) {
            self->always[r / 64] |= 1ULL << (r % 64);
            continue;
        }
        void *p = realloc(pairs, (npairs + g->ncats) * sizeof *pairs);
        if (!p)
            goto out;
        pairs = p;
        for (size_t i = 0; i < g->ncats; i++)
            pairs[npairs++] = (s_catpair_t){g->cats[i].levels[0], (uint32_t) r};
    }
    if (npairs) {
        qsort(pairs, npairs, sizeof *pairs, s_catpair_cmp);
        self->cat_rules = malloc(npairs * sizeof *self->cat_rules);
        self->catgates = malloc(npairs * sizeof *self->catgates);
        if (!self->cat_rules || !self->catgates)
            goto out;
        for (size_t i = 0; i < npairs; i++) {
            self->cat_rules[i] = pairs[i].rule;
            if (self->ncatgates == 0
                || strcmp(self->catgates[self->ncatgates - 1].level, pairs[i].level) != 0)
                self->catgates[self->ncatgates++] = (s_catgate_t){pairs[i].level, (uint32_t) i, 0};
            self->catgates[self->ncatgates - 1].n++;
        }
    }
    rc = 0;
out:
    free(pairs);
    return rc;
}

static int s_build(s_ctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *root)
{
    if (!root || ob_yamlnode_is_null(root))
        return s_fail(ctx, 1, 1, "empty rule file (expected version, departments and rules)");
    if (root->kind != OB_YAML_MAP)
        return s_fail_at(ctx, root, "a rule file must be a mapping with version, "
                                    "departments and rules");
    enum { F_VERSION, F_TIMEZONE, F_DEPTS, F_DEFAULTS, F_RULES, F_TAXONOMY, F_SITES,
           F_RECUSAL, F_N };
    s_field_t f[F_N] = {{"version", NULL, NULL},  {"timezone", NULL, NULL},
                        {"departments", NULL, NULL}, {"defaults", NULL, NULL},
                        {"rules", NULL, NULL},    {"taxonomy", NULL, NULL},
                        {"sites", NULL, NULL},    {"recusal", NULL, NULL}};
    const char *version;
    if (s_fields(ctx, root, "the rule file", f, F_N)
        || s_require(ctx, root, &f[F_VERSION], "the rule file")
        || s_string(ctx, f[F_VERSION].val, "version", S_MAX_VERSION, &version)
        || s_require(ctx, root, &f[F_DEPTS], "the rule file"))
        return -1;
    self->version = strdup(version);
    if (!self->version)
        return s_fail_at(ctx, root, "out of memory");
    if (f[F_TIMEZONE].val && s_timezone(ctx, f[F_TIMEZONE].val, &self->utc_offset_min))
        return -1;
    if (s_load_taxonomy(ctx, self, f[F_TAXONOMY].val))
        return -1;
    if (s_load_departments(ctx, self, f[F_DEPTS].val))
        return -1;
    if (f[F_SITES].val && s_load_sites(ctx, self, f[F_SITES].val))
        return -1;
    if (f[F_DEFAULTS].val && s_load_defaults(ctx, self, f[F_DEFAULTS].val))
        return -1;
    if (f[F_RECUSAL].val && !ob_yamlnode_is_null(f[F_RECUSAL].val)
        && s_load_recusal(ctx, self, f[F_RECUSAL].val))
        return -1;
    if (f[F_RULES].val && s_load_rules(ctx, self, f[F_RULES].val))
        return -1;
    if (self->nrules > 1)
        qsort(self->rules, self->nrules, sizeof *self->rules, s_rule_cmp);
    if (ob_match_compile(self->match) || s_build_gates(self))
        return s_fail_at(ctx, root, "out of memory");
    return 0;
}

/* Reads the whole file, refusing anything larger than S_MAX_FILE. Returns
   a NUL-terminated buffer and its length, or NULL with "path: message". */
static unsigned char *s_read_file(s_ctx_t *ctx, size_t *len_p)
{
    unsigned char *buf = NULL;
    ctx->pending = true;  /* file-level errors: "path: message", no position */
    ctx->eline = ctx->ecol = 0;
    ctx->emsg = strlen(ctx->path) + 2;
    if (ctx->emsg >= ctx->errlen)
        ctx->emsg = 0;
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
    ctx->pending = false;
out:
    fclose(file);
    return buf;
}

/* --- loading -------------------------------------------------------------- */

/* Loads with the given context (normal or check mode). */
static ob_rules_t *s_load(s_ctx_t *ctx)
{
    ob_yamltree_t *tree = NULL;
    const ob_yamlnode_t *root = NULL;
    ob_rules_t *self = NULL;
    size_t len = 0;
    unsigned char *buf = s_read_file(ctx, &len);
    if (!buf)
        goto out;
    tree = ob_yamltree_parse(buf, len, ctx->path, &s_limits, ctx->err, ctx->errlen);
    if (!tree) {
        /* an error to report in check mode, placed like those of s_fail */
        ctx->pending = true;
        ctx->emsg = ob_yamltree_error_where(ctx->err, ctx->path, &ctx->eline, &ctx->ecol);
        goto out;
    }
    root = ob_yamltree_root(tree);
    self = calloc(1, sizeof *self);
    if (!self || !(self->match = ob_match_new())) {
        s_fail(ctx, 1, 1, "out of memory");
        free(self);
        self = NULL;
        goto out;
    }
    self->utc_offset_min = 480;
    self->sign.by[S_NORMAL].hours = S_BUILTIN_SIGN_HOURS;
    self->reply.by[S_NORMAL].days = S_BUILTIN_REPLY_DAYS;
    self->assist.by[S_NORMAL].days = S_BUILTIN_ASSIST_DAYS;
    for (int u = S_URGENT; u < S_URGENCIES; u++) {
        self->sign.by[u] = self->sign.by[S_NORMAL];
        self->reply.by[u] = self->reply.by[S_NORMAL];
        self->assist.by[u] = self->assist.by[S_NORMAL];
    }
    self->sign.set = self->reply.set = self->assist.set = true;
    if (s_build(ctx, self, root))
        ob_rules_destroy(&self);
out:
    ob_yamltree_destroy(&tree);
    free(buf);
    return self;
}

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
    return s_load(&ctx);
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
        free(self->depts[i].norm);
    }
    free(self->depts);
    for (size_t i = 0; i < self->nsites; i++) {
        free(self->sites[i].id);
        free(self->sites[i].name);
    }
    free(self->sites);
    for (size_t i = 0; i < self->nrecuse; i++) {
        for (size_t j = 0; j < self->recuse[i].nnames; j++)
            free(self->recuse[i].names[j]);
        free(self->recuse[i].names);
    }
    free(self->recuse);
    for (size_t i = 0; i < self->ntaxonomy; i++)
        free(self->taxonomy[i]);
    free(self->taxonomy);
    free(self->taxonomy_file);
    for (size_t i = 0; i < self->nareas; i++) {
        ob_geo_destroy(&self->areas[i].geo);
        free(self->areas[i].file);
        free(self->areas[i].name);
    }
    free(self->areas);
    ob_match_destroy(&self->match);
    free(self->pat_start);
    free(self->pat_rules);
    free(self->catgates);
    free(self->cat_rules);
    free(self->version);
    free(self);
    *self_p = NULL;
}

/* --- evaluation ----------------------------------------------------------- */

/* What the conditions look at, computed once per order. */
typedef struct {
    const ob_rules_t *self;
    const ob_workorder_t *order;
    const uint64_t *seen;  /* keyword ids found in title or content */
    const uint64_t *tseen; /* keyword ids found in the title (== seen when the rule
                              set has no title condition: then never read) */
    int minute;            /* minute of the day of receipt (site zone), -1 unknown */
    int wday;              /* day of week of receipt, 0 Sunday, -1 unknown */
    char *target;          /* normalised target_org, NULL when none (owned) */
} s_eval_t;

#define S_IDS 256  /* keyword ids listed per order before gating gives up the list */

/* Appends printf output to buf (size n), keeping it terminated. */
static void s_cat(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_cat(char *buf, size_t n, const char *fmt, ...)
{
    size_t len = strnlen(buf, n);
    if (len + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

static void s_describe(const ob_rules_t *self, const s_cond_t *c, char *buf, size_t n);

/* The values of a condition, "[a, b, c]" (at most 6 shown). */
static void s_values(const ob_rules_t *self, const s_cond_t *c, char *buf, size_t n)
{
    size_t count = 0;
    s_cat(buf, n, "[");
#define S_SEP() s_cat(buf, n, "%s", count++ ? ", " : "")
    switch (c->kind) {
    case C_CATEGORY:
    case C_CATEGORY_EXACT:
        for (size_t i = 0; i < c->ncats && count < 6; i++) {
            S_SEP();
            for (size_t l = 0; l < c->cats[i].nlevels; l++)
                s_cat(buf, n, "%s%s", l ? "/" : "", c->cats[i].levels[l]);
        }
        if (c->ncats > 6)
            s_cat(buf, n, ", ... %zu in all", c->ncats);
        break;
    case C_KEYWORDS:
    case C_KEYWORDS_ALL:
    case C_KEYWORDS_NONE:
    case C_TITLE_KEYWORDS:
    case C_TITLE_KEYWORDS_NONE:
        for (size_t i = 0; i < c->nkw && count < 6; i++) {
            S_SEP();
            for (size_t k = 0; k < c->kw[i].n; k++)
                s_cat(buf, n, "%s%s", k ? "+" : "", ob_match_pattern(self->match, c->kw[i].ids[k]));
        }
        if (c->nkw > 6)
            s_cat(buf, n, ", ... %zu in all", c->nkw);
        break;
    case C_DISTRICT:
    case C_STREET:
    case C_TARGET_ORG:
        for (size_t i = 0; i < c->nstrs && count < 6; i++) {
            S_SEP();
            s_cat(buf, n, "%s", c->strs[i]);
        }
        if (c->nstrs > 6)
            s_cat(buf, n, ", ... %zu in all", c->nstrs);
        break;
    case C_POLYGON:
        for (size_t i = 0; i < c->nareas; i++) {
            const s_area_t *a = &self->areas[c->areas[i]];
            S_SEP();
            s_cat(buf, n, "%s%s%s", a->file, a->name ? "#" : "", a->name ? a->name : "");
        }
        break;
    case C_CHANNEL:
    case C_APPEAL:
    case C_URGENCY:
    case C_WEEKDAYS:
        for (int i = 0; i < 32; i++) {
            int v = c->kind == C_WEEKDAYS ? (i + 1) % 7 : i;  /* mon .. sun */
            if (i >= 7 && c->kind == C_WEEKDAYS)
                break;
            if (!(c->bits & (1u << v)))
                continue;
            S_SEP();
            s_cat(buf, n, "%s",
                  c->kind == C_CHANNEL ? ob_channel_name((Orderbus__V1__Channel) v)
                  : c->kind == C_APPEAL ? ob_appeal_name((Orderbus__V1__AppealType) v)
                  : c->kind == C_URGENCY ? ob_urgency_name((Orderbus__V1__Urgency) v)
                  : v < 7 ? s_days[v] : "?");
        }
        break;
    case C_HOURS:
        for (size_t i = 0; i < c->nranges; i++) {
            S_SEP();
            s_cat(buf, n, "%02d:%02d-%02d:%02d", c->ranges[i][0] / 60, c->ranges[i][0] % 60,
                  c->ranges[i][1] / 60, c->ranges[i][1] % 60);
        }
        break;
    default:
        for (size_t i = 0; i < c->nkids; i++) {
            S_SEP();
            s_describe(self, c->kids[i], buf, n);
        }
        break;
    }
#undef S_SEP
    s_cat(buf, n, "]");
}

/* "key [values]" for a condition; "{...}" for a mapping of conditions. */
static void s_describe(const ob_rules_t *self, const s_cond_t *c, char *buf, size_t n)
{
    if (c->kind == C_ANONYMOUS) {
        s_cat(buf, n, "anonymous %s", c->bits ? "true" : "false");
        return;
    }
    if (c->kind == C_ALL && c->map) {
        /* a mapping: {k1 [..], k2 [..]} */
        s_cat(buf, n, "{");
        for (size_t i = 0; i < c->nkids; i++) {
            if (i)
                s_cat(buf, n, ", ");
            s_describe(self, c->kids[i], buf, n);
        }
        s_cat(buf, n, "}");
        return;
    }
    s_cat(buf, n, "%s ", s_ckey[c->kind]);
    s_values(self, c, buf, n);
}

static bool s_bit(const uint64_t *seen, uint32_t id)
{
    return (seen[id >> 6] >> (id & 63)) & 1;
}

static bool s_has(const s_eval_t *ev, uint32_t id)
{
    return s_bit(ev->seen, id);
}

/* Every word of the entry is in `seen` (title and content, or title). */
static bool s_kwent_found(const uint64_t *seen, const s_kwent_t *ent)
{
    for (size_t k = 0; k < ent->n; k++)
        if (!s_bit(seen, ent->ids[k]))
            return false;
    return true;
}

static bool s_cat_prefix(const s_catpath_t *cat, const ob_workorder_t *order, bool exact)
{
    if (order->n_category < cat->nlevels || (exact && order->n_category != cat->nlevels))
        return false;
    for (size_t l = 0; l < cat->nlevels; l++)
        if (!order->category[l] || strcmp(order->category[l], cat->levels[l]) != 0)
            return false;
    return true;
}

static bool s_in(char **strs, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(strs[i], s) == 0)
            return true;
    return false;
}

static bool s_in_hours(const s_cond_t *c, int minute)
{
    for (size_t i = 0; i < c->nranges; i++) {
        int from = c->ranges[i][0], to = c->ranges[i][1];
        if (from < to ? minute >= from && minute < to : minute >= from || minute < to)
            return true;
    }
    return false;
}

/* Does condition c hold for the order? When it does not and why is
   non-NULL, writes the reason there (rule values and non-personal order
   values only). */
static bool s_holds(const s_cond_t *c, const s_eval_t *ev, char *why, size_t n)
{
    const ob_workorder_t *o = ev->order;
    const Orderbus__V1__Location *loc = o->location;
    bool ok = false;
    char tmp[OB_EXPLAIN_MAX];
    const char *miss = NULL;  /* a keyword to name in the reason */
    switch (c->kind) {
    case C_ALL:
        for (size_t i = 0; i < c->nkids; i++)
            if (!s_holds(c->kids[i], ev, why, n))
                return false;
        return true;
    case C_ANY:
        for (size_t i = 0; i < c->nkids; i++)
            if (s_holds(c->kids[i], ev, NULL, 0))
                return true;
        if (why) {
            tmp[0] = '\0';
            s_holds(c->kids[0], ev, tmp, sizeof tmp);
            snprintf(why, n, "any: none of its %zu alternatives holds (the first: %s)",
                     c->nkids, tmp);
        }
        return false;
    case C_NOT:
        if (!s_holds(c->kids[0], ev, NULL, 0))
            return true;
        if (why) {
            tmp[0] = '\0';
            s_describe(ev->self, c->kids[0], tmp, sizeof tmp);
            snprintf(why, n, "not: %s holds", tmp);
        }
        return false;
    case C_CATEGORY:
    case C_CATEGORY_EXACT:
        for (size_t i = 0; i < c->ncats && !ok; i++)
            ok = s_cat_prefix(&c->cats[i], o, c->kind == C_CATEGORY_EXACT);
        break;
    case C_KEYWORDS:
    case C_TITLE_KEYWORDS:
        for (size_t i = 0; i < c->nkw && !ok; i++)
            ok = s_kwent_found(c->kind == C_KEYWORDS ? ev->seen : ev->tseen, &c->kw[i]);
        break;
    case C_KEYWORDS_ALL:
        ok = true;
        for (size_t i = 0; i < c->nkw && ok; i++)
            if (!s_has(ev, c->kw[i].ids[0])) {
                ok = false;
                miss = ob_match_pattern(ev->self->match, c->kw[i].ids[0]);
            }
        break;
    case C_KEYWORDS_NONE:
    case C_TITLE_KEYWORDS_NONE:
        ok = true;
        for (size_t i = 0; i < c->nkw && ok; i++)
            if (s_bit(c->kind == C_KEYWORDS_NONE ? ev->seen : ev->tseen, c->kw[i].ids[0])) {
                ok = false;
                miss = ob_match_pattern(ev->self->match, c->kw[i].ids[0]);
            }
        break;
    case C_DISTRICT:
        ok = loc && loc->district_code && *loc->district_code
             && s_in(c->strs, c->nstrs, loc->district_code);
        break;
    case C_STREET:
        ok = loc && ((loc->street_code && *loc->street_code
                      && s_in(c->strs, c->nstrs, loc->street_code))
                     || (loc->street && *loc->street && s_in(c->strs, c->nstrs, loc->street)));
        break;
    case C_POLYGON:
        if (loc && loc->has_point)
            for (size_t i = 0; i < c->nareas && !ok; i++)
                ok = ob_geo_contains(ev->self->areas[c->areas[i]].geo, loc->lat, loc->lon);
        break;
    case C_CHANNEL:
        ok = (unsigned) o->channel < 32 && (c->bits >> o->channel) & 1;
        break;
    case C_APPEAL:
        ok = (unsigned) o->appeal_type < 32 && (c->bits >> o->appeal_type) & 1;
        break;
    case C_URGENCY:
        ok = (unsigned) o->urgency < 32 && (c->bits >> o->urgency) & 1;
        break;
    case C_ANONYMOUS:
        ok = (bool) o->anonymous == (bool) c->bits;
        break;
    case C_TARGET_ORG:
        for (size_t i = 0; i < c->nstrs && !ok && ev->target; i++)
            ok = strstr(ev->target, c->strs[i]) != NULL;
        break;
    case C_HOURS:
        ok = ev->minute >= 0 && s_in_hours(c, ev->minute);
        break;
    case C_WEEKDAYS:
        ok = ev->wday >= 0 && (c->bits >> ev->wday) & 1;
        break;
    default:
        assert(false);
    }
    if (ok || !why)
        return ok;

    /* why not */
    tmp[0] = '\0';
    s_describe(ev->self, c, tmp, sizeof tmp);
    char what[256] = "";
    switch (c->kind) {
    case C_CATEGORY:
    case C_CATEGORY_EXACT:
        if (o->n_category == 0)
            snprintf(what, sizeof what, "the order has no category");
        else {
            s_cat(what, sizeof what, "the order's category ");
            for (size_t l = 0; l < o->n_category; l++)
                s_cat(what, sizeof what, "%s%s", l ? "/" : "", o->category[l] ? o->category[l] : "");
            s_cat(what, sizeof what, c->kind == C_CATEGORY ? " is under none of them"
                                                            : " is none of them");
        }
        break;
    case C_KEYWORDS:
        snprintf(what, sizeof what, "none occurs in the title or content");
        break;
    case C_KEYWORDS_ALL:
        snprintf(what, sizeof what, "'%s' does not occur in the title or content", miss);
        break;
    case C_KEYWORDS_NONE:
        snprintf(what, sizeof what, "'%s' occurs in the title or content", miss);
        break;
    case C_TITLE_KEYWORDS:
        snprintf(what, sizeof what, "none occurs in the title");
        break;
    case C_TITLE_KEYWORDS_NONE:
        snprintf(what, sizeof what, "'%s' occurs in the title", miss);
        break;
    case C_DISTRICT:
        if (loc && loc->district_code && *loc->district_code)
            snprintf(what, sizeof what, "the order's district is %.64s", loc->district_code);
        else
            snprintf(what, sizeof what, "the order has no district");
        break;
    case C_STREET:
        snprintf(what, sizeof what, "%s",
                 loc && ((loc->street_code && *loc->street_code) || (loc->street && *loc->street))
                     ? "the order's street is none of them" : "the order has no street");
        break;
    case C_POLYGON:
        snprintf(what, sizeof what, "%s",
                 loc && loc->has_point ? "the order's point is outside"
                                       : "the order has no point (location.lat/lon)");
        break;
    case C_CHANNEL:
        snprintf(what, sizeof what, "the order's channel is %s", ob_channel_name(o->channel));
        break;
    case C_APPEAL:
        snprintf(what, sizeof what, "the order's appeal type is %s",
                 ob_appeal_name(o->appeal_type));
        break;
    case C_URGENCY:
        snprintf(what, sizeof what, "the order's urgency is %s", ob_urgency_name(o->urgency));
        break;
    case C_ANONYMOUS:
        snprintf(what, sizeof what, "the order is %sanonymous", o->anonymous ? "" : "not ");
        break;
    case C_TARGET_ORG:
        snprintf(what, sizeof what, "%s",
                 ev->target ? "the organisation complained about is none of them"
                            : "the order names no organisation complained about");
        break;
    case C_HOURS:
        if (ev->minute < 0)
            snprintf(what, sizeof what, "the order has no time of receipt");
        else
            snprintf(what, sizeof what, "received at %02d:%02d", ev->minute / 60,
                     ev->minute % 60);
        break;
    case C_WEEKDAYS:
        if (ev->wday < 0)
            snprintf(what, sizeof what, "the order has no time of receipt");
        else
            snprintf(what, sizeof what, "received on a %s", s_days[ev->wday]);
        break;
    default:
        break;
    }
    snprintf(why, n, "%s: %s", tmp, what);
    return false;
}

/* Floor division for the time of receipt. */
static int64_t s_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Scans the order's text once, and works out its time of receipt. The
   ids of keywords found are listed in ids (up to S_IDS; *nids may exceed
   it, see ob_match_scan). When the rule set has title conditions, the
   title is scanned into tseen first and seen starts as a copy of it, so
   that seen holds the keywords of title and content and tseen those of
   the title alone (each text is still scanned once); else tseen is not
   used. */
static void s_eval_init(const ob_rules_t *self, const ob_workorder_t *order, s_eval_t *ev,
                        uint64_t *seen, uint64_t *tseen, uint32_t *ids, size_t *nids)
{
    memset(ev, 0, sizeof *ev);
    ev->self = self;
    ev->order = order;
    ev->seen = seen;
    ev->tseen = self->has_title ? tseen : seen;
    size_t npats = ob_match_count(self->match);
    if (npats) {
        size_t words = (npats + 63) / 64;
        uint64_t *first = self->has_title ? tseen : seen;
        memset(first, 0, words * sizeof *first);
        if (order->title)
            ob_match_scan(self->match, order->title, strlen(order->title), first, ids, S_IDS,
                          nids);
        if (self->has_title)
            memcpy(seen, tseen, words * sizeof *seen);
        if (order->content)
            ob_match_scan(self->match, order->content, strlen(order->content), seen, ids,
                          S_IDS, nids);
    }
    ev->minute = ev->wday = -1;
    if (order->received_at_ms > 0) {
        int64_t s = s_floordiv(order->received_at_ms, 1000) + (int64_t) self->utc_offset_min * 60;
        int64_t days = s_floordiv(s, 86400);
        ev->minute = (int) ((s - days * 86400) / 60);
        ev->wday = (int) (((days % 7) + 7 + 4) % 7);  /* 1970-01-01 was a Thursday */
    }
    if (order->target_org && *order->target_org) {
        ev->target = ob_text_fold_dup(order->target_org);
        if (ev->target && !*ev->target) {
            free(ev->target);
            ev->target = NULL;
        }
    }
}

static int s_catgate_cmp(const void *key, const void *item)
{
    return strcmp((const char *) key, ((const s_catgate_t *) item)->level);
}

/* The first rule, in try order, among the gated candidates, that holds. */
static const s_rule_t *s_pick(const ob_rules_t *self, const s_eval_t *ev, const uint32_t *ids,
                              size_t nids)
{
    uint64_t cand[S_MAX_WORDS];
    size_t nwords = (self->nrules + 63) / 64;
    memcpy(cand, self->always, nwords * sizeof *cand);
    if (nids > S_IDS) {
        for (size_t w = 0; w < nwords; w++)
            cand[w] |= self->kwgated[w];
    }
    else
        for (size_t i = 0; i < nids; i++)
            for (uint32_t k = self->pat_start[ids[i]]; k < self->pat_start[ids[i] + 1]; k++)
                cand[self->pat_rules[k] / 64] |= 1ULL << (self->pat_rules[k] % 64);
    const ob_workorder_t *order = ev->order;
    if (self->ncatgates && order->n_category && order->category[0]) {
        const s_catgate_t *g = bsearch(order->category[0], self->catgates, self->ncatgates,
                                       sizeof *g, s_catgate_cmp);
        for (uint32_t k = 0; g && k < g->n; k++) {
            uint32_t r = self->cat_rules[g->start + k];
            cand[r / 64] |= 1ULL << (r % 64);
        }
    }
    for (size_t w = 0; w < nwords; w++)
        for (uint64_t bits = cand[w]; bits; bits &= bits - 1) {
            const s_rule_t *rule = &self->rules[w * 64 + (size_t) __builtin_ctzll(bits)];
            if (!rule->when || s_holds(rule->when, ev, NULL, 0))
                return rule;
        }
    return NULL;
}

/* Does the normalised target name department `id`? */
static bool s_names(const ob_rules_t *self, const char *target, const char *id)
{
    if (!target || !id || !*id)
        return false;
    for (size_t i = 0; i < self->ndepts; i++)
        if (strcmp(self->depts[i].id, id) == 0 && *self->depts[i].norm
            && strstr(target, self->depts[i].norm))
            return true;
    for (size_t i = 0; i < self->nrecuse; i++)
        if (strcmp(self->recuse[i].dept, id) == 0)
            for (size_t j = 0; j < self->recuse[i].nnames; j++)
                if (strstr(target, self->recuse[i].names[j]))
                    return true;
    return false;
}

static void s_copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* Fills *out from the deciding rule (NULL: none), applying recusal. */
static void s_decide(const ob_rules_t *self, const s_rule_t *hit, const s_eval_t *ev,
                     ob_route_t *out)
{
    const ob_workorder_t *order = ev->order;
    memset(out, 0, sizeof *out);
    s_copy(out->version, sizeof out->version, self->version);
    int urgency = S_NORMAL;
    if (order->urgency == ORDERBUS__V1__URGENCY__URGENCY_URGENT)
        urgency = S_URGENT;
    else if (order->urgency == ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT)
        urgency = S_VERY_URGENT;
    const s_deadline_t *sign = &self->sign, *reply = &self->reply, *assist = &self->assist;
    out->decision = OB_DECISION_MANUAL;
    out->confidential = order->confidential;
    if (hit) {
        out->decided = true;
        out->decision = hit->decision;
        memcpy(out->rule_id, hit->id, sizeof out->rule_id);
        out->priority = hit->hprio;
        out->confidential = out->confidential || hit->confidential;
        s_copy(out->reason, sizeof out->reason, hit->reason);
        s_copy(out->referral, sizeof out->referral, hit->referral);
        if (hit->decision == OB_DECISION_TRANSFER) {
            s_copy(out->site, sizeof out->site, hit->site);
            s_copy(out->site_name, sizeof out->site_name,
                   ob_rules_site_lookup((ob_rules_t *) self, hit->site));
        }
        if (hit->decision == OB_DECISION_DISPATCH) {
            memcpy(out->dept, hit->lead, sizeof out->dept);
            for (size_t i = 0; i < hit->nassist; i++)
                memcpy(out->assist[out->n_assist++], hit->assist[i], OB_DEPT_MAX);
        }
        if (hit->sign.set)
            sign = &hit->sign;
        if (hit->reply.set)
            reply = &hit->reply;
        if (hit->assist_dl.set)
            assist = &hit->assist_dl;
    }
    if (out->decision == OB_DECISION_DISPATCH && ev->target) {
        /* recusal: the lead named by target_org hands over to `instead` */
        if (s_names(self, ev->target, out->dept)) {
            memcpy(out->recused, out->dept, sizeof out->recused);
            const char *instead = self->recuse_instead;
            for (size_t i = 0; i < self->nrecuse; i++)
                if (strcmp(self->recuse[i].dept, out->dept) == 0 && self->recuse[i].instead[0])
                    instead = self->recuse[i].instead;
            if (!*instead || s_names(self, ev->target, instead)) {
                out->decision = OB_DECISION_MANUAL;
                out->dept[0] = '\0';
                out->n_assist = 0;
                snprintf(out->reason, sizeof out->reason,
                         "recusal: the order complains about the lead department '%s' and "
                         "the rules name no other department for it", out->recused);
            }
            else
                s_copy(out->dept, sizeof out->dept, instead);
        }
        size_t k = 0;
        for (size_t i = 0; i < out->n_assist; i++) {
            bool drop = strcmp(out->assist[i], out->dept) == 0;
            if (!drop && s_names(self, ev->target, out->assist[i])) {
                drop = true;
                if (!out->recused[0])
                    memcpy(out->recused, out->assist[i], sizeof out->recused);
            }
            if (!drop && k != i)
                memcpy(out->assist[k], out->assist[i], OB_DEPT_MAX);
            k += !drop;
        }
        out->n_assist = k;
    }
    out->matched = out->decision == OB_DECISION_DISPATCH;
    out->sign_within = sign->by[urgency];
    out->reply_within = reply->by[urgency];
    if (out->n_assist)
        out->assist_within = assist->by[urgency];
}

/* Routes by the first matching rule in priority order (see ob_rules.h). */
int ob_rules_route(ob_rules_t *self, const ob_workorder_t *order, ob_route_t *out)
{
    assert(self);
    assert(order);
    assert(out);
    uint64_t seen[S_SEEN_WORDS], tseen[S_SEEN_WORDS];
    uint32_t ids[S_IDS];
    size_t nids = 0;
    s_eval_t ev;
    s_eval_init(self, order, &ev, seen, tseen, ids, &nids);
    s_decide(self, s_pick(self, &ev, ids, nids), &ev, out);
    free(ev.target);
    return 0;
}

size_t ob_rules_explain(ob_rules_t *self, const ob_workorder_t *order, ob_route_t *route,
                        ob_rule_explain_t *items, size_t nitems)
{
    assert(self);
    assert(order);
    uint64_t seen[S_SEEN_WORDS], tseen[S_SEEN_WORDS];
    uint32_t ids[S_IDS];
    size_t nids = 0;
    s_eval_t ev;
    s_eval_init(self, order, &ev, seen, tseen, ids, &nids);
    if (route)
        s_decide(self, s_pick(self, &ev, ids, nids), &ev, route);
    size_t n = 0;
    for (size_t r = 0; r < self->nrules && n < nitems; r++, n++) {
        const s_rule_t *rule = &self->rules[r];
        ob_rule_explain_t *item = &items[n];
        memset(item, 0, sizeof *item);
        item->rule_id = rule->id;
        item->priority = rule->priority;
        item->line = rule->line;
        item->col = rule->col;
        item->matched = !rule->when || s_holds(rule->when, &ev, item->why, sizeof item->why);
        if (item->matched)
            item->why[0] = '\0';
    }
    free(ev.target);
    return n;
}

bool ob_rules_recused(ob_rules_t *self, const ob_workorder_t *order, const char *dept)
{
    assert(self);
    assert(order);
    if (!order->target_org || !*order->target_org)
        return false;
    char *target = ob_text_fold_dup(order->target_org);
    bool named = target && *target && s_names(self, target, dept);
    free(target);
    return named;
}

const char *ob_decision_name(ob_decision_t decision)
{
    switch (decision) {
    case OB_DECISION_DISPATCH:
        return "dispatch";
    case OB_DECISION_REJECT:
        return "reject";
    case OB_DECISION_TRANSFER:
        return "transfer";
    default:
        return "manual";
    }
}

size_t ob_rules_count(ob_rules_t *self)
{
    assert(self);
    return self->nrules;
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

const char *ob_rules_site_lookup(ob_rules_t *self, const char *id)
{
    assert(self);
    if (!id)
        return NULL;
    for (size_t i = 0; i < self->nsites; i++)
        if (strcmp(self->sites[i].id, id) == 0)
            return self->sites[i].name;
    return NULL;
}

/* Defaults for a normal-urgency order. */
void ob_rules_default_deadlines(ob_rules_t *self, ob_limit_t *sign, ob_limit_t *reply)
{
    assert(self);
    if (sign)
        *sign = self->sign.by[S_NORMAL];
    if (reply)
        *reply = self->reply.by[S_NORMAL];
}

/* --- checking: shadowed and overlapping rules ----------------------------- */

static bool s_cond_equal(const s_cond_t *a, const s_cond_t *b)
{
    if (a->kind != b->kind || a->nkids != b->nkids || a->ncats != b->ncats
        || a->nstrs != b->nstrs || a->nkw != b->nkw || a->bits != b->bits
        || a->nranges != b->nranges || a->nareas != b->nareas)
        return false;
    for (size_t i = 0; i < a->nkids; i++)
        if (!s_cond_equal(a->kids[i], b->kids[i]))
            return false;
    for (size_t i = 0; i < a->ncats; i++) {
        if (a->cats[i].nlevels != b->cats[i].nlevels)
            return false;
        for (size_t l = 0; l < a->cats[i].nlevels; l++)
            if (strcmp(a->cats[i].levels[l], b->cats[i].levels[l]) != 0)
                return false;
    }
    for (size_t i = 0; i < a->nstrs; i++)
        if (strcmp(a->strs[i], b->strs[i]) != 0)
            return false;
    for (size_t i = 0; i < a->nkw; i++)
        if (a->kw[i].n != b->kw[i].n
            || memcmp(a->kw[i].ids, b->kw[i].ids, a->kw[i].n * sizeof *a->kw[i].ids) != 0)
            return false;
    return (a->nranges == 0 || memcmp(a->ranges, b->ranges, a->nranges * sizeof *a->ranges) == 0)
           && (a->nareas == 0 || memcmp(a->areas, b->areas, a->nareas * sizeof *a->areas) == 0);
}

/* p is a prefix of q (levels), or equal to it when `exact`. */
static bool s_path_prefix(const s_catpath_t *p, const s_catpath_t *q, bool exact)
{
    if (p->nlevels > q->nlevels || (exact && p->nlevels != q->nlevels))
        return false;
    for (size_t l = 0; l < p->nlevels; l++)
        if (strcmp(p->levels[l], q->levels[l]) != 0)
            return false;
    return true;
}

/* Every id of sub occurs in sup. */
static bool s_ids_subset(const s_kwent_t *sub, const s_kwent_t *sup)
{
    for (size_t i = 0; i < sub->n; i++) {
        bool found = false;
        for (size_t j = 0; j < sup->n && !found; j++)
            found = sub->ids[i] == sup->ids[j];
        if (!found)
            return false;
    }
    return true;
}

/* The keyword ids of a KEYWORDS_ALL/NONE condition as one entry. */
static bool s_kw_has(const s_cond_t *c, uint32_t id)
{
    for (size_t i = 0; i < c->nkw; i++)
        for (size_t k = 0; k < c->kw[i].n; k++)
            if (c->kw[i].ids[k] == id)
                return true;
    return false;
}

static void s_minutes(const s_cond_t *c, uint64_t mask[23])
{
    memset(mask, 0, 23 * sizeof *mask);
    for (int m = 0; m < 1440; m++)
        if (s_in_hours(c, m))
            mask[m / 64] |= 1ULL << (m % 64);
}

/* Does every order that satisfies b satisfy a? Only true when provable. */
static bool s_implies(const s_cond_t *b, const s_cond_t *a)
{
    switch (a->kind) {
    case C_CATEGORY:
    case C_CATEGORY_EXACT: {
        bool exact = a->kind == C_CATEGORY_EXACT;
        if (b->kind != C_CATEGORY_EXACT && (exact || b->kind != C_CATEGORY))
            return false;
        for (size_t i = 0; i < b->ncats; i++) {
            bool any = false;
            for (size_t j = 0; j < a->ncats && !any; j++)
                any = s_path_prefix(&a->cats[j], &b->cats[i], exact);
            if (!any)
                return false;
        }
        return true;
    }
    case C_KEYWORDS:
    case C_TITLE_KEYWORDS:
        /* a keyword in the title occurs in the title or content: title_keywords
           implies keywords, never the other way round */
        if (b->kind == a->kind || (a->kind == C_KEYWORDS && b->kind == C_TITLE_KEYWORDS)) {
            for (size_t i = 0; i < b->nkw; i++) {
                bool any = false;
                for (size_t j = 0; j < a->nkw && !any; j++)
                    any = s_ids_subset(&a->kw[j], &b->kw[i]);
                if (!any)
                    return false;
            }
            return true;
        }
        if (a->kind == C_KEYWORDS && b->kind == C_KEYWORDS_ALL)
            for (size_t j = 0; j < a->nkw; j++) {
                bool all = true;
                for (size_t k = 0; k < a->kw[j].n && all; k++)
                    all = s_kw_has(b, a->kw[j].ids[k]);
                if (all)
                    return true;
            }
        return false;
    case C_KEYWORDS_ALL:
        if (b->kind == C_KEYWORDS_ALL) {
            for (size_t j = 0; j < a->nkw; j++)
                if (!s_kw_has(b, a->kw[j].ids[0]))
                    return false;
            return true;
        }
        if (b->kind == C_KEYWORDS || b->kind == C_TITLE_KEYWORDS) {
            for (size_t i = 0; i < b->nkw; i++)
                for (size_t j = 0; j < a->nkw; j++) {
                    bool in = false;
                    for (size_t k = 0; k < b->kw[i].n && !in; k++)
                        in = b->kw[i].ids[k] == a->kw[j].ids[0];
                    if (!in)
                        return false;
                }
            return true;
        }
        return false;
    case C_KEYWORDS_NONE:
    case C_TITLE_KEYWORDS_NONE:
        /* none in the title or content implies none in the title */
        if (b->kind != C_KEYWORDS_NONE && b->kind != a->kind)
            return false;
        for (size_t j = 0; j < a->nkw; j++)
            if (!s_kw_has(b, a->kw[j].ids[0]))
                return false;
        return true;
    case C_DISTRICT:
    case C_STREET:
        if (b->kind != a->kind)
            return false;
        for (size_t i = 0; i < b->nstrs; i++)
            if (!s_in(a->strs, a->nstrs, b->strs[i]))
                return false;
        return true;
    case C_TARGET_ORG:
        if (b->kind != a->kind)
            return false;
        for (size_t i = 0; i < b->nstrs; i++) {
            bool any = false;
            for (size_t j = 0; j < a->nstrs && !any; j++)
                any = strstr(b->strs[i], a->strs[j]) != NULL;
            if (!any)
                return false;
        }
        return true;
    case C_POLYGON:
        if (b->kind != a->kind)
            return false;
        for (size_t i = 0; i < b->nareas; i++) {
            bool any = false;
            for (size_t j = 0; j < a->nareas && !any; j++)
                any = a->areas[j] == b->areas[i];
            if (!any)
                return false;
        }
        return true;
    case C_CHANNEL:
    case C_APPEAL:
    case C_URGENCY:
    case C_WEEKDAYS:
        return b->kind == a->kind && (b->bits & ~a->bits) == 0;
    case C_ANONYMOUS:
        return b->kind == a->kind && b->bits == a->bits;
    case C_HOURS: {
        if (b->kind != a->kind)
            return false;
        uint64_t ma[23], mb[23];
        s_minutes(a, ma);
        s_minutes(b, mb);
        for (int w = 0; w < 23; w++)
            if (mb[w] & ~ma[w])
                return false;
        return true;
    }
    default:
        return s_cond_equal(a, b);
    }
}

/* Do the values of a and b (same kind) meet? Keywords meet when the two
   conditions share a keyword. Used for the wording of an overlap
   ("overlaps" when every condition meets its like); whether two rules can
   match one order at all is s_disjoint's question. */
static bool s_intersects(const s_cond_t *a, const s_cond_t *b)
{
    switch (a->kind) {
    case C_CATEGORY:
    case C_CATEGORY_EXACT:
        for (size_t i = 0; i < a->ncats; i++)
            for (size_t j = 0; j < b->ncats; j++)
                if (s_path_prefix(&a->cats[i], &b->cats[j], a->kind == C_CATEGORY_EXACT)
                    || s_path_prefix(&b->cats[j], &a->cats[i], a->kind == C_CATEGORY_EXACT))
                    return true;
        return false;
    case C_KEYWORDS:
    case C_KEYWORDS_ALL:
    case C_TITLE_KEYWORDS:
        for (size_t i = 0; i < a->nkw; i++)
            for (size_t k = 0; k < a->kw[i].n; k++)
                if (s_kw_has(b, a->kw[i].ids[k]))
                    return true;
        return false;
    case C_KEYWORDS_NONE:
    case C_TITLE_KEYWORDS_NONE:
        return true;
    case C_DISTRICT:
    case C_STREET:
        for (size_t i = 0; i < a->nstrs; i++)
            if (s_in(b->strs, b->nstrs, a->strs[i]))
                return true;
        return false;
    case C_TARGET_ORG:
        for (size_t i = 0; i < a->nstrs; i++)
            for (size_t j = 0; j < b->nstrs; j++)
                if (strstr(a->strs[i], b->strs[j]) || strstr(b->strs[j], a->strs[i]))
                    return true;
        return false;
    case C_POLYGON:
        return true;  /* areas may overlap: cannot tell cheaply */
    case C_CHANNEL:
    case C_APPEAL:
    case C_URGENCY:
    case C_WEEKDAYS:
        return (a->bits & b->bits) != 0;
    case C_ANONYMOUS:
        return a->bits == b->bits;
    case C_HOURS: {
        uint64_t ma[23], mb[23];
        s_minutes(a, ma);
        s_minutes(b, mb);
        for (int w = 0; w < 23; w++)
            if (ma[w] & mb[w])
                return true;
        return false;
    }
    default:
        return s_cond_equal(a, b);
    }
}

/* The conditions of a rule that must all hold, with `all` nodes (and the
   mapping of `when` itself) opened up: {category: X, all: [{keywords: Y},
   {district: Z}]} is the list X, Y, Z. */
typedef struct {
    const s_cond_t **v;
    size_t n, cap;
} s_conj_t;

/* Appends c to conj, opening up ALL nodes. Returns 0, or -1 when memory
   runs out. */
static int s_conj_add(s_conj_t *conj, const s_cond_t *c)
{
    if (c->kind == C_ALL) {
        for (size_t i = 0; i < c->nkids; i++)
            if (s_conj_add(conj, c->kids[i]))
                return -1;
        return 0;
    }
    if (conj->n == conj->cap) {
        size_t cap = conj->cap ? 2 * conj->cap : 8;
        const s_cond_t **v = realloc(conj->v, cap * sizeof *v);
        if (!v)
            return -1;
        conj->v = v;
        conj->cap = cap;
    }
    conj->v[conj->n++] = c;
    return 0;
}

/* Every order for which all of b hold satisfies all of a (provably: each
   condition of a follows from one of b). An empty a holds for every
   order. */
static bool s_conj_implies(const s_conj_t *b, const s_conj_t *a)
{
    for (size_t i = 0; i < a->n; i++) {
        bool any = false;
        for (size_t j = 0; j < b->n && !any; j++)
            any = s_implies(b->v[j], a->v[i]);
        if (!any)
            return false;
    }
    return true;
}

/* Same kinds of top-level conditions, and every pair of the same kind
   overlaps: the values meet, so an order with the shared values matches
   both (the wording "overlaps" rather than "may overlap"). */
static bool s_rule_overlaps(const s_rule_t *a, const s_rule_t *b)
{
    if (!a->when || !b->when || a->when->nkids != b->when->nkids)
        return false;
    int count[C_KINDS] = {0};
    for (size_t i = 0; i < a->when->nkids; i++)
        count[a->when->kids[i]->kind]++;
    for (size_t i = 0; i < b->when->nkids; i++)
        if (--count[b->when->kids[i]->kind] < 0)
            return false;
    for (size_t i = 0; i < a->when->nkids; i++) {
        bool any = false;
        for (size_t j = 0; j < b->when->nkids && !any; j++)
            any = a->when->kids[i]->kind == b->when->kids[j]->kind
                  && s_intersects(a->when->kids[i], b->when->kids[j]);
        if (!any)
            return false;
    }
    return true;
}

/* p and q (exact paths when pexact, qexact; else prefixes) can name one
   order's category: one is a prefix of the other, as each requires. */
static bool s_paths_meet(const s_catpath_t *p, bool pexact, const s_catpath_t *q, bool qexact)
{
    if (pexact && qexact)
        return s_path_prefix(p, q, true);
    if (pexact)
        return s_path_prefix(q, p, false);
    if (qexact)
        return s_path_prefix(p, q, false);
    return s_path_prefix(p, q, false) || s_path_prefix(q, p, false);
}

/* x and y can never both hold: both are on one field of the order that
   has one value (its category path, district code, channel, appeal type,
   urgency, anonymous flag, time of receipt), and their values do not
   meet. Never for street (code or name: two fields), target_org (one text
   may contain both names), keywords (one text may hold both) or polygons
   (areas may overlap). */
static bool s_values_disjoint(const s_cond_t *x, const s_cond_t *y)
{
    bool xcat = x->kind == C_CATEGORY || x->kind == C_CATEGORY_EXACT;
    bool ycat = y->kind == C_CATEGORY || y->kind == C_CATEGORY_EXACT;
    if (xcat && ycat) {
        for (size_t i = 0; i < x->ncats; i++)
            for (size_t j = 0; j < y->ncats; j++)
                if (s_paths_meet(&x->cats[i], x->kind == C_CATEGORY_EXACT, &y->cats[j],
                                 y->kind == C_CATEGORY_EXACT))
                    return false;
        return true;
    }
    if (x->kind != y->kind)
        return false;
    switch (x->kind) {
    case C_DISTRICT:
        for (size_t i = 0; i < x->nstrs; i++)
            if (s_in(y->strs, y->nstrs, x->strs[i]))
                return false;
        return true;
    case C_CHANNEL:
    case C_APPEAL:
    case C_URGENCY:
    case C_WEEKDAYS:
        return (x->bits & y->bits) == 0;
    case C_ANONYMOUS:
        return x->bits != y->bits;
    case C_HOURS:
        return !s_intersects(x, y);
    default:
        return false;
    }
}

/* What the checker works out once per rule set. */
typedef struct {
    const ob_rules_t *self;
    s_conj_t *conj;        /* per rule (in try order): its conditions opened up */
    uint32_t *sub_start;   /* keyword id -> its range in sub_ids (npats + 1); NULL
                              until a negative keyword is first looked at */
    uint32_t *sub_ids;     /* for each keyword, the keywords inside it, itself first */
    bool sub_failed;       /* out of memory building them: nothing proved by them */
} s_lint_t;

/* For every keyword, the keywords that occur inside it, found by the
   matcher itself (so with its normalisation): where 工资 does not occur,
   农民工工资 does not either. Returns 0, or -1 when memory runs out. */
static int s_lint_subwords(s_lint_t *lint)
{
    if (lint->sub_start || lint->sub_failed)
        return lint->sub_start ? 0 : -1;
    const ob_match_t *m = lint->self->match;
    size_t npats = ob_match_count(m), words = (npats + 63) / 64;
    size_t n = 0, cap = npats + 64;
    uint64_t *seen = calloc(words ? words : 1, sizeof *seen);
    uint32_t *start = malloc((npats + 1) * sizeof *start);
    uint32_t *ids = malloc(cap * sizeof *ids);
    uint32_t found[64];
    int rc = -1;
    if (!seen || !start || !ids)
        goto out;
    for (size_t p = 0; p < npats; p++) {
        const char *text = ob_match_pattern(m, p);
        size_t nfound = 0;
        ob_match_scan(m, text, strlen(text), seen, found, 64, &nfound);
        start[p] = (uint32_t) n;
        size_t need = n + 1 + (nfound <= 64 ? nfound : npats);
        if (need > cap) {
            size_t more = need > 2 * cap ? need : 2 * cap;
            uint32_t *bigger = realloc(ids, more * sizeof *ids);
            if (!bigger)
                goto out;
            ids = bigger;
            cap = more;
        }
        ids[n++] = (uint32_t) p;
        if (nfound <= 64) {
            for (size_t k = 0; k < nfound; k++) {
                if (found[k] != p)
                    ids[n++] = found[k];
                seen[found[k] / 64] &= ~(1ULL << (found[k] % 64));
            }
            continue;
        }
        /* the list was cut short: read the bitset */
        for (size_t w = 0; w < words; w++)
            for (uint64_t bits = seen[w]; bits; bits &= bits - 1) {
                uint32_t id = (uint32_t) (w * 64 + (size_t) __builtin_ctzll(bits));
                if (id != p)
                    ids[n++] = id;
            }
        memset(seen, 0, words * sizeof *seen);
    }
    start[npats] = (uint32_t) n;
    lint->sub_start = start;
    lint->sub_ids = ids;
    start = NULL;
    ids = NULL;
    rc = 0;
out:
    lint->sub_failed = rc != 0;
    free(seen);
    free(start);
    free(ids);
    return rc;
}

/* Some condition of conj keeps keyword `id` out of every order it holds
   for: keywords_none (or not: {keywords: ...}) out of the title and
   content, and, when `title` (id is wanted in the title), also
   title_keywords_none (or not: {title_keywords: ...}) out of the title. A
   keyword kept out keeps out every keyword it occurs in. */
static bool s_forbids(s_lint_t *lint, const s_conj_t *conj, uint32_t id, bool title)
{
    if (s_lint_subwords(lint))
        return false;
    for (uint32_t s = lint->sub_start[id]; s < lint->sub_start[id + 1]; s++) {
        uint32_t sub = lint->sub_ids[s];
        for (size_t i = 0; i < conj->n; i++) {
            const s_cond_t *neg = conj->v[i];
            s_ckind_t kind = neg->kind;
            if (kind == C_NOT && neg->kids[0]->nkids == 1) {
                /* not: {keywords: [w]} is keywords_none: [w], and so on */
                neg = neg->kids[0]->kids[0];
                kind = neg->kind == C_KEYWORDS || (neg->kind == C_KEYWORDS_ALL && neg->nkw == 1)
                           ? C_KEYWORDS_NONE
                       : neg->kind == C_TITLE_KEYWORDS ? C_TITLE_KEYWORDS_NONE
                                                       : C_KINDS;
            }
            if (kind != C_KEYWORDS_NONE && (kind != C_TITLE_KEYWORDS_NONE || !title))
                continue;
            for (size_t e = 0; e < neg->nkw; e++)
                if (neg->kw[e].n == 1 && neg->kw[e].ids[0] == sub)
                    return true;
        }
    }
    return false;
}

/* The keyword condition x cannot hold where all of conj hold: every
   entry of x (keywords, title_keywords) has a word that conj keeps out,
   or some word of keywords_all is kept out. */
static bool s_excluded(s_lint_t *lint, const s_cond_t *x, const s_conj_t *conj)
{
    if (x->kind == C_KEYWORDS_ALL) {
        for (size_t e = 0; e < x->nkw; e++)
            if (s_forbids(lint, conj, x->kw[e].ids[0], false))
                return true;
        return false;
    }
    if (x->kind != C_KEYWORDS && x->kind != C_TITLE_KEYWORDS)
        return false;
    for (size_t e = 0; e < x->nkw; e++) {
        bool out = false;
        for (size_t k = 0; k < x->kw[e].n && !out; k++)
            out = s_forbids(lint, conj, x->kw[e].ids[k], x->kind == C_TITLE_KEYWORDS);
        if (!out)
            return false;
    }
    return true;
}

/* Some condition of a rules out b: conditions of each on one field with
   values that do not meet, a keyword a needs and b keeps out, or a
   `not:` of b that a implies. */
static bool s_rules_out(s_lint_t *lint, const s_conj_t *a, const s_conj_t *b)
{
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; j < b->n; j++)
            if (s_values_disjoint(a->v[i], b->v[j]))
                return true;
        if (s_excluded(lint, a->v[i], b))
            return true;
    }
    for (size_t j = 0; j < b->n; j++) {
        if (b->v[j]->kind != C_NOT)
            continue;
        s_conj_t negated = {0};
        bool out = s_conj_add(&negated, b->v[j]->kids[0]) == 0 && s_conj_implies(a, &negated);
        free(negated.v);
        if (out)
            return true;
    }
    return false;
}

#define S_LINT_ANY_DEPTH 3   /* nested `any:` opened up when proving rules disjoint */
#define S_LINT_ANY_MAX   32  /* alternatives of one `any:` tried */

static bool s_disjoint(s_lint_t *lint, const s_conj_t *a, const s_conj_t *b, int depth);

/* Some `any:` of a has no alternative that can hold together with the
   rest of a and with b. */
static bool s_any_rules_out(s_lint_t *lint, const s_conj_t *a, const s_conj_t *b, int depth)
{
    for (size_t i = 0; i < a->n; i++) {
        const s_cond_t *any = a->v[i];
        if (any->kind != C_ANY || any->nkids > S_LINT_ANY_MAX)
            continue;
        bool out = true;
        for (size_t k = 0; k < any->nkids && out; k++) {
            s_conj_t alt = {0};
            int rc = 0;
            for (size_t j = 0; j < a->n && !rc; j++)
                if (j != i)
                    rc = s_conj_add(&alt, a->v[j]);
            if (!rc)
                rc = s_conj_add(&alt, any->kids[k]);
            out = !rc && s_disjoint(lint, &alt, b, depth + 1);
            free(alt.v);
        }
        if (out)
            return true;
    }
    return false;
}

/* No order satisfies both a and b, provably (see s_rules_out); false
   when it cannot be shown, so that the rules may overlap. */
static bool s_disjoint(s_lint_t *lint, const s_conj_t *a, const s_conj_t *b, int depth)
{
    if (s_rules_out(lint, a, b) || s_rules_out(lint, b, a))
        return true;
    if (depth >= S_LINT_ANY_DEPTH)
        return false;
    return s_any_rules_out(lint, a, b, depth) || s_any_rules_out(lint, b, a, depth);
}

static bool s_same_decision(const s_rule_t *a, const s_rule_t *b)
{
    return a->decision == b->decision && strcmp(a->lead, b->lead) == 0
           && strcmp(a->site, b->site) == 0;
}

typedef struct {
    size_t line, col;
    char msg[512];
} s_warning_t;

static int s_warning_cmp(const void *x, const void *y)
{
    const s_warning_t *a = x, *b = y;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->col < b->col ? -1 : a->col > b->col;
}

/* Reports, as warnings: categories that no taxonomy checked (file level),
   then shadowed rules and rules of one priority with different decisions
   that one order can match both of, in file order. Two rules are left
   alone only when they provably never match the same order (s_disjoint);
   "overlaps" when they have the same kinds of conditions with values that
   meet, "may overlap" otherwise. */
static void s_lint(const ob_rules_t *self, const char *path, ob_rules_diag_fn *fn, void *arg)
{
    if (self->has_category && !self->taxonomy && !self->taxonomy_off)
        fn(arg, true, path, 0, 0,
           "categories are not checked against a taxonomy: the file names no 'taxonomy:' "
           "and there is no " S_TAXONOMY_BESIDE " beside it (write 'taxonomy: false' when "
           "its categories are not the taxonomy's)");
    s_lint_t lint = {.self = self};
    s_warning_t *warn = calloc(self->nrules ? self->nrules : 1, sizeof *warn);
    size_t nwarn = 0;
    lint.conj = calloc(self->nrules ? self->nrules : 1, sizeof *lint.conj);
    bool oom = !warn || !lint.conj;
    for (size_t r = 0; r < self->nrules && !oom; r++)
        oom = self->rules[r].when && s_conj_add(&lint.conj[r], self->rules[r].when);
    if (oom) {
        fn(arg, true, path, 0, 0, "out of memory: shadowed and overlapping rules not checked");
        goto out;
    }
    for (size_t j = 1; j < self->nrules; j++) {
        const s_rule_t *b = &self->rules[j];
        s_warning_t *w = &warn[nwarn];
        for (size_t i = 0; i < j && !w->msg[0]; i++) {
            const s_rule_t *a = &self->rules[i];
            if (s_conj_implies(&lint.conj[j], &lint.conj[i])) {
                if (!a->when)
                    snprintf(w->msg, sizeof w->msg,
                             "rule '%s' is unreachable: rule '%s' (line %zu, priority %ld) "
                             "matches every order and is tried first",
                             b->id, a->id, a->line, a->priority);
                else
                    snprintf(w->msg, sizeof w->msg,
                             "rule '%s' is shadowed: rule '%s' (line %zu, priority %ld) "
                             "matches every order it matches and is tried first",
                             b->id, a->id, a->line, a->priority);
            }
            else if (a->priority == b->priority && !s_same_decision(a, b)
                     && !s_disjoint(&lint, &lint.conj[i], &lint.conj[j], 0)) {
                if (s_rule_overlaps(a, b))
                    snprintf(w->msg, sizeof w->msg,
                             "rule '%s' overlaps rule '%s' (line %zu) at the same priority %ld "
                             "with a different decision: orders matching both go to '%s' "
                             "by file order",
                             b->id, a->id, a->line, a->priority, a->id);
                else
                    snprintf(w->msg, sizeof w->msg,
                             "rule '%s' may overlap rule '%s' (line %zu) at the same priority "
                             "%ld with a different decision: nothing in their conditions keeps "
                             "one order from matching both, and file order would send it to "
                             "'%s'; give one a higher priority, or make them exclusive "
                             "(keywords_none, not)",
                             b->id, a->id, a->line, a->priority, a->id);
            }
        }
        if (w->msg[0]) {
            w->line = b->line;
            w->col = b->col;
            nwarn++;
        }
    }
    qsort(warn, nwarn, sizeof *warn, s_warning_cmp);
    for (size_t i = 0; i < nwarn; i++)
        fn(arg, true, path, warn[i].line, warn[i].col, warn[i].msg);
out:
    for (size_t r = 0; lint.conj && r < self->nrules; r++)
        free(lint.conj[r].v);
    free(lint.conj);
    free(lint.sub_start);
    free(lint.sub_ids);
    free(warn);
}

int ob_rules_check(const char *path, ob_rules_diag_fn *fn, void *arg)
{
    assert(path);
    assert(fn);
    char err[1024] = "";
    s_ctx_t ctx = {.path = path, .err = err, .errlen = sizeof err, .diag = fn, .diag_arg = arg};
    ob_rules_t *self = s_load(&ctx);
    if (!self) {
        if (ctx.pending || ctx.nerrors == 0)
            s_report(&ctx);
        return ctx.nerrors;
    }
    s_lint(self, path, fn, arg);
    ob_rules_destroy(&self);
    return 0;
}

/* --- self-test ------------------------------------------------------------ */


/* Writes `text` to a fresh temp file; returns its path in `path`. */
static void s_test_write(char *path, size_t pathlen, const char *text, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, pathlen, "%s/ob_rules_test_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert(fd >= 0);
    if (len == (size_t) -1)
        len = strlen(text);
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

/* --- self-test of the full engine ----------------------------------------- */

/* Collects check diagnostics as "L:C: error|warning: message\n" lines. */
static void s_test_diag(void *arg, bool warning, const char *path, size_t line, size_t col,
                        const char *message)
{
    (void) path;
    char *buf = arg;
    size_t len = strlen(buf);
    snprintf(buf + len, 8192 - len, "%zu:%zu: %s: %s\n", line, col,
             warning ? "warning" : "error", message);
}

static void s_test_route(ob_rules_t *rules, ob_workorder_t *order, ob_route_t *route)
{
    /* routing and explaining agree (gating never changes a result) */
    static ob_rule_explain_t items[1024];
    ob_route_t again;
    assert(ob_rules_route(rules, order, route) == 0);
    size_t n = ob_rules_explain(rules, order, &again, items, 1024);
    assert(n == ob_rules_count(rules));
    assert(strcmp(route->rule_id, again.rule_id) == 0 && route->decision == again.decision);
    const char *first = NULL;
    for (size_t i = 0; i < n && !first; i++)
        if (items[i].matched)
            first = items[i].rule_id;
    assert(first ? route->decided && strcmp(first, route->rule_id) == 0 : !route->decided);
}

/* Why rule `id` did not match, from ob_rules_explain. */
static const char *s_test_why(ob_rules_t *rules, ob_workorder_t *order, const char *id)
{
    static ob_rule_explain_t items[64];
    size_t n = ob_rules_explain(rules, order, NULL, items, 64);
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].rule_id, id) == 0)
            return items[i].matched ? "" : items[i].why;
    assert(!"no such rule");
    return NULL;
}

/* title_keywords and title_keywords_none: the title alone counts; explain
   says why; check understands them (shadowing, overlap); validation. */
static void s_test_title(bool verbose)
{
    char err[512], path[256];
    ob_rules_t *rules = s_test_load(
        "version: t-1\n"
        "departments: [{id: hrss, name: 人社局}, {id: housing, name: 住建局},\n"
        "              {id: health, name: 卫健委}]\n"
        "rules:\n"
        "  - id: wages\n"
        "    priority: 300\n"
        "    when: {title_keywords: [拖欠工资, [欠薪, 农民工]], title_keywords_none: [物业]}\n"
        "    then: {lead: hrss}\n"
        "  - id: fees\n"
        "    priority: 300\n"
        "    when: {title_keywords: 物业费, keywords_none: 咨询}\n"
        "    then: {lead: housing}\n"
        "  - id: hospital\n"
        "    priority: 200\n"
        "    when: {keywords: 医院, title_keywords_none: [社保, 医保]}\n"
        "    then: {lead: health}\n"
        "  - id: any-title\n"
        "    when: {any: [{title_keywords: 社保}, {not: {title_keywords_none: 医保}}]}\n"
        "    then: {lead: hrss}\n",
        err, sizeof err);
    if (!rules)
        printf("\n    %s", err);
    assert(rules);
    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    ob_route_t r;

    /* In the title: decides; the same word in the content only: does not. */
    order.title = (char *) "公司拖欠工资三个月";
    order.content = (char *) "请帮忙";
    s_test_route(rules, &order, &r);
    assert(r.matched && strcmp(r.rule_id, "wages") == 0 && strcmp(r.dept, "hrss") == 0);
    order.title = (char *) "反映一个问题";
    order.content = (char *) "公司拖欠工资三个月";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    const char *why = s_test_why(rules, &order, "wages");
    if (verbose)
        printf("\n    wages: %s", why);
    assert(strcmp(why, "title_keywords [拖欠工资, 欠薪+农民工]: none occurs in the title") == 0);

    /* A group: every word in the title (not one in the title, one in the content). */
    order.title = (char *) "农民工欠薪";
    order.content = (char *) "";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "wages") == 0);
    order.title = (char *) "农民工的问题";
    order.content = (char *) "欠薪";
    s_test_route(rules, &order, &r);
    assert(!r.decided);

    /* title_keywords_none: a word in the title stops the rule; in the
       content it does not. */
    order.title = (char *) "物业公司拖欠工资";
    order.content = (char *) "";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    why = s_test_why(rules, &order, "wages");
    assert(strcmp(why, "title_keywords_none [物业]: '物业' occurs in the title") == 0);
    order.title = (char *) "拖欠工资";
    order.content = (char *) "我在物业公司上班";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "wages") == 0);

    /* Mixed with keywords_none (title or content). */
    order.title = (char *) "物业费太高";
    order.content = (char *) "想咨询";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    assert(strstr(s_test_why(rules, &order, "fees"), "keywords_none [咨询]: '咨询' occurs in "
                                                     "the title or content"));
    order.content = (char *) "";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "fees") == 0);

    /* keywords over both texts, title_keywords_none over the title. */
    order.title = (char *) "医院收费";
    order.content = (char *) "社保卡不能用";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "hospital") == 0);
    order.title = (char *) "医保报销";
    order.content = (char *) "在医院";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "any-title") == 0);  /* not: {title_keywords_none: 医保} */
    order.title = (char *) "社保";
    order.content = NULL;
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "any-title") == 0);
    order.title = NULL;
    order.content = (char *) "社保 医保 拖欠工资";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    ob_rules_destroy(&rules);

    /* Check: title_keywords implies keywords (shadowed), not the reverse;
       keywords_none implies title_keywords_none; overlap on a shared word. */
    char *diag = calloc(1, 8192);
    assert(diag);
    s_test_write(path, sizeof path,
                 "version: c-3\n"
                 "departments: [{id: a, name: A}, {id: b, name: B}]\n"
                 "rules:\n"
                 "  - {id: k, priority: 9, when: {keywords: [社保, 医保]}, then: {lead: a}}\n"
                 "  - {id: t, priority: 8, when: {title_keywords: 社保}, then: {lead: b}}\n"
                 "  - {id: t2, priority: 7, when: {title_keywords: 工资}, then: {lead: a}}\n"
                 "  - {id: k2, priority: 6, when: {keywords: 工资}, then: {lead: b}}\n"
                 "  - {id: n1, priority: 5, when: {title_keywords_none: [物业]}, then: {lead: a}}\n"
                 "  - {id: n2, priority: 4, when: {keywords_none: [物业, 咨询]}, then: {lead: b}}\n"
                 "  - {id: o1, priority: 3, when: {title_keywords: [停车, 车位]}, then: {lead: a}}\n"
                 "  - {id: o2, priority: 3, when: {title_keywords: [车位, 车库]}, then: {lead: b}}\n"
                 "  - {id: o3, priority: 3, when: {keywords: [车位]}, then: {lead: b}}\n",
                 (size_t) -1);
    assert(ob_rules_check(path, s_test_diag, diag) == 0);
    if (verbose)
        printf("\n%s", diag);
    fflush(stdout);
    assert(strstr(diag, "5:5: warning: rule 't' is shadowed: rule 'k' (line 4"));
    assert(!strstr(diag, "rule 'k2'"));
    assert(strstr(diag, "9:5: warning: rule 'n2' is shadowed: rule 'n1' (line 8"));
    assert(strstr(diag, "11:5: warning: rule 'o2' overlaps rule 'o1' (line 10)"));
    /* different kinds: 车位 in the title is 车位 in the text */
    assert(strstr(diag, "12:5: warning: rule 'o3' may overlap rule 'o1' (line 10)"));
    unlink(path);
    free(diag);

    /* Validation. */
    char text[1024];
    const char *head = "version: v1\ndepartments: [{id: a, name: A}]\n";
#define S_BAD(tail, where, what)                                                             \
    (snprintf(text, sizeof text, "%s%s", head, tail),                                          \
     s_test_bad(text, strlen(text), where, what, verbose))
    S_BAD("rules:\n  - {id: r, when: {title_keywords_none: [[a, b]]}, then: {lead: a}}\n",
          "4:42: ", "groups of words are for 'keywords' and 'title_keywords'");
    S_BAD("rules:\n  - {id: r, when: {title_keywords: []}, then: {lead: a}}\n", "4:36: ",
          "title_keywords must not be an empty list");
    S_BAD("rules:\n  - {id: r, when: {title_keywords: [[]]}, then: {lead: a}}\n", "4:37: ",
          "a keyword group must not be an empty list");
    S_BAD("rules:\n  - {id: r, when: {title_keywords: {a: b}}, then: {lead: a}}\n", "4:36: ",
          "title_keywords must be a string or a list of strings");
    S_BAD("rules:\n  - {id: r, when: {title_keywords_none: '   '}, then: {lead: a}}\n", "4:41: ",
          "is blank");
    S_BAD("rules:\n  - {id: r, when: {title_keywords: a, title_keywords: b}, then: {lead: a}}\n",
          "4:39: ", "duplicate key 'title_keywords' in when");
    S_BAD("rules:\n  - {id: r, when: {title_keyword: a}, then: {lead: a}}\n", "4:20: ",
          "unknown key 'title_keyword' in when");
#undef S_BAD
}

static void s_test_engine(bool verbose)
{
    char err[512], geo[256], tax[256], path[256];
    s_test_write(geo, sizeof geo,
                 "{\"type\": \"Feature\", \"properties\": {\"name\": \"西湖区\"},"
                 " \"geometry\": {\"type\": \"Polygon\", \"coordinates\":"
                 " [[[120.0,30.0],[120.2,30.0],[120.2,30.3],[120.0,30.3]]]}}", (size_t) -1);
    s_test_write(tax, sizeof tax,
                 "一级分类,二级分类,三级分类\n城乡建设,物业管理,物业服务\n"
                 "城乡建设,住房保障与房地产,房产管理\r\n环境保护,环境污染,噪声污染\n", (size_t) -1);
    char *text = malloc(8192);
    assert(text);
    snprintf(text, 8192,
             "version: e-1\n"
             "taxonomy: %s\n"
             "departments:\n"
             "  - {id: housing, name: 市住房和城乡建设局}\n"
             "  - {id: property, name: 市物业管理办公室}\n"
             "  - {id: env, name: 市生态环境局}\n"
             "  - {id: supervision, name: 纪检组}\n"
             "  - {id: xihu, name: 西湖区政府}\n"
             "sites: [{id: province, name: 省12345热线}]\n"
             "defaults: {assist_within: 2d}\n"
             "recusal:\n"
             "  instead: supervision\n"
             "  departments:\n"
             "    - {dept: housing, names: [住建局, Housing Bureau]}\n"
             "    - {dept: supervision, instead: housing}\n"
             "rules:\n"
             "  - id: police\n"
             "    priority: 1000\n"
             "    when: {keywords: [打架斗殴, [有人, 抢劫]]}\n"
             "    then: {reject: {reason: 警情, referral: '110'}, priority: 9}\n"
             "  - id: province\n"
             "    priority: 500\n"
             "    when: {keywords: 高速公路收费}\n"
             "    then: {transfer: {site: province}}\n"
             "  - id: property\n"
             "    priority: 100\n"
             "    when:\n"
             "      category: 城乡建设/物业管理\n"
             "      keywords: [物业费, 物业公司]\n"
             "      keywords_none: [咨询]\n"
             "    then: {lead: property, assist: [housing, env], sign_within: 12h}\n"
             "  - id: night-noise\n"
             "    priority: 100\n"
             "    when:\n"
             "      keywords_all: [噪音, 施工]\n"
             "      hours: ['22:00-06:00']\n"
             "      any: [{district: A3}, {polygon: {file: %s, name: 西湖区}}]\n"
             "    then: {lead: env, confidential: true}\n"
             "  - id: area\n"
             "    priority: 50\n"
             "    when: {polygon: %s, not: {channel: LETTER}}\n"
             "    then: {lead: xihu}\n"
             "  - id: weekend\n"
             "    priority: 50\n"
             "    when: {weekdays: [sat, sun], urgency: [URGENT, very_urgent],\n"
             "           appeal_type: COMPLAINT, anonymous: true}\n"
             "    then: {manual: 周末}\n"
             "  - id: street\n"
             "    priority: 40\n"
             "    when: {street: [S01, 文三路], target_org: [某某公司]}\n"
             "    then: {lead: env}\n"
             "  - id: exact\n"
             "    priority: 30\n"
             "    when: {category_exact: 城乡建设/物业管理}\n"
             "    then: {lead: housing}\n"
             "  - id: housing\n"
             "    when: {category: 城乡建设}\n"
             "    then: {lead: housing, assist: property}\n",
             tax, geo, geo);
    s_test_write(path, sizeof path, text, strlen(text));
    ob_rules_t *rules = ob_rules_load(path, err, sizeof err);
    if (!rules)
        printf("\n    %s", err);
    fflush(stdout);
    assert(rules);
    assert(ob_rules_count(rules) == 9);
    assert(strcmp(ob_rules_site_lookup(rules, "province"), "省12345热线") == 0);

    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    Orderbus__V1__Location loc = ORDERBUS__V1__LOCATION__INIT;
    char *cats[3] = {(char *) "城乡建设", (char *) "物业管理", (char *) "物业服务"};
    ob_route_t r;

    /* Keywords (Chinese), a group, reject with referral. */
    order.title = (char *) "有人在小区抢劫";
    order.content = (char *) "";
    s_test_route(rules, &order, &r);
    assert(r.decided && !r.matched && r.decision == OB_DECISION_REJECT);
    assert(strcmp(r.rule_id, "police") == 0 && strcmp(r.reason, "警情") == 0);
    assert(strcmp(r.referral, "110") == 0 && r.priority == 9 && r.dept[0] == '\0');
    assert(strcmp(r.version, "e-1") == 0);
    order.title = (char *) "小区抢劫";  /* the group needs both words */
    s_test_route(rules, &order, &r);
    assert(!r.decided && r.decision == OB_DECISION_MANUAL && r.rule_id[0] == '\0');
    assert(r.sign_within.hours == 24 && r.reply_within.days == 15);

    /* Transfer. */
    order.content = (char *) "高速公路收费不合理";
    s_test_route(rules, &order, &r);
    assert(r.decision == OB_DECISION_TRANSFER && strcmp(r.site, "province") == 0);
    assert(strcmp(r.site_name, "省12345热线") == 0);

    /* Category + keywords + negative keyword; assist; explain. */
    order.category = cats;
    order.n_category = 2;
    order.title = (char *) "物业公司乱收费";
    order.content = (char *) "";
    s_test_route(rules, &order, &r);
    assert(r.matched && strcmp(r.dept, "property") == 0 && r.sign_within.hours == 12);
    assert(r.n_assist == 2 && strcmp(r.assist[0], "housing") == 0);
    assert(r.assist_within.days == 2 && r.assist_within.hours == 0 && r.recused[0] == '\0');
    order.content = (char *) "想咨询一下";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "exact") == 0);
    const char *why = s_test_why(rules, &order, "property");
    if (verbose)
        printf("\n    property: %s", why);
    assert(strstr(why, "keywords_none [咨询]: '咨询' occurs"));
    order.n_category = 3;  /* not exact any more: the general rule */
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "housing") == 0 && r.n_assist == 1);
    why = s_test_why(rules, &order, "exact");
    assert(strstr(why, "城乡建设/物业管理/物业服务 is none of them"));

    /* Recusal: the lead named by target_org goes to `instead`; a named
       assist is dropped; ASCII names match without regard to case. */
    order.target_org = (char *) "A市住建局";
    s_test_route(rules, &order, &r);
    assert(r.matched && strcmp(r.dept, "supervision") == 0);
    assert(strcmp(r.recused, "housing") == 0 && r.n_assist == 1);
    assert(ob_rules_recused(rules, &order, "housing"));
    assert(!ob_rules_recused(rules, &order, "property"));
    order.target_org = (char *) "the  HOUSING bureau of A";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.dept, "supervision") == 0);
    order.target_org = (char *) "市物业管理办公室";  /* display name; an assist */
    s_test_route(rules, &order, &r);
    assert(strcmp(r.dept, "housing") == 0 && r.n_assist == 0);
    assert(strcmp(r.recused, "property") == 0);
    order.target_org = (char *) "纪检组和住建局";  /* lead and its instead: manual */
    s_test_route(rules, &order, &r);
    assert(r.decided && !r.matched && r.decision == OB_DECISION_MANUAL);
    assert(strcmp(r.recused, "housing") == 0 && strstr(r.reason, "recusal"));
    order.target_org = NULL;

    /* Hours (wrapping midnight, site zone +08:00) and any/polygon. */
    order.n_category = 0;
    order.title = (char *) "夜间施工噪音";
    order.content = (char *) "";
    order.received_at_ms = 1764007200000;  /* 2025-11-24 18:00 UTC = 02:00 +08, Tuesday */
    order.location = &loc;
    loc.district_code = (char *) "A3";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "night-noise") == 0 && r.confidential);
    loc.district_code = (char *) "A4";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    why = s_test_why(rules, &order, "night-noise");
    assert(strncmp(why, "any: none of its 2 alternatives holds", 37) == 0);
    loc.has_point = true;
    loc.lat = 30.1;
    loc.lon = 120.1;
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "night-noise") == 0);
    order.received_at_ms = 1764007200000 - 5 * 3600 * 1000;  /* 21:00 */
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "area") == 0 && strcmp(r.dept, "xihu") == 0);
    why = s_test_why(rules, &order, "night-noise");
    assert(strstr(why, "received at 21:00"));
    order.channel = ORDERBUS__V1__CHANNEL__CHANNEL_LETTER;  /* not: */
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    why = s_test_why(rules, &order, "area");
    assert(strstr(why, "not: {channel [LETTER]} holds"));
    order.channel = ORDERBUS__V1__CHANNEL__CHANNEL_PHONE;
    loc.lat = 30.5;
    s_test_route(rules, &order, &r);
    assert(!r.decided);

    /* Weekdays, urgency, appeal type, anonymous. */
    order.received_at_ms = 1764403200000;  /* Sat 2025-11-29 16:00 +08 */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    order.appeal_type = ORDERBUS__V1__APPEAL_TYPE__APPEAL_COMPLAINT;
    order.anonymous = true;
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "weekend") == 0 && r.decision == OB_DECISION_MANUAL);
    assert(strcmp(r.reason, "周末") == 0);
    order.anonymous = false;
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    assert(strstr(s_test_why(rules, &order, "weekend"), "the order is not anonymous"));
    order.anonymous = true;
    order.received_at_ms += 2 * 86400 * 1000LL;  /* Monday */
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    assert(strstr(s_test_why(rules, &order, "weekend"), "received on a mon"));

    /* Street (code or name) and target_org (contains). */
    loc.street = (char *) "文三路";
    order.target_org = (char *) "杭州某某公司";
    s_test_route(rules, &order, &r);
    assert(strcmp(r.rule_id, "street") == 0);
    loc.street = (char *) "文二路";
    s_test_route(rules, &order, &r);
    assert(!r.decided);
    ob_rules_destroy(&rules);

    /* Check: errors in several rules, each with its position; warnings. */
    char *diag = calloc(1, 8192);
    assert(diag);
    snprintf(text, 8192,
             "version: c-1\n"
             "taxonomy: %s\n"
             "departments: [{id: a, name: A}, {id: b, name: B}]\n"
             "rules:\n"
             "  - id: r1\n"
             "    when: {category: 城乡建设/无此类}\n"
             "    then: {lead: a}\n"
             "  - id: r2\n"
             "    when: {channel: FAX}\n"
             "    then: {lead: a}\n"
             "  - id: r3\n"
             "    then: {lead: a, manual: x}\n",
             tax);
    s_test_write(path, sizeof path, text, strlen(text));
    assert(ob_rules_check(path, s_test_diag, diag) == 3);
    if (verbose)
        printf("\n%s", diag);
    fflush(stdout);
    assert(strstr(diag, "6:22: error: category '城乡建设/无此类' is not in the taxonomy"));
    assert(strstr(diag, "9:21: error: unknown channel 'FAX'"));
    assert(strstr(diag, "12:21: error: then has both 'lead' and 'manual'"));
    unlink(path);
    diag[0] = '\0';
    s_test_write(path, sizeof path,
                 "version: c-2\n"
                 "departments: [{id: a, name: A}, {id: b, name: B}]\n"
                 "rules:\n"
                 "  - {id: general, when: {category: 城乡建设}, then: {lead: a}}\n"
                 "  - {id: special, when: {category: 城乡建设/物业管理, district: A3},\n"
                 "     then: {lead: b}}\n"
                 "  - {id: kw1, priority: 5, when: {keywords: [漏水, 渗水]}, then: {lead: a}}\n"
                 "  - {id: kw2, priority: 5, when: {keywords: [漏水]}, then: {lead: a}}\n"
                 "  - {id: kw3, priority: 5, when: {keywords: [渗水, 滴水]}, then: {lead: b}}\n"
                 "  - {id: kw4, priority: 5, when: {keywords: [噪音]}, then: {lead: b}}\n"
                 "  - {id: all, priority: -5, then: {lead: a}}\n"
                 "  - {id: late, priority: -6, when: {district: A1}, then: {lead: b}}\n",
                 (size_t) -1);
    assert(ob_rules_check(path, s_test_diag, diag) == 0);
    if (verbose)
        printf("%s", diag);
    fflush(stdout);
    assert(strstr(diag, "5:5: warning: rule 'special' is shadowed: rule 'general' (line 4"));
    assert(strstr(diag, "8:5: warning: rule 'kw2' is shadowed: rule 'kw1'"));
    assert(strstr(diag, "9:5: warning: rule 'kw3' overlaps rule 'kw1' (line 7)"));
    /* kinds or values that do not exclude each other: one order with 漏水 and 噪音 */
    assert(strstr(diag, "10:5: warning: rule 'kw4' may overlap rule 'kw1' (line 7)"));
    assert(strstr(diag, "12:5: warning: rule 'late' is unreachable: rule 'all'"));
    unlink(path);
    diag[0] = '\0';
    assert(ob_rules_check("/nonexistent/r.yaml", s_test_diag, diag) == 1);
    assert(strncmp(diag, "0:0: error: cannot open rule file", 33) == 0);
    free(diag);

    /* Bad new syntax, each with its position. */
    const char *head = "version: v1\ndepartments:\n  - {id: a, name: A}\n  - {id: b, name: B}\n";
#define S_BAD(tail, where, what)                                                             \
    (snprintf(text, 8192, "%s%s", head, tail), s_test_bad(text, strlen(text), where, what, verbose))
    S_BAD("rules:\n  - {id: r, then: {}}\n", "6:19: ", "then needs a decision");
    S_BAD("rules:\n  - {id: r, then: {reject: {reason: x}, assist: a}}\n", "6:41: ",
          "'assist' goes only with 'lead'");
    S_BAD("rules:\n  - {id: r, then: {reject: {referral: '110'}}}\n", "6:28: ",
          "missing required key 'reason' in reject");
    S_BAD("rules:\n  - {id: r, then: {transfer: {site: x}}}\n", "6:37: ",
          "transfer site 'x' is not declared under sites");
    S_BAD("rules:\n  - {id: r, then: {lead: a, assist: [b, a]}}\n", "6:41: ",
          "assist department 'a' is the lead");
    S_BAD("rules:\n  - {id: r, then: {lead: a, priority: 10}}\n", "6:39: ",
          "then.priority must be between 0 and 9");
    S_BAD("rules:\n  - {id: r, when: {keywords: ['  ']}, then: {lead: a}}\n", "6:31: ",
          "is blank");
    S_BAD("rules:\n  - {id: r, when: {keywords_none: [[a, b]]}, then: {lead: a}}\n", "6:36: ",
          "groups of words are for 'keywords'");
    S_BAD("rules:\n  - {id: r, when: {weekdays: [mon, funday]}, then: {lead: a}}\n", "6:36: ",
          "bad weekday 'funday'");
    S_BAD("rules:\n  - {id: r, when: {hours: '08:00-08:00'}, then: {lead: a}}\n", "6:27: ",
          "empty range");
    S_BAD("rules:\n  - {id: r, when: {anonymous: maybe}, then: {lead: a}}\n", "6:31: ",
          "anonymous must be true or false");
    S_BAD("rules:\n  - {id: r, when: {any: {district: A}}, then: {lead: a}}\n", "6:25: ",
          "any must be a list of condition mappings");
    S_BAD("rules:\n  - {id: r, when: {not: {distrct: A}}, then: {lead: a}}\n", "6:26: ",
          "unknown key 'distrct' in when");
    S_BAD("rules:\n  - {id: r, when: {polygon: /nonexistent.geojson}, then: {lead: a}}\n",
          "6:29: ", "polygon '/nonexistent.geojson': cannot open");
    S_BAD("rules:\n  - {id: r, when: {appeal_type: UNSPECIFIED}, then: {lead: a}}\n", "6:33: ",
          "unknown appeal_type");
    S_BAD("recusal: {instead: a, departments: [{dept: a}]}\n", "5:44: ",
          "cannot go instead to 'a' itself");
    S_BAD("recusal: {departments: [{dept: c}]}\n", "5:32: ", "recusal dept 'c' is not declared");
    S_BAD("taxonomy: /nonexistent.csv\n", "5:11: ", "cannot open taxonomy");
    S_BAD("sites: [{id: s, name: S}, {id: s, name: T}]\n", "5:32: ", "duplicate site id 's'");
#undef S_BAD

    /* Many rules and keywords: gating keeps results equal to a full scan. */
    size_t cap = 1 << 20;
    char *big = malloc(cap);
    assert(big);
    size_t len = (size_t) snprintf(big, cap, "version: big\ndepartments:\n");
    for (int d = 0; d < 20; d++)
        len += (size_t) snprintf(big + len, cap - len, "  - {id: d%d, name: 部门%d}\n", d, d);
    len += (size_t) snprintf(big + len, cap - len, "rules:\n");
    for (int i = 0; i < 1000; i++) {
        len += (size_t) snprintf(big + len, cap - len, "  - id: r%d\n    priority: %d\n", i,
                                 i % 7);
        if (i % 6 == 3)  /* title only: gated by its keywords too */
            len += (size_t) snprintf(big + len, cap - len,
                                     "    when: {title_keywords: [词%d, 语%d], "
                                     "title_keywords_none: 语%d}\n", i, i % 50, i % 7);
        else if (i % 3 == 0)
            len += (size_t) snprintf(big + len, cap - len,
                                     "    when: {keywords: [词%d, 语%d]}\n", i, i % 50);
        else if (i % 3 == 1)
            len += (size_t) snprintf(big + len, cap - len,
                                     "    when: {category: 类%d, keywords_none: [词%d]}\n",
                                     i % 40, i);
        else
            len += (size_t) snprintf(big + len, cap - len, "    when: {district: D%d}\n", i % 30);
        len += (size_t) snprintf(big + len, cap - len, "    then: {lead: d%d}\n", i % 20);
    }
    s_test_write(path, sizeof path, big, len);
    rules = ob_rules_load(path, err, sizeof err);
    unlink(path);
    if (!rules)
        printf("\n    %s", err);
    assert(rules && ob_rules_count(rules) == 1000);
    ob_workorder_t o2 = ORDERBUS__V1__WORK_ORDER__INIT;
    Orderbus__V1__Location l2 = ORDERBUS__V1__LOCATION__INIT;
    char title[128], content[128], cat[32], dist[16];
    char *cp = cat;
    o2.title = title;
    o2.content = content;
    o2.category = &cp;
    o2.location = &l2;
    l2.district_code = dist;
    unsigned seed = 7;
    for (int k = 0; k < 300; k++) {
        seed = seed * 1103515245 + 12345;
        snprintf(title, sizeof title, "关于词%u和语%u的反映", (seed >> 8) % 1200, (seed >> 4) % 60);
        snprintf(content, sizeof content, "还有词%u和语%u", (seed >> 10) % 1200, (seed >> 6) % 60);
        snprintf(cat, sizeof cat, "类%u", (seed >> 12) % 45);
        snprintf(dist, sizeof dist, "D%u", (seed >> 16) % 35);
        o2.n_category = (seed >> 20) % 2;
        s_test_route(rules, &o2, &r);
    }
    ob_rules_destroy(&rules);
    free(big);
    free(text);
    unlink(geo);
    unlink(tax);
}

/* Writes `text` to dir/name. */
static void s_test_put(const char *dir, const char *name, const char *text, char *path,
                       size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert(f);
    assert(fwrite(text, 1, strlen(text), f) == strlen(text));
    assert(fclose(f) == 0);
}

/* Check: rules of one priority with different decisions are left alone
   only when no order can match both (values on one field that do not
   meet, a keyword kept out, not:, any:), also across kinds and inside
   all:. The taxonomy: taxonomy.csv beside a file that names none, a
   warning when there is none, `taxonomy: false`. */
static void s_test_check(bool verbose)
{
    char dir[256], path[512], tax[512], err[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ob_rules_check_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert(mkdtemp(dir));
    char *diag = calloc(1, 8192);
    assert(diag);

    s_test_put(dir, "o.yaml",
               "version: o-1\n"
               "taxonomy: false\n"
               "departments: [{id: a, name: A}, {id: b, name: B}]\n"
               "rules:\n"
               "  - {id: cat, priority: 9, when: {category: 城乡建设/住房保障与房地产}, then: {lead: a}}\n"
               "  - {id: kw, priority: 9, when: {keywords: 漏水}, then: {lead: b}}\n"
               "  - {id: env, priority: 8, when: {category: 环境保护}, then: {lead: a}}\n"
               "  - {id: deep, priority: 8, when: {all: [{category: 城乡建设}]}, then: {lead: b}}\n"
               "  - {id: deep2, priority: 8, when: {all: [{keywords: 噪音}]}, then: {lead: b}}\n"
               "  - {id: wage, priority: 7, when: {keywords: [农民工工资, 欠薪]}, then: {lead: a}}\n"
               "  - {id: fee, priority: 7, when: {keywords: 物业, keywords_none: [工资, 欠薪]},\n"
               "     then: {lead: b}}\n"
               "  - {id: letter, priority: 6, when: {channel: LETTER}, then: {lead: a}}\n"
               "  - {id: other, priority: 6, when: {not: {channel: [LETTER, VISIT]}}, then: {lead: b}}\n"
               "  - {id: a12, priority: 5, when: {any: [{district: A1}, {district: A2}]},\n"
               "     then: {lead: a}}\n"
               "  - {id: a3, priority: 5, when: {district: A3}, then: {lead: b}}\n"
               "  - {id: s1, priority: 4, when: {street: X}, then: {lead: a}}\n"
               "  - {id: s2, priority: 4, when: {street: Y}, then: {lead: b}}\n"
               "  - {id: day, priority: 3, when: {hours: \"08:00-12:00\"}, then: {lead: a}}\n"
               "  - {id: night, priority: 3, when: {hours: \"22:00-08:00\"}, then: {lead: b}}\n"
               "  - {id: t1, priority: 2, when: {title_keywords: 社保}, then: {lead: a}}\n"
               "  - {id: t2, priority: 2, when: {keywords: 物业, title_keywords_none: 社保},\n"
               "     then: {lead: b}}\n"
               "  - {id: k1, priority: 1, when: {keywords: 社保}, then: {lead: a}}\n"
               "  - {id: k2, priority: 1, when: {keywords: 医保, title_keywords_none: 社保},\n"
               "     then: {lead: b}}\n",
               path, sizeof path);
    assert(ob_rules_check(path, s_test_diag, diag) == 0);
    if (verbose)
        printf("\n%s", diag);
    fflush(stdout);
    assert(strstr(diag, "6:5: warning: rule 'kw' may overlap rule 'cat' (line 5) at the same "
                        "priority 9"));
    assert(strstr(diag, "9:5: warning: rule 'deep2' may overlap rule 'env' (line 7)"));
    assert(strstr(diag, "19:5: warning: rule 's2' may overlap rule 's1'"));  /* code and name */
    assert(strstr(diag, "26:5: warning: rule 'k2' may overlap rule 'k1'"));  /* 社保 in the content */
    const char *quiet[] = {"'deep'", "'fee'", "'other'", "'a3'", "'night'", "'t2'",
                           "not checked against a taxonomy"};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
        assert(!strstr(diag, quiet[i]));
    unlink(path);

    /* No taxonomy named, none beside: a file-level warning, when the file
       has categories at all. */
    const char *body = "departments: [{id: a, name: A}]\n"
                       "rules:\n"
                       "  - {id: r, when: {category: 城乡建设/住房保障与房地产}, then: {lead: a}}\n";
    char text[1024];
    snprintf(text, sizeof text, "version: x-1\n%s", body);
    s_test_put(dir, "x.yaml", text, path, sizeof path);
    diag[0] = '\0';
    assert(ob_rules_check(path, s_test_diag, diag) == 0);
    assert(strstr(diag, "0:0: warning: categories are not checked against a taxonomy") == diag);
    s_test_put(dir, "y.yaml", "version: y-1\ndepartments: [{id: a, name: A}]\n"
                              "rules: [{id: r, when: {keywords: x}, then: {lead: a}}]\n",
               path, sizeof path);
    diag[0] = '\0';
    assert(ob_rules_check(path, s_test_diag, diag) == 0 && diag[0] == '\0');
    unlink(path);

    /* taxonomy.csv beside it: read, a category not in it is an error */
    s_test_put(dir, "taxonomy.csv", "一级,二级\n城乡建设,住房保障与房地产\n", tax, sizeof tax);
    snprintf(path, sizeof path, "%s/x.yaml", dir);
    diag[0] = '\0';
    assert(ob_rules_check(path, s_test_diag, diag) == 0 && diag[0] == '\0');
    snprintf(text, sizeof text, "version: x-2\n%s"
                                "  - {id: r2, when: {category: 城乡建设/物业管理}, then: {lead: a}}\n",
             body);
    s_test_put(dir, "x.yaml", text, path, sizeof path);
    assert(!ob_rules_load(path, err, sizeof err));
    if (verbose)
        printf("\n    %s", err);
    fflush(stdout);
    assert(strstr(err, "x.yaml:5:31: category '城乡建设/物业管理' is not in the taxonomy "
                       "'taxonomy.csv'"));
    /* ... unless the file says its categories are free */
    snprintf(text, sizeof text, "version: x-3\ntaxonomy: false\n%s"
                                "  - {id: r2, when: {category: 城乡建设/物业管理}, then: {lead: a}}\n",
             body);
    s_test_put(dir, "x.yaml", text, path, sizeof path);
    ob_rules_t *rules = ob_rules_load(path, err, sizeof err);
    assert(rules);
    ob_rules_destroy(&rules);
    diag[0] = '\0';
    assert(ob_rules_check(path, s_test_diag, diag) == 0 && diag[0] == '\0');
    /* a taxonomy.csv beside it that holds nothing: an error of the whole file */
    s_test_put(dir, "taxonomy.csv", "header only\n", tax, sizeof tax);
    snprintf(text, sizeof text, "version: x-4\n%s", body);
    s_test_put(dir, "x.yaml", text, path, sizeof path);
    assert(!ob_rules_load(path, err, sizeof err));
    size_t plen = strlen(path);
    assert(strncmp(err, path, plen) == 0
           && strcmp(err + plen, ": taxonomy 'taxonomy.csv' (beside the rule file) holds no "
                                 "category") == 0);
    diag[0] = '\0';
    assert(ob_rules_check(path, s_test_diag, diag) == 1);
    assert(strstr(diag, "0:0: error: taxonomy 'taxonomy.csv' (beside the rule file)") == diag);
    s_test_put(dir, "x.yaml", "version: x-5\ntaxonomy: true\ndepartments: [{id: a, name: A}]\n",
               path, sizeof path);
    assert(!ob_rules_load(path, err, sizeof err));
    assert(strstr(err, "x.yaml:2:11: taxonomy must name a CSV file, or be false"));
    unlink(path);
    unlink(tax);
    assert(rmdir(dir) == 0);
    free(diag);
}

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
    ob_limit_t sign, reply;
    ob_rules_default_deadlines(rules, &sign, &reply);
    assert(sign.days == 0 && sign.hours == 24 && reply.days == 15 && reply.hours == 0);

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
    assert(route.sign_within.hours == 12);                      /* rule's own */
    assert(route.reply_within.days == 15 && route.reply_within.hours == 0);  /* defaults */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.sign_within.hours == 2);                       /* falls back to urgent */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;

    /* [城乡建设] alone does not match "城乡建设/物业管理": the general rule. */
    order.n_category = 1;
    ob_rules_route(rules, &order, &route);
    assert(route.matched && strcmp(route.rule_id, "housing-urban") == 0);
    assert(strcmp(route.dept, "housing") == 0);
    assert(route.sign_within.hours == 24 && route.reply_within.days == 10 && route.reply_within.hours == 0);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.reply_within.days == 5);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.reply_within.days == 0 && route.reply_within.hours == 24);
    order.urgency = (Orderbus__V1__Urgency) 77;  /* unknown: normal */
    ob_rules_route(rules, &order, &route);
    assert(route.reply_within.days == 10);
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
    assert(route.reply_within.days == 0 && route.reply_within.hours == 48 && route.sign_within.hours == 24);
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
    assert(route.sign_within.days == 2 && route.reply_within.days == 15);   /* 2d: two working days */
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_URGENT;
    ob_rules_route(rules, &order, &route);
    assert(route.sign_within.hours == 4);
    order.urgency = ORDERBUS__V1__URGENCY__URGENCY_NORMAL;
    cats[0] = (char *) "环境保护";
    ob_rules_route(rules, &order, &route);
    assert(route.matched && strcmp(route.dept, "env") == 0 && route.sign_within.days == 2);
    ob_rules_destroy(&rules);

    /* No rules at all: everything is manual. */
    rules = s_test_load("version: '1'\ntimezone: '-05:30'\ndepartments: [{id: a, name: A}]\n",
                        err, sizeof err);
    assert(rules);
    assert(ob_rules_utc_offset_min(rules) == -330);
    ob_rules_route(rules, &order, &route);
    assert(!route.matched && route.sign_within.hours == 24 && route.reply_within.days == 15);
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
    S_TEST_BAD(S_WITH_HEAD("rules:\n  - id: r1\n    when:\n      complainant: x\n"
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
            assert(route.sign_within.days == 1 && route.reply_within.days >= 10
                   && route.reply_within.days <= 15);   /* sign: one working day */
        }
        cats[0] = (char *) "政法监察";
        ob_rules_route(rules, &order, &route);
        assert(!route.matched);
        ob_rules_destroy(&rules);
    }
    s_test_engine(verbose);
    s_test_title(verbose);
    s_test_check(verbose);
    if (verbose)
        printf("\n    ");
}
