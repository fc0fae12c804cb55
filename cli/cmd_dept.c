/*  cmd_dept.c — the department clerk's commands, each one request to the
    node's local service (ipc://DIR/node.sock, no Curve: the directory's
    permissions are the access control): inbox, sign, progress, return,
    reply, and the node's own status. A case number is resolved to the
    order id through InboxRequest (open orders first, then closed ones).  */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_json.h"
#include "ob_store.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <getopt.h>

#define S_SENDER "orderbus-clerk"
#define S_TEXT_MAX 1024
#define S_INBOX_PAGE 1000   /* the node's default InboxRequest limit */

enum { OPT_JSON = 1000 };

/* States that --all adds to the open orders (InboxRequest with state
   UNSPECIFIED returns the open ones). */
static const ob_state_t s_closed_states[] = {
    ORDERBUS__V1__ORDER_STATE__STATE_CLOSED,          ORDERBUS__V1__ORDER_STATE__STATE_RECALLED,
    ORDERBUS__V1__ORDER_STATE__STATE_CLOSED_DIRECT,   ORDERBUS__V1__ORDER_STATE__STATE_REJECTED,
    ORDERBUS__V1__ORDER_STATE__STATE_TRANSFERRED_OUT, ORDERBUS__V1__ORDER_STATE__STATE_MERGED,
    ORDERBUS__V1__ORDER_STATE__STATE_ARCHIVED};
#define S_NCLOSED (sizeof s_closed_states / sizeof s_closed_states[0])

/* One InboxRequest. Returns 0 with the answer in *answer_p, or an exit code
   after a message. */
static int s_inbox_call(ob_client_t *client, const cli_opts_t *opts, ob_state_t state,
                        ob_envelope_t **answer_p)
{
    ob_msg_t m;
    Orderbus__V1__InboxRequest req = ORDERBUS__V1__INBOX_REQUEST__INIT;
    req.state = state;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_INBOX;
    m.env.inbox = &req;
    *answer_p = cli_call(client, &m.env, opts);
    if (!*answer_p)
        return EX_UNAVAILABLE;
    int rc = cli_answer_status((*answer_p)->answer);
    if (rc != 0) {
        ob_wire_free(*answer_p);
        *answer_p = NULL;
    }
    return rc;
}

/* Scans the node's own store (DIR is the node's data directory, readable
   by whoever may use its socket) for an order with `case_no`. Used when the
   inbox answers were cut at the node's answer size limit. Returns 0 and
   *found, or an exit code after a message. */
static int s_resolve_in_store(const char *dir, const char *case_no, uint8_t id[OB_ID_BYTES],
                              bool *found)
{
    char err[512];
    int rc = 0, lrc;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    *found = false;
    ob_store_t *store = ob_store_open(dir, OB_STORE_NODE, 0, err, sizeof err);
    if (!store) {
        fprintf(stderr, "orderbus: %s\n", err);
        return EX_UNAVAILABLE;
    }
    if ((lrc = ob_store_begin(store, false, &txn)) != 0
        || (lrc = mdb_cursor_open(txn, ob_store_dbi(store, OB_NDB_INBOX), &cur)) != 0) {
        fprintf(stderr, "orderbus: cannot read the node store in '%s': %s\n", dir,
                ob_store_strerror(lrc));
        rc = EX_IOERR;
        goto out;
    }
    MDB_val k, v;
    for (lrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); lrc == 0 && !*found;
         lrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ob_nodeorder_t *o = orderbus__v1__node_order__unpack(NULL, v.mv_size, v.mv_data);
        if (!o)
            continue;
        if (o->order && strcmp(o->order->case_no, case_no) == 0
            && o->order->id.len == OB_ID_BYTES) {
            memcpy(id, o->order->id.data, OB_ID_BYTES);
            *found = true;
        }
        orderbus__v1__node_order__free_unpacked(o, NULL);
    }
out:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    ob_store_destroy(&store);
    return rc;
}

/* Looks a case number up in the node's inbox (InboxRequest), open orders
   first, then closed ones; when an answer was cut short by the node's size
   limit and the case was not in it, in the node's store directly. Returns
   0 and the id, CLI_REFUSED when no order has it, or an exit code. */
