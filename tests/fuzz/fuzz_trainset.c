/*  fuzz_trainset.c — fuzz target for the training-file reader
    (ob_trainset_parse), the input read both as CSV and as JSON Lines.

    Any input must be taken or refused with at least one problem, never
    crash, hang or leak. A set that is taken must hold what the reader
    promises: at least one text, each with a non-empty label and some
    text, valid UTF-8 (CSV), and line numbers that grow in file order.   */
#include "ob_common.h"
#include "ob_trainset.h"
#include "ob_util.h"

static void s_count(void *arg, size_t line, const char *message)
{
    (void) line;
    if (!message || !message[0])
        abort();   /* a problem must say what it is */
    (*(size_t *) arg)++;
}

static void s_check(const uint8_t *data, size_t size, ob_trainset_format_t format)
{
    static const char *const known[] = {"a", "b", "城乡建设"};
    ob_trainset_opts_t opts = {.min_per_label = 2};
    if (size && data[0] & 1) {   /* half the inputs also against a list of labels */
        opts.known = known;
        opts.n_known = 3;
    }
    size_t problems = 0;
    ob_trainset_t *set = ob_trainset_parse((const char *) data, size, format, &opts, s_count,
                                           &problems);
    if (!set) {
        if (problems == 0)
            abort();   /* a refusal must say why */
        return;
    }
    if (problems != 0 || ob_trainset_count(set) == 0)
        abort();
    const ob_textclass_doc_t *docs = ob_trainset_docs(set);
    for (size_t i = 0; i < ob_trainset_count(set); i++) {
        if (!docs[i].label[0] || (!docs[i].title[0] && !docs[i].content[0]))
            abort();
        if (format == OB_TRAINSET_CSV
            && (!ob_utf8_valid(docs[i].title, strlen(docs[i].title))
                || !ob_utf8_valid(docs[i].content, strlen(docs[i].content))))
            abort();
        if (i && ob_trainset_line(set, i) <= ob_trainset_line(set, i - 1))
            abort();
    }
    ob_trainset_destroy(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_check(data, size, OB_TRAINSET_CSV);
    s_check(data, size, OB_TRAINSET_JSONL);
    return 0;
}
