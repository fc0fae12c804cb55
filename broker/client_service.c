/*  client_service.c — requests from dispatchers, supervisors and ops
    (docs/PROTOCOL.md §6): submit, look-ups, the centre's decisions, status
    and statistics.

    A state-changing request is applied once: its msg id goes into `seen`
    in the same transaction as its effect, and a resent copy is answered
    from there. Every answer is an effect, sent after the batch commits.    */
#include "broker.h"
#include "ob_fsm.h"
#include "ob_log.h"
#include "ob_order.h"
#include "ob_util.h"
#include <zmq.h>

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define C(x) ORDERBUS__V1__ERROR_CODE__##x

#define TITLE_MAX   512
#define CONTENT_MAX (64 * 1024)
#define FIELD_MAX   1024
#define ATTACHMENTS_MAX 32   /* as the JSON reader (lib/ob_json.c) */

/* The request being handled. */
typedef struct {
    const ob_inmsg_t *in;
    const ob_envelope_t *env;
    ob_role_t role;
    const char *who;
} s_req_t;

static void s_strip(ob_record_t *rec, bool content);

static int s_answer(broker_t *self, const s_req_t *req, ob_errcode_t code, const char *message,
                    ob_answer_t *answer)
{
    ob_answer_t empty = ORDERBUS__V1__ANSWER__INIT;
    if (!answer)
        answer = &empty;
    if (answer->order)
        broker_order_fill_transport(self, answer->order);
    for (size_t i = 0; i < answer->n_orders; i++)
        broker_order_fill_transport(self, answer->orders[i]);
    answer->code = code;
    answer->message = (char *) (message ? message : "");
    answer->ref_msg_id = req->env->msg_id;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ANSWER;
    m.env.answer = answer;
    return broker_effect_add(self, EFFECT_CLIENT, req->in->rid, req->in->rid_len, NULL, &m.env);
}

static int s_answer_record(broker_t *self, const s_req_t *req, ob_record_t *rec)
{
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.order = rec;
    return s_answer(self, req, C(OK), "", &answer);
}

/* ---- validation ------------------------------------------------------- */

static bool s_text_ok(const char *s, size_t max, const char *field, char *err, size_t errlen)
{
    if (!s)
        return true;
    size_t len = strlen(s);
    if (len > max) {
        snprintf(err, errlen, "field '%s' is %zu bytes, over its %zu byte limit", field, len, max);
        return false;
    }
    if (!ob_utf8_valid(s, len)) {
        snprintf(err, errlen, "field '%s' is not valid UTF-8", field);
        return false;
    }
    return true;
}

static bool s_order_valid(const ob_workorder_t *o, char *err, size_t errlen)
{
    if ((!o->title || !*o->title) && (!o->content || !*o->content)) {
        snprintf(err, errlen, "an order needs a title or a content");
        return false;
    }
    if (o->n_category > 3) {
        snprintf(err, errlen, "field 'category' has %zu levels; at most 3", o->n_category);
        return false;
    }
    for (size_t i = 0; i < o->n_category; i++) {
        if (!o->category[i] || !*o->category[i]) {
            snprintf(err, errlen, "field 'category' has an empty level");
            return false;
        }
        if (!s_text_ok(o->category[i], FIELD_MAX, "category", err, errlen))
            return false;
    }
    if (!s_text_ok(o->title, TITLE_MAX, "title", err, errlen)
        || !s_text_ok(o->content, CONTENT_MAX, "content", err, errlen)
        || !s_text_ok(o->target_org, FIELD_MAX, "target_org", err, errlen)
        || !s_text_ok(o->external_ref, FIELD_MAX, "external_ref", err, errlen))
        return false;
    if (o->location) {
        const Orderbus__V1__Location *l = o->location;
        if (!s_text_ok(l->district_code, FIELD_MAX, "location.district_code", err, errlen)
            || !s_text_ok(l->street_code, FIELD_MAX, "location.street_code", err, errlen)
            || !s_text_ok(l->street, FIELD_MAX, "location.street", err, errlen)
            || !s_text_ok(l->address, FIELD_MAX, "location.address", err, errlen))
            return false;
        if (l->has_point && (l->lat < -90 || l->lat > 90 || l->lon < -180 || l->lon > 180)) {
            snprintf(err, errlen, "field 'location' has a point outside lat/lon range");
            return false;
        }
    }
    if (o->contact) {
        const Orderbus__V1__Contact *c = o->contact;
        if (!s_text_ok(c->name, FIELD_MAX, "contact.name", err, errlen)
            || !s_text_ok(c->phone, FIELD_MAX, "contact.phone", err, errlen)
            || !s_text_ok(c->email, FIELD_MAX, "contact.email", err, errlen)
            || !s_text_ok(c->address, FIELD_MAX, "contact.address", err, errlen)
            || !s_text_ok(c->id_number, FIELD_MAX, "contact.id_number", err, errlen))
            return false;
    }
    if (o->n_attachments > ATTACHMENTS_MAX) {
        snprintf(err, errlen, "field 'attachments' has %zu entries; at most %d", o->n_attachments,
                 ATTACHMENTS_MAX);
        return false;
    }
    for (size_t i = 0; i < o->n_attachments; i++) {
        const Orderbus__V1__Attachment *a = o->attachments[i];
        if (!s_text_ok(a->name, FIELD_MAX, "attachments.name", err, errlen)
            || !s_text_ok(a->mime_type, FIELD_MAX, "attachments.mime_type", err, errlen)
            || !s_text_ok(a->uri, FIELD_MAX, "attachments.uri", err, errlen))
            return false;
        if (a->sha256.len != 0 && a->sha256.len != 32) {
            snprintf(err, errlen, "field 'attachments.sha256' is %zu bytes; a SHA-256 is 32",
                     a->sha256.len);
            return false;
        }
    }
    return true;
}

