/* EndpointSlice controller (semantics 5.7): informers on Services, pods, EndpointSlices and
 * Nodes (for the zone); one sync per Service key:
 *
 *   Service gone --> forget it (its slices go with it: the garbage collector follows their
 *                    ownerReference to the Service)
 *   ExternalName, or no selector --> left alone (user-made slices stay untouched)
 *   its slices in the cache older than what this controller last wrote --> stale, retried
 *   pods matching the selector --> endpoints per port set --kc_es_reconcile--> create / update
 *     (PUT with the cached resourceVersion) / delete, each write recorded in the tracker
 *
 * The tracker (upstream's EndpointSliceTracker, by resourceVersion instead of generation) makes
 * the controller ignore the events of its own writes and refuse to act on a cache that has not
 * seen them yet, which would create duplicate slices. Slice events from anyone else wake the
 * Service a second later (endpointSliceChangeMinSyncDelay). Pod events wake the Services selecting
 * the pod at once. The planning itself is pure, in endpointslice_pack.c. */
#include "controllers/endpointslice.h"
#include "controllers/endpointslice_int.h"
#include "controllers/framework.h"
#include "lib/xalloc.h"
#include <stdio.h>

#define WORKERS 5               /* --concurrent-service-endpoint-syncs */
#define SLICE_CHANGE_DELAY 1000 /* ms, endpointSliceChangeMinSyncDelay */
#define ZONE_LABEL "topology.kubernetes.io/zone"

typedef struct esctl {
    kc_client *c;
    kc_informer *svcs, *pods, *slices, *nodes;
    kc_controller *ctl;
    kc_recorder *rec;
    kc_ep_selcache sels;
    kc_ep_podcache podc;
    kc_ep_doccache docs; /* slice documents */
    kc_ep_trigger trig;
    kc_es_tracker track;
    int SVC, POD, ES, NODE;
    pthread_t starter;
} esctl;

static size_t ns_index(const kc_obj *o, char **keys, size_t max)
{
    if (!max) return 0;
    keys[0] = xstrdup(o->ns);
    return 1;
}

static const char *label(const kc_obj *o, const char *k)
{
    return json_string_value(json_object_get(o->labels, k));
}

static bool managed(const kc_obj *slice)
{
    const char *m = label(slice, KC_ES_MANAGED_LABEL);
    return m && !strcmp(m, KC_ES_CONTROLLER);
}

/* "ns/<service-name label>" for slices managed by this controller. */
static size_t svc_index(const kc_obj *o, char **keys, size_t max)
{
    const char *svc = label(o, KC_ES_SERVICE_LABEL);
    if (!max || !svc || !managed(o)) return 0;
    keys[0] = kc_obj_key(o->ns, svc);
    return 1;
}

static void forget_service(esctl *e, const char *ns, const char *name)
{
    char *key = kc_obj_key(ns, name);
    kc_es_tracker_forget(&e->track, key);
    kc_ep_trigger_forget(&e->trig, ns, name);
    free(key);
}

/* ---- handlers ---- */

static kc_ep_feed feed(esctl *e)
{
    return (kc_ep_feed){e->svcs, &e->sels, &e->podc, e->ctl};
}

static void pod_add(void *ud, const kc_obj *o)
{
    kc_ep_feed f = feed(ud);
    kc_ep_feed_add(&f, o);
}

static void pod_delete(void *ud, const kc_obj *o)
{
    kc_ep_feed f = feed(ud);
    kc_ep_feed_delete(&f, o);
}

static void pod_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    kc_ep_feed f = feed(ud);
    kc_ep_feed_update(&f, old, cur);
}

static void svc_add(void *ud, const kc_obj *o)
{
    esctl *e = ud;
    kc_wq_add(kc_controller_queue(e->ctl), o->key);
}

static void svc_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    svc_add(ud, cur);
}

static void svc_delete(void *ud, const kc_obj *o)
{
    esctl *e = ud;
    kc_ep_selcache_forget(&e->sels, o->key);
    svc_add(ud, o);
}

