/* Server-side apply: structured-merge-diff and the apiserver field manager, ported to jansson.
 *
 * This file owns field ownership end to end: field sets (fieldpath.Set) and their FieldsV1
 * encoding, the typed walks over a JSON object guided by the schema (ToFieldSet, Merge, Compare,
 * RemoveItems, EnsureNamedFieldsAreMembers), the merge.Updater (update / Apply / prune) and the
 * field manager chain around it. It does not default, validate values (api/schema does) or store
 * anything. Upstream names are kept in comments so the two can be read side by side:
 *
 *   kc_ssa_apply            FieldManager.Apply
 *     version check         versionCheckManager        (invalid object type)
 *     last_applied_*        lastAppliedUpdater / lastAppliedManager (manager "kubectl" only)
 *     before-first-apply    skipNonAppliedManager.Apply
 *     apply_core            managedFieldsUpdater + stripMetaManager + structuredMergeManager +
 *                           merge.Updater.Apply (merge, prune, update)
 *   kc_ssa_track_update     FieldManager.Update: decodeLiveOrNew, skipNonApplied, update_core
 *                           (managedFieldsUpdater "current-operation" + Updater.Update), cap_managers
 *
 * Go's typed world leaks into results and is emulated on purpose: comparisons see objects the
 * way a Go round trip would (go_norm: non-pointer structs always present, nil slices as null,
 * omitempty zero values gone), because that decides which parents get a "." in FieldsV1.
 *
 * Values in the walks are shared by reference (jansson refcounts) and never modified; results
 * are deep-copied before they leave this file. */
#include "api/ssa.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define MAX_UPDATE_MANAGERS 10
#define MAX_TYPED_ERRORS 64
#define ANNOTATIONS_MAX (256 * 1024) /* apimachinery TotalAnnotationSizeLimitB */

/* ---- Go encodings --------------------------------------------------------------------------- */

static const char hexd[] = "0123456789abcdef";

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp, min;
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    cp = c & (0x3Fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* A JSON string as Go's encoding/json writes it (HTML-safe escapes, invalid UTF-8 as U+FFFD). */
static void gj_str(kc_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    kc_buf_add(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t l = 1;
        if (c >= 0x80) {
            l = utf8_len(p + i, n - i);
            if (!l)
                kc_buf_adds(b, "\\ufffd"), l = 1;
            else if (l == 3 && c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9))
                kc_buf_adds(b, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            else
                kc_buf_add(b, p + i, l);
        } else if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            kc_buf_add(b, e, 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            char e[2] = {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
            kc_buf_add(b, e, 2);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            char e[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
            kc_buf_add(b, e, 6);
        } else {
            kc_buf_add(b, p + i, 1);
        }
        i += l;
    }
    kc_buf_add(b, "\"", 1);
}

/* Shortest round-tripping decimal digits of f > 0: f = 0.d[0]d[1]... x 10^dp. Returns the count. */
static int float_digits(double f, char *d, int *dp)
{
    char buf[40], *q;
    int nd = 0;
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, f);
        if (strtod(buf, NULL) == f) break;
    }
    for (q = buf; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') d[nd++] = *q;
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    *dp = atoi(q + (*q == 'e')) + 1;
    return nd;
}

/* strconv.FormatFloat(f, 'e' or 'f', -1, 64) from the digits; pad2: at least two exponent digits. */
static void put_float(kc_buf *b, const char *d, int nd, int dp, int efmt, int pad2)
{
    if (efmt) {
        int e = dp - 1;
        kc_buf_add(b, d, 1);
        if (nd > 1) kc_buf_add(b, ".", 1), kc_buf_add(b, d + 1, (size_t)nd - 1);
        kc_buf_addf(b, pad2 ? "e%c%02d" : "e%c%d", e < 0 ? '-' : '+', abs(e));
    } else if (dp <= 0) {
        kc_buf_adds(b, "0.");
        for (int i = 0; i < -dp; i++)
            kc_buf_add(b, "0", 1);
        kc_buf_add(b, d, (size_t)nd);
    } else if (dp >= nd) {
        kc_buf_add(b, d, (size_t)nd);
        for (int i = nd; i < dp; i++)
            kc_buf_add(b, "0", 1);
    } else {
        kc_buf_add(b, d, (size_t)dp), kc_buf_add(b, ".", 1), kc_buf_add(b, d + dp, (size_t)(nd - dp));
    }
}

/* A float64 as encoding/json (json=1) or fmt's %v (json=0) prints it. */
static void gj_float(kc_buf *b, double f, int json)
{
    char d[40];
    int dp, nd;
    if (!isfinite(f)) {
        kc_buf_adds(b, f != f ? "NaN" : f > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (signbit(f)) kc_buf_add(b, "-", 1), f = -f;
    if (f == 0) {
        kc_buf_add(b, "0", 1);
        return;
    }
    nd = float_digits(f, d, &dp);
    if (json)
        put_float(b, d, nd, dp, f < 1e-6 || f >= 1e21, 0);
    else
        put_float(b, d, nd, dp, dp - 1 < -4 || dp - 1 >= 6, 1);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of object o in byte order (Go sorts map keys); free() the array. */
static const char **sorted_keys(json_t *o, size_t *n)
{
    const char **k = xcalloc(json_object_size(o) + 1, sizeof *k);
    const char *key;
    json_t *v;
    *n = 0;
    json_object_foreach(o, key, v) k[(*n)++] = key;
    qsort(k, *n, sizeof *k, cmp_strp);
    return k;
}

/* v as json.Marshal writes an interface{} value: compact, map keys sorted. */
static void gj_val(kc_buf *b, json_t *v)
{
    size_t n, i;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char **k = sorted_keys(v, &n);
        kc_buf_add(b, "{", 1);
        for (i = 0; i < n; i++) {
            if (i) kc_buf_add(b, ",", 1);
            gj_str(b, k[i], strlen(k[i]));
            kc_buf_add(b, ":", 1);
            gj_val(b, json_object_get(v, k[i]));
        }
        kc_buf_add(b, "}", 1);
        free(k);
        break;
    }
    case JSON_ARRAY:
        kc_buf_add(b, "[", 1);
        for (i = 0; i < json_array_size(v); i++) {
            if (i) kc_buf_add(b, ",", 1);
            gj_val(b, json_array_get(v, i));
        }
        kc_buf_add(b, "]", 1);
        break;
    case JSON_STRING:
        gj_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        kc_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        gj_float(b, json_real_value(v), 1);
        break;
    case JSON_TRUE:
        kc_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        kc_buf_adds(b, "false");
        break;
    default:
        kc_buf_adds(b, "null");
        break;
    }
}

/* Go's %q: a double-quoted string with Go escapes. */
static void go_quote(kc_buf *b, const char *s)
{
    static const char named[] = "\a\b\f\n\r\t\v", letters[] = "abfnrtv";
    kc_buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        const char *e = *p ? strchr(named, *p) : NULL;
        size_t l = *p >= 0x80 ? utf8_len(p, strlen((const char *)p)) : 1;
        if (*p == '"' || *p == '\\')
            kc_buf_add(b, "\\", 1), kc_buf_add(b, p, 1);
        else if (e)
            kc_buf_addf(b, "\\%c", letters[e - named]);
        else if (*p < 0x20 || *p == 0x7f || !l)
            kc_buf_addf(b, "\\x%02x", *p), l = 1;
        else
            kc_buf_add(b, p, l);
        p += l;
    }
    kc_buf_add(b, "\"", 1);
}

/* Seconds since the epoch of an RFC 3339 time (metav1.Time.Unix()); 0 when unparsable. */
static long long rfc3339_secs(const char *s)
{
    int y, mo, d, h, mi, se, n = 0, oh = 0, om = 0;
    char sign = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6) return 0;
    s += n;
    if (*s == '.')
        while (*++s >= '0' && *s <= '9') {
        }
    if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d", &oh, &om) == 2) sign = *s;
    long long yy = y - (mo <= 2), era = (yy >= 0 ? yy : yy - 399) / 400;
    long long yoe = yy - era * 400, mp = (mo + 9) % 12;
    long long doy = (153 * mp + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    long long off = (sign == '-' ? -1 : 1) * (oh * 3600LL + om * 60LL) * (sign != 0);
    return days * 86400 + h * 3600LL + mi * 60LL + se - off;
}

/* ---- values (sigs.k8s.io/structured-merge-diff/value) ------------------------------------- */

static int is_num(json_t *v)
{
    return json_is_integer(v) || json_is_real(v);
}

static double num(json_t *v)
{
    return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

/* value.Compare's type order: numbers, strings, booleans, lists, maps, null. */
static int vrank(json_t *v)
{
    if (is_num(v)) return 0;
    if (json_is_string(v)) return 1;
    if (json_is_boolean(v)) return 2;
    if (json_is_array(v)) return 3;
    return json_is_object(v) ? 4 : 5;
}

static int cmp3(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int vcmp(json_t *a, json_t *b);

static int vcmp_str(json_t *a, json_t *b)
{
    size_t la = json_string_length(a), lb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    return c ? (c < 0 ? -1 : 1) : la < lb ? -1 : la > lb;
}

static int vcmp_list(json_t *a, json_t *b)
{
    size_t na = json_array_size(a), nb = json_array_size(b);
    for (size_t i = 0; i < na && i < nb; i++) {
        int c = vcmp(json_array_get(a, i), json_array_get(b, i));
        if (c) return c;
    }
    return na < nb ? -1 : na > nb;
}

/* MapCompare: keys in lexical order; a key missing on the left sorts the left map after. */
static int vcmp_map(json_t *a, json_t *b)
{
    size_t na, nb, i = 0, j = 0;
    const char **ka = sorted_keys(a, &na), **kb = sorted_keys(b, &nb);
    int c = 0;
    while (!c && (i < na || j < nb)) {
        int k = i >= na ? 1 : j >= nb ? -1 : strcmp(ka[i], kb[j]);
        if (k)
            c = k < 0 ? -1 : 1;
        else
            c = vcmp(json_object_get(a, ka[i]), json_object_get(b, kb[j])), i++, j++;
    }
    free(ka), free(kb);
    return c;
}

static int vcmp(json_t *a, json_t *b)
{
    int ra = vrank(a), rb = vrank(b);
    if (ra != rb) return ra < rb ? -1 : 1;
    switch (ra) {
    case 0:
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t x = json_integer_value(a), y = json_integer_value(b);
            return x < y ? -1 : x > y;
        }
        return cmp3(num(a), num(b));
    case 1:
        return vcmp_str(a, b);
    case 2:
        return json_is_true(a) == json_is_true(b) ? 0 : json_is_true(a) ? 1 : -1;
    case 3:
        return vcmp_list(a, b);
    case 4:
        return vcmp_map(a, b);
    default:
        return 0;
    }
}

/* value.Equals: deep equality where integers and floats compare numerically. */
static int veq(json_t *a, json_t *b)
{
    if (is_num(a) || is_num(b)) {
        if (!is_num(a) || !is_num(b)) return 0;
        if (json_is_integer(a) && json_is_integer(b)) return json_integer_value(a) == json_integer_value(b);
        return num(a) == num(b);
    }
    if (json_typeof(a) != json_typeof(b)) return 0;
    if (json_is_string(a)) return vcmp_str(a, b) == 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!veq(json_array_get(a, i), json_array_get(b, i))) return 0;
        return 1;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b)) return 0;
        json_object_foreach(a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (!w || !veq(v, w)) return 0;
        }
    }
    return 1;
}

