/* Unit tests for api/ssa: server-side apply (create, re-apply, pruning, conflicts and their exact
 * messages, force, shared ownership, list merges by key and as sets), ownership tracking of
 * ordinary writes, and the field manager details (before-first-apply, the kubectl last-applied
 * upgrade, the Update cap, subresources, typed errors). Expected FieldsV1 documents are the ones
 * kube-apiserver writes for the same requests. */
#include "api/ssa.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T1 "2024-01-01T00:00:00Z"
#define T2 "2024-01-02T00:00:00Z"
#define T3 "2024-01-03T00:00:00Z"

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    cr_assert(v, "bad test JSON <%s>: %s", s, e.text);
    return v;
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static const kc_type *deploy(void)
{
    const kc_type *t = kc_schema_type("apps/v1.Deployment");
    cr_assert(t);
    return t;
}

static const kc_type *pod(void)
{
    const kc_type *t = kc_schema_type("core/v1.Pod");
    cr_assert(t);
    return t;
}

/* A deployment configuration: labels JSON (NULL: none), replicas (< 0: unset), containers JSON. */
static json_t *dcfg(const char *labels, int replicas, const char *containers)
{
    char buf[4096], lab[512] = "", rep[32] = "";
    if (labels) snprintf(lab, sizeof lab, ",\"labels\":%s", labels);
    if (replicas >= 0) snprintf(rep, sizeof rep, "\"replicas\":%d,", replicas);
    snprintf(
        buf, sizeof buf,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":"
        "\"default\"%s},\"spec\":{%s\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{"
        "\"metadata\":"
        "{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":%s}}}}",
        lab, rep, containers);
    return parse(buf);
}

/* Applies and asserts success. */
static json_t *apply_ok(const kc_type *t, json_t *live, json_t *cfg, const char *mgr, bool force,
                        const char *now)
{
    kc_err err = KC_ERR_INIT;
    json_t *out = kc_ssa_apply(t, live, cfg, mgr, force, now, &err);
    cr_assert(out, "apply by %s failed: %s: %s", mgr, kc_reason_name(err.reason), err.msg);
    kc_err_release(&err);
    return out;
}

static json_t *mf(json_t *obj)
{
    return json_object_get(json_object_get(obj, "metadata"), "managedFields");
}

/* The fieldsV1 of manager's entry with operation op, or NULL. */
static json_t *fields_of(json_t *obj, const char *mgr, const char *op)
{
    size_t i;
    json_t *e;
    json_array_foreach(mf(obj), i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "manager")), mgr) &&
            !strcmp(json_string_value(json_object_get(e, "operation")), op))
            return json_object_get(e, "fieldsV1");
    }
    return NULL;
}

static void expect_json(json_t *got, const char *want, const char *what)
{
    json_t *w = parse(want);
    char *g = got ? dump(got) : NULL;
    cr_expect(got && json_equal(got, w), "%s:\n got  %s\n want %s", what, g ? g : "(none)", want);
    free(g);
    json_decref(w);
}

static json_t *get(json_t *obj, const char *path)
{
    char buf[256], *save, *k;
    snprintf(buf, sizeof buf, "%s", path);
    for (k = strtok_r(buf, ".", &save); k && obj; k = strtok_r(NULL, ".", &save))
        obj = json_is_array(obj) ? json_array_get(obj, (size_t)atoi(k)) : json_object_get(obj, k);
    return obj;
}

#define NGINX "[{\"name\":\"nginx\",\"image\":\"nginx:1.25\"}]"

