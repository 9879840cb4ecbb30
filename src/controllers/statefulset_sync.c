/* The StatefulSet sync (semantics 3.4-3.8, upstream stateful_set_control.go), one key at a time:
 *
 *   set from the cache --gone--> nothing
 *   pods it may claim (ctrl index: own + orphans) --claim (0.6, name must be <set>-<n>)--> members
 *   revisions: update revision = the one whose data equals the template (bumped when older) or a
 *     new one; current revision = status.currentRevision's, else the update revision
 *   members --> replicas[ordinal - start] (missing ones: new pods at the current or update
 *     revision) and condemned (valid ordinal out of range, highest first)
 *   set deleting: status only
 *   replicas: Failed/Succeeded -> delete + recreate; missing -> claims + pod (OrderedReady: stop);
 *     OrderedReady stops at the first pod not Running+Ready+Available; identity/claim refs fixed
 *   condemned: claim refs (whenScaled), then deleted highest first (OrderedReady: one at a time,
 *     only when all replicas are healthy)
 *   RollingUpdate: the highest replica (down to partition) not at the update revision is deleted,
 *     waiting for unhealthy updated ones (maxUnavailable: up to that many at once)
 *   status (3.8, rollout completion), history truncation, requeue for minReadySeconds
 *
 * OrderedReady runs the per-pod steps in sequence; Parallel runs them in slow-start batches of
 * concurrent calls (1, 2, 4, ...), a failing batch ending the sync. */
#include "lib/parallel.h"
#include "client/events.h"
#include "client/informer.h"
#include "controllers/framework.h"
#include "controllers/history.h"
#include "controllers/statefulset_int.h"
#include "lib/xalloc.h"
#include <stdio.h>
#include <time.h>

#define SMP "application/strategic-merge-patch+json"
#define MERGE "application/merge-patch+json"

typedef struct sync_ctx {
    kc_stsctl *s;
    kc_sts_view v;
    kc_sts_pod *members; /* parsed claimed pods with a valid ordinal */
    size_t nmembers;
    kc_sts_pod *fresh;     /* pods to create, one slot per replica */
    kc_sts_pod **replicas; /* v.replicas entries */
    kc_sts_pod **condemned;
    size_t ncondemned;
    kc_sts_pod *first_unhealthy;
    char cur_name[300], upd_name[300];
    json_t *cur_tmpl; /* owned */
    int64_t collision;
    time_t now;
    pthread_mutex_t mu; /* the error below, in parallel steps */
    int failed;
    kc_err first;
} sync_ctx;

typedef int (*step_fn)(sync_ctx *x, kc_sts_pod *p, kc_err *err); /* 1: stop (monotonic), 0, -1 */

static void log_err(const char *key, const char *what, const kc_err *err)
{
    fprintf(stderr, "statefulset-controller: %s: %s: %s\n", key, what, err->msg);
}

/* ---- claiming pods (0.6) ---- */

static int patch_pod_refs(sync_ctx *x, const kc_obj *pod, json_t *ref, kc_err *err)
{
    json_t *p = json_pack("{s:{s:[o],s:s}}", "metadata", "ownerReferences", ref, "uid", pod->uid);
    char *body = json_dumps(p, JSON_COMPACT);
    int rc = kc_client_patch(x->s->c, x->s->POD, pod->ns, pod->name, NULL, SMP, body, NULL, err);
    free(body);
    json_decref(p);
    if (rc < 0 &&
        (err->reason == KC_ENOTFOUND || err->reason == KC_ECONFLICT || err->reason == KC_EINVALID)) {
        kc_err_release(err);
        return 0;
    }
    return rc;
}

