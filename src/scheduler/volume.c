/* VolumeBinding: the scheduler plugin that makes a pod follow its volumes (semantics 8.1,
 * upstream pkg/scheduler/framework/plugins/volumebinding), with its own informers on claims,
 * volumes and storage classes.
 *
 *   PreFilter  claims of the pod's persistentVolumeClaim / ephemeral volumes:
 *              missing  -> `persistentvolumeclaim "x" not found` (every node rejected)
 *              deleting -> `persistentvolumeclaim "x" is being deleted`
 *              unbound, class not WaitForFirstConsumer -> "pod has unbound immediate
 *              PersistentVolumeClaims"
 *              bound -> its volume; unbound WaitForFirstConsumer ("delayed") -> volumes of its
 *              class that could take it
 *              a ReadWriteOncePod claim already used by a scheduled pod (VolumeRestrictions) ->
 *              every node "node has pod using PersistentVolumeClaim with the same name and
 *              ReadWriteOncePod access mode" (Unschedulable: preemption may help)
 *   Filter     (per node, all UnschedulableAndUnresolvable)
 *              a bound claim's volume is gone -> "...bound to non-existent pv(s)"
 *              its node affinity excludes the node -> "node(s) had volume node affinity conflict"
 *              a delayed claim with selected-node naming another node, or without a free
 *              volume reachable from the node and no provisioner able to provision there
 *              -> "node(s) didn't find available persistent volumes to bind"
 *   PreBind    (after the node is chosen, on volume.c's workers; the pod stays assumed)
 *              a delayed claim that matched a volume -> the volume's claimRef is written
 *              (the binder finishes the pair); otherwise -> selected-node annotation on the
 *              claim (the provisioner makes a volume on that node, the binder binds it)
 *              then wait until every claim is bound -> bind the pod; 120 s -> fail (retried)
 *
 * Volumes chosen for a pod are reserved until their claimRef shows up, so two pods never pick
 * the same free volume. Parsed documents are cached per object revision. */
#include "client/informer.h"
#include "lib/clock.h"
#include "controllers/pv_match.h"
#include "lib/xalloc.h"
#include "scheduler/sched.h"
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define PREBIND_WORKERS 8
#define BIND_TIMEOUT_MS 120000
#define CATCH_UP_MS 50

const char KC_SCHED_ERR_VOL_NODE[] = "node(s) had volume node affinity conflict";
const char KC_SCHED_ERR_VOL_BIND[] = "node(s) didn't find available persistent volumes to bind";
const char KC_SCHED_ERR_VOL_RWOP[] =
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";
const char KC_SCHED_ERR_VOL_PV_MISSING[] =
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";

enum { VI_PVC, VI_PV, VI_SC, NVI };
enum { ACT_NONE, ACT_BIND_PV, ACT_SELECT_NODE };

typedef struct docent { /* one parsed object revision; volumes also keep their node affinity */
    int refs;
    char *key;
    uint64_t rev;
    json_t *doc;
    bool has_affinity;
    kc_sched_nterm *terms;
    size_t nterms;
} docent;

typedef struct vjob {
    kc_obj *pod;
    char *node;
    size_t n;
    char **claims; /* "ns/name" */
    int *act;
    char **pv, **pvrv; /* ACT_BIND_PV: the volume, and the revision it was chosen at */
    uint64_t deadline;
    struct vjob *next;
} vjob;

struct kc_sched_volumes {
    kc_client *c;
    kc_informer *inf[NVI];
    int res[NVI];
    void (*wake)(void *);
    void *wake_ud;
    kc_sched_vbind_fn bind;
    kc_sched_vfail_fn fail;
    void *bind_ud;
    pthread_mutex_t mu;  /* docs, reserved */
    pthread_mutex_t wmu; /* todo, waiting, stop (taken before mu, never after) */
    pthread_cond_t cv;
    kc_map docs;     /* "<i>/<key>" -> docent */
    kc_map reserved; /* volume name -> claim key (owned value, key inside it) */
    vjob *todo, **todo_tail, *waiting;
    uint64_t last_sweep; /* ms: the last look at every waiting job */
    bool stop;
    pthread_t workers[PREBIND_WORKERS];
};

typedef struct vclaim {
    const char *name;
    docent *claim;
    docent *pv;     /* bound: its volume (NULL when missing) */
    bool delayed;   /* unbound, WaitForFirstConsumer */
    docent *sc;     /* delayed: the class */
    docent **cands; /* delayed: volumes of its class */
    size_t ncands;
} vclaim;

