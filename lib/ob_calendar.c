/*  ob_calendar.c — deadlines in working time: weekdays, or year files with
    public holidays, make-up working days (调休) and working hours.

    Times are unix milliseconds. All arithmetic happens on "local" time,
    that is unix ms shifted by the zone's UTC offset, cut into days of
    86 400 000 ms numbered from 1970-01-01 (a Thursday).

    What a day is comes from s_day_info(): in a year that has a file, the
    file's verdict for that date (weekend unless a make-up day, holiday or
    not) and the file's working hours; in any other year, the weekly
    pattern (weekend days and working hours) of the nearest loaded year, or
    for a weekday calendar Saturday/Sunday off and 00:00-24:00 worked.
    Working time is the union of a working day's periods, each half open
    [open, close).

    Every walk goes day by day through years that have files (a few hundred
    days each) and skips whole weeks where the weekly pattern holds (years
    without a file), so the cost never grows with the length of a deadline:
    UINT32_MAX hours end at once.

    The year files are read by ob_calendar_load.c.                       */
#include "ob_calendar_int.h"
#include <unistd.h>
#include "ob_selftest.h"

/* --- days ----------------------------------------------------------------- */

/* Floor division for possibly negative times (before 1970). */
static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Day of the week of local day number `day`: 0 Monday .. 6 Sunday. */
int ob_calendar_weekday(int64_t day)
{
    int64_t w = (day + 3) % 7; /* day 0 was a Thursday (3) */
    if (w < 0)
        w += 7;
    return (int) w;
}

/* Day number of civil date y-m-d (Howard Hinnant's days_from_civil). */
int64_t ob_calendar_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Civil year of day number `z` (Hinnant's civil_from_days). */
static int64_t s_year_of_day(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return yoe + era * 400 + (m <= 2);
}

static bool s_in_range(int64_t ms)
{
    return ms > -S_LIMIT_MS && ms < S_LIMIT_MS;
}

/* Fills the derived fields of a pattern from weekend and spans. */
void ob_calendar_pattern_finish(s_pattern_t *pat)
{
    pat->day_ms = 0;
    for (int i = 0; i < pat->nspans; i++)
        pat->day_ms += pat->spans[i].close - pat->spans[i].open;
    pat->wdays = 7 - __builtin_popcount(pat->weekend);
    pat->week_ms = pat->wdays * pat->day_ms;
}

/* What a local day is. `until` bounds the weekly pattern: every day in
   [day, until) follows `pat` (until <= day: the day is in a year file and
   only this day is known). */
typedef struct {
    bool working;
    const s_pattern_t *pat;         /* working periods (and weekly pattern) */
    int64_t until;
    const s_year_t *year;           /* the year file, NULL if none */
} s_day_t;

static void s_day_info(const ob_calendar_t *self, int64_t day, s_day_t *info)
{
    const s_pattern_t *pat = &self->weekdays;
    info->year = NULL;
    info->until = INT64_MAX;
    if (self->nyears > 0) {
        int64_t y = s_year_of_day(day);
        size_t lo = 0, hi = self->nyears;  /* first year file >= y */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (self->years[mid].year < y)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < self->nyears && self->years[lo].year == y) {
            const s_year_t *yr = &self->years[lo];
            info->year = yr;
            info->working = yr->working[day - yr->first_day];
            info->pat = &yr->pat;
            info->until = day;
            return;
        }
        if (lo == 0) {  /* before the first file */
            pat = &self->years[0].pat;
            info->until = self->years[0].first_day;
        }
        else if (lo == self->nyears)  /* after the last */
            pat = &self->years[lo - 1].pat;
        else {  /* in a gap: the nearer neighbour, the earlier on a tie */
            const s_year_t *before = &self->years[lo - 1], *after = &self->years[lo];
            pat = (y - before->year <= after->year - y) ? &before->pat : &after->pat;
            info->until = ob_calendar_days_from_civil(y + 1, 1, 1);
        }
    }
    info->pat = pat;
    info->working = !((pat->weekend >> ob_calendar_weekday(day)) & 1);
}

/* Whole weeks from `day` that stay inside info's weekly pattern. */
static int64_t s_weeks_left(const s_day_t *info, int64_t day)
{
    if (info->until <= day)
        return 0;
    if (info->until == INT64_MAX)
        return INT64_MAX / 16 / S_DAY_MS;
    return (info->until - day) / 7;
}

/* The first working instant at or after local time t (local ms).
   Terminates: every pattern has a working day with a working period, and
   year files hold a bounded number of days. */
static int64_t s_next_open(const ob_calendar_t *self, int64_t t)
{
    int64_t day = s_floor_div(t, S_DAY_MS);
    for (;;) {
        s_day_t info;
        s_day_info(self, day, &info);
        if (info.working) {
            int64_t ds = day * S_DAY_MS;
            for (int i = 0; i < info.pat->nspans; i++)
                if (t < ds + info.pat->spans[i].close)
                    return t > ds + info.pat->spans[i].open ? t : ds + info.pat->spans[i].open;
        }
        day++;
        t = day * S_DAY_MS;
    }
}

/* The local instant at which `rem` (> 0) working ms have passed from local
   t. A period used up exactly ends at its close. */
static int64_t s_add_working(const ob_calendar_t *self, int64_t t, int64_t rem)
{
    assert(rem > 0);
    int64_t day = s_floor_div(t, S_DAY_MS);
    for (;;) {
        s_day_t info;
        s_day_info(self, day, &info);
        /* Whole weeks of a weekly pattern, leaving some time to walk. */
        int64_t weeks = s_weeks_left(&info, day);
        if (weeks > 1 && rem > info.pat->week_ms) {
            int64_t k = (rem - 1) / info.pat->week_ms;
            if (k > weeks - 1)
                k = weeks - 1;
            t += k * S_WEEK_MS;
            day += 7 * k;
            rem -= k * info.pat->week_ms;
            s_day_info(self, day, &info);
        }
        if (info.working) {
            int64_t ds = day * S_DAY_MS;
            for (int i = 0; i < info.pat->nspans; i++) {
                int64_t open = ds + info.pat->spans[i].open;
                int64_t close = ds + info.pat->spans[i].close;
                if (t >= close)
                    continue;
                if (t < open)
                    t = open;
                if (rem <= close - t)
                    return t + rem;
                rem -= close - t;
                t = close;
            }
        }
        day++;
        t = day * S_DAY_MS;
    }
}

