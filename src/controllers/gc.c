/* Garbage collector (semantics 7, upstream's garbagecollector package): one informer per
 * served resource except events feeds the ownership graph (gc_graph.c); workers act on what
 * the graph asks for, always re-reading the live object (and absent-looking owners) first.
 *
 *   'D' uid  attempt to delete (attempt_delete):
 *       item gone / uid changed ............................ nothing
 *       item deleting with foregroundDeletion .............. process_foreground: ask its
 *            blocking dependents (blockOwnerDeletion) to go; none left -> drop the finalizer
 *       item deleting otherwise ............................. nothing (it is going)
 *       owners classified (classify): solid / dangling (absent, or another uid under that
 *       name) / waiting (foregroundDeletion):
 *            some solid ..... patch away the references to dangling and waiting owners
 *            waiting, and the item has dependents ..... DELETE Foreground
 *            else ........... DELETE with the item's own policy (orphan/foregroundDeletion
 *                             finalizer already set) or Background
 *   'R' dep/owner  strip_ref: patch the dependent's reference to an orphaning owner away
 *   'O' uid  attempt_orphan: the owner is orphan-deleting and the graph holds no dependent of
 *            it any more -> drop its `orphan` finalizer (the API server then removes it)
 *
 * Every write carries the item's uid as a precondition (and a resourceVersion for
 * read-modify-write patches, retried on conflict). Owner references whose kind is not served
 * are left alone (upstream retries them forever); a cluster-scoped dependent naming a
 * namespaced kind, or a namespaced one whose owner uid lives in another namespace, gets the
 * Warning event OwnerRefInvalidNamespace. Namespace deletion is the API server's. */
#include "controllers/gc.h"
#include "controllers/framework.h"
#include "controllers/gc_graph.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define GC_WORKERS 16 /* each write waits for its commit: throughput is workers / commit latency */
#define PATCH_RETRIES 5

typedef struct gc {
    kc_client *c;
    kc_recorder *rec;
    kc_gc_graph *graph;
    kc_controller *ctl;
    kc_informer *inf[32];
    size_t ninf;
    pthread_t starter;
} gc;

enum ref_state { REF_SOLID, REF_DANGLING, REF_WAITING, REF_UNRESOLVED, REF_INVALID };

static void log_err(const char *what, const kc_gc_ident *id, const kc_err *err)
{
    fprintf(stderr, "garbage-collector: %s %s %s%s%s: %s\n", what, kc_resources[id->res].resource, id->ns,
            id->ns[0] ? "/" : "", id->name, err->msg);
}

/* ---- live reads and writes ---- */

/* The live object of id: 1 with *out, 0 if gone (or replaced by another uid), -1 on error. */
static int get_live(gc *g, const kc_gc_ident *id, kc_obj **out)
{
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_get(g->c, id->res, id->ns[0] ? id->ns : NULL, id->name, out, &err);
    if (rc < 0) {
        rc = err.reason == KC_ENOTFOUND ? 0 : -1;
        if (rc < 0) log_err("get", id, &err);
        kc_err_release(&err);
        return rc;
    }
    if (strcmp((*out)->uid, id->uid)) {
        kc_obj_unref(*out);
        return 0;
    }
    return 1;
}

static int delete_item(gc *g, const kc_gc_ident *id, const char *policy)
{
    kc_err err = KC_ERR_INIT;
    json_t *opts = json_pack("{s:s,s:{s:s}}", "propagationPolicy", policy, "preconditions", "uid", id->uid);
    int rc = kc_client_delete(g->c, id->res, id->ns[0] ? id->ns : NULL, id->name, opts, &err);
    json_decref(opts);
    if (rc < 0 && (err.reason == KC_ENOTFOUND || err.reason == KC_ECONFLICT)) rc = 0;
    if (rc < 0) log_err("delete", id, &err);
    kc_err_release(&err);
    return rc;
}

typedef bool (*drop_fn)(json_t *elem, const void *arg);

/* Merge patch setting metadata.<field> to list (removed when empty), with uid and
 * resourceVersion preconditions: 1 written, 0 object gone, -1 error, -2 conflict. */
