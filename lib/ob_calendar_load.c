/*  ob_calendar_load.c — reads a calendar's year files (ob_calendar_load).

    Files are YAML read with libyaml into a small tree (positions kept,
    aliases and second documents refused), then validated with
    ob_yamltree's schema helpers; every error is "file:line:column:
    message". Format: router-rules/calendar/README.md.                    */
#include "ob_calendar_int.h"
#include "ob_yamltree.h"
#include <assert.h>
#include <math.h>
#include <sys/stat.h>

#define S_MAX_FILE   (1024 * 1024) /* bytes in a calendar file */
#define S_MAX_NODES  (64 * 1024)   /* YAML nodes in a calendar file */
#define S_MAX_DEPTH  16            /* nesting of YAML collections */
#define S_MAX_YEARS  200           /* files in one calendar */
#define S_MAX_NAME   128           /* bytes in a holiday name */
#define S_MIN_YEAR   1900
#define S_MAX_YEAR   2999
#define S_DEFAULT_OFFSET_MIN  480

/* --- YAML tree (ob_yamltree) -------------------------------------------- */

static const ob_yamltree_limits_t s_limits = {
    .max_nodes = S_MAX_NODES, .max_depth = S_MAX_DEPTH, .what = "calendar file"};

/* --- validation ------------------------------------------------------------ */

static bool s_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A date "YYYY-MM-DD" inside `year`: its day of the year (0-based). */
static int s_date(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what, int year,
                  int *yday)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (ob_yamlctx_scalar(ctx, node, what))
        return -1;
    const char *s = node->text;
    bool shape = node->len == 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; shape && i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            shape = false;
    if (!shape)
        return ob_yamlctx_fail_at(ctx, node, "%s '%.*s' is not a date (YYYY-MM-DD)", what,
                                  ob_yamlctx_show(s), s);
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && s_leap(y)))
        return ob_yamlctx_fail_at(ctx, node, "%s '%s' is not a real date", what, s);
    if (y != year)
        return ob_yamlctx_fail_at(ctx, node, "%s '%s' is not in the file's year %d", what, s, year);
    *yday = (int) (ob_calendar_days_from_civil(y, m, d) - ob_calendar_days_from_civil(y, 1, 1));
    return 0;
}

/* "HH:MM" with 00:00 <= t <= 24:00: minutes since midnight. */
static bool s_clock(const char *s, size_t len, int *minutes)
{
    if (len != 5 || s[2] != ':')
        return false;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return false;
    *minutes = h * 60 + m;
    return true;
}

/* hours: a list of "HH:MM-HH:MM", ascending, not overlapping. */
static int s_hours(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, s_pattern_t *pat)
{
    if (ob_yamlctx_list(ctx, node, "'hours'"))
        return -1;
    if (node->nkids == 0)
        return ob_yamlctx_fail_at(ctx, node, "'hours' must list at least one working period");
    if (node->nkids > S_MAX_SPANS)
        return ob_yamlctx_fail_at(ctx, node, "'hours' lists more than %d working periods",
                                  S_MAX_SPANS);
    int64_t prev = -1;
    for (size_t i = 0; i < node->nkids; i++) {
        const ob_yamlnode_t *kid = node->kids[i];
        if (ob_yamlctx_scalar(ctx, kid, "a working period"))
            return -1;
        int open, close;
        if (kid->len != 11 || kid->text[5] != '-' || !s_clock(kid->text, 5, &open)
            || !s_clock(kid->text + 6, 5, &close))
            return ob_yamlctx_fail_at(ctx, kid,
                                      "working period '%.*s' is not HH:MM-HH:MM "
                                      "(00:00 to 24:00)",
                                      ob_yamlctx_show(kid->text), kid->text);
        if (close <= open)
            return ob_yamlctx_fail_at(ctx, kid, "working period '%s' ends before it starts",
                                      kid->text);
        if (open < prev)
            return ob_yamlctx_fail_at(
                ctx, kid, "working period '%s' overlaps or precedes the one before", kid->text);
        pat->spans[i] = (s_span_t) {open * S_MIN_MS, close * S_MIN_MS};
        prev = close;
    }
    pat->nspans = (int) node->nkids;
    return 0;
}

