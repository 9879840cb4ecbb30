/* Pure DaemonSet rules (semantics 4.3-4.7), no I/O: node facts, the daemon tolerations and the
 * node pin of the pod each node gets, node eligibility (nodeSelector, required node affinity,
 * taints), daemon pod facts and ordering, the maxSurge/maxUnavailable arithmetic (percentages
 * round UP), the per-node plan of the manage loop and the status counts. The sync
 * (daemonset_sync.c) decides what to do with the answers. */
#include "controllers/daemonset_int.h"
#include "controllers/framework.h"
#include "lib/xalloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- node facts ---- */

kc_ds_node *kc_ds_node_new(const char *name, uint64_t rev, json_t *node)
{
    kc_ds_node *n = xcalloc(1, sizeof *n);
    n->refs = 1;
    n->rev = rev;
    n->name = xstrdup(name);
    json_t *l = json_object_get(json_object_get(node, "metadata"), "labels");
    json_t *t = json_object_get(json_object_get(node, "spec"), "taints");
    n->labels = json_is_object(l) ? json_deep_copy(l) : json_object();
    n->taints = json_is_array(t) ? json_deep_copy(t) : json_array();
    return n;
}

kc_ds_node *kc_ds_node_ref(kc_ds_node *n)
{
    if (n) __atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED);
    return n;
}

void kc_ds_node_unref(kc_ds_node *n)
{
    if (!n || __atomic_sub_fetch(&n->refs, 1, __ATOMIC_ACQ_REL)) return;
    json_decref(n->labels);
    json_decref(n->taints);
    free(n->name);
    free(n);
}

bool kc_ds_node_same(const kc_ds_node *a, const kc_ds_node *b)
{
    return json_equal(a->labels, b->labels) && json_equal(a->taints, b->taints);
}

/* ---- the pod a node gets ---- */

static const char *sget(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k)) ?: "";
}

/* A toleration of spec already covers key:effect (same key or any key with Exists; same or any
 * effect)? Upstream AddOrUpdateTolerationInPodSpec replaces an equal toleration; covering is the
 * observable rule (4.3: "unless already present"). */
static bool has_toleration(json_t *tols, const char *key, const char *effect)
{
    size_t i;
    json_t *t;
    json_array_foreach(tols, i, t)
    {
        const char *k = sget(t, "key"), *e = sget(t, "effect"), *op = sget(t, "operator");
        bool key_ok = !strcmp(k, key) || (!k[0] && !strcmp(op, "Exists"));
        if (key_ok && (!e[0] || !strcmp(e, effect))) return true;
    }
    return false;
}

void kc_ds_add_tolerations(json_t *spec)
{
    static const char *const add[][2] = {
        {"node.kubernetes.io/not-ready", "NoExecute"},
        {"node.kubernetes.io/unreachable", "NoExecute"},
        {"node.kubernetes.io/disk-pressure", "NoSchedule"},
        {"node.kubernetes.io/memory-pressure", "NoSchedule"},
        {"node.kubernetes.io/pid-pressure", "NoSchedule"},
        {"node.kubernetes.io/unschedulable", "NoSchedule"},
        {"node.kubernetes.io/network-unavailable", "NoSchedule"},
    };
    json_t *tols = json_object_get(spec, "tolerations");
    if (!json_is_array(tols)) json_object_set_new(spec, "tolerations", tols = json_array());
    size_t n = json_is_true(json_object_get(spec, "hostNetwork")) ? 7 : 6;
    for (size_t i = 0; i < n; i++) {
        if (has_toleration(tols, add[i][0], add[i][1])) continue;
        json_array_append_new(
            tols, json_pack("{s:s,s:s,s:s}", "key", add[i][0], "operator", "Exists", "effect", add[i][1]));
    }
}

static json_t *sub(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_object(v)) json_object_set_new(o, k, v = json_object());
    return v;
}

