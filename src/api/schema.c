/* Field schema: lookups over the generated tables, and the decode / validate walks.
 *
 * This file owns the read-only view of build/gen/schema_tables.c (types sorted by name, each
 * type's fields in declaration order plus a by-name order for binary search) and two walks of a
 * jansson document against a type:
 *   decode   - what Go's encoding/json (with the API server's strict mode) would accept: drops
 *              unknown fields and nulls, rejects type mismatches, parses quantities, RFC 3339
 *              times and base64; mutates the document in place.
 *   validate - the schema-derived part of 422 validation: required fields and closed enums.
 * It does not default, convert versions, or do kind-specific validation (that is the
 * registry strategies' job).
 *
 * Both walks keep the current field path as a small stack of segments pointing into the
 * document (keys are borrowed from jansson), and only render it to text when reporting, so the
 * happy path allocates nothing. */
#include "api/schema.h"
#include "schema_tables.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lookups ---------------------------------------------------------------------------- */

const kc_type *kc_schema_type(const char *name)
{
    size_t lo = 0, hi = KC_SCHEMA_NTYPES;
    if (!name) return NULL;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, kc_schema_types[mid].name);
        if (c == 0) return &kc_schema_types[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const kc_kind *kc_schema_kind_get(const char *group, const char *version, const char *kind)
{
    if (!group || !version || !kind) return NULL;
    for (size_t i = 0; i < KC_SCHEMA_NKINDS; i++) {
        const kc_kind *k = &kc_schema_kinds[i];
        if (!strcmp(k->kind, kind) && !strcmp(k->group, group) && !strcmp(k->version, version)) return k;
    }
    return NULL;
}

const kc_type *kc_schema_kind(const char *group, const char *version, const char *kind)
{
    return kc_kind_type(kc_schema_kind_get(group, version, kind));
}

const kc_kind *kc_schema_kind_by_resource(const char *group, const char *version, const char *resource)
{
    if (!group || !version || !resource) return NULL;
    for (size_t i = 0; i < KC_SCHEMA_NKINDS; i++) {
        const kc_kind *k = &kc_schema_kinds[i];
        if (k->resource && !strcmp(k->resource, resource) && !strcmp(k->group, group) &&
            !strcmp(k->version, version))
            return k;
    }
    return NULL;
}

size_t kc_schema_nkinds(void)
{
    return KC_SCHEMA_NKINDS;
}

const kc_kind *kc_schema_kind_at(size_t i)
{
    return i < KC_SCHEMA_NKINDS ? &kc_schema_kinds[i] : NULL;
}

const kc_type *kc_kind_type(const kc_kind *k)
{
    return k ? &kc_schema_types[k->type] : NULL;
}

const char *kc_type_name(const kc_type *t)
{
    return t->name;
}

size_t kc_type_nfields(const kc_type *t)
{
    return t->nfields;
}

const kc_field *kc_type_field_at(const kc_type *t, size_t i)
{
    return i < t->nfields ? &kc_schema_fields[t->first + i] : NULL;
}

int kc_type_is_atomic(const kc_type *t)
{
    return t->struct_type == KC_STRUCT_ATOMIC;
}

/* Binary search of the type's by-name slice; compares lengths too, so keys with embedded NULs
 * never match. */
const kc_field *kc_type_fieldn(const kc_type *t, const char *name, size_t len)
{
    const uint16_t *order = &kc_schema_field_order[t->first];
    size_t lo = 0, hi = t->nfields;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const kc_field *f = &kc_schema_fields[order[mid]];
        size_t n = len < f->namelen ? len : f->namelen;
        /* most steps differ in the first byte: decide those without a call (3% of a create) */
        int c = n && name[0] != f->name[0] ? (unsigned char)name[0] - (unsigned char)f->name[0] : memcmp(name, f->name, n);
        if (c == 0) c = (len > f->namelen) - (len < f->namelen);
        if (c == 0) return f;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const kc_field *kc_type_field(const kc_type *t, const char *json_name)
{
    return t && json_name ? kc_type_fieldn(t, json_name, strlen(json_name)) : NULL;
}

const char *kc_field_name(const kc_field *f)
{
    return f->name;
}

kc_fkind kc_field_kind(const kc_field *f)
{
    return (kc_fkind)f->v.kind;
}

const kc_type *kc_field_type(const kc_field *f)
{
    return f->v.type >= 0 ? &kc_schema_types[f->v.type] : NULL;
}

kc_fkind kc_field_elem_kind(const kc_field *f)
{
    return (kc_fkind)f->elem.kind;
}

const kc_type *kc_field_elem_type(const kc_field *f)
{
    return f->elem.type >= 0 ? &kc_schema_types[f->elem.type] : NULL;
}

unsigned kc_field_patch(const kc_field *f)
{
    return f->patch;
}

const char *kc_field_merge_key(const kc_field *f)
{
    return f->merge_key;
}

kc_listtype kc_field_list_type(const kc_field *f)
{
    return (kc_listtype)f->list_type;
}

const char *const *kc_field_list_map_keys(const kc_field *f, size_t *n)
{
    *n = f->nlist_keys;
    return f->nlist_keys ? &kc_schema_list_keys[f->list_keys] : NULL;
}

int kc_field_required(const kc_field *f)
{
    return (f->flags & KC_FF_REQUIRED) != 0;
}

int kc_field_nullable(const kc_field *f)
{
    return (f->flags & KC_FF_NULLABLE) != 0;
}

const char *const *kc_field_enum(const kc_field *f, size_t *n)
{
    int e = f->v.enm >= 0 ? f->v.enm : f->elem.enm;
    *n = e >= 0 ? kc_schema_enums[e].n : 0;
    return e >= 0 ? &kc_schema_enum_values[kc_schema_enums[e].first] : NULL;
}

/* ---- paths -------------------------------------------------------------------------------- */

/* Deep enough for the schema (the generator checks ref depth); deeper pushes are counted but
 * not recorded, and render as "...". */
#define PATH_MAX_SEGS 48
#define TEXT_MAX 1024

enum { SEG_FIELD, SEG_INDEX, SEG_KEY };

typedef struct seg {
    const char *key;      /* SEG_FIELD / SEG_KEY: borrowed from the document */
    size_t idx;           /* SEG_INDEX */
    const kc_type *owner; /* SEG_FIELD: the struct holding the field */
    int kind;
} seg;

typedef struct path {
    seg s[PATH_MAX_SEGS];
    int n;
} path;

/* Fixed-size text with truncation: reports are bounded (kc_err.msg is 1 KiB anyway). */
typedef struct text {
    char b[TEXT_MAX];
    size_t n;
} text;

static void push(path *p, int kind, const char *key, size_t idx, const kc_type *owner)
{
    if (p->n < PATH_MAX_SEGS) p->s[p->n] = (seg){key, idx, owner, kind};
    p->n++;
}

static void pop(path *p)
{
    p->n--;
}

static void text_add(text *t, const char *s, size_t n)
{
    size_t room = sizeof t->b - 1 - t->n;
    if (n > room) n = room;
    memcpy(t->b + t->n, s, n);
    t->n += n;
    t->b[t->n] = 0;
}

static void text_str(text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

static void text_fmt(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_fmt(text *t, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) text_add(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Go's %q for the common cases: quotes, backslashes and control bytes escaped. */
static void text_quote(text *t, const char *s)
{
    text_add(t, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            text_fmt(t, "\\%c", c);
        else if (c == '\n')
            text_str(t, "\\n");
        else if (c == '\t')
            text_str(t, "\\t");
        else if (c < 0x20 || c == 0x7f)
            text_fmt(t, "\\x%02x", c);
        else
            text_add(t, (const char *)&c, 1);
    }
    text_add(t, "\"", 1);
}

/* "spec.containers[0].name", map keys as ".key". */
static void text_path(text *t, const path *p)
{
    int n = p->n < PATH_MAX_SEGS ? p->n : PATH_MAX_SEGS;
    for (int i = 0; i < n; i++) {
        const seg *s = &p->s[i];
        if (s->kind == SEG_INDEX)
            text_fmt(t, "[%zu]", s->idx);
        else {
            if (i > 0) text_add(t, ".", 1);
            text_str(t, s->key);
        }
    }
    if (p->n > n) text_str(t, "...");
}

/* Go's UnmarshalTypeError context: field names only (no indexes, no map keys). */
static void text_go_fields(text *t, const path *p)
{
    int n = p->n < PATH_MAX_SEGS ? p->n : PATH_MAX_SEGS, first = 1;
    for (int i = 0; i < n; i++) {
        if (p->s[i].kind != SEG_FIELD) continue;
        if (!first) text_add(t, ".", 1);
        text_str(t, p->s[i].key);
        first = 0;
    }
}

static const kc_type *innermost_struct(const path *p)
{
    int n = p->n < PATH_MAX_SEGS ? p->n : PATH_MAX_SEGS;
    for (int i = n - 1; i >= 0; i--)
        if (p->s[i].kind == SEG_FIELD) return p->s[i].owner;
    return NULL;
}

/* ---- value checks --------------------------------------------------------------------------- */

#define QTY_ERR_FORMAT                                                                                       \
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define QTY_ERR_SUFFIX "unable to parse quantity's suffix"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* strconv.ParseInt(s, 10, 64) succeeds. */
static int parses_int64(const char *s, size_t n)
{
    size_t i = (n > 0 && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    if (i == n) return 0;
    for (size_t j = i; j < n; j++)
        if (!is_digit(s[j])) return 0;
    while (i < n - 1 && s[i] == '0')
        i++;
    if (n - i != 19) return n - i < 19;
    return memcmp(s + i, s[0] == '-' ? "9223372036854775808" : "9223372036854775807", 19) <= 0;
}

static int quantity_suffix_ok(const char *s, size_t n)
{
    static const char *const known[] = {"",  "n", "u",  "m",  "k",  "M",  "G",  "T",
                                        "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strlen(known[i]) == n && !memcmp(known[i], s, n)) return 1;
    return n > 1 && (s[0] == 'e' || s[0] == 'E') && parses_int64(s + 1, n - 1);
}

/* resource.ParseQuantity's acceptance (parseQuantityString + suffix lookup); NULL when valid.
 *   "100m" ok, "1Gi" ok, "0.5" ok, "1e3" ok, "1.5.5" format error, "1Qi" format, "1kk" suffix. */
static const char *quantity_check(const char *s, size_t n)
{
    size_t pos = 0, suf;
    if (n == 0) return QTY_ERR_FORMAT;
    if (s[0] == '+' || s[0] == '-') pos++;
    while (pos < n && s[pos] == '0')
        pos++;
    if (pos >= n) return NULL;
    while (pos < n && is_digit(s[pos]))
        pos++;
    if (pos < n && s[pos] == '.') {
        pos++;
        while (pos < n && is_digit(s[pos]))
            pos++;
    }
    suf = pos;
    while (pos < n && s[pos] && memchr("eEinumkKMGTP", s[pos], 12))
        pos++;
    if (pos < n && (s[pos] == '-' || s[pos] == '+')) pos++;
    while (pos < n && is_digit(s[pos]))
        pos++;
    if (pos < n) return QTY_ERR_FORMAT;
    return quantity_suffix_ok(s + suf, n - suf) ? NULL : QTY_ERR_SUFFIX;
}

static int num2(const char *s, int lo, int hi)
{
    if (!is_digit(s[0]) || !is_digit(s[1])) return -1;
    int v = (s[0] - '0') * 10 + (s[1] - '0');
    return v >= lo && v <= hi ? v : -1;
}

static int days_in(int month, int year)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : d[month - 1];
}

/* time.Parse(time.RFC3339) (any fraction, '.' or ',') or RFC3339Micro (exactly 6 digits).
 *   "2024-02-29T10:00:00Z", "2024-01-01T00:00:00.5+01:00" ok; "2023-02-29T..." not. */
static int rfc3339_ok(const char *s, size_t n, int micro)
{
    if (n < 20 || memchr(s, 0, n)) return 0;
    for (int i = 0; i < 4; i++)
        if (!is_digit(s[i])) return 0;
    int year = atoi(s), month = num2(s + 5, 1, 12);
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || month < 0) return 0;
    if (num2(s + 8, 1, days_in(month, year)) < 0 || num2(s + 11, 0, 23) < 0 || num2(s + 14, 0, 59) < 0 ||
        num2(s + 17, 0, 59) < 0)
        return 0;
    size_t i = 19, digits = 0;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1]))
        for (i++; i < n && is_digit(s[i]); i++)
            digits++;
    if (micro && digits != 6) return 0;
    if (n - i == 1) return s[i] == 'Z';
    if (n - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':') return 0;
    return num2(s + i + 1, 0, 23) >= 0 && num2(s + i + 4, 0, 59) >= 0;
}

static int b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit((char)c) || c == '+' || c == '/';
}

static int b64_newline(char c)
{
    return c == '\r' || c == '\n';
}

/* base64.StdEncoding.Decode (padding required, \r and \n skipped): -1 if valid, else the
 * offset Go reports as "illegal base64 data at input byte N" (same cases as decodeQuantum). */
static long b64_bad(const char *s, size_t n)
{
    size_t i = 0, j = 0; /* j: characters in the current 4-character quantum */
    while (i < n) {
        char c = s[i++];
        if (b64_newline(c)) continue;
        if (b64_char((unsigned char)c)) {
            j = (j + 1) % 4;
            continue;
        }
        if (c != '=' || j < 2) return (long)i - 1;
        if (j == 2) { /* "==" expected */
            while (i < n && b64_newline(s[i]))
                i++;
            if (i == n) return (long)n;
            if (s[i] != '=') return (long)i - 1;
            i++;
        }
        while (i < n && b64_newline(s[i]))
            i++;
        return i < n ? (long)i : -1; /* trailing garbage */
    }
    return j == 0 ? -1 : (long)(n - j);
}

/* ---- decode ------------------------------------------------------------------------------ */

typedef struct dec {
    kc_fieldval mode;
    json_t *warnings;
    kc_err *err;
    int nunknown;
    path p;
} dec;

static int decode_object(dec *d, const kc_type *t, json_t *obj);

static const char *json_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "null";
    }
}

