/*  ob_store.c — the LMDB environment of a stateful process.

    One environment per process, named databases fixed by the kind of store
    (broker or node), a schema version stamped in `meta` at creation and
    checked at every open. Full sync on every commit (never MDB_NOSYNC): a
    daemon acknowledges only what a commit made durable.                    */
#include "ob_store.h"
#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include "ob_util.h"
#include <assert.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ob_selftest.h"   /* last: asserts on in the self-test, also with -DNDEBUG */

struct ob_store {
    MDB_env *env;
    MDB_dbi dbi[OB_DB_BROKER_COUNT];
    int ndbi;
    ob_store_kind_t kind;
    char dir[4096];
};

static const char *s_broker_dbs[OB_DB_BROKER_COUNT] = {
    "orders", "journal", "outbox", "idx_dept", "idx_deadline",
    "idx_case", "seen", "meta", "principals", "keys", "idx_journal",
    "idx_extref", "dead",
};
static const char *s_node_dbs[OB_NDB_COUNT] = {"inbox", "outbox", "seen", "meta"};

int ob_store_lock(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s.lock", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open lock file '%s': %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "another orderbus-%s%s%s%s is running on '%s': stop it first, "
                     "or give this one its own --data directory", name, *pid ? " (pid " : "",
                     pid, *pid ? ")" : "", dir);
        else
            snprintf(err, errlen, "cannot lock '%s': %s", path, strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long) getpid());
    bool hinted = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t) n, 0) == n;
    (void) hinted;   /* the pid is only a hint for the message above */
    return fd;
}

static const char *s_kind_name(ob_store_kind_t kind)
{
    return kind == OB_STORE_BROKER ? "broker" : "node";
}

/* Stamps a new store or checks an existing one. */
static int s_check_schema(ob_store_t *self, MDB_txn *txn, char *err, size_t errlen)
{
    MDB_dbi meta = self->dbi[self->kind == OB_STORE_BROKER ? OB_DB_META : OB_NDB_META];
    MDB_val key = {6, (void *) "schema"}, val;
    int rc = mdb_get(txn, meta, &key, &val);
    if (rc == MDB_NOTFOUND) {
        char stamp[64];
        int n = snprintf(stamp, sizeof stamp, "%s %d", s_kind_name(self->kind), OB_SCHEMA_VERSION);
        MDB_val v = {(size_t) n, stamp};
        rc = mdb_put(txn, meta, &key, &v, 0);
        if (rc)
            snprintf(err, errlen, "cannot stamp store '%s': %s", self->dir, mdb_strerror(rc));
        return rc;
    }
    if (rc) {
        snprintf(err, errlen, "cannot read store '%s': %s", self->dir, mdb_strerror(rc));
        return rc;
    }
    char have[64];
    size_t n = val.mv_size < sizeof have - 1 ? val.mv_size : sizeof have - 1;
    memcpy(have, val.mv_data, n);
    have[n] = '\0';
    char kind[16];
    int version = 0;
    if (sscanf(have, "%15s %d", kind, &version) != 2) {
        snprintf(err, errlen, "store '%s' has an unreadable schema stamp", self->dir);
        return EINVAL;
    }
    if (strcmp(kind, s_kind_name(self->kind)) != 0) {
        snprintf(err, errlen, "store '%s' is a %s store, not a %s store", self->dir, kind,
                 s_kind_name(self->kind));
        return EINVAL;
    }
    if (version != OB_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "store '%s' has schema version %d; this orderbus reads version %d only",
                 self->dir, version, OB_SCHEMA_VERSION);
        return EINVAL;
    }
    return 0;
}

