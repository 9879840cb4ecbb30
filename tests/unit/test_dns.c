/* Unit tests for the DNS packet parser/writer (dns/wire.c), the zone and its compiled index
 * (dns/zone.c) and answering (dns/answer.c). Responses are decoded here by a small independent
 * reader (following compression pointers) and checked record by record. */
#include "dns/zone.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* ---- building queries ---- */

static size_t make_query(uint8_t *p, const char *name, uint16_t type, int edns_size)
{
    size_t n = 0;
    uint8_t hdr[12] = {0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns_size ? 1 : 0};
    memcpy(p, hdr, 12);
    n = 12;
    for (const char *s = name; *s;) {
        size_t l = strcspn(s, ".");
        p[n++] = (uint8_t)l;
        memcpy(p + n, s, l);
        n += l;
        s += l + (s[l] == '.');
    }
    p[n++] = 0;
    p[n++] = (uint8_t)(type >> 8), p[n++] = (uint8_t)type;
    p[n++] = 0, p[n++] = 1;
    if (edns_size) {
        uint8_t opt[11] = {0, 0, 41, (uint8_t)(edns_size >> 8), (uint8_t)edns_size, 0, 0, 0x80, 0, 0, 0};
        memcpy(p + n, opt, 11);
        n += 11;
    }
    return n;
}

/* ---- decoding responses ---- */

typedef struct rr {
    char owner[256], target[256];
    uint16_t type;
    uint32_t ttl, ip;
    uint16_t port, weight, rdlen;
} rr;

typedef struct msg {
    uint16_t id, flags, qd, an, ns, ar;
    rr rrs[128];
    size_t n;
} msg;

static size_t read_name(const uint8_t *p, size_t len, size_t off, char *out)
{
    size_t end = 0, o = 0;
    for (int hops = 0; hops < 32; hops++) {
        cr_assert_lt(off, len);
        uint8_t l = p[off];
        if ((l & 0xC0) == 0xC0) {
            if (!end) end = off + 2;
            off = (size_t)(l & 0x3F) << 8 | p[off + 1];
            continue;
        }
        if (l == 0) {
            out[o] = 0;
            return end ? end : off + 1;
        }
        if (o) out[o++] = '.';
        memcpy(out + o, p + off + 1, l);
        o += l;
        off += 1 + l;
    }
    cr_assert_fail("pointer loop");
    return 0;
}

static uint16_t g16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void decode(const uint8_t *p, size_t len, msg *m)
{
    memset(m, 0, sizeof *m);
    cr_assert_geq(len, 12);
    m->id = g16(p), m->flags = g16(p + 2), m->qd = g16(p + 4), m->an = g16(p + 6), m->ns = g16(p + 8);
    m->ar = g16(p + 10);
    char tmp[256];
    size_t off = 12;
    for (int i = 0; i < m->qd; i++)
        off = read_name(p, len, off, tmp) + 4;
    for (size_t i = 0; i < (size_t)m->an + m->ns + m->ar; i++) {
        rr *r = &m->rrs[m->n++];
        off = read_name(p, len, off, r->owner);
        r->type = g16(p + off);
        r->ttl = (uint32_t)g16(p + off + 4) << 16 | g16(p + off + 6);
        r->rdlen = g16(p + off + 8);
        const uint8_t *rd = p + off + 10;
        if (r->type == KC_DNS_A) r->ip = (uint32_t)g16(rd) << 16 | g16(rd + 2);
        if (r->type == KC_DNS_CNAME || r->type == KC_DNS_PTR || r->type == KC_DNS_SOA)
            read_name(p, len, off + 10, r->target);
        if (r->type == KC_DNS_SRV) {
            r->weight = g16(rd + 2), r->port = g16(rd + 4);
            cr_assert_eq(rd[6] & 0xC0, 0, "SRV target compressed");
            read_name(p, len, off + 16, r->target);
        }
        off += 10 + r->rdlen;
    }
    cr_assert_eq(off, len, "trailing bytes");
}

static const kc_dns_index *ix;
static kc_dns_zone *zone;

static uint32_t ip(int a, int b, int c, int d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | (uint32_t)d;
}

