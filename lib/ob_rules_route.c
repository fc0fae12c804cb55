/*  ob_rules_route.c — routes an order with a loaded rule set, and explains
    the decision rule by rule.

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
#include "ob_rules_int.h"
#include "ob_fsm.h"
#include "ob_text.h"
#include <assert.h>
#include <limits.h>
#include <stdarg.h>

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
                  : v < 7 ? ob_rules_day_names[v] : "?");
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
    s_cat(buf, n, "%s ", ob_rules_cond_keys[c->kind]);
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

bool ob_rules_strs_has(char **strs, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(strs[i], s) == 0)
            return true;
    return false;
}

bool ob_rules_hours_has(const s_cond_t *c, int minute)
{
    for (size_t i = 0; i < c->nranges; i++) {
        int from = c->ranges[i][0], to = c->ranges[i][1];
        if (from < to ? minute >= from && minute < to : minute >= from || minute < to)
            return true;
    }
    return false;
}

/* Does leaf condition c (not ALL, ANY or NOT) hold for the order? When a
   keyword decides that it does not, *miss names it. */
static bool s_leaf_holds(const s_cond_t *c, const s_eval_t *ev, const char **miss_p)
{
    const ob_workorder_t *o = ev->order;
    const Orderbus__V1__Location *loc = o->location;
    bool ok = false;
    const char *miss = NULL;  /* a keyword to name in the reason */
    switch (c->kind) {
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
             && ob_rules_strs_has(c->strs, c->nstrs, loc->district_code);
        break;
    case C_STREET:
        ok = loc && ((loc->street_code && *loc->street_code
                      && ob_rules_strs_has(c->strs, c->nstrs, loc->street_code))
                     || (loc->street && *loc->street
                         && ob_rules_strs_has(c->strs, c->nstrs, loc->street)));
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
        ok = ev->minute >= 0 && ob_rules_hours_has(c, ev->minute);
        break;
    case C_WEEKDAYS:
        ok = ev->wday >= 0 && (c->bits >> ev->wday) & 1;
        break;
    default:
        assert(false);
    }
    *miss_p = miss;
    return ok;
}

/* Why a keyword condition does not hold (after the keyword, for those
   that name one). */
static const char *const s_kw_why[C_KINDS] = {
    [C_KEYWORDS] = "none occurs in the title or content",
    [C_KEYWORDS_ALL] = "does not occur in the title or content",
    [C_KEYWORDS_NONE] = "occurs in the title or content",
    [C_TITLE_KEYWORDS] = "none occurs in the title",
    [C_TITLE_KEYWORDS_NONE] = "occurs in the title",
};

/* Writes why leaf condition c does not hold into why (size n): the
   condition as written, then what the order has (rule values and
   non-personal order values only); miss from s_leaf_holds. */
static void s_why_not(const s_cond_t *c, const s_eval_t *ev, const char *miss, char *why,
                      size_t n)
{
    const ob_workorder_t *o = ev->order;
    const Orderbus__V1__Location *loc = o->location;
    char tmp[OB_EXPLAIN_MAX] = "";
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
    case C_TITLE_KEYWORDS:
        snprintf(what, sizeof what, "%s", s_kw_why[c->kind]);
        break;
    case C_KEYWORDS_ALL:
    case C_KEYWORDS_NONE:
    case C_TITLE_KEYWORDS_NONE:
        snprintf(what, sizeof what, "'%s' %s", miss, s_kw_why[c->kind]);
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
            snprintf(what, sizeof what, "received on a %s", ob_rules_day_names[ev->wday]);
        break;
    default:
        break;
    }
    snprintf(why, n, "%s: %s", tmp, what);
}

/* Does condition c hold for the order? When it does not and why is
   non-NULL, writes the reason there (rule values and non-personal order
   values only). */
