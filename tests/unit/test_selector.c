/* Unit tests for api/selector: label selector parsing (cases from upstream's labels/selector_test.go,
 * with the exact error messages the Go parser produces), String() round trips, matching,
 * metav1.LabelSelector conversion, and field selectors (fields/selector_test.go). */
#include "api/selector.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define M_QNAME                                                                                              \
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "     \
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define M_LVALUE                                                                                             \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "     \
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "       \
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define M_SUBDOMAIN                                                                                          \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "    \
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "      \
    "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define OPS "in, notin, =, ==, !=, gt, lt"
#define URP "unable to parse requirement: "

static char *sel_string(const char *in)
{
    kc_labelsel *s;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_labelsel_parse(in, &s, &err), 0, "parse(%s): %s", in, err.msg);
    char *out = kc_labelsel_string(s);
    kc_labelsel_free(s);
    return out;
}

/* ---- label selector parsing ---- */

Test(labelsel, parse_good_and_canonical_string)
{
    static const struct {
        const char *in, *out;
    } c[] = {
        {"x=a,y=b,z=c", "x=a,y=b,z=c"},
        {"", ""},
        {"x!=a,y=b", "x!=a,y=b"},
        {"x=", "x="},
        {"x= ", "x="},
        {"x=,z= ", "x=,z="},
        {"x= ,z= ", "x=,z="},
        {"!x", "!x"},
        {"x>1", "x>1"},
        {"x>1,z<5", "x>1,z<5"},
        {"x=a,a=x", "a=x,x=a"},
        {"a=x,x=a", "a=x,x=a"},
        {"\rx", "x"},
        {"this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"},
        {"this-is-another-dns.domain.com/key-with-dash in (so,what)",
         "this-is-another-dns.domain.com/key-with-dash in (so,what)"},
        {"0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
         "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"},
        {"foo  in\t (abc)", "foo in (abc)"},
        {"x notin\n (abc)", "x notin (abc)"},
        {"x  notin\t\t\t(abc,def)", "x notin (abc,def)"},
        {"x in (abc,def)", "x in (abc,def)"},
        {"x in (def,abc)", "x in (abc,def)"},
        {"x in (abc,)", "x in (,abc)"},
        {"x in ()", "x in ()"},
        {"x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()"},
        {"x,y in (a)", "x,y in (a)"},
        {"x=a", "x=a"},
        {"x<7", "x<7"},
        {"x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)"},
        {"x notin ( )", "x notin ()"},
        {"x notin (, a)", "x notin (,a)"},
        {"a ", "a"},
        {"a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"},
        {"x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"},
        {"notin=in", "notin=in"},
        {"in in (in),notin notin (notin)", "in in (in),notin notin (notin)"},
        {"x==y", "x==y"},
        {"x in (b,a,b,a)", "x in (a,b)"},
        {"z=1,a=2,z!=3,a", "a=2,a,z=1,z!=3"},
        {" x in ( a , b ) , ! y ", "x in (a,b),!y"},
        {"example.com/Key_1.x=Val-1_2.3", "example.com/Key_1.x=Val-1_2.3"},
        {"x>9223372036854775807", "x>9223372036854775807"},
        {"k = in", "k=in"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char *got = sel_string(c[i].in);
        cr_expect_str_eq(got, c[i].out, "parse(%s)", c[i].in);
        char *again = sel_string(got);
        cr_expect_str_eq(again, got, "round trip of %s", got);
        free(again);
        free(got);
    }
}

Test(labelsel, parse_errors_like_upstream)
{
    static const struct {
        const char *in, *msg;
    } c[] = {
        {"x=a||y=b", URP "values[0][x]: Invalid value: \"a||y\": " M_LVALUE},
        {"x==a==b", "found '==', expected: ',' or 'end of string'"},
        {"!x=a", "found '=', expected: ',' or 'end of string'"},
        {"x<a",
         URP "values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"},
        {"x>99999999999999999999", URP
         "values[0]: Invalid value: \"99999999999999999999\": for 'Gt', 'Lt' operators, the value must be an "
         "integer"},
        {"x,,y", "found ',', expected: identifier after ','"},
        {",x,y", "found ',', expected: !, identifier, or 'end of string'"},
        {"x nott in (y)", URP "found 'nott', expected: " OPS},
        {"a in (xyz),", "found '', expected: identifier after ','"},
        {"a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"},
        {"a in (xyz abc)", URP "found 'abc', expected: ',' or ')'"},
        {"a notin(", URP "found '', expected: ',', ')' or identifier"},
        {"a (", URP "found '(', expected: " OPS},
        {"(", "found '(', expected: !, identifier, or 'end of string'"},
        {"x in (,,)", URP "found ')', expected: ',', or identifier"},
        {"x in (a,", URP "found '', expected: ',', or identifier"},
        {"x in in", URP "found 'in' expected: '('"},
        {"!", URP "found '', expected: identifier"},
        {"!!x", URP "found '!', expected: identifier"},
        {"x=(", URP "found '(', expected: identifier"},
        {"x!", URP "found '!', expected: " OPS},
        {"x = a b", "found 'b', expected: ',' or 'end of string'"},
        {"app:monolith", URP "<nil>: Invalid value: \"app:monolith\": " M_QNAME},
        {"*bar", URP "<nil>: Invalid value: \"*bar\": " M_QNAME},
        {"a/b/c ?=? def",
         URP "<nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, "
             "'-', '_' or "
             "'.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
             "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
             "optional "
             "DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
        {"app.kubernetes_io/name=x",
         URP "<nil>: Invalid value: \"app.kubernetes_io/name\": prefix part " M_SUBDOMAIN},
        {"/x", URP "<nil>: Invalid value: \"/x\": prefix part must be non-empty"},
        {"good-key=zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
         URP "values[0][good-key]: Invalid value: "
             "\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\": "
             "must be no more than 63 characters"},
        {"k in (-a,b,-c)", URP "[values[0][k]: Invalid value: \"-a\": " M_LVALUE
                               ", values[1][k]: Invalid value: \"-c\": " M_LVALUE "]"},
        {"k in (\"q\")", URP "values[0][k]: Invalid value: \"\\\"q\\\"\": " M_LVALUE},
        {"k\xff=v", URP "<nil>: Invalid value: \"k\\xff\": " M_QNAME},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        kc_labelsel *s = (kc_labelsel *)1;
        kc_err err = KC_ERR_INIT;
        cr_expect_eq(kc_labelsel_parse(c[i].in, &s, &err), -1, "parse(%s) should fail", c[i].in);
        cr_expect_null(s);
        cr_expect_eq(err.reason, KC_EBADREQUEST);
        cr_expect_str_eq(err.msg, c[i].msg, "parse(%s)", c[i].in);
        kc_labelsel_free(s);
    }
}

Test(labelsel, error_message_is_valid_utf8_and_bounded)
{
    char in[4000];
    memset(in, 'a', sizeof in - 3);
    memcpy(in + sizeof in - 3, "\xc4", 1);
    in[sizeof in - 2] = '(';
    in[sizeof in - 1] = 0;
    kc_labelsel *s;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_labelsel_parse("x in (a b\xff)", &s, &err), -1);
    cr_expect_str_eq(err.msg, URP "found 'b\xef\xbf\xbd', expected: ',' or ')'");
    cr_assert_eq(kc_labelsel_parse(in, &s, &err), -1);
    json_t *j = json_string(err.msg);
    cr_expect_not_null(j, "message must be valid UTF-8");
    json_decref(j);
}

/* ---- matching ---- */

static bool matches(const char *sel, const char *labels_json)
{
    kc_labelsel *s;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_labelsel_parse(sel, &s, &err), 0, "parse(%s): %s", sel, err.msg);
    json_t *labels = labels_json ? json_loads(labels_json, 0, NULL) : NULL;
    cr_assert(labels || !labels_json, "bad json %s", labels_json);
    bool m = kc_labelsel_match(s, labels);
    json_decref(labels);
    kc_labelsel_free(s);
    return m;
}

