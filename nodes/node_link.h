/*  node_link.h — the department node's link to its broker: a DEALER with
    CurveZMQ, as an explicit client state machine, and the node's side of the
    reliable sequence protocol (docs/PROTOCOL.md §3).

    Phases (node_link_phase_t; the connection's, not an order's state):
      DISCONNECTED  no usable connection; Hello is sent as soon as the socket
                    monitor reports a completed Curve handshake (and retried
                    every 200 ms; ZMQ_IMMEDIATE makes a send fail until then)
      HELLO_SENT    Hello{last_applied_seq = in_seq} sent, waiting for Welcome
      CONNECTED     Welcome received: outbox resent in order, heartbeats at the
                  interval the Welcome names (the broker judges liveness by it)
    Transitions: Hello sent -> HELLO_SENT; Welcome -> CONNECTED; the
    connection dropped (socket monitor) -> DISCONNECTED; 3 heartbeat
    intervals of broker silence (in HELLO_SENT or CONNECTED) -> the socket is
    dropped and a new one made -> DISCONNECTED.

    Sequences (committed values live in the store's meta, node_inbox.h):
      in_seq    highest broker seq committed here ("in_seq")
      out_seq   last seq given to one of our acts (the inbox's outbox)
      acked_seq highest own seq the broker confirmed ("acked_seq")
    The loop runs each batch as: node_link_batch_begin, then for every message
    node_link_take_* inside the write transaction, then node_link_batch_commit
    (or _abort) and node_link_flush after the commit. Nothing is sent to the
    broker before the transaction holding its cause has committed.          */
#ifndef NODE_LINK_H
#define NODE_LINK_H

#include "ob_common.h"
#include "ob_keys.h"
#include "node_inbox.h"

typedef enum {
    NODE_LINK_DISCONNECTED = 0,
    NODE_LINK_HELLO_SENT,
    NODE_LINK_CONNECTED
} node_link_phase_t;

/* What to do with a reliable message from the broker (seq rules, §3). */
typedef enum {
    NODE_SEQ_APPLY = 0,   /* seq = last + 1: apply it, then node_link_applied() */
    NODE_SEQ_DUP,         /* seq <= last: already applied; re-acknowledged */
    NODE_SEQ_GAP          /* seq > last + 1: not applied; ERR_OUT_OF_ORDER sent */
} node_seq_verdict_t;

#define NODE_LINK_WINDOW 256          /* unconfirmed own messages on the wire */
#define NODE_LINK_RETRY_MIN_MS 1000   /* go-back-N retry interval, doubling ... */
#define NODE_LINK_RETRY_MAX_MS 30000  /* ... up to this */
#define NODE_LINK_HEARTBEAT_MIN_MS 50       /* a Welcome's heartbeat_ms is adopted ... */
#define NODE_LINK_HEARTBEAT_MAX_MS 600000   /* ... within these bounds */

typedef struct node_link node_link_t;

/* Creates the link (and its first socket, connecting to `endpoint`).
   `broker_public` is the broker's public key, `keys` this node's keypair
   (both borrowed, must outlive the link). Seqs are read from `inbox`
   (borrowed), whose outbox the link sends and trims.
   Returns NULL with a message in err. */
node_link_t *node_link_new(void *zmq_ctx, node_inbox_t *inbox, const char *endpoint,
                           const ob_keypair_t *broker_public, const ob_keypair_t *keys,
                           int heartbeat_ms, char *err, size_t errlen);
void node_link_destroy(node_link_t **self_p);

/* The DEALER (poll it for input; read with ob_wire_recv(sock, false, ...))
   and the socket monitor (poll it; drain with node_link_take_monitor). Both
   change on a reconnect: fetch them again each turn. */
void *node_link_socket(node_link_t *self);
void *node_link_monitor(node_link_t *self);

/* Reads pending socket-monitor events (connected, disconnected, handshake
   failures) and moves the state machine. Never blocks. */
void node_link_take_monitor(node_link_t *self);

/* Notes that a frame arrived from the broker (liveness). */
void node_link_touch(node_link_t *self);

node_link_phase_t node_link_phase(node_link_t *self);
const char *node_link_phase_name(node_link_phase_t phase);

/* The department the broker welcomed us as ("" before the first Welcome;
   kept in the store's meta so status shows it while offline). */
const char *node_link_dept(node_link_t *self);

/* Committed values, for status. */
uint64_t node_link_in_seq(node_link_t *self);
uint64_t node_link_outbox_depth(node_link_t *self);
int64_t  node_link_last_broker_ms(node_link_t *self);

/* The heartbeat interval in use: the one given to node_link_new until a
   Welcome names the broker's (Welcome.heartbeat_ms, adopted when within
   NODE_LINK_HEARTBEAT_MIN_MS..MAX_MS), then the broker's. */
int node_link_heartbeat_ms(node_link_t *self);

/* --- batch phase (inside one write transaction) ----------------------- */

void node_link_batch_begin(node_link_t *self);

/* Handles a transport body (Welcome, Received, Heartbeat, Error, Hello) from
   the broker inside `txn`: outbox entries the broker has are deleted, meta
   updated. Returns 0 or an LMDB code (the batch must then be aborted). */
int node_link_take_transport(node_link_t *self, MDB_txn *txn, const ob_envelope_t *env);

/* Classifies a reliable message by its seq. For NODE_SEQ_APPLY the caller
   applies the effect and then calls node_link_applied in the same txn. */
node_seq_verdict_t node_link_check_seq(node_link_t *self, uint64_t seq);

/* Advances in_seq to `seq` in `txn` (meta "in_seq"). Returns 0 or LMDB code. */
int node_link_applied(node_link_t *self, MDB_txn *txn, uint64_t seq);

/* Queues an Error{code, message, ref_msg_id} to the broker, sent after the
   commit (a valid reliable message refused by the business rules). */
void node_link_queue_error(node_link_t *self, const uint8_t *ref_msg_id, size_t ref_len,
                           ob_errcode_t code, const char *message);

/* Adopts the batch's sequence changes (after a successful commit), or
   forgets them (after an abort). */
void node_link_batch_commit(node_link_t *self);
void node_link_batch_abort(node_link_t *self);

/* --- after the commit ---------------------------------------------------- */

/* Sends what the committed batch owes the broker: Received{in_seq}, a gap
   error, business errors, then outbox messages within the window. */
void node_link_flush(node_link_t *self);

/* Timers: Hello attempts, heartbeat, liveness (reconnect), go-back-N
   retransmit. Call once a turn, after node_link_flush. */
void node_link_cron(node_link_t *self);

/* Milliseconds until the next link timer is due (0 if due now). */
int node_link_next_timer_ms(node_link_t *self);

void node_link_test(bool verbose);

#endif
