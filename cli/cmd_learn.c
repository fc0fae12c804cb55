/*  cmd_learn.c — `orderbus rules learn`: train the routing model
    (lib/ob_textclass) on labelled texts from a CSV or JSON Lines file, or
    on the closed orders of a broker's store, choose its abstention
    threshold by grouped k-fold cross-validation for a target misroute
    rate, report what that threshold does, and write the model file.

    Honest figures. Texts that are the same message posted again (same
    subject or same body, whitespace aside) form one group, and a group is
    never split across folds: a model is never scored on a copy of what it
    was trained on. Groups are dealt to folds by label (stratified), in a
    fixed order that does not depend on the file's. Every text is scored once, by the model of the folds it
    is not in. The threshold reported for fold i is chosen on the other
    folds' predictions only (nested), so the right / misrouted / manual
    figures are those of the whole procedure on texts it never saw; the
    threshold written into the model is then chosen on all of them.     */
#include "cli.h"
#include "ob_rules.h"
#include "ob_store.h"
#include "ob_textclass.h"
#include "ob_trainset.h"
#include "ob_util.h"
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_FOLDS_DEFAULT 5
#define S_FOLDS_MAX     20
#define S_SUGGESTIONS   3

static const char s_learn_usage[] =
    "NAME\n"
    "    orderbus rules learn - train the routing model on labelled complaints\n"
    "\n"
    "SYNOPSIS\n"
    "    orderbus rules learn --from FILE.csv|FILE.jsonl [--label-column C] --out MODEL\n"
    "    orderbus rules learn --from-store DIR [--exclude-returned] --out MODEL\n"
    "        [--target-misroute R] [--folds K] [--labels L1,L2,...] [--min-per-label N]\n"
    "        [--title-column C] [--content-column C] [--ngram MIN-MAX] [--bits B]\n"
    "        [--title-weight W] [--cost C] [--rules FILE] [--confusion] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Trains a character n-gram logistic regression (docs/RULES.md, \"The routing\n"
    "    model\") and writes it to MODEL (replaced atomically). The model predicts\n"
    "    the label column of the training data: a category or a department.\n"
    "\n"
    "    --from FILE      CSV with a header row (quoted fields may hold commas and line\n"
    "                     breaks) or JSON Lines (.jsonl). Text columns: subject|title|\n"
    "                     留言主题 and body|content|留言详情; the label: label.\n"
    "    --from-store DIR the closed orders of a broker's store (stop nothing: it is\n"
    "                     read in one read transaction), labelled by the department\n"
    "                     whose reply was accepted. --exclude-returned leaves out the\n"
    "                     orders some department returned before another took them.\n"
    "    --label-column C, --title-column C, --content-column C  other column names.\n"
    "    --labels L,...   only these labels are allowed; any other is a problem.\n"
    "    --min-per-label N  a label with fewer examples is a problem (default: K).\n"
    "    --target-misroute R  the share of all orders the model may misroute (default\n"
    "                     0.04); the threshold is the lowest that keeps to it.\n"
    "    --folds K        grouped cross-validation folds, 2..20 (default 5).\n"
    "    --ngram, --bits, --title-weight, --cost  features and regularisation (1-2,\n"
    "                     18, 2, 100: the best of `make routing-eval` on TipDM).\n"
    "    --rules FILE     the model will sit behind these rules: choose the threshold\n"
    "                     and measure on the texts no rule of FILE decides (their\n"
    "                     title and content, without a category).\n"
    "    --confusion      also print the confusion table at the threshold.\n"
    "    --out MODEL      where to write the model (without it: evaluate only).\n"
    "\n"
    "    Problems in the training data are printed as FILE:LINE: error: MESSAGE, with\n"
    "    what to do; nothing is trained then (exit 65).\n";

typedef struct {
    const char *from, *from_store, *out;
    ob_trainset_opts_t set;
    double target;
    long folds;
    ob_textclass_params_t params;
    bool json, confusion, exclude_returned;
    const char *rules;       /* --rules FILE: measure on what its rules leave undecided */
    char *labels_buf;        /* --labels, split in place */
    const char **known;
} s_learn_t;

/* One text's out-of-fold prediction. */
typedef struct {
    int fold;
    bool counted;                  /* scored (with --rules: no rule decides it) */
    size_t truth;                  /* index into the label list */
    size_t guess[S_SUGGESTIONS];   /* most probable first */
    double prob[S_SUGGESTIONS];
    size_t n_guess;
} s_oof_t;

/* Right / misrouted / manual counts at a threshold. */
typedef struct {
    size_t right, misrouted, manual, total;
} s_tally_t;

/* ---- options ----------------------------------------------------------------------- */

/* --labels L1,L2,...: split at commas into the s_learn_t's known labels. */
static int s_opt_labels(const char *cmd, const char *opt, const char *arg, void *value)
{
    s_learn_t *self = value;
    free(self->labels_buf);
    free(self->known);
    self->labels_buf = strdup(arg);
    self->known = calloc(strlen(arg) / 2 + 2, sizeof *self->known);
    if (!self->labels_buf || !self->known)
        return EX_OSERR;
    size_t n = 0;
    for (char *p = self->labels_buf, *save = NULL, *tok; (tok = strtok_r(p, ",", &save));
         p = NULL)
        self->known[n++] = tok;
    self->set.known = self->known;
    self->set.n_known = n;
    return n ? 0 : cli_usage_error(cmd, "option '%s' names no label", opt);
}

