/* Unit tests for the scheduler: filter and score plugins as pure functions over JSON pods and
 * nodes (table-driven), pod request arithmetic, whole cycles over a cache (inter-pod affinity,
 * topology spread, scoring choices, the unschedulable message with upstream's wording), the
 * percentageOfNodesToScore rule, and the scheduling queue (priority order, backoff, moves). */
#include "scheduler/sched.h"
#include <criterion/criterion.h>
#include <stdio.h>

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    cr_assert(j, "bad json %s: %s", s, e.text);
    return j;
}

/* A pod in namespace ns ("default" when NULL) with labels (JSON object text) and spec. */
static kc_sched_pod *mkpod_ns(const char *ns, const char *name, const char *labels, const char *spec)
{
    char buf[16384];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
             "\"uid\":\"u-%s\",\"labels\":%s},\"spec\":%s}",
             name, ns ? ns : "default", name, labels ? labels : "{}", spec);
    json_t *d = J(buf);
    kc_sched_pod *p = kc_sched_pod_from_json(d);
    json_decref(d);
    return p;
}

static kc_sched_pod *mkpod(const char *name, const char *labels, const char *spec)
{
    return mkpod_ns(NULL, name, labels, spec);
}

/* A node with hostname label plus extra labels (JSON object text), spec and allocatable. */
static kc_sched_node *mknode(const char *name, const char *cpu, const char *mem, const char *labels,
                             const char *spec)
{
    char buf[8192];
    snprintf(
        buf, sizeof buf,
        "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":%s,"
        "\"status\":{\"allocatable\":{\"cpu\":\"%s\",\"memory\":\"%s\",\"pods\":\"110\","
        "\"example.com/gpu\":\"2\"}}}",
        name, labels ? labels : "{}", spec ? spec : "{}", cpu, mem);
    json_t *d = J(buf);
    json_t *l = json_object_get(json_object_get(d, "metadata"), "labels");
    json_object_set_new(l, "kubernetes.io/hostname", json_string(name));
    kc_sched_node *n = kc_sched_node_from_json(d);
    json_decref(d);
    return n;
}

#define C1 "{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]"
#define REQ(cpu, mem)                                                                                        \
    "{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"" cpu           \
    "\",\"memory\":\"" mem "\"}}}]"
#define PORT(port, proto, ip)                                                                                \
    "{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"ports\":[{\"containerPort\":80,\"hostPort\":" port   \
    ",\"protocol\":\"" proto "\",\"hostIP\":\"" ip "\"}]}]"

/* ---- node-local filters ---- */

typedef int (*filter_fn)(const kc_sched_pod *, const kc_sched_node *, kc_sched_status *);

typedef struct fcase {
    const char *name;
    filter_fn fn;
    const char *pod_spec; /* pod spec JSON */
    const char *node_labels, *node_spec;
    const char *existing[3]; /* specs of pods already on the node */
    int code;
    const char *reasons; /* reasons joined with "|" */
} fcase;

static void run_filter_cases(const fcase *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kc_sched_pod *p = mkpod("p", NULL, c[i].pod_spec);
        kc_sched_node *node = mknode("n1", "4", "8Gi", c[i].node_labels, c[i].node_spec);
        kc_sched_pod *ex[3] = {0};
        for (int k = 0; k < 3 && c[i].existing[k]; k++) {
            char name[16];
            snprintf(name, sizeof name, "e%d", k);
            ex[k] = mkpod(name, NULL, c[i].existing[k]);
            kc_sched_node_add_pod(node, ex[k]);
        }
        kc_sched_status st = {0};
        int rc = c[i].fn(p, node, &st);
        cr_assert_eq(rc, c[i].code, "%s: code %d, want %d", c[i].name, rc, c[i].code);
        char got[512] = "";
        for (int k = 0; rc && k < st.n; k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? "|" : "", st.reasons[k]);
        cr_assert_str_eq(got, c[i].reasons ? c[i].reasons : "", "%s", c[i].name);
        for (int k = 0; k < 3; k++)
            kc_sched_pod_free(ex[k]);
        kc_sched_node_free(node);
        kc_sched_pod_free(p);
    }
}

#define UNRES KC_SCHED_UNRESOLVABLE
#define UNSCH KC_SCHED_UNSCHEDULABLE

Test(filters, node_name_unschedulable_taints)
{
    static const fcase c[] = {
        {"nodeName matches", kc_sched_filter_node_name, C1 ",\"nodeName\":\"n1\"}", 0, 0, {0}, 0, 0},
        {"nodeName other",
         kc_sched_filter_node_name,
         C1 ",\"nodeName\":\"n2\"}",
         0,
         0,
         {0},
         UNRES,
         "node(s) didn't match the requested node name"},
        {"no nodeName", kc_sched_filter_node_name, C1 "}", 0, 0, {0}, 0, 0},
        {"cordoned",
         kc_sched_filter_unschedulable,
         C1 "}",
         0,
         "{\"unschedulable\":true}",
         {0},
         UNRES,
         "node(s) were unschedulable"},
        {"cordoned, tolerated",
         kc_sched_filter_unschedulable,
         C1 ",\"tolerations\":[{\"key\":\"node.kubernetes.io/unschedulable\",\"operator\":\"Exists\","
            "\"effect\":\"NoSchedule\"}]}",
         0,
         "{\"unschedulable\":true}",
         {0},
         0,
         0},
        {"not cordoned", kc_sched_filter_unschedulable, C1 "}", 0, "{\"unschedulable\":false}", {0}, 0, 0},
        {"NoSchedule untolerated",
         kc_sched_filter_taints,
         C1 "}",
         0,
         "{\"taints\":[{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}]}",
         {0},
         UNRES,
         "node(s) had untolerated taint(s)"},
        {"NoExecute untolerated",
         kc_sched_filter_taints,
         C1 "}",
         0,
         "{\"taints\":[{\"key\":\"k\",\"effect\":\"NoExecute\"}]}",
         {0},
         UNRES,
         "node(s) had untolerated taint(s)"},
        {"PreferNoSchedule only scores",
         kc_sched_filter_taints,
         C1 "}",
         0,
         "{\"taints\":[{\"key\":\"k\",\"effect\":\"PreferNoSchedule\"}]}",
         {0},
         0,
         0},
        {"Equal toleration",
         kc_sched_filter_taints,
         C1 ",\"tolerations\":[{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\",\"effect\":"
            "\"NoSchedule\"}]}",
         0,
         "{\"taints\":[{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}]}",
         {0},
         0,
         0},
        {"Equal toleration, other value",
         kc_sched_filter_taints,
         C1 ",\"tolerations\":[{\"key\":\"k\",\"value\":\"w\"}]}",
         0,
         "{\"taints\":[{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}]}",
         {0},
         UNRES,
         "node(s) had untolerated taint(s)"},
        {"Exists with empty key tolerates all",
         kc_sched_filter_taints,
         C1 ",\"tolerations\":[{\"operator\":\"Exists\"}]}",
         0,
         "{\"taints\":[{\"key\":\"a\",\"effect\":\"NoSchedule\"},{\"key\":\"b\",\"effect\":\"NoExecute\"}]}",
         {0},
         0,
         0},
        {"effect mismatch",
         kc_sched_filter_taints,
         C1 ",\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]}",
         0,
         "{\"taints\":[{\"key\":\"k\",\"effect\":\"NoSchedule\"}]}",
         {0},
         UNRES,
         "node(s) had untolerated taint(s)"},
    };
    run_filter_cases(c, sizeof c / sizeof *c);
}

