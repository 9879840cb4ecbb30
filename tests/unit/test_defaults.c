/* Defaulting: each case is a request body and the object a v1.32 API server holds after
 * defaulting it (written by hand from pkg/apis/{core,apps,batch,...}/v1/defaults.go, the
 * generated SetObjectDefaults_* and the Go encoder's zero values). Server-owned metadata (uid,
 * creationTimestamp), status the registry strategies reset on create, ClusterIP / NodePort
 * allocation and admission plugins (service account volume, tolerations, priority) are not
 * defaulting and not part of the expected objects. Test JSON uses ' for " to stay readable. */
#include "api/defaults.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static json_t *js(const char *text)
{
    char *s = strdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    cr_assert(v, "bad test JSON: %s: %s", e.text, s);
    free(s);
    return v;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
}

typedef struct tcase {
    const char *name;
    const char *type;
    const char *in;
    const char *want;
} tcase;

/* Applies defaults, compares with want, then checks a second pass changes nothing. */
static void run(const tcase *c)
{
    const kc_type *t = kc_schema_type(c->type);
    cr_assert(t, "%s: unknown type %s", c->name, c->type);
    json_t *got = js(c->in), *want = js(c->want);
    kc_defaults_apply(t, got);
    char *g = dump(got), *w = dump(want);
    cr_expect(json_equal(got, want), "%s:\n got: %s\nwant: %s", c->name, g, w);
    json_t *again = json_deep_copy(got);
    kc_defaults_apply(t, again);
    char *a = dump(again);
    cr_expect(json_equal(got, again), "%s: not idempotent:\n 1st: %s\n 2nd: %s", c->name, g, a);
    free(g), free(w), free(a);
    json_decref(got), json_decref(want), json_decref(again);
}

static void run_all(const tcase *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run(&cases[i]);
}

#define RUN(cases) run_all(cases, sizeof cases / sizeof *cases)

/* The pod template defaults every workload shows (SetDefaults_PodSpec, no enableServiceLinks). */
#define TEMPLATE_SPEC_DEFAULTS                                                                               \
    "'dnsPolicy':'ClusterFirst','restartPolicy':'Always','schedulerName':'default-scheduler',"               \
    "'securityContext':{},'terminationGracePeriodSeconds':30"
#define CONTAINER_DEFAULTS                                                                                   \
    "'resources':{},'terminationMessagePath':'/dev/termination-log','terminationMessagePolicy':'File'"

