/*  broker_link.c — the broker's end of the node link (docs/PROTOCOL.md §3).

    A department's stream to us is applied strictly in order: a duplicate is
    re-acknowledged, a gap answered ERR_OUT_OF_ORDER, the next message
    applied in the batch transaction together with our record of having
    applied it (in_seq). A department is who its Curve key says (the ZAP
    User-Id), never what a message claims. Liveness: heartbeats both ways,
    a silent department is marked down, its queue kept.                    */
#include "broker.h"
#include "ob_fsm.h"
#include "ob_order.h"
#include "ob_log.h"
#include "ob_util.h"
#include <zmq.h>

#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x

/* The node confirmed every message through seq: they leave the outbox,
   and the dispatches among them are journaled as DELIVERED. */
/* The node has committed everything up to `seq`: drop it from the outbox
   and record the deliveries of dispatches. */
static int s_ack_through(broker_t *self, broker_node_t *node, uint64_t seq)
{
    if (*node->diverged)
        return 0;   /* its numbers are of another past than ours: they confirm nothing */
    if (seq > node->out_seq)
        seq = node->out_seq;   /* a node cannot confirm what we never sent */
    if (seq <= node->acked_seq)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_OUTBOX), &cur);
    if (rc)
        return rc;
    uint8_t key[OB_DEPT_MAX + 9];
    size_t klen = broker_db_outbox_key(key, node->id, node->acked_seq + 1);
    MDB_val k = {klen, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != klen || memcmp(k.mv_data, key, klen - 8) != 0)
            break;
        uint64_t s = ob_be64_get((const uint8_t *) k.mv_data + klen - 8);
        if (s > seq)
            break;
        Orderbus__V1__OutboxItem *item =
            orderbus__v1__outbox_item__unpack(NULL, v.mv_size, v.mv_data);
        if (item && item->event == E(ROUTE) && item->order_id.len == OB_ID_BYTES)
            rc = broker_order_delivered(self, item->order_id.data, item->attempt, node->id);
        if (item)
            orderbus__v1__outbox_item__free_unpacked(item, NULL);
        if (rc)
            break;
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    node->acked_seq = seq;
    node->head_refusals = 0;   /* the head moved on */
    if (node->sent_seq < seq)
        node->sent_seq = seq;
    node->last_progress_us = ob_mono_us();
    node->rto_ms = BROKER_RTO_MIN_MS;
    return broker_outbox_counters_changed(node);
}

static int s_node_error(broker_t *self, broker_node_t *node, const uint8_t *rid, size_t rid_len,
                        const ob_envelope_t *env, uint64_t ref_seq, ob_errcode_t code,
                        const char *message)
{
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    Orderbus__V1__Error error = ORDERBUS__V1__ERROR__INIT;
    error.code = code;
    error.message = (char *) message;
    if (env)
        error.ref_msg_id = env->msg_id;
    error.ref_seq = ref_seq;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ERROR;
    m.env.error = &error;
    (void) node;
    return broker_effect_add(self, EFFECT_NODE, rid, rid_len, NULL, &m.env);
}

/* The time an act took effect: the clerk's own (the node keeps it, so a
   department that was offline is not punished for the delay), checked
   against our clock: never after its arrival (a node clock running ahead),
   never before the dispatch of the attempt it acts on (one running
   behind). */
static int64_t s_act_time(broker_t *self, const ob_record_t *rec, const ob_act_t *act)
{
    int64_t arrival = broker_now_ms(self);
    if (act->at_ms <= 0 || act->at_ms > arrival)
        return arrival;
    if (act->at_ms < rec->last_dispatch_at_ms)
        return rec->last_dispatch_at_ms;
    return act->at_ms;
}

/* Applies a department's act (sign, progress, return request, reply) to
   the order, through the lifecycle table. Returns 0 with *code OK or a
   refusal, or a store error. */