/* ---- dedup of state-changing requests ---------------------------------- */

/* If this msg id was applied already, answers as then and returns true. */
static bool s_seen_answer(broker_t *self, const s_req_t *req, int *rc)
{
    ProtobufCMessage *msg;
    *rc = ob_store_get_pb(self->txn, ob_store_dbi(self->store, OB_DB_SEEN),
                          req->env->msg_id.data, OB_ID_BYTES,
                          &orderbus__v1__seen_item__descriptor, &msg);
    if (*rc == MDB_NOTFOUND || *rc == EBADMSG) {
        *rc = 0;
        return false;
    }
    if (*rc)
        return true;
    Orderbus__V1__SeenItem *seen = (Orderbus__V1__SeenItem *) msg;
    ob_record_t *rec = NULL;
    if (seen->order_id.len == OB_ID_BYTES)
        broker_order_load(self, seen->order_id.data, &rec);
    if (rec && req->env->body_case == ORDERBUS__V1__ENVELOPE__BODY_SUBMIT)
        s_strip(rec, true);   /* as the first answer was */
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.order = rec;
    *rc = s_answer(self, req, seen->code, seen->message, &answer);
    if (rec)
        protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    protobuf_c_message_free_unpacked(msg, NULL);
    return true;
}

static int s_seen_put(broker_t *self, const s_req_t *req, const uint8_t *order_id)
{
    Orderbus__V1__SeenItem seen = ORDERBUS__V1__SEEN_ITEM__INIT;
    seen.at_ms = broker_now_ms(self);
    seen.order_id.data = (uint8_t *) order_id;
    seen.order_id.len = OB_ID_BYTES;
    return ob_store_put_pb_append(self->txn, ob_store_dbi(self->store, OB_DB_SEEN),
                           req->env->msg_id.data, OB_ID_BYTES, (const ProtobufCMessage *) &seen);
}

static bool s_role_may(const s_req_t *req, unsigned roles)
{
    return (roles & (1u << req->role)) != 0;
}

#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)

/* ---- submit ------------------------------------------------------------ */

/* Moves self->case_serial to the next case number of `day` (meta
   "case/YYYYMMDD", cached; written at the end of the batch). */
static int s_next_serial(broker_t *self, uint32_t day)
{
    if (self->case_day != day) {
        if (self->case_dirty) {   /* midnight inside a batch: keep the old day's count */
            char old[32];
            snprintf(old, sizeof old, "case/%08u", self->case_day);
            int rc = ob_store_meta_put_u64(self->store, self->txn, old, self->case_serial);
            if (rc)
                return rc;
        }
        char key[32];
        snprintf(key, sizeof key, "case/%08u", day);
        int rc = ob_store_meta_get_u64(self->store, self->txn, key, &self->case_serial);
        if (rc)
            return rc;
        self->case_day = day;
    }
    self->case_serial++;
    self->case_dirty = true;
    return 0;
}

/* The first row of every order: REGISTERED, journaled (the record is
   saved by the outcome that follows in the same transaction). */
static int s_register(broker_t *self, const s_req_t *req, ob_record_t *rec, int64_t now)
{
    ob_fsm_ctx_t ctx = {.role = req->role, .who = req->who, .now_ms = now};
    ob_errcode_t code;
    char err[200];
    int rc = ob_fsm_apply(rec, E(REGISTER), &ctx, &code, err, sizeof err);
    if (rc < 0) {
        ob_error("cannot register an order: %s", err);   /* the table and s_submit disagree */
        return EINVAL;
    }
    broker_actor_t who = {req->role, req->who, NULL};
    return rc ? rc : broker_journal_append(self, rec, E(REGISTER), S(UNSPECIFIED), &who, NULL,
                                           NULL, NULL);
}

/* What the rules decided for a registered order, as the event of its
   lifecycle row: dispatch (ROUTE), not accepted (REJECT), transfer out
   (TRANSFER_OUT) or manual routing (ROUTE_NONE). */
