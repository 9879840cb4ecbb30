/* pvc-protection and pv-protection (see protection.h), one implementation for both kinds.
 *
 *   claim/volume event --> its key, when it is deleting or lacks the finalizer
 *   pod event (pvc kind) --> the claims the pod references that are being deleted
 *   sync: deleting + finalizer + unused --> finalizer removed (the object then disappears)
 *         live + no finalizer            --> finalizer added
 *
 * "Used" for a claim (upstream podUsesPVC): a pod in its namespace, scheduled to a node,
 * references it as persistentVolumeClaim, or as an ephemeral volume (<pod>-<volume>) unless
 * the pod is shut down (deleting with grace 0). The informer's answer "unused" is checked
 * against a live pod list before the finalizer goes, as upstream does. "Used" for a volume:
 * status.phase Bound. */
#include "controllers/protection.h"
#include "controllers/framework.h"
#include "controllers/pv_match.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <stdio.h>

typedef struct prot {
    kc_client *c;
    int kind, RES, POD;
    const char *finalizer;
    kc_informer *objs, *pods; /* pods: pvc kind only */
    kc_controller *ctl;
    pthread_t starter;
} prot;

static bool has_finalizer(const kc_obj *o, const char *fin)
{
    char needle[128];
    snprintf(needle, sizeof needle, "\"%s\"", fin);
    return strstr(o->json, needle) != NULL; /* cheap pre-check; confirmed on the parsed object */
}

static bool doc_has_finalizer(json_t *doc, const char *fin)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(doc, "metadata"), "finalizers"), i,
                       v) if (!strcmp(json_string_value(v) ?: "", fin)) return true;
    return false;
}

/* ---- pods using claims ---- */

static bool shut_down(json_t *pod)
{
    json_t *md = json_object_get(pod, "metadata");
    json_t *g = json_object_get(md, "deletionGracePeriodSeconds");
    return json_object_get(md, "deletionTimestamp") && json_is_integer(g) && json_integer_value(g) == 0;
}

/* Claim names a pod references (ephemeral ones only while the pod is not shut down), each passed to fn. */
static void pod_claims(json_t *pod, void (*fn)(void *ud, const char *claim), void *ud)
{
    const char *pname = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")) ?: "";
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "volumes"), i, v)
    {
        const char *claim =
            json_string_value(json_object_get(json_object_get(v, "persistentVolumeClaim"), "claimName"));
        if (claim) {
            fn(ud, claim);
        } else if (json_object_get(v, "ephemeral") && !shut_down(pod)) {
            char name[512];
            snprintf(name, sizeof name, "%s-%s", pname, json_string_value(json_object_get(v, "name")) ?: "");
            fn(ud, name);
        }
    }
}

static bool may_use_claims(const kc_obj *pod)
{
    return strstr(pod->json, "\"persistentVolumeClaim\"") || strstr(pod->json, "\"ephemeral\"");
}

typedef struct use_q {
    const char *claim;
    bool used;
} use_q;

static void match_claim(void *ud, const char *claim)
{
    use_q *q = ud;
    if (!strcmp(q->claim, claim)) q->used = true;
}

static bool pod_uses(const kc_obj *pod, const char *claim)
{
    if (!may_use_claims(pod)) return false;
    json_t *doc = kc_obj_parse(pod);
    const char *node = json_string_value(json_object_get(json_object_get(doc, "spec"), "nodeName"));
    use_q q = {claim, false};
    if (node && *node) pod_claims(doc, match_claim, &q);
    json_decref(doc);
    return q.used;
}

static bool any_uses(kc_obj **v, size_t n, const char *claim)
{
    for (size_t i = 0; i < n; i++)
        if (pod_uses(v[i], claim)) return true;
    return false;
}

/* The informer first; when it knows no user, a live list decides. Error: assume used. */
static bool claim_in_use(prot *p, const kc_obj *claim)
{
    kc_obj **v;
    size_t n = kc_informer_list(p->pods, claim->ns, &v);
    bool used = any_uses(v, n, claim->name);
    kc_objv_free(v, n);
    if (used) return true;
    kc_err err = KC_ERR_INIT;
    uint64_t rev;
    if (kc_client_list(p->c, p->POD, claim->ns, NULL, NULL, &v, &n, &rev, &err) < 0) {
        kc_err_release(&err);
        return true;
    }
    used = any_uses(v, n, claim->name);
    kc_objv_free(v, n);
    return used;
}

static bool in_use(prot *p, const kc_obj *o, json_t *doc)
{
    if (p->kind == KC_PROTECT_PV)
        return !strcmp(json_string_value(json_object_get(json_object_get(doc, "status"), "phase")) ?: "",
                       "Bound");
    return claim_in_use(p, o);
}

