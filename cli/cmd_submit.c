/*  cmd_submit.c — `orderbus submit`: registers work orders with the broker
    from flags, from a JSON file, or from a JSON-lines batch pipelined
    through a window of requests. Every order is checked against the one
    table of field limits (ob_order_validate) before it goes out; a
    position must be finite and in range (--lat nan is refused).

    A single submit takes --msg-id HEX: when an earlier try timed out the
    CLI printed the id the request went out with, and a retry with that id
    is applied at most once by the broker (its answer names the first
    order). --external-ref stays the intake's own reference.              */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_json.h"
#include "ob_order.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <math.h>

#define S_JSON_FILE_MAX (4 * 1024 * 1024)
#define S_LINE_MAX (1024 * 1024)

static const char s_submit_usage[] =
    "usage: orderbus submit [--title T] [--content T] [--category A/B/C] [--channel C]\n"
    "                       [--appeal A] [--district D] [--street S] [--address A]\n"
    "                       [--lat X --lon Y] [--target-org O] [--urgency U] [--anonymous]\n"
    "                       [--confidential] [--contact-name N] [--contact-phone P]\n"
    "                       [--external-ref R] [--msg-id HEX]\n"
    "       orderbus submit FILE.json [--msg-id HEX]\n"
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
    "  --lat X --lon Y          the incident's position (both; finite, -90..90, -180..180)\n"
    "  --target-org O           the organisation complained about\n"
    "  --urgency U              normal, urgent, very_urgent\n"
    "  --anonymous, --confidential\n"
    "  --contact-name N, --contact-phone P   the complainant (personal data)\n"
    "  --external-ref R         the intake system's own reference\n"
    "  --msg-id HEX             retry a submit whose outcome was in doubt with the id it\n"
    "                           printed: the broker registers the order at most once\n"
    "  FILE.json                one order as a JSON object (proto field names)\n"
    "  --batch FILE.jsonl       one JSON order per line ('-': standard input), pipelined;\n"
    "                           prints one line per order and 'N submitted, N failed'\n"
    "  --window N               requests in flight in batch mode (default 64)\n"
    "  --json                   JSON output (batch: one object per line)\n"
    "\n"
    "Exit: 0 all submitted, 64 bad flags, 65 bad input, 66 file missing, 1 refused,\n"
    "69 unreachable or in doubt (the message says which, and the id to retry with).\n";

typedef struct {
    const char *title, *content, *category, *channel, *appeal, *district, *street, *address;
    const char *lat, *lon, *target_org, *urgency, *contact_name, *contact_phone, *external_ref;
    bool anonymous, confidential;
} s_submit_flags_t;

/* The storage an order built from flags borrows. */
typedef struct {
    ob_workorder_t wo;
    Orderbus__V1__Location loc;
    Orderbus__V1__Contact contact;
    char *cats[OB_CATEGORY_LEVELS];
    char *catbuf;                 /* the --category copy the levels point into */
} s_built_t;

/* A SubmitRequest for `wo` in m (with the id of `msg_id` when given). */
static void s_submit_msg(ob_msg_t *m, Orderbus__V1__SubmitRequest *req, ob_workorder_t *wo,
                         const cli_msg_id_t *msg_id)
{
    orderbus__v1__submit_request__init(req);
    req->order = wo;
    cli_msg_init(m, CLI_SENDER, msg_id);
    m->env.body_case = ORDERBUS__V1__ENVELOPE__BODY_SUBMIT;
    m->env.submit = req;
}

/* Sends one order (checked first) and prints the outcome. */
static int s_submit_one(const cli_opts_t *opts, ob_workorder_t *wo, const cli_msg_id_t *msg_id,
                        int bad_rc)
{
    char err[512];
    if (ob_order_validate(wo, err, sizeof err) < 0) {
        if (bad_rc == EX_USAGE)
            return cli_usage_error("submit", "%s", err);
        fprintf(stderr, "orderbus: %s\n", err);
        return bad_rc;
    }
    ob_msg_t m;
    Orderbus__V1__SubmitRequest req;
    s_submit_msg(&m, &req, wo, msg_id);
    ob_envelope_t *answer = NULL;
    int rc = cli_broker_request(opts, &m, &answer);
    if (rc != 0)
        return rc;
    rc = cli_print_order(opts, answer->answer, false);
    ob_wire_free(answer);
    return rc;
}

