/*  broker_dead.c — dead letters: a message a department refuses for good
    (a frame it cannot read, a body it rejects every time) must not stall
    every message behind it, nor be lost. After BROKER_DEAD_AFTER permanent
    refusals of the department's first unconfirmed message, the message
    moves to the `dead` database (dept '\0' be64 seq -> DeadLetter) with
    the department's reason, a Withdrawn takes its seq (the node consumes it
    and applies nothing), and the order's transport shows FAILED with the
    reason. Ops list them and queue them again or drop them
    (`orderbus dead list|requeue|drop`).                                    */
#include "broker.h"
#include "ob_log.h"
#include "ob_order.h"
#include "ob_util.h"

#define C(x) ORDERBUS__V1__ERROR_CODE__##x

/* The order the dead message was about: transport FAILED with the reason
   when it was the order's current dispatch. */
static int s_mark_failed(broker_t *self, const Orderbus__V1__OutboxItem *item, uint64_t seq,
                         const char *reason, char *case_no, size_t case_len)
{
    ob_record_t *rec = NULL;
    if (item->order_id.len != OB_ID_BYTES)
        return 0;
    int rc = broker_order_load(self, item->order_id.data, &rec);
    if (rc)
        return rc == MDB_NOTFOUND || rc == EBADMSG ? 0 : rc;
    snprintf(case_no, case_len, "%s", rec->order->case_no);
    if (rec->dispatch_seq == seq) {
        rec->transport = ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_FAILED;
        rc = ob_order_set_str(&rec->transport_error, reason);
        if (!rc)
            rc = broker_order_save(self, rec, rec->state, rec->dept);
    }
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

/* Replaces outbox item `seq` of `node` with a Withdrawn of the same seq. */
static int s_withdraw(broker_t *self, broker_node_t *node, uint64_t seq,
                      const Orderbus__V1__OutboxItem *dead, const char *reason)
{
    Orderbus__V1__Withdrawn w = ORDERBUS__V1__WITHDRAWN__INIT;
    w.reason = (char *) reason;
    w.order_id = dead->order_id;
    w.attempt = dead->attempt;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.seq = seq;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_WITHDRAWN;
    m.env.withdrawn = &w;
    uint8_t *buf;
    size_t len;
    if (ob_wire_pack(&m.env, &buf, &len) < 0)
        return ENOMEM;
    Orderbus__V1__OutboxItem item = ORDERBUS__V1__OUTBOX_ITEM__INIT;
    item.order_id = dead->order_id;
    item.attempt = dead->attempt;
    item.envelope.data = buf;
    item.envelope.len = len;
    item.queued_at_ms = broker_now_ms(self);
    uint8_t key[OB_DEPT_MAX + 9];
    size_t klen = broker_db_outbox_key(key, node->id, seq);
    int rc = ob_store_put_pb(self->txn, broker_db(self->store, BROKER_DB_OUTBOX), key, klen,
                             (const ProtobufCMessage *) &item);
    free(buf);
    return rc;
}

int broker_dead_letter(broker_t *self, broker_node_t *node, const char *reason)
{
    uint64_t seq = node->acked_seq + 1;
    uint8_t key[OB_DEPT_MAX + 9];
    size_t klen = broker_db_outbox_key(key, node->id, seq);
    ProtobufCMessage *msg = NULL;
    int rc = ob_store_get_pb(self->txn, broker_db(self->store, BROKER_DB_OUTBOX), key, klen,
                             &orderbus__v1__outbox_item__descriptor, &msg);
    if (rc)
        return rc == MDB_NOTFOUND || rc == EBADMSG ? 0 : rc;
    Orderbus__V1__OutboxItem *item = (Orderbus__V1__OutboxItem *) msg;
    char case_no[OB_CASE_NO_MAX] = "";
    Orderbus__V1__DeadLetter dl = ORDERBUS__V1__DEAD_LETTER__INIT;
    dl.dept = node->id;
    dl.seq = seq;
    dl.item = item;
    dl.reason = (char *) reason;
    dl.at_ms = broker_now_ms(self);
    dl.refusals = node->head_refusals;
    rc = s_mark_failed(self, item, seq, reason, case_no, sizeof case_no);
    dl.case_no = case_no;
    if (!rc)
        rc = ob_store_put_pb(self->txn, broker_db(self->store, BROKER_DB_DEAD), key, klen,
                             (const ProtobufCMessage *) &dl);
    if (!rc)
        rc = s_withdraw(self, node, seq, item, reason);
    if (!rc) {
        ob_error("department '%s': message seq %llu (%s%s%s) dead-lettered after %u refusals: "
                 "%s; the messages behind it go on (orderbus dead list)",
                 node->id, (unsigned long long) seq, ob_event_name(item->event),
                 *case_no ? " of " : "", case_no, node->head_refusals, reason);
        node->head_refusals = 0;
        broker_nodes_fresh_clear(self);   /* the packed copy of seq is stale */
        node->sent_seq = node->acked_seq;  /* the Withdrawn goes out next */
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

/* ---- the ops requests ------------------------------------------------------- */

/* Every dead letter (of `dept` when given). */
static int s_list(broker_t *self, const broker_req_t *req, const char *dept)
{
    size_t n = 0, cap = 0, bytes = 0;
    Orderbus__V1__DeadLetter **dead = NULL;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_DEAD), &cur);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
         rc == 0 && n < 1000 && bytes <= OB_ANSWER_BUDGET;   /* the answer fits a frame */
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Orderbus__V1__DeadLetter *d = orderbus__v1__dead_letter__unpack(NULL, v.mv_size,
                                                                       v.mv_data);
        if (!d)
            continue;
        if (*dept && strcmp(d->dept, dept) != 0) {
            orderbus__v1__dead_letter__free_unpacked(d, NULL);
            continue;
        }
        if (n == cap) {
            Orderbus__V1__DeadLetter **grown = realloc(dead, (cap ? 2 * cap : 16) * sizeof *dead);
            if (!grown) {
                orderbus__v1__dead_letter__free_unpacked(d, NULL);
                break;
            }
            dead = grown;
            cap = cap ? 2 * cap : 16;
        }
        if (d->item)   /* the message's bytes are not for people */
            d->item->envelope.len = 0;
        bytes += orderbus__v1__dead_letter__get_packed_size(d) + 8;
        dead[n++] = d;
    }
    if (rc == 0 || rc == MDB_NOTFOUND)
        mdb_cursor_close(cur);
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.dead = dead;
    answer.n_dead = n;
    rc = broker_answer(self, req, C(OK), "", &answer);
    for (size_t i = 0; i < n; i++)
        orderbus__v1__dead_letter__free_unpacked(dead[i], NULL);
    free(dead);
    return rc;
}

