/*  node_local.h — the node's local service for the department's clerk CLI
    and integrations: a ROUTER bound at ipc://DIR/node.sock (the directory is
    0700, so file permissions are the access control). Each request is one
    Envelope and gets exactly one Answer (docs/PROTOCOL.md §6):

      InboxRequest{ref}                       -> Answer.inbox[0]: that one order,
                                                 whatever its state (ERR_NOT_FOUND)
      InboxRequest{state, all, limit, after_id}
                                              -> Answer.inbox: open orders (or
                                                 those in `state`, or every one
                                                 with `all`), ascending by id,
                                                 after `after_id`; a page cut by
                                                 the frame size carries a note
      Sign / Progress / ReturnRequest / Reply -> Answer.inbox[0] (order after it)
      StatusRequest                           -> Answer.local

    Requests are read by the loop, handled inside the loop's write
    transaction, and answered only after that transaction committed.       */
#ifndef NODE_LOCAL_H
#define NODE_LOCAL_H

#include "ob_common.h"
#include "ob_wire.h"
#include "node_inbox.h"

typedef struct node_local node_local_t;

/* One request of the current batch, with its answer once handled. */
typedef struct {
    ob_inmsg_t in;               /* routing id and raw frame */
    ob_envelope_t *env;          /* decoded request, NULL if refused on decode */
    ob_errcode_t decode_code;    /* why decoding failed */
    char decode_err[160];
    uint8_t *answer;             /* packed Answer envelope, to send after commit */
    size_t answer_len;
} node_local_req_t;

/* Binds ipc://DIR/node.sock (a stale socket file is removed first; DIR must
   exist). Returns NULL with a message in err. */
node_local_t *node_local_new(void *zmq_ctx, const char *dir, char *err, size_t errlen);
void node_local_destroy(node_local_t **self_p);

void *node_local_socket(node_local_t *self);
const char *node_local_endpoint(node_local_t *self);

/* Reads and decodes one request without blocking. Returns 0, or -1 when
   nothing is readable. A frame that does not decode still returns 0 with
   req->env NULL: it is answered ERR_BAD_REQUEST (or the decode code). */
int node_local_recv(node_local_t *self, node_local_req_t *req);

/* What the service shows of the link (StatusRequest) and signs acts with:
   filled by the loop from the link's committed values before each batch
   (the service never calls back into the node). */
typedef struct {
    const char *dept;            /* the department ("" before the first Welcome) */
    bool broker_up;              /* the link is CONNECTED */
    int64_t last_broker_ms;      /* wall clock of the broker's last frame, 0 never */
    uint64_t outbox_depth;       /* acts not yet confirmed by the broker */
    uint64_t last_applied_seq;   /* highest broker seq applied here */
} node_local_view_t;

/* Handles `req` inside `txn` on `inbox`, building req->answer. Returns 0,
   or an LMDB code when the store failed (the batch is then aborted or
   retried, and node_local_fail sets the answer). */
int node_local_handle(node_local_t *self, node_inbox_t *inbox, const node_local_view_t *view,
                      MDB_txn *txn, node_local_req_t *req);

/* Replaces req's answer by an error answer. */
void node_local_fail(node_local_req_t *req, ob_errcode_t code, const char *message);

/* Sends req's answer (after the commit). A clerk that went away is not an
   error: the answer is dropped with a debug line. */
void node_local_send(node_local_t *self, node_local_req_t *req);

/* Frees what req holds (safe twice). */
void node_local_req_clear(node_local_req_t *req);

#endif
