/* Simulated nodes against a real server in this process (in-process client): nodes register
 * Ready with a complete nodeInfo, leases are renewed (and stop with the sim), bound pods go
 * Running with an IP from the node's podCIDR (or the fallback), conditions and container
 * statuses; deletion waits for the grace period; the startup delay shows ContainerCreating;
 * readiness gates hold Ready; a restarted sim adopts its running pods; pods on other nodes are
 * left alone; the node provider answers logs and exec from memory, and so does the kubelet
 * endpoint of a `kubec sim` process over HTTP. Plus the pure helpers. */
#include "apiserver/apiserver.h"
#include "lib/clock.h"
#include "client/informer.h"
#include "sim/sim.h"
#include "sim/simint.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <regex.h>
#include <sys/socket.h>
#include <stdio.h>
#include <unistd.h>

static test_server ts;
static kc_apiserver *srv;
static kc_client *c;
static kc_sim *sim;
static int POD, NODE, LEASE;

static kc_sim *start_sim(const char *prefix, int n, int startup_ms)
{
    kc_sim_opts o = {.nodes = n, .prefix = prefix, .pod_startup_ms = startup_ms, .lease_ms = 300};
    kc_sim *s = kc_sim_start(kc_apiserver_client(srv, "kubelet"), &o);
    cr_assert_not_null(s);
    return s;
}

static void start(void)
{
    srv = test_server_start(&ts, "sim", true);
    POD = kc_resource_find("", "v1", "pods");
    NODE = kc_resource_find("", "v1", "nodes");
    LEASE = kc_resource_find("coordination.k8s.io", "v1", "leases");
    c = kc_apiserver_client(srv, "test");
    sim = start_sim("sim", 3, 0);
}

static void stop(void)
{
    kc_sim_stop(sim);
    kc_client_free(c);
    test_server_destroy(&ts);
}

TestSuite(sim, .init = start, .fini = stop, .timeout = 30);

/* ---- helpers ---- */

static json_t *get(int res, const char *ns, const char *name)
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

static const char *at(json_t *d, const char *path)
{
    char buf[256], *save, *tok;
    snprintf(buf, sizeof buf, "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && d; tok = strtok_r(NULL, ".", &save))
        d = json_is_array(d) ? json_array_get(d, (size_t)atoi(tok)) : json_object_get(d, tok);
    return json_string_value(d);
}

static const char *cond(json_t *d, const char *type)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(json_object_get(d, "status"), "conditions"), i,
                       x) if (!strcmp(json_string_value(json_object_get(x, "type")),
                                      type)) return json_string_value(json_object_get(x, "status"));
    return NULL;
}

typedef bool (*pred_fn)(json_t *d, const void *arg);

/* Polls an object until pred holds (d NULL: the object is missing); returns it (owned) or NULL. */
static json_t *wait_obj(int res, const char *ns, const char *name, pred_fn pred, const void *arg, int ms)
{
    for (int t = 0; t < ms; t += 20) {
        json_t *d = get(res, ns, name);
        if (pred(d, arg)) return d ? d : json_object();
        json_decref(d);
        usleep(20 * 1000);
    }
    return NULL;
}

static bool ready_node(json_t *d, const void *arg)
{
    (void)arg;
    return d && cond(d, "Ready") && !strcmp(cond(d, "Ready"), "True");
}

static bool phase_is(json_t *d, const void *arg)
{
    return d && at(d, "status.phase") && !strcmp(at(d, "status.phase"), arg);
}

static bool missing(json_t *d, const void *arg)
{
    (void)arg;
    return d == NULL;
}

static bool cond_true(json_t *d, const void *arg)
{
    return d && cond(d, arg) && !strcmp(cond(d, arg), "True");
}

static void create_pod(const char *name, const char *node, json_t *extra_spec)
{
    json_t *p = json_pack("{s:s,s:s,s:{s:s},s:{s:s,s:[{s:s,s:s},{s:s,s:s}]}}", "apiVersion", "v1", "kind",
                          "Pod", "metadata", "name", name, "spec", "nodeName", node, "containers", "name",
                          "web", "image", "nginx:1.25", "name", "side", "image", "registry.k8s.io/pause:3.9");
    if (extra_spec) json_object_update(json_object_get(p, "spec"), extra_spec);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(c, POD, "default", p, NULL, &err), 0, "%s", err.msg);
    json_decref(p);
    json_decref(extra_spec);
}

static bool ready_node(json_t *d, const void *arg);
static json_t *wait_obj(int res, const char *ns, const char *name, pred_fn pred, const void *arg, int ms);

