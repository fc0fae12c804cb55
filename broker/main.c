/*  main.c — orderbus-broker: flags and config, signals, run.               */
#include "broker.h"
#include "ob_config.h"
#include "ob_log.h"
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <sodium.h>
#include <sysexits.h>

static volatile int s_stop = 0;
static volatile int s_reload = 0;

static void s_on_stop(int sig)
{
    (void) sig;
    s_stop = 1;
}

static void s_on_hup(int sig)
{
    (void) sig;
    s_reload = 1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: orderbus-broker [--config FILE] --data DIR --key FILE [--rules FILE]\n"
            "                       [--node-endpoint EP] [--client-endpoint EP] [--event-endpoint EP]\n"
            "                       [--map-mb N] [--heartbeat-ms N] [--queue-cap N]\n"
            "                       [--utc-offset +HH:MM] [--calendar FILE]... [-v|--verbose] [-q|--quiet]\n"
            "\n"
            "The orderbus centre: registers work orders, routes them by rules to departments,\n"
            "keeps the authoritative order state and journal in an LMDB store.\n"
            "\n"
            "  --config FILE          YAML config; keys: data, key, rules, node_endpoint,\n"
            "                         client_endpoint, event_endpoint, map_mb, heartbeat_ms,\n"
            "                         queue_cap, utc_offset, calendar, log_level. Flags\n"
            "                         override it.\n"
            "  --data DIR             store directory (created 0700)\n"
            "  --key FILE             the broker's Curve keypair (FILE and FILE_secret)\n"
            "  --rules FILE           routing rules (router-rules/default.yaml); SIGHUP reloads\n"
            "  --node-endpoint EP     department nodes connect here (tcp://127.0.0.1:5570)\n"
            "  --client-endpoint EP   CLI and intake connect here (tcp://127.0.0.1:5571)\n"
            "  --event-endpoint EP    event stream, PUB (tcp://127.0.0.1:5572)\n"
            "  --map-mb N             initial LMDB map size in MiB (256); grows when full\n"
            "  --heartbeat-ms N       heartbeat interval (1000)\n"
            "  --queue-cap N          refuse new orders for a department with N messages\n"
            "                         queued (100000; 0: no cap)\n"
            "  --utc-offset +HH:MM    the site's time zone for case numbers and deadlines (+08:00)\n"
            "  --calendar FILE        a working-day calendar year file (router-rules/calendar/\n"
            "                         CN-2026.yaml); repeat for several years. Without one, the\n"
            "                         year files in calendar/ beside the rule file (China's\n"
            "                         official holidays and make-up days); --calendar weekdays:\n"
            "                         Monday to Friday, 24 hours a day, no holidays\n"
            "  -v, --verbose          debug logging;  -q, --quiet  errors only\n"
            "\n"
            "Exit status: 0 after a clean stop (SIGTERM, SIGINT), 64 bad usage, 78 bad\n"
            "configuration, 69 cannot start (store, key, rules, endpoints).\n");
}

static int s_parse_offset(const char *s, int *out)
{
    int h, m = 0;
    char sign;
    if (sscanf(s, "%c%d:%d", &sign, &h, &m) < 2 || (sign != '+' && sign != '-') || h > 14
        || m > 59)
        return -1;
    *out = (sign == '-' ? -1 : 1) * (h * 60 + m);
    return 0;
}

