/* Names: the Kubernetes naming rules (DNS-1123 labels and subdomains, DNS-1035 labels, path
 * segments, qualified names, label values, IANA service names) and ObjectMeta validation on create.
 *
 * Every rule is a hand-written scanner equivalent to upstream's regular expression, and every message
 * is a compile-time string spelled exactly like k8s.io/apimachinery's (including the doubled space in
 * "(e.g. 'my-name',  or '123-abc', ..."), so clients that match on messages keep working.
 * This file does not parse selectors (selector.c) and knows nothing about per-kind spec validation;
 * it also owns the two Go-compatibility helpers those messages need: %q quoting and UTF-8 decoding. */
#include "api/names.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBDOMAIN_RX "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
#define MSG_SUBDOMAIN                                                                                        \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "    \
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "      \
    "is '" SUBDOMAIN_RX "')"
#define MSG_LABEL                                                                                            \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "        \
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "           \
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define MSG_DNS1035                                                                                          \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "             \
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "          \
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define QNAME_RX "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_BODY                                                                                           \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "              \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "     \
    "'" QNAME_RX "')"
#define MSG_LABEL_VALUE                                                                                      \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "     \
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "       \
    "regex used for validation is '(" QNAME_RX ")?')"
#define MSG_MAX(n) "must be no more than " #n " characters"

#define ANNOTATIONS_MAX (256 * 1024)

/* ---- character classes and the regex-equivalent scanners ---- */

static bool lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool any_alnum(char c)
{
    return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool dns_label_ok(const char *s, size_t n)
{
    if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1])) return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-') return false;
    return true;
}

/* dns labels joined by single dots */
static bool dns_subdomain_ok(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') continue;
        if (!dns_label_ok(s + start, i - start)) return false;
        start = i + 1;
    }
    return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool qname_ok(const char *s, size_t n)
{
    if (n == 0 || !any_alnum(s[0]) || !any_alnum(s[n - 1])) return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!any_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return false;
    return true;
}

/* ---- one function per rule, each appending static messages in upstream order ---- */

typedef struct msgs {
    const char **v;
    size_t n;
} msgs;

static void add(msgs *m, const char *msg)
{
    if (m->n < KC_NAME_MAXMSGS) m->v[m->n++] = msg;
}

static void check_subdomain(msgs *m, const char *s, size_t n)
{
    if (n > 253) add(m, MSG_MAX(253));
    if (!dns_subdomain_ok(s, n)) add(m, MSG_SUBDOMAIN);
}

static void check_label(msgs *m, const char *s, size_t n)
{
    if (n > 63) add(m, MSG_MAX(63));
    if (dns_label_ok(s, n)) return;
    /* a valid subdomain that is not a valid label (length already reported) must have dots */
    add(m, dns_subdomain_ok(s, n) ? "must not contain dots" : MSG_LABEL);
}

static void check_dns1035(msgs *m, const char *s, size_t n)
{
    if (n > 63) add(m, MSG_MAX(63));
    if (!dns_label_ok(s, n) || !(s[0] >= 'a' && s[0] <= 'z')) add(m, MSG_DNS1035);
}

static void check_path_prefix(msgs *m, const char *s, size_t n)
{
    if (memchr(s, '/', n)) add(m, "may not contain '/'");
    if (memchr(s, '%', n)) add(m, "may not contain '%'");
}

static void check_path_segment(msgs *m, const char *s, size_t n)
{
    if (n == 1 && s[0] == '.') return add(m, "may not be '.'");
    if (n == 2 && s[0] == '.' && s[1] == '.') return add(m, "may not be '..'");
    check_path_prefix(m, s, n);
}

