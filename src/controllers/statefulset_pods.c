/* StatefulSet rules without I/O (semantics 3.1-3.3, 3.5, 3.6, 3.8): reading a set, pod facts,
 * ordinals and names, building a member pod and its claims, checking identity and storage, the
 * ownerReferences a claim carries under the retention policy, and status counts. The sync that
 * applies them is statefulset_sync.c. */
#include "controllers/deployment_math.h"
#include "controllers/framework.h"
#include "controllers/history.h"
#include "controllers/statefulset_int.h"
#include "lib/xalloc.h"
#include <stdio.h>

static json_t *at(json_t *o, const char *k)
{
    return json_object_get(o, k);
}

static const char *str_at(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k)) ?: "";
}

/* ---- the set ---- */

static void read_strategy(kc_sts_view *v)
{
    json_t *st = at(v->spec, "updateStrategy"), *ru = at(st, "rollingUpdate");
    v->ondelete = !strcmp(str_at(st, "type"), "OnDelete");
    v->has_ru = json_is_object(ru);
    v->partition = (int)json_integer_value(at(ru, "partition"));
    json_t *mu = at(ru, "maxUnavailable");
    v->max_unavailable = mu && !json_is_null(mu) ? mu : NULL;
}

int kc_sts_view_init(kc_sts_view *v, const kc_obj *o, json_t *doc, kc_err *err)
{
    memset(v, 0, sizeof *v);
    v->o = o;
    v->doc = doc;
    v->spec = at(doc, "spec");
    v->status = at(doc, "status");
    v->tmpl = at(v->spec, "template");
    v->claims = at(v->spec, "volumeClaimTemplates");
    v->match_labels = at(at(v->spec, "selector"), "matchLabels");
    v->service = str_at(v->spec, "serviceName");
    json_t *rep = at(v->spec, "replicas"), *lim = at(v->spec, "revisionHistoryLimit");
    v->replicas = rep ? (int)json_integer_value(rep) : 1;
    v->start = (int)json_integer_value(at(at(v->spec, "ordinals"), "start"));
    v->min_ready = (int)json_integer_value(at(v->spec, "minReadySeconds"));
    v->limit = lim ? (int)json_integer_value(lim) : 10;
    v->parallel = !strcmp(str_at(v->spec, "podManagementPolicy"), "Parallel");
    read_strategy(v);
    json_t *pol = at(v->spec, "persistentVolumeClaimRetentionPolicy");
    v->del_on_delete = !strcmp(str_at(pol, "whenDeleted"), "Delete");
    v->del_on_scale = !strcmp(str_at(pol, "whenScaled"), "Delete");
    v->generation = json_integer_value(at(at(doc, "metadata"), "generation"));
    v->status_current_replicas = json_integer_value(at(v->status, "currentReplicas"));
    if (kc_labelsel_from_json(at(v->spec, "selector"), &v->sel, err) < 0) return -1;
    if (kc_labelsel_empty(v->sel) || kc_labelsel_is_nothing(v->sel))
        return kc_errf(err, KC_EINVALID, "an empty selector selects no pods");
    return 0;
}

void kc_sts_view_release(kc_sts_view *v)
{
    kc_labelsel_free(v->sel);
    v->sel = NULL;
}

/* ---- pods ---- */

void kc_sts_pod_facts(kc_sts_pod *p, json_t *doc, int ordinal, int min_ready, time_t now)
{
    const char *phase = str_at(at(doc, "status"), "phase");
    p->doc = doc;
    p->ordinal = ordinal;
    p->created = *phase != 0;
    p->deleting = at(at(doc, "metadata"), "deletionTimestamp") != NULL;
    p->running = !strcmp(phase, "Running");
    p->failed = !strcmp(phase, "Failed");
    p->succeeded = !strcmp(phase, "Succeeded");
    p->pending = !strcmp(phase, "Pending");
    p->ready = p->running && kc_pod_ready(doc);
    p->available = p->ready && kc_pod_available(doc, min_ready, now);
    p->revision = str_at(at(at(doc, "metadata"), "labels"), KC_STS_REVISION_LABEL);
}

void kc_sts_pod_release(kc_sts_pod *p)
{
    json_decref(p->doc);
    kc_obj_unref(p->o);
    memset(p, 0, sizeof *p);
}

bool kc_sts_pod_healthy(const kc_sts_pod *p)
{
    return p->ready && !p->deleting;
}

