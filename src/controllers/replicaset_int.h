/* ReplicaSet controller internals shared by replicaset.c (informers, handlers, sync) and
 * replicaset_pods.c (pure rules: pod facts, the scale-down ranking of semantics 1.4, status
 * counts of 1.5). Not a public interface; the unit tests include it to test the rules alone.
 * Framework types are named by struct tag, so this header stays light. */
#ifndef KC_CONTROLLERS_REPLICASET_INT_H
#define KC_CONTROLLERS_REPLICASET_INT_H
#include "api/obj.h"
#include "api/selector.h"
#include "client/client.h"
#include "lib/map.h"
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define KC_RS_MAX_PAR 64 /* concurrent API calls of one sync (kc_parallel) */

#define KC_RS_BURST 500 /* creates or deletes per sync (burstReplicas) */

/* What the controller needs to know about one pod revision, read once from its JSON. */
typedef struct kc_rs_pod {
    const kc_obj *o; /* borrowed */
    uint64_t rev;
    char ctrl_uid[40];    /* "" when the pod has no ControllerRef */
    bool active;          /* semantics 0.7 */
    bool ready;           /* condition Ready is True */
    int phase;            /* Pending (and anything else) 0, Unknown 1, Running 2 */
    bool scheduled;       /* spec.nodeName set */
    int64_t ready_ns;     /* Ready lastTransitionTime (ns since epoch), 0: zero time */
    int64_t created_ns;   /* creationTimestamp, 0: zero time */
    int32_t cost;         /* controller.kubernetes.io/pod-deletion-cost, 0 when absent or invalid */
    int restarts;         /* max restartCount of regular containers */
    int sidecar_restarts; /* max restartCount of restartable (sidecar) init containers */
    int rank;             /* related active pods on the same node (filled by the caller) */
} kc_rs_pod;

/* Fills p from the pod object and its parsed document. */
void kc_rs_pod_facts(const kc_obj *o, json_t *doc, kc_rs_pod *p);
/* Semantics 1.4: true when a should be deleted before b, at now (ns since epoch). */
bool kc_rs_pod_before(const kc_rs_pod *a, const kc_rs_pod *b, int64_t now_ns);
/* Sorts pointers to pods into deletion order. */
void kc_rs_rank_sort(kc_rs_pod **pods, size_t n, int64_t now_ns);

/* Status counts (semantics 1.5) and the delay after which availability next changes. */
typedef struct kc_rs_counts {
    int replicas, fully_labeled, ready, available;
    int64_t next_available_ms; /* > 0: a Ready pod becomes Available after this many ms */
} kc_rs_counts;
void kc_rs_count(kc_rs_pod **pods, size_t n, json_t *template_labels, int min_ready, int64_t now_ms,
                 kc_rs_counts *out);

/* Builds the new status from the old one (borrowed, may be NULL): counts, observedGeneration,
 * the ReplicaFailure condition set (reason/message non-NULL) or removed. New reference. */
json_t *kc_rs_status(json_t *old, const kc_rs_counts *c, int64_t generation, const char *fail_reason,
                     const char *fail_msg);
/* True when the status written would not change anything (the upstream comparison). */
bool kc_rs_status_same(json_t *old, json_t *cur, int64_t generation);

/* Nanoseconds since the epoch. */
int64_t kc_rs_now_ns(void);

/* ---- the controller (replicaset.c: informers, handlers, caches; replicaset_sync.c: sync) ---- */

typedef struct kc_rsctl {
    kc_client *c;
    struct kc_informer *rss, *pods;
    struct kc_controller *ctl;
    struct kc_recorder *rec;
    struct kc_expectations *exp;
    int RS, POD;
    pthread_mutex_t mu; /* the three maps below */
    kc_map facts;       /* pod key -> facts of its last revision read by a sync */
    kc_map dels;        /* pod key -> owner key: deletions expected (UID-tracking expectations) */
    kc_map sels;        /* rs key -> parsed selector of its last revision */
    kc_map written;     /* rs key -> the status this controller last wrote */
    pthread_t starter;
} kc_rsctl;

/* The sync of one ReplicaSet key (semantics 1.3); the runner's kc_sync_fn. */
int kc_rs_sync(void *ud, const char *key);

/* Facts of pod o (cached per revision; the document is parsed only when the revision is new). */
void kc_rs_facts(kc_rsctl *r, const kc_obj *o, kc_rs_pod *out);
/* Does the selector of ReplicaSet rs (cached per revision) select these labels? */
bool kc_rs_selects(kc_rsctl *r, const kc_obj *rs, json_t *labels);
/* Deletions about to be issued (pod keys) / one observed or failed. */
void kc_rs_expect_deletions(kc_rsctl *r, const char *owner, kc_rs_pod **pods, size_t n);
void kc_rs_deletion_observed(kc_rsctl *r, const char *pod_key);
/* The status last written for rs (rev and document), to skip rewrites against a stale cache. */
bool kc_rs_written_same(kc_rsctl *r, const kc_obj *rs, json_t *status);
void kc_rs_set_written(kc_rsctl *r, const char *key, uint64_t rev, json_t *status);

#endif
