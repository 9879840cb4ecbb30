/* Internal interfaces of the scheduler, shared by its files and the unit tests (not a public API).
 *
 *   informers (pod.c/node.c parse) --inbox--> scheduler thread (scheduler.c):
 *       cache.c   nodes with their usage, assigned and assumed pods
 *       queue.c   activeQ / backoffQ / unschedulable / gated pods waiting for a cycle
 *       cycle.c   one scheduling cycle: filters.c, spread.c, affinity.c, scores.c, preempt.c
 *   --jobs--> binder.c workers: pods/binding, PodScheduled=False status, events
 *
 * Everything but the parse step and the binder runs on the scheduler thread only, so the cache
 * and the queue take no locks. Parsed pods and nodes are plain structs built once per object
 * version; filters and scores are pure functions over them. */
#ifndef KC_SCHEDULER_SCHED_H
#define KC_SCHEDULER_SCHED_H
#include "api/obj.h"
#include "api/selector.h"
#include "client/client.h"
#include "lib/map.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define KC_SCHED_MAX_SCALAR 8
#define KC_SCHED_MAX_SCORE 100
#define KC_SCHED_DEFAULT_MILLI_CPU 100                /* non-zero request used for scoring */
#define KC_SCHED_DEFAULT_MEMORY (200LL * 1024 * 1024) /* 200Mi */

/* n zeroed elements of size sz, or NULL when n is 0 (parsed pods keep no empty arrays). */
void *kc_sched_array(size_t n, size_t sz);

/* ---- resources ---- */

typedef struct kc_sched_res {
    int64_t milli_cpu, memory, ephemeral;
    int nscalar;
    struct {
        const char *name; /* interned (kc_sched_intern) */
        int64_t v;
    } scalar[KC_SCHED_MAX_SCALAR];
} kc_sched_res;

/* Interned copy of s (process lifetime; equal strings give equal pointers). Thread-safe. */
const char *kc_sched_intern(const char *s);
/* Adds (sign 1) or subtracts (sign -1) b into a. */
void kc_sched_res_add(kc_sched_res *a, const kc_sched_res *b, int sign);
int64_t kc_sched_res_scalar(const kc_sched_res *r, const char *interned);
/* Quantity JSON to Value() / MilliValue(); 0 when not a quantity. */
int64_t kc_sched_qty(json_t *v, bool milli);
/* A ResourceList (requests, allocatable) as a vector. */
void kc_sched_res_from_list(json_t *list, kc_sched_res *r);
/* The pod's request (resource.PodRequests); nonzero: with the 100m / 200Mi per-container defaults
 * used for scoring. */
void kc_sched_pod_requests(json_t *spec, bool nonzero, kc_sched_res *out);

/* ---- pods ---- */

enum {
    KC_SCHED_OP_IN,
    KC_SCHED_OP_NOTIN,
    KC_SCHED_OP_EXISTS,
    KC_SCHED_OP_DNE,
    KC_SCHED_OP_GT,
    KC_SCHED_OP_LT,
    KC_SCHED_OP_BAD
};
/* Taint effects; toleration effect 0 means "all effects". */
enum { KC_SCHED_NOSCHEDULE = 1, KC_SCHED_PREFER = 2, KC_SCHED_NOEXECUTE = 3, KC_SCHED_EFFECT_OTHER = 4 };

typedef struct kc_sched_req { /* NodeSelectorRequirement */
    char *key;
    int op;
    char **values;
    size_t nvalues;
} kc_sched_req;

typedef struct kc_sched_nterm { /* NodeSelectorTerm (with the weight of a preferred term) */
    kc_sched_req *exprs, *fields;
    size_t nexprs, nfields;
    int weight;
} kc_sched_nterm;

typedef struct kc_sched_pterm { /* PodAffinityTerm, parsed */
    kc_labelsel *sel;
    char **namespaces;
    size_t nns;
    kc_labelsel *ns_sel; /* NULL when namespaceSelector is absent */
    char *topology_key;
    int weight; /* preferred terms; 0 for required ones */
} kc_sched_pterm;

