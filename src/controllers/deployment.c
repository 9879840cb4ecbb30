/* Deployment controller (see deployment.h): the plumbing. Informers on Deployments,
 * ReplicaSets and Pods feed one queue of Deployment keys; five workers run kc_deploy_sync
 * (deployment_sync.c) one key at a time.
 *
 *   Deployment add/update/delete            -> its key
 *   ReplicaSet add/update/delete            -> its controlling Deployment's key; an orphan
 *                                              -> every Deployment whose selector matches it
 *   Pod delete (of an RS of a Recreate one) -> that Deployment's key (old pods gone?)
 *
 * Cache freshness: every object this controller writes is remembered with the revision the
 * server answered; a sync that finds an older copy in the cache does nothing and waits for
 * the informer's event (which queues the key again), instead of deciding on stale numbers
 * and losing a 409 race. */
#include "controllers/deployment.h"
#include "api/selector.h"
#include "controllers/deployment_int.h"
#include "lib/xalloc.h"
#include <stdio.h>

#define WORKERS 5

typedef struct written {
    char *key;
    uint64_t rev;
} written;

/* ---- cache freshness ---- */

static char *written_key(const kc_obj *o)
{
    size_t n = strlen(o->key) + 16;
    char *k = xmalloc(n);
    snprintf(k, n, "%d|%s", o->res, o->key);
    return k;
}

void kc_deploy_note_write(dctl *c, const kc_obj *obj)
{
    if (!obj) return;
    char *k = written_key(obj);
    pthread_mutex_lock(&c->mu);
    written *w = kc_map_get(&c->written, k);
    if (!w) {
        w = xcalloc(1, sizeof *w);
        w->key = k;
        k = NULL;
        kc_map_put(&c->written, w->key, w);
    }
    if (obj->rev > w->rev) w->rev = obj->rev;
    pthread_mutex_unlock(&c->mu);
    free(k);
}

static void forget_written(dctl *c, const kc_obj *obj)
{
    char *k = written_key(obj);
    pthread_mutex_lock(&c->mu);
    written *w = kc_map_del(&c->written, k);
    pthread_mutex_unlock(&c->mu);
    if (w) free(w->key);
    free(w);
    free(k);
}

bool kc_deploy_cache_fresh(dctl *c, const kc_obj *obj)
{
    char *k = written_key(obj);
    pthread_mutex_lock(&c->mu);
    written *w = kc_map_get(&c->written, k);
    bool fresh = !w || obj->rev >= w->rev;
    if (w && fresh) kc_map_del(&c->written, k);
    pthread_mutex_unlock(&c->mu);
    if (w && fresh) {
        free(w->key);
        free(w);
    }
    free(k);
    return fresh;
}

/* ---- handlers (informer threads: only queue keys) ---- */

static void enqueue_key(dctl *c, const char *ns, const char *name)
{
    char *k = kc_obj_key(ns, name);
    kc_wq_add(kc_controller_queue(c->ctl), k);
    free(k);
}

static void dep_add(void *ud, const kc_obj *o)
{
    kc_controller_enqueue(((dctl *)ud)->ctl, o);
}

static void dep_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    kc_controller_enqueue(((dctl *)ud)->ctl, cur);
}

static void dep_delete(void *ud, const kc_obj *o)
{
    forget_written(ud, o);
    kc_controller_enqueue(((dctl *)ud)->ctl, o);
}

/* The Deployment controlling an RS: true with its name when there is one. */
static bool rs_owner(const kc_obj *rs, char *name, size_t n, bool *any_controller)
{
    char kind[64];
    *any_controller = kc_obj_controller(rs, NULL, 0, kind, sizeof kind, name, n);
    return *any_controller && !strcmp(kind, "Deployment");
}

/* getDeploymentsForReplicaSet: Deployments in the RS' namespace whose selector matches it. */
static void enqueue_matching(dctl *c, const kc_obj *rs)
{
    kc_obj **v;
    size_t n = kc_informer_list(c->dinf, rs->ns, &v);
    for (size_t i = 0; i < n; i++) {
        json_t *d = kc_obj_parse(v[i]);
        kc_labelsel *sel = NULL;
        kc_err err = KC_ERR_INIT;
        json_t *js = json_object_get(json_object_get(d, "spec"), "selector");
        if (kc_labelsel_from_json(js, &sel, &err) == 0 && !kc_labelsel_empty(sel) &&
            kc_labelsel_match(sel, rs->labels))
            kc_controller_enqueue(c->ctl, v[i]);
        kc_labelsel_free(sel);
        kc_err_release(&err);
        json_decref(d);
    }
    kc_objv_free(v, n);
}

static void rs_add(void *ud, const kc_obj *o)
{
    dctl *c = ud;
    char name[256];
    bool ctrl;
    if (rs_owner(o, name, sizeof name, &ctrl))
        enqueue_key(c, o->ns, name);
    else if (!ctrl && !o->deleting)
        enqueue_matching(c, o);
}

