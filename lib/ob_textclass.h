/*  ob_textclass.h — a text classifier for routing: character n-grams of an
    order's title and content, logistic regression (LIBLINEAR), top-k
    labels with probabilities, and the n-grams that weighed most.

    What it sees. Both texts are reduced to a sequence of code points with
    everything a citizen's or a clerk's typing makes unreliable taken out:
    whitespace of every kind (ASCII, U+3000, NBSP), ASCII and CJK
    punctuation, control characters and invalid UTF-8. ASCII and fullwidth
    letters are folded to lowercase ASCII, every digit to '0'. Each
    n-gram (n from ngram_min to ngram_max) of that sequence is hashed into
    one of 2^bits features, title and content in separate feature spaces
    (the title's scaled by title_weight). A feature's value is
    (1 + ln tf) * idf, idf = ln((1 + N) / (1 + df)) + 1 over the N training
    texts; the vector is L2-normalised. An n-gram the training texts never
    had adds to the norm (with the largest idf) but to no class: a text
    made mostly of unseen n-grams gets flat probabilities, and abstains.

    The model. One-vs-rest L2-regularised logistic regression
    (LIBLINEAR's L2R_LR, trust-region Newton: no random numbers; rand() is
    seeded all the same, so a LIBLINEAR that draws them cannot make two
    trainings differ). A class's probability is LIBLINEAR's: the logistic
    of its decision value, normalised over the classes. Labels are numbered
    in byte order; the same documents in the same order give the same
    file, byte for byte.

    The file (version 1, little-endian):
        "OBTXTCL\n"      8 bytes magic
        u32 format version (1)
        u32 ngram_min, ngram_max, bits, n_docs
        f32 title_weight, C, default_idf, threshold, target, cv_right,
            cv_misrouted, cv_manual
        u32 n_class, then per class: u32 length, the label's UTF-8 bytes
        u32 n_rows, then per row (ascending feature index, each once):
            u32 index, f32 idf, f32 weight[n_class]
        f32 bias[n_class]
        32 bytes BLAKE2b-256 (crypto_generichash) of everything before
    A file that is truncated, altered, of another format version or not
    consistent with itself is refused whole; the message says which.
    The version printed as model@version is the checksum's first 12 hex
    digits.                                                                */
#ifndef OB_TEXTCLASS_H
#define OB_TEXTCLASS_H

#include "ob_common.h"

#define OB_TEXTCLASS_FORMAT      1
#define OB_TEXTCLASS_FILE_MAX    (512u * 1024 * 1024) /* larger files are refused */
#define OB_TEXTCLASS_LABEL_MAX   256    /* bytes of a label, NUL excluded */
#define OB_TEXTCLASS_CLASSES_MAX 4096
#define OB_TEXTCLASS_GRAM_MAX    32     /* bytes of an explained n-gram, NUL included */
#define OB_TEXTCLASS_VERSION_LEN 12     /* hex digits of the version */
#define OB_TEXTCLASS_TEXT_MAX    16384  /* code points of a text that are looked at */

typedef struct ob_textclass ob_textclass_t;

/* Feature and training parameters; ob_textclass_params_default() fills in
   the ones the shipped example was tuned with. */
typedef struct {
    unsigned ngram_min;    /* shortest n-gram, >= 1 */
    unsigned ngram_max;    /* longest n-gram, <= 5 */
    unsigned bits;         /* 2^bits hashed features, 10..24 */
    double title_weight;   /* scale of the title's features, > 0 */
    double C;              /* LIBLINEAR's cost (inverse regularisation), > 0 */
} ob_textclass_params_t;

/* One labelled text for training. Strings are borrowed. */
typedef struct {
    const char *title;
    const char *content;
    const char *label;
} ob_textclass_doc_t;

/* One prediction: a label (borrowed from the model) and its probability. */
typedef struct {
    const char *label;
    double prob;
} ob_textclass_guess_t;

