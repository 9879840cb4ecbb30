/* Unit tests for api/patch: RFC 7386 and RFC 6902 Appendix A, Kubernetes-flavoured cases and
 * error wording, the work bounds, and that inputs stay untouched and unshared. */
#include "api/patch.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    cr_assert(v, "bad test JSON <%s>: %s", s, e.text);
    return v;
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
}

/* One table row: want is the expected result JSON, or NULL when the patch must fail with
 * reason and (when msg is non-NULL) exactly that message. */
typedef struct pcase {
    const char *name, *doc, *patch, *want;
    kc_reason reason;
    const char *msg;
} pcase;

typedef json_t *(*patch_fn)(json_t *doc, json_t *patch, kc_err *err);

static void check_row(const pcase *c, patch_fn fn)
{
    json_t *doc = parse(c->doc), *patch = parse(c->patch);
    json_t *doc0 = json_deep_copy(doc), *patch0 = json_deep_copy(patch);
    kc_err err = KC_ERR_INIT;
    json_t *got = fn(doc, patch, &err);

    if (c->want) {
        json_t *want = parse(c->want);
        char *gs = got ? dump(got) : NULL;
        cr_expect(got != NULL, "%s: unexpected error %s: %s", c->name, kc_reason_name(err.reason), err.msg);
        cr_expect(got && json_equal(got, want), "%s: got %s, want %s", c->name, gs ? gs : "NULL", c->want);
        free(gs);
        json_decref(want);
    } else {
        cr_expect(got == NULL, "%s: expected an error", c->name);
        cr_expect_eq(err.reason, c->reason, "%s: reason %s, want %s (%s)", c->name,
                     kc_reason_name(err.reason), kc_reason_name(c->reason), err.msg);
        if (c->msg) cr_expect_str_eq(err.msg, c->msg, "%s: message", c->name);
    }
    cr_expect(json_equal(doc, doc0), "%s: the document was modified", c->name);
    cr_expect(json_equal(patch, patch0), "%s: the patch was modified", c->name);
    json_decref(got);
    json_decref(doc);
    json_decref(patch);
    json_decref(doc0);
    json_decref(patch0);
    kc_err_release(&err);
}

#define RUN_TABLE(table, fn)                                                                                 \
    for (size_t i_ = 0; i_ < sizeof(table) / sizeof(table)[0]; i_++)                                         \
    check_row(&(table)[i_], (fn))

static json_t *merge_rfc(json_t *doc, json_t *patch, kc_err *err)
{
    (void)err;
    return kc_patch_merge_rfc(doc, patch);
}

/* ---- RFC 7386 ---- */

