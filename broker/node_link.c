/*  node_link.c — the broker's side of the node link (docs/PROTOCOL.md §3).

    Each department has two numbered streams of reliable messages. Ours to
    it lives in the outbox (dept '\0' be64 seq -> OutboxItem) until the node
    confirms it with a cumulative Received; we send a window of it and go
    back to the first unconfirmed message when nothing is confirmed for a
    retry interval. Its stream to us is applied strictly in order: a
    duplicate is re-acknowledged, a gap answered ERR_OUT_OF_ORDER, the next
    message applied in the batch transaction together with our record of
    having applied it (in_seq). A department is who its Curve key says (the
    ZAP User-Id), never what a message claims.                             */
#include "broker.h"
#include "ob_fsm.h"
#include "ob_order.h"
#include "ob_log.h"
#include "ob_util.h"
#include <zmq.h>

#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x

broker_node_t *broker_node_find(broker_t *self, const char *dept)
{
    for (size_t i = 0; i < self->nnodes; i++)
        if (strcmp(self->nodes[i].id, dept) == 0)
            return &self->nodes[i];
    return NULL;
}

static void s_meta_key(char *out, size_t len, const char *what, const char *dept)
{
    snprintf(out, len, "%s/%s", what, dept);
}

/* Reads a node's sequence counters from `txn`. */
static int s_node_read(broker_t *self, MDB_txn *txn, broker_node_t *node)
{
    char key[OB_DEPT_MAX + 16];
    int rc;
    s_meta_key(key, sizeof key, "in_seq", node->id);
    if ((rc = ob_store_meta_get_u64(self->store, txn, key, &node->in_seq)))
        return rc;
    s_meta_key(key, sizeof key, "out_seq", node->id);
    if ((rc = ob_store_meta_get_u64(self->store, txn, key, &node->out_seq)))
        return rc;
    s_meta_key(key, sizeof key, "acked_seq", node->id);
    if ((rc = ob_store_meta_get_u64(self->store, txn, key, &node->acked_seq)))
        return rc;
    if (node->sent_seq < node->acked_seq || node->sent_seq > node->out_seq)
        node->sent_seq = node->acked_seq;
    node->counters_dirty = false;
    return 0;
}

/* Reads whether node is in the registry as a department (and its name). */
static void s_node_registration(broker_t *self, MDB_txn *txn, broker_node_t *node)
{
    ProtobufCMessage *msg;
    if (ob_store_get_pb(txn, ob_store_dbi(self->store, OB_DB_PRINCIPALS), node->id,
                        strlen(node->id), &orderbus__v1__principal__descriptor, &msg)
        != 0)
        return;
    Orderbus__V1__Principal *p = (Orderbus__V1__Principal *) msg;
    if (p->role == ORDERBUS__V1__ROLE__ROLE_DEPARTMENT) {
        node->registered = true;
        snprintf(node->name, sizeof node->name, "%s", p->name);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
}

broker_node_t *broker_node_get(broker_t *self, const char *dept)
{
    broker_node_t *node = broker_node_find(self, dept);
    if (node)
        return node;
    if (strlen(dept) >= OB_DEPT_MAX || !*dept)
        return NULL;
    if (self->nnodes == self->capnodes) {
        size_t cap = self->capnodes ? self->capnodes * 2 : 16;
        broker_node_t *nodes = realloc(self->nodes, cap * sizeof *nodes);
        if (!nodes)
            return NULL;
        self->nodes = nodes;
        self->capnodes = cap;
    }
    node = &self->nodes[self->nnodes];
    memset(node, 0, sizeof *node);
    snprintf(node->id, sizeof node->id, "%s", dept);
    node->rto_ms = BROKER_RTO_MIN_MS;
    MDB_txn *txn = self->txn;
    bool own = false;
    if (!txn) {
        if (ob_store_begin(self->store, false, &txn))
            return NULL;
        own = true;
    }
    int rc = s_node_read(self, txn, node);
    if (rc == 0)
        s_node_registration(self, txn, node);
    if (own)
        mdb_txn_abort(txn);
    if (rc)
        return NULL;
    self->nnodes++;
    return node;
}

int broker_nodes_load(broker_t *self, MDB_txn *txn)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ob_store_dbi(self->store, OB_DB_PRINCIPALS), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    char dept[OB_DEPT_MAX];
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 0 || k.mv_size >= sizeof dept)
            continue;
        memcpy(dept, k.mv_data, k.mv_size);
        dept[k.mv_size] = '\0';
        Orderbus__V1__Principal *p =
            orderbus__v1__principal__unpack(NULL, v.mv_size, v.mv_data);
        bool is_dept = p && p->role == ORDERBUS__V1__ROLE__ROLE_DEPARTMENT;
        if (p)
            orderbus__v1__principal__free_unpacked(p, NULL);
        if (is_dept)
            broker_node_get(self, dept);
    }
    mdb_cursor_close(cur);
    /* departments with queued messages that are not registered (yet) */
    for (size_t i = 0; i < self->nnodes; i++)
        s_node_read(self, txn, &self->nodes[i]);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

