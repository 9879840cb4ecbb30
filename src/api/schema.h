/* Field schema: the shape of every built-in Kubernetes type, generated from data.
 *
 * The tables (build/gen/schema_tables.c, written by tools/gen_schema.py from
 * api/schema/k8s-api-types.json) describe each type ("core/v1.Pod") as a list of JSON fields with
 * their kind, element schema, flags and patch metadata. Everything here is static and immutable:
 * all returned pointers are borrowed from the tables and live forever.
 *
 * Lookups:
 *     const kc_type *pod = kc_schema_kind("", "v1", "Pod");      // or kc_schema_type("core/v1.Pod")
 *     const kc_field *f = kc_type_field(kc_field_type(kc_type_field(pod, "spec")), "containers");
 *     kc_field_patch(f) & KC_PATCH_MERGE, kc_field_merge_key(f) -> "name"
 *
 * Decoding a request body, the way the Kubernetes API server's JSON decoder does:
 *     if (kc_schema_decode(pod, obj, KC_FV_STRICT, warnings, err) < 0) return -1;   // 400
 *     if (kc_schema_validate(pod, obj, err) < 0) return -1;                          // 422
 * decode edits obj in place: drops unknown fields and JSON nulls, turns numeric quantities into
 * strings. validate only reads. */
#ifndef KC_API_SCHEMA_H
#define KC_API_SCHEMA_H
#include "lib/err.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* What JSON value a field holds (the "type" of the data file). */
typedef enum kc_fkind {
    KC_FK_STRING,
    KC_FK_INTEGER, /* JSON integer; fmt says int32 or int64 range */
    KC_FK_NUMBER,  /* float64 */
    KC_FK_BOOLEAN,
    KC_FK_BYTE,        /* []byte: base64 string */
    KC_FK_QUANTITY,    /* resource.Quantity: string (numbers accepted, decode stores them as strings) */
    KC_FK_INTORSTRING, /* intstr.IntOrString: int32 or string */
    KC_FK_DATETIME,    /* metav1.Time / MicroTime (fmt): RFC 3339 string */
    KC_FK_DURATION,    /* metav1.Duration: string */
    KC_FK_ANY,         /* arbitrary JSON, not descended into */
    KC_FK_REF,         /* object of another kc_type */
    KC_FK_ARRAY,       /* items: kc_field.elem */
    KC_FK_MAP,         /* object with string keys; values: kc_field.elem */
} kc_fkind;

typedef enum kc_fmt { KC_FMT_NONE, KC_FMT_INT32, KC_FMT_INT64, KC_FMT_RFC3339, KC_FMT_RFC3339_MICRO } kc_fmt;

/* +listType / +mapType / +structType markers (server-side apply); NONE when absent. */
typedef enum kc_listtype { KC_LIST_NONE, KC_LIST_ATOMIC, KC_LIST_SET, KC_LIST_MAP } kc_listtype;
typedef enum kc_maptype { KC_MAPT_NONE, KC_MAPT_ATOMIC, KC_MAPT_GRANULAR } kc_maptype;
typedef enum kc_structtype { KC_STRUCT_NONE, KC_STRUCT_ATOMIC, KC_STRUCT_GRANULAR } kc_structtype;

/* patchStrategy struct tag bits (strategic merge patch); 0 means replace wholesale. */
#define KC_PATCH_MERGE 0x01u
#define KC_PATCH_RETAINKEYS 0x02u
#define KC_PATCH_REPLACE 0x04u

/* kc_field.flags */
#define KC_FF_REQUIRED 0x01u /* validate reports it missing (rule: tools/gen_schema.py) */
#define KC_FF_NULLABLE 0x02u /* Go pointer */
#define KC_FF_OMITEMPTY 0x04u
#define KC_FF_OPTIONAL 0x08u /* +optional marker */
#define KC_FF_INLINED 0x10u  /* flattened from an embedded struct */
#define KC_FF_OMITZERO 0x20u
#define KC_FF_STATUS 0x40u /* a "status" subtree; validate skips it unless KC_SV_STATUS */

/* Schema of one JSON value: a field's own value, or its array item / map value. */
typedef struct kc_elem {
    uint8_t kind;       /* kc_fkind */
    uint8_t fmt;        /* kc_fmt */
    int16_t type;       /* KC_FK_REF: index in the type table, else -1 */
    int16_t enm;        /* closed enum (+enum type): index in the enum table, else -1 */
    const char *gotype; /* Go type name for error messages ("int32", "[]v1.Container") */
} kc_elem;

typedef struct kc_field {
    const char *name; /* JSON name */
    uint8_t namelen;
    const char *merge_key; /* patchMergeKey or NULL */
    kc_elem v;             /* the value itself */
    kc_elem elem;          /* KC_FK_ARRAY items / KC_FK_MAP values; kind KC_FK_ANY otherwise */
    uint16_t list_keys;    /* first +listMapKey in the list key table */
    uint8_t nlist_keys;
    uint8_t flags;       /* KC_FF_* */
    uint8_t patch;       /* KC_PATCH_* */
    uint8_t list_type;   /* kc_listtype */
    uint8_t map_type;    /* kc_maptype */
    uint8_t struct_type; /* kc_structtype (field-level +structType) */
} kc_field;

typedef struct kc_type {
    const char *name;   /* "core/v1.PodSpec" */
    const char *goname; /* "PodSpec" */
    uint16_t first;     /* first field in the field table */
    uint16_t nfields;
    uint8_t struct_type; /* kc_structtype (+structType=atomic: SMP/SSA replace it whole) */
    uint8_t checks;      /* subtree has required fields or closed enums */
} kc_type;

