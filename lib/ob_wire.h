/*  ob_wire.h — the Envelope on the wire: build, pack, send, receive, decode.

    Every orderbus message is one ZeroMQ frame holding one Envelope; ROUTER
    sockets add the routing-id frame in front. Decoders cap the size before
    unpacking and refuse unknown versions; nothing here ever aborts on input. */
#ifndef OB_WIRE_H
#define OB_WIRE_H

#include "ob_common.h"

#define OB_WIRE_VERSION 1
#define OB_RID_MAX 256            /* largest ZeroMQ routing id */
#define OB_USER_ID_MAX 128
#define OB_WIRE_REF_MAX 64        /* longest msg id echoed in ref_msg_id */

/* A message under construction: the envelope and storage for its msg id.
   After ob_msg_init() set env.body_case and the matching body pointer,
   e.g.  m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SIGN; m.env.sign = &s;  */
typedef struct {
    ob_envelope_t env;
    uint8_t msg_id[OB_ID_BYTES];
} ob_msg_t;

/* Initialises an envelope: version 1, a fresh random msg id, sent_at now,
   sender (borrowed, may be NULL), seq 0, no body. */
void ob_msg_init(ob_msg_t *self, const char *sender);

/* One received message. `data` is the payload frame (owned, free with
   ob_inmsg_clear). `user_id` is the ZAP User-Id of the connection the frame
   came in on ("" on unauthenticated sockets such as ipc). */
typedef struct {
    uint8_t rid[OB_RID_MAX];      /* routing id (ROUTER sockets), rid_len 0 otherwise */
    size_t rid_len;
    uint8_t *data;
    size_t size;
    char user_id[OB_USER_ID_MAX];
    bool truncated;               /* more than rid+payload frames, or oversize: refuse */
    int64_t at_us;                /* wall clock (unix us) when it was taken from the socket */
    uint8_t msg_id[OB_WIRE_REF_MAX];  /* the payload's msg id as sent, when it can be read */
    size_t msg_id_len;            /* 0: none could be read (see ob_wire_peek_msg_id) */
} ob_inmsg_t;

/* Receives one whole message (all its frames) from `sock` without blocking.
   `router` says whether the first frame is a routing id. Returns 0, or -1
   with errno EAGAIN when nothing is readable (or another zmq errno).
   Frames past the expected count are read and dropped, and `truncated` set.
   `msg_id` is peeked from the payload frame whatever its size, so that a
   refusal (too large, extra frames, wrong version ...) can still name the
   request in its ref_msg_id. */
int  ob_wire_recv(void *sock, bool router, ob_inmsg_t *in);
void ob_inmsg_clear(ob_inmsg_t *in);

/* Decodes an envelope. Refuses (NULL, with *code and a message in err):
   size over OB_MAX_FRAME (ERR_TOO_LARGE), bytes that are not an Envelope
   (ERR_BAD_REQUEST), version other than 1 (ERR_UNSUPPORTED_VERSION), msg_id
   not 16 bytes (ERR_BAD_REQUEST), no body (ERR_BAD_REQUEST). Free the result
   with ob_wire_free. */
ob_envelope_t *ob_wire_decode(const void *data, size_t size, ob_errcode_t *code,
                              char *err, size_t errlen);
void ob_wire_free(ob_envelope_t *env);

/* Reads the `msg_id` field of an envelope's bytes without unpacking them,
   for the answer to an envelope that is refused. Walks the top-level fields
   only (cheap at any size) and takes the last msg_id, as the decoder would.
   Returns its length (the bytes copied into out), or 0 when the top level
   does not parse, there is no msg_id, or it is empty or longer than
   OB_WIRE_REF_MAX. A short or overlong id up to that size is returned as it
   is: it is what the sender will look for in ref_msg_id. */
size_t ob_wire_peek_msg_id(const void *data, size_t size, uint8_t out[OB_WIRE_REF_MAX]);

/* As ob_wire_decode, for the node link: a reliable message (seq > 0)
   whose body this peer does not know (a newer peer's) is returned with
   body_case NOT_SET instead of refused, so that the receiver consumes it
   in sequence and answers Error, and it never blocks the ones behind it. */
ob_envelope_t *ob_wire_decode_link(const void *data, size_t size, ob_errcode_t *code,
                                   char *err, size_t errlen);

/* Packs `env` into a malloc'd buffer. Returns 0, -1 on out of memory. */
int ob_wire_pack(const ob_envelope_t *env, uint8_t **out, size_t *len);

/* Sends one message: the routing frame first when rid != NULL, then the
   packed envelope. Non-blocking. Returns 0, or -1 with errno (EAGAIN at the
   high-water mark, EHOSTUNREACH for an unknown routing id on a ROUTER with
   ZMQ_ROUTER_MANDATORY). */
int ob_wire_send(void *sock, const uint8_t *rid, size_t rid_len, const ob_envelope_t *env);
int ob_wire_send_raw(void *sock, const uint8_t *rid, size_t rid_len,
                     const void *data, size_t len);
/* As ob_wire_send_raw for a malloc'd buffer whose ownership passes to
   ZeroMQ (no copy); `data` is freed whatever the outcome. A `topic`
   (PUB sockets) goes in a frame of its own before it, instead of a rid. */
int ob_wire_send_owned(void *sock, const uint8_t *rid, size_t rid_len, const char *topic,
                       uint8_t *data, size_t len);

/* Builds and sends an Answer{code, message} to `rid` referring to msg id
   `ref` (may be NULL). Used for errors; returns as ob_wire_send. */
int ob_wire_send_error_answer(void *sock, const uint8_t *rid, size_t rid_len,
                              const uint8_t *ref, size_t ref_len,
                              ob_errcode_t code, const char *message);

/* Sends an Error{code, message, ref msg id, ref seq} body (node link). */
int ob_wire_send_error(void *sock, const uint8_t *rid, size_t rid_len,
                       const uint8_t *ref, size_t ref_len, uint64_t ref_seq,
                       ob_errcode_t code, const char *message);

/* Name of an envelope body case, e.g. "sign"; "unknown" if out of range. */
const char *ob_wire_body_name(int body_case);

/* Error code name without prefix, e.g. "ERR_NOT_FOUND" -> "NOT_FOUND". */
const char *ob_errcode_name(ob_errcode_t code);

void ob_wire_test(bool verbose);

#endif
