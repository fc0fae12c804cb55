/*  ob_util.c — time, ids, hex, case numbers, big-endian keys, UTF-8.       */
#include "ob_util.h"
#include <assert.h>
#include <stdarg.h>
#include <time.h>
#include <sodium.h>

int64_t ob_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ob_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t ob_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Ids are time-ordered (like UUIDv7): 48 bits of unix milliseconds, then 80
   random bits. Every database keyed by an id (orders, journal index, state
   index, seen request ids) then grows at its tail instead of dirtying a
   random page per insert, which is what bounds a durable commit's cost. The
   random part keeps ids unguessable and unique across processes. */
void ob_id_new(uint8_t id[OB_ID_BYTES])
{
    /* the last id of this thread: ids made here only grow, so that stores
       keyed by them append (full pages, no splits in the middle) */
    static _Thread_local uint8_t last[OB_ID_BYTES];
    uint64_t ms = (uint64_t) ob_now_ms();
    for (int i = 5; i >= 0; i--) {
        id[i] = (uint8_t) (ms & 0xff);
        ms >>= 8;
    }
    ob_random_bytes(id + 6, OB_ID_BYTES - 6);
    if (memcmp(id, last, OB_ID_BYTES) <= 0) {
        /* same millisecond (or the clock stepped back): one past the last */
        memcpy(id, last, OB_ID_BYTES);
        for (int i = OB_ID_BYTES - 1; i >= 0 && ++id[i] == 0; i--)
            ;
    }
    memcpy(last, id, OB_ID_BYTES);
}

/* Random bytes from a per-thread pool refilled 4 KiB at a time: one
   getrandom() per ~400 ids instead of one per id. */
void ob_random_bytes(uint8_t *out, size_t len)
{
    static _Thread_local uint8_t pool[4096];
    static _Thread_local size_t left = 0;
    while (len) {
        if (!left) {
            randombytes_buf(pool, sizeof pool);
            left = sizeof pool;
        }
        size_t n = len < left ? len : left;
        memcpy(out, pool + sizeof pool - left, n);
        sodium_memzero(pool + sizeof pool - left, n);
        left -= n;
        out += n;
        len -= n;
    }
}