/* Working ms in the local interval [a, b). */
static int64_t s_working_between(const ob_calendar_t *self, int64_t a, int64_t b)
{
    int64_t sum = 0;
    int64_t t = a;
    int64_t day = s_floor_div(t, S_DAY_MS);
    while (t < b) {
        s_day_t info;
        s_day_info(self, day, &info);
        int64_t weeks = s_weeks_left(&info, day);
        if (weeks > 1 && b - t > S_WEEK_MS) {
            int64_t k = (b - t) / S_WEEK_MS;
            if (k > weeks - 1)
                k = weeks - 1;
            sum += k * info.pat->week_ms;
            t += k * S_WEEK_MS;
            day += 7 * k;
            s_day_info(self, day, &info);
        }
        if (info.working) {
            int64_t ds = day * S_DAY_MS;
            for (int i = 0; i < info.pat->nspans; i++) {
                int64_t open = ds + info.pat->spans[i].open;
                int64_t close = ds + info.pat->spans[i].close;
                if (open < t)
                    open = t;
                if (close > b)
                    close = b;
                if (close > open)
                    sum += close - open;
            }
        }
        day++;
        t = day * S_DAY_MS;
    }
    return sum;
}

/* --- public: time ----------------------------------------------------------- */

ob_calendar_t *ob_calendar_new_weekdays(int utc_offset_min)
{
    /* Real zones lie within -12:00 .. +14:00; anything past a day is
       a caller's bug, refused rather than asserted. */
    if (utc_offset_min < -24 * 60 || utc_offset_min > 24 * 60)
        return NULL;
    ob_calendar_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->offset_ms = (int64_t) utc_offset_min * S_MIN_MS;
    self->warning_ppm = S_DEFAULT_WARNING_PPM;
    self->weekdays.weekend = (1 << 5) | (1 << 6);
    self->weekdays.spans[0] = (s_span_t) {0, S_DAY_MS};
    self->weekdays.nspans = 1;
    ob_calendar_pattern_finish(&self->weekdays);
    return self;
}

void ob_calendar_years_free(s_year_t *years, size_t nyears)
{
    if (!years)
        return;
    for (size_t i = 0; i < nyears; i++) {
        for (size_t j = 0; j < years[i].nnames; j++)
            free(years[i].names[j]);
        free(years[i].names);
    }
    free(years);
}

void ob_calendar_destroy(ob_calendar_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        ob_calendar_years_free((*self_p)->years, (*self_p)->nyears);
        free(*self_p);
        *self_p = NULL;
    }
}

bool ob_calendar_is_working_day(ob_calendar_t *self, int64_t ms)
{
    assert(self);
    if (!s_in_range(ms))
        return false;
    s_day_t info;
    s_day_info(self, s_floor_div(ms + self->offset_ms, S_DAY_MS), &info);
    return info.working;
}

bool ob_calendar_is_working_time(ob_calendar_t *self, int64_t ms)
{
    assert(self);
    if (!s_in_range(ms))
        return false;
    int64_t local = ms + self->offset_ms;
    return s_next_open(self, local) == local;
}

/* The start moves to the next working time; the deadline keeps its time
   of day on the days-th working day after, skipping whole weeks where a
   weekly pattern holds. */
int64_t ob_calendar_add_days(ob_calendar_t *self, int64_t from_ms, uint32_t days)
{
    assert(self);
    if (days == 0 || !s_in_range(from_ms))
        return from_ms;
    int64_t start = s_next_open(self, from_ms + self->offset_ms);
    int64_t day = s_floor_div(start, S_DAY_MS);
    int64_t tod = start - day * S_DAY_MS;
    int64_t n = days;
    day++;
    for (;;) {
        s_day_t info;
        s_day_info(self, day, &info);
        int64_t weeks = s_weeks_left(&info, day);
        if (weeks > 0 && n > info.pat->wdays) {
            int64_t k = (n - 1) / info.pat->wdays;
            if (k > weeks)
                k = weeks;
            day += 7 * k;
            n -= k * info.pat->wdays;
            s_day_info(self, day, &info);
        }
        if (info.working && --n == 0)
            break;
        day++;
    }
    return s_next_open(self, day * S_DAY_MS + tod) - self->offset_ms;
}

int64_t ob_calendar_add_hours(ob_calendar_t *self, int64_t from_ms, uint32_t hours)
{
    assert(self);
    if (hours == 0 || !s_in_range(from_ms))
        return from_ms;
    return s_add_working(self, from_ms + self->offset_ms, (int64_t) hours * S_HOUR_MS)
           - self->offset_ms;
}

int64_t ob_calendar_add_limit(ob_calendar_t *self, int64_t from_ms, ob_limit_t limit)
{
    return limit.days ? ob_calendar_add_days(self, from_ms, limit.days)
                      : ob_calendar_add_hours(self, from_ms, limit.hours);
}

int64_t ob_calendar_working_ms(ob_calendar_t *self, int64_t from_ms, int64_t to_ms)
{
    assert(self);
    if (to_ms <= from_ms || !s_in_range(from_ms) || !s_in_range(to_ms))
        return 0;
    return s_working_between(self, from_ms + self->offset_ms, to_ms + self->offset_ms);
}

int64_t ob_calendar_warning_at(ob_calendar_t *self, int64_t start_ms, int64_t deadline_ms)
{
    assert(self);
    int64_t total = ob_calendar_working_ms(self, start_ms, deadline_ms);
    if (total <= 0)
        return deadline_ms;
    /* total * ppm / 1e6 without overflow */
    int64_t part = total / S_PPM * self->warning_ppm
                   + total % S_PPM * self->warning_ppm / S_PPM;
    if (part <= 0)
        return start_ms;
    return s_add_working(self, start_ms + self->offset_ms, part) - self->offset_ms;
}

double ob_calendar_warning_fraction(ob_calendar_t *self)
{
    assert(self);
    return (double) self->warning_ppm / S_PPM;
}

int ob_calendar_utc_offset_min(ob_calendar_t *self)
{
    assert(self);
    return (int) (self->offset_ms / S_MIN_MS);
}

int ob_calendar_first_year(ob_calendar_t *self)
{
    assert(self);
    return self->nyears ? self->years[0].year : 0;
}

int ob_calendar_last_year(ob_calendar_t *self)
{
    assert(self);
    return self->nyears ? self->years[self->nyears - 1].year : 0;
}

const char *ob_calendar_day_name(ob_calendar_t *self, int64_t ms)
{
    assert(self);
    if (!s_in_range(ms))
        return NULL;
    int64_t day = s_floor_div(ms + self->offset_ms, S_DAY_MS);
    s_day_t info;
    s_day_info(self, day, &info);
    if (!info.year)
        return NULL;
    uint16_t idx = info.year->name[day - info.year->first_day];
    return idx ? info.year->names[idx - 1] : NULL;
}


/* --- self-test ---------------------------------------------------------- */

/* Unix ms of local wall time y-m-d h:mi in a zone of `off` minutes. */
static int64_t s_local(int y, int m, int d, int h, int mi, int off)
{
    return ob_calendar_days_from_civil(y, m, d) * S_DAY_MS
           + ((int64_t) h * 60 + mi - off) * S_MIN_MS;
}

/* The weekday-only algorithms of the first release, kept as the reference
   the generic walk must agree with on a weekday calendar. */
static bool s_ref_working(int64_t day)
{
    return ob_calendar_weekday(day) < 5;
}

