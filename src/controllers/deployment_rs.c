/* One sync's view of a Deployment's ReplicaSets and every write the controller makes (see
 * deployment_int.h): claiming (adopt/release, semantics 0.6), finding and creating the new
 * ReplicaSet with its name, labels, selector and annotations (2.3-2.5), scaling with the
 * desired/max-replicas annotations and the ScalingReplicaSet event, history deletes, and the
 * Deployment's revision annotation and status. Which of these to do is deployment_sync.c's. */
#include "api/selector.h"
#include "controllers/deployment_hash.h"
#include "controllers/deployment_int.h"
#include "controllers/deployment_status.h"
#include "lib/xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define SMP "application/strategic-merge-patch+json"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k)) ?: "";
}

json_t *kc_deploy_spec(dsync *s)
{
    return json_object_get(s->d, "spec");
}

const char *kc_deploy_name(dsync *s)
{
    return s->dobj->name;
}

static json_t *annotations_of(json_t *doc)
{
    return json_object_get(json_object_get(doc, "metadata"), "annotations");
}

/* metadata.annotations of doc, created when missing (borrowed). */
static json_t *annotations_mut(json_t *doc)
{
    json_t *md = json_object_get(doc, "metadata"), *a = json_object_get(md, "annotations");
    if (!json_is_object(a)) json_object_set_new(md, "annotations", a = json_object());
    return a;
}

const char *kc_deploy_rs_annotation(dsync *s, size_t i, const char *key)
{
    return json_string_value(json_object_get(annotations_of(s->rs[i].doc), key));
}

int kc_deploy_rs_spec(dsync *s, size_t i)
{
    return (int)kc_deploy_int(json_object_get(s->rs[i].doc, "spec"), "replicas", 1);
}

static int64_t parse_int(const char *v, bool *ok)
{
    char *end;
    long long x = v && *v ? strtoll(v, &end, 10) : 0;
    *ok = v && *v && !*end;
    return x;
}

kc_rsnum kc_deploy_rsnum(dsync *s, size_t i)
{
    json_t *doc = s->rs[i].doc, *st = json_object_get(doc, "status");
    bool ok;
    int64_t max = parse_int(kc_deploy_rs_annotation(s, i, KC_ANN_MAX), &ok);
    int64_t rev = parse_int(kc_deploy_rs_annotation(s, i, KC_ANN_REVISION), &ok);
    int64_t gen = kc_deploy_int(json_object_get(doc, "metadata"), "generation", 0);
    kc_rsnum n = {
        .spec = kc_deploy_rs_spec(s, i),
        .replicas = (int)kc_deploy_int(st, "replicas", 0),
        .available = (int)kc_deploy_int(st, "availableReplicas", 0),
        .max_replicas = max > 0 && max <= KC_MAX_INT32 ? (int)max : -1,
        .revision = ok ? rev : 0,
        .created = s->rs[i].created,
        .name = s->rs[i].obj->name,
        .deleting = s->rs[i].obj->deleting,
        .settled = kc_deploy_int(st, "observedGeneration", 0) >= gen,
        .idx = (int)i,
    };
    n.target = n.spec;
    return n;
}

/* ---- the RS list ---- */

static void rs_set(drs *e, kc_obj *o)
{
    kc_obj_unref(e->obj);
    json_decref(e->doc);
    e->obj = o;
    e->doc = kc_obj_parse(o);
    e->created = kc_parse_time(jstr(json_object_get(e->doc, "metadata"), "creationTimestamp"));
}

static size_t rs_add(dsync *s, kc_obj *o)
{
    s->rs = xrealloc(s->rs, (s->nrs + 1) * sizeof *s->rs);
    s->rs[s->nrs] = (drs){0};
    rs_set(&s->rs[s->nrs], o);
    return s->nrs++;
}

static int by_created(const void *a, const void *b)
{
    const drs *x = a, *y = b;
    if (x->created != y->created) return x->created < y->created ? -1 : 1;
    return strcmp(x->obj->name, y->obj->name);
}

