/* Defaulting: the values the Kubernetes API server fills in on every create and update.
 *
 * What a v1.32 cluster does between decoding a request and validating it: the defaulting
 * functions of pkg/apis/{core,apps,batch,storage,discovery,networking,rbac,autoscaling}/v1
 * (defaults.go plus the +default markers defaulter-gen turns into code), the Go encoder's zero
 * values for non-pointer fields (`resources: {}`, `status: {loadBalancer: {}}`, a StatefulSet's
 * `status: {replicas: 0, availableReplicas: 0}`), and the defaulting the Service REST storage
 * does on create (clusterIPs from clusterIP, ipFamilyPolicy, ipFamilies on a single-stack IPv4
 * cluster). A StatefulSet's volumeClaimTemplates also get apiVersion v1 / kind
 * PersistentVolumeClaim, as the apps/v1 conversion writes them.
 *
 *     const kc_type *t = kc_schema_kind("apps", "v1", "Deployment");
 *     kc_defaults_apply(t, obj);   // after kc_schema_decode, before kc_schema_validate
 *
 * The walk follows obj along the schema, so a type's defaults apply wherever it appears (the
 * PodSpec inside a Deployment's template, the Containers inside it, PVC templates inside a
 * StatefulSet). Object-level defaults stay object-level as upstream has them: Pod-only defaults
 * (enableServiceLinks, requests copied from limits, hostNetwork host ports) do not reach pod
 * templates, and Job defaults do not reach a CronJob's jobTemplate.
 *
 * A field is only set when absent, JSON null, or (for non-pointer Go fields) its zero value;
 * user values stay. The exceptions are upstream's own: a Namespace always gets the
 * kubernetes.io/metadata.name label, sessionAffinity None drops sessionAffinityConfig, and
 * volumeClaimTemplates' apiVersion/kind are rewritten.
 *
 * Idempotent: applying twice gives the same document. Allocates only the values it adds.
 * Thread-safe (the type table is resolved once, under pthread_once). */
#ifndef KC_API_DEFAULTS_H
#define KC_API_DEFAULTS_H
#include "api/schema.h"
#include <jansson.h>

/* Fills in defaults on obj, an object of type t ("apps/v1.Deployment"), in place.
 * No-op when t is NULL or obj is not a JSON object. */
void kc_defaults_apply(const kc_type *t, json_t *obj);
/* The same for one field of obj only (say "status", filled in after the object was defaulted),
 * as the whole walk would treat that field. */
void kc_defaults_apply_field(const kc_type *t, json_t *obj, const char *field);

#endif
