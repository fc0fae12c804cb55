/*  cmd_admin.c — the ops commands: `keys new` writes a Curve keypair, and
    `admin` registers departments and clients in the broker's registry by
    opening the broker's LMDB store directly (LMDB allows it while the
    broker runs; the broker reads the registry on every ZAP request).

    The registry is two databases written in one transaction:
      principals  id -> Principal{id, name, role, public_key, added_at_ms}
      keys        public key (32 bytes) -> id
    A duplicate id, or a key already registered under another id, is
    refused: one key is one identity.                                      */
#include "cli.h"
#include "ob_registry.h"
#include "ob_fsm.h"
#include "ob_keys.h"
#include "ob_store.h"
#include "ob_util.h"
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_NAME_MAX 256

/* ---- keys ------------------------------------------------------------------- */

static const char s_keys_usage[] =
    "usage: orderbus keys new PATH [--name NAME]\n"
    "\n"
    "Writes a new Curve keypair: PATH holds the public key, PATH_secret the secret\n"
    "one (mode 0600). NAME (default: PATH's file name) is stored as metadata.\n"
    "Existing files are never overwritten.\n";

int cmd_keys(const cli_opts_t *opts, int argc, char **argv)
{
    static const char cmd[] = "keys";
    const char *name = NULL;
    char err[512], namebuf[256];
    const cli_option_t spec[] = {CLI_OPT_STRING("name", &name), CLI_OPT_END()};
    int rc = cli_parse(cmd, s_keys_usage, spec, &argc, &argv);
    if (rc != 0)
        return cli_parsed(rc);
    if (argc < 1)
        return cli_usage_error(cmd, "missing subcommand: keys new PATH");
    if (strcmp(argv[0], "new") != 0)
        return cli_usage_error(cmd, "unknown subcommand '%s' (only 'new')", argv[0]);
    if (argc < 2)
        return cli_usage_error(cmd, "missing PATH");
    if (argc > 2)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[2]);
    const char *path = argv[1];
    if (!name) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", path);
        snprintf(namebuf, sizeof namebuf, "%s", basename(tmp));
        name = namebuf;
    }
    if (ob_keys_generate(path, name, err, sizeof err) < 0) {
        fprintf(stderr, "orderbus: %s\n", err);
        return strstr(err, "exist") ? CLI_REFUSED : EX_CANTCREAT;
    }
    ob_keypair_t *keys = ob_keys_load(path, false, err, sizeof err);
    if (opts->json) {
        char sp[4200];
        snprintf(sp, sizeof sp, "%s_secret", path);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "public", path, "secret", sp, "name",
                              name, "public_key", keys ? keys->public_z85 : "");
        cli_print_json(o, false);
    }
    else {
        printf("wrote %s (public) and %s_secret (secret)\n", path, path);
        if (keys)
            printf("public key %s\n", keys->public_z85);
    }
    ob_keys_destroy(&keys);
    return 0;
}

/* ---- admin ------------------------------------------------------------------ */

static const char s_admin_usage[] =
    "usage: orderbus admin add-department ID --name NAME --key FILE --store DIR\n"
    "       orderbus admin add-client NAME --role dispatcher|supervisor|ops --key FILE\n"
    "                                 --store DIR\n"
    "       orderbus admin list --store DIR [--json]\n"
    "\n"
    "Registers keys with the broker: DIR is the broker's data directory (its LMDB\n"
    "store, opened directly; this works while the broker runs). FILE is the public\n"
    "key file written by 'orderbus keys new'. A department's node may then connect\n"
    "to the node link, a client's CLI to the client service.\n"
    "  ID, NAME     1 to 63 characters: letters, digits, '.', '_', '-'\n";

/* Ids go into LMDB keys, ZAP User-Ids, event topics and logs. */
static bool s_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= OB_DEPT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
                  || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return id[0] != '-' && id[0] != '.';
}

/* Opens the broker's store in `dir`; `create` allows a new one. */
static ob_store_t *s_open_store(const char *dir, bool create, int *rc)
{
    char err[512];
    struct stat st;
    if (!create && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "orderbus: broker store '%s' does not exist\n", dir);
        *rc = EX_NOINPUT;
        return NULL;
    }
    char data[4200];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    bool fresh = access(data, F_OK) != 0;
    ob_store_t *store = ob_store_open(dir, OB_STORE_BROKER, 0, err, sizeof err);
    if (!store) {
        fprintf(stderr, "orderbus: %s\n", err);
        *rc = EX_CANTCREAT;
    } else if (fresh)   /* said, so that a mistyped --store does not go unnoticed */
        fprintf(stderr, "orderbus: created a new broker store in '%s'\n", dir);
    return store;
}

