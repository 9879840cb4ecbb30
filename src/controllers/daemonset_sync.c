/* The DaemonSet sync (semantics 4), one key at a time:
 *
 *   DaemonSet from the cache --gone--> expectations dropped;  being deleted --> nothing
 *   history: the revision whose data equals the template (bumped to the newest number when it
 *     is an older one: a rollback), else a new ControllerRevision "<ds>-<hash>" (4.2); its hash
 *     labels the pods
 *   pods it may claim (ctrl index: its own + the namespace's orphans) --claim (0.6)--> grouped by
 *     target node into slots, one per node (+ one per missing node a pod targets)
 *   expectations satisfied:
 *     manage (4.5): per slot create / delete (failed pods with per-node backoff), unbound pods
 *       on missing nodes deleted; creates in slow-start batches, at most 250 per sync
 *     nothing issued and RollingUpdate --> rolling update (4.6): deletes within maxUnavailable,
 *       or surge creates within maxSurge
 *     old revisions beyond revisionHistoryLimit deleted
 *   status (4.7) written through the status subresource when it changes; observedGeneration
 *   only moves when the sync could act (expectations satisfied)
 *   returns the delay until availability or a failed-pod backoff next changes, if any. */
#include "client/events.h"
#include "lib/parallel.h"
#include "api/selector.h"
#include "controllers/daemonset_int.h"
#include "controllers/deployment_hash.h"
#include "controllers/framework.h"
#include "controllers/history.h"
#include "lib/xalloc.h"
#include <stdarg.h>
#include <stdio.h>

#define SMP "application/strategic-merge-patch+json"

typedef struct dsview {
    kc_obj *o;
    json_t *doc, *spec, *tmpl, *status;
    json_t *eval; /* template spec + daemon tolerations: what eligibility reads */
    kc_labelsel *sel;
    int min_ready, history_limit;
    int64_t generation, collision;
    bool has_collision, rolling;
    char gen[24];  /* template generation: the annotation, else metadata.generation */
    char hash[16]; /* the current revision's hash */
} dsview;

typedef struct podset {
    kc_obj **objs; /* references: owned pods and orphans */
    size_t nobjs;
    kc_ds_pod *pods; /* facts of the claimed pods */
    size_t npods;
    kc_ds_pod **refs; /* slot storage */
    kc_ds_node **nodes;
    size_t nnodes;
    kc_ds_slot *slots;
    size_t nslots;
} podset;

typedef struct actions {
    int creates, deletes, failed;
    int64_t requeue_ms;
    kc_err first;
} actions;

static void logf_err(const char *key, const char *what, const kc_err *err)
{
    fprintf(stderr, "daemonset-controller: %s: %s: %s\n", key, what, err->msg);
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- the DaemonSet ---- */

static void template_generation(dsview *v)
{
    json_t *md = json_object_get(v->doc, "metadata");
    const char *a =
        json_string_value(json_object_get(json_object_get(md, "annotations"), KC_DS_GEN_ANNOTATION));
    if (a && a[0])
        snprintf(v->gen, sizeof v->gen, "%s", a);
    else
        snprintf(v->gen, sizeof v->gen, "%lld", (long long)v->generation);
}

static int view_init(dsview *v, kc_obj *o, kc_err *err)
{
    v->o = o;
    v->doc = kc_obj_parse(o);
    v->spec = json_object_get(v->doc, "spec");
    json_t *md = json_object_get(v->doc, "metadata");
    if (kc_labelsel_from_json(json_object_get(v->spec, "selector"), &v->sel, err) < 0) return -1;
    if (kc_labelsel_empty(v->sel) || kc_labelsel_is_nothing(v->sel))
        return kc_errf(err, KC_EINVALID, "an empty selector selects no pods");
    v->tmpl = json_object_get(v->spec, "template");
    v->status = json_object_get(v->doc, "status");
    v->min_ready = (int)json_integer_value(json_object_get(v->spec, "minReadySeconds"));
    json_t *lim = json_object_get(v->spec, "revisionHistoryLimit");
    v->history_limit = lim ? (int)json_integer_value(lim) : 10;
    v->generation = json_integer_value(json_object_get(md, "generation"));
    json_t *cc = json_object_get(v->status, "collisionCount");
    v->has_collision = json_is_integer(cc);
    v->collision = json_integer_value(cc);
    const char *type = json_string_value(json_object_get(json_object_get(v->spec, "updateStrategy"), "type"));
    v->rolling = !type || !strcmp(type, "RollingUpdate");
    json_t *ts = json_object_get(v->tmpl, "spec");
    v->eval = json_is_object(ts) ? json_deep_copy(ts) : json_object();
    kc_ds_add_tolerations(v->eval);
    template_generation(v);
    return 0;
}

static void view_release(dsview *v)
{
    json_decref(v->eval);
    kc_labelsel_free(v->sel);
    json_decref(v->doc);
}

/* ---- history (4.2) ---- */

static int64_t max_other(kc_obj **revs, size_t n, const kc_obj *cur)
{
    int64_t max = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t r = revs[i] == cur ? 0 : kc_history_revision(revs[i]);
        if (r > max) max = r;
    }
    return max;
}