static int64_t s_ref_advance(int64_t day, uint64_t n)
{
    int w = ob_calendar_weekday(day);
    int64_t weeks = (int64_t) (n / 5);
    int r = (int) (n % 5);
    day += weeks * 7;
    day += (w + r <= 4) ? r : r + 2;
    return day;
}

static int64_t s_ref_add_days(int64_t off_ms, int64_t from_ms, uint32_t days)
{
    if (days == 0)
        return from_ms;
    int64_t local = from_ms + off_ms;
    int64_t day = s_floor_div(local, S_DAY_MS);
    int64_t tod = local - day * S_DAY_MS;
    if (!s_ref_working(day)) {
        while (!s_ref_working(day))
            day++;
        tod = 0;
    }
    return s_ref_advance(day, days) * S_DAY_MS - off_ms + tod;
}

static int64_t s_ref_add_hours(int64_t off_ms, int64_t from_ms, uint32_t hours)
{
    if (hours == 0)
        return from_ms;
    int64_t rem = (int64_t) hours * S_HOUR_MS;
    int64_t local = from_ms + off_ms;
    int64_t day = s_floor_div(local, S_DAY_MS);
    if (s_ref_working(day)) {
        int64_t avail = (day + 1) * S_DAY_MS - local;
        if (rem <= avail)
            return from_ms + rem;
        rem -= avail;
    }
    day++;
    while (!s_ref_working(day))
        day++;
    int64_t full = rem / S_DAY_MS;
    int64_t part = rem % S_DAY_MS;
    if (part == 0)
        return (s_ref_advance(day, (uint64_t) (full - 1)) + 1) * S_DAY_MS - off_ms;
    return s_ref_advance(day, (uint64_t) full) * S_DAY_MS - off_ms + part;
}

/* The 2026 schedule (the State Council notice of 2025-11-04 as released
   by Xinhua), the same days as router-rules/calendar/CN-2026.yaml: the
   test holds its own copy so that it runs anywhere, and checks the file
   against it when run from the source tree. */
static const char s_cn2026[] =
    "year: 2026\n"
    "timezone: \"+08:00\"\n"
    "weekend: [saturday, sunday]\n"
    "hours: [\"09:00-12:00\", \"13:30-17:30\"]\n"
    "warning: 0.8\n"
    "holidays:\n"
    "  - {name: 元旦, from: 2026-01-01, to: 2026-01-03}\n"
    "  - {name: 春节, from: 2026-02-15, to: 2026-02-23}\n"
    "  - {name: 清明节, from: 2026-04-04, to: 2026-04-06}\n"
    "  - {name: 劳动节, from: 2026-05-01, to: 2026-05-05}\n"
    "  - {name: 端午节, from: 2026-06-19, to: 2026-06-21}\n"
    "  - {name: 中秋节, from: 2026-09-25, to: 2026-09-27}\n"
    "  - {name: 国庆节, from: 2026-10-01, to: 2026-10-07}\n"
    "makeup_workdays:\n"
    "  - {name: 元旦调休上班, date: 2026-01-04}\n"
    "  - {name: 春节调休上班, date: 2026-02-14}\n"
    "  - {name: 春节调休上班, date: 2026-02-28}\n"
    "  - {name: 劳动节调休上班, date: 2026-05-09}\n"
    "  - {name: 国庆节调休上班, date: 2026-09-20}\n"
    "  - {name: 国庆节调休上班, date: 2026-10-10}\n";

/* The 2025 schedule (国办发明电〔2024〕12号, Xinhua 2024-11-12). */
static const char s_cn2025[] =
    "year: 2025\n"
    "timezone: \"+08:00\"\n"
    "hours: [\"09:00-12:00\", \"13:30-17:30\"]\n"
    "holidays:\n"
    "  - {name: 元旦, date: 2025-01-01}\n"
    "  - {name: 春节, from: 2025-01-28, to: 2025-02-04}\n"
    "  - {name: 清明节, from: 2025-04-04, to: 2025-04-06}\n"
    "  - {name: 劳动节, from: 2025-05-01, to: 2025-05-05}\n"
    "  - {name: 端午节, from: 2025-05-31, to: 2025-06-02}\n"
    "  - {name: 国庆节、中秋节, from: 2025-10-01, to: 2025-10-08}\n"
    "makeup_workdays:\n"
    "  - {name: 春节调休上班, date: 2025-01-26}\n"
    "  - {name: 春节调休上班, date: 2025-02-08}\n"
    "  - {name: 劳动节调休上班, date: 2025-04-27}\n"
    "  - {name: 国庆节调休上班, date: 2025-09-28}\n"
    "  - {name: 国庆节调休上班, date: 2025-10-11}\n";

/* Writes `text` to a fresh temporary file; its path into `path`. */
static void s_write_tmp(const char *text, char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/ob_calendar_test.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert(fd >= 0);
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    close(fd);
    assert(n == (ssize_t) len);
}

/* Loads calendar files given as texts; NULL with err set on error. */
static ob_calendar_t *s_load_texts(const char *const *texts, size_t n, char *err, size_t errlen)
{
    char paths[4][256];
    const char *p[4];
    assert(n <= 4);
    for (size_t i = 0; i < n; i++) {
        s_write_tmp(texts[i], paths[i], sizeof paths[i]);
        p[i] = paths[i];
    }
    ob_calendar_t *cal = ob_calendar_load(p, n, err, errlen);
    for (size_t i = 0; i < n; i++)
        unlink(paths[i]);
    return cal;
}

/* Asserts that a calendar text is refused with an error containing
   "line:col:" (when line > 0) and `want`. */
static void s_refused(const char *text, size_t line, size_t col, const char *want)
{
    char err[512];
    const char *texts[] = {text};
    ob_calendar_t *cal = s_load_texts(texts, 1, err, sizeof err);
    if (cal || !strstr(err, want))
        fprintf(stderr, "calendar accepted or wrong error: %s (want '%s')\n", err, want);
    assert(!cal);
    assert(strstr(err, want));
    if (line > 0) {
        char pos[32];
        snprintf(pos, sizeof pos, ":%zu:%zu: ", line, col);
        if (!strstr(err, pos))
            fprintf(stderr, "wrong position: %s (want %s)\n", err, pos);
        assert(strstr(err, pos));
    }
}

/* The weekday calendar: the behaviour of the first release, unchanged. */
/* The weekday calendars of s_test_weekdays against the reference, at
   absurd inputs, and their warnings. */
