/*  ob_rules_load.c — reads a rule file into a compiled rule set.

    Loading happens in two passes. The first reads libyaml's event stream
    into a small tree of scalars, sequences and mappings, each node keeping
    its 1-based line and column (ob_yamltree); it refuses aliases (they
    could make the tree cyclic or exponentially large), more than one
    document, NUL bytes and anything past fixed caps on size, depth and
    node count. The second pass validates the tree against the format of
    router-rules/README.md and builds the rule set; every error names
    file:line:column. Check mode (ob_rules_check) goes on after an error
    in one rule to report the others.

    Keywords of every rule go into one ob_match_t; after sorting, each rule
    is gated where possible (see ob_rules_route.c).                       */
#include "ob_rules_int.h"
#include "ob_fsm.h"
#include "ob_text.h"
#include "ob_yamltree.h"
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keys of `when`, by kind. */
const char *const ob_rules_cond_keys[C_KINDS] = {
    "all", "any", "not", "category", "category_exact", "keywords", "keywords_all",
    "keywords_none", "title_keywords", "title_keywords_none", "district", "street",
    "polygon", "channel", "appeal_type", "urgency", "anonymous", "target_org", "hours",
    "weekdays",
};

/* --- YAML tree (ob_yamltree) -------------------------------------------- */

static const ob_yamltree_limits_t s_limits = {
    .max_nodes = S_MAX_NODES, .max_depth = S_MAX_DEPTH, .what = "rule file"};

/* --- validation helpers --------------------------------------------------- */

/* Keys reserved for a later release: refused with a clear message. */
static const char *const s_reserved[] = {
    /* top level */ "calendar", "calendars", "include",
    /* when */ "keywords_any", "area", "complainant", "time", "weekday",
    /* then */ "recuse", "contact", "supervise", "escalate",
    NULL
};

/* A duration "Nh" (working hours) or "Nd" (working days), N >= 1. */
static int s_duration(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what, s_dur_t *out)
{
    if (node->kind != OB_YAML_SCALAR)
        return ob_yamlctx_fail_at(ctx, node, "%s must be a duration such as 24h or 15d", what);
    const char *t = node->text;
    size_t digits = strspn(t, "0123456789");
    char unit = t[digits];
    if (digits == 0 || digits > 6 || t[0] == '0' || (unit != 'h' && unit != 'd')
        || t[digits + 1] != '\0')
        return ob_yamlctx_fail_at(ctx, node,
                                  "bad duration '%.*s' for %s: expected Nh (working hours) "
                                  "or Nd (working days), N >= 1",
                                  ob_yamlctx_show(t), t, what);
    long n = strtol(t, NULL, 10);
    long max = unit == 'h' ? S_MAX_HOURS : S_MAX_DAYS;
    if (n > max)
        return ob_yamlctx_fail_at(ctx, node, "duration '%s' for %s is too long (at most %ld%c)", t,
                                  what, max, unit);
    out->days = unit == 'd' ? (uint32_t) n : 0;
    out->hours = unit == 'h' ? (uint32_t) n : 0;
    return 0;
}

/* A deadline: one duration for every urgency, or a mapping
   {normal, urgent, very_urgent} where normal is required, urgent defaults
   to normal and very_urgent to urgent. */
