/* One scheduling cycle (schedulePod upstream), on the scheduler thread:
 *
 *   PreFilter (spread, inter-pod affinity counts; required terms naming nodes by metadata.name
 *   narrow the cycle to those nodes, the others "didn't satisfy plugin(s) [NodeAffinity]")
 *   -> a node nominated by an earlier preemption is tried first, and taken if it fits
 *   -> Filter nodes round-robin from where the last cycle stopped, until enough are feasible
 *      (percentageOfNodesToScore, adaptive: 50% - nodes/125, at least 5%, at least 100 nodes)
 *   -> none feasible: "0/N nodes are available: <reason counts>." + PostFilter (preempt.c)
 *   -> one feasible: chosen without scoring
 *   -> else Score, and pick the highest total, ties broken at random (reservoir sampling).
 *
 * Example: 5000 nodes -> 50 - 40 = 10% -> a cycle stops after 500 feasible nodes. */
#include "lib/buf.h"
#include "lib/xalloc.h"
#include "scheduler/sched.h"

void kc_sched_cycle_init(kc_sched_cycle *cy, kc_sched_cache *c, kc_sched_pod *p, const kc_sched_lookup *lk)
{
    memset(cy, 0, sizeof *cy);
    cy->cache = c;
    cy->pod = p;
    cy->lk = lk;
    if (lk && lk->ns_labels) cy->ns_labels = lk->ns_labels(lk->ud, p->ns);
    kc_sched_spread_prefilter(cy);
    kc_sched_affinity_prefilter(cy);
    if (lk && lk->volumes) kc_sched_volume_prefilter(cy);
}

void kc_sched_cycle_release(kc_sched_cycle *cy)
{
    json_decref(cy->ns_labels);
    kc_sched_counts_release(&cy->existing_anti);
    kc_sched_counts_release(&cy->aff_counts);
    kc_sched_counts_release(&cy->anti_counts);
    for (size_t i = 0; i < cy->nspread; i++)
        kc_sched_counts_release(&cy->spread[i].counts);
    free(cy->spread);
    kc_sched_vstate_free(cy->vol);
    free(cy->prefilter_msg);
}

int kc_sched_filter_all(kc_sched_cycle *cy, const kc_sched_node *n, kc_sched_status *st)
{
    int rc = kc_sched_filter_node(cy->pod, n, st);
    if (rc == KC_SCHED_OK && cy->vol) rc = kc_sched_volume_filter(cy, n, st);
    if (rc == KC_SCHED_OK && cy->nspread) rc = kc_sched_spread_filter(cy, n, st);
    if (rc == KC_SCHED_OK) rc = kc_sched_affinity_filter(cy, n, st);
    return rc;
}

size_t kc_sched_num_feasible_to_find(size_t nodes)
{
    if (nodes < 100) return nodes;
    long pct = 50 - (long)nodes / 125;
    if (pct < 5) pct = 5;
    size_t n = nodes * (size_t)pct / 100;
    return n < 100 ? 100 : n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct reason_count {
    const char *reason;
    size_t n;
} reason_count;

/* FitError.Error(): reasons counted over the failed nodes, "<count> <reason>" sorted as strings. */
char *kc_sched_fit_message(size_t all, const kc_sched_status *st, size_t n)
{
    reason_count *rc = NULL;
    size_t nrc = 0, cap = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < st[i].n; k++) {
            size_t j = 0;
            while (j < nrc && strcmp(rc[j].reason, st[i].reasons[k]))
                j++;
            if (j == nrc) {
                if (nrc == cap) rc = xrealloc(rc, (cap = cap * 2 + 8) * sizeof *rc);
                rc[nrc++] = (reason_count){st[i].reasons[k], 0};
            }
            rc[j].n++;
        }
    char **parts = xcalloc(nrc + 1, sizeof *parts);
    for (size_t j = 0; j < nrc; j++) {
        kc_buf b = KC_BUF_INIT;
        kc_buf_addf(&b, "%zu %s", rc[j].n, rc[j].reason);
        parts[j] = kc_buf_take(&b);
    }
    qsort(parts, nrc, sizeof *parts, cmp_str);
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "0/%zu nodes are available:", all);
    for (size_t j = 0; j < nrc; j++)
        kc_buf_addf(&b, "%s%s", j ? ", " : " ", parts[j]), free(parts[j]);
    if (nrc) kc_buf_adds(&b, ".");
    free(parts);
    free(rc);
    return kc_buf_take(&b);
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return *s = x;
}

