/*  ob_yamltree.h — a small positioned YAML tree for configuration files
    (rule files, calendar files), read with libyaml's event API.

    A file is read whole into a tree of scalars, sequences and mappings,
    each node keeping the 1-based line and column where it starts. The
    parser refuses what a configuration file never needs and what could
    make loading costly or unsafe: aliases (*name: they could make the tree
    cyclic or exponentially large), more than one document, NUL characters
    in values, mapping keys that are not scalars, more nodes or deeper
    nesting than the caller's limits, and input that is not valid UTF-8.
    Every error is "path:line:column: message".

    The tree is immutable once parsed; nodes are plain documented structs
    owned by the tree, valid until ob_yamltree_destroy().                   */
#ifndef OB_YAMLTREE_H
#define OB_YAMLTREE_H

#include "ob_common.h"
#include <stdarg.h>

/* Deepest nesting any caller may ask for (limits.max_depth is capped). */
#define OB_YAMLTREE_DEPTH_MAX 256

typedef enum { OB_YAML_SCALAR, OB_YAML_SEQ, OB_YAML_MAP } ob_yamlkind_t;

typedef struct ob_yamlnode ob_yamlnode_t;
struct ob_yamlnode {
    ob_yamlkind_t kind;
    size_t line, col;      /* 1-based position of the node's start (column in characters) */
    char *text;            /* scalar value, NUL-free, NUL-terminated; NULL otherwise */
    size_t len;            /* its length in bytes */
    bool plain;            /* scalar was written without quotes or block style */
    ob_yamlnode_t **kids;  /* sequence items; mapping: key, value, key, value... */
    size_t nkids;          /* entries in kids (a mapping: twice its pairs) */
    size_t cap;            /* allocated entries (internal) */
};

/* What a parse may accept, and how the file is named in messages. */
typedef struct {
    size_t max_nodes;  /* scalars and collections in the file */
    size_t max_depth;  /* nesting of collections (at most OB_YAMLTREE_DEPTH_MAX) */
    const char *what;  /* the kind of file, e.g. "rule file", in messages */
} ob_yamltree_limits_t;

typedef struct ob_yamltree ob_yamltree_t;

/* Parses buf[0..len) (UTF-8; `path` names it in errors). Returns a tree,
   whose root is NULL for an empty stream, or NULL with "path:line:column:
   message" in err (when err is not NULL and errlen > 0). Fails on invalid
   YAML or UTF-8, an alias, a second document, a NUL in a value, a
   collection as mapping key, more than limits->max_nodes nodes, nesting
   deeper than limits->max_depth, or out of memory. */
ob_yamltree_t *ob_yamltree_parse(const void *buf, size_t len, const char *path,
                                 const ob_yamltree_limits_t *limits, char *err, size_t errlen);

/* Frees the tree and all its nodes; sets *self_p to NULL. Safe on NULL. */
void ob_yamltree_destroy(ob_yamltree_t **self_p);

/* The document's root node, NULL for an empty stream. */
const ob_yamlnode_t *ob_yamltree_root(ob_yamltree_t *self);

/* Writes "path:line:column: message" into err (truncated to errlen).
   Returns the offset of the message in err, 0 when the prefix did not fit
   or err is NULL or errlen 0 (nothing is written then). */
