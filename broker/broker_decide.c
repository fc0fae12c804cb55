/*  broker_decide.c — the centre's decisions on an order: route (manual, a
    return approved, a reopened order sent out again), deny a return,
    review, callback. Each is the event of a lifecycle row, applied through
    broker_order_apply().                                                  */
#include "broker.h"
#include "ob_fsm.h"
#include "ob_log.h"
#include "ob_order.h"

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define C(x) ORDERBUS__V1__ERROR_CODE__##x
#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)

/* Sign and reply limits for a dispatch no rule decided (manual routing,
   reopening): the rule set's defaults, else 24 working hours and 15
   working days. */
static void s_default_limits(broker_t *self, ob_limit_t *sign, ob_limit_t *reply)
{
    *sign = (ob_limit_t) {0, 24};
    *reply = (ob_limit_t) {15, 0};
    if (self->rules)
        ob_rules_default_deadlines(self->rules, sign, reply);
}

int broker_route(broker_t *self, const broker_req_t *req)
{
    const Orderbus__V1__RouteRequest *r = req->env->route;
    int rc = 0;
    ob_record_t *rec;
    int found = broker_answer_find(self, req, r->ref, &rec);
    if (found <= 0)
        return -found;
    char err[300];
    const char *dept = r->dept ? r->dept : "";
    if (r->suggestion) {   /* the routing model's suggestion N, as the dispatcher saw it */
        if (*dept)
            return broker_answer_refuse(self, req, rec, C(ERR_BAD_REQUEST),
                                        "route takes a department or a suggestion, not both");
        if (r->suggestion > rec->n_suggestions) {
            snprintf(err, sizeof err, "the order has %zu suggestion%s, no suggestion %u",
                     rec->n_suggestions, rec->n_suggestions == 1 ? "" : "s", r->suggestion);
            return broker_answer_refuse(self, req, rec, C(ERR_NOT_FOUND), err);
        }
        dept = rec->suggestions[r->suggestion - 1]->dept;
        if (!*dept) {
            snprintf(err, sizeof err, "suggestion %u names no department (its label leads to "
                     "none in the rules): route it with --dept", r->suggestion);
            return broker_answer_refuse(self, req, rec, C(ERR_BAD_REQUEST), err);
        }
    }
    if (!*dept || strlen(dept) >= OB_DEPT_MAX)
        return broker_answer_refuse(self, req, rec, C(ERR_BAD_REQUEST), "route needs a department");
    if (ob_field_check(OB_FIELD_NOTE, NULL, r->note, false, err, sizeof err))
        return broker_answer_refuse(self, req, rec, C(ERR_BAD_REQUEST), err);
    if (!broker_dept_known(self, dept)) {
        snprintf(err, sizeof err, "unknown department '%.63s'", dept);
        return broker_answer_refuse(self, req, rec, C(ERR_NOT_FOUND), err);
    }
    if (self->rules && ob_rules_recused(self->rules, rec->order, dept)) {
        snprintf(err, sizeof err,
                 "department '%.63s' is the organisation this complaint names: recusal (回避) "
                 "forbids routing it there",
                 dept);
        return broker_answer_refuse(self, req, rec, C(ERR_FORBIDDEN), err);
    }
    ob_event_t event;
    switch (rec->state) {
    case S(RETURN_REQUESTED):
        event = E(RETURN_APPROVE);
        break;
    case S(REOPENED):
        event = E(REDISPATCH);
        break;
    default:
        event = E(MANUAL_ROUTE);
        break;
    }
    broker_node_t *node = broker_node_get(self, dept);
    if (node && self->cfg.queue_cap > 0
        && broker_node_depth(node) >= (uint64_t) self->cfg.queue_cap) {
        snprintf(err, sizeof err, "department '%s' queue is at its cap of %ld: try later", dept,
                 self->cfg.queue_cap);
        return broker_answer_refuse(self, req, rec, C(ERR_QUEUE_FULL), err);
    }
    ob_limit_t sign, reply;
    s_default_limits(self, &sign, &reply);
    char accepted[OB_ROUTE_LABEL_MAX + 128];
    const char *note = r->note;
    if (r->suggestion && (!note || !*note)) {
        const Orderbus__V1__RouteSuggestion *sg = rec->suggestions[r->suggestion - 1];
        snprintf(accepted, sizeof accepted, "the routing model's suggestion %u accepted: %s "
                 "(p=%.2f)", r->suggestion, sg->label, sg->prob);
        note = accepted;
    }
    ob_fsm_ctx_t ctx = {.role = req->role, .who = req->who, .now_ms = broker_now_ms(self),
                        .note = note, .dept = dept, .rule_id = "manual"};
    broker_order_deadlines(self, &ctx, sign, reply);
    ob_order_set_str(&rec->rules_version, "");   /* a person decided, not a rule set */
    ob_errcode_t code;
    rc = broker_order_apply(self, rec, event, &ctx, &code, err, sizeof err);
    if (!rc && code != C(OK))
        return broker_answer_refuse(self, req, rec, code, err);
    return broker_answer_finish(self, req, rec, rc);
}

/* A decision of the centre on the order where it is: transition, tell the
   department. */
int broker_decide(broker_t *self, const broker_req_t *req, const Orderbus__V1__OrderRef *ref,
                    ob_event_t event, const char *note, Orderbus__V1__Satisfaction sat)
{
    int rc = 0;
    ob_record_t *rec;
    int found = broker_answer_find(self, req, ref, &rec);
    if (found <= 0)
        return -found;
    char err[300];
    ob_errcode_t code;
    if (ob_field_check(OB_FIELD_NOTE, NULL, note, false, err, sizeof err))
        return broker_answer_refuse(self, req, rec, C(ERR_BAD_REQUEST), err);
    ob_fsm_ctx_t ctx = {.role = req->role, .who = req->who, .now_ms = broker_now_ms(self),
                        .note = note, .satisfaction = sat};
    rc = broker_order_apply(self, rec, event, &ctx, &code, err, sizeof err);
    if (!rc && code != C(OK))
        return broker_answer_refuse(self, req, rec, code, err);
    if (!rc && event == E(CALLBACK_REOPEN)) {
        /* reopened: straight back to the same department, a new attempt,
           with the dispatcher's own words */
        ob_limit_t sign, reply;
        s_default_limits(self, &sign, &reply);
        char dept[OB_DEPT_MAX];
        snprintf(dept, sizeof dept, "%s", rec->dept);
        ob_fsm_ctx_t again = {.role = ORDERBUS__V1__ROLE__ROLE_SYSTEM, .who = "reopen",
                              .now_ms = ctx.now_ms, .dept = dept,
                              .note = note && *note ? note
                                                    : "citizen unsatisfied at callback: reopened"};
        broker_order_deadlines(self, &again, sign, reply);
        rc = broker_order_apply(self, rec, E(REDISPATCH), &again, &code, err, sizeof err);
        if (!rc && code != C(OK))
            ob_error("%s: cannot redispatch a reopened order: %s", rec->order->case_no, err);
    }
    return broker_answer_finish(self, req, rec, rc);
}
