/* DaemonSet controller (semantics 4): informers on daemonsets, pods, nodes and controllerrevisions,
 * the handlers that turn their events into DaemonSet keys and observed expectations, and the
 * caches the sync reads (node facts per revision, pod facts per revision, expected deletions,
 * failed-pod backoff). The sync itself is in daemonset_sync.c; pure rules in daemonset_rules.c.
 *
 *   pod add/update/delete --> its ControllerRef's DaemonSet (uid checked), or, for an orphan,
 *                             every DaemonSet of the namespace whose selector matches it
 *   pod added with a ControllerRef --> creation observed; pod deleted or terminating --> the
 *                             deletion of that pod key observed (if one was expected)
 *   node add/delete, or labels/taints changed --> every DaemonSet (eligibility may change);
 *                             status-only node updates (heartbeats) wake nothing
 *   controllerrevision add/delete --> its owning DaemonSet
 *   daemonset add/update/delete --> its own key
 *
 * Pod index "ctrl" ("u:<controller uid>", or "o:<ns>" for pods with no ControllerRef) lets a sync
 * read exactly the pods it may claim. */
#include "controllers/daemonset.h"
#include "lib/clock.h"
#include "api/selector.h"
#include "controllers/daemonset_int.h"
#include "controllers/framework.h"
#include "lib/xalloc.h"
#include <stdio.h>

#define WORKERS 2 /* --concurrent-daemonset-syncs */
#define BACKOFF_START_MS 1000
#define BACKOFF_MAX_MS (15 * 60 * 1000)

typedef struct fact_entry {
    char *key;
    kc_ds_pod p; /* p.o unset */
} fact_entry;

typedef struct del_entry {
    char *pod, *owner;
} del_entry;

typedef struct backoff_entry {
    char *key;
    int64_t until_ms, step_ms;
} backoff_entry;

/* ---- index ---- */

static size_t ctrl_index(const kc_obj *o, char **keys, size_t max)
{
    char uid[64];
    if (!max) return 0;
    bool owned = kc_obj_controller(o, uid, sizeof uid, NULL, 0, NULL, 0);
    size_t n = strlen(owned ? uid : o->ns) + 3;
    keys[0] = xmalloc(n);
    snprintf(keys[0], n, "%s:%s", owned ? "u" : "o", owned ? uid : o->ns);
    return 1;
}

/* ---- caches ---- */

size_t kc_ds_nodes(kc_dsctl *d, kc_ds_node ***out)
{
    pthread_mutex_lock(&d->mu);
    size_t n = kc_map_len(&d->nodefacts), i = 0;
    kc_ds_node **v = xcalloc(n + 1, sizeof *v);
    void *val;
    for (size_t it = 0; kc_map_next(&d->nodefacts, &it, NULL, &val);)
        v[i++] = kc_ds_node_ref(val);
    pthread_mutex_unlock(&d->mu);
    *out = v;
    return i;
}

void kc_ds_nodes_free(kc_ds_node **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kc_ds_node_unref(v[i]);
    free(v);
}

void kc_ds_facts(kc_dsctl *d, const kc_obj *o, kc_ds_pod *out)
{
    pthread_mutex_lock(&d->mu);
    fact_entry *e = kc_map_get(&d->podfacts, o->key);
    bool hit = e && e->p.rev == o->rev;
    if (hit) *out = e->p;
    pthread_mutex_unlock(&d->mu);
    out->o = o;
    if (hit) return;
    json_t *doc = kc_obj_parse(o);
    kc_ds_pod_facts(o, doc, out);
    json_decref(doc);
    /* cached only while that revision is current, so the delete handler always removes it */
    pthread_mutex_lock(&d->mu);
    kc_obj *cur = kc_informer_get(d->pods, o->ns, o->name);
    if (cur && cur->rev == o->rev) {
        e = kc_map_get(&d->podfacts, o->key);
        if (!e) {
            e = xcalloc(1, sizeof *e);
            e->key = xstrdup(o->key);
            kc_map_put(&d->podfacts, e->key, e);
        }
        e->p = *out;
        e->p.o = NULL;
    }
    kc_obj_unref(cur);
    pthread_mutex_unlock(&d->mu);
}

