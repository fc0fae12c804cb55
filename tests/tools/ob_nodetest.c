/*  ob_nodetest.c — the department node's link and local service, tested
    against a fake broker.

      BUILD=build ob_nodetest PORT

    Runs the real $BUILD/bin/orderbus-node (BUILD defaults to "build") as a
    child, in a fresh directory under /tmp, with a heartbeat of 200 ms. The
    test itself is the broker: a Curve-server ROUTER bound at
    tcp://127.0.0.1:PORT, sending Welcome, Dispatch, Recall, Decision,
    Received and Heartbeat by hand and reading what the node sends; and the
    clerk: a DEALER on the node's ipc local service.

    What it checks (docs/PROTOCOL.md §3, §6): Hello on connect; a Dispatch
    acknowledged with Received; a duplicate re-acknowledged and not applied
    twice; a gap answered Error{ERR_OUT_OF_ORDER} and not applied; clerk
    actions answered after commit and sent with the next seq; resend of an
    unconfirmed action after ~1 s; refusals (illegal transition, unknown
    order, missing note, recalled order); InboxRequest{ref} by id and case
    number whatever the state, `all`, paging with after_id, the answer size
    note; garbage on the local service; status; reconnect after broker
    silence and resend of what the broker had not confirmed; restart with
    state kept; demo auto-handling; the window of unconfirmed messages;
    refused reliable messages consumed.

    Prints one TAP-like line a check ("ok - ..." / "not ok - ...", details
    on "#" lines), then "N passed, N failed". Exit status 0 when all passed,
    1 otherwise, 64 on bad arguments. The directory is removed when all
    passed and kept (its path printed, the node's log in it) otherwise.
    OB_SANITIZED=1 allows three times the time limits.                      */
#include "ob_common.h"
#include "ob_keys.h"
#include "ob_util.h"
#include "ob_wire.h"
#include "ob_fsm.h"
#include "../../nodes/node_link.h"
#include <ftw.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>
#include <zmq.h>

#define S_DEPT "housing"
#define S_NOTE "回复内容不完整"
#define S_TITLE "小区电梯长期故障"
#define S_WINDOW_ORDERS 300      /* dispatched at once to fill the node's window */
#define S_BIG_ORDERS 12          /* orders of ~100 KB: more than one answer holds */
#define S_BIG_BYTES (100 * 1024)

typedef struct {
    char dir[64];                /* the test's directory under /tmp */
    char node_bin[4096];         /* $BUILD/bin/orderbus-node */
    char endpoint[64];           /* the fake broker's node endpoint */
    int scale;                   /* time-limit factor */
    void *ctx;
    void *router;                /* the fake broker (Curve server) */
    void *clerk;                 /* DEALER on the node's local service */
    uint8_t rid[OB_RID_MAX];     /* the node's routing id, from its last message */
    size_t rid_len;
    bool hb_on;                  /* the fake broker sends heartbeats */
    uint64_t hb_last_us;         /* when it last did */
    uint64_t hb_seq;             /* last node seq the fake broker confirmed */
    pid_t node;                  /* the node under test, 0 when not running */
    int passed, failed;
} s_test_t;

/* --- results ------------------------------------------------------------- */

