/* The ReplicaSet controller: the pure rules (pod facts, the scale-down ranking of semantics 1.4,
 * status counts and conditions of 1.5) table-driven, then the controller against a real server
 * in this process (no scheduler, no nodes: tests bind pods and set their status themselves):
 * scale up/down, adoption, release, replacement, ranking, minReadySeconds, ReplicaFailure,
 * overlapping selectors, and the time to create 1,000 pods. */
#include "apiserver/apiserver.h"
#include "client/informer.h"
#include "controllers/replicaset.h"
#include "controllers/framework.h"
#include "controllers/replicaset_int.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <unistd.h>

/* ==== pure rules ============================================================================ */

static kc_obj *pod_obj(const char *json)
{
    kc_err err = KC_ERR_INIT;
    kc_obj *o = kc_obj_from_bytes(kc_resource_find("", "v1", "pods"), json, strlen(json), &err);
    cr_assert_not_null(o, "bad pod json: %s: %s", json, err.msg);
    return o;
}

static void facts_of(const char *json, kc_rs_pod *p, kc_obj **keep)
{
    *keep = pod_obj(json);
    json_t *d = kc_obj_parse(*keep);
    kc_rs_pod_facts(*keep, d, p);
    json_decref(d);
}

Test(rs_rules, facts_from_a_pod)
{
    kc_rs_pod p;
    kc_obj *o;
    facts_of("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"uid\":\"u1\",\"creationTimestamp\":\"2024-"
             "01-01T00:00:10Z\","
             "\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"-100\"},"
             "\"ownerReferences\":[{\"apiVersion\":\"apps/"
             "v1\",\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":\"rsu\",\"controller\":true}]},"
             "\"spec\":{\"nodeName\":\"n1\",\"initContainers\":[{\"name\":\"side\",\"restartPolicy\":"
             "\"Always\"},{\"name\":\"init\"}]},"
             "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
             "\"lastTransitionTime\":\"2024-01-01T00:00:20Z\"}],\"containerStatuses\":[{\"name\":\"c\","
             "\"restartCount\":3},"
             "{\"name\":\"d\",\"restartCount\":5}],\"initContainerStatuses\":[{\"name\":\"side\","
             "\"restartCount\":7},"
             "{\"name\":\"init\",\"restartCount\":9}]}}",
             &p, &o);
    cr_assert_str_eq(p.ctrl_uid, "rsu");
    cr_assert(p.active && p.ready && p.scheduled);
    cr_assert_eq(p.phase, 2);
    cr_assert_eq(p.cost, -100);
    cr_assert_eq(p.restarts, 5);
    cr_assert_eq(p.sidecar_restarts, 7, "only restartable init containers count");
    cr_assert_eq(p.ready_ns, (int64_t)1704067220 * 1000000000);
    cr_assert_eq(p.created_ns, (int64_t)1704067210 * 1000000000);
    kc_obj_unref(o);

    static const char *bad_costs[] = {"abc", "2147483648", "1.5", ""};
    for (size_t i = 0; i < sizeof bad_costs / sizeof *bad_costs; i++) {
        char j[512];
        snprintf(
            j, sizeof j,
            "{\"metadata\":{\"name\":\"b\",\"namespace\":\"d\",\"annotations\":"
            "{\"controller.kubernetes.io/pod-deletion-cost\":\"%s\"}},\"status\":{\"phase\":\"Failed\"}}",
            bad_costs[i]);
        facts_of(j, &p, &o);
        cr_assert_eq(p.cost, 0, "invalid cost %s reads as 0", bad_costs[i]);
        cr_assert_not(p.active, "a Failed pod is not active");
        cr_assert_str_eq(p.ctrl_uid, "");
        kc_obj_unref(o);
    }
}

#define S ((int64_t)1000000000)

typedef struct rank_case {
    const char *what;
    kc_rs_pod a, b; /* a must be deleted first */
} rank_case;

