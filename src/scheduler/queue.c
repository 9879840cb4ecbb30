/* The scheduling queue (upstream's PriorityQueue), owned by the scheduler thread:
 *
 *   set (new, ungated) ---------------------------------------------> activeQ
 *   set (new, schedulingGates) -> gated --set without gates----------> activeQ
 *   activeQ --pop--> in flight --done--> (assumed; leaves the queue)
 *                              --failed (unschedulable)--> unschedulable
 *                              --failed (error)----------> backoffQ
 *   unschedulable --move_all (node added/changed, pod deleted), flush (5 min), spec change-->
 *       backoffQ while its backoff runs, else activeQ
 *   backoffQ --backoff expired (checked by pop)--> activeQ
 *
 * activeQ orders by priority (higher first), then by time queued; backoff after n failed
 * attempts is initial × 2^(n-1), capped at max (1 s, 2 s, 4 s, 8 s, 10 s, 10 s...). */
#include "lib/xalloc.h"
#include "lib/clock.h"
#include "scheduler/sched.h"
#include <time.h>

typedef struct qent {
    kc_sched_pod *pod;
    int where, attempts;
    uint64_t ts, seq, unsched_ts, expiry;
    size_t idx; /* in its heap or the unschedulable array */
} qent;

typedef struct heap {
    qent **v;
    size_t n, cap;
    bool (*less)(const qent *, const qent *);
} heap;

struct kc_sched_queue {
    kc_map ents; /* pod key -> qent */
    heap active, backoff;
    qent **unsched;
    size_t nunsched, cap_unsched, ngated, ninflight;
    uint64_t initial, max, seq;
};

static bool active_less(const qent *a, const qent *b)
{
    if (a->pod->priority != b->pod->priority) return a->pod->priority > b->pod->priority;
    return a->ts != b->ts ? a->ts < b->ts : a->seq < b->seq;
}

static bool backoff_less(const qent *a, const qent *b)
{
    return a->expiry != b->expiry ? a->expiry < b->expiry : a->seq < b->seq;
}

/* ---- binary heap with positions kept in qent.idx ---- */

static void hswap(heap *h, size_t i, size_t j)
{
    qent *t = h->v[i];
    h->v[i] = h->v[j], h->v[j] = t;
    h->v[i]->idx = i, h->v[j]->idx = j;
}

static void hup(heap *h, size_t i)
{
    while (i && h->less(h->v[i], h->v[(i - 1) / 2]))
        hswap(h, i, (i - 1) / 2), i = (i - 1) / 2;
}

static void hdown(heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->less(h->v[l], h->v[m])) m = l;
        if (r < h->n && h->less(h->v[r], h->v[m])) m = r;
        if (m == i) return;
        hswap(h, i, m), i = m;
    }
}

static void hpush(heap *h, qent *e)
{
    if (h->n == h->cap) h->v = xrealloc(h->v, (h->cap = h->cap * 2 + 64) * sizeof *h->v);
    e->idx = h->n;
    h->v[h->n++] = e;
    hup(h, e->idx);
}

static void hremove(heap *h, size_t i)
{
    if (i >= h->n) return;
    hswap(h, i, --h->n);
    if (i < h->n) hdown(h, i), hup(h, i);
}

/* ---- placement ---- */

static void unlink_ent(kc_sched_queue *q, qent *e)
{
    switch (e->where) {
    case KC_SCHED_Q_ACTIVE:
        hremove(&q->active, e->idx);
        break;
    case KC_SCHED_Q_BACKOFF:
        hremove(&q->backoff, e->idx);
        break;
    case KC_SCHED_Q_UNSCHED:
        q->unsched[e->idx] = q->unsched[--q->nunsched];
        q->unsched[e->idx]->idx = e->idx;
        break;
    case KC_SCHED_Q_GATED:
        q->ngated--;
        break;
    case KC_SCHED_Q_INFLIGHT:
        q->ninflight--;
        break;
    }
    e->where = -1;
}

static void place(kc_sched_queue *q, qent *e, int where)
{
    e->where = where;
    e->seq = q->seq++;
    switch (where) {
    case KC_SCHED_Q_ACTIVE:
        hpush(&q->active, e);
        break;
    case KC_SCHED_Q_BACKOFF:
        hpush(&q->backoff, e);
        break;
    case KC_SCHED_Q_UNSCHED:
        if (q->nunsched == q->cap_unsched)
            q->unsched =
                xrealloc(q->unsched, (q->cap_unsched = q->cap_unsched * 2 + 64) * sizeof *q->unsched);
        e->idx = q->nunsched;
        q->unsched[q->nunsched++] = e;
        break;
    case KC_SCHED_Q_GATED:
        q->ngated++;
        break;
    case KC_SCHED_Q_INFLIGHT:
        q->ninflight++;
        break;
    }
}

static uint64_t backoff_ms(kc_sched_queue *q, int attempts)
{
    uint64_t d = q->initial;
    for (int i = 1; i < attempts && d < q->max; i++)
        d *= 2;
    return d < q->max ? d : q->max;
}

/* An unschedulable (or updated) pod goes back: to backoffQ while backing off, else activeQ. */
static void requeue_ent(kc_sched_queue *q, qent *e, uint64_t now)
{
    unlink_ent(q, e);
    e->expiry = e->ts + backoff_ms(q, e->attempts);
    place(q, e, e->attempts && e->expiry > now ? KC_SCHED_Q_BACKOFF : KC_SCHED_Q_ACTIVE);
}

