/* Unit tests for api/validation: each rule against a good base object changed in one place, with
 * the exact field path and message upstream gives (messages from kubernetes/kubernetes
 * pkg/apis/core/validation and pkg/apis/apps/validation), good objects and allowed updates passing,
 * and the quantity parser/printer against resource.Quantity's canonical forms. */
#include "api/resource.h"
#include "api/validation.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define M_LABEL                                                                                              \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "        \
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "           \
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define M_SUBDOMAIN                                                                                          \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "        \
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "             \
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define M_PERCENT                                                                                            \
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or "             \
    "'93%', regex used for validation is '[0-9]+%')"
#define M_POD_UPDATE                                                                                         \
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"                    \
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "                  \
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "           \
    "to 1 if it was previously negative)\n"

/* ---- test objects: JSON written with ' for ", changed with {"/json/pointer": value} sets ---- */

static json_t *J(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t e;
    json_t *j = json_loads(d, JSON_DECODE_ANY, &e);
    cr_assert(j, "bad test JSON (%s): %s", e.text, d);
    free(d);
    return j;
}

/* Sets (value) or removes (null) the member at a JSON pointer, creating missing objects. */
static void set_at(json_t *doc, const char *ptr, json_t *val)
{
    char *path = strdup(ptr + 1), *save = NULL, *tok = strtok_r(path, "/", &save);
    json_t *cur = doc;
    while (tok) {
        char *next = strtok_r(NULL, "/", &save);
        for (char *r = tok, *w = tok;; r++, w++) { /* ~1 is '/', ~0 is '~' */
            if (r[0] == '~' && (r[1] == '1' || r[1] == '0'))
                *w = *++r == '1' ? '/' : '~';
            else
                *w = *r;
            if (!*r) break;
        }
        if (json_is_array(cur)) {
            size_t i = strtoul(tok, NULL, 10);
            if (!next && json_is_null(val))
                json_array_remove(cur, i);
            else if (!next && i >= json_array_size(cur))
                json_array_append(cur, val);
            else if (!next)
                json_array_set(cur, i, val);
            else
                cur = json_array_get(cur, i);
        } else if (!next) {
            if (json_is_null(val))
                json_object_del(cur, tok);
            else
                json_object_set(cur, tok, val);
        } else {
            if (!json_object_get(cur, tok)) json_object_set_new(cur, tok, json_object());
            cur = json_object_get(cur, tok);
        }
        tok = next;
    }
    free(path);
}

static json_t *make(const char *base, const char *sets)
{
    json_t *doc = J(base), *s = J(sets), *v;
    const char *k;
    json_object_foreach(s, k, v) set_at(doc, k, v);
    json_decref(s);
    return doc;
}

#define POD                                                                                                  \
    "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','namespace':'default'},'spec':{"                 \
    "'containers':[{'name':'web','image':'nginx','ports':[{'containerPort':80,'protocol':'TCP'}],"           \
    "'volumeMounts':[{'name':'data','mountPath':'/data'}],'resources':{'requests':{'cpu':'500m',"            \
    "'memory':'64Mi'},'limits':{'cpu':'1','memory':'128Mi'}}}],'volumes':[{'name':'data',"                   \
    "'emptyDir':{}}],'restartPolicy':'Always','dnsPolicy':'ClusterFirst',"                                   \
    "'terminationGracePeriodSeconds':30,'tolerations':[{'key':'k','operator':'Exists',"                      \
    "'effect':'NoExecute','tolerationSeconds':300}]}}"

#define TEMPLATE                                                                                             \
    "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'web',"                   \
    "'image':'nginx','volumeMounts':[{'name':'data','mountPath':'/data'}]}],'volumes':[{'name':"             \
    "'data','emptyDir':{}}],'restartPolicy':'Always','dnsPolicy':'ClusterFirst'}}"

#define DEPLOY                                                                                               \
    "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'default'},"           \
    "'spec':{'replicas':2,'selector':{'matchLabels':{'app':'web'}}," TEMPLATE ",'strategy':{"                \
    "'type':'RollingUpdate','rollingUpdate':{'maxSurge':'25%','maxUnavailable':'25%'}},"                     \
    "'minReadySeconds':0,'revisionHistoryLimit':10,'progressDeadlineSeconds':600}}"

#define RS                                                                                                   \
    "{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'web','namespace':'default'},"           \
    "'spec':{'replicas':2,'selector':{'matchLabels':{'app':'web'}}," TEMPLATE "}}"

#define STS                                                                                                  \
    "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','namespace':'default'},"           \
    "'spec':{'replicas':1,'serviceName':'db','selector':{'matchLabels':{'app':'web'}},"                      \
    "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'db','image':"            \
    "'postgres','volumeMounts':[{'name':'pgdata','mountPath':'/var/lib/postgresql'}]}],"                     \
    "'restartPolicy':'Always'}},'volumeClaimTemplates':[{'metadata':{'name':'pgdata'},'spec':{"              \
    "'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'1Gi'}}}}],"                         \
    "'podManagementPolicy':'OrderedReady','updateStrategy':{'type':'RollingUpdate',"                         \
    "'rollingUpdate':{'partition':0}}}}"

/* The StatefulSet of the seed notes (/work/shared/spec/seed-notes.txt), as kubectl sends it. */
#define SEED_STS                                                                                             \
    "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'test-sf','namespace':"                 \
    "'default'},'spec':{'serviceName':'test','replicas':2,'selector':{'matchLabels':{'app':"                 \
    "'test-pod'}},'template':{'metadata':{'labels':{'app':'test-pod'}},'spec':{'containers':[{"              \
    "'name':'test-pod','image':'xxx','ports':[{'containerPort':80,'name':'testPod'}]}]}}}}"

