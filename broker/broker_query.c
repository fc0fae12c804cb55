/*  broker_query.c — the read-only requests: get, list, trace, status.    */
#include "broker.h"
#include "ob_fsm.h"
#include "ob_log.h"
#include "ob_order.h"
#include "ob_util.h"

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define C(x) ORDERBUS__V1__ERROR_CODE__##x
#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)

int broker_query_get(broker_t *self, const broker_req_t *req)
{
    ob_record_t *rec;
    int found = broker_answer_find(self, req, req->env->get->ref, &rec);
    if (found <= 0)
        return -found;
    int rc = broker_answer_record(self, req, rec);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

/* The bytes a record adds to a list answer, as listed (no contact, no
   content): a page stops once it holds OB_ANSWER_BUDGET. */
static size_t s_listed_size(const ob_record_t *rec)
{
    size_t n = orderbus__v1__order_record__get_packed_size(rec) + 8;
    if (rec->order && rec->order->content)
        n -= strlen(rec->order->content);
    if (rec->order && rec->order->contact)
        n -= orderbus__v1__contact__get_packed_size(rec->order->contact);
    return n;
}

/* ListRequest with a state: the ids of up to `limit` orders in that state
   (of `dept` when given) after after_id, in id order, into ids. The index
   runs state, department, id: each department's ids are in order, and the
   departments' runs are merged so that the answer (and paging by after_id)
   is in id order across them. Returns 0 or an LMDB code. */
static int s_list_ids_by_state(broker_t *self, const Orderbus__V1__ListRequest *l, size_t limit,
                               uint8_t (*ids)[OB_ID_BYTES], size_t *nids_out)
{
    const char *dept = l->dept ? l->dept : "";
    bool after = l->after_id.len == OB_ID_BYTES;
    size_t nids = 0;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_IDX_DEPT), &cur);
    uint8_t key[2 + OB_DEPT_MAX + OB_ID_BYTES];
    key[0] = (uint8_t) l->state;
    size_t klen = 1;
    if (*dept) {
        size_t dl = strnlen(dept, OB_DEPT_MAX - 1);
        memcpy(key + 1, dept, dl);
        key[1 + dl] = 0;
        klen = 2 + dl;
    }
    uint8_t want[2 + OB_DEPT_MAX];   /* the requested prefix */
    memcpy(want, key, klen);
    k.mv_size = klen;
    k.mv_data = key;
    int grc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (grc == 0 && k.mv_size > 1 + OB_ID_BYTES && ((uint8_t *) k.mv_data)[0] == l->state) {
        /* a department's run: its prefix is state, dept, NUL */
        size_t plen = k.mv_size - OB_ID_BYTES;
        uint8_t prefix[2 + OB_DEPT_MAX];
        if (plen > sizeof prefix || (*dept && (plen != klen || memcmp(k.mv_data, want, klen))))
            break;   /* no order of that department in that state */
        memcpy(prefix, k.mv_data, plen);
        if (after) {   /* to the first id after after_id in this run */
            memcpy(key, prefix, plen);
            memcpy(key + plen, l->after_id.data, OB_ID_BYTES);
            k.mv_size = plen + OB_ID_BYTES;
            k.mv_data = key;
            grc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            if (grc == 0 && k.mv_size == plen + OB_ID_BYTES && !memcmp(k.mv_data, prefix, plen)
                && !memcmp((uint8_t *) k.mv_data + plen, l->after_id.data, OB_ID_BYTES))
                grc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        /* merge this run's ids (ascending) into ids[0..nids), keeping the lowest `limit` */
        size_t pos = 0;
        for (size_t taken = 0; grc == 0 && taken < limit && k.mv_size == plen + OB_ID_BYTES
                               && !memcmp(k.mv_data, prefix, plen);
             taken++, grc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const uint8_t *id = (const uint8_t *) k.mv_data + plen;
            while (pos < nids && memcmp(ids[pos], id, OB_ID_BYTES) < 0)
                pos++;
            if (pos == limit)
                break;   /* every id from here on is above the lowest `limit` */
            size_t move = (nids < limit ? nids : limit - 1) - pos;
            memmove(ids[pos + 1], ids[pos], move * OB_ID_BYTES);
            memcpy(ids[pos], id, OB_ID_BYTES);
            if (nids < limit)
                nids++;
            pos++;
        }
        if (*dept)
            break;
        /* on to the next department: past every key with this prefix */
        memcpy(key, prefix, plen);
        memset(key + plen, 0xff, OB_ID_BYTES);
        k.mv_size = plen + OB_ID_BYTES;
        k.mv_data = key;
        grc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (grc == 0 && k.mv_size == plen + OB_ID_BYTES && !memcmp(k.mv_data, key, k.mv_size))
            grc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (cur)
        mdb_cursor_close(cur);
    *nids_out = nids;
    return 0;
}

/* ListRequest without a state: orders after after_id in id order (of
   `dept` when given), until `limit` or the page's byte budget. */
static int s_list_all(broker_t *self, const Orderbus__V1__ListRequest *l, size_t limit,
                      ob_record_t **recs, size_t *n_out, bool *more_out)
{
    const char *dept = l->dept ? l->dept : "";
    bool after = l->after_id.len == OB_ID_BYTES;
    size_t n = 0, bytes = 0;
    bool more = false;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;
    rc = mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_ORDERS), &cur);
    MDB_cursor_op op = MDB_FIRST;
    if (!rc && after) {
        k.mv_size = OB_ID_BYTES;
        k.mv_data = l->after_id.data;
        op = MDB_SET_RANGE;
    }
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, op); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (n == limit || bytes > OB_ANSWER_BUDGET) {
            more = true;
            break;
        }
        if (after && k.mv_size == OB_ID_BYTES
            && memcmp(k.mv_data, l->after_id.data, OB_ID_BYTES) == 0)
            continue;
        ob_record_t *rec = orderbus__v1__order_record__unpack(NULL, v.mv_size, v.mv_data);
        if (!rec)
            continue;
        if (*dept && strcmp(rec->dept, dept) != 0) {
            orderbus__v1__order_record__free_unpacked(rec, NULL);
            continue;
        }
        recs[n++] = rec;
        bytes += s_listed_size(rec);
    }
    if (cur)
        mdb_cursor_close(cur);
    *n_out = n;
    *more_out = more;
    return 0;
}

