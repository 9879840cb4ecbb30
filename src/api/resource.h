/* The served resources, as data (architecture rule 7): one row per kind says its group, version,
 * plural and singular names, kind, scope, short names, categories, subresources, selectable fields
 * and name rule. Routing, discovery, OpenAPI and the store's index extraction all read this table. */
#ifndef KC_API_RESOURCE_H
#define KC_API_RESOURCE_H
#include <stdbool.h>
#include <stddef.h>

enum { KC_SUB_STATUS = 1, KC_SUB_SCALE = 2, KC_SUB_POD = 4 /* binding, eviction, log, exec */ };
enum kc_name_kind { KC_NAMERULE_SUBDOMAIN, KC_NAMERULE_LABEL, KC_NAMERULE_1035, KC_NAMERULE_SEGMENT };

#define KC_MAX_FIELDS 12

typedef struct kc_resource {
    const char *group; /* "" for the legacy core group */
    const char *version;
    const char *resource; /* plural, lower case */
    const char *singular;
    const char *kind;
    bool namespaced;
    const char *short_names[3];
    bool cat_all;          /* in the "all" category */
    unsigned subresources; /* KC_SUB_* bits */
    bool has_generation;   /* metadata.generation moves on spec changes */
    enum kc_name_kind name_rule;
    const char *schema_type; /* "core/v1.Pod": key into the field schema */
    /* Selectable fields beyond metadata.name and metadata.namespace (JSON paths, dotted). */
    const char *fields[KC_MAX_FIELDS];
} kc_resource;

extern const kc_resource kc_resources[];
extern const size_t kc_nresources;

/* Looks a resource up by group, version and plural; returns its index or -1. */
int kc_resource_find(const char *group, const char *version, const char *resource);
/* Looks up by group and kind (any served version); returns index or -1. */
int kc_resource_by_kind(const char *group, const char *kind);
/* "apps/v1" or "v1". Static storage per resource. */
const char *kc_resource_api_version(const kc_resource *r);
/* Index of a selectable field in r->fields, or -1 (name and namespace are handled by callers). */
int kc_resource_field_index(const kc_resource *r, const char *field);

#endif
