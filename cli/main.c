/*  main.c — the orderbus CLI's entry point: global options (flags, then the
    config file, then the environment), the usage page, and the table of
    commands. Each command parses its own options (cmd_*.c).              */
#include "cli.h"
#include "ob_config.h"
#include "ob_log.h"
#include <getopt.h>
#include <locale.h>
#include <sodium.h>

typedef struct {
    const char *name;
    int (*fn)(const cli_opts_t *opts, int argc, char **argv);
} s_command_t;

static const s_command_t s_commands[] = {
    {"submit", cmd_submit},   {"show", cmd_show},         {"list", cmd_list},
    {"trace", cmd_trace},     {"route", cmd_route},       {"deny-return", cmd_deny_return},
    {"review", cmd_review},   {"callback", cmd_callback}, {"stats", cmd_stats},
    {"status", cmd_status},   {"inbox", cmd_inbox},       {"sign", cmd_sign},
    {"progress", cmd_progress}, {"return", cmd_return},   {"reply", cmd_reply},
    {"keys", cmd_keys},       {"admin", cmd_admin},       {"demo", cmd_demo},
    {"rules", cmd_rules},     {"watch", cmd_watch},       {"dead", cmd_dead},
};

static void s_usage(FILE *out)
{
    fputs(
        "NAME\n"
        "    orderbus - carry hotline work orders (工单) between the centre and departments\n"
        "\n"
        "SYNOPSIS\n"
        "    orderbus [global options] COMMAND [options] [arguments]\n"
        "    orderbus COMMAND --help\n"
        "\n"
        "GLOBAL OPTIONS\n"
        "    --config FILE      YAML config (env ORDERBUS_CONFIG): broker, broker_key, key,\n"
        "                       events, node; relative paths are taken from the file's directory\n"
        "    --broker ENDPOINT  the broker's client service (default tcp://127.0.0.1:5571)\n"
        "    --broker-key FILE  the broker's public key\n"
        "    --key FILE         this client's keypair (FILE and FILE_secret)\n"
        "    --events ENDPOINT  the broker's event stream\n"
        "    --node DIR         a department node's data directory (env ORDERBUS_NODE)\n"
        "    --json             JSON output for scripts (one document)\n"
        "    --timeout MS       how long to wait for an answer (default 5000)\n"
        "    -h, --help         this page\n"
        "    --version          print the version\n"
        "\n"
        "CENTRE COMMANDS (dispatcher, via the broker)\n"
        "    submit [flags] | submit FILE.json | submit --batch FILE.jsonl [--window N]\n"
        "                       register orders; the broker routes and dispatches them\n"
        "    show ID|CASE       one order, every field\n"
        "    list [--dept D] [--state S] [--limit N]\n"
        "                       orders as a table\n"
        "    trace ID|CASE      the order's journal, one line per event\n"
        "    route ID|CASE --dept D [--note T]\n"
        "                       manual route, approve a return, re-route\n"
        "    deny-return ID|CASE [--note T]\n"
        "                       refuse a return: the order goes back to the same department\n"
        "    review ID|CASE --accept|--reject [--note T]\n"
        "    callback ID|CASE --satisfaction satisfied|basic|unsatisfied|unreachable [--note T]\n"
        "    stats [--dept D]   per-department figures from the journal\n"
        "    status             the broker, and every department: up, queue depth, open orders\n"
        "    watch [--dept D] [--state S] [--event E] [--count N] [--for MS]\n"
        "                       the broker's events as they happen (supervisors, scripts)\n"
        "    dead list|requeue DEPT SEQ|drop DEPT SEQ\n"
        "                       messages a department refused for good (ops)\n"
        "\n"
        "DEPARTMENT COMMANDS (clerk, via the node: --node DIR)\n"
        "    inbox [--state S] [--all]\n"
        "                       the department's open orders (--all: closed ones too)\n"
        "    sign ID|CASE       accept responsibility for the order (签收)\n"
        "    progress ID|CASE --note T\n"
        "    return ID|CASE --reason T\n"
        "                       ask the centre to take the order back (before signing)\n"
        "    reply ID|CASE --result resolved|partly|unresolved|explained --note T\n"
        "    status             with --node: the node's own status\n"
        "\n"
        "OPS COMMANDS\n"
        "    keys new PATH [--name NAME]\n"
        "                       write a Curve keypair: PATH (public) and PATH_secret\n"
        "    admin add-department ID --name NAME --key FILE --store DIR\n"
        "    admin add-client NAME --role dispatcher|supervisor|ops --key FILE --store DIR\n"
        "    admin list --store DIR\n"
        "                       the broker's registry of keys (DIR: the broker's data dir)\n"
        "    rules check FILE...\n"
        "                       validate rule files: file:line:column: message for each problem\n"
        "    rules test FILE --order ORDER.json | --batch FILE.jsonl\n"
        "                       which rule decides each order, and why the others do not\n"
        "    rules reload       make the broker load its rule file again (a bad file is refused\n"
        "                       and the old rules keep running)\n"
        "\n"
        "DEMO\n"
        "    demo centre --expect N [--timeout SECONDS] [--seed S] [--reject-pct P]\n"
        "                [--unsatisfied-pct P]\n"
        "                       the centre's demo auto-handling agent\n"
        "\n"
        "ID|CASE is an order id (32 hex digits) or a case number (YYYYMMDD-NNNNNN).\n"
        "\n"
        "EXIT STATUS\n"
        "    0 success, 1 refused by the broker or node, 64 bad arguments, 65 bad input data,\n"
        "    66 input file missing, 69 broker or node unreachable, 70 internal error,\n"
        "    78 bad configuration\n",
        out);
}

