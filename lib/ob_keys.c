/*  ob_keys.c — CurveZMQ keypairs in files.

    The file format is czmq's zcert: `NAME` is a ZPL file holding the public
    key (Z85) and metadata, `NAME_secret` holds both keys and is mode 0600.
    czmq reads and writes the files; this module adds the checks a daemon
    needs before it trusts a key (file present, secret half present when it
    is required, halves that belong together), refuses to overwrite keys,
    and copies the keys into sodium_malloc memory that is wiped on destroy.
    czmq's own copies are wiped before zcert_destroy.                      */
#include <czmq.h>
#include <sodium.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ob_keys.h"
#include "ob_text.h"
#include "ob_util.h"
#include "ob_selftest.h"

/* czmq builds "<path>_secret" in a 256-byte buffer: stay well inside it. */
#define OB_KEY_PATH_MAX 200
#define OB_KEY_NAME_MAX 128
#define OB_KEY_FILE_MAX (64 * 1024)

/* Wipes the secret inside a zcert (czmq does not) and destroys it. */
static void s_cert_destroy(zcert_t **cert_p)
{
    if (!cert_p || !*cert_p)
        return;
    zcert_t *cert = *cert_p;
    byte *secret = (byte *) zcert_secret_key(cert);
    char *secret_txt = (char *) zcert_secret_txt(cert);
    sodium_memzero(secret, OB_KEY_BYTES);
    sodium_memzero(secret_txt, strlen(secret_txt));
    zcert_destroy(cert_p);
}

/* True when all `len` bytes of `p` are zero (czmq's "no secret key"). */
static bool s_all_zero(const uint8_t *p, size_t len)
{
    return sodium_is_zero(p, len) == 1;
}

/* True for the characters czmq's ZPL reader accepts in a name. */
static bool s_zpl_namechar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || strchr("$-_@.&+/", c) != NULL;
}

/* Checks that `text` is well-formed ZPL line by line, the way zconfig will
   read it, without building anything. zconfig reports a syntax error by
   printing the offending line to stdout (zclock_log, not silenceable), and
   in a key file that line may hold key material; so nothing malformed is
   ever handed to it. Returns true when every line is blank, a comment,
   `name` or `name = value`, indented by 4 spaces a level. */
static bool s_zpl_well_formed(const char *text)
{
    int prev_level = -1;
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        const char *end = eol ? eol : line + strlen(line);
        const char *next = eol ? eol + 1 : end;
        if (end > line && end[-1] == '\r')
            end--;
        for (const char *c = line; c < end; c++)
            if (((unsigned char) *c < 0x20 && *c != '\t') || *c == 0x7f)
                return false;
        const char *p = line;
        while (p < end && *p == ' ')
            p++;
        if (p == end || *p == '#') {
            line = next;
            continue;
        }
        size_t indent = (size_t) (p - line);
        int level = (int) (indent / 4);
        if (indent % 4 != 0 || level > prev_level + 1 || !s_zpl_namechar(*p))
            return false;
        prev_level = level;
        while (p < end && s_zpl_namechar(*p))
            p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p == '=') {
            p++;
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p < end && (*p == '"' || *p == '\'')) {
                const char *close = (const char *) memchr(p + 1, *p, (size_t) (end - p - 1));
                if (!close)
                    return false;
                p = close + 1;
                while (p < end && (*p == ' ' || *p == '\t'))
                    p++;
                if (p < end && *p != '#')
                    return false;
            }
        }
        else if (p < end && *p != '#')
            return false;
        line = next;
    }
    return true;
}

/* Reads `path` whole (capped at OB_KEY_FILE_MAX) into a malloc'd string and
   checks it is well-formed ZPL text. Returns it, or NULL with err. */
