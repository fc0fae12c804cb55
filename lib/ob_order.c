/*  ob_order.c — the work order as data: the one table of field limits,
    validation, the department's view without contact, and the one codec of
    the department's acts. See ob_order.h.                                 */
#include "ob_order.h"
#include "ob_names.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <math.h>

#define E(x) ORDERBUS__V1__ORDER_EVENT__EVENT_##x
#define B(x) ORDERBUS__V1__ENVELOPE__BODY_##x

const ob_field_limit_t ob_field_limits[OB_FIELD__COUNT] = {
    [OB_FIELD_TITLE] = {"title", OB_TITLE_MAX},
    [OB_FIELD_CONTENT] = {"content", OB_CONTENT_MAX},
    [OB_FIELD_CATEGORY] = {"category", OB_SHORT_MAX},
    [OB_FIELD_TARGET_ORG] = {"target_org", OB_SHORT_MAX},
    [OB_FIELD_EXTERNAL_REF] = {"external_ref", OB_SHORT_MAX},
    [OB_FIELD_LOCATION] = {"location", OB_SHORT_MAX},
    [OB_FIELD_CONTACT] = {"contact", OB_SHORT_MAX},
    [OB_FIELD_ATTACHMENT] = {"attachments", OB_SHORT_MAX},
    [OB_FIELD_MIME] = {"attachments.mime_type", OB_MIME_MAX},
    [OB_FIELD_NOTE] = {"note", OB_NOTE_MAX},
    [OB_FIELD_CLERK] = {"clerk", OB_CLERK_MAX},
    [OB_FIELD_DEPT] = {"dept", OB_DEPT_MAX - 1},
};

int ob_field_check(ob_field_t field, const char *label, const char *s, bool required,
                   char *err, size_t errlen)
{
    const ob_field_limit_t *f = &ob_field_limits[field];
    const char *name = label ? label : f->name;
    size_t len = s ? strlen(s) : 0;
    if (len == 0) {
        if (!required)
            return 0;
        ob_fmt(err, errlen, "field '%s' is required", name);
        return -1;
    }
    if (len > f->max) {
        ob_fmt(err, errlen, "field '%s' is %zu bytes, over its %zu byte limit", name, len, f->max);
        return -1;
    }
    if (!ob_utf8_valid(s, len)) {
        ob_fmt(err, errlen, "field '%s' is not valid UTF-8", name);
        return -1;
    }
    return 0;
}

/* ---- the order ------------------------------------------------------------- */

static int s_location_check(const Orderbus__V1__Location *l, char *err, size_t errlen)
{
    if (ob_field_check(OB_FIELD_LOCATION, "location.district_code", l->district_code, false,
                       err, errlen)
        || ob_field_check(OB_FIELD_LOCATION, "location.street_code", l->street_code, false, err,
                          errlen)
        || ob_field_check(OB_FIELD_LOCATION, "location.street", l->street, false, err, errlen)
        || ob_field_check(OB_FIELD_LOCATION, "location.address", l->address, false, err, errlen))
        return -1;
    if (l->has_point && (!isfinite(l->lat) || !isfinite(l->lon) || l->lat < -90 || l->lat > 90
                         || l->lon < -180 || l->lon > 180)) {
        ob_fmt(err, errlen, "field 'location' has a point outside lat/lon range");
        return -1;
    }
    return 0;
}

static int s_contact_check(const Orderbus__V1__Contact *c, char *err, size_t errlen)
{
    if (ob_field_check(OB_FIELD_CONTACT, "contact.name", c->name, false, err, errlen)
        || ob_field_check(OB_FIELD_CONTACT, "contact.phone", c->phone, false, err, errlen)
        || ob_field_check(OB_FIELD_CONTACT, "contact.email", c->email, false, err, errlen)
        || ob_field_check(OB_FIELD_CONTACT, "contact.address", c->address, false, err, errlen)
        || ob_field_check(OB_FIELD_CONTACT, "contact.id_number", c->id_number, false, err,
                          errlen))
        return -1;
    return 0;
}

