/* The ReplicaSet sync (semantics 1.3), one key at a time:
 *
 *   ReplicaSet from the cache --gone--> expectations dropped
 *   pods it may claim (ctrl index: its own + the namespace's orphans), active only
 *     --claim (0.6): release owned pods it no longer selects, adopt matching orphans
 *       (strategic-merge patches with a metadata.uid precondition)--> filtered
 *   expectations satisfied and not deleting: diff = |filtered| - spec.replicas
 *     < 0: creates in slow-start batches 1, 2, 4, ... (at most 500), issued concurrently
 *     > 0: deletes of the first diff pods in ranking order (1.4), issued concurrently
 *   status (1.5) written through the status subresource when it changes
 *   returns the delay until a Ready pod becomes Available (minReadySeconds), if any. */
#include "client/events.h"
#include "lib/parallel.h"
#include "controllers/framework.h"
#include "controllers/replicaset_int.h"
#include "lib/xalloc.h"
#include <stdio.h>

#define SMP "application/strategic-merge-patch+json"

typedef struct rsview {
    kc_obj *o;
    json_t *doc, *tmpl, *status;
    kc_labelsel *sel;
    int replicas, min_ready;
    int64_t generation;
    bool deleting;
} rsview;

typedef struct podset {
    kc_obj **objs; /* references */
    size_t nobjs;
    kc_rs_pod *pods;  /* facts of the active ones */
    kc_rs_pod **keep; /* filtered: the claimed pods */
    size_t npods, nkeep;
} podset;

static void logf_err(const char *key, const char *what, const kc_err *err)
{
    fprintf(stderr, "replicaset-controller: %s: %s: %s\n", key, what, err->msg);
}

/* -1 when the selector is invalid or empty (such a ReplicaSet is left alone, as upstream). */
static int view_init(rsview *v, kc_obj *o, kc_err *err)
{
    v->o = o;
    v->doc = kc_obj_parse(o);
    json_t *spec = json_object_get(v->doc, "spec"), *md = json_object_get(v->doc, "metadata");
    if (kc_labelsel_from_json(json_object_get(spec, "selector"), &v->sel, err) < 0) return -1;
    if (kc_labelsel_empty(v->sel) || kc_labelsel_is_nothing(v->sel))
        return kc_errf(err, KC_EINVALID, "an empty selector selects no pods");
    json_t *rep = json_object_get(spec, "replicas");
    v->replicas = rep ? (int)json_integer_value(rep) : 1;
    v->min_ready = (int)json_integer_value(json_object_get(spec, "minReadySeconds"));
    v->tmpl = json_object_get(spec, "template");
    v->status = json_object_get(v->doc, "status");
    v->generation = json_integer_value(json_object_get(md, "generation"));
    v->deleting = o->deleting;
    return 0;
}

/* ---- pods ---- */

static void load_pods(kc_rsctl *r, const rsview *v, podset *ps)
{
    char k1[128], k2[300];
    snprintf(k1, sizeof k1, "u:%s", v->o->uid);
    snprintf(k2, sizeof k2, "o:%s", v->o->ns);
    kc_obj **own, **orph;
    size_t n1 = kc_informer_by_index(r->pods, "ctrl", k1, &own);
    size_t n2 = kc_informer_by_index(r->pods, "ctrl", k2, &orph);
    ps->objs = xrealloc(own, (n1 + n2 + 1) * sizeof *own);
    memcpy(ps->objs + n1, orph, n2 * sizeof *orph);
    free(orph);
    ps->nobjs = n1 + n2;
    ps->pods = xcalloc(ps->nobjs + 1, sizeof *ps->pods);
    ps->keep = xcalloc(ps->nobjs + 1, sizeof *ps->keep);
    for (size_t i = 0; i < ps->nobjs; i++) {
        const kc_obj *o = ps->objs[i];
        const char *phase = kc_obj_field(o, "status.phase");
        if (o->deleting || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))) continue;
        kc_rs_facts(r, o, &ps->pods[ps->npods]);
        if (ps->pods[ps->npods].active) ps->npods++;
    }
}

static void podset_free(podset *ps)
{
    kc_objv_free(ps->objs, ps->nobjs);
    free(ps->pods);
    free(ps->keep);
}

/* ---- claim (semantics 0.6) ---- */

static bool ignorable(const kc_err *e)
{
    return e->reason == KC_ENOTFOUND || e->reason == KC_ECONFLICT || e->reason == KC_EINVALID;
}