void kc_ds_pin_node(json_t *spec, const char *node)
{
    json_t *req =
        sub(sub(sub(spec, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution");
    json_object_set_new(req, "nodeSelectorTerms",
                        json_pack("[{s:[{s:s,s:s,s:[s]}]}]", "matchFields", "key", "metadata.name",
                                  "operator", "In", "values", node));
}

const char *kc_ds_pod_target(json_t *pod)
{
    json_t *spec = json_object_get(pod, "spec");
    const char *nn = json_string_value(json_object_get(spec, "nodeName"));
    if (nn && nn[0]) return nn;
    json_t *terms =
        json_object_get(json_object_get(json_object_get(json_object_get(spec, "affinity"), "nodeAffinity"),
                                        "requiredDuringSchedulingIgnoredDuringExecution"),
                        "nodeSelectorTerms");
    size_t i, j;
    json_t *t, *f;
    json_array_foreach(terms, i, t)
    {
        json_array_foreach(json_object_get(t, "matchFields"), j, f)
        {
            json_t *vals = json_object_get(f, "values");
            if (strcmp(sget(f, "key"), "metadata.name") || strcmp(sget(f, "operator"), "In")) continue;
            return json_array_size(vals) == 1 ? json_string_value(json_array_get(vals, 0)) : NULL;
        }
    }
    return NULL;
}

/* ---- eligibility ---- */

bool kc_ds_tolerates(json_t *tol, json_t *taint)
{
    const char *te = sget(tol, "effect"), *e = sget(taint, "effect");
    if (te[0] && strcmp(te, e)) return false;
    const char *tk = sget(tol, "key"), *op = sget(tol, "operator");
    if (tk[0] && strcmp(tk, sget(taint, "key"))) return false;
    if (!strcmp(op, "Exists")) return true;
    if (op[0] && strcmp(op, "Equal")) return false;
    return !strcmp(sget(tol, "value"), sget(taint, "value"));
}

static bool in_values(json_t *vals, const char *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(vals, i, x) if (!strcmp(json_string_value(x) ?: "", v)) return true;
    return false;
}

static bool to_int(const char *s, long long *out)
{
    char *end;
    if (!s || !*s) return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return !*end && !errno;
}

/* One NodeSelectorRequirement against value v (NULL: the label is absent). */
static bool req_matches(json_t *r, const char *v)
{
    const char *op = sget(r, "operator");
    json_t *vals = json_object_get(r, "values");
    long long a, b;
    if (!strcmp(op, "In")) return v && in_values(vals, v);
    if (!strcmp(op, "NotIn")) return !v || !in_values(vals, v);
    if (!strcmp(op, "Exists")) return v != NULL;
    if (!strcmp(op, "DoesNotExist")) return v == NULL;
    bool gt = !strcmp(op, "Gt");
    if (!gt && strcmp(op, "Lt")) return false;
    if (json_array_size(vals) != 1 || !to_int(json_string_value(json_array_get(vals, 0)), &b)) return false;
    if (!v || !to_int(v, &a)) return false;
    return gt ? a > b : a < b;
}

static bool term_matches(json_t *term, const kc_ds_node *n)
{
    json_t *exprs = json_object_get(term, "matchExpressions"), *fields = json_object_get(term, "matchFields"),
           *r;
    if (!json_array_size(exprs) && !json_array_size(fields)) return false;
    size_t i;
    json_array_foreach(exprs, i, r)
    {
        if (!req_matches(r, json_string_value(json_object_get(n->labels, sget(r, "key"))))) return false;
    }
    json_array_foreach(fields, i, r)
    {
        if (strcmp(sget(r, "key"), "metadata.name") || !req_matches(r, n->name)) return false;
    }
    return true;
}

bool kc_ds_node_fits(json_t *spec, const kc_ds_node *n)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(spec, "nodeSelector"), k, v)
    {
        const char *have = json_string_value(json_object_get(n->labels, k));
        if (!have || strcmp(have, json_string_value(v) ?: "")) return false;
    }
    json_t *req = json_object_get(json_object_get(json_object_get(spec, "affinity"), "nodeAffinity"),
                                  "requiredDuringSchedulingIgnoredDuringExecution");
    if (!json_is_object(req)) return true;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(req, "nodeSelectorTerms"), i, t) if (term_matches(t, n)) return true;
    return false;
}

