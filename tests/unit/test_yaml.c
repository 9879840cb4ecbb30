/* kc_yaml_decode: YAML request bodies decoded as a Kubernetes API server does (go-yaml v2 typing,
 * sigs.k8s.io/yaml key rules). Expected values were checked against sigs.k8s.io/yaml 1.3.0 on
 * gopkg.in/yaml.v2 2.4.0, except where yaml.h documents a deliberate difference (duplicate keys,
 * integers beyond int64). */
#include "lib/yaml.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ok_case {
    const char *name, *yaml, *json;
};

struct err_case {
    const char *name, *yaml, *msg;
};

static json_t *decode(const char *yaml, size_t len, kc_err *err)
{
    return kc_yaml_decode(yaml, len, err);
}

static void expect_json(const struct ok_case *c)
{
    kc_err err = KC_ERR_INIT;
    json_t *got = decode(c->yaml, strlen(c->yaml), &err);
    cr_assert_not_null(got, "%s: unexpected error: %s", c->name, err.msg);
    cr_assert_eq(err.reason, KC_OK, "%s", c->name);
    json_error_t je;
    json_t *want = json_loads(c->json, JSON_DECODE_ANY, &je);
    cr_assert_not_null(want, "%s: bad expectation: %s", c->name, je.text);
    char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert(json_equal(got, want), "%s:\n got  %s\n want %s", c->name, g, c->json);
    free(g);
    json_decref(got);
    json_decref(want);
}

static void expect_error(const struct err_case *c)
{
    kc_err err = KC_ERR_INIT;
    json_t *got = decode(c->yaml, strlen(c->yaml), &err);
    char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    cr_assert_null(got, "%s: decoded to %s, want error", c->name, g);
    cr_assert_eq(err.reason, KC_EBADREQUEST, "%s", c->name);
    cr_assert_str_eq(err.msg, c->msg, "%s", c->name);
    kc_err_release(&err);
}

#define RUN_OK(table)                                                                                        \
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)                                              \
    expect_json(&table[i])
#define RUN_ERR(table)                                                                                       \
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)                                              \
    expect_error(&table[i])

#define E "error converting YAML to JSON: "

/* ---- a realistic manifest ---- */

static const char deployment_yaml[] = "# a typical kubectl-style manifest\n"
                                      "apiVersion: apps/v1\n"
                                      "kind: Deployment\n"
                                      "metadata:\n"
                                      "  name: web\n"
                                      "  namespace: default\n"
                                      "  labels:\n"
                                      "    app: web\n"
                                      "    tier: \"frontend\"\n"
                                      "  annotations:\n"
                                      "    kubernetes.io/change-cause: 'rollout: v2'\n"
                                      "    description: |\n"
                                      "      Serves the site.\n"
                                      "      Second line.\n"
                                      "spec:\n"
                                      "  replicas: 3\n"
                                      "  revisionHistoryLimit: 010\n"
                                      "  paused: no\n"
                                      "  selector:\n"
                                      "    matchLabels: {app: web}\n"
                                      "  strategy:\n"
                                      "    type: RollingUpdate\n"
                                      "    rollingUpdate:\n"
                                      "      maxSurge: 25%\n"
                                      "      maxUnavailable: 0\n"
                                      "  template:\n"
                                      "    metadata:\n"
                                      "      labels:\n"
                                      "        app: web\n"
                                      "    spec:\n"
                                      "      containers:\n"
                                      "      - name: nginx\n"
                                      "        image: nginx:1.25\n"
                                      "        args: [\"--port\", \"80\"]\n"
                                      "        command:\n"
                                      "          - /bin/sh\n"
                                      "          - -c\n"
                                      "          - >\n"
                                      "            exec nginx\n"
                                      "            -g 'daemon off;'\n"
                                      "        ports:\n"
                                      "        - containerPort: 80\n"
                                      "          protocol: TCP\n"
                                      "        env:\n"
                                      "        - name: DEBUG\n"
                                      "          value: \"true\"\n"
                                      "        - name: RATIO\n"
                                      "          value: '0.5'\n"
                                      "        resources:\n"
                                      "          limits: {cpu: 500m, memory: 128Mi}\n"
                                      "          requests:\n"
                                      "            cpu: 0.25\n"
                                      "            memory: 64Mi\n"
                                      "        readinessProbe:\n"
                                      "          httpGet: {path: /healthz, port: 80}\n"
                                      "          initialDelaySeconds: 5\n"
                                      "      nodeSelector: ~\n"
                                      "      terminationGracePeriodSeconds: 30\n";