static int s_attachments_check(const ob_workorder_t *o, char *err, size_t errlen)
{
    if (o->n_attachments > OB_ATTACHMENTS_MAX) {
        ob_fmt(err, errlen, "field 'attachments' has %zu entries; at most %d", o->n_attachments,
               OB_ATTACHMENTS_MAX);
        return -1;
    }
    for (size_t i = 0; i < o->n_attachments; i++) {
        const Orderbus__V1__Attachment *a = o->attachments[i];
        if (ob_field_check(OB_FIELD_ATTACHMENT, "attachments.name", a->name, false, err, errlen)
            || ob_field_check(OB_FIELD_MIME, NULL, a->mime_type, false, err, errlen)
            || ob_field_check(OB_FIELD_ATTACHMENT, "attachments.uri", a->uri, false, err, errlen))
            return -1;
        if (a->sha256.len != 0 && a->sha256.len != 32) {
            ob_fmt(err, errlen, "field 'attachments.sha256' is %zu bytes; a SHA-256 is 32",
                   a->sha256.len);
            return -1;
        }
    }
    return 0;
}

int ob_order_validate(const ob_workorder_t *o, char *err, size_t errlen)
{
    if ((!o->title || !*o->title) && (!o->content || !*o->content)) {
        ob_fmt(err, errlen, "an order needs a title or a content");
        return -1;
    }
    if (o->n_category > OB_CATEGORY_LEVELS) {
        ob_fmt(err, errlen, "field 'category' has %zu levels; at most %d", o->n_category,
               OB_CATEGORY_LEVELS);
        return -1;
    }
    for (size_t i = 0; i < o->n_category; i++) {
        if (!o->category[i] || !*o->category[i]) {
            ob_fmt(err, errlen, "field 'category' has an empty level");
            return -1;
        }
        if (ob_field_check(OB_FIELD_CATEGORY, NULL, o->category[i], false, err, errlen))
            return -1;
    }
    if (ob_field_check(OB_FIELD_TITLE, NULL, o->title, false, err, errlen)
        || ob_field_check(OB_FIELD_CONTENT, NULL, o->content, false, err, errlen)
        || ob_field_check(OB_FIELD_TARGET_ORG, NULL, o->target_org, false, err, errlen)
        || ob_field_check(OB_FIELD_EXTERNAL_REF, NULL, o->external_ref, false, err, errlen))
        return -1;
    if (o->location && s_location_check(o->location, err, errlen))
        return -1;
    if (o->contact && s_contact_check(o->contact, err, errlen))
        return -1;
    return s_attachments_check(o, err, errlen);
}

void ob_order_strip_contact(ob_workorder_t *order)
{
    if (order->contact) {
        orderbus__v1__contact__free_unpacked(order->contact, NULL);
        order->contact = NULL;
    }
    free(order->sealed_contact.data);
    order->sealed_contact.data = NULL;
    order->sealed_contact.len = 0;
}

void ob_order_view_without_contact(const ob_workorder_t *order, ob_workorder_t *view)
{
    *view = *order;
    view->contact = NULL;
    view->sealed_contact.len = 0;
    view->sealed_contact.data = NULL;
}

int ob_order_set_str(char **field, const char *value)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = (char *) protobuf_c_empty_string;
    if (value && *value) {
        char *copy = strdup(value);
        if (!copy)
            return ENOMEM;
        *field = copy;
    }
    return 0;
}

/* ---- the department's acts ----------------------------------------------- */

bool ob_act_is_body(int body_case)
{
    switch (body_case) {
    case B(SIGN):
    case B(PROGRESS):
    case B(RETURN_REQUEST):
    case B(REPLY):
    case B(EXTENSION_REQUEST):
    case B(ASSIST_OPINION):
        return true;
    default:
        return false;
    }
}

const char *ob_act_name(ob_event_t event)
{
    switch (event) {
    case E(SIGN): return "sign";
    case E(PROGRESS): return "progress";
    case E(RETURN_REQUEST): return "return";
    case E(REPLY): return "reply";
    case E(EXTENSION_REQUEST): return "extension request";
    case E(ASSIST_OPINION): return "assist opinion";
    default: return ob_event_name(event);
    }
}