static int write_collision(kc_dsctl *d, dsview *v, kc_err *err)
{
    char patch[96];
    snprintf(patch, sizeof patch, "{\"status\":{\"collisionCount\":%lld}}", (long long)v->collision + 1);
    return kc_client_patch(d->c, d->DS, v->o->ns, v->o->name, "status", "application/merge-patch+json", patch,
                           NULL, err);
}

/* snapshot: a new revision "<ds>-<hash>"; AlreadyExists with other data is a hash collision:
 * status.collisionCount moves and the sync is retried. *out: reference. */
static int snapshot(kc_dsctl *d, dsview *v, const char *data, size_t len, int64_t number, kc_obj **out,
                    kc_err *err)
{
    char hash[11];
    kc_deploy_template_hash(v->tmpl, v->has_collision ? &v->collision : NULL, hash);
    char *name = kc_history_name(v->o->name, hash);
    json_t *doc = kc_history_new_doc(v->o, json_object_get(json_object_get(v->tmpl, "metadata"), "labels"),
                                     json_object_get(json_object_get(v->doc, "metadata"), "annotations"),
                                     KC_DS_HASH_LABEL, name, hash, data, len, number);
    int rc = kc_client_create(d->c, d->CR, v->o->ns, doc, out, err);
    json_decref(doc);
    if (rc == 0 || err->reason != KC_EALREADYEXISTS) goto done;
    kc_err_release(err);
    if ((rc = kc_client_get(d->c, d->CR, v->o->ns, name, out, err)) < 0) goto done;
    size_t el;
    char *ed = kc_history_rev_data(*out, &el);
    char uid[64];
    bool mine = kc_obj_controller(*out, uid, sizeof uid, NULL, 0, NULL, 0) && !strcmp(uid, v->o->uid);
    bool same = mine && ed && el == len && !memcmp(ed, data, len);
    free(ed);
    if (!same) {
        kc_obj_unref(*out);
        *out = NULL;
        rc = write_collision(d, v, err);
        if (rc == 0) rc = kc_errf(err, KC_ECONFLICT, "hash collision on controllerrevision %s", name);
    }
done:
    free(name);
    return rc;
}

/* constructHistory: sets v->hash; *revs gets every revision of the set (for truncation). */
static int construct_history(kc_dsctl *d, dsview *v, kc_obj ***revs, size_t *nrevs, kc_err *err)
{
    size_t len;
    char *data = kc_history_template_data(v->tmpl, &len);
    *nrevs = kc_history_list(d->revs, v->o, revs);
    const kc_obj *cur = kc_history_find_equal(*revs, *nrevs, data, len);
    int64_t next = max_other(*revs, *nrevs, cur) + 1;
    kc_obj *made = NULL;
    int rc = 0;
    if (!cur)
        rc = snapshot(d, v, data, len, next, &made, err);
    else if (kc_history_revision(cur) < next)
        rc = kc_history_bump(d->c, cur, next, NULL, err);
    free(data);
    if (rc < 0) return -1;
    const kc_obj *h = made ? made : cur;
    const char *hash = json_string_value(json_object_get(h->labels, KC_DS_HASH_LABEL));
    if (!hash) hash = strrchr(h->name, '-') ? strrchr(h->name, '-') + 1 : h->name;
    snprintf(v->hash, sizeof v->hash, "%s", hash);
    kc_obj_unref(made);
    return 0;
}

