/*  node_opts.c — orderbus-node's flags and config file, on one key table.
    Every setting has one entry in s_keys: its YAML name (the flag is the
    same name with '-'), its kind and its range; ob_config parses both
    spellings and names the key and the range when a value is refused.  */
#include "node_opts.h"
#include "ob_config.h"
#include "ob_log.h"
#include "ob_util.h"
#include <getopt.h>
#include <stddef.h>
#include <sysexits.h>

static const char *const s_levels[] = {"error", "warn", "info", "debug", NULL};

#define S_KEY(name, kind, min, max, field) \
    {name, kind, min, max, offsetof(node_opts_t, field), NULL}

static const ob_config_key_t s_keys[] = {
    S_KEY("data", OB_CONFIG_PATH, 0, 0, data_dir),
    S_KEY("broker", OB_CONFIG_STRING, 0, 0, broker),
    S_KEY("broker_key", OB_CONFIG_PATH, 0, 0, broker_key),
    S_KEY("key", OB_CONFIG_PATH, 0, 0, key),
    S_KEY("heartbeat_ms", OB_CONFIG_LONG, 50, 600000, heartbeat_ms),
    S_KEY("map_mb", OB_CONFIG_LONG, 1, 1048576, map_mb),
    S_KEY("demo_auto", OB_CONFIG_BOOL, 0, 0, demo_auto),
    S_KEY("demo_seed", OB_CONFIG_U64, 0, 0, demo_seed),
    S_KEY("demo_delay_ms", OB_CONFIG_RANGE, 0, 3600000, demo_delay_ms),
    S_KEY("demo_return_pct", OB_CONFIG_LONG, 0, 100, demo_return_pct),
    {"log_level", OB_CONFIG_CHOICE, 0, 0, offsetof(node_opts_t, log_level), s_levels},
    OB_CONFIG_KEY_END,
};

static void s_usage(FILE *out)
{
    fprintf(out,
"NAME\n"
"    orderbus-node - department node daemon of orderbus (承办单位节点)\n"
"\n"
"SYNOPSIS\n"
"    orderbus-node [--config FILE] --data DIR --broker ENDPOINT --broker-key FILE\n"
"                  --key FILE [--heartbeat-ms MS] [--map-mb N] [--demo-auto]\n"
"                  [--demo-seed N] [--demo-delay-ms MIN:MAX] [--demo-return-pct P]\n"
"                  [-v | -q]\n"
"\n"
"DESCRIPTION\n"
"    Holds one department's work orders in a local LMDB store (DIR), receives\n"
"    dispatches, recalls and decisions from the broker over CurveZMQ, and\n"
"    forwards the department's sign, progress, return and reply actions to the\n"
"    broker, store and forward: actions are committed locally first and sent\n"
"    when the broker is reachable. The clerk CLI talks to the local service at\n"
"    ipc://DIR/node.sock (DIR is mode 0700). Logs go to stderr.\n"
"\n"
"OPTIONS\n"
"    --config FILE          YAML config; keys: data, broker, broker_key, key,\n"
"                           heartbeat_ms, map_mb, demo_auto, demo_seed,\n"
"                           demo_delay_ms, demo_return_pct, log_level. Flags\n"
"                           override the file; relative paths are resolved\n"
"                           against its directory.\n"
"    --data DIR             data directory (store, lock, node.sock), created 0700\n"
"    --broker ENDPOINT      broker node link, e.g. tcp://127.0.0.1:5570\n"
"    --broker-key FILE      the broker's public key file\n"
"    --key FILE             this node's keypair (FILE and FILE_secret)\n"
"    --heartbeat-ms MS      heartbeat interval until the broker's Welcome gives\n"
"                           its own (50..600000, default 1000); the broker is\n"
"                           considered gone after 3 silent intervals\n"
"    --map-mb N             initial LMDB map size in MiB (default 256); the map\n"
"                           grows by itself when it fills up\n"
"    --demo-auto            demo auto-handling mode: the node signs, returns,\n"
"                           reports progress and replies by itself (demos, tests)\n"
"    --demo-seed N          random seed of the demo agent (default: random)\n"
"    --demo-delay-ms MIN:MAX  delay before each demo step (default 20:200)\n"
"    --demo-return-pct P    share of first dispatches the demo returns (default 4)\n"
"    -v, --verbose          log every message (debug)\n"
"    -q, --quiet            log warnings and errors only\n"
"    -h, --help             this text\n"
"    --version              print the version\n"
"\n"
"SIGNALS\n"
"    SIGTERM, SIGINT        stop cleanly (everything acknowledged is committed)\n"
"\n"
"EXIT STATUS\n"
"    0 clean stop; 64 bad usage; 73 cannot create the store or socket;\n"
"    75 another node runs on DIR; 78 bad configuration or key file;\n"
"    69 cannot set up the broker link; 70 internal error.\n"
"\n"
"EXAMPLE\n"
"    orderbus-node --data site/nodes/housing --broker tcp://127.0.0.1:5570 \\\n"
"        --broker-key site/keys/broker.key --key site/keys/housing.key\n");
}

enum { S_OPT_CONFIG = 256, S_OPT_VERSION, S_OPT_KEY /* + index in s_keys */ };

/* A flag given on the command line, applied after the file. */
typedef struct {
    const ob_config_key_t *key;
    const char *value;
} s_flag_t;

