/* STUB: to be implemented (see deployment.h). */
#include "controllers/deployment.h"

void *kc_deployment_start(kc_client *c)
{
    kc_client_free(c);
    return NULL;
}

void kc_deployment_stop(void *ctl)
{
    (void)ctl;
}
