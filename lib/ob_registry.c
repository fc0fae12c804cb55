/*  ob_registry.c — principals and their keys in a broker store. See
    ob_registry.h.                                                         */
#include "ob_registry.h"
#include "ob_keys.h"
#include "ob_util.h"

int ob_registry_add(ob_store_t *store, MDB_txn *txn, const char *id, const char *name,
                    ob_role_t role, const uint8_t *public_key, char *taken_by, size_t taken_len)
{
    MDB_dbi principals = ob_store_dbi(store, OB_DB_PRINCIPALS);
    MDB_dbi keys = ob_store_dbi(store, OB_DB_KEYS);
    MDB_val k = {strlen(id), (void *) id}, v;
    int rc = mdb_get(txn, principals, &k, &v);
    if (rc == 0) {
        if (taken_by)
            snprintf(taken_by, taken_len, "%s", id);
        return MDB_KEYEXIST;
    }
    MDB_val kk = {OB_KEY_BYTES, (void *) public_key};
    rc = rc == MDB_NOTFOUND ? mdb_get(txn, keys, &kk, &v) : rc;
    if (rc == 0) {
        if (taken_by)
            snprintf(taken_by, taken_len, "%.*s", (int) v.mv_size, (const char *) v.mv_data);
        return MDB_KEYEXIST;
    }
    if (rc != MDB_NOTFOUND)
        return rc;
    Orderbus__V1__Principal p = ORDERBUS__V1__PRINCIPAL__INIT;
    p.id = (char *) id;
    p.name = (char *) name;
    p.role = role;
    p.public_key.data = (uint8_t *) public_key;
    p.public_key.len = OB_KEY_BYTES;
    p.added_at_ms = ob_now_ms();
    MDB_val idv = {strlen(id), (void *) id};
    rc = ob_store_put_pb(txn, principals, id, strlen(id), (ProtobufCMessage *) &p);
    return rc ? rc : mdb_put(txn, keys, &kk, &idv, MDB_NOOVERWRITE);
}

int ob_registry_get(ob_store_t *store, MDB_txn *txn, const char *id,
                    Orderbus__V1__Principal **out)
{
    ProtobufCMessage *msg = NULL;
    *out = NULL;
    if (!id || !*id)
        return MDB_NOTFOUND;
    int rc = ob_store_get_pb(txn, ob_store_dbi(store, OB_DB_PRINCIPALS), id, strlen(id),
                             &orderbus__v1__principal__descriptor, &msg);
    if (rc == 0)
        *out = (Orderbus__V1__Principal *) msg;
    return rc;
}

int ob_registry_id_of_key(ob_store_t *store, MDB_txn *txn, const uint8_t *public_key,
                          char *id, size_t idlen)
{
    MDB_val k = {OB_KEY_BYTES, (void *) public_key}, v;
    int rc = mdb_get(txn, ob_store_dbi(store, OB_DB_KEYS), &k, &v);
    if (rc)
        return rc;
    if (v.mv_size >= idlen)
        return MDB_BAD_VALSIZE;
    memcpy(id, v.mv_data, v.mv_size);
    id[v.mv_size] = '\0';
    return 0;
}

ob_role_t ob_registry_role(ob_store_t *store, MDB_txn *txn, const char *id)
{
    Orderbus__V1__Principal *p = NULL;
    if (ob_registry_get(store, txn, id, &p) != 0)
        return ORDERBUS__V1__ROLE__ROLE_UNSPECIFIED;
    ob_role_t role = p->role;
    orderbus__v1__principal__free_unpacked(p, NULL);
    return role;
}

int ob_registry_each(ob_store_t *store, MDB_txn *txn, ob_registry_visit_fn *fn, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ob_store_dbi(store, OB_DB_PRINCIPALS), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Orderbus__V1__Principal *p = orderbus__v1__principal__unpack(NULL, v.mv_size, v.mv_data);
        int stop = fn(arg, p);
        if (p)
            orderbus__v1__principal__free_unpacked(p, NULL);
        if (stop) {
            rc = stop;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- self-test ------------------------------------------------------------- */
#include "ob_selftest.h"
#include <unistd.h>

static int s_count(void *arg, const Orderbus__V1__Principal *p)
{
    (*(int *) arg) += p != NULL;
    return 0;
}

void ob_registry_test(bool verbose)
{
    char dir[] = "/tmp/ob_registry_test.XXXXXX", err[256], who[64];
    char *made = mkdtemp(dir);
    assert(made);
    ob_store_t *store = ob_store_open(dir, OB_STORE_BROKER, 1, err, sizeof err);
    assert(store);
    MDB_txn *txn;
    int rc = ob_store_begin(store, true, &txn);
    assert(rc == 0);
    uint8_t k1[OB_KEY_BYTES], k2[OB_KEY_BYTES];
    memset(k1, 1, sizeof k1);
    memset(k2, 2, sizeof k2);
    rc = ob_registry_add(store, txn, "housing", "市住房和城乡建设局",
                         ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, k1, who, sizeof who);
    assert(rc == 0);
    rc = ob_registry_add(store, txn, "housing", "x", ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, k2, who,
                         sizeof who);
    assert(rc == MDB_KEYEXIST && strcmp(who, "housing") == 0);
    rc = ob_registry_add(store, txn, "d1", "张三", ORDERBUS__V1__ROLE__ROLE_DISPATCHER, k1, who,
                         sizeof who);
    assert(rc == MDB_KEYEXIST && strcmp(who, "housing") == 0);   /* the key is housing's */
    rc = ob_registry_add(store, txn, "d1", "张三", ORDERBUS__V1__ROLE__ROLE_DISPATCHER, k2, who,
                         sizeof who);
    assert(rc == 0);
    rc = ob_registry_id_of_key(store, txn, k2, who, sizeof who);
    assert(rc == 0 && strcmp(who, "d1") == 0);
    assert(ob_registry_role(store, txn, "d1") == ORDERBUS__V1__ROLE__ROLE_DISPATCHER);
    assert(ob_registry_role(store, txn, "nobody") == ORDERBUS__V1__ROLE__ROLE_UNSPECIFIED);
    Orderbus__V1__Principal *p = NULL;
    rc = ob_registry_get(store, txn, "housing", &p);
    assert(rc == 0 && strcmp(p->name, "市住房和城乡建设局") == 0);
    orderbus__v1__principal__free_unpacked(p, NULL);
    int n = 0;
    rc = ob_registry_each(store, txn, s_count, &n);
    assert(rc == 0 && n == 2);
    mdb_txn_abort(txn);
    ob_store_destroy(&store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    rc = system(cmd);
    assert(rc == 0);
    if (verbose)
        printf("add, refuse a taken id or key, look up ");
}
