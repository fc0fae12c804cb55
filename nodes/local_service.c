/*  local_service.c — the node's local request/answer service (ipc) for the
    department's clerk CLI: inbox listing, the four department actions, and
    the node's own status. Actions go through ob_node_apply_action, the same
    path the demo agent takes; a request resent with the same msg_id (the
    client retries after a time-out) is answered from the `seen` database
    instead of being applied twice.                                         */
#include "local_service.h"
#include "ob_fsm.h"
#include "ob_log.h"
#include "ob_util.h"
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#define S_INBOX_DEFAULT 1000            /* InboxRequest.limit 0 */
#define S_INBOX_MAX 100000
#define S_ANSWER_BUDGET (900 * 1024)    /* stay under OB_MAX_FRAME */

struct ob_local {
    void *sock;                         /* ROUTER bound at endpoint */
    char endpoint[sizeof(((struct sockaddr_un *) 0)->sun_path) + 8];
    char path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
};

ob_local_t *ob_local_new(void *zmq_ctx, const char *dir, char *err, size_t errlen)
{
    ob_local_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_fmt(err, errlen, "out of memory");
        return NULL;
    }
    int n = snprintf(self->path, sizeof self->path, "%s/node.sock", dir);
    if (n < 0 || (size_t) n >= sizeof self->path) {
        ob_fmt(err, errlen, "data directory path '%s' is too long for an ipc socket "
                            "(at most %zu bytes)", dir, sizeof self->path - 11);
        goto fail;
    }
    ob_fmt(self->endpoint, sizeof self->endpoint, "ipc://%s", self->path);
    /* a socket file left by a node that died; the caller holds the lock
       file, so no live node owns it */
    if (unlink(self->path) != 0 && errno != ENOENT) {
        ob_fmt(err, errlen, "cannot remove stale socket '%s': %s", self->path, strerror(errno));
        goto fail;
    }
    self->sock = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    int zero = 0, one = 1, hwm = 1000;
    if (!self->sock || zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero)
        || zmq_setsockopt(self->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one)
        || zmq_setsockopt(self->sock, ZMQ_SNDHWM, &hwm, sizeof hwm)
        || zmq_setsockopt(self->sock, ZMQ_RCVHWM, &hwm, sizeof hwm)) {
        ob_fmt(err, errlen, "cannot create local service socket: %s", zmq_strerror(errno));
        goto fail;
    }
    if (zmq_bind(self->sock, self->endpoint) != 0) {
        ob_fmt(err, errlen, "cannot bind local service '%s': %s", self->endpoint,
               zmq_strerror(errno));
        goto fail;
    }
    chmod(self->path, 0600);
    return self;
fail:
    ob_local_destroy(&self);
    return NULL;
}

void ob_local_destroy(ob_local_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_local_t *self = *self_p;
    if (self->sock) {
        zmq_close(self->sock);
        unlink(self->path);
    }
    free(self);
    *self_p = NULL;
}

void *ob_local_socket(ob_local_t *self)
{
    return self->sock;
}

const char *ob_local_endpoint(ob_local_t *self)
{
    return self->endpoint;
}

void ob_local_req_clear(ob_local_req_t *req)
{
    ob_inmsg_clear(&req->in);
    if (req->env)
        ob_wire_free(req->env);
    req->env = NULL;
    free(req->answer);
    req->answer = NULL;
    req->answer_len = 0;
}

int ob_local_recv(ob_local_t *self, ob_local_req_t *req)
{
    memset(req, 0, sizeof *req);
    if (ob_wire_recv(self->sock, true, &req->in) != 0)
        return -1;
    if (req->in.truncated) {
        bool large = req->in.size > OB_MAX_FRAME;
        req->decode_code = large ? ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE
                                 : ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
        ob_fmt(req->decode_err, sizeof req->decode_err, "%s",
               large ? "request over 1 MiB" : "request must be one frame holding an envelope");
    } else {
        req->env = ob_wire_decode(req->in.data, req->in.size, &req->decode_code,
                                  req->decode_err, sizeof req->decode_err);
    }
    if (!req->env)
        ob_debug("local request refused: %s", req->decode_err);
    return 0;
}

/* Packs an Answer for req (ref_msg_id = the request's msg id). */
static void s_set_answer(ob_local_req_t *req, Orderbus__V1__Answer *answer)
{
    free(req->answer);
    req->answer = NULL;
    req->answer_len = 0;
    if (req->env && req->env->msg_id.len) {
        answer->ref_msg_id.data = req->env->msg_id.data;
        answer->ref_msg_id.len = req->env->msg_id.len;
    }
    ob_msg_t m;
    ob_msg_init(&m, "node");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ANSWER;
    m.env.answer = answer;
    if (ob_wire_pack(&m.env, &req->answer, &req->answer_len) != 0) {
        req->answer = NULL;
        req->answer_len = 0;
    }
}