typedef struct kc_enum {
    const char *name; /* "core/v1.PullPolicy" */
    uint16_t first;   /* first value in the enum value table; values sorted */
    uint16_t n;
} kc_enum;

/* A registered kind (REST resource or not). */
typedef struct kc_kind {
    const char *group;        /* "" for core, "apps", "storage.k8s.io", ... */
    const char *version;      /* "v1" */
    const char *kind;         /* "Deployment" */
    const char *resource;     /* "deployments"; NULL when not a REST resource (Binding, Scale) */
    const char *list_kind;    /* "DeploymentList" or NULL */
    const char *subresources; /* comma separated ("status,scale"), "" if none */
    const char *type_name;    /* "apps/v1.Deployment" */
    int16_t type;             /* index in the type table */
    int8_t namespaced;        /* 1, 0, or -1 when unknown (no +genclient) */
} kc_kind;

/* Types. Borrowed; NULL when unknown. */
const kc_type *kc_schema_type(const char *name);
/* Type of group/version/kind; group "" is core. NULL when the kind is not in the data
 * (events.k8s.io/v1 Event is not: use core/v1 Event). */
const kc_type *kc_schema_kind(const char *group, const char *version, const char *kind);
/* The kind record, or NULL. */
const kc_kind *kc_schema_kind_get(const char *group, const char *version, const char *kind);
/* The kind serving REST resource `resource` ("deployments") in group/version, or NULL. */
const kc_kind *kc_schema_kind_by_resource(const char *group, const char *version, const char *resource);
size_t kc_schema_nkinds(void);
const kc_kind *kc_schema_kind_at(size_t i); /* NULL past the end */
const kc_type *kc_kind_type(const kc_kind *k);

const char *kc_type_name(const kc_type *t);
size_t kc_type_nfields(const kc_type *t);
/* i-th field in declaration order, NULL past the end. */
const kc_field *kc_type_field_at(const kc_type *t, size_t i);
/* Field by JSON name (case-sensitive, as the API server decodes); NULL when unknown. */
const kc_field *kc_type_field(const kc_type *t, const char *json_name);
const kc_field *kc_type_fieldn(const kc_type *t, const char *name, size_t len);
int kc_type_is_atomic(const kc_type *t);

/* Field accessors (for the strategic merge patch engine and friends). */
const char *kc_field_name(const kc_field *f);
kc_fkind kc_field_kind(const kc_field *f);
/* KC_FK_REF: the referenced type; else NULL. */
const kc_type *kc_field_type(const kc_field *f);
/* KC_FK_ARRAY / KC_FK_MAP: element kind and (for refs) element type; KC_FK_ANY / NULL otherwise. */
kc_fkind kc_field_elem_kind(const kc_field *f);
const kc_type *kc_field_elem_type(const kc_field *f);
unsigned kc_field_patch(const kc_field *f);        /* KC_PATCH_* bits */
const char *kc_field_merge_key(const kc_field *f); /* NULL if none */
kc_listtype kc_field_list_type(const kc_field *f);
/* +listMapKey names; *n gets the count. */
const char *const *kc_field_list_map_keys(const kc_field *f, size_t *n);
int kc_field_required(const kc_field *f);
int kc_field_nullable(const kc_field *f);
/* Closed enum values of the field (or of its items/values), sorted; NULL/0 when not a closed enum. */
const char *const *kc_field_enum(const kc_field *f, size_t *n);

/* Unknown-field handling, as ?fieldValidation=Ignore|Warn|Strict. */
typedef enum { KC_FV_IGNORE, KC_FV_WARN, KC_FV_STRICT } kc_fieldval;

/* Checks obj against t like the Kubernetes JSON decoder and edits it in place:
 * - unknown fields (at any depth) are removed; WARN appends `unknown field "spec.bogus"` strings
 *   to warnings (a JSON array, may be NULL); STRICT fails with KC_EBADREQUEST
 *   `strict decoding error: unknown field "a.b", unknown field "c[0].d"` listing all of them;
 * - null field values are removed; null array items / map values become the Go zero value;
 * - a value of the wrong JSON type fails with KC_EBADREQUEST `json: cannot unmarshal string into
 *   Go struct field ContainerPort.spec.containers.ports.containerPort of type int32`; quantities,
 *   date-times and base64 bytes are parsed, numeric quantities are rewritten as strings.
 * Returns 0, or -1 with err set (obj is then partly cleaned and should be discarded). */
int kc_schema_decode(const kc_type *t, json_t *obj, kc_fieldval mode, json_t *warnings, kc_err *err);

/* validate flags */
#define KC_SV_STATUS 0x01u /* also check "status" subtrees (status subresource writes) */

/* Semantic checks the API server answers with 422 Invalid, on a decoded obj (read only):
 * required fields missing (FieldValueRequired, "Required value") and values outside closed enums
 * (FieldValueNotSupported, `Unsupported value: "Foo": supported values: "A", "B"`), one
 * kc_err_cause each with paths like spec.containers[0].name. Status subtrees are skipped.
 * Returns 0 when nothing was added, else -1 with reason KC_EINVALID. */
int kc_schema_validate(const kc_type *t, json_t *obj, kc_err *err);
int kc_schema_validate_flags(const kc_type *t, json_t *obj, unsigned flags, kc_err *err);

#endif
