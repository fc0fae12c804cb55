/*  ob_trainset.h — labelled texts for training the routing model
    (ob_textclass), read from CSV or JSON Lines, checked row by row.

    CSV (RFC 4180): the first record is the header; fields are separated
    by commas, a field may be quoted with '"' and then hold commas, doubled
    quotes and line breaks; records end with LF or CRLF; a UTF-8 BOM is
    skipped. JSON Lines: one JSON object per line (blank lines skipped).
    Columns (CSV header names, JSON keys): the title is the first of
    `subject`, `title`, `留言主题` present, the content the first of `body`,
    `content`, `留言详情`, the label `label` (each can be named instead);
    a JSON label may also be an array of strings (a category path), read as
    its elements joined with '/'.

    Every problem is reported with the line it is on (the line a CSV record
    starts on) and what to do about it; a file with any problem is refused
    whole. Problems: a row that does not parse (unclosed quote, stray
    quote, a field count other than the header's, invalid UTF-8, a NUL
    byte, JSON that is not an object), a row with no text, an empty label,
    a label not in the list of known labels (when one is given), and a
    label with fewer examples than asked for.                               */
#ifndef OB_TRAINSET_H
#define OB_TRAINSET_H

#include "ob_common.h"
#include "ob_textclass.h"

#define OB_TRAINSET_FILE_MAX  (1024u * 1024 * 1024)  /* larger files are refused */
#define OB_TRAINSET_FIELD_MAX (1024u * 1024)         /* bytes of one field */
#define OB_TRAINSET_FIELDS_MAX 1024                  /* fields of one CSV record */
#define OB_TRAINSET_ERRORS_SHOWN 20                  /* problems reported one by one */

typedef struct ob_trainset ob_trainset_t;

typedef enum { OB_TRAINSET_CSV = 1, OB_TRAINSET_JSONL = 2 } ob_trainset_format_t;

typedef struct {
    const char *title_column;    /* NULL: subject, title, 留言主题 */
    const char *content_column;  /* NULL: body, content, 留言详情 */
    const char *label_column;    /* NULL: label */
    const char *const *known;    /* labels allowed (NULL: any), n_known of them */
    size_t n_known;
    size_t min_per_label;        /* fewer examples of a label is a problem (0: none) */
} ob_trainset_opts_t;

/* Receives each problem: the line (0 for the file as a whole) and a
   message saying what is wrong and what to do. */
typedef void (ob_trainset_diag_fn)(void *arg, size_t line, const char *message);

/* Reads `path` (format by its name: .jsonl / .ndjson / .json is JSON Lines,
   anything else CSV). Returns the set, or NULL after reporting every
   problem through diag (at most OB_TRAINSET_ERRORS_SHOWN one by one, then
   a count) — also when the file cannot be read. */
ob_trainset_t *ob_trainset_read(const char *path, const ob_trainset_opts_t *opts,
                                ob_trainset_diag_fn *diag, void *arg);

/* The same from bytes in memory. */
ob_trainset_t *ob_trainset_parse(const char *data, size_t len, ob_trainset_format_t format,
                                 const ob_trainset_opts_t *opts, ob_trainset_diag_fn *diag,
                                 void *arg);

/* An empty set to fill with ob_trainset_add (training from a store). */
ob_trainset_t *ob_trainset_new(void);

/* Adds one labelled text (copied); `line` is what problems will name.
   Returns 0 or -1 (out of memory). */
int ob_trainset_add(ob_trainset_t *self, const char *title, const char *content,
                    const char *label, size_t line);

/* Checks the labels of the set against opts (known labels, examples per
   label), reporting each problem. Returns the number of problems. */
size_t ob_trainset_check(ob_trainset_t *self, const ob_trainset_opts_t *opts,
                         ob_trainset_diag_fn *diag, void *arg);

void ob_trainset_destroy(ob_trainset_t **self_p);

/* The texts, in file order, ready for ob_textclass_train; borrowed. */
size_t ob_trainset_count(ob_trainset_t *self);
const ob_textclass_doc_t *ob_trainset_docs(ob_trainset_t *self);
/* The line text i starts on. */
size_t ob_trainset_line(ob_trainset_t *self, size_t i);

void ob_trainset_test(bool verbose);

#endif
