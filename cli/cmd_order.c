/*  cmd_order.c — the commands that read one order or many at the broker:
    show (every field of the record), list (a table, read in pages) and
    trace (the order's journal); and the printing of an order that the
    state-changing commands share (cli_print_order). Everything printed for
    people goes through the sanitiser (cli_field, tables); --json prints
    what the broker sent, exactly.                                        */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_json.h"
#include "ob_order.h"
#include "ob_util.h"
#include "ob_wire.h"

#define S_LIST_PAGE 500   /* orders asked for per ListRequest: well under a frame */

/* ---- printing records ------------------------------------------------------ */

static const char *s_yes(bool v)
{
    return v ? "yes" : "no";
}

/* `n` strings joined by `sep` into buf (cut at its size). Returns buf. */
static const char *s_join(char *buf, size_t len, char *const *items, size_t n, const char *sep)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < len; i++)
        off += (size_t) snprintf(buf + off, len - off, "%s%s", i ? sep : "", items[i]);
    return buf;
}

static bool s_has_contact(const Orderbus__V1__Contact *c)
{
    return c && ((c->name && *c->name) || (c->phone && *c->phone) || (c->email && *c->email)
                 || (c->address && *c->address) || (c->id_number && *c->id_number));
}

/* Where the order stands at the broker: state, department, rule. */
static void s_print_routing(const ob_record_t *rec)
{
    char buf[OB_DEPT_MAX * (OB_ASSIST_MAX + 1)];
    cli_field("state", ob_state_name(rec->state));
    cli_field("dept", rec->dept);
    cli_field_u("attempt", rec->attempt);
    cli_field("rule", rec->rule_id);
    cli_field("rules version", rec->rules_version);
    cli_field_u("priority", rec->priority);
    cli_field("confidential", s_yes(rec->confidential));
    cli_field("assisting depts", s_join(buf, sizeof buf, rec->assist_depts,
                                        rec->n_assist_depts, ", "));
    if (rec->assist_deadline_ms)
        cli_field_time("assist due", rec->assist_deadline_ms);
    cli_field("transport", ob_transport_name(rec->transport));
    cli_field("transport error", rec->transport_error);
    if (rec->model_version && *rec->model_version)
        cli_field("routing model", rec->model_version);
    for (size_t i = 0; i < rec->n_suggestions; i++) {
        const Orderbus__V1__RouteSuggestion *sg = rec->suggestions[i];
        char label[32], line[512];
        snprintf(label, sizeof label, "suggestion %zu", i + 1);
        snprintf(line, sizeof line, "%s  p=%.2f  (%s; route %s --suggestion %zu)",
                 *sg->dept ? sg->dept : "-", sg->prob, sg->label,
                 rec->order && rec->order->case_no ? rec->order->case_no : "ID", i + 1);
        cli_field(label, line);
    }
}

/* The complaint as the citizen and the intake gave it. */
static void s_print_complaint(const ob_workorder_t *wo)
{
    char buf[4 * OB_SHORT_MAX];
    cli_field("title", wo->title);
    cli_field("content", wo->content);
    cli_field("category", s_join(buf, sizeof buf, wo->category, wo->n_category, " / "));
    cli_field("channel", ob_channel_name(wo->channel));
    cli_field("appeal type", ob_appeal_name(wo->appeal_type));
    cli_field("urgency", ob_urgency_name(wo->urgency));
    cli_field("anonymous", s_yes(wo->anonymous));
    cli_field("confidential", s_yes(wo->confidential));
    cli_field("target org", wo->target_org);
    const Orderbus__V1__Location *loc = wo->location;
    cli_field("district", loc ? loc->district_code : NULL);
    cli_field("street code", loc ? loc->street_code : NULL);
    cli_field("street", loc ? loc->street : NULL);
    cli_field("address", loc ? loc->address : NULL);
    if (loc && loc->has_point)
        snprintf(buf, sizeof buf, "%.6f, %.6f", loc->lat, loc->lon);
    else
        snprintf(buf, sizeof buf, "-");
    cli_field("lat, lon", buf);
    cli_field("external ref", wo->external_ref);
    cli_field_time("received at", wo->received_at_ms);
    if (s_has_contact(wo->contact)) {
        cli_field("contact name", wo->contact->name);
        cli_field("contact phone", wo->contact->phone);
        cli_field("contact email", wo->contact->email);
        cli_field("contact address", wo->contact->address);
        cli_field("contact id number", wo->contact->id_number);
    }
    if (wo->sealed_contact.len) {
        snprintf(buf, sizeof buf, "%zu bytes", wo->sealed_contact.len);
        cli_field("sealed contact", buf);
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
        cli_field("attachment", buf);
    }
}

