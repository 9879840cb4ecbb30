/* PV/PVC matching rules (see pv_match.h): storage class resolution, claimRef checks, volume
 * modes, access modes, capacity, and the search for the best volume of a claim.
 *
 * Worked example (semantics 6 P1/P6): pv1 1Gi, pv5 5Gi, pv10 10Gi, all RWO, class manual; a 3Gi
 * RWO claim of class manual gets pv5 (smallest that fits). If pv10 carries claimRef
 * {default/claim1} and the claim is claim1, pv10 wins (pre-binding, found inside the RWO set);
 * had pv10 been RWO+RWX it would lose to pv5, whose set {RWO} is tried first. */
#include "controllers/pv_match.h"
#include "api/selector.h"
#include "api/validation.h"
#include "lib/xalloc.h"
#include <string.h>

static json_t *jpath(json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

const char *kc_pv_annotation(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(jpath(obj, "metadata", "annotations"), key));
}

static const char *class_of(json_t *o)
{
    const char *beta = kc_pv_annotation(o, KC_ANN_BETA_CLASS);
    if (beta) return beta;
    return jstr(json_object_get(o, "spec"), "storageClassName") ?: "";
}

const char *kc_pvc_class(json_t *pvc)
{
    return class_of(pvc);
}

const char *kc_pv_class(json_t *pv)
{
    return class_of(pv);
}

bool kc_pvc_has_class(json_t *pvc)
{
    return kc_pv_annotation(pvc, KC_ANN_BETA_CLASS) || json_is_string(jpath(pvc, "spec", "storageClassName"));
}

bool kc_sc_is_default(json_t *sc)
{
    const char *a = kc_pv_annotation(sc, KC_ANN_DEFAULT_CLASS),
               *b = kc_pv_annotation(sc, KC_ANN_BETA_DEFAULT_CLASS);
    return (a && !strcmp(a, "true")) || (b && !strcmp(b, "true"));
}

bool kc_sc_wait_for_consumer(json_t *sc)
{
    const char *m = jstr(sc, "volumeBindingMode");
    return m && !strcmp(m, "WaitForFirstConsumer");
}

bool kc_pv_bound_to(json_t *pv, json_t *pvc)
{
    json_t *ref = jpath(pv, "spec", "claimRef"), *md = json_object_get(pvc, "metadata");
    if (!json_is_object(ref)) return false;
    if (strcmp(jstr(ref, "name") ?: "", jstr(md, "name") ?: "")) return false;
    if (strcmp(jstr(ref, "namespace") ?: "", jstr(md, "namespace") ?: "")) return false;
    const char *uid = jstr(ref, "uid");
    return !uid || !*uid || !strcmp(uid, jstr(md, "uid") ?: "");
}

static const char *mode_of(json_t *o)
{
    const char *m = jstr(json_object_get(o, "spec"), "volumeMode");
    return m && *m ? m : "Filesystem";
}

bool kc_pv_mode_mismatch(json_t *pvc, json_t *pv)
{
    return strcmp(mode_of(pvc), mode_of(pv)) != 0;
}

static bool has_mode(json_t *modes, const char *m)
{
    size_t i;
    json_t *v;
    json_array_foreach(modes, i, v) if (!strcmp(json_string_value(v) ?: "", m)) return true;
    return false;
}

bool kc_pv_access_ok(json_t *pvc, json_t *pv)
{
    json_t *want = jpath(pvc, "spec", "accessModes"), *have = jpath(pv, "spec", "accessModes"), *v;
    size_t i;
    json_array_foreach(want, i, v) if (!has_mode(have, json_string_value(v) ?: "")) return false;
    return true;
}

static void capacity(json_t *pv, kc_quantity *q)
{
    kc_quantity_from_json(json_object_get(jpath(pv, "spec", "capacity"), "storage"), q);
}

/* Capacity of a against b. */
static int capacity_cmp(json_t *a, json_t *b)
{
    kc_quantity x, y;
    capacity(a, &x);
    capacity(b, &y);
    return kc_quantity_cmp(&x, &y);
}