static int patch_list(gc *g, const kc_gc_ident *id, uint64_t rev, const char *field, json_t *list)
{
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)rev);
    json_t *p = json_pack("{s:{s:s,s:s,s:O}}", "metadata", "uid", id->uid, "resourceVersion", rv, field,
                          json_array_size(list) ? list : json_null());
    char *body = json_dumps(p, JSON_COMPACT);
    kc_err err = KC_ERR_INIT;
    const char *ns = id->ns[0] ? id->ns : NULL;
    int rc = 1;
    if (kc_client_patch(g->c, id->res, ns, id->name, NULL, "application/merge-patch+json", body, NULL, &err) <
        0)
        rc = err.reason == KC_ECONFLICT ? -2 : err.reason == KC_ENOTFOUND ? 0 : -1;
    if (rc == -1) log_err("patch", id, &err);
    kc_err_release(&err);
    free(body);
    json_decref(p);
    return rc;
}

/* Read-modify-write of metadata.<field> without the elements drop says so: 1 written,
 * 0 nothing to do (or object gone), -1 error, -2 conflict. */
static int rewrite_once(gc *g, const kc_gc_ident *id, const char *field, drop_fn drop, const void *arg)
{
    kc_obj *o;
    int rc = get_live(g, id, &o);
    if (rc <= 0) return rc;
    json_t *doc = kc_obj_parse(o), *list = json_object_get(json_object_get(doc, "metadata"), field), *v;
    json_t *keep = json_array();
    size_t i;
    json_array_foreach(list, i, v) if (!drop(v, arg)) json_array_append(keep, v);
    rc = json_array_size(keep) != json_array_size(list) ? patch_list(g, id, o->rev, field, keep) : 0;
    json_decref(keep);
    json_decref(doc);
    kc_obj_unref(o);
    return rc;
}

static int rewrite_list(gc *g, const kc_gc_ident *id, const char *field, drop_fn drop, const void *arg)
{
    for (int i = 0; i < PATCH_RETRIES; i++) {
        int rc = rewrite_once(g, id, field, drop, arg);
        if (rc != -2) return rc < 0 ? -1 : 0;
    }
    return -1;
}

static bool drop_string(json_t *elem, const void *arg)
{
    return json_is_string(elem) && !strcmp(json_string_value(elem), arg);
}

/* arg: a JSON array of uids */
static bool drop_ref(json_t *elem, const void *arg)
{
    const char *uid = json_string_value(json_object_get(elem, "uid"));
    size_t i;
    json_t *u;
    json_array_foreach((json_t *)arg, i, u) if (uid && !strcmp(uid, json_string_value(u))) return true;
    return false;
}

static int remove_finalizer(gc *g, const kc_gc_ident *id, const char *fin)
{
    return rewrite_list(g, id, "finalizers", drop_string, fin);
}

/* ---- attempt to delete ---- */