/* Shortest %g that reads back as the same double (what a JSON encoder would have written). */
static void fmt_real(char *buf, size_t n, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* json: cannot unmarshal <what> into Go struct field <Struct>.<a.b.c> of type <gotype> */
static int type_error(dec *d, const char *what, const kc_elem *e)
{
    const kc_type *owner = innermost_struct(&d->p);
    text t = {.n = 0};
    if (!owner)
        return kc_errf(d->err, KC_EBADREQUEST, "json: cannot unmarshal %s into Go value of type %s", what,
                       e->gotype);
    text_go_fields(&t, &d->p);
    return kc_errf(d->err, KC_EBADREQUEST, "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
                   what, owner->goname, t.b, e->gotype);
}

static int mismatch(dec *d, const json_t *v, const kc_elem *e)
{
    return type_error(d, json_kind_name(v), e);
}

/* A number that does not fit the Go integer type: "number 1.5", "number 4294967296". */
static int bad_number(dec *d, const json_t *v, const kc_elem *e)
{
    char what[64], num[40];
    if (json_is_real(v))
        fmt_real(num, sizeof num, json_real_value(v));
    else
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    snprintf(what, sizeof what, "number %s", num);
    return type_error(d, what, e);
}

static int check_integer(dec *d, const json_t *v, const kc_elem *e, int int32)
{
    if (!json_is_number(v)) return mismatch(d, v, e);
    if (json_is_real(v)) return bad_number(d, v, e);
    json_int_t i = json_integer_value(v);
    if (int32 && (i < INT32_MIN || i > INT32_MAX)) return bad_number(d, v, e);
    return 0;
}

/* Numbers become strings (Quantity always encodes as a string); strings must parse. */
static int decode_quantity(dec *d, json_t *v, json_t **repl)
{
    char buf[40];
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *repl = json_string(buf);
        return 0;
    }
    if (json_is_real(v)) {
        fmt_real(buf, sizeof buf, json_real_value(v));
        *repl = json_string(buf);
        return 0;
    }
    if (!json_is_string(v)) return kc_errf(d->err, KC_EBADREQUEST, "%s", QTY_ERR_FORMAT);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    while (n > 0 && (*s == ' ' || (*s >= '\t' && *s <= '\r')))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
        n--;
    const char *msg = quantity_check(s, n);
    return msg ? kc_errf(d->err, KC_EBADREQUEST, "%s", msg) : 0;
}

