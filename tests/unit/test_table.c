/* Unit tests for apiserver/table: HumanDuration (upstream's own test cases), RFC 3339 parsing, and
 * printed rows for every served kind, compared cell by cell with what upstream's printers give.
 * Test JSON is written with ' for " (see loads()). */
#include "api/resource.h"
#include "apiserver/table.h"
#include <criterion/criterion.h>
#include <string.h>

#define MS 1000000LL
#define SEC (1000 * MS)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define YEAR (365 * DAY)

/* ---- duration.HumanDuration ----------------------------------------------------------------- */

static const struct {
    int64_t d;
    const char *want;
} durations[] = {
    /* TestHumanDuration */
    {SEC, "1s"},
    {70 * SEC, "70s"},
    {190 * SEC, "3m10s"},
    {70 * MIN, "70m"},
    {47 * HOUR, "47h"},
    {49 * HOUR, "2d1h"},
    {(8 * 24 + 2) * HOUR, "8d"},
    {367 * DAY, "367d"},
    {(365 * 2 * 24 + 25) * HOUR, "2y1d"},
    {(365 * 8 * 24 + 2) * HOUR, "8y"},
    /* TestHumanDurationBoundaries */
    {-2 * SEC, "<invalid>"},
    {-2 * SEC + 1, "0s"},
    {0, "0s"},
    {SEC - MS, "0s"},
    {2 * MIN - MS, "119s"},
    {2 * MIN, "2m"},
    {2 * MIN + SEC, "2m1s"},
    {10 * MIN - MS, "9m59s"},
    {10 * MIN, "10m"},
    {10 * MIN + SEC, "10m"},
    {3 * HOUR - MS, "179m"},
    {3 * HOUR, "3h"},
    {3 * HOUR + MIN, "3h1m"},
    {8 * HOUR - MS, "7h59m"},
    {8 * HOUR, "8h"},
    {8 * HOUR + 59 * MIN, "8h"},
    {2 * DAY - MS, "47h"},
    {2 * DAY, "2d"},
    {2 * DAY + HOUR, "2d1h"},
    {8 * DAY - MS, "7d23h"},
    {8 * DAY, "8d"},
    {8 * DAY + 23 * HOUR, "8d"},
    {2 * YEAR - MS, "729d"},
    {2 * YEAR, "2y"},
    {2 * YEAR + 23 * HOUR, "2y"},
    {2 * YEAR + 23 * HOUR + 59 * MIN, "2y"},
    {2 * YEAR + DAY - MS, "2y"},
    {2 * YEAR + DAY, "2y1d"},
    {3 * YEAR, "3y"},
    {4 * YEAR, "4y"},
    {5 * YEAR, "5y"},
    {6 * YEAR, "6y"},
    {7 * YEAR, "7y"},
    {8 * YEAR - MS, "7y364d"},
    {8 * YEAR, "8y"},
    {8 * YEAR + 364 * DAY, "8y"},
    {9 * YEAR, "9y"},
};

Test(table, human_duration)
{
    char buf[32];
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++)
        cr_expect_str_eq(kc_table_human_duration(durations[i].d, buf, sizeof buf), durations[i].want,
                         "HumanDuration(%lld ns)", (long long)durations[i].d);
}

static const struct {
    const char *s;
    int rc;
    int64_t ns;
} times[] = {
    {"1970-01-01T00:00:00Z", 0, 0},
    {"2024-01-01T00:00:00Z", 0, 1704067200 * SEC},
    {"2024-01-01T01:00:00+01:00", 0, 1704067200 * SEC},
    {"2023-12-31T23:30:00-00:30", 0, 1704067200 * SEC},
    {"2024-01-01T00:00:00.123456Z", 0, 1704067200 * SEC + 123456000},
    {"2024-01-01T00:00:00.5Z", 0, 1704067200 * SEC + 500 * MS},
    {"2024-01-01T00:00:00", -1, 0},
    {"2024-01-01 00:00:00Z", -1, 0},
    {"2024-13-01T00:00:00Z", -1, 0},
    {"2024-01-01T00:00:00.Z", -1, 0},
    {"2024-01-01T00:00:00Zjunk", -1, 0},
    {"0001-01-01T00:00:00Z", -1, 0},
    {"", -1, 0},
};

Test(table, parse_time)
{
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        int64_t ns = 0;
        cr_expect_eq(kc_table_parse_time(times[i].s, &ns), times[i].rc, "parse %s", times[i].s);
        if (times[i].rc == 0) cr_expect_eq(ns, times[i].ns, "parse %s: %lld", times[i].s, (long long)ns);
    }
    int64_t ns;
    cr_expect_eq(kc_table_parse_time(NULL, &ns), -1);
}

/* ---- rows ----------------------------------------------------------------------------------- */

