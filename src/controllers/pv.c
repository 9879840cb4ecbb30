/* PV binder controller (see pv.h): informers on volumes, claims and storage classes, the
 * handlers that turn their events into work keys, the parsed-document cache and the volume
 * reservations the syncs share. The syncs themselves are in pv_sync.c.
 *
 *   claim add/update             --> "c/<ns>/<name>"
 *   claim delete                 --> its volume(s): spec.volumeName and every volume whose
 *                                    claimRef names it (index "claim")
 *   volume add/update            --> "v/<name>"; the claim its claimRef names; when it is
 *                                    free (no claimRef), every unbound claim (upstream waits
 *                                    for a 15 s resync instead)
 *   volume delete                --> the claim its claimRef names (which becomes Lost)
 *   storage class add/update     --> every unbound claim (default class, provisioning)
 *
 * Every 15 s all unbound claims and all volumes are synced again (upstream's resync), a safety
 * net for anything an event did not wake. Four workers share one queue; two claims never take the same volume
 * because a volume is reserved for one claim (under mu) before its claimRef is written. */
#include "controllers/pv.h"
#include "controllers/pv_int.h"
#include "lib/xalloc.h"
#include <stdio.h>
#include <time.h>

#define WORKERS 4
#define RESYNC_S 15 /* upstream's --pvclaimbinder-sync-period */

typedef struct doc_entry {
    char *key;
    uint64_t rev;
    json_t *doc;
} doc_entry;

/* ---- caches ---- */

json_t *kc_pvctl_doc(kc_pvctl *p, const kc_obj *o)
{
    char key[600];
    snprintf(key, sizeof key, "%d/%s", o->res, o->key);
    pthread_mutex_lock(&p->mu);
    doc_entry *e = kc_map_get(&p->docs, key);
    json_t *doc = e && e->rev == o->rev ? json_incref(e->doc) : NULL;
    pthread_mutex_unlock(&p->mu);
    if (doc) return doc;
    doc = kc_obj_parse(o);
    pthread_mutex_lock(&p->mu);
    e = kc_map_get(&p->docs, key);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(key);
        kc_map_put(&p->docs, e->key, e);
    }
    if (e->rev < o->rev || !e->doc) {
        json_decref(e->doc);
        e->doc = json_incref(doc);
        e->rev = o->rev;
    }
    pthread_mutex_unlock(&p->mu);
    return doc;
}

static void forget_doc(kc_pvctl *p, const kc_obj *o)
{
    char key[600];
    snprintf(key, sizeof key, "%d/%s", o->res, o->key);
    pthread_mutex_lock(&p->mu);
    doc_entry *e = kc_map_del(&p->docs, key);
    pthread_mutex_unlock(&p->mu);
    if (!e) return;
    json_decref(e->doc);
    free(e->key);
    free(e);
}

json_t **kc_pvctl_volumes(kc_pvctl *p, size_t *n)
{
    kc_obj **v;
    *n = kc_informer_list(p->pvs, NULL, &v);
    json_t **docs = xcalloc(*n + 1, sizeof *docs);
    for (size_t i = 0; i < *n; i++)
        docs[i] = kc_pvctl_doc(p, v[i]);
    kc_objv_free(v, *n);
    return docs;
}

void kc_pvctl_docs_free(json_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(v[i]);
    free(v);
}

