/* The pure rules of the Endpoints controller (semantics 5.5-5.6): port resolution per pod, pod
 * membership, hostnames, the repacked subsets, the 1000-address truncation and the last-change
 * trigger time. The controller itself is exercised end to end in tests/e2e/test_endpoints.py. */
#include "controllers/endpoints_int.h"
#include <criterion/criterion.h>
#include <stdio.h>

static json_t *port(const char *name, int num, const char *proto)
{
    json_t *p = json_pack("{s:i,s:s}", "containerPort", num, "protocol", proto);
    if (name) json_object_set_new(p, "name", json_string(name));
    return p;
}

static json_t *svc_port(const char *name, json_t *target, const char *proto)
{
    json_t *p = json_pack("{s:i,s:o,s:s}", "port", 80, "targetPort", target, "protocol", proto);
    if (name) json_object_set_new(p, "name", json_string(name));
    return p;
}

Test(ep_rules, find_port_numeric_named_and_sidecar)
{
    json_t *spec = json_pack("{s:[{s:s,s:[o,o]}],s:[{s:s,s:[o]},{s:s,s:s,s:[o]}]}", "containers", "name",
                             "app", "ports", port("http", 8080, "TCP"), port("dns", 53, "UDP"),
                             "initContainers", "name", "plain", "ports", port("side", 7000, "TCP"), "name",
                             "sidecar", "restartPolicy", "Always", "ports", port("side", 7001, "TCP"));
    json_t *p;
    cr_assert_eq(kc_ep_find_port(spec, p = svc_port("a", json_integer(9090), "TCP")), 9090);
    json_decref(p);
    cr_assert_eq(kc_ep_find_port(spec, p = svc_port("a", json_string("http"), "TCP")), 8080);
    json_decref(p);
    /* the name must come with the Service port's protocol */
    cr_assert_eq(kc_ep_find_port(spec, p = svc_port("a", json_string("dns"), "TCP")), -1);
    json_decref(p);
    cr_assert_eq(kc_ep_find_port(spec, p = svc_port("a", json_string("dns"), "UDP")), 53);
    json_decref(p);
    /* only restartable init containers (sidecars) offer ports */
    cr_assert_eq(kc_ep_find_port(spec, p = svc_port("a", json_string("side"), "TCP")), 7001);
    json_decref(p);
    cr_assert_eq(kc_ep_find_port(spec, p = svc_port("a", json_string("nope"), "TCP")), -1);
    json_decref(p);
    json_decref(spec);
}

/* A pod document: name, IP ("" for none), ready, deleting, phase, container port number for
 * "http", hostname/subdomain (NULL for none). */
static json_t *pod_doc(const char *name, const char *ip, bool ready, bool deleting, const char *phase,
                       int http, const char *hostname, const char *subdomain)
{
    char uid[64];
    snprintf(uid, sizeof uid, "uid-%s", name);
    json_t *d = json_pack("{s:{s:s,s:s,s:s,s:{s:s}},s:{s:s,s:[{s:s,s:[o]}]},s:{s:s,s:[{s:s,s:s,s:s}]}}",
                          "metadata", "name", name, "namespace", "ns", "uid", uid, "labels", "app", "web",
                          "spec", "nodeName", "n1", "containers", "name", "c", "ports",
                          port("http", http, "TCP"), "status", "phase", phase, "conditions", "type", "Ready",
                          "status", ready ? "True" : "False", "lastTransitionTime", "2026-01-01T00:00:00Z");
    if (*ip) {
        json_object_set_new(json_object_get(d, "status"), "podIP", json_string(ip));
        json_object_set_new(json_object_get(d, "status"), "podIPs", json_pack("[{s:s}]", "ip", ip));
    }
    if (deleting)
        json_object_set_new(json_object_get(d, "metadata"), "deletionTimestamp",
                            json_string("2026-01-01T00:00:05Z"));
    if (hostname) json_object_set_new(json_object_get(d, "spec"), "hostname", json_string(hostname));
    if (subdomain) json_object_set_new(json_object_get(d, "spec"), "subdomain", json_string(subdomain));
    return d;
}

