/*  node_inbox.c — the department node's store and the one place that moves
    the node's copy of an order: the centre's Dispatch, Recall and Decision,
    and the department's acts, each through ob_fsm_apply_node.

    A refusal is a value (node_refusal_t, or *code for an act), never an
    early send: the loop answers it after the commit. A store failure is an
    LMDB code passed up: the loop aborts the batch and nothing is lost.    */
#include "node_inbox.h"
#include "ob_fsm.h"
#include "ob_log.h"
#include "ob_names.h"
#include "ob_util.h"
#include "ob_wire.h"

struct node_inbox {
    ob_store_t *store;
    uint64_t out_seq;                   /* "out_seq", committed */
    uint64_t p_out_seq;                 /* inside the open batch */
    node_touched_t touched[NODE_TOUCHED_MAX];   /* orders the batch changed */
    size_t n_touched;
    uint8_t instance[OB_ID_BYTES];      /* meta "instance" */
};

/* Reads meta "instance", making it the first time. Returns 0 or an LMDB code. */
static int s_instance(node_inbox_t *self)
{
    MDB_txn *txn;
    int rc = ob_store_begin(self->store, true, &txn);
    if (rc)
        return rc;
    MDB_val k = {8, (void *) "instance"}, v;
    rc = mdb_get(txn, ob_store_dbi(self->store, OB_NDB_META), &k, &v);
    if (rc == 0 && v.mv_size == OB_ID_BYTES) {
        memcpy(self->instance, v.mv_data, OB_ID_BYTES);
        mdb_txn_abort(txn);
        return 0;
    }
    ob_id_new(self->instance);
    v.mv_size = OB_ID_BYTES;
    v.mv_data = self->instance;
    rc = mdb_put(txn, ob_store_dbi(self->store, OB_NDB_META), &k, &v, 0);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return ob_store_commit(txn);
}

const uint8_t *node_inbox_instance(node_inbox_t *self)
{
    return self->instance;
}

node_inbox_t *node_inbox_open(const char *dir, size_t map_mb, char *err, size_t errlen)
{
    node_inbox_t *self = calloc(1, sizeof *self);
    MDB_txn *txn = NULL;
    if (!self) {
        ob_fmt(err, errlen, "out of memory");
        return NULL;
    }
    self->store = ob_store_open(dir, OB_STORE_NODE, map_mb, err, errlen);
    if (!self->store)
        goto fail;
    int rc = ob_store_begin(self->store, false, &txn);
    if (rc == 0)
        rc = ob_store_meta_get_u64(self->store, txn, "out_seq", &self->out_seq);
    if (txn)
        mdb_txn_abort(txn);
    if (rc) {
        ob_fmt(err, errlen, "cannot read store '%s': %s", dir, ob_store_strerror(rc));
        goto fail;
    }
    self->p_out_seq = self->out_seq;
    rc = s_instance(self);
    if (rc) {
        ob_fmt(err, errlen, "cannot read or make the store's instance id in '%s': %s", dir,
               ob_store_strerror(rc));
        goto fail;
    }
    return self;
fail:
    node_inbox_destroy(&self);
    return NULL;
}

void node_inbox_destroy(node_inbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_store_destroy(&(*self_p)->store);
    free(*self_p);
    *self_p = NULL;
}

ob_store_t *node_inbox_store(node_inbox_t *self)
{
    return self->store;
}

/* --- the batch ----------------------------------------------------------- */

void node_inbox_batch_begin(node_inbox_t *self)
{
    self->p_out_seq = self->out_seq;
    self->n_touched = 0;
}

void node_inbox_batch_commit(node_inbox_t *self)
{
    self->out_seq = self->p_out_seq;
}

void node_inbox_batch_abort(node_inbox_t *self)
{
    node_inbox_batch_begin(self);   /* forget everything the batch noted */
}

size_t node_inbox_touched(node_inbox_t *self, const node_touched_t **list)
{
    *list = self->touched;
    return self->n_touched;
}

static void s_touch(node_inbox_t *self, const uint8_t id[OB_ID_BYTES], ob_state_t state,
                    uint32_t attempt, ob_event_t event)
{
    if (self->n_touched >= NODE_TOUCHED_MAX)
        return;
    node_touched_t *t = &self->touched[self->n_touched++];
    memcpy(t->id, id, OB_ID_BYTES);
    t->state_now = state;
    t->attempt = attempt;
    t->event = event;
}

/* --- meta ---------------------------------------------------------------- */

