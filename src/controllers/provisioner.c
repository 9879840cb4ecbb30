/* local-path provisioner (see provisioner.h), modelled on rancher's local-path-provisioner and
 * sig-storage-lib-external-provisioner:
 *
 *   start: StorageClass local-path created unless it exists
 *   claim annotated volume.kubernetes.io/storage-provisioner=rancher.io/local-path by the PV
 *   binder, unbound, of a class of this provisioner (WaitForFirstConsumer: once the scheduler
 *   wrote volume.kubernetes.io/selected-node), without a selector (not supported, as upstream's
 *   provisioner library says in a ProvisioningFailed event)
 *       --> events Provisioning, then PV pvc-<claim uid> created (local volume at
 *           <data-dir>/storage/pvc-<uid>_<ns>_<name>, node affinity to the selected node,
 *           capacity = request, claimRef pre-set, class reclaim policy) --> ProvisioningSucceeded;
 *           the binder then binds the pair
 *   volume of this provisioner Released with reclaim Delete --> PV deleted
 *
 * Nodes are simulated, so the directory is only recorded in the volume, never created; a node
 * agent would create it (as the hostPath DirectoryOrCreate type says). */
#include "controllers/provisioner.h"
#include "controllers/framework.h"
#include "controllers/pv_match.h"
#include "lib/xalloc.h"
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 4

typedef struct lp {
    kc_client *c;
    char *dir; /* <data-dir>/storage */
    int PV, PVC, SC;
    kc_informer *pvs, *pvcs, *scs;
    kc_controller *ctl; /* "c/<ns>/<name>" claims, "v/<name>" volumes */
    kc_recorder *rec;
    pthread_t starter;
} lp;

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *meta(json_t *o, const char *k)
{
    return jstr(json_object_get(o, "metadata"), k) ?: "";
}

static json_t *node_affinity(const char *node)
{
    return json_pack("{s:{s:[{s:[{s:s,s:s,s:[s]}]}]}}", "required", "nodeSelectorTerms", "matchExpressions",
                     "key", "kubernetes.io/hostname", "operator", "In", "values", node);
}

json_t *kc_local_path_volume(json_t *claim, json_t *sc, const char *node, const char *storage_dir)
{
    json_t *cs = json_object_get(claim, "spec");
    char name[128], path[PATH_MAX];
    snprintf(name, sizeof name, "pvc-%s", meta(claim, "uid"));
    snprintf(path, sizeof path, "%s/%s_%s_%s", storage_dir, name, meta(claim, "namespace"),
             meta(claim, "name"));
    json_t *ann = json_pack("{s:s}", KC_ANN_PROVISIONED_BY, KC_LOCAL_PATH_PROVISIONER);
    if (node) json_object_set_new(ann, "local.path.provisioner/selected-node", json_string(node));
    json_t *storage =
        json_object_get(json_object_get(json_object_get(cs, "resources"), "requests"), "storage");
    json_t *spec =
        json_pack("{s:{s:O},s:O,s:s,s:s,s:s}", "capacity", "storage", storage ?: json_string("0"),
                  "accessModes", json_object_get(cs, "accessModes") ?: json_array(),
                  "persistentVolumeReclaimPolicy", jstr(sc, "reclaimPolicy") ?: "Delete", "storageClassName",
                  meta(sc, "name"), "volumeMode", jstr(cs, "volumeMode") ?: "Filesystem");
    json_object_set_new(spec, "claimRef",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "PersistentVolumeClaim", "namespace",
                                  meta(claim, "namespace"), "name", meta(claim, "name"), "uid",
                                  meta(claim, "uid"), "apiVersion", "v1", "resourceVersion",
                                  meta(claim, "resourceVersion")));
    if (json_is_array(json_object_get(sc, "mountOptions")))
        json_object_set(spec, "mountOptions", json_object_get(sc, "mountOptions"));
    if (node) {
        json_object_set_new(spec, "local", json_pack("{s:s}", "path", path));
        json_object_set_new(spec, "nodeAffinity", node_affinity(node));
    } else {
        json_object_set_new(spec, "hostPath",
                            json_pack("{s:s,s:s}", "path", path, "type", "DirectoryOrCreate"));
    }
    return json_pack("{s:s,s:s,s:{s:s,s:o},s:o}", "apiVersion", "v1", "kind", "PersistentVolume", "metadata",
                     "name", name, "annotations", ann, "spec", spec);
}

/* ---- claims ---- */

