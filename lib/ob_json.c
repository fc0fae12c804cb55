/*  ob_json.c — work orders and records to and from JSON (jansson).

    Input (ob_json_to_workorder) is what people and intake scripts write:
    it is checked field by field, unknown fields are refused, and every
    error names the field ("field 'location.lat' must be ...") without ever
    quoting the value, because values may be personal data.

    Output (ob_json_from_*) is what `--json` prints: proto field names, enum
    names without prefix ("DISPATCHED"), ids in hex, times as unix ms plus
    an ISO-8601 string in the site's zone (+08:00) for readers. The JSON a
    work order is printed as is accepted back as input.                    */
#include <math.h>
#include <time.h>
#include <zmq.h>
#include "ob_json.h"
#include "ob_text.h"
#include "ob_fsm.h"
#include "ob_util.h"
#include "ob_selftest.h"

#define OB_JSON_TITLE_MAX    512
#define OB_JSON_CONTENT_MAX  (64 * 1024)
#define OB_JSON_STRING_MAX   1024
#define OB_JSON_CATEGORY_MAX 3
#define OB_JSON_ATTACH_MAX   32
#define OB_JSON_ZONE_MIN     480         /* times without a zone are China time */
#define OB_JSON_YEAR_MAX     9999

/* --- time ------------------------------------------------------------------ */

/* Reads `min`..`max` decimal digits at *p into *out, advancing *p. */
static bool s_digits(const char **p, int min, int max, int *out)
{
    int n = 0, v = 0;
    while (n < max && (*p)[n] >= '0' && (*p)[n] <= '9') {
        v = v * 10 + ((*p)[n] - '0');
        n++;
    }
    if (n < min)
        return false;
    *p += n;
    *out = v;
    return true;
}

static int s_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Parses the times people and intake systems write, into unix ms:
     2020-01-06T12:09:38+08:00   2020-01-06T04:09:38.250Z   2020-01-06 12:09
     2020/1/6 12:09:38           2020-01-06                 (no zone: +08:00)
   Returns 0, or -1 when the text is not such a time or out of range. */
static int s_parse_time(const char *s, int64_t *ms_out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, zone = OB_JSON_ZONE_MIN;
    if (!s_digits(&p, 4, 4, &y))
        return -1;
    char sep = *p;
    if (sep != '-' && sep != '/')
        return -1;
    p++;
    if (!s_digits(&p, 1, 2, &mo) || *p != sep)
        return -1;
    p++;
    if (!s_digits(&p, 1, 2, &d))
        return -1;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!s_digits(&p, 1, 2, &h) || *p != ':')
            return -1;
        p++;
        if (!s_digits(&p, 2, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (!s_digits(&p, 2, 2, &sec))
                return -1;
            if (*p == '.' || *p == ',') {
                p++;
                int frac, digits;
                const char *start = p;
                if (!s_digits(&p, 1, 3, &frac))
                    return -1;
                digits = (int) (p - start);
                ms = digits == 1 ? frac * 100 : digits == 2 ? frac * 10 : frac;
                while (*p >= '0' && *p <= '9')   /* finer than ms: dropped */
                    p++;
            }
        }
        if (*p == 'Z') {
            zone = 0;
            p++;
        }
        else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, zh, zm = 0;
            p++;
            if (!s_digits(&p, 2, 2, &zh))
                return -1;
            if (*p == ':')
                p++;
            if (*p && !s_digits(&p, 2, 2, &zm))
                return -1;
            if (zh > 14 || zm > 59)
                return -1;
            zone = sign * (zh * 60 + zm);
        }
    }
    if (*p != '\0')
        return -1;
    if (y < 1970 || y > OB_JSON_YEAR_MAX || mo < 1 || mo > 12 || d < 1
        || d > s_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    int64_t v = ((int64_t) t - (int64_t) zone * 60) * 1000 + ms;
    if (v < 0)
        return -1;
    *ms_out = v;
    return 0;
}

/* "2020-01-06T12:09:38+08:00" (".250" before the zone when ms has a
   fraction) for unix ms `ms`, in China time. */
static char *s_iso(char *out, size_t outlen, int64_t ms)
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    time_t t = (time_t) (secs + OB_JSON_ZONE_MIN * 60);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, outlen, "?");
        return out;
    }
    char fracs[8] = "";
    if (frac)
        snprintf(fracs, sizeof fracs, ".%03d", (int) frac);
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d%s+08:00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fracs);
    return out;
}

/* --- input ------------------------------------------------------------------ */

/* Sets err to "field 'NAME' MESSAGE". */
static void s_field_error(char *err, size_t errlen, const char *field, const char *msg)
{
    snprintf(err, errlen, "field '%s' %s", field, msg);
}

/* An unknown key is a typo to report; quote it only when it is short,
   printable UTF-8 (a key is a name, but it is still input). */
static void s_unknown_field(char *err, size_t errlen, const char *prefix, const char *key)
{
    size_t len = strlen(key);
    bool quotable = len > 0 && len <= 64 && ob_text_utf8_valid(key, len);
    for (size_t i = 0; quotable && i < len; i++)
        if ((unsigned char) key[i] < 0x20 || key[i] == '\'' || key[i] == 0x7f)
            quotable = false;
    if (quotable)
        snprintf(err, errlen, "unknown field '%s%s%s'", prefix ? prefix : "",
                 prefix ? "." : "", key);
    else
        snprintf(err, errlen, "unknown field in %s%s%s", prefix ? "'" : "",
                 prefix ? prefix : "the work order", prefix ? "'" : "");
}

/* Takes a string field into *out (malloc'd; left alone when the value is
   null). Checks type, NUL bytes, UTF-8 and the length cap. */
static int s_take_str(json_t *v, const char *field, size_t max, char **out, char *err,
                      size_t errlen)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        s_field_error(err, errlen, field, "must be a string");
        return -1;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > max) {
        char msg[64];
        snprintf(msg, sizeof msg, "is longer than %zu bytes", max);
        s_field_error(err, errlen, field, msg);
        return -1;
    }
    if (strlen(s) != len) {
        s_field_error(err, errlen, field, "contains a NUL character");
        return -1;
    }
    if (!ob_text_utf8_valid(s, len)) {
        s_field_error(err, errlen, field, "is not valid UTF-8");
        return -1;
    }
    char *copy = strdup(s);
    if (!copy) {
        s_field_error(err, errlen, field, ": out of memory");
        return -1;
    }
    *out = copy;   /* the previous value is protobuf_c_empty_string: nothing to free */
    return 0;
}

static int s_take_bool(json_t *v, const char *field, protobuf_c_boolean *out, char *err,
                       size_t errlen)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        s_field_error(err, errlen, field, "must be true or false");
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* Takes an enum by name via `parse` (any case, prefix optional). */
static int s_take_enum(json_t *v, const char *field, int (*parse)(const char *, int *),
                       const char *choices, int *out, char *err, size_t errlen)
{
    if (json_is_null(v))
        return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "must be one of %s", choices);
    if (!json_is_string(v) || json_string_length(v) > 64 || parse(json_string_value(v), out) < 0) {
        s_field_error(err, errlen, field, msg);
        return -1;
    }
    return 0;
}

static int s_parse_channel(const char *name, int *out)
{
    Orderbus__V1__Channel v;
    if (ob_channel_parse(name, &v) < 0)
        return -1;
    *out = (int) v;
    return 0;
}

static int s_parse_appeal(const char *name, int *out)
{
    Orderbus__V1__AppealType v;
    if (ob_appeal_parse(name, &v) < 0)
        return -1;
    *out = (int) v;
    return 0;
}

static int s_parse_urgency(const char *name, int *out)
{
    Orderbus__V1__Urgency v;
    if (ob_urgency_parse(name, &v) < 0)
        return -1;
    *out = (int) v;
    return 0;
}

