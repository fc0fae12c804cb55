/*  cmd_rules.c — `orderbus rules`: check rule files, explain how a rule
    file routes orders, and ask the broker to reload its rule file.

    check and test work on local files only (no broker): they load the
    file with the same engine the broker runs (lib/ob_rules.c). The output
    formats are documented in router-rules/README.md; the `--batch --json`
    lines are read by scripts (accuracy tests), so their keys only grow.  */
#include "cli.h"
#include "ob_json.h"
#include "ob_rules.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <getopt.h>

#define S_SENDER "orderbus-cli"
#define S_ORDER_FILE_MAX (4 * 1024 * 1024)

enum { OPT_JSON = 1000, OPT_ORDER, OPT_BATCH, OPT_EXPLAIN };

static const char s_rules_usage[] =
    "NAME\n"
    "    orderbus rules - check and try routing rule files; reload the broker's rules\n"
    "\n"
    "SYNOPSIS\n"
    "    orderbus rules check FILE...\n"
    "    orderbus rules test FILE --order ORDER.json [--json]\n"
    "    orderbus rules test FILE --batch ORDERS.jsonl [--explain] [--json]\n"
    "    orderbus rules reload\n"
    "    orderbus rules learn --from FILE|--from-store DIR --out MODEL (see rules learn --help)\n"
    "    orderbus rules model MODEL [--title T] [--content C] (see rules model --help)\n"
    "\n"
    "DESCRIPTION\n"
    "    check   validates each rule file whole and prints one line per problem,\n"
    "            FILE:LINE:COLUMN: error: MESSAGE or ...: warning: MESSAGE (rules that\n"
    "            can never decide; rules of one priority with different decisions that\n"
    "            one order can match both of; FILE: warning: for categories that no\n"
    "            taxonomy checks). Exit 1 when any file has an error. For a file\n"
    "            naming a model (`model:`): its version, labels, threshold, memory and\n"
    "            the load time, on stderr.\n"
    "    test    routes an order (JSON as for `orderbus submit`) with FILE: the decision,\n"
    "            and for every rule whether it matches or the condition that fails.\n"
    "            --batch routes one order per line; keys starting with '_' are copied\n"
    "            to the output line; --explain adds, for each line, the rules that do\n"
    "            not match and why (as --order shows them). --json: one JSON object\n"
    "            (per line with --batch; with --explain it has the \"rules\" of --order).\n"
    "            Exit 65 when an order is not valid (--batch: after every line).\n"
    "    reload  asks the broker to reload its rule file (as SIGHUP does); a bad file is\n"
    "            refused with FILE:LINE:COLUMN and the old rules keep running (exit 1).\n"
    "\n"
    "    The format: router-rules/README.md and docs/RULES.md.\n";

/* --- check ---------------------------------------------------------------- */

typedef struct {
    int errors, warnings;
    json_t *list;  /* --json: the problems */
} s_check_t;

static void s_diag(void *arg, bool warning, const char *path, size_t line, size_t col,
                   const char *message)
{
    s_check_t *check = arg;
    if (warning)
        check->warnings++;
    else
        check->errors++;
    if (check->list) {
        json_array_append_new(check->list,
                              json_pack("{s:s, s:I, s:I, s:s, s:s}", "file", path, "line",
                                        (json_int_t) line, "column", (json_int_t) col,
                                        "severity", warning ? "warning" : "error", "message",
                                        message));
        return;
    }
    if (line)
        printf("%s:%zu:%zu: %s: %s\n", path, line, col, warning ? "warning" : "error", message);
    else
        printf("%s: %s: %s\n", path, warning ? "warning" : "error", message);
}

/* For a valid file naming a model: what the model is and costs, on stderr. */
static void s_check_model(const char *path)
{
    char err[1024];
    uint64_t t0 = ob_mono_us();
    ob_rules_t *rules = ob_rules_load(path, err, sizeof err);
    double ms = (double) (ob_mono_us() - t0) / 1000.0;
    ob_textclass_t *model = rules ? ob_rules_model(rules) : NULL;
    if (model)
        fprintf(stderr, "%s: model %s (version %s): %zu labels, threshold %.3f, %.1f MiB; rules "
                        "and model loaded in %.1f ms\n",
                path, ob_rules_model_file(rules), ob_textclass_version(model),
                ob_textclass_labels_count(model), ob_rules_model_threshold(rules),
                (double) ob_textclass_memory(model) / 1048576.0, ms);
    ob_rules_destroy(&rules);
}