/* cleanupHistory: old revisions beyond the limit whose hash no live pod carries. */
static int cleanup_history(kc_dsctl *d, dsview *v, podset *ps, kc_obj **revs, size_t n, kc_err *err)
{
    if (n <= (size_t)v->history_limit + 1) return 0;
    const char **live = xcalloc(ps->npods + 1, sizeof *live);
    char **names = xcalloc(ps->npods + 1, sizeof *names);
    size_t nl = 0;
    names[nl] = kc_history_name(v->o->name, v->hash);
    live[nl] = names[nl], nl++;
    for (size_t i = 0; i < ps->npods; i++)
        if (ps->pods[i].hash[0])
            names[nl] = kc_history_name(v->o->name, ps->pods[i].hash), live[nl] = names[nl], nl++;
    int rc = kc_history_truncate(d->c, revs, n, live, nl, v->history_limit, err);
    for (size_t i = 0; i < nl; i++)
        free(names[i]);
    free(names);
    free(live);
    return rc < 0 ? -1 : 0;
}

/* ---- claim (0.6) ---- */

static int patch_ref(kc_dsctl *d, const kc_obj *pod, json_t *ref, kc_err *err)
{
    json_t *p = json_pack("{s:{s:[o],s:s}}", "metadata", "ownerReferences", ref, "uid", pod->uid);
    char *body = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    int rc = kc_client_patch(d->c, d->POD, pod->ns, pod->name, NULL, SMP, body, NULL, err);
    free(body);
    if (rc < 0 &&
        (err->reason == KC_ENOTFOUND || err->reason == KC_ECONFLICT || err->reason == KC_EINVALID)) {
        kc_err_release(err);
        return 1; /* gone or replaced: not ours */
    }
    return rc;
}

/* Before the first adoption, the set is re-read from the server: no adoption for a set that is
 * gone, replaced or being deleted. */
static bool can_adopt(kc_dsctl *d, dsview *v)
{
    kc_obj *fresh = NULL;
    kc_err err = KC_ERR_INIT;
    bool ok = kc_client_get(d->c, d->DS, v->o->ns, v->o->name, &fresh, &err) == 0 &&
              !strcmp(fresh->uid, v->o->uid) && !fresh->deleting;
    kc_obj_unref(fresh);
    kc_err_release(&err);
    return ok;
}

/* One candidate: 1 when the set keeps (or now owns) it, 0 when not, -1 on error. */
static int claim_one(kc_dsctl *d, dsview *v, const kc_ds_pod *p, int *adopt_ok, kc_err *err)
{
    bool match = kc_labelsel_match(v->sel, p->o->labels);
    if (p->ctrl_uid[0]) {
        if (strcmp(p->ctrl_uid, v->o->uid)) return 0;
        if (match) return 1;
        json_t *del = json_pack("{s:s,s:s}", "$patch", "delete", "uid", v->o->uid);
        int rc = patch_ref(d, p->o, del, err);
        return rc < 0 ? -1 : 0;
    }
    if (!match || p->deleting) return 0;
    if (*adopt_ok < 0) *adopt_ok = can_adopt(d, v);
    if (!*adopt_ok) return 0;
    int rc = patch_ref(d, p->o, kc_owner_ref(v->o), err);
    return rc < 0 ? -1 : rc == 0;
}

static int load_pods(kc_dsctl *d, dsview *v, podset *ps, kc_err *err)
{
    char key[80];
    kc_obj **own, **orphans;
    snprintf(key, sizeof key, "u:%s", v->o->uid);
    size_t n1 = kc_informer_by_index(d->pods, "ctrl", key, &own);
    snprintf(key, sizeof key, "o:%s", v->o->ns);
    size_t n2 = kc_informer_by_index(d->pods, "ctrl", key, &orphans);
    ps->objs = xcalloc(n1 + n2 + 1, sizeof *ps->objs);
    memcpy(ps->objs, own, n1 * sizeof *own);
    memcpy(ps->objs + n1, orphans, n2 * sizeof *orphans);
    free(own);
    free(orphans);
    ps->nobjs = n1 + n2;
    ps->pods = xcalloc(ps->nobjs + 1, sizeof *ps->pods);
    int adopt_ok = -1;
    for (size_t i = 0; i < ps->nobjs; i++) {
        kc_ds_pod *p = &ps->pods[ps->npods];
        kc_ds_facts(d, ps->objs[i], p);
        int rc = claim_one(d, v, p, &adopt_ok, err);
        if (rc < 0) return -1;
        if (rc == 1) ps->npods++;
    }
    return 0;
}