/* weekend: a list of day names (monday .. sunday), at most six. */
static int s_weekend(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, uint8_t *mask)
{
    static const char *names[] = {"monday", "tuesday", "wednesday", "thursday", "friday",
                                  "saturday", "sunday"};
    if (ob_yamlctx_list(ctx, node, "'weekend'"))
        return -1;
    *mask = 0;
    for (size_t i = 0; i < node->nkids; i++) {
        const ob_yamlnode_t *kid = node->kids[i];
        if (ob_yamlctx_scalar(ctx, kid, "a weekend day"))
            return -1;
        int w;
        for (w = 0; w < 7; w++)
            if (strcmp(kid->text, names[w]) == 0)
                break;
        if (w == 7)
            return ob_yamlctx_fail_at(ctx, kid,
                                      "'%.*s' is not a day of the week (monday .. sunday)",
                                      ob_yamlctx_show(kid->text), kid->text);
        if (*mask & (1 << w))
            return ob_yamlctx_fail_at(ctx, kid, "weekend day '%s' is listed twice", kid->text);
        *mask |= (uint8_t) (1 << w);
    }
    if (*mask == 0x7F)
        return ob_yamlctx_fail_at(ctx, node, "'weekend' leaves no working day in the week");
    return 0;
}

/* timezone: "+08:00" / "-05:00" (within -12:00 .. +14:00). */
static int s_timezone(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, int *minutes)
{
    if (ob_yamlctx_scalar(ctx, node, "'timezone'"))
        return -1;
    int t;
    if (node->len != 6 || (node->text[0] != '+' && node->text[0] != '-')
        || !s_clock(node->text + 1, 5, &t) || t > 14 * 60
        || (node->text[0] == '-' && t > 12 * 60))
        return ob_yamlctx_fail_at(ctx, node, "timezone '%.*s' is not a UTC offset such as +08:00",
                                  ob_yamlctx_show(node->text), node->text);
    *minutes = node->text[0] == '-' ? -t : t;
    return 0;
}

/* warning: a plain decimal strictly between 0 and 1, in ppm. */
static int s_warning(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, int64_t *ppm)
{
    if (ob_yamlctx_scalar(ctx, node, "'warning'"))
        return -1;
    char *end = NULL;
    errno = 0;
    double f = strtod(node->text, &end);
    bool digits = node->text[0] >= '0' && node->text[0] <= '9';
    if (!node->plain || !digits || errno || !end || *end || !(f > 0.0 && f < 1.0))
        return ob_yamlctx_fail_at(ctx, node,
                                  "warning '%.*s' must be a fraction between 0 and 1 "
                                  "(e.g. 0.8)",
                                  ob_yamlctx_show(node->text), node->text);
    *ppm = llround(f * S_PPM);
    if (*ppm <= 0 || *ppm >= S_PPM)
        return ob_yamlctx_fail_at(ctx, node, "warning '%s' is too close to 0 or 1", node->text);
    return 0;
}

/* year: a plain integer S_MIN_YEAR .. S_MAX_YEAR. */
static int s_year_value(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, int *year)
{
    if (ob_yamlctx_scalar(ctx, node, "'year'"))
        return -1;
    int y = 0;
    bool ok = node->plain && node->len == 4;
    for (size_t i = 0; ok && i < 4; i++) {
        if (node->text[i] < '0' || node->text[i] > '9')
            ok = false;
        else
            y = y * 10 + (node->text[i] - '0');
    }
    if (!ok || y < S_MIN_YEAR || y > S_MAX_YEAR)
        return ob_yamlctx_fail_at(ctx, node, "year '%.*s' must be a number from %d to %d",
                                  ob_yamlctx_show(node->text), node->text, S_MIN_YEAR, S_MAX_YEAR);
    *year = y;
    return 0;
}