static int s_resolve_case(ob_client_t *client, const cli_opts_t *opts, const char *case_no,
                          uint8_t id[OB_ID_BYTES])
{
    bool truncated = false;
    for (size_t pass = 0; pass <= S_NCLOSED; pass++) {
        ob_state_t state = pass == 0 ? ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED
                                     : s_closed_states[pass - 1];
        ob_envelope_t *env = NULL;
        int rc = s_inbox_call(client, opts, state, &env);
        if (rc != 0)
            return rc;
        const ob_answer_t *a = env->answer;
        bool found = false;
        for (size_t i = 0; i < a->n_inbox && !found; i++) {
            const ob_workorder_t *wo = a->inbox[i]->order;
            if (wo && strcmp(wo->case_no, case_no) == 0 && wo->id.len == OB_ID_BYTES) {
                memcpy(id, wo->id.data, OB_ID_BYTES);
                found = true;
            }
        }
        /* a note in an OK answer, or a full default page: there are more */
        if ((a->message && *a->message) || a->n_inbox >= S_INBOX_PAGE)
            truncated = true;
        ob_wire_free(env);
        if (found)
            return 0;
    }
    if (truncated) {
        bool found = false;
        int rc = s_resolve_in_store(opts->node, case_no, id, &found);
        if (rc != 0 || found)
            return rc;
    }
    fprintf(stderr, "orderbus: no order with case number '%s' in the inbox of node '%s'\n",
            case_no, opts->node);
    return CLI_REFUSED;
}

/* ---- inbox ------------------------------------------------------------------ */

static const char s_inbox_usage[] =
    "usage: orderbus [--node DIR] inbox [--state S] [--all] [--json]\n"
    "\n"
    "The department's open orders, oldest first: case no, id, state, attempt, title,\n"
    "received, sign and reply deadlines.\n"
    "  --state S   only orders in state S (e.g. DISPATCHED, IN_PROGRESS)\n"
    "  --all       closed and recalled orders too\n";

static void s_inbox_row(cli_table_t *table, const ob_nodeorder_t *o)
{
    char id[OB_ID_HEX] = "-", attempt[16], recv[40], sign[40], reply[40];
    const ob_workorder_t *wo = o->order;
    if (wo && wo->id.len == OB_ID_BYTES)
        ob_hex(id, wo->id.data, OB_ID_BYTES);
    snprintf(attempt, sizeof attempt, "%u", o->attempt);
    cli_time(recv, sizeof recv, o->received_at_ms);
    cli_time(sign, sizeof sign, o->signed_at_ms ? 0 : o->sign_deadline_ms);
    cli_time(reply, sizeof reply, o->reply_deadline_ms);
    const char *cells[8] = {wo ? wo->case_no : "", id, ob_state_name(o->state), attempt,
                            wo ? (*wo->title ? wo->title : wo->content) : "", recv, sign, reply};
    cli_table_add(table, cells);
}

