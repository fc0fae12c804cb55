/*  cmd_demo.c — `orderbus demo centre`: the hotline centre's side of the
    demo, played by a program (clearly named demo mode, never used on a real
    site).

    Until N orders are CLOSED it polls the broker by state (ListRequest, every
    ~50 ms) and does what a dispatcher would do:
      REPLIED           review: accept, or reject P% of the replies of orders
                        never reworked (so each order is reworked at most once)
      PENDING_CALLBACK  call back: satisfied / basically satisfied, or
                        unsatisfied for P% of the orders never reopened
      RETURN_REQUESTED  approve the return by routing the order to another
                        department: the next one in the broker's status list
                        that has not returned it yet; deny when every
                        department has returned it
      PENDING_MANUAL    route to a department picked from the order id
    Every choice is a function of the order id and --seed, so a run can be
    repeated. A request refused because the order moved on meanwhile (illegal
    transition, stale attempt) is skipped; anything else is tried again on
    the next poll. Every second it prints the counts by state; at the end the
    per-department statistics and "N orders: N closed".                   */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_json.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <time.h>

#define S_POLL_MS     50
#define S_PAGE        500
#define S_MAX_DEPTS   128

/* What a request sent for an order does, to count its answer. */
enum { S_NONE = 0, S_ACCEPT, S_REJECT, S_SATISFIED, S_UNSATISFIED, S_APPROVE, S_DENY, S_ROUTE };

/* The agent's state. */
typedef struct {
    ob_client_t *client;
    const cli_opts_t *opts;
    FILE *progress;                       /* stdout, or stderr with --json */
    char depts[S_MAX_DEPTS][OB_DEPT_MAX]; /* departments, in the broker's order */
    bool up[S_MAX_DEPTS];
    size_t ndepts;
    uint32_t seed;
    int reject_pct;
    int unsatisfied_pct;
    /* what was done */
    uint64_t accepted, rejected, satisfied, unsatisfied, approved, denied, routed;
    uint64_t refused;                     /* the order had moved on: skipped */
    uint64_t retried;                     /* other errors: tried again later */
    bool warned_down;                     /* "broker not answering" said once */
    uint8_t sent_id[S_PAGE][OB_ID_BYTES]; /* msg ids of the page's requests */
    int sent_kind[S_PAGE];                /* and what each does */
    size_t nsent;
} s_demo_t;

static const char s_demo_usage[] =
    "usage: orderbus [global options] demo centre --expect N [--timeout SECONDS]\n"
    "                [--seed S] [--reject-pct P] [--unsatisfied-pct P]\n"
    "\n"
    "Demo mode: plays the hotline centre until N orders are CLOSED. Reviews\n"
    "REPLIED orders (rejects P% of those never reworked, default 10), calls back\n"
    "PENDING_CALLBACK orders (unsatisfied for P% of those never reopened,\n"
    "default 5), approves returns by routing to another department, routes\n"
    "PENDING_MANUAL orders. Prints the counts by state every second, then the\n"
    "statistics and \"N orders: N closed\". Exit 0 when N orders are closed,\n"
    "1 on time-out (default 300 s).\n";

/* FNV-1a over the order id, the seed and a salt: a stable pseudo-random
   number per (order, decision). */
static uint32_t s_pick(const s_demo_t *self, const ProtobufCBinaryData *id, uint32_t salt)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < id->len; i++)
        h = (h ^ id->data[i]) * 16777619u;
    uint32_t extra[2] = {self->seed, salt};
    const uint8_t *p = (const uint8_t *) extra;
    for (size_t i = 0; i < sizeof extra; i++)
        h = (h ^ p[i]) * 16777619u;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

static void s_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One request/answer on the broker's client service without printing:
   returns the Answer envelope or NULL (broker silent). */
static ob_envelope_t *s_call(s_demo_t *self, ob_msg_t *m)
{
    char err[256];
    ob_envelope_t *env = ob_client_call(self->client, &m->env, self->opts->timeout_ms,
                                        err, sizeof err);
    if (!env) {
        if (!self->warned_down)
            fprintf(stderr, "orderbus: demo: %s (still trying)\n", err);
        self->warned_down = true;
        return NULL;
    }
    self->warned_down = false;
    return env;
}

