/*  broker.h — the centre daemon's internals, shared by its files:

    main.c            parse, start, wait, destroy
    broker_opts.c     flags and the config file
    broker.c          construction, THE loop, group commit, cron
    broker_rules.c    swapping the rule set
    broker_effects.c  what a batch sends after its commit
    broker_zap.c      ZAP: a key is a department, a client, or nothing
    broker_outbox.c   the departments' queues (outbox, window, resends)
    broker_link.c     the node link's protocol (Hello, acts, acks, liveness)
    broker_order.c    records, indexes, journal; broker_order_apply()
    broker_client.c   the client service's table of requests
    broker_answer.c   answers and request dedup (`seen`)
    broker_submit.c   registration and the rules' outcome
    broker_decide.c   the centre's decisions (route, review, callback, ...)
    broker_query.c    get, list, trace, status
    broker_stats.c    statistics from the journal

    Calls go one way: main -> broker -> {link, client} -> {submit, decide,
    query, stats} -> answer -> order -> outbox -> effects; nothing calls
    back up (tests/tools/structure.py checks it).

    One thread. Each turn of the loop drains what is readable into one write
    transaction, commits, and only then sends what the batch produced
    (answers, acks, forwards, events): nothing leaves the broker that a
    commit has not made durable.                                            */
#ifndef OB_BROKER_H
#define OB_BROKER_H

#include "ob_common.h"
#include "ob_store.h"
#include "broker_db.h"
#include "ob_wire.h"
#include "ob_rules.h"
#include "ob_calendar.h"
#include "ob_keys.h"
#include "ob_fsm.h"
#include "ob_util.h"
#include "ob_log.h"

#define BROKER_BATCH_MAX    512      /* messages per socket per turn */
#define BROKER_WINDOW       1024     /* unconfirmed messages in flight per node */
#define BROKER_RTO_MIN_MS   1000
#define BROKER_RTO_MAX_MS   30000
#define BROKER_SEEN_TTL_MS  (7LL * 24 * 3600 * 1000)
#define BROKER_LIST_MAX     1000
#define BROKER_DEAD_AFTER   3        /* permanent refusals of a department's head
                                        message before it is dead-lettered */

typedef struct {
    const char *data_dir;
    const char *key_path;           /* broker keypair (secret needed) */
    const char *rules_path;
    const char *node_endpoint;
    const char *client_endpoint;
    const char *event_endpoint;
    long map_mb;
    long heartbeat_ms;
    long queue_cap;                 /* per-department outbox depth cap */
    int utc_offset_min;
    const char *calendar_paths[16];  /* working-day calendar year files; none: weekdays */
    size_t ncalendar;
} broker_config_t;

/* A packed message to a node, kept in memory for its first send. */
typedef struct {
    uint8_t *buf;
    size_t len;
} broker_packed_t;

/* One department as the broker sees its link. */
typedef struct {
    char id[OB_DEPT_MAX];
    char name[128];
    uint8_t rid[OB_RID_MAX];        /* routing id of its current connection */
    size_t rid_len;                 /* 0: not connected */
    bool up;                        /* heard from within 3 heartbeats */
    int64_t last_seen_ms;
    uint64_t last_seen_us;
    uint8_t instance[OB_ID_BYTES];  /* the node instance bound to the link (its Hello) */
    bool has_instance;              /* false: none bound yet (a store of an older release) */
    ob_log_limit_t refusal_log;     /* sessions refused: said once, then rate-limited */
    uint64_t resume_from;           /* the next Welcome tells the node to resume here */
    char diverged[400];             /* non-empty: the node's store and ours disagree about
                                       the stream (a restore): nothing is sent to it */
    uint64_t in_seq;                /* highest node->broker seq committed, of `instance` */
    uint64_t out_seq;               /* last broker->node seq assigned */
    uint64_t acked_seq;             /* highest broker->node seq confirmed */
    uint64_t sent_seq;              /* highest broker->node seq sent (go-back-N) */
    uint64_t last_progress_us;      /* last time acked_seq moved, or a (re)send began */
    int rto_ms;
    uint64_t last_goback_us;        /* last time sending went back to acked_seq + 1 */
    uint32_t head_refusals;         /* permanent refusals since acked_seq last moved */
    char head_reason[160];          /* the last of them, for the dead letter */
    bool ack_due;                   /* send Received{in_seq} after the commit */
    bool counters_dirty;            /* in/out/acked seq changed in this batch */
    bool welcome_due;               /* answer a Hello after the commit */
    bool registered;                /* present in the registry */
    broker_packed_t *fresh;         /* this batch's messages to it, packed: seqs
                                       fresh_first .. fresh_first + nfresh - 1 */
    size_t nfresh, capfresh;
    uint64_t fresh_first;
} broker_node_t;