/* ListRequest{dept, state, limit, after_id}: a page of orders in id order,
   at most `limit` (and BROKER_LIST_MAX) and about OB_ANSWER_BUDGET bytes;
   Answer.more says another page follows. */
int broker_query_list(broker_t *self, const broker_req_t *req)
{
    const Orderbus__V1__ListRequest *l = req->env->list;
    size_t limit = l->limit && l->limit < BROKER_LIST_MAX ? l->limit : BROKER_LIST_MAX;
    ob_record_t **recs = calloc(limit, sizeof *recs);
    uint8_t (*ids)[OB_ID_BYTES] = l->state != S(UNSPECIFIED) ? calloc(limit, sizeof *ids) : NULL;
    size_t n = 0, nids = 0, bytes = 0;
    bool more = false;
    int rc = !recs || (l->state != S(UNSPECIFIED) && !ids) ? ENOMEM : 0;
    if (!rc && ids) {
        rc = s_list_ids_by_state(self, l, limit, ids, &nids);
        for (size_t i = 0; !rc && i < nids && n < limit && bytes <= OB_ANSWER_BUDGET; i++)
            if (broker_order_load(self, ids[i], &recs[n]) == 0)
                bytes += s_listed_size(recs[n++]);
        more = nids == limit || n < nids;
    } else if (!rc)
        rc = s_list_all(self, l, limit, recs, &n, &more);
    for (size_t i = 0; i < n; i++)
        broker_answer_strip(recs[i], true);   /* a list shows no contact and no content */
    if (!rc || rc == MDB_NOTFOUND) {
        ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
        answer.orders = recs;
        answer.n_orders = n;
        answer.more = more;
        rc = broker_answer(self, req, C(OK), "", &answer);
    }
    for (size_t i = 0; i < n; i++)
        orderbus__v1__order_record__free_unpacked(recs[i], NULL);
    free(recs);
    free(ids);
    return rc;
}

