/*  broker_answer.c — answering a client: every answer is an effect, sent
    after the batch commits; a state-changing request's msg id is kept in
    `seen` with its outcome in the same transaction as its effect, so a
    resent copy is answered as the first one was and applied only once.   */
#include "broker.h"
#include "ob_log.h"
#include "ob_order.h"

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define C(x) ORDERBUS__V1__ERROR_CODE__##x
#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)

int broker_answer(broker_t *self, const broker_req_t *req, ob_errcode_t code, const char *message,
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

int broker_answer_record(broker_t *self, const broker_req_t *req, ob_record_t *rec)
{
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.order = rec;
    return broker_answer(self, req, C(OK), "", &answer);
}


/* Answers a request applied before as it was answered then. */
static int s_answer_again(broker_t *self, const broker_req_t *req,
                          const Orderbus__V1__SeenItem *seen)
{
    ob_record_t *rec = NULL;
    if (seen->order_id.len == OB_ID_BYTES)
        broker_order_load(self, seen->order_id.data, &rec);
    if (rec && req->env->body_case == ORDERBUS__V1__ENVELOPE__BODY_SUBMIT)
        broker_answer_strip(rec, true);   /* as the first answer was */
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.order = rec;
    int rc = broker_answer(self, req, seen->code, seen->message, &answer);
    if (rec)
        protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

bool broker_answer_seen(broker_t *self, const broker_req_t *req, int *rc)
{
    uint8_t key[BROKER_DB_SEEN_KEY_MAX];
    size_t klen = broker_db_seen_key(key, req->env->msg_id.data, req->who);
    ProtobufCMessage *msg;
    *rc = ob_store_get_pb(self->txn, broker_db(self->store, BROKER_DB_SEEN), key, klen,
                          &orderbus__v1__seen_item__descriptor, &msg);
    if (*rc == MDB_NOTFOUND || *rc == EBADMSG) {
        *rc = 0;
        return false;
    }
    if (*rc)
        return true;
    *rc = s_answer_again(self, req, (Orderbus__V1__SeenItem *) msg);
    protobuf_c_message_free_unpacked(msg, NULL);
    return true;
}

int broker_seen_put(broker_t *self, const broker_req_t *req, const uint8_t *order_id)
{
    uint8_t key[BROKER_DB_SEEN_KEY_MAX];
    size_t klen = broker_db_seen_key(key, req->env->msg_id.data, req->who);
    Orderbus__V1__SeenItem seen = ORDERBUS__V1__SEEN_ITEM__INIT;
    seen.at_ms = broker_now_ms(self);
    seen.order_id.data = (uint8_t *) order_id;
    seen.order_id.len = OB_ID_BYTES;
    return ob_store_put_pb_append(self->txn, broker_db(self->store, BROKER_DB_SEEN), key, klen,
                                  (const ProtobufCMessage *) &seen);
}

/* Loads the order named by `ref`, answering the error itself when it
   cannot. Returns 1 with *rec set, 0 when answered, or a store error < 0. */
int broker_answer_find(broker_t *self, const broker_req_t *req, const Orderbus__V1__OrderRef *ref,
                  ob_record_t **rec)
{
    char err[200];
    ob_errcode_t code = broker_order_find(self, ref, rec, err, sizeof err);
    if (code == C(OK))
        return 1;
    int rc = broker_answer(self, req, code, err, NULL);
    return rc ? -rc : 0;
}

int broker_answer_refuse(broker_t *self, const broker_req_t *req, ob_record_t *rec, ob_errcode_t code,
                    const char *err)
{
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return broker_answer(self, req, code, err, NULL);
}

int broker_answer_finish(broker_t *self, const broker_req_t *req, ob_record_t *rec, int rc)
{
    if (!rc)
        rc = broker_seen_put(self, req, rec->order->id.data);
    if (!rc)
        rc = broker_answer_record(self, req, rec);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

void broker_answer_strip(ob_record_t *rec, bool content)
{
    if (rec->order && rec->order->contact) {
        orderbus__v1__contact__free_unpacked(rec->order->contact, NULL);
        rec->order->contact = NULL;
    }
    if (content && rec->order)
        ob_order_set_str(&rec->order->content, "");   /* "" never fails */
}