/* As node IPAM would (the node registered first). */
static void set_pod_cidr(const char *node, const char *cidr)
{
    json_t *n = wait_obj(NODE, NULL, node, ready_node, NULL, 5000);
    cr_assert_not_null(n, "node %s not Ready", node);
    json_decref(n);
    char patch[128];
    snprintf(patch, sizeof patch, "{\"spec\":{\"podCIDR\":\"%s\",\"podCIDRs\":[\"%s\"]}}", cidr, cidr);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(
        kc_client_patch(c, NODE, NULL, node, NULL, "application/merge-patch+json", patch, NULL, &err), 0,
        "%s", err.msg);
}

/* A pod bound to node (given cidr as its podCIDR), once Running. */
static json_t *running_pod(const char *name, const char *node, const char *cidr)
{
    set_pod_cidr(node, cidr);
    create_pod(name, node, NULL);
    json_t *p = wait_obj(POD, "default", name, phase_is, "Running", 5000);
    cr_assert_not_null(p, "pod %s never Running", name);
    return p;
}

static bool matches(const char *s, const char *re)
{
    regex_t r;
    cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    bool m = s && regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return m;
}

/* ---- nodes and leases ---- */

Test(sim, nodes_register_ready_with_full_node_info)
{
    static const char *names[] = {"sim-0", "sim-1", "sim-2"},
                      *ips[] = {"172.16.0.1", "172.16.0.2", "172.16.0.3"};
    for (int i = 0; i < 3; i++) {
        json_t *n = wait_obj(NODE, NULL, names[i], ready_node, NULL, 5000);
        cr_assert_not_null(n, "node %s never became Ready", names[i]);
        static const char *info[] = {
            "architecture",   "bootID",    "containerRuntimeVersion", "kernelVersion", "kubeProxyVersion",
            "kubeletVersion", "machineID", "operatingSystem",         "osImage",       "systemUUID"};
        for (size_t k = 0; k < sizeof info / sizeof *info; k++) {
            char path[64];
            snprintf(path, sizeof path, "status.nodeInfo.%s", info[k]);
            cr_assert(at(n, path) && at(n, path)[0], "%s missing", path);
        }
        cr_assert_str_eq(at(n, "status.nodeInfo.kubeletVersion"), "v1.32.0-kubec");
        cr_assert_str_eq(at(n, "status.nodeInfo.containerRuntimeVersion"), "kubec-sim://1.0");
        cr_assert_str_eq(at(n, "status.capacity.cpu"), "32");
        cr_assert_str_eq(at(n, "status.allocatable.memory"), "256Gi");
        cr_assert_str_eq(at(n, "status.allocatable.pods"), "110");
        json_t *labels = json_object_get(json_object_get(n, "metadata"), "labels");
        cr_assert_str_eq(json_string_value(json_object_get(labels, "kubernetes.io/hostname")), names[i]);
        cr_assert_str_eq(json_string_value(json_object_get(labels, "kubernetes.io/os")), "linux");
        cr_assert_str_eq(json_string_value(json_object_get(labels, "kubernetes.io/arch")), "amd64");
        cr_assert_str_eq(json_string_value(json_object_get(labels, "node.kubernetes.io/instance-type")),
                         "kubec-sim");
        cr_assert_str_eq(at(n, "status.addresses.0.type"), "InternalIP");
        cr_assert_str_eq(at(n, "status.addresses.0.address"), ips[i]);
        cr_assert_str_eq(at(n, "status.addresses.1.address"), names[i]);
        json_t *port =
            json_object_get(json_object_get(json_object_get(json_object_get(n, "status"), "daemonEndpoints"),
                                            "kubeletEndpoint"),
                            "Port");
        cr_assert_eq(json_integer_value(port), 10250);
        for (const char **t = (const char *[]){"MemoryPressure", "DiskPressure", "PIDPressure", NULL}; *t;
             t++)
            cr_assert_str_eq(cond(n, *t), "False", "%s", *t);
        json_t *conds = json_object_get(json_object_get(n, "status"), "conditions");
        cr_assert_str_eq(at(conds, "3.reason"), "KubeletReady");
        cr_assert_str_eq(at(conds, "3.message"), "kubelet is posting ready status");
        json_decref(n);
    }
    json_t *gone = get(NODE, NULL, "sim-3");
    cr_assert_null(gone, "only 3 nodes");
}

static bool has_lease(json_t *d, const void *arg)
{
    (void)arg;
    return d != NULL;
}