/* IsQualifiedName: [prefix '/'] name, where prefix is a DNS subdomain and name a 63-char qname. */
static void check_qualified(msgs *m, const char *s, size_t n)
{
    const char *slash = memchr(s, '/', n);
    const char *name = s;
    size_t nlen = n;
    if (slash && memchr(slash + 1, '/', n - (size_t)(slash + 1 - s))) {
        return add(m, "a qualified name " QNAME_BODY
                      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    }
    if (slash) {
        size_t plen = (size_t)(slash - s);
        if (plen == 0) add(m, "prefix part must be non-empty");
        if (plen > 253) add(m, "prefix part " MSG_MAX(253));
        if (plen > 0 && !dns_subdomain_ok(s, plen)) add(m, "prefix part " MSG_SUBDOMAIN);
        name = slash + 1;
        nlen = n - plen - 1;
    }
    if (nlen == 0)
        add(m, "name part must be non-empty");
    else if (nlen > 63)
        add(m, "name part " MSG_MAX(63));
    if (!qname_ok(name, nlen)) add(m, "name part " QNAME_BODY);
}

static void check_label_value(msgs *m, const char *s, size_t n)
{
    if (n > 63) add(m, MSG_MAX(63));
    if (n > 0 && !qname_ok(s, n)) add(m, MSG_LABEL_VALUE);
}

/* IsValidPortName: <= 15 chars of [-a-z0-9], at least one letter, no "--", no leading/trailing '-'. */
static void check_iana_svc(msgs *m, const char *s, size_t n)
{
    bool charset = n > 0, letter = false, dashes = false;
    for (size_t i = 0; i < n; i++) {
        if (!lower_alnum(s[i]) && s[i] != '-') charset = false;
        if (s[i] >= 'a' && s[i] <= 'z') letter = true;
        if (s[i] == '-' && i + 1 < n && s[i + 1] == '-') dashes = true;
    }
    if (n > 15) add(m, MSG_MAX(15));
    if (!charset) add(m, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    if (!letter) add(m, "must contain at least one letter (a-z)");
    if (dashes) add(m, "must not contain consecutive hyphens");
    if (n > 0 && (s[0] == '-' || s[n - 1] == '-')) add(m, "must not begin or end with a hyphen");
}

size_t kc_name_check(kc_name_rule rule, const char *s, size_t n, const char *out[KC_NAME_MAXMSGS])
{
    msgs m = {out, 0};
    switch (rule) {
    case KC_NAME_SUBDOMAIN:
        check_subdomain(&m, s, n);
        break;
    case KC_NAME_LABEL:
        check_label(&m, s, n);
        break;
    case KC_NAME_DNS1035:
        check_dns1035(&m, s, n);
        break;
    case KC_NAME_PATH_SEGMENT:
        check_path_segment(&m, s, n);
        break;
    case KC_NAME_QUALIFIED:
        check_qualified(&m, s, n);
        break;
    case KC_NAME_LABEL_VALUE:
        check_label_value(&m, s, n);
        break;
    case KC_NAME_IANA_SVC:
        check_iana_svc(&m, s, n);
        break;
    }
    return m.n;
}

/* Upstream's maskTrailingDash, bug included: "abc-" becomes "aba" (it drops two characters and
 * appends 'a'), so a generateName only has to be valid once something is appended. */
size_t kc_name_check_prefix(kc_name_rule rule, const char *s, size_t n, const char *out[KC_NAME_MAXMSGS])
{
    if (rule == KC_NAME_PATH_SEGMENT) {
        msgs m = {out, 0};
        check_path_prefix(&m, s, n);
        return m.n;
    }
    bool maskable = rule == KC_NAME_SUBDOMAIN || rule == KC_NAME_LABEL || rule == KC_NAME_DNS1035;
    if (!maskable || n < 2 || s[n - 1] != '-') return kc_name_check(rule, s, n, out);
    char *masked = malloc(n);
    if (!masked) abort();
    memcpy(masked, s, n - 2);
    masked[n - 2] = 'a';
    size_t k = kc_name_check(rule, masked, n - 1, out);
    free(masked);
    return k;
}

static const char *first(kc_name_rule rule, const char *s)
{
    const char *m[KC_NAME_MAXMSGS];
    return kc_name_check(rule, s, strlen(s), m) ? m[0] : NULL;
}

const char *kc_name_dns1123_label(const char *s)
{
    return first(KC_NAME_LABEL, s);
}

const char *kc_name_dns1123_subdomain(const char *s)
{
    return first(KC_NAME_SUBDOMAIN, s);
}

const char *kc_name_dns1035_label(const char *s)
{
    return first(KC_NAME_DNS1035, s);
}

const char *kc_name_qualified(const char *s)
{
    return first(KC_NAME_QUALIFIED, s);
}

const char *kc_name_label_value(const char *s)
{
    return first(KC_NAME_LABEL_VALUE, s);
}

const char *kc_name_iana_svc(const char *s)
{
    return first(KC_NAME_IANA_SVC, s);
}

const char *kc_name_path_segment(const char *s)
{
    return first(KC_NAME_PATH_SEGMENT, s);
}

/* ---- Go string helpers ---- */

static bool cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* utf8.DecodeRuneInString: rejects overlongs, surrogates and values above U+10FFFF. */
size_t kc_name_utf8_next(const char *str, size_t n, uint32_t *rune)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    *rune = 0xFFFD;
    if (c < 0x80) return *rune = c, 1;
    if (c >= 0xC2 && c <= 0xDF) {
        if (n < 2 || !cont(s[1])) return 1;
        return *rune = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F), 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        if (n < 3 || s[1] < lo || s[1] > hi || !cont(s[2])) return 1;
        return *rune = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F), 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        if (n < 4 || s[1] < lo || s[1] > hi || !cont(s[2]) || !cont(s[3])) return 1;
        *rune = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return 4;
    }
    return 1;
}

