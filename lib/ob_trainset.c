/*  ob_trainset.c — the training-file reader: CSV records by an explicit
    state machine (RFC 4180), JSON Lines with jansson, and the label checks
    (ob_trainset.h has the contract and the problems it reports).          */
#include "ob_trainset.h"
#include "ob_util.h"
#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <sys/stat.h>

typedef struct {
    char *title, *content, *label;
} s_text_t;

struct ob_trainset {
    ob_textclass_doc_t *docs;  /* count texts, pointing into texts[] */
    s_text_t *texts;           /* owned strings */
    size_t *lines;             /* line each text starts on */
    size_t count, cap;
};

/* Counts and reports problems: the first OB_TRAINSET_ERRORS_SHOWN one by
   one, then (s_report_end) how many more. */
typedef struct {
    ob_trainset_diag_fn *fn;
    void *arg;
    size_t count;
} s_report_t;

static void s_problem(s_report_t *r, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_problem(s_report_t *r, size_t line, const char *fmt, ...)
{
    r->count++;
    if (r->count > OB_TRAINSET_ERRORS_SHOWN || !r->fn)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->fn(r->arg, line, msg);
}

static void s_report_end(s_report_t *r)
{
    if (r->count > OB_TRAINSET_ERRORS_SHOWN && r->fn) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu more problems not shown (%zu in all)",
                 r->count - OB_TRAINSET_ERRORS_SHOWN, r->count);
        r->fn(r->arg, 0, msg);
    }
}

/* ---- the set --------------------------------------------------------------------- */

ob_trainset_t *ob_trainset_new(void)
{
    return calloc(1, sizeof(ob_trainset_t));
}

void ob_trainset_destroy(ob_trainset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_trainset_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->texts[i].title);
        free(self->texts[i].content);
        free(self->texts[i].label);
    }
    free(self->texts);
    free(self->docs);
    free(self->lines);
    free(self);
    *self_p = NULL;
}

int ob_trainset_add(ob_trainset_t *self, const char *title, const char *content,
                    const char *label, size_t line)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        s_text_t *texts = realloc(self->texts, cap * sizeof *texts);
        if (texts)
            self->texts = texts;
        size_t *lines = realloc(self->lines, cap * sizeof *lines);
        if (lines)
            self->lines = lines;
        ob_textclass_doc_t *docs = realloc(self->docs, cap * sizeof *docs);
        if (docs)
            self->docs = docs;
        if (!texts || !lines || !docs)
            return -1;
        self->cap = cap;
    }
    s_text_t t = {strdup(title ? title : ""), strdup(content ? content : ""),
                  strdup(label ? label : "")};
    if (!t.title || !t.content || !t.label) {
        free(t.title);
        free(t.content);
        free(t.label);
        return -1;
    }
    self->texts[self->count] = t;
    self->lines[self->count] = line;
    self->docs[self->count] = (ob_textclass_doc_t) {t.title, t.content, t.label};
    self->count++;
    return 0;
}

size_t ob_trainset_count(ob_trainset_t *self)
{
    return self->count;
}

const ob_textclass_doc_t *ob_trainset_docs(ob_trainset_t *self)
{
    return self->docs;
}

size_t ob_trainset_line(ob_trainset_t *self, size_t i)
{
    return i < self->count ? self->lines[i] : 0;
}

/* ---- label checks ---------------------------------------------------------------- */

static int s_by_label(const void *a, const void *b, void *arg)
{
    const ob_trainset_t *self = arg;
    size_t i = *(const size_t *) a, j = *(const size_t *) b;
    int c = strcmp(self->texts[i].label, self->texts[j].label);
    return c ? c : (i > j) - (i < j);
}