Test(defaults, workloads)
{
    static const tcase cases[] = {
        {"minimal deployment", "apps/v1.Deployment",
         "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','labels':{'app':'web'}},"
         "'spec':{'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':{'labels':{'app':'web'}},"
         "'spec':{'containers':[{'name':'nginx','image':'nginx:1.27','ports':[{'containerPort':80}]}]}}}}",
         "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','labels':{'app':'web'}},"
         "'spec':{'replicas':1,'selector':{'matchLabels':{'app':'web'}},"
         "'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':'25%','maxSurge':'25%'}},"
         "'revisionHistoryLimit':10,'progressDeadlineSeconds':600,"
         "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'nginx',"
         "'image':'nginx:1.27','imagePullPolicy':'IfNotPresent','ports':[{'containerPort':80,'protocol':'TCP'"
         "}]," CONTAINER_DEFAULTS "}]," TEMPLATE_SPEC_DEFAULTS "}}},'status':{}}"},
        {"deployment keeps user values", "apps/v1.Deployment",
         "{'metadata':{'name':'d'},'spec':{'replicas':0,'revisionHistoryLimit':0,'progressDeadlineSeconds':"
         "30,"
         "'strategy':{'type':'Recreate'},'template':{'spec':{'restartPolicy':'Always','dnsPolicy':'Default',"
         "'terminationGracePeriodSeconds':0,'schedulerName':'mine','securityContext':{'runAsUser':1000},"
         "'containers':[{'name':'c','image':'busybox','imagePullPolicy':'Never',"
         "'terminationMessagePolicy':'FallbackToLogsOnError','resources':{'limits':{'cpu':'1'}}}]}}}}",
         "{'metadata':{'name':'d'},'spec':{'replicas':0,'revisionHistoryLimit':0,'progressDeadlineSeconds':"
         "30,"
         "'strategy':{'type':'Recreate'},'template':{'metadata':{},'spec':{'restartPolicy':'Always',"
         "'dnsPolicy':'Default','terminationGracePeriodSeconds':0,'schedulerName':'mine',"
         "'securityContext':{'runAsUser':1000},'containers':[{'name':'c','image':'busybox',"
         "'imagePullPolicy':'Never','terminationMessagePolicy':'FallbackToLogsOnError',"
         "'terminationMessagePath':'/dev/"
         "termination-log','resources':{'limits':{'cpu':'1'}}}]}}},'status':{}}"},
        {"deployment partial rolling update", "apps/v1.Deployment",
         "{'metadata':{'name':'d'},'spec':{'strategy':{'rollingUpdate':{'maxSurge':1}},"
         "'template':{'spec':{'containers':[{'name':'c','image':'busybox'}]}}}}",
         "{'metadata':{'name':'d'},'spec':{'replicas':1,'revisionHistoryLimit':10,'progressDeadlineSeconds':"
         "600,"
         "'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':1,'maxUnavailable':'25%'}},"
         "'template':{'metadata':{},'spec':{'containers':[{'name':'c','image':'busybox',"
         "'imagePullPolicy':'Always'," CONTAINER_DEFAULTS "}]," TEMPLATE_SPEC_DEFAULTS "}}},'status':{}}"},
        {"statefulset with volumeClaimTemplates", "apps/v1.StatefulSet",
         "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db'},'spec':{'serviceName':'db',"
         "'selector':{'matchLabels':{'app':'db'}},'template':{'metadata':{'labels':{'app':'db'}},"
         "'spec':{'containers':[{'name':'pg','image':'postgres:16','volumeMounts':[{'name':'data',"
         "'mountPath':'/var/lib/postgresql'}]}]}},'volumeClaimTemplates':[{'metadata':{'name':'data'},"
         "'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'1Gi'}}}}]}}",
         "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db'},'spec':{'serviceName':'db',"
         "'replicas':1,'podManagementPolicy':'OrderedReady','revisionHistoryLimit':10,"
         "'updateStrategy':{'type':'RollingUpdate','rollingUpdate':{'partition':0}},"
         "'persistentVolumeClaimRetentionPolicy':{'whenDeleted':'Retain','whenScaled':'Retain'},"
         "'selector':{'matchLabels':{'app':'db'}},'template':{'metadata':{'labels':{'app':'db'}},"
         "'spec':{'containers':[{'name':'pg','image':'postgres:16','imagePullPolicy':'IfNotPresent',"
         "'volumeMounts':[{'name':'data','mountPath':'/var/lib/postgresql'}]," CONTAINER_DEFAULTS
         "}]," TEMPLATE_SPEC_DEFAULTS
         "}},'volumeClaimTemplates':[{'apiVersion':'v1','kind':'PersistentVolumeClaim',"
         "'metadata':{'name':'data'},'spec':{'accessModes':['ReadWriteOnce'],"
         "'resources':{'requests':{'storage':'1Gi'}},'volumeMode':'Filesystem'},'status':{'phase':'Pending'}}"
         "]},"
         "'status':{'replicas':0,'availableReplicas':0}}"},
        {"statefulset OnDelete and explicit RollingUpdate", "apps/v1.StatefulSet",
         "{'metadata':{'name':'s'},'spec':{'serviceName':'','updateStrategy':{'type':'OnDelete'},"
         "'persistentVolumeClaimRetentionPolicy':{'whenDeleted':'Delete'},"
         "'volumeClaimTemplates':[{'apiVersion':'v9','metadata':{'name':'x'},'spec':{'volumeMode':'Block'}}],"
         "'template':{'spec':{'containers':[{'name':'c','image':'c'}]}}}}",
         "{'metadata':{'name':'s'},'spec':{'serviceName':'','replicas':1,'podManagementPolicy':'OrderedReady'"
         ","
         "'revisionHistoryLimit':10,'updateStrategy':{'type':'OnDelete'},"
         "'persistentVolumeClaimRetentionPolicy':{'whenDeleted':'Delete','whenScaled':'Retain'},"
         "'volumeClaimTemplates':[{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'x'},"
         "'spec':{'volumeMode':'Block','resources':{}},'status':{'phase':'Pending'}}],"
         "'template':{'metadata':{},'spec':{'containers':[{'name':'c','image':'c','imagePullPolicy':'Always'"
         "," CONTAINER_DEFAULTS "}]," TEMPLATE_SPEC_DEFAULTS
         "}}},'status':{'replicas':0,'availableReplicas':0}}"},
        {"daemonset", "apps/v1.DaemonSet",
         "{'metadata':{'name':'agent'},'spec':{'selector':{'matchLabels':{'app':'agent'}},"
         "'template':{'metadata':{'labels':{'app':'agent'}},'spec':{'hostNetwork':true,"
         "'containers':[{'name':'a','image':'registry.k8s.io/"
         "agent:v1','ports':[{'containerPort':9100}]}]}}}}",
         "{'metadata':{'name':'agent'},'spec':{'selector':{'matchLabels':{'app':'agent'}},"
         "'updateStrategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':1,'maxSurge':0}},"
         "'revisionHistoryLimit':10,'template':{'metadata':{'labels':{'app':'agent'}},'spec':{'hostNetwork':"
         "true,"
         "'containers':[{'name':'a','image':'registry.k8s.io/agent:v1','imagePullPolicy':'IfNotPresent',"
         "'ports':[{'containerPort':9100,'protocol':'TCP'}]," CONTAINER_DEFAULTS "}]," TEMPLATE_SPEC_DEFAULTS
         "}}},'status':{'currentNumberScheduled':0,'numberMisscheduled':0,'desiredNumberScheduled':0,"
         "'numberReady':0}}"},
        {"replicaset", "apps/v1.ReplicaSet",
         "{'metadata':{'name':'r'},'spec':{'template':{'spec':{'containers':[{'name':'c','image':'c:1'}]}}}}",
         "{'metadata':{'name':'r'},'spec':{'replicas':1,'template':{'metadata':{},'spec':{'containers':[{"
         "'name':'c','image':'c:1','imagePullPolicy':'IfNotPresent'," CONTAINER_DEFAULTS
         "}]," TEMPLATE_SPEC_DEFAULTS "}}},'status':{'replicas':0}}"},
        {"job", "batch/v1.Job",
         "{'metadata':{'name':'pi'},'spec':{'template':{'metadata':{'labels':{'app':'pi'}},'spec':{"
         "'restartPolicy':'Never','containers':[{'name':'pi','image':'perl:5.34'}]}}}}",
         "{'metadata':{'name':'pi','labels':{'app':'pi'}},'spec':{'completions':1,'parallelism':1,"
         "'backoffLimit':6,'completionMode':'NonIndexed','suspend':false,'manualSelector':false,"
         "'podReplacementPolicy':'TerminatingOrFailed','template':{'metadata':{'labels':{'app':'pi'}},"
         "'spec':{'restartPolicy':'Never','containers':[{'name':'pi','image':'perl:5.34',"
         "'imagePullPolicy':'IfNotPresent'," CONTAINER_DEFAULTS "}],'dnsPolicy':'ClusterFirst',"
         "'schedulerName':'default-scheduler','securityContext':{},'terminationGracePeriodSeconds':30}}},"
         "'status':{}}"},
        {"job parallel with pod failure policy", "batch/v1.Job",
         "{'metadata':{'name':'j','labels':{'x':'y'}},'spec':{'parallelism':3,'backoffLimitPerIndex':1,"
         "'completionMode':'Indexed','completions':3,'podFailurePolicy':{'rules':[{'action':'Ignore',"
         "'onPodConditions':[{'type':'DisruptionTarget'}]}]},'template':{'metadata':{'labels':{'a':'b'}},"
         "'spec':{'restartPolicy':'Never','containers':[{'name':'c','image':'c:2'}]}}}}",
         "{'metadata':{'name':'j','labels':{'x':'y'}},'spec':{'parallelism':3,'completions':3,"
         "'backoffLimitPerIndex':1,'backoffLimit':2147483647,'completionMode':'Indexed','suspend':false,"
         "'manualSelector':false,'podReplacementPolicy':'Failed','podFailurePolicy':{'rules':[{'action':'"
         "Ignore',"
         "'onPodConditions':[{'type':'DisruptionTarget','status':'True'}]}]},'template':{'metadata':{"
         "'labels':{'a':'b'}},'spec':{'restartPolicy':'Never','containers':[{'name':'c','image':'c:2',"
         "'imagePullPolicy':'IfNotPresent'," CONTAINER_DEFAULTS "}],'dnsPolicy':'ClusterFirst',"
         "'schedulerName':'default-scheduler','securityContext':{},'terminationGracePeriodSeconds':30}}},"
         "'status':{}}"},
        {"cronjob: Job defaults stay off the jobTemplate", "batch/v1.CronJob",
         "{'metadata':{'name':'c'},'spec':{'schedule':'*/5 * * * *','jobTemplate':{'spec':{'template':{"
         "'spec':{'restartPolicy':'OnFailure','containers':[{'name':'c','image':'busybox:1.36'}]}}}}}}",
         "{'metadata':{'name':'c'},'spec':{'schedule':'*/5 * * * *','concurrencyPolicy':'Allow',"
         "'suspend':false,'successfulJobsHistoryLimit':3,'failedJobsHistoryLimit':1,'jobTemplate':{"
         "'metadata':{},'spec':{'template':{'metadata':{},'spec':{'restartPolicy':'OnFailure',"
         "'containers':[{'name':'c','image':'busybox:1.36','imagePullPolicy':'IfNotPresent'"
         "," CONTAINER_DEFAULTS "}],'dnsPolicy':'ClusterFirst','schedulerName':'default-scheduler',"
         "'securityContext':{},'terminationGracePeriodSeconds':30}}}}},'status':{}}"},
        {"replicationcontroller", "core/v1.ReplicationController",
         "{'metadata':{'name':'rc'},'spec':{'template':{'metadata':{'labels':{'app':'x'}},"
         "'spec':{'containers':[{'name':'c','image':'c'}]}}}}",
         "{'metadata':{'name':'rc','labels':{'app':'x'}},'spec':{'replicas':1,'selector':{'app':'x'},"
         "'template':{'metadata':{'labels':{'app':'x'}},'spec':{'containers':[{'name':'c','image':'c',"
         "'imagePullPolicy':'Always'," CONTAINER_DEFAULTS "}]," TEMPLATE_SPEC_DEFAULTS "}}},"
         "'status':{'replicas':0}}"},
    };
    RUN(cases);
}