static int decode_time(dec *d, const json_t *v, const kc_elem *e)
{
    int micro = e->fmt == KC_FMT_RFC3339_MICRO;
    if (!json_is_string(v)) return mismatch(d, v, e);
    if (rfc3339_ok(json_string_value(v), json_string_length(v), micro)) return 0;
    text t = {.n = 0};
    text_quote(&t, json_string_value(v));
    return kc_errf(d->err, KC_EBADREQUEST, "parsing time %s as \"%s\": cannot parse", t.b,
                   micro ? "2006-01-02T15:04:05.000000Z07:00" : "2006-01-02T15:04:05Z07:00");
}

static int decode_bytes(dec *d, const json_t *v, const kc_elem *e)
{
    if (!json_is_string(v)) return mismatch(d, v, e);
    long bad = b64_bad(json_string_value(v), json_string_length(v));
    return bad < 0 ? 0 : kc_errf(d->err, KC_EBADREQUEST, "illegal base64 data at input byte %ld", bad);
}

/* Go's zero value for a null array item / map value; NULL where Go keeps null. */
static json_t *zero_value(const kc_elem *e)
{
    switch (e->kind) {
    case KC_FK_STRING:
    case KC_FK_DURATION:
        return json_string("");
    case KC_FK_INTEGER:
    case KC_FK_NUMBER:
    case KC_FK_INTORSTRING:
        return json_integer(0);
    case KC_FK_BOOLEAN:
        return json_false();
    case KC_FK_QUANTITY:
        return json_string("0");
    case KC_FK_REF:
        return json_object();
    default:
        return NULL;
    }
}

