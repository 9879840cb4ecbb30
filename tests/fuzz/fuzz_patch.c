/* Fuzz target for api/patch: the input is "<doc JSON>\n<patch JSON>" (split at the first NUL or
 * newline). Runs the merge patch (Kubernetes and plain RFC 7386) and the JSON patch (the patch as
 * given, and wrapped in an array when it is a single object). Beyond no crashes and no leaks it
 * checks that inputs are left untouched, that the Kubernetes merge agrees with RFC 7386 and is
 * idempotent, that every failure carries a reason and a message, and that no result nests deeper
 * than KC_PATCH_MAX_DEPTH. */
#include "api/patch.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const uint8_t *d, size_t n)
{
    return json_loadb((const char *)d, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* Container nesting of v (0 for scalars). */
static size_t depth(json_t *v)
{
    size_t d = 0, dx, i;
    const char *k;
    json_t *x;

    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if ((dx = depth(x)) > d) d = dx;
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if ((dx = depth(x)) > d) d = dx;
        }
    } else {
        return 0;
    }
    return d + 1;
}

/* A failure carries a reason and a message; a JSON patch result can always be parsed again. */
static void check_err(json_t *got, kc_err *err)
{
    if (!got && (err->reason == KC_OK || !err->msg[0])) abort();
    if (got && depth(got) > KC_PATCH_MAX_DEPTH) abort();
    kc_err_release(err);
}

static void fuzz_merge(json_t *doc, json_t *patch)
{
    kc_err err = KC_ERR_INIT;
    json_t *got = kc_patch_merge(doc, patch, &err), *rfc = kc_patch_merge_rfc(doc, patch);

    check_err(got, &err);
    if (!rfc) abort();
    if (json_is_object(patch) != (got != NULL)) abort();
    if (got && !json_equal(got, rfc)) abort();
    if (got) { /* RFC 7386 merge patches are idempotent */
        json_t *again = kc_patch_merge(got, patch, &err);
        if (!again || !json_equal(again, got)) abort();
        json_decref(again);
    }
    json_decref(got);
    json_decref(rfc);
}

static void fuzz_json(json_t *doc, json_t *patch)
{
    kc_err err = KC_ERR_INIT;
    json_t *got = kc_patch_json(doc, patch, &err);
    check_err(got, &err);
    json_decref(got);
    if (json_is_object(patch)) {
        json_t *ops = json_pack("[O]", patch);
        got = kc_patch_json(doc, ops, &err);
        check_err(got, &err);
        json_decref(got);
        json_decref(ops);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    const uint8_t *sep = memchr(d, '\n', n), *nul = memchr(d, '\0', n);
    if (nul && (!sep || nul < sep)) sep = nul;
    if (!sep) return 0;

    json_t *doc = load(d, (size_t)(sep - d)), *patch = load(sep + 1, n - (size_t)(sep - d) - 1);
    if (doc && patch) {
        json_t *doc0 = json_deep_copy(doc), *patch0 = json_deep_copy(patch);
        fuzz_merge(doc, patch);
        fuzz_json(doc, patch);
        if (!json_equal(doc, doc0) || !json_equal(patch, patch0)) abort();
        json_decref(doc0);
        json_decref(patch0);
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}