static void enqueue_for_slice(esctl *e, const kc_obj *slice)
{
    const char *svc = label(slice, KC_ES_SERVICE_LABEL);
    if (!svc || !*svc) return;
    char *key = kc_obj_key(slice->ns, svc);
    kc_wq_add_after(kc_controller_queue(e->ctl), key, SLICE_CHANGE_DELAY);
    free(key);
}

static bool sync_wanted(esctl *e, const kc_obj *slice)
{
    const char *svc = label(slice, KC_ES_SERVICE_LABEL);
    if (!managed(slice) || !svc) return false;
    char *key = kc_obj_key(slice->ns, svc);
    bool w = kc_es_tracker_should_sync(&e->track, key, slice);
    free(key);
    return w;
}

static void slice_add(void *ud, const kc_obj *o)
{
    if (sync_wanted(ud, o)) enqueue_for_slice(ud, o);
}

static void slice_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    esctl *e = ud;
    const char *a = label(old, KC_ES_SERVICE_LABEL) ?: "", *b = label(cur, KC_ES_SERVICE_LABEL) ?: "";
    if (strcmp(a, b)) {
        enqueue_for_slice(e, cur);
        enqueue_for_slice(e, old);
    } else if (managed(old) != managed(cur) || sync_wanted(e, cur)) {
        enqueue_for_slice(e, cur);
    }
}

static void slice_delete(void *ud, const kc_obj *o)
{
    esctl *e = ud;
    kc_ep_doccache_forget(&e->docs, o->key);
    const char *svc = label(o, KC_ES_SERVICE_LABEL);
    if (!managed(o) || !svc) return;
    char *key = kc_obj_key(o->ns, svc);
    if (kc_es_tracker_deleted(&e->track, key, o) == 0) enqueue_for_slice(e, o); /* deleted by someone else */
    free(key);
}

/* ---- sync ---- */

typedef struct syncctx {
    esctl *e;
    kc_ep_svc svc;
    char *key;
    kc_ep_pod *pods;
    size_t npods;
    kc_obj **slices;
    size_t nslices;
    bool node_missing;
} syncctx;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const kc_ep_pod *)a)->name, ((const kc_ep_pod *)b)->name);
}

/* The selected pods, by name (slices then list endpoints in a stable order). */
static void load_pods(syncctx *x)
{
    kc_obj **v;
    size_t n = kc_ep_selected(x->e->pods, x->svc.ns, x->svc.selector, &v);
    x->pods = xcalloc(n + 1, sizeof *x->pods);
    for (size_t i = 0; i < n; i++)
        kc_ep_podcache_get(&x->e->podc, v[i], &x->pods[x->npods++]);
    kc_objv_free(v, n);
    qsort(x->pods, x->npods, sizeof *x->pods, by_name);
}

/* The Service's slices in the cache, those being deleted left out. */
static void load_slices(syncctx *x)
{
    kc_obj **v;
    size_t n = kc_informer_by_index(x->e->slices, "svc", x->key, &v), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i]->deleting)
            kc_obj_unref(v[i]);
        else
            v[k++] = v[i];
    }
    x->slices = v;
    x->nslices = k;
}

/* The zone label of the pod's node; false when the node is unknown. */
static bool node_zone(esctl *e, const char *node, char *zone, size_t len)
{
    zone[0] = 0;
    kc_obj *n = node[0] ? kc_informer_get(e->nodes, NULL, node) : NULL;
    if (!n) return false;
    snprintf(zone, len, "%s", label(n, ZONE_LABEL) ?: "");
    kc_obj_unref(n);
    return true;
}