static void s_test_weekdays_walk(ob_calendar_t *cal, ob_calendar_t *utc)
{
    const int cn = 480;
    int64_t sat_10 = s_local(2026, 11, 21, 10, 0, cn);
    int64_t sun_23 = s_local(2026, 11, 22, 23, 59, cn);
    int64_t wed_09 = s_local(2026, 11, 25, 9, 0, cn);
    /* The generic walk agrees with the first release's week arithmetic on
       many starts (all times of day, weekends, before 1970) and lengths. */
    uint64_t seed = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        int64_t from = s_local(1969, 6, 1, 0, 0, 0)
                       + (int64_t) ((seed >> 20) % ((uint64_t) 60 * 365 * 86400)) * 1000;
        if (i % 5 == 0)  /* exact hours and midnights, the edge cases */
            from -= from % S_HOUR_MS;
        uint32_t n = (uint32_t) ((seed >> 8) % (i % 3 ? 60 : 5000));
        ob_calendar_t *c = (i % 2) ? cal : utc;
        assert(ob_calendar_add_days(c, from, n) == s_ref_add_days(c->offset_ms, from, n));
        assert(ob_calendar_add_hours(c, from, n) == s_ref_add_hours(c->offset_ms, from, n));
    }

    /* Absurd inputs neither overflow nor loop: they finish at once. */
    assert(ob_calendar_add_days(cal, wed_09, UINT32_MAX)
           == s_ref_add_days(cal->offset_ms, wed_09, UINT32_MAX));
    assert(ob_calendar_add_hours(cal, wed_09, UINT32_MAX)
           == s_ref_add_hours(cal->offset_ms, wed_09, UINT32_MAX));
    assert(ob_calendar_add_hours(cal, INT64_MAX - 1000, 5) == INT64_MAX - 1000);
    assert(ob_calendar_add_days(cal, INT64_MIN, 5) == INT64_MIN);
    assert(!ob_calendar_is_working_time(cal, INT64_MIN));
    ob_calendar_t *none = ob_calendar_new_weekdays(100000);
    assert(none == NULL);

    /* Warning at 0.8 of 10 working days (240 h) from Wednesday 09:00:
       192 working hours = 8 working days later, Monday 7 Dec 09:00. */
    assert(ob_calendar_warning_fraction(cal) == 0.8);
    int64_t dl = ob_calendar_add_days(cal, wed_09, 10);
    assert(ob_calendar_warning_at(cal, wed_09, dl) == s_local(2026, 12, 7, 9, 0, cn));
    assert(ob_calendar_working_ms(cal, wed_09, dl) == 240 * S_HOUR_MS);
    assert(ob_calendar_warning_at(cal, dl, wed_09) == wed_09);
    /* Within one weekend nothing passes: the warning is the deadline. */
    assert(ob_calendar_warning_at(cal, sat_10, sun_23) == sun_23);
    assert(ob_calendar_first_year(cal) == 0 && ob_calendar_day_name(cal, sat_10) == NULL);
    assert(ob_calendar_utc_offset_min(cal) == cn);
}

static void s_test_weekdays(void)
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
    assert(ob_calendar_is_working_time(cal, fri_18));
    assert(!ob_calendar_is_working_time(cal, sat_10));
    /* The zone matters: Friday 23:00 UTC is Saturday 07:00 in China. */
    int64_t fri_23_utc = s_local(2026, 11, 20, 23, 0, 0);
    assert(!ob_calendar_is_working_day(cal, fri_23_utc));
    ob_calendar_t *utc = ob_calendar_new_weekdays(0);
    assert(utc);
    assert(ob_calendar_is_working_day(utc, fri_23_utc));

    /* Friday 18:00 + 24 working hours: 6 h on Friday, 18 h on Monday. */
    assert(ob_calendar_add_hours(cal, fri_18, 24) == s_local(2026, 11, 23, 18, 0, cn));
    assert(ob_calendar_add_hours(cal, fri_18, 48) == s_local(2026, 11, 24, 18, 0, cn));
    /* + 6 h ends exactly at Friday midnight. */
    assert(ob_calendar_add_hours(cal, fri_18, 6) == s_local(2026, 11, 21, 0, 0, cn));
    assert(ob_calendar_add_hours(cal, fri_18, 7) == s_local(2026, 11, 23, 1, 0, cn));
    assert(ob_calendar_add_hours(cal, fri_18, 30) == s_local(2026, 11, 24, 0, 0, cn));
    int64_t wed_09 = s_local(2026, 11, 25, 9, 0, cn);
    assert(ob_calendar_add_hours(cal, wed_09, 2) == s_local(2026, 11, 25, 11, 0, cn));
    /* Start on Saturday: the clock starts Monday 00:00. */
    assert(ob_calendar_add_hours(cal, sat_10, 24) == s_local(2026, 11, 24, 0, 0, cn));
    assert(ob_calendar_add_hours(cal, sat_10, 1) == s_local(2026, 11, 23, 1, 0, cn));
    assert(ob_calendar_add_hours(cal, sun_23, 25) == s_local(2026, 11, 24, 1, 0, cn));
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
    assert(ob_calendar_add_days(cal, wed_09, 15) == s_local(2026, 12, 16, 9, 0, cn));
    /* a limit is counted in its own unit */
    assert(ob_calendar_add_limit(cal, wed_09, (ob_limit_t) {2, 0})
           == ob_calendar_add_days(cal, wed_09, 2));
    assert(ob_calendar_add_limit(cal, wed_09, (ob_limit_t) {0, 7})
           == ob_calendar_add_hours(cal, wed_09, 7));
    assert(ob_calendar_add_days(cal, sat_10, 1) == s_local(2026, 11, 24, 0, 0, cn));
    assert(ob_calendar_add_days(cal, sun_23, 5) == s_local(2026, 11, 30, 0, 0, cn));
    for (uint32_t d = 1; d < 40; d++)
        assert(ob_calendar_add_days(cal, wed_09, d)
               == ob_calendar_add_hours(cal, wed_09, d * 24));
    assert(ob_calendar_add_days(cal, mon_00, 5) == s_local(2026, 11, 30, 0, 0, cn));

    /* Before 1970 the floor division keeps weekdays right. */
    assert(ob_calendar_is_working_day(utc, s_local(1969, 12, 31, 12, 0, 0)));
    assert(!ob_calendar_is_working_day(utc, s_local(1969, 12, 28, 12, 0, 0)));

    s_test_weekdays_walk(cal, utc);

    ob_calendar_destroy(&utc);
    ob_calendar_destroy(&cal);
    ob_calendar_destroy(&cal);
    assert(cal == NULL);
}

#define AT(m, d, h, mi) s_local(2026, (m), (d), (h), (mi), cn)
#define WORKS(m, d) ob_calendar_is_working_day(cal, AT((m), (d), 10, 0))