int broker_query_trace(broker_t *self, const broker_req_t *req)
{
    ob_record_t *rec;
    int found = broker_answer_find(self, req, req->env->trace->ref, &rec);
    if (found <= 0)
        return -found;
    uint64_t after_seq = req->env->trace->after_seq;
    size_t cap = 16, n = 0, bytes = orderbus__v1__order_record__get_packed_size(rec);
    bool more = false;
    ob_journal_t **events = malloc(cap * sizeof *events);
    MDB_cursor *cur = NULL;
    int rc = events ? mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_IDX_JOURNAL),
                                      &cur)
                    : ENOMEM;
    MDB_val k = {OB_ID_BYTES, rec->order->id.data}, v;
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != OB_ID_BYTES + 8
            || memcmp(k.mv_data, rec->order->id.data, OB_ID_BYTES) != 0)
            break;
        if (ob_be64_get((const uint8_t *) k.mv_data + OB_ID_BYTES) <= after_seq)
            continue;
        if (bytes > OB_ANSWER_BUDGET) {
            more = true;
            break;
        }
        ProtobufCMessage *msg;
        if (ob_store_get_pb(self->txn, broker_db(self->store, BROKER_DB_JOURNAL),
                            (const uint8_t *) k.mv_data + OB_ID_BYTES, 8,
                            &orderbus__v1__journal_entry__descriptor, &msg)
            != 0)
            continue;
        if (n == cap) {
            ob_journal_t **grown = realloc(events, 2 * cap * sizeof *events);
            if (!grown) {
                protobuf_c_message_free_unpacked(msg, NULL);
                break;
            }
            events = grown;
            cap *= 2;
        }
        events[n++] = (ob_journal_t *) msg;
        bytes += protobuf_c_message_get_packed_size(msg) + 8;
    }
    if (cur)
        mdb_cursor_close(cur);
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.order = rec;
    answer.events = events;
    answer.n_events = n;
    answer.more = more;
    rc = broker_answer(self, req, C(OK), "", &answer);
    for (size_t i = 0; i < n; i++)
        orderbus__v1__journal_entry__free_unpacked(events[i], NULL);
    free(events);
    protobuf_c_message_free_unpacked((ProtobufCMessage *) rec, NULL);
    return rc;
}

int broker_query_status(broker_t *self, const broker_req_t *req)
{
    Orderbus__V1__BrokerStatus st = ORDERBUS__V1__BROKER_STATUS__INIT;
    st.software = (char *) "orderbus-broker " OB_VERSION_STRING;
    st.started_at_ms = self->started_at_ms;
    st.now_ms = ob_now_ms();
    MDB_stat ms;
    if (mdb_stat(self->txn, broker_db(self->store, BROKER_DB_ORDERS), &ms) == 0)
        st.orders = ms.ms_entries;
    st.journal_seq = self->journal_seq;
    st.rules_version = (char *) (self->rules ? ob_rules_version(self->rules) : "");
    ob_store_usage(self->store, &st.store_bytes, &st.map_bytes);

    /* one pass over the state index: counts by state, open orders by department */
    uint64_t by_state[32] = {0};
    uint64_t *open = calloc(self->nnodes + 1, sizeof *open);
    if (!open)
        return ENOMEM;
    MDB_cursor *cur;
    MDB_val k, v;
    if (mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_IDX_DEPT), &cur) == 0) {
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const uint8_t *key = k.mv_data;
            if (k.mv_size < 2 + OB_ID_BYTES)
                continue;
            by_state[key[0] & 31]++;
            if (!ob_state_is_open((ob_state_t) key[0]))
                continue;
            const char *dept = (const char *) key + 1;
            for (size_t i = 0; i < self->nnodes; i++)
                if (strcmp(self->nodes[i].id, dept) == 0)
                    open[i]++;
        }
        mdb_cursor_close(cur);
    }
    Orderbus__V1__StateCount counts[32], *countp[32];
    size_t ncounts = 0;
    for (int s = 0; s < 32; s++) {
        if (!by_state[s])
            continue;
        orderbus__v1__state_count__init(&counts[ncounts]);
        counts[ncounts].state = (ob_state_t) s;
        counts[ncounts].count = by_state[s];
        countp[ncounts] = &counts[ncounts];
        ncounts++;
    }
    st.states = countp;
    st.n_states = ncounts;

    Orderbus__V1__NodeStatus *ns = calloc(self->nnodes + 1, sizeof *ns);
    Orderbus__V1__NodeStatus **nsp = calloc(self->nnodes + 1, sizeof *nsp);
    size_t nn = 0;
    for (size_t i = 0; ns && nsp && i < self->nnodes; i++) {
        broker_node_t *node = &self->nodes[i];
        if (!node->registered && !broker_node_depth(node))
            continue;
        orderbus__v1__node_status__init(&ns[nn]);
        ns[nn].dept = node->id;
        ns[nn].name = (char *) broker_dept_name(self, node->id);
        ns[nn].up = node->up;
        ns[nn].last_seen_ms = node->last_seen_ms;
        ns[nn].outbox_depth = broker_node_depth(node);
        ns[nn].inflight = node->sent_seq - node->acked_seq;
        ns[nn].open_orders = open[i];
        ns[nn].diverged = node->diverged;
        nsp[nn] = &ns[nn];
        nn++;
    }
    st.nodes = nsp;
    st.n_nodes = nn;
    ob_answer_t answer = ORDERBUS__V1__ANSWER__INIT;
    answer.status = &st;
    int rc = broker_answer(self, req, C(OK), "", &answer);
    free(ns);
    free(nsp);
    free(open);
    return rc;
}
