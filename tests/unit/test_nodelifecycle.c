/* Node lifecycle: the decisions as pure functions, table by table (heartbeats and grace,
 * Unknown conditions, condition taints, toleration matching, eviction deadlines, time parsing),
 * then the controller against an in-process server with a 1 s grace period. */
#include "apiserver/apiserver.h"
#include "client/client.h"
#include "controllers/nodelifecycle.h"
#include "controllers/nodelifecycle_policy.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    cr_assert_not_null(j, "bad test JSON: %s: %s", s, e.text);
    return j;
}

/* ---- heartbeats ---- */

Test(policy, observe_grace)
{
    /* One node seen over time; grace 50 s, startup 60 s. Each step: a look at now -> overdue? */
    static const struct {
        const char *hb, *renew;
        int64_t age_ms, now_ms;
        bool overdue;
        const char *why;
    } steps[] = {
        {"t0", "r0", 0, 1000, false, "first sight starts the clock"},
        {"t0", "r0", 0, 51000, false, "exactly the grace period is not overdue"},
        {"t0", "r0", 0, 51001, true, "nothing advanced for more than 50 s"},
        {"t0", "r1", 0, 52000, false, "the lease renewed"},
        {"t0", "r1", 0, 100000, false, "48 s later"},
        {"t0", "r1", 0, 102500, true, "50.5 s without a change"},
        {"t1", "r1", 0, 103000, false, "the Ready heartbeat advanced"},
        {"t1", NULL, 0, 104000, false, "the lease went away: a change, counts as a look"},
        {"t1", NULL, 0, 154001, true, "no lease, no heartbeat"},
    };
    kc_nodelc_health h = {0};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        kc_nodelc_look l = {steps[i].hb, steps[i].renew, steps[i].age_ms};
        cr_expect_eq(kc_nodelc_observe(&h, &l, steps[i].now_ms, 50000, 60000), steps[i].overdue,
                     "step %zu: %s", i, steps[i].why);
    }
}

Test(policy, observe_startup_grace)
{
    static const struct {
        const char *hb, *renew;
        int64_t age_ms, now_ms;
        bool overdue;
        const char *why;
    } steps[] = {
        {NULL, NULL, 10000, 1000000, false, "never posted: counts from creation (10 s ago)"},
        {NULL, NULL, 0, 1049000, false, "59 s after creation: startup grace is 60 s"},
        {NULL, NULL, 0, 1050001, true, "past 60 s since creation"},
        {NULL, "r0", 0, 1060000, false, "a lease appears"},
        {"t0", "r0", 0, 1070000, false, "a Ready condition appears: the normal grace from now on"},
        {"t0", "r0", 0, 1120001, true, "50 s later"},
    };
    kc_nodelc_health h = {0};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        kc_nodelc_look l = {steps[i].hb, steps[i].renew, steps[i].age_ms};
        cr_expect_eq(kc_nodelc_observe(&h, &l, steps[i].now_ms, 50000, 60000), steps[i].overdue,
                     "step %zu: %s", i, steps[i].why);
    }
    kc_nodelc_health old = {0};
    kc_nodelc_look l = {NULL, NULL, 70000};
    cr_expect(kc_nodelc_observe(&old, &l, 5000000, 50000, 60000),
              "a node created 70 s ago that never posted");
}

/* ---- Unknown conditions ---- */

#define NODE_MD "\"metadata\":{\"name\":\"n\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\"}"
#define COND(t, s, r)                                                                                        \
    "{\"type\":\"" t "\",\"status\":\"" s "\",\"reason\":\"" r "\",\"message\":\"m\","                       \
    "\"lastHeartbeatTime\":\"2024-01-01T00:00:10Z\",\"lastTransitionTime\":\"2024-01-01T00:00:05Z\"}"

