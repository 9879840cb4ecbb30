/* ControllerRevision history helpers (semantics 0.4, 3.7): the Go byte form of revision data,
 * FNV-1 hashing, safe-encoded names, against values computed by upstream Kubernetes (the
 * revision fixture "test-c77f6d978" of pkg/controller/statefulset's compatibility test, whose
 * data and hash were produced by a 1.33 kube-controller-manager), plus the FNV-1 test vectors. */
#include "controllers/history.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const char upstream_data[] =
    "{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\":{\"annotations\":{\"test\":\"value\"},"
    "\"creationTimestamp\":null,\"labels\":{\"app\":\"foo\"}},\"spec\":{\"containers\":[{\"image\":\"test\","
    "\"imagePullPolicy\":\"Always\",\"name\":\"test\",\"resources\":{},\"terminationMessagePath\":\"/dev/"
    "termination-log\",\"terminationMessagePolicy\":\"File\"}],\"dnsPolicy\":\"ClusterFirst\",\"restartPolicy\":"
    "\"Always\",\"schedulerName\":\"default-scheduler\",\"securityContext\":{},\"terminationGracePeriodSeconds\":"
    "30}}}}";

/* The same defaulted template as an API server stores it: any key order, no Go-only fields,
 * zero values that Go's omitempty drops, and a field the schema does not know. */
static const char stored_template[] =
    "{\"spec\":{\"terminationGracePeriodSeconds\":30,\"restartPolicy\":\"Always\",\"dnsPolicy\":\"ClusterFirst\","
    "\"containers\":[{\"name\":\"test\",\"image\":\"test\",\"terminationMessagePolicy\":\"File\","
    "\"terminationMessagePath\":\"/dev/termination-log\",\"imagePullPolicy\":\"Always\",\"args\":[],"
    "\"workingDir\":\"\",\"stdin\":false}],\"schedulerName\":\"default-scheduler\",\"securityContext\":{},"
    "\"nodeSelector\":{}},\"metadata\":{\"labels\":{\"app\":\"foo\"},\"annotations\":{\"test\":\"value\"}}}";

Test(history, fnv1_vectors)
{
    cr_assert_eq(kc_fnv1_32(2166136261u, "", 0), 0x811c9dc5u);
    cr_assert_eq(kc_fnv1_32(2166136261u, "a", 1), 0x050c5d7eu);
    cr_assert_eq(kc_fnv1_32(2166136261u, "foobar", 6), 0x31f0b262u);
}

Test(history, upstream_data_bytes)
{
    json_t *t = json_loads(stored_template, 0, NULL);
    cr_assert(t);
    size_t len;
    char *d = kc_history_template_data(t, &len);
    cr_assert_str_eq(d, upstream_data);
    cr_assert_eq(len, strlen(upstream_data));
    free(d);
    json_decref(t);
}

Test(history, upstream_hash_and_name)
{
    char h[11];
    int64_t cc = 0;
    kc_history_hash(upstream_data, strlen(upstream_data), &cc, h);
    cr_assert_str_eq(h, "c77f6d978");
    char *name = kc_history_name("test", h);
    cr_assert_str_eq(name, "test-c77f6d978");
    free(name);
    kc_history_hash(upstream_data, strlen(upstream_data), NULL, h); /* nil collisionCount: nothing appended */
    cr_assert_str_neq(h, "c77f6d978");
    for (const char *p = h; *p; p++) cr_assert(strchr("456789bcdf", *p));
}

Test(history, name_prefix_truncated)
{
    char owner[300];
    memset(owner, 'a', sizeof owner - 1);
    owner[sizeof owner - 1] = 0;
    char *name = kc_history_name(owner, "5d8f");
    cr_assert_eq(strlen(name), 223 + 1 + 4);
    cr_assert_str_eq(name + 224, "5d8f");
    free(name);
}

Test(history, go_escaping_and_sorting)
{
    json_t *v = json_pack("{s:s,s:[i,f,f,b,n],s:s}", "z", "<a&b>\n\"\\\x01", "a", 3, 1.5, 1e21, 0, "m",
                          "\xe2\x80\xa8");
    char *s = kc_history_go_json(v, NULL);
    cr_assert_str_eq(s, "{\"a\":[3,1.5,1e+21,false,null],\"m\":\"\\u2028\",\"z\":\"\\u003ca\\u0026b\\u003e\\n\\\"\\\\\\u0001\"}");
    free(s);
    json_decref(v);
}

Test(history, quantities_canonical)
{
    json_t *t = json_loads("{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"0.5\","
                           "\"memory\":\"1.5Gi\"},\"limits\":{\"cpu\":\"1000m\"}}}]}}",
                           0, NULL);
    json_t *g = kc_history_typed_template(t);
    char *s = kc_history_go_json(json_object_get(json_array_get(json_object_get(json_object_get(g, "spec"),
                                                                                "containers"), 0), "resources"), NULL);
    cr_assert_str_eq(s, "{\"limits\":{\"cpu\":\"1\"},\"requests\":{\"cpu\":\"500m\",\"memory\":\"1536Mi\"}}");
    free(s);
    json_decref(g);
    json_decref(t);
}

Test(history, typed_fills_go_fields)
{
    /* probes: httpGet.port is not omitempty; a missing template metadata still yields creationTimestamp */
    json_t *t = json_loads("{\"spec\":{\"containers\":[{\"name\":\"c\",\"readinessProbe\":{\"httpGet\":{\"path\":\"/\","
                           "\"port\":80}}}]}}",
                           0, NULL);
    json_t *g = kc_history_typed_template(t);
    char *s = kc_history_go_json(g, NULL);
    cr_assert_str_eq(s, "{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":[{\"name\":\"c\","
                        "\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":80}},\"resources\":{}}]}}");
    free(s);
    json_decref(g);
    json_decref(t);
}
