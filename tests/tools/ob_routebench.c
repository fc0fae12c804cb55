/*  ob_routebench.c — how long routing one order takes, with 100 and with
    1,000 rules holding 10,000 keywords between them.

    The rule files are generated, the orders are real: the 495 messages of
    the demo data (deploy/data/tipdm_demo.jsonl, TipDM 2020 C), read with
    ob_json. Keywords are real Chinese text: the most frequent 2- to
    4-character runs of Han characters in the subjects and texts of the
    TipDM sample (../shared/data/tipdm2020c_messages_sample_labeled.csv beside the repository),
    leaving out runs that begin or end with a particle or pronoun (的, 了,
    我, 在, ...) and runs seen only inside one longer run (程质量 of
    工程质量), by the number of messages they occur in: 没有, 部门, 政府,
    ..., 营商环境, 第三方, ... Each keyword is used by one rule. Category prefixes come from the taxonomy
    (router-rules/taxonomy.csv), at all three levels.

    A generated file has 20 departments and N rules of four shapes, in
    turn: keywords only; a first-level category and keywords; a deeper
    category, keywords and one negative keyword (keywords_none); two words
    that must both occur (keywords_all) and keywords. Priorities are random
    (0..99), there is no catch-all rule: an order no rule takes is tried
    against every rule, as the worst case should be. The keyword format is
    router-rules/README.md's; should the engine refuse keywords (an older
    release), the bench falls back to category-prefix rules and says so.

    Each rule file is loaded with ob_rules_load, then all the orders are
    routed with ob_rules_route, again and again for --seconds; the figure
    is the median over those rounds, per order. Prints

        routing: 100 rules, 10000 keywords: X us/order (...)
        routing: 1000 rules, 10000 keywords: Y us/order (...)
        routing: ratio 1000/100 rules: Y/X (...)

    Usage: ob_routebench [--orders FILE.jsonl] [--words FILE.csv]
                         [--taxonomy FILE.csv] [--small N] [--large N]
                         [--keywords K] [--seconds S] [--keep DIR] [--strict] */
#include "ob_common.h"
#include "ob_json.h"
#include "ob_rules.h"
#include "ob_util.h"
#include <getopt.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#define S_MAX_WORD   16     /* bytes in an n-gram: 5 Han characters + NUL */
#define S_MAX_KEYWORD 12    /* bytes in a keyword: 4 Han characters */
#define S_DEPTS      20
#define S_MAX_ROUNDS 4096   /* timed rounds kept for the median */

/* --- small helpers ------------------------------------------------------------ */

/* Reads a whole file; NULL (with a message on stderr) on failure. */
static char *s_slurp(const char *path, size_t *len_p)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "ob_routebench: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? 2 * cap : 1 << 20;
            char *more = realloc(buf, cap + 1);
            if (!more) {
                fprintf(stderr, "ob_routebench: out of memory reading '%s'\n", path);
                free(buf);
                fclose(file);
                return NULL;
            }
            buf = more;
        }
        size_t got = fread(buf + len, 1, cap - len, file);
        len += got;
        if (got == 0)
            break;
    }
    fclose(file);
    buf[len] = '\0';
    *len_p = len;
    return buf;
}

/* A deterministic generator (PCG-style LCG), so that runs compare. */
static uint32_t s_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t) (*state >> 33);
}

/* Next UTF-8 code point at *p < end (advances). An invalid byte is
   returned as itself (never Han). */
static uint32_t s_utf8_next(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    *p = s + 1;
    if (n == 0 || end - s <= n)
        return c;  /* ASCII, or a sequence cut short */
    uint32_t v = c & (0x3Fu >> n);
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return c;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *p = s + n + 1;
    return v;
}

static bool s_han(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF);
}

/* --- keyword candidates: Han n-grams by document frequency ------------------ */

typedef struct {
    char text[S_MAX_WORD];
    uint32_t df;        /* documents it occurs in */
    uint32_t last_doc;  /* last document counted (+1) */
    uint32_t first;     /* order of first sight, breaks ties */
    bool part;          /* only ever seen inside one longer n-gram */
} s_gram_t;

typedef struct {
    s_gram_t *slots;
    size_t cap;         /* power of two */
    size_t count;
} s_grams_t;