Test(policy, unknown_conditions)
{
    static const struct {
        const char *node;
        const char *want; /* "type=status/reason/transition,..." in order, or NULL: no change */
    } t[] = {
        {"{" NODE_MD ",\"status\":{\"conditions\":[" COND("Ready", "True", "KubeletReady") "," COND(
             "MemoryPressure", "False",
             "KubeletHasSufficientMemory") "," COND("DiskPressure", "False",
                                                    "x") "," COND("PIDPressure", "False",
                                                                  "x") "," COND("NetworkUnavailable", "False",
                                                                                "RouteCreated") "]}}",
         "Ready=Unknown/NodeStatusUnknown/NOW,MemoryPressure=Unknown/NodeStatusUnknown/NOW,"
         "DiskPressure=Unknown/NodeStatusUnknown/NOW,PIDPressure=Unknown/NodeStatusUnknown/NOW,"
         "NetworkUnavailable=False/RouteCreated/2024-01-01T00:00:05Z"},
        {"{" NODE_MD ",\"status\":{\"conditions\":[" COND("Ready", "False", "KubeletNotReady") "]}}",
         "Ready=Unknown/NodeStatusUnknown/NOW,MemoryPressure=Unknown/NodeStatusNeverUpdated/NOW,"
         "DiskPressure=Unknown/NodeStatusNeverUpdated/NOW,PIDPressure=Unknown/NodeStatusNeverUpdated/NOW"},
        {"{" NODE_MD ",\"status\":{}}",
         "Ready=Unknown/NodeStatusNeverUpdated/NOW,MemoryPressure=Unknown/NodeStatusNeverUpdated/NOW,"
         "DiskPressure=Unknown/NodeStatusNeverUpdated/NOW,PIDPressure=Unknown/NodeStatusNeverUpdated/NOW"},
        {"{" NODE_MD ",\"status\":{\"conditions\":[" COND("Ready", "Unknown", "NodeStatusUnknown") "," COND(
             "MemoryPressure", "Unknown", "x") "," COND("DiskPressure", "Unknown",
                                                        "x") "," COND("PIDPressure", "Unknown", "x") "]}}",
         NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        json_t *node = J(t[i].node);
        json_t *got = kc_nodelc_unknown_conditions(node, "NOW");
        if (!t[i].want) {
            cr_expect_null(got, "row %zu: already Unknown, nothing to write", i);
        } else {
            char buf[1024] = "";
            size_t k;
            json_t *c;
            json_array_foreach(got, k, c)
            {
                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s=%s/%s/%s", k ? "," : "",
                         json_string_value(json_object_get(c, "type")),
                         json_string_value(json_object_get(c, "status")),
                         json_string_value(json_object_get(c, "reason")),
                         json_string_value(json_object_get(c, "lastTransitionTime")));
            }
            cr_expect_str_eq(buf, t[i].want, "row %zu", i);
        }
        json_decref(got);
        json_decref(node);
    }
}

Test(policy, unknown_condition_details)
{
    json_t *node = J("{" NODE_MD ",\"status\":{\"conditions\":[" COND("Ready", "True", "KubeletReady") "]}}");
    json_t *got = kc_nodelc_unknown_conditions(node, "2024-02-02T00:00:00Z");
    json_t *ready = json_array_get(got, 0), *mem = json_array_get(got, 1);
    cr_expect_str_eq(json_string_value(json_object_get(ready, "message")),
                     "Kubelet stopped posting node status.");
    cr_expect_str_eq(json_string_value(json_object_get(ready, "lastHeartbeatTime")), "2024-01-01T00:00:10Z",
                     "the heartbeat is the kubelet's last one");
    cr_expect_str_eq(json_string_value(json_object_get(mem, "message")), "Kubelet never posted node status.");
    cr_expect_str_eq(json_string_value(json_object_get(mem, "lastHeartbeatTime")), "2024-01-01T00:00:00Z",
                     "a condition never posted beats at creation");
    json_t *orig = json_array_get(json_object_get(json_object_get(node, "status"), "conditions"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(orig, "status")), "True", "the input is not modified");
    json_decref(got);
    json_decref(node);
}

/* ---- condition taints ---- */

#define UNREACH_NS "{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoSchedule\"}"
#define UNREACH_NE(t)                                                                                        \
    "{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\",\"timeAdded\":\"" t "\"}"
#define NOTREADY_NS "{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoSchedule\"}"
#define NOTREADY_NE(t)                                                                                       \
    "{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoExecute\",\"timeAdded\":\"" t "\"}"
