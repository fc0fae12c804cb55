/*  cli_config.c — the CLI's global options from the config file (YAML:
    broker, broker_key, key, events, node, timeout) and the environment
    (ORDERBUS_CONFIG, ORDERBUS_NODE), where no flag gave a value.           */
#include "cli.h"
#include "ob_config.h"

/* Warns about each key of the file the CLI does not know. */
static void s_warn_unknown(ob_config_t *config, const char *path)
{
    static const char *const known[] = {"broker", "broker_key", "key", "events", "node",
                                        "timeout"};
    for (size_t i = 0; i < ob_config_count(config); i++) {
        const char *k = ob_config_key(config, i);
        bool ok = false;
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
            ok = ok || strcmp(k, known[j]) == 0;
        if (!ok)
            fprintf(stderr, "orderbus: warning: unknown key '%s' in '%s' ignored\n", k, path);
    }
}

/* Fills opts from the config file and the environment where no flag gave a
   value. Returns 0 or an exit code after a message. */
int cli_config_apply(cli_opts_t *opts, ob_config_t **config_p, bool timeout_set)
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
        s_warn_unknown(config, opts->config_path);
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