static const char deployment_json[] =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
    "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"labels\":{\"app\":\"web\",\"tier\":"
    "\"frontend\"},"
    "\"annotations\":{\"kubernetes.io/change-cause\":\"rollout: v2\","
    "\"description\":\"Serves the site.\\nSecond line.\\n\"}},"
    "\"spec\":{\"replicas\":3,\"revisionHistoryLimit\":8,\"paused\":false,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
    "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":\"25%\",\"maxUnavailable\":0}},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"
    "\"name\":\"nginx\",\"image\":\"nginx:1.25\",\"args\":[\"--port\",\"80\"],"
    "\"command\":[\"/bin/sh\",\"-c\",\"exec nginx -g 'daemon off;'\\n\"],"
    "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
    "\"env\":[{\"name\":\"DEBUG\",\"value\":\"true\"},{\"name\":\"RATIO\",\"value\":\"0.5\"}],"
    "\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"},\"requests\":{\"cpu\":0.25,\"memory\":"
    "\"64Mi\"}},"
    "\"readinessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":80},\"initialDelaySeconds\":5}}],"
    "\"nodeSelector\":null,\"terminationGracePeriodSeconds\":30}}}}";

Test(yaml, deployment_manifest)
{
    struct ok_case c = {"deployment", deployment_yaml, deployment_json};
    expect_json(&c);
}

/* ---- scalars ---- */

static const struct ok_case nulls_and_bools[] = {
    {"tilde", "a: ~", "{\"a\":null}"},
    {"null", "a: null", "{\"a\":null}"},
    {"Null", "a: Null", "{\"a\":null}"},
    {"NULL", "a: NULL", "{\"a\":null}"},
    {"empty", "a:", "{\"a\":null}"},
    {"nUll is text", "a: nUll", "{\"a\":\"nUll\"}"},
    {"true spellings", "[true, True, TRUE, yes, Yes, YES, y, Y, on, On, ON]",
     "[true,true,true,true,true,true,true,true,true,true,true]"},
    {"false spellings", "[false, False, FALSE, no, No, NO, n, N, off, Off, OFF]",
     "[false,false,false,false,false,false,false,false,false,false,false]"},
    {"odd cases stay text", "[tRue, yEs, oN, nO, oFF, yes please]",
     "[\"tRue\",\"yEs\",\"oN\",\"nO\",\"oFF\",\"yes please\"]"},
};

Test(yaml, nulls_and_bools)
{
    RUN_OK(nulls_and_bools);
}

static const struct ok_case integers[] = {
    {"decimal", "[0, 42, -17, +5, -0]", "[0,42,-17,5,0]"},
    {"hex", "[0x1F, 0X1f, -0x10, +0x10]", "[31,31,-16,16]"},
    {"octal 0o", "[0o17, 0O17]", "[15,15]"},
    {"octal leading zero", "[017, 010, 00]", "[15,8,0]"},
    {"binary", "[0b101, -0b101]", "[5,-5]"},
    {"underscores", "[1_000, 1__0, 0x_1F, 1_]", "[1000,10,31,1]"},
    {"int64 bounds", "[9223372036854775807, -9223372036854775808]",
     "[9223372036854775807,-9223372036854775808]"},
    {"beyond int64 is a float", "[9223372036854775808, 18446744073709551615, 99999999999999999999]",
     "[9223372036854775808.0,18446744073709551615.0,1e20]"},
    {"08 is the float 8, an integer in JSON", "[08, 09.5]", "[8,9.5]"},
    {"not numbers", "[0x, 0b, 0b2, 0xg, _1, 1:2, '-', +, 1 2]",
     "[\"0x\",\"0b\",\"0b2\",\"0xg\",\"_1\",\"1:2\",\"-\",\"+\",\"1 2\"]"},
};