#define USER "{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}"
#define C(t, s) "{\"type\":\"" t "\",\"status\":\"" s "\"}"
#define NODE(spec, conds) "{\"spec\":{" spec "},\"status\":{\"conditions\":[" conds "]}}"

Test(policy, taints_follow_conditions)
{
    static const struct {
        const char *node;
        bool allow;
        int flags;
        const char *want; /* the new taints (when changed) */
        const char *why;
    } t[] = {
        {NODE("", C("Ready", "True")), true, 0, NULL, "healthy: nothing"},
        {NODE("", C("Ready", "Unknown")), true, 1, "[" UNREACH_NS "," UNREACH_NE("NOW") "]", "unreachable"},
        {NODE("", C("Ready", "False")), true, 1, "[" NOTREADY_NS "," NOTREADY_NE("NOW") "]", "not ready"},
        {NODE("\"taints\":[" UNREACH_NS "," UNREACH_NE("T0") "]", C("Ready", "Unknown")), true, 0, NULL,
         "already there: timeAdded kept"},
        {NODE("\"taints\":[" USER "," UNREACH_NS "," UNREACH_NE("T0") "]", C("Ready", "True")), true, 1,
         "[" USER "]", "back: controller taints removed, the user's kept"},
        {NODE("\"taints\":[" UNREACH_NS "," UNREACH_NE("T0") "]", C("Ready", "False")), true, 1,
         "[" NOTREADY_NS "," NOTREADY_NE("NOW") "]", "unknown -> false swaps"},
        {NODE("\"taints\":[" UNREACH_NS "," UNREACH_NE("T0") "]", C("Ready", "False")), false, 1,
         "[" NOTREADY_NS "," NOTREADY_NE("NOW") "]", "a swap is not rate limited"},
        {NODE("", C("Ready", "Unknown")), false, 3, "[" UNREACH_NS "]", "rate limited: NoExecute held back"},
        {NODE("", C("Ready", "True") "," C("MemoryPressure", "True") "," C("DiskPressure", "True") "," C(
                      "PIDPressure", "True") "," C("NetworkUnavailable", "True")),
         true, 1,
         "[{\"key\":\"node.kubernetes.io/memory-pressure\",\"effect\":\"NoSchedule\"},"
         "{\"key\":\"node.kubernetes.io/disk-pressure\",\"effect\":\"NoSchedule\"},"
         "{\"key\":\"node.kubernetes.io/pid-pressure\",\"effect\":\"NoSchedule\"},"
         "{\"key\":\"node.kubernetes.io/network-unavailable\",\"effect\":\"NoSchedule\"}]",
         "pressure conditions"},
        {NODE("", C("Ready", "True") "," C("MemoryPressure", "False") "," C("NetworkUnavailable", "Unknown")),
         true, 0, NULL, "False/Unknown pressure: no taint"},
        {NODE("\"unschedulable\":true", C("Ready", "True")), true, 1,
         "[{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"}]", "cordoned"},
        {NODE("\"taints\":[{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"}]",
              C("Ready", "True")),
         true, 1, "[]", "uncordoned"},
        {NODE("\"taints\":[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"PreferNoSchedule\"}]",
              C("Ready", "True")),
         true, 0, NULL, "a managed key with another effect is not ours"},
        {"{\"status\":{}}", true, 0, NULL, "never posted: no Ready taints"},
        {NODE("\"taints\":[" NOTREADY_NS "]", ""), true, 1, "[]",
         "no Ready condition: a not-ready taint goes"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        json_t *node = J(t[i].node), *out = NULL;
        int flags = kc_nodelc_taints(node, "NOW", t[i].allow, &out);
        cr_expect_eq(flags, t[i].flags, "row %zu (%s): flags %d", i, t[i].why, flags);
        if (t[i].want) {
            json_t *want = J(t[i].want);
            char *got = out ? json_dumps(out, JSON_COMPACT) : strdup("NULL");
            cr_expect(out && json_equal(out, want), "row %zu (%s): got %s", i, t[i].why, got);
            free(got);
            json_decref(want);
        } else {
            cr_expect_null(out, "row %zu (%s)", i, t[i].why);
        }
        json_decref(out);
        json_decref(node);
    }
}