/* Something to send once the batch has committed. */
typedef struct {
    enum { EFFECT_CLIENT, EFFECT_NODE, EFFECT_EVENT } kind;
    uint8_t rid[OB_RID_MAX];
    size_t rid_len;
    char topic[OB_DEPT_MAX + 64];
    uint8_t *data;
    size_t len;
} broker_effect_t;

typedef struct broker {
    broker_config_t cfg;
    ob_store_t *store;
    int lock_fd;                    /* DATA/broker.lock, flock'ed while we run */
    ob_rules_t *rules;
    ob_calendar_t *calendar;
    ob_keypair_t *keys;
    void *ctx;
    void *node_sock;                /* ROUTER, Curve server, ZAP domain "node" */
    void *client_sock;              /* ROUTER, Curve server, ZAP domain "client" */
    void *event_sock;               /* PUB */
    void *zap_sock;                 /* REP on inproc://zeromq.zap.01 */
    broker_node_t *nodes;
    size_t nnodes, capnodes;
    broker_effect_t *effects;
    size_t neffects, capeffects;
    MDB_txn *txn;                   /* the batch's write transaction */
    int64_t msg_at_us;              /* arrival of the message being applied (unix us) */
    int64_t batch_now_ms;           /* the batch's clock: one reading per transaction */
    struct {                        /* the last deadlines computed (same batch clock and
                                       limits give the same deadlines) */
        int64_t now;
        ob_limit_t sign_limit, reply_limit;
        int64_t sign, sign_warning, reply, reply_warning;
    } deadlines;
    uint64_t journal_seq;           /* cached meta counters, written once per batch */
    bool journal_dirty;             /* journal_seq moved in this batch */
    uint32_t case_day;              /* day of case_serial (0: not cached) */
    uint64_t case_serial;           /* last case serial given out on case_day */
    bool case_dirty;                /* case_serial moved in this batch */
    int64_t started_at_ms;
    uint64_t last_cron_us, last_heartbeat_us, last_prune_us;
    uint8_t prune_cursor[OB_ID_BYTES + OB_USER_ID_MAX];   /* `seen` key to resume at */
    size_t prune_cursor_len;
    volatile int *stop_flag;
    volatile int *reload_flag;
    uint64_t batches, batch_msgs;   /* statistics */
    ob_log_limit_t store_log;       /* store failures: said once, then rate-limited */
} broker_t;

/* The time of the batch being applied (every change of one transaction
   carries the same time), or the wall clock outside a batch. */
static inline int64_t broker_now_ms(const broker_t *self)
{
    return self->txn && self->batch_now_ms ? self->batch_now_ms : ob_now_ms();
}

/* ---- broker.c: construction, the loop -------------------------------------- */
broker_t *broker_new(const broker_config_t *cfg, char *err, size_t errlen);
void broker_destroy(broker_t **self_p);
/* Runs the loop until *stop_flag; *reload_flag asks for a rule reload. */
int broker_run(broker_t *self, volatile int *stop_flag, volatile int *reload_flag);

/* ---- broker_rules.c -------------------------------------------------------- */
/* Loads the rule file again and swaps it in whole; on errors the old set
   stays and err says why. Returns 0 or -1; err holds the outcome either way. */
int broker_reload_rules(broker_t *self, char *err, size_t errlen);

/* ---- broker_effects.c: output after the commit ----------------------------- */
/* Queues `env` (packed now) for sending after the commit. 0 or ENOMEM. */
int broker_effect_add(broker_t *self, int kind, const uint8_t *rid, size_t rid_len,
                      const char *topic, const ob_envelope_t *env);
/* The same for a packed buffer, which it takes over (freed on failure). */
int broker_effect_add_raw(broker_t *self, int kind, const uint8_t *rid, size_t rid_len,
                          const char *topic, uint8_t *data, size_t len);
void broker_effects_send(broker_t *self);
void broker_effects_clear(broker_t *self);

