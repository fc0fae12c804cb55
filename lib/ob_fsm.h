/*  ob_fsm.h — the order lifecycle (DESIGN §2): one table of
    (state, event) -> (next state, roles allowed), and the printable names of
    every enum on the wire. The broker, the node and the CLI all ask here.  */
#ifndef OB_FSM_H
#define OB_FSM_H

#include "ob_common.h"

/* Looks up the transition for `event` in `from` done by `role`. Returns 0
   and sets *to, or -1 with a message naming the state and the event
   ("event 'SIGN' is not allowed in state 'REPLIED'", or "... may not be
   done by role 'DEPARTMENT'") in err, and *code set to ERR_ILLEGAL_TRANSITION
   or ERR_FORBIDDEN. */
int ob_fsm_next(ob_state_t from, ob_event_t event, ob_role_t role, ob_state_t *to,
                ob_errcode_t *code, char *err, size_t errlen);

/* True for states in which an order is still being handled (not CLOSED,
   CLOSED_DIRECT, REJECTED, TRANSFERRED_OUT, MERGED, ARCHIVED, RECALLED). */
bool ob_state_is_open(ob_state_t state);

/* Printable names without the wire prefix ("DISPATCHED", "SIGN",
   "DEPARTMENT", "RESOLVED", "SATISFIED", "PHONE", "COMPLAINT", "URGENT"),
   "?" for unknown values. Parsers accept any case, with or without the
   prefix, and '-' for '_'; return 0 or -1 when the name is unknown. */
const char *ob_state_name(ob_state_t v);
const char *ob_event_name(ob_event_t v);
const char *ob_role_name(ob_role_t v);
const char *ob_result_name(Orderbus__V1__ReplyResult v);
const char *ob_satisfaction_name(Orderbus__V1__Satisfaction v);
const char *ob_channel_name(Orderbus__V1__Channel v);
const char *ob_appeal_name(Orderbus__V1__AppealType v);
const char *ob_urgency_name(Orderbus__V1__Urgency v);
const char *ob_transport_name(Orderbus__V1__TransportState v);

int ob_state_parse(const char *name, ob_state_t *out);
int ob_role_parse(const char *name, ob_role_t *out);
int ob_result_parse(const char *name, Orderbus__V1__ReplyResult *out);
int ob_satisfaction_parse(const char *name, Orderbus__V1__Satisfaction *out);
int ob_channel_parse(const char *name, Orderbus__V1__Channel *out);
int ob_appeal_parse(const char *name, Orderbus__V1__AppealType *out);
int ob_urgency_parse(const char *name, Orderbus__V1__Urgency *out);

/* Generic: name of `value` in enum `desc` with `prefix` stripped. */
const char *ob_enum_name(const ProtobufCEnumDescriptor *desc, int value, const char *prefix);
int ob_enum_parse(const ProtobufCEnumDescriptor *desc, const char *prefix, const char *name,
                  int *out);

void ob_fsm_test(bool verbose);

#endif