/* Queues the dead letter's message again, at the end of its department's
   stream. A Dispatch goes again only while it is still the order's
   current attempt at that department. */
static int s_requeue(broker_t *self, const Orderbus__V1__DeadLetter *d, char *err,
                     size_t errlen, ob_errcode_t *code)
{
    const Orderbus__V1__OutboxItem *item = d->item;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    if (item->envelope.len) {   /* a stored message: the same body, a new seq */
        ob_envelope_t *env = ob_wire_decode(item->envelope.data, item->envelope.len, code, err,
                                            errlen);
        if (!env)
            return 0;
        m.env.body_case = env->body_case;
        m.env.recall = env->recall;   /* the oneof is a union of pointers: this copies
                                         the body's, whatever the body */
        int rc = broker_node_enqueue(self, d->dept, item->order_id.data, item->attempt,
                                     item->event, &m);
        ob_wire_free(env);
        *code = rc ? C(ERR_STORE) : C(OK);
        return rc;
    }
    ob_record_t *rec = NULL;
    int rc = item->order_id.len == OB_ID_BYTES ? broker_order_load(self, item->order_id.data, &rec)
                                               : MDB_NOTFOUND;
    if (rc || strcmp(rec->dept, d->dept) != 0 || rec->attempt != item->attempt) {
        if (rec)
            protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
        *code = C(ERR_STALE_ATTEMPT);
        snprintf(err, errlen, "the order has moved on since (another attempt or department): "
                              "drop this letter");
        return rc == MDB_NOTFOUND || rc == EBADMSG ? 0 : rc;
    }
    ob_workorder_t order;
    Orderbus__V1__Dispatch dispatch;
    broker_dispatch_fill(rec, &order, &dispatch, item->attempt, item->sign_deadline_ms,
                         item->note, item->state);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DISPATCH;
    m.env.dispatch = &dispatch;
    rc = broker_node_enqueue(self, d->dept, rec->order->id.data, item->attempt, item->event, &m);
    if (!rc) {
        rec->dispatch_seq = m.env.seq;
        rec->transport = ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_QUEUED;
        ob_order_set_str(&rec->transport_error, "");   /* "" never fails */
        rc = broker_order_save(self, rec, rec->state, rec->dept);
    }
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    *code = rc ? C(ERR_STORE) : C(OK);
    return rc;
}

