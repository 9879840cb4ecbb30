/* Deployment status and conditions (see deployment_status.h), restated from upstream's
 * calculateStatus, syncRolloutStatus, requeueStuckDeployment and checkPausedConditions. Writing
 * the status is the controller's job (deployment_sync.c); this file only computes it. */
#include "controllers/deployment_status.h"
#include "controllers/deployment_math.h"
#include "controllers/framework.h"
#include <stdio.h>
#include <string.h>

#define R_AVAILABLE "MinimumReplicasAvailable"
#define R_UNAVAILABLE "MinimumReplicasUnavailable"
#define R_COMPLETE "NewReplicaSetAvailable"
#define R_UPDATED "ReplicaSetUpdated"
#define R_TIMEDOUT "ProgressDeadlineExceeded"
#define R_PAUSED "DeploymentPaused"
#define R_RESUMED "DeploymentResumed"

int64_t kc_deploy_int(json_t *o, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static const char *str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key)) ?: "";
}

json_t *kc_deploy_cond_get(json_t *status, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        if (!strcmp(str_of(c, "type"), type)) return c;
    }
    return NULL;
}

void kc_deploy_cond_remove(json_t *status, const char *type)
{
    json_t *conds = json_object_get(status, "conditions");
    for (size_t i = 0; i < json_array_size(conds);) {
        if (!strcmp(str_of(json_array_get(conds, i), "type"), type))
            json_array_remove(conds, i);
        else
            i++;
    }
}

static json_t *new_cond(const char *type, const char *st, const char *reason, const char *msg, time_t now)
{
    char ts[32];
    kc_format_time(now, ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", st, "lastUpdateTime", ts,
                     "lastTransitionTime", ts, "reason", reason, "message", msg);
}

/* Appends c (reference taken) to status.conditions, creating the array. */
static void cond_append(json_t *status, json_t *c)
{
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) json_object_set_new(status, "conditions", conds = json_array());
    json_array_append_new(conds, c);
}

void kc_deploy_cond_set(json_t *status, const char *type, const char *st, const char *reason, const char *msg,
                        time_t now)
{
    json_t *cur = kc_deploy_cond_get(status, type);
    if (cur && !strcmp(str_of(cur, "status"), st) && !strcmp(str_of(cur, "reason"), reason)) return;
    json_t *c = new_cond(type, st, reason, msg, now);
    if (cur && !strcmp(str_of(cur, "status"), st))
        json_object_set(c, "lastTransitionTime", json_object_get(cur, "lastTransitionTime"));
    kc_deploy_cond_remove(status, type);
    cond_append(status, c);
}

bool kc_deploy_has_deadline(json_t *d)
{
    int64_t p = kc_deploy_int(json_object_get(d, "spec"), "progressDeadlineSeconds", -1);
    return p >= 0 && p != KC_MAX_INT32;
}

static int64_t generation(json_t *d)
{
    return kc_deploy_int(json_object_get(d, "metadata"), "generation", 0);
}

bool kc_deploy_complete(json_t *d, json_t *status)
{
    int64_t r = kc_deploy_int(json_object_get(d, "spec"), "replicas", 1);
    return kc_deploy_int(status, "updatedReplicas", 0) == r && kc_deploy_int(status, "replicas", 0) == r &&
           kc_deploy_int(status, "availableReplicas", 0) == r &&
           kc_deploy_int(status, "observedGeneration", 0) >= generation(d);
}

static void put_count(json_t *status, const char *key, int64_t v)
{
    if (v) json_object_set_new(status, key, json_integer(v)); /* omitempty, as upstream */
}

static int64_t rs_status(json_t *rs, const char *key)
{
    return kc_deploy_int(json_object_get(rs, "status"), key, 0);
}

