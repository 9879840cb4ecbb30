/* A simulated node as the API sees it: its Node object (labels, capacity, addresses, nodeInfo,
 * conditions), its Lease in kube-node-lease, and the timers that keep both fresh, as the
 * kubelet's node status loop and lease controller do. It also learns the node's spec.podCIDR
 * for pod IPs. A node of a `kubec sim` process also says where its kubelet endpoint listens
 * (daemonEndpoints port, kubec.io/kubelet-host annotation). It owns no pod state (simpod.c).
 *
 *   "n:i" runs --kc_sim_sync_node-->
 *     not registered: create Node (AlreadyExists: patch its status), create Lease (AlreadyExists:
 *                     patch it) --> registered, first renewal at t0 + phase(i) + k*10 s
 *     registered:     lease due --> patch renewTime (NotFound: create it again);
 *                                   the cached Node changed by someone else and no longer
 *                                   Ready/healthy --> status now
 *                     status due (60 s) --> patch status (heartbeat times)
 *     then: one delayed add of "n:i" for the earliest due time (arm)
 *
 * A node deleted by someone after registration gets no more writes (the kubelet does not
 * re-register either); a stopped sim simply stops, like a crashed node. */
#include "lib/xalloc.h"
#include "lib/clock.h"
#include "sim/simint.h"
#include <stdio.h>
#include <string.h>

/* ---- documents ---- */

static json_t *resources(const kc_sim *s)
{
    char pods[16];
    snprintf(pods, sizeof pods, "%d", s->max_pods);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "cpu", s->cpu, "memory", s->memory, "pods", pods,
                     "ephemeral-storage", "100Gi", "hugepages-1Gi", "0", "hugepages-2Mi", "0");
}

static json_t *condition(const char *type, const char *status, const char *reason, const char *msg,
                         const char *hb, const char *since)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", status, "reason", reason, "message",
                     msg, "lastHeartbeatTime", hb, "lastTransitionTime", since);
}

static json_t *node_info(const kc_sim *s, const sim_node *n)
{
    char machine[65], sys[37], boot[37], seed[128];
    kc_sim_hex64("machine-id", n->name, machine);
    machine[32] = 0;
    kc_sim_uuid(n->name, sys);
    snprintf(seed, sizeof seed, "%s/%s", s->boot_id, n->name);
    kc_sim_uuid(seed, boot);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "architecture", "amd64", "bootID", boot,
                     "containerRuntimeVersion", "kubec-sim://1.0", "kernelVersion", "6.1.0-kubec-sim",
                     "kubeProxyVersion", "v1.32.0-kubec", "kubeletVersion", "v1.32.0-kubec", "machineID",
                     machine, "operatingSystem", "linux", "osImage", "kubec simulated node", "systemUUID",
                     sys);
}

static json_t *node_status(const kc_sim *s, const sim_node *n)
{
    char now[32];
    kc_sim_now_rfc3339(now);
    const char *since = n->ready_since;
    json_t *conds = json_array();
    json_array_append_new(conds, condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                           "kubelet has sufficient memory available", now, since));
    json_array_append_new(conds, condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                                           "kubelet has no disk pressure", now, since));
    json_array_append_new(conds, condition("PIDPressure", "False", "KubeletHasSufficientPID",
                                           "kubelet has sufficient PID available", now, since));
    json_array_append_new(
        conds, condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now, since));
    json_t *addrs = json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "InternalIP", "address", n->ip, "type",
                              "Hostname", "address", n->name);
    return json_pack("{s:o,s:o,s:o,s:o,s:{s:{s:i}},s:o,s:[]}", "capacity", resources(s), "allocatable",
                     resources(s), "conditions", conds, "addresses", addrs, "daemonEndpoints",
                     "kubeletEndpoint", "Port", s->kubelet_port, "nodeInfo", node_info(s, n), "images");
}

