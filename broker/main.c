/*  main.c — orderbus-broker: the centre daemon's thin main(). Settings
    (broker_opts), libsodium, construct, signal handlers that only set a
    flag, run, destroy.                                                   */
#include "broker.h"
#include "broker_opts.h"
#include "ob_log.h"
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

int main(int argc, char **argv)
{
    /* czmq (key files) must not install its own SIGINT/SIGTERM handlers */
    setenv("ZSYS_SIGHANDLER", "false", 1);
    ob_log_init("orderbus-broker", OB_LOG_INFO);
    broker_opts_t opts;
    int rc = broker_opts_parse(&opts, argc, argv);
    if (rc == 0 && opts.log_level >= 0)
        ob_log_set_level(opts.log_level);
    if (rc == 0 && sodium_init() < 0) {
        fprintf(stderr, "orderbus-broker: cannot initialise libsodium\n");
        rc = EX_UNAVAILABLE;
    }
    broker_t *broker = NULL;
    char err[1024];
    if (rc == 0) {
        struct sigaction sa = {.sa_handler = s_on_stop};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = s_on_hup;
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        broker = broker_new(&opts.cfg, err, sizeof err);
        if (!broker) {
            ob_error("cannot start: %s", err);
            rc = EX_UNAVAILABLE;
        }
    }
    if (broker && broker_run(broker, &s_stop, &s_reload) != 0)
        rc = EX_SOFTWARE;
    broker_destroy(&broker);
    broker_opts_clear(&opts);
    return rc < 0 ? 0 : rc;
}
