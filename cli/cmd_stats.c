/*  cmd_stats.c — figures from the broker: stats (per department, from the
    journal) and status (the broker, its orders by state, and every
    department's link and queues; with --node, the node's own status), and
    the statistics table the demo agent prints too.                        */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_json.h"
#include "ob_util.h"
#include "ob_wire.h"

/* ---- the statistics table ------------------------------------------------- */

static void s_u64(char *out, size_t len, uint64_t v)
{
    snprintf(out, len, "%llu", (unsigned long long) v);
}

void cli_print_stats_table(FILE *out, const ob_answer_t *answer)
{
    static const char *const headers[] = {
        "dept", "name", "dispatched", "signed", "replied", "closed", "returned",
        "reworked", "reopened", "median sign", "median reply"};
    enum { NCOLS = sizeof headers / sizeof headers[0] };
    if (!answer)
        return;
    cli_table_t *table = cli_table_new(NCOLS, headers);
    if (!table)
        return;
    cli_table_align(table, 1, false, 24);
    for (size_t c = 2; c < NCOLS; c++)
        cli_table_align(table, c, true, 0);

    uint64_t total[7] = {0};
    char num[7][24], msign[32], mreply[32];
    for (size_t i = 0; i < answer->n_stats; i++) {
        const Orderbus__V1__DeptStats *s = answer->stats[i];
        uint64_t v[7] = {s->dispatched, s->signed_for, s->replied, s->closed,
                         s->returned,   s->reworked,   s->reopened};
        for (int k = 0; k < 7; k++) {
            total[k] += v[k];
            s_u64(num[k], sizeof num[k], v[k]);
        }
        if (s->signed_for > 0)
            ob_duration_format(msign, sizeof msign, s->median_sign_ms);
        else
            snprintf(msign, sizeof msign, "-");
        if (s->replied > 0)
            ob_duration_format(mreply, sizeof mreply, s->median_reply_ms);
        else
            snprintf(mreply, sizeof mreply, "-");
        const char *cells[NCOLS] = {s->dept, s->name, num[0], num[1], num[2], num[3],
                                    num[4], num[5], num[6], msign, mreply};
        cli_table_add(table, cells);
    }
    for (int k = 0; k < 7; k++)
        s_u64(num[k], sizeof num[k], total[k]);
    const char *cells[NCOLS] = {"TOTAL", " ", num[0], num[1], num[2], num[3],
                                num[4], num[5], num[6], " ", " "};
    cli_table_add(table, cells);
    cli_table_print(table, out);
    cli_table_destroy(&table);
}

/* ---- stats and status ---------------------------------------------------- */

static const char s_stats_usage[] =
    "usage: orderbus stats [--dept D] [--json]\n"
    "\n"
    "Per-department figures computed from the journal: orders dispatched, signed,\n"
    "replied, closed, returned, reworked, reopened, median time to sign and to reply.\n";

/* stats [--dept D] [--json] */
int cmd_stats(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "stats";
    cli_opts_t opts = *gopts;
    const char *dept = "";
    const cli_option_t spec[] = {CLI_OPT_STRING("dept", &dept), CLI_OPT_JSON(&opts),
                                 CLI_OPT_END()};
    int rc = cli_parse(cmd, s_stats_usage, spec, &argc, &argv);
    if (rc != 0 || (rc = cli_no_operand(cmd, argc, argv)) != 0)
        return cli_parsed(rc);
    ob_msg_t m;
    Orderbus__V1__StatsRequest req = ORDERBUS__V1__STATS_REQUEST__INIT;
    req.dept = (char *) dept;
    cli_msg_init(&m, CLI_SENDER, NULL);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATS;
    m.env.stats = &req;
    ob_envelope_t *answer = NULL;
    if ((rc = cli_broker_request(&opts, &m, &answer)) != 0)
        return rc;
    const ob_answer_t *a = answer->answer;
    if (opts.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < a->n_stats; i++)
            json_array_append_new(arr, ob_json_from_stats(a->stats[i]));
        rc = cli_print_json(arr, false);
    }
    else
        cli_print_stats_table(stdout, a);
    ob_wire_free(answer);
    return rc;
}

static const char s_status_usage[] =
    "usage: orderbus status [--node DIR] [--json]\n"
    "\n"
    "Without --node: the broker (orders, journal seq, rules version, store usage) and\n"
    "every registered department (up/down, last heartbeat, outbox depth, inflight,\n"
    "open orders). With --node DIR (or ORDERBUS_NODE): that node's own status.\n";

static void s_mib(char *out, size_t len, uint64_t bytes)
{
    snprintf(out, len, "%.1f MiB", (double) bytes / (1024.0 * 1024.0));
}