/* value.ToString, used in path strings ([name="nginx"]). */
static void vstr(kc_buf *b, json_t *v)
{
    size_t n, i;
    if (json_is_string(v)) {
        char *s = xstrndup(json_string_value(v), json_string_length(v));
        go_quote(b, s);
        free(s);
    } else if (json_is_real(v)) {
        gj_float(b, json_real_value(v), 0);
    } else if (json_is_array(v)) {
        kc_buf_add(b, "[", 1);
        for (i = 0; i < json_array_size(v); i++) {
            if (i) kc_buf_add(b, ",", 1);
            vstr(b, json_array_get(v, i));
        }
        kc_buf_add(b, "]", 1);
    } else if (json_is_object(v)) {
        const char **k = sorted_keys(v, &n);
        for (i = 0; i < n; i++)
            kc_buf_addf(b, "%s=", k[i]), vstr(b, json_object_get(v, k[i]));
        free(k);
    } else {
        gj_val(b, v);
    }
}

/* ---- path elements (fieldpath.PathElement) ------------------------------------------------ */

/* Kinds in fieldpath's order: names sort before keys, keys before values, values before indexes. */
enum { PE_FIELD, PE_KEY, PE_VALUE, PE_INDEX };

/* In a set the element owns name (PE_FIELD) and one reference to val; in a walk it borrows. */
typedef struct pe {
    int kind;
    const char *name;
    json_t *val; /* PE_KEY: object of the key fields, inserted in name order; PE_VALUE: the value */
    long long idx;
} pe;

static pe pe_field(const char *name)
{
    pe e = {PE_FIELD, name, NULL, 0};
    return e;
}

static pe pe_dup(const pe *e)
{
    pe o = *e;
    if (o.name) o.name = xstrdup(o.name);
    json_incref(o.val);
    return o;
}

static void pe_release(pe *e)
{
    free((char *)e->name);
    json_decref(e->val);
}

/* FieldList.Compare: field by field (names, then values), a shorter list first. */
static int keys_cmp(json_t *a, json_t *b)
{
    void *ia = json_object_iter(a), *ib = json_object_iter(b);
    for (; ia && ib; ia = json_object_iter_next(a, ia), ib = json_object_iter_next(b, ib)) {
        int c = strcmp(json_object_iter_key(ia), json_object_iter_key(ib));
        if (c) return c < 0 ? -1 : 1;
        if ((c = vcmp(json_object_iter_value(ia), json_object_iter_value(ib)))) return c;
    }
    return ia ? 1 : ib ? -1 : 0;
}

static int pe_cmp(const pe *a, const pe *b)
{
    int c;
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    switch (a->kind) {
    case PE_FIELD:
        c = strcmp(a->name, b->name);
        return c < 0 ? -1 : c > 0;
    case PE_KEY:
        return keys_cmp(a->val, b->val);
    case PE_VALUE:
        return vcmp(a->val, b->val);
    default:
        return a->idx < b->idx ? -1 : a->idx > b->idx;
    }
}

/* The FieldsV1 key of an element: f:name, k:{"name":"x"}, v:"x", i:0. */
static void pe_key(kc_buf *b, const pe *e)
{
    switch (e->kind) {
    case PE_FIELD:
        kc_buf_adds(b, "f:"), kc_buf_adds(b, e->name);
        break;
    case PE_KEY:
        kc_buf_adds(b, "k:"), gj_val(b, e->val);
        break;
    case PE_VALUE:
        kc_buf_adds(b, "v:"), gj_val(b, e->val);
        break;
    default:
        kc_buf_addf(b, "i:%lld", e->idx);
        break;
    }
}

/* PathElement.String: .name, [k=v,k2=v2], [=v], [0]. */
static void pe_str(kc_buf *b, const pe *e)
{
    switch (e->kind) {
    case PE_FIELD:
        kc_buf_add(b, ".", 1), kc_buf_adds(b, e->name);
        break;
    case PE_KEY: {
        int first = 1;
        const char *k;
        json_t *v;
        kc_buf_add(b, "[", 1);
        json_object_foreach(e->val, k, v)
        {
            kc_buf_addf(b, "%s%s=", first ? "" : ",", k), vstr(b, v);
            first = 0;
        }
        kc_buf_add(b, "]", 1);
        break;
    }
    case PE_VALUE:
        kc_buf_adds(b, "[="), vstr(b, e->val), kc_buf_add(b, "]", 1);
        break;
    default:
        kc_buf_addf(b, "[%lld]", e->idx);
        break;
    }
}

/* A key-field object with fields inserted in name order (FieldList.Sort); takes no references. */
static json_t *sorted_object(json_t *o)
{
    size_t n;
    const char **k = sorted_keys(o, &n);
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set(out, k[i], json_object_get(o, k[i]));
    free(k);
    return out;
}

/* strconv.Atoi. */
static int parse_int(const char *s, long long *out)
{
    char *end;
    if (!*s || *s == ' ' || (*s == '+' && !s[1])) return -1;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return *end || errno || (s[0] != '-' && s[0] != '+' && (s[0] < '0' || s[0] > '9')) ? -1 : 0;
}

/* DeserializePathElement: 0 and an owned element, 1 for an unknown prefix (skipped, like
 * upstream), -1 with a message. */
static int pe_parse(const char *s, pe *out, kc_buf *msg)
{
    json_t *v;
    memset(out, 0, sizeof *out);
    if (strlen(s) < 2) return kc_buf_addf(msg, "key must be 2 characters long: %s", s), -1;
    if (s[1] != ':' || !strchr("fvki", s[0])) return 1;
    if (s[0] == 'f') return *out = pe_field(xstrdup(s + 2)), 0;
    if (s[0] == 'i') {
        out->kind = PE_INDEX;
        return parse_int(s + 2, &out->idx) ? (kc_buf_addf(msg, "invalid index %s", s + 2), -1) : 0;
    }
    v = json_loads(s + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v || (s[0] == 'k' && !json_is_object(v))) {
        json_decref(v);
        return kc_buf_addf(msg, "parsing key as path element: %s", s), -1;
    }
    out->kind = s[0] == 'k' ? PE_KEY : PE_VALUE;
    out->val = s[0] == 'k' ? sorted_object(v) : json_incref(v);
    json_decref(v);
    return 0;
}

/* ---- field sets (fieldpath.Set) ----------------------------------------------------------- */

/* One node per path element: `member` is fieldpath's Members, `kids` its Children, sorted by
 * pe_cmp. Invariant: every kid is live (a member, or has kids), so a set is empty iff n == 0.
 * A set is a root node whose own element and member flag are unused. */
typedef struct snode {
    pe e;
    int member;
    size_t n, cap;
    struct snode *kids;
} snode;

static void sn_release(snode *s)
{
    for (size_t i = 0; i < s->n; i++)
        pe_release(&s->kids[i].e), sn_release(&s->kids[i]);
    free(s->kids);
    memset(s, 0, sizeof *s);
}

/* Index of the first kid not less than e. */
static size_t sn_lower(const snode *s, const pe *e)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pe_cmp(&s->kids[mid].e, e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static snode *sn_get(const snode *s, const pe *e)
{
    size_t i = sn_lower(s, e);
    return i < s->n && pe_cmp(&s->kids[i].e, e) == 0 ? &s->kids[i] : NULL;
}

/* The kid for e, inserted (taking ownership of e) when missing; e is released when found. */
static snode *sn_take(snode *s, pe e)
{
    size_t i = sn_lower(s, &e);
    if (i < s->n && pe_cmp(&s->kids[i].e, &e) == 0) return pe_release(&e), &s->kids[i];
    if (s->n == s->cap)
        s->cap = s->cap ? 2 * s->cap : 4, s->kids = xrealloc(s->kids, s->cap * sizeof *s->kids);
    memmove(s->kids + i + 1, s->kids + i, (s->n - i) * sizeof *s->kids);
    memset(&s->kids[i], 0, sizeof *s->kids);
    s->kids[i].e = e;
    s->n++;
    return &s->kids[i];
}

/* Set.Insert: the path becomes a member (parents do not). */
static void sn_insert(snode *s, const pe *p, size_t n)
{
    if (!n) return; /* nobody owns the whole object */
    for (size_t i = 0; i < n; i++)
        s = sn_take(s, pe_dup(&p[i]));
    s->member = 1;
}

/* Appends a kid (callers append in order); the new kid is empty. */
static snode *sn_push(snode *s, const pe *e)
{
    if (s->n == s->cap)
        s->cap = s->cap ? 2 * s->cap : 4, s->kids = xrealloc(s->kids, s->cap * sizeof *s->kids);
    memset(&s->kids[s->n], 0, sizeof *s->kids);
    s->kids[s->n].e = pe_dup(e);
    return &s->kids[s->n++];
}

/* Drops the last kid again when it is not live. */
static void sn_keep(snode *s)
{
    snode *k = &s->kids[s->n - 1];
    if (k->member || k->n) return;
    pe_release(&k->e), sn_release(k);
    s->n--;
}

static void sn_copy(snode *dst, const snode *src)
{
    dst->member = src->member;
    for (size_t i = 0; i < src->n; i++)
        sn_copy(sn_push(dst, &src->kids[i].e), &src->kids[i]);
}

/* The operations fill the (empty) out with the kids of a OP b; out's member flag is the caller's. */
static void sn_union(snode *out, const snode *a, const snode *b)
{
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int c = i >= a->n ? 1 : j >= b->n ? -1 : pe_cmp(&a->kids[i].e, &b->kids[j].e);
        if (c < 0) {
            sn_copy(sn_push(out, &a->kids[i].e), &a->kids[i]), i++;
        } else if (c > 0) {
            sn_copy(sn_push(out, &b->kids[j].e), &b->kids[j]), j++;
        } else {
            snode *k = sn_push(out, &a->kids[i].e);
            k->member = a->kids[i].member || b->kids[j].member;
            sn_union(k, &a->kids[i], &b->kids[j]), i++, j++;
        }
    }
}

/* Set.Difference: members removed only where b has the same member (no recursion into them). */
static void sn_diff(snode *out, const snode *a, const snode *b)
{
    for (size_t i = 0; i < a->n; i++) {
        const snode *ka = &a->kids[i], *kb = sn_get(b, &ka->e);
        snode *k = sn_push(out, &ka->e);
        if (!kb) {
            sn_copy(k, ka);
            continue;
        }
        k->member = ka->member && !kb->member;
        sn_diff(k, ka, kb);
        sn_keep(out);
    }
}

static void sn_inter(snode *out, const snode *a, const snode *b)
{
    for (size_t i = 0; i < a->n; i++) {
        const snode *ka = &a->kids[i], *kb = sn_get(b, &ka->e);
        if (!kb) continue;
        snode *k = sn_push(out, &ka->e);
        k->member = ka->member && kb->member;
        sn_inter(k, ka, kb);
        sn_keep(out);
    }
}

/* Set.RecursiveDifference: a member of b removes the whole subtree. */
static void sn_rdiff(snode *out, const snode *a, const snode *b)
{
    for (size_t i = 0; i < a->n; i++) {
        const snode *ka = &a->kids[i], *kb = sn_get(b, &ka->e);
        if (kb && kb->member) continue;
        snode *k = sn_push(out, &ka->e);
        k->member = ka->member;
        if (kb)
            sn_rdiff(k, ka, kb);
        else
            sn_copy(k, ka);
        sn_keep(out);
    }
}

/* Replaces the kids of *a by those of op(*a, b); a's own element and member flag stay. */
static void sn_apply(snode *a, const snode *b, void (*op)(snode *, const snode *, const snode *))
{
    snode out = {0};
    pe e = a->e;
    int member = a->member;
    op(&out, a, b);
    sn_release(a);
    *a = out;
    a->e = e, a->member = member;
}