/* Reports the labels with fewer than `min` examples, naming their lines. */
static void s_check_counts(ob_trainset_t *self, size_t min, s_report_t *r)
{
    size_t *order = malloc((self->count ? self->count : 1) * sizeof *order);
    if (!order) {
        s_problem(r, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < self->count; i++)
        order[i] = i;
    qsort_r(order, self->count, sizeof *order, s_by_label, self);
    for (size_t i = 0; i < self->count;) {
        size_t j = i;
        while (j < self->count
               && strcmp(self->texts[order[j]].label, self->texts[order[i]].label) == 0)
            j++;
        if (j - i < min && self->texts[order[i]].label[0]) {
            char lines[96] = "";
            size_t o = 0;
            for (size_t k = i; k < j && k < i + 5 && o < sizeof lines; k++)
                o += (size_t) snprintf(lines + o, sizeof lines - o, "%s%zu", k > i ? ", " : "",
                                       self->lines[order[k]]);
            s_problem(r, self->lines[order[i]],
                      "label '%s' has %zu example%s (line%s %s%s), at least %zu are needed: "
                      "add examples, merge the label into another, or remove its rows",
                      self->texts[order[i]].label, j - i, j - i == 1 ? "" : "s",
                      j - i == 1 ? "" : "s", lines, j - i > 5 ? ", ..." : "", min);
        }
        i = j;
    }
    free(order);
}

/* Problems of each text's label; with `counts`, too few examples as well. */
static void s_check_labels(ob_trainset_t *self, const ob_trainset_opts_t *opts, bool counts,
                           s_report_t *r)
{
    for (size_t i = 0; i < self->count; i++) {
        const char *label = self->texts[i].label;
        if (!label[0]) {
            s_problem(r, self->lines[i], "empty label: label the row or remove it");
            continue;
        }
        if (strlen(label) > OB_TEXTCLASS_LABEL_MAX) {
            s_problem(r, self->lines[i], "label over %d bytes: shorten it",
                      OB_TEXTCLASS_LABEL_MAX);
            continue;
        }
        if (opts && opts->known) {
            bool known = false;
            for (size_t k = 0; k < opts->n_known && !known; k++)
                known = strcmp(opts->known[k], label) == 0;
            if (!known)
                s_problem(r, self->lines[i],
                          "unknown label '%s' (not one of the known labels): correct it, or "
                          "add it to the list if it is new",
                          label);
        }
    }
    if (counts && opts && opts->min_per_label > 1)
        s_check_counts(self, opts->min_per_label, r);
}

size_t ob_trainset_check(ob_trainset_t *self, const ob_trainset_opts_t *opts,
                         ob_trainset_diag_fn *diag, void *arg)
{
    s_report_t r = {diag, arg, 0};
    s_check_labels(self, opts, true, &r);
    if (self->count == 0)
        s_problem(&r, 0, "no labelled texts");
    s_report_end(&r);
    return r.count;
}

/* ---- columns --------------------------------------------------------------------- */

/* Default name k (0..2) of column `which` (0 title, 1 content, 2 label);
   NULL past the last. */
static const char *s_column_name(size_t which, size_t k)
{
    static const char *const defaults[3][3] = {
        {"subject", "title", "留言主题"},
        {"body", "content", "留言详情"},
        {"label", NULL, NULL},
    };
    return defaults[which][k];
}

/* Index of the header field naming column `which` (0 title, 1 content,
   2 label), or -1. */
static long s_find_column(char **header, size_t n, const char *given, size_t which)
{
    for (size_t k = 0; k < 3; k++) {
        const char *name = given ? (k == 0 ? given : NULL) : s_column_name(which, k);
        if (!name)
            continue;
        for (size_t i = 0; i < n; i++)
            if (strcmp(header[i], name) == 0)
                return (long) i;
    }
    return -1;
}

/* ---- CSV --------------------------------------------------------------------- */

/* One record's fields, NUL-terminated in buf at offsets off[]. */
typedef struct {
    char *buf;
    size_t len, cap;
    size_t off[OB_TRAINSET_FIELDS_MAX];
    size_t n;
} s_record_t;

typedef struct {
    const char *p;
    size_t len, at;
    size_t line;   /* line of p[at] */
} s_csv_t;

static int s_put_char(s_record_t *rec, char c)
{
    if (rec->len == rec->cap) {
        size_t cap = rec->cap ? rec->cap * 2 : 1024;
        char *grown = realloc(rec->buf, cap);
        if (!grown)
            return -1;
        rec->buf = grown;
        rec->cap = cap;
    }
    rec->buf[rec->len++] = c;
    return 0;
}

typedef enum { S_FIELD_START, S_UNQUOTED, S_QUOTED, S_QUOTE_IN_QUOTED } s_csv_state_t;

/* Skips the rest of the physical line after a problem. */
static void s_csv_skip_line(s_csv_t *c)
{
    while (c->at < c->len && c->p[c->at] != '\n')
        c->at++;
    if (c->at < c->len) {
        c->at++;
        c->line++;
    }
}

/* Ends the current field. Returns 0, or -1 with err (too many fields,
   out of memory). */
static int s_end_field(s_record_t *rec, size_t *field_start, char *err, size_t errlen)
{
    if (s_put_char(rec, '\0') != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (rec->n == OB_TRAINSET_FIELDS_MAX) {
        snprintf(err, errlen, "more than %d fields", OB_TRAINSET_FIELDS_MAX);
        return -1;
    }
    rec->off[rec->n++] = *field_start;
    *field_start = rec->len;
    return 0;
}

/* Reads one record. Returns 1 (a record, starting on *line), 0 (end of
   input), or -1 with err (the record's problem; the rest of its line is
   skipped). */
static int s_csv_record(s_csv_t *c, s_record_t *rec, size_t *line, char *err, size_t errlen)
{
    rec->len = rec->n = 0;
    *line = c->line;
    if (c->at >= c->len)
        return 0;
    s_csv_state_t state = S_FIELD_START;
    size_t field_start = 0, quote_line = 0;
    for (;;) {
        bool end = c->at >= c->len;
        char ch = end ? '\n' : c->p[c->at];
        bool crlf = !end && ch == '\r' && c->at + 1 < c->len && c->p[c->at + 1] == '\n';
        bool eol = end || ch == '\n' || crlf;
        if (!end && ch == '\0') {
            snprintf(err, errlen, "NUL byte in the file: it is not a text file");
            s_csv_skip_line(c);
            return -1;
        }
        if (rec->len - field_start > OB_TRAINSET_FIELD_MAX) {
            snprintf(err, errlen, "a field over %u bytes", OB_TRAINSET_FIELD_MAX);
            s_csv_skip_line(c);
            return -1;
        }
        switch (state) {
        case S_FIELD_START:
            if (!end && ch == '"') {
                state = S_QUOTED;
                quote_line = c->line;
                c->at++;
                continue;
            }
            state = S_UNQUOTED;
            continue;   /* look at ch again as unquoted */
        case S_UNQUOTED:
            if (eol || ch == ',') {
                if (s_end_field(rec, &field_start, err, errlen) != 0) {
                    s_csv_skip_line(c);
                    return -1;
                }
                if (eol) {
                    c->at += end ? 0 : crlf ? 2 : 1;
                    c->line += end ? 0 : 1;
                    return 1;
                }
                state = S_FIELD_START;
                c->at++;
                continue;
            }
            if (ch == '"') {
                snprintf(err, errlen,
                         "quote inside an unquoted field (field %zu): quote the whole field "
                         "and double the quotes in it",
                         rec->n + 1);
                s_csv_skip_line(c);
                return -1;
            }
            break;
        case S_QUOTED:
            if (end) {
                snprintf(err, errlen,
                         "quoted field opened on line %zu is never closed: add the closing "
                         "quote",
                         quote_line);
                return -1;
            }
            if (ch == '"') {
                state = S_QUOTE_IN_QUOTED;
                c->at++;
                continue;
            }
            if (ch == '\n')
                c->line++;
            break;
        case S_QUOTE_IN_QUOTED:
            if (!end && ch == '"') {   /* a doubled quote */
                state = S_QUOTED;
                break;
            }
            if (eol || ch == ',') {
                state = S_UNQUOTED;
                continue;   /* ends the field as an unquoted one would */
            }
            snprintf(err, errlen,
                     "text after the closing quote of field %zu: quote the whole field and "
                     "double the quotes in it",
                     rec->n + 1);
            s_csv_skip_line(c);
            return -1;
        }
        if (s_put_char(rec, ch) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        c->at++;
    }
}

/* Column indexes from the header; -1 with problems reported. */
static int s_csv_header(s_record_t *rec, const ob_trainset_opts_t *opts, long col[3],
                        s_report_t *r)
{
    char *fields[OB_TRAINSET_FIELDS_MAX];
    for (size_t i = 0; i < rec->n; i++)
        fields[i] = rec->buf + rec->off[i];
    col[0] = s_find_column(fields, rec->n, opts ? opts->title_column : NULL, 0);
    col[1] = s_find_column(fields, rec->n, opts ? opts->content_column : NULL, 1);
    col[2] = s_find_column(fields, rec->n, opts ? opts->label_column : NULL, 2);
    const char *label = opts && opts->label_column ? opts->label_column : "label";
    if (col[2] < 0)
        s_problem(r, 1, "no label column '%s' in the header: name it with --label-column",
                  label);
    if (col[0] < 0 && col[1] < 0)
        s_problem(r, 1, "no text column in the header (subject/title/留言主题, "
                        "body/content/留言详情): rename the columns");
    return col[2] < 0 || (col[0] < 0 && col[1] < 0) ? -1 : 0;
}

static ob_trainset_t *s_parse_csv(const char *data, size_t len, const ob_trainset_opts_t *opts,
                                  s_report_t *r)
{
    ob_trainset_t *self = ob_trainset_new();
    s_record_t *rec = calloc(1, sizeof *rec);
    s_csv_t c = {data, len, 0, 1};
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        c.at = 3;
    char err[256];
    size_t line;
    long col[3];
    int got;
    if (!self || !rec) {
        s_problem(r, 0, "out of memory");
        goto out;
    }
    while ((got = s_csv_record(&c, rec, &line, err, sizeof err)) == -1)
        s_problem(r, line, "%s", err);   /* a header that does not parse */
    if (got == 0) {
        s_problem(r, 0, "empty file: the first line must name the columns");
        goto out;
    }
    if (s_csv_header(rec, opts, col, r) != 0)
        goto out;
    size_t want = rec->n;
    while ((got = s_csv_record(&c, rec, &line, err, sizeof err)) != 0) {
        if (got < 0) {
            s_problem(r, line, "%s", err);
            continue;
        }
        if (rec->n == 1 && rec->buf[0] == '\0')
            continue;   /* a blank line */
        if (rec->n != want) {
            s_problem(r, line, "%zu fields, the header has %zu: quote fields that hold commas",
                      rec->n, want);
            continue;
        }
        if (!ob_utf8_valid(rec->buf, rec->len)) {
            s_problem(r, line, "not valid UTF-8: convert the file to UTF-8");
            continue;
        }
        const char *title = col[0] >= 0 ? rec->buf + rec->off[col[0]] : "";
        const char *content = col[1] >= 0 ? rec->buf + rec->off[col[1]] : "";
        if (!title[0] && !content[0]) {
            s_problem(r, line, "no text (title and content empty): remove the row");
            continue;
        }
        if (ob_trainset_add(self, title, content, rec->buf + rec->off[col[2]], line) != 0) {
            s_problem(r, line, "out of memory");
            goto out;
        }
    }
out:
    if (rec)
        free(rec->buf);
    free(rec);
    return self;
}

/* ---- JSON Lines ---------------------------------------------------------------- */

/* The string at the first of the keys present; NULL when none is, and
   *bad set when the value is not a string. */
static const char *s_json_text(json_t *obj, const char *given, size_t which, bool *bad)
{
    for (size_t k = 0; k < 3; k++) {
        const char *name = given ? (k == 0 ? given : NULL) : s_column_name(which, k);
        json_t *v = name ? json_object_get(obj, name) : NULL;
        if (!v)
            continue;
        if (!json_is_string(v))
            *bad = true;
        return json_string_value(v);
    }
    return NULL;
}

/* A label: a string, or an array of strings joined with '/'. Returns 0,
   or -1 when the value is of another kind. */
static int s_json_label(json_t *v, char *out, size_t outlen)
{
    out[0] = '\0';
    if (json_is_string(v)) {
        snprintf(out, outlen, "%s", json_string_value(v));
        return 0;
    }
    if (!json_is_array(v))
        return -1;
    size_t i, o = 0;
    json_t *part;
    json_array_foreach(v, i, part) {
        if (!json_is_string(part))
            return -1;
        int n = snprintf(out + o, outlen - o, "%s%s", i ? "/" : "", json_string_value(part));
        if (n < 0 || (size_t) n >= outlen - o)
            return -1;
        o += (size_t) n;
    }
    return 0;
}

/* One JSON line into the set; problems reported. Returns -1 only when out
   of memory. */
static int s_jsonl_line(ob_trainset_t *self, const char *text, size_t len, size_t line,
                        const ob_trainset_opts_t *opts, s_report_t *r)
{
    json_error_t jerr;
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = 0;
    if (!obj) {
        s_problem(r, line, "not JSON (column %d: %s): fix or remove the line", jerr.column,
                  jerr.text);
        return 0;
    }
    if (!json_is_object(obj)) {
        s_problem(r, line, "not a JSON object: each line must be one {...}");
        goto out;
    }
    bool bad = false;
    const char *title = s_json_text(obj, opts ? opts->title_column : NULL, 0, &bad);
    const char *content = s_json_text(obj, opts ? opts->content_column : NULL, 1, &bad);
    const char *key = opts && opts->label_column ? opts->label_column : "label";
    json_t *lv = json_object_get(obj, key);
    char label[OB_TEXTCLASS_LABEL_MAX * 2];
    if (bad) {
        s_problem(r, line, "title or content is not a string");
    } else if (!lv) {
        s_problem(r, line, "no \"%s\": label the line (or name the key with --label-column)",
                  key);
    } else if (s_json_label(lv, label, sizeof label) != 0) {
        s_problem(r, line, "\"%s\" is not a string or a list of strings", key);
    } else if ((!title || !title[0]) && (!content || !content[0])) {
        s_problem(r, line, "no text (title and content empty or absent): remove the line");
    } else if (ob_trainset_add(self, title, content, label, line) != 0) {
        s_problem(r, line, "out of memory");
        rc = -1;
    }
out:
    json_decref(obj);
    return rc;
}

static ob_trainset_t *s_parse_jsonl(const char *data, size_t len,
                                    const ob_trainset_opts_t *opts, s_report_t *r)
{
    ob_trainset_t *self = ob_trainset_new();
    if (!self) {
        s_problem(r, 0, "out of memory");
        return NULL;
    }
    size_t at = 0, line = 1;
    while (at < len) {
        const char *nl = memchr(data + at, '\n', len - at);
        size_t end = nl ? (size_t) (nl - data) : len;
        size_t k = at;
        while (k < end && (data[k] == ' ' || data[k] == '\t' || data[k] == '\r'))
            k++;
        if (k < end && s_jsonl_line(self, data + at, end - at, line, opts, r) != 0)
            break;
        at = end + 1;
        line++;
    }
    return self;
}

/* ---- entry points ---------------------------------------------------------------- */

ob_trainset_t *ob_trainset_parse(const char *data, size_t len, ob_trainset_format_t format,
                                 const ob_trainset_opts_t *opts, ob_trainset_diag_fn *diag,
                                 void *arg)
{
    s_report_t r = {diag, arg, 0};
    ob_trainset_t *self = format == OB_TRAINSET_JSONL ? s_parse_jsonl(data, len, opts, &r)
                                                      : s_parse_csv(data, len, opts, &r);
    if (self) {
        s_check_labels(self, opts, r.count == 0, &r);
        if (r.count == 0 && self->count == 0)
            s_problem(&r, 0, "no labelled texts in the file");
    }
    s_report_end(&r);
    if (r.count)
        ob_trainset_destroy(&self);
    return self;
}

ob_trainset_t *ob_trainset_read(const char *path, const ob_trainset_opts_t *opts,
                                ob_trainset_diag_fn *diag, void *arg)
{
    ob_trainset_t *self = NULL;
    char *data = NULL;
    char msg[512];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, sizeof msg, "cannot open '%s': %s", path, strerror(errno));
        diag(arg, 0, msg);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)
        || (uint64_t) st.st_size > OB_TRAINSET_FILE_MAX) {
        snprintf(msg, sizeof msg, "cannot use '%s': not a regular file, or over %u MiB", path,
                 OB_TRAINSET_FILE_MAX >> 20);
        diag(arg, 0, msg);
        goto out;
    }
    size_t len = (size_t) st.st_size;
    data = malloc(len ? len : 1);
    if (!data || (len && fread(data, 1, len, f) != len)) {
        snprintf(msg, sizeof msg, "cannot read '%s': %s", path,
                 data ? strerror(errno) : "out of memory");
        diag(arg, 0, msg);
        goto out;
    }
    size_t plen = strlen(path);
    bool jsonl = (plen > 6 && strcmp(path + plen - 6, ".jsonl") == 0)
                 || (plen > 7 && strcmp(path + plen - 7, ".ndjson") == 0)
                 || (plen > 5 && strcmp(path + plen - 5, ".json") == 0);
    self = ob_trainset_parse(data, len, jsonl ? OB_TRAINSET_JSONL : OB_TRAINSET_CSV, opts,
                             diag, arg);
out:
    free(data);
    fclose(f);
    return self;
}