static json_t *node_doc(const kc_sim *s, const sim_node *n)
{
    json_t *doc = json_pack(
        "{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s},s:{s:s,s:s}},s:{},s:o}", "apiVersion", "v1", "kind", "Node",
        "metadata", "name", n->name, "labels", "kubernetes.io/hostname", n->name, "kubernetes.io/os", "linux",
        "kubernetes.io/arch", "amd64", "node.kubernetes.io/instance-type", "kubec-sim", "annotations",
        "node.alpha.kubernetes.io/ttl", "0", "volumes.kubernetes.io/controller-managed-attach-detach", "true",
        "spec", "status", node_status(s, n));
    if (s->kubelet_host)
        json_object_set_new(json_object_get(json_object_get(doc, "metadata"), "annotations"),
                            KC_NODE_KUBELET_HOST_ANNOTATION, json_string(s->kubelet_host));
    return doc;
}

static json_t *lease_doc(const sim_node *n, const char *uid)
{
    struct timespec t;
    char renew[40];
    clock_gettime(CLOCK_REALTIME, &t);
    kc_sim_rfc3339_micro(&t, renew);
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:[{s:s,s:s,s:s,s:s}]},s:{s:s,s:i,s:s}}", "apiVersion",
                     "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", n->name, "namespace",
                     SIM_LEASE_NS, "ownerReferences", "apiVersion", "v1", "kind", "Node", "name", n->name,
                     "uid", uid, "spec", "holderIdentity", n->name, "leaseDurationSeconds", 40, "renewTime",
                     renew);
}

/* ---- writes ---- */

static int patch(kc_sim *s, int res, const char *ns, const char *name, const char *sub, json_t *doc,
                 kc_obj **out, kc_err *err)
{
    char *body = json_dumps(doc, JSON_COMPACT);
    int rc = kc_client_patch(s->c, res, ns, name, sub, "application/merge-patch+json", body, out, err);
    free(body);
    return rc;
}

/* A restarted `kubec sim` listens on another port: the Node it finds says where, as a new one would. */
static int advertise_endpoint(kc_sim *s, sim_node *n, kc_err *err)
{
    if (!s->kubelet_host) return 0;
    json_t *doc = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", KC_NODE_KUBELET_HOST_ANNOTATION,
                            s->kubelet_host);
    int rc = patch(s, s->node_res, NULL, n->name, NULL, doc, NULL, err);
    json_decref(doc);
    return rc;
}

/* Posts the full status (heartbeat times now); remembers the revision written. */
static int write_status(kc_sim *s, sim_node *n, kc_err *err)
{
    json_t *doc = json_pack("{s:o}", "status", node_status(s, n));
    kc_obj *o = NULL;
    int rc = patch(s, s->node_res, NULL, n->name, "status", doc, &o, err);
    json_decref(doc);
    if (rc == 0) n->written_rev = o->rev;
    kc_obj_unref(o);
    return rc;
}

static void set_uid(kc_sim *s, sim_node *n, const kc_obj *o)
{
    pthread_mutex_lock(&s->mu);
    snprintf(n->uid, sizeof n->uid, "%s", o->uid);
    n->gone = false;
    pthread_mutex_unlock(&s->mu);
}

/* Creates the Node, or reports the status of the one that exists (a restarted sim). */
static int register_node(kc_sim *s, sim_node *n, kc_err *err)
{
    kc_sim_now_rfc3339(n->ready_since);
    json_t *doc = node_doc(s, n);
    kc_obj *o = NULL;
    int rc = kc_client_create(s->c, s->node_res, NULL, doc, &o, err);
    json_decref(doc);
    if (rc < 0 && err->reason == KC_EALREADYEXISTS) {
        kc_err_release(err);
        json_t *st = json_pack("{s:o}", "status", node_status(s, n));
        rc = advertise_endpoint(s, n, err);
        if (rc == 0) rc = patch(s, s->node_res, NULL, n->name, "status", st, &o, err);
        json_decref(st);
    }
    if (rc < 0) return kc_err_wrap(err, "register node %s", n->name);
    n->written_rev = o->rev;
    set_uid(s, n, o);
    kc_obj_unref(o);
    return 0;
}