int node_inbox_meta_get(node_inbox_t *self, MDB_txn *txn, const char *key, uint64_t *out)
{
    return ob_store_meta_get_u64(self->store, txn, key, out);
}

int node_inbox_meta_put(node_inbox_t *self, MDB_txn *txn, const char *key, uint64_t v)
{
    return ob_store_meta_put_u64(self->store, txn, key, v);
}

int node_inbox_dept_get(node_inbox_t *self, MDB_txn *txn, char dept[OB_DEPT_MAX + 1])
{
    MDB_val k = {4, (void *) "dept"}, v;
    dept[0] = '\0';
    int rc = mdb_get(txn, ob_store_dbi(self->store, OB_NDB_META), &k, &v);
    if (rc == 0 && v.mv_size <= OB_DEPT_MAX) {
        memcpy(dept, v.mv_data, v.mv_size);
        dept[v.mv_size] = '\0';
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int node_inbox_dept_put(node_inbox_t *self, MDB_txn *txn, const char *dept)
{
    MDB_val k = {4, (void *) "dept"}, v = {strlen(dept), (void *) dept};
    return mdb_put(txn, ob_store_dbi(self->store, OB_NDB_META), &k, &v, 0);
}

/* --- outbox -------------------------------------------------------------- */

uint64_t node_inbox_out_seq(node_inbox_t *self, bool pending)
{
    return pending ? self->p_out_seq : self->out_seq;
}

int node_inbox_outbox_append(node_inbox_t *self, MDB_txn *txn, ob_envelope_t *env,
                             const char *sender)
{
    uint64_t seq = self->p_out_seq + 1;
    env->seq = seq;
    env->sender = (char *) sender;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (ob_wire_pack(env, &buf, &len) != 0)
        return ENOMEM;
    uint8_t key[8];
    ob_be64_put(key, seq);
    MDB_val k = {8, key}, v = {len, buf};
    int rc = ob_store_put_append(txn, ob_store_dbi(self->store, OB_NDB_OUTBOX), &k, &v, 0);
    free(buf);
    if (rc == 0)
        rc = ob_store_meta_put_u64(self->store, txn, "out_seq", seq);
    if (rc == 0)
        self->p_out_seq = seq;
    return rc;
}

int node_inbox_outbox_skip_to(node_inbox_t *self, MDB_txn *txn, uint64_t seq)
{
    int rc = ob_store_meta_put_u64(self->store, txn, "out_seq", seq);
    if (rc == 0)
        self->p_out_seq = seq;
    return rc;
}

int node_inbox_outbox_get(node_inbox_t *self, MDB_txn *txn, uint64_t seq, MDB_val *packed)
{
    uint8_t key[8];
    ob_be64_put(key, seq);
    MDB_val k = {8, key};
    return mdb_get(txn, ob_store_dbi(self->store, OB_NDB_OUTBOX), &k, packed);
}

int node_inbox_outbox_trim(node_inbox_t *self, MDB_txn *txn, uint64_t upto)
{
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, ob_store_dbi(self->store, OB_NDB_OUTBOX), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    /* after mdb_cursor_del the cursor's MDB_NEXT yields the entry that
       followed the deleted one */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || ob_be64_get(k.mv_data) > upto)
            break;
        rc = mdb_cursor_del(cur, 0);
        if (rc)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* --- orders -------------------------------------------------------------- */

int node_inbox_get(node_inbox_t *self, MDB_txn *txn, const uint8_t id[OB_ID_BYTES],
                   ob_nodeorder_t **out)
{
    ProtobufCMessage *m = NULL;
    int rc = ob_store_get_pb(txn, ob_store_dbi(self->store, OB_NDB_INBOX), id, OB_ID_BYTES,
                             &orderbus__v1__node_order__descriptor, &m);
    if (rc == EBADMSG) {
        char hex[OB_ID_HEX];
        ob_warn("inbox entry %s does not unpack: treated as absent", ob_hex(hex, id, OB_ID_BYTES));
        rc = MDB_NOTFOUND;
    }
    *out = rc == 0 ? (ob_nodeorder_t *) m : NULL;
    return rc;
}

static int s_put(node_inbox_t *self, MDB_txn *txn, const uint8_t *id, const ob_nodeorder_t *o)
{
    /* new orders have the newest ids: they append */
    return ob_store_put_pb_append(txn, ob_store_dbi(self->store, OB_NDB_INBOX), id, OB_ID_BYTES,
                                  &o->base);
}

static const char *s_case(const ob_nodeorder_t *o)
{
    return o && o->order && o->order->case_no && o->order->case_no[0] ? o->order->case_no : "-";
}

static int s_refuse(node_refusal_t *refusal, ob_errcode_t code, const char *message)
{
    refusal->code = code;
    ob_fmt(refusal->message, sizeof refusal->message, "%s", message);
    return 0;
}

/* Copies what the department keeps from the attempt it held into `o`, the
   order a Dispatch brings. */
static void s_keep_from_old(ob_nodeorder_t *o, const ob_nodeorder_t *old, uint32_t attempt,
                            ob_state_t state)
{
    if (!old)
        return;
    o->rework_count = old->rework_count;
    if (old->attempt == attempt) {   /* same assignment: keep what happened */
        o->signed_at_ms = old->signed_at_ms;
        o->replied_at_ms = old->replied_at_ms;
        o->reply_result = old->reply_result;
    }
    if (state == ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS)
        o->rework_count++;
}

/* meta "last_case_no": the highest case number sent here (they sort as
   text: YYYYMMDD-NNNNNN). */
static int s_note_case(node_inbox_t *self, MDB_txn *txn, const char *case_no)
{
    char last[OB_CASE_NO_MAX];
    size_t n = case_no ? strlen(case_no) : 0;
    if (n == 0 || n >= OB_CASE_NO_MAX)
        return 0;
    int rc = node_inbox_last_case(self, txn, last);
    if (rc || strcmp(case_no, last) <= 0)
        return rc;
    MDB_val k = {12, (void *) "last_case_no"}, v = {n, (void *) case_no};
    return mdb_put(txn, ob_store_dbi(self->store, OB_NDB_META), &k, &v, 0);
}

int node_inbox_last_case(node_inbox_t *self, MDB_txn *txn, char *out)
{
    MDB_val k = {12, (void *) "last_case_no"}, v;
    out[0] = '\0';
    int rc = mdb_get(txn, ob_store_dbi(self->store, OB_NDB_META), &k, &v);
    if (rc == 0 && v.mv_size < OB_CASE_NO_MAX) {
        memcpy(out, v.mv_data, v.mv_size);
        out[v.mv_size] = '\0';
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Dispatch: the department holds the order under a (new) attempt. */
static int s_apply_dispatch(node_inbox_t *self, MDB_txn *txn, const Orderbus__V1__Dispatch *d,
                            node_refusal_t *refusal)
{
    if (!d->order || d->order->id.len != OB_ID_BYTES || d->attempt == 0)
        return s_refuse(refusal, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                        "dispatch needs 'order.id' (16 bytes) and 'attempt'");
    const uint8_t *id = d->order->id.data;
    char hex[OB_ID_HEX];
    ob_hex(hex, id, OB_ID_BYTES);
    ob_nodeorder_t *old = NULL;
    int rc = node_inbox_get(self, txn, id, &old);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    rc = 0;
    if (old && old->attempt > d->attempt) {
        ob_info("order %s %s: dispatch for attempt %u ignored (holding attempt %u)", hex,
                s_case(old), d->attempt, old->attempt);
        goto out;
    }
    ob_state_t state = d->state ? d->state : ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED;
    ob_nodeorder_t o = ORDERBUS__V1__NODE_ORDER__INIT;
    o.order = d->order;
    ob_fsm_ctx_t centre = {.role = ORDERBUS__V1__ROLE__ROLE_SYSTEM, .who = "centre", .to = state};
    if (ob_fsm_apply_node(&o, ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE, &centre, &refusal->code,
                          refusal->message, sizeof refusal->message) != 0)
        goto out;
    o.attempt = d->attempt;
    o.received_at_ms = ob_now_ms();
    o.dispatched_at_ms = d->dispatched_at_ms;
    o.sign_deadline_ms = d->sign_deadline_ms;
    o.reply_deadline_ms = d->reply_deadline_ms;
    o.last_note = d->note ? d->note : (char *) "";
    s_keep_from_old(&o, old, d->attempt, state);
    rc = s_put(self, txn, id, &o);
    if (rc == 0)
        rc = s_note_case(self, txn, d->order->case_no);
    if (rc == 0) {
        s_touch(self, id, state, d->attempt, ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE);
        ob_info("order %s %s: dispatched, attempt %u, %s", hex,
                d->order->case_no && d->order->case_no[0] ? d->order->case_no : "-", d->attempt,
                ob_state_name(state));
    }
out:
    if (old)
        orderbus__v1__node_order__free_unpacked(old, NULL);
    return rc;
}

/* Recall: the order left the department; its attempt is stale. */
static int s_apply_recall(node_inbox_t *self, MDB_txn *txn, const Orderbus__V1__Recall *r,
                          node_refusal_t *refusal)
{
    if (r->order_id.len != OB_ID_BYTES)
        return s_refuse(refusal, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                        "recall needs 'order_id' (16 bytes)");
    char hex[OB_ID_HEX];
    ob_hex(hex, r->order_id.data, OB_ID_BYTES);
    ob_nodeorder_t *o = NULL;
    int rc = node_inbox_get(self, txn, r->order_id.data, &o);
    if (rc == MDB_NOTFOUND) {
        ob_info("order %s: recall for an order this node never held (nothing to do)", hex);
        return 0;
    }
    if (rc)
        return rc;
    if (r->attempt < o->attempt) {
        ob_info("order %s %s: recall of attempt %u ignored (holding attempt %u)", hex, s_case(o),
                r->attempt, o->attempt);
    } else {
        ob_state_t from = o->state;
        ob_fsm_ctx_t centre = {.role = ORDERBUS__V1__ROLE__ROLE_SYSTEM, .who = "centre"};
        char err[160];
        rc = ob_fsm_apply_node(o, ORDERBUS__V1__ORDER_EVENT__EVENT_RECALL, &centre, NULL, err,
                               sizeof err);
        o->attempt = r->attempt;
        if (rc == 0)
            rc = s_put(self, txn, r->order_id.data, o);
        if (rc == 0) {
            s_touch(self, r->order_id.data, o->state, o->attempt,
                    ORDERBUS__V1__ORDER_EVENT__EVENT_RECALL);
            ob_info("order %s %s: recalled by the centre (attempt %u, was %s)", hex, s_case(o),
                    r->attempt, ob_state_name(from));
        }
    }
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return rc;
}

/* Decision: the centre decided on the department's order. */
static int s_apply_decision(node_inbox_t *self, MDB_txn *txn, const Orderbus__V1__Decision *dc,
                            node_refusal_t *refusal)
{
    if (dc->order_id.len != OB_ID_BYTES || dc->state == 0)
        return s_refuse(refusal, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                        "decision needs 'order_id' (16 bytes) and 'state'");
    char hex[OB_ID_HEX];
    ob_hex(hex, dc->order_id.data, OB_ID_BYTES);
    ob_nodeorder_t *o = NULL;
    int rc = node_inbox_get(self, txn, dc->order_id.data, &o);
    if (rc == MDB_NOTFOUND) {
        ob_warn("order %s: decision %s for an order this node does not hold", hex,
                ob_event_name(dc->event));
        ob_fmt(refusal->message, sizeof refusal->message,
               "order '%s' is not in this department's inbox", hex);
        refusal->code = ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND;
        return 0;
    }
    if (rc)
        return rc;
    if (dc->attempt && dc->attempt < o->attempt) {
        ob_info("order %s %s: decision %s for attempt %u ignored (holding attempt %u)", hex,
                s_case(o), ob_event_name(dc->event), dc->attempt, o->attempt);
        ob_fmt(refusal->message, sizeof refusal->message,
               "attempt %u is stale: this department holds attempt %u", dc->attempt, o->attempt);
        refusal->code = ORDERBUS__V1__ERROR_CODE__ERR_STALE_ATTEMPT;
        goto out;
    }
    ob_state_t from = o->state;
    ob_fsm_ctx_t centre = {.role = ORDERBUS__V1__ROLE__ROLE_SYSTEM, .who = "centre",
                           .to = dc->state};
    if (ob_fsm_apply_node(o, ORDERBUS__V1__ORDER_EVENT__EVENT_SYNC, &centre, &refusal->code,
                          refusal->message, sizeof refusal->message) != 0)
        goto out;
    if (dc->attempt > o->attempt)
        o->attempt = dc->attempt;
    char *own_note = o->last_note;   /* unpacked, freed with o */
    o->last_note = dc->note ? dc->note : (char *) "";   /* borrowed until the put */
    if (dc->event == ORDERBUS__V1__ORDER_EVENT__EVENT_REVIEW_REJECT)
        o->rework_count++;
    rc = s_put(self, txn, dc->order_id.data, o);
    if (rc == 0) {
        s_touch(self, dc->order_id.data, o->state, o->attempt, dc->event);
        ob_info("order %s %s: centre decision %s, %s -> %s", hex, s_case(o),
                ob_event_name(dc->event), ob_state_name(from), ob_state_name(o->state));
    }
    o->last_note = own_note;   /* free what was unpacked, not the borrowed note */
out:
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return rc;
}

int node_inbox_apply_centre(node_inbox_t *self, MDB_txn *txn, const ob_envelope_t *env,
                            node_refusal_t *refusal)
{
    refusal->code = ORDERBUS__V1__ERROR_CODE__OK;
    refusal->message[0] = '\0';
    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_DISPATCH:
        return s_apply_dispatch(self, txn, env->dispatch, refusal);
    case ORDERBUS__V1__ENVELOPE__BODY_RECALL:
        return s_apply_recall(self, txn, env->recall, refusal);
    case ORDERBUS__V1__ENVELOPE__BODY_DECISION:
        return s_apply_decision(self, txn, env->decision, refusal);
    case ORDERBUS__V1__ENVELOPE__BODY_WITHDRAWN:
        /* the message that had this seq was dead-lettered at the centre:
           the seq is consumed, nothing applied (ops see the letter there) */
        ob_warn("broker seq %llu withdrawn by the centre (dead-lettered there): %s",
                (unsigned long long) env->seq,
                env->withdrawn->reason ? env->withdrawn->reason : "");
        return 0;
    default:
        return s_refuse(refusal, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                        "message not handled by this node release");
    }
}

/* Checks an act's fields by the one codec: encodes it and decodes it back.
   Returns 0, or -1 with the refusal in err (ERR_BAD_REQUEST). */
static int s_check_act(const ob_act_t *act, char *err, size_t errlen)
{
    ob_act_body_t body;
    ob_msg_t m;
    ob_msg_init(&m, NULL);
    if (ob_act_encode(act, &body, &m.env) != 0) {
        ob_fmt(err, errlen, "event '%s' is not a department act", ob_event_name(act->event));
        return -1;
    }
    ob_act_t checked;
    return ob_act_decode(&m.env, &checked, err, errlen) != 0 ? -1 : 0;
}

/* Stores the moved order and queues the act for the broker. */
static int s_record_act(node_inbox_t *self, MDB_txn *txn, const node_action_t *action,
                        ob_act_t *act, const ob_nodeorder_t *o, const char *sender)
{
    ob_act_body_t body;
    ob_msg_t m;
    ob_msg_init(&m, NULL);
    act->attempt = o->attempt;
    ob_act_encode(act, &body, &m.env);
    int rc = node_inbox_outbox_append(self, txn, &m.env, sender);
    if (rc == 0)
        rc = s_put(self, txn, act->order_id, o);
    if (rc == 0 && action->demo && act->event == ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_REQUEST) {
        char key[64], hex[OB_ID_HEX];
        ob_fmt(key, sizeof key, "demo_returned.%s", ob_hex(hex, act->order_id, OB_ID_BYTES));
        rc = ob_store_meta_put_u64(self->store, txn, key, 1);
    }
    return rc;
}

int node_inbox_apply_act(node_inbox_t *self, MDB_txn *txn, const node_action_t *action,
                         const char *sender, ob_errcode_t *code, char *err, size_t errlen,
                         ob_nodeorder_t **order_out)
{
    const ob_act_t *a = &action->act;
    char hex[OB_ID_HEX];
    ob_hex(hex, a->order_id, OB_ID_BYTES);
    *order_out = NULL;
    *code = ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
    err[0] = '\0';

    /* the request itself: re-checked here for the demo agent's acts */
    ob_act_t act = *a;
    act.at_ms = ob_now_ms();   /* the act's own time, kept on the wire */
    if (s_check_act(&act, err, errlen) != 0)
        return 0;

    ob_nodeorder_t *o = NULL;
    int rc = node_inbox_get(self, txn, a->order_id, &o);
    if (rc == MDB_NOTFOUND) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND;
        ob_fmt(err, errlen, "order '%s' is not in this department's inbox", hex);
        return 0;
    }
    if (rc)
        return rc;
    if (o->state == ORDERBUS__V1__ORDER_STATE__STATE_RECALLED) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_STALE_ATTEMPT;
        ob_fmt(err, errlen, "order '%s' was recalled by the centre: this department no longer "
                            "holds it (attempt %u is stale)", hex, o->attempt);
        goto refused;
    }
    ob_state_t from = o->state;
    ob_fsm_ctx_t ctx = {.role = ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, .who = act.clerk,
                        .now_ms = act.at_ms, .note = act.note, .attempt = a->attempt,
                        .result = act.result};
    rc = ob_fsm_apply_node(o, a->event, &ctx, code, err, errlen);
    if (rc < 0)
        goto refused;
    if (rc == 0)
        rc = s_record_act(self, txn, action, &act, o, sender);
    if (rc) {
        orderbus__v1__node_order__free_unpacked(o, NULL);
        return rc;
    }
    s_touch(self, a->order_id, o->state, o->attempt, a->event);
    ob_info("order %s %s: %s, %s -> %s, node seq %llu%s", hex, s_case(o), ob_event_name(a->event),
            ob_state_name(from), ob_state_name(o->state), (unsigned long long) self->p_out_seq,
            action->demo ? " (demo auto-handling mode)" : "");
    *code = ORDERBUS__V1__ERROR_CODE__OK;
    *order_out = o;
    return 0;
refused:
    ob_debug("order %s: %s refused: %s", hex, ob_event_name(a->event), ob_errcode_name(*code));
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return 0;
}

/* --- reading ------------------------------------------------------------- */

ob_nodeorder_t *node_inbox_unpack(const uint8_t id[OB_ID_BYTES], const void *packed, size_t len)
{
    ob_nodeorder_t *o = orderbus__v1__node_order__unpack(NULL, len, packed);
    if (!o) {
        char hex[OB_ID_HEX];
        ob_warn("inbox entry %s does not unpack: skipped", ob_hex(hex, id, OB_ID_BYTES));
    }
    return o;
}

int node_inbox_scan(node_inbox_t *self, MDB_txn *txn, const uint8_t *after_id,
                    node_inbox_visit_fn *visit, void *arg)
{
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, ob_store_dbi(self->store, OB_NDB_INBOX), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    if (after_id) {
        k.mv_size = OB_ID_BYTES;
        k.mv_data = (void *) after_id;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == 0 && k.mv_size == OB_ID_BYTES && memcmp(k.mv_data, after_id, OB_ID_BYTES) == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    } else
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != OB_ID_BYTES)
            continue;
        int r = visit(arg, k.mv_data, v.mv_data, v.mv_size);
        if (r) {
            rc = r == 1 ? 0 : r;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_count_open(void *arg, const uint8_t id[OB_ID_BYTES], const void *packed, size_t len)
{
    ob_nodeorder_t *o = orderbus__v1__node_order__unpack(NULL, len, packed);
    if (o && ob_state_is_open(o->state))
        (*(uint64_t *) arg)++;
    if (o)
        orderbus__v1__node_order__free_unpacked(o, NULL);
    return 0;
}

int node_inbox_count_open(node_inbox_t *self, MDB_txn *txn, uint64_t *open)
{
    *open = 0;
    return node_inbox_scan(self, txn, NULL, s_count_open, open);
}

int node_inbox_seen_get(node_inbox_t *self, MDB_txn *txn, const uint8_t msg_id[OB_ID_BYTES],
                        bool *seen)
{
    MDB_val k = {OB_ID_BYTES, (void *) msg_id}, v;
    int rc = mdb_get(txn, ob_store_dbi(self->store, OB_NDB_SEEN), &k, &v);
    *seen = rc == 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int node_inbox_seen_put(node_inbox_t *self, MDB_txn *txn, const uint8_t msg_id[OB_ID_BYTES])
{
    uint8_t when[8];
    ob_be64_put(when, (uint64_t) ob_now_ms());
    MDB_val k = {OB_ID_BYTES, (void *) msg_id}, v = {8, when};
    return ob_store_put_append(txn, ob_store_dbi(self->store, OB_NDB_SEEN), &k, &v, 0);
}

int node_inbox_seen_prune(node_inbox_t *self, int64_t keep_ms, size_t *dropped)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    *dropped = 0;
    int rc = ob_store_begin(self->store, true, &txn);
    if (rc == 0)
        rc = mdb_cursor_open(txn, ob_store_dbi(self->store, OB_NDB_SEEN), &cur);
    if (rc == 0) {
        int64_t cutoff = ob_now_ms() - keep_ms;
        MDB_val k, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (v.mv_size == 8 && (int64_t) ob_be64_get(v.mv_data) >= cutoff)
                continue;
            rc = mdb_cursor_del(cur, 0);
            if (rc)
                break;
            (*dropped)++;
        }
        if (rc == MDB_NOTFOUND)
            rc = 0;
        mdb_cursor_close(cur);
    }
    if (rc == 0 && txn)
        rc = ob_store_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int node_inbox_demo_returned(node_inbox_t *self, MDB_txn *txn, const uint8_t id[OB_ID_BYTES],
                             bool *returned)
{
    char key[64], hex[OB_ID_HEX];
    ob_fmt(key, sizeof key, "demo_returned.%s", ob_hex(hex, id, OB_ID_BYTES));
    uint64_t v = 0;
    int rc = ob_store_meta_get_u64(self->store, txn, key, &v);
    *returned = rc != 0 || v != 0;   /* unreadable: never return twice */
    return 0;
}

/* --- self-test ----------------------------------------------------------- */
#include <ftw.h>
#include <unistd.h>
#include "ob_selftest.h"

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* Applies `env` from the centre in its own committed transaction. */
static void s_test_centre(node_inbox_t *self, const ob_envelope_t *env, ob_errcode_t want)
{
    MDB_txn *txn = NULL;
    node_refusal_t refusal;
    node_inbox_batch_begin(self);
    int rc = ob_store_begin(self->store, true, &txn);
    assert(rc == 0);
    rc = node_inbox_apply_centre(self, txn, env, &refusal);
    assert(rc == 0);
    assert(refusal.code == want);
    rc = ob_store_commit(txn);
    assert(rc == 0);
    node_inbox_batch_commit(self);
}

/* Applies a clerk's act in its own committed transaction; returns the
   code, the order's state after it in *state. */
static ob_errcode_t s_test_act(node_inbox_t *self, const uint8_t *id, ob_event_t event,
                               const char *note, ob_state_t *state)
{
    MDB_txn *txn = NULL;
    node_action_t a = {.act = {.event = event, .note = note, .clerk = "王"}};
    memcpy(a.act.order_id, id, OB_ID_BYTES);
    ob_errcode_t code;
    char err[256];
    ob_nodeorder_t *o = NULL;
    node_inbox_batch_begin(self);
    int rc = ob_store_begin(self->store, true, &txn);
    assert(rc == 0);
    rc = node_inbox_apply_act(self, txn, &a, "housing", &code, err, sizeof err, &o);
    assert(rc == 0);
    assert((code == ORDERBUS__V1__ERROR_CODE__OK) == (o != NULL));
    rc = ob_store_commit(txn);
    assert(rc == 0);
    node_inbox_batch_commit(self);
    if (o) {
        *state = o->state;
        orderbus__v1__node_order__free_unpacked(o, NULL);
    }
    return code;
}

/* The state the store holds for `id`. */
static ob_state_t s_test_state(node_inbox_t *self, const uint8_t *id, uint32_t *attempt)
{
    MDB_txn *txn = NULL;
    ob_nodeorder_t *o = NULL;
    int rc = ob_store_begin(self->store, false, &txn);
    assert(rc == 0);
    rc = node_inbox_get(self, txn, id, &o);
    assert(rc == 0 && o);
    mdb_txn_abort(txn);
    ob_state_t state = o->state;
    if (attempt)
        *attempt = o->attempt;
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return state;
}

void node_inbox_test(bool verbose)
{
    char dir[] = "/tmp/node_inbox_test.XXXXXX", err[256];
    char *made = mkdtemp(dir);
    assert(made);
    int level = ob_log_level();
    ob_log_set_level(verbose ? OB_LOG_DEBUG : OB_LOG_ERROR);
    node_inbox_t *self = node_inbox_open(dir, 1, err, sizeof err);
    assert(self);
    uint8_t id[OB_ID_BYTES];
    ob_id_new(id);

    /* Dispatch: the department holds the order, DISPATCHED, attempt 1 */
    Orderbus__V1__WorkOrder order = ORDERBUS__V1__WORK_ORDER__INIT;
    order.id.data = id;
    order.id.len = OB_ID_BYTES;
    order.case_no = (char *) "20261206-000001";
    order.title = (char *) "路灯不亮";
    Orderbus__V1__Dispatch d = ORDERBUS__V1__DISPATCH__INIT;
    d.order = &order;
    d.attempt = 1;
    ob_msg_t m;
    ob_msg_init(&m, "centre");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DISPATCH;
    m.env.dispatch = &d;
    s_test_centre(self, &m.env, ORDERBUS__V1__ERROR_CODE__OK);
    uint32_t attempt = 0;
    assert(s_test_state(self, id, &attempt) == ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED);
    assert(attempt == 1);
    const node_touched_t *touched = NULL;
    size_t n = node_inbox_touched(self, &touched);
    assert(n == 1 && memcmp(touched[0].id, id, OB_ID_BYTES) == 0);

    /* a dispatch without an attempt is refused, and changes nothing */
    d.attempt = 0;
    s_test_centre(self, &m.env, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST);
    d.attempt = 1;

    /* the clerk signs: IN_PROGRESS, the act waits in the outbox as seq 1 */
    ob_state_t state = 0;
    ob_errcode_t code = s_test_act(self, id, ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN, "", &state);
    assert(code == ORDERBUS__V1__ERROR_CODE__OK);
    assert(state == ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS);
    assert(s_test_state(self, id, NULL) == ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS);
    assert(node_inbox_out_seq(self, false) == 1);
    MDB_txn *txn = NULL;
    MDB_val packed;
    int rc = ob_store_begin(self->store, false, &txn);
    assert(rc == 0);
    rc = node_inbox_outbox_get(self, txn, 1, &packed);
    assert(rc == 0);
    ob_envelope_t *sent = orderbus__v1__envelope__unpack(NULL, packed.mv_size, packed.mv_data);
    assert(sent && sent->body_case == ORDERBUS__V1__ENVELOPE__BODY_SIGN && sent->seq == 1);
    assert(strcmp(sent->sender, "housing") == 0 && sent->sign->attempt == 1);
    orderbus__v1__envelope__free_unpacked(sent, NULL);
    mdb_txn_abort(txn);

    /* signing twice is refused by the lifecycle: nothing queued */
    code = s_test_act(self, id, ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN, "", &state);
    assert(code == ORDERBUS__V1__ERROR_CODE__ERR_ILLEGAL_TRANSITION);
    assert(node_inbox_out_seq(self, false) == 1);
    /* a progress note is required */
    code = s_test_act(self, id, ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS, "", &state);
    assert(code == ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST);

    /* Recall: RECALLED, and the clerk's next act is stale */
    Orderbus__V1__Recall r = ORDERBUS__V1__RECALL__INIT;
    r.order_id.data = id;
    r.order_id.len = OB_ID_BYTES;
    r.attempt = 1;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RECALL;
    m.env.recall = &r;
    s_test_centre(self, &m.env, ORDERBUS__V1__ERROR_CODE__OK);
    assert(s_test_state(self, id, NULL) == ORDERBUS__V1__ORDER_STATE__STATE_RECALLED);
    code = s_test_act(self, id, ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS, "已到现场", &state);
    assert(code == ORDERBUS__V1__ERROR_CODE__ERR_STALE_ATTEMPT);

    /* a Decision for an order the node never held: NOT_FOUND */
    uint8_t other[OB_ID_BYTES];
    ob_id_new(other);
    Orderbus__V1__Decision dc = ORDERBUS__V1__DECISION__INIT;
    dc.order_id.data = other;
    dc.order_id.len = OB_ID_BYTES;
    dc.state = ORDERBUS__V1__ORDER_STATE__STATE_CLOSED;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DECISION;
    m.env.decision = &dc;
    s_test_centre(self, &m.env, ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND);

    /* the broker confirmed seq 1: the outbox is empty; an aborted batch
       leaves the numbering as it was */
    rc = ob_store_begin(self->store, true, &txn);
    assert(rc == 0);
    rc = node_inbox_outbox_trim(self, txn, 1);
    assert(rc == 0);
    rc = node_inbox_outbox_get(self, txn, 1, &packed);
    assert(rc == MDB_NOTFOUND);
    rc = ob_store_commit(txn);
    assert(rc == 0);
    node_inbox_batch_begin(self);
    rc = ob_store_begin(self->store, true, &txn);
    assert(rc == 0);
    rc = node_inbox_outbox_skip_to(self, txn, 9);
    assert(rc == 0 && node_inbox_out_seq(self, true) == 9);
    mdb_txn_abort(txn);
    node_inbox_batch_abort(self);
    assert(node_inbox_out_seq(self, true) == 1 && node_inbox_out_seq(self, false) == 1);

    /* the open count (a recalled order is not open) and the seen ids */
    uint64_t open = 99;
    bool seen = true;
    rc = ob_store_begin(self->store, true, &txn);
    assert(rc == 0);
    rc = node_inbox_count_open(self, txn, &open);
    assert(rc == 0 && open == 0);
    rc = node_inbox_seen_get(self, txn, other, &seen);
    assert(rc == 0 && !seen);
    rc = node_inbox_seen_put(self, txn, other);
    assert(rc == 0);
    rc = node_inbox_seen_get(self, txn, other, &seen);
    assert(rc == 0 && seen);
    rc = ob_store_commit(txn);
    assert(rc == 0);
    size_t dropped = 0;
    rc = node_inbox_seen_prune(self, -1000, &dropped);   /* everything is older */
    assert(rc == 0 && dropped == 1);

    node_inbox_destroy(&self);
    node_inbox_destroy(&self);
    assert(self == NULL);
    ob_log_set_level(level);
    rc = nftw(dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    assert(rc == 0);
}
