/*  broker_client.c — the client service (docs/PROTOCOL.md §6): a request is
    decoded once, its sender's role looked up once, checked against the
    roles its table row names, and handed to its handler.                  */
#include "broker.h"
#include "ob_log.h"
#include "ob_registry.h"
#include <zmq.h>

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define C(x) ORDERBUS__V1__ERROR_CODE__##x
#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)

/* The role of the client's key, from the registry. */
static ob_role_t s_role_of(broker_t *self, const char *who)
{
    return ob_registry_role(self->store, self->txn, who);
}

/* DenyReturnRequest: the centre refuses a department's return (终审). */
static int s_handle_deny_return(broker_t *self, const broker_req_t *req)
{
    const Orderbus__V1__DenyReturnRequest *r = req->env->deny_return;
    return broker_decide(self, req, r->ref, E(RETURN_DENY), r->note, 0);
}

/* ReviewRequest: accept the reply, or send it back for rework. */
static int s_handle_review(broker_t *self, const broker_req_t *req)
{
    const Orderbus__V1__ReviewRequest *r = req->env->review;
    return broker_decide(self, req, r->ref, r->accept ? E(REVIEW_ACCEPT) : E(REVIEW_REJECT),
                         r->note, 0);
}

/* CallbackRequest: the citizen's satisfaction closes or reopens the case. */
static int s_handle_callback(broker_t *self, const broker_req_t *req)
{
    const Orderbus__V1__CallbackRequest *r = req->env->callback;
    Orderbus__V1__Satisfaction sat = r->satisfaction;
    if (sat == ORDERBUS__V1__SATISFACTION__SATISFACTION_UNSPECIFIED || sat > 4)
        return broker_answer(self, req, C(ERR_BAD_REQUEST), "callback needs a satisfaction",
                             NULL);
    bool reopen = sat == ORDERBUS__V1__SATISFACTION__SATISFACTION_UNSATISFIED;
    return broker_decide(self, req, r->ref, reopen ? E(CALLBACK_REOPEN) : E(CALLBACK_OK),
                         r->note, sat);
}

/* RulesReloadRequest: the rule file is read again and swapped in whole. */
static int s_handle_rules_reload(broker_t *self, const broker_req_t *req)
{
    char msg[4096];
    int ok = broker_reload_rules(self, msg, sizeof msg);
    return broker_answer(self, req, ok == 0 ? C(OK) : C(ERR_BAD_REQUEST), msg, NULL);
}

typedef int s_handler_fn(broker_t *self, const broker_req_t *req);

/* The client service: each request, its handler, the roles that may send
   it (the lifecycle table checks the roles of each decision once more),
   and whether it changes state (then its msg id is deduplicated here,
   once: a resent copy is answered as the first was, never applied twice). */
static const struct {
    int body;
    s_handler_fn *handler;
    unsigned roles;
    bool mutating;
    const char *refusal;
} s_requests[] = {
#define B(x) ORDERBUS__V1__ENVELOPE__BODY_##x
#define ANYONE (R(DISPATCHER) | R(SUPERVISOR) | R(OPS))
    {B(SUBMIT), broker_submit, R(DISPATCHER) | R(OPS), true, "only dispatchers may submit orders"},
    {B(GET), broker_query_get, ANYONE, false, NULL},
    {B(LIST), broker_query_list, ANYONE, false, NULL},
    {B(TRACE), broker_query_trace, ANYONE, false, NULL},
    {B(STATUS), broker_query_status, ANYONE, false, NULL},
    {B(STATS), broker_stats, ANYONE, false, NULL},
    {B(ROUTE), broker_route, ANYONE, true, NULL},
    {B(DENY_RETURN), s_handle_deny_return, ANYONE, true, NULL},
    {B(REVIEW), s_handle_review, ANYONE, true, NULL},
    {B(CALLBACK), s_handle_callback, ANYONE, true, NULL},
    {B(DEAD), broker_dead, R(OPS), true, "only ops handle dead letters"},
    {B(RULES_RELOAD), s_handle_rules_reload, R(OPS) | R(DISPATCHER), false,
     "only ops and dispatchers reload rules"},
#undef ANYONE
#undef B
};

/* One request, decoded, its sender's role looked up, checked against its
   row, deduplicated when it changes state, handled. */
static int s_serve(broker_t *self, const broker_req_t *req)
{
    char err[256];
    if (!(req->role == ORDERBUS__V1__ROLE__ROLE_DISPATCHER
          || req->role == ORDERBUS__V1__ROLE__ROLE_SUPERVISOR
          || req->role == ORDERBUS__V1__ROLE__ROLE_OPS))
        return broker_answer(self, req, C(ERR_FORBIDDEN), "this key is not registered as a client",
                             NULL);
    for (size_t i = 0; i < sizeof s_requests / sizeof s_requests[0]; i++) {
        if (s_requests[i].body != (int) req->env->body_case)
            continue;
        if (!(s_requests[i].roles & (1u << req->role))) {
            snprintf(err, sizeof err, "%s", s_requests[i].refusal ? s_requests[i].refusal
                     : "this request may not be made by this role");
            return broker_answer(self, req, C(ERR_FORBIDDEN), err, NULL);
        }
        int rc = 0;
        if (s_requests[i].mutating && broker_answer_seen(self, req, &rc))
            return rc;
        return s_requests[i].handler(self, req);
    }
    snprintf(err, sizeof err, "request '%s' is not served by the client service",
             ob_wire_body_name(req->env->body_case));
    return broker_answer(self, req, C(ERR_BAD_REQUEST), err, NULL);
}

int broker_client_handle(broker_t *self, const ob_inmsg_t *in)
{
    if (in->truncated || !in->data) {
        ob_warn("client service: refused a malformed message of %zu bytes", in->size);
        if (in->rid_len)
            ob_wire_send_error_answer(self->client_sock, in->rid, in->rid_len, in->msg_id,
                                      in->msg_id_len,
                                      in->size > OB_MAX_FRAME ? C(ERR_TOO_LARGE)
                                                              : C(ERR_BAD_REQUEST),
                                      "malformed message: one frame of at most 1 MiB expected");
        return 0;
    }
    ob_errcode_t code;
    char err[256];
    self->msg_at_us = in->at_us;
    ob_envelope_t *env = ob_wire_decode(in->data, in->size, &code, err, sizeof err);
    if (!env) {
        ob_warn("client service: refused a message: %s", err);
        ob_wire_send_error_answer(self->client_sock, in->rid, in->rid_len, in->msg_id,
                                  in->msg_id_len, code, err);
        return 0;
    }
    broker_req_t req = {in, env, s_role_of(self, in->user_id), in->user_id};
    int rc = s_serve(self, &req);
    ob_wire_free(env);
    return rc;
}