static void setup(void)
{
    zone = kc_dns_zone_new("cluster.local");
    const char *web = "web.ns.svc.cluster.local", *hl = "hl.ns.svc.cluster.local";
    kc_dns_zone_add(zone, web, &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 96, 0, 7)});
    kc_dns_zone_add_ptr(zone, ip(10, 96, 0, 7), web);
    kc_dns_zone_add(zone, "_http._tcp.web.ns.svc.cluster.local",
                    &(kc_dns_rr){.type = KC_DNS_SRV, .port = 80, .target = web});
    for (int i = 1; i <= 3; i++) {
        char h[64];
        snprintf(h, sizeof h, "h%d.%s", i, hl);
        kc_dns_zone_add(zone, h, &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 244, 0, i)});
        kc_dns_zone_add(zone, hl, &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 244, 0, i)});
        kc_dns_zone_add(zone, "_http._tcp.hl.ns.svc.cluster.local",
                        &(kc_dns_rr){.type = KC_DNS_SRV, .port = 8080, .target = h});
    }
    kc_dns_zone_add(zone, hl, &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 244, 0, 1)}); /* duplicate */
    for (int i = 0; i < 60; i++)
        kc_dns_zone_add(zone, "big.ns.svc.cluster.local",
                        &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 1, 0, i)});
    for (int i = 0; i < 20; i++) {
        char h[64];
        snprintf(h, sizeof h, "x%d.big.ns.svc.cluster.local", i);
        kc_dns_zone_add(zone, h, &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 2, 0, i)});
        kc_dns_zone_add(zone, "_p._tcp.big.ns.svc.cluster.local",
                        &(kc_dns_rr){.type = KC_DNS_SRV, .port = 1, .target = h});
    }
    kc_dns_zone_add(zone, "ext.ns.svc.cluster.local",
                    &(kc_dns_rr){.type = KC_DNS_CNAME, .target = "Example.COM."});
    ix = kc_dns_index_build(zone, 42);
}

static void teardown(void)
{
    kc_dns_index_free((kc_dns_index *)ix);
    kc_dns_zone_free(zone);
}

static uint8_t out[65536];

static size_t ask(const char *name, uint16_t type, int edns, bool tcp, msg *m)
{
    uint8_t q[600];
    size_t qn = make_query(q, name, type, edns);
    size_t n = kc_dns_answer(ix, q, qn, out, tcp ? sizeof out : 4096, tcp);
    if (n) decode(out, n, m);
    return n;
}

TestSuite(dns, .init = setup, .fini = teardown);

Test(dns, names_text_and_wire)
{
    uint8_t w[256];
    char t[256];
    cr_assert_eq(kc_dns_name_from_text("Web.NS.svc.cluster.local.", w), 26);
    kc_dns_name_to_text(w, t);
    cr_assert_str_eq(t, "web.ns.svc.cluster.local");
    cr_assert_eq(kc_dns_name_from_text(".", w), 1);
    cr_assert_eq(kc_dns_name_from_text("a..b", w), -1);
    char longlabel[80];
    memset(longlabel, 'a', 64);
    longlabel[64] = 0;
    cr_assert_eq(kc_dns_name_from_text(longlabel, w), -1);
    char longname[300] = "";
    for (int i = 0; i < 26; i++)
        strcat(longname, "abcdefghi.");
    cr_assert_eq(kc_dns_name_from_text(longname, w), -1);
    uint8_t apex[256], name[256];
    int al = kc_dns_name_from_text("cluster.local", apex),
        nl = kc_dns_name_from_text("a.cluster.local", name);
    cr_assert_eq(kc_dns_name_suffix(name, (size_t)nl, apex, (size_t)al), 2);
    cr_assert_eq(kc_dns_name_suffix(apex, (size_t)al, name, (size_t)nl), -1);
}