Test(yaml, integers)
{
    RUN_OK(integers);
}

static const struct ok_case floats[] = {
    {"plain", "[1.5, -2.25, .5, -.5, +.5, 0.1]", "[1.5,-2.25,0.5,-0.5,0.5,0.1]"},
    {"exponents", "[1.5e-3, 2.5E+2, 1e-5]", "[0.0015,250,1e-05]"},
    {"integral floats are JSON integers", "[1e3, 3.0, 1., 1.e2, 1_0.0, -0.0]", "[1000,3,1,100,10,0]"},
    {"huge integral floats stay real", "[1e21, 123456789012345678901234567890]",
     "[1e21,1.2345678901234568e29]"},
    {"underscores in .5 floats", "[.5_5, ._5]", "[0.55,\"._5\"]"},
    {"overflow keeps the text", "[1e999, .5e999]", "[\"1e999\",\".5e999\"]"},
    {"underflow is zero", "[1e-999]", "[0]"},
    {"not floats", "[1.5.5, 1e, e1, ., 0x1p3, inf, nan, .Nan, .iNF]",
     "[\"1.5.5\",\"1e\",\"e1\",\".\",\"0x1p3\",\"inf\",\"nan\",\".Nan\",\".iNF\"]"},
};

Test(yaml, floats)
{
    RUN_OK(floats);
}

static const struct ok_case strings[] = {
    {"quoted numbers stay strings", "{port: 80, name: \"80\", alt: '80'}",
     "{\"port\":80,\"name\":\"80\",\"alt\":\"80\"}"},
    {"quoted keywords stay strings", "[\"true\", 'null', \"~\", \"\", '', \"1e3\"]",
     "[\"true\",\"null\",\"~\",\"\",\"\",\"1e3\"]"},
    {"timestamps stay strings",
     "[2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10, 2000-02-30]",
     "[\"2001-12-14\",\"2001-12-14t21:59:43.10-05:00\",\"2001-12-14 21:59:43.10\",\"2000-02-30\"]"},
    {"double-quoted escapes", "a: \"t\\tq\\\"\\x41\\u00e9\\U0001F600\"",
     "{\"a\":\"t\\tq\\\"A\\u00e9\\ud83d\\ude00\"}"},
    {"single-quoted", "a: 'it''s'", "{\"a\":\"it's\"}"},
    {"merge key as a value", "a: <<", "{\"a\":\"<<\"}"},
    {"other text", "[abc, a b c, ~x, -, 25%, 'a: b']", "[\"abc\",\"a b c\",\"~x\",\"-\",\"25%\",\"a: b\"]"},
    {"colons in block scalars", "url: http://x/y?z\nt: 12:30\n",
     "{\"url\":\"http://x/y?z\",\"t\":\"12:30\"}"},
};

Test(yaml, strings)
{
    RUN_OK(strings);
}

static const struct ok_case multiline[] = {
    {"literal", "a: |\n  line1\n  line2\n", "{\"a\":\"line1\\nline2\\n\"}"},
    {"literal strip", "a: |-\n  x\n  y\n\n", "{\"a\":\"x\\ny\"}"},
    {"literal keep", "a: |+\n  x\n\n", "{\"a\":\"x\\n\\n\"}"},
    {"literal keeps indentation", "a: |\n  if x:\n    y\n", "{\"a\":\"if x:\\n  y\\n\"}"},
    {"folded", "a: >\n  folded\n  text\n\n  para\n", "{\"a\":\"folded text\\npara\\n\"}"},
    {"folded strip", "a: >-\n  x\n  y\n", "{\"a\":\"x y\"}"},
    {"block scalars are never typed", "a: |\n  42\nb: >-\n  true\n", "{\"a\":\"42\\n\",\"b\":\"true\"}"},
    {"plain multi-line", "a: hello\n  world\n", "{\"a\":\"hello world\"}"},
    {"double-quoted multi-line", "a: \"one\n  two\\\n  three\"\n", "{\"a\":\"one twothree\"}"},
};

