/* One sync of one Deployment (semantics 2.6-2.12), in upstream's order:
 *
 *   gone -> done;  selector {} -> SelectingAll, observedGeneration only
 *   claim ReplicaSets --cache older than our writes?--> wait for the informer
 *   being deleted        -> status only
 *   pause bookkeeping    -> Progressing Unknown DeploymentPaused / DeploymentResumed
 *   paused | scaling event (desired-replicas annotation != R on an active RS)
 *                        -> sync_scaling: proportional scale, cleanup when paused, status
 *   RollingUpdate        -> rollout_rolling: new RS, scale up | scale down, cleanup, status
 *   Recreate             -> rollout_recreate: old to 0, wait for their pods, new to R, status
 *
 * Decisions come from deployment_math.c, status from deployment_status.c, writes from
 * deployment_rs.c. Two deviations from upstream, for the bounds on pods: the scale-up step
 * counts an RS being scaled down at status.replicas until its pods are really gone, so the pods
 * that exist never exceed R + maxSurge even while the ReplicaSet controller lags; and the
 * scale-down step counts at most spec.replicas available pods per RS (avail_kept), so a status
 * that still counts pods being removed cannot push availability below R - maxUnavailable. */
#include "api/selector.h"
#include "controllers/deployment_int.h"
#include "controllers/deployment_status.h"
#include "lib/xalloc.h"
#include <stdio.h>
#include <time.h>

#define RECREATE_POLL_S 2

static json_t *spec_of(json_t *doc)
{
    return json_object_get(doc, "spec");
}

static bool paused(dsync *s)
{
    return json_is_true(json_object_get(kc_deploy_spec(s), "paused"));
}

/* ---- status ---- */

static kc_deploy_view view_of(dsync *s, json_t **docs)
{
    for (size_t i = 0; i < s->nrs; i++)
        docs[i] = s->rs[i].doc;
    return (kc_deploy_view){s->d, docs, s->nrs,    s->newrs >= 0 ? s->rs[s->newrs].doc : NULL,
                            s->r, s->u, time(NULL)};
}

/* syncDeploymentStatus: counts and Available only. */
static int sync_status(dsync *s)
{
    json_t **docs = xcalloc(s->nrs + 1, sizeof *docs);
    kc_deploy_view v = view_of(s, docs);
    int rc = kc_deploy_write_status(s, kc_deploy_calc_status(&v));
    free(docs);
    return rc;
}

/* syncRolloutStatus: also Progressing and ReplicaFailure; an unchanged status schedules the
 * next deadline check. */
static int rollout_status(dsync *s)
{
    json_t **docs = xcalloc(s->nrs + 1, sizeof *docs);
    kc_deploy_view v = view_of(s, docs);
    json_t *st = kc_deploy_rollout_status(&v), *cur = json_object_get(s->d, "status");
    int rc = 0;
    if (cur && json_equal(cur, st)) {
        int64_t after = kc_deploy_requeue_after(&v, st);
        if (after >= 0 && (s->requeue_s < 0 || after < s->requeue_s)) s->requeue_s = after;
        json_decref(st);
    } else {
        rc = kc_deploy_write_status(s, st);
    }
    free(docs);
    return rc;
}

static int paused_conditions(dsync *s)
{
    json_t *d = json_deep_copy(s->d);
    int rc = 0;
    if (kc_deploy_paused_conditions(d, time(NULL)))
        rc = kc_deploy_write_status(s, json_incref(json_object_get(d, "status")));
    json_decref(d);
    return rc;
}

/* ---- rows ---- */

/* kc_rsnum rows of the old RS (all but the new one); active_only: spec > 0. Caller frees. */
static size_t old_rows(dsync *s, bool active_only, kc_rsnum **out)
{
    kc_rsnum *v = xcalloc(s->nrs + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < s->nrs; i++) {
        if ((int)i == s->newrs) continue;
        v[n] = kc_deploy_rsnum(s, i);
        if (!active_only || v[n].spec > 0) n++;
    }
    *out = v;
    return n;
}

