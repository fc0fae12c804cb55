/*  cmd_decide.c — the dispatcher's decisions on one order, each one
    state-changing request to the broker: route (manual route, approve a
    return, re-route, re-dispatch), deny-return, review and callback.
    Each takes --msg-id HEX to retry a request whose outcome was in doubt
    with the id it first went out with (the broker applies it once).       */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_order.h"
#include "ob_wire.h"

static const char s_route_usage[] =
    "usage: orderbus route ID|CASE --dept D [--note T] [--msg-id HEX] [--json]\n"
    "       orderbus route ID|CASE --suggestion N [--note T] [--msg-id HEX] [--json]\n"
    "\n"
    "Sends the order to department D: a manual route (PENDING_MANUAL), approval of a\n"
    "return (RETURN_REQUESTED), a re-route (DISPATCHED) or a re-dispatch (REOPENED).\n"
    "  --suggestion N the department of the routing model's suggestion N (1-3), as\n"
    "                 `show` lists them for an order the model was not sure of\n"
    "  --msg-id HEX   retry a request whose outcome was in doubt, with the id printed\n";
static const char s_deny_usage[] =
    "usage: orderbus deny-return ID|CASE [--note T] [--msg-id HEX] [--json]\n"
    "\n"
    "Refuses a department's return (终审): the order goes back to the same department.\n"
    "  --msg-id HEX   retry a request whose outcome was in doubt, with the id printed\n";
static const char s_review_usage[] =
    "usage: orderbus review ID|CASE --accept [--note T] [--msg-id HEX] [--json]\n"
    "       orderbus review ID|CASE --reject --note T [--msg-id HEX] [--json]\n"
    "\n"
    "Reviews a REPLIED order: --accept sends it to callback, --reject back to the\n"
    "department for rework (审核不通过), with a note saying what to redo.\n"
    "  --msg-id HEX   retry a request whose outcome was in doubt, with the id printed\n";
static const char s_callback_usage[] =
    "usage: orderbus callback ID|CASE --satisfaction S [--note T] [--msg-id HEX] [--json]\n"
    "\n"
    "Records the callback (回访) of a PENDING_CALLBACK order; S is satisfied, basic,\n"
    "unsatisfied (reopens the order) or unreachable.\n"
    "  --msg-id HEX   retry a request whose outcome was in doubt, with the id printed\n";

typedef enum { S_ROUTE, S_DENY, S_REVIEW, S_CALLBACK } s_action_t;

/* What the command line asked for. */
typedef struct {
    s_action_t action;
    const char *cmd;
    cli_ref_t ref;
    const char *dept, *note, *sat;
    long suggestion;              /* route --suggestion N, 0: none */
    bool accept, reject;
    cli_msg_id_t msg_id;
} s_decision_t;

/* The request bodies, one of which the envelope points at. */
typedef struct {
    Orderbus__V1__RouteRequest route;
    Orderbus__V1__DenyReturnRequest deny;
    Orderbus__V1__ReviewRequest review;
    Orderbus__V1__CallbackRequest callback;
} s_bodies_t;

/* Checks the options that belong to one action only. 0 or EX_USAGE. */
static int s_check(const s_decision_t *d)
{
    const char *cmd = d->cmd;
    char err[256];
    if (((d->dept || d->suggestion) && d->action != S_ROUTE) || ((d->accept || d->reject) && d->action != S_REVIEW)
        || (d->sat && d->action != S_CALLBACK))
        return cli_usage_error(cmd, "option '%s' does not apply here",
                               d->dept ? "--dept" : d->sat ? "--satisfaction" : "--accept/--reject");
    switch (d->action) {
    case S_ROUTE:
        if (d->suggestion && d->dept)
            return cli_usage_error(cmd, "give --dept D or --suggestion N, not both");
        if (d->suggestion)
            return 0;
        if (!d->dept || !*d->dept)
            return cli_usage_error(cmd, "missing --dept D (or --suggestion N)");
        if (ob_field_check(OB_FIELD_DEPT, "--dept", d->dept, true, err, sizeof err) < 0)
            return cli_usage_error(cmd, "%s", err);
        return 0;
    case S_REVIEW:
        if (d->accept + d->reject != 1)
            return cli_usage_error(cmd, "give exactly one of --accept and --reject");
        if (d->reject && !*d->note)
            return cli_usage_error(cmd, "--reject needs --note T: what the department is to redo");
        return 0;
    case S_CALLBACK:
        if (!d->sat)
            return cli_usage_error(cmd, "missing --satisfaction "
                                        "satisfied|basic|unsatisfied|unreachable");
        return 0;
    case S_DENY:
        return 0;
    }
    return 0;
}