/* ---- FieldsV1 (fieldpath serialize.go) ---------------------------------------------------- */

/* emitContentsV1: "." first when the node itself is owned, then kids in set order. */
static json_t *fields_encode(const snode *s, int self)
{
    json_t *o = json_object();
    kc_buf k = KC_BUF_INIT;
    if (self && s->n) json_object_set_new(o, ".", json_object());
    for (size_t i = 0; i < s->n; i++) {
        const snode *kid = &s->kids[i];
        k.len = 0;
        pe_key(&k, &kid->e);
        json_object_setn_new(o, k.data, k.len, kid->n ? fields_encode(kid, kid->member) : json_object());
    }
    kc_buf_release(&k);
    return o;
}

/* readIterV1: fills node's kids from one FieldsV1 object. Returns 1 when the object marks its
 * own path (with "." or by having no recognised kids), 0 when not, -1 on malformed input. */
static int fields_decode(json_t *o, snode *node, kc_buf *msg)
{
    const char *key;
    json_t *v;
    int self = 0;
    if (!json_is_object(o)) return kc_buf_adds(msg, "expected an object in FieldsV1"), -1;
    json_object_foreach(o, key, v)
    {
        pe e;
        snode sub = {0};
        int r, m;
        if (!strcmp(key, ".")) {
            self = 1;
            continue;
        }
        if ((r = pe_parse(key, &e, msg)) != 0) {
            if (r < 0) return -1;
            continue;
        }
        if ((m = fields_decode(v, &sub, msg)) < 0) return pe_release(&e), sn_release(&sub), -1;
        snode *kid = sn_take(node, e);
        kid->member |= m;
        sn_apply(kid, &sub, sn_union);
        sn_release(&sub);
    }
    return self || node->n == 0;
}

/* ---- schema references (schema.TypeRef resolved from api/schema) --------------------------- */

/* TK_ANY is structured-merge-diff's "deduced" type: objects merge key by key, lists are atomic.
 * TK_NONE is an unresolvable type (only EnsureNamedFieldsAreMembers meets it). */
enum { TK_NONE, TK_ANY, TK_SCALAR, TK_STRUCT, TK_MAP, TK_LIST };
enum { LT_SET = 1, LT_KEYS };

typedef struct tref {
    int kind, atomic, lt;
    const kc_type *t;  /* TK_STRUCT */
    const kc_field *f; /* TK_LIST / TK_MAP: the field, for its items */
} tref;

static tref tref_type(const kc_type *t)
{
    tref r = {t ? TK_STRUCT : TK_ANY, t ? kc_type_is_atomic(t) : 0, 0, t, NULL};
    return r;
}

/* A list's relationship, like the apiserver's schema conversion: +listType wins, else a merge
 * patch strategy with a key is a map and without one a set, else atomic. */
static tref tref_list(const kc_field *f)
{
    tref r = {TK_LIST, 0, 0, NULL, f};
    kc_listtype lt = kc_field_list_type(f);
    if (lt == KC_LIST_NONE && (kc_field_patch(f) & KC_PATCH_MERGE))
        lt = kc_field_merge_key(f) ? KC_LIST_MAP : KC_LIST_SET;
    r.atomic = lt != KC_LIST_SET && lt != KC_LIST_MAP;
    r.lt = lt == KC_LIST_SET ? LT_SET : LT_KEYS;
    return r;
}

static tref tref_field(const kc_field *f)
{
    tref r = {TK_SCALAR, 0, 0, NULL, NULL};
    switch (kc_field_kind(f)) {
    case KC_FK_REF:
        r = tref_type(kc_field_type(f));
        if (f->struct_type == KC_STRUCT_ATOMIC) r.atomic = 1;
        return r;
    case KC_FK_ARRAY:
        return tref_list(f);
    case KC_FK_MAP:
        r.kind = TK_MAP, r.f = f, r.atomic = f->map_type == KC_MAPT_ATOMIC;
        return r;
    case KC_FK_ANY:
        r.kind = TK_ANY;
        return r;
    default:
        return r;
    }
}

/* Items of a list, values of a map. Nested lists and maps lose their schema: deduced. */
static tref tref_elem(const tref *r)
{
    tref e = {TK_ANY, 0, 0, NULL, NULL};
    if (!r->f || (r->kind != TK_LIST && r->kind != TK_MAP)) return e;
    switch (kc_field_elem_kind(r->f)) {
    case KC_FK_REF:
        return tref_type(kc_field_elem_type(r->f));
    case KC_FK_ARRAY:
    case KC_FK_MAP:
    case KC_FK_ANY:
        return e;
    default:
        e.kind = TK_SCALAR;
        return e;
    }
}

/* The declared field `name` of a struct type, or NULL. */
static const kc_field *declared(const tref *r, const char *name)
{
    return r->kind == TK_STRUCT ? kc_type_field(r->t, name) : NULL;
}

/* The type of key `name` of an object of type r. Unknown fields of structs are deduced. */
static tref tref_child(const tref *r, const char *name)
{
    const kc_field *f = declared(r, name);
    tref any = {TK_ANY, 0, 0, NULL, NULL};
    if (f) return tref_field(f);
    return r->kind == TK_MAP ? tref_elem(r) : any;
}

/* +listMapKey names of a keyed list (the patch merge key when there is no +listType). */
static const char *const *list_keys(const tref *r, size_t *n)
{
    const char *const *k = kc_field_list_map_keys(r->f, n);
    if (*n) return k;
    *n = kc_field_merge_key(r->f) ? 1 : 0;
    return *n ? (const char *const *)&r->f->merge_key : NULL;
}

/* How a value is walked: as a leaf, key by key, or item by item. `empty`: no keys/items (a JSON
 * null counts as an empty map or list where the schema expects one, like upstream's nil). */
enum { K_ABSENT, K_LEAF, K_MAP, K_LIST };

static int shape(const tref *r, json_t *v, int *empty)
{
    *empty = 1;
    if (!v) return K_ABSENT;
    switch (r->kind) {
    case TK_STRUCT:
    case TK_MAP:
        if (r->atomic || !(json_is_object(v) || json_is_null(v))) return K_LEAF;
        *empty = !json_is_object(v) || !json_object_size(v);
        return K_MAP;
    case TK_LIST:
        if (r->atomic || !(json_is_array(v) || json_is_null(v))) return K_LEAF;
        *empty = !json_is_array(v) || !json_array_size(v);
        return K_LIST;
    case TK_ANY:
        if (!json_is_object(v)) return K_LEAF;
        *empty = !json_object_size(v);
        return K_MAP;
    default:
        return K_LEAF;
    }
}

/* The walk of a pair: leaf when either side is a leaf, the sides disagree, or both are empty
 * (upstream's emptyPromoteToLeaf keeps the empty/null distinction). */
static int shape2(const tref *r, json_t *l, json_t *rv)
{
    int el, er, kl = shape(r, l, &el), kr = shape(r, rv, &er);
    if (kl == K_LEAF || kr == K_LEAF || (kl != K_ABSENT && kr != K_ABSENT && kl != kr)) return K_LEAF;
    if (el && er) return K_LEAF;
    return kl != K_ABSENT ? kl : kr;
}

/* ---- list items (listItemToPathElement) --------------------------------------------------- */

/* The element of one item of an associative list: its key fields, or its value in a set. */
static int item_pe(const tref *r, json_t *item, pe *out, kc_buf *msg)
{
    size_t n, i;
    const char *const *keys = r->lt == LT_KEYS ? list_keys(r, &n) : NULL;
    const char *sorted[256];
    if (!keys || !n) {
        if (json_is_object(item))
            return kc_buf_adds(msg, "associative list without keys has an element that's a map type"), -1;
        if (json_is_array(item))
            return kc_buf_adds(msg, "not supported: associative list with lists as elements"), -1;
        *out = (pe){PE_VALUE, NULL, json_incref(item), 0};
        return 0;
    }
    if (json_is_null(item))
        return kc_buf_adds(msg, "associative list with keys may not have a null element"), -1;
    if (!json_is_object(item))
        return kc_buf_adds(msg, "associative list with keys may not have non-map elements"), -1;
    if (n > 256) n = 256;
    memcpy(sorted, keys, n * sizeof *keys);
    qsort(sorted, n, sizeof *sorted, cmp_strp);
    json_t *k = json_object();
    for (i = 0; i < n; i++) {
        json_t *v = json_object_get(item, sorted[i]);
        if (v) {
            json_object_set(k, sorted[i], v);
        } else if (!strcmp(sorted[i], "protocol")) { /* +default="TCP" of ContainerPort/ServicePort */
            json_object_set_new(k, sorted[i], json_string("TCP"));
        } else {
            json_decref(k);
            kc_buf_addf(msg,
                        "associative list with keys has an element that omits key field \"%s\" (and doesn't "
                        "have default value)",
                        sorted[i]);
            return -1;
        }
    }
    *out = (pe){PE_KEY, NULL, k, 0};
    return 0;
}

/* The items of one list with their elements; items without one (live data only) get an index. */
typedef struct litem {
    pe e;         /* owns its value reference */
    json_t *v;    /* the item, borrowed */
    size_t count; /* items with this element */
    size_t first; /* position of the first of them */
    int bad;
} litem;

typedef struct lindex {
    litem *it;
    size_t n;
    size_t *ord; /* positions sorted by element, then position */
} lindex;

static int ord_cmp(const void *a, const void *b, void *ctx)
{
    const litem *it = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = pe_cmp(&it[x].e, &it[y].e);
    return c ? c : x < y ? -1 : x > y;
}

static void lindex_build(lindex *x, const tref *r, json_t *arr)
{
    kc_buf msg = KC_BUF_INIT;
    x->n = json_is_array(arr) ? json_array_size(arr) : 0;
    x->it = xcalloc(x->n, sizeof *x->it);
    x->ord = xcalloc(x->n, sizeof *x->ord);
    for (size_t i = 0; i < x->n; i++) {
        litem *it = &x->it[i];
        it->v = json_array_get(arr, i);
        if (item_pe(r, it->v, &it->e, &msg) < 0)
            it->bad = 1, it->e = (pe){PE_INDEX, NULL, NULL, (long long)i};
        x->ord[i] = i;
    }
    kc_buf_release(&msg);
    qsort_r(x->ord, x->n, sizeof *x->ord, ord_cmp, x->it);
    for (size_t a = 0, b; a < x->n; a = b) {
        for (b = a + 1; b < x->n && pe_cmp(&x->it[x->ord[a]].e, &x->it[x->ord[b]].e) == 0; b++) {
        }
        for (size_t k = a; k < b; k++)
            x->it[x->ord[k]].count = b - a, x->it[x->ord[k]].first = x->ord[a];
    }
}

static void lindex_free(lindex *x)
{
    for (size_t i = 0; i < x->n; i++)
        pe_release(&x->it[i].e);
    free(x->it), free(x->ord);
}

/* Position of the first item with element e, or -1. */
static long lindex_find(const lindex *x, const pe *e)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pe_cmp(&x->it[x->ord[mid]].e, e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->n && pe_cmp(&x->it[x->ord[lo]].e, e) == 0 ? (long)x->it[x->ord[lo]].first : -1;
}

/* ---- walks over typed values ---------------------------------------------------------------- */

/* The current path of a walk; elements are borrowed from the walked values. */
typedef struct walk {
    pe *p;
    size_t n, cap;
} walk;

static void wpush(walk *w, const pe *e)
{
    if (w->n == w->cap) w->cap = w->cap ? 2 * w->cap : 16, w->p = xrealloc(w->p, w->cap * sizeof *w->p);
    w->p[w->n++] = *e;
}

