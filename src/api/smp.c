/* Strategic merge patch: the apply half of k8s.io/apimachinery/pkg/util/strategicpatch, ported
 * function by function so that results (including list order) and error texts match what
 * kube-apiserver produces for a PATCH with application/strategic-merge-patch+json.
 *
 * It owns the merge algorithm and nothing else: the field metadata (patchStrategy, patchMergeKey)
 * comes from api/schema, decoding and validation of the result are the caller's (upstream turns
 * the merged map back into the typed object, which is where unknown fields and nulls go).
 *
 * Upstream names are kept in comments so the two can be read side by side:
 *
 *   kc_smp_apply           StrategicMergeMapPatch (MergeParallelList, IgnoreUnmatchedNulls)
 *     merge_map            mergeMap: $patch, $retainKeys, $setElementOrder, then key by key
 *       merge_field        one key: null deletes, new values cleaned, maps/lists recurse
 *       order_one          mergePatchIntoOriginal for one $setElementOrder/<list>
 *     merge_slice          mergeSlice: sets of scalars, or lists of maps by merge key
 *       special            mergeSliceWithSpecialElements ($patch delete / replace in a list)
 *       normalize_order    normalizeElementOrder + mergeSortedSlice (with Go's stable sort)
 *
 * Go semantics that leak into results are reproduced on purpose: values compare like Go
 * interfaces (integer 1 and real 1.0 differ, null equals a missing key), deduplicateScalars
 * reorders, sort.SliceStable runs with upstream's inconsistent comparator, and the situations
 * where upstream panics (comparing or hashing maps) fail with the panic's text.
 *
 * All work happens on private deep copies of the document and the patch, mutated in place the
 * way upstream mutates its maps; a patch node moved into the result is referenced once. */
#include "api/smp.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DIRECTIVE "$patch"
#define RETAIN_KEYS "$retainKeys"
#define DELETE_PREFIX "$deleteFromPrimitiveList"
#define ORDER_PREFIX "$setElementOrder"

/* Go dynamic types of decoded JSON (json.Unmarshal with preserved integers). */
enum { GT_NIL, GT_MAP, GT_SLICE, GT_STRING, GT_INT, GT_FLOAT, GT_BOOL };

/* patchStrategy of a field, retainKeys aside (extractRetainKeysPatchStrategy). */
enum { ST_NONE, ST_MERGE, ST_REPLACE };

/* The Go type a JSON value is decoded into (upstream's LookupPatchMeta). */
typedef enum { SK_STRUCT, SK_MAP, SK_SLICE, SK_SCALAR } skind;
typedef struct sch {
    skind kind;
    const kc_type *t;  /* SK_STRUCT with fields; NULL for opaque structs (RawExtension, Quantity) */
    const kc_field *f; /* SK_SLICE: the list field, for its items */
    const char *name;  /* SK_STRUCT: Go type name; SK_SCALAR: Go kind name */
} sch;

typedef struct smp {
    kc_err *err;
    int failed;
    size_t work; /* comparisons so far, bounded by KC_SMP_MAX_WORK */
} smp;

/* ---- allocation and messages ------------------------------------------------------------- */

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) abort();
    return p;
}

static json_t *xj(json_t *v)
{
    if (!v) abort(); /* jansson allocation failure: out of memory */
    return v;
}

/* A message under construction; silently truncated at the size of kc_err.msg. */
typedef struct sb {
    char s[1024];
    size_t n;
} sb;

static int sb_full(const sb *b)
{
    return b->n + 1 >= sizeof b->s;
}

static void sb_add(sb *b, const char *s, size_t len)
{
    size_t room = sizeof b->s - 1 - b->n;
    if (len > room) len = room;
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = 0;
}

static void sb_puts(sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static int gtype(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        return GT_MAP;
    case JSON_ARRAY:
        return GT_SLICE;
    case JSON_STRING:
        return GT_STRING;
    case JSON_INTEGER:
        return GT_INT;
    case JSON_REAL:
        return GT_FLOAT;
    case JSON_TRUE:
    case JSON_FALSE:
        return GT_BOOL;
    default:
        return GT_NIL;
    }
}

/* reflect.TypeOf(v).String(), as in mergepatch.ErrBadArgType. */
static const char *gtname(const json_t *v)
{
    static const char *const names[] = {
        "%!s(<nil>)", "map[string]interface {}", "[]interface {}", "string", "int64", "float64", "bool"};
    return names[gtype(v)];
}

/* Go's %v of a float64: shortest digits that round-trip, %e from exponent 6 on. */
static void gofloat(char out[48], double f)
{
    char e[48];
    int p = 1;
    if (f == 0 || !isfinite(f)) {
        snprintf(out, 48, "%s",
                 f == 0     ? (signbit(f) ? "-0" : "0")
                 : isnan(f) ? "NaN"
                 : f > 0    ? "+Inf"
                            : "-Inf");
        return;
    }
    for (; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, f);
        if (strtod(e, NULL) == f) break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, f);
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6)
        snprintf(out, 48, "%s", e);
    else
        snprintf(out, 48, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, f);
}