/* A name for a list entry; stored once in yr->names. Returns its index + 1. */
static int s_name(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, s_year_t *yr, uint16_t *idx)
{
    if (ob_yamlctx_scalar(ctx, node, "'name'"))
        return -1;
    if (node->len > S_MAX_NAME)
        return ob_yamlctx_fail_at(ctx, node, "'name' is too long (at most %d bytes)", S_MAX_NAME);
    for (size_t i = 0; i < node->len; i++)
        if ((unsigned char) node->text[i] < 0x20 || node->text[i] == 0x7F)
            return ob_yamlctx_fail_at(ctx, node, "'name' holds a control character");
    for (size_t i = 0; i < yr->nnames; i++)
        if (strcmp(yr->names[i], node->text) == 0) {
            *idx = (uint16_t) (i + 1);
            return 0;
        }
    char **names = realloc(yr->names, (yr->nnames + 1) * sizeof *names);
    if (!names)
        return ob_yamlctx_fail_at(ctx, node, "out of memory");
    yr->names = names;
    yr->names[yr->nnames] = strdup(node->text);
    if (!yr->names[yr->nnames])
        return ob_yamlctx_fail_at(ctx, node, "out of memory");
    yr->nnames++;
    *idx = (uint16_t) yr->nnames;
    return 0;
}

enum { S_LISTED_HOLIDAY = 1, S_LISTED_MAKEUP = 2 };

/* Month (1..12) and day of the month of day `yday` (0-based) of a year. */
static int s_month_of(const s_year_t *yr, int yday)
{
    int m = 12;
    while (m > 1 && ob_calendar_days_from_civil(yr->year, m, 1) - yr->first_day > yday)
        m--;
    return m;
}

static int s_mday_of(const s_year_t *yr, int yday)
{
    int64_t first_of_month = ob_calendar_days_from_civil(yr->year, s_month_of(yr, yday), 1);
    return (int) (yr->first_day + yday - first_of_month) + 1;
}

/* One list of day entries: holidays (`makeup` false) or make-up working
   days. Each entry is {name, date} or {name, from, to}. `listed` marks the
   days already named, to refuse a day listed twice. */
static int s_days(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, bool makeup, s_year_t *yr,
                  uint8_t *listed)
{
    const char *what = makeup ? "'makeup_workdays'" : "'holidays'";
    const char *entry = makeup ? "a make-up working day" : "a holiday";
    if (ob_yamlctx_list(ctx, node, what))
        return -1;
    for (size_t i = 0; i < node->nkids; i++) {
        const ob_yamlnode_t *item = node->kids[i];
        ob_yamlfield_t f[] = {
            {"name", NULL, NULL}, {"date", NULL, NULL}, {"from", NULL, NULL}, {"to", NULL, NULL}};
        if (ob_yamlctx_fields(ctx, item, entry, f, 4))
            return -1;
        uint16_t idx = 0;
        if (ob_yamlctx_require(ctx, item, &f[0], entry) || s_name(ctx, f[0].val, yr, &idx))
            return -1;
        int first, last;
        if (f[1].val) {
            if (f[2].val || f[3].val)
                return ob_yamlctx_fail_at(ctx, f[2].val ? f[2].keynode : f[3].keynode,
                                          "%s takes either 'date' or 'from' and 'to', not both",
                                          entry);
            if (s_date(ctx, f[1].val, "date", yr->year, &first))
                return -1;
            last = first;
        }
        else {
            if (!f[2].val || !f[3].val)
                return ob_yamlctx_fail_at(ctx, item, "%s needs 'date', or 'from' and 'to'", entry);
            if (s_date(ctx, f[2].val, "'from'", yr->year, &first)
                || s_date(ctx, f[3].val, "'to'", yr->year, &last))
                return -1;
            if (last < first)
                return ob_yamlctx_fail_at(ctx, f[3].val, "'to' %s is before 'from' %s",
                                          f[3].val->text, f[2].val->text);
        }
        for (int d = first; d <= last; d++) {
            const ob_yamlnode_t *at = f[1].val ? f[1].val : f[2].val;
            int64_t day = yr->first_day + d;
            if (listed[d])
                return ob_yamlctx_fail_at(ctx, at, "%s: %04d-%02d-%02d is already listed as a %s",
                                          entry, yr->year, s_month_of(yr, d), s_mday_of(yr, d),
                                          listed[d] == S_LISTED_HOLIDAY ? "holiday"
                                                                        : "make-up working day");
            listed[d] = makeup ? S_LISTED_MAKEUP : S_LISTED_HOLIDAY;
            yr->name[d] = idx;
            if (makeup) {
                if (!((yr->pat.weekend >> ob_calendar_weekday(day)) & 1))
                    return ob_yamlctx_fail_at(ctx, at,
                                              "make-up working day %s is not a weekend day: "
                                              "it is a working day already",
                                              at->text);
                yr->working[d] = 1;
            }
            else
                yr->working[d] = 0;
        }
    }
    return 0;
}

