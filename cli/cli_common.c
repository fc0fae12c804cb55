/*  cli_common.c — what every orderbus command shares: connecting to the
    broker's client service (CurveZMQ) or to a node's local service (ipc),
    one request/answer call with an error that names what the client saw of
    the connection (never connected, key refused, no answer in time) and,
    for a state-changing request, the id to retry it with; answer codes to
    exit codes, order references, usage errors.                            */
#include "cli.h"
#include "ob_fsm.h"
#include "ob_keys.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_connect_failure = EX_UNAVAILABLE;
static const char *s_peer = "broker";   /* what the last connection talks to */

int cli_connect_failure(void)
{
    return s_connect_failure;
}

/* Loads a key file, setting s_connect_failure by what went wrong. */
static ob_keypair_t *s_load_key(const char *path, bool need_secret, const char *what)
{
    char err[512];
    if (!path || !*path) {
        fprintf(stderr, "orderbus: no %s: give --%s FILE or set it in the config file\n",
                what, need_secret ? "key" : "broker-key");
        s_connect_failure = EX_USAGE;
        return NULL;
    }
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "orderbus: %s '%s' does not exist\n", what, path);
        s_connect_failure = EX_NOINPUT;
        return NULL;
    }
    ob_keypair_t *keys = ob_keys_load(path, need_secret, err, sizeof err);
    if (!keys) {
        fprintf(stderr, "orderbus: %s\n", err);
        s_connect_failure = EX_CONFIG;
    }
    return keys;
}

ob_client_t *cli_broker_connect(const cli_opts_t *opts)
{
    char err[512];
    ob_client_t *client = NULL;
    ob_keypair_t *server = NULL, *keys = NULL;
    const char *endpoint = opts->broker && *opts->broker ? opts->broker : "tcp://127.0.0.1:5571";

    s_peer = "broker";
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        server = s_load_key(opts->broker_key, false, "broker key");
        if (!server)
            goto out;
        keys = s_load_key(opts->key, true, "client key");
        if (!keys)
            goto out;
    }
    else if (strncmp(endpoint, "ipc://", 6) != 0 && strncmp(endpoint, "inproc://", 9) != 0) {
        fprintf(stderr, "orderbus: broker endpoint '%s' is not tcp://HOST:PORT\n", endpoint);
        s_connect_failure = EX_USAGE;
        goto out;
    }
    client = ob_client_new(endpoint, server, keys, err, sizeof err);
    if (!client) {
        fprintf(stderr, "orderbus: %s\n", err);
        s_connect_failure = EX_CONFIG;
    }
out:
    ob_keys_destroy(&server);
    ob_keys_destroy(&keys);
    return client;
}

ob_client_t *cli_node_connect(const cli_opts_t *opts)
{
    char err[512], endpoint[620], sock[600];
    s_peer = "node";
    if (!opts->node || !*opts->node) {
        fprintf(stderr, "orderbus: no node: give --node DIR (the node's data directory) "
                        "or set ORDERBUS_NODE\n");
        s_connect_failure = EX_USAGE;
        return NULL;
    }
    struct stat st;
    if (stat(opts->node, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "orderbus: node directory '%s' does not exist\n", opts->node);
        s_connect_failure = EX_NOINPUT;
        return NULL;
    }
    snprintf(sock, sizeof sock, "%s/node.sock", opts->node);
    if (stat(sock, &st) != 0) {
        fprintf(stderr, "orderbus: node is not running: no socket '%s' "
                        "(start orderbus-node --data %s)\n", sock, opts->node);
        s_connect_failure = EX_UNAVAILABLE;
        return NULL;
    }
    if (strlen(sock) > 100) {
        fprintf(stderr, "orderbus: node socket path '%s' is too long for ipc\n", sock);
        s_connect_failure = EX_CONFIG;
        return NULL;
    }
    snprintf(endpoint, sizeof endpoint, "ipc://%s", sock);
    ob_client_t *client = ob_client_new(endpoint, NULL, NULL, err, sizeof err);
    if (!client) {
        fprintf(stderr, "orderbus: %s\n", err);
        s_connect_failure = EX_UNAVAILABLE;
    }
    return client;
}

