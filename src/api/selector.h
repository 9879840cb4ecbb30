/* Selectors: label selectors (k8s.io/apimachinery/pkg/labels) and field selectors
 * (k8s.io/apimachinery/pkg/fields), parsed once and matched many times.
 *
 * Label selectors
 *   Syntax: comma-separated requirements (AND), whitespace tolerant:
 *     a=b  a==b  a!=b  a in (x,y)  a notin (x)  a  !a  a>1  a<1
 *   Keys are qualified names, values label values; errors are KC_EBADREQUEST with upstream's
 *   messages ("unable to parse requirement: ...", "found ',', expected: ...").
 *   Three kinds of selector exist, as upstream:
 *     Everything  - "" or {} or kc_labelsel_new_everything(); matches all, kc_labelsel_empty() true;
 *     Nothing     - kc_labelsel_from_json(NULL or json null) or kc_labelsel_new_nothing(); matches
 *                   no object, kc_labelsel_empty() false, string "";
 *     requirements - everything else.
 *   A NULL kc_labelsel pointer is accepted everywhere and behaves as Everything.
 *   Requirements are sorted by key (stable) and values sorted at parse time, so kc_labelsel_string()
 *   is canonical and kc_labelsel_match() does no allocation.
 *
 * Field selectors
 *   Syntax: comma-separated terms f=v, f==v, f!=v; in values '\' escapes '\', ',' and '='.
 *   Terms are kept sorted by their raw text (as upstream); field names are not checked here: the
 *   server rejects unknown ones ("field label not supported: foo") using kc_fieldsel_field().
 *
 * Objects are immutable after parse; share them freely between threads. */
#ifndef KC_API_SELECTOR_H
#define KC_API_SELECTOR_H
#include "lib/err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct kc_labelsel kc_labelsel;
typedef struct kc_fieldsel kc_fieldsel;

/* Parses a label selector string into a new selector (owned, *out). "" gives Everything.
 * Returns 0, or -1 with KC_EBADREQUEST and *out = NULL. */
int kc_labelsel_parse(const char *s, kc_labelsel **out, kc_err *err);

/* Builds a selector from a metav1.LabelSelector JSON object (matchLabels + matchExpressions with
 * In, NotIn, Exists, DoesNotExist) like LabelSelectorAsSelector: NULL or json null gives Nothing,
 * {} (or both lists empty) gives Everything. Returns 0, or -1 with KC_EBADREQUEST. */
int kc_labelsel_from_json(json_t *labelSelector, kc_labelsel **out, kc_err *err);

/* New Everything / Nothing selectors (owned). */
kc_labelsel *kc_labelsel_new_everything(void);
kc_labelsel *kc_labelsel_new_nothing(void);

/* True when every requirement holds for labels (a JSON object of string -> string, or NULL for no
 * labels; non-string values count as ""). Allocation-free. */
bool kc_labelsel_match(const kc_labelsel *s, json_t *labels);

/* True for Everything (no requirements); false for Nothing. */
bool kc_labelsel_empty(const kc_labelsel *s);
/* True for the Nothing selector. */
bool kc_labelsel_is_nothing(const kc_labelsel *s);

/* If the selector requires label key to have one exact value (key=v, key==v or key in (v)),
 * returns that value (borrowed from s), else NULL. Like RequiresExactMatch: only the first
 * requirement on key counts. */
const char *kc_labelsel_exact(const kc_labelsel *s, const char *key);

/* Canonical string form as upstream String(): requirements sorted by key, values sorted,
 * e.g. "app=web,tier in (a,b),!x". Owned (free()); "" for Everything and Nothing. */
char *kc_labelsel_string(const kc_labelsel *s);

/* Destroys s (NULL allowed). */
void kc_labelsel_free(kc_labelsel *s);

/* Parses a field selector into a new selector (owned). "" gives Everything.
 * Returns 0, or -1 with KC_EBADREQUEST ("invalid selector: 'x'; can't understand 'x'",
 * "invalid field selector: invalid escape sequence: \q", ...) and *out = NULL. */
int kc_fieldsel_parse(const char *s, kc_fieldsel **out, kc_err *err);

/* Returns an object's value for field, "" when absent (never NULL; NULL is read as ""). */
typedef const char *(*kc_fieldsel_get)(void *ctx, const char *field);

/* Number of terms, and term i's field name, unescaped value and whether it is a != term
 * (strings borrowed from s). */
size_t kc_fieldsel_nterms(const kc_fieldsel *s);
const char *kc_fieldsel_field(const kc_fieldsel *s, size_t i);
const char *kc_fieldsel_value(const kc_fieldsel *s, size_t i);
bool kc_fieldsel_negated(const kc_fieldsel *s, size_t i);

/* True when every term holds for the object read through get(ctx, field). NULL s matches all. */
bool kc_fieldsel_match(const kc_fieldsel *s, kc_fieldsel_get get, void *ctx);

/* True when s has no terms (NULL allowed). */
bool kc_fieldsel_empty(const kc_fieldsel *s);

/* If s has an f=v / f==v term for field, returns v (borrowed; the first such term), else NULL.
 * Use it to narrow metadata.name / metadata.namespace lookups; still run kc_fieldsel_match. */
const char *kc_fieldsel_exact(const kc_fieldsel *s, const char *field);

/* String form as upstream: terms in parse order, values escaped, "==" written as "=". Owned. */
char *kc_fieldsel_string(const kc_fieldsel *s);

/* Destroys s (NULL allowed). */
void kc_fieldsel_free(kc_fieldsel *s);

#endif
