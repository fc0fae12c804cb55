/*  ob_calendar.h — deadlines in working time.

    This release knows weekdays only (Monday to Friday work, Saturday and
    Sunday off) in the site's time zone; the working-day calendar with
    holidays and make-up days (调休) comes with the rules engine and keeps
    this interface.                                                         */
#ifndef OB_CALENDAR_H
#define OB_CALENDAR_H

#include "ob_common.h"

typedef struct ob_calendar ob_calendar_t;

/* A weekday calendar for a zone `utc_offset_min` minutes east of UTC
   (China: 480). NULL on out of memory. */
ob_calendar_t *ob_calendar_new_weekdays(int utc_offset_min);
void ob_calendar_destroy(ob_calendar_t **self_p);

/* True if the local day containing `ms` is a working day. */
bool ob_calendar_is_working_day(ob_calendar_t *self, int64_t ms);

/* The instant `days` working days after `from_ms`: same local time of day
   on the days-th working day after from's day. A start on a day off counts
   from the next working day's start (00:00). */
int64_t ob_calendar_add_days(ob_calendar_t *self, int64_t from_ms, uint32_t days);

/* The instant after `hours` hours of working-day time have passed from
   from_ms (hours on days off do not count). */
int64_t ob_calendar_add_hours(ob_calendar_t *self, int64_t from_ms, uint32_t hours);

void ob_calendar_test(bool verbose);

#endif