static bool renewed_after(json_t *d, const void *arg)
{
    return d && at(d, "spec.renewTime") && strcmp(at(d, "spec.renewTime"), arg) > 0;
}

Test(sim, leases_renewed_until_stop)
{
    json_t *node = wait_obj(NODE, NULL, "sim-1", ready_node, NULL, 5000);
    cr_assert_not_null(node);
    json_t *l = wait_obj(LEASE, SIM_LEASE_NS, "sim-1", has_lease, NULL, 5000);
    cr_assert_not_null(l);
    cr_assert_str_eq(at(l, "spec.holderIdentity"), "sim-1");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(l, "spec"), "leaseDurationSeconds")), 40);
    cr_assert(matches(at(l, "spec.renewTime"),
                      "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$"),
              "%s", at(l, "spec.renewTime"));
    json_t *owner = json_array_get(json_object_get(json_object_get(l, "metadata"), "ownerReferences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(owner, "kind")), "Node");
    cr_assert_str_eq(json_string_value(json_object_get(owner, "uid")), at(node, "metadata.uid"));
    /* lease_ms 300 in these tests: two more renewals within a second or two */
    char first[40];
    snprintf(first, sizeof first, "%s", at(l, "spec.renewTime"));
    json_t *l2 = wait_obj(LEASE, SIM_LEASE_NS, "sim-1", renewed_after, first, 3000);
    cr_assert_not_null(l2, "lease not renewed");
    json_t *l3 = wait_obj(LEASE, SIM_LEASE_NS, "sim-1", renewed_after, at(l2, "spec.renewTime"), 3000);
    cr_assert_not_null(l3, "lease not renewed twice");
    kc_sim_stop(sim);
    sim = NULL;
    usleep(100 * 1000);
    json_t *l4 = get(LEASE, SIM_LEASE_NS, "sim-1");
    json_t *l5 = wait_obj(LEASE, SIM_LEASE_NS, "sim-1", renewed_after, at(l4, "spec.renewTime"), 1200);
    cr_assert_null(l5, "a stopped sim must not renew");
    json_decref(node);
    json_decref(l);
    json_decref(l2);
    json_decref(l3);
    json_decref(l4);
}

static bool heartbeat_after(json_t *d, const void *arg)
{
    json_t *conds = json_object_get(json_object_get(d, "status"), "conditions");
    return d && at(conds, "3.lastHeartbeatTime") && strcmp(at(conds, "3.lastHeartbeatTime"), arg) > 0;
}

Test(sim, node_status_repaired_and_reported_periodically)
{
    json_t *n = wait_obj(NODE, NULL, "sim-0", ready_node, NULL, 5000);
    cr_assert_not_null(n);
    /* the node lifecycle controller's view of a silent node: the sim puts Ready back */
    kc_err err = KC_ERR_INIT;
    const char *unknown =
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\",\"reason\":"
        "\"NodeStatusUnknown\",\"message\":\"Kubelet stopped posting node status.\"}]}}";
    cr_assert_eq(kc_client_patch(c, NODE, NULL, "sim-0", "status", "application/merge-patch+json", unknown,
                                 NULL, &err),
                 0, "%s", err.msg);
    json_t *back = wait_obj(NODE, NULL, "sim-0", ready_node, NULL, 3000);
    cr_assert_not_null(back, "Ready not restored");
    cr_assert_str_eq(cond(back, "MemoryPressure"), "False");
    /* and without changes, a heartbeat every 6 lease periods (1.8 s here) */
    json_t *conds = json_object_get(json_object_get(back, "status"), "conditions");
    char hb[40];
    snprintf(hb, sizeof hb, "%s", at(conds, "3.lastHeartbeatTime"));
    json_t *later = wait_obj(NODE, NULL, "sim-0", heartbeat_after, hb, 4500);
    cr_assert_not_null(later, "no periodic status heartbeat");
    json_decref(n);
    json_decref(back);
    json_decref(later);
}

/* ---- pods ---- */

Test(sim, bound_pod_runs_with_ip_conditions_and_container_statuses)
{
    json_t *n = wait_obj(NODE, NULL, "sim-1", ready_node, NULL, 5000);
    cr_assert_not_null(n);
    set_pod_cidr("sim-1", "10.99.7.0/24");
    usleep(100 * 1000);
    create_pod("p1", "sim-1",
               json_pack("{s:[{s:s,s:s}]}", "initContainers", "name", "setup", "image", "busybox"));
    json_t *p = wait_obj(POD, "default", "p1", phase_is, "Running", 5000);
    cr_assert_not_null(p, "pod never Running");
    cr_assert_str_eq(at(p, "status.podIP"), "10.99.7.2");
    cr_assert_str_eq(at(p, "status.podIPs.0.ip"), "10.99.7.2");
    cr_assert_str_eq(at(p, "status.hostIP"), "172.16.0.2");
    cr_assert_str_eq(at(p, "status.hostIPs.0.ip"), "172.16.0.2");
    cr_assert_str_eq(at(p, "status.qosClass"), "BestEffort");
    cr_assert(matches(at(p, "status.startTime"), "^[0-9-]{10}T[0-9:]{8}Z$"));
    static const char *types[] = {"PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready",
                                  "PodScheduled"};
    size_t i;
    json_t *x;
    for (i = 0; i < 5; i++)
        cr_assert_str_eq(cond(p, types[i]) ?: "-", "True", "%s", types[i]);
    json_array_foreach(json_object_get(json_object_get(p, "status"), "conditions"), i, x)
        cr_assert(json_string_value(json_object_get(x, "lastTransitionTime")));
    json_t *cs = json_object_get(json_object_get(p, "status"), "containerStatuses");
    cr_assert_eq(json_array_size(cs), 2);
    cr_assert_str_eq(at(cs, "0.name"), "web");
    cr_assert_str_eq(at(cs, "0.image"), "docker.io/library/nginx:1.25");
    cr_assert(matches(at(cs, "0.imageID"), "^docker.io/library/nginx@sha256:[0-9a-f]{64}$"), "%s",
              at(cs, "0.imageID"));
    cr_assert(matches(at(cs, "0.containerID"), "^kubec-sim://[0-9a-f]{64}$"));
    cr_assert_str_neq(at(cs, "0.containerID"), at(cs, "1.containerID"));
    cr_assert(matches(at(cs, "1.imageID"), "^registry.k8s.io/pause@sha256:[0-9a-f]{64}$"), "%s",
              at(cs, "1.imageID"));
    cr_assert(matches(at(cs, "0.state.running.startedAt"), "Z$"));
    json_array_foreach(cs, i, x)
    {
        cr_assert(json_is_true(json_object_get(x, "ready")));
        cr_assert(json_is_true(json_object_get(x, "started")));
        cr_assert_eq(json_integer_value(json_object_get(x, "restartCount")), 0);
    }
    json_t *ics = json_object_get(json_object_get(p, "status"), "initContainerStatuses");
    cr_assert_eq(json_array_size(ics), 1);
    cr_assert_str_eq(at(ics, "0.state.terminated.reason"), "Completed");
    cr_assert_eq(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(json_array_get(ics, 0), "state"), "terminated"), "exitCode")),
        0);
    /* a second pod on the node gets the next address */
    create_pod("p2", "sim-1", NULL);
    json_t *p2 = wait_obj(POD, "default", "p2", phase_is, "Running", 5000);
    cr_assert_not_null(p2);
    cr_assert_str_eq(at(p2, "status.podIP"), "10.99.7.3");
    json_decref(n);
    json_decref(p);
    json_decref(p2);
}