/* ---- tolerations and eviction deadlines ---- */

Test(policy, tolerates)
{
    static const struct {
        const char *tol, *taint;
        bool ok;
    } t[] = {
        {"{\"key\":\"k\",\"operator\":\"Exists\"}", "{\"key\":\"k\",\"effect\":\"NoExecute\"}", true},
        {"{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}",
         "{\"key\":\"k\",\"effect\":\"NoExecute\"}", false},
        {"{\"key\":\"k\",\"value\":\"v\"}", "{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoExecute\"}", true},
        {"{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\"}",
         "{\"key\":\"k\",\"value\":\"w\",\"effect\":\"NoExecute\"}", false},
        {"{\"key\":\"k\",\"operator\":\"Equal\"}", "{\"key\":\"k\",\"effect\":\"NoExecute\"}", true},
        {"{\"operator\":\"Exists\"}", "{\"key\":\"anything\",\"value\":\"x\",\"effect\":\"NoExecute\"}",
         true},
        {"{\"operator\":\"Exists\",\"effect\":\"NoExecute\"}", "{\"key\":\"a\",\"effect\":\"NoExecute\"}",
         true},
        {"{\"key\":\"j\",\"operator\":\"Exists\"}", "{\"key\":\"k\",\"effect\":\"NoExecute\"}", false},
        {"{\"key\":\"k\",\"operator\":\"Bogus\"}", "{\"key\":\"k\",\"effect\":\"NoExecute\"}", false},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        json_t *tol = J(t[i].tol), *taint = J(t[i].taint);
        cr_expect_eq(kc_nodelc_tolerates(tol, taint), t[i].ok, "row %zu: %s vs %s", i, t[i].tol, t[i].taint);
        json_decref(tol);
        json_decref(taint);
    }
}

#define T0 1704067200000LL /* 2024-01-01T00:00:00Z */
#define UNR(t) "{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\",\"timeAdded\":\"" t "\"}"
#define TOL_UNR(s)                                                                                           \
    "{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"" s "}"

