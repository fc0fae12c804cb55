/*  ob_bench.c — the durable end-to-end figure: how many orders a second go
    from a submit to a department node's commit, and how long one takes.

    One order's path: SubmitRequest -> broker commit -> Dispatch -> the node
    commits it -> Received back at the broker -> the broker commits the
    DELIVERED journal event and publishes it (topic
    ev.<dept>.<STATE>.DELIVERED, frame 2 a packed JournalEntry). The bench
    subscribes to the event stream first, then submits keeping W orders in
    flight; an order leaves the window when its DELIVERED event arrives, so
    throughput counts only deliveries whose record the broker committed.
    Two latencies are reported: to the node's Received at the broker (the
    entry's at_us: when the broker took the Received from its socket; same
    host, same wall clock), and to the DELIVERED event at the bench (after
    the broker's commit of the record and the hop of the event).
    PUB may drop a message: an order without its event after --event-wait ms
    is looked up (GetRequest) and counted done when its transport state is
    RECEIVED ("fallbacks" in the report; their latency is not counted).

    Usage: ob_bench --config SITE/orderbus.yaml [--orders N] [--window W]
                    [--size BYTES] [--category 城乡建设/物业管理] [--warmup N]
                    [--event-wait MS] [--timeout S]                          */
#include "ob_common.h"
#include "ob_client.h"
#include "ob_config.h"
#include "ob_fsm.h"
#include "ob_keys.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <getopt.h>
#include <sodium.h>
#include <sysexits.h>
#include <time.h>
#include <zmq.h>

/* A real complaint from the demo data (TipDM 2020 C, message 1309),
   repeated to the requested size. */
static const char s_text[] =
    "尊敬的领导：你好！我是A6区润和紫郡的业主，今年年初，我们小区周边就竖起了一道道由高压线"
    "塔所筑起的高压防线，之前沿线的居民就反对架高压线塔，想要改走地埋的方式，但是相关部门给到"
    "市民的回应是为了解决周边居民用电的问题，而且几年前就确定了这样的一个方案，于是周边居民也"
    "就只能被迫接受。本以为，高压线塔架起之后，我们的用电就会得到保障，然而恰恰相反，我们的用"
    "电没有得到保障，停电倒是保障十足。一个月不停一两次电，不搞几次故障维修，不突然跳下闸，A6"
    "区电力局就好像就完不成任务，没有工作量了。我就想问问领导，架高压线塔之前，说好的630攻坚，"
    "说好的便民工程都是假的吗？是来搞笑的吗？是来糊弄百姓，纯属完成任务的吗？润和紫郡业主";

enum { S_FREE = 0, S_SENT, S_ANSWERED, S_DONE, S_FAILED };

/* One order of the run. */
typedef struct {
    uint64_t sent_us;             /* submit sent */
    int64_t sent_wall_us;         /* the same, wall clock */
    uint64_t done_us;             /* DELIVERED received (or fallback found it) */
    int64_t received_wall_us;     /* the broker took the node's Received (entry at_us) */
    uint64_t checked_us;          /* last fallback GetRequest */
    uint8_t msg_id[OB_ID_BYTES];  /* the submit's msg id */
    uint8_t order_id[OB_ID_BYTES];
    uint8_t state;
    bool fallback;                /* done by the GetRequest fallback */
} s_order_t;

/* Open-addressing map from a 16-byte id to an order index (+1; 0 empty). */
typedef struct {
    uint8_t (*keys)[OB_ID_BYTES];
    uint32_t *vals;
    size_t cap;                   /* power of two */
} s_map_t;

/* Events that came before the answer naming their order (a ring). */
#define S_EARLY 4096
typedef struct {
    uint8_t id[OB_ID_BYTES];
    uint64_t at_us;
    int64_t received_wall_us;
} s_early_t;

typedef struct {
    ob_client_t *client;
    void *zctx;
    void *sub;
    s_order_t *orders;
    size_t norders;
    s_map_t by_msg, by_order;
    s_early_t early[S_EARLY];
    size_t nearly;
    ob_workorder_t wo;            /* the order submitted, again and again */
    int event_wait_ms;
    uint64_t deadline_us;
    size_t done, failed, fallbacks, inflight;
    bool route_warned;
    uint64_t run_id;              /* random: the orders' intake references are new each run */
} s_bench_t;

