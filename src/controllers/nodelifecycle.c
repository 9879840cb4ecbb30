/* STUB: to be implemented (see controllers/nodelifecycle.h). */
#include "controllers/nodelifecycle.h"
#include <stdlib.h>

void *kc_nodelifecycle_start(kc_client *c, const kc_nodelc_opts *o)
{
    (void)c;
    (void)o;
    return NULL;
}

void kc_nodelifecycle_stop(void *p)
{
    (void)p;
}