/* ---- slots: pods by node ---- */

static void build_slots(kc_dsctl *d, dsview *v, podset *ps)
{
    ps->nnodes = kc_ds_nodes(d, &ps->nodes);
    ps->slots = xcalloc(ps->nnodes + ps->npods + 1, sizeof *ps->slots);
    ps->refs = xcalloc(ps->npods + 1, sizeof *ps->refs);
    kc_map idx = KC_MAP_INIT;
    for (size_t i = 0; i < ps->nnodes; i++) {
        kc_ds_slot *s = &ps->slots[ps->nslots++];
        s->node = ps->nodes[i];
        s->name = ps->nodes[i]->name;
        kc_ds_should_run(v->eval, s->node, &s->should_run, &s->should_continue);
        kc_map_put(&idx, s->name, (void *)(uintptr_t)ps->nslots);
    }
    size_t *count = xcalloc(ps->nnodes + ps->npods + 1, sizeof *count), *at = NULL;
    size_t *slot_of = xcalloc(ps->npods + 1, sizeof *slot_of);
    for (size_t i = 0; i < ps->npods; i++) {
        const char *node = ps->pods[i].node;
        uintptr_t k = node[0] ? (uintptr_t)kc_map_get(&idx, node) : 0;
        if (!k && node[0]) { /* a pod targeting a node that does not exist */
            ps->slots[ps->nslots].name = node;
            k = ++ps->nslots;
            kc_map_put(&idx, node, (void *)k);
        }
        slot_of[i] = k;
        if (k) count[k - 1]++;
    }
    at = xcalloc(ps->nslots + 1, sizeof *at);
    for (size_t i = 1; i <= ps->nslots; i++)
        at[i] = at[i - 1] + count[i - 1];
    for (size_t i = 0; i < ps->nslots; i++)
        ps->slots[i].pods = ps->refs + at[i];
    for (size_t i = 0; i < ps->npods; i++)
        if (slot_of[i]) {
            kc_ds_slot *s = &ps->slots[slot_of[i] - 1];
            s->pods[s->npods++] = &ps->pods[i];
        }
    for (size_t i = 0; i < ps->nslots; i++)
        kc_ds_sort_pods(ps->slots[i].pods, ps->slots[i].npods);
    free(count);
    free(at);
    free(slot_of);
    kc_map_release(&idx);
}

static void podset_free(podset *ps)
{
    kc_objv_free(ps->objs, ps->nobjs);
    kc_ds_nodes_free(ps->nodes, ps->nnodes);
    free(ps->pods);
    free(ps->refs);
    free(ps->slots);
}

/* ---- creates and deletes ---- */

typedef struct batch {
    kc_dsctl *d;
    dsview *v;
    json_t *base;       /* pod without node pin */
    const char **nodes; /* creates */
    kc_ds_pod **pods;   /* deletes */
    json_t *opts;       /* DeleteOptions of the deletes (NULL: the pod's grace period) */
    pthread_mutex_t mu;
    actions *a;
} batch;

static void batch_fail(batch *b, const kc_err *e)
{
    pthread_mutex_lock(&b->mu);
    if (!b->a->failed++) {
        b->a->first.reason = e->reason;
        snprintf(b->a->first.msg, sizeof b->a->first.msg, "%s", e->msg);
    }
    pthread_mutex_unlock(&b->mu);
}