/* canAdopt: the set read from the server is the same one and not being deleted. */
static int can_adopt(sync_ctx *x, kc_err *err)
{
    kc_obj *fresh = NULL;
    if (kc_client_get(x->s->c, x->s->STS, x->v.o->ns, x->v.o->name, &fresh, err) < 0 &&
        err->reason != KC_ENOTFOUND)
        return -1;
    kc_err_release(err);
    int rc = 0;
    if (!fresh || strcmp(fresh->uid, x->v.o->uid) || fresh->deleting)
        rc = kc_errf(err, KC_ECONFLICT, "StatefulSet %s is gone or being deleted: not adopting", x->v.o->key);
    kc_obj_unref(fresh);
    return rc;
}

/* 1: the pod is a member, 0: not, -1: error. */
static int claim_one(sync_ctx *x, const kc_obj *o, bool *checked, kc_err *err)
{
    char uid[64];
    bool owned = kc_obj_controller(o, uid, sizeof uid, NULL, 0, NULL, 0);
    bool match = kc_labelsel_match(x->v.sel, o->labels) && kc_sts_ordinal(o->name, x->v.o->name) >= 0;
    if (owned && !strcmp(uid, x->v.o->uid)) {
        if (match) return 1;
        if (x->v.o->deleting) return 0;
        json_t *del = json_pack("{s:s,s:s}", "$patch", "delete", "uid", x->v.o->uid);
        return patch_pod_refs(x, o, del, err) < 0 ? -1 : 0;
    }
    if (owned || x->v.o->deleting || o->deleting || !match) return 0;
    if (!*checked && can_adopt(x, err) < 0) return -1;
    *checked = true;
    return patch_pod_refs(x, o, kc_owner_ref(x->v.o), err) < 0 ? -1 : 1;
}

static int load_members(sync_ctx *x, kc_err *err)
{
    char k1[128], k2[300];
    snprintf(k1, sizeof k1, "u:%s", x->v.o->uid);
    snprintf(k2, sizeof k2, "o:%s", x->v.o->ns);
    kc_obj **own, **orph;
    size_t n1 = kc_informer_by_index(x->s->pods, "ctrl", k1, &own);
    size_t n2 = kc_informer_by_index(x->s->pods, "ctrl", k2, &orph);
    x->members = xcalloc(n1 + n2 + 1, sizeof *x->members);
    bool checked = false;
    int rc = 0;
    for (size_t i = 0; i < n1 + n2; i++) {
        kc_obj *o = i < n1 ? own[i] : orph[i - n1];
        int m = rc < 0 ? 0 : claim_one(x, o, &checked, err);
        if (m < 0) rc = -1;
        if (m <= 0) {
            kc_obj_unref(o);
            continue;
        }
        kc_sts_pod *p = &x->members[x->nmembers++];
        p->o = o;
        kc_sts_pod_facts(p, kc_obj_parse(o), kc_sts_ordinal(o->name, x->v.o->name), x->v.min_ready, x->now);
    }
    free(own);
    free(orph);
    return rc;
}

/* ---- revisions (3.4) ---- */

/* adoptOrphanRevisions: revisions without a controller whose labels the selector matches (left
 * by a set deleted with --cascade=orphan) are adopted; 1 when any was (the cache lags: requeue). */
static int adopt_revisions(sync_ctx *x, kc_err *err)
{
    kc_obj **v;
    size_t n = kc_informer_list(x->s->revs, x->v.o->ns, &v);
    int adopted = 0, rc = 0;
    bool checked = false;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char uid[64];
        if (kc_obj_controller(v[i], uid, sizeof uid, NULL, 0, NULL, 0) || v[i]->deleting ||
            !kc_labelsel_match(x->v.sel, v[i]->labels))
            continue;
        if (!checked && (rc = can_adopt(x, err)) < 0) break;
        checked = true;
        json_t *p = json_pack("{s:{s:[o],s:s}}", "metadata", "ownerReferences", kc_owner_ref(x->v.o), "uid",
                              v[i]->uid);
        char *body = json_dumps(p, JSON_COMPACT);
        rc = kc_client_patch(x->s->c, x->s->REV, v[i]->ns, v[i]->name, NULL, SMP, body, NULL, err);
        if (rc < 0 && (err->reason == KC_ENOTFOUND || err->reason == KC_ECONFLICT)) {
            kc_err_release(err);
            rc = 0;
        }
        adopted += rc == 0;
        free(body);
        json_decref(p);
    }
    kc_objv_free(v, n);
    return rc < 0 ? -1 : adopted > 0;
}

