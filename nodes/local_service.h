/*  local_service.h — the node's local service for the department's clerk CLI
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
#ifndef OB_LOCAL_SERVICE_H
#define OB_LOCAL_SERVICE_H

#include "ob_common.h"
#include "ob_wire.h"
#include "ob_node.h"

typedef struct ob_local ob_local_t;

/* One request of the current batch, with its answer once handled. */
typedef struct {
    ob_inmsg_t in;               /* routing id and raw frame */
    ob_envelope_t *env;          /* decoded request, NULL if refused on decode */
    ob_errcode_t decode_code;    /* why decoding failed */
    char decode_err[160];
    uint8_t *answer;             /* packed Answer envelope, to send after commit */
    size_t answer_len;
} ob_local_req_t;

/* Binds ipc://DIR/node.sock (a stale socket file is removed first; DIR must
   exist). Returns NULL with a message in err. */
ob_local_t *ob_local_new(void *zmq_ctx, const char *dir, char *err, size_t errlen);
void ob_local_destroy(ob_local_t **self_p);

void *ob_local_socket(ob_local_t *self);
const char *ob_local_endpoint(ob_local_t *self);

/* Reads and decodes one request without blocking. Returns 0, or -1 when
   nothing is readable. A frame that does not decode still returns 0 with
   req->env NULL: it is answered ERR_BAD_REQUEST (or the decode code). */
int ob_local_recv(ob_local_t *self, ob_local_req_t *req);

/* Handles `req` inside `txn`, building req->answer. Returns 0, or an LMDB
   code when the store failed (the batch is then aborted or retried, and
   ob_local_fail sets the answer). */
int ob_local_handle(ob_local_t *self, ob_node_t *node, MDB_txn *txn, ob_local_req_t *req);

/* Replaces req's answer by an error answer. */
void ob_local_fail(ob_local_req_t *req, ob_errcode_t code, const char *message);

/* Sends req's answer (after the commit). A clerk that went away is not an
   error: the answer is dropped with a debug line. */
void ob_local_send(ob_local_t *self, ob_local_req_t *req);

/* Frees what req holds (safe twice). */
void ob_local_req_clear(ob_local_req_t *req);

#endif