static void create_one(void *ctx, size_t i)
{
    batch *b = ctx;
    json_t *doc = json_deep_copy(b->base);
    kc_ds_pin_node(json_object_get(doc, "spec"), b->nodes[i]);
    kc_obj *pod = NULL;
    kc_err err = KC_ERR_INIT;
    if (kc_client_create(b->d->c, b->d->POD, b->v->o->ns, doc, &pod, &err) == 0) {
        kc_event(b->d->rec, b->v->o, "Normal", "SuccessfulCreate", "Created pod: %s", pod->name);
    } else {
        kc_creation_observed(b->d->exp, b->v->o->key); /* no pod will be observed */
        if (!(err.reason == KC_EFORBIDDEN && strstr(err.msg, "being terminated"))) {
            kc_event(b->d->rec, b->v->o, "Warning", "FailedCreate", "Error creating: %s", err.msg);
            batch_fail(b, &err);
        }
    }
    kc_obj_unref(pod);
    kc_err_release(&err);
    json_decref(doc);
}

/* The pod every node gets before its pin (4.3): template + hash and generation labels +
 * daemon tolerations; generateName "<ds>-" and the ControllerRef. */
static json_t *base_pod(dsview *v)
{
    json_t *pod = kc_pod_from_template(v->tmpl, v->o, v->o->ns);
    json_t *md = json_object_get(pod, "metadata"), *labels = json_object_get(md, "labels");
    if (!json_is_object(labels)) json_object_set_new(md, "labels", labels = json_object());
    json_object_set_new(labels, KC_DS_HASH_LABEL, json_string(v->hash));
    json_object_set_new(labels, KC_DS_GEN_LABEL, json_string(v->gen));
    kc_ds_add_tolerations(json_object_get(pod, "spec"));
    return pod;
}

/* slowStartBatch: 1, 2, 4, ... creates; a failing batch skips the rest. */
static void create_pods(kc_dsctl *d, dsview *v, const char **nodes, int n, actions *a)
{
    if (n <= 0) return;
    kc_expect_creations(d->exp, v->o->key, n);
    batch b = {d, v, base_pod(v), NULL, NULL, NULL, PTHREAD_MUTEX_INITIALIZER, a};
    int done = 0;
    for (int size = 1; done < n && !a->failed; done += size, size *= 2) {
        if (size > n - done) size = n - done;
        b.nodes = nodes + done;
        kc_parallel((size_t)size, KC_DS_MAX_PAR, create_one, &b);
    }
    for (int i = done; i < n; i++)
        kc_creation_observed(d->exp, v->o->key);
    a->creates += n;
    json_decref(b.base);
}

static void delete_one(void *ctx, size_t i)
{
    batch *b = ctx;
    const kc_obj *pod = b->pods[i]->o;
    kc_err err = KC_ERR_INIT;
    if (kc_client_delete(b->d->c, b->d->POD, pod->ns, pod->name, b->opts, &err) == 0) {
        kc_event(b->d->rec, b->v->o, "Normal", "SuccessfulDelete", "Deleted pod: %s", pod->name);
    } else {
        kc_ds_deletion_observed(b->d, pod->key);
        if (err.reason != KC_ENOTFOUND) {
            kc_event(b->d->rec, b->v->o, "Warning", "FailedDelete", "Error deleting: %s", err.msg);
            batch_fail(b, &err);
        }
    }
    kc_err_release(&err);
}

static void delete_pods_opts(kc_dsctl *d, dsview *v, kc_ds_pod **pods, int n, json_t *opts, actions *a)
{
    if (n <= 0) return;
    for (int i = 0; i < n; i++)
        kc_ds_expect_deletion(d, v->o->key, pods[i]->o->key);
    batch b = {d, v, NULL, NULL, pods, opts, PTHREAD_MUTEX_INITIALIZER, a};
    kc_parallel((size_t)n, KC_DS_MAX_PAR, delete_one, &b);
    a->deletes += n;
}

static void delete_pods(kc_dsctl *d, dsview *v, kc_ds_pod **pods, int n, actions *a)
{
    delete_pods_opts(d, v, pods, n, NULL, a);
}

/* ---- manage (4.5) ---- */

static void min_requeue(actions *a, int64_t ms)
{
    if (ms > 0 && (!a->requeue_ms || ms < a->requeue_ms)) a->requeue_ms = ms;
}

