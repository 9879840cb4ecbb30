/* ReplicaSet controller (semantics 1): informers on replicasets and pods, the handlers that turn
 * their events into ReplicaSet keys and observed expectations, and the per-revision caches the
 * sync reads (pod facts, parsed selectors, statuses written). The sync itself is in
 * replicaset_sync.c; pure pod rules in replicaset_pods.c.
 *
 *   pod add/update/delete --> its ControllerRef's ReplicaSet (uid checked), or, for an orphan,
 *                             every ReplicaSet of the namespace whose selector matches it
 *   pod added with a ControllerRef --> creation observed; pod deleted or terminating --> the
 *                             deletion of that pod key observed (if one was expected)
 *   replicaset add/update/delete --> its own key
 *
 * Pod indexes: "ns" (namespace) and "ctrl" ("u:<controller uid>", or "o:<ns>" for pods with no
 * ControllerRef), so a sync reads exactly the pods it may claim without scanning the namespace. */
#include "controllers/replicaset.h"
#include "controllers/framework.h"
#include "controllers/replicaset_int.h"
#include "lib/xalloc.h"
#include <stdio.h>

#define WORKERS 5  /* --concurrent-replicaset-syncs */

typedef struct fact_entry {
    char *key;
    kc_rs_pod p; /* p.o unset */
} fact_entry;

typedef struct sel_entry {
    char *key;
    uint64_t rev;
    kc_labelsel *sel; /* NULL: the selector does not parse (selects nothing) */
} sel_entry;

typedef struct written_entry {
    char *key;
    uint64_t rev;
    json_t *status;
} written_entry;

typedef struct del_entry {
    char *pod, *owner;
} del_entry;

/* ---- indexes ---- */

static size_t ns_index(const kc_obj *o, char **keys, size_t max)
{
    if (!max) return 0;
    keys[0] = xstrdup(o->ns);
    return 1;
}

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

void kc_rs_facts(kc_rsctl *r, const kc_obj *o, kc_rs_pod *out)
{
    pthread_mutex_lock(&r->mu);
    fact_entry *e = kc_map_get(&r->facts, o->key);
    bool hit = e && e->p.rev == o->rev;
    if (hit) *out = e->p;
    pthread_mutex_unlock(&r->mu);
    if (!hit) {
        json_t *doc = kc_obj_parse(o);
        kc_rs_pod_facts(o, doc, out);
        json_decref(doc);
    }
    out->o = o;
    if (hit) return;
    /* Cache it only while that revision is current: the delete handler (which takes mu) then
     * always runs after the insert and removes it. */
    pthread_mutex_lock(&r->mu);
    kc_obj *cur = kc_informer_get(r->pods, o->ns, o->name);
    if (cur && cur->rev == o->rev) {
        e = kc_map_get(&r->facts, o->key);
        if (!e) {
            e = xcalloc(1, sizeof *e);
            e->key = xstrdup(o->key);
            kc_map_put(&r->facts, e->key, e);
        }
        e->p = *out;
        e->p.o = NULL;
    }
    kc_obj_unref(cur);
    pthread_mutex_unlock(&r->mu);
}

static void forget_facts(kc_rsctl *r, const char *key)
{
    pthread_mutex_lock(&r->mu);
    fact_entry *e = kc_map_del(&r->facts, key);
    pthread_mutex_unlock(&r->mu);
    if (e) free(e->key);
    free(e);
}

static kc_labelsel *parse_selector(const kc_obj *rs)
{
    json_t *doc = kc_obj_parse(rs);
    kc_labelsel *s = NULL;
    kc_err err = KC_ERR_INIT;
    if (kc_labelsel_from_json(json_object_get(json_object_get(doc, "spec"), "selector"), &s, &err) < 0)
        s = NULL;
    kc_err_release(&err);
    json_decref(doc);
    return s;
}

bool kc_rs_selects(kc_rsctl *r, const kc_obj *rs, json_t *labels)
{
    pthread_mutex_lock(&r->mu);
    sel_entry *e = kc_map_get(&r->sels, rs->key);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(rs->key);
        kc_map_put(&r->sels, e->key, e);
    }
    if (!e->rev || e->rev != rs->rev) {
        kc_labelsel_free(e->sel);
        e->sel = parse_selector(rs);
        e->rev = rs->rev;
    }
    /* an empty selector selects nothing for a controller (upstream skips it) */
    bool m = e->sel && !kc_labelsel_empty(e->sel) && kc_labelsel_match(e->sel, labels);
    pthread_mutex_unlock(&r->mu);
    return m;
}

static void sel_entry_free(sel_entry *e)
{
    if (!e) return;
    kc_labelsel_free(e->sel);
    free(e->key);
    free(e);
}

static void written_free(written_entry *w)
{
    if (!w) return;
    json_decref(w->status);
    free(w->key);
    free(w);
}

