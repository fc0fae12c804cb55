/*  node_inbox.h — the department node's store: its LMDB schema, and the one
    place that applies the centre's messages (Dispatch, Recall, Decision)
    and the department's acts (ob_act_t) to the node's copy of an order,
    always through the lifecycle table (ob_fsm_apply_node).

    The schema (an ob_store of kind OB_STORE_NODE; no other file of nodes/
    names a database):
      inbox   order id (16 bytes)            -> NodeOrder (protobuf): the
              department's copy of the order (contact stripped by the centre)
      outbox  node seq (8 bytes, big-endian) -> packed Envelope: an act not yet
              confirmed by the broker; deleted once confirmed (seq <= acked_seq)
      seen    clerk request msg_id (16)      -> wall-clock ms (8 bytes, big-
              endian) it was applied: a retried request is not applied twice;
              entries older than a week are pruned
      meta    text key                       -> value:
              "in_seq"     u64: highest broker seq applied here
              "out_seq"    u64: last node seq given to an act
              "acked_seq"  u64: highest node seq the broker confirmed
              "dept"       the department's name as the broker welcomed it
                           (raw bytes, at most OB_DEPT_MAX)
              "last_case_no" the highest case number sent here (text): told
                           in Hello, so that a restored broker never gives
                           it out again
              "instance"   16 random bytes made once, when the store is first
                           opened by a release that knows them: the node's
                           identity on the link (Hello.instance); the
                           department's acts are numbered per instance
              "demo_returned.<32 hex id>"  u64 1: the demo agent asked to
                           return this order (it never asks twice)
              (ob_store's own stamp: kind and schema version)
      u64 values are 8 bytes big-endian (ob_store_meta_get_u64/put_u64); a
      missing one reads as 0.

    Everything runs inside a write transaction the loop hands in, between
    node_inbox_batch_begin and node_inbox_batch_commit (or _abort): the
    outbox's next seq and the list of orders the batch touched are kept
    pending until the commit. Errors are LMDB codes passed up.            */
#ifndef NODE_INBOX_H
#define NODE_INBOX_H

#include "ob_common.h"
#include "ob_order.h"
#include "ob_store.h"

typedef struct node_inbox node_inbox_t;

/* A department act (签收, 进展, 退回, 办结反馈) from the clerk CLI through
   the local service, or from the demo agent: both take this one path. */
typedef struct {
    ob_act_t act;
    bool demo;                         /* the demo agent acted (for logs) */
} node_action_t;

/* An order the batch changed, read after the commit (for the demo agent). */
typedef struct {
    uint8_t id[OB_ID_BYTES];
    ob_state_t state_now;              /* its state after the change */
    uint32_t attempt;
    ob_event_t event;                  /* what changed it */
} node_touched_t;

/* A centre message the node refuses for good: answered to the broker with
   an Error{code, message} after the commit. code OK: nothing refused. */
typedef struct {
    ob_errcode_t code;
    char message[200];
} node_refusal_t;

#define NODE_TOUCHED_MAX 768           /* orders remembered per batch */

/* Opens (creating) the store in `dir`. map_mb 0: the default. NULL with a
   message in err (another kind of store, unknown schema, cannot create). */
node_inbox_t *node_inbox_open(const char *dir, size_t map_mb, char *err, size_t errlen);
void node_inbox_destroy(node_inbox_t **self_p);

/* The store, for transactions, growth and usage. */
ob_store_t *node_inbox_store(node_inbox_t *self);

/* The store's instance id (OB_ID_BYTES), made when the store was first
   opened (see "instance" above). */
const uint8_t *node_inbox_instance(node_inbox_t *self);

/* The highest case number this node was sent (meta "last_case_no"), into
   out (OB_CASE_NO_MAX), "" when none. 0 or an LMDB code. */
int node_inbox_last_case(node_inbox_t *self, MDB_txn *txn, char *out);

/* --- the batch --------------------------------------------------------- */

void node_inbox_batch_begin(node_inbox_t *self);
void node_inbox_batch_commit(node_inbox_t *self);
void node_inbox_batch_abort(node_inbox_t *self);

/* The orders the last committed batch changed (valid until the next
   batch_begin). Returns how many. */
size_t node_inbox_touched(node_inbox_t *self, const node_touched_t **list);

/* --- meta ---------------------------------------------------------------- */

/* u64 meta values ("in_seq", "acked_seq"). Return 0 or an LMDB code. */
int node_inbox_meta_get(node_inbox_t *self, MDB_txn *txn, const char *key, uint64_t *out);
int node_inbox_meta_put(node_inbox_t *self, MDB_txn *txn, const char *key, uint64_t v);

/* "dept": the department's name ("" when never welcomed). Return 0 or an
   LMDB code; a name that does not fit reads as "". */
int node_inbox_dept_get(node_inbox_t *self, MDB_txn *txn, char dept[OB_DEPT_MAX + 1]);
int node_inbox_dept_put(node_inbox_t *self, MDB_txn *txn, const char *dept);