Test(rs_rules, ranking_each_rule)
{
    int64_t now = 1000000 * S;
    kc_rs_pod base = {
        .scheduled = true, .phase = 2, .ready = true, .ready_ns = now - 100 * S, .created_ns = now - 200 * S};
    rank_case cases[] = {
        {"unscheduled before scheduled", base, base},
        {"pending before unknown", base, base},
        {"unknown before running", base, base},
        {"not ready before ready", base, base},
        {"lower deletion cost first", base, base},
        {"doubled-up node first", base, base},
        {"more recently ready first (other log2 bucket)", base, base},
        {"zero ready time first", base, base},
        {"more restarts first", base, base},
        {"more sidecar restarts first", base, base},
        {"newer first", base, base},
        {"zero creation time first", base, base},
        {"cost beats rank", base, base},
        {"phase beats readiness", base, base},
    };
    cases[0].a.scheduled = false, cases[0].a.phase = 0, cases[0].b.phase = 0;
    cases[1].a.phase = 0, cases[1].b.phase = 1;
    cases[2].a.phase = 1;
    cases[3].a.ready = false;
    cases[4].a.cost = -100;
    cases[5].a.rank = 2, cases[5].b.rank = 1;
    cases[6].a.ready_ns = now - 10 * S;
    cases[7].a.ready_ns = 0;
    cases[8].a.restarts = 4;
    cases[9].a.sidecar_restarts = 1;
    cases[10].a.created_ns = now - 50 * S;
    cases[11].a.created_ns = 0;
    cases[12].a.cost = -1, cases[12].b.rank = 5;
    cases[13].a.phase = 0, cases[13].b.ready = false;
    kc_obj *ua = pod_obj("{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"uid\":\"bbbb\"}}");
    kc_obj *ub = pod_obj("{\"metadata\":{\"name\":\"b\",\"namespace\":\"d\",\"uid\":\"aaaa\"}}");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cases[i].a.o = ua, cases[i].b.o = ub; /* the UID tie-break would favour b */
        cr_assert(kc_rs_pod_before(&cases[i].a, &cases[i].b, now), "%s", cases[i].what);
        cr_assert_not(kc_rs_pod_before(&cases[i].b, &cases[i].a, now), "%s (reversed)", cases[i].what);
    }
    /* the same log2 bucket: the UID string decides */
    kc_rs_pod a = base, b = base;
    a.o = ua, b.o = ub;
    a.ready_ns = now - 100 * S, b.ready_ns = now - 101 * S;
    cr_assert(kc_rs_pod_before(&b, &a, now), "same bucket: lower UID first");
    /* readiness times only count when both are ready */
    a.ready = b.ready = false;
    a.ready_ns = now - 1 * S;
    cr_assert(!kc_rs_pod_before(&b, &a, now) && !kc_rs_pod_before(&a, &b, now),
              "not ready: ready times ignored, equal creation times: no order");
    kc_obj_unref(ua);
    kc_obj_unref(ub);
}

Test(rs_rules, sort_orders_a_mixed_set)
{
    int64_t now = 1000000 * S;
    kc_obj *o[5];
    kc_rs_pod p[5] = {
        {.scheduled = true, .phase = 2, .ready = true, .ready_ns = now - 1000 * S}, /* 0: oldest ready */
        {.scheduled = false, .phase = 0},                                           /* 1: unscheduled */
        {.scheduled = true, .phase = 2, .ready = true, .ready_ns = now - 5 * S},    /* 2: recently ready */
        {.scheduled = true, .phase = 0},                                            /* 3: pending */
        {.scheduled = true, .phase = 2, .ready = false},                            /* 4: running not ready */
    };
    kc_rs_pod *v[5];
    for (int i = 0; i < 5; i++) {
        char j[128];
        snprintf(j, sizeof j, "{\"metadata\":{\"name\":\"p%d\",\"namespace\":\"d\",\"uid\":\"u%d\"}}", i, i);
        o[i] = pod_obj(j);
        p[i].o = o[i];
        v[i] = &p[i];
    }
    kc_rs_rank_sort(v, 5, now);
    int want[5] = {1, 3, 4, 2, 0};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(v[i] - p, want[i], "position %d: got pod %td", i, v[i] - p);
    for (int i = 0; i < 5; i++)
        kc_obj_unref(o[i]);
}

Test(rs_rules, counts_and_min_ready)
{
    int64_t now_ms = 1000000000;
    kc_obj *full = pod_obj("{\"metadata\":{\"name\":\"f\",\"namespace\":\"d\",\"labels\":{\"a\":\"1\",\"b\":"
                           "\"2\",\"x\":\"y\"}}}");
    kc_obj *part = pod_obj("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"labels\":{\"a\":\"1\"}}}");
    kc_rs_pod p[4] = {
        {.o = full, .ready = true, .ready_ns = (now_ms / 1000 - 100) * S}, /* available */
        {.o = full, .ready = true, .ready_ns = (now_ms / 1000 - 3) * S},   /* 7 s to go */
        {.o = part, .ready = true, .ready_ns = 0}, /* ready, no time: never available */
        {.o = part},                               /* not ready */
    };
    kc_rs_pod *v[4] = {&p[0], &p[1], &p[2], &p[3]};
    json_t *tl = json_pack("{s:s,s:s}", "a", "1", "b", "2");
    kc_rs_counts c;
    kc_rs_count(v, 4, tl, 10, now_ms, &c);
    cr_assert_eq(c.replicas, 4);
    cr_assert_eq(c.fully_labeled, 2, "labels must include every template label");
    cr_assert_eq(c.ready, 3);
    cr_assert_eq(c.available, 1);
    cr_assert(c.next_available_ms > 6900 && c.next_available_ms <= 7100, "next %lld",
              (long long)c.next_available_ms);
    kc_rs_count(v, 4, tl, 0, now_ms, &c);
    cr_assert_eq(c.available, 3, "minReadySeconds 0: ready is available");
    cr_assert_eq(c.next_available_ms, 0);
    json_decref(tl);
    kc_obj_unref(full);
    kc_obj_unref(part);
}