#define DS                                                                                                   \
    "{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'agent','namespace':'default'},"          \
    "'spec':{'selector':{'matchLabels':{'app':'web'}}," TEMPLATE ",'updateStrategy':{'type':"                \
    "'RollingUpdate','rollingUpdate':{'maxUnavailable':1,'maxSurge':0}}}}"

#define SVC                                                                                                  \
    "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'default'},'spec':{"           \
    "'type':'ClusterIP','selector':{'app':'web'},'ports':[{'port':80,'targetPort':8080,"                     \
    "'protocol':'TCP'}],'sessionAffinity':'None'}}"

#define SVC_IP                                                                                               \
    "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'default'},'spec':{"           \
    "'type':'ClusterIP','clusterIP':'10.96.0.5','clusterIPs':['10.96.0.5'],'ports':[{'port':80,"             \
    "'protocol':'TCP','targetPort':80}]}}"

#define PVC                                                                                                  \
    "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c','namespace':"                  \
    "'default'},'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':"                 \
    "'1Gi'}},'storageClassName':'standard','volumeMode':'Filesystem'}}"

#define PVC_BOUND                                                                                            \
    "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c','namespace':"                  \
    "'default'},'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':"                 \
    "'2Gi'}},'storageClassName':'standard','volumeName':'pv-1','volumeMode':'Filesystem'},"                  \
    "'status':{'phase':'Bound','capacity':{'storage':'2Gi'}}}"

#define PV                                                                                                   \
    "{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv-1'},'spec':{'capacity':"            \
    "{'storage':'5Gi'},'accessModes':['ReadWriteOnce'],'persistentVolumeReclaimPolicy':'Retain',"            \
    "'hostPath':{'path':'/mnt/data'}}}"

/* ---- the table ---- */

typedef struct vcase {
    const char *group, *kind, *base;
    const char *old;   /* NULL: a create; else sets applied to base to make the stored object */
    const char *set;   /* sets applied to base to make the new object */
    const char *field; /* NULL: the object must be valid */
    const char *msg;   /* exact message; a trailing "..." compares the prefix */
} vcase;

