/* The EndpointSlice planner (semantics 5.7, upstream reconciler.go): endpoints of pods, grouping by
 * resolved port set, packing at most 100 per slice, minimal churn when pods come and go, the
 * placeholder slice, slices of other owners, and creates turned into updates. */
#include "controllers/endpointslice_int.h"
#include <criterion/criterion.h>
#include <stdio.h>

static void svc_init(kc_ep_svc *s, bool headless)
{
    json_t *d = json_pack("{s:{s:s,s:s,s:s,s:{s:s}},s:{s:s,s:{s:s},s:[{s:s,s:i,s:s,s:s}]}}", "metadata",
                          "name", "web", "namespace", "ns", "uid", "svc-uid", "labels", "team", "a", "spec",
                          "clusterIP", headless ? "None" : "10.96.0.9", "selector", "app", "web", "ports",
                          "name", "http", "port", 80, "targetPort", "http", "protocol", "TCP");
    kc_ep_svc_init(s, d);
}

static json_t *pod_doc(int i, int http, bool ready)
{
    char name[32], uid[32], ip[32];
    snprintf(name, sizeof name, "p%04d", i);
    snprintf(uid, sizeof uid, "uid-%d", i);
    snprintf(ip, sizeof ip, "10.1.%d.%d", i / 250, i % 250 + 1);
    return json_pack("{s:{s:s,s:s,s:s},s:{s:s,s:[{s:s,s:[{s:s,s:i}]}]},s:{s:s,s:s,s:[{s:s}],s:[{s:s,s:s}]}}",
                     "metadata", "name", name, "namespace", "ns", "uid", uid, "spec", "nodeName", "n1",
                     "containers", "name", "c", "ports", "name", "http", "containerPort", http, "status",
                     "phase", "Running", "podIP", ip, "podIPs", "ip", ip, "conditions", "type", "Ready",
                     "status", ready ? "True" : "False");
}

/* Desired endpoints for pods [from, to) (port 8080 unless odd_port: odd pods get 9090). */
static void want_pods(kc_es_desired *d, const kc_ep_svc *s, int from, int to, bool odd_port)
{
    for (int i = from; i < to; i++) {
        kc_ep_pod p;
        kc_ep_pod_init(&p, pod_doc(i, odd_port && i % 2 ? 9090 : 8080, true));
        kc_es_group *g = kc_es_group_for(d, kc_es_pod_ports(s, &p));
        json_t *ep = kc_es_pod_endpoint(s, &p, false, "z1");
        if (ep) kc_es_group_add(g, ep);
        kc_ep_pod_release(&p);
    }
}

/* Plans against existing slices; returns the plan. */
static kc_es_plan plan_for(const kc_ep_svc *s, kc_es_desired *d, json_t **slices, size_t n)
{
    kc_es_input in = {s, "IPv4", "2026-01-01T00:00:00Z", KC_ES_MAX_PER_SLICE, d, slices, n};
    kc_es_plan p;
    kc_es_reconcile(&in, &p);
    return p;
}

static size_t neps(json_t *slice)
{
    return json_array_size(json_object_get(slice, "endpoints"));
}

/* Gives planned creates a name and revision, as the API server would. */
static json_t **stored(kc_es_plan *p, size_t *n)
{
    *n = json_array_size(p->create);
    json_t **v = calloc(*n + 1, sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        v[i] = json_deep_copy(json_array_get(p->create, i));
        char name[32];
        snprintf(name, sizeof name, "web-%zu", i);
        json_t *md = json_object_get(v[i], "metadata");
        json_object_set_new(md, "name", json_string(name));
        json_object_set_new(md, "resourceVersion", json_string("7"));
    }
    return v;
}

static void free_slices(json_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(v[i]);
    free(v);
}

Test(es_pack, endpoint_of_a_pod)
{
    kc_ep_svc s;
    svc_init(&s, false);
    kc_ep_pod p;
    json_t *doc = pod_doc(1, 8080, false);
    json_object_set_new(json_object_get(doc, "metadata"), "deletionTimestamp",
                        json_string("2026-01-01T00:00:01Z"));
    kc_ep_pod_init(&p, doc);
    json_t *ep = kc_es_pod_endpoint(&s, &p, false, "z1");
    char *got = json_dumps(ep, JSON_COMPACT);
    cr_assert_str_eq(got,
                     "{\"addresses\":[\"10.1.0.2\"],\"conditions\":{\"ready\":false,\"serving\":false,"
                     "\"terminating\":true},\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":"
                     "\"p0001\",\"uid\":\"uid-1\"},\"nodeName\":\"n1\",\"zone\":\"z1\"}");
    free(got);
    json_decref(ep);
    cr_assert_null(kc_es_pod_endpoint(&s, &p, true, NULL), "no IPv6 address");
    json_t *ports = kc_es_pod_ports(&s, &p);
    got = json_dumps(ports, JSON_COMPACT);
    cr_assert_str_eq(got, "[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]");
    free(got);
    json_decref(ports);
    kc_ep_pod_release(&p);
    kc_ep_svc_release(&s);
}