Test(sim, pod_ip_falls_back_without_pod_cidr_host_network_uses_node_ip)
{
    create_pod("nocidr", "sim-2", NULL);
    create_pod("hostnet", "sim-2", json_pack("{s:b}", "hostNetwork", 1));
    json_t *h = wait_obj(POD, "default", "hostnet", phase_is, "Running", 2000);
    cr_assert_not_null(h, "a hostNetwork pod needs no pod CIDR");
    cr_assert_str_eq(at(h, "status.podIP"), "172.16.0.3");
    json_t *p = wait_obj(POD, "default", "nocidr", phase_is, "Running", 6000);
    cr_assert_not_null(p);
    cr_assert_str_eq(at(p, "status.podIP"), "10.244.2.2");
    json_decref(p);
    json_decref(h);
}

Test(sim, deletion_waits_for_grace_period_then_removes)
{
    set_pod_cidr("sim-0", "10.99.0.0/24");
    create_pod("d0", "sim-0", NULL);
    create_pod("d1", "sim-0", NULL);
    json_t *p = wait_obj(POD, "default", "d0", phase_is, "Running", 5000);
    json_t *q = wait_obj(POD, "default", "d1", phase_is, "Running", 5000);
    cr_assert(p && q);
    kc_err err = KC_ERR_INIT;
    json_t *zero = json_pack("{s:i}", "gracePeriodSeconds", 0);
    cr_assert_eq(kc_client_delete(c, POD, "default", "d0", zero, &err), 0, "%s", err.msg);
    json_decref(zero);
    json_t *g = wait_obj(POD, "default", "d0", missing, NULL, 2000);
    cr_assert_not_null(g, "grace 0: gone at once");
    json_decref(g);
    json_t *one = json_pack("{s:i}", "gracePeriodSeconds", 1);
    uint64_t t0 = kc_mono_ms();
    cr_assert_eq(kc_client_delete(c, POD, "default", "d1", one, &err), 0, "%s", err.msg);
    json_decref(one);
    json_t *still = get(POD, "default", "d1");
    cr_assert_not_null(still, "grace 1: still there at first");
    cr_assert_not_null(json_object_get(json_object_get(still, "metadata"), "deletionTimestamp"));
    g = wait_obj(POD, "default", "d1", missing, NULL, 4000);
    cr_assert_not_null(g, "grace 1: never removed");
    uint64_t took = kc_mono_ms() - t0;
    cr_assert_geq(took, 900, "removed after %llu ms, before its grace period", (unsigned long long)took);
    /* with a finalizer holding it, the final status is visible: containers terminated, Succeeded */
    json_t *held = json_pack("{s:s,s:s,s:{s:s,s:[s]},s:{s:s,s:[{s:s,s:s}]}}", "apiVersion", "v1", "kind",
                             "Pod", "metadata", "name", "d3", "finalizers", "example.com/hold", "spec",
                             "nodeName", "sim-0", "containers", "name", "web", "image", "nginx:1.25");
    cr_assert_eq(kc_client_create(c, POD, "default", held, NULL, &err), 0, "%s", err.msg);
    json_decref(held);
    json_t *h = wait_obj(POD, "default", "d3", phase_is, "Running", 5000);
    cr_assert_not_null(h);
    cr_assert_str_eq(at(h, "status.podIP"), "10.99.0.2", "d0 and d1 gave their addresses back");
    json_decref(h);
    json_t *g1 = json_pack("{s:i}", "gracePeriodSeconds", 1);
    cr_assert_eq(kc_client_delete(c, POD, "default", "d3", g1, &err), 0, "%s", err.msg);
    json_decref(g1);
    h = wait_obj(POD, "default", "d3", phase_is, "Succeeded", 3000);
    cr_assert_not_null(h, "no final status");
    cr_assert_str_eq(at(h, "status.containerStatuses.0.state.terminated.reason"), "Completed");
    cr_assert_str_eq(cond(h, "Ready"), "False");
    cr_assert_str_eq(cond(h, "ContainersReady"), "False");
    json_decref(h);
    cr_assert_eq(kc_client_patch(c, POD, "default", "d3", NULL, "application/merge-patch+json",
                                 "{\"metadata\":{\"finalizers\":null}}", NULL, &err),
                 0, "%s", err.msg);
    h = wait_obj(POD, "default", "d3", missing, NULL, 2000);
    cr_assert_not_null(h);
    json_decref(h);
    /* addresses are free again */
    create_pod("d2", "sim-0", NULL);
    json_t *r = wait_obj(POD, "default", "d2", phase_is, "Running", 5000);
    cr_assert_not_null(r);
    cr_assert_str_eq(at(r, "status.podIP"), "10.99.0.2");
    json_decref(g);
    json_decref(p);
    json_decref(q);
    json_decref(r);
    json_decref(still);
}

