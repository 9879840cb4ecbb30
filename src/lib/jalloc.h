/* A per-thread cache of small blocks for jansson's allocations (json_set_alloc_funcs).
 *
 * A request parses into a few hundred small jansson values and frees them all a moment later;
 * glibc keeps only 7 free blocks per size in its thread cache, so most of those mallocs and
 * frees took its slow paths (12% of the event loop's time on pod creates). This cache keeps up
 * to KC_JALLOC_CAP free blocks per size class, for the thread that installed it (the event
 * loop's) only: a server has some 190 threads, and caches on threads that mostly free what
 * others allocated would only hold memory. Its blocks are plain malloc blocks:
 * anything jansson returns may still be released with free(), blocks may move between threads,
 * and a block malloc'd before the install is freed correctly. Not installed under
 * AddressSanitizer (it would hide use-after-free). */
#ifndef KC_LIB_JALLOC_H
#define KC_LIB_JALLOC_H

/* Installs the cache as jansson's allocator, caching for the calling thread. Call once, from
 * the thread that runs the event loop, before any other thread starts. */
void kc_jalloc_install(void);

#endif