Test(es_pack, packs_at_most_100_and_labels)
{
    kc_ep_svc s;
    svc_init(&s, true);
    kc_es_desired d = {0};
    want_pods(&d, &s, 0, 250, false);
    kc_es_plan p = plan_for(&s, &d, NULL, 0);
    cr_assert_eq(json_array_size(p.create), 3);
    cr_assert_eq(neps(json_array_get(p.create, 0)), 100);
    cr_assert_eq(neps(json_array_get(p.create, 1)), 100);
    cr_assert_eq(neps(json_array_get(p.create, 2)), 50);
    json_t *md = json_object_get(json_array_get(p.create, 0), "metadata");
    json_t *l = json_object_get(md, "labels");
    cr_assert_str_eq(json_string_value(json_object_get(l, KC_ES_SERVICE_LABEL)), "web");
    cr_assert_str_eq(json_string_value(json_object_get(l, KC_ES_MANAGED_LABEL)), KC_ES_CONTROLLER);
    cr_assert_str_eq(json_string_value(json_object_get(l, "team")), "a");
    cr_assert_not_null(json_object_get(l, KC_EP_HEADLESS));
    cr_assert_str_eq(json_string_value(json_object_get(md, "generateName")), "web-");
    json_t *ref = json_array_get(json_object_get(md, "ownerReferences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(ref, "uid")), "svc-uid");
    cr_assert(json_is_true(json_object_get(ref, "controller")));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "annotations"), KC_EP_TRIGGER)),
                     "2026-01-01T00:00:00Z");
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    kc_ep_svc_release(&s);
}

Test(es_pack, minimal_churn)
{
    kc_ep_svc s;
    svc_init(&s, false);
    kc_es_desired d = {0};
    want_pods(&d, &s, 0, 250, false);
    kc_es_plan p = plan_for(&s, &d, NULL, 0);
    size_t n;
    json_t **have = stored(&p, &n);
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    /* the same pods again: nothing to do */
    want_pods(&d, &s, 0, 250, false);
    p = plan_for(&s, &d, have, n);
    cr_assert_eq(json_array_size(p.create) + json_array_size(p.update) + json_array_size(p.del), 0);
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    /* 30 more pods: the 50-endpoint slice takes them, nothing else moves */
    want_pods(&d, &s, 0, 280, false);
    p = plan_for(&s, &d, have, n);
    cr_assert_eq(json_array_size(p.create), 0);
    cr_assert_eq(json_array_size(p.update), 1);
    cr_assert_eq(neps(json_array_get(p.update, 0)), 80);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(p.update, 0), "metadata"), "resourceVersion")),
                     "7");
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    /* the first 5 pods go: only their slice changes */
    want_pods(&d, &s, 5, 250, false);
    p = plan_for(&s, &d, have, n);
    cr_assert_eq(json_array_size(p.create) + json_array_size(p.del), 0);
    cr_assert_eq(json_array_size(p.update), 1);
    cr_assert_eq(neps(json_array_get(p.update, 0)), 95);
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    /* no pods: the slices go, and one of them becomes the placeholder */
    p = plan_for(&s, &d, have, n);
    cr_assert_eq(json_array_size(p.create), 0);
    cr_assert_eq(json_array_size(p.del), 2);
    cr_assert_eq(json_array_size(p.update), 1);
    json_t *ph = json_array_get(p.update, 0);
    cr_assert(json_is_null(json_object_get(ph, "endpoints")) && json_is_null(json_object_get(ph, "ports")));
    kc_es_plan_release(&p);
    free_slices(have, n);
    kc_ep_svc_release(&s);
}

Test(es_pack, port_sets_split_slices)
{
    kc_ep_svc s;
    svc_init(&s, false);
    kc_es_desired d = {0};
    want_pods(&d, &s, 0, 10, true);
    cr_assert_eq(d.n, 2, "pods resolving http to 8080 and to 9090");
    kc_es_plan p = plan_for(&s, &d, NULL, 0);
    cr_assert_eq(json_array_size(p.create), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *sl = json_array_get(p.create, i);
        cr_assert_eq(neps(sl), 5);
        json_int_t port =
            json_integer_value(json_object_get(json_array_get(json_object_get(sl, "ports"), 0), "port"));
        cr_assert(port == 8080 || port == 9090);
    }
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    kc_ep_svc_release(&s);
}

