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

void ob_yamltree_test(bool verbose);

#endif