/* A number in [min, max] into *out; 0 or EX_USAGE after a message. */
static int s_opt_double(const char *cmd, const char *opt, const char *arg, double min,
                        double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !(v >= min && v <= max))
        return cli_usage_error(cmd, "option '%s' wants a number from %g to %g, not '%s'", opt,
                               min, max, arg);
    *out = v;
    return 0;
}

/* --target-misroute and --threshold: a share of orders or a probability */
static int s_opt_share(const char *cmd, const char *opt, const char *arg, void *value)
{
    return s_opt_double(cmd, opt, arg, 0, 1, value);
}

static int s_opt_title_weight(const char *cmd, const char *opt, const char *arg, void *value)
{
    return s_opt_double(cmd, opt, arg, 0.01, 100, value);
}

static int s_opt_cost(const char *cmd, const char *opt, const char *arg, void *value)
{
    return s_opt_double(cmd, opt, arg, 1e-4, 1e6, value);
}

/* --ngram MIN-MAX into the parameters */
static int s_opt_ngram(const char *cmd, const char *opt, const char *arg, void *value)
{
    ob_textclass_params_t *params = value;
    unsigned a, b;
    char extra;
    if (sscanf(arg, "%u-%u%c", &a, &b, &extra) != 2 || a < 1 || b > 5 || a > b)
        return cli_usage_error(cmd, "option '%s' wants MIN-MAX with 1 <= MIN <= MAX <= 5, not "
                                    "'%s'", opt, arg);
    params->ngram_min = a;
    params->ngram_max = b;
    return 0;
}

/* The options of `rules learn` (argv[0] "learn"). 0, CLI_HELP_SHOWN, or
   EX_USAGE after a message. */
static int s_parse_opts(s_learn_t *self, int argc, char **argv)
{
    static const char cmd[] = "rules learn";
    long min = 0, bits = self->params.bits;
    const cli_option_t spec[] = {
        CLI_OPT_STRING("from", &self->from),
        CLI_OPT_STRING("from-store", &self->from_store),
        CLI_OPT_STRING("label-column", &self->set.label_column),
        CLI_OPT_STRING("title-column", &self->set.title_column),
        CLI_OPT_STRING("content-column", &self->set.content_column),
        CLI_OPT_CALLBACK("labels", self, s_opt_labels),
        CLI_OPT_LONG("min-per-label", &min, 1, 1000000),
        CLI_OPT_CALLBACK("target-misroute", &self->target, s_opt_share),
        CLI_OPT_LONG("folds", &self->folds, 2, S_FOLDS_MAX),
        CLI_OPT_CALLBACK("ngram", &self->params, s_opt_ngram),
        CLI_OPT_LONG("bits", &bits, 10, 24),
        CLI_OPT_CALLBACK("title-weight", &self->params.title_weight, s_opt_title_weight),
        CLI_OPT_CALLBACK("cost", &self->params.C, s_opt_cost),
        CLI_OPT_STRING("rules", &self->rules),
        CLI_OPT_BOOL("exclude-returned", &self->exclude_returned),
        CLI_OPT_BOOL("confusion", &self->confusion),
        CLI_OPT_STRING("out", &self->out),
        CLI_OPT_BOOL("json", &self->json),
        CLI_OPT_END(),
    };
    int rc = cli_parse(cmd, s_learn_usage, spec, &argc, &argv);
    if (rc == 0)
        rc = cli_no_operand(cmd, argc, argv);
    if (rc != 0)
        return rc;
    self->params.bits = (unsigned) bits;
    if (!self->from == !self->from_store)
        return cli_usage_error(cmd, "give one of --from FILE or --from-store DIR");
    if (self->from_store && (self->set.label_column || self->set.title_column
                             || self->set.content_column))
        return cli_usage_error(cmd, "column names are for --from; a store's label is the "
                                    "department");
    if (self->exclude_returned && !self->from_store)
        return cli_usage_error(cmd, "--exclude-returned is for --from-store");
    self->set.min_per_label = min > 0 ? (size_t) min : (size_t) self->folds;
    return 0;
}

/* ---- the training data ---------------------------------------------------------------- */

typedef struct {
    const char *file;
} s_diag_ctx_t;

static void s_print_problem(void *arg, size_t line, const char *message)
{
    const s_diag_ctx_t *ctx = arg;
    if (line)
        fprintf(stderr, "%s:%zu: error: %s\n", ctx->file, line, message);
    else
        fprintf(stderr, "%s: error: %s\n", ctx->file, message);
}

/* Adds one order of the store to the set when it is one to learn from:
   closed (or archived after closing), with the department whose reply was
   accepted. Returns 1 taken, 0 left out, -1 out of memory. */
static int s_take_order(ob_trainset_t *set, const ob_record_t *rec, bool exclude_returned,
                        size_t n)
{
    if (rec->state != ORDERBUS__V1__ORDER_STATE__STATE_CLOSED
        && rec->state != ORDERBUS__V1__ORDER_STATE__STATE_ARCHIVED)
        return 0;
    if (!rec->order || !rec->dept || !rec->dept[0] || rec->replied_at_ms == 0)
        return 0;
    if (exclude_returned && (rec->return_count > 0 || rec->n_tried_depts > 0))
        return 0;
    /* the label names the record: "line" n is the n-th order read */
    return ob_trainset_add(set, rec->order->title, rec->order->content, rec->dept, n) == 0
               ? 1 : -1;
}

