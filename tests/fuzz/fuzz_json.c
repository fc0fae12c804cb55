/*  fuzz_json.c — fuzz target for work order JSON (ob_json_parse_workorder).

    Any input must parse or fail with a message, never crash, hang or leak.
    An accepted order must also survive the round trip every `--json`
    user relies on: printed with ob_json_from_workorder (with and without
    contact), the printed JSON is accepted again and packs to the same
    protobuf bytes. A broken round trip aborts, so the fuzzer reports it.  */
#include "ob_common.h"
#include "ob_json.h"

/* Packs `wo` into a malloc'd buffer; the caller frees it. */
static uint8_t *s_pack(const ob_workorder_t *wo, size_t *len)
{
    *len = orderbus__v1__work_order__get_packed_size(wo);
    uint8_t *buf = (uint8_t *) malloc(*len ? *len : 1);
    if (!buf)
        abort();
    orderbus__v1__work_order__pack(wo, buf);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    ob_workorder_t *wo = ob_json_parse_workorder((const char *) data, size, err, sizeof err);
    if (!wo) {
        if (err[0] == '\0')
            abort();   /* a refusal must say why */
        return 0;
    }

    json_t *printed = ob_json_from_workorder(wo, true);
    char *text = printed ? json_dumps(printed, JSON_COMPACT) : NULL;
    if (!text)
        abort();
    ob_workorder_t *again = ob_json_parse_workorder(text, strlen(text), err, sizeof err);
    if (!again) {
        fprintf(stderr, "fuzz_json: printed order refused: %s\n", err);
        abort();
    }
    size_t len1, len2;
    uint8_t *p1 = s_pack(wo, &len1), *p2 = s_pack(again, &len2);
    if (len1 != len2 || memcmp(p1, p2, len1) != 0) {
        fprintf(stderr, "fuzz_json: round trip changed the order\n");
        abort();
    }
    free(p1);
    free(p2);

    /* without contact: the contact object must be gone */
    json_t *public_view = ob_json_from_workorder(wo, false);
    if (!public_view || json_object_get(public_view, "contact"))
        abort();

    json_decref(public_view);
    free(text);
    json_decref(printed);
    orderbus__v1__work_order__free_unpacked(again, NULL);
    orderbus__v1__work_order__free_unpacked(wo, NULL);
    return 0;
}