static int s_check(const cli_opts_t *opts, int argc, char **argv)
{
    if (argc < 1)
        return cli_usage_error("rules check", "missing FILE");
    s_check_t check = {0, 0, opts->json ? json_array() : NULL};
    int failed = 0;
    for (int i = 0; i < argc; i++) {
        if (ob_rules_check(argv[i], s_diag, &check) > 0)
            failed++;
        else
            s_check_model(argv[i]);
    }
    if (check.list)
        cli_print_json(json_pack("{s:o, s:i, s:i}", "problems", check.list, "errors",
                                 check.errors, "warnings", check.warnings),
                       false);
    else
        fprintf(stderr, "orderbus rules check: %d file%s, %d error%s, %d warning%s\n", argc,
                argc == 1 ? "" : "s", check.errors, check.errors == 1 ? "" : "s",
                check.warnings, check.warnings == 1 ? "" : "s");
    return failed ? CLI_REFUSED : 0;
}

/* --- test ----------------------------------------------------------------- */

/* "15d" or "24h", as rule files write it. */
static void s_duration(char *out, size_t n, ob_limit_t limit)
{
    if (limit.days)
        snprintf(out, n, "%ud", limit.days);
    else
        snprintf(out, n, "%uh", limit.hours);
}

static json_t *s_str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* The decision as the JSON of router-rules/README.md (without "line"). */
static json_t *s_route_json(const ob_route_t *r)
{
    json_t *assist = json_array();
    for (size_t i = 0; i < r->n_assist; i++)
        json_array_append_new(assist, json_string(r->assist[i]));
    json_t *reject = r->decision == OB_DECISION_REJECT
                         ? json_pack("{s:s, s:o}", "reason", r->reason, "referral",
                                     s_str_or_null(r->referral))
                         : json_null();
    json_t *transfer = r->decision == OB_DECISION_TRANSFER
                           ? json_pack("{s:s, s:s, s:o}", "site", r->site, "name",
                                       r->site_name, "reason", s_str_or_null(r->reason))
                           : json_null();
    json_t *manual = r->decision == OB_DECISION_MANUAL ? s_str_or_null(r->reason) : json_null();
    char sign[16], reply[16];
    s_duration(sign, sizeof sign, r->sign_within);
    s_duration(reply, sizeof reply, r->reply_within);
    return json_pack("{s:s, s:b, s:o, s:o, s:s, s:o, s:i, s:b, s:o, s:o, s:o, s:o, "
                     "s:s, s:s, s:s}",
                     "decided_by", r->decided ? "rule" : r->by_model ? "model" : "none",
                     "matched", r->decided, "rule_id", s_str_or_null(r->rule_id), "lead",
                     r->matched ? json_string(r->dept) : json_null(), "decision",
                     ob_decision_name(r->decision), "assist", assist, "priority",
                     (int) r->priority, "confidential", r->confidential, "recused",
                     s_str_or_null(r->recused), "reject", reject, "transfer", transfer,
                     "manual", manual, "sign_within", sign, "reply_within", reply, "version",
                     r->version);
}

/* Every rule as tried: [{"id", "priority", "line", "matched", "why"}]. */
static json_t *s_explain_json(const ob_rule_explain_t *items, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:b, s:o}", "id", items[i].rule_id,
                                              "priority", (json_int_t) items[i].priority, "line",
                                              (json_int_t) items[i].line, "matched",
                                              items[i].matched, "why",
                                              s_str_or_null(items[i].why)));
    return list;
}

#define S_NGRAMS 8   /* n-grams shown for the model's label */

/* What the model said of the order (null when it was not asked):
   version, probability, threshold, whether it decided, the suggestions,
   and with `wo` the n-grams that weighed most for its top label. */