void ob_local_fail(ob_local_req_t *req, ob_errcode_t code, const char *message)
{
    Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;
    answer.code = code;
    answer.message = (char *) message;
    s_set_answer(req, &answer);
}

void ob_local_send(ob_local_t *self, ob_local_req_t *req)
{
    if (!req->answer) {   /* could not pack (out of memory): say so, smaller */
        const uint8_t *ref = req->env ? req->env->msg_id.data : NULL;
        size_t ref_len = req->env ? req->env->msg_id.len : 0;
        ob_wire_send_error_answer(self->sock, req->in.rid, req->in.rid_len, ref, ref_len,
                                  ORDERBUS__V1__ERROR_CODE__ERR_INTERNAL, "out of memory");
        return;
    }
    if (ob_wire_send_raw(self->sock, req->in.rid, req->in.rid_len, req->answer,
                         req->answer_len) != 0)
        ob_debug("local answer dropped: %s", zmq_strerror(errno));
}

/* --- inbox --------------------------------------------------------------- */

static int s_by_received(const void *a, const void *b)
{
    const ob_nodeorder_t *x = *(ob_nodeorder_t *const *) a;
    const ob_nodeorder_t *y = *(ob_nodeorder_t *const *) b;
    return (x->received_at_ms > y->received_at_ms) - (x->received_at_ms < y->received_at_ms);
}

/* InboxRequest: orders in `state` (UNSPECIFIED: every open order), oldest
   first, at most `limit` and at most what fits in one frame. */
static int s_handle_inbox(ob_node_t *node, MDB_txn *txn, ob_local_req_t *req)
{
    const Orderbus__V1__InboxRequest *r = req->env->inbox;
    size_t limit = r->limit ? r->limit : S_INBOX_DEFAULT;
    if (limit > S_INBOX_MAX)
        limit = S_INBOX_MAX;
    ob_store_t *store = ob_node_store(node);
    MDB_cursor *cur = NULL;
    ob_nodeorder_t **list = NULL;
    size_t n = 0, cap = 0;
    int rc = mdb_cursor_open(txn, ob_store_dbi(store, OB_NDB_INBOX), &cur);
    if (rc)
        goto out;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ob_nodeorder_t *o = orderbus__v1__node_order__unpack(NULL, v.mv_size, v.mv_data);
        if (!o) {
            char hex[OB_ID_HEX] = "?";
            if (k.mv_size == OB_ID_BYTES)
                ob_hex(hex, k.mv_data, OB_ID_BYTES);
            ob_warn("inbox entry %s does not unpack: skipped", hex);
            continue;
        }
        bool match = r->state == ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED
                         ? ob_state_is_open(o->state)
                         : o->state == r->state;
        if (!match) {
            orderbus__v1__node_order__free_unpacked(o, NULL);
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            ob_nodeorder_t **grown = realloc(list, ncap * sizeof *list);
            if (!grown) {
                orderbus__v1__node_order__free_unpacked(o, NULL);
                rc = ENOMEM;
                goto out;
            }
            list = grown;
            cap = ncap;
        }
        list[n++] = o;
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    rc = 0;
    if (n > 1)
        qsort(list, n, sizeof *list, s_by_received);
    size_t take = 0, bytes = 0;
    while (take < n && take < limit) {
        bytes += orderbus__v1__node_order__get_packed_size(list[take]) + 8;
        if (bytes > S_ANSWER_BUDGET)
            break;
        take++;
    }
    char msg[160] = "";
    if (take < n && take < limit)
        ob_fmt(msg, sizeof msg, "showing %zu of %zu orders (answer size limit): "
                                "narrow with a state or a limit", take, n);
    Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;
    answer.code = ORDERBUS__V1__ERROR_CODE__OK;
    answer.message = msg;
    answer.n_inbox = take;
    answer.inbox = list;
    s_set_answer(req, &answer);
out:
    if (cur)
        mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++)
        orderbus__v1__node_order__free_unpacked(list[i], NULL);
    free(list);
    if (rc == ENOMEM) {
        ob_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_INTERNAL, "out of memory");
        rc = 0;
    }
    return rc;
}

/* --- actions ------------------------------------------------------------- */

/* Fills `a` from an action request body. Returns 0, or -1 with a message
   naming the missing field. */