static int s_apply_act(broker_t *self, broker_node_t *node, const ob_envelope_t *env,
                       ob_errcode_t *code, char *err, size_t errlen)
{
    ob_act_t act;
    if (ob_act_decode(env, &act, err, errlen) != 0) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
        return 0;
    }
    if (act.event == E(EXTENSION_REQUEST) || act.event == E(ASSIST_OPINION)) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
        snprintf(err, errlen, "message '%s' is not implemented by this broker",
                 ob_wire_body_name(env->body_case));
        return 0;
    }
    char hex[OB_ID_HEX];
    ob_hex(hex, act.order_id, OB_ID_BYTES);
    ob_record_t *rec = NULL;
    int rc = broker_order_load(self, act.order_id, &rec);
    if (rc == MDB_NOTFOUND) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND;
        snprintf(err, errlen, "no order with id '%s'", hex);
        return 0;
    }
    if (rc)
        return rc;
    ob_fsm_ctx_t ctx = {.role = ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, .who = node->id,
                        .now_ms = s_act_time(self, rec, &act), .note = act.note, .dept = node->id,
                        .attempt = act.attempt, .result = act.result};
    rc = broker_order_apply(self, rec, act.event, &ctx, code, err, errlen);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

/* A reliable message from the node: in order, once. */
static int s_reliable(broker_t *self, broker_node_t *node, const ob_inmsg_t *in,
                      const ob_envelope_t *env)
{
    if (env->seq == 0)
        return s_node_error(self, node, in->rid, in->rid_len, env, node->in_seq,
                            ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                            "a department act needs a link sequence number");
    if (*node->diverged)   /* neither applied nor confirmed: it stays in the node's outbox */
        return s_node_error(self, node, in->rid, in->rid_len, env, 0,
                            ORDERBUS__V1__ERROR_CODE__ERR_UNAVAILABLE,
                            "the department's store and the centre's disagree (diverged: one "
                            "was restored from a backup); nothing is applied until that is "
                            "resolved, the act stays queued at the department");
    if (env->seq <= node->in_seq) {
        node->ack_due = true;   /* duplicate: confirm again, apply nothing */
        return 0;
    }
    if (env->seq > node->in_seq + 1)
        return s_node_error(self, node, in->rid, in->rid_len, env, node->in_seq,
                            ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER,
                            "link sequence gap: resend from the acknowledged sequence");
    ob_errcode_t code = ORDERBUS__V1__ERROR_CODE__OK;
    char err[300] = "";
    int rc = s_apply_act(self, node, env, &code, err, sizeof err);
    if (rc)
        return rc;   /* store failure: the batch is retried or refused */
    node->in_seq = env->seq;
    node->ack_due = true;
    broker_outbox_counters_changed(node);
    if (code != ORDERBUS__V1__ERROR_CODE__OK) {
        char mid[OB_ID_HEX];
        ob_info("refused %s from '%s' (msg %s): %s", ob_wire_body_name(env->body_case),
                node->id, ob_hex(mid, env->msg_id.data, OB_ID_BYTES), ob_errcode_name(code));
        return s_node_error(self, node, in->rid, in->rid_len, env, 0, code, err);
    }
    return 0;
}

/* Bodies a department may send on the node link that this release does
   not act on (declared for later releases), and a body unknown to this
   release's .proto (NOT_SET after ob_wire_decode_link). */
static bool s_is_node_body(int body_case)
{
    switch (body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY__NOT_SET:
    case ORDERBUS__V1__ENVELOPE__BODY_EXTENSION_REQUEST:
    case ORDERBUS__V1__ENVELOPE__BODY_ASSIST_OPINION:
        return true;
    default:
        return false;
    }
}

/* Sending goes back to the first unconfirmed message: at once when the
   last go-back is older than the retry interval, else left to the cron's
   back-off (a node that keeps reporting gaps must not make us resend the
   window on every report). */
static void s_go_back(broker_node_t *node)
{
    uint64_t now = ob_mono_us();
    if (now - node->last_goback_us < (uint64_t) node->rto_ms * 1000)
        return;
    node->sent_seq = node->acked_seq;
    node->last_goback_us = node->last_progress_us = now;
}