static bool pending_creating(json_t *d, const void *arg)
{
    (void)arg;
    return d && at(d, "status.containerStatuses.0.state.waiting.reason") &&
           !strcmp(at(d, "status.containerStatuses.0.state.waiting.reason"), "ContainerCreating");
}

Test(sim, startup_delay_shows_container_creating_and_others_pods_are_ignored)
{
    kc_sim *slow = start_sim("slow", 1, 700);
    json_t *n = wait_obj(NODE, NULL, "slow-0", ready_node, NULL, 5000);
    cr_assert_not_null(n);
    set_pod_cidr("slow-0", "10.99.9.0/24");
    uint64_t t0 = kc_mono_ms();
    create_pod("s0", "slow-0", NULL);
    create_pod("foreign", "elsewhere-0", NULL);
    json_t *p = wait_obj(POD, "default", "s0", pending_creating, NULL, 3000);
    cr_assert_not_null(p, "no ContainerCreating status");
    cr_assert_str_eq(at(p, "status.phase"), "Pending");
    cr_assert_str_eq(cond(p, "Ready"), "False");
    cr_assert_str_eq(at(p, "status.hostIP"), "172.16.0.1");
    json_t *r = wait_obj(POD, "default", "s0", phase_is, "Running", 5000);
    cr_assert_not_null(r);
    cr_assert_geq(kc_mono_ms() - t0, 650);
    json_t *f = get(POD, "default", "foreign");
    cr_assert_str_eq(at(f, "status.phase"), "Pending");
    cr_assert_null(at(f, "status.hostIP"), "a pod on a node of no sim is left alone");
    kc_sim_stop(slow);
    json_decref(n);
    json_decref(p);
    json_decref(r);
    json_decref(f);
}

