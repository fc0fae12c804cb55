/*  cmd_centre.c — the centre's (dispatcher's) commands, each one request to
    the broker's client service: submit (flags, a JSON file, or a pipelined
    JSON-lines batch), show, list, trace, route, deny-return, review,
    callback, stats and status.                                           */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_json.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <getopt.h>
#include <sys/stat.h>

#define S_SENDER "orderbus-cli"
#define S_TITLE_MAX 512
#define S_CONTENT_MAX (64 * 1024)
#define S_FIELD_MAX 1024
#define S_JSON_FILE_MAX (4 * 1024 * 1024)
#define S_LINE_MAX (1024 * 1024)

enum { OPT_JSON = 1000 };

static const char *s_endpoint(const cli_opts_t *opts)
{
    return opts->broker && *opts->broker ? opts->broker : "tcp://127.0.0.1:5571";
}

/* Sends one request to the broker and checks the answer. Returns 0 with the
   answer envelope in *answer_p (free with ob_wire_free), or an exit code
   after a message. */
static int s_request(const cli_opts_t *opts, ob_msg_t *m, ob_envelope_t **answer_p)
{
    *answer_p = NULL;
    ob_client_t *client = cli_broker_connect(opts);
    if (!client)
        return cli_connect_failure();
    ob_envelope_t *answer = cli_call(client, &m->env, opts);
    ob_client_destroy(&client);
    if (!answer)
        return EX_UNAVAILABLE;
    int rc = cli_answer_status(answer->answer);
    if (rc != 0) {
        ob_wire_free(answer);
        return rc;
    }
    *answer_p = answer;
    return 0;
}

/* Checks a free-text option: valid UTF-8 and at most `max` bytes. */
static int s_check_text(const char *cmd, const char *opt, const char *s, size_t max)
{
    size_t len = strlen(s);
    if (!ob_utf8_valid(s, len))
        return cli_usage_error(cmd, "%s is not valid UTF-8", opt);
    if (len > max)
        return cli_usage_error(cmd, "%s is longer than %zu bytes", opt, max);
    return 0;
}

static const char *s_yes(bool v)
{
    return v ? "yes" : "no";
}

static const char *s_hexid(char out[OB_ID_HEX], ProtobufCBinaryData id)
{
    if (id.len != OB_ID_BYTES || !id.data) {
        snprintf(out, OB_ID_HEX, "-");
        return out;
    }
    return ob_hex(out, id.data, id.len);
}

/* ---- printing records -------------------------------------------------- */

/* One "label  value" line; a multi-line value continues indented. */
static void s_field(const char *label, const char *value)
{
    if (!value || !*value)
        value = "-";
    printf("%-18s ", label);
    for (const char *p = value; *p; p++) {
        if (*p == '\n') {
            printf("\n%-18s ", "");
            continue;
        }
        if (*p == '\r')
            continue;
        putchar(*p);
    }
    putchar('\n');
}

static void s_field_time(const char *label, int64_t ms)
{
    char t[40];
    s_field(label, cli_time(t, sizeof t, ms));
}

static void s_field_u(const char *label, uint64_t v)
{
    char t[32];
    snprintf(t, sizeof t, "%llu", (unsigned long long) v);
    s_field(label, t);
}

static bool s_has_contact(const Orderbus__V1__Contact *c)
{
    return c && ((c->name && *c->name) || (c->phone && *c->phone) || (c->email && *c->email)
                 || (c->address && *c->address) || (c->id_number && *c->id_number));
}

/* Every field of the record, labels in English, values as they are. */
static void s_print_record(const ob_record_t *rec)
{
    char id[OB_ID_HEX], buf[1024];
    const ob_workorder_t *wo = rec->order;
    if (!wo) {
        printf("(the answer holds no work order)\n");
        return;
    }
    s_field("case no", wo->case_no);
    s_field("id", s_hexid(id, wo->id));
    s_field("state", ob_state_name(rec->state));
    s_field("dept", rec->dept);
    s_field_u("attempt", rec->attempt);
    s_field("rule", rec->rule_id);
    s_field("rules version", rec->rules_version);
    s_field_u("priority", rec->priority);
    s_field("confidential", rec->confidential ? "yes" : "no");
    {
        char assist[OB_DEPT_MAX * 8] = "";
        size_t off = 0;
        for (size_t i = 0; i < rec->n_assist_depts && off < sizeof assist; i++)
            off += (size_t) snprintf(assist + off, sizeof assist - off, "%s%s", i ? ", " : "",
                                     rec->assist_depts[i]);
        s_field("assisting depts", assist);
    }
    if (rec->assist_deadline_ms)
        s_field("assist due", cli_time(buf, sizeof buf, rec->assist_deadline_ms));
    s_field("transport", ob_transport_name(rec->transport));
    s_field("transport error", rec->transport_error);
    s_field("title", wo->title);
    s_field("content", wo->content);
    buf[0] = '\0';
    size_t off = 0;
    for (size_t i = 0; i < wo->n_category && off < sizeof buf; i++)
        off += (size_t) snprintf(buf + off, sizeof buf - off, "%s%s", i ? " / " : "",
                                 wo->category[i]);
    s_field("category", buf);
    s_field("channel", ob_channel_name(wo->channel));
    s_field("appeal type", ob_appeal_name(wo->appeal_type));
    s_field("urgency", ob_urgency_name(wo->urgency));
    s_field("anonymous", s_yes(wo->anonymous));
    s_field("confidential", s_yes(wo->confidential));
    s_field("target org", wo->target_org);
    const Orderbus__V1__Location *loc = wo->location;
    s_field("district", loc ? loc->district_code : NULL);
    s_field("street code", loc ? loc->street_code : NULL);
    s_field("street", loc ? loc->street : NULL);
    s_field("address", loc ? loc->address : NULL);
    if (loc && loc->has_point)
        snprintf(buf, sizeof buf, "%.6f, %.6f", loc->lat, loc->lon);
    else
        snprintf(buf, sizeof buf, "-");
    s_field("lat, lon", buf);
    s_field("external ref", wo->external_ref);
    s_field_time("received at", wo->received_at_ms);
    if (s_has_contact(wo->contact)) {
        s_field("contact name", wo->contact->name);
        s_field("contact phone", wo->contact->phone);
        s_field("contact email", wo->contact->email);
        s_field("contact address", wo->contact->address);
        s_field("contact id number", wo->contact->id_number);
    }
    if (wo->sealed_contact.len) {
        snprintf(buf, sizeof buf, "%zu bytes", wo->sealed_contact.len);
        s_field("sealed contact", buf);
    }
    for (size_t i = 0; i < wo->n_attachments; i++) {
        const Orderbus__V1__Attachment *a = wo->attachments[i];
        char sha[65];
        if (a->sha256.len == 32)
            ob_hex(sha, a->sha256.data, 32);
        else
            snprintf(sha, sizeof sha, "-");
        snprintf(buf, sizeof buf, "%s (%s, %llu bytes, sha256 %s) %s", a->name,
                 *a->mime_type ? a->mime_type : "-", (unsigned long long) a->size, sha,
                 *a->uri ? a->uri : "");
        s_field("attachment", buf);
    }
    s_field_time("created at", rec->created_at_ms);
    s_field_time("dispatched at", rec->dispatched_at_ms);
    s_field_time("last dispatch at", rec->last_dispatch_at_ms);
    s_field_time("sign deadline", rec->sign_deadline_ms);
    s_field_time("reply deadline", rec->reply_deadline_ms);
    s_field_time("sign warning", rec->sign_warning_ms);
    s_field_time("reply warning", rec->reply_warning_ms);
    s_field_time("signed at", rec->signed_at_ms);
    s_field_time("replied at", rec->replied_at_ms);
    s_field_time("closed at", rec->closed_at_ms);
    s_field_time("updated at", rec->updated_at_ms);
    s_field_u("returns", rec->return_count);
    s_field_u("reworks", rec->rework_count);
    s_field_u("reopens", rec->reopen_count);
    s_field("return reason", rec->return_reason);
    buf[0] = '\0';
    off = 0;
    for (size_t i = 0; i < rec->n_tried_depts && off < sizeof buf; i++)
        off += (size_t) snprintf(buf + off, sizeof buf - off, "%s%s", i ? ", " : "",
                                 rec->tried_depts[i]);
    s_field("returned by", buf);
    s_field("reply result", rec->reply_result ? ob_result_name(rec->reply_result) : NULL);
    s_field("reply note", rec->reply_note);
    s_field("satisfaction", rec->satisfaction ? ob_satisfaction_name(rec->satisfaction) : NULL);
    s_field_u("last journal seq", rec->last_seq);
}

