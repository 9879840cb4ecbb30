/* The scheduler component: informers feed an inbox, one thread owns the cache and the queue and
 * runs one scheduling cycle at a time, binder workers write the results.
 *
 *   informer threads: parse pods/nodes --push--> inbox
 *   binder workers:   binding failed   --push--> inbox
 *   scheduler thread: loop { drain inbox into cache/queue; pop a pod; cycle;
 *                            fits: assume + bind job | none: unschedulable + status job }
 *
 * Cluster events that may make unschedulable pods fit (node added or changed, assigned pod
 * deleted or added by someone else, an assumed pod forgotten) move them to backoff/active;
 * besides, they are retried after 5 minutes in any case. */
#include "scheduler/scheduler.h"
#include "lib/clock.h"
#include "client/informer.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include "scheduler/binder.h"
#include "scheduler/sched.h"
#include <pthread.h>
#include <time.h>

#ifndef BINDERS
#define BINDERS 32 /* concurrent bindings: more writes per store group commit */
#endif
#define INITIAL_BACKOFF_MS 1000
#define MAX_BACKOFF_MS 10000
#define UNSCHED_MAX_MS (5 * 60 * 1000)

enum { EV_POD_SET, EV_POD_DEL, EV_NODE_SET, EV_NODE_DEL, EV_BIND_FAILED, EV_MOVE };

typedef struct ev {
    int kind;
    kc_sched_pod *pod;
    kc_sched_node *node;
    char *key;
    bool gone;
    struct ev *next;
} ev;

enum { INF_PODS, INF_NODES, INF_NS, INF_SVC, INF_RS, INF_STS, NINF };

struct kc_scheduler {
    kc_client *c;
    kc_informer *inf[NINF];
    kc_sched_binder *binder;
    kc_sched_volumes *vol; /* VolumeBinding (volume.c) */
    kc_sched_cache *cache;
    kc_sched_queue *queue;
    kc_sched_ctx ctx;
    kc_sched_lookup lk;
    pthread_mutex_t mu; /* inbox */
    pthread_cond_t cv;
    ev *head, **tail;
    bool stop;
    pthread_t thread;
    uint64_t last_flush;
    kc_map selectors; /* "<res>/<key>" -> selcache: spec.selector of Services, RSs, StatefulSets */
};

typedef struct selcache {
    char *key;
    uint64_t rev;
    json_t *sel;
} selcache;

/* ---- inbox ---- */

static void push_ev(kc_scheduler *s, ev *e)
{
    pthread_mutex_lock(&s->mu);
    *s->tail = e;
    s->tail = &e->next;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void push(kc_scheduler *s, int kind, kc_sched_pod *p, kc_sched_node *n, const char *key)
{
    ev *e = xcalloc(1, sizeof *e);
    *e = (ev){kind, p, n, key ? xstrdup(key) : NULL, false, NULL};
    push_ev(s, e);
}

static bool stopping(kc_scheduler *s)
{
    return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE);
}

static void ev_free(ev *e)
{
    kc_sched_pod_free(e->pod);
    kc_sched_node_free(e->node);
    free(e->key);
    free(e);
}

/* ---- informer handlers (informer threads: parse, then queue) ---- */

static bool terminal(const kc_obj *o)
{
    const char *ph = kc_obj_field(o, "status.phase");
    return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

/* Updates of a bound pod that change nothing the scheduler counts (status, mostly). */
static bool boring_update(const kc_obj *old, const kc_obj *cur)
{
    const char *on = kc_obj_field(old, "spec.nodeName"), *cn = kc_obj_field(cur, "spec.nodeName");
    if (!on || !cn || !*on || strcmp(on, cn)) return false;
    if (old->deleting != cur->deleting || terminal(old) != terminal(cur)) return false;
    return (!old->labels && !cur->labels) ||
           (old->labels && cur->labels && json_equal(old->labels, cur->labels));
}

static void pod_add(void *ud, const kc_obj *o)
{
    push(ud, EV_POD_SET, kc_sched_pod_new(o), NULL, NULL);
}

static void pod_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    if (!boring_update(old, cur)) pod_add(ud, cur);
}

static void pod_delete(void *ud, const kc_obj *o)
{
    push(ud, EV_POD_DEL, NULL, NULL, o->key);
}

static void node_add(void *ud, const kc_obj *o)
{
    push(ud, EV_NODE_SET, NULL, kc_sched_node_new(o), NULL);
}

static void node_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    node_add(ud, cur);
}