Test(sim, readiness_gate_holds_ready_until_true)
{
    create_pod("gated", "sim-2",
               json_pack("{s:[{s:s}]}", "readinessGates", "conditionType", "example.com/lb"));
    json_t *p = wait_obj(POD, "default", "gated", cond_true, "ContainersReady", 6000);
    cr_assert_not_null(p);
    cr_assert_str_eq(cond(p, "Ready"), "False");
    kc_err err = KC_ERR_INIT;
    const char *gate = "{\"status\":{\"conditions\":[{\"type\":\"example.com/lb\",\"status\":\"True\"}]}}";
    cr_assert_eq(kc_client_patch(c, POD, "default", "gated", "status", "application/merge-patch+json", gate,
                                 NULL, &err),
                 0, "%s", err.msg);
    json_t *r = wait_obj(POD, "default", "gated", cond_true, "Ready", 3000);
    cr_assert_not_null(r, "Ready not set once the gate is True");
    cr_assert_str_eq(cond(r, "example.com/lb"), "True");
    json_decref(p);
    json_decref(r);
}

static bool boot_changed(json_t *d, const void *arg)
{
    return d && at(d, "status.nodeInfo.bootID") && strcmp(at(d, "status.nodeInfo.bootID"), arg);
}

Test(sim, restarted_sim_adopts_running_pods)
{
    set_pod_cidr("sim-0", "10.99.3.0/24");
    create_pod("keep", "sim-0", NULL);
    json_t *p = wait_obj(POD, "default", "keep", phase_is, "Running", 5000);
    cr_assert_not_null(p);
    json_t *n = get(NODE, NULL, "sim-0");
    kc_sim_stop(sim);
    sim = start_sim("sim", 3, 0);
    json_t *n2 = wait_obj(NODE, NULL, "sim-0", boot_changed, at(n, "status.nodeInfo.bootID"), 3000);
    cr_assert_not_null(n2, "restarted node did not report");
    cr_assert_str_eq(at(n2, "metadata.uid"), at(n, "metadata.uid"), "the existing Node is kept");
    usleep(300 * 1000);
    json_t *p2 = get(POD, "default", "keep");
    cr_assert_str_eq(at(p2, "metadata.resourceVersion"), at(p, "metadata.resourceVersion"),
                     "adopted pod rewritten");
    /* the adopted address stays taken */
    create_pod("next", "sim-0", NULL);
    json_t *q = wait_obj(POD, "default", "next", phase_is, "Running", 5000);
    cr_assert_not_null(q);
    cr_assert_str_eq(at(q, "status.podIP"), "10.99.3.3");
    json_decref(p);
    json_decref(p2);
    json_decref(n);
    json_decref(n2);
    json_decref(q);
}

/* ---- the node provider ---- */

static char *logs(const char *pod, const char *ctr, bool ts, long tail, kc_err *err)
{
    kc_log_opts o = {ctr, ts, false, tail, -1};
    char *out = NULL;
    size_t len;
    if (kc_sim_node_provider.logs(sim, "sim-2", "default", pod, &o, &out, &len, err) < 0) return NULL;
    cr_assert_eq(strlen(out), len);
    return out;
}