/* The order's times, counts and the department's answer. */
static void s_print_history(const ob_record_t *rec)
{
    char buf[OB_DEPT_MAX * OB_TRIED_MAX];
    cli_field_time("created at", rec->created_at_ms);
    cli_field_time("dispatched at", rec->dispatched_at_ms);
    cli_field_time("last dispatch at", rec->last_dispatch_at_ms);
    cli_field_time("sign deadline", rec->sign_deadline_ms);
    cli_field_time("reply deadline", rec->reply_deadline_ms);
    cli_field_time("sign warning", rec->sign_warning_ms);
    cli_field_time("reply warning", rec->reply_warning_ms);
    cli_field_time("signed at", rec->signed_at_ms);
    cli_field_time("replied at", rec->replied_at_ms);
    cli_field_time("closed at", rec->closed_at_ms);
    cli_field_time("updated at", rec->updated_at_ms);
    cli_field_u("returns", rec->return_count);
    cli_field_u("reworks", rec->rework_count);
    cli_field_u("reopens", rec->reopen_count);
    cli_field("return reason", rec->return_reason);
    cli_field("returned by", s_join(buf, sizeof buf, rec->tried_depts, rec->n_tried_depts, ", "));
    cli_field("reply result", rec->reply_result ? ob_result_name(rec->reply_result) : NULL);
    cli_field("reply note", rec->reply_note);
    cli_field("satisfaction",
              rec->satisfaction ? ob_satisfaction_name(rec->satisfaction) : NULL);
    cli_field_u("last journal seq", rec->last_seq);
}

/* Every field of the record, labels in English. */
static void s_print_record(const ob_record_t *rec)
{
    char id[OB_ID_HEX];
    const ob_workorder_t *wo = rec->order;
    if (!wo) {
        printf("(the answer holds no work order)\n");
        return;
    }
    cli_field("case no", wo->case_no);
    cli_field("id", cli_hexid(id, wo->id));
    s_print_routing(rec);
    s_print_complaint(wo);
    s_print_history(rec);
}

/* One line after a state change: "CASE  ID  STATE  dept D  attempt N". */
static void s_print_outcome(const ob_record_t *rec)
{
    char id[OB_ID_HEX];
    const ob_workorder_t *wo = rec->order;
    printf("%s  %s  %s  dept %s  attempt %u\n", wo && *wo->case_no ? wo->case_no : "-",
           wo ? cli_hexid(id, wo->id) : "-", ob_state_name(rec->state),
           *rec->dept ? rec->dept : "-", rec->attempt);
}

int cli_print_order(const cli_opts_t *opts, const ob_answer_t *a, bool full)
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

/* ---- show, trace: one order ---------------------------------------------------- */

/* Parses "CMD ID|CASE [--json]" and asks the broker for the order with the
   request `body_case` (GET or TRACE). Returns 0 with the answer, or an exit
   code (0 after --help, with *answer_p NULL); the order's reference in
   *ref. */