/* ---- broker_zap.c ---------------------------------------------------------- */
/* Answers every pending ZAP request on self->zap_sock. */
void broker_zap_serve(broker_t *self);

/* ---- broker_outbox.c: the departments and their queues --------------------- */
broker_node_t *broker_node_find(broker_t *self, const char *dept);
/* Finds or adds the department (registered or not), NULL on ENOMEM. */
broker_node_t *broker_node_get(broker_t *self, const char *dept);
int broker_nodes_load(broker_t *self, MDB_txn *txn);
/* Reads the department's registration (name) into node; sets registered. */
void broker_node_registration(broker_t *self, MDB_txn *txn, broker_node_t *node);
/* Appends msg to dept's outbox in the batch (assigns env.seq). */
int broker_node_enqueue(broker_t *self, const char *dept, const uint8_t *order_id,
                        uint32_t attempt, ob_event_t event, ob_msg_t *msg);
/* Binds the link to node instance `inst`: the acts of each instance are
   numbered on their own, so the inbound seq of the instance it replaces is
   kept under that instance's name and the new one's taken up (0 for an
   instance never seen; the first binding of a department keeps the seq it
   has). In the batch's transaction. 0 or a store error. */
int broker_node_bind_instance(broker_t *self, broker_node_t *node, const uint8_t *inst);
/* Marks the department's link counters as changed in this batch. */
int broker_outbox_counters_changed(broker_node_t *node);
/* Sends what the window allows of every node's outbox: this batch's new
   messages from memory, older ones (resends) read back from the store. */
void broker_nodes_pump(broker_t *self);
/* Forgets the batch's packed messages (after the pump, or an abort). */
void broker_nodes_fresh_clear(broker_t *self);
/* Writes the link counters that changed in this batch into self->txn. */
int broker_nodes_save_counters(broker_t *self);
uint64_t broker_node_depth(const broker_node_t *node);
/* Marks the department down (logged once), its connection forgotten. */
void broker_node_lost(broker_node_t *node, const char *why);
/* Sets rec->transport from dispatch_seq and the department's link state. */
void broker_order_fill_transport(broker_t *self, ob_record_t *rec);

/* ---- broker_link.c: the node link's protocol ------------------------------- */
int broker_node_handle(broker_t *self, const ob_inmsg_t *in);
/* After the commit: Welcomes and acknowledgements the batch made due. */
void broker_nodes_after_commit(broker_t *self);
/* Heartbeats, liveness, resends. */
void broker_nodes_cron(broker_t *self);

/* ---- broker_order.c: records, journal, the lifecycle's effects ------------- */
typedef struct {
    ob_role_t role;
    const char *id;
    const uint8_t *key;             /* 32 bytes or NULL */
} broker_actor_t;

int broker_order_load(broker_t *self, const uint8_t *id, ob_record_t **out);
int broker_order_find(broker_t *self, const Orderbus__V1__OrderRef *ref, ob_record_t **out,
                      char *err, size_t errlen);
int broker_order_save(broker_t *self, ob_record_t *rec, ob_state_t old_state,
                      const char *old_dept);
int broker_journal_append(broker_t *self, ob_record_t *rec, ob_event_t event,
                          ob_state_t from, const broker_actor_t *actor, const char *note,
                          const char *prev_dept, ob_journal_t *extra);
/* Moves `rec` by `event` through the lifecycle table (ob_fsm_apply) and
   carries out what follows, all in the batch's transaction: the outbox
   message to the department (a Dispatch, with a Recall of the attempt it
   replaces; or a Decision), the journal entry, the record and its
   indexes. Returns 0 with *code OK, or 0 with the refusal's *code and
   message (nothing changed), or a store error (abort the batch). */
int broker_order_apply(broker_t *self, ob_record_t *rec, ob_event_t event,
                       const ob_fsm_ctx_t *ctx, ob_errcode_t *code, char *err, size_t errlen);
/* Sets ctx's sign and reply deadlines (and their warnings) for a dispatch
   at ctx->now_ms with these limits, on the working-day calendar. */
void broker_order_deadlines(broker_t *self, ob_fsm_ctx_t *ctx, ob_limit_t sign,
                            ob_limit_t reply);
