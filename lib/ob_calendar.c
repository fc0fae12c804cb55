/*  ob_calendar.c — deadlines in working time (weekdays only, this release).

    Times are unix milliseconds. All arithmetic happens on "local" time,
    that is unix ms shifted by the zone's UTC offset, cut into days of
    86 400 000 ms numbered from 1970-01-01 (a Thursday). Monday to Friday
    are working days; Saturday and Sunday are off. A working hour is an
    hour of wall-clock time that falls on a working day: the calendar does
    not know office hours, so 24 working hours are one working day.

    The holiday calendar with make-up working days (调休) will replace the
    weekday test in s_is_working() and the week arithmetic in
    s_advance(); the public interface stays the same.                      */
#include "ob_calendar.h"
#include <assert.h>

#define S_HOUR_MS ((int64_t) 3600 * 1000)
#define S_DAY_MS  (24 * S_HOUR_MS)

struct ob_calendar {
    int64_t offset_ms; /* zone offset east of UTC, in ms */
};

/* Floor division for possibly negative times (before 1970). */
static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Day of the week of local day number `day`: 0 Monday .. 6 Sunday. */
static int s_weekday(int64_t day)
{
    int64_t w = (day + 3) % 7; /* day 0 was a Thursday (3) */
    if (w < 0)
        w += 7;
    return (int) w;
}

static bool s_is_working(int64_t day)
{
    return s_weekday(day) < 5;
}

/* Instants beyond about +-3 million years are returned unchanged by the
   add functions: inside this bound every intermediate value fits in
   int64 even for UINT32_MAX days (6e9 calendar days, 5.2e17 ms). */
#define S_LIMIT_MS ((int64_t) 100000000 * 1000 * 1000)

static bool s_in_range(int64_t ms)
{
    return ms > -S_LIMIT_MS && ms < S_LIMIT_MS;
}

/* The first working day at or after local day `day`. */
static int64_t s_next_working(int64_t day)
{
    while (!s_is_working(day))
        day++;
    return day;
}

/* The n-th working day after working day `day` (n = 0: day itself). */
static int64_t s_advance(int64_t day, uint64_t n)
{
    assert(s_is_working(day));
    int w = s_weekday(day);
    int64_t weeks = (int64_t) (n / 5);
    int r = (int) (n % 5);
    day += weeks * 7;
    day += (w + r <= 4) ? r : r + 2;
    return day;
}

/* Local day-start instant of day `day`, as unix ms. */
static int64_t s_day_start(ob_calendar_t *self, int64_t day)
{
    return day * S_DAY_MS - self->offset_ms;
}

ob_calendar_t *ob_calendar_new_weekdays(int utc_offset_min)
{
    /* Real zones lie within -12:00 .. +14:00; anything past a day is
       a caller's bug, refused rather than asserted. */
    if (utc_offset_min < -24 * 60 || utc_offset_min > 24 * 60)
        return NULL;
    ob_calendar_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->offset_ms = (int64_t) utc_offset_min * 60 * 1000;
    return self;
}

