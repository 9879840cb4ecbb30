/* ControllerRevision history (see history.h): the byte form of revision data, its hash and name,
 * and the list/find/create/bump/truncate operations on an owner's revisions. It owns no state:
 * callers pass their client and ControllerRevision informer. Which revision is "current" or
 * "update", and which are live, is the calling controller's business.
 *
 * Byte form (semantics 3.7). kubectl computes a set's patch from the object it GETs: the apps/v1
 * JSON is decoded into Go structs (typed: unknown fields dropped, zero omitempty fields dropped,
 * fields without omitempty filled in: `creationTimestamp: null`, `resources: {}`), encoded,
 * decoded into maps and encoded again (keys sorted, Go escaping). kc_history_typed_template
 * redoes the typed step from the field schema (KC_FF_NULLABLE = Go pointer, KC_FF_OMITEMPTY),
 * kc_history_go_json the map step. `omitzero` tags (Go 1.24, e.g. creationTimestamp since 1.33) are
 * ignored on purpose: kubectl 1.32 is built with Go 1.23, which ignores them and so emits
 * `creationTimestamp: null` - as the 1.33 controller-manager's own revision data still does. */
#include "controllers/history.h"
#include "api/resource.h"
#include "api/schema.h"
#include "api/validation.h"
#include "controllers/deployment_hash.h"
#include "controllers/framework.h"
#include "lib/buf.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Go encoding/json of generic values ---- */

static void put(kc_buf *b, char c)
{
    kc_buf_add(b, &c, 1);
}

static void go_string(kc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            put(b, '\\');
            put(b, (char)c);
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            put(b, '\\');
            put(b, c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f');
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            kc_buf_add(b, u, 6);
        } else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
            kc_buf_add(b, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            i += 2;
        } else {
            put(b, (char)c);
        }
    }
    put(b, '"');
}

/* float64 as Go's encoder prints it: shortest round-trip digits, 'f' form unless the exponent is
 * < -6 or >= 21 ("1e-07" becomes "1e-7"). */