static json_t *s_model_json(ob_rules_t *rules, const ob_route_t *r, const ob_workorder_t *wo)
{
    if (!r->model_version[0])
        return json_null();
    json_t *sugg = json_array();
    for (size_t i = 0; i < r->n_suggest; i++)
        json_array_append_new(sugg, json_pack("{s:s, s:o, s:f}", "label", r->suggest[i].label,
                                              "dept", s_str_or_null(r->suggest[i].dept),
                                              "prob", r->suggest[i].prob));
    json_t *doc = json_pack("{s:s, s:s, s:f, s:f, s:b, s:o}", "file",
                            ob_rules_model_file(rules), "version", r->model_version, "prob",
                            r->model_prob, "threshold", r->model_threshold, "decided",
                            r->by_model, "suggestions", sugg);
    if (wo && r->n_suggest) {
        ob_textclass_gram_t g[S_NGRAMS];
        size_t n = ob_textclass_explain(ob_rules_model(rules), wo->title, wo->content,
                                        r->suggest[0].label, g, S_NGRAMS);
        json_t *grams = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(grams, json_pack("{s:s, s:s, s:f}", "gram", g[i].gram, "field",
                                                   g[i].title ? "title" : "content", "weight",
                                                   g[i].weight));
        json_object_set_new(doc, "ngrams", grams);
    }
    return doc;
}

/* The model's lines of `rules test --order` (nothing when not asked). */
static void s_print_model(ob_rules_t *rules, const ob_route_t *r, const ob_workorder_t *wo)
{
    if (!r->model_version[0])
        return;
    printf("model:      %s (version %s): %s '%s', probability %.3f %s threshold %.3f\n",
           ob_rules_model_file(rules), r->model_version, r->by_model ? "decided" : "unsure of",
           r->n_suggest ? r->suggest[0].label : "-", r->model_prob,
           r->model_prob >= r->model_threshold ? ">=" : "<", r->model_threshold);
    if (r->by_model && r->rule_id[0])
        printf("via rule:   %s (the rule that dispatches '%s')\n", r->rule_id,
               r->suggest[0].label);
    for (size_t i = 0; i < r->n_suggest; i++)
        printf("%s%zu. %s -> %s, %.3f\n", i ? "            " : "suggested:  ", i + 1,
               r->suggest[i].label, r->suggest[i].dept[0] ? r->suggest[i].dept : "(no department)",
               r->suggest[i].prob);
    ob_textclass_gram_t g[S_NGRAMS];
    size_t n = r->n_suggest ? ob_textclass_explain(ob_rules_model(rules), wo->title, wo->content,
                                                   r->suggest[0].label, g, S_NGRAMS)
                            : 0;
    printf("n-grams:    ");
    for (size_t i = 0; i < n; i++)
        printf("%s%s (%s %.3f)", i ? ", " : "", g[i].gram, g[i].title ? "title" : "content",
               g[i].weight);
    printf("%s\n", n ? "" : "none the model knows");
}

static void s_print_dept(ob_rules_t *rules, const char *id)
{
    const char *name = ob_rules_dept_lookup(rules, id);
    printf("%s%s%s%s", id, name ? " (" : "", name ? name : "", name ? ")" : "");
}

