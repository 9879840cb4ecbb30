/* Score plugins and their default weights (each plugin's score is normalized to 0..100):
 *
 *   TaintToleration     3  fewer untolerated PreferNoSchedule taints     (reverse normalize)
 *   NodeAffinity        2  Σ weights of matching preferred terms         (normalize by max)
 *   PodTopologySpread   2  soft constraints / cluster defaults           (spread.c)
 *   InterPodAffinity    2  preferred (anti-)affinity, symmetric terms    (affinity.c)
 *   NodeResourcesFit    1  LeastAllocated over cpu and memory, non-zero requests
 *   BalancedAllocation  1  1 - |cpu fraction - memory fraction| / 2, actual requests
 *
 * Example (LeastAllocated): node 4 cpu / 8Gi with 1 cpu / 2Gi requested, pod 1 cpu / 2Gi:
 * cpu (4-2)*100/4 = 50, memory (8-4)*100/8 = 50, score (50+50)/2 = 50. */
#include "lib/xalloc.h"
#include "scheduler/sched.h"
#include <math.h>

static int64_t least(int64_t requested, int64_t cap)
{
    if (cap == 0 || requested > cap) return 0;
    return (cap - requested) * KC_SCHED_MAX_SCORE / cap;
}

int64_t kc_sched_score_least_allocated(const kc_sched_pod *p, const kc_sched_node *n)
{
    int64_t sum = 0, w = 0;
    if (n->alloc.milli_cpu)
        sum += least(n->nonzero.milli_cpu + p->nonzero.milli_cpu, n->alloc.milli_cpu), w++;
    if (n->alloc.memory) sum += least(n->nonzero.memory + p->nonzero.memory, n->alloc.memory), w++;
    return w ? sum / w : 0;
}

static double fraction(int64_t requested, int64_t cap)
{
    double f = (double)requested / (double)cap;
    return f > 1 ? 1 : f;
}

int64_t kc_sched_score_balanced(const kc_sched_pod *p, const kc_sched_node *n)
{
    double f[2];
    int k = 0;
    if (n->alloc.milli_cpu) f[k++] = fraction(n->requested.milli_cpu + p->req.milli_cpu, n->alloc.milli_cpu);
    if (n->alloc.memory) f[k++] = fraction(n->requested.memory + p->req.memory, n->alloc.memory);
    double std = k == 2 ? fabs((f[0] - f[1]) / 2) : 0;
    return (int64_t)((1 - std) * KC_SCHED_MAX_SCORE);
}

int64_t kc_sched_score_taints(const kc_sched_pod *p, const kc_sched_node *n)
{
    int64_t c = 0;
    for (size_t i = 0; i < n->ntaints; i++) {
        const kc_sched_taint *t = &n->taints[i];
        if (t->effect != KC_SCHED_PREFER) continue;
        bool ok = false;
        for (size_t k = 0; k < p->ntols && !ok; k++)
            if (!p->tols[k].effect || p->tols[k].effect == KC_SCHED_PREFER)
                ok = kc_sched_tolerates(&p->tols[k], 1, t);
        c += !ok;
    }
    return c;
}

int64_t kc_sched_score_node_affinity(const kc_sched_pod *p, const kc_sched_node *n)
{
    int64_t s = 0;
    for (size_t i = 0; i < p->npref_terms; i++)
        if (p->pref_terms[i].weight && kc_sched_nterm_matches(&p->pref_terms[i], n))
            s += p->pref_terms[i].weight;
    return s;
}

void kc_sched_normalize(int64_t *s, size_t n, bool reverse)
{
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = s[i] > max ? s[i] : max;
    for (size_t i = 0; i < n; i++) {
        int64_t v = max ? KC_SCHED_MAX_SCORE * s[i] / max : 0;
        s[i] = reverse ? KC_SCHED_MAX_SCORE - v : v;
    }
}

typedef int64_t (*node_score_fn)(const kc_sched_pod *, const kc_sched_node *);

static void add_plugin(kc_sched_cycle *cy, kc_sched_node **nodes, size_t n, int64_t *tmp, int64_t *total,
                       node_score_fn fn, int mode, int64_t weight)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = fn(cy->pod, nodes[i]);
    if (mode) kc_sched_normalize(tmp, n, mode < 0);
    for (size_t i = 0; i < n; i++)
        total[i] += tmp[i] * weight;
}

void kc_sched_score_nodes(kc_sched_cycle *cy, kc_sched_node **nodes, size_t n, int64_t *total)
{
    kc_sched_pod *p = cy->pod;
    int64_t *tmp = xcalloc(n + 1, sizeof *tmp);
    add_plugin(cy, nodes, n, tmp, total, kc_sched_score_taints, -1, 3);
    if (p->npref_terms) add_plugin(cy, nodes, n, tmp, total, kc_sched_score_node_affinity, 1, 2);
    kc_sched_spread_score(cy, nodes, n, tmp);
    for (size_t i = 0; i < n; i++)
        total[i] += tmp[i] * 2;
    kc_sched_affinity_score(cy, nodes, n, tmp);
    for (size_t i = 0; i < n; i++)
        total[i] += tmp[i] * 2;
    add_plugin(cy, nodes, n, tmp, total, kc_sched_score_least_allocated, 0, 1);
    if (p->req.milli_cpu || p->req.memory)
        add_plugin(cy, nodes, n, tmp, total, kc_sched_score_balanced, 0, 1);
    free(tmp);
}