static int s_outcome(broker_t *self, ob_record_t *rec, const ob_route_t *route, int64_t now)
{
    /* the journal and the record name the rule and the version of the rule
       set that decided */
    ob_fsm_ctx_t ctx = {.role = ORDERBUS__V1__ROLE__ROLE_SYSTEM, .who = "rules", .now_ms = now,
                        .rule_id = route->decided ? route->rule_id : ""};
    if (route->decided) {
        int rc = ob_order_set_str(&rec->rules_version, route->version);
        if (rc)
            return rc;
        rec->priority = route->priority;
        rec->confidential = route->confidential || rec->order->confidential;
        char **assist = route->n_assist ? calloc(route->n_assist, sizeof *assist) : NULL;
        for (size_t i = 0; assist && i < route->n_assist; i++)
            broker_set_str(&assist[i], route->assist[i]);
        if (assist) {
            rec->assist_depts = assist;
            rec->n_assist_depts = route->n_assist;
            rec->assist_deadline_ms =
                ob_calendar_add_limit(self->calendar, now, route->assist_within);
        }
    }
    char note[OB_ROUTE_TEXT_MAX + OB_ROUTE_REFERRAL_MAX + OB_ROUTE_TEXT_MAX + 64];
    ob_event_t event;
    if (route->matched) {
        event = E(ROUTE);
        ctx.dept = route->dept;
        broker_order_deadlines(self, &ctx, route->sign_within, route->reply_within);
    } else if (route->decided && route->decision == OB_DECISION_REJECT) {
        event = E(REJECT);
        snprintf(note, sizeof note, "不予受理: %s%s%s", route->reason,
                 *route->referral ? "; referral: " : "", route->referral);
        ctx.note = note;
    } else if (route->decided && route->decision == OB_DECISION_TRANSFER) {
        event = E(TRANSFER_OUT);
        snprintf(note, sizeof note, "transferred to site '%s' (%s)%s%s", route->site,
                 route->site_name, *route->reason ? ": " : "", route->reason);
        ctx.note = note;
    } else {
        event = E(ROUTE_NONE);
        const char *why = route->decided ? route->reason : "no routing rule matched";
        ctx.note = *why ? why : "sent to manual routing by a rule";
    }
    ob_errcode_t code;
    char err[300];
    int rc = broker_order_apply(self, rec, event, &ctx, &code, err, sizeof err);
    if (!rc && code != C(OK)) {
        ob_error("%s: %s", rec->order->case_no, err);   /* the table and the rules disagree */
        return EINVAL;
    }
    return rc;
}

static int s_submit(broker_t *self, const s_req_t *req)
{
    char err[300];
    int rc = 0;
    if (!s_role_may(req, R(DISPATCHER) | R(OPS)))
        return s_answer(self, req, C(ERR_FORBIDDEN), "only dispatchers may submit orders", NULL);
    if (s_seen_answer(self, req, &rc))
        return rc;
    const ob_workorder_t *in = req->env->submit->order;
    if (!in)
        return s_answer(self, req, C(ERR_BAD_REQUEST), "submit carries no order", NULL);
    if (!s_order_valid(in, err, sizeof err))
        return s_answer(self, req, C(ERR_BAD_REQUEST), err, NULL);

    /* the time of receipt is set before routing: rules may match on it */
    int64_t now = broker_now_ms(self);
    ob_workorder_t routed = *in;
    if (!routed.received_at_ms)
        routed.received_at_ms = now;
    ob_route_t route;
    memset(&route, 0, sizeof route);
    if (self->rules)
        ob_rules_route(self->rules, &routed, &route);
    if (route.matched) {
        broker_node_t *node = broker_node_get(self, route.dept);
        if (node && self->cfg.queue_cap > 0
            && broker_node_depth(node) >= (uint64_t) self->cfg.queue_cap) {
            snprintf(err, sizeof err,
                     "department '%s' has %llu messages queued, at its cap of %ld: try later",
                     route.dept, (unsigned long long) broker_node_depth(node),
                     self->cfg.queue_cap);
            return s_answer(self, req, C(ERR_QUEUE_FULL), err, NULL);
        }
    }

    /* id and case number */
    uint8_t id[OB_ID_BYTES];
    ob_id_new(id);
    uint32_t day = ob_day_of(now, self->cfg.utc_offset_min);
    char case_no[OB_CASE_NO_MAX];
    if ((rc = s_next_serial(self, day)))
        return rc;
    ob_case_no_format(case_no, day, (uint32_t) self->case_serial);

    /* the record takes over the order the request decoded into (every field
       of it is heap memory of protobuf-c's default allocator, freed with the
       record): no copy of the text */
    ob_record_t *rec = malloc(sizeof *rec);
    uint8_t *id_copy = malloc(OB_ID_BYTES);
    char *case_copy = strdup(case_no);
    if (!rec || !id_copy || !case_copy) {
        free(rec);
        free(id_copy);
        free(case_copy);
        return ENOMEM;
    }
    orderbus__v1__order_record__init(rec);
    ob_workorder_t *order = req->env->submit->order;
    req->env->submit->order = NULL;
    order->received_at_ms = routed.received_at_ms;
    free(order->id.data);   /* whatever the client put there */
    memcpy(id_copy, id, OB_ID_BYTES);
    order->id.data = id_copy;
    order->id.len = OB_ID_BYTES;
    if (order->case_no && order->case_no != protobuf_c_empty_string)
        free(order->case_no);
    order->case_no = case_copy;
    rec->order = order;

    MDB_val ck = {strlen(case_no), case_no}, cv = {OB_ID_BYTES, id};
    rc = ob_store_put_append(self->txn, ob_store_dbi(self->store, OB_DB_IDX_CASE), &ck, &cv, 0);
    if (!rc)
        rc = s_register(self, req, rec, now);
    if (!rc && *route.recused)
        ob_info("%s: recusal: not routed to '%s', the organisation complained about", case_no,
                route.recused);
    if (!rc)
        rc = s_outcome(self, rec, &route, now);
    if (!rc)
        rc = s_seen_put(self, req, id);
    if (!rc) {
        /* the submitter has the content and the contact: the answer confirms
           the registration (id, case number, state, department, deadlines) */
        s_strip(rec, true);
        rc = s_answer_record(self, req, rec);
    }
    if (!rc)
        ob_debug("registered %s as %s", case_no, route.matched ? route.dept : "PENDING_MANUAL");
    orderbus__v1__order_record__free_unpacked(rec, NULL);
    return rc;
}

