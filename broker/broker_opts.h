/*  broker_opts.h — orderbus-broker's settings: its flags and its YAML config
    file, read through one key table (ob_config_key_t) like the node's, so a
    flag and a key of the file are parsed, range-checked and reported the
    same way; and the working-day calendar files it starts with.          */
#ifndef BROKER_OPTS_H
#define BROKER_OPTS_H

#include "broker.h"
#include <glob.h>

typedef struct {
    broker_config_t cfg;          /* what broker_new takes */
    const char *utc_offset;       /* "+HH:MM" as given, NULL: the default */
    const char *calendar_file;    /* the config file's `calendar` */
    int log_level;                /* OB_LOG_*, -1: not set */
    void *file;                   /* the loaded config file (ob_config_t), owned */
    glob_t years;                 /* the calendar year files found beside the rules */
    bool globbed;
} broker_opts_t;

/* Reads flags and config file into `opts` (defaults, then the file, then
   the flags) and settles the calendar. Returns 0 to run, -1 when --help or
   --version was answered (exit 0), or a sysexits code with the problem
   printed: EX_USAGE or EX_CONFIG. */
int broker_opts_parse(broker_opts_t *opts, int argc, char **argv);

/* Frees what broker_opts_parse loaded (safe twice). */
void broker_opts_clear(broker_opts_t *opts);

#endif