Test(rs_rules, status_document)
{
    kc_rs_counts c = {.replicas = 2, .fully_labeled = 2, .ready = 0, .available = 0};
    json_t *old = json_pack("{s:i,s:i,s:i}", "replicas", 1, "readyReplicas", 1, "observedGeneration", 1);
    json_t *st = kc_rs_status(old, &c, 2, "FailedCreate", "boom");
    cr_assert_eq(json_integer_value(json_object_get(st, "replicas")), 2);
    cr_assert_null(json_object_get(st, "readyReplicas"), "zero counts are omitted");
    cr_assert_eq(json_integer_value(json_object_get(st, "observedGeneration")), 2);
    json_t *cond = json_array_get(json_object_get(st, "conditions"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(cond, "type")), "ReplicaFailure");
    cr_assert_str_eq(json_string_value(json_object_get(cond, "reason")), "FailedCreate");
    cr_assert_str_eq(json_string_value(json_object_get(cond, "message")), "boom");
    cr_assert_not(kc_rs_status_same(old, st, 2));
    cr_assert(kc_rs_status_same(st, st, 2));
    cr_assert_not(kc_rs_status_same(st, st, 3), "a newer generation must be written");
    json_t *again = kc_rs_status(st, &c, 2, "FailedCreate", "other message");
    cr_assert(kc_rs_status_same(st, again, 2), "an existing failure condition is kept as is");
    json_t *ok = kc_rs_status(st, &c, 2, NULL, NULL);
    cr_assert_null(json_object_get(ok, "conditions"), "a successful sync removes the condition");
    cr_assert_not(kc_rs_status_same(st, ok, 2));
    json_t *zero = kc_rs_status(NULL, &(kc_rs_counts){0}, 1, NULL, NULL);
    cr_assert_eq(json_integer_value(json_object_get(zero, "replicas")), 0);
    cr_assert_not_null(json_object_get(zero, "replicas"), "replicas is always written");
    json_decref(old), json_decref(st), json_decref(again), json_decref(ok), json_decref(zero);
}

/* framework.h's kc_obj_controller: its fast path scans the JSON for metadata.ownerReferences. */

Test(rs_rules, controller_ref_scan)
{
    static const struct {
        const char *json, *uid; /* uid NULL: no controller */
    } cases[] = {
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"}}", NULL},
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"ownerReferences\":[{\"kind\":\"ReplicaSet\","
         "\"name\":\"r\","
         "\"uid\":\"u1\",\"controller\":true}]}}",
         "u1"},
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"ownerReferences\":[{\"kind\":\"X\",\"name\":"
         "\"x\",\"uid\":\"u0\"},"
         "{\"kind\":\"ReplicaSet\",\"name\":\"r\",\"uid\":\"u2\",\"controller\":true}]}}",
         "u2"},
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"ownerReferences\":[{\"kind\":\"X\",\"name\":"
         "\"x\",\"uid\":\"u0\","
         "\"controller\":false}]}}",
         NULL},
        /* look-alikes inside strings and nested objects are not the reference */
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"annotations\":{\"k\":\"{"
         "\\\"ownerReferences\\\":[{\\\"uid\\\":"
         "\\\"bad\\\",\\\"controller\\\":true}]}\"}},\"spec\":{\"x\":{\"ownerReferences\":[{\"uid\":\"bad2\","
         "\"controller\":true}]}}}",
         NULL},
        {"{\"spec\":{\"template\":{\"metadata\":{\"ownerReferences\":[{\"uid\":\"bad\",\"controller\":true}]}"
         "}},"
         "\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"labels\":{\"x\":\"}]\\\"\"},\"ownerReferences\":"
         "[{\"kind\":\"ReplicaSet\","
         "\"name\":\"r\",\"uid\":\"u3\",\"controller\":true}]}}",
         "u3"},
        {"{ \"metadata\" : { \"name\" : \"a\" , \"namespace\":\"d\", \"ownerReferences\" : [ { \"kind\" : "
         "\"ReplicaSet\", "
         "\"name\":\"r\", \"uid\" : \"u4\", \"controller\" : true } ] } }",
         "u4"},
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\",\"ownerReferences\":null}}", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        kc_obj *o = pod_obj(cases[i].json);
        char uid[64] = "", kind[64] = "", name[64] = "";
        bool has = kc_obj_controller(o, uid, sizeof uid, kind, sizeof kind, name, sizeof name);
        cr_assert_eq(has, cases[i].uid != NULL, "case %zu", i);
        if (has) {
            cr_assert_str_eq(uid, cases[i].uid, "case %zu", i);
            cr_assert_str_eq(kind, "ReplicaSet", "case %zu", i);
            cr_assert_str_eq(name, "r", "case %zu", i);
        }
        kc_obj_unref(o);
    }
}

