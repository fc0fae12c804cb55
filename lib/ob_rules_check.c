/*  ob_rules_check.c — the rule linter (orderbus rules check): loads a file
    in check mode, then warns of categories no taxonomy checks, of rules
    that can never decide (shadowed) and of rules at one priority with
    different decisions that one order can match both of (overlaps).     */
#include "ob_rules_int.h"
#include <assert.h>

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

/* id is one of the entry's ids. */
static bool s_ent_has(const s_kwent_t *ent, uint32_t id)
{
    for (size_t k = 0; k < ent->n; k++)
        if (ent->ids[k] == id)
            return true;
    return false;
}

/* Every id of sub occurs in sup. */
static bool s_ids_subset(const s_kwent_t *sub, const s_kwent_t *sup)
{
    for (size_t i = 0; i < sub->n; i++)
        if (!s_ent_has(sup, sub->ids[i]))
            return false;
    return true;
}

/* The keyword ids of a KEYWORDS_ALL/NONE condition as one entry. */
static bool s_kw_has(const s_cond_t *c, uint32_t id)
{
    for (size_t i = 0; i < c->nkw; i++)
        if (s_ent_has(&c->kw[i], id))
            return true;
    return false;
}

static void s_minutes(const s_cond_t *c, uint64_t mask[23])
{
    memset(mask, 0, 23 * sizeof *mask);
    for (int m = 0; m < 1440; m++)
        if (ob_rules_hours_has(c, m))
            mask[m / 64] |= 1ULL << (m % 64);
}

/* Does value j of a cover value i of b (every order with b's value i has
   a's value j)? One per kind of value list. */
typedef bool(s_covers_fn)(const s_cond_t *a, size_t j, const s_cond_t *b, size_t i);

static bool s_cat_covers(const s_cond_t *a, size_t j, const s_cond_t *b, size_t i)
{
    return s_path_prefix(&a->cats[j], &b->cats[i], a->kind == C_CATEGORY_EXACT);
}

static bool s_kw_covers(const s_cond_t *a, size_t j, const s_cond_t *b, size_t i)
{
    return s_ids_subset(&a->kw[j], &b->kw[i]);
}

static bool s_org_covers(const s_cond_t *a, size_t j, const s_cond_t *b, size_t i)
{
    return strstr(b->strs[i], a->strs[j]) != NULL;
}

static bool s_area_covers(const s_cond_t *a, size_t j, const s_cond_t *b, size_t i)
{
    return a->areas[j] == b->areas[i];
}

/* Every one of b's nb values is covered by one of a's na values. */
static bool s_covered(const s_cond_t *a, size_t na, const s_cond_t *b, size_t nb,
                      s_covers_fn *covers)
{
    for (size_t i = 0; i < nb; i++) {
        bool any = false;
        for (size_t j = 0; j < na && !any; j++)
            any = covers(a, j, b, i);
        if (!any)
            return false;
    }
    return true;
}

/* s_implies for a KEYWORDS or TITLE_KEYWORDS a. A keyword in the title
   occurs in the title or content: title_keywords implies keywords, never
   the other way round. */
static bool s_implies_keywords(const s_cond_t *b, const s_cond_t *a)
{
    if (b->kind == a->kind || (a->kind == C_KEYWORDS && b->kind == C_TITLE_KEYWORDS))
        return s_covered(a, a->nkw, b, b->nkw, s_kw_covers);
    if (a->kind == C_KEYWORDS && b->kind == C_KEYWORDS_ALL)
        for (size_t j = 0; j < a->nkw; j++) {
            bool all = true;
            for (size_t k = 0; k < a->kw[j].n && all; k++)
                all = s_kw_has(b, a->kw[j].ids[k]);
            if (all)
                return true;
        }
    return false;
}

