/* Unit tests for api/smp: the kubectl patches of kubectl-wire.md (apply, rollout restart, pause,
 * resume, sts undo, retainKeys), merge keys that depend on the path, atomic lists, directives,
 * upstream patch_test.go cases translated onto real types, error wording, the work bound, and
 * that inputs stay untouched and the result shares no node.
 *
 * JSON in the tables uses ' for " (no test value contains a quote). Results are compared
 * with key order, since kc_smp_apply keeps the document's key order. */
#include "api/smp.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *s)
{
    char *q = strdup(s);
    for (char *p = q; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t e;
    json_t *v = json_loads(q, JSON_DECODE_ANY, &e);
    cr_assert(v, "bad test JSON <%s>: %s", q, e.text);
    free(q);
    return v;
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Every node of v is referenced once (singletons aside): nothing shared. */
static void assert_unshared(json_t *v)
{
    size_t i;
    const char *k;
    json_t *x;
    if (v->refcount != (size_t)-1) cr_assert_eq(v->refcount, 1, "shared node in result");
    if (json_is_array(v)) json_array_foreach(v, i, x) assert_unshared(x);
    if (json_is_object(v)) json_object_foreach(v, k, x) assert_unshared(x);
}

/* One row: want is the expected result, or NULL when the patch must fail with reason and
 * (when msg is non-NULL) exactly that message. type NULL means no schema. */
typedef struct scase {
    const char *name, *type, *doc, *patch, *want;
    kc_reason reason;
    const char *msg;
} scase;

static void check_row(const scase *c)
{
    const kc_type *t = c->type ? kc_schema_type(c->type) : NULL;
    cr_assert(!c->type || t, "%s: unknown type %s", c->name, c->type);
    json_t *doc = parse(c->doc), *patch = parse(c->patch);
    char *doc0 = dump(doc), *patch0 = dump(patch);
    kc_err err = KC_ERR_INIT;
    json_t *got = kc_smp_apply(t, doc, patch, &err);
    if (c->want) {
        json_t *want = parse(c->want);
        char *g = got ? dump(got) : NULL, *w = dump(want);
        cr_expect(got, "%s: failed: %s", c->name, err.msg);
        if (got) cr_expect_str_eq(g, w, "%s:\n got  %s\n want %s", c->name, g, w);
        if (got) assert_unshared(got);
        free(g);
        free(w);
        json_decref(want);
    } else {
        char *g = got ? dump(got) : NULL;
        cr_expect_null(got, "%s: expected failure, got %s", c->name, g ? g : "");
        free(g);
        cr_expect_eq(err.reason, c->reason, "%s: reason %d (%s), want %d", c->name, err.reason, err.msg,
                     c->reason);
        if (c->msg) cr_expect_str_eq(err.msg, c->msg, "%s", c->name);
        cr_expect(err.msg[0], "%s: empty message", c->name);
    }
    char *doc1 = dump(doc), *patch1 = dump(patch);
    cr_expect_str_eq(doc1, doc0, "%s: doc modified", c->name);
    cr_expect_str_eq(patch1, patch0, "%s: patch modified", c->name);
    free(doc0), free(doc1), free(patch0), free(patch1);
    json_decref(got);
    json_decref(doc);
    json_decref(patch);
    kc_err_release(&err);
}

static void run(const scase *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_row(&rows[i]);
}

#define DEPLOY "apps/v1.Deployment"
#define POD "core/v1.Pod"

/* The live Deployment the kubectl-wire 4.5 apply example was taken against. */
#define LIVE_DEPLOY                                                                                          \
    "{'apiVersion':'apps/v1','kind':'Deployment',"                                                           \
    "'metadata':{'name':'web','namespace':'default','labels':{'app':'web'},"                                 \
    "'annotations':{'deployment.kubernetes.io/revision':'1','kubectl.kubernetes.io/"                         \
    "last-applied-configuration':'old'}},"                                                                   \
    "'spec':{'replicas':2,'selector':{'matchLabels':{'app':'web'}},"                                         \
    "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':["                                 \
    "{'name':'nginx','image':'nginx:1.25','env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],"        \
    "'ports':[{'containerPort':80,'protocol':'TCP'},{'containerPort':443,'protocol':'TCP'}],'resources':{}}" \
    ","                                                                                                      \
    "{'name':'sidecar','image':'busybox','resources':{}}],'restartPolicy':'Always'}},"                       \
    "'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':'25%','maxSurge':'25%'}}},"        \
    "'status':{'replicas':2}}"

Test(smp, kubectl_apply)
{
    static const scase rows[] = {
        {"apply: image, container removed, env removed, port changed, label added", DEPLOY, LIVE_DEPLOY,
         "{'metadata':{'annotations':{'kubectl.kubernetes.io/"
         "last-applied-configuration':'new'},'labels':{'tier':'frontend'}},"
         "'spec':{'template':{'spec':{"
         "'$setElementOrder/containers':[{'name':'nginx'}],"
         "'containers':[{'name':'nginx','image':'nginx:1.27',"
         "'$setElementOrder/env':[{'name':'A'}],'env':[{'$patch':'delete','name':'B'}],"
         "'$setElementOrder/ports':[{'containerPort':80},{'containerPort':8443}],"
         "'ports':[{'containerPort':8443},{'$patch':'delete','containerPort':443}]},"
         "{'$patch':'delete','name':'sidecar'}]}}}}",
         "{'apiVersion':'apps/v1','kind':'Deployment',"
         "'metadata':{'name':'web','namespace':'default','labels':{'app':'web','tier':'frontend'},"
         "'annotations':{'deployment.kubernetes.io/revision':'1','kubectl.kubernetes.io/"
         "last-applied-configuration':'new'}},"
         "'spec':{'replicas':2,'selector':{'matchLabels':{'app':'web'}},"
         "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':["
         "{'name':'nginx','image':'nginx:1.27','env':[{'name':'A','value':'1'}],"
         "'ports':[{'containerPort':80,'protocol':'TCP'},{'containerPort':8443}],'resources':{}}],'"
         "restartPolicy':'Always'}},"
         "'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':'25%','maxSurge':'25%'}}},"
         "'status':{'replicas':2}}",
         0, NULL},
        {"apply: container added and reordered by $setElementOrder", DEPLOY, LIVE_DEPLOY,
         "{'spec':{'template':{'spec':{'$setElementOrder/"
         "containers':[{'name':'init'},{'name':'sidecar'},{'name':'nginx'}],"
         "'containers':[{'name':'init','image':'alpine'}]}}}}",
         NULL, 0, NULL},
        {"rollout restart", DEPLOY, LIVE_DEPLOY,
         "{'spec':{'template':{'metadata':{'annotations':{'kubectl.kubernetes.io/"
         "restartedAt':'2026-11-28T17:40:11Z'}}}}}",
         NULL, 0, NULL},
    };
    run(rows, 1);

    /* Second row: only check the container order and the appended container. */
    kc_err err = KC_ERR_INIT;
    json_t *doc = parse(rows[1].doc), *patch = parse(rows[1].patch);
    json_t *got = kc_smp_apply(kc_schema_type(DEPLOY), doc, patch, &err);
    cr_assert(got, "%s", err.msg);
    json_t *cs = json_object_get(
        json_object_get(json_object_get(json_object_get(got, "spec"), "template"), "spec"), "containers");
    char *s = dump(cs);
    cr_expect_str_eq(s, "[{\"name\":\"init\",\"image\":\"alpine\"},{\"name\":\"sidecar\",\"image\":"
                        "\"busybox\",\"resources\":{}},"
                        "{\"name\":\"nginx\",\"image\":\"nginx:1.25\",\"env\":[{\"name\":\"A\",\"value\":"
                        "\"1\"},{\"name\":\"B\",\"value\":\"2\"}],"
                        "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"},{\"containerPort\":443,"
                        "\"protocol\":\"TCP\"}],\"resources\":{}}]");
    free(s);
    json_decref(got);
    json_decref(doc);
    json_decref(patch);

    /* Third row: the annotation lands in the template metadata, next to the labels. */
    doc = parse(rows[2].doc), patch = parse(rows[2].patch);
    got = kc_smp_apply(kc_schema_type(DEPLOY), doc, patch, &err);
    cr_assert(got, "%s", err.msg);
    s = dump(json_object_get(json_object_get(json_object_get(got, "spec"), "template"), "metadata"));
    cr_expect_str_eq(s, "{\"labels\":{\"app\":\"web\"},\"annotations\":{\"kubectl.kubernetes.io/"
                        "restartedAt\":\"2026-11-28T17:40:11Z\"}}");
    free(s);
    json_decref(got);
    json_decref(doc);
    json_decref(patch);
}

Test(smp, rollout_and_strategy)
{
    static const scase rows[] = {
        {"restart again replaces the annotation", DEPLOY,
         "{'spec':{'template':{'metadata':{'annotations':{'kubectl.kubernetes.io/"
         "restartedAt':'a','x':'y'}}}}}",
         "{'spec':{'template':{'metadata':{'annotations':{'kubectl.kubernetes.io/restartedAt':'b'}}}}}",
         "{'spec':{'template':{'metadata':{'annotations':{'kubectl.kubernetes.io/"
         "restartedAt':'b','x':'y'}}}}}",
         0, NULL},
        {"pause", DEPLOY, "{'spec':{'replicas':1,'strategy':{}}}", "{'spec':{'paused':true}}",
         "{'spec':{'replicas':1,'strategy':{},'paused':true}}", 0, NULL},
        {"resume", DEPLOY, "{'spec':{'replicas':1,'paused':true,'strategy':{}}}", "{'spec':{'paused':null}}",
         "{'spec':{'replicas':1,'strategy':{}}}", 0, NULL},
        {"resume when not paused", DEPLOY, "{'spec':{'replicas':1}}", "{'spec':{'paused':null}}",
         "{'spec':{'replicas':1}}", 0, NULL},
        {"sts undo: $patch replace on the template", "apps/v1.StatefulSet",
         "{'metadata':{'name':'db'},'spec':{'replicas':2,'template':{'metadata':{'labels':{'app':'db'},"
         "'annotations':{'kubectl.kubernetes.io/"
         "restartedAt':'x'}},'spec':{'containers':[{'name':'db','image':'pg:16',"
         "'env':[{'name':'A','value':'1'}]}],'terminationGracePeriodSeconds':30}},'serviceName':'db'}}",
         "{'spec':{'template':{'metadata':{'labels':{'app':'db'}},'spec':{'containers':[{'name':'db','image':"
         "'pg:15'}]},"
         "'$patch':'replace'}}}",
         "{'metadata':{'name':'db'},'spec':{'replicas':2,'template':{'metadata':{'labels':{'app':'db'}},"
         "'spec':{'containers':[{'name':'db','image':'pg:15'}]}},'serviceName':'db'}}",
         0, NULL},
        {"$retainKeys: RollingUpdate to Recreate", DEPLOY,
         "{'spec':{'replicas':1,'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':'25%','"
         "maxSurge':'25%'}}}}",
         "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate','rollingUpdate':null}}}",
         "{'spec':{'replicas':1,'strategy':{'type':'Recreate'}}}", 0, NULL},
        {"$retainKeys without null for the dropped key", DEPLOY,
         "{'spec':{'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':1}}}}",
         "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}",
         "{'spec':{'strategy':{'type':'Recreate'}}}", 0, NULL},
        {"$retainKeys on a volume whose source changes", POD,
         "{'spec':{'volumes':[{'name':'cfg','configMap':{'name':'a'}},{'name':'data','emptyDir':{}}]}}",
         "{'spec':{'$setElementOrder/volumes':[{'name':'cfg'},{'name':'data'}],"
         "'volumes':[{'$retainKeys':['name','secret'],'name':'cfg','secret':{'secretName':'s'},'configMap':"
         "null}]}}",
         "{'spec':{'volumes':[{'name':'cfg','secret':{'secretName':'s'}},{'name':'data','emptyDir':{}}]}}", 0,
         NULL},
        {"replace strategy struct: PDB selector", "policy/v1.PodDisruptionBudget",
         "{'spec':{'minAvailable':1,'selector':{'matchLabels':{'a':'1'},'matchExpressions':[{'key':'k','"
         "operator':'Exists'}]}}}",
         "{'spec':{'selector':{'matchLabels':{'b':'2'}}}}",
         "{'spec':{'minAvailable':1,'selector':{'matchLabels':{'b':'2'}}}}", 0, NULL},
        {"non-replace struct merges: deployment selector", DEPLOY,
         "{'spec':{'selector':{'matchLabels':{'a':'1'}}}}", "{'spec':{'selector':{'matchLabels':{'b':'2'}}}}",
         "{'spec':{'selector':{'matchLabels':{'a':'1','b':'2'}}}}", 0, NULL},
        {"scale via SMP", DEPLOY, "{'spec':{'replicas':1,'paused':false}}", "{'spec':{'replicas':5}}",
         "{'spec':{'replicas':5,'paused':false}}", 0, NULL},
    };
    run(rows, sizeof rows / sizeof rows[0]);
}

Test(smp, merge_keys_by_path)
{
    static const scase rows[] = {
        {"container ports merge by containerPort", POD,
         "{'spec':{'containers':[{'name':'c','ports':[{'containerPort':80,'protocol':'TCP'},{'containerPort':"
         "81}]}]}}",
         "{'spec':{'containers':[{'name':'c','ports':[{'containerPort':80,'name':'web'}]}]}}",
         "{'spec':{'containers':[{'name':'c','ports':[{'containerPort':80,'protocol':'TCP','name':'web'},{'"
         "containerPort':81}]}]}}",
         0, NULL},
        {"$patch delete removes every match (both protocols)", POD,
         "{'spec':{'containers':[{'name':'c','ports':[{'containerPort':80,'protocol':'TCP'},{'containerPort':"
         "80,'protocol':'UDP'},"
         "{'containerPort':81}]}]}}",
         "{'spec':{'containers':[{'name':'c','ports':[{'$patch':'delete','containerPort':80}]}]}}",
         "{'spec':{'containers':[{'name':'c','ports':[{'containerPort':81}]}]}}", 0, NULL},
        {"service ports merge by port", "core/v1.Service",
         "{'spec':{'type':'ClusterIP','ports':[{'name':'http','port':80,'protocol':'TCP','targetPort':8080},"
         "{'name':'https','port':443,'protocol':'TCP','targetPort':8443}]}}",
         "{'spec':{'ports':[{'port':80,'targetPort':9090},{'$patch':'delete','port':443}]}}",
         "{'spec':{'type':'ClusterIP','ports':[{'name':'http','port':80,'protocol':'TCP','targetPort':9090}]}"
         "}",
         0, NULL},
        {"new service port goes before server-only ones (no $setElementOrder)", "core/v1.Service",
         "{'spec':{'ports':[{'port':80},{'port':443}]}}", "{'spec':{'ports':[{'port':8080,'name':'alt'}]}}",
         "{'spec':{'ports':[{'port':8080,'name':'alt'},{'port':80},{'port':443}]}}", 0, NULL},
        {"env by name, volumeMounts by mountPath", POD,
         "{'spec':{'containers':[{'name':'c','env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],"
         "'volumeMounts':[{'name':'d','mountPath':'/data'},{'name':'e','mountPath':'/e'}]}]}}",
         "{'spec':{'containers':[{'name':'c','env':[{'name':'B','value':'3'}],'volumeMounts':[{'mountPath':'/"
         "data','readOnly':true}]}]}}",
         "{'spec':{'containers':[{'name':'c','env':[{'name':'A','value':'1'},{'name':'B','value':'3'}],"
         "'volumeMounts':[{'name':'d','mountPath':'/data','readOnly':true},{'name':'e','mountPath':'/"
         "e'}]}]}}",
         0, NULL},
        {"initContainers by name, imagePullSecrets by name", POD,
         "{'spec':{'initContainers':[{'name':'i','image':'a'}],'imagePullSecrets':[{'name':'y'}]}}",
         "{'spec':{'initContainers':[{'name':'i','image':'b'}],'imagePullSecrets':[{'name':'x'}]}}",
         "{'spec':{'initContainers':[{'name':'i','image':'b'}],'imagePullSecrets':[{'name':'x'},{'name':'y'}]"
         "}}",
         0, NULL},
        {"status conditions by type", DEPLOY,
         "{'status':{'conditions':[{'type':'Available','status':'False','reason':'x'},{'type':'Progressing','"
         "status':'True'}]}}",
         "{'status':{'conditions':[{'type':'Available','status':'True'}]}}",
         "{'status':{'conditions':[{'type':'Available','status':'True','reason':'x'},{'type':'Progressing','"
         "status':'True'}]}}",
         0, NULL},
        {"ownerReferences by uid", "apps/v1.ReplicaSet",
         "{'metadata':{'ownerReferences':[{'apiVersion':'apps/"
         "v1','kind':'Deployment','name':'web','uid':'u1'}]}}",
         "{'metadata':{'ownerReferences':[{'uid':'u1','controller':true}]}}",
         "{'metadata':{'ownerReferences':[{'apiVersion':'apps/"
         "v1','kind':'Deployment','name':'web','uid':'u1','controller':true}]}}",
         0, NULL},
        {"tolerations are atomic", POD,
         "{'spec':{'tolerations':[{'key':'a','operator':'Exists'},{'key':'c','operator':'Exists'}]}}",
         "{'spec':{'tolerations':[{'key':'b','operator':'Equal','value':'x'}]}}",
         "{'spec':{'tolerations':[{'key':'b','operator':'Equal','value':'x'}]}}", 0, NULL},
        {"args are atomic", POD, "{'spec':{'containers':[{'name':'c','args':['a','b']}]}}",
         "{'spec':{'containers':[{'name':'c','args':['b']}]}}",
         "{'spec':{'containers':[{'name':'c','args':['b']}]}}", 0, NULL},
        {"resources merge as plain maps", POD,
         "{'spec':{'containers':[{'name':'c','resources':{'limits':{'cpu':'1','memory':'1Gi'}}}]}}",
         "{'spec':{'containers':[{'name':'c','resources':{'limits':{'cpu':'2'},'requests':{'cpu':'1'}}}]}}",
         "{'spec':{'containers':[{'name':'c','resources':{'limits':{'cpu':'2','memory':'1Gi'},'requests':{'"
         "cpu':'1'}}}]}}",
         0, NULL},
        {"finalizers: set union, patch order first", POD, "{'metadata':{'finalizers':['a','b']}}",
         "{'metadata':{'finalizers':['c','a']}}", "{'metadata':{'finalizers':['c','a','b']}}", 0, NULL},
        {"finalizers: $deleteFromPrimitiveList", POD, "{'metadata':{'finalizers':['a','b','c','b']}}",
         "{'metadata':{'$deleteFromPrimitiveList/finalizers':['b']}}",
         "{'metadata':{'finalizers':['a','c']}}", 0, NULL},
        {"finalizers: delete and $setElementOrder", POD, "{'metadata':{'finalizers':['a','b','c']}}",
         "{'metadata':{'$setElementOrder/finalizers':['c','a'],'$deleteFromPrimitiveList/finalizers':['b']}}",
         "{'metadata':{'finalizers':['c','a']}}", 0, NULL},
        {"$deleteFromPrimitiveList of an absent list does nothing", POD, "{'metadata':{'name':'p'}}",
         "{'metadata':{'$deleteFromPrimitiveList/finalizers':['b']}}", "{'metadata':{'name':'p'}}", 0, NULL},
        {"$deleteFromPrimitiveList: null deletes the list (upstream quirk)", POD,
         "{'metadata':{'finalizers':['a']}}", "{'metadata':{'$deleteFromPrimitiveList/finalizers':null}}",
         "{'metadata':{}}", 0, NULL},
    };
    run(rows, sizeof rows / sizeof rows[0]);
}

Test(smp, directives)
{
    static const scase rows[] = {
        {"$patch replace in a list", POD, "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
         "{'spec':{'containers':[{'$patch':'replace'},{'name':'c','image':'x'}]}}",
         "{'spec':{'containers':[{'name':'c','image':'x'}]}}", 0, NULL},
        {"$patch replace with only the directive empties the list", POD,
         "{'spec':{'containers':[{'name':'a'}]}}", "{'spec':{'containers':[{'$patch':'replace'}]}}",
         "{'spec':{'containers':[]}}", 0, NULL},
        {"$patch delete in a map leaves {}", DEPLOY, "{'spec':{'replicas':1,'strategy':{'type':'Recreate'}}}",
         "{'spec':{'strategy':{'$patch':'delete'}}}", "{'spec':{'replicas':1,'strategy':{}}}", 0, NULL},
        {"$patch delete at the root", DEPLOY, "{'kind':'Deployment','spec':{}}", "{'$patch':'delete'}", "{}",
         0, NULL},
        {"$patch replace on a map field (labels)", DEPLOY, "{'metadata':{'labels':{'a':'1','b':'2'}}}",
         "{'metadata':{'labels':{'$patch':'replace','c':'3'}}}", "{'metadata':{'labels':{'c':'3'}}}", 0,
         NULL},
        {"new map carrying $patch is dropped", DEPLOY, "{'spec':{'replicas':1}}",
         "{'spec':{'strategy':{'$patch':'replace','type':'Recreate'}}}", "{'spec':{'replicas':1}}", 0, NULL},
        {"nulls in added values are discarded, directive keys stripped", POD,
         "{'spec':{'restartPolicy':'Always'}}",
         "{'spec':{'nodeSelector':{'a':'1','b':null},'affinity':{'$retainKeys':['x'],'nodeAffinity':{}},"
         "'tolerations':[{'key':'k','value':null}]}}",
         "{'spec':{'restartPolicy':'Always','nodeSelector':{'a':'1'},'affinity':{'nodeAffinity':{}},'"
         "tolerations':[{'key':'k'}]}}",
         0, NULL},
        {"null list items in added values stay", POD, "{'spec':{'containers':[{'name':'c'}]}}",
         "{'spec':{'containers':[{'name':'c','args':['a',null,'b']}]}}",
         "{'spec':{'containers':[{'name':'c','args':['a',null,'b']}]}}", 0, NULL},
        {"appended element loses nested directives", POD, "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],'containers':[{'name':'b',"
         "'$setElementOrder/"
         "env':[{'name':'X'}],'env':[{'name':'X','value':'1'}],'securityContext':{'$patch':'replace'}}]}}",
         "{'spec':{'containers':[{'name':'a'},{'name':'b','env':[{'name':'X','value':'1'}]}]}}", 0, NULL},
        {"type change replaces", DEPLOY, "{'spec':{'replicas':'3','template':{'spec':{'containers':[]}}}}",
         "{'spec':{'replicas':3,'template':'x'}}", "{'spec':{'replicas':3,'template':'x'}}", 0, NULL},
        {"same merge key twice in the patch: merged into one", POD, "{'spec':{'containers':[]}}",
         "{'spec':{'containers':[{'name':'a','image':'x'},{'name':'a','workingDir':'/w'}]}}",
         "{'spec':{'containers':[{'name':'a','image':'x','workingDir':'/w'}]}}", 0, NULL},
        {"null patch is a no-op", DEPLOY, "{'spec':{'replicas':1}}", "null", "{'spec':{'replicas':1}}", 0,
         NULL},
        /* listed items follow the directive; b (live index 1) is placed before c (live index 2) */
        {"$setElementOrder alone reorders", POD,
         "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'c'},{'name':'a'}]}}",
         "{'spec':{'containers':[{'name':'b'},{'name':'c'},{'name':'a'}]}}", 0, NULL},
        {"$setElementOrder with every item listed", POD,
         "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}",
         "{'spec':{'containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}", 0, NULL},
        {"no schema: JSON merge patch, directives are plain keys", NULL, "{'a':[1,2],'b':{'c':1}}",
         "{'a':[3],'b':{'$patch':'replace','d':2,'e':null},'f':{'g':null}}",
         "{'a':[3],'b':{'c':1,'$patch':'replace','d':2},'f':{}}", 0, NULL},
    };
    run(rows, sizeof rows / sizeof rows[0]);
}

/* Cases of upstream strategicMergePatchRawTestCases (Current + ThreeWay -> Result), translated:
 * mergingList -> containers (value -> image, other -> workingDir), mergingIntList -> finalizers.
 * Upstream compares these after sorting merge lists; the orders here are what Go produces for a
 * live object whose slices have no spare capacity (kube-apiserver's watch-cache path), and they
 * match the order written in the upstream fixtures. "add map and delete map" shows why the
 * backing array matters: deleting 1 frees a slot that the appended 3 takes, so the live order
 * $setElementOrder consults becomes [2 4 3]. */
Test(smp, upstream_cases)
{
    static const scase rows[] = {
        {"nested patch merge with empty list", POD, "{'spec':{'containers':[{'name':'hello2'}]}}",
         "{'spec':{'$setElementOrder/"
         "containers':[{'name':'hello'},{'name':'doesntexist'}],'containers':[{'name':'hello'}]}}",
         "{'spec':{'containers':[{'name':'hello'},{'name':'hello2'}]}}", 0, NULL},
        {"delete items in lists of scalars", POD, "{'metadata':{'finalizers':['1','2','3','4']}}",
         "{'metadata':{'$setElementOrder/finalizers':['1','2'],'$deleteFromPrimitiveList/finalizers':['3']}}",
         "{'metadata':{'finalizers':['1','2','4']}}", 0, NULL},
        {"delete all duplicate items in lists of scalars", POD,
         "{'metadata':{'finalizers':['1','2','3','3','4']}}",
         "{'metadata':{'$setElementOrder/finalizers':['1','2'],'$deleteFromPrimitiveList/finalizers':['3']}}",
         "{'metadata':{'finalizers':['1','2','4']}}", 0, NULL},
        {"merge lists of maps", POD,
         "{'spec':{'containers':[{'name':'1','workingDir':'a'},{'name':'2','image':'2','workingDir':'b'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'4'},{'name':'1'},{'name':'2'},{'name':'3'}],"
         "'containers':[{'name':'4','image':'4'},{'name':'3','image':'3'}]}}",
         "{'spec':{'containers':[{'name':'4','image':'4'},{'name':'1','workingDir':'a'},"
         "{'name':'2','image':'2','workingDir':'b'},{'name':'3','image':'3'}]}}",
         0, NULL},
        {"add field to map in merging list with conflict", POD,
         "{'spec':{'containers':[{'name':'1','workingDir':'a'},{'name':'3','image':'2','workingDir':'b'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'1'},{'name':'2'}],"
         "'containers':[{'name':'1','image':'1'},{'name':'2','image':'2'}]}}",
         "{'spec':{'containers':[{'name':'1','workingDir':'a','image':'1'},{'name':'2','image':'2'},"
         "{'name':'3','image':'2','workingDir':'b'}]}}",
         0, NULL},
        {"delete map from merging list", POD,
         "{'spec':{'containers':[{'name':'1'},{'name':'2','workingDir':'b'}]}}",
         "{'spec':{'$setElementOrder/"
         "containers':[{'name':'2'}],'containers':[{'name':'1','$patch':'delete'}]}}",
         "{'spec':{'containers':[{'name':'2','workingDir':'b'}]}}", 0, NULL},
        {"delete missing map from merging list with conflict", POD,
         "{'spec':{'containers':[{'name':'3','workingDir':'a'}]}}",
         "{'spec':{'$setElementOrder/"
         "containers':[{'name':'2'}],'containers':[{'name':'2'},{'name':'1','$patch':'delete'}]}}",
         "{'spec':{'containers':[{'name':'2'},{'name':'3','workingDir':'a'}]}}", 0, NULL},
        {"add map and delete map from merging list", POD,
         "{'spec':{'containers':[{'name':'1'},{'name':'2','workingDir':'b'},{'name':'4','workingDir':'c'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'2'},{'name':'3'}],"
         "'containers':[{'name':'3'},{'name':'1','$patch':'delete'}]}}",
         "{'spec':{'containers':[{'name':'2','workingDir':'b'},{'name':'4','workingDir':'c'},{'name':'3'}]}}",
         0, NULL},
        {"retainKeys map adds an item in nested merging int list", POD,
         "{'metadata':{'name':'foo','finalizers':['1','2','3']}}",
         "{'metadata':{'$setElementOrder/"
         "finalizers':['1','2','4'],'$retainKeys':['finalizers','name'],'finalizers':['4']}}",
         "{'metadata':{'name':'foo','finalizers':['1','2','4','3']}}", 0, NULL},
        {"retainKeys map deletes an item in nested merging int list", POD,
         "{'metadata':{'name':'foo','finalizers':['1','2','3','4']}}",
         "{'metadata':{'$retainKeys':['finalizers','name'],'$deleteFromPrimitiveList/finalizers':['2'],"
         "'$setElementOrder/finalizers':['1','3']}}",
         "{'metadata':{'name':'foo','finalizers':['1','3','4']}}", 0, NULL},
        {"retainKeys map deletes a field", POD, "{'metadata':{'name':'foo','namespace':'bar','uid':'x'}}",
         "{'metadata':{'$retainKeys':['name','uid'],'uid':'y','namespace':null}}",
         "{'metadata':{'name':'foo','uid':'y'}}", 0, NULL},
        {"retainKeys map deletes an item in nested merging list", POD,
         "{'metadata':{'name':'foo'},'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'x'}]}}",
         "{'spec':{'$retainKeys':['containers'],'$setElementOrder/containers':[{'name':'a'}],"
         "'containers':[{'name':'b','$patch':'delete'}]}}",
         "{'metadata':{'name':'foo'},'spec':{'containers':[{'name':'a'},{'name':'x'}]}}", 0, NULL},
        {"replace list with $patch replace element", POD,
         "{'spec':{'containers':[{'name':'1','image':'1'},{'name':'2'}]}}",
         "{'spec':{'containers':[{'name':'3','image':'3'},{'$patch':'replace'}]}}",
         "{'spec':{'containers':[{'name':'3','image':'3'}]}}", 0, NULL},
        {"discard nulls in nested and adds not nulls (TestUnknownField)", POD, "{'metadata':{'name':'foo'}}",
         "{'metadata':{'annotations':{'key':'value','keynull':null}}}",
         "{'metadata':{'name':'foo','annotations':{'key':'value'}}}", 0, NULL},
        {"discard if modified all nulls (TestUnknownField)", POD, "{}",
         "{'metadata':{'labels':{'nested':null}}}", "{'metadata':{'labels':{}}}", 0, NULL},
    };
    run(rows, sizeof rows / sizeof rows[0]);
}

Test(smp, errors)
{
    static const scase rows[] = {
        {"patch is an array", DEPLOY, "{}", "[]", NULL, KC_EBADREQUEST,
         "json: cannot unmarshal array into Go value of type map[string]interface {}"},
        {"patch is a string", DEPLOY, "{}", "'x'", NULL, KC_EBADREQUEST,
         "json: cannot unmarshal string into Go value of type map[string]interface {}"},
        {"unknown $patch in a map", DEPLOY, "{'spec':{}}", "{'spec':{'$patch':'foo'}}", NULL, KC_EINTERNAL,
         "unknown patch type: foo in map: map[$patch:foo]"},
        {"$patch merge in a map is unknown too", DEPLOY, "{'spec':{'strategy':{}}}",
         "{'spec':{'strategy':{'$patch':'merge','type':'Recreate'}}}", NULL, KC_EINTERNAL,
         "unknown patch type: merge in map: map[$patch:merge type:Recreate]"},
        {"non-string $patch", DEPLOY, "{'spec':{}}", "{'spec':{'$patch':1}}", NULL, KC_EINTERNAL,
         "unknown patch type: %!s(int64=1) in map: map[$patch:1]"},
        {"$patch merge in a list", POD, "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'containers':[{'$patch':'merge','name':'x'}]}}", NULL, KC_EINTERNAL,
         "merging lists cannot yet be specified in the patch"},
        {"unknown $patch in a list", POD, "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'containers':[{'$patch':'foo','name':'x'}]}}", NULL, KC_EINTERNAL,
         "unknown patch type: foo in map: map[$patch:foo name:x]"},
        {"missing merge key", DEPLOY, "{'spec':{'template':{'spec':{'containers':[{'name':'a'}]}}}}",
         "{'spec':{'template':{'spec':{'containers':[{'image':'x'}]}}}}", NULL, KC_EINTERNAL,
         "map: map[image:x] does not contain declared merge key: name"},
        {"$patch delete without the merge key", POD, "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'containers':[{'$patch':'delete'}]}}", NULL, KC_EINTERNAL,
         "map: map[$patch:delete] does not contain declared merge key: name"},
        {"$retainKeys not a list", DEPLOY, "{'spec':{'strategy':{}}}",
         "{'spec':{'strategy':{'$retainKeys':'type'}}}", NULL, KC_EBADREQUEST,
         "invalid patch format of retainKeys"},
        {"patch key missing from $retainKeys", DEPLOY, "{'spec':{'strategy':{}}}",
         "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate','rollingUpdate':{'maxSurge':1}}}}",
         NULL, KC_EBADREQUEST, "invalid patch format of retainKeys"},
        {"$retainKeys with a map value (upstream panics)", DEPLOY, "{'spec':{'strategy':{}}}",
         "{'spec':{'strategy':{'$retainKeys':[{'a':1}]}}}", NULL, KC_EINTERNAL,
         "runtime error: hash of unhashable type map[string]interface {}"},
        {"$setElementOrder not a list", POD, "{'spec':{}}", "{'spec':{'$setElementOrder/containers':'x'}}",
         NULL, KC_EINTERNAL, "expected a []interface {}, but received a string"},
        {"$setElementOrder without /", POD, "{'spec':{}}", "{'spec':{'$setElementOrderX':[]}}", NULL,
         KC_EBADREQUEST, "invalid patch format of setElementOrder list"},
        {"$deleteFromPrimitiveList without /", POD, "{'metadata':{}}",
         "{'metadata':{'$deleteFromPrimitiveListX':[]}}", NULL, KC_EBADREQUEST,
         "invalid patch format of primitive list"},
        {"$setElementOrder out of step with the patch list", POD, "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'$setElementOrder/containers':[{'name':'a'}],'containers':[{'name':'b'}]}}", NULL,
         KC_EINTERNAL,
         "the order in patch list:\n[map[name:b]]\n doesn't match $setElementOrder list:\n[map[name:a]]"},
        {"$setElementOrder of an unknown field", POD, "{'spec':{}}", "{'spec':{'$setElementOrder/bogus':[]}}",
         NULL, KC_EINTERNAL, "unable to find api field in struct PodSpec for the json field \"bogus\""},
        {"lists of lists", POD, "{'metadata':{'finalizers':[]}}", "{'metadata':{'finalizers':[['a']]}}", NULL,
         KC_EINVALID, "lists of lists are not supported"},
        {"mixed element types", POD, "{'metadata':{'finalizers':['b']}}", "{'metadata':{'finalizers':[1]}}",
         NULL, KC_EINTERNAL, "list element types are not identical: [[b] [1]]"},
        {"null first element (upstream panics)", POD, "{'metadata':{'finalizers':[]}}",
         "{'metadata':{'finalizers':[null]}}", NULL, KC_EINTERNAL,
         "runtime error: invalid memory address or nil pointer dereference"},
        {"maps in a primitive merge list", POD, "{'metadata':{'finalizers':[]}}",
         "{'metadata':{'finalizers':[{'a':1}]}}", NULL, KC_EINTERNAL,
         "cannot merge lists without merge key for string"},
        {"unknown field present on both sides", POD, "{'metadata':{'bogus':{'a':1}}}",
         "{'metadata':{'bogus':{'b':2}}}", NULL, KC_EINTERNAL,
         "unable to find api field in struct ObjectMeta for the json field \"bogus\""},
        {"unknown field only in the patch is added", POD, "{'metadata':{}}", "{'metadata':{'bogus':{'b':2}}}",
         "{'metadata':{'bogus':{'b':2}}}", 0, NULL},
        {"objects inside a map field", POD, "{'metadata':{'labels':{'a':{'x':1}}}}",
         "{'metadata':{'labels':{'a':{'y':2}}}}", NULL, KC_EINTERNAL,
         "merging an object in json but data type is not struct, instead is: map"},
        {"list under a non-list field", POD, "{'spec':{'hostname':['a']}}", "{'spec':{'hostname':['b']}}",
         NULL, KC_EINTERNAL, "expected slice or array type, but got: struct"},
        {"objects inside an opaque field", "apps/v1.ControllerRevision", "{'data':{'spec':{'a':1}}}",
         "{'data':{'spec':{'b':1}}}", NULL, KC_EINTERNAL,
         "unable to find api field in struct RawExtension for the json field \"spec\""},
        {"float formatting in messages", POD, "{'spec':{'containers':[{'name':'a'}]}}",
         "{'spec':{'containers':[{'image':1e6,'x':0.5,'y':123456.0,'z':[true,null]}]}}", NULL, KC_EINTERNAL,
         "map: map[image:1e+06 x:0.5 y:123456 z:[true <nil>]] does not contain declared merge key: name"},
        {"key quoting in messages", POD, "{'metadata':{'b\\tq':{}}}", "{'metadata':{'b\\tq':{}}}", NULL,
         KC_EINTERNAL, "unable to find api field in struct ObjectMeta for the json field \"b\\tq\""},
        {"doc not an object", DEPLOY, "[]", "{}", NULL, KC_EINTERNAL, NULL},
    };
    run(rows, sizeof rows / sizeof rows[0]);
}

Test(smp, null_arguments)
{
    kc_err err = KC_ERR_INIT;
    json_t *o = json_object();
    cr_expect_null(kc_smp_apply(NULL, NULL, o, &err));
    cr_expect_eq(err.reason, KC_EINTERNAL);
    cr_expect_null(kc_smp_apply(NULL, o, NULL, &err));
    json_decref(o);
    kc_err_release(&err);
}

/* Long lists: normal sizes pass, quadratic blow-ups stop at KC_SMP_MAX_WORK. */
Test(smp, work_bound)
{
    const kc_type *pod = kc_schema_type(POD);
    for (int big = 0; big < 2; big++) {
        size_t n = big ? 12000 : 500;
        json_t *doc = json_pack("{s:{s:[]}}", "metadata", "finalizers");
        json_t *patch = json_pack("{s:{s:[]}}", "metadata", "finalizers");
        json_t *df = json_object_get(json_object_get(doc, "metadata"), "finalizers");
        json_t *pf = json_object_get(json_object_get(patch, "metadata"), "finalizers");
        char b[32];
        for (size_t i = 0; i < n; i++) {
            snprintf(b, sizeof b, "d%zu", i);
            json_array_append_new(df, json_string(b));
            snprintf(b, sizeof b, "p%zu", i);
            json_array_append_new(pf, json_string(b));
        }
        kc_err err = KC_ERR_INIT;
        json_t *got = kc_smp_apply(pod, doc, patch, &err);
        if (big) {
            cr_expect_null(got);
            cr_expect_eq(err.reason, KC_ETOOLARGE, "%s", err.msg);
        } else {
            cr_assert(got, "%s", err.msg);
            json_t *f = json_object_get(json_object_get(got, "metadata"), "finalizers");
            cr_expect_eq(json_array_size(f), 2 * n);
            cr_expect_str_eq(json_string_value(json_array_get(f, 0)), "p0");
            cr_expect_str_eq(json_string_value(json_array_get(f, n)), "d0");
        }
        json_decref(got);
        json_decref(doc);
        json_decref(patch);
        kc_err_release(&err);
    }
}