/* RFC 7386 Appendix A, every row. */
static const pcase rfc7386[] = {
    {"A1", "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}", 0, NULL},
    {"A2", "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}", 0, NULL},
    {"A3", "{\"a\":\"b\"}", "{\"a\":null}", "{}", 0, NULL},
    {"A4", "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}", 0, NULL},
    {"A5", "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}", 0, NULL},
    {"A6", "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}", 0, NULL},
    {"A7", "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}", 0, NULL},
    {"A8", "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}", 0, NULL},
    {"A9", "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]", 0, NULL},
    {"A10", "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]", 0, NULL},
    {"A11", "{\"a\":\"foo\"}", "null", "null", 0, NULL},
    {"A12", "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"", 0, NULL},
    {"A13", "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}", 0, NULL},
    {"A14", "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}", 0, NULL},
    {"A15", "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}", 0, NULL},
};

Test(merge, rfc7386_appendix_a)
{
    RUN_TABLE(rfc7386, merge_rfc);
}

/* kc_patch_merge agrees with RFC 7386 for object patches and refuses the rest like kube-apiserver. */
Test(merge, kubernetes_requires_object_patch)
{
    for (size_t i = 0; i < sizeof rfc7386 / sizeof rfc7386[0]; i++) {
        pcase c = rfc7386[i];
        json_t *p = parse(c.patch);
        if (!json_is_object(p)) {
            c.want = NULL;
            c.reason = KC_EBADREQUEST;
            c.msg = "Invalid JSON Patch";
        }
        json_decref(p);
        check_row(&c, kc_patch_merge);
    }
}

static const char *deploy =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
    "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"resourceVersion\":\"42\","
    "\"labels\":{\"app\":\"web\",\"app.kubernetes.io/name\":\"web\"}},"
    "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}}}";

/* Expected results are written against a small pod-like doc to keep rows readable. */
static const pcase k8s_merge[] = {
    {"label add", "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"x\"}}}",
     "{\"metadata\":{\"labels\":{\"env\":\"prod\"}}}",
     "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"x\",\"env\":\"prod\"}}}", 0, NULL},
    {"label add, labels absent", "{\"metadata\":{\"name\":\"a\"}}",
     "{\"metadata\":{\"labels\":{\"env\":\"prod\"}}}",
     "{\"metadata\":{\"name\":\"a\",\"labels\":{\"env\":\"prod\"}}}", 0, NULL},
    {"label removal with null", "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"x\",\"env\":\"prod\"}}}",
     "{\"metadata\":{\"labels\":{\"env\":null}}}",
     "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"x\"}}}", 0, NULL},
    {"remove absent label is a no-op", "{\"metadata\":{\"name\":\"a\"}}",
     "{\"metadata\":{\"labels\":{\"env\":null}}}", "{\"metadata\":{\"name\":\"a\",\"labels\":{}}}", 0, NULL},
    {"replicas", "{\"spec\":{\"replicas\":1,\"paused\":false}}", "{\"spec\":{\"replicas\":3}}",
     "{\"spec\":{\"replicas\":3,\"paused\":false}}", 0, NULL},
    {"lists are replaced whole", "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":null}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":null}]}}", 0, NULL},
    {"empty patch", "{\"a\":1}", "{}", "{\"a\":1}", 0, NULL},
    {"null patch", "{\"a\":1}", "null", NULL, KC_EBADREQUEST, "Invalid JSON Patch"},
    {"array patch", "{\"a\":1}", "[{\"a\":2}]", NULL, KC_EBADREQUEST, "Invalid JSON Patch"},
    {"string patch", "{\"a\":1}", "\"x\"", NULL, KC_EBADREQUEST, "Invalid JSON Patch"},
};

Test(merge, kubernetes_cases)
{
    RUN_TABLE(k8s_merge, kc_patch_merge);
}

/* The result shares nothing with doc or patch: changing it must not show through. */
Test(merge, result_is_independent)
{
    json_t *doc = parse(deploy), *patch = parse("{\"spec\":{\"template\":{\"spec\":{\"x\":{\"y\":1}}}}}");
    kc_err err = KC_ERR_INIT;
    json_t *got = kc_patch_merge(doc, patch, &err);

    cr_assert(got);
    cr_expect_neq(json_object_get(got, "metadata"), json_object_get(doc, "metadata"));
    json_t *x = json_object_get(
        json_object_get(json_object_get(json_object_get(got, "spec"), "template"), "spec"), "x");
    cr_assert(json_is_object(x));
    cr_expect_neq(
        x, json_object_get(
               json_object_get(json_object_get(json_object_get(patch, "spec"), "template"), "spec"), "x"));
    json_object_set_new(x, "z", json_true());
    json_object_set_new(json_object_get(got, "metadata"), "name", json_string("changed"));
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")), "web");
    cr_expect_eq(
        json_object_size(json_object_get(
            json_object_get(json_object_get(json_object_get(patch, "spec"), "template"), "spec"), "x")),
        1);
    json_decref(got);
    json_decref(doc);
    json_decref(patch);
}

Test(merge, null_inputs)
{
    kc_err err = KC_ERR_INIT;
    json_t *o = json_object();
    cr_expect_null(kc_patch_merge(NULL, o, &err));
    cr_expect_eq(err.reason, KC_EINTERNAL);
    cr_expect_null(kc_patch_merge_rfc(o, NULL));
    json_decref(o);
}

/* ---- RFC 6902 ---- */

/* RFC 6902 Appendix A, every example (A.13's duplicate "op" is last-wins in jansson, giving a
 * remove of an absent member: an error either way, as the RFC requires). */
