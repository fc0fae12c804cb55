/*  node_link.c — the node's client state machine towards the broker, and
    its half of the reliable sequence protocol (docs/PROTOCOL.md §3).

    The link never touches the store outside the transaction the loop hands
    it, and never sends before that transaction committed: everything a
    batch owes the broker is noted in `b_*` fields and sent by node_link_flush.
    Committed sequence numbers and their in-batch ("pending") copies are kept
    apart so that an aborted batch (map full, disk error) leaves no trace.  */
#include "node_link.h"
#include "node_inbox.h"
#include "ob_log.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <zmq.h>

#define S_HELLO_TRY_MS 200          /* Hello attempt interval while disconnected */
#define S_DOWN_WARN_MS 30000        /* repeat "still unreachable" warnings */
#define S_DROPS_SUSPECT 5           /* handshakes closed in a row before a hint */
#define S_MAX_ERRORS 256            /* business errors queued in one batch */
#define S_SNDHWM 1000               /* > window + heartbeats/acks: never blocks */
#define S_RCVHWM 2048               /* > the broker's window of 1024 */

typedef struct {
    uint8_t ref[OB_ID_BYTES];
    size_t ref_len;
    ob_errcode_t code;
    char message[200];
} s_error_t;

struct node_link {
    void *ctx;                          /* zmq context (borrowed) */
    node_inbox_t *inbox;                /* the node's store (borrowed): seqs, outbox */
    char *endpoint;                     /* broker node-link endpoint */
    const ob_keypair_t *broker_public;  /* broker's public key (borrowed) */
    const ob_keypair_t *keys;           /* this node's keypair (borrowed) */
    int hb_ms;                          /* heartbeat interval: --heartbeat-ms until
                                           the first Welcome, then the broker's */
    void *sock;                         /* DEALER, NULL between sockets */
    void *mon;                          /* PAIR reading the DEALER's monitor */
    unsigned generation;                /* socket count, names monitor endpoints */
    node_link_phase_t phase;            /* where the connection is */
    bool conn_up;                       /* handshake done, no disconnect since */
    char dept[OB_DEPT_MAX + 1];         /* from Welcome (or meta), "" unknown */

    uint64_t in_seq, acked_seq;         /* committed (out_seq: the inbox's) */
    uint64_t p_in_seq, p_acked_seq;     /* inside the open batch */

    bool b_ack;                         /* batch saw a reliable message: Received */
    bool b_gap;                         /* batch saw a gap: ERR_OUT_OF_ORDER */
    bool b_welcome;                     /* batch held a Welcome */
    bool b_resend;                      /* broker asked for a resend */
    char b_dept[OB_DEPT_MAX + 1];
    int b_hb_ms;                        /* the Welcome's heartbeat_ms, 0: none */
    s_error_t *b_errors;                /* business errors to send */
    size_t b_nerrors;

    uint64_t sent_upto;                 /* highest own seq sent on this connection */
    int retry_ms;                       /* current go-back-N interval */
    uint64_t progress_us;               /* last time an ack advanced / first send */
    uint64_t last_rx_us;                /* last frame from the broker */
    uint64_t last_tx_us;                /* last frame to the broker */
    uint64_t last_hb_us;                /* last Heartbeat sent */
    uint64_t hello_at_us;               /* Hello sent (HELLO_SENT) */
    uint64_t hello_try_us;              /* last Hello attempt (DISCONNECTED) */
    uint64_t down_since_us;             /* entered DISCONNECTED */
    uint64_t down_warn_us;              /* last "still unreachable" warning */
    uint64_t auth_warn_us;              /* last handshake-failure warning */
    unsigned handshake_drops;           /* handshakes closed mid-way, in a row */
    int64_t last_broker_ms;             /* wall clock of last frame, 0 never */
};

static const char *s_phase_names[] = {"DISCONNECTED", "HELLO_SENT", "CONNECTED"};

const char *node_link_phase_name(node_link_phase_t phase)
{
    if ((unsigned) phase < sizeof s_phase_names / sizeof s_phase_names[0])
        return s_phase_names[phase];
    return "?";
}

/* The one place the link's phase changes (logged from -> to). */
static void s_enter(node_link_t *self, node_link_phase_t to, const char *why)
{
    if (self->phase == to)
        return;
    ob_debug("broker link %s -> %s (%s)", node_link_phase_name(self->phase),
             node_link_phase_name(to), why);
    if (to == NODE_LINK_DISCONNECTED) {
        self->down_since_us = ob_mono_us();
        self->down_warn_us = self->down_since_us;
    }
    self->phase = to;
}

/* Closes the current DEALER and its monitor, if any. */
static void s_close_socket(node_link_t *self)
{
    if (self->sock) {
        zmq_socket_monitor(self->sock, NULL, 0);
        zmq_close(self->sock);
        self->sock = NULL;
    }
    if (self->mon) {
        zmq_close(self->mon);
        self->mon = NULL;
    }
}