size_t ob_yamltree_verror(char *err, size_t errlen, const char *path, size_t line, size_t col,
                          const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

/* The same with variadic arguments; returns -1, so that loaders can write
   `return ob_yamltree_error(...)`. */
int ob_yamltree_error(char *err, size_t errlen, const char *path, size_t line, size_t col,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Reads back the position of an error that ob_yamltree_parse() or
   ob_yamltree_error() wrote for `path`: sets *line and *col (0 when err
   holds no "path:line:column: " prefix) and returns the message's offset
   in err (0 likewise). */
size_t ob_yamltree_error_where(const char *err, const char *path, size_t *line, size_t *col);

/* The value of `key` in mapping `map`, NULL when map is not a mapping or
   has no such key (the first one wins). */
const ob_yamlnode_t *ob_yamlnode_get(const ob_yamlnode_t *map, const char *key);

/* True for a plain null scalar: empty, ~, null, Null or NULL. */
bool ob_yamlnode_is_null(const ob_yamlnode_t *node);

/* True for a scalar with at least one byte. */
bool ob_yamlnode_is_text(const ob_yamlnode_t *node);

/* "mapping", "list" or "scalar", for messages. */
const char *ob_yamlnode_kind_name(const ob_yamlnode_t *node);

/* Bytes of `text` to quote in an error: at most `max`, cut on a UTF-8
   character boundary so that the message stays valid UTF-8. */
int ob_yamltree_show(const char *text, size_t max);

/* --- schema helpers: checking a tree against a file format ----------------

   The rule and calendar loaders validate their trees with these. Every
   helper that can fail writes "path:line:column: message" through the
   context and returns -1; 0 on success. */

/* A problem reported in check mode (ob_rules_check): line 0 is a problem
   of the whole file. */
typedef void(ob_yamlctx_diag_fn)(void *arg, bool warning, const char *path, size_t line,
                                 size_t col, const char *message);

/* A loader's context: where its errors go. Set path, err, errlen (and the
   optional fields); zero the rest. */
typedef struct {
    const char *path;               /* the file, as errors name it */
    char *err;                      /* error buffer; NULL or errlen 0: none written */
    size_t errlen;
    const char *const *reserved;    /* NULL-terminated keys refused as reserved for a
                                       later release of `release_of`; NULL: none */
    const char *release_of;         /* e.g. "the rules engine" */
    ob_yamlctx_diag_fn *diag;       /* check mode: errors go here too (see report) */
    void *diag_arg;
    int nerrors;                    /* errors reported */
    size_t eline, ecol;             /* position of the last error (0 0: whole file) */
    size_t emsg;                    /* offset of its message in err */
    bool pending;                   /* an error was written and not yet reported */
} ob_yamlctx_t;

/* Writes "path:line:column: message" into ctx->err, or "path: message"
   when line is 0 (a problem of the whole file), and keeps its position
   for ob_yamlctx_report. Returns -1, so that loaders can `return
   ob_yamlctx_fail(...)`. */
int ob_yamlctx_fail(ob_yamlctx_t *ctx, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same at a node's position. */
#define ob_yamlctx_fail_at(ctx, node, ...) \
    ob_yamlctx_fail((ctx), (node)->line, (node)->col, __VA_ARGS__)

/* Reports the error last written (check mode): counts it and hands it to
   ctx->diag when there is one. */
void ob_yamlctx_report(ob_yamlctx_t *ctx);

/* Bytes of `text` to quote in an error: ob_yamltree_show at 64 bytes. */
int ob_yamlctx_show(const char *text);

/* One accepted key of a mapping, and what ob_yamlctx_fields found. */
typedef struct {
    const char *key;            /* accepted key */
    ob_yamlnode_t *val;         /* its value, NULL when absent */
    ob_yamlnode_t *keynode;     /* its key node, for positions */
} ob_yamlfield_t;

/* Checks that `map` (`what` in errors) is a mapping whose keys are among
   fields[0..n), each at most once, and fills each field's val. Fails on a
   node that is not a mapping, an unknown key (a reserved one said so) or
   a duplicate key. */
int ob_yamlctx_fields(ob_yamlctx_t *ctx, const ob_yamlnode_t *map, const char *what,
                      ob_yamlfield_t *fields, size_t n);

/* Fails with "missing required key" at `map` when field has no value. */
int ob_yamlctx_require(ob_yamlctx_t *ctx, const ob_yamlnode_t *map,
                       const ob_yamlfield_t *field, const char *what);

/* A non-empty, non-null string scalar of at most max bytes into *out
   (borrowed from the tree). */
int ob_yamlctx_string(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                      size_t max, const char **out);

/* An identifier [a-z0-9_-]{1,OB_DEPT_MAX-1} into *out (borrowed). */
int ob_yamlctx_ident(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                     const char **out);

/* A plain (unquoted) decimal integer scalar in [min, max]. */
int ob_yamlctx_integer(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                       long min, long max, long *out);

/* A plain true or false (any case). */
int ob_yamlctx_bool(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what, bool *out);

/* A scalar with at least one byte ("a single value"). */
int ob_yamlctx_scalar(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what);

/* A sequence (may be empty). */
int ob_yamlctx_list(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what);

/* Called by ob_yamlctx_one_or_list for each item; 0 or -1 (error set). */
typedef int (*ob_yamlctx_each_fn)(ob_yamlctx_t *ctx, const ob_yamlnode_t *item, void *arg);

/* A single item, or a list of 1 to max items, handed one by one to
   `each`. A single item is a scalar, or also a mapping when map_is_item
   (a list item may be anything `each` accepts). Fails on a mapping that
   is not an item, an empty or too long list, or when `each` fails. */
int ob_yamlctx_one_or_list(ob_yamlctx_t *ctx, const ob_yamlnode_t *node, const char *what,
                           size_t max, bool map_is_item, ob_yamlctx_each_fn each, void *arg);

void ob_yamltree_test(bool verbose);

#endif
