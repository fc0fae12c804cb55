/*  ob_rules.h — routing rules (DESIGN §6), loaded from YAML (libyaml).

    Conditions on category (prefix or exact, checked against a taxonomy),
    keywords and phrases in title and content (one Aho-Corasick matcher for
    every rule), negative keywords, district, street, GeoJSON polygons,
    channel, appeal type, urgency, anonymous, the organisation complained
    about, hours and weekdays of receipt, nested with all/any/not.
    Decisions: lead department with assisting departments and deadlines by
    urgency, handling priority, confidentiality, not accepted (reject with
    a reason and a referral), transfer to another site, or manual routing
    on purpose. Recusal (回避) keeps an order away from the department it
    complains about. The format is router-rules/README.md.
    Keyword conditions also come for the title alone (title_keywords,
    title_keywords_none): the title is still scanned once.

    A loaded rule set is immutable: routing only reads it (a broker swaps
    a freshly loaded set in whole on reload), and it may be shared by
    threads.                                                              */
#ifndef OB_RULES_H
#define OB_RULES_H

#include "ob_common.h"
#include "ob_calendar.h"
#include "ob_textclass.h"

#define OB_RULE_ID_MAX 64
#define OB_RULES_VERSION_MAX 129   /* the file's `version:`, NUL included */
#define OB_ROUTE_ASSIST_MAX 16     /* assisting departments in one decision */
#define OB_ROUTE_TEXT_MAX 512      /* reject reason, manual reason, transfer reason */
#define OB_ROUTE_REFERRAL_MAX 64
#define OB_ROUTE_SUGGEST_MAX 3     /* the model's suggestions in one decision */
#define OB_ROUTE_LABEL_MAX (OB_TEXTCLASS_LABEL_MAX + 1)

typedef struct ob_rules ob_rules_t;

/* What the routing decided. */
typedef enum {
    OB_DECISION_MANUAL = 0,   /* PENDING_MANUAL: no rule matched, a rule said `manual`, or
                                 recusal left no department */
    OB_DECISION_DISPATCH = 1, /* dispatch to `dept` (matched is true) */
    OB_DECISION_REJECT = 2,   /* 不予受理: reason, referral */
    OB_DECISION_TRANSFER = 3, /* 转办 to site `site` */
} ob_decision_t;

/* A routing decision. matched true: dispatch to dept (the fields of the
   first release; a broker that reads only them treats reject, transfer
   and manual decisions as PENDING_MANUAL, which is safe). */
typedef struct {
    bool matched;                /* decision is DISPATCH: dept is set */
    char rule_id[OB_RULE_ID_MAX];/* the deciding rule; empty when no rule matched */
    char dept[OB_DEPT_MAX];      /* lead department id */
    ob_limit_t sign_within;      /* sign within (working days or hours) */
    ob_limit_t reply_within;     /* reply within */

    /* Full engine. */
    bool decided;                /* a rule decided (any decision); rule_id names it */
    ob_decision_t decision;
    char version[OB_RULES_VERSION_MAX];  /* version of the rule set that decided */
    size_t n_assist;             /* assisting departments (协办), lead excluded */
    char assist[OB_ROUTE_ASSIST_MAX][OB_DEPT_MAX];
    ob_limit_t assist_within;    /* assisting departments' opinion deadline (协办时限),
                                    from dispatch; zero when n_assist is 0 */
    uint32_t priority;           /* handling priority 0..9 (0 normal) */
    bool confidential;           /* 保密 */
    char reason[OB_ROUTE_TEXT_MAX];        /* reject reason, or manual / transfer reason */
    char referral[OB_ROUTE_REFERRAL_MAX];  /* reject: "110", "119", "120", "122", "court", ... */
    char site[OB_DEPT_MAX];      /* transfer: the site id */
    char site_name[OB_ROUTE_TEXT_MAX];     /* its display name */
    char recused[OB_DEPT_MAX];   /* non-empty: recusal applied, this department was
                                    named by target_org and removed from the decision */

    /* The routing model (a rule set with `model:`), asked when no rule
       decided: by_model true when it decided (a dispatch), else the order
       is manual and the suggestions are for the dispatcher. */
    bool by_model;               /* the model decided: suggest[0] at model_prob >= threshold */
    char model_version[OB_TEXTCLASS_VERSION_LEN + 1];  /* non-empty: the model was asked */
    double model_prob;           /* the top label's probability */
    double model_threshold;      /* the threshold it was held to */
    size_t n_suggest;            /* most probable first */
    struct {
        char label[OB_ROUTE_LABEL_MAX];  /* the model's label: a category path or a
                                            department id */
        char dept[OB_DEPT_MAX];          /* the department the rules give it; "" when none */
        double prob;
    } suggest[OB_ROUTE_SUGGEST_MAX];
} ob_route_t;

/* Loads and validates a rule file (and the taxonomy and GeoJSON files it
   names, relative to its directory). A file that names no `taxonomy:` is
   checked against taxonomy.csv beside it when there is one; `taxonomy:
   false` checks no category. On error NULL and err holds
   "file:line:column: message" (the first problem), or "file: message"
   for a problem of the whole file (it cannot be read, the taxonomy.csv
   beside it is bad). */