/* --category A/B/C into b->cats. 0 or EX_USAGE. */
static int s_categories(s_built_t *b, const char *category)
{
    b->catbuf = strdup(category);
    if (!b->catbuf)
        return EX_OSERR;
    size_t n = 0;
    for (char *p = b->catbuf;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (!*p || n == OB_CATEGORY_LEVELS)
            return cli_usage_error("submit", "--category wants 1 to %d non-empty levels "
                                             "separated by '/'", OB_CATEGORY_LEVELS);
        b->cats[n++] = p;
        if (!slash)
            break;
        p = slash + 1;
    }
    b->wo.category = b->cats;
    b->wo.n_category = n;
    return 0;
}

/* One coordinate: a finite decimal in [-max, max]. 0 or EX_USAGE. */
static int s_degrees(const char *opt, const char *s, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v) || v < -max || v > max)
        return cli_usage_error("submit", "%s wants a finite number of decimal degrees from "
                                         "%g to %g, not '%s'", opt, -max, max, s);
    *out = v;
    return 0;
}

/* The enumerations among the flags. 0 or EX_USAGE. */
static int s_enums(const s_submit_flags_t *f, ob_workorder_t *wo)
{
    static const char cmd[] = "submit";
    Orderbus__V1__Channel ch;
    Orderbus__V1__AppealType ap;
    Orderbus__V1__Urgency ur;
    if (f->channel && ob_channel_parse(f->channel, &ch) < 0)
        return cli_usage_error(cmd, "unknown --channel '%s' (phone, web, app, wechat, email, "
                                    "letter, visit)", f->channel);
    if (f->appeal && ob_appeal_parse(f->appeal, &ap) < 0)
        return cli_usage_error(cmd, "unknown --appeal '%s' (consultation, help, complaint, "
                                    "report, suggestion, praise)", f->appeal);
    if (f->urgency && ob_urgency_parse(f->urgency, &ur) < 0)
        return cli_usage_error(cmd, "unknown --urgency '%s' (normal, urgent, very_urgent)",
                               f->urgency);
    if (f->channel)
        wo->channel = ch;
    if (f->appeal)
        wo->appeal_type = ap;
    if (f->urgency)
        wo->urgency = ur;
    return 0;
}

/* The order the flags describe, into b. 0 or EX_USAGE. */
static int s_build(const s_submit_flags_t *f, s_built_t *b)
{
    int rc;
    if ((!f->title || !*f->title) && (!f->content || !*f->content))
        return cli_usage_error("submit", "give --title or --content (or a FILE.json, or --batch)");
    b->wo.title = (char *) (f->title ? f->title : "");
    b->wo.content = (char *) (f->content ? f->content : "");
    if (f->category && *f->category && (rc = s_categories(b, f->category)) != 0)
        return rc;
    if ((rc = s_enums(f, &b->wo)) != 0)
        return rc;
    if (f->district || f->street || f->address || f->lat || f->lon) {
        b->loc.district_code = (char *) (f->district ? f->district : "");
        b->loc.street = (char *) (f->street ? f->street : "");
        b->loc.address = (char *) (f->address ? f->address : "");
        if ((f->lat || f->lon) && (!f->lat || !f->lon))
            return cli_usage_error("submit", "--lat and --lon go together");
        if (f->lat) {
            if ((rc = s_degrees("--lat", f->lat, 90, &b->loc.lat)) != 0
                || (rc = s_degrees("--lon", f->lon, 180, &b->loc.lon)) != 0)
                return rc;
            b->loc.has_point = true;
        }
        b->wo.location = &b->loc;
    }
    b->wo.target_org = (char *) (f->target_org ? f->target_org : "");
    b->wo.anonymous = f->anonymous;
    b->wo.confidential = f->confidential;
    if (f->contact_name || f->contact_phone) {
        b->contact.name = (char *) (f->contact_name ? f->contact_name : "");
        b->contact.phone = (char *) (f->contact_phone ? f->contact_phone : "");
        b->wo.contact = &b->contact;
    }
    b->wo.external_ref = (char *) (f->external_ref ? f->external_ref : "");
    b->wo.received_at_ms = ob_now_ms();
    return 0;
}