Test(yaml, multiline_strings)
{
    RUN_OK(multiline);
}

static const struct ok_case tags[] = {
    {"!!str", "[!!str 123, !!str true, !!str ~, !!str '']", "[\"123\",\"true\",\"~\",\"\"]"},
    {"!!int", "[!!int \"42\", !!int 0x1F]", "[42,31]"},
    {"!!float", "[!!float 1, !!float \"1.5\"]", "[1,1.5]"},
    {"!!bool", "[!!bool \"yes\", !!bool off]", "[true,false]"},
    {"!!null", "[!!null ~, !!null \"\", !!null NULL]", "[null,null,null]"},
    {"!!timestamp", "[!!timestamp 2001-12-14, !!timestamp 2001-2-3T1:2:3Z]",
     "[\"2001-12-14\",\"2001-2-3T1:2:3Z\"]"},
    {"!!binary", "[!!binary aGVsbG8=, !!binary \"aGVs\\nbG8=\", !!binary \"\"]",
     "[\"hello\",\"hello\",\"\"]"},
    {"!!binary invalid UTF-8 becomes U+FFFD", "a: !!binary /w==", "{\"a\":\"\\ufffd\"}"},
    {"verbatim tag", "a: !<tag:yaml.org,2002:int> \"12\"", "{\"a\":12}"},
    {"unknown tags keep the text", "[!foo 12, ! 12, !!seq 1]", "[\"12\",\"12\",\"1\"]"},
    {"container tags are ignored", "a: !!null {b: 1}", "{\"a\":{\"b\":1}}"},
};

Test(yaml, tags)
{
    RUN_OK(tags);
}

static const struct ok_case keys[] = {
    {"int key", "1: a", "{\"1\":\"a\"}"},
    {"hex key", "0x10: a", "{\"16\":\"a\"}"},
    {"bool keys", "true: a\nn: b", "{\"true\":\"a\",\"false\":\"b\"}"},
    {"y is a bool key", "y: 1", "{\"true\":1}"},
    {"float keys use float32 formatting", "2.5: a\n0.1: b\n1e6: c\n1e-5: d\n123456789: e\n1.0: f",
     "{\"2.5\":\"a\",\"0.1\":\"b\",\"1e+06\":\"c\",\"1e-05\":\"d\",\"123456789\":\"e\",\"1\":\"f\"}"},
    {"inf and nan keys", ".inf: a\n-.inf: b\n.nan: c", "{\".inf\":\"a\",\"-.inf\":\"b\",\".nan\":\"c\"}"},
    {"quoted keys", "\"1\": a\n'true': b", "{\"1\":\"a\",\"true\":\"b\"}"},
    {"timestamp key", "2001-12-14: a", "{\"2001-12-14\":\"a\"}"},
    {"complex plain key", "? a b\n: c", "{\"a b\":\"c\"}"},
};

Test(yaml, keys)
{
    RUN_OK(keys);
}

/* ---- documents, anchors, merges ---- */

static const struct ok_case documents[] = {
    {"empty body", "", "null"},
    {"only a comment", "# nothing\n", "null"},
    {"explicit empty document", "---\n", "null"},
    {"scalar document", "--- 42\n", "42"},
    {"sequence document", "- a\n- b: 1\n  c: [1, {d: e}]\n", "[\"a\",{\"b\":1,\"c\":[1,{\"d\":\"e\"}]}]"},
    {"first of several documents", "a: 1\n---\nb: 2\n", "{\"a\":1}"},
    {"later documents are not parsed", "a: 1\n---\n]]]: [\n", "{\"a\":1}"},
    {"document end marker", "a: 1\n...\n", "{\"a\":1}"},
    {"%YAML directive", "%YAML 1.1\n---\na: 1\n", "{\"a\":1}"},
};