static char *s_read_zpl(const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read key file '%s': %s", path, strerror(errno));
        return NULL;
    }
    text = (char *) malloc(OB_KEY_FILE_MAX + 1);
    size_t len = text ? fread(text, 1, OB_KEY_FILE_MAX + 1, f) : 0;
    bool read_err = ferror(f) != 0;
    fclose(f);
    if (!text || read_err) {
        snprintf(err, errlen, "cannot read key file '%s'", path);
        goto fail;
    }
    if (len > OB_KEY_FILE_MAX) {
        snprintf(err, errlen, "key file '%s' is larger than %d bytes", path, OB_KEY_FILE_MAX);
        goto fail;
    }
    text[len] = '\0';
    if (strlen(text) != len || !ob_text_utf8_valid(text, len) || !s_zpl_well_formed(text)) {
        snprintf(err, errlen, "key file '%s' is not a certificate (not ZPL text)", path);
        goto fail;
    }
    return text;
fail:
    if (text) {
        sodium_memzero(text, OB_KEY_FILE_MAX + 1);
        free(text);
    }
    return NULL;
}

/* Reads the Z85 public key of the ZPL file `path` into `key`, without
   looking at the secret file. Returns 0, or -1 with err. */
static int s_read_public(const char *path, uint8_t key[OB_KEY_BYTES], char *err, size_t errlen)
{
    int rc = -1;
    zconfig_t *root = NULL;
    char *text = s_read_zpl(path, err, errlen);
    if (!text)
        goto out;
    root = zconfig_str_load(text);
    if (!root) {
        snprintf(err, errlen, "key file '%s' is not a certificate (ZPL syntax error)", path);
        goto out;
    }
    const char *txt = zconfig_get(root, "/curve/public-key", NULL);
    if (!txt || strlen(txt) != OB_Z85_LEN || !zmq_z85_decode(key, txt)) {
        snprintf(err, errlen, "key file '%s' has no valid curve public-key", path);
        goto out;
    }
    rc = 0;
out:
    zconfig_destroy(&root);
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    return rc;
}

