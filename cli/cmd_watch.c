/*  cmd_watch.c — `orderbus watch`: the broker's event stream, one line an
    event, for supervisors and scripts.

    Subscribes to the event stream (PUB; topic ev.<dept>.<STATE>.<EVENT>,
    then a packed JournalEntry: docs/PROTOCOL.md §2). The subscription is
    the longest topic prefix the filters allow, so the broker sends only
    what is asked for; an event filter given without a department and a
    state is applied here. The stream carries no free text (notes stay in
    the journal: `orderbus trace`), and it may drop events for a slow
    reader: it is a live view, the journal is the record.                   */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_json.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <signal.h>
#include <sysexits.h>
#include <zmq.h>


static const char s_watch_usage[] =
    "usage: orderbus watch [--dept D] [--state S] [--event E] [--count N] [--for MS] [--json]\n"
    "\n"
    "Prints the broker's events as they happen, one line each: time, case number,\n"
    "event, state before and after, department, attempt, who. --dept, --state and\n"
    "--event keep only matching events (e.g. --dept housing --event SIGN); --count N\n"
    "stops after N events, --for MS after MS milliseconds (without either, it runs\n"
    "until interrupted). --json prints one JSON object a line. The event endpoint\n"
    "comes from --events or the config file's `events`.\n"
    "\n"
    "Exit status: 0 (N events seen, or the time was up), 64 bad usage, 69 the\n"
    "stream cannot be reached, 78 no event endpoint configured.\n";

static volatile sig_atomic_t s_interrupted = 0;

static void s_on_signal(int sig)
{
    (void) sig;
    s_interrupted = 1;
}

/* One event as a line of the table (no header: a stream has no end). */
static void s_print_event(const ob_journal_t *e)
{
    char t[40], who[160];
    cli_time(t, sizeof t, e->at_ms);
    if (e->actor && *e->actor->id)
        snprintf(who, sizeof who, "%s:%s", ob_role_name(e->actor->role), e->actor->id);
    else
        snprintf(who, sizeof who, "%s", e->actor ? ob_role_name(e->actor->role) : "-");
    printf("%s  %s  %-14s %s -> %s  %s  attempt %u  %s%s%s\n", t,
           *e->case_no ? e->case_no : "-", ob_event_name(e->event), ob_state_name(e->from_state),
           ob_state_name(e->to_state), *e->dept ? e->dept : "-", e->attempt, who,
           *e->rule_id ? "  rule " : "", e->rule_id);
    fflush(stdout);
}

/* The next event on `sub` (topic frame, then one JournalEntry frame), or
   NULL: nothing waiting, or not a journal entry (a newer protocol, or
   garbage). */
static ob_journal_t *s_recv_event(void *sub)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, sub, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return NULL;
    }
    bool more = zmq_msg_more(&frame);
    zmq_msg_close(&frame);   /* the topic */
    if (!more)
        return NULL;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, sub, 0) < 0) {
        zmq_msg_close(&frame);
        return NULL;
    }
    ob_journal_t *e = NULL;
    if (!zmq_msg_more(&frame) && zmq_msg_size(&frame) <= OB_MAX_FRAME)
        e = orderbus__v1__journal_entry__unpack(NULL, zmq_msg_size(&frame),
                                                zmq_msg_data(&frame));
    while (zmq_msg_more(&frame)) {   /* unexpected extra frames: drop */
        zmq_msg_close(&frame);
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sub, 0) < 0)
            break;
    }
    zmq_msg_close(&frame);
    return e;
}

/* One event as a line, or as one compact JSON document. */
static void s_emit(const ob_journal_t *e, bool json)
{
    if (!json) {
        s_print_event(e);
        return;
    }
    json_t *doc = ob_json_from_journal(e);
    char *line = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (line)
        printf("%s\n", line);
    fflush(stdout);
    free(line);
    json_decref(doc);
}

/* watch [--dept D] [--state S] [--event E] [--count N] [--for MS] [--json] */
int cmd_watch(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "watch";
    cli_opts_t opts = *gopts;
    const char *dept = NULL, *state = NULL, *event = NULL;
    long count = 0, for_ms = 0;
    const cli_option_t spec[] = {
        CLI_OPT_STRING("dept", &dept),           CLI_OPT_STRING("state", &state),
        CLI_OPT_STRING("event", &event),         CLI_OPT_LONG("count", &count, 1, 100000000),
        CLI_OPT_LONG("for", &for_ms, 1, 86400000), CLI_OPT_JSON(&opts),
        CLI_OPT_END()};
    int rc = cli_parse(cmd, s_watch_usage, spec, &argc, &argv);
    if (rc != 0 || (rc = cli_no_operand(cmd, argc, argv)) != 0)
        return cli_parsed(rc);
    ob_state_t st;
    if (state && ob_state_parse(state, &st) != 0)
        return cli_usage_error(cmd, "unknown state '%s'", state);
    int ev_value = 0;
    if (event && ob_enum_parse(&orderbus__v1__order_event__descriptor, "EVENT_", event,
                               &ev_value) != 0)
        return cli_usage_error(cmd, "unknown event '%s'", event);
    if (dept && (!*dept || strlen(dept) >= OB_DEPT_MAX || strchr(dept, '.')))
        return cli_usage_error(cmd, "bad department id '%s'", dept);
    if (!opts.events || !*opts.events) {
        fprintf(stderr, "orderbus watch: no event endpoint: give --events or `events:` in the "
                        "config file\n");
        return EX_CONFIG;
    }

    /* the longest prefix the filters pin down */
    char topic[OB_DEPT_MAX + 64] = "ev.";
    if (dept) {
        snprintf(topic, sizeof topic, "ev.%s.", dept);
        if (state) {
            snprintf(topic, sizeof topic, "ev.%s.%s.", dept, ob_state_name(st));
            if (event)
                snprintf(topic, sizeof topic, "ev.%s.%s.%s", dept, ob_state_name(st),
                         ob_event_name(ev_value));
        }
    }

    rc = EX_UNAVAILABLE;
    void *ctx = zmq_ctx_new();
    void *sub = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
    if (!sub) {
        fprintf(stderr, "orderbus watch: cannot create a socket: %s\n", zmq_strerror(errno));
        goto out;
    }
    int linger = 0, hwm = 100000;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    if (zmq_connect(sub, opts.events) != 0) {
        fprintf(stderr, "orderbus watch: cannot connect to '%s': %s\n", opts.events,
                zmq_strerror(errno));
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rc = 0;
    long seen = 0;
    uint64_t until = for_ms ? ob_mono_us() + (uint64_t) for_ms * 1000 : 0;
    while (!s_interrupted && (!count || seen < count)) {
        long wait = 500;
        if (until) {
            uint64_t now = ob_mono_us();
            if (now >= until)
                break;
            if ((long) ((until - now) / 1000) + 1 < wait)
                wait = (long) ((until - now) / 1000) + 1;
        }
        zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, wait) <= 0)
            continue;
        ob_journal_t *e = s_recv_event(sub);
        if (!e)
            continue;   /* not a journal entry: a newer protocol, or garbage */
        bool keep = (!dept || strcmp(e->dept, dept) == 0) && (!state || e->to_state == st)
                    && (!event || (int) e->event == ev_value);
        if (keep) {
            seen++;
            s_emit(e, opts.json);
        }
        orderbus__v1__journal_entry__free_unpacked(e, NULL);
    }
out:
    if (sub)
        zmq_close(sub);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}
