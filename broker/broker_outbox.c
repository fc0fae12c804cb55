/*  broker_outbox.c — the departments' queues: each department's numbered
    stream of reliable messages from the broker lives in the outbox
    (dept '\0' be64 seq -> OutboxItem) until the node confirms it with a
    cumulative Received; a window of it is sent, and sending goes back to the
    first unconfirmed message when nothing is confirmed for a retry
    interval (go-back-N). Also the link counters kept per department.     */
#include "broker.h"
#include "ob_log.h"
#include "ob_registry.h"
#include "ob_order.h"
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

/* Reads a node's sequence counters from `txn`. */
static int s_node_read(broker_t *self, MDB_txn *txn, broker_node_t *node)
{
    char key[OB_DEPT_MAX + 16];
    int rc;
    broker_db_meta_key(key, sizeof key, "in_seq", node->id);
    if ((rc = ob_store_meta_get_u64(self->store, txn, key, &node->in_seq)))
        return rc;
    broker_db_meta_key(key, sizeof key, "out_seq", node->id);
    if ((rc = ob_store_meta_get_u64(self->store, txn, key, &node->out_seq)))
        return rc;
    broker_db_meta_key(key, sizeof key, "acked_seq", node->id);
    if ((rc = ob_store_meta_get_u64(self->store, txn, key, &node->acked_seq)))
        return rc;
    if (node->sent_seq < node->acked_seq || node->sent_seq > node->out_seq)
        node->sent_seq = node->acked_seq;
    node->counters_dirty = false;
    broker_db_meta_key(key, sizeof key, "instance", node->id);
    MDB_val k = {strlen(key), key}, v;
    rc = mdb_get(txn, broker_db(self->store, BROKER_DB_META), &k, &v);
    node->has_instance = rc == 0 && v.mv_size == OB_ID_BYTES;
    if (node->has_instance)
        memcpy(node->instance, v.mv_data, OB_ID_BYTES);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int broker_node_bind_instance(broker_t *self, broker_node_t *node, const uint8_t *inst)
{
    char key[OB_DEPT_MAX + 64];
    int rc = 0;
    uint64_t seq = node->in_seq;   /* the first binding: the stream goes on */
    if (node->has_instance) {
        broker_db_instance_key(key, sizeof key, node->id, node->instance);
        rc = ob_store_meta_put_u64(self->store, self->txn, key, node->in_seq);
        broker_db_instance_key(key, sizeof key, node->id, inst);
        seq = 0;
        if (!rc)
            rc = ob_store_meta_get_u64(self->store, self->txn, key, &seq);
    }
    broker_db_meta_key(key, sizeof key, "instance", node->id);
    MDB_val k = {strlen(key), key}, v = {OB_ID_BYTES, (void *) inst};
    if (!rc)
        rc = mdb_put(self->txn, broker_db(self->store, BROKER_DB_META), &k, &v, 0);
    if (rc)
        return rc;
    memcpy(node->instance, inst, OB_ID_BYTES);
    node->has_instance = true;
    node->in_seq = seq;
    return broker_outbox_counters_changed(node);
}

/* Reads whether node is in the registry as a department (and its name). */
void broker_node_registration(broker_t *self, MDB_txn *txn, broker_node_t *node)
{
    Orderbus__V1__Principal *p = NULL;
    if (ob_registry_get(self->store, txn, node->id, &p) != 0)
        return;
    if (p->role == ORDERBUS__V1__ROLE__ROLE_DEPARTMENT) {
        node->registered = true;
        snprintf(node->name, sizeof node->name, "%s", p->name);
    }
    orderbus__v1__principal__free_unpacked(p, NULL);
}

/* The department is not reachable now: marked down, its queue kept. */
void broker_node_lost(broker_node_t *node, const char *why)
{
    if (node->up)
        ob_info("department '%s' is down (%s)", node->id, why);
    node->up = false;
    node->rid_len = 0;
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
        broker_node_registration(self, txn, node);
    if (own)
        mdb_txn_abort(txn);
    if (rc)
        return NULL;
    self->nnodes++;
    return node;
}

/* Every registered department gets its place in the table. */
static int s_take_department(void *arg, const Orderbus__V1__Principal *p)
{
    if (p && p->role == ORDERBUS__V1__ROLE__ROLE_DEPARTMENT && *p->id
        && strlen(p->id) < OB_DEPT_MAX)
        broker_node_get((broker_t *) arg, p->id);
    return 0;
}

int broker_nodes_load(broker_t *self, MDB_txn *txn)
{
    int rc = ob_registry_each(self->store, txn, s_take_department, self);
    /* departments with queued messages that are not registered (yet) */
    for (size_t i = 0; i < self->nnodes; i++)
        s_node_read(self, txn, &self->nodes[i]);
    return rc;
}

uint64_t broker_node_depth(const broker_node_t *node)
{
    return node->out_seq - node->acked_seq;
}

static int s_put_counter(broker_t *self, const char *what, const broker_node_t *node,
                         uint64_t value)
{
    char key[OB_DEPT_MAX + 16];
    broker_db_meta_key(key, sizeof key, what, node->id);
    return ob_store_meta_put_u64(self->store, self->txn, key, value);
}

/* The counters are cached in broker_node_t and written once per batch:
   one put each instead of one per message. */
int broker_outbox_counters_changed(broker_node_t *node)
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
    size_t klen = broker_db_outbox_key(key, dept, msg->env.seq);
    int rc = ob_store_put_pb_append(self->txn, broker_db(self->store, BROKER_DB_OUTBOX), key, klen,
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
    return broker_outbox_counters_changed(node);
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
        || ob_store_get_pb(txn, broker_db(self->store, BROKER_DB_ORDERS), item->order_id.data,
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
    if (mdb_cursor_open(*txn, broker_db(self->store, BROKER_DB_OUTBOX), &cur))
        return false;
    uint8_t key[OB_DEPT_MAX + 9];
    size_t klen = broker_db_outbox_key(key, node->id, node->sent_seq + 1);
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
                broker_node_lost(node, "connection gone");
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
        if (!node->rid_len || !node->up || node->sent_seq >= node->out_seq || *node->diverged)
            continue;   /* diverged: held back until the stores agree (broker_link.c) */
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
                    broker_node_lost(node, "connection gone");
                break;
            }
            node->sent_seq++;
        }
    }
    if (txn)
        mdb_txn_abort(txn);
    broker_nodes_fresh_clear(self);
}