Test(ssa, create_by_apply)
{
    json_t *cfg = dcfg("{\"app\":\"web\"}", 2, NGINX), *cfg0 = json_deep_copy(cfg);
    json_t *obj = apply_ok(deploy(), NULL, cfg, "kubectl", false, T1);
    const char *want =
        "[{\"manager\":\"kubectl\",\"operation\":\"Apply\",\"apiVersion\":\"apps/v1\",\"time\":\"" T1 "\","
        "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},\"f:spec\":{"
        "\"f:replicas\":{},\"f:selector\":{},\"f:template\":{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},"
        "\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"nginx\\\"}\":{\".\":{},\"f:image\":{},\"f:"
        "name\":{}}}}}}}}]";
    char *got = dump(mf(obj));
    cr_expect_str_eq(got, want); /* exact: key order included */
    free(got);
    json_t *plain = json_deep_copy(obj);
    json_object_del(json_object_get(plain, "metadata"), "managedFields");
    cr_expect(json_equal(plain, cfg0), "the created object is the configuration");
    cr_expect(json_equal(cfg, cfg0), "the configuration was modified");
    json_decref(plain), json_decref(obj), json_decref(cfg), json_decref(cfg0);
}

Test(ssa, reapply_same_config_changes_nothing)
{
    json_t *cfg = dcfg("{\"app\":\"web\"}", 2, NGINX);
    json_t *a = apply_ok(deploy(), NULL, cfg, "kubectl", false, T1);
    json_t *a0 = json_deep_copy(a);
    json_t *b = apply_ok(deploy(), a, cfg, "kubectl", false, T2);
    char *bs = dump(b);
    cr_expect(json_equal(a, b), "re-apply changed the object: %s", bs);
    cr_expect_str_eq(json_string_value(get(b, "metadata.managedFields.0.time")), T1, "no-op keeps the time");
    cr_expect(json_equal(a, a0), "the live object was modified");
    free(bs);
    json_decref(a), json_decref(a0), json_decref(b), json_decref(cfg);
}

Test(ssa, apply_without_a_label_removes_it)
{
    json_t *c1 = dcfg("{\"app\":\"web\",\"tier\":\"frontend\"}", 2, NGINX),
           *c2 = dcfg("{\"app\":\"web\"}", 2, NGINX);
    json_t *a = apply_ok(deploy(), NULL, c1, "kubectl", false, T1);
    json_t *b = apply_ok(deploy(), a, c2, "kubectl", false, T2);
    expect_json(get(b, "metadata.labels"), "{\"app\":\"web\"}", "labels");
    expect_json(get(fields_of(b, "kubectl", "Apply"), "f:metadata"), "{\"f:labels\":{\"f:app\":{}}}",
                "owned labels");
    cr_expect_str_eq(json_string_value(get(b, "metadata.managedFields.0.time")), T2);
    /* dropping every label drops the map */
    json_t *c3 = dcfg(NULL, 2, NGINX), *c = apply_ok(deploy(), b, c3, "kubectl", false, T3);
    cr_expect_null(get(c, "metadata.labels"));
    json_decref(a), json_decref(b), json_decref(c), json_decref(c1), json_decref(c2), json_decref(c3);
}

Test(ssa, removed_field_stays_when_another_manager_owns_it)
{
    json_t *c1 = dcfg("{\"app\":\"web\",\"tier\":\"frontend\"}", 2, NGINX),
           *c2 = dcfg("{\"app\":\"web\"}", 2, NGINX);
    json_t *o = parse("{\"apiVersion\":\"apps/"
                      "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
                      "\"labels\":{\"tier\":\"frontend\"}}}");
    json_t *a = apply_ok(deploy(), NULL, c1, "kubectl", false, T1);
    json_t *b = apply_ok(deploy(), a, o, "other", false, T2); /* same value: shared */
    json_t *c = apply_ok(deploy(), b, c2, "kubectl", false, T3);
    expect_json(get(c, "metadata.labels"), "{\"app\":\"web\",\"tier\":\"frontend\"}", "labels");
    expect_json(fields_of(c, "other", "Apply"), "{\"f:metadata\":{\"f:labels\":{\"f:tier\":{}}}}",
                "other's fields");
    json_decref(a), json_decref(b), json_decref(c), json_decref(c1), json_decref(c2), json_decref(o);
}

