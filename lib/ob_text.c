/*  ob_text.c — UTF-8 validation and white space folding, written once for
    the rules (recusal names, target_org), the matcher (patterns and
    scanned text) and every module that refuses invalid UTF-8.           */
#include "ob_text.h"
#include "ob_selftest.h"

bool ob_text_utf8_valid(const char *str, size_t len)
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

bool ob_text_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

size_t ob_text_fold(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char) in[i];
        bool ws = ob_text_is_space(c);
        if (!ws && c == 0xE3 && i + 2 < len && (unsigned char) in[i + 1] == 0x80
            && (unsigned char) in[i + 2] == 0x80) {
            ws = true;   /* U+3000 IDEOGRAPHIC SPACE */
            i += 3;
        }
        else
            i++;
        if (ws) {
            space = true;
            continue;
        }
        if (space && n > 0) {
            if (n == cap)
                return cap + 1;
            out[n++] = ' ';
        }
        space = false;
        if (n == cap)
            return cap + 1;
        out[n++] = (char) (c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return n;
}

char *ob_text_fold_dup(const char *text)
{
    size_t len = strlen(text);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = ob_text_fold(text, len, out, len);   /* never longer than the input */
    out[n] = '\0';
    return out;
}

/* --- self-test ------------------------------------------------------------ */

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

static void s_test_utf8(void)
{
    const char *zh = "市住房和城乡建设局";
    assert(ob_text_utf8_valid(zh, strlen(zh)));
    assert(ob_text_utf8_valid("plain", 5));
    assert(!ob_text_utf8_valid("\xc0\xaf", 2));           /* overlong */
    assert(!ob_text_utf8_valid("\xed\xa0\x80", 3));       /* surrogate */
    assert(!ob_text_utf8_valid("\xe5\xb8", 2));           /* truncated */
    assert(!ob_text_utf8_valid("\xff", 1));
    assert(ob_text_utf8_valid("\xf0\x9f\x98\x80", 4));    /* emoji */
    assert(!ob_text_utf8_valid("\xf4\x90\x80\x80", 4));   /* past U+10FFFF */
    assert(!ob_text_utf8_valid("abcdefgh\x80", 9));        /* after an 8-byte ASCII run */
    /* every sequence of one to three bytes, and a sample of four-byte ones,
       alone and behind eight ASCII bytes, against a decode-based reference */
    for (uint32_t v = 0; v < (1u << 24); v += (v < (1u << 16) ? 1 : 3)) {
        unsigned char b[12] = "ABCDEFGH";
        size_t n = v < 0x100 ? 1 : v < 0x10000 ? 2 : 3;
        for (size_t i = 0; i < n; i++)
            b[8 + i] = (unsigned char) (v >> (8 * (n - 1 - i)));
        bool want = s_utf8_reference(b + 8, n);
        assert(ob_text_utf8_valid((const char *) b + 8, n) == want);
        assert(ob_text_utf8_valid((const char *) b, 8 + n) == want);
    }
    for (uint32_t i = 0; i < 200000; i++) {
        unsigned char b[4];
        uint32_t r = i * 2654435761u;
        b[0] = (unsigned char) (0xf0 + (r & 7));
        b[1] = (unsigned char) (0x80 + ((r >> 3) & 0x3f) + ((r >> 9) & 1 ? 0 : 0x40));
        b[2] = (unsigned char) (0x80 + ((r >> 10) & 0x3f));
        b[3] = (unsigned char) (0x80 + ((r >> 16) & 0x7f));
        assert(ob_text_utf8_valid((const char *) b, 4) == s_utf8_reference(b, 4));
    }
}

static void s_test_fold(void)
{
    char out[64];
    const char *in = "  Hello\t\tWORLD \xe3\x80\x80市　住建局\n";
    size_t n = ob_text_fold(in, strlen(in), out, sizeof out);
    assert(n == strlen("hello world 市 住建局"));
    assert(memcmp(out, "hello world 市 住建局", n) == 0);
    assert(ob_text_fold(in, strlen(in), out, 5) == 6);       /* does not fit */
    assert(ob_text_fold(" \xe3\x80\x80 ", 5, out, sizeof out) == 0);
    /* a truncated U+3000 is copied as it is */
    n = ob_text_fold("a\xe3\x80", 3, out, sizeof out);
    assert(n == 3 && memcmp(out, "a\xe3\x80", 3) == 0);
    char *dup = ob_text_fold_dup("  Property　Office  ");
    assert(dup && strcmp(dup, "property office") == 0);
    free(dup);
    assert(ob_text_is_space('\v') && !ob_text_is_space('a'));
}

void ob_text_test(bool verbose)
{
    s_test_utf8();
    s_test_fold();
    if (verbose)
        printf("text: utf-8 and folding ");
}
