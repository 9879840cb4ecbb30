/* Validation: the per-kind semantic checks the Kubernetes API server runs after decoding and
 * defaulting (pkg/apis/core/validation and pkg/apis/apps/validation upstream, plus the apps/v1
 * selector immutability of the registry strategies), with upstream's field paths and wording:
 *   spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not
 *   match template `labels`
 *   spec.containers[0].volumeMounts[0].name: Not found: "data"
 *
 * Contract:
 *   - kc_validate_kind() reads obj (and old on update) and never changes them;
 *   - every problem becomes one kc_err cause {reason, field, message} (FieldValueInvalid,
 *     FieldValueRequired, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden,
 *     FieldValueNotFound); a cause already present with the same field and message is not added
 *     twice, so running it after kc_schema_validate() does not repeat "spec.selector: Required value";
 *   - metadata is not checked here (kc_meta_validate does it), nor are closed enums and required
 *     keys the field schema already covers, except where upstream words them differently;
 *   - fields the server defaults (restartPolicy, dnsPolicy, protocol, sessionAffinity, ...) are only
 *     checked when present: an absent one is taken as its default.
 * Kinds without rules here (ConfigMap, Secret, Node, ...) always pass.
 *
 * Also here: Kubernetes quantities (k8s.io/apimachinery/pkg/api/resource), parsed exactly, compared
 * exactly and printed in canonical form ("1500m", "1Gi", "2"), which the messages need. */
#ifndef KC_API_VALIDATION_H
#define KC_API_VALIDATION_H
#include "lib/err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Validates obj, a full object of kc_resources[res] (already defaulted), against the rules of its
 * kind; old is the stored object on update, NULL on create. Appends causes to err and returns -1
 * when it added any (err->msg is left for the caller, who builds `Deployment "x" is invalid: ...`),
 * else 0. */
int kc_validate_kind(int res, json_t *obj, json_t *old, kc_err *err);

/* A parsed resource.Quantity: value = (neg ? -1 : 1) * mant * 10^scale, rounded up to a whole
 * nano (10^-9) as upstream does. fmt remembers the suffix family, which fixes the canonical form. */
typedef enum { KC_QFMT_DECIMAL_SI, KC_QFMT_BINARY_SI, KC_QFMT_DECIMAL_EXP } kc_qfmt;

typedef struct kc_quantity {
    bool neg;
    unsigned __int128 mant;
    int scale; /* >= -9 */
    kc_qfmt fmt;
} kc_quantity;

/* Parses s like resource.ParseQuantity ("100m", "1.5Gi", "2e3", "-1"); returns 0, or -1 when s is
 * not a quantity (q is then zero). */
int kc_quantity_parse(const char *s, kc_quantity *q);
/* Parses a JSON quantity: a string, or a number (decode normally turns those into strings). */
int kc_quantity_from_json(json_t *v, kc_quantity *q);
/* Exact comparison: <0, 0, >0. */
int kc_quantity_cmp(const kc_quantity *a, const kc_quantity *b);
/* True for the zero quantity. */
bool kc_quantity_is_zero(const kc_quantity *q);
/* Value() upstream: rounded up to an integer, saturated to the int64 range. */
int64_t kc_quantity_value(const kc_quantity *q);
/* Writes the canonical form (Quantity.String(): "1500m", "1Gi", "1e3", "0") into buf, always
 * NUL-terminated when cap > 0; returns its length. 64 bytes always suffice. */
size_t kc_quantity_string(const kc_quantity *q, char *buf, size_t cap);

#endif
