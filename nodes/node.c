/*  node.c — the department node daemon: store, broker link, local
    service, demo agent, and the loop that drives them.

    One turn of the loop (DESIGN §5):
      1. poll the broker link, its monitor and the local service, with a
         time-out up to the next timer;
      2. drain what is readable (at most S_BATCH per socket) and the demo
         steps that are due;
      3. apply all of it in ONE write transaction: broker messages (seq
         rules, Dispatch / Recall / Decision), clerk requests, demo steps;
      4. commit (MDB_MAP_FULL: abort, grow the map, run the batch again);
      5. only then send answers, acks, errors and outbox messages;
      6. run the timers (heartbeat, liveness, retransmit; demo steps are due
         work for the next turn).
    A store failure aborts the batch: clerks get ERR_STORE, broker messages
    stay unacknowledged (the broker resends them), nothing is lost.       */
#include "node.h"
#include "node_link.h"
#include "node_demo.h"
#include "node_local.h"
#include "ob_fsm.h"
#include "ob_keys.h"
#include "ob_log.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <zmq.h>

#define S_BATCH 256                 /* messages drained per socket per turn */
#define S_SEEN_KEEP_MS (7LL * 24 * 3600 * 1000)
#define S_PRUNE_EVERY_US (3600ull * 1000000u)
#define S_GROW_TRIES 4

/* An order the batch changed, for the demo agent after the commit. */
typedef struct {
    uint8_t id[OB_ID_BYTES];
    ob_state_t state;
    uint32_t attempt;
    ob_event_t event;
} s_touched_t;

struct node {
    node_config_t cfg;           /* settings (strings borrowed from main) */
    void *ctx;                      /* the one zmq context */
    int lock_fd;                    /* DIR/node.lock, flock'ed while we run */
    ob_store_t *store;
    ob_keypair_t *keys;             /* our keypair (sodium_malloc) */
    ob_keypair_t *broker_key;       /* broker public key */
    node_link_t *link;
    node_local_t *local;
    node_demo_t *demo;                /* NULL unless --demo-auto */

    /* the current batch */
    ob_envelope_t *in_broker[S_BATCH];
    size_t n_broker;
    node_local_req_t in_local[S_BATCH];
    size_t n_local;
    node_action_t in_demo[S_BATCH];
    size_t n_demo;
    s_touched_t touched[3 * S_BATCH];
    size_t n_touched;

    uint64_t prune_us;              /* last prune of the seen database */
};

ob_store_t *node_store(node_t *self)
{
    return self->store;
}

/* Takes an exclusive lock on DIR/node.lock so two nodes never share a store
   and a socket. Returns the fd, or -1 (errno EWOULDBLOCK when held). */