/* Asks the broker for its status; refreshes the department list. Returns
   the answer envelope (caller frees) or NULL. */
static ob_envelope_t *s_status(s_demo_t *self)
{
    ob_msg_t m;
    ob_msg_init(&m, "demo");
    Orderbus__V1__StatusRequest st = ORDERBUS__V1__STATUS_REQUEST__INIT;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATUS;
    m.env.status = &st;
    ob_envelope_t *env = s_call(self, &m);
    if (!env)
        return NULL;
    const ob_answer_t *a = env->answer;
    if (a->code != ORDERBUS__V1__ERROR_CODE__OK || !a->status) {
        ob_wire_free(env);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < a->status->n_nodes && n < S_MAX_DEPTS; i++) {
        const Orderbus__V1__NodeStatus *ns = a->status->nodes[i];
        if (!ns->dept || !*ns->dept)
            continue;
        ob_fmt(self->depts[n], OB_DEPT_MAX, "%s", ns->dept);
        self->up[n] = ns->up;
        n++;
    }
    self->ndepts = n;
    return env;
}

static uint64_t s_state_count(const Orderbus__V1__BrokerStatus *st, ob_state_t state)
{
    for (size_t i = 0; i < st->n_states; i++)
        if (st->states[i]->state == state)
            return st->states[i]->count;
    return 0;
}

/* One progress line: elapsed time, the counts of the states an order goes
   through, closed of expected. */
static void s_print_progress(s_demo_t *self, const Orderbus__V1__BrokerStatus *st,
                             double elapsed_s, uint64_t expect)
{
    static const ob_state_t shown[] = {
        ORDERBUS__V1__ORDER_STATE__STATE_REGISTERED,
        ORDERBUS__V1__ORDER_STATE__STATE_PENDING_MANUAL,
        ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED,
        ORDERBUS__V1__ORDER_STATE__STATE_RETURN_REQUESTED,
        ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS,
        ORDERBUS__V1__ORDER_STATE__STATE_REPLIED,
        ORDERBUS__V1__ORDER_STATE__STATE_PENDING_CALLBACK,
        ORDERBUS__V1__ORDER_STATE__STATE_REOPENED,
    };
    char line[512];
    size_t off = 0;
    off += (size_t) snprintf(line + off, sizeof line - off, "[%4.0f s]", elapsed_s);
    for (size_t i = 0; i < sizeof shown / sizeof shown[0] && off < sizeof line; i++) {
        uint64_t c = s_state_count(st, shown[i]);
        if (c)
            off += (size_t) snprintf(line + off, sizeof line - off, " %s %llu",
                                     ob_state_name(shown[i]), (unsigned long long) c);
    }
    if (off < sizeof line)
        snprintf(line + off, sizeof line - off, " | CLOSED %llu/%llu",
                 (unsigned long long) s_state_count(st, ORDERBUS__V1__ORDER_STATE__STATE_CLOSED),
                 (unsigned long long) expect);
    fprintf(self->progress, "%s\n", line);
    fflush(self->progress);
}

static int s_dept_index(const s_demo_t *self, const char *dept)
{
    for (size_t i = 0; i < self->ndepts; i++)
        if (dept && strcmp(self->depts[i], dept) == 0)
            return (int) i;
    return -1;
}

static bool s_tried(const ob_record_t *r, const char *dept)
{
    for (size_t i = 0; i < r->n_tried_depts; i++)
        if (strcmp(r->tried_depts[i], dept) == 0)
            return true;
    return false;
}

/* The department a returned order goes to: the next one after its current
   department in the broker's list, up ones first, never one that returned
   it. NULL when there is none (the return is denied). */
static const char *s_return_target(const s_demo_t *self, const ob_record_t *r)
{
    int at = s_dept_index(self, r->dept);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 1; k <= self->ndepts; k++) {
            size_t i = (size_t) ((at < 0 ? 0 : at) + (int) k) % self->ndepts;
            const char *d = self->depts[i];
            if ((r->dept && strcmp(d, r->dept) == 0) || s_tried(r, d))
                continue;
            if (pass == 0 && !self->up[i])
                continue;
            return d;
        }
    }
    return NULL;
}

/* The department a PENDING_MANUAL order goes to: picked from its id among
   the departments that are up (any, if none is). */