int main(int argc, char **argv)
{
    broker_config_t cfg = {
        .node_endpoint = "tcp://127.0.0.1:5570",
        .client_endpoint = "tcp://127.0.0.1:5571",
        .event_endpoint = "tcp://127.0.0.1:5572",
        .map_mb = 256,
        .heartbeat_ms = 1000,
        .queue_cap = 100000,
        .utc_offset_min = 480,
    };
    /* czmq (used for key files) must not install its own SIGINT/SIGTERM
       handlers */
    setenv("ZSYS_SIGHANDLER", "false", 1);
    const char *config_path = NULL, *offset = NULL;
    const char *f_data = NULL, *f_key = NULL, *f_rules = NULL, *f_node = NULL, *f_client = NULL,
               *f_event = NULL;
    long f_map = -1, f_hb = -1, f_cap = -1;
    int level = OB_LOG_INFO;
    bool level_set = false;
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},         {"data", required_argument, 0, 'd'},
        {"key", required_argument, 0, 'k'},            {"rules", required_argument, 0, 'r'},
        {"node-endpoint", required_argument, 0, 'N'},  {"client-endpoint", required_argument, 0, 'C'},
        {"event-endpoint", required_argument, 0, 'E'}, {"map-mb", required_argument, 0, 'm'},
        {"heartbeat-ms", required_argument, 0, 'H'},   {"queue-cap", required_argument, 0, 'Q'},
        {"utc-offset", required_argument, 0, 'u'},     {"verbose", no_argument, 0, 'v'},
        {"calendar", required_argument, 0, 'K'},
        {"quiet", no_argument, 0, 'q'},                {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},              {0, 0, 0, 0}};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "vqh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'd': f_data = optarg; break;
        case 'k': f_key = optarg; break;
        case 'r': f_rules = optarg; break;
        case 'N': f_node = optarg; break;
        case 'C': f_client = optarg; break;
        case 'E': f_event = optarg; break;
        case 'u': offset = optarg; break;
        case 'K':
            if (cfg.ncalendar == sizeof cfg.calendar_paths / sizeof cfg.calendar_paths[0]) {
                fprintf(stderr, "orderbus-broker: too many --calendar files\n");
                return EX_USAGE;
            }
            cfg.calendar_paths[cfg.ncalendar++] = optarg;
            break;
        case 'v': level = OB_LOG_DEBUG; level_set = true; break;
        case 'q': level = OB_LOG_ERROR; level_set = true; break;
        case 'h': s_usage(stdout); return 0;
        case 'V': printf("orderbus-broker %s\n", OB_VERSION_STRING); return 0;
        case 'm': case 'H': case 'Q': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 1000000000) {
                fprintf(stderr, "orderbus-broker: --%s needs a whole number, not '%s'\n",
                        c == 'm' ? "map-mb" : c == 'H' ? "heartbeat-ms" : "queue-cap", optarg);
                return EX_USAGE;
            }
            if (c == 'm') f_map = v; else if (c == 'H') f_hb = v; else f_cap = v;
            break;
        }
        default: s_usage(stderr); return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "orderbus-broker: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    ob_log_init("orderbus-broker", level);

    ob_config_t *conf = NULL;
    char err[1024];
    if (config_path) {
        conf = ob_config_load(config_path, err, sizeof err);
        if (!conf) {
            fprintf(stderr, "orderbus-broker: %s\n", err);
            return EX_CONFIG;
        }
        static const char *known[] = {"data", "key", "rules", "node_endpoint", "client_endpoint",
                                      "event_endpoint", "map_mb", "heartbeat_ms", "queue_cap",
                                      "utc_offset", "log_level", "calendar", NULL};
        for (size_t i = 0; i < ob_config_count(conf); i++) {
            const char *k = ob_config_key(conf, i);
            bool ok = false;
            for (int j = 0; known[j]; j++)
                ok = ok || strcmp(k, known[j]) == 0;
            if (!ok) {
                fprintf(stderr, "orderbus-broker: %s: unknown key '%s'\n", config_path, k);
                ob_config_destroy(&conf);
                return EX_CONFIG;
            }
        }
        cfg.data_dir = ob_config_path(conf, "data");
        cfg.key_path = ob_config_path(conf, "key");
        cfg.rules_path = ob_config_path(conf, "rules");
        cfg.node_endpoint = ob_config_get(conf, "node_endpoint", cfg.node_endpoint);
        cfg.client_endpoint = ob_config_get(conf, "client_endpoint", cfg.client_endpoint);
        cfg.event_endpoint = ob_config_get(conf, "event_endpoint", cfg.event_endpoint);
        if (ob_config_get_long(conf, "map_mb", cfg.map_mb, 1, 1 << 24, &cfg.map_mb, err,
                               sizeof err)
            || ob_config_get_long(conf, "heartbeat_ms", cfg.heartbeat_ms, 50, 600000,
                                  &cfg.heartbeat_ms, err, sizeof err)
            || ob_config_get_long(conf, "queue_cap", cfg.queue_cap, 0, 1000000000,
                                  &cfg.queue_cap, err, sizeof err)) {
            fprintf(stderr, "orderbus-broker: %s\n", err);
            ob_config_destroy(&conf);
            return EX_CONFIG;
        }
        if (!offset)
            offset = ob_config_get(conf, "utc_offset", NULL);
        if (!cfg.ncalendar && ob_config_path(conf, "calendar"))
            cfg.calendar_paths[cfg.ncalendar++] = ob_config_path(conf, "calendar");
        const char *lv = ob_config_get(conf, "log_level", NULL);
        if (lv && !level_set)
            ob_log_set_level(strcmp(lv, "debug") == 0 ? OB_LOG_DEBUG
                             : strcmp(lv, "error") == 0 ? OB_LOG_ERROR
                             : strcmp(lv, "warn") == 0  ? OB_LOG_WARN
                                                        : OB_LOG_INFO);
    }
    if (f_data) cfg.data_dir = f_data;
    if (f_key) cfg.key_path = f_key;
    if (f_rules) cfg.rules_path = f_rules;
    if (f_node) cfg.node_endpoint = f_node;
    if (f_client) cfg.client_endpoint = f_client;
    if (f_event) cfg.event_endpoint = f_event;
    if (f_map >= 0) cfg.map_mb = f_map;
    if (f_hb >= 0) cfg.heartbeat_ms = f_hb;
    if (f_cap >= 0) cfg.queue_cap = f_cap;
    if (offset && s_parse_offset(offset, &cfg.utc_offset_min) < 0) {
        fprintf(stderr, "orderbus-broker: bad UTC offset '%s' (expected +HH:MM)\n", offset);
        ob_config_destroy(&conf);
        return EX_USAGE;
    }
    if (cfg.heartbeat_ms < 50 || cfg.heartbeat_ms > 600000) {
        fprintf(stderr, "orderbus-broker: --heartbeat-ms must be 50 to 600000 (a node is "
                        "marked down after 3 silent intervals), not %ld\n", cfg.heartbeat_ms);
        ob_config_destroy(&conf);
        return EX_USAGE;
    }
    /* the default calendar: the year files beside the rules */
    glob_t years = {0};
    bool weekdays = cfg.ncalendar == 1 && strcmp(cfg.calendar_paths[0], "weekdays") == 0;
    if (weekdays)
        cfg.ncalendar = 0;
    else if (!cfg.ncalendar && cfg.rules_path) {
        char pattern[4096];
        const char *slash = strrchr(cfg.rules_path, '/');
        int dl = slash ? (int) (slash - cfg.rules_path) : 1;
        snprintf(pattern, sizeof pattern, "%.*s/calendar/*.yaml", dl, slash ? cfg.rules_path : ".");
        if (glob(pattern, 0, NULL, &years) == 0)
            for (size_t i = 0; i < years.gl_pathc; i++) {
                if (cfg.ncalendar == sizeof cfg.calendar_paths / sizeof cfg.calendar_paths[0])
                    break;
                cfg.calendar_paths[cfg.ncalendar++] = years.gl_pathv[i];
            }
    }
    if (!cfg.ncalendar && !weekdays)
        ob_warn("no working-day calendar (no --calendar, none in calendar/ beside the rules): "
                "deadlines count Monday to Friday without holidays");
    if (!cfg.data_dir || !cfg.key_path) {
        fprintf(stderr, "orderbus-broker: --data and --key are required (see --help)\n");
        ob_config_destroy(&conf);
        return EX_USAGE;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "orderbus-broker: cannot initialise libsodium\n");
        ob_config_destroy(&conf);
        return EX_UNAVAILABLE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = s_on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    broker_t *broker = broker_new(&cfg, err, sizeof err);
    if (!broker) {
        ob_error("cannot start: %s", err);
        globfree(&years);
        ob_config_destroy(&conf);
        return EX_UNAVAILABLE;
    }
    int rc = broker_run(broker, &s_stop, &s_reload);
    broker_destroy(&broker);
    globfree(&years);
    ob_config_destroy(&conf);
    return rc == 0 ? 0 : EX_SOFTWARE;
}
