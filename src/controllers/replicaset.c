/* STUB: to be implemented (see replicaset.h). */
#include "controllers/replicaset.h"

void *kc_replicaset_start(kc_client *c)
{
    kc_client_free(c);
    return NULL;
}

void kc_replicaset_stop(void *ctl)
{
    (void)ctl;
}