static kc_sched_node *select_host(kc_sched_ctx *ctx, kc_sched_cycle *cy, kc_sched_node **feasible, size_t n)
{
    int64_t *total = xcalloc(n, sizeof *total), best = INT64_MIN;
    kc_sched_score_nodes(cy, feasible, n, total);
    kc_sched_node *chosen = NULL;
    size_t ties = 0;
    for (size_t i = 0; i < n; i++) {
        if (total[i] > best) best = total[i], ties = 0;
        if (total[i] == best && rnd(&ctx->rng) % ++ties == 0) chosen = feasible[i];
    }
    free(total);
    return chosen;
}

/* nst >= nfailed: statuses past the failed nodes are for nodes never evaluated. */
static void unschedulable(kc_sched_ctx *ctx, kc_sched_cycle *cy, kc_sched_node **failed, kc_sched_status *st,
                          size_t nfailed, size_t nst, kc_sched_result *r)
{
    char *fit = kc_sched_fit_message(ctx->cache->n, st, nst);
    char *post = ctx->post_filter ? ctx->post_filter(ctx, cy, failed, st, nfailed) : NULL;
    if (post && *post) {
        kc_buf b = KC_BUF_INIT;
        kc_buf_addf(&b, "%s %s", fit, post);
        free(fit);
        fit = kc_buf_take(&b);
    }
    free(post);
    r->message = fit;
}

/* A pod nominated by an earlier preemption tries that node first (evaluateNominatedNode). */
static bool nominated_fits(kc_sched_cycle *cy, kc_sched_pod *p, kc_sched_result *r)
{
    kc_sched_node *n = p->nominated[0] ? kc_sched_cache_node(cy->cache, p->nominated) : NULL;
    kc_sched_status st;
    if (!n || !n->obj || kc_sched_filter_all(cy, n, &st) != KC_SCHED_OK) return false;
    r->node = n;
    r->evaluated = r->feasible = 1;
    return true;
}

static const char NOT_NAMED[] = "node(s) didn't satisfy plugin(s) [NodeAffinity]";

/* The node a required term names (matchFields metadata.name In), "" when its fields conflict,
 * NULL when it names none. */
static const char *term_name(const kc_sched_nterm *t)
{
    const char *name = NULL;
    for (size_t k = 0; k < t->nfields; k++) {
        const kc_sched_req *f = &t->fields[k];
        if (f->op != KC_SCHED_OP_IN || strcmp(f->key, "metadata.name")) continue;
        if (name && strcmp(name, f->values[0])) return "";
        name = f->values[0];
    }
    return name;
}

/* NodeAffinity's PreFilter: when every required term names its node (as DaemonSet pods do),
 * only the named nodes are evaluated. Returns false when all nodes are candidates; else fills
 * out (owned) and sets *conflict when the terms name no node at all. */
static bool named_nodes(kc_sched_cache *c, const kc_sched_pod *p, kc_sched_node ***out, size_t *n,
                        bool *conflict)
{
    *n = 0, *conflict = false, *out = NULL;
    if (!p->has_req_affinity || !p->nreq_terms) return false;
    kc_sched_node **v = xcalloc(p->nreq_terms, sizeof *v);
    bool named = false;
    for (size_t i = 0; i < p->nreq_terms; i++) {
        const char *name = term_name(&p->req_terms[i]);
        if (!name) {
            free(v);
            return false;
        }
        named |= name[0] != 0;
        kc_sched_node *node = name[0] ? kc_sched_cache_node(c, name) : NULL;
        bool dup = false;
        for (size_t k = 0; k < *n; k++)
            dup |= v[k] == node;
        if (node && node->obj && !dup) v[(*n)++] = node;
    }
    *conflict = !named;
    *out = v;
    return true;
}

