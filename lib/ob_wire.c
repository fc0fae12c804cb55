/*  ob_wire.c — the Envelope on the wire.

    Receiving reads every frame of a message, so a peer that sends too many
    frames cannot desynchronise the socket; decoding caps the size before
    protobuf-c sees the bytes and checks version, msg id and body before any
    handler does.                                                           */
#include "ob_wire.h"
#include "ob_util.h"
#include "ob_fsm.h"
#include <assert.h>
#include <zmq.h>
#include "ob_selftest.h"   /* last: asserts on in the self-test, also with -DNDEBUG */

void ob_msg_init(ob_msg_t *self, const char *sender)
{
    orderbus__v1__envelope__init(&self->env);
    self->env.version = OB_WIRE_VERSION;
    ob_id_new(self->msg_id);
    self->env.msg_id.data = self->msg_id;
    self->env.msg_id.len = OB_ID_BYTES;
    self->env.sent_at_ms = ob_now_ms();
    if (sender)
        self->env.sender = (char *) sender;
}

int ob_wire_recv(void *sock, bool router, ob_inmsg_t *in)
{
    memset(in, 0, sizeof *in);
    int frame = 0;
    int more = 1;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int flags = frame == 0 ? ZMQ_DONTWAIT : 0;
        if (zmq_msg_recv(&msg, sock, flags) < 0) {
            int e = errno;
            zmq_msg_close(&msg);
            if (frame == 0) {
                errno = e;
                return -1;
            }
            in->truncated = true;   /* interrupted mid-message */
            break;
        }
        if (frame == 0)
            in->at_us = ob_now_us();
        more = zmq_msg_more(&msg);
        size_t size = zmq_msg_size(&msg);
        if (router && frame == 0) {
            if (size <= OB_RID_MAX) {
                memcpy(in->rid, zmq_msg_data(&msg), size);
                in->rid_len = size;
            } else
                in->truncated = true;
        } else if (frame == (router ? 1 : 0)) {
            if (size > OB_MAX_FRAME) {
                in->truncated = true;
                in->size = size;    /* reported, not kept */
            } else {
                in->data = malloc(size ? size : 1);
                if (in->data) {
                    memcpy(in->data, zmq_msg_data(&msg), size);
                    in->size = size;
                } else
                    in->truncated = true;
            }
            in->msg_id_len = ob_wire_peek_msg_id(zmq_msg_data(&msg), size, in->msg_id);
            const char *uid = zmq_msg_gets(&msg, "User-Id");
            if (uid)
                snprintf(in->user_id, sizeof in->user_id, "%s", uid);
        } else
            in->truncated = true;   /* extra frames: read and drop */
        zmq_msg_close(&msg);
        frame++;
    }
    if (frame < (router ? 2 : 1))
        in->truncated = true;
    return 0;
}

/* Reads a base-128 varint at *pos (at most 10 bytes). Returns 0 and moves
   *pos past it, or -1 when it runs past `size` or is too long. */
static int s_varint(const uint8_t *p, size_t size, size_t *pos, uint64_t *value)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && *pos < size; shift += 7) {
        uint8_t byte = p[(*pos)++];
        v |= (uint64_t) (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = v;
            return 0;
        }
    }
    return -1;
}

size_t ob_wire_peek_msg_id(const void *data, size_t size, uint8_t out[OB_WIRE_REF_MAX])
{
    const uint8_t *p = data;
    size_t pos = 0;
    size_t id_at = 0, id_len = 0;
    while (pos < size) {
        uint64_t tag, len;
        if (s_varint(p, size, &pos, &tag) < 0)
            return 0;
        switch (tag & 7) {
        case 0:   /* varint */
            if (s_varint(p, size, &pos, &len) < 0)
                return 0;
            break;
        case 1:   /* 64-bit */
            if (size - pos < 8)
                return 0;
            pos += 8;
            break;
        case 5:   /* 32-bit */
            if (size - pos < 4)
                return 0;
            pos += 4;
            break;
        case 2:   /* length-delimited */
            if (s_varint(p, size, &pos, &len) < 0 || len > size - pos)
                return 0;
            if (tag >> 3 == 2) {
                id_at = pos;
                id_len = (size_t) len;
            }
            pos += (size_t) len;
            break;
        default:  /* groups: never in an envelope */
            return 0;
        }
    }
    if (id_len == 0 || id_len > OB_WIRE_REF_MAX)
        return 0;
    memcpy(out, p + id_at, id_len);
    return id_len;
}

