/* Fuzz target for api/smp: the input is "<doc JSON>\n<patch JSON>" (split at the first NUL or
 * newline), applied as a strategic merge patch to a core/v1.Pod, an apps/v1.Deployment and
 * without schema. Beyond no crashes and no leaks it checks that inputs are left untouched, that a
 * result is an object sharing no node, that every failure carries a reason and a message, that
 * without schema the result is RFC 7386's, and that a patch with no directives and no lists
 * gives RFC 7386's result whenever the strategic merge succeeds (a null patch is a no-op). */
#include "api/smp.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const uint8_t *d, size_t n)
{
    return json_loadb((const char *)d, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* RFC 7386 MergePatch, as a reference. */
static json_t *rfc(json_t *target, json_t *patch)
{
    const char *k;
    json_t *v;
    if (!json_is_object(patch)) return json_deep_copy(patch);
    json_t *t = json_is_object(target) ? json_deep_copy(target) : json_object();
    json_object_foreach(patch, k, v)
    {
        if (json_is_null(v))
            json_object_del(t, k);
        else
            json_object_set_new(t, k, rfc(json_object_get(t, k), v));
    }
    return t;
}

/* No "$" keys and no arrays anywhere: strategic merge reduces to RFC 7386. */
static int plain(json_t *v)
{
    const char *k;
    json_t *x;
    if (json_is_array(v)) return 0;
    if (!json_is_object(v)) return 1;
    json_object_foreach(v, k, x) if (k[0] == '$' || !plain(x)) return 0;
    return 1;
}

static void unshared(json_t *v)
{
    size_t i;
    const char *k;
    json_t *x;
    if (v->refcount != (size_t)-1 && v->refcount != 1) abort();
    if (json_is_array(v)) json_array_foreach(v, i, x) unshared(x);
    if (json_is_object(v)) json_object_foreach(v, k, x) unshared(x);
}

static void one(const kc_type *t, json_t *doc, json_t *patch)
{
    kc_err err = KC_ERR_INIT;
    json_t *got = kc_smp_apply(t, doc, patch, &err);
    if (!got && (err.reason == KC_OK || !err.msg[0])) abort();
    if (got) {
        if (!json_is_object(got)) abort();
        unshared(got);
        if (json_is_object(patch) && (!t || plain(patch))) {
            json_t *want = rfc(doc, patch);
            if (!json_equal(got, want)) abort();
            json_decref(want);
        }
    } else if (!t && json_is_object(doc) && json_is_object(patch)) {
        abort(); /* without schema only a non-object doc or patch fails */
    }
    json_decref(got);
    kc_err_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static const kc_type *pod, *deploy;
    const uint8_t *sep = memchr(d, '\n', n), *nul = memchr(d, '\0', n);
    if (nul && (!sep || nul < sep)) sep = nul;
    if (!sep) return 0;
    if (!pod) pod = kc_schema_type("core/v1.Pod"), deploy = kc_schema_type("apps/v1.Deployment");

    json_t *doc = load(d, (size_t)(sep - d)), *patch = load(sep + 1, n - (size_t)(sep - d) - 1);
    if (doc && patch) {
        json_t *doc0 = json_deep_copy(doc), *patch0 = json_deep_copy(patch);
        one(pod, doc, patch);
        one(deploy, doc, patch);
        one(NULL, doc, patch);
        if (!json_equal(doc, doc0) || !json_equal(patch, patch0)) abort();
        json_decref(doc0);
        json_decref(patch0);
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}
