/* The garbage collector's ownership graph (private to controllers/gc*.c), upstream's
 * GraphBuilder "uidToNode" in a form fed directly by informer handlers:
 *
 *   nodes:       uid -> node {resource, namespace, name, owner references, deleting,
 *                             foreground (deleting + foregroundDeletion finalizer),
 *                             orphan (deleting + orphan finalizer)}
 *   dependents:  owner uid -> set of dependent nodes (the owner itself may be absent)
 *
 * Every change asks for work through the callback, never doing any itself:
 *   'D' uid   attempt to delete: the node has an owner that is not solid in the graph (absent,
 *             or foreground-deleting), or the node is itself foreground-deleting (its blocking
 *             dependents must go first), or one of its owners was removed;
 *   'O' uid   the node is orphan-deleting (or one of its dependents changed or went while it
 *             is): once it has no dependents left, its `orphan` finalizer goes;
 *   'R' "dependent-uid/owner-uid"   strip the reference to an orphan-deleting owner (asked for
 *             every dependent when the owner starts orphaning, and for a dependent observed
 *             later), so that thousands of dependents are patched by all workers at once.
 * The graph may lag the server; the worker re-reads live objects before acting, and every
 * later event asks again, so a decision is never taken on the graph's word alone except
 * "all owners present" (if one is gone after all, its delete event asks again).
 * Thread-safe: one mutex; the callback is called with it held and must only enqueue. */
#ifndef KC_CONTROLLERS_GC_GRAPH_H
#define KC_CONTROLLERS_GC_GRAPH_H
#include "api/obj.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct kc_gc_graph kc_gc_graph;
typedef void (*kc_gc_work_fn)(void *ud, char what, const char *uid);

/* A node's identity and deletion state, copied out of the graph. */
typedef struct kc_gc_ident {
    int res;
    char uid[64], ns[64], name[256];
    bool deleting, foreground, orphan;
} kc_gc_ident;

/* A dependent of some owner; block: its reference to that owner has blockOwnerDeletion. */
typedef struct kc_gc_dep {
    kc_gc_ident id;
    bool block;
} kc_gc_dep;

kc_gc_graph *kc_gc_graph_new(kc_gc_work_fn work, void *ud);
void kc_gc_graph_free(kc_gc_graph *g);
/* An object was observed (added or changed). Same-key objects with another uid must be
 * removed first (the caller sees both states). */
void kc_gc_graph_upsert(kc_gc_graph *g, const kc_obj *o);
/* An object was observed gone: its dependents are asked about, its foreground owners too. */
void kc_gc_graph_remove(kc_gc_graph *g, const kc_obj *o);
/* Copies the node of uid into *out; false if the graph does not hold it. */
bool kc_gc_graph_get(kc_gc_graph *g, const char *uid, kc_gc_ident *out);
/* The dependents of owner uid (array owned by the caller, free()), their count returned. */
size_t kc_gc_graph_dependents(kc_gc_graph *g, const char *uid, kc_gc_dep **out);
/* Counts the dependents of uid whose reference to it has blockOwnerDeletion, asking ('D')
 * about those not yet being deleted. Iterates without copying (foreground deletion of an
 * owner with thousands of dependents calls it once per dependent gone). */
size_t kc_gc_graph_ask_blocking(kc_gc_graph *g, const char *uid);
bool kc_gc_graph_has_dependents(kc_gc_graph *g, const char *uid);
/* True when every owner of uid is present in the graph (same uid, kind, name and namespace)
 * and not foreground-deleting; also true for a node without owners or not held. */
bool kc_gc_graph_owners_solid(kc_gc_graph *g, const char *uid);
/* Nodes held (tests, logs). */
size_t kc_gc_graph_len(kc_gc_graph *g);

/* ---- metadata helpers shared with gc.c ---- */
/* The serialized value of metadata.<field> inside o->json (borrowed; *len its length), or NULL.
 * Scans the stored JSON without building values. */
const char *kc_gc_meta_slice(const kc_obj *o, const char *field, size_t *len);
/* True if metadata.finalizers holds fin. */
bool kc_gc_has_finalizer(const kc_obj *o, const char *fin);
/* Resource of an ownerReference's apiVersion + kind, or -1 if not served. */
int kc_gc_ref_resource(const char *api_version, const char *kind);

#endif