/* Some taint with one of the effects that no toleration tolerates? */
static bool untolerated(json_t *spec, const kc_ds_node *n, bool noschedule)
{
    size_t i, j;
    json_t *taint, *tol;
    json_array_foreach(n->taints, i, taint)
    {
        const char *e = sget(taint, "effect");
        if (strcmp(e, "NoExecute") && (!noschedule || strcmp(e, "NoSchedule"))) continue;
        bool ok = false;
        json_array_foreach(json_object_get(spec, "tolerations"), j, tol) if (kc_ds_tolerates(tol, taint)) ok =
            true;
        if (!ok) return true;
    }
    return false;
}

void kc_ds_should_run(json_t *spec, const kc_ds_node *n, bool *should_run, bool *should_continue)
{
    const char *nn = json_string_value(json_object_get(spec, "nodeName"));
    *should_run = *should_continue = false;
    if ((nn && nn[0] && strcmp(nn, n->name)) || !kc_ds_node_fits(spec, n)) return;
    *should_run = !untolerated(spec, n, true);
    *should_continue = !untolerated(spec, n, false);
}

/* ---- pods ---- */

static void copy_label(json_t *labels, const char *k, char *out, size_t len)
{
    snprintf(out, len, "%s", json_string_value(json_object_get(labels, k)) ?: "");
}

void kc_ds_pod_facts(const kc_obj *o, json_t *doc, kc_ds_pod *p)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->rev = o->rev;
    kc_obj_controller(o, p->ctrl_uid, sizeof p->ctrl_uid, NULL, 0, NULL, 0);
    const char *t = kc_ds_pod_target(doc);
    snprintf(p->node, sizeof p->node, "%s", t ?: "");
    json_t *md = json_object_get(doc, "metadata"), *labels = json_object_get(md, "labels");
    copy_label(labels, KC_DS_HASH_LABEL, p->hash, sizeof p->hash);
    copy_label(labels, KC_DS_GEN_LABEL, p->gen, sizeof p->gen);
    const char *nn = json_string_value(json_object_get(json_object_get(doc, "spec"), "nodeName"));
    p->bound = nn && nn[0];
    p->deleting = o->deleting;
    const char *phase = sget(json_object_get(doc, "status"), "phase");
    p->failed = !strcmp(phase, "Failed");
    p->succeeded = !strcmp(phase, "Succeeded");
    p->ready = kc_pod_ready(doc);
    p->created = kc_parse_time(sget(md, "creationTimestamp"));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(doc, "status"), "conditions"), i, c)
    {
        if (!strcmp(sget(c, "type"), "Ready")) p->ready_since = kc_parse_time(sget(c, "lastTransitionTime"));
    }
}

bool kc_ds_pod_available(const kc_ds_pod *p, int min_ready, int64_t now)
{
    if (!p->ready) return false;
    return min_ready <= 0 || (p->ready_since > 0 && p->ready_since + min_ready <= now);
}

bool kc_ds_pod_updated(const kc_ds_pod *p, const char *hash, const char *gen)
{
    return (hash && hash[0] && !strcmp(p->hash, hash)) || (gen && gen[0] && !strcmp(p->gen, gen));
}

static int cmp_pods(const void *a, const void *b)
{
    const kc_ds_pod *x = *(kc_ds_pod *const *)a, *y = *(kc_ds_pod *const *)b;
    if (x->bound != y->bound) return x->bound ? -1 : 1;
    if (x->created != y->created) return x->created < y->created ? -1 : 1;
    return strcmp(x->o->name, y->o->name);
}

void kc_ds_sort_pods(kc_ds_pod **v, size_t n)
{
    if (n > 1) qsort(v, n, sizeof *v, cmp_pods);
}

/* ---- rolling update arithmetic ---- */

/* Worked example: maxUnavailable "10%" of 5000 desired = 500; "10%" of 3 = ceil(0.3) = 1. */
int kc_ds_scaled(json_t *v, int total, int def)
{
    if (json_is_integer(v)) return (int)json_integer_value(v);
    const char *s = json_string_value(v);
    size_t len = s ? strlen(s) : 0;
    long long pct;
    if (!len || s[len - 1] != '%') return def;
    char buf[32];
    snprintf(buf, sizeof buf, "%.*s", (int)(len - 1), s);
    if (!to_int(buf, &pct) || pct < 0) return def;
    return (int)((pct * total + 99) / 100);
}

