/*  ob_rawsend.c — a test tool that sends raw, possibly malformed, frames to
    an orderbus endpoint and prints the reply, decoded.

    A DEALER connects to ENDPOINT (tcp:// with Curve: --server-key is the
    broker's public key file, --key this tool's keypair; ipc:// without),
    sends ONE message and waits up to --wait MS for a reply. The message's
    frame is, by the first option that applies:
      --garbage N      N random bytes
      --hex HEX        the given bytes
      --file FILE      the file's bytes
      otherwise        a packed Envelope: --version V (default 1), a
                       --msgid-len L byte msg id (default 16), body --body
                       status|hello|heartbeat|inbox|submit|none (default
                       status; submit: an order with --title T and
                       --external-ref R); --msg-id HEX sets its msg id;
                       with --size N padded to exactly N bytes with an unknown
                       field (receivers ignore unknown fields), or cut to N
                       bytes when N is smaller than the envelope.
    --frames K sends the frame K times as one K-frame message.

    Heartbeats received meanwhile are printed and skipped; the first other
    message is the reply: "reply: answer CODE: message", "reply: error CODE:
    message (ref_seq S)", "reply: welcome dept D (last_applied_seq S)",
    "reply: received seq S", or "reply: BODY".

    A department act on the node link (--body sign|progress|return|reply,
    with --order ID and --attempt N; or --body future, a numbered message
    whose body only a later release knows; and the node link endpoint with a
    department's keypair as --key) is a reliable message: it is sent with
    link sequence --seq N, or with --seq next (the default) after a Hello
    whose Welcome says the last sequence the broker applied from that
    department (the act then goes with that + 1). Everything the broker
    sends back is printed until it has confirmed the act (Received{seq >= the
    act's}) and sent the Error that refers to it, or 500 ms after the
    confirmation when no Error comes (the act was accepted), or --wait ends.
    Stop the department's own node first: the broker takes the newest
    connection with the key as the department's.

    --subscribe PREFIX reads the event stream instead (a SUB socket on
    ENDPOINT, the broker's event endpoint, no Curve): one line an event,
    "event: TOPIC (N bytes)"; --dump FILE appends each event's JournalEntry
    bytes to FILE as they came; --until PREFIX stops after the first event
    whose topic starts with PREFIX, else it runs until --wait ends.

    --decode decodes the frame here with ob_wire_decode instead of sending it
    (no endpoint): prints "decoded: BODY (seq S)" or "refused: CODE: message".

    Exit status: 0 a reply came (--decode: it decoded; --subscribe: an
    event came, and the --until one if given), 2 none within --wait,
    3 --decode refused it, 1 a key, endpoint or socket could not be used,
    64 bad arguments.                                                      */
#include "ob_common.h"
#include "ob_keys.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <getopt.h>
#include <sodium.h>
#include <sysexits.h>
#include <zmq.h>

#define S_MAX_SIZE   (64L * 1024 * 1024)
#define S_PAD_FIELD  15000            /* not a field of Envelope */

typedef struct {
    const char *endpoint;
    const char *server_key;
    const char *key;
    long garbage;                     /* -1: not given */
    long size;                        /* -1: not given */
    const char *hex;
    const char *file;
    long version;
    long msgid_len;
    const char *body;
    long frames;
    long wait_ms;
    bool quiet;
    bool decode;                      /* decode locally, send nothing */
    const char *order;                /* department acts: the order id (hex) */
    long attempt;                     /* department acts: the attempt */
    long seq;                         /* department acts: link seq, -1: next */
    const char *subscribe;            /* event stream: topic prefix */
    const char *dump;                 /* event stream: file for the entries */
    const char *until;                /* event stream: last topic prefix */
    const char *msg_id;               /* the envelope's msg id (32 hex), NULL: fresh */
    const char *title;                /* --body submit: the order's title */
    const char *external_ref;         /* --body submit: the intake's reference */
} s_opts_t;

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ob_rawsend [--server-key FILE --key FILE] [--garbage N | --hex HEX |\n"
            "                  --file FILE | [--version V] [--msgid-len L]\n"
            "                  [--body status|hello|heartbeat|inbox|none] [--size N]]\n"
            "                  [--frames K] [--wait MS] [--quiet] ENDPOINT\n"
            "       ob_rawsend --server-key FILE --key DEPT.key --body sign|progress|return|reply|future\n"
            "                  --order ID [--attempt N] [--seq N|next] [--wait MS] NODE-ENDPOINT\n"
            "       ob_rawsend --subscribe PREFIX [--dump FILE] [--until PREFIX] [--wait MS]\n"
            "                  EVENT-ENDPOINT\n"
            "       ob_rawsend --decode [--file FILE | --hex HEX | envelope options]\n"
            "Sends one raw message to ENDPOINT and prints the reply, decoded.\n"
            "Exit 0 if a reply came, 2 if none within --wait (default 2000 ms);\n"
            "--decode: 0 if the frame decodes, 3 if it is refused.\n");
}