/* ToFieldSet: scalars and atomic values are members, list items are members (and their
 * fields), map entries are members, struct fields only when null or {} (PR #184). */
typedef struct tsctx {
    walk w;
    snode *set;
} tsctx;

static void to_set(tsctx *c, const tref *r, json_t *v);

static void to_set_map(tsctx *c, const tref *r, json_t *v)
{
    const char *k;
    json_t *x;
    if (!json_is_object(v)) return;
    json_object_foreach(v, k, x)
    {
        tref cr = tref_child(r, k);
        pe e = pe_field(k);
        wpush(&c->w, &e);
        to_set(c, &cr, x);
        if (json_is_null(x) || (json_is_object(x) && !json_object_size(x)) || !declared(r, k))
            sn_insert(c->set, c->w.p, c->w.n);
        c->w.n--;
    }
}

static void to_set_list(tsctx *c, const tref *r, json_t *v)
{
    lindex x;
    tref et = tref_elem(r);
    lindex_build(&x, r, v);
    for (size_t i = 0; i < x.n; i++) {
        litem *it = &x.it[i];
        if (it->first != i) continue;
        wpush(&c->w, &it->e);
        if (it->count == 1) to_set(c, &et, it->v); /* duplicates are owned as a whole */
        sn_insert(c->set, c->w.p, c->w.n);
        c->w.n--;
    }
    lindex_free(&x);
}

static void to_set(tsctx *c, const tref *r, json_t *v)
{
    int empty, k = shape(r, v, &empty);
    if (k == K_MAP)
        to_set_map(c, r, v);
    else if (k == K_LIST)
        to_set_list(c, r, v);
    else
        sn_insert(c->set, c->w.p, c->w.n);
}

/* TypedValue.ToFieldSet into the empty set out. */
static void fieldset_of(snode *out, const tref *r, json_t *v)
{
    tsctx c = {{0}, out};
    to_set(&c, r, v);
    free(c.w.p);
}

/* TypedValue.Merge (ruleKeepRHS): the applied value wins at leaves; maps merge key by key, lists
 * by element. Returns a new reference (the result shares unchanged subtrees with the inputs). */
static json_t *merge(const tref *r, json_t *l, json_t *rv);

static json_t *merge_map(const tref *r, json_t *l, json_t *rv)
{
    json_t *out = json_object(), *x;
    const char *k;
    if (json_is_object(l)) json_object_foreach(l, k, x)
        {
            tref cr = tref_child(r, k);
            json_t *m = merge(&cr, x, json_is_object(rv) ? json_object_get(rv, k) : NULL);
            if (m) json_object_set_new(out, k, m);
        }
    if (json_is_object(rv)) json_object_foreach(rv, k, x)
        {
            if (!json_is_object(l) || !json_object_get(l, k)) json_object_set(out, k, x);
        }
    return out;
}

/* The state of visitListItems: live items in order, then applied items, following the
 * applied order for the items both sides have (sharedOrder). */
typedef struct lmerge {
    lindex L, R;
    size_t *shared, ns, si; /* applied positions of shared elements, in applied order */
    char *done;             /* per applied position: merged already */
    json_t *out;
    tref et;
} lmerge;

static const pe *next_shared(const lmerge *m)
{
    return m->si < m->ns ? &m->R.it[m->shared[m->si]].e : NULL;
}

/* Merges applied item ri with its live counterpart (none when the live side has duplicates). */
static void lm_take_r(lmerge *m, size_t ri)
{
    long li = lindex_find(&m->L, &m->R.it[ri].e);
    json_t *l = li >= 0 && m->L.it[li].count == 1 ? m->L.it[li].v : NULL;
    json_t *v = merge(&m->et, l, m->R.it[ri].v);
    m->done[m->R.it[ri].first] = 1;
    if (v) json_array_append_new(m->out, v);
}

/* One step of the upstream loop; returns how far the live and applied cursors move. */
static void lm_step(lmerge *m, size_t *li, size_t *ri)
{
    const pe *ns = next_shared(m);
    if (*li < m->L.n && *ri < m->R.n) {
        const litem *l = &m->L.it[*li];
        if (pe_cmp(&l->e, &m->R.it[*ri].e) == 0) {
            lm_take_r(m, (*ri)++), (*li)++, m->si++;
            return;
        }
        if (lindex_find(&m->R, &l->e) >= 0 && ns && pe_cmp(ns, &l->e) != 0) {
            (*li)++; /* shared, but not the one wanted in this round */
            return;
        }
    }
    if (*li < m->L.n) {
        const litem *l = &m->L.it[*li];
        long rp = lindex_find(&m->R, &l->e);
        if (rp < 0) json_array_append(m->out, l->v);
        if (rp < 0 || m->done[rp]) {
            (*li)++;
            return;
        }
    }
    if (*ri < m->R.n) {
        int adv = ns && pe_cmp(ns, &m->R.it[*ri].e) == 0;
        lm_take_r(m, (*ri)++);
        m->si += adv;
        return;
    }
    (*li)++; /* unreachable with valid input; guarantees progress */
}

static json_t *merge_list(const tref *r, json_t *l, json_t *rv)
{
    lmerge m = {.et = tref_elem(r), .out = json_array()};
    size_t li = 0, ri = 0;
    lindex_build(&m.L, r, l);
    lindex_build(&m.R, r, rv);
    m.shared = xcalloc(m.R.n, sizeof *m.shared);
    m.done = xcalloc(m.R.n, 1);
    for (size_t i = 0; i < m.R.n; i++)
        if (m.R.it[i].first == i && lindex_find(&m.L, &m.R.it[i].e) >= 0) m.shared[m.ns++] = i;
    while (li < m.L.n || ri < m.R.n)
        lm_step(&m, &li, &ri);
    lindex_free(&m.L), lindex_free(&m.R);
    free(m.shared), free(m.done);
    return m.out;
}

static json_t *merge(const tref *r, json_t *l, json_t *rv)
{
    if (!l || !rv) return json_incref(rv ? rv : l);
    switch (shape2(r, l, rv)) {
    case K_MAP:
        return merge_map(r, l, rv);
    case K_LIST:
        return merge_list(r, l, rv);
    default:
        return json_incref(rv);
    }
}

/* TypedValue.Compare: leaves that were added, removed or modified, plus the paths of maps and
 * lists that appeared or disappeared as a whole. */
typedef struct cmpr {
    snode add, rem, mod;
} cmpr;

typedef struct cctx {
    walk w;
    cmpr *c;
} cctx;

static void cmpr_release(cmpr *c)
{
    sn_release(&c->add), sn_release(&c->rem), sn_release(&c->mod);
}

static void compare(cctx *c, const tref *r, json_t *l, json_t *rv);

static void compare_map(cctx *c, const tref *r, json_t *l, json_t *rv)
{
    const char *k;
    json_t *x;
    if (json_is_object(l)) json_object_foreach(l, k, x)
        {
            tref cr = tref_child(r, k);
            pe e = pe_field(k);
            wpush(&c->w, &e);
            compare(c, &cr, x, json_is_object(rv) ? json_object_get(rv, k) : NULL);
            c->w.n--;
        }
    if (json_is_object(rv)) json_object_foreach(rv, k, x)
        {
            if (json_is_object(l) && json_object_get(l, k)) continue;
            tref cr = tref_child(r, k);
            pe e = pe_field(k);
            wpush(&c->w, &e);
            compare(c, &cr, NULL, x);
            c->w.n--;
        }
}

/* Whether the items with element e are the same on both sides, in order. */
static int dups_equal(const lindex *L, long li, const lindex *R, long ri)
{
    size_t i = (size_t)li, j = (size_t)ri;
    if (L->it[i].count != R->it[j].count) return 0;
    for (; i < L->n && j < R->n; i++, j++) {
        while (i < L->n && pe_cmp(&L->it[i].e, &L->it[li].e))
            i++;
        while (j < R->n && pe_cmp(&R->it[j].e, &R->it[ri].e))
            j++;
        if (i < L->n && j < R->n && !veq(L->it[i].v, R->it[j].v)) return 0;
    }
    return 1;
}

static void compare_item(cctx *c, const tref *et, const lindex *L, long li, const lindex *R, long ri)
{
    size_t cl = li >= 0 ? L->it[li].count : 0, cr = ri >= 0 ? R->it[ri].count : 0;
    snode *into = NULL;
    wpush(&c->w, li >= 0 ? &L->it[li].e : &R->it[ri].e);
    if (cl <= 1 && cr <= 1)
        compare(c, et, cl ? L->it[li].v : NULL, cr ? R->it[ri].v : NULL);
    else if (cl >= 2 && cr >= 2)
        into = dups_equal(L, li, R, ri) ? NULL : &c->c->mod;
    else
        into = !cl ? &c->c->add : !cr ? &c->c->rem : &c->c->mod;
    if (into) sn_insert(into, c->w.p, c->w.n);
    c->w.n--;
}

static void compare_list(cctx *c, const tref *r, json_t *l, json_t *rv)
{
    lindex L, R;
    tref et = tref_elem(r);
    lindex_build(&L, r, l);
    lindex_build(&R, r, rv);
    for (size_t i = 0; i < L.n; i++)
        if (L.it[i].first == i) compare_item(c, &et, &L, (long)i, &R, lindex_find(&R, &L.it[i].e));
    for (size_t i = 0; i < R.n; i++)
        if (R.it[i].first == i && lindex_find(&L, &R.it[i].e) < 0) compare_item(c, &et, &L, -1, &R, (long)i);
    lindex_free(&L), lindex_free(&R);
}

static void compare(cctx *c, const tref *r, json_t *l, json_t *rv)
{
    int k = shape2(r, l, rv);
    snode *into = NULL;
    if (k == K_LEAF) {
        into = !l ? &c->c->add : !rv ? &c->c->rem : !veq(l, rv) ? &c->c->mod : NULL;
    } else {
        if (k == K_MAP)
            compare_map(c, r, l, rv);
        else
            compare_list(c, r, l, rv);
        into = !l ? &c->c->add : !rv ? &c->c->rem : NULL;
    }
    if (into) sn_insert(into, c->w.p, c->w.n);
}

static void compare_values(cmpr *out, const tref *r, json_t *l, json_t *rv)
{
    cctx c = {{0}, out};
    compare(&c, r, l, rv);
    free(c.w.p);
}

/* TypedValue.RemoveItems: drops the members of rm (and, inside atomic values, everything
 * visited). A map or list left empty becomes NULL, which the caller stores as null (upstream's
 * nil), and a Go round trip later drops. */
static json_t *remove_items(const tref *r, json_t *v, const snode *rm);

static json_t *remove_map(const tref *r, json_t *v, const snode *rm)
{
    json_t *out = json_object(), *x;
    const char *k;
    json_object_foreach(v, k, x)
    {
        pe e = pe_field(k);
        const snode *kid = sn_get(rm, &e);
        if (kid && kid->member) continue;
        if (kid && kid->n) {
            tref cr = tref_child(r, k);
            json_t *nx = remove_items(&cr, x, kid);
            json_object_set_new(out, k, nx ? nx : json_null());
        } else {
            json_object_set(out, k, x);
        }
    }
    if (json_object_size(out)) return out;
    json_decref(out);
    return NULL;
}

