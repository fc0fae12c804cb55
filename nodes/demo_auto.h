/*  demo_auto.h — demo auto-handling mode (--demo-auto): an agent that plays
    the department's clerk for demos and tests. It is clearly a demo: every
    log line it causes says "demo auto-handling mode".

    For each order that arrives DISPATCHED it waits a random delay, then
    either requests a return (a share of first dispatches, once per order,
    with a Chinese reason) or signs; after signing it reports progress, then
    replies (RESOLVED mostly, sometimes EXPLAINED), each after a random
    delay; an order sent back for rework gets progress and a reply again.
    It only produces ob_action_t values: the node applies them through the
    same path as the clerk's requests. After a restart the schedule is
    rebuilt from the inbox so nothing stalls.                               */
#ifndef OB_DEMO_AUTO_H
#define OB_DEMO_AUTO_H

#include "ob_common.h"
#include "ob_store.h"
#include "ob_node.h"

typedef struct ob_demo ob_demo_t;

/* Delay range in ms per step, return share in percent (0..100). */
ob_demo_t *ob_demo_new(uint64_t seed, int min_ms, int max_ms, int return_pct);
void ob_demo_destroy(ob_demo_t **self_p);

/* Schedules steps for every open DISPATCHED / IN_PROGRESS order in the
   inbox. Returns 0 or an LMDB code. */
int ob_demo_rebuild(ob_demo_t *self, ob_store_t *store);

/* Tells the agent where an order stands after a committed change (`event`
   caused it: ROUTE for a Dispatch, a Decision's event, or the department
   action; UNSPECIFIED when unknown). Schedules its next step or forgets it. */
void ob_demo_note(ob_demo_t *self, const uint8_t id[OB_ID_BYTES], ob_state_t state,
                  uint32_t attempt, ob_event_t event);

/* Moves up to `max` due steps into `out` (notes are static strings).
   Returns how many. */
size_t ob_demo_take_due(ob_demo_t *self, ob_action_t *out, size_t max);

/* Puts back a step that could not be applied (store error): retried later. */
void ob_demo_defer(ob_demo_t *self, const ob_action_t *action);

/* Records inside txn that the demo requested a return for this order, so
   it never returns it twice, across restarts. Returns 0 or an LMDB code. */
int ob_demo_mark_returned(ob_demo_t *self, ob_store_t *store, MDB_txn *txn,
                          const uint8_t id[OB_ID_BYTES]);

/* Milliseconds until the next step is due (-1: nothing scheduled). */
int ob_demo_next_timer_ms(ob_demo_t *self);

/* Steps scheduled (for logs and tests). */
size_t ob_demo_pending(ob_demo_t *self);

#endif