#define AFF(terms)                                                                                           \
    C1 ",\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"               \
       "\"nodeSelectorTerms\":" terms "}}}}"
#define NOAFF "node(s) didn't match Pod's node affinity/selector"

Test(filters, node_affinity)
{
    static const fcase c[] = {
        {"nodeSelector match",
         kc_sched_filter_node_affinity,
         C1 ",\"nodeSelector\":{\"disk\":\"ssd\"}}",
         "{\"disk\":\"ssd\"}",
         0,
         {0},
         0,
         0},
        {"nodeSelector mismatch",
         kc_sched_filter_node_affinity,
         C1 ",\"nodeSelector\":{\"disk\":\"ssd\"}}",
         "{\"disk\":\"hdd\"}",
         0,
         {0},
         UNRES,
         NOAFF},
        {"nodeSelector missing label",
         kc_sched_filter_node_affinity,
         C1 ",\"nodeSelector\":{\"disk\":\"ssd\"}}",
         0,
         0,
         {0},
         UNRES,
         NOAFF},
        {"In",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}]"),
         "{\"zone\":\"b\"}",
         0,
         {0},
         0,
         0},
        {"In, no",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]}]}]"),
         "{\"zone\":\"b\"}",
         0,
         {0},
         UNRES,
         NOAFF},
        {"NotIn, label absent",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}]"),
         0,
         0,
         {0},
         0,
         0},
        {"Exists",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}]"),
         "{\"gpu\":\"\"}",
         0,
         {0},
         0,
         0},
        {"DoesNotExist",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}]"),
         "{\"gpu\":\"x\"}",
         0,
         {0},
         UNRES,
         NOAFF},
        {"Gt",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Gt\",\"values\":[\"8\"]}]}]"),
         "{\"cores\":\"16\"}",
         0,
         {0},
         0,
         0},
        {"Lt, not",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Lt\",\"values\":[\"8\"]}]}]"),
         "{\"cores\":\"16\"}",
         0,
         {0},
         UNRES,
         NOAFF},
        {"Gt on a non-number",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Gt\",\"values\":[\"8\"]}]}]"),
         "{\"cores\":\"many\"}",
         0,
         {0},
         UNRES,
         NOAFF},
        {"terms ORed",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"x\"]}]},"
             "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"b\"]}]}]"),
         "{\"zone\":\"b\"}",
         0,
         {0},
         0,
         0},
        {"requirements ANDed",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"b\"]},"
             "{\"key\":\"disk\",\"operator\":\"Exists\"}]}]"),
         "{\"zone\":\"b\"}",
         0,
         {0},
         UNRES,
         NOAFF},
        {"matchFields metadata.name",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n1\"]}]}]"),
         0,
         0,
         {0},
         0,
         0},
        {"matchFields other name",
         kc_sched_filter_node_affinity,
         AFF("[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n2\"]}]}]"),
         0,
         0,
         {0},
         UNRES,
         NOAFF},
        {"empty term matches nothing", kc_sched_filter_node_affinity, AFF("[{}]"), 0, 0, {0}, UNRES, NOAFF},
        {"nodeSelector and affinity both",
         kc_sched_filter_node_affinity,
         C1
         ",\"nodeSelector\":{\"disk\":\"ssd\"},\"affinity\":{\"nodeAffinity\":{"
         "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":"
         "[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]}]}]}}}}",
         "{\"disk\":\"ssd\",\"zone\":\"b\"}",
         0,
         {0},
         UNRES,
         NOAFF},
    };
    run_filter_cases(c, sizeof c / sizeof *c);
}

#define NOPORT "node(s) didn't have free ports for the requested pod ports"

