/*  cli_commands.c — the orderbus CLI's table of commands and its usage
    page (man-page form). Each command parses its own options (cli_parse)
    in its cmd_*.c file.                                                   */
#include "cli.h"

static const cli_command_t s_commands[] = {
    {"submit", cmd_submit},     {"show", cmd_show},         {"list", cmd_list},
    {"trace", cmd_trace},       {"route", cmd_route},       {"deny-return", cmd_deny_return},
    {"review", cmd_review},     {"callback", cmd_callback}, {"stats", cmd_stats},
    {"status", cmd_status},     {"inbox", cmd_inbox},       {"sign", cmd_sign},
    {"progress", cmd_progress}, {"return", cmd_return},     {"reply", cmd_reply},
    {"keys", cmd_keys},         {"admin", cmd_admin},       {"demo", cmd_demo},
    {"rules", cmd_rules},       {"watch", cmd_watch},       {"dead", cmd_dead},
};

const cli_command_t *cli_command_find(const char *name)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(name, s_commands[i].name) == 0)
            return &s_commands[i];
    return NULL;
}

const char cli_usage[] =
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
        "                       (--msg-id HEX: retry one whose outcome was in doubt)\n"
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
        "Every command that changes an order (submit, route, deny-return, review,\n"
        "callback, sign, progress, return, reply) takes --msg-id HEX: when a request\n"
        "times out its outcome is in doubt, and the CLI prints the id to retry it with;\n"
        "a retry with that id is applied at most once.\n"
        "\n"
        "EXIT STATUS\n"
        "    0 success, 1 refused by the broker or node, 64 bad arguments, 65 bad input data,\n"
        "    66 input file missing, 69 broker or node unreachable, 70 internal error,\n"
        "    78 bad configuration\n";
