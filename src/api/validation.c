/* Validation: the semantic, per-kind checks of the Kubernetes API server (ValidatePod*,
 * ValidateService*, ValidatePersistentVolume*, ValidateDeployment*, ... in kubernetes/kubernetes
 * pkg/apis/core/validation and pkg/apis/apps/validation), on JSON objects, with upstream's field
 * paths, error types and messages, including Go's %#v rendering of bad values
 * (map[string]string{"app":"x"}, v1.LabelSelector{...}, intstr.IntOrString{...}).
 *
 * It owns: resource quantities (parse, compare, canonical print), pod specs (pods and every
 * template), workloads, services, claims and volumes, and the update rules of those kinds.
 * It does not own: ObjectMeta (names.c), required keys and closed enums the field schema already
 * reports (schema.c), defaulting (a field a defaulter fills is only checked when present).
 *
 * Layout: quantities; causes and Go value rendering; labels and selectors; pod spec (volumes,
 * containers, ports, mounts, resources, tolerations); pods; workloads; services; claims and
 * volumes; the kind dispatch at the end. */
#include "api/validation.h"
#include "api/names.h"
#include "api/resource.h"
#include "api/selector.h"
#include "lib/buf.h"
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)

/* ==== quantities ============================================================================= */

static const struct {
    const char *s;
    int e10, e2;
} qsuffix[] = {
    {"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},
    {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
    {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
};

static u128 pow10u(int d)
{
    u128 r = 1;
    while (d-- > 0)
        r *= 10;
    return r;
}

/* Divides m by 10^d rounding away from zero (upstream rounds tiny amounts up, never to 0). */
static u128 div10_up(u128 m, int d)
{
    if (d > 38) return m ? 1 : 0;
    u128 p = pow10u(d), q = m / p;
    return q + (m % p ? 1 : 0);
}

/* The exponent suffix "e3", "E-2", "e+7" (DecimalExponent); false when s is not one. */
static bool exp_suffix(const char *s, int *e)
{
    if ((*s != 'e' && *s != 'E') || !s[1]) return false;
    char *end;
    long v = strtol(s + 1, &end, 10);
    bool digit_first =
        (s[1] >= '0' && s[1] <= '9') || ((s[1] == '+' || s[1] == '-') && s[2] >= '0' && s[2] <= '9');
    if (*end || !digit_first || v > 100000 || v < -100000) return false;
    *e = (int)v;
    return true;
}

/* Scales the mantissa by 2^e2, giving up low decimal digits (rounding up) if it would overflow. */
static void mul_pow2(kc_quantity *q, int e2)
{
    for (int i = 0; i < e2; i++) {
        while (q->mant > U128_MAX / 4) {
            q->mant = div10_up(q->mant, 1);
            q->scale++;
        }
        q->mant *= 2;
    }
}

/* Reads [0-9.]+ into q: true when at least one digit and at most one '.'. */
static bool parse_digits(const char **pp, kc_quantity *q)
{
    const char *p = *pp;
    bool dot = false, lost = false;
    int ndig = 0;
    for (; (*p >= '0' && *p <= '9') || (*p == '.' && !dot); p++) {
        if (*p == '.') {
            dot = true;
            continue;
        }
        ndig++;
        if (q->mant > (U128_MAX - 9) / 10) { /* keep the magnitude, drop the digit */
            if (!dot) q->scale++;
            lost |= *p != '0';
            continue;
        }
        q->mant = q->mant * 10 + (u128)(*p - '0');
        if (dot) q->scale--;
    }
    if (lost) q->mant++;
    *pp = p;
    return ndig > 0 && *p != '.';
}

int kc_quantity_parse(const char *s, kc_quantity *q)
{
    memset(q, 0, sizeof *q);
    if (!s) return -1;
    const char *p = s;
    if (*p == '+' || *p == '-') q->neg = *p++ == '-';
    if (!parse_digits(&p, q)) goto bad;
    size_t i, n = sizeof qsuffix / sizeof qsuffix[0];
    for (i = 0; i < n && strcmp(p, qsuffix[i].s); i++) {
    }
    int e10 = 0;
    if (i < n) {
        e10 = qsuffix[i].e10;
        q->fmt = qsuffix[i].e2 ? KC_QFMT_BINARY_SI : KC_QFMT_DECIMAL_SI;
        mul_pow2(q, qsuffix[i].e2);
    } else if (exp_suffix(p, &e10)) {
        q->fmt = KC_QFMT_DECIMAL_EXP;
    } else {
        goto bad;
    }
    q->scale += e10;
    if (q->scale < -9) {
        q->mant = div10_up(q->mant, -9 - q->scale);
        q->scale = -9;
    }
    if (!q->mant) q->neg = false;
    return 0;
bad:
    memset(q, 0, sizeof *q);
    return -1;
}

int kc_quantity_from_json(json_t *v, kc_quantity *q)
{
    char num[64];
    if (json_is_string(v)) return kc_quantity_parse(json_string_value(v), q);
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return kc_quantity_parse(num, q);
    }
    if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.9f", json_real_value(v));
        return kc_quantity_parse(num, q);
    }
    memset(q, 0, sizeof *q);
    return -1;
}

bool kc_quantity_is_zero(const kc_quantity *q)
{
    return q->mant == 0;
}

/* Compares magnitudes am*10^as and bm*10^bs, both non-zero. */
static int mag_cmp(u128 am, int as, u128 bm, int bs)
{
    if (as < bs) return -mag_cmp(bm, bs, am, as);
    int d = as - bs;
    if (d > 38 || am > U128_MAX / pow10u(d)) return 1;
    u128 a = am * pow10u(d);
    return a < bm ? -1 : a > bm ? 1 : 0;
}

static int qsign(const kc_quantity *q)
{
    return q->mant == 0 ? 0 : q->neg ? -1 : 1;
}

int kc_quantity_cmp(const kc_quantity *a, const kc_quantity *b)
{
    int sa = qsign(a), sb = qsign(b);
    if (sa != sb) return sa < sb ? -1 : 1;
    if (sa == 0) return 0;
    int m = mag_cmp(a->mant, a->scale, b->mant, b->scale);
    return sa > 0 ? m : -m;
}

int64_t kc_quantity_value(const kc_quantity *q)
{
    u128 m = q->mant;
    if (q->scale >= 0) {
        if (q->scale > 38 || (m && m > U128_MAX / pow10u(q->scale)))
            m = U128_MAX;
        else
            m *= pow10u(q->scale);
    } else {
        u128 p = pow10u(-q->scale);
        m = q->neg ? m / p : m / p + (m % p ? 1 : 0); /* ceil */
    }
    if (m > (u128)INT64_MAX) return q->neg ? INT64_MIN : INT64_MAX;
    return q->neg ? -(int64_t)m : (int64_t)m;
}

static size_t u128_str(u128 v, char *out)
{
    char tmp[48];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return n;
}

/* BinarySI is kept for integers of at least 1024 (CanonicalizeBytes); else the decimal form. */
static bool binary_form(const kc_quantity *q, u128 *ival)
{
    if (q->fmt != KC_QFMT_BINARY_SI || q->scale > 38) return false;
    u128 v = q->mant;
    if (q->scale < 0) {
        u128 p = pow10u(-q->scale);
        if (v % p) return false;
        v /= p;
    } else if (v > U128_MAX / pow10u(q->scale)) {
        return false;
    } else {
        v *= pow10u(q->scale);
    }
    if (v < 1024) return false;
    *ival = v;
    return true;
}

static const char *dec_suffix(int e)
{
    static const char *s[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    return (e >= -9 && e <= 18 && e % 3 == 0) ? s[(e + 9) / 3] : NULL;
}

size_t kc_quantity_string(const kc_quantity *q, char *buf, size_t cap)
{
    char out[96], num[48];
    const char *sfx = "";
    char esfx[16];
    u128 v;
    if (!q->mant) {
        snprintf(out, sizeof out, "0");
    } else if (binary_form(q, &v)) {
        static const char *bs[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        int k = 0;
        while (k < 6 && v % 1024 == 0)
            v /= 1024, k++;
        u128_str(v, num);
        snprintf(out, sizeof out, "%s%s%s", q->neg ? "-" : "", num, bs[k]);
    } else {
        u128 m = q->mant;
        int e = q->scale;
        while (m % 10 == 0)
            m /= 10, e++;
        int r = ((e % 3) + 3) % 3; /* make the exponent a multiple of 3 */
        if (r && m <= U128_MAX / 100) m *= pow10u(r), e -= r;
        if (q->fmt == KC_QFMT_DECIMAL_SI)
            while (e > 18 && m <= U128_MAX / 1000)
                m *= 1000, e -= 3;
        if (q->fmt == KC_QFMT_DECIMAL_SI && dec_suffix(e)) {
            sfx = dec_suffix(e);
        } else if (e) {
            snprintf(esfx, sizeof esfx, "e%d", e);
            sfx = esfx;
        }
        u128_str(m, num);
        snprintf(out, sizeof out, "%s%s%s", q->neg ? "-" : "", num, sfx);
    }
    if (cap) snprintf(buf, cap, "%s", out);
    return strlen(out);
}

/* ==== causes ================================================================================= */

typedef struct vctx {
    kc_err *err;
    size_t first; /* causes present before this validation (the field schema's) */
    size_t added;
} vctx;

#define VP 512 /* field path buffer */

/* Field paths are built for every checked field, error or not, and only ever use %s and %zu:
 * those are formatted here (vsnprintf was 5% of a pod create); any other format goes to
 * vsnprintf. Output is truncated at VP - 1 bytes, as vsnprintf would. */
static bool pf_fast(char *b, const char *fmt, va_list ap)
{
    size_t o = 0;
    for (const char *p = fmt; *p; p++) {
        char num[24];
        const char *s = num;
        size_t n;
        if (*p != '%') {
            if (o < VP - 1) b[o++] = *p;
            continue;
        }
        if (p[1] == 's') {
            s = va_arg(ap, const char *);
            n = strlen(s);
            p++;
        } else if (p[1] == 'z' && p[2] == 'u') {
            size_t v = va_arg(ap, size_t);
            char *e = num + sizeof num;
            do *--e = (char)('0' + v % 10); while (v /= 10);
            s = e;
            n = (size_t)(num + sizeof num - e);
            p += 2;
        } else {
            return false;
        }
        if (n > VP - 1 - o) n = VP - 1 - o;
        memcpy(b + o, s, n);
        o += n;
    }
    b[o] = 0;
    return true;
}

static const char *pf(char *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *pf(char *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool done = pf_fast(b, fmt, ap);
    va_end(ap);
    if (!done) {
        va_start(ap, fmt);
        vsnprintf(b, VP, fmt, ap);
        va_end(ap);
    }
    return b;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *jstr0(json_t *o, const char *k)
{
    const char *s = jstr(o, k);
    return s ? s : "";
}

static bool jint(json_t *o, const char *k, long long *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) return false;
    *out = (long long)json_integer_value(v);
    return true;
}

/* Appends one cause unless an identical one (same field and message) is already there. */
static void vcause(vctx *v, const char *reason, const char *field, const char *msg)
{
    size_t i;
    json_t *c;
    json_array_foreach(v->err->causes, i, c)
    {
        if (!strcmp(jstr0(c, "field"), field) && !strcmp(jstr0(c, "message"), msg)) return;
    }
    kc_err_cause(v->err, reason, field, "%s", msg);
    v->err->reason = KC_EINVALID;
    v->added++;
}

static void vaddf(vctx *v, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void vaddf(vctx *v, const char *reason, const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vcause(v, reason, field, msg);
}

/* Go's %q of s, appended to b. */
static void bq(kc_buf *b, const char *s)
{
    size_t n = strlen(s), need = kc_name_quote(NULL, 0, s, n);
    char *q = malloc(need + 1);
    if (!q) abort();
    kc_name_quote(q, need + 1, s, n);
    kc_buf_add(b, q, need);
    free(q);
}

static void required(vctx *v, const char *field, const char *detail)
{
    if (detail && *detail)
        vaddf(v, "FieldValueRequired", field, "Required value: %s", detail);
    else
        vcause(v, "FieldValueRequired", field, "Required value");
}

static void forbidden(vctx *v, const char *field, const char *detail)
{
    vaddf(v, "FieldValueForbidden", field, "Forbidden: %s", detail);
}

/* Invalid value: <rendered>: detail (rendered is a Go rendering of the bad value). */
static void invalid_raw(vctx *v, const char *field, const char *rendered, const char *detail)
{
    if (detail && *detail)
        vaddf(v, "FieldValueInvalid", field, "Invalid value: %s: %s", rendered, detail);
    else
        vaddf(v, "FieldValueInvalid", field, "Invalid value: %s", rendered);
}

static void invalid_str(vctx *v, const char *field, const char *s, const char *detail)
{
    kc_buf b = KC_BUF_INIT;
    bq(&b, s);
    kc_buf_add(&b, "", 1);
    invalid_raw(v, field, b.data, detail);
    kc_buf_release(&b);
}

static void invalid_int(vctx *v, const char *field, long long n, const char *detail)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", n);
    invalid_raw(v, field, num, detail);
}

/* Duplicate value / Not found with a Go-quoted string value. */
static void typed_str(vctx *v, const char *reason, const char *type, const char *field, const char *s)
{
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "%s: ", type);
    bq(&b, s);
    kc_buf_add(&b, "", 1);
    vcause(v, reason, field, b.data);
    kc_buf_release(&b);
}

static void duplicate_str(vctx *v, const char *field, const char *s)
{
    typed_str(v, "FieldValueDuplicate", "Duplicate value", field, s);
}

static void not_found_str(vctx *v, const char *field, const char *s)
{
    typed_str(v, "FieldValueNotFound", "Not found", field, s);
}

/* Unsupported value: "x": supported values: "A", "B" (vals NULL-terminated). */
static void unsupported_raw(vctx *v, const char *field, const char *rendered, const char *const *vals)
{
    for (size_t i = 0; i < v->first; i++) { /* the field schema may have reported this enum already */
        json_t *c = json_array_get(v->err->causes, i);
        if (!strcmp(jstr0(c, "field"), field) && !strcmp(jstr0(c, "reason"), "FieldValueNotSupported"))
            return;
    }
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "Unsupported value: %s", rendered);
    for (size_t i = 0; vals[i]; i++) {
        kc_buf_adds(&b, i ? ", " : ": supported values: ");
        bq(&b, vals[i]);
    }
    kc_buf_add(&b, "", 1);
    vcause(v, "FieldValueNotSupported", field, b.data);
    kc_buf_release(&b);
}

static void unsupported(vctx *v, const char *field, const char *value, const char *const *vals)
{
    kc_buf b = KC_BUF_INIT;
    bq(&b, value);
    kc_buf_add(&b, "", 1);
    unsupported_raw(v, field, b.data, vals);
    kc_buf_release(&b);
}

static bool in_list(const char *s, const char *const *vals)
{
    for (size_t i = 0; s && vals[i]; i++)
        if (!strcmp(s, vals[i])) return true;
    return false;
}

/* A present string field must be one of vals: "" is Required, others Unsupported. */
static void enum_field(vctx *v, json_t *obj, const char *key, const char *field, const char *const *vals)
{
    const char *s = jstr(obj, key);
    if (!s) return;
    if (!*s)
        required(v, field, NULL);
    else if (!in_list(s, vals))
        unsupported(v, field, s, vals);
}

/* Every message of a name rule as one Invalid cause each (ValidateDNS1123Label & co). */
static void name_rule(vctx *v, const char *field, kc_name_rule rule, const char *s)
{
    const char *m[KC_NAME_MAXMSGS];
    size_t n = kc_name_check(rule, s, strlen(s), m);
    for (size_t i = 0; i < n; i++)
        invalid_str(v, field, s, m[i]);
}

static void nonneg(vctx *v, json_t *obj, const char *key, const char *field)
{
    long long n;
    if (jint(obj, key, &n) && n < 0) invalid_int(v, field, n, "must be greater than or equal to 0");
}

/* ==== Go %#v renderings of bad values ======================================================== */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* map[string]string{"a":"b", "c":"d"} with sorted keys; `<type>(nil)` for an absent map. */
static void go_map(kc_buf *b, json_t *m, const char *type)
{
    if (!json_is_object(m)) {
        kc_buf_addf(b, "%s(nil)", type);
        return;
    }
    size_t n = json_object_size(m), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys) abort();
    const char *k;
    json_t *val;
    json_object_foreach(m, k, val) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    kc_buf_addf(b, "%s{", type);
    for (i = 0; i < n; i++) {
        if (i) kc_buf_adds(b, ", ");
        bq(b, keys[i]);
        kc_buf_adds(b, ":");
        json_t *e = json_object_get(m, keys[i]);
        if (json_is_string(e) || !e)
            bq(b, json_is_string(e) ? json_string_value(e) : "");
        else {
            char *js = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
            bq(b, js ? js : "");
            free(js);
        }
    }
    kc_buf_adds(b, "}");
    free(keys);
}

static void go_strslice(kc_buf *b, json_t *a)
{
    if (!json_is_array(a)) {
        kc_buf_adds(b, "[]string(nil)");
        return;
    }
    size_t i;
    json_t *e;
    kc_buf_adds(b, "[]string{");
    json_array_foreach(a, i, e)
    {
        if (i) kc_buf_adds(b, ", ");
        bq(b, json_is_string(e) ? json_string_value(e) : "");
    }
    kc_buf_adds(b, "}");
}

/* v1.LabelSelector{MatchLabels:map[string]string{...}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}
 */
static void go_selector(kc_buf *b, json_t *sel)
{
    kc_buf_adds(b, "v1.LabelSelector{MatchLabels:");
    go_map(b, json_object_get(sel, "matchLabels"), "map[string]string");
    kc_buf_adds(b, ", MatchExpressions:");
    json_t *ex = json_object_get(sel, "matchExpressions");
    if (!json_is_array(ex)) {
        kc_buf_adds(b, "[]v1.LabelSelectorRequirement(nil)}");
        return;
    }
    size_t i;
    json_t *e;
    kc_buf_adds(b, "[]v1.LabelSelectorRequirement{");
    json_array_foreach(ex, i, e)
    {
        kc_buf_adds(b, i ? ", v1.LabelSelectorRequirement{Key:" : "v1.LabelSelectorRequirement{Key:");
        bq(b, jstr0(e, "key"));
        kc_buf_adds(b, ", Operator:");
        bq(b, jstr0(e, "operator"));
        kc_buf_adds(b, ", Values:");
        go_strslice(b, json_object_get(e, "values"));
        kc_buf_adds(b, "}");
    }
    kc_buf_adds(b, "}}");
}

/* intstr.IntOrString{Type:1, IntVal:0, StrVal:"25"} */
static void go_intstr(kc_buf *b, json_t *v)
{
    if (json_is_string(v)) {
        kc_buf_adds(b, "intstr.IntOrString{Type:1, IntVal:0, StrVal:");
        bq(b, json_string_value(v));
        kc_buf_adds(b, "}");
    } else {
        kc_buf_addf(b, "intstr.IntOrString{Type:0, IntVal:%lld, StrVal:\"\"}",
                    json_is_integer(v) ? (long long)json_integer_value(v) : 0LL);
    }
}

typedef void (*go_render)(kc_buf *b, json_t *v);

static void invalid_go(vctx *v, const char *field, go_render r, json_t *val, const char *detail)
{
    kc_buf b = KC_BUF_INIT;
    r(&b, val);
    kc_buf_add(&b, "", 1);
    invalid_raw(v, field, b.data, detail);
    kc_buf_release(&b);
}

static void go_labels(kc_buf *b, json_t *m)
{
    go_map(b, m, "map[string]string");
}

/* ==== semantic equality and diffs ============================================================ */

/* Go's zero value: absent, null, "", 0, false, [], {} or an object of zero values. */
static bool is_zero(json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v)) return true;
    if (json_is_string(v)) return json_string_length(v) == 0;
    if (json_is_integer(v)) return json_integer_value(v) == 0;
    if (json_is_real(v)) return json_real_value(v) == 0;
    if (json_is_array(v)) return json_array_size(v) == 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e) if (!is_zero(e)) return false;
        return true;
    }
    return false;
}