/* Approximates unicode.IsPrint for non-ASCII: C1 controls, non-ASCII spaces, line/paragraph
 * separators, the common format characters, private use and noncharacters are not printable. */
static bool go_isprint(uint32_t r)
{
    if (r < 0x80) return r >= 0x20 && r < 0x7F;
    if (r < 0xA0 || r == 0xA0 || r == 0xAD || r == 0x1680 || r == 0x180E) return false;
    if ((r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F) return false;
    if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F)) return false;
    if ((r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF) return false;
    if ((r >= 0xE000 && r <= 0xF8FF) || (r >= 0xFDD0 && r <= 0xFDEF)) return false;
    if ((r >= 0xFFF9 && r <= 0xFFFB) || (r & 0xFFFE) == 0xFFFE || r >= 0xF0000) return false;
    return true;
}

typedef struct sbuf {
    char *buf;
    size_t cap, len, fill;
} sbuf;

/* Appends a whole rune or escape, or nothing once the buffer is full, so truncated output stays
 * valid UTF-8; len counts what the full output would take. */
static void put(sbuf *b, const char *s, size_t n)
{
    if (b->len == b->fill && b->fill + n < b->cap) {
        memcpy(b->buf + b->fill, s, n);
        b->fill += n;
    }
    b->len += n;
}

static void put_rune_escaped(sbuf *b, uint32_t r, const char *raw, size_t w)
{
    static const char named[] = "\a"
                                "a"
                                "\b"
                                "b"
                                "\f"
                                "f"
                                "\n"
                                "n"
                                "\r"
                                "r"
                                "\t"
                                "t"
                                "\v"
                                "v";
    char tmp[16];
    if (r == '"' || r == '\\') return put(b, "\\", 1), put(b, raw, 1);
    if (go_isprint(r)) return put(b, raw, w);
    for (size_t i = 0; r < 0x20 && i < sizeof named - 1; i += 2)
        if ((uint32_t)named[i] == r) return put(b, "\\", 1), put(b, &named[i + 1], 1);
    if (r < 0x20 || r == 0x7F)
        snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)r);
    else if (r < 0x10000)
        snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)r);
    else
        snprintf(tmp, sizeof tmp, "\\U%08x", (unsigned)r);
    put(b, tmp, strlen(tmp));
}