/* ==== the controller against a server ======================================================= */

static test_server ts;
static kc_apiserver *srv;
static void *ctl;
static kc_client *C;
static int POD, RS, EV;

static void start(void)
{
    srv = test_server_start(&ts, "rs", false);
    ctl = kc_replicaset_start(kc_apiserver_client(srv, "replicaset-controller"));
    cr_assert_not_null(ctl);
    test_server_serve(&ts);
    C = kc_apiserver_client(srv, "test");
    POD = kc_resource_find("", "v1", "pods");
    RS = kc_resource_find("apps", "v1", "replicasets");
    EV = kc_resource_find("", "v1", "events");
}

static void stop(void)
{
    kc_replicaset_stop(ctl);
    kc_client_free(C);
    test_server_destroy(&ts);
}

/* ---- helpers ---- */

static json_t *owner_ref_of(const kc_obj *pod);
static void format_time(time_t t, char out[32]);

static json_t *rs_doc(const char *name, int replicas, const char *tier, int min_ready, const char *image)
{
    return json_pack("{s:s,s:s,s:{s:s},s:{s:i,s:i,s:{s:{s:s}},s:{s:{s:{s:s}},s:{s:[{s:s,s:s}]}}}}",
                     "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name", name, "spec",
                     "replicas", replicas, "minReadySeconds", min_ready, "selector", "matchLabels", "tier",
                     tier, "template", "metadata", "labels", "tier", tier, "spec", "containers", "name", "c",
                     "image", image);
}

static kc_obj *create_rs(json_t *doc)
{
    kc_obj *o = NULL;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(C, RS, "default", doc, &o, &err), 0, "%s", err.msg);
    json_decref(doc);
    return o;
}

static void create_bare_pod(const char *name, const char *tier)
{
    json_t *d = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind", "Pod",
                          "metadata", "name", name, "labels", "tier", tier, "spec", "containers", "name", "c",
                          "image", "nginx");
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(C, POD, "default", d, NULL, &err), 0, "%s", err.msg);
    json_decref(d);
}

/* Pods of the namespace with label tier (owned by uid when not NULL), active only. */
static size_t pods_of(const char *tier, const char *uid, kc_obj ***out)
{
    char sel[64];
    snprintf(sel, sizeof sel, "tier=%s", tier);
    kc_obj **v;
    size_t n, k = 0;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_list(C, POD, "default", sel, NULL, &v, &n, NULL, &err), 0, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        json_t *ref = owner_ref_of(v[i]);
        const char *cu = json_string_value(json_object_get(ref, "uid")) ?: "";
        bool keep = !v[i]->deleting && (!uid || !strcmp(cu, uid));
        json_decref(ref);
        if (keep)
            v[k++] = v[i];
        else
            kc_obj_unref(v[i]);
    }
    if (out)
        *out = v;
    else
        kc_objv_free(v, k);
    return k;
}

static size_t count_pods(const char *tier, const char *uid)
{
    return pods_of(tier, uid, NULL);
}

static json_t *rs_get(const char *name)
{
    kc_obj *o;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_get(C, RS, "default", name, &o, &err), 0, "%s", err.msg);
    json_t *d = kc_obj_parse(o);
    kc_obj_unref(o);
    return d;
}

static int64_t rs_status_int(const char *name, const char *field)
{
    json_t *d = rs_get(name);
    int64_t v = json_integer_value(json_object_get(json_object_get(d, "status"), field));
    json_decref(d);
    return v;
}

#define WAIT_UNTIL(cond, ms, ...)                                                                            \
    do {                                                                                                     \
        int waited_ = 0;                                                                                     \
        while (!(cond) && waited_ < (ms))                                                                    \
            usleep(10000), waited_ += 10;                                                                    \
        cr_assert((cond), __VA_ARGS__);                                                                      \
    } while (0)

/* Sets phase and the Ready condition (lastTransitionTime ltt, or now) through pods/status. */
static void set_pod_status(const kc_obj *pod, const char *phase, bool ready, const char *ltt)
{
    char now[32], patch[512];
    format_time(time(NULL), now);
    snprintf(patch, sizeof patch,
             "{\"status\":{\"phase\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
             "\"lastTransitionTime\":\"%s\"}]}}",
             phase, ready ? "True" : "False", ltt ? ltt : now);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_patch(C, POD, "default", pod->name, "status", "application/merge-patch+json",
                                 patch, NULL, &err),
                 0, "%s", err.msg);
}