static uint64_t s_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char) s[i]) * 1099511628211u;
    return h;
}

/* The slot of n-gram text[0..len), or NULL. */
static s_gram_t *s_gram_find(s_grams_t *g, const char *text, size_t len)
{
    size_t j = s_hash(text, len) & (g->cap - 1);
    while (g->slots[j].text[0]) {
        if (strlen(g->slots[j].text) == len && memcmp(g->slots[j].text, text, len) == 0)
            return &g->slots[j];
        j = (j + 1) & (g->cap - 1);
    }
    return NULL;
}

/* Counts n-gram text[0..len) once for document `doc`. */
static int s_gram_add(s_grams_t *g, const char *text, size_t len, uint32_t doc)
{
    if (g->count * 2 >= g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 1 << 16;
        s_gram_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < g->cap; i++) {
            if (!g->slots[i].text[0])
                continue;
            size_t j = s_hash(g->slots[i].text, strlen(g->slots[i].text)) & (cap - 1);
            while (slots[j].text[0])
                j = (j + 1) & (cap - 1);
            slots[j] = g->slots[i];
        }
        free(g->slots);
        g->slots = slots;
        g->cap = cap;
    }
    size_t j = s_hash(text, len) & (g->cap - 1);
    while (g->slots[j].text[0]) {
        if (strlen(g->slots[j].text) == len && memcmp(g->slots[j].text, text, len) == 0) {
            if (g->slots[j].last_doc != doc + 1) {
                g->slots[j].df++;
                g->slots[j].last_doc = doc + 1;
            }
            return 0;
        }
        j = (j + 1) & (g->cap - 1);
    }
    memcpy(g->slots[j].text, text, len);
    g->slots[j].text[len] = '\0';
    g->slots[j].df = 1;
    g->slots[j].last_doc = doc + 1;
    g->slots[j].first = (uint32_t) g->count;
    g->count++;
    return 0;
}

/* Characters that begin or end no keyword: particles and pronouns. */
static bool s_function_char(uint32_t c)
{
    static const char list[] = "的了吗呢啊吧么着过我你他她们这那是在和与也都就被把对从给到还又很个其及或等为于以而但却让将已";
    const unsigned char *p = (const unsigned char *) list, *end = p + sizeof list - 1;
    while (p < end)
        if (s_utf8_next(&p, end) == c)
            return true;
    return false;
}

/* Adds the 2- to 5-character Han n-grams of text to g (document doc); the
   5-character ones only tell which 4-character ones are pieces. */
static int s_grams_of(s_grams_t *g, const char *text, size_t len, uint32_t doc)
{
    const unsigned char *p = (const unsigned char *) text, *end = p + len;
    const unsigned char *pos[6];     /* starts of the last characters of the run */
    uint32_t cps[6];
    size_t run = 0;
    while (p < end) {
        const unsigned char *at = p;
        uint32_t c = s_utf8_next(&p, end);
        if (!s_han(c)) {
            run = 0;
            continue;
        }
        /* shift the window of the last 4 characters */
        if (run == 5) {
            memmove(pos, pos + 1, 4 * sizeof pos[0]);
            memmove(cps, cps + 1, 4 * sizeof cps[0]);
            run = 4;
        }
        pos[run] = at;
        cps[run] = c;
        run++;
        pos[run] = p;
        if (s_function_char(c))
            continue;
        for (size_t n = 2; n <= 5 && n <= run; n++) {
            size_t first = run - n;
            if (s_function_char(cps[first]))
                continue;
            size_t bytes = (size_t) (p - pos[first]);
            if (bytes < S_MAX_WORD && s_gram_add(g, (const char *) pos[first], bytes, doc))
                return -1;
        }
    }
    return 0;
}

/* Keywords first: n-grams seen in two messages or more that are not just
   a piece of one longer n-gram (程质量 inside 工程质量), most frequent first. */
static bool s_gram_word(const s_gram_t *g)
{
    return g->df >= 2 && !g->part;
}

