/* Where the DNS data comes from: informers on Services, EndpointSlices (labelled
 * kubernetes.io/service-name) and Pods, folded into a zone (dns/zone.h) that is compiled and
 * published as an immutable index after every burst of changes. Readers take the current index
 * with acquire/release; an index is freed when the last reader lets go of a replaced one. */
#ifndef KC_DNS_SOURCE_H
#define KC_DNS_SOURCE_H
#include "client/client.h"
#include "dns/zone.h"

typedef struct kc_dns_source kc_dns_source;

/* Starts the informers and the builder thread. Borrows the client (kept alive by the caller
 * until kc_dns_source_free). */
kc_dns_source *kc_dns_source_start(kc_client *c, const char *domain);
void kc_dns_source_free(kc_dns_source *s); /* stops the thread and informers */

/* The current index (NULL until the caches are first loaded), held until release. */
const kc_dns_index *kc_dns_source_acquire(kc_dns_source *s, void **hold);
void kc_dns_source_release(kc_dns_source *s, void *hold);
/* How many indexes have been published (tests and the benchmark watch it move). */
uint64_t kc_dns_source_generation(kc_dns_source *s);

#endif