struct kc_sched_vstate {
    kc_sched_volumes *v;
    vclaim *c;
    size_t n;
    int rwop_conflicts; /* VolumeRestrictions: scheduled pods using a ReadWriteOncePod claim of ours */
};

/* ---- the parsed-document cache ---- */

static void docent_unref(docent *e)
{
    if (!e || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL)) return;
    json_decref(e->doc);
    kc_sched_nterms_free(e->terms, e->nterms);
    free(e->key);
    free(e);
}

static docent *doc_of(kc_sched_volumes *v, int which, const kc_obj *o)
{
    char key[600];
    snprintf(key, sizeof key, "%d/%s", which, o->key);
    pthread_mutex_lock(&v->mu);
    docent *e = kc_map_get(&v->docs, key);
    if (e && e->rev == o->rev) {
        __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&v->mu);
        return e;
    }
    pthread_mutex_unlock(&v->mu);
    docent *n = xcalloc(1, sizeof *n);
    n->refs = 2; /* the cache's and the caller's */
    n->key = xstrdup(key);
    n->rev = o->rev;
    n->doc = kc_obj_parse(o);
    json_t *req =
        json_object_get(json_object_get(json_object_get(n->doc, "spec"), "nodeAffinity"), "required");
    n->has_affinity = which == VI_PV && json_is_object(req);
    if (n->has_affinity)
        n->terms = kc_sched_nterms_parse(json_object_get(req, "nodeSelectorTerms"), false, &n->nterms);
    pthread_mutex_lock(&v->mu);
    docent *old = kc_map_put(&v->docs, n->key, n);
    pthread_mutex_unlock(&v->mu);
    docent_unref(old);
    return n;
}

static docent *lookup(kc_sched_volumes *v, int which, const char *ns, const char *name)
{
    kc_obj *o = kc_informer_get(v->inf[which], ns, name);
    docent *e = o ? doc_of(v, which, o) : NULL;
    kc_obj_unref(o);
    return e;
}

static void forget(kc_sched_volumes *v, int which, const kc_obj *o)
{
    char key[600];
    snprintf(key, sizeof key, "%d/%s", which, o->key);
    pthread_mutex_lock(&v->mu);
    docent *e = kc_map_del(&v->docs, key);
    pthread_mutex_unlock(&v->mu);
    docent_unref(e);
}

static const char *meta(json_t *o, const char *k)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), k)) ?: "";
}

static bool fully_bound(json_t *claim)
{
    const char *vn = json_string_value(json_object_get(json_object_get(claim, "spec"), "volumeName"));
    return vn && *vn && kc_pv_annotation(claim, KC_ANN_BIND_COMPLETED);
}

/* ---- reservations ---- */

static void reserve(kc_sched_volumes *v, const char *pv, const char *claim)
{
    char *k = xmalloc(strlen(pv) + strlen(claim) + 2);
    sprintf(k, "%s%c%s", pv, 0, claim);
    pthread_mutex_lock(&v->mu);
    char *old = kc_map_put(&v->reserved, k, k + strlen(pv) + 1);
    pthread_mutex_unlock(&v->mu);
    if (old) free(old - strlen(pv) - 1);
}

static void unreserve(kc_sched_volumes *v, const char *pv)
{
    pthread_mutex_lock(&v->mu);
    char *old = kc_map_del(&v->reserved, pv);
    pthread_mutex_unlock(&v->mu);
    if (old) free(old - strlen(pv) - 1);
}

static bool reserved_for_other(kc_sched_volumes *v, const char *pv, const char *claim)
{
    pthread_mutex_lock(&v->mu);
    const char *held = kc_map_get(&v->reserved, pv);
    bool other = held && strcmp(held, claim);
    pthread_mutex_unlock(&v->mu);
    return other;
}

/* ---- PreFilter ---- */

static void vstate_add(struct kc_sched_vstate *s, const char *name, docent *claim)
{
    s->c = xrealloc(s->c, (s->n + 1) * sizeof *s->c);
    s->c[s->n++] = (vclaim){.name = name, .claim = claim};
}