static int s_action_from(const ob_envelope_t *env, ob_action_t *a, char *err, size_t errlen)
{
    ProtobufCBinaryData id = {0, NULL};
    memset(a, 0, sizeof *a);
    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_SIGN:
        a->event = ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN;
        id = env->sign->order_id;
        a->attempt = env->sign->attempt;
        a->clerk = env->sign->clerk;
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_PROGRESS:
        a->event = ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS;
        id = env->progress->order_id;
        a->attempt = env->progress->attempt;
        a->note = env->progress->note;
        a->clerk = env->progress->clerk;
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_RETURN_REQUEST:
        a->event = ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_REQUEST;
        id = env->return_request->order_id;
        a->attempt = env->return_request->attempt;
        a->note = env->return_request->reason;
        a->clerk = env->return_request->clerk;
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_REPLY:
        a->event = ORDERBUS__V1__ORDER_EVENT__EVENT_REPLY;
        id = env->reply->order_id;
        a->attempt = env->reply->attempt;
        a->note = env->reply->note;
        a->clerk = env->reply->clerk;
        a->result = env->reply->result;
        break;
    default:
        ob_fmt(err, errlen, "not an action");
        return -1;
    }
    if (id.len != OB_ID_BYTES) {
        ob_fmt(err, errlen, "field 'order_id' must be %d bytes", OB_ID_BYTES);
        return -1;
    }
    memcpy(a->order_id, id.data, OB_ID_BYTES);
    return 0;
}

/* Sign / Progress / ReturnRequest / Reply from the clerk. */
static int s_handle_action(ob_node_t *node, MDB_txn *txn, ob_local_req_t *req)
{
    ob_store_t *store = ob_node_store(node);
    char err[256] = "";
    ob_action_t a;
    if (s_action_from(req->env, &a, err, sizeof err) != 0) {
        ob_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, err);
        return 0;
    }
    ob_nodeorder_t *order = NULL;
    ob_errcode_t code = ORDERBUS__V1__ERROR_CODE__OK;
    Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;

    /* the same request again (client retry after a time-out): answer with
       the order as it is, apply nothing */
    MDB_val sk = {OB_ID_BYTES, req->env->msg_id.data}, sv;
    int rc = mdb_get(txn, ob_store_dbi(store, OB_NDB_SEEN), &sk, &sv);
    if (rc == 0) {
        ProtobufCMessage *m = NULL;
        rc = ob_store_get_pb(txn, ob_store_dbi(store, OB_NDB_INBOX), a.order_id, OB_ID_BYTES,
                             &orderbus__v1__node_order__descriptor, &m);
        if (rc && rc != MDB_NOTFOUND && rc != EBADMSG)
            return rc;
        rc = 0;
        order = (ob_nodeorder_t *) m;
        answer.message = (char *) "already applied";
        goto answer;
    }
    if (rc != MDB_NOTFOUND)
        return rc;

    rc = ob_node_apply_action(node, txn, &a, &code, err, sizeof err, &order);
    if (rc)
        return rc;
    if (code != ORDERBUS__V1__ERROR_CODE__OK) {
        ob_local_fail(req, code, err);
        return 0;
    }
    uint8_t when[8];
    ob_be64_put(when, (uint64_t) ob_now_ms());
    sv.mv_size = 8;
    sv.mv_data = when;
    rc = mdb_put(txn, ob_store_dbi(store, OB_NDB_SEEN), &sk, &sv, 0);
    if (rc) {
        orderbus__v1__node_order__free_unpacked(order, NULL);
        return rc;
    }
answer:
    answer.code = ORDERBUS__V1__ERROR_CODE__OK;
    if (order) {
        answer.n_inbox = 1;
        answer.inbox = &order;
    }
    s_set_answer(req, &answer);
    if (order)
        orderbus__v1__node_order__free_unpacked(order, NULL);
    return 0;
}

int ob_local_handle(ob_local_t *self, ob_node_t *node, MDB_txn *txn, ob_local_req_t *req)
{
    if (!req->env) {
        ob_local_fail(req, req->decode_code, req->decode_err);
        return 0;
    }
    ob_debug("local %s request", ob_wire_body_name((int) req->env->body_case));
    switch (req->env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_INBOX:
        return s_handle_inbox(node, txn, req);
    case ORDERBUS__V1__ENVELOPE__BODY_SIGN:
    case ORDERBUS__V1__ENVELOPE__BODY_PROGRESS:
    case ORDERBUS__V1__ENVELOPE__BODY_RETURN_REQUEST:
    case ORDERBUS__V1__ENVELOPE__BODY_REPLY:
        return s_handle_action(node, txn, req);
    case ORDERBUS__V1__ENVELOPE__BODY_STATUS: {
        Orderbus__V1__LocalStatus st = ORDERBUS__V1__LOCAL_STATUS__INIT;
        int rc = ob_node_local_status(node, txn, &st);
        if (rc)
            return rc;
        Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;
        answer.code = ORDERBUS__V1__ERROR_CODE__OK;
        answer.local = &st;
        s_set_answer(req, &answer);
        return 0;
    }
    default: {
        char msg[128];
        ob_fmt(msg, sizeof msg, "request '%s' is not served by a department node",
               ob_wire_body_name((int) req->env->body_case));
        ob_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, msg);
        return 0;
    }
    }
}
