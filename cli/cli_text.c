/*  cli_text.c — text for people: THE sanitiser every human-readable output
    goes through (a citizen's title may hold ESC or BEL; nothing from an
    order reaches the terminal raw), "label  value" record lines, display
    width (Chinese text counts two columns per character), tables, and
    times in the site's zone. JSON output does not come here: jansson
    escapes what it prints.                                               */
#include "cli.h"
#include "ob_util.h"
#include <wchar.h>

/* ---- the sanitiser ------------------------------------------------------ */

#define S_REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD, one column */

/* The valid UTF-8 sequence at s (n bytes left): its length, 0 when the
   byte at s does not start one (stray continuation, overlong form,
   surrogate, beyond U+10FFFF, cut short). */
static size_t s_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, min = 0x80, *cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, min = 0x800, *cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, min = 0x10000, *cp = s[0] & 0x07u;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3fu);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

void cli_put_text(FILE *out, const char *s, size_t len, bool multiline, const char *indent)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t n = s_utf8(p + i, len - i, &cp);
        if (n == 0) {
            fputs(S_REPLACEMENT, out);   /* a byte that is no character (0x9b: CSI) */
            i++;
            continue;
        }
        if (cp == '\n' && multiline) {
            fputc('\n', out);
            if (indent)
                fputs(indent, out);
        }
        else if (cp == '\r' && multiline)
            ;   /* CRLF line ends */
        else if (cp == '\t' && multiline)
            fputc('\t', out);
        else if (cp == '\n' || cp == '\r' || cp == '\t')
            fputc(' ', out);
        else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            fputs(S_REPLACEMENT, out);   /* ESC, BEL, DEL, C1 */
        else
            fwrite(p + i, 1, n, out);
        i += n;
    }
}

char *cli_text_clean(const char *s, bool multiline)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    if (s)
        cli_put_text(f, s, strlen(s), multiline, NULL);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- records: "label  value" lines --------------------------------------- */

#define S_LABEL_WIDTH 18

void cli_field(const char *label, const char *value)
{
    static const char indent[] = "                   ";   /* S_LABEL_WIDTH + 1 */
    if (!value || !*value)
        value = "-";
    printf("%-*s ", S_LABEL_WIDTH, label);
    cli_put_text(stdout, value, strlen(value), true, indent);
    putchar('\n');
}

void cli_field_time(const char *label, int64_t ms)
{
    char t[40];
    cli_field(label, cli_time(t, sizeof t, ms));
}

void cli_field_u(const char *label, uint64_t v)
{
    char t[32];
    snprintf(t, sizeof t, "%llu", (unsigned long long) v);
    cli_field(label, t);
}

const char *cli_hexid(char out[OB_ID_HEX], ProtobufCBinaryData id)
{
    if (id.len != OB_ID_BYTES || !id.data) {
        snprintf(out, OB_ID_HEX, "-");
        return out;
    }
    return ob_hex(out, id.data, id.len);
}

/* ---- display width -------------------------------------------------------- */

/* Decodes one character at s (n bytes left): its byte length and width.
   Invalid bytes count as one column each. */
static size_t s_char(const char *s, size_t n, int *width)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t len = mbrtowc(&wc, s, n, &st);
    if (len == (size_t) -1 || len == (size_t) -2 || len == 0) {
        *width = 1;
        return 1;
    }
    int w = wcwidth(wc);
    if (w < 0) {
        /* no UTF-8 locale, or a control character: CJK by range */
        w = (wc >= 0x1100 && (wc <= 0x115f || (wc >= 0x2e80 && wc <= 0xa4cf)
                              || (wc >= 0xac00 && wc <= 0xd7a3) || (wc >= 0xf900 && wc <= 0xfaff)
                              || (wc >= 0xfe30 && wc <= 0xfe4f) || (wc >= 0xff00 && wc <= 0xff60)
                              || (wc >= 0xffe0 && wc <= 0xffe6) || (wc >= 0x20000 && wc <= 0x3fffd)))
                ? 2 : (wc < 0x20 ? 0 : 1);
    }
    *width = w;
    return len;
}

size_t cli_width(const char *s)
{
    if (!s)
        return 1;
    size_t n = strlen(s), w = 0;
    while (n > 0) {
        int cw;
        size_t len = s_char(s, n, &cw);
        w += (size_t) cw;
        s += len;
        n -= len;
    }
    return w;
}


void cli_put_cell(FILE *out, const char *s, size_t width, bool right)
{
    if (!s || !*s)
        s = "-";
    size_t w = cli_width(s);
    if (w <= width) {
        if (right)
            fprintf(out, "%*s", (int) (width - w), "");
        cli_put_text(out, s, strlen(s), false, NULL);
        if (!right)
            fprintf(out, "%*s", (int) (width - w), "");
        return;
    }
    /* truncate: keep what fits in width - 1 columns, then an ellipsis */
    size_t n = strlen(s), used = 0, keep = 0;
    while (keep < n) {
        int cw;
        size_t len = s_char(s + keep, n - keep, &cw);
        if (used + (size_t) cw + 1 > width)
            break;
        used += (size_t) cw;
        keep += len;
    }
    if (width == 0)
        return;
    cli_put_text(out, s, keep, false, NULL);
    fputs("\xe2\x80\xa6", out);   /* U+2026, one column */
    used++;
    if (used < width)
        fprintf(out, "%*s", (int) (width - used), "");
}

