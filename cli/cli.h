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
int cmd_rules(const cli_opts_t *opts, int argc, char **argv);
int cmd_watch(const cli_opts_t *opts, int argc, char **argv);
int cmd_dead(const cli_opts_t *opts, int argc, char **argv);

/* Prints a table of stats rows (one per department) in the demo/stats
   format: dept, name, dispatched, signed, replied, closed, returned,
   reworked, reopened, median sign, median reply. */
void cli_print_stats_table(FILE *out, const ob_answer_t *answer);

/* ---- Additions: helpers shared by the command files (cli/cli_common.c) ---- */

#include <jansson.h>

#define CLI_UTC_OFFSET_MIN 480    /* the site's zone, +08:00 */

/* Exit code for the last failed cli_broker_connect / cli_node_connect:
   EX_USAGE (no node given), EX_NOINPUT (key file missing), EX_CONFIG (bad
   key file or endpoint), EX_UNAVAILABLE (node socket absent). */
int cli_connect_failure(void);

/* An order reference parsed from an ID|CASE argument; `ref` points into
   the struct's own buffers (do not copy the struct after parsing). */
typedef struct {
    Orderbus__V1__OrderRef ref;
    uint8_t id[OB_ID_BYTES];
    char case_no[OB_CASE_NO_MAX];
    bool by_id;
} cli_ref_t;

/* 32 hex digits -> ref.id, YYYYMMDD-NNNNNN -> ref.case_no. Returns 0, or
   EX_USAGE after printing a message that names `cmd`. */
int cli_ref_parse(cli_ref_t *self, const char *cmd, const char *arg);

/* Prints "orderbus CMD: <message>" and a hint to --help on stderr; returns
   EX_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports what getopt_long (with opterr = 0) returned as '?' or ':' for
   argv[optind - 1]; returns EX_USAGE. */
int cli_option_error(const char *cmd, int c, char **argv);

/* Prints a command's usage text to stdout (for --help); returns 0. */
int cli_help(const char *text);

/* Display width in terminal columns of UTF-8 text (wcwidth: 2 for CJK). */
size_t cli_width(const char *s);

/* Prints `s` in exactly `width` columns: truncated with an ellipsis when
   wider, padded with spaces (on the left when `right`). */
void cli_put_cell(FILE *out, const char *s, size_t width, bool right);

/* "2026-11-24 12:34" in the site's zone, "-" for 0. Returns out. */
char *cli_time(char *out, size_t outlen, int64_t ms);

/* Compact age "45s", "12m", "3h05m", "2d04h"; "-" when negative. */
char *cli_age(char *out, size_t outlen, int64_t ms);

/* Parses a positive decimal integer in [min, max]; 0 or -1. */
int cli_parse_long(const char *s, long min, long max, long *out);

/* Prints `doc` (stolen) as one JSON document on stdout, indented unless
   `compact` (then one line); returns 0, or EX_SOFTWARE when doc is NULL. */
int cli_print_json(json_t *doc, bool compact);

/* A text table with columns sized by display width. Cells are copied. */
typedef struct cli_table cli_table_t;
cli_table_t *cli_table_new(size_t ncols, const char *const *headers);
void cli_table_destroy(cli_table_t **self_p);
/* Right-aligns column `col`; caps its width at `max` columns (0: none). */
void cli_table_align(cli_table_t *self, size_t col, bool right, size_t max);
/* Adds a row of ncols cells (NULL prints as "-"). Returns 0 or -1 (memory). */
int cli_table_add(cli_table_t *self, const char *const *cells);
void cli_table_print(cli_table_t *self, FILE *out);

/* `orderbus status` with a node (cli/cmd_dept.c): the node's LocalStatus,
   human or JSON by opts->json. Returns an exit code. */
int cli_node_status(const cli_opts_t *opts);

#endif
