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
#include "node_demo.h"
#include "node_inbox.h"
#include "node_link.h"
#include "node_local.h"
#include "ob_fsm.h"
#include "ob_keys.h"
#include "ob_log.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <zmq.h>

#define S_BATCH 256                 /* messages drained per socket per turn */
#define S_SEEN_KEEP_MS (7LL * 24 * 3600 * 1000)
#define S_PRUNE_EVERY_US (3600ull * 1000000u)
#define S_GROW_TRIES 4
#define S_FAULT_REPEAT_US (30ull * 1000000u)   /* store failures: one line per 30 s */

struct node {
    node_opts_t cfg;                /* settings (strings borrowed from main) */
    void *ctx;                      /* the one zmq context */
    int lock_fd;                    /* DIR/node.lock, flock'ed while we run */
    node_inbox_t *inbox;            /* the store */
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
    node_local_view_t view;         /* the link as the batch's clerks see it */

    uint64_t prune_us;              /* last prune of the seen database */

    /* store write failures (a full disk): said once, then rate-limited */
    uint64_t fault_failures;        /* batches failed since the last success */
    uint64_t fault_said_us;         /* last line about them */
    uint64_t fault_quiet;           /* failures not logged since that line */
    uint64_t fault_txnid;           /* the store's last txn id at the first one */
};

node_t *node_new(const node_opts_t *cfg, int *exit_code, char *err, size_t errlen)
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
    /* two nodes never share a store and a socket: DIR/node.lock */
    self->lock_fd = ob_store_lock(cfg->data_dir, "node", err, errlen);
    if (self->lock_fd < 0) {
        *exit_code = errno == EWOULDBLOCK ? EX_TEMPFAIL : EX_CANTCREAT;
        goto fail;
    }
    self->inbox = node_inbox_open(cfg->data_dir, (size_t) cfg->map_mb, err, errlen);
    if (!self->inbox) {
        *exit_code = EX_CANTCREAT;
        goto fail;
    }
    uint64_t used = 0, mapsize = 0;
    ob_store_usage(node_inbox_store(self->inbox), &used, &mapsize);
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
    self->link = node_link_new(self->ctx, self->inbox, cfg->broker, self->broker_key, self->keys,
                               (int) self->cfg.heartbeat_ms, err, errlen);
    if (!self->link) {
        *exit_code = EX_UNAVAILABLE;
        goto fail;
    }
    if (cfg->demo_auto) {
        self->demo = node_demo_new(cfg->demo_seed, (int) cfg->demo_delay_ms[0],
                                   (int) cfg->demo_delay_ms[1], (int) cfg->demo_return_pct);
        if (!self->demo) {
            ob_fmt(err, errlen, "out of memory");
            goto fail;
        }
        ob_info("demo auto-handling mode: on (seed %llu, delay %d..%d ms, return %d%%): "
                "this node signs, progresses and replies by itself",
                (unsigned long long) cfg->demo_seed, (int) cfg->demo_delay_ms[0],
                (int) cfg->demo_delay_ms[1], (int) cfg->demo_return_pct);
        int rc = node_demo_rebuild(self->demo, self->inbox);
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
    node_inbox_destroy(&self->inbox);
    ob_keys_destroy(&self->broker_key);
    ob_keys_destroy(&self->keys);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self);
    *self_p = NULL;
}

/* --- the batch ----------------------------------------------------------- */

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
    case ORDERBUS__V1__ENVELOPE__BODY_WITHDRAWN:
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
    if (!reliable)
        ob_info("broker %s seq %llu not handled by this release: consumed",
                ob_wire_body_name((int) env->body_case), (unsigned long long) env->seq);
    node_refusal_t refusal;
    int rc = node_inbox_apply_centre(self->inbox, txn, env, &refusal);
    if (rc == 0 && refusal.code != ORDERBUS__V1__ERROR_CODE__OK)
        node_link_queue_error(self->link, env->msg_id.data, env->msg_id.len, refusal.code,
                              refusal.message);
    if (rc == 0)
        rc = node_link_applied(self->link, txn, env->seq);
    return rc;
}

/* The demo agent's due steps, inside the batch transaction. Returns 0 or
   an LMDB code. */
static int s_take_demo(node_t *self, MDB_txn *txn)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < self->n_demo; i++) {
        ob_errcode_t code;
        char err[256];
        ob_nodeorder_t *o = NULL;
        rc = node_inbox_apply_act(self->inbox, txn, &self->in_demo[i],
                                  self->view.dept[0] ? self->view.dept : "node", &code, err,
                                  sizeof err, &o);
        if (rc == 0 && code != ORDERBUS__V1__ERROR_CODE__OK) {
            char hex[OB_ID_HEX];
            ob_info("demo auto-handling mode: order %s: %s not done: %s: %s",
                    ob_hex(hex, self->in_demo[i].act.order_id, OB_ID_BYTES),
                    ob_event_name(self->in_demo[i].act.event), ob_errcode_name(code), err);
        }
        if (o)
            orderbus__v1__node_order__free_unpacked(o, NULL);
    }
    return rc;
}