/* Re-reads the Deployment from the server before a first adoption (RecheckDeletionTimestamp). */
static bool can_adopt(dsync *s)
{
    kc_obj *fresh = NULL;
    kc_err err = KC_ERR_INIT;
    bool ok = kc_client_get(s->ctl->c, s->ctl->DEP, s->dobj->ns, s->dobj->name, &fresh, &err) == 0 &&
              !strcmp(fresh->uid, s->dobj->uid) && !fresh->deleting;
    kc_obj_unref(fresh);
    kc_err_release(&err);
    return ok;
}

/* Adopt (ref != NULL) or release an RS with a uid-preconditioned strategic merge patch. */
static int patch_owner(dsync *s, const kc_obj *rs, bool adopt, kc_obj **out)
{
    json_t *ref =
        adopt ? kc_owner_ref(s->dobj) : json_pack("{s:s,s:s}", "$patch", "delete", "uid", s->dobj->uid);
    json_t *p = json_pack("{s:{s:[o],s:s}}", "metadata", "ownerReferences", ref, "uid", rs->uid);
    char *body = json_dumps(p, JSON_COMPACT);
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_patch(s->ctl->c, s->ctl->RS, rs->ns, rs->name, NULL, SMP, body, out, &err);
    if (rc < 0 && err.reason == KC_ENOTFOUND)
        rc = 1; /* gone: nothing to claim */
    else if (rc < 0)
        kc_errf(s->err, err.reason, "%s replicaset %s: %s", adopt ? "adopt" : "release", rs->name, err.msg);
    kc_err_release(&err);
    free(body);
    json_decref(p);
    return rc;
}

/* ClaimObject for one RS: 1 keep (*keep set), 0 skip, -1 error. */
static int claim_one(dsync *s, kc_obj *o, const kc_labelsel *sel, int *adoptable)
{
    json_t *doc = kc_obj_parse(o), *ref = kc_controller_ref(doc);
    bool match = kc_labelsel_match(sel, o->labels), mine = ref && !strcmp(jstr(ref, "uid"), s->dobj->uid);
    json_decref(doc);
    kc_obj *out = NULL;
    int rc = 0;
    if (mine && match) {
        kc_obj_ref(o);
        rs_add(s, o);
        return 1;
    }
    if (mine && !s->dobj->deleting && !o->deleting) {
        rc = patch_owner(s, o, false, NULL);
        return rc < 0 ? -1 : 0;
    }
    if (ref || !match || s->dobj->deleting || o->deleting) return 0;
    if (*adoptable < 0) *adoptable = can_adopt(s);
    if (!*adoptable) return 0;
    rc = patch_owner(s, o, true, &out);
    if (rc != 0) return rc < 0 ? -1 : 0;
    kc_deploy_note_write(s->ctl, out);
    rs_add(s, out);
    return 1;
}

int kc_deploy_claim(dsync *s)
{
    kc_labelsel *sel = NULL;
    if (kc_labelsel_from_json(json_object_get(kc_deploy_spec(s), "selector"), &sel, s->err) < 0) return -1;
    kc_obj **v;
    size_t n = kc_informer_by_index(s->ctl->rsinf, "ns", s->dobj->ns, &v);
    int rc = 0, adoptable = -1;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        if (!kc_deploy_cache_fresh(s->ctl, v[i]))
            rc = 1;
        else if (claim_one(s, v[i], sel, &adoptable) < 0)
            rc = -1;
    }
    kc_objv_free(v, n);
    kc_labelsel_free(sel);
    if (s->nrs > 1) qsort(s->rs, s->nrs, sizeof *s->rs, by_created);
    return rc;
}

/* ---- writes ---- */

static int put_rs(dsync *s, size_t i, json_t *doc)
{
    kc_obj *out = NULL;
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_update(s->ctl->c, s->ctl->RS, doc, NULL, &out, &err);
    if (rc < 0) {
        kc_errf(s->err, err.reason, "update replicaset %s: %s", s->rs[i].obj->name, err.msg);
    } else {
        kc_deploy_note_write(s->ctl, out);
        rs_set(&s->rs[i], out);
    }
    kc_err_release(&err);
    return rc;
}

