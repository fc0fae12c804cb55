/*  ob_util.c — time, ids, hex, case numbers, big-endian keys.             */
#include "ob_util.h"
#include "ob_text.h"
#include <stdarg.h>
#include <time.h>
#include <sodium.h>
#include "ob_selftest.h"

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

/* Kept for the callers outside lib/ (broker, nodes, cli): ob_text has
   the one implementation. */
bool ob_utf8_valid(const char *str, size_t len)
{
    return ob_text_utf8_valid(str, len);
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

void ob_util_test(bool verbose)
{
    uint8_t id[OB_ID_BYTES], back[OB_ID_BYTES];
    char hex[OB_ID_HEX];
    ob_id_new(id);
    ob_hex(hex, id, sizeof id);
    assert(strlen(hex) == 32);
    int rc = ob_id_parse(back, hex);
    assert(rc == 0);
    assert(memcmp(id, back, sizeof id) == 0);
    /* time-ordered: a later id sorts after an earlier one */
    uint8_t later[OB_ID_BYTES];
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    ob_id_new(later);
    assert(memcmp(id, later, 6) < 0);
    rc = ob_id_parse(back, "zz");
    assert(rc == -1);
    rc = ob_id_parse(back, "0123456789abcdef0123456789abcdeg");
    assert(rc == -1);

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

    /* UTF-8 is ob_text's (ob_text_test); the old name still answers */
    const char *zh = "市住房和城乡建设局";
    assert(ob_utf8_valid(zh, strlen(zh)));
    assert(!ob_utf8_valid("\xed\xa0\x80", 3));       /* surrogate */

    char buf[32];
    assert(strcmp(ob_duration_format(buf, sizeof buf, 1500), "1.50 s") == 0);
    assert(strcmp(ob_duration_format(buf, sizeof buf, 90061000), "1 d 01 h") == 0);
    assert(strcmp(ob_time_format(buf, sizeof buf, 1795464000000LL, 480), "2026-11-24 04:00:00")
           == 0);
    if (verbose)
        printf("util: %s %s ", hex, cn);
}