/* All rows print at NOW; objects are created 5 minutes before unless they say otherwise. */
#define NOW_TS "2024-01-01T01:00:00Z"
#define CREATED "'creationTimestamp':'2024-01-01T00:55:00Z'"
#define META(name) "'metadata':{'name':'" name "'," CREATED "}"

static time_t now_s(void)
{
    int64_t ns;
    cr_assert_eq(kc_table_parse_time(NOW_TS, &ns), 0);
    return (time_t)(ns / SEC);
}

static int res_of(const char *group, const char *plural)
{
    int res = kc_resource_find(group, "v1", plural);
    cr_assert_geq(res, 0, "resource %s/%s is served", group, plural);
    return res;
}

/* Parses test JSON written with ' for " (the tables stay readable); asserts it is valid. */
static json_t *loads(const char *text)
{
    char *s = strdup(text);
    json_error_t e;
    for (char *p = s; *p; p++)
        if (*p == '\'') *p = '"';
    json_t *v = json_loads(s, 0, &e);
    cr_assert(v, "bad test JSON: %s: %s", e.text, s);
    free(s);
    return v;
}

typedef struct row_case {
    const char *what, *obj, *cells;
} row_case;

static void check_rows(const char *group, const char *plural, const row_case *cases, size_t n)
{
    int res = res_of(group, plural);
    json_t *cols = kc_table_columns(res);
    for (size_t i = 0; i < n; i++) {
        json_t *obj = loads(cases[i].obj), *want = loads(cases[i].cells);
        json_t *got = kc_table_cells(res, obj, now_s());
        char *gs = json_dumps(got, JSON_COMPACT), *ws = json_dumps(want, JSON_COMPACT);
        cr_expect(json_equal(got, want), "%s %s:\n got  %s\n want %s", plural, cases[i].what, gs, ws);
        cr_expect_eq(json_array_size(got), json_array_size(cols), "%s %s: cells vs columns", plural,
                     cases[i].what);
        free(gs);
        free(ws);
        json_decref(got);
        json_decref(want);
        json_decref(obj);
    }
    json_decref(cols);
}

#define CHECK_ROWS(group, plural, cases) check_rows(group, plural, cases, sizeof cases / sizeof cases[0])