/* The fields every act body has, read once. */
static void s_act_common(ob_act_t *act, ob_event_t event, ProtobufCBinaryData *id,
                         ProtobufCBinaryData oid, uint32_t attempt, const char *clerk,
                         int64_t at_ms, const char *note)
{
    act->event = event;
    *id = oid;
    act->attempt = attempt;
    act->clerk = clerk ? clerk : "";
    act->at_ms = at_ms;
    act->note = note ? note : "";
}

/* The act's own fields checked against the field table. */
static int s_act_check(const ob_act_t *act, char *err, size_t errlen)
{
    const char *label = act->event == E(RETURN_REQUEST) || act->event == E(EXTENSION_REQUEST)
                            ? "reason"
                        : act->event == E(ASSIST_OPINION) ? "opinion"
                                                          : "note";
    bool required = act->event != E(SIGN);
    if (ob_field_check(OB_FIELD_NOTE, label, act->note, required, err, errlen)
        || ob_field_check(OB_FIELD_CLERK, NULL, act->clerk, false, err, errlen))
        return -1;
    if (act->event == E(REPLY) && (act->result < ORDERBUS__V1__REPLY_RESULT__RESULT_RESOLVED
                                   || act->result > ORDERBUS__V1__REPLY_RESULT__RESULT_EXPLAINED)) {
        ob_fmt(err, errlen, "field 'result' must be resolved, partly, unresolved or explained");
        return -1;
    }
    if (act->event == E(EXTENSION_REQUEST)
        && (act->extra_days < 1 || act->extra_days > OB_EXTRA_DAYS_MAX)) {
        ob_fmt(err, errlen, "field 'extra_days' must be 1 to %d working days",
               OB_EXTRA_DAYS_MAX);
        return -1;
    }
    if (act->at_ms < 0) {
        ob_fmt(err, errlen, "field 'at_ms' is negative");
        return -1;
    }
    return 0;
}

int ob_act_decode(const ob_envelope_t *env, ob_act_t *act, char *err, size_t errlen)
{
    ProtobufCBinaryData id = {0, NULL};
    memset(act, 0, sizeof *act);
    switch (env->body_case) {
    case B(SIGN): {
        const Orderbus__V1__Sign *b = env->sign;
        s_act_common(act, E(SIGN), &id, b->order_id, b->attempt, b->clerk, b->at_ms, "");
        break;
    }
    case B(PROGRESS): {
        const Orderbus__V1__Progress *b = env->progress;
        s_act_common(act, E(PROGRESS), &id, b->order_id, b->attempt, b->clerk, b->at_ms,
                     b->note);
        break;
    }
    case B(RETURN_REQUEST): {
        const Orderbus__V1__ReturnRequest *b = env->return_request;
        s_act_common(act, E(RETURN_REQUEST), &id, b->order_id, b->attempt, b->clerk, b->at_ms,
                     b->reason);
        break;
    }
    case B(REPLY): {
        const Orderbus__V1__Reply *b = env->reply;
        s_act_common(act, E(REPLY), &id, b->order_id, b->attempt, b->clerk, b->at_ms, b->note);
        act->result = b->result;
        break;
    }
    case B(EXTENSION_REQUEST): {
        const Orderbus__V1__ExtensionRequest *b = env->extension_request;
        s_act_common(act, E(EXTENSION_REQUEST), &id, b->order_id, b->attempt, b->clerk,
                     b->at_ms, b->reason);
        act->extra_days = b->extra_days;
        break;
    }
    case B(ASSIST_OPINION): {
        const Orderbus__V1__AssistOpinion *b = env->assist_opinion;
        s_act_common(act, E(ASSIST_OPINION), &id, b->order_id, b->attempt, b->clerk, b->at_ms,
                     b->opinion);
        break;
    }
    default:
        ob_fmt(err, errlen, "message '%s' is not a department act",
               ob_wire_body_name((int) env->body_case));
        return -1;
    }
    if (id.len != OB_ID_BYTES) {
        ob_fmt(err, errlen, "field 'order_id' must be %d bytes", OB_ID_BYTES);
        return -1;
    }
    memcpy(act->order_id, id.data, OB_ID_BYTES);
    return s_act_check(act, err, errlen);
}

