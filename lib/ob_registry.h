/*  ob_registry.h — the registry of principals and their keys, kept in a
    broker store: who a Curve public key is (a department or a client with
    a role), for the broker's ZAP handler, its client service and its node
    link, and for `orderbus admin`.

    Two databases of the broker store (broker/broker_db.h has the schema):
      principals  principal id (text)   -> Principal (id, name, role, key, added)
      keys        Curve public key (32) -> principal id
    A principal has one key and a key one principal. Every call works inside
    the caller's transaction; errors are LMDB codes (EBADMSG: an entry that
    does not decode).                                                      */
#ifndef OB_REGISTRY_H
#define OB_REGISTRY_H

#include "ob_common.h"
#include "ob_store.h"

/* Adds principal `id` with `name`, `role` and `public_key` (OB_KEY_BYTES).
   Returns 0; MDB_KEYEXIST when the id or the key is registered already
   (*taken_by, when given, is set to the principal that holds the key, or
   to `id` itself); or an LMDB code. */
int ob_registry_add(ob_store_t *store, MDB_txn *txn, const char *id, const char *name,
                    ob_role_t role, const uint8_t *public_key, char *taken_by, size_t taken_len);

/* The principal `id`: 0 with *out (free with
   orderbus__v1__principal__free_unpacked), MDB_NOTFOUND, EBADMSG, or an
   LMDB code. */
int ob_registry_get(ob_store_t *store, MDB_txn *txn, const char *id,
                    Orderbus__V1__Principal **out);

/* The id of the principal whose key is `public_key`, into id (NUL-ended,
   at most idlen - 1 bytes). 0, MDB_NOTFOUND, or an LMDB code. */
int ob_registry_id_of_key(ob_store_t *store, MDB_txn *txn, const uint8_t *public_key,
                          char *id, size_t idlen);

/* The role of principal `id`, ROLE_UNSPECIFIED when it is not registered. */
ob_role_t ob_registry_role(ob_store_t *store, MDB_txn *txn, const char *id);

/* Calls fn for every principal, in id order (stops when fn returns
   non-zero, and returns that). 0 or an LMDB code. An entry that does not
   decode is passed as NULL. */
typedef int ob_registry_visit_fn(void *arg, const Orderbus__V1__Principal *principal);
int ob_registry_each(ob_store_t *store, MDB_txn *txn, ob_registry_visit_fn *fn, void *arg);

void ob_registry_test(bool verbose);

#endif