static const char *s_manual_target(const s_demo_t *self, const ob_record_t *r)
{
    if (!self->ndepts)
        return NULL;
    size_t nup = 0;
    for (size_t i = 0; i < self->ndepts; i++)
        nup += self->up[i];
    uint32_t h = s_pick(self, &r->order->id, 4);
    if (!nup)
        return self->depts[h % self->ndepts];
    size_t want = h % nup;
    for (size_t i = 0; i < self->ndepts; i++)
        if (self->up[i] && want-- == 0)
            return self->depts[i];
    return self->depts[0];
}

/* Sends the action for one order (pipelined) and remembers its kind.
   Returns 1 if a request went out, 0 if there is nothing to do for it. */
static int s_act(s_demo_t *self, const ob_record_t *r)
{
    int kind = S_NONE;
    if (!r->order || r->order->id.len != OB_ID_BYTES)
        return 0;
    ob_msg_t m;
    ob_msg_init(&m, "demo");
    Orderbus__V1__OrderRef ref = ORDERBUS__V1__ORDER_REF__INIT;
    ref.id = r->order->id;
    Orderbus__V1__ReviewRequest review = ORDERBUS__V1__REVIEW_REQUEST__INIT;
    Orderbus__V1__CallbackRequest callback = ORDERBUS__V1__CALLBACK_REQUEST__INIT;
    Orderbus__V1__RouteRequest route = ORDERBUS__V1__ROUTE_REQUEST__INIT;
    Orderbus__V1__DenyReturnRequest deny = ORDERBUS__V1__DENY_RETURN_REQUEST__INIT;

    switch (r->state) {
    case ORDERBUS__V1__ORDER_STATE__STATE_REPLIED: {
        bool reject = r->rework_count == 0
                      && (int) (s_pick(self, &r->order->id, 1) % 100) < self->reject_pct;
        review.ref = &ref;
        review.accept = !reject;
        kind = reject ? S_REJECT : S_ACCEPT;
        review.note = reject ? (char *) "演示：答复未说明现场核查情况，请补充后重新答复"
                             : (char *) "演示：答复完整，审核通过";
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_REVIEW;
        m.env.review = &review;
        break;
    }
    case ORDERBUS__V1__ORDER_STATE__STATE_PENDING_CALLBACK: {
        bool unhappy = r->reopen_count == 0
                       && (int) (s_pick(self, &r->order->id, 2) % 100) < self->unsatisfied_pct;
        callback.ref = &ref;
        kind = unhappy ? S_UNSATISFIED : S_SATISFIED;
        if (unhappy)
            callback.satisfaction = ORDERBUS__V1__SATISFACTION__SATISFACTION_UNSATISFIED;
        else if (s_pick(self, &r->order->id, 3) % 100 < 70)
            callback.satisfaction = ORDERBUS__V1__SATISFACTION__SATISFACTION_SATISFIED;
        else
            callback.satisfaction = ORDERBUS__V1__SATISFACTION__SATISFACTION_BASIC;
        callback.note = unhappy ? (char *) "演示回访：市民表示问题仍未解决"
                                : (char *) "演示回访：市民认可处理结果";
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_CALLBACK;
        m.env.callback = &callback;
        break;
    }
    case ORDERBUS__V1__ORDER_STATE__STATE_RETURN_REQUESTED: {
        const char *to = s_return_target(self, r);
        if (to) {
            kind = S_APPROVE;
            route.ref = &ref;
            route.dept = (char *) to;
            route.note = (char *) "演示：同意退单，改派其他承办单位";
            m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ROUTE;
            m.env.route = &route;
        } else {
            kind = S_DENY;
            deny.ref = &ref;
            deny.note = (char *) "演示：各单位均已退回，不同意退单，请原单位办理";
            m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DENY_RETURN;
            m.env.deny_return = &deny;
        }
        break;
    }
    case ORDERBUS__V1__ORDER_STATE__STATE_PENDING_MANUAL: {
        /* the routing model's first suggestion when it made one, as a
           dispatcher would take it; else a department of the demo's own */
        bool suggested = r->n_suggestions && *r->suggestions[0]->dept;
        const char *to = suggested ? "" : s_manual_target(self, r);
        if (!to)
            return 0;
        route.ref = &ref;
        route.dept = (char *) to;
        route.suggestion = suggested ? 1 : 0;
        route.note = (char *) (suggested ? "" : "演示：人工派单");
        kind = S_ROUTE;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ROUTE;
        m.env.route = &route;
        break;
    }
    default:
        return 0;
    }
    if (self->nsent >= S_PAGE || ob_client_send(self->client, &m.env) < 0)
        return 0;
    memcpy(self->sent_id[self->nsent], m.msg_id, OB_ID_BYTES);
    self->sent_kind[self->nsent] = kind;
    self->nsent++;
    return 1;
}

