/*  broker_rules.c — swapping the rule set: loaded and validated whole, or
    refused with every error listed while the old set keeps running
    (SIGHUP, and the client service's RulesReload).                        */
#include "broker.h"
#include "ob_log.h"

/* Collects the errors of a refused rule file, one line each. */
typedef struct {
    char *buf;
    size_t len, used;
    int count;
} s_reload_errors_t;

static void s_reload_error(void *arg, bool warning, const char *path, size_t line, size_t col,
                           const char *message)
{
    s_reload_errors_t *e = arg;
    if (warning)
        return;
    int n = line ? snprintf(e->buf + e->used, e->len - e->used, "%s%s:%zu:%zu: %s",
                            e->count ? "\n" : "", path, line, col, message)
                 : snprintf(e->buf + e->used, e->len - e->used, "%s%s: %s",
                            e->count ? "\n" : "", path, message);
    if (n > 0 && (size_t) n < e->len - e->used) {
        e->used += (size_t) n;
        e->count++;
    }
}

int broker_reload_rules(broker_t *self, char *err, size_t errlen)
{
    if (!self->cfg.rules_path) {
        snprintf(err, errlen, "the broker was started without a rule file");
        return -1;
    }
    ob_rules_t *rules = ob_rules_load(self->cfg.rules_path, err, errlen);
    if (!rules) {
        /* the loader stops at the first problem: the checker lists them all */
        s_reload_errors_t all = {err, errlen, 0, 0};
        char first[1024];
        snprintf(first, sizeof first, "%s", err);
        err[0] = '\0';
        ob_rules_check(self->cfg.rules_path, s_reload_error, &all);
        if (!all.count)
            snprintf(err, errlen, "%s", first);   /* e.g. the file went away */
        ob_error("rule reload refused, the old rules keep running: %s%s", first,
                 all.count > 1 ? " (and more: orderbus rules check FILE lists them)" : "");
        return -1;
    }
    /* swapped whole between two batches: orders already routed keep the
       decision (and rule id) they got */
    ob_rules_destroy(&self->rules);
    self->rules = rules;
    ob_info("rules reloaded: version %s", ob_rules_version(rules));
    snprintf(err, errlen, "rules reloaded: version %s", ob_rules_version(rules));
    return 0;
}