static void node_delete(void *ud, const kc_obj *o)
{
    push(ud, EV_NODE_DEL, NULL, NULL, o->name);
}

static void bound(void *ud, const kc_obj *pod, const char *node, const kc_err *err)
{
    (void)node;
    if (!err) return;
    ev *e = xcalloc(1, sizeof *e);
    *e = (ev){EV_BIND_FAILED, NULL, NULL, xstrdup(pod->key), err->reason == KC_ENOTFOUND, NULL};
    push_ev(ud, e);
}

/* VolumeBinding's hooks: a claim, volume or class changed; a pod's claims are bound (or not). */
static void volumes_changed(void *ud)
{
    push(ud, EV_MOVE, NULL, NULL, NULL);
}

static void volumes_bound(void *ud, const kc_obj *pod, const char *node)
{
    kc_scheduler *s = ud;
    kc_sched_binder_bind(s->binder, pod, node);
}

static void volumes_failed(void *ud, const kc_obj *pod, const char *node, const kc_err *err)
{
    bound(ud, pod, node, err);
}

/* ---- applying events (scheduler thread) ---- */

static void pod_gone(kc_scheduler *s, const char *key, uint64_t now)
{
    kc_sched_pod *p = kc_sched_cache_remove_pod(s->cache, key);
    if (!p) return;
    kc_sched_pod_free(p);
    kc_sched_queue_move_all(s->queue, now);
}

static void apply_pod(kc_scheduler *s, kc_sched_pod *p, uint64_t now)
{
    if (p->node_name[0]) {
        kc_sched_queue_remove(s->queue, p->key);
        if (p->terminal) {
            pod_gone(s, p->key, now);
            kc_sched_pod_free(p);
            return;
        }
        bool known = kc_sched_cache_pod(s->cache, p->key) != NULL;
        kc_sched_cache_add_pod(s->cache, p);
        if (!known) kc_sched_queue_move_all(s->queue, now);
        return;
    }
    kc_sched_pod *a = kc_sched_cache_pod(s->cache, p->key);
    if (a && a->assumed) { /* the state before our binding: the assumed pod stands */
        kc_sched_pod_free(p);
    } else if (!p->responsible || p->deleting) {
        kc_sched_queue_remove(s->queue, p->key);
        kc_sched_pod_free(p);
    } else {
        kc_sched_queue_set(s->queue, p, now);
    }
}

static void bind_failed(kc_scheduler *s, const char *key, bool gone, uint64_t now)
{
    kc_sched_pod *a = kc_sched_cache_pod(s->cache, key);
    if (!a || !a->assumed) return;
    kc_sched_pod *p = kc_sched_cache_remove_pod(s->cache, key);
    p->assumed = false;
    if (gone)
        kc_sched_pod_free(p);
    else
        kc_sched_queue_requeue(s->queue, p, now);
    kc_sched_queue_move_all(s->queue, now);
}

static void apply(kc_scheduler *s, ev *e, uint64_t now)
{
    switch (e->kind) {
    case EV_POD_SET:
        apply_pod(s, e->pod, now), e->pod = NULL;
        break;
    case EV_POD_DEL:
        kc_sched_queue_remove(s->queue, e->key);
        pod_gone(s, e->key, now);
        break;
    case EV_NODE_SET:
        if (kc_sched_cache_set_node(s->cache, e->node)) kc_sched_queue_move_all(s->queue, now);
        e->node = NULL;
        break;
    case EV_NODE_DEL:
        kc_sched_cache_del_node(s->cache, e->key);
        break;
    case EV_BIND_FAILED:
        bind_failed(s, e->key, e->gone, now);
        break;
    case EV_MOVE:
        kc_sched_queue_move_all(s->queue, now);
        break;
    }
    ev_free(e);
}