static int s_lock_dir(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    ob_fmt(path, sizeof path, "%s/node.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        ob_fmt(err, errlen, "cannot open lock file '%s': %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ob_fmt(err, errlen, e == EWOULDBLOCK
                                ? "another orderbus-node is running on '%s'"
                                : "cannot lock '%s': %s",
               dir, strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

node_t *node_new(const node_config_t *cfg, int *exit_code, char *err, size_t errlen)
{
    *exit_code = EX_SOFTWARE;
    node_t *self = calloc(1, sizeof *self);
    if (!self) {
        ob_fmt(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = *cfg;
    self->lock_fd = -1;
    if (self->cfg.heartbeat_ms <= 0)
        self->cfg.heartbeat_ms = 1000;

    self->keys = ob_keys_load(cfg->key, true, err, errlen);
    if (!self->keys) {
        *exit_code = EX_CONFIG;
        goto fail;
    }
    self->broker_key = ob_keys_load(cfg->broker_key, false, err, errlen);
    if (!self->broker_key) {
        *exit_code = EX_CONFIG;
        goto fail;
    }
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        ob_fmt(err, errlen, "cannot create data directory '%s': %s", cfg->data_dir,
               strerror(errno));
        *exit_code = EX_CANTCREAT;
        goto fail;
    }
    chmod(cfg->data_dir, 0700);   /* the local service relies on it */
    self->lock_fd = s_lock_dir(cfg->data_dir, err, errlen);
    if (self->lock_fd < 0) {
        *exit_code = errno == EWOULDBLOCK ? EX_TEMPFAIL : EX_CANTCREAT;
        goto fail;
    }
    self->store = ob_store_open(cfg->data_dir, OB_STORE_NODE, cfg->map_mb, err, errlen);
    if (!self->store) {
        *exit_code = EX_CANTCREAT;
        goto fail;
    }
    uint64_t used = 0, mapsize = 0;
    ob_store_usage(self->store, &used, &mapsize);
    ob_info("store opened at '%s' (%llu KiB used of %llu MiB)", cfg->data_dir,
            (unsigned long long) (used / 1024), (unsigned long long) (mapsize >> 20));

    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        ob_fmt(err, errlen, "cannot create zmq context: %s", zmq_strerror(errno));
        goto fail;
    }
    self->local = node_local_new(self->ctx, cfg->data_dir, err, errlen);
    if (!self->local) {
        *exit_code = EX_CANTCREAT;
        goto fail;
    }
    self->link = node_link_new(self->ctx, self->store, cfg->broker, self->broker_key, self->keys,
                             self->cfg.heartbeat_ms, err, errlen);
    if (!self->link) {
        *exit_code = EX_UNAVAILABLE;
        goto fail;
    }
    if (cfg->demo_auto) {
        self->demo = node_demo_new(cfg->demo_seed, cfg->demo_min_ms, cfg->demo_max_ms,
                                 cfg->demo_return_pct);
        if (!self->demo) {
            ob_fmt(err, errlen, "out of memory");
            goto fail;
        }
        ob_info("demo auto-handling mode: on (seed %llu, delay %d..%d ms, return %d%%): "
                "this node signs, progresses and replies by itself",
                (unsigned long long) cfg->demo_seed, cfg->demo_min_ms, cfg->demo_max_ms,
                cfg->demo_return_pct);
        int rc = node_demo_rebuild(self->demo, self->store);
        if (rc) {
            ob_fmt(err, errlen, "cannot read inbox: %s", ob_store_strerror(rc));
            *exit_code = EX_IOERR;
            goto fail;
        }
    }
    const char *dept = node_link_dept(self->link);
    ob_info("started: node of department '%s', broker %s, local service %s",
            dept[0] ? dept : "(not yet welcomed)", cfg->broker, node_local_endpoint(self->local));
    *exit_code = 0;
    return self;
fail:
    node_destroy(&self);
    return NULL;
}

void node_destroy(node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_t *self = *self_p;
    node_demo_destroy(&self->demo);
    node_link_destroy(&self->link);
    node_local_destroy(&self->local);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    ob_store_destroy(&self->store);
    ob_keys_destroy(&self->broker_key);
    ob_keys_destroy(&self->keys);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self);
    *self_p = NULL;
}

/* --- applying ------------------------------------------------------------ */

static void s_touch(node_t *self, const uint8_t id[OB_ID_BYTES], ob_state_t state,
                    uint32_t attempt, ob_event_t event)
{
    if (self->n_touched >= sizeof self->touched / sizeof self->touched[0])
        return;
    s_touched_t *t = &self->touched[self->n_touched++];
    memcpy(t->id, id, OB_ID_BYTES);
    t->state = state;
    t->attempt = attempt;
    t->event = event;
}

/* Reads the inbox entry for id: 0 with *out, MDB_NOTFOUND, or an LMDB code.
   An entry that does not unpack reads as absent (and is replaced). */
static int s_inbox_get(node_t *self, MDB_txn *txn, const uint8_t *id, ob_nodeorder_t **out)
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

static int s_inbox_put(node_t *self, MDB_txn *txn, const uint8_t *id, const ob_nodeorder_t *o)
{
    /* new orders have the newest ids: they append */
    return ob_store_put_pb_append(txn, ob_store_dbi(self->store, OB_NDB_INBOX), id, OB_ID_BYTES,
                                  &o->base);
}

static const char *s_case(const ob_nodeorder_t *o)
{
    return o && o->order && o->order->case_no && o->order->case_no[0] ? o->order->case_no : "-";
}

/* Dispatch: the department holds the order under a (new) attempt. */
static int s_apply_dispatch(node_t *self, MDB_txn *txn, const ob_envelope_t *env)
{
    const Orderbus__V1__Dispatch *d = env->dispatch;
    if (!d->order || d->order->id.len != OB_ID_BYTES || d->attempt == 0) {
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len,
                            ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                            "dispatch needs 'order.id' (16 bytes) and 'attempt'");
        return 0;
    }
    const uint8_t *id = d->order->id.data;
    char hex[OB_ID_HEX];
    ob_hex(hex, id, OB_ID_BYTES);
    ob_nodeorder_t *old = NULL;
    int rc = s_inbox_get(self, txn, id, &old);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if (old && old->attempt > d->attempt) {
        ob_info("order %s %s: dispatch for attempt %u ignored (holding attempt %u)", hex,
                s_case(old), d->attempt, old->attempt);
        orderbus__v1__node_order__free_unpacked(old, NULL);
        return 0;
    }
    ob_state_t state = d->state ? d->state : ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED;
    ob_nodeorder_t o = ORDERBUS__V1__NODE_ORDER__INIT;
    o.order = d->order;
    ob_fsm_ctx_t centre = {.role = ORDERBUS__V1__ROLE__ROLE_SYSTEM, .who = "centre", .to = state};
    ob_errcode_t code;
    char err[160];
    if (ob_fsm_apply_node(&o, ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE, &centre, &code, err,
                          sizeof err) != 0) {
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len, code, err);
        orderbus__v1__node_order__free_unpacked(old, NULL);
        return 0;
    }
    o.attempt = d->attempt;
    o.received_at_ms = ob_now_ms();
    o.dispatched_at_ms = d->dispatched_at_ms;
    o.sign_deadline_ms = d->sign_deadline_ms;
    o.reply_deadline_ms = d->reply_deadline_ms;
    o.last_note = d->note ? d->note : (char *) "";
    if (old) {
        o.rework_count = old->rework_count;
        if (old->attempt == d->attempt) {   /* same assignment: keep what happened */
            o.signed_at_ms = old->signed_at_ms;
            o.replied_at_ms = old->replied_at_ms;
            o.reply_result = old->reply_result;
        }
    }
    if (state == ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS && old)
        o.rework_count++;
    rc = s_inbox_put(self, txn, id, &o);
    if (rc == 0) {
        s_touch(self, id, state, d->attempt, ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE);
        ob_info("order %s %s: dispatched, attempt %u, %s", hex,
                d->order->case_no && d->order->case_no[0] ? d->order->case_no : "-", d->attempt,
                ob_state_name(state));
    }
    orderbus__v1__node_order__free_unpacked(old, NULL);
    return rc;
}

