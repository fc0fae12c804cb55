/*  ob_keys.h — Curve keypairs in files (czmq zcert format: NAME holds the
    public key, NAME_secret the secret one, mode 0600), loaded into
    sodium_malloc memory and wiped on destroy.                             */
#ifndef OB_KEYS_H
#define OB_KEYS_H

#include "ob_common.h"

#define OB_KEY_BYTES 32
#define OB_Z85_LEN   40

typedef struct {
    uint8_t public_key[OB_KEY_BYTES];
    uint8_t secret_key[OB_KEY_BYTES];
    char public_z85[OB_Z85_LEN + 1];
    char secret_z85[OB_Z85_LEN + 1];
    bool has_secret;
} ob_keypair_t;

/* Writes a new keypair to `path` (public) and `path`_secret (secret, 0600),
   with `name` as metadata. Refuses to overwrite. Returns 0 or -1 with err. */
int ob_keys_generate(const char *path, const char *name, char *err, size_t errlen);

/* Loads `path` (and `path`_secret if present and readable). Returns a
   sodium_malloc'd keypair (destroy with ob_keys_destroy) or NULL with err.
   `need_secret` refuses a file without its secret half. */
ob_keypair_t *ob_keys_load(const char *path, bool need_secret, char *err, size_t errlen);
void ob_keys_destroy(ob_keypair_t **self_p);

void ob_keys_test(bool verbose);

#endif