typedef struct kc_sched_spread { /* TopologySpreadConstraint */
    int max_skew, min_domains;
    char *key;
    bool hard; /* DoNotSchedule */
    kc_labelsel *sel;
    bool honor_affinity, honor_taints; /* nodeAffinityPolicy (default Honor), nodeTaintsPolicy (Ignore) */
} kc_sched_spread;

typedef struct kc_sched_toleration {
    char *key, *value;
    bool exists; /* operator Exists (else Equal; unknown operators never match) */
    bool bad_op;
    int effect;
} kc_sched_toleration;

typedef struct kc_sched_port {
    char ip[48], proto[8];
    int port;
} kc_sched_port;

struct kc_sched_node;

typedef struct kc_sched_pod {
    kc_obj *obj;                 /* reference: identity, labels, the object events are about */
    const char *key, *ns, *name; /* borrowed from obj */
    char *node_name;             /* "" when unassigned */
    char *nominated;             /* status.nominatedNodeName, "" when none */
    bool responsible;            /* schedulerName default-scheduler (or absent) */
    bool deleting, terminal, gated;
    int32_t priority;
    bool preempt_never;
    kc_sched_res req, nonzero; /* requests; with the per-container defaults for scoring */
    kc_sched_port *ports;
    size_t nports;
    kc_sched_toleration *tols;
    size_t ntols;
    json_t *node_selector; /* spec.nodeSelector or NULL */
    kc_sched_nterm *req_terms, *pref_terms;
    size_t nreq_terms, npref_terms;
    bool has_req_affinity;                     /* requiredDuringScheduling... present */
    kc_sched_pterm *aff, *anti, *paff, *panti; /* required / preferred (anti-)affinity */
    size_t naff, nanti, npaff, npanti;
    kc_sched_spread *spread;
    size_t nspread;
    char *owner_kind, *owner_name;                         /* controller ownerReference (default spreading) */
    char *cond_status, *cond_reason, *cond_msg, *cond_ltt; /* current PodScheduled condition */
    const char *insufficient[KC_SCHED_MAX_SCALAR];         /* "Insufficient <scalar>" (interned) */
    uint64_t spec_hash; /* spec + labels + annotations: a change may make it schedulable */
    /* cache bookkeeping */
    struct kc_sched_node *node;
    size_t node_idx;
    bool assumed;
} kc_sched_pod;

/* Parses a pod (takes a new reference to obj). Never fails: malformed parts are ignored. */
kc_sched_pod *kc_sched_pod_new(const kc_obj *obj);
/* Builds the object from a document (borrowed) first; for tests. */
kc_sched_pod *kc_sched_pod_from_json(json_t *doc);
void kc_sched_pod_free(kc_sched_pod *p);
bool kc_sched_pod_has_affinity(const kc_sched_pod *p); /* any pod (anti-)affinity term */
int kc_sched_parse_effect(const char *effect);         /* KC_SCHED_NOSCHEDULE..., 0 for "" */
/* Does pod match the term (its namespaces, namespaceSelector and labelSelector)? ns_labels are
 * the labels of pod's namespace (NULL if unknown). */
bool kc_sched_pterm_matches(const kc_sched_pterm *t, const kc_sched_pod *pod, json_t *ns_labels);
/* Parsing and freeing of terms (terms.c). */
kc_sched_nterm *kc_sched_nterms_parse(json_t *arr, bool preferred, size_t *n);
void kc_sched_nterms_free(kc_sched_nterm *t, size_t n);
kc_sched_pterm *kc_sched_pterms_parse(json_t *arr, bool preferred, const char *ns, json_t *labels, size_t *n);
void kc_sched_pterms_free(kc_sched_pterm *t, size_t n);
/* A label selector JSON plus `key in (labels[key])` for matchLabelKeys and `key notin (...)` for
 * mismatchLabelKeys (keys missing from labels are skipped). Nothing when sel is null. */
