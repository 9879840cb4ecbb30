/* DaemonSet controller internals shared by daemonset.c (informers, handlers, caches),
 * daemonset_sync.c (the sync) and daemonset_rules.c (pure rules of semantics 4: node eligibility,
 * the pod each node gets, the rolling-update arithmetic, per-node pod choices, status counts).
 * Not a public interface; the unit tests include it to test the rules alone. Framework types are
 * named by struct tag so that this header does not pull in client/events.h. */
#ifndef KC_CONTROLLERS_DAEMONSET_INT_H
#define KC_CONTROLLERS_DAEMONSET_INT_H
#include "api/obj.h"
#include "client/client.h"
#include "lib/map.h"
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define KC_DS_MAX_PAR 32 /* concurrent API calls of one sync (kc_parallel) */

#define KC_DS_BURST 500 /* creates or deletes per sync (burstReplicas, semantics 0.11) */
#define KC_DS_HASH_LABEL "controller-revision-hash"
#define KC_DS_GEN_LABEL "pod-template-generation"
#define KC_DS_GEN_ANNOTATION "deprecated.daemonset.template.generation"

/* ---- nodes (daemonset_rules.c) ---- */

/* What eligibility needs from one Node revision: immutable once built, shared by reference. */
typedef struct kc_ds_node {
    int refs; /* atomic */
    uint64_t rev;
    char *name;
    json_t *labels; /* object (possibly empty) */
    json_t *taints; /* array (possibly empty) */
} kc_ds_node;

/* Facts of a Node document (borrowed); one reference. */
kc_ds_node *kc_ds_node_new(const char *name, uint64_t rev, json_t *node);
kc_ds_node *kc_ds_node_ref(kc_ds_node *n);
void kc_ds_node_unref(kc_ds_node *n);
/* Labels and taints equal (what a DaemonSet's decisions depend on). */
bool kc_ds_node_same(const kc_ds_node *a, const kc_ds_node *b);

/* ---- the pod a node gets (4.3) ---- */

/* Adds the daemon tolerations (Exists, no tolerationSeconds) that spec lacks: not-ready and
 * unreachable NoExecute; disk-, memory-, pid-pressure and unschedulable NoSchedule; and
 * network-unavailable NoSchedule when spec.hostNetwork. spec is modified in place. */
void kc_ds_add_tolerations(json_t *spec);
/* Replaces spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution's terms by
 * the single term matchFields metadata.name In [node] (other affinity kept). In place. */
void kc_ds_pin_node(json_t *spec, const char *node);
/* The node a daemon pod targets: spec.nodeName, else the first matchFields metadata.name In
 * value of the required node affinity; NULL when neither (borrowed from pod). */
const char *kc_ds_pod_target(json_t *pod);

/* ---- eligibility (4.4) ---- */

/* Does toleration tol tolerate taint (ToleratesTaint)? */
bool kc_ds_tolerates(json_t *tol, json_t *taint);
/* Does node satisfy spec's nodeSelector and required node affinity (matchExpressions over labels,
 * matchFields over metadata.name; terms ORed, an empty or invalid term matches nothing)? */
bool kc_ds_node_fits(json_t *spec, const kc_ds_node *n);
/* NodeShouldRunDaemonPod for a template spec that already carries the daemon tolerations. */
void kc_ds_should_run(json_t *spec, const kc_ds_node *n, bool *should_run, bool *should_continue);

/* ---- pods ---- */

typedef struct kc_ds_pod {
    const kc_obj *o; /* borrowed */
    uint64_t rev;
    char ctrl_uid[40]; /* "" without a ControllerRef */
    char node[254];    /* target node ("" when none can be found) */
    char hash[16];     /* controller-revision-hash label */
    char gen[24];      /* pod-template-generation label */
    bool bound;        /* spec.nodeName set */
    bool deleting, failed, succeeded, ready;
    int64_t created;     /* creationTimestamp, unix seconds */
    int64_t ready_since; /* Ready lastTransitionTime, unix seconds (0: unknown) */
} kc_ds_pod;