/* Which days of 2026 are working days. */
static void s_test_cn2026_days(ob_calendar_t *cal)
{
    const int cn = 480;
    assert(ob_calendar_first_year(cal) == 2026 || ob_calendar_first_year(cal) == 2025);
    assert(ob_calendar_last_year(cal) == 2026);
    assert(ob_calendar_utc_offset_min(cal) == cn);

    /* 248 working days in 2026: 365 - 104 weekend days - 19 holidays on
       weekdays + 6 make-up days (13 statutory days off net). */
    int working = 0;
    for (int d = 0; d < 365; d++)
        working += ob_calendar_is_working_day(cal, AT(1, 1, 10, 0) + d * S_DAY_MS);
    assert(working == 248);

    /* Each block: the working day before, its first and last day off, the
       working day after; each make-up day and the weekend day beside it. */
    assert(!WORKS(1, 1));                                /* 1 Jan Thursday: 元旦 */
    assert(!WORKS(1, 2) && !WORKS(1, 3));
    assert(WORKS(1, 4) && WORKS(1, 5));                  /* 4 Jan Sunday: 调休上班 */
    assert(!WORKS(1, 10));                               /* an ordinary Saturday */
    assert(WORKS(2, 13) && WORKS(2, 14));                /* Fri; Sat 14 Feb 调休上班 */
    for (int d = 15; d <= 23; d++)
        assert(!WORKS(2, d));                            /* 春节 Sun 15 .. Mon 23 */
    assert(WORKS(2, 24) && WORKS(2, 27) && WORKS(2, 28)); /* Sat 28 Feb 调休上班 */
    assert(!WORKS(3, 1));
    assert(WORKS(4, 3) && !WORKS(4, 4) && !WORKS(4, 6) && WORKS(4, 7)); /* 清明 */
    assert(WORKS(4, 30) && !WORKS(5, 1) && !WORKS(5, 5) && WORKS(5, 6)); /* 劳动节 */
    assert(WORKS(5, 9) && !WORKS(5, 10));                /* Sat 9 May 调休上班 */
    assert(WORKS(6, 18) && !WORKS(6, 19) && !WORKS(6, 21) && WORKS(6, 22)); /* 端午 */
    assert(WORKS(9, 20) && !WORKS(9, 19));               /* Sun 20 Sep 调休上班 */
    assert(WORKS(9, 24) && !WORKS(9, 25) && !WORKS(9, 27) && WORKS(9, 28)); /* 中秋 */
    assert(WORKS(9, 30) && !WORKS(10, 1) && !WORKS(10, 7) && WORKS(10, 8)); /* 国庆 */
    assert(WORKS(10, 10) && !WORKS(10, 11));             /* Sat 10 Oct 调休上班 */
    assert(strcmp(ob_calendar_day_name(cal, AT(2, 17, 10, 0)), "春节") == 0);
    assert(strcmp(ob_calendar_day_name(cal, AT(2, 14, 10, 0)), "春节调休上班") == 0);
    assert(strcmp(ob_calendar_day_name(cal, AT(10, 10, 10, 0)), "国庆节调休上班") == 0);
    assert(ob_calendar_day_name(cal, AT(3, 10, 10, 0)) == NULL);
}

