/*  ob_textclass.c — character n-gram logistic regression for routing
    (the contract, the features and the file format: ob_textclass.h).

    Training builds a LIBLINEAR problem from the hashed, TF-IDF weighted,
    L2-normalised n-gram vectors and keeps only what prediction needs:
    per feature seen in training its idf and one weight per class, in
    float, exactly as the file stores them. A model just trained and the
    same model loaded from its file therefore predict the same numbers.
    Prediction never calls LIBLINEAR: it is a sparse dot product.          */
#include "ob_textclass.h"
#include "ob_util.h"
#include <assert.h>
#include <errno.h>
#include <linear.h>
#include <math.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAGIC      "OBTXTCL\n"
#define S_MAGIC_LEN  8
#define S_SUM_BYTES  32
#define S_NS_TITLE   1
#define S_NS_CONTENT 2
#define S_SEED       0x6f62u /* srand() before LIBLINEAR trains */

struct ob_textclass {
    ob_textclass_params_t params;
    size_t n_docs;           /* texts it was trained on */
    float default_idf;       /* idf of a feature no training text had */
    size_t n_class;
    char **labels;           /* n_class labels, byte order */
    size_t n_rows;           /* features seen in training */
    uint32_t *row_index;     /* n_rows feature indexes, ascending */
    float *idf;              /* n_rows */
    float *w;                /* n_rows * n_class, row-major */
    float *bias;             /* n_class */
    int32_t *row_of;         /* 2^bits: feature -> row, or -1 */
    ob_textclass_cv_t cv;    /* threshold chosen by cross-validation */
    char version[OB_TEXTCLASS_VERSION_LEN + 1];
};

/* ---- text to code points --------------------------------------------------- */

/* Decodes one UTF-8 sequence at s[*i]; returns the code point, or 0xFFFD
   (and skips one byte) for an invalid sequence. */
static uint32_t s_utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp;
    size_t need;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        need = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        need = 3;
    } else {
        (*i)++;
        return 0xFFFD;
    }
    if (*i + need >= len) {
        (*i)++;
        return 0xFFFD;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        (*i)++;
        return 0xFFFD;
    }
    *i += need + 1;
    return cp;
}

/* The normalised form of a code point, or 0 to leave it out (see the
   header: whitespace, punctuation, controls; case and digits folded). */
static uint32_t s_fold(uint32_t cp)
{
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z')
            return cp + 32;
        if (cp >= 'a' && cp <= 'z')
            return cp;
        if (cp >= '0' && cp <= '9')
            return '0';
        return 0;
    }
    if (cp <= 0xBF || cp == 0xD7 || cp == 0xF7 || cp == 0xFFFD || cp == 0xFEFF)
        return 0;   /* C1 controls, NBSP, Latin-1 punctuation, BOM */
    if ((cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F)
        || (cp >= 0xFE10 && cp <= 0xFE1F) || (cp >= 0xFE30 && cp <= 0xFE6F))
        return 0;   /* general and CJK punctuation, spaces, vertical forms */
    if (cp >= 0xFF01 && cp <= 0xFF65) {   /* fullwidth ASCII */
        if (cp >= 0xFF10 && cp <= 0xFF19)
            return '0';
        if (cp >= 0xFF21 && cp <= 0xFF3A)
            return cp - 0xFF21 + 'a';
        if (cp >= 0xFF41 && cp <= 0xFF5A)
            return cp - 0xFF41 + 'a';
        return 0;
    }
    return cp;
}

/* Normalised code points of `text` into out[0..max-1]; returns the count. */
static size_t s_codepoints(const char *text, uint32_t *out, size_t max)
{
    if (!text)
        return 0;
    const unsigned char *s = (const unsigned char *) text;
    size_t len = strlen(text), i = 0, n = 0;
    while (i < len && n < max) {
        uint32_t cp = s_fold(s_utf8_next(s, len, &i));
        if (cp)
            out[n++] = cp;
    }
    return n;
}

/* ---- n-grams to features ------------------------------------------------------ */

/* One feature of one text: hashed index and raw term frequency. */
typedef struct {
    uint32_t index;
    uint32_t tf;
    uint32_t first;   /* position of its first occurrence (for explain) */
    uint8_t n;        /* its length in code points */
    uint8_t ns;       /* S_NS_TITLE or S_NS_CONTENT */
} s_term_t;

/* A small open-addressing table of the terms of one text. */
typedef struct {
    s_term_t *slots;
    size_t mask, count;
} s_terms_t;

static uint32_t s_index(uint64_t h, unsigned bits)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (uint32_t) (h & ((1ULL << bits) - 1));
}

static int s_terms_init(s_terms_t *t, size_t expected)
{
    size_t size = 64;
    while (size < expected * 2)
        size <<= 1;
    t->slots = calloc(size, sizeof *t->slots);
    t->mask = size - 1;
    t->count = 0;
    return t->slots ? 0 : -1;
}

static void s_terms_add(s_terms_t *t, uint32_t index, uint32_t pos, uint8_t n, uint8_t ns)
{
    size_t i = (index * 2654435761u) & t->mask;
    for (;;) {
        s_term_t *slot = &t->slots[i];
        if (slot->tf == 0) {
            *slot = (s_term_t) {index, 1, pos, n, ns};
            t->count++;
            return;
        }
        if (slot->index == index) {
            slot->tf++;
            return;
        }
        i = (i + 1) & t->mask;
    }
}

/* Adds the n-grams of cps[0..len-1] in namespace ns. */
static void s_terms_grams(s_terms_t *t, const ob_textclass_params_t *p, const uint32_t *cps,
                          size_t len, uint8_t ns)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t h = 14695981039346656037ULL ^ ns;
        for (unsigned n = 1; n <= p->ngram_max && i + n <= len; n++) {
            h ^= cps[i + n - 1];
            h *= 1099511628211ULL;
            if (n >= p->ngram_min)
                s_terms_add(t, s_index(h ^ n, p->bits), (uint32_t) i, (uint8_t) n, ns);
        }
    }
}

/* The terms of a title and a content; the code points are kept in
   *title_cps / *content_cps for explain (caller frees them). Returns 0 or
   -1 (out of memory). */