Test(sim, provider_logs_and_exec)
{
    cr_assert(kc_sim_node_provider.has_node(sim, "sim-0"));
    cr_assert(kc_sim_node_provider.has_node(sim, "sim-2"));
    cr_assert_not(kc_sim_node_provider.has_node(sim, "sim-3"));
    cr_assert_not(kc_sim_node_provider.has_node(sim, "sim-01"));
    cr_assert_not(kc_sim_node_provider.has_node(sim, "other-0"));
    cr_assert_str_eq(kc_sim_node_provider.exec_unsupported(sim, "sim-0"),
                     "node sim-0 is a simulated node (kubec sim) and cannot run commands in containers");
    kc_err err = KC_ERR_INIT;
    cr_assert_null(logs("lg", "web", false, -1, &err), "no pod yet");
    cr_assert_eq(err.reason, KC_EBADREQUEST);
    kc_err_release(&err);
    json_t *p = running_pod("lg", "sim-2", "10.99.2.0/24");
    char *l = logs("lg", "web", false, -1, &err);
    cr_assert_str_eq(l, "kubec-sim: started container web (image nginx:1.25)\n");
    free(l);
    l = logs("lg", "side", true, -1, &err);
    cr_assert(matches(l, "^[0-9-]{10}T[0-9:]{8}\\.[0-9]{9}Z kubec-sim: started container side \\(image "
                         "registry.k8s.io/pause:3.9\\)\n$"),
              "%s", l);
    free(l);
    l = logs("lg", "web", false, 0, &err);
    cr_assert_str_eq(l, "");
    free(l);
    kc_log_opts prev = {"web", false, true, -1, -1};
    char *out;
    size_t len;
    cr_assert_lt(kc_sim_node_provider.logs(sim, "sim-2", "default", "lg", &prev, &out, &len, &err), 0);
    cr_assert(strstr(err.msg, "previous terminated container"), "%s", err.msg);
    kc_err_release(&err);
    kc_log_opts lim = {"web", false, false, -1, 9};
    cr_assert_eq(kc_sim_node_provider.logs(sim, "sim-2", "default", "lg", &lim, &out, &len, &err), 0);
    cr_assert_str_eq(out, "kubec-sim");
    free(out);
    json_decref(p);
}

/* One request to the kubelet endpoint on 127.0.0.1:port; the whole answer (malloc'd). */
static char *kubelet_get(int port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(send(fd, request, strlen(request), 0), (ssize_t)strlen(request));
    kc_buf b = KC_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    while ((n = recv(fd, chunk, sizeof chunk, 0)) > 0) kc_buf_add(&b, chunk, (size_t)n);
    kc_buf_add(&b, "", 1);
    close(fd);
    return kc_buf_take(&b);
}