static int s_gram_cmp(const void *a, const void *b)
{
    const s_gram_t *x = a, *y = b;
    if (s_gram_word(x) != s_gram_word(y))
        return s_gram_word(x) ? -1 : 1;
    if (x->df != y->df)
        return x->df > y->df ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

/* A minimal RFC 4180 reader: calls fn for every field of every record. */
typedef void(s_csv_fn)(void *arg, size_t record, size_t field, const char *text, size_t len);

static void s_csv(char *buf, size_t len, s_csv_fn *fn, void *arg)
{
    size_t record = 0, field = 0, i = 0;
    while (i < len) {
        size_t out = i, start = i;
        if (buf[i] == '"') {  /* quoted: "" is a quote; unescape in place */
            i++;
            out = start;
            while (i < len) {
                if (buf[i] == '"' && i + 1 < len && buf[i + 1] == '"') {
                    buf[out++] = '"';
                    i += 2;
                }
                else if (buf[i] == '"') {
                    i++;
                    break;
                }
                else
                    buf[out++] = buf[i++];
            }
            while (i < len && buf[i] != ',' && buf[i] != '\n')
                i++;  /* stray text after the closing quote: ignored */
        }
        else {
            while (i < len && buf[i] != ',' && buf[i] != '\n')
                i++;
            out = i;
            if (out > start && buf[out - 1] == '\r')
                out--;
        }
        fn(arg, record, field, buf + start, out - start);
        if (i < len && buf[i] == ',') {
            field++;
            i++;
        }
        else {
            record++;
            field = 0;
            i++;
        }
    }
}

typedef struct {
    s_grams_t *grams;
    int subject_col, text_col;  /* columns of 留言主题 and 留言详情 */
    size_t docs;
    int failed;
} s_words_ctx_t;

static void s_words_field(void *arg, size_t record, size_t field, const char *text, size_t len)
{
    s_words_ctx_t *ctx = arg;
    if (record == 0) {
        if (len == strlen("留言主题") && memcmp(text, "留言主题", len) == 0)
            ctx->subject_col = (int) field;
        if (len == strlen("留言详情") && memcmp(text, "留言详情", len) == 0)
            ctx->text_col = (int) field;
        return;
    }
    if ((int) field == ctx->subject_col || (int) field == ctx->text_col) {
        if (s_grams_of(ctx->grams, text, len, (uint32_t) record))
            ctx->failed = 1;
        if (record > ctx->docs)
            ctx->docs = record;
    }
}

/* The `want` most frequent keyword candidates of a CSV with 留言主题 and
   留言详情 columns, or of the orders' titles and texts when path is NULL.
   Returns a malloc'd array of `want` words, most frequent first, or NULL;
   *words_p: how many of them are seen twice or more and whole. */
static char (*s_keywords(const char *path, ob_workorder_t **orders, size_t norders, size_t want,
                         size_t *docs_p, size_t *words_p))[S_MAX_WORD]
{
    s_grams_t grams = {0};
    char (*words)[S_MAX_WORD] = NULL;
    s_words_ctx_t ctx = {&grams, -1, -1, 0, 0};
    if (path) {
        size_t len;
        char *buf = s_slurp(path, &len);
        if (!buf)
            return NULL;
        s_csv(buf, len, s_words_field, &ctx);
        free(buf);
        if (ctx.subject_col < 0 || ctx.text_col < 0) {
            fprintf(stderr, "ob_routebench: '%s' has no 留言主题 / 留言详情 columns\n", path);
            goto out;
        }
    }
    else {
        for (size_t i = 0; i < norders && !ctx.failed; i++) {
            const ob_workorder_t *o = orders[i];
            if ((o->title && s_grams_of(&grams, o->title, strlen(o->title), (uint32_t) i))
                || (o->content && s_grams_of(&grams, o->content, strlen(o->content), (uint32_t) i)))
                ctx.failed = 1;
        }
        ctx.docs = norders;
    }
    if (ctx.failed) {
        fprintf(stderr, "ob_routebench: out of memory counting words\n");
        goto out;
    }
    /* An n-gram of 3 to 5 characters (Han characters are 3 bytes each)
       makes its two shorter pieces 'part' when they have its frequency. */
    for (size_t i = 0; i < grams.cap; i++) {
        const s_gram_t *long_ = &grams.slots[i];
        size_t len = strlen(long_->text);
        if (!long_->text[0] || len < 9)
            continue;
        s_gram_t *left = s_gram_find(&grams, long_->text, len - 3);
        s_gram_t *right = s_gram_find(&grams, long_->text + 3, len - 3);
        if (left && left->df == long_->df)
            left->part = true;
        if (right && right->df == long_->df)
            right->part = true;
    }
    /* compact (keyword lengths only), sort */
    size_t n = 0;
    for (size_t i = 0; i < grams.cap; i++)
        if (grams.slots[i].text[0] && strlen(grams.slots[i].text) <= S_MAX_KEYWORD)
            grams.slots[n++] = grams.slots[i];
    if (n < want) {
        fprintf(stderr, "ob_routebench: only %zu distinct words in the text, %zu wanted\n", n,
                want);
        goto out;
    }
    qsort(grams.slots, n, sizeof grams.slots[0], s_gram_cmp);
    words = calloc(want, sizeof *words);
    if (!words)
        goto out;
    *words_p = 0;
    for (size_t i = 0; i < want; i++) {
        memcpy(words[i], grams.slots[i].text, S_MAX_WORD);
        *words_p += s_gram_word(&grams.slots[i]);
    }
    *docs_p = ctx.docs;
out:
    free(grams.slots);
    return words;
}

/* --- taxonomy ------------------------------------------------------------------ */

/* Unique category paths ("一级", "一级/二级", "一级/二级/三级") of the
   taxonomy CSV, by level. */
typedef struct {
    char **paths[3];
    size_t n[3];
} s_taxonomy_t;

static void s_taxonomy_free(s_taxonomy_t *t)
{
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < t->n[l]; i++)
            free(t->paths[l][i]);
        free(t->paths[l]);
    }
}

