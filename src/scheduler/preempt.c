/* PostFilter: DefaultPreemption. When no node fits, look for a node where evicting pods of lower
 * priority would make room, and explain in upstream's words when there is none:
 *
 *   preemptionPolicy Never          -> "preemption: not eligible due to preemptionPolicy=Never."
 *   a lower-priority pod is already terminating on the pod's nominated node
 *                                   -> "preemption: not eligible due to a terminating pod on the
 *                                       nominated node."
 *   each node that failed for a resolvable reason (resources, ports, spread, anti-affinity):
 *       no lower-priority pods      -> "No preemption victims found for incoming pod"
 *       fits not even without them  -> the filters' reasons
 *       fits                        -> a candidate, with the fewest victims: all lower-priority
 *                                      pods removed, then put back most important first while
 *                                      the pod still fits
 *   other nodes                     -> "Preemption is not helpful for scheduling"
 *
 * e.g. "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
 * The best candidate (lowest highest-priority victim, then lowest priority sum, then fewest
 * victims) goes to ctx->preempt, which evicts the victims and nominates the node; the message
 * then has no preemption part. Simplifications: PodDisruptionBudgets are not weighed, and the
 * spread/inter-pod affinity counts are not recomputed for the removed pods. */
#include "lib/buf.h"
#include "lib/xalloc.h"
#include "scheduler/sched.h"

static const char NOT_HELPFUL[] = "Preemption is not helpful for scheduling";
static const char NO_VICTIMS[] = "No preemption victims found for incoming pod";

typedef struct cand {
    kc_sched_node *node;
    kc_sched_pod **victims;
    size_t nv;
    int32_t top; /* highest victim priority */
    int64_t sum; /* Σ (priority + 2^31), so that negative priorities still add up */
} cand;

static int more_important(const void *a, const void *b)
{
    const kc_sched_pod *x = *(kc_sched_pod *const *)a, *y = *(kc_sched_pod *const *)b;
    return (x->priority < y->priority) - (x->priority > y->priority);
}

/* Reprieves pot[] (sorted, all currently off the node) most important first while the pod still
 * fits; the rest become c's victims. Everything is back on the node afterwards. */
static void reprieve(kc_sched_cycle *cy, kc_sched_node *n, kc_sched_pod **pot, size_t np, cand *c)
{
    kc_sched_status tmp;
    c->victims = xcalloc(np, sizeof *c->victims);
    for (size_t i = 0; i < np; i++) {
        kc_sched_node_add_pod(n, pot[i]);
        if (kc_sched_filter_all(cy, n, &tmp) == KC_SCHED_OK) continue;
        kc_sched_node_remove_pod(n, pot[i]);
        c->victims[c->nv++] = pot[i];
    }
    c->node = n;
    c->top = INT32_MIN;
    for (size_t i = 0; i < c->nv; i++) {
        kc_sched_node_add_pod(n, c->victims[i]);
        if (c->victims[i]->priority > c->top) c->top = c->victims[i]->priority;
        c->sum += (int64_t)c->victims[i]->priority + 2147483648LL;
    }
}

/* SelectVictimsOnNode: KC_SCHED_OK with c filled, or the node's status in st. */
static int select_victims(kc_sched_cycle *cy, kc_sched_node *n, kc_sched_status *st, cand *c)
{
    kc_sched_pod **pot = kc_sched_array(n->npods, sizeof *pot);
    size_t np = 0;
    for (size_t i = 0; i < n->npods; i++)
        if (n->pods[i]->priority < cy->pod->priority) pot[np++] = n->pods[i];
    int rc = KC_SCHED_UNRESOLVABLE;
    if (!np) {
        *st = (kc_sched_status){KC_SCHED_UNRESOLVABLE, 1, {NO_VICTIMS}};
    } else {
        for (size_t i = 0; i < np; i++)
            kc_sched_node_remove_pod(n, pot[i]);
        rc = kc_sched_filter_all(cy, n, st);
        if (rc == KC_SCHED_OK) {
            qsort(pot, np, sizeof *pot, more_important);
            reprieve(cy, n, pot, np, c);
        } else {
            for (size_t i = 0; i < np; i++)
                kc_sched_node_add_pod(n, pot[i]);
        }
    }
    free(pot);
    return rc;
}

static bool better(const cand *c, const cand *best)
{
    if (!best->node || c->top != best->top) return !best->node || c->top < best->top;
    if (c->sum != best->sum) return c->sum < best->sum;
    return c->nv < best->nv;
}

/* PodEligibleToPreemptOthers: not while a lower-priority pod on the nominated node terminates
 * (unless that node can no longer work for the pod at all). */
static bool waiting_on_nominated(kc_sched_ctx *ctx, const kc_sched_pod *p, kc_sched_node **failed,
                                 const kc_sched_status *st, size_t n)
{
    kc_sched_node *nn = p->nominated[0] ? kc_sched_cache_node(ctx->cache, p->nominated) : NULL;
    if (!nn) return false;
    for (size_t i = 0; i < n; i++)
        if (failed[i] == nn && st[i].code == KC_SCHED_UNRESOLVABLE) return false;
    for (size_t i = 0; i < nn->npods; i++)
        if (nn->pods[i]->deleting && nn->pods[i]->priority < p->priority) return true;
    return false;
}

static char *no_candidates(size_t all, kc_sched_status *out, size_t nst)
{
    for (size_t i = nst; i < all; i++)
        out[i] = (kc_sched_status){KC_SCHED_UNRESOLVABLE, 1, {NOT_HELPFUL}};
    char *fit = kc_sched_fit_message(all, out, all);
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "preemption: %s", fit);
    free(fit);
    return kc_buf_take(&b);
}

char *kc_sched_preempt(kc_sched_ctx *ctx, kc_sched_cycle *cy, kc_sched_node **failed,
                       const kc_sched_status *st, size_t n)
{
    kc_sched_pod *p = cy->pod;
    if (p->preempt_never) return xstrdup("preemption: not eligible due to preemptionPolicy=Never.");
    if (waiting_on_nominated(ctx, p, failed, st, n))
        return xstrdup("preemption: not eligible due to a terminating pod on the nominated node.");
    size_t all = ctx->cache->n, nst = 0, npot = 0, ncand = 0;
    for (size_t i = 0; i < n; i++)
        npot += st[i].code == KC_SCHED_UNSCHEDULABLE;
    size_t want = npot / 10 > 100 ? npot / 10 : 100; /* minCandidateNodes: 10%, at least 100 */
    kc_sched_status *out = xcalloc(all + 1, sizeof *out);
    cand best = {0};
    for (size_t i = 0; i < n && ncand < want; i++) {
        if (st[i].code != KC_SCHED_UNSCHEDULABLE) continue;
        cand c = {0};
        if (select_victims(cy, failed[i], &out[nst], &c) != KC_SCHED_OK) {
            nst++;
            continue;
        }
        ncand++;
        if (better(&c, &best)) {
            free(best.victims);
            best = c;
        } else {
            free(c.victims);
        }
    }
    char *msg = NULL;
    if (ncand) {
        if (ctx->preempt) ctx->preempt(ctx->preempt_ud, p, best.node, best.victims, best.nv);
    } else {
        msg = no_candidates(all, out, nst);
    }
    free(best.victims);
    free(out);
    return msg;
}