Test(defaults, pods)
{
    static const tcase cases[] = {
        {"pod images, ports, probes, env", "core/v1.Pod",
         "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'containers':["
         "{'name':'latest','image':'nginx:latest','ports':[{'containerPort':80,'name':'http'},"
         "{'containerPort':53,'protocol':'UDP'}],'livenessProbe':{'httpGet':{'port':'http'}},"
         "'readinessProbe':{'tcpSocket':{'port':80},'periodSeconds':5},'startupProbe':{'grpc':{'port':9000}},"
         "'env':[{'name':'NODE','valueFrom':{'fieldRef':{'fieldPath':'spec.nodeName'}}},{'name':'A','value':'"
         "b'}]},"
         "{'name':'tagged','image':'nginx:1.27.3','lifecycle':{'preStop':{'httpGet':{'port':8080,"
         "'path':'/quit'}}},'livenessProbe':{'exec':{'command':['true']},'timeoutSeconds':5,"
         "'failureThreshold':1}},"
         "{'name':'digest','image':'nginx@sha256:"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'},"
         "{'name':'untagged','image':'quay.io/prometheus/node-exporter'}],"
         "'initContainers':[{'name':'init','image':'busybox:latest@sha256:0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef','resources':{'limits':{'cpu':'100m','memory':'64Mi'},"
         "'requests':{'cpu':'50m'}}}]}}",
         "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'containers':["
         "{'name':'latest','image':'nginx:latest','imagePullPolicy':'Always','ports':[{'containerPort':80,"
         "'name':'http','protocol':'TCP'},{'containerPort':53,'protocol':'UDP'}],"
         "'livenessProbe':{'httpGet':{'port':'http','path':'/','scheme':'HTTP'},'timeoutSeconds':1,"
         "'periodSeconds':10,'successThreshold':1,'failureThreshold':3},"
         "'readinessProbe':{'tcpSocket':{'port':80},'timeoutSeconds':1,'periodSeconds':5,'successThreshold':"
         "1,"
         "'failureThreshold':3},'startupProbe':{'grpc':{'port':9000,'service':''},'timeoutSeconds':1,"
         "'periodSeconds':10,'successThreshold':1,'failureThreshold':3},"
         "'env':[{'name':'NODE','valueFrom':{'fieldRef':{'apiVersion':'v1','fieldPath':'spec.nodeName'}}},"
         "{'name':'A','value':'b'}]," CONTAINER_DEFAULTS "},"
         "{'name':'tagged','image':'nginx:1.27.3','imagePullPolicy':'IfNotPresent','lifecycle':{'preStop':{"
         "'httpGet':{'port':8080,'path':'/"
         "quit','scheme':'HTTP'}}},'livenessProbe':{'exec':{'command':['true']},"
         "'timeoutSeconds':5,'periodSeconds':10,'successThreshold':1,'failureThreshold':1}"
         "," CONTAINER_DEFAULTS "},"
         "{'name':'digest','image':'nginx@sha256:"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',"
         "'imagePullPolicy':'IfNotPresent'," CONTAINER_DEFAULTS "},"
         "{'name':'untagged','image':'quay.io/prometheus/"
         "node-exporter','imagePullPolicy':'Always'," CONTAINER_DEFAULTS "}],"
         "'initContainers':[{'name':'init','image':'busybox:latest@sha256:0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef','imagePullPolicy':'Always','resources':{'limits':{'cpu':'100m',"
         "'memory':'64Mi'},'requests':{'cpu':'50m','memory':'64Mi'}},'terminationMessagePath':"
         "'/dev/termination-log','terminationMessagePolicy':'File'}]," TEMPLATE_SPEC_DEFAULTS
         ",'enableServiceLinks':true},'status':{}}"},
        {"pod volumes", "core/v1.Pod",
         "{'metadata':{'name':'v'},'spec':{'containers':[{'name':'c','image':'c:1'}],'volumes':["
         "{'name':'scratch'},{'name':'cm','configMap':{'name':'cfg'}},{'name':'sec','secret':{'secretName':'"
         "s',"
         "'defaultMode':256}},{'name':'host','hostPath':{'path':'/var/"
         "log'}},{'name':'ed','emptyDir':{'medium':"
         "'Memory'}},{'name':'dapi','downwardAPI':{'items':[{'path':'labels','fieldRef':{'fieldPath':"
         "'metadata.labels'}}]}},{'name':'proj','projected':{'sources':[{'serviceAccountToken':{'path':'"
         "token'}},"
         "{'downwardAPI':{'items':[{'path':'ns','fieldRef':{'fieldPath':'metadata.namespace'}}]}}]}},"
         "{'name':'eph','ephemeral':{'volumeClaimTemplate':{'spec':{'accessModes':['ReadWriteOnce'],"
         "'resources':{'requests':{'storage':'1Gi'}}}}}}]}}",
         "{'metadata':{'name':'v'},'spec':{'containers':[{'name':'c','image':'c:1','imagePullPolicy':"
         "'IfNotPresent'," CONTAINER_DEFAULTS "}],'volumes':["
         "{'name':'scratch','emptyDir':{}},{'name':'cm','configMap':{'name':'cfg','defaultMode':420}},"
         "{'name':'sec','secret':{'secretName':'s','defaultMode':256}},{'name':'host','hostPath':{"
         "'path':'/var/log','type':''}},{'name':'ed','emptyDir':{'medium':'Memory'}},{'name':'dapi',"
         "'downwardAPI':{'defaultMode':420,'items':[{'path':'labels','fieldRef':{'apiVersion':'v1',"
         "'fieldPath':'metadata.labels'}}]}},{'name':'proj','projected':{'defaultMode':420,'sources':["
         "{'serviceAccountToken':{'path':'token','expirationSeconds':3600}},{'downwardAPI':{'items':[{"
         "'path':'ns','fieldRef':{'apiVersion':'v1','fieldPath':'metadata.namespace'}}]}}]}},"
         "{'name':'eph','ephemeral':{'volumeClaimTemplate':{'metadata':{},'spec':{'accessModes':"
         "['ReadWriteOnce'],'resources':{'requests':{'storage':'1Gi'}},'volumeMode':'Filesystem'}}}}]"
         "," TEMPLATE_SPEC_DEFAULTS ",'enableServiceLinks':true},'status':{}}"},
        {"pod hostNetwork ports, user spec values kept", "core/v1.Pod",
         "{'metadata':{'name':'h'},'spec':{'hostNetwork':true,'enableServiceLinks':false,'restartPolicy':"
         "'Never','dnsPolicy':'ClusterFirstWithHostNet','containers':[{'name':'c','image':'c','ports':["
         "{'containerPort':8080},{'containerPort':9090,'hostPort':19090}]}]}}",
         "{'metadata':{'name':'h'},'spec':{'hostNetwork':true,'enableServiceLinks':false,'restartPolicy':"
         "'Never','dnsPolicy':'ClusterFirstWithHostNet','schedulerName':'default-scheduler','securityContext'"
         ":{},"
         "'terminationGracePeriodSeconds':30,'containers':[{'name':'c','image':'c','imagePullPolicy':'Always'"
         ","
         "'ports':[{'containerPort':8080,'hostPort':8080,'protocol':'TCP'},{'containerPort':9090,"
         "'hostPort':19090,'protocol':'TCP'}]," CONTAINER_DEFAULTS "}]},'status':{}}"},
        {"pod template: no pod-only defaults", "core/v1.PodTemplate",
         "{'metadata':{'name':'t'},'template':{'spec':{'hostNetwork':true,'containers':[{'name':'c',"
         "'image':'c','ports':[{'containerPort':80}],'resources':{'limits':{'cpu':'1'}}}]}}}",
         "{'metadata':{'name':'t'},'template':{'metadata':{},'spec':{'hostNetwork':true,'containers':[{"
         "'name':'c','image':'c','imagePullPolicy':'Always','ports':[{'containerPort':80,'protocol':'TCP'}],"
         "'resources':{'limits':{'cpu':'1'}},'terminationMessagePath':'/dev/termination-log',"
         "'terminationMessagePolicy':'File'}]," TEMPLATE_SPEC_DEFAULTS "}}}"},
    };
    RUN(cases);
}