static int patch_pod(kc_rsctl *r, const kc_obj *pod, json_t *ref, kc_err *err)
{
    json_t *p = json_pack("{s:{s:[o],s:s}}", "metadata", "ownerReferences", ref, "uid", pod->uid);
    char *body = json_dumps(p, JSON_COMPACT);
    int rc = kc_client_patch(r->c, r->POD, pod->ns, pod->name, NULL, SMP, body, NULL, err);
    free(body);
    json_decref(p);
    return rc;
}

static int release(kc_rsctl *r, const rsview *v, const kc_obj *pod, kc_err *err)
{
    json_t *del = json_pack("{s:s,s:s}", "$patch", "delete", "uid", v->o->uid);
    if (patch_pod(r, pod, del, err) == 0 || ignorable(err)) {
        kc_err_release(err);
        return 0;
    }
    return kc_err_wrap(err, "release pod %s", pod->name);
}

/* canAdopt: the ReplicaSet read from the server (not the cache) is the same and not deleting. */
static int can_adopt(kc_rsctl *r, const rsview *v, kc_err *err)
{
    kc_obj *fresh = NULL;
    if (kc_client_get(r->c, r->RS, v->o->ns, v->o->name, &fresh, err) < 0 && err->reason != KC_ENOTFOUND)
        return -1;
    kc_err_release(err);
    int rc = 0;
    if (!fresh || strcmp(fresh->uid, v->o->uid))
        rc = kc_errf(err, KC_ECONFLICT, "original ReplicaSet %s is gone: got uid %s, wanted %s", v->o->key,
                     fresh ? fresh->uid : "", v->o->uid);
    else if (fresh->deleting)
        rc = kc_errf(err, KC_ECONFLICT, "%s has just been deleted", v->o->key);
    kc_obj_unref(fresh);
    return rc;
}

/* 1 adopted, 0 gone meanwhile, -1 error. */
static int adopt(kc_rsctl *r, const rsview *v, const kc_obj *pod, bool *checked, kc_err *err)
{
    if (!*checked && can_adopt(r, v, err) < 0) return -1;
    *checked = true;
    if (patch_pod(r, pod, kc_owner_ref(v->o), err) == 0) return 1;
    if (err->reason == KC_ENOTFOUND) {
        kc_err_release(err);
        return 0;
    }
    return kc_err_wrap(err, "adopt pod %s", pod->name);
}

static int claim(kc_rsctl *r, const rsview *v, podset *ps, kc_err *err)
{
    bool checked = false;
    for (size_t i = 0; i < ps->npods; i++) {
        kc_rs_pod *p = &ps->pods[i];
        bool match = kc_labelsel_match(v->sel, p->o->labels);
        if (!strcmp(p->ctrl_uid, v->o->uid)) {
            if (match)
                ps->keep[ps->nkeep++] = p;
            else if (!v->deleting && release(r, v, p->o, err) < 0)
                return -1;
            continue;
        }
        if (p->ctrl_uid[0] || v->deleting || !match) continue;
        int rc = adopt(r, v, p->o, &checked, err);
        if (rc < 0) return -1;
        if (rc > 0) ps->keep[ps->nkeep++] = p;
    }
    return 0;
}

/* ---- creates and deletes ---- */

typedef struct batch {
    kc_rsctl *r;
    const rsview *v;
    json_t **docs;    /* creates: the current batch's pod documents */
    kc_rs_pod **pods; /* deletes: the victims */
    pthread_mutex_t mu;
    int failed;
    kc_err first; /* the first error */
} batch;

static void batch_fail(batch *b, const kc_err *e)
{
    pthread_mutex_lock(&b->mu);
    if (!b->failed++) {
        b->first.reason = e->reason;
        snprintf(b->first.msg, sizeof b->first.msg, "%s", e->msg);
    }
    pthread_mutex_unlock(&b->mu);
}

/* NamespaceTerminating: creation into a namespace being deleted is silently dropped. */
static bool ns_terminating(const kc_err *e)
{
    return e->reason == KC_EFORBIDDEN && strstr(e->msg, "because it is being terminated");
}

static void create_one(void *ctx, size_t i)
{
    batch *b = ctx;
    kc_obj *pod = NULL;
    kc_err err = KC_ERR_INIT;
    if (kc_client_create(b->r->c, b->r->POD, b->v->o->ns, b->docs[i], &pod, &err) == 0) {
        kc_event(b->r->rec, b->v->o, "Normal", "SuccessfulCreate", "Created pod: %s", pod->name);
    } else {
        kc_creation_observed(b->r->exp, b->v->o->key); /* no pod will be observed */
        if (!ns_terminating(&err)) {
            kc_event(b->r->rec, b->v->o, "Warning", "FailedCreate", "Error creating: %s", err.msg);
            batch_fail(b, &err);
        }
    }
    kc_obj_unref(pod);
    kc_err_release(&err);
}

