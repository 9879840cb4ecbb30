/* STUB: to be implemented (see controllers/nodeipam.h). */
#include "controllers/nodeipam.h"
#include <stdlib.h>

void *kc_nodeipam_start(kc_client *c, const char *cluster_cidr, int node_mask)
{
    (void)c;
    (void)cluster_cidr;
    (void)node_mask;
    return NULL;
}

void kc_nodeipam_stop(void *p)
{
    (void)p;
}