/* Human output of one routing with the explanation of every rule. */
static void s_print_explain(ob_rules_t *rules, const char *file, const ob_route_t *r,
                            const ob_rule_explain_t *items, size_t n, const ob_workorder_t *wo)
{
    printf("rules:      %s (version %s, %zu rule%s)\n", file, ob_rules_version(rules), n,
           n == 1 ? "" : "s");
    printf("decision:   ");
    switch (r->decision) {
    case OB_DECISION_DISPATCH:
        printf("dispatch to ");
        s_print_dept(rules, r->dept);
        printf("\n");
        break;
    case OB_DECISION_REJECT:
        printf("reject (不予受理): %s", r->reason);
        if (r->referral[0])
            printf("; refer to %s", r->referral);
        printf("\n");
        break;
    case OB_DECISION_TRANSFER:
        printf("transfer to site %s (%s)%s%s\n", r->site, r->site_name, r->reason[0] ? ": " : "",
               r->reason);
        break;
    default:
        printf("manual (PENDING_MANUAL)%s%s\n", r->reason[0] ? ": " : "",
               r->reason[0] ? r->reason : r->decided ? "" : ": no rule matched");
        break;
    }
    if (r->decided)
        for (size_t i = 0; i < n; i++)
            if (strcmp(items[i].rule_id, r->rule_id) == 0)
                printf("rule:       %s (line %zu, priority %ld)\n", r->rule_id, items[i].line,
                       items[i].priority);
    s_print_model(rules, r, wo);
    if (r->recused[0])
        printf("recusal:    %s removed: the order complains about it\n", r->recused);
    for (size_t i = 0; i < r->n_assist; i++) {
        printf("%s", i ? "            " : "assist:     ");
        s_print_dept(rules, r->assist[i]);
        printf("\n");
    }
    char sign[16], reply[16], assist[16];
    s_duration(sign, sizeof sign, r->sign_within);
    s_duration(reply, sizeof reply, r->reply_within);
    s_duration(assist, sizeof assist, r->assist_within);
    printf("deadlines:  sign within %s, reply within %s%s%s%s\n", sign, reply,
           r->n_assist ? ", assist opinion within " : "", r->n_assist ? assist : "",
           r->decision == OB_DECISION_DISPATCH ? "" : " (for a manual routing)");
    printf("priority:   %u%s\n", r->priority, r->confidential ? "  confidential (保密)" : "");
    printf("\nevery rule, in the order tried:\n");
    bool decided = false;
    for (size_t i = 0; i < n; i++) {
        const ob_rule_explain_t *it = &items[i];
        bool decider = r->decided && !decided && strcmp(it->rule_id, r->rule_id) == 0;
        printf("  %s %s (line %zu, priority %ld): ", decider ? "*" : " ", it->rule_id, it->line,
               it->priority);
        if (decider)
            printf("matches: decided\n");
        else if (it->matched)
            printf("matches, but an earlier rule decided\n");
        else
            printf("no: %s\n", it->why);
        decided = decided || decider;
    }
}

/* Reads a whole (small) file; NULL and an exit code in *rc on failure. */
static char *s_read(const char *path, size_t *len, int *rc)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "orderbus: cannot open '%s': %s\n", path, strerror(errno));
        *rc = EX_NOINPUT;
        return NULL;
    }
    char *text = malloc(S_ORDER_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, S_ORDER_FILE_MAX + 1, f) : 0;
    bool bad = !text || ferror(f) || n > S_ORDER_FILE_MAX;
    fclose(f);
    if (bad) {
        fprintf(stderr, "orderbus: cannot read '%s'%s\n", path,
                n > S_ORDER_FILE_MAX ? ": larger than 4 MiB" : "");
        free(text);
        *rc = EX_DATAERR;
        return NULL;
    }
    *len = n;
    return text;
}

static int s_test_one(const cli_opts_t *opts, ob_rules_t *rules, const char *file,
                      const char *order_path)
{
    int rc = 0;
    size_t len;
    char err[512];
    char *text = s_read(order_path, &len, &rc);
    if (!text)
        return rc;
    ob_workorder_t *wo = ob_json_parse_workorder(text, len, err, sizeof err);
    free(text);
    if (!wo) {
        fprintf(stderr, "orderbus: '%s': %s\n", order_path, err);
        return EX_DATAERR;
    }
    size_t n = ob_rules_count(rules);
    ob_rule_explain_t *items = calloc(n ? n : 1, sizeof *items);
    ob_route_t route;
    if (!items) {
        orderbus__v1__work_order__free_unpacked(wo, NULL);
        return EX_OSERR;
    }
    n = ob_rules_explain(rules, wo, &route, items, n);
    if (opts->json) {
        json_t *doc = s_route_json(&route);
        json_object_set_new(doc, "model", s_model_json(rules, &route, wo));
        json_object_set_new(doc, "rules", s_explain_json(items, n));
        rc = cli_print_json(doc, false);
    }
    else
        s_print_explain(rules, file, &route, items, n, wo);
    free(items);
    orderbus__v1__work_order__free_unpacked(wo, NULL);
    return rc;
}

static bool s_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

/* The human line of one order of --batch: the decision and who made it;
   for manual, the model's suggestions; with --explain, why the rules that
   do not match do not. */
