/* Inside the compiled index: shared by zone.c (building) and answer.c (answering). */
#ifndef KC_DNS_ZONE_INT_H
#define KC_DNS_ZONE_INT_H
#include "dns/zone.h"

#define KC_DNS_NAPEX 3 /* <domain>, in-addr.arpa, ip6.arpa */

/* One pre-rendered rrset: an answer records (an_bytes) then ar additional ones (total bytes in
 * all), at data[off]. */
typedef struct ix_set {
    uint16_t type, an, ar;
    uint32_t off;
    uint16_t an_bytes, bytes;
} ix_set;

typedef struct ix_ent {
    uint64_t hash;
    uint32_t name_off, set0;
    uint16_t name_len, nsets;
} ix_ent;

struct kc_dns_index {
    uint8_t *data; /* names and rendered rrsets */
    size_t dlen, dcap;
    ix_ent *ents;
    size_t nents;
    ix_set *sets;
    size_t nsets, setcap;
    uint32_t *slots; /* entry index + 1; 0 empty */
    size_t mask;
    uint32_t serial;
    uint8_t apex[KC_DNS_NAPEX][KC_DNS_MAXNAME + 1], mname[KC_DNS_NAPEX][KC_DNS_MAXNAME + 1],
        rname[KC_DNS_NAPEX][KC_DNS_MAXNAME + 1];
    size_t apex_len[KC_DNS_NAPEX];
};

const ix_ent *kc_dns_index_find(const kc_dns_index *ix, const uint8_t *name, size_t len);
/* Writes apex a's SOA record (owner compressed against names already in w). */
void kc_dns_w_soa(kc_dns_w *w, const kc_dns_index *ix, int a);

#endif
