/* Pods on simulated nodes: what a kubelet would report for them, without containers. Owns the
 * per-pod state (kc_sim.pods), pod IPs from the node's podCIDR, the status documents and the
 * confirmation of deletions. Node registration and heartbeats are in simnode.c.
 *
 *   bound to one of our nodes
 *      SP_NEW --(startup delay > 0: status Pending, ContainerCreating)--> SP_PENDING
 *      SP_NEW/SP_PENDING --(delay over, pod IP from podCIDR: write_status RUNNING)--> SP_RUNNING
 *      SP_RUNNING --(someone changed the status we own)--> the same status again
 *   deletionTimestamp seen (any state) --(deletionGracePeriodSeconds later)-->
 *      containers ran: write_status TERMINATED (Succeeded, terminated Completed) --> SP_TERMINATED
 *      then DELETE gracePeriodSeconds=0, uid precondition --> gone from the API
 *   gone from the informer --forget--> state freed, IP released
 *
 * A pod already Running with the status we would write (a restarted sim) is adopted as is.
 * Status writes are merge patches of /status carrying metadata.uid, so a write meant for a pod
 * never lands on a new pod of the same name (409). */
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/xalloc.h"
#include "sim/simint.h"
#include <stdio.h>
#include <string.h>

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void kc_sim_pod_free(sim_pod *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nctrs; i++) {
        free(p->ctrs[i].name);
        free(p->ctrs[i].image);
    }
    free(p->ctrs);
    free(p->key);
    free(p->uid);
    free(p);
}

/* ---- pod IPs (under s->mu) ---- */

static bool in_net(const sim_node *n, uint32_t ip)
{
    return n->prefix_len && (ip & (~0U << (32 - n->prefix_len))) == n->net;
}

static void release_ip(kc_sim *s, sim_pod *p)
{
    sim_node *n = &s->nodes[p->node];
    if (p->ip && n->used && in_net(n, p->ip)) {
        uint32_t off = p->ip - n->net;
        if (off < n->nhosts) n->used[off / 8] &= (uint8_t) ~(1U << (off % 8));
    }
    p->ip = 0;
}

static bool claim_ip(sim_node *n, uint32_t ip)
{
    uint32_t off = ip - n->net;
    if (!in_net(n, ip) || off >= n->nhosts || (n->used[off / 8] & (1U << (off % 8)))) return false;
    n->used[off / 8] |= (uint8_t)(1U << (off % 8));
    return true;
}

/* No podCIDR in time (node IPAM off or slow): 10.244.<i mod 256>.0/24, as IPAM would give. */
static void fallback_cidr(sim_node *n)
{
    n->net = (10U << 24) | (244U << 16) | ((uint32_t)(n->idx % 256) << 8);
    n->prefix_len = 24;
    n->fallback = true;
    n->nhosts = 256;
    free(n->used);
    n->used = xcalloc(n->nhosts / 8 + 1, 1);
}

/* Hands out host .2 upwards (.1 is the node's bridge, as with host-local IPAM). Returns 0, -1
 * when the node has no podCIDR yet (and no fallback is allowed), -2 when the range is full. */
static int alloc_ip(kc_sim *s, sim_pod *p, uint32_t want, bool allow_fallback)
{
    sim_node *n = &s->nodes[p->node];
    if (p->ip) return 0;
    if (want && (!in_net(n, want) || claim_ip(n, want))) return p->ip = want, 0; /* the address it had */
    if (!n->prefix_len && !allow_fallback) return -1;
    if (!n->prefix_len) fallback_cidr(n);
    for (uint32_t off = 2; off + 1 < n->nhosts; off++)
        if (claim_ip(n, n->net + off)) return p->ip = n->net + off, 0;
    return -2;
}

/* ---- per-pod state ---- */

