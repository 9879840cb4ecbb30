/* EndpointSlice mirroring controller (semantics 5.7): informers on Services, Endpoints and
 * EndpointSlices; one sync per Endpoints key "ns/name":
 *
 *   Endpoints gone, labeled endpointslice.kubernetes.io/skip-mirror=true, a leader-election
 *   record, its Service gone, or a Service with a selector --> its mirrored slices deleted
 *   its mirrored slices in the cache older than our last writes --> stale, retried
 *   else kc_esm_reconcile (endpointslice_mirror_pack.c) --> create / update / delete
 *
 * Mirrored slices carry managed-by endpointslicemirroring-controller.k8s.io and a controller
 * reference to the Endpoints, so the garbage collector removes them with it. The Endpoints that
 * the Endpoints controller writes for Services with selectors are never mirrored (their Service
 * has a selector); the API server's `kubernetes` Endpoints carries skip-mirror. */
#include "controllers/endpointslice_mirror.h"
#include "controllers/endpointslice_int.h"
#include "controllers/framework.h"
#include "lib/xalloc.h"
#include <stdio.h>

#define WORKERS 5 /* --mirroring-concurrent-service-endpoint-syncs */
#define LEADER_ANNOTATION "control-plane.alpha.kubernetes.io/leader"

typedef struct esmctl {
    kc_client *c;
    kc_informer *svcs, *eps, *slices;
    kc_controller *ctl;
    kc_recorder *rec;
    kc_es_tracker track;
    int SVC, EP, ES;
    pthread_t starter;
} esmctl;

static const char *label(const kc_obj *o, const char *k)
{
    return json_string_value(json_object_get(o->labels, k));
}

static bool mirrored(const kc_obj *slice)
{
    const char *m = label(slice, KC_ES_MANAGED_LABEL);
    return m && !strcmp(m, KC_ESM_CONTROLLER);
}

static size_t owner_index(const kc_obj *o, char **keys, size_t max)
{
    const char *svc = label(o, KC_ES_SERVICE_LABEL);
    if (!max || !svc || !mirrored(o)) return 0;
    keys[0] = kc_obj_key(o->ns, svc);
    return 1;
}

/* Does the Service (cached revision) have a selector? Parsed only for Services (few changes). */
static bool has_selector(const kc_obj *svc)
{
    json_t *doc = kc_obj_parse(svc);
    bool has = json_object_size(json_object_get(json_object_get(doc, "spec"), "selector")) > 0;
    json_decref(doc);
    return has;
}

static bool skipped(const kc_obj *ep);

/* shouldMirror: no skip-mirror label, no leader-election record. */
static bool should_mirror(const kc_obj *ep)
{
    if (skipped(ep)) return false;
    json_t *doc = kc_obj_parse(ep);
    bool leader = json_object_get(json_object_get(json_object_get(doc, "metadata"), "annotations"),
                                  LEADER_ANNOTATION) != NULL;
    json_decref(doc);
    return !leader;
}

static void enqueue(esmctl *m, const kc_obj *o)
{
    kc_wq_add(kc_controller_queue(m->ctl), o->key);
}

/* ---- handlers ---- */

static void svc_add(void *ud, const kc_obj *o)
{
    if (!has_selector(o)) enqueue(ud, o);
}

static void svc_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    if (has_selector(old) != has_selector(cur)) enqueue(ud, cur);
}

/* Handlers check only the skip-mirror label (cheap); the sync checks the rest. */
static bool skipped(const kc_obj *ep)
{
    const char *skip = label(ep, KC_ESM_SKIP_LABEL);
    return skip && !strcmp(skip, "true");
}

static void ep_add(void *ud, const kc_obj *o)
{
    if (!skipped(o)) enqueue(ud, o);
}

static void ep_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    if (!skipped(old) || !skipped(cur)) enqueue(ud, cur);
}

static void enqueue_owner(esmctl *m, const kc_obj *slice)
{
    const char *svc = label(slice, KC_ES_SERVICE_LABEL);
    if (!svc || !*svc) return;
    char *key = kc_obj_key(slice->ns, svc);
    kc_wq_add(kc_controller_queue(m->ctl), key);
    free(key);
}

