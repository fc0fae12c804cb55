/*  fuzz_rules.c — fuzz target for the rule file loader (ob_rules_load).

    ob_rules_load reads a path, so each input is written to one temp file,
    created once with mkstemp and rewritten in place; the file is removed
    at exit. Any input must load or fail with a message, never crash, hang
    or leak. A successful load is also exercised: every department, the
    defaults, and a routing of a few orders.                              */
#include "ob_common.h"
#include "ob_rules.h"
#include <unistd.h>

static char s_path[256];
static int s_fd = -1;

static void s_cleanup(void)
{
    if (s_fd >= 0) {
        close(s_fd);
        unlink(s_path);
        s_fd = -1;
    }
}

static int s_open_once(void)
{
    if (s_fd >= 0)
        return 0;
    const char *dir = getenv("TMPDIR");
    snprintf(s_path, sizeof s_path, "%s/ob_fuzz_rules_XXXXXX", dir && *dir ? dir : "/tmp");
    s_fd = mkstemp(s_path);
    if (s_fd < 0)
        return -1;
    atexit(s_cleanup);
    return 0;
}

static void s_route_some(ob_rules_t *rules)
{
    static char *paths[][3] = {
        {(char *) "城乡建设", (char *) "物业管理", (char *) "物业服务"},
        {(char *) "环境保护", (char *) "环境污染", NULL},
        {(char *) "a", (char *) "b", (char *) "c"},
    };
    static const size_t counts[] = {3, 2, 3};
    ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
    Orderbus__V1__Location loc = ORDERBUS__V1__LOCATION__INIT;
    loc.district_code = (char *) "A3";
    for (size_t i = 0; i < 3; i++) {
        order.category = paths[i];
        order.n_category = counts[i];
        order.urgency = (Orderbus__V1__Urgency) (i % 3);
        order.location = (i == 1) ? NULL : &loc;
        ob_route_t route;
        ob_rules_route(rules, &order, &route);
        if (route.matched && !ob_rules_dept_lookup(rules, route.dept))
            abort();  /* a rule led to an undeclared department */
    }
}

struct s_diags {
    int errors, warnings;
};

/* Every diagnostic has a message and a path; errors are counted. */
static void s_diag(void *arg, bool warning, const char *path, size_t line, size_t col,
                   const char *message)
{
    struct s_diags *d = arg;
    if (!path || !message || !*message)
        abort();
    (void) line;
    (void) col;
    if (warning)
        d->warnings++;
    else
        d->errors++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_open_once() != 0)
        return 0;
    if (ftruncate(s_fd, 0) != 0 || pwrite(s_fd, data, size, 0) != (ssize_t) size)
        return 0;
    char err[512];
    ob_rules_t *rules = ob_rules_load(s_path, err, sizeof err);
    int rules_loaded = rules != NULL;
    if (rules) {
        size_t n = ob_rules_dept_count(rules);
        for (size_t i = 0; i < n; i++)
            if (!ob_rules_dept_id(rules, i) || !ob_rules_dept_name(rules, i))
                abort();
        ob_limit_t sign, reply;
        ob_rules_default_deadlines(rules, &sign, &reply);
        if ((sign.days == 0) == (sign.hours == 0) || (reply.days == 0) == (reply.hours == 0))
            abort();  /* exactly one of days and hours */
        if (!ob_rules_version(rules))
            abort();
        s_route_some(rules);
        ob_rules_destroy(&rules);
    }
    else if (err[0] == '\0')
        abort();  /* a failure always says why */
    /* the checker reads the same bytes: it must agree that the file loads
       (no error) exactly when ob_rules_load does */
    struct s_diags d = {0, 0};
    int errors = ob_rules_check(s_path, s_diag, &d);
    if ((errors == 0) != (rules_loaded != 0) || errors != d.errors)
        abort();
    return 0;
}