/* Parses a decimal integer in [min, max]; -1 when it is not one. */
static int s_num(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Length of `v` as a protobuf varint. */
static size_t s_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t s_varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t) v;
    return n;
}

/* True if `body` names a department act (a reliable node-link message). */
static bool s_is_act(const char *body)
{
    return strcmp(body, "sign") == 0 || strcmp(body, "progress") == 0
           || strcmp(body, "return") == 0 || strcmp(body, "reply") == 0
           || strcmp(body, "future") == 0;
}

/* Builds the envelope frame per the options, with link sequence `seq`.
   Returns a malloc'd buffer (length in *len) or NULL with a message on
   stderr; the envelope's msg id is copied to `msg_id`. */
static uint8_t *s_envelope_frame(const s_opts_t *o, uint64_t seq, uint8_t msg_id[OB_ID_BYTES],
                                 size_t *len)
{
    ob_msg_t m;
    ob_msg_init(&m, "ob_rawsend");
    m.env.seq = seq;
    memcpy(msg_id, m.msg_id, OB_ID_BYTES);
    m.env.version = (uint32_t) o->version;
    uint8_t long_id[256] = {0};
    if (o->msg_id && ob_id_parse(m.msg_id, o->msg_id) != 0) {
        fprintf(stderr, "ob_rawsend: --msg-id wants 32 hex digits\n");
        return NULL;
    }
    memcpy(msg_id, m.msg_id, OB_ID_BYTES);
    if (o->msgid_len != OB_ID_BYTES) {
        randombytes_buf(long_id, sizeof long_id);
        m.env.msg_id.data = long_id;
        m.env.msg_id.len = (size_t) o->msgid_len;
    }
    Orderbus__V1__StatusRequest status = ORDERBUS__V1__STATUS_REQUEST__INIT;
    Orderbus__V1__SubmitRequest submit = ORDERBUS__V1__SUBMIT_REQUEST__INIT;
    ob_workorder_t wo = ORDERBUS__V1__WORK_ORDER__INIT;
    Orderbus__V1__Hello hello = ORDERBUS__V1__HELLO__INIT;
    Orderbus__V1__Heartbeat heartbeat = ORDERBUS__V1__HEARTBEAT__INIT;
    Orderbus__V1__InboxRequest inbox = ORDERBUS__V1__INBOX_REQUEST__INIT;
    Orderbus__V1__Sign sign = ORDERBUS__V1__SIGN__INIT;
    Orderbus__V1__Progress progress = ORDERBUS__V1__PROGRESS__INIT;
    Orderbus__V1__ReturnRequest ret = ORDERBUS__V1__RETURN_REQUEST__INIT;
    Orderbus__V1__Reply reply = ORDERBUS__V1__REPLY__INIT;
    uint8_t oid[OB_ID_BYTES];
    ProtobufCBinaryData order_id = {OB_ID_BYTES, oid};
    bool future = strcmp(o->body, "future") == 0;   /* a body of a later release */
    if (s_is_act(o->body) && !future && (!o->order || ob_id_parse(oid, o->order) != 0)) {
        fprintf(stderr, "ob_rawsend: --body %s needs --order with a 32-hex order id\n", o->body);
        return NULL;
    }
    if (strcmp(o->body, "sign") == 0) {
        sign.order_id = order_id;
        sign.attempt = (uint32_t) o->attempt;
        sign.clerk = (char *) "ob_rawsend";
        sign.at_ms = ob_now_ms();
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SIGN;
        m.env.sign = &sign;
    } else if (strcmp(o->body, "progress") == 0) {
        progress.order_id = order_id;
        progress.attempt = (uint32_t) o->attempt;
        progress.note = (char *) "ob_rawsend progress";
        progress.clerk = (char *) "ob_rawsend";
        progress.at_ms = ob_now_ms();
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_PROGRESS;
        m.env.progress = &progress;
    } else if (strcmp(o->body, "return") == 0) {
        ret.order_id = order_id;
        ret.attempt = (uint32_t) o->attempt;
        ret.reason = (char *) "ob_rawsend return";
        ret.clerk = (char *) "ob_rawsend";
        ret.at_ms = ob_now_ms();
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RETURN_REQUEST;
        m.env.return_request = &ret;
    } else if (strcmp(o->body, "reply") == 0) {
        reply.order_id = order_id;
        reply.attempt = (uint32_t) o->attempt;
        reply.result = ORDERBUS__V1__REPLY_RESULT__RESULT_RESOLVED;
        reply.note = (char *) "ob_rawsend reply";
        reply.clerk = (char *) "ob_rawsend";
        reply.at_ms = ob_now_ms();
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_REPLY;
        m.env.reply = &reply;
    } else if (strcmp(o->body, "submit") == 0) {
        wo.title = (char *) (o->title ? o->title : "ob_rawsend");
        wo.external_ref = (char *) (o->external_ref ? o->external_ref : "");
        submit.order = &wo;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SUBMIT;
        m.env.submit = &submit;
    } else if (strcmp(o->body, "status") == 0) {
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATUS;
        m.env.status = &status;
    } else if (strcmp(o->body, "hello") == 0) {
        hello.software = (char *) "ob_rawsend " OB_VERSION_STRING;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HELLO;
        m.env.hello = &hello;
    } else if (strcmp(o->body, "heartbeat") == 0) {
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT;
        m.env.heartbeat = &heartbeat;
    } else if (strcmp(o->body, "inbox") == 0) {
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_INBOX;
        m.env.inbox = &inbox;
    } else if (strcmp(o->body, "none") != 0 && !future) {
        fprintf(stderr, "ob_rawsend: unknown body '%s'\n", o->body);
        return NULL;
    }
    uint8_t *packed = NULL;
    size_t plen = 0;
    if (ob_wire_pack(&m.env, &packed, &plen) != 0) {
        fprintf(stderr, "ob_rawsend: out of memory\n");
        return NULL;
    }
    if (future) {
        /* the body a newer .proto would have: oneof field 99, which this
           release's decoder keeps as an unknown field (no body) */
        static const uint8_t body[] = {0x9a, 0x06, 3, 0x0a, 0x01, 'x'};   /* tag 99, len 3 */
        uint8_t *grown = realloc(packed, plen + sizeof body);
        if (!grown) {
            free(packed);
            fprintf(stderr, "ob_rawsend: out of memory\n");
            return NULL;
        }
        packed = grown;
        memcpy(packed + plen, body, sizeof body);
        plen += sizeof body;
    }
    if (o->size < 0 || (size_t) o->size == plen) {
        *len = plen;
        return packed;
    }
    size_t want = (size_t) o->size;
    uint8_t *frame = malloc(want ? want : 1);
    if (!frame) {
        free(packed);
        fprintf(stderr, "ob_rawsend: out of memory for %zu bytes\n", want);
        return NULL;
    }
    uint64_t tag = ((uint64_t) S_PAD_FIELD << 3) | 2;   /* length-delimited */
    size_t taglen = s_varint_len(tag);
    if (want <= plen) {
        memcpy(frame, packed, want);    /* a truncated envelope */
    } else if (want < plen + taglen + 1) {
        memcpy(frame, packed, plen);    /* too little room for a field: zeros */
        memset(frame + plen, 0, want - plen);
    } else {
        /* pad: tag, length, bytes; find the content length that fits exactly */
        size_t room = want - plen - taglen, content = room - 1;
        while (content > 0 && s_varint_len(content) + content > room)
            content--;
        size_t at = plen;
        memcpy(frame, packed, plen);
        if (s_varint_len(content) + content < room) {
            /* a varint length can be padded with a redundant 0x80 byte */
            size_t vl = s_varint_len(content), extra = room - vl - content;
            at += s_varint_put(frame + at, tag);
            uint64_t v = content;
            for (size_t i = 0; i < vl + extra; i++) {
                bool more = i + 1 < vl + extra;
                frame[at++] = (uint8_t) ((v & 0x7f) | (more ? 0x80 : 0));
                v >>= 7;
            }
        } else {
            at += s_varint_put(frame + at, tag);
            at += s_varint_put(frame + at, content);
        }
        memset(frame + at, 'x', content);
    }
    free(packed);
    *len = want;
    return frame;
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The frame to send; NULL with a message on stderr. */
static uint8_t *s_frame(const s_opts_t *o, size_t *len)
{
    uint8_t msg_id[OB_ID_BYTES];
    if (o->garbage >= 0) {
        uint8_t *buf = malloc(o->garbage ? (size_t) o->garbage : 1);
        if (buf)
            randombytes_buf(buf, (size_t) o->garbage);
        *len = (size_t) o->garbage;
        return buf;
    }
    if (o->hex) {
        size_t n = strlen(o->hex);
        if (n % 2) {
            fprintf(stderr, "ob_rawsend: --hex needs an even number of digits\n");
            return NULL;
        }
        uint8_t *buf = malloc(n / 2 + 1);
        if (!buf)
            return NULL;
        for (size_t i = 0; i < n / 2; i++) {
            int hi = s_hexval(o->hex[2 * i]), lo = s_hexval(o->hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                fprintf(stderr, "ob_rawsend: --hex: not a hex digit\n");
                free(buf);
                return NULL;
            }
            buf[i] = (uint8_t) (hi << 4 | lo);
        }
        *len = n / 2;
        return buf;
    }
    if (o->file) {
        FILE *f = fopen(o->file, "rb");
        if (!f) {
            fprintf(stderr, "ob_rawsend: cannot open '%s': %s\n", o->file, strerror(errno));
            return NULL;
        }
        uint8_t *buf = malloc(S_MAX_SIZE);
        size_t n = buf ? fread(buf, 1, S_MAX_SIZE, f) : 0;
        fclose(f);
        *len = n;
        return buf;
    }
    return s_envelope_frame(o, 0, msg_id, len);
}

/* Prints one received message. Returns true if it is the reply (anything
   but a heartbeat). */
static bool s_print_reply(const uint8_t *data, size_t size, bool quiet)
{
    ob_errcode_t code;
    char err[256];
    ob_envelope_t *env = ob_wire_decode(data, size, &code, err, sizeof err);
    if (!env) {
        printf("reply: undecodable (%zu bytes): %s\n", size, err);
        return true;
    }
    bool reply = true;
    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_ANSWER:
        printf("reply: answer %s: %s\n", ob_errcode_name(env->answer->code),
               env->answer->message && *env->answer->message ? env->answer->message : "-");
        if (env->answer->order && env->answer->order->order)
            printf("reply: order %s\n", env->answer->order->order->case_no);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_ERROR:
        printf("reply: error %s: %s (ref_seq %llu)\n", ob_errcode_name(env->error->code),
               env->error->message && *env->error->message ? env->error->message : "-",
               (unsigned long long) env->error->ref_seq);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_WELCOME:
        printf("reply: welcome dept %s (last_applied_seq %llu)\n",
               env->welcome->dept ? env->welcome->dept : "-",
               (unsigned long long) env->welcome->last_applied_seq);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_RECEIVED:
        printf("reply: received seq %llu\n", (unsigned long long) env->received->seq);
        break;
    case ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT:
        if (!quiet)
            printf("(heartbeat)\n");
        reply = false;
        break;
    default:
        printf("reply: %s\n", ob_wire_body_name(env->body_case));
        break;
    }
    ob_wire_free(env);
    return reply;
}