static json_t *remove_list(const tref *r, json_t *v, const snode *rm)
{
    lindex x;
    tref et = tref_elem(r);
    json_t *out = json_array();
    lindex_build(&x, r, v);
    for (size_t i = 0; i < x.n; i++) {
        const snode *kid = sn_get(rm, &x.it[i].e);
        json_t *nx;
        if (kid && kid->member) continue;
        if (kid && kid->n)
            nx = remove_items(&et, x.it[i].v, kid);
        else
            nx = json_incref(x.it[i].v);
        json_array_append_new(out, nx ? nx : json_null());
    }
    lindex_free(&x);
    if (json_array_size(out)) return out;
    json_decref(out);
    return NULL;
}

static json_t *remove_items(const tref *r, json_t *v, const snode *rm)
{
    switch (r->kind) {
    case TK_STRUCT:
    case TK_MAP:
        return r->atomic || !json_is_object(v) || !json_object_size(v) ? NULL : remove_map(r, v, rm);
    case TK_LIST:
        return r->atomic || !json_is_array(v) || !json_array_size(v) ? NULL : remove_list(r, v, rm);
    case TK_ANY:
        if (json_is_object(v)) return json_object_size(v) ? remove_map(r, v, rm) : NULL;
        return json_is_array(v) || json_is_null(v) ? NULL : json_incref(v);
    default:
        return json_incref(v);
    }
}

/* RemoveItems on a whole object: never NULL. */
static json_t *remove_root(const tref *r, json_t *v, const snode *rm)
{
    json_t *out = rm->n ? remove_items(r, v, rm) : json_incref(v);
    return out ? out : json_object();
}

/* The type of the kid e of a node of type r, as EnsureNamedFieldsAreMembers resolves it. */
static tref tref_of_pe(const tref *r, const pe *e)
{
    tref none = {TK_NONE, 0, 0, NULL, NULL}, any = {TK_ANY, 0, 0, NULL, NULL};
    if (e->kind == PE_FIELD) {
        const kc_field *f = declared(r, e->name);
        if (f) return tref_field(f);
        return r->kind == TK_MAP ? tref_elem(r) : r->kind == TK_ANY ? any : none;
    }
    return e->kind == PE_KEY && r->kind == TK_LIST ? tref_elem(r) : none;
}

/* Set.EnsureNamedFieldsAreMembers: struct fields with owned descendants become members too. */
static void sn_enfm(snode *out, const snode *s, const tref *r)
{
    for (size_t i = 0; i < s->n; i++) {
        const snode *kid = &s->kids[i];
        snode *k = sn_push(out, &kid->e);
        tref cr = tref_of_pe(r, &kid->e);
        k->member = kid->member || (kid->n && kid->e.kind == PE_FIELD && declared(r, kid->e.name));
        sn_enfm(k, kid, &cr);
    }
}

/* ---- the Go round trip ---------------------------------------------------------------------- */

/* What a Go struct field marshals to when it holds its zero value (NULL: omitted). */
static json_t *go_norm(const tref *r, json_t *v);

static json_t *go_zero_value(const kc_field *f)
{
    int omit = f->flags & KC_FF_OMITEMPTY;
    tref r;
    if (f->flags & KC_FF_NULLABLE) return omit ? NULL : json_null();
    switch (kc_field_kind(f)) {
    case KC_FK_REF:
        r = tref_field(f);
        return r.t ? go_norm(&r, NULL) : NULL; /* structs are never omitted */
    case KC_FK_DATETIME:
        return json_null();
    case KC_FK_QUANTITY:
        return json_string("0");
    case KC_FK_INTORSTRING:
        return json_integer(0);
    case KC_FK_DURATION:
        return json_string("0s");
    case KC_FK_STRING:
        return omit ? NULL : json_string("");
    case KC_FK_INTEGER:
    case KC_FK_NUMBER:
        return omit ? NULL : json_integer(0);
    case KC_FK_BOOLEAN:
        return omit ? NULL : json_false();
    default:
        return omit ? NULL : json_null(); /* slices, maps, []byte, raw JSON */
    }
}

/* Whether omitempty drops v (Go's isZero for the field's kind; pointers are never zero here). */
static int go_omitted(const kc_field *f, json_t *v)
{
    if (!(f->flags & KC_FF_OMITEMPTY) || (f->flags & KC_FF_NULLABLE)) return 0;
    switch (kc_field_kind(f)) {
    case KC_FK_STRING:
    case KC_FK_BYTE:
        return json_is_string(v) && !json_string_length(v);
    case KC_FK_INTEGER:
    case KC_FK_NUMBER:
        return is_num(v) && num(v) == 0;
    case KC_FK_BOOLEAN:
        return json_is_false(v);
    case KC_FK_ARRAY:
        return json_is_array(v) && !json_array_size(v);
    case KC_FK_MAP:
        return json_is_object(v) && !json_object_size(v);
    default:
        return 0;
    }
}

static json_t *norm_struct(const tref *r, json_t *v)
{
    json_t *out = json_object();
    for (size_t i = 0; i < kc_type_nfields(r->t); i++) {
        const kc_field *f = kc_type_field_at(r->t, i);
        json_t *x = json_is_object(v) ? json_object_get(v, f->name) : NULL, *z;
        if (x && !json_is_null(x)) {
            tref fr = tref_field(f);
            if (!go_omitted(f, x)) json_object_set_new(out, f->name, go_norm(&fr, x));
        } else if ((z = go_zero_value(f))) {
            json_object_set_new(out, f->name, z);
        }
    }
    return out;
}

/* v as the apiserver sees it after decoding into the Go type and converting back to
 * unstructured (runtime.DefaultUnstructuredConverter). New reference. */
static json_t *go_norm(const tref *r, json_t *v)
{
    json_t *out, *x;
    const char *k;
    size_t i;
    tref et = tref_elem(r);
    switch (r->kind) {
    case TK_STRUCT:
        return !v || json_is_object(v) ? norm_struct(r, v) : json_incref(v);
    case TK_MAP:
        if (!json_is_object(v)) return json_incref(v);
        out = json_object();
        json_object_foreach(v, k, x) json_object_set_new(out, k, go_norm(&et, x));
        return out;
    case TK_LIST:
        if (!json_is_array(v)) return json_incref(v);
        out = json_array();
        json_array_foreach(v, i, x) json_array_append_new(out, go_norm(&et, x));
        return out;
    default:
        return json_incref(v);
    }
}

/* ---- managers (fieldpath.ManagedFields + metav1.ManagedFieldsEntry) ----------------------- */

/* A manager identity (BuildManagerIdentifier): name, operation, subresource, and for Update
 * entries the apiVersion. `cur` is upstream's raw "current-operation" key. */
typedef struct mid {
    const char *name, *ver, *sub;
    int apply, cur;
} mid;

typedef struct mgr {
    char *name, *ver, *sub, *time; /* ver: the set's apiVersion; time may be NULL */
    int apply, cur;
    snode set;
} mgr;

typedef struct mgrs {
    mgr *v;
    size_t n, cap;
} mgrs;

static int mgr_is(const mgr *m, const mid *id)
{
    if (m->cur || id->cur) return m->cur && id->cur;
    return m->apply == id->apply && !strcmp(m->name, id->name) && !strcmp(m->sub, id->sub) &&
           (id->apply || !strcmp(m->ver, id->ver));
}

static mid mgr_id(const mgr *m)
{
    mid id = {m->name, m->ver, m->sub, m->apply, m->cur};
    return id;
}

static mgr *mgrs_find(mgrs *ms, const mid *id)
{
    for (size_t i = 0; i < ms->n; i++)
        if (mgr_is(&ms->v[i], id)) return &ms->v[i];
    return NULL;
}

static void mgr_release(mgr *m)
{
    free(m->name), free(m->ver), free(m->sub), free(m->time);
    sn_release(&m->set);
}

/* The manager with identity id, created empty (set apiVersion id->ver) when missing. */
static mgr *mgrs_put(mgrs *ms, const mid *id)
{
    mgr *m = mgrs_find(ms, id);
    if (m) return m;
    if (ms->n == ms->cap)
        ms->cap = ms->cap ? 2 * ms->cap : 8, ms->v = xrealloc(ms->v, ms->cap * sizeof *ms->v);
    m = &ms->v[ms->n++];
    memset(m, 0, sizeof *m);
    m->name = xstrdup(id->cur ? "current-operation" : id->name);
    m->ver = xstrdup(id->ver ? id->ver : "");
    m->sub = xstrdup(id->sub ? id->sub : "");
    m->apply = id->apply, m->cur = id->cur;
    return m;
}

static void mgrs_del(mgrs *ms, mgr *m)
{
    size_t i = (size_t)(m - ms->v);
    mgr_release(m);
    memmove(ms->v + i, ms->v + i + 1, (ms->n - i - 1) * sizeof *ms->v);
    ms->n--;
}

static void mgrs_release(mgrs *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        mgr_release(&ms->v[i]);
    free(ms->v);
    memset(ms, 0, sizeof *ms);
}

static void mgrs_copy(mgrs *dst, const mgrs *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++) {
        mid id = mgr_id(&src->v[i]);
        mgr *m = mgrs_put(dst, &id);
        m->time = src->v[i].time ? xstrdup(src->v[i].time) : NULL;
        sn_copy(&m->set, &src->v[i].set);
    }
}

static void mgr_set_time(mgr *m, const char *now)
{
    free(m->time);
    m->time = now ? xstrdup(now) : NULL;
}

/* The identifier JSON (Go field order, omitempty), which upstream sorts conflicts by. */
static void mgr_ident(kc_buf *b, const mgr *m)
{
    kc_buf_adds(b, "{\"manager\":"), gj_str(b, m->name, strlen(m->name));
    kc_buf_adds(b, m->apply ? ",\"operation\":\"Apply\"" : ",\"operation\":\"Update\"");
    if (!m->apply && *m->ver) kc_buf_adds(b, ",\"apiVersion\":"), gj_str(b, m->ver, strlen(m->ver));
    if (*m->sub) kc_buf_adds(b, ",\"subresource\":"), gj_str(b, m->sub, strlen(m->sub));
    kc_buf_add(b, "}", 1);
}