/* Settings that must agree across the files of one calendar. */
typedef struct {
    bool set;
    int offset_min;
    int64_t warning_ppm;
    const char *path;               /* the first file */
} s_shared_t;

/* Validates one file's tree into *yr. */
static int s_year_file(ob_yamlctx_t *ctx, const ob_yamlnode_t *root, s_year_t *yr,
                       s_shared_t *shared, const ob_yamlnode_t **year_node)
{
    if (!root)
        return ob_yamlctx_fail(ctx, 1, 1, "empty calendar file (expected a mapping with 'year')");
    ob_yamlfield_t f[] = {{"year", NULL, NULL},           {"timezone", NULL, NULL},
                          {"weekend", NULL, NULL},        {"hours", NULL, NULL},
                          {"warning", NULL, NULL},        {"holidays", NULL, NULL},
                          {"makeup_workdays", NULL, NULL}};
    enum { F_YEAR, F_TZ, F_WEEKEND, F_HOURS, F_WARNING, F_HOLIDAYS, F_MAKEUP, F_N };
    if (ob_yamlctx_fields(ctx, root, "a calendar file", f, F_N))
        return -1;
    if (ob_yamlctx_require(ctx, root, &f[F_YEAR], "a calendar file")
        || ob_yamlctx_require(ctx, root, &f[F_HOURS], "a calendar file")
        || s_year_value(ctx, f[F_YEAR].val, &yr->year))
        return -1;
    *year_node = f[F_YEAR].val;
    int offset = S_DEFAULT_OFFSET_MIN;
    int64_t ppm = S_DEFAULT_WARNING_PPM;
    if (f[F_TZ].val && s_timezone(ctx, f[F_TZ].val, &offset))
        return -1;
    if (f[F_WARNING].val && s_warning(ctx, f[F_WARNING].val, &ppm))
        return -1;
    if (!shared->set) {
        shared->set = true;
        shared->offset_min = offset;
        shared->warning_ppm = ppm;
        shared->path = ctx->path;
    }
    else if (offset != shared->offset_min) {
        const ob_yamlnode_t *at = f[F_TZ].val ? f[F_TZ].val : root;
        return ob_yamlctx_fail_at(ctx, at, "timezone differs from the one of '%s' (%+d min)",
                                  shared->path, shared->offset_min);
    }
    else if (ppm != shared->warning_ppm) {
        const ob_yamlnode_t *at = f[F_WARNING].val ? f[F_WARNING].val : root;
        return ob_yamlctx_fail_at(ctx, at, "warning differs from the one of '%s' (%g)",
                                  shared->path, (double) shared->warning_ppm / S_PPM);
    }
    yr->pat.weekend = (1 << 5) | (1 << 6);
    if (f[F_WEEKEND].val && s_weekend(ctx, f[F_WEEKEND].val, &yr->pat.weekend))
        return -1;
    if (s_hours(ctx, f[F_HOURS].val, &yr->pat))
        return -1;
    ob_calendar_pattern_finish(&yr->pat);

    yr->first_day = ob_calendar_days_from_civil(yr->year, 1, 1);
    yr->ndays = s_leap(yr->year) ? 366 : 365;
    for (int d = 0; d < yr->ndays; d++)
        yr->working[d] = !((yr->pat.weekend >> ob_calendar_weekday(yr->first_day + d)) & 1);
    uint8_t listed[366] = {0};
    /* Holidays first: a make-up day listed as a holiday too is refused
       whichever list comes first in the file. */
    if (f[F_HOLIDAYS].val && s_days(ctx, f[F_HOLIDAYS].val, false, yr, listed))
        return -1;
    if (f[F_MAKEUP].val && s_days(ctx, f[F_MAKEUP].val, true, yr, listed))
        return -1;
    return 0;
}