int kc_pv_capacity_cmp(json_t *pv, json_t *pvc)
{
    kc_quantity have, want;
    capacity(pv, &have);
    kc_quantity_from_json(
        json_object_get(json_object_get(jpath(pvc, "spec", "resources"), "requests"), "storage"), &want);
    return kc_quantity_cmp(&have, &want);
}

static bool deleting(json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "deletionTimestamp") != NULL;
}

const char *kc_pv_unsatisfied(json_t *pv, json_t *pvc)
{
    if (deleting(pv)) return "the volume is marked for deletion";
    if (kc_pv_capacity_cmp(pv, pvc) < 0) return "requested PV is too small";
    if (strcmp(kc_pv_class(pv), kc_pvc_class(pvc))) return "storageClassName does not match";
    if (kc_pv_mode_mismatch(pvc, pv)) return "incompatible volumeMode";
    if (!kc_pv_access_ok(pvc, pv)) return "incompatible accessMode";
    return NULL;
}

static bool phase_available(json_t *pv)
{
    return !strcmp(jstr(json_object_get(pv, "status"), "phase") ?: "", "Available");
}

static bool selector_matches(json_t *pvc, json_t *pv)
{
    json_t *sel = jpath(pvc, "spec", "selector");
    if (!json_is_object(sel)) return true;
    kc_labelsel *s = NULL;
    kc_err err = KC_ERR_INIT;
    bool ok =
        kc_labelsel_from_json(sel, &s, &err) == 0 && kc_labelsel_match(s, jpath(pv, "metadata", "labels"));
    kc_err_release(&err);
    kc_labelsel_free(s);
    return ok;
}

/* The checks a candidate must pass before anything else (claimRef, size, mode, deletion). */
static bool basic_fit(json_t *pvc, json_t *pv)
{
    if (json_is_object(jpath(pv, "spec", "claimRef")) && !kc_pv_bound_to(pv, pvc)) return false;
    if (kc_pv_capacity_cmp(pv, pvc) < 0) return false;
    return !kc_pv_mode_mismatch(pvc, pv) && !deleting(pv);
}

json_t *kc_pv_find_match(json_t *pvc, json_t **pvs, size_t n, bool delay, kc_pv_node_fn node,
                         kc_pv_node_fn skip, void *ud)
{
    json_t *best = NULL;
    const char *cls = kc_pvc_class(pvc);
    for (size_t i = 0; i < n; i++) {
        json_t *pv = pvs[i];
        if ((skip && skip(ud, pv)) || !basic_fit(pvc, pv)) continue;
        bool node_ok = !node || node(ud, pv);
        if (kc_pv_bound_to(pv, pvc)) return node_ok ? pv : NULL;
        if (!node && delay) continue; /* the scheduler binds these */
        if (!phase_available(pv) || !selector_matches(pvc, pv) || strcmp(kc_pv_class(pv), cls) || !node_ok)
            continue;
        if (node && !kc_pv_access_ok(pvc, pv)) continue;
        if (!best || capacity_cmp(best, pv) > 0) best = pv;
    }
    return best;
}

/* Bit set of a volume's (or claim's) access modes. */
static unsigned mode_bits(json_t *modes)
{
    static const char *const names[] = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"};
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach(modes, i, v) for (unsigned k = 0; k < 4; k++) if (!strcmp(json_string_value(v) ?: "",
                                                                                 names[k])) bits |= 1u << k;
    return bits;
}

json_t *kc_pv_best_match(json_t *pvc, json_t **pvs, size_t n, bool delay, kc_pv_node_fn skip, void *ud)
{
    unsigned want = mode_bits(jpath(pvc, "spec", "accessModes"));
    json_t **group = xcalloc(n + 1, sizeof *group);
    json_t *found = NULL;
    /* the 16 possible sets, fewest modes first; only supersets of the claim's modes */
    for (int count = 0; count <= 4 && !found; count++)
        for (unsigned set = 0; set < 16 && !found; set++) {
            if ((unsigned)__builtin_popcount(set) != (unsigned)count || (set & want) != want) continue;
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (mode_bits(jpath(pvs[i], "spec", "accessModes")) == set) group[k++] = pvs[i];
            if (k) found = kc_pv_find_match(pvc, group, k, delay, NULL, skip, ud);
        }
    free(group);
    return found;
}