static void set_ann_int(json_t *doc, const char *key, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    json_object_set_new(annotations_mut(doc), key, json_string(buf));
}

static bool ann_is_int(json_t *doc, const char *key, int64_t v)
{
    bool ok;
    int64_t x = parse_int(json_string_value(json_object_get(annotations_of(doc), key)), &ok);
    return ok && x == v;
}

static bool replicas_ann_need_update(dsync *s, json_t *doc)
{
    return !ann_is_int(doc, KC_ANN_DESIRED, s->r) || !ann_is_int(doc, KC_ANN_MAX, s->r + s->s);
}

/* scaleReplicaSet (always_annotate) / scaleReplicaSetAndRecordEvent. */
static int scale(dsync *s, size_t i, int target, bool always_annotate, bool *scaled)
{
    if (scaled) *scaled = false;
    int cur = kc_deploy_rs_spec(s, i);
    if (cur == target && (!always_annotate || !replicas_ann_need_update(s, s->rs[i].doc))) return 0;
    json_t *doc = json_deep_copy(s->rs[i].doc);
    json_object_set_new(json_object_get(doc, "spec"), "replicas", json_integer(target));
    set_ann_int(doc, KC_ANN_DESIRED, s->r);
    set_ann_int(doc, KC_ANN_MAX, s->r + s->s);
    int rc = put_rs(s, i, doc);
    json_decref(doc);
    if (rc < 0 || cur == target) return rc;
    if (scaled) *scaled = true;
    kc_event(s->ctl->rec, s->dobj, "Normal", "ScalingReplicaSet", "Scaled %s replica set %s to %d from %d",
             cur < target ? "up" : "down", s->rs[i].obj->name, target, cur);
    return 0;
}

int kc_deploy_scale_rs(dsync *s, size_t i, int target, bool *scaled)
{
    return scale(s, i, target, false, scaled);
}

int kc_deploy_set_rs_size(dsync *s, size_t i, int target)
{
    return scale(s, i, target, true, NULL);
}