Test(policy, evict_at)
{
    static const struct {
        const char *tols, *taints;
        int64_t now, want;
        const char *why;
    } t[] = {
        {"[]", "[]", T0, -1, "no taints"},
        {"[]", "[{\"key\":\"x\",\"effect\":\"NoSchedule\"}]", T0, -1, "NoSchedule does not evict"},
        {"[]", "[" UNR("2024-01-01T00:00:00Z") "]", T0 + 5000, T0 + 5000, "untolerated: at once"},
        {"null", "[" UNR("2024-01-01T00:00:00Z") "]", T0, T0, "no tolerations at all"},
        {"[" TOL_UNR("") "]", "[" UNR("2024-01-01T00:00:00Z") "]", T0, -1, "tolerated forever"},
        {"[" TOL_UNR(",\"tolerationSeconds\":300") "]", "[" UNR("2024-01-01T00:00:00Z") "]", T0 + 1000,
         T0 + 300999, "300 s after timeAdded (the end of its second)"},
        {"[" TOL_UNR(",\"tolerationSeconds\":2") "]", "[" UNR("2024-01-01T00:00:10Z") "]", T0 + 20000,
         T0 + 12999, "overdue: the time is in the past (evict now)"},
        {"[" TOL_UNR(",\"tolerationSeconds\":-5") "]", "[" UNR("2024-01-01T00:00:00Z") "]", T0 + 9, T0 + 999,
         "negative counts as 0"},
        {"[" TOL_UNR(",\"tolerationSeconds\":30") "," TOL_UNR(",\"tolerationSeconds\":10") "," TOL_UNR(
             "") "]",
         "[" UNR("2024-01-01T00:00:00.250Z") "]", T0, T0 + 10250,
         "the smallest matching tolerationSeconds wins"},
        {"[" TOL_UNR(",\"tolerationSeconds\":60") "]",
         "[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\"}]", T0 + 7, T0 + 60007,
         "no timeAdded: counts from now"},
        {"[" TOL_UNR(",\"tolerationSeconds\":60") "]",
         "[" UNR("2024-01-01T00:00:00Z") ",{\"key\":\"other\",\"effect\":\"NoExecute\"}]", T0, T0,
         "a second, untolerated NoExecute taint"},
        {"[" TOL_UNR(",\"tolerationSeconds\":60") ",{\"key\":\"other\",\"operator\":\"Exists\","
                                                  "\"tolerationSeconds\":5}]",
         "[" UNR("2024-01-01T00:00:00Z") ",{\"key\":\"other\",\"effect\":\"NoExecute\",\"timeAdded\":\"2024-"
                                         "01-01T00:01:00Z\"}]",
         T0, T0 + 60999, "earliest deadline over taints (60 s vs 60+5 s)"},
        {"[{\"operator\":\"Exists\"}]",
         "[" UNR("2024-01-01T00:00:00Z") ",{\"key\":\"z\",\"effect\":\"NoExecute\"}]", T0, -1,
         "tolerate-everything (DaemonSet style)"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        json_t *tols = J(t[i].tols), *taints = J(t[i].taints);
        int64_t got = kc_nodelc_evict_at(tols, taints, t[i].now);
        cr_expect_eq(got, t[i].want, "row %zu (%s): got %lld", i, t[i].why, (long long)got);
        json_decref(tols);
        json_decref(taints);
    }
}

Test(policy, parse_time)
{
    static const struct {
        const char *s;
        int64_t ms;
    } t[] = {{"2024-01-01T00:00:00Z", T0},
             {"2024-01-01T00:00:01.5Z", T0 + 1500},
             {"2024-01-01T00:00:01.123456Z", T0 + 1123},
             {"2024-01-01T02:00:00+02:00", T0},
             {"2023-12-31T23:00:00-01:00", T0},
             {"2024-01-01", -1},
             {"2024-01-01T00:00:00", -1},
             {"", -1},
             {NULL, -1}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        cr_expect_eq(kc_nodelc_parse_time(t[i].s), t[i].ms, "%s", t[i].s ? t[i].s : "NULL");
}

/* ---- the controller against an in-process server ---- */

static test_server ts;
static kc_apiserver *srv;
static int NODE, POD, LEASE;

static void start(void)
{
    srv = test_server_start(&ts, "nlc", true);
    NODE = kc_resource_find("", "v1", "nodes");
    POD = kc_resource_find("", "v1", "pods");
    LEASE = kc_resource_find("coordination.k8s.io", "v1", "leases");
    setenv("KUBEC_NODE_MONITOR_PERIOD_MS", "100", 1);
}

static void stop(void)
{
    test_server_destroy(&ts);
}

TestSuite(lifecycle, .init = start, .fini = stop, .timeout = 60);

static void now_str(char out[40], bool micro)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro)
        snprintf(out + strlen(out), 20, ".%06ldZ", ts.tv_nsec / 1000);
    else
        strcat(out, "Z");
}

static void create(kc_client *c, int res, const char *ns, const char *json)
{
    json_t *doc = J(json);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(c, res, ns, doc, NULL, &err), 0, "%s: %s", json, err.msg);
    json_decref(doc);
}

static void create_node(kc_client *c, const char *name)
{
    char now[40], buf[2048];
    now_str(now, false);
    snprintf(
        buf, sizeof buf,
        "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\"},\"status\":{\"nodeInfo\":{"
        "\"machineID\":\"m\",\"systemUUID\":\"s\",\"bootID\":\"b\",\"kernelVersion\":\"6\",\"osImage\":\"o\","
        "\"containerRuntimeVersion\":\"sim://"
        "1\",\"kubeletVersion\":\"v1.32.0\",\"kubeProxyVersion\":\"v1.32.0\","
        "\"operatingSystem\":\"linux\",\"architecture\":\"amd64\"},\"conditions\":[{\"type\":\"Ready\","
        "\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"kubelet is posting ready status\","
        "\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
        name, now, now);
    create(c, NODE, NULL, buf);
    now_str(now, true);
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":40,\"renewTime\":\"%s\"}}",
             name, name, now);
    create(c, LEASE, "kube-node-lease", buf);
}

static void create_pod(kc_client *c, const char *name, const char *node, const char *tols)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},\"spec\":{\"nodeName\":"
             "\"%s\","
             "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}],\"tolerations\":%s}}",
             name, node, tols);
    create(c, POD, "default", buf);
}