static const vcase cases[] = {
    /* ---- workloads ---- */
    {"apps", "Deployment", DEPLOY, NULL, "{}", NULL, NULL},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/selector':null}", "spec.selector", "Required value"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/selector':null}", "spec.template.metadata.labels",
     "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/selector':{}}", "spec.selector",
     "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/template/metadata/labels':{'app':'x'}}",
     "spec.template.metadata.labels",
     "Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/template/spec/restartPolicy':'Never'}",
     "spec.template.spec.restartPolicy", "Unsupported value: \"Never\": supported values: \"Always\""},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/replicas':-1}", "spec.replicas",
     "Invalid value: -1: must be greater than or equal to 0"},
    {"apps", "Deployment", DEPLOY, NULL,
     "{'/spec/selector/matchExpressions':[{'key':'tier','operator':'In'}]}",
     "spec.selector.matchExpressions[0].values",
     "Required value: must be specified when `operator` is 'In' or 'NotIn'"},
    {"apps", "Deployment", DEPLOY, "{}",
     "{'/spec/selector/matchLabels/app':'web2','/spec/template/metadata/labels/app':'web2'}", "spec.selector",
     "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web2\"}, "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"},
    {"apps", "Deployment", DEPLOY, "{}",
     "{'/spec/replicas':5,'/spec/template/spec/containers/0/image':'nginx:2'}", NULL, NULL},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/strategy/type':'Recreate'}", "spec.strategy.rollingUpdate",
     "Forbidden: may not be specified when strategy `type` is 'Recreate'"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/strategy':{'type':'Recreate'}}", NULL, NULL},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/strategy/rollingUpdate/maxSurge':'25'}",
     "spec.strategy.rollingUpdate.maxSurge",
     "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"25\"}: " M_PERCENT},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/strategy/rollingUpdate':{'maxSurge':0,'maxUnavailable':0}}",
     "spec.strategy.rollingUpdate.maxUnavailable",
     "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/strategy/rollingUpdate/maxUnavailable':'150%'}",
     "spec.strategy.rollingUpdate.maxUnavailable",
     "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/strategy/rollingUpdate/maxUnavailable':-1}",
     "spec.strategy.rollingUpdate.maxUnavailable", "Invalid value: -1: must be greater than or equal to 0"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/minReadySeconds':-1}", "spec.minReadySeconds",
     "Invalid value: -1: must be greater than or equal to 0"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/revisionHistoryLimit':-2}", "spec.revisionHistoryLimit",
     "Invalid value: -2: must be greater than or equal to 0"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/minReadySeconds':10,'/spec/progressDeadlineSeconds':5}",
     "spec.progressDeadlineSeconds", "Invalid value: 5: must be greater than minReadySeconds"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/template/spec/activeDeadlineSeconds':5}",
     "spec.template.spec.activeDeadlineSeconds",
     "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/template/spec/containers':[]}",
     "spec.template.spec.containers", "Required value"},
    {"apps", "Deployment", DEPLOY, NULL,
     "{'/spec/selector/matchLabels/bad key':'x','/spec/template/metadata/labels/bad key':'x'}",
     "spec.selector",
     "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"bad key\":\"x\"}, "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: invalid label selector"},
    {"apps", "Deployment", DEPLOY, NULL, "{'/spec/template/metadata/labels/bad key':'x'}",
     "spec.template.labels",
     "Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and "
     "must "
     "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
     "for "
     "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"},
    {"apps", "ReplicaSet", RS, NULL, "{}", NULL, NULL},
    {"apps", "ReplicaSet", RS, NULL, "{'/spec/selector':{'matchLabels':{}}}", "spec.selector",
     "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"},
    {"apps", "ReplicaSet", RS, "{}",
     "{'/spec/selector':{'matchLabels':{'app':'web','x':'y'}},'/spec/template/metadata/labels/x':'y'}",
     "spec.selector",
     "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"x\":\"y\"}, "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"},
    {"apps", "StatefulSet", STS, NULL, "{}", NULL, NULL},
    {"apps", "StatefulSet", STS, NULL, "{'/spec/volumeClaimTemplates':null}",
     "spec.template.spec.containers[0].volumeMounts[0].name", "Not found: \"pgdata\""},
    {"apps", "StatefulSet", STS, NULL, "{'/spec/selector':{}}", "spec.selector",
     "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset"},
    {"apps", "StatefulSet", STS, NULL, "{'/spec/podManagementPolicy':'Sometimes'}",
     "spec.podManagementPolicy", "Invalid value: \"Sometimes\": must be 'OrderedReady' or 'Parallel'"},
    {"apps", "StatefulSet", STS, NULL, "{'/spec/updateStrategy/rollingUpdate/maxUnavailable':0}",
     "spec.updateStrategy.rollingUpdate.maxUnavailable",
     "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: cannot be 0"},
    {"apps", "StatefulSet", STS, NULL, "{'/spec/template/spec/restartPolicy':'OnFailure'}",
     "spec.template.spec.restartPolicy", "Unsupported value: \"OnFailure\": supported values: \"Always\""},
    {"apps", "StatefulSet", STS, NULL,
     "{'/spec/persistentVolumeClaimRetentionPolicy':{'whenDeleted':'Keep'}}",
     "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
     "Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\""},
    {"apps", "StatefulSet", STS, "{}",
     "{'/spec/replicas':3,'/spec/template/spec/containers/0/image':'postgres:16',"
     "'/spec/updateStrategy':{'type':'OnDelete'},'/spec/minReadySeconds':5,'/spec/revisionHistoryLimit':3}",
     NULL, NULL},
    {"apps", "StatefulSet", STS, "{}", "{'/spec/serviceName':'other'}", "spec",
     "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
     "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
     "are forbidden"},
    {"apps", "StatefulSet", STS, "{}",
     "{'/spec/volumeClaimTemplates/0/spec/resources/requests/storage':'2Gi'}", "spec",
     "Forbidden: updates to statefulset spec for fields other than ..."},
    {"apps", "StatefulSet", SEED_STS, NULL, "{}", "spec.template.spec.containers[0].ports[0].name",
     "Invalid value: \"testPod\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
    {"apps", "StatefulSet", SEED_STS, NULL, "{'/spec/template/spec/containers/0/ports/0/name':'test-pod'}",
     NULL, NULL},
    {"apps", "DaemonSet", DS, NULL, "{}", NULL, NULL},
    {"apps", "DaemonSet", DS, NULL, "{'/spec/selector':null}", "spec.template.metadata.labels",
     "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"},
    {"apps", "DaemonSet", DS, NULL, "{'/spec/updateStrategy/rollingUpdate/maxSurge':1}",
     "spec.updateStrategy.rollingUpdate.maxSurge",
     "Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable "
     "is non-zero"},
    {"apps", "DaemonSet", DS, NULL, "{'/spec/updateStrategy/rollingUpdate/maxUnavailable':0}",
     "spec.updateStrategy.rollingUpdate.maxUnavailable", "Required value: cannot be 0 when maxSurge is 0"},
    {"apps", "DaemonSet", DS, NULL, "{'/spec/template/spec/activeDeadlineSeconds':3}",
     "spec.template.spec.activeDeadlineSeconds",
     "Forbidden: activeDeadlineSeconds in DaemonSet is not Supported"},
    {"apps", "DaemonSet", DS, "{}",
     "{'/spec/selector/matchLabels':{'app':'other'},'/spec/template/metadata/labels/app':'other'}",
     "spec.selector",
     "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"other\"}, ..."},

    /* ---- pod spec ---- */
    {"", "Pod", POD, NULL, "{}", NULL, NULL},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/ports/0/name':'testPod'}",
     "spec.containers[0].ports[0].name",
     "Invalid value: \"testPod\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/ports/0/name':'http-web-server-port'}",
     "spec.containers[0].ports[0].name",
     "Invalid value: \"http-web-server-port\": must be no more than 15 characters"},
    {"", "Pod", POD, NULL,
     "{'/spec/containers/0/ports/0/name':'http','/spec/containers/0/ports/"
     "1':{'containerPort':81,'name':'http'}}",
     "spec.containers[0].ports[1].name", "Duplicate value: \"http\""},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/ports/0/containerPort':70000}",
     "spec.containers[0].ports[0].containerPort",
     "Invalid value: 70000: must be between 1 and 65535, inclusive"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/ports/0/containerPort':0}",
     "spec.containers[0].ports[0].containerPort", "Required value"},
    {"", "Pod", POD, NULL,
     "{'/spec/containers/0/ports/0/hostPort':8080,'/spec/containers/1':{'name':'side','image':'busybox',"
     "'ports':[{'containerPort':81,'hostPort':8080,'protocol':'TCP'}]}}",
     "spec.containers[1].ports[0].hostPort", "Duplicate value: \"TCP//8080\""},
    {"", "Pod", POD, NULL, "{'/spec/containers':[]}", "spec.containers", "Required value"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/name':'Web_1'}", "spec.containers[0].name",
     "Invalid value: \"Web_1\": " M_LABEL},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/image':null}", "spec.containers[0].image", "Required value"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/image':' nginx'}", "spec.containers[0].image",
     "Invalid value: \" nginx\": must not have leading or trailing whitespace"},
    {"", "Pod", POD, NULL, "{'/spec/containers/1':{'name':'web','image':'busybox'}}",
     "spec.containers[1].name", "Duplicate value: \"web\""},
    {"", "Pod", POD, NULL, "{'/spec/initContainers':[{'name':'web','image':'busybox'}]}",
     "spec.initContainers[0].name", "Duplicate value: \"web\""},
    {"", "Pod", POD, NULL,
     "{'/spec/"
     "initContainers':[{'name':'init','image':'busybox','livenessProbe':{'exec':{'command':['true']}}}]}",
     "spec.initContainers[0].livenessProbe",
     "Forbidden: may not be set for init containers without restartPolicy=Always"},
    {"", "Pod", POD, NULL,
     "{'/spec/initContainers':[{'name':'init','image':'busybox','restartPolicy':'Always',"
     "'livenessProbe':{'exec':{'command':['true']}}}]}",
     NULL, NULL},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/restartPolicy':'Always'}",
     "spec.containers[0].restartPolicy", "Forbidden: may not be set for non-init containers"},
    {"", "Pod", POD, NULL, "{'/spec/volumes/1':{'name':'data','emptyDir':{}}}", "spec.volumes[1].name",
     "Duplicate value: \"data\""},
    {"", "Pod", POD, NULL, "{'/spec/volumes/0/name':'Data'}", "spec.volumes[0].name",
     "Invalid value: \"Data\": " M_LABEL},
    {"", "Pod", POD, NULL, "{'/spec/volumes/0/name':'Data'}", "spec.containers[0].volumeMounts[0].name",
     "Not found: \"data\""},
    {"", "Pod", POD, NULL, "{'/spec/volumes':[]}", "spec.containers[0].volumeMounts[0].name",
     "Not found: \"data\""},
    {"", "Pod", POD, NULL, "{'/spec/volumes/0':{'name':'data'}}", "spec.volumes[0]",
     "Required value: must specify a volume type"},
    {"", "Pod", POD, NULL, "{'/spec/volumes/0/hostPath':{'path':'/tmp'}}", "spec.volumes[0].hostPath",
     "Forbidden: may not specify more than 1 volume type"},
    {"", "Pod", POD, NULL, "{'/spec/volumes/0':{'name':'data','configMap':{}}}",
     "spec.volumes[0].configMap.name", "Required value"},
    {"", "Pod", POD, NULL, "{'/spec/volumes/0':{'name':'data','hostPath':{'path':'/a/../etc'}}}",
     "spec.volumes[0].hostPath.path", "Invalid value: \"/a/../etc\": must not contain '..'"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/volumeMounts/0/mountPath':''}",
     "spec.containers[0].volumeMounts[0].mountPath", "Required value"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/volumeMounts/1':{'name':'data','mountPath':'/data'}}",
     "spec.containers[0].volumeMounts[1].mountPath", "Invalid value: \"/data\": must be unique"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/volumeMounts/0/subPath':'/abs'}",
     "spec.containers[0].volumeMounts.subPath", "Invalid value: \"/abs\": must be a relative path"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/resources/requests/cpu':'2'}",
     "spec.containers[0].resources.requests",
     "Invalid value: \"2\": must be less than or equal to cpu limit of 1"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/resources/requests/cpu':'1500m'}",
     "spec.containers[0].resources.requests",
     "Invalid value: \"1500m\": must be less than or equal to cpu limit of 1"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/resources/requests/memory':'0.25Gi'}",
     "spec.containers[0].resources.requests",
     "Invalid value: \"256Mi\": must be less than or equal to memory limit of 128Mi"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/resources/requests/cpu':'1000m'}", NULL, NULL},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/resources/limits/cpu':'-1'}",
     "spec.containers[0].resources.limits[cpu]", "Invalid value: \"-1\": must be greater than or equal to 0"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/resources/limits/gpu':'1'}",
     "spec.containers[0].resources.limits[gpu]",
     "Invalid value: \"gpu\": must be a standard resource for containers"},
    {"", "Pod", POD, NULL, "{'/spec/containers/0/resources/requests/example.com~1gpu':'1'}",
     "spec.containers[0].resources.limits",
     "Required value: Limit must be set for non overcommitable resources"},
    {"", "Pod", POD, NULL, "{'/spec/restartPolicy':'Sometimes'}", "spec.restartPolicy",
     "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""},
    {"", "Pod", POD, NULL, "{'/spec/dnsPolicy':'Google'}", "spec.dnsPolicy",
     "Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", "
     "\"Default\", \"None\""},
    {"", "Pod", POD, NULL, "{'/spec/restartPolicy':''}", "spec.restartPolicy", "Required value"},
    {"", "Pod", POD, NULL, "{'/spec/nodeName':'Node_1'}", "spec.nodeName",
     "Invalid value: \"Node_1\": " M_SUBDOMAIN},
    {"", "Pod", POD, NULL, "{'/spec/activeDeadlineSeconds':0}", "spec.activeDeadlineSeconds",
     "Invalid value: 0: must be between 1 and 2147483647, inclusive"},
    {"", "Pod", POD, NULL, "{'/spec/tolerations/0/effect':'NoSchedule'}", "spec.tolerations[0].effect",
     "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"},
    {"", "Pod", POD, NULL, "{'/spec/tolerations/1':{'operator':'Equal','value':'x'}}",
     "spec.tolerations[1].operator",
     "Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values "
     "and all keys\""},
    {"", "Pod", POD, NULL, "{'/spec/hostNetwork':true,'/spec/containers/0/ports/0/hostPort':81}",
     "spec.containers[0].ports[0].hostPort",
     "Invalid value: 81: must match `containerPort` when `hostNetwork` is true"},
    {"", "Pod", POD, NULL, "{'/spec/ephemeralContainers':[{'name':'dbg','image':'busybox'}]}",
     "spec.ephemeralContainers", "Forbidden: cannot be set on create"},

    /* ---- pod updates ---- */
    {"", "Pod", POD, "{}", "{'/spec/containers/0/image':'nginx:1.27'}", NULL, NULL},
    {"", "Pod", POD, "{}", "{'/spec/nodeName':'node-1'}", NULL, NULL},
    {"", "Pod", POD, "{'/spec/nodeName':'node-1'}", "{'/spec/nodeName':'node-2'}", "spec",
     M_POD_UPDATE "..."},
    {"", "Pod", POD, "{}", "{'/spec/hostname':'other'}", "spec", M_POD_UPDATE "..."},
    {"", "Pod", POD, "{}", "{'/spec/containers/0/resources/limits/cpu':'2'}", "spec", M_POD_UPDATE "..."},
    {"", "Pod", POD, "{}", "{'/spec/containers/1':{'name':'side','image':'busybox'}}", "spec.containers",
     "Forbidden: pod updates may not add or remove containers"},
    {"", "Pod", POD, "{}", "{'/spec/containers/0/image':''}", "spec.containers[0].image", "Required value"},
    {"", "Pod", POD, "{}", "{'/spec/activeDeadlineSeconds':30}", NULL, NULL},
    {"", "Pod", POD, "{'/spec/activeDeadlineSeconds':30}", "{'/spec/activeDeadlineSeconds':60}",
     "spec.activeDeadlineSeconds", "Invalid value: 60: must be less than or equal to previous value"},
    {"", "Pod", POD, "{}", "{'/spec/tolerations/1':{'key':'new','operator':'Exists'}}", NULL, NULL},
    {"", "Pod", POD, "{}", "{'/spec/tolerations/0/tolerationSeconds':60}", NULL, NULL},
    {"", "Pod", POD, "{}", "{'/spec/tolerations':[]}", "spec.tolerations",
     "Forbidden: existing toleration can not be modified except its tolerationSeconds"},
    {"", "Pod", POD, "{'/spec/terminationGracePeriodSeconds':-1}",
     "{'/spec/terminationGracePeriodSeconds':1}", NULL, NULL},
    {"", "Pod", POD, "{'/spec/schedulingGates':[{'name':'a'}]}", "{'/spec/schedulingGates':[{'name':'b'}]}",
     "spec.schedulingGates[0].name",
     "Forbidden: only deletion is allowed, but found new scheduling gate 'b'"},

    /* ---- services ---- */
    {"", "Service", SVC, NULL, "{}", NULL, NULL},
    {"", "Service", SVC, NULL, "{'/spec/ports':[]}", "spec.ports", "Required value"},
    {"", "Service", SVC, NULL, "{'/spec/ports/0/port':0}", "spec.ports[0].port",
     "Invalid value: 0: must be between 1 and 65535, inclusive"},
    {"", "Service", SVC, NULL, "{'/spec/ports/1':{'port':443,'protocol':'TCP'}}", "spec.ports[1].name",
     "Required value"},
    {"", "Service", SVC, NULL,
     "{'/spec/ports/0/name':'web','/spec/ports/1':{'name':'web','port':443,'protocol':'TCP'}}",
     "spec.ports[1].name", "Duplicate value: \"web\""},
    {"", "Service", SVC, NULL, "{'/spec/ports/0/name':'Web'}", "spec.ports[0].name",
     "Invalid value: \"Web\": " M_LABEL},
    {"", "Service", SVC, NULL, "{'/spec/ports/0/targetPort':0}", "spec.ports[0].targetPort",
     "Invalid value: 0: must be between 1 and 65535, inclusive"},
    {"", "Service", SVC, NULL, "{'/spec/ports/0/targetPort':'Http'}", "spec.ports[0].targetPort",
     "Invalid value: \"Http\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
    {"", "Service", SVC, NULL, "{'/spec/ports/0/targetPort':'http'}", NULL, NULL},
    {"", "Service", SVC, NULL,
     "{'/spec/ports/1':{'name':'b','port':80,'protocol':'TCP'},'/spec/ports/0/name':'a'}", "spec.ports[1]",
     "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, "
     "TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}"},
    {"", "Service", SVC, NULL, "{'/spec/ports/0/nodePort':30080}", "spec.ports[0].nodePort",
     "Forbidden: may not be used when `type` is 'ClusterIP'"},
    {"", "Service", SVC, NULL, "{'/spec/type':'NodePort','/spec/ports/0/nodePort':30080}", NULL, NULL},
    {"", "Service", SVC, NULL, "{'/spec/type':'ExternalName','/spec/ports':[],'/spec/selector':null}",
     "spec.externalName", "Required value"},
    {"", "Service", SVC, NULL, "{'/spec/type':'ExternalName','/spec/externalName':'db.example.com.'}", NULL,
     NULL},
    {"", "Service", SVC, NULL, "{'/spec/type':'ExternalName','/spec/externalName':'Bad_Host'}",
     "spec.externalName", "Invalid value: \"Bad_Host\": " M_SUBDOMAIN},
    {"", "Service", SVC, NULL, "{'/spec/clusterIP':'None','/spec/clusterIPs':['None'],'/spec/ports':[]}",
     NULL, NULL},
    {"", "Service", SVC, NULL, "{'/spec/clusterIP':'10.96.0.300'}", "spec.clusterIPs[0]",
     "Invalid value: \"10.96.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"},
    {"", "Service", SVC_IP, "{}", "{'/spec/clusterIP':'10.96.0.6'}", "spec.clusterIPs[0]",
     "Invalid value: []string{\"10.96.0.6\"}: may not change once set"},
    {"", "Service", SVC_IP, "{}", "{'/spec/clusterIP':'10.96.0.6','/spec/clusterIPs':null}",
     "spec.clusterIPs[0]", "Invalid value: []string(nil): primary clusterIP can not be unset"},
    {"", "Service", SVC_IP, "{}", "{'/spec/clusterIP':'10.96.0.6','/spec/clusterIPs':null}",
     "spec.clusterIPs", "Required value"},
    {"", "Service", SVC_IP, "{}", "{'/spec/clusterIP':'','/spec/clusterIPs':null}", "spec.clusterIPs[0]",
     "Invalid value: []string(nil): primary clusterIP can not be unset"},
    {"", "Service", SVC_IP, "{}", "{'/spec/clusterIPs':['10.96.0.7']}", "spec.clusterIPs",
     "Invalid value: []string{\"10.96.0.7\"}: first value must match `clusterIP`"},
    {"", "Service", SVC_IP, "{'/spec/clusterIP':null,'/spec/clusterIPs':null}", "{}", NULL, NULL},
    {"", "Service", SVC_IP, "{}", "{'/spec/clusterIPs':null}", NULL, NULL},
    {"", "Service", SVC_IP, "{}", "{'/spec/ports/0/port':81}", NULL, NULL},
    {"", "Service", SVC, NULL, "{'/spec/loadBalancerSourceRanges':['10.0.0.0/8']}",
     "spec.LoadBalancerSourceRanges", "Forbidden: may only be used when `type` is 'LoadBalancer'"},

    /* ---- persistent volume claims ---- */
    {"", "PersistentVolumeClaim", PVC, NULL, "{}", NULL, NULL},
    {"", "PersistentVolumeClaim", PVC, NULL, "{'/spec/accessModes':[]}", "spec.accessModes",
     "Required value: at least 1 access mode is required"},
    {"", "PersistentVolumeClaim", PVC, NULL, "{'/spec/accessModes':['ReadWriteSome']}", "spec.accessModes",
     "Unsupported value: \"ReadWriteSome\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", "
     "\"ReadWriteOnce\", \"ReadWriteOncePod\""},
    {"", "PersistentVolumeClaim", PVC, NULL, "{'/spec/accessModes':['ReadWriteOncePod','ReadWriteOnce']}",
     "spec.accessModes", "Forbidden: may not use ReadWriteOncePod with other access modes"},
    {"", "PersistentVolumeClaim", PVC, NULL, "{'/spec/resources':{}}", "spec.resources[storage]",
     "Required value"},
    {"", "PersistentVolumeClaim", PVC, NULL, "{'/spec/resources/requests/storage':'0'}",
     "spec.resources[storage]", "Invalid value: \"0\": must be greater than zero"},
    {"", "PersistentVolumeClaim", PVC, NULL, "{'/spec/storageClassName':'Fast_SSD'}", "spec.storageClassName",
     "Invalid value: \"Fast_SSD\": " M_SUBDOMAIN},
    {"", "PersistentVolumeClaim", PVC, "{}", "{'/spec/volumeName':'pv-9'}", NULL, NULL},
    {"", "PersistentVolumeClaim", PVC, "{}", "{'/spec/resources/requests/storage':'2Gi'}", "spec",
     "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
     "for bound claims\n..."},
    {"", "PersistentVolumeClaim", PVC, "{}", "{'/spec/accessModes':['ReadWriteMany']}", "spec",
     "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
     "for bound claims\n..."},
    {"", "PersistentVolumeClaim", PVC_BOUND, "{}", "{'/spec/resources/requests/storage':'5Gi'}", NULL, NULL},
    {"", "PersistentVolumeClaim", PVC_BOUND, "{}", "{'/spec/resources/requests/storage':'1Gi'}",
     "spec.resources.requests.storage", "Forbidden: field can not be less than status.capacity"},
    {"", "PersistentVolumeClaim", PVC_BOUND, "{}", "{'/spec/volumeMode':'Block'}", "volumeMode",
     "Invalid value: \"Block\": field is immutable"},

    /* ---- persistent volumes ---- */
    {"", "PersistentVolume", PV, NULL, "{}", NULL, NULL},
    {"", "PersistentVolume", PV, NULL, "{'/spec/capacity':null}", "spec.capacity", "Required value"},
    {"", "PersistentVolume", PV, NULL, "{'/spec/capacity':null}", "spec.capacity",
     "Unsupported value: core.ResourceList(nil): supported values: \"storage\""},
    {"", "PersistentVolume", PV, NULL, "{'/spec/capacity/storage':'0'}", "spec.capacity[storage]",
     "Invalid value: \"0\": must be greater than zero"},
    {"", "PersistentVolume", PV, NULL, "{'/spec/accessModes':null}", "spec.accessModes", "Required value"},
    {"", "PersistentVolume", PV, NULL, "{'/spec/hostPath':null}", "spec",
     "Required value: must specify a volume type"},
    {"", "PersistentVolume", PV, NULL, "{'/spec/nfs':{'server':'nfs.local','path':'/x'}}", "spec.nfs",
     "Forbidden: may not specify more than 1 volume type"},
    {"", "PersistentVolume", PV, NULL, "{'/spec/hostPath':null,'/spec/local':{'path':'/mnt/disk'}}",
     "spec.nodeAffinity", "Required value: Local volume requires node affinity"},
    {"", "PersistentVolume", PV, NULL, "{'/spec/persistentVolumeReclaimPolicy':'Keep'}",
     "spec.persistentVolumeReclaimPolicy",
     "Unsupported value: \"Keep\": supported values: \"Delete\", \"Recycle\", \"Retain\""},
    {"", "PersistentVolume", PV, NULL,
     "{'/spec/hostPath/path':'/','/spec/persistentVolumeReclaimPolicy':'Recycle'}",
     "spec.persistentVolumeReclaimPolicy", "Forbidden: may not be 'recycle' for a hostPath mount of '/'"},
    {"", "PersistentVolume", PV, "{}", "{'/spec/hostPath/path':'/mnt/other'}", "spec.persistentvolumesource",
     "Forbidden: spec.persistentvolumesource is immutable after creation\n..."},
    {"", "PersistentVolume", PV, "{}",
     "{'/spec/capacity/storage':'10Gi','/spec/persistentVolumeReclaimPolicy':'Delete'}", NULL, NULL},

    /* ---- kinds without rules ---- */
    {"", "ConfigMap", "{'metadata':{'name':'x'},'data':{'a':'b'}}", NULL, "{}", NULL, NULL},
};

static bool msg_matches(const char *want, const char *got)
{
    size_t n = strlen(want);
    if (n >= 3 && !strcmp(want + n - 3, "...")) return !strncmp(want, got, n - 3);
    return !strcmp(want, got);
}

static char *dump_causes(const kc_err *err)
{
    return err->causes ? json_dumps(err->causes, JSON_INDENT(1)) : strdup("(none)");
}

static void run_case(size_t i, const vcase *c)
{
    int res = kc_resource_by_kind(c->group, c->kind);
    cr_assert_geq(res, 0, "case %zu: unknown kind %s", i, c->kind);
    json_t *nw = make(c->base, c->set), *old = c->old ? make(c->base, c->old) : NULL;
    json_t *before = json_deep_copy(nw);
    kc_err err = KC_ERR_INIT;
    int rc = kc_validate_kind(res, nw, old, &err);
    char *got = dump_causes(&err);
    cr_expect(json_equal(before, nw), "case %zu: the object was modified", i);
    if (!c->field) {
        cr_expect_eq(rc, 0, "case %zu (%s %s): expected valid, got %s", i, c->kind, c->set, got);
    } else {
        bool found = false;
        size_t k;
        json_t *cs;
        json_array_foreach(err.causes, k, cs) found |=
            !strcmp(json_string_value(json_object_get(cs, "field")), c->field) &&
            msg_matches(c->msg, json_string_value(json_object_get(cs, "message")));
        cr_expect_eq(rc, -1, "case %zu (%s %s): expected invalid", i, c->kind, c->set);
        cr_expect_eq(err.reason, KC_EINVALID, "case %zu: reason", i);
        cr_expect(found, "case %zu (%s %s): want %s: %s\ngot %s", i, c->kind, c->set, c->field, c->msg, got);
    }
    free(got);
    kc_err_release(&err);
    json_decref(nw);
    json_decref(old);
    json_decref(before);
}

Test(validation, table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(i, &cases[i]);
}

/* The causes carry the right reason for their message type. */
Test(validation, reasons)
{
    static const struct {
        const char *set, *field, *reason;
    } want[] = {
        {"{'/spec/containers/0/image':null}", "spec.containers[0].image", "FieldValueRequired"},
        {"{'/spec/containers/0/name':'A'}", "spec.containers[0].name", "FieldValueInvalid"},
        {"{'/spec/restartPolicy':'X'}", "spec.restartPolicy", "FieldValueNotSupported"},
        {"{'/spec/volumes':[]}", "spec.containers[0].volumeMounts[0].name", "FieldValueNotFound"},
        {"{'/spec/containers/1':{'name':'web','image':'x'}}", "spec.containers[1].name",
         "FieldValueDuplicate"},
        {"{'/spec/containers/0/restartPolicy':'Always'}", "spec.containers[0].restartPolicy",
         "FieldValueForbidden"},
    };
    int res = kc_resource_by_kind("", "Pod");
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *pod = make(POD, want[i].set);
        kc_err err = KC_ERR_INIT;
        kc_validate_kind(res, pod, NULL, &err);
        const char *reason = NULL;
        size_t k;
        json_t *c;
        json_array_foreach(err.causes, k,
                           c) if (!strcmp(json_string_value(json_object_get(c, "field")), want[i].field))
            reason = json_string_value(json_object_get(c, "reason"));
        cr_expect_str_eq(reason ? reason : "(none)", want[i].reason, "%s", want[i].set);
        kc_err_release(&err);
        json_decref(pod);
    }
}