static bool s_holds(const s_cond_t *c, const s_eval_t *ev, char *why, size_t n)
{
    char tmp[OB_EXPLAIN_MAX];
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
    default:
        break;
    }
    const char *miss = NULL;
    if (s_leaf_holds(c, ev, &miss))
        return true;
    if (why)
        s_why_not(c, ev, miss, why, n);
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

/* An order scanned once: the keywords found, and what the conditions read. */
typedef struct {
    uint64_t seen[S_SEEN_WORDS];   /* keyword ids found in title or content */
    uint64_t tseen[S_SEEN_WORDS];  /* those found in the title */
    uint32_t ids[S_IDS];           /* the ids found, for gating */
    size_t nids;
    s_eval_t ev;                   /* points into the above; ev.target is owned */
} s_scan_t;

static void s_scan(const ob_rules_t *self, const ob_workorder_t *order, s_scan_t *sc)
{
    sc->nids = 0;
    s_eval_init(self, order, &sc->ev, sc->seen, sc->tseen, sc->ids, &sc->nids);
}

/* --- the routing model ---------------------------------------------------- */

/* The rule that decides the scanned order as if its category were the
   path `label` ("a/b"; its text and every other field unchanged): NULL
   when none. The text is not scanned again. */
static const s_rule_t *s_pick_as(const ob_rules_t *self, s_scan_t *sc, const char *label)
{
    char buf[OB_ROUTE_LABEL_MAX];
    char *levels[S_MAX_LEVELS];
    size_t n = 0;
    s_copy(buf, sizeof buf, label);
    for (char *p = buf, *save = NULL, *level; n < S_MAX_LEVELS
                                               && (level = strtok_r(p, "/", &save)); p = NULL)
        levels[n++] = level;
    ob_workorder_t copy = *sc->ev.order;
    copy.category = levels;
    copy.n_category = n;
    const ob_workorder_t *order = sc->ev.order;
    sc->ev.order = &copy;
    const s_rule_t *hit = s_pick(self, &sc->ev, sc->ids, sc->nids);
    sc->ev.order = order;
    return hit;
}

/* The department a model label leads to for the scanned order: the label
   itself when it is a department of the file, else the lead of the rule
   that dispatches an order of that category (*hit: that rule). NULL when
   neither. */
static const char *s_label_dept(const ob_rules_t *self, s_scan_t *sc, const char *label,
                                const s_rule_t **hit)
{
    *hit = NULL;
    for (size_t i = 0; i < self->ndepts; i++)
        if (strcmp(self->depts[i].id, label) == 0)
            return self->depts[i].id;
    *hit = s_pick_as(self, sc, label);
    return *hit && (*hit)->decision == OB_DECISION_DISPATCH ? (*hit)->lead : NULL;
}

/* No rule decided: the model's turn. Above the threshold it dispatches
   (through the rule of its category, or to its department; recusal still
   applies); below it, or when its label leads nowhere, the order is
   manual. Either way the suggestions are filled in. */