/* Orders per state. */
static void s_print_states(const Orderbus__V1__BrokerStatus *st)
{
    static const char *const sh[] = {"state", "orders"};
    printf("\n");
    cli_table_t *t = cli_table_new(2, sh);
    if (!t)
        return;
    cli_table_align(t, 1, true, 0);
    for (size_t i = 0; i < st->n_states; i++) {
        char n[32];
        snprintf(n, sizeof n, "%llu", (unsigned long long) st->states[i]->count);
        const char *cells[2] = {ob_state_name(st->states[i]->state), n};
        cli_table_add(t, cells);
    }
    cli_table_print(t, stdout);
    cli_table_destroy(&t);
}

/* Every registered department: link, last heartbeat, queues, open orders. */
static void s_print_nodes(const Orderbus__V1__BrokerStatus *st)
{
    static const char *const headers[] = {"dept", "name", "link", "last heartbeat", "outbox",
                                          "inflight", "open orders"};
    cli_table_t *table = cli_table_new(7, headers);
    if (!table)
        return;
    cli_table_align(table, 1, false, 24);
    for (size_t c = 3; c < 7; c++)
        cli_table_align(table, c, true, 0);
    for (size_t i = 0; i < st->n_nodes; i++) {
        const Orderbus__V1__NodeStatus *n = st->nodes[i];
        char age[32], ob[32], inf[32], open[32];
        if (n->last_seen_ms > 0) {
            cli_age(age, sizeof age, st->now_ms - n->last_seen_ms);
            snprintf(age + strlen(age), sizeof age - strlen(age), " ago");
        }
        else
            snprintf(age, sizeof age, "never");
        snprintf(ob, sizeof ob, "%llu", (unsigned long long) n->outbox_depth);
        snprintf(inf, sizeof inf, "%llu", (unsigned long long) n->inflight);
        snprintf(open, sizeof open, "%llu", (unsigned long long) n->open_orders);
        const char *link = n->diverged && *n->diverged ? "DIVERGED" : n->up ? "up" : "down";
        const char *cells[7] = {n->dept, n->name, link, age, ob, inf, open};
        cli_table_add(table, cells);
    }
    cli_table_print(table, stdout);
    cli_table_destroy(&table);
    for (size_t i = 0; i < st->n_nodes; i++)
        if (st->nodes[i]->diverged && *st->nodes[i]->diverged)
            printf("%s DIVERGED: %s\n", st->nodes[i]->dept, st->nodes[i]->diverged);
}

static void s_print_broker_status(const Orderbus__V1__BrokerStatus *st)
{
    char buf[256], a[64], b[64];
    cli_field("broker", st->software);
    cli_time(a, sizeof a, st->started_at_ms);
    cli_age(b, sizeof b, st->now_ms - st->started_at_ms);
    snprintf(buf, sizeof buf, "%s (up %s)", a, b);
    cli_field("started", buf);
    cli_field_u("orders", st->orders);
    cli_field_u("journal seq", st->journal_seq);
    cli_field("rules version", st->rules_version);
    s_mib(a, sizeof a, st->store_bytes);
    s_mib(b, sizeof b, st->map_bytes);
    snprintf(buf, sizeof buf, "%s used of %s (%.0f%%)", a, b,
             st->map_bytes ? 100.0 * (double) st->store_bytes / (double) st->map_bytes : 0.0);
    cli_field("store", buf);
    if (st->n_states)
        s_print_states(st);
    printf("\n");
    s_print_nodes(st);
}

/* status [--node DIR] [--json] */
int cmd_status(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "status";
    cli_opts_t opts = *gopts;
    const cli_option_t spec[] = {CLI_OPT_STRING("node", &opts.node), CLI_OPT_JSON(&opts),
                                 CLI_OPT_END()};
    int rc = cli_parse(cmd, s_status_usage, spec, &argc, &argv);
    if (rc != 0 || (rc = cli_no_operand(cmd, argc, argv)) != 0)
        return cli_parsed(rc);
    if (opts.node && *opts.node)
        return cli_node_status(&opts);

    ob_msg_t m;
    Orderbus__V1__StatusRequest req = ORDERBUS__V1__STATUS_REQUEST__INIT;
    cli_msg_init(&m, CLI_SENDER, NULL);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATUS;
    m.env.status = &req;
    ob_envelope_t *answer = NULL;
    if ((rc = cli_broker_request(&opts, &m, &answer)) != 0)
        return rc;
    const ob_answer_t *a = answer->answer;
    if (!a->status) {
        fprintf(stderr, "orderbus: the broker's answer holds no status\n");
        rc = EX_PROTOCOL;
    }
    else if (opts.json)
        rc = cli_print_json(ob_json_from_status(a->status), false);
    else
        s_print_broker_status(a->status);
    ob_wire_free(answer);
    return rc;
}

