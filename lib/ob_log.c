/*  ob_log.c — one-line log events to stderr.                               */
#include "ob_log.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ob_selftest.h"

static char s_prog[32] = "orderbus";
static int s_level = OB_LOG_INFO;

static const char *s_level_names[] = {"error", "warn", "info", "debug"};
static bool s_journal;   /* stderr is journald's stream: lines carry a <priority> */

void ob_log_init(const char *prog, int level)
{
    if (prog)
        snprintf(s_prog, sizeof s_prog, "%s", prog);
    ob_log_set_level(level);
    /* systemd sets JOURNAL_STREAM to the device:inode of the stream it gave
       us; a "<N>" prefix then sets each line's syslog priority, so that
       `journalctl -p warning` works (sd-daemon(3)) */
    s_journal = getenv("JOURNAL_STREAM") != NULL;
}

void ob_log_set_level(int level)
{
    if (level < OB_LOG_ERROR)
        level = OB_LOG_ERROR;
    if (level > OB_LOG_DEBUG)
        level = OB_LOG_DEBUG;
    s_level = level;
}

int ob_log_level(void)
{
    return s_level;
}

void ob_log(int level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    char line[1024];
    static const char *const prio[] = {"<3>", "<4>", "<6>", "<7>"};
    int lv = level < 0 ? 0 : level > 3 ? 3 : level;
    int n = snprintf(line, sizeof line, "%s%s[%d]: %s: ", s_journal ? prio[lv] : "", s_prog,
                     (int) getpid(), s_level_names[lv]);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t) n, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len++] = '\n';
    } else {
        line[sizeof line - 2] = '\n';
        len = sizeof line - 1;
    }
    /* one write() per line so lines from several processes do not mix */
    ssize_t rc = write(STDERR_FILENO, line, len);
    (void) rc;
}

bool ob_log_limit(ob_log_limit_t *limit, int64_t now_ms, int interval_ms, unsigned *suppressed)
{
    if (limit->last_ms && now_ms - limit->last_ms < interval_ms) {
        limit->suppressed++;
        return false;
    }
    *suppressed = limit->suppressed;
    limit->suppressed = 0;
    limit->last_ms = now_ms;
    return true;
}

void ob_log_test(bool verbose)
{
    ob_log_limit_t lim = {0, 0};
    unsigned n = 99;
    bool first = ob_log_limit(&lim, 1000, 30000, &n);
    assert(first && n == 0);
    bool again = ob_log_limit(&lim, 2000, 30000, &n);
    assert(!again);
    again = ob_log_limit(&lim, 3000, 30000, &n);
    assert(!again);
    bool later = ob_log_limit(&lim, 31001, 30000, &n);
    assert(later && n == 2);
    int saved = ob_log_level();
    ob_log_set_level(99);
    assert(ob_log_level() == OB_LOG_DEBUG);
    ob_log_set_level(-5);
    assert(ob_log_level() == OB_LOG_ERROR);
    ob_debug("not printed at error level");
    ob_log_set_level(saved);
    if (verbose)
        ob_info("log self-test line");
}