/* Working hours and deadlines across every holiday of 2026. */
static void s_test_cn2026_deadlines(ob_calendar_t *cal)
{
    const int cn = 480;
    /* Working hours, half open. */
    assert(ob_calendar_is_working_time(cal, AT(3, 2, 9, 0)));
    assert(!ob_calendar_is_working_time(cal, AT(3, 2, 8, 59)));
    assert(ob_calendar_is_working_time(cal, AT(3, 2, 11, 59)));
    assert(!ob_calendar_is_working_time(cal, AT(3, 2, 12, 0)));
    assert(!ob_calendar_is_working_time(cal, AT(3, 2, 13, 0)));
    assert(ob_calendar_is_working_time(cal, AT(3, 2, 13, 30)));
    assert(!ob_calendar_is_working_time(cal, AT(3, 2, 17, 30)));
    assert(ob_calendar_is_working_time(cal, AT(2, 14, 10, 0)));  /* make-up Saturday */
    assert(!ob_calendar_is_working_time(cal, AT(2, 16, 10, 0))); /* 春节 Monday */

    /* add_hours within a day, across lunch, after hours. */
    assert(ob_calendar_add_hours(cal, AT(3, 2, 9, 0), 3) == AT(3, 2, 12, 0));
    assert(ob_calendar_add_hours(cal, AT(3, 2, 9, 0), 7) == AT(3, 2, 17, 30));
    assert(ob_calendar_add_hours(cal, AT(3, 2, 9, 0), 8) == AT(3, 3, 10, 0));
    assert(ob_calendar_add_hours(cal, AT(3, 2, 11, 30), 1) == AT(3, 2, 14, 0));
    assert(ob_calendar_add_hours(cal, AT(3, 2, 12, 30), 1) == AT(3, 2, 14, 30));
    assert(ob_calendar_add_hours(cal, AT(3, 2, 16, 30), 1) == AT(3, 2, 17, 30));
    assert(ob_calendar_add_hours(cal, AT(3, 2, 18, 0), 1) == AT(3, 3, 10, 0));
    assert(ob_calendar_add_hours(cal, AT(3, 2, 6, 0), 2) == AT(3, 2, 11, 0));
    /* Friday 17:00 + 2 h: 30 min Friday, 1 h 30 Monday. */
    assert(ob_calendar_add_hours(cal, AT(3, 6, 17, 0), 2) == AT(3, 9, 10, 30));

    /* 元旦: Wednesday 31 Dec 2025 is a working day in either calendar. */
    int64_t dec31 = s_local(2025, 12, 31, 16, 30, cn);
    assert(ob_calendar_add_hours(cal, dec31, 2) == AT(1, 4, 10, 0));    /* on the Sunday */
    assert(ob_calendar_add_days(cal, s_local(2025, 12, 31, 10, 0, cn), 1) == AT(1, 4, 10, 0));
    assert(ob_calendar_add_days(cal, s_local(2025, 12, 31, 10, 0, cn), 2) == AT(1, 5, 10, 0));
    /* A start inside the holiday counts from Sunday 4 Jan 09:00. */
    assert(ob_calendar_add_hours(cal, AT(1, 1, 10, 0), 1) == AT(1, 4, 10, 0));
    assert(ob_calendar_add_days(cal, AT(1, 2, 15, 0), 1) == AT(1, 5, 9, 0));

    /* 春节: the make-up Saturday before, nine days off, then Tuesday. */
    assert(ob_calendar_add_days(cal, AT(2, 13, 10, 0), 1) == AT(2, 14, 10, 0));
    assert(ob_calendar_add_days(cal, AT(2, 14, 10, 0), 1) == AT(2, 24, 10, 0));
    assert(ob_calendar_add_hours(cal, AT(2, 14, 17, 0), 1) == AT(2, 24, 9, 30));
    /* Starting inside the Spring Festival: the clock starts 24 Feb 09:00. */
    assert(ob_calendar_add_hours(cal, AT(2, 18, 10, 0), 2) == AT(2, 24, 11, 0));
    assert(ob_calendar_add_days(cal, AT(2, 18, 10, 0), 1) == AT(2, 25, 9, 0));
    /* Sat 28 Feb is a working day, Sunday 1 Mar is not. */
    assert(ob_calendar_add_days(cal, AT(2, 27, 10, 0), 1) == AT(2, 28, 10, 0));
    assert(ob_calendar_add_days(cal, AT(2, 27, 10, 0), 2) == AT(3, 2, 10, 0));
    /* 15 working days spanning the whole festival from Mon 9 Feb 10:00:
       10-14 Feb (5, with the Saturday), 24-28 Feb (5, with the Saturday),
       2-6 Mar (5): Friday 6 March. */
    assert(ob_calendar_add_days(cal, AT(2, 9, 10, 0), 15) == AT(3, 6, 10, 0));
    assert(ob_calendar_working_ms(cal, AT(2, 9, 10, 0), AT(3, 6, 10, 0)) == 15 * 7 * S_HOUR_MS);
    /* 7 h from Friday 13 Feb 17:00: 30 min Fri, 6 h 30 Sat 14 Feb: 17:00. */
    assert(ob_calendar_add_hours(cal, AT(2, 13, 17, 0), 7) == AT(2, 14, 17, 0));
    assert(ob_calendar_add_hours(cal, AT(2, 13, 17, 0), 8) == AT(2, 24, 9, 30));

    /* 清明 Sat 4 .. Mon 6 April. */
    assert(ob_calendar_add_days(cal, AT(4, 3, 15, 0), 1) == AT(4, 7, 15, 0));
    assert(ob_calendar_add_hours(cal, AT(4, 3, 17, 0), 1) == AT(4, 7, 9, 30));
    /* 劳动节 Fri 1 .. Tue 5 May; Sat 9 May works. */
    assert(ob_calendar_add_days(cal, AT(4, 30, 11, 0), 1) == AT(5, 6, 11, 0));
    assert(ob_calendar_add_days(cal, AT(5, 8, 11, 0), 1) == AT(5, 9, 11, 0));
    assert(ob_calendar_add_days(cal, AT(5, 8, 11, 0), 2) == AT(5, 11, 11, 0));
    assert(ob_calendar_add_days(cal, AT(5, 3, 11, 0), 1) == AT(5, 7, 9, 0));
    /* 端午 Fri 19 .. Sun 21 June. */
    assert(ob_calendar_add_days(cal, AT(6, 18, 14, 0), 1) == AT(6, 22, 14, 0));
    /* 中秋 Fri 25 .. Sun 27 Sep; Sunday 20 Sep works. */
    assert(ob_calendar_add_days(cal, AT(9, 18, 14, 0), 1) == AT(9, 20, 14, 0));
    assert(ob_calendar_add_days(cal, AT(9, 24, 14, 0), 1) == AT(9, 28, 14, 0));
    /* 国庆 Thu 1 .. Wed 7 Oct; Saturday 10 Oct works. */
    assert(ob_calendar_add_days(cal, AT(9, 30, 14, 0), 1) == AT(10, 8, 14, 0));
    assert(ob_calendar_add_days(cal, AT(9, 30, 14, 0), 3) == AT(10, 10, 14, 0));
    assert(ob_calendar_add_days(cal, AT(9, 30, 14, 0), 4) == AT(10, 12, 14, 0));
    /* 24 working hours from Mon 28 Sep 09:00: 28, 29, 30 Sep (21 h), then
       3 h on Thursday 8 Oct: 12:00. */
    assert(ob_calendar_add_hours(cal, AT(9, 28, 9, 0), 24) == AT(10, 8, 12, 0));

    /* Start after hours: Monday 20:00 + 1 day = Wednesday 09:00 (the clock
       starts Tuesday 09:00); + 1 h = Tuesday 10:00. */
    assert(ob_calendar_add_days(cal, AT(3, 2, 20, 0), 1) == AT(3, 4, 9, 0));
    assert(ob_calendar_add_hours(cal, AT(3, 2, 20, 0), 1) == AT(3, 3, 10, 0));
    /* Lunch break: 12:30 counts from 13:30. */
    assert(ob_calendar_add_days(cal, AT(3, 2, 12, 30), 1) == AT(3, 3, 13, 30));
    /* No deadline ever lands outside working time. */
    for (int d = 0; d < 365; d += 3)
        for (uint32_t n = 1; n <= 20; n += 7) {
            int64_t from = AT(1, 1, 7, 45) + d * S_DAY_MS + (d % 11) * S_HOUR_MS;
            int64_t dd = ob_calendar_add_days(cal, from, n);
            int64_t dh = ob_calendar_add_hours(cal, from, n);
            assert(ob_calendar_is_working_time(cal, dd));
            /* add_hours may end at a close: working time just before it */
            assert(ob_calendar_is_working_time(cal, dh - 1));
            assert(ob_calendar_working_ms(cal, from, dh) == (int64_t) n * S_HOUR_MS);
        }
}

