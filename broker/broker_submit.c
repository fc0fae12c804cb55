/*  broker_submit.c — SubmitRequest: an order is registered (id, case
    number), routed by the rules, and its outcome is the event of a
    lifecycle row: dispatched, not accepted, transferred out, or left for a
    dispatcher (PENDING_MANUAL).                                           */
#include "broker.h"
#include "ob_fsm.h"
#include "ob_log.h"
#include "ob_order.h"
#include "ob_util.h"

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define C(x) ORDERBUS__V1__ERROR_CODE__##x
#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)

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

int broker_case_at_least(broker_t *self, const char *case_no)
{
    unsigned day, serial;
    char tail;
    if (!case_no || sscanf(case_no, "%8u-%6u%c", &day, &serial, &tail) != 2)
        return 0;   /* not one of ours: nothing to learn from it */
    if (day == self->case_day) {
        if (serial > self->case_serial) {
            self->case_serial = serial;
            self->case_dirty = true;
        }
        return 0;
    }
    char key[32];
    uint64_t stored = 0;
    snprintf(key, sizeof key, "case/%08u", day);
    int rc = ob_store_meta_get_u64(self->store, self->txn, key, &stored);
    if (!rc && serial > stored)
        rc = ob_store_meta_put_u64(self->store, self->txn, key, serial);
    return rc;
}

/* The first row of every order: REGISTERED, journaled (the record is
   saved by the outcome that follows in the same transaction). */
static int s_register(broker_t *self, const broker_req_t *req, ob_record_t *rec, int64_t now)
{
    ob_fsm_ctx_t ctx = {.role = req->role, .who = req->who, .now_ms = now};
    ob_errcode_t code;
    char err[200];
    int rc = ob_fsm_apply(rec, E(REGISTER), &ctx, &code, err, sizeof err);
    if (rc < 0) {
        ob_error("cannot register an order: %s", err);   /* the table and broker_submit disagree */
        return EINVAL;
    }
    broker_actor_t who = {req->role, req->who, NULL};
    return rc ? rc : broker_journal_append(self, rec, E(REGISTER), S(UNSPECIFIED), &who, NULL,
                                           NULL, NULL);
}

/* The routing model's part of a decision, kept with the order: its
   version, and for an order it left to a dispatcher its suggestions (the
   dispatcher accepts one with `route ID --suggestion N`). */