static uint64_t s_hash(const uint8_t *id)
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    uint64_t h = (a ^ (b << 29 | b >> 35)) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 31);
}

static int s_map_init(s_map_t *self, size_t n)
{
    self->cap = 64;
    while (self->cap < 2 * n + 16)
        self->cap <<= 1;
    self->keys = calloc(self->cap, OB_ID_BYTES);
    self->vals = calloc(self->cap, sizeof *self->vals);
    return self->keys && self->vals ? 0 : -1;
}

static void s_map_free(s_map_t *self)
{
    free(self->keys);
    free(self->vals);
    memset(self, 0, sizeof *self);
}

static void s_map_put(s_map_t *self, const uint8_t *id, uint32_t index)
{
    size_t i = s_hash(id) & (self->cap - 1);
    while (self->vals[i] && memcmp(self->keys[i], id, OB_ID_BYTES) != 0)
        i = (i + 1) & (self->cap - 1);
    memcpy(self->keys[i], id, OB_ID_BYTES);
    self->vals[i] = index + 1;
}

/* Index stored for `id`, or -1. */
static long s_map_get(const s_map_t *self, const uint8_t *id)
{
    size_t i = s_hash(id) & (self->cap - 1);
    while (self->vals[i]) {
        if (memcmp(self->keys[i], id, OB_ID_BYTES) == 0)
            return (long) self->vals[i] - 1;
        i = (i + 1) & (self->cap - 1);
    }
    return -1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ob_bench --config SITE/orderbus.yaml [--orders N] [--window W]\n"
            "                [--size BYTES] [--category PATH] [--warmup N]\n"
            "                [--event-wait MS] [--timeout SECONDS] [--dept D]\n"
            "       (--broker EP --broker-key FILE --key FILE --events EP instead of --config)\n"
            "\n"
            "Durable end-to-end throughput and latency: submit -> broker commit ->\n"
            "dispatch -> node commit -> DELIVERED event. Keeps W orders in flight\n"
            "(default 256), N orders (default 20000), content BYTES of Chinese text\n"
            "(default 1024). The category must route to a running department;\n"
            "--dept names it, so that only its DELIVERED events are subscribed to.\n"
            "Latency is reported to the node's Received at the broker (the issue's\n"
            "end point) and to the DELIVERED event after the broker's commit.\n");
}

static void s_order_done(s_bench_t *self, s_order_t *o, uint64_t at_us, int64_t received_us,
                         bool fallback)
{
    if (o->state == S_DONE || o->state == S_FAILED)
        return;
    o->state = S_DONE;
    o->done_us = at_us;
    o->received_wall_us = received_us;
    o->fallback = fallback;
    self->done++;
    self->inflight--;
    if (fallback)
        self->fallbacks++;
}

static void s_order_failed(s_bench_t *self, s_order_t *o)
{
    if (o->state == S_DONE || o->state == S_FAILED)
        return;
    o->state = S_FAILED;
    self->failed++;
    self->inflight--;
}

/* Reads every journal entry waiting on the event stream. */
static void s_drain_events(s_bench_t *self)
{
    for (;;) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, self->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            return;
        }
        uint64_t now = ob_mono_us();
        bool more = zmq_msg_more(&topic);
        zmq_msg_close(&topic);
        if (!more)
            continue;
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, self->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&body);
            return;
        }
        while (zmq_msg_more(&body)) {   /* unexpected extra frames: drop */
            zmq_msg_close(&body);
            zmq_msg_init(&body);
            if (zmq_msg_recv(&body, self->sub, ZMQ_DONTWAIT) < 0)
                break;
        }
        ob_journal_t *e = NULL;
        if (zmq_msg_size(&body) <= OB_MAX_FRAME)
            e = orderbus__v1__journal_entry__unpack(NULL, zmq_msg_size(&body),
                                                    zmq_msg_data(&body));
        zmq_msg_close(&body);
        if (!e)
            continue;
        if (e->event == ORDERBUS__V1__ORDER_EVENT__EVENT_DELIVERED
            && e->order_id.len == OB_ID_BYTES) {
            long i = s_map_get(&self->by_order, e->order_id.data);
            if (i >= 0) {
                s_order_done(self, &self->orders[i], now, e->at_us, false);
            } else {
                s_early_t *slot = &self->early[self->nearly++ % S_EARLY];
                memcpy(slot->id, e->order_id.data, OB_ID_BYTES);
                slot->at_us = now;
                slot->received_wall_us = e->at_us;
            }
        }
        orderbus__v1__journal_entry__free_unpacked(e, NULL);
    }
}

