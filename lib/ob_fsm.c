/*  ob_fsm.c — the order lifecycle: one table, one function that moves an
    order (ob_fsm_apply), guards and effects of a few lines each.

    Each row says from which state an event leads where, which roles may do
    it, on which side (the centre's record, a node's copy, or both), the
    guard that may still refuse it, and the effect that stamps the record.
    A refusal is an answer, never an early return somewhere else: the caller
    gets a code and a message naming the state and the event.              */
#include "ob_fsm.h"
#include "ob_log.h"
#include "ob_order.h"
#include "ob_util.h"

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)
#define C(x) ORDERBUS__V1__ERROR_CODE__##x

/* What a row moves: the centre's record or a node's copy (one is NULL). */
typedef struct {
    ob_record_t *rec;
    ob_nodeorder_t *node;
} s_order_t;

typedef int s_guard_fn(const s_order_t *o, const ob_fsm_ctx_t *ctx, ob_errcode_t *code,
                       char *err, size_t errlen);
typedef int s_effect_fn(s_order_t *o, const ob_fsm_ctx_t *ctx);

typedef struct {
    ob_state_t from;
    ob_event_t event;
    ob_state_t to;
    unsigned roles;
    unsigned sides;
    s_guard_fn *guard;      /* NULL, or refuses with a code and a message */
    s_effect_fn *effect;    /* NULL, or stamps the record; 0 or ENOMEM */
} s_row_t;

/* ---- guards ------------------------------------------------------------- */

/* A department acts only on an order it holds, at the attempt it holds. */
static int s_refuse_unless_held(const s_order_t *o, const ob_fsm_ctx_t *ctx, ob_errcode_t *code,
                                char *err, size_t errlen)
{
    if (!o->rec) {   /* the node holds what is in its inbox: a stale attempt is refused */
        if (ctx->attempt && ctx->attempt != o->node->attempt) {
            *code = C(ERR_STALE_ATTEMPT);
            ob_fmt(err, errlen, "attempt %u is stale: this department holds attempt %u",
                   ctx->attempt, o->node->attempt);
            return -1;
        }
        return 0;
    }
    const ob_record_t *rec = o->rec;
    if (!ctx->dept || strcmp(rec->dept, ctx->dept) != 0 || rec->attempt != ctx->attempt) {
        *code = C(ERR_STALE_ATTEMPT);
        ob_fmt(err, errlen,
               "attempt %u is not held by department '%s' (the order is at attempt %u)",
               ctx->attempt, ctx->dept ? ctx->dept : "", rec->attempt);
        return -1;
    }
    return 0;
}

static int s_refuse_without_note(const s_order_t *o, const ob_fsm_ctx_t *ctx, ob_errcode_t *code,
                                 char *err, size_t errlen)
{
    if (ctx->note && *ctx->note)
        return 0;
    *code = C(ERR_BAD_REQUEST);
    ob_fmt(err, errlen, "a reply sent back for rework needs a note saying what to redo");
    return -1;
}

/* A re-route goes to another department than the one holding the order. */
static int s_refuse_same_dept(const s_order_t *o, const ob_fsm_ctx_t *ctx, ob_errcode_t *code,
                              char *err, size_t errlen)
{
    if (!ctx->dept || strcmp(ctx->dept, o->rec->dept) != 0)
        return 0;
    *code = C(ERR_ILLEGAL_TRANSITION);
    ob_fmt(err, errlen, "order is already at department '%s': route it to another one%s",
           ctx->dept,
           o->rec->state == S(RETURN_REQUESTED) ? ", or refuse the return with deny-return" : "");
    return -1;
}

/* A node adopts only a real state of the lifecycle. */
static int s_refuse_unknown_state(const s_order_t *o, const ob_fsm_ctx_t *ctx,
                                  ob_errcode_t *code, char *err, size_t errlen)
{
    if (ctx->to > S(UNSPECIFIED) && ctx->to <= S(RECALLED)
        && strcmp(ob_state_name(ctx->to), "?") != 0)
        return 0;
    *code = C(ERR_BAD_REQUEST);
    ob_fmt(err, errlen, "state %d is not a state of the lifecycle", (int) ctx->to);
    return -1;
}

/* ---- effects ------------------------------------------------------------ */

static int s_stamp_created(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    o->rec->created_at_ms = ctx->now_ms;
    return 0;
}

