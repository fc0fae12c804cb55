/*  broker_effects.c — what a batch sends once it has committed: answers to
    clients, messages to nodes, events on the stream. Kept in memory during
    the batch, sent by broker_effects_send() after the commit, dropped by
    broker_effects_clear() when the batch is aborted: nothing leaves the
    broker that a commit has not made durable.                             */
#include "broker.h"
#include "ob_util.h"
#include "ob_log.h"

int broker_effect_add_raw(broker_t *self, int kind, const uint8_t *rid, size_t rid_len,
                          const char *topic, uint8_t *data, size_t len)
{
    if (self->neffects == self->capeffects) {
        size_t cap = self->capeffects ? self->capeffects * 2 : 256;
        broker_effect_t *e = realloc(self->effects, cap * sizeof *e);
        if (!e) {
            free(data);
            return ENOMEM;
        }
        self->effects = e;
        self->capeffects = cap;
    }
    broker_effect_t *e = &self->effects[self->neffects++];
    e->kind = kind;
    e->rid_len = rid ? rid_len : 0;
    if (rid)
        memcpy(e->rid, rid, rid_len);
    snprintf(e->topic, sizeof e->topic, "%s", topic ? topic : "");
    e->data = data;
    e->len = len;
    return 0;
}

int broker_effect_add(broker_t *self, int kind, const uint8_t *rid, size_t rid_len,
                      const char *topic, const ob_envelope_t *env)
{
    uint8_t *buf;
    size_t len;
    if (ob_wire_pack(env, &buf, &len) < 0)
        return ENOMEM;
    if (len > OB_MAX_FRAME && env->body_case == ORDERBUS__V1__ENVELOPE__BODY_ANSWER) {
        /* never sent: the peer could not read it. The limit table and the
           pages keep every answer under the cap; this says so if not. */
        free(buf);
        char msg[200];
        snprintf(msg, sizeof msg, "the answer would be %zu bytes, over the %d byte frame cap: "
                 "this is a bug, please report it", len, OB_MAX_FRAME);
        ob_error("%s", msg);
        ob_answer_t small = ORDERBUS__V1__ANSWER__INIT;
        small.code = ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE;
        small.message = msg;
        small.ref_msg_id = env->answer->ref_msg_id;
        ob_envelope_t e = *env;
        e.answer = &small;
        if (ob_wire_pack(&e, &buf, &len) < 0)
            return ENOMEM;
    }
    return broker_effect_add_raw(self, kind, rid, rid_len, topic, buf, len);
}

void broker_effects_clear(broker_t *self)
{
    for (size_t i = 0; i < self->neffects; i++)
        free(self->effects[i].data);
    self->neffects = 0;
}

void broker_effects_send(broker_t *self)
{
    for (size_t i = 0; i < self->neffects; i++) {
        broker_effect_t *e = &self->effects[i];
        /* the buffers pass to ZeroMQ as they are (no copy) */
        uint8_t *data = e->data;
        e->data = NULL;
        switch (e->kind) {
        case EFFECT_CLIENT:
            /* a client that went away meanwhile (EHOSTUNREACH) resends and is
               answered from `seen` */
            ob_wire_send_owned(self->client_sock, e->rid, e->rid_len, NULL, data, e->len);
            break;
        case EFFECT_NODE:
            ob_wire_send_owned(self->node_sock, e->rid, e->rid_len, NULL, data, e->len);
            break;
        case EFFECT_EVENT:
            ob_wire_send_owned(self->event_sock, NULL, 0, e->topic, data, e->len);
            break;
        }
    }
    broker_effects_clear(self);
}