ob_store_t *ob_store_open(const char *dir, ob_store_kind_t kind, size_t map_mb, char *err,
                          size_t errlen)
{
    ob_store_t *self = calloc(1, sizeof *self);
    MDB_txn *txn = NULL;
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->kind = kind;
    snprintf(self->dir, sizeof self->dir, "%s", dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create store directory '%s': %s", dir, strerror(errno));
        goto fail;
    }
    int rc = mdb_env_create(&self->env);
    if (rc) {
        snprintf(err, errlen, "cannot create LMDB environment: %s", mdb_strerror(rc));
        goto fail;
    }
    const char **names = kind == OB_STORE_BROKER ? s_broker_dbs : s_node_dbs;
    self->ndbi = kind == OB_STORE_BROKER ? OB_DB_BROKER_COUNT : OB_NDB_COUNT;
    mdb_env_set_maxdbs(self->env, (MDB_dbi) self->ndbi + 2);
    mdb_env_set_maxreaders(self->env, 126);
    /* an existing bigger map is kept: LMDB adopts the file's size if larger */
    size_t mapsize = (map_mb ? map_mb : 256) * 1024 * 1024;
    mdb_env_set_mapsize(self->env, mapsize);
    rc = mdb_env_open(self->env, dir, MDB_NOTLS, 0600);
    if (rc) {
        snprintf(err, errlen, "cannot open store '%s': %s", dir, mdb_strerror(rc));
        goto fail;
    }
    rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc) {
        snprintf(err, errlen, "cannot begin transaction on '%s': %s", dir, mdb_strerror(rc));
        goto fail;
    }
    for (int i = 0; i < self->ndbi; i++) {
        rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &self->dbi[i]);
        if (rc) {
            snprintf(err, errlen, "cannot open database '%s' in '%s': %s", names[i], dir,
                     mdb_strerror(rc));
            goto fail;
        }
    }
    if (s_check_schema(self, txn, err, errlen))
        goto fail;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc) {
        snprintf(err, errlen, "cannot commit to store '%s': %s", dir, mdb_strerror(rc));
        goto fail;
    }
    return self;
fail:
    if (txn)
        mdb_txn_abort(txn);
    ob_store_destroy(&self);
    return NULL;
}

void ob_store_destroy(ob_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ob_store_t *self = *self_p;
    if (self->env)
        mdb_env_close(self->env);
    free(self);
    *self_p = NULL;
}

MDB_env *ob_store_env(ob_store_t *self)
{
    return self->env;
}

MDB_dbi ob_store_dbi(ob_store_t *self, int db)
{
    assert(db >= 0 && db < self->ndbi);
    return self->dbi[db];
}

const char *ob_store_dir(ob_store_t *self)
{
    return self->dir;
}

int ob_store_begin(ob_store_t *self, bool write, MDB_txn **txn)
{
    int rc = mdb_txn_begin(self->env, NULL, write ? 0 : MDB_RDONLY, txn);
    if (rc == MDB_MAP_RESIZED) {
        /* another process (e.g. `orderbus admin`) grew the map */
        mdb_env_set_mapsize(self->env, 0);
        rc = mdb_txn_begin(self->env, NULL, write ? 0 : MDB_RDONLY, txn);
    }
    return rc;
}

int ob_store_commit(MDB_txn *txn)
{
    return mdb_txn_commit(txn);
}

int ob_store_grow(ob_store_t *self)
{
    MDB_envinfo info;
    int rc = mdb_env_info(self->env, &info);
    if (rc)
        return rc;
    return mdb_env_set_mapsize(self->env, info.me_mapsize * 2);
}