int kc_deploy_delete_rs(dsync *s, size_t i)
{
    char rv[24];
    snprintf(rv, sizeof rv, "%" PRIu64, s->rs[i].obj->rev);
    json_t *opts = json_pack("{s:s,s:s,s:{s:s,s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                             "preconditions", "uid", s->rs[i].obj->uid, "resourceVersion", rv);
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_delete(s->ctl->c, s->ctl->RS, s->rs[i].obj->ns, s->rs[i].obj->name, opts, &err);
    if (rc < 0 && err.reason == KC_ENOTFOUND) rc = 0;
    if (rc < 0) kc_errf(s->err, err.reason, "delete replicaset %s: %s", s->rs[i].obj->name, err.msg);
    kc_err_release(&err);
    json_decref(opts);
    return rc;
}

/* Replaces the sync's Deployment with a write's answer. */
static void dep_set(dsync *s, kc_obj *o)
{
    kc_deploy_note_write(s->ctl, o);
    kc_obj_unref(s->dobj);
    json_decref(s->d);
    s->dobj = o;
    s->d = kc_obj_parse(o);
}

int kc_deploy_write_status(dsync *s, json_t *status)
{
    json_t *cur = json_object_get(s->d, "status");
    if ((cur && json_equal(cur, status)) || (!cur && json_object_size(status) == 0)) {
        json_decref(status);
        return 0;
    }
    json_t *doc = json_copy(s->d);
    json_object_set_new(doc, "status", status);
    kc_obj *out = NULL;
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_update(s->ctl->c, s->ctl->DEP, doc, "status", &out, &err);
    if (rc < 0)
        kc_errf(s->err, err.reason, "update deployment %s status: %s", s->dobj->name, err.msg);
    else
        dep_set(s, out);
    kc_err_release(&err);
    json_decref(doc);
    return rc;
}

/* SetDeploymentRevision, written as a merge patch with a resourceVersion precondition (the
 * status subresource here cannot carry annotations). */
static int set_deployment_revision(dsync *s, const char *rev)
{
    const char *cur = json_string_value(json_object_get(annotations_of(s->d), KC_ANN_REVISION));
    if (cur && !strcmp(cur, rev)) return 0;
    char rv[24];
    snprintf(rv, sizeof rv, "%" PRIu64, s->dobj->rev);
    json_t *p = json_pack("{s:{s:s,s:{s:s}}}", "metadata", "resourceVersion", rv, "annotations",
                          KC_ANN_REVISION, rev);
    char *body = json_dumps(p, JSON_COMPACT);
    kc_obj *out = NULL;
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_patch(s->ctl->c, s->ctl->DEP, s->dobj->ns, s->dobj->name, NULL,
                             "application/merge-patch+json", body, &out, &err);
    if (rc < 0)
        kc_errf(s->err, err.reason, "update deployment %s revision: %s", s->dobj->name, err.msg);
    else
        dep_set(s, out);
    kc_err_release(&err);
    free(body);
    json_decref(p);
    return rc;
}

/* Sets a Progressing condition on a copy of the status and writes it. */
static int write_progressing(dsync *s, const char *st, const char *reason, const char *msg)
{
    json_t *status = json_deep_copy(json_object_get(s->d, "status"));
    if (!status) status = json_object();
    kc_deploy_cond_set(status, "Progressing", st, reason, msg, time(NULL));
    return kc_deploy_write_status(s, status);
}

/* ---- the new ReplicaSet ---- */

static bool skip_annotation(const char *k)
{
    static const char *skip[] = {KC_ANN_LAST_APPLIED, KC_ANN_REVISION, KC_ANN_REVISION_HISTORY,
                                 KC_ANN_DESIRED,      KC_ANN_MAX,      KC_ANN_ROLLBACK_TO};
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (!strcmp(k, skip[i])) return true;
    return false;
}

/* copyDeploymentAnnotationsToReplicaSet */
static bool copy_annotations(json_t *d, json_t *rs)
{
    json_t *from = annotations_of(d), *to = annotations_mut(rs), *v;
    const char *k;
    bool changed = false;
    json_object_foreach(from, k, v)
    {
        json_t *cur = json_object_get(to, k);
        if (skip_annotation(k) || (cur && json_equal(cur, v))) continue;
        json_object_set(to, k, v);
        changed = true;
    }
    return changed;
}

/* The old revision moves into revision-history when a rollback re-uses this RS. */
static void push_history(json_t *ann, const char *old_rev)
{
    char *h = kc_deploy_revision_history(jstr(ann, KC_ANN_REVISION_HISTORY), old_rev, KC_REV_HISTORY_CHARS);
    if (h) json_object_set_new(ann, KC_ANN_REVISION_HISTORY, json_string(h));
    free(h);
}

/* SetNewReplicaSetAnnotations: true when rs changed. */
static bool new_rs_annotations(dsync *s, json_t *rs, int64_t new_rev, bool exists)
{
    bool changed = copy_annotations(s->d, rs), ok;
    json_t *ann = annotations_mut(rs);
    const char *old = json_string_value(json_object_get(ann, KC_ANN_REVISION));
    int64_t old_rev = parse_int(old, &ok);
    if (old && *old && !ok) return false;
    if (old_rev < new_rev) {
        char *prev = old ? xstrdup(old) : NULL;
        set_ann_int(rs, KC_ANN_REVISION, new_rev);
        if (prev) push_history(ann, prev);
        free(prev);
        changed = true;
    }
    if (!exists && replicas_ann_need_update(s, rs)) {
        set_ann_int(rs, KC_ANN_DESIRED, s->r);
        set_ann_int(rs, KC_ANN_MAX, s->r + s->s);
        changed = true;
    }
    return changed;
}

static int64_t max_old_revision(dsync *s)
{
    int64_t max = 0;
    for (size_t i = 0; i < s->nrs; i++) {
        bool ok;
        int64_t r = parse_int(kc_deploy_rs_annotation(s, i, KC_ANN_REVISION), &ok);
        if ((int)i != s->newrs && ok && r > max) max = r;
    }
    return max;
}

/* FindNewReplicaSet: the oldest RS whose template equals the Deployment's (ignoring the hash). */
static int find_new(dsync *s)
{
    json_t *tmpl = json_object_get(kc_deploy_spec(s), "template");
    for (size_t i = 0; i < s->nrs; i++)
        if (kc_deploy_template_equal(json_object_get(json_object_get(s->rs[i].doc, "spec"), "template"),
                                     tmpl))
            return (int)i;
    return -1;
}

/* The existing new RS: annotations and minReadySeconds, then the Deployment's revision and,
 * the first time, FoundNewReplicaSet. */
static int sync_existing(dsync *s, int64_t new_rev)
{
    size_t i = (size_t)s->newrs;
    json_t *rs = json_deep_copy(s->rs[i].doc), *rspec = json_object_get(rs, "spec");
    int64_t mrs = kc_deploy_int(kc_deploy_spec(s), "minReadySeconds", 0);
    bool changed = new_rs_annotations(s, rs, new_rev, true);
    if (kc_deploy_int(rspec, "minReadySeconds", 0) != mrs) {
        json_object_set_new(rspec, "minReadySeconds", json_integer(mrs));
        changed = true;
    }
    int rc = changed ? put_rs(s, i, rs) : 0;
    json_decref(rs);
    const char *rev = kc_deploy_rs_annotation(s, i, KC_ANN_REVISION);
    if (rc == 0 && rev) rc = set_deployment_revision(s, rev);
    if (rc < 0 || !kc_deploy_has_deadline(s->d) ||
        kc_deploy_cond_get(json_object_get(s->d, "status"), "Progressing"))
        return rc;
    char msg[400];
    snprintf(msg, sizeof msg, "Found new replica set \"%s\"", s->rs[i].obj->name);
    return write_progressing(s, "True", "FoundNewReplicaSet", msg);
}

/* Pods the RS account for: its size, or the pods it still has while shrinking. */
static int rs_pods(dsync *s, size_t i)
{
    kc_rsnum n = kc_deploy_rsnum(s, i);
    return n.spec > n.replicas ? n.spec : n.replicas;
}

int kc_deploy_counted_pods(dsync *s)
{
    int total = 0;
    for (size_t i = 0; i < s->nrs; i++)
        total += rs_pods(s, i);
    return total;
}

/* The ReplicaSet document for the current template and collisionCount. New reference. */
static json_t *new_rs_doc(dsync *s, int64_t new_rev, int replicas)
{
    json_t *spec = kc_deploy_spec(s),
           *cc = json_object_get(json_object_get(s->d, "status"), "collisionCount");
    int64_t ccv = json_integer_value(cc);
    char hash[11], name[300];
    kc_deploy_template_hash(json_object_get(spec, "template"), json_is_integer(cc) ? &ccv : NULL, hash);
    snprintf(name, sizeof name, "%s-%s", s->dobj->name, hash);
    json_t *tmpl = json_deep_copy(json_object_get(spec, "template")),
           *sel = json_deep_copy(json_object_get(spec, "selector"));
    json_t *tmd = json_object_get(tmpl, "metadata"), *labels = json_object_get(tmd, "labels"), *ml;
    if (!json_is_object(labels)) json_object_set_new(tmd, "labels", labels = json_object());
    json_object_set_new(labels, KC_POD_TEMPLATE_HASH, json_string(hash));
    if (!json_is_object(ml = json_object_get(sel, "matchLabels")))
        json_object_set_new(sel, "matchLabels", ml = json_object());
    json_object_set_new(ml, KC_POD_TEMPLATE_HASH, json_string(hash));
    json_t *rs = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:o,s:[o]},s:{s:i,s:I,s:o,s:o}}", "apiVersion", "apps/v1", "kind", "ReplicaSet",
        "metadata", "name", name, "namespace", s->dobj->ns, "labels", json_deep_copy(labels),
        "ownerReferences", kc_owner_ref(s->dobj), "spec", "replicas", replicas, "minReadySeconds",
        (json_int_t)kc_deploy_int(spec, "minReadySeconds", 0), "selector", sel, "template", tmpl);
    new_rs_annotations(s, rs, new_rev, false);
    return rs;
}

