/*  ob_client.h — the client side of the request/answer services: the CLI,
    intake and tools talking to the broker's client service (CurveZMQ over
    TCP) or to a node's local service (ipc, no Curve).

    An explicit little state machine: CONNECTED -> (request sent) WAITING ->
    answer -> CONNECTED; on a time-out the socket is dropped and reconnected
    and every unanswered request is resent with its original msg id, which the
    server deduplicates, so a retried submit never makes two orders.       */
#ifndef OB_CLIENT_H
#define OB_CLIENT_H

#include "ob_common.h"
#include "ob_keys.h"

typedef struct ob_client ob_client_t;

/* Connects a DEALER to `endpoint`. For tcp:// endpoints `server_public`
   (the broker's public key) and `keys` (this client's keypair) are required;
   for ipc:// they must be NULL. Returns NULL with a message in err. */
ob_client_t *ob_client_new(const char *endpoint, const ob_keypair_t *server_public,
                           const ob_keypair_t *keys, char *err, size_t errlen);
void ob_client_destroy(ob_client_t **self_p);

/* Sends the request in `env` (its msg id must be set: ob_msg_init) and waits
   for the Answer that refers to it, resending every `retry_ms` and giving up
   after `timeout_ms`. Returns the answer envelope (free with ob_wire_free) or
   NULL with a message in err ("broker did not answer within 5 s at tcp://..."). */
ob_envelope_t *ob_client_call(ob_client_t *self, const ob_envelope_t *env,
                              int timeout_ms, char *err, size_t errlen);

/* Pipelined use (batch submit, bench): send now, collect answers later. The
   client remembers each packed request until its answer arrives, so
   ob_client_recv can resend on a reconnect. Returns 0 or -1. */
int ob_client_send(ob_client_t *self, const ob_envelope_t *env);

/* Waits up to timeout_ms for any answer. Returns it (free with ob_wire_free),
   or NULL on time-out; after `retry_ms` of silence with requests
   outstanding it reconnects and resends them. */
ob_envelope_t *ob_client_recv(ob_client_t *self, int timeout_ms);

/* What the client knows of its connection, from ZeroMQ's socket monitor:
   the likely cause when an answer does not come. */
typedef enum {
    OB_CLIENT_NEVER_CONNECTED,   /* no connection made: server down, wrong endpoint */
    OB_CLIENT_HANDSHAKING,       /* connected, the handshake not finished (server stalled) */
    OB_CLIENT_REFUSED,           /* the server refused this client's key
                                    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: not registered) */
    OB_CLIENT_HANDSHAKE_FAILED,  /* connected, the handshake failed or the server closed
                                    the connection during it (wrong server key) */
    OB_CLIENT_READY,             /* handshake done: requests reach the server */
    OB_CLIENT_LOST               /* was ready, the connection dropped */
} ob_client_link_t;

/* The state of the link now (refused or failed stay so while the client
   keeps trying, until a handshake succeeds). */
ob_client_link_t ob_client_link(ob_client_t *self);

/* "never connected", "key refused", ... */
const char *ob_client_link_name(ob_client_link_t link);

/* Requests sent and not yet answered. */
size_t ob_client_outstanding(ob_client_t *self);

void ob_client_set_retry(ob_client_t *self, int retry_ms);
void ob_client_test(bool verbose);

#endif