static void go_real(kc_buf *b, double d)
{
    char s[40];
    if (!isfinite(d)) d = 0;
    double a = fabs(d);
    for (int prec = 1; prec <= 17; prec++) {
        if (a != 0 && (a < 1e-6 || a >= 1e21))
            snprintf(s, sizeof s, "%.*e", prec - 1, d);
        else
            snprintf(s, sizeof s, "%.*f", prec > 17 ? 17 : prec, d);
        if (strtod(s, NULL) == d) break;
    }
    if (a == 0 || (a >= 1e-6 && a < 1e21)) {
        /* shortest fixed form: strip trailing zeros of the fraction */
        char *dot = strchr(s, '.');
        if (dot) {
            char *e = s + strlen(s) - 1;
            while (e > dot && *e == '0')
                *e-- = 0;
            if (e == dot) *e = 0;
        }
    } else {
        char *e = strchr(s, 'e');
        if (e && (e[2] == '0') && e[3]) memmove(e + 2, e + 3, strlen(e + 3) + 1);
    }
    kc_buf_adds(b, s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void go_value(kc_buf *b, json_t *v);

static void go_object(kc_buf *b, json_t *v)
{
    size_t n = json_object_size(v), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    const char *k;
    json_t *c;
    json_object_foreach(v, k, c) keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    put(b, '{');
    for (i = 0; i < n; i++) {
        if (i) put(b, ',');
        go_string(b, keys[i], strlen(keys[i]));
        put(b, ':');
        go_value(b, json_object_get(v, keys[i]));
    }
    put(b, '}');
    free(keys);
}

static void go_value(kc_buf *b, json_t *v)
{
    size_t i;
    json_t *c;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        go_object(b, v);
        break;
    case JSON_ARRAY:
        put(b, '[');
        json_array_foreach(v, i, c)
        {
            if (i) put(b, ',');
            go_value(b, c);
        }
        put(b, ']');
        break;
    case JSON_STRING:
        go_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        kc_buf_addf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        go_real(b, json_real_value(v));
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

char *kc_history_go_json(json_t *v, size_t *len)
{
    kc_buf b = KC_BUF_INIT;
    go_value(&b, v);
    if (len) *len = b.len;
    return kc_buf_take(&b);
}

/* ---- the typed (Go struct) round trip ---- */

static json_t *typed_struct(const kc_type *t, json_t *obj, int depth);

/* Go's omitempty test for a present value of a non-pointer field. */
static bool go_empty(kc_fkind k, json_t *v)
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
        return json_is_array(v) && json_array_size(v) == 0;
    case KC_FK_MAP:
        return json_is_object(v) && json_object_size(v) == 0;
    default:
        return false; /* structs (Time, Quantity, IntOrString, refs) are never empty */
    }
}

/* What Go emits for an absent (zero) non-pointer field; NULL: nothing. */
static json_t *go_zero(const kc_field *f, int depth)
{
    bool omit = f->flags & KC_FF_OMITEMPTY;
    switch (kc_field_kind(f)) {
    case KC_FK_STRING:
        return omit ? NULL : json_string("");
    case KC_FK_INTEGER:
    case KC_FK_NUMBER:
        return omit ? NULL : json_integer(0);
    case KC_FK_BOOLEAN:
        return omit ? NULL : json_false();
    case KC_FK_ARRAY:
    case KC_FK_MAP:
    case KC_FK_BYTE:
    case KC_FK_ANY:
        return omit ? NULL : json_null();
    case KC_FK_DATETIME:
        return json_null();
    case KC_FK_QUANTITY:
        return json_string("0");
    case KC_FK_INTORSTRING:
        return json_integer(0);
    case KC_FK_DURATION:
        return json_string("0s");
    case KC_FK_REF:
        return typed_struct(kc_field_type(f), NULL, depth + 1);
    }
    return NULL;
}

/* A resource.Quantity re-encodes in canonical form ("0.5" -> "500m", "1.5Gi" -> "1536Mi"). */
static json_t *canonical_quantity(json_t *v)
{
    kc_quantity q;
    char buf[64];
    if (kc_quantity_from_json(v, &q) < 0) return json_incref(v);
    kc_quantity_string(&q, buf, sizeof buf);
    return json_string(buf);
}

static json_t *typed_elem(kc_fkind k, const kc_type *t, json_t *v, int depth)
{
    if (k == KC_FK_REF && t) return typed_struct(t, json_is_object(v) ? v : NULL, depth + 1);
    if (k == KC_FK_QUANTITY) return canonical_quantity(v);
    return json_incref(v);
}

static json_t *typed_present(const kc_field *f, json_t *v, int depth)
{
    kc_fkind k = kc_field_kind(f);
    size_t i;
    const char *key;
    json_t *c, *out;
    switch (k) {
    case KC_FK_REF:
        return typed_struct(kc_field_type(f), json_is_object(v) ? v : NULL, depth + 1);
    case KC_FK_ARRAY:
        if (!json_is_array(v)) return json_incref(v);
        out = json_array();
        json_array_foreach(v, i, c)
            json_array_append_new(out, typed_elem(kc_field_elem_kind(f), kc_field_elem_type(f), c, depth));
        return out;
    case KC_FK_MAP:
        if (!json_is_object(v)) return json_incref(v);
        out = json_object();
        json_object_foreach(v, key, c)
            json_object_set_new(out, key, typed_elem(kc_field_elem_kind(f), kc_field_elem_type(f), c, depth));
        return out;
    case KC_FK_QUANTITY:
        return canonical_quantity(v);
    default:
        return json_incref(v);
    }
}

/* One field as Go marshals it; NULL when Go leaves it out. */
static json_t *typed_field(const kc_field *f, json_t *v, int depth)
{
    bool ptr = kc_field_nullable(f), omit = f->flags & KC_FF_OMITEMPTY;
    if (v && json_is_null(v)) v = NULL;
    if (!v) {
        if (ptr) return omit ? NULL : json_null();
        return go_zero(f, depth);
    }
    if (!ptr && omit && go_empty(kc_field_kind(f), v)) return NULL;
    return typed_present(f, v, depth);
}

static json_t *typed_struct(const kc_type *t, json_t *obj, int depth)
{
    json_t *out = json_object();
    if (!t || depth > 64) return out;
    for (size_t i = 0; i < kc_type_nfields(t); i++) {
        const kc_field *f = kc_type_field_at(t, i);
        json_t *v = typed_field(f, obj ? json_object_get(obj, kc_field_name(f)) : NULL, depth);
        if (v) json_object_set_new(out, kc_field_name(f), v);
    }
    return out;
}

json_t *kc_history_typed_template(json_t *tmpl)
{
    return typed_struct(kc_schema_type("core/v1.PodTemplateSpec"), json_is_object(tmpl) ? tmpl : NULL, 0);
}

char *kc_history_template_data(json_t *tmpl, size_t *len)
{
    json_t *t = kc_history_typed_template(tmpl);
    json_object_set_new(t, "$patch", json_string("replace"));
    json_t *patch = json_pack("{s:{s:o}}", "spec", "template", t);
    char *s = kc_history_go_json(patch, len);
    json_decref(patch);
    return s;
}

/* ---- hash and name ---- */

uint32_t kc_fnv1_32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h *= 16777619u;
        h ^= b[i];
    }
    return h;
}