/* AlreadyExists: ours (same owner, same template) -> use it; else a hash collision. */
static int on_exists(dsync *s, json_t *want, kc_obj **out)
{
    const char *name = jstr(json_object_get(want, "metadata"), "name");
    kc_err err = KC_ERR_INIT;
    if (kc_client_get(s->ctl->c, s->ctl->RS, s->dobj->ns, name, out, &err) < 0) {
        kc_errf(s->err, err.reason, "get replicaset %s: %s", name, err.msg);
        kc_err_release(&err);
        return -1;
    }
    json_t *doc = kc_obj_parse(*out), *ref = kc_controller_ref(doc);
    bool ours = ref && !strcmp(jstr(ref, "uid"), s->dobj->uid) &&
                kc_deploy_template_equal(json_object_get(json_object_get(doc, "spec"), "template"),
                                         json_object_get(kc_deploy_spec(s), "template"));
    json_decref(doc);
    if (ours) return 0;
    kc_obj_unref(*out);
    *out = NULL;
    json_t *status = json_deep_copy(json_object_get(s->d, "status"));
    if (!status) status = json_object();
    json_object_set_new(status, "collisionCount",
                        json_integer(kc_deploy_int(status, "collisionCount", 0) + 1));
    if (kc_deploy_write_status(s, status) == 0)
        kc_errf(s->err, KC_EALREADYEXISTS, "replicaset %s: hash collision, collisionCount raised", name);
    return -1;
}