Test(filters, ports_and_resources)
{
    static const fcase c[] = {
        {"same port",
         kc_sched_filter_ports,
         PORT("8080", "TCP", "") "}",
         0,
         0,
         {PORT("8080", "TCP", "") "}"},
         UNSCH,
         NOPORT},
        {"other protocol",
         kc_sched_filter_ports,
         PORT("8080", "UDP", "") "}",
         0,
         0,
         {PORT("8080", "TCP", "") "}"},
         0,
         0},
        {"specific ip vs any",
         kc_sched_filter_ports,
         PORT("8080", "TCP", "10.0.0.1") "}",
         0,
         0,
         {PORT("8080", "TCP", "") "}"},
         UNSCH,
         NOPORT},
        {"two specific ips",
         kc_sched_filter_ports,
         PORT("8080", "TCP", "10.0.0.1") "}",
         0,
         0,
         {PORT("8080", "TCP", "10.0.0.2") "}"},
         0,
         0},
        {"other port",
         kc_sched_filter_ports,
         PORT("8081", "TCP", "") "}",
         0,
         0,
         {PORT("8080", "TCP", "") "}"},
         0,
         0},
        {"fits", kc_sched_filter_fit, REQ("1", "1Gi") "}", 0, 0, {REQ("2", "2Gi") "}"}, 0, 0},
        {"cpu",
         kc_sched_filter_fit,
         REQ("2500m", "1Gi") "}",
         0,
         0,
         {REQ("2", "2Gi") "}"},
         UNSCH,
         "Insufficient cpu"},
        {"cpu and memory",
         kc_sched_filter_fit,
         REQ("3", "7Gi") "}",
         0,
         0,
         {REQ("2", "2Gi") "}"},
         UNSCH,
         "Insufficient cpu|Insufficient memory"},
        {"extended resource",
         kc_sched_filter_fit,
         "{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"example.com/"
         "gpu\":\"3\"}}}]}",
         0,
         0,
         {0},
         UNSCH,
         "Insufficient example.com/gpu"},
        {"zero requests always fit", kc_sched_filter_fit, C1 "}", 0, 0, {REQ("4", "8Gi") "}"}, 0, 0},
        {"init container counts at its peak",
         kc_sched_filter_fit,
         "{\"initContainers\":[{\"name\":\"i\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"3\"}}}]"
         ","
         "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}",
         0,
         0,
         {REQ("2", "1Gi") "}"},
         UNSCH,
         "Insufficient cpu"},
    };
    run_filter_cases(c, sizeof c / sizeof *c);
}

Test(filters, too_many_pods)
{
    json_t *d = J("{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"},"
                  "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"1Gi\",\"pods\":\"1\"}}}");
    kc_sched_node *n = kc_sched_node_from_json(d);
    kc_sched_pod *e = mkpod("e", NULL, C1 "}"), *p = mkpod("p", NULL, REQ("8", "2Gi") "}");
    kc_sched_status st = {0};
    cr_assert_eq(kc_sched_filter_fit(p, n, &st), UNSCH);
    cr_assert_eq(st.n, 2); /* cpu and memory */
    kc_sched_node_add_pod(n, e);
    cr_assert_eq(kc_sched_filter_fit(p, n, &st), UNSCH);
    cr_assert_eq(st.n, 3);
    cr_assert_str_eq(st.reasons[0], "Too many pods");
    kc_sched_node_remove_pod(n, e);
    cr_assert_eq(n->requested.milli_cpu, 0);
    kc_sched_pod_free(e), kc_sched_pod_free(p), kc_sched_node_free(n);
    json_decref(d);
}

/* ---- pod requests ---- */

Test(pod, requests)
{
    static const struct {
        const char *spec;
        int64_t cpu, mem, nz_cpu, nz_mem;
    } c[] = {
        {C1 "}", 0, 0, 100, 200LL << 20},
        {REQ("250m", "64Mi") "}", 250, 64LL << 20, 250, 64LL << 20},
        {"{\"containers\":[{\"name\":\"a\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}},"
         "{\"name\":\"b\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1G\"}}}]"
         "}",
         1500, 1000000000, 1500, 1000000000 + (200LL << 20)},
        /* init 2 cpu vs app 1 cpu: the peak wins */
        {"{\"initContainers\":[{\"name\":\"i\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]"
         ","
         "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}",
         2000, 0, 2000, 200LL << 20},
        /* sidecar 1 + app 1 = 2 vs init (after the sidecar) 1.5 + 1 = 2.5 */
        {"{\"initContainers\":[{\"name\":\"s\",\"image\":\"i\",\"restartPolicy\":\"Always\",\"resources\":{"
         "\"requests\":{\"cpu\":\"1\"}}},{\"name\":\"i\",\"image\":\"i\",\"resources\":{\"requests\":{"
         "\"cpu\":"
         "\"1500m\"}}}],\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":"
         "\"1\"}}}]}",
         2500, 0, 2500, 400LL << 20},
        /* overhead is added */
        {REQ("1", "1Gi") ",\"overhead\":{\"cpu\":\"250m\",\"memory\":\"120Mi\"}}", 1250,
         (1LL << 30) + (120LL << 20), 1250, (1LL << 30) + (120LL << 20)},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        kc_sched_pod *p = mkpod("p", NULL, c[i].spec);
        cr_assert_eq(p->req.milli_cpu, c[i].cpu, "case %zu cpu %ld", i, (long)p->req.milli_cpu);
        cr_assert_eq(p->req.memory, c[i].mem, "case %zu mem %ld", i, (long)p->req.memory);
        cr_assert_eq(p->nonzero.milli_cpu, c[i].nz_cpu, "case %zu nz cpu %ld", i, (long)p->nonzero.milli_cpu);
        cr_assert_eq(p->nonzero.memory, c[i].nz_mem, "case %zu nz mem %ld", i, (long)p->nonzero.memory);
        kc_sched_pod_free(p);
    }
}

Test(pod, parse_fields)
{
    kc_sched_pod *p = mkpod("p", "{\"app\":\"a\"}",
                            C1 ",\"schedulerName\":\"other\",\"priority\":7,\"preemptionPolicy\":\"Never\","
                               "\"schedulingGates\":[{\"name\":\"g\"}]}");
    cr_assert(!p->responsible);
    cr_assert(p->gated);
    cr_assert_eq(p->priority, 7);
    cr_assert(p->preempt_never);
    cr_assert_str_eq(p->node_name, "");
    kc_sched_pod_free(p);
    p = mkpod("q", NULL, C1 ",\"schedulerName\":\"default-scheduler\"}");
    cr_assert(p->responsible && !p->gated && !p->preempt_never);
    kc_sched_pod_free(p);
}