kc_labelsel *kc_sched_selector(json_t *sel, json_t *match_keys, json_t *mismatch_keys, json_t *labels);

/* ---- nodes ---- */

typedef struct kc_sched_taint {
    char *key, *value;
    int effect;
} kc_sched_taint;

typedef struct kc_sched_usedport {
    kc_sched_port p;
    int count;
} kc_sched_usedport;

typedef struct kc_sched_node {
    kc_obj *obj; /* NULL: only known from pods bound to it */
    char *name;
    json_t *labels; /* borrowed from obj; NULL when none */
    bool unschedulable;
    kc_sched_taint *taints;
    size_t ntaints;
    kc_sched_res alloc;
    int64_t max_pods;
    uint64_t hash; /* labels, taints, allocatable, unschedulable */
    /* usage (cache.c) */
    kc_sched_res requested, nonzero;
    kc_sched_pod **pods;
    size_t npods, cap;
    kc_sched_usedport *ports;
    size_t nports, cap_ports;
    size_t index; /* in the cache's node list */
    /* spread.c's memo: pods on this node matching one selector, valid while pods_gen holds */
    uint64_t pods_gen, memo_gen, memo_key;
    int64_t memo_count;
    bool memo_valid;
} kc_sched_node;

kc_sched_node *kc_sched_node_new(const kc_obj *obj);
kc_sched_node *kc_sched_node_from_json(json_t *doc); /* tests */
void kc_sched_node_free(kc_sched_node *n);
/* Moves the spec part (obj, labels, taints, allocatable...) of src into dst; frees src. */
void kc_sched_node_take_spec(kc_sched_node *dst, kc_sched_node *src);
const char *kc_sched_node_label(const kc_sched_node *n, const char *key); /* NULL when absent */
void kc_sched_node_add_pod(kc_sched_node *n, kc_sched_pod *p);
void kc_sched_node_remove_pod(kc_sched_node *n, kc_sched_pod *p);

/* ---- cache ---- */

typedef struct kc_sched_cache {
    kc_map nodes;         /* name -> node */
    kc_sched_node **list; /* nodes that have a Node object: the candidates, in round-robin order */
    size_t n, cap;
    kc_map pods;       /* key -> assigned or assumed pod */
    size_t n_anti;     /* pods with required anti-affinity */
    size_t n_affinity; /* pods with any pod (anti-)affinity term */
} kc_sched_cache;

kc_sched_cache *kc_sched_cache_new(void);
void kc_sched_cache_free(kc_sched_cache *c);
/* Adds or updates a node (takes n); returns true when it is new or its scheduling-relevant
 * fields changed. */
bool kc_sched_cache_set_node(kc_sched_cache *c, kc_sched_node *n);
void kc_sched_cache_del_node(kc_sched_cache *c, const char *name);
kc_sched_node *kc_sched_cache_node(kc_sched_cache *c, const char *name);
/* Adds or replaces an assigned pod (takes p; confirms an assumed one). */
void kc_sched_cache_add_pod(kc_sched_cache *c, kc_sched_pod *p);
/* Removes a pod; returns it (owned by the caller) or NULL. */
kc_sched_pod *kc_sched_cache_remove_pod(kc_sched_cache *c, const char *key);
kc_sched_pod *kc_sched_cache_pod(kc_sched_cache *c, const char *key);
/* The assume step: counts p (taken) on node before its binding is observed. */
void kc_sched_cache_assume(kc_sched_cache *c, kc_sched_pod *p, const char *node);

/* ---- filters ---- */

enum { KC_SCHED_OK = 0, KC_SCHED_UNSCHEDULABLE = 1, KC_SCHED_UNRESOLVABLE = 2 };
#define KC_SCHED_MAX_REASONS (3 + KC_SCHED_MAX_SCALAR)

typedef struct kc_sched_status {
    int code;
    int n;
    const char *reasons[KC_SCHED_MAX_REASONS]; /* static or interned strings */
} kc_sched_status;

