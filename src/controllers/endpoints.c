/* Endpoints controller (semantics 5.6): informers on Services, pods and Endpoints; one sync per
 * Service key:
 *
 *   Service gone --> its Endpoints deleted (NotFound is fine)
 *   ExternalName, or no selector --> left alone (user-owned Endpoints stay untouched)
 *   pods of the namespace matching the selector --kc_ep_subsets--> subsets, truncated at 1000
 *   same subsets, labels and over-capacity annotation as the cached Endpoints --> no write
 *   else create / update (PUT with the cached resourceVersion: a stale cache gets 409, retried)
 *
 * Events that enqueue a Service key: the Service itself; a pod added or deleted (every Service
 * of its namespace selecting it); a pod update that changes what an endpoint shows or its labels
 * (old and new memberships); an Endpoints deleted. At start every Endpoints is enqueued once, so
 * Endpoints left behind by a Service deleted while the controller was down go too
 * (checkLeftoverEndpoints). Pure rules are in endpoints_pods.c and endpoints_subsets.c. */
#include "controllers/endpoints.h"
#include "controllers/endpoints_int.h"
#include "controllers/framework.h"
#include "lib/xalloc.h"
#include <stdio.h>

#define WORKERS 5 /* --concurrent-endpoint-syncs */
#define LEADER_ANNOTATION "control-plane.alpha.kubernetes.io/leader"

typedef struct epctl {
    kc_client *c;
    kc_informer *svcs, *pods, *eps;
    kc_controller *ctl;
    kc_recorder *rec;
    kc_ep_selcache sels;
    kc_ep_podcache podc;
    kc_ep_doccache docs; /* Endpoints documents */
    kc_ep_trigger trig;
    int SVC, POD, EP;
    pthread_t starter;
} epctl;

static size_t ns_index(const kc_obj *o, char **keys, size_t max)
{
    if (!max) return 0;
    keys[0] = xstrdup(o->ns);
    return 1;
}

/* ---- handlers ---- */

static kc_ep_feed feed(epctl *e)
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

static void svc_event(void *ud, const kc_obj *o)
{
    epctl *e = ud;
    kc_wq_add(kc_controller_queue(e->ctl), o->key);
}

static void svc_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    svc_event(ud, cur);
}

static void svc_delete(void *ud, const kc_obj *o)
{
    epctl *e = ud;
    kc_ep_selcache_forget(&e->sels, o->key);
    svc_event(ud, o);
}

/* ---- sync ---- */

static int delete_endpoints(epctl *e, const char *ns, const char *name)
{
    kc_err err = KC_ERR_INIT;
    kc_ep_trigger_forget(&e->trig, ns, name);
    int rc = kc_client_delete(e->c, e->EP, ns, name, NULL, &err);
    if (rc < 0 && err.reason != KC_ENOTFOUND) {
        fprintf(stderr, "endpoint-controller: delete %s/%s: %s\n", ns, name, err.msg);
        kc_err_release(&err);
        return -1;
    }
    kc_err_release(&err);
    return 0;
}

/* The pods of the namespace the Service selects (parsed; the caller releases them). */
static size_t selected_pods(epctl *e, const kc_ep_svc *s, kc_ep_pod **out)
{
    kc_obj **v;
    size_t n = kc_ep_selected(e->pods, s->ns, s->selector, &v);
    kc_ep_pod *pods = xcalloc(n + 1, sizeof *pods);
    for (size_t i = 0; i < n; i++)
        kc_ep_podcache_get(&e->podc, v[i], &pods[i]);
    kc_objv_free(v, n);
    *out = pods;
    return n;
}

static json_t *labels_without_headless(json_t *l)
{
    json_t *c = json_object_size(l) ? json_deep_copy(l) : json_object();
    json_object_del(c, KC_EP_HEADLESS);
    return c;
}

/* Is the cached Endpoints already what we would write (so no write)? */
static bool unchanged(json_t *cur, const kc_ep_svc *s, json_t *subsets, bool over)
{
    if (!cur) return false;
    json_t *md = json_object_get(cur, "metadata"), *have = json_object_get(cur, "subsets");
    json_t *empty = json_array(), *a = labels_without_headless(json_object_get(md, "labels"));
    json_t *b = labels_without_headless(s->labels);
    bool same = json_equal(have ? have : empty, subsets) && json_equal(a, b) &&
                (json_object_get(json_object_get(md, "annotations"), KC_EP_OVER_CAPACITY) != NULL) == over;
    json_decref(empty);
    json_decref(a);
    json_decref(b);
    return same;
}