/* ---- the centre's decisions -------------------------------------------- */

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

/* Loads the order named by `ref`, answering the error itself when it
   cannot. Returns 1 with *rec set, 0 when answered, or a store error < 0. */
static int s_find(broker_t *self, const s_req_t *req, const Orderbus__V1__OrderRef *ref,
                  ob_record_t **rec)
{
    char err[200];
    ob_errcode_t code = broker_order_find(self, ref, rec, err, sizeof err);
    if (code == C(OK))
        return 1;
    int rc = s_answer(self, req, code, err, NULL);
    return rc ? -rc : 0;
}

static int s_refuse(broker_t *self, const s_req_t *req, ob_record_t *rec, ob_errcode_t code,
                    const char *err)
{
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return s_answer(self, req, code, err, NULL);
}

static int s_finish(broker_t *self, const s_req_t *req, ob_record_t *rec, int rc)
{
    if (!rc)
        rc = s_seen_put(self, req, rec->order->id.data);
    if (!rc)
        rc = s_answer_record(self, req, rec);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

static int s_route(broker_t *self, const s_req_t *req)
{
    const Orderbus__V1__RouteRequest *r = req->env->route;
    int rc = 0;
    if (s_seen_answer(self, req, &rc))
        return rc;
    ob_record_t *rec;
    int found = s_find(self, req, r->ref, &rec);
    if (found <= 0)
        return -found;
    char err[300];
    const char *dept = r->dept ? r->dept : "";
    if (!*dept || strlen(dept) >= OB_DEPT_MAX)
        return s_refuse(self, req, rec, C(ERR_BAD_REQUEST), "route needs a department");
    if (ob_field_check(OB_FIELD_NOTE, NULL, r->note, false, err, sizeof err))
        return s_refuse(self, req, rec, C(ERR_BAD_REQUEST), err);
    if (!broker_dept_known(self, dept)) {
        snprintf(err, sizeof err, "unknown department '%.63s'", dept);
        return s_refuse(self, req, rec, C(ERR_NOT_FOUND), err);
    }
    if (self->rules && ob_rules_recused(self->rules, rec->order, dept)) {
        snprintf(err, sizeof err,
                 "department '%.63s' is the organisation this complaint names: recusal (回避) "
                 "forbids routing it there",
                 dept);
        return s_refuse(self, req, rec, C(ERR_FORBIDDEN), err);
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
        return s_refuse(self, req, rec, C(ERR_QUEUE_FULL), err);
    }
    ob_limit_t sign, reply;
    s_default_limits(self, &sign, &reply);
    ob_fsm_ctx_t ctx = {.role = req->role, .who = req->who, .now_ms = broker_now_ms(self),
                        .note = r->note, .dept = dept, .rule_id = "manual"};
    broker_order_deadlines(self, &ctx, sign, reply);
    broker_set_str(&rec->rules_version, "");   /* a person decided, not a rule set */
    ob_errcode_t code;
    rc = broker_order_apply(self, rec, event, &ctx, &code, err, sizeof err);
    if (!rc && code != C(OK))
        return s_refuse(self, req, rec, code, err);
    return s_finish(self, req, rec, rc);
}

/* A decision of the centre on the order where it is: transition, tell the
   department. */
static int s_decide(broker_t *self, const s_req_t *req, const Orderbus__V1__OrderRef *ref,
                    ob_event_t event, const char *note, Orderbus__V1__Satisfaction sat)
{
    int rc = 0;
    if (s_seen_answer(self, req, &rc))
        return rc;
    ob_record_t *rec;
    int found = s_find(self, req, ref, &rec);
    if (found <= 0)
        return -found;
    char err[300];
    ob_errcode_t code;
    if (ob_field_check(OB_FIELD_NOTE, NULL, note, false, err, sizeof err))
        return s_refuse(self, req, rec, C(ERR_BAD_REQUEST), err);
    ob_fsm_ctx_t ctx = {.role = req->role, .who = req->who, .now_ms = broker_now_ms(self),
                        .note = note, .satisfaction = sat};
    rc = broker_order_apply(self, rec, event, &ctx, &code, err, sizeof err);
    if (!rc && code != C(OK))
        return s_refuse(self, req, rec, code, err);
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
    return s_finish(self, req, rec, rc);
}

/* ---- read-only requests ----------------------------------------------- */

static void s_strip(ob_record_t *rec, bool content)
{
    if (rec->order && rec->order->contact) {
        orderbus__v1__contact__free_unpacked(rec->order->contact, NULL);
        rec->order->contact = NULL;
    }
    if (content && rec->order)
        broker_set_str(&rec->order->content, "");
}

static int s_get(broker_t *self, const s_req_t *req)
{
    ob_record_t *rec;
    int found = s_find(self, req, req->env->get->ref, &rec);
    if (found <= 0)
        return -found;
    int rc = s_answer_record(self, req, rec);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

static int s_list(broker_t *self, const s_req_t *req)
{
    const Orderbus__V1__ListRequest *l = req->env->list;
    size_t limit = l->limit && l->limit < BROKER_LIST_MAX ? l->limit : BROKER_LIST_MAX;
    const char *dept = l->dept ? l->dept : "";
    ob_record_t **recs = calloc(limit, sizeof *recs);
    if (!recs)
        return ENOMEM;
    size_t n = 0;
    int rc = 0;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    bool after = l->after_id.len == OB_ID_BYTES;
    if (l->state != S(UNSPECIFIED)) {
        /* the index runs state, department, id: each department's ids are
           in order, and the departments' lists are merged so that the
           answer (and paging by after_id) is in id order across them */
        uint8_t (*ids)[OB_ID_BYTES] = calloc(limit, sizeof *ids);
        size_t nids = 0;
        rc = ids ? mdb_cursor_open(self->txn, ob_store_dbi(self->store, OB_DB_IDX_DEPT), &cur)
                 : ENOMEM;
        uint8_t key[2 + OB_DEPT_MAX + OB_ID_BYTES];
        key[0] = (uint8_t) l->state;
        size_t klen = 1;
        if (*dept) {
            size_t dl = strnlen(dept, OB_DEPT_MAX - 1);
            memcpy(key + 1, dept, dl);
            key[1 + dl] = 0;
            klen = 2 + dl;
        }
        uint8_t want[2 + OB_DEPT_MAX];   /* the requested prefix */
        memcpy(want, key, klen);
        k.mv_size = klen;
        k.mv_data = key;
        int grc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (grc == 0 && k.mv_size > 1 + OB_ID_BYTES && ((uint8_t *) k.mv_data)[0] == l->state) {
            /* a department's run: its prefix is state, dept, NUL */
            size_t plen = k.mv_size - OB_ID_BYTES;
            uint8_t prefix[2 + OB_DEPT_MAX];
            if (plen > sizeof prefix || (*dept && (plen != klen || memcmp(k.mv_data, want, klen))))
                break;   /* no order of that department in that state */
            memcpy(prefix, k.mv_data, plen);
            if (after) {   /* to the first id after after_id in this run */
                memcpy(key, prefix, plen);
                memcpy(key + plen, l->after_id.data, OB_ID_BYTES);
                k.mv_size = plen + OB_ID_BYTES;
                k.mv_data = key;
                grc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
                if (grc == 0 && k.mv_size == plen + OB_ID_BYTES && !memcmp(k.mv_data, prefix, plen)
                    && !memcmp((uint8_t *) k.mv_data + plen, l->after_id.data, OB_ID_BYTES))
                    grc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            }
            /* merge this run's ids (ascending) into ids[0..nids), keeping the lowest `limit` */
            size_t pos = 0;
            for (size_t taken = 0; grc == 0 && taken < limit && k.mv_size == plen + OB_ID_BYTES
                                   && !memcmp(k.mv_data, prefix, plen);
                 taken++, grc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
                const uint8_t *id = (const uint8_t *) k.mv_data + plen;
                while (pos < nids && memcmp(ids[pos], id, OB_ID_BYTES) < 0)
                    pos++;
                if (pos == limit)
                    break;   /* every id from here on is above the lowest `limit` */
                size_t move = (nids < limit ? nids : limit - 1) - pos;
                memmove(ids[pos + 1], ids[pos], move * OB_ID_BYTES);
                memcpy(ids[pos], id, OB_ID_BYTES);
                if (nids < limit)
                    nids++;
                pos++;
            }
            if (*dept)
                break;
            /* on to the next department: past every key with this prefix */
            memcpy(key, prefix, plen);
            memset(key + plen, 0xff, OB_ID_BYTES);
            k.mv_size = plen + OB_ID_BYTES;
            k.mv_data = key;
            grc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            if (grc == 0 && k.mv_size == plen + OB_ID_BYTES && !memcmp(k.mv_data, key, k.mv_size))
                grc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        for (size_t i = 0; i < nids && n < limit; i++)
            if (broker_order_load(self, ids[i], &recs[n]) == 0)
                n++;
        free(ids);
        rc = 0;
    } else {
        rc = mdb_cursor_open(self->txn, ob_store_dbi(self->store, OB_DB_ORDERS), &cur);
        MDB_cursor_op op = MDB_FIRST;
        if (!rc && after) {
            k.mv_size = OB_ID_BYTES;
            k.mv_data = l->after_id.data;
            op = MDB_SET_RANGE;
        }
        for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, op); rc == 0 && n < limit;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (after && k.mv_size == OB_ID_BYTES
                && memcmp(k.mv_data, l->after_id.data, OB_ID_BYTES) == 0)
                continue;
            ob_record_t *rec = orderbus__v1__order_record__unpack(NULL, v.mv_size, v.mv_data);
            if (!rec)
                continue;
            if (*dept && strcmp(rec->dept, dept) != 0) {
                orderbus__v1__order_record__free_unpacked(rec, NULL);
                continue;
            }
            recs[n++] = rec;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++)
        s_strip(recs[i], true);   /* a list shows no contact and no content */
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.orders = recs;
    answer.n_orders = n;
    rc = s_answer(self, req, C(OK), "", &answer);
    for (size_t i = 0; i < n; i++)
        orderbus__v1__order_record__free_unpacked(recs[i], NULL);
    free(recs);
    return rc;
}

static int s_trace(broker_t *self, const s_req_t *req)
{
    ob_record_t *rec;
    int found = s_find(self, req, req->env->trace->ref, &rec);
    if (found <= 0)
        return -found;
    size_t cap = 16, n = 0;
    ob_journal_t **events = malloc(cap * sizeof *events);
    MDB_cursor *cur = NULL;
    int rc = events ? mdb_cursor_open(self->txn, ob_store_dbi(self->store, OB_DB_IDX_JOURNAL),
                                      &cur)
                    : ENOMEM;
    MDB_val k = {OB_ID_BYTES, rec->order->id.data}, v;
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != OB_ID_BYTES + 8
            || memcmp(k.mv_data, rec->order->id.data, OB_ID_BYTES) != 0)
            break;
        ProtobufCMessage *msg;
        if (ob_store_get_pb(self->txn, ob_store_dbi(self->store, OB_DB_JOURNAL),
                            (const uint8_t *) k.mv_data + OB_ID_BYTES, 8,
                            &orderbus__v1__journal_entry__descriptor, &msg)
            != 0)
            continue;
        if (n == cap) {
            ob_journal_t **more = realloc(events, 2 * cap * sizeof *events);
            if (!more) {
                protobuf_c_message_free_unpacked(msg, NULL);
                break;
            }
            events = more;
            cap *= 2;
        }
        events[n++] = (ob_journal_t *) msg;
    }
    if (cur)
        mdb_cursor_close(cur);
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.order = rec;
    answer.events = events;
    answer.n_events = n;
    rc = s_answer(self, req, C(OK), "", &answer);
    for (size_t i = 0; i < n; i++)
        orderbus__v1__journal_entry__free_unpacked(events[i], NULL);
    free(events);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

static int s_status(broker_t *self, const s_req_t *req)
{
    Orderbus__V1__BrokerStatus st = ORDERBUS__V1__BROKER_STATUS__INIT;
    st.software = (char *) "orderbus-broker " OB_VERSION_STRING;
    st.started_at_ms = self->started_at_ms;
    st.now_ms = ob_now_ms();
    MDB_stat ms;
    if (mdb_stat(self->txn, ob_store_dbi(self->store, OB_DB_ORDERS), &ms) == 0)
        st.orders = ms.ms_entries;
    st.journal_seq = self->journal_seq;
    st.rules_version = (char *) (self->rules ? ob_rules_version(self->rules) : "");
    ob_store_usage(self->store, &st.store_bytes, &st.map_bytes);

    /* one pass over the state index: counts by state, open orders by department */
    uint64_t by_state[32] = {0};
    uint64_t *open = calloc(self->nnodes + 1, sizeof *open);
    if (!open)
        return ENOMEM;
    MDB_cursor *cur;
    MDB_val k, v;
    if (mdb_cursor_open(self->txn, ob_store_dbi(self->store, OB_DB_IDX_DEPT), &cur) == 0) {
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const uint8_t *key = k.mv_data;
            if (k.mv_size < 2 + OB_ID_BYTES)
                continue;
            by_state[key[0] & 31]++;
            if (!ob_state_is_open((ob_state_t) key[0]))
                continue;
            const char *dept = (const char *) key + 1;
            for (size_t i = 0; i < self->nnodes; i++)
                if (strcmp(self->nodes[i].id, dept) == 0)
                    open[i]++;
        }
        mdb_cursor_close(cur);
    }
    Orderbus__V1__StateCount counts[32], *countp[32];
    size_t ncounts = 0;
    for (int s = 0; s < 32; s++) {
        if (!by_state[s])
            continue;
        orderbus__v1__state_count__init(&counts[ncounts]);
        counts[ncounts].state = (ob_state_t) s;
        counts[ncounts].count = by_state[s];
        countp[ncounts] = &counts[ncounts];
        ncounts++;
    }
    st.states = countp;
    st.n_states = ncounts;

    Orderbus__V1__NodeStatus *ns = calloc(self->nnodes + 1, sizeof *ns);
    Orderbus__V1__NodeStatus **nsp = calloc(self->nnodes + 1, sizeof *nsp);
    size_t nn = 0;
    for (size_t i = 0; ns && nsp && i < self->nnodes; i++) {
        broker_node_t *node = &self->nodes[i];
        if (!node->registered && !broker_node_depth(node))
            continue;
        orderbus__v1__node_status__init(&ns[nn]);
        ns[nn].dept = node->id;
        ns[nn].name = (char *) broker_dept_name(self, node->id);
        ns[nn].up = node->up;
        ns[nn].last_seen_ms = node->last_seen_ms;
        ns[nn].outbox_depth = broker_node_depth(node);
        ns[nn].inflight = node->sent_seq - node->acked_seq;
        ns[nn].open_orders = open[i];
        nsp[nn] = &ns[nn];
        nn++;
    }
    st.nodes = nsp;
    st.n_nodes = nn;
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.status = &st;
    int rc = s_answer(self, req, C(OK), "", &answer);
    free(ns);
    free(nsp);
    free(open);
    return rc;
}