Test(labelsel, match_table)
{
    static const struct {
        const char *sel, *labels;
        bool want;
    } c[] = {
        {"", "{\"x\":\"y\"}", true},
        {"x=y", "{\"x\":\"y\"}", true},
        {"x=y,z=w", "{\"x\":\"y\",\"z\":\"w\"}", true},
        {"x!=y,z!=w", "{\"x\":\"z\",\"z\":\"a\"}", true},
        {"notin=in", "{\"notin\":\"in\"}", true},
        {"x", "{\"x\":\"z\"}", true},
        {"!x", "{\"y\":\"z\"}", true},
        {"x>1", "{\"x\":\"2\"}", true},
        {"x<1", "{\"x\":\"0\"}", true},
        {"x=z", "{}", false},
        {"x=y", "{\"x\":\"z\"}", false},
        {"x=y,z=w", "{\"x\":\"w\",\"z\":\"w\"}", false},
        {"x!=y,z!=w", "{\"x\":\"z\",\"z\":\"w\"}", false},
        {"x", "{\"y\":\"z\"}", false},
        {"!x", "{\"x\":\"z\"}", false},
        {"x>1", "{\"x\":\"0\"}", false},
        {"x<1", "{\"x\":\"2\"}", false},
        {"foo=bar", "{\"foo\":\"bar\",\"baz\":\"blah\"}", true},
        {"baz=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", true},
        {"foo=bar,baz=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", true},
        {"foo=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", false},
        {"baz=bar", "{\"foo\":\"bar\",\"baz\":\"blah\"}", false},
        {"foo=bar,foobar=bar,baz=blah", "{\"foo\":\"bar\",\"baz\":\"blah\"}", false},
        /* TestRequirementSelectorMatching */
        {"x in (foo),y notin (alpha)", "{\"x\":\"foo\",\"y\":\"baz\"}", true},
        {"x in (foo),y in (alpha)", "{\"x\":\"foo\",\"y\":\"baz\"}", false},
        {"x notin (),y", "{\"y\":\"\"}", true},
        {"!x,y", "{\"y\":\"\"}", true},
        {"x notin (),!y", "{\"y\":\"\"}", false},
        {"x in ()", "{\"y\":\"baz\"}", false},
        {"z>1", "{\"z\":\"2\"}", true},
        {"z>1", "{\"z\":\"v2\"}", false},
        /* more */
        {"x in ()", "{\"x\":\"\"}", true},
        {"x=", "{\"x\":\"\"}", true},
        {"x=", "{}", false},
        {"x!=", "{}", true},
        {"x in (a,b,c,d,e,f,g)", "{\"x\":\"f\"}", true},
        {"x in (a,b,c,d,e,f,g)", "{\"x\":\"h\"}", false},
        {"x notin (a,b)", "{}", true},
        {"x>-5", NULL, false},
        {"x<10", "{\"x\":\"-3\"}", true},
        {"x<10", "{\"x\":\"+3\"}", true},
        {"x>1", "{\"x\":\"99999999999999999999\"}", false},
        {"x>1", "{\"x\":\" 2\"}", false},
        {"!x", NULL, true},
        {"x", NULL, false},
        {"x notin (a)", NULL, true},
        {"x=1", "{\"x\":1}", false},
        {"x", "{\"x\":1}", true},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        if (!strcmp(c[i].sel, "x>-5")) continue; /* "-5" is not a label value: covered below */
        cr_expect_eq(matches(c[i].sel, c[i].labels), c[i].want, "%s against %s", c[i].sel,
                     c[i].labels ? c[i].labels : "NULL");
    }
    kc_labelsel *s;
    kc_err err = KC_ERR_INIT;
    cr_expect_eq(kc_labelsel_parse("x>-5", &s, &err), -1, "negative operands are not label values");
}