/* Recall: the order left the department; its attempt is stale. */
static int s_apply_recall(node_t *self, MDB_txn *txn, const ob_envelope_t *env)
{
    const Orderbus__V1__Recall *r = env->recall;
    if (r->order_id.len != OB_ID_BYTES) {
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len,
                            ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                            "recall needs 'order_id' (16 bytes)");
        return 0;
    }
    char hex[OB_ID_HEX];
    ob_hex(hex, r->order_id.data, OB_ID_BYTES);
    ob_nodeorder_t *o = NULL;
    int rc = s_inbox_get(self, txn, r->order_id.data, &o);
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
            rc = s_inbox_put(self, txn, r->order_id.data, o);
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
static int s_apply_decision(node_t *self, MDB_txn *txn, const ob_envelope_t *env)
{
    const Orderbus__V1__Decision *dc = env->decision;
    if (dc->order_id.len != OB_ID_BYTES || dc->state == 0) {
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len,
                            ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                            "decision needs 'order_id' (16 bytes) and 'state'");
        return 0;
    }
    char hex[OB_ID_HEX], msg[160];
    ob_hex(hex, dc->order_id.data, OB_ID_BYTES);
    ob_nodeorder_t *o = NULL;
    int rc = s_inbox_get(self, txn, dc->order_id.data, &o);
    if (rc == MDB_NOTFOUND) {
        ob_warn("order %s: decision %s for an order this node does not hold", hex,
                ob_event_name(dc->event));
        ob_fmt(msg, sizeof msg, "order '%s' is not in this department's inbox", hex);
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len,
                            ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND, msg);
        return 0;
    }
    if (rc)
        return rc;
    if (dc->attempt && dc->attempt < o->attempt) {
        ob_info("order %s %s: decision %s for attempt %u ignored (holding attempt %u)", hex,
                s_case(o), ob_event_name(dc->event), dc->attempt, o->attempt);
        ob_fmt(msg, sizeof msg, "attempt %u is stale: this department holds attempt %u",
               dc->attempt, o->attempt);
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len,
                            ORDERBUS__V1__ERROR_CODE__ERR_STALE_ATTEMPT, msg);
        orderbus__v1__node_order__free_unpacked(o, NULL);
        return 0;
    }
    ob_state_t from = o->state;
    ob_fsm_ctx_t centre = {.role = ORDERBUS__V1__ROLE__ROLE_SYSTEM, .who = "centre",
                           .to = dc->state};
    ob_errcode_t code;
    if (ob_fsm_apply_node(o, ORDERBUS__V1__ORDER_EVENT__EVENT_SYNC, &centre, &code, msg,
                          sizeof msg) != 0) {
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len, code, msg);
        orderbus__v1__node_order__free_unpacked(o, NULL);
        return 0;
    }
    if (dc->attempt > o->attempt)
        o->attempt = dc->attempt;
    char *own_note = o->last_note;   /* unpacked, freed with o */
    o->last_note = dc->note ? dc->note : (char *) "";   /* borrowed until the put */
    if (dc->event == ORDERBUS__V1__ORDER_EVENT__EVENT_REVIEW_REJECT)
        o->rework_count++;
    rc = s_inbox_put(self, txn, dc->order_id.data, o);
    if (rc == 0) {
        s_touch(self, dc->order_id.data, o->state, o->attempt, dc->event);
        ob_info("order %s %s: centre decision %s, %s -> %s", hex, s_case(o),
                ob_event_name(dc->event), ob_state_name(from), ob_state_name(o->state));
    }
    o->last_note = own_note;   /* free what was unpacked, not the borrowed note */
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return rc;
}

