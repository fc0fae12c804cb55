/*  ob_client.c — request/answer client for the broker's client service and
    a node's local service.

    State machine: every request stays in `pending` (packed, with its msg id)
    until the Answer that names it arrives. When the server has been silent
    for retry_ms while requests are pending, the client drops the socket
    (ZeroMQ would otherwise keep queueing into a dead connection), connects a
    new one and resends every pending request with its original msg id; the
    server answers a duplicate with the first answer, so nothing is applied
    twice. Answers to requests no longer pending (duplicates) are dropped.

    A ZeroMQ socket monitor on each socket tells the client what became of
    its connection (ob_client_link): never connected, the key refused in
    the handshake, the handshake failed, or ready; so a time-out can name
    its likely cause instead of guessing.                                   */
#include "ob_client.h"
#include "ob_util.h"
#include "ob_wire.h"
#include "ob_log.h"
#include <assert.h>
#include <zmq.h>
#include <sodium.h>
#include <unistd.h>
#include "ob_selftest.h"   /* last: asserts on in the self-test, also with -DNDEBUG */

typedef struct {
    uint8_t id[OB_ID_BYTES];
    uint8_t *buf;
    size_t len;
} s_pending_t;

struct ob_client {
    void *ctx;
    void *sock;
    char endpoint[512];
    bool curve;
    char server_z85[OB_Z85_LEN + 1];
    char public_z85[OB_Z85_LEN + 1];
    char *secret_z85;             /* sodium_malloc'd */
    s_pending_t *pending;
    size_t npending, cap;
    int retry_ms;
    uint64_t last_heard_us;       /* last answer, or last (re)send */
    void *monitor;                /* PAIR reading the socket's monitor events */
    unsigned monitors;            /* monitors started, for unique inproc names */
    ob_client_link_t link;        /* what the latest monitor event says */
    bool refused;                 /* key refused (ZAP) since the link was last ready */
    bool failed;                  /* a handshake failed since the link was last ready */
};

#define S_MONITOR_EVENTS                                                               \
    (ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED        \
     | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL        \
     | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* Moves the link state by one monitor event. */
static void s_on_event(ob_client_t *self, uint16_t event)
{
    switch (event) {
    case ZMQ_EVENT_CONNECTED:
        self->link = OB_CLIENT_HANDSHAKING;
        break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        self->link = OB_CLIENT_READY;
        self->refused = self->failed = false;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        self->link = OB_CLIENT_REFUSED;
        self->refused = true;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        self->link = OB_CLIENT_HANDSHAKE_FAILED;
        self->failed = true;
        break;
    case ZMQ_EVENT_DISCONNECTED:
        if (self->link == OB_CLIENT_HANDSHAKING) {   /* closed by the peer mid-handshake */
            self->link = OB_CLIENT_HANDSHAKE_FAILED;
            self->failed = true;
        }
        else if (self->link == OB_CLIENT_READY)
            self->link = OB_CLIENT_LOST;
        break;
    default:
        break;
    }
}

/* Reads every monitor event waiting. */
static void s_monitor_drain(ob_client_t *self)
{
    while (self->monitor) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&msg) >= 2)
            memcpy(&event, zmq_msg_data(&msg), sizeof event);
        bool more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        while (more) {   /* the endpoint frame */
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, self->monitor, 0) < 0)
                more = false;
            else
                more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
        s_on_event(self, event);
    }
}

static void s_monitor_stop(ob_client_t *self)
{
    if (!self->monitor)
        return;
    s_monitor_drain(self);
    zmq_socket_monitor(self->sock, NULL, 0);
    zmq_close(self->monitor);
    self->monitor = NULL;
}

/* Watches self->sock (before it connects); without a monitor the client
   works as before and only knows less. */
static void s_monitor_start(ob_client_t *self)
{
    char ep[96];
    snprintf(ep, sizeof ep, "inproc://ob-client-monitor-%p-%u", (void *) self,
             self->monitors++);
    if (zmq_socket_monitor(self->sock, ep, S_MONITOR_EVENTS) < 0)
        return;
    self->monitor = zmq_socket(self->ctx, ZMQ_PAIR);
    if (self->monitor && zmq_connect(self->monitor, ep) < 0) {
        zmq_close(self->monitor);
        self->monitor = NULL;
    }
    if (!self->monitor)
        zmq_socket_monitor(self->sock, NULL, 0);
}