void ob_inmsg_clear(ob_inmsg_t *in)
{
    free(in->data);
    in->data = NULL;
    in->size = 0;
}

/* Drops every unknown field of `msg` and of the messages below it. Unknown
   fields are ignored by every orderbus receiver anyway; dropping them keeps
   stored records canonical and keeps out what protobuf-c accepts on input
   but cannot pack again (a field numbered 0). */
static void s_drop_unknown(ProtobufCMessage *msg)
{
    if (!msg)
        return;
    for (unsigned i = 0; i < msg->n_unknown_fields; i++)
        free(msg->unknown_fields[i].data);
    free(msg->unknown_fields);
    msg->unknown_fields = NULL;
    msg->n_unknown_fields = 0;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[f];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        char *base = (char *) msg;
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(uint32_t *) (base + field->quantifier_offset);
            if (which != field->id)
                continue;
        }
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *) (base + field->quantifier_offset);
            ProtobufCMessage **items = *(ProtobufCMessage ***) (base + field->offset);
            for (size_t k = 0; items && k < n; k++)
                s_drop_unknown(items[k]);
        } else
            s_drop_unknown(*(ProtobufCMessage **) (base + field->offset));
    }
}

static ob_envelope_t *s_decode(bool link, const void *data, size_t size, ob_errcode_t *code,
                               char *err, size_t errlen)
{
    *code = ORDERBUS__V1__ERROR_CODE__OK;
    if (size > OB_MAX_FRAME) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE;
        snprintf(err, errlen, "frame of %zu bytes is over the %d byte limit", size, OB_MAX_FRAME);
        return NULL;
    }
    ob_envelope_t *env = orderbus__v1__envelope__unpack(NULL, size, data);
    if (!env) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
        snprintf(err, errlen, "frame of %zu bytes is not an orderbus envelope", size);
        return NULL;
    }
    s_drop_unknown(&env->base);
    if (env->version != OB_WIRE_VERSION) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_UNSUPPORTED_VERSION;
        snprintf(err, errlen, "protocol version %u is not supported (this peer speaks %d)",
                 env->version, OB_WIRE_VERSION);
        goto fail;
    }
    if (env->msg_id.len != OB_ID_BYTES) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
        snprintf(err, errlen, "msg_id must be %d bytes, not %zu", OB_ID_BYTES, env->msg_id.len);
        goto fail;
    }
    if (env->body_case == ORDERBUS__V1__ENVELOPE__BODY__NOT_SET && !(link && env->seq > 0)) {
        *code = ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
        snprintf(err, errlen, "envelope has no body (or a body this peer does not know)");
        goto fail;
    }
    return env;
fail:
    orderbus__v1__envelope__free_unpacked(env, NULL);
    return NULL;
}

ob_envelope_t *ob_wire_decode(const void *data, size_t size, ob_errcode_t *code, char *err,
                              size_t errlen)
{
    return s_decode(false, data, size, code, err, errlen);
}

ob_envelope_t *ob_wire_decode_link(const void *data, size_t size, ob_errcode_t *code, char *err,
                                   size_t errlen)
{
    return s_decode(true, data, size, code, err, errlen);
}

void ob_wire_free(ob_envelope_t *env)
{
    if (env)
        orderbus__v1__envelope__free_unpacked(env, NULL);
}