static json_t *template_of_revision(const kc_obj *rev)
{
    json_t *d = kc_obj_parse(rev);
    json_t *t = json_object_get(json_object_get(json_object_get(d, "data"), "spec"), "template");
    t = t ? json_deep_copy(t) : NULL;
    if (t) json_object_del(t, "$patch");
    json_decref(d);
    return t;
}

/* The collisionCount an existing revision's name was made with: the set's cached status may
 * predate the write that raised it (a sync triggered by a pod event before the set's own event),
 * and the count must never go back. Looks a little above the cached value. */
static void collision_of(sync_ctx *x, const kc_obj *rev, const char *data, size_t len)
{
    for (int64_t c = x->collision; c < x->collision + 100; c++) {
        char hash[11];
        kc_history_hash(data, len, &c, hash);
        char *name = kc_history_name(x->v.o->name, hash);
        bool same = !strcmp(name, rev->name);
        free(name);
        if (same) {
            x->collision = c;
            return;
        }
    }
}

/* The update revision: equal data reused (bumped when not the newest) or created. *out: ref. */
static int update_revision(sync_ctx *x, kc_obj **revs, size_t n, kc_obj **out, kc_err *err)
{
    size_t len;
    char *data = kc_history_template_data(x->v.tmpl, &len);
    int64_t next = kc_history_next_number(revs, n);
    const kc_obj *eq = kc_history_find_equal(revs, n, data, len);
    if (eq) collision_of(x, eq, data, len);
    int rc = 0;
    if (eq && eq == revs[n - 1]) {
        kc_obj_ref(eq);
        *out = (kc_obj *)eq;
    } else if (eq) {
        rc = kc_history_bump(x->s->c, eq, next, out, err);
    } else {
        json_t *md = json_object_get(x->v.doc, "metadata");
        json_t *tl = json_object_get(json_object_get(x->v.tmpl, "metadata"), "labels");
        rc = kc_history_create(x->s->c, x->v.o, tl, json_object_get(md, "annotations"), data, len, next,
                               &x->collision, out, err);
    }
    free(data);
    return rc;
}

static int revisions(sync_ctx *x, kc_err *err)
{
    if (!x->v.o->deleting) {
        int a = adopt_revisions(x, err);
        if (a != 0) return a; /* adopted: 1, retried once the cache has them */
    }
    kc_obj **revs, *upd = NULL;
    size_t n = kc_history_list(x->s->revs, x->v.o, &revs);
    x->collision = json_integer_value(json_object_get(x->v.status, "collisionCount"));
    int rc = update_revision(x, revs, n, &upd, err);
    if (rc == 0) {
        const char *want = json_string_value(json_object_get(x->v.status, "currentRevision")) ?: "";
        const kc_obj *cur = upd;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(revs[i]->name, want)) cur = revs[i];
        snprintf(x->upd_name, sizeof x->upd_name, "%s", upd->name);
        snprintf(x->cur_name, sizeof x->cur_name, "%s", cur->name);
        x->cur_tmpl = cur == upd ? NULL : template_of_revision(cur);
    }
    kc_obj_unref(upd);
    kc_objv_free(revs, n);
    return rc;
}

/* Live revisions never count against the history limit (3.4). */
static void truncate_history(sync_ctx *x)
{
    kc_obj **revs;
    size_t n = kc_history_list(x->s->revs, x->v.o, &revs);
    const char **live = xcalloc(x->nmembers + 2, sizeof *live);
    size_t nl = 0;
    live[nl++] = x->cur_name;
    live[nl++] = x->upd_name;
    for (size_t i = 0; i < x->nmembers; i++)
        live[nl++] = x->members[i].revision;
    kc_err err = KC_ERR_INIT;
    if (kc_history_truncate(x->s->c, revs, n, live, nl, x->v.limit, &err) < 0)
        log_err(x->v.o->key, "history", &err);
    kc_err_release(&err);
    free(live);
    kc_objv_free(revs, n);
}