static int s_terms_of(s_terms_t *t, const ob_textclass_params_t *p, const char *title,
                      const char *content, uint32_t **title_cps, size_t *title_len,
                      uint32_t **content_cps, size_t *content_len)
{
    size_t tmax = title ? strlen(title) : 0, cmax = content ? strlen(content) : 0;
    tmax = tmax < OB_TEXTCLASS_TEXT_MAX ? tmax : OB_TEXTCLASS_TEXT_MAX;
    cmax = cmax < OB_TEXTCLASS_TEXT_MAX ? cmax : OB_TEXTCLASS_TEXT_MAX;
    uint32_t *tc = malloc((tmax + 1) * sizeof *tc), *cc = malloc((cmax + 1) * sizeof *cc);
    if (!tc || !cc)
        goto fail;
    *title_len = s_codepoints(title, tc, tmax);
    *content_len = s_codepoints(content, cc, cmax);
    size_t grams = (*title_len + *content_len) * (p->ngram_max - p->ngram_min + 1);
    if (s_terms_init(t, grams) != 0)
        goto fail;
    s_terms_grams(t, p, tc, *title_len, S_NS_TITLE);
    s_terms_grams(t, p, cc, *content_len, S_NS_CONTENT);
    *title_cps = tc;
    *content_cps = cc;
    return 0;
fail:
    free(tc);
    free(cc);
    return -1;
}

/* The value of a term before normalisation. */
static double s_value(const ob_textclass_params_t *p, const s_term_t *term, double idf)
{
    double v = (1.0 + log((double) term->tf)) * idf;
    return term->ns == S_NS_TITLE ? v * p->title_weight : v;
}

/* ---- the model ----------------------------------------------------------------- */

void ob_textclass_params_default(ob_textclass_params_t *params)
{
    /* chosen by `make routing-eval` on the TipDM training file (docs/RULES.md):
       1-3-grams, 2^20 features, title weight 1, C 10 gave 77.9% right at 4%
       misrouted; 1-2-grams, 2^18, title weight 2, C 100 give 86.5% */
    *params = (ob_textclass_params_t) {.ngram_min = 1, .ngram_max = 2, .bits = 18,
                                       .title_weight = 2.0, .C = 100.0};
}

static const char *s_params_invalid(const ob_textclass_params_t *p)
{
    if (p->ngram_min < 1 || p->ngram_max > 5 || p->ngram_min > p->ngram_max)
        return "n-gram lengths must satisfy 1 <= min <= max <= 5";
    if (p->bits < 10 || p->bits > 24)
        return "feature bits must be 10..24";
    if (!(p->title_weight > 0 && p->title_weight <= 100))
        return "title weight must be in (0, 100]";
    if (!(p->C > 0 && p->C <= 1e6))
        return "C must be in (0, 1e6]";
    return NULL;
}

static ob_textclass_t *s_new(void)
{
    return calloc(1, sizeof(ob_textclass_t));
}

void ob_textclass_destroy(ob_textclass_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_textclass_t *self = *self_p;
    for (size_t i = 0; self->labels && i < self->n_class; i++)
        free(self->labels[i]);
    free(self->labels);
    free(self->row_index);
    free(self->idf);
    free(self->w);
    free(self->bias);
    free(self->row_of);
    free(self);
    *self_p = NULL;
}

/* Fills row_of from row_index. Returns 0 or -1 (out of memory). */
static int s_index_rows(ob_textclass_t *self)
{
    size_t size = (size_t) 1 << self->params.bits;
    self->row_of = malloc(size * sizeof *self->row_of);
    if (!self->row_of)
        return -1;
    memset(self->row_of, 0xff, size * sizeof *self->row_of);
    for (size_t r = 0; r < self->n_rows; r++)
        self->row_of[self->row_index[r]] = (int32_t) r;
    return 0;
}

/* ---- training -------------------------------------------------------------------- */

static void s_quiet(const char *s)
{
    (void) s;
}

static int s_by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int s_by_node_index(const void *a, const void *b)
{
    const struct feature_node *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* Sorted distinct labels of the documents into self->labels; the class of
   each document into cls[]. Returns 0 or -1 with err. */
static int s_train_labels(ob_textclass_t *self, const ob_textclass_doc_t *docs, size_t n,
                          double *cls, char *err, size_t errlen)
{
    char **all = malloc(n * sizeof *all);
    if (!all) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        all[i] = (char *) docs[i].label;
    qsort(all, n, sizeof *all, s_by_string);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(all[i], all[i - 1]) != 0)
            all[k++] = all[i];
    int rc = -1;
    if (k < 2) {
        snprintf(err, errlen, "training needs at least two labels (found %zu)", k);
        goto out;
    }
    if (k > OB_TEXTCLASS_CLASSES_MAX) {
        snprintf(err, errlen, "too many labels (%zu, at most %d)", k, OB_TEXTCLASS_CLASSES_MAX);
        goto out;
    }
    self->labels = calloc(k, sizeof *self->labels);
    if (!self->labels) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    self->n_class = k;
    for (size_t c = 0; c < k; c++)
        if (!(self->labels[c] = strdup(all[c]))) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    for (size_t i = 0; i < n; i++) {
        char *key = (char *) docs[i].label;
        char **hit = bsearch(&key, self->labels, k, sizeof *self->labels, s_by_string);
        cls[i] = (double) (hit - self->labels);
    }
    rc = 0;
out:
    free(all);
    return rc;
}

/* The training vectors: per document its terms (as feature_nodes with the
   raw tf in value and the namespace folded into nothing: the index already
   tells), df per feature. Returns 0 or -1. */
typedef struct {
    struct feature_node **x;   /* n documents, each terminated by index -1 */
    uint8_t **ns;              /* per node: namespace (for the title weight) */
    uint32_t *df;              /* 2^bits */
} s_vectors_t;

static void s_vectors_free(s_vectors_t *v, size_t n)
{
    for (size_t i = 0; v->x && i < n; i++)
        free(v->x[i]);
    for (size_t i = 0; v->ns && i < n; i++)
        free(v->ns[i]);
    free(v->x);
    free(v->ns);
    free(v->df);
}

