/*  cmd_dead.c — `orderbus dead list|requeue|drop`: the messages a
    department refused for good (dead letters), for ops.

      orderbus dead list [--dept D] [--json]
      orderbus dead requeue DEPT SEQ     queue it again at the end of DEPT's stream
      orderbus dead drop DEPT SEQ        forget it (the order stays as it is)   */
#include "cli.h"
#include "ob_names.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <jansson.h>

static const char s_usage[] =
    "usage: orderbus dead list [--dept D] [--json]\n"
    "       orderbus dead requeue DEPT SEQ\n"
    "       orderbus dead drop DEPT SEQ\n"
    "\n"
    "A message a department refused for good (a frame it could not read, a body\n"
    "it rejected every time) is dead-lettered at the broker so that the messages\n"
    "behind it still reach the department. The order shows transport FAILED with\n"
    "the reason. `requeue` sends it again (a Dispatch only while it is still the\n"
    "order's current attempt there), `drop` forgets it. Ops keys only.\n";

static json_t *s_json(const Orderbus__V1__DeadLetter *d)
{
    json_t *o = json_object();
    char at[48];
    json_object_set_new(o, "dept", json_string(d->dept));
    json_object_set_new(o, "seq", json_integer((json_int_t) d->seq));
    json_object_set_new(o, "case_no", json_string(d->case_no));
    json_object_set_new(o, "what", json_string(d->item ? ob_event_name(d->item->event) : "?"));
    json_object_set_new(o, "reason", json_string(d->reason));
    json_object_set_new(o, "refusals", json_integer(d->refusals));
    json_object_set_new(o, "at_ms", json_integer(d->at_ms));
    json_object_set_new(o, "at", json_string(cli_time(at, sizeof at, d->at_ms)));
    return o;
}

static int s_print(const cli_opts_t *opts, const ob_answer_t *a)
{
    if (opts->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < a->n_dead; i++)
            json_array_append_new(arr, s_json(a->dead[i]));
        return cli_print_json(arr, false);
    }
    static const char *const heads[] = {"dept", "seq", "case", "what", "refusals", "when",
                                        "reason"};
    cli_table_t *t = cli_table_new(7, heads);
    if (!t)
        return EX_SOFTWARE;
    for (size_t i = 0; i < a->n_dead; i++) {
        const Orderbus__V1__DeadLetter *d = a->dead[i];
        char seq[24], refusals[16], at[48];
        snprintf(seq, sizeof seq, "%llu", (unsigned long long) d->seq);
        snprintf(refusals, sizeof refusals, "%u", d->refusals);
        const char *cells[] = {d->dept, seq, *d->case_no ? d->case_no : "-",
                               d->item ? ob_event_name(d->item->event) : "?", refusals,
                               cli_time(at, sizeof at, d->at_ms), d->reason};
        cli_table_add(t, cells);
    }
    cli_table_print(t, stdout);
    cli_table_destroy(&t);
    printf("%zu dead letter%s\n", a->n_dead, a->n_dead == 1 ? "" : "s");
    return 0;
}

int cmd_dead(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "dead";
    cli_opts_t opts = *gopts;
    const char *dept = "";
    const cli_option_t spec[] = {CLI_OPT_STRING("dept", &dept), CLI_OPT_JSON(&opts),
                                 CLI_OPT_END()};
    int prc = cli_parse(cmd, s_usage, spec, &argc, &argv);
    if (prc != 0)
        return cli_parsed(prc);
    int next = 0;   /* the operands left: OP [DEPT SEQ] */
    Orderbus__V1__DeadRequest req = ORDERBUS__V1__DEAD_REQUEST__INIT;
    const char *op = next < argc ? argv[next++] : "";
    long seq = 0;
    if (strcmp(op, "list") == 0) {
        if (next < argc)
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[next]);
        req.op = ORDERBUS__V1__DEAD_REQUEST__OP__LIST;
    } else if (strcmp(op, "requeue") == 0 || strcmp(op, "drop") == 0) {
        if (argc - next != 2)
            return cli_usage_error(cmd, "%s needs DEPT and SEQ", op);
        dept = argv[next];
        if (cli_parse_long(argv[next + 1], 1, LONG_MAX, &seq) < 0)
            return cli_usage_error(cmd, "SEQ wants a positive number, not '%s'", argv[next + 1]);
        req.op = *op == 'r' ? ORDERBUS__V1__DEAD_REQUEST__OP__REQUEUE
                            : ORDERBUS__V1__DEAD_REQUEST__OP__DROP;
    } else
        return cli_usage_error(cmd, "list, requeue or drop, not '%s'", op);
    req.dept = (char *) dept;
    req.seq = (uint64_t) seq;
    ob_msg_t m;
    cli_msg_init(&m, "orderbus", NULL);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_DEAD;
    m.env.dead = &req;
    ob_client_t *client = cli_broker_connect(&opts);
    if (!client)
        return cli_connect_failure();
    ob_envelope_t *answer = cli_call(client, &m.env, &opts);
    ob_client_destroy(&client);
    if (!answer)
        return EX_UNAVAILABLE;
    int rc = cli_answer_status(answer->answer);
    if (rc == 0 && req.op == ORDERBUS__V1__DEAD_REQUEST__OP__LIST)
        rc = s_print(&opts, answer->answer);
    else if (rc == 0 && !opts.json)
        printf("%s seq %ld of '%s': %s\n", op, seq, dept,
               req.op == ORDERBUS__V1__DEAD_REQUEST__OP__REQUEUE ? "queued again" : "dropped");
    else if (rc == 0)
        rc = s_print(&opts, answer->answer);
    ob_wire_free(answer);
    return rc;
}