/* ---- scores ---- */

Test(scores, plugins)
{
    kc_sched_node *n = mknode("n", "4", "8Gi", "{\"zone\":\"a\",\"disk\":\"ssd\"}",
                              "{\"taints\":[{\"key\":\"a\",\"effect\":\"PreferNoSchedule\"},"
                              "{\"key\":\"b\",\"effect\":\"PreferNoSchedule\"}]}");
    kc_sched_pod *e = mkpod("e", NULL, REQ("1", "2Gi") "}");
    kc_sched_node_add_pod(n, e);
    static const struct {
        const char *spec;
        int64_t least, balanced, taints, naff;
    } c[] = {
        /* cpu (4-2)/4 = 50, mem (8-4)/8 = 50 -> 50; fractions .5/.5 -> 100 */
        {REQ("1", "2Gi") "}", 50, 100, 2, 0},
        /* non-zero defaults: cpu 1.1 of 4 -> 72, mem 2Gi+200Mi of 8Gi -> 72; balanced on real requests */
        {C1 "}", 72, 100, 2, 0},
        /* cpu 3 of 4 -> 25, mem 3Gi of 8Gi -> 62 -> 43; |.75 - .375|/2 = .1875 -> 81 */
        {REQ("2", "1Gi") ",\"tolerations\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}", 43, 81, 1, 0},
        {C1 ",\"tolerations\":[{\"key\":\"b\",\"operator\":\"Exists\",\"effect\":\"PreferNoSchedule\"},"
            "{\"key\":\"a\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]}",
         72, 100, 1, 0},
        {C1
         ",\"affinity\":{\"nodeAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":["
         "{\"weight\":5,\"preference\":{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
         "\"values\":"
         "[\"a\"]}]}},{\"weight\":3,\"preference\":{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":"
         "\"Exists\"}]}},{\"weight\":11,\"preference\":{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":"
         "\"In\",\"values\":[\"b\"]}]}}]}}}",
         72, 100, 2, 8},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        kc_sched_pod *p = mkpod("p", NULL, c[i].spec);
        cr_assert_eq(kc_sched_score_least_allocated(p, n), c[i].least, "case %zu least %ld", i,
                     (long)kc_sched_score_least_allocated(p, n));
        cr_assert_eq(kc_sched_score_balanced(p, n), c[i].balanced, "case %zu balanced %ld", i,
                     (long)kc_sched_score_balanced(p, n));
        cr_assert_eq(kc_sched_score_taints(p, n), c[i].taints, "case %zu taints", i);
        cr_assert_eq(kc_sched_score_node_affinity(p, n), c[i].naff, "case %zu node affinity", i);
        kc_sched_pod_free(p);
    }
    kc_sched_node_remove_pod(n, e);
    kc_sched_pod_free(e);
    kc_sched_node_free(n);
}

Test(scores, normalize)
{
    int64_t a[] = {0, 2, 4}, b[] = {0, 2, 4}, z[] = {0, 0}, zr[] = {0, 0};
    kc_sched_normalize(a, 3, false);
    kc_sched_normalize(b, 3, true);
    kc_sched_normalize(z, 2, false);
    kc_sched_normalize(zr, 2, true);
    cr_assert(a[0] == 0 && a[1] == 50 && a[2] == 100);
    cr_assert(b[0] == 100 && b[1] == 50 && b[2] == 0);
    cr_assert(z[0] == 0 && zr[0] == 100);
}

Test(cycle, num_feasible_to_find)
{
    static const size_t c[][2] = {{0, 0},      {3, 3},      {99, 99},    {100, 100},   {200, 100},
                                  {1000, 420}, {5000, 500}, {6000, 300}, {20000, 1000}};
    for (size_t i = 0; i < sizeof c / sizeof *c; i++)
        cr_assert_eq(kc_sched_num_feasible_to_find(c[i][0]), c[i][1], "%zu nodes", c[i][0]);
}

/* ---- whole cycles over a cache ---- */

typedef struct world {
    kc_sched_cache *cache;
    kc_sched_ctx ctx;
} world;

static void world_init(world *w)
{
    w->cache = kc_sched_cache_new();
    memset(&w->ctx, 0, sizeof w->ctx);
    w->ctx.cache = w->cache;
    w->ctx.rng = 42;
    w->ctx.post_filter = kc_sched_preempt;
}

static void world_free(world *w)
{
    kc_sched_ctx_release(&w->ctx);
    kc_sched_cache_free(w->cache);
}

static void add_node(world *w, const char *name, const char *cpu, const char *labels, const char *spec)
{
    kc_sched_cache_set_node(w->cache, mknode(name, cpu, "8Gi", labels, spec));
}

/* An existing pod bound to node. */
static void add_pod(world *w, const char *name, const char *labels, const char *spec, const char *node)
{
    char buf[8192];
    size_t n = strlen(spec);
    snprintf(buf, sizeof buf, "%.*s,\"nodeName\":\"%s\"}", (int)(n - 1), spec, node);
    kc_sched_cache_add_pod(w->cache, mkpod(name, labels, buf));
}

/* Schedules a pod: returns the node name (static buffer) or the failure message. */
static const char *schedule(world *w, const char *labels, const char *spec, bool assume)
{
    static char out[2048];
    static int seq;
    char name[32];
    snprintf(name, sizeof name, "new-%d", seq++);
    kc_sched_pod *p = mkpod(name, labels, spec);
    kc_sched_result r;
    kc_sched_schedule(&w->ctx, p, &r);
    snprintf(out, sizeof out, "%s", r.node ? r.node->name : r.message);
    if (r.node && assume)
        kc_sched_cache_assume(w->cache, p, r.node->name);
    else
        kc_sched_pod_free(p);
    free(r.message);
    return out;
}

Test(cycle, messages)
{
    world w;
    world_init(&w);
    cr_assert_str_eq(schedule(&w, NULL, C1 "}", false), "no nodes available to schedule pods");
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        add_node(&w, name, "1", NULL, NULL);
    }
    cr_assert_str_eq(schedule(&w, NULL, REQ("2", "1Gi") "}", false),
                     "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No "
                     "preemption victims found for incoming pod.");
    cr_assert_str_eq(schedule(&w, NULL, REQ("2", "1Gi") ",\"preemptionPolicy\":\"Never\"}", false),
                     "0/3 nodes are available: 3 Insufficient cpu. preemption: not eligible due to "
                     "preemptionPolicy=Never.");
    add_node(&w, "t", "1", NULL, "{\"taints\":[{\"key\":\"k\",\"effect\":\"NoSchedule\"}]}");
    add_node(&w, "c", "1", NULL, "{\"unschedulable\":true}");
    cr_assert_str_eq(
        schedule(&w, NULL, C1 ",\"nodeSelector\":{\"x\":\"y\"}}", false),
        "0/5 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable, 3 "
        "node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 5 "
        "Preemption is not helpful for scheduling.");
    /* resolvable and unresolvable mixed; counts sort as strings ("2 ..." after "1 ...") */
    cr_assert_str_eq(
        schedule(&w, NULL, REQ("2", "1Gi") "}", false),
        "0/5 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable, 3 "
        "Insufficient cpu. preemption: 0/5 nodes are available: 2 Preemption is not helpful for "
        "scheduling, 3 No preemption victims found for incoming pod.");
    world_free(&w);
}