/* Registers one principal. Returns an exit code. */
static int s_add(const char *store_dir, const char *id, const char *name, ob_role_t role,
                 const char *key_path, bool json)
{
    char err[512];
    int rc = EX_SOFTWARE, lrc;
    ob_keypair_t *keys = NULL;
    ob_store_t *store = NULL;
    MDB_txn *txn = NULL;

    if (access(key_path, F_OK) != 0) {
        fprintf(stderr, "orderbus: key file '%s' does not exist\n", key_path);
        return EX_NOINPUT;
    }
    keys = ob_keys_load(key_path, false, err, sizeof err);
    if (!keys) {
        fprintf(stderr, "orderbus: %s\n", err);
        return EX_DATAERR;
    }
    store = s_open_store(store_dir, true, &rc);
    if (!store)
        goto out;
    if ((lrc = ob_store_begin(store, true, &txn)) != 0) {
        fprintf(stderr, "orderbus: cannot write to store '%s': %s\n", store_dir,
                ob_store_strerror(lrc));
        rc = EX_IOERR;
        goto out;
    }
    char taken[OB_DEPT_MAX + 1];
    lrc = ob_registry_add(store, txn, id, name, role, keys->public_key, taken, sizeof taken);
    if (lrc == MDB_KEYEXIST && strcmp(taken, id) == 0) {
        fprintf(stderr, "orderbus: principal '%s' is already registered\n", id);
        rc = CLI_REFUSED;
        goto out;
    }
    if (lrc == MDB_KEYEXIST) {
        fprintf(stderr, "orderbus: the key in '%s' is already registered as '%s'\n", key_path,
                taken);
        rc = CLI_REFUSED;
        goto out;
    }
    if (lrc != 0) {
        fprintf(stderr, "orderbus: cannot write to store '%s': %s\n", store_dir,
                ob_store_strerror(lrc));
        rc = EX_IOERR;
        goto out;
    }
    lrc = ob_store_commit(txn);
    txn = NULL;
    if (lrc != 0) {
        fprintf(stderr, "orderbus: cannot commit to store '%s': %s\n", store_dir,
                ob_store_strerror(lrc));
        rc = EX_IOERR;
        goto out;
    }
    if (json) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "registered", id, "name", name, "role",
                                ob_role_name(role), "public_key", keys->public_z85);
        rc = cli_print_json(doc, false);
    } else {
        printf("registered %s '%s' (%s) with key %s\n",
               role == ORDERBUS__V1__ROLE__ROLE_DEPARTMENT ? "department" : "client", id,
               ob_role_name(role), keys->public_z85);
        rc = 0;
    }
out:
    if (txn)
        mdb_txn_abort(txn);
    ob_store_destroy(&store);
    ob_keys_destroy(&keys);
    return rc;
}

/* Prints the registry. Returns an exit code. */
/* One principal of `admin list`, into the table or the JSON array. */
typedef struct {
    bool json;
    cli_table_t *table;
    json_t *arr;
} s_listing_t;

static int s_list_one(void *arg, const Orderbus__V1__Principal *p)
{
    s_listing_t *l = arg;
    if (!p) {
        fprintf(stderr, "orderbus: warning: a registry entry does not unpack: skipped\n");
        return 0;
    }
    char z85[OB_Z85_LEN + 1] = "-", added[40];
    if (p->public_key.len == OB_KEY_BYTES)
        zmq_z85_encode(z85, p->public_key.data, OB_KEY_BYTES);
    cli_time(added, sizeof added, p->added_at_ms);
    if (l->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", p->id, "role",
                              ob_role_name(p->role), "name", p->name, "public_key", z85,
                              "added_at_ms", (json_int_t) p->added_at_ms);
        if (o)
            json_array_append_new(l->arr, o);
    } else {
        const char *cells[5] = {p->id, ob_role_name(p->role), p->name, z85, added};
        cli_table_add(l->table, cells);
    }
    return 0;
}

