/* Storage admission on create (semantics 6.3, 6.7): the StorageObjectInUseProtection finalizers
 * on PersistentVolumes and claims (when their controllers run), and DefaultStorageClass for claims
 * created without a class. */
#include "api/resource.h"
#include "apiserver/apiserver.h"
#include "store/store.h"
#include <string.h>
/* ---- storage admission (StorageObjectInUseProtection, DefaultStorageClass) ---- */

static void add_finalizer(json_t *doc, const char *fin)
{
    json_t *md = json_object_get(doc, "metadata");
    json_t *fins = json_object_get(md, "finalizers"), *v;
    size_t i;
    json_array_foreach(fins, i, v) if (!strcmp(json_string_value(v) ?: "", fin)) return;
    if (!json_is_array(fins)) json_object_set_new(md, "finalizers", fins = json_array());
    json_array_append_new(fins, json_string(fin));
}

typedef struct default_pick {
    const char *name, *created; /* borrowed from doc */
    json_t *doc;
} default_pick;

static bool is_default_class(json_t *sc)
{
    json_t *ann = json_object_get(json_object_get(sc, "metadata"), "annotations");
    const char *a = json_string_value(json_object_get(ann, "storageclass.kubernetes.io/is-default-class"));
    const char *b = json_string_value(json_object_get(ann, "storageclass.beta.kubernetes.io/is-default-class"));
    return (a && !strcmp(a, "true")) || (b && !strcmp(b, "true"));
}

/* GetDefaultClass: the newest default class (creationTimestamp), ties to the smaller name. */
static bool visit_class(void *ud, const kc_obj *o)
{
    default_pick *p = ud;
    json_t *doc = kc_obj_parse(o);
    const char *created = json_string_value(json_object_get(json_object_get(doc, "metadata"), "creationTimestamp"));
    if (is_default_class(doc) && created) {
        int c = p->doc ? strcmp(created, p->created) : 1;
        if (c > 0 || (c == 0 && strcmp(o->name, p->name) < 0)) {
            json_decref(p->doc);
            p->doc = json_incref(doc), p->created = created;
            p->name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
        }
    }
    json_decref(doc);
    return true;
}

/* A claim created without storageClassName (and no beta annotation) gets the default class;
 * an explicit "" stays "no class". */
static void default_storage_class(kc_apiserver *s, json_t *doc)
{
    json_t *spec = json_object_get(doc, "spec");
    json_t *ann = json_object_get(json_object_get(doc, "metadata"), "annotations");
    if (!json_is_object(spec) || json_is_string(json_object_get(spec, "storageClassName")) ||
        json_object_get(ann, "volume.beta.kubernetes.io/storage-class"))
        return;
    default_pick p = {0};
    kc_err err = KC_ERR_INIT;
    int sc = kc_resource_find("storage.k8s.io", "v1", "storageclasses");
    if (sc >= 0) kc_store_list(s->store, sc, NULL, NULL, 0, visit_class, &p, &err);
    kc_err_release(&err);
    if (p.doc) json_object_set_new(spec, "storageClassName", json_string(p.name));
    json_decref(p.doc);
}

void kc_apiserver_set_storage_protection(kc_apiserver *s, bool pvc, bool pv)
{
    s->protect_pvc = pvc, s->protect_pv = pv;
}

/* The finalizers only when their controllers run: with controllers off (API-only servers) a
 * deleted claim would otherwise stay Terminating for ever. */
void kc_admit_storage(kc_apiserver *s, const char *kind, json_t *doc)
{
    if (!strcmp(kind, "PersistentVolumeClaim")) {
        if (s->protect_pvc) add_finalizer(doc, "kubernetes.io/pvc-protection");
        default_storage_class(s, doc);
    } else if (!strcmp(kind, "PersistentVolume") && s->protect_pv) {
        add_finalizer(doc, "kubernetes.io/pv-protection");
    }
}