bool kc_rs_written_same(kc_rsctl *r, const kc_obj *rs, json_t *status)
{
    pthread_mutex_lock(&r->mu);
    written_entry *w = kc_map_get(&r->written, rs->key);
    bool same = w && rs->rev < w->rev && json_equal(w->status, status);
    pthread_mutex_unlock(&r->mu);
    return same;
}

void kc_rs_set_written(kc_rsctl *r, const char *key, uint64_t rev, json_t *status)
{
    pthread_mutex_lock(&r->mu);
    written_entry *w = kc_map_get(&r->written, key);
    if (!w) {
        w = xcalloc(1, sizeof *w);
        w->key = xstrdup(key);
        kc_map_put(&r->written, w->key, w);
    }
    json_decref(w->status);
    w->status = json_incref(status);
    w->rev = rev;
    pthread_mutex_unlock(&r->mu);
}

static void forget_rs(kc_rsctl *r, const char *key)
{
    kc_expectations_delete(r->exp, key);
    pthread_mutex_lock(&r->mu);
    sel_entry *s = kc_map_del(&r->sels, key);
    written_entry *w = kc_map_del(&r->written, key);
    pthread_mutex_unlock(&r->mu);
    sel_entry_free(s);
    written_free(w);
}

void kc_rs_expect_deletions(kc_rsctl *r, const char *owner, kc_rs_pod **pods, size_t n)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        del_entry *d = xcalloc(1, sizeof *d);
        d->pod = xstrdup(pods[i]->o->key);
        d->owner = xstrdup(owner);
        del_entry *old = kc_map_put(&r->dels, d->pod, d);
        if (old) free(old->pod), free(old->owner), free(old);
    }
    pthread_mutex_unlock(&r->mu);
    kc_expect_deletions(r->exp, owner, (int)n);
}

void kc_rs_deletion_observed(kc_rsctl *r, const char *pod_key)
{
    pthread_mutex_lock(&r->mu);
    del_entry *d = kc_map_del(&r->dels, pod_key);
    pthread_mutex_unlock(&r->mu);
    if (!d) return;
    kc_deletion_observed(r->exp, d->owner);
    free(d->pod);
    free(d->owner);
    free(d);
}

/* ---- handlers (informer threads: read caches, enqueue keys) ---- */

typedef struct ctrlref {
    bool set;
    char uid[64], kind[64], name[256];
} ctrlref;

static void ref_of(const kc_obj *o, ctrlref *ref)
{
    ref->set = kc_obj_controller(o, ref->uid, sizeof ref->uid, ref->kind, sizeof ref->kind, ref->name,
                                 sizeof ref->name);
}

/* resolveControllerRef: the cached ReplicaSet the reference names, if its uid matches. */
static kc_obj *resolve(kc_rsctl *r, const char *ns, const ctrlref *ref)
{
    if (!ref->set || strcmp(ref->kind, "ReplicaSet")) return NULL;
    kc_obj *rs = kc_informer_get(r->rss, ns, ref->name);
    if (rs && strcmp(rs->uid, ref->uid)) {
        kc_obj_unref(rs);
        rs = NULL;
    }
    return rs;
}

static void enqueue_ref(kc_rsctl *r, const char *ns, const ctrlref *ref, bool created)
{
    kc_obj *rs = resolve(r, ns, ref);
    if (!rs) return;
    if (created) kc_creation_observed(r->exp, rs->key);
    kc_wq_add(kc_controller_queue(r->ctl), rs->key);
    kc_obj_unref(rs);
}

/* getPodReplicaSets: an orphan wakes every ReplicaSet of its namespace that selects it. */
static void enqueue_selecting(kc_rsctl *r, const kc_obj *pod)
{
    kc_obj **v;
    size_t n = kc_informer_list(r->rss, pod->ns, &v);
    for (size_t i = 0; i < n; i++)
        if (kc_rs_selects(r, v[i], pod->labels)) kc_wq_add(kc_controller_queue(r->ctl), v[i]->key);
    kc_objv_free(v, n);
}

/* A pod that is gone or terminating: its expected deletion is observed, its owner woken. */
static void pod_gone(kc_rsctl *r, const kc_obj *o)
{
    ctrlref ref;
    ref_of(o, &ref);
    kc_rs_deletion_observed(r, o->key);
    enqueue_ref(r, o->ns, &ref, false);
}

static void pod_add(void *ud, const kc_obj *o)
{
    kc_rsctl *r = ud;
    if (o->deleting) {
        pod_gone(r, o);
        return;
    }
    ctrlref ref;
    ref_of(o, &ref);
    if (ref.set)
        enqueue_ref(r, o->ns, &ref, true);
    else
        enqueue_selecting(r, o);
}

static bool labels_equal(json_t *a, json_t *b)
{
    if (!json_object_size(a) && !json_object_size(b)) return true;
    return a && b && json_equal(a, b);
}