/* ---- self-test ------------------------------------------------------------------- */

#include "ob_selftest.h"   /* assert on in the self-test, also under -DNDEBUG */

typedef struct {
    char text[4096];
    size_t n;
} s_seen_t;

static void s_collect(void *arg, size_t line, const char *message)
{
    s_seen_t *seen = arg;
    size_t o = strlen(seen->text);
    snprintf(seen->text + o, sizeof seen->text - o, "%zu: %s\n", line, message);
    seen->n++;
}

static ob_trainset_t *s_try(const char *text, ob_trainset_format_t format,
                            const ob_trainset_opts_t *opts, s_seen_t *seen)
{
    memset(seen, 0, sizeof *seen);
    return ob_trainset_parse(text, strlen(text), format, opts, s_collect, seen);
}

/* CSV that parses: quoting, line breaks in fields, line numbers. */
static void s_test_csv(void)
{
    s_seen_t seen;
    ob_trainset_opts_t opts = {.min_per_label = 2};
    /* CSV: BOM, CRLF, quoted commas, doubled quotes, a line break in a
       field, a blank line; each text knows the line it starts on */
    const char *csv = "\xef\xbb\xbfid,subject,body,label\r\n"
                      "1,路灯不亮,\"晚上，路灯\r\n不亮\",城乡建设\r\n"
                      "2,\"\"\"噪音\"\"\",工地噪音,环境保护\n"
                      "\n"
                      "3,井盖,\"缺失\n两个\n三个\",城乡建设\n"
                      "4,油烟,饭店油烟,环境保护";
    ob_trainset_t *set = s_try(csv, OB_TRAINSET_CSV, &opts, &seen);
    assert(set && seen.n == 0);
    assert(ob_trainset_count(set) == 4);
    const ob_textclass_doc_t *docs = ob_trainset_docs(set);
    assert(strcmp(docs[0].content, "晚上，路灯\r\n不亮") == 0);
    assert(strcmp(docs[1].title, "\"噪音\"") == 0);
    assert(strcmp(docs[2].content, "缺失\n两个\n三个") == 0);
    assert(strcmp(docs[3].label, "环境保护") == 0);
    assert(ob_trainset_line(set, 0) == 2 && ob_trainset_line(set, 1) == 4);
    assert(ob_trainset_line(set, 2) == 6 && ob_trainset_line(set, 3) == 9);
    ob_trainset_destroy(&set);
    ob_trainset_destroy(&set);

}