Test(labelsel, everything_nothing_null)
{
    json_t *labels = json_pack("{s:s}", "a", "b");
    kc_labelsel *all = kc_labelsel_new_everything(), *none = kc_labelsel_new_nothing(), *parsed;
    kc_err err = KC_ERR_INIT;
    cr_expect(kc_labelsel_match(all, labels) && kc_labelsel_empty(all) && !kc_labelsel_is_nothing(all));
    cr_expect(!kc_labelsel_match(none, labels) && !kc_labelsel_empty(none) && kc_labelsel_is_nothing(none));
    cr_expect(!kc_labelsel_match(none, NULL));
    cr_expect(kc_labelsel_match(NULL, labels) && kc_labelsel_empty(NULL) && !kc_labelsel_is_nothing(NULL));
    char *a = kc_labelsel_string(all), *n = kc_labelsel_string(none), *z = kc_labelsel_string(NULL);
    cr_expect_str_eq(a, "");
    cr_expect_str_eq(n, "");
    cr_expect_str_eq(z, "");
    free(a), free(n), free(z);
    cr_assert_eq(kc_labelsel_parse(NULL, &parsed, &err), 0);
    cr_expect(kc_labelsel_empty(parsed));
    kc_labelsel_free(parsed);
    cr_assert_eq(kc_labelsel_parse("a=b", &parsed, &err), 0);
    cr_expect(!kc_labelsel_empty(parsed));
    kc_labelsel_free(parsed);
    kc_labelsel_free(all);
    kc_labelsel_free(none);
    kc_labelsel_free(NULL);
    json_decref(labels);
}

