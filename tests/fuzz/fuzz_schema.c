/* Fuzz target for src/api/schema.c: any JSON document, decoded and validated as core/v1.Pod in
 * the three field-validation modes (each on its own copy), plus a validate-only pass over the
 * raw document (validate must cope with undecoded input). Checks: no crash, no leak, and the
 * decode postconditions (success leaves no nulls at object level; strict failure names a reason). */
#include "api/schema.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void no_object_nulls(const json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, k, v)
        {
            (void)k;
            no_object_nulls(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) no_object_nulls(v);
    }
}

static void run(const kc_type *t, const json_t *doc, kc_fieldval mode)
{
    kc_err err = KC_ERR_INIT;
    json_t *j = json_deep_copy(doc), *warnings = json_array();
    int rc = kc_schema_decode(t, j, mode, warnings, &err);
    if (rc < 0 && err.reason != KC_EBADREQUEST) abort();
    if (rc == 0) {
        if (mode != KC_FV_WARN && json_array_size(warnings)) abort();
        no_object_nulls(j);
        kc_err_release(&err);
        rc = kc_schema_validate_flags(t, j, mode == KC_FV_WARN ? KC_SV_STATUS : 0, &err);
        if ((rc < 0) != (kc_err_ncauses(&err) > 0)) abort();
        /* decoding a decoded document changes nothing */
        json_t *again = json_deep_copy(j);
        kc_err e2 = KC_ERR_INIT;
        if (kc_schema_decode(t, again, KC_FV_STRICT, NULL, &e2) < 0 || !json_equal(again, j)) abort();
        json_decref(again);
        kc_err_release(&e2);
    }
    kc_err_release(&err);
    json_decref(warnings);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static const kc_type *pod;
    json_error_t je;
    if (!pod) pod = kc_schema_type("core/v1.Pod");
    json_t *doc =
        json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!doc) return 0;
    run(pod, doc, KC_FV_IGNORE);
    run(pod, doc, KC_FV_WARN);
    run(pod, doc, KC_FV_STRICT);
    kc_err err = KC_ERR_INIT;
    kc_schema_validate_flags(pod, doc, KC_SV_STATUS, &err);
    kc_err_release(&err);
    json_decref(doc);
    return 0;
}
