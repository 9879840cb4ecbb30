/* Workqueue (see workqueue.h): FIFO of keys + dirty/processing sets, a heap of delayed adds,
 * and per-key failure counts for exponential backoff. One mutex; idle workers wait on cv, and at
 * most one of them (the timer waiter) sleeps on tcv until the earliest delayed add is due, so a
 * due key wakes one thread, not every idle worker. */
#include "client/workqueue.h"
#include "lib/clock.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <time.h>

typedef struct delayed {
    uint64_t when;
    char *key;
} delayed;

struct kc_wq {
    char *name;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* idle workers */
    pthread_cond_t tcv; /* the timer waiter, if any */
    bool timer_waiter;
    int idle; /* workers waiting on cv */
    char **fifo; /* ring buffer of keys (owned) */
    size_t head, len, cap;
    kc_map dirty, processing; /* key -> owned copy of the key */
    kc_map failures;          /* key -> (owned struct) */
    delayed *heap;
    size_t nheap, capheap;
    bool down;
};

typedef struct failure {
    char *key;
    int n;
} failure;

kc_wq *kc_wq_new(const char *name)
{
    kc_wq *q = xcalloc(1, sizeof *q);
    q->name = xstrdup(name);
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &a);
    pthread_cond_init(&q->tcv, &a);
    return q;
}

static void set_put(kc_map *m, const char *key)
{
    char *k = xstrdup(key);
    free(kc_map_put(m, k, k));
}

static void set_del(kc_map *m, const char *key)
{
    free(kc_map_del(m, key));
}

static void set_release(kc_map *m)
{
    void *v;
    for (size_t it = 0; kc_map_next(m, &it, NULL, &v);) free(v);
    kc_map_release(m);
}

void kc_wq_free(kc_wq *q)
{
    if (!q) return;
    for (size_t i = 0; i < q->len; i++) free(q->fifo[(q->head + i) % q->cap]);
    free(q->fifo);
    for (size_t i = 0; i < q->nheap; i++) free(q->heap[i].key);
    free(q->heap);
    set_release(&q->dirty);
    set_release(&q->processing);
    void *v;
    for (size_t it = 0; kc_map_next(&q->failures, &it, NULL, &v);) {
        free(((failure *)v)->key);
        free(v);
    }
    kc_map_release(&q->failures);
    free(q->name);
    free(q);
}

static void fifo_push(kc_wq *q, const char *key)
{
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        char **n = xcalloc(ncap, sizeof *n);
        for (size_t i = 0; i < q->len; i++) n[i] = q->fifo[(q->head + i) % q->cap];
        free(q->fifo);
        q->fifo = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->fifo[(q->head + q->len++) % q->cap] = xstrdup(key);
}

