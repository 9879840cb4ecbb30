/* Workqueue: deduplicating, rate-limited queue of keys, as client-go's workqueue.
 *
 * A key added while queued is not queued twice; a key added while being processed is queued
 * again once kc_wq_done() is called for it (so one key never runs on two workers at once).
 * kc_wq_add_rate_limited() delays by per-key exponential backoff (5 ms doubling, max 1000 s)
 * until kc_wq_forget(). Thread-safe. */
#ifndef KC_CLIENT_WORKQUEUE_H
#define KC_CLIENT_WORKQUEUE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kc_wq kc_wq;

kc_wq *kc_wq_new(const char *name);
void kc_wq_free(kc_wq *q);
void kc_wq_add(kc_wq *q, const char *key);
void kc_wq_add_after(kc_wq *q, const char *key, uint64_t delay_ms);
void kc_wq_add_rate_limited(kc_wq *q, const char *key);
void kc_wq_forget(kc_wq *q, const char *key);
int kc_wq_requeues(kc_wq *q, const char *key);
/* Blocks for the next key (owned by the caller); NULL once the queue is shut down. */
char *kc_wq_get(kc_wq *q);
void kc_wq_done(kc_wq *q, const char *key);
void kc_wq_shutdown(kc_wq *q);
size_t kc_wq_len(kc_wq *q);

#endif