/* FailedDaemonPod / SucceededDaemonPod for the terminal pods about to be deleted on a node. */
static void report_terminal(kc_dsctl *d, dsview *v, const kc_ds_slot *s, kc_ds_pod **dels, size_t n)
{
    if (!s->should_continue) return;
    for (size_t j = 0; j < n; j++) {
        if (dels[j]->failed)
            kc_event(d->rec, v->o, "Warning", "FailedDaemonPod",
                        "Found failed daemon pod %s/%s on node %s, will try to kill it", v->o->ns, dels[j]->o->name,
                        s->name);
        else if (dels[j]->succeeded)
            kc_event(d->rec, v->o, "Normal", "SucceededDaemonPod",
                        "Found succeeded daemon pod %s/%s on node %s, will try to delete it", v->o->ns,
                        dels[j]->o->name, s->name);
    }
}

static void manage(kc_dsctl *d, dsview *v, podset *ps, actions *a)
{
    int surge, unavail;
    kc_ds_surge_unavailable(v->spec, 1, &surge, &unavail); /* AllowsSurge: SurgeCount(ds, 1) */
    bool allows_surge = v->rolling && surge > 0;
    const char **creates = xcalloc(ps->nslots + 1, sizeof *creates);
    kc_ds_pod **dels = xcalloc(ps->npods + 1, sizeof *dels),
              **orphans = xcalloc(ps->npods + 1, sizeof *orphans);
    size_t nc = 0, nd = 0, no = 0;
    int64_t now = now_s();
    for (size_t i = 0; i < ps->nslots; i++) {
        kc_ds_slot *s = &ps->slots[i];
        if (!s->node) { /* pods of a node that is gone */
            for (size_t j = 0; j < s->npods; j++)
                if (!s->pods[j]->deleting || s->pods[j]->bound) orphans[no++] = s->pods[j];
            continue;
        }
        bool create, failed, in_backoff = false;
        int64_t delay = 0;
        for (size_t j = 0; j < s->npods; j++)
            if (s->pods[j]->failed && !s->pods[j]->deleting && s->should_continue) {
                in_backoff = kc_ds_backoff(d, v->o->key, s->name, &delay);
                break;
            }
        size_t k;
        kc_ds_node_plan(s, v->hash, v->gen, allows_surge, v->min_ready, now, in_backoff, &create, dels + nd,
                        &k, &failed);
        if (failed && in_backoff) min_requeue(a, delay);
        report_terminal(d, v, s, dels + nd, k);
        nd += k;
        if (create) creates[nc++] = s->name;
    }
    create_pods(d, v, creates, nc < KC_DS_BURST ? (int)nc : KC_DS_BURST, a);
    delete_pods(d, v, dels, nd < KC_DS_BURST ? (int)nd : KC_DS_BURST, a);
    /* Unbound pods aimed at a missing node are deleted as upstream; bound ones are removed at
     * once (grace 0) as upstream's PodGC does for pods of deleted nodes: kubec has no PodGC, and
     * no kubelet is left to confirm a graceful deletion. */
    json_t *force = json_pack("{s:i}", "gracePeriodSeconds", 0);
    delete_pods_opts(d, v, orphans, no < KC_DS_BURST ? (int)no : KC_DS_BURST, force, a);
    json_decref(force);
    free(creates);
    free(dels);
    free(orphans);
}

/* ---- rolling update (4.6) ---- */

static int desired_count(podset *ps)
{
    int n = 0;
    for (size_t i = 0; i < ps->nslots; i++)
        n += ps->slots[i].node && ps->slots[i].should_run;
    return n;
}

