/* The garbage collector: its metadata scanner and graph rules on their own (table-driven), then
 * the collector against a real server in this process: ConfigMaps owning ConfigMaps, deleted
 * Background, Foreground (blocked by a dependent that is held by a finalizer) and Orphan;
 * dangling owner uids (also found at start-up); several owners; a cluster-scoped dependent
 * naming a namespaced owner kind. */
#include "apiserver/apiserver.h"
#include "client/client.h"
#include "controllers/gc.h"
#include "controllers/gc_graph.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int CM, SC;

/* ---- scanner ---- */

typedef struct slice_case {
    const char *json, *field, *want; /* want NULL: absent */
} slice_case;

Test(gc_meta, slices_of_metadata_members)
{
    static const slice_case cases[] = {
        {"{\"metadata\":{\"name\":\"a\",\"ownerReferences\":[{\"uid\":\"u1\"}]}}", "ownerReferences",
         "[{\"uid\":\"u1\"}]"},
        {"{\"metadata\":{\"name\":\"a\"}}", "ownerReferences", NULL},
        {"{\"metadata\":{\"name\":\"a\",\"ownerReferences\":null}}", "ownerReferences", NULL},
        /* a nested metadata (pod template) does not count, nor keys inside strings */
        {"{\"spec\":{\"template\":{\"metadata\":{\"ownerReferences\":[1]}}},\"metadata\":{\"name\":\"a\"}}",
         "ownerReferences", NULL},
        {"{\"metadata\":{\"annotations\":{\"x\":\"\\\"ownerReferences\\\":[2]\"},\"name\":\"a\"}}",
         "ownerReferences", NULL},
        {"{\"data\":{\"k\":\"}]{[\\\\\"},\"metadata\":{\"finalizers\":[\"a\",\"b]\"],\"name\":\"a\"}}",
         "finalizers", "[\"a\",\"b]\"]"},
        {"{ \"metadata\" : { \"finalizers\" : [ \"x\" ] } }", "finalizers", "[ \"x\" ]"},
        /* malformed or odd input never reads past the end */
        {"{\"metadata\":{\"ownerReferences\":[1,2", "ownerReferences", NULL},
        {"{\"metadata\":{\"ownerReferences\":\"[\\", "ownerReferences", NULL},
        {"", "finalizers", NULL},
        {"[]", "finalizers", NULL},
        {"{\"metadata\":5}", "finalizers", NULL},
        {"{\"metadata\":{}}", "finalizers", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* the scanner reads only json and len: raw text, whitespace included */
        kc_obj o = {.json = (char *)cases[i].json, .len = strlen(cases[i].json)};
        size_t len = 0;
        const char *s = kc_gc_meta_slice(&o, cases[i].field, &len);
        if (!cases[i].want)
            cr_assert_null(s, "case %zu", i);
        else
            cr_assert(s && len == strlen(cases[i].want) && !memcmp(s, cases[i].want, len),
                      "case %zu: got %.*s", i, (int)len, s ? s : "");
    }
}

Test(gc_meta, ref_resources)
{
    cr_assert_eq(kc_gc_ref_resource("apps/v1", "ReplicaSet"), kc_resource_find("apps", "v1", "replicasets"));
    cr_assert_eq(kc_gc_ref_resource("v1", "ConfigMap"), kc_resource_find("", "v1", "configmaps"));
    cr_assert_eq(kc_gc_ref_resource("apps/v2", "ReplicaSet"), -1);
    cr_assert_eq(kc_gc_ref_resource("example.com/v1", "Widget"), -1);
    cr_assert_eq(kc_gc_ref_resource(NULL, "Pod"), -1);
}

/* ---- graph rules ---- */

typedef struct worklog {
    char items[64][80];
    int n;
} worklog;

static void record(void *ud, char what, const char *uid)
{
    worklog *w = ud;
    if (w->n < 64) snprintf(w->items[w->n++], 80, "%c:%s", what, uid);
}

static bool asked(worklog *w, const char *item)
{
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->items[i], item)) return true;
    return false;
}