/* Makes a new DEALER (Curve client) and its monitor, and connects. Returns 0
   or -1 with a message in err. */
static int s_open_socket(node_link_t *self, char *err, size_t errlen)
{
    int rc = -1;
    char mon_ep[64];
    self->generation++;
    ob_fmt(mon_ep, sizeof mon_ep, "inproc://ob-node-link-%p-%u", (void *) self,
           self->generation);

    self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->sock) {
        ob_fmt(err, errlen, "cannot create broker socket: %s", zmq_strerror(errno));
        goto out;
    }
    int zero = 0, one = 1, sndhwm = S_SNDHWM, rcvhwm = S_RCVHWM;
    int ivl = 100, ivl_max = 2000;
    if (zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero)
        || zmq_setsockopt(self->sock, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm)
        || zmq_setsockopt(self->sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm)
        || zmq_setsockopt(self->sock, ZMQ_IMMEDIATE, &one, sizeof one)
        || zmq_setsockopt(self->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl)
        || zmq_setsockopt(self->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max)
        || zmq_setsockopt(self->sock, ZMQ_CURVE_SERVERKEY, self->broker_public->public_key,
                          OB_KEY_BYTES)
        || zmq_setsockopt(self->sock, ZMQ_CURVE_PUBLICKEY, self->keys->public_key,
                          OB_KEY_BYTES)
        || zmq_setsockopt(self->sock, ZMQ_CURVE_SECRETKEY, self->keys->secret_key,
                          OB_KEY_BYTES)) {
        ob_fmt(err, errlen, "cannot set broker socket options: %s", zmq_strerror(errno));
        goto out;
    }
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                 | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                 | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(self->sock, mon_ep, events) != 0) {
        ob_fmt(err, errlen, "cannot monitor broker socket: %s", zmq_strerror(errno));
        goto out;
    }
    self->mon = zmq_socket(self->ctx, ZMQ_PAIR);
    if (!self->mon || zmq_setsockopt(self->mon, ZMQ_LINGER, &zero, sizeof zero)
        || zmq_connect(self->mon, mon_ep) != 0) {
        ob_fmt(err, errlen, "cannot connect socket monitor: %s", zmq_strerror(errno));
        goto out;
    }
    if (zmq_connect(self->sock, self->endpoint) != 0) {
        ob_fmt(err, errlen, "cannot connect to broker '%s': %s", self->endpoint,
               zmq_strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc)
        s_close_socket(self);
    return rc;
}

/* Drops the socket and makes a new one: the only cure for a connection that
   looks alive to TCP but carries nothing. */
static void s_reconnect(node_link_t *self, const char *why)
{
    ob_info("broker link: %s: reconnecting to %s", why, self->endpoint);
    s_close_socket(self);
    self->conn_up = false;
    char err[256];
    if (s_open_socket(self, err, sizeof err) != 0)
        ob_error("broker link: %s (retrying)", err);
    s_enter(self, NODE_LINK_DISCONNECTED, why);
    self->hello_try_us = 0;
    self->sent_upto = self->acked_seq;
}

node_link_t *node_link_new(void *zmq_ctx, node_inbox_t *inbox, const char *endpoint,
                           const ob_keypair_t *broker_public, const ob_keypair_t *keys,
                           int heartbeat_ms, char *err, size_t errlen)
{
    node_link_t *self = calloc(1, sizeof *self);
    MDB_txn *txn = NULL;
    if (!self || !(self->endpoint = strdup(endpoint))
        || !(self->b_errors = calloc(S_MAX_ERRORS, sizeof *self->b_errors))) {
        ob_fmt(err, errlen, "out of memory");
        goto fail;
    }
    self->ctx = zmq_ctx;
    self->inbox = inbox;
    self->broker_public = broker_public;
    self->keys = keys;
    self->hb_ms = heartbeat_ms > 0 ? heartbeat_ms : 1000;
    self->retry_ms = NODE_LINK_RETRY_MIN_MS;

    ob_store_t *store = node_inbox_store(inbox);
    int rc = ob_store_begin(store, false, &txn);
    if (rc == 0)
        rc = node_inbox_meta_get(inbox, txn, "in_seq", &self->in_seq);
    if (rc == 0)
        rc = node_inbox_meta_get(inbox, txn, "acked_seq", &self->acked_seq);
    if (rc == 0)
        rc = node_inbox_dept_get(inbox, txn, self->dept);
    if (txn)
        mdb_txn_abort(txn);
    txn = NULL;
    if (rc) {
        ob_fmt(err, errlen, "cannot read link state from store '%s': %s",
               ob_store_dir(store), ob_store_strerror(rc));
        goto fail;
    }
    if (self->acked_seq > node_inbox_out_seq(self->inbox, false))
        self->acked_seq = node_inbox_out_seq(self->inbox, false);
    self->sent_upto = self->acked_seq;
    self->p_in_seq = self->in_seq;
    self->p_acked_seq = self->acked_seq;

    if (s_open_socket(self, err, errlen) != 0)
        goto fail;
    self->phase = NODE_LINK_DISCONNECTED;
    self->down_since_us = self->down_warn_us = ob_mono_us();
    return self;
fail:
    node_link_destroy(&self);
    return NULL;
}