Test(labelsel, exact)
{
    static const struct {
        const char *sel, *key, *want;
    } c[] = {
        {"app=web", "app", "web"},     {"app==web", "app", "web"},   {"app in (web)", "app", "web"},
        {"app in (a,b)", "app", NULL}, {"app!=web", "app", NULL},    {"app", "app", NULL},
        {"x=1", "app", NULL},          {"app,app=web", "app", NULL}, /* only the first requirement counts */
        {"app=web,app", "app", "web"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        kc_labelsel *s;
        kc_err err = KC_ERR_INIT;
        cr_assert_eq(kc_labelsel_parse(c[i].sel, &s, &err), 0);
        const char *got = kc_labelsel_exact(s, c[i].key);
        if (c[i].want)
            cr_expect_str_eq(got, c[i].want, "%s", c[i].sel);
        else
            cr_expect_null(got, "%s", c[i].sel);
        kc_labelsel_free(s);
    }
}

/* ---- metav1.LabelSelector ---- */

Test(labelsel, from_json)
{
    static const struct {
        const char *js, *str, *yes, *no;
    } c[] = {
        {"{}", "", "{}", NULL},
        {"{\"matchLabels\":{},\"matchExpressions\":[]}", "", "{\"a\":\"b\"}", NULL},
        {"{\"matchLabels\":{\"app\":\"web\",\"tier\":\"fe\"}}", "app=web,tier=fe",
         "{\"app\":\"web\",\"tier\":\"fe\",\"x\":\"y\"}", "{\"app\":\"web\"}"},
        {"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\",\"dev\",\"prod\"]}"
         "]}",
         "env in (dev,prod,prod)", "{\"env\":\"dev\"}", "{\"env\":\"qa\"}"},
        {"{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"qa\"]},"
         "{\"key\":\"gone\",\"operator\":\"DoesNotExist\"},{\"key\":\"app\",\"operator\":\"Exists\","
         "\"values\":[]}]}",
         "app,env notin (qa),!gone", "{\"app\":\"x\"}", "{\"app\":\"x\",\"gone\":\"\"}"},
        {"{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Exists\"}]"
         "}",
         "app=web,app", "{\"app\":\"web\"}", "{\"app\":\"db\"}"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        json_t *j = json_loads(c[i].js, 0, NULL), *yes = json_loads(c[i].yes, 0, NULL);
        json_t *no = c[i].no ? json_loads(c[i].no, 0, NULL) : NULL;
        kc_labelsel *s;
        kc_err err = KC_ERR_INIT;
        cr_assert_eq(kc_labelsel_from_json(j, &s, &err), 0, "%s: %s", c[i].js, err.msg);
        char *str = kc_labelsel_string(s);
        cr_expect_str_eq(str, c[i].str, "%s", c[i].js);
        cr_expect(kc_labelsel_match(s, yes), "%s should match %s", c[i].js, c[i].yes);
        if (no) cr_expect(!kc_labelsel_match(s, no), "%s should not match %s", c[i].js, c[i].no);
        cr_expect(!kc_labelsel_is_nothing(s));
        free(str);
        kc_labelsel_free(s);
        json_decref(j), json_decref(yes), json_decref(no);
    }
}

Test(labelsel, from_json_nil_is_nothing)
{
    kc_labelsel *s;
    kc_err err = KC_ERR_INIT;
    json_t *labels = json_pack("{}");
    cr_assert_eq(kc_labelsel_from_json(NULL, &s, &err), 0);
    cr_expect(kc_labelsel_is_nothing(s) && !kc_labelsel_empty(s) && !kc_labelsel_match(s, labels));
    kc_labelsel_free(s);
    json_t *null = json_null();
    cr_assert_eq(kc_labelsel_from_json(null, &s, &err), 0);
    cr_expect(kc_labelsel_is_nothing(s));
    kc_labelsel_free(s);
    json_decref(labels);
}

Test(labelsel, from_json_errors)
{
    static const struct {
        const char *js, *msg;
    } c[] = {
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}",
         "\"Foo\" is not a valid label selector operator"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
         "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
         "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist"},
        {"{\"matchExpressions\":[{\"key\":\"Bad Key\",\"operator\":\"Exists\"}]}",
         "key: Invalid value: \"Bad Key\": " M_QNAME},
        {"{\"matchExpressions\":[{\"operator\":\"Exists\"}]}",
         "key: Invalid value: \"\": name part must be non-empty; " M_QNAME},
        {"{\"matchLabels\":{\"app\":\"bad value\"}}",
         "values[0][app]: Invalid value: \"bad value\": " M_LVALUE},
        {"{\"matchLabels\":{\"a\":1}}", "invalid label selector: matchLabels values must be strings"},
        {"{\"matchLabels\":[]}", "invalid label selector: matchLabels must be an object"},
        {"[]", "invalid label selector: must be an object"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        json_t *j = json_loads(c[i].js, 0, NULL);
        kc_labelsel *s = (kc_labelsel *)1;
        kc_err err = KC_ERR_INIT;
        cr_assert_not_null(j, "%s", c[i].js);
        cr_expect_eq(kc_labelsel_from_json(j, &s, &err), -1, "%s", c[i].js);
        cr_expect_null(s);
        cr_expect_eq(err.reason, KC_EBADREQUEST);
        cr_expect_str_eq(err.msg, c[i].msg, "%s", c[i].js);
        json_decref(j);
    }
}

/* ---- field selectors ---- */

static const char *get_from_json(void *ctx, const char *field)
{
    json_t *v = json_object_get(ctx, field);
    return v ? json_string_value(v) : "";
}

Test(fieldsel, parse_and_string)
{
    static const struct {
        const char *in, *out;
        size_t n;
    } c[] = {
        {"", "", 0},
        {",", "", 0},
        {"a=b", "a=b", 1},
        {"a==b", "a=b", 1},
        {"a!=b", "a!=b", 1},
        {"x=a,y=b,z=c", "x=a,y=b,z=c", 3},
        {"z=c,x=a,y=b", "x=a,y=b,z=c", 3},
        {"x!=a,y=b", "x!=a,y=b", 2},
        {"x=", "x=", 1},
        {"=x", "=x", 1},
        {"metadata.name=foo,,spec.nodeName=", "metadata.name=foo,spec.nodeName=", 2},
        {"x=a\\,b", "x=a\\,b", 1},
        {"x=a\\=b\\\\c", "x=a\\=b\\\\c", 1},
        {"x==\\=b", "x=\\=b", 1},
        {"a!b=c", "a!b=c", 1},
        {"a!!=b", "a!!=b", 1},
        {"x=!y", "x=!y", 1},
        {"x = y ", "x = y ", 1},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        kc_fieldsel *s;
        kc_err err = KC_ERR_INIT;
        cr_assert_eq(kc_fieldsel_parse(c[i].in, &s, &err), 0, "parse(%s): %s", c[i].in, err.msg);
        char *str = kc_fieldsel_string(s);
        cr_expect_str_eq(str, c[i].out, "parse(%s)", c[i].in);
        cr_expect_eq(kc_fieldsel_nterms(s), c[i].n, "parse(%s)", c[i].in);
        cr_expect_eq(kc_fieldsel_empty(s), c[i].n == 0);
        free(str);
        kc_fieldsel_free(s);
    }
}

Test(fieldsel, terms)
{
    kc_fieldsel *s;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_fieldsel_parse("status.phase!=Running,metadata.name=a\\,b", &s, &err), 0);
    cr_assert_eq(kc_fieldsel_nterms(s), 2);
    cr_expect_str_eq(kc_fieldsel_field(s, 0), "metadata.name");
    cr_expect_str_eq(kc_fieldsel_value(s, 0), "a,b");
    cr_expect(!kc_fieldsel_negated(s, 0));
    cr_expect_str_eq(kc_fieldsel_field(s, 1), "status.phase");
    cr_expect_str_eq(kc_fieldsel_value(s, 1), "Running");
    cr_expect(kc_fieldsel_negated(s, 1));
    cr_expect_null(kc_fieldsel_field(s, 2));
    kc_fieldsel_free(s);
}