static bool sync_wanted(esmctl *m, const kc_obj *slice)
{
    const char *svc = label(slice, KC_ES_SERVICE_LABEL);
    if (!mirrored(slice) || !svc) return false;
    char *key = kc_obj_key(slice->ns, svc);
    bool w = kc_es_tracker_should_sync(&m->track, key, slice);
    free(key);
    return w;
}

static void slice_add(void *ud, const kc_obj *o)
{
    if (sync_wanted(ud, o)) enqueue_owner(ud, o);
}

static void slice_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    esmctl *m = ud;
    const char *a = label(old, KC_ES_SERVICE_LABEL) ?: "", *b = label(cur, KC_ES_SERVICE_LABEL) ?: "";
    if (strcmp(a, b)) {
        enqueue_owner(m, cur);
        enqueue_owner(m, old);
    } else if (mirrored(old) != mirrored(cur) || sync_wanted(m, cur)) {
        enqueue_owner(m, cur);
    }
}

static void slice_delete(void *ud, const kc_obj *o)
{
    esmctl *m = ud;
    const char *svc = label(o, KC_ES_SERVICE_LABEL);
    if (!mirrored(o) || !svc) return;
    char *key = kc_obj_key(o->ns, svc);
    if (kc_es_tracker_deleted(&m->track, key, o) == 0) enqueue_owner(m, o);
    free(key);
}

/* ---- sync ---- */

static size_t cached_slices(esmctl *m, const char *key, kc_obj ***out)
{
    return kc_informer_by_index(m->slices, "owner", key, out);
}

static int delete_mirrored(esmctl *m, const char *key, const char *ns)
{
    kc_obj **v;
    size_t n = cached_slices(m, key, &v);
    int rc = 0;
    kc_es_tracker_forget(&m->track, key);
    for (size_t i = 0; i < n; i++) {
        kc_err err = KC_ERR_INIT;
        if (kc_client_delete(m->c, m->ES, ns, v[i]->name, NULL, &err) < 0 && err.reason != KC_ENOTFOUND)
            rc = -1;
        kc_err_release(&err);
    }
    kc_objv_free(v, n);
    return rc;
}

static const char *doc_name(json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")) ?: "";
}

static int perform(esmctl *m, const char *key, const char *ns, kc_es_plan *plan)
{
    kc_err err = KC_ERR_INIT;
    size_t i;
    json_t *doc;
    json_array_foreach(plan->create, i, doc)
    {
        kc_obj *out = NULL;
        if (kc_client_create(m->c, m->ES, ns, doc, &out, &err) < 0) {
            bool gone = err.reason == KC_EFORBIDDEN && strstr(err.msg, "terminat");
            kc_err_release(&err);
            return gone ? 0 : -1;
        }
        kc_es_tracker_wrote(&m->track, key, out->name, out->rev, false);
        kc_obj_unref(out);
    }
    json_array_foreach(plan->update, i, doc)
    {
        kc_obj *out = NULL;
        if (kc_client_update(m->c, m->ES, doc, NULL, &out, &err) < 0) return kc_err_release(&err), -1;
        kc_es_tracker_wrote(&m->track, key, out->name, out->rev, false);
        kc_obj_unref(out);
    }
    json_array_foreach(plan->del, i, doc)
    {
        if (kc_client_delete(m->c, m->ES, ns, doc_name(doc), NULL, &err) < 0 && err.reason != KC_ENOTFOUND)
            return kc_err_release(&err), -1;
        kc_err_release(&err);
        kc_es_tracker_wrote(&m->track, key, doc_name(doc), 0, true);
    }
    return 0;
}

static void report(esmctl *m, const kc_obj *ep, int invalid, int skipped)
{
    if (invalid)
        kc_event(m->rec, ep, "Warning", "InvalidIPAddress",
                 "Skipped %d invalid IP addresses when mirroring to EndpointSlices", invalid);
    if (skipped)
        kc_event(
            m->rec, ep, "Warning", "TooManyAddressesToMirror",
            "A max of %d addresses can be mirrored to EndpointSlices per Endpoints subset. %d addresses were "
            "skipped",
            KC_ESM_MAX_PER_SUBSET, skipped);
}

