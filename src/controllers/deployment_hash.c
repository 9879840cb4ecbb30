/* Pod-template canonical form, semantic equality and hash (see deployment_hash.h). It owns only
 * the template's identity; which ReplicaSet is "new" and how names are built is deployment.c's.
 *
 * Upstream hashes a Go-specific deep dump (value parity is impossible and not needed, 0.3); here
 * the dump is the canonical JSON: keys sorted, compact, with the values that a typed decoder
 * cannot tell from absent (null, {} and []) removed, so two templates that Kubernetes would
 * call semantically equal hash the same. */
#include "controllers/deployment_hash.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char safe_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

static bool is_empty(json_t *v)
{
    return !v || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0);
}

/* Deep copy without nulls and empty containers; NULL when v itself reduces to nothing. */
static json_t *prune(json_t *v)
{
    if (json_is_object(v)) {
        json_t *o = json_object(), *c;
        const char *k;
        json_object_foreach(v, k, c)
        {
            json_t *p = prune(c);
            if (p) json_object_set_new(o, k, p);
        }
        if (json_object_size(o)) return o;
        json_decref(o);
        return NULL;
    }
    if (json_is_array(v)) {
        json_t *a = json_array(), *c;
        size_t i;
        json_array_foreach(v, i, c)
        {
            json_t *p = prune(c);
            json_array_append_new(a, p ? p : json_object()); /* keep positions */
        }
        if (json_array_size(a)) return a;
        json_decref(a);
        return NULL;
    }
    return is_empty(v) ? NULL : json_deep_copy(v);
}

/* Drops metadata.labels["pod-template-hash"] and whatever it leaves empty. */
static void drop_hash_label(json_t *t)
{
    json_t *md = json_object_get(t, "metadata");
    json_t *labels = json_object_get(md, "labels");
    if (!labels) return;
    json_object_del(labels, KC_POD_TEMPLATE_HASH);
    if (json_object_size(labels) == 0) json_object_del(md, "labels");
    if (json_object_size(md) == 0) json_object_del(t, "metadata");
}

json_t *kc_deploy_template_canonical(json_t *tmpl)
{
    json_t *t = prune(tmpl);
    if (!json_is_object(t)) return t;
    drop_hash_label(t);
    if (json_object_size(t) == 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

bool kc_deploy_template_equal(json_t *a, json_t *b)
{
    json_t *ca = kc_deploy_template_canonical(a), *cb = kc_deploy_template_canonical(b);
    bool eq = (!ca && !cb) || (ca && cb && json_equal(ca, cb));
    json_decref(ca);
    json_decref(cb);
    return eq;
}

uint32_t kc_fnv1a32(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

void kc_safe_encode_u32(uint32_t v, char out[11])
{
    char dec[11];
    int n = snprintf(dec, sizeof dec, "%u", v);
    for (int i = 0; i < n; i++)
        out[i] = safe_alphabet[(unsigned char)dec[i] % 27];
    out[n] = 0;
}

void kc_deploy_template_hash(json_t *tmpl, const int64_t *collision_count, char out[11])
{
    json_t *c = kc_deploy_template_canonical(tmpl);
    char *dump = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    uint32_t h = kc_fnv1a32(KC_FNV32_OFFSET, dump ? dump : "{}", dump ? strlen(dump) : 2);
    if (collision_count) {
        uint32_t cc = (uint32_t)*collision_count;
        unsigned char b[8] = {cc & 0xff, (cc >> 8) & 0xff, (cc >> 16) & 0xff, cc >> 24, 0, 0, 0, 0};
        h = kc_fnv1a32(h, b, sizeof b);
    }
    kc_safe_encode_u32(h, out);
    free(dump);
    json_decref(c);
}
