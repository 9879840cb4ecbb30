/* Deployment status and conditions (semantics 2.10, 2.11) as pure functions of the Deployment,
 * its ReplicaSets and `now`:
 *
 *   RS statuses --kc_deploy_calc_status--> counts + Available condition
 *              --kc_deploy_rollout_status--> + Progressing (NewReplicaSetAvailable |
 *                                              ReplicaSetUpdated | ProgressDeadlineExceeded)
 *                                              + ReplicaFailure copied from the RS
 *   unchanged status + deadline --kc_deploy_requeue_after--> when to look again
 *
 * Documents are borrowed unless a function says it returns a new reference. */
#ifndef KC_CONTROLLERS_DEPLOYMENT_STATUS_H
#define KC_CONTROLLERS_DEPLOYMENT_STATUS_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Integer field of a JSON object, dflt when absent or not an integer. */
int64_t kc_deploy_int(json_t *o, const char *key, int64_t dflt);

/* The condition of that type in status.conditions (borrowed), or NULL. */
json_t *kc_deploy_cond_get(json_t *status, const char *type);
/* SetDeploymentCondition on a status object: same status and reason -> unchanged; same status
 * -> lastTransitionTime kept; the condition is re-appended after the others. */
void kc_deploy_cond_set(json_t *status, const char *type, const char *st, const char *reason, const char *msg,
                        time_t now);
void kc_deploy_cond_remove(json_t *status, const char *type);

/* What a status computation reads. */
typedef struct kc_deploy_view {
    json_t *d;   /* the Deployment */
    json_t **rs; /* every ReplicaSet it owns (new one included) */
    size_t n;
    json_t *newrs; /* the new ReplicaSet or NULL */
    int r, u;      /* spec.replicas, MaxUnavailable */
    time_t now;
} kc_deploy_view;

/* progressDeadlineSeconds is set and not MaxInt32. */
bool kc_deploy_has_deadline(json_t *d);
/* DeploymentComplete: updated == replicas == available == R and observedGeneration caught up. */
bool kc_deploy_complete(json_t *d, json_t *status);

/* calculateStatus: counts from the RS, observedGeneration, collisionCount kept, Available
 * condition. New reference. */
json_t *kc_deploy_calc_status(const kc_deploy_view *v);
/* syncRolloutStatus's new status (calc + Progressing + ReplicaFailure). New reference. */
json_t *kc_deploy_rollout_status(const kc_deploy_view *v);
/* requeueStuckDeployment: seconds until the deadline check is due (>= 0; 0 = now), or -1. */
int64_t kc_deploy_requeue_after(const kc_deploy_view *v, json_t *status);
/* checkPausedConditions: sets Progressing Unknown DeploymentPaused / DeploymentResumed on the
 * Deployment's status in place; true when it changed. */
bool kc_deploy_paused_conditions(json_t *d, time_t now);

#endif