size_t kc_name_quote(char *buf, size_t cap, const char *s, size_t n)
{
    sbuf b = {buf, cap > 0 ? cap - 1 : 0, 0, 0}; /* keep the closing quote's room */
    put(&b, "\"", 1);
    for (size_t i = 0, w; i < n; i += w) {
        uint32_t r;
        w = kc_name_utf8_next(s + i, n - i, &r);
        if (w == 1 && r == 0xFFFD) {
            char tmp[8];
            snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned char)s[i]);
            put(&b, tmp, 4);
        } else {
            put_rune_escaped(&b, r, s + i, w);
        }
    }
    if (cap > 1) buf[b.fill++] = '"';
    if (cap) buf[b.fill] = 0;
    return b.len + 1;
}

size_t kc_name_utf8_clean(char *dst, size_t cap, const char *src, size_t n)
{
    size_t len = 0;
    if (!cap) return 0;
    for (size_t i = 0, w; i < n; i += w) {
        uint32_t r;
        w = kc_name_utf8_next(src + i, n - i, &r);
        bool bad = w == 1 && r == 0xFFFD;
        const char *piece = bad ? "\xEF\xBF\xBD" : src + i;
        size_t pn = bad ? 3 : w;
        if (len + pn >= cap) break;
        memcpy(dst + len, piece, pn);
        len += pn;
    }
    dst[len] = 0;
    return len;
}

/* ---- ObjectMeta validation: one cause per upstream field.Error ---- */

static const char *str_of(json_t *obj, const char *key, size_t *n)
{
    json_t *v = json_object_get(obj, key);
    *n = json_is_string(v) ? json_string_length(v) : 0;
    return json_is_string(v) ? json_string_value(v) : "";
}

static void invalid_str(kc_err *err, const char *field, const char *s, size_t n, const char *msg)
{
    char q[512]; /* with the longest static message, the cause stays under kc_err's 1024 bytes */
    kc_name_quote(q, sizeof q, s, n);
    kc_err_cause(err, "FieldValueInvalid", field, "Invalid value: %s: %s", q, msg);
}

/* An Invalid cause whose bad value is rendered as JSON (Go marshals non-scalar values). */
static void invalid_json(kc_err *err, const char *field, json_t *v, const char *msg)
{
    char *js =
        json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII); /* ASCII: safe to truncate */
    char cut[600];
    kc_name_utf8_clean(cut, sizeof cut, js ? js : "null", js ? strlen(js) : 4);
    kc_err_cause(err, "FieldValueInvalid", field, "Invalid value: %s: %s", cut, msg);
    free(js);
}

static void check_into(kc_err *err, const char *field, kc_name_rule rule, bool prefix, const char *s,
                       size_t n)
{
    const char *m[KC_NAME_MAXMSGS];
    size_t k = prefix ? kc_name_check_prefix(rule, s, n, m) : kc_name_check(rule, s, n, m);
    for (size_t i = 0; i < k; i++)
        invalid_str(err, field, s, n, m[i]);
}

static void check_names(json_t *md, kc_name_rule rule, kc_err *err)
{
    size_t gn, nn;
    const char *gen = str_of(md, "generateName", &gn), *name = str_of(md, "name", &nn);
    if (gn) check_into(err, "metadata.generateName", rule, true, gen, gn);
    if (!nn)
        kc_err_cause(err, "FieldValueRequired", "metadata.name",
                     "Required value: name or generateName is required");
    else
        check_into(err, "metadata.name", rule, false, name, nn);
}

static void check_namespace(json_t *md, bool namespaced, kc_err *err)
{
    size_t n;
    const char *ns = str_of(md, "namespace", &n);
    if (namespaced && !n)
        kc_err_cause(err, "FieldValueRequired", "metadata.namespace", "Required value");
    else if (namespaced)
        check_into(err, "metadata.namespace", KC_NAME_LABEL, false, ns, n);
    else if (n)
        kc_err_cause(err, "FieldValueForbidden", "metadata.namespace", "Forbidden: not allowed on this type");
}