/* Runs the batch once in one write transaction: 0 when committed, or the
   LMDB code that made it fail (the batch is forgotten). */
static int s_apply_once(node_t *self)
{
    ob_store_t *store = node_inbox_store(self->inbox);
    MDB_txn *txn = NULL;
    node_link_batch_begin(self->link);
    node_inbox_batch_begin(self->inbox);
    int rc = ob_store_begin(store, true, &txn);
    for (size_t i = 0; rc == 0 && i < self->n_broker; i++)
        rc = s_take_broker(self, txn, self->in_broker[i]);
    for (size_t i = 0; rc == 0 && i < self->n_local; i++)
        rc = node_local_handle(self->local, self->inbox, &self->view, txn, &self->in_local[i]);
    if (rc == 0)
        rc = s_take_demo(self, txn);
    if (rc == 0)
        rc = ob_store_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc == 0) {
        node_inbox_batch_commit(self->inbox);
        node_link_batch_commit(self->link);
    } else {
        node_inbox_batch_abort(self->inbox);
        node_link_batch_abort(self->link);
    }
    return rc;
}

/* Applies the whole batch in one write transaction. Returns 0 or the LMDB
   code that made it fail (after growing and retrying on MDB_MAP_FULL). */
static int s_apply_batch(node_t *self)
{
    ob_store_t *store = node_inbox_store(self->inbox);
    if (ob_store_needs_growth(store)) {
        int g = ob_store_grow(store);
        if (g)
            ob_warn("cannot grow the store map: %s", ob_store_strerror(g));
        else
            ob_info("store map grown");
    }
    int rc = 0;
    for (int attempt = 0; attempt < S_GROW_TRIES; attempt++) {
        rc = s_apply_once(self);
        if (rc != MDB_MAP_FULL)
            break;
        int g = ob_store_grow(store);
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
        if (!env) {   /* not consumed; named by its msg id whenever that could be read */
            ob_warn("broker message refused: %s", err);
            ob_wire_send_error(sock, NULL, 0, in.msg_id, in.msg_id_len, 0, code, err);
            continue;
        }
        self->in_broker[self->n_broker++] = env;
    }
}

/* Polls and reads what is readable into the batch. Returns 0, or -1 when
   zmq_poll failed for another reason than a signal (the context is gone:
   nothing more can be done). */
static int s_drain(node_t *self, int timeout_ms)
{
    zmq_pollitem_t items[3] = {
        {node_link_socket(self->link), 0, ZMQ_POLLIN, 0},
        {node_link_monitor(self->link), 0, ZMQ_POLLIN, 0},
        {node_local_socket(self->local), 0, ZMQ_POLLIN, 0},
    };
    self->n_broker = self->n_local = self->n_demo = 0;
    int rc = zmq_poll(items, 3, timeout_ms);
    if (rc < 0) {
        if (errno == EINTR)
            return 0;   /* a signal: the caller checks its flag */
        ob_error("cannot poll sockets: %s", zmq_strerror(errno));
        return -1;
    }
    if (items[1].revents & ZMQ_POLLIN)
        node_link_take_monitor(self->link);
    if (items[0].revents & ZMQ_POLLIN)
        s_drain_broker(self);
    if (items[2].revents & ZMQ_POLLIN)
        while (self->n_local < S_BATCH
               && node_local_recv(self->local, &self->in_local[self->n_local]) == 0)
            self->n_local++;
    if (self->demo)
        self->n_demo = node_demo_take_due(self->demo, self->in_demo, S_BATCH);
    return 0;
}

/* The link's committed values, as the local service shows them. */
static void s_fill_view(node_t *self)
{
    self->view.dept = node_link_dept(self->link);
    self->view.broker_up = node_link_phase(self->link) == NODE_LINK_CONNECTED;
    self->view.last_broker_ms = node_link_last_broker_ms(self->link);
    self->view.outbox_depth = node_link_outbox_depth(self->link);
    self->view.last_applied_seq = node_link_in_seq(self->link);
}

/* What a failed store write most likely means, for the log. */
static const char *s_fault_cause(int rc)
{
    switch (rc) {
    case ENOSPC:
        return "the disk holding the store is full: free space there";
    case EDQUOT:
        return "the disk quota of the node's user is used up: free space or raise the quota";
    case EIO:
        /* LMDB's report of a write the disk cut short: most often a full
           disk, sometimes a failing one */
        return "a write was cut short: most often the disk is full (free space there), else "
               "the disk is failing (see the kernel log)";
    case MDB_MAP_FULL:
        return "the store's map is full and could not grow: free memory or disk space";
    default:
        return "see the error";
    }
}

/* Logs a failed batch: the first failure says what happened and what to
   do; repeats are one line per S_FAULT_REPEAT_US with the count of those
   not logged (a full disk must not be filled further by the log). */
/* The id of the store's last committed write (a batch that changed
   nothing commits without one). */
static uint64_t s_last_txnid(node_t *self)
{
    MDB_envinfo info;
    if (mdb_env_info(ob_store_env(node_inbox_store(self->inbox)), &info) != 0)
        return 0;
    return (uint64_t) info.me_last_txnid;
}