/* One n-gram of the text and how much it weighed for a label. */
typedef struct {
    char gram[OB_TEXTCLASS_GRAM_MAX];  /* UTF-8, after normalisation */
    bool title;                        /* from the title (else the content) */
    double weight;                     /* its term in the label's decision value */
} ob_textclass_gram_t;

void ob_textclass_params_default(ob_textclass_params_t *params);

/* Trains a model on `n` documents (each with a non-empty label; at least
   two distinct labels). Returns the model, or NULL with a message in err
   (bad parameters, fewer than two labels, out of memory, LIBLINEAR
   refused the problem). Deterministic: see the banner. */
ob_textclass_t *ob_textclass_train(const ob_textclass_doc_t *docs, size_t n,
                                   const ob_textclass_params_t *params, char *err,
                                   size_t errlen);

/* Loads a model file. NULL with a message in err naming the file and what
   is wrong: cannot be read, over OB_TEXTCLASS_FILE_MAX, not a model file,
   another format version, truncated, checksum mismatch, inconsistent. */
ob_textclass_t *ob_textclass_load(const char *path, char *err, size_t errlen);

/* The same from bytes in memory (err does not name a file). */
ob_textclass_t *ob_textclass_load_mem(const uint8_t *data, size_t len, char *err,
                                      size_t errlen);

/* Writes the model to `path` (a temporary file renamed into place, so a
   reader never sees half a model). Returns 0, or -1 with a message. */
int ob_textclass_save(ob_textclass_t *self, const char *path, char *err, size_t errlen);

/* The model as the bytes of its file: *out is malloc'd (caller frees).
   Returns 0, or -1 (out of memory). */
int ob_textclass_serialize(ob_textclass_t *self, uint8_t **out, size_t *len);

void ob_textclass_destroy(ob_textclass_t **self_p);

/* Predicts: fills out[0..k-1] with the k most probable labels, most
   probable first (ties in label order), and returns how many were filled
   (min(k, number of labels)). NULL title or content reads as "". */
size_t ob_textclass_predict(ob_textclass_t *self, const char *title, const char *content,
                            ob_textclass_guess_t *out, size_t k);

/* The n-grams of the text that weighed most for `label` (the predicted
   one when NULL), largest term first, at most k. Returns how many were
   filled; 0 when the label is unknown or no n-gram of the text is known. */
size_t ob_textclass_explain(ob_textclass_t *self, const char *title, const char *content,
                            const char *label, ob_textclass_gram_t *out, size_t k);

/* The labels, in the model's order (byte order); i < ob_textclass_labels_count. */
size_t ob_textclass_labels_count(ob_textclass_t *self);
const char *ob_textclass_label(ob_textclass_t *self, size_t i);
/* True if `label` is one of the model's labels. */
bool ob_textclass_has_label(ob_textclass_t *self, const char *label);

/* The version: the first OB_TEXTCLASS_VERSION_LEN hex digits of the file's
   checksum (of the bytes it would be saved as, for a model just trained). */
const char *ob_textclass_version(ob_textclass_t *self);

/* Parameters the model was trained with, and how many training texts. */
void ob_textclass_params(ob_textclass_t *self, ob_textclass_params_t *params);
size_t ob_textclass_docs(ob_textclass_t *self);

/* The threshold chosen by cross-validation (0 until one is set), the
   misroute target it was chosen for, and the cross-validated shares of
   orders routed right, misrouted and left to manual at it. */
typedef struct {
    double threshold, target, right, misrouted, manual;
} ob_textclass_cv_t;
void ob_textclass_cv(ob_textclass_t *self, ob_textclass_cv_t *cv);
void ob_textclass_set_cv(ob_textclass_t *self, const ob_textclass_cv_t *cv);

/* Bytes of memory the loaded model holds. */
size_t ob_textclass_memory(ob_textclass_t *self);

void ob_textclass_test(bool verbose);

#endif