static int decode_value(dec *d, const kc_elem *e, const kc_field *f, json_t *v, json_t **repl);

static int decode_array(dec *d, const kc_field *f, json_t *arr)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *item = json_array_get(arr, i), *repl = NULL;
        if (json_is_null(item)) {
            json_t *z = zero_value(&f->elem);
            if (z) json_array_set_new(arr, i, z);
            continue;
        }
        push(&d->p, SEG_INDEX, NULL, i, NULL);
        int rc = decode_value(d, &f->elem, f, item, &repl);
        pop(&d->p);
        if (rc < 0) return rc;
        if (repl) json_array_set_new(arr, i, repl);
    }
    return 0;
}

static int decode_map(dec *d, const kc_field *f, json_t *obj)
{
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        json_t *v = json_object_iter_value(it), *repl = NULL;
        if (json_is_null(v)) {
            json_t *z = zero_value(&f->elem);
            if (z) json_object_iter_set_new(obj, it, z);
            continue;
        }
        push(&d->p, SEG_KEY, json_object_iter_key(it), 0, NULL);
        int rc = decode_value(d, &f->elem, f, v, &repl);
        pop(&d->p);
        if (rc < 0) return rc;
        if (repl) json_object_iter_set_new(obj, it, repl);
    }
    return 0;
}