static void s_log_store_fault(node_t *self, int rc)
{
    uint64_t now = ob_mono_us();
    if (self->fault_failures++ == 0) {
        self->fault_txnid = s_last_txnid(self);
        self->fault_said_us = now;
        self->fault_quiet = 0;
        ob_error("cannot write the store in '%s': %s: %s. The store is intact and nothing "
                 "acknowledged was lost: the broker resends what it sent, clerks are told to "
                 "retry; the node retries by itself (repeats: one line per %llu s)",
                 self->cfg.data_dir, ob_store_strerror(rc), s_fault_cause(rc),
                 S_FAULT_REPEAT_US / 1000000u);
        return;
    }
    if (now - self->fault_said_us < S_FAULT_REPEAT_US) {
        self->fault_quiet++;
        return;
    }
    ob_error("still cannot write the store in '%s': %s (%llu failed batches since the first, "
             "%llu not logged in the last %llu s)", self->cfg.data_dir, ob_store_strerror(rc),
             (unsigned long long) self->fault_failures, (unsigned long long) self->fault_quiet,
             (unsigned long long) ((now - self->fault_said_us) / 1000000u));
    self->fault_said_us = now;
    self->fault_quiet = 0;
}

/* A batch committed: says so once when the store had been failing and
   this batch really wrote (one that only read, e.g. a heartbeat, proves
   nothing about the disk). */
static void s_store_recovered(node_t *self)
{
    if (self->fault_failures == 0 || s_last_txnid(self) == self->fault_txnid)
        return;
    ob_info("the store in '%s' is written again (after %llu failed batches)", self->cfg.data_dir,
            (unsigned long long) self->fault_failures);
    self->fault_failures = 0;
}

/* A batch that could not be applied: clerks are told to retry, demo steps
   wait for a later turn, broker messages stay unacknowledged (the broker
   resends them). */
static void s_batch_failed(node_t *self, int rc)
{
    char msg[200];
    ob_fmt(msg, sizeof msg, "store error: %s; nothing was applied, retry later",
           ob_store_strerror(rc));
    s_log_store_fault(self, rc);
    for (size_t i = 0; i < self->n_local; i++)
        node_local_fail(&self->in_local[i], ORDERBUS__V1__ERROR_CODE__ERR_STORE, msg);
    for (size_t i = 0; i < self->n_demo; i++)
        node_demo_defer(self->demo, &self->in_demo[i]);
}

/* Durable before reply: everything the batch owes anyone, sent only after
   its commit (or its failure): the clerks' answers, the demo agent's
   notes, then the link's acks, errors and outbox messages. */
static void s_flush(node_t *self, bool committed)
{
    if (committed && self->demo) {
        const node_touched_t *t = NULL;
        size_t n = node_inbox_touched(self->inbox, &t);
        for (size_t i = 0; i < n; i++)
            node_demo_note(self->demo, t[i].id, t[i].state_now, t[i].attempt, t[i].event);
    }
    for (size_t i = 0; i < self->n_local; i++) {
        node_local_send(self->local, &self->in_local[i]);
        node_local_req_clear(&self->in_local[i]);
    }
    for (size_t i = 0; i < self->n_broker; i++)
        ob_wire_free(self->in_broker[i]);
    self->n_broker = self->n_local = self->n_demo = 0;
    node_link_flush(self->link);
}

/* Timers: the link's (Hello, heartbeat, liveness, resend) and the hourly
   prune of the clerk request ids. */
static void s_cron(node_t *self)
{
    node_link_cron(self->link);
    if (ob_mono_us() - self->prune_us < S_PRUNE_EVERY_US)
        return;
    self->prune_us = ob_mono_us();
    size_t dropped = 0;
    int rc = node_inbox_seen_prune(self->inbox, S_SEEN_KEEP_MS, &dropped);
    if (rc)
        ob_warn("cannot prune the seen database: %s", ob_store_strerror(rc));
    else if (dropped)
        ob_debug("pruned %zu old request ids", dropped);
}

/* Milliseconds the poll may wait: up to the next timer. */
static int s_next_timer_ms(node_t *self)
{
    int timeout = node_link_next_timer_ms(self->link);
    if (self->demo) {
        int d = node_demo_next_timer_ms(self->demo);
        if (d >= 0 && d < timeout)
            timeout = d;
    }
    return timeout;
}

int node_run(node_t *self, volatile sig_atomic_t *stop)
{
    self->prune_us = ob_mono_us();
    while (!*stop) {
        if (s_drain(self, s_next_timer_ms(self)) != 0)
            return -1;
        bool committed = false;
        if (self->n_broker + self->n_local + self->n_demo > 0) {
            s_fill_view(self);
            int rc = s_apply_batch(self);   /* ONE txn; MAP_FULL: grow, apply again */
            committed = rc == 0;
            if (rc)
                s_batch_failed(self, rc);
            else
                s_store_recovered(self);
        }
        s_flush(self, committed);
        if (*stop)
            break;
        s_cron(self);
    }
    ob_info("stopping: %llu messages wait in the outbox for the broker",
            (unsigned long long) node_link_outbox_depth(self->link));
    return 0;
}