void kc_history_hash(const char *data, size_t len, const int64_t *collision_count, char out[11])
{
    uint32_t h = kc_fnv1_32(2166136261u, data, len);
    if (collision_count) {
        char dec[24];
        int n = snprintf(dec, sizeof dec, "%lld", (long long)*collision_count);
        h = kc_fnv1_32(h, dec, (size_t)n);
    }
    kc_safe_encode_u32(h, out);
}

char *kc_history_name(const char *owner, const char *hash)
{
    char *s;
    int n = (int)strnlen(owner, KC_HISTORY_NAME_PREFIX_MAX);
    if (asprintf(&s, "%.*s-%s", n, owner, hash) < 0) abort();
    return s;
}

/* ---- revisions ---- */

int64_t kc_history_revision(const kc_obj *rev)
{
    json_t *d = kc_obj_parse(rev);
    int64_t n = json_integer_value(json_object_get(d, "revision"));
    json_decref(d);
    return n;
}

char *kc_history_rev_data(const kc_obj *rev, size_t *len)
{
    json_t *d = kc_obj_parse(rev);
    json_t *data = json_object_get(d, "data");
    char *s = data && !json_is_null(data) ? kc_history_go_json(data, len) : NULL;
    json_decref(d);
    return s;
}

typedef struct rev_key {
    kc_obj *o;
    int64_t revision;
    const char *created;
    json_t *doc;
} rev_key;

static int cmp_rev(const void *a, const void *b)
{
    const rev_key *x = a, *y = b;
    if (x->revision != y->revision) return x->revision < y->revision ? -1 : 1;
    int c = strcmp(x->created, y->created);
    return c ? c : strcmp(x->o->name, y->o->name);
}

/* Sorts revisions by (revision, creationTimestamp, name) in place. */
static void sort_revisions(kc_obj **v, size_t n)
{
    rev_key *k = calloc(n ? n : 1, sizeof *k);
    for (size_t i = 0; i < n; i++) {
        k[i].o = v[i];
        k[i].doc = kc_obj_parse(v[i]);
        k[i].revision = json_integer_value(json_object_get(k[i].doc, "revision"));
        k[i].created =
            json_string_value(json_object_get(json_object_get(k[i].doc, "metadata"), "creationTimestamp"))
                ?: "";
    }
    qsort(k, n, sizeof *k, cmp_rev);
    for (size_t i = 0; i < n; i++) {
        v[i] = k[i].o;
        json_decref(k[i].doc);
    }
    free(k);
}

size_t kc_history_list(kc_informer *revs_inf, const kc_obj *owner, kc_obj ***out)
{
    kc_obj **all;
    size_t n = kc_informer_list(revs_inf, owner->ns, &all), m = 0;
    for (size_t i = 0; i < n; i++) {
        char uid[128];
        if (kc_obj_controller(all[i], uid, sizeof uid, NULL, 0, NULL, 0) && !strcmp(uid, owner->uid))
            all[m++] = all[i];
        else
            kc_obj_unref(all[i]);
    }
    sort_revisions(all, m);
    *out = all;
    return m;
}

const kc_obj *kc_history_find_equal(kc_obj **revs, size_t n, const char *data, size_t len)
{
    for (size_t i = n; i-- > 0;) {
        size_t rl;
        char *rd = kc_history_rev_data(revs[i], &rl);
        bool eq = rd && rl == len && !memcmp(rd, data, len);
        free(rd);
        if (eq) return revs[i];
    }
    return NULL;
}

int64_t kc_history_next_number(kc_obj **revs, size_t n)
{
    int64_t max = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t r = kc_history_revision(revs[i]);
        if (r > max) max = r;
    }
    return max + 1;
}

