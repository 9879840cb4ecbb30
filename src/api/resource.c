/* The table of served resources. Kinds, scopes and the schema keys agree with the field schema
 * (api/schema, checked by tests/unit/test_resource.c); short names and categories are upstream's. */
#include "api/resource.h"
#include <stdio.h>
#include <string.h>

#define POD_FIELDS                                                                                   \
    {"spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName",                   \
     "spec.serviceAccountName", "spec.hostNetwork", "status.podIP", "status.nominatedNodeName"}
#define EVENT_FIELDS                                                                                 \
    {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",  \
     "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",       \
     "reason", "reportingComponent", "source", "type"}

const kc_resource kc_resources[] = {
    {"", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}, false, KC_SUB_STATUS, false,
     KC_NAMERULE_LABEL, "core/v1.Namespace", {"status.phase"}},
    {"", "v1", "pods", "pod", "Pod", true, {"po"}, true, KC_SUB_STATUS | KC_SUB_POD, false, KC_NAMERULE_SUBDOMAIN,
     "core/v1.Pod", POD_FIELDS},
    {"", "v1", "services", "service", "Service", true, {"svc"}, true, KC_SUB_STATUS, false,
     KC_NAMERULE_1035, "core/v1.Service", {"spec.clusterIP", "spec.type"}},
    {"", "v1", "endpoints", "endpoints", "Endpoints", true, {"ep"}, false, 0, false, KC_NAMERULE_SUBDOMAIN,
     "core/v1.Endpoints", {0}},
    {"", "v1", "nodes", "node", "Node", false, {"no"}, false, KC_SUB_STATUS, false, KC_NAMERULE_SUBDOMAIN,
     "core/v1.Node", {"spec.unschedulable"}},
    {"", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}, false, 0, false, KC_NAMERULE_SUBDOMAIN,
     "core/v1.ConfigMap", {0}},
    {"", "v1", "secrets", "secret", "Secret", true, {0}, false, 0, false, KC_NAMERULE_SUBDOMAIN,
     "core/v1.Secret", {"type"}},
    {"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"}, false, 0, false,
     KC_NAMERULE_SUBDOMAIN, "core/v1.ServiceAccount", {0}},
    {"", "v1", "events", "event", "Event", true, {"ev"}, false, 0, false, KC_NAMERULE_SUBDOMAIN,
     "core/v1.Event", EVENT_FIELDS},
    {"", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", false, {"pv"}, false,
     KC_SUB_STATUS, false, KC_NAMERULE_SUBDOMAIN, "core/v1.PersistentVolume", {"status.phase"}},
    {"", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, {"pvc"},
     false, KC_SUB_STATUS, false, KC_NAMERULE_SUBDOMAIN, "core/v1.PersistentVolumeClaim", {0}},
    {"apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, true,
     KC_SUB_STATUS | KC_SUB_SCALE, true, KC_NAMERULE_SUBDOMAIN, "apps/v1.Deployment", {0}},
    {"apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, {"rs"}, true,
     KC_SUB_STATUS | KC_SUB_SCALE, true, KC_NAMERULE_SUBDOMAIN, "apps/v1.ReplicaSet", {"status.replicas"}},
    {"apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, {"sts"}, true,
     KC_SUB_STATUS | KC_SUB_SCALE, true, KC_NAMERULE_SUBDOMAIN, "apps/v1.StatefulSet", {0}},
    {"apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, {"ds"}, true, KC_SUB_STATUS, true,
     KC_NAMERULE_SUBDOMAIN, "apps/v1.DaemonSet", {0}},
    {"apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", true, {0}, false, 0,
     false, KC_NAMERULE_SUBDOMAIN, "apps/v1.ControllerRevision", {0}},
    {"policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, {"pdb"}, false,
     KC_SUB_STATUS, true, KC_NAMERULE_SUBDOMAIN, "policy/v1.PodDisruptionBudget", {0}},
    {"scheduling.k8s.io", "v1", "priorityclasses", "priorityclass", "PriorityClass", false, {"pc"}, false, 0, false,
     KC_NAMERULE_SUBDOMAIN, "scheduling/v1.PriorityClass", {0}},
    {"storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass", false, {"sc"}, false, 0,
     false, KC_NAMERULE_SUBDOMAIN, "storage/v1.StorageClass", {0}},
    {"coordination.k8s.io", "v1", "leases", "lease", "Lease", true, {0}, false, 0, false,
     KC_NAMERULE_SUBDOMAIN, "coordination/v1.Lease", {0}},
    {"discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true, {0}, false, 0,
     true, KC_NAMERULE_SUBDOMAIN, "discovery/v1.EndpointSlice", {0}},
    {"events.k8s.io", "v1", "events", "event", "Event", true, {"ev"}, false, 0, false,
     KC_NAMERULE_SUBDOMAIN, "events/v1.Event", {"regarding.kind", "regarding.namespace", "regarding.name",
     "regarding.uid", "reason", "type", "reportingController"}},
};
const size_t kc_nresources = sizeof kc_resources / sizeof kc_resources[0];

int kc_resource_find(const char *group, const char *version, const char *resource)
{
    for (size_t i = 0; i < kc_nresources; i++) {
        const kc_resource *r = &kc_resources[i];
        if (!strcmp(r->group, group) && !strcmp(r->version, version) && !strcmp(r->resource, resource))
            return (int)i;
    }
    return -1;
}

int kc_resource_by_kind(const char *group, const char *kind)
{
    for (size_t i = 0; i < kc_nresources; i++)
        if (!strcmp(kc_resources[i].group, group) && !strcmp(kc_resources[i].kind, kind)) return (int)i;
    return -1;
}

const char *kc_resource_api_version(const kc_resource *r)
{
    static char buf[sizeof kc_resources / sizeof kc_resources[0]][64];
    size_t i = (size_t)(r - kc_resources);
    if (!buf[i][0]) {
        if (r->group[0])
            snprintf(buf[i], sizeof buf[i], "%s/%s", r->group, r->version);
        else
            snprintf(buf[i], sizeof buf[i], "%s", r->version);
    }
    return buf[i];
}

int kc_resource_field_index(const kc_resource *r, const char *field)
{
    for (int i = 0; i < KC_MAX_FIELDS && r->fields[i]; i++)
        if (!strcmp(r->fields[i], field)) return i;
    return -1;
}