/* A refusal the same message will meet again however often it is sent. */
static bool s_permanent(ob_errcode_t code)
{
    return code == ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE
           || code == ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST
           || code == ORDERBUS__V1__ERROR_CODE__ERR_UNSUPPORTED_VERSION;
}

/* True when `ref` (an Error's ref_msg_id) names the department's first
   unconfirmed message, or names nothing: the refusal is about the message
   the department cannot get past. A refusal naming another message is
   about one it consumed (its Received came first). */
static bool s_names_head(broker_t *self, broker_node_t *node, const ProtobufCBinaryData *ref)
{
    if (ref->len == 0)
        return true;
    uint8_t key[OB_DEPT_MAX + 9];
    MDB_val k = {broker_db_outbox_key(key, node->id, node->acked_seq + 1), key}, v;
    if (ref->len != OB_ID_BYTES
        || mdb_get(self->txn, broker_db(self->store, BROKER_DB_OUTBOX), &k, &v) != 0)
        return false;
    Orderbus__V1__OutboxItem *item =
        orderbus__v1__outbox_item__unpack(NULL, v.mv_size, v.mv_data);
    if (!item)
        return false;
    uint8_t id[OB_WIRE_REF_MAX];
    size_t len = OB_ID_BYTES;
    if (item->msg_id.len == OB_ID_BYTES)   /* a Dispatch keeps its msg id */
        memcpy(id, item->msg_id.data, OB_ID_BYTES);
    else                                   /* the others their packed envelope */
        len = ob_wire_peek_msg_id(item->envelope.data, item->envelope.len, id);
    orderbus__v1__outbox_item__free_unpacked(item, NULL);
    return len == OB_ID_BYTES && memcmp(id, ref->data, OB_ID_BYTES) == 0;
}

/* An Error from the department: a gap (resend from there), or a refusal.
   Permanent refusals of a frame the node could not even read (naming the
   first unconfirmed message, or nothing) while that message stays
   unconfirmed are counted; at BROKER_DEAD_AFTER that message is
   dead-lettered so the ones behind it flow again. */
static int s_take_error(broker_t *self, broker_node_t *node, const Orderbus__V1__Error *e)
{
    if (e->code == ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER) {
        int rc = s_ack_through(self, node, e->ref_seq);
        s_go_back(node);
        return rc;
    }
    if (!s_permanent(e->code) || node->acked_seq >= node->out_seq
        || !s_names_head(self, node, &e->ref_msg_id)) {
        /* a message the node read and consumed, refusing it (it names it):
           the stream goes on; or a passing error */
        ob_warn("department '%s' reports error %s", node->id, ob_errcode_name(e->code));
        return 0;
    }
    node->head_refusals++;
    snprintf(node->head_reason, sizeof node->head_reason, "%s: %s", ob_errcode_name(e->code),
             e->message && *e->message ? e->message : "refused");
    ob_warn("department '%s' refused a message (%s), %u of %d before seq %llu is dead-lettered",
            node->id, node->head_reason, node->head_refusals, BROKER_DEAD_AFTER,
            (unsigned long long) node->acked_seq + 1);
    if (node->head_refusals < BROKER_DEAD_AFTER)
        return 0;
    return broker_dead_letter(self, node, node->head_reason);
}

/* Refuses a message from a connection that holds no session (nothing
   applied, nothing confirmed), logged once and then at most every 30 s. */
static void s_refuse_session(broker_t *self, broker_node_t *node, const ob_inmsg_t *in,
                             const ob_envelope_t *env, const char *why)
{
    unsigned suppressed;
    if (ob_log_limit(&node->refusal_log, ob_now_ms(), 30000, &suppressed))
        ob_warn("department '%s': refused %s from a second connection with its key (%u more "
                "since the last report): %s", node->id, ob_wire_body_name(env->body_case),
                suppressed, why);
    ob_wire_send_error(self->node_sock, in->rid, in->rid_len, env->msg_id.data,
                       env->msg_id.len, 0, ORDERBUS__V1__ERROR_CODE__ERR_FORBIDDEN, why);
}