/* Checks `path` for generation: must be a sane path and must not exist. */
static int s_check_new_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        snprintf(err, errlen, "key file '%s' already exists, not overwriting it", path);
        return -1;
    }
    if (errno != ENOENT) {
        snprintf(err, errlen, "cannot create key file '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Creates `path` empty with `mode` and O_EXCL, so that a file appearing
   between the check and the write is not overwritten either, and the
   secret file never exists with a wider mode. */
static int s_create_excl(const char *path, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            snprintf(err, errlen, "key file '%s' already exists, not overwriting it", path);
        else
            snprintf(err, errlen, "cannot create key file '%s': %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static int s_check_path(const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        snprintf(err, errlen, "key file path is empty");
        return -1;
    }
    if (strlen(path) > OB_KEY_PATH_MAX) {
        snprintf(err, errlen, "key file path is longer than %d bytes", OB_KEY_PATH_MAX);
        return -1;
    }
    return 0;
}

/* Writes a new keypair: `path` (public, 0644) and `path`_secret (0600),
   with `name` (may be NULL) as metadata. Refuses to overwrite either file;
   on failure removes what it created. Returns 0, or -1 with err. */
int ob_keys_generate(const char *path, const char *name, char *err, size_t errlen)
{
    int rc = -1;
    zcert_t *cert = NULL;
    bool made_public = false, made_secret = false;
    char secret_path[OB_KEY_PATH_MAX + 16];

    if (s_check_path(path, err, errlen) < 0)
        goto out;
    snprintf(secret_path, sizeof secret_path, "%s_secret", path);
    if (name) {
        size_t nlen = strlen(name);
        if (nlen == 0 || nlen > OB_KEY_NAME_MAX) {
            snprintf(err, errlen, "key name must be 1 to %d bytes", OB_KEY_NAME_MAX);
            goto out;
        }
        for (size_t i = 0; i < nlen; i++)
            if ((unsigned char) name[i] < 0x20 || name[i] == 0x7f || name[i] == '"') {
                snprintf(err, errlen, "key name contains a control character or quote");
                goto out;
            }
    }
    if (s_check_new_file(path, err, errlen) < 0 || s_check_new_file(secret_path, err, errlen) < 0)
        goto out;

    cert = zcert_new();
    if (!cert) {
        snprintf(err, errlen, "cannot generate a curve keypair (is libzmq built with CURVE?)");
        goto out;
    }
    if (name)
        zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "created-by", "orderbus %s", OB_VERSION_STRING);

    if (s_create_excl(secret_path, 0600, err, errlen) < 0)
        goto out;
    made_secret = true;
    if (s_create_excl(path, 0644, err, errlen) < 0)
        goto out;
    made_public = true;
    if (zcert_save(cert, path) != 0) {
        snprintf(err, errlen, "cannot write key file '%s': %s", path,
                 errno ? strerror(errno) : "write failed");
        goto out;
    }
    /* czmq's fopen("w") kept the mode of the file created above; make sure. */
    if (chmod(secret_path, 0600) != 0) {
        snprintf(err, errlen, "cannot set mode 0600 on key file '%s': %s", secret_path,
                 strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        if (made_public)
            unlink(path);
        if (made_secret)
            unlink(secret_path);
    }
    s_cert_destroy(&cert);
    return rc;
}

/* Loads `path` (public) and `path`_secret when present and readable.
   Errors: the public file missing or unreadable ("cannot read key file"),
   not a certificate, the secret file present but not matching the public
   file, or (need_secret) no readable secret file. */
ob_keypair_t *ob_keys_load(const char *path, bool need_secret, char *err, size_t errlen)
{
    ob_keypair_t *self = NULL;
    zcert_t *cert = NULL;
    uint8_t file_public[OB_KEY_BYTES];
    char secret_path[OB_KEY_PATH_MAX + 16];

    if (s_check_path(path, err, errlen) < 0)
        goto fail;
    snprintf(secret_path, sizeof secret_path, "%s_secret", path);

    /* Unreadable or missing public file: say why, in the system's words. */
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read key file '%s': %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        snprintf(err, errlen, "key file '%s' is not a regular file", path);
        goto fail;
    }
    fclose(f);
    if (s_read_public(path, file_public, err, errlen) < 0)
        goto fail;

    bool secret_readable = access(secret_path, R_OK) == 0;
    int secret_errno = secret_readable ? 0 : errno;
    if (!secret_readable && need_secret) {
        if (secret_errno == ENOENT)
            snprintf(err, errlen, "key file '%s' has no secret key", path);
        else
            snprintf(err, errlen, "key file '%s' has no secret key: cannot read '%s': %s", path,
                     secret_path, strerror(secret_errno));
        goto fail;
    }

    self = (ob_keypair_t *) sodium_malloc(sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of secure memory loading key file '%s'", path);
        goto fail;
    }
    memset(self, 0, sizeof *self);
    memcpy(self->public_key, file_public, OB_KEY_BYTES);
    if (!zmq_z85_encode(self->public_z85, self->public_key, OB_KEY_BYTES)) {
        snprintf(err, errlen, "cannot encode the public key of '%s'", path);
        goto fail;
    }

    if (secret_readable) {
        char *secret_text = s_read_zpl(secret_path, err, errlen);
        if (!secret_text)
            goto fail;
        sodium_memzero(secret_text, strlen(secret_text));
        free(secret_text);
        /* zcert_load reads NAME_secret first when it exists. */
        cert = zcert_load(path);
        if (!cert) {
            snprintf(err, errlen, "key file '%s' is not a certificate", secret_path);
            goto fail;
        }
        const byte *pub = zcert_public_key(cert);
        const byte *sec = zcert_secret_key(cert);
        if (s_all_zero(sec, OB_KEY_BYTES)) {
            if (need_secret) {
                snprintf(err, errlen, "key file '%s' has no secret key", path);
                goto fail;
            }
        }
        else {
            uint8_t derived[OB_KEY_BYTES];
            if (crypto_scalarmult_base(derived, sec) != 0
                || sodium_memcmp(derived, pub, OB_KEY_BYTES) != 0
                || sodium_memcmp(pub, file_public, OB_KEY_BYTES) != 0) {
                snprintf(err, errlen, "key file '%s' does not belong to '%s'", secret_path, path);
                goto fail;
            }
            memcpy(self->secret_key, sec, OB_KEY_BYTES);
            if (!zmq_z85_encode(self->secret_z85, self->secret_key, OB_KEY_BYTES)) {
                snprintf(err, errlen, "cannot encode the secret key of '%s'", path);
                goto fail;
            }
            self->has_secret = true;
        }
        s_cert_destroy(&cert);
    }
    return self;

fail:
    s_cert_destroy(&cert);
    ob_keys_destroy(&self);
    return NULL;
}

/* Wipes and frees a keypair; safe on NULL and twice. */
void ob_keys_destroy(ob_keypair_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        sodium_memzero(*self_p, sizeof **self_p);
        sodium_free(*self_p);
        *self_p = NULL;
    }
}

