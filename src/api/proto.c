/* Protobuf request bodies -> JSON (contract in proto.h).
 *
 * This file owns the protobuf wire reader (varints, tags, length-delimited slices, skipping
 * unknown fields by wire type), the runtime.Unknown envelope, and two passes over an object:
 *   pass 1, read_fields: protobuf -> a JSON object holding only the fields present on the wire,
 *           keyed by JSON name and driven by the generated kc_pb tables (proto_tables.h);
 *           embedded structs that JSON inlines (Probe.handler) are read into the same object;
 *   pass 2, marshal: that object + the schema type -> what Go's encoding/json prints for the
 *           decoded struct: declaration order, omitempty / omitzero, zero values for absent
 *           fields, sorted map keys.
 * Every read is bounds-checked against the slice it belongs to; nesting is capped at
 * KC_PROTO_MAX_DEPTH. It does not check values against the schema (enums, quantity syntax,
 * required fields): kc_schema_decode / kc_schema_validate do that for both wire formats. */
#include "api/proto.h"
#include "proto_tables.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rd {
    const uint8_t *p, *end; /* unread bytes of one message */
} rd;

typedef struct dec {
    kc_err *err;
    int depth;
} dec;

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static int fail(dec *d, const char *type, uint32_t num, const char *what)
{
    if (num) return kc_errf(d->err, KC_EBADREQUEST, "protobuf: %s field %u: %s", type, (unsigned)num, what);
    return kc_errf(d->err, KC_EBADREQUEST, "protobuf: %s: %s", type, what);
}

/* ---- wire reader ------------------------------------------------------------------------ */

static int get_varint(rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

static int get_slice(rd *r, rd *sub)
{
    uint64_t n;
    if (get_varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p)) return -1;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 0;
}

static int read_tag(dec *d, const char *type, rd *r, uint32_t *num, int *wt)
{
    uint64_t t;
    if (get_varint(r, &t) < 0) return fail(d, type, 0, "truncated field tag");
    if ((t >> 3) == 0 || (t >> 3) > 0x1fffffffu) return fail(d, type, 0, "invalid field number");
    *num = (uint32_t)(t >> 3);
    *wt = (int)(t & 7);
    return 0;
}

/* Skips one value of an unknown field. Groups (wire types 3, 4) are not used by Kubernetes. */
static int skip_value(dec *d, const char *type, uint32_t num, int wt, rd *r)
{
    uint64_t v;
    rd sub;
    size_t n = wt == WT_I64 ? 8 : 4;
    switch (wt) {
    case WT_VARINT:
        return get_varint(r, &v) < 0 ? fail(d, type, num, "truncated varint") : 0;
    case WT_LEN:
        return get_slice(r, &sub) < 0 ? fail(d, type, num, "length exceeds the message") : 0;
    case WT_I64:
    case WT_I32:
        if ((size_t)(r->end - r->p) < n) return fail(d, type, num, "truncated fixed-size value");
        r->p += n;
        return 0;
    default:
        return fail(d, type, num, "unsupported wire type");
    }
}

static int want(dec *d, const char *type, uint32_t num, int wt, int expected)
{
    return wt == expected ? 0 : fail(d, type, num, "wrong wire type");
}

static int read_varint(dec *d, const char *type, uint32_t num, int wt, rd *r, uint64_t *v)
{
    if (want(d, type, num, wt, WT_VARINT) < 0) return -1;
    return get_varint(r, v) < 0 ? fail(d, type, num, "truncated varint") : 0;
}

static int read_slice(dec *d, const char *type, uint32_t num, int wt, rd *r, rd *sub)
{
    if (want(d, type, num, wt, WT_LEN) < 0) return -1;
    return get_slice(r, sub) < 0 ? fail(d, type, num, "length exceeds the message") : 0;
}

static json_t *jstr(rd s)
{
    return json_stringn((const char *)s.p, (size_t)(s.end - s.p)); /* NULL: not UTF-8 */
}

static int read_string(dec *d, const char *type, uint32_t num, int wt, rd *r, json_t **out)
{
    rd s;
    if (read_slice(d, type, num, wt, r, &s) < 0) return -1;
    if (!(*out = jstr(s))) return fail(d, type, num, "string is not valid UTF-8");
    return 0;
}