/* Whether the node's store and ours agree about our stream to it. A node
   that has applied more than we ever sent holds a newer past than our store
   (ours was restored from a backup): what we send now would carry seqs it
   takes for duplicates. A node that has applied less than it confirmed
   lost what we delivered (its store was restored: the same instance; a new
   instance is a new store, which holds nothing yet). Either way
   nothing is sent to it (never a message taken for a duplicate, never a
   resend loop), and status says what happened and what to do. */
static void s_check_diverged(broker_node_t *node, uint64_t applied)
{
    char was[sizeof node->diverged];
    snprintf(was, sizeof was, "%s", node->diverged);
    if (applied > node->out_seq)
        snprintf(node->diverged, sizeof node->diverged,
                 "its node has applied broker seq %llu but this store only ever sent %llu: this "
                 "store is older than the department's (restored from a backup?); nothing is "
                 "sent to it: put back the newest broker store (docs/OPERATIONS.md, 'Restoring "
                 "a store')",
                 (unsigned long long) applied, (unsigned long long) node->out_seq);
    else
        node->diverged[0] = '\0';
    if (strcmp(was, node->diverged) != 0 && node->diverged[0])
        ob_error("department '%s' diverged: %s", node->id, node->diverged);
    else if (strcmp(was, node->diverged) != 0)
        ob_info("department '%s': its store and ours agree again", node->id);
}

/* A node that has applied less of our stream than was confirmed: its
   store was restored from a backup, or replaced (another instance; a stray
   tool with the key alike). It resumes at what was confirmed (the
   Welcome says so), and every order now at the department is sent again
   after what is still queued: it learns them again, nothing it lost is
   left out, no seq is used twice. Said once per resync. */
static int s_resync(broker_t *self, broker_node_t *node, uint64_t applied, bool same_instance)
{
    if (node->resume_from)
        return 0;   /* a Hello resent before our Welcome: the orders are queued already */
    size_t n = 0;
    int rc = broker_order_resend_dept(self, node->id, &n);
    if (rc)
        return rc;
    node->resume_from = node->acked_seq;
    ob_warn("department '%s': its node has applied broker seq %llu but %llu were confirmed (%s): "
            "it resumes at %llu and is sent its %zu open order%s again",
            node->id, (unsigned long long) applied, (unsigned long long) node->acked_seq,
            same_instance ? "its store was restored from a backup" : "another node store",
            (unsigned long long) node->acked_seq, n, n == 1 ? "" : "s");
    return 0;
}

/* Hello: the node's session. One live session per department: a Hello on
   another connection while the session is live is refused, unless it is the
   same node instance reconnecting; a new instance takes over only once the
   old one has been silent for 3 heartbeats, loudly, and its acts are
   numbered on their own (broker_node_bind_instance). */
static int s_take_hello(broker_t *self, broker_node_t *node, const ob_inmsg_t *in,
                        const ob_envelope_t *env)
{
    const Orderbus__V1__Hello *h = env->hello;
    uint8_t inst[OB_ID_BYTES] = {0};
    if (h->instance.len == OB_ID_BYTES)
        memcpy(inst, h->instance.data, OB_ID_BYTES);
    bool same_conn = node->rid_len == in->rid_len && !memcmp(node->rid, in->rid, in->rid_len);
    bool same_inst = node->has_instance && !memcmp(node->instance, inst, OB_ID_BYTES);
    uint64_t hb_us = (uint64_t) self->cfg.heartbeat_ms * 1000;
    bool live = node->rid_len && node->up && ob_mono_us() - node->last_seen_us < 3 * hb_us;
    if (!same_conn && live && !same_inst) {
        s_refuse_session(self, node, in, env, "another node is connected with this "
                         "department's key (a second node, a stray tool, a restored copy?): "
                         "stop it, or wait until it has been silent for 3 heartbeats");
        return 0;
    }
    int rc = 0;
    if (!same_inst) {
        char was[OB_ID_HEX], now[OB_ID_HEX];
        if (node->has_instance)
            ob_warn("department '%s': node instance %s takes over the link from instance %s "
                    "(silent); its acts are numbered on their own", node->id,
                    ob_hex(now, inst, OB_ID_BYTES), ob_hex(was, node->instance, OB_ID_BYTES));
        rc = broker_node_bind_instance(self, node, inst);
        if (rc)
            return rc;
    }
    memcpy(node->rid, in->rid, in->rid_len);
    node->rid_len = in->rid_len;
    if (!node->up)
        ob_info("department '%s' is up", node->id);
    node->up = true;
    node->last_seen_ms = ob_now_ms();
    node->last_seen_us = ob_mono_us();
    if ((rc = broker_case_at_least(self, h->last_case_no)) != 0)
        return rc;
    s_check_diverged(node, h->last_applied_seq);
    if (!*node->diverged && h->last_applied_seq < node->acked_seq
        && (rc = s_resync(self, node, h->last_applied_seq, same_inst)) != 0)
        return rc;
    rc = s_ack_through(self, node, h->last_applied_seq);
    node->sent_seq = node->acked_seq;   /* a new session: resend what is unconfirmed */
    node->welcome_due = true;
    node->ack_due = true;
    return rc;
}

