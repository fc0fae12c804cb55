/*  ob_names.c — printable names of the wire enums and their parsers (not
    the lifecycle: that is ob_fsm).                                         */
#include "ob_names.h"
#include "ob_selftest.h"
#include <ctype.h>
#include <strings.h>

const char *ob_enum_name(const ProtobufCEnumDescriptor *desc, int value, const char *prefix)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    if (!v)
        return "?";
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen && strncasecmp(v->name, prefix, plen) == 0)
        return v->name + plen;
    return v->name;
}

int ob_enum_parse(const ProtobufCEnumDescriptor *desc, const char *prefix, const char *name,
                  int *out)
{
    if (!name || !*name)
        return -1;
    char want[64];
    size_t plen = prefix ? strlen(prefix) : 0;
    size_t nlen = strlen(name);
    if (nlen >= sizeof want)
        return -1;
    for (size_t i = 0; i <= nlen; i++)
        want[i] = name[i] == '-' ? '_' : (char) toupper((unsigned char) name[i]);
    for (unsigned i = 0; i < desc->n_values; i++) {
        const char *full = desc->values[i].name;
        const char *bare = plen && strncmp(full, prefix, plen) == 0 ? full + plen : full;
        if (strcmp(want, full) == 0 || strcmp(want, bare) == 0) {
            *out = desc->values[i].value;
            return 0;
        }
    }
    return -1;
}

#define NAME_FN(fn, type, desc, prefix)                                                  \
    const char *fn(type v) { return ob_enum_name(&desc, (int) v, prefix); }
NAME_FN(ob_state_name, ob_state_t, orderbus__v1__order_state__descriptor, "STATE_")
NAME_FN(ob_event_name, ob_event_t, orderbus__v1__order_event__descriptor, "EVENT_")
NAME_FN(ob_role_name, ob_role_t, orderbus__v1__role__descriptor, "ROLE_")
NAME_FN(ob_result_name, Orderbus__V1__ReplyResult, orderbus__v1__reply_result__descriptor,
        "RESULT_")
NAME_FN(ob_satisfaction_name, Orderbus__V1__Satisfaction,
        orderbus__v1__satisfaction__descriptor, "SATISFACTION_")
NAME_FN(ob_channel_name, Orderbus__V1__Channel, orderbus__v1__channel__descriptor, "CHANNEL_")
NAME_FN(ob_appeal_name, Orderbus__V1__AppealType, orderbus__v1__appeal_type__descriptor,
        "APPEAL_")
NAME_FN(ob_urgency_name, Orderbus__V1__Urgency, orderbus__v1__urgency__descriptor, "URGENCY_")
NAME_FN(ob_transport_name, Orderbus__V1__TransportState,
        orderbus__v1__transport_state__descriptor, "TRANSPORT_")

#define PARSE_FN(fn, type, desc, prefix)                                                 \
    int fn(const char *name, type *out)                                                  \
    {                                                                                    \
        int v;                                                                           \
        if (ob_enum_parse(&desc, prefix, name, &v) < 0)                                  \
            return -1;                                                                   \
        *out = (type) v;                                                                 \
        return 0;                                                                        \
    }
PARSE_FN(ob_state_parse, ob_state_t, orderbus__v1__order_state__descriptor, "STATE_")
PARSE_FN(ob_role_parse, ob_role_t, orderbus__v1__role__descriptor, "ROLE_")
PARSE_FN(ob_result_parse, Orderbus__V1__ReplyResult, orderbus__v1__reply_result__descriptor,
         "RESULT_")
PARSE_FN(ob_satisfaction_parse, Orderbus__V1__Satisfaction,
         orderbus__v1__satisfaction__descriptor, "SATISFACTION_")
PARSE_FN(ob_channel_parse, Orderbus__V1__Channel, orderbus__v1__channel__descriptor, "CHANNEL_")
PARSE_FN(ob_appeal_parse, Orderbus__V1__AppealType, orderbus__v1__appeal_type__descriptor,
         "APPEAL_")
PARSE_FN(ob_urgency_parse, Orderbus__V1__Urgency, orderbus__v1__urgency__descriptor, "URGENCY_")

void ob_names_test(bool verbose)
{
    assert(strcmp(ob_state_name(ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS), "IN_PROGRESS") == 0);
    assert(strcmp(ob_event_name(ORDERBUS__V1__ORDER_EVENT__EVENT_RETURN_APPROVE), "RETURN_APPROVE")
           == 0);
    ob_state_t st = ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED;
    int rc = ob_state_parse("in-progress", &st);
    assert(rc == 0 && st == ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS);
    rc = ob_state_parse("STATE_CLOSED", &st);
    assert(rc == 0 && st == ORDERBUS__V1__ORDER_STATE__STATE_CLOSED);
    rc = ob_state_parse("nonsense", &st);
    assert(rc == -1);
    rc = ob_state_parse("", &st);
    assert(rc == -1);
    Orderbus__V1__Channel ch = ORDERBUS__V1__CHANNEL__CHANNEL_UNSPECIFIED;
    rc = ob_channel_parse("wechat", &ch);
    assert(rc == 0 && ch == ORDERBUS__V1__CHANNEL__CHANNEL_WECHAT);
    Orderbus__V1__Satisfaction sat = ORDERBUS__V1__SATISFACTION__SATISFACTION_UNSPECIFIED;
    rc = ob_satisfaction_parse("basic", &sat);
    assert(rc == 0 && sat == ORDERBUS__V1__SATISFACTION__SATISFACTION_BASIC);
    assert(strcmp(ob_state_name((ob_state_t) 999), "?") == 0);
    if (verbose)
        printf("names ");
}