static int mirror(esmctl *m, const char *key, kc_obj *ep)
{
    kc_obj **v;
    size_t n = cached_slices(m, key, &v), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i]->deleting)
            kc_obj_unref(v[i]);
        else
            v[k++] = v[i];
    }
    int rc = -1;
    if (!kc_es_tracker_stale(&m->track, key, v, k)) {
        json_t **docs = xcalloc(k + 1, sizeof *docs), *epdoc = kc_obj_parse(ep);
        for (size_t i = 0; i < k; i++)
            docs[i] = kc_obj_parse(v[i]);
        kc_es_plan plan;
        int invalid, skipped;
        kc_esm_reconcile(epdoc, docs, k, &plan, &invalid, &skipped);
        report(m, ep, invalid, skipped);
        rc = perform(m, key, ep->ns, &plan);
        kc_es_plan_release(&plan);
        for (size_t i = 0; i < k; i++)
            json_decref(docs[i]);
        free(docs);
        json_decref(epdoc);
    }
    kc_objv_free(v, k);
    return rc;
}

static int sync(void *ud, const char *key)
{
    esmctl *m = ud;
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    char ns[256], name[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    snprintf(name, sizeof name, "%s", slash + 1);
    kc_obj *ep = kc_informer_get(m->eps, ns, name);
    kc_obj *svc = ep ? kc_informer_get(m->svcs, ns, name) : NULL;
    int rc;
    if (!ep || !svc || has_selector(svc) || !should_mirror(ep))
        rc = delete_mirrored(m, key, ns);
    else
        rc = mirror(m, key, ep);
    kc_obj_unref(ep);
    kc_obj_unref(svc);
    return rc;
}

/* ---- start and stop ---- */

static void *starter(void *p)
{
    esmctl *m = p;
    kc_informer *infs[] = {m->svcs, m->eps, m->slices};
    kc_controller_run(m->ctl, infs, 3);
    return NULL;
}

void *kc_endpointslice_mirror_start(kc_client *c)
{
    esmctl *m = xcalloc(1, sizeof *m);
    m->c = c;
    m->SVC = kc_resource_find("", "v1", "services");
    m->EP = kc_resource_find("", "v1", "endpoints");
    m->ES = kc_resource_find("discovery.k8s.io", "v1", "endpointslices");
    kc_es_tracker_init(&m->track);
    m->rec = kc_recorder_new(c, "endpointslicemirroring-controller", NULL);
    m->ctl = kc_controller_new("endpointslice_mirroring", WORKERS, sync, m);
    m->svcs = kc_informer_new(c, m->SVC, NULL, NULL, NULL);
    m->eps = kc_informer_new(c, m->EP, NULL, NULL, NULL);
    m->slices = kc_informer_new(c, m->ES, NULL, NULL, NULL);
    kc_informer_add_index(m->slices, "owner", owner_index);
    static const kc_handlers svch = {svc_add, svc_update, svc_add}, eph = {ep_add, ep_update, ep_add},
                             esh = {slice_add, slice_update, slice_delete};
    kc_informer_add_handlers(m->svcs, &svch, m);
    kc_informer_add_handlers(m->eps, &eph, m);
    kc_informer_add_handlers(m->slices, &esh, m);
    kc_informer_start(m->svcs);
    kc_informer_start(m->eps);
    kc_informer_start(m->slices);
    pthread_create(&m->starter, NULL, starter, m);
    return m;
}

void kc_endpointslice_mirror_stop(void *ctl)
{
    esmctl *m = ctl;
    if (!m) return;
    kc_informer *infs[] = {m->svcs, m->eps, m->slices};
    for (int i = 0; i < 3; i++)
        kc_informer_stop(infs[i]);
    pthread_join(m->starter, NULL);
    kc_controller_free(m->ctl);
    for (int i = 0; i < 3; i++)
        kc_informer_free(infs[i]);
    kc_recorder_free(m->rec);
    kc_es_tracker_release(&m->track);
    kc_client_free(m->c);
    free(m);
}