bool kc_pvctl_reserve(kc_pvctl *p, const char *pv, const char *claim_key)
{
    pthread_mutex_lock(&p->mu);
    char *held = kc_map_get(&p->reserved, pv);
    bool ok = !held || !strcmp(held, claim_key);
    if (!held) {
        char *k = xmalloc(strlen(pv) + strlen(claim_key) + 2);
        sprintf(k, "%s%c%s", pv, 0, claim_key); /* key, then the claim right after its NUL */
        kc_map_put(&p->reserved, k, k + strlen(pv) + 1);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void kc_pvctl_unreserve(kc_pvctl *p, const char *pv)
{
    pthread_mutex_lock(&p->mu);
    char *claim = kc_map_del(&p->reserved, pv);
    pthread_mutex_unlock(&p->mu);
    if (claim) free(claim - strlen(pv) - 1);
}

bool kc_pvctl_reserved_by_other(kc_pvctl *p, const char *pv, const char *claim_key)
{
    pthread_mutex_lock(&p->mu);
    char *held = kc_map_get(&p->reserved, pv);
    bool other = held && strcmp(held, claim_key);
    pthread_mutex_unlock(&p->mu);
    return other;
}

void kc_pvctl_enqueue_claim(kc_pvctl *p, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "c/%s/%s", ns, name);
    kc_wq_add(kc_controller_queue(p->ctl), key);
}

void kc_pvctl_enqueue_volume(kc_pvctl *p, const char *name)
{
    char key[300];
    snprintf(key, sizeof key, "v/%s", name);
    kc_wq_add(kc_controller_queue(p->ctl), key);
}

/* ---- indexes and handlers ---- */

/* "ns/name" of the claim a volume's claimRef names. */
static size_t claim_index(const kc_obj *o, char **keys, size_t max)
{
    if (!max || !strstr(o->json, "\"claimRef\"")) return 0;
    json_t *doc = kc_obj_parse(o);
    json_t *ref = json_object_get(json_object_get(doc, "spec"), "claimRef");
    size_t n = 0;
    if (json_is_object(ref)) {
        const char *ns = json_string_value(json_object_get(ref, "namespace")) ?: "";
        const char *name = json_string_value(json_object_get(ref, "name")) ?: "";
        keys[0] = kc_obj_key(ns, name);
        n = 1;
    }
    json_decref(doc);
    return n;
}

/* "ns/claim" for each claim an unscheduled, non-terminated pod references (WaitForPodScheduled). */
static size_t pending_index(const kc_obj *o, char **keys, size_t max)
{
    if (!strstr(o->json, "\"persistentVolumeClaim\"") || strstr(o->json, "\"nodeName\"")) return 0;
    const char *ph = kc_obj_field(o, "status.phase");
    if (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))) return 0;
    json_t *doc = kc_obj_parse(o), *v;
    size_t i, n = 0;
    json_array_foreach(json_object_get(json_object_get(doc, "spec"), "volumes"), i, v)
    {
        const char *c =
            json_string_value(json_object_get(json_object_get(v, "persistentVolumeClaim"), "claimName"));
        if (c && n < max) keys[n++] = kc_obj_key(o->ns, c);
    }
    json_decref(doc);
    return n;
}

static void enqueue_unbound_claims(kc_pvctl *p)
{
    kc_obj **v;
    size_t n = kc_informer_list(p->pvcs, NULL, &v);
    for (size_t i = 0; i < n; i++)
        if (!strstr(v[i]->json, "\"" KC_ANN_BIND_COMPLETED "\""))
            kc_pvctl_enqueue_claim(p, v[i]->ns, v[i]->name);
    kc_objv_free(v, n);
}

static void claim_add(void *ud, const kc_obj *o)
{
    kc_pvctl_enqueue_claim(ud, o->ns, o->name);
}

static void claim_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    claim_add(ud, cur);
}

static void claim_delete(void *ud, const kc_obj *o)
{
    kc_pvctl *p = ud;
    forget_doc(p, o);
    kc_obj **v;
    size_t n = kc_informer_by_index(p->pvs, "claim", o->key, &v);
    for (size_t i = 0; i < n; i++)
        kc_pvctl_enqueue_volume(p, v[i]->name);
    kc_objv_free(v, n);
    const char *vol = kc_obj_field(o, "spec.volumeName");
    json_t *doc = vol ? NULL : kc_obj_parse(o);
    if (!vol) vol = json_string_value(json_object_get(json_object_get(doc, "spec"), "volumeName"));
    if (vol && *vol) kc_pvctl_enqueue_volume(p, vol);
    json_decref(doc);
}

/* The claim a volume's claimRef names gets a sync; a free volume wakes every unbound claim. */
static void volume_claim(kc_pvctl *p, const kc_obj *o)
{
    char *key = NULL;
    if (claim_index(o, &key, 1)) {
        const char *slash = strchr(key, '/');
        if (slash) {
            char ns[256];
            snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
            kc_pvctl_enqueue_claim(p, ns, slash + 1);
        }
        free(key);
    } else if (!o->deleting) {
        enqueue_unbound_claims(p);
    }
}

static void volume_add(void *ud, const kc_obj *o)
{
    kc_pvctl_enqueue_volume(ud, o->name);
    volume_claim(ud, o);
}

static void volume_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    volume_add(ud, cur);
}

