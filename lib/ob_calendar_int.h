/*  ob_calendar_int.h — the private structures of ob_calendar, shared by
    ob_calendar.c (working-time arithmetic) and ob_calendar_load.c (the
    year files). Nothing here is API: callers include ob_calendar.h.      */
#ifndef OB_CALENDAR_INT_H
#define OB_CALENDAR_INT_H

#include "ob_calendar.h"

#define S_MIN_MS  ((int64_t) 60 * 1000)
#define S_HOUR_MS ((int64_t) 3600 * 1000)
#define S_DAY_MS  (24 * S_HOUR_MS)
#define S_WEEK_MS (7 * S_DAY_MS)

#define S_MAX_SPANS  8             /* working periods in a day */
#define S_PPM        1000000       /* warning fraction unit */
#define S_DEFAULT_WARNING_PPM 800000

/* Instants more than 1e14 ms (about 3170 years) from 1970 are returned
   unchanged by the add functions and are never working time: inside this
   bound every intermediate value fits in int64 even for UINT32_MAX days
   (6e9 calendar days, 5.2e17 ms). */
#define S_LIMIT_MS ((int64_t) 100000000 * 1000 * 1000)

/* One working period of a day, in ms from local midnight: [open, close). */
typedef struct {
    int64_t open, close;
} s_span_t;

/* A weekly pattern: what a day is when no file says otherwise. */
typedef struct {
    uint8_t weekend;                /* bit w set: weekday w (0 Monday) is off */
    s_span_t spans[S_MAX_SPANS];    /* working periods, sorted, disjoint */
    int nspans;                     /* at least one */
    int64_t day_ms;                 /* working ms in a working day */
    int wdays;                      /* working days in a week, 1..7 */
    int64_t week_ms;                /* working ms in a week */
} s_pattern_t;

/* One year file, validated. */
typedef struct {
    int year;
    int64_t first_day;              /* local day number of 1 January */
    int ndays;                      /* 365 or 366 */
    uint8_t working[366];           /* per day of the year: 1 working */
    uint16_t name[366];             /* per day: index + 1 into names, 0 none */
    s_pattern_t pat;                /* weekend and hours of this year */
    char **names;                   /* holiday and make-up day names */
    size_t nnames;
} s_year_t;

struct ob_calendar {
    int64_t offset_ms;              /* zone offset east of UTC, in ms */
    int64_t warning_ppm;            /* warning fraction, parts per million */
    s_pattern_t weekdays;           /* the pattern when no year is loaded */
    s_year_t *years;                /* sorted by year; NULL for weekdays */
    size_t nyears;
};

/* --- shared between the two files (ob_calendar.c) ------------------------ */

/* Day of the week of local day number `day`: 0 Monday .. 6 Sunday. */
int ob_calendar_weekday(int64_t day);

/* Day number of civil date y-m-d (Howard Hinnant's days_from_civil). */
int64_t ob_calendar_days_from_civil(int64_t y, int m, int d);

/* Fills the derived fields of a pattern from weekend and spans. */
void ob_calendar_pattern_finish(s_pattern_t *pat);

/* Frees years[0..nyears) and their names, then the array. Safe on NULL. */
void ob_calendar_years_free(s_year_t *years, size_t nyears);

#endif