/* A cause the field schema already reported is not repeated; the message is left alone. */
Test(validation, no_duplicate_causes)
{
    int res = kc_resource_by_kind("apps", "Deployment");
    json_t *d = make(DEPLOY, "{'/spec/selector':null}");
    kc_err err = KC_ERR_INIT;
    kc_err_cause(&err, "FieldValueRequired", "spec.selector", "Required value");
    cr_assert_eq(kc_validate_kind(res, d, NULL, &err), -1);
    size_t n = 0, k;
    json_t *c;
    json_array_foreach(err.causes, k, c) n +=
        !strcmp(json_string_value(json_object_get(c, "field")), "spec.selector");
    cr_expect_eq(n, 1, "spec.selector reported %zu times", n);
    cr_expect_str_eq(err.msg, "");
    kc_err_release(&err);
    json_decref(d);
}

/* Every cause of a bad pod is listed, in upstream's order (spec walk order). */
Test(validation, several_causes_in_order)
{
    int res = kc_resource_by_kind("", "Pod");
    json_t *pod = make(POD, "{'/spec/containers/0/name':'','/spec/containers/0/ports/0/name':'testPod',"
                            "'/spec/restartPolicy':'Sometimes'}");
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_validate_kind(res, pod, NULL, &err), -1);
    const char *fields[] = {"spec.containers[0].name", "spec.containers[0].ports[0].name",
                            "spec.restartPolicy"};
    cr_assert_eq(kc_err_ncauses(&err), 3, "%s", json_dumps(err.causes, 0));
    for (size_t i = 0; i < 3; i++)
        cr_expect_str_eq(json_string_value(json_object_get(json_array_get(err.causes, i), "field")),
                         fields[i]);
    kc_err_release(&err);
    json_decref(pod);
}

