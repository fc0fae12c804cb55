/*  broker.c — the centre daemon: construction, THE loop with group commit,
    cron.

    A turn of the loop: poll; answer ZAP requests; drain up to
    BROKER_BATCH_MAX messages from each ROUTER; apply them all in ONE write
    transaction; commit (one fsync for the batch); only then send what the
    batch produced — answers, acks, messages to nodes, events. If the map is
    full the transaction is aborted, the map grown and the batch applied
    again from scratch; if the store fails otherwise, clients are told
    ERR_STORE and nodes get no ack (they resend): nothing is lost.         */
#include "broker.h"
#include "ob_log.h"
#include "ob_util.h"
#include <zmq.h>
#include <sodium.h>
#include <unistd.h>

#define CRON_US 100000


static void *s_router(broker_t *self, const char *endpoint, const char *domain, char *err,
                      size_t errlen)
{
    void *sock = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (!sock) {
        snprintf(err, errlen, "cannot create socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int one = 1, zero = 0, hwm = 200000;
    int64_t maxmsg = 16 * 1024 * 1024;   /* frames over 1 MiB get an error; over 16 MiB the
                                            connection is dropped before memory is spent */
    zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->keys->secret_key, OB_KEY_BYTES);
    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain));
    if (zmq_bind(sock, endpoint) < 0) {
        snprintf(err, errlen, "cannot bind '%s': %s", endpoint, zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

broker_t *broker_new(const broker_config_t *cfg, char *err, size_t errlen)
{
    broker_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = *cfg;
    self->lock_fd = -1;
    self->started_at_ms = ob_now_ms();
    self->lock_fd = ob_store_lock(cfg->data_dir, "broker", err, errlen);
    if (self->lock_fd < 0)
        goto fail;
    self->keys = ob_keys_load(cfg->key_path, true, err, errlen);
    if (!self->keys)
        goto fail;
    self->store = ob_store_open(cfg->data_dir, OB_STORE_BROKER, (size_t) cfg->map_mb, err,
                                errlen);
    if (!self->store)
        goto fail;
    if (cfg->rules_path) {
        self->rules = ob_rules_load(cfg->rules_path, err, errlen);
        if (!self->rules)
            goto fail;
    } else
        ob_warn("no rule file: every order waits in PENDING_MANUAL");
    if (cfg->ncalendar) {
        self->calendar = ob_calendar_load(cfg->calendar_paths, cfg->ncalendar, err, errlen);
        if (self->calendar)
            ob_info("working-day calendar: %zu year file%s (%s%s%s)", cfg->ncalendar,
                    cfg->ncalendar == 1 ? "" : "s", cfg->calendar_paths[0],
                    cfg->ncalendar > 1 ? " .. " : "",
                    cfg->ncalendar > 1 ? cfg->calendar_paths[cfg->ncalendar - 1] : "");
        if (!self->calendar)
            goto fail;
    } else
        self->calendar = ob_calendar_new_weekdays(cfg->utc_offset_min);
    self->ctx = zmq_ctx_new();
    if (!self->calendar || !self->ctx) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* the ZAP handler must exist before any Curve socket takes a peer */
    self->zap_sock = zmq_socket(self->ctx, ZMQ_REP);
    if (!self->zap_sock || zmq_bind(self->zap_sock, "inproc://zeromq.zap.01") < 0) {
        snprintf(err, errlen, "cannot start the ZAP handler: %s", zmq_strerror(errno));
        goto fail;
    }
    MDB_txn *txn;
    int rc = ob_store_begin(self->store, false, &txn);
    if (!rc) {
        rc = ob_store_meta_get_u64(self->store, txn, "journal_seq", &self->journal_seq);
        if (!rc)
            rc = broker_nodes_load(self, txn);
        mdb_txn_abort(txn);
    }
    if (rc) {
        snprintf(err, errlen, "cannot read store '%s': %s", cfg->data_dir, ob_store_strerror(rc));
        goto fail;
    }
    self->node_sock = s_router(self, cfg->node_endpoint, "node", err, errlen);
    if (!self->node_sock)
        goto fail;
    self->client_sock = s_router(self, cfg->client_endpoint, "client", err, errlen);
    if (!self->client_sock)
        goto fail;
    self->event_sock = zmq_socket(self->ctx, ZMQ_PUB);
    int hwm = 200000, zero = 0;
    if (self->event_sock) {
        zmq_setsockopt(self->event_sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(self->event_sock, ZMQ_LINGER, &zero, sizeof zero);
    }
    if (!self->event_sock || zmq_bind(self->event_sock, cfg->event_endpoint) < 0) {
        snprintf(err, errlen, "cannot bind '%s': %s", cfg->event_endpoint, zmq_strerror(errno));
        goto fail;
    }
    ob_info("orderbus-broker %s: store '%s', %zu departments, journal at %llu, rules %s",
            OB_VERSION_STRING, cfg->data_dir, self->nnodes,
            (unsigned long long) self->journal_seq,
            self->rules ? ob_rules_version(self->rules) : "(none)");
    ob_info("node link %s, client service %s, events %s", cfg->node_endpoint,
            cfg->client_endpoint, cfg->event_endpoint);
    return self;
fail:
    broker_destroy(&self);
    return NULL;
}

void broker_destroy(broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    broker_t *self = *self_p;
    if (self->node_sock)
        zmq_close(self->node_sock);
    if (self->client_sock)
        zmq_close(self->client_sock);
    if (self->event_sock)
        zmq_close(self->event_sock);
    if (self->zap_sock)
        zmq_close(self->zap_sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    broker_effects_clear(self);
    free(self->effects);
    broker_nodes_fresh_clear(self);
    for (size_t i = 0; i < self->nnodes; i++)
        free(self->nodes[i].fresh);
    free(self->nodes);
    ob_calendar_destroy(&self->calendar);
    ob_rules_destroy(&self->rules);
    ob_store_destroy(&self->store);
    if (self->lock_fd >= 0)
        close(self->lock_fd);   /* the lock goes with it */
    ob_keys_destroy(&self->keys);
    free(self);
    *self_p = NULL;
}


/* Re-reads the counters cached in memory after an aborted transaction. */
static void s_reload_counters(broker_t *self)
{
    MDB_txn *txn;
    if (ob_store_begin(self->store, false, &txn))
        return;
    ob_store_meta_get_u64(self->store, txn, "journal_seq", &self->journal_seq);
    broker_nodes_load(self, txn);
    for (size_t i = 0; i < self->nnodes; i++)
        self->nodes[i].resume_from = 0;   /* its re-sent orders were rolled back too */
    mdb_txn_abort(txn);
    self->journal_dirty = false;
    self->case_day = 0;
    self->case_dirty = false;
}

/* Writes the counters the batch moved (cached in memory meanwhile). */
static int s_save_counters(broker_t *self)
{
    int rc = 0;
    if (self->journal_dirty)
        rc = ob_store_meta_put_u64(self->store, self->txn, "journal_seq", self->journal_seq);
    if (!rc && self->case_dirty) {
        char key[32];
        snprintf(key, sizeof key, "case/%08u", self->case_day);
        rc = ob_store_meta_put_u64(self->store, self->txn, key, self->case_serial);
    }
    if (!rc)
        rc = broker_nodes_save_counters(self);
    if (!rc)
        self->journal_dirty = self->case_dirty = false;
    return rc;
}

/* The batch could not be committed: said once (then at most every 30 s,
   with a count) in words an operator can act on, and every client told
   ERR_STORE; node messages stay unacknowledged (the nodes resend them). */
static void s_store_failed(broker_t *self, ob_inmsg_t *clients, size_t nc, size_t nmsgs, int rc)
{
    char why[300], answer[400];
    ob_store_describe(self->store, rc, why, sizeof why);
    bool full = strstr(why, "is full") != NULL;
    unsigned suppressed;
    if (ob_log_limit(&self->store_log, ob_now_ms(), 30000, &suppressed))
        ob_error("store failure: %s: a batch of %zu messages not applied (%u more batches "
                 "refused since the last report); %s", why, nmsgs, suppressed,
                 full ? "free space there: the store is intact, nothing acknowledged was lost, "
                        "and requests are taken again as soon as there is room"
                      : "the store is intact and nothing acknowledged was lost");
    snprintf(answer, sizeof answer, "the centre cannot write its store (%s): nothing was "
             "applied; retry later", full ? "its disk is full" : why);
    for (size_t i = 0; i < nc; i++) {
        ob_errcode_t code;
        char err[200];
        ob_envelope_t *env = clients[i].data
                                 ? ob_wire_decode(clients[i].data, clients[i].size, &code, err,
                                                  sizeof err)
                                 : NULL;
        if (env)
            ob_wire_send_error_answer(self->client_sock, clients[i].rid, clients[i].rid_len,
                                      env->msg_id.data, env->msg_id.len,
                                      ORDERBUS__V1__ERROR_CODE__ERR_STORE, answer);
        ob_wire_free(env);
    }
}

static void s_apply_batch(broker_t *self, ob_inmsg_t *nodes, size_t nn, ob_inmsg_t *clients,
                          size_t nc)
{
    int rc = 0;
    if (ob_store_needs_growth(self->store)) {
        uint64_t used, before, after;
        ob_store_usage(self->store, &used, &before);
        char why[300];
        unsigned suppressed;
        if ((rc = ob_store_grow(self->store))
            && ob_log_limit(&self->store_log, ob_now_ms(), 30000, &suppressed))
            ob_error("cannot grow the store map: %s", ob_store_describe(self->store, rc, why,
                                                                         sizeof why));
        else {
            ob_store_usage(self->store, &used, &after);
            ob_info("store map grown from %llu to %llu MiB (%llu MiB used)",
                    (unsigned long long) (before >> 20), (unsigned long long) (after >> 20),
                    (unsigned long long) (used >> 20));
        }
    }
    for (int round = 0; round < 3; round++) {
        rc = ob_store_begin(self->store, true, &self->txn);
        if (rc) {
            self->txn = NULL;
            break;
        }
        self->batch_now_ms = ob_now_ms();
        for (size_t i = 0; !rc && i < nn; i++)
            rc = broker_node_handle(self, &nodes[i]);
        for (size_t i = 0; !rc && i < nc; i++)
            rc = broker_client_handle(self, &clients[i]);
        self->msg_at_us = 0;
        if (!rc)
            rc = s_save_counters(self);
        if (!rc) {
            rc = ob_store_commit(self->txn);
        } else
            mdb_txn_abort(self->txn);
        self->txn = NULL;
        if (!rc) {
            /* the nodes first (acks, then the new dispatches): their work
               starts while the answers and events go out */
            broker_nodes_after_commit(self);
            broker_nodes_pump(self);
            broker_effects_send(self);
            self->batches++;
            self->batch_msgs += nn + nc;
            return;
        }
        broker_effects_clear(self);
        broker_nodes_fresh_clear(self);
        s_reload_counters(self);
        if (rc != MDB_MAP_FULL)
            break;
        int grc = ob_store_grow(self->store);
        ob_warn("store map full: grown (%s), applying the batch again",
                grc ? ob_store_strerror(grc) : "ok");
    }
    s_store_failed(self, clients, nc, nn + nc, rc);
    /* node messages stay unacknowledged: the nodes send them again */
}

static void s_reload_rules(broker_t *self)
{
    char msg[1024];
    broker_reload_rules(self, msg, sizeof msg);
}

/* Drops `seen` entries older than the dedup window, a slice per call. */
static void s_prune_seen(broker_t *self)
{
    if (ob_store_begin(self->store, true, &self->txn))
        return;
    MDB_cursor *cur;
    int64_t cutoff = ob_now_ms() - BROKER_SEEN_TTL_MS;
    size_t looked = 0, dropped = 0;
    if (mdb_cursor_open(self->txn, broker_db(self->store, BROKER_DB_SEEN), &cur) == 0) {
        MDB_val k = {self->prune_cursor_len, self->prune_cursor}, v;
        int rc;
        for (rc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
             rc == 0 && looked < 10000;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), looked++) {
            Orderbus__V1__SeenItem *s = orderbus__v1__seen_item__unpack(NULL, v.mv_size,
                                                                        v.mv_data);
            bool old = !s || s->at_ms < cutoff;
            if (s)
                orderbus__v1__seen_item__free_unpacked(s, NULL);
            if (k.mv_size <= sizeof self->prune_cursor) {   /* before the delete moves it */
                memcpy(self->prune_cursor, k.mv_data, k.mv_size);
                self->prune_cursor_len = k.mv_size;
            }
            if (old && mdb_cursor_del(cur, 0) == 0)
                dropped++;
        }
        if (rc == MDB_NOTFOUND)
            self->prune_cursor_len = 0;
        mdb_cursor_close(cur);
    }
    if (ob_store_commit(self->txn) == 0 && dropped)
        ob_debug("pruned %zu request ids older than 7 days", dropped);
    self->txn = NULL;
}

int broker_run(broker_t *self, volatile int *stop_flag, volatile int *reload_flag)
{
    ob_inmsg_t *nodes = calloc(BROKER_BATCH_MAX, sizeof *nodes);
    ob_inmsg_t *clients = calloc(BROKER_BATCH_MAX, sizeof *clients);
    if (!nodes || !clients) {
        free(nodes);
        free(clients);
        return -1;
    }
    while (!*stop_flag) {
        if (reload_flag && *reload_flag) {
            *reload_flag = 0;
            s_reload_rules(self);
        }
        zmq_pollitem_t items[3] = {{self->zap_sock, 0, ZMQ_POLLIN, 0},
                                   {self->node_sock, 0, ZMQ_POLLIN, 0},
                                   {self->client_sock, 0, ZMQ_POLLIN, 0}};
        uint64_t now = ob_mono_us();
        long timeout = 0;
        if (now - self->last_cron_us < CRON_US)
            timeout = (long) ((CRON_US - (now - self->last_cron_us)) / 1000) + 1;
        int rc = zmq_poll(items, 3, timeout);
        if (rc < 0 && errno != EINTR) {
            ob_error("poll failed: %s", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            broker_zap_serve(self);
        size_t nn = 0, nc = 0;
        if (items[1].revents & ZMQ_POLLIN)
            while (nn < BROKER_BATCH_MAX && ob_wire_recv(self->node_sock, true, &nodes[nn]) == 0)
                nn++;
        if (items[2].revents & ZMQ_POLLIN)
            while (nc < BROKER_BATCH_MAX
                   && ob_wire_recv(self->client_sock, true, &clients[nc]) == 0)
                nc++;
        if (nn + nc) {
            s_apply_batch(self, nodes, nn, clients, nc);
            for (size_t i = 0; i < nn; i++)
                ob_inmsg_clear(&nodes[i]);
            for (size_t i = 0; i < nc; i++)
                ob_inmsg_clear(&clients[i]);
        }
        broker_nodes_pump(self);
        now = ob_mono_us();
        if (now - self->last_cron_us >= CRON_US) {
            self->last_cron_us = now;
            broker_nodes_cron(self);
            if (now - self->last_prune_us >= 60ull * 1000000) {
                self->last_prune_us = now;
                s_prune_seen(self);
            }
        }
    }
    ob_info("stopping: %llu batches, %llu messages applied", (unsigned long long) self->batches,
            (unsigned long long) self->batch_msgs);
    free(nodes);
    free(clients);
    return 0;
}

