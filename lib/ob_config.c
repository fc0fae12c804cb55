/*  ob_config.c — daemon and CLI configuration files (YAML, libyaml).

    The file is read whole (capped at OB_CONFIG_MAX_BYTES) and walked with
    libyaml's event parser. The root must be a mapping; nested mappings are
    flattened to dotted keys ("broker.endpoint"), scalars are kept as text,
    and anything else (sequences, aliases, several documents, duplicate
    keys) is refused with "file:line:column: message". Empty values, `~`
    and `null` count as absent. Every error is a message, never an abort:
    config files are input.                                                */
#include <yaml.h>
#include <assert.h>
#include <ctype.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sysexits.h>
#include "ob_config.h"
#include "ob_common.h"
#include "ob_util.h"
#include "ob_selftest.h"   /* last: asserts on in the self-test, also with -DNDEBUG */

#define OB_CONFIG_MAX_BYTES (1024 * 1024)  /* a config file is small */
#define OB_CONFIG_MAX_KEYS  2048
#define OB_CONFIG_MAX_DEPTH 16
#define OB_CONFIG_KEY_MAX   256           /* dotted key length */

typedef struct {
    char *key;         /* dotted key */
    char *value;       /* scalar text, NULL for null / empty */
    char *resolved;    /* ob_config_path's answer, made on first use */
    size_t line;       /* 1-based position of the value, for messages */
    size_t column;
} s_entry_t;

struct ob_config {
    char *path;        /* the file as given, for messages */
    char *dir;         /* directory relative paths resolve against */
    s_entry_t *entries;
    size_t count;
    size_t cap;
};

/* Parser state shared by the recursive walk. */
typedef struct {
    ob_config_t *self;
    yaml_parser_t parser;
    char *err;
    size_t errlen;
} s_walk_t;

static void s_error_at(s_walk_t *w, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets err to "file:line:column: message" for `mark` (0-based in libyaml). */
static void s_error_at(s_walk_t *w, yaml_mark_t mark, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(w->err, w->errlen, "%s:%zu:%zu: %s", w->self->path, mark.line + 1, mark.column + 1,
             msg);
}

/* Next event, or -1 with libyaml's own message and position in err. */
static int s_next(s_walk_t *w, yaml_event_t *event)
{
    if (yaml_parser_parse(&w->parser, event))
        return 0;
    yaml_parser_t *p = &w->parser;
    const char *problem = p->problem ? p->problem : "cannot parse YAML";
    if (p->error == YAML_READER_ERROR)
        snprintf(w->err, w->errlen, "%s: byte %zu: %s", w->self->path, p->problem_offset, problem);
    else if (p->error == YAML_MEMORY_ERROR)
        snprintf(w->err, w->errlen, "%s: out of memory", w->self->path);
    else if (p->context)
        snprintf(w->err, w->errlen, "%s:%zu:%zu: %s %s", w->self->path, p->problem_mark.line + 1,
                 p->problem_mark.column + 1, problem, p->context);
    else
        snprintf(w->err, w->errlen, "%s:%zu:%zu: %s", w->self->path, p->problem_mark.line + 1,
                 p->problem_mark.column + 1, problem);
    return -1;
}

static s_entry_t *s_find(ob_config_t *self, const char *key)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->entries[i].key, key) == 0)
            return &self->entries[i];
    return NULL;
}

/* True for the plain scalars YAML reads as null. */
static bool s_is_null(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *) ev->data.scalar.value;
    return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0
           || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int s_add(s_walk_t *w, const char *key, yaml_mark_t key_mark, const yaml_event_t *ev)
{
    ob_config_t *self = w->self;
    if (s_find(self, key)) {
        s_error_at(w, key_mark, "duplicate key '%s'", key);
        return -1;
    }
    if (self->count == OB_CONFIG_MAX_KEYS) {
        s_error_at(w, ev->start_mark, "more than %d keys", OB_CONFIG_MAX_KEYS);
        return -1;
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        s_entry_t *grown = (s_entry_t *) realloc(self->entries, cap * sizeof *grown);
        if (!grown)
            goto nomem;
        self->entries = grown;
        self->cap = cap;
    }
    s_entry_t *e = &self->entries[self->count];
    memset(e, 0, sizeof *e);
    e->key = strdup(key);
    if (!e->key)
        goto nomem;
    if (!s_is_null(ev)) {
        e->value = strdup((const char *) ev->data.scalar.value);
        if (!e->value) {
            free(e->key);
            goto nomem;
        }
    }
    e->line = ev->start_mark.line + 1;
    e->column = ev->start_mark.column + 1;
    self->count++;
    return 0;
nomem:
    snprintf(w->err, w->errlen, "%s: out of memory", self->path);
    return -1;
}