static void read_containers(sim_pod *p, json_t *spec)
{
    json_t *lists[] = {json_object_get(spec, "initContainers"), json_object_get(spec, "containers")};
    p->nctrs = json_array_size(lists[0]) + json_array_size(lists[1]);
    p->ctrs = xcalloc(p->nctrs + 1, sizeof *p->ctrs);
    size_t k = 0, i;
    json_t *c;
    for (int l = 0; l < 2; l++)
        json_array_foreach(lists[l], i, c)
        {
            p->ctrs[k].name = xstrdup(jstr(c, "name") ?: "");
            p->ctrs[k].image = xstrdup(jstr(c, "image") ?: "");
            p->ctrs[k++].init = l == 0;
        }
}

/* The state of the pod key (under s->mu): kept while the uid is the same, fresh otherwise. */
static sim_pod *pod_state(kc_sim *s, const kc_obj *o, int node, json_t *doc)
{
    sim_pod *p = kc_map_get(&s->pods, o->key);
    if (p && !strcmp(p->uid, o->uid)) return p;
    if (p) {
        kc_map_del(&s->pods, o->key);
        release_ip(s, p);
        kc_sim_pod_free(p);
    }
    p = xcalloc(1, sizeof *p);
    p->key = xstrdup(o->key);
    p->uid = xstrdup(o->uid);
    p->node = node;
    p->seen_ms = kc_mono_ms();
    kc_sim_now_rfc3339(p->start_time);
    p->host_net = json_is_true(json_object_get(json_object_get(doc, "spec"), "hostNetwork"));
    read_containers(p, json_object_get(doc, "spec"));
    kc_map_put(&s->pods, p->key, p);
    return p;
}

static void forget(kc_sim *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    sim_pod *p = kc_map_del(&s->pods, key);
    if (p) release_ip(s, p);
    pthread_mutex_unlock(&s->mu);
    kc_sim_pod_free(p);
}

static void set_state(kc_sim *s, sim_pod *p, enum sim_pod_state st)
{
    pthread_mutex_lock(&s->mu);
    p->state = st;
    pthread_mutex_unlock(&s->mu);
}

/* The revision our status write made (or found right): its echo needs no work. */
static void set_written(kc_sim *s, sim_pod *p, uint64_t rev)
{
    pthread_mutex_lock(&s->mu);
    p->written_rev = rev;
    pthread_mutex_unlock(&s->mu);
}

/* ---- status documents ---- */

enum phase { PH_PENDING, PH_RUNNING, PH_DONE };

typedef struct status_ctx {
    kc_sim *s;
    sim_pod *p;
    json_t *doc, *spec, *old; /* the pod, its spec, its current status */
    enum phase ph;
    char now[32], started[32];
} status_ctx;

/* A condition for the new list: lastTransitionTime kept when the status did not change. */
static void add_cond(status_ctx *x, json_t *out, const char *type, bool ok, const char *reason,
                     const char *msg)
{
    const char *status = ok ? "True" : "False", *since = x->now;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(x->old, "conditions"), i,
                       c) if (!strcmp(jstr(c, "type") ?: "", type) &&
                              !strcmp(jstr(c, "status") ?: "", status)) since =
        jstr(c, "lastTransitionTime") ?: x->now;
    json_t *n = json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", status, "lastProbeTime",
                          "lastTransitionTime", since);
    if (reason) json_object_set_new(n, "reason", json_string(reason));
    if (msg) json_object_set_new(n, "message", json_string(msg));
    json_array_append_new(out, n);
}

static const char *cond_of(json_t *st, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i,
                       c) if (!strcmp(jstr(c, "type") ?: "", type)) return jstr(c, "status")
        ?: "";
    return NULL;
}

static bool is_sidecar(json_t *c)
{
    return !strcmp(jstr(c, "restartPolicy") ?: "", "Always");
}

/* "[a b]": names of the containers (app, or regular init) a Pending pod waits for. */
static char *names(json_t *list, bool init_only)
{
    kc_buf b = KC_BUF_INIT;
    size_t i;
    json_t *c;
    kc_buf_adds(&b, "[");
    json_array_foreach(list, i, c) if (!init_only || !is_sidecar(c))
        kc_buf_addf(&b, "%s%s", b.len > 1 ? " " : "", jstr(c, "name") ?: "");
    kc_buf_adds(&b, "]");
    return kc_buf_take(&b);
}