static json_t *new_doc(json_t *cur, const kc_ep_svc *s, json_t *subsets, bool over, const char *trigger)
{
    json_t *doc = cur ? json_copy(cur) /* shallow: subsets are replaced, metadata copied below */
                      : json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Endpoints",
                                  "metadata", "name", s->name, "namespace", s->ns);
    if (cur) json_object_set_new(doc, "metadata", json_deep_copy(json_object_get(cur, "metadata")));
    json_t *md = json_object_get(doc, "metadata"), *ann = json_object_get(md, "annotations");
    if (!json_is_object(ann)) json_object_set_new(md, "annotations", ann = json_object());
    if (trigger[0])
        json_object_set_new(ann, KC_EP_TRIGGER, json_string(trigger));
    else
        json_object_del(ann, KC_EP_TRIGGER);
    if (over)
        json_object_set_new(ann, KC_EP_OVER_CAPACITY, json_string("truncated"));
    else
        json_object_del(ann, KC_EP_OVER_CAPACITY);
    if (!json_object_size(ann)) json_object_del(md, "annotations");
    json_object_set_new(md, "labels", kc_ep_labels(s));
    if (!json_object_size(json_object_get(md, "labels"))) json_object_del(md, "labels");
    if (json_array_size(subsets))
        json_object_set(doc, "subsets", subsets);
    else
        json_object_del(doc, "subsets");
    return doc;
}

static int write_endpoints(epctl *e, json_t *doc, bool create, const kc_ep_svc *s)
{
    kc_err err = KC_ERR_INIT;
    kc_obj *out = NULL;
    int rc = create ? kc_client_create(e->c, e->EP, s->ns, doc, &out, &err)
                    : kc_client_update(e->c, e->EP, doc, NULL, &out, &err);
    kc_obj_unref(out);
    if (rc == 0) return 0;
    if (create && err.reason == KC_EFORBIDDEN && strstr(err.msg, "terminat")) {
        kc_err_release(&err);
        return 0; /* namespace terminating: creates keep failing, drop the key */
    }
    if (err.reason != KC_ECONFLICT && err.reason != KC_EALREADYEXISTS) {
        kc_obj *about = kc_obj_build(e->EP, doc);
        if (create)
            kc_event(e->rec, about, "Warning", "FailedToCreateEndpoint",
                     "Failed to create endpoint for service %s/%s: %s", s->ns, s->name, err.msg);
        else
            kc_event(e->rec, about, "Warning", "FailedToUpdateEndpoint",
                     "Failed to update endpoint %s/%s: %s", s->ns, s->name, err.msg);
        kc_obj_unref(about);
    }
    kc_err_release(&err);
    return -1;
}

static int sync_service(epctl *e, kc_ep_svc *s)
{
    kc_ep_pod *pods;
    size_t n = selected_pods(e, s, &pods);
    kc_ep_pod **pv = xcalloc(n + 1, sizeof *pv);
    for (size_t i = 0; i < n; i++)
        pv[i] = &pods[i];
    char trigger[64];
    kc_ep_trigger_compute(&e->trig, s, pv, n, trigger);
    json_t *subsets = kc_ep_subsets(s, pv, n);
    bool over = kc_ep_truncate(subsets);
    kc_obj *cur = kc_informer_get(e->eps, s->ns, s->name);
    json_t *curdoc = cur ? kc_ep_doccache_get(&e->docs, cur) : NULL;
    int rc = 0;
    if (!unchanged(curdoc, s, subsets, over)) {
        json_t *doc = new_doc(curdoc, s, subsets, over, trigger);
        rc = write_endpoints(e, doc, !cur, s);
        json_decref(doc);
    }
    json_decref(curdoc);
    kc_obj_unref(cur);
    json_decref(subsets);
    for (size_t i = 0; i < n; i++)
        kc_ep_pod_release(&pods[i]);
    free(pods);
    free(pv);
    return rc;
}