int cmd_inbox(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "inbox";
    enum { O_STATE = 1, O_ALL, O_NODE };
    static const struct option longopts[] = {
        {"state", required_argument, NULL, O_STATE},
        {"all", no_argument, NULL, O_ALL},
        {"node", required_argument, NULL, O_NODE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    ob_state_t state = ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED;
    bool all = false;
    int c, rc = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_STATE:
            if (ob_state_parse(optarg, &state) < 0 || state == 0)
                return cli_usage_error(cmd, "unknown --state '%s'", optarg);
            break;
        case O_ALL: all = true; break;
        case O_NODE: opts.node = optarg; break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(s_inbox_usage);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (all && state)
        return cli_usage_error(cmd, "--all and --state exclude each other");

    static const char *const headers[] = {"case no", "id", "state", "attempt", "title",
                                          "received", "sign by", "reply by"};
    cli_table_t *table = cli_table_new(8, headers);
    json_t *arr = json_array();
    ob_client_t *client = NULL;
    if (!table || !arr) {
        rc = EX_OSERR;
        goto out;
    }
    cli_table_align(table, 3, true, 0);
    cli_table_align(table, 4, false, 36);
    client = cli_node_connect(&opts);
    if (!client) {
        rc = cli_connect_failure();
        goto out;
    }
    size_t passes = all ? 1 + S_NCLOSED : 1;
    for (size_t pass = 0; pass < passes; pass++) {
        ob_state_t st = pass == 0 ? state : s_closed_states[pass - 1];
        ob_envelope_t *env = NULL;
        if ((rc = s_inbox_call(client, &opts, st, &env)) != 0)
            goto out;
        const ob_answer_t *a = env->answer;
        if (a->message && *a->message)
            fprintf(stderr, "orderbus: note: %s\n", a->message);
        for (size_t i = 0; i < a->n_inbox; i++) {
            if (opts.json)
                json_array_append_new(arr, ob_json_from_nodeorder(a->inbox[i]));
            else
                s_inbox_row(table, a->inbox[i]);
        }
        ob_wire_free(env);
    }
    if (opts.json) {
        rc = cli_print_json(arr, false);
        arr = NULL;
    }
    else
        cli_table_print(table, stdout);
out:
    json_decref(arr);
    cli_table_destroy(&table);
    ob_client_destroy(&client);
    return rc;
}

/* ---- sign, progress, return, reply ------------------------------------------ */

static const char s_sign_usage[] =
    "usage: orderbus [--node DIR] sign ID|CASE [--json]\n"
    "\n"
    "Signs for the order (签收): the department accepts responsibility for it.\n";
static const char s_progress_usage[] =
    "usage: orderbus [--node DIR] progress ID|CASE --note T [--json]\n"
    "\n"
    "Records progress on a signed order.\n";
static const char s_return_usage[] =
    "usage: orderbus [--node DIR] return ID|CASE --reason T [--json]\n"
    "\n"
    "Asks the centre to take the order back (退单), before signing only.\n";
static const char s_reply_usage[] =
    "usage: orderbus [--node DIR] reply ID|CASE --result R --note T [--json]\n"
    "\n"
    "Replies to the centre (办结反馈); R is resolved, partly, unresolved or explained.\n";

typedef enum { S_SIGN, S_PROGRESS, S_RETURN, S_REPLY } s_clerk_action_t;

static const char *s_clerk(void)
{
    const char *u = getenv("USER");
    if (!u || !*u)
        u = getenv("LOGNAME");
    return u && *u && strlen(u) < 64 ? u : "clerk";
}

static int s_clerk_action(s_clerk_action_t action, const cli_opts_t *gopts, int argc,
                          char **argv)
{
    static const char *const names[] = {"sign", "progress", "return", "reply"};
    static const char *const usages[] = {s_sign_usage, s_progress_usage, s_return_usage,
                                         s_reply_usage};
    const char *cmd = names[action];
    enum { O_NOTE = 1, O_REASON, O_RESULT, O_NODE };
    static const struct option longopts[] = {
        {"note", required_argument, NULL, O_NOTE},
        {"reason", required_argument, NULL, O_REASON},
        {"result", required_argument, NULL, O_RESULT},
        {"node", required_argument, NULL, O_NODE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    const char *note = NULL, *reason = NULL, *result = NULL;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_NOTE: note = optarg; break;
        case O_REASON: reason = optarg; break;
        case O_RESULT: result = optarg; break;
        case O_NODE: opts.node = optarg; break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(usages[action]);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (note && action != S_PROGRESS && action != S_REPLY)
        return cli_usage_error(cmd, "option '--note' does not apply here");
    if (reason && action != S_RETURN)
        return cli_usage_error(cmd, "option '--reason' does not apply here");
    if (result && action != S_REPLY)
        return cli_usage_error(cmd, "option '--result' does not apply here");
    if (argc - optind < 1)
        return cli_usage_error(cmd, "missing ID|CASE");
    if (argc - optind > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    cli_ref_t ref;
    if ((rc = cli_ref_parse(&ref, cmd, argv[optind])) != 0)
        return rc;
    Orderbus__V1__ReplyResult res = ORDERBUS__V1__REPLY_RESULT__RESULT_UNSPECIFIED;
    const char *text = action == S_RETURN ? reason : note;
    const char *text_opt = action == S_RETURN ? "--reason" : "--note";
    if (action != S_SIGN) {
        if (!text || !*text)
            return cli_usage_error(cmd, "missing %s T", text_opt);
        size_t len = strlen(text);
        if (!ob_utf8_valid(text, len))
            return cli_usage_error(cmd, "%s is not valid UTF-8", text_opt);
        if (len > S_TEXT_MAX)
            return cli_usage_error(cmd, "%s is longer than %d bytes", text_opt, S_TEXT_MAX);
    }
    if (action == S_REPLY) {
        if (!result)
            return cli_usage_error(cmd, "missing --result resolved|partly|unresolved|explained");
        if (ob_result_parse(result, &res) < 0 || res == 0)
            return cli_usage_error(cmd, "unknown --result '%s' (resolved, partly, unresolved, "
                                        "explained)", result);
    }

    ob_client_t *client = cli_node_connect(&opts);
    if (!client)
        return cli_connect_failure();
    if (!ref.by_id && (rc = s_resolve_case(client, &opts, ref.case_no, ref.id)) != 0)
        goto out;

    ob_msg_t m;
    ob_msg_init(&m, S_SENDER);
    ProtobufCBinaryData oid = {OB_ID_BYTES, ref.id};
    char *clerk = (char *) s_clerk();
    int64_t now = ob_now_ms();
    Orderbus__V1__Sign sign = ORDERBUS__V1__SIGN__INIT;
    Orderbus__V1__Progress progress = ORDERBUS__V1__PROGRESS__INIT;
    Orderbus__V1__ReturnRequest ret = ORDERBUS__V1__RETURN_REQUEST__INIT;
    Orderbus__V1__Reply reply = ORDERBUS__V1__REPLY__INIT;
    switch (action) {
    case S_SIGN:
        sign.order_id = oid;
        sign.clerk = clerk;
        sign.at_ms = now;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SIGN;
        m.env.sign = &sign;
        break;
    case S_PROGRESS:
        progress.order_id = oid;
        progress.note = (char *) text;
        progress.clerk = clerk;
        progress.at_ms = now;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_PROGRESS;
        m.env.progress = &progress;
        break;
    case S_RETURN:
        ret.order_id = oid;
        ret.reason = (char *) text;
        ret.clerk = clerk;
        ret.at_ms = now;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RETURN_REQUEST;
        m.env.return_request = &ret;
        break;
    case S_REPLY:
        reply.order_id = oid;
        reply.result = res;
        reply.note = (char *) text;
        reply.clerk = clerk;
        reply.at_ms = now;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_REPLY;
        m.env.reply = &reply;
        break;
    }
    ob_envelope_t *env = cli_call(client, &m.env, &opts);
    if (!env) {
        rc = EX_UNAVAILABLE;
        goto out;
    }
    const ob_answer_t *a = env->answer;
    if ((rc = cli_answer_status(a)) == 0) {
        if (a->n_inbox < 1) {
            fprintf(stderr, "orderbus: the node's answer holds no order\n");
            rc = EX_PROTOCOL;
        }
        else if (opts.json)
            rc = cli_print_json(ob_json_from_nodeorder(a->inbox[0]), false);
        else {
            const ob_nodeorder_t *o = a->inbox[0];
            char id[OB_ID_HEX] = "-";
            if (o->order && o->order->id.len == OB_ID_BYTES)
                ob_hex(id, o->order->id.data, OB_ID_BYTES);
            printf("%s  %s  %s  attempt %u\n", o->order && *o->order->case_no
                                                   ? o->order->case_no : "-",
                   id, ob_state_name(o->state), o->attempt);
        }
    }
    ob_wire_free(env);
out:
    ob_client_destroy(&client);
    return rc;
}

int cmd_sign(const cli_opts_t *opts, int argc, char **argv)
{
    return s_clerk_action(S_SIGN, opts, argc, argv);
}

int cmd_progress(const cli_opts_t *opts, int argc, char **argv)
{
    return s_clerk_action(S_PROGRESS, opts, argc, argv);
}

int cmd_return(const cli_opts_t *opts, int argc, char **argv)
{
    return s_clerk_action(S_RETURN, opts, argc, argv);
}

int cmd_reply(const cli_opts_t *opts, int argc, char **argv)
{
    return s_clerk_action(S_REPLY, opts, argc, argv);
}

/* ---- node status ------------------------------------------------------------ */

int cli_node_status(const cli_opts_t *opts)
{
    ob_client_t *client = cli_node_connect(opts);
    if (!client)
        return cli_connect_failure();
    ob_msg_t m;
    Orderbus__V1__StatusRequest req = ORDERBUS__V1__STATUS_REQUEST__INIT;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATUS;
    m.env.status = &req;
    ob_envelope_t *env = cli_call(client, &m.env, opts);
    ob_client_destroy(&client);
    if (!env)
        return EX_UNAVAILABLE;
    const ob_answer_t *a = env->answer;
    int rc = cli_answer_status(a);
    if (rc == 0 && !a->local) {
        fprintf(stderr, "orderbus: the node's answer holds no status\n");
        rc = EX_PROTOCOL;
    }
    if (rc == 0 && opts->json)
        rc = cli_print_json(ob_json_from_local_status(a->local), false);
    else if (rc == 0) {
        const Orderbus__V1__LocalStatus *st = a->local;
        char t[40], age[40];
        printf("%-18s %s\n", "node", opts->node);
        printf("%-18s %s\n", "dept", *st->dept ? st->dept : "-");
        printf("%-18s %s\n", "broker link", st->broker_up ? "up" : "down");
        if (st->last_broker_ms > 0)
            printf("%-18s %s (%s ago)\n", "last from broker",
                   cli_time(t, sizeof t, st->last_broker_ms),
                   cli_age(age, sizeof age, ob_now_ms() - st->last_broker_ms));
        else
            printf("%-18s %s\n", "last from broker", "never");
        printf("%-18s %llu\n", "outbox depth", (unsigned long long) st->outbox_depth);
        printf("%-18s %llu\n", "inbox orders", (unsigned long long) st->inbox_orders);
        printf("%-18s %llu\n", "last applied seq", (unsigned long long) st->last_applied_seq);
    }
    ob_wire_free(env);
    return rc;
}