static char *fifo_pop(kc_wq *q)
{
    char *k = q->fifo[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return k;
}

/* A key was queued: wake an idle worker, or the timer waiter when no other worker is idle. */
static void wake_one(kc_wq *q)
{
    if (q->idle)
        pthread_cond_signal(&q->cv);
    else if (q->timer_waiter)
        pthread_cond_signal(&q->tcv);
}

/* add() with the lock held. */
static void add_locked(kc_wq *q, const char *key)
{
    if (q->down || kc_map_get(&q->dirty, key)) return;
    set_put(&q->dirty, key);
    if (kc_map_get(&q->processing, key)) return;
    fifo_push(q, key);
    wake_one(q);
}

void kc_wq_add(kc_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    add_locked(q, key);
    pthread_mutex_unlock(&q->mu);
}

static void heap_push(kc_wq *q, uint64_t when, const char *key)
{
    if (q->nheap == q->capheap) q->heap = xrealloc(q->heap, (q->capheap = q->capheap ? q->capheap * 2 : 16) * sizeof *q->heap);
    size_t i = q->nheap++;
    q->heap[i] = (delayed){when, xstrdup(key)};
    while (i && q->heap[(i - 1) / 2].when > q->heap[i].when) {
        delayed t = q->heap[i];
        q->heap[i] = q->heap[(i - 1) / 2];
        q->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static delayed heap_pop(kc_wq *q)
{
    delayed top = q->heap[0];
    q->heap[0] = q->heap[--q->nheap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->nheap && q->heap[l].when < q->heap[m].when) m = l;
        if (r < q->nheap && q->heap[r].when < q->heap[m].when) m = r;
        if (m == i) break;
        delayed t = q->heap[i];
        q->heap[i] = q->heap[m];
        q->heap[m] = t;
        i = m;
    }
    return top;
}

void kc_wq_add_after(kc_wq *q, const char *key, uint64_t delay_ms)
{
    if (!delay_ms) {
        kc_wq_add(q, key);
        return;
    }
    pthread_mutex_lock(&q->mu);
    if (!q->down) {
        uint64_t when = kc_mono_ms() + delay_ms;
        bool first = !q->nheap || when < q->heap[0].when;
        heap_push(q, when, key);
        /* a new earliest deadline: the timer waiter re-arms, or an idle worker becomes it */
        if (first) pthread_cond_signal(q->timer_waiter ? &q->tcv : &q->cv);
    }
    pthread_mutex_unlock(&q->mu);
}

void kc_wq_add_rate_limited(kc_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    failure *f = kc_map_get(&q->failures, key);
    if (!f) {
        f = xcalloc(1, sizeof *f);
        f->key = xstrdup(key);
        kc_map_put(&q->failures, f->key, f);
    }
    int n = f->n++;
    pthread_mutex_unlock(&q->mu);
    uint64_t delay = n >= 18 ? 1000000 : 5ULL << n; /* 5 ms * 2^n, capped at 1000 s */
    if (delay > 1000000) delay = 1000000;
    kc_wq_add_after(q, key, delay);
}

void kc_wq_forget(kc_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    failure *f = kc_map_del(&q->failures, key);
    if (f) {
        free(f->key);
        free(f);
    }
    pthread_mutex_unlock(&q->mu);
}

int kc_wq_requeues(kc_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    failure *f = kc_map_get(&q->failures, key);
    int n = f ? f->n : 0;
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void promote_due(kc_wq *q)
{
    uint64_t now = kc_mono_ms();
    while (q->nheap && q->heap[0].when <= now) {
        delayed d = heap_pop(q);
        add_locked(q, d.key);
        free(d.key);
    }
}

char *kc_wq_get(kc_wq *q)
{
    pthread_mutex_lock(&q->mu);
    for (;;) {
        promote_due(q);
        if (q->len || q->down) break;
        if (q->nheap && !q->timer_waiter) {
            uint64_t when = q->heap[0].when;
            struct timespec ts = {(time_t)(when / 1000), (long)(when % 1000) * 1000000};
            q->timer_waiter = true;
            pthread_cond_timedwait(&q->tcv, &q->mu, &ts);
            q->timer_waiter = false;
            /* keys it promotes signal cv: a woken idle worker then takes over the timer */
        } else {
            q->idle++;
            pthread_cond_wait(&q->cv, &q->mu);
            q->idle--;
        }
    }
    char *key = NULL;
    if (q->len) {
        key = fifo_pop(q);
        set_put(&q->processing, key);
        set_del(&q->dirty, key);
    }
    pthread_mutex_unlock(&q->mu);
    return key;
}

void kc_wq_done(kc_wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    set_del(&q->processing, key);
    if (kc_map_get(&q->dirty, key)) {
        fifo_push(q, key);
        wake_one(q);
    }
    pthread_mutex_unlock(&q->mu);
}

void kc_wq_shutdown(kc_wq *q)
{
    pthread_mutex_lock(&q->mu);
    q->down = true;
    pthread_cond_broadcast(&q->cv);
    pthread_cond_broadcast(&q->tcv);
    pthread_mutex_unlock(&q->mu);
}

size_t kc_wq_len(kc_wq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}
