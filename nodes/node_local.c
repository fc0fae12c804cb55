/*  node_local.c — the node's local request/answer service (ipc) for the
    department's clerk CLI: inbox look-up (one order by id or case number)
    and listing (pages ascending by id), the four department actions, and
    the node's own status. Actions go through node_inbox_apply_act, the
    same path the demo agent takes; a request resent with the same msg_id (the
    client retries after a time-out) is answered from the `seen` database
    instead of being applied twice.                                         */
#include "node_local.h"
#include "ob_fsm.h"
#include "node_inbox.h"
#include "ob_log.h"
#include "ob_util.h"
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#define S_INBOX_DEFAULT 1000            /* InboxRequest.limit 0 */
#define S_INBOX_MAX 100000
#define S_ANSWER_BUDGET (900 * 1024)    /* stay under OB_MAX_FRAME */

struct node_local {
    void *sock;                         /* ROUTER bound at endpoint */
    char endpoint[sizeof(((struct sockaddr_un *) 0)->sun_path) + 8];
    char path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
};

node_local_t *node_local_new(void *zmq_ctx, const char *dir, char *err, size_t errlen)
{
    node_local_t *self = calloc(1, sizeof *self);
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
    node_local_destroy(&self);
    return NULL;
}

void node_local_destroy(node_local_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_local_t *self = *self_p;
    if (self->sock) {
        zmq_close(self->sock);
        unlink(self->path);
    }
    free(self);
    *self_p = NULL;
}

void *node_local_socket(node_local_t *self)
{
    return self->sock;
}

const char *node_local_endpoint(node_local_t *self)
{
    return self->endpoint;
}

void node_local_req_clear(node_local_req_t *req)
{
    ob_inmsg_clear(&req->in);
    if (req->env)
        ob_wire_free(req->env);
    req->env = NULL;
    free(req->answer);
    req->answer = NULL;
    req->answer_len = 0;
}

int node_local_recv(node_local_t *self, node_local_req_t *req)
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
static void s_set_answer(node_local_req_t *req, Orderbus__V1__Answer *answer)
{
    free(req->answer);
    req->answer = NULL;
    req->answer_len = 0;
    if (req->env && req->env->msg_id.len) {
        answer->ref_msg_id.data = req->env->msg_id.data;
        answer->ref_msg_id.len = req->env->msg_id.len;
    } else if (req->in.msg_id_len) {   /* refused, but its msg id could be read */
        answer->ref_msg_id.data = req->in.msg_id;
        answer->ref_msg_id.len = req->in.msg_id_len;
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

void node_local_fail(node_local_req_t *req, ob_errcode_t code, const char *message)
{
    Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;
    answer.code = code;
    answer.message = (char *) message;
    s_set_answer(req, &answer);
}

void node_local_send(node_local_t *self, node_local_req_t *req)
{
    if (!req->answer) {   /* could not pack (out of memory): say so, smaller */
        ob_wire_send_error_answer(self->sock, req->in.rid, req->in.rid_len, req->in.msg_id,
                                  req->in.msg_id_len,
                                  ORDERBUS__V1__ERROR_CODE__ERR_INTERNAL, "out of memory");
        return;
    }
    if (ob_wire_send_raw(self->sock, req->in.rid, req->in.rid_len, req->answer,
                         req->answer_len) != 0)
        ob_debug("local answer dropped: %s", zmq_strerror(errno));
}

/* --- inbox --------------------------------------------------------------- */
/* Answers OK with exactly one order. */
static void s_answer_one(node_local_req_t *req, ob_nodeorder_t *o)
{
    Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;
    answer.code = ORDERBUS__V1__ERROR_CODE__OK;
    answer.n_inbox = 1;
    answer.inbox = &o;
    s_set_answer(req, &answer);
}

/* True when the order is a better match for a case number than `best`:
   an open order before a closed or recalled one, then the one received
   last (a case number is unique at its site; this only decides between
   two sites' orders that happen to share one). */
static bool s_better_case_match(const ob_nodeorder_t *o, const ob_nodeorder_t *best)
{
    if (!best)
        return true;
    bool open = ob_state_is_open(o->state), best_open = ob_state_is_open(best->state);
    if (open != best_open)
        return open;
    return o->received_at_ms > best->received_at_ms;
}

/* A case-number search: the best match so far. */
typedef struct {
    const char *case_no;
    size_t case_len;
    ob_nodeorder_t *best;
} s_case_search_t;

static int s_visit_case(void *arg, const uint8_t id[OB_ID_BYTES], const void *packed, size_t len)
{
    s_case_search_t *cs = arg;
    /* the case number travels as plain bytes in the packed value */
    if (!memmem(packed, len, cs->case_no, cs->case_len))
        return 0;
    ob_nodeorder_t *o = node_inbox_unpack(id, packed, len);
    if (!o)
        return 0;
    if (o->order && o->order->case_no && strcmp(o->order->case_no, cs->case_no) == 0
        && s_better_case_match(o, cs->best)) {
        if (cs->best)
            orderbus__v1__node_order__free_unpacked(cs->best, NULL);
        cs->best = o;
    } else
        orderbus__v1__node_order__free_unpacked(o, NULL);
    return 0;
}

/* InboxRequest{ref.id}: exactly that order, whatever its state. */
static int s_handle_inbox_id(node_inbox_t *inbox, MDB_txn *txn, node_local_req_t *req)
{
    const Orderbus__V1__OrderRef *ref = req->env->inbox->ref;
    char hex[OB_ID_HEX], msg[160];
    if (ref->id.len != OB_ID_BYTES) {
        ob_fmt(msg, sizeof msg, "field 'ref.id' must be %d bytes", OB_ID_BYTES);
        node_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, msg);
        return 0;
    }
    ob_nodeorder_t *o = NULL;
    int rc = node_inbox_get(inbox, txn, ref->id.data, &o);
    if (rc == MDB_NOTFOUND) {
        ob_fmt(msg, sizeof msg, "order '%s' is not in this department's inbox",
               ob_hex(hex, ref->id.data, OB_ID_BYTES));
        node_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND, msg);
        return 0;
    }
    if (rc)
        return rc;
    s_answer_one(req, o);
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return 0;
}

