/* Unit tests for api/names: the naming rules (tables taken from upstream's validation_test.go),
 * their exact messages, generateName masking, Go quoting, and kc_meta_validate causes. */
#include "api/names.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define RX_LABEL "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define RX_SUBDOMAIN RX_LABEL "(\\." RX_LABEL ")*"
#define RX_QNAME "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define M_LABEL                                                                                              \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "        \
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "           \
    "validation is '" RX_LABEL "')"
#define M_SUBDOMAIN                                                                                          \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "    \
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "      \
    "is '" RX_SUBDOMAIN "')"
#define M_1035                                                                                               \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "             \
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "          \
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define M_QBODY                                                                                              \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "              \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "     \
    "'" RX_QNAME "')"
#define M_QNAME "name part " M_QBODY
#define M_QSLASHES                                                                                           \
    "a qualified name " M_QBODY " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
#define M_LVALUE                                                                                             \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "     \
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "       \
    "regex used for validation is '(" RX_QNAME ")?')"
#define M_MAX63 "must be no more than 63 characters"
#define M_MAX253 "must be no more than 253 characters"

static char *rep(char c, size_t n)
{
    static char bufs[8][600];
    static int next;
    char *b = bufs[next++ % 8];
    memset(b, c, n);
    b[n] = 0;
    return b;
}

/* A case: a value and up to 5 expected messages (NULL-terminated list; {NULL} = valid). */
typedef struct ncase {
    const char *in;
    const char *want[6];
} ncase;

static void run(kc_name_rule rule, const ncase *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *got[KC_NAME_MAXMSGS];
        size_t k = kc_name_check(rule, c[i].in, strlen(c[i].in), got), want = 0;
        while (c[i].want[want])
            want++;
        cr_expect_eq(k, want, "rule %d %.40s: got %zu messages, want %zu (first: %s)", rule, c[i].in, k, want,
                     k ? got[0] : "-");
        for (size_t j = 0; j < k && j < want; j++)
            cr_expect_str_eq(got[j], c[i].want[j], "rule %d %.40s message %zu", rule, c[i].in, j);
    }
}

#define RUN(rule, arr) run(rule, arr, sizeof arr / sizeof *arr)

