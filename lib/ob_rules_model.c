/*  ob_rules_model.c — the routing model a rule file names (`model:` and
    `threshold:`), loaded and checked with the rule set it belongs to.

    A model is part of its rule set: it is loaded when the set is loaded,
    a set whose model cannot be used is refused whole (so a reload keeps
    the old set and its old model running), and it is freed with the set.
    Its labels must mean something to this file: each is a department the
    file declares (a model trained on the centre's own closed orders), or a
    category path its rules dispatch (a model trained on categories, like
    the TipDM example: the rules then say who handles the category, and
    the dispatch directory stays the one place that says it). Routing with
    the model is in ob_rules_route.c; the order of decisions: rules first,
    then the model above its threshold, then manual with its suggestions. */
#include "ob_rules_int.h"
#include <math.h>

/* The threshold from `threshold:` (a number in [0, 1]), else the model's
   own. Returns 0 or -1 with the error written. */
static int s_threshold(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *model,
                       const ob_yamlnode_t *node)
{
    ob_textclass_cv_t cv;
    ob_textclass_cv(self->model, &cv);
    if (!node) {
        if (cv.threshold <= 0)
            return ob_yamlctx_fail_at(ctx, model, "model '%s' carries no threshold (it was not "
                                                  "cross-validated): give `threshold:`",
                                      self->model_file);
        self->model_threshold = cv.threshold;
        return 0;
    }
    if (ob_yamlctx_scalar(ctx, node, "threshold"))
        return -1;
    char *end;
    errno = 0;
    double t = strtod(node->text, &end);
    if (errno || end == node->text || *end || !(t >= 0 && t <= 1))
        return ob_yamlctx_fail_at(ctx, node, "threshold must be a probability from 0 to 1 "
                                             "(the model routes at or above it), not '%s'",
                                  node->text);
    self->model_threshold = t;
    return 0;
}

int ob_rules_model_load(ob_yamlctx_t *ctx, ob_rules_t *self, const ob_yamlnode_t *model,
                        const ob_yamlnode_t *threshold, const char *path)
{
    char err[512];
    self->model = ob_textclass_load(path, err, sizeof err);
    if (!self->model)
        return ob_yamlctx_fail_at(ctx, model, "%s", err);
    if (s_threshold(ctx, self, model, threshold))
        return -1;
    size_t n = ob_textclass_labels_count(self->model);
    for (size_t i = 0; i < n; i++) {
        const char *label = ob_textclass_label(self->model, i);
        if (ob_rules_dept_lookup(self, label) || ob_rules_category_dept(self, label))
            continue;
        return ob_yamlctx_fail_at(ctx, model,
                                  "model '%s' (version %s): label '%s' is neither a department "
                                  "of this file nor a category its rules dispatch: add a rule "
                                  "for that category, or train the model on this file's "
                                  "categories or departments",
                                  self->model_file, ob_textclass_version(self->model), label);
    }
    return 0;
}

void ob_rules_model_free(ob_rules_t *self)
{
    ob_textclass_destroy(&self->model);
    free(self->model_file);
    self->model_file = NULL;
}

ob_textclass_t *ob_rules_model(ob_rules_t *self)
{
    return self->model;
}

double ob_rules_model_threshold(ob_rules_t *self)
{
    return self->model ? self->model_threshold : 0;
}

const char *ob_rules_model_file(ob_rules_t *self)
{
    return self->model_file;
}