static int s_deadline(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                      s_deadline_t *out)
{
    out->set = true;
    if (node->kind != OB_YAML_MAP) {
        if (s_duration(ctx, node, what, &out->by[S_NORMAL]))
            return -1;
        out->by[S_URGENT] = out->by[S_VERY_URGENT] = out->by[S_NORMAL];
        return 0;
    }
    ob_yamlfield_t f[] = {
        {"normal", NULL, NULL}, {"urgent", NULL, NULL}, {"very_urgent", NULL, NULL}};
    if (ob_yamlctx_fields(ctx, node, what, f, 3) || ob_yamlctx_require(ctx, node, &f[0], what))
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

/* "dir/of/rulefile/" + rel, or rel when absolute. */
static char *s_relative(ob_yamlctx_t *ctx, const char *rel)
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

static s_cond_t *s_cond_new(ob_yamlctx_t *ctx, s_ckind_t kind, const ob_yamlnode_t *at)
{
    s_cond_t *c = calloc(1, sizeof *c);
    if (!c) {
        ob_yamlctx_fail_at(ctx, at, "out of memory");
        return NULL;
    }
    c->kind = kind;
    c->line = at->line;
    c->col = at->col;
    return c;
}

static int s_add_kid(ob_yamlctx_t *ctx, s_cond_t *parent, s_cond_t *kid, const ob_yamlnode_t *at)
{
    if (s_grow((void **) &parent->kids, parent->nkids, sizeof *parent->kids)) {
        s_cond_free(kid);
        return ob_yamlctx_fail_at(ctx, at, "out of memory");
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

static int s_add_category(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_arg_t *a = arg;
    s_cond_t *c = a->cond;
    const char *text;
    const char *what = ob_rules_cond_keys[c->kind];
    if (ob_yamlctx_string(ctx, item, what, S_MAX_LEVELS * (S_MAX_TEXT + 1), &text))
        return -1;
    if (s_grow((void **) &c->cats, c->ncats, sizeof *c->cats))
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    s_catpath_t *cat = &c->cats[c->ncats++];
    memset(cat, 0, sizeof *cat);
    cat->levels = calloc(S_MAX_LEVELS, sizeof *cat->levels);
    if (!cat->levels)
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    const char *p = text;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t) (slash - p) : strlen(p);
        if (n == 0)
            return ob_yamlctx_fail_at(ctx, item, "%s '%.*s' has an empty level", what,
                                      ob_yamlctx_show(text), text);
        if (n > S_MAX_TEXT)
            return ob_yamlctx_fail_at(ctx, item, "%s level too long (at most %d bytes)", what,
                                      S_MAX_TEXT);
        if (cat->nlevels == S_MAX_LEVELS)
            return ob_yamlctx_fail_at(ctx, item, "%s has more than %d levels", what, S_MAX_LEVELS);
        char *level = malloc(n + 1);
        if (!level)
            return ob_yamlctx_fail_at(ctx, item, "out of memory");
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
        return ob_yamlctx_fail_at(ctx, item, "category '%.*s' is not in the taxonomy '%s'",
                                  ob_yamlctx_show(text), text, self->taxonomy_file);
    return 0;
}

/* District and street codes (exact), target_org names (normalised). */
static int s_add_str(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_cond_t *c = ((s_arg_t *) arg)->cond;
    const char *text;
    if (ob_yamlctx_string(ctx, item, ob_rules_cond_keys[c->kind], S_MAX_TEXT, &text))
        return -1;
    if (s_grow((void **) &c->strs, c->nstrs, sizeof *c->strs))
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    char *copy = c->kind == C_TARGET_ORG ? ob_text_fold_dup(text) : strdup(text);
    if (!copy)
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    c->strs[c->nstrs++] = copy;
    if (!*copy)
        return ob_yamlctx_fail_at(ctx, item, "%s must not be blank", ob_rules_cond_keys[c->kind]);
    return 0;
}

/* One keyword, added to the matcher: its id in *id. */
static int s_keyword(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *item,
                     const char *what, uint32_t *id)
{
    const char *text;
    if (ob_yamlctx_string(ctx, item, what, 4 * OB_MATCH_PATTERN_MAX, &text))
        return -1;
    int n = ob_match_add(self->match, text, item->len);
    if (n < 0) {
        if (ob_match_count(self->match) >= OB_MATCH_PATTERNS_MAX)
            return ob_yamlctx_fail_at(ctx, item, "more than %d distinct keywords in the rule file",
                                      OB_MATCH_PATTERNS_MAX);
        return ob_yamlctx_fail_at(ctx, item,
                                  "%s '%.*s' is blank, not UTF-8 or longer than %d bytes", what,
                                  ob_yamlctx_show(text), text, OB_MATCH_PATTERN_MAX);
    }
    *id = (uint32_t) n;
    return 0;
}

/* A keyword entry: a string, or (for `keywords` and `title_keywords`) a
   list of words that must all occur. */
static int s_add_keyword(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_arg_t *a = arg;
    s_cond_t *c = a->cond;
    const char *what = ob_rules_cond_keys[c->kind];
    if (s_grow((void **) &c->kw, c->nkw, sizeof *c->kw))
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    s_kwent_t *ent = &c->kw[c->nkw++];
    memset(ent, 0, sizeof *ent);
    if (item->kind == OB_YAML_SEQ && (c->kind == C_KEYWORDS || c->kind == C_TITLE_KEYWORDS)) {
        if (item->nkids == 0)
            return ob_yamlctx_fail_at(ctx, item, "a keyword group must not be an empty list");
        if (item->nkids > S_MAX_GROUP)
            return ob_yamlctx_fail_at(ctx, item, "a keyword group has more than %d words",
                                      S_MAX_GROUP);
        ent->ids = calloc(item->nkids, sizeof *ent->ids);
        if (!ent->ids)
            return ob_yamlctx_fail_at(ctx, item, "out of memory");
        for (size_t i = 0; i < item->nkids; i++) {
            if (item->kids[i]->kind != OB_YAML_SCALAR)
                return ob_yamlctx_fail_at(ctx, item->kids[i],
                                          "a word in a keyword group must be a string");
            if (s_keyword(ctx, a->self, item->kids[i], "keyword", &ent->ids[ent->n]))
                return -1;
            ent->n++;
        }
        return 0;
    }
    if (item->kind == OB_YAML_SEQ)
        return ob_yamlctx_fail_at(ctx, item,
                                  "%s entries must be strings (groups of words are for "
                                  "'keywords' and 'title_keywords')",
                                  what);
    ent->ids = calloc(1, sizeof *ent->ids);
    if (!ent->ids)
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    if (s_keyword(ctx, a->self, item, "keyword", &ent->ids[0]))
        return -1;
    ent->n = 1;
    return 0;
}

/* Enum names for channel, appeal_type and urgency. */
static int s_add_enum(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_cond_t *c = ((s_arg_t *) arg)->cond;
    const char *text;
    if (ob_yamlctx_string(ctx, item, ob_rules_cond_keys[c->kind], S_MAX_TEXT, &text))
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
        return ob_yamlctx_fail_at(ctx, item, "unknown %s '%.*s': expected one of %s",
                                  ob_rules_cond_keys[c->kind], ob_yamlctx_show(text), text, names);
    c->bits |= 1u << v;
    return 0;
}

const char *const ob_rules_day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int s_day(const char *text, size_t len)
{
    for (int d = 0; d < 7; d++)
        if (len == 3 && strncasecmp(text, ob_rules_day_names[d], 3) == 0)
            return d;
    return -1;
}

/* "mon", "mon-fri" (may wrap: "fri-mon"). */
static int s_add_weekday(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_cond_t *c = ((s_arg_t *) arg)->cond;
    const char *text;
    if (ob_yamlctx_string(ctx, item, "weekdays", S_MAX_TEXT, &text))
        return -1;
    const char *dash = strchr(text, '-');
    int from = s_day(text, dash ? (size_t) (dash - text) : strlen(text));
    int to = dash ? s_day(dash + 1, strlen(dash + 1)) : from;
    if (from < 0 || to < 0)
        return ob_yamlctx_fail_at(ctx, item,
                                  "bad weekday '%.*s': expected mon, tue, wed, thu, fri, "
                                  "sat, sun or a range such as mon-fri",
                                  ob_yamlctx_show(text), text);
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

static int s_add_hours(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_cond_t *c = ((s_arg_t *) arg)->cond;
    const char *text;
    if (ob_yamlctx_string(ctx, item, "hours", S_MAX_TEXT, &text))
        return -1;
    const char *dash = strchr(text, '-');
    int from = dash ? s_clock(text, (size_t) (dash - text), false) : -1;
    int to = dash ? s_clock(dash + 1, strlen(dash + 1), true) : -1;
    if (from < 0 || to < 0)
        return ob_yamlctx_fail_at(ctx, item, "bad hours '%.*s': expected a range \"HH:MM-HH:MM\"",
                                  ob_yamlctx_show(text), text);
    if (from == to || (from == 0 && to == 1440))
        return ob_yamlctx_fail_at(ctx, item, "hours '%s' %s", text,
                                  from == to ? "is an empty range"
                                             : "is the whole day: leave it out");
    if (s_grow((void **) &c->ranges, c->nranges, sizeof *c->ranges))
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    c->ranges[c->nranges][0] = (uint16_t) from;
    c->ranges[c->nranges][1] = (uint16_t) to;
    c->nranges++;
    return 0;
}

/* A polygon: "file.geojson" or {file, name}; loaded once per (file, name). */
static int s_add_polygon(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_arg_t *a = arg;
    ob_rules_t *self = a->self;
    s_cond_t *c = a->cond;
    const char *file, *name = NULL;
    if (item->kind == OB_YAML_MAP) {
        ob_yamlfield_t f[] = {{"file", NULL, NULL}, {"name", NULL, NULL}};
        if (ob_yamlctx_fields(ctx, item, "polygon", f, 2)
            || ob_yamlctx_require(ctx, item, &f[0], "polygon")
            || ob_yamlctx_string(ctx, f[0].val, "polygon file", 4096, &file)
            || (f[1].val && ob_yamlctx_string(ctx, f[1].val, "polygon name", S_MAX_TEXT, &name)))
            return -1;
    }
    else if (ob_yamlctx_string(ctx, item, "polygon", 4096, &file))
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
            return ob_yamlctx_fail_at(ctx, item, "out of memory");
        char gerr[256];
        ob_geo_t *geo = ob_geo_load(full, name, gerr, sizeof gerr);
        free(full);
        if (!geo)
            return ob_yamlctx_fail_at(ctx, item, "polygon '%.*s': %s", ob_yamlctx_show(file), file,
                                      gerr);
        if (s_grow((void **) &self->areas, self->nareas, sizeof *self->areas)) {
            ob_geo_destroy(&geo);
            return ob_yamlctx_fail_at(ctx, item, "out of memory");
        }
        s_area_t *area = &self->areas[self->nareas++];
        area->geo = geo;
        area->file = strdup(file);
        area->name = name ? strdup(name) : NULL;
        if (!area->file || (name && !area->name))
            return ob_yamlctx_fail_at(ctx, item, "out of memory");
    }
    if (s_grow((void **) &c->areas, c->nareas, sizeof *c->areas))
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    c->areas[c->nareas++] = i;
    return 0;
}

static int s_load_when(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node,
                       const char *what, s_cond_t **out);

/* The value of one `when` key into a condition of that kind. */
static int s_load_cond(ob_yamlctx_t *ctx, ob_rules_t *self, s_ckind_t kind,
                       const ob_yamlnode_t *key, const ob_yamlnode_t *val, s_cond_t **out)
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
            rc = ob_yamlctx_fail_at(ctx, val, "%s must be a list of condition mappings",
                                    ob_rules_cond_keys[kind]);
        else if (val->nkids == 0)
            rc = ob_yamlctx_fail_at(ctx, val, "%s must not be an empty list",
                                    ob_rules_cond_keys[kind]);
        for (size_t i = 0; !rc && i < val->nkids; i++) {
            s_cond_t *kid = NULL;
            rc = s_load_when(ctx, self, val->kids[i], ob_rules_cond_keys[kind], &kid);
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
        rc = ob_yamlctx_one_or_list(ctx, val, ob_rules_cond_keys[kind], S_MAX_LIST, false,
                                    s_add_category, &arg);
        break;
    case C_KEYWORDS:
    case C_TITLE_KEYWORDS:
        rc = ob_yamlctx_one_or_list(ctx, val, ob_rules_cond_keys[kind], S_MAX_LIST, false,
                                    s_add_keyword, &arg);
        self->has_title = self->has_title || kind == C_TITLE_KEYWORDS;
        break;
    case C_KEYWORDS_ALL:
    case C_KEYWORDS_NONE:
    case C_TITLE_KEYWORDS_NONE:
        rc = ob_yamlctx_one_or_list(ctx, val, ob_rules_cond_keys[kind], S_MAX_LIST, false,
                                    s_add_keyword, &arg);
        self->has_title = self->has_title || kind == C_TITLE_KEYWORDS_NONE;
        break;
    case C_DISTRICT:
    case C_STREET:
    case C_TARGET_ORG:
        rc = ob_yamlctx_one_or_list(ctx, val, ob_rules_cond_keys[kind], S_MAX_LIST, false,
                                    s_add_str, &arg);
        break;
    case C_POLYGON:
        rc = ob_yamlctx_one_or_list(ctx, val, "polygon", S_MAX_LIST, true, s_add_polygon, &arg);
        break;
    case C_CHANNEL:
    case C_APPEAL:
    case C_URGENCY:
        rc = ob_yamlctx_one_or_list(ctx, val, ob_rules_cond_keys[kind], S_MAX_LIST, false,
                                    s_add_enum, &arg);
        break;
    case C_ANONYMOUS: {
        bool b = false;
        rc = ob_yamlctx_bool(ctx, val, "anonymous", &b);
        c->bits = b;
        break;
    }
    case C_HOURS:
        rc = ob_yamlctx_one_or_list(ctx, val, "hours", S_MAX_LIST, false, s_add_hours, &arg);
        break;
    case C_WEEKDAYS:
        rc = ob_yamlctx_one_or_list(ctx, val, "weekdays", S_MAX_LIST, false, s_add_weekday, &arg);
        if (!rc && c->bits == 0x7f)
            rc = ob_yamlctx_fail_at(ctx, val, "weekdays names every day: leave it out");
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
static int s_load_when(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node,
                       const char *what, s_cond_t **out)
{
    if (node->kind != OB_YAML_MAP)
        return ob_yamlctx_fail_at(ctx, node,
                                  "%s must hold mappings of conditions such as "
                                  "{category: ..., keywords: ...}",
                                  what);
    s_cond_t *all = s_cond_new(ctx, C_ALL, node);
    if (!all)
        return -1;
    all->map = true;
    uint32_t seen = 0;
    for (size_t i = 0; i + 1 < node->nkids; i += 2) {
        const ob_yamlnode_t *key = node->kids[i], *val = node->kids[i + 1];
        int kind;
        for (kind = 0; kind < C_KINDS; kind++)
            if (strcmp(key->text, ob_rules_cond_keys[kind]) == 0)
                break;
        int rc = 0;
        if (kind == C_KINDS) {
            for (size_t r = 0; s_reserved[r]; r++)
                if (strcmp(key->text, s_reserved[r]) == 0)
                    rc = ob_yamlctx_fail_at(ctx, key,
                                            "key '%s' in when is reserved for a later "
                                            "release of the rules engine",
                                            key->text);
            if (!rc)
                rc = ob_yamlctx_fail_at(ctx, key, "unknown key '%.*s' in when",
                                        ob_yamlctx_show(key->text), key->text);
        }
        else if (seen & (1u << kind))
            rc = ob_yamlctx_fail_at(ctx, key, "duplicate key '%s' in when", key->text);
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

/* How a list of named ids (departments, sites) is called in errors. */
typedef struct {
    const char *list;  /* its key: "departments" */
    const char *empty; /* what an empty list is told */
    const char *noun;  /* one of them: "department" */
    bool fold;         /* keep the folded name (recusal reads it) */
} s_named_t;

static const s_named_t s_departments = {"departments", "must declare at least one department",
                                        "department", true};
static const s_named_t s_sites = {"sites", "must not be an empty list", "site", false};

/* A list of {id, name} mappings into *out (*n of them), ids unique. */
static int s_load_named(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const s_named_t *kind,
                        s_dept_t **out, size_t *n)
{
    if (node->kind != OB_YAML_SEQ)
        return ob_yamlctx_fail_at(ctx, node, "%s must be a list", kind->list);
    if (node->nkids == 0)
        return ob_yamlctx_fail_at(ctx, node, "%s %s", kind->list, kind->empty);
    if (node->nkids > S_MAX_DEPTS)
        return ob_yamlctx_fail_at(ctx, node, "more than %d %s", S_MAX_DEPTS, kind->list);
    *out = calloc(node->nkids, sizeof **out);
    if (!*out)
        return ob_yamlctx_fail_at(ctx, node, "out of memory");
    char item_what[32], id_what[32], name_what[32];
    snprintf(item_what, sizeof item_what, "a %s", kind->noun);
    snprintf(id_what, sizeof id_what, "%s id", kind->noun);
    snprintf(name_what, sizeof name_what, "%s name", kind->noun);
    for (size_t i = 0; i < node->nkids; i++) {
        const ob_yamlnode_t *item = node->kids[i];
        ob_yamlfield_t f[] = {{"id", NULL, NULL}, {"name", NULL, NULL}};
        const char *id, *name;
        if (ob_yamlctx_fields(ctx, item, item_what, f, 2)
            || ob_yamlctx_require(ctx, item, &f[0], item_what)
            || ob_yamlctx_require(ctx, item, &f[1], item_what)
            || ob_yamlctx_ident(ctx, f[0].val, id_what, &id)
            || ob_yamlctx_string(ctx, f[1].val, name_what, S_MAX_TEXT, &name))
            return -1;
        for (size_t j = 0; j < *n; j++)
            if (strcmp((*out)[j].id, id) == 0)
                return ob_yamlctx_fail_at(ctx, f[0].val, "duplicate %s id '%s'", kind->noun, id);
        s_dept_t *e = &(*out)[(*n)++];
        e->id = strdup(id);
        e->name = strdup(name);
        e->norm = kind->fold ? ob_text_fold_dup(name) : NULL;
        if (!e->id || !e->name || (kind->fold && !e->norm))
            return ob_yamlctx_fail_at(ctx, item, "out of memory");
    }
    return 0;
}

static int s_load_defaults(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    ob_yamlfield_t f[] = {
        {"sign_within", NULL, NULL}, {"reply_within", NULL, NULL}, {"assist_within", NULL, NULL}};
    if (ob_yamlnode_is_null(node))
        return 0;
    if (ob_yamlctx_fields(ctx, node, "defaults", f, 3))
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
static int s_dept_ref(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node,
                      const char *what, char *out)
{
    const char *id;
    if (ob_yamlctx_ident(ctx, node, what, &id))
        return -1;
    if (!ob_rules_dept_lookup(self, id))
        return ob_yamlctx_fail_at(ctx, node, "%s '%s' is not declared under departments", what, id);
    memcpy(out, id, strlen(id) + 1);
    return 0;
}

static int s_add_recuse_name(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_recuse_t *r = arg;
    const char *text;
    if (ob_yamlctx_string(ctx, item, "recusal name", S_MAX_TEXT, &text))
        return -1;
    if (s_grow((void **) &r->names, r->nnames, sizeof *r->names))
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    r->names[r->nnames] = ob_text_fold_dup(text);
    if (!r->names[r->nnames])
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    if (!*r->names[r->nnames++])
        return ob_yamlctx_fail_at(ctx, item, "recusal name must not be blank");
    return 0;
}

static int s_load_recusal(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    ob_yamlfield_t f[] = {{"instead", NULL, NULL}, {"departments", NULL, NULL}};
    if (ob_yamlctx_fields(ctx, node, "recusal", f, 2))
        return -1;
    if (f[0].val && s_dept_ref(ctx, self, f[0].val, "recusal instead", self->recuse_instead))
        return -1;
    if (!f[1].val)
        return 0;
    const ob_yamlnode_t *list = f[1].val;
    if (list->kind != OB_YAML_SEQ || list->nkids == 0)
        return ob_yamlctx_fail_at(ctx, list, "recusal departments must be a non-empty list");
    if (list->nkids > S_MAX_DEPTS)
        return ob_yamlctx_fail_at(ctx, list, "more than %d recusal entries", S_MAX_DEPTS);
    self->recuse = calloc(list->nkids, sizeof *self->recuse);
    if (!self->recuse)
        return ob_yamlctx_fail_at(ctx, list, "out of memory");
    for (size_t i = 0; i < list->nkids; i++) {
        const ob_yamlnode_t *item = list->kids[i];
        ob_yamlfield_t g[] = {{"dept", NULL, NULL}, {"names", NULL, NULL}, {"instead", NULL, NULL}};
        s_recuse_t *r = &self->recuse[self->nrecuse++];
        if (ob_yamlctx_fields(ctx, item, "a recusal entry", g, 3)
            || ob_yamlctx_require(ctx, item, &g[0], "a recusal entry")
            || s_dept_ref(ctx, self, g[0].val, "recusal dept", r->dept))
            return -1;
        for (size_t j = 0; j + 1 < self->nrecuse; j++)
            if (strcmp(self->recuse[j].dept, r->dept) == 0)
                return ob_yamlctx_fail_at(ctx, g[0].val, "duplicate recusal entry for '%s'",
                                          r->dept);
        if (g[1].val
            && ob_yamlctx_one_or_list(ctx, g[1].val, "names", S_MAX_LIST, false, s_add_recuse_name,
                                      r))
            return -1;
        if (g[2].val && s_dept_ref(ctx, self, g[2].val, "recusal instead", r->instead))
            return -1;
        const char *instead = r->instead[0] ? r->instead : self->recuse_instead;
        if (strcmp(instead, r->dept) == 0)
            return ob_yamlctx_fail_at(ctx, g[2].val ? g[2].val : g[0].val,
                                      "recusal: cases about '%s' cannot go instead to '%s' itself",
                                      r->dept, instead);
    }
    return 0;
}

/* Sorts the taxonomy's entries and drops repeats. */
static void s_taxonomy_sort_unique(ob_rules_t *self)
{
    qsort(self->taxonomy, self->ntaxonomy, sizeof *self->taxonomy, s_taxonomy_cmp);
    size_t u = 0;
    for (size_t i = 0; i < self->ntaxonomy; i++) {
        if (u && strcmp(self->taxonomy[u - 1], self->taxonomy[i]) == 0)
            free(self->taxonomy[i]);
        else
            self->taxonomy[u++] = self->taxonomy[i];
    }
    self->ntaxonomy = u;
}

/* Reads the taxonomy CSV `rel` (relative to the rule file): a header line,
   then rows of levels; stores every row and every prefix of a row as "a",
   "a/b", "a/b/c", sorted, unique. Errors are placed at `node`, the
   `taxonomy:` value, or name the whole file when node is NULL (the
   taxonomy.csv found beside the rule file). */
static int s_read_taxonomy(ob_yamlctx_t *ctx, ob_rules_t *self, const char *rel,
                           const ob_yamlnode_t *node)
{
    size_t at = node ? node->line : 0, col = node ? node->col : 0;
    const char *beside = node ? "" : " (beside the rule file)";
    self->taxonomy_file = strdup(rel);
    char *path = s_relative(ctx, rel);
    if (!self->taxonomy_file || !path) {
        free(path);
        return ob_yamlctx_fail(ctx, at, col, "out of memory");
    }
    int rc = -1;
    char *buf = NULL;
    struct stat st;
    bool special = stat(path, &st) == 0 && !S_ISREG(st.st_mode);  /* never block on a FIFO */
    FILE *file = special ? NULL : fopen(path, "rb");
    if (!file) {
        rc =
            ob_yamlctx_fail(ctx, at, col, "cannot open taxonomy '%.*s'%s: %s", ob_yamlctx_show(rel),
                            rel, beside, special ? "not a regular file" : strerror(errno));
        goto out;
    }
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > S_MAX_TAXONOMY) {
        rc = ob_yamlctx_fail(ctx, at, col,
                             "taxonomy '%.*s'%s is not a regular file of at most %d MiB",
                             ob_yamlctx_show(rel), rel, beside, S_MAX_TAXONOMY / (1024 * 1024));
        goto out;
    }
    buf = malloc((size_t) st.st_size + 1);
    if (!buf || fread(buf, 1, (size_t) st.st_size, file) != (size_t) st.st_size) {
        rc = ob_yamlctx_fail(ctx, at, col, "cannot read taxonomy '%.*s'%s", ob_yamlctx_show(rel),
                             rel, beside);
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
                    rc = ob_yamlctx_fail(ctx, at, col, "out of memory");
                    goto out;
                }
                self->taxonomy = tax;
            }
            char *entry = malloc(n + 1);
            if (!entry) {
                rc = ob_yamlctx_fail(ctx, at, col, "out of memory");
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
        rc = ob_yamlctx_fail(ctx, at, col, "taxonomy '%.*s'%s holds no category",
                             ob_yamlctx_show(rel), rel, beside);
        goto out;
    }
    s_taxonomy_sort_unique(self);
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
static int s_load_taxonomy(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    if (node) {
        const char *rel;
        if (node->kind == OB_YAML_SCALAR && node->plain
            && (strcasecmp(node->text, "false") == 0 || strcasecmp(node->text, "true") == 0)) {
            if (strcasecmp(node->text, "true") == 0)
                return ob_yamlctx_fail_at(ctx, node,
                                          "taxonomy must name a CSV file, or be false "
                                          "(categories not checked)");
            self->taxonomy_off = true;
            return 0;
        }
        if (ob_yamlctx_string(ctx, node, "taxonomy", 4096, &rel))
            return -1;
        return s_read_taxonomy(ctx, self, rel, node);
    }
    char *path = s_relative(ctx, S_TAXONOMY_BESIDE);
    if (!path)
        return ob_yamlctx_fail(ctx, 0, 0, "out of memory");
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
static int s_text(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what, size_t max,
                  char **out)
{
    const char *text;
    if (ob_yamlctx_string(ctx, node, what, max, &text))
        return -1;
    *out = strdup(text);
    return *out ? 0 : ob_yamlctx_fail_at(ctx, node, "out of memory");
}

typedef struct {
    ob_rules_t *self;
    s_rule_t *rule;
} s_assist_arg_t;

static int s_add_assist(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg)
{
    s_assist_arg_t *a = arg;
    s_rule_t *rule = a->rule;
    char id[OB_DEPT_MAX];
    if (s_dept_ref(ctx, a->self, item, "assist department", id))
        return -1;
    if (strcmp(id, rule->lead) == 0)
        return ob_yamlctx_fail_at(ctx, item, "assist department '%s' is the lead", id);
    for (size_t i = 0; i < rule->nassist; i++)
        if (strcmp(rule->assist[i], id) == 0)
            return ob_yamlctx_fail_at(ctx, item, "assist department '%s' is listed twice", id);
    if (rule->nassist == OB_ROUTE_ASSIST_MAX)
        return ob_yamlctx_fail_at(ctx, item, "more than %d assist departments",
                                  OB_ROUTE_ASSIST_MAX);
    if (s_grow((void **) &rule->assist, rule->nassist, sizeof *rule->assist))
        return ob_yamlctx_fail_at(ctx, item, "out of memory");
    memcpy(rule->assist[rule->nassist++], id, OB_DEPT_MAX);
    return 0;
}

static int s_load_then(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node,
                       s_rule_t *rule)
{
    enum { T_LEAD, T_REJECT, T_TRANSFER, T_MANUAL, T_ASSIST, T_SIGN, T_REPLY, T_ASSIST_WITHIN,
           T_PRIORITY, T_CONFIDENTIAL, T_N };
    ob_yamlfield_t t[T_N] = {{"lead", NULL, NULL},         {"reject", NULL, NULL},
                             {"transfer", NULL, NULL},     {"manual", NULL, NULL},
                             {"assist", NULL, NULL},       {"sign_within", NULL, NULL},
                             {"reply_within", NULL, NULL}, {"assist_within", NULL, NULL},
                             {"priority", NULL, NULL},     {"confidential", NULL, NULL}};
    if (ob_yamlctx_fields(ctx, node, "then", t, T_N))
        return -1;
    /* exactly one decision: report the second one written */
    const ob_yamlfield_t *first = NULL;
    for (int i = T_LEAD; i <= T_MANUAL; i++) {
        if (!t[i].val)
            continue;
        if (first) {
            const ob_yamlfield_t *later = first->keynode->line > t[i].keynode->line
                    || (first->keynode->line == t[i].keynode->line
                        && first->keynode->col > t[i].keynode->col)
                ? first
                : &t[i];
            const ob_yamlfield_t *earlier = later == first ? &t[i] : first;
            return ob_yamlctx_fail_at(ctx, later->keynode,
                                      "then has both '%s' and '%s': a rule decides one of lead, "
                                      "reject, transfer or manual",
                                      earlier->key, later->key);
        }
        first = &t[i];
    }
    if (!first)
        return ob_yamlctx_fail_at(ctx, node,
                                  "then needs a decision: lead, reject, transfer or manual");
    for (int i = T_ASSIST; i <= T_ASSIST_WITHIN; i++)
        if (t[i].val && !t[T_LEAD].val)
            return ob_yamlctx_fail_at(ctx, t[i].keynode, "'%s' goes only with 'lead'", t[i].key);
    if (t[T_ASSIST_WITHIN].val && !t[T_ASSIST].val)
        return ob_yamlctx_fail_at(ctx, t[T_ASSIST_WITHIN].keynode,
                                  "'assist_within' goes only with "
                                  "'assist'");
    if (t[T_LEAD].val) {
        rule->decision = OB_DECISION_DISPATCH;
        if (s_dept_ref(ctx, self, t[T_LEAD].val, "lead department", rule->lead))
            return -1;
    }
    else if (t[T_REJECT].val) {
        rule->decision = OB_DECISION_REJECT;
        ob_yamlfield_t r[] = {{"reason", NULL, NULL}, {"referral", NULL, NULL}};
        if (ob_yamlctx_fields(ctx, t[T_REJECT].val, "reject", r, 2)
            || ob_yamlctx_require(ctx, t[T_REJECT].val, &r[0], "reject")
            || s_text(ctx, r[0].val, "reject reason", OB_ROUTE_TEXT_MAX - 1, &rule->reason)
            || (r[1].val
                && s_text(ctx, r[1].val, "referral", OB_ROUTE_REFERRAL_MAX - 1, &rule->referral)))
            return -1;
    }
    else if (t[T_TRANSFER].val) {
        rule->decision = OB_DECISION_TRANSFER;
        ob_yamlfield_t r[] = {{"site", NULL, NULL}, {"reason", NULL, NULL}};
        const char *site;
        if (ob_yamlctx_fields(ctx, t[T_TRANSFER].val, "transfer", r, 2)
            || ob_yamlctx_require(ctx, t[T_TRANSFER].val, &r[0], "transfer")
            || ob_yamlctx_ident(ctx, r[0].val, "transfer site", &site)
            || (r[1].val
                && s_text(ctx, r[1].val, "transfer reason", OB_ROUTE_TEXT_MAX - 1, &rule->reason)))
            return -1;
        if (!ob_rules_site_lookup(self, site))
            return ob_yamlctx_fail_at(ctx, r[0].val,
                                      "transfer site '%s' is not declared under sites", site);
        memcpy(rule->site, site, strlen(site) + 1);
    }
    else {
        rule->decision = OB_DECISION_MANUAL;
        if (s_text(ctx, t[T_MANUAL].val, "manual reason", OB_ROUTE_TEXT_MAX - 1, &rule->reason))
            return -1;
    }
    s_assist_arg_t arg = {self, rule};
    if (t[T_ASSIST].val
        && ob_yamlctx_one_or_list(ctx, t[T_ASSIST].val, "assist", S_MAX_LIST, false, s_add_assist,
                                  &arg))
        return -1;
    if (t[T_SIGN].val && s_deadline(ctx, t[T_SIGN].val, "sign_within", &rule->sign))
        return -1;
    if (t[T_REPLY].val && s_deadline(ctx, t[T_REPLY].val, "reply_within", &rule->reply))
        return -1;
    if (t[T_ASSIST_WITHIN].val
        && s_deadline(ctx, t[T_ASSIST_WITHIN].val, "assist_within", &rule->assist_dl))
        return -1;
    long prio = 0;
    if (t[T_PRIORITY].val
        && ob_yamlctx_integer(ctx, t[T_PRIORITY].val, "then.priority", 0, 9, &prio))
        return -1;
    rule->hprio = (uint32_t) prio;
    if (t[T_CONFIDENTIAL].val
        && ob_yamlctx_bool(ctx, t[T_CONFIDENTIAL].val, "confidential", &rule->confidential))
        return -1;
    return 0;
}

static int s_load_rule(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node,
                       s_rule_t *rule)
{
    ob_yamlfield_t f[] = {{"id", NULL, NULL},
                          {"priority", NULL, NULL},
                          {"when", NULL, NULL},
                          {"then", NULL, NULL},
                          {"description", NULL, NULL}};
    const char *id, *text;
    rule->line = node->line;
    rule->col = node->col;
    if (ob_yamlctx_fields(ctx, node, "a rule", f, 5)
        || ob_yamlctx_require(ctx, node, &f[0], "a rule")
        || ob_yamlctx_ident(ctx, f[0].val, "rule id", &id))
        return -1;
    for (size_t j = 0; j < self->nrules; j++)
        if (strcmp(self->rules[j].id, id) == 0)
            return ob_yamlctx_fail_at(ctx, f[0].val, "duplicate rule id '%s'", id);
    memcpy(rule->id, id, strlen(id) + 1);  /* s_ident capped it below 64 */
    if (ob_yamlctx_require(ctx, node, &f[3], "a rule"))
        return -1;
    if (f[1].val
        && ob_yamlctx_integer(ctx, f[1].val, "priority", -1000000, 1000000, &rule->priority))
        return -1;
    if (f[4].val && ob_yamlctx_string(ctx, f[4].val, "description", 4096, &text))
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

static int s_load_rules(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *node)
{
    if (ob_yamlnode_is_null(node))
        return 0;
    if (node->kind != OB_YAML_SEQ)
        return ob_yamlctx_fail_at(ctx, node, "rules must be a list");
    if (node->nkids > S_MAX_RULES)
        return ob_yamlctx_fail_at(ctx, node, "more than %d rules", S_MAX_RULES);
    if (node->nkids == 0)
        return 0;
    self->rules = calloc(node->nkids, sizeof *self->rules);
    if (!self->rules)
        return ob_yamlctx_fail_at(ctx, node, "out of memory");
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
        ob_yamlctx_report(ctx); /* check mode: report, skip the rule, go on */
        bad = -1;
    }
    return bad;
}

/* "+08:00", "-05:30", "+8", "Z" / "UTC" into minutes east of UTC. */
static int s_timezone(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, int *out)
{
    const char *t;
    if (ob_yamlctx_string(ctx, node, "timezone", 16, &t))
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
        return ob_yamlctx_fail_at(ctx, node,
                                  "bad timezone '%.*s': expected a UTC offset such as \"+08:00\"",
                                  ob_yamlctx_show(t), t);
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

/* `model:` (a file beside the rule file) and its `threshold:`, after the
   rules: the model's labels are checked against them. */
static int s_load_model(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *model,
                        const ob_yamlnode_t *threshold)
{
    const char *rel;
    if (!model) {
        if (threshold)
            return ob_yamlctx_fail_at(ctx, threshold, "threshold without a model: name the "
                                                      "model file with `model:`");
        return 0;
    }
    if (ob_yamlctx_string(ctx, model, "model", 4096, &rel))
        return -1;
    char *path = s_relative(ctx, rel);
    if (!path || !(self->model_file = strdup(rel))) {
        free(path);
        return ob_yamlctx_fail_at(ctx, model, "out of memory");
    }
    int rc = ob_rules_model_load(ctx, self, model, threshold, path);
    free(path);
    return rc;
}

static int s_build(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *root)
{
    if (!root || ob_yamlnode_is_null(root))
        return ob_yamlctx_fail(ctx, 1, 1,
                               "empty rule file (expected version, departments and rules)");
    if (root->kind != OB_YAML_MAP)
        return ob_yamlctx_fail_at(ctx, root,
                                  "a rule file must be a mapping with version, "
                                  "departments and rules");
    enum { F_VERSION, F_TIMEZONE, F_DEPTS, F_DEFAULTS, F_RULES, F_TAXONOMY, F_SITES,
           F_RECUSAL, F_MODEL, F_THRESHOLD, F_N };
    ob_yamlfield_t f[F_N] = {{"version", NULL, NULL},     {"timezone", NULL, NULL},
                             {"departments", NULL, NULL}, {"defaults", NULL, NULL},
                             {"rules", NULL, NULL},       {"taxonomy", NULL, NULL},
                             {"sites", NULL, NULL},       {"recusal", NULL, NULL},
                             {"model", NULL, NULL},       {"threshold", NULL, NULL}};
    const char *version;
    if (ob_yamlctx_fields(ctx, root, "the rule file", f, F_N)
        || ob_yamlctx_require(ctx, root, &f[F_VERSION], "the rule file")
        || ob_yamlctx_string(ctx, f[F_VERSION].val, "version", S_MAX_VERSION, &version)
        || ob_yamlctx_require(ctx, root, &f[F_DEPTS], "the rule file"))
        return -1;
    self->version = strdup(version);
    if (!self->version)
        return ob_yamlctx_fail_at(ctx, root, "out of memory");
    if (f[F_TIMEZONE].val && s_timezone(ctx, f[F_TIMEZONE].val, &self->utc_offset_min))
        return -1;
    if (s_load_taxonomy(ctx, self, f[F_TAXONOMY].val))
        return -1;
    if (s_load_named(ctx, f[F_DEPTS].val, &s_departments, &self->depts, &self->ndepts))
        return -1;
    if (f[F_SITES].val && s_load_named(ctx, f[F_SITES].val, &s_sites, &self->sites, &self->nsites))
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
        return ob_yamlctx_fail_at(ctx, root, "out of memory");
    return s_load_model(ctx, self, f[F_MODEL].val, f[F_THRESHOLD].val);
}

/* Reads the whole file, refusing anything larger than S_MAX_FILE. Returns
   a NUL-terminated buffer and its length, or NULL with "path: message". */
static unsigned char *s_read_file(ob_yamlctx_t *ctx, size_t *len_p)
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
static ob_rules_t *s_load(ob_yamlctx_t *ctx)
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
        ob_yamlctx_fail(ctx, 1, 1, "out of memory");
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
    ob_yamlctx_t ctx = {.path = path,
                        .err = err,
                        .errlen = errlen,
                        .reserved = s_reserved,
                        .release_of = "the rules engine"};
    return s_load(&ctx);
}

ob_rules_t *ob_rules_load_checked(const char *path, ob_rules_diag_fn *fn, void *arg,
                                  int *nerrors)
{
    assert(path);
    assert(fn);
    char err[1024] = "";
    ob_yamlctx_t ctx = {.path = path,
                        .err = err,
                        .errlen = sizeof err,
                        .reserved = s_reserved,
                        .release_of = "the rules engine",
                        .diag = fn,
                        .diag_arg = arg};
    ob_rules_t *self = s_load(&ctx);
    if (!self && (ctx.pending || ctx.nerrors == 0))
        ob_yamlctx_report(&ctx);
    *nerrors = ctx.nerrors;
    return self;
}

static void s_named_free(s_dept_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].name);
        free(v[i].norm);
    }
    free(v);
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
    s_named_free(self->depts, self->ndepts);
    s_named_free(self->sites, self->nsites);
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
    ob_rules_model_free(self);
    free(self->pat_start);
    free(self->pat_rules);
    free(self->catgates);
    free(self->cat_rules);
    free(self->version);
    free(self);
    *self_p = NULL;
}