int kc_sts_ordinal(const char *pod_name, const char *set_name)
{
    const char *dash = strrchr(pod_name, '-');
    size_t plen = strlen(set_name);
    if (!dash || (size_t)(dash - pod_name) != plen || strncmp(pod_name, set_name, plen)) return -1;
    const char *d = dash + 1;
    if (!*d || strlen(d) > 9) return -1; /* int32, as upstream's ParseInt(…, 10, 32) */
    for (const char *c = d; *c; c++)
        if (*c < '0' || *c > '9') return -1;
    return atoi(d);
}

char *kc_sts_pod_name(const char *set, int ordinal)
{
    char *s;
    if (asprintf(&s, "%s-%d", set, ordinal) < 0) kc_oom();
    return s;
}

char *kc_sts_claim_name(const char *tmpl_name, const char *set, int ordinal)
{
    char *s;
    if (asprintf(&s, "%s-%s-%d", tmpl_name, set, ordinal) < 0) kc_oom();
    return s;
}

bool kc_sts_in_range(const kc_sts_view *v, int ordinal)
{
    return ordinal >= v->start && ordinal < v->start + v->replicas;
}

static const char *claim_tmpl_name(json_t *ct)
{
    return str_at(at(ct, "metadata"), "name");
}

/* updateStorage: the claim volumes first (template order), then the pod's other volumes. */
static void set_storage(const kc_sts_view *v, json_t *spec, int ordinal)
{
    json_t *vols = json_array(), *old = at(spec, "volumes"), *ct, *vol;
    size_t i, j;
    json_array_foreach(v->claims, i, ct)
    {
        char *cn = kc_sts_claim_name(claim_tmpl_name(ct), v->o->name, ordinal);
        json_array_append_new(vols, json_pack("{s:s,s:{s:s}}", "name", claim_tmpl_name(ct),
                                              "persistentVolumeClaim", "claimName", cn));
        free(cn);
    }
    json_array_foreach(old, j, vol)
    {
        bool claimed = false;
        json_array_foreach(v->claims, i, ct) claimed |= !strcmp(claim_tmpl_name(ct), str_at(vol, "name"));
        if (!claimed) json_array_append(vols, vol);
    }
    if (json_array_size(vols))
        json_object_set_new(spec, "volumes", vols);
    else
        json_decref(vols);
}

json_t *kc_sts_new_pod(const kc_sts_view *v, json_t *tmpl, int ordinal, const char *revision)
{
    json_t *pod = kc_pod_from_template(tmpl, v->o, v->o->ns);
    json_t *md = at(pod, "metadata"), *spec = at(pod, "spec");
    char *name = kc_sts_pod_name(v->o->name, ordinal), idx[16];
    snprintf(idx, sizeof idx, "%d", ordinal);
    json_object_set_new(md, "name", json_string(name));
    /* generateName "<set>-" stays as upstream's; the explicit name wins and a clash is a clash. */
    json_t *labels = at(md, "labels");
    if (!labels) json_object_set_new(md, "labels", labels = json_object());
    json_object_set_new(labels, KC_STS_POD_NAME_LABEL, json_string(name));
    json_object_set_new(labels, KC_STS_POD_INDEX_LABEL, json_string(idx));
    json_object_set_new(labels, KC_STS_REVISION_LABEL, json_string(revision));
    json_object_set_new(spec, "hostname", json_string(name));
    if (*v->service) json_object_set_new(spec, "subdomain", json_string(v->service));
    set_storage(v, spec, ordinal);
    free(name);
    return pod;
}

bool kc_sts_identity_matches(const kc_sts_view *v, json_t *pod, int ordinal)
{
    json_t *md = at(pod, "metadata"), *labels = at(md, "labels");
    char *name = kc_sts_pod_name(v->o->name, ordinal), idx[16];
    snprintf(idx, sizeof idx, "%d", ordinal);
    bool ok = !strcmp(str_at(md, "name"), name) && !strcmp(str_at(labels, KC_STS_POD_NAME_LABEL), name) &&
              !strcmp(str_at(labels, KC_STS_POD_INDEX_LABEL), idx);
    free(name);
    return ok;
}

bool kc_sts_storage_matches(const kc_sts_view *v, json_t *pod, int ordinal)
{
    json_t *vols = at(at(pod, "spec"), "volumes"), *ct, *vol;
    size_t i, j;
    bool all = true;
    json_array_foreach(v->claims, i, ct)
    {
        char *cn = kc_sts_claim_name(claim_tmpl_name(ct), v->o->name, ordinal);
        bool found = false;
        json_array_foreach(vols, j, vol) found |=
            !strcmp(str_at(vol, "name"), claim_tmpl_name(ct)) &&
            !strcmp(str_at(at(vol, "persistentVolumeClaim"), "claimName"), cn);
        free(cn);
        all &= found;
    }
    return all;
}

