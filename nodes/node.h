/*  node.h — the department node daemon (orderbus-node): its store
    (node_inbox), its link to the broker (node_link), its local service for
    the clerk CLI (node_local), the optional demo auto-handling agent
    (node_demo), and the one loop that drives them (STYLE habit 5): poll,
    drain readable sockets into ONE write transaction, commit, then send
    answers, acks and outbox messages, then run due timers.              */
#ifndef NODE_H
#define NODE_H

#include "ob_common.h"
#include "node_opts.h"
#include <signal.h>

typedef struct node node_t;

/* Opens the store, loads the keys, binds the local service, creates the
   broker link. `opts` is copied (its strings must outlive the node).
   Returns NULL with a message in err; *exit_code is set to a sysexits.h
   code saying what failed (EX_CONFIG, EX_CANTCREAT, EX_UNAVAILABLE,
   EX_TEMPFAIL when another node runs on the directory). */
node_t *node_new(const node_opts_t *opts, int *exit_code, char *err, size_t errlen);
void node_destroy(node_t **self_p);

/* Runs the loop until *stop becomes non-zero. Returns 0 on a clean stop,
   -1 when ZeroMQ itself failed. */
int node_run(node_t *self, volatile sig_atomic_t *stop);

#endif