/* Walks one mapping whose MAPPING_START has been read, adding its scalars
   under `prefix` (NULL at the root). Returns 0 or -1 with err. */
static int s_walk_mapping(s_walk_t *w, const char *prefix, int depth)
{
    int rc = -1;
    yaml_event_t key_ev, val_ev;
    bool have_key = false, have_val = false;
    char full[OB_CONFIG_KEY_MAX + 1];

    while (true) {
        if (s_next(w, &key_ev) < 0)
            goto out;
        have_key = true;
        if (key_ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (key_ev.type == YAML_ALIAS_EVENT) {
            s_error_at(w, key_ev.start_mark, "aliases are not supported");
            goto out;
        }
        if (key_ev.type != YAML_SCALAR_EVENT) {
            s_error_at(w, key_ev.start_mark, "a key must be plain text");
            goto out;
        }
        const char *key = (const char *) key_ev.data.scalar.value;
        if (key_ev.data.scalar.length == 0 || strlen(key) != key_ev.data.scalar.length) {
            s_error_at(w, key_ev.start_mark, "empty key or key with a NUL byte");
            goto out;
        }
        int n = prefix ? snprintf(full, sizeof full, "%s.%s", prefix, key)
                       : snprintf(full, sizeof full, "%s", key);
        if (n < 0 || (size_t) n >= sizeof full) {
            s_error_at(w, key_ev.start_mark, "key longer than 256 bytes");
            goto out;
        }

        if (s_next(w, &val_ev) < 0)
            goto out;
        have_val = true;
        switch (val_ev.type) {
        case YAML_SCALAR_EVENT:
            if (strlen((const char *) val_ev.data.scalar.value) != val_ev.data.scalar.length) {
                s_error_at(w, val_ev.start_mark, "value of '%s' contains a NUL byte", full);
                goto out;
            }
            if (s_add(w, full, key_ev.start_mark, &val_ev) < 0)
                goto out;
            break;
        case YAML_MAPPING_START_EVENT:
            if (depth + 1 >= OB_CONFIG_MAX_DEPTH) {
                s_error_at(w, val_ev.start_mark, "'%s' is nested too deeply", full);
                goto out;
            }
            if (s_walk_mapping(w, full, depth + 1) < 0)
                goto out;
            break;
        case YAML_SEQUENCE_START_EVENT:
            s_error_at(w, val_ev.start_mark,
                       "'%s' is a list: config values must be single values or mappings", full);
            goto out;
        case YAML_ALIAS_EVENT:
            s_error_at(w, val_ev.start_mark, "'%s' is an alias: aliases are not supported", full);
            goto out;
        default:
            s_error_at(w, val_ev.start_mark, "unexpected YAML structure at '%s'", full);
            goto out;
        }
        yaml_event_delete(&val_ev);
        have_val = false;
        yaml_event_delete(&key_ev);
        have_key = false;
    }
    rc = 0;
out:
    if (have_val)
        yaml_event_delete(&val_ev);
    if (have_key)
        yaml_event_delete(&key_ev);
    return rc;
}

/* Walks the whole stream: nothing, or one document holding a mapping (or
   an empty document). Returns 0 or -1 with err. */
static int s_walk(s_walk_t *w)
{
    int rc = -1;
    yaml_event_t ev;
    bool have = false;
    int documents = 0;

    if (s_next(w, &ev) < 0)
        goto out;
    have = true;
    if (ev.type != YAML_STREAM_START_EVENT) {
        s_error_at(w, ev.start_mark, "not a YAML stream");
        goto out;
    }
    while (true) {
        yaml_event_delete(&ev);
        have = false;
        if (s_next(w, &ev) < 0)
            goto out;
        have = true;
        if (ev.type == YAML_STREAM_END_EVENT)
            break;
        if (ev.type != YAML_DOCUMENT_START_EVENT) {
            s_error_at(w, ev.start_mark, "unexpected YAML structure");
            goto out;
        }
        if (++documents > 1) {
            s_error_at(w, ev.start_mark, "a config file holds one YAML document, not several");
            goto out;
        }
        yaml_event_delete(&ev);
        have = false;
        if (s_next(w, &ev) < 0)
            goto out;
        have = true;
        if (ev.type == YAML_MAPPING_START_EVENT) {
            if (s_walk_mapping(w, NULL, 0) < 0)
                goto out;
        }
        else if (!(ev.type == YAML_SCALAR_EVENT && s_is_null(&ev))) {
            s_error_at(w, ev.start_mark, "a config file must be a mapping of keys to values");
            goto out;
        }
        yaml_event_delete(&ev);
        have = false;
        if (s_next(w, &ev) < 0)
            goto out;
        have = true;
        if (ev.type != YAML_DOCUMENT_END_EVENT) {
            s_error_at(w, ev.start_mark, "unexpected YAML structure");
            goto out;
        }
    }
    rc = 0;
out:
    if (have)
        yaml_event_delete(&ev);
    return rc;
}

/* Reads `path` whole into a NUL-terminated buffer, refusing more than
   OB_CONFIG_MAX_BYTES. Returns the buffer (free it) or NULL with err. */
static char *s_slurp(const char *path, size_t *len_out, char *err, size_t errlen)
{
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read config file '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "config file '%s' is not a regular file", path);
        goto fail;
    }
    if (st.st_size > OB_CONFIG_MAX_BYTES) {
        snprintf(err, errlen, "config file '%s' is larger than %d bytes", path,
                 OB_CONFIG_MAX_BYTES);
        goto fail;
    }
    size_t want = (size_t) st.st_size;
    text = (char *) malloc(want + 1);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    size_t len = fread(text, 1, want, f);
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read config file '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (len != want || fgetc(f) != EOF) {
        snprintf(err, errlen, "config file '%s' changed while it was read", path);
        goto fail;
    }
    text[len] = '\0';
    fclose(f);
    *len_out = len;
    return text;