/* One line after a state change: "CASE  ID  STATE  dept D  attempt N". */
static void s_print_outcome(const ob_record_t *rec)
{
    char id[OB_ID_HEX];
    const ob_workorder_t *wo = rec->order;
    printf("%s  %s  %s  dept %s  attempt %u\n", wo && *wo->case_no ? wo->case_no : "-",
           wo ? s_hexid(id, wo->id) : "-", ob_state_name(rec->state),
           *rec->dept ? rec->dept : "-", rec->attempt);
}

/* Prints the answer's order (human or JSON). Returns an exit code. */
static int s_print_answer_order(const cli_opts_t *opts, const ob_answer_t *a, bool full)
{
    if (!a->order) {
        fprintf(stderr, "orderbus: the broker's answer holds no order\n");
        return EX_PROTOCOL;
    }
    if (opts->json)
        return cli_print_json(ob_json_from_record(a->order, true), false);
    if (full)
        s_print_record(a->order);
    else
        s_print_outcome(a->order);
    return 0;
}

/* ---- submit ------------------------------------------------------------- */

static const char s_submit_usage[] =
    "usage: orderbus submit [--title T] [--content T] [--category A/B/C] [--channel C]\n"
    "                       [--appeal A] [--district D] [--street S] [--address A]\n"
    "                       [--lat X --lon Y] [--target-org O] [--urgency U] [--anonymous]\n"
    "                       [--confidential] [--contact-name N] [--contact-phone P]\n"
    "                       [--external-ref R]\n"
    "       orderbus submit FILE.json\n"
    "       orderbus submit --batch FILE.jsonl [--window N]\n"
    "\n"
    "Registers work orders with the broker, which assigns the case number, routes\n"
    "and dispatches them.\n"
    "\n"
    "  --title, --content       the complaint (one of them is required)\n"
    "  --category A/B/C         category path, up to 3 levels, e.g. 城乡建设/物业管理\n"
    "  --channel C              phone, web, app, wechat, email, letter, visit\n"
    "  --appeal A               consultation, help, complaint, report, suggestion, praise\n"
    "  --district, --street, --address   where it happened\n"
    "  --lat X --lon Y          the incident's position (both)\n"
    "  --target-org O           the organisation complained about\n"
    "  --urgency U              normal, urgent, very_urgent\n"
    "  --anonymous, --confidential\n"
    "  --contact-name N, --contact-phone P   the complainant (personal data)\n"
    "  --external-ref R         the intake system's own reference\n"
    "  FILE.json                one order as a JSON object (proto field names)\n"
    "  --batch FILE.jsonl       one JSON order per line ('-': standard input), pipelined;\n"
    "                           prints one line per order and 'N submitted, N failed'\n"
    "  --window N               requests in flight in batch mode (default 64)\n"
    "  --json                   JSON output (batch: one object per line)\n"
    "\n"
    "Exit: 0 all submitted, 65 bad input, 66 file missing, 1 refused, 69 unreachable.\n";

typedef struct {
    const char *title, *content, *category, *channel, *appeal, *district, *street, *address;
    const char *lat, *lon, *target_org, *urgency, *contact_name, *contact_phone, *external_ref;
    bool anonymous, confidential;
    bool any;                 /* some order flag was given */
} s_submit_flags_t;

/* Sends the built order and prints the outcome. */
static int s_submit_one(const cli_opts_t *opts, ob_workorder_t *wo)
{
    ob_msg_t m;
    Orderbus__V1__SubmitRequest req = ORDERBUS__V1__SUBMIT_REQUEST__INIT;
    req.order = wo;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SUBMIT;
    m.env.submit = &req;
    ob_envelope_t *answer = NULL;
    int rc = s_request(opts, &m, &answer);
    if (rc != 0)
        return rc;
    rc = s_print_answer_order(opts, answer->answer, false);
    ob_wire_free(answer);
    return rc;
}