/* Warnings, and years without a file. */
static void s_test_cn2026_warnings(ob_calendar_t *cal)
{
    const int cn = 480;
    /* Warnings at 0.8. 10 h from Monday 2 Mar 09:00 ends Tuesday 12:00;
       8 h: Tuesday 10:00. */
    assert(ob_calendar_warning_fraction(cal) == 0.8);
    int64_t dl = ob_calendar_add_hours(cal, AT(3, 2, 9, 0), 10);
    assert(dl == AT(3, 3, 12, 0));
    assert(ob_calendar_warning_at(cal, AT(3, 2, 9, 0), dl) == AT(3, 3, 10, 0));
    /* 3 working days from Friday 13 Feb 09:00 end Wednesday 25 Feb 09:00;
       0.8 of 21 h = 16 h 48 min: 7 h Fri + 7 h Sat + 2 h 48 on the 24th. */
    dl = ob_calendar_add_days(cal, AT(2, 13, 9, 0), 3);
    assert(dl == AT(2, 25, 9, 0));
    assert(ob_calendar_warning_at(cal, AT(2, 13, 9, 0), dl) == AT(2, 24, 11, 48));
    /* A warning that uses up the morning ends at 12:00, not 13:30: 0.8 of
       3 h 45 min (9:00 .. 14:15) is 3 h. */
    assert(ob_calendar_warning_at(cal, AT(3, 2, 9, 0), AT(3, 2, 14, 15)) == AT(3, 2, 12, 0));
    /* Inside the festival: no working time, the warning is the deadline. */
    assert(ob_calendar_warning_at(cal, AT(2, 16, 9, 0), AT(2, 20, 9, 0)) == AT(2, 20, 9, 0));
    /* A warning is never after its deadline and never before its start. */
    for (int d = 0; d < 365; d += 5) {
        int64_t from = AT(1, 1, 8, 0) + d * S_DAY_MS + (d % 13) * S_HOUR_MS;
        int64_t to = ob_calendar_add_days(cal, from, 1 + d % 15);
        int64_t w = ob_calendar_warning_at(cal, from, to);
        assert(w >= from && w <= to);
        int64_t part = ob_calendar_working_ms(cal, from, w);
        int64_t whole = ob_calendar_working_ms(cal, from, to);
        assert(part == whole * 8 / 10);
    }

    /* Years without a file: the nearest year's weekend and hours. 2027-01-01
       is a Friday (a working day: no holidays known); Saturday 2 Jan is not. */
    int64_t y27 = s_local(2027, 1, 1, 10, 0, cn);
    assert(ob_calendar_is_working_day(cal, y27));
    assert(!ob_calendar_is_working_day(cal, y27 + S_DAY_MS));
    assert(ob_calendar_day_name(cal, y27) == NULL);
    assert(ob_calendar_add_hours(cal, s_local(2026, 12, 31, 17, 0, cn), 1)
           == s_local(2027, 1, 1, 9, 30, cn));
    assert(ob_calendar_add_days(cal, s_local(2026, 12, 31, 17, 0, cn), 1)
           == s_local(2027, 1, 1, 17, 0, cn));
    assert(!ob_calendar_is_working_time(cal, s_local(2030, 3, 4, 8, 0, cn)));  /* Monday */
    assert(ob_calendar_is_working_time(cal, s_local(2030, 3, 4, 9, 0, cn)));
    assert(ob_calendar_is_working_time(cal, s_local(2020, 3, 4, 9, 0, cn)));   /* Wednesday */
    /* Week skipping far beyond the files agrees with walking: 1000 working
       days from 4 Jan 2027 (a Monday) are 200 weeks later, 4 Nov 2030. */
    assert(ob_calendar_add_days(cal, s_local(2027, 1, 4, 10, 0, cn), 1000)
           == s_local(2030, 11, 4, 10, 0, cn));
    assert(ob_calendar_add_hours(cal, s_local(2027, 1, 4, 9, 0, cn), 7 * 1000)
           == s_local(2030, 11, 1, 17, 30, cn));
    assert(ob_calendar_working_ms(cal, s_local(2027, 1, 4, 9, 0, cn),
                                  s_local(2030, 11, 4, 9, 0, cn)) == 7000 * S_HOUR_MS);
    /* From long before the files, through them, to long after: at once. */
    assert(ob_calendar_add_days(cal, s_local(1990, 1, 1, 10, 0, cn), UINT32_MAX) > 0);
    assert(ob_calendar_add_hours(cal, s_local(1990, 1, 1, 10, 0, cn), UINT32_MAX) > 0);
    assert(ob_calendar_working_ms(cal, s_local(1990, 1, 1, 10, 0, cn),
                                  s_local(4990, 1, 1, 10, 0, cn)) > 0);
}

#undef WORKS
#undef AT

/* The 2026 schedule of China, every holiday edge. Working hours
   09:00-12:00 and 13:30-17:30: 7 working hours a day. */
static void s_test_cn2026(ob_calendar_t *cal)
{
    s_test_cn2026_days(cal);
    s_test_cn2026_deadlines(cal);
    s_test_cn2026_warnings(cal);
}

/* The files of China's 2025 and 2026 schedules, and those of the source
   tree when run from it. */
static void s_test_files_cn(bool verbose)
{
    char err[512];
    /* 2026 alone, then 2025 and 2026 (given in either order). */
    const char *one[] = {s_cn2026};
    ob_calendar_t *cal = s_load_texts(one, 1, err, sizeof err);
    if (!cal)
        fprintf(stderr, "%s\n", err);
    assert(cal);
    s_test_cn2026(cal);
    ob_calendar_destroy(&cal);

    const char *two[] = {s_cn2026, s_cn2025};
    cal = s_load_texts(two, 2, err, sizeof err);
    if (!cal)
        fprintf(stderr, "%s\n", err);
    assert(cal);
    s_test_cn2026(cal);
    assert(ob_calendar_first_year(cal) == 2025);
    /* 2025 has 248 working days too; 春节 28 Jan .. 4 Feb with Sunday 26 Jan
       and Saturday 8 Feb worked; 国庆 and 中秋 together, 1 .. 8 Oct. */
    int working = 0;
    for (int d = 0; d < 365; d++)
        working += ob_calendar_is_working_day(cal, s_local(2025, 1, 1, 10, 0, 480) + d * S_DAY_MS);
    assert(working == 248);
    assert(ob_calendar_add_days(cal, s_local(2025, 1, 27, 10, 0, 480), 1)
           == s_local(2025, 2, 5, 10, 0, 480));
    assert(ob_calendar_add_days(cal, s_local(2025, 1, 24, 10, 0, 480), 1)
           == s_local(2025, 1, 26, 10, 0, 480));
    assert(ob_calendar_add_days(cal, s_local(2025, 9, 30, 10, 0, 480), 1)
           == s_local(2025, 10, 9, 10, 0, 480));
    /* A deadline across the new year: Wednesday 31 Dec 2025 and 4 Jan 2026. */
    assert(ob_calendar_add_days(cal, s_local(2025, 12, 30, 10, 0, 480), 2)
           == s_local(2026, 1, 4, 10, 0, 480));

    /* The files in the source tree say the same, day by day. */
    if (access("router-rules/calendar/CN-2026.yaml", R_OK) == 0) {
        const char *paths[] = {"router-rules/calendar/CN-2025.yaml",
                               "router-rules/calendar/CN-2026.yaml"};
        size_t first = access(paths[0], R_OK) == 0 ? 0 : 1;
        ob_calendar_t *real = ob_calendar_load(paths + first, 2 - first, err, sizeof err);
        if (!real)
            fprintf(stderr, "%s\n", err);
        assert(real);
        int64_t t0 = s_local(first ? 2026 : 2025, 1, 1, 0, 0, 480);
        for (int64_t t = t0; t < s_local(2027, 1, 1, 0, 0, 480); t += 30 * S_MIN_MS) {
            assert(ob_calendar_is_working_time(real, t) == ob_calendar_is_working_time(cal, t));
            const char *a = ob_calendar_day_name(real, t), *b = ob_calendar_day_name(cal, t);
            assert((a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0));
        }
        assert(ob_calendar_warning_fraction(real) == ob_calendar_warning_fraction(cal));
        s_test_cn2026(real);
        ob_calendar_destroy(&real);
        if (verbose)
            printf("(router-rules/calendar checked) ");
    }
    ob_calendar_destroy(&cal);
}

