/*  main.c — orderbus-node: the department node daemon's thin main().
    Settings (node_opts), libsodium, construct, signal handlers that only
    set a flag, run, destroy.                                              */
#include "node.h"
#include "node_opts.h"
#include "ob_log.h"
#include <signal.h>
#include <sodium.h>
#include <sysexits.h>

static volatile sig_atomic_t s_stop = 0;

static void s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

int main(int argc, char **argv)
{
    node_opts_t opts;
    char err[512];
    int exit_code = 0;
    ob_log_init("orderbus-node", OB_LOG_INFO);
    int rc = node_opts_parse(&opts, argc, argv);
    if (rc) {
        node_opts_clear(&opts);
        return rc < 0 ? 0 : rc;
    }
    if (opts.log_level >= 0)
        ob_log_set_level(opts.log_level);
    if (sodium_init() < 0) {
        fprintf(stderr, "orderbus-node: cannot initialise libsodium\n");
        node_opts_clear(&opts);
        return EX_SOFTWARE;
    }
    if (!opts.demo_seed_set)
        randombytes_buf(&opts.demo_seed, sizeof opts.demo_seed);

    struct sigaction sa = {.sa_handler = s_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);   /* nothing to reload on a node */

    node_t *node = node_new(&opts, &exit_code, err, sizeof err);
    if (!node)
        ob_error("%s", err);
    else {
        if (node_run(node, &s_stop) != 0)
            exit_code = EX_SOFTWARE;
        node_destroy(&node);
        ob_info("stopped");
    }
    node_opts_clear(&opts);
    return exit_code;
}