/* Where the owner named by ref stands, for the dependent o; -1 on a transient error. */
static int classify(gc *g, const kc_obj *o, json_t *ref, enum ref_state *st)
{
    const char *uid = json_string_value(json_object_get(ref, "uid"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    int res = kc_gc_ref_resource(json_string_value(json_object_get(ref, "apiVersion")),
                                 json_string_value(json_object_get(ref, "kind")));
    *st = REF_UNRESOLVED;
    if (res < 0 || !uid || !name) return 0;
    bool namespaced = kc_resources[res].namespaced;
    if (namespaced && !o->ns[0]) return *st = REF_INVALID, 0;
    kc_gc_ident owner = {.res = res};
    snprintf(owner.uid, sizeof owner.uid, "%s", uid);
    snprintf(owner.ns, sizeof owner.ns, "%s", namespaced ? o->ns : "");
    snprintf(owner.name, sizeof owner.name, "%s", name);
    kc_obj *cur;
    int rc = get_live(g, &owner, &cur);
    if (rc < 0) return -1;
    if (rc == 0) {
        kc_gc_ident elsewhere;
        *st = REF_DANGLING;
        if (namespaced && kc_gc_graph_get(g->graph, uid, &elsewhere) && strcmp(elsewhere.ns, o->ns))
            kc_event(g->rec, o, "Warning", "OwnerRefInvalidNamespace",
                     "ownerRef [%s/%s, namespace: %s, name: %s, uid: %s] does not exist in namespace \"%s\"",
                     kc_resource_api_version(&kc_resources[res]), kc_resources[res].kind, o->ns, name, uid,
                     o->ns);
        return 0;
    }
    *st = cur->deleting && kc_gc_has_finalizer(cur, "foregroundDeletion") ? REF_WAITING : REF_SOLID;
    kc_obj_unref(cur);
    return 0;
}

/* The policy an ownerless item is deleted with: what its own finalizers already ask for. */
static const char *own_policy(const kc_obj *o)
{
    if (kc_gc_has_finalizer(o, "orphan")) return "Orphan";
    if (kc_gc_has_finalizer(o, "foregroundDeletion")) return "Foreground";
    return "Background";
}

/* Upstream's attemptToDeleteItem for an item that is not being deleted. */
static int decide(gc *g, const kc_gc_ident *id, const kc_obj *o)
{
    json_t *doc = kc_obj_parse(o), *ref, *gone = json_array();
    json_t *refs = json_object_get(json_object_get(doc, "metadata"), "ownerReferences");
    size_t i, nsolid = 0, nwaiting = 0;
    int rc = 0;
    json_array_foreach(refs, i, ref)
    {
        enum ref_state st;
        if ((rc = classify(g, o, ref, &st)) < 0) goto out;
        if (st == REF_INVALID)
            kc_event(g->rec, o, "Warning", "OwnerRefInvalidNamespace",
                     "ownerRef [%s/%s, namespace: , name: %s, uid: %s] does not exist in namespace \"\"",
                     json_string_value(json_object_get(ref, "apiVersion")),
                     json_string_value(json_object_get(ref, "kind")),
                     json_string_value(json_object_get(ref, "name")),
                     json_string_value(json_object_get(ref, "uid")));
        if (st == REF_INVALID || st == REF_UNRESOLVED) goto out; /* not collectable */
        if (st == REF_SOLID)
            nsolid++;
        else
            json_array_append(gone, json_object_get(ref, "uid"));
        nwaiting += st == REF_WAITING;
    }
    if (!json_array_size(refs)) goto out;
    if (nsolid)
        rc = json_array_size(gone) ? rewrite_list(g, id, "ownerReferences", drop_ref, gone) : 0;
    else if (nwaiting && kc_gc_graph_has_dependents(g->graph, id->uid))
        rc = delete_item(g, id, "Foreground");
    else
        rc = delete_item(g, id, own_policy(o));
out:
    json_decref(gone);
    json_decref(doc);
    return rc;
}

/* An owner deleting in the foreground: its dependents that block it must go first (those
 * already being deleted are on their way); then the finalizer goes and the API server removes
 * the owner. Each dependent's update or removal asks about the owner again. */
static int process_foreground(gc *g, const kc_gc_ident *id)
{
    if (kc_gc_graph_ask_blocking(g->graph, id->uid)) return 0;
    return remove_finalizer(g, id, "foregroundDeletion");
}

static int attempt_delete(gc *g, const char *uid)
{
    kc_gc_ident id;
    if (!kc_gc_graph_get(g->graph, uid, &id)) return 0;
    if (id.deleting && !id.foreground) return 0;
    if (!id.foreground && kc_gc_graph_owners_solid(g->graph, uid)) return 0;
    kc_obj *o;
    int rc = get_live(g, &id, &o);
    if (rc <= 0) return rc;
    if (o->deleting)
        rc = kc_gc_has_finalizer(o, "foregroundDeletion") ? process_foreground(g, &id) : 0;
    else
        rc = decide(g, &id, o);
    kc_obj_unref(o);
    return rc;
}

/* ---- orphan ---- */

/* The owner's `orphan` finalizer goes once the graph holds no dependent of it: each was asked
 * ('R') to drop its reference, and each change of a dependent asks again. */
static int attempt_orphan(gc *g, const char *uid)
{
    kc_gc_ident id;
    kc_obj *o;
    if (!kc_gc_graph_get(g->graph, uid, &id)) return 0;
    int rc = get_live(g, &id, &o);
    if (rc <= 0) return rc;
    bool orphan = o->deleting && kc_gc_has_finalizer(o, "orphan");
    kc_obj_unref(o);
    if (!orphan || kc_gc_graph_has_dependents(g->graph, uid)) return 0;
    return remove_finalizer(g, &id, "orphan");
}

/* key: "dependent-uid/owner-uid" */
static int strip_ref(gc *g, const char *key)
{
    const char *slash = strchr(key, '/');
    char dep[64];
    kc_gc_ident id;
    if (!slash || (size_t)(slash - key) >= sizeof dep) return 0;
    snprintf(dep, sizeof dep, "%.*s", (int)(slash - key), key);
    if (!kc_gc_graph_get(g->graph, dep, &id)) return 0;
    json_t *uids = json_pack("[s]", slash + 1);
    int rc = rewrite_list(g, &id, "ownerReferences", drop_ref, uids);
    json_decref(uids);
    return rc;
}

static int sync(void *ud, const char *key)
{
    gc *g = ud;
    if (!strncmp(key, "D:", 2)) return attempt_delete(g, key + 2);
    if (!strncmp(key, "O:", 2)) return attempt_orphan(g, key + 2);
    if (!strncmp(key, "R:", 2)) return strip_ref(g, key + 2);
    return 0;
}

/* ---- informers, start and stop ---- */

static void work(void *ud, char what, const char *uid)
{
    gc *g = ud;
    char key[192];
    snprintf(key, sizeof key, "%c:%s", what, uid);
    kc_wq_add(kc_controller_queue(g->ctl), key);
}

static void on_add(void *ud, const kc_obj *o)
{
    kc_gc_graph_upsert(((gc *)ud)->graph, o);
}

static void on_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    gc *g = ud;
    if (old->uid && cur->uid && strcmp(old->uid, cur->uid)) kc_gc_graph_remove(g->graph, old);
    kc_gc_graph_upsert(g->graph, cur);
}

static void on_delete(void *ud, const kc_obj *o)
{
    kc_gc_graph_remove(((gc *)ud)->graph, o);
}

/* Events are neither owners nor collected dependents (upstream ignores them as well). */
static bool watched(size_t res)
{
    return strcmp(kc_resources[res].kind, "Event") != 0;
}

/* The workers start once every informer has listed (start-up runs before the server's loop,
 * so the wait happens on a thread of its own). */
static void *starter(void *p)
{
    gc *g = p;
    kc_controller_run(g->ctl, g->inf, g->ninf);
    return NULL;
}

void *kc_gc_start(kc_client *c)
{
    gc *g = xcalloc(1, sizeof *g);
    g->c = c;
    g->rec = kc_recorder_new(c, "garbage-collector-controller", NULL);
    g->ctl = kc_controller_new("garbagecollector", GC_WORKERS, sync, g);
    g->graph = kc_gc_graph_new(work, g);
    for (size_t r = 0; r < kc_nresources && g->ninf < sizeof g->inf / sizeof *g->inf; r++) {
        if (!watched(r)) continue;
        kc_informer *inf = kc_informer_new(c, (int)r, NULL, NULL, NULL);
        kc_informer_add_handlers(inf, &(kc_handlers){on_add, on_update, on_delete}, g);
        g->inf[g->ninf++] = inf;
    }
    for (size_t i = 0; i < g->ninf; i++)
        kc_informer_start(g->inf[i]);
    pthread_create(&g->starter, NULL, starter, g);
    return g;
}

void kc_gc_stop(void *ctl)
{
    gc *g = ctl;
    if (!g) return;
    for (size_t i = 0; i < g->ninf; i++)
        kc_informer_stop(g->inf[i]);
    pthread_join(g->starter, NULL);
    kc_controller_free(g->ctl);
    for (size_t i = 0; i < g->ninf; i++)
        kc_informer_free(g->inf[i]);
    kc_gc_graph_free(g->graph);
    kc_recorder_free(g->rec);
    kc_client_free(g->c);
    free(g);
}