extern const char KC_SCHED_ERR_NODE_NAME[], KC_SCHED_ERR_UNSCHEDULABLE[], KC_SCHED_ERR_TAINT[],
    KC_SCHED_ERR_AFFINITY[], KC_SCHED_ERR_PORTS[], KC_SCHED_ERR_SPREAD[], KC_SCHED_ERR_SPREAD_LABEL[],
    KC_SCHED_ERR_POD_AFFINITY[], KC_SCHED_ERR_POD_ANTI[], KC_SCHED_ERR_EXISTING_ANTI[];

bool kc_sched_tolerates(const kc_sched_toleration *t, size_t n, const kc_sched_taint *taint);
bool kc_sched_nterm_matches(const kc_sched_nterm *t, const kc_sched_node *n);
/* nodeSelector and required node affinity (GetRequiredNodeAffinity().Match). */
bool kc_sched_required_affinity(const kc_sched_pod *p, const kc_sched_node *n);
/* Tolerates every NoSchedule/NoExecute taint. */
bool kc_sched_tolerates_node(const kc_sched_pod *p, const kc_sched_node *n);

/* Each returns the status code and fills st on failure. */
int kc_sched_filter_unschedulable(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st);
int kc_sched_filter_node_name(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st);
int kc_sched_filter_taints(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st);
int kc_sched_filter_node_affinity(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st);
int kc_sched_filter_ports(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st);
int kc_sched_filter_fit(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st);
/* The node-local filters above in upstream's order. */
int kc_sched_filter_node(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st);

/* ---- per-cycle state (PreFilter / PreScore results) ---- */

typedef struct kc_sched_counts { /* "key=value" (or any string) -> count */
    kc_map m;
} kc_sched_counts;

void kc_sched_counts_add(kc_sched_counts *c, const char *k, const char *v, int64_t d);
int64_t kc_sched_counts_get(const kc_sched_counts *c, const char *k, const char *v, bool *found);
int64_t kc_sched_counts_min(const kc_sched_counts *c); /* 0 when empty */
void kc_sched_counts_release(kc_sched_counts *c);

struct kc_sched_volumes;
struct kc_sched_vstate;

/* Cluster lookups a cycle may need; all optional (tests leave them NULL). */
typedef struct kc_sched_lookup {
    void *ud;
    json_t *(*ns_labels)(void *ud, const char *ns); /* new reference or NULL */
    /* Selector of the Services/ReplicaSets/StatefulSets selecting p, for default spreading;
     * NULL or an empty selector: none. Owned by the caller. */
    kc_labelsel *(*default_selector)(void *ud, const kc_sched_pod *p);
    struct kc_sched_volumes *volumes; /* VolumeBinding's claims, volumes and classes (volume.c) */
} kc_sched_lookup;

typedef struct kc_sched_spread_state {
    const kc_sched_spread *c;
    kc_sched_counts counts; /* topology value -> matching pods */
    int64_t min;
    size_t domains;
} kc_sched_spread_state;

typedef struct kc_sched_cycle {
    kc_sched_cache *cache;
    kc_sched_pod *pod;
    const kc_sched_lookup *lk;
    json_t *ns_labels;
    /* InterPodAffinity */
    kc_sched_counts existing_anti, aff_counts, anti_counts;
    /* PodTopologySpread (hard constraints) */
    kc_sched_spread_state *spread;
    size_t nspread;
    /* VolumeBinding: the pod's claims; a PreFilter failure makes every node fail with it */
    struct kc_sched_vstate *vol;
    char *prefilter_msg;
} kc_sched_cycle;

void kc_sched_cycle_init(kc_sched_cycle *cy, kc_sched_cache *c, kc_sched_pod *p, const kc_sched_lookup *lk);
void kc_sched_cycle_release(kc_sched_cycle *cy);
/* All filters (node-local, spread, inter-pod affinity) for one node. */
int kc_sched_filter_all(kc_sched_cycle *cy, const kc_sched_node *n, kc_sched_status *st);

