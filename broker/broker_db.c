/*  broker_db.c — the broker's LMDB schema (see broker_db.h): the database
    handles and the key builders.                                         */
#include "broker_db.h"
#include "ob_util.h"

MDB_dbi broker_db(ob_store_t *store, broker_db_t which)
{
    return ob_store_dbi(store, (int) which);
}

size_t broker_db_dept_key(uint8_t *key, ob_state_t state, const char *dept, const uint8_t *id)
{
    size_t dl = strlen(dept);
    if (dl >= OB_DEPT_MAX)
        dl = OB_DEPT_MAX - 1;
    key[0] = (uint8_t) state;
    memcpy(key + 1, dept, dl);
    key[1 + dl] = 0;
    memcpy(key + 2 + dl, id, OB_ID_BYTES);
    return 2 + dl + OB_ID_BYTES;
}

size_t broker_db_outbox_key(uint8_t *key, const char *dept, uint64_t seq)
{
    size_t dl = strnlen(dept, OB_DEPT_MAX - 1);
    memcpy(key, dept, dl);
    key[dl] = 0;
    ob_be64_put(key + dl + 1, seq);
    return dl + 9;
}

size_t broker_db_seen_key(uint8_t *key, const uint8_t *msg_id, const char *principal)
{
    size_t n = strnlen(principal, BROKER_DB_SEEN_KEY_MAX - OB_ID_BYTES - 1);
    memcpy(key, msg_id, OB_ID_BYTES);
    memcpy(key + OB_ID_BYTES, principal, n);
    return OB_ID_BYTES + n;
}

size_t broker_db_extref_key(uint8_t *key, size_t cap, const char *principal, const char *ref)
{
    size_t w = strnlen(principal, 127), r = strlen(ref);
    if (w + 1 + r > cap)
        r = cap - w - 1;   /* cannot happen: the field table caps the reference */
    memcpy(key, principal, w);
    key[w] = 0;
    memcpy(key + w + 1, ref, r);
    return w + 1 + r;
}

size_t broker_db_deadline_key(uint8_t *key, int64_t deadline_ms, const uint8_t *id)
{
    ob_be64_put(key, (uint64_t) deadline_ms);
    memcpy(key + 8, id, OB_ID_BYTES);
    return BROKER_DB_DEADLINE_KEY_LEN;
}

void broker_db_meta_key(char *out, size_t len, const char *what, const char *dept)
{
    snprintf(out, len, "%s/%s", what, dept);
}

void broker_db_instance_key(char *out, size_t len, const char *dept, const uint8_t *inst)
{
    char hex[OB_ID_HEX];
    snprintf(out, len, "in_seq/%s@%s", dept, ob_hex(hex, inst, OB_ID_BYTES));
}
