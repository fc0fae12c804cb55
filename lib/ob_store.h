/*  ob_store.h — one LMDB environment per stateful process, named databases,
    schema version, typed helpers for protobuf values, map growth.

    Broker databases (DESIGN §5):
      orders        id(16) -> OrderRecord
      journal       be64 seq -> JournalEntry (append-only)
      outbox        dept '\0' be64 seq -> OutboxItem   (messages to nodes)
      idx_dept      state(1) dept '\0' id(16) -> ""   (state + department index)
      idx_deadline  be64 ms id(16) -> kind(1)         (deadline index)
      idx_case      case_no -> id(16)
      seen          msg_id(16) -> SeenItem            (dedup of client requests)
      meta          name -> value (schema, counters, link seqs)
      principals    id -> Principal                    (registry: departments, clients)
      keys          public key(32) -> id
      idx_journal   order id(16) be64 seq -> ""         (an order's journal entries)
    Node databases:
      inbox         order id(16) -> NodeOrder
      outbox        be64 seq -> packed Envelope        (messages to the broker)
      seen          msg_id(16) -> be64 ms
      meta          name -> value

    Errors are LMDB codes (or errno values) passed up; ob_store_strerror
    names them. Nothing here aborts on what the disk holds.              */
#ifndef OB_STORE_H
#define OB_STORE_H

#include "ob_common.h"
#include <lmdb.h>

#define OB_SCHEMA_VERSION 1

typedef enum { OB_STORE_BROKER = 1, OB_STORE_NODE = 2 } ob_store_kind_t;

enum {  /* broker database indexes */
    OB_DB_ORDERS, OB_DB_JOURNAL, OB_DB_OUTBOX, OB_DB_IDX_DEPT, OB_DB_IDX_DEADLINE,
    OB_DB_IDX_CASE, OB_DB_SEEN, OB_DB_META, OB_DB_PRINCIPALS, OB_DB_KEYS,
    OB_DB_IDX_JOURNAL, OB_DB_IDX_EXTREF, OB_DB_DEAD, OB_DB_BROKER_COUNT
};
enum {  /* node database indexes */
    OB_NDB_INBOX, OB_NDB_OUTBOX, OB_NDB_SEEN, OB_NDB_META, OB_NDB_COUNT
};

typedef struct ob_store ob_store_t;

/* Opens (creating if absent) the store in directory `dir` (created 0700).
   map_mb is the initial map size (0: 256 MiB). A new store is stamped with
   kind and schema version; an existing one of another kind or an unknown
   schema version is refused with a message in err. NULL on failure. */
ob_store_t *ob_store_open(const char *dir, ob_store_kind_t kind, size_t map_mb,
                          char *err, size_t errlen);
void ob_store_destroy(ob_store_t **self_p);

/* Takes the daemon's lock on directory `dir` (created 0700 if absent):
   DIR/NAME.lock, flock'ed exclusively for as long as the returned file
   descriptor stays open, with the holder's pid written in it. Two daemons
   on one store would give out the same numbers and overwrite each other.
   Returns the fd, or -1 with err saying who holds it ("another
   orderbus-broker (pid 123) is running on 'DIR'") or what failed. */
int ob_store_lock(const char *dir, const char *name, char *err, size_t errlen);

MDB_env *ob_store_env(ob_store_t *self);
MDB_dbi  ob_store_dbi(ob_store_t *self, int db);
const char *ob_store_dir(ob_store_t *self);

/* Begins a transaction (write when `write`), adopting a map size grown by
   another process. Returns 0 or an LMDB code. */
int ob_store_begin(ob_store_t *self, bool write, MDB_txn **txn);

/* Commits; returns 0 or an LMDB code (the txn is gone either way). */
int ob_store_commit(MDB_txn *txn);

/* Doubles the map size (call with no transaction of this process open).
   Returns 0 or an LMDB code. */
int ob_store_grow(ob_store_t *self);

/* True when more than three quarters of the map are used: grow before the
   next batch rather than meet MDB_MAP_FULL inside it. */
bool ob_store_needs_growth(ob_store_t *self);

/* Bytes in use and map size, for status. */
void ob_store_usage(ob_store_t *self, uint64_t *used, uint64_t *mapsize);

/* meta helpers: a missing key reads as 0. */
int ob_store_meta_get_u64(ob_store_t *self, MDB_txn *txn, const char *key, uint64_t *out);
int ob_store_meta_put_u64(ob_store_t *self, MDB_txn *txn, const char *key, uint64_t v);

/* Reads a protobuf value: *out is unpacked (free with
   protobuf_c_message_free_unpacked(*out, NULL)). Returns 0, MDB_NOTFOUND,
   EBADMSG when the bytes do not unpack, or another LMDB code. */
int ob_store_get_pb(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t keylen,
                    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);

/* Writes a protobuf value, packed straight into the page (MDB_RESERVE).
   Returns 0 or an LMDB code. */
int ob_store_put_pb(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t keylen,
                    const ProtobufCMessage *msg);

/* mdb_put for keys that usually sort after every key of the database
   (time-ordered ids, sequence numbers): tries MDB_APPEND, which fills
   pages instead of splitting them in the middle, and falls back to a plain
   put when the key does not sort last. Same returns as mdb_put. */
int ob_store_put_append(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val,
                        unsigned flags);

/* ob_store_put_pb with ob_store_put_append. */
int ob_store_put_pb_append(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t keylen,
                           const ProtobufCMessage *msg);

/* Message for an LMDB code or errno. */
const char *ob_store_strerror(int rc);

/* Says what a store error means for an operator, into buf: when the disk
   holding the store is full (ENOSPC, or an I/O error or full map with
   under 1 MiB free there: LMDB reports a partial write as EIO) "the disk
   holding 'DIR' is full (N KiB free)"; otherwise ob_store_strerror(rc).
   Returns buf. */
const char *ob_store_describe(ob_store_t *self, int rc, char *buf, size_t len);

void ob_store_test(bool verbose);

#endif