/* A dispatch: a new attempt at ctx->dept; the sign clock starts now, the
   reply clock only on the first dispatch (returns stop no clock). */
static int s_stamp_dispatch(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    ob_record_t *rec = o->rec;
    rec->attempt++;
    int rc = ob_order_set_str(&rec->dept, ctx->dept);
    if (!rc && ctx->rule_id)
        rc = ob_order_set_str(&rec->rule_id, ctx->rule_id);
    if (!rc)
        rc = ob_order_set_str(&rec->transport_error, "");
    rec->last_dispatch_at_ms = ctx->now_ms;
    rec->signed_at_ms = 0;
    rec->transport = ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_QUEUED;
    rec->sign_deadline_ms = ctx->sign_deadline_ms;
    rec->sign_warning_ms = ctx->sign_warning_ms;
    if (!rec->dispatched_at_ms) {
        rec->dispatched_at_ms = ctx->now_ms;
        rec->reply_deadline_ms = ctx->reply_deadline_ms;
        rec->reply_warning_ms = ctx->reply_warning_ms;
    }
    return rc;
}

static int s_stamp_rule(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    return ctx->rule_id ? ob_order_set_str(&o->rec->rule_id, ctx->rule_id) : 0;
}

/* Not accepted, transferred out: the case ends here. */
static int s_stamp_ended(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    o->rec->closed_at_ms = ctx->now_ms;
    return s_stamp_rule(o, ctx);
}

static int s_stamp_signed(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    if (o->rec)
        o->rec->signed_at_ms = ctx->now_ms;
    else
        o->node->signed_at_ms = ctx->now_ms;
    return 0;
}

static int s_stamp_replied(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    if (!o->rec) {
        o->node->replied_at_ms = ctx->now_ms;
        o->node->reply_result = ctx->result;
        return 0;
    }
    o->rec->replied_at_ms = ctx->now_ms;
    o->rec->reply_result = ctx->result;
    return ob_order_set_str(&o->rec->reply_note, ctx->note);
}

/* 退单: counted, its reason kept, the department remembered as having
   returned it (the rules never send it back there unless forced). */
static int s_stamp_return(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    ob_record_t *rec = o->rec;
    if (!rec)
        return 0;
    rec->return_count++;
    int rc = ob_order_set_str(&rec->return_reason, ctx->note);
    if (rc || rec->n_tried_depts >= OB_TRIED_MAX)
        return rc;
    char **tried = realloc(rec->tried_depts, (rec->n_tried_depts + 1) * sizeof *tried);
    if (!tried)
        return ENOMEM;
    rec->tried_depts = tried;
    tried[rec->n_tried_depts] = (char *) protobuf_c_empty_string;
    rec->n_tried_depts++;
    return ob_order_set_str(&tried[rec->n_tried_depts - 1], rec->dept);
}

static int s_count_rework(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    o->rec->rework_count++;
    return 0;
}

static int s_stamp_closed(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    o->rec->closed_at_ms = ctx->now_ms;
    o->rec->satisfaction = ctx->satisfaction;
    return 0;
}

static int s_count_reopen(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    o->rec->reopen_count++;
    o->rec->satisfaction = ctx->satisfaction;
    return 0;
}

static int s_stamp_archived(s_order_t *o, const ob_fsm_ctx_t *ctx)
{
    o->rec->archived_at_ms = ctx->now_ms;
    return 0;
}

/* ---- the table -------------------------------------------------------------- */

#define CENTRE OB_FSM_CENTRE
#define NODE OB_FSM_NODE
#define BOTH (OB_FSM_CENTRE | OB_FSM_NODE)
#define ANY OB_FSM_ANY
#define SAME OB_FSM_SAME
#define CTX OB_FSM_CTX
#define DEPT (R(DEPARTMENT) | R(CLERK))
#define DESK (R(DISPATCHER) | R(OPS))