Test(es_pack, placeholder_kept_and_strangers_deleted)
{
    kc_ep_svc s;
    svc_init(&s, false);
    kc_es_desired d = {0};
    kc_es_plan p = plan_for(&s, &d, NULL, 0);
    cr_assert_eq(json_array_size(p.create), 1, "a placeholder for a Service without pods");
    size_t n;
    json_t **have = stored(&p, &n);
    kc_es_plan_release(&p);
    p = plan_for(&s, &d, have, n);
    cr_assert_eq(json_array_size(p.create) + json_array_size(p.update) + json_array_size(p.del), 0,
                 "the placeholder stays as it is");
    kc_es_plan_release(&p);
    /* a slice owned by an older Service of the same name is deleted, a new one created */
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(have[0], "metadata"), "ownerReferences"), 0), "uid",
        json_string("old-uid"));
    want_pods(&d, &s, 0, 3, false);
    p = plan_for(&s, &d, have, n);
    cr_assert_eq(json_array_size(p.del), 1);
    cr_assert_eq(json_array_size(p.create), 1);
    cr_assert_eq(json_array_size(p.update), 0);
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    free_slices(have, n);
    kc_ep_svc_release(&s);
}

Test(es_pack, label_drift_and_changed_endpoint)
{
    kc_ep_svc s;
    svc_init(&s, false);
    kc_es_desired d = {0};
    want_pods(&d, &s, 0, 3, false);
    kc_es_plan p = plan_for(&s, &d, NULL, 0);
    size_t n;
    json_t **have = stored(&p, &n);
    kc_es_plan_release(&p);
    json_object_set_new(json_object_get(json_object_get(have[0], "metadata"), "labels"), "team",
                        json_string("b"));
    p = plan_for(&s, &d, have, n);
    cr_assert_eq(json_array_size(p.update), 1, "labels follow the Service");
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_array_get(p.update, 0), "metadata"), "labels"), "team")),
        "a");
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    json_object_set_new(json_object_get(json_object_get(have[0], "metadata"), "labels"), "team",
                        json_string("a"));
    /* a pod turning not ready: the same slice, updated in place */
    for (int i = 0; i < 3; i++) {
        kc_ep_pod pod;
        kc_ep_pod_init(&pod, pod_doc(i, 8080, i != 1));
        kc_es_group *g = kc_es_group_for(&d, kc_es_pod_ports(&s, &pod));
        kc_es_group_add(g, kc_es_pod_endpoint(&s, &pod, false, "z1"));
        kc_ep_pod_release(&pod);
    }
    p = plan_for(&s, &d, have, n);
    cr_assert_eq(json_array_size(p.update), 1);
    cr_assert_eq(json_array_size(p.create) + json_array_size(p.del), 0);
    json_t *eps = json_object_get(json_array_get(p.update, 0), "endpoints");
    int ready = 0;
    for (size_t i = 0; i < json_array_size(eps); i++)
        ready +=
            json_is_true(json_object_get(json_object_get(json_array_get(eps, i), "conditions"), "ready"));
    cr_assert_eq(ready, 2);
    kc_es_plan_release(&p);
    kc_es_desired_release(&d);
    free_slices(have, n);
    kc_ep_svc_release(&s);
}

/* ---- mirroring ---- */

static json_t *user_endpoints(void)
{
    return json_pack("{s:{s:s,s:s,s:s,s:{s:s},s:{s:s,s:s}},s:[{s:[{s:s},{s:s,s:s}],s:[{s:s}],s:[{s:s,s:i}]},"
                     "{s:[{s:s},{s:s}],s:[{s:s,s:i}]}]}",
                     "metadata", "name", "ext", "namespace", "ns", "uid", "ep-uid", "labels", "a", "b",
                     "annotations", "note", "x", "kubectl.kubernetes.io/last-applied-configuration", "{}",
                     "subsets", "addresses", "ip", "1.2.3.4", "ip", "1.2.3.5", "hostname", "h",
                     "notReadyAddresses", "ip", "1.2.3.6", "ports", "name", "web", "port", 80, "addresses",
                     "ip", "fd00::1", "ip", "bogus", "ports", "name", "web", "port", 8080);
}