Test(yaml, documents)
{
    RUN_OK(documents);
}

static const struct ok_case anchors[] = {
    {"alias of a map", "a: &x {b: 1}\nc: *x\nd: [*x, *x]",
     "{\"a\":{\"b\":1},\"c\":{\"b\":1},\"d\":[{\"b\":1},{\"b\":1}]}"},
    {"alias of a scalar keeps its type", "a: &n 08\nb: *n\nc: &s '08'\nd: *s",
     "{\"a\":8,\"b\":8,\"c\":\"08\",\"d\":\"08\"}"},
    {"alias of a sequence", "- &a [1, 2]\n- *a\n- [*a, *a]", "[[1,2],[1,2],[[1,2],[1,2]]]"},
    {"redefined anchor", "a: &x 1\nb: *x\nc: &x 2\nd: *x", "{\"a\":1,\"b\":1,\"c\":2,\"d\":2}"},
    {"alias as key", "&k a: b\nx:\n  *k : c", "{\"a\":\"b\",\"x\":{\"a\":\"c\"}}"},
    {"merge", "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  a: 3\n",
     "{\"base\":{\"a\":1,\"b\":2},\"x\":{\"a\":3,\"b\":2}}"},
    {"merge after a key overrides it (go-yaml v2 order)", "base: &b {a: 1, b: 2}\nx:\n  a: 3\n  <<: *b\n",
     "{\"base\":{\"a\":1,\"b\":2},\"x\":{\"a\":1,\"b\":2}}"},
    {"merge list: earlier maps win", "a: &a {k: a, x: 1}\nb: &b {k: b, w: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n",
     "{\"a\":{\"k\":\"a\",\"x\":1},\"b\":{\"k\":\"b\",\"w\":2},\"c\":{\"k\":\"a\",\"x\":1,\"w\":2,\"z\":3}}"},
    {"inline merge", "<<: {a: 1}\nb: 2", "{\"a\":1,\"b\":2}"},
    {"nested merges", "a: &a {x: 1}\nb: &b {<<: *a, w: 2}\nc: {<<: *b, z: 3}",
     "{\"a\":{\"x\":1},\"b\":{\"x\":1,\"w\":2},\"c\":{\"x\":1,\"w\":2,\"z\":3}}"},
    {"merged keys may repeat", "a: &a {x: 1}\nb: &b {x: 2}\nc: {<<: [*a, *b], x: 3}",
     "{\"a\":{\"x\":1},\"b\":{\"x\":2},\"c\":{\"x\":3}}"},
    {"quoted << is a plain key", "x:\n  \"<<\": {a: 1}", "{\"x\":{\"<<\":{\"a\":1}}}"},
    {"!!merge tag", "x:\n  !!merge <<: {a: 1}", "{\"x\":{\"a\":1}}"},
    {"aliases are copies", "a: &x [1]\nb: *x", "{\"a\":[1],\"b\":[1]}"},
};

Test(yaml, anchors_and_merges)
{
    RUN_OK(anchors);
}

Test(yaml, aliases_are_independent_copies)
{
    kc_err err = KC_ERR_INIT;
    const char *y = "a: &x {k: [1]}\nb: *x\n";
    json_t *v = decode(y, strlen(y), &err);
    cr_assert_not_null(v, "%s", err.msg);
    json_t *a = json_object_get(v, "a"), *b = json_object_get(v, "b");
    cr_assert(a != b && json_object_get(a, "k") != json_object_get(b, "k"));
    json_array_append_new(json_object_get(a, "k"), json_integer(2));
    cr_assert_eq(json_array_size(json_object_get(b, "k")), 1);
    json_decref(v);
}