/* One message from the broker, inside the batch transaction. */
static int s_take_broker(node_t *self, MDB_txn *txn, const ob_envelope_t *env)
{
    if (env->body_case == ORDERBUS__V1__ENVELOPE__BODY_RECEIVED)
        ob_debug("broker received: node seq %llu confirmed",
                 (unsigned long long) env->received->seq);
    else if (env->body_case == ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT)
        ob_debug("broker heartbeat: node seq %llu applied",
                 (unsigned long long) env->heartbeat->last_applied_seq);
    else
        ob_debug("broker %s seq %llu", ob_wire_body_name((int) env->body_case),
                 (unsigned long long) env->seq);
    bool reliable = false;
    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_DISPATCH:
    case ORDERBUS__V1__ENVELOPE__BODY_RECALL:
    case ORDERBUS__V1__ENVELOPE__BODY_DECISION:
        reliable = true;
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_WELCOME:
    case ORDERBUS__V1__ENVELOPE__BODY_RECEIVED:
    case ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT:
    case ORDERBUS__V1__ENVELOPE__BODY_ERROR:
    case ORDERBUS__V1__ENVELOPE__BODY_HELLO:
        return node_link_take_transport(self->link, txn, env);
    default:
        /* a numbered body this release does not handle (Urge, Supervise...):
           consumed so it never blocks the ones behind it, and refused */
        if (env->seq == 0) {
            node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len,
                                ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                                "message not handled on the node link");
            return 0;
        }
        break;
    }
    if (env->seq == 0) {
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len,
                            ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                            "reliable message without 'seq'");
        return 0;
    }
    node_seq_verdict_t verdict = node_link_check_seq(self->link, env->seq);
    if (verdict == NODE_SEQ_DUP) {
        ob_debug("broker seq %llu is a duplicate", (unsigned long long) env->seq);
        return 0;
    }
    if (verdict == NODE_SEQ_GAP) {
        ob_debug("broker seq %llu after a gap: not applied", (unsigned long long) env->seq);
        return 0;
    }
    int rc = 0;
    if (!reliable) {
        ob_info("broker %s seq %llu not handled by this release: consumed",
                ob_wire_body_name((int) env->body_case), (unsigned long long) env->seq);
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len,
                            ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST,
                            "message not handled by this node release");
    } else if (env->body_case == ORDERBUS__V1__ENVELOPE__BODY_DISPATCH)
        rc = s_apply_dispatch(self, txn, env);
    else if (env->body_case == ORDERBUS__V1__ENVELOPE__BODY_RECALL)
        rc = s_apply_recall(self, txn, env);
    else
        rc = s_apply_decision(self, txn, env);
    if (rc == 0)
        rc = node_link_applied(self->link, txn, env->seq);
    return rc;
}