Test(defaults, services)
{
    static const tcase cases[] = {
        {"ClusterIP", "core/v1.Service",
         "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web'},'spec':{'selector':{'app':'web'},"
         "'ports':[{'port':80,'targetPort':8080,'name':'http'},{'port':443}]}}",
         "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web'},'spec':{'selector':{'app':'web'},"
         "'ports':[{'port':80,'targetPort':8080,'name':'http','protocol':'TCP'},{'port':443,'protocol':'TCP',"
         "'targetPort':443}],'type':'ClusterIP','sessionAffinity':'None','internalTrafficPolicy':'Cluster',"
         "'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack'},'status':{'loadBalancer':{}}}"},
        {"ClusterIP with a chosen IP and externalIPs", "core/v1.Service",
         "{'metadata':{'name':'s'},'spec':{'clusterIP':'10.96.0.50','externalIPs':['192.0.2.1'],"
         "'selector':{'a':'b'},'ports':[{'port':80,'targetPort':0}]}}",
         "{'metadata':{'name':'s'},'spec':{'clusterIP':'10.96.0.50','clusterIPs':['10.96.0.50'],"
         "'externalIPs':['192.0.2.1'],'selector':{'a':'b'},'ports':[{'port':80,'targetPort':80,"
         "'protocol':'TCP'}],'type':'ClusterIP','sessionAffinity':'None','externalTrafficPolicy':'Cluster',"
         "'internalTrafficPolicy':'Cluster','ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack'},"
         "'status':{'loadBalancer':{}}}"},
        {"NodePort", "core/v1.Service",
         "{'metadata':{'name':'np'},'spec':{'type':'NodePort','selector':{'app':'x'},'ports':[{'port':80,"
         "'targetPort':'http','protocol':'SCTP'}]}}",
         "{'metadata':{'name':'np'},'spec':{'type':'NodePort','selector':{'app':'x'},'ports':[{'port':80,"
         "'targetPort':'http','protocol':'SCTP'}],'sessionAffinity':'None','externalTrafficPolicy':'Cluster',"
         "'internalTrafficPolicy':'Cluster','ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack'},"
         "'status':{'loadBalancer':{}}}"},
        {"LoadBalancer, ClientIP affinity, Local policy kept", "core/v1.Service",
         "{'metadata':{'name':'lb'},'spec':{'type':'LoadBalancer','sessionAffinity':'ClientIP',"
         "'externalTrafficPolicy':'Local','selector':{'a':'b'},'ports':[{'port':443}]},"
         "'status':{'loadBalancer':{'ingress':[{'ip':'203.0.113.7'},{'hostname':'lb.example.com'}]}}}",
         "{'metadata':{'name':'lb'},'spec':{'type':'LoadBalancer','sessionAffinity':'ClientIP',"
         "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':10800}},'externalTrafficPolicy':'Local',"
         "'selector':{'a':'b'},'ports':[{'port':443,'protocol':'TCP','targetPort':443}],"
         "'internalTrafficPolicy':'Cluster','allocateLoadBalancerNodePorts':true,'ipFamilies':['IPv4'],"
         "'ipFamilyPolicy':'SingleStack'},'status':{'loadBalancer':{'ingress':[{'ip':'203.0.113.7',"
         "'ipMode':'VIP'},{'hostname':'lb.example.com'}]}}}"},
        {"headless with selector", "core/v1.Service",
         "{'metadata':{'name':'db'},'spec':{'clusterIP':'None','selector':{'app':'db'},'ports':[{'port':5432}"
         "]}}",
         "{'metadata':{'name':'db'},'spec':{'clusterIP':'None','clusterIPs':['None'],'selector':{'app':'db'},"
         "'ports':[{'port':5432,'protocol':'TCP','targetPort':5432}],'type':'ClusterIP','sessionAffinity':'"
         "None',"
         "'internalTrafficPolicy':'Cluster','ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack'},"
         "'status':{'loadBalancer':{}}}"},
        {"headless without selector", "core/v1.Service",
         "{'metadata':{'name':'ext'},'spec':{'clusterIP':'None','ports':[{'port':80}]}}",
         "{'metadata':{'name':'ext'},'spec':{'clusterIP':'None','clusterIPs':['None'],"
         "'ports':[{'port':80,'protocol':'TCP','targetPort':80}],'type':'ClusterIP','sessionAffinity':'None',"
         "'internalTrafficPolicy':'Cluster','ipFamilies':['IPv4','IPv6'],'ipFamilyPolicy':'RequireDualStack'}"
         ","
         "'status':{'loadBalancer':{}}}"},
        {"ExternalName", "core/v1.Service",
         "{'metadata':{'name':'ext'},'spec':{'type':'ExternalName','externalName':'db.example.com'}}",
         "{'metadata':{'name':'ext'},'spec':{'type':'ExternalName','externalName':'db.example.com',"
         "'sessionAffinity':'None'},'status':{'loadBalancer':{}}}"},
        {"sessionAffinity None drops sessionAffinityConfig", "core/v1.Service",
         "{'metadata':{'name':'s'},'spec':{'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':60}},"
         "'ipFamilyPolicy':'PreferDualStack','ipFamilies':['IPv4'],'internalTrafficPolicy':'Local',"
         "'selector':{'a':'b'},'ports':[{'port':1}]}}",
         "{'metadata':{'name':'s'},'spec':{'sessionAffinity':'None','type':'ClusterIP','ipFamilyPolicy':"
         "'PreferDualStack','ipFamilies':['IPv4'],'internalTrafficPolicy':'Local','selector':{'a':'b'},"
         "'ports':[{'port':1,'protocol':'TCP','targetPort':1}]},'status':{'loadBalancer':{}}}"},
        {"IPv6 clusterIP infers the family", "core/v1.Service",
         "{'metadata':{'name':'s'},'spec':{'clusterIPs':['fd00::10'],'clusterIP':'fd00::10','selector':{'a':'"
         "b'}}}",
         "{'metadata':{'name':'s'},'spec':{'clusterIPs':['fd00::10'],'clusterIP':'fd00::10','selector':{'a':'"
         "b'},"
         "'type':'ClusterIP','sessionAffinity':'None','internalTrafficPolicy':'Cluster','ipFamilies':['IPv6']"
         ","
         "'ipFamilyPolicy':'SingleStack'},'status':{'loadBalancer':{}}}"},
    };
    RUN(cases);
}

