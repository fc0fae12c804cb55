/*  ob_log.h — one-line log events to stderr (journald friendly).

    Format: "<prog>[<pid>]: <level>: <message>". Never pass personal data
    (complainant name, phone, address, id number, free text) to a log call:
    log order ids and case numbers only.                                   */
#ifndef OB_LOG_H
#define OB_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum { OB_LOG_ERROR = 0, OB_LOG_WARN = 1, OB_LOG_INFO = 2, OB_LOG_DEBUG = 3 };

/* Sets the program name and the most verbose level printed (default INFO). */
void ob_log_init(const char *prog, int level);
void ob_log_set_level(int level);
int  ob_log_level(void);
void ob_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ob_error(...) ob_log(OB_LOG_ERROR, __VA_ARGS__)
#define ob_warn(...)  ob_log(OB_LOG_WARN, __VA_ARGS__)
#define ob_info(...)  ob_log(OB_LOG_INFO, __VA_ARGS__)
#define ob_debug(...) ob_log(OB_LOG_DEBUG, __VA_ARGS__)

/* A rate limit for a log line that may repeat (a failing disk, a peer that
   keeps refusing): the first occurrence is logged, the next ones within
   `interval_ms` are counted, and the first one after it is logged with the
   count of those suppressed. Zero-initialise; one per kind of line. */
typedef struct {
    int64_t last_ms;           /* when a line was last logged (0: never) */
    unsigned suppressed;       /* occurrences not logged since */
} ob_log_limit_t;

/* Returns true when this occurrence is to be logged, with *suppressed set
   to how many were not since the last logged one; false otherwise. */
bool ob_log_limit(ob_log_limit_t *limit, int64_t now_ms, int interval_ms, unsigned *suppressed);

void ob_log_test(bool verbose);

#endif
