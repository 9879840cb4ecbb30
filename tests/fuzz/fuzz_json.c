/* Fuzzes JSON request bodies: jansson's parser as the server calls it (duplicate keys
 * rejected), then the fast writer, which must agree byte for byte with jansson's; and the fast
 * reader (lib/jsonr.c), which must accept exactly what jansson accepts, under every flag set
 * the server uses, and build the same values with keys in the same order. */
#include "lib/jsonr.h"
#include "lib/jsonw.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void same_as_jansson(const char *d, size_t n, size_t flags)
{
    json_error_t e1, e2;
    json_t *a = json_loadb(d, n, flags, &e1), *b = kc_json_loadb(d, n, flags, &e2);
    if (!a != !b) abort();
    if (!a) {
        if (strcmp(e1.text, e2.text) || e1.line != e2.line || e1.column != e2.column) abort();
        return;
    }
    char *x = kc_json_dump(a, NULL), *y = kc_json_dump(b, NULL);
    if (!json_equal(a, b) || strcmp(x, y) || e1.position != e2.position) abort();
    free(x);
    free(y);
    json_decref(a);
    json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    json_error_t e;
    json_t *v = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    static const size_t flags[] = {0, JSON_REJECT_DUPLICATES, JSON_DECODE_ANY, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                                   JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) same_as_jansson((const char *)d, n, flags[i]);
    if (!v) return 0;
    char *ours = kc_json_dump(v, NULL), *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (theirs && strcmp(ours, theirs)) abort();
    free(ours);
    free(theirs);
    json_decref(v);
    return 0;
}