static int s_taxonomy_add(s_taxonomy_t *t, int level, const char *path)
{
    for (size_t i = 0; i < t->n[level]; i++)
        if (strcmp(t->paths[level][i], path) == 0)
            return 0;
    char **more = realloc(t->paths[level], (t->n[level] + 1) * sizeof *more);
    if (!more)
        return -1;
    t->paths[level] = more;
    if (!(more[t->n[level]] = strdup(path)))
        return -1;
    t->n[level]++;
    return 0;
}

static int s_taxonomy_load(const char *path, s_taxonomy_t *t)
{
    size_t len;
    char *buf = s_slurp(path, &len);
    if (!buf)
        return -1;
    int rc = -1;
    char *line = strchr(buf, '\n');  /* the first line is the header */
    while (line && *++line) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        char *cr = strchr(line, '\r');
        if (cr)
            *cr = '\0';
        char path3[512] = "";
        char *field = line;
        for (int level = 0; level < 3 && field && *field; level++) {
            char *comma = strchr(field, ',');
            if (comma)
                *comma = '\0';
            if (!*field)
                break;
            size_t used = strlen(path3);
            snprintf(path3 + used, sizeof path3 - used, "%s%s", level ? "/" : "", field);
            if (s_taxonomy_add(t, level, path3))
                goto out;
            field = comma ? comma + 1 : NULL;
        }
        line = eol;
    }
    rc = t->n[0] && t->n[1] && t->n[2] ? 0 : -1;
    if (rc)
        fprintf(stderr, "ob_routebench: '%s' holds no three-level categories\n", path);
out:
    free(buf);
    return rc;
}

/* --- rule files ---------------------------------------------------------------- */

/* Writes a rule file of `nrules` rules sharing words[0..nwords) (keywords
   false: category prefixes only). Returns 0 or -1. */
