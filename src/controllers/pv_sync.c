/* The PV binder's syncs (upstream pv_controller.go syncClaim / syncVolume), one key at a time.
 *
 *   claim  Pending --bind()--> Bound --(volume gone, or bound elsewhere)--> Lost
 *          unbound, no volume fits: default class assigned (nil class), or WaitForFirstConsumer
 *          (WaitForPodScheduled when unscheduled pods use it) event, or provisioning asked of the class's provisioner (annotations +
 *          ExternalProvisioning event), or FailedBinding event
 *   volume Pending/Available --bind()--> Bound --(claim deleted)--> Released --reclaim-->
 *          Retain: stays | Delete: the provisioner deletes it (external) or Failed (no deleter) |
 *          Recycle: Failed
 *
 * bind() writes in upstream's order: volume claimRef (+ bound-by-controller), volume phase
 * Bound, claim volumeName (+ bind-completed, bound-by-controller), claim status Bound with the
 * volume's capacity and access modes. Every spec write carries the resourceVersion it was
 * decided on, so a decision made on a stale cache fails with a conflict and is retried. */
#include "controllers/pv_int.h"
#include "lib/xalloc.h"
#include <stdio.h>

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *spec(json_t *o)
{
    return json_object_get(o, "spec");
}

static const char *phase(json_t *o)
{
    return jstr(json_object_get(o, "status"), "phase") ?: "";
}

static const char *meta(json_t *o, const char *k)
{
    return jstr(json_object_get(o, "metadata"), k) ?: "";
}

/* Merge patch (patch is consumed); *out gets the new object when asked. */
static int patch(kc_pvctl *p, int res, json_t *obj, const char *sub, json_t *patch, kc_obj **out)
{
    char *s = json_dumps(patch, JSON_COMPACT);
    json_decref(patch);
    kc_err err = KC_ERR_INIT;
    const char *ns = meta(obj, "namespace");
    int rc = kc_client_patch(p->c, res, *ns ? ns : NULL, meta(obj, "name"), sub,
                             "application/merge-patch+json", s, out, &err);
    if (rc < 0 && err.reason != KC_ECONFLICT && err.reason != KC_ENOTFOUND)
        fprintf(stderr, "persistentvolume-binder: patch %s %s: %s\n", meta(obj, "name"), sub ? sub : "",
                err.msg);
    kc_err_release(&err);
    free(s);
    return rc;
}

static void now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    kc_format_time(t, out);
}

/* ---- volume writes ---- */

/* updateVolumePhase(WithEvent): status.phase (+ message), lastPhaseTransitionTime. */
static int volume_phase(kc_pvctl *p, const kc_obj *o, json_t *pv, const char *ph, const char *reason,
                        const char *msg)
{
    if (!strcmp(phase(pv), ph)) return 0;
    char now[32];
    now_rfc3339(now);
    json_t *st = json_pack("{s:s,s:s}", "phase", ph, "lastPhaseTransitionTime", now);
    json_object_set_new(st, "message", msg ? json_string(msg) : json_null());
    if (reason) kc_event(p->rec, o, "Warning", reason, "%s", msg);
    return patch(p, p->PV, pv, "status", json_pack("{s:o}", "status", st), NULL);
}

static json_t *claim_ref(json_t *claim)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "PersistentVolumeClaim", "namespace",
                     meta(claim, "namespace"), "name", meta(claim, "name"), "uid", meta(claim, "uid"),
                     "apiVersion", "v1", "resourceVersion", meta(claim, "resourceVersion"));
}

/* bindVolumeToClaim: claimRef to the claim, bound-by-controller when the controller chose it.
 * *out: the volume as written (or a new reference to pv when nothing changed). */