static json_t *get(kc_client *c, int res, const char *ns, const char *name)
{
    kc_obj *o;
    kc_err err = KC_ERR_INIT;
    if (kc_client_get(c, res, ns, name, &o, &err) < 0) {
        kc_err_release(&err);
        return NULL;
    }
    json_t *d = kc_obj_parse(o);
    kc_obj_unref(o);
    return d;
}

static bool node_has_taint(kc_client *c, const char *node, const char *key, const char *effect)
{
    json_t *d = get(c, NODE, NULL, node), *t;
    size_t i;
    bool found = false;
    json_array_foreach(json_object_get(json_object_get(d, "spec"), "taints"), i, t) found |=
        !strcmp(json_string_value(json_object_get(t, "key")), key) &&
        !strcmp(json_string_value(json_object_get(t, "effect")), effect);
    json_decref(d);
    return found;
}

static const char *cond_of(json_t *d, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(d, "status"), "conditions"), i,
                       c) if (!strcmp(json_string_value(json_object_get(c, "type")),
                                      type)) return json_string_value(json_object_get(c, "status"));
    return NULL;
}

/* ms until pred holds (polling every 20 ms), or -1 after limit_ms. */
#define WAIT_MS(limit_ms, pred)                                                                              \
    ({                                                                                                       \
        long _w = -1;                                                                                        \
        for (long _t = 0; _t <= (limit_ms); _t += 20) {                                                      \
            if (pred) {                                                                                      \
                _w = _t;                                                                                     \
                break;                                                                                       \
            }                                                                                                \
            usleep(20 * 1000);                                                                               \
        }                                                                                                    \
        _w;                                                                                                  \
    })

static bool pod_evicted(kc_client *c, const char *name)
{
    json_t *d = get(c, POD, "default", name);
    bool gone = !d || json_object_get(json_object_get(d, "metadata"), "deletionTimestamp");
    json_decref(d);
    return gone;
}

static bool node_cond_is(kc_client *c, const char *node, const char *type, const char *st)
{
    json_t *d = get(c, NODE, NULL, node);
    const char *s = cond_of(d, type);
    bool ok = s && !strcmp(s, st);
    json_decref(d);
    return ok;
}

