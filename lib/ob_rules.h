/*  ob_rules.h — routing rules (DESIGN §6), loaded from YAML (libyaml).

    This release matches on category path prefix and district and decides
    the lead department and the sign and reply deadlines; the file format is
    the one the full rules engine grows into (router-rules/README.md).      */
#ifndef OB_RULES_H
#define OB_RULES_H

#include "ob_common.h"

#define OB_RULE_ID_MAX 64

typedef struct ob_rules ob_rules_t;

/* A routing decision. matched false: no rule applies (PENDING_MANUAL). */
typedef struct {
    bool matched;
    char rule_id[OB_RULE_ID_MAX];
    char dept[OB_DEPT_MAX];      /* lead department id */
    uint32_t sign_hours;         /* sign within, working hours */
    uint32_t reply_days;         /* reply within, working days (0: use reply_hours) */
    uint32_t reply_hours;        /* reply within, working hours, when reply_days is 0 */
} ob_route_t;

/* Loads and validates a rule file. On error NULL and err holds
   "file:line:column: message" (the first problem). */
ob_rules_t *ob_rules_load(const char *path, char *err, size_t errlen);
void ob_rules_destroy(ob_rules_t **self_p);

/* Routes one order: the first matching rule by priority (higher first), then
   file order. Fills *out; out->matched false when nothing matches. Returns 0. */
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

/* Deadlines used when a decision has none of its own (manual routing). */
void ob_rules_default_deadlines(ob_rules_t *self, uint32_t *sign_hours,
                                uint32_t *reply_days, uint32_t *reply_hours);

void ob_rules_test(bool verbose);

#endif