static int s_one_order(const char *cmd, const char *usage, cli_opts_t *opts, int argc,
                       char **argv, int body_case, cli_ref_t *ref, ob_envelope_t **answer_p)
{
    const cli_option_t spec[] = {CLI_OPT_JSON(opts), CLI_OPT_END()};
    *answer_p = NULL;
    int rc = cli_parse(cmd, usage, spec, &argc, &argv);
    if (rc != 0)
        return cli_parsed(rc);
    if ((rc = cli_one_operand(cmd, argc, argv, "ID|CASE")) != 0
        || (rc = cli_ref_parse(ref, cmd, argv[0])) != 0)
        return rc;
    ob_msg_t m;
    Orderbus__V1__GetRequest get = ORDERBUS__V1__GET_REQUEST__INIT;
    Orderbus__V1__TraceRequest trace = ORDERBUS__V1__TRACE_REQUEST__INIT;
    cli_msg_init(&m, CLI_SENDER, NULL);
    m.env.body_case = body_case;
    if (body_case == ORDERBUS__V1__ENVELOPE__BODY_GET) {
        get.ref = &ref->ref;
        m.env.get = &get;
    }
    else {
        trace.ref = &ref->ref;
        m.env.trace = &trace;
    }
    return cli_broker_request(opts, &m, answer_p);
}

static const char s_show_usage[] =
    "usage: orderbus show ID|CASE [--json]\n"
    "\n"
    "Prints every field of the order's record at the broker (the complainant's\n"
    "contact only when the broker sends it: dispatcher, supervisor and ops keys).\n"
    "Control characters in the text are shown as U+FFFD (--json: exact).\n";

/* show ID|CASE [--json] */
int cmd_show(const cli_opts_t *gopts, int argc, char **argv)
{
    cli_opts_t opts = *gopts;
    cli_ref_t ref;
    ob_envelope_t *answer = NULL;
    int rc = s_one_order("show", s_show_usage, &opts, argc, argv,
                         ORDERBUS__V1__ENVELOPE__BODY_GET, &ref, &answer);
    if (rc == 0 && answer)
        rc = cli_print_order(&opts, answer->answer, true);
    ob_wire_free(answer);
    return rc;
}

static const char s_trace_usage[] =
    "usage: orderbus trace ID|CASE [--json]\n"
    "\n"
    "The order's journal, one line per event: time, event, from -> to, actor, dept,\n"
    "attempt, note.\n";

/* The note column of a journal event: its note, rule, result,
   satisfaction and the department it came from. Returns buf. */