static void expect_answer(int port, const char *path, const char *status_line, const char *body)
{
    char rq[512];
    snprintf(rq, sizeof rq, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    char *a = kubelet_get(port, rq), *sep = strstr(a, "\r\n\r\n");
    cr_assert(!strncmp(a, status_line, strlen(status_line)), "%s: %s", path, a);
    cr_assert_not_null(sep, "%s", a);
    cr_assert_str_eq(sep + 4, body, "%s", path);
    free(a);
}

Test(sim, kubelet_endpoint_serves_logs_and_refuses_exec)
{
    kc_err err = KC_ERR_INIT;
    cr_assert_null(kc_sim_kubelet_listen("127.0.0.1", &err));
    kc_err_release(&err);
    cr_assert_null(kc_sim_kubelet_listen("nohost:1", &err));
    kc_err_release(&err);
    kc_sim_kubelet *k = kc_sim_kubelet_listen("0.0.0.0:0", &err);
    cr_assert_not_null(k, "%s", err.msg);
    cr_assert_str_eq(kc_sim_kubelet_host(k), "127.0.0.1");
    int port = kc_sim_kubelet_port(k);
    cr_assert_gt(port, 0);
    kc_sim_kubelet_serve(k, sim);
    expect_answer(port, "/containerLogs/default/kl/web", "HTTP/1.1 400 ",
                  "container \"web\" in pod \"kl\" is waiting to start: ContainerCreating");
    json_t *p = running_pod("kl", "sim-1", "10.99.1.0/24");
    json_decref(p);
    const char *line = "kubec-sim: started container web (image nginx:1.25)\n";
    expect_answer(port, "/containerLogs/default/kl/web", "HTTP/1.1 200 OK", line);
    expect_answer(port, "/containerLogs/default/kl/web?follow=true&tailLines=5", "HTTP/1.1 200 OK", line);
    expect_answer(port, "/containerLogs/default/kl/web?tailLines=0", "HTTP/1.1 200 OK", "");
    expect_answer(port, "/containerLogs/default/kl/web?limitBytes=9&timestamps=false", "HTTP/1.1 200 OK", "kubec-sim");
    expect_answer(port, "/containerLogs/default/kl/web?previous=true", "HTTP/1.1 400 ",
                  "previous terminated container \"web\" in pod \"kl\" not found");
    expect_answer(port, "/containerLogs/default/kl/nope", "HTTP/1.1 400 ", "container nope is not valid for pod kl");
    char *a = kubelet_get(port, "GET /containerLogs/default/kl/web?timestamps=true HTTP/1.1\r\n\r\n");
    cr_assert(matches(strstr(a, "\r\n\r\n") + 4, "^[0-9-]{10}T[0-9:]{8}\\.[0-9]{9}Z kubec-sim: started container web"),
              "%s", a);
    free(a);
    expect_answer(port, "/exec/default/kl/web?command=ls", "HTTP/1.1 400 ",
                  "node sim-1 is a simulated node (kubec sim) and cannot run commands in containers");
    expect_answer(port, "/exec/default/ghost/web", "HTTP/1.1 404 ", "pod \"ghost\" does not exist");
    expect_answer(port, "/containerLogs/default/kl", "HTTP/1.1 404 ", "404 page not found");
    expect_answer(port, "/healthz", "HTTP/1.1 404 ", "404 page not found");
    a = kubelet_get(port, "DELETE /containerLogs/default/kl/web HTTP/1.1\r\n\r\n");
    cr_assert(!strncmp(a, "HTTP/1.1 405 ", 13), "%s", a);
    free(a);
    a = kubelet_get(port, "garbage\r\n\r\n"); /* closed without an answer; the endpoint lives on */
    cr_assert_str_eq(a, "");
    free(a);
    expect_answer(port, "/containerLogs/default/kl/web?tailLines=1", "HTTP/1.1 200 OK", line);
    kc_sim_kubelet_free(k);
}

/* ---- helpers ---- */

Test(simutil, image_refs_cidrs_times)
{
    static const struct {
        const char *in, *full, *repo;
    } cases[] = {
        {"nginx", "docker.io/library/nginx:latest", "docker.io/library/nginx@sha256:"},
        {"nginx:1.25", "docker.io/library/nginx:1.25", "docker.io/library/nginx@sha256:"},
        {"bitnami/redis:7", "docker.io/bitnami/redis:7", "docker.io/bitnami/redis@sha256:"},
        {"registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", "registry.k8s.io/pause@sha256:"},
        {"localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app@sha256:"},
        {"busybox@sha256:abc", "docker.io/library/busybox@sha256:abc",
         "docker.io/library/busybox@sha256:abc"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char full[256], id[256];
        kc_sim_image_ref(cases[i].in, full, sizeof full, id, sizeof id);
        cr_assert_str_eq(full, cases[i].full);
        cr_assert(!strncmp(id, cases[i].repo, strlen(cases[i].repo)), "%s -> %s", cases[i].in, id);
    }
    uint32_t net;
    int len;
    char ip[16];
    cr_assert_eq(kc_sim_parse_cidr("10.244.3.7/24", &net, &len), 0);
    kc_sim_ip_str(net, ip);
    cr_assert_str_eq(ip, "10.244.3.0");
    cr_assert_eq(len, 24);
    cr_assert_lt(kc_sim_parse_cidr("fd00::/64", &net, &len), 0);
    cr_assert_lt(kc_sim_parse_cidr("10.0.0.0/31", &net, &len), 0);
    cr_assert_eq(kc_sim_parse_ip("10.244.3.7", &net), 0);
    cr_assert_eq(net, (10U << 24) | (244U << 16) | (3U << 8) | 7U);
    cr_assert_lt(kc_sim_parse_ip("10.244.3.7/32", &net), 0);
    cr_assert_lt(kc_sim_parse_ip(NULL, &net), 0);
    cr_assert_lt(kc_sim_parse_cidr("10.0.0.0/24x", &net, &len), 0);
    cr_assert_eq(kc_sim_next_slot(1000, 10000, 500), 1000);
    cr_assert_eq(kc_sim_next_slot(1000, 10000, 1000), 11000);
    cr_assert_eq(kc_sim_next_slot(1000, 10000, 25000), 31000);
    char a[65], b[65];
    kc_sim_hex64("x", "y", a);
    kc_sim_hex64("x", "y", b);
    cr_assert_str_eq(a, b);
    kc_sim_hex64("x", "z", b);
    cr_assert_str_neq(a, b);
    struct timespec t = {1795896000, 123456789};
    char s[40];
    kc_sim_rfc3339_micro(&t, s);
    cr_assert_str_eq(s, "2026-11-28T20:00:00.123456Z");
    kc_sim_rfc3339_nano(&t, s);
    cr_assert_str_eq(s, "2026-11-28T20:00:00.123456789Z");
}