static void s_print_batch_line(size_t lineno, const ob_route_t *r,
                               const ob_rule_explain_t *items, size_t nitems)
{
    char by_model[OB_ROUTE_LABEL_MAX + 64];
    snprintf(by_model, sizeof by_model, " by the model ('%s', %.3f)",
             r->n_suggest ? r->suggest[0].label : "", r->model_prob);
    printf("%zu: %s%s%s%s%s\n", lineno, ob_decision_name(r->decision), r->matched ? " " : "",
           r->matched ? r->dept : "",
           r->decided    ? " by rule "
           : r->by_model ? by_model
                         : " (no rule matched)",
           r->decided ? r->rule_id : "");
    for (size_t i = 0; !r->decided && !r->by_model && i < r->n_suggest; i++)
        printf("    suggestion %zu: %s -> %s, %.3f\n", i + 1, r->suggest[i].label,
               r->suggest[i].dept[0] ? r->suggest[i].dept : "(no department)",
               r->suggest[i].prob);
    for (size_t i = 0; i < nitems; i++)
        if (!items[i].matched)
            printf("    %s (line %zu, priority %ld): no: %s\n", items[i].rule_id, items[i].line,
                   items[i].priority, items[i].why);
}

/* One order per line; see router-rules/README.md for the JSON lines.
   With `explain`, each line also says why the rules that do not match
   do not: indented lines after the decision, or "rules" in its JSON. */
static int s_test_batch(const cli_opts_t *opts, ob_rules_t *rules, const char *path,
                        bool explain)
{
    size_t nrules = ob_rules_count(rules), nitems = 0;
    ob_rule_explain_t *items = explain ? calloc(nrules ? nrules : 1, sizeof *items) : NULL;
    if (explain && !items)
        return EX_OSERR;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "orderbus: cannot open '%s': %s\n", path, strerror(errno));
        free(items);
        return EX_NOINPUT;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    size_t counts[4] = {0}, errors = 0, total = 0;
    while ((got = getline(&line, &cap, f)) != -1) {
        lineno++;
        if (s_blank(line))
            continue;
        total++;
        char err[512] = "";
        json_error_t jerr;
        json_t *obj = json_loadb(line, (size_t) got, JSON_REJECT_DUPLICATES, &jerr);
        json_t *echo = json_object();
        ob_workorder_t *wo = NULL;
        if (!obj)
            snprintf(err, sizeof err, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        else if (!json_is_object(obj))
            snprintf(err, sizeof err, "a line must hold a JSON object (a work order)");
        else {
            const char *key;
            json_t *val, *tmp;
            json_object_foreach_safe(obj, tmp, key, val) {
                if (key[0] == '_') {
                    json_object_set(echo, key, val);
                    json_object_del(obj, key);
                }
            }
            wo = ob_json_to_workorder(obj, err, sizeof err);
        }
        json_decref(obj);
        ob_route_t route;
        json_t *model = NULL;   /* --json: what the model said (n-grams with --explain) */
        nitems = 0;
        if (wo) {
            if (explain)
                nitems = ob_rules_explain(rules, wo, &route, items, nrules);
            else
                ob_rules_route(rules, wo, &route);
            counts[route.decision]++;
            if (opts->json)
                model = s_model_json(rules, &route, explain ? wo : NULL);
            orderbus__v1__work_order__free_unpacked(wo, NULL);
        }
        else
            errors++;
        if (opts->json) {
            json_t *out = json_pack("{s:I}", "line", (json_int_t) lineno);
            json_t *body = wo ? s_route_json(&route)
                              : json_pack("{s:b, s:n, s:n, s:s, s:s}", "matched", 0, "rule_id",
                                          "lead", "decision", "error", "error", err);
            json_object_update(out, body);
            json_decref(body);
            if (model)
                json_object_set_new(out, "model", model);
            if (explain)
                json_object_set_new(out, "rules", s_explain_json(items, nitems));
            json_object_update(out, echo);
            char *dump = json_dumps(out, JSON_COMPACT);
            if (dump)
                printf("%s\n", dump);
            free(dump);
            json_decref(out);
        }
        else if (wo)
            s_print_batch_line(lineno, &route, items, nitems);
        else
            printf("%zu: error: %s\n", lineno, err);
        json_decref(echo);
    }
    free(line);
    free(items);
    if (f != stdin)
        fclose(f);
    if (!opts->json)
        printf("%zu orders: %zu dispatch, %zu manual, %zu reject, %zu transfer, %zu invalid\n",
               total, counts[OB_DECISION_DISPATCH], counts[OB_DECISION_MANUAL],
               counts[OB_DECISION_REJECT], counts[OB_DECISION_TRANSFER], errors);
    return errors ? EX_DATAERR : 0;
}