/* Writes rows whose target moved (events for each). */
static int apply_targets(dsync *s, kc_rsnum *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].target != v[i].spec && kc_deploy_scale_rs(s, (size_t)v[i].idx, v[i].target, NULL) < 0)
            return -1;
    return 0;
}

/* ---- history ---- */

/* cleanupDeployment (2.12). */
static int cleanup(dsync *s)
{
    int64_t limit = kc_deploy_int(kc_deploy_spec(s), "revisionHistoryLimit", KC_MAX_INT32);
    if (limit < 0 || limit >= KC_MAX_INT32) return 0;
    kc_rsnum *v;
    size_t n = old_rows(s, false, &v);
    int rc = 0;
    kc_deploy_history_cleanup(v, n, (int)limit);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (v[i].remove) rc = kc_deploy_delete_rs(s, (size_t)v[i].idx);
    free(v);
    return rc;
}

/* ---- scaling (2.9) ---- */

/* FindActiveOrLatest: the only active RS, else (none active) the new one or the newest old;
 * -1 when several are active or there is none at all. */
static int active_or_latest(dsync *s)
{
    int active = -1, nactive = 0;
    for (size_t i = 0; i < s->nrs; i++)
        if (kc_deploy_rs_spec(s, i) > 0) active = (int)i, nactive++;
    if (nactive == 1) return active;
    if (nactive > 1 || s->nrs == 0) return -1;
    if (s->newrs >= 0) return s->newrs;
    for (int i = (int)s->nrs - 1; i >= 0; i--) /* rs are by creation: the newest old is last */
        if (i != s->newrs) return i;
    return -1;
}

static bool saturated(dsync *s)
{
    if (s->newrs < 0) return false;
    kc_rsnum n = kc_deploy_rsnum(s, (size_t)s->newrs);
    const char *desired = kc_deploy_rs_annotation(s, (size_t)s->newrs, KC_ANN_DESIRED);
    char want[24];
    snprintf(want, sizeof want, "%d", s->r);
    return n.spec == s->r && desired && !strcmp(desired, want) && n.available == s->r;
}

static int proportional(dsync *s)
{
    kc_rsnum *v = xcalloc(s->nrs + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < s->nrs; i++)
        if ((v[n] = kc_deploy_rsnum(s, i)).spec > 0) n++;
    int64_t status_replicas = kc_deploy_int(json_object_get(s->d, "status"), "replicas", 0);
    kc_deploy_proportional(v, n, s->r, s->s, (int)status_replicas);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = kc_deploy_set_rs_size(s, (size_t)v[i].idx, v[i].target);
    free(v);
    return rc;
}

static int scale(dsync *s)
{
    int one = active_or_latest(s);
    if (one >= 0) return kc_deploy_set_rs_size(s, (size_t)one, s->r);
    if (saturated(s)) {
        kc_rsnum *v;
        size_t n = old_rows(s, true, &v);
        for (size_t i = 0; i < n; i++)
            v[i].target = 0;
        int rc = apply_targets(s, v, n);
        free(v);
        return rc;
    }
    return s->rolling ? proportional(s) : 0;
}

/* isScalingEvent: an active RS was sized for another replica count. */
static bool scaling_event(dsync *s)
{
    char want[24];
    snprintf(want, sizeof want, "%d", s->r);
    for (size_t i = 0; i < s->nrs; i++) {
        const char *desired = kc_deploy_rs_annotation(s, i, KC_ANN_DESIRED);
        if (kc_deploy_rs_spec(s, i) > 0 && desired && strcmp(desired, want)) return true;
    }
    return false;
}

/* dc.sync: the paused / scaling path. */
static int sync_scaling(dsync *s)
{
    if (kc_deploy_sync_new_rs(s, false) < 0 || scale(s) < 0) return -1;
    if (paused(s) && cleanup(s) < 0) return -1;
    return sync_status(s);
}

/* ---- RollingUpdate (2.7) ---- */

static int reconcile_new(dsync *s, bool *scaled)
{
    size_t i = (size_t)s->newrs;
    int cur = kc_deploy_rs_spec(s, i);
    if (cur == s->r) return 0;
    int target = cur > s->r ? s->r : kc_deploy_new_rs_replicas(s->r, s->s, kc_deploy_counted_pods(s), cur);
    return kc_deploy_scale_rs(s, i, target, scaled);
}

