/*  node_demo.h — demo auto-handling mode (--demo-auto): an agent that plays
    the department's clerk for demos and tests. It is clearly a demo: every
    log line it causes says "demo auto-handling mode".

    For each order that arrives DISPATCHED it waits a random delay, then
    either requests a return (a share of first dispatches, once per order,
    with a Chinese reason) or signs; after signing it reports progress, then
    replies (RESOLVED mostly, sometimes EXPLAINED), each after a random
    delay; an order sent back for rework gets progress and a reply again.
    It only produces node_action_t values (it never writes the store;
    node_inbox records its returns): the node applies them through the
    same path as the clerk's requests. After a restart the schedule is
    rebuilt from the inbox so nothing stalls.                               */
#ifndef NODE_DEMO_H
#define NODE_DEMO_H

#include "ob_common.h"
#include "node_inbox.h"

typedef struct node_demo node_demo_t;

/* Delay range in ms per step, return share in percent (0..100). */
node_demo_t *node_demo_new(uint64_t seed, int min_ms, int max_ms, int return_pct);
void node_demo_destroy(node_demo_t **self_p);

/* Schedules steps for every open DISPATCHED / IN_PROGRESS order in the
   inbox. Returns 0 or an LMDB code. */
int node_demo_rebuild(node_demo_t *self, node_inbox_t *inbox);

/* Tells the agent where an order stands after a committed change (`event`
   caused it: ROUTE for a Dispatch, a Decision's event, or the department
   action; UNSPECIFIED when unknown). Schedules its next step or forgets it. */
void node_demo_note(node_demo_t *self, const uint8_t id[OB_ID_BYTES], ob_state_t state,
                    uint32_t attempt, ob_event_t event);

/* Moves up to `max` due steps into `out` (notes are static strings).
   Returns how many. */
size_t node_demo_take_due(node_demo_t *self, node_action_t *out, size_t max);

/* Puts back a step that could not be applied (store error): retried later. */
void node_demo_defer(node_demo_t *self, const node_action_t *action);

/* Milliseconds until the next step is due (-1: nothing scheduled). */
int node_demo_next_timer_ms(node_demo_t *self);

/* Steps scheduled (for logs and tests). */
size_t node_demo_pending(node_demo_t *self);

#endif