/* apiequality.Semantic.DeepEqual on JSON: absent and zero values are equal. */
static bool sem_equal(json_t *a, json_t *b)
{
    if (is_zero(a) || is_zero(b)) return is_zero(a) && is_zero(b);
    if (json_is_number(a) && json_is_number(b)) return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b)) return false;
    if (json_is_string(a)) return !strcmp(json_string_value(a), json_string_value(b));
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!sem_equal(json_array_get(a, i), json_array_get(b, i))) return false;
        return true;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *e;
        json_object_foreach(a, k, e) if (!sem_equal(e, json_object_get(b, k))) return false;
        json_object_foreach(b, k, e) if (!json_object_get(a, k) && !is_zero(e)) return false;
        return true;
    }
    return json_equal(a, b);
}

static void diff_side(kc_buf *b, char sign, const char *k, json_t *v)
{
    char *js = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    kc_buf_addf(b, "%c \t%c%s: %s,\n", sign, k[0] >= 'a' && k[0] <= 'z' ? k[0] - 'a' + 'A' : k[0], k + 1,
                js ? js : "nil");
    free(js);
}

/* A short cmp.Diff-like listing of the top-level fields that differ (an approximation). */
static void spec_diff(kc_buf *b, const char *type, json_t *old, json_t *nw)
{
    const char *k;
    json_t *e;
    kc_buf_addf(b, "  %s{\n", type);
    json_object_foreach(old, k, e) if (!sem_equal(e, json_object_get(nw, k)))
    {
        diff_side(b, '-', k, e);
        diff_side(b, '+', k, json_object_get(nw, k));
    }
    json_object_foreach(nw, k, e) if (!json_object_get(old, k) && !is_zero(e)) diff_side(b, '+', k, e);
    kc_buf_adds(b, "  }\n");
}

/* Forbidden: <msg>\n<diff> */
static void forbidden_diff(vctx *v, const char *field, const char *msg, const char *type, json_t *old,
                           json_t *nw)
{
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "%s\n", msg);
    spec_diff(&b, type, old, nw);
    kc_buf_add(&b, "", 1);
    forbidden(v, field, b.data);
    kc_buf_release(&b);
}

/* ==== labels and selectors =================================================================== */

/* ValidateLabels: keys are qualified names, values label values; the path is the map's own. */
static void labels_check(vctx *v, json_t *labels, const char *field)
{
    const char *k;
    json_t *val;
    json_object_foreach(labels, k, val)
    {
        name_rule(v, field, KC_NAME_QUALIFIED, k);
        if (json_is_string(val)) name_rule(v, field, KC_NAME_LABEL_VALUE, json_string_value(val));
    }
}

static void selector_requirement(vctx *v, json_t *r, const char *path)
{
    char p[VP];
    const char *op = jstr0(r, "operator");
    json_t *vals = json_object_get(r, "values");
    static const char *const set_ops[] = {"In", "NotIn", NULL}, *const ex_ops[] = {"Exists", "DoesNotExist",
                                                                                   NULL};
    if (in_list(op, set_ops) && !json_array_size(vals))
        required(v, pf(p, "%s.values", path), "must be specified when `operator` is 'In' or 'NotIn'");
    else if (in_list(op, ex_ops) && json_array_size(vals))
        forbidden(v, pf(p, "%s.values", path),
                  "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    else if (!in_list(op, set_ops) && !in_list(op, ex_ops))
        invalid_str(v, pf(p, "%s.operator", path), op, "not a valid selector operator");
    name_rule(v, pf(p, "%s.key", path), KC_NAME_QUALIFIED, jstr0(r, "key"));
    size_t i;
    json_t *e;
    json_array_foreach(vals, i, e) if (json_is_string(e))
        name_rule(v, pf(p, "%s.values[%zu]", path, i), KC_NAME_LABEL_VALUE, json_string_value(e));
}

/* ValidateLabelSelector (metav1): matchLabels and each matchExpressions entry. */
static void selector_check(vctx *v, json_t *sel, const char *path)
{
    char p[VP];
    if (!json_is_object(sel)) return;
    labels_check(v, json_object_get(sel, "matchLabels"), pf(p, "%s.matchLabels", path));
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(sel, "matchExpressions"), i, r)
        selector_requirement(v, r, pf(p, "%s.matchExpressions[%zu]", path, i));
}

/* LabelSelectorAsSelector: NULL on a selector that cannot be built (bad operator, key, value). */
static kc_labelsel *selector_build(json_t *sel)
{
    kc_labelsel *s = NULL;
    kc_err e = KC_ERR_INIT;
    if (kc_labelsel_from_json(sel, &s, &e) < 0) s = NULL;
    kc_err_release(&e);
    return s;
}

/* ==== int-or-percent ========================================================================= */

static bool valid_percent(const char *s)
{
    size_t n = strlen(s), i;
    for (i = 0; i + 1 < n && s[i] >= '0' && s[i] <= '9'; i++) {
    }
    return n >= 2 && i == n - 1 && s[i] == '%';
}

#define PERCENT_MSG                                                                                          \
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or "             \
    "'93%', regex used for validation is '[0-9]+%')"

/* getIntOrPercentValue: the percent number, the int, or Atoi of another string (0 if not one). */
static long long intstr_value(json_t *v)
{
    if (json_is_integer(v)) return (long long)json_integer_value(v);
    if (!json_is_string(v)) return 0;
    const char *s = json_string_value(v);
    char *end;
    long long n = strtoll(s, &end, 10);
    if (valid_percent(s)) return n;
    return (*s && !*end) ? n : 0;
}