/* Hex of exactly `len` bytes into a malloc'd binary field. */
static int s_take_hex(json_t *v, const char *field, size_t len, ProtobufCBinaryData *out,
                      char *err, size_t errlen)
{
    if (json_is_null(v))
        return 0;
    char msg[64];
    snprintf(msg, sizeof msg, "must be %zu hex digits", 2 * len);
    if (!json_is_string(v)) {
        s_field_error(err, errlen, field, msg);
        return -1;
    }
    const char *s = json_string_value(v);
    if (*s == '\0')
        return 0;   /* "" means none */
    if (json_string_length(v) != 2 * len) {
        s_field_error(err, errlen, field, msg);
        return -1;
    }
    uint8_t *data = (uint8_t *) malloc(len);
    if (!data) {
        s_field_error(err, errlen, field, ": out of memory");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned hi, lo;
        char c1 = s[2 * i], c2 = s[2 * i + 1];
        hi = c1 >= '0' && c1 <= '9' ? (unsigned) (c1 - '0')
             : c1 >= 'a' && c1 <= 'f' ? (unsigned) (c1 - 'a' + 10)
             : c1 >= 'A' && c1 <= 'F' ? (unsigned) (c1 - 'A' + 10) : 16u;
        lo = c2 >= '0' && c2 <= '9' ? (unsigned) (c2 - '0')
             : c2 >= 'a' && c2 <= 'f' ? (unsigned) (c2 - 'a' + 10)
             : c2 >= 'A' && c2 <= 'F' ? (unsigned) (c2 - 'A' + 10) : 16u;
        if (hi > 15 || lo > 15) {
            free(data);
            s_field_error(err, errlen, field, msg);
            return -1;
        }
        data[i] = (uint8_t) (hi << 4 | lo);
    }
    out->data = data;
    out->len = len;
    return 0;
}

static int s_take_coord(json_t *v, const char *field, double limit, bool *given, double *out,
                        char *err, size_t errlen)
{
    if (json_is_null(v))
        return 0;
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!json_is_number(v) || !isfinite(d) || d < -limit || d > limit) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be a number from %g to %g", -limit, limit);
        s_field_error(err, errlen, field, msg);
        return -1;
    }
    *out = d;
    *given = true;
    return 0;
}

static int s_take_location(json_t *obj, Orderbus__V1__Location **out, char *err, size_t errlen)
{
    if (json_is_null(obj))
        return 0;
    if (!json_is_object(obj)) {
        s_field_error(err, errlen, "location", "must be an object");
        return -1;
    }
    Orderbus__V1__Location *loc = (Orderbus__V1__Location *) malloc(sizeof *loc);
    if (!loc) {
        s_field_error(err, errlen, "location", ": out of memory");
        return -1;
    }
    orderbus__v1__location__init(loc);
    *out = loc;   /* owned by the work order from here, even on error */
    bool has_lat = false, has_lon = false;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int rc;
        if (strcmp(key, "district_code") == 0)
            rc = s_take_str(v, "location.district_code", OB_JSON_STRING_MAX, &loc->district_code,
                            err, errlen);
        else if (strcmp(key, "street_code") == 0)
            rc = s_take_str(v, "location.street_code", OB_JSON_STRING_MAX, &loc->street_code,
                            err, errlen);
        else if (strcmp(key, "street") == 0)
            rc = s_take_str(v, "location.street", OB_JSON_STRING_MAX, &loc->street, err, errlen);
        else if (strcmp(key, "address") == 0)
            rc = s_take_str(v, "location.address", OB_JSON_STRING_MAX, &loc->address, err,
                            errlen);
        else if (strcmp(key, "lat") == 0)
            rc = s_take_coord(v, "location.lat", 90, &has_lat, &loc->lat, err, errlen);
        else if (strcmp(key, "lon") == 0)
            rc = s_take_coord(v, "location.lon", 180, &has_lon, &loc->lon, err, errlen);
        else {
            s_unknown_field(err, errlen, "location", key);
            rc = -1;
        }
        if (rc < 0)
            return -1;
    }
    if (has_lat != has_lon) {
        s_field_error(err, errlen, has_lat ? "location.lon" : "location.lat",
                      "is missing: give both lat and lon, or neither");
        return -1;
    }
    loc->has_point = has_lat && has_lon;
    if (!loc->has_point && !*loc->district_code && !*loc->street_code && !*loc->street
        && !*loc->address) {
        /* nothing in it: no location at all, as it is printed */
        orderbus__v1__location__free_unpacked(loc, NULL);
        *out = NULL;
    }
    return 0;
}

static int s_take_contact(json_t *obj, Orderbus__V1__Contact **out, char *err, size_t errlen)
{
    if (json_is_null(obj))
        return 0;
    if (!json_is_object(obj)) {
        s_field_error(err, errlen, "contact", "must be an object");
        return -1;
    }
    Orderbus__V1__Contact *c = (Orderbus__V1__Contact *) malloc(sizeof *c);
    if (!c) {
        s_field_error(err, errlen, "contact", ": out of memory");
        return -1;
    }
    orderbus__v1__contact__init(c);
    *out = c;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char **dst = strcmp(key, "name") == 0        ? &c->name
                     : strcmp(key, "phone") == 0     ? &c->phone
                     : strcmp(key, "email") == 0     ? &c->email
                     : strcmp(key, "address") == 0   ? &c->address
                     : strcmp(key, "id_number") == 0 ? &c->id_number
                                                     : NULL;
        if (!dst) {
            s_unknown_field(err, errlen, "contact", key);
            return -1;
        }
        char field[32];
        snprintf(field, sizeof field, "contact.%s", key);
        if (s_take_str(v, field, OB_JSON_STRING_MAX, dst, err, errlen) < 0)
            return -1;
    }
    if (!*c->name && !*c->phone && !*c->email && !*c->address && !*c->id_number) {
        /* nothing in it: no contact at all, as it is printed */
        orderbus__v1__contact__free_unpacked(c, NULL);
        *out = NULL;
    }
    return 0;
}