kc_sched_queue *kc_sched_queue_new(uint64_t initial_backoff_ms, uint64_t max_backoff_ms)
{
    kc_sched_queue *q = xcalloc(1, sizeof *q);
    q->initial = initial_backoff_ms;
    q->max = max_backoff_ms;
    q->active.less = active_less;
    q->backoff.less = backoff_less;
    return q;
}

void kc_sched_queue_free(kc_sched_queue *q)
{
    if (!q) return;
    void *v;
    for (size_t it = 0; kc_map_next(&q->ents, &it, NULL, &v);) {
        kc_sched_pod_free(((qent *)v)->pod);
        free(v);
    }
    kc_map_release(&q->ents);
    free(q->active.v), free(q->backoff.v), free(q->unsched);
    free(q);
}

static void replace_pod(kc_sched_queue *q, qent *e, kc_sched_pod *p)
{
    kc_map_del(&q->ents, e->pod->key);
    kc_sched_pod_free(e->pod);
    e->pod = p;
    kc_map_put(&q->ents, p->key, e);
}

void kc_sched_queue_set(kc_sched_queue *q, kc_sched_pod *p, uint64_t now)
{
    qent *e = kc_map_get(&q->ents, p->key);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->pod = p;
        e->ts = now;
        kc_map_put(&q->ents, p->key, e);
        place(q, e, p->gated ? KC_SCHED_Q_GATED : KC_SCHED_Q_ACTIVE);
        return;
    }
    bool changed = e->pod->spec_hash != p->spec_hash;
    replace_pod(q, e, p);
    if (e->where == KC_SCHED_Q_GATED && !p->gated) {
        unlink_ent(q, e);
        place(q, e, KC_SCHED_Q_ACTIVE);
    } else if (e->where == KC_SCHED_Q_UNSCHED && changed) {
        requeue_ent(q, e, now);
    }
}

void kc_sched_queue_remove(kc_sched_queue *q, const char *key)
{
    qent *e = kc_map_get(&q->ents, key);
    if (!e) return;
    unlink_ent(q, e);
    kc_map_del(&q->ents, key);
    kc_sched_pod_free(e->pod);
    free(e);
}

bool kc_sched_queue_has(kc_sched_queue *q, const char *key)
{
    return kc_map_get(&q->ents, key) != NULL;
}

int kc_sched_queue_where(kc_sched_queue *q, const char *key)
{
    qent *e = kc_map_get(&q->ents, key);
    return e ? e->where : -1;
}

kc_sched_pod *kc_sched_queue_pop(kc_sched_queue *q, uint64_t now, uint64_t *wait_ms)
{
    while (q->backoff.n && q->backoff.v[0]->expiry <= now) {
        qent *e = q->backoff.v[0];
        unlink_ent(q, e);
        place(q, e, KC_SCHED_Q_ACTIVE);
    }
    if (!q->active.n) {
        if (wait_ms) *wait_ms = q->backoff.n ? q->backoff.v[0]->expiry - now : UINT64_MAX;
        return NULL;
    }
    qent *e = q->active.v[0];
    unlink_ent(q, e);
    place(q, e, KC_SCHED_Q_INFLIGHT);
    e->attempts++;
    return e->pod;
}

kc_sched_pod *kc_sched_queue_done(kc_sched_queue *q, const char *key)
{
    qent *e = kc_map_get(&q->ents, key);
    if (!e) return NULL;
    unlink_ent(q, e);
    kc_map_del(&q->ents, key);
    kc_sched_pod *p = e->pod;
    free(e);
    return p;
}

void kc_sched_queue_failed(kc_sched_queue *q, const char *key, bool error, uint64_t now)
{
    qent *e = kc_map_get(&q->ents, key);
    if (!e) return;
    unlink_ent(q, e);
    e->ts = e->unsched_ts = now;
    e->expiry = now + backoff_ms(q, e->attempts);
    place(q, e, error ? KC_SCHED_Q_BACKOFF : KC_SCHED_Q_UNSCHED);
}

void kc_sched_queue_requeue(kc_sched_queue *q, kc_sched_pod *p, uint64_t now)
{
    kc_sched_queue_remove(q, p->key);
    qent *e = xcalloc(1, sizeof *e);
    e->pod = p;
    e->attempts = 1;
    e->ts = now;
    e->expiry = now + backoff_ms(q, 1);
    kc_map_put(&q->ents, p->key, e);
    place(q, e, KC_SCHED_Q_BACKOFF);
}

void kc_sched_queue_move_all(kc_sched_queue *q, uint64_t now)
{
    while (q->nunsched)
        requeue_ent(q, q->unsched[q->nunsched - 1], now);
}

void kc_sched_queue_flush(kc_sched_queue *q, uint64_t now, uint64_t max_ms)
{
    for (size_t i = q->nunsched; i-- > 0;) {
        qent *e = q->unsched[i];
        if (e->unsched_ts + max_ms <= now) requeue_ent(q, e, now);
    }
}

size_t kc_sched_queue_len(kc_sched_queue *q, int where)
{
    switch (where) {
    case KC_SCHED_Q_ACTIVE:
        return q->active.n;
    case KC_SCHED_Q_BACKOFF:
        return q->backoff.n;
    case KC_SCHED_Q_UNSCHED:
        return q->nunsched;
    case KC_SCHED_Q_GATED:
        return q->ngated;
    default:
        return q->ninflight;
    }
}