static int s_list(const char *store_dir, bool json)
{
    int rc = EX_SOFTWARE, lrc;
    ob_store_t *store = s_open_store(store_dir, false, &rc);
    MDB_txn *txn = NULL;
    if (!store)
        return rc;
    static const char *const headers[] = {"id", "role", "name", "public key", "added"};
    s_listing_t l = {json, cli_table_new(5, headers), json_array()};
    if (!l.table || !l.arr) {
        rc = EX_OSERR;
        goto out;
    }
    cli_table_align(l.table, 2, false, 30);
    if ((lrc = ob_store_begin(store, false, &txn)) != 0
        || (lrc = ob_registry_each(store, txn, s_list_one, &l)) != 0) {
        fprintf(stderr, "orderbus: cannot read store '%s': %s\n", store_dir,
                ob_store_strerror(lrc));
        rc = EX_IOERR;
        goto out;
    }
    if (json) {
        rc = cli_print_json(l.arr, false);
        l.arr = NULL;
    } else {
        cli_table_print(l.table, stdout);
        rc = 0;
    }
out:
    if (txn)
        mdb_txn_abort(txn);
    json_decref(l.arr);
    cli_table_destroy(&l.table);
    ob_store_destroy(&store);
    return rc;
}

int cmd_admin(const cli_opts_t *opts, int argc, char **argv)
{
    static const char cmd[] = "admin";
    const char *name = NULL, *key = NULL, *store = NULL, *role_s = NULL;
    bool json = opts->json;
    const cli_option_t spec[] = {CLI_OPT_STRING("name", &name), CLI_OPT_STRING("key", &key),
                                 CLI_OPT_STRING("store", &store), CLI_OPT_STRING("role", &role_s),
                                 CLI_OPT_BOOL("json", &json), CLI_OPT_END()};
    int rc = cli_parse(cmd, s_admin_usage, spec, &argc, &argv);
    if (rc != 0)
        return cli_parsed(rc);
    if (argc < 1)
        return cli_usage_error(cmd, "missing subcommand: add-department, add-client or list");
    const char *sub = argv[0];
    int npos = argc - 1;
    if (!store)
        return cli_usage_error(cmd, "missing --store DIR (the broker's data directory)");

    if (strcmp(sub, "list") == 0) {
        if (npos > 0)
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
        if (name || key || role_s)
            return cli_usage_error(cmd, "list takes only --store");
        return s_list(store, json);
    }
    bool dept = strcmp(sub, "add-department") == 0;
    if (!dept && strcmp(sub, "add-client") != 0)
        return cli_usage_error(cmd, "unknown subcommand '%s' (add-department, add-client, "
                                    "list)", sub);
    if (npos < 1)
        return cli_usage_error(cmd, "missing %s", dept ? "ID" : "NAME");
    if (npos > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[2]);
    const char *id = argv[1];
    if (!s_id_valid(id))
        return cli_usage_error(cmd, "'%s' is not a valid %s: 1 to %d letters, digits, '.', '_' "
                                    "or '-'", id, dept ? "department id" : "client name",
                               OB_DEPT_MAX - 1);
    if (!key)
        return cli_usage_error(cmd, "missing --key FILE (a public key file)");
    ob_role_t role;
    if (dept) {
        if (role_s)
            return cli_usage_error(cmd, "add-department takes no --role");
        if (!name || !*name)
            return cli_usage_error(cmd, "missing --name NAME (the department's display name)");
        role = ORDERBUS__V1__ROLE__ROLE_DEPARTMENT;
    }
    else {
        if (!role_s)
            return cli_usage_error(cmd, "missing --role dispatcher|supervisor|ops");
        if (ob_role_parse(role_s, &role) < 0
            || (role != ORDERBUS__V1__ROLE__ROLE_DISPATCHER
                && role != ORDERBUS__V1__ROLE__ROLE_SUPERVISOR
                && role != ORDERBUS__V1__ROLE__ROLE_OPS))
            return cli_usage_error(cmd, "--role must be dispatcher, supervisor or ops, not '%s'",
                                   role_s);
        if (!name)
            name = id;
    }
    if (!ob_utf8_valid(name, strlen(name)) || strlen(name) > S_NAME_MAX)
        return cli_usage_error(cmd, "--name must be valid UTF-8 of at most %d bytes",
                               S_NAME_MAX);
    return s_add(store, id, name, role, key, json);
}
