/* Pod-template identity for the Deployment controller (semantics 0.2, 0.3, 2.3): the canonical
 * form of a template, semantic equality ignoring the pod-template-hash label, and the
 * pod-template hash that names a Deployment's ReplicaSets.
 *
 *   template --canonical--> sorted compact JSON, no nulls, no empty objects/arrays, no hash label
 *            --FNV-1a-32 (+ collisionCount as 8 bytes)--> uint32 --safe-encode--> "66b6c48dd5"
 *
 * Pure functions; documents are borrowed. */
#ifndef KC_CONTROLLERS_DEPLOYMENT_HASH_H
#define KC_CONTROLLERS_DEPLOYMENT_HASH_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define KC_POD_TEMPLATE_HASH "pod-template-hash"

/* A deep copy of a pod template (or any value) with nulls, empty objects and empty arrays
 * removed recursively (a container left empty is removed too) and the pod-template-hash label
 * dropped from metadata.labels. New reference; NULL when nothing remains. */
json_t *kc_deploy_template_canonical(json_t *tmpl);

/* EqualIgnoreHash with semantic equality: true when both templates have the same canonical form
 * (so `creationTimestamp: null` and `resources: {}` sent by kubectl rollout undo do not count). */
bool kc_deploy_template_equal(json_t *a, json_t *b);

/* FNV-1a 32-bit over n bytes, continuing from h (start with KC_FNV32_OFFSET). */
#define KC_FNV32_OFFSET 2166136261u
uint32_t kc_fnv1a32(uint32_t h, const void *p, size_t n);

/* Safe encoding (0.2): decimal digits of v mapped through the generateName alphabet. out gets
 * 1-10 chars from {4,5,6,7,8,9,b,c,d,f} and a NUL. */
void kc_safe_encode_u32(uint32_t v, char out[11]);

/* The pod-template hash of a template (canonical form) and an optional collisionCount
 * (NULL = nil: nothing extra hashed). out: safe-encoded, NUL-terminated. */
void kc_deploy_template_hash(json_t *tmpl, const int64_t *collision_count, char out[11]);

#endif