void kc_sched_affinity_prefilter(kc_sched_cycle *cy);
int kc_sched_affinity_filter(kc_sched_cycle *cy, const kc_sched_node *n, kc_sched_status *st);
void kc_sched_spread_prefilter(kc_sched_cycle *cy);
int kc_sched_spread_filter(kc_sched_cycle *cy, const kc_sched_node *n, kc_sched_status *st);

/* ---- VolumeBinding (volume.c) ---- */

typedef struct kc_sched_volumes kc_sched_volumes;
/* Called when a pod's claims are bound (bind) or could not be (fail), from volume.c's threads. */
typedef void (*kc_sched_vbind_fn)(void *ud, const kc_obj *pod, const char *node);
typedef void (*kc_sched_vfail_fn)(void *ud, const kc_obj *pod, const char *node, const kc_err *err);

/* Informers on claims, volumes and classes through c (borrowed); wake(ud) runs (on an informer
 * thread) whenever one changes, since that may make waiting pods schedulable. */
kc_sched_volumes *kc_sched_volumes_new(kc_client *c, void (*wake)(void *ud), void *ud);
void kc_sched_volumes_set_binder(kc_sched_volumes *v, kc_sched_vbind_fn bind, kc_sched_vfail_fn fail, void *ud);
bool kc_sched_volumes_wait_synced(kc_sched_volumes *v, int timeout_ms);
void kc_sched_volumes_free(kc_sched_volumes *v);
/* PreFilter: resolves the pod's claims into cy->vol, or sets cy->prefilter_msg. */
void kc_sched_volume_prefilter(kc_sched_cycle *cy);
int kc_sched_volume_filter(kc_sched_cycle *cy, const kc_sched_node *n, kc_sched_status *st);
void kc_sched_vstate_free(struct kc_sched_vstate *s);
/* PreBind for the chosen node: false when every claim of p is bound already (bind the pod now);
 * true when volume.c took the pod: it writes the volume bindings / selected-node annotations,
 * waits until the claims are bound and then calls bind (or fail). */
bool kc_sched_volume_prebind(kc_sched_volumes *v, kc_sched_cache *c, const kc_sched_pod *p, const char *node);

extern const char KC_SCHED_ERR_VOL_NODE[], KC_SCHED_ERR_VOL_BIND[], KC_SCHED_ERR_VOL_PV_MISSING[],
    KC_SCHED_ERR_VOL_RWOP[];

/* ---- scores ---- */

int64_t kc_sched_score_least_allocated(const kc_sched_pod *p, const kc_sched_node *n);
int64_t kc_sched_score_balanced(const kc_sched_pod *p, const kc_sched_node *n);
int64_t kc_sched_score_taints(const kc_sched_pod *p, const kc_sched_node *n);        /* raw: count */
int64_t kc_sched_score_node_affinity(const kc_sched_pod *p, const kc_sched_node *n); /* raw: weights */
/* DefaultNormalizeScore: scales to 0..100 by the maximum (reverse: 100 - that). */
void kc_sched_normalize(int64_t *s, size_t n, bool reverse);
/* Fills total[i] (added to) with the weighted, normalized sum of every score plugin for the
 * feasible nodes. */
void kc_sched_score_nodes(kc_sched_cycle *cy, kc_sched_node **nodes, size_t n, int64_t *total);
/* Raw scores of the plugins that need cluster state (normalized inside). */
void kc_sched_spread_score(kc_sched_cycle *cy, kc_sched_node **nodes, size_t n, int64_t *out);
void kc_sched_affinity_score(kc_sched_cycle *cy, kc_sched_node **nodes, size_t n, int64_t *out);

/* ---- one scheduling cycle ---- */

