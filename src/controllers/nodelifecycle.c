/* Node lifecycle controller (see nodelifecycle.h): the monitor, the condition taints and
 * taint-based eviction, over informers on nodes, leases (kube-node-lease) and pods. The rules
 * are pure functions in nodelifecycle_policy.c; this file watches, schedules and writes.
 *
 *   monitor thread, every period (5 s; KUBEC_NODE_MONITOR_PERIOD_MS):
 *     lease renewTime / Ready heartbeat advanced? --no, for grace--> conditions Unknown
 *     (PUT nodes/status); Ready went True -> not True: event NodeNotReady, pods Ready=False
 *     (pods/status)
 *   taint worker (node queue; node add/update):
 *     conditions + spec.unschedulable --> spec.taints (merge patch, resourceVersion precondition)
 *   eviction worker (pod queue; pod add/update, NoExecute taints of its node changed):
 *     untolerated NoExecute taint --> DisruptionTarget (pods/status), then DELETE, at once or at
 *     timeAdded + tolerationSeconds (delayed requeue)
 *
 * Eviction rate limit: upstream taints at most 0.1 node/s per zone (less in unhealthy zones,
 * none when a whole zone is down). Here: no limit up to 50 nodes; above, new NoExecute taints
 * go out at 0.1 node/s (one node per 10 s, swaps not-ready <-> unreachable exempt). Zone
 * disruption states are not modelled. */
#include "controllers/nodelifecycle.h"
#include "lib/clock.h"
#include "client/events.h"
#include "client/informer.h"
#include "client/workqueue.h"
#include "controllers/nodelifecycle_policy.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define LEASE_NS "kube-node-lease"
#define LARGE_CLUSTER 50
#define NOEXEC_INTERVAL_MS 10000 /* 0.1 node/s */

typedef struct nodelc {
    kc_client *c;
    kc_informer *nodes, *leases, *pods;
    kc_wq *nq, *pq;
    kc_recorder *rec, *taint_rec;
    int64_t grace_ms, startup_ms, period_ms;
    int NODE, POD, LEASE;
    int nnodes;             /* atomic: nodes in the cache */
    kc_map health;          /* node name -> nhealth (monitor thread only) */
    kc_map pending;         /* pod key -> scheduled eviction (eviction worker only) */
    int64_t last_noexec_ms; /* rate limiter (taint worker only) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t monitor, tainter, evictor;
} nodelc;

typedef struct nhealth {
    char *name;
    char uid[40];
    kc_nodelc_health h;
    uint64_t node_rev, lease_rev, settled_rev;
    bool has_ready, retry_pods, alive;
    char ready[8]; /* Ready status last observed ("" none) */
} nhealth;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void logf_err(const char *what, const char *name, const kc_err *err)
{
    fprintf(stderr, "node-lifecycle-controller: %s %s: %s\n", what, name, err->msg);
}

/* ---- informer handlers (informer threads: only queue keys) ---- */

static size_t pod_node_index(const kc_obj *o, char **keys, size_t max)
{
    const char *n = kc_obj_field(o, "spec.nodeName");
    if (!n || !*n || !max) return 0;
    keys[0] = xstrdup(n);
    return 1;
}

static void enqueue_pods_on(nodelc *l, const char *node)
{
    kc_obj **v;
    size_t n = kc_informer_by_index(l->pods, "node", node, &v);
    for (size_t i = 0; i < n; i++)
        kc_wq_add(l->pq, v[i]->key);
    kc_objv_free(v, n);
}

static bool noexec_changed(const kc_obj *old, const kc_obj *cur)
{
    if (!strstr(old->json, "NoExecute") && !strstr(cur->json, "NoExecute")) return false;
    json_t *a = kc_obj_parse(old), *b = kc_obj_parse(cur);
    json_t *ta = json_object_get(json_object_get(a, "spec"), "taints");
    json_t *tb = json_object_get(json_object_get(b, "spec"), "taints");
    bool changed = !(ta == tb || (ta && tb && json_equal(ta, tb)));
    json_decref(a);
    json_decref(b);
    return changed;
}