static void svc_of(kc_ep_svc *s, const char *cluster_ip, bool publish, json_t *ports)
{
    json_t *d =
        json_pack("{s:{s:s,s:s,s:s,s:s},s:{s:s,s:{s:s},s:o,s:b}}", "metadata", "name", "web", "namespace",
                  "ns", "uid", "svc-uid", "creationTimestamp", "2026-01-01T00:00:00Z", "spec", "clusterIP",
                  cluster_ip, "selector", "app", "web", "ports", ports, "publishNotReadyAddresses", publish);
    kc_ep_svc_init(s, d);
}

Test(ep_rules, membership_and_hostname)
{
    kc_ep_svc s;
    svc_of(&s, "None", false, json_array());
    kc_ep_pod a, b, c, d;
    kc_ep_pod_init(&a, pod_doc("a", "10.0.0.1", true, false, "Running", 80, "h", "web"));
    kc_ep_pod_init(&b, pod_doc("b", "", true, false, "Pending", 80, "h", "other"));
    kc_ep_pod_init(&c, pod_doc("c", "10.0.0.3", true, true, "Running", 80, NULL, NULL));
    kc_ep_pod_init(&d, pod_doc("d", "10.0.0.4", false, false, "Succeeded", 80, NULL, NULL));
    cr_assert(kc_ep_pod_included(&a, false));
    cr_assert(!kc_ep_pod_included(&b, true), "no IP");
    cr_assert(!kc_ep_pod_included(&c, false) && kc_ep_pod_included(&c, true), "terminating");
    cr_assert(!kc_ep_pod_included(&d, true), "terminal");
    cr_assert(kc_ep_pod_hostname(&a, &s));
    cr_assert(!kc_ep_pod_hostname(&b, &s), "subdomain is another service");
    cr_assert(s.headless && kc_ep_svc_managed(&s));
    json_t *sel = json_pack("{s:s}", "app", "web"), *l1 = json_pack("{s:s,s:s}", "app", "web", "x", "y");
    json_t *l2 = json_pack("{s:s}", "app", "db");
    cr_assert(kc_ep_selects(sel, l1) && !kc_ep_selects(sel, l2) && !kc_ep_selects(NULL, l1));
    json_decref(sel), json_decref(l1), json_decref(l2);
    kc_ep_pod_release(&a), kc_ep_pod_release(&b), kc_ep_pod_release(&c), kc_ep_pod_release(&d);
    kc_ep_svc_release(&s);
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

/* The worked example of endpoints_subsets.c: pods resolving the named port to different numbers
 * land in different subsets; a not-ready pod is listed under notReadyAddresses. */
Test(ep_rules, subsets_group_by_resolved_ports)
{
    kc_ep_svc s;
    svc_of(&s, "10.96.0.9", false, json_pack("[o]", svc_port("http", json_string("http"), "TCP")));
    kc_ep_pod a, b, c, t;
    kc_ep_pod_init(&a, pod_doc("a", "10.0.0.2", true, false, "Running", 8080, NULL, NULL));
    kc_ep_pod_init(&b, pod_doc("b", "10.0.0.1", true, false, "Running", 8080, NULL, NULL));
    kc_ep_pod_init(&c, pod_doc("c", "10.0.0.3", false, false, "Running", 8081, NULL, NULL));
    kc_ep_pod_init(&t, pod_doc("t", "10.0.0.4", true, true, "Running", 8080, NULL, NULL));
    kc_ep_pod *v[] = {&a, &b, &c, &t};
    json_t *ss = kc_ep_subsets(&s, v, 4);
    char *got = dump(ss);
    const char *want = "[{\"addresses\":[{\"ip\":\"10.0.0.1\",\"nodeName\":\"n1\",\"targetRef\":{\"kind\":"
                       "\"Pod\",\"name\":\"b\","
                       "\"namespace\":\"ns\",\"uid\":\"uid-b\"}},{\"ip\":\"10.0.0.2\",\"nodeName\":\"n1\","
                       "\"targetRef\":{\"kind\":"
                       "\"Pod\",\"name\":\"a\",\"namespace\":\"ns\",\"uid\":\"uid-a\"}}],\"ports\":[{"
                       "\"name\":\"http\",\"port\":8080,"
                       "\"protocol\":\"TCP\"}]},{\"notReadyAddresses\":[{\"ip\":\"10.0.0.3\",\"nodeName\":"
                       "\"n1\",\"targetRef\":{"
                       "\"kind\":\"Pod\",\"name\":\"c\",\"namespace\":\"ns\",\"uid\":\"uid-c\"}}],\"ports\":["
                       "{\"name\":\"http\","
                       "\"port\":8081,\"protocol\":\"TCP\"}]}]";
    cr_assert_str_eq(got, want);
    free(got);
    json_decref(ss);
    kc_ep_svc_release(&s);
    /* publishNotReadyAddresses: everything ready, terminating pods included */
    svc_of(&s, "10.96.0.9", true, json_pack("[o]", svc_port("http", json_integer(9000), "TCP")));
    ss = kc_ep_subsets(&s, v, 4);
    cr_assert_eq(json_array_size(ss), 1);
    cr_assert_eq(json_array_size(json_object_get(json_array_get(ss, 0), "addresses")), 4);
    cr_assert_null(json_object_get(json_array_get(ss, 0), "notReadyAddresses"));
    json_decref(ss);
    kc_ep_svc_release(&s);
    kc_ep_pod_release(&a), kc_ep_pod_release(&b), kc_ep_pod_release(&c), kc_ep_pod_release(&t);
}

Test(ep_rules, headless_without_ports_keeps_addresses)
{
    kc_ep_svc s;
    svc_of(&s, "None", false, json_array());
    kc_ep_pod a;
    kc_ep_pod_init(&a, pod_doc("a", "10.0.0.2", true, false, "Running", 80, "web-0", "web"));
    kc_ep_pod *v[] = {&a};
    json_t *ss = kc_ep_subsets(&s, v, 1);
    cr_assert_eq(json_array_size(ss), 1);
    json_t *sub = json_array_get(ss, 0);
    cr_assert_null(json_object_get(sub, "ports"));
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(sub, "addresses"), 0), "hostname")),
        "web-0");
    json_decref(ss);
    json_t *l = kc_ep_labels(&s);
    cr_assert_not_null(json_object_get(l, KC_EP_HEADLESS));
    json_decref(l);
    kc_ep_svc_release(&s);
    kc_ep_pod_release(&a);
}

