/* PodTopologySpread: hard constraints (DoNotSchedule) as a filter, soft ones (ScheduleAnyway, or
 * the cluster defaults for pods without constraints) as a score, following upstream's plugin.
 *
 * Filter: for each constraint, count matching pods (same namespace, not terminating) per domain
 * over the eligible nodes (passing the pod's node affinity when nodeAffinityPolicy is Honor, its
 * taints when nodeTaintsPolicy is Honor, and carrying every constraint's key); then
 *     count(domain of node) + (pod matches itself ? 1 : 0) - global minimum <= maxSkew
 * where the global minimum is 0 while fewer than minDomains domains exist.
 * Example: zones a=2, b=0 matching pods, maxSkew 1: a gives 2+1-0 = 3 > 1 (rejected), b gives 1.
 *
 * Score: per node Σ (count in its domain × log(domains + 2) + maxSkew - 1), normalized so the
 * least crowded node gets 100: 100 × (max + min - s) / max. */
#include "lib/xalloc.h"
#include "scheduler/sched.h"
#include <math.h>

const char KC_SCHED_ERR_SPREAD[] = "node(s) didn't match pod topology spread constraints";
const char KC_SCHED_ERR_SPREAD_LABEL[] =
    "node(s) didn't match pod topology spread constraints (missing required label)";

static const char HOSTNAME[] = "kubernetes.io/hostname";

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Pods on a node matching a selector in a namespace. Default spreading counts the pods of one
 * workload on every node in every cycle (quadratic over a 10,000-pod rollout), so the last
 * count is memoized per node, keyed by the selector's canonical form, and kept while the
 * node's pods do not change (node.c bumps pods_gen; the cache belongs to the scheduler thread). */
static int64_t count_matching(const kc_sched_node *cn, const kc_labelsel *sel, const char *ns)
{
    if (kc_labelsel_empty(sel)) return 0;
    kc_sched_node *n = (kc_sched_node *)cn;
    char *canon = kc_labelsel_string(sel);
    uint64_t key = fnv(fnv(1469598103934665603ULL, canon) ^ 0x9e3779b97f4a7c15ULL, ns);
    free(canon);
    if (n->memo_valid && n->memo_key == key && n->memo_gen == n->pods_gen) return n->memo_count;
    int64_t c = 0;
    for (size_t i = 0; i < n->npods; i++) {
        const kc_sched_pod *e = n->pods[i];
        if (!e->deleting && !strcmp(e->ns, ns) && kc_labelsel_match(sel, e->obj->labels)) c++;
    }
    n->memo_valid = true, n->memo_key = key, n->memo_gen = n->pods_gen, n->memo_count = c;
    return c;
}

static bool has_keys(const kc_sched_node *n, const kc_sched_spread *c, size_t nc)
{
    for (size_t i = 0; i < nc; i++)
        if (!kc_sched_node_label(n, c[i].key)) return false;
    return true;
}

static bool policies_ok(const kc_sched_pod *p, const kc_sched_spread *c, const kc_sched_node *n)
{
    if (c->honor_affinity && !kc_sched_required_affinity(p, n)) return false;
    return !c->honor_taints || kc_sched_tolerates_node(p, n);
}

/* Constraints of the kind asked (hard or soft), copied by value (selectors stay borrowed). */
static kc_sched_spread *pick(const kc_sched_pod *p, bool hard, size_t *n)
{
    kc_sched_spread *out = xcalloc(p->nspread + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < p->nspread; i++)
        if (p->spread[i].hard == hard) out[(*n)++] = p->spread[i];
    return out;
}

static bool has_hard_keys(const kc_sched_node *n, const kc_sched_pod *p)
{
    for (size_t i = 0; i < p->nspread; i++)
        if (p->spread[i].hard && !kc_sched_node_label(n, p->spread[i].key)) return false;
    return true;
}

static void prefilter_one(kc_sched_cycle *cy, kc_sched_spread_state *s)
{
    kc_sched_pod *p = cy->pod;
    for (size_t k = 0; k < cy->cache->n; k++) {
        kc_sched_node *n = cy->cache->list[k];
        if (!has_hard_keys(n, p) || !policies_ok(p, s->c, n)) continue;
        kc_sched_counts_add(&s->counts, NULL, kc_sched_node_label(n, s->c->key),
                            count_matching(n, s->c->sel, p->ns));
    }
    s->domains = kc_map_len(&s->counts.m);
    s->min = (int)s->domains < s->c->min_domains ? 0 : kc_sched_counts_min(&s->counts);
}

void kc_sched_spread_prefilter(kc_sched_cycle *cy)
{
    kc_sched_pod *p = cy->pod;
    cy->spread = kc_sched_array(p->nspread, sizeof *cy->spread);
    cy->nspread = 0;
    for (size_t i = 0; i < p->nspread; i++) {
        if (!p->spread[i].hard) continue;
        kc_sched_spread_state *s = &cy->spread[cy->nspread++];
        s->c = &p->spread[i];
        prefilter_one(cy, s);
    }
}

int kc_sched_spread_filter(kc_sched_cycle *cy, const kc_sched_node *n, kc_sched_status *st)
{
    for (size_t i = 0; i < cy->nspread; i++) {
        kc_sched_spread_state *s = &cy->spread[i];
        const char *v = kc_sched_node_label(n, s->c->key);
        st->n = 1;
        if (!v) {
            st->reasons[0] = KC_SCHED_ERR_SPREAD_LABEL;
            return st->code = KC_SCHED_UNRESOLVABLE;
        }
        int64_t self = kc_labelsel_match(s->c->sel, cy->pod->obj->labels) ? 1 : 0;
        if (kc_sched_counts_get(&s->counts, NULL, v, NULL) + self - s->min > s->c->max_skew) {
            st->reasons[0] = KC_SCHED_ERR_SPREAD;
            return st->code = KC_SCHED_UNSCHEDULABLE;
        }
    }
    return KC_SCHED_OK;
}