/* ValidatePositiveIntOrPercent */
static void positive_int_or_percent(vctx *v, json_t *val, const char *field)
{
    if (json_is_string(val) && !valid_percent(json_string_value(val)))
        invalid_go(v, field, go_intstr, val, PERCENT_MSG);
    else if (json_is_integer(val) && json_integer_value(val) < 0)
        invalid_int(v, field, (long long)json_integer_value(val), "must be greater than or equal to 0");
}

/* IsNotMoreThan100Percent */
static void not_more_than_100(vctx *v, json_t *val, const char *field)
{
    if (json_is_string(val) && valid_percent(json_string_value(val)) && intstr_value(val) > 100)
        invalid_go(v, field, go_intstr, val, "must not be greater than 100%");
}

/* ==== pod spec: paths and volumes ============================================================ */

#define PORT_MSG "must be between 1 and 65535, inclusive"
#define MODE_MSG "must be a number between 0 and 0777 (octal), both inclusive"

static bool has_backstep(const char *s)
{
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') return true;
        p += n;
        if (*p) p++;
    }
    return false;
}

/* validatePathNoBacksteps */
static void no_backsteps(vctx *v, const char *s, const char *field)
{
    if (has_backstep(s)) invalid_str(v, field, s, "must not contain '..'");
}

/* validateLocalDescendingPath */
static void local_descending(vctx *v, const char *s, const char *field)
{
    if (s[0] == '/') invalid_str(v, field, s, "must be a relative path");
    no_backsteps(v, s, field);
}

/* ValidateLocalNonReservedPath */
static void local_non_reserved(vctx *v, const char *s, const char *field)
{
    local_descending(v, s, field);
    if (!strncmp(s, "..", 2) && strncmp(s, "../", 3)) invalid_str(v, field, s, "must not start with '..'");
}

static void file_mode(vctx *v, json_t *obj, const char *key, const char *field)
{
    long long m;
    if (jint(obj, key, &m) && (m < 0 || m > 0777)) invalid_int(v, field, m, MODE_MSG);
}

/* validateKeyToPath for configMap / secret items */
static void key_to_paths(vctx *v, json_t *items, const char *path)
{
    char p[VP];
    size_t i;
    json_t *kp;
    json_array_foreach(items, i, kp)
    {
        if (!*jstr0(kp, "key")) required(v, pf(p, "%s.items[%zu].key", path, i), NULL);
        if (!*jstr0(kp, "path")) required(v, pf(p, "%s.items[%zu].path", path, i), NULL);
        local_non_reserved(v, jstr0(kp, "path"), pf(p, "%s.items[%zu].path", path, i));
        file_mode(v, kp, "mode", pf(p, "%s.items[%zu].mode", path, i));
    }
}

/* The few per-source checks kept from validateVolumeSource (path is volumes[i].<source>). */
static void volume_source_fields(vctx *v, const char *key, json_t *src, const char *path)
{
    char p[VP];
    kc_quantity q;
    if (!strcmp(key, "emptyDir")) {
        json_t *sl = json_object_get(src, "sizeLimit");
        if (sl && !kc_quantity_from_json(sl, &q) && q.neg)
            forbidden(v, pf(p, "%s.sizeLimit", path), "SizeLimit field must be a valid resource quantity");
    } else if (!strcmp(key, "hostPath")) {
        if (!*jstr0(src, "path"))
            required(v, pf(p, "%s.path", path), NULL);
        else
            no_backsteps(v, jstr0(src, "path"), pf(p, "%s.path", path));
    } else if (!strcmp(key, "secret") || !strcmp(key, "configMap")) {
        const char *nk = !strcmp(key, "secret") ? "secretName" : "name";
        if (!*jstr0(src, nk)) required(v, pf(p, "%s.%s", path, nk), NULL);
        file_mode(v, src, "defaultMode", pf(p, "%s.defaultMode", path));
        key_to_paths(v, json_object_get(src, "items"), path);
    } else if (!strcmp(key, "persistentVolumeClaim")) {
        if (!*jstr0(src, "claimName")) required(v, pf(p, "%s.claimName", path), NULL);
    } else if (!strcmp(key, "nfs")) {
        if (!*jstr0(src, "server")) required(v, pf(p, "%s.server", path), NULL);
        if (!*jstr0(src, "path")) required(v, pf(p, "%s.path", path), NULL);
        if (jstr0(src, "path")[0] != '/')
            invalid_str(v, pf(p, "%s.path", path), jstr0(src, "path"), "must be an absolute path");
    } else if (!strcmp(key, "csi")) {
        const char *d = jstr0(src, "driver");
        if (!*d)
            required(v, pf(p, "%s.driver", path), NULL);
        else
            name_rule(v, pf(p, "%s.driver", path), KC_NAME_SUBDOMAIN, d);
    } else if (!strcmp(key, "ephemeral")) {
        if (!json_is_object(json_object_get(src, "volumeClaimTemplate")))
            required(v, pf(p, "%s.volumeClaimTemplate", path), NULL);
    }
}

/* Pod volume sources in upstream's order; the second name is the path upstream reports when a
 * second source is given (its spelling, "cephFS" and "downwarAPI" included). */
static const char *const pod_sources[][2] = {
    {"emptyDir", "emptyDir"},
    {"hostPath", "hostPath"},
    {"gitRepo", "gitRepo"},
    {"gcePersistentDisk", "gcePersistentDisk"},
    {"awsElasticBlockStore", "awsElasticBlockStore"},
    {"secret", "secret"},
    {"nfs", "nfs"},
    {"iscsi", "iscsi"},
    {"glusterfs", "glusterfs"},
    {"flocker", "flocker"},
    {"persistentVolumeClaim", "persistentVolumeClaim"},
    {"rbd", "rbd"},
    {"cinder", "cinder"},
    {"cephfs", "cephFS"},
    {"quobyte", "quobyte"},
    {"downwardAPI", "downwarAPI"},
    {"fc", "fc"},
    {"flexVolume", "flexVolume"},
    {"configMap", "configMap"},
    {"azureFile", "azureFile"},
    {"vsphereVolume", "vsphereVolume"},
    {"photonPersistentDisk", "photonPersistentDisk"},
    {"portworxVolume", "portworxVolume"},
    {"azureDisk", "azureDisk"},
    {"storageos", "storageos"},
    {"projected", "projected"},
    {"scaleIO", "scaleIO"},
    {"csi", "csi"},
    {"ephemeral", "ephemeral"},
    {"image", "image"},
    {NULL, NULL},
};

/* validateVolumeSource: exactly one source. */
static void volume_source(vctx *v, json_t *vol, const char *path)
{
    char p[VP];
    int n = 0;
    for (size_t i = 0; pod_sources[i][0]; i++) {
        json_t *src = json_object_get(vol, pod_sources[i][0]);
        if (!src || json_is_null(src)) continue;
        if (n++ > 0) {
            forbidden(v, pf(p, "%s.%s", path, pod_sources[i][1]), "may not specify more than 1 volume type");
            continue;
        }
        volume_source_fields(v, pod_sources[i][0], src, pf(p, "%s.%s", path, pod_sources[i][0]));
    }
    if (!n) required(v, path, "must specify a volume type");
}

/* ValidateVolumes: returns the set (JSON object, owned) of the names of valid volumes. */
static json_t *volumes_check(vctx *v, json_t *vols, const char *path)
{
    json_t *names = json_object(), *vol;
    char p[VP], np[VP];
    size_t i;
    json_array_foreach(vols, i, vol)
    {
        size_t before = v->added;
        const char *name = jstr0(vol, "name");
        pf(p, "%s[%zu]", path, i);
        volume_source(v, vol, p);
        pf(np, "%s.name", p);
        if (!*name)
            required(v, np, NULL);
        else
            name_rule(v, np, KC_NAME_LABEL, name);
        if (json_object_get(names, name))
            duplicate_str(v, np, name);
        else if (v->added == before)
            json_object_set_new(names, name, json_true());
    }
    return names;
}

/* ==== pod spec: containers =================================================================== */

static bool port_ok(long long n)
{
    return n >= 1 && n <= 65535;
}

static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};

/* validateContainerPorts: names unique within the container, as upstream. */
static void container_ports(vctx *v, json_t *ports, const char *path)
{
    json_t *names = json_object(), *port;
    char p[VP];
    size_t i;
    long long n;
    json_array_foreach(ports, i, port)
    {
        const char *name = jstr0(port, "name");
        const char *m[KC_NAME_MAXMSGS];
        size_t k = *name ? kc_name_check(KC_NAME_IANA_SVC, name, strlen(name), m) : 0;
        for (size_t j = 0; j < k; j++)
            invalid_str(v, pf(p, "%s[%zu].name", path, i), name, m[j]);
        if (*name && !k && json_object_get(names, name))
            duplicate_str(v, pf(p, "%s[%zu].name", path, i), name);
        else if (*name && !k)
            json_object_set_new(names, name, json_true());
        if (!jint(port, "containerPort", &n) || n == 0)
            required(v, pf(p, "%s[%zu].containerPort", path, i), NULL);
        else if (!port_ok(n))
            invalid_int(v, pf(p, "%s[%zu].containerPort", path, i), n, PORT_MSG);
        if (jint(port, "hostPort", &n) && n != 0 && !port_ok(n))
            invalid_int(v, pf(p, "%s[%zu].hostPort", path, i), n, PORT_MSG);
        enum_field(v, port, "protocol", pf(p, "%s[%zu].protocol", path, i), protocols);
    }
    json_decref(names);
}

/* ValidateEnv with relaxed names (RelaxedEnvironmentVariableValidation is on by default). */
static void env_check(vctx *v, json_t *env, const char *path)
{
    char p[VP];
    size_t i;
    json_t *e;
    json_array_foreach(env, i, e)
    {
        const char *name = jstr0(e, "name");
        bool ok = true;
        for (const char *c = name; *c; c++)
            if (*c == '=' || *c < ' ' || *c > '~') ok = false;
        if (!*name)
            required(v, pf(p, "%s[%zu].name", path, i), NULL);
        else if (!ok)
            invalid_str(v, pf(p, "%s[%zu].name", path, i), name,
                        "a valid environment variable name must consist only of printable ASCII characters "
                        "other than '='");
    }
}

/* ValidateVolumeMounts: the volume must exist, mount paths unique per container. */
static void volume_mounts(vctx *v, json_t *ctr, json_t *vols, const char *path)
{
    json_t *seen = json_object(), *m;
    char p[VP];
    size_t i;
    static const char *const props[] = {"Bidirectional", "HostToContainer", "None", NULL};
    json_t *priv = json_object_get(json_object_get(ctr, "securityContext"), "privileged");
    json_array_foreach(json_object_get(ctr, "volumeMounts"), i, m)
    {
        const char *name = jstr0(m, "name"), *mp = jstr0(m, "mountPath");
        const char *sub = jstr0(m, "subPath"), *expr = jstr0(m, "subPathExpr"),
                   *prop = jstr(m, "mountPropagation");
        if (!*name) required(v, pf(p, "%s[%zu].name", path, i), NULL);
        if (!json_object_get(vols, name)) not_found_str(v, pf(p, "%s[%zu].name", path, i), name);
        if (!*mp) required(v, pf(p, "%s[%zu].mountPath", path, i), NULL);
        if (json_object_get(seen, mp))
            invalid_str(v, pf(p, "%s[%zu].mountPath", path, i), mp, "must be unique");
        json_object_set_new(seen, mp, json_true());
        if (*sub) local_descending(v, sub, pf(p, "%s.subPath", path));
        if (*expr && *sub)
            invalid_str(v, pf(p, "%s[%zu].subPathExpr", path, i), expr,
                        "subPathExpr and subPath are mutually exclusive");
        if (*expr) local_descending(v, expr, pf(p, "%s.subPathExpr", path));
        if (prop && !in_list(prop, props)) unsupported(v, pf(p, "%s.mountPropagation", path), prop, props);
        if (prop && !strcmp(prop, "Bidirectional") && !json_is_true(priv))
            forbidden(v, pf(p, "%s.mountPropagation", path),
                      "Bidirectional mount propagation is available only to privileged containers");
    }
    json_decref(seen);
}

/* ==== pod spec: resources ==================================================================== */

static bool prefixed(const char *s, const char *pre)
{
    return !strncmp(s, pre, strlen(pre));
}

static bool standard_container_resource(const char *n)
{
    static const char *const std[] = {"cpu", "memory", "ephemeral-storage", NULL};
    return in_list(n, std) || prefixed(n, "hugepages-");
}