void kc_sched_vstate_free(struct kc_sched_vstate *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        docent_unref(s->c[i].claim);
        docent_unref(s->c[i].pv);
        docent_unref(s->c[i].sc);
        for (size_t k = 0; k < s->c[i].ncands; k++)
            docent_unref(s->c[i].cands[k]);
        free(s->c[i].cands);
    }
    free(s->c);
    free(s);
}

static bool has_claim(struct kc_sched_vstate *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->c[i].name, name)) return true;
    return false;
}

static char *fmt(const char *f, const char *a)
{
    char *s;
    if (asprintf(&s, f, a) < 0) abort();
    return s;
}

/* A claim is created before the pod that mounts it, but the claim informer may be a little
 * behind the pod informer: before calling a claim missing, give the claim informer up to
 * CATCH_UP_MS to reach the pod's revision (true when it did). Claims that really are missing
 * cost that wait once per attempt only while no claim event arrives. The same holds for the
 * volume of a claim just bound. */
static bool catch_up(kc_sched_volumes *v, int which, uint64_t rev)
{
    for (int i = 0; i < CATCH_UP_MS; i++) {
        if (kc_informer_last_rev(v->inf[which]) >= rev) return true;
        usleep(1000);
    }
    return false;
}

/* The pod's claims (podHasPVCs); a message when one is missing or being deleted. */
static char *collect_claims(kc_sched_volumes *v, kc_sched_pod *p, json_t *pod, struct kc_sched_vstate *s)
{
    size_t i;
    json_t *vol;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "volumes"), i, vol)
    {
        const char *claim =
            json_string_value(json_object_get(json_object_get(vol, "persistentVolumeClaim"), "claimName"));
        bool eph = !claim && json_object_get(vol, "ephemeral");
        char eph_name[512];
        if (eph) {
            snprintf(eph_name, sizeof eph_name, "%s-%s", p->name,
                     json_string_value(json_object_get(vol, "name")) ?: "");
            claim = eph_name;
        }
        if (!claim || has_claim(s, claim)) continue; /* two volumes of one claim count once */
        docent *c = lookup(v, VI_PVC, p->ns, claim);
        if (!c && catch_up(v, VI_PVC, p->obj->rev)) c = lookup(v, VI_PVC, p->ns, claim);
        if (!c)
            return fmt(
                eph ? "waiting for ephemeral volume controller to create the persistentvolumeclaim \"%s\""
                    : "persistentvolumeclaim \"%s\" not found",
                claim);
        if (json_object_get(json_object_get(c->doc, "metadata"), "deletionTimestamp")) {
            docent_unref(c);
            return fmt("persistentvolumeclaim \"%s\" is being deleted", claim);
        }
        vstate_add(s, meta(c->doc, "name"), c);
    }
    return NULL;
}

/* The volumes of a delayed claim's class, as candidates. */
static void candidates(kc_sched_volumes *v, vclaim *c)
{
    kc_obj **objs;
    size_t n = kc_informer_list(v->inf[VI_PV], NULL, &objs);
    const char *cls = kc_pvc_class(c->claim->doc);
    c->cands = xcalloc(n + 1, sizeof *c->cands);
    for (size_t i = 0; i < n; i++) {
        docent *e = doc_of(v, VI_PV, objs[i]);
        if (!strcmp(kc_pv_class(e->doc), cls))
            c->cands[c->ncands++] = e;
        else
            docent_unref(e);
    }
    kc_objv_free(objs, n);
}

/* GetPodVolumeClaims: bound (with their volumes), delayed, or unbound immediate (an error). */
static const char *classify(kc_sched_volumes *v, struct kc_sched_vstate *s)
{
    for (size_t i = 0; i < s->n; i++) {
        vclaim *c = &s->c[i];
        json_t *spec = json_object_get(c->claim->doc, "spec");
        if (fully_bound(c->claim->doc)) {
            const char *vn = json_string_value(json_object_get(spec, "volumeName"));
            c->pv = lookup(v, VI_PV, NULL, vn);
            if (!c->pv && catch_up(v, VI_PV, c->claim->rev)) c->pv = lookup(v, VI_PV, NULL, vn);
            continue;
        }
        const char *vn = json_string_value(json_object_get(spec, "volumeName"));
        const char *cls = kc_pvc_class(c->claim->doc);
        c->sc = *cls ? lookup(v, VI_SC, NULL, cls) : NULL;
        if (!c->sc || !kc_sc_wait_for_consumer(c->sc->doc) || (vn && *vn))
            return "pod has unbound immediate PersistentVolumeClaims";
        c->delayed = true;
        if (!kc_pv_annotation(c->claim->doc, KC_ANN_SELECTED_NODE)) candidates(v, c);
    }
    return NULL;
}