static int s_submit_flags(const cli_opts_t *opts, const s_submit_flags_t *f,
                          const cli_msg_id_t *msg_id)
{
    s_built_t b = {.wo = ORDERBUS__V1__WORK_ORDER__INIT,
                   .loc = ORDERBUS__V1__LOCATION__INIT,
                   .contact = ORDERBUS__V1__CONTACT__INIT};
    int rc = s_build(f, &b);
    if (rc == 0)
        rc = s_submit_one(opts, &b.wo, msg_id, EX_USAGE);
    free(b.catbuf);
    return rc;
}

/* Reads a whole file of at most `max` bytes. Returns it (NUL-terminated,
   free it) with its length, or NULL with *rc an exit code after a message. */
static char *s_read_file(const char *path, size_t max, size_t *len, int *rc)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "orderbus: cannot open '%s': %s\n", path, strerror(errno));
        *rc = EX_NOINPUT;
        return NULL;
    }
    char *text = malloc(max + 1);
    *len = text ? fread(text, 1, max + 1, f) : 0;
    bool readerr = ferror(f);
    fclose(f);
    *rc = !text ? EX_OSERR : readerr ? EX_IOERR : *len > max ? EX_DATAERR : 0;
    if (*rc == EX_IOERR)
        fprintf(stderr, "orderbus: cannot read '%s'\n", path);
    else if (*rc == EX_DATAERR)
        fprintf(stderr, "orderbus: '%s' is larger than %zu bytes\n", path, max);
    if (*rc != 0) {
        free(text);
        return NULL;
    }
    text[*len] = '\0';
    return text;
}

static int s_submit_file(const cli_opts_t *opts, const char *path, const cli_msg_id_t *msg_id)
{
    char err[512];
    size_t len;
    int rc;
    char *text = s_read_file(path, S_JSON_FILE_MAX, &len, &rc);
    if (!text)
        return rc;
    ob_workorder_t *wo = ob_json_parse_workorder(text, len, err, sizeof err);
    free(text);
    if (!wo) {
        fprintf(stderr, "orderbus: '%s': %s\n", path, err);
        return EX_DATAERR;
    }
    if (wo->received_at_ms == 0)
        wo->received_at_ms = ob_now_ms();
    rc = s_submit_one(opts, wo, msg_id, EX_DATAERR);
    orderbus__v1__work_order__free_unpacked(wo, NULL);
    return rc;
}

/* ---- --batch: a window of pipelined submits ------------------------------------- */

typedef struct {
    uint8_t id[OB_ID_BYTES];
    long line;
    bool used;
} s_slot_t;

/* One batch run: the input, the window of requests in flight, the counts. */
typedef struct {
    const cli_opts_t *opts;
    const char *path;
    FILE *f;
    ob_client_t *client;
    s_slot_t *slots;
    long window, nout, lineno;
    char *line;
    size_t cap;
    bool eof;
    int read_rc;                  /* EX_IOERR when the input could not be read */
    unsigned long submitted, failed, data_err, refused;
} s_batch_t;

/* Reports a line that did not go out or was refused. */
static void s_batch_fail(s_batch_t *self, long line, const char *msg)
{
    self->failed++;
    if (self->opts->json) {
        json_t *o = json_pack("{s:I, s:b, s:s}", "line", (json_int_t) line, "ok", 0, "error",
                              msg);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT);
            fputc('\n', stdout);
            json_decref(o);
        }
        return;
    }
    fprintf(stderr, "orderbus: line %ld: ", line);
    cli_put_text(stderr, msg, strlen(msg), false, NULL);
    fputc('\n', stderr);
}