Test(cycle, preemption_dry_run)
{
    world w;
    world_init(&w);
    add_node(&w, "n0", "2", NULL, NULL);
    add_node(&w, "n1", "2", NULL, NULL);
    add_pod(&w, "low", NULL, REQ("1500m", "1Gi") ",\"priority\":1}", "n0");
    add_pod(&w, "high", NULL, REQ("1500m", "1Gi") ",\"priority\":100}", "n1");
    /* n0's victim would make room: a candidate, nothing is evicted yet and no preemption part */
    cr_assert_str_eq(schedule(&w, NULL, REQ("1", "1Gi") ",\"priority\":10}", false),
                     "0/2 nodes are available: 2 Insufficient cpu.");
    /* too big even without the victim */
    cr_assert_str_eq(schedule(&w, NULL, REQ("3", "1Gi") ",\"priority\":10}", false),
                     "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 1 "
                     "Insufficient cpu, 1 No preemption victims found for incoming pod.");
    /* the dry run put the victims back */
    cr_assert_eq(kc_sched_cache_node(w.cache, "n0")->requested.milli_cpu, 1500);
    world_free(&w);
}

typedef struct preemption {
    char node[32], victims[256];
} preemption;

static void record_preemption(void *ud, const kc_sched_pod *p, const kc_sched_node *node,
                              kc_sched_pod *const *victims, size_t nv)
{
    preemption *pr = ud;
    (void)p;
    snprintf(pr->node, sizeof pr->node, "%s", node->name);
    pr->victims[0] = 0;
    for (size_t i = 0; i < nv; i++)
        snprintf(pr->victims + strlen(pr->victims), sizeof pr->victims - strlen(pr->victims), "%s%s",
                 i ? "," : "", victims[i]->name);
}

Test(cycle, preemption_picks_node_and_fewest_victims)
{
    world w;
    world_init(&w);
    preemption pr = {"", ""};
    w.ctx.preempt = record_preemption;
    w.ctx.preempt_ud = &pr;
    add_node(&w, "n0", "4", NULL, NULL);
    add_node(&w, "n1", "4", NULL, NULL);
    add_pod(&w, "a1", NULL, REQ("1", "1Gi") ",\"priority\":1}", "n0");
    add_pod(&w, "a2", NULL, REQ("1", "1Gi") ",\"priority\":2}", "n0");
    add_pod(&w, "a3", NULL, REQ("1", "1Gi") ",\"priority\":3}", "n0");
    add_pod(&w, "b5", NULL, REQ("3", "1Gi") ",\"priority\":5}", "n1");
    /* n0: evicting a1 alone frees enough (a3, a2 are reprieved); n1 would lose a priority-5 pod */
    cr_assert_str_eq(schedule(&w, NULL, REQ("2", "1Gi") ",\"priority\":10}", false),
                     "0/2 nodes are available: 2 Insufficient cpu.");
    cr_assert_str_eq(pr.node, "n0");
    cr_assert_str_eq(pr.victims, "a1");
    /* needing 3 cpu: n0 loses two pods (lowest first), n1 one pod of priority 5: n0 still wins on
     * the highest victim priority (2 < 5) */
    cr_assert_str_eq(schedule(&w, NULL, REQ("3", "1Gi") ",\"priority\":10}", false),
                     "0/2 nodes are available: 2 Insufficient cpu.");
    cr_assert_str_eq(pr.node, "n0");
    cr_assert_str_eq(pr.victims, "a2,a1");
    cr_assert_eq(kc_sched_cache_node(w.cache, "n0")->npods, 3, "victims stay until deleted");
    /* a higher-priority pod of its own is no victim */
    snprintf(pr.node, sizeof pr.node, "none");
    cr_assert_str_eq(schedule(&w, NULL, REQ("2", "1Gi") ",\"priority\":1}", false),
                     "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No "
                     "preemption victims found for incoming pod.");
    cr_assert_str_eq(pr.node, "none");
    world_free(&w);
}

