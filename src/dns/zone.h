/* The served DNS data, in two forms:
 *
 *   kc_dns_zone   a mutable set of records by name (built from Services, EndpointSlices and
 *                 pods by dns/source.c); apexes <domain>, in-addr.arpa and ip6.arpa with their
 *                 SOA and NS; every ancestor of a name up to its apex exists (empty
 *                 non-terminals answer NODATA, not NXDOMAIN). Records belong to an owner (a
 *                 Service with its slices, a Pod) so that one owner's records can be replaced
 *                 without touching the others.
 *   kc_dns_index  the zone compiled, immutable: a hash table from lowercase wire name to the
 *                 answer, additional-section records included, already in wire form with
 *                 compression pointers into the question (a query whose name has the same
 *                 length has them at the same offsets). Answering is a lookup and a memcpy.
 *                 Building one recompiles only the names changed since the last build; the
 *                 compiled names are shared (reference counted) between successive indexes.
 *
 * kc_dns_answer() turns one query packet into its response (NOERROR, NODATA/NXDOMAIN with the
 * SOA in authority, REFUSED outside the apexes, TC when too big for UDP, EDNS0 echoed). TTL 5
 * everywhere, as CoreDNS's kubernetes plugin. Not thread-safe to build; an index is read-only and
 * may be shared by any number of threads. */
#ifndef KC_DNS_ZONE_H
#define KC_DNS_ZONE_H
#include "dns/wire.h"

#define KC_DNS_TTL 5

typedef struct kc_dns_zone kc_dns_zone;
typedef struct kc_dns_index kc_dns_index;

/* One record: A (ip, host order), CNAME/PTR (target), SRV (port, target; priority 0, weight
 * 100/count as CoreDNS), TXT (target holds the text), or KC_DNS_EXISTS: no data, the name merely
 * exists (answers NODATA). */
#define KC_DNS_EXISTS 0
typedef struct kc_dns_rr {
    uint16_t type;
    uint32_t ip;
    uint16_t port;
    const char *target;
} kc_dns_rr;

/* An empty zone for domain ("cluster.local"). NULL if the domain is not a valid name. Owned;
 * kc_dns_zone_free (indexes built from it stay valid). */
kc_dns_zone *kc_dns_zone_new(const char *domain);
void kc_dns_zone_free(kc_dns_zone *z);
/* Records added from now on belong to owner (any string, e.g. "s/ns/name"; NULL: to nobody,
 * never dropped). */
void kc_dns_zone_owner(kc_dns_zone *z, const char *owner);
/* Removes every record of owner (names left empty disappear at the next build). */
void kc_dns_zone_drop(kc_dns_zone *z, const char *owner);
/* Adds a record at name (text, any case); duplicates are kept once. -1 if the name or the
 * target is not a valid DNS name or the name is outside the apexes. */
int kc_dns_zone_add(kc_dns_zone *z, const char *name, const kc_dns_rr *rr);
/* PTR d.c.b.a.in-addr.arpa -> target for IPv4 address ip (host order). */
int kc_dns_zone_add_ptr(kc_dns_zone *z, uint32_t ip, const char *target);
size_t kc_dns_zone_names(const kc_dns_zone *z);

/* Compiles the names changed since the last build (an SRV name is recompiled with the records
 * of its owner, whose names its targets are) and returns a new index with serial in its SOAs.
 * Owned; kc_dns_index_free. */
kc_dns_index *kc_dns_index_build(kc_dns_zone *z, uint32_t serial);
void kc_dns_index_free(kc_dns_index *ix);
size_t kc_dns_index_names(const kc_dns_index *ix);

/* Answers one query packet into out (cap bytes, at least 512). Returns the response length, or 0
 * when the packet is dropped (malformed). ix NULL (data not loaded yet) answers SERVFAIL. Over
 * UDP (tcp false) the response fits 512 bytes, or the client's EDNS size up to 4096. */
size_t kc_dns_answer(const kc_dns_index *ix, const uint8_t *pkt, size_t n, uint8_t *out, size_t cap,
                     bool tcp);

#endif