char *ob_hex(char *out, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ob_id_parse(uint8_t id[OB_ID_BYTES], const char *hex)
{
    if (!hex || strlen(hex) != 2 * OB_ID_BYTES)
        return -1;
    for (size_t i = 0; i < OB_ID_BYTES; i++) {
        int hi = s_hexval(hex[2 * i]), lo = s_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        id[i] = (uint8_t) (hi << 4 | lo);
    }
    return 0;
}

char *ob_case_no_format(char *out, uint32_t day, uint32_t serial)
{
    snprintf(out, OB_CASE_NO_MAX, "%08u-%06u", day, serial);
    return out;
}

bool ob_case_no_valid(const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    if (len < 15 || len > 20 || s[8] != '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return false;
    return true;
}

uint32_t ob_day_of(int64_t ms, int utc_offset_min)
{
    time_t t = (time_t) (ms / 1000 + (int64_t) utc_offset_min * 60);
    struct tm tm;
    gmtime_r(&t, &tm);
    return (uint32_t) ((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

void ob_be64_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t) (v & 0xff);
        v >>= 8;
    }
}

uint64_t ob_be64_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

bool ob_utf8_valid(const char *str, size_t len)
{
    /* Runs of ASCII are skipped eight bytes at a time; each multi-byte
       sequence is checked by its lead byte's ranges (Unicode table 3-7):
       no overlongs, no surrogates, nothing past U+10FFFF. */
    const unsigned char *s = (const unsigned char *) str, *end = s + len;
    while (s < end) {
        if (end - s >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            if (!(w & 0x8080808080808080ull)) {
                s += 8;
                continue;
            }
        }
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c < 0xc2)
            return false;
        if (c < 0xe0) {
            if (end - s < 2 || (s[1] & 0xc0) != 0x80)
                return false;
            s += 2;
            continue;
        }
        if (c < 0xf0) {
            if (end - s < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
                return false;
            if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
                return false;   /* overlong, or a surrogate */
            s += 3;
            continue;
        }
        if (c > 0xf4 || end - s < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80
            || (s[3] & 0xc0) != 0x80)
            return false;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return false;   /* overlong, or past U+10FFFF */
        s += 4;
    }
    return true;
}

char *ob_time_format(char *out, size_t outlen, int64_t ms, int utc_offset_min)
{
    if (ms <= 0) {
        snprintf(out, outlen, "-");
        return out;
    }
    time_t t = (time_t) (ms / 1000 + (int64_t) utc_offset_min * 60);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
    return out;
}

char *ob_duration_format(char *out, size_t outlen, int64_t ms)
{
    if (ms < 0) {
        snprintf(out, outlen, "-");
        return out;
    }
    if (ms < 1000)
        snprintf(out, outlen, "%d ms", (int) ms);
    else if (ms < 60000)
        snprintf(out, outlen, "%.2f s", (double) ms / 1000.0);
    else if (ms < 3600000)
        snprintf(out, outlen, "%d m %02d s", (int) (ms / 60000), (int) (ms / 1000 % 60));
    else if (ms < 86400000)
        snprintf(out, outlen, "%d h %02d m", (int) (ms / 3600000), (int) (ms / 60000 % 60));
    else
        snprintf(out, outlen, "%d d %02d h", (int) (ms / 86400000), (int) (ms / 3600000 % 24));
    return out;
}

char *ob_fmt(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outlen, fmt, ap);
    va_end(ap);
    return out;
}

/* Reference for the self-test: decode each sequence, then judge the
   code point (the definition, not the fast path). */
static bool s_utf8_reference(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                 : (c & 0xf8) == 0xf0 ? 3 : 4;
        if (n == 4 || len - i < n + 1)
            return false;
        uint32_t cp = n == 0 ? c : c & (0x3f >> n);
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

void ob_util_test(bool verbose)
{
    uint8_t id[OB_ID_BYTES], back[OB_ID_BYTES];
    char hex[OB_ID_HEX];
    ob_id_new(id);
    ob_hex(hex, id, sizeof id);
    assert(strlen(hex) == 32);
    assert(ob_id_parse(back, hex) == 0);
    assert(memcmp(id, back, sizeof id) == 0);
    /* time-ordered: a later id sorts after an earlier one */
    uint8_t later[OB_ID_BYTES];
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    ob_id_new(later);
    assert(memcmp(id, later, 6) < 0);
    assert(ob_id_parse(back, "zz") == -1);
    assert(ob_id_parse(back, "0123456789abcdef0123456789abcdeg") == -1);

    char cn[OB_CASE_NO_MAX];
    assert(strcmp(ob_case_no_format(cn, 20261124, 123), "20261124-000123") == 0);
    assert(ob_case_no_valid(cn));
    assert(!ob_case_no_valid("2026112-000123"));
    assert(!ob_case_no_valid("20261124-00012a"));

    /* 2026-11-23 20:00 UTC is 2026-11-24 04:00 in China */
    assert(ob_day_of(1795464000000LL, 480) == 20261124);
    assert(ob_day_of(1795464000000LL, 0) == 20261123);

    uint8_t be[8];
    ob_be64_put(be, 0x0102030405060708ULL);
    assert(be[0] == 1 && be[7] == 8);
    assert(ob_be64_get(be) == 0x0102030405060708ULL);

    const char *zh = "市住房和城乡建设局";
    assert(ob_utf8_valid(zh, strlen(zh)));
    assert(ob_utf8_valid("plain", 5));
    assert(!ob_utf8_valid("\xc0\xaf", 2));           /* overlong */
    assert(!ob_utf8_valid("\xed\xa0\x80", 3));       /* surrogate */
    assert(!ob_utf8_valid("\xe5\xb8", 2));           /* truncated */
    assert(!ob_utf8_valid("\xff", 1));
    assert(ob_utf8_valid("\xf0\x9f\x98\x80", 4));    /* emoji */
    assert(!ob_utf8_valid("\xf4\x90\x80\x80", 4));   /* past U+10FFFF */
    assert(!ob_utf8_valid("abcdefgh\x80", 9));        /* after an 8-byte ASCII run */
    /* every sequence of one to three bytes, and a sample of four-byte ones,
       alone and behind eight ASCII bytes, against a decode-based reference */
    for (uint32_t v = 0; v < (1u << 24); v += (v < (1u << 16) ? 1 : 3)) {
        unsigned char b[12] = "ABCDEFGH";
        size_t n = v < 0x100 ? 1 : v < 0x10000 ? 2 : 3;
        for (size_t i = 0; i < n; i++)
            b[8 + i] = (unsigned char) (v >> (8 * (n - 1 - i)));
        bool want = s_utf8_reference(b + 8, n);
        assert(ob_utf8_valid((const char *) b + 8, n) == want);
        assert(ob_utf8_valid((const char *) b, 8 + n) == want);
    }
    for (uint32_t i = 0; i < 200000; i++) {
        unsigned char b[4];
        uint32_t r = i * 2654435761u;
        b[0] = (unsigned char) (0xf0 + (r & 7));
        b[1] = (unsigned char) (0x80 + ((r >> 3) & 0x3f) + ((r >> 9) & 1 ? 0 : 0x40));
        b[2] = (unsigned char) (0x80 + ((r >> 10) & 0x3f));
        b[3] = (unsigned char) (0x80 + ((r >> 16) & 0x7f));
        assert(ob_utf8_valid((const char *) b, 4) == s_utf8_reference(b, 4));
    }

    char buf[32];
    assert(strcmp(ob_duration_format(buf, sizeof buf, 1500), "1.50 s") == 0);
    assert(strcmp(ob_duration_format(buf, sizeof buf, 90061000), "1 d 01 h") == 0);
    assert(strcmp(ob_time_format(buf, sizeof buf, 1795464000000LL, 480), "2026-11-24 04:00:00")
           == 0);
    if (verbose)
        printf("util: %s %s ", hex, cn);
}