/* An object created by client-side apply: kubectl-client-side-apply owns everything it set. */
static json_t *csa_created(void)
{
    json_t *obj = dcfg("{\"app\":\"web\"}", 2, NGINX);
    kc_ssa_track_update(deploy(), NULL, obj, "kubectl-client-side-apply", NULL, T1);
    return obj;
}

Test(ssa, conflict_message_is_upstreams)
{
    json_t *live = csa_created(), *live0 = json_deep_copy(live);
    json_t *cfg = dcfg(NULL, 3, NGINX);
    kc_err err = KC_ERR_INIT;
    json_t *out = kc_ssa_apply(deploy(), live, cfg, "mgr", false, T2, &err);
    cr_expect_null(out);
    cr_expect_eq(err.reason, KC_ECONFLICT);
    cr_expect_str_eq(err.msg, "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" "
                              "using apps/v1: .spec.replicas");
    expect_json(err.causes,
                "[{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with "
                "\\\"kubectl-client-side-apply\\\" using apps/v1\","
                "\"field\":\".spec.replicas\"}]",
                "causes");
    cr_expect(json_equal(live, live0), "live was modified");
    kc_err_release(&err);
    json_decref(live), json_decref(live0), json_decref(cfg);
}

Test(ssa, several_conflicts_are_listed_per_manager)
{
    json_t *live = csa_created();
    json_t *cfg = dcfg(NULL, 3, "[{\"name\":\"nginx\",\"image\":\"nginx:1.27\"}]");
    kc_err err = KC_ERR_INIT;
    cr_expect_null(kc_ssa_apply(deploy(), live, cfg, "mgr", false, T2, &err));
    cr_expect_str_eq(
        err.msg,
        "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n"
        "- .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image");
    cr_expect_eq(kc_err_ncauses(&err), 2);
    cr_expect_str_eq(json_string_value(get(err.causes, "1.field")),
                     ".spec.template.spec.containers[name=\"nginx\"].image");
    kc_err_release(&err);
    json_decref(live), json_decref(cfg);
}

Test(ssa, force_takes_the_fields_over)
{
    json_t *live = csa_created(), *cfg = dcfg(NULL, 3, NGINX);
    json_t *out = apply_ok(deploy(), live, cfg, "mgr", true, T2);
    cr_expect_eq(json_integer_value(get(out, "spec.replicas")), 3);
    json_t *csa = fields_of(out, "kubectl-client-side-apply", "Update");
    cr_expect(csa && !get(csa, "f:spec.f:replicas"), "the old owner keeps .spec.replicas");
    cr_expect(get(csa, "f:spec.f:selector") != NULL, "the old owner lost unrelated fields");
    cr_expect_not_null(get(fields_of(out, "mgr", "Apply"), "f:spec.f:replicas"));
    json_decref(live), json_decref(cfg), json_decref(out);
}

Test(ssa, same_value_is_shared_ownership)
{
    json_t *live = csa_created(), *cfg = dcfg(NULL, 2, NGINX);
    json_t *out = apply_ok(deploy(), live, cfg, "mgr", false, T2);
    cr_expect_not_null(get(fields_of(out, "kubectl-client-side-apply", "Update"), "f:spec.f:replicas"));
    cr_expect_not_null(get(fields_of(out, "mgr", "Apply"), "f:spec.f:replicas"));
    /* the object did not change, so the new entry has no time (upstream leaves it unset) */
    cr_expect_null(get(out, "metadata.managedFields.0.time"));
    json_decref(live), json_decref(cfg), json_decref(out);
}