static bool labels_equal(const kc_obj *a, const kc_obj *b)
{
    return a->labels == b->labels || (a->labels && b->labels && json_equal(a->labels, b->labels));
}

static void rs_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    dctl *c = ud;
    if (old->rev == cur->rev) return;
    char on[256], cn[256];
    bool octrl, cctrl;
    bool oown = rs_owner(old, on, sizeof on, &octrl), cown = rs_owner(cur, cn, sizeof cn, &cctrl);
    if (oown && (!cown || strcmp(on, cn))) enqueue_key(c, old->ns, on);
    if (cown)
        enqueue_key(c, cur->ns, cn);
    else if (!cctrl && (octrl || !labels_equal(old, cur)))
        enqueue_matching(c, cur);
}

static void rs_delete(void *ud, const kc_obj *o)
{
    dctl *c = ud;
    char name[256];
    bool ctrl;
    forget_written(c, o);
    if (rs_owner(o, name, sizeof name, &ctrl)) enqueue_key(c, o->ns, name);
}

/* A deleted pod may be the last old one a Recreate rollout waits for. */
static void pod_delete(void *ud, const kc_obj *o)
{
    dctl *c = ud;
    char kind[64], rsname[256], dname[256];
    bool ctrl;
    if (!kc_obj_controller(o, NULL, 0, kind, sizeof kind, rsname, sizeof rsname) ||
        strcmp(kind, "ReplicaSet"))
        return;
    kc_obj *rs = kc_informer_get(c->rsinf, o->ns, rsname);
    if (rs && rs_owner(rs, dname, sizeof dname, &ctrl)) {
        kc_obj *d = kc_informer_get(c->dinf, o->ns, dname);
        if (d && strstr(d->json, "\"Recreate\"")) kc_controller_enqueue(c->ctl, d);
        kc_obj_unref(d);
    }
    kc_obj_unref(rs);
}

/* ---- start and stop ---- */

static int sync(void *ud, const char *key)
{
    return kc_deploy_sync(ud, key);
}

static size_t ns_index(const kc_obj *o, char **keys, size_t max)
{
    if (!max) return 0;
    keys[0] = xstrdup(o->ns);
    return 1;
}

/* Waits for the caches (off the server loop, which must be running to answer the lists),
 * then starts the workers. */
static void *starter(void *p)
{
    dctl *c = p;
    kc_informer *inf[] = {c->dinf, c->rsinf, c->podinf};
    for (size_t i = 0; i < 3; i++)
        while (!__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE) && !kc_informer_wait_synced(inf[i], 100)) {
        }
    if (!__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE)) kc_controller_run(c->ctl, inf, 3);
    return NULL;
}

void *kc_deployment_start(kc_client *client)
{
    dctl *c = xcalloc(1, sizeof *c);
    c->c = client;
    c->DEP = kc_resource_find("apps", "v1", "deployments");
    c->RS = kc_resource_find("apps", "v1", "replicasets");
    c->POD = kc_resource_find("", "v1", "pods");
    pthread_mutex_init(&c->mu, NULL);
    c->rec = kc_recorder_new(client, "deployment-controller", NULL);
    c->ctl = kc_controller_new("deployment", WORKERS, sync, c);
    c->dinf = kc_informer_new(client, c->DEP, NULL, NULL, NULL);
    c->rsinf = kc_informer_new(client, c->RS, NULL, NULL, NULL);
    c->podinf = kc_informer_new(client, c->POD, NULL, NULL, NULL);
    kc_informer_add_handlers(c->dinf, &(kc_handlers){dep_add, dep_update, dep_delete}, c);
    kc_informer_add_handlers(c->rsinf, &(kc_handlers){rs_add, rs_update, rs_delete}, c);
    kc_informer_add_handlers(c->podinf, &(kc_handlers){NULL, NULL, pod_delete}, c);
    kc_informer_add_index(c->rsinf, "ns", ns_index);
    kc_informer_add_index(c->podinf, "ns", ns_index);
    kc_informer_start(c->dinf);
    kc_informer_start(c->rsinf);
    kc_informer_start(c->podinf);
    pthread_create(&c->starter, NULL, starter, c);
    return c;
}

void kc_deployment_stop(void *p)
{
    dctl *c = p;
    if (!c) return;
    __atomic_store_n(&c->stopping, true, __ATOMIC_RELEASE);
    pthread_join(c->starter, NULL);
    kc_informer_stop(c->dinf);
    kc_informer_stop(c->rsinf);
    kc_informer_stop(c->podinf);
    kc_controller_free(c->ctl);
    kc_informer_free(c->dinf);
    kc_informer_free(c->rsinf);
    kc_informer_free(c->podinf);
    kc_recorder_free(c->rec);
    kc_client_free(c->c);
    void *v;
    for (size_t it = 0; kc_map_next(&c->written, &it, NULL, &v);) {
        free(((written *)v)->key);
        free(v);
    }
    kc_map_release(&c->written);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
