/*  broker_stats.c — StatsRequest: counts and working-time medians per
    department, recomputed from the journal.                              */
#include "broker.h"
#include "ob_fsm.h"
#include "ob_util.h"

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define C(x) ORDERBUS__V1__ERROR_CODE__##x
#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)

typedef struct {
    uint8_t id[OB_ID_BYTES];
    bool used;
    int64_t first_dispatch;
    int64_t last_dispatch;
    char dept[OB_DEPT_MAX];
} s_track_t;

typedef struct {
    Orderbus__V1__DeptStats st;
    int64_t *sign_ms, *reply_ms;
    size_t nsign, nreply, capsign, capreply;
} s_deptacc_t;

static s_track_t *s_track(s_track_t *table, size_t cap, const uint8_t *id)
{
    size_t h = ((size_t) id[0] | (size_t) id[1] << 8 | (size_t) id[2] << 16 | (size_t) id[3] << 24)
               & (cap - 1);
    while (table[h].used && memcmp(table[h].id, id, OB_ID_BYTES) != 0)
        h = (h + 1) & (cap - 1);
    if (!table[h].used) {
        table[h].used = true;
        memcpy(table[h].id, id, OB_ID_BYTES);
    }
    return &table[h];
}

static void s_push(int64_t **arr, size_t *n, size_t *cap, int64_t v)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        int64_t *a = realloc(*arr, c * sizeof *a);
        if (!a)
            return;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = v;
}

static int s_cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static int64_t s_median(int64_t *arr, size_t n)
{
    if (!n)
        return -1;
    qsort(arr, n, sizeof *arr, s_cmp64);
    return n % 2 ? arr[n / 2] : (arr[n / 2 - 1] + arr[n / 2]) / 2;
}

static s_deptacc_t *s_acc(s_deptacc_t **accs, size_t *n, const char *dept)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*accs)[i].st.dept, dept) == 0)
            return &(*accs)[i];
    s_deptacc_t *more = realloc(*accs, (*n + 1) * sizeof **accs);
    if (!more)
        return NULL;
    *accs = more;
    s_deptacc_t *a = &more[(*n)++];
    memset(a, 0, sizeof *a);
    orderbus__v1__dept_stats__init(&a->st);
    a->st.dept = strdup(dept);
    return a->st.dept ? a : NULL;
}

/* When an event happened for the KPIs: a department's act at its own
   time (an offline node's acts arrive late), everything else when applied. */
static int64_t s_when(const ob_journal_t *e)
{
    return e->act_at_ms ? e->act_at_ms : e->at_ms;
}

/* Counts journal entry `e` of tracked order `t` for department `a`. */
static void s_count(s_deptacc_t *a, const s_track_t *t, const ob_journal_t *e, bool dispatch)
{
    if (dispatch)
        a->st.dispatched++;
    switch (e->event) {
    case E(SIGN):
        a->st.signed_for++;
        s_push(&a->sign_ms, &a->nsign, &a->capsign, s_when(e) - t->last_dispatch);
        break;
    case E(REPLY):
        a->st.replied++;
        s_push(&a->reply_ms, &a->nreply, &a->capreply, s_when(e) - t->first_dispatch);
        break;
    case E(RETURN_REQUEST):
        a->st.returned++;
        break;
    case E(REVIEW_REJECT):
        a->st.reworked++;
        break;
    case E(CALLBACK_REOPEN):
        a->st.reopened++;
        a->st.unsatisfied++;
        break;
    case E(CALLBACK_OK):
        a->st.closed++;
        if (e->satisfaction == ORDERBUS__V1__SATISFACTION__SATISFACTION_SATISFIED
            || e->satisfaction == ORDERBUS__V1__SATISFACTION__SATISFACTION_BASIC)
            a->st.satisfied++;
        break;
    default:
        break;
    }
}

int broker_stats(broker_t *self, const broker_req_t *req)
{
    const Orderbus__V1__StatsRequest *q = req->env->stats;
    MDB_stat ms;
    size_t cap = 1024;
    if (mdb_stat(self->txn, broker_db(self->store, BROKER_DB_ORDERS), &ms) == 0)
        while (cap < ms.ms_entries * 2)
            cap *= 2;
    s_track_t *track = calloc(cap, sizeof *track);
    s_deptacc_t *accs = NULL;
    size_t nacc = 0;
    if (!track)
        return ENOMEM;
    /* every registered department appears, even with nothing to count */
    for (size_t i = 0; i < self->nnodes; i++)
        if (self->nodes[i].registered && (!q->dept || !*q->dept
                                          || strcmp(q->dept, self->nodes[i].id) == 0))
            s_acc(&accs, &nacc, self->nodes[i].id);
    int64_t until = q->until_ms ? q->until_ms : INT64_MAX;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_JOURNAL), &cur);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ob_journal_t *e = orderbus__v1__journal_entry__unpack(NULL, v.mv_size, v.mv_data);
        if (!e)
            continue;
        if (e->order_id.len != OB_ID_BYTES || e->at_ms > until) {
            orderbus__v1__journal_entry__free_unpacked(e, NULL);
            continue;
        }
        s_track_t *t = s_track(track, cap, e->order_id.data);
        bool in_period = e->at_ms >= q->since_ms;
        bool dispatch = e->to_state == S(DISPATCHED)
                        && (e->event == E(ROUTE) || e->event == E(MANUAL_ROUTE)
                            || e->event == E(RETURN_APPROVE) || e->event == E(REDISPATCH));
        if (dispatch) {
            if (!t->first_dispatch)
                t->first_dispatch = e->at_ms;
            t->last_dispatch = e->at_ms;
            snprintf(t->dept, sizeof t->dept, "%s", e->dept);
        }
        const char *dept = dispatch ? e->dept : t->dept;
        s_deptacc_t *a = NULL;
        if (in_period && *dept && (!q->dept || !*q->dept || strcmp(q->dept, dept) == 0))
            a = s_acc(&accs, &nacc, dept);
        if (a)
            s_count(a, t, e, dispatch);
        orderbus__v1__journal_entry__free_unpacked(e, NULL);
    }
    mdb_cursor_close(cur);
    Orderbus__V1__DeptStats **list = calloc(nacc + 1, sizeof *list);
    for (size_t i = 0; list && i < nacc; i++) {
        accs[i].st.name = (char *) broker_dept_name(self, accs[i].st.dept);
        accs[i].st.median_sign_ms = s_median(accs[i].sign_ms, accs[i].nsign);
        accs[i].st.median_reply_ms = s_median(accs[i].reply_ms, accs[i].nreply);
        list[i] = &accs[i].st;
    }
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.stats = list;
    answer.n_stats = list ? nacc : 0;
    rc = broker_answer(self, req, C(OK), "", &answer);
    for (size_t i = 0; i < nacc; i++) {
        free(accs[i].st.dept);
        free(accs[i].sign_ms);
        free(accs[i].reply_ms);
    }
    free(accs);
    free(list);
    free(track);
    return rc;
}
