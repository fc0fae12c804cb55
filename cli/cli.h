/*  cli.h — what the orderbus CLI's command files share: the global options,
    connections to the broker's client service and to a node's local service,
    output helpers, exit codes.

    One file per command group: cli/main.c (global flags, dispatch, usage),
    cli/cmd_centre.c (submit, show, list, trace, route, deny-return, review,
    callback, stats, status), cli/cmd_dept.c (inbox, sign, progress, return,
    reply), cli/cmd_admin.c (keys, admin), cli/cmd_demo.c (demo centre).    */
#ifndef OB_CLI_H
#define OB_CLI_H

#include "ob_common.h"
#include "ob_client.h"
#include <sysexits.h>

/* Exit codes: 0 success; 1 the broker or node refused the request (not
   found, illegal transition, ...); EX_USAGE (64) bad arguments; EX_DATAERR
   (65) bad input file; EX_NOINPUT (66) input file missing; EX_UNAVAILABLE
   (69) broker or node not reachable in time; EX_SOFTWARE (70) internal;
   EX_CONFIG (78) bad configuration. */
#define CLI_REFUSED 1

/* Global options, from flags, else the config file, else the environment
   (ORDERBUS_CONFIG, ORDERBUS_NODE). */
typedef struct {
    const char *config_path;      /* --config FILE */
    const char *broker;           /* --broker ENDPOINT (client service) */
    const char *broker_key;       /* --broker-key FILE (broker's public key) */
    const char *key;              /* --key FILE (this client's keypair) */
    const char *events;           /* --events ENDPOINT (event stream) */
    const char *node;             /* --node DIR (a node's data directory) */
    bool json;                    /* --json */
    int timeout_ms;               /* --timeout MS, default 5000 */
} cli_opts_t;

/* Connects to the broker's client service; on failure prints
   "orderbus: <reason>" to stderr and returns NULL. */
ob_client_t *cli_broker_connect(const cli_opts_t *opts);

/* Connects to the local service of the node whose data directory is
   opts->node (ipc://DIR/node.sock); NULL with a message on failure. */
ob_client_t *cli_node_connect(const cli_opts_t *opts);

/* Sends one request and waits for its Answer. Returns the answer envelope,
   or NULL after printing the transport error (the caller exits
   EX_UNAVAILABLE). */
ob_envelope_t *cli_call(ob_client_t *client, const ob_envelope_t *req, const cli_opts_t *opts);

/* Maps an Answer code to an exit code, printing "orderbus: <message>" for
   errors. Returns 0 for OK. */
int cli_answer_status(const ob_answer_t *answer);

/* Command entry points: argv[0] is the command name. Return an exit code. */
int cmd_submit(const cli_opts_t *opts, int argc, char **argv);
int cmd_show(const cli_opts_t *opts, int argc, char **argv);
int cmd_list(const cli_opts_t *opts, int argc, char **argv);
int cmd_trace(const cli_opts_t *opts, int argc, char **argv);
int cmd_route(const cli_opts_t *opts, int argc, char **argv);
int cmd_deny_return(const cli_opts_t *opts, int argc, char **argv);
int cmd_review(const cli_opts_t *opts, int argc, char **argv);
int cmd_callback(const cli_opts_t *opts, int argc, char **argv);
int cmd_stats(const cli_opts_t *opts, int argc, char **argv);
int cmd_status(const cli_opts_t *opts, int argc, char **argv);
int cmd_inbox(const cli_opts_t *opts, int argc, char **argv);
int cmd_sign(const cli_opts_t *opts, int argc, char **argv);
int cmd_progress(const cli_opts_t *opts, int argc, char **argv);
int cmd_return(const cli_opts_t *opts, int argc, char **argv);
int cmd_reply(const cli_opts_t *opts, int argc, char **argv);
int cmd_keys(const cli_opts_t *opts, int argc, char **argv);
int cmd_admin(const cli_opts_t *opts, int argc, char **argv);
int cmd_demo(const cli_opts_t *opts, int argc, char **argv);

/* Prints a table of stats rows (one per department) in the demo/stats
   format: dept, name, dispatched, signed, replied, closed, returned,
   reworked, reopened, median sign, median reply. */
void cli_print_stats_table(FILE *out, const ob_answer_t *answer);

#endif