json_t *kc_sts_new_claim(const kc_sts_view *v, json_t *ct, int ordinal)
{
    json_t *tmd = at(ct, "metadata"), *md = json_object();
    char *cn = kc_sts_claim_name(claim_tmpl_name(ct), v->o->name, ordinal);
    json_object_set_new(md, "name", json_string(cn));
    json_object_set_new(md, "namespace", json_string(v->o->ns));
    json_t *labels = json_is_object(at(tmd, "labels")) ? json_deep_copy(at(tmd, "labels")) : json_object();
    if (json_is_object(v->match_labels)) json_object_update(labels, v->match_labels);
    if (json_object_size(labels))
        json_object_set_new(md, "labels", labels);
    else
        json_decref(labels);
    if (json_is_object(at(tmd, "annotations"))) json_object_set(md, "annotations", at(tmd, "annotations"));
    free(cn);
    json_t *spec = at(ct, "spec");
    return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "PersistentVolumeClaim", "metadata", md,
                     "spec", spec ? json_deep_copy(spec) : json_object());
}

/* ---- retention policy ---- */

static json_t *pod_ref(const char *name, const char *uid)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "v1", "kind", "Pod", "name", name, "uid", uid,
                     "controller", 1, "blockOwnerDeletion", 1);
}

/* A reference that forbids touching the claim: the set's name with another uid (a stale set), or
 * a controller that is neither the set nor this pod. */
static bool untouchable(const kc_sts_view *v, json_t *ref, const char *pod_uid)
{
    const char *kind = str_at(ref, "kind"), *uid = str_at(ref, "uid");
    if (!strcmp(kind, "StatefulSet") && !strcmp(str_at(ref, "name"), v->o->name) && strcmp(uid, v->o->uid))
        return true;
    bool mine = !strcmp(uid, v->o->uid) || (pod_uid && !strcmp(uid, pod_uid));
    return json_is_true(at(ref, "controller")) && !mine;
}

json_t *kc_sts_claim_refs(const kc_sts_view *v, json_t *cur, const char *pod_name, const char *pod_uid,
                          bool scaled_down, bool *changed)
{
    bool want_set = v->del_on_delete && !(v->del_on_scale && scaled_down);
    bool want_pod = v->del_on_scale && scaled_down && pod_uid;
    json_t *out = json_array(), *ref;
    size_t i;
    bool had_set = false, had_pod = false;
    json_array_foreach(cur, i, ref)
    {
        if (untouchable(v, ref, pod_uid)) {
            json_decref(out);
            return NULL;
        }
        const char *uid = str_at(ref, "uid");
        bool is_set = !strcmp(uid, v->o->uid), is_pod = pod_uid && !strcmp(uid, pod_uid);
        had_set |= is_set;
        had_pod |= is_pod;
        if ((is_set && !want_set) || (is_pod && !want_pod)) continue;
        json_array_append(out, ref);
    }
    if (want_set && !had_set) json_array_append_new(out, kc_owner_ref(v->o));
    if (want_pod && !had_pod) json_array_append_new(out, pod_ref(pod_name, pod_uid));
    *changed = json_array_size(out) != json_array_size(cur) || (want_set != had_set) || (want_pod != had_pod);
    return out;
}

/* ---- status, revisions to use ---- */

void kc_sts_count(kc_sts_pod **pods, size_t n, const char *current_rev, const char *update_rev,
                  kc_sts_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        const kc_sts_pod *p = pods[i];
        if (!p) continue;
        if (p->created) c->replicas++;
        if (p->ready) c->ready++;
        if (p->ready && p->available) c->available++;
        if (!p->created || p->deleting) continue;
        if (!strcmp(p->revision, current_rev)) c->current++;
        if (!strcmp(p->revision, update_rev)) c->updated++;
    }
}

bool kc_sts_current_needed(const kc_sts_view *v, int ordinal)
{
    if (v->ondelete) return false;
    if (!v->has_ru) return ordinal < v->start + (int)v->status_current_replicas;
    return ordinal < v->start + v->partition;
}

int kc_sts_max_unavailable(const kc_sts_view *v)
{
    int n = 1;
    if (v->max_unavailable && kc_deploy_scaled_value(v->max_unavailable, v->replicas, false, &n) < 0) n = 1;
    return n < 1 ? 1 : n;
}