int ob_wire_pack(const ob_envelope_t *env, uint8_t **out, size_t *len)
{
    size_t n = orderbus__v1__envelope__get_packed_size(env);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    orderbus__v1__envelope__pack(env, buf);
    *out = buf;
    *len = n;
    return 0;
}

static void s_free_buf(void *data, void *hint)
{
    (void) hint;
    free(data);
}

int ob_wire_send_raw(void *sock, const uint8_t *rid, size_t rid_len, const void *data,
                     size_t len)
{
    if (rid && zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    if (zmq_send(sock, data, len, ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}

int ob_wire_send_owned(void *sock, const uint8_t *rid, size_t rid_len, const char *topic,
                       uint8_t *data, size_t len)
{
    if ((rid && zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        || (topic && zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)) {
        int e = errno;
        free(data);
        errno = e;
        return -1;
    }
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, data, len, s_free_buf, NULL) < 0) {
        int e = errno;
        free(data);
        errno = e;
        return -1;
    }
    if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&msg);   /* frees data */
        errno = e;
        return -1;
    }
    return 0;
}

int ob_wire_send(void *sock, const uint8_t *rid, size_t rid_len, const ob_envelope_t *env)
{
    uint8_t *buf;
    size_t len;
    if (ob_wire_pack(env, &buf, &len) < 0) {
        errno = ENOMEM;
        return -1;
    }
    if (rid && zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        int e = errno;
        free(buf);
        errno = e;
        return -1;
    }
    zmq_msg_t msg;
    zmq_msg_init_data(&msg, buf, len, s_free_buf, NULL);
    if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&msg);
        errno = e;
        return -1;
    }
    return 0;
}

int ob_wire_send_error_answer(void *sock, const uint8_t *rid, size_t rid_len, const uint8_t *ref,
                              size_t ref_len, ob_errcode_t code, const char *message)
{
    ob_msg_t m;
    ob_msg_init(&m, NULL);
    Orderbus__V1__Answer answer = ORDERBUS__V1__ANSWER__INIT;
    answer.code = code;
    answer.message = (char *) (message ? message : "");
    if (ref && ref_len) {
        answer.ref_msg_id.data = (uint8_t *) ref;
        answer.ref_msg_id.len = ref_len;
    }
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ANSWER;
    m.env.answer = &answer;
    return ob_wire_send(sock, rid, rid_len, &m.env);
}

int ob_wire_send_error(void *sock, const uint8_t *rid, size_t rid_len, const uint8_t *ref,
                       size_t ref_len, uint64_t ref_seq, ob_errcode_t code, const char *message)
{
    ob_msg_t m;
    ob_msg_init(&m, NULL);
    Orderbus__V1__Error error = ORDERBUS__V1__ERROR__INIT;
    error.code = code;
    error.message = (char *) (message ? message : "");
    if (ref && ref_len) {
        error.ref_msg_id.data = (uint8_t *) ref;
        error.ref_msg_id.len = ref_len;
    }
    error.ref_seq = ref_seq;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ERROR;
    m.env.error = &error;
    return ob_wire_send(sock, rid, rid_len, &m.env);
}

const char *ob_wire_body_name(int body_case)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&orderbus__v1__envelope__descriptor,
                                                (unsigned) body_case);
    return f && body_case >= 10 ? f->name : "unknown";
}

const char *ob_errcode_name(ob_errcode_t code)
{
    return ob_enum_name(&orderbus__v1__error_code__descriptor, (int) code, "ERR_");
}

/* --- self-test ------------------------------------------------------------ */

/* A Sign envelope in `m` (seq 42, attempt 3) about order `oid`. */
static void s_test_sign(ob_msg_t *m, Orderbus__V1__Sign *sign, uint8_t oid[OB_ID_BYTES])
{
    ob_msg_init(m, "test");
    orderbus__v1__sign__init(sign);
    ob_id_new(oid);
    sign->order_id.data = oid;
    sign->order_id.len = OB_ID_BYTES;
    sign->attempt = 3;
    sign->clerk = (char *) "王芳";
    m->env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SIGN;
    m->env.sign = sign;
    m->env.seq = 42;
}