/* slowStartBatch: 1, 2, 4, ... creates; a failing batch skips the rest (expectations lowered). */
static int create_pods(kc_rsctl *r, const rsview *v, int n, kc_err *err)
{
    kc_expect_creations(r->exp, v->o->key, n);
    json_t **docs = xcalloc((size_t)n, sizeof *docs);
    batch b = {r, v, docs, NULL, PTHREAD_MUTEX_INITIALIZER, 0, KC_ERR_INIT};
    int done = 0;
    for (int size = 1; done < n && !b.failed; done += size, size *= 2) {
        if (size > n - done) size = n - done;
        b.docs = docs + done;
        for (int i = 0; i < size; i++)
            b.docs[i] = kc_pod_from_template(v->tmpl, v->o, v->o->ns);
        kc_parallel((size_t)size, KC_RS_MAX_PAR, create_one, &b);
        for (int i = 0; i < size; i++)
            json_decref(b.docs[i]);
    }
    for (int i = done; i < n; i++)
        kc_creation_observed(r->exp, v->o->key);
    free(docs);
    if (!b.failed) return 0;
    *err = b.first;
    return -1;
}

static void delete_one(void *ctx, size_t i)
{
    batch *b = ctx;
    const kc_obj *pod = b->pods[i]->o;
    kc_err err = KC_ERR_INIT;
    if (kc_client_delete(b->r->c, b->r->POD, pod->ns, pod->name, NULL, &err) == 0) {
        kc_event(b->r->rec, b->v->o, "Normal", "SuccessfulDelete", "Deleted pod: %s", pod->name);
    } else {
        kc_rs_deletion_observed(b->r, pod->key);
        if (err.reason != KC_ENOTFOUND) {
            kc_event(b->r->rec, b->v->o, "Warning", "FailedDelete", "Error deleting: %s", err.msg);
            batch_fail(b, &err);
        }
    }
    kc_err_release(&err);
}

/* Rule 5's rank: active pods on each node selected by any ReplicaSet with the same controller
 * as this one (none for a ReplicaSet without a controller). */
