/*  node.h — the department node daemon (orderbus-node): its store, its
    link to the broker, its local service for the clerk CLI, the optional
    demo auto-handling agent, and the one loop that drives them
    (STYLE habit 5, DESIGN §5): poll, drain readable sockets into ONE write
    transaction, commit, then send answers, acks and outbox messages, then
    run due timers.                                                         */
#ifndef NODE_H
#define NODE_H

#include "ob_common.h"
#include "ob_store.h"
#include "ob_order.h"
#include <signal.h>

/* Settings, from flags and the config file (strings borrowed). */
typedef struct {
    const char *data_dir;         /* store, lock file and node.sock */
    const char *broker;           /* broker node-link endpoint */
    const char *broker_key;       /* file with the broker's public key */
    const char *key;              /* this node's keypair file */
    int heartbeat_ms;             /* heartbeat interval, default 1000 */
    size_t map_mb;                /* initial LMDB map size, 0: default */
    bool demo_auto;               /* demo auto-handling mode */
    uint64_t demo_seed;           /* PRNG seed for the demo agent */
    int demo_min_ms, demo_max_ms; /* demo delay range per step */
    int demo_return_pct;          /* % of first dispatches the demo returns */
} node_config_t;

typedef struct node node_t;

/* A department act (签收, 进展, 退回, 办结反馈: ob_act_t, the one codec's
   form) from the clerk CLI through the local service, or from the demo
   agent: both take this one path. */
typedef struct {
    ob_act_t act;
    bool demo;                         /* the demo agent acted (for logs) */
} node_action_t;

/* Opens the store, loads the keys, binds the local service, creates the
   broker link. Returns NULL with a message in err; *exit_code is set to a
   sysexits.h code saying what failed (EX_CONFIG, EX_CANTCREAT,
   EX_UNAVAILABLE, EX_TEMPFAIL when another node runs on the directory). */
node_t *node_new(const node_config_t *cfg, int *exit_code, char *err, size_t errlen);
void node_destroy(node_t **self_p);

/* Runs the loop until *stop becomes non-zero. Returns 0 on a clean stop,
   -1 when ZeroMQ itself failed. */
int node_run(node_t *self, volatile sig_atomic_t *stop);

/* For the local service and the demo agent: */
ob_store_t *node_store(node_t *self);

/* Applies a department action inside `txn`: checks the fields against the
   field table (ERR_BAD_REQUEST), the order (ERR_NOT_FOUND, ERR_STALE_ATTEMPT
   when recalled or when a given attempt differs) and moves it through the
   lifecycle table (ob_fsm_apply_node, role DEPARTMENT:
   ERR_ILLEGAL_TRANSITION); on success updates the NodeOrder and appends the
   act (ob_act_encode) to the outbox in the same txn.
   Returns 0 with *code (OK or the refusal, message in err) and, for OK, the
   updated order in *order_out (free with protobuf_c_message_free_unpacked);
   or an LMDB code when the store failed (the batch must be aborted). */
int node_apply_action(node_t *self, MDB_txn *txn, const node_action_t *action,
                         ob_errcode_t *code, char *err, size_t errlen,
                         ob_nodeorder_t **order_out);

/* Fills a LocalStatus (dept string borrowed from the node) inside txn.
   Returns 0 or an LMDB code. */
int node_local_status(node_t *self, MDB_txn *txn, Orderbus__V1__LocalStatus *st);

#endif
