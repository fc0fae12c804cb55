/*  broker_order.c — the broker's order records: load and save with their
    indexes, the append-only journal (one entry per transition, published on
    the event stream after commit), and the acts that send something to a
    department (dispatch, recall, decision).

    Everything here runs inside the batch's write transaction (self->txn);
    nothing is sent before that transaction commits: messages to nodes go to
    the outbox, events and answers to the effect list.                      */
#include "broker.h"
#include "ob_fsm.h"
#include "ob_log.h"
#include "ob_util.h"

/* What the indexes hold for a record before a change. */
typedef struct {
    ob_state_t indexed;             /* the state the indexes hold it under */
    char dept[OB_DEPT_MAX];
    int64_t deadline;
} s_snapshot_t;

/* The deadline the order is waiting on now: signing, then replying. */
static int64_t s_next_deadline(const ob_record_t *rec)
{
    switch (rec->state) {
    case ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED:
        return rec->signed_at_ms ? rec->reply_deadline_ms : rec->sign_deadline_ms;
    case ORDERBUS__V1__ORDER_STATE__STATE_RETURN_REQUESTED:
    case ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS:
        return rec->reply_deadline_ms;
    default:
        return 0;
    }
}

static void s_snapshot(const ob_record_t *rec, s_snapshot_t *snap)
{
    snap->indexed = rec->state;
    snprintf(snap->dept, sizeof snap->dept, "%s", rec->dept ? rec->dept : "");
    snap->deadline = s_next_deadline(rec);
}


int broker_order_load(broker_t *self, const uint8_t *id, ob_record_t **out)
{
    ProtobufCMessage *msg = NULL;
    int rc = ob_store_get_pb(self->txn, broker_db(self->store, BROKER_DB_ORDERS), id, OB_ID_BYTES,
                             &orderbus__v1__order_record__descriptor, &msg);
    *out = (ob_record_t *) msg;
    if (rc == 0 && (!(*out)->order || (*out)->order->id.len != OB_ID_BYTES)) {
        protobuf_c_message_free_unpacked(msg, NULL);
        *out = NULL;
        return EBADMSG;
    }
    return rc;
}

int broker_order_find(broker_t *self, const Orderbus__V1__OrderRef *ref, ob_record_t **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    uint8_t id[OB_ID_BYTES];
    char hex[OB_ID_HEX];
    if (!ref) {
        snprintf(err, errlen, "request names no order");
        return ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
    }
    if (ref->id.len == OB_ID_BYTES) {
        memcpy(id, ref->id.data, OB_ID_BYTES);
    } else if (ref->case_no && *ref->case_no) {
        MDB_val k = {strlen(ref->case_no), ref->case_no}, v;
        int rc = mdb_get(self->txn, broker_db(self->store, BROKER_DB_IDX_CASE), &k, &v);
        if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != OB_ID_BYTES)) {
            snprintf(err, errlen, "no order with case number '%.32s'", ref->case_no);
            return ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND;
        }
        if (rc) {
            snprintf(err, errlen, "cannot read the case index: %s", ob_store_strerror(rc));
            return ORDERBUS__V1__ERROR_CODE__ERR_STORE;
        }
        memcpy(id, v.mv_data, OB_ID_BYTES);
    } else {
        snprintf(err, errlen, "an order is named by a 16-byte id or a case number");
        return ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
    }
    int rc = broker_order_load(self, id, out);
    if (rc == MDB_NOTFOUND) {
        snprintf(err, errlen, "no order with id '%s'", ob_hex(hex, id, OB_ID_BYTES));
        return ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND;
    }
    if (rc) {
        snprintf(err, errlen, "cannot read order '%s': %s", ob_hex(hex, id, OB_ID_BYTES),
                 ob_store_strerror(rc));
        return ORDERBUS__V1__ERROR_CODE__ERR_STORE;
    }
    return ORDERBUS__V1__ERROR_CODE__OK;
}

