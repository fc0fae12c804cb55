/*  cli_parse.c — the one option parser of the orderbus CLI: each command
    describes its options as a table (cli_option_t, git builtin/remote.c
    style) and cli_parse() runs getopt_long over it, stores every value,
    answers -h/--help and reports a bad option in one wording. Also the
    option callbacks several commands share (--msg-id, notes).            */
#include "cli.h"
#include "ob_order.h"
#include "ob_util.h"
#include "ob_wire.h"
#include <getopt.h>

#define S_OPTIONS_MAX 40   /* options in one table, --help not counted */
#define S_VAL_BASE 256     /* getopt_long value of spec[i]: S_VAL_BASE + i */

/* Stores the argument of spec option `o`. 0 or EX_USAGE after a message. */
static int s_store(const char *cmd, const cli_option_t *o, const char *arg)
{
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", o->name);
    switch (o->kind) {
    case CLI_OPT_KIND_BOOL:
        *(bool *) o->value = true;
        return 0;
    case CLI_OPT_KIND_STRING:
        *(const char **) o->value = arg;
        return 0;
    case CLI_OPT_KIND_LONG:
        if (cli_parse_long(arg, o->min, o->max, (long *) o->value) < 0)
            return cli_usage_error(cmd, "option '%s' wants a number from %ld to %ld, not '%s'",
                                   opt, o->min, o->max, arg);
        return 0;
    case CLI_OPT_KIND_CALLBACK:
        return o->fn(cmd, opt, arg, o->value);
    case CLI_OPT_KIND_END:
        break;
    }
    return EX_SOFTWARE;
}

int cli_parse(const char *cmd, const char *usage, const cli_option_t *spec, int *argc,
              char ***argv)
{
    struct option longopts[S_OPTIONS_MAX + 2];
    size_t n = 0;
    for (; spec[n].kind != CLI_OPT_KIND_END; n++) {
        if (n == S_OPTIONS_MAX) {
            fprintf(stderr, "orderbus: internal error: too many options\n");
            return EX_SOFTWARE;
        }
        longopts[n] = (struct option) {spec[n].name,
                                       spec[n].kind == CLI_OPT_KIND_BOOL ? no_argument
                                                                         : required_argument,
                                       NULL, S_VAL_BASE + (int) n};
    }
    longopts[n] = (struct option) {"help", no_argument, NULL, 'h'};
    longopts[n + 1] = (struct option) {NULL, 0, NULL, 0};

    optind = 0;   /* glibc: re-initialise getopt */
    opterr = 0;
    int c;
    /* the global options stop at the command; a command's may follow its operands */
    while ((c = getopt_long(*argc, *argv, cmd ? ":h" : "+:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return CLI_HELP_SHOWN;
        }
        if (c < S_VAL_BASE || c >= S_VAL_BASE + (int) n)
            return cli_option_error(cmd, c, *argv);
        int rc = s_store(cmd, &spec[c - S_VAL_BASE], optarg);
        if (rc != 0)
            return rc;
    }
    *argc -= optind;
    *argv += optind;
    return 0;
}

int cli_one_operand(const char *cmd, int argc, char **argv, const char *what)
{
    if (argc < 1)
        return cli_usage_error(cmd, "missing %s", what);
    if (argc > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[1]);
    return 0;
}

int cli_no_operand(const char *cmd, int argc, char **argv)
{
    if (argc > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[0]);
    return 0;
}

int cli_opt_msg_id(const char *cmd, const char *opt, const char *arg, void *value)
{
    cli_msg_id_t *self = value;
    if (strlen(arg) != 2 * OB_ID_BYTES || ob_id_parse(self->id, arg) < 0)
        return cli_usage_error(cmd, "%s wants 32 hex digits (the id an earlier try printed), "
                                    "not '%s'", opt, arg);
    self->set = true;
    return 0;
}

void cli_msg_init(ob_msg_t *m, const char *sender, const cli_msg_id_t *msg_id)
{
    ob_msg_init(m, sender);
    if (msg_id && msg_id->set)
        memcpy(m->msg_id, msg_id->id, OB_ID_BYTES);
}

int cli_opt_note(const char *cmd, const char *opt, const char *arg, void *value)
{
    char err[256];
    if (ob_field_check(OB_FIELD_NOTE, opt, arg, false, err, sizeof err) < 0)
        return cli_usage_error(cmd, "%s", err);
    *(const char **) value = arg;
    return 0;
}
