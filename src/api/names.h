/* Names: Kubernetes name, label-key, label-value and port-name rules, and ObjectMeta validation.
 *
 * Mirrors k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label,
 * IsQualifiedName, IsValidLabelValue, IsValidPortName), pkg/api/validation/path (IsPathSegmentName) and
 * pkg/api/validation (ValidateObjectMetaAccessor), with upstream's exact message wording, e.g.
 *   "must be no more than 63 characters"
 *   "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must
 *    start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for
 *    validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
 *
 * Contract:
 *   - every message returned is a static string: never free it, it stays valid forever;
 *   - a value can break several rules at once (too long AND bad characters); kc_name_check() returns
 *     all messages in upstream order, the kc_name_<rule>() shorthands return the first one, or NULL
 *     when the value is valid;
 *   - kc_meta_validate() appends one kc_err cause per message, like ValidateObjectMeta does.
 * Also here: Go's %q quoting and UTF-8 decoding, which validation and selector messages need to
 * render bad values exactly as the Go apiserver does. */
#ifndef KC_API_NAMES_H
#define KC_API_NAMES_H
#include "lib/err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kc_name_rule {
    KC_NAME_SUBDOMAIN,    /* IsDNS1123Subdomain (<= 253): most object names (pods, configmaps, ...) */
    KC_NAME_LABEL,        /* IsDNS1123Label (<= 63): namespaces, ... */
    KC_NAME_DNS1035,      /* IsDNS1035Label (<= 63, starts with a letter): services */
    KC_NAME_PATH_SEGMENT, /* IsPathSegmentName: not "." or "..", no '/' or '%' (RBAC roles, ...) */
    KC_NAME_QUALIFIED,    /* IsQualifiedName: label/annotation keys, finalizers */
    KC_NAME_LABEL_VALUE,  /* IsValidLabelValue: "" or a <= 63 char name */
    KC_NAME_IANA_SVC,     /* IsValidPortName (IANA_SVC_NAME): container/service port names */
} kc_name_rule;

#define KC_NAME_MAXMSGS 6

/* Checks s[0..n) against rule; fills msgs with static messages in upstream order and returns how
 * many (0 = valid). Length-aware, so embedded NULs are rejected as bad characters. */
size_t kc_name_check(kc_name_rule rule, const char *s, size_t n, const char *msgs[KC_NAME_MAXMSGS]);

/* The same check for a name given to generateName (ValidateNameFunc with prefix=true): a trailing
 * '-' is masked as upstream does, path segments only check forbidden substrings. */
size_t kc_name_check_prefix(kc_name_rule rule, const char *s, size_t n, const char *msgs[KC_NAME_MAXMSGS]);

/* Shorthands on NUL-terminated strings: the first message (static) or NULL when valid. */
const char *kc_name_dns1123_label(const char *s);
const char *kc_name_dns1123_subdomain(const char *s);
const char *kc_name_dns1035_label(const char *s);
const char *kc_name_qualified(const char *s);
const char *kc_name_label_value(const char *s);
const char *kc_name_iana_svc(const char *s);
const char *kc_name_path_segment(const char *s);

/* Validates a metadata object on create (ValidateObjectMetaAccessor): name (per name_rule, a
 * kc_name_rule) or "name or generateName is required", generateName as a prefix, namespace
 * (required + DNS label when namespaced, forbidden otherwise), generation >= 0, label keys and
 * values, annotation keys (case-insensitive) and total size (256 KiB), ownerReferences and
 * finalizers. Each problem becomes a cause {reason "FieldValueInvalid"/"FieldValueRequired"/...,
 * field "metadata.name"/..., message as upstream: `Invalid value: "Bad_Name": a lowercase ...`}.
 * Returns 0 when valid, else -1 with err->reason KC_EINVALID (the caller sets the final message). */
int kc_meta_validate(json_t *metadata, int name_rule, bool namespaced, kc_err *err);

/* Writes s[0..n) quoted like Go's strconv.Quote / fmt %q into buf (always NUL-terminated when
 * cap > 0, truncated to fit); returns the full quoted length. Non-ASCII printability is
 * approximated (controls, spaces and format characters escaped, the rest kept). */
size_t kc_name_quote(char *buf, size_t cap, const char *s, size_t n);

/* Copies src[0..n) into dst as valid UTF-8 (invalid bytes become U+FFFD, as Go's encoding/json
 * does when it sends a message), truncated at a rune boundary to fit cap; dst is NUL-terminated.
 * Returns the length written. Use it for any message that embeds client bytes. */
size_t kc_name_utf8_clean(char *dst, size_t cap, const char *src, size_t n);

/* Decodes one UTF-8 rune from s[0..n) (n > 0) like Go: returns its width (1..4) and stores the rune;
 * invalid or truncated sequences give U+FFFD with width 1. */
size_t kc_name_utf8_next(const char *s, size_t n, uint32_t *rune);

#endif