/* ---- score ---- */

/* Soft constraints, or the system defaults (hostname maxSkew 3, zone maxSkew 5) for pods that
 * declare none and are selected by a Service/ReplicaSet/StatefulSet. */
static kc_sched_spread *soft_constraints(kc_sched_cycle *cy, size_t *n, kc_labelsel **dsel)
{
    *dsel = NULL;
    if (cy->pod->nspread) return pick(cy->pod, false, n);
    *n = 0;
    if (!cy->lk || !cy->lk->default_selector) return NULL;
    *dsel = cy->lk->default_selector(cy->lk->ud, cy->pod);
    if (!*dsel || kc_labelsel_empty(*dsel)) return NULL;
    kc_sched_spread *c = xcalloc(2, sizeof *c);
    c[0] = (kc_sched_spread){3, 1, (char *)HOSTNAME, false, *dsel, true, false};
    c[1] = (kc_sched_spread){5, 1, (char *)"topology.kubernetes.io/zone", false, *dsel, true, false};
    *n = 2;
    return c;
}

typedef struct soft {
    kc_sched_spread *c;
    size_t nc;
    bool require_all;
    kc_sched_counts *counts; /* per constraint: value -> pods */
    double *weight;
    bool *ignored; /* per feasible node */
} soft;

static void soft_init(kc_sched_cycle *cy, soft *s, kc_sched_node **nodes, size_t n)
{
    s->counts = xcalloc(s->nc, sizeof *s->counts);
    s->weight = xcalloc(s->nc, sizeof *s->weight);
    s->ignored = xcalloc(n + 1, sizeof *s->ignored);
    size_t nignored = 0, *size = xcalloc(s->nc, sizeof *size);
    for (size_t i = 0; i < n; i++) {
        if (s->require_all && !has_keys(nodes[i], s->c, s->nc)) {
            s->ignored[i] = true, nignored++;
            continue;
        }
        for (size_t k = 0; k < s->nc; k++) {
            const char *v = kc_sched_node_label(nodes[i], s->c[k].key) ?: "";
            bool found;
            if (strcmp(s->c[k].key, HOSTNAME) &&
                (kc_sched_counts_get(&s->counts[k], NULL, v, &found), !found)) {
                kc_sched_counts_add(&s->counts[k], NULL, v, 0);
                size[k]++;
            }
        }
    }
    for (size_t k = 0; k < s->nc; k++)
        s->weight[k] = log((double)(strcmp(s->c[k].key, HOSTNAME) ? size[k] : n - nignored) + 2);
    free(size);
    for (size_t i = 0; i < cy->cache->n; i++) {
        kc_sched_node *nd = cy->cache->list[i];
        if (s->require_all && !has_keys(nd, s->c, s->nc)) continue;
        for (size_t k = 0; k < s->nc; k++) {
            const char *v = kc_sched_node_label(nd, s->c[k].key) ?: "";
            bool found;
            if (!strcmp(s->c[k].key, HOSTNAME) || !policies_ok(cy->pod, &s->c[k], nd)) continue;
            kc_sched_counts_get(&s->counts[k], NULL, v, &found);
            if (found)
                kc_sched_counts_add(&s->counts[k], NULL, v, count_matching(nd, s->c[k].sel, cy->pod->ns));
        }
    }
}

static int64_t soft_node(kc_sched_cycle *cy, soft *s, const kc_sched_node *n)
{
    double score = 0;
    for (size_t k = 0; k < s->nc; k++) {
        const char *v = kc_sched_node_label(n, s->c[k].key);
        if (!v) continue;
        int64_t cnt = strcmp(s->c[k].key, HOSTNAME) ? kc_sched_counts_get(&s->counts[k], NULL, v, NULL)
                                                    : count_matching(n, s->c[k].sel, cy->pod->ns);
        score += (double)cnt * s->weight[k] + (double)(s->c[k].max_skew - 1);
    }
    return (int64_t)llround(score);
}

void kc_sched_spread_score(kc_sched_cycle *cy, kc_sched_node **nodes, size_t n, int64_t *out)
{
    soft s = {0};
    kc_labelsel *dsel;
    s.c = soft_constraints(cy, &s.nc, &dsel);
    memset(out, 0, n * sizeof *out);
    if (s.nc) {
        s.require_all = cy->pod->nspread > 0;
        soft_init(cy, &s, nodes, n);
        int64_t lo = INT64_MAX, hi = 0;
        for (size_t i = 0; i < n; i++) {
            if (s.ignored[i]) continue;
            out[i] = soft_node(cy, &s, nodes[i]);
            lo = out[i] < lo ? out[i] : lo;
            hi = out[i] > hi ? out[i] : hi;
        }
        for (size_t i = 0; i < n; i++)
            out[i] = s.ignored[i] ? 0
                     : hi == 0    ? KC_SCHED_MAX_SCORE
                                  : KC_SCHED_MAX_SCORE * (hi + lo - out[i]) / hi;
        for (size_t k = 0; k < s.nc; k++)
            kc_sched_counts_release(&s.counts[k]);
    }
    free(s.counts), free(s.weight), free(s.ignored), free(s.c);
    kc_labelsel_free(dsel);
}
