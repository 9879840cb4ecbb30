/* Binder workers of the scheduler (see binder.c). Internal to src/scheduler. */
#ifndef KC_SCHEDULER_BINDER_H
#define KC_SCHEDULER_BINDER_H
#include "client/client.h"

typedef struct kc_sched_binder kc_sched_binder;
/* Called on a worker thread after each binding: err NULL on success. */
typedef void (*kc_sched_bound_fn)(void *ud, const kc_obj *pod, const char *node, const kc_err *err);

/* Starts nthreads workers writing through c (borrowed; it must outlive the binder). */
kc_sched_binder *kc_sched_binder_new(kc_client *c, int nthreads, kc_sched_bound_fn done, void *ud);
/* Stops the workers (jobs still queued are dropped) and frees. */
void kc_sched_binder_free(kc_sched_binder *b);
void kc_sched_binder_bind(kc_sched_binder *b, const kc_obj *pod, const char *node);
/* Records an unschedulable pod: ltt non-NULL also writes the PodScheduled=False condition with
 * that lastTransitionTime; always a FailedScheduling event with msg. */
void kc_sched_binder_unschedulable(kc_sched_binder *b, const kc_obj *pod, const char *msg, const char *ltt);
/* Evicts the victims of a preemption by pod and nominates node for it. */
void kc_sched_binder_preempt(kc_sched_binder *b, const kc_obj *pod, const char *node, kc_obj *const *victims,
                             size_t nv);
/* Bind and status jobs not yet started. */
size_t kc_sched_binder_pending(kc_sched_binder *b);

#endif