Test(es_mirror, one_slice_per_family_and_port_set)
{
    json_t *ep = user_endpoints();
    kc_es_plan p;
    int invalid, skipped;
    kc_esm_reconcile(ep, NULL, 0, &p, &invalid, &skipped);
    cr_assert_eq(invalid, 1, "\"bogus\" is not an IP");
    cr_assert_eq(json_array_size(p.create), 2);
    json_t *v4 = json_array_get(p.create, 0), *v6 = json_array_get(p.create, 1);
    if (strcmp(json_string_value(json_object_get(v4, "addressType")), "IPv4")) {
        json_t *t = v4;
        v4 = v6, v6 = t;
    }
    cr_assert_eq(neps(v4), 3);
    cr_assert_eq(neps(v6), 1);
    json_t *md = json_object_get(v4, "metadata");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "labels"), KC_ES_MANAGED_LABEL)),
                     KC_ESM_CONTROLLER);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "labels"), "a")), "b");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "annotations"), "note")), "x");
    cr_assert_null(json_object_get(json_object_get(md, "annotations"),
                                   "kubectl.kubernetes.io/last-applied-configuration"));
    json_t *ref = json_array_get(json_object_get(md, "ownerReferences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(ref, "kind")), "Endpoints");
    json_t *nr = json_array_get(json_object_get(v4, "endpoints"), 2);
    cr_assert(json_is_false(json_object_get(json_object_get(nr, "conditions"), "ready")));
    /* stored as is: the next plan has nothing to do; a label change updates in place */
    json_t *have[2] = {json_deep_copy(v4), json_deep_copy(v6)};
    for (int i = 0; i < 2; i++) {
        json_t *m = json_object_get(have[i], "metadata");
        json_object_set_new(m, "name", json_string(i ? "ext-b" : "ext-a"));
        json_object_set_new(m, "resourceVersion", json_string("5"));
    }
    kc_es_plan_release(&p);
    kc_esm_reconcile(ep, have, 2, &p, &invalid, &skipped);
    cr_assert_eq(json_array_size(p.create) + json_array_size(p.update) + json_array_size(p.del), 0);
    kc_es_plan_release(&p);
    json_object_set_new(json_object_get(json_object_get(ep, "metadata"), "labels"), "c", json_string("d"));
    kc_esm_reconcile(ep, have, 2, &p, &invalid, &skipped);
    cr_assert_eq(json_array_size(p.update), 2);
    cr_assert_eq(json_array_size(p.create) + json_array_size(p.del), 0);
    kc_es_plan_release(&p);
    /* the IPv6 subset removed: its slice goes */
    json_array_remove(json_object_get(ep, "subsets"), 1);
    json_object_del(json_object_get(json_object_get(ep, "metadata"), "labels"), "c");
    kc_esm_reconcile(ep, have, 2, &p, &invalid, &skipped);
    cr_assert_eq(json_array_size(p.del), 1);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(json_array_get(p.del, 0), "metadata"), "name")),
        "ext-b");
    kc_es_plan_release(&p);
    json_decref(have[0]), json_decref(have[1]);
    json_decref(ep);
}

/* ---- tracker ---- */

static kc_obj *slice_obj(const char *name, const char *rv)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"resourceVersion\":\"%s\"}}", name, rv);
    kc_err err = KC_ERR_INIT;
    kc_obj *o = kc_obj_from_bytes(kc_resource_find("discovery.k8s.io", "v1", "endpointslices"), json,
                                  strlen(json), &err);
    cr_assert_not_null(o, "%s", err.msg);
    return o;
}

Test(es_tracker, stale_caches_and_own_events)
{
    kc_es_tracker t;
    kc_es_tracker_init(&t);
    kc_obj *a5 = slice_obj("a", "5"), *a7 = slice_obj("a", "7"), *b3 = slice_obj("b", "3");
    kc_obj *v[2] = {a5, b3};
    cr_assert(!kc_es_tracker_stale(&t, "ns/web", v, 2), "nothing written yet");
    cr_assert(kc_es_tracker_should_sync(&t, "ns/web", a5), "not ours");
    kc_es_tracker_wrote(&t, "ns/web", "a", 7, false);
    cr_assert(kc_es_tracker_stale(&t, "ns/web", v, 2), "the cache shows a at 5, we wrote 7");
    v[0] = a7;
    cr_assert(!kc_es_tracker_stale(&t, "ns/web", v, 2));
    cr_assert(!kc_es_tracker_should_sync(&t, "ns/web", a7), "the event of our own write");
    cr_assert(kc_es_tracker_stale(&t, "ns/web", v, 0), "a created by us, not in the cache yet");
    kc_es_tracker_wrote(&t, "ns/web", "b", 0, true);
    cr_assert(kc_es_tracker_stale(&t, "ns/web", v, 2), "b deleted by us, still cached");
    cr_assert_eq(kc_es_tracker_deleted(&t, "ns/web", b3), 1, "our deletion");
    cr_assert(!kc_es_tracker_stale(&t, "ns/web", v, 1));
    cr_assert_eq(kc_es_tracker_deleted(&t, "ns/web", a7), 0, "someone else deleted a");
    kc_es_tracker_forget(&t, "ns/web");
    kc_obj_unref(a5), kc_obj_unref(a7), kc_obj_unref(b3);
    kc_es_tracker_release(&t);
}