static void s_model_decide(const ob_rules_t *self, s_scan_t *sc, ob_route_t *out)
{
    const ob_workorder_t *order = sc->ev.order;
    ob_textclass_guess_t g[OB_ROUTE_SUGGEST_MAX];
    const s_rule_t *hit[OB_ROUTE_SUGGEST_MAX] = {NULL};
    const char *dept[OB_ROUTE_SUGGEST_MAX] = {NULL};
    size_t n = ob_textclass_predict(self->model, order->title, order->content, g,
                                    OB_ROUTE_SUGGEST_MAX);
    for (size_t i = 0; i < n; i++)
        dept[i] = s_label_dept(self, sc, g[i].label, &hit[i]);
    bool route = n && g[0].prob >= self->model_threshold && dept[0];
    s_rule_t as_dept;   /* a department label: dispatch as a rule without settings would */
    memset(&as_dept, 0, sizeof as_dept);
    as_dept.decision = OB_DECISION_DISPATCH;
    if (route && !hit[0])
        s_copy(as_dept.lead, sizeof as_dept.lead, dept[0]);
    s_decide(self, route ? (hit[0] ? hit[0] : &as_dept) : NULL, &sc->ev, out);
    out->decided = false;   /* no rule matched the order as it came */
    out->by_model = route && out->decision == OB_DECISION_DISPATCH;
    if (!route && n && g[0].prob < self->model_threshold)
        snprintf(out->reason, sizeof out->reason,
                 "no rule matched and the model is unsure: %.3f for '%s', threshold %.3f",
                 g[0].prob, g[0].label, self->model_threshold);
    else if (!route && n)
        snprintf(out->reason, sizeof out->reason,
                 "no rule matched and the rules dispatch no order of the model's label '%s'",
                 g[0].label);
    s_copy(out->model_version, sizeof out->model_version, ob_textclass_version(self->model));
    out->model_prob = n ? g[0].prob : 0;
    out->model_threshold = self->model_threshold;
    out->n_suggest = n;
    for (size_t i = 0; i < n; i++) {
        s_copy(out->suggest[i].label, sizeof out->suggest[i].label, g[i].label);
        s_copy(out->suggest[i].dept, sizeof out->suggest[i].dept, dept[i]);
        out->suggest[i].prob = g[i].prob;
    }
}

/* The deciding rule, or the model when none decides and the set has one. */
static void s_route_scanned(const ob_rules_t *self, s_scan_t *sc, ob_route_t *out)
{
    const s_rule_t *hit = s_pick(self, &sc->ev, sc->ids, sc->nids);
    if (!hit && self->model)
        s_model_decide(self, sc, out);
    else
        s_decide(self, hit, &sc->ev, out);
}

const char *ob_rules_category_dept(const ob_rules_t *self, const char *label)
{
    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    s_scan_t sc;
    s_scan(self, &order, &sc);
    const s_rule_t *hit = s_pick_as(self, &sc, label);
    free(sc.ev.target);
    return hit && hit->decision == OB_DECISION_DISPATCH ? hit->lead : NULL;
}

/* Routes by the first matching rule in priority order, then the model
   (see ob_rules.h). */
int ob_rules_route(ob_rules_t *self, const ob_workorder_t *order, ob_route_t *out)
{
    assert(self);
    assert(order);
    assert(out);
    s_scan_t sc;
    s_scan(self, order, &sc);
    s_route_scanned(self, &sc, out);
    free(sc.ev.target);
    return 0;
}

size_t ob_rules_explain(ob_rules_t *self, const ob_workorder_t *order, ob_route_t *route,
                        ob_rule_explain_t *items, size_t nitems)
{
    assert(self);
    assert(order);
    s_scan_t sc;
    s_scan(self, order, &sc);
    if (route)
        s_route_scanned(self, &sc, route);
    size_t n = 0;
    for (size_t r = 0; r < self->nrules && n < nitems; r++, n++) {
        const s_rule_t *rule = &self->rules[r];
        ob_rule_explain_t *item = &items[n];
        memset(item, 0, sizeof *item);
        item->rule_id = rule->id;
        item->priority = rule->priority;
        item->line = rule->line;
        item->col = rule->col;
        item->matched = !rule->when || s_holds(rule->when, &sc.ev, item->why, sizeof item->why);
        if (item->matched)
            item->why[0] = '\0';
    }
    free(sc.ev.target);
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

/* The name of `id` in v[0..n), NULL when none (or id is NULL). */
static const char *s_name_of(const s_dept_t *v, size_t n, const char *id)
{
    for (size_t i = 0; id && i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            return v[i].name;
    return NULL;
}

const char *ob_rules_dept_lookup(ob_rules_t *self, const char *id)
{
    assert(self);
    return s_name_of(self->depts, self->ndepts, id);
}

const char *ob_rules_site_lookup(ob_rules_t *self, const char *id)
{
    assert(self);
    return s_name_of(self->sites, self->nsites, id);
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