static kc_obj *gobj(const char *name, const char *uid, const char *owners, const char *deletion,
                    const char *fins)
{
    char buf[1024];
    snprintf(
        buf, sizeof buf,
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\","
        "\"uid\":\"%s\"%s%s%s%s%s%s}}",
        name, uid, owners ? ",\"ownerReferences\":" : "", owners ? owners : "",
        deletion ? ",\"deletionTimestamp\":\"2024-01-01T00:00:00Z\"" : "", fins ? ",\"finalizers\":" : "",
        fins ? fins : "", "");
    kc_err err = KC_ERR_INIT;
    kc_obj *o = kc_obj_from_bytes(CM, buf, strlen(buf), &err);
    cr_assert_not_null(o, "%s", err.msg);
    return o;
}

#define REF(name, uid, block)                                                                                \
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"" name "\",\"uid\":\"" uid                     \
    "\",\"blockOwnerDeletion\":" block "}"

Test(gc_graph, work_asked_for)
{
    CM = kc_resource_find("", "v1", "configmaps");
    worklog w = {0};
    kc_gc_graph *g = kc_gc_graph_new(record, &w);
    kc_obj *owner = gobj("o", "U-O", NULL, NULL, NULL);
    kc_obj *dep = gobj("d", "U-D", "[" REF("o", "U-O", "true") "]", NULL, NULL);
    kc_gc_graph_upsert(g, dep);
    cr_assert(asked(&w, "D:U-D"), "an owner not in the graph must be checked");
    w.n = 0;
    kc_gc_graph_upsert(g, owner);
    kc_gc_graph_upsert(g, dep);
    cr_assert_eq(w.n, 0, "solid owner: no work (got %s)", w.items[0]);
    cr_assert(kc_gc_graph_owners_solid(g, "U-D"));
    kc_gc_dep *d;
    cr_assert_eq(kc_gc_graph_dependents(g, "U-O", &d), 1);
    cr_assert_str_eq(d[0].id.name, "d");
    cr_assert(d[0].block);
    free(d);

    kc_obj *fg = gobj("o", "U-O", NULL, "yes", "[\"foregroundDeletion\"]");
    kc_gc_graph_upsert(g, fg);
    cr_assert(asked(&w, "D:U-O") && asked(&w, "D:U-D"), "foreground: owner and dependents");
    cr_assert_not(kc_gc_graph_owners_solid(g, "U-D"), "a foreground owner is not solid");
    w.n = 0;
    cr_assert_eq(kc_gc_graph_ask_blocking(g, "U-O"), 1);
    cr_assert(asked(&w, "D:U-D"), "a blocking dependent not yet deleting is asked about");
    cr_assert(kc_gc_graph_has_dependents(g, "U-O"));
    w.n = 0;
    kc_obj *going = gobj("d", "U-D", "[" REF("o", "U-O", "true") "]", "yes", "[\"x\"]");
    kc_gc_graph_upsert(g, going);
    cr_assert_eq(kc_gc_graph_ask_blocking(g, "U-O"), 1, "a deleting dependent still blocks");
    cr_assert_not(asked(&w, "D:U-D"), "but is not asked about again");
    kc_obj_unref(going);
    w.n = 0;
    kc_gc_graph_remove(g, dep);
    cr_assert(asked(&w, "D:U-O"), "a foreground owner hears of its dependent's removal");
    cr_assert_eq(kc_gc_graph_dependents(g, "U-O", &d), 0);
    free(d);
    cr_assert_eq(kc_gc_graph_ask_blocking(g, "U-O"), 0);
    cr_assert_not(kc_gc_graph_has_dependents(g, "U-O"));

    w.n = 0;
    kc_gc_graph_upsert(g, dep);
    kc_obj *orph = gobj("o", "U-O", NULL, "yes", "[\"orphan\"]");
    kc_gc_graph_upsert(g, orph);
    cr_assert(asked(&w, "O:U-O"));
    cr_assert(asked(&w, "R:U-D/U-O"), "the dependents of an orphaning owner are asked to drop it");
    w.n = 0;
    kc_gc_graph_upsert(g, orph);
    cr_assert_not(asked(&w, "R:U-D/U-O"), "only when orphaning starts");
    kc_obj *dep2 = gobj("d2", "U-D2", "[" REF("o", "U-O", "true") "]", NULL, NULL);
    kc_gc_graph_upsert(g, dep2);
    cr_assert(asked(&w, "R:U-D2/U-O"), "a dependent seen later is asked too");
    w.n = 0;
    kc_gc_graph_remove(g, dep);
    kc_gc_graph_remove(g, dep2);
    cr_assert(asked(&w, "O:U-O"), "the orphaning owner hears of its dependents going");
    kc_obj_unref(dep2);
    kc_gc_ident id;
    cr_assert(kc_gc_graph_get(g, "U-O", &id));
    cr_assert(id.orphan && id.deleting && !id.foreground);

    /* an owner reference naming the right uid but another name is not solid */
    w.n = 0;
    kc_obj *odd = gobj("e", "U-E", "[" REF("other-name", "U-O", "false") "]", NULL, NULL);
    kc_gc_graph_upsert(g, odd);
    cr_assert(asked(&w, "D:U-E"));
    w.n = 0;
    kc_gc_graph_remove(g, orph);
    cr_assert(asked(&w, "D:U-E"), "dependents are asked about when their owner goes");
    cr_assert_eq(kc_gc_graph_len(g), 1);
    kc_obj_unref(owner);
    kc_obj_unref(dep);
    kc_obj_unref(fg);
    kc_obj_unref(orph);
    kc_obj_unref(odd);
    kc_gc_graph_free(g);
}