static int s_take_attachment(json_t *obj, size_t index, Orderbus__V1__Attachment *a, char *err,
                             size_t errlen)
{
    char prefix[32], field[64];
    snprintf(prefix, sizeof prefix, "attachments[%zu]", index);
    if (!json_is_object(obj)) {
        s_field_error(err, errlen, prefix, "must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int rc = 0;
        snprintf(field, sizeof field, "%s.%.16s", prefix, key);
        if (strcmp(key, "name") == 0)
            rc = s_take_str(v, field, OB_JSON_STRING_MAX, &a->name, err, errlen);
        else if (strcmp(key, "mime_type") == 0)
            rc = s_take_str(v, field, OB_JSON_STRING_MAX, &a->mime_type, err, errlen);
        else if (strcmp(key, "uri") == 0)
            rc = s_take_str(v, field, OB_JSON_STRING_MAX, &a->uri, err, errlen);
        else if (strcmp(key, "sha256") == 0)
            rc = s_take_hex(v, field, 32, &a->sha256, err, errlen);
        else if (strcmp(key, "size") == 0) {
            if (json_is_null(v))
                continue;
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                s_field_error(err, errlen, field, "must be a whole number of bytes");
                return -1;
            }
            a->size = (uint64_t) json_integer_value(v);
        }
        else {
            s_unknown_field(err, errlen, prefix, key);
            rc = -1;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int s_take_attachments(json_t *arr, ob_workorder_t *wo, char *err, size_t errlen)
{
    if (json_is_null(arr))
        return 0;
    if (!json_is_array(arr)) {
        s_field_error(err, errlen, "attachments", "must be an array");
        return -1;
    }
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    if (n > OB_JSON_ATTACH_MAX) {
        s_field_error(err, errlen, "attachments", "has more than 32 entries");
        return -1;
    }
    wo->attachments = (Orderbus__V1__Attachment **) calloc(n, sizeof *wo->attachments);
    if (!wo->attachments) {
        s_field_error(err, errlen, "attachments", ": out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        Orderbus__V1__Attachment *a = (Orderbus__V1__Attachment *) malloc(sizeof *a);
        if (!a) {
            s_field_error(err, errlen, "attachments", ": out of memory");
            return -1;
        }
        orderbus__v1__attachment__init(a);
        wo->attachments[i] = a;
        wo->n_attachments = i + 1;
        if (s_take_attachment(json_array_get(arr, i), i, a, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Adds one category level (checked) to wo->category. */
static int s_add_category(ob_workorder_t *wo, const char *s, size_t len, char *err,
                          size_t errlen)
{
    if (len == 0) {
        s_field_error(err, errlen, "category", "has an empty level");
        return -1;
    }
    if (len > OB_JSON_STRING_MAX) {
        s_field_error(err, errlen, "category", "has a level longer than 1024 bytes");
        return -1;
    }
    if (memchr(s, '\0', len) || !ob_text_utf8_valid(s, len)) {
        s_field_error(err, errlen, "category", "is not valid UTF-8 text");
        return -1;
    }
    if (wo->n_category == OB_JSON_CATEGORY_MAX) {
        s_field_error(err, errlen, "category", "has more than 3 levels");
        return -1;
    }
    char *copy = strndup(s, len);
    if (!copy) {
        s_field_error(err, errlen, "category", ": out of memory");
        return -1;
    }
    wo->category[wo->n_category++] = copy;
    return 0;
}

/* category: ["城乡建设", "物业管理"] or "城乡建设/物业管理". */
static int s_take_category(json_t *v, ob_workorder_t *wo, char *err, size_t errlen)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v) && !json_is_string(v)) {
        s_field_error(err, errlen, "category", "must be an array of strings or a \"a/b/c\" path");
        return -1;
    }
    wo->category = (char **) calloc(OB_JSON_CATEGORY_MAX, sizeof *wo->category);
    if (!wo->category) {
        s_field_error(err, errlen, "category", ": out of memory");
        return -1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (len == 0)
            return 0;
        const char *end = s + len;
        while (true) {
            const char *slash = (const char *) memchr(s, '/', (size_t) (end - s));
            const char *stop = slash ? slash : end;
            if (s_add_category(wo, s, (size_t) (stop - s), err, errlen) < 0)
                return -1;
            if (!slash)
                break;
            s = slash + 1;
        }
        return 0;
    }
    size_t i;
    json_t *level;
    json_array_foreach(v, i, level) {
        if (!json_is_string(level)) {
            s_field_error(err, errlen, "category", "must be an array of strings");
            return -1;
        }
        if (s_add_category(wo, json_string_value(level), json_string_length(level), err, errlen)
            < 0)
            return -1;
    }
    return 0;
}

/* Builds a work order from `obj`; see ob_json.h for the rules. */
ob_workorder_t *ob_json_to_workorder(json_t *obj, char *err, size_t errlen)
{
    ob_workorder_t *wo = NULL;
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "a work order must be a JSON object");
        goto fail;
    }
    wo = (ob_workorder_t *) malloc(sizeof *wo);
    if (!wo) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    orderbus__v1__work_order__init(wo);

    bool have_ms = false, have_iso = false;
    int64_t iso_ms = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int rc = 0, e;
        if (strcmp(key, "id") == 0)
            rc = s_take_hex(v, "id", OB_ID_BYTES, &wo->id, err, errlen);
        else if (strcmp(key, "case_no") == 0) {
            rc = s_take_str(v, "case_no", OB_CASE_NO_MAX - 1, &wo->case_no, err, errlen);
            if (rc == 0 && *wo->case_no && !ob_case_no_valid(wo->case_no)) {
                s_field_error(err, errlen, "case_no", "must look like YYYYMMDD-NNNNNN");
                rc = -1;
            }
        }
        else if (strcmp(key, "channel") == 0) {
            e = (int) wo->channel;
            rc = s_take_enum(v, "channel", s_parse_channel,
                             "PHONE, WEB, APP, WECHAT, EMAIL, LETTER, VISIT", &e, err, errlen);
            wo->channel = (Orderbus__V1__Channel) e;
        }
        else if (strcmp(key, "appeal_type") == 0) {
            e = (int) wo->appeal_type;
            rc = s_take_enum(v, "appeal_type", s_parse_appeal,
                             "CONSULTATION, HELP, COMPLAINT, REPORT, SUGGESTION, PRAISE", &e, err,
                             errlen);
            wo->appeal_type = (Orderbus__V1__AppealType) e;
        }
        else if (strcmp(key, "urgency") == 0) {
            e = (int) wo->urgency;
            rc = s_take_enum(v, "urgency", s_parse_urgency, "NORMAL, URGENT, VERY_URGENT", &e,
                             err, errlen);
            wo->urgency = (Orderbus__V1__Urgency) e;
        }
        else if (strcmp(key, "category") == 0)
            rc = s_take_category(v, wo, err, errlen);
        else if (strcmp(key, "title") == 0)
            rc = s_take_str(v, "title", OB_JSON_TITLE_MAX, &wo->title, err, errlen);
        else if (strcmp(key, "content") == 0)
            rc = s_take_str(v, "content", OB_JSON_CONTENT_MAX, &wo->content, err, errlen);
        else if (strcmp(key, "target_org") == 0)
            rc = s_take_str(v, "target_org", OB_JSON_STRING_MAX, &wo->target_org, err, errlen);
        else if (strcmp(key, "external_ref") == 0)
            rc = s_take_str(v, "external_ref", OB_JSON_STRING_MAX, &wo->external_ref, err,
                            errlen);
        else if (strcmp(key, "location") == 0)
            rc = s_take_location(v, &wo->location, err, errlen);
        else if (strcmp(key, "contact") == 0)
            rc = s_take_contact(v, &wo->contact, err, errlen);
        else if (strcmp(key, "attachments") == 0)
            rc = s_take_attachments(v, wo, err, errlen);
        else if (strcmp(key, "anonymous") == 0)
            rc = s_take_bool(v, "anonymous", &wo->anonymous, err, errlen);
        else if (strcmp(key, "confidential") == 0)
            rc = s_take_bool(v, "confidential", &wo->confidential, err, errlen);
        else if (strcmp(key, "received_at_ms") == 0) {
            if (json_is_null(v))
                continue;
            json_int_t ms = json_is_integer(v) ? json_integer_value(v) : -1;
            if (ms < 0 || ms > 253402300799999LL) {   /* 9999-12-31 */
                s_field_error(err, errlen, "received_at_ms",
                              "must be a whole number of milliseconds since 1970");
                rc = -1;
            }
            else {
                wo->received_at_ms = ms;
                have_ms = true;
            }
        }
        else if (strcmp(key, "received_at") == 0) {
            if (json_is_null(v))
                continue;
            if (!json_is_string(v) || json_string_length(v) > 64
                || s_parse_time(json_string_value(v), &iso_ms) < 0) {
                s_field_error(err, errlen, "received_at",
                              "must be a time like 2020-01-06T12:09:38+08:00 or "
                              "2020/1/6 12:09:38");
                rc = -1;
            }
            else
                have_iso = true;
        }
        else {
            s_unknown_field(err, errlen, NULL, key);
            rc = -1;
        }
        if (rc < 0)
            goto fail;
    }
    if (have_iso) {
        if (have_ms && iso_ms != wo->received_at_ms) {
            snprintf(err, errlen, "fields 'received_at' and 'received_at_ms' disagree");
            goto fail;
        }
        wo->received_at_ms = iso_ms;
    }
    if (!*wo->title && !*wo->content) {
        snprintf(err, errlen, "a work order needs a 'title' or a 'content'");
        goto fail;
    }
    return wo;

fail:
    if (wo)
        orderbus__v1__work_order__free_unpacked(wo, NULL);
    return NULL;
}

/* What went wrong in jansson's words, without its text (which quotes input). */
static const char *s_json_reason(const json_error_t *jerr)
{
    switch (json_error_code(jerr)) {
    case json_error_out_of_memory: return "out of memory";
    case json_error_stack_overflow: return "nested too deeply";
    case json_error_invalid_utf8: return "invalid UTF-8";
    case json_error_premature_end_of_input: return "unexpected end of input";
    case json_error_end_of_input_expected: return "text after the end of the object";
    case json_error_invalid_syntax: return "syntax error";
    case json_error_null_character: return "NUL character in a string";
    case json_error_null_byte_in_key: return "NUL character in a key";
    case json_error_duplicate_key: return "duplicate key";
    case json_error_numeric_overflow: return "number out of range";
    default: return "invalid JSON";
    }
}

ob_workorder_t *ob_json_parse_workorder(const char *text, size_t len, char *err, size_t errlen)
{
    if (!text) {
        snprintf(err, errlen, "no work order JSON given");
        return NULL;
    }
    if (len > OB_MAX_FRAME) {
        snprintf(err, errlen, "work order JSON is larger than %d bytes", OB_MAX_FRAME);
        return NULL;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                 s_json_reason(&jerr));
        return NULL;
    }
    ob_workorder_t *wo = ob_json_to_workorder(obj, err, errlen);
    json_decref(obj);
    return wo;
}

/* --- output ------------------------------------------------------------------ */

/* A JSON string for `s`; bytes that are not UTF-8 (a peer may send them)
   become U+FFFD so that the output is always valid JSON. */
static json_t *s_jstr(const char *s)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    if (ob_text_utf8_valid(s, len))
        return json_stringn(s, len);
    char *clean = (char *) malloc(3 * len + 1);
    if (!clean)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char) s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n && i + n <= len && ob_text_utf8_valid(s + i, n)) {
            memcpy(clean + o, s + i, n);
            o += n;
            i += n;
        }
        else {
            memcpy(clean + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(clean, o);
    free(clean);
    return j;
}

static void s_put_str(json_t *o, const char *key, const char *s)
{
    if (s && *s)
        json_object_set_new(o, key, s_jstr(s));
}

static void s_put_int(json_t *o, const char *key, int64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t) v));
}