void broker_order_fill_transport(broker_t *self, ob_record_t *rec)
{
    if (!rec->dispatch_seq || !rec->dept || !*rec->dept
        || rec->transport == ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_FAILED)
        return;   /* FAILED: dead-lettered, until a dispatcher or ops act */
    broker_node_t *node = broker_node_find(self, rec->dept);
    if (!node)
        return;
    if (rec->dispatch_seq <= node->acked_seq)
        rec->transport = ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_RECEIVED;
    else if (rec->dispatch_seq <= node->sent_seq)
        rec->transport = ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_SENT;
    else
        rec->transport = ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_QUEUED;
}

void broker_dispatch_fill(const ob_record_t *rec, ob_workorder_t *order,
                          Orderbus__V1__Dispatch *d, uint32_t attempt,
                          int64_t sign_deadline_ms, const char *note, ob_state_t state)
{
    /* the department gets the order without the complainant's contact */
    ob_order_view_without_contact(rec->order, order);
    Orderbus__V1__Dispatch msg = ORDERBUS__V1__DISPATCH__INIT;
    msg.order = order;
    msg.attempt = attempt;
    msg.dispatched_at_ms = rec->dispatched_at_ms;
    msg.sign_deadline_ms = sign_deadline_ms;
    msg.reply_deadline_ms = rec->reply_deadline_ms;
    msg.lead = true;
    msg.note = (char *) (note ? note : "");
    msg.state = state;   /* the state it hands over: DISPATCHED, IN_PROGRESS for rework */
    *d = msg;
}