fail:
    free(text);
    fclose(f);
    return NULL;
}

/* The directory of `path`, absolute when it can be resolved, so that
   relative paths stay right after a daemon changes directory. */
static char *s_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *dir = dirname(copy);
    char real[PATH_MAX];
    char *result = realpath(dir, real) ? strdup(real) : strdup(dir);
    free(copy);
    return result;
}

ob_config_t *ob_config_load(const char *path, char *err, size_t errlen)
{
    ob_config_t *self = NULL;
    char *text = NULL;
    size_t len = 0;
    s_walk_t w;
    bool parser_ready = false;

    if (!path || !*path) {
        snprintf(err, errlen, "config file path is empty");
        goto fail;
    }
    text = s_slurp(path, &len, err, errlen);
    if (!text)
        goto fail;
    self = (ob_config_t *) calloc(1, sizeof *self);
    if (!self)
        goto nomem;
    self->path = strdup(path);
    self->dir = s_dir_of(path);
    if (!self->path || !self->dir)
        goto nomem;

    memset(&w, 0, sizeof w);
    w.self = self;
    w.err = err;
    w.errlen = errlen;
    if (!yaml_parser_initialize(&w.parser))
        goto nomem;
    parser_ready = true;
    yaml_parser_set_input_string(&w.parser, (const unsigned char *) text, len);
    yaml_parser_set_encoding(&w.parser, YAML_UTF8_ENCODING);
    if (s_walk(&w) < 0)
        goto fail;
    yaml_parser_delete(&w.parser);
    free(text);
    return self;

nomem:
    snprintf(err, errlen, "%s: out of memory", path ? path : "config");
fail:
    if (parser_ready)
        yaml_parser_delete(&w.parser);
    free(text);
    ob_config_destroy(&self);
    return NULL;
}

void ob_config_destroy(ob_config_t **self_p)
{
    assert(self_p);
    ob_config_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        free(self->entries[i].key);
        free(self->entries[i].value);
        free(self->entries[i].resolved);
    }
    free(self->entries);
    free(self->path);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

const char *ob_config_get(ob_config_t *self, const char *key, const char *dflt)
{
    assert(self && key);
    s_entry_t *e = s_find(self, key);
    return e && e->value ? e->value : dflt;
}

/* Integer in [min, max], decimal with an optional sign; anything else
   (text, fractions, overflow) is an error naming the key and position. */