Test(dns, parse_query_accepts_and_rejects)
{
    uint8_t q[600];
    kc_dns_query pq;
    size_t n = make_query(q, "WEB.ns.svc.cluster.local", KC_DNS_SRV, 1232);
    cr_assert_eq(kc_dns_parse_query(q, n, &pq), 0);
    cr_assert_eq(pq.id, 0xabcd);
    cr_assert_eq(pq.qtype, KC_DNS_SRV);
    cr_assert(pq.edns && pq.do_bit);
    cr_assert_eq(pq.udp_size, 1232);
    cr_assert_eq(pq.name[1], 'w', "folded to lower case");
    for (size_t cut = 0; cut < n; cut++)
        cr_assert_eq(kc_dns_parse_query(q, cut, &pq), -1, "cut at %zu", cut);
    q[2] |= 0x80; /* a response */
    cr_assert_eq(kc_dns_parse_query(q, n, &pq), -1);
    q[2] &= 0x7f;
    q[5] = 2; /* two questions */
    cr_assert_eq(kc_dns_parse_query(q, n, &pq), -1);
    q[5] = 1;
    uint8_t ptr[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    cr_assert_eq(kc_dns_parse_query(ptr, sizeof ptr, &pq), -1, "compressed question");
}

Test(dns, a_record_keeps_question_case)
{
    msg m;
    size_t n = ask("WeB.Ns.SVC.cluster.local", KC_DNS_A, 0, false, &m);
    cr_assert_gt(n, 0);
    cr_assert_eq(m.id, 0xabcd);
    cr_assert_eq(m.flags & 0x000f, KC_DNS_NOERROR);
    cr_assert(m.flags & KC_DNS_QR && m.flags & KC_DNS_AA && m.flags & KC_DNS_RD);
    cr_assert_eq(m.an, 1);
    cr_assert_str_eq(m.rrs[0].owner, "WeB.Ns.SVC.cluster.local");
    cr_assert_eq(m.rrs[0].ip, ip(10, 96, 0, 7));
    cr_assert_eq(m.rrs[0].ttl, KC_DNS_TTL);
}

Test(dns, headless_deduplicated_and_srv_with_additional)
{
    msg m;
    ask("hl.ns.svc.cluster.local", KC_DNS_A, 0, false, &m);
    cr_assert_eq(m.an, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(m.rrs[i].ip, ip(10, 244, 0, i + 1));
    ask("_http._tcp.hl.ns.svc.cluster.local", KC_DNS_SRV, 0, false, &m);
    cr_assert_eq(m.an, 3);
    cr_assert_eq(m.ar, 3);
    for (int i = 0; i < 3; i++) {
        char h[64];
        snprintf(h, sizeof h, "h%d.hl.ns.svc.cluster.local", i + 1);
        cr_assert_eq(m.rrs[i].port, 8080);
        cr_assert_eq(m.rrs[i].weight, 33);
        cr_assert_str_eq(m.rrs[i].target, h);
        cr_assert_str_eq(m.rrs[3 + i].owner, h);
        cr_assert_eq(m.rrs[3 + i].ip, ip(10, 244, 0, i + 1));
    }
    ask("_http._tcp.web.ns.svc.cluster.local", KC_DNS_SRV, 0, false, &m);
    cr_assert_eq(m.an, 1);
    cr_assert_eq(m.rrs[0].weight, 100);
    cr_assert_str_eq(m.rrs[0].target, "web.ns.svc.cluster.local");
    cr_assert_eq(m.rrs[1].ip, ip(10, 96, 0, 7));
}

Test(dns, cname_ptr_and_any_type_at_cname)
{
    msg m;
    ask("ext.ns.svc.cluster.local", KC_DNS_A, 0, false, &m);
    cr_assert_eq(m.an, 1);
    cr_assert_eq(m.rrs[0].type, KC_DNS_CNAME);
    cr_assert_str_eq(m.rrs[0].target, "example.com");
    ask("7.0.96.10.in-addr.arpa", KC_DNS_PTR, 0, false, &m);
    cr_assert_eq(m.an, 1);
    cr_assert_str_eq(m.rrs[0].target, "web.ns.svc.cluster.local");
}

Test(dns, nxdomain_nodata_ent_refused)
{
    msg m;
    ask("nope.ns.svc.cluster.local", KC_DNS_A, 0, false, &m);
    cr_assert_eq(m.flags & 15, KC_DNS_NXDOMAIN);
    cr_assert_eq(m.an, 0);
    cr_assert_eq(m.ns, 1);
    cr_assert_eq(m.rrs[0].type, KC_DNS_SOA);
    cr_assert_str_eq(m.rrs[0].owner, "cluster.local");
    cr_assert_str_eq(m.rrs[0].target, "ns.dns.cluster.local");
    ask("web.ns.svc.cluster.local", KC_DNS_AAAA, 0, false, &m);
    cr_assert_eq(m.flags & 15, KC_DNS_NOERROR);
    cr_assert_eq(m.an, 0);
    cr_assert_eq(m.ns, 1);
    ask("ns.svc.cluster.local", KC_DNS_A, 0, false, &m); /* empty non-terminal */
    cr_assert_eq(m.flags & 15, KC_DNS_NOERROR);
    ask("1.2.3.4.in-addr.arpa", KC_DNS_PTR, 0, false, &m);
    cr_assert_eq(m.flags & 15, KC_DNS_NXDOMAIN);
    cr_assert_str_eq(m.rrs[0].owner, "in-addr.arpa");
    ask("example.com", KC_DNS_A, 0, false, &m);
    cr_assert_eq(m.flags & 15, KC_DNS_REFUSED);
    cr_assert_eq(m.flags & KC_DNS_AA, 0);
    ask("cluster.local", KC_DNS_AXFR, 0, true, &m);
    cr_assert_eq(m.flags & 15, KC_DNS_REFUSED);
    ask("cluster.local", KC_DNS_SOA, 0, false, &m);
    cr_assert_eq(m.an, 1);
    cr_assert_eq(m.rrs[0].type, KC_DNS_SOA);
}

Test(dns, truncation_edns_and_tcp)
{
    msg m;
    ask("big.ns.svc.cluster.local", KC_DNS_A, 0, false, &m);
    cr_assert(m.flags & KC_DNS_TC);
    cr_assert_eq(m.an, 0);
    size_t n = ask("big.ns.svc.cluster.local", KC_DNS_A, 4096, false, &m);
    cr_assert_eq(m.flags & KC_DNS_TC, 0);
    cr_assert_eq(m.an, 60);
    cr_assert_eq(m.ar, 1, "OPT echoed");
    cr_assert_eq(m.rrs[60].type, KC_DNS_OPT);
    cr_assert_leq(n, 4096);
    ask("big.ns.svc.cluster.local", KC_DNS_A, 0, true, &m);
    cr_assert_eq(m.an, 60);
    /* 20 SRV answers (47 bytes each) fit 1232 bytes but not with their 20 A records: additional dropped, no
     * TC */
    n = ask("_p._tcp.big.ns.svc.cluster.local", KC_DNS_SRV, 1232, false, &m);
    cr_assert_eq(m.an, 20);
    cr_assert_eq(m.ar, 1);
    cr_assert_eq(m.flags & KC_DNS_TC, 0);
    cr_assert_leq(n, 1232);
    ask("_p._tcp.big.ns.svc.cluster.local", KC_DNS_SRV, 0, true, &m);
    cr_assert_eq(m.ar, 20);
}

Test(dns, servfail_before_data_notimp_badvers)
{
    uint8_t q[600];
    size_t qn = make_query(q, "web.ns.svc.cluster.local", KC_DNS_A, 0);
    msg m;
    size_t n = kc_dns_answer(NULL, q, qn, out, 4096, false);
    decode(out, n, &m);
    cr_assert_eq(m.flags & 15, KC_DNS_SERVFAIL);
    q[2] |= 0x28; /* opcode 5 (UPDATE) */
    n = kc_dns_answer(ix, q, qn, out, 4096, false);
    decode(out, n, &m);
    cr_assert_eq(m.flags & 15, KC_DNS_NOTIMP);
    qn = make_query(q, "web.ns.svc.cluster.local", KC_DNS_A, 1232);
    q[qn - 11 + 6] = 1; /* EDNS version 1 */
    n = kc_dns_answer(ix, q, qn, out, 4096, false);
    decode(out, n, &m);
    cr_assert_eq(m.an, 0);
    cr_assert_eq(m.rrs[0].type, KC_DNS_OPT);
    cr_assert_eq(m.rrs[0].ttl >> 24, 1, "extended rcode BADVERS");
}

Test(dns, zone_rejects_bad_names_and_creates_ancestors)
{
    cr_assert_eq(kc_dns_zone_add(zone, "a..b.cluster.local", &(kc_dns_rr){.type = KC_DNS_A}), -1);
    cr_assert_eq(kc_dns_zone_add(zone, "web.example.com", &(kc_dns_rr){.type = KC_DNS_A}), -1);
    cr_assert_eq(
        kc_dns_zone_add(zone, "x.cluster.local", &(kc_dns_rr){.type = KC_DNS_CNAME, .target = "a..b"}), -1);
    size_t before = kc_dns_zone_names(zone);
    cr_assert_eq(kc_dns_zone_add(zone, "a.b.c.d.cluster.local", &(kc_dns_rr){.type = KC_DNS_A}), 0);
    cr_assert_eq(kc_dns_zone_names(zone), before + 4);
    cr_assert_null(kc_dns_zone_new("bad..domain"));
    cr_assert_gt(kc_dns_index_names(ix), 30);
}

static uint16_t rcode_of(const kc_dns_index *x, const char *name, uint16_t type, msg *m)
{
    uint8_t q[600];
    size_t qn = make_query(q, name, type, 0);
    size_t n = kc_dns_answer(x, q, qn, out, 4096, false);
    cr_assert_gt(n, 0);
    decode(out, n, m);
    return m->flags & 15;
}

Test(dns, owners_replace_their_records_and_old_indexes_stay_valid)
{
    kc_dns_zone *z = kc_dns_zone_new("cluster.local");
    kc_dns_zone_owner(z, "s/ns/a");
    kc_dns_zone_add(z, "a.ns.svc.cluster.local", &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 0, 0, 1)});
    kc_dns_zone_add(z, "h.a.ns.svc.cluster.local", &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 0, 0, 2)});
    kc_dns_zone_owner(z, "s/ns/b");
    kc_dns_zone_add(z, "b.ns.svc.cluster.local", &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 0, 0, 3)});
    kc_dns_zone_add(z, "_p._tcp.b.ns.svc.cluster.local",
                    &(kc_dns_rr){.type = KC_DNS_SRV, .port = 1, .target = "b.ns.svc.cluster.local"});
    kc_dns_zone_add(z, "a.ns.svc.cluster.local", &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 0, 0, 1)});
    kc_dns_zone_owner(z, NULL);
    kc_dns_index *v1 = kc_dns_index_build(z, 1);
    msg m;
    cr_assert_eq(rcode_of(v1, "a.ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NOERROR);
    cr_assert_eq(m.an, 1, "the same record of two owners is answered once");

    kc_dns_zone_drop(z, "s/ns/a"); /* b still has a.ns...: only h.a disappears */
    kc_dns_zone_owner(z, "s/ns/a");
    kc_dns_zone_add(z, "a.ns.svc.cluster.local", &(kc_dns_rr){.type = KC_DNS_A, .ip = ip(10, 0, 0, 9)});
    kc_dns_zone_owner(z, NULL);
    kc_dns_index *v2 = kc_dns_index_build(z, 2);
    cr_assert_eq(rcode_of(v2, "h.a.ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NXDOMAIN);
    cr_assert_eq(rcode_of(v2, "a.ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NOERROR);
    cr_assert_eq(m.an, 2);
    cr_assert_eq(m.rrs[0].ip, ip(10, 0, 0, 1));
    cr_assert_eq(m.rrs[1].ip, ip(10, 0, 0, 9));
    /* the first index still answers what it was built from */
    cr_assert_eq(rcode_of(v1, "h.a.ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NOERROR);
    cr_assert_eq(m.rrs[0].ip, ip(10, 0, 0, 2));
    kc_dns_index_free(v1);

    kc_dns_zone_drop(z, "s/ns/a");
    kc_dns_zone_drop(z, "s/ns/b"); /* the namespace's names go, empty ancestors with them */
    kc_dns_index *v3 = kc_dns_index_build(z, 3);
    cr_assert_eq(rcode_of(v3, "b.ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NXDOMAIN);
    cr_assert_eq(rcode_of(v3, "_tcp.b.ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NXDOMAIN);
    cr_assert_eq(rcode_of(v3, "ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NXDOMAIN);
    cr_assert_eq(rcode_of(v3, "svc.cluster.local", KC_DNS_A, &m), KC_DNS_NXDOMAIN);
    cr_assert_eq(rcode_of(v3, "cluster.local", KC_DNS_SOA, &m), KC_DNS_NOERROR);
    cr_assert_eq(m.rrs[0].ttl, KC_DNS_TTL);
    cr_assert_eq(rcode_of(v2, "b.ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NOERROR);
    kc_dns_zone_free(z); /* indexes outlive the zone */
    cr_assert_eq(rcode_of(v2, "b.ns.svc.cluster.local", KC_DNS_A, &m), KC_DNS_NOERROR);
    kc_dns_index_free(v2);
    kc_dns_index_free(v3);
}
