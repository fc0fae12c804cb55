/*  node_opts.h — orderbus-node's settings: its flags and its YAML config
    file, read through one key table (ob_config_key_t), so a flag and a key
    of the file are parsed, range-checked and reported the same way.     */
#ifndef NODE_OPTS_H
#define NODE_OPTS_H

#include "ob_common.h"

/* Settings (strings borrowed from argv or the config file: keep the
   node_opts_t until the node is destroyed). */
typedef struct {
    const char *config;           /* --config FILE, NULL: none */
    const char *data_dir;         /* store, lock file and node.sock */
    const char *broker;           /* broker node-link endpoint */
    const char *broker_key;       /* file with the broker's public key */
    const char *key;              /* this node's keypair file */
    long heartbeat_ms;            /* heartbeat interval until the broker's Welcome
                                     gives its own (default 1000) */
    long map_mb;                  /* initial LMDB map size, 0: default */
    bool demo_auto;               /* demo auto-handling mode */
    uint64_t demo_seed;           /* PRNG seed for the demo agent */
    bool demo_seed_set;           /* demo_seed given (else random) */
    long demo_delay_ms[2];        /* demo delay range per step, MIN and MAX */
    long demo_return_pct;         /* % of first dispatches the demo returns */
    int log_level;                /* OB_LOG_*, -1: not set */

    void *file;                   /* the loaded config (ob_config_t), owned */
} node_opts_t;

/* Reads the flags and the config file they name into `opts` (defaults
   first, then the file, then the flags). Returns 0 to run, or a sysexits
   code with what was wrong already printed to stderr: EX_USAGE (bad flag),
   EX_CONFIG (bad config file or value), or -1 when --help or --version was
   answered (exit 0). */
int node_opts_parse(node_opts_t *opts, int argc, char **argv);

/* Frees what node_opts_parse loaded (safe twice). */
void node_opts_clear(node_opts_t *opts);

#endif
