/*  broker_opts.c — orderbus-broker's flags and config file on one key
    table (the node's are the same shape: ob_config_cli_parse), and the
    default working-day calendar: the year files in calendar/ beside the
    rule file.                                                            */
#include "broker_opts.h"
#include "ob_config.h"
#include "ob_log.h"
#include <stddef.h>
#include <sysexits.h>

static const char *const s_levels[] = {"error", "warn", "info", "debug", NULL};

#define S_KEY(name, kind, min, max, field) \
    {name, kind, min, max, offsetof(broker_opts_t, field), NULL}

static const ob_config_key_t s_keys[] = {
    S_KEY("data", OB_CONFIG_PATH, 0, 0, cfg.data_dir),
    S_KEY("key", OB_CONFIG_PATH, 0, 0, cfg.key_path),
    S_KEY("rules", OB_CONFIG_PATH, 0, 0, cfg.rules_path),
    S_KEY("node_endpoint", OB_CONFIG_STRING, 0, 0, cfg.node_endpoint),
    S_KEY("client_endpoint", OB_CONFIG_STRING, 0, 0, cfg.client_endpoint),
    S_KEY("event_endpoint", OB_CONFIG_STRING, 0, 0, cfg.event_endpoint),
    S_KEY("map_mb", OB_CONFIG_LONG, 1, 1L << 24, cfg.map_mb),
    S_KEY("heartbeat_ms", OB_CONFIG_LONG, 50, 600000, cfg.heartbeat_ms),
    S_KEY("queue_cap", OB_CONFIG_LONG, 0, 1000000000, cfg.queue_cap),
    S_KEY("utc_offset", OB_CONFIG_STRING, 0, 0, utc_offset),
    S_KEY("calendar", OB_CONFIG_PATH, 0, 0, calendar_file),
    {"log_level", OB_CONFIG_CHOICE, 0, 0, offsetof(broker_opts_t, log_level), s_levels},
    OB_CONFIG_KEY_END,
};

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
            "  --heartbeat-ms N       heartbeat interval, 50 to 600000 (1000); a department is\n"
            "                         marked down after 3 silent intervals\n"
            "  --queue-cap N          refuse new orders for a department with N messages\n"
            "                         queued (100000; 0: no cap)\n"
            "  --utc-offset +HH:MM    the site's time zone for case numbers and deadlines (+08:00)\n"
            "  --calendar FILE        a working-day calendar year file (router-rules/calendar/\n"
            "                         CN-2026.yaml); repeat for several years. Without one, the\n"
            "                         year files in calendar/ beside the rule file (China's\n"
            "                         official holidays and make-up days); --calendar weekdays:\n"
            "                         Monday to Friday, 24 hours a day, no holidays\n"
            "  -v, --verbose          debug logging;  -q, --quiet  warnings and errors only\n"
            "\n"
            "Exit status: 0 after a clean stop (SIGTERM, SIGINT), 64 bad usage, 78 bad\n"
            "configuration, 69 cannot start (store, key, rules, endpoints).\n");
}

/* --calendar FILE, repeatable (the table's keys take one value). */
#define S_OPT_CALENDAR 1000

static int s_take_extra(void *settings, int val, const char *arg)
{
    broker_config_t *cfg = &((broker_opts_t *) settings)->cfg;
    if (val != S_OPT_CALENDAR)
        return EX_USAGE;
    if (cfg->ncalendar == sizeof cfg->calendar_paths / sizeof cfg->calendar_paths[0]) {
        fprintf(stderr, "orderbus-broker: too many --calendar files\n");
        return EX_USAGE;
    }
    cfg->calendar_paths[cfg->ncalendar++] = arg;
    return 0;
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

/* The working-day calendar: --calendar files, else the file's `calendar`,
   else the year files in calendar/ beside the rules; "weekdays": none. */
static void s_calendar(broker_opts_t *opts)
{
    broker_config_t *cfg = &opts->cfg;
    if (!cfg->ncalendar && opts->calendar_file)
        cfg->calendar_paths[cfg->ncalendar++] = opts->calendar_file;
    bool weekdays = cfg->ncalendar == 1 && strcmp(cfg->calendar_paths[0], "weekdays") == 0;
    if (weekdays) {
        cfg->ncalendar = 0;
        return;
    }
    if (!cfg->ncalendar && cfg->rules_path) {
        char pattern[4096];
        const char *slash = strrchr(cfg->rules_path, '/');
        int dl = slash ? (int) (slash - cfg->rules_path) : 1;
        snprintf(pattern, sizeof pattern, "%.*s/calendar/*.yaml", dl,
                 slash ? cfg->rules_path : ".");
        opts->globbed = glob(pattern, 0, NULL, &opts->years) == 0;
        for (size_t i = 0; opts->globbed && i < opts->years.gl_pathc; i++)
            if (cfg->ncalendar < sizeof cfg->calendar_paths / sizeof cfg->calendar_paths[0])
                cfg->calendar_paths[cfg->ncalendar++] = opts->years.gl_pathv[i];
    }
    if (!cfg->ncalendar)
        ob_warn("no working-day calendar (no --calendar, none in calendar/ beside the rules): "
                "deadlines count Monday to Friday without holidays");
}

int broker_opts_parse(broker_opts_t *opts, int argc, char **argv)
{
    memset(opts, 0, sizeof *opts);
    opts->cfg = (broker_config_t){
        .node_endpoint = "tcp://127.0.0.1:5570",
        .client_endpoint = "tcp://127.0.0.1:5571",
        .event_endpoint = "tcp://127.0.0.1:5572",
        .map_mb = 256,
        .heartbeat_ms = 1000,
        .queue_cap = 100000,
        .utc_offset_min = 480,
    };
    opts->log_level = -1;
    static const struct option extra[] = {
        {"calendar", required_argument, NULL, S_OPT_CALENDAR}, {NULL, 0, NULL, 0}};
    static const ob_config_cli_t cli = {"orderbus-broker", s_keys, s_usage, true, extra,
                                        s_take_extra};
    ob_config_cli_result_t got;
    int rc = ob_config_cli_parse(&cli, opts, argc, argv, &got);
    opts->file = got.file;
    if (rc)
        return rc;
    if (got.level >= 0)
        opts->log_level = got.level;
    if (opts->utc_offset && s_parse_offset(opts->utc_offset, &opts->cfg.utc_offset_min) < 0) {
        fprintf(stderr, "orderbus-broker: bad UTC offset '%s' (expected +HH:MM)\n",
                opts->utc_offset);
        return EX_USAGE;
    }
    if (!opts->cfg.data_dir || !opts->cfg.key_path) {
        fprintf(stderr, "orderbus-broker: --data and --key are required (see --help)\n");
        return got.config ? EX_CONFIG : EX_USAGE;
    }
    s_calendar(opts);
    return 0;
}

void broker_opts_clear(broker_opts_t *opts)
{
    ob_config_t *file = opts->file;
    ob_config_destroy(&file);
    opts->file = NULL;
    if (opts->globbed)
        globfree(&opts->years);
    opts->globbed = false;
}