Test(defaults, storage_and_core_objects)
{
    static const tcase cases[] = {
        {"pvc", "core/v1.PersistentVolumeClaim",
         "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data'},'spec':{"
         "'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'5Gi'}},'storageClassName':'"
         "fast'}}",
         "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'data'},'spec':{"
         "'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'5Gi'}},'storageClassName':'"
         "fast',"
         "'volumeMode':'Filesystem'},'status':{'phase':'Pending'}}"},
        {"pv", "core/v1.PersistentVolume",
         "{'metadata':{'name':'pv1'},'spec':{'capacity':{'storage':'10Gi'},'accessModes':['ReadWriteOnce'],"
         "'hostPath':{'path':'/data'}}}",
         "{'metadata':{'name':'pv1'},'spec':{'capacity':{'storage':'10Gi'},'accessModes':['ReadWriteOnce'],"
         "'hostPath':{'path':'/data','type':''},'persistentVolumeReclaimPolicy':'Retain','volumeMode':"
         "'Filesystem'},'status':{'phase':'Pending'}}"},
        {"pv rbd and iscsi", "core/v1.PersistentVolume",
         "{'metadata':{'name':'pv2'},'spec':{'persistentVolumeReclaimPolicy':'Delete','volumeMode':'Block',"
         "'rbd':{'monitors':['m'],'image':'i'}}}",
         "{'metadata':{'name':'pv2'},'spec':{'persistentVolumeReclaimPolicy':'Delete','volumeMode':'Block',"
         "'rbd':{'monitors':['m'],'image':'i','pool':'rbd','user':'admin','keyring':'/etc/ceph/keyring'}},"
         "'status':{'phase':'Pending'}}"},
        {"storageclass", "storage/v1.StorageClass",
         "{'metadata':{'name':'standard'},'provisioner':'rancher.io/local-path'}",
         "{'metadata':{'name':'standard'},'provisioner':'rancher.io/local-path','reclaimPolicy':'Delete',"
         "'volumeBindingMode':'Immediate'}"},
        {"storageclass keeps values", "storage/v1.StorageClass",
         "{'metadata':{'name':'s'},'provisioner':'p','reclaimPolicy':'Retain','volumeBindingMode':"
         "'WaitForFirstConsumer'}",
         "{'metadata':{'name':'s'},'provisioner':'p','reclaimPolicy':'Retain','volumeBindingMode':"
         "'WaitForFirstConsumer'}"},
        {"csidriver", "storage/v1.CSIDriver", "{'metadata':{'name':'d'},'spec':{}}",
         "{'metadata':{'name':'d'},'spec':{'attachRequired':true,'podInfoOnMount':false,'storageCapacity':"
         "false,"
         "'fsGroupPolicy':'ReadWriteOnceWithFSType','volumeLifecycleModes':['Persistent'],"
         "'requiresRepublish':false,'seLinuxMount':false}}"},
        {"secret", "core/v1.Secret", "{'metadata':{'name':'s'},'data':{'k':'dg=='}}",
         "{'metadata':{'name':'s'},'data':{'k':'dg=='},'type':'Opaque'}"},
        {"secret type kept", "core/v1.Secret", "{'metadata':{'name':'s'},'type':'kubernetes.io/tls'}",
         "{'metadata':{'name':'s'},'type':'kubernetes.io/tls'}"},
        {"configmap untouched", "core/v1.ConfigMap", "{'metadata':{'name':'c'},'data':{'a':'b'}}",
         "{'metadata':{'name':'c'},'data':{'a':'b'}}"},
        {"namespace", "core/v1.Namespace", "{'metadata':{'name':'team-a','labels':{'env':'dev'}}}",
         "{'metadata':{'name':'team-a','labels':{'env':'dev','kubernetes.io/metadata.name':'team-a'}},"
         "'spec':{},'status':{'phase':'Active'}}"},
        {"namespace name label always follows the name", "core/v1.Namespace",
         "{'metadata':{'name':'b','labels':{'kubernetes.io/metadata.name':'a'}}}",
         "{'metadata':{'name':'b','labels':{'kubernetes.io/metadata.name':'b'}},'spec':{},"
         "'status':{'phase':'Active'}}"},
        {"endpoints", "core/v1.Endpoints",
         "{'metadata':{'name':'e'},'subsets':[{'addresses':[{'ip':'10.0.0.1'}],'ports':[{'port':80}]}]}",
         "{'metadata':{'name':'e'},'subsets':[{'addresses':[{'ip':'10.0.0.1'}],'ports':[{'port':80,"
         "'protocol':'TCP'}]}]}"},
        {"endpointslice", "discovery/v1.EndpointSlice",
         "{'metadata':{'name':'s'},'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1']}],"
         "'ports':[{'port':80},{'name':'dns','port':53,'protocol':'UDP'}]}",
         "{'metadata':{'name':'s'},'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],'conditions':{"
         "}}],"
         "'ports':[{'name':'','port':80,'protocol':'TCP'},{'name':'dns','port':53,'protocol':'UDP'}]}"},
        {"lease untouched", "coordination/v1.Lease",
         "{'metadata':{'name':'l'},'spec':{'holderIdentity':'x','leaseDurationSeconds':15}}",
         "{'metadata':{'name':'l'},'spec':{'holderIdentity':'x','leaseDurationSeconds':15}}"},
        {"node", "core/v1.Node", "{'metadata':{'name':'n1'},'status':{'capacity':{'cpu':'4','pods':'110'}}}",
         "{'metadata':{'name':'n1'},'spec':{},'status':{'capacity':{'cpu':'4','pods':'110'},"
         "'allocatable':{'cpu':'4','pods':'110'},'daemonEndpoints':{'kubeletEndpoint':{'Port':0}},"
         "'nodeInfo':{}}}"},
        {"limitrange", "core/v1.LimitRange",
         "{'metadata':{'name':'l'},'spec':{'limits':[{'type':'Container','max':{'cpu':'2'},'min':{"
         "'memory':'1Mi'}},{'type':'Pod','max':{'cpu':'4'}}]}}",
         "{'metadata':{'name':'l'},'spec':{'limits':[{'type':'Container','max':{'cpu':'2'},'min':{"
         "'memory':'1Mi'},'default':{'cpu':'2'},'defaultRequest':{'cpu':'2','memory':'1Mi'}},{'type':'Pod',"
         "'max':{'cpu':'4'}}]}}"},
        {"event zero values", "core/v1.Event",
         "{'metadata':{'name':'e'},'involvedObject':{'kind':'Pod','name':'p'},'reason':'Started'}",
         "{'metadata':{'name':'e'},'involvedObject':{'kind':'Pod','name':'p'},'reason':'Started','source':{},"
         "'firstTimestamp':null,'lastTimestamp':null,'eventTime':null,'reportingComponent':'',"
         "'reportingInstance':''}"},
    };
    RUN(cases);
}