Test(fieldsel, parse_errors)
{
    static const struct {
        const char *in, *msg;
    } c[] = {
        {"x", "invalid selector: 'x'; can't understand 'x'"},
        {"a=b,x", "invalid selector: 'a=b,x'; can't understand 'x'"},
        {"x=a||y=b", "invalid field selector: unescaped character in value: 61"},
        {"x==a==b", "invalid field selector: unescaped character in value: 61"},
        {"x=a\\,b,y", "invalid selector: 'x=a\\,b,y'; can't understand 'y'"},
        {"x=a\\", "invalid field selector: invalid escape sequence: \\"},
        {"x=a\\b", "invalid field selector: invalid escape sequence: \\b"},
        {"x=\\\xc4\x81", "invalid field selector: invalid escape sequence: \\\xc4\x81"},
        {"x=\\\xff", "invalid field selector: invalid escape sequence: \\\xef\xbf\xbd"},
        {"a!==b", "invalid field selector: unescaped character in value: 61"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        kc_fieldsel *s = (kc_fieldsel *)1;
        kc_err err = KC_ERR_INIT;
        cr_expect_eq(kc_fieldsel_parse(c[i].in, &s, &err), -1, "parse(%s)", c[i].in);
        cr_expect_null(s);
        cr_expect_eq(err.reason, KC_EBADREQUEST);
        cr_expect_str_eq(err.msg, c[i].msg, "parse(%s)", c[i].in);
    }
}

Test(fieldsel, match_table)
{
    static const struct {
        const char *sel, *fields;
        bool want;
    } c[] = {
        {"", "{\"x\":\"y\"}", true},
        {"x=y", "{\"x\":\"y\"}", true},
        {"x=y,z=w", "{\"x\":\"y\",\"z\":\"w\"}", true},
        {"x!=y,z!=w", "{\"x\":\"z\",\"z\":\"a\"}", true},
        {"x=z", "{}", false},
        {"x=y", "{\"x\":\"z\"}", false},
        {"x=y,z=w", "{\"x\":\"w\",\"z\":\"w\"}", false},
        {"x!=y,z!=w", "{\"x\":\"z\",\"z\":\"w\"}", false},
        {"x=", "{}", true},
        {"x!=", "{}", false},
        {"x!=a", "{}", true},
        {"x=a\\,b", "{\"x\":\"a,b\"}", true},
        {"x=a\\=b", "{\"x\":\"a=b\"}", true},
        {"x=a\\\\b", "{\"x\":\"a\\\\b\"}", true},
        {"spec.nodeName=n1,status.phase!=Succeeded",
         "{\"spec.nodeName\":\"n1\",\"status.phase\":\"Running\"}", true},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        kc_fieldsel *s;
        kc_err err = KC_ERR_INIT;
        json_t *obj = json_loads(c[i].fields, 0, NULL);
        cr_assert_eq(kc_fieldsel_parse(c[i].sel, &s, &err), 0, "parse(%s): %s", c[i].sel, err.msg);
        cr_expect_eq(kc_fieldsel_match(s, get_from_json, obj), c[i].want, "%s against %s", c[i].sel,
                     c[i].fields);
        kc_fieldsel_free(s);
        json_decref(obj);
    }
    cr_expect(kc_fieldsel_match(NULL, get_from_json, NULL));
}

Test(fieldsel, exact)
{
    static const struct {
        const char *sel, *field, *want;
    } c[] = {
        {"metadata.name=foo", "metadata.name", "foo"},
        {"metadata.name==foo", "metadata.name", "foo"},
        {"metadata.name!=foo", "metadata.name", NULL},
        {"metadata.namespace=ns,metadata.name=a", "metadata.name", "a"},
        {"metadata.namespace=ns,metadata.name=a", "metadata.namespace", "ns"},
        {"metadata.name=b,metadata.name=a", "metadata.name", "a"}, /* terms are sorted */
        {"metadata.name=a\\,b", "metadata.name", "a,b"},
        {"", "metadata.name", NULL},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        kc_fieldsel *s;
        kc_err err = KC_ERR_INIT;
        cr_assert_eq(kc_fieldsel_parse(c[i].sel, &s, &err), 0);
        const char *got = kc_fieldsel_exact(s, c[i].field);
        if (c[i].want)
            cr_expect_str_eq(got, c[i].want, "%s", c[i].sel);
        else
            cr_expect_null(got, "%s", c[i].sel);
        kc_fieldsel_free(s);
    }
}