Test(lifecycle, lost_node_is_tainted_and_its_pods_evicted)
{
    kc_client *c = kc_apiserver_client(srv, "test");
    kc_nodelc_opts o = {1};
    void *ctl = kc_nodelifecycle_start(kc_apiserver_client(srv, "node-lifecycle-controller"), &o);
    create_node(c, "lost");
    create_pod(
        c, "forever", "lost",
        "[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]");
    create_pod(
        c, "brief", "lost",
        "[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\","
        "\"tolerationSeconds\":1}]");
    create_pod(
        c, "zero", "lost",
        "[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\","
        "\"tolerationSeconds\":0}]");
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_patch(
                     c, POD, "default", "forever", "status", "application/strategic-merge-patch+json",
                     "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}", NULL, &err),
                 0, "%s", err.msg);
    usleep(500 * 1000);
    cr_expect(node_cond_is(c, "lost", "Ready", "True"), "within the grace period the node stays Ready");

    long t = WAIT_MS(5000, node_cond_is(c, "lost", "Ready", "Unknown"));
    cr_assert_geq(t, 0, "Ready must go Unknown after the 1 s grace");
    cr_expect(node_cond_is(c, "lost", "MemoryPressure", "Unknown"));
    json_t *n = get(c, NODE, NULL, "lost");
    size_t i;
    json_t *cond;
    json_array_foreach(json_object_get(json_object_get(n, "status"), "conditions"), i,
                       cond) if (!strcmp(json_string_value(json_object_get(cond, "type")), "Ready"))
    {
        cr_expect_str_eq(json_string_value(json_object_get(cond, "reason")), "NodeStatusUnknown");
        cr_expect_str_eq(json_string_value(json_object_get(cond, "message")),
                         "Kubelet stopped posting node status.");
    }
    json_decref(n);
    cr_expect_geq(WAIT_MS(3000, node_has_taint(c, "lost", "node.kubernetes.io/unreachable", "NoExecute")), 0);
    cr_expect(node_has_taint(c, "lost", "node.kubernetes.io/unreachable", "NoSchedule"));
    cr_expect_geq(WAIT_MS(1000, pod_evicted(c, "zero")), 0, "tolerationSeconds 0: evicted at once");
    json_t *z = get(c, POD, "default", "zero");
    if (z)
        cr_expect_str_eq(cond_of(z, "DisruptionTarget"), "True", "DisruptionTarget is set before the delete");
    json_decref(z);
    cr_expect_geq(WAIT_MS(4000, pod_evicted(c, "brief")), 0, "tolerationSeconds 1: evicted soon after");
    json_t *f = NULL;
    cr_expect_geq(WAIT_MS(3000, (json_decref(f), f = get(c, POD, "default", "forever"),
                                 cond_of(f, "Ready") && !strcmp(cond_of(f, "Ready"), "False"))),
                  0, "pods of the lost node get Ready=False");
    json_decref(f);
    cr_expect(!pod_evicted(c, "forever"), "tolerated forever: stays");

    /* The kubelet comes back: lease renewed and Ready posted again. */
    char now[40], patch[256];
    now_str(now, true);
    snprintf(patch, sizeof patch, "{\"spec\":{\"renewTime\":\"%s\"}}", now);
    cr_assert_eq(kc_client_patch(c, LEASE, "kube-node-lease", "lost", NULL, "application/merge-patch+json",
                                 patch, NULL, &err),
                 0, "%s", err.msg);
    now_str(now, false);
    snprintf(
        patch, sizeof patch,
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\","
        "\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
        now, now);
    cr_assert_eq(kc_client_patch(c, NODE, NULL, "lost", "status", "application/strategic-merge-patch+json",
                                 patch, NULL, &err),
                 0, "%s", err.msg);
    cr_expect_geq(
        WAIT_MS(3000, !node_has_taint(c, "lost", "node.kubernetes.io/unreachable", "NoExecute") &&
                          !node_has_taint(c, "lost", "node.kubernetes.io/unreachable", "NoSchedule")),
        0, "taints go when the node is Ready again");
    kc_nodelifecycle_stop(ctl);
    kc_client_free(c);
}

Test(lifecycle, user_taint_and_cordon)
{
    kc_client *c = kc_apiserver_client(srv, "test");
    kc_nodelc_opts o = {30};
    void *ctl = kc_nodelifecycle_start(kc_apiserver_client(srv, "node-lifecycle-controller"), &o);
    create_node(c, "busy");
    create_pod(c, "plain", "busy", "[]");
    create_pod(c, "tolerant", "busy",
               "[{\"key\":\"maint\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]");
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(
        kc_client_patch(c, NODE, NULL, "busy", NULL, "application/merge-patch+json",
                        "{\"spec\":{\"unschedulable\":true,\"taints\":[{\"key\":\"maint\",\"effect\":"
                        "\"NoExecute\"}]}}",
                        NULL, &err),
        0, "%s", err.msg);
    cr_expect_geq(WAIT_MS(3000, node_has_taint(c, "busy", "node.kubernetes.io/unschedulable", "NoSchedule")),
                  0, "cordon gives the unschedulable taint");
    cr_expect_geq(WAIT_MS(3000, pod_evicted(c, "plain")), 0, "an untolerated NoExecute taint evicts at once");
    usleep(300 * 1000);
    cr_expect(!pod_evicted(c, "tolerant"));
    cr_expect(node_has_taint(c, "busy", "maint", "NoExecute"), "the user's taint is kept");
    cr_assert_eq(kc_client_patch(c, NODE, NULL, "busy", NULL, "application/merge-patch+json",
                                 "{\"spec\":{\"unschedulable\":null}}", NULL, &err),
                 0, "%s", err.msg);
    cr_expect_geq(WAIT_MS(3000, !node_has_taint(c, "busy", "node.kubernetes.io/unschedulable", "NoSchedule")),
                  0, "uncordon removes it");
    cr_expect(node_has_taint(c, "busy", "maint", "NoExecute"));
    kc_nodelifecycle_stop(ctl);
    kc_client_free(c);
}