static int s_write_rules(const char *path, size_t nrules, char (*words)[S_MAX_WORD],
                         size_t nwords, bool keywords, const s_taxonomy_t *tax)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ob_routebench: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    uint64_t seed = 7 + nrules;
    fprintf(f, "# generated by ob_routebench: %zu rules, %zu keywords\n", nrules,
            keywords ? nwords : (size_t) 0);
    fprintf(f, "version: \"routebench-%zu-%zu\"\ntimezone: \"+08:00\"\ndepartments:\n", nrules,
            keywords ? nwords : (size_t) 0);
    for (int d = 0; d < S_DEPTS; d++)
        fprintf(f, "  - {id: dept%02d, name: 测试部门%02d}\n", d, d);
    fprintf(f, "rules:\n");
    size_t next = 0;
    for (size_t r = 0; r < nrules; r++) {
        size_t share = nwords / nrules + (r < nwords % nrules ? 1 : 0);
        int shape = (int) (r % 4);
        fprintf(f, "  - id: r%05zu\n    priority: %u\n    when:\n", r, s_rand(&seed) % 100);
        const char *cat = NULL;
        if (shape == 1 || !keywords)
            cat = tax->paths[0][s_rand(&seed) % tax->n[0]];
        else if (shape == 2) {
            int level = 1 + (int) (s_rand(&seed) % 2);
            cat = tax->paths[level][s_rand(&seed) % tax->n[level]];
        }
        if (cat)
            fprintf(f, "      category: \"%s\"\n", cat);
        if (!keywords) {
            if (r % 2)
                fprintf(f, "      district: [A%u, A%u]\n", 1 + s_rand(&seed) % 9,
                        1 + s_rand(&seed) % 9);
        }
        else if (share > 0) {
            size_t plain = share;
            if (shape == 2 && share >= 2) {
                fprintf(f, "      keywords_none: [\"%s\"]\n", words[next++]);
                plain--;
            }
            if (shape == 3 && share >= 3) {
                fprintf(f, "      keywords_all: [\"%s\", \"%s\"]\n", words[next], words[next + 1]);
                next += 2;
                plain -= 2;
            }
            if (plain > 0) {
                fprintf(f, "      keywords: [");
                for (size_t k = 0; k < plain; k++)
                    fprintf(f, "%s\"%s\"", k ? ", " : "", words[next++]);
                fprintf(f, "]\n");
            }
        }
        fprintf(f, "    then: {lead: dept%02u}\n", s_rand(&seed) % S_DEPTS);
    }
    int rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0 || rc) {
        fprintf(stderr, "ob_routebench: cannot write '%s'\n", path);
        return -1;
    }
    return 0;
}

/* --- timing -------------------------------------------------------------------- */

static int s_dcmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

typedef struct {
    double us_per_order;  /* median round / orders */
    size_t rounds;
    size_t dispatched;    /* orders of one round dispatched by a rule */
    size_t decided;       /* ... decided by a rule (any decision) */
    double load_ms;
} s_result_t;

/* Loads the rule file and routes all orders for about `seconds`. */
static int s_run(const char *path, ob_workorder_t **orders, size_t norders, double seconds,
                 s_result_t *res, char *err, size_t errlen)
{
    uint64_t t0 = ob_mono_us();
    ob_rules_t *rules = ob_rules_load(path, err, errlen);
    if (!rules)
        return -1;
    res->load_ms = (double) (ob_mono_us() - t0) / 1000.0;
    static double times[S_MAX_ROUNDS];
    ob_route_t route;
    /* one untimed round: warms caches, counts the decisions */
    res->dispatched = res->decided = 0;
    for (size_t i = 0; i < norders; i++) {
        ob_rules_route(rules, orders[i], &route);
        res->dispatched += route.matched;
        res->decided += route.rule_id[0] != '\0';
    }
    size_t rounds = 0;
    uint64_t start = ob_mono_us(), budget = (uint64_t) (seconds * 1e6);
    while (rounds < S_MAX_ROUNDS && (rounds < 5 || ob_mono_us() - start < budget)) {
        uint64_t a = ob_mono_us();
        size_t sink = 0;
        for (size_t i = 0; i < norders; i++) {
            ob_rules_route(rules, orders[i], &route);
            sink += route.matched;
        }
        times[rounds++] = (double) (ob_mono_us() - a);
        if (sink != res->dispatched) {  /* routing is deterministic */
            snprintf(err, errlen, "%s: routing changed between rounds", path);
            ob_rules_destroy(&rules);
            return -1;
        }
    }
    qsort(times, rounds, sizeof times[0], s_dcmp);
    res->us_per_order = times[rounds / 2] / (double) norders;
    res->rounds = rounds;
    ob_rules_destroy(&rules);
    return 0;
}

/* --- main ---------------------------------------------------------------------- */

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ob_routebench [--orders FILE.jsonl] [--words FILE.csv] [--taxonomy FILE.csv]\n"
            "                     [--small N] [--large N] [--keywords K] [--seconds S]\n"
            "                     [--keep DIR] [--strict]\n"
            "\n"
            "Per-order routing time with N (default 100) and N (default 1000) generated\n"
            "rules sharing K (default 10000) real Chinese keywords, over the orders of\n"
            "FILE.jsonl (default deploy/data/tipdm_demo.jsonl). Keywords: the most frequent\n"
            "Han words of the TipDM sample CSV (default ../shared/data/\n"
            "tipdm2020c_messages_sample_labeled.csv; the orders' own text when it is\n"
            "missing). --keep DIR keeps the rule files; --strict exits 1 when the\n"
            "targets (under 10 us/order, ratio under 3) are missed.\n");
}