static bool ours(json_t *claim)
{
    const char *a = kc_pv_annotation(claim, KC_ANN_STORAGE_PROVISIONER);
    const char *b = kc_pv_annotation(claim, KC_ANN_BETA_STORAGE_PROVISIONER);
    return (a && !strcmp(a, KC_LOCAL_PATH_PROVISIONER)) || (!a && b && !strcmp(b, KC_LOCAL_PATH_PROVISIONER));
}

static int create_volume(lp *p, const kc_obj *o, json_t *claim, json_t *sc, const char *node)
{
    kc_event(p->rec, o, "Normal", "Provisioning",
             "External provisioner is provisioning volume for claim \"%s/%s\"", o->ns, o->name);
    json_t *pv = kc_local_path_volume(claim, sc, node, p->dir);
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_create(p->c, p->PV, NULL, pv, NULL, &err);
    if (rc == 0)
        kc_event(p->rec, o, "Normal", "ProvisioningSucceeded", "Successfully provisioned volume %s",
                 meta(pv, "name"));
    else if (err.reason == KC_EALREADYEXISTS)
        rc = 0;
    else
        kc_event(p->rec, o, "Warning", "ProvisioningFailed",
                 "failed to provision volume with StorageClass \"%s\": %s", meta(sc, "name"), err.msg);
    kc_err_release(&err);
    json_decref(pv);
    return rc;
}

/* shouldProvision: unbound, ours, class ours, a node chosen when the class waits for one,
 * no volume made for it yet. */
static int sync_claim(lp *p, const kc_obj *o)
{
    json_t *claim = kc_obj_parse(o);
    json_t *cs = json_object_get(claim, "spec");
    kc_obj *sco = NULL, *existing = NULL;
    json_t *sc = NULL;
    int rc = 0;
    const char *node = kc_pv_annotation(claim, KC_ANN_SELECTED_NODE);
    char pvname[128];
    snprintf(pvname, sizeof pvname, "pvc-%s", o->uid);
    if (o->deleting || *(jstr(cs, "volumeName") ?: "") || !ours(claim)) goto out;
    sco = kc_informer_get(p->scs, NULL, kc_pvc_class(claim));
    sc = sco ? kc_obj_parse(sco) : NULL;
    if (!sc || strcmp(jstr(sc, "provisioner") ?: "", KC_LOCAL_PATH_PROVISIONER)) goto out;
    if (kc_sc_wait_for_consumer(sc) && !node) goto out;
    existing = kc_informer_get(p->pvs, NULL, pvname);
    if (!existing && json_is_object(json_object_get(cs, "selector")))
        kc_event(p->rec, o, "Warning", "ProvisioningFailed",
                 "failed to provision volume with StorageClass \"%s\": claim Selector is not supported",
                 meta(sc, "name"));
    else if (!existing)
        rc = create_volume(p, o, claim, sc, kc_sc_wait_for_consumer(sc) ? node : NULL);
out:
    kc_obj_unref(existing);
    kc_obj_unref(sco);
    json_decref(sc);
    json_decref(claim);
    return rc;
}

/* ---- volumes ---- */

static bool released_ours(const kc_obj *o, json_t *pv)
{
    const char *by = kc_pv_annotation(pv, KC_ANN_PROVISIONED_BY);
    json_t *spec = json_object_get(pv, "spec");
    return !o->deleting && by && !strcmp(by, KC_LOCAL_PATH_PROVISIONER) &&
           !strcmp(jstr(json_object_get(pv, "status"), "phase") ?: "", "Released") &&
           !strcmp(jstr(spec, "persistentVolumeReclaimPolicy") ?: "", "Delete");
}

static int sync_volume(lp *p, const kc_obj *o)
{
    json_t *pv = kc_obj_parse(o);
    int rc = 0;
    if (released_ours(o, pv)) {
        json_t *opts = json_pack("{s:{s:s}}", "preconditions", "uid", o->uid);
        kc_err err = KC_ERR_INIT;
        rc = kc_client_delete(p->c, p->PV, NULL, o->name, opts, &err);
        if (rc < 0 && (err.reason == KC_ENOTFOUND || err.reason == KC_ECONFLICT)) rc = 0;
        kc_err_release(&err);
        json_decref(opts);
    }
    json_decref(pv);
    return rc;
}

static int sync(void *ud, const char *key)
{
    lp *p = ud;
    bool claim = !strncmp(key, "c/", 2);
    const char *k = key + 2, *slash = strchr(k, '/');
    char ns[256] = "";
    if (claim && !slash) return 0;
    if (claim) snprintf(ns, sizeof ns, "%.*s", (int)(slash - k), k);
    kc_obj *o = claim ? kc_informer_get(p->pvcs, ns, slash + 1) : kc_informer_get(p->pvs, NULL, k);
    int rc = !o ? 0 : claim ? sync_claim(p, o) : sync_volume(p, o);
    kc_obj_unref(o);
    return rc;
}