static const pcase rfc6902[] = {
    {"A.1 add object member", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
     "{\"baz\":\"qux\",\"foo\":\"bar\"}", 0, NULL},
    {"A.2 add array element", "{\"foo\":[\"bar\",\"baz\"]}",
     "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", 0,
     NULL},
    {"A.3 remove object member", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
     "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}", 0, NULL},
    {"A.4 remove array element", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
     "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}", 0, NULL},
    {"A.5 replace", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
     "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]", "{\"baz\":\"boo\",\"foo\":\"bar\"}", 0,
     NULL},
    {"A.6 move value", "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
     "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
     "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}", 0, NULL},
    {"A.7 move array element", "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
     "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
     "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", 0, NULL},
    {"A.8 test success", "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
     "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/"
     "1\",\"value\":2}]",
     "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", 0, NULL},
    {"A.9 test error", "{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", NULL,
     KC_EINVALID, "testing value /baz failed: test failed"},
    {"A.10 add nested member object", "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
     "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}", 0, NULL},
    {"A.11 ignore unrecognized elements", "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
     "{\"foo\":\"bar\",\"baz\":\"qux\"}", 0, NULL},
    {"A.12 add to nonexistent target", "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL, KC_EINVALID,
     "add operation does not apply: doc is missing path: \"/baz/bat\": missing value"},
    {"A.13 invalid patch document", "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"op\":\"remove\"}]", NULL, KC_EINVALID, NULL},
    {"A.14 ~ escape ordering", "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
     "{\"/\":9,\"~1\":10}", 0, NULL},
    {"A.15 strings vs numbers", "{\"/\":9,\"~1\":10}",
     "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", NULL, KC_EINVALID,
     "testing value /~01 failed: test failed"},
    {"A.16 add array value", "{\"foo\":[\"bar\"]}",
     "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
     "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", 0, NULL},
};

Test(jsonpatch, rfc6902_appendix_a)
{
    RUN_TABLE(rfc6902, kc_patch_json);
}

#define POD                                                                                                  \
    "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"42\",\"labels\":{\"app\":\"web\"}},"              \
    "\"spec\":{\"replicas\":1,\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}"

