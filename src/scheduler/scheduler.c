/* STUB: to be implemented (see scheduler/scheduler.h). */
#include "scheduler/scheduler.h"
#include <stdlib.h>

kc_scheduler *kc_scheduler_start(kc_client *c)
{
    (void)c;
    return NULL;
}

void kc_scheduler_stop(void *p)
{
    (void)p;
}
