/* ControllerRevision history shared by the StatefulSet and DaemonSet controllers (semantics 0.4,
 * 3.4, 3.7; upstream pkg/controller/history):
 *
 *   owner.spec.template --kc_history_template_data--> {"spec":{"template":{...,"$patch":"replace"}}}
 *       (Go json.Marshal bytes of the typed template: what kubectl rollout undo|history computes)
 *   data --FNV-1 32 (+ decimal collisionCount)--> safe-encoded hash --> name "<owner>-<hash>"
 *
 *   revisions of an owner (informer cache, by controllerRef uid), sorted by revision number
 *     --find_equal--> reuse (bump its number when it is not the latest: a rollback)
 *     --create------> new revision (AlreadyExists with other data: collisionCount++ and retry)
 *     --truncate----> delete the oldest non-live revisions beyond revisionHistoryLimit
 *
 * The owner kind (apiVersion/kind of the controllerRef) comes from the owner object's resource, so
 * the same calls serve both controllers. Returned strings are malloc'd; kc_obj arrays are owned by
 * the caller (kc_objv_free). */
#ifndef KC_CONTROLLERS_HISTORY_H
#define KC_CONTROLLERS_HISTORY_H
#include "client/client.h"
#include "client/informer.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define KC_HISTORY_HASH_LABEL "controller.kubernetes.io/hash"
#define KC_HISTORY_NAME_PREFIX_MAX 223

/* Go encoding/json of a generic value: object keys sorted at every level, compact, Go string
 * escaping (<, >, & as \u003c \u003e \u0026; U+2028/9 escaped). malloc'd, NUL-terminated;
 * *len (may be NULL) gets the length. */
char *kc_history_go_json(json_t *v, size_t *len);

/* A pod template as kubectl sees it after decoding it into typed Go structs and marshalling it
 * again: fields Go always emits added (metadata.creationTimestamp: null, container resources: {},
 * ...), zero-valued omitempty fields dropped, unknown fields dropped. New reference. */
json_t *kc_history_typed_template(json_t *tmpl);

/* The revision data of an owner's spec.template (borrowed document of a StatefulSet or
 * DaemonSet): the exact bytes of `{"spec":{"template":{...,"$patch":"replace"}}}`. malloc'd. */
char *kc_history_template_data(json_t *tmpl, size_t *len);

/* FNV-1 (not 1a) 32-bit, continuing from h (start with 2166136261u). */
uint32_t kc_fnv1_32(uint32_t h, const void *p, size_t n);

/* The revision hash of data (0.4): FNV-1 over the bytes, then the ASCII decimal of
 * *collision_count when it is not NULL; safe-encoded into out. */
void kc_history_hash(const char *data, size_t len, const int64_t *collision_count, char out[11]);

/* "<owner truncated to 223>-<hash>". malloc'd. */
char *kc_history_name(const char *owner, const char *hash);

/* ---- revisions as objects ---- */
/* The revision number of a ControllerRevision (0 when absent). */
int64_t kc_history_revision(const kc_obj *rev);
/* The Go bytes of a ControllerRevision's data (as kubectl would read them). malloc'd, NULL if none. */
char *kc_history_rev_data(const kc_obj *rev, size_t *len);

/* Revisions in revs_inf controlled by owner (controllerRef uid == owner uid) in owner's namespace,
 * sorted by revision number, then creationTimestamp, then name. *out owned by the caller. */
size_t kc_history_list(kc_informer *revs_inf, const kc_obj *owner, kc_obj ***out);
/* The highest-numbered revision in revs whose data equals data, or NULL (borrowed). */
const kc_obj *kc_history_find_equal(kc_obj **revs, size_t n, const char *data, size_t len);
/* 1 + the highest revision number in revs (1 when empty). */
int64_t kc_history_next_number(kc_obj **revs, size_t n);

/* A ControllerRevision document (not yet created): namespace of owner, labels = tmpl_labels +
 * hash_label=<hash> (tmpl_labels may be NULL), annotations (borrowed, may be NULL), the owner's
 * ControllerRef, data parsed from the bytes, revision number. New reference. */
json_t *kc_history_new_doc(const kc_obj *owner, json_t *tmpl_labels, json_t *annotations,
                           const char *hash_label, const char *name, const char *hash, const char *data,
                           size_t len, int64_t revision);

/* Creates the revision named by the 0.4 rule (label KC_HISTORY_HASH_LABEL) with upstream's
 * collision handling: on AlreadyExists, an existing revision with equal data is the answer; else
 * *collision_count is incremented and the next name is tried. *out: the revision (reference). */
int kc_history_create(kc_client *c, const kc_obj *owner, json_t *tmpl_labels, json_t *annotations,
                      const char *data, size_t len, int64_t revision, int64_t *collision_count, kc_obj **out,
                      kc_err *err);

/* Sets rev's revision number (a rollback to an older template makes it the newest). *out may be
 * NULL; else the updated revision (reference). */
int kc_history_bump(kc_client *c, const kc_obj *rev, int64_t revision, kc_obj **out, kc_err *err);

/* Deletes the lowest-numbered revisions of revs (sorted as kc_history_list) whose names are not in
 * live[0..nlive) until at most limit non-live revisions remain. Returns the count deleted or -1. */
int kc_history_truncate(kc_client *c, kc_obj **revs, size_t n, const char *const *live, size_t nlive, int limit,
                        kc_err *err);

#endif