Test(cycle, nominated_node)
{
    world w;
    world_init(&w);
    add_node(&w, "n0", "4", NULL, NULL);
    add_node(&w, "n1", "4", NULL, NULL);
    add_pod(&w, "busy", NULL, REQ("3", "1Gi") ",\"priority\":1}", "n1");
    /* nominated n1 fits (1 cpu free): taken although n0 is emptier */
    char doc[4096];
    snprintf(doc, sizeof doc, "%s", REQ("500m", "1Gi") ",\"priority\":10}");
    kc_sched_pod *p = mkpod("nom", NULL, doc);
    free(p->nominated);
    p->nominated = strdup("n1");
    kc_sched_result r;
    kc_sched_schedule(&w.ctx, p, &r);
    cr_assert(r.node && !strcmp(r.node->name, "n1"));
    free(r.message);
    /* while a lower-priority pod terminates on the nominated node, no second preemption */
    kc_sched_cache_pod(w.cache, "default/busy")->deleting = true;
    add_pod(&w, "full", NULL, REQ("4", "1Gi") ",\"priority\":1}", "n0");
    free(p->nominated);
    p->nominated = strdup("n1");
    kc_sched_pod *big = mkpod("big", NULL, REQ("2", "1Gi") ",\"priority\":10}");
    free(big->nominated);
    big->nominated = strdup("n1");
    kc_sched_schedule(&w.ctx, big, &r);
    cr_assert_null(r.node);
    cr_assert_str_eq(r.message,
                     "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to a "
                     "terminating pod on the nominated node.");
    free(r.message);
    kc_sched_pod_free(big);
    kc_sched_pod_free(p);
    world_free(&w);
}

#define FIELDS(a, b)                                                                                         \
    REQ("2", "1Gi")                                                                                          \
    ",\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"                  \
    "\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","               \
    "\"values\":[\"" a "\"]},{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"" b "\"]}]}]}}}}"

Test(cycle, terms_naming_nodes_narrow_the_cycle)
{
    world w;
    world_init(&w);
    add_node(&w, "n0", "4", NULL, NULL);
    add_node(&w, "n1", "1", NULL, NULL);
    add_node(&w, "n2", "4", NULL, NULL);
    cr_assert_str_eq(schedule(&w, NULL, FIELDS("n2", "n2"), false), "n2");
    cr_assert_str_eq(schedule(&w, NULL, FIELDS("n1", "n1"), false),
                     "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) "
                     "[NodeAffinity]. preemption: 0/3 nodes are available: 1 No preemption victims found for "
                     "incoming pod, 2 Preemption is not helpful for scheduling.");
    cr_assert_str_eq(
        schedule(&w, NULL, FIELDS("n1", "n2"), false),
        "0/3 nodes are available: pod affinity terms conflict. preemption: 0/3 nodes are available: 3 "
        "Preemption is not helpful for scheduling.");
    cr_assert_str_eq(
        schedule(&w, NULL, FIELDS("gone", "gone"), false),
        "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 "
        "nodes are available: 3 Preemption is not helpful for scheduling.");
    world_free(&w);
}

Test(cycle, spreads_and_assumes)
{
    world w;
    world_init(&w);
    add_node(&w, "a", "2", NULL, NULL);
    add_node(&w, "b", "2", NULL, NULL);
    int count_a = 0;
    for (int i = 0; i < 4; i++)
        count_a += !strcmp(schedule(&w, NULL, REQ("1", "1Gi") "}", true), "a");
    cr_assert_eq(count_a, 2, "least allocated spreads 2/2, got %d on a", count_a);
    cr_assert_str_eq(schedule(&w, NULL, REQ("1", "1Gi") "}", true),
                     "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No "
                     "preemption victims found for incoming pod.");
    /* a deleted pod frees its node */
    char node[8];
    snprintf(node, sizeof node, "%s", kc_sched_cache_pod(w.cache, "default/new-0")->node->name);
    kc_sched_pod_free(kc_sched_cache_remove_pod(w.cache, "default/new-0"));
    cr_assert_str_eq(schedule(&w, NULL, REQ("1", "1Gi") "}", true), node);
    world_free(&w);
}

Test(cycle, scores_pick_preferred)
{
    world w;
    world_init(&w);
    add_node(&w, "plain", "4", "{\"zone\":\"a\"}", NULL);
    add_node(&w, "tainted", "4", "{\"zone\":\"b\"}",
             "{\"taints\":[{\"key\":\"k\",\"effect\":\"PreferNoSchedule\"}]}");
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(schedule(&w, NULL, C1 "}", false), "plain");
    const char *pref =
        C1 ",\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\"}],\"affinity\":{\"nodeAffinity\":"
           "{\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":50,\"preference\":"
           "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"b\"]}]}}]}}}";
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(schedule(&w, NULL, pref, false), "tainted");
    world_free(&w);
}

#define ANTI(kind, sel, key)                                                                                 \
    C1 ",\"affinity\":{\"" kind                                                                              \
       "\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"                         \
       "{\"matchLabels\":" sel "},\"topologyKey\":\"" key "\"}]}}}"

