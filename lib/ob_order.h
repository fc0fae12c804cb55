/*  ob_order.h — the work order as data.

    - THE table of field limits: every text field a person or a system can
      fill, with its byte cap and whether it is required. The broker enforces
      it on every request and act, and so do the CLI (to fail early, with the
      same words) and the node (before anything reaches its outbox).
    - ob_order_validate(): a WorkOrder as submitted.
    - ob_order_strip_contact(): what a department may see of an order.
    - ob_act_t: the department's acts (sign, progress, return, reply,
      extension request, assist opinion) with ONE codec to and from the
      envelope, used by the CLI, the node, its local service and the broker.

    The limits are chosen for a real hotline: a title of about 340 汉字, a
    citizen's message of about 21,000, and any note, reason, reply or
    opinion of about 10,900 (32 KiB: the reply to a complex complaint runs
    to thousands of characters). ob_order_test() proves that every message
    the system builds, with every field at its maximum, fits a frame
    (OB_MAX_FRAME), and that a page of answers (OB_ANSWER_BUDGET plus one
    more item) does too.                                                    */
#ifndef OB_ORDER_H
#define OB_ORDER_H

#include "ob_common.h"

/* ---- the one table of field limits (bytes of UTF-8) ---------------------- */

typedef enum {
    OB_FIELD_TITLE,            /* WorkOrder.title */
    OB_FIELD_CONTENT,          /* WorkOrder.content: the citizen's message */
    OB_FIELD_CATEGORY,         /* one level of WorkOrder.category */
    OB_FIELD_TARGET_ORG,       /* the organisation complained about */
    OB_FIELD_EXTERNAL_REF,     /* an intake's own reference (idempotency key) */
    OB_FIELD_LOCATION,         /* each text field of Location */
    OB_FIELD_CONTACT,          /* each field of Contact */
    OB_FIELD_ATTACHMENT,       /* Attachment name and uri */
    OB_FIELD_MIME,             /* Attachment.mime_type */
    OB_FIELD_NOTE,             /* every note, reason, reply, opinion, instruction */
    OB_FIELD_CLERK,            /* the clerk's name or id on a department act */
    OB_FIELD_DEPT,             /* a department id */
    OB_FIELD__COUNT
} ob_field_t;

typedef struct {
    const char *name;          /* as in messages: "title", "note" */
    size_t max;                /* bytes, NUL not counted */
} ob_field_limit_t;

extern const ob_field_limit_t ob_field_limits[OB_FIELD__COUNT];

#define OB_TITLE_MAX        512
#define OB_CONTENT_MAX      (64 * 1024)
#define OB_SHORT_MAX        1024            /* category level, target_org, external_ref,
                                               location and contact fields, attachment
                                               name and uri */
#define OB_MIME_MAX         255             /* RFC 6838: 127 + '/' + 127 */
#define OB_NOTE_MAX         (32 * 1024)
#define OB_CLERK_MAX        128
#define OB_CATEGORY_LEVELS  3
#define OB_ATTACHMENTS_MAX  32
#define OB_ASSIST_MAX       16              /* assisting departments on one order */
#define OB_TRIED_MAX        64              /* departments remembered as having returned it */
#define OB_EXTRA_DAYS_MAX   90              /* working days one extension may ask */

/* A page of answers (list, trace, inbox) stops adding items once it holds
   this many bytes; one more item of the largest size still fits a frame. */
#define OB_ANSWER_BUDGET    (512 * 1024)

/* Checks one text field against the table: NULL and "" pass unless
   `required`. Returns 0, or -1 with err set ("field 'note' is 40000 bytes,
   over its 32768 byte limit", "field 'note' is not valid UTF-8", "field
   'note' is required"); `label` names the field in the message (NULL: the
   table's name). */
int ob_field_check(ob_field_t field, const char *label, const char *s, bool required,
                   char *err, size_t errlen);

/* ---- the order ------------------------------------------------------------- */

/* Checks a WorkOrder as a client submits it: a title or a content; every
   text field within the table and valid UTF-8; at most 3 category levels,
   none empty; a location point finite and in range; at most
   OB_ATTACHMENTS_MAX attachments with a 32-byte sha256 when one is given.
   Returns 0, or -1 with a message naming the field (never quoting it). */
int ob_order_validate(const ob_workorder_t *order, char *err, size_t errlen);

/* Drops what a department may not see from `order` (the complainant's
   contact block and the sealed contact), freeing them. */
void ob_order_strip_contact(ob_workorder_t *order);

/* Fills `view` as a shallow copy of `order` without the contact: nothing is
   freed or allocated, `view` borrows `order`'s fields. */
void ob_order_view_without_contact(const ob_workorder_t *order, ob_workorder_t *view);

/* Replaces a string field of a decoded protobuf message (heap memory of
   protobuf-c's default allocator): frees the old value, copies `value`
   (NULL or "" give the shared empty string). Returns 0, or ENOMEM with the
   field set to "". */
int ob_order_set_str(char **field, const char *value);

/* ---- the department's acts ----------------------------------------------- */

/* One act of a department, as the clerk makes it and as it travels. Strings
   are borrowed (from the envelope it was decoded from, or from the caller). */
typedef struct {
    ob_event_t event;                  /* SIGN, PROGRESS, RETURN_REQUEST, REPLY,
                                          EXTENSION_REQUEST, ASSIST_OPINION */
    uint8_t order_id[OB_ID_BYTES];
    uint32_t attempt;                  /* 0 at the node: the attempt it holds */
    const char *note;                  /* progress note, return reason, reply note,
                                          extension reason, opinion ("" for SIGN) */
    const char *clerk;                 /* who acted at the department ("" unknown) */
    int64_t at_ms;                     /* when the clerk acted (node clock), 0: unknown */
    Orderbus__V1__ReplyResult result;  /* REPLY */
    uint32_t extra_days;               /* EXTENSION_REQUEST: working days asked */
} ob_act_t;

/* The storage an encoded act's body lives in (it points at the act's
   strings: keep `act` alive while the envelope is used). */
typedef struct {
    union {
        Orderbus__V1__Sign sign;
        Orderbus__V1__Progress progress;
        Orderbus__V1__ReturnRequest return_request;
        Orderbus__V1__Reply reply;
        Orderbus__V1__ExtensionRequest extension_request;
        Orderbus__V1__AssistOpinion assist_opinion;
    } u;
} ob_act_body_t;

/* True when `body_case` is one of the acts above. */
bool ob_act_is_body(int body_case);

/* Reads an act out of `env` and checks it against the field table: the
   order id (16 bytes), the note (required for PROGRESS, RETURN_REQUEST,
   REPLY, EXTENSION_REQUEST, ASSIST_OPINION), the clerk, a reply's result,
   an extension's days (1 .. OB_EXTRA_DAYS_MAX). Returns 0, or -1 with a
   message for ERR_BAD_REQUEST in err. */
int ob_act_decode(const ob_envelope_t *env, ob_act_t *act, char *err, size_t errlen);

/* Sets env's body to `act`, using `body` as storage. Returns 0, or -1 when
   act->event is not a department act. */
int ob_act_encode(const ob_act_t *act, ob_act_body_t *body, ob_envelope_t *env);

/* The act's name for people: "sign", "progress", "return", "reply",
   "extension request", "assist opinion". */
const char *ob_act_name(ob_event_t event);

void ob_order_test(bool verbose);

#endif
