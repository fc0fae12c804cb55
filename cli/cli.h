/*  cli.h — what the orderbus CLI's command files share: the global options,
    connections to the broker's client service and to a node's local service,
    output helpers, exit codes.

    One file per command group: cli/main.c (global flags, dispatch),
    cli/cli_commands.c (the command table and the usage page),
    cli/cli_parse.c (option tables), cli/cli_text.c (the sanitiser, tables,
    times), cli/cli_common.c (connections, calls, answers, order refs),
    cli/cmd_submit.c (submit), cli/cmd_order.c (show, list, trace),
    cli/cmd_decide.c (route, deny-return, review, callback), cli/cmd_stats.c
    (stats, status), cli/cmd_dept.c (inbox, sign, progress, return, reply),
    cli/cmd_admin.c (keys, admin), cli/cmd_demo.c (demo centre),
    cli/cmd_rules.c (rules), cli/cmd_watch.c (watch).                     */
#ifndef OB_CLI_H
#define OB_CLI_H

#include "ob_common.h"
#include "ob_client.h"
#include "ob_wire.h"
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

/* One command of the table (cli/cli_commands.c). */
typedef struct {
    const char *name;
    int (*fn)(const cli_opts_t *opts, int argc, char **argv);
} cli_command_t;

/* The command called `name`, or NULL. */
const cli_command_t *cli_command_find(const char *name);

/* The usage page of `orderbus --help`. */
extern const char cli_usage[];

typedef struct ob_config ob_config_t;

/* Fills opts from the config file and the environment where no flag gave a
   value (cli/cli_config.c); the config stays in *config_p (its strings are
   borrowed by opts). Returns 0 or an exit code after a message. */
int cli_config_apply(cli_opts_t *opts, ob_config_t **config_p, bool timeout_set);

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
int cmd_rules_learn(const cli_opts_t *opts, int argc, char **argv);  /* cli/cmd_learn.c */
int cmd_rules_model(const cli_opts_t *opts, int argc, char **argv);  /* cli/cmd_learn.c */
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

/* A listing's output: the table, or with `json` the array (taken: *arr_p
   becomes NULL) as one document. Returns an exit code. */
int cli_print_listing(bool json, cli_table_t *table, json_t **arr_p);

/* `orderbus status` with a node (cli/cmd_dept.c): the node's LocalStatus,
   human or JSON by opts->json. Returns an exit code. */
int cli_node_status(const cli_opts_t *opts);

/* ---- option tables (cli/cli_parse.c) --------------------------------------- */

/* One option of a command, in git's builtin/remote.c style: a table of these
   (ended by CLI_OPT_END()) is the whole of a command's option parsing. Every
   table also knows -h/--help. */
typedef enum {
    CLI_OPT_KIND_END,
    CLI_OPT_KIND_BOOL,       /* no value: *(bool *) value = true */
    CLI_OPT_KIND_STRING,     /* *(const char **) value = the argument */
    CLI_OPT_KIND_LONG,       /* *(long *) value = a decimal in [min, max] */
    CLI_OPT_KIND_CALLBACK    /* fn(cmd, "--name", argument, value) */
} cli_opt_kind_t;

/* A callback checks and stores one option's argument: 0, or EX_USAGE after
   a message (cli_usage_error). */
typedef int cli_opt_fn(const char *cmd, const char *opt, const char *arg, void *value);

typedef struct {
    cli_opt_kind_t kind;
    const char *name;        /* the long name without "--" */
    void *value;             /* where the option's value goes */
    long min, max;           /* CLI_OPT_KIND_LONG: the range */
    cli_opt_fn *fn;          /* CLI_OPT_KIND_CALLBACK */
} cli_option_t;

#define CLI_OPT_BOOL(name, p)          {CLI_OPT_KIND_BOOL, (name), (p), 0, 0, NULL}
#define CLI_OPT_STRING(name, p)        {CLI_OPT_KIND_STRING, (name), (p), 0, 0, NULL}
#define CLI_OPT_LONG(name, p, lo, hi)  {CLI_OPT_KIND_LONG, (name), (p), (lo), (hi), NULL}
#define CLI_OPT_CALLBACK(name, p, f)   {CLI_OPT_KIND_CALLBACK, (name), (p), 0, 0, (f)}
#define CLI_OPT_END()                  {CLI_OPT_KIND_END, NULL, NULL, 0, 0, NULL}
/* the options most commands share */
#define CLI_OPT_JSON(opts)             CLI_OPT_BOOL("json", &(opts)->json)
#define CLI_OPT_MSG_ID(p)              CLI_OPT_CALLBACK("msg-id", (p), cli_opt_msg_id)

/* What cli_parse returns after printing the usage for --help: the caller
   returns 0 (see cli_parsed()). */
#define CLI_HELP_SHOWN (-1)

