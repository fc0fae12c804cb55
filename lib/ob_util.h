/*  ob_util.h — time, ids, hex, case numbers, big-endian keys.               */
#ifndef OB_UTIL_H
#define OB_UTIL_H

#include "ob_common.h"

/* Wall clock in unix milliseconds (and microseconds), and a monotonic
   clock in microseconds. */
int64_t  ob_now_ms(void);
int64_t  ob_now_us(void);
uint64_t ob_mono_us(void);

/* Fills `id` with a new time-ordered id: 6 bytes of big-endian unix ms,
   then 10 random bytes (libsodium; sodium_init first). Ids made by one
   thread are strictly increasing (within a millisecond the next is the
   last plus one). */
void ob_id_new(uint8_t id[OB_ID_BYTES]);

/* Fills out with len random bytes (libsodium, pooled per thread). */
void ob_random_bytes(uint8_t *out, size_t len);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). Returns out. */
char *ob_hex(char *out, const uint8_t *data, size_t len);

/* Parses exactly 2*OB_ID_BYTES hex digits. Returns 0, or -1 if malformed. */
int ob_id_parse(uint8_t id[OB_ID_BYTES], const char *hex);

/* Formats a case number "YYYYMMDD-NNNNNN" for `day` (YYYYMMDD) and `serial`
   into out (OB_CASE_NO_MAX bytes). Returns out. */
char *ob_case_no_format(char *out, uint32_t day, uint32_t serial);

/* True if `s` looks like a case number (8 digits, '-', 6 or more digits). */
bool ob_case_no_valid(const char *s);

/* Day number YYYYMMDD of unix ms `ms` in the site's zone (UTC offset in
   minutes; China is +480). */
uint32_t ob_day_of(int64_t ms, int utc_offset_min);

/* Big-endian u64 for LMDB keys that sort numerically. */
void     ob_be64_put(uint8_t out[8], uint64_t v);
uint64_t ob_be64_get(const uint8_t in[8]);

/* ob_text_utf8_valid() under its old name, for the callers outside lib/
   (broker, nodes, cli); lib/ calls ob_text_utf8_valid. */
bool ob_utf8_valid(const char *s, size_t len);

/* Formats ms as "2026-11-24 12:34:56" in the site's zone into out (32 bytes). */
char *ob_time_format(char *out, size_t outlen, int64_t ms, int utc_offset_min);

/* Duration as "1.23 s", "4 m 05 s", "2 h 03 m", "3 d 04 h" into out. */
char *ob_duration_format(char *out, size_t outlen, int64_t ms);

/* snprintf that never overflows and always terminates; returns out. */
char *ob_fmt(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void ob_util_test(bool verbose);

#endif