static int s_submit_flags(const cli_opts_t *opts, const s_submit_flags_t *f)
{
    static const char cmd[] = "submit";
    ob_workorder_t wo = ORDERBUS__V1__WORK_ORDER__INIT;
    Orderbus__V1__Location loc = ORDERBUS__V1__LOCATION__INIT;
    Orderbus__V1__Contact contact = ORDERBUS__V1__CONTACT__INIT;
    char *catbuf = NULL;
    char *cats[3];
    int rc;

    if ((!f->title || !*f->title) && (!f->content || !*f->content))
        return cli_usage_error(cmd, "give --title or --content (or a FILE.json, or --batch)");
    const struct {
        const char *opt, *val;
        size_t max;
    } texts[] = {
        {"--title", f->title, S_TITLE_MAX},       {"--content", f->content, S_CONTENT_MAX},
        {"--category", f->category, S_FIELD_MAX}, {"--district", f->district, S_FIELD_MAX},
        {"--street", f->street, S_FIELD_MAX},     {"--address", f->address, S_FIELD_MAX},
        {"--target-org", f->target_org, S_FIELD_MAX},
        {"--contact-name", f->contact_name, S_FIELD_MAX},
        {"--contact-phone", f->contact_phone, S_FIELD_MAX},
        {"--external-ref", f->external_ref, S_FIELD_MAX}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].val && (rc = s_check_text(cmd, texts[i].opt, texts[i].val, texts[i].max)))
            return rc;

    wo.title = (char *) (f->title ? f->title : "");
    wo.content = (char *) (f->content ? f->content : "");
    if (f->category && *f->category) {
        catbuf = strdup(f->category);
        if (!catbuf)
            return EX_OSERR;
        size_t n = 0;
        char *p = catbuf;
        for (;;) {
            char *slash = strchr(p, '/');
            if (slash)
                *slash = '\0';
            if (!*p || n == 3) {
                free(catbuf);
                return cli_usage_error(cmd, "--category wants 1 to 3 non-empty levels "
                                            "separated by '/'");
            }
            cats[n++] = p;
            if (!slash)
                break;
            p = slash + 1;
        }
        wo.category = cats;
        wo.n_category = n;
    }
    if (f->channel) {
        Orderbus__V1__Channel v;
        if (ob_channel_parse(f->channel, &v) < 0) {
            free(catbuf);
            return cli_usage_error(cmd, "unknown --channel '%s' (phone, web, app, wechat, "
                                        "email, letter, visit)", f->channel);
        }
        wo.channel = v;
    }
    if (f->appeal) {
        Orderbus__V1__AppealType v;
        if (ob_appeal_parse(f->appeal, &v) < 0) {
            free(catbuf);
            return cli_usage_error(cmd, "unknown --appeal '%s' (consultation, help, complaint, "
                                        "report, suggestion, praise)", f->appeal);
        }
        wo.appeal_type = v;
    }
    if (f->urgency) {
        Orderbus__V1__Urgency v;
        if (ob_urgency_parse(f->urgency, &v) < 0) {
            free(catbuf);
            return cli_usage_error(cmd, "unknown --urgency '%s' (normal, urgent, very_urgent)",
                                   f->urgency);
        }
        wo.urgency = v;
    }
    if (f->district || f->street || f->address || f->lat || f->lon) {
        loc.district_code = (char *) (f->district ? f->district : "");
        loc.street = (char *) (f->street ? f->street : "");
        loc.address = (char *) (f->address ? f->address : "");
        if (f->lat || f->lon) {
            char *end;
            if (!f->lat || !f->lon) {
                free(catbuf);
                return cli_usage_error(cmd, "--lat and --lon go together");
            }
            loc.lat = strtod(f->lat, &end);
            bool bad = *end || end == f->lat || loc.lat < -90 || loc.lat > 90;
            loc.lon = strtod(f->lon, &end);
            bad = bad || *end || end == f->lon || loc.lon < -180 || loc.lon > 180;
            if (bad) {
                free(catbuf);
                return cli_usage_error(cmd, "--lat wants -90..90 and --lon -180..180 (decimal "
                                            "degrees)");
            }
            loc.has_point = true;
        }
        wo.location = &loc;
    }
    wo.target_org = (char *) (f->target_org ? f->target_org : "");
    wo.anonymous = f->anonymous;
    wo.confidential = f->confidential;
    if (f->contact_name || f->contact_phone) {
        contact.name = (char *) (f->contact_name ? f->contact_name : "");
        contact.phone = (char *) (f->contact_phone ? f->contact_phone : "");
        wo.contact = &contact;
    }
    wo.external_ref = (char *) (f->external_ref ? f->external_ref : "");
    wo.received_at_ms = ob_now_ms();
    rc = s_submit_one(opts, &wo);
    free(catbuf);
    return rc;
}

static int s_submit_file(const cli_opts_t *opts, const char *path)
{
    char err[512];
    int rc;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "orderbus: cannot open '%s': %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    char *text = malloc(S_JSON_FILE_MAX + 1);
    if (!text) {
        fclose(f);
        return EX_OSERR;
    }
    size_t len = fread(text, 1, S_JSON_FILE_MAX + 1, f);
    bool readerr = ferror(f);
    fclose(f);
    if (readerr) {
        fprintf(stderr, "orderbus: cannot read '%s'\n", path);
        free(text);
        return EX_IOERR;
    }
    if (len > S_JSON_FILE_MAX) {
        fprintf(stderr, "orderbus: '%s' is larger than %d bytes\n", path, S_JSON_FILE_MAX);
        free(text);
        return EX_DATAERR;
    }
    ob_workorder_t *wo = ob_json_parse_workorder(text, len, err, sizeof err);
    free(text);
    if (!wo) {
        fprintf(stderr, "orderbus: '%s': %s\n", path, err);
        return EX_DATAERR;
    }
    if (wo->received_at_ms == 0)
        wo->received_at_ms = ob_now_ms();
    rc = s_submit_one(opts, wo);
    orderbus__v1__work_order__free_unpacked(wo, NULL);
    return rc;
}