void node_link_destroy(node_link_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_link_t *self = *self_p;
    s_close_socket(self);
    free(self->b_errors);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

void *node_link_socket(node_link_t *self)
{
    return self->sock;
}

void *node_link_monitor(node_link_t *self)
{
    return self->mon;
}

node_link_phase_t node_link_phase(node_link_t *self)
{
    return self->phase;
}

const char *node_link_dept(node_link_t *self)
{
    return self->dept;
}

uint64_t node_link_in_seq(node_link_t *self)
{
    return self->in_seq;
}

uint64_t node_link_outbox_depth(node_link_t *self)
{
    return node_inbox_out_seq(self->inbox, false) - self->acked_seq;
}

int node_link_heartbeat_ms(node_link_t *self)
{
    return self->hb_ms;
}

int64_t node_link_last_broker_ms(node_link_t *self)
{
    return self->last_broker_ms;
}

void node_link_touch(node_link_t *self)
{
    self->last_rx_us = ob_mono_us();
    self->last_broker_ms = ob_now_ms();
}

/* Sends a Hello now. Returns 0, or -1 when the connection is not up yet. */
static int s_send_hello(node_link_t *self)
{
    Orderbus__V1__Hello hello = ORDERBUS__V1__HELLO__INIT;
    hello.software = (char *) "orderbus-node " OB_VERSION_STRING;
    hello.last_applied_seq = self->in_seq;
    hello.instance.data = (uint8_t *) node_inbox_instance(self->inbox);
    hello.instance.len = OB_ID_BYTES;
    char last_case[OB_CASE_NO_MAX] = "";
    MDB_txn *txn;
    if (ob_store_begin(node_inbox_store(self->inbox), false, &txn) == 0) {
        node_inbox_last_case(self->inbox, txn, last_case);
        mdb_txn_abort(txn);
    }
    hello.last_case_no = last_case;
    ob_msg_t m;
    ob_msg_init(&m, self->dept[0] ? self->dept : "node");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HELLO;
    m.env.hello = &hello;
    if (ob_wire_send(self->sock, NULL, 0, &m.env) != 0)
        return -1;
    self->last_tx_us = ob_mono_us();
    ob_debug("sent hello last_applied_seq=%llu", (unsigned long long) self->in_seq);
    return 0;
}

/* A handshake that did not complete. Each kind of failure names its own
   likely cause, and only that one:
     AUTH       the broker's ZAP handler answered the Curve handshake with
                an ERROR (status `value`, 400): it does not know this node's
                public key -- the key is not registered;
     PROTOCOL   the handshake broke a rule (`value`: ZMQ_PROTOCOL_ERROR_*);
                a CRYPTOGRAPHIC one means the broker's messages do not
                decrypt with --broker-key;
     NO_DETAIL  the connection closed mid-handshake (`value`: errno, e.g.
                EPIPE or ECONNRESET): a broker restarting or killed, the
                network -- or, when it happens on every try, a broker that
                cannot decrypt our Hello (a wrong --broker-key), which closes
                without a word. Said at info level the first times; a warning
                with that hint once five in a row failed, every 30 s at most. */
static void s_handshake_failed(node_link_t *self, uint16_t event, uint32_t value, uint64_t now)
{
    bool due = !self->auth_warn_us || now - self->auth_warn_us >= S_DOWN_WARN_MS * 1000ull;
    self->handshake_drops = event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                ? self->handshake_drops + 1 : 0;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        if (self->handshake_drops < S_DROPS_SUSPECT) {
            ob_info("broker link: connection to %s closed during the handshake (%s): the broker "
                    "may be restarting; retrying", self->endpoint,
                    value ? strerror((int) value) : "closed by the peer");
            return;
        }
        if (!due)
            return;
        self->auth_warn_us = now;
        ob_warn("broker link: %u handshakes in a row with %s closed before completing (last: "
                "%s): if the broker is running, check that --broker-key is its public key (a "
                "broker that cannot decrypt a node's hello closes the connection)",
                self->handshake_drops, self->endpoint,
                value ? strerror((int) value) : "closed by the peer");
        return;
    }
    if (!due)
        return;
    self->auth_warn_us = now;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        ob_warn("broker at %s refused this node's key (ZAP status %u): register the public key "
                "of --key with 'orderbus admin add-department'", self->endpoint,
                (unsigned) value);
    else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        ob_warn("handshake with broker at %s failed: its messages do not decrypt (protocol "
                "error 0x%x): is --broker-key the broker's public key?", self->endpoint,
                (unsigned) value);
    else
        ob_warn("handshake with broker at %s failed: protocol error 0x%x (is it an orderbus "
                "broker's node link, of a compatible ZeroMQ?)", self->endpoint, (unsigned) value);
}