static void s_put_u64(json_t *o, const char *key, uint64_t v)
{
    json_object_set_new(o, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t) v));
}

/* "<base>_ms": ms always; "<base>": ISO string when ms is set. */
static void s_put_time(json_t *o, const char *base, int64_t ms)
{
    char key[64], iso[48];
    snprintf(key, sizeof key, "%s_ms", base);
    s_put_int(o, key, ms);
    if (ms)
        json_object_set_new(o, base, json_string(s_iso(iso, sizeof iso, ms)));
}

static void s_put_hex(json_t *o, const char *key, ProtobufCBinaryData b)
{
    if (b.len == 0 || b.len > 256)
        return;
    char hex[2 * 256 + 1];
    json_object_set_new(o, key, json_string(ob_hex(hex, b.data, b.len)));
}

json_t *ob_json_from_workorder(const ob_workorder_t *wo, bool with_contact)
{
    if (!wo)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    s_put_hex(o, "id", wo->id);
    s_put_str(o, "case_no", wo->case_no);
    if (wo->channel)
        json_object_set_new(o, "channel", json_string(ob_channel_name(wo->channel)));
    if (wo->appeal_type)
        json_object_set_new(o, "appeal_type", json_string(ob_appeal_name(wo->appeal_type)));
    if (wo->n_category) {
        json_t *cat = json_array();
        for (size_t i = 0; i < wo->n_category; i++)
            json_array_append_new(cat, s_jstr(wo->category[i]));
        json_object_set_new(o, "category", cat);
    }
    json_object_set_new(o, "title", s_jstr(wo->title));
    json_object_set_new(o, "content", s_jstr(wo->content));
    if (wo->location) {
        const Orderbus__V1__Location *l = wo->location;
        json_t *loc = json_object();
        s_put_str(loc, "district_code", l->district_code);
        s_put_str(loc, "street_code", l->street_code);
        s_put_str(loc, "street", l->street);
        s_put_str(loc, "address", l->address);
        if (l->has_point) {
            json_object_set_new(loc, "lat", json_real(l->lat));
            json_object_set_new(loc, "lon", json_real(l->lon));
        }
        if (json_object_size(loc))
            json_object_set_new(o, "location", loc);
        else
            json_decref(loc);
    }
    s_put_str(o, "target_org", wo->target_org);
    json_object_set_new(o, "urgency", json_string(ob_urgency_name(wo->urgency)));
    json_object_set_new(o, "anonymous", json_boolean(wo->anonymous));
    json_object_set_new(o, "confidential", json_boolean(wo->confidential));
    if (with_contact && wo->contact) {
        const Orderbus__V1__Contact *c = wo->contact;
        json_t *con = json_object();
        s_put_str(con, "name", c->name);
        s_put_str(con, "phone", c->phone);
        s_put_str(con, "email", c->email);
        s_put_str(con, "address", c->address);
        s_put_str(con, "id_number", c->id_number);
        if (json_object_size(con))
            json_object_set_new(o, "contact", con);
        else
            json_decref(con);
    }
    if (wo->n_attachments) {
        json_t *arr = json_array();
        for (size_t i = 0; i < wo->n_attachments; i++) {
            const Orderbus__V1__Attachment *a = wo->attachments[i];
            if (!a)
                continue;
            json_t *aj = json_object();
            s_put_str(aj, "name", a->name);
            s_put_str(aj, "mime_type", a->mime_type);
            s_put_u64(aj, "size", a->size);
            s_put_hex(aj, "sha256", a->sha256);
            s_put_str(aj, "uri", a->uri);
            json_array_append_new(arr, aj);
        }
        json_object_set_new(o, "attachments", arr);
    }
    if (wo->received_at_ms)
        s_put_time(o, "received_at", wo->received_at_ms);
    s_put_str(o, "external_ref", wo->external_ref);
    return o;
}