static void s_check(s_test_t *self, bool ok, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_check(s_test_t *self, bool ok, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", ok ? "ok" : "not ok");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok)
        self->passed++;
    else {
        self->failed++;
        printf("#   at tests/tools/ob_nodetest.c:%d; node log: %s/node.log\n", line, self->dir);
    }
    fflush(stdout);
}

#define CHECK(self, cond, ...) s_check((self), (cond), __LINE__, __VA_ARGS__)

static void s_stop_node(s_test_t *self, int sig, int *status);

/* A setup step failed: one failed check, then out. */
static void s_bail(s_test_t *self, const char *what)
{
    printf("not ok - setup: %s\n", what);
    printf("#   directory kept: %s\n", self->dir);
    printf("%d passed, %d failed\n", self->passed, self->failed + 1);
    fflush(stdout);
    if (self->node > 0)
        s_stop_node(self, SIGKILL, NULL);
    exit(1);
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

/* --- the node ------------------------------------------------------------ */

/* Starts orderbus-node on DIR/node; `demo_delay` ("MIN:MAX") turns the demo
   agent on. The node's stderr goes to DIR/node.log. */
static void s_start_node(s_test_t *self, const char *demo_delay)
{
    char data[128], bkey[128], key[128], log[128];
    ob_fmt(data, sizeof data, "%s/node", self->dir);
    ob_fmt(bkey, sizeof bkey, "%s/broker.key", self->dir);
    ob_fmt(key, sizeof key, "%s/%s.key", self->dir, S_DEPT);
    ob_fmt(log, sizeof log, "%s/node.log", self->dir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        s_bail(self, "cannot fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive the test */
        if (!freopen(log, "a", stderr))
            _exit(126);
        const char *argv[24] = {self->node_bin, "--data", data, "--broker", self->endpoint,
                                "--broker-key", bkey, "--key", key, "--heartbeat-ms", "200",
                                "-v"};
        int n = 12;
        if (demo_delay) {
            argv[n++] = "--demo-auto";
            argv[n++] = "--demo-delay-ms";
            argv[n++] = demo_delay;
            argv[n++] = "--demo-return-pct";
            argv[n++] = "0";
        }
        argv[n] = NULL;
        execv(self->node_bin, (char **) argv);
        _exit(127);
    }
    self->node = pid;
    self->rid_len = 0;
}

/* Stops the node with `sig` and reaps it; *status gets its wait status. */
static void s_stop_node(s_test_t *self, int sig, int *status)
{
    int st = 0;
    if (self->node > 0) {
        kill(self->node, sig);
        while (waitpid(self->node, &st, 0) < 0 && errno == EINTR)
            ;
    }
    self->node = 0;
    if (status)
        *status = st;
}

/* --- the fake broker ----------------------------------------------------- */

static void s_bsend(s_test_t *self, ob_msg_t *m)
{
    if (!self->rid_len || ob_wire_send(self->router, self->rid, self->rid_len, &m->env) != 0)
        s_bail(self, "the fake broker cannot send to the node");
}

static void s_heartbeat(s_test_t *self)
{
    Orderbus__V1__Heartbeat h = ORDERBUS__V1__HEARTBEAT__INIT;
    h.last_applied_seq = self->hb_seq;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT;
    m.env.heartbeat = &h;
    ob_wire_send(self->router, self->rid, self->rid_len, &m.env);   /* best effort */
}

/* The next envelope from the node, heartbeats skipped; NULL after
   timeout_ms. Meanwhile sends the fake broker's heartbeats (when on). */
static ob_envelope_t *s_brecv(s_test_t *self, int timeout_ms)
{
    uint64_t end = ob_mono_us() + (uint64_t) timeout_ms * 1000;
    for (;;) {
        uint64_t now = ob_mono_us();
        if (now >= end)
            return NULL;
        if (self->hb_on && self->rid_len && now - self->hb_last_us > 150000) {
            s_heartbeat(self);
            self->hb_last_us = now;
        }
        int64_t left = (int64_t) (end - now) / 1000;
        zmq_pollitem_t it = {self->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, left > 50 ? 50 : (long) left + 1) <= 0)
            continue;
        ob_inmsg_t in;
        if (ob_wire_recv(self->router, true, &in) != 0)
            continue;
        memcpy(self->rid, in.rid, in.rid_len);
        self->rid_len = in.rid_len;
        ob_errcode_t code;
        char err[128];
        ob_envelope_t *env = ob_wire_decode(in.data, in.size, &code, err, sizeof err);
        ob_inmsg_clear(&in);
        if (!env)
            continue;
        if (env->body_case == ORDERBUS__V1__ENVELOPE__BODY_HEARTBEAT) {
            ob_wire_free(env);
            continue;
        }
        return env;
    }
}

static void s_welcome(s_test_t *self, uint64_t last)
{
    Orderbus__V1__Welcome w = ORDERBUS__V1__WELCOME__INIT;
    w.dept = (char *) S_DEPT;
    w.name = (char *) "市住房和城乡建设局";
    w.last_applied_seq = last;
    w.heartbeat_ms = 200;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_WELCOME;
    m.env.welcome = &w;
    s_bsend(self, &m);
}

static void s_received(s_test_t *self, uint64_t seq)
{
    Orderbus__V1__Received r = ORDERBUS__V1__RECEIVED__INIT;
    r.seq = seq;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RECEIVED;
    m.env.received = &r;
    s_bsend(self, &m);
    self->hb_seq = seq;
}

static void s_dispatch(s_test_t *self, uint64_t seq, const uint8_t *id, uint32_t attempt,
                       const char *case_no, const char *title, const char *content)
{
    Orderbus__V1__WorkOrder o = ORDERBUS__V1__WORK_ORDER__INIT;
    o.id.data = (uint8_t *) id;
    o.id.len = OB_ID_BYTES;
    o.case_no = (char *) case_no;
    o.title = (char *) title;
    o.content = (char *) (content ? content : "电梯坏了三个月无人维修");
    o.category = (char *[]) {(char *) "城乡建设", (char *) "物业管理"};
    o.n_category = 2;
    Orderbus__V1__Dispatch d = ORDERBUS__V1__DISPATCH__INIT;
    d.order = &o;
    d.attempt = attempt;
    d.state = ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED;
    d.lead = true;
    d.dispatched_at_ms = ob_now_ms();
    d.sign_deadline_ms = d.dispatched_at_ms + 86400000;
    d.reply_deadline_ms = d.dispatched_at_ms + 15 * 86400000LL;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.seq = seq;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DISPATCH;
    m.env.dispatch = &d;
    s_bsend(self, &m);
}

static void s_recall(s_test_t *self, uint64_t seq, const uint8_t *id, uint32_t attempt)
{
    Orderbus__V1__Recall r = ORDERBUS__V1__RECALL__INIT;
    r.order_id.data = (uint8_t *) id;
    r.order_id.len = OB_ID_BYTES;
    r.attempt = attempt;
    r.reason = (char *) "改派";
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.seq = seq;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RECALL;
    m.env.recall = &r;
    s_bsend(self, &m);
}

static void s_decision(s_test_t *self, uint64_t seq, const uint8_t *id, uint32_t attempt,
                       ob_event_t event, ob_state_t state)
{
    Orderbus__V1__Decision d = ORDERBUS__V1__DECISION__INIT;
    d.order_id.data = (uint8_t *) id;
    d.order_id.len = OB_ID_BYTES;
    d.attempt = attempt;
    d.event = event;
    d.state = state;
    d.note = (char *) S_NOTE;
    ob_msg_t m;
    ob_msg_init(&m, "broker");
    m.env.seq = seq;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DECISION;
    m.env.decision = &d;
    s_bsend(self, &m);
}

/* --- the clerk ----------------------------------------------------------- */

static void s_clerk_connect(s_test_t *self)
{
    if (self->clerk)
        zmq_close(self->clerk);
    self->clerk = zmq_socket(self->ctx, ZMQ_DEALER);
    int zero = 0;
    char ep[128];
    ob_fmt(ep, sizeof ep, "ipc://%s/node/node.sock", self->dir);
    if (!self->clerk || zmq_setsockopt(self->clerk, ZMQ_LINGER, &zero, sizeof zero) != 0
        || zmq_connect(self->clerk, ep) != 0)
        s_bail(self, "cannot connect to the node's local service");
}

/* Reads the answer to msg id `ref` (other answers are stale: skipped);
   NULL after 3 s (scaled). */
static ob_envelope_t *s_clerk_answer(s_test_t *self, const uint8_t *ref)
{
    uint64_t end = ob_mono_us() + 3000000ull * (uint64_t) self->scale;
    while (ob_mono_us() < end) {
        zmq_pollitem_t it = {self->clerk, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        ob_inmsg_t in;
        if (ob_wire_recv(self->clerk, false, &in) != 0)
            continue;
        ob_errcode_t code;
        char err[128];
        ob_envelope_t *env = ob_wire_decode(in.data, in.size, &code, err, sizeof err);
        ob_inmsg_clear(&in);
        if (env && env->body_case == ORDERBUS__V1__ENVELOPE__BODY_ANSWER
            && (!ref || (env->answer->ref_msg_id.len == OB_ID_BYTES
                         && memcmp(env->answer->ref_msg_id.data, ref, OB_ID_BYTES) == 0)))
            return env;
        ob_wire_free(env);
    }
    return NULL;
}

/* One request on the local service; its Answer envelope, or NULL. */
static ob_envelope_t *s_clerk_call(s_test_t *self, ob_msg_t *m)
{
    if (ob_wire_send(self->clerk, NULL, 0, &m->env) != 0)
        return NULL;
    return s_clerk_answer(self, m->msg_id);
}

static ob_envelope_t *s_clerk_action(s_test_t *self, ob_event_t event, const uint8_t *id,
                                     const char *note)
{
    ob_msg_t m;
    ob_msg_init(&m, "clerk");
    Orderbus__V1__Sign s = ORDERBUS__V1__SIGN__INIT;
    Orderbus__V1__Progress p = ORDERBUS__V1__PROGRESS__INIT;
    Orderbus__V1__Reply r = ORDERBUS__V1__REPLY__INIT;
    ProtobufCBinaryData oid = {OB_ID_BYTES, (uint8_t *) id};
    switch (event) {
    case ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN:
        s.order_id = oid;
        s.clerk = (char *) "张三";
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SIGN;
        m.env.sign = &s;
        break;
    case ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS:
        p.order_id = oid;
        p.note = (char *) note;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_PROGRESS;
        m.env.progress = &p;
        break;
    default:
        r.order_id = oid;
        r.note = (char *) note;
        r.result = ORDERBUS__V1__REPLY_RESULT__RESULT_RESOLVED;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_REPLY;
        m.env.reply = &r;
        break;
    }
    return s_clerk_call(self, &m);
}

/* InboxRequest with the given fields (ref by id when id_len > 0, by case
   number when case_no != NULL). */
static ob_envelope_t *s_clerk_inbox(s_test_t *self, ob_state_t state, bool all, uint32_t limit,
                                    const uint8_t *after, size_t after_len, const uint8_t *id,
                                    size_t id_len, const char *case_no)
{
    ob_msg_t m;
    ob_msg_init(&m, "clerk");
    Orderbus__V1__InboxRequest r = ORDERBUS__V1__INBOX_REQUEST__INIT;
    Orderbus__V1__OrderRef ref = ORDERBUS__V1__ORDER_REF__INIT;
    r.state = state;
    r.all = all;
    r.limit = limit;
    r.after_id.data = (uint8_t *) after;
    r.after_id.len = after_len;
    if (id_len || case_no) {
        ref.id.data = (uint8_t *) id;
        ref.id.len = id_len;
        ref.case_no = (char *) (case_no ? case_no : "");
        r.ref = &ref;
    }
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_INBOX;
    m.env.inbox = &r;
    return s_clerk_call(self, &m);
}

static ob_envelope_t *s_clerk_list(s_test_t *self, ob_state_t state)
{
    return s_clerk_inbox(self, state, false, 0, NULL, 0, NULL, 0, NULL);
}

static ob_envelope_t *s_clerk_ref_id(s_test_t *self, const uint8_t *id, size_t len)
{
    return s_clerk_inbox(self, 0, false, 0, NULL, 0, id, len, NULL);
}

static ob_envelope_t *s_clerk_ref_case(s_test_t *self, const char *case_no)
{
    return s_clerk_inbox(self, 0, false, 0, NULL, 0, NULL, 0, case_no);
}

/* --- predicates ---------------------------------------------------------- */

static bool s_is(const ob_envelope_t *e, int body)
{
    return e && (int) e->body_case == body;
}

static bool s_code(const ob_envelope_t *e, ob_errcode_t code)
{
    return s_is(e, ORDERBUS__V1__ENVELOPE__BODY_ANSWER) && e->answer->code == code;
}

/* The answer's message, its code when it has none. */
static const char *s_msg(const ob_envelope_t *e)
{
    if (!s_is(e, ORDERBUS__V1__ENVELOPE__BODY_ANSWER))
        return "no answer";
    if (e->answer->message && *e->answer->message)
        return e->answer->message;
    return e->answer->code ? ob_errcode_name(e->answer->code) : "OK";
}

/* The answer holds exactly the order `id`. */
static bool s_one(const ob_envelope_t *e, const uint8_t *id)
{
    return s_code(e, ORDERBUS__V1__ERROR_CODE__OK) && e->answer->n_inbox == 1
           && e->answer->inbox[0]->order && e->answer->inbox[0]->order->id.len == OB_ID_BYTES
           && memcmp(e->answer->inbox[0]->order->id.data, id, OB_ID_BYTES) == 0;
}

static const char *s_state(const ob_envelope_t *e)
{
    return s_is(e, ORDERBUS__V1__ENVELOPE__BODY_ANSWER) && e->answer->n_inbox
               ? ob_state_name(e->answer->inbox[0]->state) : "-";
}

/* Reads what the node sends for `ms`; returns the highest reliable seq
   seen (at least `floor`). */
static uint64_t s_max_seq(s_test_t *self, int ms, uint64_t floor, uint64_t stop_at)
{
    uint64_t max = floor, end = ob_mono_us() + (uint64_t) ms * 1000;
    while (ob_mono_us() < end && (!stop_at || max < stop_at)) {
        ob_envelope_t *e = s_brecv(self, 100);
        if (e && e->seq > max)
            max = e->seq;
        ob_wire_free(e);
    }
    return max;
}

/* Pages through the inbox with `all` and `limit`; checks ids ascending and
   distinct. Returns how many orders, -1 when the pages were wrong; *notes
   counts the pages cut by the answer size (their message). */
static long s_page_all(s_test_t *self, uint32_t limit, int *notes, int *pages)
{
    uint8_t after[OB_ID_BYTES];
    bool have = false;
    long total = 0;
    *notes = *pages = 0;
    for (int guard = 0; guard < 10000; guard++) {
        ob_envelope_t *e = s_clerk_inbox(self, 0, true, limit, have ? after : NULL,
                                         have ? OB_ID_BYTES : 0, NULL, 0, NULL);
        if (!s_code(e, ORDERBUS__V1__ERROR_CODE__OK)) {
            printf("#   page %d: %s\n", *pages, s_msg(e));
            ob_wire_free(e);
            return -1;
        }
        (*pages)++;
        const ob_answer_t *a = e->answer;
        bool note = a->message && *a->message;
        if (note)
            (*notes)++;
        for (size_t i = 0; i < a->n_inbox; i++) {
            const ob_workorder_t *wo = a->inbox[i]->order;
            if (!wo || wo->id.len != OB_ID_BYTES
                || (have && memcmp(wo->id.data, after, OB_ID_BYTES) <= 0)) {
                printf("#   page %d: order %zu not after the one before\n", *pages, i);
                ob_wire_free(e);
                return -1;
            }
            memcpy(after, wo->id.data, OB_ID_BYTES);
            have = true;
            total++;
        }
        bool more = a->n_inbox > 0 && (a->n_inbox >= limit || note);
        if (note && a->n_inbox >= limit) {
            printf("#   page %d: a full page carries a note: %s\n", *pages, a->message);
            ob_wire_free(e);
            return -1;
        }
        ob_wire_free(e);
        if (!more)
            return total;
    }
    return -1;
}

/* Counts the lines of DIR/node.log that report a sanitizer finding or a
   node error; the first goes to `first`. (The test provokes warnings on
   purpose, e.g. a Decision for an order the node does not hold.) */
static int s_log_reports(s_test_t *self, char *first, size_t len)
{
    char path[128], line[1024];
    ob_fmt(path, sizeof path, "%s/node.log", self->dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        ob_fmt(first, len, "no log '%s'", path);
        return 1;
    }
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "runtime error:") || strstr(line, "Sanitizer")
            || strstr(line, "]: error: ")) {
            if (n++ == 0) {
                line[strcspn(line, "\n")] = '\0';
                ob_fmt(first, len, "%s", line);
            }
        }
    }
    fclose(f);
    return n;
}