static void build_desired(syncctx *x, kc_es_desired *d)
{
    for (size_t i = 0; i < x->npods; i++) {
        kc_ep_pod *p = &x->pods[i];
        if (!kc_ep_pod_included(p, true)) continue;
        kc_es_group *g = kc_es_group_for(d, kc_es_pod_ports(&x->svc, p));
        char zone[256];
        if (!node_zone(x->e, p->node, zone, sizeof zone) && !x->svc.publish_not_ready) {
            x->node_missing = true; /* retried later; the pod stays out meanwhile */
            continue;
        }
        json_t *ep = kc_es_pod_endpoint(&x->svc, p, x->svc.ipv6, zone);
        if (ep) kc_es_group_add(g, ep);
    }
}

static const char *doc_name(json_t *doc)
{
    return json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")) ?: "";
}

static int fail(syncctx *x, const char *what, kc_err *err)
{
    kc_obj *o = kc_informer_get(x->e->svcs, x->svc.ns, x->svc.name);
    if (o && err->reason != KC_ECONFLICT && err->reason != KC_ENOTFOUND)
        kc_event(x->e->rec, o, "Warning", "FailedToUpdateEndpointSlices",
                 "Error updating Endpoint Slices for Service %s/%s: failed to %s EndpointSlice: %s",
                 x->svc.ns, x->svc.name, what, err->msg);
    kc_obj_unref(o);
    kc_err_release(err);
    return -1;
}

static int perform(syncctx *x, kc_es_plan *plan)
{
    esctl *e = x->e;
    kc_err err = KC_ERR_INIT;
    size_t i;
    json_t *doc;
    json_array_foreach(plan->create, i, doc)
    {
        kc_obj *out = NULL;
        if (kc_client_create(e->c, e->ES, x->svc.ns, doc, &out, &err) < 0) {
            if (err.reason == KC_EFORBIDDEN && strstr(err.msg, "terminat")) return kc_err_release(&err), 0;
            return fail(x, "create", &err);
        }
        kc_es_tracker_wrote(&e->track, x->key, out->name, out->rev, false);
        kc_obj_unref(out);
    }
    json_array_foreach(plan->update, i, doc)
    {
        kc_obj *out = NULL;
        if (kc_client_update(e->c, e->ES, doc, NULL, &out, &err) < 0) return fail(x, "update", &err);
        kc_es_tracker_wrote(&e->track, x->key, out->name, out->rev, false);
        kc_obj_unref(out);
    }
    json_array_foreach(plan->del, i, doc)
    {
        if (kc_client_delete(e->c, e->ES, x->svc.ns, doc_name(doc), NULL, &err) < 0 &&
            err.reason != KC_ENOTFOUND)
            return fail(x, "delete", &err);
        kc_err_release(&err);
        kc_es_tracker_wrote(&e->track, x->key, doc_name(doc), 0, true);
    }
    return 0;
}

static int reconcile(syncctx *x)
{
    esctl *e = x->e;
    load_pods(x);
    load_slices(x);
    if (kc_es_tracker_stale(&e->track, x->key, x->slices, x->nslices)) return -1;
    kc_ep_pod **pv = xcalloc(x->npods + 1, sizeof *pv);
    for (size_t i = 0; i < x->npods; i++)
        pv[i] = &x->pods[i];
    char trigger[64];
    kc_ep_trigger_compute(&e->trig, &x->svc, pv, x->npods, trigger);
    free(pv);
    kc_es_desired want = {0};
    build_desired(x, &want);
    json_t **docs = xcalloc(x->nslices + 1, sizeof *docs);
    for (size_t i = 0; i < x->nslices; i++)
        docs[i] = kc_ep_doccache_get(&e->docs, x->slices[i]);
    kc_es_input in = {&x->svc,   x->svc.ipv6 ? "IPv6" : "IPv4", trigger, KC_ES_MAX_PER_SLICE, &want, docs,
                      x->nslices};
    kc_es_plan plan;
    kc_es_reconcile(&in, &plan);
    int rc = perform(x, &plan);
    kc_es_plan_release(&plan);
    for (size_t i = 0; i < x->nslices; i++)
        json_decref(docs[i]);
    free(docs);
    kc_es_desired_release(&want);
    return rc < 0 || x->node_missing ? -1 : 0;
}