static const char *s_trace_note(char *buf, size_t len, const ob_journal_t *e)
{
    size_t off = 0;
    buf[0] = '\0';
#define S_NOTE(...)                                                                   \
    do {                                                                              \
        if (off < len)                                                                \
            off += (size_t) snprintf(buf + off, len - off, __VA_ARGS__);              \
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
    return buf;
}

/* The pages after the first (`first`, already kept) while the broker says
   more follow: TraceRequest{ref, after_seq = the last entry's seq}. 0 or
   an exit code after a message. */
static int s_trace_rest(const cli_opts_t *opts, const cli_ref_t *ref, cli_pages_t *j)
{
    ob_client_t *client = NULL;
    int rc = 0;
    while (j->pages[j->n_pages - 1]->answer->more && j->n_items > 0) {
        if (!client && !(client = cli_broker_connect(opts))) {
            rc = cli_connect_failure();
            break;
        }
        ob_msg_t m;
        Orderbus__V1__TraceRequest req = ORDERBUS__V1__TRACE_REQUEST__INIT;
        req.ref = (Orderbus__V1__OrderRef *) &ref->ref;
        req.after_seq = ((const ob_journal_t *) j->items[j->n_items - 1])->seq;
        cli_msg_init(&m, CLI_SENDER, NULL);
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_TRACE;
        m.env.trace = &req;
        ob_envelope_t *env = cli_call(client, &m.env, opts);
        if (!env) {
            rc = EX_UNAVAILABLE;
            break;
        }
        if ((rc = cli_answer_status(env->answer)) != 0) {
            ob_wire_free(env);
            break;
        }
        size_t before = j->n_items;
        if (cli_pages_add(j, env, (void *const *) env->answer->events, env->answer->n_events) < 0) {
            rc = EX_OSERR;
            break;
        }
        if (j->n_items == before)
            break;   /* "more" with nothing in it: do not ask forever */
    }
    ob_client_destroy(&client);
    return rc;
}

static int s_trace_json(const ob_record_t *order, const cli_pages_t *j)
{
    json_t *doc = json_object();
    json_t *events = json_array();
    if (doc && events) {
        if (order)
            json_object_set_new(doc, "order", ob_json_from_record(order, true));
        for (size_t i = 0; i < j->n_items; i++)
            json_array_append_new(events, ob_json_from_journal(j->items[i]));
        json_object_set(doc, "events", events);
    }
    json_decref(events);
    return cli_print_json(doc, false);
}

static int s_trace_table(const ob_record_t *order, const cli_pages_t *j)
{
    static const char *const headers[] = {"time", "event", "from -> to", "actor", "dept",
                                          "attempt", "note"};
    if (order && order->order) {
        char id[OB_ID_HEX];
        printf("%s  %s  %s  %s\n\n", order->order->case_no, cli_hexid(id, order->order->id),
               ob_state_name(order->state), *order->dept ? order->dept : "-");
    }
    cli_table_t *table = cli_table_new(7, headers);
    if (!table)
        return EX_OSERR;
    cli_table_align(table, 5, true, 0);
    for (size_t i = 0; i < j->n_items; i++) {
        const ob_journal_t *e = j->items[i];
        char t[40], fromto[64], actor[160], attempt[16], note[2048];
        cli_time(t, sizeof t, e->at_ms);
        snprintf(fromto, sizeof fromto, "%s -> %s", ob_state_name(e->from_state),
                 ob_state_name(e->to_state));
        if (e->actor && *e->actor->id)
            snprintf(actor, sizeof actor, "%s:%s", ob_role_name(e->actor->role), e->actor->id);
        else
            snprintf(actor, sizeof actor, "%s", e->actor ? ob_role_name(e->actor->role) : "-");
        snprintf(attempt, sizeof attempt, "%u", e->attempt);
        const char *cells[7] = {t,       ob_event_name(e->event), fromto, actor, e->dept,
                                attempt, s_trace_note(note, sizeof note, e)};
        cli_table_add(table, cells);
    }
    cli_table_print(table, stdout);
    cli_table_destroy(&table);
    return 0;
}

/* trace ID|CASE [--json]: every page of the journal */
int cmd_trace(const cli_opts_t *gopts, int argc, char **argv)
{
    cli_opts_t opts = *gopts;
    cli_ref_t ref;
    ob_envelope_t *answer = NULL;
    cli_pages_t j = {0};
    int rc = s_one_order("trace", s_trace_usage, &opts, argc, argv,
                         ORDERBUS__V1__ENVELOPE__BODY_TRACE, &ref, &answer);
    if (rc != 0 || !answer)
        return rc;
    const ob_record_t *order = answer->answer->order;
    if (cli_pages_add(&j, answer, (void *const *) answer->answer->events,
                      answer->answer->n_events) < 0)
        rc = EX_OSERR;
    else
        rc = s_trace_rest(&opts, &ref, &j);
    if (rc == 0)
        rc = opts.json ? s_trace_json(order, &j) : s_trace_table(order, &j);
    cli_pages_clear(&j);
    return rc;
}

/* ---- list ---------------------------------------------------------------------- */

static const char s_list_usage[] =
    "usage: orderbus list [--dept D] [--state S] [--limit N] [--json]\n"
    "\n"
    "Orders at the broker, ids ascending: case no, id, state, dept, title, age.\n"
    "  --dept D     only this department's orders\n"
    "  --state S    only orders in state S (e.g. IN_PROGRESS, pending-manual)\n"
    "  --limit N    at most N orders (default 1000)\n";

/* cli_opt_fn for --state: any state name (ob_state_parse). */
static int s_opt_state(const char *cmd, const char *opt, const char *arg, void *value)
{
    if (ob_state_parse(arg, value) < 0)
        return cli_usage_error(cmd, "unknown %s '%s'", opt, arg);
    return 0;
}

/* One page of the listing into the table or the array. Returns the number
   of orders, the last id in `after` when there may be more (*more). */
static size_t s_list_page(const cli_opts_t *opts, const ob_answer_t *a, cli_table_t *table,
                          json_t *arr, uint32_t page, uint8_t after[OB_ID_BYTES], bool *more)
{
    int64_t now = ob_now_ms();
    size_t n = a->n_orders;
    for (size_t i = 0; i < n; i++) {
        const ob_record_t *rec = a->orders[i];
        const ob_workorder_t *wo = rec->order;
        if (opts->json) {
            json_array_append_new(arr, ob_json_from_record(rec, true));
            continue;
        }
        char id[OB_ID_HEX], age[32], guess[OB_DEPT_MAX + 16];
        const char *dept = rec->dept;
        if (!*dept && rec->n_suggestions) {   /* the model's best guess, marked as one */
            snprintf(guess, sizeof guess, "%s? %.0f%%",
                     *rec->suggestions[0]->dept ? rec->suggestions[0]->dept : "-",
                     100 * rec->suggestions[0]->prob);
            dept = guess;
        }
        const char *cells[6] = {
            wo ? wo->case_no : "", wo ? cli_hexid(id, wo->id) : "", ob_state_name(rec->state),
            dept, wo ? (*wo->title ? wo->title : wo->content) : "",
            rec->created_at_ms ? cli_age(age, sizeof age, now - rec->created_at_ms) : "-"};
        cli_table_add(table, cells);
    }
    /* a page may stop early at the answer budget and say so (a->more) */
    *more = (a->more || n == page) && n > 0 && a->orders[n - 1]->order
            && a->orders[n - 1]->order->id.len == OB_ID_BYTES;
    if (*more)
        memcpy(after, a->orders[n - 1]->order->id.data, OB_ID_BYTES);
    return n;
}

/* list [--dept D] [--state S] [--limit N] [--json] */
int cmd_list(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "list";
    static const char *const headers[] = {"case no", "id", "state", "dept", "title", "age"};
    cli_opts_t opts = *gopts;
    const char *dept = "";
    ob_state_t state = ORDERBUS__V1__ORDER_STATE__STATE_UNSPECIFIED;
    long remaining = 1000;
    const cli_option_t spec[] = {
        CLI_OPT_STRING("dept", &dept), CLI_OPT_CALLBACK("state", &state, s_opt_state),
        CLI_OPT_LONG("limit", &remaining, 1, 100000000), CLI_OPT_JSON(&opts), CLI_OPT_END()};
    int rc = cli_parse(cmd, s_list_usage, spec, &argc, &argv);
    if (rc != 0 || (rc = cli_no_operand(cmd, argc, argv)) != 0)
        return cli_parsed(rc);

    cli_table_t *table = cli_table_new(6, headers);
    json_t *arr = json_array();
    ob_client_t *client = cli_broker_connect(&opts);
    uint8_t after[OB_ID_BYTES];
    bool more = true, have_after = false;
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
    while (remaining > 0 && more) {
        uint32_t page = remaining > S_LIST_PAGE ? S_LIST_PAGE : (uint32_t) remaining;
        ob_msg_t m;
        Orderbus__V1__ListRequest req = ORDERBUS__V1__LIST_REQUEST__INIT;
        req.dept = (char *) dept;
        req.state = state;
        req.limit = page;
        if (have_after) {
            req.after_id.data = after;
            req.after_id.len = OB_ID_BYTES;
        }
        cli_msg_init(&m, CLI_SENDER, NULL);
        m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_LIST;
        m.env.list = &req;
        ob_envelope_t *env = cli_call(client, &m.env, &opts);
        if (!env) {
            rc = EX_UNAVAILABLE;
            goto out;
        }
        if ((rc = cli_answer_status(env->answer)) == 0)
            remaining -= (long) s_list_page(&opts, env->answer, table, arr, page, after, &more);
        have_after = true;
        ob_wire_free(env);
        if (rc != 0)
            goto out;
    }
    rc = cli_print_listing(opts.json, table, &arr);
out:
    json_decref(arr);
    cli_table_destroy(&table);
    ob_client_destroy(&client);
    return rc;
}
