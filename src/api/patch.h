/* Patches: JSON merge patch (RFC 7386) and JSON patch (RFC 6902) on jansson values, with the
 * Kubernetes apiserver's semantics and error wording (it applies both with evanphx/json-patch).
 *
 * Contract for every function here:
 *   - doc and the patch are borrowed and never modified; the result is a NEW, fully independent
 *     value (no subtree is shared with doc or the patch), owned by the caller (json_decref it).
 *   - On failure the result is NULL and err is filled (kc_errf); nothing leaks.
 *   - Pure: no global state, safe to call from any thread on values no one is mutating.
 *
 * Error reasons, as kube-apiserver answers a PATCH:
 *   KC_EBADREQUEST  (400) the body is not a patch: a merge patch that is not a JSON object
 *                         ("Invalid JSON Patch"); a JSON patch that is not an array of objects.
 *   KC_ETOOLARGE    (413) more than KC_PATCH_MAX_OPS operations ("Request entity too large: The
 *                         allowed maximum operations in a JSON patch is 10000, got N"), or a
 *                         patch that would move more than KC_PATCH_MAX_WORK array elements.
 *   KC_EINVALID     (422) an operation failed; the message is evanphx/json-patch's, e.g.
 *                         `add operation does not apply: doc is missing path: "/a/b": missing value`,
 *                         `testing value /metadata/name failed: test failed`, `Unexpected kind: foo`,
 *                         or copies grew the document by more than KC_PATCH_MAX_COPY_BYTES
 *                         or KC_PATCH_MAX_COPY_VALUES, or the result would nest deeper than
 *                         KC_PATCH_MAX_DEPTH.
 *                         (kube-apiserver itself replies with the generic sentence "the server
 *                         rejected our request due to an error in our request"; the apiserver
 *                         layer may prefix that if it wants byte-identical messages.)
 *   KC_EINTERNAL    (500) doc or patch is NULL (a caller bug). */
#ifndef KC_API_PATCH_H
#define KC_API_PATCH_H
#include "lib/err.h"
#include <jansson.h>

/* kube-apiserver's maxJSONPatchOperations. */
#define KC_PATCH_MAX_OPS 10000
/* kube-apiserver's JSONPatchMaxCopyBytes: total compact-JSON bytes that "copy" ops may add. */
#define KC_PATCH_MAX_COPY_BYTES (3 * 1024 * 1024)
/* Deepest container nesting a JSON patch may produce: what jansson's parser reads back
 * (JSON_PARSER_MAX_DEPTH), so a patched object can always be stored and decoded again, and no
 * recursive walk over it can exhaust the stack. Merge patch results are never deeper than the
 * document or the patch, so only JSON patch (add/move/copy/replace) needs the check. */
#define KC_PATCH_MAX_DEPTH 2048
/* JSON values that "copy" ops may add (kubec's own bound). 3 MiB of "[[],[],...]" is a million
 * jansson values, ~170 MB of heap from a patch of a few hundred bytes; 256 Ki values cap that
 * near 45 MB while leaving room for copying any realistic subtree of an object. */
#define KC_PATCH_MAX_COPY_VALUES (256 * 1024)
/* Array elements that inserts and removals may shift in one patch (kubec's own bound: 10,000 ops
 * on a 3 MiB array would otherwise memmove ~100 GB). Worked example: removing index 0 of a
 * 1,000-element array 1,000 times costs ~500,000, far below this. */
#define KC_PATCH_MAX_WORK (256u * 1024 * 1024)

/* RFC 7386 merge patch as kube-apiserver applies a PATCH with
 * Content-Type application/merge-patch+json. patch must be a JSON object (else KC_EBADREQUEST);
 * members whose value is null delete, objects merge recursively, anything else replaces.
 * Returns a new value. */
json_t *kc_patch_merge(json_t *doc, json_t *patch, kc_err *err);

/* Plain RFC 7386 MergePatch(doc, patch) for any patch value: a non-object patch replaces the
 * whole document (with a copy of itself). Never fails for non-NULL inputs; returns a new value,
 * or NULL if doc or patch is NULL. kc_patch_merge is this plus the Kubernetes object check. */
json_t *kc_patch_merge_rfc(json_t *doc, json_t *patch);

/* RFC 6902 JSON patch (application/json-patch+json): ops is an array of operation objects
 * (add, remove, replace, move, copy, test), applied in order, all or nothing. JSON pointers
 * (RFC 6901) use ~0 for '~' and ~1 for '/'; "-" appends to an array; array indices have no
 * leading zeros and must be in range (add allows index == size). "" names the whole document.
 * Kubernetes compatibility quirks kept on purpose: a missing "value" counts as null, and
 * `test` of an absent object member passes when the expected value is null.
 * Returns a new value. */
json_t *kc_patch_json(json_t *doc, json_t *ops, kc_err *err);

#endif