/* ---- statistics from the journal --------------------------------------- */

typedef struct {
    uint8_t id[OB_ID_BYTES];
    bool used;
    int64_t first_dispatch;
    int64_t last_dispatch;
    char dept[OB_DEPT_MAX];
} s_track_t;

typedef struct {
    Orderbus__V1__DeptStats st;
    int64_t *sign_ms, *reply_ms;
    size_t nsign, nreply, capsign, capreply;
} s_deptacc_t;

static s_track_t *s_track(s_track_t *table, size_t cap, const uint8_t *id)
{
    size_t h = ((size_t) id[0] | (size_t) id[1] << 8 | (size_t) id[2] << 16 | (size_t) id[3] << 24)
               & (cap - 1);
    while (table[h].used && memcmp(table[h].id, id, OB_ID_BYTES) != 0)
        h = (h + 1) & (cap - 1);
    if (!table[h].used) {
        table[h].used = true;
        memcpy(table[h].id, id, OB_ID_BYTES);
    }
    return &table[h];
}

static void s_push(int64_t **arr, size_t *n, size_t *cap, int64_t v)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        int64_t *a = realloc(*arr, c * sizeof *a);
        if (!a)
            return;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = v;
}

static int s_cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static int64_t s_median(int64_t *arr, size_t n)
{
    if (!n)
        return -1;
    qsort(arr, n, sizeof *arr, s_cmp64);
    return n % 2 ? arr[n / 2] : (arr[n / 2 - 1] + arr[n / 2]) / 2;
}

