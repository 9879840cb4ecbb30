/* Fork-join over an index range: fn(ctx, i) for every i < n, on up to max_threads threads (the
 * caller's included), returning when all are done. For batches of blocking API calls. */
#ifndef KC_LIB_PARALLEL_H
#define KC_LIB_PARALLEL_H
#include <stddef.h>

void kc_parallel(size_t n, size_t max_threads, void (*fn)(void *ctx, size_t i), void *ctx);

#endif