static bool standard_resource(const char *n)
{
    static const char *const std[] = {"cpu",
                                      "memory",
                                      "ephemeral-storage",
                                      "storage",
                                      "pods",
                                      "services",
                                      "replicationcontrollers",
                                      "resourcequotas",
                                      "secrets",
                                      "configmaps",
                                      "persistentvolumeclaims",
                                      "requests.cpu",
                                      "requests.memory",
                                      "requests.storage",
                                      "requests.ephemeral-storage",
                                      "limits.cpu",
                                      "limits.memory",
                                      "limits.ephemeral-storage",
                                      "services.nodeports",
                                      "services.loadbalancers",
                                      NULL};
    return in_list(n, std) || prefixed(n, "hugepages-") || prefixed(n, "requests.hugepages-");
}

/* IsOvercommitAllowed: native (unprefixed or kubernetes.io/) and not hugepages. */
static bool overcommit_allowed(const char *n)
{
    bool native = !strchr(n, '/') || strstr(n, "kubernetes.io/");
    return native && !prefixed(n, "hugepages-");
}

/* validateContainerResourceName */
static void resource_name(vctx *v, const char *name, const char *field)
{
    size_t before = v->added;
    name_rule(v, field, KC_NAME_QUALIFIED, name);
    bool qualified = v->added == before;
    if (qualified && !strchr(name, '/') && !standard_resource(name))
        invalid_str(v, field, name, "must be a standard resource type or fully qualified");
    if (!strchr(name, '/') && !standard_container_resource(name))
        invalid_str(v, field, name, "must be a standard resource for containers");
}

/* ValidateResourceQuantityValue: not negative. */
static void quantity_value(vctx *v, json_t *val, const char *field)
{
    kc_quantity q;
    char s[64];
    if (kc_quantity_from_json(val, &q) < 0 || !q.neg) return;
    kc_quantity_string(&q, s, sizeof s);
    invalid_str(v, field, s, "must be greater than or equal to 0");
}

/* One request against its limit: <= for overcommittable resources, == for the others. */
static void request_vs_limit(vctx *v, const char *name, json_t *rq, json_t *lim, const char *path)
{
    char p[VP], rs[64], ls[64], msg[256];
    kc_quantity r, l;
    if (!lim) {
        if (!overcommit_allowed(name))
            required(v, pf(p, "%s.limits", path), "Limit must be set for non overcommitable resources");
        return;
    }
    if (kc_quantity_from_json(rq, &r) < 0 || kc_quantity_from_json(lim, &l) < 0) return;
    kc_quantity_string(&r, rs, sizeof rs);
    kc_quantity_string(&l, ls, sizeof ls);
    int c = kc_quantity_cmp(&r, &l);
    if (c != 0 && !overcommit_allowed(name))
        snprintf(msg, sizeof msg, "must be equal to %s limit of %s", name, ls);
    else if (c > 0)
        snprintf(msg, sizeof msg, "must be less than or equal to %s limit of %s", name, ls);
    else
        return;
    invalid_str(v, pf(p, "%s.requests", path), rs, msg);
}

/* validateResourceRequirements (container flavour). */
static void resources_check(vctx *v, json_t *res, const char *path)
{
    json_t *lims = json_object_get(res, "limits"), *reqs = json_object_get(res, "requests"), *q;
    const char *name;
    char p[VP];
    bool cm = false, hp = false;
    json_object_foreach(lims, name, q)
    {
        pf(p, "%s.limits[%s]", path, name);
        resource_name(v, name, p);
        quantity_value(v, q, p);
        cm |= !strcmp(name, "cpu") || !strcmp(name, "memory");
        hp |= prefixed(name, "hugepages-");
    }
    json_object_foreach(reqs, name, q)
    {
        pf(p, "%s.requests[%s]", path, name);
        resource_name(v, name, p);
        quantity_value(v, q, p);
        request_vs_limit(v, name, q, json_object_get(lims, name), path);
        cm |= !strcmp(name, "cpu") || !strcmp(name, "memory");
        hp |= prefixed(name, "hugepages-");
    }
    if (hp && !cm) forbidden(v, path, "HugePages require cpu or memory");
}

/* ==== pod spec: containers =================================================================== */

/* validateContainerCommon */
static void container_common(vctx *v, json_t *c, const char *path, json_t *vols)
{
    char p[VP];
    static const char *const tmp[] = {"File", "FallbackToLogsOnError", NULL};
    const char *name = jstr0(c, "name");
    if (!*name)
        required(v, pf(p, "%s.name", path), NULL);
    else
        name_rule(v, pf(p, "%s.name", path), KC_NAME_LABEL, name);
    if (!*jstr0(c, "image")) required(v, pf(p, "%s.image", path), NULL);
    enum_field(v, c, "terminationMessagePolicy", pf(p, "%s.terminationMessagePolicy", path), tmp);
    container_ports(v, json_object_get(c, "ports"), pf(p, "%s.ports", path));
    env_check(v, json_object_get(c, "env"), pf(p, "%s.env", path));
    volume_mounts(v, c, vols, pf(p, "%s.volumeMounts", path));
    if (jstr(c, "imagePullPolicy") && !*jstr(c, "imagePullPolicy"))
        required(v, pf(p, "%s.imagePullPolicy", path), NULL);
    resources_check(v, json_object_get(c, "resources"), pf(p, "%s.resources", path));
}

/* AccumulateUniqueHostPorts over containers[from..to) reported under list path `path`, with
 * container index base+i (upstream reports each init container as index 0). */
static void host_ports(vctx *v, json_t *cs, size_t from, size_t to, size_t base, const char *path,
                       json_t *seen)
{
    char p[VP], key[320];
    for (size_t i = from; i < to; i++) {
        size_t j;
        json_t *port;
        json_array_foreach(json_object_get(json_array_get(cs, i), "ports"), j, port)
        {
            long long hp;
            if (!jint(port, "hostPort", &hp) || hp == 0) continue;
            const char *proto = jstr(port, "protocol");
            snprintf(key, sizeof key, "%s/%s/%lld", proto ? proto : "TCP", jstr0(port, "hostIP"), hp);
            pf(p, "%s[%zu].ports[%zu].hostPort", path, base + i - from, j);
            if (json_object_get(seen, key))
                duplicate_str(v, p, key);
            else
                json_object_set_new(seen, key, json_true());
        }
    }
}

/* validateContainers */
static void containers_check(vctx *v, json_t *spec, const char *path, json_t *vols)
{
    json_t *cs = json_object_get(spec, "containers"), *c, *names = json_object(), *seen = json_object();
    char p[VP], cp[VP];
    size_t i;
    if (!json_array_size(cs)) required(v, pf(p, "%s.containers", path), NULL);
    json_array_foreach(cs, i, c)
    {
        const char *name = jstr0(c, "name");
        pf(cp, "%s.containers[%zu]", path, i);
        container_common(v, c, cp, vols);
        if (json_object_get(names, name))
            duplicate_str(v, pf(p, "%s.name", cp), name);
        else
            json_object_set_new(names, name, json_true());
        if (json_object_get(c, "restartPolicy") && !json_is_null(json_object_get(c, "restartPolicy")))
            forbidden(v, pf(p, "%s.restartPolicy", cp), "may not be set for non-init containers");
    }
    host_ports(v, cs, 0, json_array_size(cs), 0, pf(p, "%s.containers", path), seen);
    json_decref(names);
    json_decref(seen);
}

static void init_only_fields(vctx *v, json_t *c, const char *cp)
{
    static const char *const f[] = {"lifecycle", "livenessProbe", "readinessProbe", "startupProbe", NULL};
    char p[VP];
    for (size_t k = 0; f[k]; k++)
        if (json_is_object(json_object_get(c, f[k])))
            forbidden(v, pf(p, "%s.%s", cp, f[k]),
                      "may not be set for init containers without restartPolicy=Always");
}

/* validateInitContainers: names unique across containers and init containers. */
static void init_containers_check(vctx *v, json_t *spec, const char *path, json_t *vols)
{
    json_t *cs = json_object_get(spec, "initContainers"), *c, *names = json_object();
    static const char *const always[] = {"Always", NULL};
    char p[VP], cp[VP], lp[VP];
    size_t i;
    json_array_foreach(json_object_get(spec, "containers"), i, c)
        json_object_set_new(names, jstr0(c, "name"), json_true());
    pf(lp, "%s.initContainers", path);
    json_array_foreach(cs, i, c)
    {
        const char *name = jstr0(c, "name"), *rp = jstr(c, "restartPolicy");
        pf(cp, "%s[%zu]", lp, i);
        container_common(v, c, cp, vols);
        if (rp && strcmp(rp, "Always")) unsupported(v, pf(p, "%s.restartPolicy", cp), rp, always);
        if (json_object_get(names, name))
            duplicate_str(v, pf(p, "%s.name", cp), name);
        else if (*name)
            json_object_set_new(names, name, json_true());
        json_t *seen = json_object();
        host_ports(v, cs, i, i + 1, 0, lp, seen);
        json_decref(seen);
        if (!rp || strcmp(rp, "Always")) init_only_fields(v, c, cp);
    }
    json_decref(names);
}

/* validatePodHostNetworkDeps: hostPort must equal containerPort (an absent one is defaulted). */
static void host_network(vctx *v, json_t *spec, const char *path, bool is_pod)
{
    char p[VP];
    size_t i, j;
    json_t *c, *port;
    if (!json_is_true(json_object_get(spec, "hostNetwork"))) return;
    json_array_foreach(json_object_get(spec, "containers"), i, c)
        json_array_foreach(json_object_get(c, "ports"), j, port)
    {
        long long hp, cp = 0;
        jint(port, "containerPort", &cp);
        if (!jint(port, "hostPort", &hp) || (!is_pod && hp == 0) || hp == cp) continue;
        invalid_int(v, pf(p, "%s.containers[%zu].ports[%zu].hostPort", path, i, j), hp,
                    "must match `containerPort` when `hostNetwork` is true");
    }
}

/* ValidateTolerations */
static void tolerations_check(vctx *v, json_t *tols, const char *path)
{
    static const char *const ops[] = {"Equal", "Exists", NULL};
    static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};
    char p[VP];
    size_t i;
    json_t *t;
    json_array_foreach(tols, i, t)
    {
        const char *key = jstr0(t, "key"), *op = jstr0(t, "operator"), *eff = jstr0(t, "effect"),
                   *val = jstr0(t, "value");
        if (*key) name_rule(v, pf(p, "%s[%zu].key", path, i), KC_NAME_QUALIFIED, key);
        if (!*key && strcmp(op, "Exists"))
            invalid_str(
                v, pf(p, "%s[%zu].operator", path, i), op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
        json_t *ts = json_object_get(t, "tolerationSeconds");
        if (ts && !json_is_null(ts) && strcmp(eff, "NoExecute"))
            invalid_str(v, pf(p, "%s[%zu].effect", path, i), eff,
                        "effect must be 'NoExecute' when `tolerationSeconds` is set");
        pf(p, "%s[%zu].operator", path, i);
        if (!*op || !strcmp(op, "Equal")) {
            const char *m[KC_NAME_MAXMSGS];
            size_t n = kc_name_check(KC_NAME_LABEL_VALUE, val, strlen(val), m);
            kc_buf b = KC_BUF_INIT;
            for (size_t k = 0; k < n; k++)
                kc_buf_addf(&b, "%s%s", k ? ";" : "", m[k]);
            kc_buf_add(&b, "", 1);
            if (n) invalid_str(v, p, val, b.data);
            kc_buf_release(&b);
        } else if (!strcmp(op, "Exists")) {
            if (*val) invalid_str(v, p, val, "value must be empty when `operator` is 'Exists'");
        } else {
            unsupported(v, p, op, ops);
        }
        if (*eff && !in_list(eff, effects)) unsupported(v, pf(p, "%s[%zu].effect", path, i), eff, effects);
    }
}

static void scheduling_gates(vctx *v, json_t *gates, const char *path)
{
    json_t *seen = json_object(), *g;
    char p[VP];
    size_t i;
    json_array_foreach(gates, i, g)
    {
        const char *name = jstr0(g, "name");
        name_rule(v, pf(p, "%s[%zu]", path, i), KC_NAME_QUALIFIED, name);
        if (json_object_get(seen, name)) duplicate_str(v, p, name);
        json_object_set_new(seen, name, json_true());
    }
    json_decref(seen);
}

static void opt_name(vctx *v, json_t *spec, const char *key, const char *path, kc_name_rule rule)
{
    char p[VP];
    const char *s = jstr0(spec, key);
    if (*s) name_rule(v, pf(p, "%s.%s", path, key), rule, s);
}

/* ValidatePodSpec (the parts kept); extra_vols names volumes that exist without being listed
 * (a StatefulSet's volumeClaimTemplates). */