int node_apply_action(node_t *self, MDB_txn *txn, const node_action_t *action,
                         ob_errcode_t *code, char *err, size_t errlen,
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
    ob_act_body_t body;
    ob_msg_t m;
    ob_msg_init(&m, NULL);
    if (ob_act_encode(&act, &body, &m.env) != 0) {
        ob_fmt(err, errlen, "event '%s' is not a department act", ob_event_name(a->event));
        return 0;
    }
    ob_act_t checked;
    if (ob_act_decode(&m.env, &checked, err, errlen) != 0)
        return 0;

    /* the order */
    ob_nodeorder_t *o = NULL;
    int rc = s_inbox_get(self, txn, a->order_id, &o);
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
    if (rc)
        goto fail;

    /* the message to the broker, in the same transaction */
    act.attempt = o->attempt;
    ob_act_encode(&act, &body, &m.env);
    rc = node_link_enqueue(self->link, txn, &m.env);
    if (rc)
        goto fail;
    rc = s_inbox_put(self, txn, a->order_id, o);
    if (rc)
        goto fail;
    if (action->demo && a->event == ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_REQUEST
        && self->demo) {
        rc = node_demo_mark_returned(self->demo, self->store, txn, a->order_id);
        if (rc)
            goto fail;
    }
    s_touch(self, a->order_id, o->state, o->attempt, a->event);
    ob_info("order %s %s: %s, %s -> %s, node seq %llu%s", hex, s_case(o), ob_event_name(a->event),
            ob_state_name(from), ob_state_name(o->state), (unsigned long long) m.env.seq,
            action->demo ? " (demo auto-handling mode)" : "");
    *code = ORDERBUS__V1__ERROR_CODE__OK;
    *order_out = o;
    return 0;
refused:
    ob_debug("order %s: %s refused: %s", hex, ob_event_name(a->event), ob_errcode_name(*code));
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return 0;
fail:
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return rc;
}

int node_local_status(node_t *self, MDB_txn *txn, Orderbus__V1__LocalStatus *st)
{
    st->dept = (char *) node_link_dept(self->link);
    st->broker_up = node_link_state(self->link) == NODE_LINK_CONNECTED;
    st->last_broker_ms = node_link_last_broker_ms(self->link);
    st->outbox_depth = node_link_outbox_depth(self->link);
    st->last_applied_seq = node_link_in_seq(self->link);
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, ob_store_dbi(self->store, OB_NDB_INBOX), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    uint64_t open = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ob_nodeorder_t *o = orderbus__v1__node_order__unpack(NULL, v.mv_size, v.mv_data);
        if (o && ob_state_is_open(o->state))
            open++;
        if (o)
            orderbus__v1__node_order__free_unpacked(o, NULL);
    }
    mdb_cursor_close(cur);
    st->inbox_orders = open;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* --- the batch ----------------------------------------------------------- */