void ob_store_usage(ob_store_t *self, uint64_t *used, uint64_t *mapsize)
{
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(self->env, &info);
    mdb_env_stat(self->env, &st);
    *used = (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
    *mapsize = info.me_mapsize;
}

bool ob_store_needs_growth(ob_store_t *self)
{
    uint64_t used, mapsize;
    ob_store_usage(self, &used, &mapsize);
    return used * 4 > mapsize * 3;
}

int ob_store_meta_get_u64(ob_store_t *self, MDB_txn *txn, const char *key, uint64_t *out)
{
    MDB_dbi meta = self->dbi[self->kind == OB_STORE_BROKER ? OB_DB_META : OB_NDB_META];
    MDB_val k = {strlen(key), (void *) key}, v;
    int rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *out = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return EBADMSG;
    *out = ob_be64_get(v.mv_data);
    return 0;
}

int ob_store_meta_put_u64(ob_store_t *self, MDB_txn *txn, const char *key, uint64_t value)
{
    MDB_dbi meta = self->dbi[self->kind == OB_STORE_BROKER ? OB_DB_META : OB_NDB_META];
    uint8_t buf[8];
    ob_be64_put(buf, value);
    MDB_val k = {strlen(key), (void *) key}, v = {8, buf};
    return mdb_put(txn, meta, &k, &v, 0);
}

int ob_store_get_pb(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t keylen,
                    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    MDB_val k = {keylen, (void *) key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc)
        return rc;
    *out = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
    return *out ? 0 : EBADMSG;
}

int ob_store_put_pb(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t keylen,
                    const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    MDB_val k = {keylen, (void *) key}, v = {n, NULL};
    int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    protobuf_c_message_pack(msg, v.mv_data);
    return 0;
}

int ob_store_put_append(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val,
                        unsigned flags)
{
    MDB_val v = *val;
    int rc = mdb_put(txn, dbi, key, &v, flags | MDB_APPEND);
    if (rc == MDB_KEYEXIST) {   /* not last (or present): an ordinary put decides */
        v = *val;
        rc = mdb_put(txn, dbi, key, &v, flags);
    }
    if (!rc)
        *val = v;
    return rc;
}

int ob_store_put_pb_append(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t keylen,
                           const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    MDB_val k = {keylen, (void *) key}, v = {n, NULL};
    int rc = ob_store_put_append(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    protobuf_c_message_pack(msg, v.mv_data);
    return 0;
}

const char *ob_store_describe(ob_store_t *self, int rc, char *buf, size_t len)
{
    struct statvfs fs;
    bool known = self && statvfs(self->dir, &fs) == 0;
    unsigned long long free_kib = known ? (unsigned long long) fs.f_bavail * fs.f_frsize / 1024 : 0;
    bool full = rc == ENOSPC
                || ((rc == EIO || rc == MDB_MAP_FULL) && known && free_kib < 1024);
    if (full)
        snprintf(buf, len, "the disk holding '%s' is full (%llu KiB free)", self->dir, free_kib);
    else
        snprintf(buf, len, "%s", ob_store_strerror(rc));
    return buf;
}

const char *ob_store_strerror(int rc)
{
    if (rc == EBADMSG)
        return "stored record does not decode";
    return mdb_strerror(rc);
}

/* protobuf values and meta counters survive a reopen */
static void s_test_reopen(const char *dir)
{
    char err[512];
    ob_store_t *store = ob_store_open(dir, OB_STORE_BROKER, 1, err, sizeof err);
    assert(store);
    MDB_txn *txn;
    int rc = ob_store_begin(store, true, &txn);
    assert(rc == 0);
    ob_record_t rec = ORDERBUS__V1__ORDER_RECORD__INIT;
    ob_workorder_t wo = ORDERBUS__V1__WORK_ORDER__INIT;
    wo.title = (char *) "小区电梯长期故障";
    rec.order = &wo;
    rec.state = ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED;
    rec.dept = (char *) "housing";
    rc = ob_store_put_pb(txn, ob_store_dbi(store, OB_DB_ORDERS), "k1", 2,
                         (const ProtobufCMessage *) &rec);
    assert(rc == 0);
    rc = ob_store_meta_put_u64(store, txn, "journal_seq", 77);
    assert(rc == 0);
    rc = ob_store_commit(txn);
    assert(rc == 0);
    ob_store_destroy(&store);
    ob_store_destroy(&store);   /* safe twice */
    assert(store == NULL);

    store = ob_store_open(dir, OB_STORE_BROKER, 1, err, sizeof err);
    assert(store);
    rc = ob_store_begin(store, false, &txn);
    assert(rc == 0);
    ProtobufCMessage *msg = NULL;
    rc = ob_store_get_pb(txn, ob_store_dbi(store, OB_DB_ORDERS), "k1", 2,
                         &orderbus__v1__order_record__descriptor, &msg);
    assert(rc == 0);
    ob_record_t *back = (ob_record_t *) msg;
    assert(strcmp(back->order->title, "小区电梯长期故障") == 0);
    assert(back->state == ORDERBUS__V1__ORDER_STATE__STATE_DISPATCHED);
    protobuf_c_message_free_unpacked(msg, NULL);
    rc = ob_store_get_pb(txn, ob_store_dbi(store, OB_DB_ORDERS), "k2", 2,
                         &orderbus__v1__order_record__descriptor, &msg);
    assert(rc == MDB_NOTFOUND);
    uint64_t v = 1;
    rc = ob_store_meta_get_u64(store, txn, "journal_seq", &v);
    assert(rc == 0 && v == 77);
    rc = ob_store_meta_get_u64(store, txn, "absent", &v);
    assert(rc == 0 && v == 0);
    mdb_txn_abort(txn);
    ob_store_destroy(&store);
}

/* the map grows: fill a 1 MiB map until it is full, grow, carry on.
   Returns how many records fitted before the map was full. */
static int s_test_growth(const char *dir)
{
    char err[512];
    ob_store_t *store = ob_store_open(dir, OB_STORE_BROKER, 1, err, sizeof err);
    assert(store);
    MDB_txn *txn;
    int rc = 0;
    int written = 0;
    uint8_t blob[4000];
    memset(blob, 'x', sizeof blob);
    for (int round = 0; round < 1000 && rc != MDB_MAP_FULL; round++) {
        int brc = ob_store_begin(store, true, &txn);
        assert(brc == 0);
        for (int i = 0; i < 10; i++) {
            uint8_t key[8];
            ob_be64_put(key, (uint64_t) written);
            MDB_val k = {8, key}, val = {sizeof blob, blob};
            rc = mdb_put(txn, ob_store_dbi(store, OB_DB_JOURNAL), &k, &val, 0);
            if (rc)
                break;
            written++;
        }
        if (rc == MDB_MAP_FULL)
            mdb_txn_abort(txn);
        else {
            int crc = ob_store_commit(txn);
            assert(crc == 0);
        }
    }
    assert(rc == MDB_MAP_FULL);
    assert(ob_store_needs_growth(store));
    uint64_t used, before, after;
    ob_store_usage(store, &used, &before);
    for (int i = 0; i < 4; i++) {
        rc = ob_store_grow(store);
        assert(rc == 0);
    }
    ob_store_usage(store, &used, &after);
    assert(after == before * 16);
    rc = ob_store_begin(store, true, &txn);
    assert(rc == 0);
    uint8_t key[8];
    ob_be64_put(key, 999999);
    MDB_val k = {8, key}, val = {sizeof blob, blob};
    rc = mdb_put(txn, ob_store_dbi(store, OB_DB_JOURNAL), &k, &val, 0);
    assert(rc == 0);
    rc = ob_store_commit(txn);
    assert(rc == 0);
    ob_store_destroy(&store);
    return written;
}

/* the wrong kind and an unknown schema are refused with a clear message */
static void s_test_refusals(const char *dir)
{
    char err[512];
    ob_store_t *store = ob_store_open(dir, OB_STORE_NODE, 1, err, sizeof err);
    assert(store == NULL);
    assert(strstr(err, "is a broker store, not a node store"));
    store = ob_store_open(dir, OB_STORE_BROKER, 1, err, sizeof err);
    assert(store);
    MDB_txn *txn;
    int rc = ob_store_begin(store, true, &txn);
    assert(rc == 0);
    MDB_val sk = {6, (void *) "schema"}, sv = {8, (void *) "broker 9"};
    rc = mdb_put(txn, ob_store_dbi(store, OB_DB_META), &sk, &sv, 0);
    assert(rc == 0);
    rc = ob_store_commit(txn);
    assert(rc == 0);
    ob_store_destroy(&store);
    store = ob_store_open(dir, OB_STORE_BROKER, 1, err, sizeof err);
    assert(store == NULL);
    assert(strstr(err, "schema version 9"));
}

void ob_store_test(bool verbose)
{
    char dir[] = "/tmp/ob-store-test-XXXXXX";
    char *made = mkdtemp(dir);
    assert(made);
    s_test_reopen(dir);
    int written = s_test_growth(dir);
    s_test_refusals(dir);

    char path[600];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
    if (verbose)
        printf("store: %d records before map full ", written);
}