/* Ready = ContainersReady and every readiness gate's condition True (message as upstream). */
static bool gates_ready(status_ctx *x, char *why, size_t n)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(x->spec, "readinessGates"), i, g)
    {
        const char *t = jstr(g, "conditionType") ?: "", *st = cond_of(x->old, t);
        if (!st)
            snprintf(why, n, "corresponding condition of pod readiness gate \"%s\" does not exist.", t);
        else if (strcmp(st, "True"))
            snprintf(why, n, "the status of pod readiness gate \"%s\" is not \"True\", but %s", t, st);
        if (!st || strcmp(st, "True")) return false;
    }
    return true;
}

/* Conditions set by others (readiness gates, DisruptionTarget) are kept as they are. */
static void keep_foreign(status_ctx *x, json_t *out)
{
    static const char *ours[] = {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                 "PodScheduled"};
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(x->old, "conditions"), i, c)
    {
        bool mine = false;
        for (size_t k = 0; k < sizeof ours / sizeof *ours; k++)
            mine |= !strcmp(jstr(c, "type") ?: "", ours[k]);
        if (!mine) json_array_append(out, c);
    }
}

static json_t *conditions(status_ctx *x)
{
    json_t *out = json_array();
    bool run = x->ph == PH_RUNNING, done = x->ph == PH_DONE;
    char *waiting = names(json_object_get(x->spec, "containers"), false);
    char *initw = names(json_object_get(x->spec, "initContainers"), true);
    char msg[600], imsg[600], gate[400];
    snprintf(msg, sizeof msg, "containers with unready status: %s", waiting);
    snprintf(imsg, sizeof imsg, "containers with incomplete status: %s", initw);
    bool init_pending = x->ph == PH_PENDING && strcmp(initw, "[]");
    bool gates = !run || gates_ready(x, gate, sizeof gate);
    const char *creason = done  ? "PodCompleted"
                          : run ? NULL
                                : "ContainersNotReady",
               *cmsg = run || done ? NULL : msg;
    const char *rreason = run && !gates ? "ReadinessGatesNotReady" : creason,
               *rmsg = run && !gates ? gate : cmsg;
    add_cond(x, out, "PodReadyToStartContainers", run, NULL, NULL);
    add_cond(x, out, "Initialized", !init_pending, init_pending ? "ContainersNotInitialized" : NULL,
             init_pending ? imsg : NULL);
    add_cond(x, out, "Ready", run && gates, rreason, rmsg);
    add_cond(x, out, "ContainersReady", run, creason, cmsg);
    add_cond(x, out, "PodScheduled", true, NULL, NULL);
    keep_foreign(x, out);
    free(waiting);
    free(initw);
    return out;
}

static json_t *terminated(status_ctx *x, const char *cid)
{
    const char *fin = x->ph == PH_DONE ? x->now : x->started;
    return json_pack("{s:{s:i,s:s,s:s,s:s,s:s}}", "terminated", "exitCode", 0, "reason", "Completed",
                     "startedAt", x->started, "finishedAt", fin, "containerID", cid);
}

/* One containerStatuses entry; init: a regular init container (runs to completion first). */
static json_t *ctr_status(status_ctx *x, json_t *c, bool init)
{
    const char *name = jstr(c, "name") ?: "";
    char full[700], id[800], hex[65], cid[90];
    kc_sim_image_ref(jstr(c, "image"), full, sizeof full, id, sizeof id);
    kc_sim_hex64(x->p->uid, name, hex);
    snprintf(cid, sizeof cid, "kubec-sim://%s", hex);
    bool up = x->ph == PH_RUNNING, has_init = json_array_size(json_object_get(x->spec, "initContainers")) > 0;
    json_t *state;
    if (x->ph == PH_PENDING)
        state = json_pack("{s:{s:s}}", "waiting", "reason",
                          init || has_init ? "PodInitializing" : "ContainerCreating");
    else if (init || x->ph == PH_DONE)
        state = terminated(x, cid);
    else
        state = json_pack("{s:{s:s}}", "running", "startedAt", x->started);
    json_t *st =
        json_pack("{s:s,s:s,s:s,s:b,s:b,s:i,s:o,s:{}}", "name", name, "image", full, "imageID",
                  x->ph == PH_PENDING ? "" : id, "ready", (up && !init) || (init && x->ph != PH_PENDING),
                  "started", up && !init, "restartCount", 0, "state", state, "lastState");
    if (x->ph != PH_PENDING) json_object_set_new(st, "containerID", json_string(cid));
    return st;
}