void node_link_take_monitor(node_link_t *self)
{
    for (int i = 0; i < 64 && self->mon; i++) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, self->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (uint8_t *) zmq_msg_data(&ev) + 2, 4);
        }
        bool more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        if (more) {   /* second frame: the endpoint, not needed */
            zmq_msg_init(&addr);
            zmq_msg_recv(&addr, self->mon, 0);
            zmq_msg_close(&addr);
        }
        uint64_t now = ob_mono_us();
        switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            ob_debug("broker link: connection to %s is up", self->endpoint);
            self->conn_up = true;
            self->handshake_drops = 0;
            self->hello_try_us = 0;   /* say Hello at once */
            if (self->phase == NODE_LINK_CONNECTED)   /* reconnected underneath us */
                s_enter(self, NODE_LINK_DISCONNECTED, "new connection");
            break;
        case ZMQ_EVENT_DISCONNECTED:
            self->conn_up = false;
            if (self->phase != NODE_LINK_DISCONNECTED)
                ob_info("disconnected from broker at %s (connection closed)", self->endpoint);
            s_enter(self, NODE_LINK_DISCONNECTED, "connection closed");
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            s_handshake_failed(self, event, value, now);
            break;
        default:
            break;
        }
    }
}

/* The broker has committed every own message up to `seq`: drop them. */
static int s_acked(node_link_t *self, MDB_txn *txn, uint64_t seq, const char *what)
{
    uint64_t out_seq = node_inbox_out_seq(self->inbox, true);
    if (seq > out_seq) {
        ob_warn("broker %s seq %llu beyond the last one this node sent (%llu)", what,
                (unsigned long long) seq, (unsigned long long) out_seq);
        seq = out_seq;
    }
    if (seq <= self->p_acked_seq)
        return 0;
    int rc = node_inbox_outbox_trim(self->inbox, txn, seq);
    if (rc == 0)
        rc = node_inbox_meta_put(self->inbox, txn, "acked_seq", seq);
    if (rc == 0)
        self->p_acked_seq = seq;
    return rc;
}

void node_link_batch_begin(node_link_t *self)
{
    self->p_in_seq = self->in_seq;
    self->p_acked_seq = self->acked_seq;
    self->b_ack = self->b_gap = self->b_welcome = self->b_resend = false;
    self->b_dept[0] = '\0';
    self->b_hb_ms = 0;
    self->b_nerrors = 0;
}