int ob_act_encode(const ob_act_t *act, ob_act_body_t *body, ob_envelope_t *env)
{
    ProtobufCBinaryData oid = {OB_ID_BYTES, (uint8_t *) act->order_id};
    char *note = (char *) (act->note ? act->note : "");
    char *clerk = (char *) (act->clerk ? act->clerk : "");
    switch (act->event) {
    case E(SIGN): {
        Orderbus__V1__Sign *b = &body->u.sign;
        orderbus__v1__sign__init(b);
        b->order_id = oid;
        b->attempt = act->attempt;
        b->clerk = clerk;
        b->at_ms = act->at_ms;
        env->body_case = B(SIGN);
        env->sign = b;
        return 0;
    }
    case E(PROGRESS): {
        Orderbus__V1__Progress *b = &body->u.progress;
        orderbus__v1__progress__init(b);
        b->order_id = oid;
        b->attempt = act->attempt;
        b->note = note;
        b->clerk = clerk;
        b->at_ms = act->at_ms;
        env->body_case = B(PROGRESS);
        env->progress = b;
        return 0;
    }
    case E(RETURN_REQUEST): {
        Orderbus__V1__ReturnRequest *b = &body->u.return_request;
        orderbus__v1__return_request__init(b);
        b->order_id = oid;
        b->attempt = act->attempt;
        b->reason = note;
        b->clerk = clerk;
        b->at_ms = act->at_ms;
        env->body_case = B(RETURN_REQUEST);
        env->return_request = b;
        return 0;
    }
    case E(REPLY): {
        Orderbus__V1__Reply *b = &body->u.reply;
        orderbus__v1__reply__init(b);
        b->order_id = oid;
        b->attempt = act->attempt;
        b->result = act->result;
        b->note = note;
        b->clerk = clerk;
        b->at_ms = act->at_ms;
        env->body_case = B(REPLY);
        env->reply = b;
        return 0;
    }
    case E(EXTENSION_REQUEST): {
        Orderbus__V1__ExtensionRequest *b = &body->u.extension_request;
        orderbus__v1__extension_request__init(b);
        b->order_id = oid;
        b->attempt = act->attempt;
        b->extra_days = act->extra_days;
        b->reason = note;
        b->clerk = clerk;
        b->at_ms = act->at_ms;
        env->body_case = B(EXTENSION_REQUEST);
        env->extension_request = b;
        return 0;
    }
    case E(ASSIST_OPINION): {
        Orderbus__V1__AssistOpinion *b = &body->u.assist_opinion;
        orderbus__v1__assist_opinion__init(b);
        b->order_id = oid;
        b->attempt = act->attempt;
        b->opinion = note;
        b->clerk = clerk;
        b->at_ms = act->at_ms;
        env->body_case = B(ASSIST_OPINION);
        env->assist_opinion = b;
        return 0;
    }
    default:
        return -1;
    }
}

/* ---- self-test ------------------------------------------------------------- */
#include "ob_selftest.h"

/* A string of exactly `bytes` bytes of UTF-8 (汉 is 3 bytes; ASCII pads). */
static char *s_text(size_t bytes)
{
    char *s = malloc(bytes + 1);
    assert(s);
    size_t i = 0;
    for (; i + 3 <= bytes; i += 3)
        memcpy(s + i, "\xe6\xb1\x89", 3);
    for (; i < bytes; i++)
        s[i] = 'x';
    s[bytes] = '\0';
    return s;
}