/* Receives one message (its first frame; further frames are dropped with a
   line each) before `deadline` (monotonic us). Returns 1 with a malloc'd
   copy in *data / *size, 0 when the deadline passed. */
static int s_recv(void *sock, uint64_t deadline, uint8_t **data, size_t *size)
{
    for (;;) {
        uint64_t now = ob_mono_us();
        if (now >= deadline)
            return 0;
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        long left = (long) ((deadline - now) / 1000) + 1;
        if (zmq_poll(&item, 1, left) <= 0)
            continue;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            continue;
        }
        bool more = zmq_msg_more(&msg);
        *size = zmq_msg_size(&msg);
        *data = malloc(*size ? *size : 1);
        if (*data)
            memcpy(*data, zmq_msg_data(&msg), *size);
        zmq_msg_close(&msg);
        while (more) {   /* drop any further frames of the same message */
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sock, 0) < 0)
                more = false;
            else
                more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
            printf("reply: (extra frame)\n");
        }
        if (!*data)
            continue;
        return 1;
    }
}

/* Receives one two-frame message (topic, entry) before `deadline`. Returns
   1 with malloc'd copies (entry NULL for a one-frame message), 0 when the
   deadline passed. */
static int s_recv_frames(void *sock, uint64_t deadline, uint8_t **first, size_t *first_len,
                         uint8_t **second, size_t *second_len)
{
    for (;;) {
        uint64_t now = ob_mono_us();
        if (now >= deadline)
            return 0;
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        long left = (long) ((deadline - now) / 1000) + 1;
        if (zmq_poll(&item, 1, left) <= 0)
            continue;
        uint8_t **out[2] = {first, second};
        size_t *len[2] = {first_len, second_len};
        *first = *second = NULL;
        *first_len = *second_len = 0;
        bool more = true;
        for (int i = 0; more; i++) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sock, i ? 0 : ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            more = zmq_msg_more(&msg);
            if (i < 2) {
                *len[i] = zmq_msg_size(&msg);
                *out[i] = malloc(*len[i] + 1);
                if (*out[i])
                    memcpy(*out[i], zmq_msg_data(&msg), *len[i]);
            }
            zmq_msg_close(&msg);
        }
        if (*first)
            return 1;
        free(*second);
        *second = NULL;
    }
}