static void pod_spec(vctx *v, json_t *spec, const char *path, json_t *extra_vols, bool is_pod)
{
    static const char *const restart[] = {"Always", "OnFailure", "Never", NULL};
    static const char *const dns[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None", NULL};
    char p[VP];
    long long ads;
    json_t *vols = volumes_check(v, json_object_get(spec, "volumes"), pf(p, "%s.volumes", path));
    json_object_update_missing(vols, extra_vols);
    containers_check(v, spec, path, vols);
    init_containers_check(v, spec, path, vols);
    host_network(v, spec, path, is_pod);
    enum_field(v, spec, "restartPolicy", pf(p, "%s.restartPolicy", path), restart);
    enum_field(v, spec, "dnsPolicy", pf(p, "%s.dnsPolicy", path), dns);
    labels_check(v, json_object_get(spec, "nodeSelector"), pf(p, "%s.nodeSelector", path));
    scheduling_gates(v, json_object_get(spec, "schedulingGates"), pf(p, "%s.schedulingGates", path));
    opt_name(v, spec, "serviceAccountName", path, KC_NAME_SUBDOMAIN);
    opt_name(v, spec, "nodeName", path, KC_NAME_SUBDOMAIN);
    if (jint(spec, "activeDeadlineSeconds", &ads) && (ads < 1 || ads > INT32_MAX))
        invalid_int(v, pf(p, "%s.activeDeadlineSeconds", path), ads,
                    "must be between 1 and 2147483647, inclusive");
    opt_name(v, spec, "hostname", path, KC_NAME_LABEL);
    opt_name(v, spec, "subdomain", path, KC_NAME_LABEL);
    tolerations_check(v, json_object_get(spec, "tolerations"), pf(p, "%s.tolerations", path));
    opt_name(v, spec, "priorityClassName", path, KC_NAME_SUBDOMAIN);
    json_decref(vols);
}

/* ValidatePodTemplateSpec: labels, the pod spec, no ephemeral containers. */
static void pod_template(vctx *v, json_t *tmpl, const char *path, json_t *extra_vols)
{
    char p[VP];
    json_t *spec = json_object_get(tmpl, "spec"), *empty = NULL;
    if (!json_is_object(spec)) spec = empty = json_object();
    labels_check(v, json_object_get(json_object_get(tmpl, "metadata"), "labels"), pf(p, "%s.labels", path));
    pod_spec(v, spec, pf(p, "%s.spec", path), extra_vols, false);
    if (json_array_size(json_object_get(spec, "ephemeralContainers")))
        forbidden(v, pf(p, "%s.spec.ephemeralContainers", path),
                  "ephemeral containers not allowed in pod template");
    json_decref(empty);
}

/* ==== pods =================================================================================== */

static json_t *spec_of(json_t *obj)
{
    return json_object_get(obj, "spec");
}

/* Sets obj[key] to a copy of val, or removes key when val is absent. */
static void set_or_del(json_t *obj, const char *key, json_t *val)
{
    if (val)
        json_object_set_new(obj, key, json_deep_copy(val));
    else
        json_object_del(obj, key);
}

static bool has_edge_space(const char *s)
{
    size_t n = strlen(s);
    return n && (strchr(" \t\n\v\f\r", s[0]) || strchr(" \t\n\v\f\r", s[n - 1]));
}

/* validateContainersOnlyForPod: no whitespace around images. */
static void pod_images(vctx *v, json_t *spec, const char *list)
{
    char p[VP];
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, list), i, c) if (has_edge_space(jstr0(c, "image")))
        invalid_str(v, pf(p, "spec.%s[%zu].image", list, i), jstr0(c, "image"),
                    "must not have leading or trailing whitespace");
}

/* validatePodMetadataAndSpec without the metadata. */
static void pod_spec_rules(vctx *v, json_t *spec)
{
    pod_spec(v, spec, "spec", NULL, true);
    pod_images(v, spec, "containers");
    pod_images(v, spec, "initContainers");
}

/* ValidatePodCreate */
static void pod_create(vctx *v, json_t *pod)
{
    json_t *spec = spec_of(pod);
    pod_spec_rules(v, spec);
    if (json_array_size(json_object_get(spec, "ephemeralContainers")))
        forbidden(v, "spec.ephemeralContainers", "cannot be set on create");
    if (*jstr0(spec, "nodeName") && json_array_size(json_object_get(spec, "schedulingGates")))
        forbidden(v, "spec.nodeName", "cannot be set until all schedulingGates have been cleared");
}

/* ValidateContainerUpdates: true (stop) when containers were added or removed. */
static bool container_updates(vctx *v, json_t *ns, json_t *os, const char *list)
{
    char p[VP];
    json_t *n = json_object_get(ns, list), *c;
    size_t i;
    if (json_array_size(n) != json_array_size(json_object_get(os, list))) {
        forbidden(v, pf(p, "spec.%s", list), "pod updates may not add or remove containers");
        return true;
    }
    json_array_foreach(n, i, c)
    {
        const char *img = jstr0(c, "image");
        if (!*img) required(v, pf(p, "spec.%s[%zu].image", list, i), NULL);
        if (has_edge_space(img)) invalid_str(v, p, img, "must not have leading or trailing whitespace");
    }
    return false;
}

/* activeDeadlineSeconds may be set, or lowered; true (stop) on a bad change. */
static bool active_deadline_update(vctx *v, json_t *ns, json_t *os)
{
    long long n, o;
    bool has_o = jint(os, "activeDeadlineSeconds", &o);
    if (jint(ns, "activeDeadlineSeconds", &n)) {
        if (n < 0 || n > INT32_MAX) {
            invalid_int(v, "spec.activeDeadlineSeconds", n, "must be between 0 and 2147483647, inclusive");
            return true;
        }
        if (has_o && o < n) {
            invalid_int(v, "spec.activeDeadlineSeconds", n, "must be less than or equal to previous value");
            return true;
        }
    } else if (has_o) {
        invalid_raw(v, "spec.activeDeadlineSeconds", "\"null\"",
                    "must not update from a positive integer to nil value");
    }
    return false;
}

static bool toleration_equal_but_seconds(json_t *a, json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    json_object_del(x, "tolerationSeconds");
    json_object_del(y, "tolerationSeconds");
    bool eq = sem_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

/* validateOnlyAddedTolerations */
static void tolerations_update(vctx *v, json_t *ns, json_t *os)
{
    json_t *nt = json_object_get(ns, "tolerations"), *o, *t;
    size_t i, j;
    json_array_foreach(json_object_get(os, "tolerations"), i, o)
    {
        bool found = false;
        json_array_foreach(nt, j, t) found |= toleration_equal_but_seconds(o, t);
        if (!found) {
            forbidden(v, "spec.tolerations",
                      "existing toleration can not be modified except its tolerationSeconds");
            return;
        }
    }
    tolerations_check(v, nt, "spec.tolerations");
}

/* validateOnlyDeletedSchedulingGates */
static void gates_update(vctx *v, json_t *ns, json_t *os)
{
    char p[VP], msg[512];
    size_t i, j;
    json_t *g, *og;
    json_array_foreach(json_object_get(ns, "schedulingGates"), i, g)
    {
        bool old_gate = false;
        json_array_foreach(json_object_get(os, "schedulingGates"), j, og) old_gate |=
            !strcmp(jstr0(g, "name"), jstr0(og, "name"));
        if (old_gate) continue;
        snprintf(msg, sizeof msg, "only deletion is allowed, but found new scheduling gate '%s'",
                 jstr0(g, "name"));
        forbidden(v, pf(p, "spec.schedulingGates[%zu].name", i), msg);
    }
}

/* Copies the old images into the new containers of list (the munging before the spec compare). */
static void munge_images(json_t *m, json_t *os, const char *list)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(m, list), i, c)
        set_or_del(c, "image", json_object_get(json_array_get(json_object_get(os, list), i), "image"));
}

#define POD_UPDATABLE                                                                                        \
    "pod updates may not change fields other than `spec.containers[*].image`,"                               \
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "                  \
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "           \
    "to 1 if it was previously negative)"

/* The spec must not change beyond the updatable fields (and a first spec.nodeName). */
static void pod_spec_immutable(vctx *v, json_t *ns, json_t *os)
{
    long long ot, nt;
    json_t *m = json_deep_copy(ns);
    munge_images(m, os, "containers");
    munge_images(m, os, "initContainers");
    set_or_del(m, "activeDeadlineSeconds", json_object_get(os, "activeDeadlineSeconds"));
    set_or_del(m, "schedulingGates", json_object_get(os, "schedulingGates"));
    set_or_del(m, "tolerations", json_object_get(os, "tolerations"));
    if (jint(os, "terminationGracePeriodSeconds", &ot) && ot < 0 &&
        jint(m, "terminationGracePeriodSeconds", &nt) && nt == 1)
        set_or_del(m, "terminationGracePeriodSeconds", json_object_get(os, "terminationGracePeriodSeconds"));
    if (!*jstr0(os, "nodeName")) set_or_del(m, "nodeName", json_object_get(os, "nodeName"));
    if (!sem_equal(m, os)) forbidden_diff(v, "spec", POD_UPDATABLE, "core.PodSpec", os, m);
    json_decref(m);
}

/* ValidatePodUpdate */
static void pod_update(vctx *v, json_t *pod, json_t *old)
{
    json_t *ns = spec_of(pod), *os = spec_of(old);
    pod_spec_rules(v, ns);
    if (container_updates(v, ns, os, "containers") || container_updates(v, ns, os, "initContainers")) return;
    if (active_deadline_update(v, ns, os)) return;
    tolerations_update(v, ns, os);
    gates_update(v, ns, os);
    if (!sem_equal(ns, os)) pod_spec_immutable(v, ns, os);
}

/* ==== workloads ============================================================================== */

/* spec.selector of Deployments, ReplicaSets and StatefulSets: required, valid, not empty.
 * Returns the built selector (NULL when it cannot be built, reported as invalid_msg). */
static kc_labelsel *workload_selector(vctx *v, json_t *spec, const char *kind, const char *invalid_msg)
{
    json_t *sel = json_object_get(spec, "selector");
    char msg[128];
    if (!json_is_object(sel)) {
        required(v, "spec.selector", NULL);
    } else {
        selector_check(v, sel, "spec.selector");
        if (!json_array_size(json_object_get(sel, "matchExpressions")) &&
            !json_object_size(json_object_get(sel, "matchLabels"))) {
            snprintf(msg, sizeof msg, "empty selector is invalid for %s", kind);
            invalid_go(v, "spec.selector", go_selector, sel, msg);
        }
    }
    kc_labelsel *s = selector_build(json_is_object(sel) ? sel : NULL);
    if (!s) invalid_go(v, "spec.selector", go_selector, sel, invalid_msg);
    return s;
}

static json_t *template_labels(json_t *spec)
{
    return json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels");
}

/* The template's labels must match the selector (unless it selects everything). */
static void template_matches(vctx *v, kc_labelsel *s, json_t *spec, bool skip_everything)
{
    json_t *labels = template_labels(spec);
    if (!s || (skip_everything && kc_labelsel_empty(s)) || kc_labelsel_match(s, labels)) return;
    invalid_go(v, "spec.template.metadata.labels", go_labels, labels,
               "`selector` does not match template `labels`");
}

/* The pod template of a controller: restartPolicy Always, no activeDeadlineSeconds. */
static void template_policies(vctx *v, json_t *spec, const char *owner)
{
    static const char *const always[] = {"Always", NULL};
    char msg[128];
    json_t *tspec = json_object_get(json_object_get(spec, "template"), "spec");
    const char *rp = jstr(tspec, "restartPolicy");
    if (rp && strcmp(rp, "Always")) unsupported(v, "spec.template.spec.restartPolicy", rp, always);
    json_t *ads = json_object_get(tspec, "activeDeadlineSeconds");
    snprintf(msg, sizeof msg, "activeDeadlineSeconds in %s is not Supported", owner);
    if (ads && !json_is_null(ads)) forbidden(v, "spec.template.spec.activeDeadlineSeconds", msg);
}

static void controller_template(vctx *v, json_t *spec, json_t *extra_vols, const char *owner)
{
    pod_template(v, json_object_get(spec, "template"), "spec.template", extra_vols);
    template_policies(v, spec, owner);
}

/* ValidateReplicaSetSpec (also the selector/template half of ValidateDeploymentSpec). */
static void replicaset_spec(vctx *v, json_t *spec)
{
    kc_labelsel *s = workload_selector(v, spec, "deployment", "invalid label selector");
    template_matches(v, s, spec, true);
    if (s) controller_template(v, spec, NULL, "ReplicaSet");
    kc_labelsel_free(s);
}

/* apps/v1 registry strategies: spec.selector may not change. */
static void selector_immutable(vctx *v, json_t *spec, json_t *ospec)
{
    json_t *n = json_object_get(spec, "selector");
    if (sem_equal(n, json_object_get(ospec, "selector"))) return;
    if (!json_is_object(n))
        invalid_raw(v, "spec.selector", "\"null\"", "field is immutable");
    else
        invalid_go(v, "spec.selector", go_selector, n, "field is immutable");
}

static void replicaset_rules(vctx *v, json_t *obj, json_t *old)
{
    json_t *spec = spec_of(obj);
    nonneg(v, spec, "replicas", "spec.replicas");
    nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
    replicaset_spec(v, spec);
    if (old) selector_immutable(v, spec, spec_of(old));
}

