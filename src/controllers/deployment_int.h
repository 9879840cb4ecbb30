/* Internals shared by the Deployment controller's files (not a public API):
 *
 *   deployment.c        informers, handlers, queue, workers, cache freshness
 *   deployment_rs.c     one sync's view of the ReplicaSets: claim, find/create the new RS,
 *                       annotations, scale and delete writes, Deployment status writes
 *   deployment_sync.c   the sync itself: paused/scaling "sync" path, rolling, recreate
 *   deployment_math.c   numbers;  deployment_status.c  status;  deployment_hash.c  templates
 *
 * A sync works on private parsed copies (dsync): every write goes out with the resourceVersion
 * the decision was made on (a 409 retries the whole sync) and its answer replaces the copy. */
#ifndef KC_CONTROLLERS_DEPLOYMENT_INT_H
#define KC_CONTROLLERS_DEPLOYMENT_INT_H
#include "controllers/deployment_math.h"
#include "controllers/framework.h"
#include "lib/map.h"
#include <pthread.h>

#define KC_ANN_REVISION "deployment.kubernetes.io/revision"
#define KC_ANN_REVISION_HISTORY "deployment.kubernetes.io/revision-history"
#define KC_ANN_DESIRED "deployment.kubernetes.io/desired-replicas"
#define KC_ANN_MAX "deployment.kubernetes.io/max-replicas"
#define KC_ANN_ROLLBACK_TO "deprecated.deployment.rollback.to"
#define KC_ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define KC_REV_HISTORY_CHARS 2000

typedef struct dctl {
    kc_client *c;
    kc_controller *ctl;
    kc_informer *dinf, *rsinf, *podinf;
    kc_recorder *rec;
    int DEP, RS, POD;
    pthread_t starter;
    bool stopping; /* atomic */
    pthread_mutex_t mu;
    kc_map written; /* "<res>|ns/name" -> struct written: the last revision this controller wrote */
} dctl;

typedef struct drs {
    kc_obj *obj;     /* latest version known (reference) */
    json_t *doc;     /* obj parsed (owned) */
    int64_t created; /* creationTimestamp, seconds */
} drs;

typedef struct dsync {
    dctl *ctl;
    kc_obj *dobj; /* latest Deployment (reference) */
    json_t *d;    /* its document (owned); status edited in place before a status write */
    int r, s, u;  /* spec.replicas, MaxSurge, MaxUnavailable */
    bool rolling;
    drs *rs; /* owned ReplicaSets, by creation time */
    size_t nrs;
    int newrs;         /* index of the new RS, -1 when none */
    int64_t requeue_s; /* > 0: look again after that many seconds (deadline check, recreate wait) */
    kc_err *err;
} dsync;

/* ---- deployment.c ---- */
/* Remembers that this controller wrote obj (a write's answer). */
void kc_deploy_note_write(dctl *c, const kc_obj *obj);
/* False while the cache still holds an older version of obj than the controller wrote. */
bool kc_deploy_cache_fresh(dctl *c, const kc_obj *obj);

/* ---- deployment_rs.c ---- */
json_t *kc_deploy_spec(dsync *s);
const char *kc_deploy_name(dsync *s);
/* Lists the namespace's ReplicaSets from the cache, claims them (0.6). 1 when a cached copy is
 * older than a write of ours (the caller should wait for the informer), 0, or -1. */
int kc_deploy_claim(dsync *s);
/* getNewReplicaSet: finds the new RS (2.3), syncs its annotations and the Deployment's
 * revision; creates it when `create` and it is missing (2.4). */
int kc_deploy_sync_new_rs(dsync *s, bool create);
/* scaleReplicaSet: size and the desired/max-replicas annotations; event when the size moved.
 * *scaled (may be NULL) tells whether it did. */
int kc_deploy_scale_rs(dsync *s, size_t i, int target, bool *scaled);
/* scaleReplicaSet: like kc_deploy_scale_rs but also writes when only the annotations are stale. */
int kc_deploy_set_rs_size(dsync *s, size_t i, int target);
int kc_deploy_delete_rs(dsync *s, size_t i);
/* Pods the ReplicaSets account for: per RS the larger of spec.replicas and status.replicas
 * (an RS being scaled down still has its pods until its status says otherwise). */
int kc_deploy_counted_pods(dsync *s);
/* Writes s->d's status when it differs from the stored one (takes the reference). */
int kc_deploy_write_status(dsync *s, json_t *status);
/* A kc_rsnum row for RS i (target = spec). */
kc_rsnum kc_deploy_rsnum(dsync *s, size_t i);
int kc_deploy_rs_spec(dsync *s, size_t i);
/* Annotation value of RS i (borrowed) or NULL. */
const char *kc_deploy_rs_annotation(dsync *s, size_t i, const char *key);

/* ---- deployment_sync.c ---- */
/* One sync of a Deployment key: 0 done, < 0 retry, > 0 requeue after that many ms. */
int kc_deploy_sync(dctl *c, const char *key);

#endif
