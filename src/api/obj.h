/* kc_obj: an immutable, shared API object (serialized JSON + parsed index). See obj.c. */
#ifndef KC_API_OBJ_H
#define KC_API_OBJ_H
#include "api/resource.h"
#include "lib/err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct kc_obj {
    int refs;                /* atomic */
    int res;                 /* index into kc_resources */
    uint64_t rev;            /* metadata.resourceVersion */
    char *key;               /* "ns/name" or "name" */
    char *ns;                /* "" for cluster-scoped */
    char *name;
    char *uid;
    json_t *labels;          /* object or NULL */
    char **fields;           /* values of kc_resources[res].fields, "" when absent */
    bool deleting;           /* metadata.deletionTimestamp is set */
    char *json;              /* the full serialized object */
    size_t len;
} kc_obj;

void kc_obj_ref(const kc_obj *o);
void kc_obj_unref(const kc_obj *o);
/* Parses the stored JSON (a new reference, owned by the caller). */
json_t *kc_obj_parse(const kc_obj *o);
/* Value of a selectable field: name, namespace, or one of the resource's fields; NULL if unknown. */
const char *kc_obj_field(const kc_obj *o, const char *field);
/* Builds an object (one reference, owned by the caller) from a document, serializing it as is. */
kc_obj *kc_obj_build(int res, json_t *doc);
/* Parses JSON bytes and builds the object; NULL with BadRequest on malformed input. */
kc_obj *kc_obj_from_bytes(int res, const char *json, size_t len, kc_err *err);
/* An empty object with its identity set (the store's restart path fills the rest). */
kc_obj *kc_obj_alloc(int res, const char *ns, const char *name);
/* "ns/name" or "name" (malloc'd). */
char *kc_obj_key(const char *ns, const char *name);

#endif