/* An RS keeps at most spec.replicas of its available pods: right after a scale-down its status
 * still counts the pods about to go, and trusting it would let the next step remove them twice. */
static int avail_kept(kc_rsnum *r)
{
    return r->available < r->target ? r->available : r->target;
}

static int reconcile_old(dsync *s, bool *scaled)
{
    kc_rsnum *v, nw = kc_deploy_rsnum(s, (size_t)s->newrs);
    size_t n = old_rows(s, true, &v);
    int total = 0, avail = 0;
    for (size_t i = 0; i < s->nrs; i++) {
        kc_rsnum r = kc_deploy_rsnum(s, i);
        total += r.spec;
        avail += avail_kept(&r);
    }
    for (size_t i = 0; i < n; i++)
        v[i].available = avail_kept(&v[i]);
    nw.available = avail_kept(&nw);
    int budget = kc_deploy_max_scaled_down(s->r, s->u, total, nw.spec, nw.available), rc = 0;
    if (n > 0 && budget > 0) {
        int down = kc_deploy_cleanup_unhealthy(v, n, budget);
        down += kc_deploy_scale_down_old(v, n, avail, s->r - s->u);
        *scaled = down > 0;
        rc = apply_targets(s, v, n);
    }
    free(v);
    return rc;
}

static int rollout_rolling(dsync *s)
{
    if (kc_deploy_sync_new_rs(s, true) < 0) return -1;
    if (s->newrs < 0) return kc_errf(s->err, KC_EINTERNAL, "no new replica set");
    bool up = false, down = false;
    if (reconcile_new(s, &up) < 0) return -1;
    if (up) return rollout_status(s);
    if (reconcile_old(s, &down) < 0) return -1;
    if (down) return rollout_status(s);
    if (kc_deploy_complete(s->d, json_object_get(s->d, "status")) && cleanup(s) < 0) return -1;
    return rollout_status(s);
}

/* ---- Recreate (2.8) ---- */

static bool old_rs_uid(dsync *s, const char *uid)
{
    for (size_t i = 0; i < s->nrs; i++)
        if ((int)i != s->newrs && !strcmp(s->rs[i].obj->uid, uid)) return true;
    return false;
}

/* A pod (parsed) of an old RS that is not Succeeded/Failed, terminating ones included. */
static bool old_pod_running(dsync *s, json_t *pod)
{
    json_t *ref = kc_controller_ref(pod);
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase")) ?: "";
    return ref && old_rs_uid(s, json_string_value(json_object_get(ref, "uid")) ?: "") &&
           strcmp(phase, "Succeeded") && strcmp(phase, "Failed");
}

/* oldPodsRunning: old RS still report pods, or pods of theirs still exist. */
static bool old_pods_running(dsync *s)
{
    kc_rsnum *v;
    size_t n = old_rows(s, false, &v);
    bool running = false;
    for (size_t i = 0; i < n; i++)
        running |= v[i].replicas > 0;
    free(v);
    if (running) return true;
    kc_labelsel *sel = NULL;
    kc_err err = KC_ERR_INIT;
    kc_labelsel_from_json(json_object_get(kc_deploy_spec(s), "selector"), &sel, &err);
    kc_err_release(&err);
    kc_obj **pods;
    n = kc_informer_by_index(s->ctl->podinf, "ns", s->dobj->ns, &pods);
    for (size_t i = 0; i < n && !running; i++) {
        if (!sel || !kc_labelsel_match(sel, pods[i]->labels)) continue;
        json_t *p = kc_obj_parse(pods[i]);
        running = old_pod_running(s, p);
        json_decref(p);
    }
    kc_objv_free(pods, n);
    kc_labelsel_free(sel);
    return running;
}