static bool pod_mounts(const kc_sched_pod *o, const char *claim)
{
    if (!strstr(o->obj->json, claim)) return false; /* cheap pre-check */
    json_t *doc = kc_obj_parse(o->obj), *vol;
    size_t i;
    bool uses = false;
    json_array_foreach(json_object_get(json_object_get(doc, "spec"), "volumes"), i, vol)
    {
        const char *c =
            json_string_value(json_object_get(json_object_get(vol, "persistentVolumeClaim"), "claimName"));
        uses |= c && !strcmp(c, claim);
    }
    json_decref(doc);
    return uses;
}

/* VolumeRestrictions' PreFilter: each ReadWriteOncePod claim of the pod already used by a
 * scheduled (or assumed) pod is a conflict. */
static int rwop_conflicts(kc_sched_cache *cache, const kc_sched_pod *p, struct kc_sched_vstate *s)
{
    int n = 0;
    for (size_t i = 0; i < s->n; i++) {
        json_t *modes = json_object_get(json_object_get(s->c[i].claim->doc, "spec"), "accessModes"), *m;
        size_t k;
        bool rwop = false;
        json_array_foreach(modes, k, m) rwop |= !strcmp(json_string_value(m) ?: "", "ReadWriteOncePod");
        if (!rwop) continue;
        void *v;
        for (size_t it = 0; kc_map_next(&cache->pods, &it, NULL, &v);) {
            const kc_sched_pod *o = v;
            if (strcmp(o->key, p->key) && !strcmp(o->ns, p->ns) && pod_mounts(o, s->c[i].name)) {
                n++;
                break;
            }
        }
    }
    return n;
}

void kc_sched_volume_prefilter(kc_sched_cycle *cy)
{
    kc_sched_volumes *v = cy->lk->volumes;
    kc_sched_pod *p = cy->pod;
    const char *js = p->obj->json;
    if (!strstr(js, "\"persistentVolumeClaim\"") && !strstr(js, "\"ephemeral\"")) return;
    struct kc_sched_vstate *s = xcalloc(1, sizeof *s);
    s->v = v;
    json_t *pod = kc_obj_parse(p->obj);
    char *msg = collect_claims(v, p, pod, s);
    json_decref(pod);
    const char *why = msg ? NULL : classify(v, s);
    if (why) msg = xstrdup(why);
    if (msg || !s->n) {
        kc_sched_vstate_free(s);
        cy->prefilter_msg = msg;
        return;
    }
    s->rwop_conflicts = cy->cache ? rwop_conflicts(cy->cache, p, s) : 0;
    cy->vol = s;
}

/* ---- Filter ---- */

static bool pv_fits_node(docent *pv, const kc_sched_node *n)
{
    if (!pv->has_affinity) return true;
    for (size_t i = 0; i < pv->nterms; i++)
        if (kc_sched_nterm_matches(&pv->terms[i], n)) return true;
    return false;
}

/* allowedTopologies of a class: terms ORed, each label requirement (key in values) ANDed. */
static bool topology_allows(json_t *sc, const kc_sched_node *n)
{
    json_t *terms = json_object_get(sc, "allowedTopologies"), *t, *e, *val;
    if (!json_array_size(terms)) return true;
    size_t i, k, j;
    json_array_foreach(terms, i, t)
    {
        bool all = true;
        json_array_foreach(json_object_get(t, "matchLabelExpressions"), k, e)
        {
            const char *have = kc_sched_node_label(n, json_string_value(json_object_get(e, "key")) ?: "");
            bool in = false;
            json_array_foreach(json_object_get(e, "values"), j, val) in |=
                have && !strcmp(have, json_string_value(val) ?: "");
            all &= in;
        }
        if (all) return true;
    }
    return false;
}

static bool can_provision(vclaim *c, const kc_sched_node *n)
{
    const char *prov = json_string_value(json_object_get(c->sc->doc, "provisioner")) ?: "";
    return *prov && strcmp(prov, KC_NO_PROVISIONER) && topology_allows(c->sc->doc, n);
}

typedef struct match_ctx {
    kc_sched_volumes *v;
    vclaim *c;
    const kc_sched_node *node;
    json_t **chosen; /* volumes taken by earlier claims of this pod on this node */
    size_t nchosen;
    char claim_key[600];
} match_ctx;