int ob_config_get_long(ob_config_t *self, const char *key, long dflt, long min, long max,
                       long *out, char *err, size_t errlen)
{
    assert(self && key && out);
    s_entry_t *e = s_find(self, key);
    if (!e || !e->value) {
        *out = dflt;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(e->value, &end, 10);
    bool ok = errno == 0 && end != e->value && *end == '\0' && e->value[0] != ' '
              && e->value[0] != '\t';
    if (!ok || v < min || v > max) {
        snprintf(err, errlen, "%s:%zu:%zu: '%s' must be an integer from %ld to %ld", self->path,
                 e->line, e->column, key, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

const char *ob_config_path(ob_config_t *self, const char *key)
{
    assert(self && key);
    s_entry_t *e = s_find(self, key);
    if (!e || !e->value || !*e->value)
        return NULL;
    if (e->value[0] == '/')
        return e->value;
    /* ipc:// and tcp:// endpoints are not paths; leave anything with a scheme alone */
    if (strstr(e->value, "://"))
        return e->value;
    if (!e->resolved) {
        size_t n = strlen(self->dir) + 1 + strlen(e->value) + 1;
        e->resolved = (char *) malloc(n);
        if (!e->resolved)
            return NULL;
        snprintf(e->resolved, n, "%s/%s", self->dir, e->value);
    }
    return e->resolved;
}

size_t ob_config_count(ob_config_t *self)
{
    assert(self);
    return self->count;
}

const char *ob_config_key(ob_config_t *self, size_t i)
{
    assert(self);
    return i < self->count ? self->entries[i].key : NULL;
}

/* --- the key table -------------------------------------------------------- */

/* True when `name` is the key's name, in YAML ('_') or flag ('-') spelling. */
static bool s_key_is(const char *key, const char *name)
{
    for (; *key && *name; key++, name++)
        if (*key != *name && !(*key == '_' && *name == '-'))
            return false;
    return *key == '\0' && *name == '\0';
}

const ob_config_key_t *ob_config_key_find(const ob_config_key_t *table, const char *name)
{
    for (const ob_config_key_t *k = table; k && k->name; k++)
        if (s_key_is(k->name, name))
            return k;
    return NULL;
}

/* Decimal integer, optional sign, nothing else. Returns 0 or -1. */
static int s_parse_long(const char *s, long *out)
{
    if (!*s || isspace((unsigned char) *s))
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* The "what is allowed" part of a message for `key`. */
static void s_allowed(const ob_config_key_t *key, char *buf, size_t len)
{
    switch (key->kind) {
    case OB_CONFIG_LONG:
        snprintf(buf, len, "an integer from %ld to %ld", key->min, key->max);
        break;
    case OB_CONFIG_U64:
        snprintf(buf, len, "a number from 0 to %llu", (unsigned long long) UINT64_MAX);
        break;
    case OB_CONFIG_BOOL:
        snprintf(buf, len, "true or false");
        break;
    case OB_CONFIG_RANGE:
        snprintf(buf, len, "MIN:MAX, integers from %ld to %ld with MIN <= MAX", key->min,
                 key->max);
        break;
    case OB_CONFIG_CHOICE: {
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = 0; key->choices && key->choices[i] && used < len; i++)
            used += (size_t) snprintf(buf + used, len - used, "%s%s",
                                      i == 0 ? "one of " : ", ", key->choices[i]);
        break;
    }
    default:
        snprintf(buf, len, "text");
        break;
    }
}

/* Parses `value` for `key` into `field`. Returns 0 or -1. */
static int s_parse_value(const ob_config_key_t *key, void *field, const char *value)
{
    long a, b;
    switch (key->kind) {
    case OB_CONFIG_STRING:
    case OB_CONFIG_PATH:
        *(const char **) field = value;
        return 0;
    case OB_CONFIG_LONG:
        if (s_parse_long(value, &a) || a < key->min || a > key->max)
            return -1;
        *(long *) field = a;
        return 0;
    case OB_CONFIG_U64: {
        if (!isdigit((unsigned char) value[0]))
            return -1;
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || *end)
            return -1;
        *(uint64_t *) field = v;
        return 0;
    }
    case OB_CONFIG_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on")
            || !strcmp(value, "1"))
            *(bool *) field = true;
        else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off")
                 || !strcmp(value, "0"))
            *(bool *) field = false;
        else
            return -1;
        return 0;
    case OB_CONFIG_RANGE: {
        char buf[64];
        const char *colon = strchr(value, ':');
        if (!colon || (size_t) (colon - value) >= sizeof buf)
            return -1;
        memcpy(buf, value, (size_t) (colon - value));
        buf[colon - value] = '\0';
        if (s_parse_long(buf, &a) || s_parse_long(colon + 1, &b) || a < key->min
            || b > key->max || a > b)
            return -1;
        ((long *) field)[0] = a;
        ((long *) field)[1] = b;
        return 0;
    }
    case OB_CONFIG_CHOICE:
        for (int i = 0; key->choices && key->choices[i]; i++)
            if (!strcmp(value, key->choices[i])) {
                *(int *) field = i;
                return 0;
            }
        return -1;
    }
    return -1;
}

int ob_config_key_set(const ob_config_key_t *key, void *settings, const char *value,
                      const char *where, char *err, size_t errlen)
{
    assert(key && settings && value);
    if (s_parse_value(key, (char *) settings + key->offset, value) == 0)
        return 0;
    char flag[OB_CONFIG_KEY_MAX + 3], allowed[256];
    if (!where) {
        snprintf(flag, sizeof flag, "--%s", key->name);
        for (char *c = flag; *c; c++)
            if (*c == '_')
                *c = '-';
        where = flag;
    }
    s_allowed(key, allowed, sizeof allowed);
    snprintf(err, errlen, "%s '%s' must be %s", where, value, allowed);
    return -1;
}

int ob_config_apply(ob_config_t *self, const ob_config_key_t *table, void *settings,
                    char *err, size_t errlen)
{
    assert(self && table && settings);
    for (const ob_config_key_t *k = table; k->name; k++) {
        s_entry_t *e = s_find(self, k->name);
        if (!e || !e->value)
            continue;
        const char *value = k->kind == OB_CONFIG_PATH ? ob_config_path(self, k->name) : e->value;
        if (!value) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        char where[OB_CONFIG_KEY_MAX + 4096];
        snprintf(where, sizeof where, "%s:%zu:%zu: '%s'", self->path, e->line, e->column,
                 k->name);
        if (ob_config_key_set(k, settings, value, where, err, errlen) != 0)
            return -1;
    }
    return 0;
}

const char *ob_config_next_unknown(ob_config_t *self, const ob_config_key_t *table,
                                   size_t *iter)
{
    assert(self && iter);
    while (*iter < self->count) {
        const char *key = self->entries[(*iter)++].key;
        bool known = false;
        for (const ob_config_key_t *k = table; k && k->name && !known; k++)
            known = strcmp(k->name, key) == 0;
        if (!known)
            return key;
    }
    return NULL;
}

/* --- self-test ------------------------------------------------------------ */

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert(f);
    size_t wrote = fwrite(text, 1, strlen(text), f);
    assert(wrote == strlen(text));
    fclose(f);
}