static json_t *addrs(int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:i}", "i", i));
    return a;
}

Test(ep_rules, truncation_as_upstream)
{
    /* ready addresses alone over capacity: 1200 + 600 ready -> ceil(1200/1800*1000)=667 and 333,
     * not-ready ones all dropped */
    json_t *ss = json_pack("[{s:o,s:o},{s:o}]", "addresses", addrs(1200), "notReadyAddresses", addrs(10),
                           "addresses", addrs(600));
    cr_assert(kc_ep_truncate(ss));
    cr_assert_eq(json_array_size(json_object_get(json_array_get(ss, 0), "addresses")), 667);
    cr_assert_null(json_object_get(json_array_get(ss, 0), "notReadyAddresses"));
    cr_assert_eq(json_array_size(json_object_get(json_array_get(ss, 1), "addresses")), 333);
    cr_assert_eq(kc_ep_count(ss), 1000);
    json_decref(ss);
    /* only not-ready ones cut: 900 ready leave room for 100 not ready */
    ss = json_pack("[{s:o,s:o},{s:o}]", "addresses", addrs(900), "notReadyAddresses", addrs(150),
                   "notReadyAddresses", addrs(50));
    cr_assert(kc_ep_truncate(ss));
    cr_assert_eq(json_array_size(json_object_get(json_array_get(ss, 0), "notReadyAddresses")), 75);
    cr_assert_eq(json_array_size(json_object_get(json_array_get(ss, 1), "notReadyAddresses")), 25);
    cr_assert_eq(kc_ep_count(ss), 1000);
    json_decref(ss);
    ss = json_pack("[{s:o}]", "addresses", addrs(1000));
    cr_assert(!kc_ep_truncate(ss));
    json_decref(ss);
}

