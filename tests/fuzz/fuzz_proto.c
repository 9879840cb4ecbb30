/* Fuzz target for src/api/proto.c: any bytes as a whole request body (magic + runtime.Unknown),
 * and the same bytes as the raw message of one kind picked by the first byte (so inputs without
 * the magic still reach the field decoder). Checks: no crash, no leak, no read past the input
 * (ASan), failures are 400s, and a decoded object is one kc_schema_decode accepts field-wise:
 * strict decoding may reject a value (a quantity's syntax) but never reports an unknown field
 * or a JSON type mismatch, since every key and shape comes from the schema. */
#include "api/proto.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_decoded(const kc_type *t, json_t *j)
{
    kc_err err = KC_ERR_INIT;
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s) abort();
    free(s);
    if (kc_schema_decode(t, j, KC_FV_STRICT, NULL, &err) < 0) {
        if (err.reason != KC_EBADREQUEST) abort();
        if (strstr(err.msg, "unknown field") || strstr(err.msg, "cannot unmarshal")) abort();
    }
    kc_err_release(&err);
}

static const kc_type *body_type(const json_t *j)
{
    const char *av = json_string_value(json_object_get(j, "apiVersion"));
    const char *kind = json_string_value(json_object_get(j, "kind"));
    char group[256];
    const char *slash = av ? strchr(av, '/') : NULL;
    if (!av || !kind) abort();
    if (!slash) return kc_schema_kind("", av, kind);
    if ((size_t)(slash - av) >= sizeof group) abort();
    memcpy(group, av, (size_t)(slash - av));
    group[slash - av] = 0;
    return kc_schema_kind(group, slash + 1, kind);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    kc_err err = KC_ERR_INIT;
    json_t *j = kc_proto_decode_body((const char *)d, n, &err);
    if (j) {
        const kc_type *t = body_type(j);
        if (!t) abort();
        check_decoded(t, j);
        json_decref(j);
    } else if (err.reason != KC_EBADREQUEST) {
        abort();
    }
    kc_err_release(&err);

    if (n == 0) return 0;
    const kc_kind *k = kc_schema_kind_at(d[0] % kc_schema_nkinds());
    const kc_type *t = k ? kc_kind_type(k) : NULL;
    if (!t || !kc_proto_supports(t)) return 0;
    j = kc_proto_decode_object(t, d + 1, n - 1, &err);
    if (j) {
        check_decoded(t, j);
        json_decref(j);
    } else if (err.reason != KC_EBADREQUEST) {
        abort();
    }
    kc_err_release(&err);
    return 0;
}
