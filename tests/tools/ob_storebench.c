/*  ob_storebench.c — the floor under `make bench`: what one durable LMDB
    commit costs on this disk, measured the way orderbus commits (default
    flags: the data pages synced, then the meta page written through LMDB's
    O_DSYNC descriptor).

    Two figures, each over a fresh environment in DIR:
      - one 1 KiB record per commit, one commit after the other: the latency
        floor of one durable step (an order's path has two of them in
        series, broker then node, before the node's Received);
      - 256 records of 1 KiB per commit: the throughput floor of group
        commit for one writer.

    Usage: ob_storebench DIR [--commits N]                                   */
#include "ob_common.h"
#include "ob_util.h"
#include <getopt.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Runs `commits` commits of `per` records into a new environment under
   dir/name; prints the figures. Returns 0 or an LMDB code. */
static int s_run(const char *dir, const char *name, size_t commits, size_t per)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "ob_storebench: cannot create '%s': %s\n", path, strerror(errno));
        return errno;
    }
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    uint64_t *lat = calloc(commits, sizeof *lat);
    uint8_t value[1024];
    memset(value, 'x', sizeof value);
    int rc = lat ? mdb_env_create(&env) : ENOMEM;
    if (!rc)
        rc = mdb_env_set_mapsize(env, (size_t) 1 << 30);
    if (!rc)
        rc = mdb_env_open(env, path, MDB_NOTLS, 0600);
    if (!rc)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (!rc) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    uint64_t t0 = ob_mono_us(), key = 0;
    for (size_t c = 0; !rc && c < commits; c++) {
        uint64_t start = ob_mono_us();
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        for (size_t i = 0; !rc && i < per; i++) {
            uint8_t k[8];
            ob_be64_put(k, ++key);
            MDB_val kv = {8, k}, vv = {sizeof value, value};
            rc = mdb_put(txn, dbi, &kv, &vv, MDB_APPEND);
        }
        if (!rc)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        txn = NULL;
        lat[c] = ob_mono_us() - start;
    }
    uint64_t elapsed = ob_mono_us() - t0;
    if (!rc) {
        qsort(lat, commits, sizeof *lat, s_cmp_u64);
        printf("store floor: %zu record%s of 1 KiB per durable commit: p50 %.3f ms, "
               "p99 %.3f ms a commit; %.0f records/s\n",
               per, per == 1 ? "" : "s", (double) lat[(commits - 1) / 2] / 1000.0,
               (double) lat[(commits - 1) * 99 / 100] / 1000.0,
               (double) (commits * per) * 1e6 / (double) (elapsed ? elapsed : 1));
    } else
        fprintf(stderr, "ob_storebench: %s\n", mdb_strerror(rc));
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    free(lat);
    char file[4200];
    snprintf(file, sizeof file, "%s/data.mdb", path);
    unlink(file);
    snprintf(file, sizeof file, "%s/lock.mdb", path);
    unlink(file);
    rmdir(path);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"commits", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long commits = 2000;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'n') {
            char *end = NULL;
            commits = strtol(optarg, &end, 10);
            if (!end || *end || commits < 10 || commits > 1000000) {
                fprintf(stderr, "ob_storebench: '--commits' wants a number from 10 to 1000000\n");
                return EX_USAGE;
            }
        } else {
            fprintf(c == 'h' ? stdout : stderr, "usage: ob_storebench DIR [--commits N]\n");
            return c == 'h' ? 0 : EX_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: ob_storebench DIR [--commits N]\n");
        return EX_USAGE;
    }
    const char *dir = argv[optind];
    if (s_run(dir, "one", (size_t) commits, 1) || s_run(dir, "batch", (size_t) commits / 10, 256))
        return 1;
    return 0;
}