Test(names, dns1123_label)
{
    const char *good[] = {"a", "ab", "abc", "a1", "a-1", "a--1--2--b",
                          "0", "01", "012", "1a", "1-a", "1--a--b--2"};
    const char *bad[] = {"",  "A",  "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-",  "-1",
                         "_", "a_", "_a",  "a_b", "1_", "_1",  "1_2", " ", "a ", " a", "a b", "1 2"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_expect_null(kc_name_dns1123_label(good[i]), "%s should be valid", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_str_eq(kc_name_dns1123_label(bad[i]), M_LABEL, "%s", bad[i]);
    ncase c[] = {
        {rep('a', 63), {NULL}},
        {rep('a', 64), {M_MAX63, NULL}},
        {"a.b", {"must not contain dots", NULL}},
        {"1.2", {"must not contain dots", NULL}},
        {".", {M_LABEL, NULL}},
        {"a.", {M_LABEL, NULL}},
        {"A.b", {M_LABEL, NULL}},
    };
    RUN(KC_NAME_LABEL, c);
    char both[80];
    snprintf(both, sizeof both, "%s_", rep('a', 70));
    ncase c2[] = {{both, {M_MAX63, M_LABEL, NULL}}};
    RUN(KC_NAME_LABEL, c2);
}

Test(names, dns1123_subdomain)
{
    const char *good[] = {"a",
                          "ab",
                          "abc",
                          "a1",
                          "a-1",
                          "a--1--2--b",
                          "0",
                          "01",
                          "012",
                          "1a",
                          "1-a",
                          "1--a--b--2",
                          "a.a",
                          "ab.a",
                          "abc.a",
                          "a1.a",
                          "a-1.a",
                          "a--1--2--b.a",
                          "a.1",
                          "ab.1",
                          "abc.1",
                          "a1.1",
                          "a-1.1",
                          "a--1--2--b.1",
                          "0.a",
                          "01.a",
                          "012.a",
                          "1a.a",
                          "1-a.a",
                          "0.1",
                          "01.1",
                          "012.1",
                          "1a.1",
                          "1-a.1",
                          "1--a--b--2.1",
                          "a.b.c.d.e",
                          "1.2.3.4.5",
                          "aa.bb.cc.dd.ee",
                          "11.22.33.44.55"};
    const char *bad[] = {"",
                         "A",
                         "ABC",
                         "aBc",
                         "A1",
                         "A-1",
                         "1-A",
                         "-",
                         "a-",
                         "-a",
                         "1-",
                         "-1",
                         "_",
                         "a_",
                         "_a",
                         "a_b",
                         "1_",
                         "_1",
                         "1_2",
                         ".",
                         "a.",
                         ".a",
                         "a..b",
                         "1.",
                         ".1",
                         "1..2",
                         " ",
                         "a ",
                         " a",
                         "a b",
                         "1 ",
                         " 1",
                         "1 2",
                         "A.a",
                         "aB.a",
                         "ab.A",
                         "A1.a",
                         "a1.A",
                         "A.1",
                         "aB.1",
                         "A1.1",
                         "1A.1",
                         "0.A",
                         "01.A",
                         "012.A",
                         "1A.a",
                         "1a.A",
                         "A.B.C.D.E",
                         "AA.BB.CC.DD.EE",
                         "a.B.c.d.e",
                         "aa.bB.cc.dd.ee",
                         "a@b",
                         "a,b",
                         "a;b",
                         "a:b",
                         "a%b",
                         "a?b",
                         "a$b"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_expect_null(kc_name_dns1123_subdomain(good[i]), "%s should be valid", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_str_eq(kc_name_dns1123_subdomain(bad[i]), M_SUBDOMAIN, "%s", bad[i]);
    ncase c[] = {
        {rep('a', 253), {NULL}}, {rep('a', 254), {M_MAX253, NULL}}, {"Bad_Name", {M_SUBDOMAIN, NULL}}};
    RUN(KC_NAME_SUBDOMAIN, c);
    /* an embedded NUL is a bad character, not the end of the name */
    const char *m[KC_NAME_MAXMSGS];
    cr_expect_eq(kc_name_check(KC_NAME_SUBDOMAIN, "ab\0c", 4, m), 1);
}

Test(names, dns1035_label)
{
    ncase c[] = {
        {"a", {NULL}},
        {"ab-c1", {NULL}},
        {"a--1--2--b", {NULL}},
        {rep('a', 63), {NULL}},
        {"0", {M_1035, NULL}},
        {"1a", {M_1035, NULL}},
        {"a-", {M_1035, NULL}},
        {"A", {M_1035, NULL}},
        {"", {M_1035, NULL}},
        {"a.b", {M_1035, NULL}},
        {rep('a', 64), {M_MAX63, NULL}},
    };
    RUN(KC_NAME_DNS1035, c);
    cr_expect_null(kc_name_dns1035_label("my-svc"));
}

Test(names, qualified)
{
    char big[400];
    snprintf(big, sizeof big, "%s/%s", rep('a', 253), rep('b', 63));
    const char *good[] = {"simple",
                          "now-with-dashes",
                          "1-starts-with-num",
                          "1234",
                          "simple/simple",
                          "now-with-dashes/simple",
                          "now-with-dashes/now-with-dashes",
                          "now.with.dots/simple",
                          "now-with.dashes-and.dots/simple",
                          "1-num.2-num/3-num",
                          "1234/5678",
                          "1.2.3.4/5678",
                          "Uppercase_Is_OK_123",
                          "example.com/Uppercase_Is_OK_123",
                          "requests.storage-foo",
                          rep('a', 63),
                          big};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_expect_null(kc_name_qualified(good[i]), "%.50s should be valid: %s", good[i],
                       kc_name_qualified(good[i]));
    char long_prefix[300];
    snprintf(long_prefix, sizeof long_prefix, "%s/abc", rep('a', 254));
    ncase c[] = {
        {"nospecialchars%^=@", {M_QNAME, NULL}},
        {"cantendwithadash-", {M_QNAME, NULL}},
        {"-cantstartwithadash-", {M_QNAME, NULL}},
        {"only/one/slash", {M_QSLASHES, NULL}},
        {"Example.com/abc", {"prefix part " M_SUBDOMAIN, NULL}},
        {"example_com/abc", {"prefix part " M_SUBDOMAIN, NULL}},
        {"example.com/", {"name part must be non-empty", M_QNAME, NULL}},
        {"/simple", {"prefix part must be non-empty", NULL}},
        {"", {"name part must be non-empty", M_QNAME, NULL}},
        {rep('a', 64), {"name part " M_MAX63, NULL}},
        {long_prefix, {"prefix part " M_MAX253, NULL}},
        {"/", {"prefix part must be non-empty", "name part must be non-empty", M_QNAME, NULL}},
    };
    RUN(KC_NAME_QUALIFIED, c);
}

Test(names, label_value)
{
    const char *good[] = {"simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "",
                          "a_b.C"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_expect_null(kc_name_label_value(good[i]), "%s should be valid", good[i]);
    ncase c[] = {
        {rep('a', 63), {NULL}},
        {"nospecialchars%^=@", {M_LVALUE, NULL}},
        {"Tama-nui-te-r\xc4\x81.is.M\xc4\x81ori.sun", {M_LVALUE, NULL}},
        {"\\backslashes\\are\\bad", {M_LVALUE, NULL}},
        {"-starts-with-dash", {M_LVALUE, NULL}},
        {"ends-with-dash-", {M_LVALUE, NULL}},
        {".starts.with.dot", {M_LVALUE, NULL}},
        {"ends.with.dot.", {M_LVALUE, NULL}},
        {rep('a', 64), {M_MAX63, NULL}},
    };
    RUN(KC_NAME_LABEL_VALUE, c);
}

Test(names, iana_svc)
{
    const char *good[] = {"telnet", "re-mail-ck", "pop3",      "a",   "a-1",
                          "1-a",    "a-1-b-2-c",  "1-a-2-b-3", "http"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_expect_null(kc_name_iana_svc(good[i]), "%s should be valid", good[i]);
#define M_CHARS "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
#define M_LETTER "must contain at least one letter (a-z)"
#define M_DASHES "must not contain consecutive hyphens"
#define M_ENDS "must not begin or end with a hyphen"
    ncase c[] = {
        {"longerthan15characters", {"must be no more than 15 characters", NULL}},
        {"", {M_CHARS, M_LETTER, NULL}},
        {rep('a', 16), {"must be no more than 15 characters", NULL}},
        {"12345", {M_LETTER, NULL}},
        {"1-2-3-4", {M_LETTER, NULL}},
        {"-begin", {M_ENDS, NULL}},
        {"end-", {M_ENDS, NULL}},
        {"two--hyphens", {M_DASHES, NULL}},
        {"whois++", {M_CHARS, NULL}},
        {"HTTP", {M_CHARS, M_LETTER, NULL}},
        {"--", {M_LETTER, M_DASHES, M_ENDS, NULL}},
    };
    RUN(KC_NAME_IANA_SVC, c);
}

Test(names, path_segment)
{
    ncase c[] = {
        {"a", {NULL}},
        {"Any_Thing:goes~!", {NULL}},
        {"..a", {NULL}},
        {".", {"may not be '.'", NULL}},
        {"..", {"may not be '..'", NULL}},
        {"a/b", {"may not contain '/'", NULL}},
        {"a%b", {"may not contain '%'", NULL}},
        {"/%", {"may not contain '/'", "may not contain '%'", NULL}},
    };
    RUN(KC_NAME_PATH_SEGMENT, c);
    cr_expect_str_eq(kc_name_path_segment(".."), "may not be '..'");
}

Test(names, prefix_masks_trailing_dash)
{
    const char *m[KC_NAME_MAXMSGS];
    cr_expect_eq(kc_name_check_prefix(KC_NAME_SUBDOMAIN, "web-", 4, m), 0);
    cr_expect_eq(kc_name_check_prefix(KC_NAME_LABEL, "web-", 4, m), 0);
    cr_expect_eq(kc_name_check_prefix(KC_NAME_DNS1035, "web-", 4, m), 0);
    /* upstream drops two characters: "a_-" is checked as "aa" and passes */
    cr_expect_eq(kc_name_check_prefix(KC_NAME_SUBDOMAIN, "a_-", 3, m), 0);
    cr_expect_eq(kc_name_check_prefix(KC_NAME_SUBDOMAIN, "-", 1, m), 1);
    cr_expect_eq(kc_name_check_prefix(KC_NAME_SUBDOMAIN, "Web-", 4, m), 1);
    cr_expect_eq(kc_name_check_prefix(KC_NAME_PATH_SEGMENT, "..", 2, m), 0);
    cr_expect_eq(kc_name_check_prefix(KC_NAME_PATH_SEGMENT, "a/", 2, m), 1);
    cr_expect_str_eq(m[0], "may not contain '/'");
}

Test(names, quote_like_go)
{
    struct {
        const char *in;
        size_t n;
        const char *want;
    } c[] = {
        {"Bad_Name", 8, "\"Bad_Name\""},
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"\n\t\r\a\b\f\v", 7, "\"\\n\\t\\r\\a\\b\\f\\v\""},
        {"\x01\x7f", 2, "\"\\x01\\x7f\""},
        {"a\0b", 3, "\"a\\x00b\""},
        {"r\xc4\x81", 3, "\"r\xc4\x81\""},
        {"\xff", 1, "\"\\xff\""},
        {"\xc4", 1, "\"\\xc4\""},
        {"\xed\xa0\x80", 3, "\"\\xed\\xa0\\x80\""}, /* a surrogate is invalid UTF-8 */
        {"\xc2\xa0", 2, "\"\\u00a0\""},
        {"\xe2\x80\xa8", 3, "\"\\u2028\""},
        {"\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""},
        {"\xf3\xb0\x80\x80", 4, "\"\\U000f0000\""},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char buf[64];
        size_t n = kc_name_quote(buf, sizeof buf, c[i].in, c[i].n);
        cr_expect_str_eq(buf, c[i].want, "case %zu", i);
        cr_expect_eq(n, strlen(c[i].want), "case %zu length", i);
    }
    char small[6];
    cr_expect_eq(kc_name_quote(small, sizeof small, "abcdef", 6), 8);
    cr_expect_str_eq(small, "\"abc\"");
    cr_expect_eq(kc_name_quote(small, sizeof small, "\xc4\x81\xc4\x81", 4), 6);
    cr_expect_str_eq(small, "\"\xc4\x81\"", "a truncated quote keeps whole runes");
}

Test(names, utf8_next_and_clean)
{
    uint32_t r;
    cr_expect_eq(kc_name_utf8_next("\xc4\x81", 2, &r), 2);
    cr_expect_eq(r, 0x101);
    cr_expect_eq(kc_name_utf8_next("\xc0\x80", 2, &r), 1, "overlong");
    cr_expect_eq(r, 0xFFFD);
    cr_expect_eq(kc_name_utf8_next("\xf4\x90\x80\x80", 4, &r), 1, "above U+10FFFF");
    cr_expect_eq(kc_name_utf8_next("\xe2\x82", 2, &r), 1, "truncated");
    cr_expect_eq(kc_name_utf8_next("\xef\xbf\xbd", 3, &r), 3);
    cr_expect_eq(r, 0xFFFD);
    char out[8];
    cr_expect_eq(kc_name_utf8_clean(out, sizeof out, "a\xffz", 3), 5);
    cr_expect_str_eq(out, "a\xef\xbf\xbdz");
    cr_expect_eq(kc_name_utf8_clean(out, 4, "ab\xc4\x81", 4), 2, "never splits a rune");
}

/* ---- kc_meta_validate ---- */

typedef struct cause {
    const char *reason, *field, *message;
} cause;

static void expect_causes(const char *js, int rule, bool namespaced, const cause *want, size_t n)
{
    json_error_t jerr;
    json_t *md = json_loads(js, 0, &jerr);
    cr_assert_not_null(md, "bad test json %s: %s", js, jerr.text);
    kc_err err = KC_ERR_INIT;
    int rc = kc_meta_validate(md, rule, namespaced, &err);
    cr_expect_eq(rc, n ? -1 : 0, "%s: rc %d (%s)", js, rc, err.msg);
    cr_expect_eq(kc_err_ncauses(&err), n, "%s: %zu causes, want %zu (%s)", js, kc_err_ncauses(&err), n,
                 err.msg);
    if (n) cr_expect_eq(err.reason, KC_EINVALID);
    for (size_t i = 0; i < n && i < kc_err_ncauses(&err); i++) {
        json_t *c = json_array_get(err.causes, i);
        cr_expect_str_eq(json_string_value(json_object_get(c, "reason")), want[i].reason, "%s cause %zu", js,
                         i);
        cr_expect_str_eq(json_string_value(json_object_get(c, "field")), want[i].field, "%s cause %zu", js,
                         i);
        cr_expect_str_eq(json_string_value(json_object_get(c, "message")), want[i].message, "%s cause %zu",
                         js, i);
    }
    kc_err_release(&err);
    json_decref(md);
}

#define EXPECT(js, rule, ns, ...)                                                                            \
    do {                                                                                                     \
        cause w_[] = {__VA_ARGS__};                                                                          \
        expect_causes(js, rule, ns, w_, sizeof w_ / sizeof *w_);                                             \
    } while (0)
#define EXPECT_VALID(js, rule, ns) expect_causes(js, rule, ns, NULL, 0)

Test(meta, valid_objects)
{
    EXPECT_VALID("{\"name\":\"web\",\"namespace\":\"default\"}", KC_NAME_SUBDOMAIN, true);
    EXPECT_VALID("{\"name\":\"node-1.example.com\",\"labels\":{\"app\":\"web\",\"example.com/tier\":\"\"},"
                 "\"annotations\":{\"Example.COM/Any\":\"anything at all, even = and ,\"},"
                 "\"finalizers\":[\"kubernetes.io/pvc-protection\",\"orphan\"],\"generation\":3,"
                 "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"rs\","
                 "\"uid\":\"u1\",\"controller\":true}]}",
                 KC_NAME_SUBDOMAIN, false);
    EXPECT_VALID("{\"name\":\"system:controller:x\"}", KC_NAME_PATH_SEGMENT, false);
}

Test(meta, name_rules)
{
    EXPECT("{\"name\":\"Bad_Name\",\"namespace\":\"ns\"}", KC_NAME_SUBDOMAIN, true,
           {"FieldValueInvalid", "metadata.name", "Invalid value: \"Bad_Name\": " M_SUBDOMAIN});
    EXPECT("{\"namespace\":\"ns\"}", KC_NAME_SUBDOMAIN, true,
           {"FieldValueRequired", "metadata.name", "Required value: name or generateName is required"});
    EXPECT("{\"name\":\"a.b\"}", KC_NAME_LABEL, false,
           {"FieldValueInvalid", "metadata.name", "Invalid value: \"a.b\": must not contain dots"});
    EXPECT("{\"name\":\"1svc\",\"namespace\":\"ns\"}", KC_NAME_DNS1035, true,
           {"FieldValueInvalid", "metadata.name", "Invalid value: \"1svc\": " M_1035});
    EXPECT("{\"name\":\"a/b\"}", KC_NAME_PATH_SEGMENT, false,
           {"FieldValueInvalid", "metadata.name", "Invalid value: \"a/b\": may not contain '/'"});
    char js[400];
    snprintf(js, sizeof js, "{\"name\":\"%s\"}", rep('a', 254));
    char msg[400];
    snprintf(msg, sizeof msg, "Invalid value: \"%s\": " M_MAX253, rep('a', 254));
    EXPECT(js, KC_NAME_SUBDOMAIN, false, {"FieldValueInvalid", "metadata.name", msg});
}

Test(meta, generate_name)
{
    EXPECT_VALID("{\"generateName\":\"web-\",\"name\":\"web-x7k2p\"}", KC_NAME_SUBDOMAIN, false);
    EXPECT("{\"generateName\":\"Web-\",\"name\":\"Web-x7k2p\"}", KC_NAME_SUBDOMAIN, false,
           {"FieldValueInvalid", "metadata.generateName", "Invalid value: \"Web-\": " M_SUBDOMAIN},
           {"FieldValueInvalid", "metadata.name", "Invalid value: \"Web-x7k2p\": " M_SUBDOMAIN});
}

Test(meta, namespace_rules)
{
    EXPECT("{\"name\":\"a\"}", KC_NAME_SUBDOMAIN, true,
           {"FieldValueRequired", "metadata.namespace", "Required value"});
    EXPECT("{\"name\":\"a\",\"namespace\":\"Bad.ns\"}", KC_NAME_SUBDOMAIN, true,
           {"FieldValueInvalid", "metadata.namespace", "Invalid value: \"Bad.ns\": " M_LABEL});
    EXPECT("{\"name\":\"a\",\"namespace\":\"x\"}", KC_NAME_SUBDOMAIN, false,
           {"FieldValueForbidden", "metadata.namespace", "Forbidden: not allowed on this type"});
}

Test(meta, labels_and_annotations)
{
    EXPECT("{\"name\":\"a\",\"labels\":{\"Bad Key\":\"ok\",\"good\":\"bad value\"}}", KC_NAME_SUBDOMAIN,
           false, {"FieldValueInvalid", "metadata.labels", "Invalid value: \"Bad Key\": " M_QNAME},
           {"FieldValueInvalid", "metadata.labels", "Invalid value: \"bad value\": " M_LVALUE});
    EXPECT("{\"name\":\"a\",\"labels\":{\"k\":7}}", KC_NAME_SUBDOMAIN, false,
           {"FieldValueInvalid", "metadata.labels", "Invalid value: 7: must be a string"});
    EXPECT("{\"name\":\"a\",\"annotations\":{\"a/b/c\":\"x\",\"UPPER.example.com/Ok\":\"y\"}}",
           KC_NAME_SUBDOMAIN, false,
           {"FieldValueInvalid", "metadata.annotations", "Invalid value: \"a/b/c\": " M_QSLASHES});
    /* 262144 bytes of keys + values is fine, one more is not */
    for (int extra = 0; extra < 2; extra++) {
        size_t vlen = 256 * 1024 - 1 + (size_t)extra;
        char *v = malloc(vlen + 1);
        memset(v, 'x', vlen);
        v[vlen] = 0;
        json_t *md = json_pack("{s:s,s:{s:s}}", "name", "a", "annotations", "k", v);
        kc_err err = KC_ERR_INIT;
        cr_expect_eq(kc_meta_validate(md, KC_NAME_SUBDOMAIN, false, &err), extra ? -1 : 0);
        if (extra) {
            json_t *c = json_array_get(err.causes, 0);
            cr_expect_str_eq(json_string_value(json_object_get(c, "reason")), "FieldValueTooLong");
            cr_expect_str_eq(json_string_value(json_object_get(c, "field")), "metadata.annotations");
            cr_expect_str_eq(json_string_value(json_object_get(c, "message")),
                             "Too long: must have at most 262144 bytes");
        }
        kc_err_release(&err);
        json_decref(md);
        free(v);
    }
}

Test(meta, generation_finalizers_owners)
{
    EXPECT("{\"name\":\"a\",\"generation\":-1}", KC_NAME_SUBDOMAIN, false,
           {"FieldValueInvalid", "metadata.generation",
            "Invalid value: -1: must be greater than or equal to 0"});
    EXPECT("{\"name\":\"a\",\"finalizers\":[\"bad finalizer\",\"orphan\",\"foregroundDeletion\"]}",
           KC_NAME_SUBDOMAIN, false,
           {"FieldValueInvalid", "metadata.finalizers", "Invalid value: \"bad finalizer\": " M_QNAME},
           {"FieldValueInvalid", "metadata.finalizers",
            "Invalid value: [\"bad finalizer\",\"orphan\",\"foregroundDeletion\"]: finalizer orphan and "
            "foregroundDeletion cannot be both set"});
    EXPECT("{\"name\":\"a\",\"ownerReferences\":[{\"apiVersion\":\"apps/"
           "\",\"kind\":\"\",\"name\":\"\",\"uid\":\"\"}]}",
           KC_NAME_SUBDOMAIN, false,
           {"FieldValueInvalid", "metadata.ownerReferences.apiVersion",
            "Invalid value: \"apps/\": version must not be empty"},
           {"FieldValueInvalid", "metadata.ownerReferences.kind", "Invalid value: \"\": must not be empty"},
           {"FieldValueInvalid", "metadata.ownerReferences.name", "Invalid value: \"\": must not be empty"},
           {"FieldValueInvalid", "metadata.ownerReferences.uid", "Invalid value: \"\": must not be empty"});
    EXPECT("{\"name\":\"a\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"e\","
           "\"uid\":\"u\"}]}",
           KC_NAME_SUBDOMAIN, false,
           {"FieldValueInvalid", "metadata.ownerReferences",
            "Invalid value: {\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"e\",\"uid\":\"u\"}: /v1, "
            "Kind=Event is "
            "disallowed from being an owner"});
    EXPECT("{\"name\":\"a\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"A\",\"name\":\"x\","
           "\"uid\":\"1\","
           "\"controller\":true},{\"apiVersion\":\"v1\",\"kind\":\"B\",\"name\":\"y\",\"uid\":\"2\","
           "\"controller\":true}]}",
           KC_NAME_SUBDOMAIN, false,
           {"FieldValueInvalid", "metadata.ownerReferences",
            "Invalid value: "
            "[{\"apiVersion\":\"v1\",\"kind\":\"A\",\"name\":\"x\",\"uid\":\"1\",\"controller\":true},"
            "{\"apiVersion\":\"v1\",\"kind\":\"B\",\"name\":\"y\",\"uid\":\"2\",\"controller\":true}]: Only "
            "one reference "
            "can have Controller set to true. Found \"true\" in references for A/x and B/y"});
}

Test(meta, aggregate_message_and_existing_causes)
{
    json_t *md = json_pack("{s:s}", "name", "Bad_Name");
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_meta_validate(md, KC_NAME_SUBDOMAIN, true, &err), -1);
    cr_expect_str_eq(err.msg, "[metadata.name: Invalid value: \"Bad_Name\": " M_SUBDOMAIN
                              ", metadata.namespace: Required value]");
    kc_err_release(&err);
    json_object_set_new(md, "namespace", json_string("ns"));
    cr_assert_eq(kc_meta_validate(md, KC_NAME_SUBDOMAIN, true, &err), -1);
    cr_expect_str_eq(err.msg, "metadata.name: Invalid value: \"Bad_Name\": " M_SUBDOMAIN);
    kc_err_release(&err);
    /* causes already present do not make a valid metadata fail */
    kc_err_cause(&err, "FieldValueInvalid", "spec.x", "Invalid value: 1: no");
    json_object_set_new(md, "name", json_string("good"));
    cr_expect_eq(kc_meta_validate(md, KC_NAME_SUBDOMAIN, true, &err), 0);
    kc_err_release(&err);
    json_decref(md);
    /* missing metadata: name and namespace required */
    cr_expect_eq(kc_meta_validate(NULL, KC_NAME_SUBDOMAIN, true, &err), -1);
    cr_expect_eq(kc_err_ncauses(&err), 2);
    kc_err_release(&err);
}
