/*  cli_common.c — what every orderbus command shares: connecting to the
    broker's client service (CurveZMQ) or to a node's local service (ipc),
    one request/answer call with a clear error naming the endpoint and the
    time-out, answer codes to exit codes, order references, display-width
    aware tables (Chinese text counts two columns per character), times in
    the site's zone, and the per-department statistics table.             */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_keys.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

static int s_connect_failure = EX_UNAVAILABLE;
static const char *s_peer = "broker";   /* what the last connection talks to */

int cli_connect_failure(void)
{
    return s_connect_failure;
}

/* Loads a key file, setting s_connect_failure by what went wrong. */
static ob_keypair_t *s_load_key(const char *path, bool need_secret, const char *what)
{
    char err[512];
    if (!path || !*path) {
        fprintf(stderr, "orderbus: no %s: give --%s FILE or set it in the config file\n",
                what, need_secret ? "key" : "broker-key");
        s_connect_failure = EX_USAGE;
        return NULL;
    }
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "orderbus: %s '%s' does not exist\n", what, path);
        s_connect_failure = EX_NOINPUT;
        return NULL;
    }
    ob_keypair_t *keys = ob_keys_load(path, need_secret, err, sizeof err);
    if (!keys) {
        fprintf(stderr, "orderbus: %s\n", err);
        s_connect_failure = EX_CONFIG;
    }
    return keys;
}

ob_client_t *cli_broker_connect(const cli_opts_t *opts)
{
    char err[512];
    ob_client_t *client = NULL;
    ob_keypair_t *server = NULL, *keys = NULL;
    const char *endpoint = opts->broker && *opts->broker ? opts->broker : "tcp://127.0.0.1:5571";

    s_peer = "broker";
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        server = s_load_key(opts->broker_key, false, "broker key");
        if (!server)
            goto out;
        keys = s_load_key(opts->key, true, "client key");
        if (!keys)
            goto out;
    }
    else if (strncmp(endpoint, "ipc://", 6) != 0 && strncmp(endpoint, "inproc://", 9) != 0) {
        fprintf(stderr, "orderbus: broker endpoint '%s' is not tcp://HOST:PORT\n", endpoint);
        s_connect_failure = EX_USAGE;
        goto out;
    }
    client = ob_client_new(endpoint, server, keys, err, sizeof err);
    if (!client) {
        fprintf(stderr, "orderbus: %s\n", err);
        s_connect_failure = EX_CONFIG;
    }
out:
    ob_keys_destroy(&server);
    ob_keys_destroy(&keys);
    return client;
}

ob_client_t *cli_node_connect(const cli_opts_t *opts)
{
    char err[512], endpoint[620], sock[600];
    s_peer = "node";
    if (!opts->node || !*opts->node) {
        fprintf(stderr, "orderbus: no node: give --node DIR (the node's data directory) "
                        "or set ORDERBUS_NODE\n");
        s_connect_failure = EX_USAGE;
        return NULL;
    }
    struct stat st;
    if (stat(opts->node, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "orderbus: node directory '%s' does not exist\n", opts->node);
        s_connect_failure = EX_NOINPUT;
        return NULL;
    }
    snprintf(sock, sizeof sock, "%s/node.sock", opts->node);
    if (stat(sock, &st) != 0) {
        fprintf(stderr, "orderbus: node is not running: no socket '%s' "
                        "(start orderbus-node --data %s)\n", sock, opts->node);
        s_connect_failure = EX_UNAVAILABLE;
        return NULL;
    }
    if (strlen(sock) > 100) {
        fprintf(stderr, "orderbus: node socket path '%s' is too long for ipc\n", sock);
        s_connect_failure = EX_CONFIG;
        return NULL;
    }
    snprintf(endpoint, sizeof endpoint, "ipc://%s", sock);
    ob_client_t *client = ob_client_new(endpoint, NULL, NULL, err, sizeof err);
    if (!client) {
        fprintf(stderr, "orderbus: %s\n", err);
        s_connect_failure = EX_UNAVAILABLE;
    }
    return client;
}

ob_envelope_t *cli_call(ob_client_t *client, const ob_envelope_t *req, const cli_opts_t *opts)
{
    char err[512];
    int timeout = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    ob_envelope_t *answer = ob_client_call(client, req, timeout, err, sizeof err);
    if (!answer) {
        if (strcmp(s_peer, "broker") == 0)
            fprintf(stderr, "orderbus: %s: is the broker running, and is this client's key "
                            "registered (orderbus admin add-client)?\n", err);
        else
            fprintf(stderr, "orderbus: %s: is orderbus-node running?\n", err);
    }
    return answer;
}

int cli_answer_status(const ob_answer_t *answer)
{
    if (!answer) {
        fprintf(stderr, "orderbus: no answer\n");
        return EX_SOFTWARE;
    }
    if (answer->code == ORDERBUS__V1__ERROR_CODE__OK)
        return 0;
    if (answer->message && *answer->message)
        fprintf(stderr, "orderbus: %s\n", answer->message);
    else
        fprintf(stderr, "orderbus: refused: %s\n", ob_errcode_name(answer->code));
    return CLI_REFUSED;
}