static int keycmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    size_t lx = json_object_iter_key_len(json_object_key_to_iter(*x));
    size_t ly = json_object_iter_key_len(json_object_key_to_iter(*y));
    int c = memcmp(*x, *y, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

static void gofmt(sb *b, const json_t *v, int verb_s);

/* map[k1:v1 k2:v2], keys sorted like Go's fmt. */
static void gofmt_map(sb *b, const json_t *m, int verb_s)
{
    size_t n = json_object_size(m), i = 0, kn;
    const char **keys = xcalloc(n, sizeof *keys), *k;
    json_t *x;
    json_object_keylen_foreach((json_t *)m, k, kn, x) keys[i++] = k;
    qsort(keys, n, sizeof *keys, keycmp);
    sb_puts(b, "map[");
    for (i = 0; i < n && !sb_full(b); i++) {
        kn = json_object_iter_key_len(json_object_key_to_iter(keys[i]));
        if (i) sb_puts(b, " ");
        sb_add(b, keys[i], kn);
        sb_puts(b, ":");
        gofmt(b, json_object_getn(m, keys[i], kn), verb_s);
    }
    sb_puts(b, "]");
    free(keys);
}

/* fmt's %v (verb_s 0) or %s (verb_s 1) of a decoded JSON value. */
static void gofmt(sb *b, const json_t *v, int verb_s)
{
    char f[48];
    size_t i;
    if (sb_full(b)) return;
    switch (gtype(v)) {
    case GT_NIL:
        sb_puts(b, verb_s ? "%!s(<nil>)" : "<nil>");
        break;
    case GT_STRING:
        sb_add(b, json_string_value(v), json_string_length(v));
        break;
    case GT_INT:
        sb_printf(b, verb_s ? "%%!s(int64=%" JSON_INTEGER_FORMAT ")" : "%" JSON_INTEGER_FORMAT,
                  json_integer_value(v));
        break;
    case GT_FLOAT:
        gofloat(f, json_real_value(v));
        sb_printf(b, verb_s ? "%%!s(float64=%s)" : "%s", f);
        break;
    case GT_BOOL:
        sb_printf(b, verb_s ? "%%!s(bool=%s)" : "%s", json_is_true(v) ? "true" : "false");
        break;
    case GT_SLICE:
        sb_puts(b, "[");
        for (i = 0; i < json_array_size(v) && !sb_full(b); i++) {
            if (i) sb_puts(b, " ");
            gofmt(b, json_array_get(v, i), verb_s);
        }
        sb_puts(b, "]");
        break;
    default:
        gofmt_map(b, v, verb_s);
        break;
    }
}

/* strconv.Quote, for %q. */
static void goquote(sb *b, const char *s, size_t n)
{
    static const char esc[] = "\a\b\f\n\r\t\v\"\\", rep[] = "abfnrtv\"\\";
    sb_puts(b, "\"");
    for (size_t i = 0; i < n && !sb_full(b); i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = c ? strchr(esc, c) : NULL;
        if (e)
            sb_printf(b, "\\%c", rep[e - esc]);
        else if (c < 0x20 || c == 0x7f)
            sb_printf(b, "\\x%02x", c);
        else
            sb_add(b, (const char *)&c, 1);
    }
    sb_puts(b, "\"");
}

/* Records the first failure; returns -1. */
static int fail_msg(smp *st, kc_reason r, const char *msg)
{
    if (!st->failed) kc_errf(st->err, r, "%s", msg);
    st->failed = 1;
    return -1;
}

static int fail(smp *st, kc_reason r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(smp *st, kc_reason r, const char *fmt, ...)
{
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return fail_msg(st, r, m);
}

/* mergepatch.ErrNoMergeKey */
static int err_no_merge_key(smp *st, const json_t *m, const char *mk)
{
    sb b = {.s = {0}, .n = 0};
    sb_puts(&b, "map: ");
    gofmt(&b, m, 0);
    sb_printf(&b, " does not contain declared merge key: %s", mk);
    return fail_msg(st, KC_EINTERNAL, b.s);
}

/* mergepatch.ErrBadArgType */
static int err_bad_arg(smp *st, const char *expected, const json_t *v)
{
    return fail(st, KC_EINTERNAL, "expected a %s, but received a %s", expected, gtname(v));
}

/* mergepatch.ErrBadPatchType */
static int err_bad_patch_type(smp *st, const json_t *d, const json_t *m)
{
    sb b = {.s = {0}, .n = 0};
    sb_puts(&b, "unknown patch type: ");
    gofmt(&b, d, 1);
    sb_puts(&b, " in map: ");
    gofmt(&b, m, 0);
    return fail_msg(st, KC_EINTERNAL, b.s);
}

/* What upstream panics with (kube-apiserver answers 500). */
static int err_panic(smp *st, const char *what, int gt)
{
    return fail(st, KC_EINTERNAL, "runtime error: %s%s", what,
                gt == GT_MAP     ? "map[string]interface {}"
                : gt == GT_SLICE ? "[]interface {}"
                                 : "");
}

/* ---- Go value semantics ------------------------------------------------------------------ */

static int tick(smp *st)
{
    if (++st->work <= KC_SMP_MAX_WORK) return 0;
    return fail(st, KC_ETOOLARGE, "strategic merge patch needs more than %u value comparisons",
                KC_SMP_MAX_WORK);
}

/* a == b on interface{} values: 1, 0, or -1 where Go panics (two maps or two slices). */
static int go_eq(smp *st, const json_t *a, const json_t *b)
{
    int ta = gtype(a), tb = gtype(b);
    if (tick(st) < 0) return -1;
    if (ta != tb) return 0;
    switch (ta) {
    case GT_NIL:
        return 1;
    case GT_MAP:
    case GT_SLICE:
        return err_panic(st, "comparing uncomparable type ", ta);
    case GT_FLOAT:
        return json_real_value(a) == json_real_value(b);
    default:
        return json_equal(a, b);
    }
}

/* Using v as a Go map key panics for maps and slices. */
static int hashable(smp *st, const json_t *v)
{
    int t = gtype(v);
    return t == GT_MAP || t == GT_SLICE ? err_panic(st, "hash of unhashable type ", t) : 0;
}

static int is_str(const json_t *v, const char *s)
{
    return json_is_string(v) && json_string_length(v) == strlen(s) && !strcmp(json_string_value(v), s);
}

static int has_prefix(const char *k, size_t kn, const char *prefix)
{
    size_t pn = strlen(prefix);
    return kn >= pn && !memcmp(k, prefix, pn);
}

/* extractKey: "<prefix>/<list>" -> <list>; -1 when malformed. */
static int extract_key(const char *k, size_t kn, const char *prefix, const char **out, size_t *outn)
{
    const char *slash = memchr(k, '/', kn);
    size_t pn = strlen(prefix);
    if (!slash || (size_t)(slash - k) != pn || memcmp(k, prefix, pn)) return -1;
    *out = slash + 1;
    *outn = kn - pn - 1;
    return 0;
}

static int is_directive_key(const char *k, size_t kn)
{
    return (kn == strlen(RETAIN_KEYS) && !memcmp(k, RETAIN_KEYS, kn)) || has_prefix(k, kn, ORDER_PREFIX) ||
           has_prefix(k, kn, DELETE_PREFIX);
}

static json_t *array_copy(json_t *a)
{
    json_t *c = xj(json_array());
    if (a) json_array_extend(c, a);
    return c;
}

/* ---- schema (LookupPatchMetadataForStruct / ForSlice) ------------------------------------ */

static const char *sch_kind_name(const sch *s)
{
    static const char *const names[] = {"struct", "map", "slice", NULL};
    return s->kind == SK_SCALAR ? s->name : names[s->kind];
}

/* Schema of a value of kind k (fmt, ref type t); fname picks the opaque struct's name. */
static void sch_of(sch *s, kc_fkind k, uint8_t fmt, const kc_type *t, const char *fname)
{
    *s = (sch){.kind = SK_STRUCT, .t = NULL, .f = NULL, .name = "struct"};
    switch (k) {
    case KC_FK_REF:
        s->t = t;
        s->name = t ? t->goname : "struct";
        break;
    case KC_FK_ANY:
        s->name = fname && !strcmp(fname, "fieldsV1") ? "FieldsV1" : "RawExtension";
        break;
    case KC_FK_QUANTITY:
        s->name = "Quantity";
        break;
    case KC_FK_INTORSTRING:
        s->name = "IntOrString";
        break;
    case KC_FK_DATETIME:
        s->name = fmt == KC_FMT_RFC3339_MICRO ? "MicroTime" : "Time";
        break;
    case KC_FK_DURATION:
        s->name = "Duration";
        break;
    case KC_FK_MAP:
        s->kind = SK_MAP;
        break;
    case KC_FK_ARRAY:
        s->kind = SK_SLICE;
        break;
    case KC_FK_BYTE:
        s->kind = SK_SLICE;
        break;
    default:
        s->kind = SK_SCALAR;
        s->name = k == KC_FK_STRING     ? "string"
                  : k == KC_FK_NUMBER   ? "float64"
                  : k == KC_FK_BOOLEAN  ? "bool"
                  : fmt == KC_FMT_INT32 ? "int32"
                                        : "int64";
        break;
    }
}

/* The field named k (exact match first, then Go's case-insensitive fallback). */
static const kc_field *find_field(const kc_type *t, const char *k, size_t kn)
{
    const kc_field *f = kc_type_fieldn(t, k, kn);
    for (size_t i = 0; !f && i < kc_type_nfields(t); i++) {
        const kc_field *g = kc_type_field_at(t, i);
        if (strlen(g->name) == kn && !strncasecmp(g->name, k, kn)) f = g;
    }
    return f;
}

static int lookup_struct(smp *st, const sch *s, const char *k, size_t kn, sch *sub, int *strategy,
                         const char **mk)
{
    if (s->kind != SK_STRUCT)
        return fail(st, KC_EINTERNAL, "merging an object in json but data type is not struct, instead is: %s",
                    sch_kind_name(s));
    const kc_field *f = s->t ? find_field(s->t, k, kn) : NULL;
    if (!f) {
        sb b = {.s = {0}, .n = 0};
        sb_printf(&b, "unable to find api field in struct %s for the json field ", s->name);
        goquote(&b, k, kn);
        return fail_msg(st, KC_EINTERNAL, b.s);
    }
    sch_of(sub, kc_field_kind(f), f->v.fmt, kc_field_type(f), f->name);
    sub->f = f;
    unsigned p = kc_field_patch(f);
    *strategy = p & KC_PATCH_MERGE ? ST_MERGE : p & KC_PATCH_REPLACE ? ST_REPLACE : ST_NONE;
    *mk = kc_field_merge_key(f) ? kc_field_merge_key(f) : "";
    return 0;
}

/* Schema of the items of list field k. */
static int lookup_slice(smp *st, const sch *s, const char *k, size_t kn, sch *items, int *strategy,
                        const char **mk)
{
    sch fs;
    if (lookup_struct(st, s, k, kn, &fs, strategy, mk) < 0) return -1;
    if (fs.kind != SK_SLICE) return fail(st, KC_EINTERNAL, "expected slice or array type, but got: struct");
    if (kc_field_kind(fs.f) == KC_FK_BYTE) {
        sch_of(items, KC_FK_INTEGER, KC_FMT_NONE, NULL, NULL);
        items->name = "uint8";
        return 0;
    }
    kc_fkind ek = kc_field_elem_kind(fs.f);
    if (ek == KC_FK_ARRAY) return fail(st, KC_EINTERNAL, "unexpected slice of slice");
    sch_of(items, ek, fs.f->elem.fmt, kc_field_elem_type(fs.f), NULL);
    return 0;
}

/* ---- values the patch adds (removeDirectives + discardNullValuesFromPatch) -------------- */

/* What replaces patch value v in the result: a new reference, or NULL when v must go (an object
 * carrying "$patch"). Objects are cleaned in place like upstream, arrays are rebuilt. nulls: also
 * drop null object members (not null list items). Directive keys always go. */
static json_t *clean(json_t *v, int nulls)
{
    const char *k;
    size_t kn, i;
    json_t *x, *c;
    void *tmp;
    if (json_is_object(v)) {
        if (json_object_getn(v, DIRECTIVE, strlen(DIRECTIVE))) return NULL;
        json_object_keylen_foreach_safe(v, tmp, k, kn, x)
        {
            c = (nulls && json_is_null(x)) || is_directive_key(k, kn) ? NULL : clean(x, nulls);
            if (c)
                json_object_setn_new(v, k, kn, c);
            else
                json_object_deln(v, k, kn);
        }
        return json_incref(v);
    }
    if (json_is_array(v)) {
        json_t *a = xj(json_array());
        json_array_foreach(v, i, x) if ((c = clean(x, nulls))) json_array_append_new(a, c);
        return a;
    }
    return json_incref(v);
}

/* ---- element order (normalizeElementOrder, with Go's sort.SliceStable) -------------------- */

typedef struct item {
    json_t *v;
    long ix; /* index in the order list, -1 when absent */
} item;

/* upstream's less: by order index when both are listed, else "true" (not a strict order, which
 * is why the exact algorithm of sort.SliceStable matters). */
static int it_less(const item *d, long i, long j)
{
    return d[i].ix >= 0 && d[j].ix >= 0 ? d[i].ix < d[j].ix : 1;
}

static void it_swap(item *d, long i, long j)
{
    item t = d[i];
    d[i] = d[j];
    d[j] = t;
}

static void insertion_sort(item *d, long a, long b)
{
    for (long i = a + 1; i < b; i++)
        for (long j = i; j > a && it_less(d, j, j - 1); j--)
            it_swap(d, j, j - 1);
}

static void swap_range(item *d, long a, long b, long n)
{
    for (long i = 0; i < n; i++)
        it_swap(d, a + i, b + i);
}

static void rotate(item *d, long a, long m, long b)
{
    long i = m - a, j = b - m;
    while (i != j) {
        if (i > j) {
            swap_range(d, m - i, m, j);
            i -= j;
        } else {
            swap_range(d, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(d, m - i, m, i);
}

/* Go's symMerge_func, step for step. */
static void sym_merge(item *d, long a, long m, long b)
{
    long i, j, h, k;
    if (m - a == 1) {
        for (i = m, j = b; i < j;) {
            h = (long)((unsigned long)(i + j) >> 1);
            if (it_less(d, h, a))
                i = h + 1;
            else
                j = h;
        }
        for (k = a; k < i - 1; k++)
            it_swap(d, k, k + 1);
        return;
    }
    if (b - m == 1) {
        for (i = a, j = m; i < j;) {
            h = (long)((unsigned long)(i + j) >> 1);
            if (!it_less(d, m, h))
                i = h + 1;
            else
                j = h;
        }
        for (k = m; k > i; k--)
            it_swap(d, k, k - 1);
        return;
    }
    long mid = (long)((unsigned long)(a + b) >> 1), n = mid + m, start, r, p, c;
    if (m > mid) {
        start = n - b;
        r = mid;
    } else {
        start = a;
        r = m;
    }
    for (p = n - 1; start < r;) {
        c = (long)((unsigned long)(start + r) >> 1);
        if (!it_less(d, p - c, c))
            start = c + 1;
        else
            r = c;
    }
    long end = n - start;
    if (start < m && m < end) rotate(d, start, m, end);
    if (a < start && start < mid) sym_merge(d, a, start, mid);
    if (mid < end && end < b) sym_merge(d, mid, end, b);
}

/* Go's stable_func (sort.SliceStable). */
static void stable(item *d, long n)
{
    long bs = 20, a = 0, b = bs;
    for (; b <= n; a = b, b += bs)
        insertion_sort(d, a, b);
    insertion_sort(d, a, n);
    for (; bs < n; bs *= 2) {
        for (a = 0, b = 2 * bs; b <= n; a = b, b += 2 * bs)
            sym_merge(d, a, a + bs, b);
        if (a + bs < n) sym_merge(d, a, a + bs, n);
    }
}

/* What index() compares: the merge key value for lists of maps, else the item itself. */
static const json_t *keyval(const json_t *x, const char *mk, int kind)
{
    if (kind != GT_MAP) return x;
    return json_is_object(x) ? json_object_get(x, mk) : NULL;
}

/* index(): position of val in l, -1 when absent; -2 on failure. */
static long index_of(smp *st, json_t *l, const json_t *val, const char *mk, int kind)
{
    const json_t *want = keyval(val, mk, kind);
    for (size_t i = 0; i < json_array_size(l); i++) {
        int eq = go_eq(st, want, keyval(json_array_get(l, i), mk, kind));
        if (eq) return eq < 0 ? -2 : (long)i;
    }
    return -1;
}

/* validateMergeKeyInLists for one list. */
static int validate_keys(smp *st, json_t *l, const char *mk)
{
    size_t i;
    json_t *x;
    json_array_foreach(l, i, x)
    {
        if (!json_is_object(x)) return err_bad_arg(st, "map[string]interface {}", x);
        if (!json_object_get(x, mk)) return err_no_merge_key(st, x, mk);
    }
    return 0;
}

static int is_delete_item(const json_t *x)
{
    return is_str(json_object_get(x, DIRECTIVE), "delete");
}

/* normalizeSliceOrder: l sorted by order, "$patch: delete" items last. New array or NULL. */
static json_t *normalize_slice(smp *st, json_t *l, json_t *order, const char *mk, int kind)
{
    size_t n = json_array_size(l), m = 0, i;
    json_t *out, *dels, *x;
    if (kind == GT_MAP && (validate_keys(st, l, mk) < 0 || validate_keys(st, order, mk) < 0)) return NULL;
    item *d = xcalloc(n, sizeof *d);
    dels = xj(json_array());
    json_array_foreach(l, i, x)
    {
        if (kind == GT_MAP && is_delete_item(x)) {
            json_array_append(dels, x);
            continue;
        }
        d[m].v = x;
        if ((d[m++].ix = index_of(st, order, x, mk, kind)) == -2) break;
    }
    out = NULL;
    if (!st->failed) {
        stable(d, (long)m);
        out = xj(json_array());
        for (i = 0; i < m; i++)
            json_array_append(out, d[i].v);
        json_array_extend(out, dels);
    }
    free(d);
    json_decref(dels);
    return out;
}

/* Index in server order of every item of l; NULL on failure. */
static long *server_index(smp *st, json_t *l, json_t *server, const char *mk, int kind)
{
    long *ix = xcalloc(json_array_size(l), sizeof *ix);
    for (size_t i = 0; i < json_array_size(l); i++)
        if ((ix[i] = index_of(st, server, json_array_get(l, i), mk, kind)) == -2) {
            free(ix);
            return NULL;
        }
    return ix;
}

/* mergeSortedSlice: interleave server-only items (left) into patch items (right), taking a
 * left item first only when both are in the live list and it comes earlier there. */
static json_t *merge_sorted(smp *st, json_t *left, json_t *right, json_t *server, const char *mk, int kind)
{
    size_t nl = json_array_size(left), nr = json_array_size(right), i = 0, j = 0;
    long *li = server_index(st, left, server, mk, kind),
         *ri = li ? server_index(st, right, server, mk, kind) : NULL;
    json_t *out = NULL;
    if (ri) {
        out = xj(json_array());
        while (i < nl && j < nr) {
            if (li[i] >= 0 && ri[j] >= 0 && li[i] < ri[j])
                json_array_append(out, json_array_get(left, i++));
            else
                json_array_append(out, json_array_get(right, j++));
        }
        for (; i < nl; i++)
            json_array_append(out, json_array_get(left, i));
        for (; j < nr; j++)
            json_array_append(out, json_array_get(right, j));
    }
    free(li);
    free(ri);
    return out;
}

/* normalizeElementOrder: patch items in patch order, server-only items in server order, merged. */
static json_t *normalize_order(smp *st, json_t *in, json_t *out, json_t *porder, json_t *sorder,
                               const char *mk, int kind)
{
    json_t *p = normalize_slice(st, in, porder, mk, kind);
    json_t *s = p ? normalize_slice(st, out, sorder, mk, kind) : NULL;
    json_t *r = s ? merge_sorted(st, s, p, sorder, mk, kind) : NULL;
    json_decref(p);
    json_decref(s);
    return r;
}

/* ---- lists (mergeSlice) -------------------------------------------------------------------- */

/* sliceElementType: the common Go type of the items of a and b (either may be NULL). */
static int elem_type(smp *st, json_t *a, json_t *b)
{
    json_t *ls[2] = {a, b}, *x;
    int prev = -1;
    size_t i;
    for (int l = 0; l < 2; l++) {
        json_array_foreach(ls[l], i, x)
        {
            int t = gtype(x);
            if (prev < 0 && t == GT_NIL)
                return err_panic(st, "invalid memory address or nil pointer dereference", -1);
            if (prev < 0 && t == GT_SLICE) return fail(st, KC_EINVALID, "lists of lists are not supported");
            if (prev >= 0 && t != prev) {
                sb m = {.s = {0}, .n = 0};
                sb_puts(&m, "list element types are not identical: [");
                for (int o = 0; o < 2; o++) {
                    if (o) sb_puts(&m, " ");
                    if (ls[o])
                        gofmt(&m, ls[o], 0);
                    else
                        sb_puts(&m, "[]"); /* a nil slice */
                }
                sb_puts(&m, "]");
                return fail_msg(st, KC_EINTERNAL, m.s);
            }
            prev = t;
        }
    }
    return prev >= 0 ? prev : fail(st, KC_EINTERNAL, "no elements in any of the given slices");
}

/* deduplicateScalars(append(a, b...)), with its reordering. */
static json_t *dedup(smp *st, json_t *a, json_t *b)
{
    size_t n = json_array_size(a) + json_array_size(b), k = 0;
    json_t **s = xcalloc(n, sizeof *s), *out = NULL;
    for (size_t i = 0; i < json_array_size(a); i++)
        s[k++] = json_array_get(a, i);
    for (size_t i = 0; i < json_array_size(b); i++)
        s[k++] = json_array_get(b, i);
    long length = (long)n - 1;
    for (long i = 0; i < length; i++)
        for (long j = i + 1; j <= length; j++) {
            int eq = go_eq(st, s[i], s[j]);
            if (eq < 0) goto done;
            if (eq) s[j--] = s[length--];
        }
    out = xj(json_array());
    for (long i = 0; i <= length; i++)
        json_array_append(out, s[i]);
done:
    free(s);
    return out;
}

/* Whether some item of l equals x (a Go map lookup: x must be hashable). 1, 0 or -1. */
static int set_has(smp *st, json_t *l, const json_t *x)
{
    if (hashable(st, x) < 0) return -1;
    for (size_t i = 0; i < json_array_size(l); i++) {
        int eq = go_eq(st, json_array_get(l, i), x);
        if (eq) return eq;
    }
    return 0;
}

static int all_hashable(smp *st, json_t *l)
{
    for (size_t i = 0; i < json_array_size(l); i++)
        if (hashable(st, json_array_get(l, i)) < 0) return -1;
    return 0;
}

/* deleteFromSlice: cur without the values listed in del. */
static json_t *delete_from_slice(smp *st, json_t *cur, json_t *del)
{
    json_t *out, *x;
    size_t i;
    if (all_hashable(st, del) < 0) return NULL;
    out = xj(json_array());
    json_array_foreach(cur, i, x)
    {
        int has = set_has(st, del, x);
        if (has < 0) {
            json_decref(out);
            return NULL;
        }
        if (!has) json_array_append(out, x);
    }
    return out;
}

/* findMapInSliceBasedOnKeyValue over the first n items of l: 1 and *at when found, 0 when not,
 * -1 on failure. */
static int find_map(smp *st, json_t *l, size_t n, const char *mk, const json_t *val, size_t *at)
{
    json_t *x, *kv;
    for (size_t i = 0; i < n && i < json_array_size(l); i++) {
        if (!json_is_object(x = json_array_get(l, i)))
            return fail(st, KC_EINTERNAL, "value for key %zu is not a map", i);
        if (!(kv = json_object_get(x, mk))) continue;
        int eq = go_eq(st, kv, val);
        if (eq < 0) return -1;
        if (eq) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

/* The Go backing array of the live list while mergeSlice works on it. Deleting compacts it in
 * place and appends fill the freed slots until its capacity (the live length: the watch cache
 * hands out DeepCopy'd objects) runs out. mergePatchIntoOriginal keeps reading the live list
 * through this array, so $setElementOrder sorts server-only items by what it holds. */
typedef struct backing {
    json_t *a;    /* cap items: the live list as Go's original slice header still sees it */
    size_t n;     /* length of mergeSlice's own slice over it */
    int detached; /* "$patch: replace" swapped in another slice: appends no longer land here */
} backing;

/* deleteMatchingEntries: drop every map whose merge key equals val, compacting like
 * append(s[:k], s[k+1:]...). */
static int delete_matching(smp *st, backing *b, const char *mk, const json_t *val)
{
    size_t at;
    int r;
    while ((r = find_map(st, b->a, b->n, mk, val, &at)) == 1) {
        for (; at + 1 < b->n; at++)
            json_array_set(b->a, at, json_array_get(b->a, at + 1));
        b->n--;
    }
    return r;
}

/* The first n items of a, as a new array. */
static json_t *array_head(json_t *a, size_t n)
{
    json_t *c = xj(json_array());
    for (size_t i = 0; i < n; i++)
        json_array_append(c, json_array_get(a, i));
    return c;
}

/* mergeSliceWithSpecialElements: applies "$patch" list elements to the backing array b (a copy
 * of orig). *base gets the list to merge into (the patch's other elements on replace), *rest
 * the patch elements to merge. */
static int special(smp *st, json_t *orig, json_t *patch, const char *mk, backing *b, json_t **base,
                   json_t **rest)
{
    json_t *p = xj(json_array()), *v, *d, *mv;
    int replace = 0, rc = 0;
    size_t i;
    *b = (backing){.a = array_copy(orig), .n = json_array_size(orig), .detached = 0};
    json_array_foreach(patch, i, v)
    {
        if (!(d = json_object_get(v, DIRECTIVE)))
            json_array_append(p, v);
        else if (is_str(d, "delete"))
            rc = (mv = json_object_get(v, mk)) ? delete_matching(st, b, mk, mv) : err_no_merge_key(st, v, mk);
        else if (is_str(d, "replace"))
            replace = 1;
        else if (is_str(d, "merge"))
            rc = fail(st, KC_EINTERNAL, "merging lists cannot yet be specified in the patch");
        else
            rc = err_bad_patch_type(st, d, v);
        if (rc < 0) break;
    }
    if (rc < 0) {
        json_decref(p);
        return -1;
    }
    if (replace) {
        b->detached = 1;
        *base = clean(p, 0);
        json_decref(p);
        p = xj(json_array());
    } else {
        *base = array_head(b->a, b->n);
    }
    *rest = p;
    return 0;
}

static json_t *merge_map(smp *st, json_t *orig, json_t *patch, const sch *s);

/* mergeSliceWithoutSpecialElements: merge each patch map into the live map with the same key,
 * append it when there is none (into b's free slots too, as Go's append does). */
static json_t *merge_plain(smp *st, json_t *base, json_t *pl, const char *mk, const sch *es, backing *b)
{
    json_t *work = array_copy(base), *v, *mv, *m, *c;
    size_t i, at;
    json_array_foreach(pl, i, v)
    {
        int found = (mv = json_object_get(v, mk)) ? find_map(st, work, json_array_size(work), mk, mv, &at)
                                                  : err_no_merge_key(st, v, mk);
        if (found < 0) break;
        if (!found) {
            json_array_append_new(work, c = clean(v, 0));
            if (!b->detached && b->n < json_array_size(b->a)) json_array_set(b->a, b->n++, c);
        } else if ((m = merge_map(st, json_array_get(work, at), v, es))) {
            json_array_set_new(work, at, m);
        } else {
            break;
        }
    }
    if (!st->failed) return work;
    json_decref(work);
    return NULL;
}

/* partitionMapsByPresentInList / partitionPrimitivesByPresentInList: items of merged that are
 * (*in) and are not (*out) in by. */
static int partition(smp *st, json_t *merged, json_t *by, const char *mk, json_t **in, json_t **out)
{
    json_t *x, *kv;
    size_t i, at;
    int has;
    if (!*mk && all_hashable(st, by) < 0) return -1;
    *in = xj(json_array());
    *out = xj(json_array());
    json_array_foreach(merged, i, x)
    {
        if (!*mk)
            has = set_has(st, by, x);
        else if (!json_is_object(x))
            has = err_bad_arg(st, "map[string]interface {}", x);
        else
            has = (kv = json_object_get(x, mk)) ? find_map(st, by, json_array_size(by), mk, kv, &at)
                                                : err_no_merge_key(st, x, mk);
        if (has < 0) return -1;
        json_array_append(has ? *in : *out, x);
    }
    return 0;
}

/* mergeSlice. *view (when asked for) gets the live list as Go's backing array holds it after
 * the merge (see backing); a new reference. */
static json_t *merge_slice(smp *st, json_t *orig, json_t *patch, const sch *es, const char *mk, int del,
                           json_t **view)
{
    json_t *base = NULL, *pl = NULL, *merged = NULL, *in = NULL, *out = NULL, *r = NULL;
    backing b = {.a = NULL, .n = 0, .detached = 0};
    int kind;
    if (!json_array_size(orig) && !json_array_size(patch)) return json_incref(orig);
    if ((kind = elem_type(st, orig, patch)) < 0) return NULL;
    if (kind != GT_MAP) {
        if (del) return delete_from_slice(st, orig, patch);
        base = json_incref(orig);
        pl = json_incref(patch);
        merged = dedup(st, orig, patch);
    } else if (!*mk) {
        return fail(st, KC_EINTERNAL, "cannot merge lists without merge key for %s", sch_kind_name(es)), NULL;
    } else if (special(st, orig, patch, mk, &b, &base, &pl) == 0) {
        merged = merge_plain(st, base, pl, mk, es, &b);
    }
    if (merged && partition(st, merged, pl, mk, &in, &out) == 0)
        r = normalize_order(st, in, out, pl, base, mk, kind);
    if (r && view && b.a) json_decref(*view), *view = json_incref(b.a);
    json_decref(b.a);
    json_decref(base);
    json_decref(pl);
    json_decref(merged);
    json_decref(in);
    json_decref(out);
    return r;
}

/* mergeSliceHandler: lists merge only with patchStrategy merge (or as a deletion list). */
static json_t *slice_handler(smp *st, json_t *ov, json_t *pv, const sch *es, int strategy, const char *mk,
                             int del, json_t **view)
{
    if (strategy == ST_MERGE || del) return merge_slice(st, ov, pv, es, mk, del, view);
    return clean(pv, 0);
}

/* ---- maps (mergeMap) ----------------------------------------------------------------------- */

/* handleDirectiveInMergeMap: "$patch" in a map. */
static json_t *map_directive(smp *st, json_t *d, json_t *patch)
{
    if (is_str(d, "replace")) {
        json_object_del(patch, DIRECTIVE);
        return clean(patch, 0);
    }
    if (is_str(d, "delete")) return xj(json_object());
    err_bad_patch_type(st, d, patch);
    return NULL;
}

/* Whether the string k is among the values of the retainKeys list. */
static int listed(smp *st, json_t *list, const char *k, size_t kn)
{
    json_t *key = xj(json_stringn(k, kn));
    int has = set_has(st, list, key);
    json_decref(key);
    return has;
}

/* applyRetainKeysDirective */
static int retain_keys(smp *st, json_t *orig, json_t *patch)
{
    json_t *rk = json_object_get(patch, RETAIN_KEYS), *v;
    const char *k;
    size_t kn;
    void *tmp;
    int rc = 0, has;
    if (!rk) return 0;
    json_incref(rk);
    json_object_del(patch, RETAIN_KEYS);
    if (!json_is_array(rk)) rc = fail(st, KC_EBADREQUEST, "invalid patch format of retainKeys");
    if (rc == 0) rc = all_hashable(st, rk);
    json_object_keylen_foreach(patch, k, kn, v)
    {
        if (rc < 0 || json_is_null(v) || has_prefix(k, kn, DELETE_PREFIX) || has_prefix(k, kn, ORDER_PREFIX))
            continue;
        if ((has = listed(st, rk, k, kn)) <= 0)
            rc = has < 0 ? -1 : fail(st, KC_EBADREQUEST, "invalid patch format of retainKeys");
    }
    json_object_keylen_foreach_safe(orig, tmp, k, kn, v)
    {
        if (rc < 0) break;
        if ((has = listed(st, rk, k, kn)) < 0) rc = -1;
        if (has == 0) json_object_deln(orig, k, kn);
    }
    json_decref(rk);
    return rc;
}

/* mergeKeyValueEqual */
static int key_equal(smp *st, const json_t *l, const json_t *r, const char *mk)
{
    const json_t *a, *b;
    if (!*mk) return go_eq(st, l, r);
    if (!json_is_object(l)) return err_bad_arg(st, "map[string]interface {}", l);
    if (!json_is_object(r)) return err_bad_arg(st, "map[string]interface {}", r);
    if (!(a = json_object_get(l, mk))) return err_no_merge_key(st, l, mk);
    if (!(b = json_object_get(r, mk))) return err_no_merge_key(st, r, mk);
    return go_eq(st, a, b);
}

/* validatePatchWithSetOrderList: the patch list must follow the order list. */
static int validate_order(smp *st, json_t *pl, json_t *order, const char *mk)
{
    size_t np = json_array_size(pl), no = json_array_size(order), pi = 0, oi = 0, i;
    json_t *keep = xj(json_array()), *x;
    int rc = 0;
    if (!no || !np) goto out;
    json_array_foreach(pl, i, x)
    {
        if (*mk && !json_is_object(x)) {
            rc = err_bad_arg(st, "map[string]interface {}", x);
            goto out;
        }
        if (!*mk || !is_delete_item(x)) json_array_append(keep, x);
    }
    for (np = json_array_size(keep); pi < np && oi < no;) {
        x = json_array_get(keep, pi);
        if (json_is_object(x) && json_object_get(x, DIRECTIVE)) {
            pi++;
            continue;
        }
        int eq = key_equal(st, x, json_array_get(order, oi), mk);
        if (eq < 0) {
            rc = -1;
            goto out;
        }
        pi += eq;
        oi++;
    }
    if (pi < np && oi >= no) {
        sb m = {.s = {0}, .n = 0};
        sb_puts(&m, "the order in patch list:\n");
        gofmt(&m, pl, 0);
        sb_puts(&m, "\n doesn't match " ORDER_PREFIX " list:\n");
        gofmt(&m, order, 0);
        rc = fail_msg(st, KC_EINTERNAL, m.s);
    }
out:
    json_decref(keep);
    return rc;
}

/* The list merged from the live list ol and the patch list pl, before ordering (either may be
 * NULL; not both). *view: the live list as Go still sees it afterwards (starts as ol). */
static json_t *order_merged(smp *st, json_t *ol, json_t *pl, const sch *items, int strategy, const char *mk,
                            json_t **view)
{
    if (!pl) return json_incref(ol);
    if (!ol) return clean(pl, 0);
    return slice_handler(st, ol, pl, items, strategy, mk, 0, view);
}

/* mergePatchIntoOriginal for the directive key k ("$setElementOrder/<list>"): merges the list
 * and orders it by the directive; removes both from the patch. */
static int order_one(smp *st, json_t *orig, json_t *patch, const char *k, size_t kn, const sch *s)
{
    json_t *order = json_incref(json_object_getn(patch, k, kn)), *ol, *pl, *merged = NULL, *in = NULL,
           *out = NULL, *both = NULL, *view = NULL;
    const char *lk, *mk;
    size_t lkn;
    int strategy, kind, rc = -1;
    sch items;
    json_object_deln(patch, k, kn);
    if (!json_is_array(order)) {
        err_bad_arg(st, "[]interface {}", order);
        goto done;
    }
    if (extract_key(k, kn, ORDER_PREFIX, &lk, &lkn) < 0) {
        fail(st, KC_EBADREQUEST, "invalid patch format of setElementOrder list");
        goto done;
    }
    ol = json_object_getn(orig, lk, lkn);
    pl = json_object_getn(patch, lk, lkn);
    if ((ol && !json_is_array(ol)) || (pl && !json_is_array(pl))) {
        err_bad_arg(st, "[]interface {}", ol && !json_is_array(ol) ? ol : pl);
        goto done;
    }
    if (lookup_slice(st, s, lk, lkn, &items, &strategy, &mk) < 0 || validate_order(st, pl, order, mk) < 0)
        goto done;
    rc = 0;
    if (!ol && !pl) goto done;
    rc = -1;
    view = json_incref(ol);
    if (!(merged = order_merged(st, ol, pl, &items, strategy, mk, &view))) goto done;
    if (partition(st, merged, order, mk, &in, &out) < 0 || (kind = elem_type(st, view, pl)) < 0) goto done;
    if (!(both = normalize_order(st, in, out, order, view, mk, kind))) goto done;
    json_object_setn_new(orig, lk, lkn, both);
    json_object_deln(patch, lk, lkn);
    rc = 0;
done:
    json_decref(order);
    json_decref(view);
    json_decref(merged);
    json_decref(in);
    json_decref(out);
    return rc;
}

/* All "$setElementOrder/..." keys of the patch, in patch order. */
static int order_lists(smp *st, json_t *orig, json_t *patch, const sch *s)
{
    json_t *keys = xj(json_array()), *v;
    const char *k;
    size_t kn, i;
    int rc = 0;
    json_object_keylen_foreach(patch, k, kn, v) if (has_prefix(k, kn, ORDER_PREFIX))
        json_array_append_new(keys, xj(json_stringn(k, kn)));
    json_array_foreach(keys, i, v)
    {
        if ((rc = order_one(st, orig, patch, json_string_value(v), json_string_length(v), s)) < 0) break;
    }
    json_decref(keys);
    return rc;
}

/* Sets orig[k] to the cleaned patch value pv (removes the key when pv cleans away). */
static void set_clean(json_t *orig, const char *k, size_t kn, json_t *pv, int nulls)
{
    json_t *c = clean(pv, nulls);
    if (c)
        json_object_setn_new(orig, k, kn, c);
    else
        json_object_deln(orig, k, kn);
}

/* One key of mergeMap's loop. */
static int merge_field(smp *st, json_t *orig, const char *k, size_t kn, json_t *pv, const sch *s)
{
    int del = 0, strategy;
    const char *mk;
    json_t *ov, *r;
    sch sub;
    if (has_prefix(k, kn, DELETE_PREFIX)) {
        if (extract_key(k, kn, DELETE_PREFIX, &k, &kn) < 0)
            return fail(st, KC_EBADREQUEST, "invalid patch format of primitive list");
        del = 1;
    }
    if (json_is_null(pv)) return json_object_deln(orig, k, kn), 0;
    ov = json_object_getn(orig, k, kn);
    if (!ov || gtype(ov) != gtype(pv)) {
        if (!del) set_clean(orig, k, kn, pv, 1);
        return 0;
    }
    if (json_is_object(pv)) {
        if (lookup_struct(st, s, k, kn, &sub, &strategy, &mk) < 0) return -1;
        if (strategy == ST_REPLACE) json_object_del(pv, DIRECTIVE); /* upstream keeps it verbatim */
        r = strategy == ST_REPLACE ? clean(pv, 0) : merge_map(st, ov, pv, &sub);
    } else if (json_is_array(pv)) {
        if (lookup_slice(st, s, k, kn, &sub, &strategy, &mk) < 0) return -1;
        r = slice_handler(st, ov, pv, &sub, strategy, mk, del, NULL);
    } else {
        r = json_incref(pv);
    }
    if (!r) return -1;
    json_object_setn_new(orig, k, kn, r);
    return 0;
}

/* mergeMap: merges patch into orig (both objects, both mutated). Returns a new reference to the
 * merged object (orig itself, or what a "$patch" directive yields), NULL on failure. */
static json_t *merge_map(smp *st, json_t *orig, json_t *patch, const sch *s)
{
    json_t *d = json_object_get(patch, DIRECTIVE), *pv;
    const char *k;
    size_t kn;
    if (d) return map_directive(st, d, patch);
    if (retain_keys(st, orig, patch) < 0 || order_lists(st, orig, patch, s) < 0) return NULL;
    json_object_keylen_foreach(patch, k, kn, pv)
    {
        if (merge_field(st, orig, k, kn, pv, s) < 0) return NULL;
    }
    return json_incref(orig);
}

/* ---- entry --------------------------------------------------------------------------------- */

/* RFC 7386 MergePatch(target, patch), in place on target; returns a new reference. */
static json_t *merge_rfc(json_t *target, json_t *patch)
{
    const char *k;
    size_t kn;
    json_t *v, *t;
    if (!json_is_object(patch)) return json_incref(patch);
    t = json_is_object(target) ? json_incref(target) : xj(json_object());
    json_object_keylen_foreach(patch, k, kn, v)
    {
        if (json_is_null(v))
            json_object_deln(t, k, kn);
        else
            json_object_setn_new(t, k, kn, merge_rfc(json_object_getn(t, k, kn), v));
    }
    return t;
}

/* The JSON type word Go's decoder names in `cannot unmarshal <word> into Go value`. */
static const char *json_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    default:
        return "bool";
    }
}

json_t *kc_smp_apply(const kc_type *t, json_t *doc, json_t *patch, kc_err *err)
{
    smp st = {.err = err, .failed = 0, .work = 0};
    sch root = {.kind = SK_STRUCT, .t = t, .f = NULL, .name = t ? t->goname : "struct"};
    json_t *o, *p, *r;
    if (!doc || !patch)
        return kc_errf(err, KC_EINTERNAL, "strategic merge patch: NULL document or patch"), NULL;
    if (!json_is_object(doc)) return kc_errf(err, KC_EINTERNAL, "invalid JSON document"), NULL;
    if (json_is_null(patch)) return xj(json_deep_copy(doc));
    if (!json_is_object(patch))
        return kc_errf(err, KC_EBADREQUEST,
                       "json: cannot unmarshal %s into Go value of type map[string]interface {}",
                       json_word(patch)),
               NULL;
    o = xj(json_deep_copy(doc));
    p = xj(json_deep_copy(patch));
    r = t ? merge_map(&st, o, p, &root) : merge_rfc(o, p);
    json_decref(o);
    json_decref(p);
    return r;
}
