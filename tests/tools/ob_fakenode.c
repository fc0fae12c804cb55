/*  ob_fakenode.c — a test tool: a department node that refuses chosen
    messages for good, the way a node refuses a frame it cannot read.

      ob_fakenode --server-key BROKER.key --key DEPT.key [--refuse SEQ]...
                  [--for MS] [--until SEQ] ENDPOINT

    Connects to the broker's node link with the department's keypair, sends
    Hello (last applied 0, or --applied N) and then, for --for MS (default
    10000) or until seq --until has been applied: a numbered message whose
    seq is the next one is applied (printed, confirmed with Received) unless
    its seq is one of --refuse (and it is not a Withdrawn), which is answered with
    Error{ERR_TOO_LARGE, "frame over 1 MiB"} (as a node answers a frame it
    cannot decode) and not applied; a numbered message after a gap is
    answered Error{ERR_OUT_OF_ORDER, ref_seq = last applied}. Heartbeats are
    answered with heartbeats.

    Prints one line a message: "applied SEQ BODY", "refused SEQ BODY",
    "gap SEQ BODY", and at the end "last applied N". Exit status 0 when
    --until was reached (or no --until), 2 when not, 1 on a setup error,
    64 on bad arguments.                                                   */
#include "ob_common.h"
#include "ob_keys.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <getopt.h>
#include <sodium.h>
#include <sysexits.h>
#include <zmq.h>

#define S_REFUSE_MAX 16

typedef struct {
    const char *server_key, *key, *endpoint;
    uint64_t refuse[S_REFUSE_MAX];
    size_t nrefuse;
    long for_ms;
    uint64_t until, applied;
} s_opts_t;

static bool s_refused(const s_opts_t *o, uint64_t seq)
{
    for (size_t i = 0; i < o->nrefuse; i++)
        if (o->refuse[i] == seq)
            return true;
    return false;
}

static void s_send_error(void *sock, ob_errcode_t code, const char *message, uint64_t ref_seq)
{
    ob_wire_send_error(sock, NULL, 0, NULL, 0, ref_seq, code, message);
}

static void s_send_received(void *sock, uint64_t seq)
{
    ob_msg_t m;
    ob_msg_init(&m, "ob_fakenode");
    Orderbus__V1__Received r = ORDERBUS__V1__RECEIVED__INIT;
    r.seq = seq;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RECEIVED;
    m.env.received = &r;
    ob_wire_send(sock, NULL, 0, &m.env);
}

static void s_send_hello(void *sock, uint64_t applied, bool heartbeat)
{
    ob_msg_t m;
    ob_msg_init(&m, "ob_fakenode");
    Orderbus__V1__Hello h = ORDERBUS__V1__HELLO__INIT;
    Orderbus__V1__Heartbeat hb = ORDERBUS__V1__HEARTBEAT__INIT;
    if (heartbeat) {
        hb.last_applied_seq = applied;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT;
        m.env.heartbeat = &hb;
    } else {
        h.software = (char *) "ob_fakenode";
        h.last_applied_seq = applied;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HELLO;
        m.env.hello = &h;
    }
    ob_wire_send(sock, NULL, 0, &m.env);
}

/* One message from the broker. */
static void s_take(void *sock, s_opts_t *o, const ob_envelope_t *env)
{
    const char *body = ob_wire_body_name((int) env->body_case);
    if (env->body_case == ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT) {
        s_send_hello(sock, o->applied, true);
        return;
    }
    if (env->seq == 0)
        return;
    if (env->seq <= o->applied) {
        s_send_received(sock, o->applied);   /* a duplicate: confirmed again */
        return;
    }
    if (env->seq > o->applied + 1) {
        printf("gap %llu %s\n", (unsigned long long) env->seq, body);
        s_send_error(sock, ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER, "gap", o->applied);
        return;
    }
    if (s_refused(o, env->seq) && env->body_case != ORDERBUS__V1__ENVELOPE__BODY_WITHDRAWN) {
        printf("refused %llu %s\n", (unsigned long long) env->seq, body);
        /* as a real node does: naming the frame it could not take */
        ob_wire_send_error(sock, NULL, 0, env->msg_id.data, env->msg_id.len, 0,
                           ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE, "frame over 1 MiB");
        return;
    }
    o->applied = env->seq;
    printf("applied %llu %s\n", (unsigned long long) env->seq, body);
    s_send_received(sock, env->seq);
}