Test(yaml, embedded_nul)
{
    kc_err err = KC_ERR_INIT;
    const char *y = "\"k\\0ey\": \"a\\0b\"";
    json_t *v = decode(y, strlen(y), &err);
    cr_assert_not_null(v, "%s", err.msg);
    const char *key;
    size_t key_len;
    json_t *val;
    json_object_keylen_foreach(v, key, key_len, val)
    {
        cr_assert_eq(key_len, 4);
        cr_assert_eq(memcmp(key, "k\0ey", 4), 0);
        cr_assert_eq(json_string_length(val), 3);
        cr_assert_eq(memcmp(json_string_value(val), "a\0b", 3), 0);
    }
    json_decref(v);
}

/* ---- errors ---- */

static const struct err_case syntax_errors[] = {
    {"parser error: 0-based line, as go-yaml prints it",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n labels: y\n",
     E "yaml: line 4: did not find expected key"},
    {"parser error in a nested block", "a:\n  b: 1\n c: 2\n", E "yaml: line 2: did not find expected key"},
    {"scanner error: 1-based line", "a: 1\nb: 2\n  c: 3\n",
     E "yaml: line 3: mapping values are not allowed in this context"},
    {"unclosed flow sequence", "a: [1, 2\n", E "yaml: line 1: did not find expected ',' or ']'"},
    {"unterminated quote", "a: \"x\n", E "yaml: line 2: found unexpected end of stream"},
    {"tab indentation", "key: value\n\ttab: x\n",
     E "yaml: line 2: found a tab character that violates indentation"},
    {"reserved indicator", "a: @x\n", E "yaml: found character that cannot start any token"},
    {"sequence then mapping", "- a\nb: c\n", E "yaml: line 1: did not find expected '-' indicator"},
    {"mapping in a plain value", "a: b: c\n", E "yaml: mapping values are not allowed in this context"},
    {"bad YAML version", "%YAML 2.0\n---\na: 1\n", E "yaml: found incompatible YAML document"},
    {"invalid UTF-8", "a: \xff\n", E "yaml: invalid leading UTF-8 octet"},
    {"control character", "a: \x01\n", E "yaml: control characters are not allowed"},
    {"unknown anchor", "a: *x\n", E "yaml: unknown anchor 'x' referenced"},
};

Test(yaml, syntax_errors)
{
    RUN_ERR(syntax_errors);
}