static int sync(void *ud, const char *key)
{
    epctl *e = ud;
    char ns[256] = "", name[256] = "";
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    snprintf(name, sizeof name, "%s", slash + 1);
    kc_obj *o = kc_informer_get(e->svcs, ns, name);
    if (!o) return delete_endpoints(e, ns, name);
    kc_ep_svc s;
    kc_ep_svc_init(&s, kc_obj_parse(o));
    kc_obj_unref(o);
    int rc = kc_ep_svc_managed(&s) ? sync_service(e, &s) : 0;
    kc_ep_svc_release(&s);
    return rc;
}

/* ---- start and stop ---- */

/* checkLeftoverEndpoints: every Endpoints once, so those without a Service are deleted. */
static void enqueue_leftovers(epctl *e)
{
    kc_obj **v;
    size_t n = kc_informer_list(e->eps, NULL, &v);
    for (size_t i = 0; i < n; i++) {
        json_t *doc = kc_obj_parse(v[i]);
        json_t *ann = json_object_get(json_object_get(doc, "metadata"), "annotations");
        if (!json_object_get(ann, LEADER_ANNOTATION)) kc_wq_add(kc_controller_queue(e->ctl), v[i]->key);
        json_decref(doc);
    }
    kc_objv_free(v, n);
}

static void *starter(void *p)
{
    epctl *e = p;
    kc_informer *infs[] = {e->svcs, e->pods, e->eps};
    kc_controller_run(e->ctl, infs, 3);
    enqueue_leftovers(e);
    return NULL;
}

static void ep_delete(void *ud, const kc_obj *o)
{
    epctl *e = ud;
    kc_ep_doccache_forget(&e->docs, o->key);
    svc_event(ud, o); /* recreated if its Service still wants it */
}

void *kc_endpoints_start(kc_client *c)
{
    epctl *e = xcalloc(1, sizeof *e);
    e->c = c;
    e->SVC = kc_resource_find("", "v1", "services");
    e->POD = kc_resource_find("", "v1", "pods");
    e->EP = kc_resource_find("", "v1", "endpoints");
    kc_ep_selcache_init(&e->sels);
    kc_ep_podcache_init(&e->podc);
    kc_ep_doccache_init(&e->docs);
    kc_ep_trigger_init(&e->trig);
    e->rec = kc_recorder_new(c, "endpoint-controller", NULL);
    e->ctl = kc_controller_new("endpoint", WORKERS, sync, e);
    e->svcs = kc_informer_new(c, e->SVC, NULL, NULL, NULL);
    e->pods = kc_informer_new(c, e->POD, NULL, NULL, NULL);
    e->eps = kc_informer_new(c, e->EP, NULL, NULL, NULL);
    kc_informer_add_index(e->pods, KC_EP_LABEL_INDEX, kc_ep_label_index);
    kc_informer_add_index(e->svcs, "ns", ns_index);
    static const kc_handlers svch = {svc_event, svc_update, svc_delete},
                             podh = {pod_add, pod_update, pod_delete}, eph = {NULL, NULL, ep_delete};
    kc_informer_add_handlers(e->svcs, &svch, e);
    kc_informer_add_handlers(e->pods, &podh, e);
    kc_informer_add_handlers(e->eps, &eph, e);
    kc_informer_start(e->svcs);
    kc_informer_start(e->pods);
    kc_informer_start(e->eps);
    pthread_create(&e->starter, NULL, starter, e);
    return e;
}

void kc_endpoints_stop(void *ctl)
{
    epctl *e = ctl;
    if (!e) return;
    kc_informer_stop(e->svcs);
    kc_informer_stop(e->pods);
    kc_informer_stop(e->eps);
    pthread_join(e->starter, NULL);
    kc_controller_free(e->ctl);
    kc_informer_free(e->svcs);
    kc_informer_free(e->pods);
    kc_informer_free(e->eps);
    kc_recorder_free(e->rec);
    kc_ep_selcache_release(&e->sels);
    kc_ep_podcache_release(&e->podc);
    kc_ep_doccache_release(&e->docs);
    kc_ep_trigger_release(&e->trig);
    kc_client_free(e->c);
    free(e);
}