/* Loads `text` from `path`, expecting failure with `want` in the message. */
static void s_expect_error(const char *path, const char *text, const char *want, bool verbose)
{
    char err[512] = "";
    s_write(path, text);
    ob_config_t *c = ob_config_load(path, err, sizeof err);
    if (c || !strstr(err, want)) {
        fprintf(stderr, "config test: wanted '%s', got '%s'\n", want, c ? "(loaded)" : err);
        assert(0);
    }
    if (verbose)
        printf("\n    %s", err);
}

/* The key table, as a daemon's main uses it. */
typedef struct {
    const char *data;
    long heartbeat_ms;
    uint64_t seed;
    bool demo;
    long delay[2];
    int level;
} s_settings_t;

static void s_key_table_test(const char *dir, bool verbose)
{
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    static const ob_config_key_t keys[] = {
        {"data", OB_CONFIG_PATH, 0, 0, offsetof(s_settings_t, data), NULL},
        {"heartbeat_ms", OB_CONFIG_LONG, 50, 600000, offsetof(s_settings_t, heartbeat_ms), NULL},
        {"demo_seed", OB_CONFIG_U64, 0, 0, offsetof(s_settings_t, seed), NULL},
        {"demo_auto", OB_CONFIG_BOOL, 0, 0, offsetof(s_settings_t, demo), NULL},
        {"demo_delay_ms", OB_CONFIG_RANGE, 0, 3600000, offsetof(s_settings_t, delay), NULL},
        {"log_level", OB_CONFIG_CHOICE, 0, 0, offsetof(s_settings_t, level), levels},
        OB_CONFIG_KEY_END,
    };
    char path[256], err[512], want[512];
    s_settings_t st = {.heartbeat_ms = 1000, .level = 2};
    assert(ob_config_key_find(keys, "heartbeat-ms") == &keys[1]);
    assert(ob_config_key_find(keys, "heartbeat_ms") == &keys[1]);
    assert(ob_config_key_find(keys, "heartbeat") == NULL);

    /* flags: range-checked, the message names the flag, the value, the range */
    int rc = ob_config_key_set(&keys[1], &st, "250", NULL, err, sizeof err);
    assert(rc == 0 && st.heartbeat_ms == 250);
    const char *bad[] = {"0", "-5", "49", "600001", "1e3", "250ms", "", " 250", "nan",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = ob_config_key_set(&keys[1], &st, bad[i], NULL, err, sizeof err);
        assert(rc == -1 && st.heartbeat_ms == 250);
        ob_fmt(want, sizeof want, "--heartbeat-ms '%s' must be an integer from 50 to 600000",
               bad[i]);
        assert(strcmp(err, want) == 0);
    }
    if (verbose)
        printf("\n    %s", err);
    rc = ob_config_key_set(&keys[4], &st, "20:200", NULL, err, sizeof err);
    assert(rc == 0 && st.delay[0] == 20 && st.delay[1] == 200);
    rc = ob_config_key_set(&keys[4], &st, "200:20", NULL, err, sizeof err);
    assert(rc == -1 && strstr(err, "--demo-delay-ms '200:20' must be MIN:MAX"));
    rc = ob_config_key_set(&keys[2], &st, "-1", NULL, err, sizeof err);
    assert(rc == -1);
    rc = ob_config_key_set(&keys[2], &st, "18446744073709551615", NULL, err, sizeof err);
    assert(rc == 0 && st.seed == UINT64_MAX);
    rc = ob_config_key_set(&keys[5], &st, "loud", NULL, err, sizeof err);
    assert(rc == -1);
    assert(strcmp(err, "--log-level 'loud' must be one of error, warn, info, debug") == 0);

    /* the file: typed, resolved, positioned errors, unknown keys */
    ob_fmt(path, sizeof path, "%s/node.yaml", dir);
    s_write(path, "data: store\nheartbeat_ms: 500\ndemo_auto: yes\nlog_level: debug\n"
                  "colour: blue\n");
    ob_config_t *c = ob_config_load(path, err, sizeof err);
    assert(c);
    rc = ob_config_apply(c, keys, &st, err, sizeof err);
    assert(rc == 0 && st.heartbeat_ms == 500 && st.demo && st.level == 3);
    assert(st.data && st.data[0] == '/' && strstr(st.data, "/store"));
    size_t iter = 0;
    const char *unknown = ob_config_next_unknown(c, keys, &iter);
    assert(unknown && strcmp(unknown, "colour") == 0);
    const char *next = ob_config_next_unknown(c, keys, &iter);
    assert(next == NULL);
    ob_config_destroy(&c);
    s_write(path, "heartbeat_ms: 0\n");
    c = ob_config_load(path, err, sizeof err);
    assert(c);
    rc = ob_config_apply(c, keys, &st, err, sizeof err);
    assert(rc == -1);
    ob_fmt(want, sizeof want, "%s:1:15: 'heartbeat_ms' '0' must be an integer from 50 to 600000",
           path);
    assert(strcmp(err, want) == 0);
    ob_config_destroy(&c);
    unlink(path);
}