/* CSV problems, the label checks, the cap on problems shown. */
static void s_test_csv_problems(void)
{
    s_seen_t seen;
    ob_trainset_opts_t opts = {.min_per_label = 2};
    ob_trainset_t *set;
    /* CSV problems, each with its line; the file is refused whole */
    const char *bad = "subject,body,label\n"
                      "a,b\"c,城乡建设\n"              /* 2: stray quote */
                      "a,\"b\"c,城乡建设\n"            /* 3: text after the quote */
                      "a,b,c,d\n"                      /* 4: four fields */
                      "a,b,\n"                         /* 5: empty label */
                      ",,城乡建设\n"                   /* 6: no text */
                      "a,\xff\xfe,城乡建设\n"          /* 7: not UTF-8 */
                      "a,b,城乡建设\n"
                      "a,\"never\nclosed,城乡建设\n";  /* 9: unclosed */
    set = s_try(bad, OB_TRAINSET_CSV, &opts, &seen);
    assert(!set);
    assert(strstr(seen.text, "2: quote inside an unquoted field"));
    assert(strstr(seen.text, "3: text after the closing quote"));
    assert(strstr(seen.text, "4: 4 fields, the header has 3"));
    assert(strstr(seen.text, "5: empty label"));
    assert(strstr(seen.text, "6: no text"));
    assert(strstr(seen.text, "7: not valid UTF-8"));
    assert(strstr(seen.text, "9: quoted field opened on line 9 is never closed"));

    /* too few examples of a label, unknown labels; NUL; no label column */
    set = s_try("title,content,label\nx,y,城乡建设\nx,y,城乡建设\nx,z,交通运输\n",
                OB_TRAINSET_CSV, &opts, &seen);
    assert(!set && strstr(seen.text, "4: label '交通运输' has 1 example (line 4)"));
    const char *known[] = {"城乡建设"};
    ob_trainset_opts_t with_known = {.known = known, .n_known = 1};
    set = s_try("title,content,label\nx,y,城乡建设\nx,z,交通\n", OB_TRAINSET_CSV, &with_known,
                &seen);
    assert(!set && strstr(seen.text, "3: unknown label '交通'"));
    const char nul[] = "title,label\na\0b,c\n";
    memset(&seen, 0, sizeof seen);
    set = ob_trainset_parse(nul, sizeof nul - 1, OB_TRAINSET_CSV, NULL, s_collect, &seen);
    assert(!set && strstr(seen.text, "2: NUL byte"));
    set = s_try("title,body,category\nx,y,z\n", OB_TRAINSET_CSV, NULL, &seen);
    assert(!set && strstr(seen.text, "1: no label column 'label'"));
    ob_trainset_opts_t by_category = {.label_column = "category"};
    set = s_try("title,body,category\nx,y,z\nx,y,w\n", OB_TRAINSET_CSV, &by_category, &seen);
    assert(set && ob_trainset_count(set) == 2);
    ob_trainset_destroy(&set);
    set = s_try("", OB_TRAINSET_CSV, NULL, &seen);
    assert(!set && strstr(seen.text, "empty file"));

    /* many problems: the first ones shown, then a count */
    char many[8192] = "title,body,label\n";
    for (int i = 0; i < 40; i++)
        strcat(many, "a,b,\n");
    set = s_try(many, OB_TRAINSET_CSV, NULL, &seen);
    assert(!set && seen.n == OB_TRAINSET_ERRORS_SHOWN + 1);
    assert(strstr(seen.text, "20 more problems not shown (40 in all)"));

}