/* printManager: "name" [with subresource "s"] [using apiVersion] (Update entries). */
static void mgr_print(kc_buf *b, const mgr *m)
{
    go_quote(b, m->name);
    if (*m->sub) kc_buf_adds(b, " with subresource "), go_quote(b, m->sub);
    if (!m->apply) kc_buf_adds(b, " using "), kc_buf_adds(b, m->ver);
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* One managedFields entry (DecodeManagedFields' checks and decodeVersionedSet). */
static int mgr_decode(mgrs *ms, json_t *e, size_t i, kc_buf *msg)
{
    const char *op = jstr(e, "operation"), *ft = jstr(e, "fieldsType");
    json_t *fv = json_object_get(e, "fieldsV1"), *tm = json_object_get(e, "time");
    snode set = {0};
    if (!json_is_object(e)) return kc_buf_addf(msg, "managed fields entry %zu is not an object", i), -1;
    if (strcmp(op, "Apply") && strcmp(op, "Update"))
        return kc_buf_adds(msg, "operation must be `Apply` or `Update`"), -1;
    if (!*jstr(e, "apiVersion")) return kc_buf_adds(msg, "apiVersion must not be empty"), -1;
    if (!*ft) return kc_buf_addf(msg, "missing fieldsType in managed fields entry %zu", i), -1;
    if (strcmp(ft, "FieldsV1"))
        return kc_buf_adds(msg, "invalid fieldsType "), go_quote(msg, ft),
               kc_buf_addf(msg, " in managed fields entry %zu", i), -1;
    if (fv && !json_is_null(fv) && fields_decode(fv, &set, msg) < 0) {
        sn_release(&set);
        return -1;
    }
    mid id = {*jstr(e, "manager") ? jstr(e, "manager") : "", jstr(e, "apiVersion"), jstr(e, "subresource"),
              !strcmp(op, "Apply"), 0};
    mgr *m = mgrs_put(ms, &id);
    sn_release(&m->set);
    m->set = set;
    free(m->ver), m->ver = xstrdup(id.ver);
    mgr_set_time(m, json_is_string(tm) ? json_string_value(tm) : NULL);
    return 0;
}

/* DecodeManagedFields: 0, or -1 with msg. A missing or non-list value is empty. */
static int mgrs_decode(mgrs *ms, json_t *mf, kc_buf *msg)
{
    size_t i;
    json_t *e;
    if (!json_is_array(mf)) return 0;
    json_array_foreach(mf, i, e) if (mgr_decode(ms, e, i, msg) < 0) return -1;
    return 0;
}

static int mgr_order(const void *a, const void *b)
{
    const mgr *p = a, *q = b;
    long long tp = rfc3339_secs(p->time), tq = rfc3339_secs(q->time);
    int c;
    if (p->apply != q->apply) return p->apply ? -1 : 1; /* "Apply" < "Update" */
    if (tp != tq) return tp < tq ? -1 : 1;
    if ((c = strcmp(p->name, q->name)) || (c = strcmp(p->ver, q->ver))) return c;
    return strcmp(p->sub, q->sub);
}

static json_t *mgr_encode(const mgr *m)
{
    json_t *e = json_object();
    json_object_set_new(e, "manager", json_string(m->name));
    json_object_set_new(e, "operation", json_string(m->apply ? "Apply" : "Update"));
    json_object_set_new(e, "apiVersion", json_string(m->ver));
    if (m->time) json_object_set_new(e, "time", json_string(m->time));
    json_object_set_new(e, "fieldsType", json_string("FieldsV1"));
    json_object_set_new(e, "fieldsV1", fields_encode(&m->set, 0));
    if (*m->sub) json_object_set_new(e, "subresource", json_string(m->sub));
    return e;
}

/* encodeManagedFields + sortEncodedManagedFields; NULL when there are no managers. */
static json_t *mgrs_encode(mgrs *ms)
{
    json_t *out;
    if (!ms->n) return NULL;
    qsort(ms->v, ms->n, sizeof *ms->v, mgr_order);
    out = json_array();
    for (size_t i = 0; i < ms->n; i++)
        if (!ms->v[i].cur) json_array_append_new(out, mgr_encode(&ms->v[i]));
    return out;
}

/* ---- one field-manager operation ------------------------------------------------------------ */

typedef struct ssa {
    tref root;
    const kc_kind *kind; /* NULL when t is no registered kind */
    char *gv;            /* apiVersion of new entries */
    const char *sub;     /* "" for the main resource */
    const char *now;
    snode ignored; /* reset fields: status on the main resource, spec on /status */
    snode strip;   /* stripMetaManager's set */
    mgrs m;
} ssa;

static void path_set(snode *s, const char *a, const char *b)
{
    pe p[2] = {pe_field(a), pe_field(b)};
    sn_insert(s, p, b ? 2 : 1);
}

static const kc_kind *kind_of(const kc_type *t)
{
    const kc_kind *k, *best = NULL;
    for (size_t i = 0; t && (k = kc_schema_kind_at(i)); i++)
        if (kc_kind_type(k) == t && (!best || (!best->resource && k->resource))) best = k;
    return best;
}

static char *kind_gv(const kc_kind *k)
{
    kc_buf b = KC_BUF_INIT;
    if (*k->group) kc_buf_addf(&b, "%s/", k->group);
    kc_buf_adds(&b, k->version);
    return kc_buf_take(&b);
}

/* Whether status is a subresource of the kind (reset fields only exist for those). */
static int has_status_sub(const ssa *s)
{
    const char *all = s->kind ? s->kind->subresources : NULL, *p = all;
    if (!all) return 1;
    for (; (p = strstr(p, "status")); p += 6)
        if ((p == all || p[-1] == ',') && (p[6] == 0 || p[6] == ',')) return 1;
    return 0;
}

static void ssa_init(ssa *s, const kc_type *t, json_t *obj, const char *sub, const char *now)
{
    static const char *const meta[] = {"name",       "namespace",     "creationTimestamp",
                                       "selfLink",   "uid",           "clusterName",
                                       "generation", "managedFields", "resourceVersion"};
    const char *av = json_is_object(obj) ? jstr(obj, "apiVersion") : "";
    memset(s, 0, sizeof *s);
    s->root = tref_type(t);
    s->kind = kind_of(t);
    s->gv = s->kind ? kind_gv(s->kind) : xstrdup(*av ? av : "v1");
    s->sub = sub ? sub : "";
    s->now = now;
    if (!strcmp(s->sub, "status"))
        path_set(&s->ignored, "spec", NULL);
    else if (!*s->sub && (!s->kind || has_status_sub(s)))
        path_set(&s->ignored, "status", NULL);
    path_set(&s->strip, "apiVersion", NULL), path_set(&s->strip, "kind", NULL),
        path_set(&s->strip, "metadata", NULL);
    for (size_t i = 0; i < sizeof meta / sizeof *meta; i++)
        path_set(&s->strip, "metadata", meta[i]);
}

static void ssa_release(ssa *s)
{
    free(s->gv);
    sn_release(&s->ignored), sn_release(&s->strip);
    mgrs_release(&s->m);
}

/* The comparable form of an object: Go round trip, without metadata.managedFields. */
static json_t *norm_obj(const ssa *s, json_t *obj)
{
    json_t *empty = json_object(), *n = go_norm(&s->root, obj ? obj : empty), *c, *meta;
    c = json_is_object(n) ? json_copy(n) : json_object();
    meta = json_object_get(c, "metadata");
    if (json_is_object(meta)) {
        meta = json_copy(meta);
        json_object_del(meta, "managedFields");
        json_object_set_new(c, "metadata", meta);
    }
    json_decref(n), json_decref(empty);
    return c;
}

/* Conflicts of one apply: per manager, the fields it owns that the apply changes. */
typedef struct conflict {
    mgr who; /* identity copy; who.set holds the conflicting fields */
} conflict;

typedef struct conflicts {
    conflict *v;
    size_t n;
} conflicts;

static void conflicts_release(conflicts *cf)
{
    for (size_t i = 0; i < cf->n; i++)
        mgr_release(&cf->v[i].who);
    free(cf->v);
    memset(cf, 0, sizeof *cf);
}

static void conflicts_add(conflicts *cf, const mgr *m, snode *set)
{
    conflict *c;
    cf->v = xrealloc(cf->v, (cf->n + 1) * sizeof *cf->v);
    c = &cf->v[cf->n++];
    memset(c, 0, sizeof *c);
    c->who.name = xstrdup(m->name), c->who.ver = xstrdup(m->ver), c->who.sub = xstrdup(m->sub);
    c->who.apply = m->apply;
    c->who.set = *set;
}

/* Updater.update: compares old and new; fields other managers own that changed are conflicts
 * (without force) or taken from them (with force); removed fields leave every other manager;
 * managers left empty are dropped. *cmp_out (may be NULL) gets the comparison minus the reset
 * fields. Returns -1 with cf filled when there are conflicts and !force. */
static int upd_update(ssa *s, json_t *oldv, json_t *newv, const mid *self, int force, cmpr *cmp_out,
                      conflicts *cf)
{
    cmpr raw = {0}, c = {0};
    snode changed = {0};
    compare_values(&raw, &s->root, oldv, newv);
    sn_rdiff(&c.add, &raw.add, &s->ignored), sn_rdiff(&c.rem, &raw.rem, &s->ignored);
    sn_rdiff(&c.mod, &raw.mod, &s->ignored);
    cmpr_release(&raw);
    sn_union(&changed, &c.mod, &c.add);
    for (size_t i = 0; i < s->m.n; i++) {
        snode conf = {0};
        if (mgr_is(&s->m.v[i], self)) continue;
        sn_inter(&conf, &s->m.v[i].set, &changed);
        if (conf.n)
            conflicts_add(cf, &s->m.v[i], &conf);
        else
            sn_release(&conf);
    }
    sn_release(&changed);
    if (!force && cf->n) return cmpr_release(&c), -1;
    for (size_t i = 0; i < s->m.n; i++) {
        mgr *m = &s->m.v[i];
        if (mgr_is(m, self)) continue;
        for (size_t j = 0; j < cf->n; j++)
            if (mgr_is(m,
                       &(mid){cf->v[j].who.name, cf->v[j].who.ver, cf->v[j].who.sub, cf->v[j].who.apply, 0}))
                sn_apply(&m->set, &cf->v[j].who.set, sn_diff);
        sn_apply(&m->set, &c.rem, sn_diff);
    }
    for (size_t i = s->m.n; i-- > 0;)
        if (!s->m.v[i].set.n) mgrs_del(&s->m, &s->m.v[i]);
    if (cmp_out)
        *cmp_out = c;
    else
        cmpr_release(&c);
    return 0;
}

/* stripMetaManager: apiVersion, kind, metadata.name/uid/... are never owned. */
static void strip_meta(ssa *s, const mid *id)
{
    mgr *m = mgrs_find(&s->m, id);
    if (!m) return;
    sn_apply(&m->set, &s->strip, sn_diff);
    if (!m->set.n) mgrs_del(&s->m, m);
}

/* An Update entry as capManagersManager sorts them: oldest first, then by identifier. */
typedef struct upd_ref {
    char *name, *ver, *sub, *ident;
    long long t;
} upd_ref;

static int upd_order(const void *a, const void *b)
{
    const upd_ref *p = a, *q = b;
    if (p->t != q->t) return p->t < q->t ? -1 : 1;
    return strcmp(p->ident, q->ident);
}

static mid upd_id(const upd_ref *u)
{
    mid id = {u->name, u->ver, u->sub, 0, 0};
    return id;
}

/* Merges Update entry u into the "ancient-changes" bucket of its version; first is the oldest
 * entry of that version, which becomes the bucket if there is none yet. Returns 1 if merged. */
static int cap_merge(ssa *s, const upd_ref *first, const upd_ref *u)
{
    mid bid = {"ancient-changes", u->ver, "", 0, 0}, uid = upd_id(u), fid = upd_id(first);
    mgr *b = mgrs_find(&s->m, &bid), *m;
    if (!b && (b = mgrs_find(&s->m, &fid)))
        free(b->name), free(b->sub), b->name = xstrdup(bid.name), b->sub = xstrdup("");
    m = mgrs_find(&s->m, &uid);
    if (!b || !m || m == b) return 0; /* upstream would delete the bucket itself here */
    sn_apply(&b->set, &m->set, sn_union);
    free(b->time), b->time = m->time, m->time = NULL;
    mgrs_del(&s->m, m);
    return 1;
}

/* capManagersManager: at most 10 Update entries; the oldest merge into "ancient-changes". */
static void cap_managers(ssa *s)
{
    upd_ref *u = xcalloc(s->m.n + 1, sizeof *u);
    size_t n = 0, len, *first = xcalloc(s->m.n + 1, sizeof *first), nf = 0;
    for (size_t i = 0; i < s->m.n; i++) {
        const mgr *m = &s->m.v[i];
        kc_buf id = KC_BUF_INIT;
        if (m->apply || m->cur) continue;
        mgr_ident(&id, m);
        u[n++] = (upd_ref){xstrdup(m->name), xstrdup(m->ver), xstrdup(m->sub), kc_buf_take(&id),
                           rfc3339_secs(m->time)};
    }
    qsort(u, n, sizeof *u, upd_order);
    len = n;
    for (size_t i = 0, f; i < n && len > MAX_UPDATE_MANAGERS; i++) {
        for (f = 0; f < nf && strcmp(u[first[f]].ver, u[i].ver); f++) {
        }
        if (f == nf)
            first[nf++] = i;
        else
            len -= (size_t)cap_merge(s, &u[first[f]], &u[i]);
    }
    for (size_t i = 0; i < n; i++)
        free(u[i].name), free(u[i].ver), free(u[i].sub), free(u[i].ident);
    free(u), free(first);
}

/* managedFieldsUpdater.Update around Updater.Update: the write's own changes are computed as
 * "current-operation", stripped, and merged into the manager's entry with a new time. */
static void update_core(ssa *s, json_t *old_n, json_t *new_n, const mid *me)
{
    mid cur = {NULL, s->gv, s->sub, 0, 1};
    cmpr c = {0};
    conflicts cf = {0};
    snode tmp = {0}, set = {0};
    upd_update(s, old_n, new_n, &cur, 1, &c, &cf);
    conflicts_release(&cf);
    sn_union(&tmp, &c.mod, &c.add);
    sn_diff(&set, &tmp, &c.rem);
    sn_apply(&set, &s->strip, sn_diff);
    if (set.n) {
        mgr *m = mgrs_put(&s->m, me);
        sn_apply(&m->set, &set, sn_union);
        free(m->ver), m->ver = xstrdup(s->gv);
        mgr_set_time(m, s->now);
    }
    sn_release(&tmp), sn_release(&set), cmpr_release(&c);
    cap_managers(s);
}

/* Updater.prune (with addBackOwnedItems and addBackDanglingItems): what to remove from merged
 * because the applier owned it last time, no longer applies it, and nobody else owns it. */
static void prune_set(ssa *s, json_t *merged, const snode *last, snode *rm)
{
    snode lastE = {0}, mS = {0}, mE = {0}, pS = {0}, pE = {0}, own = {0}, ownE = {0}, keep = {0}, s2 = {0},
          gone = {0};
    json_t *p1, *p2;
    if (!last->n) return;
    sn_enfm(&lastE, last, &s->root);
    p1 = remove_root(&s->root, merged, &lastE);
    fieldset_of(&mS, &s->root, merged), sn_enfm(&mE, &mS, &s->root);
    fieldset_of(&pS, &s->root, p1), sn_enfm(&pE, &pS, &s->root);
    for (size_t i = 0; i < s->m.n; i++)
        sn_apply(&own, &s->m.v[i].set, sn_union);
    sn_enfm(&ownE, &own, &s->root);
    sn_union(&keep, &pE, &ownE);
    sn_diff(&s2, &mE, &keep);
    p2 = remove_root(&s->root, merged, &s2);
    sn_release(&pS), sn_release(&pE);
    fieldset_of(&pS, &s->root, p2), sn_enfm(&pE, &pS, &s->root);
    sn_diff(&gone, &mE, &pE);
    sn_inter(rm, &gone, &lastE);
    json_decref(p1), json_decref(p2);
    sn_release(&lastE), sn_release(&mS), sn_release(&mE), sn_release(&pS), sn_release(&pE);
    sn_release(&own), sn_release(&ownE), sn_release(&keep), sn_release(&s2), sn_release(&gone);
}

/* Updater.Apply + stripMetaManager + managedFieldsUpdater.Apply. Returns the new comparable
 * object (rm: what was pruned from the merge), or NULL with conflicts. */
static json_t *apply_core(ssa *s, json_t *live_n, json_t *cfg, const mid *me, int force, snode *rm,
                          int *changed, conflicts *cf)
{
    json_t *merged = merge(&s->root, live_n, cfg), *pruned;
    mgr *m = mgrs_find(&s->m, me);
    snode last = {0}, raw = {0};
    if (m) sn_copy(&last, &m->set);
    m = mgrs_put(&s->m, me);
    sn_release(&m->set);
    fieldset_of(&raw, &s->root, cfg);
    sn_rdiff(&m->set, &raw, &s->ignored);
    free(m->ver), m->ver = xstrdup(s->gv);
    prune_set(s, merged, &last, rm);
    pruned = remove_root(&s->root, merged, rm);
    json_decref(merged), sn_release(&last), sn_release(&raw);
    if (upd_update(s, live_n, pruned, me, force, NULL, cf) < 0) return json_decref(pruned), NULL;
    *changed = !veq(live_n, pruned);
    strip_meta(s, me);
    if (*changed && (m = mgrs_find(&s->m, me))) mgr_set_time(m, s->now);
    return pruned;
}

/* ---- errors ----------------------------------------------------------------------------------- */

/* Set.Iterate order: members of a node first, then its kids' subtrees. */
static void sn_paths(const snode *s, kc_buf *path, json_t *out)
{
    size_t len = path->len;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->n; i++) {
            const snode *k = &s->kids[i];
            if (pass ? !k->n : !k->member) continue;
            pe_str(path, &k->e);
            if (pass)
                sn_paths(k, path, out);
            else
                json_array_append_new(out, json_stringn(path->data, path->len));
            path->len = len, path->data[len] = 0;
        }
}

static int conflict_order(const void *a, const void *b)
{
    kc_buf x = KC_BUF_INIT, y = KC_BUF_INIT;
    mgr_ident(&x, &((const conflict *)a)->who), mgr_ident(&y, &((const conflict *)b)->who);
    int c = strcmp(x.data, y.data);
    kc_buf_release(&x), kc_buf_release(&y);
    return c;
}

/* NewConflictError: 409 with one FieldManagerConflict cause per field. */
static void conflict_error(kc_err *err, conflicts *cf)
{
    kc_buf msg = KC_BUF_INIT, path = KC_BUF_INIT, who = KC_BUF_INIT, body = KC_BUF_INIT;
    size_t total = 0, i, j;
    json_t *paths = json_array(), *p;
    qsort(cf->v, cf->n, sizeof *cf->v, conflict_order);
    kc_buf_adds(&path, "");
    for (i = 0; i < cf->n; i++) {
        size_t from = json_array_size(paths);
        who.len = 0, mgr_print(&who, &cf->v[i].who);
        sn_paths(&cf->v[i].who.set, &path, paths);
        kc_buf_addf(&body, "%sconflicts with %s:", i ? "\n" : "", who.data);
        json_array_foreach(paths, j, p) if (j >= from)
        {
            kc_buf_addf(&body, "\n- %s", json_string_value(p));
            kc_err_cause(err, "FieldManagerConflict", json_string_value(p), "conflict with %s", who.data);
            total++;
            if (total == 1)
                kc_buf_addf(&msg, "Apply failed with 1 conflict: conflict with %s: %s", who.data,
                            json_string_value(p));
        }
    }
    if (total != 1)
        msg.len = 0,
        kc_buf_addf(&msg, "Apply failed with %zu conflicts: %s", total, body.data ? body.data : "");
    kc_errf(err, KC_ECONFLICT, "%s", msg.data);
    json_decref(paths);
    kc_buf_release(&msg), kc_buf_release(&path), kc_buf_release(&who), kc_buf_release(&body);
}

/* Typed conversion of an applied object: the list-key and unknown-field errors upstream's
 * validation reports (value types are api/schema's decode's business). */
typedef struct vctx {
    kc_buf path;
    json_t *errs;
} vctx;

static void verr(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verr(vctx *v, const char *fmt, ...)
{
    kc_buf b = KC_BUF_INIT;
    va_list ap;
    char *m;
    if (json_array_size(v->errs) >= MAX_TYPED_ERRORS) return;
    va_start(ap, fmt);
    if (vasprintf(&m, fmt, ap) < 0) m = NULL;
    va_end(ap);
    kc_buf_addf(&b, "%s: %s", v->path.data ? v->path.data : "", m ? m : "");
    json_array_append_new(v->errs, json_string(b.data));
    free(m), kc_buf_release(&b);
}

static void validate(vctx *v, const tref *r, json_t *x);

static void validate_map(vctx *v, const tref *r, json_t *x)
{
    const char *k;
    json_t *val;
    json_object_foreach(x, k, val)
    {
        size_t len = v->path.len;
        tref cr = tref_child(r, k);
        kc_buf_addf(&v->path, ".%s", k);
        if (r->kind == TK_STRUCT && !declared(r, k))
            verr(v, "field not declared in schema");
        else
            validate(v, &cr, val);
        v->path.len = len, v->path.data[len] = 0;
        if (r->kind == TK_STRUCT && !declared(r, k)) return; /* upstream stops at the first */
    }
}

static void validate_list(vctx *v, const tref *r, json_t *x)
{
    tref et = tref_elem(r);
    snode seen = {0};
    kc_buf msg = KC_BUF_INIT;
    for (size_t i = 0, len = v->path.len; i < json_array_size(x); i++) {
        json_t *item = json_array_get(x, i);
        pe e = {PE_INDEX, NULL, NULL, (long long)i};
        msg.len = 0;
        if (!r->atomic && item_pe(r, item, &e, &msg) < 0) {
            verr(v, "element %zu: %s", i, msg.data);
            break;
        }
        if (!r->atomic && sn_get(&seen, &e)) {
            kc_buf d = KC_BUF_INIT;
            pe_str(&d, &e), verr(v, "duplicate entries for key %s", d.data), kc_buf_release(&d);
        }
        pe_str(&v->path, &e);
        validate(v, &et, item);
        v->path.len = len, v->path.data[len] = 0;
        sn_take(&seen, e)->member = 1;
    }
    sn_release(&seen), kc_buf_release(&msg);
}

static void validate(vctx *v, const tref *r, json_t *x)
{
    char *d;
    int map = r->kind == TK_STRUCT || r->kind == TK_MAP;
    if (json_is_null(x) || (!map && r->kind != TK_LIST)) return;
    if (map ? json_is_object(x) : json_is_array(x)) {
        if (map)
            validate_map(v, r, x);
        else
            validate_list(v, r, x);
        return;
    }
    d = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
    verr(v, "expected %s, got %s", map ? "map" : "list", d ? d : "");
    free(d);
}

/* ValidationErrors.Error of obj typed as r into msg; returns the number of errors. */
static size_t typed_errors(const tref *r, json_t *obj, kc_buf *msg)
{
    vctx v = {KC_BUF_INIT, json_array()};
    size_t n, i;
    json_t *e;
    kc_buf_adds(&v.path, "");
    validate(&v, r, obj);
    n = json_array_size(v.errs);
    if (n == 1) kc_buf_adds(msg, json_string_value(json_array_get(v.errs, 0)));
    if (n > 1) {
        kc_buf_adds(msg, "errors:");
        json_array_foreach(v.errs, i, e) kc_buf_addf(msg, "\n  %s", json_string_value(e));
    }
    json_decref(v.errs), kc_buf_release(&v.path);
    return n;
}

/* GroupVersionKind.String of an object's apiVersion and kind ("/v1, Kind=Pod"). */
static void gvk_str(kc_buf *b, json_t *obj)
{
    const char *av = jstr(obj, "apiVersion"), *slash = strchr(av, '/');
    if (!slash)
        kc_buf_addf(b, "/%s", av);
    else if (strchr(slash + 1, '/'))
        kc_buf_add(b, "/", 1);
    else
        kc_buf_adds(b, av);
    kc_buf_addf(b, ", Kind=%s", jstr(obj, "kind"));
}

/* versionCheckManager, then structuredMergeManager's checks of the patch object. */
static int check_applied(ssa *s, json_t *cfg, kc_err *err)
{
    kc_buf b = KC_BUF_INIT, want = KC_BUF_INIT;
    json_t *meta = json_object_get(cfg, "metadata");
    int rc = 0;
    gvk_str(&b, cfg);
    if (s->kind) kc_buf_addf(&want, "%s/%s, Kind=%s", s->kind->group, s->kind->version, s->kind->kind);
    if (s->kind && strcmp(b.data, want.data))
        rc = kc_errf(err, KC_EBADREQUEST, "invalid object type: %s", b.data);
    else if (json_is_array(json_object_get(meta, "managedFields")))
        rc = kc_errf(err, KC_EBADREQUEST, "metadata.managedFields must be nil");
    kc_buf_release(&want);
    if (!rc) {
        kc_buf m = KC_BUF_INIT;
        if (typed_errors(&s->root, cfg, &m))
            rc = kc_errf(err, KC_EINTERNAL, "failed to create typed patch object (%s/%s; %s): %s",
                         jstr(meta, "namespace"), jstr(meta, "name"), b.data, m.data);
        kc_buf_release(&m);
    }
    kc_buf_release(&b);
    return rc;
}

/* ---- the field manager chain ---------------------------------------------------------------- */

/* lastAppliedManager.allowedConflictsFromLastApplied: the fields client-side apply recorded
 * with the values they still have. -1 when there is no usable annotation. */
static int last_applied_allowed(ssa *s, json_t *live, json_t *live_n, snode *allowed)
{
    json_t *ann = json_object_get(json_object_get(live, "metadata"), "annotations");
    json_t *la = json_loads(jstr(ann, LAST_APPLIED), 0, NULL);
    kc_buf m = KC_BUF_INIT;
    snode set = {0}, t1 = {0}, t2 = {0};
    cmpr c = {0};
    int ok = json_is_object(la) && *jstr(la, "kind") && !strcmp(jstr(la, "apiVersion"), s->gv) &&
             !typed_errors(&s->root, la, &m);
    if (ok) {
        fieldset_of(&set, &s->root, la);
        compare_values(&c, &s->root, la, live_n);
        sn_diff(&t1, &set, &c.mod), sn_diff(&t2, &t1, &c.add), sn_diff(allowed, &t2, &c.rem);
    }
    json_decref(la), kc_buf_release(&m);
    sn_release(&set), sn_release(&t1), sn_release(&t2), cmpr_release(&c);
    return ok ? 0 : -1;
}

/* lastAppliedManager.Apply: for manager "kubectl", conflicts the last-applied annotation
 * explains are no conflicts (returns 1: apply again with force); the others remain in cf. */
static int last_applied_forgives(ssa *s, json_t *live, json_t *live_n, conflicts *cf)
{
    snode allowed = {0};
    size_t left = 0;
    if (!live || last_applied_allowed(s, live, live_n, &allowed) < 0) return 0;
    for (size_t i = 0; i < cf->n; i++) {
        snode d = {0};
        sn_diff(&d, &cf->v[i].who.set, &allowed);
        left += d.n;
        sn_release(&d);
    }
    for (size_t i = 0; left && i < cf->n; i++)
        sn_apply(&cf->v[i].who.set, &allowed, sn_diff);
    for (size_t i = cf->n; left && i-- > 0;)
        if (!cf->v[i].who.set.n) {
            mgr_release(&cf->v[i].who);
            memmove(cf->v + i, cf->v + i + 1, (cf->n - i - 1) * sizeof *cf->v);
            cf->n--;
        }
    sn_release(&allowed);
    return left == 0;
}

static size_t annotations_size(json_t *ann)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach(ann, k, v) n += strlen(k) + json_string_length(v);
    return n;
}

/* lastAppliedUpdater: kubectl's server-side apply keeps a client-side apply annotation current
 * (the applied configuration without the annotation, as Go encodes it, plus a newline). */
static void last_applied_refresh(json_t *obj, json_t *applied)
{
    json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations"), *cfg, *ca;
    kc_buf b = KC_BUF_INIT;
    if (!*jstr(ann, LAST_APPLIED)) return;
    cfg = json_deep_copy(applied);
    ca = json_object_get(json_object_get(cfg, "metadata"), "annotations");
    if (json_is_object(ca)) json_object_del(ca, LAST_APPLIED);
    gj_val(&b, cfg);
    kc_buf_add(&b, "\n", 1);
    json_object_set_new(ann, LAST_APPLIED, json_stringn(b.data, b.len));
    if (annotations_size(ann) > ANNOTATIONS_MAX) json_object_del(ann, LAST_APPLIED);
    json_decref(cfg), kc_buf_release(&b);
}

/* Drops null members of objects, at any depth (what decoding into Go types does to them). */
static void drop_nulls(json_t *v)
{
    const char *k;
    json_t *x;
    void *tmp;
    size_t i;
    if (json_is_array(v)) json_array_foreach(v, i, x) drop_nulls(x);
    if (!json_is_object(v)) return;
    json_object_foreach_safe(v, tmp, k, x)
    {
        if (json_is_null(x))
            json_object_del(v, k);
        else
            drop_nulls(x);
    }
}

/* EncodeObjectManagedFields: sets or removes metadata.managedFields (takes entries). */
static void set_managed_fields(json_t *obj, json_t *entries)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (!entries) {
        if (json_is_object(meta)) json_object_del(meta, "managedFields");
        return;
    }
    if (!json_is_object(meta)) json_object_set_new(obj, "metadata", meta = json_object());
    json_object_set_new(meta, "managedFields", entries);
}