/* ---- against a server ---- */

static test_server ts;
static kc_apiserver *srv;
static kc_client *cl;
static void *gcp;

static void start(void)
{
    srv = test_server_start(&ts, "gc", true);
    CM = kc_resource_find("", "v1", "configmaps");
    SC = kc_resource_find("storage.k8s.io", "v1", "storageclasses");
    cl = kc_apiserver_client(srv, "test");
}

static void gc_on(void)
{
    gcp = kc_gc_start(kc_apiserver_client(srv, "generic-garbage-collector"));
    cr_assert_not_null(gcp);
}

static void stop(void)
{
    kc_gc_stop(gcp);
    gcp = NULL;
    kc_client_free(cl);
    test_server_destroy(&ts);
}

TestSuite(gc, .init = start, .fini = stop, .timeout = 60);

/* Creates a ConfigMap in default with the given ownerReferences (JSON array text or NULL) and
 * finalizers; returns its uid (static buffer per call site: copy it). */
static void mk(const char *name, const char *owners, const char *fins, char uid[64])
{
    json_t *doc = json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                            "name", name, "data", "k", "v");
    json_t *md = json_object_get(doc, "metadata");
    if (owners) json_object_set_new(md, "ownerReferences", json_loads(owners, 0, NULL));
    if (fins) json_object_set_new(md, "finalizers", json_loads(fins, 0, NULL));
    kc_err err = KC_ERR_INIT;
    kc_obj *o;
    cr_assert_eq(kc_client_create(cl, CM, "default", doc, &o, &err), 0, "create %s: %s", name, err.msg);
    if (uid) snprintf(uid, 64, "%s", o->uid);
    kc_obj_unref(o);
    json_decref(doc);
}

static char *ref(const char *name, const char *uid, bool block)
{
    char *s;
    cr_assert(asprintf(&s, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"%s\",\"uid\":\"%s\"%s}",
                       name, uid, block ? ",\"blockOwnerDeletion\":true" : "") > 0);
    return s;
}

/* The object (reference) or NULL. */
static kc_obj *get(const char *name)
{
    kc_err err = KC_ERR_INIT;
    kc_obj *o = NULL;
    if (kc_client_get(cl, CM, "default", name, &o, &err) < 0) o = NULL;
    kc_err_release(&err);
    return o;
}

static bool exists(const char *name)
{
    kc_obj *o = get(name);
    kc_obj_unref(o);
    return o != NULL;
}

static bool wait_gone(const char *name, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        if (!exists(name)) return true;
        usleep(10000);
    }
    return false;
}

static void del(const char *name, const char *policy)
{
    kc_err err = KC_ERR_INIT;
    json_t *opts = policy ? json_pack("{s:s}", "propagationPolicy", policy) : NULL;
    cr_assert_eq(kc_client_delete(cl, CM, "default", name, opts, &err), 0, "delete %s: %s", name, err.msg);
    json_decref(opts);
}