static void drain(kc_scheduler *s, uint64_t wait_ms)
{
    pthread_mutex_lock(&s->mu);
    if (!s->head && !s->stop && wait_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(wait_ms / 1000);
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    ev *list = s->head;
    s->head = NULL;
    s->tail = &s->head;
    pthread_mutex_unlock(&s->mu);
    uint64_t now = kc_mono_ms();
    while (list) {
        ev *n = list->next;
        apply(s, list, now);
        list = n;
    }
}

/* ---- the cycle ---- */

static void now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static void failed(kc_scheduler *s, kc_sched_pod *p, const char *msg, uint64_t now)
{
    bool was_false = eq(p->cond_status, "False");
    char ts[32];
    const char *ltt = NULL;
    if (!was_false || !eq(p->cond_reason, "Unschedulable") || !eq(p->cond_msg, msg)) {
        now_rfc3339(ts);
        ltt = was_false && p->cond_ltt && *p->cond_ltt ? p->cond_ltt : ts;
    }
    kc_sched_binder_unschedulable(s->binder, p->obj, msg, ltt);
    kc_sched_queue_failed(s->queue, p->key, false, now);
}

static void schedule_one(kc_scheduler *s, kc_sched_pod *p, uint64_t now)
{
    kc_sched_result r;
    kc_sched_schedule(&s->ctx, p, &r);
    if (r.node) {
        const char *node = r.node->name;
        p = kc_sched_queue_done(s->queue, p->key);
        kc_sched_cache_assume(s->cache, p, node);
        if (!kc_sched_volume_prebind(s->vol, s->cache, p, node)) kc_sched_binder_bind(s->binder, p->obj, node);
    } else {
        failed(s, p, r.message, now);
    }
    free(r.message);
}

static void *run(void *arg)
{
    kc_scheduler *s = arg;
    for (int i = 0; i < NINF && !stopping(s); i++)
        while (!stopping(s) && !kc_informer_wait_synced(s->inf[i], 200))
            continue;
    while (!stopping(s) && !kc_sched_volumes_wait_synced(s->vol, 200))
        continue;
    uint64_t wait = 0;
    while (!stopping(s)) {
        drain(s, wait);
        uint64_t now = kc_mono_ms();
        if (now - s->last_flush >= 30000) {
            kc_sched_queue_flush(s->queue, now, UNSCHED_MAX_MS);
            s->last_flush = now;
        }
        kc_sched_pod *p = kc_sched_queue_pop(s->queue, now, &wait);
        if (!p) {
            wait = wait > 1000 ? 1000 : wait ? wait : 1;
            continue;
        }
        wait = 0;
        schedule_one(s, p, now);
    }
    return NULL;
}

/* ctx.preempt: the victims go, the pod waits for them with its node nominated. */
static void preempt(void *ud, const kc_sched_pod *p, const kc_sched_node *node, kc_sched_pod *const *victims,
                    size_t nv)
{
    kc_scheduler *s = ud;
    kc_obj **objs = kc_sched_array(nv, sizeof *objs);
    for (size_t i = 0; i < nv; i++)
        objs[i] = victims[i]->obj;
    kc_sched_binder_preempt(s->binder, p->obj, node->name, objs, nv);
    free(objs);
}

/* ---- lookups for a cycle ---- */

static json_t *ns_labels(void *ud, const char *ns)
{
    kc_scheduler *s = ud;
    kc_obj *o = kc_informer_get(s->inf[INF_NS], NULL, ns);
    json_t *l = o ? json_incref(o->labels) : NULL;
    kc_obj_unref(o);
    return l;
}

static bool set_matches(json_t *set, json_t *labels)
{
    const char *k;
    json_t *v;
    json_object_foreach(set, k, v)
    {
        if (!json_equal(v, json_object_get(labels, k))) return false;
    }
    return true;
}

/* spec.selector of o (borrowed; NULL when absent), parsed once per version: the scheduler thread
 * asks for it in every cycle of a pod selected by a Service or owned by a ReplicaSet. */
static json_t *spec_selector(kc_scheduler *s, const kc_obj *o)
{
    char key[600];
    snprintf(key, sizeof key, "%d/%s", o->res, o->key);
    selcache *e = kc_map_get(&s->selectors, key);
    if (e && e->rev == o->rev) return e->sel;
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(key);
        kc_map_put(&s->selectors, e->key, e);
    }
    json_t *doc = kc_obj_parse(o);
    json_decref(e->sel);
    e->sel = json_incref(json_object_get(json_object_get(doc, "spec"), "selector"));
    e->rev = o->rev;
    json_decref(doc);
    return e->sel;
}

static void merge_owner(kc_scheduler *s, const kc_sched_pod *p, json_t *ml, json_t *exprs)
{
    int which = !strcmp(p->owner_kind, "ReplicaSet")    ? INF_RS
                : !strcmp(p->owner_kind, "StatefulSet") ? INF_STS
                                                        : -1;
    if (which < 0) return;
    kc_obj *o = kc_informer_get(s->inf[which], p->ns, p->owner_name);
    if (!o) return;
    json_t *sel = spec_selector(s, o);
    json_object_update(ml, json_object_get(sel, "matchLabels"));
    json_array_extend(exprs, json_object_get(sel, "matchExpressions"));
    kc_obj_unref(o);
}