static json_t *ctr_statuses(status_ctx *x, const char *list, bool init_list)
{
    json_t *out = json_array(), *c;
    size_t i;
    json_array_foreach(json_object_get(x->spec, list), i, c)
        json_array_append_new(out, ctr_status(x, c, init_list && !is_sidecar(c)));
    return out;
}

static json_t *status_doc(status_ctx *x)
{
    sim_node *n = &x->s->nodes[x->p->node];
    static const char *phases[] = {"Pending", "Running", "Succeeded"};
    json_t *st =
        json_pack("{s:s,s:s,s:[{s:s}],s:s,s:o,s:o}", "phase", phases[x->ph], "hostIP", n->ip, "hostIPs", "ip",
                  n->ip, "startTime", jstr(x->old, "startTime") ?: x->p->start_time, "conditions",
                  conditions(x), "containerStatuses", ctr_statuses(x, "containers", false));
    if (json_array_size(json_object_get(x->spec, "initContainers")))
        json_object_set_new(st, "initContainerStatuses", ctr_statuses(x, "initContainers", true));
    if (x->p->ip || (x->p->host_net && x->ph != PH_PENDING)) {
        char ip[16];
        if (x->p->host_net)
            snprintf(ip, sizeof ip, "%s", n->ip);
        else
            kc_sim_ip_str(x->p->ip, ip);
        json_object_set_new(st, "podIP", json_string(ip));
        json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", ip));
    }
    return json_pack("{s:{s:s},s:o}", "metadata", "uid", x->p->uid, "status", st);
}

/* Writes the status for phase ph. 1: the pod is gone or replaced (nothing to do), 0 written. */
static int write_status(kc_sim *s, sim_pod *p, json_t *doc, enum phase ph, kc_err *err)
{
    status_ctx x = {s, p, doc, json_object_get(doc, "spec"), json_object_get(doc, "status"), ph, "", ""};
    kc_sim_now_rfc3339(x.now);
    kc_sim_rfc3339(&p->started, x.started);
    json_t *body = status_doc(&x);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    json_t *md = json_object_get(doc, "metadata");
    kc_obj *o = NULL;
    int rc = kc_client_patch(s->c, s->pod_res, jstr(md, "namespace"), jstr(md, "name"), "status",
                             "application/merge-patch+json", text, &o, err);
    free(text);
    if (rc == 0) set_written(s, p, o->rev);
    kc_obj_unref(o);
    if (rc < 0 && (err->reason == KC_ENOTFOUND || err->reason == KC_ECONFLICT)) {
        kc_err_release(err);
        return 1;
    }
    return rc;
}

/* Is the pod's status what a running pod on this node reports (so nothing to write)? */
static bool running_ok(status_ctx *x)
{
    json_t *st = x->old, *c;
    if (strcmp(jstr(st, "phase") ?: "", "Running") || !jstr(st, "podIP") || !jstr(st, "hostIP")) return false;
    static const char *conds[] = {"PodReadyToStartContainers", "Initialized", "ContainersReady",
                                  "PodScheduled"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(cond_of(st, conds[i]) ?: "", "True")) return false;
    char why[400];
    if (strcmp(cond_of(st, "Ready") ?: "", gates_ready(x, why, sizeof why) ? "True" : "False")) return false;
    json_t *cs = json_object_get(st, "containerStatuses");
    if (json_array_size(cs) != json_array_size(json_object_get(x->spec, "containers"))) return false;
    size_t i;
    json_array_foreach(cs, i, c) if (!json_is_true(json_object_get(c, "ready"))) return false;
    return true;
}