static int s_connect(ob_client_t *self, char *err, size_t errlen)
{
    if (self->sock) {
        s_monitor_stop(self);
        zmq_close(self->sock);
        self->sock = NULL;
        if (self->link == OB_CLIENT_READY)
            self->link = OB_CLIENT_LOST;
        else if (self->link == OB_CLIENT_HANDSHAKING)
            self->link = OB_CLIENT_NEVER_CONNECTED;   /* a new connection starts over */
    }
    self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->sock) {
        snprintf(err, errlen, "cannot create socket: %s", zmq_strerror(errno));
        return -1;
    }
    int linger = 0, hwm = 100000;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (self->curve) {
        zmq_setsockopt(self->sock, ZMQ_CURVE_SERVERKEY, self->server_z85, OB_Z85_LEN);
        zmq_setsockopt(self->sock, ZMQ_CURVE_PUBLICKEY, self->public_z85, OB_Z85_LEN);
        zmq_setsockopt(self->sock, ZMQ_CURVE_SECRETKEY, self->secret_z85, OB_Z85_LEN);
    }
    s_monitor_start(self);
    if (zmq_connect(self->sock, self->endpoint) < 0) {
        snprintf(err, errlen, "cannot connect to '%s': %s", self->endpoint, zmq_strerror(errno));
        return -1;
    }
    self->last_heard_us = ob_mono_us();
    return 0;
}

ob_client_t *ob_client_new(const char *endpoint, const ob_keypair_t *server_public,
                           const ob_keypair_t *keys, char *err, size_t errlen)
{
    ob_client_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->retry_ms = 2000;
    bool tcp = strncmp(endpoint, "tcp://", 6) == 0;
    if (tcp && (!server_public || !keys || !keys->has_secret)) {
        snprintf(err, errlen, "'%s' needs the broker's public key and this client's keypair",
                 endpoint);
        goto fail;
    }
    if (server_public && keys) {
        self->curve = true;
        memcpy(self->server_z85, server_public->public_z85, sizeof self->server_z85);
        memcpy(self->public_z85, keys->public_z85, sizeof self->public_z85);
        self->secret_z85 = sodium_malloc(OB_Z85_LEN + 1);
        if (!self->secret_z85) {
            snprintf(err, errlen, "out of secure memory");
            goto fail;
        }
        memcpy(self->secret_z85, keys->secret_z85, OB_Z85_LEN + 1);
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        snprintf(err, errlen, "cannot create ZeroMQ context");
        goto fail;
    }
    if (s_connect(self, err, errlen) < 0)
        goto fail;
    return self;
fail:
    ob_client_destroy(&self);
    return NULL;
}

void ob_client_destroy(ob_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_client_t *self = *self_p;
    if (self->sock) {
        s_monitor_stop(self);
        zmq_close(self->sock);
    }
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    for (size_t i = 0; i < self->npending; i++)
        free(self->pending[i].buf);
    free(self->pending);
    if (self->secret_z85)
        sodium_free(self->secret_z85);
    free(self);
    *self_p = NULL;
}

void ob_client_set_retry(ob_client_t *self, int retry_ms)
{
    self->retry_ms = retry_ms > 10 ? retry_ms : 10;
}

size_t ob_client_outstanding(ob_client_t *self)
{
    return self->npending;
}

ob_client_link_t ob_client_link(ob_client_t *self)
{
    s_monitor_drain(self);
    if (self->link == OB_CLIENT_READY)
        return OB_CLIENT_READY;
    if (self->refused)
        return OB_CLIENT_REFUSED;   /* refused, then trying again: still refused */
    if (self->failed)
        return OB_CLIENT_HANDSHAKE_FAILED;
    return self->link;
}

const char *ob_client_link_name(ob_client_link_t link)
{
    switch (link) {
    case OB_CLIENT_NEVER_CONNECTED: return "never connected";
    case OB_CLIENT_HANDSHAKING: return "handshaking";
    case OB_CLIENT_REFUSED: return "key refused";
    case OB_CLIENT_HANDSHAKE_FAILED: return "handshake failed";
    case OB_CLIENT_READY: return "ready";
    case OB_CLIENT_LOST: return "connection lost";
    }
    return "?";
}

int ob_client_send(ob_client_t *self, const ob_envelope_t *env)
{
    assert(env->msg_id.len == OB_ID_BYTES);
    if (self->npending == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        s_pending_t *p = realloc(self->pending, cap * sizeof *p);
        if (!p)
            return -1;
        self->pending = p;
        self->cap = cap;
    }
    s_pending_t *p = &self->pending[self->npending];
    memcpy(p->id, env->msg_id.data, OB_ID_BYTES);
    if (ob_wire_pack(env, &p->buf, &p->len) < 0)
        return -1;
    self->npending++;
    if (self->npending == 1)
        self->last_heard_us = ob_mono_us();
    /* a send that fails (EAGAIN) stays pending and goes out on the resend */
    zmq_send(self->sock, p->buf, p->len, ZMQ_DONTWAIT);
    return 0;
}