/* Reads the closed orders of the broker's store in `dir`. Returns the set
   (NULL with a message) and the counts read and taken. */
static ob_trainset_t *s_read_store(const char *dir, bool exclude_returned, size_t *read)
{
    char err[512], data[4200];
    struct stat st;
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    if (stat(data, &st) != 0) {
        fprintf(stderr, "orderbus rules learn: no broker store in '%s'\n", dir);
        return NULL;
    }
    ob_store_t *store = ob_store_open(dir, OB_STORE_BROKER, 0, err, sizeof err);
    if (!store) {
        fprintf(stderr, "orderbus rules learn: %s\n", err);
        return NULL;
    }
    ob_trainset_t *set = ob_trainset_new();
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    bool ok = false;
    int rc = set ? ob_store_begin(store, false, &txn) : ENOMEM;
    if (rc == 0)
        rc = mdb_cursor_open(txn, ob_store_dbi(store, OB_DB_ORDERS), &cur);
    *read = 0;
    for (int op = MDB_FIRST; rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        (*read)++;
        ob_record_t *rec = orderbus__v1__order_record__unpack(NULL, v.mv_size, v.mv_data);
        if (!rec) {
            fprintf(stderr, "orderbus rules learn: order %zu of the store does not unpack: "
                            "skipped\n", *read);
            continue;
        }
        int taken = s_take_order(set, rec, exclude_returned, *read);
        orderbus__v1__order_record__free_unpacked(rec, NULL);
        if (taken < 0)
            rc = ENOMEM;
    }
    if (rc == MDB_NOTFOUND)
        ok = true;
    else
        fprintf(stderr, "orderbus rules learn: cannot read store '%s': %s\n", dir,
                ob_store_strerror(rc));
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    ob_store_destroy(&store);
    if (!ok)
        ob_trainset_destroy(&set);
    return set;
}

/* The training set of the options; NULL after printing the problems. */
static ob_trainset_t *s_load(const s_learn_t *self, int *exit_code)
{
    s_diag_ctx_t ctx = {self->from ? self->from : self->from_store};
    *exit_code = EX_DATAERR;
    if (self->from) {
        if (access(self->from, R_OK) != 0) {
            fprintf(stderr, "orderbus rules learn: cannot open '%s': %s\n", self->from,
                    strerror(errno));
            *exit_code = EX_NOINPUT;
            return NULL;
        }
        return ob_trainset_read(self->from, &self->set, s_print_problem, &ctx);
    }
    size_t read = 0;
    ob_trainset_t *set = s_read_store(self->from_store, self->exclude_returned, &read);
    if (!set) {
        *exit_code = EX_NOINPUT;
        return NULL;
    }
    fprintf(stderr, "orderbus rules learn: %zu of %zu orders of '%s' are closed with an "
                    "accepted reply%s\n",
            ob_trainset_count(set), read, self->from_store,
            self->exclude_returned ? " and were never returned" : "");
    if (ob_trainset_check(set, &self->set, s_print_problem, &ctx) != 0)
        ob_trainset_destroy(&set);
    return set;
}

/* ---- groups and folds ------------------------------------------------------------------ */

/* A text with whitespace, '*' and U+3000 / U+00A0 left out: reposts of
   one message often differ only in those. malloc'd. */
static char *s_squeeze(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *) s; *p;) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '*')
            p++;
        else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
            p += 3;
        else if (p[0] == 0xC2 && p[1] == 0xA0)
            p += 2;
        else
            out[o++] = (char) *p++;
    }
    out[o] = '\0';
    return out;
}

static size_t s_find(size_t *parent, size_t i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

typedef struct {
    char *key;
    size_t doc;
} s_key_t;

static int s_by_key(const void *a, const void *b)
{
    const s_key_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->doc > y->doc) - (x->doc < y->doc);
}

/* A fixed scramble of a group's first index: the order groups are dealt
   to folds in, the same on every run. */
static uint64_t s_scramble(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    return x ^ (x >> 33);
}

typedef struct {
    const char *label;   /* of the group's first text */
    uint64_t order;      /* s_scramble of its index */
    size_t root;
} s_group_t;

static int s_by_label_order(const void *a, const void *b)
{
    const s_group_t *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Unites the texts that share a subject or a body (see s_squeeze); the
   smaller index is the root, so a group's root is its first text.
   Returns 0 or -1 (out of memory). */
static int s_group(const ob_textclass_doc_t *docs, size_t n, size_t *parent)
{
    s_key_t *keys = calloc(2 * n, sizeof *keys);
    bool ok = keys != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        parent[i] = i;
        keys[2 * i] = (s_key_t) {s_squeeze(docs[i].title), i};
        keys[2 * i + 1] = (s_key_t) {s_squeeze(docs[i].content), i};
        ok = keys[2 * i].key && keys[2 * i + 1].key;
    }
    if (ok) {
        qsort(keys, 2 * n, sizeof *keys, s_by_key);
        for (size_t j = 1; j < 2 * n; j++)
            if (keys[j].key[0] && strcmp(keys[j].key, keys[j - 1].key) == 0) {
                size_t a = s_find(parent, keys[j].doc), b = s_find(parent, keys[j - 1].doc);
                parent[a > b ? a : b] = a < b ? a : b;
            }
    }
    for (size_t j = 0; keys && j < 2 * n; j++)
        free(keys[j].key);
    free(keys);
    return ok ? 0 : -1;
}