/* JSON Lines, and a set filled by hand. */
static void s_test_jsonl(void)
{
    s_seen_t seen;
    ob_trainset_opts_t opts = {.min_per_label = 2};
    ob_trainset_t *set;
    /* JSON Lines: strings, a category path, blank lines; problems by line */
    const char *jsonl = "{\"title\":\"路灯\",\"content\":\"不亮\",\"label\":\"城乡建设\"}\n"
                        "\n"
                        "{\"subject\":\"噪音\",\"body\":\"工地\",\"label\":[\"环境保护\",\"噪声\"]}\n";
    set = s_try(jsonl, OB_TRAINSET_JSONL, NULL, &seen);
    assert(set && ob_trainset_count(set) == 2);
    assert(strcmp(ob_trainset_docs(set)[1].label, "环境保护/噪声") == 0);
    assert(ob_trainset_line(set, 1) == 3);
    ob_trainset_destroy(&set);
    const char *badjson = "{\"title\":\"a\",\"label\":\"x\"}\n"
                          "{\"title\":\"a\",\n"
                          "[1,2]\n"
                          "{\"title\":\"a\"}\n"
                          "{\"title\":1,\"label\":\"x\"}\n"
                          "{\"title\":\"a\",\"label\":{}}\n";
    set = s_try(badjson, OB_TRAINSET_JSONL, NULL, &seen);
    assert(!set);
    assert(strstr(seen.text, "2: not JSON"));
    assert(strstr(seen.text, "3: not a JSON object"));
    assert(strstr(seen.text, "4: no \"label\""));
    assert(strstr(seen.text, "5: title or content is not a string"));
    assert(strstr(seen.text, "6: \"label\" is not a string"));

    /* a set filled by hand, checked the same way */
    set = ob_trainset_new();
    assert(set);
    for (size_t i = 0; i < 300; i++) {
        int rc = ob_trainset_add(set, "t", "c", i < 299 ? "a" : "b", i + 1);
        assert(rc == 0);
    }
    assert(strcmp(ob_trainset_docs(set)[0].label, "a") == 0);   /* after growing */
    memset(&seen, 0, sizeof seen);
    assert(ob_trainset_check(set, &opts, s_collect, &seen) == 1);
    assert(strstr(seen.text, "300: label 'b' has 1 example"));
    ob_trainset_destroy(&set);
}

void ob_trainset_test(bool verbose)
{
    s_test_csv();
    s_test_csv_problems();
    s_test_jsonl();
    if (verbose)
        printf("trainset: ok\n");
}