/* maxSurge == 0: delete old pods while the unavailable count stays within maxUnavailable. */
static void roll_delete(kc_dsctl *d, dsview *v, podset *ps, int max_unavail, actions *a)
{
    kc_ds_pod **repl = xcalloc(ps->npods + 1, sizeof *repl), **cand = xcalloc(ps->npods + 1, sizeof *cand);
    int unavailable = 0, nr = 0, nc = 0;
    int64_t now = now_s();
    for (size_t i = 0; i < ps->nslots; i++) {
        kc_ds_slot *s = &ps->slots[i];
        if (!s->npods) continue;
        kc_ds_pod *np, *op;
        if (!kc_ds_split(s, v->hash, v->gen, &np, &op) || (!np && !op) || (np && op)) {
            unavailable++;
        } else if (np) {
            unavailable += !kc_ds_pod_available(np, v->min_ready, now);
        } else if (!kc_ds_pod_available(op, v->min_ready, now)) {
            repl[nr++] = op;
        } else if (unavailable < max_unavail) {
            cand[nc++] = op;
        }
    }
    int room = max_unavail - unavailable;
    if (room < 0) room = 0;
    if (room > nc) room = nc;
    memcpy(repl + nr, cand, (size_t)room * sizeof *cand);
    delete_pods(d, v, repl, nr + room < KC_DS_BURST ? nr + room : KC_DS_BURST, a);
    free(repl);
    free(cand);
}

/* maxSurge > 0: a new pod beside each old one (at once where the old is unavailable, on up to
 * maxSurge nodes otherwise); the old goes when the new is Available. Old pods on nodes that no
 * longer run the set go as availability allows. */
static void roll_surge(kc_dsctl *d, dsview *v, podset *ps, int max_surge, int max_unavail, actions *a)
{
    const char **allowed = xcalloc(ps->nslots + 1, sizeof *allowed),
               **cand = xcalloc(ps->nslots + 1, sizeof *cand);
    kc_ds_pod **dels = xcalloc(ps->npods + 1, sizeof *dels),
              **sunset = xcalloc(ps->npods + 1, sizeof *sunset);
    int nal = 0, nca = 0, nd = 0, nsun = 0, surging = 0, available = 0;
    int64_t now = now_s();
    for (size_t i = 0; i < ps->nslots; i++) {
        kc_ds_slot *s = &ps->slots[i];
        if (!s->npods) continue;
        kc_ds_pod *np, *op;
        if (!kc_ds_split(s, v->hash, v->gen, &np, &op)) {
            surging++;
            continue;
        }
        kc_ds_pod *shown = op ? op : np;
        if (shown && kc_ds_pod_available(shown, v->min_ready, now)) available++;
        if (!op) continue;
        bool run = s->node && s->should_run;
        if (!np && !kc_ds_pod_available(op, v->min_ready, now)) {
            if (run)
                allowed[nal++] = s->name;
            else
                dels[nd++] = op;
        } else if (!np) {
            if (run)
                cand[nca++] = s->name;
            else
                sunset[nsun++] = op;
        } else if (!kc_ds_pod_available(np, v->min_ready, now)) {
            surging++;
        } else {
            dels[nd++] = op;
        }
    }
    int room = max_surge - surging;
    if (room < 0) room = 0;
    if (room > nca) room = nca;
    memcpy(allowed + nal, cand, (size_t)room * sizeof *cand);
    int sun = available - (desired_count(ps) - max_unavail);
    if (sun > nsun) sun = nsun;
    if (sun > 0) memcpy(dels + nd, sunset, (size_t)sun * sizeof *sunset), nd += sun;
    create_pods(d, v, allowed, nal + room < KC_DS_BURST ? nal + room : KC_DS_BURST, a);
    delete_pods(d, v, dels, nd < KC_DS_BURST ? nd : KC_DS_BURST, a);
    free(allowed), free(cand), free(dels), free(sunset);
}

static void rolling_update(kc_dsctl *d, dsview *v, podset *ps, actions *a)
{
    int surge, unavail;
    kc_ds_surge_unavailable(v->spec, desired_count(ps), &surge, &unavail);
    if (surge == 0)
        roll_delete(d, v, ps, unavail, a);
    else
        roll_surge(d, v, ps, surge, unavail, a);
}

/* ---- status (4.7) ---- */

static void set_count(json_t *st, const char *k, int n, bool omitempty)
{
    if (n || !omitempty)
        json_object_set_new(st, k, json_integer(n));
    else
        json_object_del(st, k);
}

