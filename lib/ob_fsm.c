/*  ob_fsm.c — the order lifecycle table and the printable enum names.

    The whole lifecycle is the table below; nothing else in orderbus decides
    whether an event may happen. Roles are a bit mask so a row says every
    role that may perform the event.                                        */
#include "ob_fsm.h"
#include <assert.h>
#include <ctype.h>
#include <strings.h>

#define S(x) ORDERBUS__V1__ORDER_STATE__STATE_##x
#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define R(x) (1u << ORDERBUS__V1__ROLE__ROLE_##x)

typedef struct {
    ob_state_t from;
    ob_event_t event;
    ob_state_t to;
    unsigned roles;
} s_transition_t;

static const s_transition_t s_table[] = {
    {S(REGISTERED), E(ROUTE), S(DISPATCHED), R(SYSTEM)},
    {S(REGISTERED), E(ROUTE_NONE), S(PENDING_MANUAL), R(SYSTEM)},
    {S(REGISTERED), E(REJECT), S(REJECTED), R(SYSTEM)},            /* 不予受理 by rule */
    {S(REGISTERED), E(TRANSFER_OUT), S(TRANSFERRED_OUT), R(SYSTEM)}, /* to another site / hotline */
    {S(PENDING_MANUAL), E(MANUAL_ROUTE), S(DISPATCHED), R(DISPATCHER) | R(OPS)},
    {S(DISPATCHED), E(MANUAL_ROUTE), S(DISPATCHED), R(DISPATCHER) | R(OPS)},
    {S(DISPATCHED), E(SIGN), S(IN_PROGRESS), R(DEPARTMENT) | R(CLERK)},
    {S(DISPATCHED), E(RETURN_REQUEST), S(RETURN_REQUESTED), R(DEPARTMENT) | R(CLERK)},
    {S(RETURN_REQUESTED), E(RETURN_APPROVE), S(DISPATCHED), R(DISPATCHER) | R(OPS)},
    {S(RETURN_REQUESTED), E(RETURN_DENY), S(DISPATCHED), R(DISPATCHER) | R(OPS)},
    {S(IN_PROGRESS), E(PROGRESS), S(IN_PROGRESS), R(DEPARTMENT) | R(CLERK)},
    {S(IN_PROGRESS), E(REPLY), S(REPLIED), R(DEPARTMENT) | R(CLERK)},
    {S(REPLIED), E(REVIEW_ACCEPT), S(PENDING_CALLBACK), R(DISPATCHER) | R(SUPERVISOR)},
    {S(REPLIED), E(REVIEW_REJECT), S(IN_PROGRESS), R(DISPATCHER) | R(SUPERVISOR)},
    {S(PENDING_CALLBACK), E(CALLBACK_OK), S(CLOSED), R(DISPATCHER)},
    {S(PENDING_CALLBACK), E(CALLBACK_REOPEN), S(REOPENED), R(DISPATCHER)},
    {S(REOPENED), E(REDISPATCH), S(DISPATCHED), R(DISPATCHER) | R(OPS) | R(SYSTEM)},
    {S(CLOSED), E(ARCHIVE), S(ARCHIVED), R(SYSTEM) | R(OPS)},
};

int ob_fsm_next(ob_state_t from, ob_event_t event, ob_role_t role, ob_state_t *to,
                ob_errcode_t *code, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        if (s_table[i].from != from || s_table[i].event != event)
            continue;
        if (!(s_table[i].roles & (1u << role))) {
            if (code)
                *code = ORDERBUS__V1__ERROR_CODE__ERR_FORBIDDEN;
            snprintf(err, errlen, "event '%s' in state '%s' may not be done by role '%s'",
                     ob_event_name(event), ob_state_name(from), ob_role_name(role));
            return -1;
        }
        *to = s_table[i].to;
        return 0;
    }
    if (code)
        *code = ORDERBUS__V1__ERROR_CODE__ERR_ILLEGAL_TRANSITION;
    snprintf(err, errlen, "event '%s' is not allowed in state '%s'", ob_event_name(event),
             ob_state_name(from));
    return -1;
}

