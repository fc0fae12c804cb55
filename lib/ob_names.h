/*  ob_names.h — printable names of the wire enums, and their parsers.
    Not the lifecycle (ob_fsm): these only turn values into words and back. */
#ifndef OB_NAMES_H
#define OB_NAMES_H

#include "ob_common.h"

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

void ob_names_test(bool verbose);

#endif
