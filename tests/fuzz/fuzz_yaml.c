/* Fuzz kc_yaml_decode: arbitrary bytes must decode or fail cleanly, never crash or leak.
 * Checks the contract too: exactly one of (value, BadRequest error) comes back, errors carry the
 * upstream prefix, and a value always has a JSON form (no NaN / Inf reals). */
#include "lib/yaml.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "error converting YAML to JSON: "

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kc_err err = KC_ERR_INIT;
    json_t *v = kc_yaml_decode((const char *)data, size, &err);
    if (!v) {
        if (err.reason != KC_EBADREQUEST || strncmp(err.msg, PREFIX, strlen(PREFIX)) != 0) abort();
        kc_err_release(&err);
        return 0;
    }
    if (err.reason != KC_OK) abort();
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text) abort();
    /* reals dump with 17 digits, so the text loads back equal; jansson cannot load NUL in keys */
    json_t *back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (back ? !json_equal(back, v) : !strstr(text, "\\u0000")) abort();
    json_decref(back);
    free(text);
    json_decref(v);
    return 0;
}