int node_link_take_transport(node_link_t *self, MDB_txn *txn, const ob_envelope_t *env)
{
    char idhex[OB_ID_HEX];
    switch (env->body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_WELCOME: {
        const Orderbus__V1__Welcome *w = env->welcome;
        uint64_t last = w->last_applied_seq, out_seq = node_inbox_out_seq(self->inbox, true);
        int rc = 0;
        if (last > out_seq) {
            ob_warn("broker has node seq %llu but this node's store ends at %llu "
                    "(store replaced?): numbering continues after %llu",
                    (unsigned long long) last, (unsigned long long) out_seq,
                    (unsigned long long) last);
            rc = node_inbox_outbox_skip_to(self->inbox, txn, last);
        }
        if (rc == 0)
            rc = s_acked(self, txn, last, "welcome");
        if (rc == 0 && w->resume_from > self->p_in_seq) {
            ob_warn("the broker says this store is older than what it confirmed (restored from "
                    "a backup, or replaced): broker seq %llu applied here, %llu confirmed; "
                    "resuming at %llu, the broker sends this department's orders again",
                    (unsigned long long) self->p_in_seq, (unsigned long long) w->resume_from,
                    (unsigned long long) w->resume_from);
            rc = node_link_applied(self, txn, w->resume_from);
        }
        const char *dept = w->dept ? w->dept : "";
        if (rc == 0 && strlen(dept) <= OB_DEPT_MAX && strcmp(dept, self->dept) != 0)
            rc = node_inbox_dept_put(self->inbox, txn, dept);
        if (rc)
            return rc;
        self->b_welcome = true;
        ob_fmt(self->b_dept, sizeof self->b_dept, "%s", dept);
        if (w->heartbeat_ms >= NODE_LINK_HEARTBEAT_MIN_MS
            && w->heartbeat_ms <= NODE_LINK_HEARTBEAT_MAX_MS)
            self->b_hb_ms = (int) w->heartbeat_ms;
        else if (w->heartbeat_ms)
            ob_warn("broker's heartbeat interval %u ms is outside %d..%d: keeping %d ms",
                    w->heartbeat_ms, NODE_LINK_HEARTBEAT_MIN_MS, NODE_LINK_HEARTBEAT_MAX_MS,
                    self->hb_ms);
        return 0;
    }
    case ORDERBUS__V1__ENVELOPE__BODY_RECEIVED:
        return s_acked(self, txn, env->received->seq, "confirmed");
    case ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT:
        return s_acked(self, txn, env->heartbeat->last_applied_seq, "heartbeat has");
    case ORDERBUS__V1__ENVELOPE__BODY_ERROR: {
        const Orderbus__V1__Error *e = env->error;
        if (e->code == ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER) {
            ob_info("broker reports a gap after node seq %llu: resending from %llu",
                    (unsigned long long) e->ref_seq, (unsigned long long) e->ref_seq + 1);
            if (e->ref_seq < self->p_acked_seq)
                ob_warn("broker asks from seq %llu but it confirmed %llu already",
                        (unsigned long long) e->ref_seq + 1,
                        (unsigned long long) self->p_acked_seq);
            self->b_resend = true;
            return s_acked(self, txn, e->ref_seq, "gap report has");
        }
        if (e->ref_msg_id.len == OB_ID_BYTES)
            ob_hex(idhex, e->ref_msg_id.data, OB_ID_BYTES);
        else
            ob_fmt(idhex, sizeof idhex, "-");
        ob_warn("broker refused message %s: %s: %s", idhex, ob_errcode_name(e->code),
                e->message ? e->message : "");
        return 0;
    }
    default:
        ob_debug("ignoring %s from the broker", ob_wire_body_name((int) env->body_case));
        return 0;
    }
}

node_seq_verdict_t node_link_check_seq(node_link_t *self, uint64_t seq)
{
    if (seq <= self->p_in_seq) {
        self->b_ack = true;
        return NODE_SEQ_DUP;
    }
    if (seq == self->p_in_seq + 1)
        return NODE_SEQ_APPLY;
    self->b_gap = true;
    return NODE_SEQ_GAP;
}

int node_link_applied(node_link_t *self, MDB_txn *txn, uint64_t seq)
{
    int rc = node_inbox_meta_put(self->inbox, txn, "in_seq", seq);
    if (rc == 0) {
        self->p_in_seq = seq;
        self->b_ack = true;
    }
    return rc;
}

void node_link_queue_error(node_link_t *self, const uint8_t *ref_msg_id, size_t ref_len,
                           ob_errcode_t code, const char *message)
{
    if (self->b_nerrors >= S_MAX_ERRORS)
        return;   /* the broker learns the rest from its own journal */
    s_error_t *e = &self->b_errors[self->b_nerrors++];
    e->ref_len = ref_len <= OB_ID_BYTES ? ref_len : OB_ID_BYTES;
    if (e->ref_len)
        memcpy(e->ref, ref_msg_id, e->ref_len);
    e->code = code;
    ob_fmt(e->message, sizeof e->message, "%s", message);
}

void node_link_batch_commit(node_link_t *self)
{
    if (self->p_acked_seq > self->acked_seq) {
        self->retry_ms = NODE_LINK_RETRY_MIN_MS;   /* progress: back to 1 s */
        self->progress_us = ob_mono_us();
    }
    self->in_seq = self->p_in_seq;
    self->acked_seq = self->p_acked_seq;
    if (self->sent_upto < self->acked_seq)
        self->sent_upto = self->acked_seq;
}

void node_link_batch_abort(node_link_t *self)
{
    node_link_batch_begin(self);   /* forget everything the batch noted */
}

/* Sends outbox messages after sent_upto, within the window. */
static void s_pump(node_link_t *self)
{
    uint64_t out_seq = node_inbox_out_seq(self->inbox, false);
    if (self->phase != NODE_LINK_CONNECTED || self->sent_upto >= out_seq)
        return;
    MDB_txn *txn = NULL;
    int rc = ob_store_begin(node_inbox_store(self->inbox), false, &txn);
    if (rc) {
        ob_error("cannot read outbox: %s", ob_store_strerror(rc));
        return;
    }
    while (self->sent_upto < out_seq
           && self->sent_upto - self->acked_seq < NODE_LINK_WINDOW) {
        uint64_t seq = self->sent_upto + 1;
        MDB_val v;
        rc = node_inbox_outbox_get(self->inbox, txn, seq, &v);
        if (rc) {
            ob_error("outbox entry %llu missing: %s", (unsigned long long) seq,
                     ob_store_strerror(rc));
            break;
        }
        if (ob_wire_send_raw(self->sock, NULL, 0, v.mv_data, v.mv_size) != 0)
            break;   /* high-water mark or connection gone: later */
        if (self->sent_upto == self->acked_seq)
            self->progress_us = ob_mono_us();   /* the retry clock starts */
        self->sent_upto = seq;
        self->last_tx_us = ob_mono_us();
        ob_debug("sent node seq %llu", (unsigned long long) seq);
    }
    mdb_txn_abort(txn);
}

