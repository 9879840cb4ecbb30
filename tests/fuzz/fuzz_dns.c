/* Fuzz target for the DNS server's packet path: every input is answered as a UDP datagram and as
 * a TCP frame from a small fixed index (dns/answer.c over dns/wire.c). A dropped packet must have
 * been rejected by the parser; an answer must be a well-formed response to it: same id, QR set,
 * one question equal to the query's, every record inside the message, and over UDP at most 512
 * bytes (or the client's EDNS size up to 4096). */
#include "dns/zone.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static kc_dns_index *ix;

static void init_index(void)
{
    if (ix) return;
    kc_dns_zone *z = kc_dns_zone_new("cluster.local");
    const char *web = "web.default.svc.cluster.local";
    kc_dns_zone_add(z, web, &(kc_dns_rr){.type = KC_DNS_A, .ip = 0x0a600007});
    kc_dns_zone_add_ptr(z, 0x0a600007, web);
    kc_dns_zone_add(z, "_http._tcp.web.default.svc.cluster.local",
                    &(kc_dns_rr){.type = KC_DNS_SRV, .port = 80, .target = web});
    kc_dns_zone_add(z, "ext.default.svc.cluster.local",
                    &(kc_dns_rr){.type = KC_DNS_CNAME, .target = "a.example"});
    for (uint32_t i = 0; i < 100; i++)
        kc_dns_zone_add(z, "big.default.svc.cluster.local",
                        &(kc_dns_rr){.type = KC_DNS_A, .ip = 0x0af40000 + i});
    ix = kc_dns_index_build(z, 1);
    kc_dns_zone_free(z);
}

/* Skips a name in a response (pointers end it); -1 when it runs out of the message. */
static long skip(const uint8_t *p, size_t n, size_t off)
{
    while (off < n) {
        if ((p[off] & 0xC0) == 0xC0) return off + 2 <= n ? (long)off + 2 : -1;
        if (p[off] == 0) return (long)off + 1;
        off += 1 + (size_t)p[off];
    }
    return -1;
}

static void check(const uint8_t *q, size_t qn, const uint8_t *r, size_t rn, size_t limit)
{
    kc_dns_query pq;
    if (kc_dns_parse_query(q, qn, &pq) != 0) abort(); /* answered, so it parsed */
    if (rn < 12 || rn > limit || memcmp(r, q, 2) || !(r[2] & 0x80)) abort();
    if (r[4] != 0 || r[5] != 1) abort();
    if (rn < pq.qend || memcmp(r + 12, q + 12, pq.qend - 12)) abort(); /* question as sent */
    size_t off = pq.qend;
    unsigned total =
        (unsigned)(r[6] << 8 | r[7]) + (unsigned)(r[8] << 8 | r[9]) + (unsigned)(r[10] << 8 | r[11]);
    for (unsigned i = 0; i < total; i++) {
        long o = skip(r, rn, off);
        if (o < 0 || (size_t)o + 10 > rn) abort();
        off = (size_t)o + 10 + (size_t)(r[o + 8] << 8 | r[o + 9]);
        if (off > rn) abort();
    }
    if (off != rn) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static uint8_t out[65536];
    init_index();
    kc_dns_query pq;
    int parsed = kc_dns_parse_query(d, n, &pq);
    size_t rn = kc_dns_answer(ix, d, n, out, 4096, false);
    if (rn) {
        size_t limit = pq.edns && pq.udp_size > 512 ? (pq.udp_size > 4096 ? 4096 : pq.udp_size) : 512;
        check(d, n, out, rn, limit);
    } else if (parsed == 0 && pq.qend + 11 <= 512) {
        abort(); /* a well-formed query is always answered */
    }
    rn = kc_dns_answer(ix, d, n, out, sizeof out, true);
    if (rn) check(d, n, out, rn, 65535);
    return 0;
}