/* Applies the whole batch in one write transaction. Returns 0 or the LMDB
   code that made it fail (after growing and retrying on MDB_MAP_FULL). */
static int s_apply_batch(node_t *self)
{
    if (ob_store_needs_growth(self->store)) {
        int g = ob_store_grow(self->store);
        if (g)
            ob_warn("cannot grow the store map: %s", ob_store_strerror(g));
        else
            ob_info("store map grown");
    }
    int rc = 0;
    for (int attempt = 0; attempt < S_GROW_TRIES; attempt++) {
        MDB_txn *txn = NULL;
        node_link_batch_begin(self->link);
        self->n_touched = 0;
        rc = ob_store_begin(self->store, true, &txn);
        for (size_t i = 0; rc == 0 && i < self->n_broker; i++)
            rc = s_take_broker(self, txn, self->in_broker[i]);
        for (size_t i = 0; rc == 0 && i < self->n_local; i++)
            rc = node_local_handle(self->local, self, txn, &self->in_local[i]);
        for (size_t i = 0; rc == 0 && i < self->n_demo; i++) {
            ob_errcode_t code;
            char err[256];
            ob_nodeorder_t *o = NULL;
            rc = node_apply_action(self, txn, &self->in_demo[i], &code, err, sizeof err, &o);
            if (rc == 0 && code != ORDERBUS__V1__ERROR_CODE__OK) {
                char hex[OB_ID_HEX];
                ob_info("demo auto-handling mode: order %s: %s not done: %s: %s",
                        ob_hex(hex, self->in_demo[i].act.order_id, OB_ID_BYTES),
                        ob_event_name(self->in_demo[i].act.event), ob_errcode_name(code), err);
            }
            if (o)
                orderbus__v1__node_order__free_unpacked(o, NULL);
        }
        if (rc == 0)
            rc = ob_store_commit(txn);
        else if (txn)
            mdb_txn_abort(txn);
        if (rc == 0) {
            node_link_batch_commit(self->link);
            return 0;
        }
        node_link_batch_abort(self->link);
        self->n_touched = 0;
        if (rc != MDB_MAP_FULL)
            break;
        int g = ob_store_grow(self->store);
        if (g) {
            ob_error("store map full and cannot grow: %s", ob_store_strerror(g));
            break;
        }
        ob_info("store map full: grown, applying the batch again");
    }
    return rc;
}

/* Reads up to S_BATCH broker messages. Frames that do not decode are
   answered with an Error at once (nothing to commit for them). */
static void s_drain_broker(node_t *self)
{
    void *sock = node_link_socket(self->link);
    while (sock && self->n_broker < S_BATCH) {
        ob_inmsg_t in;
        if (ob_wire_recv(sock, false, &in) != 0)
            break;
        node_link_touch(self->link);
        ob_errcode_t code = ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
        char err[160] = "frame is not one envelope";
        ob_envelope_t *env = NULL;
        if (!in.truncated)
            env = ob_wire_decode_link(in.data, in.size, &code, err, sizeof err);
        else if (in.size > OB_MAX_FRAME) {
            code = ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE;
            ob_fmt(err, sizeof err, "frame over 1 MiB");
        }
        ob_inmsg_clear(&in);
        if (!env) {
            ob_warn("broker message refused: %s", err);
            ob_wire_send_error(sock, NULL, 0, NULL, 0, 0, code, err);
            continue;
        }
        self->in_broker[self->n_broker++] = env;
    }
}

/* One turn of the loop. Returns 0, or -1 when zmq_poll failed for another
   reason than a signal (the context is gone: nothing more can be done). */