/* InboxRequest{ref}: exactly the order named by id or case number,
   whatever its state; ERR_NOT_FOUND when the node does not hold it. A
   case number is found by scanning the inbox; only values whose bytes
   hold the case number are unpacked. */
static int s_handle_inbox_ref(node_inbox_t *inbox, MDB_txn *txn, node_local_req_t *req)
{
    const Orderbus__V1__OrderRef *ref = req->env->inbox->ref;
    if (ref->id.len > 0)
        return s_handle_inbox_id(inbox, txn, req);
    s_case_search_t cs = {.case_no = ref->case_no ? ref->case_no : ""};
    cs.case_len = strlen(cs.case_no);
    if (cs.case_len == 0 || cs.case_len >= OB_CASE_NO_MAX) {
        node_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                        cs.case_len ? "field 'ref.case_no' is too long"
                                    : "field 'ref' needs 'id' (16 bytes) or 'case_no'");
        return 0;
    }
    int rc = node_inbox_scan(inbox, txn, NULL, s_visit_case, &cs);
    if (rc == 0 && cs.best)
        s_answer_one(req, cs.best);
    else if (rc == 0) {
        char msg[160];
        ob_fmt(msg, sizeof msg, "no order with case number '%s' in this department's inbox",
               cs.case_no);
        node_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND, msg);
    }
    if (cs.best)
        orderbus__v1__node_order__free_unpacked(cs.best, NULL);
    return rc;
}

/* A page of the inbox being gathered. */
typedef struct {
    const Orderbus__V1__InboxRequest *r;
    size_t limit;
    ob_nodeorder_t **list;
    size_t n, cap, bytes;
    bool cut;          /* the size budget ended the page before the limit */
} s_page_t;

static int s_visit_page(void *arg, const uint8_t id[OB_ID_BYTES], const void *packed, size_t len)
{
    s_page_t *pg = arg;
    ob_nodeorder_t *o = node_inbox_unpack(id, packed, len);
    if (!o)
        return 0;
    bool match = pg->r->state != ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED
                     ? o->state == pg->r->state
                     : pg->r->all || ob_state_is_open(o->state);
    size_t size = match ? orderbus__v1__node_order__get_packed_size(o) + 8 : 0;
    if (match && pg->n < pg->limit && pg->bytes + size > S_ANSWER_BUDGET && pg->n > 0)
        pg->cut = true;
    if (!match || pg->n == pg->limit || pg->cut) {
        orderbus__v1__node_order__free_unpacked(o, NULL);
        return match ? 1 : 0;   /* a full page: the client asks again after the last id */
    }
    if (pg->n == pg->cap) {
        size_t ncap = pg->cap ? 2 * pg->cap : 64;
        ob_nodeorder_t **grown = realloc(pg->list, ncap * sizeof *grown);
        if (!grown) {
            orderbus__v1__node_order__free_unpacked(o, NULL);
            return ENOMEM;
        }
        pg->list = grown;
        pg->cap = ncap;
    }
    pg->bytes += size;
    pg->list[pg->n++] = o;
    return 0;
}

/* InboxRequest without ref: the orders in `state` (UNSPECIFIED: the open
   ones, or every order with `all`), ascending by id, starting after
   `after_id` when given; at most `limit` and at most what fits in one
   frame. When the frame size cuts the list, the answer's message says how
   many of how many it shows (the client pages on with after_id = the last
   id it got). */