/* ValidateRollingUpdateDeployment; absent values are upstream's defaults (25%). */
static void deployment_rolling(vctx *v, json_t *ru)
{
    json_t *dflt = json_string("25%");
    json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
    mu = mu && !json_is_null(mu) ? mu : dflt;
    ms = ms && !json_is_null(ms) ? ms : dflt;
    positive_int_or_percent(v, mu, "spec.strategy.rollingUpdate.maxUnavailable");
    positive_int_or_percent(v, ms, "spec.strategy.rollingUpdate.maxSurge");
    if (intstr_value(mu) == 0 && intstr_value(ms) == 0)
        invalid_go(v, "spec.strategy.rollingUpdate.maxUnavailable", go_intstr, mu,
                   "may not be 0 when `maxSurge` is 0");
    not_more_than_100(v, mu, "spec.strategy.rollingUpdate.maxUnavailable");
    json_decref(dflt);
}

/* ValidateDeploymentStrategy (an unknown type is the field schema's). */
static void deployment_strategy(vctx *v, json_t *st)
{
    const char *type = jstr(st, "type");
    json_t *ru = json_object_get(st, "rollingUpdate");
    bool has_ru = ru && !json_is_null(ru);
    if (type && !strcmp(type, "Recreate") && has_ru)
        forbidden(v, "spec.strategy.rollingUpdate",
                  "may not be specified when strategy `type` is 'Recreate'");
    else if ((!type || !strcmp(type, "RollingUpdate")) && has_ru)
        deployment_rolling(v, ru);
}