/* ---- replicas and condemned ---- */

static kc_sts_pod *new_replica(sync_ctx *x, int ordinal)
{
    kc_sts_pod *p = &x->fresh[ordinal - x->v.start];
    bool cur = kc_sts_current_needed(&x->v, ordinal);
    json_t *tmpl = cur && x->cur_tmpl ? x->cur_tmpl : x->v.tmpl;
    json_t *doc = kc_sts_new_pod(&x->v, tmpl, ordinal, cur ? x->cur_name : x->upd_name);
    kc_sts_pod_release(p);
    kc_sts_pod_facts(p, doc, ordinal, x->v.min_ready, x->now);
    return p;
}

static int cmp_desc(const void *a, const void *b)
{
    return (*(kc_sts_pod *const *)b)->ordinal - (*(kc_sts_pod *const *)a)->ordinal;
}

static void partition_pods(sync_ctx *x)
{
    int n = x->v.replicas > 0 ? x->v.replicas : 0;
    x->replicas = xcalloc((size_t)n + 1, sizeof *x->replicas);
    x->fresh = xcalloc((size_t)n + 1, sizeof *x->fresh);
    x->condemned = xcalloc(x->nmembers + 1, sizeof *x->condemned);
    for (size_t i = 0; i < x->nmembers; i++) {
        kc_sts_pod *p = &x->members[i];
        if (kc_sts_in_range(&x->v, p->ordinal))
            x->replicas[p->ordinal - x->v.start] = p;
        else
            x->condemned[x->ncondemned++] = p;
    }
    for (int i = 0; i < n; i++)
        if (!x->replicas[i]) x->replicas[i] = new_replica(x, x->v.start + i);
    qsort(x->condemned, x->ncondemned, sizeof *x->condemned, cmp_desc);
    for (int i = 0; i < n && !x->first_unhealthy; i++)
        if (!kc_sts_pod_healthy(x->replicas[i])) x->first_unhealthy = x->replicas[i];
    for (size_t i = x->ncondemned; i-- > 0 && !x->first_unhealthy;)
        if (!kc_sts_pod_healthy(x->condemned[i])) x->first_unhealthy = x->condemned[i];
}

/* ---- calls ---- */

/* NamespaceTerminating: creation into a namespace being deleted is dropped silently (0.11). */
static bool ns_terminating(kc_err *err)
{
    if (err->reason != KC_EFORBIDDEN || !strstr(err->msg, "because it is being terminated")) return false;
    kc_err_release(err);
    return true;
}

static const char *pod_name(const kc_sts_pod *p)
{
    return json_string_value(json_object_get(json_object_get(p->doc, "metadata"), "name")) ?: "";
}

static int delete_pod(sync_ctx *x, kc_sts_pod *p, kc_err *err)
{
    const char *name = pod_name(p);
    if (kc_client_delete(x->s->c, x->s->POD, x->v.o->ns, name, NULL, err) < 0) {
        if (err->reason == KC_ENOTFOUND) {
            kc_err_release(err);
            return 0;
        }
        kc_event(x->s->rec, x->v.o, "Warning", "FailedDelete",
                 "delete Pod %s in StatefulSet %s failed error: %s", name, x->v.o->name, err->msg);
        return -1;
    }
    kc_event(x->s->rec, x->v.o, "Normal", "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful",
             name, x->v.o->name);
    return 0;
}

