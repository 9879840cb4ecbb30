/* Priority admission (plugin/pkg/admission/priority) and the built-in PriorityClasses:
 *
 *   pod create: priorityClassName "" -> the globalDefault class with the lowest value, else
 *               priority 0 + PreemptLowerPriority; a named class that does not exist -> 403;
 *               a spec.priority / preemptionPolicy differing from the class's -> 403
 *   pod update: priority and preemptionPolicy the client left out are kept from the old pod
 *   PriorityClass create/update: the "system-" prefix is reserved for the built-in classes,
 *               user values stay <= 1e9, value and preemptionPolicy are immutable, at most one
 *               globalDefault (403 naming the existing one). */
#include "api/resource.h"
#include "apiserver/apiserver.h"
#include "store/store.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define HIGHEST_USER_PRIORITY 1000000000
static const struct {
    const char *name, *desc;
    int32_t value;
} system_classes[] = {
    {"system-node-critical", "Used for system critical pods that must not be moved from their current node.",
     2000001000},
    {"system-cluster-critical", "Used for system critical pods that must run in the cluster, but can be moved to "
                                "another node if necessary.",
     2000000000},
};

static int res_pc(void)
{
    static int r = -2;
    if (r == -2) r = kc_resource_find("scheduling.k8s.io", "v1", "priorityclasses");
    return r;
}

/* What the default lookup needs of a PriorityClass, remembered per stored version (uid and
 * revision name one immutable object): every pod create looks at every class, and parsing
 * each one each time was 4% of a create. Used on the loop thread only. */
typedef struct pc_info {
    char key[80]; /* uid@rev */
    bool def;
    json_int_t value;
} pc_info;

static kc_map pc_cache = KC_MAP_INIT;

static void pc_cache_clear(void)
{
    void *v;
    for (size_t it = 0; kc_map_next(&pc_cache, &it, NULL, &v);) free(v);
    kc_map_release(&pc_cache);
}

static const pc_info *class_info(const kc_obj *o)
{
    char key[80];
    snprintf(key, sizeof key, "%s@%" PRIu64, o->uid, o->rev);
    pc_info *i = kc_map_get(&pc_cache, key);
    if (i) return i;
    if (kc_map_len(&pc_cache) >= 1024) pc_cache_clear(); /* old versions pile up: start over */
    json_t *pc = kc_obj_parse(o);
    i = xcalloc(1, sizeof *i);
    snprintf(i->key, sizeof i->key, "%s", key);
    i->def = json_is_true(json_object_get(pc, "globalDefault"));
    i->value = json_integer_value(json_object_get(pc, "value"));
    json_decref(pc);
    kc_map_put(&pc_cache, i->key, i);
    return i;
}

typedef struct default_pc {
    const kc_obj *best; /* the lowest-valued globalDefault class */
    json_int_t best_value;
    const char *skip;
} default_pc;

static bool consider_default(void *ud, const kc_obj *o)
{
    default_pc *d = ud;
    if (d->skip && !strcmp(o->name, d->skip)) return true;
    const pc_info *i = class_info(o);
    if (i->def && (!d->best || d->best_value > i->value)) {
        d->best = o;
        d->best_value = i->value;
    }
    return true;
}

/* getDefaultPriorityClass: new reference or NULL. */
static json_t *default_class(kc_apiserver *s, const char *skip)
{
    default_pc d = {NULL, 0, skip};
    kc_err err = KC_ERR_INIT;
    kc_store_list(s->store, res_pc(), NULL, NULL, 0, consider_default, &d, &err);
    kc_err_release(&err);
    return d.best ? kc_obj_parse(d.best) : NULL;
}

static int forbidden(kc_err *err, const char *resource, const char *name, const char *msg)
{
    return kc_errf(err, KC_EFORBIDDEN, "%s \"%s\" is forbidden: %s", resource, name ? name : "", msg);
}

/* The class a new pod gets: fills name (borrowed from class or ""), value, policy (NULL = nil). */
static int resolve_class(kc_apiserver *s, json_t *spec, const char *pod, json_t **cls, kc_err *err)
{
    const char *name = json_string_value(json_object_get(spec, "priorityClassName"));
    if (!name || !name[0]) {
        *cls = default_class(s, NULL);
        return 0;
    }
    const kc_obj *o = kc_store_get(s->store, res_pc(), NULL, name);
    if (!o) {
        char msg[400];
        snprintf(msg, sizeof msg, "no PriorityClass with name %s was found", name);
        return forbidden(err, "pods", pod, msg);
    }
    *cls = kc_obj_parse(o);
    return 0;
}

