/*  main.c — orderbus-node: the department node daemon's thin main().
    Flags (and an optional YAML config file they override), libsodium,
    construct, signal handlers that only set a flag, run, destroy.         */
#include "ob_common.h"
#include "ob_config.h"
#include "ob_log.h"
#include "node.h"
#include "ob_util.h"
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <sysexits.h>

static volatile sig_atomic_t s_stop = 0;

static void s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

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
"    --heartbeat-ms MS      heartbeat interval (default 1000); the broker is\n"
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

enum {
    OPT_CONFIG = 256, OPT_DATA, OPT_BROKER, OPT_BROKER_KEY, OPT_KEY, OPT_HEARTBEAT, OPT_MAP_MB,
    OPT_DEMO_AUTO, OPT_DEMO_SEED, OPT_DEMO_DELAY, OPT_DEMO_RETURN, OPT_VERSION
};

/* Parses an integer in [min, max]. Returns 0 or -1. */
static int s_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Parses "MIN:MAX" milliseconds. Returns 0 or -1. */
static int s_parse_range(const char *s, int *min, int *max)
{
    char buf[64];
    if (!s || strlen(s) >= sizeof buf)
        return -1;
    ob_fmt(buf, sizeof buf, "%s", s);
    char *colon = strchr(buf, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    long a, b;
    if (s_parse_long(buf, 0, 3600000, &a) || s_parse_long(colon + 1, 0, 3600000, &b) || a > b)
        return -1;
    *min = (int) a;
    *max = (int) b;
    return 0;
}

static int s_parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
        *out = false;
    else
        return -1;
    return 0;
}