/* createPersistentVolumeClaims: missing claims are created; one being deleted blocks the pod. */
static int create_claims(sync_ctx *x, kc_sts_pod *p, kc_err *err)
{
    size_t i;
    json_t *ct;
    json_array_foreach(x->v.claims, i, ct)
    {
        json_t *claim = kc_sts_new_claim(&x->v, ct, p->ordinal);
        const char *cn = json_string_value(json_object_get(json_object_get(claim, "metadata"), "name"));
        kc_obj *ex = kc_informer_get(x->s->pvcs, x->v.o->ns, cn);
        int rc = 0;
        if (ex && ex->deleting) rc = kc_errf(err, KC_ECONFLICT, "pvc %s is being deleted", cn);
        if (!ex) {
            bool ch;
            json_t *refs = kc_sts_claim_refs(&x->v, NULL, pod_name(p), NULL, false, &ch);
            if (refs && json_array_size(refs))
                json_object_set(json_object_get(claim, "metadata"), "ownerReferences", refs);
            json_decref(refs);
            rc = kc_client_create(x->s->c, x->s->PVC, x->v.o->ns, claim, NULL, err);
            if (rc < 0 && ns_terminating(err)) {
                rc = 1;
            } else if (rc < 0 && err->reason == KC_EALREADYEXISTS) {
                kc_err_release(err);
                rc = 0;
            } else if (rc == 0) {
                kc_event(x->s->rec, x->v.o, "Normal", "SuccessfulCreate",
                         "create Claim %s Pod %s in StatefulSet %s success", cn, pod_name(p), x->v.o->name);
            } else {
                kc_event(x->s->rec, x->v.o, "Warning", "FailedCreate",
                         "create Claim %s for Pod %s in StatefulSet %s failed error: %s", cn, pod_name(p),
                         x->v.o->name, err->msg);
            }
        }
        kc_obj_unref(ex);
        json_decref(claim);
        if (rc != 0) return rc;
    }
    return 0;
}

/* 0 created, 1 not created but nothing to retry (terminating namespace; or the pod exists: a
 * stale cache, or the old pod still terminating - its informer event wakes the set), -1 error. */
static int create_pod(sync_ctx *x, kc_sts_pod *p, kc_err *err)
{
    int rc = create_claims(x, p, err);
    if (rc != 0) return rc;
    if (kc_client_create(x->s->c, x->s->POD, x->v.o->ns, p->doc, NULL, err) < 0) {
        if (ns_terminating(err)) return 1;
        if (err->reason == KC_EALREADYEXISTS) {
            kc_err_release(err);
            return 1;
        }
        kc_event(x->s->rec, x->v.o, "Warning", "FailedCreate",
                 "create Pod %s in StatefulSet %s failed error: %s", pod_name(p), x->v.o->name, err->msg);
        return -1;
    }
    kc_event(x->s->rec, x->v.o, "Normal", "SuccessfulCreate", "create Pod %s in StatefulSet %s successful",
             pod_name(p), x->v.o->name);
    return 0;
}