json_t *kc_deploy_calc_status(const kc_deploy_view *v)
{
    int64_t avail = 0, total = 0, replicas = 0, ready = 0;
    for (size_t i = 0; i < v->n; i++) {
        avail += rs_status(v->rs[i], "availableReplicas");
        replicas += rs_status(v->rs[i], "replicas");
        ready += rs_status(v->rs[i], "readyReplicas");
        total += kc_deploy_int(json_object_get(v->rs[i], "spec"), "replicas", 1);
    }
    json_t *old = json_object_get(v->d, "status"), *st = json_object();
    put_count(st, "observedGeneration", generation(v->d));
    put_count(st, "replicas", replicas);
    put_count(st, "updatedReplicas", v->newrs ? rs_status(v->newrs, "replicas") : 0);
    put_count(st, "readyReplicas", ready);
    put_count(st, "availableReplicas", avail);
    put_count(st, "unavailableReplicas", total - avail > 0 ? total - avail : 0);
    json_t *conds = json_object_get(old, "conditions");
    if (json_array_size(conds)) json_object_set_new(st, "conditions", json_deep_copy(conds));
    if (json_object_get(old, "collisionCount"))
        json_object_set(st, "collisionCount", json_object_get(old, "collisionCount"));
    if (avail >= v->r - v->u)
        kc_deploy_cond_set(st, "Available", "True", R_AVAILABLE, "Deployment has minimum availability.",
                           v->now);
    else
        kc_deploy_cond_set(st, "Available", "False", R_UNAVAILABLE,
                           "Deployment does not have minimum availability.", v->now);
    return st;
}

/* DeploymentProgressing: more updated, fewer old, more ready or more available than before. */
static bool progressing(json_t *old, json_t *nw)
{
    int64_t old_old = kc_deploy_int(old, "replicas", 0) - kc_deploy_int(old, "updatedReplicas", 0);
    int64_t new_old = kc_deploy_int(nw, "replicas", 0) - kc_deploy_int(nw, "updatedReplicas", 0);
    return kc_deploy_int(nw, "updatedReplicas", 0) > kc_deploy_int(old, "updatedReplicas", 0) ||
           new_old < old_old ||
           kc_deploy_int(nw, "readyReplicas", 0) > kc_deploy_int(old, "readyReplicas", 0) ||
           kc_deploy_int(nw, "availableReplicas", 0) > kc_deploy_int(old, "availableReplicas", 0);
}

static int64_t deadline_of(json_t *d)
{
    return kc_deploy_int(json_object_get(d, "spec"), "progressDeadlineSeconds", 600);
}

/* DeploymentTimedOut, on the new status' Progressing condition. */
static bool timed_out(const kc_deploy_view *v, json_t *st)
{
    json_t *c = kc_deploy_cond_get(st, "Progressing");
    if (!kc_deploy_has_deadline(v->d) || !c) return false;
    const char *reason = str_of(c, "reason");
    if (!strcmp(reason, R_COMPLETE)) return false;
    if (!strcmp(reason, R_TIMEDOUT)) return true;
    time_t from = kc_parse_time(str_of(c, "lastUpdateTime"));
    return from >= 0 && from + deadline_of(v->d) < v->now;
}

/* The message names the new RS when there is one. */
static void rs_msg(char *buf, size_t n, const kc_deploy_view *v, const char *what)
{
    json_t *md = json_object_get(v->newrs ? v->newrs : v->d, "metadata");
    snprintf(buf, n, "%s \"%s\" %s", v->newrs ? "ReplicaSet" : "Deployment", str_of(md, "name"), what);
}

static void set_updated(const kc_deploy_view *v, json_t *st, json_t *cur)
{
    char msg[400];
    rs_msg(msg, sizeof msg, v, "is progressing.");
    json_t *c = new_cond("Progressing", "True", R_UPDATED, msg, v->now);
    if (cur && !strcmp(str_of(cur, "status"), "True"))
        json_object_set(c, "lastTransitionTime", json_object_get(cur, "lastTransitionTime"));
    kc_deploy_cond_remove(st, "Progressing");
    cond_append(st, c);
}