/* True for the requests that change an order: a time-out leaves their
   outcome in doubt. */
static bool s_mutating(int body_case)
{
    switch (body_case) {
    case ORDERBUS__V1__ENVELOPE__BODY_SUBMIT:
    case ORDERBUS__V1__ENVELOPE__BODY_ROUTE:
    case ORDERBUS__V1__ENVELOPE__BODY_DENY_RETURN:
    case ORDERBUS__V1__ENVELOPE__BODY_REVIEW:
    case ORDERBUS__V1__ENVELOPE__BODY_CALLBACK:
    case ORDERBUS__V1__ENVELOPE__BODY_SIGN:
    case ORDERBUS__V1__ENVELOPE__BODY_PROGRESS:
    case ORDERBUS__V1__ENVELOPE__BODY_RETURN_REQUEST:
    case ORDERBUS__V1__ENVELOPE__BODY_REPLY:
        return true;
    default:
        return false;
    }
}

/* The likely cause of a time-out, from what the client saw of the link. */
static const char *s_cause(ob_client_link_t link, bool broker)
{
    switch (link) {
    case OB_CLIENT_NEVER_CONNECTED:
        return broker ? "no connection could be made: is the broker running, and is --broker "
                        "its client endpoint?"
                      : "no connection could be made: is orderbus-node running?";
    case OB_CLIENT_REFUSED:
        return "the broker refused this client's key in the handshake: is the key registered "
               "(orderbus admin add-client)?";
    case OB_CLIENT_HANDSHAKE_FAILED:
        return broker ? "connected, but the Curve handshake failed: is --broker-key the "
                        "broker's public key, and is this client's key registered (orderbus "
                        "admin add-client)?"
                      : "connected, but the handshake with the node failed";
    case OB_CLIENT_HANDSHAKING:
        return broker ? "connected, but the broker did not finish the handshake in time: it "
                        "is stalled or overloaded"
                      : "connected, but the node did not finish the handshake in time: it is "
                        "stalled or overloaded";
    case OB_CLIENT_READY:
        return broker ? "connected, the broker has the request but did not answer in time: "
                        "it is busy (a longer --timeout may help)"
                      : "connected, the node has the request but did not answer in time: it "
                        "is busy (a longer --timeout may help)";
    case OB_CLIENT_LOST:
        return broker ? "the connection to the broker dropped: is it still running?"
                      : "the connection to the node dropped: is orderbus-node still running?";
    }
    return "";
}

ob_envelope_t *cli_call(ob_client_t *client, const ob_envelope_t *req, const cli_opts_t *opts)
{
    char err[512], id[OB_ID_HEX];
    int timeout = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    ob_envelope_t *answer = ob_client_call(client, req, timeout, err, sizeof err);
    if (answer)
        return answer;
    ob_client_link_t link = ob_client_link(client);
    fprintf(stderr, "orderbus: %s: %s\n", err, s_cause(link, strcmp(s_peer, "broker") == 0));
    if (!s_mutating(req->body_case))
        return NULL;
    if (link == OB_CLIENT_REFUSED || link == OB_CLIENT_HANDSHAKE_FAILED) {
        fprintf(stderr, "orderbus: nothing was applied: the %s never accepted the connection\n",
                s_peer);
        return NULL;
    }
    cli_hexid(id, req->msg_id);
    fprintf(stderr, "orderbus: the outcome is in doubt (%s); retry with the same id, which "
                    "is applied at most once: --msg-id %s\n",
            link == OB_CLIENT_NEVER_CONNECTED ? "most likely not applied: no connection was made"
                                              : "it may or may not have been applied",
            id);
    return NULL;
}

int cli_batch_timeout(ob_client_t *client, const cli_opts_t *opts, long nout)
{
    ob_client_link_t link = ob_client_link(client);
    fprintf(stderr, "orderbus: no answer from '%s' within %d ms (%ld requests unanswered): %s\n",
            opts->broker && *opts->broker ? opts->broker : "tcp://127.0.0.1:5571",
            opts->timeout_ms, nout, s_cause(link, true));
    if (link != OB_CLIENT_REFUSED && link != OB_CLIENT_HANDSHAKE_FAILED)
        fprintf(stderr, "orderbus: the outcome of those %ld lines is in doubt: check with "
                        "'orderbus list' before submitting them again\n", nout);
    return EX_UNAVAILABLE;
}

