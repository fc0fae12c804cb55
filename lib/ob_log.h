/*  ob_log.h — one-line log events to stderr (journald friendly).

    Format: "<prog>[<pid>]: <level>: <message>". Never pass personal data
    (complainant name, phone, address, id number, free text) to a log call:
    log order ids and case numbers only.                                   */
#ifndef OB_LOG_H
#define OB_LOG_H

#include <stdbool.h>

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

void ob_log_test(bool verbose);

#endif