/* Counts one action's answer by the kind of request it answers. */
static void s_count(s_demo_t *self, const ob_envelope_t *env)
{
    const ob_answer_t *a = env->answer;
    int kind = S_NONE;
    for (size_t i = 0; i < self->nsent; i++) {
        if (a->ref_msg_id.len == OB_ID_BYTES
            && memcmp(self->sent_id[i], a->ref_msg_id.data, OB_ID_BYTES) == 0) {
            kind = self->sent_kind[i];
            break;
        }
    }
    switch (a->code) {
    case ORDERBUS__V1__ERROR_CODE__OK:
        break;
    case ORDERBUS__V1__ERROR_CODE__ERR_ILLEGAL_TRANSITION:
    case ORDERBUS__V1__ERROR_CODE__ERR_STALE_ATTEMPT:
    case ORDERBUS__V1__ERROR_CODE__ERR_NOT_FOUND:
        self->refused++;
        return;
    default:
        self->retried++;
        return;
    }
    switch (kind) {
    case S_ACCEPT: self->accepted++; break;
    case S_REJECT: self->rejected++; break;
    case S_SATISFIED: self->satisfied++; break;
    case S_UNSATISFIED: self->unsatisfied++; break;
    case S_APPROVE: self->approved++; break;
    case S_DENY: self->denied++; break;
    case S_ROUTE: self->routed++; break;
    default: break;
    }
}

/* Handles every order in `state`: lists them page by page, sends one
   action per order, collects the answers before the next page (so the
   next poll sees the orders' new states). Returns the actions sent. */
static size_t s_handle_state(s_demo_t *self, ob_state_t state)
{
    size_t sent_total = 0;
    uint8_t after[OB_ID_BYTES];
    bool has_after = false;
    for (;;) {
        ob_msg_t m;
        ob_msg_init(&m, "demo");
        Orderbus__V1__ListRequest list = ORDERBUS__V1__LIST_REQUEST__INIT;
        list.state = state;
        list.limit = S_PAGE;
        if (has_after) {
            list.after_id.data = after;
            list.after_id.len = OB_ID_BYTES;
        }
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_LIST;
        m.env.list = &list;
        ob_envelope_t *env = s_call(self, &m);
        if (!env)
            return sent_total;
        const ob_answer_t *a = env->answer;
        if (a->code != ORDERBUS__V1__ERROR_CODE__OK || a->n_orders == 0) {
            ob_wire_free(env);
            return sent_total;
        }
        size_t sent = 0;
        size_t n = a->n_orders;
        self->nsent = 0;
        for (size_t i = 0; i < n; i++) {
            const ob_record_t *r = a->orders[i];
            if (r->state != state)   /* a server that ignores the filter */
                continue;
            sent += (size_t) s_act(self, r);
        }
        const ob_record_t *last = a->orders[n - 1];
        bool more = n >= S_PAGE && last->order && last->order->id.len == OB_ID_BYTES;
        if (more) {
            memcpy(after, last->order->id.data, OB_ID_BYTES);
            has_after = true;
        }
        ob_wire_free(env);

        /* collect this page's answers */
        uint64_t deadline = ob_mono_us() + (uint64_t) self->opts->timeout_ms * 1000;
        while (ob_client_outstanding(self->client) > 0) {
            uint64_t now = ob_mono_us();
            if (now >= deadline)
                break;
            ob_envelope_t *ans = ob_client_recv(self->client, (int) ((deadline - now) / 1000));
            if (!ans)
                break;
            s_count(self, ans);
            ob_wire_free(ans);
        }
        sent_total += sent;
        if (!more)
            return sent_total;
    }
}