static int bind_volume(kc_pvctl *p, json_t *pv, json_t *claim, json_t **out)
{
    json_t *ref = json_object_get(spec(pv), "claimRef");
    bool chosen = !kc_pv_bound_to(pv, claim);
    bool same = json_is_object(ref) && !strcmp(jstr(ref, "name") ?: "", meta(claim, "name")) &&
                !strcmp(jstr(ref, "namespace") ?: "", meta(claim, "namespace")) &&
                !strcmp(jstr(ref, "uid") ?: "", meta(claim, "uid"));
    bool annotate = chosen && !kc_pv_annotation(pv, KC_ANN_BOUND_BY_CONTROLLER);
    *out = json_incref(pv);
    if (same && !annotate) return 0;
    json_t *md = json_pack("{s:s}", "resourceVersion", meta(pv, "resourceVersion"));
    if (annotate)
        json_object_set_new(md, "annotations", json_pack("{s:s}", KC_ANN_BOUND_BY_CONTROLLER, "yes"));
    json_t *pt = json_pack("{s:o}", "metadata", md);
    if (!same) json_object_set_new(pt, "spec", json_pack("{s:o}", "claimRef", claim_ref(claim)));
    kc_obj *o = NULL;
    int rc = patch(p, p->PV, pv, NULL, pt, &o);
    if (rc == 0 && o) {
        json_decref(*out);
        *out = kc_obj_parse(o);
    }
    kc_obj_unref(o);
    return rc;
}

/* unbindVolume: a volume the controller bound loses claimRef; one pre-bound by the user keeps
 * it without the uid. Then Available. */
static int unbind_volume(kc_pvctl *p, const kc_obj *o, json_t *pv)
{
    json_t *pt;
    if (kc_pv_annotation(pv, KC_ANN_BOUND_BY_CONTROLLER))
        pt =
            json_pack("{s:{s:s,s:{s:n}},s:{s:n}}", "metadata", "resourceVersion", meta(pv, "resourceVersion"),
                      "annotations", KC_ANN_BOUND_BY_CONTROLLER, "spec", "claimRef");
    else
        pt = json_pack("{s:{s:s},s:{s:{s:n}}}", "metadata", "resourceVersion", meta(pv, "resourceVersion"),
                       "spec", "claimRef", "uid");
    kc_obj *no = NULL;
    int rc = patch(p, p->PV, pv, NULL, pt, &no);
    if (rc == 0 && no) {
        json_t *doc = kc_obj_parse(no);
        rc = volume_phase(p, o, doc, "Available", NULL, NULL);
        json_decref(doc);
    }
    kc_obj_unref(no);
    return rc;
}

/* ---- claim writes ---- */

/* updateClaimStatus(WithEvent): phase; capacity and access modes of the volume (NULL: none). */
static int claim_status(kc_pvctl *p, const kc_obj *o, json_t *claim, const char *ph, json_t *pv,
                        const char *reason, const char *msg)
{
    json_t *st = json_object_get(claim, "status");
    json_t *modes = pv ? json_object_get(spec(pv), "accessModes") : NULL;
    json_t *cap = pv ? json_object_get(json_object_get(spec(pv), "capacity"), "storage") : NULL;
    json_t *have_modes = json_object_get(st, "accessModes");
    json_t *have_cap = json_object_get(json_object_get(st, "capacity"), "storage");
    bool same = !strcmp(phase(claim), ph) && (modes ? json_equal(modes, have_modes) : !have_modes) &&
                (cap ? json_equal(cap, have_cap) : !have_cap);
    if (same) return 0;
    if (reason && strcmp(phase(claim), ph)) kc_event(p->rec, o, "Warning", reason, "%s", msg);
    json_t *ns = json_pack("{s:s}", "phase", ph);
    json_object_set_new(ns, "accessModes", modes ? json_incref(modes) : json_null());
    json_object_set_new(ns, "capacity", cap ? json_pack("{s:O}", "storage", cap) : json_null());
    return patch(p, p->PVC, claim, "status", json_pack("{s:o}", "status", ns), NULL);
}

