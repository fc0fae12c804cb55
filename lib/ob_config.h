/*  ob_config.h — daemon and CLI configuration files (YAML, libyaml).

    A config file is a YAML mapping; nested mappings are flattened to dotted
    keys ("broker.endpoint"); scalar values only (a sequence is an error).
    Relative paths are resolved against the file's directory by
    ob_config_path. Errors carry file:line:column.                         */
#ifndef OB_CONFIG_H
#define OB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ob_config ob_config_t;

/* Loads `path`. NULL with "file:line:column: message" in err on failure. */
ob_config_t *ob_config_load(const char *path, char *err, size_t errlen);
void ob_config_destroy(ob_config_t **self_p);

/* Value of `key` or `dflt` when absent (borrowed, valid until destroy). */
const char *ob_config_get(ob_config_t *self, const char *key, const char *dflt);

/* Integer value: 0 and *out set (dflt when absent), -1 with err when the
   value is not an integer in [min, max]. */
int ob_config_get_long(ob_config_t *self, const char *key, long dflt, long min, long max,
                       long *out, char *err, size_t errlen);

/* Path value resolved against the config file's directory when relative;
   NULL when absent. Borrowed, valid until destroy. */
const char *ob_config_path(ob_config_t *self, const char *key);

/* Keys present in the file, for "unknown key" checks: count and i-th key. */
size_t ob_config_count(ob_config_t *self);
const char *ob_config_key(ob_config_t *self, size_t i);

void ob_config_test(bool verbose);

#endif