/* ---- the pod's key ---- */

static void started_from(sim_pod *p, json_t *st)
{
    const char *t = jstr(
        json_object_get(json_object_get(json_array_get(json_object_get(st, "containerStatuses"), 0), "state"),
                        "running"),
        "startedAt");
    struct tm tm = {0};
    if (t && strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm))
        p->started = (struct timespec){timegm(&tm), 0};
    else
        clock_gettime(CLOCK_REALTIME, &p->started);
}

/* A pod already running as we would report it (this sim restarted): take it over. */
static bool adopt(kc_sim *s, sim_pod *p, const kc_obj *o, status_ctx *x)
{
    if (!running_ok(x)) return false;
    uint32_t ip;
    pthread_mutex_lock(&s->mu);
    if (kc_sim_parse_ip(jstr(x->old, "podIP"), &ip) == 0) alloc_ip(s, p, ip, false);
    started_from(p, x->old);
    p->state = SP_RUNNING;
    p->written_rev = o->rev;
    pthread_mutex_unlock(&s->mu);
    return true;
}

static uint32_t old_ip(json_t *st)
{
    uint32_t ip;
    return kc_sim_parse_ip(jstr(st, "podIP"), &ip) == 0 ? ip : 0;
}

/* Pending -> Running once the startup delay is over and an IP is there. Returns < 0 to retry. */
static int start(kc_sim *s, sim_pod *p, const char *qkey, json_t *doc, kc_err *err)
{
    uint64_t now = kc_mono_ms(), due = p->seen_ms + (uint64_t)s->startup_ms;
    if (s->startup_ms > 0 && p->state == SP_NEW) {
        int rc = write_status(s, p, doc, PH_PENDING, err);
        if (rc != 0) return rc;
        set_state(s, p, SP_PENDING); /* the delay runs from seen_ms */
    }
    if (now < due) return kc_wq_add_after(s->q, qkey, due - now), 0;
    pthread_mutex_lock(&s->mu);
    int ip = p->host_net
                 ? 0
                 : alloc_ip(s, p, old_ip(json_object_get(doc, "status")), now >= due + SIM_CIDR_WAIT_MS);
    if (ip == 0) clock_gettime(CLOCK_REALTIME, &p->started);
    pthread_mutex_unlock(&s->mu);
    if (ip == -1) return kc_wq_add_after(s->q, qkey, 200), 0; /* the podCIDR arriving wakes it earlier */
    if (ip == -2) return kc_wq_add_after(s->q, qkey, 1000), 0;
    enum sim_pod_state before = p->state;
    set_state(s, p, SP_RUNNING); /* logs answer as soon as the API shows Running */
    int rc = write_status(s, p, doc, PH_RUNNING, err);
    if (rc < 0) set_state(s, p, before);
    return rc < 0 ? -1 : 0;
}

static int sync_live(kc_sim *s, sim_pod *p, const kc_obj *o, const char *qkey, json_t *doc, kc_err *err)
{
    status_ctx x = {s,          p,  doc, json_object_get(doc, "spec"), json_object_get(doc, "status"),
                    PH_RUNNING, "", ""};
    const char *phase = jstr(x.old, "phase") ?: "";
    if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed") || p->state == SP_TERMINATED) return 0;
    if (p->state == SP_RUNNING) {
        if (o->rev == p->written_rev) return 0;
        if (running_ok(&x)) return set_written(s, p, o->rev), 0;
        return write_status(s, p, doc, PH_RUNNING, err) < 0 ? -1 : 0;
    }
    if (p->state == SP_NEW && adopt(s, p, o, &x)) return 0;
    return start(s, p, qkey, doc, err);
}