static int s_vectors_build(s_vectors_t *v, const ob_textclass_params_t *p,
                           const ob_textclass_doc_t *docs, size_t n)
{
    v->x = calloc(n, sizeof *v->x);
    v->ns = calloc(n, sizeof *v->ns);
    v->df = calloc((size_t) 1 << p->bits, sizeof *v->df);
    if (!v->x || !v->ns || !v->df)
        return -1;
    for (size_t i = 0; i < n; i++) {
        s_terms_t t;
        uint32_t *tc = NULL, *cc = NULL;
        size_t tl, cl;
        if (s_terms_of(&t, p, docs[i].title, docs[i].content, &tc, &tl, &cc, &cl) != 0)
            return -1;
        free(tc);
        free(cc);
        /* a feature of both title and content (a hash collision) counts
           once in each namespace: keep them as two nodes, merged below */
        struct feature_node *x = malloc((t.count + 2) * sizeof *x);
        uint8_t *ns = malloc(t.count + 1);
        if (!x || !ns) {
            free(x);
            free(ns);
            free(t.slots);
            return -1;
        }
        size_t k = 0;
        for (size_t s = 0; s <= t.mask; s++)
            if (t.slots[s].tf) {
                x[k].index = (int) t.slots[s].index + 1;
                /* value: tf, with the namespace in the sign (title < 0) */
                x[k].value = t.slots[s].ns == S_NS_TITLE ? -(double) t.slots[s].tf
                                                         : (double) t.slots[s].tf;
                k++;
            }
        free(t.slots);
        qsort(x, k, sizeof *x, s_by_node_index);
        for (size_t j = 0; j < k; j++) {
            ns[j] = x[j].value < 0 ? S_NS_TITLE : S_NS_CONTENT;
            x[j].value = fabs(x[j].value);
            v->df[x[j].index - 1]++;
        }
        x[k].index = -1;
        v->x[i] = x;
        v->ns[i] = ns;
    }
    return 0;
}

static double s_idf(size_t n_docs, uint32_t df)
{
    return log((1.0 + (double) n_docs) / (1.0 + (double) df)) + 1.0;
}

/* Turns the raw tf vectors into the normalised TF-IDF vectors LIBLINEAR
   trains on (with the bias node appended; x[i] is grown by one), using
   the float idf the model keeps so training and prediction agree. */
static int s_vectors_weigh(s_vectors_t *v, const ob_textclass_t *self, size_t n)
{
    int bias_index = (int) ((size_t) 1 << self->params.bits) + 1;
    for (size_t i = 0; i < n; i++) {
        struct feature_node *x = v->x[i];
        size_t k = 0;
        double norm = 0;
        for (; x[k].index != -1; k++) {
            s_term_t term = {.tf = (uint32_t) x[k].value, .ns = v->ns[i][k]};
            int32_t row = self->row_of[x[k].index - 1];
            x[k].value = s_value(&self->params, &term, (double) self->idf[row]);
            norm += x[k].value * x[k].value;
        }
        norm = norm > 0 ? sqrt(norm) : 1;
        /* merge the nodes of one index (a title and a content feature that
           hash alike): LIBLINEAR wants each index once */
        size_t m = 0;
        for (size_t j = 0; j < k; j++) {
            if (m && x[m - 1].index == x[j].index)
                x[m - 1].value += x[j].value / norm;
            else
                x[m++] = (struct feature_node) {x[j].index, x[j].value / norm};
        }
        struct feature_node *grown = realloc(x, (m + 2) * sizeof *grown);
        if (!grown)
            return -1;
        grown[m] = (struct feature_node) {bias_index, 1.0};
        grown[m + 1].index = -1;
        v->x[i] = grown;
    }
    return 0;
}

/* Rows (features seen in training) and their float idf. */
static int s_train_rows(ob_textclass_t *self, const uint32_t *df, size_t n)
{
    size_t size = (size_t) 1 << self->params.bits, rows = 0;
    for (size_t f = 0; f < size; f++)
        rows += df[f] != 0;
    self->n_rows = rows;
    self->row_index = malloc((rows ? rows : 1) * sizeof *self->row_index);
    self->idf = malloc((rows ? rows : 1) * sizeof *self->idf);
    self->w = calloc((rows ? rows : 1) * self->n_class, sizeof *self->w);
    self->bias = calloc(self->n_class, sizeof *self->bias);
    if (!self->row_index || !self->idf || !self->w || !self->bias)
        return -1;
    size_t r = 0;
    for (size_t f = 0; f < size; f++)
        if (df[f]) {
            self->row_index[r] = (uint32_t) f;
            self->idf[r] = (float) s_idf(n, df[f]);
            r++;
        }
    self->default_idf = (float) s_idf(n, 0);
    self->n_docs = n;
    return s_index_rows(self);
}

/* Copies LIBLINEAR's weights into the model's rows and biases. */
static void s_take_weights(ob_textclass_t *self, const struct model *m)
{
    size_t nf = (size_t) m->nr_feature, nw = self->n_class == 2 ? 1 : self->n_class;
    for (size_t c = 0; c < self->n_class; c++) {
        size_t col = 0;   /* LIBLINEAR's column of our class c */
        for (size_t j = 0; j < (size_t) m->nr_class; j++)
            if ((size_t) m->label[j] == c)
                col = j;
        double sign = 1;
        if (nw == 1) {   /* one vector: +w for label[0], -w for label[1] */
            sign = col == 0 ? 1 : -1;
            col = 0;
        }
        for (size_t r = 0; r < self->n_rows; r++)
            self->w[r * self->n_class + c]
                = (float) (sign * m->w[(size_t) self->row_index[r] * nw + col]);
        self->bias[c] = (float) (sign * m->w[nf * nw + col]);
    }
}

static int s_set_version(ob_textclass_t *self)
{
    uint8_t *bytes;
    size_t len;
    if (ob_textclass_serialize(self, &bytes, &len) != 0)
        return -1;
    ob_hex(self->version, bytes + len - S_SUM_BYTES, OB_TEXTCLASS_VERSION_LEN / 2);
    free(bytes);
    return 0;
}

