/*  node_opts.c — orderbus-node's flags and config file, on one key table.
    Every setting has one entry in s_keys: its YAML name (the flag is the
    same name with '-'), its kind and its range; ob_config parses both
    spellings and names the key and the range when a value is refused.  */
#include "node_opts.h"
#include "ob_config.h"
#include "ob_log.h"
#include "ob_util.h"
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

int node_opts_parse(node_opts_t *opts, int argc, char **argv)
{
    *opts = (node_opts_t){.heartbeat_ms = 1000, .demo_delay_ms = {20, 200},
                          .demo_return_pct = 4, .log_level = -1};
    static const ob_config_cli_t cli = {"orderbus-node", s_keys, s_usage, false, NULL, NULL};
    ob_config_cli_result_t got;
    int rc = ob_config_cli_parse(&cli, opts, argc, argv, &got);
    opts->config = got.config;
    opts->file = got.file;
    if (rc)
        return rc;
    /* a seed given (flag or file) makes the demo repeatable; else random */
    for (int i = 1; i < argc; i++)
        opts->demo_seed_set = opts->demo_seed_set || strncmp(argv[i], "--demo-seed", 11) == 0;
    if (got.file && ob_config_get(got.file, "demo_seed", NULL))
        opts->demo_seed_set = true;
    if (got.level >= 0)
        opts->log_level = got.level;
    const char *what = opts->config ? " (or set it in the config file)" : "";
    const char *required[][2] = {{opts->data_dir, "--data DIR"},
                                 {opts->broker, "--broker ENDPOINT"},
                                 {opts->broker_key, "--broker-key FILE"},
                                 {opts->key, "--key FILE"}};
    int bad = 0;
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
