/*  fuzz_envelope.c — fuzz target for the wire decoder (ob_wire_decode), the
    first code every byte from the network meets.

    Any input must decode or be refused with an error code and a message,
    never crash, hang or leak. A refusal must carry one of the codes the
    protocol names for it. An accepted envelope must be version 1 with a
    16-byte msg id and a body, must pack again (ob_wire_pack), and the packed
    bytes must decode to an envelope that packs to the very same bytes (a
    stable round trip: what a node stores in its outbox and resends is what
    the broker reads). A broken promise aborts, so the fuzzer reports it.  */
#include "ob_common.h"
#include "ob_wire.h"

static void s_fail(const char *what)
{
    fprintf(stderr, "fuzz_envelope: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ob_errcode_t code = ORDERBUS__V1__ERROR_CODE__OK;
    char err[256] = "";
    ob_envelope_t *env = ob_wire_decode(data, size, &code, err, sizeof err);
    if (!env) {
        if (err[0] == '\0')
            s_fail("a refusal without a message");
        if (code != ORDERBUS__V1__ERROR_CODE__ERR_BAD_REQUEST
            && code != ORDERBUS__V1__ERROR_CODE__ERR_UNSUPPORTED_VERSION
            && code != ORDERBUS__V1__ERROR_CODE__ERR_TOO_LARGE)
            s_fail("a refusal with an unexpected code");
        if (!ob_errcode_name(code))
            s_fail("no name for the refusal's code");
        return 0;
    }
    if (code != ORDERBUS__V1__ERROR_CODE__OK)
        s_fail("accepted, but the code is not OK");
    if (env->version != OB_WIRE_VERSION || env->msg_id.len != OB_ID_BYTES
        || env->body_case == ORDERBUS__V1__ENVELOPE__BODY__NOT_SET)
        s_fail("accepted an envelope the protocol refuses");
    if (!ob_wire_body_name(env->body_case))
        s_fail("no name for the body");

    uint8_t *p1 = NULL, *p2 = NULL;
    size_t n1 = 0, n2 = 0;
    if (ob_wire_pack(env, &p1, &n1) != 0)
        s_fail("a decoded envelope does not pack");
    ob_envelope_t *again = ob_wire_decode(p1, n1, &code, err, sizeof err);
    if (!again) {
        fprintf(stderr, "fuzz_envelope: repacked envelope refused: %s\n", err);
        abort();
    }
    if (again->body_case != env->body_case || again->seq != env->seq
        || memcmp(again->msg_id.data, env->msg_id.data, OB_ID_BYTES) != 0)
        s_fail("the round trip changed the envelope");
    if (ob_wire_pack(again, &p2, &n2) != 0)
        s_fail("a repacked envelope does not pack");
    if (n1 != n2 || memcmp(p1, p2, n1) != 0)
        s_fail("packing is not stable: pack(decode(pack(x))) != pack(x)");

    free(p1);
    free(p2);
    ob_wire_free(again);
    ob_wire_free(env);
    return 0;
}
