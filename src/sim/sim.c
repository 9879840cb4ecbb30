/* Simulated nodes: lifecycle of one kc_sim (start, stop), its worker pool, the two informers
 * that feed it, and the node provider the API server asks for logs and exec. The Node/Lease
 * writes live in simnode.c, the pod lifecycle in simpod.c.
 *
 * One process may run thousands of simulated nodes, so nothing is per node but data:
 *
 *   pod informer (spec.nodeName!=) --on_pod--> "p:ns/name" --+
 *   node informer --on_node--> podCIDR learnt; waiting pods --+--> workqueue --> W workers
 *   start: "n:0" .. "n:N-1" (register) ----------------------+      |
 *        ^                                                          |
 *        +---- kc_wq_add_after: lease renewals (10 s, phases spread over the period),
 *              status reports (60 s or on change), pod startup delays, grace periods
 *
 * The workqueue is the timer heap: a node re-arms one delayed add of its own key after each run
 * (kc_sim_sync_node), a pod waiting for its startup delay or grace period does the same. */
#include "lib/xalloc.h"
#include "lib/clock.h"
#include "sim/simint.h"
#include <stdio.h>
#include <string.h>

int kc_sim_node_index(const kc_sim *s, const char *name)
{
    size_t pl = strlen(s->prefix);
    if (!name || strncmp(name, s->prefix, pl) || name[pl] != '-') return -1;
    const char *d = name + pl + 1;
    if (!*d || (d[0] == '0' && d[1]) || strlen(d) > 9) return -1;
    long v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9') return -1;
        v = v * 10 + (*d - '0');
    }
    return v < s->n ? (int)v : -1;
}

/* ---- informer handlers (informer threads: only look and enqueue) ---- */

static void enqueue_pod(kc_sim *s, const kc_obj *o)
{
    char *k = xmalloc(strlen(o->key) + 3);
    sprintf(k, "p:%s", o->key);
    kc_wq_add(s->q, k);
    free(k);
}

/* Our own status write comes back as an update: skip it when nothing asks for work. */
static bool pod_settled(kc_sim *s, const kc_obj *o)
{
    pthread_mutex_lock(&s->mu);
    sim_pod *p = kc_map_get(&s->pods, o->key);
    bool settled =
        p && p->state == SP_RUNNING && !o->deleting && o->rev == p->written_rev && !strcmp(p->uid, o->uid);
    pthread_mutex_unlock(&s->mu);
    return settled;
}

static void on_pod_add(void *ud, const kc_obj *o)
{
    kc_sim *s = ud;
    if (kc_sim_node_index(s, kc_obj_field(o, "spec.nodeName")) >= 0) enqueue_pod(s, o);
}

static void on_pod_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    kc_sim *s = ud;
    (void)old;
    if (kc_sim_node_index(s, kc_obj_field(cur, "spec.nodeName")) >= 0 && !pod_settled(s, cur))
        enqueue_pod(s, cur);
}

static void on_pod_delete(void *ud, const kc_obj *o)
{
    on_pod_add(ud, o);
}

static size_t pod_node_index(const kc_obj *o, char **keys, size_t max)
{
    const char *n = kc_obj_field(o, "spec.nodeName");
    if (!n || !n[0] || !max) return 0;
    keys[0] = xstrdup(n);
    return 1;
}

/* A node's podCIDR arrived: its pods that wait for an IP can start. */
static void wake_node_pods(kc_sim *s, const char *node)
{
    kc_obj **v;
    size_t n = kc_informer_by_index(s->pod_inf, "node", node, &v);
    for (size_t i = 0; i < n; i++)
        if (!pod_settled(s, v[i])) enqueue_pod(s, v[i]);
    kc_objv_free(v, n);
}

static void on_node_add(void *ud, const kc_obj *o)
{
    kc_sim *s = ud;
    int i = kc_sim_node_index(s, o->name);
    if (i >= 0 && kc_sim_node_seen(s, &s->nodes[i], o)) wake_node_pods(s, o->name);
}

static void on_node_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    on_node_add(ud, cur);
}

static void on_node_delete(void *ud, const kc_obj *o)
{
    kc_sim *s = ud;
    int i = kc_sim_node_index(s, o->name);
    if (i < 0) return;
    pthread_mutex_lock(&s->mu);
    s->nodes[i].gone = true;
    pthread_mutex_unlock(&s->mu);
}

/* ---- workers ---- */

static void *worker(void *p)
{
    kc_sim *s = p;
    char *key;
    /* podCIDRs known before pods are adopted or started (the list's handlers record them) */
    while (!kc_informer_wait_synced(s->node_inf, 100) && !__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
    }
    while ((key = kc_wq_get(s->q))) {
        if (key[0] == 'n')
            kc_sim_sync_node(s, &s->nodes[atoi(key + 2)]);
        else
            kc_sim_sync_pod(s, key);
        kc_wq_done(s->q, key);
        free(key);
    }
    return NULL;
}

/* A few workers whatever N: writes are synchronous, so more workers mean more writes per group
 * commit, not more CPU. */
static int worker_count(int nodes)
{
    return nodes <= 10 ? 2 : nodes <= 1000 ? 4 : 8;
}

/* ---- start and stop ---- */