Test(ep_rules, trigger_time_tracks_changes)
{
    kc_ep_trigger t;
    kc_ep_trigger_init(&t);
    kc_ep_svc s;
    svc_of(&s, "10.96.0.9", false, json_array());
    kc_ep_pod a;
    kc_ep_pod_init(&a, pod_doc("a", "10.0.0.2", true, false, "Running", 80, NULL, NULL));
    kc_ep_pod *v[] = {&a};
    char out[64];
    kc_ep_trigger_compute(&t, &s, v, 1, out);
    cr_assert_str_eq(out, "2026-01-01T00:00:00Z", "first sync: the Service's creation");
    kc_ep_trigger_compute(&t, &s, v, 1, out);
    cr_assert_str_eq(out, "", "nothing changed");
    json_t *rc = json_array_get(json_object_get(json_object_get(a.doc, "status"), "conditions"), 0);
    json_object_set_new(rc, "lastTransitionTime", json_string("2026-01-01T00:01:00Z"));
    a.ready_time = json_string_value(json_object_get(rc, "lastTransitionTime"));
    kc_ep_trigger_compute(&t, &s, v, 1, out);
    cr_assert_str_eq(out, "2026-01-01T00:01:00Z", "the pod's Ready transition");
    kc_ep_trigger_forget(&t, "ns", "web");
    kc_ep_trigger_compute(&t, &s, v, 1, out);
    cr_assert_str_eq(out, "2026-01-01T00:00:00Z");
    kc_ep_pod_release(&a);
    kc_ep_svc_release(&s);
    kc_ep_trigger_release(&t);
}

static kc_obj *pod_obj(json_t *doc, const char *rv)
{
    json_object_set_new(json_object_get(doc, "metadata"), "resourceVersion", json_string(rv));
    kc_obj *o = kc_obj_build(kc_resource_find("", "v1", "pods"), doc);
    json_decref(doc);
    return o;
}

Test(ep_cache, pod_facts_by_revision_and_label_keys)
{
    kc_ep_podcache c;
    kc_ep_podcache_init(&c);
    kc_obj *o1 = pod_obj(pod_doc("a", "10.0.0.2", false, false, "Running", 8080, "h", "web"), "5");
    kc_obj *o2 = pod_obj(pod_doc("a", "10.0.0.2", true, false, "Running", 8080, "h", "web"), "6");
    kc_ep_pod p;
    kc_ep_podcache_get(&c, o1, &p);
    cr_assert(!p.ready && p.has_ip && !strcmp(p.hostname, "h"));
    /* the trimmed copy still resolves ports and IPs */
    json_t *sp = svc_port("a", json_string("http"), "TCP");
    cr_assert_eq(kc_ep_find_port(json_object_get(p.doc, "spec"), sp), 8080);
    json_decref(sp);
    cr_assert_str_eq(kc_ep_pod_ip(&p, false), "10.0.0.2");
    kc_ep_pod_release(&p);
    bool changed, relabeled;
    kc_ep_pod_update(&c, o1, o2, &changed, &relabeled);
    cr_assert(changed && !relabeled, "readiness moved, labels did not");
    kc_ep_podcache_get(&c, o2, &p);
    cr_assert(p.ready);
    kc_ep_pod_release(&p);
    char *keys[4];
    size_t n = kc_ep_label_index(o1, keys, 4);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(keys[0], "ns\x1f"
                              "app=web");
    free(keys[0]);
    cr_assert_eq(kc_ep_label_index(o1, keys, 0), 0);
    kc_obj_unref(o1), kc_obj_unref(o2);
    kc_ep_podcache_release(&c);
}