static const s_row_t s_table[] = {
    /* registration and routing (the centre) */
    {S(UNSPECIFIED), E(REGISTER), S(REGISTERED), DESK, CENTRE, NULL, s_stamp_created},
    {S(REGISTERED), E(ROUTE), S(DISPATCHED), R(SYSTEM), CENTRE, NULL, s_stamp_dispatch},
    {S(REGISTERED), E(ROUTE_NONE), S(PENDING_MANUAL), R(SYSTEM), CENTRE, NULL, s_stamp_rule},
    {S(REGISTERED), E(REJECT), S(REJECTED), R(SYSTEM), CENTRE, NULL, s_stamp_ended},
    {S(REGISTERED), E(TRANSFER_OUT), S(TRANSFERRED_OUT), R(SYSTEM), CENTRE, NULL, s_stamp_ended},
    {S(PENDING_MANUAL), E(MANUAL_ROUTE), S(DISPATCHED), DESK, CENTRE, NULL, s_stamp_dispatch},
    {S(DISPATCHED), E(MANUAL_ROUTE), S(DISPATCHED), DESK, CENTRE, s_refuse_same_dept,
     s_stamp_dispatch},
    /* the department's acts (the centre's record and the node's copy alike;
       whatever the act, a department acts only on an order it holds:
       s_refuse_unless_held runs before the table is asked) */
    {S(DISPATCHED), E(SIGN), S(IN_PROGRESS), DEPT, BOTH, NULL, s_stamp_signed},
    {S(DISPATCHED), E(RETURN_REQUEST), S(RETURN_REQUESTED), DEPT, BOTH, NULL, s_stamp_return},
    {S(IN_PROGRESS), E(PROGRESS), SAME, DEPT, BOTH, NULL, NULL},
    {S(IN_PROGRESS), E(REPLY), S(REPLIED), DEPT, BOTH, NULL, s_stamp_replied},
    /* the centre's decisions */
    {S(RETURN_REQUESTED), E(RETURN_APPROVE), S(DISPATCHED), DESK, CENTRE, s_refuse_same_dept,
     s_stamp_dispatch},
    {S(RETURN_REQUESTED), E(RETURN_DENY), S(DISPATCHED), DESK, CENTRE, NULL, NULL},
    {S(REPLIED), E(REVIEW_ACCEPT), S(PENDING_CALLBACK), R(DISPATCHER) | R(SUPERVISOR), CENTRE,
     NULL, NULL},
    {S(REPLIED), E(REVIEW_REJECT), S(IN_PROGRESS), R(DISPATCHER) | R(SUPERVISOR), CENTRE,
     s_refuse_without_note, s_count_rework},
    {S(PENDING_CALLBACK), E(CALLBACK_OK), S(CLOSED), R(DISPATCHER), CENTRE, NULL,
     s_stamp_closed},
    {S(PENDING_CALLBACK), E(CALLBACK_REOPEN), S(REOPENED), R(DISPATCHER), CENTRE, NULL,
     s_count_reopen},
    {S(REOPENED), E(REDISPATCH), S(DISPATCHED), DESK | R(SYSTEM), CENTRE, NULL,
     s_stamp_dispatch},
    {S(CLOSED), E(ARCHIVE), S(ARCHIVED), R(SYSTEM) | R(OPS), CENTRE, NULL, s_stamp_archived},
    /* a node's copy follows the centre: a Dispatch (a new attempt, or rework
       sent as one), a Recall, a Decision */
    {ANY, E(ROUTE), CTX, R(SYSTEM), NODE, s_refuse_unknown_state, NULL},
    {ANY, E(RECALL), S(RECALLED), R(SYSTEM), NODE, NULL, NULL},
    {ANY, E(SYNC), CTX, R(SYSTEM), NODE, s_refuse_unknown_state, NULL},
};

#define S_NROWS (sizeof s_table / sizeof s_table[0])

/* The row for (from, event) on `side`: an exact `from` first, then ANY. */
static const s_row_t *s_row(ob_state_t from, ob_event_t event, unsigned side)
{
    const s_row_t *any = NULL;
    for (size_t i = 0; i < S_NROWS; i++) {
        const s_row_t *r = &s_table[i];
        if (r->event != event || !(r->sides & side))
            continue;
        if (r->from == from)
            return r;
        if (r->from == ANY && !any)
            any = r;
    }
    return any;
}