static int s_model_fields(ob_record_t *rec, const ob_route_t *route)
{
    if (!*route->model_version)
        return 0;
    int rc = ob_order_set_str(&rec->model_version, route->model_version);
    if (rc || route->by_model || !route->n_suggest)
        return rc;
    Orderbus__V1__RouteSuggestion **list = calloc(route->n_suggest, sizeof *list);
    if (!list)
        return ENOMEM;
    rec->suggestions = list;
    for (size_t i = 0; i < route->n_suggest; i++) {
        Orderbus__V1__RouteSuggestion *sg = malloc(sizeof *sg);
        if (!sg)
            return ENOMEM;
        orderbus__v1__route_suggestion__init(sg);
        list[rec->n_suggestions++] = sg;
        sg->prob = route->suggest[i].prob;
        if ((rc = ob_order_set_str(&sg->label, route->suggest[i].label))
            || (rc = ob_order_set_str(&sg->dept, route->suggest[i].dept)))
            return rc;
    }
    return 0;
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
    int mrc = s_model_fields(rec, route);
    if (mrc)
        return mrc;
    if (route->by_model)   /* the journal and trace say model@VERSION, like rule@VERSION */
        ctx.rule_id = "model";
    if (route->decided || route->by_model) {
        int rc = ob_order_set_str(&rec->rules_version,
                                  route->by_model ? route->model_version : route->version);
        if (rc)
            return rc;
        rec->priority = route->priority;
        rec->confidential = route->confidential || rec->order->confidential;
        char **assist = route->n_assist ? calloc(route->n_assist, sizeof *assist) : NULL;
        if (route->n_assist && !assist)
            return ENOMEM;
        rec->assist_depts = assist;   /* the record frees them, filled or not */
        rec->n_assist_depts = route->n_assist;
        for (size_t i = 0; i < route->n_assist; i++)
            if ((rc = ob_order_set_str(&assist[i], route->assist[i])) != 0)
                return rc;
        if (assist)
            rec->assist_deadline_ms =
                ob_calendar_add_limit(self->calendar, now, route->assist_within);
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


/* An intake's reference is an idempotency key per client: claims `ref`
   for the new order `id` (one B-tree put; the key exists when this client
   used the reference before). When it was used, answers with that order
   (and records this request as answered) and returns true; *rc: 0 or a
   store error. */
static bool s_extref_claim(broker_t *self, const broker_req_t *req, const char *ref,
                           const uint8_t *id, int *rc)
{
    uint8_t key[OB_USER_ID_MAX + 1 + OB_SHORT_MAX];
    MDB_dbi dbi = broker_db(self->store, BROKER_DB_IDX_EXTREF);
    MDB_val k = {broker_db_extref_key(key, sizeof key, req->who, ref), key};
    MDB_val v = {OB_ID_BYTES, (void *) id};
    /* an intake's references mostly grow (form numbers, dates): they append */
    *rc = mdb_put(self->txn, dbi, &k, &v, MDB_APPEND);
    if (*rc == MDB_KEYEXIST) {
        v = (MDB_val) {OB_ID_BYTES, (void *) id};
        *rc = mdb_put(self->txn, dbi, &k, &v, MDB_NOOVERWRITE);   /* v: the existing id */
    }
    if (*rc != MDB_KEYEXIST)
        return *rc != 0;
    *rc = 0;
    if (v.mv_size != OB_ID_BYTES)
        return false;
    uint8_t known[OB_ID_BYTES];
    memcpy(known, v.mv_data, OB_ID_BYTES);
    ob_record_t *rec = NULL;
    *rc = broker_order_load(self, known, &rec);
    if (*rc) {
        *rc = *rc == MDB_NOTFOUND || *rc == EBADMSG ? 0 : *rc;
        return *rc != 0;
    }
    broker_answer_strip(rec, true);
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.order = rec;
    *rc = broker_seen_put(self, req, known);
    if (!*rc)
        *rc = broker_answer(self, req, C(OK),
                            "already registered: an order with this external reference was "
                            "submitted by this client before; this is that order",
                            &answer);
    ob_info("%s: submit with a known external reference answered with the existing order",
            rec->order->case_no);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return true;
}

/* Gives back a reference claimed for an order that was then refused. */
static void s_extref_release(broker_t *self, const broker_req_t *req, const char *ref)
{
    if (!ref || !*ref)
        return;
    uint8_t key[OB_USER_ID_MAX + 1 + OB_SHORT_MAX];
    MDB_val k = {broker_db_extref_key(key, sizeof key, req->who, ref), key};
    mdb_del(self->txn, broker_db(self->store, BROKER_DB_IDX_EXTREF), &k, NULL);
}

/* A department's queue at its cap refuses new work for it (the submitter
   retries later): true when answered so. */
static bool s_queue_full(broker_t *self, const broker_req_t *req, const ob_route_t *route,
                         int *rc)
{
    broker_node_t *node = route->matched ? broker_node_get(self, route->dept) : NULL;
    if (!node || self->cfg.queue_cap <= 0
        || broker_node_depth(node) < (uint64_t) self->cfg.queue_cap)
        return false;
    char err[300];
    snprintf(err, sizeof err,
             "department '%s' has %llu messages queued, at its cap of %ld: try later",
             route->dept, (unsigned long long) broker_node_depth(node), self->cfg.queue_cap);
    *rc = broker_answer(self, req, C(ERR_QUEUE_FULL), err, NULL);
    return true;
}

/* A new record that takes over the order the request decoded into (every
   field of it is heap memory of protobuf-c's default allocator, freed with
   the record: no copy of the text), with a new id and the next case number
   of the day. NULL with *rc set on failure. */
static ob_record_t *s_record_new(broker_t *self, const broker_req_t *req, const uint8_t *new_id,
                                 int64_t received, int *rc)
{
    uint8_t *id = malloc(OB_ID_BYTES);
    ob_record_t *rec = malloc(sizeof *rec);
    char case_no[OB_CASE_NO_MAX];
    uint32_t day = ob_day_of(broker_now_ms(self), self->cfg.utc_offset_min);
    *rc = !rec || !id ? ENOMEM : s_next_serial(self, day);
    char *case_copy = *rc ? NULL : strdup(ob_case_no_format(case_no, day,
                                                            (uint32_t) self->case_serial));
    if (!case_copy) {
        *rc = *rc ? *rc : ENOMEM;
        free(rec);
        free(id);
        return NULL;
    }
    memcpy(id, new_id, OB_ID_BYTES);
    orderbus__v1__order_record__init(rec);
    ob_workorder_t *order = req->env->submit->order;
    req->env->submit->order = NULL;
    order->received_at_ms = received;
    free(order->id.data);   /* whatever the client put there */
    order->id.data = id;
    order->id.len = OB_ID_BYTES;
    if (order->case_no && order->case_no != protobuf_c_empty_string)
        free(order->case_no);
    order->case_no = case_copy;
    rec->order = order;
    return rec;
}

/* SubmitRequest{order}: registered, routed, answered with the record
   (without the content: the submitter has it). */
int broker_submit(broker_t *self, const broker_req_t *req)
{
    char err[300];
    int rc = 0;
    ob_workorder_t *in = req->env->submit->order;
    if (!in)
        return broker_answer(self, req, C(ERR_BAD_REQUEST), "submit carries no order", NULL);
    if (ob_order_validate(in, err, sizeof err) != 0)
        return broker_answer(self, req, C(ERR_BAD_REQUEST), err, NULL);
    uint8_t id[OB_ID_BYTES];
    ob_id_new(id);
    if (in->external_ref && *in->external_ref && s_extref_claim(self, req, in->external_ref, id,
                                                                &rc))
        return rc;

    /* the time of receipt is set before routing: rules may match on it */
    int64_t now = broker_now_ms(self);
    if (!in->received_at_ms)
        in->received_at_ms = now;
    ob_route_t route;
    memset(&route, 0, sizeof route);
    if (self->rules)
        ob_rules_route(self->rules, in, &route);
    if (s_queue_full(self, req, &route, &rc)) {
        s_extref_release(self, req, in->external_ref);
        return rc;
    }
    ob_record_t *rec = s_record_new(self, req, id, in->received_at_ms, &rc);
    if (!rec)
        return rc;
    const char *case_no = rec->order->case_no;
    MDB_val ck = {strlen(case_no), (void *) case_no}, cv = {OB_ID_BYTES, rec->order->id.data};
    rc = ob_store_put_append(self->txn, broker_db(self->store, BROKER_DB_IDX_CASE), &ck, &cv, 0);
    if (!rc)
        rc = s_register(self, req, rec, now);
    if (!rc && *route.recused)
        ob_info("%s: recusal: not routed to '%s', the organisation complained about", case_no,
                route.recused);
    if (!rc)
        rc = s_outcome(self, rec, &route, now);
    if (!rc)
        rc = broker_seen_put(self, req, rec->order->id.data);
    if (!rc) {
        /* the submitter has the content and the contact: the answer confirms
           the registration (id, case number, state, department, deadlines) */
        broker_answer_strip(rec, true);
        rc = broker_answer_record(self, req, rec);
    }
    orderbus__v1__order_record__free_unpacked(rec, NULL);
    return rc;
}