/* Checks one non-null value against e; *repl gets a replacement value when it must change. */
static int decode_value(dec *d, const kc_elem *e, const kc_field *f, json_t *v, json_t **repl)
{
    switch ((kc_fkind)e->kind) {
    case KC_FK_STRING:
    case KC_FK_DURATION:
        return json_is_string(v) ? 0 : mismatch(d, v, e);
    case KC_FK_INTEGER:
        return check_integer(d, v, e, e->fmt != KC_FMT_INT64);
    case KC_FK_NUMBER:
        return json_is_number(v) ? 0 : mismatch(d, v, e);
    case KC_FK_BOOLEAN:
        return json_is_boolean(v) ? 0 : mismatch(d, v, e);
    case KC_FK_BYTE:
        return decode_bytes(d, v, e);
    case KC_FK_QUANTITY:
        return decode_quantity(d, v, repl);
    case KC_FK_INTORSTRING:
        return json_is_string(v) ? 0 : check_integer(d, v, e, 1);
    case KC_FK_DATETIME:
        return decode_time(d, v, e);
    case KC_FK_ANY:
        return 0;
    case KC_FK_REF:
        return json_is_object(v) ? decode_object(d, &kc_schema_types[e->type], v) : mismatch(d, v, e);
    case KC_FK_ARRAY:
        return json_is_array(v) ? decode_array(d, f, v) : mismatch(d, v, e);
    case KC_FK_MAP:
        return json_is_object(v) ? decode_map(d, f, v) : mismatch(d, v, e);
    }
    return 0;
}