static void bind_pod(const kc_obj *pod, const char *node)
{
    json_t *b =
        json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind", "Binding", "metadata",
                  "name", pod->name, "target", "apiVersion", "v1", "kind", "Node", "name", node);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_post_sub(C, POD, "default", pod->name, "binding", b, &err), 0, "%s", err.msg);
    json_decref(b);
}

static void scale(const char *name, int replicas)
{
    char p[64];
    snprintf(p, sizeof p, "{\"spec\":{\"replicas\":%d}}", replicas);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_patch(C, RS, "default", name, NULL, "application/merge-patch+json", p, NULL, &err),
                 0, "%s", err.msg);
}

static bool pod_exists_active(const char *name)
{
    kc_obj *o = NULL;
    kc_err err = KC_ERR_INIT;
    if (kc_client_get(C, POD, "default", name, &o, &err) < 0) return false;
    bool alive = !o->deleting;
    kc_obj_unref(o);
    return alive;
}

static size_t count_events(const char *reason, const char *needle)
{
    kc_obj **v;
    size_t n, k = 0;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_list(C, EV, "default", NULL, NULL, &v, &n, NULL, &err), 0);
    for (size_t i = 0; i < n; i++) {
        json_t *d = kc_obj_parse(v[i]);
        const char *r = json_string_value(json_object_get(d, "reason")) ?: "";
        const char *m = json_string_value(json_object_get(d, "message")) ?: "";
        if (!strcmp(r, reason) && (!needle || strstr(m, needle))) k++;
        json_decref(d);
    }
    kc_objv_free(v, n);
    return k;
}

/* The controller ownerReference of pod (new reference) or NULL. */
static json_t *owner_ref_of(const kc_obj *pod)
{
    json_t *d = kc_obj_parse(pod), *r, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(d, "metadata"), "ownerReferences"), i,
                       r) if (json_is_true(json_object_get(r, "controller"))) found = json_incref(r);
    json_decref(d);
    return found;
}

static void format_time(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- scenarios ---- */

TestSuite(rs, .init = start, .fini = stop, .timeout = 60);

Test(rs, scale_up_creates_named_owned_pods)
{
    kc_obj *rs = create_rs(rs_doc("frontend", 3, "frontend", 0, "nginx"));
    WAIT_UNTIL(count_pods("frontend", rs->uid) == 3, 10000, "3 pods owned by the RS");
    kc_obj **v;
    size_t n = pods_of("frontend", rs->uid, &v);
    regex_t re;
    cr_assert_eq(regcomp(&re, "^frontend-[bcdfghjklmnpqrstvwxz2456789]{5}$", REG_EXTENDED), 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(regexec(&re, v[i]->name, 0, NULL, 0), 0, "pod name %s", v[i]->name);
        json_t *ref = owner_ref_of(v[i]);
        json_t *want =
            json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "apps/v1", "kind", "ReplicaSet", "name",
                      "frontend", "uid", rs->uid, "controller", 1, "blockOwnerDeletion", 1);
        cr_assert(json_equal(ref, want), "ownerReference of %s", v[i]->name);
        json_decref(ref), json_decref(want);
    }
    regfree(&re);
    kc_objv_free(v, n);
    WAIT_UNTIL(rs_status_int("frontend", "replicas") == 3, 5000, "status.replicas 3");
    cr_assert_eq(rs_status_int("frontend", "fullyLabeledReplicas"), 3);
    cr_assert_eq(rs_status_int("frontend", "observedGeneration"), 1);
    cr_assert_eq(rs_status_int("frontend", "readyReplicas"), 0);
    WAIT_UNTIL(count_events("SuccessfulCreate", "Created pod: frontend-") == 3, 5000,
               "3 SuccessfulCreate events");
    usleep(300000);
    cr_assert_eq(count_pods("frontend", NULL), 3, "nothing more is created");
    kc_obj_unref(rs);
}

Test(rs, ready_status_follows_pods)
{
    kc_obj *rs = create_rs(rs_doc("web", 2, "web", 0, "nginx"));
    WAIT_UNTIL(count_pods("web", rs->uid) == 2, 10000, "2 pods");
    kc_obj **v;
    size_t n = pods_of("web", rs->uid, &v);
    set_pod_status(v[0], "Running", true, NULL);
    WAIT_UNTIL(rs_status_int("web", "readyReplicas") == 1, 5000, "1 ready");
    cr_assert_eq(rs_status_int("web", "availableReplicas"), 1);
    set_pod_status(v[1], "Running", true, NULL);
    WAIT_UNTIL(rs_status_int("web", "availableReplicas") == 2, 5000, "2 available");
    set_pod_status(v[0], "Running", false, NULL);
    WAIT_UNTIL(rs_status_int("web", "readyReplicas") == 1, 5000, "back to 1 ready");
    kc_objv_free(v, n);
    kc_obj_unref(rs);
}