Test(defaults, other_groups)
{
    static const tcase cases[] = {
        {"hpa", "autoscaling/v1.HorizontalPodAutoscaler",
         "{'metadata':{'name':'h'},'spec':{'maxReplicas':5,'scaleTargetRef':{'kind':'Deployment','name':'d'}}"
         "}",
         "{'metadata':{'name':'h'},'spec':{'maxReplicas':5,'minReplicas':1,'scaleTargetRef':{'kind':"
         "'Deployment','name':'d'}},'status':{'currentReplicas':0,'desiredReplicas':0}}"},
        {"networkpolicy", "networking/v1.NetworkPolicy",
         "{'metadata':{'name':'n'},'spec':{'podSelector':{},'egress':[{'ports':[{'port':53}]}]}}",
         "{'metadata':{'name':'n'},'spec':{'podSelector':{},'policyTypes':['Ingress','Egress'],"
         "'egress':[{'ports':[{'port':53,'protocol':'TCP'}]}]}}"},
        {"networkpolicy ingress only", "networking/v1.NetworkPolicy",
         "{'metadata':{'name':'n'},'spec':{"
         "'podSelector':{}}}",
         "{'metadata':{'name':'n'},'spec':{'podSelector':{},'policyTypes':['Ingress']}}"},
        {"rolebinding", "rbac/v1.RoleBinding",
         "{'metadata':{'name':'rb'},'roleRef':{'kind':'Role','name':'r'},'subjects':[{'kind':'User','name':'"
         "u'},"
         "{'kind':'ServiceAccount','name':'sa','namespace':'ns'},{'kind':'Group','name':'g'}]}",
         "{'metadata':{'name':'rb'},'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'"
         "r'},"
         "'subjects':[{'kind':'User','name':'u','apiGroup':'rbac.authorization.k8s.io'},{'kind':"
         "'ServiceAccount','name':'sa','namespace':'ns'},{'kind':'Group','name':'g','apiGroup':"
         "'rbac.authorization.k8s.io'}]}"},
        {"clusterrole with no rules", "rbac/v1.ClusterRole", "{'metadata':{'name':'c'}}",
         "{'metadata':{'name':'c'},'rules':null}"},
        {"ingressclass", "networking/v1.IngressClass",
         "{'metadata':{'name':'i'},'spec':{'controller':'x/y','parameters':{'kind':'K','name':'n'}}}",
         "{'metadata':{'name':'i'},'spec':{'controller':'x/y','parameters':{'kind':'K','name':'n',"
         "'scope':'Cluster'}}}"},
        {"poddisruptionbudget status zeros", "policy/v1.PodDisruptionBudget",
         "{'metadata':{'name':'p'},'spec':{'minAvailable':1}}",
         "{'metadata':{'name':'p'},'spec':{'minAvailable':1},'status':{'disruptionsAllowed':0,"
         "'currentHealthy':0,'desiredHealthy':0,'expectedPods':0}}"},
    };
    RUN(cases);
}