/* Packs m, expects the decoder to refuse it with `want`, and the msg id
   to be readable all the same (its first `id_len` bytes). */
static void s_test_refused(const ob_msg_t *m, ob_errcode_t want, size_t id_len)
{
    uint8_t *buf;
    size_t len;
    int rc = ob_wire_pack(&m->env, &buf, &len);
    assert(rc == 0);
    ob_errcode_t code;
    char err[256];
    ob_envelope_t *env = ob_wire_decode(buf, len, &code, err, sizeof err);
    assert(env == NULL);
    assert(code == want);
    uint8_t ref[OB_WIRE_REF_MAX];
    size_t ref_len = ob_wire_peek_msg_id(buf, len, ref);
    assert(ref_len == id_len);
    assert(memcmp(ref, m->msg_id, id_len) == 0);
    free(buf);
}

/* round trip through pack and decode; refusals, each with its msg id */
static void s_test_decode(void)
{
    ob_msg_t m;
    Orderbus__V1__Sign sign;
    uint8_t oid[OB_ID_BYTES];
    s_test_sign(&m, &sign, oid);
    uint8_t *buf;
    size_t len;
    int rc = ob_wire_pack(&m.env, &buf, &len);
    assert(rc == 0);
    ob_errcode_t code;
    char err[256];
    ob_envelope_t *env = ob_wire_decode(buf, len, &code, err, sizeof err);
    assert(env);
    assert(env->body_case == ORDERBUS__V1__ENVELOPE__BODY_SIGN);
    assert(env->sign->attempt == 3 && env->seq == 42);
    assert(strcmp(env->sign->clerk, "王芳") == 0);
    assert(memcmp(env->msg_id.data, m.msg_id, OB_ID_BYTES) == 0);
    assert(strcmp(ob_wire_body_name(env->body_case), "sign") == 0);
    ob_wire_free(env);

    /* garbage, truncation, oversize: no id can be read from garbage */
    uint8_t ref[OB_WIRE_REF_MAX];
    env = ob_wire_decode("\xff\xff\xff", 3, &code, err, sizeof err);
    assert(env == NULL && code == ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST);
    assert(ob_wire_peek_msg_id("\xff\xff\xff", 3, ref) == 0);
    env = ob_wire_decode(buf, len - 1, &code, err, sizeof err);
    assert(env == NULL);
    env = ob_wire_decode(buf, OB_MAX_FRAME + 1, &code, err, sizeof err);
    assert(env == NULL && code == ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE);
    free(buf);

    /* wrong version, missing body, short msg id: refused, id readable */
    m.env.version = 2;
    s_test_refused(&m, ORDERBUS__V1__ERROR_CODE__ERR_UNSUPPORTED_VERSION, OB_ID_BYTES);
    m.env.version = 1;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY__NOT_SET;
    s_test_refused(&m, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, OB_ID_BYTES);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SIGN;
    m.env.msg_id.len = 5;
    s_test_refused(&m, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST, 5);
    /* no msg id at all: nothing to refer to */
    m.env.msg_id.len = 0;
    rc = ob_wire_pack(&m.env, &buf, &len);
    assert(rc == 0);
    assert(ob_wire_peek_msg_id(buf, len, ref) == 0);
    free(buf);
}

/* an unknown field numbered 0 (which protobuf-c accepts but cannot pack
   again) is dropped: the decoded envelope packs and decodes again */
static void s_test_field0(void)
{
    static const uint8_t field0[] = {0x08, 0x01, 0x12, 0x10, 'A', 'A', 'A', 'A', 'A', 'A', 'A',
                                     'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 'A', 0x82, 0x03,
                                     0x03, 0x82, 0x00, 0x00};
    ob_errcode_t code;
    char err[256];
    ob_envelope_t *env = ob_wire_decode(field0, sizeof field0, &code, err, sizeof err);
    assert(env);
    uint8_t *buf;
    size_t len;
    int rc = ob_wire_pack(env, &buf, &len);
    assert(rc == 0);
    ob_envelope_t *again = ob_wire_decode(buf, len, &code, err, sizeof err);
    assert(again);
    ob_wire_free(again);
    ob_wire_free(env);
    free(buf);
}

