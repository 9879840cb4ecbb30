/* InterPodAffinity: required pod affinity and anti-affinity (Filter) and the preferred terms
 * (Score), over counts per topology pair "key=value" computed once per cycle (PreFilter /
 * PreScore), as upstream's interpodaffinity plugin:
 *
 *   existing_anti  pairs where an existing pod's required anti-affinity term matches the pod
 *   aff_counts     pairs holding pods that match ALL of the pod's required affinity terms
 *   anti_counts    pairs holding pods that match one of the pod's required anti-affinity terms
 *
 * Filter order and codes: affinity (unresolvable), the pod's anti-affinity, existing pods'
 * anti-affinity (both resolvable by preemption). */
#include "lib/xalloc.h"
#include "scheduler/sched.h"

const char KC_SCHED_ERR_POD_AFFINITY[] = "node(s) didn't match pod affinity rules";
const char KC_SCHED_ERR_POD_ANTI[] = "node(s) didn't match pod anti-affinity rules";
const char KC_SCHED_ERR_EXISTING_ANTI[] = "node(s) didn't satisfy existing pods anti-affinity rules";

typedef struct cnt {
    char *k;
    int64_t n;
} cnt;

static char *pair(const char *k, const char *v, char *buf, size_t cap)
{
    if (!k) return (char *)v;
    snprintf(buf, cap, "%s=%s", k, v);
    return buf;
}

void kc_sched_counts_add(kc_sched_counts *c, const char *k, const char *v, int64_t d)
{
    char buf[512], *key = pair(k, v, buf, sizeof buf);
    cnt *e = kc_map_get(&c->m, key);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->k = xstrdup(key);
        kc_map_put(&c->m, e->k, e);
    }
    e->n += d;
}

int64_t kc_sched_counts_get(const kc_sched_counts *c, const char *k, const char *v, bool *found)
{
    char buf[512];
    cnt *e = kc_map_get(&c->m, pair(k, v, buf, sizeof buf));
    if (found) *found = e != NULL;
    return e ? e->n : 0;
}

int64_t kc_sched_counts_min(const kc_sched_counts *c)
{
    int64_t m = INT64_MAX;
    void *v;
    for (size_t it = 0; kc_map_next(&c->m, &it, NULL, &v);)
        if (((cnt *)v)->n < m) m = ((cnt *)v)->n;
    return m == INT64_MAX ? 0 : m;
}

void kc_sched_counts_release(kc_sched_counts *c)
{
    void *v;
    for (size_t it = 0; kc_map_next(&c->m, &it, NULL, &v);) {
        free(((cnt *)v)->k);
        free(v);
    }
    kc_map_release(&c->m);
}

/* Labels of pod's namespace when a term needs them (a namespaceSelector with requirements). */
static json_t *ns_labels_for(kc_sched_cycle *cy, const kc_sched_pterm *t, const kc_sched_pod *pod,
                             json_t **tmp)
{
    if (!t->ns_sel || kc_labelsel_empty(t->ns_sel) || !cy->lk || !cy->lk->ns_labels) return NULL;
    if (!strcmp(pod->ns, cy->pod->ns)) return cy->ns_labels;
    json_decref(*tmp);
    return *tmp = cy->lk->ns_labels(cy->lk->ud, pod->ns);
}

static bool term_matches(kc_sched_cycle *cy, const kc_sched_pterm *t, const kc_sched_pod *pod)
{
    json_t *tmp = NULL;
    bool m = kc_sched_pterm_matches(t, pod, ns_labels_for(cy, t, pod, &tmp));
    json_decref(tmp);
    return m;
}

static void count_term(kc_sched_counts *c, const kc_sched_pterm *t, const kc_sched_node *n, int64_t d)
{
    const char *v = kc_sched_node_label(n, t->topology_key);
    if (v) kc_sched_counts_add(c, t->topology_key, v, d);
}

static void prefilter_existing(kc_sched_cycle *cy, const kc_sched_pod *e, const kc_sched_node *n)
{
    kc_sched_pod *p = cy->pod;
    for (size_t i = 0; i < e->nanti; i++)
        if (kc_sched_pterm_matches(&e->anti[i], p, cy->ns_labels))
            count_term(&cy->existing_anti, &e->anti[i], n, 1);
    if (p->naff) {
        bool all = true;
        for (size_t i = 0; i < p->naff && all; i++)
            all = term_matches(cy, &p->aff[i], e);
        for (size_t i = 0; all && i < p->naff; i++)
            count_term(&cy->aff_counts, &p->aff[i], n, 1);
    }
    for (size_t i = 0; i < p->nanti; i++)
        if (term_matches(cy, &p->anti[i], e)) count_term(&cy->anti_counts, &p->anti[i], n, 1);
}

void kc_sched_affinity_prefilter(kc_sched_cycle *cy)
{
    kc_sched_pod *p = cy->pod;
    if (!cy->cache->n_anti && !p->naff && !p->nanti) return;
    for (size_t i = 0; i < cy->cache->n; i++) {
        kc_sched_node *n = cy->cache->list[i];
        if (!n->labels) continue;
        for (size_t k = 0; k < n->npods; k++)
            if (n->pods[k]->nanti || p->naff || p->nanti) prefilter_existing(cy, n->pods[k], n);
    }
}