static int rollout_recreate(dsync *s)
{
    if (kc_deploy_sync_new_rs(s, false) < 0) return -1;
    kc_rsnum *v;
    size_t n = old_rows(s, true, &v);
    for (size_t i = 0; i < n; i++)
        v[i].target = 0;
    int rc = apply_targets(s, v, n);
    free(v);
    if (rc < 0) return -1;
    if (n > 0) return rollout_status(s);
    if (old_pods_running(s)) {
        s->requeue_s = RECREATE_POLL_S; /* pod deletions also requeue; this is a safety net */
        return rollout_status(s);
    }
    if (s->newrs < 0 && kc_deploy_sync_new_rs(s, true) < 0) return -1;
    if (s->newrs >= 0 && kc_deploy_scale_rs(s, (size_t)s->newrs, s->r, NULL) < 0) return -1;
    if (kc_deploy_complete(s->d, json_object_get(s->d, "status")) && cleanup(s) < 0) return -1;
    return rollout_status(s);
}

/* ---- the sync ---- */

static int selecting_all(dsync *s)
{
    kc_event(s->ctl->rec, s->dobj, "Warning", "SelectingAll",
             "This deployment is selecting all pods. A non-empty selector is required.");
    json_t *st = json_deep_copy(json_object_get(s->d, "status"));
    if (!st) st = json_object();
    int64_t gen = kc_deploy_int(json_object_get(s->d, "metadata"), "generation", 0);
    if (kc_deploy_int(st, "observedGeneration", 0) < gen)
        json_object_set_new(st, "observedGeneration", json_integer(gen));
    return kc_deploy_write_status(s, st);
}

static bool selector_empty(dsync *s)
{
    json_t *sel = json_object_get(kc_deploy_spec(s), "selector");
    return json_is_object(sel) && json_object_size(json_object_get(sel, "matchLabels")) == 0 &&
           json_array_size(json_object_get(sel, "matchExpressions")) == 0;
}

static int run(dsync *s)
{
    if (selector_empty(s)) return selecting_all(s);
    int rc = kc_deploy_claim(s);
    if (rc != 0) return rc < 0 ? -1 : 0; /* 1: the informer has not seen our last write yet */
    if (s->dobj->deleting) {
        if (kc_deploy_sync_new_rs(s, false) < 0) return -1;
        return sync_status(s);
    }
    if (paused_conditions(s) < 0) return -1;
    if (paused(s)) return sync_scaling(s);
    if (kc_deploy_sync_new_rs(s, false) < 0) return -1;
    if (scaling_event(s)) return sync_scaling(s);
    return s->rolling ? rollout_rolling(s) : rollout_recreate(s);
}

static void init(dsync *s, dctl *c, kc_obj *o, kc_err *err)
{
    *s = (dsync){.ctl = c, .dobj = o, .d = kc_obj_parse(o), .newrs = -1, .requeue_s = -1, .err = err};
    json_t *spec = spec_of(s->d);
    s->r = (int)kc_deploy_int(spec, "replicas", 1);
    kc_deploy_fenceposts(spec, &s->s, &s->u);
    const char *type = json_string_value(json_object_get(json_object_get(spec, "strategy"), "type"));
    s->rolling = !type || strcmp(type, "Recreate");
}

static void release(dsync *s)
{
    for (size_t i = 0; i < s->nrs; i++) {
        kc_obj_unref(s->rs[i].obj);
        json_decref(s->rs[i].doc);
    }
    free(s->rs);
    kc_obj_unref(s->dobj);
    json_decref(s->d);
}

int kc_deploy_sync(dctl *c, const char *key)
{
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    char *ns = xstrndup(key, (size_t)(slash - key));
    kc_obj *o = kc_informer_get(c->dinf, ns, slash + 1);
    free(ns);
    if (!o) return 0;
    if (!kc_deploy_cache_fresh(c, o)) { /* our last write's event is on its way */
        kc_obj_unref(o);
        return 0;
    }
    kc_err err = KC_ERR_INIT;
    dsync s;
    init(&s, c, o, &err);
    int rc = run(&s);
    if (rc < 0 && err.reason != KC_ECONFLICT && err.reason != KC_OK)
        fprintf(stderr, "deployment-controller: sync %s: %s\n", key, err.msg);
    int64_t requeue = s.requeue_s;
    release(&s);
    kc_err_release(&err);
    if (rc < 0) return -1;
    if (requeue == 0) return 200;
    return requeue > 0 ? (int)(requeue > 86400 ? 86400000 : requeue * 1000) : 0;
}