/* ---- values with a fixed message shape -------------------------------------------------- */

static json_t *base64(rd s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (size_t)(s.end - s.p), o = 0;
    char *buf = malloc(4 * ((n + 2) / 3) + 1);
    if (!buf) abort();
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s.p[i] << 16 | (i + 1 < n ? (uint32_t)s.p[i + 1] << 8 : 0) |
                     (i + 2 < n ? s.p[i + 2] : 0);
        buf[o++] = tab[v >> 18 & 63];
        buf[o++] = tab[v >> 12 & 63];
        buf[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        buf[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    json_t *j = json_stringn(buf, o);
    free(buf);
    return j;
}

/* resource.Quantity {1: string}; an empty message is the zero quantity "0". */
static int read_quantity(dec *d, rd m, json_t **out)
{
    json_t *s = NULL;
    while (m.p < m.end) {
        uint32_t num;
        int wt;
        if (read_tag(d, "resource.Quantity", &m, &num, &wt) < 0) goto bad;
        if (num != KC_PB_QUANTITY_STRING) {
            if (skip_value(d, "resource.Quantity", num, wt, &m) < 0) goto bad;
            continue;
        }
        json_decref(s);
        s = NULL;
        if (read_string(d, "resource.Quantity", num, wt, &m, &s) < 0) goto bad;
    }
    *out = s ? s : json_string("0");
    return 0;
bad:
    json_decref(s);
    return -1;
}

/* intstr.IntOrString {1: type (0 int, 1 string), 2: intVal, 3: strVal}. */
static int read_intstr(dec *d, rd m, json_t **out)
{
    const char *ty = "intstr.IntOrString";
    uint64_t type = 0, ival = 0;
    rd sval = {m.p, m.p};
    while (m.p < m.end) {
        uint32_t num;
        int wt, rc;
        if (read_tag(d, ty, &m, &num, &wt) < 0) return -1;
        if (num == KC_PB_INTSTR_TYPE)
            rc = read_varint(d, ty, num, wt, &m, &type);
        else if (num == KC_PB_INTSTR_INTVAL)
            rc = read_varint(d, ty, num, wt, &m, &ival);
        else if (num == KC_PB_INTSTR_STRVAL)
            rc = read_slice(d, ty, num, wt, &m, &sval);
        else
            rc = skip_value(d, ty, num, wt, &m);
        if (rc < 0) return -1;
    }
    if (type != 1) {
        *out = json_integer((int32_t)(uint32_t)ival);
        return 0;
    }
    return (*out = jstr(sval)) ? 0 : fail(d, ty, KC_PB_INTSTR_STRVAL, "string is not valid UTF-8");
}

#define GO_ZERO_UNIX (-62135596800LL) /* 0001-01-01T00:00:00Z, Go's zero time.Time */
#define MAX_UNIX 253402300799LL       /* 9999-12-31T23:59:59Z */

/* RFC 3339 in UTC the way metav1.Time (seconds) and MicroTime (microseconds) marshal. */
static json_t *format_time(int64_t sec, int64_t nsec, int micro)
{
    struct tm tm;
    time_t t = (time_t)sec;
    char buf[48];
    gmtime_r(&t, &tm);
    int n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (micro) n += snprintf(buf + n, sizeof buf - (size_t)n, ".%06d", (int)(nsec / 1000));
    snprintf(buf + n, sizeof buf - (size_t)n, "Z");
    return json_string(buf);
}

/* meta/v1.Time / MicroTime {1: seconds, 2: nanos}; an empty message is the zero time (null). */
static int read_time(dec *d, rd m, int micro, json_t **out)
{
    const char *ty = micro ? "meta/v1.MicroTime" : "meta/v1.Time";
    uint64_t sec = 0, nsec = 0;
    int empty = m.p == m.end;
    while (m.p < m.end) {
        uint32_t num;
        int wt, rc;
        if (read_tag(d, ty, &m, &num, &wt) < 0) return -1;
        if (num == KC_PB_TIME_SECONDS)
            rc = read_varint(d, ty, num, wt, &m, &sec);
        else if (num == KC_PB_TIME_NANOS)
            rc = read_varint(d, ty, num, wt, &m, &nsec);
        else
            rc = skip_value(d, ty, num, wt, &m);
        if (rc < 0) return -1;
    }
    int64_t s = (int64_t)sec, ns = (int32_t)(uint32_t)nsec; /* time.Unix normalizes nanos */
    if (s < GO_ZERO_UNIX - 3 || s > MAX_UNIX + 3) return fail(d, ty, 0, "time outside years 1-9999");
    s += ns / 1000000000;
    ns %= 1000000000;
    if (ns < 0) s--, ns += 1000000000;
    if (empty || (s == GO_ZERO_UNIX && ns == 0)) {
        *out = json_null();
        return 0;
    }
    if (s < GO_ZERO_UNIX || s > MAX_UNIX) return fail(d, ty, 0, "time outside years 1-9999");
    *out = format_time(s, ns, micro);
    return 0;
}

static json_t *decode_envelope(dec *d, const uint8_t *buf, size_t len);

/* runtime.RawExtension / meta/v1.FieldsV1 {1: raw}: the embedded JSON (or a nested "k8s\0"
 * protobuf object); empty is null, as their MarshalJSON prints. */
static int read_raw(dec *d, rd m, json_t **out)
{
    const char *ty = "runtime.RawExtension";
    rd raw = {m.p, m.p};
    while (m.p < m.end) {
        uint32_t num;
        int wt, rc;
        if (read_tag(d, ty, &m, &num, &wt) < 0) return -1;
        rc = num == KC_PB_RAWEXT_RAW ? read_slice(d, ty, num, wt, &m, &raw) : skip_value(d, ty, num, wt, &m);
        if (rc < 0) return -1;
    }
    size_t n = (size_t)(raw.end - raw.p);
    if (n == 0) {
        *out = json_null();
        return 0;
    }
    if (n >= KC_PROTO_MAGIC_LEN && !memcmp(raw.p, KC_PROTO_MAGIC, KC_PROTO_MAGIC_LEN))
        return (*out = decode_envelope(d, raw.p, n)) ? 0 : -1;
    *out = json_loadb((const char *)raw.p, n, JSON_DECODE_ANY, NULL);
    return *out ? 0 : fail(d, ty, KC_PB_RAWEXT_RAW, "raw object is not valid JSON");
}

/* ---- pass 1: protobuf -> fields present on the wire ------------------------------------- */

static const kc_pb_msg *find_msg(const char *type)
{
    size_t lo = 0, hi = KC_PB_NMSGS;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(type, kc_pb_msgs[mid].type);
        if (!c) return &kc_pb_msgs[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const kc_pb_field *find_field(const kc_pb_msg *m, uint32_t num)
{
    size_t lo = m->first, hi = (size_t)m->first + m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kc_pb_fields[mid].num == num) return &kc_pb_fields[mid];
        if (num < kc_pb_fields[mid].num)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static int read_fields(dec *d, const kc_pb_msg *m, rd r, json_t *obj);

static const kc_pb_msg *sub_msg(dec *d, const kc_pb_msg *m, const kc_pb_field *f)
{
    if (f->msg >= 0) return &kc_pb_msgs[f->msg];
    fail(d, m->type, f->num, "nested type has no protobuf field table");
    return NULL;
}

/* One value of field f (an array item, a map value, or a singular non-message field). */
static int read_value(dec *d, const kc_pb_msg *m, const kc_pb_field *f, int wt, rd *r, json_t **out)
{
    uint64_t v;
    rd s;
    const kc_pb_msg *sm;
    switch (f->kind) {
    case KC_PB_STRING:
        return read_string(d, m->type, f->num, wt, r, out);
    case KC_PB_BOOL:
    case KC_PB_INT32:
    case KC_PB_INT64:
        if (read_varint(d, m->type, f->num, wt, r, &v) < 0) return -1;
        *out = f->kind == KC_PB_BOOL    ? json_boolean(v != 0)
               : f->kind == KC_PB_INT32 ? json_integer((int32_t)(uint32_t)v)
                                        : json_integer((json_int_t)(int64_t)v);
        return 0;
    }
    if (read_slice(d, m->type, f->num, wt, r, &s) < 0) return -1;
    switch (f->kind) {
    case KC_PB_BYTES:
        *out = base64(s);
        return 0;
    case KC_PB_QUANTITY:
        return read_quantity(d, s, out);
    case KC_PB_INTSTR:
        return read_intstr(d, s, out);
    case KC_PB_TIME:
    case KC_PB_MICROTIME:
        return read_time(d, s, f->kind == KC_PB_MICROTIME, out);
    case KC_PB_RAW:
        return read_raw(d, s, out);
    case KC_PB_MESSAGE:
        if (!(sm = sub_msg(d, m, f))) return -1;
        *out = json_object();
        if (read_fields(d, sm, s, *out) == 0) return 0;
        json_decref(*out);
        return -1;
    default:
        return fail(d, m->type, f->num, "unexpected field kind");
    }
}

static json_t *member(json_t *obj, const char *name, json_t *(*make)(void), int (*is)(const json_t *))
{
    json_t *v = json_object_get(obj, name);
    if (v && is(v)) return v;
    v = make();
    json_object_set_new(obj, name, v);
    return v;
}

static int is_array(const json_t *j)
{
    return json_is_array(j);
}
static int is_object(const json_t *j)
{
    return json_is_object(j);
}

/* A repeated field: one item per occurrence, or a packed run of varints. */
static int read_repeated(dec *d, const kc_pb_msg *m, const kc_pb_field *f, int wt, rd *r, json_t *obj)
{
    json_t *arr = member(obj, f->name, json_array, is_array), *v;
    int varints = f->kind == KC_PB_BOOL || f->kind == KC_PB_INT32 || f->kind == KC_PB_INT64;
    if (varints && wt == WT_LEN) {
        rd packed;
        if (get_slice(r, &packed) < 0) return fail(d, m->type, f->num, "length exceeds the message");
        while (packed.p < packed.end) {
            if (read_value(d, m, f, WT_VARINT, &packed, &v) < 0) return -1;
            json_array_append_new(arr, v);
        }
        return 0;
    }
    if (read_value(d, m, f, wt, r, &v) < 0) return -1;
    json_array_append_new(arr, v);
    return 0;
}

/* The zero value Go gives a map value that is missing from its entry. */
static json_t *zero_value(int kind)
{
    switch (kind) {
    case KC_PB_STRING:
    case KC_PB_BYTES:
        return json_string("");
    case KC_PB_BOOL:
        return json_false();
    case KC_PB_INT32:
    case KC_PB_INT64:
    case KC_PB_INTSTR:
        return json_integer(0);
    case KC_PB_QUANTITY:
        return json_string("0");
    case KC_PB_MESSAGE:
        return json_object();
    default:
        return json_null();
    }
}

/* A map field: each occurrence is an entry message {1: key, 2: value}; a later key wins. */
static int read_map_entry(dec *d, const kc_pb_msg *m, const kc_pb_field *f, int wt, rd *r, json_t *obj)
{
    rd e, key = {NULL, NULL};
    json_t *val = NULL;
    if (read_slice(d, m->type, f->num, wt, r, &e) < 0) return -1;
    while (e.p < e.end) {
        uint32_t num;
        int ewt, rc;
        if (read_tag(d, m->type, &e, &num, &ewt) < 0) goto bad;
        if (num == 1) {
            rc = read_slice(d, m->type, f->num, ewt, &e, &key);
        } else if (num == 2) {
            json_decref(val);
            val = NULL;
            rc = read_value(d, m, f, ewt, &e, &val);
        } else {
            rc = skip_value(d, m->type, f->num, ewt, &e);
        }
        if (rc < 0) goto bad;
    }
    json_t *map = member(obj, f->name, json_object, is_object);
    size_t klen = (size_t)(key.end - key.p);
    if (json_object_setn_new(map, klen ? (const char *)key.p : "", klen, val ? val : zero_value(f->kind)) < 0)
        return fail(d, m->type, f->num, "map key is not valid UTF-8");
    return 0;
bad:
    json_decref(val);
    return -1;
}

/* A singular message: merged into what an earlier occurrence left (protobuf merge semantics);
 * an inlined embedded struct is read into obj itself. */
static int read_message(dec *d, const kc_pb_msg *m, const kc_pb_field *f, int wt, rd *r, json_t *obj)
{
    rd s;
    const kc_pb_msg *sm = sub_msg(d, m, f);
    if (!sm || read_slice(d, m->type, f->num, wt, r, &s) < 0) return -1;
    if (f->kind == KC_PB_INLINE) return read_fields(d, sm, s, obj);
    return read_fields(d, sm, s, member(obj, f->name, json_object, is_object));
}

static int read_field(dec *d, const kc_pb_msg *m, const kc_pb_field *f, int wt, rd *r, json_t *obj)
{
    json_t *v;
    if (f->card == KC_PB_REPEATED) return read_repeated(d, m, f, wt, r, obj);
    if (f->card == KC_PB_MAP) return read_map_entry(d, m, f, wt, r, obj);
    if (f->kind == KC_PB_MESSAGE || f->kind == KC_PB_INLINE) return read_message(d, m, f, wt, r, obj);
    if (read_value(d, m, f, wt, r, &v) < 0) return -1;
    json_object_set_new(obj, f->name, v); /* a later occurrence wins */
    return 0;
}

static int read_fields(dec *d, const kc_pb_msg *m, rd r, json_t *obj)
{
    if (++d->depth > KC_PROTO_MAX_DEPTH) return fail(d, m->type, 0, "messages nested too deeply");
    while (r.p < r.end) {
        uint32_t num;
        int wt;
        if (read_tag(d, m->type, &r, &num, &wt) < 0) return -1;
        const kc_pb_field *f = find_field(m, num);
        if ((f ? read_field(d, m, f, wt, &r, obj) : skip_value(d, m->type, num, wt, &r)) < 0) return -1;
    }
    d->depth--;
    return 0;
}

/* ---- pass 2: the document encoding/json prints ------------------------------------------ */

static json_t *marshal(const kc_type *t, json_t *got);

static int cmp_key(const void *a, const void *b)
{
    const json_t *const *x = a, *const *y = b; /* json strings holding the keys */
    size_t lx = json_string_length(*x), ly = json_string_length(*y);
    int c = memcmp(json_string_value(*x), json_string_value(*y), lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

/* Map values, keys sorted as Go sorts them; struct values marshalled. */
static json_t *marshal_map(const kc_field *f, json_t *map)
{
    size_t n = json_object_size(map), i = 0;
    json_t **keys = calloc(n ? n : 1, sizeof *keys), *out = json_object();
    if (!keys) abort();
    for (void *it = json_object_iter(map); it; it = json_object_iter_next(map, it))
        keys[i++] = json_stringn_nocheck(json_object_iter_key(it), json_object_iter_key_len(it));
    qsort(keys, n, sizeof *keys, cmp_key);
    for (i = 0; i < n; i++) {
        const char *k = json_string_value(keys[i]);
        size_t kl = json_string_length(keys[i]);
        json_t *v = json_object_getn(map, k, kl);
        v = kc_field_elem_kind(f) == KC_FK_REF ? marshal(kc_field_elem_type(f), v) : json_incref(v);
        json_object_setn_new_nocheck(out, k, kl, v);
        json_decref(keys[i]);
    }
    free(keys);
    return out;
}

static json_t *marshal_array(const kc_field *f, json_t *arr)
{
    if (kc_field_elem_kind(f) != KC_FK_REF) return json_incref(arr);
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(arr); i++)
        json_array_append_new(out, marshal(kc_field_elem_type(f), json_array_get(arr, i)));
    return out;
}

/* encoding/json's isEmptyValue for the kinds where omitempty applies (not structs). */
static int is_empty(kc_fkind k, const json_t *v)
{
    switch (k) {
    case KC_FK_STRING:
    case KC_FK_BYTE:
        return json_is_string(v) && json_string_length(v) == 0;
    case KC_FK_INTEGER:
    case KC_FK_NUMBER:
        return json_is_number(v) && json_number_value(v) == 0;
    case KC_FK_BOOLEAN:
        return json_is_false(v);
    case KC_FK_ARRAY:
        return json_array_size(v) == 0;
    case KC_FK_MAP:
        return json_object_size(v) == 0;
    default:
        return 0;
    }
}

/* The value of a field absent from the wire: Go's zero value, or NULL to leave it out. */
static json_t *marshal_absent(const kc_field *f)
{
    unsigned fl = f->flags;
    kc_fkind k = kc_field_kind(f);
    if (fl & KC_FF_OMITZERO) return NULL;
    if (fl & KC_FF_NULLABLE) return fl & KC_FF_OMITEMPTY ? NULL : json_null();
    switch (k) {
    case KC_FK_REF:
        return marshal(kc_field_type(f), NULL); /* omitempty does not apply */
    case KC_FK_QUANTITY:
        return json_string("0");
    case KC_FK_INTORSTRING:
        return json_integer(0);
    case KC_FK_DURATION:
        return json_string("0s");
    case KC_FK_DATETIME:
    case KC_FK_ANY:
        return json_null();
    default:
        break;
    }
    if (fl & KC_FF_OMITEMPTY) return NULL;
    switch (k) {
    case KC_FK_STRING:
        return json_string("");
    case KC_FK_INTEGER:
    case KC_FK_NUMBER:
        return json_integer(0);
    case KC_FK_BOOLEAN:
        return json_false();
    default:
        return json_null(); /* nil []byte, slice or map */
    }
}

static json_t *marshal_present(const kc_field *f, json_t *v)
{
    kc_fkind k = kc_field_kind(f);
    if (k == KC_FK_ARRAY && json_array_size(v) == 0) return marshal_absent(f); /* empty packed run */
    if ((f->flags & KC_FF_OMITZERO) && json_is_null(v)) return NULL;
    if ((f->flags & KC_FF_OMITEMPTY) && !(f->flags & KC_FF_NULLABLE) && is_empty(k, v)) return NULL;
    if (k == KC_FK_REF) return marshal(kc_field_type(f), v);
    if (k == KC_FK_ARRAY) return marshal_array(f, v);
    if (k == KC_FK_MAP) return marshal_map(f, v);
    return json_incref(v);
}

/* got holds the fields read off the wire (NULL: none); the result is a new object. */
static json_t *marshal(const kc_type *t, json_t *got)
{
    json_t *out = json_object();
    for (size_t i = 0; i < kc_type_nfields(t); i++) {
        const kc_field *f = kc_type_field_at(t, i);
        json_t *v = json_is_object(got) ? json_object_get(got, kc_field_name(f)) : NULL;
        json_t *nv = v ? marshal_present(f, v) : marshal_absent(f);
        if (nv) json_object_set_new(out, kc_field_name(f), nv);
    }
    return out;
}

/* ---- entry points ----------------------------------------------------------------------- */

static json_t *decode_object(dec *d, const kc_type *t, rd raw, json_t *got)
{
    const kc_pb_msg *m = find_msg(kc_type_name(t));
    if (!m) {
        fail(d, kc_type_name(t), 0, "no protobuf field table for this type; send it as JSON");
        json_decref(got);
        return NULL;
    }
    if (read_fields(d, m, raw, got) < 0) {
        json_decref(got);
        return NULL;
    }
    json_t *out = marshal(t, got);
    json_decref(got);
    return out;
}

typedef struct envelope {
    rd typemeta, raw, encoding, ctype;
} envelope;

static int read_envelope(dec *d, rd r, envelope *e)
{
    const char *ty = "runtime.Unknown";
    memset(e, 0, sizeof *e);
    while (r.p < r.end) {
        uint32_t num;
        int wt, rc;
        rd *dst = NULL;
        if (read_tag(d, ty, &r, &num, &wt) < 0) return -1;
        if (num == KC_PB_UNKNOWN_TYPEMETA)
            dst = &e->typemeta;
        else if (num == KC_PB_UNKNOWN_RAW)
            dst = &e->raw;
        else if (num == KC_PB_UNKNOWN_CONTENTENCODING)
            dst = &e->encoding;
        else if (num == KC_PB_UNKNOWN_CONTENTTYPE)
            dst = &e->ctype;
        rc = dst ? read_slice(d, ty, num, wt, &r, dst) : skip_value(d, ty, num, wt, &r);
        if (rc < 0) return -1;
    }
    if (e->encoding.p != e->encoding.end) return fail(d, ty, 0, "contentEncoding is not supported");
    size_t cl = (size_t)(e->ctype.end - e->ctype.p);
    if (cl && (cl != strlen(KC_PROTO_MEDIA_TYPE) || memcmp(e->ctype.p, KC_PROTO_MEDIA_TYPE, cl)))
        return fail(d, ty, 0, "contentType of the raw object is not " KC_PROTO_MEDIA_TYPE);
    return 0;
}

/* Copies a short string field into buf (NUL-terminated); rejects NULs and overlong values. */
static int copy_str(dec *d, rd s, char *buf, size_t cap, const char *what)
{
    size_t n = (size_t)(s.end - s.p);
    if (n >= cap || (n && memchr(s.p, 0, n))) return fail(d, "runtime.TypeMeta", 0, what);
    if (n) memcpy(buf, s.p, n);
    buf[n] = 0;
    return 0;
}

static int read_typemeta(dec *d, rd r, char *apiv, char *kind, size_t cap)
{
    const char *ty = "runtime.TypeMeta";
    rd av = {r.p, r.p}, kd = {r.p, r.p};
    while (r.p < r.end) {
        uint32_t num;
        int wt, rc;
        if (read_tag(d, ty, &r, &num, &wt) < 0) return -1;
        if (num == KC_PB_TYPEMETA_APIVERSION)
            rc = read_slice(d, ty, num, wt, &r, &av);
        else if (num == KC_PB_TYPEMETA_KIND)
            rc = read_slice(d, ty, num, wt, &r, &kd);
        else
            rc = skip_value(d, ty, num, wt, &r);
        if (rc < 0) return -1;
    }
    if (copy_str(d, av, apiv, cap, "invalid apiVersion") < 0 ||
        copy_str(d, kd, kind, cap, "invalid kind") < 0)
        return -1;
    if (!*kind) return kc_errf(d->err, KC_EBADREQUEST, "Object 'Kind' is missing in protobuf body");
    if (!*apiv) return kc_errf(d->err, KC_EBADREQUEST, "Object 'apiVersion' is missing in protobuf body");
    return 0;
}

/* "apps/v1" -> type of apps/v1 <kind>; "v1" is the core group. */
static const kc_type *kind_type(dec *d, char *apiv, const char *kind)
{
    char *slash = strchr(apiv, '/');
    const char *group = "", *version = apiv;
    if (slash) {
        *slash = 0;
        group = apiv;
        version = slash + 1;
    }
    const kc_type *t = strchr(version, '/') ? NULL : kc_schema_kind(group, version, kind);
    if (slash) *slash = '/';
    if (!t) kc_errf(d->err, KC_EBADREQUEST, "no kind \"%s\" is registered for version \"%s\"", kind, apiv);
    return t;
}

static json_t *decode_envelope(dec *d, const uint8_t *buf, size_t len)
{
    envelope e;
    char apiv[256], kind[256];
    rd r = {buf + KC_PROTO_MAGIC_LEN, buf + len};
    if (read_envelope(d, r, &e) < 0 || read_typemeta(d, e.typemeta, apiv, kind, sizeof apiv) < 0) return NULL;
    const kc_type *t = kind_type(d, apiv, kind);
    if (!t) return NULL;
    json_t *got = json_object();
    json_object_set_new(got, "kind", json_string(kind));
    json_object_set_new(got, "apiVersion", json_string(apiv));
    if (!json_object_get(got, "kind") || !json_object_get(got, "apiVersion")) {
        json_decref(got);
        fail(d, "runtime.TypeMeta", 0, "apiVersion or kind is not valid UTF-8");
        return NULL;
    }
    return decode_object(d, t, e.raw, got);
}

json_t *kc_proto_decode_body(const char *buf, size_t len, kc_err *err)
{
    dec d = {err, 0};
    if (!buf || len < KC_PROTO_MAGIC_LEN || memcmp(buf, KC_PROTO_MAGIC, KC_PROTO_MAGIC_LEN)) {
        kc_errf(err, KC_EBADREQUEST, "protobuf: body does not start with the k8s\\0 magic");
        return NULL;
    }
    return decode_envelope(&d, (const uint8_t *)buf, len);
}

json_t *kc_proto_decode_object(const kc_type *t, const void *raw, size_t len, kc_err *err)
{
    dec d = {err, 0};
    rd r = {raw, (const uint8_t *)raw + (raw ? len : 0)};
    if (!t) {
        kc_errf(err, KC_EBADREQUEST, "protobuf: no type");
        return NULL;
    }
    return decode_object(&d, t, r, json_object());
}

int kc_proto_supports(const kc_type *t)
{
    return t && find_msg(kc_type_name(t)) != NULL;
}