int broker_node_handle(broker_t *self, const ob_inmsg_t *in)
{
    if (in->truncated || !in->data) {
        ob_warn("node link: refused a malformed message of %zu bytes from '%s'", in->size,
                in->user_id);
        if (in->rid_len) {
            ob_wire_send_error(self->node_sock, in->rid, in->rid_len, in->msg_id,
                               in->msg_id_len, 0,
                               in->size > OB_MAX_FRAME ? ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE
                                                       : ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                               "malformed message: one frame of at most 1 MiB expected");
        }
        return 0;
    }
    ob_errcode_t code;
    char err[256];
    self->msg_at_us = in->at_us;
    ob_envelope_t *env = ob_wire_decode_link(in->data, in->size, &code, err, sizeof err);
    if (!env) {
        ob_warn("node link: refused a message from '%s': %s", in->user_id, err);
        ob_wire_send_error(self->node_sock, in->rid, in->rid_len, in->msg_id, in->msg_id_len, 0,
                           code, err);
        return 0;
    }
    broker_node_t *node = *in->user_id ? broker_node_get(self, in->user_id) : NULL;
    if (node && !node->registered)   /* registered since we first heard of it (ZAP let it in) */
        broker_node_registration(self, self->txn, node);
    if (!node || !node->registered) {
        ob_wire_send_error(self->node_sock, in->rid, in->rid_len, env->msg_id.data,
                           env->msg_id.len, 0, ORDERBUS__V1__ERROR_CODE__ERR_FORBIDDEN,
                           "this key is not registered as a department");
        ob_wire_free(env);
        return 0;
    }
    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_HELLO:
    case ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT:
    case ORDERBUS__V1__ENVELOPE__BODY_RECEIVED:
    case ORDERBUS__V1__ENVELOPE__BODY_ERROR:
    case ORDERBUS__V1__ENVELOPE__BODY_SIGN:
    case ORDERBUS__V1__ENVELOPE__BODY_PROGRESS:
    case ORDERBUS__V1__ENVELOPE__BODY_RETURN_REQUEST:
    case ORDERBUS__V1__ENVELOPE__BODY_REPLY:
        break;
    default:
        if (env->seq > 0 && s_is_node_body(env->body_case))
            break;   /* a numbered act this release does not apply: consumed, refused */
        /* refused without touching the department's route: a stray
           connection with the key must not divert its traffic */
        snprintf(err, sizeof err, "message '%s' is not accepted on the node link",
                 ob_wire_body_name(env->body_case));
        ob_wire_send_error(self->node_sock, in->rid, in->rid_len, env->msg_id.data,
                           env->msg_id.len, 0, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, err);
        ob_wire_free(env);
        return 0;
    }
    int rc = 0;
    if (env->body_case == ORDERBUS__V1__ENVELOPE__BODY_HELLO) {
        rc = s_take_hello(self, node, in, env);
        ob_wire_free(env);
        return rc;
    }
    if (node->rid_len != in->rid_len || memcmp(node->rid, in->rid, in->rid_len) != 0) {
        /* not the connection the department's session is on: nothing from
           it is applied or confirmed (a stray tool, a second node, or a
           connection replaced by a newer Hello) */
        s_refuse_session(self, node, in, env, "this connection has no session for the "
                         "department: send Hello first");
        ob_wire_free(env);
        return 0;
    }
    if (!node->up)
        ob_info("department '%s' is up", node->id);
    node->up = true;
    node->last_seen_ms = ob_now_ms();
    node->last_seen_us = ob_mono_us();

    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT:
        rc = s_ack_through(self, node, env->heartbeat->last_applied_seq);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_RECEIVED:
        rc = s_ack_through(self, node, env->received->seq);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_ERROR:
        rc = s_take_error(self, node, env->error);
        break;
    default:
        /* the department's acts, and numbered messages this release does
           not know or handle: in sequence, once (s_apply_act refuses the
           latter with ERR_BAD_REQUEST after consuming them) */
        rc = s_reliable(self, node, in, env);
        break;
    }
    ob_wire_free(env);
    return rc;
}