/* The Lease exists, owned by the Node, held by it and freshly renewed. */
static int ensure_lease(kc_sim *s, sim_node *n, kc_err *err)
{
    char uid[40];
    pthread_mutex_lock(&s->mu);
    snprintf(uid, sizeof uid, "%s", n->uid);
    pthread_mutex_unlock(&s->mu);
    json_t *doc = lease_doc(n, uid);
    int rc = kc_client_create(s->c, s->lease_res, SIM_LEASE_NS, doc, NULL, err);
    if (rc < 0 && err->reason == KC_EALREADYEXISTS) {
        kc_err_release(err);
        json_object_del(doc, "apiVersion");
        json_object_del(doc, "kind");
        rc = patch(s, s->lease_res, SIM_LEASE_NS, n->name, NULL, doc, NULL, err);
    }
    json_decref(doc);
    return rc < 0 ? kc_err_wrap(err, "lease %s/%s", SIM_LEASE_NS, n->name) : 0;
}

static int renew_lease(kc_sim *s, sim_node *n, kc_err *err)
{
    struct timespec t;
    char renew[40], body[96];
    clock_gettime(CLOCK_REALTIME, &t);
    kc_sim_rfc3339_micro(&t, renew);
    snprintf(body, sizeof body, "{\"spec\":{\"renewTime\":\"%s\"}}", renew);
    int rc = kc_client_patch(s->c, s->lease_res, SIM_LEASE_NS, n->name, NULL, "application/merge-patch+json",
                             body, NULL, err);
    if (rc < 0 && err->reason == KC_ENOTFOUND) {
        kc_err_release(err);
        return ensure_lease(s, n, err);
    }
    return rc < 0 ? kc_err_wrap(err, "renew lease %s/%s", SIM_LEASE_NS, n->name) : 0;
}

/* ---- status checks ---- */

static const char *cond_status(json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "",
                                                type)) return json_string_value(json_object_get(c, "status"))
        ?: "";
    return "";
}

/* Did someone else (the node lifecycle controller marking it Unknown, a stray write) change
 * what this node reports? Cheap when nothing but us wrote since our last write. */
static bool status_stale(kc_sim *s, sim_node *n)
{
    kc_obj *o = kc_informer_get(s->node_inf, NULL, n->name);
    if (!o || o->rev == n->written_rev) {
        kc_obj_unref(o);
        return false;
    }
    json_t *doc = kc_obj_parse(o), *st = json_object_get(doc, "status");
    json_t *conds = json_object_get(st, "conditions");
    bool ready = !strcmp(cond_status(conds, "Ready"), "True");
    bool stale = !ready || strcmp(cond_status(conds, "MemoryPressure"), "False") ||
                 strcmp(cond_status(conds, "DiskPressure"), "False") ||
                 strcmp(cond_status(conds, "PIDPressure"), "False") || !json_object_get(st, "allocatable") ||
                 !json_object_get(st, "nodeInfo");
    if (!ready) kc_sim_now_rfc3339(n->ready_since); /* it becomes Ready again now */
    if (!stale) n->written_rev = o->rev;            /* spec or metadata changes: nothing to report */
    json_decref(doc);
    kc_obj_unref(o);
    return stale;
}

/* ---- the node's key ---- */

static void node_key(const sim_node *n, char out[24])
{
    snprintf(out, 24, "n:%d", n->idx);
}

static void report(const sim_node *n, kc_err *err)
{
    fprintf(stderr, "kubec-sim: node=%s: %s\n", n->name, err->msg);
    kc_err_release(err);
}

/* Each node's timers keep a fixed phase within the period, so N nodes spread their writes
 * over it; phases are rounded down to SIM_TICKS ticks per lease period (100 ms for the default
 * 10 s): with N = 5000, 50 renewals every 100 ms rather than one every 2 ms, so the workers
 * write them concurrently and the server commits them in groups instead of paying a commit
 * (an fsync and a wake-up of every watcher) per renewal. The first renewal comes at least
 * half a period after registration. `kubec sim --heartbeat-ticks 0` gives every node its own
 * phase (1 ms resolution), as independent kubelets would. */