/* --decode: decodes the frame here. Returns 0 if it decodes, 3 if refused. */
static int s_decode_local(const uint8_t *frame, size_t len)
{
    ob_errcode_t code;
    char err[256];
    ob_envelope_t *env = ob_wire_decode(frame, len, &code, err, sizeof err);
    if (!env) {
        printf("refused: %s: %s\n", ob_errcode_name(code), err);
        return 3;
    }
    printf("decoded: %s (seq %llu)\n", ob_wire_body_name(env->body_case),
           (unsigned long long) env->seq);
    ob_wire_free(env);
    return 0;
}

/* Sends one frame `frames` times as one message. Returns 0 or -1. */
static int s_send(void *sock, const uint8_t *frame, size_t len, long frames)
{
    for (long i = 0; i < frames; i++) {
        if (zmq_send(sock, frame, len, i + 1 < frames ? ZMQ_SNDMORE : 0) < 0) {
            fprintf(stderr, "ob_rawsend: send failed: %s\n", zmq_strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* A department act on the node link: Hello and Welcome first when the seq
   is "next", then the act; prints what comes back until the broker has
   confirmed it (see the banner). Returns the exit status. */
static int s_act(void *sock, const s_opts_t *o)
{
    int rc = 2;
    uint8_t *data = NULL, *frame = NULL;
    size_t size = 0, len = 0;
    uint64_t deadline = ob_mono_us() + (uint64_t) o->wait_ms * 1000;
    uint64_t seq = o->seq >= 0 ? (uint64_t) o->seq : 0;
    if (o->seq < 0) {
        ob_msg_t m;
        ob_msg_init(&m, "ob_rawsend");
        Orderbus__V1__Hello hello = ORDERBUS__V1__HELLO__INIT;
        hello.software = (char *) "ob_rawsend " OB_VERSION_STRING;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HELLO;
        m.env.hello = &hello;
        if (ob_wire_pack(&m.env, &frame, &len) != 0 || s_send(sock, frame, len, 1) != 0) {
            rc = 1;
            goto out;
        }
        free(frame);
        frame = NULL;
        bool welcomed = false;
        while (!welcomed && s_recv(sock, deadline, &data, &size)) {
            ob_errcode_t code;
            char err[256];
            ob_envelope_t *env = ob_wire_decode(data, size, &code, err, sizeof err);
            if (env && env->body_case == ORDERBUS__V1__ENVELOPE__BODY_WELCOME) {
                seq = env->welcome->last_applied_seq + 1;
                welcomed = true;
            }
            if (env && env->body_case == ORDERBUS__V1__ENVELOPE__BODY_ERROR) {
                s_print_reply(data, size, o->quiet);   /* refused: the key, say */
                ob_wire_free(env);
                rc = 0;
                goto out;
            }
            if (welcomed || (env && env->body_case != ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT))
                s_print_reply(data, size, o->quiet);
            ob_wire_free(env);
            free(data);
            data = NULL;
        }
        if (!welcomed) {
            printf("no welcome within %ld ms\n", o->wait_ms);
            goto out;
        }
    }
    uint8_t msg_id[OB_ID_BYTES];
    frame = s_envelope_frame(o, seq, msg_id, &len);
    if (!frame) {
        rc = 1;
        goto out;
    }
    if (s_send(sock, frame, len, o->frames) != 0) {
        rc = 1;
        goto out;
    }
    char mid[OB_ID_HEX];
    printf("sent: %s seq %llu (msg %s)\n", o->body, (unsigned long long) seq,
           ob_hex(mid, msg_id, OB_ID_BYTES));
    fflush(stdout);
    bool confirmed = false, refused = false;
    while (!(confirmed && refused) && s_recv(sock, deadline, &data, &size)) {
        ob_errcode_t code;
        char err[256];
        ob_envelope_t *env = ob_wire_decode(data, size, &code, err, sizeof err);
        s_print_reply(data, size, o->quiet);
        if (env && env->body_case == ORDERBUS__V1__ENVELOPE__BODY_RECEIVED
            && env->received->seq >= seq && !confirmed) {
            confirmed = true;
            uint64_t grace = ob_mono_us() + 500 * 1000;
            if (grace < deadline)
                deadline = grace;   /* an Error, if any, comes with the Received */
        }
        if (env && env->body_case == ORDERBUS__V1__ENVELOPE__BODY_ERROR) {
            const Orderbus__V1__Error *e = env->error;
            bool ours = e->ref_msg_id.len == OB_ID_BYTES
                        && memcmp(e->ref_msg_id.data, msg_id, OB_ID_BYTES) == 0;
            if (ours || e->code == ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER)
                refused = true;
            if (e->code == ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER
                || e->code == ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST)
                confirmed = true;   /* no Received is coming for it */
        }
        ob_wire_free(env);
        free(data);
        data = NULL;
    }
    if (confirmed || refused)
        rc = 0;
    else
        printf("no confirmation within %ld ms\n", o->wait_ms);
    if (confirmed && !refused)
        printf("accepted: no error for the act\n");
out:
    free(data);
    free(frame);
    return rc;
}

/* --subscribe: prints (and dumps) events until --until or --wait. Returns
   the exit status. */
static int s_subscribe(void *ctx, const s_opts_t *o)
{
    int rc = 1;
    FILE *dump = NULL;
    void *sock = zmq_socket(ctx, ZMQ_SUB);
    if (!sock) {
        fprintf(stderr, "ob_rawsend: cannot create a socket: %s\n", zmq_strerror(errno));
        return 1;
    }
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_SUBSCRIBE, o->subscribe, strlen(o->subscribe));
    if (zmq_connect(sock, o->endpoint) != 0) {
        fprintf(stderr, "ob_rawsend: cannot connect to '%s': %s\n", o->endpoint,
                zmq_strerror(errno));
        goto out;
    }
    if (o->dump && !(dump = fopen(o->dump, "ab"))) {
        fprintf(stderr, "ob_rawsend: cannot open '%s': %s\n", o->dump, strerror(errno));
        goto out;
    }
    rc = 2;
    long events = 0;
    uint64_t deadline = ob_mono_us() + (uint64_t) o->wait_ms * 1000;
    uint8_t *topic = NULL, *entry = NULL;
    size_t tlen = 0, elen = 0;
    while (s_recv_frames(sock, deadline, &topic, &tlen, &entry, &elen)) {
        events++;
        printf("event: %.*s (%zu bytes)\n", (int) tlen, (const char *) topic, elen);
        fflush(stdout);
        if (dump && entry) {
            fwrite(entry, 1, elen, dump);
            fflush(dump);
        }
        bool last = o->until && tlen >= strlen(o->until)
                    && memcmp(topic, o->until, strlen(o->until)) == 0;
        free(topic);
        free(entry);
        topic = entry = NULL;
        if (last) {
            rc = 0;
            goto out;
        }
    }
    if (events && !o->until)
        rc = 0;
    printf("%ld events%s\n", events, o->until && rc ? ", not the --until one" : "");
out:
    if (dump)
        fclose(dump);
    zmq_close(sock);
    return rc;
}

int main(int argc, char **argv)
{
    s_opts_t o = {.garbage = -1, .size = -1, .version = 1, .msgid_len = OB_ID_BYTES,
                  .body = "status", .frames = 1, .wait_ms = 2000, .attempt = 1, .seq = -1};
    static const struct option longopts[] = {
        {"server-key", required_argument, NULL, 'S'}, {"key", required_argument, NULL, 'k'},
        {"garbage", required_argument, NULL, 'g'},    {"size", required_argument, NULL, 's'},
        {"hex", required_argument, NULL, 'x'},        {"file", required_argument, NULL, 'f'},
        {"version", required_argument, NULL, 'V'},    {"msgid-len", required_argument, NULL, 'm'},
        {"body", required_argument, NULL, 'b'},       {"frames", required_argument, NULL, 'F'},
        {"wait", required_argument, NULL, 'w'},       {"quiet", no_argument, NULL, 'q'},
        {"endpoint", required_argument, NULL, 'e'},   {"help", no_argument, NULL, 'h'},
        {"decode", no_argument, NULL, 'd'},           {"order", required_argument, NULL, 'o'},
        {"attempt", required_argument, NULL, 'a'},    {"seq", required_argument, NULL, 'Q'},
        {"subscribe", required_argument, NULL, 'U'},  {"dump", required_argument, NULL, 'D'},
        {"until", required_argument, NULL, 'T'},      {"msg-id", required_argument, NULL, 'M'},
        {"title", required_argument, NULL, 't'},      {"external-ref", required_argument, NULL, 'X'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'S': o.server_key = optarg; break;
        case 'k': o.key = optarg; break;
        case 'g': bad = s_num(optarg, 0, S_MAX_SIZE, &o.garbage); break;
        case 's': bad = s_num(optarg, 0, S_MAX_SIZE, &o.size); break;
        case 'x': o.hex = optarg; break;
        case 'f': o.file = optarg; break;
        case 'V': bad = s_num(optarg, 0, UINT32_MAX, &o.version); break;
        case 'm': bad = s_num(optarg, 0, 256, &o.msgid_len); break;
        case 'b': o.body = optarg; break;
        case 'F': bad = s_num(optarg, 1, 1000, &o.frames); break;
        case 'w': bad = s_num(optarg, 0, 600000, &o.wait_ms); break;
        case 'q': o.quiet = true; break;
        case 'e': o.endpoint = optarg; break;
        case 'd': o.decode = true; break;
        case 'o': o.order = optarg; break;
        case 'a': bad = s_num(optarg, 0, UINT32_MAX, &o.attempt); break;
        case 'Q':
            if (strcmp(optarg, "next") == 0)
                o.seq = -1;
            else
                bad = s_num(optarg, 0, LONG_MAX, &o.seq);
            break;
        case 'U': o.subscribe = optarg; break;
        case 'D': o.dump = optarg; break;
        case 'T': o.until = optarg; break;
        case 'M': o.msg_id = optarg; break;
        case 't': o.title = optarg; break;
        case 'X': o.external_ref = optarg; break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return EX_USAGE;
        }
        if (bad) {
            const char *name = "?";
            for (size_t i = 0; longopts[i].name; i++)
                if (longopts[i].val == c)
                    name = longopts[i].name;
            fprintf(stderr, "ob_rawsend: bad value '%s' for --%s\n", optarg, name);
            return EX_USAGE;
        }
    }
    if (!o.endpoint && optind < argc)
        o.endpoint = argv[optind++];
    if ((!o.endpoint && !o.decode) || optind < argc) {
        s_usage(stderr);
        return EX_USAGE;
    }
    bool act = s_is_act(o.body) && o.garbage < 0 && !o.hex && !o.file;
    if (act && o.decode) {
        fprintf(stderr, "ob_rawsend: --decode and a department act do not go together\n");
        return EX_USAGE;
    }
    bool curve = o.endpoint && !o.subscribe && strncmp(o.endpoint, "ipc://", 6) != 0
                 && strncmp(o.endpoint, "inproc://", 9) != 0;
    if (!o.decode && curve && (!o.server_key || !o.key)) {
        fprintf(stderr, "ob_rawsend: a tcp endpoint needs --server-key and --key\n");
        return EX_USAGE;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "ob_rawsend: cannot initialise libsodium\n");
        return 1;
    }

    int rc = 1;
    void *ctx = NULL, *sock = NULL;
    uint8_t *frame = NULL, *data = NULL;
    ob_keypair_t *server = NULL, *mine = NULL;
    char err[256];
    size_t len = 0, size = 0;

    if (o.subscribe) {
        ctx = zmq_ctx_new();
        rc = ctx ? s_subscribe(ctx, &o) : 1;
        goto out;
    }
    if (!act) {
        frame = s_frame(&o, &len);
        if (!frame)
            goto out;
    }
    if (o.decode) {
        rc = s_decode_local(frame, len);
        goto out;
    }
    if (curve) {
        server = ob_keys_load(o.server_key, false, err, sizeof err);
        if (!server) {
            fprintf(stderr, "ob_rawsend: %s\n", err);
            goto out;
        }
        mine = ob_keys_load(o.key, true, err, sizeof err);
        if (!mine) {
            fprintf(stderr, "ob_rawsend: %s\n", err);
            goto out;
        }
    }
    ctx = zmq_ctx_new();
    sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (!sock) {
        fprintf(stderr, "ob_rawsend: cannot create a socket: %s\n", zmq_strerror(errno));
        goto out;
    }
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (curve) {
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server->public_key, OB_KEY_BYTES);
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, mine->public_key, OB_KEY_BYTES);
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, mine->secret_key, OB_KEY_BYTES);
    }
    if (zmq_connect(sock, o.endpoint) != 0) {
        fprintf(stderr, "ob_rawsend: cannot connect to '%s': %s\n", o.endpoint,
                zmq_strerror(errno));
        goto out;
    }
    if (act) {
        rc = s_act(sock, &o);
        goto out;
    }
    if (s_send(sock, frame, len, o.frames) != 0)
        goto out;
    if (!o.quiet)
        printf("sent: %ld frame%s of %zu bytes\n", o.frames, o.frames == 1 ? "" : "s", len);
    fflush(stdout);

    rc = 2;
    uint64_t deadline = ob_mono_us() + (uint64_t) o.wait_ms * 1000;
    while (s_recv(sock, deadline, &data, &size)) {
        bool reply = s_print_reply(data, size, o.quiet);
        free(data);
        data = NULL;
        if (reply) {
            rc = 0;
            break;
        }
    }
    if (rc == 2)
        printf("no reply within %ld ms\n", o.wait_ms);

out:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    ob_keys_destroy(&server);
    ob_keys_destroy(&mine);
    free(frame);
    free(data);
    return rc;
}