static void forget_facts(kc_dsctl *d, const char *key)
{
    pthread_mutex_lock(&d->mu);
    fact_entry *e = kc_map_del(&d->podfacts, key);
    pthread_mutex_unlock(&d->mu);
    if (e) free(e->key);
    free(e);
}

void kc_ds_expect_deletion(kc_dsctl *d, const char *owner, const char *pod_key)
{
    pthread_mutex_lock(&d->mu);
    if (!kc_map_get(&d->dels, pod_key)) {
        del_entry *e = xcalloc(1, sizeof *e);
        e->pod = xstrdup(pod_key);
        e->owner = xstrdup(owner);
        kc_map_put(&d->dels, e->pod, e);
        kc_expect_deletions(d->exp, owner, 1);
    }
    pthread_mutex_unlock(&d->mu);
}

void kc_ds_deletion_observed(kc_dsctl *d, const char *pod_key)
{
    pthread_mutex_lock(&d->mu);
    del_entry *e = kc_map_del(&d->dels, pod_key);
    pthread_mutex_unlock(&d->mu);
    if (!e) return;
    kc_deletion_observed(d->exp, e->owner);
    free(e->pod);
    free(e->owner);
    free(e);
}

bool kc_ds_backoff(kc_dsctl *d, const char *ds_key, const char *node, int64_t *delay_ms)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ds_key, node);
    int64_t now = (int64_t)kc_mono_ms();
    pthread_mutex_lock(&d->mu);
    backoff_entry *b = kc_map_get(&d->backoff, key);
    bool in = b && now < b->until_ms;
    if (in) {
        *delay_ms = b->until_ms - now;
    } else {
        if (!b) {
            b = xcalloc(1, sizeof *b);
            b->key = xstrdup(key);
            kc_map_put(&d->backoff, b->key, b);
        }
        b->step_ms = b->step_ms ? (b->step_ms * 2 < BACKOFF_MAX_MS ? b->step_ms * 2 : BACKOFF_MAX_MS)
                                : BACKOFF_START_MS;
        b->until_ms = now + b->step_ms;
    }
    pthread_mutex_unlock(&d->mu);
    return in;
}

/* ---- handlers (informer threads: read caches, enqueue keys) ---- */

static void enqueue(kc_dsctl *d, const char *key)
{
    kc_wq_add(kc_controller_queue(d->ctl), key);
}

static void enqueue_all(kc_dsctl *d)
{
    kc_obj **v;
    size_t n = kc_informer_list(d->dss, NULL, &v);
    for (size_t i = 0; i < n; i++)
        enqueue(d, v[i]->key);
    kc_objv_free(v, n);
}

/* The cached DaemonSet a ControllerRef names (uid checked), or NULL. */
static kc_obj *owner_of(kc_dsctl *d, const kc_obj *o)
{
    char uid[64], kind[64], name[256];
    if (!kc_obj_controller(o, uid, sizeof uid, kind, sizeof kind, name, sizeof name) ||
        strcmp(kind, "DaemonSet"))
        return NULL;
    kc_obj *ds = kc_informer_get(d->dss, o->ns, name);
    if (ds && strcmp(ds->uid, uid)) {
        kc_obj_unref(ds);
        ds = NULL;
    }
    return ds;
}

static bool has_ref(const kc_obj *o)
{
    char uid[64];
    return kc_obj_controller(o, uid, sizeof uid, NULL, 0, NULL, 0);
}

