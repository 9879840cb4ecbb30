/* StatefulSet controller (semantics 3): informers on statefulsets, pods, persistentvolumeclaims
 * and controllerrevisions, and the handlers that turn their events into StatefulSet keys. The
 * sync is statefulset_sync.c; pure rules are statefulset_pods.c; revision history is history.c.
 *
 *   pod add/update/delete --> its ControllerRef's StatefulSet (uid checked), or, for an orphan,
 *                             every StatefulSet of the namespace whose selector matches it
 *   statefulset add/update/delete --> its own key
 *   controllerrevision delete --> its owner (a live revision must come back)
 *
 * Upstream's StatefulSet controller has no expectations: pod names are fixed, so a create from a
 * stale cache fails with AlreadyExists and a delete with NotFound, and the sync is retried. */
#include "controllers/statefulset.h"
#include "controllers/framework.h"
#include "controllers/statefulset_int.h"
#include "lib/xalloc.h"
#include <stdio.h>

#define WORKERS 5  /* --concurrent-statefulset-syncs */

/* ---- indexes ---- */

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

/* ---- handlers ---- */

static void enqueue_owner(kc_stsctl *s, const kc_obj *o)
{
    char uid[64], kind[64], name[256];
    if (!kc_obj_controller(o, uid, sizeof uid, kind, sizeof kind, name, sizeof name)) return;
    if (strcmp(kind, "StatefulSet")) return;
    kc_obj *set = kc_informer_get(s->sets, o->ns, name);
    if (set && !strcmp(set->uid, uid)) kc_wq_add(kc_controller_queue(s->ctl), set->key);
    kc_obj_unref(set);
}

static bool selects(const kc_obj *set, json_t *labels)
{
    json_t *doc = kc_obj_parse(set);
    kc_labelsel *sel = NULL;
    kc_err err = KC_ERR_INIT;
    bool m =
        kc_labelsel_from_json(json_object_get(json_object_get(doc, "spec"), "selector"), &sel, &err) == 0 &&
        !kc_labelsel_empty(sel) && kc_labelsel_match(sel, labels);
    kc_labelsel_free(sel);
    kc_err_release(&err);
    json_decref(doc);
    return m;
}

/* getPodStatefulSets: an orphan wakes the sets of its namespace that select it. */
static void enqueue_selecting(kc_stsctl *s, const kc_obj *pod)
{
    kc_obj **v;
    size_t n = kc_informer_list(s->sets, pod->ns, &v);
    for (size_t i = 0; i < n; i++)
        if (selects(v[i], pod->labels)) kc_wq_add(kc_controller_queue(s->ctl), v[i]->key);
    kc_objv_free(v, n);
}

static void pod_event(kc_stsctl *s, const kc_obj *o)
{
    char uid[64];
    if (kc_obj_controller(o, uid, sizeof uid, NULL, 0, NULL, 0))
        enqueue_owner(s, o);
    else if (!o->deleting)
        enqueue_selecting(s, o);
}

static void pod_add(void *ud, const kc_obj *o)
{
    pod_event(ud, o);
}

static void pod_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    kc_stsctl *s = ud;
    if (old->rev == cur->rev) return;
    char a[64], b[64];
    bool ha = kc_obj_controller(old, a, sizeof a, NULL, 0, NULL, 0);
    bool hb = kc_obj_controller(cur, b, sizeof b, NULL, 0, NULL, 0);
    if (ha && (!hb || strcmp(a, b))) enqueue_owner(s, old);
    pod_event(s, cur);
}

static void pod_delete(void *ud, const kc_obj *o)
{
    enqueue_owner(ud, o);
}

static void set_event(void *ud, const kc_obj *o)
{
    kc_stsctl *s = ud;
    kc_wq_add(kc_controller_queue(s->ctl), o->key);
}

static void set_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    set_event(ud, cur);
}

static void rev_delete(void *ud, const kc_obj *o)
{
    enqueue_owner(ud, o);
}

/* ---- start and stop ---- */

static void *starter(void *p)
{
    kc_stsctl *s = p;
    kc_informer *infs[] = {s->sets, s->pods, s->pvcs, s->revs};
    kc_controller_run(s->ctl, infs, 4);
    return NULL;
}

void *kc_statefulset_start(kc_client *c)
{
    kc_stsctl *s = xcalloc(1, sizeof *s);
    s->c = c;
    s->STS = kc_resource_find("apps", "v1", "statefulsets");
    s->POD = kc_resource_find("", "v1", "pods");
    s->PVC = kc_resource_find("", "v1", "persistentvolumeclaims");
    s->REV = kc_resource_find("apps", "v1", "controllerrevisions");
    s->rec = kc_recorder_new(c, "statefulset-controller", NULL);
    s->ctl = kc_controller_new("statefulset", WORKERS, kc_sts_sync, s);
    s->sets = kc_informer_new(c, s->STS, NULL, NULL, NULL);
    s->pods = kc_informer_new(c, s->POD, NULL, NULL, NULL);
    s->pvcs = kc_informer_new(c, s->PVC, NULL, NULL, NULL);
    s->revs = kc_informer_new(c, s->REV, NULL, NULL, NULL);
    kc_informer_add_index(s->pods, "ctrl", ctrl_index);
    static const kc_handlers seth = {set_event, set_update, set_event},
                             podh = {pod_add, pod_update, pod_delete}, revh = {NULL, NULL, rev_delete};
    kc_informer_add_handlers(s->sets, &seth, s);
    kc_informer_add_handlers(s->pods, &podh, s);
    kc_informer_add_handlers(s->revs, &revh, s);
    kc_informer_start(s->sets);
    kc_informer_start(s->pods);
    kc_informer_start(s->pvcs);
    kc_informer_start(s->revs);
    pthread_create(&s->starter, NULL, starter, s);
    return s;
}

void kc_statefulset_stop(void *ctl)
{
    kc_stsctl *s = ctl;
    if (!s) return;
    kc_informer_stop(s->sets);
    kc_informer_stop(s->pods);
    kc_informer_stop(s->pvcs);
    kc_informer_stop(s->revs);
    pthread_join(s->starter, NULL);
    kc_controller_free(s->ctl);
    kc_informer_free(s->sets);
    kc_informer_free(s->pods);
    kc_informer_free(s->pvcs);
    kc_informer_free(s->revs);
    kc_recorder_free(s->rec);
    kc_client_free(s->c);
    free(s);
}