void node_link_flush(node_link_t *self)
{
    if (self->b_welcome) {
        bool dept_changed = strcmp(self->dept, self->b_dept) != 0;
        if (dept_changed && self->dept[0])
            ob_warn("this store belonged to department '%s' but the broker welcomes the key as "
                    "'%s': check --key and --data", self->dept, self->b_dept);
        ob_fmt(self->dept, sizeof self->dept, "%s", self->b_dept);
        s_enter(self, NODE_LINK_CONNECTED, "welcome");
        if (self->b_hb_ms && self->b_hb_ms != self->hb_ms) {
            /* the broker judges our liveness by its own interval: beat to it */
            ob_info("heartbeat interval %d ms, as the broker asks (was %d ms)", self->b_hb_ms,
                    self->hb_ms);
            self->hb_ms = self->b_hb_ms;
            self->last_hb_us = 0;   /* beat now, then on the new interval */
        }
        ob_info("connected to broker at %s as department '%s'%s (node seq %llu confirmed, "
                "%llu to resend; broker seq %llu applied here)",
                self->endpoint, self->dept, dept_changed ? " (new)" : "",
                (unsigned long long) self->acked_seq,
                (unsigned long long) (node_inbox_out_seq(self->inbox, false) - self->acked_seq),
                (unsigned long long) self->in_seq);
        self->sent_upto = self->acked_seq;
        self->retry_ms = NODE_LINK_RETRY_MIN_MS;
        self->progress_us = ob_mono_us();
    }
    if (self->b_resend)
        self->sent_upto = self->acked_seq;

    ob_msg_t m;
    if (self->b_ack) {
        Orderbus__V1__Received r = ORDERBUS__V1__RECEIVED__INIT;
        r.seq = self->in_seq;
        ob_msg_init(&m, self->dept);
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RECEIVED;
        m.env.received = &r;
        if (ob_wire_send(self->sock, NULL, 0, &m.env) == 0) {
            self->last_tx_us = ob_mono_us();
            ob_debug("sent received seq=%llu", (unsigned long long) self->in_seq);
        }
    }
    if (self->b_gap) {
        char msg[96];
        ob_fmt(msg, sizeof msg, "gap: expected broker seq %llu",
               (unsigned long long) self->in_seq + 1);
        if (ob_wire_send_error(self->sock, NULL, 0, NULL, 0, self->in_seq,
                               ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER, msg) == 0)
            self->last_tx_us = ob_mono_us();
        ob_debug("sent out-of-order error ref_seq=%llu", (unsigned long long) self->in_seq);
    }
    for (size_t i = 0; i < self->b_nerrors; i++) {
        s_error_t *e = &self->b_errors[i];
        if (ob_wire_send_error(self->sock, NULL, 0, e->ref, e->ref_len, 0, e->code,
                               e->message) == 0)
            self->last_tx_us = ob_mono_us();
    }
    self->b_ack = self->b_gap = self->b_welcome = self->b_resend = false;
    self->b_nerrors = 0;
    s_pump(self);
}