/* Fills opts from the config file and the environment where no flag gave a
   value. Returns 0 or an exit code after a message. */
static int s_apply_config(cli_opts_t *opts, ob_config_t **config_p, bool timeout_set)
{
    char err[512];
    if (!opts->config_path) {
        const char *env = getenv("ORDERBUS_CONFIG");
        if (env && *env)
            opts->config_path = env;
    }
    if (opts->config_path) {
        FILE *f = fopen(opts->config_path, "r");
        if (!f) {
            fprintf(stderr, "orderbus: cannot read config file '%s': %s\n", opts->config_path,
                    strerror(errno));
            return errno == ENOENT ? EX_NOINPUT : EX_CONFIG;
        }
        fclose(f);
        ob_config_t *config = ob_config_load(opts->config_path, err, sizeof err);
        if (!config) {
            fprintf(stderr, "orderbus: %s\n", err);
            return EX_CONFIG;
        }
        *config_p = config;
        static const char *const known[] = {"broker", "broker_key", "key", "events", "node",
                                            "timeout"};
        for (size_t i = 0; i < ob_config_count(config); i++) {
            const char *k = ob_config_key(config, i);
            bool ok = false;
            for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
                ok = ok || strcmp(k, known[j]) == 0;
            if (!ok)
                fprintf(stderr, "orderbus: warning: unknown key '%s' in '%s' ignored\n", k,
                        opts->config_path);
        }
        if (!opts->broker)
            opts->broker = ob_config_get(config, "broker", NULL);
        if (!opts->broker_key)
            opts->broker_key = ob_config_path(config, "broker_key");
        if (!opts->key)
            opts->key = ob_config_path(config, "key");
        if (!opts->events)
            opts->events = ob_config_get(config, "events", NULL);
        if (!opts->node)
            opts->node = ob_config_path(config, "node");
        if (!timeout_set) {
            long t;
            if (ob_config_get_long(config, "timeout", opts->timeout_ms, 1, 3600000, &t, err,
                                   sizeof err) < 0) {
                fprintf(stderr, "orderbus: %s\n", err);
                return EX_CONFIG;
            }
            opts->timeout_ms = (int) t;
        }
    }
    if (!opts->node) {
        const char *env = getenv("ORDERBUS_NODE");
        if (env && *env)
            opts->node = env;
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_CONFIG = 256, OPT_BROKER, OPT_BROKER_KEY, OPT_KEY, OPT_EVENTS, OPT_NODE,
           OPT_JSON, OPT_TIMEOUT, OPT_VERSION };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"broker", required_argument, NULL, OPT_BROKER},
        {"broker-key", required_argument, NULL, OPT_BROKER_KEY},
        {"key", required_argument, NULL, OPT_KEY},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"node", required_argument, NULL, OPT_NODE},
        {"json", no_argument, NULL, OPT_JSON},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = {.timeout_ms = 5000};
    ob_config_t *config = NULL;
    bool timeout_set = false;
    int rc = 0, c;

    if (!setlocale(LC_ALL, "C.UTF-8") && !setlocale(LC_ALL, "C.utf8"))
        setlocale(LC_ALL, "en_US.UTF-8");
    ob_log_init("orderbus", OB_LOG_WARN);
    if (sodium_init() < 0) {
        fprintf(stderr, "orderbus: cannot initialise libsodium\n");
        return EX_SOFTWARE;
    }

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        long v;
        switch (c) {
        case OPT_CONFIG: opts.config_path = optarg; break;
        case OPT_BROKER: opts.broker = optarg; break;
        case OPT_BROKER_KEY: opts.broker_key = optarg; break;
        case OPT_KEY: opts.key = optarg; break;
        case OPT_EVENTS: opts.events = optarg; break;
        case OPT_NODE: opts.node = optarg; break;
        case OPT_JSON: opts.json = true; break;
        case OPT_TIMEOUT:
            if (cli_parse_long(optarg, 1, 3600000, &v) < 0)
                return cli_usage_error(NULL, "--timeout wants milliseconds (1 to 3600000), "
                                             "not '%s'", optarg);
            opts.timeout_ms = (int) v;
            timeout_set = true;
            break;
        case 'h': s_usage(stdout); return 0;
        case OPT_VERSION: printf("orderbus %s\n", OB_VERSION_STRING); return 0;
        default: return cli_option_error(NULL, c, argv);
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        return EX_USAGE;
    }
    const char *name = argv[optind];
    const s_command_t *cmd = NULL;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(name, s_commands[i].name) == 0)
            cmd = &s_commands[i];
    if (!cmd) {
        if (strcmp(name, "help") == 0) {
            s_usage(stdout);
            return 0;
        }
        return cli_usage_error(NULL, "unknown command '%s'", name);
    }
    rc = s_apply_config(&opts, &config, timeout_set);
    if (rc != 0)
        goto out;
    int cargc = argc - optind;
    char **cargv = argv + optind;
    optind = 0;   /* glibc: re-initialise getopt for the command */
    opterr = 0;
    rc = cmd->fn(&opts, cargc, cargv);
out:
    fflush(stdout);
    ob_config_destroy(&config);
    return rc;
}