/* Assigns each text a fold: a group of reposts (s_group) stays in one
   fold; the groups, sorted by the label of their first text and then in a
   fixed scrambled order, are dealt to the folds in turn (stratified by
   label, and blind to the order of the file). Returns the number of
   groups, 0 when out of memory. */
static size_t s_assign_folds(const ob_textclass_doc_t *docs, size_t n, int folds, s_oof_t *oof)
{
    size_t *parent = malloc((n ? n : 1) * sizeof *parent), groups = 0;
    s_group_t *g = malloc((n ? n : 1) * sizeof *g);
    int *fold_of = malloc((n ? n : 1) * sizeof *fold_of);
    bool ok = parent && g && fold_of && s_group(docs, n, parent) == 0;
    for (size_t i = 0; ok && i < n; i++)
        if (s_find(parent, i) == i)
            g[groups++] = (s_group_t) {docs[i].label, s_scramble(i), i};
    if (ok) {
        qsort(g, groups, sizeof *g, s_by_label_order);
        for (size_t j = 0; j < groups; j++)
            fold_of[g[j].root] = (int) (j % (size_t) folds);
        for (size_t i = 0; i < n; i++)
            oof[i].fold = fold_of[s_find(parent, i)];
    }
    free(parent);
    free(g);
    free(fold_of);
    return ok ? groups : 0;
}

/* ---- cross-validation ---------------------------------------------------------------- */