static int s_run(void *sock, s_opts_t *o)
{
    s_send_hello(sock, o->applied, false);
    uint64_t end = ob_mono_us() + (uint64_t) o->for_ms * 1000;
    while (ob_mono_us() < end && !(o->until && o->applied >= o->until)) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        ob_inmsg_t in;
        while (ob_wire_recv(sock, false, &in) == 0) {
            ob_errcode_t code;
            char err[200];
            ob_envelope_t *env = ob_wire_decode_link(in.data, in.size, &code, err, sizeof err);
            ob_inmsg_clear(&in);
            if (env)
                s_take(sock, o, env);
            ob_wire_free(env);
        }
        fflush(stdout);
    }
    printf("last applied %llu\n", (unsigned long long) o->applied);
    return !o->until || o->applied >= o->until ? 0 : 2;
}

int main(int argc, char **argv)
{
    s_opts_t o = {.for_ms = 10000};
    static const struct option opts[] = {
        {"server-key", required_argument, NULL, 'S'}, {"key", required_argument, NULL, 'k'},
        {"refuse", required_argument, NULL, 'r'},     {"for", required_argument, NULL, 'f'},
        {"until", required_argument, NULL, 'u'},      {"applied", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        bool numeric = c == 'r' || c == 'f' || c == 'u' || c == 'a';
        unsigned long long v = numeric ? strtoull(optarg, &end, 10) : 0;
        if (numeric && (*end || !*optarg)) {
            fprintf(stderr, "ob_fakenode: '%s' is not a number\n", optarg);
            return EX_USAGE;
        }
        switch (c) {
        case 'S': o.server_key = optarg; break;
        case 'k': o.key = optarg; break;
        case 'r':
            if (o.nrefuse == S_REFUSE_MAX)
                return EX_USAGE;
            o.refuse[o.nrefuse++] = v;
            break;
        case 'f': o.for_ms = (long) v; break;
        case 'u': o.until = v; break;
        case 'a': o.applied = v; break;
        default: return EX_USAGE;
        }
    }
    if (optind != argc - 1 || !o.server_key || !o.key) {
        fprintf(stderr, "usage: ob_fakenode --server-key F --key F [--refuse SEQ]... "
                        "[--for MS] [--until SEQ] [--applied N] ENDPOINT\n");
        return EX_USAGE;
    }
    o.endpoint = argv[optind];
    if (sodium_init() < 0)
        return 1;
    char err[256];
    ob_keypair_t *server = ob_keys_load(o.server_key, false, err, sizeof err);
    ob_keypair_t *mine = server ? ob_keys_load(o.key, true, err, sizeof err) : NULL;
    void *ctx = mine ? zmq_ctx_new() : NULL;
    void *sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    int rc = 1;
    if (!sock) {
        fprintf(stderr, "ob_fakenode: %s\n", mine ? "cannot create a socket" : err);
        goto out;
    }
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server->public_key, OB_KEY_BYTES);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, mine->public_key, OB_KEY_BYTES);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, mine->secret_key, OB_KEY_BYTES);
    if (zmq_connect(sock, o.endpoint) != 0) {
        fprintf(stderr, "ob_fakenode: cannot connect to '%s'\n", o.endpoint);
        goto out;
    }
    rc = s_run(sock, &o);
out:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    ob_keys_destroy(&mine);
    ob_keys_destroy(&server);
    return rc;
}