static int sync(void *ud, const char *key)
{
    esctl *e = ud;
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    char ns[256], name[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    snprintf(name, sizeof name, "%s", slash + 1);
    kc_obj *o = kc_informer_get(e->svcs, ns, name);
    if (!o) return forget_service(e, ns, name), 0;
    syncctx x = {.e = e, .key = (char *)key};
    kc_ep_svc_init(&x.svc, kc_obj_parse(o));
    kc_obj_unref(o);
    int rc = kc_ep_svc_managed(&x.svc) ? reconcile(&x) : 0;
    for (size_t i = 0; i < x.npods; i++)
        kc_ep_pod_release(&x.pods[i]);
    free(x.pods);
    kc_objv_free(x.slices, x.nslices);
    kc_ep_svc_release(&x.svc);
    return rc;
}

/* ---- start and stop ---- */

static void *starter(void *p)
{
    esctl *e = p;
    kc_informer *infs[] = {e->svcs, e->pods, e->slices, e->nodes};
    kc_controller_run(e->ctl, infs, 4);
    return NULL;
}

void *kc_endpointslice_start(kc_client *c)
{
    esctl *e = xcalloc(1, sizeof *e);
    e->c = c;
    e->SVC = kc_resource_find("", "v1", "services");
    e->POD = kc_resource_find("", "v1", "pods");
    e->ES = kc_resource_find("discovery.k8s.io", "v1", "endpointslices");
    e->NODE = kc_resource_find("", "v1", "nodes");
    kc_es_tracker_init(&e->track);
    kc_ep_selcache_init(&e->sels);
    kc_ep_podcache_init(&e->podc);
    kc_ep_doccache_init(&e->docs);
    kc_ep_trigger_init(&e->trig);
    e->rec = kc_recorder_new(c, "endpoint-slice-controller", NULL);
    e->ctl = kc_controller_new("endpoint_slice", WORKERS, sync, e);
    e->svcs = kc_informer_new(c, e->SVC, NULL, NULL, NULL);
    e->pods = kc_informer_new(c, e->POD, NULL, NULL, NULL);
    e->slices = kc_informer_new(c, e->ES, NULL, NULL, NULL);
    e->nodes = kc_informer_new(c, e->NODE, NULL, NULL, NULL);
    kc_informer_add_index(e->pods, KC_EP_LABEL_INDEX, kc_ep_label_index);
    kc_informer_add_index(e->svcs, "ns", ns_index);
    kc_informer_add_index(e->slices, "svc", svc_index);
    static const kc_handlers svch = {svc_add, svc_update, svc_delete},
                             podh = {pod_add, pod_update, pod_delete},
                             esh = {slice_add, slice_update, slice_delete};
    kc_informer_add_handlers(e->svcs, &svch, e);
    kc_informer_add_handlers(e->pods, &podh, e);
    kc_informer_add_handlers(e->slices, &esh, e);
    kc_informer_start(e->svcs);
    kc_informer_start(e->pods);
    kc_informer_start(e->slices);
    kc_informer_start(e->nodes);
    pthread_create(&e->starter, NULL, starter, e);
    return e;
}

void kc_endpointslice_stop(void *ctl)
{
    esctl *e = ctl;
    if (!e) return;
    kc_informer *infs[] = {e->svcs, e->pods, e->slices, e->nodes};
    for (int i = 0; i < 4; i++)
        kc_informer_stop(infs[i]);
    pthread_join(e->starter, NULL);
    kc_controller_free(e->ctl);
    for (int i = 0; i < 4; i++)
        kc_informer_free(infs[i]);
    kc_recorder_free(e->rec);
    kc_ep_selcache_release(&e->sels);
    kc_ep_podcache_release(&e->podc);
    kc_ep_doccache_release(&e->docs);
    kc_ep_trigger_release(&e->trig);
    kc_es_tracker_release(&e->track);
    kc_client_free(e->c);
    free(e);
}
