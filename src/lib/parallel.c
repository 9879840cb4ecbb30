/* kc_parallel (see parallel.h): workers take the next index from a shared atomic counter. */
#include "lib/parallel.h"
#include <pthread.h>
#include <stdlib.h>

typedef struct par {
    size_t n, next;
    void (*fn)(void *ctx, size_t i);
    void *ctx;
} par;

static void *par_run(void *p)
{
    par *w = p;
    size_t i;
    while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) < w->n)
        w->fn(w->ctx, i);
    return NULL;
}

void kc_parallel(size_t n, size_t max_threads, void (*fn)(void *ctx, size_t i), void *ctx)
{
    par w = {n, 0, fn, ctx};
    size_t nt = n < max_threads ? n : max_threads, started = 0;
    pthread_t *t = nt > 1 ? malloc((nt - 1) * sizeof *t) : NULL;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (size_t i = 1; t && i < nt; i++)
        if (pthread_create(&t[started], &attr, par_run, &w) == 0) started++;
    pthread_attr_destroy(&attr);
    par_run(&w);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
}