static void progress_conditions(const kc_deploy_view *v, json_t *st)
{
    json_t *old = json_object_get(v->d, "status"), *cur = kc_deploy_cond_get(old, "Progressing");
    bool done = kc_deploy_int(st, "replicas", 0) == kc_deploy_int(st, "updatedReplicas", 0) && cur &&
                !strcmp(str_of(cur, "reason"), R_COMPLETE);
    if (done) return;
    char msg[400];
    if (kc_deploy_complete(v->d, st)) {
        rs_msg(msg, sizeof msg, v, "has successfully progressed.");
        kc_deploy_cond_set(st, "Progressing", "True", R_COMPLETE, msg, v->now);
    } else if (progressing(old, st)) {
        set_updated(v, st, cur);
    } else if (timed_out(v, st)) {
        rs_msg(msg, sizeof msg, v, "has timed out progressing.");
        kc_deploy_cond_set(st, "Progressing", "False", R_TIMEDOUT, msg, v->now);
    }
}

/* The first ReplicaFailure condition of the new RS, else of any RS (borrowed), or NULL. */
static json_t *replica_failure(const kc_deploy_view *v)
{
    json_t *c = v->newrs ? kc_deploy_cond_get(json_object_get(v->newrs, "status"), "ReplicaFailure") : NULL;
    for (size_t i = 0; !c && i < v->n; i++)
        c = kc_deploy_cond_get(json_object_get(v->rs[i], "status"), "ReplicaFailure");
    return c;
}

static void failure_condition(const kc_deploy_view *v, json_t *st)
{
    json_t *f = replica_failure(v);
    if (!f) {
        kc_deploy_cond_remove(st, "ReplicaFailure");
        return;
    }
    json_t *cur = kc_deploy_cond_get(st, "ReplicaFailure");
    if (cur && !strcmp(str_of(cur, "status"), str_of(f, "status")) &&
        !strcmp(str_of(cur, "reason"), str_of(f, "reason")))
        return;
    json_t *ltt = json_object_get(f, "lastTransitionTime");
    json_t *c = json_pack("{s:s,s:s,s:O,s:O,s:s,s:s}", "type", "ReplicaFailure", "status",
                          str_of(f, "status"), "lastUpdateTime", ltt ?: json_null(), "lastTransitionTime",
                          ltt ?: json_null(), "reason", str_of(f, "reason"), "message", str_of(f, "message"));
    kc_deploy_cond_remove(st, "ReplicaFailure");
    cond_append(st, c);
}

json_t *kc_deploy_rollout_status(const kc_deploy_view *v)
{
    json_t *st = kc_deploy_calc_status(v);
    if (!kc_deploy_has_deadline(v->d))
        kc_deploy_cond_remove(st, "Progressing");
    else
        progress_conditions(v, st);
    failure_condition(v, st);
    return st;
}

int64_t kc_deploy_requeue_after(const kc_deploy_view *v, json_t *status)
{
    json_t *cur = kc_deploy_cond_get(json_object_get(v->d, "status"), "Progressing");
    if (!kc_deploy_has_deadline(v->d) || !cur) return -1;
    if (kc_deploy_complete(v->d, status) || !strcmp(str_of(cur, "reason"), R_TIMEDOUT)) return -1;
    time_t from = kc_parse_time(str_of(cur, "lastUpdateTime"));
    if (from < 0) return -1;
    int64_t after = from + deadline_of(v->d) - v->now;
    return after < 1 ? 0 : after + 1;
}

bool kc_deploy_paused_conditions(json_t *d, time_t now)
{
    if (!kc_deploy_has_deadline(d)) return false;
    json_t *st = json_object_get(d, "status");
    json_t *cur = kc_deploy_cond_get(st, "Progressing");
    const char *reason = cur ? str_of(cur, "reason") : "";
    if (!strcmp(reason, R_TIMEDOUT)) return false;
    bool paused = json_is_true(json_object_get(json_object_get(d, "spec"), "paused"));
    bool was_paused = !strcmp(reason, R_PAUSED);
    if (paused == was_paused) return false;
    if (!json_is_object(st)) json_object_set_new(d, "status", st = json_object());
    if (paused)
        kc_deploy_cond_set(st, "Progressing", "Unknown", R_PAUSED, "Deployment is paused", now);
    else
        kc_deploy_cond_set(st, "Progressing", "Unknown", R_RESUMED, "Deployment is resumed", now);
    return true;
}