static void check_generation(json_t *md, kc_err *err)
{
    json_t *g = json_object_get(md, "generation");
    if (json_is_integer(g) && json_integer_value(g) < 0)
        kc_err_cause(err, "FieldValueInvalid", "metadata.generation",
                     "Invalid value: %lld: must be greater than or equal to 0",
                     (long long)json_integer_value(g));
}

/* Bad JSON types cannot reach upstream validation (decoding fails first); report them as causes. */
static bool want_string(kc_err *err, const char *field, json_t *v)
{
    if (json_is_string(v)) return true;
    invalid_json(err, field, v, "must be a string");
    return false;
}

static void check_labels(json_t *md, kc_err *err)
{
    json_t *labels = json_object_get(md, "labels"), *v;
    const char *k;
    if (labels && !json_is_object(labels) && !json_is_null(labels))
        return invalid_json(err, "metadata.labels", labels, "must be an object");
    json_object_foreach(labels, k, v)
    {
        check_into(err, "metadata.labels", KC_NAME_QUALIFIED, false, k, strlen(k));
        if (want_string(err, "metadata.labels", v))
            check_into(err, "metadata.labels", KC_NAME_LABEL_VALUE, false, json_string_value(v),
                       json_string_length(v));
    }
}

/* Annotation keys are qualified names compared case-insensitively; values are free-form but all keys
 * and values together must fit in 256 KiB. */
static void check_annotations(json_t *md, kc_err *err)
{
    json_t *ann = json_object_get(md, "annotations"), *v;
    const char *k;
    size_t total = 0;
    if (ann && !json_is_object(ann) && !json_is_null(ann))
        return invalid_json(err, "metadata.annotations", ann, "must be an object");
    json_object_foreach(ann, k, v)
    {
        size_t n = strlen(k);
        const char *m[KC_NAME_MAXMSGS];
        char *low = strdup(k);
        if (!low) abort();
        for (size_t i = 0; i < n; i++)
            if (low[i] >= 'A' && low[i] <= 'Z') low[i] = (char)(low[i] - 'A' + 'a');
        size_t nm = kc_name_check(KC_NAME_QUALIFIED, low, n, m);
        free(low);
        for (size_t i = 0; i < nm; i++)
            invalid_str(err, "metadata.annotations", k, n, m[i]);
        total += n + (want_string(err, "metadata.annotations", v) ? json_string_length(v) : 0);
    }
    if (total > ANNOTATIONS_MAX)
        kc_err_cause(err, "FieldValueTooLong", "metadata.annotations", "Too long: must have at most %d bytes",
                     ANNOTATIONS_MAX);
}

/* The owner reference as Go would marshal it (field order of metav1.OwnerReference). */
static json_t *owner_json(json_t *ref)
{
    static const char *keys[] = {"apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"};
    json_t *out = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(ref, keys[i]);
        if (i < 4)
            json_object_set_new(out, keys[i], json_string(json_is_string(v) ? json_string_value(v) : ""));
        else if (json_is_boolean(v))
            json_object_set(out, keys[i], v);
    }
    return out;
}

static void check_owner(json_t *ref, kc_err *err)
{
    size_t an, kn, nn, un;
    const char *api = str_of(ref, "apiVersion", &an), *kind = str_of(ref, "kind", &kn);
    str_of(ref, "name", &nn);
    str_of(ref, "uid", &un);
    /* schema.ParseGroupVersion: "", "/", "v" and "g/v" parse; more slashes give an empty version */
    const char *slash = memchr(api, '/', an);
    bool multi = slash && memchr(slash + 1, '/', an - (size_t)(slash + 1 - api));
    const char *ver = multi ? "" : slash ? slash + 1 : api;
    bool core = !multi && !slash;
    if (!*ver) invalid_str(err, "metadata.ownerReferences.apiVersion", api, an, "version must not be empty");
    if (!kn) invalid_str(err, "metadata.ownerReferences.kind", "", 0, "must not be empty");
    if (!nn) invalid_str(err, "metadata.ownerReferences.name", "", 0, "must not be empty");
    if (!un) invalid_str(err, "metadata.ownerReferences.uid", "", 0, "must not be empty");
    if ((core || (slash == api)) && !strcmp(ver, "v1") && !strcmp(kind, "Event")) {
        json_t *j = owner_json(ref);
        invalid_json(err, "metadata.ownerReferences", j, "/v1, Kind=Event is disallowed from being an owner");
        json_decref(j);
    }
}