/* ---- sync ---- */

/* The finalizer list with fin added or removed, written with the revision it was read at. */
static int write_finalizers(prot *p, const kc_obj *o, json_t *doc, bool add)
{
    json_t *fins = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(doc, "metadata"), "finalizers"), i,
                       v) if (strcmp(json_string_value(v) ?: "", p->finalizer)) json_array_append(fins, v);
    if (add) json_array_append_new(fins, json_string(p->finalizer));
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)o->rev);
    json_t *pt = json_pack("{s:{s:s,s:o}}", "metadata", "resourceVersion", rv, "finalizers", fins);
    char *s = json_dumps(pt, JSON_COMPACT);
    json_decref(pt);
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_patch(p->c, p->RES, o->ns[0] ? o->ns : NULL, o->name, NULL,
                             "application/merge-patch+json", s, NULL, &err);
    if (rc < 0 && err.reason == KC_ENOTFOUND) rc = 0;
    kc_err_release(&err);
    free(s);
    return rc;
}

static int sync(void *ud, const char *key)
{
    prot *p = ud;
    const char *slash = strchr(key, '/');
    char ns[256] = "";
    if (slash) snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    kc_obj *o = kc_informer_get(p->objs, slash ? ns : NULL, slash ? slash + 1 : key);
    if (!o) return 0;
    json_t *doc = kc_obj_parse(o);
    bool has = doc_has_finalizer(doc, p->finalizer);
    int rc = 0;
    if (o->deleting && has && !in_use(p, o, doc))
        rc = write_finalizers(p, o, doc, false);
    else if (!o->deleting && !has)
        rc = write_finalizers(p, o, doc, true);
    json_decref(doc);
    kc_obj_unref(o);
    return rc;
}

/* ---- handlers ---- */

static void obj_event(void *ud, const kc_obj *o)
{
    prot *p = ud;
    if (o->deleting || !has_finalizer(o, p->finalizer)) kc_controller_enqueue(p->ctl, o);
}

static void obj_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    obj_event(ud, cur);
}

typedef struct enq {
    prot *p;
    const char *ns;
} enq;

static void enqueue_if_deleting(void *ud, const char *claim)
{
    enq *e = ud;
    kc_obj *c = kc_informer_get(e->p->objs, e->ns, claim);
    if (c && c->deleting) kc_controller_enqueue(e->p->ctl, c);
    kc_obj_unref(c);
}

static void pod_event(void *ud, const kc_obj *o)
{
    if (!may_use_claims(o)) return;
    json_t *doc = kc_obj_parse(o);
    enq e = {ud, o->ns};
    pod_claims(doc, enqueue_if_deleting, &e);
    json_decref(doc);
}

static void pod_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    if (strcmp(old->uid, cur->uid)) pod_event(ud, old);
    pod_event(ud, cur);
}

/* ---- start / stop ---- */

static void *starter(void *arg)
{
    prot *p = arg;
    kc_informer *infs[] = {p->objs, p->pods};
    kc_controller_run(p->ctl, infs, p->pods ? 2 : 1);
    return NULL;
}

void *kc_protection_start(kc_client *c, int kind)
{
    prot *p = xcalloc(1, sizeof *p);
    p->c = c;
    p->kind = kind;
    bool pvc = kind == KC_PROTECT_PVC;
    p->RES = kc_resource_find("", "v1", pvc ? "persistentvolumeclaims" : "persistentvolumes");
    p->POD = kc_resource_find("", "v1", "pods");
    p->finalizer = pvc ? KC_PVC_PROTECTION : KC_PV_PROTECTION;
    p->ctl = kc_controller_new(pvc ? "pvc-protection" : "pv-protection", 1, sync, p);
    p->objs = kc_informer_new(c, p->RES, NULL, NULL, NULL);
    static const kc_handlers oh = {obj_event, obj_update, NULL}, ph = {pod_event, pod_update, pod_event};
    kc_informer_add_handlers(p->objs, &oh, p);
    kc_informer_start(p->objs);
    if (pvc) {
        p->pods = kc_informer_new(c, p->POD, NULL, NULL, NULL);
        kc_informer_add_handlers(p->pods, &ph, p);
        kc_informer_start(p->pods);
    }
    pthread_create(&p->starter, NULL, starter, p);
    return p;
}

void kc_protection_stop(void *ctl)
{
    prot *p = ctl;
    if (!p) return;
    kc_informer_stop(p->objs);
    if (p->pods) kc_informer_stop(p->pods);
    pthread_join(p->starter, NULL);
    kc_controller_free(p->ctl);
    kc_informer_free(p->objs);
    kc_informer_free(p->pods);
    kc_client_free(p->c);
    free(p);
}
