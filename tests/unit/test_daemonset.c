/* The DaemonSet controller's pure rules (semantics 4.3-4.7), table-driven: node facts, the daemon
 * tolerations and the node pin, toleration matching, node eligibility (nodeSelector, required node
 * affinity with matchExpressions and matchFields, NoSchedule/NoExecute taints), pod facts and
 * ordering, int-or-percent scaling rounded up, the per-node plan of the manage loop (with and
 * without surge), findUpdatedPodsOnNode and the status counts. The controller end to end is in
 * tests/e2e/test_daemonset.py. */
#include "controllers/daemonset_int.h"
#include <criterion/criterion.h>
#include <string.h>

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    cr_assert_not_null(j, "bad json %s: %s", s, e.text);
    return j;
}

static kc_ds_node *node(const char *name, const char *doc)
{
    json_t *d = J(doc);
    kc_ds_node *n = kc_ds_node_new(name, 1, d);
    json_decref(d);
    return n;
}

/* ---- tolerations and the pin ---- */

Test(ds_pod, adds_the_six_daemon_tolerations_once)
{
    json_t *spec = J("{\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
                     "\"effect\":\"NoExecute\",\"tolerationSeconds\":5}]}");
    kc_ds_add_tolerations(spec);
    json_t *tols = json_object_get(spec, "tolerations");
    cr_assert_eq(json_array_size(tols), 6, "the user's unreachable toleration is kept, 5 added");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(tols, 0), "tolerationSeconds")), 5);
    kc_ds_add_tolerations(spec);
    cr_assert_eq(json_array_size(tols), 6, "idempotent");
    for (size_t i = 1; i < 6; i++) {
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tols, i), "operator")), "Exists");
        cr_assert_null(json_object_get(json_array_get(tols, i), "tolerationSeconds"));
    }
    json_decref(spec);
}

Test(ds_pod, host_network_also_tolerates_network_unavailable)
{
    json_t *spec = J("{\"hostNetwork\":true}");
    kc_ds_add_tolerations(spec);
    json_t *tols = json_object_get(spec, "tolerations");
    cr_assert_eq(json_array_size(tols), 7);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tols, 6), "key")),
                     "node.kubernetes.io/network-unavailable");
    json_decref(spec);
}

Test(ds_pod, an_exists_everything_toleration_covers_all)
{
    json_t *spec = J("{\"tolerations\":[{\"operator\":\"Exists\"}]}");
    kc_ds_add_tolerations(spec);
    cr_assert_eq(json_array_size(json_object_get(spec, "tolerations")), 1);
    json_decref(spec);
}

Test(ds_pod, pin_replaces_required_terms_and_keeps_the_rest)
{
    json_t *spec =
        J("{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
          "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}]},"
          "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":1,\"preference\":{}}]},"
          "\"podAntiAffinity\":{}}}");
    kc_ds_pin_node(spec, "n1");
    json_t *want =
        J("{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
          "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
          "\"values\":[\"n1\"]}]}]},"
          "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":1,\"preference\":{}}]},"
          "\"podAntiAffinity\":{}}}");
    cr_assert(json_equal(spec, want));
    json_t *pod = json_pack("{s:O}", "spec", spec);
    cr_assert_str_eq(kc_ds_pod_target(pod), "n1");
    json_object_set_new(spec, "nodeName", json_string("bound"));
    cr_assert_str_eq(kc_ds_pod_target(pod), "bound", "spec.nodeName wins");
    json_decref(pod), json_decref(spec), json_decref(want);
}

Test(ds_pod, no_target_without_a_pin)
{
    json_t *pod = J("{\"spec\":{}}");
    cr_assert_null(kc_ds_pod_target(pod));
    json_decref(pod);
}

/* ---- tolerations vs taints ---- */