/* An answer from the client service: a submit's (by msg id) or a
   fallback GetRequest's (by the order id it carries). Returns -1 when the
   run cannot go on (the category does not route). */
static int s_handle_answer(s_bench_t *self, const ob_answer_t *a)
{
    uint64_t now = ob_mono_us();
    long i = a->ref_msg_id.len == OB_ID_BYTES ? s_map_get(&self->by_msg, a->ref_msg_id.data)
                                              : -1;
    if (i >= 0) {
        s_order_t *o = &self->orders[i];
        if (o->state != S_SENT)
            return 0;
        if (a->code != ORDERBUS__V1__ERROR_CODE__OK || !a->order || !a->order->order
            || a->order->order->id.len != OB_ID_BYTES) {
            fprintf(stderr, "ob_bench: submit refused: %s: %s\n",
                    ob_errcode_name(a->code), a->message ? a->message : "");
            s_order_failed(self, o);
            return 0;
        }
        if (a->order->state != ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED
            && !a->order->dept[0]) {
            fprintf(stderr, "ob_bench: the order went to state %s, not to a department: "
                            "pick a --category that routes to a running department\n",
                    ob_state_name(a->order->state));
            s_order_failed(self, o);
            return -1;
        }
        memcpy(o->order_id, a->order->order->id.data, OB_ID_BYTES);
        o->state = S_ANSWERED;
        o->checked_us = now;
        s_map_put(&self->by_order, o->order_id, (uint32_t) i);
        for (size_t k = 0; k < S_EARLY && k < self->nearly; k++) {
            if (memcmp(self->early[k].id, o->order_id, OB_ID_BYTES) == 0) {
                s_order_done(self, o, self->early[k].at_us, self->early[k].received_wall_us,
                             false);
                break;
            }
        }
        return 0;
    }
    /* a GetRequest's answer */
    if (a->code != ORDERBUS__V1__ERROR_CODE__OK || !a->order || !a->order->order
        || a->order->order->id.len != OB_ID_BYTES)
        return 0;
    long k = s_map_get(&self->by_order, a->order->order->id.data);
    if (k >= 0 && a->order->transport == ORDERBUS__V1__TRANSPORT_STATE__TRANSPORT_RECEIVED)
        s_order_done(self, &self->orders[k], now, 0, true);
    return 0;
}

static int s_submit(s_bench_t *self, size_t i)
{
    s_order_t *o = &self->orders[i];
    ob_msg_t m;
    ob_msg_init(&m, "ob_bench");
    Orderbus__V1__SubmitRequest req = ORDERBUS__V1__SUBMIT_REQUEST__INIT;
    self->wo.received_at_ms = ob_now_ms();
    /* each order its own intake reference: the broker keeps one order per
       reference and client */
    char ref[64];
    snprintf(ref, sizeof ref, "ob_bench-%016llx-%09zu", (unsigned long long) self->run_id, i);
    self->wo.external_ref = getenv("OB_BENCH_NO_REF") ? (char *) "" : ref;
    req.order = &self->wo;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SUBMIT;
    m.env.submit = &req;
    memcpy(o->msg_id, m.msg_id, OB_ID_BYTES);
    s_map_put(&self->by_msg, o->msg_id, (uint32_t) i);
    o->sent_us = ob_mono_us();
    o->sent_wall_us = ob_now_us();
    o->state = S_SENT;
    self->inflight++;
    if (ob_client_send(self->client, &m.env) < 0) {
        s_order_failed(self, o);
        return -1;
    }
    return 0;
}

/* Orders answered long ago and still without their event: ask the broker
   (PUB may have dropped the event). */
static void s_check_missing(s_bench_t *self, size_t first, size_t end)
{
    uint64_t now = ob_mono_us();
    uint64_t wait = (uint64_t) self->event_wait_ms * 1000;
    for (size_t i = first; i < end; i++) {
        s_order_t *o = &self->orders[i];
        if (o->state != S_ANSWERED || now - o->checked_us < wait)
            continue;
        o->checked_us = now;
        ob_msg_t m;
        ob_msg_init(&m, "ob_bench");
        Orderbus__V1__OrderRef ref = ORDERBUS__V1__ORDER_REF__INIT;
        ref.id.data = o->order_id;
        ref.id.len = OB_ID_BYTES;
        Orderbus__V1__GetRequest get = ORDERBUS__V1__GET_REQUEST__INIT;
        get.ref = &ref;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_GET;
        m.env.get = &get;
        ob_client_send(self->client, &m.env);
    }
}