void node_link_cron(node_link_t *self)
{
    uint64_t now = ob_mono_us();
    uint64_t hb_us = (uint64_t) self->hb_ms * 1000u;
    switch (self->phase) {
    case NODE_LINK_DISCONNECTED:
        /* Hello only on a connection the monitor reported up: right after a
           disconnect ZeroMQ may still take a message into the dying pipe
           and lose it. Without monitor news for 3 intervals, try anyway. */
        if (self->sock && (self->conn_up || now - self->down_since_us >= 3 * hb_us)
            && now - self->hello_try_us >= S_HELLO_TRY_MS * 1000ull) {
            self->hello_try_us = now;
            if (s_send_hello(self) == 0) {
                self->hello_at_us = now;
                s_enter(self, NODE_LINK_HELLO_SENT, "hello sent");
            }
        }
        if (self->phase == NODE_LINK_DISCONNECTED
            && now - self->down_warn_us >= S_DOWN_WARN_MS * 1000ull) {
            self->down_warn_us = now;
            ob_warn("broker at %s unreachable for %llu s (still trying; %llu messages queued)",
                    self->endpoint,
                    (unsigned long long) ((now - self->down_since_us) / 1000000u),
                    (unsigned long long) node_link_outbox_depth(self));
        }
        if (!self->sock)
            s_reconnect(self, "no socket");
        break;
    case NODE_LINK_HELLO_SENT:
        if (now - self->hello_at_us >= 3 * hb_us)
            s_reconnect(self, "no welcome within 3 heartbeat intervals");
        break;
    case NODE_LINK_CONNECTED:
        if (now - self->last_rx_us >= 3 * hb_us) {
            char why[96];
            ob_fmt(why, sizeof why, "disconnected: broker silent for %llu ms",
                   (unsigned long long) ((now - self->last_rx_us) / 1000u));
            s_reconnect(self, why);
            break;
        }
        if (self->sent_upto > self->acked_seq
            && now - self->progress_us >= (uint64_t) self->retry_ms * 1000u) {
            ob_info("no confirmation from the broker for %d ms: resending from node seq %llu",
                    self->retry_ms, (unsigned long long) self->acked_seq + 1);
            self->sent_upto = self->acked_seq;
            self->retry_ms = self->retry_ms * 2 > NODE_LINK_RETRY_MAX_MS ? NODE_LINK_RETRY_MAX_MS
                                                                       : self->retry_ms * 2;
            self->progress_us = now;
            s_pump(self);
        }
        /* every interval, busy or not: the broker's liveness view and its
           outbox trimming both read our heartbeats */
        if (now - self->last_hb_us >= hb_us) {
            Orderbus__V1__Heartbeat hb = ORDERBUS__V1__HEARTBEAT__INIT;
            hb.last_applied_seq = self->in_seq;
            ob_msg_t m;
            ob_msg_init(&m, self->dept);
            m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT;
            m.env.heartbeat = &hb;
            if (ob_wire_send(self->sock, NULL, 0, &m.env) == 0)
                ob_debug("sent heartbeat last_applied_seq=%llu",
                         (unsigned long long) self->in_seq);
            self->last_hb_us = now;   /* even on EAGAIN: try again next interval */
        }
        break;
    }
}

int node_link_next_timer_ms(node_link_t *self)
{
    uint64_t now = ob_mono_us();
    uint64_t hb_us = (uint64_t) self->hb_ms * 1000u;
    uint64_t due = now + hb_us;
    switch (self->phase) {
    case NODE_LINK_DISCONNECTED:
        due = self->hello_try_us + S_HELLO_TRY_MS * 1000ull;
        break;
    case NODE_LINK_HELLO_SENT:
        due = self->hello_at_us + 3 * hb_us;
        break;
    case NODE_LINK_CONNECTED:
        due = self->last_rx_us + 3 * hb_us;
        if (self->last_hb_us + hb_us < due)
            due = self->last_hb_us + hb_us;
        if (self->sent_upto > self->acked_seq
            && self->progress_us + (uint64_t) self->retry_ms * 1000u < due)
            due = self->progress_us + (uint64_t) self->retry_ms * 1000u;
        break;
    }
    if (due <= now)
        return 0;
    uint64_t ms = (due - now + 999) / 1000;
    return ms > (uint64_t) self->hb_ms ? self->hb_ms : (int) ms;
}

/* --- self-test ----------------------------------------------------------- */
#include <ftw.h>
#include "ob_selftest.h"

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* A Curve keypair made for the test. */
static void s_test_keypair(ob_keypair_t *kp)
{
    char pub[41], sec[41];
    int rc = zmq_curve_keypair(pub, sec);
    assert(rc == 0);
    memset(kp, 0, sizeof *kp);
    uint8_t *p = zmq_z85_decode(kp->public_key, pub);
    uint8_t *s = zmq_z85_decode(kp->secret_key, sec);
    assert(p && s);
    kp->has_secret = true;
}

/* Runs one batch holding `env` (a transport body) through the link. */
static void s_test_take(node_link_t *self, node_inbox_t *inbox, const ob_envelope_t *env)
{
    MDB_txn *txn = NULL;
    node_link_batch_begin(self);
    node_inbox_batch_begin(inbox);
    int rc = ob_store_begin(node_inbox_store(inbox), true, &txn);
    assert(rc == 0);
    rc = node_link_take_transport(self, txn, env);
    assert(rc == 0);
    rc = ob_store_commit(txn);
    assert(rc == 0);
    node_inbox_batch_commit(inbox);
    node_link_batch_commit(self);
    node_link_flush(self);
}