Test(ds_taints, toleration_matching)
{
    static const struct {
        const char *tol, *taint;
        bool ok;
    } cases[] = {
        {"{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}", true},
        {"{\"key\":\"k\",\"value\":\"v\"}", "{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoExecute\"}", true},
        {"{\"key\":\"k\",\"value\":\"w\"}", "{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoExecute\"}",
         false},
        {"{\"key\":\"k\",\"operator\":\"Exists\"}",
         "{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoExecute\"}", true},
        {"{\"operator\":\"Exists\"}", "{\"key\":\"x\",\"effect\":\"NoSchedule\"}", true},
        {"{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"k\",\"effect\":\"NoExecute\"}", false},
        {"{\"key\":\"j\",\"operator\":\"Exists\"}", "{\"key\":\"k\",\"effect\":\"NoExecute\"}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *t = J(cases[i].tol), *n = J(cases[i].taint);
        cr_assert_eq(kc_ds_tolerates(t, n), cases[i].ok, "case %zu", i);
        json_decref(t), json_decref(n);
    }
}

/* ---- eligibility ---- */

static void run_on(const char *spec_json, const char *node_json, const char *name, bool run, bool cont)
{
    json_t *spec = J(spec_json);
    kc_ds_add_tolerations(spec);
    kc_ds_node *n = node(name, node_json);
    bool r, c;
    kc_ds_should_run(spec, n, &r, &c);
    cr_assert_eq(r, run, "shouldRun %s on %s", spec_json, node_json);
    cr_assert_eq(c, cont, "shouldContinueRunning %s on %s", spec_json, node_json);
    kc_ds_node_unref(n);
    json_decref(spec);
}

Test(ds_eligible, taints)
{
    run_on("{}", "{}", "n", true, true);
    run_on("{}", "{\"spec\":{\"taints\":[{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}]}}", "n",
           false, true);
    run_on("{}", "{\"spec\":{\"taints\":[{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoExecute\"}]}}", "n",
           false, false);
    run_on("{}", "{\"spec\":{\"taints\":[{\"key\":\"k\",\"effect\":\"PreferNoSchedule\"}]}}", "n", true,
           true);
    /* cordoned: unschedulable taint tolerated; not ready: not-ready NoSchedule is not */
    run_on(
        "{}",
        "{\"spec\":{\"taints\":[{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"}]}}",
        "n", true, true);
    run_on("{}",
           "{\"spec\":{\"taints\":[{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoSchedule\"},"
           "{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoExecute\"}]}}",
           "n", false, true);
    run_on("{\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\"}]}",
           "{\"spec\":{\"taints\":[{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoExecute\"}]}}", "n", true,
           true);
}

Test(ds_eligible, node_selector_affinity_and_node_name)
{
    const char *ssd = "{\"metadata\":{\"labels\":{\"disk\":\"ssd\",\"cores\":\"8\"}}}";
    run_on("{\"nodeSelector\":{\"disk\":\"ssd\"}}", ssd, "n", true, true);
    run_on("{\"nodeSelector\":{\"disk\":\"hdd\"}}", ssd, "n", false, false);
    run_on("{\"nodeName\":\"other\"}", ssd, "n", false, false);
    run_on("{\"nodeName\":\"n\"}", ssd, "n", true, true);
#define REQ(terms)                                                                                           \
    "{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"                   \
    "{\"nodeSelectorTerms\":" terms "}}}}"
    run_on(REQ("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Gt\",\"values\":[\"4\"]}]}]"), ssd,
           "n", true, true);
    run_on(REQ("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Lt\",\"values\":[\"4\"]}]}]"), ssd,
           "n", false, false);
    run_on(REQ("[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}]"), ssd, "n", true,
           true);
    run_on(REQ("[{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"NotIn\",\"values\":[\"ssd\"]}]},"
               "{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n\"]}]}]"),
           ssd, "n", true, true); /* terms are ORed */
    run_on(REQ("[{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"In\",\"values\":[\"ssd\"]}],"
               "\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"m\"]}]}]"),
           ssd, "n", false, false);              /* requirements inside a term are ANDed */
    run_on(REQ("[{}]"), ssd, "n", false, false); /* an empty term matches nothing */
    run_on(REQ("[{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"Bogus\"}]}]"), ssd, "n", false,
           false);
#undef REQ
}