static int s_parse_level(const char *s, int *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    if (!strcmp(s, "warning")) {
        *out = OB_LOG_WARN;
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"data", required_argument, NULL, OPT_DATA},
        {"broker", required_argument, NULL, OPT_BROKER},
        {"broker-key", required_argument, NULL, OPT_BROKER_KEY},
        {"key", required_argument, NULL, OPT_KEY},
        {"heartbeat-ms", required_argument, NULL, OPT_HEARTBEAT},
        {"map-mb", required_argument, NULL, OPT_MAP_MB},
        {"demo-auto", no_argument, NULL, OPT_DEMO_AUTO},
        {"demo-seed", required_argument, NULL, OPT_DEMO_SEED},
        {"demo-delay-ms", required_argument, NULL, OPT_DEMO_DELAY},
        {"demo-return-pct", required_argument, NULL, OPT_DEMO_RETURN},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *data = NULL, *broker = NULL, *broker_key = NULL,
               *key = NULL, *heartbeat = NULL, *map_mb = NULL, *seed = NULL, *delay = NULL,
               *ret_pct = NULL;
    bool demo_auto = false, demo_auto_set = false;
    int level = -1;
    int exit_code = 0;
    ob_config_t *config = NULL;
    node_t *node = NULL;
    char err[512];

    ob_log_init("orderbus-node", OB_LOG_INFO);
    int c;
    while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG: config_path = optarg; break;
        case OPT_DATA: data = optarg; break;
        case OPT_BROKER: broker = optarg; break;
        case OPT_BROKER_KEY: broker_key = optarg; break;
        case OPT_KEY: key = optarg; break;
        case OPT_HEARTBEAT: heartbeat = optarg; break;
        case OPT_MAP_MB: map_mb = optarg; break;
        case OPT_DEMO_AUTO: demo_auto = demo_auto_set = true; break;
        case OPT_DEMO_SEED: seed = optarg; break;
        case OPT_DEMO_DELAY: delay = optarg; break;
        case OPT_DEMO_RETURN: ret_pct = optarg; break;
        case 'v': level = OB_LOG_DEBUG; break;
        case 'q': level = OB_LOG_WARN; break;
        case 'h': s_usage(stdout); return 0;
        case OPT_VERSION: printf("orderbus-node %s\n", OB_VERSION_STRING); return 0;
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

    /* the config file fills in what the flags left unset */
    if (config_path) {
        config = ob_config_load(config_path, err, sizeof err);
        if (!config) {
            fprintf(stderr, "orderbus-node: %s\n", err);
            return EX_CONFIG;
        }
        static const char *known[] = {"data", "broker", "broker_key", "key",
                                      "heartbeat_ms", "map_mb", "demo_auto", "demo_seed",
                                      "demo_delay_ms", "demo_return_pct", "log_level"};
        for (size_t i = 0; i < ob_config_count(config); i++) {
            bool ok = false;
            for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
                ok = ok || !strcmp(ob_config_key(config, i), known[j]);
            if (!ok)
                fprintf(stderr, "orderbus-node: warning: unknown key '%s' in '%s' ignored\n",
                        ob_config_key(config, i), config_path);
        }
        if (!data) data = ob_config_path(config, "data");
        if (!broker) broker = ob_config_get(config, "broker", NULL);
        if (!broker_key) broker_key = ob_config_path(config, "broker_key");
        if (!key) key = ob_config_path(config, "key");
        if (!heartbeat) heartbeat = ob_config_get(config, "heartbeat_ms", NULL);
        if (!map_mb) map_mb = ob_config_get(config, "map_mb", NULL);
        if (!seed) seed = ob_config_get(config, "demo_seed", NULL);
        if (!delay) delay = ob_config_get(config, "demo_delay_ms", NULL);
        if (!ret_pct) ret_pct = ob_config_get(config, "demo_return_pct", NULL);
        const char *v = ob_config_get(config, "demo_auto", NULL);
        if (!demo_auto_set && v && s_parse_bool(v, &demo_auto) != 0) {
            fprintf(stderr, "orderbus-node: %s: 'demo_auto' must be true or false\n", config_path);
            exit_code = EX_CONFIG;
            goto out;
        }
        v = ob_config_get(config, "log_level", NULL);
        if (level < 0 && v && s_parse_level(v, &level) != 0) {
            fprintf(stderr, "orderbus-node: %s: 'log_level' must be error, warn, info or debug\n",
                    config_path);
            exit_code = EX_CONFIG;
            goto out;
        }
    }
    if (level >= 0)
        ob_log_set_level(level);

    int bad = 0;
    const char *what = config_path ? " (or set it in the config file)" : "";
    const char *required[][2] = {{data, "--data DIR"}, {broker, "--broker ENDPOINT"},
                                 {broker_key, "--broker-key FILE"}, {key, "--key FILE"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i][0]) {
            fprintf(stderr, "orderbus-node: %s is required%s\n", required[i][1], what);
            bad = 1;
        }
    node_config_t cfg = {0};
    cfg.data_dir = data;
    cfg.broker = broker;
    cfg.broker_key = broker_key;
    cfg.key = key;
    cfg.heartbeat_ms = 1000;
    cfg.demo_auto = demo_auto;
    cfg.demo_min_ms = 20;
    cfg.demo_max_ms = 200;
    cfg.demo_return_pct = 4;
    long n;
    if (heartbeat) {
        if (s_parse_long(heartbeat, 50, 600000, &n) == 0)
            cfg.heartbeat_ms = (int) n;
        else {
            fprintf(stderr, "orderbus-node: heartbeat '%s' must be 50..600000 ms\n", heartbeat);
            bad = 1;
        }
    }
    if (map_mb) {
        if (s_parse_long(map_mb, 1, 1048576, &n) == 0)
            cfg.map_mb = (size_t) n;
        else {
            fprintf(stderr, "orderbus-node: map size '%s' must be 1..1048576 MiB\n", map_mb);
            bad = 1;
        }
    }
    if (delay && s_parse_range(delay, &cfg.demo_min_ms, &cfg.demo_max_ms) != 0) {
        fprintf(stderr, "orderbus-node: demo delay '%s' must be MIN:MAX in ms, MIN <= MAX\n",
                delay);
        bad = 1;
    }
    if (ret_pct) {
        if (s_parse_long(ret_pct, 0, 100, &n) == 0)
            cfg.demo_return_pct = (int) n;
        else {
            fprintf(stderr, "orderbus-node: demo return share '%s' must be 0..100\n", ret_pct);
            bad = 1;
        }
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "orderbus-node: cannot initialise libsodium\n");
        exit_code = EX_SOFTWARE;
        goto out;
    }
    if (seed) {
        char *end = NULL;
        errno = 0;
        unsigned long long s = strtoull(seed, &end, 10);
        if (errno || !*seed || *end || *seed == '-') {
            fprintf(stderr, "orderbus-node: demo seed '%s' must be a number\n", seed);
            bad = 1;
        }
        cfg.demo_seed = s;
    } else
        randombytes_buf(&cfg.demo_seed, sizeof cfg.demo_seed);
    if (bad) {
        fprintf(stderr, "try 'orderbus-node --help'\n");
        exit_code = config_path ? EX_CONFIG : EX_USAGE;
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);   /* nothing to reload on a node */

    node = node_new(&cfg, &exit_code, err, sizeof err);
    if (!node) {
        ob_error("%s", err);
        goto out;
    }
    if (node_run(node, &s_stop) != 0)
        exit_code = EX_SOFTWARE;
    node_destroy(&node);
    ob_info("stopped");
out:
    ob_config_destroy(&config);
    return exit_code;
}