/* clang-format off */
static const row_case pods[] = {
    {"pending without status",
     "{" META("p") ",'spec':{'containers':[{'name':'a'}]}}",
     "['p','0/1','Pending','0','5m','<none>','<none>','<none>','<none>']"},
    {"running and ready",
     "{" META("p")
     ",'spec':{'containers':[{'name':'a'},{'name':'b'}],'nodeName':'n1'},'status':{'phase':'Running',"
     "'podIP':'10.0.0.5','containerStatuses':[{'name':'a','ready':true,'restartCount':0,"
     "'state':{'running':{}}},{'name':'b','ready':true,'restartCount':0,'state':{'running':{}}}]}}",
     "['p','2/2','Running','0','5m','10.0.0.5','n1','<none>','<none>']"},
    {"running, one container not ready",
     "{" META("p")
     ",'spec':{'containers':[{'name':'a'},{'name':'b'}],'nodeName':'n1'},'status':{'phase':'Running',"
     "'podIPs':[{'ip':'fd00::5'}],'nominatedNodeName':'n2','containerStatuses':[{'name':'a',"
     "'ready':true,'restartCount':0,'state':{'running':{}}},{'name':'b','ready':false,"
     "'state':{'running':{}}}]}}",
     "['p','1/2','Running','0','5m','fd00::5','n1','n2','<none>']"},
    {"crash loop with a known last restart",
     "{" META("p") ",'spec':{'containers':[{'name':'a'}]},'status':{'phase':'Running',"
     "'containerStatuses':[{'name':'a','restartCount':5,"
     "'state':{'waiting':{'reason':'CrashLoopBackOff'}},'lastState':{'terminated':{'exitCode':1,"
     "'reason':'Error','finishedAt':'2024-01-01T00:58:00Z'}}}]}}",
     "['p','0/1','CrashLoopBackOff','5 (2m ago)','5m','<none>','<none>','<none>','<none>']"},
    {"restarts without a last termination time",
     "{" META("p") ",'spec':{'containers':[{'name':'a'}]},'status':{'phase':'Running',"
     "'containerStatuses':[{'name':'a','ready':true,'restartCount':2,'state':{'running':{}}}]}}",
     "['p','1/1','Running','2','5m','<none>','<none>','<none>','<none>']"},
    {"container creating",
     "{" META("p") ",'spec':{'containers':[{'name':'a'}]},'status':{'phase':'Pending',"
     "'containerStatuses':[{'name':'a','ready':false,"
     "'state':{'waiting':{'reason':'ContainerCreating'}}}]}}",
     "['p','0/1','ContainerCreating','0','5m','<none>','<none>','<none>','<none>']"},
    {"terminating",
     "{'metadata':{'name':'p','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'deletionTimestamp':'2024-01-01T00:59:00Z'},'spec':{'containers':[{'name':'a'}]},"
     "'status':{'phase':'Running','containerStatuses':[{'name':'a','ready':true,'restartCount':0,"
     "'state':{'running':{}}}]}}",
     "['p','1/1','Terminating','0','5m','<none>','<none>','<none>','<none>']"},
    {"terminating on a lost node",
     "{'metadata':{'name':'p','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'deletionTimestamp':'2024-01-01T00:59:00Z'},'spec':{'containers':[{'name':'a'}]},"
     "'status':{'phase':'Running','reason':'NodeLost'}}",
     "['p','0/1','Unknown','0','5m','<none>','<none>','<none>','<none>']"},
    {"succeeded pod being deleted keeps its status",
     "{'metadata':{'name':'p','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'deletionTimestamp':'2024-01-01T00:59:00Z'},'spec':{'containers':[{'name':'a'}]},"
     "'status':{'phase':'Succeeded','containerStatuses':[{'name':'a',"
     "'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}]}}",
     "['p','0/1','Completed','0','5m','<none>','<none>','<none>','<none>']"},
    {"terminated without a reason",
     "{" META("p") ",'spec':{'containers':[{'name':'a'}]},'status':{'phase':'Failed',"
     "'containerStatuses':[{'name':'a','state':{'terminated':{'exitCode':137,'signal':9}}}]}}",
     "['p','0/1','Signal:9','0','5m','<none>','<none>','<none>','<none>']"},
    {"evicted",
     "{" META("p") ",'spec':{'containers':[{'name':'a'}]},'status':{'phase':'Failed','reason':'Evicted'}}",
     "['p','0/1','Evicted','0','5m','<none>','<none>','<none>','<none>']"},
    {"completed container beside a running one, pod not ready",
     "{" META("p")
     ",'spec':{'containers':[{'name':'a'},{'name':'b'}],'nodeName':'n1'},'status':{'phase':'Running',"
     "'containerStatuses':[{'name':'a','state':{'terminated':{'exitCode':0,'reason':'Completed'}}},"
     "{'name':'b','ready':true,'restartCount':0,'state':{'running':{}}}]}}",
     "['p','1/2','NotReady','0','5m','<none>','n1','<none>','<none>']"},
    {"completed container beside a running one, pod ready",
     "{" META("p")
     ",'spec':{'containers':[{'name':'a'},{'name':'b'}],'nodeName':'n1'},'status':{'phase':'Running',"
     "'conditions':[{'type':'Ready','status':'True'}],'containerStatuses':[{'name':'a',"
     "'state':{'terminated':{'exitCode':0,'reason':'Completed'}}},{'name':'b','ready':true,"
     "'restartCount':0,'state':{'running':{}}}]}}",
     "['p','1/2','Running','0','5m','<none>','n1','<none>','<none>']"},
    {"init container running",
     "{" META("p") ",'spec':{'initContainers':[{'name':'i'}],'containers':[{'name':'a'}]},"
     "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i','state':{'running':{}}}],"
     "'containerStatuses':[{'name':'a','ready':false,"
     "'state':{'waiting':{'reason':'PodInitializing'}}}]}}",
     "['p','0/1','Init:0/1','0','5m','<none>','<none>','<none>','<none>']"},
    {"init container pulling",
     "{" META("p") ",'spec':{'initContainers':[{'name':'i'}],'containers':[{'name':'a'}]},"
     "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i','ready':false,"
     "'state':{'waiting':{'reason':'ImagePullBackOff'}}}]}}",
     "['p','0/1','Init:ImagePullBackOff','0','5m','<none>','<none>','<none>','<none>']"},
    {"init container crash looping",
     "{" META("p") ",'spec':{'initContainers':[{'name':'i'}],'containers':[{'name':'a'}]},"
     "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i','restartCount':3,"
     "'state':{'waiting':{'reason':'CrashLoopBackOff'}},'lastState':{'terminated':{'exitCode':1,"
     "'finishedAt':'2024-01-01T00:59:00Z'}}}]}}",
     "['p','0/1','Init:CrashLoopBackOff','3 (60s ago)','5m','<none>','<none>','<none>','<none>']"},
    {"init container failed",
     "{" META("p") ",'spec':{'initContainers':[{'name':'i'}],'containers':[{'name':'a'}]},"
     "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i',"
     "'state':{'terminated':{'exitCode':2}}}]}}",
     "['p','0/1','Init:ExitCode:2','0','5m','<none>','<none>','<none>','<none>']"},
    {"init done, app starting",
     "{" META("p") ",'spec':{'initContainers':[{'name':'i'}],'containers':[{'name':'a'}]},"
     "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i',"
     "'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}],'containerStatuses':[{'name':'a',"
     "'ready':false,'state':{'waiting':{'reason':'ContainerCreating'}}}]}}",
     "['p','0/1','ContainerCreating','0','5m','<none>','<none>','<none>','<none>']"},
    {"sidecar started, counts in READY and RESTARTS",
     "{" META("p")
     ",'spec':{'initContainers':[{'name':'s','restartPolicy':'Always'}],'containers':[{'name':'a'}]},"
     "'status':{'phase':'Running','conditions':[{'type':'Initialized','status':'True'}],"
     "'initContainerStatuses':[{'name':'s','started':true,'ready':true,'restartCount':2,"
     "'state':{'running':{}},'lastState':{'terminated':{'exitCode':1,"
     "'finishedAt':'2024-01-01T00:50:00Z'}}}],'containerStatuses':[{'name':'a','ready':true,"
     "'restartCount':0,'state':{'running':{}}}]}}",
     "['p','2/2','Running','2 (10m ago)','5m','<none>','<none>','<none>','<none>']"},
    {"scheduling gated and readiness gates",
     "{" META("p") ",'spec':{'containers':[{'name':'a'}],'readinessGates':[{'conditionType':'x'},"
     "{'conditionType':'y'}]},'status':{'phase':'Pending','conditions':[{'type':'PodScheduled',"
     "'status':'False','reason':'SchedulingGated'},{'type':'x','status':'True'},{'type':'y',"
     "'status':'False'}]}}",
     "['p','0/1','SchedulingGated','0','5m','<none>','<none>','<none>','1/2']"},
};
/* clang-format on */