/* An orphan wakes every DaemonSet of its namespace that selects it (adoption). */
static void enqueue_selecting(kc_dsctl *d, const kc_obj *pod)
{
    kc_obj **v;
    size_t n = kc_informer_list(d->dss, pod->ns, &v);
    for (size_t i = 0; i < n; i++) {
        json_t *doc = kc_obj_parse(v[i]);
        kc_labelsel *sel = NULL;
        kc_err err = KC_ERR_INIT;
        if (kc_labelsel_from_json(json_object_get(json_object_get(doc, "spec"), "selector"), &sel, &err) ==
                0 &&
            !kc_labelsel_empty(sel) && kc_labelsel_match(sel, pod->labels))
            enqueue(d, v[i]->key);
        kc_labelsel_free(sel);
        kc_err_release(&err);
        json_decref(doc);
    }
    kc_objv_free(v, n);
}

static void pod_event(kc_dsctl *d, const kc_obj *o, bool created)
{
    if (o->deleting) kc_ds_deletion_observed(d, o->key);
    kc_obj *ds = owner_of(d, o);
    if (ds) {
        if (created) kc_creation_observed(d->exp, ds->key);
        enqueue(d, ds->key);
        kc_obj_unref(ds);
    } else if (!has_ref(o) && !o->deleting) {
        enqueue_selecting(d, o);
    }
}

static void pod_add(void *ud, const kc_obj *o)
{
    pod_event(ud, o, true);
}

static void pod_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    kc_dsctl *d = ud;
    if (old->rev == cur->rev) return;
    pod_event(d, cur, false);
    kc_obj *a = owner_of(d, old);
    if (a) enqueue(d, a->key); /* a released or re-owned pod wakes its old owner too */
    kc_obj_unref(a);
}

static void pod_delete(void *ud, const kc_obj *o)
{
    kc_dsctl *d = ud;
    forget_facts(d, o->key);
    kc_ds_deletion_observed(d, o->key);
    kc_obj *ds = owner_of(d, o);
    if (ds) enqueue(d, ds->key);
    kc_obj_unref(ds);
}

/* Replaces the node's facts; true when labels or taints changed (or it is new). */
static bool node_store(kc_dsctl *d, const kc_obj *o)
{
    json_t *doc = kc_obj_parse(o);
    kc_ds_node *n = kc_ds_node_new(o->name, o->rev, doc);
    json_decref(doc);
    pthread_mutex_lock(&d->mu);
    kc_ds_node *old = kc_map_put(&d->nodefacts, n->name, n);
    pthread_mutex_unlock(&d->mu);
    bool changed = !old || !kc_ds_node_same(old, n);
    kc_ds_node_unref(old);
    return changed;
}

static void node_add(void *ud, const kc_obj *o)
{
    kc_dsctl *d = ud;
    node_store(d, o);
    enqueue_all(d);
}

static void node_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    kc_dsctl *d = ud;
    if (old->rev != cur->rev && node_store(d, cur)) enqueue_all(d);
}

static void node_delete(void *ud, const kc_obj *o)
{
    kc_dsctl *d = ud;
    pthread_mutex_lock(&d->mu);
    kc_ds_node *n = kc_map_del(&d->nodefacts, o->name);
    pthread_mutex_unlock(&d->mu);
    kc_ds_node_unref(n);
    enqueue_all(d);
}

static void rev_event(void *ud, const kc_obj *o)
{
    kc_dsctl *d = ud;
    kc_obj *ds = owner_of(d, o);
    if (ds) enqueue(d, ds->key);
    kc_obj_unref(ds);
}

static void rev_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    rev_event(ud, cur);
}

static void ds_add(void *ud, const kc_obj *o)
{
    enqueue(ud, o->key);
}

static void ds_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    kc_dsctl *d = ud;
    if (strcmp(old->uid, cur->uid)) kc_expectations_delete(d->exp, old->key);
    enqueue(d, cur->key);
}

static void ds_delete(void *ud, const kc_obj *o)
{
    kc_dsctl *d = ud;
    kc_expectations_delete(d->exp, o->key);
    enqueue(d, o->key);
}

