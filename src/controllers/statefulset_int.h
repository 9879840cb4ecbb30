/* StatefulSet controller internals shared by statefulset.c (informers, handlers), statefulset_pods.c
 * (pure rules: ordinals, pod identity and storage, claims and their retention owner references,
 * status counts) and statefulset_sync.c (the sync). Not a public interface; the unit tests include
 * it to test the rules alone. */
#ifndef KC_CONTROLLERS_STATEFULSET_INT_H
#define KC_CONTROLLERS_STATEFULSET_INT_H
#include "api/obj.h"
#include "api/selector.h"
#include "client/client.h"
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define KC_STS_MAX_PAR 64 /* concurrent API calls of one sync (kc_parallel) */

#define KC_STS_POD_NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define KC_STS_POD_INDEX_LABEL "apps.kubernetes.io/pod-index"
#define KC_STS_REVISION_LABEL "controller-revision-hash"

/* One StatefulSet as the sync reads it (borrowed from doc). */
typedef struct kc_sts_view {
    const kc_obj *o;
    json_t *doc, *spec, *status, *tmpl, *claims; /* claims: volumeClaimTemplates (array or NULL) */
    json_t *match_labels;                        /* spec.selector.matchLabels or NULL */
    kc_labelsel *sel;
    const char *service; /* spec.serviceName ("" when absent) */
    int replicas, start, min_ready, limit;
    bool parallel;                    /* podManagementPolicy Parallel */
    bool ondelete;                    /* updateStrategy OnDelete */
    bool has_ru;                      /* a rollingUpdate block is present */
    int partition;                    /* rollingUpdate.partition */
    json_t *max_unavailable;          /* rollingUpdate.maxUnavailable or NULL */
    bool del_on_delete, del_on_scale; /* retention policy whenDeleted / whenScaled == Delete */
    int64_t generation, status_current_replicas;
} kc_sts_view;

/* Fills v from a parsed StatefulSet document (kept borrowed). -1 when the selector is invalid. */
int kc_sts_view_init(kc_sts_view *v, const kc_obj *o, json_t *doc, kc_err *err);
void kc_sts_view_release(kc_sts_view *v);

/* One member pod (or a pod about to be created: o NULL, created false). */
typedef struct kc_sts_pod {
    kc_obj *o;   /* reference, or NULL */
    json_t *doc; /* owned */
    int ordinal;
    bool created, deleting, running, ready, available, failed, succeeded, pending;
    const char *revision; /* controller-revision-hash label (borrowed from doc), "" if none */
} kc_sts_pod;

/* Facts of pod doc (taken) at now (unix seconds) for minReadySeconds. */
void kc_sts_pod_facts(kc_sts_pod *p, json_t *doc, int ordinal, int min_ready, time_t now);
void kc_sts_pod_release(kc_sts_pod *p);
/* Running, Ready and not terminating (upstream isHealthy). */
bool kc_sts_pod_healthy(const kc_sts_pod *p);

/* The ordinal of a pod named "<parent>-<n>" when parent == set, else -1. */
int kc_sts_ordinal(const char *pod_name, const char *set_name);
/* "<set>-<ordinal>" / "<template>-<set>-<ordinal>"; malloc'd. */
char *kc_sts_pod_name(const char *set, int ordinal);
char *kc_sts_claim_name(const char *tmpl_name, const char *set, int ordinal);
bool kc_sts_in_range(const kc_sts_view *v, int ordinal);

/* A new pod for ordinal from tmpl (the current or update revision's template) with identity,
 * storage and the revision label. New reference. */
json_t *kc_sts_new_pod(const kc_sts_view *v, json_t *tmpl, int ordinal, const char *revision);
/* Identity (name label, index label) and storage (claim volumes) of a pod document match. */
bool kc_sts_identity_matches(const kc_sts_view *v, json_t *pod, int ordinal);
bool kc_sts_storage_matches(const kc_sts_view *v, json_t *pod, int ordinal);
/* The claim for template i and ordinal (labels: template's + selector matchLabels). New reference. */
json_t *kc_sts_new_claim(const kc_sts_view *v, json_t *claim_tmpl, int ordinal);

/* Retention policy (semantics 3.6): the ownerReferences a claim should carry, from its current
 * ones (borrowed, may be NULL), for the pod (name/uid; uid NULL when the pod does not exist) and
 * whether the pod's ordinal is scaled away. NULL when the claim must not be touched (a stale
 * reference to an old set or a foreign controller); else a new array, *changed says whether it
 * differs from cur. */
json_t *kc_sts_claim_refs(const kc_sts_view *v, json_t *cur, const char *pod_name, const char *pod_uid,
                          bool scaled_down, bool *changed);

/* Status counts (3.8) over pods. */
typedef struct kc_sts_counts {
    int replicas, ready, available, current, updated;
} kc_sts_counts;
void kc_sts_count(kc_sts_pod **pods, size_t n, const char *current_rev, const char *update_rev,
                  kc_sts_counts *c);

/* Does a missing pod at ordinal get the current revision (3.5)? */
bool kc_sts_current_needed(const kc_sts_view *v, int ordinal);
/* rollingUpdate.maxUnavailable scaled over replicas (percent rounds down), at least 1. */
int kc_sts_max_unavailable(const kc_sts_view *v);

/* ---- the controller ---- */
typedef struct kc_stsctl {
    kc_client *c;
    struct kc_informer *sets, *pods, *pvcs, *revs;
    struct kc_controller *ctl;
    struct kc_recorder *rec;
    int STS, POD, PVC, REV;
    pthread_t starter;
} kc_stsctl;

int kc_sts_sync(void *ud, const char *key);

#endif