static void s_batch_ok(s_batch_t *self, long line, const ob_record_t *rec)
{
    char id[OB_ID_HEX];
    const ob_workorder_t *wo = rec->order;
    const char *case_no = wo && *wo->case_no ? wo->case_no : "-";
    cli_hexid(id, wo ? wo->id : (ProtobufCBinaryData) {0, NULL});
    self->submitted++;
    if (self->opts->json) {
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

/* The order on the next non-blank line, checked; NULL at the end of the
   input (self->eof) or after reporting a bad line (read on). */
static ob_workorder_t *s_batch_next(s_batch_t *self)
{
    char err[512];
    ssize_t n = getline(&self->line, &self->cap, self->f);
    if (n < 0) {
        if (ferror(self->f)) {
            fprintf(stderr, "orderbus: cannot read '%s' after line %ld\n", self->path,
                    self->lineno);
            self->read_rc = EX_IOERR;
        }
        self->eof = true;
        return NULL;
    }
    self->lineno++;
    while (n > 0 && (self->line[n - 1] == '\n' || self->line[n - 1] == '\r'))
        self->line[--n] = '\0';
    if (self->line[strspn(self->line, " \t")] == '\0')
        return NULL;   /* blank line */
    ob_workorder_t *wo = NULL;
    if (n > S_LINE_MAX)
        snprintf(err, sizeof err, "line longer than 1 MiB");
    else
        wo = ob_json_parse_workorder(self->line, (size_t) n, err, sizeof err);
    if (wo && ob_order_validate(wo, err, sizeof err) < 0) {
        orderbus__v1__work_order__free_unpacked(wo, NULL);
        wo = NULL;
    }
    if (!wo) {
        s_batch_fail(self, self->lineno, err);
        self->data_err++;
        return NULL;
    }
    if (wo->received_at_ms == 0)
        wo->received_at_ms = ob_now_ms();
    return wo;
}

/* Fills the window from the input. 0 or an exit code. */
static int s_batch_fill(s_batch_t *self)
{
    while (!self->eof && self->nout < self->window) {
        ob_workorder_t *wo = s_batch_next(self);
        if (!wo)
            continue;
        ob_msg_t m;
        Orderbus__V1__SubmitRequest req;
        s_submit_msg(&m, &req, wo, NULL);
        int sent = ob_client_send(self->client, &m.env);
        orderbus__v1__work_order__free_unpacked(wo, NULL);
        if (sent < 0) {
            fprintf(stderr, "orderbus: out of memory at line %ld\n", self->lineno);
            return EX_OSERR;
        }
        for (long i = 0; i < self->window; i++)
            if (!self->slots[i].used) {
                memcpy(self->slots[i].id, m.msg_id, OB_ID_BYTES);
                self->slots[i].line = self->lineno;
                self->slots[i].used = true;
                break;
            }
        self->nout++;
    }
    return 0;
}

/* Matches one answer to its line and reports it. */
static void s_batch_answer(s_batch_t *self, const ob_answer_t *a)
{
    long slot = -1;
    for (long i = 0; i < self->window && a->ref_msg_id.len == OB_ID_BYTES; i++)
        if (self->slots[i].used && memcmp(self->slots[i].id, a->ref_msg_id.data, OB_ID_BYTES) == 0)
            slot = i;
    if (slot < 0)
        return;
    self->slots[slot].used = false;
    self->nout--;
    if (a->code == ORDERBUS__V1__ERROR_CODE__OK && a->order)
        s_batch_ok(self, self->slots[slot].line, a->order);
    else {
        s_batch_fail(self, self->slots[slot].line,
                     a->message && *a->message ? a->message : ob_errcode_name(a->code));
        self->refused++;
    }
}

/* Streams FILE.jsonl through a window of pipelined submits. Each line gets
   its own msg id; ob_client resends unanswered ones with the same id after
   a reconnect, and the broker deduplicates them. */
static int s_submit_batch(const cli_opts_t *opts, const char *path, long window)
{
    int rc = 0;
    bool from_stdin = strcmp(path, "-") == 0;
    s_batch_t b = {.opts = opts, .path = path, .window = window};
    b.f = from_stdin ? stdin : fopen(path, "r");
    if (!b.f) {
        fprintf(stderr, "orderbus: cannot open '%s': %s\n", path, strerror(errno));
        return EX_NOINPUT;
    }
    b.slots = calloc((size_t) window, sizeof *b.slots);
    if (!b.slots) {
        rc = EX_OSERR;
        goto out;
    }
    if (!(b.client = cli_broker_connect(opts))) {
        rc = cli_connect_failure();
        goto out;
    }
    int64_t last_progress = ob_now_ms();
    while (rc == 0 && (!b.eof || b.nout > 0)) {
        long before = b.nout;
        rc = s_batch_fill(&b);
        if (before == 0 && b.nout > 0)
            last_progress = ob_now_ms();
        if (rc != 0 || b.nout == 0)
            continue;
        ob_envelope_t *env = ob_client_recv(b.client, 100);
        if (!env) {
            if (ob_now_ms() - last_progress >= opts->timeout_ms)
                rc = cli_batch_timeout(b.client, opts, b.nout);
            continue;
        }
        last_progress = ob_now_ms();
        s_batch_answer(&b, env->answer);
        ob_wire_free(env);
    }
    if (rc != 0)
        goto out;
    fprintf(opts->json ? stderr : stdout, "%lu submitted, %lu failed\n", b.submitted, b.failed);
    rc = b.read_rc ? b.read_rc : b.data_err ? EX_DATAERR : b.refused ? CLI_REFUSED : 0;
out:
    ob_client_destroy(&b.client);
    free(b.line);
    free(b.slots);
    if (b.f && !from_stdin)
        fclose(b.f);
    return rc;
}

/* ---- the command ---------------------------------------------------------------- */

/* True when some order flag was given. */
static bool s_any_flag(const s_submit_flags_t *f)
{
    const char *const s[] = {f->title,    f->content,      f->category,     f->channel,
                             f->appeal,   f->district,     f->street,       f->address,
                             f->lat,      f->lon,          f->target_org,   f->urgency,
                             f->contact_name, f->contact_phone, f->external_ref};
    bool any = f->anonymous || f->confidential;
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        any = any || s[i];
    return any;
}

/* submit [order flags] | submit FILE.json | submit --batch FILE.jsonl [--window N] */
int cmd_submit(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "submit";
    cli_opts_t opts = *gopts;
    s_submit_flags_t f = {0};
    const char *batch = NULL;
    long window = 0;
    cli_msg_id_t msg_id = {0};
    const cli_option_t spec[] = {
        CLI_OPT_STRING("title", &f.title),
        CLI_OPT_STRING("content", &f.content),
        CLI_OPT_STRING("category", &f.category),
        CLI_OPT_STRING("channel", &f.channel),
        CLI_OPT_STRING("appeal", &f.appeal),
        CLI_OPT_STRING("district", &f.district),
        CLI_OPT_STRING("street", &f.street),
        CLI_OPT_STRING("address", &f.address),
        CLI_OPT_STRING("lat", &f.lat),
        CLI_OPT_STRING("lon", &f.lon),
        CLI_OPT_STRING("target-org", &f.target_org),
        CLI_OPT_STRING("urgency", &f.urgency),
        CLI_OPT_BOOL("anonymous", &f.anonymous),
        CLI_OPT_BOOL("confidential", &f.confidential),
        CLI_OPT_STRING("contact-name", &f.contact_name),
        CLI_OPT_STRING("contact-phone", &f.contact_phone),
        CLI_OPT_STRING("external-ref", &f.external_ref),
        CLI_OPT_STRING("batch", &batch),
        CLI_OPT_LONG("window", &window, 1, 4096),
        CLI_OPT_MSG_ID(&msg_id),
        CLI_OPT_JSON(&opts),
        CLI_OPT_END()};
    int rc = cli_parse(cmd, s_submit_usage, spec, &argc, &argv);
    if (rc != 0)
        return cli_parsed(rc);
    bool any = s_any_flag(&f);
    if (argc > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
    if (batch) {
        if (argc || any)
            return cli_usage_error(cmd, "--batch takes no other order flags or FILE");
        if (msg_id.set)
            return cli_usage_error(cmd, "--msg-id goes with one order, not --batch");
        return s_submit_batch(&opts, batch, window ? window : 64);
    }
    if (window)
        return cli_usage_error(cmd, "--window goes with --batch");
    if (argc == 1) {
        if (any)
            return cli_usage_error(cmd, "give either FILE.json or order flags, not both");
        return s_submit_file(&opts, argv[0], &msg_id);
    }
    return s_submit_flags(&opts, &f, &msg_id);
}