static void s_resend_all(ob_client_t *self)
{
    char err[256];
    if (s_connect(self, err, sizeof err) < 0) {
        ob_debug("client: %s", err);
        return;
    }
    for (size_t i = 0; i < self->npending; i++)
        zmq_send(self->sock, self->pending[i].buf, self->pending[i].len, ZMQ_DONTWAIT);
}

/* Removes the pending entry `id`; false if it was not pending. */
static bool s_take_pending(ob_client_t *self, const uint8_t *id, size_t len)
{
    if (len != OB_ID_BYTES)
        return false;
    for (size_t i = 0; i < self->npending; i++) {
        if (memcmp(self->pending[i].id, id, OB_ID_BYTES) == 0) {
            free(self->pending[i].buf);
            self->pending[i] = self->pending[--self->npending];
            return true;
        }
    }
    return false;
}

ob_envelope_t *ob_client_recv(ob_client_t *self, int timeout_ms)
{
    uint64_t deadline = ob_mono_us() + (uint64_t) (timeout_ms > 0 ? timeout_ms : 0) * 1000;
    for (;;) {
        uint64_t now = ob_mono_us();
        if (self->npending && now - self->last_heard_us >= (uint64_t) self->retry_ms * 1000) {
            s_resend_all(self);
            now = ob_mono_us();
        }
        long wait_ms = now >= deadline ? 0 : (long) ((deadline - now) / 1000);
        if (self->npending) {
            long to_retry = (long) (((uint64_t) self->retry_ms * 1000 -
                                     (now - self->last_heard_us)) / 1000) + 1;
            if (to_retry < wait_ms)
                wait_ms = to_retry;
        }
        zmq_pollitem_t items[2] = {{self->sock, 0, ZMQ_POLLIN, 0},
                                   {self->monitor, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, self->monitor ? 2 : 1, wait_ms);
        if (rc < 0 && errno != EINTR)
            return NULL;
        if (rc > 0 && self->monitor && (items[1].revents & ZMQ_POLLIN))
            s_monitor_drain(self);
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
            ob_inmsg_t in;
            while (ob_wire_recv(self->sock, false, &in) == 0) {
                ob_envelope_t *env = NULL;
                if (!in.truncated) {
                    ob_errcode_t code;
                    char err[256];
                    env = ob_wire_decode(in.data, in.size, &code, err, sizeof err);
                }
                ob_inmsg_clear(&in);
                if (!env)
                    continue;
                if (env->body_case != ORDERBUS__V1__ENVELOPE__BODY_ANSWER
                    || !s_take_pending(self, env->answer->ref_msg_id.data,
                                       env->answer->ref_msg_id.len)) {
                    ob_wire_free(env);   /* a duplicate answer, or not an answer */
                    continue;
                }
                self->last_heard_us = ob_mono_us();
                return env;
            }
        }
        if (ob_mono_us() >= deadline)
            return NULL;
    }
}

ob_envelope_t *ob_client_call(ob_client_t *self, const ob_envelope_t *env, int timeout_ms,
                              char *err, size_t errlen)
{
    if (ob_client_send(self, env) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    uint64_t deadline = ob_mono_us() + (uint64_t) timeout_ms * 1000;
    for (;;) {
        uint64_t now = ob_mono_us();
        int left = now >= deadline ? 0 : (int) ((deadline - now) / 1000);
        ob_envelope_t *answer = ob_client_recv(self, left);
        if (!answer)
            break;
        if (memcmp(answer->answer->ref_msg_id.data, env->msg_id.data, OB_ID_BYTES) == 0)
            return answer;
        ob_wire_free(answer);   /* an earlier pipelined request's answer */
    }
    s_take_pending(self, env->msg_id.data, env->msg_id.len);
    snprintf(err, errlen, "no answer from '%s' within %d ms", self->endpoint, timeout_ms);
    return NULL;
}

/* Self-test: a tiny echo server on inproc that answers every request, and
   ignores the first request it sees to force a resend. */

/* Serves `server` until `client` has its answer to `msg_id` (or 3 s pass):
   drops the first copy, answers every later one twice. Returns the answer;
   *seen counts the copies the server saw, *answered those it answered. */
static ob_envelope_t *s_test_serve(void *server, ob_client_t *client, const uint8_t *msg_id,
                                   int *seen, int *answered)
{
    char err[256];
    uint64_t until = ob_mono_us() + 3000000;
    ob_envelope_t *answer = NULL;
    while (!answer && ob_mono_us() < until) {
        zmq_pollitem_t item = {server, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 10) == 1) {
            ob_inmsg_t in;
            while (ob_wire_recv(server, true, &in) == 0) {
                ob_errcode_t code;
                ob_envelope_t *req = ob_wire_decode(in.data, in.size, &code, err, sizeof err);
                assert(req);
                /* every resend carries the request's one msg id */
                assert(req->msg_id.len == OB_ID_BYTES);
                assert(memcmp(req->msg_id.data, msg_id, OB_ID_BYTES) == 0);
                if ((*seen)++ > 0) {
                    for (int k = 0; k < 2; k++) {
                        int rc = ob_wire_send_error_answer(server, in.rid, in.rid_len,
                                                           req->msg_id.data, req->msg_id.len,
                                                           ORDERBUS__V1__ERROR_CODE__OK, "");
                        assert(rc == 0);
                    }
                    (*answered)++;
                }
                ob_wire_free(req);
                ob_inmsg_clear(&in);
            }
        }
        answer = ob_client_recv(client, 10);
    }
    return answer;
}