/* Writes the record and moves its index entries from `before` to now. */
static int s_save(broker_t *self, ob_record_t *rec, const s_snapshot_t *before)
{
    const uint8_t *id = rec->order->id.data;
    /* a record never saved (updated_at_ms is set by every save) has no
       index entries yet, and the newest id: it appends */
    bool is_new = rec->updated_at_ms == 0;
    if (is_new)
        before = NULL;
    rec->updated_at_ms = broker_now_ms(self);
    MDB_dbi orders = broker_db(self->store, BROKER_DB_ORDERS);
    int rc = is_new ? ob_store_put_pb_append(self->txn, orders, id, OB_ID_BYTES,
                                             (const ProtobufCMessage *) rec)
                    : ob_store_put_pb(self->txn, orders, id, OB_ID_BYTES,
                                      (const ProtobufCMessage *) rec);
    if (rc)
        return rc;
    uint8_t key[2 + OB_DEPT_MAX + OB_ID_BYTES];
    MDB_val k, empty = {0, (void *) ""};
    if (!before || before->indexed != rec->state || strcmp(before->dept, rec->dept) != 0) {
        if (before && before->indexed != ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED) {
            k.mv_size = broker_db_dept_key(key, before->indexed, before->dept, id);
            k.mv_data = key;
            rc = mdb_del(self->txn, broker_db(self->store, BROKER_DB_IDX_DEPT), &k, NULL);
            if (rc && rc != MDB_NOTFOUND)
                return rc;
        }
        k.mv_size = broker_db_dept_key(key, rec->state, rec->dept, id);
        k.mv_data = key;
        rc = mdb_put(self->txn, broker_db(self->store, BROKER_DB_IDX_DEPT), &k, &empty, 0);
        if (rc)
            return rc;
    }
    int64_t deadline = s_next_deadline(rec);
    int64_t old = before ? before->deadline : 0;
    if (deadline != old) {
        uint8_t dkey[BROKER_DB_DEADLINE_KEY_LEN];
        k.mv_size = sizeof dkey;
        k.mv_data = dkey;
        if (old > 0) {
            broker_db_deadline_key(dkey, old, id);
            rc = mdb_del(self->txn, broker_db(self->store, BROKER_DB_IDX_DEADLINE), &k, NULL);
            if (rc && rc != MDB_NOTFOUND)
                return rc;
        }
        if (deadline > 0) {
            broker_db_deadline_key(dkey, deadline, id);
            uint8_t kind = (uint8_t) rec->state;
            MDB_val v = {1, &kind};
            rc = mdb_put(self->txn, broker_db(self->store, BROKER_DB_IDX_DEADLINE), &k, &v, 0);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int broker_order_save(broker_t *self, ob_record_t *rec, ob_state_t old_state,
                      const char *old_dept)
{
    s_snapshot_t before = {old_state, "", 0};
    snprintf(before.dept, sizeof before.dept, "%s", old_dept ? old_dept : "");
    return s_save(self, rec, old_state == ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED ? NULL
                                                                                   : &before);
}

int broker_journal_append(broker_t *self, ob_record_t *rec, ob_event_t event, ob_state_t from,
                          const broker_actor_t *actor, const char *note, const char *prev_dept,
                          ob_journal_t *extra)
{
    ob_journal_t entry = ORDERBUS__V1__JOURNAL_ENTRY__INIT;
    if (extra)
        entry = *extra;
    Orderbus__V1__Actor who = ORDERBUS__V1__ACTOR__INIT;
    who.role = actor->role;
    who.id = (char *) (actor->id ? actor->id : "");
    if (actor->key) {
        who.key.data = (uint8_t *) actor->key;
        who.key.len = OB_KEY_BYTES;
    }
    entry.seq = ++self->journal_seq;
    entry.order_id = rec->order->id;
    entry.case_no = rec->order->case_no;
    entry.at_ms = broker_now_ms(self);
    entry.at_us = self->msg_at_us ? self->msg_at_us : ob_now_us();
    entry.event = event;
    entry.from_state = from;
    entry.to_state = rec->state;
    entry.actor = &who;
    entry.dept = rec->dept;
    entry.attempt = rec->attempt;
    entry.note = (char *) (note ? note : "");
    entry.prev_dept = (char *) (prev_dept ? prev_dept : "");
    if (!extra || !extra->rule_id)
        entry.rule_id = (char *) "";
    if (!extra || !extra->rules_version)
        entry.rules_version = (char *) "";

    /* packed once, straight into the page; the event gets a copy */
    size_t len = orderbus__v1__journal_entry__get_packed_size(&entry);
    uint8_t key[8];
    ob_be64_put(key, entry.seq);
    MDB_val jk = {8, key}, jv = {len, NULL};
    int rc = ob_store_put_append(self->txn, broker_db(self->store, BROKER_DB_JOURNAL), &jk, &jv,
                                 MDB_RESERVE);
    if (rc)
        return rc;
    orderbus__v1__journal_entry__pack(&entry, jv.mv_data);
    uint8_t ikey[OB_ID_BYTES + 8];
    memcpy(ikey, rec->order->id.data, OB_ID_BYTES);
    memcpy(ikey + OB_ID_BYTES, key, 8);
    MDB_val k = {sizeof ikey, ikey}, v = {0, (void *) ""};
    rc = ob_store_put_append(self->txn, broker_db(self->store, BROKER_DB_IDX_JOURNAL), &k, &v, 0);
    if (rc)
        return rc;
    self->journal_dirty = true;   /* meta "journal_seq" is written at the end of the batch */
    rec->last_seq = entry.seq;

    /* published after the commit, without the note: the stream is not
       authenticated, and a clerk's or dispatcher's free text may name the
       complainant (the journal keeps it, for `trace`) */
    uint8_t *buf;
    if (*entry.note) {
        entry.note = (char *) "";
        len = orderbus__v1__journal_entry__get_packed_size(&entry);
        buf = malloc(len ? len : 1);
        if (buf)
            orderbus__v1__journal_entry__pack(&entry, buf);
    } else {
        buf = malloc(len ? len : 1);
        if (buf)
            memcpy(buf, jv.mv_data, len);
    }
    if (!buf)
        return ENOMEM;
    char topic[OB_DEPT_MAX + 64];
    snprintf(topic, sizeof topic, "ev.%s.%s.%s", *rec->dept ? rec->dept : "-",
             ob_state_name(rec->state), ob_event_name(event));
    return broker_effect_add_raw(self, EFFECT_EVENT, NULL, 0, topic, buf, len);
}

bool broker_dept_known(broker_t *self, const char *dept)
{
    broker_node_t *node = broker_node_find(self, dept);
    if (node && node->registered)
        return true;
    return self->rules && ob_rules_dept_lookup(self->rules, dept) != NULL;
}

const char *broker_dept_name(broker_t *self, const char *dept)
{
    const char *name = self->rules ? ob_rules_dept_lookup(self->rules, dept) : NULL;
    if (name)
        return name;
    broker_node_t *node = broker_node_find(self, dept);
    return node && *node->name ? node->name : dept;
}

/* Queues a Recall of `attempt` to `dept`. */
static int s_recall(broker_t *self, ob_record_t *rec, const char *dept, uint32_t attempt,
                    const char *reason)
{
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    Orderbus__V1__Recall recall = ORDERBUS__V1__RECALL__INIT;
    recall.order_id = rec->order->id;
    recall.attempt = attempt;
    recall.reason = (char *) (reason ? reason : "");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RECALL;
    m.env.recall = &recall;
    return broker_node_enqueue(self, dept, rec->order->id.data, attempt,
                               ORDERBUS__V1__ORDER_EVENT__EVENT_RECALL, &m);
}

/* Sign and reply deadlines (and their warnings) for a dispatch at `now`,
   into self->deadlines; the working-day calendar is consulted only when
   the time or the limits differ from the last call (a batch has one clock). */
static void s_deadlines(broker_t *self, int64_t now, ob_limit_t sign, ob_limit_t reply)
{
    if (self->deadlines.now == now && !memcmp(&self->deadlines.sign_limit, &sign, sizeof sign)
        && !memcmp(&self->deadlines.reply_limit, &reply, sizeof reply))
        return;
    self->deadlines.now = now;
    self->deadlines.sign_limit = sign;
    self->deadlines.reply_limit = reply;
    self->deadlines.sign = ob_calendar_add_limit(self->calendar, now, sign);
    self->deadlines.sign_warning =
        ob_calendar_warning_at(self->calendar, now, self->deadlines.sign);
    self->deadlines.reply = ob_calendar_add_limit(self->calendar, now, reply);
    self->deadlines.reply_warning =
        ob_calendar_warning_at(self->calendar, now, self->deadlines.reply);
}

void broker_order_deadlines(broker_t *self, ob_fsm_ctx_t *ctx, ob_limit_t sign,
                            ob_limit_t reply)
{
    s_deadlines(self, ctx->now_ms, sign, reply);
    ctx->sign_deadline_ms = self->deadlines.sign;
    ctx->sign_warning_ms = self->deadlines.sign_warning;
    ctx->reply_deadline_ms = self->deadlines.reply;
    ctx->reply_warning_ms = self->deadlines.reply_warning;
}

/* True for the events whose row starts a new attempt at a department. */
static bool s_is_dispatch(ob_event_t event)
{
    switch (event) {
    case ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE:
    case ORDERBUS__V1__ORDER_EVENT__EVENT_MANUAL_ROUTE:
    case ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_APPROVE:
    case ORDERBUS__V1__ORDER_EVENT__EVENT_REDISPATCH:
        return true;
    default:
        return false;
    }
}

/* The centre's decisions a department is told of (a Decision message). */
static bool s_is_decision(ob_event_t event)
{
    switch (event) {
    case ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_DENY:
    case ORDERBUS__V1__ORDER_EVENT__EVENT_REVIEW_ACCEPT:
    case ORDERBUS__V1__ORDER_EVENT__EVENT_REVIEW_REJECT:
    case ORDERBUS__V1__ORDER_EVENT__EVENT_CALLBACK_OK:
        return true;
    default:
        return false;
    }
}

/* Queues the Dispatch of the record's current attempt (and the Recall of
   the attempt it replaces at another department). */
static int s_send_dispatch(broker_t *self, ob_record_t *rec, const char *prev_dept,
                           uint32_t prev_attempt, const char *note)
{
    int rc;
    if (*prev_dept && strcmp(prev_dept, rec->dept) != 0 && prev_attempt > 0) {
        rc = s_recall(self, rec, prev_dept, prev_attempt, note);
        if (rc)
            return rc;
    }
    ob_workorder_t order;
    Orderbus__V1__Dispatch dispatch;
    broker_dispatch_fill(rec, &order, &dispatch, rec->attempt, rec->sign_deadline_ms, note,
                         ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED);
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DISPATCH;
    m.env.dispatch = &dispatch;
    rc = broker_node_enqueue(self, rec->dept, rec->order->id.data, rec->attempt,
                             ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE, &m);
    if (!rc)
        rec->dispatch_seq = m.env.seq;
    return rc;
}

int broker_order_apply(broker_t *self, ob_record_t *rec, ob_event_t event,
                       const ob_fsm_ctx_t *ctx, ob_errcode_t *code, char *err, size_t errlen)
{
    s_snapshot_t before;
    s_snapshot(rec, &before);
    ob_state_t from = rec->state;
    uint32_t prev_attempt = rec->attempt;
    int rc = ob_fsm_apply(rec, event, ctx, code, err, errlen);
    if (rc < 0)
        return 0;   /* refused: *code and err say why, nothing changed */
    if (rc)
        return rc;
    bool dispatch = s_is_dispatch(event);
    if (dispatch)
        rc = s_send_dispatch(self, rec, before.dept, prev_attempt, ctx->note);
    else if (s_is_decision(event))
        rc = broker_order_decision(self, rec, event, ctx->note);
    if (rc)
        return rc;
    ob_journal_t extra = ORDERBUS__V1__JOURNAL_ENTRY__INIT;
    extra.rule_id = (char *) (ctx->rule_id ? ctx->rule_id : "");
    extra.rules_version =
        (char *) (ctx->rule_id && *ctx->rule_id && rec->rules_version ? rec->rules_version : "");
    extra.result = event == ORDERBUS__V1__ORDER_EVENT__EVENT_REPLY ? ctx->result : 0;
    extra.satisfaction = ctx->satisfaction;
    if (ctx->role == ORDERBUS__V1__ROLE__ROLE_DEPARTMENT)
        extra.act_at_ms = ctx->now_ms;   /* the act's own time (at_ms: when applied) */
    broker_actor_t actor = {ctx->role, ctx->who, NULL};
    const char *prev = dispatch && strcmp(before.dept, rec->dept) != 0 ? before.dept : "";
    rc = broker_journal_append(self, rec, event, from, &actor, ctx->note, prev, &extra);
    if (rc)
        return rc;
    return s_save(self, rec, from == ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED ? NULL
                                                                                 : &before);
}


/* The ids of every order at `dept` in `state` (idx_dept), appended to
   *ids. 0 or an LMDB code. */
static int s_ids_at(broker_t *self, ob_state_t state, const char *dept, uint8_t (**ids)[OB_ID_BYTES],
                    size_t *n, size_t *cap)
{
    static const uint8_t zero[OB_ID_BYTES];
    uint8_t key[BROKER_DB_DEPT_KEY_MAX];
    size_t plen = broker_db_dept_key(key, state, dept, zero) - OB_ID_BYTES;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_IDX_DEPT), &cur);
    if (rc)
        return rc;
    MDB_val k = {plen + OB_ID_BYTES, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size == plen + OB_ID_BYTES && !memcmp(k.mv_data, key, plen);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 64;
            uint8_t (*grown)[OB_ID_BYTES] = realloc(*ids, c * sizeof **ids);
            if (!grown) {
                rc = ENOMEM;
                break;
            }
            *ids = grown;
            *cap = c;
        }
        memcpy((*ids)[(*n)++], (const uint8_t *) k.mv_data + plen, OB_ID_BYTES);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || (rc == 0) ? 0 : rc;
}

int broker_order_resend_dept(broker_t *self, const char *dept, size_t *count)
{
    static const ob_state_t held[] = {
        ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED, ORDERBUS__V1__ORDER_STATE__STATE_RETURN_REQUESTED,
        ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS, ORDERBUS__V1__ORDER_STATE__STATE_REPLIED,
        ORDERBUS__V1__ORDER_STATE__STATE_PENDING_CALLBACK};
    uint8_t (*ids)[OB_ID_BYTES] = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    *count = 0;
    for (size_t s = 0; !rc && s < sizeof held / sizeof held[0]; s++)
        rc = s_ids_at(self, held[s], dept, &ids, &n, &cap);
    for (size_t i = 0; !rc && i < n; i++) {
        ob_record_t *rec = NULL;
        rc = broker_order_load(self, ids[i], &rec);
        if (rc == MDB_NOTFOUND || rc == EBADMSG) {
            rc = 0;
            continue;
        }
        if (!rc && rec->attempt && strcmp(rec->dept, dept) == 0) {
            ob_workorder_t order;
            Orderbus__V1__Dispatch dispatch;
            broker_dispatch_fill(rec, &order, &dispatch, rec->attempt, rec->sign_deadline_ms,
                                 "", rec->state);
            ob_msg_t m;
            ob_msg_init(&m, "broker");
            m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DISPATCH;
            m.env.dispatch = &dispatch;
            rc = broker_node_enqueue(self, dept, rec->order->id.data, rec->attempt,
                                     ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE, &m);
            if (!rc) {
                rec->dispatch_seq = m.env.seq;   /* its transport follows the new copy */
                rc = broker_order_save(self, rec, rec->state, rec->dept);
                (*count)++;
            }
        }
        if (rec)
            protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    }
    free(ids);
    return rc;
}

int broker_order_decision(broker_t *self, ob_record_t *rec, ob_event_t event, const char *note)
{
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    Orderbus__V1__Decision decision = ORDERBUS__V1__DECISION__INIT;
    decision.order_id = rec->order->id;
    decision.attempt = rec->attempt;
    decision.event = event;
    decision.state = rec->state;
    decision.note = (char *) (note ? note : "");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DECISION;
    m.env.decision = &decision;
    return broker_node_enqueue(self, rec->dept, rec->order->id.data, rec->attempt, event, &m);
}

int broker_order_delivered(broker_t *self, const uint8_t *order_id, uint32_t attempt,
                           const char *dept)
{
    /* The record is not rewritten: its transport state follows from
       dispatch_seq and the department's acknowledged seq (see
       broker_order_fill_transport). Only the journal records the delivery. */
    ob_record_t *rec = NULL;
    int rc = broker_order_load(self, order_id, &rec);
    if (rc == MDB_NOTFOUND || rc == EBADMSG)
        return 0;   /* nothing to record against */
    if (rc)
        return rc;
    if (rec->attempt == attempt && strcmp(rec->dept, dept) == 0) {
        broker_actor_t actor = {ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, dept, NULL};
        rec->transport = ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_RECEIVED;
        rc = broker_journal_append(self, rec, ORDERBUS__V1__ORDER_EVENT__EVENT_DELIVERED,
                                   rec->state, &actor, NULL, NULL, NULL);
    }
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}



/* ---- self-test ------------------------------------------------------------- */
#include "ob_selftest.h"
#include <unistd.h>

/* A broker with a store in `dir` and a weekday calendar, no sockets. */
static broker_t *s_test_broker(const char *dir)
{
    char err[256];
    broker_t *self = calloc(1, sizeof *self);
    assert(self);
    self->cfg.heartbeat_ms = 1000;
    self->store = ob_store_open(dir, OB_STORE_BROKER, 1, err, sizeof err);
    assert(self->store);
    self->calendar = ob_calendar_new_weekdays(480);
    assert(self->calendar);
    int rc = ob_store_begin(self->store, true, &self->txn);
    assert(rc == 0);
    self->batch_now_ms = 1765000000000;   /* a Saturday, 2025-12-06 13:46 +08:00 */
    return self;
}

static uint64_t s_test_out_seq(broker_t *self, const char *dept)
{
    broker_node_t *node = broker_node_find(self, dept);
    return node ? node->out_seq : 0;
}

static void s_test_route(broker_t *self, ob_record_t *rec, ob_event_t event, const char *dept)
{
    ob_fsm_ctx_t ctx = {.role = event == ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE
                                    ? ORDERBUS__V1__ROLE__ROLE_SYSTEM
                                    : ORDERBUS__V1__ROLE__ROLE_DISPATCHER,
                        .who = "test", .now_ms = broker_now_ms(self), .dept = dept,
                        .rule_id = "r1"};
    broker_order_deadlines(self, &ctx, (ob_limit_t) {1, 0}, (ob_limit_t) {15, 0});
    ob_errcode_t code;
    char err[200];
    int rc = broker_order_apply(self, rec, event, &ctx, &code, err, sizeof err);
    assert(rc == 0 && code == ORDERBUS__V1__ERROR_CODE__OK);
}

void broker_order_test(bool verbose)
{
    char dir[] = "/tmp/broker_order_test.XXXXXX";
    char *made = mkdtemp(dir);
    assert(made);
    int level = ob_log_level();
    ob_log_set_level(verbose ? OB_LOG_DEBUG : OB_LOG_ERROR);
    broker_t *self = s_test_broker(dir);

    /* a registered order, routed to housing: the record, its index entry,
       the journal and housing's outbox all in the batch's transaction */
    uint8_t id[OB_ID_BYTES];
    ob_id_new(id);
    ob_workorder_t *wo = calloc(1, sizeof *wo);
    ob_record_t *rec = calloc(1, sizeof *rec);
    assert(wo && rec);
    orderbus__v1__work_order__init(wo);
    orderbus__v1__order_record__init(rec);
    wo->id.data = malloc(OB_ID_BYTES);
    assert(wo->id.data);
    memcpy(wo->id.data, id, OB_ID_BYTES);
    wo->id.len = OB_ID_BYTES;
    wo->case_no = strdup("20251206-000001");
    wo->title = strdup("小区电梯故障");
    rec->order = wo;
    ob_fsm_ctx_t reg = {.role = ORDERBUS__V1__ROLE__ROLE_DISPATCHER, .now_ms = 1};
    int rc = ob_fsm_apply(rec, ORDERBUS__V1__ORDER_EVENT__EVENT_REGISTER, &reg, NULL, NULL, 0);
    assert(rc == 0);
    s_test_route(self, rec, ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE, "housing");
    assert(rec->state == ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED && rec->attempt == 1);
    assert(self->journal_seq == 1 && s_test_out_seq(self, "housing") == 1);
    assert(rec->dispatch_seq == 1 && rec->sign_deadline_ms > self->batch_now_ms);
    ob_record_t *back = NULL;
    rc = broker_order_load(self, id, &back);
    assert(rc == 0 && back->state == rec->state && strcmp(back->dept, "housing") == 0);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) back, NULL);
    uint8_t key[BROKER_DB_DEPT_KEY_MAX];
    MDB_val k = {broker_db_dept_key(key, rec->state, "housing", id), key}, v;
    rc = mdb_get(self->txn, broker_db(self->store, BROKER_DB_IDX_DEPT), &k, &v);
    assert(rc == 0);

    /* a refused act changes nothing: no journal entry, no outbox message */
    ob_fsm_ctx_t stale = {.role = ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, .who = "transport",
                          .now_ms = broker_now_ms(self), .dept = "transport", .attempt = 1};
    ob_errcode_t code;
    char err[200];
    rc = broker_order_apply(self, rec, ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN, &stale, &code, err,
                            sizeof err);
    assert(rc == 0 && code == ORDERBUS__V1__ERROR_CODE__ERR_STALE_ATTEMPT);
    assert(self->journal_seq == 1 && rec->state == ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED);

    /* housing returns it, the centre sends it to transport: a Recall to
       housing and a Dispatch to transport, the reply clock unchanged */
    int64_t reply_deadline = rec->reply_deadline_ms;
    ob_fsm_ctx_t ret = {.role = ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, .who = "housing",
                        .now_ms = broker_now_ms(self), .dept = "housing", .attempt = 1,
                        .note = "不属于本单位职责"};
    rc = broker_order_apply(self, rec, ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_REQUEST, &ret,
                            &code, err, sizeof err);
    assert(rc == 0 && code == ORDERBUS__V1__ERROR_CODE__OK && rec->return_count == 1);
    self->batch_now_ms += 3600 * 1000;
    s_test_route(self, rec, ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_APPROVE, "transport");
    assert(rec->attempt == 2 && strcmp(rec->dept, "transport") == 0);
    assert(s_test_out_seq(self, "housing") == 2 && s_test_out_seq(self, "transport") == 1);
    assert(rec->reply_deadline_ms == reply_deadline && self->journal_seq == 3);
    /* the index moved: no housing entry left, a transport one */
    rc = mdb_get(self->txn, broker_db(self->store, BROKER_DB_IDX_DEPT), &k, &v);
    assert(rc == MDB_NOTFOUND);
    k.mv_size = broker_db_dept_key(key, rec->state, "transport", id);
    rc = mdb_get(self->txn, broker_db(self->store, BROKER_DB_IDX_DEPT), &k, &v);
    assert(rc == 0);
    assert(self->neffects == 3);   /* one event per journal entry, sent after a commit */

    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    mdb_txn_abort(self->txn);
    self->txn = NULL;
    broker_effects_clear(self);
    broker_nodes_fresh_clear(self);
    for (size_t i = 0; i < self->nnodes; i++)
        free(self->nodes[i].fresh);
    free(self->nodes);
    free(self->effects);
    ob_calendar_destroy(&self->calendar);
    ob_store_destroy(&self->store);
    free(self);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    rc = system(cmd);
    assert(rc == 0);
    ob_log_set_level(level);
    if (verbose)
        printf("route, refusal, return and re-route ");
}
