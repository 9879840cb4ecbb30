/* The fast JSON writer must produce exactly jansson's compact output. */
#include "lib/jsonw.h"
#include <criterion/criterion.h>

static const char *docs[] = {
    "{}",
    "[]",
    "{\"a\":\"x\\u0001\\t\\\"/\\u00e9\\\\\",\"r\":1.5,\"i\":-42,\"e\":1e300,\"z\":0.0,\"n\":null}",
    "[true,false,{},[],\"\",0,-0.0,1e-7,2.5e-300,1e22,123456789012345678901234567890.0]",
    "{\"big\":9223372036854775807,\"small\":-9223372036854775808}",
    "{\"nested\":{\"k\":[{\"x\":{\"y\":[1,2,{\"z\":\"\\n\\r\\b\\f\"}]}}]},\"emoji\":\"\\ud83d\\ude00\"}",
    "{\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":3}}",
};

Test(jsonw, same_bytes_as_jansson)
{
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        json_error_t e;
        json_t *v = json_loads(docs[i], 0, &e);
        cr_assert_not_null(v, "%s: %s", docs[i], e.text);
        size_t n;
        char *ours = kc_json_dump(v, &n), *theirs = json_dumps(v, JSON_COMPACT);
        cr_assert_str_eq(ours, theirs, "doc %zu", i);
        cr_assert_eq(n, strlen(theirs));
        free(ours);
        free(theirs);
        json_decref(v);
    }
}