/* helper.DefaultSelector: selectors of the Services, ReplicaSet and StatefulSet selecting p. */
static kc_labelsel *default_selector(void *ud, const kc_sched_pod *p)
{
    kc_scheduler *s = ud;
    json_t *ml = json_object(), *exprs = json_array();
    kc_obj **svcs;
    size_t n = kc_informer_list(s->inf[INF_SVC], p->ns, &svcs);
    for (size_t i = 0; i < n; i++) {
        json_t *sel = spec_selector(s, svcs[i]);
        if (json_is_object(sel) && set_matches(sel, p->obj->labels)) json_object_update(ml, sel);
    }
    kc_objv_free(svcs, n);
    if (p->owner_kind && p->owner_kind[0]) merge_owner(s, p, ml, exprs);
    kc_labelsel *out = NULL;
    if (json_object_size(ml) || json_array_size(exprs)) {
        json_t *sel = json_pack("{s:o,s:o}", "matchLabels", ml, "matchExpressions", exprs);
        out = kc_sched_selector(sel, NULL, NULL, NULL);
        json_decref(sel);
    } else {
        json_decref(ml), json_decref(exprs);
    }
    return out;
}

/* ---- start / stop ---- */

static kc_informer *informer(kc_scheduler *s, const char *group, const char *res, const kc_handlers *h)
{
    kc_informer *inf = kc_informer_new(s->c, kc_resource_find(group, "v1", res), NULL, NULL, NULL);
    if (h) kc_informer_add_handlers(inf, h, s);
    return inf;
}

kc_scheduler *kc_scheduler_start(kc_client *c)
{
    kc_scheduler *s = xcalloc(1, sizeof *s);
    s->c = c;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->tail = &s->head;
    s->cache = kc_sched_cache_new();
    s->queue = kc_sched_queue_new(INITIAL_BACKOFF_MS, MAX_BACKOFF_MS);
    s->lk = (kc_sched_lookup){s, ns_labels, default_selector, NULL};
    s->ctx.cache = s->cache;
    s->ctx.lk = &s->lk;
    s->ctx.rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)s;
    s->ctx.post_filter = kc_sched_preempt;
    s->ctx.preempt = preempt;
    s->ctx.preempt_ud = s;
    s->last_flush = kc_mono_ms();
    static const kc_handlers pods = {pod_add, pod_update, pod_delete};
    static const kc_handlers nodes = {node_add, node_update, node_delete};
    s->inf[INF_PODS] = informer(s, "", "pods", &pods);
    s->inf[INF_NODES] = informer(s, "", "nodes", &nodes);
    s->inf[INF_NS] = informer(s, "", "namespaces", NULL);
    s->inf[INF_SVC] = informer(s, "", "services", NULL);
    s->inf[INF_RS] = informer(s, "apps", "replicasets", NULL);
    s->inf[INF_STS] = informer(s, "apps", "statefulsets", NULL);
    s->vol = kc_sched_volumes_new(c, volumes_changed, s);
    s->lk.volumes = s->vol;
    for (int i = 0; i < NINF; i++)
        kc_informer_start(s->inf[i]);
    s->binder = kc_sched_binder_new(c, BINDERS, bound, s);
    kc_sched_volumes_set_binder(s->vol, volumes_bound, volumes_failed, s);
    pthread_create(&s->thread, NULL, run, s);
    return s;
}

void kc_scheduler_stop(void *p)
{
    kc_scheduler *s = p;
    if (!s) return;
    for (int i = 0; i < NINF; i++)
        kc_informer_stop(s->inf[i]);
    pthread_mutex_lock(&s->mu);
    __atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    kc_sched_volumes_free(s->vol);
    kc_sched_binder_free(s->binder);
    for (ev *e = s->head, *n; e; e = n)
        n = e->next, ev_free(e);
    for (int i = 0; i < NINF; i++)
        kc_informer_free(s->inf[i]);
    kc_sched_queue_free(s->queue);
    kc_sched_cache_free(s->cache);
    kc_sched_ctx_release(&s->ctx);
    void *v;
    for (size_t it = 0; kc_map_next(&s->selectors, &it, NULL, &v);) {
        json_decref(((selcache *)v)->sel);
        free(((selcache *)v)->key);
        free(v);
    }
    kc_map_release(&s->selectors);
    kc_client_free(s->c);
    free(s);
}