/* --- a daemon's command line ---------------------------------------------- */

#define S_CLI_CONFIG 256
#define S_CLI_VERSION 257
#define S_CLI_KEY 512            /* + index in the key table */
#define S_CLI_MAX_KEYS 128
#define S_CLI_MAX_FLAGS 128

typedef struct {
    const ob_config_key_t *key;
    const char *value;
} s_cli_flag_t;

/* getopt_long's table: --config, the key table's flags, the extras, -v -q -h
   --version. */
static void s_cli_longopts(const ob_config_cli_t *cli, struct option *o, char names[][40])
{
    size_t n = 0;
    o[n++] = (struct option){"config", required_argument, NULL, S_CLI_CONFIG};
    for (size_t i = 0; cli->keys[i].name && i < S_CLI_MAX_KEYS; i++) {
        snprintf(names[i], 40, "%s", cli->keys[i].name);
        for (char *c = names[i]; *c; c++)
            if (*c == '_')
                *c = '-';
        int arg = cli->keys[i].kind == OB_CONFIG_BOOL ? no_argument : required_argument;
        o[n++] = (struct option){names[i], arg, NULL, S_CLI_KEY + (int) i};
    }
    for (size_t i = 0; cli->extra && cli->extra[i].name; i++)
        o[n++] = cli->extra[i];
    o[n++] = (struct option){"verbose", no_argument, NULL, 'v'};
    o[n++] = (struct option){"quiet", no_argument, NULL, 'q'};
    o[n++] = (struct option){"help", no_argument, NULL, 'h'};
    o[n++] = (struct option){"version", no_argument, NULL, S_CLI_VERSION};
    o[n] = (struct option){NULL, 0, NULL, 0};
}

/* Reads argv. Returns 0, -1 (help or version answered) or EX_USAGE. */
static int s_cli_flags(const ob_config_cli_t *cli, void *settings, int argc, char **argv,
                       s_cli_flag_t *flags, size_t *nflags, ob_config_cli_result_t *out)
{
    static char names[S_CLI_MAX_KEYS][40];
    struct option longopts[S_CLI_MAX_KEYS + 32];
    s_cli_longopts(cli, longopts, names);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
        if (c >= S_CLI_KEY && *nflags < S_CLI_MAX_FLAGS) {
            const ob_config_key_t *k = &cli->keys[c - S_CLI_KEY];
            flags[(*nflags)++] = (s_cli_flag_t){k, k->kind == OB_CONFIG_BOOL ? "true" : optarg};
            continue;
        }
        int rc = 0;
        switch (c) {
        case S_CLI_CONFIG: out->config = optarg; break;
        case 'v': out->level = 3; break;   /* OB_LOG_DEBUG */
        case 'q': out->level = 1; break;   /* OB_LOG_WARN */
        case 'h': cli->usage(stdout); return -1;
        case S_CLI_VERSION: printf("%s %s\n", cli->prog, OB_VERSION_STRING); return -1;
        default:
            rc = c >= 1000 && cli->take_extra ? cli->take_extra(settings, c, optarg) : EX_USAGE;
            if (rc) {
                fprintf(stderr, "try '%s --help'\n", cli->prog);
                return rc;
            }
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\ntry '%s --help'\n", cli->prog,
                argv[optind], cli->prog);
        return EX_USAGE;
    }
    return 0;
}