static bool refs_equal(const ctrlref *a, const ctrlref *b)
{
    if (a->set != b->set) return false;
    return !a->set || (!strcmp(a->uid, b->uid) && !strcmp(a->kind, b->kind) && !strcmp(a->name, b->name));
}

static void pod_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    kc_rsctl *r = ud;
    if (old->rev == cur->rev) return;
    bool label_changed = !labels_equal(old->labels, cur->labels);
    if (cur->deleting) {
        pod_gone(r, cur);
        if (label_changed) pod_gone(r, old);
        return;
    }
    ctrlref a, b;
    ref_of(old, &a);
    ref_of(cur, &b);
    bool ref_changed = !refs_equal(&a, &b);
    if (ref_changed && a.set) enqueue_ref(r, old->ns, &a, false);
    if (b.set)
        enqueue_ref(r, cur->ns, &b, false);
    else if (label_changed || ref_changed)
        enqueue_selecting(r, cur);
}

static void pod_delete(void *ud, const kc_obj *o)
{
    kc_rsctl *r = ud;
    forget_facts(r, o->key);
    pod_gone(r, o);
}

static void rs_add(void *ud, const kc_obj *o)
{
    kc_rsctl *r = ud;
    kc_wq_add(kc_controller_queue(r->ctl), o->key);
}

static void rs_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    kc_rsctl *r = ud;
    if (strcmp(old->uid, cur->uid)) forget_rs(r, old->key); /* replaced under the same name */
    kc_wq_add(kc_controller_queue(r->ctl), cur->key);
}

static void rs_delete(void *ud, const kc_obj *o)
{
    kc_rsctl *r = ud;
    forget_rs(r, o->key);
    kc_wq_add(kc_controller_queue(r->ctl), o->key);
}

/* ---- concurrent calls and events ---- */

/* ---- start and stop ---- */

/* The runner waits for the informers' first lists, which need the server loop: not on the
 * caller's thread (components start before the loop serves). */
static void *starter(void *p)
{
    kc_rsctl *r = p;
    kc_informer *infs[] = {r->rss, r->pods};
    kc_controller_run(r->ctl, infs, 2);
    return NULL;
}

void *kc_replicaset_start(kc_client *c)
{
    kc_rsctl *r = xcalloc(1, sizeof *r);
    r->c = c;
    r->RS = kc_resource_find("apps", "v1", "replicasets");
    r->POD = kc_resource_find("", "v1", "pods");
    pthread_mutex_init(&r->mu, NULL);
    r->exp = kc_expectations_new();
    r->rec = kc_recorder_new(c, "replicaset-controller", NULL);
    r->ctl = kc_controller_new("replicaset", WORKERS, kc_rs_sync, r);
    r->rss = kc_informer_new(c, r->RS, NULL, NULL, NULL);
    r->pods = kc_informer_new(c, r->POD, NULL, NULL, NULL);
    kc_informer_add_index(r->pods, "ns", ns_index);
    kc_informer_add_index(r->pods, "ctrl", ctrl_index);
    static const kc_handlers rsh = {rs_add, rs_update, rs_delete}, podh = {pod_add, pod_update, pod_delete};
    kc_informer_add_handlers(r->rss, &rsh, r);
    kc_informer_add_handlers(r->pods, &podh, r);
    kc_informer_start(r->rss);
    kc_informer_start(r->pods);
    pthread_create(&r->starter, NULL, starter, r);
    return r;
}

static void free_maps(kc_rsctl *r)
{
    void *v;
    for (size_t it = 0; kc_map_next(&r->facts, &it, NULL, &v);)
        free(((fact_entry *)v)->key), free(v);
    for (size_t it = 0; kc_map_next(&r->sels, &it, NULL, &v);)
        sel_entry_free(v);
    for (size_t it = 0; kc_map_next(&r->written, &it, NULL, &v);)
        written_free(v);
    for (size_t it = 0; kc_map_next(&r->dels, &it, NULL, &v);) {
        del_entry *d = v;
        free(d->pod), free(d->owner), free(d);
    }
    kc_map_release(&r->facts);
    kc_map_release(&r->sels);
    kc_map_release(&r->written);
    kc_map_release(&r->dels);
}

void kc_replicaset_stop(void *ctl)
{
    kc_rsctl *r = ctl;
    if (!r) return;
    kc_informer_stop(r->rss);
    kc_informer_stop(r->pods);
    pthread_join(r->starter, NULL);
    kc_controller_free(r->ctl);
    kc_informer_free(r->rss);
    kc_informer_free(r->pods);
    kc_recorder_free(r->rec);
    kc_expectations_free(r->exp);
    free_maps(r);
    pthread_mutex_destroy(&r->mu);
    kc_client_free(r->c);
    free(r);
}