ob_textclass_t *ob_textclass_train(const ob_textclass_doc_t *docs, size_t n,
                                   const ob_textclass_params_t *params, char *err,
                                   size_t errlen)
{
    const char *bad = s_params_invalid(params);
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        return NULL;
    }
    if (n > INT32_MAX) {
        snprintf(err, errlen, "too many training texts");
        return NULL;
    }
    ob_textclass_t *self = s_new();
    s_vectors_t v = {0};
    double *y = malloc((n ? n : 1) * sizeof *y);
    struct model *m = NULL;
    bool ok = false;
    if (!self || !y) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    self->params = *params;
    if (s_train_labels(self, docs, n, y, err, errlen) != 0)
        goto out;
    if (s_vectors_build(&v, params, docs, n) != 0 || s_train_rows(self, v.df, n) != 0
        || s_vectors_weigh(&v, self, n) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    struct problem prob = {.l = (int) n, .n = (int) ((size_t) 1 << params->bits) + 1,
                           .y = y, .x = v.x, .bias = 1.0};
    struct parameter param = {.solver_type = L2R_LR, .eps = 0.01, .C = params->C, .p = 0.1};
    const char *why = check_parameter(&prob, &param);
    if (why) {
        snprintf(err, errlen, "liblinear: %s", why);
        goto out;
    }
    set_print_string_function(s_quiet);
    srand(S_SEED);
    m = train(&prob, &param);
    if (!m) {
        snprintf(err, errlen, "liblinear could not train");
        goto out;
    }
    s_take_weights(self, m);
    if (s_set_version(self) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    ok = true;
out:
    if (m)
        free_and_destroy_model(&m);
    s_vectors_free(&v, n);
    free(y);
    if (!ok)
        ob_textclass_destroy(&self);
    return self;
}

/* ---- prediction ------------------------------------------------------------------ */

/* Decision values of the classes for a text into dec[n_class]; the terms
   are left in *t (caller frees t->slots, and the code points). Returns 0
   or -1 (out of memory). */
static int s_decide(ob_textclass_t *self, const char *title, const char *content,
                    double *dec, s_terms_t *t, uint32_t **tc, size_t *tl, uint32_t **cc,
                    size_t *cl)
{
    if (s_terms_of(t, &self->params, title, content, tc, tl, cc, cl) != 0)
        return -1;
    double norm = 0;
    for (size_t s = 0; s <= t->mask; s++) {
        s_term_t *term = &t->slots[s];
        if (!term->tf)
            continue;
        int32_t row = self->row_of[term->index];
        double v = s_value(&self->params, term, row >= 0 ? self->idf[row] : self->default_idf);
        norm += v * v;
    }
    norm = norm > 0 ? sqrt(norm) : 1;
    for (size_t c = 0; c < self->n_class; c++)
        dec[c] = self->bias[c];
    for (size_t s = 0; s <= t->mask; s++) {
        s_term_t *term = &t->slots[s];
        int32_t row = term->tf ? self->row_of[term->index] : -1;
        if (row < 0)
            continue;
        double v = s_value(&self->params, term, self->idf[row]) / norm;
        const float *w = self->w + (size_t) row * self->n_class;
        for (size_t c = 0; c < self->n_class; c++)
            dec[c] += v * w[c];
    }
    return 0;
}

size_t ob_textclass_predict(ob_textclass_t *self, const char *title, const char *content,
                            ob_textclass_guess_t *out, size_t k)
{
    assert(self);
    double dec[OB_TEXTCLASS_CLASSES_MAX];
    s_terms_t t = {0};
    uint32_t *tc = NULL, *cc = NULL;
    size_t tl, cl;
    if (s_decide(self, title, content, dec, &t, &tc, &tl, &cc, &cl) != 0)
        return 0;
    free(t.slots);
    free(tc);
    free(cc);
    double sum = 0;
    for (size_t c = 0; c < self->n_class; c++) {
        dec[c] = 1.0 / (1.0 + exp(-dec[c]));
        sum += dec[c];
    }
    size_t filled = k < self->n_class ? k : self->n_class;
    for (size_t i = 0; i < filled; i++) {
        size_t best = SIZE_MAX;
        for (size_t c = 0; c < self->n_class; c++)
            if (dec[c] >= 0 && (best == SIZE_MAX || dec[c] > dec[best]))
                best = c;
        out[i] = (ob_textclass_guess_t) {self->labels[best], dec[best] / sum};
        dec[best] = -1;
    }
    return filled;
}

/* Copies the UTF-8 of cps[0..n-1] into out (at most outlen with NUL). */
static void s_gram_text(char *out, size_t outlen, const uint32_t *cps, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        char b[4];
        size_t l;
        if (c < 0x80) {
            b[0] = (char) c;
            l = 1;
        } else if (c < 0x800) {
            b[0] = (char) (0xC0 | (c >> 6));
            b[1] = (char) (0x80 | (c & 0x3F));
            l = 2;
        } else if (c < 0x10000) {
            b[0] = (char) (0xE0 | (c >> 12));
            b[1] = (char) (0x80 | ((c >> 6) & 0x3F));
            b[2] = (char) (0x80 | (c & 0x3F));
            l = 3;
        } else {
            b[0] = (char) (0xF0 | (c >> 18));
            b[1] = (char) (0x80 | ((c >> 12) & 0x3F));
            b[2] = (char) (0x80 | ((c >> 6) & 0x3F));
            b[3] = (char) (0x80 | (c & 0x3F));
            l = 4;
        }
        if (o + l >= outlen)
            break;
        memcpy(out + o, b, l);
        o += l;
    }
    out[o] = '\0';
}

size_t ob_textclass_explain(ob_textclass_t *self, const char *title, const char *content,
                            const char *label, ob_textclass_gram_t *out, size_t k)
{
    assert(self);
    size_t cls = SIZE_MAX;
    if (label) {
        for (size_t c = 0; c < self->n_class; c++)
            if (strcmp(self->labels[c], label) == 0)
                cls = c;
    } else {
        ob_textclass_guess_t top;
        if (ob_textclass_predict(self, title, content, &top, 1) == 1)
            for (size_t c = 0; c < self->n_class; c++)
                if (self->labels[c] == top.label)
                    cls = c;
    }
    if (cls == SIZE_MAX || k == 0)
        return 0;
    double dec[OB_TEXTCLASS_CLASSES_MAX];
    s_terms_t t = {0};
    uint32_t *tc = NULL, *cc = NULL;
    size_t tl, cl, filled = 0;
    if (s_decide(self, title, content, dec, &t, &tc, &tl, &cc, &cl) != 0)
        return 0;
    double norm = 0;   /* as s_decide computed it */
    for (size_t s = 0; s <= t.mask; s++)
        if (t.slots[s].tf) {
            int32_t row = self->row_of[t.slots[s].index];
            double v = s_value(&self->params, &t.slots[s],
                               row >= 0 ? self->idf[row] : self->default_idf);
            norm += v * v;
        }
    norm = norm > 0 ? sqrt(norm) : 1;
    /* insertion into out[], largest term first; only positive terms */
    for (size_t s = 0; s <= t.mask; s++) {
        s_term_t *term = &t.slots[s];
        int32_t row = term->tf ? self->row_of[term->index] : -1;
        if (row < 0)
            continue;
        double term_w = s_value(&self->params, term, self->idf[row]) / norm
                        * self->w[(size_t) row * self->n_class + cls];
        if (term_w <= 0 || (filled == k && term_w <= out[k - 1].weight))
            continue;
        size_t at = filled < k ? filled++ : k - 1;
        while (at > 0 && out[at - 1].weight < term_w) {
            out[at] = out[at - 1];
            at--;
        }
        const uint32_t *cps = term->ns == S_NS_TITLE ? tc : cc;
        s_gram_text(out[at].gram, sizeof out[at].gram, cps + term->first, term->n);
        out[at].title = term->ns == S_NS_TITLE;
        out[at].weight = term_w;
    }
    free(t.slots);
    free(tc);
    free(cc);
    return filled;
}

