/*  node_demo.c — demo auto-handling mode: a scripted department clerk.

    The schedule holds at most one pending step per order (a new note about
    the order replaces it). Steps are kept in a plain array: a demo handles
    hundreds or a few thousand open orders, where a scan is cheap.
    Randomness is a seeded splitmix64, so a demo run can be repeated.       */
#include "node_demo.h"
#include "ob_log.h"
#include "ob_util.h"

typedef struct {
    uint8_t id[OB_ID_BYTES];
    uint32_t attempt;
    ob_event_t event;       /* SIGN, PROGRESS, RETURN_REQUEST, REPLY */
    uint64_t due_us;        /* monotonic */
    bool rework;            /* this round answers a rework request */
} s_step_t;

struct node_demo {
    uint64_t rng;           /* splitmix64 state */
    int min_ms, max_ms;     /* delay range per step */
    int return_pct;         /* share of first dispatches returned */
    s_step_t *steps;
    size_t n, cap;
};

static const char *s_return_reasons[] = {
    "经核实，该诉求不属于本单位职责范围，建议转交属地街道办事处办理",
    "该事项涉及其他部门法定职责，请中心核实后重新派发",
};
static const char *s_progress_notes[] = {
    "已联系诉求人了解情况，工作人员正在现场核查处理",
    "已安排工作人员实地查看，正在协调相关单位处理",
    "已约谈物业服务企业，责令限期整改，正在跟踪落实",
};
static const char *s_rework_notes[] = {
    "根据中心审核意见重新办理，已再次联系诉求人并安排现场复核",
};
static const char *s_resolved_notes[] = {
    "经现场核查，问题已处理完毕，已电话告知诉求人处理结果",
    "已督促责任单位完成整改，复查合格，诉求人认可处理结果",
};
static const char *s_explained_notes[] = {
    "已向诉求人解释相关政策规定及办理流程，诉求人表示理解",
};

#define S_PICK(arr) (arr[s_rand(self) % (sizeof arr / sizeof arr[0])])