/* Packs `env` with the largest envelope header and returns its size. */
static size_t s_packed(ob_envelope_t *env)
{
    static uint8_t id[OB_ID_BYTES];
    static uint8_t sig[64];
    static char sender[OB_USER_ID_MAX];
    memset(sender, 'n', sizeof sender - 1);
    env->version = 1;
    env->msg_id = (ProtobufCBinaryData) {OB_ID_BYTES, id};
    env->sender = sender;
    env->seq = UINT64_MAX;
    env->sent_at_ms = INT64_MAX;
    env->signature = (ProtobufCBinaryData) {sizeof sig, sig};
    return orderbus__v1__envelope__get_packed_size(env);
}

typedef struct {
    char *title, *content, *shortf, *mime, *note, *clerk, *dept;
    char *cats[OB_CATEGORY_LEVELS];
    char *assist[OB_ASSIST_MAX], *tried[OB_TRIED_MAX];
    uint8_t id[OB_ID_BYTES], sha[32];
    Orderbus__V1__Location loc;
    Orderbus__V1__Contact contact;
    Orderbus__V1__Attachment att;
    Orderbus__V1__Attachment *atts[OB_ATTACHMENTS_MAX];
    ob_workorder_t order;
    ob_record_t rec;
    ob_journal_t journal;
    Orderbus__V1__Actor actor;
} s_max_t;

static void s_max_fill(s_max_t *m)
{
    m->title = s_text(OB_TITLE_MAX);
    m->content = s_text(OB_CONTENT_MAX);
    m->shortf = s_text(OB_SHORT_MAX);
    m->mime = s_text(OB_MIME_MAX);
    m->note = s_text(OB_NOTE_MAX);
    m->clerk = s_text(OB_CLERK_MAX);
    m->dept = s_text(OB_DEPT_MAX - 1);
    for (size_t i = 0; i < OB_CATEGORY_LEVELS; i++)
        m->cats[i] = m->shortf;
    for (size_t i = 0; i < OB_ASSIST_MAX; i++)
        m->assist[i] = m->dept;
    for (size_t i = 0; i < OB_TRIED_MAX; i++)
        m->tried[i] = m->dept;
    orderbus__v1__location__init(&m->loc);
    m->loc.district_code = m->loc.street_code = m->loc.street = m->loc.address = m->shortf;
    m->loc.has_point = true;
    m->loc.lat = -89.123456789;
    m->loc.lon = -179.123456789;
    orderbus__v1__contact__init(&m->contact);
    m->contact.name = m->contact.phone = m->contact.email = m->shortf;
    m->contact.address = m->contact.id_number = m->shortf;
    orderbus__v1__attachment__init(&m->att);
    m->att.name = m->att.uri = m->shortf;
    m->att.mime_type = m->mime;
    m->att.size = UINT64_MAX;
    m->att.sha256 = (ProtobufCBinaryData) {32, m->sha};
    for (size_t i = 0; i < OB_ATTACHMENTS_MAX; i++)
        m->atts[i] = &m->att;
    ob_workorder_t *o = &m->order;
    orderbus__v1__work_order__init(o);
    o->id = (ProtobufCBinaryData) {OB_ID_BYTES, m->id};
    o->case_no = (char *) "20261206-999999";
    o->channel = ORDERBUS__V1__CHANNEL__CHANNEL_VISIT;
    o->appeal_type = ORDERBUS__V1__APPEAL_TYPE__APPEAL_PRAISE;
    o->n_category = OB_CATEGORY_LEVELS;
    o->category = m->cats;
    o->title = m->title;
    o->content = m->content;
    o->location = &m->loc;
    o->target_org = o->external_ref = m->shortf;
    o->urgency = ORDERBUS__V1__URGENCY__URGENCY_VERY_URGENT;
    o->anonymous = o->confidential = true;
    o->contact = &m->contact;
    o->n_attachments = OB_ATTACHMENTS_MAX;
    o->attachments = m->atts;
    o->received_at_ms = INT64_MAX;

    ob_record_t *r = &m->rec;
    orderbus__v1__order_record__init(r);
    r->order = o;
    r->dept = r->transfer_site = m->dept;
    r->attempt = r->return_count = r->rework_count = r->reopen_count = UINT32_MAX;
    r->rule_id = r->rules_version = r->referral = m->shortf;
    r->created_at_ms = r->dispatched_at_ms = r->sign_deadline_ms = INT64_MAX;
    r->reply_deadline_ms = r->signed_at_ms = r->replied_at_ms = r->closed_at_ms = INT64_MAX;
    r->transport_error = m->shortf;
    r->reply_note = r->return_reason = r->close_reason = m->note;
    r->n_tried_depts = OB_TRIED_MAX;
    r->tried_depts = m->tried;
    r->n_assist_depts = OB_ASSIST_MAX;
    r->assist_depts = m->assist;
    r->merged_into = (ProtobufCBinaryData) {OB_ID_BYTES, m->id};
    r->updated_at_ms = r->last_dispatch_at_ms = r->sign_warning_ms = INT64_MAX;
    r->reply_warning_ms = r->archived_at_ms = r->assist_deadline_ms = INT64_MAX;
    r->last_seq = r->dispatch_seq = UINT64_MAX;
    r->priority = r->merged_count = r->extension_count = UINT32_MAX;
    r->extension_pending_days = r->urge_count = r->supervise_level = UINT32_MAX;
    r->callback_tries = UINT32_MAX;

    orderbus__v1__actor__init(&m->actor);
    m->actor.id = m->shortf;
    m->actor.key = (ProtobufCBinaryData) {32, m->sha};
    ob_journal_t *j = &m->journal;
    orderbus__v1__journal_entry__init(j);
    j->seq = UINT64_MAX;
    j->order_id = (ProtobufCBinaryData) {OB_ID_BYTES, m->id};
    j->case_no = o->case_no;
    j->at_ms = j->at_us = j->reply_deadline_ms = INT64_MAX;
    j->actor = &m->actor;
    j->dept = j->prev_dept = m->dept;
    j->note = m->note;
    j->rule_id = j->rules_version = m->shortf;
    j->attempt = UINT32_MAX;
}