static docent *cand_of(vclaim *c, json_t *pv)
{
    for (size_t i = 0; i < c->ncands; i++)
        if (c->cands[i]->doc == pv) return c->cands[i];
    return NULL;
}

static bool node_ok(void *ud, json_t *pv)
{
    match_ctx *m = ud;
    docent *e = cand_of(m->c, pv);
    return e && pv_fits_node(e, m->node);
}

static bool skip_pv(void *ud, json_t *pv)
{
    match_ctx *m = ud;
    for (size_t i = 0; i < m->nchosen; i++)
        if (m->chosen[i] == pv) return true;
    return reserved_for_other(m->v, meta(pv, "name"), m->claim_key);
}

/* A free volume for a delayed claim reachable from node (borrowed from c), or NULL. */
static json_t *static_match(match_ctx *m, vclaim *c)
{
    if (!c->ncands) return NULL;
    json_t **docs = xcalloc(c->ncands, sizeof *docs);
    for (size_t i = 0; i < c->ncands; i++)
        docs[i] = c->cands[i]->doc;
    m->c = c;
    snprintf(m->claim_key, sizeof m->claim_key, "%s/%s", meta(c->claim->doc, "namespace"), c->name);
    json_t *pv = kc_pv_find_match(c->claim->doc, docs, c->ncands, true, node_ok, skip_pv, m);
    free(docs);
    return pv;
}

/* FindPodVolumes for one node; actions (optional, n entries) get what PreBind must do. */
static int find_pod_volumes(struct kc_sched_vstate *s, const kc_sched_node *n, int *act, json_t **pvs)
{
    bool missing = false, conflict = false, unbound_ok = true;
    match_ctx m = {.v = s->v, .node = n, .chosen = xcalloc(s->n + 1, sizeof(json_t *))};
    for (size_t i = 0; i < s->n; i++) {
        vclaim *c = &s->c[i];
        if (act) act[i] = ACT_NONE, pvs[i] = NULL;
        if (!c->delayed) {
            if (!c->pv)
                missing = true;
            else if (!pv_fits_node(c->pv, n))
                conflict = true;
            continue;
        }
        const char *sel = kc_pv_annotation(c->claim->doc, KC_ANN_SELECTED_NODE);
        json_t *pv = sel ? NULL : static_match(&m, c);
        if (pv) {
            m.chosen[m.nchosen++] = pv;
            if (act) act[i] = ACT_BIND_PV, pvs[i] = pv;
        } else if ((sel && strcmp(sel, n->name)) || !can_provision(c, n)) {
            unbound_ok = false;
        } else if (act) {
            act[i] = ACT_SELECT_NODE;
        }
    }
    free(m.chosen);
    return (missing ? 1 : 0) | (conflict ? 2 : 0) | (unbound_ok ? 0 : 4);
}

int kc_sched_volume_filter(kc_sched_cycle *cy, const kc_sched_node *n, kc_sched_status *st)
{
    if (cy->vol->rwop_conflicts) { /* VolumeRestrictions runs first; preemption may help */
        *st = (kc_sched_status){KC_SCHED_UNSCHEDULABLE, 1, {KC_SCHED_ERR_VOL_RWOP}};
        return st->code;
    }
    int bad = find_pod_volumes(cy->vol, n, NULL, NULL);
    if (!bad) return KC_SCHED_OK;
    st->code = KC_SCHED_UNRESOLVABLE;
    st->n = 0;
    if (bad & 2) st->reasons[st->n++] = KC_SCHED_ERR_VOL_NODE;
    if (bad & 4) st->reasons[st->n++] = KC_SCHED_ERR_VOL_BIND;
    if (bad & 1) st->reasons[st->n++] = KC_SCHED_ERR_VOL_PV_MISSING;
    return st->code;
}

/* ---- PreBind ---- */

static void job_free(vjob *j)
{
    kc_obj_unref(j->pod);
    for (size_t i = 0; i < j->n; i++)
        free(j->claims[i]), free(j->pv[i]), free(j->pvrv[i]);
    free(j->claims), free(j->pv), free(j->pvrv), free(j->act), free(j->node);
    free(j);
}