static void fill_ranks(kc_rsctl *r, const rsview *v, kc_rs_pod **pods, size_t n)
{
    char ctrl[64], other[64];
    if (!kc_obj_controller(v->o, ctrl, sizeof ctrl, NULL, 0, NULL, 0)) return;
    kc_obj **rss, **all;
    size_t nrs = kc_informer_list(r->rss, v->o->ns, &rss),
           nall = kc_informer_by_index(r->pods, "ns", v->o->ns, &all);
    size_t nrel = 0;
    for (size_t i = 0; i < nrs; i++)
        if (kc_obj_controller(rss[i], other, sizeof other, NULL, 0, NULL, 0) && !strcmp(other, ctrl))
            rss[nrel++] = rss[i];
        else
            kc_obj_unref(rss[i]);
    kc_map on_node = KC_MAP_INIT;
    for (size_t i = 0; i < nall; i++) {
        const char *phase = kc_obj_field(all[i], "status.phase"),
                   *node = kc_obj_field(all[i], "spec.nodeName");
        if (all[i]->deleting || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
            continue;
        for (size_t j = 0; j < nrel; j++) {
            if (!kc_rs_selects(r, rss[j], all[i]->labels)) continue;
            kc_map_put(&on_node, node ?: "", (void *)((intptr_t)kc_map_get(&on_node, node ?: "") + 1));
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        pods[i]->rank = (int)(intptr_t)kc_map_get(&on_node, kc_obj_field(pods[i]->o, "spec.nodeName") ?: "");
    kc_map_release(&on_node);
    kc_objv_free(rss, nrel);
    kc_objv_free(all, nall);
}

static int delete_pods(kc_rsctl *r, const rsview *v, podset *ps, int n, kc_err *err)
{
    if ((size_t)n < ps->nkeep) {
        fill_ranks(r, v, ps->keep, ps->nkeep);
        kc_rs_rank_sort(ps->keep, ps->nkeep, kc_rs_now_ns());
    }
    kc_rs_expect_deletions(r, v->o->key, ps->keep, (size_t)n);
    batch b = {r, v, NULL, ps->keep, PTHREAD_MUTEX_INITIALIZER, 0, KC_ERR_INIT};
    kc_parallel((size_t)n, KC_RS_MAX_PAR, delete_one, &b);
    if (!b.failed) return 0;
    *err = b.first;
    return -1;
}

/* manageReplicas: returns -1 with err when a create or delete failed. */
static int manage(kc_rsctl *r, const rsview *v, podset *ps, kc_err *err)
{
    int diff = (int)ps->nkeep - v->replicas;
    if (diff < 0) return create_pods(r, v, -diff < KC_RS_BURST ? -diff : KC_RS_BURST, err);
    if (diff > 0) return delete_pods(r, v, ps, diff < KC_RS_BURST ? diff : KC_RS_BURST, err);
    return 0;
}

/* ---- status ---- */

static int put_status(kc_rsctl *r, const rsview *v, json_t *status, kc_err *err)
{
    json_t *doc = json_deep_copy(v->doc);
    for (int attempt = 0;; attempt++) {
        json_object_set(doc, "status", status);
        kc_obj *out = NULL;
        int rc = kc_client_update(r->c, r->RS, doc, "status", &out, err);
        json_decref(doc);
        if (rc == 0) kc_rs_set_written(r, v->o->key, out->rev, status);
        kc_obj_unref(out);
        if (rc == 0 || attempt == 1 || err->reason != KC_ECONFLICT) return rc;
        kc_err_release(err);
        if (kc_client_get(r->c, r->RS, v->o->ns, v->o->name, &out, err) < 0) return -1;
        bool same = !strcmp(out->uid, v->o->uid);
        doc = same ? kc_obj_parse(out) : NULL;
        kc_obj_unref(out);
        if (!same) return 0; /* replaced: the new one has its own sync */
    }
}

/* Writes the status when it changes; *requeue_ms gets the minReadySeconds delay. */
static int update_status(kc_rsctl *r, const rsview *v, podset *ps, const kc_err *merr, kc_err *err,
                         int64_t *requeue_ms)
{
    kc_rs_counts c;
    json_t *tlabels = json_object_get(json_object_get(v->tmpl, "metadata"), "labels");
    kc_rs_count(ps->keep, ps->nkeep, tlabels, v->min_ready, kc_rs_now_ns() / 1000000, &c);
    *requeue_ms = c.next_available_ms;
    const char *reason = NULL;
    if (merr) reason = (int)ps->nkeep < v->replicas ? "FailedCreate" : "FailedDelete";
    json_t *st = kc_rs_status(v->status, &c, v->generation, reason, merr ? merr->msg : NULL);
    int rc = 0;
    if (!kc_rs_status_same(v->status, st, v->generation) && !kc_rs_written_same(r, v->o, st))
        rc = put_status(r, v, st, err);
    json_decref(st);
    return rc;
}

/* ---- sync ---- */

static int sync_rs(kc_rsctl *r, kc_obj *o)
{
    rsview v = {0};
    kc_err err = KC_ERR_INIT, merr = KC_ERR_INIT;
    if (view_init(&v, o, &err) < 0) {
        logf_err(o->key, "invalid selector", &err);
        kc_err_release(&err);
        kc_labelsel_free(v.sel);
        json_decref(v.doc);
        return 0;
    }
    bool need = kc_expectations_satisfied(r->exp, o->key);
    podset ps = {0};
    load_pods(r, &v, &ps);
    int64_t requeue = 0;
    int rc = claim(r, &v, &ps, &err);
    int mrc = rc == 0 && need && !v.deleting ? manage(r, &v, &ps, &merr) : 0;
    if (rc == 0) rc = update_status(r, &v, &ps, mrc < 0 ? &merr : NULL, &err, &requeue);
    if (rc < 0) logf_err(o->key, "sync", &err);
    if (mrc < 0) logf_err(o->key, "manage replicas", &merr);
    kc_err_release(&err);
    kc_err_release(&merr);
    podset_free(&ps);
    kc_labelsel_free(v.sel);
    json_decref(v.doc);
    if (rc < 0 || mrc < 0) return -1;
    return requeue > 0 ? (int)(requeue < 1 << 30 ? requeue : 1 << 30) : 0;
}

int kc_rs_sync(void *ud, const char *key)
{
    kc_rsctl *r = ud;
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    char *ns = strndup(key, (size_t)(slash - key));
    kc_obj *o = kc_informer_get(r->rss, ns, slash + 1);
    free(ns);
    if (!o) {
        kc_expectations_delete(r->exp, key);
        return 0;
    }
    int rc = sync_rs(r, o);
    kc_obj_unref(o);
    return rc;
}