/* Other weekly patterns: 00:00-24:00 is a weekday calendar; a six-day week. */
static void s_test_files_patterns(void)
{
    char err[512];
    ob_calendar_t *cal;
    /* A calendar with 00:00-24:00 and no holidays is a weekday calendar. */
    const char *plain[] = {"year: 2026\nhours: [00:00-24:00]\ntimezone: '+00:00'\n"};
    cal = s_load_texts(plain, 1, err, sizeof err);
    assert(cal);
    ob_calendar_t *wk = ob_calendar_new_weekdays(0);
    for (int i = 0; i < 2000; i++) {
        int64_t from = s_local(2024, 11, 1, 0, 0, 0) + (int64_t) i * 7919 * 60 * 1000;
        uint32_t n = (uint32_t) (i % 97);
        assert(ob_calendar_add_days(cal, from, n) == ob_calendar_add_days(wk, from, n));
        assert(ob_calendar_add_hours(cal, from, n) == ob_calendar_add_hours(wk, from, n));
    }
    ob_calendar_destroy(&wk);
    ob_calendar_destroy(&cal);

    /* A six-day week with another weekend and a different warning. */
    const char *six[] = {"year: 2026\nweekend: [friday]\nwarning: 0.5\n"
                         "hours: ['08:00-16:00']\ntimezone: '+03:00'\n"};
    cal = s_load_texts(six, 1, err, sizeof err);
    assert(cal);
    assert(!ob_calendar_is_working_day(cal, s_local(2026, 3, 6, 10, 0, 180)));  /* Friday */
    assert(ob_calendar_is_working_day(cal, s_local(2026, 3, 7, 10, 0, 180)));
    assert(ob_calendar_add_days(cal, s_local(2026, 3, 5, 10, 0, 180), 1)
           == s_local(2026, 3, 7, 10, 0, 180));
    assert(ob_calendar_warning_at(cal, s_local(2026, 3, 5, 8, 0, 180),
                                  s_local(2026, 3, 7, 16, 0, 180))
           == s_local(2026, 3, 5, 16, 0, 180));
    ob_calendar_destroy(&cal);
}

/* Refused files. */
static void s_test_files_errors(void)
{
    char err[512];
    ob_calendar_t *cal;
    /* Errors: each names the file, line and column. */
    s_refused("year: 2026\n", 1, 1, "missing required key 'hours'");
    s_refused("hours: [09:00-17:00]\n", 1, 1, "missing required key 'year'");
    s_refused("year: 2026\nhours: [09:00-17:00]\nholidays: [{name: x, date: 2026-02-30}]\n",
              3, 28, "not a real date");
    s_refused("year: 2026\nhours: [09:00-17:00]\nholidays: [{name: x, date: 2025-02-03}]\n",
              3, 28, "not in the file's year 2026");
    s_refused("year: 2026\nhours: [09:00-17:00]\nholidays: [{name: x, date: 26-2-3}]\n",
              3, 28, "is not a date");
    s_refused("year: 2026\nhours: [09:00-17:00]\nmakeup_workdays: [{name: x, date: 2026-02-13}]\n",
              3, 35, "not a weekend day");
    s_refused("year: 2026\nhours: [09:00-17:00]\n"
              "holidays: [{name: a, from: 2026-02-15, to: 2026-02-23}]\n"
              "makeup_workdays: [{name: b, date: 2026-02-15}]\n",
              4, 35, "already listed as a holiday");
    s_refused("year: 2026\nhours: [09:00-17:00]\n"
              "holidays: [{name: a, from: 2026-02-15, to: 2026-02-13}]\n",
              3, 44, "is before 'from'");
    s_refused("year: 2026\nhours: [09:00-17:00]\nholidays: [{date: 2026-02-15}]\n",
              3, 12, "missing required key 'name'");
    s_refused("year: 2026\nhours: [09:00-17:00]\nholiday: []\n", 3, 1, "unknown key 'holiday'");
    s_refused("year: 2026\nyear: 2027\nhours: [09:00-17:00]\n", 2, 1, "duplicate key 'year'");
    s_refused("year: 2026\nhours: [09:00-12:00, 11:00-17:00]\n", 2, 22, "overlaps");
    s_refused("year: 2026\nhours: [17:00-09:00]\n", 2, 9, "ends before it starts");
    s_refused("year: 2026\nhours: [9-17]\n", 2, 9, "not HH:MM-HH:MM");
    s_refused("year: 2026\nhours: []\n", 2, 8, "at least one working period");
    s_refused("year: 2026\nhours: [09:00-17:00]\nwarning: 1.5\n", 3, 10, "between 0 and 1");
    s_refused("year: 2026\nhours: [09:00-17:00]\nwarning: '0.8'\n", 3, 10, "between 0 and 1");
    s_refused("year: 2026\nhours: [09:00-17:00]\ntimezone: CST\n", 3, 11, "not a UTC offset");
    s_refused("year: 2026\nhours: [09:00-17:00]\nweekend: [saturday, caturday]\n", 3, 21,
              "not a day of the week");
    s_refused("year: 2026\nhours: [09:00-17:00]\nweekend: [monday, tuesday, wednesday, "
              "thursday, friday, saturday, sunday]\n", 3, 10, "no working day");
    s_refused("year: twenty\nhours: [09:00-17:00]\n", 1, 7, "must be a number");
    s_refused("year: 2026\nhours: [09:00-17:00]\n---\nyear: 2027\n", 3, 1, "only one YAML");
    s_refused("year: 2026\nhours: &h [09:00-17:00]\nx: *h\n", 3, 4, "aliases");
    s_refused("year: [2026\n", 0, 0, "invalid YAML");
    s_refused("", 1, 1, "empty calendar file");
    s_refused("- 2026\n", 1, 1, "must be a mapping");
    s_refused("year: 2026\nhours: [09:00-17:00]\nholidays: [{name: \"a\\tb\", date: 2026-01-01}]\n",
              3, 19, "control character");

    /* Across files: the same zone and warning, no year twice. */
    const char *tz[] = {s_cn2026, "year: 2025\nhours: [09:00-17:00]\ntimezone: '+09:00'\n"};
    cal = s_load_texts(tz, 2, err, sizeof err);
    assert(!cal);
    assert(strstr(err, ":3:11: timezone differs from the one of"));
    const char *warn[] = {s_cn2026, "year: 2025\nhours: [09:00-17:00]\nwarning: 0.7\n"};
    cal = s_load_texts(warn, 2, err, sizeof err);
    assert(!cal);
    assert(strstr(err, ":3:10: warning differs from the one of"));
    const char *twice[] = {s_cn2026, s_cn2026};
    cal = s_load_texts(twice, 2, err, sizeof err);
    assert(!cal);
    assert(strstr(err, ":1:7: year 2026 is already loaded from"));
    const char *missing[] = {"/nonexistent/CN-2026.yaml"};
    cal = ob_calendar_load(missing, 1, err, sizeof err);
    assert(!cal);
    assert(strncmp(err, "/nonexistent/CN-2026.yaml: cannot open calendar file", 52) == 0);
    cal = ob_calendar_load(NULL, 0, err, sizeof err);
    assert(!cal);
    assert(strstr(err, "no calendar file"));
}

static void s_test_files(bool verbose)
{
    s_test_files_cn(verbose);
    s_test_files_patterns();
    s_test_files_errors();
}

void ob_calendar_test(bool verbose)
{
    s_test_weekdays();
    s_test_files(verbose);
    if (verbose)
        printf("(weekday calendar; CN 2025-2026 holiday edges) ");
}