/* ---- the file ------------------------------------------------------------------ */

typedef struct {
    uint8_t *data;
    size_t len, cap;
    bool failed;
} s_buf_t;

static void s_put(s_buf_t *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void s_put_u32(s_buf_t *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24)};
    s_put(b, x, 4);
}

static void s_put_f32(s_buf_t *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    s_put_u32(b, v);
}

int ob_textclass_serialize(ob_textclass_t *self, uint8_t **out, size_t *len)
{
    s_buf_t b = {0};
    s_put(&b, S_MAGIC, S_MAGIC_LEN);
    s_put_u32(&b, OB_TEXTCLASS_FORMAT);
    s_put_u32(&b, self->params.ngram_min);
    s_put_u32(&b, self->params.ngram_max);
    s_put_u32(&b, self->params.bits);
    s_put_u32(&b, (uint32_t) self->n_docs);
    s_put_f32(&b, (float) self->params.title_weight);
    s_put_f32(&b, (float) self->params.C);
    s_put_f32(&b, self->default_idf);
    s_put_f32(&b, (float) self->cv.threshold);
    s_put_f32(&b, (float) self->cv.target);
    s_put_f32(&b, (float) self->cv.right);
    s_put_f32(&b, (float) self->cv.misrouted);
    s_put_f32(&b, (float) self->cv.manual);
    s_put_u32(&b, (uint32_t) self->n_class);
    for (size_t c = 0; c < self->n_class; c++) {
        size_t l = strlen(self->labels[c]);
        s_put_u32(&b, (uint32_t) l);
        s_put(&b, self->labels[c], l);
    }
    s_put_u32(&b, (uint32_t) self->n_rows);
    for (size_t r = 0; r < self->n_rows; r++) {
        s_put_u32(&b, self->row_index[r]);
        s_put_f32(&b, self->idf[r]);
        for (size_t c = 0; c < self->n_class; c++)
            s_put_f32(&b, self->w[r * self->n_class + c]);
    }
    for (size_t c = 0; c < self->n_class; c++)
        s_put_f32(&b, self->bias[c]);
    uint8_t sum[S_SUM_BYTES];
    if (!b.failed)
        crypto_generichash(sum, sizeof sum, b.data, b.len, NULL, 0);
    s_put(&b, sum, sizeof sum);
    if (b.failed) {
        free(b.data);
        return -1;
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

int ob_textclass_save(ob_textclass_t *self, const char *path, char *err, size_t errlen)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = -1;
    char tmp[4096];
    FILE *f = NULL;
    if (ob_textclass_serialize(self, &bytes, &len) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if ((size_t) snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long) getpid()) >= sizeof tmp) {
        snprintf(err, errlen, "path too long '%s'", path);
        goto out;
    }
    f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (fwrite(bytes, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rc != 0)
        unlink(tmp);
    free(bytes);
    return rc;
}

/* A reader over the file's bytes; every read is bounds-checked. */
typedef struct {
    const uint8_t *p;
    size_t len, at;
    bool short_read;
} s_reader_t;

static uint32_t s_get_u32(s_reader_t *r)
{
    if (r->len - r->at < 4) {
        r->short_read = true;
        r->at = r->len;
        return 0;
    }
    const uint8_t *x = r->p + r->at;
    r->at += 4;
    return (uint32_t) x[0] | (uint32_t) x[1] << 8 | (uint32_t) x[2] << 16
           | (uint32_t) x[3] << 24;
}

static float s_get_f32(s_reader_t *r)
{
    uint32_t v = s_get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

/* The header fields; NULL, or what is wrong with them. */
static const char *s_read_header(ob_textclass_t *self, s_reader_t *r)
{
    ob_textclass_params_t *p = &self->params;
    p->ngram_min = s_get_u32(r);
    p->ngram_max = s_get_u32(r);
    p->bits = s_get_u32(r);
    self->n_docs = s_get_u32(r);
    p->title_weight = s_get_f32(r);
    p->C = s_get_f32(r);
    self->default_idf = s_get_f32(r);
    self->cv.threshold = s_get_f32(r);
    self->cv.target = s_get_f32(r);
    self->cv.right = s_get_f32(r);
    self->cv.misrouted = s_get_f32(r);
    self->cv.manual = s_get_f32(r);
    const char *bad = s_params_invalid(p);
    if (bad)
        return bad;
    if (!isfinite(self->default_idf) || self->default_idf < 0)
        return "bad default idf";
    double cv[] = {self->cv.threshold, self->cv.target, self->cv.right, self->cv.misrouted,
                   self->cv.manual};
    for (size_t i = 0; i < sizeof cv / sizeof cv[0]; i++)
        if (!(cv[i] >= 0 && cv[i] <= 1))
            return "cross-validation figures out of [0, 1]";
    return NULL;
}

/* The labels; NULL, or what is wrong with them. */
static const char *s_read_labels(ob_textclass_t *self, s_reader_t *r)
{
    uint32_t n = s_get_u32(r);
    if (n < 2 || n > OB_TEXTCLASS_CLASSES_MAX)
        return "number of labels out of range";
    self->labels = calloc(n, sizeof *self->labels);
    if (!self->labels)
        return "out of memory";
    self->n_class = n;
    for (uint32_t c = 0; c < n; c++) {
        uint32_t l = s_get_u32(r);
        if (r->short_read || l == 0 || l > OB_TEXTCLASS_LABEL_MAX || l > r->len - r->at)
            return "bad label length";
        if (!ob_utf8_valid((const char *) r->p + r->at, l)
            || memchr(r->p + r->at, '\0', l))
            return "label is not valid UTF-8";
        self->labels[c] = strndup((const char *) r->p + r->at, l);
        if (!self->labels[c])
            return "out of memory";
        r->at += l;
        if (c > 0 && strcmp(self->labels[c - 1], self->labels[c]) >= 0)
            return "labels not in order or repeated";
    }
    return NULL;
}

/* The rows and biases; NULL, or what is wrong with them. */
static const char *s_read_rows(ob_textclass_t *self, s_reader_t *r)
{
    uint32_t n = s_get_u32(r);
    size_t row_bytes = 4 * (2 + self->n_class);
    if (n > ((size_t) 1 << self->params.bits) || (size_t) n > (r->len - r->at) / row_bytes)
        return "number of features out of range";
    self->n_rows = n;
    self->row_index = malloc((n ? n : 1) * sizeof *self->row_index);
    self->idf = malloc((n ? n : 1) * sizeof *self->idf);
    self->w = malloc((n ? n : 1) * self->n_class * sizeof *self->w);
    self->bias = malloc(self->n_class * sizeof *self->bias);
    if (!self->row_index || !self->idf || !self->w || !self->bias)
        return "out of memory";
    for (uint32_t i = 0; i < n; i++) {
        self->row_index[i] = s_get_u32(r);
        self->idf[i] = s_get_f32(r);
        if (self->row_index[i] >> self->params.bits
            || (i > 0 && self->row_index[i] <= self->row_index[i - 1]))
            return "feature indexes out of range or not ascending";
        if (!isfinite(self->idf[i]) || self->idf[i] < 0)
            return "bad idf";
        for (size_t c = 0; c < self->n_class; c++) {
            float w = s_get_f32(r);
            if (!isfinite(w))
                return "weight is not a finite number";
            self->w[(size_t) i * self->n_class + c] = w;
        }
    }
    for (size_t c = 0; c < self->n_class; c++)
        if (!isfinite(self->bias[c] = s_get_f32(r)))
            return "bias is not a finite number";
    return NULL;
}

ob_textclass_t *ob_textclass_load_mem(const uint8_t *data, size_t len, char *err,
                                      size_t errlen)
{
    if (len < S_MAGIC_LEN || memcmp(data, S_MAGIC, S_MAGIC_LEN) != 0) {
        snprintf(err, errlen, "not an orderbus model file");
        return NULL;
    }
    if (len < S_MAGIC_LEN + 4 + S_SUM_BYTES) {
        snprintf(err, errlen, "model file truncated (%zu bytes)", len);
        return NULL;
    }
    s_reader_t r = {data, len - S_SUM_BYTES, S_MAGIC_LEN, false};
    uint32_t format = s_get_u32(&r);
    if (format != OB_TEXTCLASS_FORMAT) {
        snprintf(err, errlen, "model file format %u, this release reads format %d: retrain it",
                 format, OB_TEXTCLASS_FORMAT);
        return NULL;
    }
    uint8_t sum[S_SUM_BYTES];
    crypto_generichash(sum, sizeof sum, data, len - S_SUM_BYTES, NULL, 0);
    if (sodium_memcmp(sum, data + len - S_SUM_BYTES, S_SUM_BYTES) != 0) {
        snprintf(err, errlen, "model file truncated or corrupt (checksum mismatch)");
        return NULL;
    }
    ob_textclass_t *self = s_new();
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *bad = s_read_header(self, &r);
    if (!bad)
        bad = s_read_labels(self, &r);
    if (!bad)
        bad = s_read_rows(self, &r);
    if (!bad && r.short_read)
        bad = "truncated";
    if (!bad && r.at != r.len)
        bad = "trailing bytes";
    if (!bad && s_index_rows(self) != 0)
        bad = "out of memory";
    if (bad) {
        snprintf(err, errlen, "model file inconsistent: %s", bad);
        ob_textclass_destroy(&self);
        return NULL;
    }
    ob_hex(self->version, data + len - S_SUM_BYTES, OB_TEXTCLASS_VERSION_LEN / 2);
    return self;
}

ob_textclass_t *ob_textclass_load(const char *path, char *err, size_t errlen)
{
    ob_textclass_t *self = NULL;
    uint8_t *data = NULL;
    char why[256];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open model '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot read model '%s': not a regular file", path);
        goto out;
    }
    if ((uint64_t) st.st_size > OB_TEXTCLASS_FILE_MAX) {
        snprintf(err, errlen, "model '%s' is over %u MiB", path, OB_TEXTCLASS_FILE_MAX >> 20);
        goto out;
    }
    size_t len = (size_t) st.st_size;
    data = malloc(len ? len : 1);
    if (!data) {
        snprintf(err, errlen, "out of memory for model '%s'", path);
        goto out;
    }
    if (len && fread(data, 1, len, f) != len) {
        snprintf(err, errlen, "cannot read model '%s': %s", path, strerror(errno));
        goto out;
    }
    self = ob_textclass_load_mem(data, len, why, sizeof why);
    if (!self)
        snprintf(err, errlen, "model '%s': %s", path, why);
out:
    free(data);
    fclose(f);
    return self;
}

/* ---- accessors ------------------------------------------------------------------- */

size_t ob_textclass_labels_count(ob_textclass_t *self)
{
    return self->n_class;
}

const char *ob_textclass_label(ob_textclass_t *self, size_t i)
{
    return i < self->n_class ? self->labels[i] : NULL;
}

bool ob_textclass_has_label(ob_textclass_t *self, const char *label)
{
    char *key = (char *) label;
    return bsearch(&key, self->labels, self->n_class, sizeof *self->labels, s_by_string)
           != NULL;
}

const char *ob_textclass_version(ob_textclass_t *self)
{
    return self->version;
}

void ob_textclass_params(ob_textclass_t *self, ob_textclass_params_t *params)
{
    *params = self->params;
}

size_t ob_textclass_docs(ob_textclass_t *self)
{
    return self->n_docs;
}

void ob_textclass_cv(ob_textclass_t *self, ob_textclass_cv_t *cv)
{
    *cv = self->cv;
}

void ob_textclass_set_cv(ob_textclass_t *self, const ob_textclass_cv_t *cv)
{
    /* stored as float: keep what a reload would read */
    self->cv = (ob_textclass_cv_t) {(float) cv->threshold, (float) cv->target,
                                    (float) cv->right, (float) cv->misrouted,
                                    (float) cv->manual};
    if (s_set_version(self) != 0)
        self->version[0] = '\0';
}

size_t ob_textclass_memory(ob_textclass_t *self)
{
    size_t bytes = sizeof *self + self->n_class * (sizeof(char *) + sizeof(float));
    for (size_t c = 0; c < self->n_class; c++)
        bytes += strlen(self->labels[c]) + 1;
    bytes += self->n_rows * (sizeof(uint32_t) + sizeof(float) * (1 + self->n_class));
    bytes += ((size_t) 1 << self->params.bits) * sizeof(int32_t);
    return bytes;
}

/* ---- self-test ------------------------------------------------------------------- */

#include "ob_selftest.h"   /* assert on in the self-test, also under -DNDEBUG */

/* A synthetic corpus: three departments with words of their own, and
   words every complaint has. s_rand is a fixed LCG: the corpus is the
   same on every run. */
static uint32_t s_rand(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

static const char *const s_words[3][6] = {
    {"路灯不亮", "井盖缺失", "道路破损", "占道施工", "违章建筑", "小区物业"},
    {"拖欠工资", "社保缴纳", "劳动合同", "养老保险", "工伤认定", "失业金"},
    {"噪音扰民", "污水排放", "垃圾焚烧", "油烟污染", "河道黑臭", "粉尘污染"},
};
static const char *const s_labels[3] = {"城乡建设", "劳动和社会保障", "环境保护"};
static const char *const s_common[5] = {"请尽快处理", "多次反映", "领导您好", "谢谢", "希望"};

#define S_TEST_DOCS 90

static void s_make_text(char *out, size_t outlen, uint32_t *seed, size_t label, size_t words)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < words; i++) {
        const char *w = s_rand(seed) % 3 == 0 ? s_common[s_rand(seed) % 5]
                                              : s_words[label][s_rand(seed) % 6];
        int n = snprintf(out + o, outlen - o, "%s%s", w, s_rand(seed) % 4 == 0 ? "，" : "");
        if (n < 0 || (size_t) n >= outlen - o)
            break;
        o += (size_t) n;
    }
}