/* bindClaimToVolume: volumeName (+ bound-by-controller when the controller chose), bind-completed. */
static int bind_claim(kc_pvctl *p, json_t *claim, json_t *pv, json_t **out)
{
    const char *name = meta(pv, "name");
    bool set = strcmp(jstr(spec(claim), "volumeName") ?: "", name) != 0;
    json_t *ann = json_object();
    if (set && !kc_pv_annotation(claim, KC_ANN_BOUND_BY_CONTROLLER))
        json_object_set_new(ann, KC_ANN_BOUND_BY_CONTROLLER, json_string("yes"));
    if (!kc_pv_annotation(claim, KC_ANN_BIND_COMPLETED))
        json_object_set_new(ann, KC_ANN_BIND_COMPLETED, json_string("yes"));
    *out = json_incref(claim);
    if (!set && !json_object_size(ann)) {
        json_decref(ann);
        return 0;
    }
    json_t *pt = json_pack("{s:{s:s,s:o}}", "metadata", "resourceVersion", meta(claim, "resourceVersion"),
                           "annotations", ann);
    if (set) json_object_set_new(pt, "spec", json_pack("{s:s}", "volumeName", name));
    kc_obj *o = NULL;
    int rc = patch(p, p->PVC, claim, NULL, pt, &o);
    if (rc == 0 && o) {
        json_decref(*out);
        *out = kc_obj_parse(o);
    }
    kc_obj_unref(o);
    return rc;
}

/* bind(): volume first, then the claim. The volume is reserved for the claim meanwhile. */
static int bind(kc_pvctl *p, const kc_obj *co, json_t *claim, const kc_obj *vo, json_t *pv)
{
    if (!kc_pvctl_reserve(p, vo->name, co->key)) return -1;
    json_t *npv = NULL, *nclaim = NULL;
    int rc = bind_volume(p, pv, claim, &npv);
    if (rc == 0) rc = volume_phase(p, vo, npv, "Bound", NULL, NULL);
    if (rc == 0) rc = bind_claim(p, claim, npv, &nclaim);
    if (rc == 0) rc = claim_status(p, co, nclaim, "Bound", npv, NULL, NULL);
    json_decref(npv);
    json_decref(nclaim);
    kc_pvctl_unreserve(p, vo->name);
    return rc;
}

/* ---- claims ---- */

static json_t *class_doc(kc_pvctl *p, const char *name)
{
    if (!*name) return NULL;
    kc_obj *o = kc_informer_get(p->scs, NULL, name);
    json_t *doc = o ? kc_pvctl_doc(p, o) : NULL;
    kc_obj_unref(o);
    return doc;
}

/* GetDefaultClass: newest default class, ties to the smaller name; NULL when none (owned). */
static char *default_class(kc_pvctl *p)
{
    kc_obj **v;
    size_t n = kc_informer_list(p->scs, NULL, &v);
    char *best = NULL, best_ts[40] = "";
    for (size_t i = 0; i < n; i++) {
        json_t *d = kc_pvctl_doc(p, v[i]);
        const char *ts = meta(d, "creationTimestamp");
        int c = best ? strcmp(ts, best_ts) : 1;
        if (kc_sc_is_default(d) && (c > 0 || (c == 0 && strcmp(v[i]->name, best) < 0))) {
            free(best);
            best = xstrdup(v[i]->name);
            snprintf(best_ts, sizeof best_ts, "%s", ts);
        }
        json_decref(d);
    }
    kc_objv_free(v, n);
    return best;
}

typedef struct skip_ctx {
    kc_pvctl *p;
    const char *claim_key;
} skip_ctx;

static bool reserved_elsewhere(void *ud, json_t *pv)
{
    skip_ctx *s = ud;
    return kc_pvctl_reserved_by_other(s->p, meta(pv, "name"), s->claim_key);
}