static int create_failed(dsync *s, json_t *want, kc_err *err)
{
    char msg[1400];
    snprintf(msg, sizeof msg, "Failed to create new replica set \"%s\": %s",
             jstr(json_object_get(want, "metadata"), "name"), err->msg);
    if (kc_deploy_has_deadline(s->d)) write_progressing(s, "False", "ReplicaSetCreateError", msg);
    kc_event(s->ctl->rec, s->dobj, "Warning", "ReplicaSetCreateError", "%s", msg);
    return kc_errf(s->err, err->reason, "%s", msg);
}

/* NamespaceTerminating: nothing can be created there any more; no condition, no event. */
static bool terminating_ns(const kc_err *e)
{
    return e->reason == KC_EFORBIDDEN && strstr(e->msg, "because it is being terminated");
}

static int create_new(dsync *s, int64_t new_rev)
{
    int replicas = s->rolling ? kc_deploy_new_rs_replicas(s->r, s->s, kc_deploy_counted_pods(s), 0) : s->r;
    if (replicas < 0) replicas = 0;
    json_t *want = new_rs_doc(s, new_rev, replicas);
    kc_obj *out = NULL;
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_create(s->ctl->c, s->ctl->RS, s->dobj->ns, want, &out, &err);
    bool existed = rc < 0 && err.reason == KC_EALREADYEXISTS;
    if (existed)
        rc = on_exists(s, want, &out);
    else if (rc < 0 && terminating_ns(&err))
        kc_errf(s->err, KC_OK, "namespace %s is terminating", s->dobj->ns); /* retried quietly */
    else if (rc < 0)
        create_failed(s, want, &err);
    kc_err_release(&err);
    json_decref(want);
    if (rc < 0) return -1;
    kc_deploy_note_write(s->ctl, out);
    s->newrs = (int)rs_add(s, out);
    if (!existed && replicas > 0)
        kc_event(s->ctl->rec, s->dobj, "Normal", "ScalingReplicaSet", "Scaled up replica set %s to %d",
                 out->name, replicas);
    char rev[24];
    snprintf(rev, sizeof rev, "%" PRId64, new_rev);
    if (set_deployment_revision(s, rev) < 0) return -1;
    if (existed || !kc_deploy_has_deadline(s->d)) return 0;
    char msg[400];
    snprintf(msg, sizeof msg, "Created new replica set \"%s\"", out->name);
    return write_progressing(s, "True", "NewReplicaSetCreated", msg);
}

int kc_deploy_sync_new_rs(dsync *s, bool create)
{
    s->newrs = find_new(s);
    int64_t new_rev = max_old_revision(s) + 1;
    if (s->newrs >= 0) return sync_existing(s, new_rev);
    return create ? create_new(s, new_rev) : 0;
}