/* s_implies for a KEYWORDS_ALL a. */
static bool s_implies_keywords_all(const s_cond_t *b, const s_cond_t *a)
{
    if (b->kind == C_KEYWORDS_ALL) {
        for (size_t j = 0; j < a->nkw; j++)
            if (!s_kw_has(b, a->kw[j].ids[0]))
                return false;
        return true;
    }
    if (b->kind == C_KEYWORDS || b->kind == C_TITLE_KEYWORDS) {
        for (size_t i = 0; i < b->nkw; i++)
            for (size_t j = 0; j < a->nkw; j++)
                if (!s_ent_has(&b->kw[i], a->kw[j].ids[0]))
                    return false;
        return true;
    }
    return false;
}

/* s_implies for a KEYWORDS_NONE or TITLE_KEYWORDS_NONE a: none in the
   title or content implies none in the title. */
static bool s_implies_keywords_none(const s_cond_t *b, const s_cond_t *a)
{
    if (b->kind != C_KEYWORDS_NONE && b->kind != a->kind)
        return false;
    for (size_t j = 0; j < a->nkw; j++)
        if (!s_kw_has(b, a->kw[j].ids[0]))
            return false;
    return true;
}

/* s_implies for an HOURS a: b's minutes are all a's. */
static bool s_implies_hours(const s_cond_t *b, const s_cond_t *a)
{
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

/* Does every order that satisfies b satisfy a? Only true when provable. */
static bool s_implies(const s_cond_t *b, const s_cond_t *a)
{
    switch (a->kind) {
    case C_CATEGORY:
    case C_CATEGORY_EXACT:
        if (b->kind != C_CATEGORY_EXACT && (a->kind == C_CATEGORY_EXACT || b->kind != C_CATEGORY))
            return false;
        return s_covered(a, a->ncats, b, b->ncats, s_cat_covers);
    case C_KEYWORDS:
    case C_TITLE_KEYWORDS:
        return s_implies_keywords(b, a);
    case C_KEYWORDS_ALL:
        return s_implies_keywords_all(b, a);
    case C_KEYWORDS_NONE:
    case C_TITLE_KEYWORDS_NONE:
        return s_implies_keywords_none(b, a);
    case C_DISTRICT:
    case C_STREET:
        if (b->kind != a->kind)
            return false;
        for (size_t i = 0; i < b->nstrs; i++)
            if (!ob_rules_strs_has(a->strs, a->nstrs, b->strs[i]))
                return false;
        return true;
    case C_TARGET_ORG:
        return b->kind == a->kind && s_covered(a, a->nstrs, b, b->nstrs, s_org_covers);
    case C_POLYGON:
        return b->kind == a->kind && s_covered(a, a->nareas, b, b->nareas, s_area_covers);
    case C_CHANNEL:
    case C_APPEAL:
    case C_URGENCY:
    case C_WEEKDAYS:
        return b->kind == a->kind && (b->bits & ~a->bits) == 0;
    case C_ANONYMOUS:
        return b->kind == a->kind && b->bits == a->bits;
    case C_HOURS:
        return s_implies_hours(b, a);
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
            if (ob_rules_strs_has(b->strs, b->nstrs, a->strs[i]))
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
            if (ob_rules_strs_has(y->strs, y->nstrs, x->strs[i]))
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
   a catch-all rule that leaves the file's model nothing to decide, then
   shadowed rules and rules of one priority with different decisions
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
    for (size_t r = 0; self->model && r < self->nrules; r++)
        if (!self->rules[r].when) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "the model '%s' is never asked: rule '%s' matches every order (a "
                     "catch-all); give it a `when`, or remove it and let the model and "
                     "manual routing take what no rule decides",
                     self->model_file, self->rules[r].id);
            fn(arg, true, path, self->rules[r].line, self->rules[r].col, msg);
            break;
        }
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
    int nerrors = 0;
    ob_rules_t *self = ob_rules_load_checked(path, fn, arg, &nerrors);
    if (!self)
        return nerrors;
    s_lint(self, path, fn, arg);
    ob_rules_destroy(&self);
    return 0;
}