/* A StatusRequest in `m`, with a fresh msg id. */
static void s_test_status_msg(ob_msg_t *m, Orderbus__V1__StatusRequest *st)
{
    ob_msg_init(m, "test");
    m->env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATUS;
    m->env.status = st;
}

void ob_client_test(bool verbose)
{
    char err[256];
    char dir[] = "/tmp/ob-client-test-XXXXXX";
    char *made = mkdtemp(dir);
    assert(made);
    char ep[300];
    snprintf(ep, sizeof ep, "ipc://%s/s.sock", dir);
    void *ctx = zmq_ctx_new();
    void *server = zmq_socket(ctx, ZMQ_ROUTER);
    int rc = zmq_bind(server, ep);
    assert(rc == 0);
    ob_client_t *client = ob_client_new(ep, NULL, NULL, err, sizeof err);
    assert(client);
    ob_client_set_retry(client, 100);

    /* tcp without keys is refused */
    ob_client_t *keyless = ob_client_new("tcp://127.0.0.1:1", NULL, NULL, err, sizeof err);
    assert(keyless == NULL);
    assert(strstr(err, "public key"));

    ob_msg_t m;
    Orderbus__V1__StatusRequest st = ORDERBUS__V1__STATUS_REQUEST__INIT;
    s_test_status_msg(&m, &st);
    rc = ob_client_send(client, &m.env);
    assert(rc == 0);
    assert(ob_client_outstanding(client) == 1);

    /* the server drops the first copy, answers the resent one twice */
    int answered = 0, seen = 0;
    ob_envelope_t *answer = s_test_serve(server, client, m.msg_id, &seen, &answered);
    assert(answer);
    assert(seen >= 2 && answered >= 1);
    assert(ob_client_link(client) == OB_CLIENT_READY);
    assert(memcmp(answer->answer->ref_msg_id.data, m.msg_id, OB_ID_BYTES) == 0);
    ob_wire_free(answer);
    assert(ob_client_outstanding(client) == 0);
    /* the duplicate answer is dropped: nothing more arrives */
    answer = ob_client_recv(client, 50);
    assert(answer == NULL);

    /* call() times out with a clear message when nobody answers */
    zmq_close(server);
    s_test_status_msg(&m, &st);
    answer = ob_client_call(client, &m.env, 300, err, sizeof err);
    assert(answer == NULL);
    assert(strstr(err, "no answer from"));
    assert(ob_client_outstanding(client) == 0);
    ob_client_destroy(&client);
    ob_client_destroy(&client);

    /* nobody at the endpoint: the client knows it never connected */
    char absent[320];
    snprintf(absent, sizeof absent, "ipc://%s/absent.sock", dir);
    client = ob_client_new(absent, NULL, NULL, err, sizeof err);
    assert(client);
    s_test_status_msg(&m, &st);
    answer = ob_client_call(client, &m.env, 200, err, sizeof err);
    assert(answer == NULL);
    assert(ob_client_link(client) == OB_CLIENT_NEVER_CONNECTED);
    assert(strcmp(ob_client_link_name(OB_CLIENT_REFUSED), "key refused") == 0);
    ob_client_destroy(&client);
    zmq_ctx_term(ctx);
    char path[400];
    snprintf(path, sizeof path, "%s/s.sock", dir);
    unlink(path);
    rmdir(dir);
    if (verbose)
        printf("client: %d copies seen ", seen);
}