static void s_max_free(s_max_t *m)
{
    free(m->title);
    free(m->content);
    free(m->shortf);
    free(m->mime);
    free(m->note);
    free(m->clerk);
    free(m->dept);
}

/* Every message the system builds, every field at its maximum, fits a
   frame; and a page of answers stopped at OB_ANSWER_BUDGET does too. */
static void s_test_frame_cap(bool verbose)
{
    s_max_t m;
    s_max_fill(&m);
    size_t largest = 0;
#define FITS(env)                                                                        \
    do {                                                                                 \
        size_t n_ = s_packed(env);                                                       \
        assert(n_ < OB_MAX_FRAME);                                                       \
        if (n_ > largest)                                                                \
            largest = n_;                                                                \
    } while (0)
    ob_envelope_t env = ORDERBUS__V1__ENVELOPE__INIT;

    Orderbus__V1__SubmitRequest sub = ORDERBUS__V1__SUBMIT_REQUEST__INIT;
    sub.order = &m.order;
    env.body_case = B(SUBMIT);
    env.submit = &sub;
    FITS(&env);

    ob_workorder_t view;
    ob_order_view_without_contact(&m.order, &view);
    Orderbus__V1__Dispatch d = ORDERBUS__V1__DISPATCH__INIT;
    d.order = &view;
    d.attempt = UINT32_MAX;
    d.dispatched_at_ms = d.sign_deadline_ms = d.reply_deadline_ms = INT64_MAX;
    d.lead = true;
    d.note = m.note;
    d.state = ORDERBUS__V1__ORDER_STATE__STATE_IN_PROGRESS;
    env = (ob_envelope_t) ORDERBUS__V1__ENVELOPE__INIT;
    env.body_case = B(DISPATCH);
    env.dispatch = &d;
    FITS(&env);

    /* every department act */
    static const ob_event_t acts[] = {E(SIGN), E(PROGRESS), E(RETURN_REQUEST), E(REPLY),
                                      E(EXTENSION_REQUEST), E(ASSIST_OPINION)};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        ob_act_t a = {acts[i], {0}, UINT32_MAX, m.note, m.clerk, INT64_MAX,
                      ORDERBUS__V1__REPLY_RESULT__RESULT_EXPLAINED, UINT32_MAX};
        ob_act_body_t body;
        env = (ob_envelope_t) ORDERBUS__V1__ENVELOPE__INIT;
        int rc = ob_act_encode(&a, &body, &env);
        assert(rc == 0);
        FITS(&env);
    }
    /* the centre's messages to a department, and the requests with a note */
    Orderbus__V1__Decision dec = ORDERBUS__V1__DECISION__INIT;
    dec.order_id = m.order.id;
    dec.note = m.note;
    env = (ob_envelope_t) ORDERBUS__V1__ENVELOPE__INIT;
    env.body_case = B(DECISION);
    env.decision = &dec;
    FITS(&env);
    Orderbus__V1__Recall rec = ORDERBUS__V1__RECALL__INIT;
    rec.order_id = m.order.id;
    rec.reason = m.note;
    env.body_case = B(RECALL);
    env.recall = &rec;
    FITS(&env);
    Orderbus__V1__ExtensionDecision xd = ORDERBUS__V1__EXTENSION_DECISION__INIT;
    xd.order_id = m.order.id;
    xd.note = m.note;
    env.body_case = B(EXTENSION_DECISION);
    env.extension_decision = &xd;
    FITS(&env);
    Orderbus__V1__OrderRef ref = ORDERBUS__V1__ORDER_REF__INIT;
    ref.id = m.order.id;
    ref.case_no = m.shortf;
    Orderbus__V1__RouteRequest rr = ORDERBUS__V1__ROUTE_REQUEST__INIT;
    rr.ref = &ref;
    rr.dept = m.dept;
    rr.note = m.note;
    env.body_case = B(ROUTE);
    env.route = &rr;
    FITS(&env);

    /* one record in an answer (get, submit, route, review, callback) */
    Orderbus__V1__Answer ans = ORDERBUS__V1__ANSWER__INIT;
    ans.message = m.note;
    ans.ref_msg_id = m.order.id;
    ans.order = &m.rec;
    env = (ob_envelope_t) ORDERBUS__V1__ENVELOPE__INIT;
    env.body_case = B(ANSWER);
    env.answer = &ans;
    FITS(&env);
    size_t one_record = orderbus__v1__order_record__get_packed_size(&m.rec);
    size_t one_entry = orderbus__v1__journal_entry__get_packed_size(&m.journal);

    /* a page: items are added while under the budget, so a page holds at
       most OB_ANSWER_BUDGET + one largest item (+ framing) */
    ans.order = NULL;
    size_t nrec = OB_ANSWER_BUDGET / one_record + 1;
    ob_record_t **recs = calloc(nrec, sizeof *recs);
    assert(recs);
    for (size_t i = 0; i < nrec; i++)
        recs[i] = &m.rec;
    ans.n_orders = nrec;
    ans.orders = recs;
    FITS(&env);
    ans.n_orders = 0;
    size_t nj = OB_ANSWER_BUDGET / one_entry + 1;
    ob_journal_t **js = calloc(nj, sizeof *js);
    assert(js);
    for (size_t i = 0; i < nj; i++)
        js[i] = &m.journal;
    ans.n_events = nj;
    ans.events = js;
    ans.order = &m.rec;   /* trace answers the record with its events */
    FITS(&env);
    free(recs);
    free(js);
    s_max_free(&m);