static uint64_t s_rand(node_demo_t *self)
{
    uint64_t z = (self->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t s_delay_us(node_demo_t *self)
{
    uint64_t span = (uint64_t) (self->max_ms - self->min_ms) + 1;
    return ((uint64_t) self->min_ms + s_rand(self) % span) * 1000u;
}

node_demo_t *node_demo_new(uint64_t seed, int min_ms, int max_ms, int return_pct)
{
    node_demo_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rng = seed;
    self->min_ms = min_ms < 0 ? 0 : min_ms;
    self->max_ms = max_ms < self->min_ms ? self->min_ms : max_ms;
    self->return_pct = return_pct < 0 ? 0 : return_pct > 100 ? 100 : return_pct;
    return self;
}

void node_demo_destroy(node_demo_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->steps);
    free(*self_p);
    *self_p = NULL;
}

static s_step_t *s_find(node_demo_t *self, const uint8_t id[OB_ID_BYTES])
{
    for (size_t i = 0; i < self->n; i++)
        if (memcmp(self->steps[i].id, id, OB_ID_BYTES) == 0)
            return &self->steps[i];
    return NULL;
}

static void s_forget(node_demo_t *self, const uint8_t id[OB_ID_BYTES])
{
    s_step_t *s = s_find(self, id);
    if (s)
        *s = self->steps[--self->n];
}

/* Schedules `event` for the order after a random delay (replacing any step
   it had). Out of memory: the order is left to the clerk, with a warning. */
static void s_schedule(node_demo_t *self, const uint8_t id[OB_ID_BYTES], uint32_t attempt,
                       ob_event_t event, bool rework)
{
    s_step_t *s = s_find(self, id);
    if (!s) {
        if (self->n == self->cap) {
            size_t ncap = self->cap ? 2 * self->cap : 256;
            s_step_t *grown = realloc(self->steps, ncap * sizeof *grown);
            if (!grown) {
                ob_warn("demo auto-handling mode: out of memory, order left to the clerk");
                return;
            }
            self->steps = grown;
            self->cap = ncap;
        }
        s = &self->steps[self->n++];
        memcpy(s->id, id, OB_ID_BYTES);
    }
    s->attempt = attempt;
    s->event = event;
    s->rework = rework;
    s->due_us = ob_mono_us() + s_delay_us(self);
}

/* First step for an order that is DISPATCHED: return it (a share of first
   dispatches, never after a denied return) or sign it. */
static void s_schedule_first(node_demo_t *self, const uint8_t id[OB_ID_BYTES], uint32_t attempt,
                             bool may_return)
{
    bool ret = may_return && attempt == 1 && self->return_pct > 0
               && (int) (s_rand(self) % 100) < self->return_pct;
    s_schedule(self, id, attempt,
               ret ? ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_REQUEST
                   : ORDERBUS__V1__ORDER_EVENT__EVENT_SIGN,
               false);
}

void node_demo_note(node_demo_t *self, const uint8_t id[OB_ID_BYTES], ob_state_t state,
                    uint32_t attempt, ob_event_t event)
{
    switch (state) {
    case ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED:
        /* a new dispatch may be returned; after a denied return, sign */
        s_schedule_first(self, id, attempt, event == ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE);
        break;
    case ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS:
        if (event == ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS)
            s_schedule(self, id, attempt, ORDERBUS__V1__ORDER_EVENT__EVENT_REPLY, false);
        else   /* signed, sent back for rework, or found after a restart */
            s_schedule(self, id, attempt, ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS,
                       event == ORDERBUS__V1__ORDER_EVENT__EVENT_REVIEW_REJECT
                           || event == ORDERBUS__V1__ORDER_EVENT__EVENT_ROUTE);
        break;
    default:   /* replied, returned, recalled, closed: nothing to do now */
        s_forget(self, id);
        break;
    }
}

typedef struct {
    node_demo_t *self;
    node_inbox_t *inbox;
    MDB_txn *txn;
    size_t found;
} s_rebuild_t;

/* One inbox entry: schedules the next step of a DISPATCHED or IN_PROGRESS
   order. */
static int s_rebuild_one(void *arg, const uint8_t id[OB_ID_BYTES], const void *packed,
                         size_t len)
{
    s_rebuild_t *r = arg;
    ob_nodeorder_t *o = orderbus__v1__node_order__unpack(NULL, len, packed);
    if (!o)
        return 0;
    int rc = 0;
    if (o->state == ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED) {
        bool returned = true;
        rc = node_inbox_demo_returned(r->inbox, r->txn, id, &returned);
        s_schedule_first(r->self, id, o->attempt, !returned);
        r->found++;
    } else if (o->state == ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS) {
        s_schedule(r->self, id, o->attempt, ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS,
                   o->rework_count > 0);
        r->found++;
    }
    orderbus__v1__node_order__free_unpacked(o, NULL);
    return rc;
}

int node_demo_rebuild(node_demo_t *self, node_inbox_t *inbox)
{
    s_rebuild_t r = {.self = self, .inbox = inbox};
    int rc = ob_store_begin(node_inbox_store(inbox), false, &r.txn);
    if (rc)
        return rc;
    rc = node_inbox_scan(inbox, r.txn, NULL, s_rebuild_one, &r);
    mdb_txn_abort(r.txn);
    if (rc == 0 && r.found)
        ob_info("demo auto-handling mode: resumed %zu open orders from the inbox", r.found);
    return rc;
}

size_t node_demo_take_due(node_demo_t *self, node_action_t *out, size_t max)
{
    uint64_t now = ob_mono_us();
    size_t taken = 0;
    for (size_t i = 0; i < self->n && taken < max;) {
        s_step_t *s = &self->steps[i];
        if (s->due_us > now) {
            i++;
            continue;
        }
        node_action_t *a = &out[taken++];
        memset(a, 0, sizeof *a);
        memcpy(a->act.order_id, s->id, OB_ID_BYTES);
        a->act.event = s->event;
        a->act.attempt = s->attempt;
        a->act.clerk = "demo";
        a->demo = true;
        switch (s->event) {
        case ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_REQUEST:
            a->act.note = S_PICK(s_return_reasons);
            break;
        case ORDERBUS__V1__ORDER_EVENT__EVENT_PROGRESS:
            a->act.note = s->rework ? S_PICK(s_rework_notes) : S_PICK(s_progress_notes);
            break;
        case ORDERBUS__V1__ORDER_EVENT__EVENT_REPLY:
            if (s_rand(self) % 100 < 85) {
                a->act.result = ORDERBUS__V1__REPLY_RESULT__RESULT_RESOLVED;
                a->act.note = S_PICK(s_resolved_notes);
            } else {
                a->act.result = ORDERBUS__V1__REPLY_RESULT__RESULT_EXPLAINED;
                a->act.note = S_PICK(s_explained_notes);
            }
            break;
        default:
            break;
        }
        *s = self->steps[--self->n];   /* removed; the outcome schedules the next */
    }
    return taken;
}

void node_demo_defer(node_demo_t *self, const node_action_t *action)
{
    if (!s_find(self, action->act.order_id))
        s_schedule(self, action->act.order_id, action->act.attempt, action->act.event, false);
}

int node_demo_next_timer_ms(node_demo_t *self)
{
    if (self->n == 0)
        return -1;
    uint64_t now = ob_mono_us(), due = UINT64_MAX;
    for (size_t i = 0; i < self->n; i++)
        if (self->steps[i].due_us < due)
            due = self->steps[i].due_us;
    return due <= now ? 0 : (int) ((due - now + 999) / 1000);
}

size_t node_demo_pending(node_demo_t *self)
{
    return self->n;
}