ob_rules_t *ob_rules_load(const char *path, char *err, size_t errlen);
void ob_rules_destroy(ob_rules_t **self_p);

/* Routes one order: the first matching rule by priority (higher first), then
   file order; recusal applied. Fills *out (zeroed first); out->matched false
   when the order is not dispatched (see decision). Deadlines are always
   filled: the rule's, else the defaults (for manual routing). Returns 0. */
int ob_rules_route(ob_rules_t *self, const ob_workorder_t *order, ob_route_t *out);

/* Version string of the loaded set: the file's `version:` value. */
const char *ob_rules_version(ob_rules_t *self);

/* The site's zone from the file's `timezone:` (minutes east of UTC). */
int ob_rules_utc_offset_min(ob_rules_t *self);

/* Departments declared in the file's `departments:` list. */
size_t ob_rules_dept_count(ob_rules_t *self);
const char *ob_rules_dept_id(ob_rules_t *self, size_t i);
const char *ob_rules_dept_name(ob_rules_t *self, size_t i);
/* Name of department `id`, or NULL if the file does not declare it. */
const char *ob_rules_dept_lookup(ob_rules_t *self, const char *id);

/* Sites declared under `sites:` (transfer targets). */
const char *ob_rules_site_lookup(ob_rules_t *self, const char *id);

/* Deadlines used when a decision has none of its own (manual routing). */
void ob_rules_default_deadlines(ob_rules_t *self, ob_limit_t *sign, ob_limit_t *reply);

/* Recusal: true when the order's target_org names department `dept` (by
   its display name or the recusal section's names), so that `dept` must
   not handle it (also for a dispatcher's manual routing). */
bool ob_rules_recused(ob_rules_t *self, const ob_workorder_t *order, const char *dept);

/* --- the routing model --------------------------------------------------- */

/* The model the file names (`model:`), loaded and checked with the rules:
   borrowed, NULL when the file names none. Its labels are departments of
   the file or categories its rules dispatch (a model whose labels are
   neither refuses the whole set). */
ob_textclass_t *ob_rules_model(ob_rules_t *self);

/* The threshold the model is held to: the file's `threshold:`, else the
   one the model was trained with. */
double ob_rules_model_threshold(ob_rules_t *self);

/* The model file as the rule file names it (NULL: none). */
const char *ob_rules_model_file(ob_rules_t *self);

/* --- explaining (orderbus rules test) ----------------------------------- */

#define OB_EXPLAIN_MAX 512

typedef struct {
    const char *rule_id;   /* borrowed from the rule set */
    long priority;
    size_t line, col;      /* the rule's position in the file */
    bool matched;          /* its conditions hold */
    char why[OB_EXPLAIN_MAX];  /* when not: the first condition that failed, and why */
} ob_rule_explain_t;

/* Number of rules in the set. */
size_t ob_rules_count(ob_rules_t *self);

/* Routes `order` into *route as ob_rules_route does, and evaluates every
   rule in the order they are tried into items[0 .. min(nitems, count)).
   The `why` texts quote the rules (values written in the file) and enum,
   category, district and time values of the order, never its title,
   content, address or target_org. Returns the number of items filled. */
size_t ob_rules_explain(ob_rules_t *self, const ob_workorder_t *order, ob_route_t *route,
                        ob_rule_explain_t *items, size_t nitems);

/* Name of a decision: "dispatch", "manual", "reject", "transfer". */
const char *ob_decision_name(ob_decision_t decision);

/* --- checking (orderbus rules check) ------------------------------------ */

/* One problem found by ob_rules_check. line 0: no position (file level). */
typedef void(ob_rules_diag_fn)(void *arg, bool warning, const char *path, size_t line,
                               size_t col, const char *message);

/* Validates the file like ob_rules_load, but goes on after an error in one
   rule to report the others, then reports warnings: categories that no
   taxonomy checks (file level, line 0: no `taxonomy:`, no taxonomy.csv
   beside the file, and not `taxonomy: false`); rules that can never
   decide (shadowed by an earlier unconditional or strictly more general
   rule of higher or equal priority; conditions inside `all:` count as
   the rule's own); and rules at the same priority with different
   decisions that one order can match both of, whatever the kinds of
   their conditions. Two such rules are left alone only when that is
   provably impossible: conditions of each on one single-valued field
   (category, district, channel, appeal type, urgency, anonymous, hours,
   weekdays) whose values do not meet; a keyword one needs that the other
   keeps out (keywords_none, title_keywords_none or not:, a word inside
   the keyword included); a `not:` of one that the other implies; or
   every alternative of an `any:` ruled out so. Street, target_org,
   polygon and positive keyword conditions never prove it. The warning
   reads "overlaps" when the two have the same kinds of conditions with
   values that meet, "may overlap" otherwise. Calls fn once per problem,
   in file order for errors, the warnings of rules in file order. Returns
   the number of errors (0: the file loads). */
int ob_rules_check(const char *path, ob_rules_diag_fn *fn, void *arg);

void ob_rules_test(bool verbose);

#endif