/* The applied configuration without what the subresource's strategy resets. */
static json_t *effective_config(const ssa *s, json_t *applied)
{
    json_t *c = json_copy(applied);
    for (size_t i = 0; i < s->ignored.n; i++)
        if (s->ignored.kids[i].member && s->ignored.kids[i].e.kind == PE_FIELD)
            json_object_del(c, s->ignored.kids[i].e.name);
    return c;
}

/* The stored object after the apply: the same merge and prune on the object as stored. */
static json_t *apply_output(ssa *s, json_t *live, json_t *cfg, const snode *rm, int changed)
{
    json_t *base = live ? json_incref(live) : json_object(), *obj, *out;
    if (changed || !live) {
        json_t *merged = merge(&s->root, base, cfg);
        obj = remove_root(&s->root, merged, rm);
        json_decref(merged);
    } else {
        obj = json_incref(base);
    }
    out = json_deep_copy(obj);
    json_decref(obj), json_decref(base);
    drop_nulls(out);
    return out;
}

/* skipNonAppliedManager.Apply: an object nobody owns yet is first owned by "before-first-apply". */
static void before_first_apply(ssa *s, json_t *live_n)
{
    json_t *zero = norm_obj(s, NULL);
    mid id = {"before-first-apply", s->gv, s->sub, 0, 0};
    update_core(s, zero, live_n, &id);
    json_decref(zero);
}