Test(rs, min_ready_seconds_requeues_without_events)
{
    kc_obj *rs = create_rs(rs_doc("slow", 2, "slow", 2, "nginx"));
    WAIT_UNTIL(count_pods("slow", rs->uid) == 2, 10000, "2 pods");
    kc_obj **v;
    size_t n = pods_of("slow", rs->uid, &v);
    for (size_t i = 0; i < n; i++)
        set_pod_status(v[i], "Running", true, NULL);
    WAIT_UNTIL(rs_status_int("slow", "readyReplicas") == 2, 5000, "2 ready");
    cr_assert_eq(rs_status_int("slow", "availableReplicas"), 0, "not available before minReadySeconds");
    WAIT_UNTIL(rs_status_int("slow", "availableReplicas") == 2, 5000, "available after minReadySeconds");
    kc_objv_free(v, n);
    kc_obj_unref(rs);
}

Test(rs, orphans_are_adopted)
{
    create_bare_pod("p1", "adopt");
    kc_obj *rs = create_rs(rs_doc("adopter", 3, "adopt", 0, "nginx"));
    WAIT_UNTIL(count_pods("adopt", rs->uid) == 3, 10000, "p1 adopted + 2 created");
    cr_assert_eq(count_pods("adopt", NULL), 3, "only 2 were created");
    kc_obj *p1;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_get(C, POD, "default", "p1", &p1, &err), 0);
    json_t *ref = owner_ref_of(p1);
    cr_assert_str_eq(json_string_value(json_object_get(ref, "uid")), rs->uid);
    json_decref(ref);
    kc_obj_unref(p1);
    /* make the RS's pods Running and Ready: the next orphan, pending, is the victim */
    kc_obj **v;
    size_t n = pods_of("adopt", rs->uid, &v);
    for (size_t i = 0; i < n; i++)
        set_pod_status(v[i], "Running", true, NULL);
    kc_objv_free(v, n);
    WAIT_UNTIL(rs_status_int("adopter", "readyReplicas") == 3, 5000, "3 ready");
    create_bare_pod("p2", "adopt");
    WAIT_UNTIL(!pod_exists_active("p2"), 10000, "p2 adopted then deleted");
    cr_assert_eq(count_pods("adopt", rs->uid), 3);
    cr_assert(pod_exists_active("p1"));
    WAIT_UNTIL(count_events("SuccessfulDelete", "Deleted pod: p2") == 1, 5000, "SuccessfulDelete event");
    kc_obj_unref(rs);
}

Test(rs, relabelled_pod_is_released_and_replaced)
{
    kc_obj *rs = create_rs(rs_doc("rel", 3, "rel", 0, "nginx"));
    WAIT_UNTIL(count_pods("rel", rs->uid) == 3, 10000, "3 pods");
    kc_obj **v;
    size_t n = pods_of("rel", rs->uid, &v);
    char victim[64];
    snprintf(victim, sizeof victim, "%s", v[0]->name);
    kc_objv_free(v, n);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_patch(C, POD, "default", victim, NULL, "application/merge-patch+json",
                                 "{\"metadata\":{\"labels\":{\"tier\":\"debug\"}}}", NULL, &err),
                 0, "%s", err.msg);
    WAIT_UNTIL(count_pods("debug", NULL) == 1 && count_pods("debug", rs->uid) == 0, 10000, "released");
    WAIT_UNTIL(count_pods("rel", rs->uid) == 3, 10000, "a replacement");
    cr_assert(pod_exists_active(victim), "the released pod keeps running");
    usleep(300000);
    cr_assert_eq(count_pods("debug", rs->uid), 0, "not re-adopted");
    kc_obj_unref(rs);
}

Test(rs, deleted_pod_is_replaced)
{
    kc_obj *rs = create_rs(rs_doc("rep", 2, "rep", 0, "nginx"));
    WAIT_UNTIL(count_pods("rep", rs->uid) == 2, 10000, "2 pods");
    kc_obj **v;
    size_t n = pods_of("rep", rs->uid, &v);
    char gone[64];
    snprintf(gone, sizeof gone, "%s", v[0]->name);
    kc_objv_free(v, n);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_delete(C, POD, "default", gone, NULL, &err), 0, "%s", err.msg);
    WAIT_UNTIL(count_pods("rep", rs->uid) == 2 && !pod_exists_active(gone), 10000, "replaced");
    kc_obj_unref(rs);
}