/* DeadRequest{op, dept, seq}: ops only. */
int broker_dead(broker_t *self, const broker_req_t *req)
{
    const Orderbus__V1__DeadRequest *r = req->env->dead;
    const char *dept = r->dept ? r->dept : "";
    if (r->op == ORDERBUS__V1__DEAD_REQUEST__OP__LIST)
        return s_list(self, req, dept);
    char err[300];
    uint8_t key[OB_DEPT_MAX + 9];
    if (!*dept || strlen(dept) >= OB_DEPT_MAX || !r->seq)
        return broker_answer(self, req, C(ERR_BAD_REQUEST),
                             "requeue and drop name a department and a seq", NULL);
    size_t klen = broker_db_outbox_key(key, dept, r->seq);
    ProtobufCMessage *msg = NULL;
    int rc = ob_store_get_pb(self->txn, broker_db(self->store, BROKER_DB_DEAD), key, klen,
                             &orderbus__v1__dead_letter__descriptor, &msg);
    if (rc == MDB_NOTFOUND || rc == EBADMSG)
        return broker_answer(self, req, C(ERR_NOT_FOUND), "no such dead letter", NULL);
    if (rc)
        return rc;
    Orderbus__V1__DeadLetter *d = (Orderbus__V1__DeadLetter *) msg;
    ob_errcode_t code = C(OK);
    err[0] = '\0';
    if (r->op == ORDERBUS__V1__DEAD_REQUEST__OP__REQUEUE && d->item)
        rc = s_requeue(self, d, err, sizeof err, &code);
    if (!rc && code == C(OK)) {
        MDB_val k = {klen, key};
        static const uint8_t none[OB_ID_BYTES];
        rc = mdb_del(self->txn, broker_db(self->store, BROKER_DB_DEAD), &k, NULL);
        if (!rc)   /* a client's retry of this request is answered, not applied */
            rc = broker_seen_put(self, req, d->item && d->item->order_id.len == OB_ID_BYTES
                                                ? d->item->order_id.data : none);
        ob_info("dead letter '%s' seq %llu %s by '%s'", dept, (unsigned long long) r->seq,
                r->op == ORDERBUS__V1__DEAD_REQUEST__OP__REQUEUE ? "queued again" : "dropped",
                req->who);
    }
    if (!rc) {
        if (d->item)
            d->item->envelope.len = 0;
        ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
        answer.dead = &d;
        answer.n_dead = 1;
        rc = broker_answer(self, req, code, err, code == C(OK) ? &answer : NULL);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}