/* Reads every order of a JSON-lines file. */
static ob_workorder_t **s_orders(const char *path, size_t *n_p)
{
    size_t len;
    char *buf = s_slurp(path, &len);
    if (!buf)
        return NULL;
    ob_workorder_t **orders = NULL;
    size_t n = 0, lineno = 0;
    bool bad = false;
    for (char *line = buf; line && *line && !bad;) {
        char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t) (eol - line) : strlen(line);
        lineno++;
        if (llen > 0) {
            char err[256];
            ob_workorder_t *wo = ob_json_parse_workorder(line, llen, err, sizeof err);
            ob_workorder_t **more = wo ? realloc(orders, (n + 1) * sizeof *more) : NULL;
            if (!wo || !more) {
                fprintf(stderr, "ob_routebench: %s:%zu: %s\n", path, lineno,
                        wo ? "out of memory" : err);
                if (wo)
                    orderbus__v1__work_order__free_unpacked(wo, NULL);
                bad = true;
                break;
            }
            orders = more;
            orders[n++] = wo;
        }
        line = eol ? eol + 1 : NULL;
    }
    free(buf);
    if (bad || n == 0) {
        if (!bad)
            fprintf(stderr, "ob_routebench: '%s' holds no orders\n", path);
        for (size_t i = 0; i < n; i++)
            orderbus__v1__work_order__free_unpacked(orders[i], NULL);
        free(orders);
        return NULL;
    }
    *n_p = n;
    return orders;
}