/* --- the test ------------------------------------------------------------ */

static void s_setup(s_test_t *self, const char *port)
{
    char path[128], err[256];
    ob_fmt(self->dir, sizeof self->dir, "/tmp/ob-nodetest.XXXXXX");
    if (!mkdtemp(self->dir))
        s_bail(self, "cannot create a directory under /tmp");
    ob_fmt(path, sizeof path, "%s/broker.key", self->dir);
    if (ob_keys_generate(path, "broker", err, sizeof err) != 0)
        s_bail(self, err);
    ob_keypair_t *bk = ob_keys_load(path, true, err, sizeof err);
    if (!bk)
        s_bail(self, err);
    ob_fmt(path, sizeof path, "%s/%s.key", self->dir, S_DEPT);
    if (ob_keys_generate(path, S_DEPT, err, sizeof err) != 0)
        s_bail(self, err);
    self->ctx = zmq_ctx_new();
    self->router = self->ctx ? zmq_socket(self->ctx, ZMQ_ROUTER) : NULL;
    int one = 1, zero = 0;
    ob_fmt(self->endpoint, sizeof self->endpoint, "tcp://127.0.0.1:%s", port);
    bool ok = self->router && zmq_setsockopt(self->router, ZMQ_LINGER, &zero, sizeof zero) == 0
              && zmq_setsockopt(self->router, ZMQ_CURVE_SERVER, &one, sizeof one) == 0
              && zmq_setsockopt(self->router, ZMQ_CURVE_SECRETKEY, bk->secret_key,
                                OB_KEY_BYTES) == 0
              && zmq_bind(self->router, self->endpoint) == 0;
    ob_keys_destroy(&bk);
    if (!ok) {
        ob_fmt(err, sizeof err, "cannot bind the fake broker at '%s': %s", self->endpoint,
               zmq_strerror(errno));
        s_bail(self, err);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2 || strspn(argv[1], "0123456789") != strlen(argv[1]) || !*argv[1]
        || atoi(argv[1]) < 1 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: BUILD=build ob_nodetest PORT\n"
                        "Tests $BUILD/bin/orderbus-node against a fake broker listening on\n"
                        "tcp://127.0.0.1:PORT (a free port).\n");
        return EX_USAGE;
    }
    if (sodium_init() < 0) {
        printf("not ok - setup: libsodium does not initialise\n");
        return 1;
    }
    static s_test_t test;
    s_test_t *self = &test;
    self->hb_on = true;
    self->scale = getenv("OB_SANITIZED") && strcmp(getenv("OB_SANITIZED"), "1") == 0 ? 3 : 1;
    const char *build = getenv("BUILD");
    ob_fmt(self->node_bin, sizeof self->node_bin, "%s/bin/orderbus-node",
           build && *build ? build : "build");
    ob_fmt(self->dir, sizeof self->dir, "(none)");
    if (access(self->node_bin, X_OK) != 0) {
        char err[4200];
        ob_fmt(err, sizeof err, "no executable '%s' (set BUILD)", self->node_bin);
        s_bail(self, err);
    }
    s_setup(self, argv[1]);
    int sc = self->scale;
    ob_envelope_t *e;
    uint64_t t0, dt;
    int status = 0;

    /* -- connect, dispatch, duplicate, gap -- */
    s_start_node(self, NULL);
    e = s_brecv(self, 5000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_HELLO) && e->hello->last_applied_seq == 0,
          "node says Hello{last_applied_seq 0} on connect");
    ob_wire_free(e);
    if (!self->rid_len)
        s_bail(self, "the node never connected");
    s_welcome(self, 0);

    uint8_t id1[OB_ID_BYTES], id2[OB_ID_BYTES];
    ob_id_new(id1);
    ob_id_new(id2);
    const char *case1 = "20261124-000001", *case2 = "20261124-000002";
    s_dispatch(self, 1, id1, 1, case1, S_TITLE, NULL);
    e = s_brecv(self, 2000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_RECEIVED) && e->received->seq == 1,
          "Dispatch seq 1 is acknowledged with Received{1}");
    ob_wire_free(e);
    /* the same seq again, with other content: must not be applied */
    s_dispatch(self, 1, id1, 2, case1, "重复的派单", NULL);
    e = s_brecv(self, 2000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_RECEIVED) && e->received->seq == 1,
          "duplicate seq 1 is acknowledged again with Received{1}");
    ob_wire_free(e);
    s_recall(self, 3, id1, 1);
    e = s_brecv(self, 2000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_ERROR)
                    && e->error->code == ORDERBUS__V1__ERROR_CODE__ERR_OUT_OF_ORDER
                    && e->error->ref_seq == 1,
          "gap (seq 3 after 1) is answered Error{ERR_OUT_OF_ORDER, ref_seq 1}");
    ob_wire_free(e);

    s_clerk_connect(self);
    e = s_clerk_list(self, 0);
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__OK) && e->answer->n_inbox == 1
                    && e->answer->inbox[0]->state == ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED
                    && e->answer->inbox[0]->attempt == 1
                    && strcmp(e->answer->inbox[0]->order->title, S_TITLE) == 0,
          "inbox: one DISPATCHED order, attempt 1: the duplicate and the gap were not applied");
    ob_wire_free(e);

    /* -- clerk actions, resend, refusals -- */
    e = s_clerk_action(self, ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN, id1, NULL);
    CHECK(self, s_one(e, id1)
                    && e->answer->inbox[0]->state == ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS,
          "clerk Sign is answered OK with the order IN_PROGRESS (%s)", s_msg(e));
    ob_wire_free(e);
    e = s_brecv(self, 2000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_SIGN) && e->seq == 1
                    && e->sign->attempt == 1 && e->sign->at_ms > 0,
          "the broker gets Sign seq 1, attempt 1");
    ob_wire_free(e);
    t0 = ob_mono_us();
    e = s_brecv(self, 3000 * sc);
    dt = (ob_mono_us() - t0) / 1000;
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_SIGN) && e->seq == 1
                    && dt >= NODE_LINK_RETRY_MIN_MS * 8 / 10
                    && dt <= (uint64_t) (NODE_LINK_RETRY_MIN_MS * 18 / 10 * sc),
          "unconfirmed Sign is resent after ~1 s (%llu ms)", (unsigned long long) dt);
    ob_wire_free(e);
    s_received(self, 1);

    e = s_clerk_action(self, ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN, id1, NULL);
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_ILLEGAL_TRANSITION),
          "a second Sign is refused ERR_ILLEGAL_TRANSITION (%s)", s_msg(e));
    ob_wire_free(e);
    e = s_clerk_action(self, ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN, id2, NULL);
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND),
          "Sign of an unknown order is refused ERR_NOT_FOUND (%s)", s_msg(e));
    ob_wire_free(e);
    e = s_clerk_action(self, ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS, id1, "");
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST),
          "Progress without a note is refused ERR_BAD_REQUEST (%s)", s_msg(e));
    ob_wire_free(e);
    e = s_clerk_action(self, ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS, id1, "已联系诉求人");
    CHECK(self, s_one(e, id1), "clerk Progress is answered OK (%s)", s_msg(e));
    ob_wire_free(e);
    e = s_brecv(self, 2000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_PROGRESS) && e->seq == 2
                    && strcmp(e->progress->note, "已联系诉求人") == 0,
          "the broker gets Progress seq 2 with the note");
    ob_wire_free(e);
    s_received(self, 2);
    e = s_clerk_action(self, ORDERBUS__V1__ORDER_EVENT__EVENT_REPLY, id1, "已处理");
    CHECK(self, s_one(e, id1)
                    && e->answer->inbox[0]->state == ORDERBUS__V1__ORDER_STATE__STATE_REPLIED,
          "clerk Reply is answered OK with the order REPLIED (%s)", s_msg(e));
    ob_wire_free(e);
    e = s_brecv(self, 2000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_REPLY) && e->seq == 3,
          "the broker gets Reply seq 3");
    ob_wire_free(e);
    /* Reply seq 3 stays unconfirmed on purpose (resent after reconnect) */

    s_decision(self, 2, id1, 1, ORDERBUS__V1__ORDER_EVENT__EVENT_REVIEW_REJECT,
               ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS);
    while (s_is(e = s_brecv(self, 2000 * sc), ORDERBUS__V1__ENVELOPE__BODY_REPLY))
        ob_wire_free(e);   /* resends of the Reply */
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_RECEIVED) && e->received->seq == 2,
          "Decision seq 2 is acknowledged with Received{2}");
    ob_wire_free(e);
    e = s_clerk_list(self, 0);
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__OK) && e->answer->n_inbox == 1
                    && e->answer->inbox[0]->state == ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS
                    && e->answer->inbox[0]->rework_count == 1
                    && strcmp(e->answer->inbox[0]->last_note, S_NOTE) == 0,
          "REVIEW_REJECT: the order is IN_PROGRESS again, rework 1, the centre's note kept");
    ob_wire_free(e);

    s_recall(self, 3, id1, 1);
    while (s_is(e = s_brecv(self, 2000 * sc), ORDERBUS__V1__ENVELOPE__BODY_REPLY))
        ob_wire_free(e);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_RECEIVED) && e->received->seq == 3,
          "Recall seq 3 is acknowledged with Received{3}");
    ob_wire_free(e);
    e = s_clerk_action(self, ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS, id1, "继续处理");
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_STALE_ATTEMPT),
          "Progress on the recalled order is refused ERR_STALE_ATTEMPT (%s)", s_msg(e));
    ob_wire_free(e);
    e = s_clerk_list(self, 0);
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__OK) && e->answer->n_inbox == 0,
          "the recalled order is not among the open orders");
    ob_wire_free(e);
    e = s_clerk_list(self, ORDERBUS__V1__ORDER_STATE__STATE_RECALLED);
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__OK) && e->answer->n_inbox == 1,
          "InboxRequest{state RECALLED} lists it");
    ob_wire_free(e);

    /* -- InboxRequest{ref}, {all}, bad fields -- */
    e = s_clerk_ref_id(self, id1, OB_ID_BYTES);
    CHECK(self, s_one(e, id1)
                    && e->answer->inbox[0]->state == ORDERBUS__V1__ORDER_STATE__STATE_RECALLED,
          "InboxRequest{ref.id} returns the recalled order (%s, %s)", s_state(e), s_msg(e));
    ob_wire_free(e);
    e = s_clerk_ref_case(self, case1);
    CHECK(self, s_one(e, id1), "InboxRequest{ref.case_no} returns the same order (%s)",
          s_msg(e));
    ob_wire_free(e);
    e = s_clerk_inbox(self, 0, true, 0, NULL, 0, NULL, 0, NULL);
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__OK) && e->answer->n_inbox == 1,
          "InboxRequest{all} includes the recalled order");
    ob_wire_free(e);
    e = s_clerk_ref_id(self, id2, OB_ID_BYTES);
    bool nf_id = s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND);
    ob_wire_free(e);
    e = s_clerk_ref_case(self, case2);
    CHECK(self, nf_id && s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND),
          "InboxRequest{ref} of an order the node does not hold: ERR_NOT_FOUND (%s)", s_msg(e));
    ob_wire_free(e);
    e = s_clerk_ref_id(self, id1, 5);
    bool bad_id = s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST);
    ob_wire_free(e);
    e = s_clerk_ref_case(self, "");
    bool bad_ref = s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST);
    ob_wire_free(e);
    e = s_clerk_inbox(self, 0, true, 0, id1, 3, NULL, 0, NULL);
    CHECK(self, bad_id && bad_ref && s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST),
          "a 5-byte ref.id, an empty ref, a 3-byte after_id: ERR_BAD_REQUEST (%s)", s_msg(e));
    ob_wire_free(e);

    /* -- garbage and status on the local service -- */
    zmq_send(self->clerk, "garbage", 7, 0);
    e = s_clerk_answer(self, NULL);
    CHECK(self, s_code(e, ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST),
          "a garbage frame on the local service is answered ERR_BAD_REQUEST");
    ob_wire_free(e);
    {
        ob_msg_t m;
        ob_msg_init(&m, "clerk");
        Orderbus__V1__StatusRequest sr = ORDERBUS__V1__STATUS_REQUEST__INIT;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATUS;
        m.env.status = &sr;
        e = s_clerk_call(self, &m);
        const Orderbus__V1__LocalStatus *st = s_is(e, ORDERBUS__V1__ENVELOPE__BODY_ANSWER)
                                                  ? e->answer->local : NULL;
        CHECK(self, st && st->broker_up && strcmp(st->dept, S_DEPT) == 0
                        && st->last_applied_seq == 3 && st->outbox_depth == 1,
              "status: broker up, dept housing, last applied seq 3, outbox depth 1");
        ob_wire_free(e);
    }

    /* -- broker silence: reconnect, resend what was not confirmed -- */
    self->hb_on = false;
    t0 = ob_mono_us();
    while ((e = s_brecv(self, 3000 * sc)) && !s_is(e, ORDERBUS__V1__ENVELOPE__BODY_HELLO))
        ob_wire_free(e);
    dt = (ob_mono_us() - t0) / 1000;
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_HELLO) && e->hello->last_applied_seq == 3,
          "after broker silence the node reconnects with Hello{3} (%llu ms)",
          (unsigned long long) dt);
    ob_wire_free(e);
    self->hb_on = true;
    s_welcome(self, 2);
    e = s_brecv(self, 2000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_REPLY) && e->seq == 3,
          "after Welcome{2} the node resends Reply seq 3");
    ob_wire_free(e);
    s_received(self, 3);

    /* -- restart: state survives; demo auto-handling -- */
    s_stop_node(self, SIGTERM, &status);
    CHECK(self, WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM: the node exits 0");
    s_start_node(self, "10:30");
    e = s_brecv(self, 5000 * sc);
    CHECK(self, s_is(e, ORDERBUS__V1__ENVELOPE__BODY_HELLO) && e->hello->last_applied_seq == 3,
          "after a restart the node says Hello{3}: its state survived");
    ob_wire_free(e);
    s_welcome(self, 3);
    s_dispatch(self, 4, id2, 1, case2, S_TITLE, NULL);
    int got = 0;
    uint64_t next = 4;
    for (int i = 0; i < 40 && got < 3; i++) {
        if (!(e = s_brecv(self, 2000 * sc)))
            break;
        if (e->seq == next
            && ((got == 0 && s_is(e, ORDERBUS__V1__ENVELOPE__BODY_SIGN))
                || (got == 1 && s_is(e, ORDERBUS__V1__ENVELOPE__BODY_PROGRESS))
                || (got == 2 && s_is(e, ORDERBUS__V1__ENVELOPE__BODY_REPLY)))) {
            got++;
            s_received(self, next++);
        }
        ob_wire_free(e);
    }
    CHECK(self, got == 3, "demo mode: Sign, Progress, Reply as seqs 4, 5, 6 (%d of 3)", got);
    s_decision(self, 5, id2, 1, ORDERBUS__V1__ORDER_EVENT__EVENT_REVIEW_REJECT,
               ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS);
    got = 0;
    for (int i = 0; i < 40 && got < 2; i++) {
        if (!(e = s_brecv(self, 2000 * sc)))
            break;
        if (e->seq == next && ((got == 0 && s_is(e, ORDERBUS__V1__ENVELOPE__BODY_PROGRESS))
                               || (got == 1 && s_is(e, ORDERBUS__V1__ENVELOPE__BODY_REPLY)))) {
            got++;
            s_received(self, next++);
        }
        ob_wire_free(e);
    }
    CHECK(self, got == 2, "demo mode: Progress and Reply again after REVIEW_REJECT (%d of 2)",
          got);

    /* -- the window: many orders signed by the demo, nothing confirmed -- */
    uint8_t last_id[OB_ID_BYTES];
    char last_case[OB_CASE_NO_MAX] = "";
    uint64_t acked = next - 1;
    for (int i = 0; i < S_WINDOW_ORDERS; i++) {
        char case_no[OB_CASE_NO_MAX];
        ob_case_no_format(case_no, 20261124, (uint32_t) (100000 + i));
        ob_id_new(last_id);
        s_dispatch(self, 6 + (uint64_t) i, last_id, 1, case_no, S_TITLE, NULL);
        ob_fmt(last_case, sizeof last_case, "%s", case_no);
    }
    uint64_t max1 = s_max_seq(self, 5000 * sc, acked, acked + NODE_LINK_WINDOW);
    max1 = s_max_seq(self, 500, max1, 0);   /* and no further */
    CHECK(self, max1 == acked + NODE_LINK_WINDOW,
          "window: %llu unconfirmed messages on the wire (%d)",
          (unsigned long long) (max1 - acked), NODE_LINK_WINDOW);
    s_received(self, max1);
    uint64_t max2 = s_max_seq(self, 3000 * sc, max1, max1 + 1);
    CHECK(self, max2 > max1, "after Received the window moves on (%llu -> %llu)",
          (unsigned long long) max1, (unsigned long long) max2);
    s_received(self, max2);

    /* -- refused reliable messages are consumed -- */
    uint64_t bseq = 6 + S_WINDOW_ORDERS;   /* the fake broker's next seq */
    s_dispatch(self, bseq, id2, 0, "x", S_TITLE, NULL);   /* no attempt */
    s_decision(self, bseq + 1, id1, 0, ORDERBUS__V1__ORDER_EVENT__EVENT_CALLBACK_OK,
               ORDERBUS__V1__ORDER_STATE__STATE_CLOSED);   /* no attempt */
    uint8_t unknown[OB_ID_BYTES];
    ob_id_new(unknown);
    s_decision(self, bseq + 2, unknown, 1, ORDERBUS__V1__ORDER_EVENT__EVENT_REVIEW_ACCEPT,
               ORDERBUS__V1__ORDER_STATE__STATE_PENDING_CALLBACK);
    int bad = 0, notfound = 0;
    uint64_t rcv = 0, end = ob_mono_us() + 2000000ull * (uint64_t) sc;
    while (ob_mono_us() < end && !(bad == 1 && notfound == 1 && rcv == bseq + 2)) {
        e = s_brecv(self, 100);
        if (s_is(e, ORDERBUS__V1__ENVELOPE__BODY_ERROR)) {
            bad += e->error->code == ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST;
            notfound += e->error->code == ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND;
        }
        if (s_is(e, ORDERBUS__V1__ENVELOPE__BODY_RECEIVED) && e->received->seq > rcv)
            rcv = e->received->seq;
        if (e && e->seq > self->hb_seq)
            s_received(self, e->seq);   /* keep the demo's messages flowing */
        ob_wire_free(e);
    }
    CHECK(self, bad == 1 && notfound == 1 && rcv == bseq + 2,
          "refused reliable messages are consumed (Received{%llu}) and answered with Error "
          "(bad request %d, not found %d, received %llu)",
          (unsigned long long) (bseq + 2), bad, notfound, (unsigned long long) rcv);
    bseq += 3;

    /* -- paging, the answer size note, the newest case -- */
    char *big = malloc(S_BIG_BYTES + 1);
    if (!big)
        s_bail(self, "out of memory");
    for (size_t i = 0; i + 3 <= S_BIG_BYTES; i += 3)
        memcpy(big + i, "电", 3);
    big[S_BIG_BYTES / 3 * 3] = '\0';
    for (int i = 0; i < S_BIG_ORDERS; i++) {
        uint8_t idb[OB_ID_BYTES];
        char case_no[OB_CASE_NO_MAX];
        ob_id_new(idb);
        ob_case_no_format(case_no, 20261124, (uint32_t) (200000 + i));
        s_dispatch(self, bseq++, idb, 1, case_no, "材料很多的工单", big);
    }
    free(big);
    end = ob_mono_us() + 5000000ull * (uint64_t) sc;
    while (ob_mono_us() < end && rcv < bseq - 1) {
        e = s_brecv(self, 100);
        if (s_is(e, ORDERBUS__V1__ENVELOPE__BODY_RECEIVED) && e->received->seq > rcv)
            rcv = e->received->seq;
        if (e && e->seq > self->hb_seq)
            s_received(self, e->seq);
        ob_wire_free(e);
    }
    s_clerk_connect(self);   /* the node restarted: a fresh connection */
    long want = 2 + S_WINDOW_ORDERS + S_BIG_ORDERS;
    int notes = 0, pages = 0;
    long total = s_page_all(self, 100, &notes, &pages);
    CHECK(self, rcv == bseq - 1 && total == want,
          "InboxRequest{all, limit 100, after_id} pages through every order once, ids "
          "ascending (%ld of %ld in %d pages)", total, want, pages);
    CHECK(self, notes >= 1,
          "pages cut by the answer size carry the note and paging goes on (notes: %d)", notes);
    e = s_clerk_ref_case(self, last_case);
    CHECK(self, s_one(e, last_id), "InboxRequest{ref.case_no} finds the newest case %s (%s)",
          last_case, s_msg(e));
    ob_wire_free(e);

    s_stop_node(self, SIGTERM, &status);
    CHECK(self, WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "SIGTERM: the node exits 0 (demo mode)");

    char reports[512] = "";
    int nreports = s_log_reports(self, reports, sizeof reports);
    CHECK(self, nreports == 0, "the node logged no error and no sanitizer report (%d)%s%s",
          nreports, nreports ? ": " : "", reports);

    printf("%d passed, %d failed\n", self->passed, self->failed);
    zmq_close(self->router);
    zmq_close(self->clerk);
    zmq_ctx_term(self->ctx);
    if (self->failed == 0)
        nftw(self->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("# directory kept: %s\n", self->dir);
    return self->failed ? 1 : 0;
}