/* Records unknown field `key` at the current path: warning, strict message, or nothing. */
static void unknown_field(dec *d, const char *key)
{
    if (d->mode == KC_FV_IGNORE) return;
    text t = {.n = 0};
    push(&d->p, SEG_FIELD, key, 0, NULL);
    text_str(&t, "unknown field ");
    text q = {.n = 0};
    text_path(&q, &d->p);
    pop(&d->p);
    text_quote(&t, q.b);
    if (d->mode == KC_FV_WARN) {
        if (d->warnings) json_array_append_new(d->warnings, json_string(t.b));
        return;
    }
    kc_err *err = d->err;
    if (d->nunknown++ == 0)
        kc_errf(err, KC_EBADREQUEST, "strict decoding error: %s", t.b);
    else if (strlen(err->msg) + t.n + 2 < sizeof err->msg)
        strcat(strcat(err->msg, ", "), t.b);
}

static int decode_object(dec *d, const kc_type *t, json_t *obj)
{
    void *it = json_object_iter(obj);
    while (it) {
        void *next = json_object_iter_next(obj, it);
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        json_t *v = json_object_iter_value(it), *repl = NULL;
        const kc_field *f = kc_type_fieldn(t, key, klen);
        if (!f || json_is_null(v)) {
            if (!f) unknown_field(d, key);
            json_object_deln(obj, key, klen);
            it = next;
            continue;
        }
        push(&d->p, SEG_FIELD, key, 0, t);
        int rc = decode_value(d, &f->v, f, v, &repl);
        pop(&d->p);
        if (rc < 0) return rc;
        if (repl) json_object_iter_set_new(obj, it, repl);
        it = next;
    }
    return 0;
}

int kc_schema_decode(const kc_type *t, json_t *obj, kc_fieldval mode, json_t *warnings, kc_err *err)
{
    dec d = {.mode = mode, .warnings = warnings, .err = err};
    if (!t) return kc_errf(err, KC_EINTERNAL, "schema decode: no type");
    if (!json_is_object(obj)) {
        const char *slash = strchr(t->name, '/'); /* "core/v1.Pod" -> Go type "v1.Pod" */
        return kc_errf(err, KC_EBADREQUEST, "json: cannot unmarshal %s into Go value of type %s",
                       obj ? json_kind_name(obj) : "null", slash ? slash + 1 : t->name);
    }
    if (decode_object(&d, t, obj) < 0) return -1;
    return d.nunknown > 0 ? -1 : 0;
}

/* ---- validate ------------------------------------------------------------------------------ */

typedef struct val {
    kc_err *err;
    unsigned flags;
    size_t ncauses;
    path p;
} val;

static void validate_object(val *c, const kc_type *t, json_t *obj);

static void cause(val *c, const char *reason, const char *msg)
{
    text t = {.n = 0};
    text_path(&t, &c->p);
    kc_err_cause(c->err, reason, t.b, "%s", msg);
    c->ncauses++;
}

static int skipped(const val *c, const kc_field *f)
{
    return (f->flags & KC_FF_STATUS) && !(c->flags & KC_SV_STATUS);
}

