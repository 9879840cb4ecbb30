/* kc_obj: an API object as kubec holds it everywhere (store, watch ring, informer caches): the
 * serialized JSON, encoded once and shared, plus a small parsed index (key, name, namespace,
 * uid, labels, selectable fields, deleting) for selectors. Immutable once built; reference
 * counts are atomic so caches on other threads may share the store's objects. */
#include "api/obj.h"
#include "lib/buf.h"
#include "lib/jsonr.h"
#include "lib/jsonw.h"
#include "lib/xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kc_obj_ref(const kc_obj *o)
{
    if (o) __atomic_add_fetch(&((kc_obj *)o)->refs, 1, __ATOMIC_RELAXED);
}

void kc_obj_unref(const kc_obj *co)
{
    kc_obj *o = (kc_obj *)co;
    if (!o || __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    const kc_resource *r = &kc_resources[o->res];
    for (int i = 0; i < KC_MAX_FIELDS && r->fields[i]; i++) free(o->fields[i]);
    free(o->fields);
    json_decref(o->labels);
    free(o->key);
    free(o->ns);
    free(o->name);
    free(o->uid);
    free(o->json);
    free(o);
}

json_t *kc_obj_parse(const kc_obj *o)
{
    return kc_json_loadb(o->json, o->len, 0, NULL);
}

const char *kc_obj_field(const kc_obj *o, const char *field)
{
    if (!strcmp(field, "metadata.name")) return o->name;
    if (!strcmp(field, "metadata.namespace")) return o->ns;
    int i = kc_resource_field_index(&kc_resources[o->res], field);
    return i >= 0 ? o->fields[i] : NULL;
}

char *kc_obj_key(const char *ns, const char *name)
{
    kc_buf b = KC_BUF_INIT;
    if (ns && ns[0]) kc_buf_addf(&b, "%s/", ns);
    kc_buf_adds(&b, name);
    return kc_buf_take(&b);
}

/* Scalar at a dotted path, as the string a field selector compares with. */
static char *field_value(json_t *obj, const char *path)
{
    char seg[128];
    json_t *v = obj;
    for (const char *p = path; v && *p;) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof seg) return xstrdup("");
        memcpy(seg, p, n);
        seg[n] = 0;
        v = json_is_object(v) ? json_object_get(v, seg) : NULL;
        p += n + (p[n] == '.');
    }
    if (json_is_string(v)) return xstrdup(json_string_value(v));
    if (json_is_boolean(v)) return xstrdup(json_is_true(v) ? "true" : "false");
    if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return xstrdup(b);
    }
    return xstrdup("");
}

kc_obj *kc_obj_alloc(int res, const char *ns, const char *name)
{
    kc_obj *o = xcalloc(1, sizeof *o);
    o->refs = 1;
    o->res = res;
    o->ns = xstrdup(ns && kc_resources[res].namespaced ? ns : "");
    o->name = xstrdup(name ? name : "");
    o->key = kc_obj_key(o->ns, o->name);
    o->fields = xcalloc(KC_MAX_FIELDS, sizeof *o->fields);
    return o;
}

kc_obj *kc_obj_build(int res, json_t *doc)
{
    json_t *md = json_object_get(doc, "metadata");
    kc_obj *o = kc_obj_alloc(res, json_string_value(json_object_get(md, "namespace")),
                             json_string_value(json_object_get(md, "name")));
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    o->rev = rv ? strtoull(rv, NULL, 10) : 0;
    o->uid = xstrdup(json_string_value(json_object_get(md, "uid")) ?: "");
    json_t *labels = json_object_get(md, "labels");
    o->labels = json_is_object(labels) && json_object_size(labels) ? json_deep_copy(labels) : NULL;
    o->deleting = json_object_get(md, "deletionTimestamp") != NULL;
    const kc_resource *r = &kc_resources[res];
    for (int i = 0; i < KC_MAX_FIELDS && r->fields[i]; i++) o->fields[i] = field_value(doc, r->fields[i]);
    o->json = kc_json_dump(doc, &o->len);
    return o;
}

kc_obj *kc_obj_from_bytes(int res, const char *json, size_t len, kc_err *err)
{
    json_error_t je;
    json_t *doc = kc_json_loadb(json, len, 0, &je);
    if (!json_is_object(doc)) {
        json_decref(doc);
        kc_errf(err, KC_EBADREQUEST, "object: %s", je.text);
        return NULL;
    }
    kc_obj *o = kc_obj_build(res, doc);
    json_decref(doc);
    return o;
}