Test(ds_eligible, node_same_ignores_everything_but_labels_and_taints)
{
    kc_ds_node *a = node("n", "{\"metadata\":{\"labels\":{\"a\":\"1\"}},\"status\":{\"x\":1}}");
    kc_ds_node *b = node("n", "{\"metadata\":{\"labels\":{\"a\":\"1\"}},\"status\":{\"x\":2}}");
    kc_ds_node *c = node("n", "{\"metadata\":{\"labels\":{\"a\":\"1\"}},\"spec\":{\"taints\":[{\"key\":\"k\","
                              "\"effect\":\"NoSchedule\"}]}}");
    cr_assert(kc_ds_node_same(a, b));
    cr_assert_not(kc_ds_node_same(a, c));
    kc_ds_node_unref(a), kc_ds_node_unref(b), kc_ds_node_unref(c);
}

/* ---- arithmetic ---- */

Test(ds_math, percentages_round_up)
{
    static const struct {
        const char *v;
        int total, def, want;
    } cases[] = {{"\"10%\"", 5000, 1, 500}, {"\"10%\"", 3, 1, 1}, {"\"34%\"", 3, 1, 2},
                 {"\"0%\"", 3, 1, 0},       {"2", 3, 1, 2},       {"\"x%\"", 3, 7, 7}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *v = J(cases[i].v);
        cr_assert_eq(kc_ds_scaled(v, cases[i].total, cases[i].def), cases[i].want, "%s of %d", cases[i].v,
                     cases[i].total);
        json_decref(v);
    }
    cr_assert_eq(kc_ds_scaled(NULL, 3, 1), 1);
    int s, u;
    json_t *spec = J("{\"updateStrategy\":{\"rollingUpdate\":{\"maxSurge\":0,\"maxUnavailable\":0}}}");
    kc_ds_surge_unavailable(spec, 10, &s, &u);
    cr_assert(s == 0 && u == 1, "both 0: one unavailable");
    json_decref(spec);
    spec = J("{\"updateStrategy\":{\"rollingUpdate\":{\"maxSurge\":\"20%\",\"maxUnavailable\":0}}}");
    kc_ds_surge_unavailable(spec, 11, &s, &u);
    cr_assert(s == 3 && u == 0);
    json_decref(spec);
}

/* ---- pods ---- */

typedef struct fixture {
    kc_obj *o[8];
    kc_ds_pod p[8];
    kc_ds_pod *ptr[8];
    int n;
} fixture;

/* A daemon pod: hash label, phase, ready, created second, ready-since second, bound, deleting. */
static kc_ds_pod *add_pod(fixture *f, const char *hash, const char *phase, bool ready, int created, int since,
                          bool bound, bool deleting)
{
    char js[1024];
    snprintf(js, sizeof js,
             "{\"metadata\":{\"name\":\"p%d\",\"namespace\":\"d\",\"uid\":\"u%d\","
             "\"creationTimestamp\":\"2024-01-01T00:00:%02dZ\",%s"
             "\"labels\":{\"controller-revision-hash\":\"%s\",\"pod-template-generation\":\"1\"},"
             "\"ownerReferences\":[{\"apiVersion\":\"apps/"
             "v1\",\"kind\":\"DaemonSet\",\"name\":\"ds\",\"uid\":\"D\","
             "\"controller\":true}]},"
             "\"spec\":{%s\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
             "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
             "\"values\":[\"n1\"]}]}]}}}},"
             "\"status\":{\"phase\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
             "\"lastTransitionTime\":\"2024-01-01T00:00:%02dZ\"}]}}",
             f->n, f->n, created, deleting ? "\"deletionTimestamp\":\"2024-01-01T00:01:00Z\"," : "", hash,
             bound ? "\"nodeName\":\"n1\"," : "", phase, ready ? "True" : "False", since);
    kc_err err = KC_ERR_INIT;
    kc_obj *o = kc_obj_from_bytes(kc_resource_find("", "v1", "pods"), js, strlen(js), &err);
    cr_assert_not_null(o, "%s", err.msg);
    json_t *d = kc_obj_parse(o);
    kc_ds_pod_facts(o, d, &f->p[f->n]);
    json_decref(d);
    f->o[f->n] = o;
    f->ptr[f->n] = &f->p[f->n];
    return &f->p[f->n++];
}