/* Loads the config file into settings (before the flags). Returns 0 or
   EX_CONFIG with the error printed. */
static int s_cli_file(const ob_config_cli_t *cli, void *settings, ob_config_cli_result_t *out)
{
    char err[4096 + 512];
    out->file = ob_config_load(out->config, err, sizeof err);
    if (!out->file) {
        fprintf(stderr, "%s: %s\n", cli->prog, err);
        return EX_CONFIG;
    }
    size_t iter = 0;
    const char *unknown;
    int rc = 0;
    while ((unknown = ob_config_next_unknown(out->file, cli->keys, &iter))) {
        fprintf(stderr, "%s: %s: %s key '%s'%s\n", cli->prog, out->config,
                cli->unknown_keys_refused ? "unknown" : "warning: unknown", unknown,
                cli->unknown_keys_refused ? "" : " ignored");
        rc = cli->unknown_keys_refused ? EX_CONFIG : 0;
    }
    if (!rc && ob_config_apply(out->file, cli->keys, settings, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", cli->prog, err);
        rc = EX_CONFIG;
    }
    return rc;
}

int ob_config_cli_parse(const ob_config_cli_t *cli, void *settings, int argc, char **argv,
                        ob_config_cli_result_t *out)
{
    *out = (ob_config_cli_result_t){NULL, NULL, -1};
    s_cli_flag_t flags[S_CLI_MAX_FLAGS];
    size_t nflags = 0;
    int rc = s_cli_flags(cli, settings, argc, argv, flags, &nflags, out);
    if (rc)
        return rc;
    if (out->config && (rc = s_cli_file(cli, settings, out)) != 0)
        return rc;
    char err[512];
    for (size_t i = 0; i < nflags; i++)
        if (ob_config_key_set(flags[i].key, settings, flags[i].value, NULL, err, sizeof err)) {
            fprintf(stderr, "%s: %s\ntry '%s --help'\n", cli->prog, err, cli->prog);
            return EX_USAGE;
        }
    return 0;
}

void ob_config_test(bool verbose)
{
    char err[512];
    char dir[] = "/tmp/ob_config_test.XXXXXX";
    char *made = mkdtemp(dir);
    assert(made);
    char path[256], want[512];
    ob_fmt(path, sizeof path, "%s/broker.yaml", dir);

    s_write(path, "# orderbus broker\n"
                  "site: 市热线中心\n"
                  "broker:\n"
                  "  endpoint: tcp://127.0.0.1:7001\n"
                  "  window: 64\n"
                  "  nested:\n"
                  "    deeper: \"yes\"\n"
                  "store:\n"
                  "  path: data/broker\n"
                  "  absolute: /var/lib/orderbus\n"
                  "  map_mb: -5\n"
                  "empty:\n"
                  "tilde: ~\n"
                  "quoted_null: 'null'\n"
                  "flow: {a: 1, b: two}\n");
    ob_config_t *c = ob_config_load(path, err, sizeof err);
    if (!c)
        fprintf(stderr, "config test: %s\n", err);
    assert(c);
    assert(strcmp(ob_config_get(c, "site", NULL), "市热线中心") == 0);
    assert(strcmp(ob_config_get(c, "broker.endpoint", NULL), "tcp://127.0.0.1:7001") == 0);
    assert(strcmp(ob_config_get(c, "broker.nested.deeper", NULL), "yes") == 0);
    assert(strcmp(ob_config_get(c, "flow.b", NULL), "two") == 0);
    assert(strcmp(ob_config_get(c, "missing", "dflt"), "dflt") == 0);
    assert(strcmp(ob_config_get(c, "empty", "dflt"), "dflt") == 0);
    assert(strcmp(ob_config_get(c, "tilde", "dflt"), "dflt") == 0);
    assert(strcmp(ob_config_get(c, "quoted_null", NULL), "null") == 0);
    assert(ob_config_get(c, "broker", NULL) == NULL);   /* a mapping is not a value */

    long v = 0;
    int rc = ob_config_get_long(c, "broker.window", 1, 1, 1000, &v, err, sizeof err);
    assert(rc == 0);
    assert(v == 64);
    rc = ob_config_get_long(c, "store.map_mb", 7, -10, 10, &v, err, sizeof err);
    assert(rc == 0);
    assert(v == -5);
    rc = ob_config_get_long(c, "absent", 7, 1, 10, &v, err, sizeof err);
    assert(rc == 0 && v == 7);
    rc = ob_config_get_long(c, "empty", 8, 1, 10, &v, err, sizeof err);
    assert(rc == 0 && v == 8);
    rc = ob_config_get_long(c, "broker.window", 1, 1, 10, &v, err, sizeof err);
    assert(rc == -1);
    ob_fmt(want, sizeof want, "%s:5:11: 'broker.window' must be an integer from 1 to 10", path);
    assert(strcmp(err, want) == 0);
    rc = ob_config_get_long(c, "broker.endpoint", 1, 1, 10, &v, err, sizeof err);
    assert(rc == -1);
    rc = ob_config_get_long(c, "flow.a", 1, 1, 10, &v, err, sizeof err);
    assert(rc == 0 && v == 1);

    const char *p = ob_config_path(c, "store.path");
    char real[PATH_MAX];
    char *resolved = realpath(dir, real);
    assert(resolved);
    ob_fmt(want, sizeof want, "%s/data/broker", real);
    assert(p && strcmp(p, want) == 0);
    assert(ob_config_path(c, "store.path") == p);      /* stable, borrowed */
    assert(strcmp(ob_config_path(c, "store.absolute"), "/var/lib/orderbus") == 0);
    assert(ob_config_path(c, "missing") == NULL);
    assert(ob_config_path(c, "empty") == NULL);

    /* keys in file order, for unknown-key checks */
    assert(ob_config_count(c) == 12);
    assert(strcmp(ob_config_key(c, 0), "site") == 0);
    assert(strcmp(ob_config_key(c, 1), "broker.endpoint") == 0);
    assert(ob_config_key(c, 12) == NULL);
    ob_config_destroy(&c);
    ob_config_destroy(&c);
    assert(c == NULL);

    /* empty and comment-only files are empty configs */
    s_write(path, "");
    c = ob_config_load(path, err, sizeof err);
    assert(c && ob_config_count(c) == 0);
    ob_config_destroy(&c);
    s_write(path, "# nothing yet\n---\n");
    c = ob_config_load(path, err, sizeof err);
    assert(c && ob_config_count(c) == 0);
    ob_config_destroy(&c);

    /* errors, with positions */
    char missing[256];
    ob_fmt(missing, sizeof missing, "%s/missing.yaml", dir);
    ob_config_t *loaded = ob_config_load(missing, err, sizeof err);
    assert(loaded == NULL);
    ob_fmt(want, sizeof want, "cannot read config file '%s': No such file or directory", missing);
    assert(strcmp(err, want) == 0);

    ob_fmt(want, sizeof want, "%s:3:5: 'broker.peers' is a list", path);
    s_expect_error(path, "broker:\n  peers:\n    - a\n    - b\n", want, verbose);
    ob_fmt(want, sizeof want, "%s:3:1: duplicate key 'a'", path);
    s_expect_error(path, "a: 1\nb: 2\na: 3\n", want, verbose);
    ob_fmt(want, sizeof want, "%s:3:3: duplicate key 'x.y'", path);
    s_expect_error(path, "x.y: 1\nx:\n  y: 2\n", want, verbose);
    ob_fmt(want, sizeof want, "%s:1:1: a config file must be a mapping", path);
    s_expect_error(path, "just text\n", want, verbose);
    s_expect_error(path, "- a\n- b\n", "must be a mapping", verbose);
    ob_fmt(want, sizeof want, "%s:2:5: mapping values are not allowed", path);
    s_expect_error(path, "x: 1\na: b: c\n", want, verbose);           /* libyaml's message */
    s_expect_error(path, "a: 1\n b: 2\n", ":2:3: mapping values are not allowed", verbose);
    s_expect_error(path, "a:\n\tb: 1\n", path, verbose);                /* tab indent */
    s_expect_error(path, "a: &x 1\nb: *x\n", "aliases are not supported", verbose);
    s_expect_error(path, "a: 1\n---\nb: 2\n", "one YAML document", verbose);
    s_expect_error(path, "? [a, b]\n: 1\n", "a key must be plain text", verbose);
    s_expect_error(path, "a: \"\\0\"\n", "NUL byte", verbose);
    s_expect_error(path, "a: \xff\xfe\n", "byte", verbose);               /* invalid UTF-8 */
    s_expect_error(path, "a: {b: {c: {d: {e: {f: {g: {h: {i: {j: {k: {l: {m: {n: {o: {p: {q: 1}}}}}}}}}}}}}}}}\n",
                   "nested too deeply", verbose);
    s_expect_error(path, "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "is a list", verbose);

    /* too large */
    char *big = (char *) malloc(OB_CONFIG_MAX_BYTES + 64);
    assert(big);
    memset(big, '#', OB_CONFIG_MAX_BYTES + 10);
    big[OB_CONFIG_MAX_BYTES + 10] = '\0';
    s_expect_error(path, big, "larger than", verbose);
    free(big);

    /* a directory is not a config file */
    loaded = ob_config_load(dir, err, sizeof err);
    assert(loaded == NULL);
    assert(strstr(err, "not a regular file"));

    unlink(path);
    s_key_table_test(dir, verbose);
    rc = rmdir(dir);
    assert(rc == 0);
    if (verbose)
        printf("\n");
}
