/*  ob_modelbench.c — what the routing model costs: per-order prediction
    (title + 1 KiB of content, the top 3 labels as the router asks for
    them), explain, model load time and memory.

    The model is a file given with --model, or trained here on --train
    (CSV or JSON Lines, as `orderbus rules learn` reads them) with the
    shipped parameters and written to --keep, if given. The orders are
    real: the title and content of each line of --orders (the demo data,
    deploy/data/tipdm_demo.jsonl), each content repeated or cut to exactly
    1 KiB (at a character boundary). Each figure is the median over rounds
    of --seconds of work, per order. Prints

        model: FILE (version V): L labels, R features, S MiB on disk
        model load: X ms (median of N), memory Y MiB (model) / Z MiB (process RSS grew)
        model predict: X us/order (title + 1 KiB content, top 3; N orders x R rounds)
        model explain: X us/order (8 n-grams)

    Usage: ob_modelbench (--model FILE | --train FILE [--keep FILE])
                         [--orders FILE.jsonl] [--seconds S] [--strict]
    --strict: exit 1 when prediction takes 50 us/order or more.            */
#include "ob_common.h"
#include "ob_json.h"
#include "ob_textclass.h"
#include "ob_trainset.h"
#include "ob_util.h"
#include <getopt.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <sodium.h>
#include <unistd.h>

#define S_CONTENT_BYTES 1024
#define S_MAX_ROUNDS    4096
#define S_PREDICT_MAX_US 50.0

typedef struct {
    char *title;
    char *content;   /* exactly S_CONTENT_BYTES of UTF-8, or a little less */
} s_order_t;

static int s_by_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double s_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, s_by_double);
    return n ? v[n / 2] : 0;
}

/* Resident set size in KiB (from /proc/self/statm), 0 if unknown. */
static size_t s_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (size_t) sysconf(_SC_PAGESIZE) / 1024;
}

/* `text` repeated until S_CONTENT_BYTES, cut back to a character boundary. */
static char *s_kib_of(const char *text)
{
    size_t len = strlen(text);
    char *out = malloc(S_CONTENT_BYTES + 1);
    if (!out)
        return NULL;
    if (len == 0)
        text = "内容", len = strlen(text);
    size_t o = 0;
    while (o < S_CONTENT_BYTES) {
        size_t n = len < S_CONTENT_BYTES - o ? len : S_CONTENT_BYTES - o;
        memcpy(out + o, text, n);
        o += n;
    }
    while (o > 0 && ((unsigned char) out[o - 1] & 0xC0) == 0x80)
        o--;   /* inside a sequence: back to its lead byte, then drop it */
    if (o > 0 && ((unsigned char) out[o - 1] & 0x80))
        o--;
    out[o] = '\0';
    return out;
}

