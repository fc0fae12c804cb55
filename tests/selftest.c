/*  selftest.c — runs every module's self-test, one table, in order.
    Usage: ob_selftest [-v] [MODULE...]                                     */
#include "ob_common.h"
#include "ob_log.h"
#include "ob_util.h"
#include "ob_text.h"
#include "ob_wire.h"
#include "ob_store.h"
#include "ob_fsm.h"
#include "ob_names.h"
#include "ob_order.h"
#include "ob_registry.h"
#include "../broker/broker.h"
#include "ob_keys.h"
#include "ob_client.h"
#include "ob_config.h"
#include "ob_json.h"
#include "ob_rules.h"
#include "ob_calendar.h"
#include "ob_match.h"
#include "ob_geo.h"
#include "ob_textclass.h"
#include "ob_trainset.h"
#include "ob_yamltree.h"
#include "../nodes/node_inbox.h"
#include "../nodes/node_link.h"
#include <sodium.h>

static const struct {
    const char *name;
    void (*test)(bool verbose);
} s_tests[] = {
    {"log", ob_log_test},           {"util", ob_util_test},
    {"wire", ob_wire_test},         {"store", ob_store_test},
    {"names", ob_names_test},       {"order", ob_order_test},
    {"fsm", ob_fsm_test},           {"keys", ob_keys_test},
    {"client", ob_client_test},     {"config", ob_config_test},
    {"json", ob_json_test},         {"rules", ob_rules_test},
    {"calendar", ob_calendar_test}, {"match", ob_match_test},
    {"geo", ob_geo_test},           {"yamltree", ob_yamltree_test},
    {"text", ob_text_test},
    {"node_inbox", node_inbox_test}, {"node_link", node_link_test},
    {"registry", ob_registry_test},       {"broker_order", broker_order_test},
    {"textclass", ob_textclass_test}, {"trainset", ob_trainset_test},
};

int main(int argc, char **argv)
{
    bool verbose = false;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        verbose = true;
        first = 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "ob_selftest: cannot initialise libsodium\n");
        return 1;
    }
    size_t n = sizeof s_tests / sizeof s_tests[0];
    for (size_t i = 0; i < n; i++) {
        bool wanted = first >= argc;
        for (int a = first; a < argc; a++)
            if (strcmp(argv[a], s_tests[i].name) == 0)
                wanted = true;
        if (!wanted)
            continue;
        printf(" * %s: ", s_tests[i].name);
        fflush(stdout);
        s_tests[i].test(verbose);
        printf("OK\n");
    }
    return 0;
}