void kc_ds_pod_facts(const kc_obj *o, json_t *doc, kc_ds_pod *p);
bool kc_ds_pod_available(const kc_ds_pod *p, int min_ready, int64_t now);
/* Updated: the pod's hash label is hash, or its generation label is gen (gen may be NULL). */
bool kc_ds_pod_updated(const kc_ds_pod *p, const char *hash, const char *gen);
/* podByCreationTimestampAndPhase: bound first, then older, then by name. */
void kc_ds_sort_pods(kc_ds_pod **v, size_t n);

/* ---- rolling update arithmetic (4.6) ---- */

/* An int-or-percent scaled against total, percentages rounded UP; def when absent/invalid. */
int kc_ds_scaled(json_t *v, int total, int def);
/* maxSurge and maxUnavailable of a DaemonSet spec against desired (both 0 -> unavailable 1). */
void kc_ds_surge_unavailable(json_t *spec, int desired, int *surge, int *unavailable);

/* The pods of one node, as the manage and rolling-update passes see them. */
typedef struct kc_ds_slot {
    const kc_ds_node *node; /* NULL: the target node does not exist */
    const char *name;       /* node name */
    kc_ds_pod **pods;       /* sorted with kc_ds_sort_pods */
    size_t npods;
    bool should_run, should_continue;
} kc_ds_slot;

/* podsShouldBeOnNode (4.5): *create set when the node needs a pod; pods to delete appended to
 * del (room for slot->npods). surge: maxSurge > 0. Failed pods are deleted unless in_backoff. */
void kc_ds_node_plan(const kc_ds_slot *s, const char *hash, const char *gen, bool surge, int min_ready,
                     int64_t now, bool in_backoff, bool *create, kc_ds_pod **del, size_t *ndel,
                     bool *failed_seen);
/* findUpdatedPodsOnNode: false when a node has two new or two old live pods. */
bool kc_ds_split(const kc_ds_slot *s, const char *hash, const char *gen, kc_ds_pod **newp, kc_ds_pod **oldp);

/* Status counts (4.7). */
typedef struct kc_ds_counts {
    int desired, current, misscheduled, ready, available, updated;
} kc_ds_counts;
void kc_ds_count(const kc_ds_slot *slots, size_t n, const char *hash, const char *gen, int min_ready,
                 int64_t now, kc_ds_counts *out);

/* ---- the controller ---- */

typedef struct kc_dsctl {
    kc_client *c;
    struct kc_informer *dss, *pods, *nodes, *revs;
    struct kc_controller *ctl;
    struct kc_recorder *rec;
    struct kc_expectations *exp;
    int DS, POD, CR;
    pthread_mutex_t mu; /* the maps below */
    kc_map nodefacts;   /* node name -> kc_ds_node of its last revision */
    kc_map podfacts;    /* pod key -> facts of its last revision read by a sync */
    kc_map dels;        /* pod key -> owner key: deletions expected */
    kc_map backoff;     /* "<ds key>/<node>" -> failed-pod backoff entry */
    pthread_t starter;
} kc_dsctl;

/* Snapshot of every node's facts (references), array owned by the caller. */
size_t kc_ds_nodes(kc_dsctl *d, kc_ds_node ***out);
void kc_ds_nodes_free(kc_ds_node **v, size_t n);
/* Facts of pod o (cached per revision). */
void kc_ds_facts(kc_dsctl *d, const kc_obj *o, kc_ds_pod *out);
/* Deletions about to be issued (pod keys) / one observed or failed. */
void kc_ds_expect_deletion(kc_dsctl *d, const char *owner, const char *pod_key);
void kc_ds_deletion_observed(kc_dsctl *d, const char *pod_key);
/* Failed-pod backoff per (DaemonSet, node): true while in backoff (*delay_ms set); else starts
 * the next step (1 s doubling to 15 min). */
bool kc_ds_backoff(kc_dsctl *d, const char *ds_key, const char *node, int64_t *delay_ms);

/* The sync of one DaemonSet key; the runner's kc_sync_fn. */
int kc_ds_sync(void *ud, const char *key);

#endif
