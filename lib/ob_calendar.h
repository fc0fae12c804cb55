/*  ob_calendar.h — deadlines in working time.

    Two kinds of calendar, one interface:

    - ob_calendar_new_weekdays(): Monday to Friday work, Saturday and Sunday
      off, every hour of a working day is a working hour (24 working hours
      make one working day). No holidays. This is what a site without a
      calendar file gets, and what the broker used before calendar files.

    - ob_calendar_load(): one YAML file per year (router-rules/calendar/,
      e.g. CN-2026.yaml, the State Council's 2026 schedule): weekend days,
      public holidays, make-up working days (调休: weekend dates that are
      working days), working hours of a working day (e.g. 09:00-12:00 and
      13:30-17:30) and the warning fraction (预警). Format:
      router-rules/calendar/README.md.

    Years without a file (loaded calendars only): every day follows the
    weekly pattern of the nearest loaded year, that is its weekend days and
    its working hours, with no holidays and no make-up days. The nearest
    year is the latest loaded year for later years, the earliest for
    earlier years, and the earlier of two equally near ones in a gap. Such
    a deadline is only as right as that assumption: load the file of every
    year the site's deadlines reach (ob_calendar_first_year/last_year tell
    which years are covered).

    All instants are unix milliseconds; days, weekdays and hours are those of
    the calendar's zone (a fixed UTC offset: China has no daylight saving).
    Instants more than 1e14 ms (about 3170 years) from 1970 are returned
    unchanged by the add functions and are never working time.             */
#ifndef OB_CALENDAR_H
#define OB_CALENDAR_H

#include "ob_common.h"

typedef struct ob_calendar ob_calendar_t;

/* A weekday calendar for a zone `utc_offset_min` minutes east of UTC
   (China: 480). Working hours 00:00-24:00, warning fraction 0.8.
   NULL on out of memory or an offset beyond +-24 h. */
ob_calendar_t *ob_calendar_new_weekdays(int utc_offset_min);

/* Loads a calendar from `npaths` year files (one year each, any order).
   Every file must name the same time zone and warning fraction, and no
   year may come twice. NULL on error, with err holding
   "file:line:column: message" (or "file: message" when the file cannot be
   read), the first problem found. */
ob_calendar_t *ob_calendar_load(const char *const *paths, size_t npaths, char *err,
                                size_t errlen);

void ob_calendar_destroy(ob_calendar_t **self_p);

/* True if the local day containing `ms` is a working day. */
bool ob_calendar_is_working_day(ob_calendar_t *self, int64_t ms);

/* True if `ms` lies inside the working hours of a working day (periods are
   half open: 09:00 is working time, 12:00 is not when the morning ends
   at 12:00). */
bool ob_calendar_is_working_time(ob_calendar_t *self, int64_t ms);

/* The instant `days` working days after `from_ms`: a start outside working
   time first moves to the next working time (the next working day's 00:00
   on a weekday calendar, its first opening on a loaded one); the deadline
   is that moment's local time of day on the days-th working day after its
   day. Should the time of day not be working time on that day (years with
   different working hours), the deadline moves to the next working time.
   So a deadline never falls on a holiday or a weekend. Zero days returns
   from_ms unchanged. */
int64_t ob_calendar_add_days(ob_calendar_t *self, int64_t from_ms, uint32_t days);

/* The instant after `hours` hours of working time have passed from from_ms
   (time outside working hours and on days off does not count). A deadline
   that uses up a working period exactly ends at that period's close
   (17:30, not the next opening; Friday 24:00 on a weekday calendar). Zero
   hours returns from_ms unchanged. */
int64_t ob_calendar_add_hours(ob_calendar_t *self, int64_t from_ms, uint32_t hours);

/* A time limit as rules give it: `days` working days, or when days is 0,
   `hours` working hours. */
typedef struct {
    uint32_t days;
    uint32_t hours;
} ob_limit_t;

/* The end of `limit` counted from from_ms: ob_calendar_add_days when it is
   in days, else ob_calendar_add_hours. */
int64_t ob_calendar_add_limit(ob_calendar_t *self, int64_t from_ms, ob_limit_t limit);

/* Working time between two instants, in ms (0 when to_ms <= from_ms). */
int64_t ob_calendar_working_ms(ob_calendar_t *self, int64_t from_ms, int64_t to_ms);

/* The warning instant (预警) of a limit running from start_ms to
   deadline_ms: the moment when the calendar's warning fraction of the
   working time between them has passed (a period used up exactly ends at
   its close, as in add_hours). The deadline itself when deadline_ms <=
   start_ms or no working time lies between them. */
int64_t ob_calendar_warning_at(ob_calendar_t *self, int64_t start_ms, int64_t deadline_ms);

/* The warning fraction, 0 < f < 1 (the files' `warning:`; 0.8 by default). */
double ob_calendar_warning_fraction(ob_calendar_t *self);

/* The zone, minutes east of UTC. */
int ob_calendar_utc_offset_min(ob_calendar_t *self);

/* Years covered by files; both 0 for a weekday calendar. */
int ob_calendar_first_year(ob_calendar_t *self);
int ob_calendar_last_year(ob_calendar_t *self);

/* Name of the holiday or make-up working day (调休) containing `ms`, as the
   file gives it ("春节", "春节调休上班"); NULL for an ordinary day. Borrowed:
   valid until the calendar is destroyed. */
const char *ob_calendar_day_name(ob_calendar_t *self, int64_t ms);

void ob_calendar_test(bool verbose);

#endif