Test(table, pods)
{
    CHECK_ROWS("", "pods", pods);
}

/* clang-format off */
static const row_case deployments[] = {
    {"scaled with two containers",
     "{" META("web")
     ",'spec':{'replicas':3,'selector':{'matchLabels':{'app':'web'},'matchExpressions':[{'key':'tier',"
     "'operator':'In','values':['fe','be']}]},'template':{'spec':{'containers':[{'name':'nginx',"
     "'image':'nginx:1.27'},{'name':'log','image':'busybox'}]}}},'status':{'readyReplicas':2,"
     "'updatedReplicas':3,'availableReplicas':2}}",
     "['web','2/3',3,2,'5m','nginx,log','nginx:1.27,busybox','app=web,tier in (be,fe)']"},
    {"bare: replicas default to 1, nil selector prints empty",
     "{" META("web") "}",
     "['web','0/1',0,0,'5m','','','']"},
};
/* clang-format on */

Test(table, deployments)
{
    CHECK_ROWS("apps", "deployments", deployments);
}

/* clang-format off */
static const row_case services[] = {
    {"cluster IP",
     "{" META("s") ",'spec':{'type':'ClusterIP','clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10'],"
     "'ports':[{'port':80,'protocol':'TCP'},{'port':53,'protocol':'UDP'}],'selector':{'tier':'fe',"
     "'app':'web'}}}",
     "['s','ClusterIP','10.96.0.10','<none>','80/TCP,53/UDP','5m','app=web,tier=fe']"},
    {"defaults: type ClusterIP, protocol TCP, clusterIPs only",
     "{" META("s") ",'spec':{'clusterIPs':['10.96.0.11'],'ports':[{'port':8080}]}}",
     "['s','ClusterIP','10.96.0.11','<none>','8080/TCP','5m','<none>']"},
    {"node port with external IPs",
     "{" META("s")
     ",'spec':{'type':'NodePort','clusterIP':'10.96.0.12','externalIPs':['1.2.3.4','5.6.7.8'],"
     "'ports':[{'port':80,'nodePort':30080,'protocol':'TCP'}],'selector':{'app':'web'}}}",
     "['s','NodePort','10.96.0.12','1.2.3.4,5.6.7.8','80:30080/TCP','5m','app=web']"},
    {"headless",
     "{" META("s") ",'spec':{'type':'ClusterIP','clusterIP':'None','ports':[]}}",
     "['s','ClusterIP','None','<none>','<none>','5m','<none>']"},
    {"external name",
     "{" META("s") ",'spec':{'type':'ExternalName','externalName':'db.example.com'}}",
     "['s','ExternalName','<none>','db.example.com','<none>','5m','<none>']"},
    {"load balancer pending",
     "{" META("s")
     ",'spec':{'type':'LoadBalancer','clusterIP':'10.96.0.13','ports':[{'port':443,'nodePort':31443,"
     "'protocol':'TCP'}]}}",
     "['s','LoadBalancer','10.96.0.13','<pending>','443:31443/TCP','5m','<none>']"},
    {"load balancer with ingress",
     "{" META("s") ",'spec':{'type':'LoadBalancer','clusterIP':'10.96.0.13','externalIPs':['9.9.9.9']},"
     "'status':{'loadBalancer':{'ingress':[{'hostname':'lb.example'},{'ip':'5.6.7.8'},"
     "{'ip':'5.6.7.8'}]}}}",
     "['s','LoadBalancer','10.96.0.13','5.6.7.8,lb.example,9.9.9.9','<none>','5m','<none>']"},
};
/* clang-format on */