static bool satisfies_affinity(kc_sched_cycle *cy, const kc_sched_node *n)
{
    kc_sched_pod *p = cy->pod;
    bool pods_exist = true;
    for (size_t i = 0; i < p->naff; i++) {
        const char *v = kc_sched_node_label(n, p->aff[i].topology_key);
        if (!v) return false;
        if (kc_sched_counts_get(&cy->aff_counts, p->aff[i].topology_key, v, NULL) <= 0) pods_exist = false;
    }
    if (pods_exist) return true;
    /* The first pod of a group that matches its own terms may go anywhere they are defined. */
    if (kc_map_len(&cy->aff_counts.m)) return false;
    for (size_t i = 0; i < p->naff; i++)
        if (!kc_sched_pterm_matches(&p->aff[i], p, cy->ns_labels)) return false;
    return true;
}

static bool satisfies_anti(kc_sched_cycle *cy, const kc_sched_node *n)
{
    kc_sched_pod *p = cy->pod;
    for (size_t i = 0; i < p->nanti; i++) {
        const char *v = kc_sched_node_label(n, p->anti[i].topology_key);
        if (v && kc_sched_counts_get(&cy->anti_counts, p->anti[i].topology_key, v, NULL) > 0) return false;
    }
    return true;
}

static bool satisfies_existing_anti(kc_sched_cycle *cy, const kc_sched_node *n)
{
    if (!kc_map_len(&cy->existing_anti.m)) return true;
    const char *k;
    json_t *v;
    json_object_foreach(n->labels, k, v)
    {
        if (kc_sched_counts_get(&cy->existing_anti, k, json_string_value(v) ?: "", NULL) > 0) return false;
    }
    return true;
}

int kc_sched_affinity_filter(kc_sched_cycle *cy, const kc_sched_node *n, kc_sched_status *st)
{
    st->n = 1;
    if (!satisfies_affinity(cy, n)) {
        st->reasons[0] = KC_SCHED_ERR_POD_AFFINITY;
        return st->code = KC_SCHED_UNRESOLVABLE;
    }
    st->code = KC_SCHED_UNSCHEDULABLE;
    if (!satisfies_anti(cy, n)) {
        st->reasons[0] = KC_SCHED_ERR_POD_ANTI;
        return st->code;
    }
    if (!satisfies_existing_anti(cy, n)) {
        st->reasons[0] = KC_SCHED_ERR_EXISTING_ANTI;
        return st->code;
    }
    st->n = 0;
    return st->code = KC_SCHED_OK;
}

/* ---- score ---- */

static void score_terms(kc_sched_cycle *cy, kc_sched_counts *c, const kc_sched_pterm *t, size_t nt,
                        const kc_sched_pod *pod, const kc_sched_node *n, int64_t mult, bool mine)
{
    for (size_t i = 0; i < nt; i++) {
        bool m = mine ? term_matches(cy, &t[i], pod) : kc_sched_pterm_matches(&t[i], pod, cy->ns_labels);
        if (m) count_term(c, &t[i], n, t[i].weight * mult);
    }
}

/* processExistingPod: the pod's preferred terms against e, and e's terms against the pod
 * (required affinity with hardPodAffinityWeight 1). */
static void score_existing(kc_sched_cycle *cy, kc_sched_counts *c, const kc_sched_pod *e,
                           const kc_sched_node *n)
{
    kc_sched_pod *p = cy->pod;
    score_terms(cy, c, p->paff, p->npaff, e, n, 1, true);
    score_terms(cy, c, p->panti, p->npanti, e, n, -1, true);
    for (size_t i = 0; i < e->naff; i++)
        if (kc_sched_pterm_matches(&e->aff[i], p, cy->ns_labels)) count_term(c, &e->aff[i], n, 1);
    score_terms(cy, c, e->paff, e->npaff, p, n, 1, false);
    score_terms(cy, c, e->panti, e->npanti, p, n, -1, false);
}

static int64_t node_score(const kc_sched_counts *c, const kc_sched_node *n)
{
    int64_t s = 0;
    const char *k;
    json_t *v;
    json_object_foreach(n->labels, k, v) s += kc_sched_counts_get(c, k, json_string_value(v) ?: "", NULL);
    return s;
}

void kc_sched_affinity_score(kc_sched_cycle *cy, kc_sched_node **nodes, size_t n, int64_t *out)
{
    kc_sched_pod *p = cy->pod;
    bool mine = p->npaff || p->npanti;
    memset(out, 0, n * sizeof *out);
    if (!mine && !cy->cache->n_affinity) return;
    kc_sched_counts c = {KC_MAP_INIT};
    for (size_t i = 0; i < cy->cache->n; i++) {
        kc_sched_node *nd = cy->cache->list[i];
        if (!nd->labels) continue;
        for (size_t k = 0; k < nd->npods; k++)
            if (mine || kc_sched_pod_has_affinity(nd->pods[k])) score_existing(cy, &c, nd->pods[k], nd);
    }
    if (kc_map_len(&c.m)) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < n; i++) {
            out[i] = node_score(&c, nodes[i]);
            lo = out[i] < lo ? out[i] : lo;
            hi = out[i] > hi ? out[i] : hi;
        }
        for (size_t i = 0; i < n; i++)
            out[i] =
                hi > lo ? (int64_t)(KC_SCHED_MAX_SCORE * ((double)(out[i] - lo) / (double)(hi - lo))) : 0;
    }
    kc_sched_counts_release(&c);
}