/* The writes PreBind must make for node; NULL when the claims no longer fit it. */
static vjob *plan(kc_sched_volumes *v, kc_sched_cycle *cy, const char *node_name, kc_sched_node *n)
{
    struct kc_sched_vstate *s = cy->vol;
    int *act = xcalloc(s->n, sizeof *act);
    json_t **pvs = xcalloc(s->n, sizeof *pvs);
    vjob *j = NULL;
    if (find_pod_volumes(s, n, act, pvs) == 0) {
        j = xcalloc(1, sizeof *j);
        kc_obj_ref(cy->pod->obj);
        j->pod = cy->pod->obj;
        j->node = xstrdup(node_name);
        j->n = s->n;
        j->claims = xcalloc(s->n, sizeof *j->claims);
        j->pv = xcalloc(s->n, sizeof *j->pv);
        j->pvrv = xcalloc(s->n, sizeof *j->pvrv);
        j->act = act, act = NULL;
        for (size_t i = 0; i < s->n; i++) {
            j->claims[i] = kc_obj_key(cy->pod->ns, s->c[i].name);
            if (pvs[i]) j->pv[i] = xstrdup(meta(pvs[i], "name"));
            if (pvs[i]) j->pvrv[i] = xstrdup(meta(pvs[i], "resourceVersion"));
            if (pvs[i]) reserve(v, j->pv[i], j->claims[i]);
        }
    }
    free(act);
    free(pvs);
    return j;
}

/* Called on the scheduler thread right after the pod was assumed on node. */
bool kc_sched_volume_prebind(kc_sched_volumes *v, kc_sched_cache *c, const kc_sched_pod *p, const char *node)
{
    if (!v || (!strstr(p->obj->json, "\"persistentVolumeClaim\"") && !strstr(p->obj->json, "\"ephemeral\"")))
        return false;
    kc_sched_node *n = kc_sched_cache_node(c, node);
    kc_sched_lookup lk = {.volumes = v};
    kc_sched_cycle cy = {.cache = c, .pod = (kc_sched_pod *)p, .lk = &lk};
    kc_sched_volume_prefilter(&cy);
    bool delayed = false, taken = true;
    for (size_t i = 0; cy.vol && i < cy.vol->n; i++)
        delayed |= cy.vol->c[i].delayed;
    kc_err err = KC_ERR_INIT;
    vjob *j = NULL;
    if (cy.prefilter_msg) /* a claim changed since the cycle: retry the pod */
        kc_errf(&err, KC_ECONFLICT, "%s", cy.prefilter_msg);
    else if (!cy.vol || !delayed)
        taken = false;
    else if (!n || !(j = plan(v, &cy, node, n)))
        kc_errf(&err, KC_ECONFLICT, "%s", KC_SCHED_ERR_VOL_BIND);
    kc_sched_vstate_free(cy.vol);
    free(cy.prefilter_msg);
    if (err.reason) v->fail(v->bind_ud, p->obj, node, &err);
    kc_err_release(&err);
    if (!j) return taken;
    j->deadline = kc_mono_ms() + BIND_TIMEOUT_MS;
    pthread_mutex_lock(&v->wmu);
    *v->todo_tail = j;
    v->todo_tail = &j->next;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->wmu);
    return true;
}

static int merge_patch(kc_sched_volumes *v, int which, const char *ns, const char *name, json_t *pt,
                       kc_err *err)
{
    char *s = json_dumps(pt, JSON_COMPACT);
    json_decref(pt);
    int rc =
        kc_client_patch(v->c, v->res[which], ns, name, NULL, "application/merge-patch+json", s, NULL, err);
    free(s);
    return rc;
}

/* BindPodVolumes' writes: claimRef on matched volumes, selected-node on claims to provision. */
static int write_bindings(kc_sched_volumes *v, vjob *j, kc_err *err)
{
    for (size_t i = 0; i < j->n; i++) {
        char *slash = strchr(j->claims[i], '/');
        *slash = 0;
        const char *ns = j->claims[i], *name = slash + 1;
        int rc = 0;
        if (j->act[i] == ACT_SELECT_NODE) {
            rc = merge_patch(
                v, VI_PVC, ns, name,
                json_pack("{s:{s:{s:s}}}", "metadata", "annotations", KC_ANN_SELECTED_NODE, j->node), err);
        } else if (j->act[i] == ACT_BIND_PV) {
            docent *c = lookup(v, VI_PVC, ns, name);
            if (c)
                rc = merge_patch(v, VI_PV, NULL, j->pv[i],
                                 json_pack("{s:{s:s,s:{s:s}},s:{s:{s:s,s:s,s:s,s:s,s:s,s:s}}}", "metadata",
                                           "resourceVersion", j->pvrv[i], "annotations",
                                           KC_ANN_BOUND_BY_CONTROLLER, "yes", "spec", "claimRef", "kind",
                                           "PersistentVolumeClaim", "namespace", ns, "name", name, "uid",
                                           meta(c->doc, "uid"), "apiVersion", "v1", "resourceVersion",
                                           meta(c->doc, "resourceVersion")),
                                 err);
            docent_unref(c);
        }
        *slash = '/';
        if (rc < 0) return rc;
    }
    return 0;
}