int cli_ref_parse(cli_ref_t *self, const char *cmd, const char *arg)
{
    Orderbus__V1__OrderRef init = ORDERBUS__V1__ORDER_REF__INIT;
    memset(self, 0, sizeof *self);
    self->ref = init;
    if (!arg || !*arg)
        return cli_usage_error(cmd, "missing ID|CASE");
    if (strlen(arg) == 2 * OB_ID_BYTES && ob_id_parse(self->id, arg) == 0) {
        self->ref.id.data = self->id;
        self->ref.id.len = OB_ID_BYTES;
        self->ref.case_no = (char *) "";
        self->by_id = true;
        return 0;
    }
    if (strlen(arg) < OB_CASE_NO_MAX && ob_case_no_valid(arg)) {
        snprintf(self->case_no, sizeof self->case_no, "%s", arg);
        self->ref.case_no = self->case_no;
        return 0;
    }
    return cli_usage_error(cmd, "'%s' is neither an order id (32 hex digits) nor a case "
                                "number (YYYYMMDD-NNNNNN)", arg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cmd) {
        fprintf(stderr, "orderbus %s: %s\n", cmd, msg);
        fprintf(stderr, "try 'orderbus %s --help'\n", cmd);
    }
    else {
        fprintf(stderr, "orderbus: %s\n", msg);
        fprintf(stderr, "try 'orderbus --help'\n");
    }
    return EX_USAGE;
}

int cli_option_error(const char *cmd, int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", arg);
    if (optopt && optopt != '?')
        return cli_usage_error(cmd, "unknown option '-%c'", optopt);
    return cli_usage_error(cmd, "unknown option '%s'", arg);
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    return 0;
}

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

/* Writes s without control characters (a newline in a title would break
   the table). */
static void s_put_clean(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        fputc((unsigned char) s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i], out);
}

void cli_put_cell(FILE *out, const char *s, size_t width, bool right)
{
    if (!s || !*s)
        s = "-";
    size_t w = cli_width(s);
    if (w <= width) {
        if (right)
            fprintf(out, "%*s", (int) (width - w), "");
        s_put_clean(out, s, strlen(s));
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
    s_put_clean(out, s, keep);
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

int cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_print_json(json_t *doc, bool compact)
{
    if (!doc) {
        fprintf(stderr, "orderbus: cannot build the JSON output\n");
        return EX_SOFTWARE;
    }
    size_t flags = compact ? JSON_COMPACT : JSON_INDENT(2);
    json_dumpf(doc, stdout, flags);
    fputc('\n', stdout);
    json_decref(doc);
    return 0;
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
        self->headers[i] = strdup(headers[i]);
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
        row[i] = strdup(cells[i] && *cells[i] ? cells[i] : "-");
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

/* ---- statistics table ---------------------------------------------------- */

static void s_u64(char *out, size_t len, uint64_t v)
{
    snprintf(out, len, "%llu", (unsigned long long) v);
}

void cli_print_stats_table(FILE *out, const ob_answer_t *answer)
{
    static const char *const headers[] = {
        "dept", "name", "dispatched", "signed", "replied", "closed", "returned",
        "reworked", "reopened", "median sign", "median reply"};
    enum { NCOLS = sizeof headers / sizeof headers[0] };
    if (!answer)
        return;
    cli_table_t *table = cli_table_new(NCOLS, headers);
    if (!table)
        return;
    cli_table_align(table, 1, false, 24);
    for (size_t c = 2; c < NCOLS; c++)
        cli_table_align(table, c, true, 0);

    uint64_t total[7] = {0};
    char num[7][24], msign[32], mreply[32];
    for (size_t i = 0; i < answer->n_stats; i++) {
        const Orderbus__V1__DeptStats *s = answer->stats[i];
        uint64_t v[7] = {s->dispatched, s->signed_for, s->replied, s->closed,
                         s->returned,   s->reworked,   s->reopened};
        for (int k = 0; k < 7; k++) {
            total[k] += v[k];
            s_u64(num[k], sizeof num[k], v[k]);
        }
        if (s->signed_for > 0)
            ob_duration_format(msign, sizeof msign, s->median_sign_ms);
        else
            snprintf(msign, sizeof msign, "-");
        if (s->replied > 0)
            ob_duration_format(mreply, sizeof mreply, s->median_reply_ms);
        else
            snprintf(mreply, sizeof mreply, "-");
        const char *cells[NCOLS] = {s->dept, s->name, num[0], num[1], num[2], num[3],
                                    num[4], num[5], num[6], msign, mreply};
        cli_table_add(table, cells);
    }
    for (int k = 0; k < 7; k++)
        s_u64(num[k], sizeof num[k], total[k]);
    const char *cells[NCOLS] = {"TOTAL", " ", num[0], num[1], num[2], num[3],
                                num[4], num[5], num[6], " ", " "};
    cli_table_add(table, cells);
    cli_table_print(table, out);
    cli_table_destroy(&table);
}