static int s_test(const cli_opts_t *gopts, int argc, char **argv)
{
    static const char cmd[] = "rules test";
    static const struct option longopts[] = {
        {"order", required_argument, NULL, OPT_ORDER},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_opts_t opts = *gopts;
    const char *order = NULL, *batch = NULL;
    bool explain = false;  /* --order always explains */
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ORDER: order = optarg; break;
        case OPT_BATCH: batch = optarg; break;
        case OPT_EXPLAIN: explain = true; break;
        case OPT_JSON: opts.json = true; break;
        case 'h': return cli_help(s_rules_usage);
        default: return cli_option_error(cmd, c, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error(cmd, "missing FILE (the rule file)");
    if (optind + 1 < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (!order == !batch)
        return cli_usage_error(cmd, "give one of --order ORDER.json or --batch FILE.jsonl");
    const char *file = argv[optind];
    char err[1024];
    ob_rules_t *rules = ob_rules_load(file, err, sizeof err);
    if (!rules) {
        fprintf(stderr, "orderbus: %s\n", err);
        return EX_DATAERR;
    }
    int rc = order ? s_test_one(&opts, rules, file, order)
                   : s_test_batch(&opts, rules, batch, explain);
    ob_rules_destroy(&rules);
    return rc;
}

/* --- reload --------------------------------------------------------------- */

static int s_reload(const cli_opts_t *opts)
{
    ob_msg_t m;
    Orderbus__V1__RulesReloadRequest req = ORDERBUS__V1__RULES_RELOAD_REQUEST__INIT;
    ob_msg_init(&m, S_SENDER);
    m.env.body_case = ORDERBUS__V1__ENVELOPE__BODY_RULES_RELOAD;
    m.env.rules_reload = &req;
    ob_client_t *client = cli_broker_connect(opts);
    if (!client)
        return cli_connect_failure();
    ob_envelope_t *answer = cli_call(client, &m.env, opts);
    ob_client_destroy(&client);
    if (!answer)
        return EX_UNAVAILABLE;
    const ob_answer_t *a = answer->answer;
    int rc = cli_answer_status(a);
    if (rc == 0) {
        const char *msg = a->message && *a->message ? a->message : "rules reloaded";
        if (opts->json)
            rc = cli_print_json(json_pack("{s:b, s:s}", "ok", 1, "message", msg), false);
        else
            printf("%s\n", msg);
    }
    ob_wire_free(answer);
    return rc;
}

/* --- entry ---------------------------------------------------------------- */

int cmd_rules(const cli_opts_t *opts, int argc, char **argv)
{
    static const char cmd[] = "rules";
    if (argc < 2)
        return cli_usage_error(cmd, "missing subcommand: check, test or reload");
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)
        return cli_help(s_rules_usage);
    if (strcmp(sub, "check") == 0) {
        cli_opts_t o = *opts;
        int first = 2;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0)
                o.json = true;
            else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                return cli_help(s_rules_usage);
            else if (argv[i][0] == '-' && argv[i][1])
                return cli_usage_error("rules check", "unknown option '%s'", argv[i]);
        }
        /* the files: every argument that is not an option */
        char **files = calloc((size_t) argc, sizeof *files);
        if (!files)
            return EX_OSERR;
        int n = 0;
        for (int i = first; i < argc; i++)
            if (!(argv[i][0] == '-' && argv[i][1]))
                files[n++] = argv[i];
        int rc = s_check(&o, n, files);
        free(files);
        return rc;
    }
    if (strcmp(sub, "test") == 0)
        return s_test(opts, argc - 1, argv + 1);
    if (strcmp(sub, "learn") == 0)
        return cmd_rules_learn(opts, argc - 1, argv + 1);
    if (strcmp(sub, "model") == 0)
        return cmd_rules_model(opts, argc - 1, argv + 1);
    if (strcmp(sub, "reload") == 0) {
        cli_opts_t o = *opts;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0)
                o.json = true;
            else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                return cli_help(s_rules_usage);
            else
                return cli_usage_error("rules reload", "unexpected argument '%s'", argv[i]);
        }
        return s_reload(&o);
    }
    return cli_usage_error(cmd, "unknown subcommand '%s': check, test or reload", sub);
}