/* The grace period is over: containers stop (status), then the pod leaves the API. */
static int sync_deleting(kc_sim *s, sim_pod *p, const char *qkey, json_t *doc, kc_err *err)
{
    json_t *md = json_object_get(doc, "metadata");
    uint64_t now = kc_mono_ms();
    if (!p->delete_seen_ms) p->delete_seen_ms = now;
    json_int_t grace = json_integer_value(json_object_get(md, "deletionGracePeriodSeconds"));
    uint64_t due = p->delete_seen_ms + (uint64_t)(grace > 0 ? grace : 0) * 1000;
    if (now < due) return kc_wq_add_after(s->q, qkey, due - now), 0;
    const char *phase = jstr(json_object_get(doc, "status"), "phase") ?: "";
    bool terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
    if (p->state == SP_RUNNING && !terminal) {
        int rc = write_status(s, p, doc, PH_DONE, err);
        if (rc != 0) return rc < 0 ? -1 : 0;
        set_state(s, p, SP_TERMINATED);
    }
    json_t *opts = json_pack("{s:s,s:s,s:i,s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                             "gracePeriodSeconds", 0, "preconditions", "uid", p->uid);
    int rc = kc_client_delete(s->c, s->pod_res, jstr(md, "namespace"), jstr(md, "name"), opts, err);
    json_decref(opts);
    if (rc < 0 && (err->reason == KC_ENOTFOUND || err->reason == KC_ECONFLICT)) {
        kc_err_release(err);
        rc = 0;
    }
    return rc;
}

void kc_sim_sync_pod(kc_sim *s, const char *qkey)
{
    const char *key = qkey + 2, *slash = strchr(key, '/');
    if (!slash) return;
    char *ns = xstrndup(key, (size_t)(slash - key));
    kc_obj *o = kc_informer_get(s->pod_inf, ns, slash + 1);
    free(ns);
    int node = o ? kc_sim_node_index(s, kc_obj_field(o, "spec.nodeName")) : -1;
    if (node < 0) {
        forget(s, key);
        kc_wq_forget(s->q, qkey);
        kc_obj_unref(o);
        return;
    }
    json_t *doc = kc_obj_parse(o);
    pthread_mutex_lock(&s->mu);
    sim_pod *p = pod_state(s, o, node, doc);
    pthread_mutex_unlock(&s->mu);
    kc_err err = KC_ERR_INIT;
    int rc = o->deleting ? sync_deleting(s, p, qkey, doc, &err) : sync_live(s, p, o, qkey, doc, &err);
    if (rc < 0) {
        fprintf(stderr, "kubec-sim: pod=%s: %s\n", key, err.msg);
        kc_err_release(&err);
        kc_wq_add_rate_limited(s->q, qkey);
    } else {
        kc_wq_forget(s->q, qkey);
    }
    json_decref(doc);
    kc_obj_unref(o);
}

/* ---- logs ---- */

int kc_sim_pod_logs(const sim_pod *p, const kc_log_opts *o, char **out, size_t *len, kc_err *err)
{
    const char *pod = strchr(p->key, '/') + 1;
    const sim_ctr *c = NULL;
    for (size_t i = 0; i < p->nctrs; i++)
        if (!strcmp(p->ctrs[i].name, o->container)) c = &p->ctrs[i];
    if (!c) return kc_errf(err, KC_EBADREQUEST, "container %s is not valid for pod %s", o->container, pod);
    if (p->state < SP_RUNNING)
        return kc_errf(err, KC_EBADREQUEST, "container \"%s\" in pod \"%s\" is waiting to start: %s",
                       o->container, pod, "ContainerCreating");
    if (o->previous)
        return kc_errf(err, KC_EBADREQUEST, "previous terminated container \"%s\" in pod \"%s\" not found",
                       o->container, pod);
    kc_buf b = KC_BUF_INIT;
    kc_buf_adds(&b, "");
    if (o->tail_lines != 0) {
        char ts[40];
        kc_sim_rfc3339_nano(&p->started, ts);
        if (o->timestamps) kc_buf_addf(&b, "%s ", ts);
        kc_buf_addf(&b, "kubec-sim: started container %s (image %s)\n", c->name, c->image);
    }
    if (o->limit_bytes >= 0 && b.len > (size_t)o->limit_bytes) b.len = (size_t)o->limit_bytes;
    *len = b.len;
    *out = kc_buf_take(&b);
    (*out)[*len] = 0;
    return 0;
}