/* Parses the options of `cmd` (argv[0] is the command's name; cmd NULL: the
   global options, which stop at the first operand) against `spec`. On 0,
   *argc and *argv are the operands left (argv[0] the first). Returns
   CLI_HELP_SHOWN after printing `usage` to stdout for -h/--help, or
   EX_USAGE after a message naming the option ("option '--limit' wants a
   number from 1 to 100000000, not 'abc'"). */
int cli_parse(const char *cmd, const char *usage, const cli_option_t *spec, int *argc,
              char ***argv);

/* The exit code for a cli_parse result that is not 0 (help: 0). */
static inline int cli_parsed(int rc)
{
    return rc == CLI_HELP_SHOWN ? 0 : rc;
}

/* Checks the operands after cli_parse: exactly one (named `what` in the
   message when it is missing), or none. 0 or EX_USAGE after a message. */
int cli_one_operand(const char *cmd, int argc, char **argv, const char *what);
int cli_no_operand(const char *cmd, int argc, char **argv);

/* --msg-id HEX: the id a state-changing request is sent with, so that a
   person or a script can retry a request whose outcome is in doubt with
   the same id (the broker and the node answer a repeated id with the first
   answer and apply nothing twice). */
typedef struct {
    bool set;
    uint8_t id[OB_ID_BYTES];
} cli_msg_id_t;

/* cli_opt_fn for --msg-id: 32 hex digits into a cli_msg_id_t. */
int cli_opt_msg_id(const char *cmd, const char *opt, const char *arg, void *value);

/* Initialises m (ob_msg_init with the CLI's sender) and, when `msg_id` was
   given, puts its id in place of the fresh one. */
void cli_msg_init(ob_msg_t *m, const char *sender, const cli_msg_id_t *msg_id);

/* cli_opt_fn for a free-text option that ob_order.h calls a note (route,
   review, callback, progress, return, reply): valid UTF-8 within
   OB_NOTE_MAX bytes. */
int cli_opt_note(const char *cmd, const char *opt, const char *arg, void *value);

/* ---- text for people (cli/cli_text.c) ---------------------------------------- */

/* THE sanitiser of every human-readable output: writes `len` bytes of `s`
   to `out` with every C0 control, DEL, C1 control (U+0080..U+009F) and
   invalid UTF-8 byte replaced by U+FFFD, visibly, so that text from a
   citizen or a peer can never drive the terminal (ESC, BEL, CSI). With
   `multiline`, newlines are kept (each followed by `indent`, NULL: none),
   tabs kept and carriage returns dropped; without it, newline, tab and CR
   become spaces. JSON output does not go through it: jansson escapes. */
void cli_put_text(FILE *out, const char *s, size_t len, bool multiline, const char *indent);

/* The same into a new string (free it); NULL when out of memory. */
char *cli_text_clean(const char *s, bool multiline);

/* One "label  value" line of a record (show, status): the value through
   the sanitiser, a multi-line value continued indented; "-" for empty. */
void cli_field(const char *label, const char *value);
void cli_field_time(const char *label, int64_t ms);
void cli_field_u(const char *label, uint64_t v);

/* 32 hex digits of a 16-byte id, "-" otherwise. Returns out. */
const char *cli_hexid(char out[OB_ID_HEX], ProtobufCBinaryData id);

/* ---- requests to the broker (cli/cli_common.c) ------------------------------------ */

#define CLI_SENDER "orderbus-cli"

/* Connects, sends one request, checks the answer. Returns 0 with the answer
   envelope in *answer_p (free with ob_wire_free), or an exit code after a
   message. */
int cli_broker_request(const cli_opts_t *opts, ob_msg_t *m, ob_envelope_t **answer_p);

/* Answers read in pages (inbox, trace): the answer envelopes, kept alive
   for the items they hold, and those items in order. */
typedef struct {
    ob_envelope_t **pages;
    size_t n_pages, cap_pages;
    void **items;              /* ob_nodeorder_t *, ob_journal_t *: borrowed from pages */
    size_t n_items, cap_items;
} cli_pages_t;

/* Keeps page `env` (owned from now on, freed even on failure) and its `n`
   items. Returns 0, or -1 when out of memory. */
int cli_pages_add(cli_pages_t *self, ob_envelope_t *env, void *const *items, size_t n);

/* Frees every page; the struct is empty again. */
void cli_pages_clear(cli_pages_t *self);

/* Prints the answer's order (cmd_order.c): JSON with opts->json, else every
   field (`full`) or the one outcome line "CASE  ID  STATE  dept D  attempt
   N". Returns an exit code. */
int cli_print_order(const cli_opts_t *opts, const ob_answer_t *a, bool full);

/* The exit code and message for a time-out of `nout` pipelined requests
   (batch submit): names what the client saw of the connection. */
int cli_batch_timeout(ob_client_t *client, const cli_opts_t *opts, long nout);

#endif