/* The synthetic corpus into docs[S_TEST_DOCS] (static storage). */
static void s_test_corpus(ob_textclass_doc_t *docs)
{
    static char titles[S_TEST_DOCS][128], contents[S_TEST_DOCS][512];
    uint32_t seed = 7;
    for (size_t i = 0; i < S_TEST_DOCS; i++) {
        size_t label = i % 3;
        s_make_text(titles[i], sizeof titles[i], &seed, label, 2);
        s_make_text(contents[i], sizeof contents[i], &seed, label, 12);
        docs[i] = (ob_textclass_doc_t) {titles[i], contents[i], s_labels[label]};
    }
}

/* Prediction and explain of the model trained on the corpus. */
static void s_test_predict(ob_textclass_t *model)
{
    ob_textclass_guess_t top[5];
    size_t n;
    /* prediction: a text it never saw, top-k ordered, probabilities sum to 1 */
    n = ob_textclass_predict(model, "工资被拖欠", "公司拖欠工资三个月，社保也没有缴纳", top, 5);
    assert(n == 3);
    assert(strcmp(top[0].label, "劳动和社会保障") == 0);
    assert(top[0].prob > 0.5);
    assert(top[0].prob >= top[1].prob && top[1].prob >= top[2].prob);
    assert(fabs(top[0].prob + top[1].prob + top[2].prob - 1.0) < 1e-9);
    n = ob_textclass_predict(model, "晚上噪音", "工地噪音扰民，油烟污染严重", top, 1);
    assert(n == 1 && strcmp(top[0].label, "环境保护") == 0);
    /* whitespace and punctuation are not seen: the same text spaced out */
    ob_textclass_guess_t spaced[1];
    n = ob_textclass_predict(model, "晚　上 噪音", "工地 噪音扰民 。油烟\t污染严重！", spaced, 1);
    assert(n == 1 && spaced[0].label == top[0].label
           && fabs(spaced[0].prob - top[0].prob) < 1e-12);
    /* a text of nothing it knows: near the prior, it abstains at 0.5 */
    n = ob_textclass_predict(model, "qwzx", "㐀㐁㐂 zzqj kkvv 9999", top, 3);
    assert(n == 3 && top[0].prob < 0.5);
    n = ob_textclass_predict(model, NULL, NULL, top, 3);
    assert(n == 3 && top[0].prob < 0.5);
    /* invalid UTF-8 is read past, not trusted */
    n = ob_textclass_predict(model, "\xff\xfe\xc0\xaf", "拖欠工资\xe5\x8a", top, 1);
    assert(n == 1 && strcmp(top[0].label, "劳动和社会保障") == 0);

    /* explain: the n-grams that weighed for the label are the label's words */
    ob_textclass_gram_t grams[8];
    n = ob_textclass_explain(model, "工资被拖欠", "公司拖欠工资三个月", NULL, grams, 8);
    assert(n > 0 && n <= 8);
    for (size_t i = 1; i < n; i++)
        assert(grams[i - 1].weight >= grams[i].weight);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (strstr("拖欠工资", grams[i].gram) && grams[i].gram[0])
            found = true;
    assert(found);
    n = ob_textclass_explain(model, "工资被拖欠", "公司拖欠工资", "交通运输", grams, 8);
    assert(n == 0);

}