static void check_owners(json_t *md, kc_err *err)
{
    json_t *refs = json_object_get(md, "ownerReferences"), *ref;
    size_t i;
    char first[200] = "";
    json_array_foreach(refs, i, ref)
    {
        check_owner(ref, err);
        if (!json_is_true(json_object_get(ref, "controller"))) continue;
        char raw[512], cur[200];
        size_t n;
        snprintf(raw, sizeof raw, "%s/%s", str_of(ref, "kind", &n), str_of(ref, "name", &n));
        kc_name_utf8_clean(cur, sizeof cur, raw, strlen(raw));
        if (!first[0]) {
            memcpy(first, cur, sizeof first);
            continue;
        }
        json_t *all = json_array();
        json_array_foreach(refs, n, ref) json_array_append_new(all, owner_json(ref));
        char msg[600];
        snprintf(
            msg, sizeof msg,
            "Only one reference can have Controller set to true. Found \"true\" in references for %s and %s",
            first, cur);
        invalid_json(err, "metadata.ownerReferences", all, msg);
        json_decref(all);
        break;
    }
}

static void check_finalizers(json_t *md, kc_err *err)
{
    json_t *fins = json_object_get(md, "finalizers"), *f;
    size_t i;
    bool orphan = false, foreground = false;
    json_array_foreach(fins, i, f)
    {
        if (!want_string(err, "metadata.finalizers", f)) continue;
        check_into(err, "metadata.finalizers", KC_NAME_QUALIFIED, false, json_string_value(f),
                   json_string_length(f));
        orphan |= !strcmp(json_string_value(f), "orphan");
        foreground |= !strcmp(json_string_value(f), "foregroundDeletion");
    }
    if (orphan && foreground)
        invalid_json(err, "metadata.finalizers", fins,
                     "finalizer orphan and foregroundDeletion cannot be both set");
}

static bool same_cause(json_t *a, json_t *b)
{
    return json_equal(json_object_get(a, "field"), json_object_get(b, "field")) &&
           json_equal(json_object_get(a, "message"), json_object_get(b, "message"));
}

/* The message of a field.ErrorList aggregate: "field: message", or "[a, b]" for several (deduplicated). */
static void aggregate_message(kc_err *err)
{
    char out[2048] = "", clean[sizeof err->msg - 2]; /* room for "[...]" */
    size_t len = 0, shown = 0, n = kc_err_ncauses(err);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(err->causes, i);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = same_cause(json_array_get(err->causes, j), c);
        if (seen || len >= sizeof out - 1) continue;
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s: %s", shown++ ? ", " : "",
                                json_string_value(json_object_get(c, "field")),
                                json_string_value(json_object_get(c, "message")));
    }
    kc_name_utf8_clean(clean, sizeof clean, out, strlen(out));
    if (shown == 1)
        kc_errf(err, KC_EINVALID, "%s", clean);
    else
        kc_errf(err, KC_EINVALID, "[%s]", clean);
}

int kc_meta_validate(json_t *metadata, int name_rule, bool namespaced, kc_err *err)
{
    size_t before = kc_err_ncauses(err);
    json_t *md = json_is_object(metadata) ? metadata : NULL;
    check_names(md, (kc_name_rule)name_rule, err);
    check_namespace(md, namespaced, err);
    check_generation(md, err);
    check_labels(md, err);
    check_annotations(md, err);
    check_owners(md, err);
    check_finalizers(md, err);
    if (kc_err_ncauses(err) == before) return 0;
    aggregate_message(err);
    return -1;
}