uint64_t broker_node_depth(const broker_node_t *node)
{
    return node->out_seq - node->acked_seq;
}

static size_t s_outbox_key(uint8_t *key, const char *dept, uint64_t seq)
{
    size_t dl = strlen(dept);
    memcpy(key, dept, dl);
    key[dl] = 0;
    ob_be64_put(key + dl + 1, seq);
    return dl + 9;
}

static int s_put_counter(broker_t *self, const char *what, const broker_node_t *node,
                         uint64_t value)
{
    char key[OB_DEPT_MAX + 16];
    s_meta_key(key, sizeof key, what, node->id);
    return ob_store_meta_put_u64(self->store, self->txn, key, value);
}

/* The counters are cached in broker_node_t and written once per batch:
   one put each instead of one per message. */
static int s_counters_changed(broker_node_t *node)
{
    node->counters_dirty = true;
    return 0;
}

int broker_nodes_save_counters(broker_t *self)
{
    for (size_t i = 0; i < self->nnodes; i++) {
        broker_node_t *node = &self->nodes[i];
        if (!node->counters_dirty)
            continue;
        int rc = s_put_counter(self, "in_seq", node, node->in_seq);
        if (!rc)
            rc = s_put_counter(self, "out_seq", node, node->out_seq);
        if (!rc)
            rc = s_put_counter(self, "acked_seq", node, node->acked_seq);
        if (rc)
            return rc;
        node->counters_dirty = false;
    }
    return 0;
}

int broker_node_enqueue(broker_t *self, const char *dept, const uint8_t *order_id,
                        uint32_t attempt, ob_event_t event, ob_msg_t *msg)
{
    broker_node_t *node = broker_node_get(self, dept);
    if (!node)
        return ENOMEM;
    msg->env.seq = node->out_seq + 1;
    uint8_t *buf;
    size_t len;
    if (ob_wire_pack(&msg->env, &buf, &len) < 0)
        return ENOMEM;
    Orderbus__V1__OutboxItem item = ORDERBUS__V1__OUTBOX_ITEM__INIT;
    item.order_id.data = (uint8_t *) order_id;
    item.order_id.len = OB_ID_BYTES;
    item.attempt = attempt;
    item.queued_at_ms = broker_now_ms(self);
    item.event = event;
    const Orderbus__V1__Dispatch *d =
        msg->env.body_case == ORDERBUS__V1__ENVELOPE__BODY_DISPATCH ? msg->env.dispatch : NULL;
    if (d) {
        /* by reference: the order is in `orders` already */
        item.msg_id = msg->env.msg_id;
        item.note = d->note;
        item.sign_deadline_ms = d->sign_deadline_ms;
        item.state = d->state;
        item.sent_at_ms = msg->env.sent_at_ms;
    } else {
        item.envelope.data = buf;
        item.envelope.len = len;
    }
    uint8_t key[OB_DEPT_MAX + 9];
    size_t klen = s_outbox_key(key, dept, msg->env.seq);
    int rc = ob_store_put_pb_append(self->txn, ob_store_dbi(self->store, OB_DB_OUTBOX), key, klen,
                             (const ProtobufCMessage *) &item);
    if (rc) {
        free(buf);
        return rc;
    }
    node->out_seq = msg->env.seq;
    /* kept for the first send after the commit; without memory for it the
       pump reads it back from the store */
    if (node->nfresh && node->fresh_first + node->nfresh != msg->env.seq)
        broker_nodes_fresh_clear(self);   /* not contiguous: cannot happen, be safe */
    if (node->nfresh == node->capfresh) {
        size_t cap = node->capfresh ? node->capfresh * 2 : 64;
        broker_packed_t *f = realloc(node->fresh, cap * sizeof *f);
        if (f) {
            node->fresh = f;
            node->capfresh = cap;
        }
    }
    if (node->nfresh < node->capfresh) {
        if (!node->nfresh)
            node->fresh_first = msg->env.seq;
        node->fresh[node->nfresh++] = (broker_packed_t) {buf, len};
    } else
        free(buf);
    return s_counters_changed(node);
}