static void s_print_json(s_demo_t *self, const Orderbus__V1__BrokerStatus *st,
                         const ob_answer_t *stats, uint64_t expect, uint64_t closed)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "expect", json_integer((json_int_t) expect));
    json_object_set_new(doc, "closed", json_integer((json_int_t) closed));
    json_t *states = json_object();
    for (size_t i = 0; st && i < st->n_states; i++)
        json_object_set_new(states, ob_state_name(st->states[i]->state),
                            json_integer((json_int_t) st->states[i]->count));
    json_object_set_new(doc, "states", states);
    json_t *actions = json_object();
    json_object_set_new(actions, "accepted", json_integer((json_int_t) self->accepted));
    json_object_set_new(actions, "rejected", json_integer((json_int_t) self->rejected));
    json_object_set_new(actions, "satisfied", json_integer((json_int_t) self->satisfied));
    json_object_set_new(actions, "unsatisfied", json_integer((json_int_t) self->unsatisfied));
    json_object_set_new(actions, "returns_approved", json_integer((json_int_t) self->approved));
    json_object_set_new(actions, "returns_denied", json_integer((json_int_t) self->denied));
    json_object_set_new(actions, "manual_routes", json_integer((json_int_t) self->routed));
    json_object_set_new(actions, "skipped", json_integer((json_int_t) self->refused));
    json_object_set_new(doc, "actions", actions);
    json_t *arr = json_array();
    for (size_t i = 0; stats && i < stats->n_stats; i++)
        json_array_append_new(arr, ob_json_from_stats(stats->stats[i]));
    json_object_set_new(doc, "stats", arr);
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(doc);
}

/* The first status, through the common path: a broker that is not there
   or refuses us is an error at once, not a silent wait. 0 or an exit code. */
static int s_first_status(s_demo_t *self)
{
    ob_msg_t m;
    cli_msg_init(&m, "demo", NULL);
    Orderbus__V1__StatusRequest st = ORDERBUS__V1__STATUS_REQUEST__INIT;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATUS;
    m.env.status = &st;
    ob_envelope_t *env = cli_call(self->client, &m.env, self->opts);
    if (!env)
        return EX_UNAVAILABLE;
    int rc = cli_answer_status(env->answer);
    ob_wire_free(env);
    return rc;
}

/* Handles orders until `expect` are CLOSED or `timeout_s` passed, printing
   the counts every second. Returns true when done; the last status stays
   in *status_p. */
static bool s_run(s_demo_t *self, long expect, long timeout_s, ob_envelope_t **status_p)
{
    static const ob_state_t work[] = {
        ORDERBUS__V1__ORDER_STATE__STATE_REPLIED,
        ORDERBUS__V1__ORDER_STATE__STATE_PENDING_CALLBACK,
        ORDERBUS__V1__ORDER_STATE__STATE_RETURN_REQUESTED,
        ORDERBUS__V1__ORDER_STATE__STATE_PENDING_MANUAL,
    };
    uint64_t start = ob_mono_us();
    uint64_t deadline = start + (uint64_t) timeout_s * 1000000;
    uint64_t next_progress = start;
    for (;;) {
        uint64_t now = ob_mono_us();
        if (now >= next_progress || !*status_p) {
            ob_envelope_t *st = s_status(self);
            if (st) {
                ob_wire_free(*status_p);
                *status_p = st;
                uint64_t closed = s_state_count(st->answer->status,
                                                ORDERBUS__V1__ORDER_STATE__STATE_CLOSED);
                s_print_progress(self, st->answer->status, (double) (now - start) / 1e6,
                                 (uint64_t) expect);
                if (closed >= (uint64_t) expect)
                    return true;
            }
            next_progress = now + 1000000;
        }
        if (now >= deadline)
            return false;
        for (size_t i = 0; i < sizeof work / sizeof work[0]; i++)
            s_handle_state(self, work[i]);
        s_sleep_ms(S_POLL_MS);
    }
}

/* The closing report: statistics, the demo's actions, "N orders: N closed".
   Returns the exit code: 0 when `expect` orders are closed. */