Test(rs, scale_down_in_ranking_order)
{
    kc_obj *rs = create_rs(rs_doc("rank", 3, "rank", 0, "nginx"));
    WAIT_UNTIL(count_pods("rank", rs->uid) == 3, 10000, "3 pods");
    kc_obj **v;
    size_t n = pods_of("rank", rs->uid, &v);
    /* v[0] stays unscheduled; v[1] bound, running, not ready; v[2] bound, running, ready */
    bind_pod(v[1], "n1");
    bind_pod(v[2], "n2");
    set_pod_status(v[1], "Running", false, NULL);
    set_pod_status(v[2], "Running", true, NULL);
    WAIT_UNTIL(rs_status_int("rank", "readyReplicas") == 1, 5000, "1 ready");
    scale("rank", 2);
    WAIT_UNTIL(!pod_exists_active(v[0]->name), 5000, "the unscheduled pod goes first");
    cr_assert(pod_exists_active(v[1]->name) && pod_exists_active(v[2]->name));
    scale("rank", 1);
    WAIT_UNTIL(!pod_exists_active(v[1]->name), 5000, "then the not-ready one");
    cr_assert(pod_exists_active(v[2]->name));
    usleep(200000);
    cr_assert_eq(count_pods("rank", rs->uid), 1);
    kc_objv_free(v, n);
    kc_obj_unref(rs);
}

Test(rs, deletion_cost_decides_among_equals)
{
    kc_obj *rs = create_rs(rs_doc("cost", 3, "cost", 0, "nginx"));
    WAIT_UNTIL(count_pods("cost", rs->uid) == 3, 10000, "3 pods");
    kc_obj **v;
    size_t n = pods_of("cost", rs->uid, &v);
    static const char *nodes[] = {"n1", "n2", "n3"};
    for (size_t i = 0; i < n; i++) {
        bind_pod(v[i], nodes[i]);
        set_pod_status(v[i], "Running", true, "2024-01-01T00:00:00Z");
    }
    /* the oldest-created pod gets the lowest cost: without it, it would be the last choice */
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(
        kc_client_patch(
            C, POD, "default", v[1]->name, NULL, "application/merge-patch+json",
            "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"-100\"}}}",
            NULL, &err),
        0, "%s", err.msg);
    WAIT_UNTIL(rs_status_int("cost", "readyReplicas") == 3, 5000, "3 ready");
    scale("cost", 2);
    WAIT_UNTIL(!pod_exists_active(v[1]->name), 5000, "the pod with cost -100 is deleted");
    cr_assert(pod_exists_active(v[0]->name) && pod_exists_active(v[2]->name));
    kc_objv_free(v, n);
    kc_obj_unref(rs);
}

Test(rs, doubled_up_nodes_lose_pods_first)
{
    /* two ReplicaSets with the same (fake) Deployment controller */
    json_t *owner = json_pack("[{s:s,s:s,s:s,s:s,s:b}]", "apiVersion", "apps/v1", "kind", "Deployment",
                              "name", "d", "uid", "00000000-0000-0000-0000-0000000000dd", "controller", 1);
    json_t *a = rs_doc("dup-a", 2, "dup", 0, "nginx");
    json_object_set_new(
        json_object_get(json_object_get(json_object_get(a, "spec"), "selector"), "matchLabels"), "v",
        json_string("a"));
    json_object_set_new(json_object_get(json_object_get(json_object_get(a, "spec"), "template"), "metadata"),
                        "labels", json_pack("{s:s,s:s}", "tier", "dup", "v", "a"));
    json_object_set(json_object_get(a, "metadata"), "ownerReferences", owner);
    json_t *b = rs_doc("dup-b", 1, "dup", 0, "nginx");
    json_object_set_new(
        json_object_get(json_object_get(json_object_get(b, "spec"), "selector"), "matchLabels"), "v",
        json_string("b"));
    json_object_set_new(json_object_get(json_object_get(json_object_get(b, "spec"), "template"), "metadata"),
                        "labels", json_pack("{s:s,s:s}", "tier", "dup", "v", "b"));
    json_object_set(json_object_get(b, "metadata"), "ownerReferences", owner);
    json_decref(owner);
    kc_obj *ra = create_rs(a), *rb = create_rs(b);
    WAIT_UNTIL(count_pods("dup", ra->uid) == 2 && count_pods("dup", rb->uid) == 1, 10000, "3 pods");
    kc_obj **va, **vb;
    size_t na = pods_of("dup", ra->uid, &va), nb = pods_of("dup", rb->uid, &vb);
    /* a0 shares n1 with b's pod; a1 is alone on n2; the doubled-up a0 must go */
    bind_pod(va[0], "n1");
    bind_pod(vb[0], "n1");
    bind_pod(va[1], "n2");
    const char *same = "2024-01-01T00:00:00Z";
    set_pod_status(va[0], "Running", true, same);
    set_pod_status(va[1], "Running", true, same);
    set_pod_status(vb[0], "Running", true, same);
    WAIT_UNTIL(rs_status_int("dup-a", "readyReplicas") == 2, 5000, "a ready");
    scale("dup-a", 1);
    WAIT_UNTIL(!pod_exists_active(va[0]->name), 5000, "the pod on the doubled-up node goes");
    cr_assert(pod_exists_active(va[1]->name));
    kc_objv_free(va, na);
    kc_objv_free(vb, nb);
    kc_obj_unref(ra);
    kc_obj_unref(rb);
}