/* ---- handlers ---- */

static void enqueue(lp *p, char kind, const kc_obj *o)
{
    char key[600];
    snprintf(key, sizeof key, "%c/%s", kind, o->key);
    kc_wq_add(kc_controller_queue(p->ctl), key);
}

static void claim_add(void *ud, const kc_obj *o)
{
    if (strstr(o->json, KC_LOCAL_PATH_PROVISIONER)) enqueue(ud, 'c', o);
}

static void claim_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    claim_add(ud, cur);
}

static void volume_add(void *ud, const kc_obj *o)
{
    if (strstr(o->json, KC_LOCAL_PATH_PROVISIONER) && strstr(o->json, "\"Released\"")) enqueue(ud, 'v', o);
}

static void volume_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    volume_add(ud, cur);
}

/* ---- start / stop ---- */

/* The default StorageClass, created once when missing (a user may change or delete it later). */
static void ensure_class(lp *p)
{
    kc_obj *o = NULL;
    kc_err err = KC_ERR_INIT;
    if (kc_client_get(p->c, p->SC, NULL, KC_LOCAL_PATH_CLASS, &o, &err) == 0 || err.reason != KC_ENOTFOUND) {
        kc_obj_unref(o);
        kc_err_release(&err);
        return;
    }
    kc_err_release(&err);
    json_t *sc = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:s,s:s,s:s}", "apiVersion", "storage.k8s.io/v1", "kind",
                           "StorageClass", "metadata", "name", KC_LOCAL_PATH_CLASS, "annotations",
                           KC_ANN_DEFAULT_CLASS, "true", "provisioner", KC_LOCAL_PATH_PROVISIONER,
                           "reclaimPolicy", "Delete", "volumeBindingMode", "WaitForFirstConsumer");
    if (kc_client_create(p->c, p->SC, NULL, sc, NULL, &err) < 0 && err.reason != KC_EALREADYEXISTS)
        fprintf(stderr, "local-path-provisioner: create StorageClass %s: %s\n", KC_LOCAL_PATH_CLASS, err.msg);
    kc_err_release(&err);
    json_decref(sc);
}

static void *starter(void *arg)
{
    lp *p = arg;
    kc_informer *infs[] = {p->pvs, p->pvcs, p->scs};
    for (int i = 0; i < 3; i++)
        kc_informer_wait_synced(infs[i], 30000);
    if (kc_informer_synced(p->scs)) ensure_class(p);
    kc_controller_run(p->ctl, infs, 3);
    return NULL;
}

void *kc_local_path_start(kc_client *c, const char *data_dir)
{
    lp *p = xcalloc(1, sizeof *p);
    p->c = c;
    char abs[PATH_MAX];
    const char *base = realpath(data_dir, abs) ? abs : data_dir;
    p->dir = xmalloc(strlen(base) + 16);
    sprintf(p->dir, "%s/storage", base);
    p->PV = kc_resource_find("", "v1", "persistentvolumes");
    p->PVC = kc_resource_find("", "v1", "persistentvolumeclaims");
    p->SC = kc_resource_find("storage.k8s.io", "v1", "storageclasses");
    p->rec = kc_recorder_new(c, KC_LOCAL_PATH_PROVISIONER "_kubec", NULL);
    p->ctl = kc_controller_new("local-path-provisioner", WORKERS, sync, p);
    p->pvs = kc_informer_new(c, p->PV, NULL, NULL, NULL);
    p->pvcs = kc_informer_new(c, p->PVC, NULL, NULL, NULL);
    p->scs = kc_informer_new(c, p->SC, NULL, NULL, NULL);
    static const kc_handlers ch = {claim_add, claim_update, NULL}, vh = {volume_add, volume_update, NULL};
    kc_informer_add_handlers(p->pvcs, &ch, p);
    kc_informer_add_handlers(p->pvs, &vh, p);
    kc_informer_start(p->pvs);
    kc_informer_start(p->pvcs);
    kc_informer_start(p->scs);
    pthread_create(&p->starter, NULL, starter, p);
    return p;
}

void kc_local_path_stop(void *ctl)
{
    lp *p = ctl;
    if (!p) return;
    kc_informer_stop(p->pvs);
    kc_informer_stop(p->pvcs);
    kc_informer_stop(p->scs);
    pthread_join(p->starter, NULL);
    kc_controller_free(p->ctl);
    kc_informer_free(p->pvs);
    kc_informer_free(p->pvcs);
    kc_informer_free(p->scs);
    kc_recorder_free(p->rec);
    free(p->dir);
    kc_client_free(p->c);
    free(p);
}