static const pcase k8s_json[] = {
    {"replace /spec/replicas", POD, "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":3}]",
     "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"42\",\"labels\":{\"app\":\"web\"}},"
     "\"spec\":{\"replicas\":3,\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}",
     0, NULL},
    {"add annotation without annotations fails", POD,
     "[{\"op\":\"add\",\"path\":\"/metadata/annotations/foo\",\"value\":\"bar\"}]", NULL, KC_EINVALID,
     "add operation does not apply: doc is missing path: \"/metadata/annotations/foo\": missing value"},
    {"add annotations map then annotation", "{\"metadata\":{\"name\":\"web\"}}",
     "[{\"op\":\"add\",\"path\":\"/metadata/annotations\",\"value\":{}},"
     "{\"op\":\"add\",\"path\":\"/metadata/annotations/foo\",\"value\":\"bar\"}]",
     "{\"metadata\":{\"name\":\"web\",\"annotations\":{\"foo\":\"bar\"}}}", 0, NULL},
    {"test name fails", POD, "[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"db\"}]", NULL,
     KC_EINVALID, "testing value /metadata/name failed: test failed"},
    {"test resourceVersion then replace",
     "{\"metadata\":{\"resourceVersion\":\"42\"},\"spec\":{\"replicas\":1}}",
     "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"42\"},"
     "{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":2}]",
     "{\"metadata\":{\"resourceVersion\":\"42\"},\"spec\":{\"replicas\":2}}", 0, NULL},
    {"failed test undoes earlier ops", "{\"a\":1}",
     "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]", NULL,
     KC_EINVALID, "testing value /a failed: test failed"},
    {"~1 label key add", "{\"metadata\":{\"labels\":{}}}",
     "[{\"op\":\"add\",\"path\":\"/metadata/labels/app.kubernetes.io~1name\",\"value\":\"web\"}]",
     "{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"web\"}}}", 0, NULL},
    {"~1 label key remove",
     "{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"web\",\"app\":\"web\"}}}",
     "[{\"op\":\"remove\",\"path\":\"/metadata/labels/app.kubernetes.io~1name\"}]",
     "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}", 0, NULL},
    {"~0 and ~1 together", "{\"a/b~c\":1}", "[{\"op\":\"replace\",\"path\":\"/a~1b~0c\",\"value\":2}]",
     "{\"a/b~c\":2}", 0, NULL},
    {"append container with -", POD,
     "[{\"op\":\"add\",\"path\":\"/spec/containers/-\",\"value\":{\"name\":\"side\",\"image\":\"busybox\"}}]",
     "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"42\",\"labels\":{\"app\":\"web\"}},"
     "\"spec\":{\"replicas\":1,\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"},"
     "{\"name\":\"side\",\"image\":\"busybox\"}]}}",
     0, NULL},
    {"replace nested in list", "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}",
     "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"nginx:2\"}]",
     "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}", 0, NULL},
    {"move label", "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}",
     "[{\"op\":\"move\",\"from\":\"/metadata/labels/a\",\"path\":\"/metadata/labels/b\"}]",
     "{\"metadata\":{\"labels\":{\"b\":\"1\"}}}", 0, NULL},
    {"copy template labels to selector",
     "{\"spec\":{\"selector\":{},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}}}}}",
     "[{\"op\":\"copy\",\"from\":\"/spec/template/metadata/labels\",\"path\":\"/spec/selector/"
     "matchLabels\"}]",
     "{\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{"
     "\"app\":"
     "\"web\"}}}}}",
     0, NULL},
    {"replace missing key", "{\"spec\":{}}", "[{\"op\":\"replace\",\"path\":\"/spec/x\",\"value\":1}]", NULL,
     KC_EINVALID, "replace operation does not apply: doc is missing key: /spec/x: missing value"},
    {"replace missing parent", "{}", "[{\"op\":\"replace\",\"path\":\"/spec/x\",\"value\":1}]", NULL,
     KC_EINVALID, "replace operation does not apply: doc is missing path: /spec/x: missing value"},
    {"remove missing key", "{\"spec\":{}}", "[{\"op\":\"remove\",\"path\":\"/spec/x\"}]", NULL, KC_EINVALID,
     "error in remove for path: '/spec/x': unable to remove nonexistent key: x: missing value"},
    {"remove missing parent", "{}", "[{\"op\":\"remove\",\"path\":\"/spec/x\"}]", NULL, KC_EINVALID,
     "remove operation does not apply: doc is missing path: \"/spec/x\": missing value"},
    {"unknown op", "{}", "[{\"op\":\"foo\",\"path\":\"/a\"}]", NULL, KC_EINVALID, "Unexpected kind: foo"},
    {"missing op", "{}", "[{\"path\":\"/a\"}]", NULL, KC_EINVALID, "Unexpected kind: unknown"},
    {"op is not a string", "{}", "[{\"op\":1,\"path\":\"/a\"}]", NULL, KC_EINVALID,
     "Unexpected kind: unknown"},
    {"add without path", "{}", "[{\"op\":\"add\",\"value\":1}]", NULL, KC_EINVALID,
     "add operation failed to decode path: missing value"},
    {"replace without path", "{}", "[{\"op\":\"replace\",\"value\":1}]", NULL, KC_EINVALID,
     "replace operation failed to decode path: operation missing path field: missing value"},
    {"test with numeric path", "{}", "[{\"op\":\"test\",\"path\":5}]", NULL, KC_EINVALID,
     "test operation failed to decode path: json: cannot unmarshal number into Go value of type string"},
    {"move without from", "{\"a\":1}", "[{\"op\":\"move\",\"path\":\"/b\"}]", NULL, KC_EINVALID,
     "move operation failed to decode from: operation, missing from field: missing value"},
    {"copy from missing", "{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/x/y\",\"path\":\"/b\"}]", NULL,
     KC_EINVALID, "copy operation does not apply: doc is missing from path: /x/y: missing value"},
    {"copy from missing key", "{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/b\"}]", NULL,
     KC_EINVALID, "error in copy for from: '/x': unable to get nonexistent key: x: missing value"},
    {"copy to missing parent", "{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b/c\"}]", NULL,
     KC_EINVALID, "copy operation does not apply: doc is missing destination path: /b/c: missing value"},
    {"move from missing key", "{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/b\"}]", NULL,
     KC_EINVALID, "error in move for path: 'x': unable to get nonexistent key: x: missing value"},
    {"move into own child", "{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
     NULL, KC_EINVALID,
     "move operation does not apply: doc is missing destination path: /a/b/c: missing value"},
    {"move onto itself", "{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
     "{\"a\":{\"b\":1}}", 0, NULL},
    {"move to sibling with shared prefix", "{\"a\":1}",
     "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/ab\"}]", "{\"ab\":1}", 0, NULL},
    {"move child over parent", "{\"a\":{\"b\":{\"c\":1}}}",
     "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/a\"}]", "{\"a\":{\"c\":1}}", 0, NULL},
    {"copy array element to end", "{\"a\":[1,{\"x\":2}]}",
     "[{\"op\":\"copy\",\"from\":\"/a/1\",\"path\":\"/a/-\"}]", "{\"a\":[1,{\"x\":2},{\"x\":2}]}", 0, NULL},
    {"body is an object", "{}", "{\"op\":\"add\",\"path\":\"/a\",\"value\":1}", NULL, KC_EBADREQUEST,
     "json: cannot unmarshal object into Go value of type jsonpatch.Patch"},
    {"body is null", "{}", "null", NULL, KC_EBADREQUEST, NULL},
    {"op is not an object", "{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1},\"remove\"]", NULL,
     KC_EBADREQUEST, "json: cannot unmarshal string into Go value of type jsonpatch.Operation"},
    {"empty patch", "{\"a\":1}", "[]", "{\"a\":1}", 0, NULL},
    {"missing value is null", "{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", "{\"a\":null}", 0, NULL},
    {"test absent vs null passes (kubernetes)", "{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]",
     "{}", 0, NULL},
    {"test absent vs value fails", "{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]", NULL, KC_EINVALID,
     "testing value /a failed: test failed"},
    {"test through missing parent", "{}", "[{\"op\":\"test\",\"path\":\"/a/b\",\"value\":1}]", NULL,
     KC_EINVALID, "test operation does not apply: is missing path: /a/b: missing value"},
    {"test objects structurally", "{\"a\":{\"x\":[1,{\"y\":true}],\"z\":null}}",
     "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"z\":null,\"x\":[1,{\"y\":true}]}}]",
     "{\"a\":{\"x\":[1,{\"y\":true}],\"z\":null}}", 0, NULL},
};