/* provisionClaim for an external provisioner: annotate the claim, say so in an event. */
static int provision(kc_pvctl *p, const kc_obj *o, json_t *claim, const char *cls, json_t *sc)
{
    if (!sc) {
        kc_event(p->rec, o, "Warning", "ProvisioningFailed", "storageclass.storage.k8s.io \"%s\" not found",
                 cls);
        return 0;
    }
    const char *prov = jstr(sc, "provisioner") ?: "";
    if (!*prov || !strcmp(prov, KC_NO_PROVISIONER)) return 0;
    kc_event(
        p->rec, o, "Normal", "ExternalProvisioning",
        "Waiting for a volume to be created either by the external provisioner '%s' or manually by the "
        "system "
        "administrator. If volume creation is delayed, please verify that the provisioner is running and "
        "correctly registered.",
        prov);
    const char *have = kc_pv_annotation(claim, KC_ANN_STORAGE_PROVISIONER);
    const char *beta = kc_pv_annotation(claim, KC_ANN_BETA_STORAGE_PROVISIONER);
    if (have && beta && !strcmp(have, prov) && !strcmp(beta, prov)) return 0;
    json_t *pt =
        json_pack("{s:{s:s,s:{s:s,s:s}}}", "metadata", "resourceVersion", meta(claim, "resourceVersion"),
                  "annotations", KC_ANN_STORAGE_PROVISIONER, prov, KC_ANN_BETA_STORAGE_PROVISIONER, prov);
    return patch(p, p->PVC, claim, NULL, pt, NULL);
}

/* emitEventForUnboundDelayBindingClaim: WaitForPodScheduled naming the unscheduled pods that
 * use the claim, else WaitForFirstConsumer. */
static void wait_for_consumer(kc_pvctl *p, const kc_obj *o)
{
    kc_obj **v;
    size_t n = kc_informer_by_index(p->pods, "pending", o->key, &v);
    if (!n) {
        kc_event(p->rec, o, "Normal", "WaitForFirstConsumer",
                 "waiting for first consumer to be created before binding");
        return;
    }
    char names[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof names; i++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? "," : "", v[i]->name);
    kc_event(p->rec, o, "Normal", "WaitForPodScheduled", "waiting for pod%s %s to be scheduled",
             n > 1 ? "s" : "", names);
    kc_objv_free(v, n);
}

/* No volume fits: default class, wait for a consumer, provision, or report. Pending. */
static int no_match(kc_pvctl *p, const kc_obj *o, json_t *claim, json_t *sc, bool delay)
{
    const char *cls = kc_pvc_class(claim);
    char *def = kc_pvc_has_class(claim) ? NULL : default_class(p);
    if (def) { /* retroactive default StorageClass assignment */
        json_t *pt = json_pack("{s:{s:s},s:{s:s}}", "metadata", "resourceVersion",
                               meta(claim, "resourceVersion"), "spec", "storageClassName", def);
        free(def);
        return patch(p, p->PVC, claim, NULL, pt, NULL);
    }
    int rc = 0;
    if (delay && !kc_pv_annotation(claim, KC_ANN_SELECTED_NODE))
        wait_for_consumer(p, o);
    else if (*cls)
        rc = provision(p, o, claim, cls, sc);
    else
        kc_event(p->rec, o, "Normal", "FailedBinding",
                 "no persistent volumes available for this claim and no storage class is set");
    if (rc == 0) rc = claim_status(p, o, claim, "Pending", NULL, NULL, NULL);
    return rc;
}

static int unbound_any(kc_pvctl *p, const kc_obj *o, json_t *claim)
{
    json_t *sc = class_doc(p, kc_pvc_class(claim));
    bool delay = sc && kc_sc_wait_for_consumer(sc);
    size_t n;
    json_t **vols = kc_pvctl_volumes(p, &n);
    skip_ctx sk = {p, o->key};
    json_t *pv = kc_pv_best_match(claim, vols, n, delay, reserved_elsewhere, &sk);
    int rc;
    if (pv) {
        kc_obj *vo = kc_informer_get(p->pvs, NULL, meta(pv, "name"));
        rc = vo ? bind(p, o, claim, vo, pv) : -1;
        kc_obj_unref(vo);
    } else {
        rc = no_match(p, o, claim, sc, delay);
    }
    kc_pvctl_docs_free(vols, n);
    json_decref(sc);
    return rc;
}

