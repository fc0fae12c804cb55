/*  ob_config.h — daemon and CLI configuration files (YAML, libyaml).

    A config file is a YAML mapping; nested mappings are flattened to dotted
    keys ("broker.endpoint"); scalar values only (a sequence is an error).
    Relative paths are resolved against the file's directory by
    ob_config_path. Errors carry file:line:column.                         */
#ifndef OB_CONFIG_H
#define OB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <getopt.h>

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

/* --- the key table ----------------------------------------------------------

   A daemon's settings are one struct with a typed field per key, and one
   table saying, for each key, its YAML name, its kind, its range and where
   its field is. The same entry parses the YAML key `name` and the flag
   `--name` with '_' written '-' (heartbeat_ms: --heartbeat-ms), so a file and
   a flag can never disagree about what a value means. Order: defaults in
   the struct, then ob_config_apply (the file), then ob_config_key_set for
   each flag (flags override the file).                                    */

typedef enum {
    OB_CONFIG_STRING = 1,   /* const char * (borrowed from argv or the file) */
    OB_CONFIG_PATH,         /* const char *, relative paths of the file resolved
                               against its directory */
    OB_CONFIG_LONG,         /* long in [min, max] */
    OB_CONFIG_U64,          /* uint64_t, decimal, no sign */
    OB_CONFIG_BOOL,         /* bool: true/false, yes/no, on/off, 1/0; as a flag
                               it takes no value and means true */
    OB_CONFIG_RANGE,        /* long[2] "MIN:MAX", each in [min, max], MIN <= MAX */
    OB_CONFIG_CHOICE        /* int: index of the value in `choices` */
} ob_config_kind_t;

typedef struct {
    const char *name;       /* YAML key; the flag is --name with '-' for '_' */
    ob_config_kind_t kind;
    long min, max;          /* OB_CONFIG_LONG and OB_CONFIG_RANGE: inclusive */
    size_t offset;          /* offsetof(settings, field) */
    const char *const *choices;   /* OB_CONFIG_CHOICE: NULL-terminated names */
} ob_config_key_t;

/* A table ends with an entry whose name is NULL. */
#define OB_CONFIG_KEY_END {NULL, 0, 0, 0, 0, NULL}

/* The entry of `table` named `name` (YAML spelling, or the flag's with
   '-'), or NULL. */
const ob_config_key_t *ob_config_key_find(const ob_config_key_t *table, const char *name);

/* Parses `value` into the field of `settings` that `key` names. `where` says
   where the value came from, for the message ("--heartbeat-ms", or
   "FILE:LINE:COL: 'heartbeat_ms'"); NULL: the flag's spelling. Returns 0,
   or -1 with a message naming the key, the value and what is allowed
   ("--heartbeat-ms '0' must be an integer from 50 to 600000"). */
int ob_config_key_set(const ob_config_key_t *key, void *settings, const char *value,
                      const char *where, char *err, size_t errlen);

/* Parses every key of `table` present in the file into `settings`.
   Returns 0, or -1 with the first error (file:line:col, key, range). */
int ob_config_apply(ob_config_t *self, const ob_config_key_t *table, void *settings,
                    char *err, size_t errlen);

/* Keys of the file that `table` does not know, one a call: pass *iter = 0
   first. Returns the key, or NULL when there are no more. */
const char *ob_config_next_unknown(ob_config_t *self, const ob_config_key_t *table,
                                   size_t *iter);

/* --- a daemon's command line on its key table ---------------------------

   --config FILE, a flag per key of the table, -v/--verbose, -q/--quiet,
   -h/--help, --version, and the daemon's own extra flags. Defaults are in
   `settings` already; the file is applied first, then the flags, so flags
   override the file. */
typedef struct {
    const char *prog;                     /* "orderbus-broker" */
    const ob_config_key_t *keys;
    void (*usage)(FILE *out);
    bool unknown_keys_refused;            /* an unknown key of the file: EX_CONFIG
                                             (false: a warning) */
    /* extra flags the table does not hold (a repeatable flag...): their
       getopt_long entries (val >= 1000) and the function that takes one,
       returning 0 or EX_USAGE with a message printed; NULL: none */
    const struct option *extra;
    int (*take_extra)(void *settings, int val, const char *arg);
} ob_config_cli_t;

/* What ob_config_cli_parse read besides the settings. */
typedef struct {
    const char *config;                   /* --config FILE, NULL: none */
    ob_config_t *file;                    /* the loaded file (owned: destroy it after
                                             the daemon, its strings are borrowed) */
    int level;                            /* -v / -q: OB_LOG_DEBUG / OB_LOG_WARN, -1 */
} ob_config_cli_result_t;

/* Reads argv and the config file it names into `settings`. Returns 0 to
   run, -1 when --help or --version was answered (exit 0), or a sysexits code
   with what was wrong printed to stderr: EX_USAGE (a bad flag or value) or
   EX_CONFIG (a bad file, key or value in it). */
int ob_config_cli_parse(const ob_config_cli_t *cli, void *settings, int argc, char **argv,
                        ob_config_cli_result_t *out);

void ob_config_test(bool verbose);

#endif