static bool job_ready(kc_sched_volumes *v, vjob *j)
{
    for (size_t i = 0; i < j->n; i++) {
        char *slash = strchr(j->claims[i], '/');
        *slash = 0;
        docent *c = lookup(v, VI_PVC, j->claims[i], slash + 1);
        *slash = '/';
        bool ok = c && fully_bound(c->doc);
        docent_unref(c);
        if (!ok) return false;
    }
    return true;
}

static void job_done(kc_sched_volumes *v, vjob *j, const kc_err *err)
{
    for (size_t i = 0; i < j->n; i++)
        if (j->pv[i]) unreserve(v, j->pv[i]);
    if (err)
        v->fail(v->bind_ud, j->pod, j->node, err);
    else
        v->bind(v->bind_ud, j->pod, j->node);
    job_free(j);
}

/* Waiting jobs whose claims are all bound (or whose time is up) leave the list. */
static void check_waiting(kc_sched_volumes *v, const char *claim_key)
{
    uint64_t now = kc_mono_ms();
    vjob *ready = NULL, *late = NULL;
    pthread_mutex_lock(&v->wmu);
    for (vjob **pp = &v->waiting; *pp;) {
        vjob *j = *pp;
        bool mine = !claim_key;
        for (size_t i = 0; i < j->n && !mine; i++)
            mine = !strcmp(j->claims[i], claim_key);
        vjob **to = now > j->deadline ? &late : mine && job_ready(v, j) ? &ready : NULL;
        if (!to) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        j->next = *to;
        *to = j;
    }
    pthread_mutex_unlock(&v->wmu);
    for (vjob *j = ready, *nx; j; j = nx)
        nx = j->next, job_done(v, j, NULL);
    kc_err err = KC_ERR_INIT;
    kc_errf(&err, KC_ETIMEOUT, "binding volumes: timed out waiting for the condition");
    for (vjob *j = late, *nx; j; j = nx)
        nx = j->next, job_done(v, j, &err);
    kc_err_release(&err);
}

static void run_job(kc_sched_volumes *v, vjob *j)
{
    kc_err err = KC_ERR_INIT;
    if (write_bindings(v, j, &err) < 0) {
        job_done(v, j, &err);
        kc_err_release(&err);
        return;
    }
    pthread_mutex_lock(&v->wmu);
    j->next = v->waiting;
    v->waiting = j;
    pthread_mutex_unlock(&v->wmu);
    check_waiting(v, j->claims[0]); /* bound meanwhile? */
}

static void *worker(void *arg)
{
    kc_sched_volumes *v = arg;
    pthread_mutex_lock(&v->wmu);
    while (!v->stop) {
        vjob *j = v->todo;
        if (!j) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&v->cv, &v->wmu, &ts);
            uint64_t now = kc_mono_ms();
            if (!v->todo && v->waiting && now - v->last_sweep >= 200) { /* one worker sweeps */
                v->last_sweep = now;
                pthread_mutex_unlock(&v->wmu);
                check_waiting(v, NULL); /* deadlines (and anything missed) */
                pthread_mutex_lock(&v->wmu);
            }
            continue;
        }
        v->todo = j->next;
        if (!v->todo) v->todo_tail = &v->todo;
        pthread_mutex_unlock(&v->wmu);
        run_job(v, j);
        pthread_mutex_lock(&v->wmu);
    }
    pthread_mutex_unlock(&v->wmu);
    return NULL;
}

/* ---- informer handlers ---- */

static void changed(kc_sched_volumes *v)
{
    if (v->wake) v->wake(v->wake_ud);
}