Test(rs, failed_create_sets_replica_failure)
{
    /* a leading space in an image passes template validation but not pod validation */
    kc_obj *rs = create_rs(rs_doc("bad", 2, "bad", 0, " nginx"));
    json_t *d = NULL;
    const char *reason = NULL;
    for (int i = 0; i < 500 && !reason; i++) {
        json_decref(d);
        d = rs_get("bad");
        json_t *c = json_array_get(json_object_get(json_object_get(d, "status"), "conditions"), 0);
        if (c && !strcmp(json_string_value(json_object_get(c, "type")) ?: "", "ReplicaFailure"))
            reason = json_string_value(json_object_get(c, "reason"));
        else
            usleep(10000);
    }
    cr_assert_str_eq(reason ?: "(none)", "FailedCreate");
    json_t *c = json_array_get(json_object_get(json_object_get(d, "status"), "conditions"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(c, "status")), "True");
    cr_assert(
        strstr(json_string_value(json_object_get(c, "message")) ?: "", "leading or trailing whitespace"),
        "message: %s", json_string_value(json_object_get(c, "message")));
    json_decref(d);
    WAIT_UNTIL(count_events("FailedCreate", "Error creating:") >= 1, 5000, "a FailedCreate event");
    cr_assert_eq(count_pods("bad", NULL), 0);
    /* fixing the template clears the condition */
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(
        kc_client_patch(
            C, RS, "default", "bad", NULL, "application/strategic-merge-patch+json",
            "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
            NULL, &err),
        0, "%s", err.msg);
    WAIT_UNTIL(count_pods("bad", rs->uid) == 2, 10000, "pods once fixed");
    d = NULL;
    bool cleared = false;
    for (int i = 0; i < 500 && !cleared; i++) {
        json_decref(d);
        d = rs_get("bad");
        cleared = !json_array_size(json_object_get(json_object_get(d, "status"), "conditions")) &&
                  json_integer_value(json_object_get(json_object_get(d, "status"), "replicas")) == 2;
        if (!cleared) usleep(10000);
    }
    json_decref(d);
    cr_assert(cleared, "ReplicaFailure removed after a successful sync");
    kc_obj_unref(rs);
}

Test(rs, overlapping_selectors_do_not_steal)
{
    kc_obj *a = create_rs(rs_doc("first", 2, "shared", 0, "nginx"));
    WAIT_UNTIL(count_pods("shared", a->uid) == 2, 10000, "first has 2");
    kc_obj *b = create_rs(rs_doc("second", 2, "shared", 0, "nginx"));
    WAIT_UNTIL(count_pods("shared", b->uid) == 2, 10000, "second creates its own 2");
    usleep(300000);
    cr_assert_eq(count_pods("shared", a->uid), 2);
    cr_assert_eq(count_pods("shared", NULL), 4);
    kc_obj_unref(a);
    kc_obj_unref(b);
}

Test(rs, deleting_the_rs_stops_it)
{
    kc_obj *rs = create_rs(rs_doc("gone", 2, "gone", 0, "nginx"));
    WAIT_UNTIL(count_pods("gone", rs->uid) == 2, 10000, "2 pods");
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_delete(C, RS, "default", "gone", NULL, &err), 0, "%s", err.msg);
    kc_obj **v;
    size_t n = pods_of("gone", NULL, &v);
    for (size_t i = 0; i < n; i++)
        kc_client_delete(C, POD, "default", v[i]->name, NULL, &err);
    kc_objv_free(v, n);
    usleep(500000);
    cr_assert_eq(count_pods("gone", NULL), 0, "no RS, no replacement");
    kc_obj_unref(rs);
}

/* Measurement: an RS of 1,000 replicas, from create to status.replicas = 1000. */
Test(rs, thousand_replicas, .timeout = 120)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kc_obj *rs = create_rs(rs_doc("big", 1000, "big", 0, "nginx"));
    int waited = 0;
    while (rs_status_int("big", "replicas") < 1000 && waited < 100000)
        usleep(5000), waited += 5;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert_eq(rs_status_int("big", "replicas"), 1000);
    cr_assert_eq(count_pods("big", rs->uid), 1000);
    fprintf(stderr, "replicaset: 1000 pods created in %.2f s (%.0f pods/s)\n", s, 1000 / s);
    usleep(300000);
    cr_assert_eq(count_pods("big", NULL), 1000, "no extra pod");
    kc_obj_unref(rs);
}