/* Points m's body at the request for d. 0 or EX_USAGE. */
static int s_build(s_decision_t *d, s_bodies_t *b, ob_msg_t *m)
{
    char *note = (char *) d->note;
    switch (d->action) {
    case S_ROUTE:
        orderbus__v1__route_request__init(&b->route);
        b->route.ref = &d->ref.ref;
        b->route.dept = (char *) (d->dept ? d->dept : "");
        b->route.suggestion = (uint32_t) d->suggestion;
        b->route.note = note;
        m->env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ROUTE;
        m->env.route = &b->route;
        return 0;
    case S_DENY:
        orderbus__v1__deny_return_request__init(&b->deny);
        b->deny.ref = &d->ref.ref;
        b->deny.note = note;
        m->env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DENY_RETURN;
        m->env.deny_return = &b->deny;
        return 0;
    case S_REVIEW:
        orderbus__v1__review_request__init(&b->review);
        b->review.ref = &d->ref.ref;
        b->review.accept = d->accept;
        b->review.note = note;
        m->env.body_case = ORDERBUS__V1__ENVELOPE__BODY_REVIEW;
        m->env.review = &b->review;
        return 0;
    case S_CALLBACK: {
        Orderbus__V1__Satisfaction v;
        if (ob_satisfaction_parse(d->sat, &v) < 0 || v == 0)
            return cli_usage_error(d->cmd, "unknown --satisfaction '%s' (satisfied, basic, "
                                           "unsatisfied, unreachable)", d->sat);
        orderbus__v1__callback_request__init(&b->callback);
        b->callback.ref = &d->ref.ref;
        b->callback.satisfaction = v;
        b->callback.note = note;
        m->env.body_case = ORDERBUS__V1__ENVELOPE__BODY_CALLBACK;
        m->env.callback = &b->callback;
        return 0;
    }
    }
    return EX_SOFTWARE;
}

static int s_decide(s_action_t action, const cli_opts_t *gopts, int argc, char **argv)
{
    static const char *const names[] = {"route", "deny-return", "review", "callback"};
    static const char *const usages[] = {s_route_usage, s_deny_usage, s_review_usage,
                                         s_callback_usage};
    cli_opts_t opts = *gopts;
    s_decision_t d = {.action = action, .cmd = names[action], .note = ""};
    const cli_option_t spec[] = {
        CLI_OPT_STRING("dept", &d.dept),       CLI_OPT_CALLBACK("note", &d.note, cli_opt_note),
        CLI_OPT_LONG("suggestion", &d.suggestion, 1, 3),
        CLI_OPT_BOOL("accept", &d.accept),     CLI_OPT_BOOL("reject", &d.reject),
        CLI_OPT_STRING("satisfaction", &d.sat), CLI_OPT_MSG_ID(&d.msg_id),
        CLI_OPT_JSON(&opts),                   CLI_OPT_END()};
    int rc = cli_parse(d.cmd, usages[action], spec, &argc, &argv);
    if (rc != 0)
        return cli_parsed(rc);
    if ((rc = s_check(&d)) != 0 || (rc = cli_one_operand(d.cmd, argc, argv, "ID|CASE")) != 0
        || (rc = cli_ref_parse(&d.ref, d.cmd, argv[0])) != 0)
        return rc;
    ob_msg_t m;
    s_bodies_t bodies;
    cli_msg_init(&m, CLI_SENDER, &d.msg_id);
    if ((rc = s_build(&d, &bodies, &m)) != 0)
        return rc;
    ob_envelope_t *answer = NULL;
    if ((rc = cli_broker_request(&opts, &m, &answer)) != 0)
        return rc;
    rc = cli_print_order(&opts, answer->answer, false);
    ob_wire_free(answer);
    return rc;
}

/* route ID|CASE --dept D [--note T] [--msg-id HEX] [--json] */
int cmd_route(const cli_opts_t *opts, int argc, char **argv)
{
    return s_decide(S_ROUTE, opts, argc, argv);
}

/* deny-return ID|CASE [--note T] [--msg-id HEX] [--json] */
int cmd_deny_return(const cli_opts_t *opts, int argc, char **argv)
{
    return s_decide(S_DENY, opts, argc, argv);
}

/* review ID|CASE --accept|--reject [--note T] [--msg-id HEX] [--json] */
int cmd_review(const cli_opts_t *opts, int argc, char **argv)
{
    return s_decide(S_REVIEW, opts, argc, argv);
}

/* callback ID|CASE --satisfaction S [--note T] [--msg-id HEX] [--json] */
int cmd_callback(const cli_opts_t *opts, int argc, char **argv)
{
    return s_decide(S_CALLBACK, opts, argc, argv);
}