/* Owner "o" with dependents "d1", "d2" (blockOwnerDeletion on both). */
static void family(char ouid[64])
{
    mk("o", NULL, NULL, ouid);
    char *r = ref("o", ouid, true), refs[512];
    snprintf(refs, sizeof refs, "[%s]", r);
    mk("d1", refs, NULL, NULL);
    mk("d2", refs, NULL, NULL);
    free(r);
}

static bool has_owner_refs(const char *name)
{
    kc_obj *o = get(name);
    cr_assert_not_null(o, "%s must exist", name);
    bool has = kc_gc_meta_slice(o, "ownerReferences", &(size_t){0}) != NULL;
    kc_obj_unref(o);
    return has;
}

Test(gc, background_deletes_dependents)
{
    gc_on();
    char ouid[64];
    family(ouid);
    usleep(200000);
    cr_assert(exists("d1") && exists("d2"), "dependents of a present owner stay");
    del("o", NULL);
    cr_assert(wait_gone("d1", 5000), "d1 collected");
    cr_assert(wait_gone("d2", 5000), "d2 collected");
}

Test(gc, foreground_waits_for_blocking_dependents)
{
    gc_on();
    char ouid[64];
    mk("o", NULL, NULL, ouid);
    char *r = ref("o", ouid, true), refs[512];
    snprintf(refs, sizeof refs, "[%s]", r);
    mk("d1", refs, NULL, NULL);
    mk("held", refs, "[\"example.com/hold\"]", NULL);
    free(r);
    del("o", "Foreground");
    cr_assert(wait_gone("d1", 5000), "d1 deleted");
    usleep(300000);
    kc_obj *o = get("o");
    cr_assert_not_null(o, "the owner waits for its blocking dependent");
    cr_assert(o->deleting);
    cr_assert(kc_gc_has_finalizer(o, "foregroundDeletion"));
    kc_obj_unref(o);
    kc_obj *h = get("held");
    cr_assert(h && h->deleting, "the held dependent is being deleted");
    kc_obj_unref(h);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_patch(cl, CM, "default", "held", NULL, "application/merge-patch+json",
                                 "{\"metadata\":{\"finalizers\":null}}", NULL, &err),
                 0, "%s", err.msg);
    cr_assert(wait_gone("held", 5000));
    cr_assert(wait_gone("o", 5000), "the owner goes once its blocking dependents are gone");
}

Test(gc, foreground_non_blocking_and_nested)
{
    gc_on();
    char ouid[64], muid[64];
    mk("o", NULL, NULL, ouid);
    char *r = ref("o", ouid, false), refs[512];
    snprintf(refs, sizeof refs, "[%s]", r);
    free(r);
    mk("loose", refs, "[\"example.com/hold\"]", NULL); /* does not block the owner */
    r = ref("o", ouid, true);
    snprintf(refs, sizeof refs, "[%s]", r);
    free(r);
    mk("mid", refs, NULL, muid);
    r = ref("mid", muid, true);
    snprintf(refs, sizeof refs, "[%s]", r);
    free(r);
    mk("leaf", refs, NULL, NULL);
    del("o", "Foreground");
    cr_assert(wait_gone("o", 5000), "only blocking dependents hold the owner");
    cr_assert(wait_gone("mid", 5000));
    cr_assert(wait_gone("leaf", 5000), "dependents of dependents go too");
    kc_obj *l = get("loose");
    cr_assert(l && l->deleting, "the non-blocking dependent was deleted too (held by its finalizer)");
    kc_obj_unref(l);
    kc_err err = KC_ERR_INIT;
    kc_client_patch(cl, CM, "default", "loose", NULL, "application/merge-patch+json",
                    "{\"metadata\":{\"finalizers\":null}}", NULL, &err);
}

Test(gc, orphan_keeps_dependents)
{
    gc_on();
    char ouid[64];
    family(ouid);
    del("o", "Orphan");
    cr_assert(wait_gone("o", 5000), "the owner goes once its dependents are orphaned");
    usleep(300000);
    cr_assert(exists("d1") && exists("d2"));
    cr_assert_not(has_owner_refs("d1"), "d1 lost its ownerReference");
    cr_assert_not(has_owner_refs("d2"), "d2 lost its ownerReference");
}

