/*  main.c — the orderbus CLI's entry point: the global options (flags, then
    the config file, then the environment), then one command of the table
    in cli/cli_commands.c, which parses its own options.                  */
#include "cli.h"
#include "ob_config.h"
#include "ob_log.h"
#include <getopt.h>
#include <locale.h>
#include <sodium.h>

int main(int argc, char **argv)
{
    cli_opts_t opts = {.timeout_ms = 5000};
    ob_config_t *config = NULL;
    bool version = false;
    long timeout = 0;
    const cli_option_t spec[] = {
        CLI_OPT_STRING("config", &opts.config_path), CLI_OPT_STRING("broker", &opts.broker),
        CLI_OPT_STRING("broker-key", &opts.broker_key), CLI_OPT_STRING("key", &opts.key),
        CLI_OPT_STRING("events", &opts.events),     CLI_OPT_STRING("node", &opts.node),
        CLI_OPT_JSON(&opts),                        CLI_OPT_LONG("timeout", &timeout, 1, 3600000),
        CLI_OPT_BOOL("version", &version),          CLI_OPT_END()};

    if (!setlocale(LC_ALL, "C.UTF-8") && !setlocale(LC_ALL, "C.utf8"))
        setlocale(LC_ALL, "en_US.UTF-8");
    ob_log_init("orderbus", OB_LOG_WARN);
    if (sodium_init() < 0) {
        fprintf(stderr, "orderbus: cannot initialise libsodium\n");
        return EX_SOFTWARE;
    }
    int rc = cli_parse(NULL, cli_usage, spec, &argc, &argv);
    if (rc != 0)
        return cli_parsed(rc);
    if (version) {
        printf("orderbus %s\n", OB_VERSION_STRING);
        return 0;
    }
    if (argc < 1) {
        fputs(cli_usage, stderr);
        return EX_USAGE;
    }
    if (timeout)
        opts.timeout_ms = (int) timeout;
    const cli_command_t *cmd = cli_command_find(argv[0]);
    if (!cmd && strcmp(argv[0], "help") == 0) {
        fputs(cli_usage, stdout);
        return 0;
    }
    if (!cmd)
        return cli_usage_error(NULL, "unknown command '%s'", argv[0]);
    rc = cli_config_apply(&opts, &config, timeout != 0);
    if (rc == 0) {
        optind = 0;   /* glibc: re-initialise getopt for a command that runs its own */
        opterr = 0;
        rc = cmd->fn(&opts, argc, argv);
    }
    fflush(stdout);
    ob_config_destroy(&config);
    return rc;
}