Test(cycle, pod_anti_affinity)
{
    world w;
    world_init(&w);
    add_node(&w, "n0", "4", "{\"zone\":\"z1\"}", NULL);
    add_node(&w, "n1", "4", "{\"zone\":\"z1\"}", NULL);
    add_node(&w, "n2", "4", "{\"zone\":\"z2\"}", NULL);
    const char *spec = ANTI("podAntiAffinity", "{\"app\":\"web\"}", "kubernetes.io/hostname");
    char seen[3] = {0};
    for (int i = 0; i < 3; i++) {
        const char *n = schedule(&w, "{\"app\":\"web\"}", spec, true);
        cr_assert(n[0] == 'n' && !seen[n[1] - '0'], "got %s", n);
        seen[n[1] - '0'] = 1;
    }
    cr_assert_str_eq(
        schedule(&w, "{\"app\":\"web\"}", spec, false),
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 "
        "nodes are available: 3 No preemption victims found for incoming pod.");
    /* a pod without terms is kept off by the existing pods' anti-affinity */
    cr_assert_str_eq(schedule(&w, "{\"app\":\"web\"}", C1 "}", false),
                     "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules. "
                     "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
    cr_assert_str_eq(schedule(&w, "{\"app\":\"other\"}", C1 "}", false)[0] == 'n' ? "ok" : "no", "ok");
    /* another namespace is not selected by a term without namespaces */
    kc_sched_pod *p = mkpod_ns("other", "x", "{\"app\":\"web\"}", C1 "}");
    kc_sched_result r;
    kc_sched_schedule(&w.ctx, p, &r);
    cr_assert(r.node, "%s", r.message);
    free(r.message);
    kc_sched_pod_free(p);
    world_free(&w);
}

Test(cycle, pod_affinity)
{
    world w;
    world_init(&w);
    add_node(&w, "n0", "4", "{\"zone\":\"z1\"}", NULL);
    add_node(&w, "n1", "4", "{\"zone\":\"z2\"}", NULL);
    add_node(&w, "n2", "4", NULL, NULL); /* no zone label */
    const char *spec = ANTI("podAffinity", "{\"app\":\"db\"}", "zone");
    /* nothing matches and the pod does not match itself */
    cr_assert_str_eq(
        schedule(&w, "{\"app\":\"web\"}", spec, false),
        "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. preemption: 0/3 nodes "
        "are available: 3 Preemption is not helpful for scheduling.");
    /* the first pod of a self-affine group may go to any node with the key */
    const char *first = schedule(&w, "{\"app\":\"db\"}", spec, true);
    cr_assert(!strcmp(first, "n0") || !strcmp(first, "n1"), "got %s", first);
    char zone_node[8];
    snprintf(zone_node, sizeof zone_node, "%s", first);
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(schedule(&w, "{\"app\":\"web\"}", spec, false), zone_node);
    world_free(&w);
}

#define SPREAD(when, skew, key)                                                                              \
    C1 ",\"topologySpreadConstraints\":[{\"maxSkew\":" skew ",\"topologyKey\":\"" key "\","                  \
       "\"whenUnsatisfiable\":\"" when "\",\"labelSelector\":{\"matchLabels\":{\"app\":\"s\"}}}]}"

Test(cycle, topology_spread_hard)
{
    world w;
    world_init(&w);
    add_node(&w, "a1", "4", "{\"zone\":\"a\"}", NULL);
    add_node(&w, "a2", "4", "{\"zone\":\"a\"}", NULL);
    add_node(&w, "b1", "4", "{\"zone\":\"b\"}", NULL);
    add_node(&w, "x", "4", NULL, NULL); /* no zone: never eligible */
    add_pod(&w, "e1", "{\"app\":\"s\"}", C1 "}", "a1");
    add_pod(&w, "e2", "{\"app\":\"s\"}", C1 "}", "a2");
    /* a has 2, b has 0: maxSkew 1 allows only b */
    for (int i = 0; i < 2; i++)
        cr_assert_str_eq(schedule(&w, "{\"app\":\"s\"}", SPREAD("DoNotSchedule", "1", "zone"), true), "b1");
    /* 2/2: either zone */
    const char *n = schedule(&w, "{\"app\":\"s\"}", SPREAD("DoNotSchedule", "1", "zone"), false);
    cr_assert(n[0] == 'a' || n[0] == 'b', "%s", n);
    /* pods not matching the selector are free to go anywhere with the key */
    add_pod(&w, "e3", "{\"app\":\"s\"}", C1 "}", "a1");
    add_pod(&w, "e4", "{\"app\":\"s\"}", C1 "}", "a1");
    cr_assert_str_eq(schedule(&w, "{\"app\":\"s\"}", SPREAD("DoNotSchedule", "1", "zone"), false), "b1");
    add_node(&w, "b2", "4", "{\"zone\":\"b\"}", "{\"unschedulable\":true}");
    kc_sched_cache_del_node(w.cache, "b1");
    cr_assert_str_eq(
        schedule(&w, "{\"app\":\"s\"}", SPREAD("DoNotSchedule", "1", "zone"), false),
        "0/4 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing "
        "required label), 1 node(s) were unschedulable, 2 node(s) didn't match pod topology spread "
        "constraints. preemption: 0/4 nodes are available: 2 No preemption victims found for incoming "
        "pod, 2 Preemption is not helpful for scheduling.");
    world_free(&w);
}

Test(cycle, topology_spread_soft)
{
    world w;
    world_init(&w);
    add_node(&w, "a1", "4", "{\"zone\":\"a\"}", NULL);
    add_node(&w, "b1", "4", "{\"zone\":\"b\"}", NULL);
    add_pod(&w, "e1", "{\"app\":\"s\"}", C1 "}", "a1");
    add_pod(&w, "e2", "{\"app\":\"s\"}", C1 "}", "a1");
    add_pod(&w, "e3", "{\"app\":\"t\"}", C1 "}", "b1");
    add_pod(&w, "e4", "{\"app\":\"t\"}", C1 "}", "b1");
    add_pod(&w, "e5", "{\"app\":\"t\"}", C1 "}", "b1");
    /* b1 is busier (least allocated prefers a1), but spreading app=s weighs 2x */
    cr_assert_str_eq(schedule(&w, "{\"app\":\"s\"}", SPREAD("ScheduleAnyway", "1", "zone"), false), "b1");
    world_free(&w);
}

/* ---- the queue ---- */

Test(queue, order_backoff_and_moves)
{
    kc_sched_queue *q = kc_sched_queue_new(1000, 10000);
    uint64_t t = 1000000, wait = 0;
    kc_sched_queue_set(q, mkpod("low", NULL, C1 ",\"priority\":1}"), t);
    kc_sched_queue_set(q, mkpod("high", NULL, C1 ",\"priority\":5}"), t + 1);
    kc_sched_queue_set(q, mkpod("gated", NULL, C1 ",\"schedulingGates\":[{\"name\":\"g\"}]}"), t);
    cr_assert_eq(kc_sched_queue_len(q, KC_SCHED_Q_GATED), 1);
    kc_sched_pod *p = kc_sched_queue_pop(q, t, &wait);
    cr_assert_str_eq(p->name, "high");
    kc_sched_queue_failed(q, p->key, false, t);
    p = kc_sched_queue_pop(q, t, &wait);
    cr_assert_str_eq(p->name, "low");
    kc_sched_pod_free(kc_sched_queue_done(q, p->key));
    cr_assert_null(kc_sched_queue_pop(q, t, &wait));
    cr_assert_eq(wait, UINT64_MAX);
    /* a cluster event: still backing off (1 s after 1 attempt) */
    kc_sched_queue_move_all(q, t + 500);
    cr_assert_eq(kc_sched_queue_where(q, "default/high"), KC_SCHED_Q_BACKOFF);
    cr_assert_null(kc_sched_queue_pop(q, t + 500, &wait));
    cr_assert_eq(wait, 500);
    p = kc_sched_queue_pop(q, t + 1000, &wait);
    cr_assert_str_eq(p->name, "high");
    /* second failure: 2 s backoff; a move after it is over goes straight to activeQ */
    kc_sched_queue_failed(q, p->key, false, t + 1000);
    kc_sched_queue_move_all(q, t + 3000);
    cr_assert_eq(kc_sched_queue_where(q, "default/high"), KC_SCHED_Q_ACTIVE);
    p = kc_sched_queue_pop(q, t + 3000, &wait);
    kc_sched_queue_failed(q, p->key, false, t + 3000);
    /* an update that changes nothing leaves it unschedulable; a spec change moves it */
    kc_sched_queue_set(q, mkpod("high", NULL, C1 ",\"priority\":5}"), t + 3001);
    cr_assert_eq(kc_sched_queue_where(q, "default/high"), KC_SCHED_Q_UNSCHED);
    kc_sched_queue_set(q, mkpod("high", "{\"x\":\"y\"}", C1 ",\"priority\":5}"), t + 3001);
    cr_assert_eq(kc_sched_queue_where(q, "default/high"), KC_SCHED_Q_BACKOFF);
    /* ungating */
    kc_sched_queue_set(q, mkpod("gated", NULL, C1 "}"), t);
    cr_assert_eq(kc_sched_queue_where(q, "default/gated"), KC_SCHED_Q_ACTIVE);
    kc_sched_queue_remove(q, "default/gated");
    cr_assert(!kc_sched_queue_has(q, "default/gated"));
    /* flush after the unschedulable timeout */
    p = kc_sched_queue_pop(q, t + 20000, &wait);
    cr_assert_str_eq(p->name, "high");
    kc_sched_queue_failed(q, p->key, false, t + 20000);
    kc_sched_queue_flush(q, t + 20000 + 299999, 300000);
    cr_assert_eq(kc_sched_queue_where(q, "default/high"), KC_SCHED_Q_UNSCHED);
    kc_sched_queue_flush(q, t + 20000 + 300000, 300000);
    cr_assert_eq(kc_sched_queue_where(q, "default/high"), KC_SCHED_Q_ACTIVE);
    kc_sched_queue_free(q);
}

Test(queue, backoff_caps_at_max)
{
    kc_sched_queue *q = kc_sched_queue_new(1000, 10000);
    uint64_t t = 0, wait;
    kc_sched_queue_set(q, mkpod("p", NULL, C1 "}"), t);
    static const uint64_t want[] = {1000, 2000, 4000, 8000, 10000, 10000};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        kc_sched_pod *p = kc_sched_queue_pop(q, t, &wait);
        cr_assert(p);
        kc_sched_queue_failed(q, p->key, true, t);
        cr_assert_null(kc_sched_queue_pop(q, t, &wait));
        cr_assert_eq(wait, want[i], "attempt %zu: %lu", i + 1, (unsigned long)wait);
        t += wait;
    }
    kc_sched_queue_free(q);
}