static void volume_delete(void *ud, const kc_obj *o)
{
    kc_pvctl *p = ud;
    forget_doc(p, o);
    kc_pvctl_unreserve(p, o->name);
    char *key = NULL;
    if (claim_index(o, &key, 1)) {
        char *slash = strchr(key, '/');
        if (slash) *slash = 0, kc_pvctl_enqueue_claim(p, key, slash + 1);
        free(key);
    }
}

static void class_add(void *ud, const kc_obj *o)
{
    (void)o;
    enqueue_unbound_claims(ud);
}

static void class_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    class_add(ud, cur);
}

static void class_delete(void *ud, const kc_obj *o)
{
    forget_doc(ud, o);
}

/* ---- start and stop ---- */

static void *starter(void *arg)
{
    kc_pvctl *p = arg;
    kc_informer *infs[] = {p->pvs, p->pvcs, p->scs, p->pods};
    kc_controller_run(p->ctl, infs, 4);
    return NULL;
}

static void resync_all(kc_pvctl *p)
{
    enqueue_unbound_claims(p);
    kc_obj **v;
    size_t n = kc_informer_list(p->pvs, NULL, &v);
    for (size_t i = 0; i < n; i++)
        kc_pvctl_enqueue_volume(p, v[i]->name);
    kc_objv_free(v, n);
}

static void *resyncer(void *arg)
{
    kc_pvctl *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += RESYNC_S;
        if (pthread_cond_timedwait(&p->stop_cv, &p->mu, &ts) == 0 || p->stop) continue;
        pthread_mutex_unlock(&p->mu);
        if (kc_informer_synced(p->pvcs) && kc_informer_synced(p->pvs)) resync_all(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void *kc_pv_binder_start(kc_client *c)
{
    kc_pvctl *p = xcalloc(1, sizeof *p);
    p->c = c;
    p->PV = kc_resource_find("", "v1", "persistentvolumes");
    p->PVC = kc_resource_find("", "v1", "persistentvolumeclaims");
    p->SC = kc_resource_find("storage.k8s.io", "v1", "storageclasses");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->stop_cv, NULL);
    p->rec = kc_recorder_new(c, "persistentvolume-controller", NULL);
    p->ctl = kc_controller_new("persistentvolume-binder", WORKERS, kc_pvctl_sync, p);
    p->pvs = kc_informer_new(c, p->PV, NULL, NULL, NULL);
    p->pvcs = kc_informer_new(c, p->PVC, NULL, NULL, NULL);
    p->scs = kc_informer_new(c, p->SC, NULL, NULL, NULL);
    p->pods = kc_informer_new(c, kc_resource_find("", "v1", "pods"), NULL, NULL, NULL);
    kc_informer_add_index(p->pvs, "claim", claim_index);
    kc_informer_add_index(p->pods, "pending", pending_index);
    static const kc_handlers vh = {volume_add, volume_update, volume_delete},
                             ch = {claim_add, claim_update, claim_delete},
                             sh = {class_add, class_update, class_delete};
    kc_informer_add_handlers(p->pvs, &vh, p);
    kc_informer_add_handlers(p->pvcs, &ch, p);
    kc_informer_add_handlers(p->scs, &sh, p);
    kc_informer_start(p->pvs);
    kc_informer_start(p->pvcs);
    kc_informer_start(p->scs);
    kc_informer_start(p->pods);
    pthread_create(&p->starter, NULL, starter, p);
    pthread_create(&p->resyncer, NULL, resyncer, p);
    return p;
}

void kc_pv_binder_stop(void *ctl)
{
    kc_pvctl *p = ctl;
    if (!p) return;
    kc_informer_stop(p->pvs);
    kc_informer_stop(p->pvcs);
    kc_informer_stop(p->scs);
    kc_informer_stop(p->pods);
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->stop_cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->resyncer, NULL);
    pthread_join(p->starter, NULL);
    kc_controller_free(p->ctl);
    kc_informer_free(p->pvs);
    kc_informer_free(p->pvcs);
    kc_informer_free(p->scs);
    kc_informer_free(p->pods);
    kc_recorder_free(p->rec);
    void *v;
    const char *k;
    for (size_t it = 0; kc_map_next(&p->docs, &it, NULL, &v);) {
        json_decref(((doc_entry *)v)->doc);
        free(((doc_entry *)v)->key);
        free(v);
    }
    for (size_t it = 0; kc_map_next(&p->reserved, &it, &k, &v);)
        free((char *)k);
    kc_map_release(&p->docs);
    kc_map_release(&p->reserved);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->stop_cv);
    kc_client_free(p->c);
    free(p);
}