/* The claim names its volume (spec.volumeName) but is not bound yet. */
static int unbound_named(kc_pvctl *p, const kc_obj *o, json_t *claim, const char *vname)
{
    kc_obj *vo = kc_informer_get(p->pvs, NULL, vname);
    if (!vo) return claim_status(p, o, claim, "Pending", NULL, NULL, NULL);
    json_t *pv = kc_pvctl_doc(p, vo);
    int rc = 0;
    const char *why;
    if (!json_is_object(json_object_get(spec(pv), "claimRef"))) {
        if ((why = kc_pv_unsatisfied(pv, claim))) {
            kc_event(p->rec, o, "Warning", "VolumeMismatch", "Cannot bind to requested volume \"%s\": %s",
                     vname, why);
            rc = claim_status(p, o, claim, "Pending", NULL, NULL, NULL);
        } else {
            rc = bind(p, o, claim, vo, pv);
        }
    } else if (kc_pv_bound_to(pv, claim)) {
        rc = bind(p, o, claim, vo, pv);
    } else {
        kc_event(p->rec, o, "Warning", "FailedBinding", "volume \"%s\" already bound to a different claim.",
                 vname);
        rc = kc_pv_annotation(claim, KC_ANN_BOUND_BY_CONTROLLER)
                 ? -1
                 : claim_status(p, o, claim, "Pending", NULL, NULL, NULL);
    }
    json_decref(pv);
    kc_obj_unref(vo);
    return rc;
}