Test(validation, missing_spec_and_bad_res)
{
    kc_err err = KC_ERR_INIT;
    json_t *pod = J("{'metadata':{'name':'p'}}");
    cr_expect_eq(kc_validate_kind(-1, pod, NULL, &err), 0);
    cr_expect_eq(kc_validate_kind(kc_resource_by_kind("", "Pod"), pod, NULL, &err), -1);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(err.causes, 0), "field")),
                     "spec.containers");
    cr_expect_null(json_object_get(pod, "spec"));
    kc_err_release(&err);
    json_decref(pod);
}

/* ---- quantities ---- */

Test(quantity, canonical)
{
    static const char *const cases[][2] = {
        {"1500m", "1500m"},   {"1.5", "1500m"},   {"2000m", "2"},         {"1024Mi", "1Gi"},
        {"1000Mi", "1000Mi"}, {"0.5Gi", "512Mi"}, {"1e3", "1e3"},         {"12e2", "1200"},
        {"0", "0"},           {"100Ki", "100Ki"}, {"1536", "1536"},       {"1.5Ki", "1536"},
        {"-1", "-1"},         {"1n", "1n"},       {"0.1n", "1n"},         {"5G", "5G"},
        {"1000k", "1M"},      {"+7", "7"},        {"0.001", "1m"},        {"1000000u", "1"},
        {"512", "512"},       {"1Ki", "1Ki"},     {"0.5", "500m"},        {"10E", "10E"},
        {"2048Ei", "2048Ei"}, {"100M", "100M"},   {"1.25e1", "12500e-3"}, {"-1.5Gi", "-1536Mi"},
        {"0Mi", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kc_quantity q;
        char out[64];
        cr_assert_eq(kc_quantity_parse(cases[i][0], &q), 0, "parse %s", cases[i][0]);
        kc_quantity_string(&q, out, sizeof out);
        cr_expect_str_eq(out, cases[i][1], "%s", cases[i][0]);
    }
}

Test(quantity, invalid)
{
    static const char *const bad[] = {"",  "-",  "abc",   "1.2.3", "1Qi", "1 Gi", "Gi",
                                      ".", "1e", "1e3.5", "--1",   "1ki", "1e 3", "1e+"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kc_quantity q;
        cr_expect_eq(kc_quantity_parse(bad[i], &q), -1, "%s", bad[i]);
    }
}

Test(quantity, compare_and_value)
{
    static const struct {
        const char *a, *b;
        int cmp;
    } cases[] = {
        {"1Gi", "1G", 1},  {"1000m", "1", 0},
        {"-1", "0", -1},   {"1Ki", "1024", 0},
        {"1e3", "1k", 0},  {"0.1", "99m", 1},
        {"1E", "1Ei", -1}, {"-2", "-1", -1},
        {"1n", "0", 1},    {"100Gi", "107374182400", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kc_quantity a, b;
        cr_assert_eq(kc_quantity_parse(cases[i].a, &a), 0);
        cr_assert_eq(kc_quantity_parse(cases[i].b, &b), 0);
        int c = kc_quantity_cmp(&a, &b);
        cr_expect_eq(c < 0 ? -1 : c > 0, cases[i].cmp, "%s vs %s", cases[i].a, cases[i].b);
        c = kc_quantity_cmp(&b, &a);
        cr_expect_eq(c < 0 ? -1 : c > 0, -cases[i].cmp, "%s vs %s", cases[i].b, cases[i].a);
    }
    kc_quantity q;
    kc_quantity_parse("1500m", &q);
    cr_expect_eq(kc_quantity_value(&q), 2);
    kc_quantity_parse("-1500m", &q);
    cr_expect_eq(kc_quantity_value(&q), -1);
    kc_quantity_parse("1Gi", &q);
    cr_expect_eq(kc_quantity_value(&q), 1073741824);
    kc_quantity_parse("100E", &q);
    cr_expect_eq(kc_quantity_value(&q), INT64_MAX);
    json_t *n = json_integer(3);
    cr_expect_eq(kc_quantity_from_json(n, &q), 0);
    cr_expect_eq(kc_quantity_value(&q), 3);
    json_decref(n);
}