static void deployment_rules(vctx *v, json_t *obj, json_t *old)
{
    json_t *spec = spec_of(obj);
    long long pds, mrs = 0;
    nonneg(v, spec, "replicas", "spec.replicas");
    replicaset_spec(v, spec);
    deployment_strategy(v, json_object_get(spec, "strategy"));
    nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
    nonneg(v, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit");
    if (jint(spec, "progressDeadlineSeconds", &pds)) {
        nonneg(v, spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds");
        jint(spec, "minReadySeconds", &mrs);
        if (pds <= mrs)
            invalid_int(v, "spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds");
    }
    if (old) selector_immutable(v, spec, spec_of(old));
}

/* apps.RollingUpdateStatefulSetStrategy{Partition:0, MaxUnavailable:(*intstr.IntOrString)(nil)} */
static void go_sts_rolling(kc_buf *b, json_t *ru)
{
    long long part = 0;
    jint(ru, "partition", &part);
    json_t *mu = json_object_get(ru, "maxUnavailable");
    kc_buf_addf(b, "apps.RollingUpdateStatefulSetStrategy{Partition:%lld, MaxUnavailable:%s}", part,
                mu && !json_is_null(mu) ? "(*intstr.IntOrString)(0xc000000000)"
                                        : "(*intstr.IntOrString)(nil)");
}

static void go_sts_strategy(kc_buf *b, json_t *st)
{
    json_t *ru = json_object_get(st, "rollingUpdate");
    kc_buf_adds(b, "apps.StatefulSetUpdateStrategy{Type:");
    bq(b, jstr0(st, "type"));
    kc_buf_addf(b, ", RollingUpdate:%s}",
                ru && !json_is_null(ru) ? "(*apps.RollingUpdateStatefulSetStrategy)(0xc000000000)"
                                        : "(*apps.RollingUpdateStatefulSetStrategy)(nil)");
}

static void sts_update_strategy(vctx *v, json_t *st)
{
    const char *type = jstr(st, "type");
    json_t *ru = json_object_get(st, "rollingUpdate"), *mu = json_object_get(ru, "maxUnavailable");
    bool has_ru = ru && !json_is_null(ru);
    const char *mp = "spec.updateStrategy.rollingUpdate.maxUnavailable";
    if (!type) return;
    if (!*type) {
        required(v, "spec.updateStrategy", NULL);
    } else if (!strcmp(type, "OnDelete")) {
        if (has_ru)
            invalid_go(v, "spec.updateStrategy.rollingUpdate", go_sts_rolling, ru,
                       "only allowed for updateStrategy 'RollingUpdate'");
    } else if (!strcmp(type, "RollingUpdate")) {
        if (!has_ru) return;
        nonneg(v, ru, "partition", "spec.updateStrategy.rollingUpdate.partition");
        if (!mu || json_is_null(mu)) return;
        positive_int_or_percent(v, mu, mp);
        if (intstr_value(mu) == 0) invalid_go(v, mp, go_intstr, mu, "cannot be 0");
        not_more_than_100(v, mu, mp);
    } else {
        invalid_go(v, "spec.updateStrategy", go_sts_strategy, st, "must be 'RollingUpdate' or 'OnDelete'");
    }
}

static void sts_policies(vctx *v, json_t *spec)
{
    static const char *const retention[] = {"Retain", "Delete", NULL};
    json_t *pol = json_object_get(spec, "persistentVolumeClaimRetentionPolicy");
    const char *pmp = jstr(spec, "podManagementPolicy");
    if (pmp && !*pmp)
        required(v, "spec.podManagementPolicy", NULL);
    else if (pmp && strcmp(pmp, "OrderedReady") && strcmp(pmp, "Parallel"))
        invalid_str(v, "spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'");
    sts_update_strategy(v, json_object_get(spec, "updateStrategy"));
    const char *wd = jstr(pol, "whenDeleted"), *ws = jstr(pol, "whenScaled");
    if (wd && !in_list(wd, retention))
        unsupported(v, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted", wd, retention);
    if (ws && !in_list(ws, retention))
        unsupported(v, "spec.persistentVolumeClaimRetentionPolicy.whenScaled", ws, retention);
}

/* The names of the volumeClaimTemplates, which the pods get as volumes. */
static json_t *claim_template_names(json_t *spec)
{
    json_t *names = json_object(), *t;
    size_t i;
    json_array_foreach(json_object_get(spec, "volumeClaimTemplates"), i, t)
    {
        const char *n = jstr(json_object_get(t, "metadata"), "name");
        if (n && *n) json_object_set_new(names, n, json_true());
    }
    return names;
}

/* ValidateStatefulSetSpec; the pod template is validated too (upstream leaves a TODO there),
 * with the claim templates counted as volumes. */
static void statefulset_spec(vctx *v, json_t *spec)
{
    sts_policies(v, spec);
    nonneg(v, spec, "replicas", "spec.replicas");
    nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
    nonneg(v, json_object_get(spec, "ordinals"), "start", "spec.ordinals.start");
    kc_labelsel *s = workload_selector(v, spec, "statefulset", "");
    template_matches(v, s, spec, true);
    if (s) {
        json_t *claims = claim_template_names(spec);
        pod_template(v, json_object_get(spec, "template"), "spec.template", claims);
        json_decref(claims);
    }
    template_policies(v, spec, "StatefulSet");
    kc_labelsel_free(s);
}

/* ValidateStatefulSetUpdate: only some spec fields may change. */
static void statefulset_update(vctx *v, json_t *spec, json_t *ospec)
{
    static const char *const mutable_fields[] = {"replicas",
                                                 "template",
                                                 "updateStrategy",
                                                 "minReadySeconds",
                                                 "ordinals",
                                                 "persistentVolumeClaimRetentionPolicy",
                                                 "revisionHistoryLimit",
                                                 NULL};
    json_t *a = json_deep_copy(spec), *b = json_deep_copy(ospec);
    for (size_t i = 0; mutable_fields[i]; i++) {
        json_object_del(a, mutable_fields[i]);
        json_object_del(b, mutable_fields[i]);
    }
    if (!sem_equal(a, b))
        forbidden(v, "spec",
                  "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                  "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                  "'minReadySeconds' are forbidden");
    json_decref(a);
    json_decref(b);
}

static void statefulset_rules(vctx *v, json_t *obj, json_t *old)
{
    statefulset_spec(v, spec_of(obj));
    if (old) statefulset_update(v, spec_of(obj), spec_of(old));
}

/* ValidateRollingUpdateDaemonSet; absent values are upstream's defaults (1 and 0). */
static void daemonset_rolling(vctx *v, json_t *ru)
{
    const char *mup = "spec.updateStrategy.rollingUpdate.maxUnavailable";
    const char *msp = "spec.updateStrategy.rollingUpdate.maxSurge";
    json_t *d1 = json_integer(1), *d0 = json_integer(0);
    json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
    mu = mu && !json_is_null(mu) ? mu : d1;
    ms = ms && !json_is_null(ms) ? ms : d0;
    positive_int_or_percent(v, mu, mup);
    positive_int_or_percent(v, ms, msp);
    not_more_than_100(v, mu, mup);
    not_more_than_100(v, ms, msp);
    bool has_u = intstr_value(mu) != 0, has_s = intstr_value(ms) != 0;
    if (has_u && has_s)
        invalid_go(v, msp, go_intstr, ms, "may not be set when maxUnavailable is non-zero");
    else if (!has_u && !has_s)
        required(v, mup, "cannot be 0 when maxSurge is 0");
    json_decref(d1);
    json_decref(d0);
}

/* ValidateDaemonSetSpec */
static void daemonset_spec(vctx *v, json_t *spec)
{
    json_t *sel = json_object_get(spec, "selector"), *st = json_object_get(spec, "updateStrategy");
    selector_check(v, sel, "spec.selector");
    kc_labelsel *s = selector_build(json_is_object(sel) ? sel : NULL);
    template_matches(v, s, spec, false);
    if (json_is_object(sel) && !json_array_size(json_object_get(sel, "matchExpressions")) &&
        !json_object_size(json_object_get(sel, "matchLabels")))
        invalid_go(v, "spec.selector", go_selector, sel, "empty selector is invalid for daemonset");
    controller_template(v, spec, NULL, "DaemonSet");
    nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
    nonneg(v, spec, "templateGeneration", "spec.templateGeneration");
    const char *type = jstr(st, "type");
    json_t *ru = json_object_get(st, "rollingUpdate");
    if ((!type || !strcmp(type, "RollingUpdate")) && json_is_object(ru)) daemonset_rolling(v, ru);
    nonneg(v, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit");
    kc_labelsel_free(s);
}

static void daemonset_rules(vctx *v, json_t *obj, json_t *old)
{
    daemonset_spec(v, spec_of(obj));
    if (old) selector_immutable(v, spec_of(obj), spec_of(old));
}

/* ==== services =============================================================================== */

#define IP_MSG "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"

static bool valid_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* The clusterIPs of a stored service (a store may keep only clusterIP). */
static json_t *stored_cluster_ips(json_t *spec)
{
    json_t *ips = json_object_get(spec, "clusterIPs");
    const char *ip = jstr0(spec, "clusterIP");
    if (json_is_array(ips)) return json_incref(ips);
    return *ip ? json_pack("[s]", ip) : json_array();
}

static bool same_ips(json_t *a, json_t *b)
{
    return sem_equal(a, b);
}

/* normalizeClusterIPs (registry strategy): the clusterIPs the server validates, owned. */
static json_t *effective_cluster_ips(json_t *spec, json_t *ospec)
{
    json_t *ips = json_object_get(spec, "clusterIPs");
    const char *ip = jstr0(spec, "clusterIP");
    json_t *eff = json_is_array(ips) ? json_deep_copy(ips) : json_array();
    if (!ospec) {
        if (*ip && !json_array_size(eff)) json_array_append_new(eff, json_string(ip));
        return eff;
    }
    json_t *oips = stored_cluster_ips(ospec);
    const char *oip = jstr0(ospec, "clusterIP");
    if (json_array_size(oips) && !json_array_size(eff) && !strcmp(oip, ip)) {
        json_decref(eff);
        eff = json_deep_copy(oips);
    }
    if (strcmp(oip, ip)) {
        if (*oip && !*ip && same_ips(oips, eff)) json_array_clear(eff);
        if (same_ips(oips, eff)) {
            json_array_clear(eff);
            json_array_append_new(eff, json_string(ip));
        }
    }
    json_decref(oips);
    return eff;
}

static bool headless(json_t *ips)
{
    return json_array_size(ips) == 1 && !strcmp(json_string_value(json_array_get(ips, 0)) ?: "", "None");
}

static void go_ips(kc_buf *b, json_t *ips)
{
    go_strslice(b, json_array_size(ips) ? ips : NULL);
}

static const char *ip_at(json_t *ips, size_t i)
{
    return json_string_value(json_array_get(ips, i)) ?: "";
}

/* validateUpgradeDowngradeClusterIPs */
static void cluster_ips_update(vctx *v, json_t *spec, json_t *eff, json_t *ospec, json_t *oeff)
{
    char p[VP];
    size_t n = json_array_size(eff), o = json_array_size(oeff);
    if (!strcmp(jstr0(spec, "type"), "ExternalName") || !strcmp(jstr0(ospec, "type"), "ExternalName")) return;
    if (headless(eff) && headless(oeff)) return;
    if (n == o) {
        for (size_t i = 0; i < o; i++)
            if (strcmp(ip_at(oeff, i), ip_at(eff, i)))
                invalid_go(v, pf(p, "spec.clusterIPs[%zu]", i), go_ips, eff, "may not change once set");
    } else if (o > n) {
        if (!n) invalid_go(v, "spec.clusterIPs[0]", go_ips, eff, "primary clusterIP can not be unset");
        if (n && strcmp(ip_at(eff, 0), ip_at(oeff, 0)))
            invalid_go(v, "spec.clusterIPs[0]", go_ips, eff, "may not change once set");
        const char *pol = jstr(spec, "ipFamilyPolicy");
        if (n == 1 && (!pol || strcmp(pol, "SingleStack"))) {
            kc_buf b = KC_BUF_INIT;
            bq(&b, pol ? pol : "null");
            kc_buf_add(&b, "", 1);
            invalid_raw(v, "spec.ipFamilyPolicy", b.data,
                        "must be set to 'SingleStack' when releasing the secondary clusterIP");
            kc_buf_release(&b);
        }
    } else if (o && strcmp(ip_at(eff, 0), ip_at(oeff, 0))) {
        invalid_go(v, "spec.clusterIPs[0]", go_ips, eff, "may not change once set");
    }
}

/* validateServicePort */
static void service_port(vctx *v, json_t *sp, bool require_name, json_t *names, const char *pp)
{
    char p[VP];
    long long port = 0;
    const char *name = jstr0(sp, "name");
    json_t *tp = json_object_get(sp, "targetPort");
    if (require_name && !*name)
        required(v, pf(p, "%s.name", pp), NULL);
    else if (*name) {
        name_rule(v, pf(p, "%s.name", pp), KC_NAME_LABEL, name);
        if (json_object_get(names, name))
            duplicate_str(v, p, name);
        else
            json_object_set_new(names, name, json_true());
    }
    jint(sp, "port", &port);
    if (!port_ok(port)) invalid_int(v, pf(p, "%s.port", pp), port, PORT_MSG);
    enum_field(v, sp, "protocol", pf(p, "%s.protocol", pp), protocols);
    pf(p, "%s.targetPort", pp);
    if (json_is_integer(tp) && !port_ok((long long)json_integer_value(tp)))
        invalid_int(v, p, (long long)json_integer_value(tp), PORT_MSG);
    else if (json_is_string(tp))
        name_rule(v, p, KC_NAME_IANA_SVC, json_string_value(tp));
    if (jstr(sp, "appProtocol"))
        name_rule(v, pf(p, "%s.appProtocol", pp), KC_NAME_QUALIFIED, jstr(sp, "appProtocol"));
}

/* The type-specific rules: headless NodePort/LoadBalancer, ExternalName. */
static void service_type_rules(vctx *v, json_t *spec, json_t *eff, const char *type)
{
    char msg[128];
    if ((!strcmp(type, "LoadBalancer") || !strcmp(type, "NodePort")) && headless(eff)) {
        snprintf(msg, sizeof msg, "may not be set to 'None' for %s services", type);
        invalid_str(v, "spec.clusterIPs[0]", "None", msg);
    }
    if (strcmp(type, "ExternalName")) return;
    if (json_array_size(eff)) forbidden(v, "spec.clusterIPs", "may not be set for ExternalName services");
    if (json_array_size(json_object_get(spec, "ipFamilies")))
        forbidden(v, "spec.ipFamilies", "may not be set for ExternalName services");
    if (jstr(spec, "ipFamilyPolicy"))
        forbidden(v, "spec.ipFamilyPolicy", "may not be set for ExternalName services");
    char cname[512];
    snprintf(cname, sizeof cname, "%s", jstr0(spec, "externalName"));
    size_t n = strlen(cname);
    if (n && cname[n - 1] == '.') cname[--n] = 0;
    if (n)
        name_rule(v, "spec.externalName", KC_NAME_SUBDOMAIN, cname);
    else
        required(v, "spec.externalName", NULL);
}

/* ValidateServiceClusterIPsRelatedFields (IP families aside). */
static void service_ips(vctx *v, json_t *spec, json_t *eff)
{
    char p[VP];
    const char *ip = jstr0(spec, "clusterIP");
    if (*ip && !json_array_size(eff))
        required(v, "spec.clusterIPs", NULL);
    else if (*ip && strcmp(ip_at(eff, 0), ip))
        invalid_go(v, "spec.clusterIPs", go_ips, eff, "first value must match `clusterIP`");
    else if (!*ip && json_array_size(eff))
        invalid_go(v, "spec.clusterIPs", go_ips, eff, "must be empty when `clusterIP` is not specified");
    for (size_t i = 0; i < json_array_size(eff); i++) {
        if (i == 0 && !strcmp(ip_at(eff, 0), "None")) {
            if (json_array_size(eff) > 1)
                invalid_go(v, "spec.clusterIPs", go_ips, eff, "'None' must be the first and only value");
            continue;
        }
        if (!valid_ip(ip_at(eff, i))) invalid_str(v, pf(p, "spec.clusterIPs[%zu]", i), ip_at(eff, i), IP_MSG);
    }
    if (json_array_size(eff) > 2)
        invalid_go(v, "spec.clusterIPs", go_ips, eff, "may only hold up to 2 values");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(spec, "externalIPs"), i, e) if (!valid_ip(json_string_value(e) ?: ""))
        invalid_str(v, pf(p, "spec.externalIPs[%zu]", i), json_string_value(e) ?: "", IP_MSG);
}

/* core.ServicePort{Name:"", Protocol:"TCP", ..., Port:80, ...}: the key of a duplicate port. */
static void go_port_key(kc_buf *b, json_t *sp)
{
    long long port = 0;
    const char *proto = jstr(sp, "protocol");
    jint(sp, "port", &port);
    kc_buf_adds(b, "core.ServicePort{Name:\"\", Protocol:");
    bq(b, proto ? proto : "TCP");
    kc_buf_addf(b,
                ", AppProtocol:(*string)(nil), Port:%lld, TargetPort:intstr.IntOrString{Type:0, IntVal:0, "
                "StrVal:\"\"}, NodePort:0}",
                port);
}

/* Per-port rules that look at all ports: nodePort use, duplicate nodePorts and ports. */
static void service_port_sets(vctx *v, json_t *ports, const char *type)
{
    json_t *nodeports = json_object(), *keys = json_object(), *sp;
    char p[VP], key[64];
    size_t i;
    json_array_foreach(ports, i, sp)
    {
        long long np = 0, port = 0;
        const char *proto = jstr(sp, "protocol") ?: "TCP";
        jint(sp, "nodePort", &np);
        jint(sp, "port", &port);
        if (np && !strcmp(type, "ClusterIP"))
            forbidden(v, pf(p, "spec.ports[%zu].nodePort", i), "may not be used when `type` is 'ClusterIP'");
        snprintf(key, sizeof key, "%s/%lld", proto, np);
        if (np && json_object_get(nodeports, key)) {
            char num[32];
            snprintf(num, sizeof num, "%lld", np);
            vaddf(v, "FieldValueDuplicate", pf(p, "spec.ports[%zu].nodePort", i), "Duplicate value: %s", num);
        }
        if (np) json_object_set_new(nodeports, key, json_true());
        snprintf(key, sizeof key, "%s/%lld", proto, port);
        if (json_object_get(keys, key)) {
            kc_buf b = KC_BUF_INIT;
            kc_buf_adds(&b, "Duplicate value: ");
            go_port_key(&b, sp);
            kc_buf_add(&b, "", 1);
            vcause(v, "FieldValueDuplicate", pf(p, "spec.ports[%zu]", i), b.data);
            kc_buf_release(&b);
        }
        json_object_set_new(keys, key, json_true());
    }
    json_decref(nodeports);
    json_decref(keys);
}

/* Fields only LoadBalancer (or externally reachable) services may set. */
static void service_lb_fields(vctx *v, json_t *spec, const char *type)
{
    bool lb = !strcmp(type, "LoadBalancer");
    bool external = lb || !strcmp(type, "NodePort") ||
                    (!strcmp(type, "ClusterIP") && json_array_size(json_object_get(spec, "externalIPs")));
    const char *etp = jstr0(spec, "externalTrafficPolicy");
    json_t *alloc = json_object_get(spec, "allocateLoadBalancerNodePorts");
    if (json_array_size(json_object_get(spec, "loadBalancerSourceRanges")) && !lb)
        forbidden(v, "spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'");
    if (alloc && !json_is_null(alloc) && !lb)
        forbidden(v, "spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'");
    if (*etp && !external)
        invalid_str(v, "spec.externalTrafficPolicy", etp,
                    "may only be set for externally-accessible services");
}

/* ValidateService (+ ValidateServiceUpdate's clusterIPs rule when old is given). */
static void service_rules(vctx *v, json_t *obj, json_t *old)
{
    json_t *spec = spec_of(obj), *ospec = old ? spec_of(old) : NULL, *ports = json_object_get(spec, "ports"),
           *sp;
    json_t *eff = effective_cluster_ips(spec, ospec), *names = json_object();
    const char *type = jstr(spec, "type") ?: "ClusterIP";
    char p[VP];
    size_t i;
    if (old) {
        json_t *oeff = stored_cluster_ips(ospec);
        cluster_ips_update(v, spec, eff, ospec, oeff);
        json_decref(oeff);
    }
    if (!json_array_size(ports) && !headless(eff) && strcmp(type, "ExternalName"))
        required(v, "spec.ports", NULL);
    service_type_rules(v, spec, eff, type);
    json_array_foreach(ports, i, sp)
        service_port(v, sp, json_array_size(ports) > 1, names, pf(p, "spec.ports[%zu]", i));
    labels_check(v, json_object_get(spec, "selector"), "spec.selector");
    if (jstr(spec, "sessionAffinity") && !*jstr(spec, "sessionAffinity"))
        required(v, "spec.sessionAffinity", NULL);
    if (!strcmp(jstr0(spec, "sessionAffinity"), "None") &&
        json_is_object(json_object_get(spec, "sessionAffinityConfig")))
        forbidden(v, "spec.sessionAffinityConfig", "must not be set when session affinity is None");
    if (strcmp(type, "ExternalName")) service_ips(v, spec, eff);
    if (!*type) required(v, "spec.type", NULL);
    service_port_sets(v, ports, type);
    service_lb_fields(v, spec, type);
    json_decref(eff);
    json_decref(names);
}

/* ==== persistent volumes and claims ========================================================== */

static void access_modes(vctx *v, json_t *modes, const char *field)
{
    static const char *const all[] = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod",
                                      NULL};
    bool rwop = false, other = false;
    size_t i;
    json_t *m;
    json_array_foreach(modes, i, m)
    {
        const char *s = json_string_value(m) ?: "";
        if (!in_list(s, all)) unsupported(v, field, s, all);
        if (!strcmp(s, "ReadWriteOncePod"))
            rwop = true;
        else if (in_list(s, all))
            other = true;
    }
    if (rwop && other) forbidden(v, field, "may not use ReadWriteOncePod with other access modes");
}

/* ValidatePositiveQuantityValue; false when q is not positive. */
static bool positive_quantity(vctx *v, json_t *val, const char *field)
{
    kc_quantity q;
    char s[64];
    if (kc_quantity_from_json(val, &q) < 0) return true;
    if (!q.neg && !kc_quantity_is_zero(&q)) return true;
    kc_quantity_string(&q, s, sizeof s);
    invalid_str(v, field, s, "must be greater than zero");
    return false;
}

/* validateDataSource / validateDataSourceRef (the name/kind/apiGroup part). */
static void data_source(vctx *v, json_t *ds, const char *path)
{
    char p[VP];
    if (!json_is_object(ds)) return;
    const char *group = jstr0(ds, "apiGroup"), *kind = jstr0(ds, "kind");
    if (!*jstr0(ds, "name")) required(v, pf(p, "%s.name", path), NULL);
    if (!*kind) required(v, pf(p, "%s.kind", path), NULL);
    if (!*group && strcmp(kind, "PersistentVolumeClaim"))
        invalid_str(v, path, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup");
    if (*group) name_rule(v, pf(p, "%s.apiGroup", path), KC_NAME_SUBDOMAIN, group);
}

/* ValidatePersistentVolumeClaimSpec */
static void pvc_spec(vctx *v, json_t *spec, const char *path)
{
    char p[VP];
    json_t *modes = json_object_get(spec, "accessModes");
    json_t *storage =
        json_object_get(json_object_get(json_object_get(spec, "resources"), "requests"), "storage");
    if (!json_array_size(modes))
        required(v, pf(p, "%s.accessModes", path), "at least 1 access mode is required");
    selector_check(v, json_object_get(spec, "selector"), pf(p, "%s.selector", path));
    access_modes(v, modes, pf(p, "%s.accessModes", path));
    pf(p, "%s.resources[storage]", path);
    if (!storage)
        required(v, p, NULL);
    else if (positive_quantity(v, storage, p))
        quantity_value(v, storage, p);
    if (*jstr0(spec, "storageClassName"))
        name_rule(v, pf(p, "%s.storageClassName", path), KC_NAME_SUBDOMAIN, jstr(spec, "storageClassName"));
    data_source(v, json_object_get(spec, "dataSource"), pf(p, "%s.dataSource", path));
    data_source(v, json_object_get(spec, "dataSourceRef"), pf(p, "%s.dataSourceRef", path));
}

/* ValidateImmutableField for a *string at a top-level path, as upstream's volumeMode check. */
static void immutable_ptr_str(vctx *v, json_t *spec, json_t *ospec, const char *key, const char *field)
{
    json_t *n = json_object_get(spec, key);
    if (sem_equal(n, json_object_get(ospec, key))) return;
    invalid_str(v, field, json_is_string(n) ? json_string_value(n) : "null", "field is immutable");
}

static json_t *storage_request(json_t *spec)
{
    return json_object_get(json_object_get(json_object_get(spec, "resources"), "requests"), "storage");
}

/* The requested size may not go below the capacity the claim already has. */
static void pvc_shrink(vctx *v, json_t *pvc, json_t *old)
{
    kc_quantity n = {0}, o = {0}, st = {0};
    kc_quantity_from_json(storage_request(spec_of(pvc)), &n);
    kc_quantity_from_json(storage_request(spec_of(old)), &o);
    kc_quantity_from_json(
        json_object_get(json_object_get(json_object_get(old, "status"), "capacity"), "storage"), &st);
    if (kc_quantity_cmp(&n, &o) < 0 && kc_quantity_cmp(&n, &st) <= 0)
        forbidden(v, "spec.resources.requests.storage", "field can not be less than status.capacity");
}

/* ValidatePersistentVolumeClaimUpdate (RecoverVolumeExpansionFailure on, as by default). */
static void pvc_update(vctx *v, json_t *pvc, json_t *old)
{
    json_t *n = json_deep_copy(spec_of(pvc)), *o = json_deep_copy(spec_of(old));
    const char *phase = jstr(json_object_get(pvc, "status"), "phase");
    if (!phase) phase = jstr0(json_object_get(old, "status"), "phase");
    if (!*jstr0(o, "volumeName")) set_or_del(o, "volumeName", json_object_get(n, "volumeName"));
    json_t *beta = json_object_get(json_object_get(json_object_get(old, "metadata"), "annotations"),
                                   "volume.beta.kubernetes.io/storage-class");
    json_t *nsc = json_object_get(n, "storageClassName");
    if (json_is_string(nsc) && !json_object_get(o, "storageClassName") && (!beta || json_equal(beta, nsc)))
        set_or_del(n, "storageClassName", NULL);
    json_t *reqs = json_object_get(json_object_get(n, "resources"), "requests");
    if (!strcmp(phase, "Bound") && json_is_object(reqs)) set_or_del(reqs, "storage", storage_request(o));
    if (!strcmp(phase, "Bound") && json_object_get(n, "volumeAttributesClassName"))
        set_or_del(n, "volumeAttributesClassName", json_object_get(o, "volumeAttributesClassName"));
    if (!sem_equal(n, o))
        forbidden_diff(v, "spec",
                       "spec is immutable after creation except resources.requests and "
                       "volumeAttributesClassName for bound claims",
                       "core.PersistentVolumeClaimSpec", o, n);
    pvc_shrink(v, pvc, old);
    immutable_ptr_str(v, spec_of(pvc), spec_of(old), "volumeMode", "volumeMode");
    json_decref(n);
    json_decref(o);
}

static void pvc_rules(vctx *v, json_t *obj, json_t *old)
{
    pvc_spec(v, spec_of(obj), "spec");
    if (old) pvc_update(v, obj, old);
}

/* PersistentVolume sources in upstream's order (flexVolume is counted without the check). */
static const char *const pv_sources[][2] = {
    {"hostPath", "hostPath"},
    {"gcePersistentDisk", "gcePersistentDisk"},
    {"awsElasticBlockStore", "awsElasticBlockStore"},
    {"glusterfs", "glusterfs"},
    {"flocker", "flocker"},
    {"nfs", "nfs"},
    {"rbd", "rbd"},
    {"quobyte", "quobyte"},
    {"cephfs", "cephFS"},
    {"iscsi", "iscsi"},
    {"cinder", "cinder"},
    {"fc", "fc"},
    {"flexVolume", NULL},
    {"azureFile", "azureFile"},
    {"vsphereVolume", "vsphereVolume"},
    {"photonPersistentDisk", "photonPersistentDisk"},
    {"portworxVolume", "portworxVolume"},
    {"azureDisk", "azureDisk"},
    {"scaleIO", "scaleIO"},
    {"local", "local"},
    {"storageos", "storageos"},
    {"csi", "csi"},
    {NULL, NULL},
};

static void pv_source_fields(vctx *v, json_t *spec, const char *key, json_t *src)
{
    char p[VP];
    if (!strcmp(key, "hostPath") || !strcmp(key, "local")) {
        if (!*jstr0(src, "path"))
            required(v, pf(p, "spec.%s.path", key), NULL);
        else
            no_backsteps(v, jstr0(src, "path"), pf(p, "spec.%s.path", key));
        if (!strcmp(key, "local") &&
            !json_is_object(json_object_get(json_object_get(spec, "nodeAffinity"), "required")))
            required(v, "spec.nodeAffinity", "Local volume requires node affinity");
    } else if (!strcmp(key, "nfs")) {
        volume_source_fields(v, key, src, "spec.nfs");
    } else if (!strcmp(key, "csi")) {
        volume_source_fields(v, key, src, "spec.csi");
        if (!*jstr0(src, "volumeHandle")) required(v, "spec.csi.volumeHandle", NULL);
    }
}

/* Exactly one volume source. */
static void pv_source(vctx *v, json_t *spec)
{
    char p[VP];
    int n = 0;
    for (size_t i = 0; pv_sources[i][0]; i++) {
        json_t *src = json_object_get(spec, pv_sources[i][0]);
        if (!src || json_is_null(src)) continue;
        if (n++ > 0 && pv_sources[i][1]) {
            forbidden(v, pf(p, "spec.%s", pv_sources[i][1]), "may not specify more than 1 volume type");
            continue;
        }
        pv_source_fields(v, spec, pv_sources[i][0], src);
    }
    if (!n) required(v, "spec", "must specify a volume type");
}

/* path.Clean(p) == "/" */
static bool clean_is_root(const char *s)
{
    if (s[0] != '/') return false;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "/");
        if (n && !(n == 1 && p[0] == '.') && !(n == 2 && p[0] == '.' && p[1] == '.')) return false;
        p += n;
        if (*p) p++;
    }
    return true;
}

static void pv_capacity(vctx *v, json_t *spec)
{
    static const char *const storage[] = {"storage", NULL};
    json_t *cap = json_object_get(spec, "capacity"), *q;
    const char *k;
    char p[VP];
    if (!json_object_size(cap)) required(v, "spec.capacity", NULL);
    if (!json_object_get(cap, "storage") || json_object_size(cap) > 1) {
        kc_buf b = KC_BUF_INIT;
        go_map(&b, cap, "core.ResourceList");
        kc_buf_add(&b, "", 1);
        unsupported_raw(v, "spec.capacity", b.data, storage);
        kc_buf_release(&b);
    }
    json_object_foreach(cap, k, q)
    {
        kc_quantity qq;
        pf(p, "spec.capacity[%s]", k);
        if (!kc_quantity_from_json(q, &qq) && kc_quantity_value(&qq) < 0)
            invalid_int(v, p, (long long)kc_quantity_value(&qq), "must be a valid resource quantity");
        positive_quantity(v, q, p);
    }
}

/* ValidatePersistentVolumeSpec (not inline) */
static void pv_spec(vctx *v, json_t *spec)
{
    static const char *const reclaim[] = {"Delete", "Recycle", "Retain", NULL};
    json_t *modes = json_object_get(spec, "accessModes");
    const char *rp = jstr0(spec, "persistentVolumeReclaimPolicy");
    if (!json_array_size(modes)) required(v, "spec.accessModes", NULL);
    access_modes(v, modes, "spec.accessModes");
    pv_capacity(v, spec);
    if (*rp && !in_list(rp, reclaim)) unsupported(v, "spec.persistentVolumeReclaimPolicy", rp, reclaim);
    pv_source(v, spec);
    json_t *hp = json_object_get(spec, "hostPath");
    if (json_is_object(hp) && clean_is_root(jstr0(hp, "path")) && !strcmp(rp, "Recycle"))
        forbidden(v, "spec.persistentVolumeReclaimPolicy",
                  "may not be 'recycle' for a hostPath mount of '/'");
    if (*jstr0(spec, "storageClassName"))
        name_rule(v, "spec.storageClassName", KC_NAME_SUBDOMAIN, jstr(spec, "storageClassName"));
}

/* The volume source part of a PV spec (owned object). */
static json_t *pv_source_of(json_t *spec)
{
    json_t *out = json_object();
    for (size_t i = 0; pv_sources[i][0]; i++) {
        json_t *s = json_object_get(spec, pv_sources[i][0]);
        if (s) json_object_set_new(out, pv_sources[i][0], json_deep_copy(s));
    }
    return out;
}

/* ValidatePersistentVolumeUpdate: the source is immutable (a first controllerExpandSecretRef aside). */
static void pv_update(vctx *v, json_t *spec, json_t *ospec)
{
    json_t *n = pv_source_of(spec), *o = pv_source_of(ospec);
    json_t *ocsi = json_object_get(o, "csi"), *ncsi = json_object_get(n, "csi");
    if (json_is_object(ocsi) && json_is_object(ncsi) && !json_object_get(ocsi, "controllerExpandSecretRef"))
        json_object_del(ncsi, "controllerExpandSecretRef");
    if (!sem_equal(n, o))
        forbidden_diff(v, "spec.persistentvolumesource",
                       "spec.persistentvolumesource is immutable after creation",
                       "core.PersistentVolumeSource", o, n);
    immutable_ptr_str(v, spec, ospec, "volumeMode", "volumeMode");
    json_decref(n);
    json_decref(o);
}

static void pv_rules(vctx *v, json_t *obj, json_t *old)
{
    pv_spec(v, spec_of(obj));
    if (old) pv_update(v, spec_of(obj), spec_of(old));
}

/* Endpoints (ValidateEndpoints): every address is an IP (ports and names are schema-checked). */
static void endpoints_rules(vctx *v, json_t *obj, json_t *old)
{
    (void)old;
    static const char *lists[] = {"addresses", "notReadyAddresses"};
    json_t *sub, *a;
    size_t i, j;
    char p[VP];
    json_array_foreach(json_object_get(obj, "subsets"), i, sub) for (int l = 0; l < 2; l++)
        json_array_foreach(json_object_get(sub, lists[l]), j, a)
    {
        const char *ip = jstr(a, "ip");
        if (!ip || !*ip)
            required(v, pf(p, "subsets[%zu].%s[%zu].ip", i, lists[l], j), NULL);
        else if (!valid_ip(ip))
            invalid_str(v, pf(p, "subsets[%zu].%s[%zu].ip", i, lists[l], j), ip, IP_MSG);
    }
}

/* ==== dispatch =============================================================================== */

static void pod_rules(vctx *v, json_t *obj, json_t *old)
{
    if (old)
        pod_update(v, obj, old);
    else
        pod_create(v, obj);
}

static const struct {
    const char *group, *kind;
    void (*rules)(vctx *v, json_t *obj, json_t *old);
} kind_rules[] = {
    {"", "Pod", pod_rules},
    {"", "Service", service_rules},
    {"", "Endpoints", endpoints_rules},
    {"", "PersistentVolumeClaim", pvc_rules},
    {"", "PersistentVolume", pv_rules},
    {"apps", "Deployment", deployment_rules},
    {"apps", "ReplicaSet", replicaset_rules},
    {"apps", "StatefulSet", statefulset_rules},
    {"apps", "DaemonSet", daemonset_rules},
};

int kc_validate_kind(int res, json_t *obj, json_t *old, kc_err *err)
{
    if (res < 0 || (size_t)res >= kc_nresources || !json_is_object(obj)) return 0;
    const kc_resource *r = &kc_resources[res];
    vctx v = {.err = err, .first = kc_err_ncauses(err)};
    for (size_t i = 0; i < sizeof kind_rules / sizeof kind_rules[0]; i++) /* a missing spec reads as {} */
        if (!strcmp(r->group, kind_rules[i].group) && !strcmp(r->kind, kind_rules[i].kind))
            kind_rules[i].rules(&v, obj, json_is_object(old) ? old : NULL);
    return v.added ? -1 : 0;
}