void ob_calendar_destroy(ob_calendar_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

bool ob_calendar_is_working_day(ob_calendar_t *self, int64_t ms)
{
    assert(self);
    if (!s_in_range(ms))
        return false;
    return s_is_working(s_floor_div(ms + self->offset_ms, S_DAY_MS));
}

/* Same local time of day on the days-th working day after from's day; a
   start on a day off counts from the next working day at 00:00. Zero days
   returns from_ms unchanged. */
int64_t ob_calendar_add_days(ob_calendar_t *self, int64_t from_ms, uint32_t days)
{
    assert(self);
    if (days == 0 || !s_in_range(from_ms))
        return from_ms;
    int64_t local = from_ms + self->offset_ms;
    int64_t day = s_floor_div(local, S_DAY_MS);
    int64_t tod = local - day * S_DAY_MS;
    if (!s_is_working(day)) {
        day = s_next_working(day);
        tod = 0;
    }
    day = s_advance(day, days);
    return s_day_start(self, day) + tod;
}

/* Walks forward from from_ms counting only time on working days. The rest
   of the start day is used first; then whole working days are skipped by
   week arithmetic, so the cost does not grow with `hours`. Zero hours
   returns from_ms unchanged. A deadline that ends exactly at midnight
   after a working day is that midnight (Friday 24:00 = Saturday 00:00). */
int64_t ob_calendar_add_hours(ob_calendar_t *self, int64_t from_ms, uint32_t hours)
{
    assert(self);
    if (hours == 0 || !s_in_range(from_ms))
        return from_ms;
    int64_t rem = (int64_t) hours * S_HOUR_MS;
    int64_t local = from_ms + self->offset_ms;
    int64_t day = s_floor_div(local, S_DAY_MS);
    if (s_is_working(day)) {
        int64_t avail = (day + 1) * S_DAY_MS - local;
        if (rem <= avail)
            return from_ms + rem;
        rem -= avail;
    }
    /* Now at 00:00 of day + 1 with rem > 0 working ms to go. */
    day = s_next_working(day + 1);
    int64_t full = rem / S_DAY_MS;
    int64_t part = rem % S_DAY_MS;
    if (part == 0) /* ends at the midnight closing the full-th working day */
        return s_day_start(self, s_advance(day, (uint64_t) (full - 1)) + 1);
    return s_day_start(self, s_advance(day, (uint64_t) full)) + part;
}

/* --- self-test ---------------------------------------------------------- */

/* Unix ms of local wall time y-m-d h:mi in a zone of `off` minutes. */
static int64_t s_local(int y, int m, int d, int h, int mi, int off)
{
    /* days from civil (Howard Hinnant's algorithm) */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * S_DAY_MS + ((int64_t) h * 60 + mi - off) * 60 * 1000;
}

void ob_calendar_test(bool verbose)
{
    const int cn = 480;
    ob_calendar_t *cal = ob_calendar_new_weekdays(cn);
    assert(cal);

    /* 2026-11-20 is a Friday, 21 Saturday, 22 Sunday, 23 Monday. */
    int64_t fri_18 = s_local(2026, 11, 20, 18, 0, cn);
    int64_t sat_10 = s_local(2026, 11, 21, 10, 0, cn);
    int64_t sun_23 = s_local(2026, 11, 22, 23, 59, cn);
    int64_t mon_00 = s_local(2026, 11, 23, 0, 0, cn);
    assert(ob_calendar_is_working_day(cal, fri_18));
    assert(!ob_calendar_is_working_day(cal, sat_10));
    assert(!ob_calendar_is_working_day(cal, sun_23));
    assert(ob_calendar_is_working_day(cal, mon_00));
    /* The zone matters: Friday 23:00 UTC is Saturday 07:00 in China. */
    int64_t fri_23_utc = s_local(2026, 11, 20, 23, 0, 0);
    assert(!ob_calendar_is_working_day(cal, fri_23_utc));
    ob_calendar_t *utc = ob_calendar_new_weekdays(0);
    assert(utc);
    assert(ob_calendar_is_working_day(utc, fri_23_utc));

    /* Friday 18:00 + 24 working hours: 6 h on Friday, 18 h on Monday. */
    assert(ob_calendar_add_hours(cal, fri_18, 24) == s_local(2026, 11, 23, 18, 0, cn));
    /* + 48 h: Tuesday 18:00. */
    assert(ob_calendar_add_hours(cal, fri_18, 48) == s_local(2026, 11, 24, 18, 0, cn));
    /* + 6 h ends exactly at Friday midnight. */
    assert(ob_calendar_add_hours(cal, fri_18, 6) == s_local(2026, 11, 21, 0, 0, cn));
    /* + 7 h: 1 h into Monday. */
    assert(ob_calendar_add_hours(cal, fri_18, 7) == s_local(2026, 11, 23, 1, 0, cn));
    /* + 30 h: 6 h Friday + 24 h Monday = Monday 24:00 = Tuesday 00:00. */
    assert(ob_calendar_add_hours(cal, fri_18, 30) == s_local(2026, 11, 24, 0, 0, cn));
    /* Within a day. */
    int64_t wed_09 = s_local(2026, 11, 25, 9, 0, cn);
    assert(ob_calendar_add_hours(cal, wed_09, 2) == s_local(2026, 11, 25, 11, 0, cn));
    /* Start on Saturday: the clock starts Monday 00:00. */
    assert(ob_calendar_add_hours(cal, sat_10, 24) == s_local(2026, 11, 24, 0, 0, cn));
    assert(ob_calendar_add_hours(cal, sat_10, 1) == s_local(2026, 11, 23, 1, 0, cn));
    assert(ob_calendar_add_hours(cal, sun_23, 25) == s_local(2026, 11, 24, 1, 0, cn));
    /* A whole working week of hours from Monday 00:00 ends Friday 24:00. */
    assert(ob_calendar_add_hours(cal, mon_00, 120) == s_local(2026, 11, 28, 0, 0, cn));
    assert(ob_calendar_add_hours(cal, mon_00, 121) == s_local(2026, 11, 30, 1, 0, cn));
    /* 0 hours / 0 days: unchanged, even on a day off. */
    assert(ob_calendar_add_hours(cal, sat_10, 0) == sat_10);
    assert(ob_calendar_add_days(cal, sat_10, 0) == sat_10);
    assert(ob_calendar_add_days(cal, fri_18, 0) == fri_18);

    /* add_days keeps the time of day and skips weekends. */
    assert(ob_calendar_add_days(cal, fri_18, 1) == s_local(2026, 11, 23, 18, 0, cn));
    assert(ob_calendar_add_days(cal, wed_09, 2) == s_local(2026, 11, 27, 9, 0, cn));
    assert(ob_calendar_add_days(cal, wed_09, 3) == s_local(2026, 11, 30, 9, 0, cn));
    assert(ob_calendar_add_days(cal, wed_09, 5) == s_local(2026, 12, 2, 9, 0, cn));
    /* 15 working days from Wednesday 25 Nov = Wednesday 16 Dec. */
    assert(ob_calendar_add_days(cal, wed_09, 15) == s_local(2026, 12, 16, 9, 0, cn));
    /* Start on Saturday: counted from Monday 00:00. */
    assert(ob_calendar_add_days(cal, sat_10, 1) == s_local(2026, 11, 24, 0, 0, cn));
    assert(ob_calendar_add_days(cal, sun_23, 5) == s_local(2026, 11, 30, 0, 0, cn));
    /* A working day is 24 working hours (from any time but midnight,
       where add_hours may end on Friday 24:00 and add_days on Monday 00:00,
       the same moment in working time). */
    for (uint32_t d = 1; d < 40; d++)
        assert(ob_calendar_add_days(cal, wed_09, d)
               == ob_calendar_add_hours(cal, wed_09, d * 24));
    assert(ob_calendar_add_days(cal, mon_00, 5) == s_local(2026, 11, 30, 0, 0, cn));

    /* Before 1970 the floor division keeps weekdays right:
       1969-12-31 was a Wednesday, 1969-12-28 a Sunday. */
    assert(ob_calendar_is_working_day(utc, s_local(1969, 12, 31, 12, 0, 0)));
    assert(!ob_calendar_is_working_day(utc, s_local(1969, 12, 28, 12, 0, 0)));

    /* Absurd inputs neither overflow nor loop: they finish at once. */
    assert(ob_calendar_add_days(cal, wed_09, UINT32_MAX) > wed_09);
    assert(ob_calendar_add_hours(cal, wed_09, UINT32_MAX) > wed_09);
    assert(ob_calendar_add_hours(cal, INT64_MAX - 1000, 5) == INT64_MAX - 1000);
    assert(ob_calendar_add_days(cal, INT64_MIN, 5) == INT64_MIN);
    assert(ob_calendar_new_weekdays(100000) == NULL);

    if (verbose)
        printf("(weekday calendar, zone +%d min) ", cn);
    ob_calendar_destroy(&utc);
    ob_calendar_destroy(&cal);
    ob_calendar_destroy(&cal);
    assert(cal == NULL);
}
