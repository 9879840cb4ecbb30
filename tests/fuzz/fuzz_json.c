/* Fuzzes JSON request bodies: jansson's parser as the server calls it (duplicate keys
 * rejected), then the fast writer, which must agree byte for byte with jansson's. */
#include "lib/jsonw.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    json_error_t e;
    json_t *v = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!v) return 0;
    char *ours = kc_json_dump(v, NULL), *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (theirs && strcmp(ours, theirs)) abort();
    free(ours);
    free(theirs);
    json_decref(v);
    return 0;
}
