/* Answering one query from a compiled index (see zone.h): the per-packet hot path.
 *
 *   parse (malformed: drop) -> opcode/EDNS version/class checks -> apex of the name
 *     no apex             -> REFUSED
 *     name not in index   -> NXDOMAIN, SOA of the apex in authority
 *     rrset of the type   -> copy it (CNAME answers any type at its name)
 *     otherwise           -> NODATA (NOERROR, SOA in authority)
 *   too big for UDP       -> drop the additional records; still too big: TC, no records
 *
 * The question is copied as sent (its case kept); the pre-rendered records point into it. */
#include "dns/zone_int.h"
#include <string.h>

#define OPT_LEN 11
#define EDNS_SIZE 1232 /* advertised UDP payload size (the DNS flag day 2020 value) */

typedef struct reply {
    uint16_t flags, an, ns, ar;
    kc_dns_w w;
} reply;

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void finish_header(reply *r, const kc_dns_query *q)
{
    uint8_t *h = r->w.buf;
    put16(h, q->id);
    put16(h + 2, r->flags);
    put16(h + 4, 1);
    put16(h + 6, r->an);
    put16(h + 8, r->ns);
    put16(h + 10, r->ar);
}

static void write_opt(reply *r, const kc_dns_query *q, uint8_t ext_rcode)
{
    if (!q->edns) return;
    kc_dns_w_u8(&r->w, 0);
    kc_dns_w_u16(&r->w, KC_DNS_OPT);
    kc_dns_w_u16(&r->w, EDNS_SIZE);
    kc_dns_w_u8(&r->w, ext_rcode);
    kc_dns_w_u8(&r->w, 0);
    kc_dns_w_u16(&r->w, q->do_bit ? 0x8000 : 0);
    kc_dns_w_u16(&r->w, 0);
    r->ar++;
}

static int find_apex(const kc_dns_index *ix, const kc_dns_query *q, int *off)
{
    for (int a = 0; a < KC_DNS_NAPEX; a++) {
        *off = kc_dns_name_suffix(q->name, q->name_len, ix->apex[a], ix->apex_len[a]);
        if (*off >= 0) return a;
    }
    return -1;
}

static const ix_set *find_set(const ix_name *e, uint16_t qtype)
{
    const ix_set *cname = NULL;
    for (uint16_t i = 0; i < e->nsets; i++) {
        const ix_set *s = &e->sets[i];
        if (s->type == qtype) return s;
        if (s->type == KC_DNS_CNAME) cname = s;
    }
    if (!cname && qtype == KC_DNS_ANY && e->nsets) return &e->sets[0]; /* RFC 8482: one set */
    return cname;
}

/* Copies an rrset, leaving out what does not fit in limit bytes (TC when answers do not). */
static void copy_set(reply *r, const ix_name *e, const ix_set *s, size_t limit)
{
    const uint8_t *d = e->data + s->off;
    if (r->w.len + s->bytes <= limit) {
        kc_dns_w_bytes(&r->w, d, s->bytes);
        r->an = s->an;
        r->ar = s->ar;
    } else if (r->w.len + s->an_bytes <= limit) {
        kc_dns_w_bytes(&r->w, d, s->an_bytes);
        r->an = s->an;
    } else {
        r->flags |= KC_DNS_TC;
    }
}

static void negative(reply *r, const kc_dns_index *ix, int apex, uint16_t rcode)
{
    r->flags |= rcode;
    kc_dns_w_mark_name(&r->w, KC_DNS_HDR);
    kc_dns_w_soa(&r->w, ix, apex);
    r->ns = 1;
}

/* The answer proper, for a query in one of the apexes. */
static void lookup(reply *r, const kc_dns_index *ix, const kc_dns_query *q, int apex, size_t limit)
{
    r->flags |= KC_DNS_AA;
    if (q->qtype == KC_DNS_AXFR || q->qtype == KC_DNS_IXFR) {
        r->flags = (uint16_t)((r->flags & ~KC_DNS_AA) | KC_DNS_REFUSED);
        return;
    }
    const ix_name *e = kc_dns_index_find(ix, q->name, q->name_len);
    if (!e) return negative(r, ix, apex, KC_DNS_NXDOMAIN);
    const ix_set *s = find_set(e, q->qtype);
    if (!s) return negative(r, ix, apex, KC_DNS_NOERROR);
    copy_set(r, e, s, limit);
}

static size_t udp_limit(const kc_dns_query *q, size_t cap)
{
    size_t l = 512;
    if (q->edns && q->udp_size > 512) l = q->udp_size > 4096 ? 4096 : q->udp_size;
    return l < cap ? l : cap;
}

size_t kc_dns_answer(const kc_dns_index *ix, const uint8_t *pkt, size_t n, uint8_t *out, size_t cap, bool tcp)
{
    kc_dns_query q;
    if (cap < 512 || kc_dns_parse_query(pkt, n, &q) < 0) return 0;
    size_t limit = tcp ? (cap < 65535 ? cap : 65535) : udp_limit(&q, cap);
    reply r = {.flags = (uint16_t)(KC_DNS_QR | (q.flags & (0x7800 | KC_DNS_RD | KC_DNS_CD)))};
    if (KC_DNS_HDR + (q.qend - KC_DNS_HDR) + OPT_LEN > limit) return 0;
    kc_dns_w_init(&r.w, out, limit - (q.edns ? OPT_LEN : 0), false);
    r.w.len = KC_DNS_HDR;
    kc_dns_w_bytes(&r.w, pkt + KC_DNS_HDR, q.qend - KC_DNS_HDR);
    uint8_t ext = 0;
    int off, apex;
    if (q.flags & 0x7800)
        r.flags |= KC_DNS_NOTIMP;
    else if (q.edns && q.edns_version > 0)
        ext = KC_DNS_BADVERS >> 4;
    else if (!ix)
        r.flags |= KC_DNS_SERVFAIL;
    else if ((q.qclass != 1 && q.qclass != KC_DNS_ANY) || (apex = find_apex(ix, &q, &off)) < 0)
        r.flags |= KC_DNS_REFUSED;
    else
        lookup(&r, ix, &q, apex, r.w.cap);
    r.w.cap = limit;
    r.w.full = false;
    write_opt(&r, &q, ext);
    finish_header(&r, &q);
    size_t len = r.w.len;
    kc_dns_w_release(&r.w);
    return len;
}