/* The file of the model: round trip, figures, refusals, save and load. */
static void s_test_file(ob_textclass_t *model, const ob_textclass_params_t *params)
{
    char err[256];
    uint8_t *bytes1, *bytes2;
    size_t len1, len2;
    int rc = ob_textclass_serialize(model, &bytes1, &len1);
    assert(rc == 0);
    /* the file: a reload predicts the same, has the same version and bytes */
    ob_textclass_t *loaded = ob_textclass_load_mem(bytes1, len1, err, sizeof err);
    assert(loaded);
    assert(strcmp(ob_textclass_version(loaded), ob_textclass_version(model)) == 0);
    ob_textclass_guess_t a[3], b[3];
    ob_textclass_predict(model, "路灯", "小区路灯不亮，井盖缺失", a, 3);
    ob_textclass_predict(loaded, "路灯", "小区路灯不亮，井盖缺失", b, 3);
    assert(strcmp(a[0].label, "城乡建设") == 0);
    for (size_t i = 0; i < 3; i++)
        assert(strcmp(a[i].label, b[i].label) == 0 && a[i].prob == b[i].prob);
    rc = ob_textclass_serialize(loaded, &bytes2, &len2);
    assert(rc == 0);
    assert(len1 == len2 && memcmp(bytes1, bytes2, len1) == 0);
    free(bytes2);
    assert(ob_textclass_memory(loaded) > ((size_t) 1 << params->bits) * 4);

    /* the cross-validation figures travel with the file and change the version */
    char before[OB_TEXTCLASS_VERSION_LEN + 1];
    snprintf(before, sizeof before, "%s", ob_textclass_version(loaded));
    ob_textclass_cv_t cv = {0.55, 0.04, 0.9, 0.03, 0.07}, back;
    ob_textclass_set_cv(loaded, &cv);
    assert(strcmp(before, ob_textclass_version(loaded)) != 0);
    rc = ob_textclass_serialize(loaded, &bytes2, &len2);
    assert(rc == 0);
    ob_textclass_destroy(&loaded);
    loaded = ob_textclass_load_mem(bytes2, len2, err, sizeof err);
    assert(loaded);
    ob_textclass_cv(loaded, &back);
    assert(fabs(back.threshold - 0.55) < 1e-6 && fabs(back.manual - 0.07) < 1e-6);
    free(bytes2);
    ob_textclass_destroy(&loaded);

    /* refused whole: every truncation, a flipped bit, another format, junk */
    for (size_t cut = 0; cut < len1; cut += 1 + cut / 4) {
        loaded = ob_textclass_load_mem(bytes1, cut, err, sizeof err);
        assert(!loaded && err[0]);
    }
    uint8_t *copy = malloc(len1);
    assert(copy);
    memcpy(copy, bytes1, len1);
    copy[len1 / 2] ^= 0x10;
    loaded = ob_textclass_load_mem(copy, len1, err, sizeof err);
    assert(!loaded && strstr(err, "checksum"));
    memcpy(copy, bytes1, len1);
    copy[S_MAGIC_LEN] = 2;   /* format 2, checksum made right */
    crypto_generichash(copy + len1 - S_SUM_BYTES, S_SUM_BYTES, copy, len1 - S_SUM_BYTES, NULL, 0);
    loaded = ob_textclass_load_mem(copy, len1, err, sizeof err);
    assert(!loaded && strstr(err, "format 2"));
    memcpy(copy, bytes1, len1);
    copy[S_MAGIC_LEN + 4 + 8] = 30;   /* bits 30, checksum made right */
    crypto_generichash(copy + len1 - S_SUM_BYTES, S_SUM_BYTES, copy, len1 - S_SUM_BYTES, NULL, 0);
    loaded = ob_textclass_load_mem(copy, len1, err, sizeof err);
    assert(!loaded && strstr(err, "inconsistent"));
    loaded = ob_textclass_load_mem((const uint8_t *) "labels: [a]\n", 12, err, sizeof err);
    assert(!loaded && strstr(err, "not an orderbus model"));
    free(copy);

    /* save and load through a file */
    char path[] = "/tmp/ob_textclass_test.XXXXXX";
    int fd = mkstemp(path);
    assert(fd >= 0);
    close(fd);
    rc = ob_textclass_save(model, path, err, sizeof err);
    assert(rc == 0);
    loaded = ob_textclass_load(path, err, sizeof err);
    assert(loaded);
    ob_textclass_destroy(&loaded);
    FILE *f = fopen(path, "wb");
    assert(f);
    size_t written = fwrite(bytes1, 1, len1 - 1, f);
    assert(written == len1 - 1);
    fclose(f);
    loaded = ob_textclass_load(path, err, sizeof err);
    assert(!loaded && strstr(err, path) && strstr(err, "checksum"));
    unlink(path);
    loaded = ob_textclass_load(path, err, sizeof err);
    assert(!loaded && strstr(err, "cannot open"));
    free(bytes1);
}