static const struct err_case decode_errors[] = {
    {"duplicate key", "a: 1\nb: 2\na: 3\n",
     E "yaml: unmarshal errors:\n  line 3: mapping key \"a\" already defined at line 1"},
    {"duplicate key in a nested flow map", "x:\n  z: {k: 1, k: 2}\n",
     E "yaml: unmarshal errors:\n  line 2: mapping key \"k\" already defined at line 2"},
    {"keys equal once stringified", "1: a\n\"1\": b\n",
     E "yaml: unmarshal errors:\n  line 2: mapping key \"1\" already defined at line 1"},
    {"duplicate key is reported before NaN", "a: .nan\na: 1\n",
     E "yaml: unmarshal errors:\n  line 2: mapping key \"a\" already defined at line 1"},
    {"+inf", "a: .inf\n", E "json: unsupported value: +Inf"},
    {"-inf", "a: [-.Inf]\n", E "json: unsupported value: -Inf"},
    {"nan", "a: .NaN\n", E "json: unsupported value: NaN"},
    {"!!float .inf", "a: !!float .inf\n", E "json: unsupported value: +Inf"},
    {"null key", "~: a\n", E "Unsupported map key of type: %!s(<nil>), key: <nil>, value: \"a\""},
    {"uint64 key", "18446744073709551615: 1\n",
     E "Unsupported map key of type: uint64, key: 0xffffffffffffffff, value: 1"},
    {"sequence key", "? [1, 2]\n: a\n", E "yaml: invalid map key: []interface {}{...}"},
    {"!!int of text", "a: !!int abc\n", E "yaml: cannot decode !!str `abc` as a !!int"},
    {"!!int of a float", "a: !!int 1.5\n", E "yaml: cannot decode !!float `1.5` as a !!int"},
    {"!!bool of an int", "a: !!bool 1\n", E "yaml: cannot decode !!int `1` as a !!bool"},
    {"!!null of text", "a: !!null x\n", E "yaml: cannot decode !!str `x` as a !!null"},
    {"!!timestamp of text", "a: !!timestamp abc\n", E "yaml: cannot decode !!str `abc` as a !!timestamp"},
    {"!!float of a uint64", "a: !!float 18446744073709551615\n",
     E "yaml: cannot decode !!int `18446744073709551615` as a !!float"},
    {"bad base64", "a: !!binary aGVsbG8\n", E "yaml: !!binary value contains invalid base64 data"},
    {"self-containing anchor", "a: &x [*x]\n", E "yaml: anchor 'x' value contains itself"},
    {"self-merging anchor", "x: &x\n  <<: *x\n", E "yaml: anchor 'x' value contains itself"},
    {"merge of a scalar", "x:\n  <<: 1\n", E "yaml: map merge requires map or sequence of maps as the value"},
    {"merge of an alias to a scalar", "a: &s str\nx:\n  <<: *s\n",
     E "yaml: map merge requires map or sequence of maps as the value"},
    {"merge list with a scalar", "x:\n  <<: [{a: 1}, 2]\n",
     E "yaml: map merge requires map or sequence of maps as the value"},
};

Test(yaml, decode_errors)
{
    RUN_ERR(decode_errors);
}

/* ---- limits ---- */