int main(int argc, char **argv)
{
    const char *orders_path = "deploy/data/tipdm_demo.jsonl";
    const char *words_path = "../shared/data/tipdm2020c_messages_sample_labeled.csv";
    const char *tax_path = "router-rules/taxonomy.csv";
    const char *keep = NULL;
    long small = 100, large = 1000, nkeywords = 10000;
    double seconds = 1.0;
    bool strict = false;
    static const struct option longopts[] = {
        {"orders", required_argument, NULL, 'o'},   {"words", required_argument, NULL, 'w'},
        {"taxonomy", required_argument, NULL, 't'}, {"small", required_argument, NULL, 's'},
        {"large", required_argument, NULL, 'l'},    {"keywords", required_argument, NULL, 'k'},
        {"seconds", required_argument, NULL, 'S'},  {"keep", required_argument, NULL, 'K'},
        {"strict", no_argument, NULL, 'x'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'o': orders_path = optarg; break;
        case 'w': words_path = optarg; break;
        case 't': tax_path = optarg; break;
        case 'K': keep = optarg; break;
        case 'x': strict = true; break;
        case 's': small = strtol(optarg, &end, 10); break;
        case 'l': large = strtol(optarg, &end, 10); break;
        case 'k': nkeywords = strtol(optarg, &end, 10); break;
        case 'S': seconds = strtod(optarg, &end); break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return EX_USAGE;
        }
        if (end && (*end || end == optarg)) {
            fprintf(stderr, "ob_routebench: '%s' is not a number\n", optarg);
            return EX_USAGE;
        }
    }
    if (optind != argc || small < 1 || large < 1 || small > 5000 || large > 5000
        || nkeywords < 0 || nkeywords > 100000 || !(seconds > 0 && seconds <= 600)) {
        s_usage(stderr);
        return EX_USAGE;
    }

    int rc = EX_SOFTWARE;
    size_t norders = 0;
    char (*words)[S_MAX_WORD] = NULL;
    s_taxonomy_t tax = {{NULL}, {0}};
    char dir[256] = "";
    char paths[2][512] = {"", ""};
    ob_workorder_t **orders = s_orders(orders_path, &norders);
    if (!orders) {
        rc = EX_NOINPUT;
        goto out;
    }
    if (s_taxonomy_load(tax_path, &tax)) {
        rc = EX_NOINPUT;
        goto out;
    }
    size_t docs = 0;
    const char *source = words_path;
    if (access(words_path, R_OK) != 0) {
        fprintf(stderr, "ob_routebench: '%s' is missing: keywords from the orders' own text\n",
                words_path);
        source = NULL;
    }
    size_t whole = 0;
    if (nkeywords > 0) {
        words = s_keywords(source, orders, norders, (size_t) nkeywords, &docs, &whole);
        if (!words)
            goto out;
    }
    if (keep) {
        if (mkdir(keep, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "ob_routebench: cannot create '%s': %s\n", keep, strerror(errno));
            goto out;
        }
        snprintf(dir, sizeof dir, "%s", keep);
    }
    else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/ob_routebench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "ob_routebench: cannot create a temporary directory: %s\n",
                    strerror(errno));
            dir[0] = '\0';
            goto out;
        }
    }

    printf("orders: %zu from %s\nkeywords: the %ld most frequent Han words of %zu messages "
           "(%s; %zu in two messages or more)\n",
           norders, orders_path, nkeywords, docs, source ? source : "the orders", whole);
    if (words && nkeywords >= 20) {
        printf("keywords: most frequent:");
        for (long i = 0; i < 10; i++)
            printf(" %s", words[i]);
        printf("; last:");
        for (long i = nkeywords - 10; i < nkeywords; i++)
            printf(" %s", words[i]);
        printf("\n");
    }
    /* shuffle (fixed seed) so that every rule gets frequent and rare words */
    uint64_t seed = 42;
    for (size_t i = (size_t) nkeywords; words && i > 1; i--) {
        size_t j = s_rand(&seed) % i;
        char tmp[S_MAX_WORD];
        memcpy(tmp, words[i - 1], S_MAX_WORD);
        memcpy(words[i - 1], words[j], S_MAX_WORD);
        memcpy(words[j], tmp, S_MAX_WORD);
    }
    fflush(stdout);
    long sizes[2] = {small, large};
    s_result_t res[2];
    bool keywords = nkeywords > 0;
    for (int s = 0; s < 2; s++) {
        snprintf(paths[s], sizeof paths[s], "%s/rules-%ld.yaml", dir, sizes[s]);
        char err[1024];
        for (;;) {
            if (s_write_rules(paths[s], (size_t) sizes[s], words, (size_t) nkeywords, keywords,
                              &tax))
                goto out;
            if (s_run(paths[s], orders, norders, seconds, &res[s], err, sizeof err) == 0)
                break;
            if (keywords && strstr(err, "keywords")
                && (strstr(err, "reserved") || strstr(err, "unknown key"))) {
                printf("note: this rules engine refuses keywords (%s): category-prefix "
                       "rules only, 0 keywords\n", err);
                keywords = false;
                s = -1;  /* start again without keywords */
                break;
            }
            fprintf(stderr, "ob_routebench: %s\n", err);
            goto out;
        }
        if (s < 0)
            continue;
        printf("routing: %ld rules, %ld keywords: %.2f us/order (median of %zu rounds of %zu "
               "orders; %zu dispatched, %zu decided, %zu manual; load %.1f ms)\n",
               sizes[s], keywords ? nkeywords : 0L, res[s].us_per_order, res[s].rounds,
               norders, res[s].dispatched, res[s].decided, norders - res[s].decided,
               res[s].load_ms);
        fflush(stdout);
    }
    double ratio = res[1].us_per_order / res[0].us_per_order;
    bool met = ratio < 3.0 && res[0].us_per_order < 10.0 && res[1].us_per_order < 10.0;
    printf("routing: ratio %ld/%ld rules: %.2f (targets: ratio under 3, under 10 us/order: %s)\n",
           large, small, ratio, met ? "met" : "NOT met");
    if (keep)
        printf("rule files kept: %s %s\n", paths[0], paths[1]);
    rc = strict && !met ? 1 : 0;
out:
    if (!keep && dir[0]) {
        for (int s = 0; s < 2; s++)
            if (paths[s][0])
                unlink(paths[s]);
        rmdir(dir);
    }
    for (size_t i = 0; i < norders; i++)
        orderbus__v1__work_order__free_unpacked(orders[i], NULL);
    free(orders);
    free(words);
    s_taxonomy_free(&tax);
    return rc;
}