/* The node has committed everything up to `seq`: drop it from the outbox
   and record the deliveries of dispatches. */
static int s_ack_through(broker_t *self, broker_node_t *node, uint64_t seq)
{
    if (seq > node->out_seq)
        seq = node->out_seq;   /* a node cannot confirm what we never sent */
    if (seq <= node->acked_seq)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(self->txn, ob_store_dbi(self->store, OB_DB_OUTBOX), &cur);
    if (rc)
        return rc;
    uint8_t key[OB_DEPT_MAX + 9];
    size_t klen = s_outbox_key(key, node->id, node->acked_seq + 1);
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
    if (node->sent_seq < seq)
        node->sent_seq = seq;
    node->last_progress_us = ob_mono_us();
    node->rto_ms = BROKER_RTO_MIN_MS;
    return s_counters_changed(node);
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
                        .now_ms = broker_now_ms(self), .note = act.note, .dept = node->id,
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
    s_counters_changed(node);
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

int broker_node_handle(broker_t *self, const ob_inmsg_t *in)
{
    if (in->truncated || !in->data) {
        ob_warn("node link: refused a malformed message of %zu bytes from '%s'", in->size,
                in->user_id);
        if (in->rid_len) {
            ob_wire_send_error(self->node_sock, in->rid, in->rid_len, NULL, 0, 0,
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
        ob_wire_send_error(self->node_sock, in->rid, in->rid_len, NULL, 0, 0, code, err);
        return 0;
    }
    broker_node_t *node = *in->user_id ? broker_node_get(self, in->user_id) : NULL;
    if (node && !node->registered)   /* registered since we first heard of it (ZAP let it in) */
        s_node_registration(self, self->txn, node);
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
    if (node->rid_len != in->rid_len || memcmp(node->rid, in->rid, in->rid_len) != 0) {
        memcpy(node->rid, in->rid, in->rid_len);
        node->rid_len = in->rid_len;
        node->sent_seq = node->acked_seq;   /* a new connection: resend what is unconfirmed */
    }
    if (!node->up)
        ob_info("department '%s' is up", node->id);
    node->up = true;
    node->last_seen_ms = ob_now_ms();
    node->last_seen_us = ob_mono_us();

    int rc = 0;
    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_HELLO:
        rc = s_ack_through(self, node, env->hello->last_applied_seq);
        node->sent_seq = node->acked_seq;
        node->welcome_due = true;
        node->ack_due = true;
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT:
        rc = s_ack_through(self, node, env->heartbeat->last_applied_seq);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_RECEIVED:
        rc = s_ack_through(self, node, env->received->seq);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_ERROR:
        if (env->error->code == ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER) {
            rc = s_ack_through(self, node, env->error->ref_seq);
            node->sent_seq = node->acked_seq;
        } else
            ob_warn("department '%s' reports error %s", node->id,
                    ob_errcode_name(env->error->code));
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

static void s_node_lost(broker_node_t *node, const char *why)
{
    if (node->up)
        ob_info("department '%s' is down (%s)", node->id, why);
    node->up = false;
    node->rid_len = 0;
}

void broker_nodes_fresh_clear(broker_t *self)
{
    for (size_t i = 0; i < self->nnodes; i++) {
        broker_node_t *node = &self->nodes[i];
        for (size_t k = 0; k < node->nfresh; k++)
            free(node->fresh[k].buf);
        node->nfresh = 0;
    }
}

/* Sends outbox entry `seq` (value v) to the node: its envelope, or for a
   Dispatch kept by reference the message rebuilt from the order record.
   Returns as ob_wire_send_raw; 0 for an entry that cannot be read (logged
   and skipped: the node's gap report brings the link back to it). */
static int s_send_stored(broker_t *self, MDB_txn *txn, broker_node_t *node, uint64_t seq,
                         const MDB_val *v)
{
    Orderbus__V1__OutboxItem *item = orderbus__v1__outbox_item__unpack(NULL, v->mv_size,
                                                                        v->mv_data);
    if (!item) {
        ob_error("outbox entry %llu for '%s' does not decode; skipped",
                 (unsigned long long) seq, node->id);
        return 0;
    }
    int sent = 0;
    if (item->envelope.len) {
        sent = ob_wire_send_raw(self->node_sock, node->rid, node->rid_len, item->envelope.data,
                                item->envelope.len);
        goto out;
    }
    ProtobufCMessage *msg = NULL;
    if (item->order_id.len != OB_ID_BYTES || item->msg_id.len != OB_ID_BYTES
        || ob_store_get_pb(txn, ob_store_dbi(self->store, OB_DB_ORDERS), item->order_id.data,
                           OB_ID_BYTES, &orderbus__v1__order_record__descriptor, &msg)
               != 0) {
        ob_error("outbox entry %llu for '%s': its order cannot be read; skipped",
                 (unsigned long long) seq, node->id);
        goto out;
    }
    ob_record_t *rec = (ob_record_t *) msg;
    if (rec->order) {
        ob_workorder_t order;
        Orderbus__V1__Dispatch dispatch;
        broker_dispatch_fill(rec, &order, &dispatch, item->attempt, item->sign_deadline_ms,
                             item->note, item->state);
        ob_envelope_t env = ORDERBUS__V1__ENVELOPE__INIT;
        env.version = OB_WIRE_VERSION;
        env.msg_id = item->msg_id;
        env.sender = (char *) "broker";
        env.seq = seq;
        env.sent_at_ms = item->sent_at_ms;
        env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DISPATCH;
        env.dispatch = &dispatch;
        sent = ob_wire_send(self->node_sock, node->rid, node->rid_len, &env);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
out:
    orderbus__v1__outbox_item__free_unpacked(item, NULL);
    return sent;
}

/* Sends seqs sent_seq+1 .. limit that are not in memory from the store;
   returns false when the socket would not take more. */
static bool s_pump_stored(broker_t *self, MDB_txn **txn, broker_node_t *node, uint64_t limit)
{
    if (!*txn && ob_store_begin(self->store, false, txn)) {
        *txn = NULL;
        return false;
    }
    MDB_cursor *cur;
    if (mdb_cursor_open(*txn, ob_store_dbi(self->store, OB_DB_OUTBOX), &cur))
        return false;
    uint8_t key[OB_DEPT_MAX + 9];
    size_t klen = s_outbox_key(key, node->id, node->sent_seq + 1);
    MDB_val k = {klen, key}, v;
    bool more = true;
    int rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != klen || memcmp(k.mv_data, key, klen - 8) != 0)
            break;
        uint64_t seq = ob_be64_get((const uint8_t *) k.mv_data + klen - 8);
        if (seq > limit)
            break;
        if (s_send_stored(self, *txn, node, seq, &v) < 0) {
            if (errno == EHOSTUNREACH)
                s_node_lost(node, "connection gone");
            more = false;   /* EAGAIN: the pipe is full, carry on next turn */
            break;
        }
        node->sent_seq = seq;
    }
    mdb_cursor_close(cur);
    return more;
}

void broker_nodes_pump(broker_t *self)
{
    MDB_txn *txn = NULL;
    for (size_t i = 0; i < self->nnodes; i++) {
        broker_node_t *node = &self->nodes[i];
        if (!node->rid_len || !node->up || node->sent_seq >= node->out_seq)
            continue;
        uint64_t limit = node->acked_seq + BROKER_WINDOW;
        if (limit > node->out_seq)
            limit = node->out_seq;
        if (node->sent_seq >= limit)
            continue;
        if (node->sent_seq == node->acked_seq)
            node->last_progress_us = ob_mono_us();   /* the retry clock starts now */
        uint64_t fresh_end = node->fresh_first + node->nfresh;   /* one past */
        bool in_memory = node->nfresh && node->sent_seq + 1 >= node->fresh_first
                         && node->sent_seq + 1 < fresh_end;
        if (!in_memory) {
            uint64_t upto = node->nfresh && node->fresh_first > node->sent_seq + 1
                                ? node->fresh_first - 1 : limit;
            if (upto > limit)
                upto = limit;
            if (!s_pump_stored(self, &txn, node, upto) || !node->rid_len)
                continue;
        }
        /* this batch's messages, packed already */
        while (node->nfresh && node->sent_seq < limit && node->sent_seq + 1 >= node->fresh_first
               && node->sent_seq + 1 < fresh_end) {
            broker_packed_t *p = &node->fresh[node->sent_seq + 1 - node->fresh_first];
            int sent = p->buf ? ob_wire_send_owned(self->node_sock, node->rid, node->rid_len,
                                                   NULL, p->buf, p->len)
                              : -1;
            p->buf = NULL;   /* ZeroMQ has it (or freed it) */
            if (sent < 0) {
                /* a resend comes from the store */
                if (errno == EHOSTUNREACH)
                    s_node_lost(node, "connection gone");
                break;
            }
            node->sent_seq++;
        }
    }
    if (txn)
        mdb_txn_abort(txn);
    broker_nodes_fresh_clear(self);
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
            s_node_lost(node, "silent for 3 heartbeats");
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
                s_node_lost(node, "connection gone");
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