static s_deptacc_t *s_acc(s_deptacc_t **accs, size_t *n, const char *dept)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*accs)[i].st.dept, dept) == 0)
            return &(*accs)[i];
    s_deptacc_t *more = realloc(*accs, (*n + 1) * sizeof **accs);
    if (!more)
        return NULL;
    *accs = more;
    s_deptacc_t *a = &more[(*n)++];
    memset(a, 0, sizeof *a);
    orderbus__v1__dept_stats__init(&a->st);
    a->st.dept = strdup(dept);
    return a->st.dept ? a : NULL;
}

static int s_stats(broker_t *self, const s_req_t *req)
{
    const Orderbus__V1__StatsRequest *q = req->env->stats;
    MDB_stat ms;
    size_t cap = 1024;
    if (mdb_stat(self->txn, ob_store_dbi(self->store, OB_DB_ORDERS), &ms) == 0)
        while (cap < ms.ms_entries * 2)
            cap *= 2;
    s_track_t *track = calloc(cap, sizeof *track);
    s_deptacc_t *accs = NULL;
    size_t nacc = 0;
    if (!track)
        return ENOMEM;
    /* every registered department appears, even with nothing to count */
    for (size_t i = 0; i < self->nnodes; i++)
        if (self->nodes[i].registered && (!q->dept || !*q->dept
                                          || strcmp(q->dept, self->nodes[i].id) == 0))
            s_acc(&accs, &nacc, self->nodes[i].id);
    int64_t until = q->until_ms ? q->until_ms : INT64_MAX;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(self->txn, ob_store_dbi(self->store, OB_DB_JOURNAL), &cur);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ob_journal_t *e = orderbus__v1__journal_entry__unpack(NULL, v.mv_size, v.mv_data);
        if (!e)
            continue;
        if (e->order_id.len != OB_ID_BYTES || e->at_ms > until) {
            orderbus__v1__journal_entry__free_unpacked(e, NULL);
            continue;
        }
        s_track_t *t = s_track(track, cap, e->order_id.data);
        bool in_period = e->at_ms >= q->since_ms;
        bool dispatch = e->to_state == S(DISPATCHED)
                        && (e->event == E(ROUTE) || e->event == E(MANUAL_ROUTE)
                            || e->event == E(RETURN_APPROVE) || e->event == E(REDISPATCH));
        if (dispatch) {
            if (!t->first_dispatch)
                t->first_dispatch = e->at_ms;
            t->last_dispatch = e->at_ms;
            snprintf(t->dept, sizeof t->dept, "%s", e->dept);
        }
        const char *dept = dispatch ? e->dept : t->dept;
        s_deptacc_t *a = NULL;
        if (in_period && *dept && (!q->dept || !*q->dept || strcmp(q->dept, dept) == 0))
            a = s_acc(&accs, &nacc, dept);
        if (a) {
            if (dispatch)
                a->st.dispatched++;
            switch (e->event) {
            case E(SIGN):
                a->st.signed_for++;
                s_push(&a->sign_ms, &a->nsign, &a->capsign, e->at_ms - t->last_dispatch);
                break;
            case E(REPLY):
                a->st.replied++;
                s_push(&a->reply_ms, &a->nreply, &a->capreply, e->at_ms - t->first_dispatch);
                break;
            case E(RETURN_REQUEST):
                a->st.returned++;
                break;
            case E(REVIEW_REJECT):
                a->st.reworked++;
                break;
            case E(CALLBACK_REOPEN):
                a->st.reopened++;
                a->st.unsatisfied++;
                break;
            case E(CALLBACK_OK):
                a->st.closed++;
                if (e->satisfaction == ORDERBUS__V1__SATISFACTION__SATISFACTION_SATISFIED
                    || e->satisfaction == ORDERBUS__V1__SATISFACTION__SATISFACTION_BASIC)
                    a->st.satisfied++;
                break;
            default:
                break;
            }
        }
        orderbus__v1__journal_entry__free_unpacked(e, NULL);
    }
    mdb_cursor_close(cur);
    Orderbus__V1__DeptStats **list = calloc(nacc + 1, sizeof *list);
    for (size_t i = 0; list && i < nacc; i++) {
        accs[i].st.name = (char *) broker_dept_name(self, accs[i].st.dept);
        accs[i].st.median_sign_ms = s_median(accs[i].sign_ms, accs[i].nsign);
        accs[i].st.median_reply_ms = s_median(accs[i].reply_ms, accs[i].nreply);
        list[i] = &accs[i].st;
    }
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.stats = list;
    answer.n_stats = list ? nacc : 0;
    rc = s_answer(self, req, C(OK), "", &answer);
    for (size_t i = 0; i < nacc; i++) {
        free(accs[i].st.dept);
        free(accs[i].sign_ms);
        free(accs[i].reply_ms);
    }
    free(accs);
    free(list);
    free(track);
    return rc;
}