/* --- outbox -------------------------------------------------------------- */

/* The last node seq given to an act: committed, or inside the open batch. */
uint64_t node_inbox_out_seq(node_inbox_t *self, bool pending);

/* Appends one act's envelope: assigns the next seq (env->seq) and the
   sender, packs and stores it, and advances "out_seq". Returns 0, ENOMEM
   when it cannot pack, or an LMDB code. */
int node_inbox_outbox_append(node_inbox_t *self, MDB_txn *txn, ob_envelope_t *env,
                             const char *sender);

/* Numbering continues after `seq` (the broker has more of ours than this
   store: a store restored from a backup). Returns 0 or an LMDB code. */
int node_inbox_outbox_skip_to(node_inbox_t *self, MDB_txn *txn, uint64_t seq);

/* The packed envelope of `seq` (borrowed from the txn). Returns 0,
   MDB_NOTFOUND or an LMDB code. */
int node_inbox_outbox_get(node_inbox_t *self, MDB_txn *txn, uint64_t seq, MDB_val *packed);

/* Deletes the entries with seq <= upto. Returns 0 or an LMDB code. */
int node_inbox_outbox_trim(node_inbox_t *self, MDB_txn *txn, uint64_t upto);

/* --- applying ------------------------------------------------------------ */

/* Applies a Dispatch, Recall or Decision from the centre (its seq already
   checked). A message refused for good (missing fields, a stale attempt,
   a move the lifecycle refuses) sets *refusal and returns 0; a message
   that needs nothing done returns 0 with refusal->code OK. Returns an
   LMDB code when the store failed (the batch must be aborted). */
int node_inbox_apply_centre(node_inbox_t *self, MDB_txn *txn, const ob_envelope_t *env,
                            node_refusal_t *refusal);

/* Applies a department act: checks its fields against the field table
   (ERR_BAD_REQUEST), the order (ERR_NOT_FOUND, ERR_STALE_ATTEMPT when
   recalled) and moves it through the lifecycle table (role DEPARTMENT:
   ERR_ILLEGAL_TRANSITION ...); on success stores the order and appends the
   act (ob_act_encode, `sender` as its sender) to the outbox.
   Returns 0 with *code (OK or the refusal, message in err) and, for OK, the
   order after it in *order_out (free with protobuf_c_message_free_unpacked);
   or an LMDB code when the store failed (the batch must be aborted). */
int node_inbox_apply_act(node_inbox_t *self, MDB_txn *txn, const node_action_t *action,
                         const char *sender, ob_errcode_t *code, char *err, size_t errlen,
                         ob_nodeorder_t **order_out);

/* --- reading ------------------------------------------------------------- */

/* The order `id`: 0 with *out (free it), MDB_NOTFOUND (also for an entry
   that does not unpack, with a warning), or an LMDB code. */
int node_inbox_get(node_inbox_t *self, MDB_txn *txn, const uint8_t id[OB_ID_BYTES],
                   ob_nodeorder_t **out);

/* Called for each inbox entry in id order: return 0 to go on, 1 to stop,
   or an error code (passed up). `packed` is the NodeOrder's bytes. */
typedef int (node_inbox_visit_fn)(void *arg, const uint8_t id[OB_ID_BYTES],
                                  const void *packed, size_t len);

/* Visits the entries after `after_id` (NULL: from the first). Returns 0
   (also when stopped) or an error code. */
int node_inbox_scan(node_inbox_t *self, MDB_txn *txn, const uint8_t *after_id,
                    node_inbox_visit_fn *visit, void *arg);

/* Unpacks an entry a scan visits; NULL (with a warning naming the id) when
   it does not unpack. */
ob_nodeorder_t *node_inbox_unpack(const uint8_t id[OB_ID_BYTES], const void *packed, size_t len);

/* Open orders in the inbox. Returns 0 or an LMDB code. */
int node_inbox_count_open(node_inbox_t *self, MDB_txn *txn, uint64_t *open);

/* Clerk request dedup: *seen true when msg_id was applied before. */
int node_inbox_seen_get(node_inbox_t *self, MDB_txn *txn, const uint8_t msg_id[OB_ID_BYTES],
                        bool *seen);
int node_inbox_seen_put(node_inbox_t *self, MDB_txn *txn, const uint8_t msg_id[OB_ID_BYTES]);

/* Drops seen entries older than `keep_ms`, in its own transaction.
   Returns 0 (with *dropped) or an LMDB code. */
int node_inbox_seen_prune(node_inbox_t *self, int64_t keep_ms, size_t *dropped);

/* Whether the demo agent asked to return the order. Returns 0 or an LMDB
   code. */
int node_inbox_demo_returned(node_inbox_t *self, MDB_txn *txn, const uint8_t id[OB_ID_BYTES],
                             bool *returned);

void node_inbox_test(bool verbose);

#endif