Test(jsonpatch, kubernetes_cases)
{
    RUN_TABLE(k8s_json, kc_patch_json);
}

/* Array index rules (RFC 6901 §4, RFC 6902 §4.1) and pointer syntax. */
static const pcase pointers[] = {
    {"add at size appends", "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":3}]",
     "{\"a\":[1,2,3]}", 0, NULL},
    {"add at 0 prepends", "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0}]",
     "{\"a\":[0,1,2]}", 0, NULL},
    {"add past size", "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/3\",\"value\":3}]", NULL, KC_EINVALID,
     "error in add for path: '/a/3': Unable to access invalid index: 3: invalid index referenced"},
    {"add leading zero", "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":3}]", NULL,
     KC_EINVALID,
     "error in add for path: '/a/01': value was not a proper array index: '01': strconv.Atoi: parsing "
     "\"01\": invalid "
     "syntax"},
    {"add negative", "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/-1\",\"value\":3}]", NULL, KC_EINVALID,
     NULL},
    {"add huge index", "{\"a\":[1,2]}",
     "[{\"op\":\"add\",\"path\":\"/a/99999999999999999999999\",\"value\":3}]", NULL, KC_EINVALID, NULL},
    {"replace at size", "{\"a\":[1,2]}", "[{\"op\":\"replace\",\"path\":\"/a/2\",\"value\":3}]", NULL,
     KC_EINVALID, "replace operation does not apply: doc is missing key: /a/2: missing value"},
    {"replace last", "{\"a\":[1,2]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":3}]", "{\"a\":[1,3]}",
     0, NULL},
    {"remove -", "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", NULL, KC_EINVALID,
     "error in remove for path: '/a/-': strconv.Atoi: parsing \"-\": invalid syntax"},
    {"remove out of range", "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/2\"}]", NULL, KC_EINVALID,
     "error in remove for path: '/a/2': Unable to access invalid index: 2: invalid index referenced"},
    {"remove last", "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", "{\"a\":[1]}", 0, NULL},
    {"test index out of range", "{\"a\":[1]}", "[{\"op\":\"test\",\"path\":\"/a/1\",\"value\":1}]", NULL,
     KC_EINVALID,
     "error in test for path: '/a/1': Unable to access invalid index: 1: invalid index referenced"},
    {"- in the middle of a path", "{\"a\":[{\"b\":1}]}", "[{\"op\":\"add\",\"path\":\"/a/-/b\",\"value\":2}]",
     NULL, KC_EINVALID, "add operation does not apply: doc is missing path: \"/a/-/b\": missing value"},
    {"array index in an object is a key", "{\"a\":{\"0\":1}}",
     "[{\"op\":\"replace\",\"path\":\"/a/0\",\"value\":2}]", "{\"a\":{\"0\":2}}", 0, NULL},
    {"through a scalar", "{\"a\":\"s\"}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":1}]", NULL,
     KC_EINVALID, "add operation does not apply: doc is missing path: \"/a/b\": missing value"},
    {"no leading slash", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"a\",\"value\":2}]", NULL, KC_EINVALID,
     "replace operation does not apply: doc is missing path: a: missing value"},
    {"bad escape ~2", "{\"a~2\":1}", "[{\"op\":\"remove\",\"path\":\"/a~2\"}]", NULL, KC_EINVALID,
     "remove operation does not apply: doc is missing path: \"/a~2\": missing value"},
    {"trailing ~", "{\"a~\":1}", "[{\"op\":\"remove\",\"path\":\"/a~\"}]", NULL, KC_EINVALID, NULL},
    {"empty key", "{\"\":1}", "[{\"op\":\"replace\",\"path\":\"/\",\"value\":2}]", "{\"\":2}", 0, NULL},
    {"add root", "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}", 0, NULL},
    {"replace root", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]", 0, NULL},
    {"remove root", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", NULL, KC_EINVALID,
     "remove operation does not apply: doc is missing path: \"\": missing value"},
    {"test root", "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"a\":1}}]", "{\"a\":1}", 0, NULL},
    {"move to root", "{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"\"}]", "{\"b\":1}", 0,
     NULL},
    {"move root into child", "{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"\",\"path\":\"/a/b\"}]", NULL,
     KC_EINVALID, NULL},
    {"copy root into child", "{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"\",\"path\":\"/b\"}]",
     "{\"a\":1,\"b\":{\"a\":1}}", 0, NULL},
    {"array document", "[1,2]", "[{\"op\":\"add\",\"path\":\"/-\",\"value\":3}]", "[1,2,3]", 0, NULL},
    {"scalar document", "5", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":3}]", NULL, KC_EINVALID, NULL},
};