static void node_add(void *ud, const kc_obj *o)
{
    nodelc *l = ud;
    __atomic_add_fetch(&l->nnodes, 1, __ATOMIC_RELAXED);
    kc_wq_add(l->nq, o->name);
    if (strstr(o->json, "NoExecute")) enqueue_pods_on(l, o->name);
}

static void node_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    nodelc *l = ud;
    kc_wq_add(l->nq, cur->name);
    if (noexec_changed(old, cur)) enqueue_pods_on(l, cur->name);
}

static void node_delete(void *ud, const kc_obj *o)
{
    nodelc *l = ud;
    (void)o;
    __atomic_sub_fetch(&l->nnodes, 1, __ATOMIC_RELAXED);
}

static void pod_changed(nodelc *l, const kc_obj *o)
{
    const char *n = kc_obj_field(o, "spec.nodeName");
    if (o->deleting || !n || !*n) return;
    kc_obj *node = kc_informer_get(l->nodes, NULL, n);
    if (node && strstr(node->json, "NoExecute")) kc_wq_add(l->pq, o->key);
    kc_obj_unref(node);
}

static void pod_add(void *ud, const kc_obj *o)
{
    pod_changed(ud, o);
}

static void pod_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    pod_changed(ud, cur);
}

/* ---- monitor: heartbeats, Unknown conditions, pods not ready ---- */

/* Flips Ready=True pods of a node to False (pods/status); -1 if a write failed. */
static int mark_pods_not_ready(nodelc *l, const char *node)
{
    kc_obj **v;
    size_t n = kc_informer_by_index(l->pods, "node", node, &v);
    char now[32], patch[160];
    now_rfc3339(now);
    snprintf(patch, sizeof patch,
             "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":"
             "\"%s\"}]}}",
             now);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *doc = kc_obj_parse(v[i]);
        json_t *c = NULL, *cond;
        size_t k;
        json_array_foreach(json_object_get(json_object_get(doc, "status"), "conditions"), k,
                           cond) if (!strcmp(jstr(cond, "type"), "Ready")) c = cond;
        if (c && !strcmp(jstr(c, "status"), "True")) {
            kc_err err = KC_ERR_INIT;
            if (kc_client_patch(l->c, l->POD, v[i]->ns, v[i]->name, "status",
                                "application/strategic-merge-patch+json", patch, NULL, &err) < 0) {
                if (err.reason != KC_ENOTFOUND) rc = -1;
                kc_err_release(&err);
            } else {
                kc_event(l->rec, v[i], "Warning", "NodeNotReady", "Node is not ready");
            }
        }
        json_decref(doc);
    }
    kc_objv_free(v, n);
    return rc;
}

/* The Ready heartbeat of a parsed node ("" without a Ready condition). */
static const char *ready_heartbeat(json_t *doc)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(doc, "status"), "conditions"), i, c)
    {
        if (!strcmp(jstr(c, "type"), "Ready")) return jstr(c, "lastHeartbeatTime");
    }
    return "";
}

/* Writes the Unknown conditions (PUT nodes/status), re-reading on conflicts; gives up when the
 * re-read node has a newer heartbeat than hb (the kubelet posted meanwhile). Returns the
 * written node (a reference) or NULL when nothing was written. */