/* ---- entry ------------------------------------------------------------- */

/* The role of the client's key, from the registry. */
static ob_role_t s_role_of(broker_t *self, const char *who)
{
    ProtobufCMessage *msg;
    if (!*who || ob_store_get_pb(self->txn, ob_store_dbi(self->store, OB_DB_PRINCIPALS), who,
                                 strlen(who), &orderbus__v1__principal__descriptor, &msg)
                     != 0)
        return ORDERBUS__V1__ROLE__ROLE_UNSPECIFIED;
    ob_role_t role = ((Orderbus__V1__Principal *) msg)->role;
    protobuf_c_message_free_unpacked(msg, NULL);
    return role;
}

int broker_client_handle(broker_t *self, const ob_inmsg_t *in)
{
    if (in->truncated || !in->data) {
        ob_warn("client service: refused a malformed message of %zu bytes", in->size);
        if (in->rid_len)
            ob_wire_send_error_answer(self->client_sock, in->rid, in->rid_len, NULL, 0,
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
        ob_wire_send_error_answer(self->client_sock, in->rid, in->rid_len, NULL, 0, code, err);
        return 0;
    }
    s_req_t req = {in, env, s_role_of(self, in->user_id), in->user_id};
    int rc = 0;
    if (req.role != ORDERBUS__V1__ROLE__ROLE_DISPATCHER
        && req.role != ORDERBUS__V1__ROLE__ROLE_SUPERVISOR
        && req.role != ORDERBUS__V1__ROLE__ROLE_OPS) {
        rc = s_answer(self, &req, C(ERR_FORBIDDEN), "this key is not registered as a client",
                      NULL);
        goto out;
    }
    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_SUBMIT:
        rc = s_submit(self, &req);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_GET:
        rc = s_get(self, &req);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_LIST:
        rc = s_list(self, &req);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_TRACE:
        rc = s_trace(self, &req);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_ROUTE:
        rc = s_route(self, &req);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_DENY_RETURN:
        rc = s_decide(self, &req, env->deny_return->ref, E(RETURN_DENY), env->deny_return->note,
                      0);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_REVIEW:
        rc = s_decide(self, &req, env->review->ref,
                      env->review->accept ? E(REVIEW_ACCEPT) : E(REVIEW_REJECT),
                      env->review->note, 0);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_CALLBACK: {
        Orderbus__V1__Satisfaction sat = env->callback->satisfaction;
        if (sat == ORDERBUS__V1__SATISFACTION__SATISFACTION_UNSPECIFIED || sat > 4) {
            rc = s_answer(self, &req, C(ERR_BAD_REQUEST), "callback needs a satisfaction", NULL);
            break;
        }
        rc = s_decide(self, &req, env->callback->ref,
                      sat == ORDERBUS__V1__SATISFACTION__SATISFACTION_UNSATISFIED
                          ? E(CALLBACK_REOPEN)
                          : E(CALLBACK_OK),
                      env->callback->note, sat);
        break;
    }
    case ORDERBUS__V1__ENVELOPE__BODY_STATUS:
        rc = s_status(self, &req);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_STATS:
        rc = s_stats(self, &req);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_RULES_RELOAD: {
        if (req.role != ORDERBUS__V1__ROLE__ROLE_OPS
            && req.role != ORDERBUS__V1__ROLE__ROLE_DISPATCHER) {
            rc = s_answer(self, &req, C(ERR_FORBIDDEN), "only ops and dispatchers reload rules",
                          NULL);
            break;
        }
        char msg[4096];
        int ok = broker_reload_rules(self, msg, sizeof msg);
        rc = s_answer(self, &req, ok == 0 ? C(OK) : C(ERR_BAD_REQUEST), msg, NULL);
        break;
    }
    default:
        snprintf(err, sizeof err, "request '%s' is not served by the client service",
                 ob_wire_body_name(env->body_case));
        rc = s_answer(self, &req, C(ERR_BAD_REQUEST), err, NULL);
        break;
    }
out:
    ob_wire_free(env);
    return rc;
}
