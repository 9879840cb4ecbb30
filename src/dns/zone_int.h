/* Inside the compiled index: shared by zone.c (building) and answer.c (answering). */
#ifndef KC_DNS_ZONE_INT_H
#define KC_DNS_ZONE_INT_H
#include "dns/zone.h"

#define KC_DNS_NAPEX 3 /* <domain>, in-addr.arpa, ip6.arpa */

/* One pre-rendered rrset: an answer records (an_bytes) then ar additional ones (bytes in all),
 * at the name's data + off. */
typedef struct ix_set {
    uint16_t type, an, ar;
    uint32_t off;
    uint16_t an_bytes, bytes;
} ix_set;

/* One compiled name: immutable once built, shared by the indexes that hold a reference. */
typedef struct ix_name {
    int refs; /* atomic */
    uint64_t hash;
    uint16_t name_len, nsets;
    ix_set *sets;
    uint8_t *data; /* the wire name, then the rrsets */
} ix_name;

struct kc_dns_index {
    ix_name **names;
    size_t nnames;
    uint64_t *slots; /* hash high half | names index + 1; 0 empty */
    size_t mask;
    uint32_t serial;
    uint8_t apex[KC_DNS_NAPEX][KC_DNS_MAXNAME + 1], mname[KC_DNS_NAPEX][KC_DNS_MAXNAME + 1],
        rname[KC_DNS_NAPEX][KC_DNS_MAXNAME + 1];
    size_t apex_len[KC_DNS_NAPEX];
};

const ix_name *kc_dns_index_find(const kc_dns_index *ix, const uint8_t *name, size_t len);
/* Writes apex a's SOA record (owner compressed against names already in w). */
void kc_dns_w_soa(kc_dns_w *w, const kc_dns_index *ix, int a);

#endif