static void nodes_init(kc_sim *s)
{
    s->nodes = xcalloc((size_t)s->n, sizeof *s->nodes);
    for (int i = 0; i < s->n; i++) {
        sim_node *n = &s->nodes[i];
        n->idx = i;
        n->name = xmalloc(strlen(s->prefix) + 16);
        sprintf(n->name, "%s-%d", s->prefix, i);
        /* 172.16.0.1 .. 172.16.0.254, 172.16.1.1, ...: 254 nodes per third octet */
        unsigned hi = (unsigned)i / 254, lo = (unsigned)i % 254 + 1;
        snprintf(n->ip, sizeof n->ip, "172.%u.%u.%u", 16 + (hi >> 8) % 16, hi & 255, lo);
        snprintf(n->exec_msg, sizeof n->exec_msg,
                 "node %s is a simulated node (kubec sim) and cannot run commands in containers", n->name);
    }
}

static void informers_init(kc_sim *s)
{
    static const kc_handlers pod_h = {on_pod_add, on_pod_update, on_pod_delete};
    static const kc_handlers node_h = {on_node_add, on_node_update, on_node_delete};
    s->pod_inf = kc_informer_new(s->c, s->pod_res, NULL, NULL, "spec.nodeName!=");
    kc_informer_add_index(s->pod_inf, "node", pod_node_index);
    kc_informer_add_handlers(s->pod_inf, &pod_h, s);
    s->node_inf = kc_informer_new(s->c, s->node_res, NULL, NULL, NULL);
    kc_informer_add_handlers(s->node_inf, &node_h, s);
}

kc_sim *kc_sim_start(kc_client *c, const kc_sim_opts *o)
{
    if (!c || !o || o->nodes <= 0) {
        kc_client_free(c);
        return NULL;
    }
    kc_sim *s = xcalloc(1, sizeof *s);
    s->c = c;
    s->n = o->nodes;
    s->prefix = xstrdup(o->prefix && o->prefix[0] ? o->prefix : "sim");
    s->cpu = xstrdup(o->cpu && o->cpu[0] ? o->cpu : "32");
    s->memory = xstrdup(o->memory && o->memory[0] ? o->memory : "256Gi");
    s->max_pods = o->max_pods > 0 ? o->max_pods : 110;
    s->kubelet_host = o->kubelet_port > 0 && o->kubelet_host ? xstrdup(o->kubelet_host) : NULL;
    s->kubelet_port = s->kubelet_host ? o->kubelet_port : 10250;
    s->startup_ms = o->pod_startup_ms > 0 ? o->pod_startup_ms : 0;
    s->lease_ms = o->lease_ms > 0 ? (uint64_t)o->lease_ms : SIM_LEASE_MS;
    s->status_ms = s->lease_ms * SIM_STATUS_PERIODS;
    s->ticks = o->heartbeat_ticks > 0 ? (uint64_t)o->heartbeat_ticks : o->heartbeat_ticks < 0 ? s->lease_ms : SIM_TICKS;
    s->pod_res = kc_resource_find("", "v1", "pods");
    s->node_res = kc_resource_find("", "v1", "nodes");
    s->lease_res = kc_resource_find("coordination.k8s.io", "v1", "leases");
    s->t0 = kc_mono_ms();
    kc_sim_uuid(NULL, s->boot_id);
    pthread_mutex_init(&s->mu, NULL);
    nodes_init(s);
    s->q = kc_wq_new("kubec-sim");
    informers_init(s);
    for (int i = 0; i < s->n; i++) {
        char k[24];
        snprintf(k, sizeof k, "n:%d", i);
        kc_wq_add(s->q, k);
    }
    kc_informer_start(s->node_inf);
    kc_informer_start(s->pod_inf);
    s->nworkers = worker_count(s->n);
    s->workers = xcalloc((size_t)s->nworkers, sizeof *s->workers);
    for (int i = 0; i < s->nworkers; i++)
        pthread_create(&s->workers[i], NULL, worker, s);
    return s;
}

void kc_sim_stop(void *p)
{
    kc_sim *s = p;
    if (!s) return;
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    kc_wq_shutdown(s->q);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    kc_informer_free(s->pod_inf);
    kc_informer_free(s->node_inf);
    kc_wq_free(s->q);
    void *v;
    for (size_t it = 0; kc_map_next(&s->pods, &it, NULL, &v);)
        kc_sim_pod_free(v);
    kc_map_release(&s->pods);
    for (int i = 0; i < s->n; i++) {
        free(s->nodes[i].name);
        free(s->nodes[i].used);
    }
    free(s->nodes);
    free(s->workers);
    pthread_mutex_destroy(&s->mu);
    kc_client_free(s->c);
    free(s->prefix);
    free(s->cpu);
    free(s->memory);
    free(s->kubelet_host);
    free(s);
}

/* ---- the node provider (server loop thread: memory only, never a client call) ---- */

static bool has_node(void *ud, const char *node)
{
    return ud && kc_sim_node_index(ud, node) >= 0;
}

static int logs(void *ud, const char *node, const char *ns, const char *pod, const kc_log_opts *o, char **out,
                size_t *len, kc_err *err)
{
    kc_sim *s = ud;
    int idx = kc_sim_node_index(s, node);
    char *key = kc_obj_key(ns, pod);
    pthread_mutex_lock(&s->mu);
    sim_pod *p = kc_map_get(&s->pods, key);
    int rc;
    if (idx < 0 || !p || p->node != idx)
        rc = kc_errf(err, KC_EBADREQUEST,
                     "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating", o->container,
                     pod);
    else
        rc = kc_sim_pod_logs(p, o, out, len, err);
    pthread_mutex_unlock(&s->mu);
    free(key);
    return rc;
}

static const char *exec_unsupported(void *ud, const char *node)
{
    kc_sim *s = ud;
    int i = kc_sim_node_index(s, node);
    return i >= 0 ? s->nodes[i].exec_msg : NULL;
}

const kc_node_provider kc_sim_node_provider = {has_node, logs, exec_unsupported};
