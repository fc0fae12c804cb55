/*  ob_fsm.h — the order lifecycle (DESIGN §2): ONE table of
    (state, event) -> (next state, roles, guard, effect), at the centre and
    at the department's node.

    ob_fsm_apply() is the only code in orderbus that writes an order's state.
    A refusal (no row, a role not named, a guard that says no) is an answer
    with a code and a message naming the state and the event; an accepted
    event moves the state, runs the row's effect (stamps such as signed_at,
    the return count, the new attempt of a dispatch) and logs from -> to.
    What follows from a transition outside the record (the journal entry,
    the outbox message, the answer) is the caller's: broker_order_apply()
    at the broker, node_inbox at the node.                                  */
#ifndef OB_FSM_H
#define OB_FSM_H

#include "ob_common.h"
#include "ob_names.h"

/* What an act brings to a transition. Fields an event does not use are
   ignored; strings are borrowed. */
typedef struct {
    ob_role_t role;                   /* who acts */
    const char *who;                  /* the actor's id (department or principal), for logs */
    int64_t now_ms;                   /* when the act takes effect (the act's own time) */
    const char *note;                 /* note or reason ("" none) */
    /* department acts: the department acting and the attempt it holds (the
       centre refuses an act of a department that does not hold the order,
       ERR_STALE_ATTEMPT); dispatches: the department it goes to */
    const char *dept;
    uint32_t attempt;
    /* dispatches (ROUTE, MANUAL_ROUTE, RETURN_APPROVE, REDISPATCH) */
    const char *rule_id;              /* NULL: keep the record's */
    int64_t sign_deadline_ms, sign_warning_ms;
    int64_t reply_deadline_ms, reply_warning_ms;   /* used on the first dispatch only:
                                                      the reply clock never restarts */
    Orderbus__V1__ReplyResult result;              /* REPLY */
    Orderbus__V1__Satisfaction satisfaction;       /* CALLBACK_OK, CALLBACK_REOPEN */
    ob_state_t to;                    /* node: ROUTE and SYNC adopt this state (the centre's) */
} ob_fsm_ctx_t;

/* Moves the centre's record `rec` by `event` done by ctx->role. Returns 0
   with rec moved and stamped; -1 with *code ERR_ILLEGAL_TRANSITION (no row:
   "event 'SIGN' is not allowed in state 'REPLIED'"), ERR_FORBIDDEN (the
   row does not name the role), or a guard's code (ERR_STALE_ATTEMPT,
   ERR_BAD_REQUEST ...) and its message in err, rec unchanged; or ENOMEM
   (> 0) when an effect could not allocate (rec may be half-stamped: the
   caller aborts its transaction). */
int ob_fsm_apply(ob_record_t *rec, ob_event_t event, const ob_fsm_ctx_t *ctx,
                 ob_errcode_t *code, char *err, size_t errlen);

/* The same for a node's copy of an order: the department's acts (SIGN,
   PROGRESS, RETURN_REQUEST, REPLY), a Dispatch arriving (ROUTE: adopt
   ctx->to), a Recall (RECALL: to RECALLED) and a Decision (SYNC: adopt
   ctx->to, the centre's state). Same returns. */
int ob_fsm_apply_node(ob_nodeorder_t *order, ob_event_t event, const ob_fsm_ctx_t *ctx,
                      ob_errcode_t *code, char *err, size_t errlen);

/* Asks the table without moving anything: 0 and *to when `event` may happen
   in `from` at the centre for `role` (guards not consulted), else -1 with
   *code and err as ob_fsm_apply. For previews (the demo agent, the CLI). */
int ob_fsm_next(ob_state_t from, ob_event_t event, ob_role_t role, ob_state_t *to,
                ob_errcode_t *code, char *err, size_t errlen);

/* True for states in which an order is still being handled (not CLOSED,
   CLOSED_DIRECT, REJECTED, TRANSFERRED_OUT, MERGED, ARCHIVED, RECALLED). */
bool ob_state_is_open(ob_state_t state);

/* The rows, for documentation and tests: calls fn once per row. */
typedef void ob_fsm_row_fn(void *arg, ob_state_t from, ob_event_t event, ob_state_t to,
                           unsigned roles, unsigned sides);
void ob_fsm_rows(ob_fsm_row_fn *fn, void *arg);

#define OB_FSM_CENTRE 1u
#define OB_FSM_NODE   2u
#define OB_FSM_ANY    ((ob_state_t) -1)   /* a row's `from`: any state (node rows) */
#define OB_FSM_SAME   ((ob_state_t) -2)   /* a row's `to`: stays */
#define OB_FSM_CTX    ((ob_state_t) -3)   /* a row's `to`: ctx->to */

void ob_fsm_test(bool verbose);

#endif