typedef struct {
    uint8_t id[OB_ID_BYTES];
    long line;
    bool used;
} s_slot_t;

/* Reports a line that did not go out or was refused. */
static void s_batch_fail(const cli_opts_t *opts, long line, const char *msg)
{
    if (opts->json) {
        json_t *o = json_pack("{s:I, s:b, s:s}", "line", (json_int_t) line, "ok", 0, "error",
                              msg);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(o);
        }
    }
    else
        fprintf(stderr, "orderbus: line %ld: %s\n", line, msg);
}

static void s_batch_ok(const cli_opts_t *opts, long line, const ob_record_t *rec)
{
    char id[OB_ID_HEX];
    const ob_workorder_t *wo = rec->order;
    const char *case_no = wo && *wo->case_no ? wo->case_no : "-";
    s_hexid(id, wo ? wo->id : (ProtobufCBinaryData) {0, NULL});
    if (opts->json) {
        json_t *o = json_pack("{s:I, s:b, s:s, s:s, s:s, s:s}", "line", (json_int_t) line, "ok",
                              1, "case_no", case_no, "id", id, "state",
                              ob_state_name(rec->state), "dept", rec->dept);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(o);
        }
    }
    else
        printf("%6ld  %s  %s  %-16s  %s\n", line, case_no, id, ob_state_name(rec->state),
               *rec->dept ? rec->dept : "-");
}

/* Streams FILE.jsonl through a window of pipelined submits. Each line gets
   its own msg id; ob_client resends unanswered ones with the same id after
   a reconnect, and the broker deduplicates them. */
static int s_submit_batch(const cli_opts_t *opts, const char *path, long window)
{
    char err[512];
    int rc = 0;
    bool from_stdin = strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "orderbus: cannot open '%s': %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    s_slot_t *slots = calloc((size_t) window, sizeof *slots);
    ob_client_t *client = NULL;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0, nout = 0;
    unsigned long submitted = 0, failed = 0, data_err = 0, refused = 0;
    bool eof = false;
    if (!slots) {
        rc = EX_OSERR;
        goto out;
    }
    client = cli_broker_connect(opts);
    if (!client) {
        rc = cli_connect_failure();
        goto out;
    }
    int64_t last_progress = ob_now_ms();
    while (!eof || nout > 0) {
        while (!eof && nout < window) {
            ssize_t n = getline(&line, &cap, f);
            if (n < 0) {
                if (ferror(f)) {
                    fprintf(stderr, "orderbus: cannot read '%s' after line %ld\n", path, lineno);
                    rc = EX_IOERR;
                }
                eof = true;
                break;
            }
            lineno++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
            size_t skip = strspn(line, " \t");
            if (line[skip] == '\0')
                continue;   /* blank line */
            if (n > S_LINE_MAX) {
                s_batch_fail(opts, lineno, "line longer than 1 MiB");
                failed++;
                data_err++;
                continue;
            }
            ob_workorder_t *wo = ob_json_parse_workorder(line, (size_t) n, err, sizeof err);
            if (!wo) {
                s_batch_fail(opts, lineno, err);
                failed++;
                data_err++;
                continue;
            }
            if (wo->received_at_ms == 0)
                wo->received_at_ms = ob_now_ms();
            ob_msg_t m;
            Orderbus__V1__SubmitRequest req = ORDERBUS__V1__SUBMIT_REQUEST__INIT;
            req.order = wo;
            ob_msg_init(&m, S_SENDER);
            m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SUBMIT;
            m.env.submit = &req;
            int sent = ob_client_send(client, &m.env);
            orderbus__v1__work_order__free_unpacked(wo, NULL);
            if (sent < 0) {
                fprintf(stderr, "orderbus: out of memory at line %ld\n", lineno);
                rc = EX_OSERR;
                goto out;
            }
            for (long i = 0; i < window; i++)
                if (!slots[i].used) {
                    memcpy(slots[i].id, m.msg_id, OB_ID_BYTES);
                    slots[i].line = lineno;
                    slots[i].used = true;
                    break;
                }
            if (nout == 0)
                last_progress = ob_now_ms();
            nout++;
        }
        if (nout == 0)
            continue;
        ob_envelope_t *env = ob_client_recv(client, 100);
        if (!env) {
            if (ob_now_ms() - last_progress >= opts->timeout_ms) {
                fprintf(stderr, "orderbus: no answer from '%s' within %d ms (%ld requests "
                                "unanswered): is the broker running, and is this client's key "
                                "registered?\n", s_endpoint(opts), opts->timeout_ms, nout);
                rc = EX_UNAVAILABLE;
                goto out;
            }
            continue;
        }
        last_progress = ob_now_ms();
        const ob_answer_t *a = env->answer;
        long slot = -1;
        for (long i = 0; i < window && a->ref_msg_id.len == OB_ID_BYTES; i++)
            if (slots[i].used && memcmp(slots[i].id, a->ref_msg_id.data, OB_ID_BYTES) == 0)
                slot = i;
        if (slot < 0) {
            ob_wire_free(env);
            continue;
        }
        slots[slot].used = false;
        nout--;
        if (a->code == ORDERBUS__V1__ERROR_CODE__OK && a->order) {
            s_batch_ok(opts, slots[slot].line, a->order);
            submitted++;
        }
        else {
            s_batch_fail(opts, slots[slot].line,
                         a->message && *a->message ? a->message : ob_errcode_name(a->code));
            failed++;
            refused++;
        }
        ob_wire_free(env);
    }
    fprintf(opts->json ? stderr : stdout, "%lu submitted, %lu failed\n", submitted, failed);
    if (rc == 0)
        rc = data_err ? EX_DATAERR : refused ? CLI_REFUSED : 0;
out:
    ob_client_destroy(&client);
    free(line);
    free(slots);
    if (f && !from_stdin)
        fclose(f);
    return rc;
}