/* Training on two labels, and training refused. */
static void s_test_train_edges(const ob_textclass_doc_t *docs, ob_textclass_params_t *params)
{
    char err[256];
    ob_textclass_t *model;
    ob_textclass_guess_t top[2];
    size_t n;
    /* two labels: LIBLINEAR's one weight vector, both ways round */
    model = ob_textclass_train(docs, 60, params, err, sizeof err);   /* three labels */
    assert(model);
    ob_textclass_destroy(&model);
    ob_textclass_doc_t two[S_TEST_DOCS];
    size_t m = 0;
    for (size_t i = 0; i < S_TEST_DOCS; i++)
        if (i % 3 != 1)
            two[m++] = docs[i];
    model = ob_textclass_train(two, m, params, err, sizeof err);
    assert(model && ob_textclass_labels_count(model) == 2);
    n = ob_textclass_predict(model, "噪音", "污水排放，河道黑臭", top, 2);
    assert(n == 2 && strcmp(top[0].label, "环境保护") == 0 && top[0].prob > 0.5);
    n = ob_textclass_predict(model, "路灯", "道路破损，违章建筑", top, 2);
    assert(n == 2 && strcmp(top[0].label, "城乡建设") == 0 && top[0].prob > 0.5);
    ob_textclass_destroy(&model);

    /* refusals: one label, bad parameters */
    model = ob_textclass_train(docs, 1, params, err, sizeof err);
    assert(!model && strstr(err, "two labels"));
    params->ngram_max = 9;
    model = ob_textclass_train(docs, S_TEST_DOCS, params, err, sizeof err);
    assert(!model && strstr(err, "n-gram"));
}

void ob_textclass_test(bool verbose)
{
    ob_textclass_doc_t docs[S_TEST_DOCS];
    s_test_corpus(docs);
    ob_textclass_params_t params;
    ob_textclass_params_default(&params);
    params.bits = 16;
    char err[256];

    /* training: labels in byte order, a version, deterministic bytes */
    ob_textclass_t *model = ob_textclass_train(docs, S_TEST_DOCS, &params, err, sizeof err);
    assert(model);
    assert(ob_textclass_labels_count(model) == 3);
    assert(strcmp(ob_textclass_label(model, 0), "劳动和社会保障") == 0);
    assert(ob_textclass_has_label(model, "环境保护"));
    assert(!ob_textclass_has_label(model, "交通运输"));
    assert(strlen(ob_textclass_version(model)) == OB_TEXTCLASS_VERSION_LEN);
    assert(ob_textclass_docs(model) == S_TEST_DOCS);
    ob_textclass_t *again = ob_textclass_train(docs, S_TEST_DOCS, &params, err, sizeof err);
    assert(again);
    uint8_t *bytes1, *bytes2;
    size_t len1, len2;
    int rc = ob_textclass_serialize(model, &bytes1, &len1);
    assert(rc == 0);
    rc = ob_textclass_serialize(again, &bytes2, &len2);
    assert(rc == 0);
    assert(len1 == len2 && memcmp(bytes1, bytes2, len1) == 0);
    free(bytes2);
    ob_textclass_destroy(&again);
    assert(again == NULL);
    ob_textclass_destroy(&again);   /* twice is harmless */

    free(bytes1);
    s_test_predict(model);
    s_test_file(model, &params);
    ob_textclass_destroy(&model);
    s_test_train_edges(docs, &params);
    if (verbose)
        printf("textclass: %zu synthetic texts\n", (size_t) S_TEST_DOCS);
}