char *cli_time(char *out, size_t outlen, int64_t ms)
{
    char buf[40];
    if (ms <= 0) {
        snprintf(out, outlen, "-");
        return out;
    }
    ob_time_format(buf, sizeof buf, ms, CLI_UTC_OFFSET_MIN);
    buf[16] = '\0';   /* "2026-11-24 12:34" */
    snprintf(out, outlen, "%s", buf);
    return out;
}

char *cli_age(char *out, size_t outlen, int64_t ms)
{
    if (ms < 0)
        snprintf(out, outlen, "-");
    else if (ms < 60000)
        snprintf(out, outlen, "%llds", (long long) (ms / 1000));
    else if (ms < 3600000)
        snprintf(out, outlen, "%lldm", (long long) (ms / 60000));
    else if (ms < 86400000)
        snprintf(out, outlen, "%lldh%02lldm", (long long) (ms / 3600000),
                 (long long) (ms / 60000 % 60));
    else
        snprintf(out, outlen, "%lldd%02lldh", (long long) (ms / 86400000),
                 (long long) (ms / 3600000 % 24));
    return out;
}

/* ---- tables ------------------------------------------------------------ */

struct cli_table {
    size_t ncols;
    char **headers;
    bool *right;          /* right-aligned columns */
    size_t *max;          /* width caps, 0: none */
    char **cells;         /* nrows * ncols */
    size_t nrows, cap;
};

cli_table_t *cli_table_new(size_t ncols, const char *const *headers)
{
    cli_table_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ncols = ncols;
    self->headers = calloc(ncols, sizeof *self->headers);
    self->right = calloc(ncols, sizeof *self->right);
    self->max = calloc(ncols, sizeof *self->max);
    if (!self->headers || !self->right || !self->max) {
        cli_table_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++) {
        self->headers[i] = cli_text_clean(headers[i], false);
        if (!self->headers[i]) {
            cli_table_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void cli_table_destroy(cli_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cli_table_t *self = *self_p;
    if (self->headers)
        for (size_t i = 0; i < self->ncols; i++)
            free(self->headers[i]);
    for (size_t i = 0; i < self->nrows * self->ncols; i++)
        free(self->cells[i]);
    free(self->cells);
    free(self->headers);
    free(self->right);
    free(self->max);
    free(self);
    *self_p = NULL;
}

void cli_table_align(cli_table_t *self, size_t col, bool right, size_t max)
{
    if (col >= self->ncols)
        return;
    self->right[col] = right;
    self->max[col] = max;
}

int cli_table_add(cli_table_t *self, const char *const *cells)
{
    if (self->nrows == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 32;
        char **p = realloc(self->cells, cap * self->ncols * sizeof *p);
        if (!p)
            return -1;
        self->cells = p;
        self->cap = cap;
    }
    char **row = self->cells + self->nrows * self->ncols;
    for (size_t i = 0; i < self->ncols; i++) {
        row[i] = cli_text_clean(cells[i] && *cells[i] ? cells[i] : "-", false);
        if (!row[i]) {
            for (size_t k = 0; k < i; k++)
                free(row[k]);
            return -1;
        }
    }
    self->nrows++;
    return 0;
}

void cli_table_print(cli_table_t *self, FILE *out)
{
    size_t *w = calloc(self->ncols, sizeof *w);
    if (!w)
        return;
    for (size_t c = 0; c < self->ncols; c++) {
        w[c] = cli_width(self->headers[c]);
        for (size_t r = 0; r < self->nrows; r++) {
            size_t cw = cli_width(self->cells[r * self->ncols + c]);
            if (cw > w[c])
                w[c] = cw;
        }
        if (self->max[c] && w[c] > self->max[c])
            w[c] = self->max[c];
    }
    for (size_t r = 0; r <= self->nrows; r++) {
        for (size_t c = 0; c < self->ncols; c++) {
            const char *s = r == 0 ? self->headers[c] : self->cells[(r - 1) * self->ncols + c];
            bool last = c + 1 == self->ncols;
            if (last && !self->right[c]) {
                /* no trailing padding on the last column */
                size_t sw = cli_width(s);
                cli_put_cell(out, s, sw < w[c] ? sw : w[c], false);
            }
            else
                cli_put_cell(out, s, w[c], self->right[c]);
            if (!last)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
    free(w);
}


int cli_print_listing(bool json, cli_table_t *table, json_t **arr_p)
{
    if (!json) {
        cli_table_print(table, stdout);
        return 0;
    }
    json_t *arr = *arr_p;
    *arr_p = NULL;
    return cli_print_json(arr, false);
}
