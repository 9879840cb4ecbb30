/* ControllerRevision history helpers (semantics 0.4, 3.7): the Go byte form of revision data,
 * FNV-1 hashing, safe-encoded names, against values computed by upstream Kubernetes (the
 * revision fixture "test-c77f6d978" of pkg/controller/statefulset's compatibility test, whose
 * data and hash were produced by a 1.33 kube-controller-manager), plus the FNV-1 test vectors;
 * then list/find/create (with a name collision)/bump/truncate against an in-process server. */
#include "apiserver/apiserver.h"
#include "client/informer.h"
#include "controllers/history.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char upstream_data[] =
    "{\"spec\":{\"template\":{\"$patch\":\"replace\",\"metadata\":{\"annotations\":{\"test\":\"value\"},"
    "\"creationTimestamp\":null,\"labels\":{\"app\":\"foo\"}},\"spec\":{\"containers\":[{\"image\":\"test\","
    "\"imagePullPolicy\":\"Always\",\"name\":\"test\",\"resources\":{},\"terminationMessagePath\":\"/dev/"
    "termination-log\",\"terminationMessagePolicy\":\"File\"}],\"dnsPolicy\":\"ClusterFirst\","
    "\"restartPolicy\":"
    "\"Always\",\"schedulerName\":\"default-scheduler\",\"securityContext\":{},"
    "\"terminationGracePeriodSeconds\":"
    "30}}}}";

/* The same defaulted template as an API server stores it: any key order, no Go-only fields,
 * zero values that Go's omitempty drops, and a field the schema does not know. */
static const char stored_template[] =
    "{\"spec\":{\"terminationGracePeriodSeconds\":30,\"restartPolicy\":\"Always\",\"dnsPolicy\":"
    "\"ClusterFirst\","
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
    for (const char *p = h; *p; p++)
        cr_assert(strchr("456789bcdf", *p));
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
    cr_assert_str_eq(s, "{\"a\":[3,1.5,1e+21,false,null],\"m\":\"\\u2028\",\"z\":"
                        "\"\\u003ca\\u0026b\\u003e\\n\\\"\\\\\\u0001\"}");
    free(s);
    json_decref(v);
}

Test(history, quantities_canonical)
{
    json_t *t =
        json_loads("{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"0.5\","
                   "\"memory\":\"1.5Gi\"},\"limits\":{\"cpu\":\"1000m\"}}}]}}",
                   0, NULL);
    json_t *g = kc_history_typed_template(t);
    char *s = kc_history_go_json(
        json_object_get(json_array_get(json_object_get(json_object_get(g, "spec"), "containers"), 0),
                        "resources"),
        NULL);
    cr_assert_str_eq(s, "{\"limits\":{\"cpu\":\"1\"},\"requests\":{\"cpu\":\"500m\",\"memory\":\"1536Mi\"}}");
    free(s);
    json_decref(g);
    json_decref(t);
}

Test(history, typed_fills_go_fields)
{
    /* probes: httpGet.port is not omitempty; a missing template metadata still yields creationTimestamp */
    json_t *t = json_loads(
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"readinessProbe\":{\"httpGet\":{\"path\":\"/\","
        "\"port\":80}}}]}}",
        0, NULL);
    json_t *g = kc_history_typed_template(t);
    char *s = kc_history_go_json(g, NULL);
    cr_assert_str_eq(s,
                     "{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":[{\"name\":\"c\","
                     "\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":80}},\"resources\":{}}]}}");
    free(s);
    json_decref(g);
    json_decref(t);
}

/* ---- operations against an in-process server ---- */

static test_server ts;
static kc_apiserver *srv;
static kc_client *cl;
static kc_informer *inf;
static int REV, STS;

static void start(void)
{
    srv = test_server_start(&ts, "history", false);
    REV = kc_resource_find("apps", "v1", "controllerrevisions");
    STS = kc_resource_find("apps", "v1", "statefulsets");
    cl = kc_apiserver_client(srv, "test");
    inf = kc_informer_new(kc_apiserver_client(srv, "test-informer"), REV, NULL, NULL, NULL);
    kc_informer_start(inf);
    test_server_serve(&ts);
    cr_assert(kc_informer_wait_synced(inf, 10000));
}

static void stop(void)
{
    kc_informer_stop(inf);
    kc_informer_free(inf);
    kc_client_free(cl);
    test_server_destroy(&ts);
}

static kc_obj *make_set(const char *name)
{
    json_t *d =
        json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:{s:{s:s}},s:s,s:{s:{s:{s:s}},s:{s:[{s:s,s:s}]}}}}", "apiVersion",
                  "apps/v1", "kind", "StatefulSet", "metadata", "name", name, "namespace", "default", "spec",
                  "selector", "matchLabels", "app", name, "serviceName", "x", "template", "metadata",
                  "labels", "app", name, "spec", "containers", "name", "c", "image", "i");
    kc_obj *o = NULL;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(cl, STS, "default", d, &o, &err), 0, "%s", err.msg);
    json_decref(d);
    return o;
}

