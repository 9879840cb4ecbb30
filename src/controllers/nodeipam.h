/* Node IPAM: gives each node a spec.podCIDR (and podCIDRs) from the cluster CIDR (/24 per node
 * by default), and frees it when the node is deleted. */
#ifndef KC_CONTROLLERS_NODEIPAM_H
#define KC_CONTROLLERS_NODEIPAM_H
#include "client/client.h"
/* The start functions take the client (freed by stop). */

void *kc_nodeipam_start(kc_client *c, const char *cluster_cidr, int node_mask);
void kc_nodeipam_stop(void *ctl);

#endif