static void pvc_set(void *ud, const kc_obj *o)
{
    kc_sched_volumes *v = ud;
    if (strstr(o->json, KC_ANN_BIND_COMPLETED)) check_waiting(v, o->key);
    changed(v);
}

static void pvc_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    pvc_set(ud, cur);
}

static void pvc_delete(void *ud, const kc_obj *o)
{
    forget(ud, VI_PVC, o);
    changed(ud);
}

/* A volume whose claimRef is written no longer needs its reservation. */
static void pv_set(void *ud, const kc_obj *o)
{
    kc_sched_volumes *v = ud;
    if (strstr(o->json, "\"claimRef\"")) unreserve(v, o->name);
    changed(v);
}

static void pv_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    pv_set(ud, cur);
}

static void pv_delete(void *ud, const kc_obj *o)
{
    forget(ud, VI_PV, o);
    unreserve(ud, o->name);
    changed(ud);
}

static void sc_set(void *ud, const kc_obj *o)
{
    (void)o;
    changed(ud);
}

static void sc_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    sc_set(ud, cur);
}

static void sc_delete(void *ud, const kc_obj *o)
{
    forget(ud, VI_SC, o);
    changed(ud);
}

/* ---- start / stop ---- */

kc_sched_volumes *kc_sched_volumes_new(kc_client *c, void (*wake)(void *ud), void *ud)
{
    kc_sched_volumes *v = xcalloc(1, sizeof *v);
    v->c = c;
    v->wake = wake;
    v->wake_ud = ud;
    pthread_mutex_init(&v->mu, NULL);
    pthread_mutex_init(&v->wmu, NULL);
    pthread_cond_init(&v->cv, NULL);
    v->todo_tail = &v->todo;
    static const char *const res[NVI][2] = {
        {"", "persistentvolumeclaims"}, {"", "persistentvolumes"}, {"storage.k8s.io", "storageclasses"}};
    static const kc_handlers h[NVI] = {
        {pvc_set, pvc_update, pvc_delete}, {pv_set, pv_update, pv_delete}, {sc_set, sc_update, sc_delete}};
    for (int i = 0; i < NVI; i++) {
        v->res[i] = kc_resource_find(res[i][0], "v1", res[i][1]);
        v->inf[i] = kc_informer_new(c, v->res[i], NULL, NULL, NULL);
        kc_informer_add_handlers(v->inf[i], &h[i], v);
    }
    for (int i = 0; i < NVI; i++)
        kc_informer_start(v->inf[i]);
    return v;
}

void kc_sched_volumes_set_binder(kc_sched_volumes *v, kc_sched_vbind_fn bind, kc_sched_vfail_fn fail,
                                 void *ud)
{
    v->bind = bind, v->fail = fail, v->bind_ud = ud;
    for (int i = 0; i < PREBIND_WORKERS; i++)
        pthread_create(&v->workers[i], NULL, worker, v);
}

bool kc_sched_volumes_wait_synced(kc_sched_volumes *v, int timeout_ms)
{
    bool ok = true;
    for (int i = 0; i < NVI; i++)
        ok &= kc_informer_wait_synced(v->inf[i], timeout_ms);
    return ok;
}

void kc_sched_volumes_free(kc_sched_volumes *v)
{
    if (!v) return;
    for (int i = 0; i < NVI; i++)
        kc_informer_stop(v->inf[i]);
    pthread_mutex_lock(&v->wmu);
    v->stop = true;
    pthread_cond_broadcast(&v->cv);
    pthread_mutex_unlock(&v->wmu);
    if (v->bind)
        for (int i = 0; i < PREBIND_WORKERS; i++)
            pthread_join(v->workers[i], NULL);
    for (vjob *j = v->todo, *n; j; j = n)
        n = j->next, job_free(j);
    for (vjob *j = v->waiting, *n; j; j = n)
        n = j->next, job_free(j);
    for (int i = 0; i < NVI; i++)
        kc_informer_free(v->inf[i]);
    void *e;
    const char *k;
    for (size_t it = 0; kc_map_next(&v->docs, &it, NULL, &e);)
        docent_unref(e);
    for (size_t it = 0; kc_map_next(&v->reserved, &it, &k, &e);)
        free((char *)k);
    kc_map_release(&v->docs);
    kc_map_release(&v->reserved);
    pthread_mutex_destroy(&v->mu);
    pthread_mutex_destroy(&v->wmu);
    pthread_cond_destroy(&v->cv);
    free(v);
}
