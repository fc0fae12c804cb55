/*  fuzz_model.c — fuzz target for the routing model loader
    (ob_textclass_load_mem).

    The input is loaded twice: as it is (almost always refused by the
    checksum), and with a correct checksum appended, so that the fuzzer
    reaches the parser behind it. Any input must load or be refused with a
    message, never crash, hang or leak; a model that loads must predict
    and explain without crashing, its probabilities must sum to 1, and it
    must serialise to exactly the bytes it was loaded from.               */
#include "ob_common.h"
#include "ob_textclass.h"
#include <math.h>
#include <sodium.h>

static void s_check(const uint8_t *data, size_t size)
{
    char err[256] = "";
    ob_textclass_t *model = ob_textclass_load_mem(data, size, err, sizeof err);
    if (!model) {
        if (!err[0])
            abort();   /* a refusal must say why */
        return;
    }
    ob_textclass_guess_t top[4];
    size_t n = ob_textclass_predict(model, "路灯不亮 title", "小区路灯坏了 content 123", top, 4);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += top[i].prob;
    if (n == 0 || (n == ob_textclass_labels_count(model) && fabs(sum - 1) > 1e-6))
        abort();
    ob_textclass_gram_t grams[4];
    ob_textclass_explain(model, "路灯不亮", "小区路灯坏了", NULL, grams, 4);
    uint8_t *bytes;
    size_t len;
    if (ob_textclass_serialize(model, &bytes, &len) != 0)
        abort();
    if (len != size || memcmp(bytes, data, len) != 0)
        abort();   /* the loader kept something it does not write back */
    free(bytes);
    ob_textclass_destroy(&model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready && sodium_init() < 0)
        abort();
    ready = true;
    s_check(data, size);
    if (size > 64 * 1024 * 1024)
        return 0;
    uint8_t *sealed = malloc(size + crypto_generichash_BYTES);
    if (!sealed)
        return 0;
    memcpy(sealed, data, size);
    crypto_generichash(sealed + size, crypto_generichash_BYTES, data, size, NULL, 0);
    s_check(sealed, size + crypto_generichash_BYTES);
    free(sealed);
    return 0;
}