typedef struct kc_sched_ctx {
    kc_sched_cache *cache;
    const kc_sched_lookup *lk;
    size_t next_start;
    uint64_t rng;
    /* PostFilter (preemption) hook, see preempt.c; may be NULL for "no preemption message". */
    char *(*post_filter)(struct kc_sched_ctx *ctx, kc_sched_cycle *cy, kc_sched_node **failed,
                         const kc_sched_status *st, size_t n);
    /* Carries out a preemption decided by kc_sched_preempt: evict the victims (borrowed) and
     * nominate node for p. NULL: decide only. */
    void (*preempt)(void *ud, const kc_sched_pod *p, const kc_sched_node *node, kc_sched_pod *const *victims,
                    size_t nv);
    void *preempt_ud;
    /* scratch reused across cycles (sized for the node count) */
    kc_sched_node **feasible, **failed;
    kc_sched_status *st;
    size_t scratch_cap;
} kc_sched_ctx;

void kc_sched_ctx_release(kc_sched_ctx *ctx);

typedef struct kc_sched_result {
    kc_sched_node *node; /* chosen node, NULL when unschedulable */
    char *message;       /* owned: why not ("0/3 nodes are available: ...") */
    size_t evaluated, feasible;
} kc_sched_result;

/* Runs filters and scores for p over the cache; does not assume. */
void kc_sched_schedule(kc_sched_ctx *ctx, kc_sched_pod *p, kc_sched_result *r);
size_t kc_sched_num_feasible_to_find(size_t nodes);
/* "0/N nodes are available: <counts>." from the failed nodes' statuses (owned). */
char *kc_sched_fit_message(size_t all, const kc_sched_status *st, size_t n);
/* DefaultPreemption's PostFilter: picks a node and the fewest lower-priority victims that make
 * the pod fit and hands them to ctx->preempt (returning NULL), or explains why not
 * ("preemption: ..."). */
char *kc_sched_preempt(kc_sched_ctx *ctx, kc_sched_cycle *cy, kc_sched_node **failed,
                       const kc_sched_status *st, size_t n);

/* ---- the scheduling queue ---- */

typedef struct kc_sched_queue kc_sched_queue;
enum { KC_SCHED_Q_ACTIVE, KC_SCHED_Q_BACKOFF, KC_SCHED_Q_UNSCHED, KC_SCHED_Q_GATED, KC_SCHED_Q_INFLIGHT };

kc_sched_queue *kc_sched_queue_new(uint64_t initial_backoff_ms, uint64_t max_backoff_ms);
void kc_sched_queue_free(kc_sched_queue *q);
/* Adds or updates a pending pod (takes p). */
void kc_sched_queue_set(kc_sched_queue *q, kc_sched_pod *p, uint64_t now);
void kc_sched_queue_remove(kc_sched_queue *q, const char *key);
bool kc_sched_queue_has(kc_sched_queue *q, const char *key);
int kc_sched_queue_where(kc_sched_queue *q, const char *key); /* -1 when absent */
/* Moves due backoff pods to activeQ and pops the next pod (ownership stays with the queue
 * until done/failed); NULL when none; *wait_ms then says when the next backoff expires. */
kc_sched_pod *kc_sched_queue_pop(kc_sched_queue *q, uint64_t now, uint64_t *wait_ms);
/* After a cycle: scheduled (the pod is handed to the caller) or failed (back into
 * unschedulable, or backoff when error or a cluster event arrived meanwhile). */
kc_sched_pod *kc_sched_queue_done(kc_sched_queue *q, const char *key);
void kc_sched_queue_failed(kc_sched_queue *q, const char *key, bool error, uint64_t now);
/* Re-adds a pod whose binding failed (backoff). */
void kc_sched_queue_requeue(kc_sched_queue *q, kc_sched_pod *p, uint64_t now);
/* A cluster event: unschedulable pods move to backoffQ or activeQ. */
void kc_sched_queue_move_all(kc_sched_queue *q, uint64_t now);
/* Unschedulable pods that waited longer than max_ms move too. */
void kc_sched_queue_flush(kc_sched_queue *q, uint64_t now, uint64_t max_ms);
size_t kc_sched_queue_len(kc_sched_queue *q, int where);


#endif
