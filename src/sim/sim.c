/* STUB: to be implemented (see sim/sim.h). */
#include "sim/sim.h"
#include <stdlib.h>

kc_sim *kc_sim_start(kc_client *c, const kc_sim_opts *o)
{
    (void)c;
    (void)o;
    return NULL;
}

void kc_sim_stop(void *p)
{
    (void)p;
}

static bool has_node(void *ud, const char *node)
{
    (void)ud;
    (void)node;
    return false;
}

const kc_node_provider kc_sim_node_provider = {has_node, NULL, NULL};