int kc_admit_pod_priority(kc_apiserver *s, json_t *pod, kc_err *err)
{
    json_t *spec = json_object_get(pod, "spec"), *cls = NULL;
    const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
    if (!json_is_object(spec) || resolve_class(s, spec, name, &cls, err) < 0) return -1;
    json_int_t prio = cls ? json_integer_value(json_object_get(cls, "value")) : 0;
    const char *policy = cls ? json_string_value(json_object_get(cls, "preemptionPolicy")) : "PreemptLowerPriority";
    const char *cname = cls ? json_string_value(json_object_get(json_object_get(cls, "metadata"), "name")) : "";
    json_t *given = json_object_get(spec, "priority");
    const char *gpol = json_string_value(json_object_get(spec, "preemptionPolicy"));
    char msg[400] = "";
    if (given && !json_is_null(given) && json_integer_value(given) != prio)
        snprintf(msg, sizeof msg,
                 "the integer value of priority (%" JSON_INTEGER_FORMAT ") must not be provided in pod spec; "
                 "priority admission controller computed %" JSON_INTEGER_FORMAT " from the given PriorityClass name",
                 json_integer_value(given), prio);
    else if (policy && gpol && strcmp(policy, gpol))
        snprintf(msg, sizeof msg,
                 "the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission "
                 "controller computed %s from the given PriorityClass name",
                 gpol, policy);
    if (!msg[0]) {
        json_object_set_new(spec, "priorityClassName", json_string(cname ?: ""));
        if (!cname || !cname[0]) json_object_del(spec, "priorityClassName");
        json_object_set_new(spec, "priority", json_integer(prio));
        if (policy) json_object_set_new(spec, "preemptionPolicy", json_string(policy));
    }
    json_decref(cls);
    return msg[0] ? forbidden(err, "pods", name, msg) : 0;
}

void kc_admit_pod_priority_update(json_t *pod, json_t *old)
{
    json_t *spec = json_object_get(pod, "spec"), *ospec = json_object_get(old, "spec");
    static const char *keep[] = {"priority", "preemptionPolicy"};
    for (int i = 0; i < 2 && json_is_object(spec); i++) {
        json_t *v = json_object_get(spec, keep[i]), *ov = json_object_get(ospec, keep[i]);
        if ((!v || json_is_null(v)) && ov) json_object_set(spec, keep[i], ov);
    }
}

static bool known_system(const char *name, json_int_t value, bool def)
{
    for (size_t i = 0; i < sizeof system_classes / sizeof *system_classes; i++)
        if (!strcmp(name, system_classes[i].name)) return value == system_classes[i].value && !def;
    return false;
}

/* ValidatePriorityClass(+Update) and the admission's single-default rule. old may be NULL. */
int kc_admit_priority_class(kc_apiserver *s, json_t *pc, json_t *old, kc_err *err)
{
    const char *name = json_string_value(json_object_get(json_object_get(pc, "metadata"), "name")) ?: "";
    json_int_t value = json_integer_value(json_object_get(pc, "value"));
    bool def = json_is_true(json_object_get(pc, "globalDefault"));
    if (!strncmp(name, "system-", 7) && !known_system(name, value, def))
        kc_err_cause(err, "FieldValueForbidden", "metadata.name",
                     "Forbidden: priority class names with 'system-' prefix are reserved for system use only. "
                     "error: %s is not a known system priority class",
                     name);
    else if (strncmp(name, "system-", 7) && value > HIGHEST_USER_PRIORITY)
        kc_err_cause(err, "FieldValueForbidden", "value",
                     "Forbidden: maximum allowed value of a user defined priority is %d", HIGHEST_USER_PRIORITY);
    static const char *immutable[] = {"value", "preemptionPolicy"};
    for (int i = 0; old && i < 2; i++) {
        json_t *a = json_object_get(pc, immutable[i]), *b = json_object_get(old, immutable[i]);
        if (!(a == b || (a && b && json_equal(a, b))))
            kc_err_cause(err, "FieldValueForbidden", immutable[i], "Forbidden: may not be changed in an update.");
    }
    if (kc_err_ncauses(err)) return kc_err_invalid(err, "PriorityClass", name);
    json_t *cur = def ? default_class(s, old ? name : NULL) : NULL;
    if (!cur) return 0;
    char msg[400];
    snprintf(msg, sizeof msg, "PriorityClass %s is marked as default. Only one default can exist",
             json_string_value(json_object_get(json_object_get(cur, "metadata"), "name")));
    json_decref(cur);
    return forbidden(err, "priorityclasses.scheduling.k8s.io", name, msg);
}

int kc_admit_priority_class_delete(const char *name, kc_err *err)
{
    for (size_t i = 0; i < sizeof system_classes / sizeof *system_classes; i++)
        if (!strcmp(name, system_classes[i].name))
            return forbidden(err, "priorityclasses.scheduling.k8s.io", name,
                             "this is a system priority class and cannot be deleted");
    return 0;
}

int kc_priority_bootstrap(kc_apiserver *s, kc_err *err)
{
    for (size_t i = 0; i < sizeof system_classes / sizeof *system_classes; i++) {
        if (kc_store_get(s->store, res_pc(), NULL, system_classes[i].name)) continue;
        char uid[37], now[32];
        kc_new_uid(uid);
        kc_now_rfc3339(now);
        json_t *doc = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:i,s:s,s:s}", "apiVersion", "scheduling.k8s.io/v1",
                                "kind", "PriorityClass", "metadata", "name", system_classes[i].name, "uid", uid,
                                "creationTimestamp", now, "value", system_classes[i].value,
                                "description", system_classes[i].desc, "preemptionPolicy", "PreemptLowerPriority");
        if (kc_store_write(s->store, KC_WRITE_CREATE, res_pc(), doc, 0, NULL, NULL, NULL, err) < 0) return -1;
    }
    return 0;
}