#define S_MAX_FLAGS 64

/* getopt_long's table: --config, the key table's flags, -v -q -h --version. */
static void s_longopts(struct option *o, char names[][40])
{
    size_t n = 0;
    o[n++] = (struct option){"config", required_argument, NULL, S_OPT_CONFIG};
    for (size_t i = 0; s_keys[i].name; i++) {
        ob_fmt(names[i], 40, "%s", s_keys[i].name);
        for (char *c = names[i]; *c; c++)
            if (*c == '_')
                *c = '-';
        int arg = s_keys[i].kind == OB_CONFIG_BOOL ? no_argument : required_argument;
        o[n++] = (struct option){names[i], arg, NULL, S_OPT_KEY + (int) i};
    }
    o[n++] = (struct option){"verbose", no_argument, NULL, 'v'};
    o[n++] = (struct option){"quiet", no_argument, NULL, 'q'};
    o[n++] = (struct option){"help", no_argument, NULL, 'h'};
    o[n++] = (struct option){"version", no_argument, NULL, S_OPT_VERSION};
    o[n] = (struct option){NULL, 0, NULL, 0};
}

/* Reads argv. Returns 0, -1 (help or version answered) or EX_USAGE. */
static int s_read_flags(node_opts_t *opts, int argc, char **argv, s_flag_t *flags,
                        size_t *nflags, int *level)
{
    static char names[sizeof s_keys / sizeof s_keys[0]][40];
    struct option longopts[sizeof s_keys / sizeof s_keys[0] + 8];
    s_longopts(longopts, names);
    int c;
    while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
        if (c >= S_OPT_KEY && *nflags < S_MAX_FLAGS) {
            const ob_config_key_t *k = &s_keys[c - S_OPT_KEY];
            flags[(*nflags)++] = (s_flag_t){k, k->kind == OB_CONFIG_BOOL ? "true" : optarg};
            continue;
        }
        switch (c) {
        case S_OPT_CONFIG: opts->config = optarg; break;
        case 'v': *level = OB_LOG_DEBUG; break;
        case 'q': *level = OB_LOG_WARN; break;
        case 'h': s_usage(stdout); return -1;
        case S_OPT_VERSION: printf("orderbus-node %s\n", OB_VERSION_STRING); return -1;
        default:
            fprintf(stderr, "try 'orderbus-node --help'\n");
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "orderbus-node: unexpected argument '%s'\ntry 'orderbus-node --help'\n",
                argv[optind]);
        return EX_USAGE;
    }
    return 0;
}

/* Loads the config file into opts (before the flags). Returns 0 or
   EX_CONFIG with the error printed. */
static int s_read_file(node_opts_t *opts)
{
    char err[4096 + 512];
    ob_config_t *file = ob_config_load(opts->config, err, sizeof err);
    if (!file) {
        fprintf(stderr, "orderbus-node: %s\n", err);
        return EX_CONFIG;
    }
    opts->file = file;
    size_t iter = 0;
    const char *unknown;
    while ((unknown = ob_config_next_unknown(file, s_keys, &iter)))
        fprintf(stderr, "orderbus-node: warning: unknown key '%s' in '%s' ignored\n", unknown,
                opts->config);
    if (ob_config_apply(file, s_keys, opts, err, sizeof err) != 0) {
        fprintf(stderr, "orderbus-node: %s\n", err);
        return EX_CONFIG;
    }
    return 0;
}

int node_opts_parse(node_opts_t *opts, int argc, char **argv)
{
    *opts = (node_opts_t){.heartbeat_ms = 1000, .demo_delay_ms = {20, 200},
                          .demo_return_pct = 4, .log_level = -1};
    s_flag_t flags[S_MAX_FLAGS];
    size_t nflags = 0;
    int level = -1;
    int rc = s_read_flags(opts, argc, argv, flags, &nflags, &level);
    if (rc)
        return rc;
    if (opts->config && (rc = s_read_file(opts)) != 0)
        return rc;
    int bad = 0;
    char err[512];
    for (size_t i = 0; i < nflags; i++)
        if (ob_config_key_set(flags[i].key, opts, flags[i].value, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "orderbus-node: %s\n", err);
            bad = 1;
        }
    const ob_config_key_t *seed = ob_config_key_find(s_keys, "demo_seed");
    for (size_t i = 0; i < nflags; i++)
        opts->demo_seed_set = opts->demo_seed_set || flags[i].key == seed;
    if (opts->file && ob_config_get(opts->file, "demo_seed", NULL))
        opts->demo_seed_set = true;
    if (level >= 0)
        opts->log_level = level;
    const char *what = opts->config ? " (or set it in the config file)" : "";
    const char *required[][2] = {{opts->data_dir, "--data DIR"},
                                 {opts->broker, "--broker ENDPOINT"},
                                 {opts->broker_key, "--broker-key FILE"},
                                 {opts->key, "--key FILE"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i][0]) {
            fprintf(stderr, "orderbus-node: %s is required%s\n", required[i][1], what);
            bad = 1;
        }
    if (bad) {
        fprintf(stderr, "try 'orderbus-node --help'\n");
        return opts->config ? EX_CONFIG : EX_USAGE;
    }
    return 0;
}

void node_opts_clear(node_opts_t *opts)
{
    ob_config_t *file = opts->file;
    ob_config_destroy(&file);
    opts->file = NULL;
}