/* ---- concurrent calls and events ---- */

/* ---- start and stop ---- */

/* The runner waits for the informers' first lists, which need the server loop: not on the
 * caller's thread (components start before the loop serves). */
static void *starter(void *p)
{
    kc_dsctl *d = p;
    kc_informer *infs[] = {d->dss, d->pods, d->nodes, d->revs};
    kc_controller_run(d->ctl, infs, 4);
    return NULL;
}

void *kc_daemonset_start(kc_client *c)
{
    kc_dsctl *d = xcalloc(1, sizeof *d);
    d->c = c;
    d->DS = kc_resource_find("apps", "v1", "daemonsets");
    d->POD = kc_resource_find("", "v1", "pods");
    d->CR = kc_resource_find("apps", "v1", "controllerrevisions");
    pthread_mutex_init(&d->mu, NULL);
    d->exp = kc_expectations_new();
    d->rec = kc_recorder_new(c, "daemonset-controller", NULL);
    d->ctl = kc_controller_new("daemonset", WORKERS, kc_ds_sync, d);
    d->dss = kc_informer_new(c, d->DS, NULL, NULL, NULL);
    d->pods = kc_informer_new(c, d->POD, NULL, NULL, NULL);
    d->nodes = kc_informer_new(c, kc_resource_find("", "v1", "nodes"), NULL, NULL, NULL);
    d->revs = kc_informer_new(c, d->CR, NULL, NULL, NULL);
    kc_informer_add_index(d->pods, "ctrl", ctrl_index);
    static const kc_handlers dsh = {ds_add, ds_update, ds_delete}, podh = {pod_add, pod_update, pod_delete},
                             nodeh = {node_add, node_update, node_delete},
                             revh = {rev_event, rev_update, rev_event};
    kc_informer_add_handlers(d->dss, &dsh, d);
    kc_informer_add_handlers(d->pods, &podh, d);
    kc_informer_add_handlers(d->nodes, &nodeh, d);
    kc_informer_add_handlers(d->revs, &revh, d);
    kc_informer_start(d->dss);
    kc_informer_start(d->pods);
    kc_informer_start(d->nodes);
    kc_informer_start(d->revs);
    pthread_create(&d->starter, NULL, starter, d);
    return d;
}

static void free_maps(kc_dsctl *d)
{
    void *v;
    for (size_t it = 0; kc_map_next(&d->nodefacts, &it, NULL, &v);)
        kc_ds_node_unref(v);
    for (size_t it = 0; kc_map_next(&d->podfacts, &it, NULL, &v);)
        free(((fact_entry *)v)->key), free(v);
    for (size_t it = 0; kc_map_next(&d->dels, &it, NULL, &v);)
        free(((del_entry *)v)->pod), free(((del_entry *)v)->owner), free(v);
    for (size_t it = 0; kc_map_next(&d->backoff, &it, NULL, &v);)
        free(((backoff_entry *)v)->key), free(v);
    kc_map_release(&d->nodefacts);
    kc_map_release(&d->podfacts);
    kc_map_release(&d->dels);
    kc_map_release(&d->backoff);
}

void kc_daemonset_stop(void *ctl)
{
    kc_dsctl *d = ctl;
    if (!d) return;
    kc_informer_stop(d->dss);
    kc_informer_stop(d->pods);
    kc_informer_stop(d->nodes);
    kc_informer_stop(d->revs);
    pthread_join(d->starter, NULL);
    kc_controller_free(d->ctl);
    kc_informer_free(d->dss);
    kc_informer_free(d->pods);
    kc_informer_free(d->nodes);
    kc_informer_free(d->revs);
    kc_recorder_free(d->rec);
    kc_expectations_free(d->exp);
    free_maps(d);
    pthread_mutex_destroy(&d->mu);
    kc_client_free(d->c);
    free(d);
}
