/* PersistentVolume / PersistentVolumeClaim rules shared by the PV binder controller, the
 * local-path provisioner, the protection controllers and the scheduler's VolumeBinding plugin
 * (semantics 6.3-6.5; upstream component-helpers/storage/volume and the PV controller's
 * index.go). Pure functions over parsed documents (json_t, borrowed); nothing here talks to the
 * API. The scheduler includes this header as upstream's scheduler imports the same helpers. */
#ifndef KC_CONTROLLERS_PV_MATCH_H
#define KC_CONTROLLERS_PV_MATCH_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define KC_ANN_BIND_COMPLETED "pv.kubernetes.io/bind-completed"
#define KC_ANN_BOUND_BY_CONTROLLER "pv.kubernetes.io/bound-by-controller"
#define KC_ANN_PROVISIONED_BY "pv.kubernetes.io/provisioned-by"
#define KC_ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define KC_ANN_STORAGE_PROVISIONER "volume.kubernetes.io/storage-provisioner"
#define KC_ANN_BETA_STORAGE_PROVISIONER "volume.beta.kubernetes.io/storage-provisioner"
#define KC_ANN_BETA_CLASS "volume.beta.kubernetes.io/storage-class"
#define KC_ANN_DEFAULT_CLASS "storageclass.kubernetes.io/is-default-class"
#define KC_ANN_BETA_DEFAULT_CLASS "storageclass.beta.kubernetes.io/is-default-class"
#define KC_PVC_PROTECTION "kubernetes.io/pvc-protection"
#define KC_PV_PROTECTION "kubernetes.io/pv-protection"
#define KC_NO_PROVISIONER "kubernetes.io/no-provisioner"

/* metadata.annotations[key] or NULL. */
const char *kc_pv_annotation(json_t *obj, const char *key);
/* GetPersistentVolumeClaimClass: beta annotation, else spec.storageClassName, else "". */
const char *kc_pvc_class(json_t *pvc);
/* PersistentVolumeClaimHasClass: the beta annotation or a non-null spec.storageClassName. */
bool kc_pvc_has_class(json_t *pvc);
/* GetPersistentVolumeClass: beta annotation, else spec.storageClassName, else "". */
const char *kc_pv_class(json_t *pv);
/* The StorageClass is annotated (GA or beta key) as the default. */
bool kc_sc_is_default(json_t *sc);
/* volumeBindingMode WaitForFirstConsumer. */
bool kc_sc_wait_for_consumer(json_t *sc);
/* IsVolumeBoundToClaim: claimRef names the claim and its uid is empty or the claim's. */
bool kc_pv_bound_to(json_t *pv, json_t *pvc);
/* Volume modes differ (either side defaults to Filesystem). */
bool kc_pv_mode_mismatch(json_t *pvc, json_t *pv);
/* CheckAccessModes: every mode the claim asks for is among the volume's. */
bool kc_pv_access_ok(json_t *pvc, json_t *pv);
/* Compares spec.capacity.storage of pv with the claim's spec.resources.requests.storage:
 * <0 smaller, 0 equal, >0 larger (an unparsable side counts as 0). */
int kc_pv_capacity_cmp(json_t *pv, json_t *pvc);
/* checkVolumeSatisfyClaim (a claim naming its volume): NULL when pv satisfies pvc, else why
 * ("requested PV is too small", "storageClassName does not match", ...). */
const char *kc_pv_unsatisfied(json_t *pv, json_t *pvc);

/* Node affinity check for the scheduler's path (FindMatchingVolume with a node). */
typedef bool (*kc_pv_node_fn)(void *ud, json_t *pv);

/* FindMatchingVolume over pvs: a volume pre-bound to the claim (claimRef naming it) wins at once;
 * otherwise the smallest Available one of the claim's class whose labels match its selector.
 * node NULL: the controller's path (with delay, unbound volumes are left to the scheduler).
 * Otherwise the scheduler's: node(ud, pv) must accept the volume and access modes must fit.
 * skip(ud, pv) true excludes a volume (reserved for another claim); may be NULL. Borrowed result. */
json_t *kc_pv_find_match(json_t *pvc, json_t **pvs, size_t n, bool delay, kc_pv_node_fn node,
                         kc_pv_node_fn skip, void *ud);
/* The PV controller's findByClaim: volumes grouped by their access-mode set, the sets holding all
 * of the claim's modes tried fewest modes first, FindMatchingVolume within each. */
json_t *kc_pv_best_match(json_t *pvc, json_t **pvs, size_t n, bool delay, kc_pv_node_fn skip, void *ud);

#endif