static kc_obj *write_unknown(nodelc *l, const kc_obj *node, const char *hb)
{
    char now[32];
    now_rfc3339(now);
    kc_obj *cur = (kc_obj *)node, *out = NULL;
    kc_obj_ref(cur);
    for (int attempt = 0; attempt < 3 && cur && !out; attempt++) {
        json_t *doc = kc_obj_parse(cur);
        json_t *conds = strcmp(ready_heartbeat(doc), hb) ? NULL : kc_nodelc_unknown_conditions(doc, now);
        kc_err err = KC_ERR_INIT;
        if (!conds) {
            json_decref(doc);
            break;
        }
        json_object_set_new(json_object_get(doc, "status"), "conditions", conds);
        int rc = kc_client_update(l->c, l->NODE, doc, "status", &out, &err);
        json_decref(doc);
        kc_obj_unref(cur);
        cur = NULL;
        if (rc == 0) break;
        if (err.reason == KC_ECONFLICT)
            kc_client_get(l->c, l->NODE, NULL, node->name, &cur, &err);
        else
            logf_err("update status of", node->name, &err);
        kc_err_release(&err);
    }
    kc_obj_unref(cur);
    return out;
}

static nhealth *health_of(nodelc *l, const kc_obj *node)
{
    nhealth *h = kc_map_get(&l->health, node->name);
    if (h && strcmp(h->uid, node->uid)) { /* same name, new node */
        kc_map_del(&l->health, node->name);
        free(h->name);
        free(h);
        h = NULL;
    }
    if (!h) {
        h = xcalloc(1, sizeof *h);
        h->name = xstrdup(node->name);
        snprintf(h->uid, sizeof h->uid, "%s", node->uid);
        kc_map_put(&l->health, h->name, h);
    }
    return h;
}

/* The node's Ready condition: its heartbeat and status into hb / h->ready; age since creation. */
static void read_node(nhealth *h, const kc_obj *node, char hb[48], int64_t *age_ms)
{
    json_t *nd = kc_obj_parse(node), *ready = NULL, *c;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(nd, "status"), "conditions"), i, c)
    {
        if (!strcmp(jstr(c, "type"), "Ready")) ready = c;
    }
    h->has_ready = ready != NULL;
    snprintf(hb, 48, "%s", ready ? jstr(ready, "lastHeartbeatTime") : "");
    snprintf(h->ready, sizeof h->ready, "%s", ready ? jstr(ready, "status") : "");
    int64_t created = kc_nodelc_parse_time(jstr(json_object_get(nd, "metadata"), "creationTimestamp"));
    *age_ms = created > 0 ? wall_ms() - created : 0;
    h->node_rev = node->rev;
    json_decref(nd);
}

/* Takes a look at a node and its lease, parsing only the documents that changed since the last. */
static bool look_at(nodelc *l, nhealth *h, const kc_obj *node, const kc_obj *lease, int64_t now)
{
    char hb[48], renew[48];
    int64_t age = 0;
    snprintf(hb, sizeof hb, "%s", h->h.hb);
    snprintf(renew, sizeof renew, "%s", h->h.renew);
    if (!h->h.seen || node->rev != h->node_rev) read_node(h, node, hb, &age);
    uint64_t lrev = lease ? lease->rev : 0;
    if (!h->h.seen || lrev != h->lease_rev) {
        json_t *ld = lease ? kc_obj_parse(lease) : NULL;
        snprintf(renew, sizeof renew, "%s", jstr(json_object_get(ld, "spec"), "renewTime"));
        h->lease_rev = lrev;
        json_decref(ld);
    }
    kc_nodelc_look look = {h->has_ready ? hb : NULL, *renew ? renew : NULL, age};
    return kc_nodelc_observe(&h->h, &look, now, l->grace_ms, l->startup_ms);
}

static void check_node(nodelc *l, const kc_obj *node, int64_t now)
{
    nhealth *h = health_of(l, node);
    h->alive = true;
    char was[8];
    snprintf(was, sizeof was, "%s", h->ready);
    kc_obj *lease = kc_informer_get(l->leases, LEASE_NS, node->name);
    bool overdue = look_at(l, h, node, lease, now);
    kc_obj_unref(lease);
    if (overdue && node->rev != h->settled_rev) {
        kc_obj *w = write_unknown(l, node, h->h.hb);
        h->settled_rev = w ? w->rev : node->rev;
        if (w) {
            snprintf(h->ready, sizeof h->ready, "Unknown");
            h->node_rev = w->rev;
        }
        kc_obj_unref(w);
    }
    bool down = strcmp(h->ready, "True") != 0;
    if (down && !strcmp(was, "True")) {
        kc_event(l->rec, node, "Normal", "NodeNotReady", "Node %s status is now: NodeNotReady", node->name);
        h->retry_pods = true;
    }
    if (!down) h->retry_pods = false;
    if (h->retry_pods) h->retry_pods = mark_pods_not_ready(l, node->name) < 0;
}