#undef FITS
    if (verbose)
        printf("largest message %zu bytes of %d, ", largest, OB_MAX_FRAME);
}

void ob_order_test(bool verbose)
{
    char err[200];
    /* the one table */
    int rc = ob_field_check(OB_FIELD_NOTE, NULL, "", false, err, sizeof err);
    assert(rc == 0);
    rc = ob_field_check(OB_FIELD_NOTE, "reason", "", true, err, sizeof err);
    assert(rc == -1 && strstr(err, "'reason' is required"));
    char *big = s_text(OB_NOTE_MAX + 1);
    rc = ob_field_check(OB_FIELD_NOTE, NULL, big, false, err, sizeof err);
    assert(rc == -1 && strstr(err, "over its 32768 byte limit"));
    free(big);
    big = s_text(OB_NOTE_MAX);   /* exactly the limit: allowed (16 KiB at least, as promised) */
    rc = ob_field_check(OB_FIELD_NOTE, NULL, big, true, err, sizeof err);
    assert(rc == 0 && OB_NOTE_MAX >= 16 * 1024);
    free(big);
    rc = ob_field_check(OB_FIELD_TITLE, NULL, "\xff\xfe", false, err, sizeof err);
    assert(rc == -1 && strstr(err, "not valid UTF-8"));

    /* an order */
    ob_workorder_t o = ORDERBUS__V1__WORK_ORDER__INIT;
    rc = ob_order_validate(&o, err, sizeof err);
    assert(rc == -1 && strstr(err, "title or a content"));
    o.title = (char *) "小区电梯故障";
    rc = ob_order_validate(&o, err, sizeof err);
    assert(rc == 0);
    Orderbus__V1__Location loc = ORDERBUS__V1__LOCATION__INIT;
    loc.has_point = true;
    loc.lat = NAN;
    o.location = &loc;
    rc = ob_order_validate(&o, err, sizeof err);
    assert(rc == -1 && strstr(err, "'location'"));
    loc.lat = 31.2;
    loc.lon = INFINITY;
    rc = ob_order_validate(&o, err, sizeof err);
    assert(rc == -1);
    loc.lon = 121.5;
    rc = ob_order_validate(&o, err, sizeof err);
    assert(rc == 0);

    /* the acts' codec: encode, decode, the same act */
    ob_act_t a = {E(REPLY), {1, 2, 3}, 4, "已修复", "张三", 1765000000000,
                  ORDERBUS__V1__REPLY_RESULT__RESULT_RESOLVED, 0};
    ob_act_body_t body;
    ob_envelope_t env = ORDERBUS__V1__ENVELOPE__INIT;
    rc = ob_act_encode(&a, &body, &env);
    assert(rc == 0 && env.body_case == B(REPLY) && ob_act_is_body(env.body_case));
    ob_act_t back;
    rc = ob_act_decode(&env, &back, err, sizeof err);
    assert(rc == 0);
    assert(back.event == E(REPLY) && back.attempt == 4 && back.at_ms == a.at_ms);
    assert(strcmp(back.note, "已修复") == 0 && strcmp(back.clerk, "张三") == 0);
    assert(memcmp(back.order_id, a.order_id, OB_ID_BYTES) == 0);
    a.result = ORDERBUS__V1__REPLY_RESULT__RESULT_UNSPECIFIED;
    rc = ob_act_encode(&a, &body, &env);
    assert(rc == 0);
    rc = ob_act_decode(&env, &back, err, sizeof err);
    assert(rc == -1 && strstr(err, "'result'"));
    a = (ob_act_t) {E(RETURN_REQUEST), {0}, 1, "", "", 0, 0, 0};
    rc = ob_act_encode(&a, &body, &env);
    assert(rc == 0);
    rc = ob_act_decode(&env, &back, err, sizeof err);
    assert(rc == -1 && strstr(err, "'reason' is required"));
    a = (ob_act_t) {E(EXTENSION_REQUEST), {0}, 1, "需要协调", "", 0, 0, 10000};
    rc = ob_act_encode(&a, &body, &env);
    assert(rc == 0);
    rc = ob_act_decode(&env, &back, err, sizeof err);
    assert(rc == -1 && strstr(err, "extra_days"));
    a.event = E(CALLBACK_OK);
    rc = ob_act_encode(&a, &body, &env);
    assert(rc == -1);
    env.body_case = B(HEARTBEAT);
    rc = ob_act_decode(&env, &back, err, sizeof err);
    assert(rc == -1 && strstr(err, "not a department act"));
    assert(strcmp(ob_act_name(E(RETURN_REQUEST)), "return") == 0);

    s_test_frame_cap(verbose);
    if (verbose)
        printf("order ");
}
