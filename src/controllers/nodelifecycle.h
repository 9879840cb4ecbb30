/* Node lifecycle controller: marks nodes whose Lease stops being renewed Ready=Unknown, keeps
 * the condition taints (unreachable / not-ready / pressure / unschedulable), and evicts pods
 * that do not tolerate a NoExecute taint (immediately, or after tolerationSeconds). */
#ifndef KC_CONTROLLERS_NODELIFECYCLE_H
#define KC_CONTROLLERS_NODELIFECYCLE_H
#include "client/client.h"
/* The start functions take the client (freed by stop). */

typedef struct kc_nodelc_opts {
    int grace_s; /* --node-monitor-grace-period, default 50 */
} kc_nodelc_opts;

void *kc_nodelifecycle_start(kc_client *c, const kc_nodelc_opts *o);
void kc_nodelifecycle_stop(void *ctl);

#endif