static void grow_scratch(kc_sched_ctx *ctx, size_t n)
{
    if (ctx->scratch_cap >= n) return;
    ctx->scratch_cap = n * 2;
    ctx->feasible = xrealloc(ctx->feasible, ctx->scratch_cap * sizeof *ctx->feasible);
    ctx->failed = xrealloc(ctx->failed, ctx->scratch_cap * sizeof *ctx->failed);
    ctx->st = xrealloc(ctx->st, ctx->scratch_cap * sizeof *ctx->st);
}

/* Filters the candidates (round-robin from ctx->next_start unless named) until want fit. */
static void find_feasible(kc_sched_ctx *ctx, kc_sched_cycle *cy, kc_sched_node **cand, size_t ncand,
                          bool named, kc_sched_result *r, size_t *nfail)
{
    size_t want = named ? ncand : kc_sched_num_feasible_to_find(ncand), start = named ? 0 : ctx->next_start,
           i;
    size_t nf = 0;
    *nfail = 0;
    for (i = 0; i < ncand && nf < want; i++) {
        kc_sched_node *n = cand[(start + i) % ncand];
        if (kc_sched_filter_all(cy, n, &ctx->st[*nfail]) == KC_SCHED_OK)
            ctx->feasible[nf++] = n;
        else
            ctx->failed[(*nfail)++] = n;
    }
    if (!named) ctx->next_start = (ctx->next_start + i) % ncand;
    r->evaluated = i, r->feasible = nf;
}

void kc_sched_schedule(kc_sched_ctx *ctx, kc_sched_pod *p, kc_sched_result *r)
{
    kc_sched_cache *c = ctx->cache;
    memset(r, 0, sizeof *r);
    if (!c->n) {
        r->message = xstrdup("no nodes available to schedule pods");
        return;
    }
    kc_sched_cycle cy;
    kc_sched_cycle_init(&cy, c, p, ctx->lk);
    kc_sched_node **named_v;
    size_t nnamed, nfail;
    bool conflict, named = named_nodes(c, p, &named_v, &nnamed, &conflict);
    grow_scratch(ctx, c->n + 1);
    if (conflict || cy.prefilter_msg) { /* a PreFilter rejected the pod: no node is evaluated */
        char *post = ctx->post_filter ? ctx->post_filter(ctx, &cy, NULL, NULL, 0) : NULL;
        kc_buf b = KC_BUF_INIT;
        kc_buf_addf(&b, "0/%zu nodes are available: %s.%s%s", c->n,
                    cy.prefilter_msg ? cy.prefilter_msg : "pod affinity terms conflict", post ? " " : "",
                    post ? post : "");
        r->message = kc_buf_take(&b);
        free(post);
    } else if (!nominated_fits(&cy, p, r)) {
        find_feasible(ctx, &cy, named ? named_v : c->list, named ? nnamed : c->n, named, r, &nfail);
        if (!r->feasible) {
            for (size_t i = nfail; named && i < c->n; i++)
                ctx->st[i] = (kc_sched_status){KC_SCHED_UNRESOLVABLE, 1, {NOT_NAMED}};
            unschedulable(ctx, &cy, ctx->failed, ctx->st, nfail, named ? c->n : nfail, r);
        } else {
            r->node = r->feasible == 1 ? ctx->feasible[0] : select_host(ctx, &cy, ctx->feasible, r->feasible);
        }
    }
    free(named_v);
    kc_sched_cycle_release(&cy);
}

void kc_sched_ctx_release(kc_sched_ctx *ctx)
{
    free(ctx->feasible), free(ctx->failed), free(ctx->st);
    ctx->feasible = ctx->failed = NULL, ctx->st = NULL, ctx->scratch_cap = 0;
}