int cmd_submit(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "submit";
    enum { O_TITLE = 1, O_CONTENT, O_CATEGORY, O_CHANNEL, O_APPEAL, O_DISTRICT, O_STREET,
           O_ADDRESS, O_LAT, O_LON, O_TARGET, O_URGENCY, O_ANON, O_CONF, O_CNAME, O_CPHONE,
           O_EXTREF, O_BATCH, O_WINDOW };
    static const struct option longopts[] = {
        {"title", required_argument, NULL, O_TITLE},
        {"content", required_argument, NULL, O_CONTENT},
        {"category", required_argument, NULL, O_CATEGORY},
        {"channel", required_argument, NULL, O_CHANNEL},
        {"appeal", required_argument, NULL, O_APPEAL},
        {"district", required_argument, NULL, O_DISTRICT},
        {"street", required_argument, NULL, O_STREET},
        {"address", required_argument, NULL, O_ADDRESS},
        {"lat", required_argument, NULL, O_LAT},
        {"lon", required_argument, NULL, O_LON},
        {"target-org", required_argument, NULL, O_TARGET},
        {"urgency", required_argument, NULL, O_URGENCY},
        {"anonymous", no_argument, NULL, O_ANON},
        {"confidential", no_argument, NULL, O_CONF},
        {"contact-name", required_argument, NULL, O_CNAME},
        {"contact-phone", required_argument, NULL, O_CPHONE},
        {"external-ref", required_argument, NULL, O_EXTREF},
        {"batch", required_argument, NULL, O_BATCH},
        {"window", required_argument, NULL, O_WINDOW},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    s_submit_flags_t f = {0};
    const char *batch = NULL;
    long window = 64;
    bool window_set = false;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c >= O_TITLE && c <= O_EXTREF)
            f.any = true;
        switch (c) {
        case O_TITLE: f.title = optarg; break;
        case O_CONTENT: f.content = optarg; break;
        case O_CATEGORY: f.category = optarg; break;
        case O_CHANNEL: f.channel = optarg; break;
        case O_APPEAL: f.appeal = optarg; break;
        case O_DISTRICT: f.district = optarg; break;
        case O_STREET: f.street = optarg; break;
        case O_ADDRESS: f.address = optarg; break;
        case O_LAT: f.lat = optarg; break;
        case O_LON: f.lon = optarg; break;
        case O_TARGET: f.target_org = optarg; break;
        case O_URGENCY: f.urgency = optarg; break;
        case O_ANON: f.anonymous = true; break;
        case O_CONF: f.confidential = true; break;
        case O_CNAME: f.contact_name = optarg; break;
        case O_CPHONE: f.contact_phone = optarg; break;
        case O_EXTREF: f.external_ref = optarg; break;
        case O_BATCH: batch = optarg; break;
        case O_WINDOW:
            if (cli_parse_long(optarg, 1, 4096, &window) < 0)
                return cli_usage_error(cmd, "--window wants 1 to 4096, not '%s'", optarg);
            window_set = true;
            break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(s_submit_usage);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    int npos = argc - optind;
    if (npos > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (batch) {
        if (npos || f.any)
            return cli_usage_error(cmd, "--batch takes no other order flags or FILE");
        return s_submit_batch(&opts, batch, window);
    }
    if (window_set)
        return cli_usage_error(cmd, "--window goes with --batch");
    if (npos == 1) {
        if (f.any)
            return cli_usage_error(cmd, "give either FILE.json or order flags, not both");
        return s_submit_file(&opts, argv[optind]);
    }
    return s_submit_flags(&opts, &f);
}

/* ---- commands on one order ------------------------------------------------ */

/* Parses "CMD ID|CASE" with no options but --json and --help. */
static int s_simple_args(const char *cmd, const char *usage, cli_opts_t *opts, int argc,
                         char **argv, cli_ref_t *ref)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: opts->json = true; break;
        case 'h': cli_help(usage); return -1;
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (argc - optind < 1)
        return cli_usage_error(cmd, "missing ID|CASE");
    if (argc - optind > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    return cli_ref_parse(ref, cmd, argv[optind]);
}

static const char s_show_usage[] =
    "usage: orderbus show ID|CASE [--json]\n"
    "\n"
    "Prints every field of the order's record at the broker (the complainant's\n"
    "contact only when the broker sends it: dispatcher, supervisor and ops keys).\n";

int cmd_show(const cli_opts_t *gopts, int argc, char **argv)
{
    cli_opts_t opts = *gopts;
    cli_ref_t ref;
    int rc = s_simple_args("show", s_show_usage, &opts, argc, argv, &ref);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    ob_msg_t m;
    Orderbus__V1__GetRequest req = ORDERBUS__V1__GET_REQUEST__INIT;
    req.ref = &ref.ref;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_GET;
    m.env.get = &req;
    ob_envelope_t *answer = NULL;
    rc = s_request(&opts, &m, &answer);
    if (rc != 0)
        return rc;
    rc = s_print_answer_order(&opts, answer->answer, true);
    ob_wire_free(answer);
    return rc;
}

/* ---- list ------------------------------------------------------------------ */

static const char s_list_usage[] =
    "usage: orderbus list [--dept D] [--state S] [--limit N] [--json]\n"
    "\n"
    "Orders at the broker, ids ascending: case no, id, state, dept, title, age.\n"
    "  --dept D     only this department's orders\n"
    "  --state S    only orders in state S (e.g. IN_PROGRESS, pending-manual)\n"
    "  --limit N    at most N orders (default 1000)\n";

int cmd_list(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "list";
    enum { O_DEPT = 1, O_STATE, O_LIMIT };
    static const struct option longopts[] = {
        {"dept", required_argument, NULL, O_DEPT},
        {"state", required_argument, NULL, O_STATE},
        {"limit", required_argument, NULL, O_LIMIT},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    const char *dept = "";
    ob_state_t state = ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED;
    long limit = 1000;
    int c, rc = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DEPT: dept = optarg; break;
        case O_STATE:
            if (ob_state_parse(optarg, &state) < 0)
                return cli_usage_error(cmd, "unknown --state '%s'", optarg);
            break;
        case O_LIMIT:
            if (cli_parse_long(optarg, 1, 100000000, &limit) < 0)
                return cli_usage_error(cmd, "--limit wants a positive number, not '%s'", optarg);
            break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(s_list_usage);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

    static const char *const headers[] = {"case no", "id", "state", "dept", "title", "age"};
    cli_table_t *table = cli_table_new(6, headers);
    json_t *arr = json_array();
    ob_client_t *client = cli_broker_connect(&opts);
    uint8_t after[OB_ID_BYTES];
    bool have_after = false;
    long remaining = limit;
    if (!table || !arr) {
        rc = EX_OSERR;
        goto out;
    }
    if (!client) {
        rc = cli_connect_failure();
        goto out;
    }
    cli_table_align(table, 4, false, 40);
    cli_table_align(table, 5, true, 0);
    int64_t now = ob_now_ms();
    while (remaining > 0) {
        /* pages of at most 500: the answer must stay well under 1 MiB */
        uint32_t page = remaining > 500 ? 500 : (uint32_t) remaining;
        ob_msg_t m;
        Orderbus__V1__ListRequest req = ORDERBUS__V1__LIST_REQUEST__INIT;
        req.dept = (char *) dept;
        req.state = state;
        req.limit = page;
        if (have_after) {
            req.after_id.data = after;
            req.after_id.len = OB_ID_BYTES;
        }
        ob_msg_init(&m, S_SENDER);
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_LIST;
        m.env.list = &req;
        ob_envelope_t *env = cli_call(client, &m.env, &opts);
        if (!env) {
            rc = EX_UNAVAILABLE;
            goto out;
        }
        const ob_answer_t *a = env->answer;
        if ((rc = cli_answer_status(a)) != 0) {
            ob_wire_free(env);
            goto out;
        }
        size_t n = a->n_orders;
        for (size_t i = 0; i < n; i++) {
            const ob_record_t *rec = a->orders[i];
            const ob_workorder_t *wo = rec->order;
            if (opts.json) {
                json_array_append_new(arr, ob_json_from_record(rec, true));
                continue;
            }
            char id[OB_ID_HEX], age[32];
            const char *cells[6] = {
                wo ? wo->case_no : "", wo ? s_hexid(id, wo->id) : "",
                ob_state_name(rec->state), rec->dept,
                wo ? (*wo->title ? wo->title : wo->content) : "",
                rec->created_at_ms ? cli_age(age, sizeof age, now - rec->created_at_ms) : "-"};
            cli_table_add(table, cells);
        }
        bool more = n == page && n > 0 && a->orders[n - 1]->order
                    && a->orders[n - 1]->order->id.len == OB_ID_BYTES;
        if (more)
            memcpy(after, a->orders[n - 1]->order->id.data, OB_ID_BYTES);
        have_after = true;
        remaining -= (long) n;
        ob_wire_free(env);
        if (!more)
            break;
    }
    if (opts.json) {
        rc = cli_print_json(arr, false);
        arr = NULL;
    }
    else
        cli_table_print(table, stdout);
out:
    json_decref(arr);
    cli_table_destroy(&table);
    ob_client_destroy(&client);
    return rc;
}

/* ---- trace ------------------------------------------------------------------ */

static const char s_trace_usage[] =
    "usage: orderbus trace ID|CASE [--json]\n"
    "\n"
    "The order's journal, one line per event: time, event, from -> to, actor, dept,\n"
    "attempt, note.\n";

int cmd_trace(const cli_opts_t *gopts, int argc, char **argv)
{
    cli_opts_t opts = *gopts;
    cli_ref_t ref;
    int rc = s_simple_args("trace", s_trace_usage, &opts, argc, argv, &ref);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    ob_msg_t m;
    Orderbus__V1__TraceRequest req = ORDERBUS__V1__TRACE_REQUEST__INIT;
    req.ref = &ref.ref;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_TRACE;
    m.env.trace = &req;
    ob_envelope_t *answer = NULL;
    rc = s_request(&opts, &m, &answer);
    if (rc != 0)
        return rc;
    const ob_answer_t *a = answer->answer;
    if (opts.json) {
        json_t *doc = json_object();
        json_t *events = json_array();
        if (doc && events) {
            if (a->order)
                json_object_set_new(doc, "order", ob_json_from_record(a->order, true));
            for (size_t i = 0; i < a->n_events; i++)
                json_array_append_new(events, ob_json_from_journal(a->events[i]));
            json_object_set(doc, "events", events);
        }
        json_decref(events);
        rc = cli_print_json(doc, false);
        goto out;
    }
    if (a->order && a->order->order) {
        char id[OB_ID_HEX];
        printf("%s  %s  %s  %s\n\n", a->order->order->case_no, s_hexid(id, a->order->order->id),
               ob_state_name(a->order->state), *a->order->dept ? a->order->dept : "-");
    }
    static const char *const headers[] = {"time", "event", "from -> to", "actor", "dept",
                                          "attempt", "note"};
    cli_table_t *table = cli_table_new(7, headers);
    if (!table) {
        rc = EX_OSERR;
        goto out;
    }
    cli_table_align(table, 5, true, 0);
    for (size_t i = 0; i < a->n_events; i++) {
        const ob_journal_t *e = a->events[i];
        char t[40], fromto[64], actor[160], attempt[16], note[2048];
        cli_time(t, sizeof t, e->at_ms);
        snprintf(fromto, sizeof fromto, "%s -> %s", ob_state_name(e->from_state),
                 ob_state_name(e->to_state));
        if (e->actor && *e->actor->id)
            snprintf(actor, sizeof actor, "%s:%s", ob_role_name(e->actor->role), e->actor->id);
        else
            snprintf(actor, sizeof actor, "%s",
                     e->actor ? ob_role_name(e->actor->role) : "-");
        snprintf(attempt, sizeof attempt, "%u", e->attempt);
        size_t off = 0;
        note[0] = '\0';
#define S_NOTE(...)                                                                   \
    do {                                                                              \
        if (off < sizeof note)                                                        \
            off += (size_t) snprintf(note + off, sizeof note - off, __VA_ARGS__);     \
    } while (0)
        if (*e->note)
            S_NOTE("%s", e->note);
        if (*e->rule_id)
            S_NOTE("%srule %s%s%s", off ? "; " : "", e->rule_id, *e->rules_version ? "@" : "",
                   e->rules_version);
        if (e->result)
            S_NOTE("%sresult %s", off ? "; " : "", ob_result_name(e->result));
        if (e->satisfaction)
            S_NOTE("%s%s", off ? "; " : "", ob_satisfaction_name(e->satisfaction));
        if (*e->prev_dept)
            S_NOTE("%sfrom %s", off ? "; " : "", e->prev_dept);
#undef S_NOTE
        const char *cells[7] = {t, ob_event_name(e->event), fromto, actor, e->dept, attempt,
                                note};
        cli_table_add(table, cells);
    }
    cli_table_print(table, stdout);
    cli_table_destroy(&table);
out:
    ob_wire_free(answer);
    return rc;
}

/* ---- route, deny-return, review, callback ---------------------------------- */

static const char s_route_usage[] =
    "usage: orderbus route ID|CASE --dept D [--note T] [--json]\n"
    "\n"
    "Sends the order to department D: a manual route (PENDING_MANUAL), approval of a\n"
    "return (RETURN_REQUESTED), a re-route (DISPATCHED) or a re-dispatch (REOPENED).\n";
static const char s_deny_usage[] =
    "usage: orderbus deny-return ID|CASE [--note T] [--json]\n"
    "\n"
    "Refuses a department's return (终审): the order goes back to the same department.\n";
static const char s_review_usage[] =
    "usage: orderbus review ID|CASE --accept [--note T] [--json]\n"
    "       orderbus review ID|CASE --reject --note T [--json]\n"
    "\n"
    "Reviews a REPLIED order: --accept sends it to callback, --reject back to the\n"
    "department for rework (审核不通过), with a note saying what to redo.\n";
static const char s_callback_usage[] =
    "usage: orderbus callback ID|CASE --satisfaction S [--note T] [--json]\n"
    "\n"
    "Records the callback (回访) of a PENDING_CALLBACK order; S is satisfied, basic,\n"
    "unsatisfied (reopens the order) or unreachable.\n";

typedef enum { S_ROUTE, S_DENY, S_REVIEW, S_CALLBACK } s_action_t;

static int s_action(s_action_t action, const cli_opts_t *gopts, int argc, char **argv)
{
    static const char *const names[] = {"route", "deny-return", "review", "callback"};
    static const char *const usages[] = {s_route_usage, s_deny_usage, s_review_usage,
                                         s_callback_usage};
    const char *cmd = names[action];
    enum { O_DEPT = 1, O_NOTE, O_ACCEPT, O_REJECT, O_SAT };
    static const struct option longopts[] = {
        {"dept", required_argument, NULL, O_DEPT},
        {"note", required_argument, NULL, O_NOTE},
        {"accept", no_argument, NULL, O_ACCEPT},
        {"reject", no_argument, NULL, O_REJECT},
        {"satisfaction", required_argument, NULL, O_SAT},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    const char *dept = NULL, *note = "", *sat = NULL;
    int accept = 0, reject = 0, c, rc;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DEPT: dept = optarg; break;
        case O_NOTE: note = optarg; break;
        case O_ACCEPT: accept = 1; break;
        case O_REJECT: reject = 1; break;
        case O_SAT: sat = optarg; break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(usages[action]);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if ((dept && action != S_ROUTE) || ((accept || reject) && action != S_REVIEW)
        || (sat && action != S_CALLBACK))
        return cli_usage_error(cmd, "option '%s' does not apply here",
                               dept ? "--dept" : sat ? "--satisfaction" : "--accept/--reject");
    if (argc - optind < 1)
        return cli_usage_error(cmd, "missing ID|CASE");
    if (argc - optind > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    cli_ref_t ref;
    if ((rc = cli_ref_parse(&ref, cmd, argv[optind])) != 0)
        return rc;
    if ((rc = s_check_text(cmd, "--note", note, S_FIELD_MAX)) != 0)
        return rc;

    ob_msg_t m;
    ob_msg_init(&m, S_SENDER);
    Orderbus__V1__RouteRequest route = ORDERBUS__V1__ROUTE_REQUEST__INIT;
    Orderbus__V1__DenyReturnRequest deny = ORDERBUS__V1__DENY_RETURN_REQUEST__INIT;
    Orderbus__V1__ReviewRequest review = ORDERBUS__V1__REVIEW_REQUEST__INIT;
    Orderbus__V1__CallbackRequest callback = ORDERBUS__V1__CALLBACK_REQUEST__INIT;
    switch (action) {
    case S_ROUTE:
        if (!dept || !*dept)
            return cli_usage_error(cmd, "missing --dept D");
        if (strlen(dept) >= OB_DEPT_MAX)
            return cli_usage_error(cmd, "--dept is longer than %d bytes", OB_DEPT_MAX - 1);
        route.ref = &ref.ref;
        route.dept = (char *) dept;
        route.note = (char *) note;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_ROUTE;
        m.env.route = &route;
        break;
    case S_DENY:
        deny.ref = &ref.ref;
        deny.note = (char *) note;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DENY_RETURN;
        m.env.deny_return = &deny;
        break;
    case S_REVIEW:
        if (accept + reject != 1)
            return cli_usage_error(cmd, "give exactly one of --accept and --reject");
        if (reject && !*note)
            return cli_usage_error(cmd, "--reject needs --note T: what the department is to redo");
        review.ref = &ref.ref;
        review.accept = accept;
        review.note = (char *) note;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_REVIEW;
        m.env.review = &review;
        break;
    case S_CALLBACK: {
        Orderbus__V1__Satisfaction v;
        if (!sat)
            return cli_usage_error(cmd, "missing --satisfaction "
                                        "satisfied|basic|unsatisfied|unreachable");
        if (ob_satisfaction_parse(sat, &v) < 0 || v == 0)
            return cli_usage_error(cmd, "unknown --satisfaction '%s' (satisfied, basic, "
                                        "unsatisfied, unreachable)", sat);
        callback.ref = &ref.ref;
        callback.satisfaction = v;
        callback.note = (char *) note;
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_CALLBACK;
        m.env.callback = &callback;
        break;
    }
    }
    ob_envelope_t *answer = NULL;
    rc = s_request(&opts, &m, &answer);
    if (rc != 0)
        return rc;
    rc = s_print_answer_order(&opts, answer->answer, false);
    ob_wire_free(answer);
    return rc;
}

int cmd_route(const cli_opts_t *opts, int argc, char **argv)
{
    return s_action(S_ROUTE, opts, argc, argv);
}

int cmd_deny_return(const cli_opts_t *opts, int argc, char **argv)
{
    return s_action(S_DENY, opts, argc, argv);
}

int cmd_review(const cli_opts_t *opts, int argc, char **argv)
{
    return s_action(S_REVIEW, opts, argc, argv);
}

int cmd_callback(const cli_opts_t *opts, int argc, char **argv)
{
    return s_action(S_CALLBACK, opts, argc, argv);
}

/* ---- stats and status ---------------------------------------------------------- */

static const char s_stats_usage[] =
    "usage: orderbus stats [--dept D] [--json]\n"
    "\n"
    "Per-department figures computed from the journal: orders dispatched, signed,\n"
    "replied, closed, returned, reworked, reopened, median time to sign and to reply.\n";

int cmd_stats(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "stats";
    enum { O_DEPT = 1 };
    static const struct option longopts[] = {
        {"dept", required_argument, NULL, O_DEPT},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    const char *dept = "";
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DEPT: dept = optarg; break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(s_stats_usage);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    ob_msg_t m;
    Orderbus__V1__StatsRequest req = ORDERBUS__V1__STATS_REQUEST__INIT;
    req.dept = (char *) dept;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATS;
    m.env.stats = &req;
    ob_envelope_t *answer = NULL;
    if ((rc = s_request(&opts, &m, &answer)) != 0)
        return rc;
    const ob_answer_t *a = answer->answer;
    if (opts.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < a->n_stats; i++)
            json_array_append_new(arr, ob_json_from_stats(a->stats[i]));
        rc = cli_print_json(arr, false);
    }
    else
        cli_print_stats_table(stdout, a);
    ob_wire_free(answer);
    return rc;
}

static const char s_status_usage[] =
    "usage: orderbus status [--node DIR] [--json]\n"
    "\n"
    "Without --node: the broker (orders, journal seq, rules version, store usage) and\n"
    "every registered department (up/down, last heartbeat, outbox depth, inflight,\n"
    "open orders). With --node DIR (or ORDERBUS_NODE): that node's own status.\n";

static void s_mib(char *out, size_t len, uint64_t bytes)
{
    snprintf(out, len, "%.1f MiB", (double) bytes / (1024.0 * 1024.0));
}

static void s_print_broker_status(const Orderbus__V1__BrokerStatus *st)
{
    char buf[256], a[64], b[64];
    s_field("broker", st->software);
    cli_time(a, sizeof a, st->started_at_ms);
    cli_age(b, sizeof b, st->now_ms - st->started_at_ms);
    snprintf(buf, sizeof buf, "%s (up %s)", a, b);
    s_field("started", buf);
    s_field_u("orders", st->orders);
    s_field_u("journal seq", st->journal_seq);
    s_field("rules version", st->rules_version);
    s_mib(a, sizeof a, st->store_bytes);
    s_mib(b, sizeof b, st->map_bytes);
    snprintf(buf, sizeof buf, "%s used of %s (%.0f%%)", a, b,
             st->map_bytes ? 100.0 * (double) st->store_bytes / (double) st->map_bytes : 0.0);
    s_field("store", buf);
    if (st->n_states) {
        printf("\n");
        static const char *const sh[] = {"state", "orders"};
        cli_table_t *t = cli_table_new(2, sh);
        if (t) {
            cli_table_align(t, 1, true, 0);
            for (size_t i = 0; i < st->n_states; i++) {
                char n[32];
                snprintf(n, sizeof n, "%llu", (unsigned long long) st->states[i]->count);
                const char *cells[2] = {ob_state_name(st->states[i]->state), n};
                cli_table_add(t, cells);
            }
            cli_table_print(t, stdout);
            cli_table_destroy(&t);
        }
    }
    printf("\n");
    static const char *const headers[] = {"dept", "name", "link", "last heartbeat", "outbox",
                                          "inflight", "open orders"};
    cli_table_t *table = cli_table_new(7, headers);
    if (!table)
        return;
    cli_table_align(table, 1, false, 24);
    for (size_t c = 3; c < 7; c++)
        cli_table_align(table, c, true, 0);
    for (size_t i = 0; i < st->n_nodes; i++) {
        const Orderbus__V1__NodeStatus *n = st->nodes[i];
        char age[32], ob[32], inf[32], open[32];
        if (n->last_seen_ms > 0) {
            cli_age(age, sizeof age, st->now_ms - n->last_seen_ms);
            snprintf(age + strlen(age), sizeof age - strlen(age), " ago");
        }
        else
            snprintf(age, sizeof age, "never");
        snprintf(ob, sizeof ob, "%llu", (unsigned long long) n->outbox_depth);
        snprintf(inf, sizeof inf, "%llu", (unsigned long long) n->inflight);
        snprintf(open, sizeof open, "%llu", (unsigned long long) n->open_orders);
        const char *cells[7] = {n->dept, n->name, n->up ? "up" : "down", age, ob, inf, open};
        cli_table_add(table, cells);
    }
    cli_table_print(table, stdout);
    cli_table_destroy(&table);
}

int cmd_status(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "status";
    enum { O_NODE = 1 };
    static const struct option longopts[] = {
        {"node", required_argument, NULL, O_NODE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    int c, rc;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_NODE: opts.node = optarg; break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(s_status_usage);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (opts.node && *opts.node)
        return cli_node_status(&opts);

    ob_msg_t m;
    Orderbus__V1__StatusRequest req = ORDERBUS__V1__STATUS_REQUEST__INIT;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_STATUS;
    m.env.status = &req;
    ob_envelope_t *answer = NULL;
    if ((rc = s_request(&opts, &m, &answer)) != 0)
        return rc;
    const ob_answer_t *a = answer->answer;
    if (!a->status) {
        fprintf(stderr, "orderbus: the broker's answer holds no status\n");
        rc = EX_PROTOCOL;
    }
    else if (opts.json)
        rc = cli_print_json(ob_json_from_status(a->status), false);
    else
        s_print_broker_status(a->status);
    ob_wire_free(answer);
    return rc;
}