/* The orders of a JSON Lines file. Returns how many, 0 after a message. */
static size_t s_read_orders(const char *path, s_order_t **out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ob_modelbench: cannot open '%s': %s\n", path, strerror(errno));
        return 0;
    }
    s_order_t *orders = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t got;
    while ((got = getline(&line, &linecap, f)) > 0) {
        json_t *o = json_loadb(line, (size_t) got, 0, NULL);
        const char *title = json_string_value(json_object_get(o, "title"));
        const char *content = json_string_value(json_object_get(o, "content"));
        if (o && title && content) {
            if (n == cap) {
                cap = cap ? 2 * cap : 512;
                s_order_t *grown = realloc(orders, cap * sizeof *grown);
                if (!grown)
                    break;
                orders = grown;
            }
            orders[n].title = strdup(title);
            orders[n].content = s_kib_of(content);
            if (orders[n].title && orders[n].content)
                n++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    *out = orders;
    if (!n)
        fprintf(stderr, "ob_modelbench: no orders in '%s'\n", path);
    return n;
}

static void s_quiet(void *arg, size_t line, const char *message)
{
    fprintf(stderr, "%s:%zu: %s\n", (const char *) arg, line, message);
}

/* Trains the shipped parameters on `path`, saves to `keep` (or a temporary
   file). Returns the path of the model file (static), NULL after a message. */
static const char *s_train(const char *path, const char *keep)
{
    static char tmp[] = "/tmp/ob_modelbench.XXXXXX";
    char err[512];
    ob_trainset_t *set = ob_trainset_read(path, NULL, s_quiet, (void *) path);
    if (!set)
        return NULL;
    ob_textclass_params_t params;
    ob_textclass_params_default(&params);
    uint64_t t0 = ob_mono_us();
    ob_textclass_t *m = ob_textclass_train(ob_trainset_docs(set), ob_trainset_count(set),
                                           &params, err, sizeof err);
    double secs = (double) (ob_mono_us() - t0) / 1e6;
    size_t n = ob_trainset_count(set);
    ob_trainset_destroy(&set);
    if (!m) {
        fprintf(stderr, "ob_modelbench: %s\n", err);
        return NULL;
    }
    if (!keep) {
        int fd = mkstemp(tmp);
        if (fd < 0)
            return NULL;
        close(fd);
    }
    const char *out = keep ? keep : tmp;
    int rc = ob_textclass_save(m, out, err, sizeof err);
    ob_textclass_destroy(&m);
    if (rc != 0) {
        fprintf(stderr, "ob_modelbench: %s\n", err);
        return NULL;
    }
    printf("model trained: %zu texts of %s in %.1f s\n", n, path, secs);
    return out;
}

/* Median per-order time in us of predicting (or explaining) every order,
   round after round for `seconds`. */
static double s_time(ob_textclass_t *m, const s_order_t *orders, size_t n, double seconds,
                     bool explain, size_t *rounds_out)
{
    static double per[S_MAX_ROUNDS];
    size_t rounds = 0;
    uint64_t end = ob_mono_us() + (uint64_t) (seconds * 1e6);
    volatile double sink = 0;
    do {
        uint64_t t0 = ob_mono_us();
        for (size_t i = 0; i < n; i++) {
            if (explain) {
                ob_textclass_gram_t g[8];
                sink += (double) ob_textclass_explain(m, orders[i].title, orders[i].content,
                                                      NULL, g, 8);
            } else {
                ob_textclass_guess_t g[3];
                ob_textclass_predict(m, orders[i].title, orders[i].content, g, 3);
                sink += g[0].prob;
            }
        }
        per[rounds++] = (double) (ob_mono_us() - t0) / (double) n;
    } while (rounds < S_MAX_ROUNDS && ob_mono_us() < end);
    (void) sink;
    *rounds_out = rounds;
    return s_median(per, rounds);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},  {"train", required_argument, NULL, 't'},
        {"keep", required_argument, NULL, 'k'},   {"orders", required_argument, NULL, 'o'},
        {"seconds", required_argument, NULL, 's'}, {"strict", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    const char *model_path = NULL, *train = NULL, *keep = NULL;
    const char *orders_path = "deploy/data/tipdm_demo.jsonl";
    double seconds = 1;
    bool strict = false;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 't': train = optarg; break;
        case 'k': keep = optarg; break;
        case 'o': orders_path = optarg; break;
        case 's': seconds = atof(optarg); break;
        case 'S': strict = true; break;
        default:
            fprintf(stderr, "usage: ob_modelbench (--model FILE | --train FILE [--keep FILE]) "
                            "[--orders FILE.jsonl] [--seconds S] [--strict]\n");
            return EX_USAGE;
        }
    }
    if (!model_path == !train || sodium_init() < 0) {
        fprintf(stderr, "ob_modelbench: give one of --model FILE or --train FILE\n");
        return EX_USAGE;
    }
    if (train && !(model_path = s_train(train, keep)))
        return EX_DATAERR;
    s_order_t *orders = NULL;
    size_t n = s_read_orders(orders_path, &orders);
    if (!n)
        return EX_NOINPUT;

    /* load: the median of several, the memory of one */
    char err[512];
    double load_ms[32];
    size_t loads = 0, rss0 = s_rss_kib();
    ob_textclass_t *m = NULL;
    for (; loads < 32; loads++) {
        ob_textclass_destroy(&m);
        uint64_t t0 = ob_mono_us();
        m = ob_textclass_load(model_path, err, sizeof err);
        load_ms[loads] = (double) (ob_mono_us() - t0) / 1000.0;
        if (!m) {
            fprintf(stderr, "ob_modelbench: %s\n", err);
            return EX_DATAERR;
        }
        if (loads >= 4 && load_ms[0] * (double) (loads + 1) > 2000)
            break;   /* enough for a median of a slow load */
    }
    if (loads == 32)
        loads--;
    size_t rss = s_rss_kib();
    struct stat st;
    size_t disk = stat(model_path, &st) == 0 ? (size_t) st.st_size : 0;
    printf("model: %s (version %s): %zu labels, %zu texts, %.1f MiB on disk\n", model_path,
           ob_textclass_version(m), ob_textclass_labels_count(m), ob_textclass_docs(m),
           (double) disk / 1048576.0);
    printf("model load: %.1f ms (median of %zu), memory %.1f MiB (model), process RSS %.1f "
           "MiB -> %.1f MiB\n",
           s_median(load_ms, loads + 1), loads + 1,
           (double) ob_textclass_memory(m) / 1048576.0, (double) rss0 / 1024.0,
           (double) rss / 1024.0);
    size_t rounds;
    double us = s_time(m, orders, n, seconds, false, &rounds);
    printf("model predict: %.1f us/order (title + 1 KiB content, top 3; %zu orders x %zu "
           "rounds)\n", us, n, rounds);
    double ex = s_time(m, orders, n, seconds / 2, true, &rounds);
    printf("model explain: %.1f us/order (8 n-grams)\n", ex);
    ob_textclass_destroy(&m);
    if (train && !keep)
        unlink(model_path);
    for (size_t i = 0; i < n; i++) {
        free(orders[i].title);
        free(orders[i].content);
    }
    free(orders);
    if (strict && us >= S_PREDICT_MAX_US) {
        fprintf(stderr, "ob_modelbench: %.1f us/order, the target is under %.0f\n", us,
                S_PREDICT_MAX_US);
        return 1;
    }
    return 0;
}
