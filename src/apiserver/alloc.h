/* Allocators for Service ClusterIPs and NodePorts (semantics 5.2, 5.4): a bitmap over a range
 * with Kubernetes' two bands. Dynamic allocation picks at random in the upper band and falls
 * back to the lower (static) band, which is left for users who choose their own values. */
#ifndef KC_APISERVER_ALLOC_H
#define KC_APISERVER_ALLOC_H
#include "lib/err.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct kc_range {
    uint32_t first, n;   /* usable values first .. first+n-1 */
    uint32_t static_n;   /* the lowest static_n values are the static band */
    uint8_t *bits;
    uint32_t used;
    bool ip;             /* values are IPv4 addresses (host order) */
    char desc[64];       /* "10.96.0.0/12" or "30000-32767" */
} kc_range;

/* A service CIDR: network and broadcast excluded; static band min(max(16, n/16), 256). */
int kc_range_init_cidr(kc_range *r, const char *cidr, kc_err *err);
/* A port range "30000-32767": static band min(max(16, n/32), 128). */
int kc_range_init_ports(kc_range *r, const char *spec, kc_err *err);
void kc_range_release_all(kc_range *r);
int kc_range_allocate(kc_range *r, uint32_t *out, kc_err *err);
/* A chosen value: KC_EINVALID when out of range or taken, with upstream's wording. */
int kc_range_take(kc_range *r, uint32_t v, kc_err *err);
void kc_range_release(kc_range *r, uint32_t v);
bool kc_range_has(const kc_range *r, uint32_t v);
/* Dotted quad parsing/printing for IPv4 ranges. */
bool kc_ip_parse(const char *s, uint32_t *out);
void kc_ip_format(uint32_t ip, char out[16]);

#endif