Test(ssa, update_takes_ownership_then_apply_conflicts)
{
    json_t *cfg = dcfg("{\"app\":\"web\"}", 2, NGINX);
    json_t *a = apply_ok(deploy(), NULL, cfg, "kubectl", false, T1);
    json_t *edited = json_deep_copy(a);
    json_object_set_new(json_object_get(edited, "spec"), "replicas", json_integer(5));
    kc_ssa_track_update(deploy(), a, edited, "kubectl-edit", NULL, T2);
    expect_json(fields_of(edited, "kubectl-edit", "Update"), "{\"f:spec\":{\"f:replicas\":{}}}",
                "kubectl-edit's fields");
    cr_expect_null(get(fields_of(edited, "kubectl", "Apply"), "f:spec.f:replicas"));
    cr_expect_str_eq(json_string_value(get(edited, "metadata.managedFields.1.time")), T2);

    kc_err err = KC_ERR_INIT;
    cr_expect_null(kc_ssa_apply(deploy(), edited, cfg, "kubectl", false, T3, &err));
    cr_expect_str_eq(
        err.msg,
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas");
    kc_err_release(&err);
    json_decref(cfg), json_decref(a), json_decref(edited);
}

Test(ssa, containers_merge_by_name)
{
    json_t *c1 = dcfg(NULL, -1, "[{\"name\":\"a\",\"image\":\"a:1\"}]");
    json_t *c2 =
        parse("{\"apiVersion\":\"apps/"
              "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
              "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"b:1\",\"env\":[{"
              "\"name\":\"X\",\"value\":\"1\"}]}]}}}}");
    json_t *c3 = dcfg(NULL, -1, "[{\"name\":\"a\",\"image\":\"a:2\"}]");
    json_t *x = apply_ok(deploy(), NULL, c1, "one", false, T1);
    json_t *y = apply_ok(deploy(), x, c2, "two", false, T2);
    json_t *z = apply_ok(deploy(), y, c3, "one", false, T3);
    expect_json(get(z, "spec.template.spec.containers"),
                "[{\"name\":\"a\",\"image\":\"a:2\"},{\"name\":\"b\",\"image\":\"b:1\",\"env\":[{\"name\":"
                "\"X\",\"value\":\"1\"}]}]",
                "containers");
    expect_json(get(fields_of(z, "two", "Apply"), "f:spec.f:template.f:spec"),
                "{\"f:containers\":{\"k:{\\\"name\\\":\\\"b\\\"}\":{\".\":{},\"f:env\":{\"k:{\\\"name\\\":"
                "\\\"X\\\"}\":"
                "{\".\":{},\"f:name\":{},\"f:value\":{}}},\"f:image\":{},\"f:name\":{}}}}",
                "two's fields");
    /* "one" stops applying container a: only a goes */
    json_t *c4 = dcfg(NULL, -1, "[]"), *w = apply_ok(deploy(), z, c4, "one", false, T3);
    expect_json(get(w, "spec.template.spec.containers"),
                "[{\"name\":\"b\",\"image\":\"b:1\",\"env\":[{\"name\":\"X\",\"value\":\"1\"}]}]",
                "after dropping a");
    json_decref(c1), json_decref(c2), json_decref(c3), json_decref(c4);
    json_decref(x), json_decref(y), json_decref(z), json_decref(w);
}

Test(ssa, ports_key_defaults_protocol)
{
    json_t *cfg = dcfg(
        NULL, -1,
        "[{\"name\":\"a\",\"ports\":[{\"containerPort\":80},{\"containerPort\":53,\"protocol\":\"UDP\"}]}]");
    json_t *o = apply_ok(deploy(), NULL, cfg, "m", false, T1);
    expect_json(
        get(fields_of(o, "m", "Apply"), "f:spec.f:template.f:spec.f:containers.k:{\"name\":\"a\"}.f:ports"),
        "{\"k:{\\\"containerPort\\\":53,\\\"protocol\\\":\\\"UDP\\\"}\":{\".\":{},\"f:containerPort\":{},\"f:"
        "protocol\":{}},"
        "\"k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}}",
        "ports");
    json_decref(cfg), json_decref(o);
}

static json_t *pod_cfg(const char *meta_extra)
{
    char buf[1024];
    snprintf(
        buf, sizeof buf,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"%s}}",
        meta_extra);
    return parse(buf);
}

Test(ssa, finalizers_merge_as_a_set)
{
    json_t *c1 = pod_cfg(",\"finalizers\":[\"example.com/a\"]"),
           *c2 = pod_cfg(",\"finalizers\":[\"example.com/b\"]");
    json_t *c3 = pod_cfg("");
    json_t *x = apply_ok(pod(), NULL, c1, "one", false, T1);
    json_t *y = apply_ok(pod(), x, c2, "two", false, T2);
    expect_json(get(y, "metadata.finalizers"), "[\"example.com/a\",\"example.com/b\"]", "union");
    expect_json(fields_of(y, "one", "Apply"),
                "{\"f:metadata\":{\"f:finalizers\":{\"v:\\\"example.com/a\\\"\":{}}}}", "one's fields");
    json_t *z = apply_ok(pod(), y, c3, "one", false, T3);
    expect_json(get(z, "metadata.finalizers"), "[\"example.com/b\"]", "after one drops its finalizer");
    cr_expect_null(fields_of(z, "one", "Apply"), "an entry that owns nothing is dropped");
    json_decref(c1), json_decref(c2), json_decref(c3), json_decref(x), json_decref(y), json_decref(z);
}

Test(ssa, atomic_lists_are_replaced)
{
    json_t *c1 = dcfg(NULL, -1, "[{\"name\":\"a\",\"args\":[\"x\",\"y\"]}]");
    json_t *c2 = dcfg(NULL, -1, "[{\"name\":\"a\",\"args\":[\"z\"]}]");
    json_t *x = apply_ok(deploy(), NULL, c1, "m", false, T1), *y = apply_ok(deploy(), x, c2, "m", false, T2);
    expect_json(get(y, "spec.template.spec.containers.0.args"), "[\"z\"]", "args");
    cr_expect_not_null(
        get(fields_of(y, "m", "Apply"), "f:spec.f:template.f:spec.f:containers.k:{\"name\":\"a\"}.f:args"));
    json_decref(c1), json_decref(c2), json_decref(x), json_decref(y);
}

Test(ssa, untracked_object_is_first_owned_by_before_first_apply)
{
    json_t *live = dcfg("{\"app\":\"web\"}", 2, NGINX), *cfg = dcfg(NULL, 3, NGINX);
    kc_err err = KC_ERR_INIT;
    cr_expect_null(kc_ssa_apply(deploy(), live, cfg, "m", false, T2, &err));
    cr_expect_str_eq(
        err.msg,
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas");
    kc_err_release(&err);
    json_t *out = apply_ok(deploy(), live, cfg, "m", true, T2);
    cr_expect_not_null(get(fields_of(out, "before-first-apply", "Update"), "f:metadata.f:labels.f:app"));
    json_decref(live), json_decref(cfg), json_decref(out);
}

Test(ssa, kubectl_upgrades_client_side_apply_without_conflicts)
{
    /* kubectl apply (client-side) created it, with the last-applied annotation */
    json_t *live = dcfg("{\"app\":\"web\"}", 2, NGINX), *la = json_deep_copy(live);
    char *las = json_dumps(la, JSON_COMPACT);
    json_object_set_new(json_object_get(live, "metadata"), "annotations",
                        json_pack("{s:s}", "kubectl.kubernetes.io/last-applied-configuration", las));
    kc_ssa_track_update(deploy(), NULL, live, "kubectl-client-side-apply", NULL, T1);
    json_t *cfg = dcfg("{\"app\":\"web\"}", 3, NGINX);
    json_t *out = apply_ok(deploy(), live, cfg, "kubectl", false, T2);
    cr_expect_eq(json_integer_value(get(out, "spec.replicas")), 3);
    const char *ann = json_string_value(json_object_get(get(out, "metadata.annotations"),
                                                        "kubectl.kubernetes.io/last-applied-configuration"));
    cr_expect_str_eq(
        ann,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"labels\":{\"app\":\"web\"},"
        "\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":"
        "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
        "\"containers\":"
        "[{\"image\":\"nginx:1.25\",\"name\":\"nginx\"}]}}}}\n");
    /* another manager name gets the conflict */
    kc_err err = KC_ERR_INIT;
    cr_expect_null(kc_ssa_apply(deploy(), live, cfg, "kubectl-other", false, T2, &err));
    cr_expect_eq(err.reason, KC_ECONFLICT);
    kc_err_release(&err);
    free(las);
    json_decref(live), json_decref(la), json_decref(cfg), json_decref(out);
}

Test(ssa, typed_errors_match_upstream)
{
    static const struct {
        const char *containers, *msg;
    } rows[] = {
        {"[{\"name\":\"a\"},{\"name\":\"a\"}]", "failed to create typed patch object (default/web; apps/v1, "
                                                "Kind=Deployment): .spec.template.spec.containers: "
                                                "duplicate entries for key [name=\"a\"]"},
        {"[{\"image\":\"x\"}]", "failed to create typed patch object (default/web; apps/v1, "
                                "Kind=Deployment): .spec.template.spec.containers: "
                                "element 0: associative list with keys has an element that omits key field "
                                "\"name\" (and doesn't have default value)"},
        {"[{\"name\":\"a\",\"bogus\":1}]",
         "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): "
         ".spec.template.spec.containers[name=\"a\"].bogus: field not declared in schema"},
        {"[{\"name\":\"a\",\"x\":1},{\"name\":\"a\"}]",
         "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): errors:\n"
         "  .spec.template.spec.containers[name=\"a\"].x: field not declared in schema\n"
         "  .spec.template.spec.containers: duplicate entries for key [name=\"a\"]"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        json_t *cfg = dcfg(NULL, -1, rows[i].containers);
        kc_err err = KC_ERR_INIT;
        cr_expect_null(kc_ssa_apply(deploy(), NULL, cfg, "m", false, T1, &err));
        cr_expect_eq(err.reason, KC_EINTERNAL, "row %zu", i);
        cr_expect_str_eq(err.msg, rows[i].msg, "row %zu", i);
        kc_err_release(&err);
        json_decref(cfg);
    }
}

Test(ssa, bad_requests)
{
    json_t *wrong =
        parse("{\"apiVersion\":\"apps/v2\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}}");
    json_t *podcfg = pod_cfg("");
    json_t *withmf = pod_cfg(",\"managedFields\":[]");
    kc_err err = KC_ERR_INIT;
    cr_expect_null(kc_ssa_apply(deploy(), NULL, wrong, "m", false, T1, &err));
    cr_expect_eq(err.reason, KC_EBADREQUEST);
    cr_expect_str_eq(err.msg, "invalid object type: apps/v2, Kind=Deployment");
    kc_err_release(&err);
    cr_expect_null(kc_ssa_apply(deploy(), NULL, podcfg, "m", false, T1, &err));
    cr_expect_str_eq(err.msg, "invalid object type: /v1, Kind=Pod");
    kc_err_release(&err);
    cr_expect_null(kc_ssa_apply(pod(), NULL, withmf, "m", false, T1, &err));
    cr_expect_str_eq(err.msg, "metadata.managedFields must be nil");
    kc_err_release(&err);
    json_decref(wrong), json_decref(podcfg), json_decref(withmf);
}

Test(ssa, status_is_not_applied_on_the_main_resource)
{
    json_t *cfg = parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"status\":{"
                        "\"phase\":\"Running\"}}");
    json_t *o = apply_ok(pod(), NULL, cfg, "m", false, T1);
    cr_expect_null(json_object_get(o, "status"));
    cr_expect_null(get(fields_of(o, "m", "Apply"), "f:status"));
    json_decref(cfg), json_decref(o);
}

Test(ssa, status_writes_get_their_own_entry)
{
    json_t *p = pod_cfg(",\"labels\":{\"a\":\"b\"}");
    kc_ssa_track_update(pod(), NULL, p, "kubectl", NULL, T1);
    json_t *q = json_deep_copy(p);
    json_object_set_new(q, "status", parse("{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\"}"));
    kc_ssa_track_update(pod(), p, q, "kubelet", "status", T2);
    json_t *e = get(q, "metadata.managedFields.1");
    cr_expect_str_eq(json_string_value(json_object_get(e, "manager")), "kubelet");
    cr_expect_str_eq(json_string_value(json_object_get(e, "subresource")), "status");
    expect_json(json_object_get(e, "fieldsV1"), "{\"f:status\":{\"f:phase\":{},\"f:podIP\":{}}}",
                "kubelet's fields");
    /* status changes through the main resource are not tracked */
    json_t *r = json_deep_copy(q);
    json_object_set_new(json_object_get(r, "status"), "phase", json_string("Failed"));
    kc_ssa_track_update(pod(), q, r, "someone", NULL, T3);
    cr_expect_null(fields_of(r, "someone", "Update"));
    json_decref(p), json_decref(q), json_decref(r);
}

Test(ssa, create_tracks_every_set_field)
{
    json_t *p = pod_cfg(",\"labels\":{\"a\":\"b\"}");
    json_object_set_new(p, "spec",
                        parse("{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{}}],"
                              "\"restartPolicy\":\"Always\",\"securityContext\":{}}"));
    kc_ssa_track_update(pod(), NULL, p, "kubectl-create", NULL, T1);
    expect_json(
        mf(p),
        "[{\"manager\":\"kubectl-create\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"" T1 "\","
        "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:a\":{}}},\"f:"
        "spec\":{"
        "\"f:containers\":{\"k:{\\\"name\\\":\\\"c\\\"}\":{\".\":{},\"f:image\":{},\"f:name\":{},\"f:"
        "resources\":{}}},"
        "\"f:restartPolicy\":{},\"f:securityContext\":{}}}}]",
        "kubectl-create entry");
    json_decref(p);
}

Test(ssa, updates_of_untracked_objects_stay_untracked)
{
    json_t *old = pod_cfg(""), *p = pod_cfg(",\"labels\":{\"a\":\"b\"}");
    kc_ssa_track_update(pod(), old, p, "m", NULL, T1);
    cr_expect_null(mf(p));
    /* and [] resets tracking */
    json_t *q = pod_cfg(",\"labels\":{\"a\":\"b\"}");
    kc_ssa_track_update(pod(), NULL, q, "m", NULL, T1);
    cr_expect_not_null(mf(q));
    json_t *r = json_deep_copy(q);
    json_object_set_new(json_object_get(r, "metadata"), "managedFields", json_array());
    kc_ssa_track_update(pod(), q, r, "m", NULL, T2);
    cr_expect_null(mf(r));
    json_decref(old), json_decref(p), json_decref(q), json_decref(r);
}

Test(ssa, at_most_ten_update_entries)
{
    json_t *cur = pod_cfg(",\"labels\":{\"base\":\"v\"}");
    kc_ssa_track_update(pod(), NULL, cur, "creator", NULL, "2024-01-01T00:00:00Z");
    for (int i = 0; i < 11; i++) {
        json_t *next = json_deep_copy(cur);
        char key[16], mgr[16], now[32];
        snprintf(key, sizeof key, "k%d", i), snprintf(mgr, sizeof mgr, "m%02d", i);
        snprintf(now, sizeof now, "2024-01-01T00:00:%02dZ", i + 1);
        json_object_set_new(get(next, "metadata.labels"), key, json_string("v"));
        kc_ssa_track_update(pod(), cur, next, mgr, NULL, now);
        json_decref(cur);
        cur = next;
    }
    cr_expect_eq(json_array_size(mf(cur)), 10);
    json_t *bucket = fields_of(cur, "ancient-changes", "Update");
    expect_json(bucket, "{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:base\":{},\"f:k0\":{},\"f:k1\":{}}}}",
                "ancient-changes");
    cr_expect_str_eq(json_string_value(get(cur, "metadata.managedFields.0.time")), "2024-01-01T00:00:02Z",
                     "bucket time");
    json_decref(cur);
}

Test(ssa, managed_fields_round_trip_through_live)
{
    /* v: and k: keys written by someone else decode and survive an unrelated apply */
    json_t *live = pod_cfg(",\"finalizers\":[\"x\"]");
    json_object_set_new(
        json_object_get(live, "metadata"), "managedFields",
        parse("[{\"manager\":\"a\",\"operation\":\"Apply\",\"apiVersion\":\"v1\",\"time\":\"" T1 "\","
              "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:finalizers\":{\"v:\\\"x\\\"\":{}"
              "}},"
              "\"f:zz\":{\"x:unknown\":{}}}}]"));
    json_t *cfg = pod_cfg(",\"labels\":{\"l\":\"1\"}");
    json_t *out = apply_ok(pod(), live, cfg, "b", false, T2);
    expect_json(fields_of(out, "a", "Apply"),
                "{\"f:metadata\":{\"f:finalizers\":{\"v:\\\"x\\\"\":{}}},\"f:zz\":{}}", "a's fields");
    expect_json(get(out, "metadata.finalizers"), "[\"x\"]", "finalizers");
    json_decref(live), json_decref(cfg), json_decref(out);
}

Test(ssa, broken_live_managed_fields_fail_apply)
{
    json_t *live = pod_cfg(",\"managedFields\":[{\"manager\":\"a\",\"operation\":\"Bogus\",\"apiVersion\":"
                           "\"v1\",\"fieldsType\":\"FieldsV1\"}]");
    json_t *cfg = pod_cfg("");
    kc_err err = KC_ERR_INIT;
    cr_expect_null(kc_ssa_apply(pod(), live, cfg, "m", false, T1, &err));
    cr_expect_eq(err.reason, KC_EINTERNAL);
    cr_expect_str_eq(err.msg, "failed to decode managed fields: operation must be `Apply` or `Update`");
    kc_err_release(&err);
    json_decref(live), json_decref(cfg);
}

Test(ssa, conflicts_with_appliers_and_subresources_print_like_upstream)
{
    json_t *cfg = dcfg(NULL, 2, NGINX), *cfg3 = dcfg(NULL, 3, NGINX);
    json_t *a = apply_ok(deploy(), NULL, cfg, "one", false, T1);
    kc_err err = KC_ERR_INIT;
    cr_expect_null(kc_ssa_apply(deploy(), a, cfg3, "two", false, T2, &err));
    cr_expect_str_eq(err.msg, "Apply failed with 1 conflict: conflict with \"one\": .spec.replicas");
    kc_err_release(&err);

    json_t *st =
        parse("{\"apiVersion\":\"apps/"
              "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
              "\"spec\":{\"replicas\":9},\"status\":{\"replicas\":2}}");
    json_t *b = NULL;
    b = kc_ssa_apply_subresource(deploy(), a, st, "ctrl", "status", false, T2, &err);
    cr_assert(b, "status apply failed: %s", err.msg);
    cr_expect_eq(json_integer_value(get(b, "spec.replicas")), 2, "spec is not applied through /status");
    cr_expect_eq(json_integer_value(get(b, "status.replicas")), 2);
    json_t *e = get(b, "metadata.managedFields.1");
    cr_expect_str_eq(json_string_value(json_object_get(e, "subresource")), "status");
    expect_json(json_object_get(e, "fieldsV1"), "{\"f:status\":{\"f:replicas\":{}}}", "ctrl's fields");

    json_t *st2 =
        parse("{\"apiVersion\":\"apps/"
              "v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
              "\"status\":{\"replicas\":3}}");
    cr_expect_null(kc_ssa_apply_subresource(deploy(), b, st2, "ctrl2", "status", false, T3, &err));
    cr_expect_str_eq(
        err.msg,
        "Apply failed with 1 conflict: conflict with \"ctrl\" with subresource \"status\": .status.replicas");
    kc_err_release(&err);
    json_decref(cfg), json_decref(cfg3), json_decref(a), json_decref(b), json_decref(st), json_decref(st2);
}