Test(jsonpatch, pointers_and_indices)
{
    RUN_TABLE(pointers, kc_patch_json);
}

/* Keys with an embedded NUL are reachable (jansson 2.14 keeps key lengths; its parser refuses
 * such keys, but a document built through the API may hold one). */
Test(jsonpatch, nul_in_key)
{
    json_error_t e;
    json_t *doc = json_object();
    json_object_setn_new(doc, "a\0b", 3, json_integer(1));
    json_t *ops =
        json_loads("[{\"op\":\"replace\",\"path\":\"/a\\u0000b\",\"value\":2}]", JSON_ALLOW_NUL, &e);
    kc_err err = KC_ERR_INIT;
    cr_assert(doc && ops);
    json_t *got = kc_patch_json(doc, ops, &err);
    cr_assert(got, "%s", err.msg);
    cr_expect_eq(json_integer_value(json_object_getn(got, "a\0b", 3)), 2);
    json_decref(got);
    json_decref(doc);
    json_decref(ops);
}

Test(jsonpatch, result_is_independent)
{
    json_t *doc = parse("{\"a\":{\"b\":1}}");
    json_t *ops = parse("[{\"op\":\"add\",\"path\":\"/v\",\"value\":{\"x\":1}},{\"op\":\"copy\",\"from\":\"/"
                        "a\",\"path\":\"/c\"}]");
    kc_err err = KC_ERR_INIT;
    json_t *got = kc_patch_json(doc, ops, &err);

    cr_assert(got, "%s", err.msg);
    cr_expect_neq(json_object_get(got, "a"), json_object_get(doc, "a"));
    cr_expect_neq(json_object_get(got, "c"), json_object_get(got, "a"));
    cr_expect_neq(json_object_get(got, "v"), json_object_get(json_array_get(ops, 0), "value"));
    json_object_set_new(json_object_get(got, "c"), "b", json_integer(9));
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(got, "a"), "b")), 1);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(doc, "a"), "b")), 1);
    json_decref(got);
    json_decref(doc);
    json_decref(ops);
}

/* ---- bounds ---- */

/* n copies of the op, as a JSON patch array. */
static json_t *repeat_op(const char *op, size_t n)
{
    json_t *ops = json_array(), *o = parse(op);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ops, json_deep_copy(o));
    json_decref(o);
    return ops;
}

