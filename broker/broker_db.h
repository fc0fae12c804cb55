/*  broker_db.h — the broker's LMDB schema: every database and every key
    layout, in one place. Every other file of broker/ reaches its store
    through broker_db() and the key builders here; this file is the only
    caller of ob_store_dbi().

    The store is an ob_store of kind OB_STORE_BROKER (lib/ob_store.c opens
    the named databases). Integers in keys are 8 bytes big-endian, so keys
    sort in number order; ids are 16 bytes (ob_id_new: time-ordered).

      orders        id (16)                      -> OrderRecord
      journal       seq (8)                      -> JournalEntry (append-only)
      idx_journal   id (16) seq (8)              -> "" : an order's entries
      outbox        dept '\0' seq (8)            -> OutboxItem: the department's
                                                    numbered stream, until confirmed
      dead          dept '\0' seq (8)            -> DeadLetter (broker_dead.c)
      idx_dept      state (1) dept '\0' id (16)  -> "" : orders by state, department
      idx_deadline  deadline ms (8) id (16)      -> state (1): the deadline each
                                                    open order waits on
      idx_case      case number (text)           -> id (16)
      idx_extref    principal id '\0' external_ref -> id (16): an intake's
                                                    reference, per client
      seen          msg id (16) principal id     -> SeenItem: a state-changing
                                                    request applied (7 days)
      principals    principal id (text)          -> Principal (role, name, key)
      keys          Curve public key (32)        -> principal id
      meta          text                         -> value:
                    "journal_seq"                   u64, the last journal seq
                    "case/YYYYMMDD"                 u64, the day's last case serial
                    "in_seq/DEPT"                   u64, the highest act applied from
                                                    the department's bound instance
                    "out_seq/DEPT", "acked_seq/DEPT" u64, its outbound stream
                    "instance/DEPT"                 16 bytes, the node instance bound
                    "in_seq/DEPT@INSTANCE-HEX"      u64, a displaced instance's in_seq
                    (ob_store's own stamp: kind and schema version)            */
#ifndef BROKER_DB_H
#define BROKER_DB_H

#include "ob_common.h"
#include "ob_store.h"

typedef enum {
    BROKER_DB_ORDERS = OB_DB_ORDERS,
    BROKER_DB_JOURNAL = OB_DB_JOURNAL,
    BROKER_DB_IDX_JOURNAL = OB_DB_IDX_JOURNAL,
    BROKER_DB_OUTBOX = OB_DB_OUTBOX,
    BROKER_DB_DEAD = OB_DB_DEAD,
    BROKER_DB_IDX_DEPT = OB_DB_IDX_DEPT,
    BROKER_DB_IDX_DEADLINE = OB_DB_IDX_DEADLINE,
    BROKER_DB_IDX_CASE = OB_DB_IDX_CASE,
    BROKER_DB_IDX_EXTREF = OB_DB_IDX_EXTREF,
    BROKER_DB_SEEN = OB_DB_SEEN,
    BROKER_DB_PRINCIPALS = OB_DB_PRINCIPALS,
    BROKER_DB_KEYS = OB_DB_KEYS,
    BROKER_DB_META = OB_DB_META,
} broker_db_t;

/* The handle of database `which` of `store`. */
MDB_dbi broker_db(ob_store_t *store, broker_db_t which);

/* Key builders: each writes the key into `key` (sized for the largest) and
   returns its length. */
#define BROKER_DB_DEPT_KEY_MAX (2 + OB_DEPT_MAX + OB_ID_BYTES)
size_t broker_db_dept_key(uint8_t *key, ob_state_t state, const char *dept, const uint8_t *id);
#define BROKER_DB_OUTBOX_KEY_MAX (OB_DEPT_MAX + 9)
size_t broker_db_outbox_key(uint8_t *key, const char *dept, uint64_t seq);
#define BROKER_DB_SEEN_KEY_MAX (OB_ID_BYTES + 128)
size_t broker_db_seen_key(uint8_t *key, const uint8_t *msg_id, const char *principal);
size_t broker_db_extref_key(uint8_t *key, size_t cap, const char *principal, const char *ref);
#define BROKER_DB_DEADLINE_KEY_LEN (8 + OB_ID_BYTES)
size_t broker_db_deadline_key(uint8_t *key, int64_t deadline_ms, const uint8_t *id);
/* meta "WHAT/DEPT", and "in_seq/DEPT@INSTANCE-HEX" */
void broker_db_meta_key(char *out, size_t len, const char *what, const char *dept);
void broker_db_instance_key(char *out, size_t len, const char *dept, const uint8_t *inst);

#endif