/* Forgets nodes that are gone (check_node marks the live ones during a pass). */
static void sweep(nodelc *l)
{
    const char *k;
    void *v;
    nhealth **gone = xcalloc(kc_map_len(&l->health) + 1, sizeof *gone);
    size_t n = 0;
    for (size_t it = 0; kc_map_next(&l->health, &it, &k, &v);) {
        nhealth *h = v;
        if (!h->alive) gone[n++] = h;
        h->alive = false;
    }
    for (size_t i = 0; i < n; i++) {
        kc_map_del(&l->health, gone[i]->name);
        free(gone[i]->name);
        free(gone[i]);
    }
    free(gone);
}

static bool wait_period(nodelc *l, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_mutex_lock(&l->mu);
    if (!l->stop) pthread_cond_timedwait(&l->cv, &l->mu, &ts);
    bool stop = l->stop;
    pthread_mutex_unlock(&l->mu);
    return !stop;
}

static void *monitor_run(void *p)
{
    nodelc *l = p;
    while (!(kc_informer_synced(l->nodes) && kc_informer_synced(l->leases) && kc_informer_synced(l->pods)))
        if (!wait_period(l, 100)) return NULL;
    while (wait_period(l, l->period_ms)) {
        kc_obj **v;
        size_t n = kc_informer_list(l->nodes, NULL, &v);
        int64_t now = (int64_t)kc_mono_ms();
        for (size_t i = 0; i < n; i++)
            check_node(l, v[i], now);
        kc_objv_free(v, n);
        sweep(l);
    }
    return NULL;
}

/* ---- taint worker ---- */

/* The 0.1 node/s limiter for new NoExecute taints above LARGE_CLUSTER nodes: 0 if allowed now,
 * else ms to wait. */
static int64_t noexec_wait(nodelc *l)
{
    if (__atomic_load_n(&l->nnodes, __ATOMIC_RELAXED) <= LARGE_CLUSTER) return 0;
    int64_t now = (int64_t)kc_mono_ms();
    if (l->last_noexec_ms && now - l->last_noexec_ms < NOEXEC_INTERVAL_MS)
        return NOEXEC_INTERVAL_MS - (now - l->last_noexec_ms);
    l->last_noexec_ms = now;
    return 0;
}

static int sync_taints(nodelc *l, const char *name)
{
    kc_obj *node = kc_informer_get(l->nodes, NULL, name);
    if (!node) return 0;
    json_t *doc = kc_obj_parse(node), *taints;
    char now[32];
    now_rfc3339(now);
    int flags = kc_nodelc_taints(doc, now, false, &taints);
    if (flags & KC_NODELC_NOEXEC_HELD) {
        int64_t wait = noexec_wait(l);
        if (!wait) {
            json_decref(taints);
            flags = kc_nodelc_taints(doc, now, true, &taints);
        } else {
            kc_wq_add_after(l->nq, name, (uint64_t)wait);
        }
    }
    int rc = 0;
    if (flags & KC_NODELC_TAINTS_CHANGED) {
        char rv[24];
        snprintf(rv, sizeof rv, "%llu", (unsigned long long)node->rev);
        json_t *patch = json_pack("{s:{s:s},s:{s:o}}", "metadata", "resourceVersion", rv, "spec", "taints",
                                  json_array_size(taints) ? json_incref(taints) : json_null());
        char *body = json_dumps(patch, JSON_COMPACT);
        kc_err err = KC_ERR_INIT;
        rc = kc_client_patch(l->c, l->NODE, NULL, name, NULL, "application/merge-patch+json", body, NULL,
                             &err);
        if (rc < 0 && err.reason == KC_ENOTFOUND) rc = 0;
        if (rc < 0 && err.reason != KC_ECONFLICT) logf_err("patch taints of", name, &err);
        kc_err_release(&err);
        free(body);
        json_decref(patch);
    }
    json_decref(taints);
    json_decref(doc);
    kc_obj_unref(node);
    return rc;
}