json_t *ob_json_from_record(const ob_record_t *rec, bool with_contact)
{
    if (!rec)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    /* id and case number up front, for scripts (`jq .id`) */
    if (rec->order) {
        s_put_hex(o, "id", rec->order->id);
        s_put_str(o, "case_no", rec->order->case_no);
    }
    json_object_set_new(o, "state", json_string(ob_state_name(rec->state)));
    json_object_set_new(o, "open", json_boolean(ob_state_is_open(rec->state)));
    s_put_str(o, "dept", rec->dept);
    s_put_int(o, "attempt", rec->attempt);
    s_put_str(o, "rule_id", rec->rule_id);
    s_put_str(o, "rules_version", rec->rules_version);
    s_put_int(o, "priority", rec->priority);
    json_object_set_new(o, "confidential", json_boolean(rec->confidential));
    json_t *assist = json_array();
    for (size_t i = 0; assist && i < rec->n_assist_depts; i++)
        json_array_append_new(assist, json_string(rec->assist_depts[i]));
    json_object_set_new(o, "assist_depts", assist);
    s_put_time(o, "assist_deadline", rec->assist_deadline_ms);
    s_put_time(o, "created_at", rec->created_at_ms);
    s_put_time(o, "dispatched_at", rec->dispatched_at_ms);
    s_put_time(o, "last_dispatch_at", rec->last_dispatch_at_ms);
    s_put_time(o, "sign_deadline", rec->sign_deadline_ms);
    s_put_time(o, "reply_deadline", rec->reply_deadline_ms);
    s_put_time(o, "sign_warning", rec->sign_warning_ms);
    s_put_time(o, "reply_warning", rec->reply_warning_ms);
    s_put_time(o, "signed_at", rec->signed_at_ms);
    s_put_time(o, "replied_at", rec->replied_at_ms);
    s_put_time(o, "closed_at", rec->closed_at_ms);
    s_put_time(o, "updated_at", rec->updated_at_ms);
    json_object_set_new(o, "transport", json_string(ob_transport_name(rec->transport)));
    s_put_str(o, "transport_error", rec->transport_error);
    s_put_int(o, "return_count", rec->return_count);
    s_put_int(o, "rework_count", rec->rework_count);
    s_put_int(o, "reopen_count", rec->reopen_count);
    if (rec->reply_result)
        json_object_set_new(o, "reply_result", json_string(ob_result_name(rec->reply_result)));
    s_put_str(o, "reply_note", rec->reply_note);
    if (rec->satisfaction)
        json_object_set_new(o, "satisfaction",
                            json_string(ob_satisfaction_name(rec->satisfaction)));
    s_put_str(o, "return_reason", rec->return_reason);
    json_t *tried = json_array();
    for (size_t i = 0; i < rec->n_tried_depts; i++)
        json_array_append_new(tried, s_jstr(rec->tried_depts[i]));
    json_object_set_new(o, "tried_depts", tried);
    s_put_u64(o, "last_seq", rec->last_seq);
    if (rec->order)
        json_object_set_new(o, "order", ob_json_from_workorder(rec->order, with_contact));
    s_put_str(o, "model_version", rec->model_version);
    if (rec->n_suggestions) {
        json_t *arr = json_array();
        for (size_t k = 0; k < rec->n_suggestions; k++) {
            json_t *sg = json_object();
            s_put_str(sg, "label", rec->suggestions[k]->label);
            s_put_str(sg, "dept", rec->suggestions[k]->dept);
            json_object_set_new(sg, "prob", json_real(rec->suggestions[k]->prob));
            json_array_append_new(arr, sg);
        }
        json_object_set_new(o, "suggestions", arr);
    }
    return o;
}

json_t *ob_json_from_journal(const ob_journal_t *e)
{
    if (!e)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    s_put_u64(o, "seq", e->seq);
    s_put_hex(o, "order_id", e->order_id);
    s_put_str(o, "case_no", e->case_no);
    s_put_time(o, "at", e->at_ms);
    if (e->act_at_ms)
        s_put_time(o, "act_at", e->act_at_ms);   /* a department's act: its own time */
    json_object_set_new(o, "event", json_string(ob_event_name(e->event)));
    json_object_set_new(o, "from_state", json_string(ob_state_name(e->from_state)));
    json_object_set_new(o, "to_state", json_string(ob_state_name(e->to_state)));
    if (e->actor) {
        json_t *a = json_object();
        json_object_set_new(a, "role", json_string(ob_role_name(e->actor->role)));
        s_put_str(a, "id", e->actor->id);
        if (e->actor->key.len == 32) {
            char z85[41];
            if (zmq_z85_encode(z85, e->actor->key.data, 32))
                json_object_set_new(a, "key", json_string(z85));
        }
        json_object_set_new(o, "actor", a);
    }
    s_put_str(o, "dept", e->dept);
    s_put_str(o, "prev_dept", e->prev_dept);
    s_put_int(o, "attempt", e->attempt);
    s_put_str(o, "note", e->note);
    s_put_str(o, "rule_id", e->rule_id);
    s_put_str(o, "rules_version", e->rules_version);
    if (e->result)
        json_object_set_new(o, "result", json_string(ob_result_name(e->result)));
    if (e->satisfaction)
        json_object_set_new(o, "satisfaction", json_string(ob_satisfaction_name(e->satisfaction)));
    return o;
}

json_t *ob_json_from_nodeorder(const ob_nodeorder_t *n)
{
    if (!n)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (n->order) {
        s_put_hex(o, "id", n->order->id);
        s_put_str(o, "case_no", n->order->case_no);
    }
    json_object_set_new(o, "state", json_string(ob_state_name(n->state)));
    json_object_set_new(o, "open", json_boolean(ob_state_is_open(n->state)));
    s_put_int(o, "attempt", n->attempt);
    s_put_time(o, "received_at", n->received_at_ms);
    s_put_time(o, "dispatched_at", n->dispatched_at_ms);
    s_put_time(o, "sign_deadline", n->sign_deadline_ms);
    s_put_time(o, "reply_deadline", n->reply_deadline_ms);
    s_put_time(o, "signed_at", n->signed_at_ms);
    s_put_time(o, "replied_at", n->replied_at_ms);
    if (n->reply_result)
        json_object_set_new(o, "reply_result", json_string(ob_result_name(n->reply_result)));
    s_put_str(o, "last_note", n->last_note);
    s_put_int(o, "rework_count", n->rework_count);
    /* the node holds only what the centre sent: contact is there when a rule required it */
    if (n->order)
        json_object_set_new(o, "order", ob_json_from_workorder(n->order, true));
    return o;
}

json_t *ob_json_from_status(const Orderbus__V1__BrokerStatus *s)
{
    if (!s)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    s_put_str(o, "software", s->software);
    s_put_time(o, "started_at", s->started_at_ms);
    s_put_time(o, "now", s->now_ms);
    if (s->started_at_ms && s->now_ms >= s->started_at_ms)
        s_put_int(o, "uptime_ms", s->now_ms - s->started_at_ms);
    s_put_u64(o, "orders", s->orders);
    s_put_u64(o, "journal_seq", s->journal_seq);
    s_put_str(o, "rules_version", s->rules_version);
    s_put_u64(o, "store_bytes", s->store_bytes);
    s_put_u64(o, "map_bytes", s->map_bytes);
    json_t *states = json_object();
    for (size_t i = 0; i < s->n_states; i++)
        if (s->states[i])
            s_put_u64(states, ob_state_name(s->states[i]->state), s->states[i]->count);
    json_object_set_new(o, "states", states);
    json_t *nodes = json_array();
    for (size_t i = 0; i < s->n_nodes; i++) {
        const Orderbus__V1__NodeStatus *n = s->nodes[i];
        if (!n)
            continue;
        json_t *nj = json_object();
        json_object_set_new(nj, "dept", s_jstr(n->dept));
        s_put_str(nj, "name", n->name);
        json_object_set_new(nj, "up", json_boolean(n->up));
        s_put_time(nj, "last_seen", n->last_seen_ms);
        s_put_u64(nj, "outbox_depth", n->outbox_depth);
        s_put_u64(nj, "inflight", n->inflight);
        s_put_u64(nj, "open_orders", n->open_orders);
        s_put_str(nj, "diverged", n->diverged);
        json_array_append_new(nodes, nj);
    }
    json_object_set_new(o, "nodes", nodes);
    return o;
}

/* ratio num/den rounded to 4 places, or nothing when den is 0 */
static void s_put_rate(json_t *o, const char *key, uint64_t num, uint64_t den)
{
    if (den)
        json_object_set_new(o, key, json_real(round((double) num / (double) den * 1e4) / 1e4));
}