int broker_order_decision(broker_t *self, ob_record_t *rec, ob_event_t event, const char *note);
/* Queues a Dispatch of every order now at `dept` (its current attempt and
   state) for a node whose store lost what it had confirmed: it learns them
   again. *count: how many. In the batch's transaction. 0 or a store error. */
int broker_order_resend_dept(broker_t *self, const char *dept, size_t *count);
int broker_order_delivered(broker_t *self, const uint8_t *order_id, uint32_t attempt,
                           const char *dept);
/* Fills a Dispatch of `rec` for `attempt`: *order becomes a copy of the
   order without the complainant's contact, and d points at it. */
void broker_dispatch_fill(const ob_record_t *rec, ob_workorder_t *order,
                          Orderbus__V1__Dispatch *d, uint32_t attempt,
                          int64_t sign_deadline_ms, const char *note, ob_state_t state);
bool broker_dept_known(broker_t *self, const char *dept);
const char *broker_dept_name(broker_t *self, const char *dept);
/* Self-test: broker_order_apply() on a store in a temporary directory. */
void broker_order_test(bool verbose);

/* ---- broker_client.c, broker_answer.c: the client service ------------------ */
/* The request being handled. */
typedef struct {
    const ob_inmsg_t *in;
    const ob_envelope_t *env;
    ob_role_t role;
    const char *who;                /* the principal's id */
} broker_req_t;

int broker_client_handle(broker_t *self, const ob_inmsg_t *in);
/* Queues the answer to req (answer may be NULL: code and message only). */
int broker_answer(broker_t *self, const broker_req_t *req, ob_errcode_t code,
                  const char *message, ob_answer_t *answer);
int broker_answer_record(broker_t *self, const broker_req_t *req, ob_record_t *rec);
/* If req's msg id was applied already, answers as then and returns true
   (*rc: 0 or a store error). */
bool broker_answer_seen(broker_t *self, const broker_req_t *req, int *rc);
int broker_seen_put(broker_t *self, const broker_req_t *req, const uint8_t *order_id);
/* Loads the order `ref` names, answering the error itself when it cannot.
   Returns 1 with *rec set, 0 when answered, or a store error < 0. */
int broker_answer_find(broker_t *self, const broker_req_t *req,
                       const Orderbus__V1__OrderRef *ref, ob_record_t **rec);
/* Frees rec and answers the refusal. */
int broker_answer_refuse(broker_t *self, const broker_req_t *req, ob_record_t *rec,
                         ob_errcode_t code, const char *err);
/* Records req in `seen`, answers the record, frees it. */
int broker_answer_finish(broker_t *self, const broker_req_t *req, ob_record_t *rec, int rc);
/* Drops the contact (and the content too when `content`) from a record
   about to be answered. */
void broker_answer_strip(ob_record_t *rec, bool content);

/* ---- the requests: broker_submit.c, broker_decide.c, broker_query.c,
   broker_stats.c; each returns 0 (answered) or a store error ------------- */
int broker_submit(broker_t *self, const broker_req_t *req);
/* A department holds case number `case_no` (its Hello says so): the day's
   serial moves past it, so that a broker whose store was restored from a
   backup never gives it out again. In the batch's transaction. 0 or a
   store error; a case number of another form is ignored. */
int broker_case_at_least(broker_t *self, const char *case_no);
int broker_route(broker_t *self, const broker_req_t *req);
int broker_decide(broker_t *self, const broker_req_t *req, const Orderbus__V1__OrderRef *ref,
                  ob_event_t event, const char *note, Orderbus__V1__Satisfaction sat);
int broker_query_get(broker_t *self, const broker_req_t *req);
int broker_query_list(broker_t *self, const broker_req_t *req);
int broker_query_trace(broker_t *self, const broker_req_t *req);
int broker_query_status(broker_t *self, const broker_req_t *req);
int broker_stats(broker_t *self, const broker_req_t *req);

/* ---- broker_dead.c: messages a department refused for good ----------------- */
/* Moves the department's first unconfirmed message (acked_seq + 1) to the
   dead letters with `reason`, puts a Withdrawn in its place (the node
   consumes the seq and the messages behind it flow again), marks the
   order's transport FAILED. In the batch's transaction. 0 or a store error. */
int broker_dead_letter(broker_t *self, broker_node_t *node, const char *reason);
/* DeadRequest: list, requeue or drop (ops). */
int broker_dead(broker_t *self, const broker_req_t *req);

#endif