static const char *pull_policy_of(const char *image)
{
    static char buf[64];
    char *in;
    if (asprintf(&in, "{'name':'c','image':'%s'}", image) < 0) return NULL;
    json_t *c = js(in);
    kc_defaults_apply(kc_schema_type("core/v1.Container"), c);
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(c, "imagePullPolicy")));
    json_decref(c);
    free(in);
    return buf;
}

/* parsers.ParseImageName: Always for tag "latest" or no tag and no digest; IfNotPresent for
 * any other tag, a digest alone, or a reference that does not parse. */
Test(defaults, image_pull_policy)
{
#define SHA "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    static const struct {
        const char *image, *want;
    } cases[] = {
        {"nginx", "Always"},
        {"nginx:latest", "Always"},
        {"library/nginx", "Always"},
        {"docker.io/library/nginx:latest", "Always"},
        {"localhost:5000/app", "Always"},
        {"localhost/app:latest", "Always"},
        {"registry.example.com:5000/team/app", "Always"},
        {"Registry.Example.com/app", "Always"},
        {"[fd00::1]:5000/app", "Always"},
        {"nginx:latest@" SHA, "Always"},
        {"my_app-x.y__z", "Always"},
        {"nginx:1.27", "IfNotPresent"},
        {"nginx:Latest", "IfNotPresent"},
        {"registry:5000", "IfNotPresent"}, /* repository "registry", tag "5000" */
        {"localhost:5000/app:v2", "IfNotPresent"},
        {"nginx@" SHA, "IfNotPresent"},
        {"", "IfNotPresent"},
        {"Nginx", "IfNotPresent"},            /* uppercase repository: does not parse */
        {"nginx:", "IfNotPresent"},           /* empty tag */
        {"nginx:-x", "IfNotPresent"},         /* tag must start with [A-Za-z0-9_] */
        {"nginx@sha256:abc", "IfNotPresent"}, /* short digest */
        {"nginx@md5:0123456789abcdef0123456789abcdef", "IfNotPresent"},
        {"nginx/", "IfNotPresent"},
        {"a..b", "IfNotPresent"},
        {"a___b", "IfNotPresent"},
        {"-a", "IfNotPresent"},
        {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent"},
        {"exa_mple.com:5000/app", "IfNotPresent"}, /* '_' not allowed in a domain */
        {"example.com:50a0/app", "IfNotPresent"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        cr_expect_str_eq(pull_policy_of(cases[i].image), cases[i].want, "image %s", cases[i].image);
}

/* Decoded JSON nulls count as absent; odd shapes are left alone rather than crashing. */
Test(defaults, nulls_and_odd_shapes)
{
    static const tcase cases[] = {
        {"null spec and fields", "apps/v1.Deployment",
         "{'metadata':null,'spec':{'replicas':null,'strategy':null,'template':{'spec':{'containers':["
         "{'name':'c','image':'c:1','resources':null,'terminationMessagePath':null}]}}}}",
         "{'metadata':{},'spec':{'replicas':1,'revisionHistoryLimit':10,'progressDeadlineSeconds':600,"
         "'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':'25%','maxSurge':'25%'}},"
         "'template':{'metadata':{},'spec':{'containers':[{'name':'c','image':'c:1','imagePullPolicy':"
         "'IfNotPresent'," CONTAINER_DEFAULTS "}]," TEMPLATE_SPEC_DEFAULTS "}}},'status':{}}"},
        {"wrong shapes ignored", "core/v1.Pod",
         "{'metadata':{'name':'x'},'spec':{'containers':[7,{'name':'c','image':'c:1','ports':'no'}],"
         "'securityContext':'bad'}}",
         "{'metadata':{'name':'x'},'spec':{'containers':[7,{'name':'c','image':'c:1','ports':'no',"
         "'imagePullPolicy':'IfNotPresent'," CONTAINER_DEFAULTS "}],'securityContext':'bad',"
         "'dnsPolicy':'ClusterFirst','restartPolicy':'Always','schedulerName':'default-scheduler',"
         "'terminationGracePeriodSeconds':30,'enableServiceLinks':true},'status':{}}"},
    };
    RUN(cases);
    json_t *o = js("{'a':1}");
    kc_defaults_apply(NULL, o);
    kc_defaults_apply(kc_schema_type("core/v1.Pod"), NULL);
    json_t *arr = json_array();
    kc_defaults_apply(kc_schema_type("core/v1.Pod"), arr);
    cr_expect_eq(json_array_size(arr), 0);
    cr_expect_eq(json_object_size(o), 1);
    json_decref(o), json_decref(arr);
}

/* Values the defaults add are never shared with another node of the document. */
Test(defaults, added_values_not_shared)
{
    json_t *pod = js("{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c','image':'c',"
                     "'resources':{'limits':{'cpu':'1'}}}]}}");
    kc_defaults_apply(kc_schema_type("core/v1.Pod"), pod);
    json_t *res = json_object_get(
        json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0), "resources");
    json_t *lim = json_object_get(json_object_get(res, "limits"), "cpu");
    json_t *req = json_object_get(json_object_get(res, "requests"), "cpu");
    cr_assert(lim && req);
    cr_expect_neq(lim, req);
    cr_expect_str_eq(json_string_value(req), "1");
    json_decref(pod);
}

/* kc_defaults_apply_field: one field as the whole walk treats it (status zero values, with the
 * status rules), and nothing else of the object. */
Test(defaults, apply_field_walks_that_field_only)
{
    const kc_type *t = kc_schema_kind("", "v1", "Pod");
    cr_assert_not_null(t);
    const char *pod = "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},"
                      "'spec':{'containers':[{'name':'c','image':'nginx'}]},"
                      "'status':{'phase':'Pending','conditions':[{'type':'Ready','status':'True'}]}}";
    json_t *whole = js(pod), *one = js(pod), *orig = js(pod);
    kc_defaults_apply(t, whole);
    kc_defaults_apply_field(t, one, "status");
    char *a = dump(json_object_get(whole, "status")), *b = dump(json_object_get(one, "status"));
    char *o = dump(json_object_get(orig, "status"));
    cr_assert_str_eq(b, a, "the status as the whole walk leaves it");
    cr_assert_str_neq(b, o, "the walk added the status zero values");
    char *s1 = dump(json_object_get(one, "spec")), *s0 = dump(json_object_get(orig, "spec"));
    cr_assert_str_eq(s1, s0, "the spec is left alone");
    char *m1 = dump(json_object_get(one, "metadata")), *m0 = dump(json_object_get(orig, "metadata"));
    cr_assert_str_eq(m1, m0, "the metadata is left alone");
    free(a), free(b), free(o), free(s1), free(s0), free(m1), free(m0);
    json_decref(whole), json_decref(one), json_decref(orig);
}