static const s_row_t *s_lookup(ob_state_t from, ob_event_t event, ob_role_t role, unsigned side,
                               ob_errcode_t *code, char *err, size_t errlen)
{
    const s_row_t *r = s_row(from, event, side);
    if (!r) {
        *code = C(ERR_ILLEGAL_TRANSITION);
        ob_fmt(err, errlen, "event '%s' is not allowed in state '%s'", ob_event_name(event),
               ob_state_name(from));
        return NULL;
    }
    if (role < 0 || role >= 32 || !(r->roles & (1u << role))) {
        *code = C(ERR_FORBIDDEN);
        ob_fmt(err, errlen, "event '%s' in state '%s' may not be done by role '%s'",
               ob_event_name(event), ob_state_name(from), ob_role_name(role));
        return NULL;
    }
    return r;
}

/* The one place that writes an order's state. */
static int s_apply(s_order_t *o, ob_state_t *state, const char *what, ob_event_t event,
                   const ob_fsm_ctx_t *ctx, unsigned side, ob_errcode_t *code, char *err,
                   size_t errlen)
{
    ob_errcode_t dummy;
    if (!code)
        code = &dummy;
    ob_state_t from = *state;
    bool department = ctx->role == ORDERBUS__V1__ROLE__ROLE_DEPARTMENT
                      || ctx->role == ORDERBUS__V1__ROLE__ROLE_CLERK;
    if (department && s_refuse_unless_held(o, ctx, code, err, errlen) != 0)
        return -1;
    const s_row_t *r = s_lookup(from, event, ctx->role, side, code, err, errlen);
    if (!r || (r->guard && r->guard(o, ctx, code, err, errlen) != 0))
        return -1;
    ob_state_t to = r->to == SAME ? from : r->to == CTX ? ctx->to : r->to;
    if (r->effect) {
        int rc = r->effect(o, ctx);
        if (rc)
            return rc;
    }
    *state = to;
    *code = C(OK);
    if (ob_log_level() >= OB_LOG_DEBUG)
        ob_debug("%s %s: %s by %s '%s', %s -> %s", what, ob_event_name(event),
                 side == NODE ? "node" : "centre", ob_role_name(ctx->role),
                 ctx->who ? ctx->who : "", ob_state_name(from), ob_state_name(to));
    return 0;
}

int ob_fsm_apply(ob_record_t *rec, ob_event_t event, const ob_fsm_ctx_t *ctx,
                 ob_errcode_t *code, char *err, size_t errlen)
{
    s_order_t o = {rec, NULL};
    return s_apply(&o, &rec->state, rec->order && rec->order->case_no ? rec->order->case_no : "",
                   event, ctx, CENTRE, code, err, errlen);
}

int ob_fsm_apply_node(ob_nodeorder_t *order, ob_event_t event, const ob_fsm_ctx_t *ctx,
                      ob_errcode_t *code, char *err, size_t errlen)
{
    s_order_t o = {NULL, order};
    return s_apply(&o, &order->state,
                   order->order && order->order->case_no ? order->order->case_no : "", event,
                   ctx, NODE, code, err, errlen);
}

int ob_fsm_next(ob_state_t from, ob_event_t event, ob_role_t role, ob_state_t *to,
                ob_errcode_t *code, char *err, size_t errlen)
{
    ob_errcode_t dummy;
    const s_row_t *r = s_lookup(from, event, role, CENTRE, code ? code : &dummy, err, errlen);
    if (!r)
        return -1;
    *to = r->to == SAME ? from : r->to;
    return 0;
}

bool ob_state_is_open(ob_state_t state)
{
    switch (state) {
    case S(CLOSED):
    case S(CLOSED_DIRECT):
    case S(REJECTED):
    case S(TRANSFERRED_OUT):
    case S(MERGED):
    case S(ARCHIVED):
    case S(RECALLED):
    case S(UNSPECIFIED):
        return false;
    default:
        return true;
    }
}

void ob_fsm_rows(ob_fsm_row_fn *fn, void *arg)
{
    for (size_t i = 0; i < S_NROWS; i++)
        fn(arg, s_table[i].from, s_table[i].event, s_table[i].to, s_table[i].roles,
           s_table[i].sides);
}

/* ---- self-test ------------------------------------------------------------- */
#include "ob_selftest.h"

#define ROLE(x) ORDERBUS__V1__ROLE__ROLE_##x

static void s_count_row(void *arg, ob_state_t from, ob_event_t event, ob_state_t to,
                        unsigned roles, unsigned sides)
{
    (*(size_t *) arg)++;
    assert(roles != 0 && sides != 0);
}

