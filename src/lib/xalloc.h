/* Allocation that never fails: abort on out-of-memory (STYLE rule 5). Sizes that come from the
 * network are bounded by the caller before allocating. */
#ifndef KC_LIB_XALLOC_H
#define KC_LIB_XALLOC_H
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static inline void *kc_oom(void)
{
    fputs("kubec: out of memory\n", stderr);
    abort();
}
static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : kc_oom();
}
static inline void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    return p ? p : kc_oom();
}
static inline void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    return p ? p : kc_oom();
}
static inline char *xstrdup(const char *s)
{
    char *p = strdup(s);
    return p ? p : kc_oom();
}
static inline char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    return p ? p : kc_oom();
}
#endif
