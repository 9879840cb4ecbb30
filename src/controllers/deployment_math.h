/* The Deployment controller's arithmetic as pure functions over numbers (semantics 2.2, 2.4,
 * 2.5, 2.7, 2.9, 2.12), so each rule can be checked against the spec's worked examples:
 *
 *   R=10, 25%/25%  --kc_deploy_fenceposts-->  S=3 (ceil), U=2 (floor): at most 13 pods, >= 8 available
 *   old 8 / new 5, R 10 -> 15 (S=3)  --kc_deploy_proportional-->  11 / 7
 *
 * ReplicaSets are described by kc_rsnum rows; functions read spec/status numbers and write the
 * size each one should get into `target` (the caller initializes target = spec). Nothing here
 * does I/O or reads the clock. */
#ifndef KC_CONTROLLERS_DEPLOYMENT_MATH_H
#define KC_CONTROLLERS_DEPLOYMENT_MATH_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KC_MAX_INT32 2147483647

typedef struct kc_rsnum {
    int spec;         /* spec.replicas */
    int replicas;     /* status.replicas (pods that exist) */
    int available;    /* status.availableReplicas */
    int max_replicas; /* deployment.kubernetes.io/max-replicas annotation, -1 when missing/bad */
    int64_t revision; /* deployment.kubernetes.io/revision, 0 when missing */
    int64_t created;  /* creationTimestamp, seconds */
    const char *name; /* tie break after created (borrowed) */
    bool deleting;    /* deletionTimestamp set */
    bool settled;     /* status.observedGeneration >= metadata.generation */
    int idx;          /* the caller's index */
    int target;       /* out: the size this ReplicaSet should get */
    bool remove;      /* out (history cleanup): delete this ReplicaSet */
} kc_rsnum;

/* GetScaledValueFromIntOrPercent: an integer as is, "N%" as N% of total rounded up or down.
 * v NULL: 0. Returns 0, or -1 for anything else (a string without '%', a bad number). */
int kc_deploy_scaled_value(json_t *v, int total, bool round_up, int *out);

/* MaxSurge / MaxUnavailable of a Deployment spec (ResolveFenceposts): surge rounds up,
 * unavailable down; both 0 -> unavailable 1; unavailable capped at replicas, 0 when replicas is
 * 0; Recreate: both 0. Missing rollingUpdate values are the apps/v1 defaults (25%). */
void kc_deploy_fenceposts(json_t *spec, int *surge, int *unavailable);

/* NewRSNewReplicas for RollingUpdate: the new RS's size given `total` pods counted over every
 * RS (the new one included): new + min(R + S - total, R - new) when that grows it, else new. */
int kc_deploy_new_rs_replicas(int r, int s, int total, int new_spec);

/* How many old replicas may go now: total - (R - U) - (new.spec - new.available). */
int kc_deploy_max_scaled_down(int r, int u, int total_spec, int new_spec, int new_available);

/* Orders rows by creation time, then name (ReplicaSetsByCreationTimestamp). */
void kc_deploy_sort_by_creation(kc_rsnum *v, size_t n);

/* cleanupUnhealthyReplicas over old RS (sorted here by creation): each RS with unavailable
 * replicas loses min(budget left, target - available). Returns the total removed. */
int kc_deploy_cleanup_unhealthy(kc_rsnum *old, size_t n, int budget);

/* scaleDownOldReplicaSetsForRollingUpdate: available (over all RS) above min_available is
 * removed from old RS targets, oldest first. Returns the total removed. */
int kc_deploy_scale_down_old(kc_rsnum *old, size_t n, int available, int min_available);

/* Proportional scaling (2.9) of the active RS (spec > 0) to R with surge S; status_replicas is
 * the Deployment's status.replicas (fallback when an RS has no max-replicas annotation).
 * Reorders v (by size; newer first when adding, older first when removing). */
void kc_deploy_proportional(kc_rsnum *v, size_t n, int r, int s, int status_replicas);

/* History cleanup (2.12): marks `remove` on the oldest old RS (by revision, then creation)
 * beyond `limit` that are not deleting, have spec 0, status 0 and are settled. Reorders v.
 * Returns how many were marked. */
size_t kc_deploy_history_cleanup(kc_rsnum *old, size_t n, int limit);

/* revision-history after a rollback moved an RS from old_rev (2.5): old_rev appended to hist
 * (comma separated), oldest entries dropped to stay within limit chars. New string, or NULL
 * when it cannot fit. */
char *kc_deploy_revision_history(const char *hist, const char *old_rev, size_t limit);

#endif