static void fixture_free(fixture *f)
{
    for (int i = 0; i < f->n; i++)
        kc_obj_unref(f->o[i]);
}

Test(ds_pods, facts_and_availability)
{
    fixture f = {0};
    kc_ds_pod *p = add_pod(&f, "h1", "Running", true, 10, 20, false, false);
    cr_assert_str_eq(p->node, "n1", "the pin names the target of an unbound pod");
    cr_assert_str_eq(p->hash, "h1");
    cr_assert_str_eq(p->gen, "1");
    cr_assert_str_eq(p->ctrl_uid, "D");
    cr_assert(p->ready && !p->bound && !p->deleting && !p->failed);
    int64_t t20 = p->ready_since;
    cr_assert(kc_ds_pod_available(p, 0, t20));
    cr_assert_not(kc_ds_pod_available(p, 5, t20 + 4));
    cr_assert(kc_ds_pod_available(p, 5, t20 + 5));
    cr_assert(kc_ds_pod_updated(p, "h1", NULL));
    cr_assert(kc_ds_pod_updated(p, "h2", "1"), "a matching template generation counts as updated");
    cr_assert_not(kc_ds_pod_updated(p, "h2", "2"));
    fixture_free(&f);
}

Test(ds_pods, order_bound_first_then_oldest)
{
    fixture f = {0};
    add_pod(&f, "h", "Running", true, 30, 30, false, false);
    add_pod(&f, "h", "Running", true, 20, 20, true, false);
    add_pod(&f, "h", "Running", true, 10, 10, false, false);
    kc_ds_sort_pods(f.ptr, 3);
    cr_assert_str_eq(f.ptr[0]->o->name, "p1");
    cr_assert_str_eq(f.ptr[1]->o->name, "p2");
    cr_assert_str_eq(f.ptr[2]->o->name, "p0");
    fixture_free(&f);
}

static kc_ds_slot slot(fixture *f, bool run, bool cont)
{
    kc_ds_sort_pods(f->ptr, (size_t)f->n);
    return (kc_ds_slot){(const kc_ds_node *)1, "n1", f->ptr, (size_t)f->n, run, cont};
}

Test(ds_plan, create_when_missing_delete_when_not_continuing)
{
    fixture f = {0};
    kc_ds_slot s = slot(&f, true, true);
    bool create, failed;
    kc_ds_pod *del[8];
    size_t nd;
    kc_ds_node_plan(&s, "h", NULL, false, 0, 0, false, &create, del, &nd, &failed);
    cr_assert(create && nd == 0);
    add_pod(&f, "h", "Running", true, 10, 10, true, false);
    add_pod(&f, "h", "Running", true, 11, 10, true, true);
    s = slot(&f, false, false);
    kc_ds_node_plan(&s, "h", NULL, false, 0, 0, false, &create, del, &nd, &failed);
    cr_assert(!create && nd == 1 && del[0] == &f.p[0], "the terminating pod is not deleted again");
    s = slot(&f, false, true); /* NoSchedule taint: keeps running, nothing created */
    kc_ds_node_plan(&s, "h", NULL, false, 0, 0, false, &create, del, &nd, &failed);
    cr_assert(!create && nd == 0);
    fixture_free(&f);
}

Test(ds_plan, failed_and_succeeded_pods_and_duplicates)
{
    fixture f = {0};
    add_pod(&f, "h", "Failed", false, 10, 10, true, false);
    add_pod(&f, "h", "Succeeded", false, 11, 10, true, false);
    add_pod(&f, "h", "Running", true, 12, 12, true, false);
    add_pod(&f, "h", "Running", true, 13, 13, true, false);
    kc_ds_slot s = slot(&f, true, true);
    bool create, failed;
    kc_ds_pod *del[8];
    size_t nd;
    kc_ds_node_plan(&s, "h", NULL, false, 0, 0, false, &create, del, &nd, &failed);
    cr_assert(failed && !create);
    cr_assert_eq(nd, 3, "failed, succeeded and the younger duplicate");
    cr_assert(del[0] == &f.p[0] && del[1] == &f.p[1] && del[2] == &f.p[3]);
    kc_ds_node_plan(&s, "h", NULL, false, 0, 0, true, &create, del, &nd, &failed);
    cr_assert(failed && nd == 2, "a failed pod in backoff stays");
    fixture_free(&f);
}