static int s_turn(node_t *self, int timeout_ms)
{
    zmq_pollitem_t items[3] = {
        {node_link_socket(self->link), 0, ZMQ_POLLIN, 0},
        {node_link_monitor(self->link), 0, ZMQ_POLLIN, 0},
        {node_local_socket(self->local), 0, ZMQ_POLLIN, 0},
    };
    int rc = zmq_poll(items, 3, timeout_ms);
    if (rc < 0) {
        if (errno == EINTR)
            return 0;   /* a signal: the caller checks its flag */
        ob_error("cannot poll sockets: %s", zmq_strerror(errno));
        return -1;
    }

    if (items[1].revents & ZMQ_POLLIN)
        node_link_take_monitor(self->link);
    self->n_broker = self->n_local = self->n_demo = 0;
    if (items[0].revents & ZMQ_POLLIN)
        s_drain_broker(self);
    if (items[2].revents & ZMQ_POLLIN)
        while (self->n_local < S_BATCH
               && node_local_recv(self->local, &self->in_local[self->n_local]) == 0)
            self->n_local++;
    if (self->demo)
        self->n_demo = node_demo_take_due(self->demo, self->in_demo, S_BATCH);

    if (self->n_broker + self->n_local + self->n_demo > 0) {
        rc = s_apply_batch(self);
        if (rc == 0) {
            if (self->demo)
                for (size_t i = 0; i < self->n_touched; i++)
                    node_demo_note(self->demo, self->touched[i].id, self->touched[i].state,
                                 self->touched[i].attempt, self->touched[i].event);
        } else {
            char msg[200];
            ob_fmt(msg, sizeof msg, "store error: %s; nothing was applied, retry later",
                   ob_store_strerror(rc));
            ob_error("batch of %zu broker, %zu local, %zu demo messages not applied: %s",
                     self->n_broker, self->n_local, self->n_demo, ob_store_strerror(rc));
            for (size_t i = 0; i < self->n_local; i++)
                node_local_fail(&self->in_local[i], ORDERBUS__V1__ERROR_CODE__ERR_STORE, msg);
            for (size_t i = 0; i < self->n_demo; i++)
                node_demo_defer(self->demo, &self->in_demo[i]);
        }
        /* only now, after the commit: answers, then the link's acks and sends */
        for (size_t i = 0; i < self->n_local; i++) {
            node_local_send(self->local, &self->in_local[i]);
            node_local_req_clear(&self->in_local[i]);
        }
        for (size_t i = 0; i < self->n_broker; i++)
            ob_wire_free(self->in_broker[i]);
        self->n_broker = self->n_local = self->n_demo = 0;
    }
    node_link_flush(self->link);
    return 0;
}

/* Drops `seen` entries older than a week (clerk request dedup). */
static void s_prune_seen(node_t *self)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    size_t dropped = 0;
    int rc = ob_store_begin(self->store, true, &txn);
    if (rc == 0)
        rc = mdb_cursor_open(txn, ob_store_dbi(self->store, OB_NDB_SEEN), &cur);
    if (rc == 0) {
        int64_t cutoff = ob_now_ms() - S_SEEN_KEEP_MS;
        MDB_val k, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (v.mv_size == 8 && (int64_t) ob_be64_get(v.mv_data) >= cutoff)
                continue;
            rc = mdb_cursor_del(cur, 0);
            if (rc)
                break;
            dropped++;
        }
        if (rc == MDB_NOTFOUND)
            rc = 0;
        mdb_cursor_close(cur);
    }
    if (rc == 0 && txn)
        rc = ob_store_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc)
        ob_warn("cannot prune the seen database: %s", ob_store_strerror(rc));
    else if (dropped)
        ob_debug("pruned %zu old request ids", dropped);
}

int node_run(node_t *self, volatile sig_atomic_t *stop)
{
    self->prune_us = ob_mono_us();
    while (!*stop) {
        int timeout = node_link_next_timer_ms(self->link);
        if (self->demo) {
            int d = node_demo_next_timer_ms(self->demo);
            if (d >= 0 && d < timeout)
                timeout = d;
        }
        if (s_turn(self, timeout) != 0)
            return -1;
        if (*stop)
            break;
        node_link_cron(self->link);
        if (ob_mono_us() - self->prune_us >= S_PRUNE_EVERY_US) {
            self->prune_us = ob_mono_us();
            s_prune_seen(self);
        }
    }
    ob_info("stopping: %llu messages wait in the outbox for the broker",
            (unsigned long long) node_link_outbox_depth(self->link));
    return 0;
}