json_t *ob_json_from_stats(const Orderbus__V1__DeptStats *s)
{
    if (!s)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "dept", s_jstr(s->dept));
    s_put_str(o, "name", s->name);
    s_put_u64(o, "dispatched", s->dispatched);
    s_put_u64(o, "signed_for", s->signed_for);
    s_put_u64(o, "replied", s->replied);
    s_put_u64(o, "closed", s->closed);
    s_put_u64(o, "returned", s->returned);
    s_put_u64(o, "reworked", s->reworked);
    s_put_u64(o, "reopened", s->reopened);
    s_put_u64(o, "satisfied", s->satisfied);
    s_put_u64(o, "unsatisfied", s->unsatisfied);
    s_put_int(o, "median_sign_ms", s->median_sign_ms);
    s_put_int(o, "median_reply_ms", s->median_reply_ms);
    /* rates for readers; the counts above are the truth */
    s_put_rate(o, "sign_rate", s->signed_for, s->dispatched);
    s_put_rate(o, "reply_rate", s->replied, s->dispatched);
    s_put_rate(o, "close_rate", s->closed, s->dispatched);
    s_put_rate(o, "return_rate", s->returned, s->dispatched);
    s_put_rate(o, "rework_rate", s->reworked, s->replied);
    s_put_rate(o, "satisfaction_rate", s->satisfied, s->satisfied + s->unsatisfied);
    return o;
}

json_t *ob_json_from_local_status(const Orderbus__V1__LocalStatus *s)
{
    if (!s)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "dept", s_jstr(s->dept));
    json_object_set_new(o, "broker_up", json_boolean(s->broker_up));
    s_put_time(o, "last_broker", s->last_broker_ms);
    s_put_u64(o, "outbox_depth", s->outbox_depth);
    s_put_u64(o, "inbox_orders", s->inbox_orders);
    s_put_u64(o, "last_applied_seq", s->last_applied_seq);
    return o;
}

/* --- self-test ---------------------------------------------------------------- */

/* Expects `text` to be refused with `field` named in the message and
   `secret` (a value from the input) nowhere in it. */
static void s_expect_refused(const char *text, const char *field, const char *secret,
                             bool verbose)
{
    char err[256] = "";
    ob_workorder_t *wo = ob_json_parse_workorder(text, strlen(text), err, sizeof err);
    if (wo || !strstr(err, field) || (secret && strstr(err, secret))) {
        fprintf(stderr, "json test: input %s\n  wanted '%s' refused, got '%s'\n", text, field,
                wo ? "(accepted)" : err);
        assert(0);
    }
    if (verbose)
        printf("\n    %s", err);
}

static char *s_dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert(s);
    return s;
}