Test(ds_plan, surge_keeps_old_until_new_is_available)
{
    fixture f = {0};
    add_pod(&f, "old", "Running", true, 10, 10, true, false);
    kc_ds_pod *np = add_pod(&f, "new", "Running", false, 20, 20, true, false);
    kc_ds_slot s = slot(&f, true, true);
    bool create, failed;
    kc_ds_pod *del[8];
    size_t nd;
    kc_ds_node_plan(&s, "new", NULL, true, 0, 100, false, &create, del, &nd, &failed);
    cr_assert_eq(nd, 0, "the new pod is not ready yet: both stay");
    np->ready = true;
    kc_ds_node_plan(&s, "new", NULL, true, 30, np->ready_since + 10, false, &create, del, &nd, &failed);
    cr_assert_eq(nd, 0, "ready but not yet available (minReadySeconds 30)");
    kc_ds_node_plan(&s, "new", NULL, true, 30, np->ready_since + 30, false, &create, del, &nd, &failed);
    cr_assert(nd == 1 && del[0] == &f.p[0], "available: the old one goes");
    f.p[0].ready = false;
    np->ready = false;
    kc_ds_node_plan(&s, "new", NULL, true, 0, 0, false, &create, del, &nd, &failed);
    cr_assert(nd == 1 && del[0] == &f.p[0], "an old pod that is not ready goes at once");
    kc_ds_node_plan(&s, "new", NULL, false, 0, 0, false, &create, del, &nd, &failed);
    cr_assert(nd == 1 && del[0] == &f.p[1], "without surge the younger one goes");
    fixture_free(&f);
}

Test(ds_plan, split_old_and_new)
{
    fixture f = {0};
    add_pod(&f, "old", "Running", true, 10, 10, true, false);
    add_pod(&f, "new", "Running", true, 11, 10, true, false);
    add_pod(&f, "new", "Running", true, 12, 10, true, true);
    kc_ds_slot s = slot(&f, true, true);
    kc_ds_pod *np, *op;
    cr_assert(kc_ds_split(&s, "new", NULL, &np, &op));
    cr_assert(np == &f.p[1] && op == &f.p[0], "the terminating new pod is ignored");
    f.p[2].deleting = false;
    cr_assert_not(kc_ds_split(&s, "new", NULL, &np, &op), "two new live pods");
    fixture_free(&f);
}

Test(ds_status, counts_the_oldest_pod_per_node)
{
    fixture f = {0}, g = {0};
    add_pod(&f, "new", "Running", true, 10, 10, true, false);
    add_pod(&f, "old", "Running", false, 20, 10, true, false);
    add_pod(&g, "old", "Running", true, 10, 10, true, false);
    kc_ds_node *n = node("n", "{}");
    kc_ds_slot slots[4] = {
        {n, "a", f.ptr, 2, true, true},  /* desired, current, ready, available, updated */
        {n, "b", g.ptr, 1, false, true}, /* misscheduled */
        {n, "c", NULL, 0, true, true},   /* desired, no pod */
        {NULL, "gone", g.ptr, 1, false, false},
    };
    kc_ds_counts c;
    kc_ds_count(slots, 4, "new", NULL, 0, 0, &c);
    cr_assert_eq(c.desired, 2);
    cr_assert_eq(c.current, 1);
    cr_assert_eq(c.misscheduled, 1);
    cr_assert_eq(c.ready, 1);
    cr_assert_eq(c.available, 1);
    cr_assert_eq(c.updated, 1);
    kc_ds_node_unref(n);
    fixture_free(&f);
    fixture_free(&g);
}