static int s_report(s_demo_t *self, long expect, long timeout_s, ob_envelope_t **status_p)
{
    ob_msg_t m;
    cli_msg_init(&m, "demo", NULL);
    Orderbus__V1__StatsRequest sr = ORDERBUS__V1__STATS_REQUEST__INIT;
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATS;
    m.env.stats = &sr;
    ob_envelope_t *stats = s_call(self, &m);
    if (stats && stats->answer->code != ORDERBUS__V1__ERROR_CODE__OK) {
        cli_answer_status(stats->answer);
        ob_wire_free(stats);
        stats = NULL;
    }
    ob_envelope_t *last = s_status(self);
    if (last) {
        ob_wire_free(*status_p);
        *status_p = last;
    }
    const ob_envelope_t *status = *status_p;
    uint64_t closed = status ? s_state_count(status->answer->status,
                                             ORDERBUS__V1__ORDER_STATE__STATE_CLOSED)
                             : 0;
    if (self->opts->json) {
        s_print_json(self, status ? status->answer->status : NULL,
                     stats ? stats->answer : NULL, (uint64_t) expect, closed);
    } else {
        printf("\n");
        if (stats)
            cli_print_stats_table(stdout, stats->answer);
        printf("\ndemo actions: %llu replies accepted, %llu rejected (rework); "
               "%llu callbacks closed, %llu unsatisfied (reopened); "
               "%llu returns approved, %llu denied; %llu manual routes; "
               "%llu skipped (order moved on)\n",
               (unsigned long long) self->accepted, (unsigned long long) self->rejected,
               (unsigned long long) self->satisfied, (unsigned long long) self->unsatisfied,
               (unsigned long long) self->approved, (unsigned long long) self->denied,
               (unsigned long long) self->routed, (unsigned long long) self->refused);
        printf("%ld orders: %llu closed\n", expect, (unsigned long long) closed);
    }
    ob_wire_free(stats);
    if (closed < (uint64_t) expect)
        fprintf(stderr, "orderbus: demo centre: time-out after %ld s with %llu of %ld orders "
                        "closed\n", timeout_s, (unsigned long long) closed, expect);
    return closed >= (uint64_t) expect ? 0 : CLI_REFUSED;
}

/* orderbus demo centre --expect N ... : see the banner. */
int cmd_demo(const cli_opts_t *opts, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(s_demo_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : 0;
    }
    if (strcmp(argv[1], "centre") != 0 && strcmp(argv[1], "center") != 0) {
        fprintf(stderr, "orderbus: demo: unknown mode '%s' (only 'centre')\n", argv[1]);
        return EX_USAGE;
    }
    long expect = -1, timeout_s = 300, seed = 1, reject_pct = 10, unsat_pct = 5;
    const cli_option_t spec[] = {
        CLI_OPT_LONG("expect", &expect, 0, 100000000),
        CLI_OPT_LONG("timeout", &timeout_s, 1, 864000),
        CLI_OPT_LONG("seed", &seed, 0, 0xffffffffL),
        CLI_OPT_LONG("reject-pct", &reject_pct, 0, 100),
        CLI_OPT_LONG("unsatisfied-pct", &unsat_pct, 0, 100),
        CLI_OPT_END()};
    argc--;
    argv++;
    int prc = cli_parse("demo centre", s_demo_usage, spec, &argc, &argv);
    if (prc != 0 || (prc = cli_no_operand("demo centre", argc, argv)) != 0)
        return cli_parsed(prc);
    if (expect < 0) {
        fprintf(stderr, "orderbus: demo centre: '--expect N' is required\n");
        return EX_USAGE;
    }

    s_demo_t self_ = {0};
    s_demo_t *self = &self_;
    self->opts = opts;
    self->progress = opts->json ? stderr : stdout;
    self->seed = (uint32_t) seed;
    self->reject_pct = (int) reject_pct;
    self->unsatisfied_pct = (int) unsat_pct;
    ob_envelope_t *status = NULL;

    self->client = cli_broker_connect(opts);
    if (!self->client)
        return EX_UNAVAILABLE;
    int rc = s_first_status(self);
    if (rc == 0) {
        fprintf(self->progress,
                "demo centre: auto-handling orders until %ld are CLOSED (time-out %ld s, "
                "review reject %ld%%, callback unsatisfied %ld%%, seed %ld)\n",
                expect, timeout_s, reject_pct, unsat_pct, seed);
        fflush(self->progress);
        s_run(self, expect, timeout_s, &status);
        rc = s_report(self, expect, timeout_s, &status);
    }
    ob_wire_free(status);
    ob_client_destroy(&self->client);
    return rc;
}
