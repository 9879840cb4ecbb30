/* The scheduler (kube-scheduler's default profile): watches unscheduled pods whose
 * spec.schedulerName is default-scheduler, filters and scores nodes, and binds through the
 * pods/binding subresource. Unschedulable pods get PodScheduled=False and a FailedScheduling
 * event and are retried when the cluster changes, with backoff. */
#ifndef KC_SCHEDULER_SCHEDULER_H
#define KC_SCHEDULER_SCHEDULER_H
#include "client/client.h"
/* The start functions take the client (freed by stop). */

typedef struct kc_scheduler kc_scheduler;

kc_scheduler *kc_scheduler_start(kc_client *c);
void kc_scheduler_stop(void *sched);

#endif
