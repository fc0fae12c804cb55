/*  cmd_dept.c — the department clerk's commands, each one request to the
    node's local service (ipc://DIR/node.sock, no Curve: the directory's
    permissions are the access control): inbox, sign, progress, return,
    reply, and the node's own status. A case number is resolved to the
    order id by the node (InboxRequest{ref}); the inbox is read in pages
    (InboxRequest{after_id}) until the node has no more. The clerk's acts
    are built by the one codec of ob_order.h (ob_act_encode) and take
    --msg-id HEX to retry an act whose outcome was in doubt.               */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_json.h"
#include "ob_order.h"
#include "ob_util.h"
#include "ob_wire.h"

#define S_SENDER "orderbus-clerk"
#define S_INBOX_PAGE 1000   /* orders asked for per InboxRequest */

/* One InboxRequest. Returns 0 with the answer in *answer_p, or an exit code
   after a message (the node's refusal, or the transport failure). */
static int s_inbox_call(ob_client_t *client, const cli_opts_t *opts,
                        Orderbus__V1__InboxRequest *req, ob_envelope_t **answer_p)
{
    ob_msg_t m;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_INBOX;
    m.env.inbox = req;
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

/* Resolves a case number to the order id through the node
   (InboxRequest{ref.case_no}: the one order, whatever its state). Returns
   0 and the id, CLI_REFUSED after the node's message when it does not hold
   the case, or an exit code. */
static int s_resolve_case(ob_client_t *client, const cli_opts_t *opts, const char *case_no,
                          uint8_t id[OB_ID_BYTES])
{
    Orderbus__V1__OrderRef ref = ORDERBUS__V1__ORDER_REF__INIT;
    Orderbus__V1__InboxRequest req = ORDERBUS__V1__INBOX_REQUEST__INIT;
    ref.case_no = (char *) case_no;
    req.ref = &ref;
    ob_envelope_t *env = NULL;
    int rc = s_inbox_call(client, opts, &req, &env);
    if (rc != 0)
        return rc;
    const ob_answer_t *a = env->answer;
    const ob_workorder_t *wo = a->n_inbox == 1 ? a->inbox[0]->order : NULL;
    if (!wo || wo->id.len != OB_ID_BYTES || strcmp(wo->case_no, case_no) != 0) {
        /* a node older than InboxRequest.ref answers with a listing */
        fprintf(stderr, "orderbus: node '%s' did not answer the look-up of case number '%s' "
                        "(is orderbus-node as new as this CLI?)\n", opts->node, case_no);
        rc = EX_PROTOCOL;
    }
    else
        memcpy(id, wo->id.data, OB_ID_BYTES);
    ob_wire_free(env);
    return rc;
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

/* Oldest first (received at the node), then by case number and id, so
   that the listing reads the same whatever order the pages came in. */
static int s_by_received(const void *a, const void *b)
{
    const ob_nodeorder_t *x = *(void *const *) a;
    const ob_nodeorder_t *y = *(void *const *) b;
    if (x->received_at_ms != y->received_at_ms)
        return x->received_at_ms < y->received_at_ms ? -1 : 1;
    const ob_workorder_t *xo = x->order, *yo = y->order;
    int c = strcmp(xo ? xo->case_no : "", yo ? yo->case_no : "");
    if (c)
        return c;
    static const uint8_t none[OB_ID_BYTES];
    const uint8_t *xi = xo && xo->id.len == OB_ID_BYTES ? xo->id.data : none;
    const uint8_t *yi = yo && yo->id.len == OB_ID_BYTES ? yo->id.data : none;
    return memcmp(xi, yi, OB_ID_BYTES);
}

/* Reads the whole listing for `state` (or every order with `all`), page by
   page: InboxRequest{after_id = the last id of the page before} until the
   node answers a page shorter than asked and without a size-limit note.
   Returns 0, or an exit code after a message. */
static int s_inbox_read(ob_client_t *client, const cli_opts_t *opts, ob_state_t state,
                        bool all, cli_pages_t *out)
{
    uint8_t after[OB_ID_BYTES];
    bool have_after = false;
    for (;;) {
        Orderbus__V1__InboxRequest req = ORDERBUS__V1__INBOX_REQUEST__INIT;
        req.state = state;
        req.all = all;
        req.limit = S_INBOX_PAGE;
        if (have_after) {
            req.after_id.data = after;
            req.after_id.len = OB_ID_BYTES;
        }
        ob_envelope_t *env = NULL;
        int rc = s_inbox_call(client, opts, &req, &env);
        if (rc != 0)
            return rc;
        const ob_answer_t *a = env->answer;
        size_t n = a->n_inbox;
        bool note = a->message && *a->message;
        const ob_workorder_t *last = n ? a->inbox[n - 1]->order : NULL;
        bool more = n > 0 && (n >= S_INBOX_PAGE || note);
        if (more && (!last || last->id.len != OB_ID_BYTES
                     || (have_after && memcmp(last->id.data, after, OB_ID_BYTES) <= 0))) {
            fprintf(stderr, "orderbus: node '%s' answered an inbox page out of id order\n",
                    opts->node);
            ob_wire_free(env);
            return EX_PROTOCOL;
        }
        if (more)
            memcpy(after, last->id.data, OB_ID_BYTES);
        else if (note)   /* an answer cut before its first order: say why */
            fprintf(stderr, "orderbus: note: %s\n", a->message);
        have_after = true;
        if (cli_pages_add(out, env, (void *const *) a->inbox, n) != 0) {
            fprintf(stderr, "orderbus: out of memory\n");
            return EX_OSERR;
        }
        if (!more)
            return 0;
    }
}

/* cli_opt_fn for the inbox's --state: a state name, not "unspecified". */
static int s_opt_state(const char *cmd, const char *opt, const char *arg, void *value)
{
    if (ob_state_parse(arg, value) < 0 || *(ob_state_t *) value == 0)
        return cli_usage_error(cmd, "unknown %s '%s'", opt, arg);
    return 0;
}

/* inbox [--state S] [--all] [--json] */
int cmd_inbox(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "inbox";
    cli_opts_t opts = *gopts;
    ob_state_t state = ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED;
    bool all = false;
    const cli_option_t spec[] = {CLI_OPT_CALLBACK("state", &state, s_opt_state),
                                 CLI_OPT_BOOL("all", &all), CLI_OPT_STRING("node", &opts.node),
                                 CLI_OPT_JSON(&opts), CLI_OPT_END()};
    int rc = cli_parse(cmd, s_inbox_usage, spec, &argc, &argv);
    if (rc != 0 || (rc = cli_no_operand(cmd, argc, argv)) != 0)
        return cli_parsed(rc);
    if (all && state)
        return cli_usage_error(cmd, "--all and --state exclude each other");

    static const char *const headers[] = {"case no", "id", "state", "attempt", "title",
                                          "received", "sign by", "reply by"};
    cli_pages_t listing = {0};
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
    if ((rc = s_inbox_read(client, &opts, state, all, &listing)) != 0)
        goto out;
    if (listing.n_items > 1)
        qsort(listing.items, listing.n_items, sizeof *listing.items, s_by_received);
    for (size_t i = 0; i < listing.n_items; i++) {
        if (opts.json)
            json_array_append_new(arr, ob_json_from_nodeorder(listing.items[i]));
        else
            s_inbox_row(table, listing.items[i]);
    }
    rc = cli_print_listing(opts.json, table, &arr);
out:
    cli_pages_clear(&listing);
    json_decref(arr);
    cli_table_destroy(&table);
    ob_client_destroy(&client);
    return rc;
}

/* ---- sign, progress, return, reply ------------------------------------------ */

static const char s_sign_usage[] =
    "usage: orderbus [--node DIR] sign ID|CASE [--msg-id HEX] [--json]\n"
    "\n"
    "Signs for the order (签收): the department accepts responsibility for it.\n"
    "  --msg-id HEX   retry an act whose outcome was in doubt, with the id printed\n";
static const char s_progress_usage[] =
    "usage: orderbus [--node DIR] progress ID|CASE --note T [--msg-id HEX] [--json]\n"
    "\n"
    "Records progress on a signed order.\n"
    "  --msg-id HEX   retry an act whose outcome was in doubt, with the id printed\n";
static const char s_return_usage[] =
    "usage: orderbus [--node DIR] return ID|CASE --reason T [--msg-id HEX] [--json]\n"
    "\n"
    "Asks the centre to take the order back (退单), before signing only.\n"
    "  --msg-id HEX   retry an act whose outcome was in doubt, with the id printed\n";
static const char s_reply_usage[] =
    "usage: orderbus [--node DIR] reply ID|CASE --result R --note T [--msg-id HEX] [--json]\n"
    "\n"
    "Replies to the centre (办结反馈); R is resolved, partly, unresolved or explained.\n"
    "  --msg-id HEX   retry an act whose outcome was in doubt, with the id printed\n";

typedef enum { S_SIGN, S_PROGRESS, S_RETURN, S_REPLY } s_clerk_action_t;

/* What the command line asked for. */
typedef struct {
    s_clerk_action_t action;
    const char *cmd;
    cli_ref_t ref;
    const char *note, *reason, *result;
    cli_msg_id_t msg_id;
} s_clerk_args_t;

static const char *s_clerk(void)
{
    const char *u = getenv("USER");
    if (!u || !*u)
        u = getenv("LOGNAME");
    return u && *u && strlen(u) <= OB_CLERK_MAX ? u : "clerk";
}

/* Checks the command line and fills the act (but its order id). 0 or
   EX_USAGE after a message. */
static int s_clerk_act(const s_clerk_args_t *c, ob_act_t *act)
{
    static const ob_event_t events[] = {ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN,
                                        ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS,
                                        ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_REQUEST,
                                        ORDERBUS__V1__ORDER_EVENT__EVENT_REPLY};
    const char *cmd = c->cmd;
    char err[256];
    if (c->note && c->action != S_PROGRESS && c->action != S_REPLY)
        return cli_usage_error(cmd, "option '--note' does not apply here");
    if (c->reason && c->action != S_RETURN)
        return cli_usage_error(cmd, "option '--reason' does not apply here");
    if (c->result && c->action != S_REPLY)
        return cli_usage_error(cmd, "option '--result' does not apply here");
    memset(act, 0, sizeof *act);
    act->event = events[c->action];
    act->note = c->action == S_RETURN ? c->reason : c->note;
    act->clerk = s_clerk();
    act->at_ms = ob_now_ms();
    const char *text_opt = c->action == S_RETURN ? "--reason" : "--note";
    if (c->action != S_SIGN) {
        if (!act->note || !*act->note)
            return cli_usage_error(cmd, "missing %s T", text_opt);
        if (ob_field_check(OB_FIELD_NOTE, text_opt, act->note, true, err, sizeof err) < 0)
            return cli_usage_error(cmd, "%s", err);
    }
    if (c->action == S_REPLY) {
        if (!c->result)
            return cli_usage_error(cmd, "missing --result resolved|partly|unresolved|explained");
        if (ob_result_parse(c->result, &act->result) < 0 || act->result == 0)
            return cli_usage_error(cmd, "unknown --result '%s' (resolved, partly, unresolved, "
                                        "explained)", c->result);
    }
    return 0;
}

/* Prints the node's answer to an act: the order's line, or JSON. */
static int s_print_act_answer(const cli_opts_t *opts, const ob_answer_t *a)
{
    if (a->n_inbox < 1) {
        fprintf(stderr, "orderbus: the node's answer holds no order\n");
        return EX_PROTOCOL;
    }
    if (opts->json)
        return cli_print_json(ob_json_from_nodeorder(a->inbox[0]), false);
    const ob_nodeorder_t *o = a->inbox[0];
    char id[OB_ID_HEX] = "-";
    if (o->order)
        cli_hexid(id, o->order->id);
    printf("%s  %s  %s  attempt %u\n", o->order && *o->order->case_no ? o->order->case_no : "-",
           id, ob_state_name(o->state), o->attempt);
    return 0;
}

static int s_clerk_action(s_clerk_action_t action, const cli_opts_t *gopts, int argc,
                          char **argv)
{
    static const char *const names[] = {"sign", "progress", "return", "reply"};
    static const char *const usages[] = {s_sign_usage, s_progress_usage, s_return_usage,
                                         s_reply_usage};
    cli_opts_t opts = *gopts;
    s_clerk_args_t c = {.action = action, .cmd = names[action]};
    const cli_option_t spec[] = {
        CLI_OPT_STRING("note", &c.note),     CLI_OPT_STRING("reason", &c.reason),
        CLI_OPT_STRING("result", &c.result), CLI_OPT_STRING("node", &opts.node),
        CLI_OPT_MSG_ID(&c.msg_id),           CLI_OPT_JSON(&opts),
        CLI_OPT_END()};
    ob_act_t act;
    int rc = cli_parse(c.cmd, usages[action], spec, &argc, &argv);
    if (rc != 0)
        return cli_parsed(rc);
    if ((rc = cli_one_operand(c.cmd, argc, argv, "ID|CASE")) != 0
        || (rc = cli_ref_parse(&c.ref, c.cmd, argv[0])) != 0 || (rc = s_clerk_act(&c, &act)) != 0)
        return rc;

    ob_client_t *client = cli_node_connect(&opts);
    if (!client)
        return cli_connect_failure();
    if (!c.ref.by_id && (rc = s_resolve_case(client, &opts, c.ref.case_no, c.ref.id)) != 0)
        goto out;
    memcpy(act.order_id, c.ref.id, OB_ID_BYTES);
    ob_msg_t m;
    ob_act_body_t body;
    cli_msg_init(&m, S_SENDER, &c.msg_id);
    if (ob_act_encode(&act, &body, &m.env) < 0) {
        rc = EX_SOFTWARE;
        goto out;
    }
    ob_envelope_t *env = cli_call(client, &m.env, &opts);
    if (!env) {
        rc = EX_UNAVAILABLE;
        goto out;
    }
    if ((rc = cli_answer_status(env->answer)) == 0)
        rc = s_print_act_answer(&opts, env->answer);
    ob_wire_free(env);
out:
    ob_client_destroy(&client);
    return rc;
}

/* sign ID|CASE [--msg-id HEX] [--json] */
int cmd_sign(const cli_opts_t *opts, int argc, char **argv)
{
    return s_clerk_action(S_SIGN, opts, argc, argv);
}

/* progress ID|CASE --note T [--msg-id HEX] [--json] */
int cmd_progress(const cli_opts_t *opts, int argc, char **argv)
{
    return s_clerk_action(S_PROGRESS, opts, argc, argv);
}

/* return ID|CASE --reason T [--msg-id HEX] [--json] */
int cmd_return(const cli_opts_t *opts, int argc, char **argv)
{
    return s_clerk_action(S_RETURN, opts, argc, argv);
}

/* reply ID|CASE --result R --note T [--msg-id HEX] [--json] */
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
