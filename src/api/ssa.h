/* Server-side apply and field ownership (metadata.managedFields), the way kube-apiserver does it:
 * sigs.k8s.io/structured-merge-diff (fieldpath sets, typed merge / compare / remove, the merge
 * Updater) under k8s.io/apimachinery's field manager chain (version check, last-applied upgrade
 * for "kubectl", before-first-apply, cap of 10 Update entries, managedFields encoding, stripping
 * of apiVersion/kind/metadata.name/... from the sets).
 *
 *     kc_err err = KC_ERR_INIT;
 *     json_t *obj = kc_ssa_apply(kc_schema_type("apps/v1.Deployment"), live_or_NULL, body,
 *                                "kubectl", false, "2024-05-01T10:00:00Z", &err);
 *     if (!obj) ... reply with err (409 Conflict with causes, 400, 500) ...
 *
 *     kc_ssa_track_update(type, old_or_NULL, new_obj, "kubectl-edit", NULL, now);  // POST/PUT/PATCH
 *
 * Lists merge by their schema markers (api/schema.h): +listType=map by +listMapKey (a missing
 * "protocol" key counts as "TCP", as upstream's key defaults), set = union of scalars, atomic =
 * replaced whole; lists without a marker follow patchStrategy (merge + patchMergeKey = map, merge
 * alone = set, else atomic), exactly like kube-apiserver's schema conversion. Structs and maps
 * merge key by key unless +structType/+mapType=atomic. Fields of unknown shape (t == NULL, or
 * RawExtension-like values) are "deduced": objects merge key by key, lists are atomic.
 *
 * FieldsV1 is upstream's encoding: {"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},
 * "f:image":{}}}}} with f: field names, k: compact JSON of the key fields (sorted), v: set values,
 * i: list indexes and "." for "the element itself is owned"; keys in structured-merge-diff order.
 *
 * Both functions borrow their arguments. Times are the caller's clock (RFC 3339, may be NULL:
 * entries then carry no time). Neither keeps state; both are thread-safe on distinct objects. */
#ifndef KC_API_SSA_H
#define KC_API_SSA_H
#include "api/schema.h"
#include "lib/err.h"
#include <jansson.h>
#include <stdbool.h>

/* Applies `applied` (the apply-patch body as a JSON object) for `manager` to `live` (NULL when the
 * object does not exist yet; then the object is created from the configuration). Returns a NEW
 * object owned by the caller: the configuration merged into live, fields the manager applied
 * before but no longer applies removed unless someone else owns them, status kept from live
 * (status is the status subresource's), and metadata.managedFields rewritten (an "Apply" entry
 * for the manager; fields it took over removed from other entries; empty entries dropped). The
 * result may still need defaulting; null-valued fields are dropped from it.
 *
 * Errors (NULL returned, err filled):
 *   KC_ECONFLICT   `Apply failed with 1 conflict: conflict with "mgr" using apps/v1: .spec.replicas`
 *                  (several: `Apply failed with 2 conflicts: conflicts with "a":\n- .x\n- .y`), one
 *                  cause per field {reason "FieldManagerConflict", message `conflict with "mgr"
 *                  using apps/v1`, field ".spec.replicas"}. force=true takes the fields instead.
 *                  Manager "kubectl" may take fields owned through a matching
 *                  kubectl.kubernetes.io/last-applied-configuration (client-side apply upgrade).
 *   KC_EBADREQUEST `invalid object type: apps/v2, Kind=Deployment` (apiVersion/kind differ from
 *                  t's kind), `metadata.managedFields must be nil`, body not an object.
 *   KC_EINTERNAL   `failed to create typed patch object (ns/name; apps/v1, Kind=Deployment):
 *                  .spec.template.spec.containers: duplicate entries for key [name="a"]` (also
 *                  missing list keys, `field not declared in schema`), `failed to decode managed
 *                  fields: ...` (upstream answers these with 500 and an empty reason). */
json_t *kc_ssa_apply(const kc_type *t, json_t *live, json_t *applied, const char *manager, bool force,
                     const char *now_rfc3339, kc_err *err);

/* kc_ssa_apply on a subresource ("status": the entry carries "subresource":"status", spec is
 * kept from live and not tracked). NULL or "" is the main resource. */
json_t *kc_ssa_apply_subresource(const kc_type *t, json_t *live, json_t *applied, const char *manager,
                                 const char *subresource, bool force, const char *now_rfc3339, kc_err *err);

/* Records an ordinary write (create: old == NULL; update / patch: old is the stored object) in
 * new_obj's metadata.managedFields, in place: an "Update" entry for manager (NULL or "" means
 * "unknown") gains the fields this write added or changed, other entries lose them and the
 * removed ones, empty entries are dropped, and at most 10 Update entries are kept (the oldest
 * merge into "ancient-changes"). managedFields sent in new_obj are honoured unless empty
 * ([] or [{}] resets them); otherwise old's are used. Like upstream, an update of an existing
 * object that has no managedFields at all stays untracked. subresource "status" writes get their
 * own entry with "subresource":"status" (spec changes are not tracked there; status changes are
 * not tracked on the main resource). Never fails: bad managedFields are reset. */
void kc_ssa_track_update(const kc_type *t, json_t *old, json_t *new_obj, const char *manager,
                         const char *subresource, const char *now_rfc3339);

#endif