int cli_broker_request(const cli_opts_t *opts, ob_msg_t *m, ob_envelope_t **answer_p)
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

int cli_pages_add(cli_pages_t *self, ob_envelope_t *env, void *const *items, size_t n)
{
    if (self->n_pages == self->cap_pages) {
        size_t cap = self->cap_pages ? 2 * self->cap_pages : 8;
        ob_envelope_t **p = realloc(self->pages, cap * sizeof *p);
        if (!p) {
            ob_wire_free(env);
            return -1;
        }
        self->pages = p;
        self->cap_pages = cap;
    }
    self->pages[self->n_pages++] = env;
    if (self->n_items + n > self->cap_items) {
        size_t cap = self->cap_items ? 2 * self->cap_items : 1024;
        while (cap < self->n_items + n)
            cap *= 2;
        void **it = realloc(self->items, cap * sizeof *it);
        if (!it)
            return -1;
        self->items = it;
        self->cap_items = cap;
    }
    for (size_t i = 0; i < n; i++)
        self->items[self->n_items++] = items[i];
    return 0;
}

void cli_pages_clear(cli_pages_t *self)
{
    for (size_t i = 0; i < self->n_pages; i++)
        ob_wire_free(self->pages[i]);
    free(self->pages);
    free(self->items);
    memset(self, 0, sizeof *self);
}

int cli_answer_status(const ob_answer_t *answer)
{
    if (!answer) {
        fprintf(stderr, "orderbus: no answer\n");
        return EX_SOFTWARE;
    }
    if (answer->code == ORDERBUS__V1__ERROR_CODE__OK)
        return 0;
    if (answer->message && *answer->message) {
        fputs("orderbus: ", stderr);
        cli_put_text(stderr, answer->message, strlen(answer->message), false, NULL);
        fputc('\n', stderr);
    }
    else
        fprintf(stderr, "orderbus: refused: %s\n", ob_errcode_name(answer->code));
    return CLI_REFUSED;
}

int cli_ref_parse(cli_ref_t *self, const char *cmd, const char *arg)
{
    Orderbus__V1__OrderRef init = ORDERBUS__V1__ORDER_REF__INIT;
    memset(self, 0, sizeof *self);
    self->ref = init;
    if (!arg || !*arg)
        return cli_usage_error(cmd, "missing ID|CASE");
    if (strlen(arg) == 2 * OB_ID_BYTES && ob_id_parse(self->id, arg) == 0) {
        self->ref.id.data = self->id;
        self->ref.id.len = OB_ID_BYTES;
        self->ref.case_no = (char *) "";
        self->by_id = true;
        return 0;
    }
    if (strlen(arg) < OB_CASE_NO_MAX && ob_case_no_valid(arg)) {
        snprintf(self->case_no, sizeof self->case_no, "%s", arg);
        self->ref.case_no = self->case_no;
        return 0;
    }
    return cli_usage_error(cmd, "'%s' is neither an order id (32 hex digits) nor a case "
                                "number (YYYYMMDD-NNNNNN)", arg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cmd) {
        fprintf(stderr, "orderbus %s: %s\n", cmd, msg);
        fprintf(stderr, "try 'orderbus %s --help'\n", cmd);
    }
    else {
        fprintf(stderr, "orderbus: %s\n", msg);
        fprintf(stderr, "try 'orderbus --help'\n");
    }
    return EX_USAGE;
}

int cli_option_error(const char *cmd, int c, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", arg);
    if (optopt && optopt != '?')
        return cli_usage_error(cmd, "unknown option '-%c'", optopt);
    return cli_usage_error(cmd, "unknown option '%s'", arg);
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    return 0;
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_print_json(json_t *doc, bool compact)
{
    if (!doc) {
        fprintf(stderr, "orderbus: cannot build the JSON output\n");
        return EX_SOFTWARE;
    }
    size_t flags = compact ? JSON_COMPACT : JSON_INDENT(2);
    json_dumpf(doc, stdout, flags);
    fputc('\n', stdout);
    json_decref(doc);
    return 0;
}