static uint64_t phase(const kc_sim *s, const sim_node *n, uint64_t period)
{
    uint64_t tick = s->lease_ms / s->ticks ? s->lease_ms / s->ticks : 1;
    return s->t0 + (uint64_t)n->idx * period / (uint64_t)s->n / tick * tick;
}

static void schedule(kc_sim *s, sim_node *n, uint64_t now)
{
    uint64_t lp = phase(s, n, s->lease_ms), sp = phase(s, n, s->status_ms);
    if (now >= n->next_lease) n->next_lease = kc_sim_next_slot(lp, s->lease_ms, now + s->lease_ms / 2);
    if (now >= n->next_status) n->next_status = kc_sim_next_slot(sp, s->status_ms, now + s->status_ms / 2);
}

static void heartbeat(kc_sim *s, sim_node *n, uint64_t now)
{
    kc_err err = KC_ERR_INIT;
    bool lease_due = now >= n->next_lease;
    if (lease_due && renew_lease(s, n, &err) < 0) {
        report(n, &err);
        n->next_lease = now + 1000; /* retry soon, not at the next slot */
        lease_due = false;
    }
    if ((lease_due && status_stale(s, n)) || now >= n->next_status) {
        if (write_status(s, n, &err) < 0) report(n, &err);
        n->next_status = 0;
    }
    if (lease_due) n->next_lease = 0;
    schedule(s, n, now);
}

/* One delayed add of the node's key for its earliest due time, unless one is pending already. */
static void arm(kc_sim *s, sim_node *n, uint64_t now)
{
    uint64_t next = n->next_lease < n->next_status ? n->next_lease : n->next_status;
    if (n->armed && n->armed <= next) return;
    char k[24];
    node_key(n, k);
    kc_wq_add_after(s->q, k, next > now ? next - now : 0);
    n->armed = next;
}

void kc_sim_sync_node(kc_sim *s, sim_node *n)
{
    uint64_t now = kc_mono_ms();
    char k[24];
    node_key(n, k);
    if (n->armed && n->armed <= now) n->armed = 0; /* this is the armed run */
    if (!n->registered) {
        kc_err err = KC_ERR_INIT;
        if ((!n->written_rev && register_node(s, n, &err) < 0) || ensure_lease(s, n, &err) < 0) {
            report(n, &err);
            kc_wq_add_rate_limited(s->q, k);
            return;
        }
        kc_wq_forget(s->q, k);
        n->registered = true;
        schedule(s, n, now);
    } else {
        pthread_mutex_lock(&s->mu);
        bool gone = n->gone;
        pthread_mutex_unlock(&s->mu);
        if (gone) return; /* deleted by someone: no more heartbeats, no timer */
        heartbeat(s, n, now);
    }
    arm(s, n, now);
}

/* ---- podCIDR ---- */

static void set_cidr(kc_sim *s, sim_node *n, uint32_t net, int len)
{
    pthread_mutex_lock(&s->mu);
    n->net = net;
    n->prefix_len = len;
    n->fallback = false;
    n->nhosts = len >= 16 ? 1U << (32 - len) : 65536;
    free(n->used);
    n->used = xcalloc(n->nhosts / 8 + 1, 1);
    pthread_mutex_unlock(&s->mu);
}

bool kc_sim_node_seen(kc_sim *s, sim_node *n, const kc_obj *o)
{
    pthread_mutex_lock(&s->mu);
    n->gone = false;
    bool need = n->prefix_len == 0 || n->fallback;
    pthread_mutex_unlock(&s->mu);
    if (!need || !strstr(o->json, "\"podCIDR\"")) return false;
    json_t *doc = kc_obj_parse(o);
    const char *cidr = json_string_value(json_object_get(json_object_get(doc, "spec"), "podCIDR"));
    uint32_t net;
    int len;
    bool ok = kc_sim_parse_cidr(cidr, &net, &len) == 0;
    if (ok) set_cidr(s, n, net, len);
    json_decref(doc);
    return ok;
}