json_t *kc_history_new_doc(const kc_obj *owner, json_t *tmpl_labels, json_t *annotations,
                           const char *hash_label, const char *name, const char *hash, const char *data,
                           size_t len, int64_t revision)
{
    json_t *labels = json_is_object(tmpl_labels) ? json_deep_copy(tmpl_labels) : json_object();
    json_object_set_new(labels, hash_label, json_string(hash));
    json_t *md = json_pack("{s:s,s:s,s:o,s:[o]}", "name", name, "namespace", owner->ns, "labels", labels,
                           "ownerReferences", kc_owner_ref(owner));
    if (json_is_object(annotations) && json_object_size(annotations))
        json_object_set_new(md, "annotations", json_deep_copy(annotations));
    json_t *d = json_loadb(data, len, JSON_DECODE_ANY, NULL);
    return json_pack("{s:s,s:s,s:o,s:o,s:I}", "apiVersion", "apps/v1", "kind", "ControllerRevision",
                     "metadata", md, "data", d ? d : json_null(), "revision", (json_int_t)revision);
}

/* On AlreadyExists: the existing revision when its data equals data (reference), else NULL. */
static kc_obj *existing_equal(kc_client *c, int res, const kc_obj *owner, const char *name, const char *data,
                              size_t len, kc_err *err)
{
    kc_obj *ex = NULL;
    if (kc_client_get(c, res, owner->ns, name, &ex, err) < 0) return NULL;
    size_t el;
    char *ed = kc_history_rev_data(ex, &el);
    bool eq = ed && el == len && !memcmp(ed, data, len);
    free(ed);
    if (eq) return ex;
    kc_obj_unref(ex);
    return NULL;
}

int kc_history_create(kc_client *c, const kc_obj *owner, json_t *tmpl_labels, json_t *annotations,
                      const char *data, size_t len, int64_t revision, int64_t *collision_count, kc_obj **out,
                      kc_err *err)
{
    int res = kc_resource_find("apps", "v1", "controllerrevisions");
    for (int attempt = 0; attempt < 100; attempt++) {
        char hash[11];
        kc_history_hash(data, len, collision_count, hash);
        char *name = kc_history_name(owner->name, hash);
        json_t *doc = kc_history_new_doc(owner, tmpl_labels, annotations, KC_HISTORY_HASH_LABEL, name, hash,
                                         data, len, revision);
        int rc = kc_client_create(c, res, owner->ns, doc, out, err);
        json_decref(doc);
        if (rc == 0 || err->reason != KC_EALREADYEXISTS) {
            free(name);
            return rc < 0 ? kc_err_wrap(err, "create controllerrevision") : 0;
        }
        kc_err_release(err);
        *out = existing_equal(c, res, owner, name, data, len, err);
        free(name);
        if (*out) return 0;
        if (err->reason != KC_OK) return kc_err_wrap(err, "get controllerrevision");
        (*collision_count)++;
    }
    return kc_errf(err, KC_EINTERNAL, "controllerrevision: too many hash collisions");
}

int kc_history_bump(kc_client *c, const kc_obj *rev, int64_t revision, kc_obj **out, kc_err *err)
{
    char patch[64];
    kc_obj *o = NULL;
    snprintf(patch, sizeof patch, "{\"revision\":%lld}", (long long)revision);
    if (kc_client_patch(c, rev->res, rev->ns, rev->name, NULL, "application/merge-patch+json", patch, &o,
                        err) < 0)
        return kc_err_wrap(err, "bump controllerrevision %s", rev->name);
    if (out)
        *out = o;
    else
        kc_obj_unref(o);
    return 0;
}

static bool is_live(const char *name, const char *const *live, size_t nlive)
{
    for (size_t i = 0; i < nlive; i++)
        if (live[i] && !strcmp(live[i], name)) return true;
    return false;
}

int kc_history_truncate(kc_client *c, kc_obj **revs, size_t n, const char *const *live, size_t nlive,
                        int limit, kc_err *err)
{
    size_t nonlive = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_live(revs[i]->name, live, nlive)) nonlive++;
    int deleted = 0;
    for (size_t i = 0; i < n && limit >= 0 && nonlive > (size_t)limit; i++) {
        if (is_live(revs[i]->name, live, nlive)) continue;
        if (kc_client_delete(c, revs[i]->res, revs[i]->ns, revs[i]->name, NULL, err) < 0) {
            if (err->reason != KC_ENOTFOUND)
                return kc_err_wrap(err, "delete controllerrevision %s", revs[i]->name);
            kc_err_release(err);
        }
        nonlive--;
        deleted++;
    }
    return deleted;
}