void ob_fsm_test(bool verbose)
{
    ob_state_t to;
    ob_errcode_t code;
    char err[200];
    int rc = ob_fsm_next(S(REGISTERED), E(ROUTE), ROLE(SYSTEM), &to, &code, err, sizeof err);
    assert(rc == 0 && to == S(DISPATCHED));
    rc = ob_fsm_next(S(IN_PROGRESS), E(PROGRESS), ROLE(DEPARTMENT), &to, &code, err, sizeof err);
    assert(rc == 0 && to == S(IN_PROGRESS));
    /* illegal: names the state and the event */
    rc = ob_fsm_next(S(REPLIED), E(SIGN), ROLE(DEPARTMENT), &to, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_ILLEGAL_TRANSITION));
    assert(strstr(err, "'SIGN'") && strstr(err, "'REPLIED'"));
    /* forbidden: a department cannot review its own reply */
    rc = ob_fsm_next(S(REPLIED), E(REVIEW_ACCEPT), ROLE(DEPARTMENT), &to, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_FORBIDDEN));
    /* no return after signing (首办负责) */
    rc = ob_fsm_next(S(IN_PROGRESS), E(RETURN_REQUEST), ROLE(DEPARTMENT), &to, &code, err,
                     sizeof err);
    assert(rc == -1);
    /* node-only rows are not the centre's */
    rc = ob_fsm_next(S(DISPATCHED), E(RECALL), ROLE(SYSTEM), &to, &code, err, sizeof err);
    assert(rc == -1);

    /* the centre's record through a whole case */
    ob_workorder_t wo = ORDERBUS__V1__WORK_ORDER__INIT;
    ob_record_t rec = ORDERBUS__V1__ORDER_RECORD__INIT;
    rec.order = &wo;
    ob_fsm_ctx_t desk = {.role = ROLE(DISPATCHER), .who = "d1", .now_ms = 1000};
    rc = ob_fsm_apply(&rec, E(REGISTER), &desk, &code, err, sizeof err);
    assert(rc == 0 && rec.state == S(REGISTERED) && rec.created_at_ms == 1000);
    ob_fsm_ctx_t route = {.role = ROLE(SYSTEM), .now_ms = 2000, .dept = "housing",
                          .rule_id = "r1", .sign_deadline_ms = 3000, .reply_deadline_ms = 9000};
    rc = ob_fsm_apply(&rec, E(ROUTE), &route, &code, err, sizeof err);
    assert(rc == 0 && rec.state == S(DISPATCHED) && rec.attempt == 1);
    assert(strcmp(rec.dept, "housing") == 0 && rec.dispatched_at_ms == 2000);
    assert(rec.reply_deadline_ms == 9000 && rec.sign_deadline_ms == 3000);
    /* an act of a department that does not hold it: stale, nothing moves */
    ob_fsm_ctx_t act = {.role = ROLE(DEPARTMENT), .now_ms = 2500, .dept = "transport",
                        .attempt = 1, .note = "不归我们管"};
    rc = ob_fsm_apply(&rec, E(RETURN_REQUEST), &act, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_STALE_ATTEMPT) && rec.state == S(DISPATCHED));
    act.dept = "housing";
    rc = ob_fsm_apply(&rec, E(RETURN_REQUEST), &act, &code, err, sizeof err);
    assert(rc == 0 && rec.state == S(RETURN_REQUESTED) && rec.return_count == 1);
    assert(rec.n_tried_depts == 1 && strcmp(rec.tried_depts[0], "housing") == 0);
    /* approve and re-route: never to the same department; the reply clock stays */
    ob_fsm_ctx_t reroute = {.role = ROLE(DISPATCHER), .now_ms = 4000, .dept = "housing",
                            .sign_deadline_ms = 5000, .reply_deadline_ms = 99999};
    rc = ob_fsm_apply(&rec, E(RETURN_APPROVE), &reroute, &code, err, sizeof err);
    assert(rc == -1 && strstr(err, "deny-return") && rec.state == S(RETURN_REQUESTED));
    reroute.dept = "transport";
    rc = ob_fsm_apply(&rec, E(RETURN_APPROVE), &reroute, &code, err, sizeof err);
    assert(rc == 0 && rec.attempt == 2 && strcmp(rec.dept, "transport") == 0);
    assert(rec.reply_deadline_ms == 9000 && rec.sign_deadline_ms == 5000);
    act = (ob_fsm_ctx_t) {.role = ROLE(DEPARTMENT), .now_ms = 4100, .dept = "transport",
                          .attempt = 1};
    rc = ob_fsm_apply(&rec, E(SIGN), &act, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_STALE_ATTEMPT));   /* the old attempt */
    act.attempt = 2;
    rc = ob_fsm_apply(&rec, E(SIGN), &act, &code, err, sizeof err);
    assert(rc == 0 && rec.state == S(IN_PROGRESS) && rec.signed_at_ms == 4100);
    act.note = "已修复";
    act.result = ORDERBUS__V1__REPLY_RESULT__RESULT_RESOLVED;
    act.now_ms = 5000;
    rc = ob_fsm_apply(&rec, E(REPLY), &act, &code, err, sizeof err);
    assert(rc == 0 && rec.state == S(REPLIED) && strcmp(rec.reply_note, "已修复") == 0);
    /* rework needs a note */
    rc = ob_fsm_apply(&rec, E(REVIEW_REJECT), &desk, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_BAD_REQUEST) && rec.state == S(REPLIED));
    rc = ob_fsm_apply(&rec, E(REVIEW_ACCEPT), &desk, &code, err, sizeof err);
    assert(rc == 0 && rec.state == S(PENDING_CALLBACK));
    desk.satisfaction = ORDERBUS__V1__SATISFACTION__SATISFACTION_SATISFIED;
    rc = ob_fsm_apply(&rec, E(CALLBACK_OK), &desk, &code, err, sizeof err);
    assert(rc == 0 && rec.state == S(CLOSED) && rec.closed_at_ms == 1000);
    rc = ob_fsm_apply(&rec, E(SIGN), &act, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_ILLEGAL_TRANSITION) && strstr(err, "'CLOSED'"));
    free(rec.dept);
    free(rec.rule_id);
    free(rec.reply_note);
    free(rec.return_reason);
    free(rec.tried_depts[0]);
    free(rec.tried_depts);

    /* a node's copy: dispatched, signed, recalled; a sync adopts the centre's state */
    ob_nodeorder_t no = ORDERBUS__V1__NODE_ORDER__INIT;
    no.order = &wo;
    no.attempt = 3;
    ob_fsm_ctx_t centre = {.role = ROLE(SYSTEM), .to = S(DISPATCHED)};
    rc = ob_fsm_apply_node(&no, E(ROUTE), &centre, &code, err, sizeof err);
    assert(rc == 0 && no.state == S(DISPATCHED));
    ob_fsm_ctx_t clerk = {.role = ROLE(DEPARTMENT), .now_ms = 77, .attempt = 2};
    rc = ob_fsm_apply_node(&no, E(SIGN), &clerk, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_STALE_ATTEMPT));
    clerk.attempt = 0;
    rc = ob_fsm_apply_node(&no, E(SIGN), &clerk, &code, err, sizeof err);
    assert(rc == 0 && no.state == S(IN_PROGRESS) && no.signed_at_ms == 77);
    centre.to = (ob_state_t) 99;
    rc = ob_fsm_apply_node(&no, E(SYNC), &centre, &code, err, sizeof err);
    assert(rc == -1 && no.state == S(IN_PROGRESS));
    centre.to = S(PENDING_CALLBACK);
    rc = ob_fsm_apply_node(&no, E(SYNC), &centre, &code, err, sizeof err);
    assert(rc == 0 && no.state == S(PENDING_CALLBACK));
    rc = ob_fsm_apply_node(&no, E(RECALL), &centre, &code, err, sizeof err);
    assert(rc == 0 && no.state == S(RECALLED));
    rc = ob_fsm_apply_node(&no, E(SIGN), &clerk, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_ILLEGAL_TRANSITION));
    /* a department cannot forge the centre's rows at the node */
    rc = ob_fsm_apply_node(&no, E(SYNC), &clerk, &code, err, sizeof err);
    assert(rc == -1 && code == C(ERR_FORBIDDEN));

    assert(!ob_state_is_open(S(CLOSED)) && ob_state_is_open(S(REPLIED)));
    size_t rows = 0;
    ob_fsm_rows(s_count_row, &rows);
    assert(rows == S_NROWS);
    if (verbose)
        printf("%zu rows ", rows);
}
