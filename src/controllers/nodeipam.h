/* Node IPAM: gives each node a spec.podCIDR (and podCIDRs) from the cluster CIDR (/24 per node
 * by default), and frees it when the node is deleted. */
#ifndef KC_CONTROLLERS_NODEIPAM_H
#define KC_CONTROLLERS_NODEIPAM_H
#include "client/client.h"
#include <stddef.h>
/* The start functions take the client (freed by stop). */

void *kc_nodeipam_start(kc_client *c, const char *cluster_cidr, int node_mask);
void kc_nodeipam_stop(void *ctl);

/* The CIDR set behind it (pure, not thread-safe): an IPv4 cluster CIDR cut into blocks of
 * /node_mask, handed out lowest free first, so a released block is the next one given. */
typedef struct kc_cidrset kc_cidrset;

/* "10.244.0.0/16", 24 -> 256 blocks (an owned set); NULL with Invalid when the CIDR is malformed,
 * node_mask is shorter than its prefix or longer than 32, or there would be over 2^16 blocks. */
kc_cidrset *kc_cidrset_new(const char *cidr, int node_mask, kc_err *err);
void kc_cidrset_free(kc_cidrset *s);
/* Takes the lowest free block, written to out ("10.244.3.0/24"); -1 with TooManyRequests
 * ("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")
 * when none is free. */
int kc_cidrset_alloc(kc_cidrset *s, char out[20], kc_err *err);
/* Marks a block as taken (one a node already has); -1 with Invalid when cidr is not one of
 * this set's blocks. Occupying a taken block is not an error. */
int kc_cidrset_occupy(kc_cidrset *s, const char *cidr, kc_err *err);
/* Frees a block (no-op when it is not one of the set's or is free). */
void kc_cidrset_release(kc_cidrset *s, const char *cidr);
size_t kc_cidrset_free_count(const kc_cidrset *s);

#endif
