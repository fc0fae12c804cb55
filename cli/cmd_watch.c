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
#include <getopt.h>
#include <signal.h>
#include <sysexits.h>
#include <zmq.h>

enum { OPT_JSON = 1000, OPT_DEPT, OPT_STATE, OPT_EVENT, OPT_COUNT, OPT_FOR };

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

int cmd_watch(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "watch";
    static const struct option longopts[] = {
        {"dept", required_argument, NULL, OPT_DEPT},
        {"state", required_argument, NULL, OPT_STATE},
        {"event", required_argument, NULL, OPT_EVENT},
        {"count", required_argument, NULL, OPT_COUNT},
        {"for", required_argument, NULL, OPT_FOR},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    const char *dept = NULL, *state = NULL, *event = NULL;
    long count = 0, for_ms = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DEPT: dept = optarg; break;
        case OPT_STATE: state = optarg; break;
        case OPT_EVENT: event = optarg; break;
        case OPT_COUNT:
            if (cli_parse_long(optarg, 1, 100000000, &count))
                return cli_usage_error(cmd, "--count wants a number from 1, not '%s'", optarg);
            break;
        case OPT_FOR:
            if (cli_parse_long(optarg, 1, 86400000, &for_ms))
                return cli_usage_error(cmd, "--for wants milliseconds from 1, not '%s'", optarg);
            break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(s_watch_usage);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
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

    int rc = EX_UNAVAILABLE;
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
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frame);
            continue;
        }
        bool more = zmq_msg_more(&frame);
        zmq_msg_close(&frame);   /* the topic */
        if (!more)
            continue;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, sub, 0) < 0) {
            zmq_msg_close(&frame);
            continue;
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
        if (!e)
            continue;   /* not a journal entry: a newer protocol, or garbage */
        bool keep = (!dept || strcmp(e->dept, dept) == 0) && (!state || e->to_state == st)
                    && (!event || (int) e->event == ev_value);
        if (keep) {
            seen++;
            if (opts.json) {
                json_t *doc = ob_json_from_journal(e);
                char *line = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
                if (line)
                    printf("%s\n", line);
                fflush(stdout);
                free(line);
                json_decref(doc);
            } else
                s_print_event(e);
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