/* The retention ownerReferences of the pod's claims (3.6), patched where they differ. */
static int fix_claim_refs(sync_ctx *x, kc_sts_pod *p, bool scaled_down, kc_err *err)
{
    size_t i;
    json_t *ct;
    json_array_foreach(x->v.claims, i, ct)
    {
        char *cn = kc_sts_claim_name(
            json_string_value(json_object_get(json_object_get(ct, "metadata"), "name")) ?: "", x->v.o->name,
            p->ordinal);
        kc_obj *claim = kc_informer_get(x->s->pvcs, x->v.o->ns, cn);
        int rc = 0;
        if (claim && !claim->deleting) {
            json_t *d = kc_obj_parse(claim);
            bool changed = false;
            json_t *refs =
                kc_sts_claim_refs(&x->v, json_object_get(json_object_get(d, "metadata"), "ownerReferences"),
                                  pod_name(p), p->o ? p->o->uid : NULL, scaled_down, &changed);
            if (refs && changed) {
                json_t *patch =
                    json_pack("{s:{s:O,s:s}}", "metadata", "ownerReferences", refs, "uid", claim->uid);
                char *body = json_dumps(patch, JSON_COMPACT);
                rc =
                    kc_client_patch(x->s->c, x->s->PVC, claim->ns, claim->name, NULL, MERGE, body, NULL, err);
                if (rc < 0 && (err->reason == KC_ENOTFOUND || err->reason == KC_ECONFLICT)) {
                    kc_err_release(err);
                    rc = 0;
                }
                free(body);
                json_decref(patch);
            }
            json_decref(refs);
            json_decref(d);
        }
        kc_obj_unref(claim);
        free(cn);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Identity labels of an existing pod (names and volumes cannot change on a live pod). */
static int fix_identity(sync_ctx *x, kc_sts_pod *p, kc_err *err)
{
    char idx[16];
    snprintf(idx, sizeof idx, "%d", p->ordinal);
    json_t *patch = json_pack("{s:{s:{s:s,s:s}}}", "metadata", "labels", KC_STS_POD_NAME_LABEL, pod_name(p),
                              KC_STS_POD_INDEX_LABEL, idx);
    char *body = json_dumps(patch, JSON_COMPACT);
    int rc = kc_client_patch(x->s->c, x->s->POD, x->v.o->ns, pod_name(p), NULL, MERGE, body, NULL, err);
    free(body);
    json_decref(patch);
    if (rc < 0 && err->reason == KC_ENOTFOUND) {
        kc_err_release(err);
        rc = 0;
    }
    return rc;
}

/* ---- the per-pod steps ---- */

/* processReplica: 1 when a monotonic set must stop here. */
static int process_replica(sync_ctx *x, kc_sts_pod *p, kc_err *err)
{
    bool mono = !x->v.parallel;
    if (p->failed || p->succeeded) {
        kc_event(x->s->rec, x->v.o, p->failed ? "Warning" : "Normal",
                 p->failed ? "RecreatingFailedPod" : "RecreatingTerminatedPod",
                 "StatefulSet %s/%s is recreating %s Pod %s", x->v.o->ns, x->v.o->name,
                 p->failed ? "failed" : "terminated", pod_name(p));
        if (delete_pod(x, p, err) < 0) return -1;
        p = new_replica(x, p->ordinal);
        x->replicas[p->ordinal - x->v.start] = p;
    }
    if (!p->created && !p->o) {
        int rc = create_pod(x, p, err);
        if (rc != 0) return rc;
        if (mono) return 1;
    }
    if (p->pending && p->o && create_claims(x, p, err) < 0) return -1;
    if (!p->o) return 0; /* created just now (Parallel) or failed pod recreated: nothing to check */
    if (mono && (p->deleting || !p->ready || !p->available)) return 1;
    if (p->deleting) return 0;
    if (!kc_sts_identity_matches(&x->v, p->doc, p->ordinal) && fix_identity(x, p, err) < 0) return -1;
    return fix_claim_refs(x, p, false, err) < 0 ? -1 : 0;
}

static int fix_condemned_claims(sync_ctx *x, kc_sts_pod *p, kc_err *err)
{
    return fix_claim_refs(x, p, true, err);
}

/* processCondemned: 1 when a monotonic set must stop here. */
static int process_condemned(sync_ctx *x, kc_sts_pod *p, kc_err *err)
{
    bool mono = !x->v.parallel;
    if (p->deleting) return mono ? 1 : 0;
    if (mono && (!p->ready || !p->available) && p != x->first_unhealthy) return 1;
    if (delete_pod(x, p, err) < 0) return -1;
    return 1;
}

/* ---- running steps: in order (monotonic) or in slow-start batches ---- */

typedef struct par_ctx {
    sync_ctx *x;
    step_fn fn;
    kc_sts_pod **pods;
} par_ctx;

static void par_step(void *c, size_t i)
{
    par_ctx *pc = c;
    kc_err err = KC_ERR_INIT;
    if (pc->fn(pc->x, pc->pods[i], &err) < 0) {
        pthread_mutex_lock(&pc->x->mu);
        if (!pc->x->failed++)
            pc->x->first = err;
        else
            kc_err_release(&err);
        pthread_mutex_unlock(&pc->x->mu);
    }
}

/* runForAll: 1 when the sync should end here (blocked or failed; err set on failure). */
static int run_all(sync_ctx *x, step_fn fn, kc_sts_pod **pods, size_t n, kc_err *err)
{
    if (!x->v.parallel) {
        for (size_t i = 0; i < n; i++) {
            int rc = fn(x, pods[i], err);
            if (rc != 0) return rc < 0 ? -1 : 1;
        }
        return 0;
    }
    par_ctx pc = {x, fn, pods};
    for (size_t done = 0, size = 1; done < n && !x->failed; done += size, size *= 2) {
        if (size > n - done) size = n - done;
        pc.pods = pods + done;
        kc_parallel(size, KC_STS_MAX_PAR, par_step, &pc);
    }
    if (!x->failed) return 0;
    *err = x->first;
    x->first = (kc_err)KC_ERR_INIT;
    x->failed = 0;
    return -1;
}

/* ---- rolling update (3.5) ---- */

static int rolling_update(sync_ctx *x, kc_err *err)
{
    int n = x->v.replicas, min = x->v.partition;
    if (x->v.max_unavailable) {
        int unavailable = 0, budget = kc_sts_max_unavailable(&x->v);
        for (int i = 0; i < n; i++)
            if (!kc_sts_pod_healthy(x->replicas[i])) unavailable++;
        for (int t = n - 1; t >= min && unavailable < budget; t--) {
            kc_sts_pod *p = x->replicas[t];
            if (strcmp(p->revision, x->upd_name) && !p->deleting && p->o) {
                if (delete_pod(x, p, err) < 0) return -1;
                unavailable++;
            }
        }
        return 0;
    }
    for (int t = n - 1; t >= min; t--) {
        kc_sts_pod *p = x->replicas[t];
        if (strcmp(p->revision, x->upd_name) && !p->deleting && p->o) return delete_pod(x, p, err);
        if (!kc_sts_pod_healthy(p)) return 0;
    }
    return 0;
}

/* ---- status (3.8) ---- */

static json_t *build_status(sync_ctx *x)
{
    size_t n = (size_t)(x->v.replicas > 0 ? x->v.replicas : 0);
    kc_sts_pod **all = xcalloc(n + x->ncondemned + 1, sizeof *all);
    memcpy(all, x->replicas, n * sizeof *all);
    memcpy(all + n, x->condemned, x->ncondemned * sizeof *all);
    kc_sts_counts c;
    kc_sts_count(all, n + x->ncondemned, x->cur_name, x->upd_name, &c);
    free(all);
    const char *cur = x->cur_name;
    if (!x->v.ondelete && c.updated == c.replicas && c.ready == c.replicas && c.replicas == x->v.replicas) {
        c.current = c.updated; /* completeRollingUpdate */
        cur = x->upd_name;
    }
    return json_pack("{s:I,s:i,s:i,s:i,s:i,s:i,s:s,s:s,s:I}", "observedGeneration",
                     (json_int_t)x->v.generation, "replicas", c.replicas, "readyReplicas", c.ready,
                     "currentReplicas", c.current, "updatedReplicas", c.updated, "availableReplicas",
                     c.available, "currentRevision", cur, "updateRevision", x->upd_name, "collisionCount",
                     (json_int_t)x->collision);
}

static bool status_same(json_t *old, json_t *st)
{
    const char *k;
    json_t *v;
    json_object_foreach(st, k, v)
    {
        json_t *o = json_object_get(old, k);
        if (!o || !json_equal(o, v)) return false;
    }
    return true;
}

static int write_status(sync_ctx *x, json_t *st, kc_err *err)
{
    if (status_same(x->v.status, st)) return 0;
    json_t *patch = json_pack("{s:O}", "status", st);
    char *body = json_dumps(patch, JSON_COMPACT);
    int rc = kc_client_patch(x->s->c, x->s->STS, x->v.o->ns, x->v.o->name, "status", MERGE, body, NULL, err);
    free(body);
    json_decref(patch);
    if (rc < 0 && err->reason == KC_ENOTFOUND) {
        kc_err_release(err);
        return 0;
    }
    return rc;
}

/* ---- the sync ---- */

/* Scaling and updating (not for a set being deleted); returns -1 with err on failure. */
static int reconcile(sync_ctx *x, kc_err *err)
{
    size_t n = (size_t)(x->v.replicas > 0 ? x->v.replicas : 0);
    int rc = run_all(x, process_replica, x->replicas, n, err);
    if (rc != 0) return rc < 0 ? -1 : 0;
    rc = run_all(x, fix_condemned_claims, x->condemned, x->ncondemned, err);
    if (rc != 0) return rc < 0 ? -1 : 0;
    /* monotonic: only the highest condemned pod, and only once every replica is healthy */
    rc = run_all(x, process_condemned, x->condemned, x->ncondemned, err);
    if (rc != 0) return rc < 0 ? -1 : 0;
    if (x->v.ondelete) return 0;
    return rolling_update(x, err);
}

static void ctx_release(sync_ctx *x)
{
    for (size_t i = 0; i < x->nmembers; i++)
        kc_sts_pod_release(&x->members[i]);
    for (int i = 0; x->fresh && i < x->v.replicas; i++)
        kc_sts_pod_release(&x->fresh[i]);
    free(x->members);
    free(x->fresh);
    free(x->replicas);
    free(x->condemned);
    json_decref(x->cur_tmpl);
    kc_err_release(&x->first);
    pthread_mutex_destroy(&x->mu);
    kc_sts_view_release(&x->v);
}

static int finish(sync_ctx *x, kc_err *err)
{
    json_t *st = build_status(x);
    int rc = write_status(x, st, err);
    int ready = (int)json_integer_value(json_object_get(st, "readyReplicas"));
    int avail = (int)json_integer_value(json_object_get(st, "availableReplicas"));
    json_decref(st);
    truncate_history(x);
    if (rc < 0) return -1;
    return x->v.min_ready > 0 && ready != avail ? x->v.min_ready * 1000 : 0;
}

static int sync_set(kc_stsctl *s, kc_obj *o)
{
    sync_ctx x = {.s = s, .now = time(NULL), .mu = PTHREAD_MUTEX_INITIALIZER, .first = KC_ERR_INIT};
    kc_err err = KC_ERR_INIT;
    json_t *doc = kc_obj_parse(o);
    int rc = kc_sts_view_init(&x.v, o, doc, &err);
    if (rc < 0) {
        log_err(o->key, "invalid selector", &err);
        rc = 0;
    } else if ((rc = load_members(&x, &err)) == 0 && (rc = revisions(&x, &err)) == 0) {
        partition_pods(&x);
        int mrc = o->deleting ? 0 : reconcile(&x, &err);
        if (mrc < 0) log_err(o->key, "reconcile", &err);
        kc_err_release(&err);
        rc = finish(&x, &err);
        if (rc < 0) log_err(o->key, "status", &err);
        if (mrc < 0) rc = -1;
    } else if (rc > 0) {
        rc = -1; /* quiet retry */
    } else if (ns_terminating(&err)) {
        rc = 0;
    } else {
        log_err(o->key, "sync", &err);
    }
    kc_err_release(&err);
    ctx_release(&x);
    json_decref(doc);
    return rc;
}

int kc_sts_sync(void *ud, const char *key)
{
    kc_stsctl *s = ud;
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    char *ns = xstrndup(key, (size_t)(slash - key));
    kc_obj *o = kc_informer_get(s->sets, ns, slash + 1);
    free(ns);
    if (!o) return 0;
    int rc = sync_set(s, o);
    kc_obj_unref(o);
    return rc;
}