static int s_handle_inbox_list(node_inbox_t *inbox, MDB_txn *txn, node_local_req_t *req)
{
    s_page_t pg = {.r = req->env->inbox};
    pg.limit = pg.r->limit ? pg.r->limit : S_INBOX_DEFAULT;
    if (pg.limit > S_INBOX_MAX)
        pg.limit = S_INBOX_MAX;
    if (pg.r->after_id.len != 0 && pg.r->after_id.len != OB_ID_BYTES) {
        char msg[80];
        ob_fmt(msg, sizeof msg, "field 'after_id' must be %d bytes", OB_ID_BYTES);
        node_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, msg);
        return 0;
    }
    int rc = node_inbox_scan(inbox, txn, pg.r->after_id.len ? pg.r->after_id.data : NULL,
                             s_visit_page, &pg);
    if (rc == 0) {
        char msg[200] = "";
        if (pg.cut)
            ob_fmt(msg, sizeof msg, "showing the first %zu orders (answer size limit): page on "
                                    "with after_id = the last id, or narrow with a state or a "
                                    "limit", pg.n);
        Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;
        answer.code = ORDERBUS__V1__ERROR_CODE__OK;
        answer.message = msg;
        answer.n_inbox = pg.n;
        answer.inbox = pg.list;
        s_set_answer(req, &answer);
    } else if (rc == ENOMEM) {
        node_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_INTERNAL, "out of memory");
        rc = 0;
    }
    for (size_t i = 0; i < pg.n; i++)
        orderbus__v1__node_order__free_unpacked(pg.list[i], NULL);
    free(pg.list);
    return rc;
}

/* --- actions ------------------------------------------------------------- */

/* Sign / Progress / ReturnRequest / Reply from the clerk. */
static int s_handle_action(node_inbox_t *inbox, const node_local_view_t *view, MDB_txn *txn,
                           node_local_req_t *req)
{
    char err[256] = "";
    node_action_t a = {.demo = false};
    if (ob_act_decode(req->env, &a.act, err, sizeof err) != 0) {
        node_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, err);
        return 0;
    }
    ob_nodeorder_t *order = NULL;
    ob_errcode_t code = ORDERBUS__V1__ERROR_CODE__OK;
    Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;

    /* the same request again (client retry after a time-out): answer with
       the order as it is, apply nothing */
    bool seen = false;
    int rc = node_inbox_seen_get(inbox, txn, req->env->msg_id.data, &seen);
    if (rc)
        return rc;
    if (seen) {
        rc = node_inbox_get(inbox, txn, a.act.order_id, &order);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        answer.message = (char *) "already applied";
    } else {
        rc = node_inbox_apply_act(inbox, txn, &a, view->dept[0] ? view->dept : "node", &code,
                                  err, sizeof err, &order);
        if (rc)
            return rc;
        if (code != ORDERBUS__V1__ERROR_CODE__OK) {
            node_local_fail(req, code, err);
            return 0;
        }
        rc = node_inbox_seen_put(inbox, txn, req->env->msg_id.data);
        if (rc) {
            orderbus__v1__node_order__free_unpacked(order, NULL);
            return rc;
        }
    }
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

/* StatusRequest: the link's view and the open orders. */
static int s_handle_status(node_inbox_t *inbox, const node_local_view_t *view, MDB_txn *txn,
                           node_local_req_t *req)
{
    Orderbus__V1__LocalStatus st = ORDERBUS__V1__LOCAL_STATUS__INIT;
    st.dept = (char *) view->dept;
    st.broker_up = view->broker_up;
    st.last_broker_ms = view->last_broker_ms;
    st.outbox_depth = view->outbox_depth;
    st.last_applied_seq = view->last_applied_seq;
    int rc = node_inbox_count_open(inbox, txn, &st.inbox_orders);
    if (rc)
        return rc;
    Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;
    answer.code = ORDERBUS__V1__ERROR_CODE__OK;
    answer.local = &st;
    s_set_answer(req, &answer);
    return 0;
}

int node_local_handle(node_local_t *self, node_inbox_t *inbox, const node_local_view_t *view,
                      MDB_txn *txn, node_local_req_t *req)
{
    if (!req->env) {
        node_local_fail(req, req->decode_code, req->decode_err);
        return 0;
    }
    ob_debug("local %s request", ob_wire_body_name((int) req->env->body_case));
    switch (req->env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_INBOX:
        if (req->env->inbox->ref)
            return s_handle_inbox_ref(inbox, txn, req);
        return s_handle_inbox_list(inbox, txn, req);
    case ORDERBUS__V1__ENVELOPE__BODY_SIGN:
    case ORDERBUS__V1__ENVELOPE__BODY_PROGRESS:
    case ORDERBUS__V1__ENVELOPE__BODY_RETURN_REQUEST:
    case ORDERBUS__V1__ENVELOPE__BODY_REPLY:
        return s_handle_action(inbox, view, txn, req);
    case ORDERBUS__V1__ENVELOPE__BODY_STATUS:
        return s_handle_status(inbox, view, txn, req);
    default: {
        char msg[128];
        ob_fmt(msg, sizeof msg, "request '%s' is not served by a department node",
               ob_wire_body_name((int) req->env->body_case));
        node_local_fail(req, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, msg);
        return 0;
    }
    }
}