/* Runs orders [first, first+count) with `window` in flight. Returns 0, or
   -1 when the run stopped early (time-out, refused routing). */
static int s_run(s_bench_t *self, size_t first, size_t count, size_t window)
{
    size_t next = first, end = first + count;
    size_t lowest = first;            /* orders before this one are finished */
    uint64_t last_check = ob_mono_us();
    size_t target = self->done + self->failed + count;
    while (self->done + self->failed < target) {
        while (self->inflight < window && next < end)
            s_submit(self, next++);
        zmq_pollitem_t item = {self->sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 1) > 0)
            s_drain_events(self);
        ob_envelope_t *env;
        while ((env = ob_client_recv(self->client, 0)) != NULL) {
            int rc = s_handle_answer(self, env->answer);
            ob_wire_free(env);
            if (rc < 0)
                return -1;
        }
        uint64_t now = ob_mono_us();
        if (now - last_check > 100000) {
            while (lowest < next && self->orders[lowest].state >= S_DONE)
                lowest++;
            s_check_missing(self, lowest, next);
            last_check = now;
        }
        if (now > self->deadline_us) {
            fprintf(stderr, "ob_bench: time-out: %zu of %zu orders delivered\n",
                    self->done, self->norders);
            return -1;
        }
    }
    return 0;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Loads the config file and overrides; opens the client and the SUB.
   Returns 0, EX_CONFIG (config or key files) or EX_UNAVAILABLE. */