Test(cache, nodes_and_pods)
{
    kc_sched_cache *c = kc_sched_cache_new();
    /* a pod bound to a node not seen yet is counted once the node appears */
    kc_sched_cache_add_pod(c, mkpod("p", NULL, REQ("1", "1Gi") ",\"nodeName\":\"n\"}"));
    cr_assert_eq(c->n, 0);
    cr_assert(kc_sched_cache_set_node(c, mknode("n", "4", "8Gi", NULL, NULL)));
    cr_assert_eq(c->n, 1);
    cr_assert_eq(kc_sched_cache_node(c, "n")->requested.milli_cpu, 1000);
    cr_assert(!kc_sched_cache_set_node(c, mknode("n", "4", "8Gi", NULL, NULL)), "unchanged node");
    cr_assert(kc_sched_cache_set_node(c, mknode("n", "8", "8Gi", NULL, NULL)), "allocatable changed");
    cr_assert_eq(kc_sched_cache_node(c, "n")->requested.milli_cpu, 1000);
    /* deleted node with pods: off the list, usage kept */
    kc_sched_cache_del_node(c, "n");
    cr_assert_eq(c->n, 0);
    cr_assert_not_null(kc_sched_cache_node(c, "n"));
    kc_sched_pod_free(kc_sched_cache_remove_pod(c, "default/p"));
    cr_assert_null(kc_sched_cache_node(c, "n"));
    /* assume, then confirm */
    kc_sched_cache_set_node(c, mknode("m", "4", "8Gi", NULL, NULL));
    kc_sched_cache_assume(c, mkpod("q", NULL, REQ("2", "1Gi") "}"), "m");
    cr_assert(kc_sched_cache_pod(c, "default/q")->assumed);
    cr_assert_eq(kc_sched_cache_node(c, "m")->requested.milli_cpu, 2000);
    kc_sched_cache_add_pod(c, mkpod("q", NULL, REQ("2", "1Gi") ",\"nodeName\":\"m\"}"));
    cr_assert(!kc_sched_cache_pod(c, "default/q")->assumed);
    cr_assert_eq(kc_sched_cache_node(c, "m")->requested.milli_cpu, 2000);
    cr_assert_eq(kc_sched_cache_node(c, "m")->npods, 1);
    kc_sched_cache_free(c);
}