/* ---- eviction worker ---- */

static int evict(nodelc *l, const kc_obj *pod)
{
    char now[32], patch[256];
    now_rfc3339(now);
    snprintf(patch, sizeof patch,
             "{\"status\":{\"conditions\":[{\"type\":\"DisruptionTarget\",\"status\":\"True\",\"reason\":"
             "\"DeletionByTaintManager\",\"message\":\"Taint manager: deleting due to NoExecute taint\","
             "\"lastTransitionTime\":\"%s\"}]}}",
             now);
    kc_err err = KC_ERR_INIT;
    kc_event(l->taint_rec, pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod %s", pod->key);
    int rc = kc_client_patch(l->c, l->POD, pod->ns, pod->name, "status",
                             "application/strategic-merge-patch+json", patch, NULL, &err);
    if (rc == 0) {
        json_t *opts = json_pack("{s:{s:s}}", "preconditions", "uid", pod->uid);
        rc = kc_client_delete(l->c, l->POD, pod->ns, pod->name, opts, &err);
        json_decref(opts);
    }
    if (rc < 0 && (err.reason == KC_ENOTFOUND || err.reason == KC_ECONFLICT)) rc = 0; /* gone or replaced */
    if (rc < 0) logf_err("evict pod", pod->key, &err);
    kc_err_release(&err);
    return rc;
}

/* Remembers a pod waiting for its tolerationSeconds, so that a taint going away first is
 * reported ("Cancelling deletion"), as upstream's taint manager does. */
static void set_pending(nodelc *l, const char *key, bool on, const kc_obj *pod)
{
    char *k = kc_map_get(&l->pending, key);
    if (on && !k) {
        k = xstrdup(key);
        kc_map_put(&l->pending, k, k);
    } else if (!on && k) {
        kc_map_del(&l->pending, key);
        free(k);
        if (pod)
            kc_event(l->taint_rec, pod, "Normal", "TaintManagerEviction", "Cancelling deletion of Pod %s",
                     key);
    }
}

static int sync_pod(nodelc *l, const char *key)
{
    const char *slash = strchr(key, '/');
    char *ns = xstrndup(key, (size_t)(slash - key));
    kc_obj *pod = kc_informer_get(l->pods, ns, slash + 1), *node = NULL;
    free(ns);
    const char *nn = pod ? kc_obj_field(pod, "spec.nodeName") : NULL;
    if (pod && !pod->deleting && nn && *nn) node = kc_informer_get(l->nodes, NULL, nn);
    int64_t at = -1, now = wall_ms();
    if (node && strstr(node->json, "NoExecute")) {
        json_t *nd = kc_obj_parse(node), *pd = kc_obj_parse(pod);
        at = kc_nodelc_evict_at(json_object_get(json_object_get(pd, "spec"), "tolerations"),
                                json_object_get(json_object_get(nd, "spec"), "taints"), now);
        json_decref(nd);
        json_decref(pd);
    }
    int rc = 0;
    if (at < 0) {
        set_pending(l, key, false, pod && !pod->deleting ? pod : NULL);
    } else if (at > now) {
        set_pending(l, key, true, NULL);
        kc_wq_add_after(l->pq, key, (uint64_t)(at - now) + 5);
    } else {
        set_pending(l, key, false, NULL);
        rc = evict(l, pod);
    }
    kc_obj_unref(node);
    kc_obj_unref(pod);
    return rc;
}

/* ---- workers, start and stop ---- */

static void work(kc_wq *q, nodelc *l, int (*sync)(nodelc *, const char *))
{
    char *key;
    while ((key = kc_wq_get(q))) {
        if (sync(l, key) < 0)
            kc_wq_add_rate_limited(q, key);
        else
            kc_wq_forget(q, key);
        kc_wq_done(q, key);
        free(key);
    }
}

static void *tainter_run(void *p)
{
    nodelc *l = p;
    work(l->nq, l, sync_taints);
    return NULL;
}

static void *evictor_run(void *p)
{
    nodelc *l = p;
    work(l->pq, l, sync_pod);
    return NULL;
}

static void start_informers(nodelc *l)
{
    l->nodes = kc_informer_new(l->c, l->NODE, NULL, NULL, NULL);
    l->leases = kc_informer_new(l->c, l->LEASE, LEASE_NS, NULL, NULL);
    l->pods = kc_informer_new(l->c, l->POD, NULL, NULL, NULL);
    kc_informer_add_handlers(l->nodes, &(kc_handlers){node_add, node_update, node_delete}, l);
    kc_informer_add_handlers(l->pods, &(kc_handlers){pod_add, pod_update, NULL}, l);
    kc_informer_add_index(l->pods, "node", pod_node_index);
    kc_informer_start(l->pods);
    kc_informer_start(l->nodes);
    kc_informer_start(l->leases);
}

void *kc_nodelifecycle_start(kc_client *c, const kc_nodelc_opts *o)
{
    nodelc *l = xcalloc(1, sizeof *l);
    l->c = c;
    l->NODE = kc_resource_find("", "v1", "nodes");
    l->POD = kc_resource_find("", "v1", "pods");
    l->LEASE = kc_resource_find("coordination.k8s.io", "v1", "leases");
    l->grace_ms = (int64_t)(o && o->grace_s > 0 ? o->grace_s : 50) * 1000;
    l->startup_ms = l->grace_ms * 6 / 5; /* 60 s at the default 50 s */
    const char *env = getenv("KUBEC_NODE_MONITOR_PERIOD_MS");
    l->period_ms = env && atoi(env) > 0 ? atoi(env) : 5000;
    l->nq = kc_wq_new("node-lifecycle-taints");
    l->pq = kc_wq_new("taint-eviction");
    l->rec = kc_recorder_new(c, "node-controller", NULL);
    l->taint_rec = kc_recorder_new(c, "taint-eviction-controller", NULL);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    start_informers(l);
    pthread_create(&l->monitor, NULL, monitor_run, l);
    pthread_create(&l->tainter, NULL, tainter_run, l);
    pthread_create(&l->evictor, NULL, evictor_run, l);
    return l;
}

static void free_maps(nodelc *l)
{
    void *v;
    for (size_t it = 0; kc_map_next(&l->health, &it, NULL, &v);) {
        free(((nhealth *)v)->name);
        free(v);
    }
    kc_map_release(&l->health);
    for (size_t it = 0; kc_map_next(&l->pending, &it, NULL, &v);)
        free(v);
    kc_map_release(&l->pending);
}

void kc_nodelifecycle_stop(void *p)
{
    nodelc *l = p;
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->monitor, NULL);
    kc_informer_stop(l->nodes);
    kc_informer_stop(l->leases);
    kc_informer_stop(l->pods);
    kc_wq_shutdown(l->nq);
    kc_wq_shutdown(l->pq);
    pthread_join(l->tainter, NULL);
    pthread_join(l->evictor, NULL);
    kc_informer_free(l->nodes);
    kc_informer_free(l->leases);
    kc_informer_free(l->pods);
    kc_wq_free(l->nq);
    kc_wq_free(l->pq);
    kc_recorder_free(l->rec);
    kc_recorder_free(l->taint_rec);
    kc_client_free(l->c);
    free_maps(l);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}