Test(gc, dangling_owner_uid_collected)
{
    gc_on();
    mk("same-name", NULL, NULL, NULL);
    char *r1 = ref("ghost", "00000000-0000-0000-0000-000000000000", false);
    char *r2 = ref("same-name", "11111111-1111-1111-1111-111111111111", false), refs[512];
    snprintf(refs, sizeof refs, "[%s]", r1);
    mk("orphaned", refs, NULL, NULL);
    snprintf(refs, sizeof refs, "[%s]", r2);
    mk("wrong-uid", refs, NULL, NULL);
    free(r1);
    free(r2);
    cr_assert(wait_gone("orphaned", 5000), "an owner that never existed");
    cr_assert(wait_gone("wrong-uid", 5000), "an owner name now held by another uid counts as absent");
    cr_assert(exists("same-name"));
}

Test(gc, dangling_found_at_startup)
{
    char *r = ref("ghost", "22222222-2222-2222-2222-222222222222", true), refs[512];
    snprintf(refs, sizeof refs, "[%s]", r);
    free(r);
    mk("early", refs, NULL, NULL);
    mk("keep", NULL, NULL, NULL);
    usleep(100000);
    cr_assert(exists("early"), "no collector yet");
    gc_on();
    cr_assert(wait_gone("early", 5000), "collected once the collector starts");
    cr_assert(exists("keep"));
}

Test(gc, several_owners)
{
    gc_on();
    char a[64], b[64];
    mk("a", NULL, NULL, a);
    mk("b", NULL, NULL, b);
    char *ra = ref("a", a, true), *rb = ref("b", b, false), refs[1024];
    snprintf(refs, sizeof refs, "[%s,%s]", ra, rb);
    free(ra);
    free(rb);
    mk("shared", refs, NULL, NULL);
    del("a", NULL);
    /* the reference to the gone owner is removed; the object stays for b */
    kc_obj *o = NULL;
    for (int t = 0; t < 500; t++, usleep(10000)) {
        o = get("shared");
        cr_assert_not_null(o, "a dependent with a remaining owner must stay");
        size_t len;
        const char *s = kc_gc_meta_slice(o, "ownerReferences", &len);
        if (s && !memmem(s, len, a, strlen(a))) break;
        kc_obj_unref(o);
        o = NULL;
    }
    cr_assert_not_null(o, "the reference to a was not removed");
    size_t len;
    const char *s = kc_gc_meta_slice(o, "ownerReferences", &len);
    cr_assert(memmem(s, len, b, strlen(b)), "the reference to b stays");
    kc_obj_unref(o);
    del("b", NULL);
    cr_assert(wait_gone("shared", 5000), "collected once every owner is gone");
}

Test(gc, foreground_owner_among_solid_ones)
{
    gc_on();
    char a[64], b[64];
    mk("a", NULL, NULL, a);
    mk("b", NULL, NULL, b);
    char *ra = ref("a", a, true), *rb = ref("b", b, false), refs[1024];
    snprintf(refs, sizeof refs, "[%s,%s]", ra, rb);
    free(ra);
    free(rb);
    mk("shared", refs, NULL, NULL);
    del("a", "Foreground");
    cr_assert(wait_gone("a", 5000), "the foreground owner goes once the dependent stops blocking it");
    cr_assert(exists("shared"), "kept for its solid owner");
    kc_obj *o = get("shared");
    size_t len;
    const char *s = kc_gc_meta_slice(o, "ownerReferences", &len);
    cr_assert(s && !memmem(s, len, a, strlen(a)) && memmem(s, len, b, strlen(b)));
    kc_obj_unref(o);
}

Test(gc, cluster_scoped_dependent_of_namespaced_kind_kept)
{
    gc_on();
    char *r = ref("ghost", "33333333-3333-3333-3333-333333333333", false), body[1024];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\",\"metadata\":{\"name\":\"sc1\","
             "\"ownerReferences\":[%s]},\"provisioner\":\"example.com/p\"}",
             r);
    free(r);
    json_t *doc = json_loads(body, 0, NULL);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(cl, SC, NULL, doc, NULL, &err), 0, "%s", err.msg);
    json_decref(doc);
    usleep(500000);
    kc_obj *o;
    cr_assert_eq(kc_client_get(cl, SC, NULL, "sc1", &o, &err), 0,
                 "an unresolvable reference is not collected");
    kc_obj_unref(o);
}