void ob_json_test(bool verbose)
{
    char err[256];

    /* time parsing: every accepted form, checked against known instants */
    int64_t ms = 0;
    int rc = s_parse_time("2020/1/6 12:09:38", &ms);
    assert(rc == 0 && ms == 1578283778000LL);
    rc = s_parse_time("2020-01-06T12:09:38+08:00", &ms);
    assert(rc == 0 && ms == 1578283778000LL);
    rc = s_parse_time("2020-01-06T04:09:38Z", &ms);
    assert(rc == 0 && ms == 1578283778000LL);
    rc = s_parse_time("2020-01-06T04:09:38.250Z", &ms);
    assert(rc == 0 && ms == 1578283778250LL);
    rc = s_parse_time("2020-01-05T23:09:38-0500", &ms);
    assert(rc == 0 && ms == 1578283778000LL);
    rc = s_parse_time("2020-01-06 12:09", &ms);
    assert(rc == 0 && ms == 1578283740000LL);
    rc = s_parse_time("2020-01-06", &ms);
    assert(rc == 0 && ms == 1578240000000LL);
    rc = s_parse_time("2020-02-30 12:00:00", &ms);
    assert(rc == -1);
    rc = s_parse_time("2020-01-06T25:00:00", &ms);
    assert(rc == -1);
    rc = s_parse_time("2020/1/6 12:09:38 extra", &ms);
    assert(rc == -1);
    rc = s_parse_time("yesterday", &ms);
    assert(rc == -1);
    rc = s_parse_time("", &ms);
    assert(rc == -1);
    char iso[48];
    assert(strcmp(s_iso(iso, sizeof iso, 1578283778000LL), "2020-01-06T12:09:38+08:00") == 0);
    assert(strcmp(s_iso(iso, sizeof iso, 1578283778250LL), "2020-01-06T12:09:38.250+08:00")
           == 0);

    /* round trip: canonical JSON -> work order -> the same JSON, Chinese intact */
    const char *canonical =
        "{\"id\": \"00112233445566778899aabbccddeeff\", \"case_no\": \"20200106-000001\","
        " \"channel\": \"WEB\", \"appeal_type\": \"COMPLAINT\","
        " \"category\": [\"城乡建设\", \"物业管理\", \"电梯\"],"
        " \"title\": \"A市西湖建筑集团占道施工有安全隐患\","
        " \"content\": \"A3区大道西行便道，未管所路口至加油站路段 \\\"引号\\\" 😀\","
        " \"location\": {\"district_code\": \"A3\", \"street_code\": \"A3-07\","
        "   \"street\": \"书院路\", \"address\": \"在水一方大厦\", \"lat\": 28.125, \"lon\": 112.5},"
        " \"target_org\": \"西湖建筑集团\", \"urgency\": \"VERY_URGENT\","
        " \"anonymous\": false, \"confidential\": true,"
        " \"contact\": {\"name\": \"张三\", \"phone\": \"13800138000\", \"email\": \"z@example.cn\","
        "   \"address\": \"书院路1号\", \"id_number\": \"110101199001011234\"},"
        " \"attachments\": [{\"name\": \"现场.jpg\", \"mime_type\": \"image/jpeg\", \"size\": 123456,"
        "   \"sha256\": \"" "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" "\","
        "   \"uri\": \"s3://orders/1.jpg\"}],"
        " \"received_at_ms\": 1578283778000, \"received_at\": \"2020-01-06T12:09:38+08:00\","
        " \"external_ref\": \"tipdm-24\"}";
    ob_workorder_t *wo = ob_json_parse_workorder(canonical, strlen(canonical), err, sizeof err);
    if (!wo)
        fprintf(stderr, "json test: %s\n", err);
    assert(wo);
    assert(wo->channel == ORDERBUS__V1__CHANNEL__CHANNEL_WEB);
    assert(wo->appeal_type == ORDERBUS__V1__APPEAL_TYPE__APPEAL_COMPLAINT);
    assert(wo->urgency == ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT);
    assert(wo->n_category == 3 && strcmp(wo->category[1], "物业管理") == 0);
    assert(wo->location && wo->location->has_point && wo->location->lat == 28.125);
    assert(wo->contact && strcmp(wo->contact->name, "张三") == 0);
    assert(wo->n_attachments == 1 && wo->attachments[0]->sha256.len == 32);
    assert(wo->id.len == OB_ID_BYTES && wo->id.data[15] == 0xff);
    assert(wo->received_at_ms == 1578283778000LL);
    assert(wo->confidential && !wo->anonymous);

    json_t *back = ob_json_from_workorder(wo, true);
    json_error_t jerr;
    json_t *want = json_loads(canonical, 0, &jerr);
    assert(want);
    char *a = s_dump(back), *b = s_dump(want);
    if (strcmp(a, b) != 0)
        fprintf(stderr, "json test: round trip\n  got  %s\n  want %s\n", a, b);
    assert(strcmp(a, b) == 0);
    assert(strstr(a, "A市西湖建筑集团占道施工有安全隐患"));
    free(a);
    free(b);
    json_decref(want);

    /* ... and through protobuf: the reparsed order packs to the same bytes */
    ob_workorder_t *wo2 = ob_json_to_workorder(back, err, sizeof err);
    assert(wo2);
    size_t n1 = orderbus__v1__work_order__get_packed_size(wo);
    size_t n2 = orderbus__v1__work_order__get_packed_size(wo2);
    assert(n1 == n2);
    uint8_t *p1 = (uint8_t *) malloc(n1), *p2 = (uint8_t *) malloc(n2);
    assert(p1 && p2);
    orderbus__v1__work_order__pack(wo, p1);
    orderbus__v1__work_order__pack(wo2, p2);
    assert(memcmp(p1, p2, n1) == 0);
    free(p1);
    free(p2);
    orderbus__v1__work_order__free_unpacked(wo2, NULL);
    json_decref(back);

    /* without contact: no contact at all, no trace of it */
    back = ob_json_from_workorder(wo, false);
    assert(json_object_get(back, "contact") == NULL);
    a = s_dump(back);
    assert(!strstr(a, "13800138000") && !strstr(a, "张三") && !strstr(a, "110101199001011234"));
    free(a);
    json_decref(back);

    /* a record: names, hex ids, ISO times, contact left out on request */
    Orderbus__V1__OrderRecord rec = ORDERBUS__V1__ORDER_RECORD__INIT;
    rec.order = wo;
    rec.state = ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED;
    rec.dept = (char *) "zjj";
    rec.attempt = 2;
    rec.created_at_ms = 1578283778000LL;
    rec.sign_deadline_ms = 1578283778000LL + 3600000;
    rec.transport = ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_SENT;
    char *tried[] = {(char *) "cgj"};
    rec.n_tried_depts = 1;
    rec.tried_depts = tried;
    json_t *rj = ob_json_from_record(&rec, false);
    assert(strcmp(json_string_value(json_object_get(rj, "state")), "DISPATCHED") == 0);
    assert(strcmp(json_string_value(json_object_get(rj, "id")),
                  "00112233445566778899aabbccddeeff") == 0);
    assert(strcmp(json_string_value(json_object_get(rj, "created_at")),
                  "2020-01-06T12:09:38+08:00") == 0);
    assert(strcmp(json_string_value(json_object_get(rj, "sign_deadline")),
                  "2020-01-06T13:09:38+08:00") == 0);
    assert(json_integer_value(json_object_get(rj, "signed_at_ms")) == 0);
    assert(json_object_get(rj, "signed_at") == NULL);
    assert(strcmp(json_string_value(json_object_get(rj, "transport")), "SENT") == 0);
    assert(json_is_true(json_object_get(rj, "open")));
    assert(json_object_get(json_object_get(rj, "order"), "contact") == NULL);
    assert(json_array_size(json_object_get(rj, "tried_depts")) == 1);
    a = s_dump(rj);
    assert(!strstr(a, "13800138000"));
    free(a);
    json_decref(rj);
    rj = ob_json_from_record(&rec, true);
    assert(json_object_get(json_object_get(rj, "order"), "contact"));
    json_decref(rj);

    /* a node's order */
    Orderbus__V1__NodeOrder no = ORDERBUS__V1__NODE_ORDER__INIT;
    no.order = wo;
    no.state = ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS;
    no.attempt = 2;
    no.reply_deadline_ms = 1578283778000LL;
    json_t *nj = ob_json_from_nodeorder(&no);
    assert(strcmp(json_string_value(json_object_get(nj, "state")), "IN_PROGRESS") == 0);
    assert(strcmp(json_string_value(json_object_get(nj, "reply_deadline")),
                  "2020-01-06T12:09:38+08:00") == 0);
    assert(strcmp(json_string_value(json_object_get(nj, "case_no")), "20200106-000001") == 0);
    json_decref(nj);

    /* a journal entry */
    uint8_t key[32] = {0};
    Orderbus__V1__Actor actor = ORDERBUS__V1__ACTOR__INIT;
    actor.role = ORDERBUS__V1__ROLE__ROLE_DEPARTMENT;
    actor.id = (char *) "zjj";
    actor.key.data = key;
    actor.key.len = sizeof key;
    Orderbus__V1__JournalEntry je = ORDERBUS__V1__JOURNAL_ENTRY__INIT;
    je.seq = 42;
    je.order_id = wo->id;
    je.at_ms = 1578283778000LL;
    je.event = ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN;
    je.from_state = ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED;
    je.to_state = ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS;
    je.actor = &actor;
    je.result = ORDERBUS__V1__REPLY_RESULT__RESULT_RESOLVED;
    json_t *jj = ob_json_from_journal(&je);
    assert(strcmp(json_string_value(json_object_get(jj, "event")), "SIGN") == 0);
    assert(strcmp(json_string_value(json_object_get(jj, "to_state")), "IN_PROGRESS") == 0);
    assert(strcmp(json_string_value(json_object_get(jj, "result")), "RESOLVED") == 0);
    assert(json_integer_value(json_object_get(jj, "seq")) == 42);
    json_t *aj = json_object_get(jj, "actor");
    assert(strcmp(json_string_value(json_object_get(aj, "role")), "DEPARTMENT") == 0);
    assert(strlen(json_string_value(json_object_get(aj, "key"))) == 40);
    json_decref(jj);

    /* broker status, stats, node status */
    Orderbus__V1__NodeStatus ns = ORDERBUS__V1__NODE_STATUS__INIT;
    ns.dept = (char *) "zjj";
    ns.name = (char *) "市住房和城乡建设局";
    ns.up = true;
    ns.outbox_depth = 3;
    Orderbus__V1__NodeStatus *nsp[] = {&ns};
    Orderbus__V1__StateCount sc = ORDERBUS__V1__STATE_COUNT__INIT;
    sc.state = ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED;
    sc.count = 7;
    Orderbus__V1__StateCount *scp[] = {&sc};
    Orderbus__V1__BrokerStatus bs = ORDERBUS__V1__BROKER_STATUS__INIT;
    bs.software = (char *) "orderbus-broker 0.1.0";
    bs.started_at_ms = 1578283778000LL;
    bs.now_ms = 1578283778000LL + 5000;
    bs.orders = 7;
    bs.n_nodes = 1;
    bs.nodes = nsp;
    bs.n_states = 1;
    bs.states = scp;
    json_t *sj = ob_json_from_status(&bs);
    assert(json_integer_value(json_object_get(json_object_get(sj, "states"), "DISPATCHED")) == 7);
    assert(json_integer_value(json_object_get(sj, "uptime_ms")) == 5000);
    json_t *n0 = json_array_get(json_object_get(sj, "nodes"), 0);
    assert(json_is_true(json_object_get(n0, "up")));
    assert(strcmp(json_string_value(json_object_get(n0, "name")), "市住房和城乡建设局") == 0);
    assert(json_integer_value(json_object_get(n0, "outbox_depth")) == 3);
    json_decref(sj);

    Orderbus__V1__DeptStats ds = ORDERBUS__V1__DEPT_STATS__INIT;
    ds.dept = (char *) "zjj";
    ds.dispatched = 4;
    ds.signed_for = 3;
    ds.satisfied = 1;
    ds.unsatisfied = 1;
    json_t *dj = ob_json_from_stats(&ds);
    assert(json_integer_value(json_object_get(dj, "signed_for")) == 3);
    assert(json_real_value(json_object_get(dj, "sign_rate")) == 0.75);
    assert(json_real_value(json_object_get(dj, "satisfaction_rate")) == 0.5);
    assert(json_object_get(dj, "rework_rate") == NULL);   /* nothing replied yet */
    json_decref(dj);

    Orderbus__V1__LocalStatus ls = ORDERBUS__V1__LOCAL_STATUS__INIT;
    ls.dept = (char *) "zjj";
    ls.broker_up = true;
    ls.inbox_orders = 2;
    json_t *lj = ob_json_from_local_status(&ls);
    assert(json_is_true(json_object_get(lj, "broker_up")));
    assert(json_integer_value(json_object_get(lj, "inbox_orders")) == 2);
    json_decref(lj);
    assert(ob_json_from_record(NULL, true) == NULL);
    orderbus__v1__work_order__free_unpacked(wo, NULL);

    /* lenient forms: lower-case enums, "a/b" categories, the CSV time form, nulls */
    const char *lenient = "{\"title\": \"噪音扰民\", \"channel\": \"phone\", \"urgency\": \"very-urgent\","
                          " \"category\": \"环境保护/噪音\", \"received_at\": \"2020/1/6 12:09:38\","
                          " \"contact\": null, \"location\": {\"district_code\": \"A3\"}}";
    wo = ob_json_parse_workorder(lenient, strlen(lenient), err, sizeof err);
    assert(wo);
    assert(wo->channel == ORDERBUS__V1__CHANNEL__CHANNEL_PHONE);
    assert(wo->urgency == ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT);
    assert(wo->n_category == 2 && strcmp(wo->category[0], "环境保护") == 0);
    assert(wo->received_at_ms == 1578283778000LL);
    assert(wo->contact == NULL && wo->location && !wo->location->has_point);
    orderbus__v1__work_order__free_unpacked(wo, NULL);

    /* empty sub-objects mean absent, as they are printed */
    const char *empties = "{\"title\": \"t\", \"location\": {\"street\": \"\"}, \"contact\": {}}";
    wo = ob_json_parse_workorder(empties, strlen(empties), err, sizeof err);
    assert(wo && wo->location == NULL && wo->contact == NULL);
    orderbus__v1__work_order__free_unpacked(wo, NULL);

    /* refusals: the field is named, the value never quoted */
    s_expect_refused("{\"title\": \"t\", \"channel\": \"PIGEON\"}", "'channel'", "PIGEON", verbose);
    s_expect_refused("{\"title\": \"t\", \"titel\": \"张三13800138000\"}", "unknown field 'titel'",
                     "13800138000", verbose);
    s_expect_refused("{\"title\": \"t\", \"contact\": {\"mobile\": \"13800138000\"}}",
                     "'contact.mobile'", "13800138000", verbose);
    s_expect_refused("{\"title\": \"t\", \"contact\": {\"phone\": 13800138000}}",
                     "'contact.phone' must be a string", "13800138000", verbose);
    s_expect_refused("{\"title\": \"t\", \"location\": {\"lat\": 91.5, \"lon\": 1}}",
                     "'location.lat'", "91.5", verbose);
    s_expect_refused("{\"title\": \"t\", \"location\": {\"lat\": 1}}", "'location.lon'", NULL,
                     verbose);
    s_expect_refused("{\"title\": \"t\", \"location\": {\"lon\": \"east\", \"lat\": 1}}",
                     "'location.lon'", "east", verbose);
    s_expect_refused("{\"title\": \"t\", \"category\": [\"a\", \"b\", \"c\", \"d\"]}",
                     "'category' has more than 3 levels", NULL, verbose);
    s_expect_refused("{\"title\": \"t\", \"category\": \"a//c\"}", "'category'", NULL, verbose);
    s_expect_refused("{\"title\": \"t\", \"category\": [\"a\", 7]}", "'category'", NULL, verbose);
    s_expect_refused("{\"title\": \"t\", \"urgency\": \"asap\"}", "'urgency'", "asap", verbose);
    s_expect_refused("{\"title\": \"t\", \"anonymous\": \"yes\"}", "'anonymous'", NULL, verbose);
    s_expect_refused("{\"title\": \"t\", \"received_at\": \"王五 yesterday\"}", "'received_at'",
                     "王五", verbose);
    s_expect_refused("{\"title\": \"t\", \"received_at_ms\": -5}", "'received_at_ms'", NULL,
                     verbose);
    s_expect_refused("{\"title\": \"t\", \"received_at_ms\": 1578283778001,"
                     " \"received_at\": \"2020/1/6 12:09:38\"}",
                     "disagree", NULL, verbose);
    s_expect_refused("{\"title\": \"t\", \"id\": \"xyz-secret\"}", "'id'", "xyz-secret", verbose);
    s_expect_refused("{\"title\": \"t\", \"case_no\": \"李四\"}", "'case_no'", "李四", verbose);
    s_expect_refused("{\"title\": \"t\", \"attachments\": [{\"sha256\": \"abc\"}]}",
                     "'attachments[0].sha256'", "abc", verbose);
    s_expect_refused("{\"title\": \"t\", \"attachments\": [{\"size\": -1}]}",
                     "'attachments[0].size'", NULL, verbose);
    s_expect_refused("{\"title\": \"t\", \"attachments\": [{\"path\": \"/home/张三\"}]}",
                     "'attachments[0].path'", "张三", verbose);
    s_expect_refused("{\"title\": \"t\", \"attachments\": {}}", "'attachments'", NULL, verbose);
    s_expect_refused("{\"content\": \"\", \"anonymous\": true}", "'title' or a 'content'", NULL,
                     verbose);
    s_expect_refused("[\"张三\"]", "JSON object", "张三", verbose);
    s_expect_refused("{\"title\": \"张三 13800138000", "invalid JSON", "13800138000", verbose);
    s_expect_refused("{\"title\": \"a\", \"title\": \"b\"}", "duplicate key", NULL, verbose);
    s_expect_refused("{\"title\": \"t\\u0000 13800138000\"}", "invalid JSON", "13800138000",
                     verbose);
    s_expect_refused("{\"title\": \"\xff\xfe 13800138000\"}", "invalid JSON", "13800138000",
                     verbose);
    s_expect_refused("{\"title\": \"t\", \"target_org\": 5}", "'target_org'", NULL, verbose);
    s_expect_refused("{\"title\": \"t\", \"\\u0001bad\": 1}", "unknown field", NULL, verbose);

    /* lengths: title 512 bytes, content 64 KiB, other strings 1 KiB */
    size_t big_len = OB_JSON_CONTENT_MAX + 100;
    char *big = (char *) malloc(big_len + 64);
    assert(big);
    json_t *o = json_object();
    memset(big, 'x', OB_JSON_TITLE_MAX + 1);
    big[OB_JSON_TITLE_MAX + 1] = '\0';
    json_object_set_new(o, "title", json_string(big));
    ob_workorder_t *parsed = ob_json_to_workorder(o, err, sizeof err);
    assert(parsed == NULL);
    assert(strstr(err, "'title' is longer than 512 bytes"));
    big[OB_JSON_TITLE_MAX] = '\0';
    json_object_set_new(o, "title", json_string(big));
    wo = ob_json_to_workorder(o, err, sizeof err);
    assert(wo);
    orderbus__v1__work_order__free_unpacked(wo, NULL);
    memset(big, 'y', big_len);
    big[OB_JSON_CONTENT_MAX + 1] = '\0';
    json_object_set_new(o, "content", json_string(big));
    parsed = ob_json_to_workorder(o, err, sizeof err);
    assert(parsed == NULL);
    assert(strstr(err, "'content'"));
    json_object_del(o, "content");
    big[OB_JSON_STRING_MAX + 1] = '\0';
    json_object_set_new(o, "external_ref", json_string(big));
    parsed = ob_json_to_workorder(o, err, sizeof err);
    assert(parsed == NULL);
    assert(strstr(err, "'external_ref'"));
    json_object_del(o, "external_ref");
    /* invalid UTF-8 can only arrive in a json_t built by hand */
    json_object_set_new(o, "title", json_stringn_nocheck("\xff\xfe", 2));
    parsed = ob_json_to_workorder(o, err, sizeof err);
    assert(parsed == NULL);
    assert(strstr(err, "'title' is not valid UTF-8"));
    json_decref(o);
    free(big);
    parsed = ob_json_to_workorder(NULL, err, sizeof err);
    assert(parsed == NULL);

    /* output never breaks on bad bytes from a peer */
    Orderbus__V1__WorkOrder bad = ORDERBUS__V1__WORK_ORDER__INIT;
    bad.title = (char *) "ok \xff\xc0 end";
    json_t *bj = ob_json_from_workorder(&bad, true);
    assert(bj && strcmp(json_string_value(json_object_get(bj, "title")),
                        "ok \xef\xbf\xbd\xef\xbf\xbd end") == 0);
    json_decref(bj);
    if (verbose)
        printf("\n");
}