Test(bounds, max_operations)
{
    json_t *doc = parse("{\"a\":1}");
    json_t *ok = repeat_op("{\"op\":\"test\",\"path\":\"/a\",\"value\":1}", KC_PATCH_MAX_OPS);
    json_t *big = repeat_op("{\"op\":\"test\",\"path\":\"/a\",\"value\":1}", KC_PATCH_MAX_OPS + 1);
    kc_err err = KC_ERR_INIT;
    json_t *got = kc_patch_json(doc, ok, &err);

    cr_expect(got, "10000 ops must pass: %s", err.msg);
    json_decref(got);
    cr_expect_null(kc_patch_json(doc, big, &err));
    cr_expect_eq(err.reason, KC_ETOOLARGE);
    cr_expect_str_eq(
        err.msg,
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001");
    json_decref(doc);
    json_decref(ok);
    json_decref(big);
}

/* copy /a -> /a/- doubles the array each time: 2^22 elements long before 10,000 ops. */
Test(bounds, copy_doubling_is_capped)
{
    json_t *doc = parse("{\"a\":[\"0123456789012345678901234567890123456789\"]}");
    json_t *ops = repeat_op("{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/-\"}", 60);
    kc_err err = KC_ERR_INIT;

    cr_expect_null(kc_patch_json(doc, ops, &err));
    cr_expect_eq(err.reason, KC_EINVALID);
    cr_expect(strstr(err.msg, "Unable to complete the copy, the accumulated size increase of copy is") !=
                  NULL,
              "%s", err.msg);
    cr_expect(strstr(err.msg, "exceeding the limit 3145728") != NULL, "%s", err.msg);
    json_decref(doc);
    json_decref(ops);
}

/* Tiny values: the value-count budget trips long before the byte budget (memory, not bytes). */
Test(bounds, copy_value_count_is_capped)
{
    json_t *doc = parse("{\"a\":[[]]}");
    json_t *ops = repeat_op("{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/-\"}", 40);
    kc_err err = KC_ERR_INIT;

    cr_expect_null(kc_patch_json(doc, ops, &err));
    cr_expect_eq(err.reason, KC_EINVALID);
    cr_expect_str_eq(
        err.msg,
        "Unable to complete the copy, the accumulated number of copied values exceeds the limit 262144");
    json_decref(doc);
    json_decref(ops);
}

Test(bounds, small_copies_pass)
{
    json_t *doc = parse("{\"a\":{\"k\":\"v\"}}");
    json_t *ops = repeat_op("{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}", 1000);
    kc_err err = KC_ERR_INIT;
    json_t *got = kc_patch_json(doc, ops, &err);

    cr_expect(got, "%s", err.msg);
    json_decref(got);
    json_decref(doc);
    json_decref(ops);
}

/* Inserting and removing at the head of a 40,000-element array 10,000 times shifts ~4e8
 * elements, past KC_PATCH_MAX_WORK; appending with "-" to the same array costs nothing. */
Test(bounds, array_shift_work_is_capped)
{
    json_t *doc = json_object(), *arr = json_array();
    for (int i = 0; i < 40000; i++)
        json_array_append_new(arr, json_integer(i));
    json_object_set_new(doc, "a", arr);
    json_t *ops = json_array();
    for (int i = 0; i < KC_PATCH_MAX_OPS / 2; i++) {
        json_array_append_new(ops, parse("{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0}"));
        json_array_append_new(ops, parse("{\"op\":\"remove\",\"path\":\"/a/0\"}"));
    }
    json_t *appends = repeat_op("{\"op\":\"add\",\"path\":\"/a/-\",\"value\":0}", KC_PATCH_MAX_OPS);
    kc_err err = KC_ERR_INIT;

    cr_expect_null(kc_patch_json(doc, ops, &err));
    cr_expect_eq(err.reason, KC_ETOOLARGE, "%s", err.msg);
    json_t *got = kc_patch_json(doc, appends, &err);
    cr_expect(got);
    cr_expect_eq(json_array_size(json_object_get(got, "a")), 50000);
    json_decref(got);
    json_decref(doc);
    json_decref(ops);
    json_decref(appends);
}

Test(jsonpatch, null_inputs)
{
    kc_err err = KC_ERR_INIT;
    json_t *a = json_array();
    cr_expect_null(kc_patch_json(NULL, a, &err));
    cr_expect_eq(err.reason, KC_EINTERNAL);
    json_decref(a);
}

/* ---- nesting ---- */

/* n objects nested under key: {"x":{"x":...{}}}, nesting n. */
static json_t *chain(int n)
{
    json_t *v = json_object();
    for (int i = 1; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "x", v);
        v = o;
    }
    return v;
}