/* Waits for one message on `sock` and receives it into `in`. */
static void s_test_take(void *sock, bool router, ob_inmsg_t *in)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&item, 1, 2000);
    assert(rc == 1);
    rc = ob_wire_recv(sock, router, in);
    assert(rc == 0);
}

/* over a real socket pair: routing id, payload, User-Id absent; an error
   answer back; an oversize frame and a three-frame message flagged, with
   the msg id read all the same, and the socket stays in step */
static void s_test_socket(void)
{
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int rc = zmq_bind(router, "inproc://ob-wire-test");
    assert(rc == 0);
    rc = zmq_connect(dealer, "inproc://ob-wire-test");
    assert(rc == 0);
    ob_msg_t m;
    Orderbus__V1__Sign sign;
    uint8_t oid[OB_ID_BYTES];
    s_test_sign(&m, &sign, oid);
    rc = ob_wire_send(dealer, NULL, 0, &m.env);
    assert(rc == 0);
    ob_inmsg_t in;
    s_test_take(router, true, &in);
    assert(!in.truncated && in.rid_len > 0 && in.size > 0);
    assert(in.msg_id_len == OB_ID_BYTES && memcmp(in.msg_id, m.msg_id, OB_ID_BYTES) == 0);
    ob_errcode_t code;
    char err[256];
    ob_envelope_t *env = ob_wire_decode(in.data, in.size, &code, err, sizeof err);
    assert(env && env->sign->attempt == 3);
    ob_wire_free(env);
    rc = ob_wire_send_error_answer(router, in.rid, in.rid_len, m.msg_id, OB_ID_BYTES,
                                   ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND, "no such order");
    assert(rc == 0);
    ob_inmsg_clear(&in);
    s_test_take(dealer, false, &in);
    env = ob_wire_decode(in.data, in.size, &code, err, sizeof err);
    assert(env && env->body_case == ORDERBUS__V1__ENVELOPE__BODY_ANSWER);
    assert(env->answer->code == ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND);
    assert(memcmp(env->answer->ref_msg_id.data, m.msg_id, OB_ID_BYTES) == 0);
    assert(strcmp(ob_errcode_name(env->answer->code), "NOT_FOUND") == 0);
    ob_wire_free(env);
    ob_inmsg_clear(&in);

    /* over 1 MiB: not kept, size reported, msg id read */
    char *big = malloc(OB_MAX_FRAME + 1);
    assert(big);
    memset(big, 'x', OB_MAX_FRAME);
    big[OB_MAX_FRAME] = '\0';
    sign.clerk = big;
    rc = ob_wire_send(dealer, NULL, 0, &m.env);
    assert(rc == 0);
    free(big);
    s_test_take(router, true, &in);
    assert(in.truncated && in.data == NULL && in.size > OB_MAX_FRAME);
    assert(in.msg_id_len == OB_ID_BYTES && memcmp(in.msg_id, m.msg_id, OB_ID_BYTES) == 0);
    ob_inmsg_clear(&in);

    /* a three-frame message is flagged, and the socket stays in step */
    rc = zmq_send(dealer, "a", 1, ZMQ_SNDMORE);
    assert(rc == 1);
    rc = zmq_send(dealer, "b", 1, 0);
    assert(rc == 1);
    s_test_take(router, true, &in);
    assert(in.truncated);
    ob_inmsg_clear(&in);
    rc = ob_wire_recv(router, true, &in);
    assert(rc == -1 && errno == EAGAIN);
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

void ob_wire_test(bool verbose)
{
    s_test_decode();
    s_test_field0();
    s_test_socket();
    if (verbose)
        printf("wire: ok ");
}