static int s_connect(s_bench_t *self, const char *config, const char *broker,
                     const char *broker_key, const char *key, const char *events,
                     const char *topic)
{
    int rc = EX_CONFIG;
    char err[512];
    ob_config_t *cfg = NULL;
    ob_keypair_t *server = NULL, *mine = NULL;
    if (config) {
        cfg = ob_config_load(config, err, sizeof err);
        if (!cfg) {
            fprintf(stderr, "ob_bench: %s\n", err);
            goto out;
        }
        if (!broker)
            broker = ob_config_get(cfg, "broker", NULL);
        if (!broker_key)
            broker_key = ob_config_path(cfg, "broker_key");
        if (!key)
            key = ob_config_path(cfg, "key");
        if (!events)
            events = ob_config_get(cfg, "events", NULL);
    }
    if (!broker || !broker_key || !key || !events) {
        fprintf(stderr, "ob_bench: need the broker endpoint, its key, a client key and the "
                        "event endpoint (--config SITE/orderbus.yaml)\n");
        goto out;
    }
    server = ob_keys_load(broker_key, false, err, sizeof err);
    if (!server) {
        fprintf(stderr, "ob_bench: %s\n", err);
        goto out;
    }
    mine = ob_keys_load(key, true, err, sizeof err);
    if (!mine) {
        fprintf(stderr, "ob_bench: %s\n", err);
        goto out;
    }
    rc = EX_UNAVAILABLE;
    self->client = ob_client_new(broker, server, mine, err, sizeof err);
    if (!self->client) {
        fprintf(stderr, "ob_bench: %s\n", err);
        goto out;
    }
    ob_client_set_retry(self->client, 10000);
    self->zctx = zmq_ctx_new();
    self->sub = self->zctx ? zmq_socket(self->zctx, ZMQ_SUB) : NULL;
    if (!self->sub) {
        fprintf(stderr, "ob_bench: cannot create the event socket\n");
        goto out;
    }
    int hwm = 1000000, linger = 0;
    zmq_setsockopt(self->sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    if (zmq_connect(self->sub, events) < 0) {
        fprintf(stderr, "ob_bench: cannot connect to '%s': %s\n", events,
                zmq_strerror(errno));
        goto out;
    }
    rc = 0;
out:
    ob_keys_destroy(&server);
    ob_keys_destroy(&mine);
    ob_config_destroy(&cfg);
    return rc;
}

/* `size` bytes (at most) of the demo text repeated, cut at a character
   boundary; malloc'd, NULL when out of memory. */
static char *s_make_content(size_t size)
{
    size_t tl = strlen(s_text), n = 0;
    char *out = malloc(size + 8);
    if (!out)
        return NULL;
    while (n < size + 4) {          /* a few bytes past size, to see the boundary */
        size_t take = tl < size + 4 - n ? tl : size + 4 - n;
        memcpy(out + n, s_text, take);
        n += take;
    }
    size_t cut = size;
    while (cut > 0 && ((unsigned char) out[cut] & 0xc0) == 0x80)
        cut--;
    out[cut] = '\0';
    return out;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"broker", required_argument, NULL, 'b'},
        {"broker-key", required_argument, NULL, 'B'},
        {"key", required_argument, NULL, 'k'},
        {"events", required_argument, NULL, 'e'},
        {"orders", required_argument, NULL, 'n'},
        {"window", required_argument, NULL, 'w'},
        {"size", required_argument, NULL, 's'},
        {"category", required_argument, NULL, 'C'},
        {"warmup", required_argument, NULL, 'W'},
        {"event-wait", required_argument, NULL, 'E'},
        {"timeout", required_argument, NULL, 't'},
        {"dept", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *broker = NULL, *broker_key = NULL, *key = NULL;
    const char *events = NULL, *category = "城乡建设", *dept = NULL;
    long orders = 20000, window = 256, size = 1024, warmup = 20, event_wait = 3000;
    long timeout_s = 900;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        long *num = NULL, lo = 0, hi = 0;
        switch (c) {
        case 'c': config = optarg; break;
        case 'b': broker = optarg; break;
        case 'B': broker_key = optarg; break;
        case 'k': key = optarg; break;
        case 'e': events = optarg; break;
        case 'C': category = optarg; break;
        case 'D': dept = optarg; break;
        case 'n': num = &orders; lo = 1; hi = 10000000; break;
        case 'w': num = &window; lo = 1; hi = 100000; break;
        case 's': num = &size; lo = 1; hi = 60000; break;
        case 'W': num = &warmup; lo = 0; hi = 100000; break;
        case 'E': num = &event_wait; lo = 10; hi = 600000; break;
        case 't': num = &timeout_s; lo = 1; hi = 86400; break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return EX_USAGE;
        }
        if (num) {
            char *end = NULL;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < lo || v > hi) {
                fprintf(stderr, "ob_bench: '--%s' wants a number from %ld to %ld\n",
                        li >= 0 ? longopts[li].name : "?", lo, hi);
                return EX_USAGE;
            }
            *num = v;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ob_bench: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "ob_bench: cannot initialise libsodium\n");
        return EX_SOFTWARE;
    }

    int rc = EX_SOFTWARE;
    s_bench_t self_ = {0};
    randombytes_buf(&self_.run_id, sizeof self_.run_id);
    s_bench_t *self = &self_;
    char *content = NULL, *catbuf = NULL;
    char *cats[3];
    uint64_t *lat = NULL, *recv_lat = NULL;

    /* with --dept only that department's deliveries cross the wire (the
       publisher filters); without it every event comes and most are dropped */
    char topic[OB_DEPT_MAX + 40] = "ev.";
    if (dept) {
        if (strlen(dept) >= OB_DEPT_MAX) {
            fprintf(stderr, "ob_bench: '--dept' is too long\n");
            return EX_USAGE;
        }
        snprintf(topic, sizeof topic, "ev.%s.DISPATCHED.DELIVERED", dept);
    }
    rc = s_connect(self, config, broker, broker_key, key, events, topic);
    if (rc != 0)
        goto out;
    rc = EX_SOFTWARE;
    content = s_make_content((size_t) size);
    catbuf = strdup(category);
    if (!content || !catbuf)
        goto out;
    orderbus__v1__work_order__init(&self->wo);
    size_t ncat = 0;
    for (char *p = catbuf; p && *p && ncat < 3;) {
        cats[ncat++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    self->wo.n_category = ncat;
    self->wo.category = cats;
    self->wo.title = (char *) "A6区润和紫郡用电的问题能不能解决（压测）";
    self->wo.content = content;
    self->wo.channel = ORDERBUS__V1__CHANNEL__CHANNEL_WEB;
    self->wo.appeal_type = ORDERBUS__V1__APPEAL_TYPE__APPEAL_COMPLAINT;
    self->wo.external_ref = (char *) "ob_bench";

    self->norders = (size_t) (warmup + orders);
    self->orders = calloc(self->norders, sizeof *self->orders);
    if (!self->orders || s_map_init(&self->by_msg, self->norders) < 0
        || s_map_init(&self->by_order, self->norders) < 0)
        goto out;
    self->event_wait_ms = (int) event_wait;
    self->deadline_us = ob_mono_us() + (uint64_t) timeout_s * 1000000;

    /* the subscription needs a moment to reach the publisher; the warm-up
       orders (window 1) make sure it has, and warm the stores */
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    if (warmup > 0 && s_run(self, 0, (size_t) warmup, 1) < 0) {
        rc = 1;
        goto out;
    }
    size_t warm_done = self->done, warm_failed = self->failed, warm_fb = self->fallbacks;

    uint64_t t0 = ob_mono_us();
    int run_rc = s_run(self, (size_t) warmup, (size_t) orders, (size_t) window);
    uint64_t t1 = ob_mono_us();

    size_t first = (size_t) warmup, end = first + (size_t) orders;
    size_t done = self->done - warm_done, failed = self->failed - warm_failed;
    size_t fallbacks = self->fallbacks - warm_fb;
    lat = calloc((size_t) orders, sizeof *lat);
    recv_lat = calloc((size_t) orders, sizeof *recv_lat);
    if (!lat || !recv_lat)
        goto out;
    size_t nlat = 0, nrecv = 0;
    uint64_t last_done = t0;
    for (size_t i = first; i < end; i++) {
        const s_order_t *o = &self->orders[i];
        if (o->state != S_DONE)
            continue;
        if (o->done_us > last_done)
            last_done = o->done_us;
        if (!o->fallback)
            lat[nlat++] = o->done_us - o->sent_us;
        if (!o->fallback && o->received_wall_us > o->sent_wall_us)
            recv_lat[nrecv++] = (uint64_t) (o->received_wall_us - o->sent_wall_us);
    }
    if (run_rc < 0)
        last_done = t1;
    qsort(lat, nlat, sizeof *lat, s_cmp_u64);
    qsort(recv_lat, nrecv, sizeof *recv_lat, s_cmp_u64);
    double secs = (double) (last_done - t0) / 1e6;
    double p50 = nlat ? (double) lat[(nlat - 1) * 50 / 100] / 1000.0 : 0;
    double p99 = nlat ? (double) lat[(nlat - 1) * 99 / 100] / 1000.0 : 0;
    double pmax = nlat ? (double) lat[nlat - 1] / 1000.0 : 0;

    printf("mode: window=%ld orders=%ld\n", window, orders);
    printf("content: %zu bytes, category %s\n", strlen(content), category);
    printf("delivered: %zu, failed: %zu, event fallbacks: %zu, elapsed %.2f s\n",
           done, failed, fallbacks, secs);
    printf("throughput: %.0f orders/s\n", secs > 0 ? (double) done / secs : 0.0);
    if (nrecv) {
        printf("latency p50: %.3f ms (submit -> node commit -> Received at the broker)\n",
               (double) recv_lat[(nrecv - 1) * 50 / 100] / 1000.0);
        printf("latency p99: %.3f ms\n", (double) recv_lat[(nrecv - 1) * 99 / 100] / 1000.0);
    } else
        printf("latency p50: n/a (no DELIVERED event carried the broker's receipt time)\n");
    if (nlat) {
        printf("committed p50: %.3f ms (submit -> DELIVERED recorded by the broker, event received)\n",
               p50);
        printf("committed p99: %.3f ms\n", p99);
        printf("committed max: %.3f ms\n", pmax);
    } else
        printf("committed p50: n/a (no DELIVERED event was received)\n");
    if (fallbacks * 10 > done)
        fprintf(stderr, "ob_bench: warning: %zu of %zu orders were found by the GetRequest "
                        "fallback, not by their event: is the event endpoint right?\n",
                fallbacks, done);
    rc = run_rc == 0 && failed == 0 ? 0 : 1;
out:
    free(lat);
    free(recv_lat);
    free(content);
    free(catbuf);
    free(self->orders);
    s_map_free(&self->by_msg);
    s_map_free(&self->by_order);
    ob_client_destroy(&self->client);
    if (self->sub)
        zmq_close(self->sub);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    return rc;
}
