/* The jansson block cache (see jalloc.h). Size classes follow glibc's chunk sizes: a block's
 * usable size (malloc_usable_size) is 16k + 8 bytes, class k; a request of n bytes is served
 * from the first class whose blocks are at least n bytes. The caching thread pushes the blocks
 * it frees on its lists, up to a cap, and the rest go to free(); other threads use malloc and
 * free as they are. The lists are freed when the thread exits. */
#include "lib/jalloc.h"
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define NCLASS 17          /* usable sizes 24 .. 264 bytes (class 0 stays empty) */
#define KC_JALLOC_CAP 512 /* blocks per class and thread: at most ~1.2 MiB per thread */

typedef struct cache {
    void *head[NCLASS];
    unsigned n[NCLASS];
    bool enabled;
} cache;

static __thread cache tc;
static pthread_key_t exit_key;

static void drain(void *unused)
{
    (void)unused;
    tc.enabled = false; /* frees during the rest of the thread's exit go straight to free() */
    for (int k = 0; k < NCLASS; k++) {
        while (tc.head[k]) {
            void *p = tc.head[k];
            tc.head[k] = *(void **)p;
            free(p);
        }
        tc.n[k] = 0;
    }
}

static void *jalloc(size_t n)
{
    size_t k = n <= 24 ? 1 : (n - 8 + 15) / 16; /* glibc's smallest block has 24 usable bytes */
    if (k < NCLASS && tc.head[k]) {
        void *p = tc.head[k];
        tc.head[k] = *(void **)p;
        tc.n[k]--;
        return p;
    }
    return malloc(n);
}

static void jfree(void *p)
{
    if (!p) return;
    size_t u = malloc_usable_size(p), k = (u - 8) / 16;
    if (!tc.enabled || u < 8 || (u - 8) % 16 || k >= NCLASS || tc.n[k] >= KC_JALLOC_CAP) {
        free(p);
        return;
    }
    *(void **)p = tc.head[k];
    tc.head[k] = p;
    tc.n[k]++;
}

#if defined(__SANITIZE_ADDRESS__)
#define KC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KC_ASAN 1
#endif
#endif

void kc_jalloc_install(void)
{
#ifndef KC_ASAN
    pthread_key_create(&exit_key, drain);
    pthread_setspecific(exit_key, &tc); /* the destructor drains the lists when the thread exits */
    tc.enabled = true;
    json_set_alloc_funcs(jalloc, jfree);
#endif
}