bool ob_state_is_open(ob_state_t state)
{
    switch (state) {
    case S(CLOSED):
    case S(CLOSED_DIRECT):
    case S(REJECTED):
    case S(TRANSFERRED_OUT):
    case S(MERGED):
    case S(ARCHIVED):
    case S(RECALLED):
    case S(UNSPECIFIED):
        return false;
    default:
        return true;
    }
}

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

void ob_fsm_test(bool verbose)
{
    ob_state_t to;
    ob_errcode_t code;
    char err[160];
    /* the basic path */
    assert(ob_fsm_next(S(REGISTERED), E(ROUTE), ORDERBUS__V1__ROLE__ROLE_SYSTEM, &to, &code, err,
                       sizeof err) == 0 && to == S(DISPATCHED));
    assert(ob_fsm_next(S(DISPATCHED), E(SIGN), ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, &to, &code,
                       err, sizeof err) == 0 && to == S(IN_PROGRESS));
    assert(ob_fsm_next(S(IN_PROGRESS), E(REPLY), ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, &to, &code,
                       err, sizeof err) == 0 && to == S(REPLIED));
    assert(ob_fsm_next(S(REPLIED), E(REVIEW_REJECT), ORDERBUS__V1__ROLE__ROLE_DISPATCHER, &to,
                       &code, err, sizeof err) == 0 && to == S(IN_PROGRESS));
    assert(ob_fsm_next(S(PENDING_CALLBACK), E(CALLBACK_REOPEN),
                       ORDERBUS__V1__ROLE__ROLE_DISPATCHER, &to, &code, err, sizeof err) == 0
           && to == S(REOPENED));
    /* illegal: names the state and the event */
    assert(ob_fsm_next(S(REPLIED), E(SIGN), ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, &to, &code, err,
                       sizeof err) == -1);
    assert(code == ORDERBUS__V1__ERROR_CODE__ERR_ILLEGAL_TRANSITION);
    assert(strstr(err, "'SIGN'") && strstr(err, "'REPLIED'"));
    /* forbidden: a department cannot review its own reply */
    assert(ob_fsm_next(S(REPLIED), E(REVIEW_ACCEPT), ORDERBUS__V1__ROLE__ROLE_DEPARTMENT, &to,
                       &code, err, sizeof err) == -1);
    assert(code == ORDERBUS__V1__ERROR_CODE__ERR_FORBIDDEN);
    /* no return after signing (首办负责) */
    assert(ob_fsm_next(S(IN_PROGRESS), E(RETURN_REQUEST), ORDERBUS__V1__ROLE__ROLE_DEPARTMENT,
                       &to, &code, err, sizeof err) == -1);

    assert(strcmp(ob_state_name(S(IN_PROGRESS)), "IN_PROGRESS") == 0);
    assert(strcmp(ob_event_name(E(RETURN_APPROVE)), "RETURN_APPROVE") == 0);
    ob_state_t st;
    assert(ob_state_parse("in-progress", &st) == 0 && st == S(IN_PROGRESS));
    assert(ob_state_parse("STATE_CLOSED", &st) == 0 && st == S(CLOSED));
    assert(ob_state_parse("nonsense", &st) == -1);
    Orderbus__V1__Channel ch;
    assert(ob_channel_parse("wechat", &ch) == 0 && ch == ORDERBUS__V1__CHANNEL__CHANNEL_WECHAT);
    Orderbus__V1__Satisfaction sat;
    assert(ob_satisfaction_parse("basic", &sat) == 0
           && sat == ORDERBUS__V1__SATISFACTION__SATISFACTION_BASIC);
    assert(strcmp(ob_state_name((ob_state_t) 999), "?") == 0);
    assert(!ob_state_is_open(S(CLOSED)) && ob_state_is_open(S(REPLIED)));
    if (verbose)
        printf("fsm: %zu transitions ", sizeof s_table / sizeof s_table[0]);
}