/* Waits until the informer lists n revisions of owner; returns them. */
static size_t listed(const kc_obj *owner, size_t n, kc_obj ***out)
{
    for (int i = 0; i < 400; i++) {
        size_t got = kc_history_list(inf, owner, out);
        if (got == n) return got;
        kc_objv_free(*out, got);
        usleep(5000);
    }
    cr_assert_fail("informer never listed %zu revisions", n);
    return 0;
}

static char *data_of(const char *image, size_t *len)
{
    json_t *t = json_pack("{s:{s:{s:s}},s:{s:[{s:s,s:s}]}}", "metadata", "labels", "app", "h", "spec",
                          "containers", "name", "c", "image", image);
    char *d = kc_history_template_data(t, len);
    json_decref(t);
    return d;
}

Test(history_ops, create_find_bump_truncate, .init = start, .fini = stop, .timeout = 30)
{
    kc_obj *set = make_set("h"), *r1 = NULL, *r2 = NULL, *r3 = NULL, **revs;
    kc_err err = KC_ERR_INIT;
    int64_t cc = 0;
    size_t l1, l2, l3;
    char *d1 = data_of("a", &l1), *d2 = data_of("b", &l2), *d3 = data_of("c", &l3);
    json_t *labels = json_pack("{s:s}", "app", "h"), *ann = json_pack("{s:s}", "note", "x");
    cr_assert_eq(kc_history_create(cl, set, labels, ann, d1, l1, 1, &cc, &r1, &err), 0, "%s", err.msg);
    cr_assert_eq(kc_history_create(cl, set, labels, ann, d2, l2, 2, &cc, &r2, &err), 0, "%s", err.msg);
    cr_assert_eq(cc, 0);
    /* the same data again: AlreadyExists with equal data answers the existing revision */
    cr_assert_eq(kc_history_create(cl, set, labels, ann, d1, l1, 3, &cc, &r3, &err), 0, "%s", err.msg);
    cr_assert_str_eq(r3->uid, r1->uid);
    kc_obj_unref(r3);
    json_t *doc = kc_obj_parse(r1);
    json_t *md = json_object_get(doc, "metadata");
    char hash[11];
    int64_t zero = 0;
    kc_history_hash(d1, l1, &zero, hash);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "labels"), KC_HISTORY_HASH_LABEL)),
                     hash);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "annotations"), "note")), "x");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(md, "ownerReferences"), 0), "uid")),
        set->uid);
    json_decref(doc);

    size_t n = listed(set, 2, &revs);
    cr_assert_str_eq(revs[0]->name, r1->name);
    cr_assert_eq(kc_history_next_number(revs, n), 3);
    cr_assert_eq(kc_history_find_equal(revs, n, d2, l2), revs[1]);
    cr_assert_null(kc_history_find_equal(revs, n, d3, l3));
    /* rollback to the first template: its number becomes the newest */
    cr_assert_eq(kc_history_bump(cl, revs[0], 3, NULL, &err), 0, "%s", err.msg);
    kc_objv_free(revs, n);
    for (int i = 0; i < 400; i++) {
        n = kc_history_list(inf, set, &revs);
        bool moved = n == 2 && !strcmp(revs[1]->name, r1->name);
        if (moved) break;
        kc_objv_free(revs, n);
        revs = NULL;
        usleep(5000);
    }
    cr_assert_not_null(revs, "bumped revision never sorted last");
    cr_assert_eq(kc_history_revision(revs[1]), 3);
    /* truncate: r1 is live; one non-live (r2) over a limit of 0 goes */
    const char *live[] = {r1->name};
    cr_assert_eq(kc_history_truncate(cl, revs, n, live, 1, 0, &err), 1, "%s", err.msg);
    kc_objv_free(revs, n);
    n = listed(set, 1, &revs);
    cr_assert_str_eq(revs[0]->name, r1->name);
    kc_objv_free(revs, n);
    kc_obj_unref(r1);
    kc_obj_unref(r2);
    kc_obj_unref(set);
    json_decref(labels);
    json_decref(ann);
    free(d1), free(d2), free(d3);
}

Test(history_ops, collision_bumps_count, .init = start, .fini = stop, .timeout = 30)
{
    kc_obj *set = make_set("col"), *r = NULL;
    kc_err err = KC_ERR_INIT;
    size_t len;
    char *d = data_of("a", &len), hash[11], hash1[11];
    int64_t cc = 0;
    kc_history_hash(d, len, &cc, hash);
    char *taken = kc_history_name("col", hash);
    json_t *squat =
        json_pack("{s:s,s:s,s:{s:s},s:{s:b},s:i}", "apiVersion", "apps/v1", "kind", "ControllerRevision",
                  "metadata", "name", taken, "data", "other", 1, "revision", 1);
    cr_assert_eq(kc_client_create(cl, REV, "default", squat, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(kc_history_create(cl, set, NULL, NULL, d, len, 1, &cc, &r, &err), 0, "%s", err.msg);
    cr_assert_eq(cc, 1);
    int64_t one = 1;
    kc_history_hash(d, len, &one, hash1);
    char *want = kc_history_name("col", hash1);
    cr_assert_str_eq(r->name, want);
    free(want);
    free(taken);
    free(d);
    json_decref(squat);
    kc_obj_unref(r);
    kc_obj_unref(set);
}