Test(table, services)
{
    CHECK_ROWS("", "services", services);
}

/* clang-format off */
static const row_case nodes[] = {
    {"ready with roles",
     "{'metadata':{'name':'n1','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'labels':{'node-role.kubernetes.io/worker':'','node-role.kubernetes.io/control-plane':'',"
     "'node-role.kubernetes.io/':'','kubernetes.io/hostname':'n1'}},"
     "'status':{'conditions':[{'type':'MemoryPressure','status':'False'},{'type':'Ready',"
     "'status':'True'}],'addresses':[{'type':'Hostname','address':'n1'},{'type':'InternalIP',"
     "'address':'10.0.0.1'}],'nodeInfo':{'kubeletVersion':'v1.32.0','osImage':'Ubuntu 24.04',"
     "'kernelVersion':'6.8.0','containerRuntimeVersion':'containerd://1.7.0'}}}",
     "['n1','Ready','control-plane,worker','5m','v1.32.0','10.0.0.1','<none>','Ubuntu 24.04','6.8.0',"
     "'containerd://1.7.0']"},
    {"not ready, legacy role label, external IP",
     "{'metadata':{'name':'n2','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'labels':{'kubernetes.io/role':'master'}},'status':{'conditions':[{'type':'Ready',"
     "'status':'Unknown'}],'addresses':[{'type':'ExternalIP','address':'1.2.3.4'}],"
     "'nodeInfo':{'kubeletVersion':'v1.32.0','osImage':'Ubuntu 24.04','kernelVersion':'6.8.0',"
     "'containerRuntimeVersion':'containerd://1.7.0'}}}",
     "['n2','NotReady','master','5m','v1.32.0','<none>','1.2.3.4','Ubuntu 24.04','6.8.0',"
     "'containerd://1.7.0']"},
    {"cordoned",
     "{" META("n3")
     ",'spec':{'unschedulable':true},'status':{'conditions':[{'type':'Ready','status':'True'}],"
     "'nodeInfo':{'kubeletVersion':'v1.32.0','osImage':'Ubuntu 24.04','kernelVersion':'6.8.0',"
     "'containerRuntimeVersion':'containerd://1.7.0'}}}",
     "['n3','Ready,SchedulingDisabled','<none>','5m','v1.32.0','<none>','<none>','Ubuntu 24.04',"
     "'6.8.0','containerd://1.7.0']"},
    {"no status",
     "{" META("n4") "}",
     "['n4','Unknown','<none>','5m','','<none>','<none>','<unknown>','<unknown>','<unknown>']"},
};
/* clang-format on */

Test(table, nodes)
{
    CHECK_ROWS("", "nodes", nodes);
}

/* clang-format off */
static const row_case pvcs[] = {
    {"bound",
     "{" META("c") ",'spec':{'volumeName':'pv1','storageClassName':'standard','volumeMode':'Filesystem',"
     "'accessModes':['ReadWriteOnce']},'status':{'phase':'Bound','capacity':{'storage':'1Gi'},"
     "'accessModes':['ReadWriteMany','ReadWriteOnce','ReadWriteOnce']}}",
     "['c','Bound','pv1','1Gi','RWO,RWX','standard','<unset>','5m','Filesystem']"},
    {"pending",
     "{" META("c") ",'spec':{'storageClassName':'standard'},'status':{'phase':'Pending'}}",
     "['c','Pending','','','','standard','<unset>','5m','Filesystem']"},
    {"terminating, beta class annotation",
     "{'metadata':{'name':'c','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'deletionTimestamp':'2024-01-01T00:59:00Z',"
     "'annotations':{'volume.beta.kubernetes.io/storage-class':'old'}},"
     "'spec':{'storageClassName':'standard','volumeAttributesClassName':'gold','volumeMode':'Block'},"
     "'status':{'phase':'Bound'}}",
     "['c','Terminating','','','','old','gold','5m','Block']"},
};
/* clang-format on */

Test(table, pvcs)
{
    CHECK_ROWS("", "persistentvolumeclaims", pvcs);
}

/* clang-format off */
static const row_case pvs[] = {
    {"bound",
     "{" META("pv1")
     ",'spec':{'capacity':{'storage':'5Gi'},'accessModes':['ReadWriteOncePod','ReadOnlyMany'],"
     "'persistentVolumeReclaimPolicy':'Delete','claimRef':{'namespace':'default','name':'c'},"
     "'storageClassName':'local-path'},'status':{'phase':'Bound'}}",
     "['pv1','5Gi','ROX,RWOP','Delete','Bound','default/c','local-path','<unset>','','5m'," "'Filesystem']"},
    {"bare",
     "{" META("pv2") "}",
     "['pv2','0','','Retain','Pending','','','<unset>','','5m','Filesystem']"},
};
/* clang-format on */