/* --- self-test ------------------------------------------------------------ */

static void s_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    assert(in);
    FILE *out = fopen(to, "wb");
    assert(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        size_t wrote = fwrite(buf, 1, n, out);
        assert(wrote == n);
    }
    fclose(in);
    fclose(out);
}

static void s_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert(f);
    size_t wrote = fwrite(text, 1, strlen(text), f);
    assert(wrote == strlen(text));
    fclose(f);
}

static bool s_file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    assert(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

void ob_keys_test(bool verbose)
{
    char err[512];
    char dir[] = "/tmp/ob_keys_test.XXXXXX";
    char *made = mkdtemp(dir);
    assert(made);
    char path[256], secret_path[256], pub_only[256], other[256], garbage[256], mixed[256];
    ob_fmt(path, sizeof path, "%s/broker.key", dir);
    ob_fmt(secret_path, sizeof secret_path, "%s_secret", path);
    ob_fmt(pub_only, sizeof pub_only, "%s/public-only.key", dir);
    ob_fmt(other, sizeof other, "%s/other.key", dir);
    ob_fmt(garbage, sizeof garbage, "%s/garbage.key", dir);
    ob_fmt(mixed, sizeof mixed, "%s/mixed.key", dir);

    /* generate: two files, the secret one 0600, the public one without the secret */
    int rc = ob_keys_generate(path, "市热线中心 broker", err, sizeof err);
    assert(rc == 0);
    struct stat st;
    rc = stat(secret_path, &st);
    assert(rc == 0);
    assert((st.st_mode & 0777) == 0600);
    rc = stat(path, &st);
    assert(rc == 0);

    /* load with the secret */
    ob_keypair_t *full = ob_keys_load(path, true, err, sizeof err);
    assert(full);
    assert(full->has_secret);
    assert(strlen(full->public_z85) == OB_Z85_LEN);
    assert(strlen(full->secret_z85) == OB_Z85_LEN);
    assert(!s_all_zero(full->secret_key, OB_KEY_BYTES));
    uint8_t derived[OB_KEY_BYTES];
    assert(crypto_scalarmult_base(derived, full->secret_key) == 0);
    assert(memcmp(derived, full->public_key, OB_KEY_BYTES) == 0);
    assert(s_file_contains(path, full->public_z85));
    assert(!s_file_contains(path, full->secret_z85));
    assert(s_file_contains(secret_path, full->secret_z85));
    assert(s_file_contains(path, "broker"));

    /* public file alone: loads without secret, refused when the secret is needed */
    s_copy_file(path, pub_only);
    ob_keypair_t *pub = ob_keys_load(pub_only, false, err, sizeof err);
    assert(pub);
    assert(!pub->has_secret);
    assert(memcmp(pub->public_key, full->public_key, OB_KEY_BYTES) == 0);
    assert(strcmp(pub->public_z85, full->public_z85) == 0);
    assert(s_all_zero(pub->secret_key, OB_KEY_BYTES));
    assert(pub->secret_z85[0] == '\0');
    ob_keys_destroy(&pub);
    ob_keys_destroy(&pub);            /* safe twice */
    assert(pub == NULL);
    ob_keypair_t *loaded = ob_keys_load(pub_only, true, err, sizeof err);
    assert(loaded == NULL);
    char want[512];
    ob_fmt(want, sizeof want, "key file '%s' has no secret key", pub_only);
    assert(strcmp(err, want) == 0);

    /* a loaded secret file still comes back with need_secret false */
    ob_keypair_t *again = ob_keys_load(path, false, err, sizeof err);
    assert(again && again->has_secret);
    assert(memcmp(again->secret_key, full->secret_key, OB_KEY_BYTES) == 0);
    ob_keys_destroy(&again);

    /* refuse to overwrite: keys unchanged afterwards */
    rc = ob_keys_generate(path, "again", err, sizeof err);
    assert(rc == -1);
    assert(strstr(err, "already exists"));
    again = ob_keys_load(path, true, err, sizeof err);
    assert(again && memcmp(again->public_key, full->public_key, OB_KEY_BYTES) == 0);
    ob_keys_destroy(&again);
    /* ... even when only the secret half is in the way */
    char lone[256], lone_secret[256];
    ob_fmt(lone, sizeof lone, "%s/lone.key", dir);
    ob_fmt(lone_secret, sizeof lone_secret, "%s_secret", lone);
    s_write_file(lone_secret, "precious\n");
    rc = ob_keys_generate(lone, NULL, err, sizeof err);
    assert(rc == -1);
    assert(strstr(err, "already exists"));
    rc = access(lone, F_OK);
    assert(rc != 0);
    assert(s_file_contains(lone_secret, "precious"));

    /* missing file */
    char missing[256];
    ob_fmt(missing, sizeof missing, "%s/missing.key", dir);
    loaded = ob_keys_load(missing, false, err, sizeof err);
    assert(loaded == NULL);
    ob_fmt(want, sizeof want, "cannot read key file '%s': No such file or directory", missing);
    assert(strcmp(err, want) == 0);

    /* garbage, and a directory: refused before czmq sees them (zconfig would
       print the bad line to stdout) */
    s_write_file(garbage, "this is \"not\" a certificate\n\x01\xff\n  = = =\n");
    loaded = ob_keys_load(garbage, false, err, sizeof err);
    assert(loaded == NULL);
    assert(strstr(err, garbage) && strstr(err, "not a certificate"));
    assert(!s_zpl_well_formed("curve\n        public-key = \"x\"\n"));   /* level jump */
    assert(!s_zpl_well_formed("curve\n   public-key = \"x\"\n"));       /* 3 spaces */
    assert(!s_zpl_well_formed("curve\n    public-key = \"x\n"));         /* open quote */
    assert(!s_zpl_well_formed("curve\n    public-key = \"x\" y\n"));     /* after value */
    assert(s_zpl_well_formed("#  c\n\ncurve\n    public-key = \"x\"  # k\r\n    n = 1\n"));
    /* a broken secret half is refused too, and not echoed */
    char broken[256], broken_secret[256];
    ob_fmt(broken, sizeof broken, "%s/broken.key", dir);
    ob_fmt(broken_secret, sizeof broken_secret, "%s_secret", broken);
    s_copy_file(path, broken);
    s_write_file(broken_secret, "curve\n    secret-key = \"unterminated\n");
    loaded = ob_keys_load(broken, false, err, sizeof err);
    assert(loaded == NULL);
    assert(strstr(err, broken_secret) && strstr(err, "not a certificate"));
    s_write_file(garbage, "curve\n    public-key = \"tooshort\"\n");
    loaded = ob_keys_load(garbage, false, err, sizeof err);
    assert(loaded == NULL);
    assert(strstr(err, "public-key"));
    loaded = ob_keys_load(dir, false, err, sizeof err);
    assert(loaded == NULL);

    /* halves that do not belong together */
    rc = ob_keys_generate(other, "other", err, sizeof err);
    assert(rc == 0);
    char other_secret[256], mixed_secret[256];
    ob_fmt(other_secret, sizeof other_secret, "%s_secret", other);
    ob_fmt(mixed_secret, sizeof mixed_secret, "%s_secret", mixed);
    s_copy_file(path, mixed);
    s_copy_file(other_secret, mixed_secret);
    loaded = ob_keys_load(mixed, true, err, sizeof err);
    assert(loaded == NULL);
    assert(strstr(err, "does not belong"));

    /* bad arguments are errors, not crashes */
    loaded = ob_keys_load("", false, err, sizeof err);
    assert(loaded == NULL);
    rc = ob_keys_generate(lone, "bad\nname", err, sizeof err);
    assert(rc == -1);

    if (verbose)
        printf("keys: %s ", full->public_z85);
    ob_keys_destroy(&full);

    const char *files[] = {path,    secret_path, pub_only,     other,       other_secret,
                           garbage, mixed,       mixed_secret, lone_secret,
                           broken,  broken_secret};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rc = rmdir(dir);
    assert(rc == 0);
}