void broker_nodes_after_commit(broker_t *self)
{
    for (size_t i = 0; i < self->nnodes; i++) {
        broker_node_t *node = &self->nodes[i];
        if (!node->rid_len) {
            node->ack_due = node->welcome_due = false;
            continue;
        }
        if (node->welcome_due) {
            ob_msg_t m;
            ob_msg_init(&m, "broker");
            Orderbus__V1__Welcome welcome = ORDERBUS__V1__WELCOME__INIT;
            welcome.dept = node->id;
            welcome.name = node->name;
            welcome.last_applied_seq = node->in_seq;
            welcome.heartbeat_ms = (uint32_t) self->cfg.heartbeat_ms;
            welcome.resume_from = node->resume_from;
            node->resume_from = 0;
            m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_WELCOME;
            m.env.welcome = &welcome;
            ob_wire_send(self->node_sock, node->rid, node->rid_len, &m.env);
        }
        if (node->ack_due) {
            ob_msg_t m;
            ob_msg_init(&m, "broker");
            Orderbus__V1__Received received = ORDERBUS__V1__RECEIVED__INIT;
            received.seq = node->in_seq;
            m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RECEIVED;
            m.env.received = &received;
            ob_wire_send(self->node_sock, node->rid, node->rid_len, &m.env);
        }
        node->ack_due = node->welcome_due = false;
    }
}


void broker_nodes_cron(broker_t *self)
{
    uint64_t now = ob_mono_us();
    uint64_t hb_us = (uint64_t) self->cfg.heartbeat_ms * 1000;
    bool beat = now - self->last_heartbeat_us >= hb_us;
    if (beat)
        self->last_heartbeat_us = now;
    for (size_t i = 0; i < self->nnodes; i++) {
        broker_node_t *node = &self->nodes[i];
        if (node->up && now - node->last_seen_us > 3 * hb_us)
            broker_node_lost(node, "silent for 3 heartbeats");
        if (!node->rid_len)
            continue;
        if (beat) {
            ob_msg_t m;
            ob_msg_init(&m, "broker");
            Orderbus__V1__Heartbeat hb = ORDERBUS__V1__HEARTBEAT__INIT;
            hb.last_applied_seq = node->in_seq;
            m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT;
            m.env.heartbeat = &hb;
            if (ob_wire_send(self->node_sock, node->rid, node->rid_len, &m.env) < 0
                && errno == EHOSTUNREACH)
                broker_node_lost(node, "connection gone");
        }
        if (node->sent_seq > node->acked_seq
            && now - node->last_progress_us > (uint64_t) node->rto_ms * 1000) {
            ob_debug("department '%s': no confirmation for %d ms, resending from %llu",
                     node->id, node->rto_ms, (unsigned long long) node->acked_seq + 1);
            node->sent_seq = node->acked_seq;
            node->rto_ms = node->rto_ms * 2 > BROKER_RTO_MAX_MS ? BROKER_RTO_MAX_MS
                                                                : node->rto_ms * 2;
            node->last_progress_us = now;
        }
    }
}