/* "/x" repeated n times, then tail. */
static char *chain_path(int n, const char *tail)
{
    char *s = malloc((size_t)n * 2 + strlen(tail) + 1), *p = s;
    for (int i = 0; i < n; i++)
        p = stpcpy(p, "/x");
    strcpy(p, tail);
    return s;
}

/* One op on doc; returns the result (NULL on error, err filled). */
static json_t *apply1(json_t *doc, json_t *op, kc_err *err)
{
    json_t *ops = json_pack("[o]", op), *got = kc_patch_json(doc, ops, err);
    json_decref(ops);
    return got;
}

/* doc = {"x": 2040 nested objects}, nesting 2041; its innermost object is at "/x" * 2040. An add
 * there of a value nesting 7 reaches exactly 2048 and passes; nesting 8 fails. */
Test(depth, add_is_capped_at_parser_depth)
{
    json_t *doc = json_pack("{s:o}", "x", chain(2040));
    char *path = chain_path(2040, "/v");
    kc_err err = KC_ERR_INIT;

    json_t *got = apply1(doc, json_pack("{s:s,s:s,s:o}", "op", "add", "path", path, "value", chain(7)), &err);
    cr_expect(got, "nesting 2048 must pass: %s", err.msg);
    char *text = json_dumps(got, JSON_COMPACT); /* ...and jansson can read it back */
    json_t *back = json_loads(text, 0, NULL);
    cr_expect(back && json_equal(back, got), "a nesting-2048 result must parse again");
    json_decref(back);
    free(text);
    json_decref(got);
    got = apply1(doc, json_pack("{s:s,s:s,s:o}", "op", "add", "path", path, "value", chain(8)), &err);
    cr_expect_null(got);
    cr_expect_eq(err.reason, KC_EINVALID);
    cr_expect_str_eq(err.msg, "the patched document would nest deeper than 2048 levels");
    char *inner = chain_path(2040, "");
    got = apply1(doc, json_pack("{s:s,s:s,s:o}", "op", "replace", "path", inner, "value", chain(8)), &err);
    cr_expect(got, "replacing the innermost object with nesting 8 reaches 2048: %s", err.msg);
    json_decref(got);
    got = apply1(doc, json_pack("{s:s,s:s,s:o}", "op", "replace", "path", inner, "value", chain(9)), &err);
    cr_expect_null(got, "replace must be capped too");
    cr_expect_str_eq(err.msg, "the patched document would nest deeper than 2048 levels");
    free(inner);
    free(path);
    json_decref(doc);
}

/* Moves nest without copying: two 1,500-deep chains, one moved into the other, would be 3,001 deep. */
Test(depth, move_is_capped)
{
    json_t *doc = json_pack("{s:o,s:o}", "a", chain(1500), "b", chain(1500));
    char *dst = chain_path(1499, "/y"), *full = malloc(strlen(dst) + 3);
    kc_err err = KC_ERR_INIT;

    sprintf(full, "/b%s", dst);
    json_t *got = apply1(doc, json_pack("{s:s,s:s,s:s}", "op", "move", "from", "/a", "path", full), &err);
    cr_expect_null(got);
    cr_expect_str_eq(err.msg, "the patched document would nest deeper than 2048 levels");
    got = apply1(doc, json_pack("{s:s,s:s,s:s}", "op", "copy", "from", "/a", "path", full), &err);
    cr_expect_null(got, "copy must be capped too");
    cr_expect_str_eq(err.msg, "the patched document would nest deeper than 2048 levels");
    free(dst);
    free(full);
    json_decref(doc);
}

/* A move's nesting is only bounded by the document's; when that bound is too coarse the moved
 * value is measured, so a shallow value can still go deep. */
Test(depth, shallow_move_into_deep_document_passes)
{
    json_t *doc = json_pack("{s:o,s:{s:i}}", "x", chain(2040), "s", "t", 1);
    char *path = chain_path(100, "/s");
    kc_err err = KC_ERR_INIT;

    json_t *got = apply1(doc, json_pack("{s:s,s:s,s:s}", "op", "move", "from", "/s", "path", path), &err);
    cr_expect(got, "%s", err.msg);
    json_decref(got);
    free(path);
    json_decref(doc);
}
