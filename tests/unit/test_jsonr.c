/* The fast JSON reader must accept exactly what jansson accepts and build the same values,
 * keys in the same order; on bad input the error must be jansson's own (same text, line,
 * column). Each case is read with every flag set the server uses. */
#include "lib/jsonr.h"
#include "lib/jsonw.h"
#include <criterion/criterion.h>
#include <string.h>

static const char *cases[] = {
    /* accepted */
    "{}", "[]", " \t\r\n{ } \n", "[ ]", "{\"\":\"\"}",
    "{\"a\":\"x\\u0001\\t\\\"\\/\\u00e9\\\\\",\"r\":1.5,\"i\":-42,\"e\":1e300,\"z\":0.0,\"n\":null}",
    "[true,false,{},[],\"\",0,-0,-0.0,1e-7,2.5E-300,1E+22,0.5e3,123456789012345678901234567890.0]",
    "{\"big\":9223372036854775807,\"small\":-9223372036854775808}",
    "{\"emoji\":\"\\ud83d\\ude00\",\"raw\":\"\xf0\x9f\x98\x80 \xc3\xa9 \xe2\x82\xac \x7f\",\"lt\":\"\\u003c\\u003E\"}",
    "{\"a\":1,\"b\":2,\"a\":3}",                       /* duplicate: replaced in place (or rejected) */
    "{\"k\\u0041\":\"v\\nw\",\"k\\\"q\":[\"\\b\\f\\r\"]}", /* escaped keys */
    "{\"nul\":\"a\\u0000b\"}",                         /* only with JSON_ALLOW_NUL */
    "\"top\"", "42", "-1.5e3", "true", "null",         /* only with JSON_DECODE_ANY */
    "{\"a\":1} trailing", "[1]x", "1.5.3", "truex",     /* EOF check */
    /* rejected: jansson's errors */
    "", "   ", "{", "[", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{1:2}",
    "[01]", "[1.]", "[.5]", "[1e]", "[1e+]", "[-]", "[+1]", "[0x10]", "[1E400]", "[-1e400]",
    "[9223372036854775808]", "[-9223372036854775809]", "[tru]", "[nul]", "[True]", "[NaN]", "[Infinity]",
    "[\"a\nb\"]", "[\"a\tb\"]", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u12g4\"]", "[\"\\ud800\"]", "[\"\\udc00\"]",
    "[\"\\ud800\\u0041\"]", "[\"\\ud800x\"]", "{\"a\\u0000\":1}", "[\"unterminated]",
    "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xe2\x82\"]", "[\"\x80\"]", "[\"\xff\"]",
    "\xef\xbb\xbf{}", "{}}", "[]]", "{\"a\":[}", "[{]", "nul", "\"x", "-", "--1",
};

static const size_t flagsets[] = {0, JSON_REJECT_DUPLICATES, JSON_DECODE_ANY, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                                  JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK};

static void check(const char *s, size_t len, size_t flags)
{
    json_error_t e1, e2;
    json_t *a = json_loadb(s, len, flags, &e1), *b = kc_json_loadb(s, len, flags, &e2);
    cr_assert_eq(!a, !b, "'%s' flags %zx: jansson %s, fast reader %s", s, flags, a ? "accepts" : e1.text,
                 b ? "accepts" : e2.text);
    if (!a) {
        cr_assert_str_eq(e1.text, e2.text, "'%s'", s);
        cr_assert_eq(e1.line, e2.line);
        cr_assert_eq(e1.column, e2.column);
        return;
    }
    char *x = kc_json_dump(a, NULL), *y = kc_json_dump(b, NULL);
    cr_assert(json_equal(a, b), "'%s' flags %zx", s, flags);
    cr_assert_str_eq(x, y, "key order of '%s'", s);
    cr_assert_eq(e1.position, e2.position, "'%s' flags %zx: position %d vs %d", s, flags, e1.position, e2.position);
    free(x);
    free(y);
    json_decref(a);
    json_decref(b);
}

Test(jsonr, same_as_jansson)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (size_t f = 0; f < sizeof flagsets / sizeof *flagsets; f++) check(cases[i], strlen(cases[i]), flagsets[f]);
}

/* A buffer is read up to len only: no NUL terminator needed, bytes after len ignored. */
Test(jsonr, reads_only_len_bytes)
{
    const char *s = "{\"a\":[1,2]}GARBAGE";
    json_t *v = kc_json_loadb(s, 11, 0, NULL);
    cr_assert_not_null(v);
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(v, "a"), 1)), 2);
    json_decref(v);
    check("[1,2]\0[3]", 9, 0);   /* a NUL byte inside the buffer is an error, as in jansson */
    check("[\"a\0b\"]", 7, JSON_ALLOW_NUL);
}

/* Nesting: jansson's depth limit (2048) gives its own error; just below it parses. */
Test(jsonr, depth_limit)
{
    for (int depth = 2047; depth <= 2049; depth++) {
        char *s = malloc((size_t)depth * 2 + 1);
        memset(s, '[', (size_t)depth);
        memset(s + depth, ']', (size_t)depth);
        check(s, (size_t)depth * 2, 0);
        free(s);
    }
}

/* A realistic body: every value and the key order survive. */
Test(jsonr, pod)
{
    const char *pod = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\",\"labels\":{\"app\":\"web\"},"
                      "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"a\\\":\\\"\\u003cb\\u003e\\\"}\\n\"}},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":80}],"
                      "\"resources\":{\"limits\":{\"cpu\":\"500m\"}}}],\"terminationGracePeriodSeconds\":30}}";
    for (size_t f = 0; f < sizeof flagsets / sizeof *flagsets; f++) check(pod, strlen(pod), flagsets[f]);
}