/* Reads a whole file (at most S_MAX_FILE bytes). */
static int s_read_file(const char *path, unsigned char **buf_p, size_t *len_p, char *err,
                       size_t errlen)
{
    int rc = -1;
    unsigned char *buf = NULL;
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(err, errlen, "%s: cannot open calendar file: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size > S_MAX_FILE) {
        snprintf(err, errlen, "%s: calendar file too large (more than %d bytes)", path,
                 S_MAX_FILE);
        goto out;
    }
    size_t len = (size_t) st.st_size;
    buf = malloc(len + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (fread(buf, 1, len, file) != len) {
        snprintf(err, errlen, "%s: cannot read calendar file", path);
        goto out;
    }
    buf[len] = '\0';
    *buf_p = buf;
    *len_p = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(file);
    return rc;
}

static int s_year_cmp(const void *a, const void *b)
{
    const s_year_t *x = a, *y = b;
    return (x->year > y->year) - (x->year < y->year);
}

ob_calendar_t *ob_calendar_load(const char *const *paths, size_t npaths, char *err,
                                size_t errlen)
{
    assert(paths || npaths == 0);
    char dummy[8];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    ob_calendar_t *self = NULL;
    s_year_t *years = NULL;
    size_t nyears = 0;
    s_shared_t shared = {0};
    if (npaths == 0) {
        snprintf(err, errlen, "no calendar file given");
        goto out;
    }
    if (npaths > S_MAX_YEARS) {
        snprintf(err, errlen, "too many calendar files (at most %d)", S_MAX_YEARS);
        goto out;
    }
    years = calloc(npaths, sizeof *years);
    if (!years) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < npaths; i++) {
        unsigned char *buf = NULL;
        size_t len = 0;
        if (s_read_file(paths[i], &buf, &len, err, errlen))
            goto out;
        ob_yamlctx_t ctx = {.path = paths[i], .err = err, .errlen = errlen};
        const ob_yamlnode_t *year_node = NULL;
        ob_yamltree_t *tree = ob_yamltree_parse(buf, len, paths[i], &s_limits, err, errlen);
        int bad = tree ? 0 : -1;
        nyears++;  /* counted before validation: its names are freed on error */
        if (!bad)
            bad = s_year_file(&ctx, ob_yamltree_root(tree), &years[i], &shared, &year_node);
        for (size_t j = 0; !bad && j < i; j++)
            if (years[j].year == years[i].year)
                bad = ob_yamlctx_fail_at(&ctx, year_node, "year %d is already loaded from '%s'",
                                         years[i].year, paths[j]);
        ob_yamltree_destroy(&tree);
        free(buf);
        if (bad)
            goto out;
    }
    qsort(years, nyears, sizeof *years, s_year_cmp);
    self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    self->offset_ms = (int64_t) shared.offset_min * S_MIN_MS;
    self->warning_ppm = shared.warning_ppm;
    self->weekdays = years[0].pat;
    self->years = years;
    self->nyears = nyears;
    years = NULL;
out:
    ob_calendar_years_free(years, nyears);
    return self;
}