static char *repeat_wrap(const char *open, const char *mid, const char *close, int n)
{
    size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
    char *s = malloc(n * (lo + lc) + lm + 1), *p = s;
    for (int i = 0; i < n; i++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, mid, lm);
    p += lm;
    for (int i = 0; i < n; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return s;
}

static int depth_of(const json_t *v)
{
    int d = 0;
    while (json_is_array(v) || json_is_object(v)) {
        v = json_is_array(v) ? json_array_get(v, 0) : json_object_get(v, "a");
        d++;
    }
    return d;
}

Test(yaml, depth_limit)
{
    kc_err err = KC_ERR_INIT;
    char *ok = repeat_wrap("[", "1", "]", KC_YAML_MAX_DEPTH);
    json_t *v = decode(ok, strlen(ok), &err);
    cr_assert_not_null(v, "%s", err.msg);
    cr_assert_eq(depth_of(v), KC_YAML_MAX_DEPTH);
    json_decref(v);
    free(ok);

    const struct {
        const char *open, *close, *prefix, *msg;
    } deep[] = {
        {"[", "]", "", E "yaml: exceeded max depth of 10000"},
        {"{a: ", "}", "", E "yaml: exceeded max depth of 10000"},
        {"[", "]", "x:\n  y: ", E "yaml: line 2: exceeded max depth of 10000"},
    };
    for (size_t i = 0; i < sizeof deep / sizeof deep[0]; i++) {
        char *body = repeat_wrap(deep[i].open, "1", deep[i].close, KC_YAML_MAX_DEPTH + 1);
        char *doc;
        cr_assert(asprintf(&doc, "%s%s", deep[i].prefix, body) > 0);
        cr_assert_null(decode(doc, strlen(doc), &err), "case %zu", i);
        cr_assert_str_eq(err.msg, deep[i].msg);
        kc_err_release(&err);
        free(body);
        free(doc);
    }
}

Test(yaml, block_depth_limit)
{
    /* 10001 nested block mappings ("a:" at growing indentation) */
    size_t n = KC_YAML_MAX_DEPTH + 1, cap = n * (n + 5) / 2 + 64, len = 0;
    char *doc = malloc(cap);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(doc + len, "%*sa:\n", (int)i, "");
    kc_err err = KC_ERR_INIT;
    cr_assert_null(decode(doc, len, &err));
    cr_assert_str_eq(err.msg, E "yaml: line 10001: exceeded max depth of 10000");
    free(doc);
}

Test(yaml, depth_limit_through_aliases)
{
    /* each anchor nests the previous one 1000 levels deeper: a11 would be 12000 deep */
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    char *inner = repeat_wrap("[", "1", "]", 1000);
    fprintf(f, "a0: &a0 %s\n", inner);
    free(inner);
    for (int i = 1; i < 12; i++) {
        char mid[16];
        snprintf(mid, sizeof mid, "*a%d", i - 1);
        inner = repeat_wrap("[", mid, "]", 999);
        fprintf(f, "a%d: &a%d %s\n", i, i, inner);
        free(inner);
    }
    fclose(f);
    kc_err err = KC_ERR_INIT;
    cr_assert_null(decode(doc, len, &err));
    cr_assert_str_eq(err.msg, E "yaml: exceeded max depth of 10000");
    free(doc);
}

/* a0 holds nine items, each further level nine aliases of the previous one: 9^levels leaves */
static char *billion_laughs(int levels, const char *item)
{
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    fprintf(f, "a0: &a0 [");
    for (int j = 0; j < 9; j++)
        fprintf(f, "%s%s", j ? ", " : "", item);
    fprintf(f, "]\n");
    for (int i = 1; i < levels; i++) {
        fprintf(f, "a%d: &a%d [", i, i);
        for (int j = 0; j < 9; j++)
            fprintf(f, "%s*a%d", j ? ", " : "", i - 1);
        fprintf(f, "]\n");
    }
    fclose(f);
    return doc;
}

Test(yaml, alias_bomb)
{
    kc_err err = KC_ERR_INIT;
    /* 9^10 strings if expanded; and 9^6 integers, which only the alias-ratio rule stops */
    const struct {
        int levels;
        const char *item;
    } bombs[] = {{10, "lol"}, {6, "1"}};
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
        char *bomb = billion_laughs(bombs[i].levels, bombs[i].item);
        cr_assert_null(decode(bomb, strlen(bomb), &err), "bomb %zu", i);
        cr_assert_str_eq(err.msg, E "yaml: document contains excessive aliasing");
        kc_err_release(&err);
        free(bomb);
    }

    char *small = billion_laughs(3, "lol"); /* 9 + 81 + 729 strings: fine */
    json_t *v = decode(small, strlen(small), &err);
    cr_assert_not_null(v, "%s", err.msg);
    json_t *a2 = json_object_get(v, "a2");
    cr_assert_eq(json_array_size(a2), 9);
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(json_array_get(a2, 8), 8), 8)), "lol");
    json_decref(v);
    free(small);
}

Test(yaml, string_alias_bomb)
{
    /* few aliases (so the ratio rule allows them) of one large string: bounded by output bytes */
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    fprintf(f, "s: &s \"");
    for (int i = 0; i < 100000; i++)
        fputc('x', f);
    fprintf(f, "\"\nl: [");
    for (int i = 0; i < 10000; i++)
        fprintf(f, "%s*s", i ? ", " : "");
    fprintf(f, "]\n");
    fclose(f);
    kc_err err = KC_ERR_INIT;
    cr_assert_null(decode(doc, len, &err));
    cr_assert_str_eq(err.msg, E "yaml: document contains excessive aliasing");
    free(doc);
}

Test(yaml, input_with_length_not_nul_terminated)
{
    kc_err err = KC_ERR_INIT;
    const char buf[] = "a: 1\nb: 2XXXX";
    json_t *v = decode(buf, 9, &err);
    cr_assert_not_null(v, "%s", err.msg);
    cr_assert_eq(json_integer_value(json_object_get(v, "b")), 2);
    json_decref(v);
}