Test(table, pvs)
{
    CHECK_ROWS("", "persistentvolumes", pvs);
}

/* clang-format off */
static const row_case core_events[] = {
    {"legacy event with count",
     "{" META("web-0.17a")
     ",'involvedObject':{'kind':'Pod','name':'web-0','fieldPath':'spec.containers{nginx}'},"
     "'reason':'Pulled','message':'  Successfully pulled\\n','type':'Normal',"
     "'source':{'component':'kubelet','host':'node1'},'firstTimestamp':'2024-01-01T00:40:00Z',"
     "'lastTimestamp':'2024-01-01T00:58:00Z','count':3}",
     "['2m','Normal','Pulled','pod/web-0','spec.containers{nginx}','kubelet, node1',"
     "'Successfully pulled','20m',3,'web-0.17a']"},
    {"new-style event with a series",
     "{" META("n1.17b")
     ",'involvedObject':{'kind':'Node'},'reason':'Rebooted','message':'m','type':'Warning',"
     "'eventTime':'2024-01-01T00:59:30.000000Z','series':{'count':4,"
     "'lastObservedTime':'2024-01-01T00:59:50.000000Z'},'reportingComponent':'kc',"
     "'reportingController':'kc','reportingInstance':'kc-1'}",
     "['10s','Warning','Rebooted','node','','kc, kc-1','m','30s',4,'n1.17b']"},
    {"no times at all",
     "{" META("e") "}",
     "['<unknown>','','','','','','','<unknown>',1,'e']"},
};
/* clang-format on */

Test(table, events)
{
    CHECK_ROWS("", "events", core_events);
}

/* clang-format off */
static const row_case v1_events[] = {
    {"events.k8s.io event",
     "{" META("e")
     ",'regarding':{'kind':'Deployment','name':'web'},'note':'Scaled up','reason':'ScalingReplicaSet',"
     "'type':'Normal','eventTime':'2024-01-01T00:59:00.000000Z',"
     "'reportingController':'deployment-controller','reportingInstance':''}",
     "['60s','Normal','ScalingReplicaSet','deployment/web','','deployment-controller','Scaled up',"
     "'60s',1,'e']"},
    {"deprecated fields",
     "{" META("e")
     ",'regarding':{'kind':'Pod','name':'p'},'note':'n','deprecatedSource':{'component':'kubelet'},"
     "'deprecatedFirstTimestamp':'2024-01-01T00:00:00Z',"
     "'deprecatedLastTimestamp':'2024-01-01T00:30:00Z','deprecatedCount':7}",
     "['30m','','','pod/p','','kubelet','n','60m',7,'e']"},
};
/* clang-format on */

Test(table, events_v1)
{
    CHECK_ROWS("events.k8s.io", "events", v1_events);
}

/* clang-format off */
static const row_case workloads_rs[] = {
    {"replicaset",
     "{" META("web-5d")
     ",'spec':{'replicas':2,'selector':{'matchLabels':{'pod-template-hash':'5d','app':'web'}},"
     "'template':{'spec':{'containers':[{'name':'nginx','image':'nginx'}]}}},'status':{'replicas':2,"
     "'readyReplicas':1}}",
     "['web-5d',2,2,1,'5m','nginx','nginx','app=web,pod-template-hash=5d']"},
    {"bare replicaset",
     "{" META("r") "}",
     "['r',1,0,0,'5m','','','<none>']"},
};
/* clang-format on */

/* clang-format off */
static const row_case workloads_sts[] = {
    {"statefulset",
     "{" META("db")
     ",'spec':{'replicas':3,'template':{'spec':{'containers':[{'name':'pg','image':'postgres:16'}]}}},"
     "'status':{'readyReplicas':3}}",
     "['db','3/3','5m','pg','postgres:16']"},
};
/* clang-format on */

/* clang-format off */
static const row_case workloads_ds[] = {
    {"daemonset",
     "{" META("agent") ",'spec':{'selector':{'matchExpressions':[{'key':'app','operator':'Exists'}]},"
     "'template':{'spec':{'nodeSelector':{'kubernetes.io/os':'linux'},'containers':[{'name':'a',"
     "'image':'agent:1'}]}}},'status':{'desiredNumberScheduled':3,'currentNumberScheduled':3,"
     "'numberReady':2,'updatedNumberScheduled':3,'numberAvailable':2}}",
     "['agent',3,3,2,3,2,'kubernetes.io/os=linux','5m','a','agent:1','app']"},
    {"bare daemonset",
     "{" META("d") "}",
     "['d',0,0,0,0,0,'<none>','5m','','','<none>']"},
};
/* clang-format on */

