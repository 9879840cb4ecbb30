/* DNS wire format (RFC 1035, EDNS0 of RFC 6891): parsing one query, converting names between
 * text and wire form, and a message writer with name compression. No Kubernetes knowledge and
 * no I/O: the zone (dns/zone.c) and the servers (dns/server.c) build on it.
 *
 * Names in wire form are length-prefixed labels ending in a zero byte, at most 255 bytes;
 * "lowercase wire" means ASCII letters folded to lower case, which is how every name is keyed. */
#ifndef KC_DNS_WIRE_H
#define KC_DNS_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KC_DNS_MAXNAME 255
#define KC_DNS_HDR 12

enum kc_dns_type {
    KC_DNS_A = 1,
    KC_DNS_NS = 2,
    KC_DNS_CNAME = 5,
    KC_DNS_SOA = 6,
    KC_DNS_PTR = 12,
    KC_DNS_TXT = 16,
    KC_DNS_AAAA = 28,
    KC_DNS_SRV = 33,
    KC_DNS_OPT = 41,
    KC_DNS_IXFR = 251,
    KC_DNS_AXFR = 252,
    KC_DNS_ANY = 255
};
enum kc_dns_rcode {
    KC_DNS_NOERROR = 0,
    KC_DNS_FORMERR = 1,
    KC_DNS_SERVFAIL = 2,
    KC_DNS_NXDOMAIN = 3,
    KC_DNS_NOTIMP = 4,
    KC_DNS_REFUSED = 5,
    KC_DNS_BADVERS = 16
};
/* Header flag bits (the 16-bit word after the id). */
#define KC_DNS_QR 0x8000
#define KC_DNS_AA 0x0400
#define KC_DNS_TC 0x0200
#define KC_DNS_RD 0x0100
#define KC_DNS_CD 0x0010

/* One parsed query. name is the question name in lowercase wire form; qend is the offset just
 * past the question in the packet (the question bytes are copied into the answer as sent). */
typedef struct kc_dns_query {
    uint16_t id, flags;
    uint8_t name[KC_DNS_MAXNAME + 1];
    size_t name_len;
    uint16_t qtype, qclass;
    size_t qend;
    bool edns, do_bit;
    uint8_t edns_version;
    uint16_t udp_size;
} kc_dns_query;

/* Parses a query: 0, or -1 when the packet is not a well-formed query (a response, not exactly
 * one question, answer/authority records present, a compressed or overlong question name,
 * a malformed additional section). A -1 packet is dropped. */
int kc_dns_parse_query(const uint8_t *p, size_t n, kc_dns_query *q);

/* "web.default.svc.cluster.local" (a trailing dot allowed; "" or "." is the root) -> lowercase
 * wire form in out; returns its length, or -1 if a label is empty or over 63 bytes or the name
 * over 255. */
int kc_dns_name_from_text(const char *text, uint8_t out[KC_DNS_MAXNAME + 1]);
/* Lowercase wire form -> dotted text without the trailing dot (at most 254 chars + NUL). */
void kc_dns_name_to_text(const uint8_t *wire, char out[KC_DNS_MAXNAME + 1]);
/* Does wire name `name` end with (or equal) wire name `apex`? Returns the offset of the apex
 * inside name, or -1. Both lowercase. */
int kc_dns_name_suffix(const uint8_t *name, size_t len, const uint8_t *apex, size_t alen);

/* A message being written. buf grows when `grow` (building the zone), otherwise writes past cap
 * set `full` and are dropped. Names written are remembered for compression. */
typedef struct kc_dns_mark {
    uint64_t hash; /* of the name from this label on (lower case) */
    uint16_t off;  /* a label start written uncompressed */
} kc_dns_mark;

typedef struct kc_dns_w {
    uint8_t *buf;
    size_t len, cap;
    bool grow, full;
    kc_dns_mark *marks;
    size_t nmarks, capmarks;
    uint32_t *tab; /* mark index + 1 by hash, built once there are many marks */
    size_t tabcap, tabn;
} kc_dns_w;

void kc_dns_w_init(kc_dns_w *w, uint8_t *buf, size_t cap, bool grow);
void kc_dns_w_release(kc_dns_w *w); /* frees marks (and buf when grow) */
/* Empties the message down to len bytes (names written past it are forgotten). */
void kc_dns_w_truncate(kc_dns_w *w, size_t len);
void kc_dns_w_u8(kc_dns_w *w, uint8_t v);
void kc_dns_w_u16(kc_dns_w *w, uint16_t v);
void kc_dns_w_u32(kc_dns_w *w, uint32_t v);
void kc_dns_w_bytes(kc_dns_w *w, const void *p, size_t n);
/* Writes a lowercase wire name, compressed against names written before. */
void kc_dns_w_name(kc_dns_w *w, const uint8_t *name);
/* Remembers the name at offset off (already in buf, e.g. a copied question) for compression. */
void kc_dns_w_mark_name(kc_dns_w *w, size_t off);
/* Starts an RR (owner, type, class IN, ttl); returns the offset of its rdlength. */
size_t kc_dns_w_rr(kc_dns_w *w, const uint8_t *owner, uint16_t type, uint32_t ttl);
/* Fills in the rdlength at off once the rdata is written. */
void kc_dns_w_rdlen(kc_dns_w *w, size_t off);

#endif