static void check_required(val *c, const kc_type *t, json_t *obj)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const kc_field *f = &kc_schema_fields[t->first + i];
        if (!(f->flags & KC_FF_REQUIRED) || skipped(c, f)) continue;
        json_t *v = json_object_get(obj, f->name);
        if (v && !json_is_null(v)) continue;
        push(&c->p, SEG_FIELD, f->name, 0, t);
        cause(c, "FieldValueRequired", "Required value");
        pop(&c->p);
    }
}

/* Unsupported value: "Foo": supported values: "Always", "IfNotPresent", "Never" */
static void check_enum(val *c, const kc_elem *e, const kc_field *f, json_t *v)
{
    const kc_enum *en = &kc_schema_enums[e->enm];
    const char *s = json_string_value(v);
    if (!s) return;
    if (!*s && e == &f->v && (f->flags & KC_FF_OMITEMPTY)) return; /* "" is unset */
    for (size_t i = 0; i < en->n; i++)
        if (!strcmp(s, kc_schema_enum_values[en->first + i])) return;
    text t = {.n = 0};
    text_str(&t, "Unsupported value: ");
    text_quote(&t, s);
    text_str(&t, ": supported values: ");
    for (size_t i = 0; i < en->n; i++) {
        if (i) text_str(&t, ", ");
        text_quote(&t, kc_schema_enum_values[en->first + i]);
    }
    cause(c, "FieldValueNotSupported", t.b);
}

static int elem_has_checks(const kc_elem *e)
{
    return e->enm >= 0 || (e->kind == KC_FK_REF && kc_schema_types[e->type].checks);
}

static void validate_value(val *c, const kc_elem *e, const kc_field *f, json_t *v)
{
    if (e->enm >= 0) check_enum(c, e, f, v);
    if (e->kind == KC_FK_REF && json_is_object(v)) validate_object(c, &kc_schema_types[e->type], v);
    if (!elem_has_checks(&f->elem) || e != &f->v) return;
    if (e->kind == KC_FK_ARRAY && json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            push(&c->p, SEG_INDEX, NULL, i, NULL);
            validate_value(c, &f->elem, f, json_array_get(v, i));
            pop(&c->p);
        }
    } else if (e->kind == KC_FK_MAP && json_is_object(v)) {
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            push(&c->p, SEG_KEY, json_object_iter_key(it), 0, NULL);
            validate_value(c, &f->elem, f, json_object_iter_value(it));
            pop(&c->p);
        }
    }
}

static void validate_object(val *c, const kc_type *t, json_t *obj)
{
    if (!t->checks) return;
    check_required(c, t, obj);
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const kc_field *f = kc_type_fieldn(t, json_object_iter_key(it), json_object_iter_key_len(it));
        if (!f || skipped(c, f) || (!elem_has_checks(&f->v) && !elem_has_checks(&f->elem))) continue;
        push(&c->p, SEG_FIELD, f->name, 0, t);
        validate_value(c, &f->v, f, json_object_iter_value(it));
        pop(&c->p);
    }
}

/* Leaves a readable default message ("a: Required value, b: ...") in err->msg; callers that
 * build a Kubernetes Status message use the causes instead. */
static int invalid(val *c, size_t first)
{
    text t = {.n = 0};
    for (size_t i = first; i < json_array_size(c->err->causes); i++) {
        json_t *cs = json_array_get(c->err->causes, i);
        text_fmt(&t, "%s%s: %s", i > first ? ", " : "", json_string_value(json_object_get(cs, "field")),
                 json_string_value(json_object_get(cs, "message")));
    }
    return kc_errf(c->err, KC_EINVALID, "%s", t.b);
}

int kc_schema_validate_flags(const kc_type *t, json_t *obj, unsigned flags, kc_err *err)
{
    val c = {.err = err, .flags = flags};
    size_t first = kc_err_ncauses(err);
    if (!t) return kc_errf(err, KC_EINTERNAL, "schema validate: no type");
    if (!json_is_object(obj)) return 0;
    validate_object(&c, t, obj);
    return c.ncauses ? invalid(&c, first) : 0;
}

int kc_schema_validate(const kc_type *t, json_t *obj, kc_err *err)
{
    return kc_schema_validate_flags(t, obj, 0, err);
}