static json_t *new_status(dsview *v, const kc_ds_counts *c, bool observed)
{
    json_t *st = json_is_object(v->status) ? json_deep_copy(v->status) : json_object();
    set_count(st, "desiredNumberScheduled", c->desired, false);
    set_count(st, "currentNumberScheduled", c->current, false);
    set_count(st, "numberMisscheduled", c->misscheduled, false);
    set_count(st, "numberReady", c->ready, false);
    set_count(st, "numberAvailable", c->available, true);
    set_count(st, "numberUnavailable", c->desired - c->available, true);
    set_count(st, "updatedNumberScheduled", c->updated, true);
    if (observed) json_object_set_new(st, "observedGeneration", json_integer(v->generation));
    return st;
}

static int put_status(kc_dsctl *d, dsview *v, json_t *st, kc_err *err)
{
    json_t *doc = json_deep_copy(v->doc);
    for (int attempt = 0;; attempt++) {
        json_object_set(doc, "status", st);
        int rc = kc_client_update(d->c, d->DS, doc, "status", NULL, err);
        json_decref(doc);
        if (rc == 0 || attempt == 1 || err->reason != KC_ECONFLICT) return rc;
        kc_err_release(err);
        kc_obj *out = NULL;
        if (kc_client_get(d->c, d->DS, v->o->ns, v->o->name, &out, err) < 0) return -1;
        bool same = !strcmp(out->uid, v->o->uid);
        doc = same ? kc_obj_parse(out) : NULL;
        kc_obj_unref(out);
        if (!same) return 0;
        json_t *cur = json_object_get(doc, "status");
        json_t *cc = json_object_get(cur, "collisionCount"); /* keep a collision written meanwhile */
        if (cc) json_object_set(st, "collisionCount", cc);
    }
}

static int update_status(kc_dsctl *d, dsview *v, podset *ps, bool observed, actions *a, kc_err *err)
{
    kc_ds_counts c;
    int64_t now = now_s();
    kc_ds_count(ps->slots, ps->nslots, v->hash, v->gen, v->min_ready, now, &c);
    if (v->min_ready > 0 && c.ready != c.available) min_requeue(a, (int64_t)v->min_ready * 1000);
    json_t *st = new_status(v, &c, observed);
    int rc = 0;
    if (!v->status || !json_equal(st, v->status)) rc = put_status(d, v, st, err);
    json_decref(st);
    return rc;
}

/* ---- sync ---- */

static int sync_ds(kc_dsctl *d, kc_obj *o)
{
    dsview v = {0};
    podset ps = {0};
    actions a = {0};
    kc_err err = KC_ERR_INIT;
    kc_obj **revs = NULL;
    size_t nrevs = 0;
    int rc = 0;
    if (view_init(&v, o, &err) < 0) {
        logf_err(o->key, "invalid selector", &err);
        goto out;
    }
    if (o->deleting) goto out;
    if ((rc = construct_history(d, &v, &revs, &nrevs, &err)) < 0) goto out;
    bool need = kc_expectations_satisfied(d->exp, o->key);
    if ((rc = load_pods(d, &v, &ps, &err)) < 0) goto out;
    build_slots(d, &v, &ps);
    if (need) {
        manage(d, &v, &ps, &a);
        if (!a.creates && !a.deletes && !a.failed && v.rolling) rolling_update(d, &v, &ps, &a);
        if (cleanup_history(d, &v, &ps, revs, nrevs, &err) < 0) logf_err(o->key, "cleanup history", &err);
        kc_err_release(&err);
    }
    rc = update_status(d, &v, &ps, need, &a, &err);
out:
    if (rc < 0) logf_err(o->key, "sync", &err);
    if (a.failed) logf_err(o->key, "manage pods", &a.first);
    kc_err_release(&err);
    kc_objv_free(revs, nrevs);
    podset_free(&ps);
    view_release(&v);
    if (rc < 0 || a.failed) return -1;
    return a.requeue_ms > 0 ? (int)(a.requeue_ms < 1 << 30 ? a.requeue_ms : 1 << 30) : 0;
}

int kc_ds_sync(void *ud, const char *key)
{
    kc_dsctl *d = ud;
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    char *ns = strndup(key, (size_t)(slash - key));
    kc_obj *o = kc_informer_get(d->dss, ns, slash + 1);
    free(ns);
    if (!o) {
        kc_expectations_delete(d->exp, key);
        return 0;
    }
    int rc = sync_ds(d, o);
    kc_obj_unref(o);
    return rc;
}