/* clang-format off */
static const row_case workloads_cr[] = {
    {"owned by a statefulset",
     "{'metadata':{'name':'db-7f','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'ownerReferences':[{'apiVersion':'v1','kind':'Pod','name':'x'},{'apiVersion':'apps/v1',"
     "'kind':'StatefulSet','name':'db','controller':true}]},'revision':2}",
     "['db-7f','statefulset.apps/db',2,'5m']"},
    {"core-group controller",
     "{'metadata':{'name':'r','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'ownerReferences':[{'apiVersion':'v1','kind':'ReplicationController','name':'rc',"
     "'controller':true}]},'revision':1}",
     "['r','replicationcontroller/rc',1,'5m']"},
    {"no controller",
     "{" META("r") "}",
     "['r','<none>',0,'5m']"},
};
/* clang-format on */

Test(table, workloads)
{
    CHECK_ROWS("apps", "replicasets", workloads_rs);
    CHECK_ROWS("apps", "statefulsets", workloads_sts);
    CHECK_ROWS("apps", "daemonsets", workloads_ds);
    CHECK_ROWS("apps", "controllerrevisions", workloads_cr);
}

/* clang-format off */
static const row_case cms[] = {
    {"data and binaryData",
     "{" META("cfg") ",'data':{'a':'1','b':'2'},'binaryData':{'c':'AA=='}}",
     "['cfg',3,'5m']"},
};
/* clang-format on */
/* clang-format off */
static const row_case secrets[] = {
    {"tls",
     "{" META("tls") ",'type':'kubernetes.io/tls','data':{'tls.crt':'','tls.key':''}}",
     "['tls','kubernetes.io/tls',2,'5m']"},
    {"stringData merges into data, type defaults to Opaque",
     "{" META("s") ",'data':{'a':''},'stringData':{'a':'x','b':'y'}}",
     "['s','Opaque',2,'5m']"},
};
/* clang-format on */
/* clang-format off */
static const row_case sas[] = {
    {"one secret",
     "{" META("default") ",'secrets':[{'name':'t'}]}",
     "['default',1,'5m']"},
};
/* clang-format on */
/* clang-format off */
static const row_case namespaces[] = {
    {"terminating",
     "{" META("ns") ",'status':{'phase':'Terminating'}}",
     "['ns','Terminating','5m']"},
    {"no status",
     "{" META("ns") "}",
     "['ns','Active','5m']"},
    {"no creation time",
     "{'metadata':{'name':'ns'}}",
     "['ns','Active','<unknown>']"},
};
/* clang-format on */
/* clang-format off */
static const row_case endpoints[] = {
    {"two ports, two addresses",
     "{" META("web") ",'subsets':[{'addresses':[{'ip':'10.0.0.1'},{'ip':'10.0.0.2'}],'ports':[{'port':80},"
     "{'port':443}]}]}",
     "['web','10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...','5m']"},
    {"ipv6 and a port-less subset",
     "{" META("web") ",'subsets':[{'addresses':[{'ip':'10.0.0.9'}]},{'addresses':[{'ip':'fd00::1'}],"
     "'ports':[{'port':8080}]}]}",
     "['web','10.0.0.9,[fd00::1]:8080','5m']"},
    {"no subsets",
     "{" META("web") "}",
     "['web','<none>','5m']"},
    {"subset without addresses",
     "{" META("web") ",'subsets':[{'ports':[{'port':80}]}]}",
     "['web','','5m']"},
};
/* clang-format on */

Test(table, core_small_kinds)
{
    CHECK_ROWS("", "configmaps", cms);
    CHECK_ROWS("", "secrets", secrets);
    CHECK_ROWS("", "serviceaccounts", sas);
    CHECK_ROWS("", "namespaces", namespaces);
    CHECK_ROWS("", "endpoints", endpoints);
}

/* clang-format off */
static const row_case scs[] = {
    {"default class",
     "{'metadata':{'name':'local-path','creationTimestamp':'2024-01-01T00:55:00Z',"
     "'annotations':{'storageclass.kubernetes.io/is-default-class':'true'}},"
     "'provisioner':'rancher.io/local-path','reclaimPolicy':'Delete',"
     "'volumeBindingMode':'WaitForFirstConsumer','allowVolumeExpansion':true}",
     "['local-path (default)','rancher.io/local-path','Delete','WaitForFirstConsumer',true,'5m']"},
    {"defaults",
     "{" META("sc") ",'provisioner':'p'}",
     "['sc','p','Delete','Immediate',false,'5m']"},
};
/* clang-format on */
/* clang-format off */
static const row_case leases[] = {
    {"held",
     "{" META("kube-scheduler") ",'spec':{'holderIdentity':'n1_abc'}}",
     "['kube-scheduler','n1_abc','5m']"},
    {"free",
     "{" META("l") "}",
     "['l','','5m']"},
};
/* clang-format on */
/* clang-format off */
static const row_case slices[] = {
    {"ports and endpoints",
     "{" META("web-abc") ",'addressType':'IPv4','ports':[{'port':80,'name':'http'},{'name':'x'},{}],"
     "'endpoints':[{'addresses':['10.0.0.1','10.0.0.2']},{'addresses':['10.0.0.3']},"
     "{'addresses':['10.0.0.4']}]}",
     "['web-abc','IPv4','80,x,*','10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...','5m']"},
    {"empty",
     "{" META("e") ",'addressType':'IPv6'}",
     "['e','IPv6','<unset>','<unset>','5m']"},
};
/* clang-format on */

