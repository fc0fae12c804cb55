/*  ob_rules_int.h — the private structures of the rules engine, shared by
    ob_rules_load.c (YAML -> compiled rule set), ob_rules_route.c (order
    -> decision, explain) and ob_rules_check.c (the linter). Nothing here
    is API: callers include ob_rules.h. The types keep the s_ prefix they
    had when the engine was one file.                                     */
#ifndef OB_RULES_INT_H
#define OB_RULES_INT_H

#include "ob_rules.h"
#include "ob_geo.h"
#include "ob_match.h"
#include "ob_yamltree.h"

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

/* A department, or a site (a transfer target). */
typedef struct {
    char *id;   /* [a-z0-9_-]{1,63} */
    char *name; /* display name, UTF-8 */
    char *norm; /* departments: name normalised for recusal (ASCII lower case,
                   spaces); sites: NULL */
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

/* Keys of `when`, by kind (ob_rules_load.c). */
extern const char *const ob_rules_cond_keys[C_KINDS];

/* Weekday names, 0 Sunday (ob_rules_load.c). */
extern const char *const ob_rules_day_names[7];

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
    s_dept_t *sites;
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
    /* the routing model (ob_rules_model.c) */
    ob_textclass_t *model;    /* `model:`, NULL: none */
    char *model_file;         /* as written */
    double model_threshold;   /* `threshold:`, else the model's own */
};

/* --- shared between the three files ------------------------------------- */

/* Loads `path` in check mode: an error in one rule is reported to fn and
   the other rules are still read. Returns the rule set, or NULL with
   *nerrors set (at least 1; every error already reported to fn).
   (ob_rules_load.c) */
ob_rules_t *ob_rules_load_checked(const char *path, ob_rules_diag_fn *fn, void *arg,
                                  int *nerrors);

/* True when s is one of strs[0..n). (ob_rules_route.c) */
bool ob_rules_strs_has(char **strs, size_t n, const char *s);

/* True when `minute` of the day lies in one of the HOURS ranges of c.
   (ob_rules_route.c) */
bool ob_rules_hours_has(const s_cond_t *c, int minute);

/* Loads the model a rule file names (`model:` node, at `path` resolved
   beside the rule file) and its `threshold:` (node or NULL), after the
   rules: a label must be a department of the file or a category its rules
   dispatch. Returns 0, or -1 with the error at the node. (ob_rules_model.c) */
int ob_rules_model_load(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *model,
                        const ob_yamlnode_t *threshold, const char *path);
void ob_rules_model_free(ob_rules_t *self);

/* The department the rules dispatch an order to that has category path
   `label` ("a/b") and nothing else; NULL when no rule dispatches it.
   (ob_rules_route.c) */
const char *ob_rules_category_dept(const ob_rules_t *self, const char *label);

#endif