static json_t *apply_flow(ssa *s, json_t *live, json_t *applied, const char *manager, int force, kc_err *err)
{
    mid me = {manager, s->gv, s->sub, 1, 0};
    json_t *live_n = norm_obj(s, live), *cfg = effective_config(s, applied), *pruned, *out = NULL;
    snode rm = {0};
    conflicts cf = {0};
    int changed = 0;
    mgrs saved;
    if (!s->m.n && live) before_first_apply(s, live_n);
    mgrs_copy(&saved, &s->m);
    pruned = apply_core(s, live_n, cfg, &me, force, &rm, &changed, &cf);
    if (!pruned && !strcmp(manager, "kubectl") && last_applied_forgives(s, live, live_n, &cf)) {
        mgrs_release(&s->m), mgrs_copy(&s->m, &saved);
        conflicts_release(&cf), sn_release(&rm);
        pruned = apply_core(s, live_n, cfg, &me, 1, &rm, &changed, &cf);
    }
    if (pruned) {
        out = apply_output(s, live, cfg, &rm, changed);
        if (!strcmp(manager, "kubectl")) last_applied_refresh(out, applied);
        set_managed_fields(out, mgrs_encode(&s->m));
    } else {
        conflict_error(err, &cf);
    }
    json_decref(live_n), json_decref(cfg), json_decref(pruned);
    sn_release(&rm), conflicts_release(&cf), mgrs_release(&saved);
    return out;
}

json_t *kc_ssa_apply_subresource(const kc_type *t, json_t *live, json_t *applied, const char *manager,
                                 const char *subresource, bool force, const char *now_rfc3339, kc_err *err)
{
    ssa s;
    kc_buf msg = KC_BUF_INIT;
    json_t *out = NULL;
    if (!json_is_object(applied))
        return kc_errf(err, KC_EBADREQUEST, "the apply configuration must be a JSON object"), NULL;
    if (live && !json_is_object(live))
        return kc_errf(err, KC_EINTERNAL, "couldn't get accessor: live object is not an object"), NULL;
    ssa_init(&s, t, applied, subresource, now_rfc3339);
    if (check_applied(&s, applied, err) == 0) {
        if (mgrs_decode(&s.m, json_object_get(json_object_get(live, "metadata"), "managedFields"), &msg) < 0)
            kc_errf(err, KC_EINTERNAL, "failed to decode managed fields: %s", msg.data);
        else
            out = apply_flow(&s, live, applied, manager && *manager ? manager : "unknown", force, err);
    }
    kc_buf_release(&msg);
    ssa_release(&s);
    return out;
}

json_t *kc_ssa_apply(const kc_type *t, json_t *live, json_t *applied, const char *manager, bool force,
                     const char *now_rfc3339, kc_err *err)
{
    return kc_ssa_apply_subresource(t, live, applied, manager, NULL, force, now_rfc3339, err);
}

/* isResetManagedFields: [] or [{}] clears managedFields on purpose. */
static int is_reset(json_t *mf)
{
    json_t *e = json_array_get(mf, 0), *v;
    const char *k;
    if (!json_is_array(mf) || json_array_size(mf) > 1) return 0;
    if (!e) return 1;
    if (!json_is_object(e)) return 0;
    json_object_foreach(e, k,
                        v) if (!json_is_null(v) && !(json_is_string(v) && !json_string_length(v))) return 0;
    return 1;
}

/* decodeLiveOrNew: managedFields sent with the write win unless empty or broken (subresource
 * writes always use the stored ones); undecodable ones count as none. */
static void decode_live_or_new(ssa *s, json_t *old, json_t *new_obj)
{
    json_t *nmf = json_object_get(json_object_get(new_obj, "metadata"), "managedFields");
    kc_buf msg = KC_BUF_INIT;
    if (!*s->sub) {
        if (is_reset(nmf)) return;
        if (mgrs_decode(&s->m, nmf, &msg) == 0 && s->m.n) return kc_buf_release(&msg);
        mgrs_release(&s->m);
    }
    if (mgrs_decode(&s->m, json_object_get(json_object_get(old, "metadata"), "managedFields"), &msg) < 0)
        mgrs_release(&s->m);
    kc_buf_release(&msg);
}

void kc_ssa_track_update(const kc_type *t, json_t *old, json_t *new_obj, const char *manager,
                         const char *subresource, const char *now_rfc3339)
{
    ssa s;
    if (!json_is_object(new_obj)) return;
    if (!json_is_object(old)) old = NULL;
    ssa_init(&s, t, new_obj, subresource, now_rfc3339);
    decode_live_or_new(&s, old, new_obj);
    if (s.m.n || !old) { /* skipNonAppliedManager: updates of untracked objects stay untracked */
        json_t *o = norm_obj(&s, old), *n = norm_obj(&s, new_obj);
        mid me = {manager && *manager ? manager : "unknown", s.gv, s.sub, 0, 0};
        update_core(&s, o, n, &me);
        json_decref(o), json_decref(n);
    }
    set_managed_fields(new_obj, mgrs_encode(&s.m));
    ssa_release(&s);
}
