/* The garbage collector's ownership graph (see gc_graph.h): nodes by uid, dependents by owner
 * uid, and the rules saying which change asks for which work. Owns the metadata scanning that
 * keeps observation cheap: an object's ownerReferences are kept as their serialized text and
 * parsed only when that text changes, so status updates of ten thousand pods cost a byte
 * comparison each. Does not talk to the API server (gc.c does). */
#include "controllers/gc_graph.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct gref {
    char *uid, *name;
    int res;
    bool block;
} gref;

typedef struct gnode {
    char *uid, *ns, *name;
    int res;
    gref *owners;
    size_t nowners;
    char *owners_raw; /* serialized metadata.ownerReferences, NULL when none */
    bool deleting, foreground, orphan;
} gnode;

typedef struct gdeps {
    char *owner;
    kc_map set; /* dependent uid -> gnode* (borrowed from nodes) */
} gdeps;

struct kc_gc_graph {
    pthread_mutex_t mu;
    kc_map nodes; /* uid -> gnode* */
    kc_map deps;  /* owner uid -> gdeps* */
    kc_gc_work_fn work;
    void *ud;
};

/* ---- scanning stored JSON ---- */

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* Past the string starting at p ('"'), or NULL. */
static const char *skip_str(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past the value starting at p, or NULL. */
static const char *skip_val(const char *p, const char *e)
{
    if (p >= e) return NULL;
    if (*p == '"') return skip_str(p, e);
    if (*p != '{' && *p != '[') {
        while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
            p++;
        return p;
    }
    int depth = 0;
    for (; p < e; p++) {
        if (*p == '"') {
            if (!(p = skip_str(p, e))) return NULL;
            p--;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* The value of member `key` of the object at p, with *vend its end; NULL if absent. */
static const char *member(const char *p, const char *e, const char *key, const char **vend)
{
    size_t kl = strlen(key);
    p = ws(p, e);
    if (p >= e || *p != '{') return NULL;
    for (p = ws(p + 1, e); p < e && *p == '"'; p = ws(p + 1, e)) {
        const char *ks = p + 1, *ke = skip_str(p, e);
        if (!ke) return NULL;
        bool match = (size_t)(ke - 1 - ks) == kl && !memcmp(ks, key, kl);
        p = ws(ke, e);
        if (p >= e || *p != ':') return NULL;
        const char *vs = ws(p + 1, e), *ve = skip_val(vs, e);
        if (!ve) return NULL;
        if (match) {
            *vend = ve;
            return vs;
        }
        p = ws(ve, e);
        if (p >= e || *p != ',') return NULL;
    }
    return NULL;
}

const char *kc_gc_meta_slice(const kc_obj *o, const char *field, size_t *len)
{
    const char *e = o->json + o->len, *me, *ve;
    const char *md = member(o->json, e, "metadata", &me);
    const char *v = md ? member(md, me, field, &ve) : NULL;
    if (!v || (ve - v == 4 && !memcmp(v, "null", 4))) return NULL;
    *len = (size_t)(ve - v);
    return v;
}

bool kc_gc_has_finalizer(const kc_obj *o, const char *fin)
{
    size_t len;
    const char *s = kc_gc_meta_slice(o, "finalizers", &len);
    if (!s) return false;
    json_t *a = json_loadb(s, len, JSON_DECODE_ANY, NULL), *v;
    size_t i;
    bool found = false;
    json_array_foreach(a, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), fin)) found = true;
    json_decref(a);
    return found;
}

int kc_gc_ref_resource(const char *api_version, const char *kind)
{
    if (!api_version || !kind) return -1;
    const char *slash = strchr(api_version, '/');
    char group[128] = "";
    const char *version = api_version;
    if (slash) {
        snprintf(group, sizeof group, "%.*s", (int)(slash - api_version), api_version);
        version = slash + 1;
    }
    int res = kc_resource_by_kind(group, kind);
    if (res >= 0 && strcmp(kc_resources[res].version, version)) res = -1;
    return res;
}

/* ---- nodes ---- */

static void node_clear_owners(gnode *n)
{
    for (size_t i = 0; i < n->nowners; i++) {
        free(n->owners[i].uid);
        free(n->owners[i].name);
    }
    free(n->owners);
    free(n->owners_raw);
    n->owners = NULL;
    n->nowners = 0;
    n->owners_raw = NULL;
}

static void node_free(gnode *n)
{
    if (!n) return;
    node_clear_owners(n);
    free(n->uid);
    free(n->ns);
    free(n->name);
    free(n);
}

/* Parses the serialized ownerReferences into n->owners (entries without a uid are skipped). */
static void node_set_owners(gnode *n, const char *raw, size_t len)
{
    node_clear_owners(n);
    if (!raw) return;
    n->owners_raw = xstrndup(raw, len);
    json_t *a = json_loadb(raw, len, JSON_DECODE_ANY, NULL), *r;
    size_t i;
    n->owners = xcalloc(json_array_size(a) + 1, sizeof *n->owners);
    json_array_foreach(a, i, r)
    {
        const char *uid = json_string_value(json_object_get(r, "uid"));
        if (!uid || !uid[0]) continue;
        gref *g = &n->owners[n->nowners++];
        g->uid = xstrdup(uid);
        g->name = xstrdup(json_string_value(json_object_get(r, "name")) ?: "");
        g->res = kc_gc_ref_resource(json_string_value(json_object_get(r, "apiVersion")),
                                    json_string_value(json_object_get(r, "kind")));
        g->block = json_is_true(json_object_get(r, "blockOwnerDeletion"));
    }
    json_decref(a);
}

static bool same_raw(const gnode *n, const char *raw, size_t len)
{
    if (!raw || !n->owners_raw) return !raw && !n->owners_raw;
    return strlen(n->owners_raw) == len && !memcmp(n->owners_raw, raw, len);
}

static void deps_link(kc_gc_graph *g, const char *owner, gnode *dep)
{
    gdeps *d = kc_map_get(&g->deps, owner);
    if (!d) {
        d = xcalloc(1, sizeof *d);
        d->owner = xstrdup(owner);
        kc_map_put(&g->deps, d->owner, d);
    }
    kc_map_put(&d->set, dep->uid, dep);
}

static void deps_unlink(kc_gc_graph *g, const char *owner, gnode *dep)
{
    gdeps *d = kc_map_get(&g->deps, owner);
    if (!d) return;
    kc_map_del(&d->set, dep->uid);
    if (kc_map_len(&d->set)) return;
    kc_map_del(&g->deps, owner);
    kc_map_release(&d->set);
    free(d->owner);
    free(d);
}

/* Present with the referenced identity (upstream: same uid, and the reference's coordinates
 * match what was observed), and not waiting for its dependents. */
static bool ref_solid(kc_gc_graph *g, const gnode *dep, const gref *r)
{
    gnode *o = kc_map_get(&g->nodes, r->uid);
    if (!o || o->res != r->res || strcmp(o->name, r->name) || o->foreground) return false;
    return !kc_resources[o->res].namespaced || !strcmp(o->ns, dep->ns);
}

static bool owners_solid(kc_gc_graph *g, const gnode *n)
{
    for (size_t i = 0; i < n->nowners; i++)
        if (!ref_solid(g, n, &n->owners[i])) return false;
    return true;
}

/* Does dep's reference to owner have blockOwnerDeletion? */
static bool blocks(const gnode *dep, const char *owner)
{
    for (size_t i = 0; i < dep->nowners; i++)
        if (dep->owners[i].block && !strcmp(dep->owners[i].uid, owner)) return true;
    return false;
}

/* Owners that wait for their dependents are told that one of theirs changed or went. */
static void unlink_owners(kc_gc_graph *g, gnode *n)
{
    for (size_t i = 0; i < n->nowners; i++) {
        gnode *o = kc_map_get(&g->nodes, n->owners[i].uid);
        if (o && o->foreground) g->work(g->ud, 'D', o->uid);
        if (o && o->orphan) g->work(g->ud, 'O', o->uid);
        deps_unlink(g, n->owners[i].uid, n);
    }
}

/* 'R' "dependent-uid/owner-uid": strip that reference. */
static void ask_strip(kc_gc_graph *g, const char *dep, const char *owner)
{
    char key[160];
    snprintf(key, sizeof key, "%s/%s", dep, owner);
    g->work(g->ud, 'R', key);
}

/* A node whose owner is orphaning its dependents is asked to drop that owner. */
static void strip_orphaning_owners(kc_gc_graph *g, gnode *n)
{
    for (size_t i = 0; i < n->nowners; i++) {
        gnode *o = kc_map_get(&g->nodes, n->owners[i].uid);
        if (o && o->orphan) ask_strip(g, n->uid, o->uid);
    }
}

static void ask_dependents(kc_gc_graph *g, const char *uid, char what)
{
    gdeps *d = kc_map_get(&g->deps, uid);
    const char *k;
    for (size_t it = 0; d && kc_map_next(&d->set, &it, &k, NULL);) {
        if (what == 'R')
            ask_strip(g, k, uid);
        else
            g->work(g->ud, what, k);
    }
}

/* ---- the graph ---- */

kc_gc_graph *kc_gc_graph_new(kc_gc_work_fn work, void *ud)
{
    kc_gc_graph *g = xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    g->work = work;
    g->ud = ud;
    return g;
}

void kc_gc_graph_free(kc_gc_graph *g)
{
    if (!g) return;
    void *v;
    for (size_t it = 0; kc_map_next(&g->deps, &it, NULL, &v);) {
        kc_map_release(&((gdeps *)v)->set);
        free(((gdeps *)v)->owner);
        free(v);
    }
    for (size_t it = 0; kc_map_next(&g->nodes, &it, NULL, &v);)
        node_free(v);
    kc_map_release(&g->deps);
    kc_map_release(&g->nodes);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static gnode *node_new(const kc_obj *o)
{
    gnode *n = xcalloc(1, sizeof *n);
    n->uid = xstrdup(o->uid);
    n->ns = xstrdup(o->ns ? o->ns : "");
    n->name = xstrdup(o->name);
    n->res = o->res;
    return n;
}

/* Upstream's processGraphChanges for an add or update, in three steps: owner links, deletion
 * state, then the work the new state asks for. */
void kc_gc_graph_upsert(kc_gc_graph *g, const kc_obj *o)
{
    if (!o->uid || !o->uid[0]) return;
    size_t len = 0;
    const char *raw = kc_gc_meta_slice(o, "ownerReferences", &len);
    pthread_mutex_lock(&g->mu);
    gnode *n = kc_map_get(&g->nodes, o->uid);
    bool fresh = !n;
    if (fresh) {
        n = node_new(o);
        kc_map_put(&g->nodes, n->uid, n);
    }
    if (fresh || !same_raw(n, raw, len)) {
        unlink_owners(g, n);
        node_set_owners(n, raw, len);
        for (size_t i = 0; i < n->nowners; i++)
            deps_link(g, n->owners[i].uid, n);
    }
    bool was_fg = n->foreground, was_orphan = n->orphan;
    n->deleting = o->deleting;
    n->foreground = o->deleting && kc_gc_has_finalizer(o, "foregroundDeletion");
    n->orphan = o->deleting && kc_gc_has_finalizer(o, "orphan");
    if (!n->deleting && !owners_solid(g, n)) g->work(g->ud, 'D', n->uid);
    strip_orphaning_owners(g, n);
    if (n->foreground) g->work(g->ud, 'D', n->uid);
    if (n->foreground && !was_fg) ask_dependents(g, n->uid, 'D');
    if (n->orphan) g->work(g->ud, 'O', n->uid);
    if (n->orphan && !was_orphan) ask_dependents(g, n->uid, 'R');
    pthread_mutex_unlock(&g->mu);
}

void kc_gc_graph_remove(kc_gc_graph *g, const kc_obj *o)
{
    if (!o->uid) return;
    pthread_mutex_lock(&g->mu);
    gnode *n = kc_map_get(&g->nodes, o->uid);
    if (n) {
        unlink_owners(g, n);
        kc_map_del(&g->nodes, n->uid);
        ask_dependents(g, n->uid, 'D');
        node_free(n);
    }
    pthread_mutex_unlock(&g->mu);
}

static void ident_copy(kc_gc_ident *out, const gnode *n)
{
    out->res = n->res;
    snprintf(out->uid, sizeof out->uid, "%s", n->uid);
    snprintf(out->ns, sizeof out->ns, "%s", n->ns);
    snprintf(out->name, sizeof out->name, "%s", n->name);
    out->deleting = n->deleting;
    out->foreground = n->foreground;
    out->orphan = n->orphan;
}

bool kc_gc_graph_get(kc_gc_graph *g, const char *uid, kc_gc_ident *out)
{
    pthread_mutex_lock(&g->mu);
    gnode *n = kc_map_get(&g->nodes, uid);
    if (n) ident_copy(out, n);
    pthread_mutex_unlock(&g->mu);
    return n != NULL;
}

size_t kc_gc_graph_dependents(kc_gc_graph *g, const char *uid, kc_gc_dep **out)
{
    pthread_mutex_lock(&g->mu);
    gdeps *d = kc_map_get(&g->deps, uid);
    size_t n = 0;
    *out = xcalloc((d ? kc_map_len(&d->set) : 0) + 1, sizeof **out);
    void *v;
    for (size_t it = 0; d && kc_map_next(&d->set, &it, NULL, &v);) {
        gnode *dep = v;
        kc_gc_dep *x = &(*out)[n++];
        ident_copy(&x->id, dep);
        x->block = blocks(dep, uid);
    }
    pthread_mutex_unlock(&g->mu);
    return n;
}

size_t kc_gc_graph_ask_blocking(kc_gc_graph *g, const char *uid)
{
    pthread_mutex_lock(&g->mu);
    gdeps *d = kc_map_get(&g->deps, uid);
    size_t n = 0;
    void *v;
    for (size_t it = 0; d && kc_map_next(&d->set, &it, NULL, &v);) {
        gnode *dep = v;
        if (!blocks(dep, uid)) continue;
        n++;
        if (!dep->deleting) g->work(g->ud, 'D', dep->uid);
    }
    pthread_mutex_unlock(&g->mu);
    return n;
}

bool kc_gc_graph_has_dependents(kc_gc_graph *g, const char *uid)
{
    pthread_mutex_lock(&g->mu);
    bool has = kc_map_get(&g->deps, uid) != NULL;
    pthread_mutex_unlock(&g->mu);
    return has;
}

bool kc_gc_graph_owners_solid(kc_gc_graph *g, const char *uid)
{
    pthread_mutex_lock(&g->mu);
    gnode *n = kc_map_get(&g->nodes, uid);
    bool solid = !n || owners_solid(g, n);
    pthread_mutex_unlock(&g->mu);
    return solid;
}

size_t kc_gc_graph_len(kc_gc_graph *g)
{
    pthread_mutex_lock(&g->mu);
    size_t n = kc_map_len(&g->nodes);
    pthread_mutex_unlock(&g->mu);
    return n;
}