void node_link_test(bool verbose)
{
    char dir[] = "/tmp/node_link_test.XXXXXX", err[256];
    char *made = mkdtemp(dir);
    assert(made);
    int level = ob_log_level();
    ob_log_set_level(verbose ? OB_LOG_DEBUG : OB_LOG_ERROR);
    node_inbox_t *inbox = node_inbox_open(dir, 1, err, sizeof err);
    assert(inbox);
    void *ctx = zmq_ctx_new();
    assert(ctx);
    ob_keypair_t broker, mine;
    s_test_keypair(&broker);
    s_test_keypair(&mine);
    /* nobody listens there: sends fail at once (ZMQ_IMMEDIATE), never block */
    node_link_t *self = node_link_new(ctx, inbox, "tcp://127.0.0.1:1", &broker, &mine, 1000,
                                      err, sizeof err);
    assert(self);
    assert(node_link_phase(self) == NODE_LINK_DISCONNECTED);
    assert(strcmp(node_link_dept(self), "") == 0);
    assert(strcmp(node_link_phase_name(NODE_LINK_HELLO_SENT), "HELLO_SENT") == 0);

    /* Welcome: CONNECTED as the department it names, kept in the store */
    Orderbus__V1__Welcome w = ORDERBUS__V1__WELCOME__INIT;
    w.dept = (char *) "housing";
    w.heartbeat_ms = 250;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_WELCOME;
    m.env.welcome = &w;
    s_test_take(self, inbox, &m.env);
    assert(node_link_phase(self) == NODE_LINK_CONNECTED);
    assert(strcmp(node_link_dept(self), "housing") == 0);
    /* ... and beating at the broker's interval, not its own 1000 ms */
    assert(node_link_heartbeat_ms(self) == 250);
    int ms = node_link_next_timer_ms(self);
    assert(ms >= 0 && ms <= 250);
    w.heartbeat_ms = 0;   /* a broker that names none: the interval stays */
    s_test_take(self, inbox, &m.env);
    assert(node_link_heartbeat_ms(self) == 250);

    /* the broker's seqs: the next one applies, an old one is a duplicate,
       one after a gap is not applied; an aborted batch leaves no trace */
    MDB_txn *txn = NULL;
    node_link_batch_begin(self);
    int rc = ob_store_begin(node_inbox_store(inbox), true, &txn);
    assert(rc == 0);
    node_seq_verdict_t v = node_link_check_seq(self, 1);
    assert(v == NODE_SEQ_APPLY);
    rc = node_link_applied(self, txn, 1);
    assert(rc == 0);
    v = node_link_check_seq(self, 1);
    assert(v == NODE_SEQ_DUP);
    v = node_link_check_seq(self, 3);
    assert(v == NODE_SEQ_GAP);
    rc = ob_store_commit(txn);
    assert(rc == 0);
    node_link_batch_commit(self);
    node_link_flush(self);
    assert(node_link_in_seq(self) == 1);
    node_link_batch_begin(self);
    rc = ob_store_begin(node_inbox_store(inbox), true, &txn);
    assert(rc == 0);
    v = node_link_check_seq(self, 2);
    assert(v == NODE_SEQ_APPLY);
    rc = node_link_applied(self, txn, 2);
    assert(rc == 0);
    mdb_txn_abort(txn);
    node_link_batch_abort(self);
    assert(node_link_in_seq(self) == 1);

    /* two acts in the outbox; Received{1} confirms the first, a heartbeat
       naming a seq beyond the last one sent confirms only what exists */
    for (int i = 0; i < 2; i++) {
        Orderbus__V1__Sign sign = ORDERBUS__V1__SIGN__INIT;
        ob_msg_t act;
        ob_msg_init(&act, NULL);
        act.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SIGN;
        act.env.sign = &sign;
        node_inbox_batch_begin(inbox);
        rc = ob_store_begin(node_inbox_store(inbox), true, &txn);
        assert(rc == 0);
        rc = node_inbox_outbox_append(inbox, txn, &act.env, node_link_dept(self));
        assert(rc == 0);
        rc = ob_store_commit(txn);
        assert(rc == 0);
        node_inbox_batch_commit(inbox);
    }
    assert(node_link_outbox_depth(self) == 2);
    Orderbus__V1__Received rcv = ORDERBUS__V1__RECEIVED__INIT;
    rcv.seq = 1;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RECEIVED;
    m.env.received = &rcv;
    s_test_take(self, inbox, &m.env);
    assert(node_link_outbox_depth(self) == 1);
    Orderbus__V1__Heartbeat hb = ORDERBUS__V1__HEARTBEAT__INIT;
    hb.last_applied_seq = 7;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT;
    m.env.heartbeat = &hb;
    s_test_take(self, inbox, &m.env);
    assert(node_link_outbox_depth(self) == 0);

    /* the timers never wait longer than a heartbeat interval */
    ms = node_link_next_timer_ms(self);
    assert(ms >= 0 && ms <= 250);

    node_link_destroy(&self);
    node_link_destroy(&self);
    assert(self == NULL);
    zmq_ctx_term(ctx);
    node_inbox_destroy(&inbox);
    ob_log_set_level(level);
    rc = nftw(dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    assert(rc == 0);
}