static int s_by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The distinct labels, in byte order (the model's order), into *labels
   (malloc'd, strings borrowed). Returns how many; 0 when out of memory. */
static size_t s_labels(const ob_textclass_doc_t *docs, size_t n, const char ***labels)
{
    const char **all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return 0;
    for (size_t i = 0; i < n; i++)
        all[i] = docs[i].label;
    qsort(all, n, sizeof *all, s_by_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(all[i], all[k - 1]) != 0)
            all[k++] = all[i];
    *labels = all;
    return k;
}

static size_t s_label_index(const char **labels, size_t n, const char *label)
{
    const char **hit = bsearch(&label, labels, n, sizeof *labels, s_by_str);
    return hit ? (size_t) (hit - labels) : SIZE_MAX;
}

/* Trains on every fold but `fold` and predicts the texts of `fold` into
   oof[]. Returns 0, or -1 after printing why. */
static int s_run_fold(const s_learn_t *self, const ob_textclass_doc_t *docs, size_t n,
                      s_oof_t *oof, int fold, const char **labels, size_t n_labels)
{
    ob_textclass_doc_t *train = malloc(n * sizeof *train);
    if (!train)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (oof[i].fold != fold)
            train[m++] = docs[i];
    char err[256];
    uint64_t t0 = ob_mono_us();
    ob_textclass_t *model = ob_textclass_train(train, m, &self->params, err, sizeof err);
    free(train);
    if (!model) {
        fprintf(stderr, "orderbus rules learn: fold %d: %s\n", fold + 1, err);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (oof[i].fold != fold)
            continue;
        ob_textclass_guess_t g[S_SUGGESTIONS];
        oof[i].n_guess = ob_textclass_predict(model, docs[i].title, docs[i].content, g,
                                              S_SUGGESTIONS);
        for (size_t k = 0; k < oof[i].n_guess; k++) {
            oof[i].guess[k] = s_label_index(labels, n_labels, g[k].label);
            oof[i].prob[k] = g[k].prob;
        }
    }
    if (!self->json)
        fprintf(stderr, "orderbus rules learn: fold %d/%ld: trained on %zu texts in %.1f s\n",
                fold + 1, self->folds, m, (double) (ob_mono_us() - t0) / 1e6);
    ob_textclass_destroy(&model);
    return 0;
}

/* Whether text i is counted: in `fold` (-1: every text), or in every fold
   but `fold` when `others`. */
static bool s_counted(const s_oof_t *o, int fold, bool others)
{
    if (!o->counted)
        return false;
    return fold < 0 || (others ? o->fold != fold : o->fold == fold);
}

static int s_by_prob_desc(const void *a, const void *b, void *arg)
{
    const s_oof_t *oof = arg;
    double x = oof[*(const size_t *) a].prob[0], y = oof[*(const size_t *) b].prob[0];
    return (x < y) - (x > y);
}

/* The lowest threshold at which the counted texts' misrouted share stays
   at or under `target`: the model routes when its top probability is at
   least the threshold. 1 when even the surest text is misrouted. */
static double s_choose_threshold(const s_oof_t *oof, size_t n, int fold, bool others,
                                 double target)
{
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    size_t m = 0, wrong = 0;
    double best = 1.0;
    if (!order)
        return 1.0;
    for (size_t i = 0; i < n; i++)
        if (s_counted(&oof[i], fold, others) && oof[i].n_guess)
            order[m++] = i;
    qsort_r(order, m, sizeof *order, s_by_prob_desc, (void *) oof);
    for (size_t j = 0; j < m; j++) {
        const s_oof_t *o = &oof[order[j]];
        wrong += o->guess[0] != o->truth;
        /* route all down to this probability only with its ties */
        if (j + 1 < m && oof[order[j + 1]].prob[0] == o->prob[0])
            continue;
        if ((double) wrong > target * (double) m)
            break;
        best = o->prob[0];
    }
    free(order);
    /* stored as float: round down so the texts at the threshold stay routed */
    float f = (float) best;
    if ((double) f > best)
        f = nextafterf(f, 0.0f);
    return f;
}

static s_tally_t s_tally(const s_oof_t *oof, size_t n, int fold, double threshold)
{
    s_tally_t t = {0};
    for (size_t i = 0; i < n; i++) {
        if (!s_counted(&oof[i], fold, false))
            continue;
        t.total++;
        if (!oof[i].n_guess || oof[i].prob[0] < threshold)
            t.manual++;
        else if (oof[i].guess[0] == oof[i].truth)
            t.right++;
        else
            t.misrouted++;
    }
    return t;
}

static double s_pct(size_t a, size_t b)
{
    return b ? 100.0 * (double) a / (double) b : 0;
}

/* ---- the report ---------------------------------------------------------------------- */

/* What cross-validation found, in one place for text and JSON. */
typedef struct {
    size_t n, n_labels, groups;
    size_t counted;              /* texts scored (all, or those --rules leaves undecided) */
    const char **labels;
    double threshold;            /* chosen on every out-of-fold prediction */
    double right, misrouted, manual;           /* nested, mean over folds */
    double fold_min[3], fold_max[3];           /* right, misrouted, manual */
    s_tally_t pooled;            /* every text at `threshold` */
    double top1;                 /* right when never abstaining */
    double manual_top3;          /* manual texts whose label is in the suggestions */
} s_figures_t;

static const double s_curve[] = {0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};

static void s_compute(const s_learn_t *self, const s_oof_t *oof, s_figures_t *f)
{
    double sum[3] = {0};
    for (int k = 0; k < 3; k++) {
        f->fold_min[k] = 100;
        f->fold_max[k] = 0;
    }
    for (int fold = 0; fold < self->folds; fold++) {
        double t = s_choose_threshold(oof, f->n, fold, true, self->target);
        s_tally_t tl = s_tally(oof, f->n, fold, t);
        double v[3] = {s_pct(tl.right, tl.total), s_pct(tl.misrouted, tl.total),
                       s_pct(tl.manual, tl.total)};
        for (int k = 0; k < 3; k++) {
            sum[k] += v[k];
            f->fold_min[k] = v[k] < f->fold_min[k] ? v[k] : f->fold_min[k];
            f->fold_max[k] = v[k] > f->fold_max[k] ? v[k] : f->fold_max[k];
        }
    }
    f->right = sum[0] / (double) self->folds;
    f->misrouted = sum[1] / (double) self->folds;
    f->manual = sum[2] / (double) self->folds;
    f->threshold = s_choose_threshold(oof, f->n, -1, false, self->target);
    f->pooled = s_tally(oof, f->n, -1, f->threshold);
    s_tally_t all = s_tally(oof, f->n, -1, 0);
    f->top1 = s_pct(all.right, all.total);
    size_t manual = 0, hit = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (!oof[i].counted || (oof[i].n_guess && oof[i].prob[0] >= f->threshold))
            continue;
        manual++;
        for (size_t k = 0; k < oof[i].n_guess; k++)
            hit += oof[i].guess[k] == oof[i].truth;
    }
    f->manual_top3 = s_pct(hit, manual);
}

/* The confusion table at the threshold: a row per true label, a column
   per predicted label and one for manual. */
static void s_print_confusion(const s_oof_t *oof, const s_figures_t *f)
{
    size_t cols = f->n_labels + 2;
    const char **head = calloc(cols, sizeof *head);
    size_t *count = calloc(f->n_labels * (f->n_labels + 1), sizeof *count);
    cli_table_t *table = NULL;
    if (!head || !count)
        goto out;
    head[0] = "truth \\ routed to";
    for (size_t c = 0; c < f->n_labels; c++)
        head[c + 1] = f->labels[c];
    head[cols - 1] = "manual";
    table = cli_table_new(cols, head);
    if (!table)
        goto out;
    for (size_t i = 0; i < f->n; i++) {
        if (!oof[i].counted)
            continue;
        bool manual = !oof[i].n_guess || oof[i].prob[0] < f->threshold;
        size_t col = manual || oof[i].guess[0] >= f->n_labels ? f->n_labels : oof[i].guess[0];
        count[oof[i].truth * (f->n_labels + 1) + col]++;
    }
    for (size_t r = 0; r < f->n_labels; r++) {
        char cells[OB_TEXTCLASS_CLASSES_MAX + 1][16];
        const char *row[OB_TEXTCLASS_CLASSES_MAX + 2];
        row[0] = f->labels[r];
        for (size_t c = 0; c <= f->n_labels && c <= OB_TEXTCLASS_CLASSES_MAX; c++) {
            snprintf(cells[c], sizeof cells[c], "%zu", count[r * (f->n_labels + 1) + c]);
            row[c + 1] = cells[c];
        }
        cli_table_add(table, row);
    }
    for (size_t c = 1; c < cols; c++)
        cli_table_align(table, c, true, 0);
    printf("\nconfusion at threshold %.3f (every text scored by a model that never saw it):\n",
           f->threshold);
    cli_table_print(table, stdout);
out:
    cli_table_destroy(&table);
    free(head);
    free(count);
}

static void s_print_text(const s_learn_t *self, const s_oof_t *oof, const s_figures_t *f)
{
    printf("data:       %s: %zu texts, %zu labels, %zu groups (reposts kept together), "
           "%ld folds\n",
           self->from ? self->from : self->from_store, f->n, f->n_labels, f->groups,
           self->folds);
    if (self->rules)
        printf("rules:      %s decide %zu texts; the figures are of the %zu they leave to the "
               "model\n", self->rules, f->n - f->counted, f->counted);
    printf("cross-validated, target %.1f%% misrouted (threshold chosen on the other folds):\n",
           100 * self->target);
    printf("  right %.1f%%  misrouted %.1f%%  manual %.1f%%   (folds: right %.1f-%.1f%%, "
           "misrouted %.1f-%.1f%%)\n",
           f->right, f->misrouted, f->manual, f->fold_min[0], f->fold_max[0], f->fold_min[1],
           f->fold_max[1]);
    printf("  never abstaining: %.1f%% right; manual orders with the right label among the "
           "top %d suggestions: %.1f%%\n",
           f->top1, S_SUGGESTIONS, f->manual_top3);
    printf("threshold:  %.3f (on all out-of-fold predictions: right %.1f%%  misrouted %.1f%%  "
           "manual %.1f%%)\n",
           f->threshold, s_pct(f->pooled.right, f->pooled.total),
           s_pct(f->pooled.misrouted, f->pooled.total), s_pct(f->pooled.manual, f->pooled.total));
    printf("curve:      threshold   right  misrouted  manual\n");
    for (size_t i = 0; i < sizeof s_curve / sizeof s_curve[0]; i++) {
        s_tally_t t = s_tally(oof, f->n, -1, s_curve[i]);
        printf("            %9.2f  %5.1f%%  %8.1f%%  %5.1f%%\n", s_curve[i],
               s_pct(t.right, t.total), s_pct(t.misrouted, t.total), s_pct(t.manual, t.total));
    }
    if (self->confusion)
        s_print_confusion(oof, f);
}

static json_t *s_figures_json(const s_learn_t *self, const s_oof_t *oof, const s_figures_t *f)
{
    json_t *labels = json_array(), *curve = json_array();
    for (size_t c = 0; c < f->n_labels; c++)
        json_array_append_new(labels, json_string(f->labels[c]));
    for (size_t i = 0; i < sizeof s_curve / sizeof s_curve[0]; i++) {
        s_tally_t t = s_tally(oof, f->n, -1, s_curve[i]);
        json_array_append_new(curve, json_pack("{s:f, s:f, s:f, s:f}", "threshold", s_curve[i],
                                               "right", s_pct(t.right, t.total), "misrouted",
                                               s_pct(t.misrouted, t.total), "manual",
                                               s_pct(t.manual, t.total)));
    }
    return json_pack("{s:I, s:o, s:I, s:i, s:f, s:f, s:{s:f, s:f, s:f}, s:f, s:f, s:o}",
                     "texts", (json_int_t) f->n, "labels", labels, "groups",
                     (json_int_t) f->groups, "folds", (int) self->folds, "target",
                     self->target, "threshold", f->threshold, "cv", "right", f->right,
                     "misrouted", f->misrouted, "manual", f->manual, "top1", f->top1,
                     "manual_top3", f->manual_top3, "curve", curve);
}

/* ---- entry --------------------------------------------------------------------------- */

/* --rules FILE: marks the texts a rule of FILE decides (title and content
   only, as an order without a category) as not counted: the threshold is
   then chosen, and the model measured, on the orders it would really see
   behind those rules. Returns 0, or -1 after a message. */
static int s_mark_undecided(const char *path, const ob_textclass_doc_t *docs, size_t n,
                            s_oof_t *oof, size_t *counted)
{
    char err[1024];
    ob_rules_t *rules = ob_rules_load(path, err, sizeof err);
    if (!rules) {
        fprintf(stderr, "orderbus rules learn: %s\n", err);
        return -1;
    }
    *counted = 0;
    for (size_t i = 0; i < n; i++) {
        ob_workorder_t order = ORDERBUS__V1__WORK_ORDER__INIT;
        ob_route_t route;
        order.title = (char *) docs[i].title;
        order.content = (char *) docs[i].content;
        ob_rules_route(rules, &order, &route);
        oof[i].counted = !route.decided;
        *counted += oof[i].counted;
    }
    ob_rules_destroy(&rules);
    if (*counted == 0) {
        fprintf(stderr, "orderbus rules learn: the rules of '%s' decide every text: nothing is "
                        "left for the model\n", path);
        return -1;
    }
    return 0;
}

/* Trains on every text, stamps the figures and writes the model. Returns
   the model's JSON description, or NULL after printing why. */
static json_t *s_train_final(const s_learn_t *self, const ob_textclass_doc_t *docs, size_t n,
                             const s_figures_t *f)
{
    char err[512];
    uint64_t t0 = ob_mono_us();
    ob_textclass_t *model = ob_textclass_train(docs, n, &self->params, err, sizeof err);
    if (!model) {
        fprintf(stderr, "orderbus rules learn: %s\n", err);
        return NULL;
    }
    double seconds = (double) (ob_mono_us() - t0) / 1e6;
    ob_textclass_cv_t cv = {f->threshold, self->target, f->right / 100, f->misrouted / 100,
                            f->manual / 100};
    ob_textclass_set_cv(model, &cv);
    json_t *doc = NULL;
    if (ob_textclass_save(model, self->out, err, sizeof err) != 0) {
        fprintf(stderr, "orderbus rules learn: %s\n", err);
        goto out;
    }
    struct stat st;
    off_t size = stat(self->out, &st) == 0 ? st.st_size : 0;
    doc = json_pack("{s:s, s:s, s:I, s:I, s:f}", "file", self->out, "version",
                    ob_textclass_version(model), "bytes", (json_int_t) size, "memory",
                    (json_int_t) ob_textclass_memory(model), "train_seconds", seconds);
    if (!self->json)
        printf("model:      %s (version %s, %.1f MiB on disk, %.1f MiB loaded, trained on %zu "
               "texts in %.1f s); name it in a rule file with `model:` and `threshold: %.3f`\n",
               self->out, ob_textclass_version(model), (double) size / 1048576.0,
               (double) ob_textclass_memory(model) / 1048576.0, n, seconds, f->threshold);
out:
    ob_textclass_destroy(&model);
    return doc;
}

/* Cross-validates and reports; trains and writes the model with --out.
   Returns an exit code. */
static int s_learn(const s_learn_t *self, ob_trainset_t *set)
{
    const ob_textclass_doc_t *docs = ob_trainset_docs(set);
    s_figures_t f = {.n = ob_trainset_count(set)};
    s_oof_t *oof = calloc(f.n, sizeof *oof);
    int rc = EX_SOFTWARE;
    f.n_labels = s_labels(docs, f.n, &f.labels);
    if (!oof || !f.n_labels)
        goto out;
    for (size_t i = 0; i < f.n; i++) {
        oof[i].truth = s_label_index(f.labels, f.n_labels, docs[i].label);
        oof[i].counted = true;
    }
    if (self->rules && s_mark_undecided(self->rules, docs, f.n, oof, &f.counted) != 0) {
        rc = EX_DATAERR;
        goto out;
    }
    f.groups = s_assign_folds(docs, f.n, (int) self->folds, oof);
    if (f.groups < (size_t) self->folds) {
        fprintf(stderr, "orderbus rules learn: %zu groups of texts, fewer than %ld folds: "
                        "add texts or lower --folds\n", f.groups, self->folds);
        rc = EX_DATAERR;
        goto out;
    }
    for (int fold = 0; fold < self->folds; fold++)
        if (s_run_fold(self, docs, f.n, oof, fold, f.labels, f.n_labels) != 0)
            goto out;
    s_compute(self, oof, &f);
    json_t *model = NULL;
    if (!self->json)
        s_print_text(self, oof, &f);
    if (self->out && !(model = s_train_final(self, docs, f.n, &f))) {
        rc = EX_CANTCREAT;
        goto out;
    }
    if (self->json) {
        json_t *doc = s_figures_json(self, oof, &f);
        json_object_set_new(doc, "model", model ? model : json_null());
        cli_print_json(doc, false);
    } else {
        json_decref(model);
    }
    rc = 0;
out:
    free(oof);
    free(f.labels);
    return rc;
}

int cmd_rules_learn(const cli_opts_t *opts, int argc, char **argv)
{
    s_learn_t self = {.target = 0.04, .folds = S_FOLDS_DEFAULT, .json = opts->json};
    ob_textclass_params_default(&self.params);
    int rc = s_parse_opts(&self, argc, argv);
    ob_trainset_t *set = NULL;
    if (rc != 0) {
        rc = cli_parsed(rc);
        goto out;
    }
    set = s_load(&self, &rc);
    if (set)
        rc = s_learn(&self, set);
out:
    ob_trainset_destroy(&set);
    free(self.labels_buf);
    free(self.known);
    return rc;
}

/* ---- rules model: what a model file holds, and what it says of a text ------------------ */

static const char s_model_usage[] =
    "NAME\n"
    "    orderbus rules model - show a routing model and try it on a text\n"
    "\n"
    "SYNOPSIS\n"
    "    orderbus rules model MODEL [--title T] [--content C] [--threshold P] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Loads MODEL whole (refused with the reason when truncated, corrupt or of\n"
    "    another format: exit 65) and prints its version, labels, training\n"
    "    parameters, the threshold `rules learn` chose with its cross-validated\n"
    "    figures, the load time and the memory it takes. With --title or --content:\n"
    "    the decision at the threshold (--threshold overrides it): the label when\n"
    "    the top probability reaches it, else manual; the top 3 suggestions with\n"
    "    their probabilities, and the n-grams that weighed most for the top label.\n";

static void s_model_print(ob_textclass_t *m, const char *path, double load_ms)
{
    ob_textclass_params_t p;
    ob_textclass_cv_t cv;
    ob_textclass_params(m, &p);
    ob_textclass_cv(m, &cv);
    printf("model:      %s\nversion:    %s\nlabels:     %zu:", path, ob_textclass_version(m),
           ob_textclass_labels_count(m));
    for (size_t i = 0; i < ob_textclass_labels_count(m); i++)
        printf(" %s", ob_textclass_label(m, i));
    printf("\ntrained on: %zu texts; character %u-%u-grams in 2^%u features, title weight "
           "%g, C %g\n",
           ob_textclass_docs(m), p.ngram_min, p.ngram_max, p.bits, p.title_weight, p.C);
    printf("threshold:  %.3f for %.1f%% misrouted (cross-validated: right %.1f%%, misrouted "
           "%.1f%%, manual %.1f%%)\n",
           cv.threshold, 100 * cv.target, 100 * cv.right, 100 * cv.misrouted, 100 * cv.manual);
    printf("loaded in:  %.1f ms, %.1f MiB\n", load_ms,
           (double) ob_textclass_memory(m) / 1048576.0);
}

static json_t *s_model_json(ob_textclass_t *m, const char *path, double load_ms)
{
    ob_textclass_params_t p;
    ob_textclass_cv_t cv;
    ob_textclass_params(m, &p);
    ob_textclass_cv(m, &cv);
    json_t *labels = json_array();
    for (size_t i = 0; i < ob_textclass_labels_count(m); i++)
        json_array_append_new(labels, json_string(ob_textclass_label(m, i)));
    return json_pack("{s:s, s:s, s:o, s:I, s:[i,i], s:i, s:f, s:f, s:{s:f, s:f, s:f, s:f, "
                     "s:f}, s:f, s:I}",
                     "file", path, "version", ob_textclass_version(m), "labels", labels,
                     "texts", (json_int_t) ob_textclass_docs(m), "ngram", (int) p.ngram_min,
                     (int) p.ngram_max, "bits", (int) p.bits, "title_weight", p.title_weight,
                     "C", p.C, "cv", "threshold", cv.threshold, "target", cv.target, "right",
                     cv.right, "misrouted", cv.misrouted, "manual", cv.manual, "load_ms",
                     load_ms, "memory", (json_int_t) ob_textclass_memory(m));
}

/* The decision on one text, printed or added to doc. */
static void s_model_try(ob_textclass_t *m, const char *title, const char *content,
                        double threshold, json_t *doc)
{
    ob_textclass_guess_t g[S_SUGGESTIONS];
    ob_textclass_gram_t grams[8];
    size_t n = ob_textclass_predict(m, title, content, g, S_SUGGESTIONS);
    size_t k = ob_textclass_explain(m, title, content, NULL, grams, 8);
    bool route = n && g[0].prob >= threshold;
    if (doc) {
        json_t *sugg = json_array(), *ngrams = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(sugg, json_pack("{s:s, s:f}", "label", g[i].label, "prob",
                                                  g[i].prob));
        for (size_t i = 0; i < k; i++)
            json_array_append_new(ngrams, json_pack("{s:s, s:s, s:f}", "gram", grams[i].gram,
                                                    "field", grams[i].title ? "title" : "content",
                                                    "weight", grams[i].weight));
        json_object_set_new(doc, "decision",
                            json_pack("{s:s, s:o, s:f, s:f, s:o, s:o}", "decision",
                                      route ? "route" : "manual", "label",
                                      route ? json_string(g[0].label) : json_null(), "prob",
                                      n ? g[0].prob : 0.0, "threshold", threshold,
                                      "suggestions", sugg, "ngrams", ngrams));
        return;
    }
    if (route)
        printf("decision:   %s (probability %.3f >= threshold %.3f)\n", g[0].label, g[0].prob,
               threshold);
    else
        printf("decision:   manual (top probability %.3f < threshold %.3f)\n",
               n ? g[0].prob : 0.0, threshold);
    printf("suggestions:");
    for (size_t i = 0; i < n; i++)
        printf(" %zu. %s %.3f", i + 1, g[i].label, g[i].prob);
    printf("\nn-grams:    ");
    for (size_t i = 0; i < k; i++)
        printf("%s%s (%s %.3f)", i ? ", " : "", grams[i].gram,
               grams[i].title ? "title" : "content", grams[i].weight);
    printf("%s\n", k ? "" : "none the model knows");
}

int cmd_rules_model(const cli_opts_t *opts, int argc, char **argv)
{
    static const char cmd[] = "rules model";
    const char *title = NULL, *content = NULL;
    double threshold = -1;
    bool json = opts->json;
    const cli_option_t spec[] = {
        CLI_OPT_STRING("title", &title),
        CLI_OPT_STRING("content", &content),
        CLI_OPT_CALLBACK("threshold", &threshold, s_opt_share),
        CLI_OPT_BOOL("json", &json),
        CLI_OPT_END(),
    };
    int rc = cli_parse(cmd, s_model_usage, spec, &argc, &argv);
    if (rc == 0)
        rc = cli_one_operand(cmd, argc, argv, "MODEL");
    if (rc != 0)
        return cli_parsed(rc);
    const char *path = argv[0];
    char err[512];
    uint64_t t0 = ob_mono_us();
    ob_textclass_t *m = ob_textclass_load(path, err, sizeof err);
    double load_ms = (double) (ob_mono_us() - t0) / 1000.0;
    if (!m) {
        fprintf(stderr, "orderbus rules model: %s\n", err);
        return errno == ENOENT && access(path, F_OK) != 0 ? EX_NOINPUT : EX_DATAERR;
    }
    ob_textclass_cv_t cv;
    ob_textclass_cv(m, &cv);
    if (threshold < 0)
        threshold = cv.threshold;
    json_t *doc = json ? s_model_json(m, path, load_ms) : NULL;
    if (!json)
        s_model_print(m, path, load_ms);
    if (title || content)
        s_model_try(m, title, content, threshold, doc);
    ob_textclass_destroy(&m);
    return doc ? cli_print_json(doc, false) : 0;
}