void kc_ds_surge_unavailable(json_t *spec, int desired, int *surge, int *unavailable)
{
    json_t *ru = json_object_get(json_object_get(spec, "updateStrategy"), "rollingUpdate");
    *surge = kc_ds_scaled(json_object_get(ru, "maxSurge"), desired, 0);
    *unavailable = kc_ds_scaled(json_object_get(ru, "maxUnavailable"), desired, 1);
    if (*surge == 0 && *unavailable == 0) *unavailable = 1;
}

/* ---- per-node plan ---- */

/* With surge: keep the oldest new and the oldest old pod; the old one goes once it is not Ready
 * or the new one is Available. */
static void plan_surge(kc_ds_pod **run, size_t n, const char *hash, const char *gen, int min_ready,
                       int64_t now, kc_ds_pod **del, size_t *ndel)
{
    kc_ds_pod *newest = NULL, *oldest = NULL;
    for (size_t i = 0; i < n; i++) {
        bool upd = kc_ds_pod_updated(run[i], hash, gen);
        kc_ds_pod **slot = upd ? &newest : &oldest;
        if (!*slot)
            *slot = run[i];
        else
            del[(*ndel)++] = run[i];
    }
    if (newest && oldest && (!oldest->ready || kc_ds_pod_available(newest, min_ready, now)))
        del[(*ndel)++] = oldest;
}

void kc_ds_node_plan(const kc_ds_slot *s, const char *hash, const char *gen, bool surge, int min_ready,
                     int64_t now, bool in_backoff, bool *create, kc_ds_pod **del, size_t *ndel,
                     bool *failed_seen)
{
    *create = false;
    *ndel = 0;
    *failed_seen = false;
    if (s->should_run && !s->npods) {
        *create = true;
        return;
    }
    if (!s->should_continue) {
        for (size_t i = 0; i < s->npods; i++)
            if (!s->pods[i]->deleting) del[(*ndel)++] = s->pods[i];
        return;
    }
    kc_ds_pod *run[s->npods ? s->npods : 1];
    size_t nrun = 0;
    for (size_t i = 0; i < s->npods; i++) {
        kc_ds_pod *p = s->pods[i];
        if (p->deleting) continue;
        if (p->failed) {
            *failed_seen = true;
            if (!in_backoff) del[(*ndel)++] = p;
        } else if (p->succeeded) {
            del[(*ndel)++] = p;
        } else {
            run[nrun++] = p;
        }
    }
    if (nrun <= 1) return;
    if (!surge) {
        for (size_t i = 1; i < nrun; i++)
            del[(*ndel)++] = run[i];
        return;
    }
    plan_surge(run, nrun, hash, gen, min_ready, now, del, ndel);
}

bool kc_ds_split(const kc_ds_slot *s, const char *hash, const char *gen, kc_ds_pod **newp, kc_ds_pod **oldp)
{
    *newp = *oldp = NULL;
    for (size_t i = 0; i < s->npods; i++) {
        kc_ds_pod *p = s->pods[i];
        if (p->deleting) continue;
        kc_ds_pod **slot = kc_ds_pod_updated(p, hash, gen) ? newp : oldp;
        if (*slot) {
            *newp = *oldp = NULL;
            return false;
        }
        *slot = p;
    }
    return true;
}

/* ---- status ---- */

void kc_ds_count(const kc_ds_slot *slots, size_t n, const char *hash, const char *gen, int min_ready,
                 int64_t now, kc_ds_counts *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const kc_ds_slot *s = &slots[i];
        /* terminal pods being deleted do not count (includeDeletedTerminal = false) */
        kc_ds_pod *first = NULL;
        for (size_t j = 0; j < s->npods && !first; j++)
            if (!((s->pods[j]->failed || s->pods[j]->succeeded) && s->pods[j]->deleting)) first = s->pods[j];
        if (!s->node) continue;
        if (!s->should_run) {
            out->misscheduled += first != NULL;
            continue;
        }
        out->desired++;
        if (!first) continue;
        out->current++;
        if (first->ready) out->ready++;
        if (kc_ds_pod_available(first, min_ready, now)) out->available++;
        if (kc_ds_pod_updated(first, hash, gen)) out->updated++;
    }
}