static int sync_bound(kc_pvctl *p, const kc_obj *o, json_t *claim)
{
    const char *vname = jstr(spec(claim), "volumeName") ?: "";
    if (!*vname)
        return claim_status(
            p, o, claim, "Lost", NULL, "ClaimLost",
            "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!");
    kc_obj *vo = kc_informer_get(p->pvs, NULL, vname);
    if (!vo)
        return claim_status(p, o, claim, "Lost", NULL, "ClaimLost",
                            "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
    json_t *pv = kc_pvctl_doc(p, vo);
    json_t *ref = json_object_get(spec(pv), "claimRef");
    int rc;
    if (!json_is_object(ref) || !strcmp(jstr(ref, "uid") ?: "", o->uid))
        rc = bind(p, o, claim, vo, pv);
    else
        rc = claim_status(p, o, claim, "Lost", NULL, "ClaimMisbound",
                          "Two claims are bound to the same volume, this one is bound incorrectly");
    json_decref(pv);
    kc_obj_unref(vo);
    return rc;
}

static int sync_claim(kc_pvctl *p, const char *key)
{
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
    kc_obj *o = kc_informer_get(p->pvcs, ns, slash + 1);
    if (!o) return 0;
    json_t *claim = kc_pvctl_doc(p, o);
    const char *vname = jstr(spec(claim), "volumeName") ?: "";
    int rc;
    if (kc_pv_annotation(claim, KC_ANN_BIND_COMPLETED))
        rc = sync_bound(p, o, claim);
    else if (*vname)
        rc = unbound_named(p, o, claim, vname);
    else
        rc = unbound_any(p, o, claim);
    json_decref(claim);
    kc_obj_unref(o);
    return rc;
}

/* ---- volumes ---- */

/* reclaimVolume: Retain keeps it; Delete is the external provisioner's job when it made the
 * volume, else nothing can delete it (Failed); Recycle is not supported (Failed). */
static int reclaim(kc_pvctl *p, const kc_obj *o, json_t *pv)
{
    const char *policy = jstr(spec(pv), "persistentVolumeReclaimPolicy") ?: "Retain";
    if (!strcmp(policy, "Recycle"))
        return volume_phase(p, o, pv, "Failed", "VolumeFailedRecycle",
                            "No recycler plugin found for the volume!");
    if (strcmp(policy, "Delete")) return 0;
    const char *prov = kc_pv_annotation(pv, KC_ANN_PROVISIONED_BY);
    if (prov && *prov && strncmp(prov, "kubernetes.io/", 14)) return 0;
    char msg[512];
    snprintf(msg, sizeof msg,
             "error getting deleter volume plugin for volume \"%s\": no deletable volume plugin matched",
             o->name);
    return volume_phase(p, o, pv, "Failed", "VolumeFailedDelete", msg);
}

/* The claim a bound volume names, from the cache or (when the cache has none) the API, so
 * that a volume is never released because of a lagging cache. NULL when gone or replaced. */
static kc_obj *volume_claim(kc_pvctl *p, json_t *pv, json_t *ref)
{
    const char *ns = jstr(ref, "namespace") ?: "", *name = jstr(ref, "name") ?: "";
    kc_obj *co = kc_informer_get(p->pvcs, ns, name);
    const char *ph = phase(pv);
    if ((!co || strcmp(co->uid, jstr(ref, "uid") ?: "")) && strcmp(ph, "Released") && strcmp(ph, "Failed")) {
        kc_obj_unref(co);
        co = NULL;
        kc_err err = KC_ERR_INIT;
        if (kc_client_get(p->c, p->PVC, ns, name, &co, &err) < 0) co = NULL;
        kc_err_release(&err);
    }
    if (co && strcmp(co->uid, jstr(ref, "uid") ?: "")) {
        kc_obj_unref(co);
        co = NULL;
    }
    return co;
}

/* The claim is gone: Released (a Failed volume stays Failed, so the user sees what went wrong),
 * then the reclaim policy. */
static int release(kc_pvctl *p, const kc_obj *o, json_t *pv)
{
    const char *ph = phase(pv);
    int rc = 0;
    if (strcmp(ph, "Released") && strcmp(ph, "Failed")) rc = volume_phase(p, o, pv, "Released", NULL, NULL);
    if (rc == 0 && strcmp(ph, "Failed")) rc = reclaim(p, o, pv);
    return rc;
}

static int claimed_volume(kc_pvctl *p, const kc_obj *o, json_t *pv, json_t *ref)
{
    kc_obj *co = volume_claim(p, pv, ref);
    int rc = 0;
    if (!co) return release(p, o, pv);
    json_t *claim = kc_pvctl_doc(p, co);
    const char *vname = jstr(spec(claim), "volumeName") ?: "";
    if (!*vname) {
        if (kc_pv_mode_mismatch(claim, pv)) {
            kc_event(p->rec, o, "Warning", "VolumeMismatch",
                     "Cannot bind PersistentVolume to requested PersistentVolumeClaim \"%s\" due to "
                     "incompatible volumeMode.",
                     co->name);
            kc_event(p->rec, co, "Warning", "VolumeMismatch",
                     "Cannot bind PersistentVolume \"%s\" to requested PersistentVolumeClaim due to "
                     "incompatible volumeMode.",
                     o->name);
        } else {
            kc_pvctl_enqueue_claim(p, co->ns, co->name);
        }
    } else if (!strcmp(vname, o->name)) {
        rc = volume_phase(p, o, pv, "Bound", NULL, NULL);
    } else if (kc_pv_annotation(pv, KC_ANN_PROVISIONED_BY) &&
               !strcmp(jstr(spec(pv), "persistentVolumeReclaimPolicy") ?: "", "Delete")) {
        rc = release(p, o, pv);
    } else {
        rc = unbind_volume(p, o, pv);
    }
    json_decref(claim);
    kc_obj_unref(co);
    return rc;
}

static int sync_volume(kc_pvctl *p, const char *name)
{
    kc_obj *o = kc_informer_get(p->pvs, NULL, name);
    if (!o) return 0;
    json_t *pv = kc_pvctl_doc(p, o);
    json_t *ref = json_object_get(spec(pv), "claimRef");
    int rc;
    if (!json_is_object(ref) || !*(jstr(ref, "uid") ?: ""))
        rc = volume_phase(p, o, pv, "Available", NULL, NULL);
    else
        rc = claimed_volume(p, o, pv, ref);
    json_decref(pv);
    kc_obj_unref(o);
    return rc;
}

int kc_pvctl_sync(void *ud, const char *key)
{
    kc_pvctl *p = ud;
    if (!strncmp(key, "c/", 2)) return sync_claim(p, key + 2);
    if (!strncmp(key, "v/", 2)) return sync_volume(p, key + 2);
    return 0;
}
