/* Strategic merge patch (Content-Type application/strategic-merge-patch+json), applied the way
 * kube-apiserver applies it: k8s.io/apimachinery/pkg/util/strategicpatch StrategicMergeMapPatch
 * (mergeMap / mergeSlice, server options MergeParallelList and IgnoreUnmatchedNulls), with the
 * patch strategies and merge keys of the field schema (api/schema.h) in place of Go struct tags.
 *
 *     kc_err err = KC_ERR_INIT;
 *     json_t *out = kc_smp_apply(kc_schema_type("apps/v1.Deployment"), live, patch, &err);
 *     if (!out) ... reply with err ...
 *
 * Contract:
 *   - doc and patch are borrowed and never modified; the result is a NEW value owned by the caller,
 *     sharing nothing with the inputs (every node in it has refcount 1). NULL on failure, with err
 *     filled; nothing leaks. Pure and thread-safe.
 *   - t is the schema type of the document. t == NULL (no schema, e.g. a custom resource) applies
 *     the patch as a plain RFC 7386 JSON merge patch: no directives, lists replaced.
 *   - Key order: keys of doc keep their position, keys the patch adds follow in patch order
 *     (upstream goes through Go maps and the typed struct, so only the field set is comparable).
 *
 * Semantics (upstream's, see smp.c for the details):
 *   - objects merge key by key; null deletes; a value of another JSON type replaces; a struct
 *     field whose patchStrategy is replace (PodDisruptionBudgetSpec.selector) is replaced whole;
 *   - lists: patchStrategy merge with a patchMergeKey merges elements by key (the key comes from
 *     the field, so container ports merge by containerPort and Service ports by port), appending
 *     unmatched patch elements; merge without a key is a set union of scalars; anything else is
 *     replaced by the patch list. Order: patch elements first in patch order, interleaved with
 *     the server-only elements in their live order (upstream's normalizeElementOrder);
 *   - directives: {"$patch":"delete", key: v} in a list removes every element with that key;
 *     {"$patch":"replace"} in a list replaces it with the other patch elements; "$patch":"replace"
 *     in an object replaces the object, "$patch":"delete" makes it {}; "$setElementOrder/<list>",
 *     "$retainKeys", "$deleteFromPrimitiveList/<list>" as upstream. Values the patch adds are
 *     cleaned like upstream does (nulls dropped, objects carrying "$patch" dropped) and, unlike
 *     upstream, directive keys never reach the result (upstream leaves them for the strict
 *     decoder to reject as unknown fields).
 *
 * Error reasons follow kube-apiserver's interpretStrategicMergePatchError:
 *   KC_EBADREQUEST (400) the patch is not a JSON object (`json: cannot unmarshal array into Go
 *                  value of type map[string]interface {}`); `invalid patch format of retainKeys`,
 *                  `invalid patch format of setElementOrder list`, `invalid patch format of
 *                  primitive list`.
 *   KC_EINVALID    (422) `lists of lists are not supported` (upstream: generic 422 message with
 *                  this text as the cause).
 *   KC_EINTERNAL   (500) every other patch error, with upstream's text, e.g. `map: map[image:x]
 *                  does not contain declared merge key: name`, `unknown patch type: foo in map:
 *                  map[$patch:foo]`, `unable to find api field in struct Container for the json
 *                  field "bogus"`, `merging lists cannot yet be specified in the patch`, `runtime
 *                  error: hash of unhashable type map[string]interface {}` (an upstream panic).
 *                  kube-apiserver answers these with code 500 and an empty reason, which kubectl
 *                  prints as `Error from server: <message>`. Also NULL arguments or a doc that
 *                  is not an object (caller bugs).
 *   KC_ETOOLARGE   (413) the patch needs more than KC_SMP_MAX_WORK value comparisons (kubec's own
 *                  bound; upstream is cubic in list lengths and has none). */
#ifndef KC_API_SMP_H
#define KC_API_SMP_H
#include "api/schema.h"
#include "lib/err.h"
#include <jansson.h>

/* Value comparisons one patch may make (merge-key lookups, set operations, ordering). Merging two
 * 1,000-element container lists costs 3.6 million, 6.4 million with $setElementOrder (measured);
 * this bound is ~10x that, and stops patches that are quadratic on purpose within a second. */
#define KC_SMP_MAX_WORK (64u * 1024 * 1024)

/* Applies the strategic merge patch `patch` to `doc`, a document of schema type t (NULL: plain
 * JSON merge patch). Returns a new value, or NULL with err set. */
json_t *kc_smp_apply(const kc_type *t, json_t *doc, json_t *patch, kc_err *err);

#endif