Test(table, other_groups)
{
    CHECK_ROWS("storage.k8s.io", "storageclasses", scs);
    CHECK_ROWS("coordination.k8s.io", "leases", leases);
    CHECK_ROWS("discovery.k8s.io", "endpointslices", slices);
}

/* ---- every served kind ---------------------------------------------------------------------- */

static const char *col_str(json_t *col, const char *key)
{
    return json_string_value(json_object_get(col, key));
}

/* Each column has upstream's five fields with the right JSON types. */
static void check_column(const char *kind, json_t *col)
{
    cr_expect_eq(json_object_size(col), 5, "%s column has 5 fields", kind);
    cr_expect(col_str(col, "name") && *col_str(col, "name"), "%s column name", kind);
    cr_expect(col_str(col, "type") && col_str(col, "format") && col_str(col, "description"), "%s strings",
              kind);
    json_int_t prio = json_integer_value(json_object_get(col, "priority"));
    cr_expect(json_is_integer(json_object_get(col, "priority")) && (prio == 0 || prio == 1), "%s priority",
              kind);
}

Test(table, every_served_kind)
{
    json_t *minimal = loads("{'metadata':{'name':'x'," CREATED "}}");
    for (size_t res = 0; res < kc_nresources; res++) {
        const char *kind = kc_resources[res].kind;
        json_t *cols = kc_table_columns((int)res), *cells = kc_table_cells((int)res, minimal, now_s());
        cr_assert(cols && cells, "%s printed", kind);
        cr_expect_eq(json_array_size(cols), json_array_size(cells), "%s: %zu columns, %zu cells", kind,
                     json_array_size(cols), json_array_size(cells));
        size_t i, name_at = SIZE_MAX, age_at = SIZE_MAX;
        json_t *col;
        json_array_foreach(cols, i, col)
        {
            check_column(kind, col);
            if (!strcmp(col_str(col, "name"), "Name") && !strcmp(col_str(col, "format"), "name")) name_at = i;
            if (!strcmp(col_str(col, "name"), "Age")) age_at = i;
        }
        /* Upstream's Event table leads with Last Seen and keeps Name as a wide column at the end. */
        cr_expect_eq(name_at, strcmp(kind, "Event") ? 0 : json_array_size(cols) - 1, "%s: Name column", kind);
        cr_expect_str_eq(json_string_value(json_array_get(cells, name_at)), "x", "%s: name cell", kind);
        if (age_at != SIZE_MAX)
            cr_expect_str_eq(json_string_value(json_array_get(cells, age_at)), "5m", "%s: age cell", kind);
        else
            cr_expect(!strcmp(kind, "Event"), "%s has an Age column (no printer registered?)", kind);
        json_decref(cols);
        json_decref(cells);
    }
    json_decref(minimal);
}

Test(table, pod_columns_as_upstream)
{
    static const char *const want[][3] = {
        {"Name", "string", "0"},
        {"Ready", "string", "0"},
        {"Status", "string", "0"},
        {"Restarts", "string", "0"},
        {"Age", "string", "0"},
        {"IP", "string", "1"},
        {"Node", "string", "1"},
        {"Nominated Node", "string", "1"},
        {"Readiness Gates", "string", "1"},
    };
    json_t *cols = kc_table_columns(res_of("", "pods"));
    cr_assert_eq(json_array_size(cols), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *c = json_array_get(cols, i);
        cr_expect_str_eq(col_str(c, "name"), want[i][0]);
        cr_expect_str_eq(col_str(c, "type"), want[i][1]);
        cr_expect_eq(json_integer_value(json_object_get(c, "priority")), want[i][2][0] - '0', "%s",
                     want[i][0]);
        cr_expect_str_eq(col_str(c, "format"), i == 0 ? "name" : "");
    }
    json_decref(cols);
}

Test(table, bad_input)
{
    json_t *arr = json_array();
    cr_expect_null(kc_table_columns(-1));
    cr_expect_null(kc_table_columns((int)kc_nresources));
    cr_expect_null(kc_table_cells(0, arr, 0));
    cr_expect_null(kc_table_cells(0, NULL, 0));
    json_decref(arr);
}
