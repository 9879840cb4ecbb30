/* The zone model and its compiled index (see zone.h). The answering half lives in answer.c.
 *
 *   kc_dns_zone_add ---> znode per name (+ empty ancestors up to the apex)
 *   kc_dns_index_build -> for each name, for each record type: one pre-rendered answer
 *                         (header and question left out, compression pointers into the
 *                         question at offset 12), SRV with its targets' A records as
 *                         additional; all names hashed into one open-addressing table. */
#include "dns/zone_int.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <stdio.h>
#include <string.h>

typedef struct zrec {
    uint16_t type, port;
    uint32_t ip;
    char *target; /* text, lower case */
} zrec;

typedef struct znode {
    char *name; /* text, lower case, the map key */
    zrec *recs;
    size_t n, cap;
} znode;

struct kc_dns_zone {
    kc_map nodes;
    char *apex[KC_DNS_NAPEX];
    uint32_t serial;
};

/* ---- the zone ---- */

static char *lower_dup(const char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '.') n--;
    char *d = xstrndup(s, n);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return d;
}

static int apex_of(const kc_dns_zone *z, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < KC_DNS_NAPEX; i++) {
        size_t a = strlen(z->apex[i]);
        if (n == a && !strcmp(name, z->apex[i])) return i;
        if (n > a && name[n - a - 1] == '.' && !strcmp(name + n - a, z->apex[i])) return i;
    }
    return -1;
}

/* The node for name (lower case), created with its ancestors up to the apex when missing. */
static znode *node_get(kc_dns_zone *z, const char *name)
{
    znode *nd = kc_map_get(&z->nodes, name);
    if (nd) return nd;
    nd = xcalloc(1, sizeof *nd);
    nd->name = xstrdup(name);
    kc_map_put(&z->nodes, nd->name, nd);
    int a = apex_of(z, name);
    const char *dot = strchr(name, '.');
    if (a >= 0 && strcmp(name, z->apex[a]) && dot) node_get(z, dot + 1);
    return nd;
}

static bool rec_eq(const zrec *r, const kc_dns_rr *rr, const char *target)
{
    if (r->type != rr->type || r->ip != rr->ip || r->port != rr->port) return false;
    return (!r->target && !target) || (r->target && target && !strcmp(r->target, target));
}

static void node_add(znode *nd, const kc_dns_rr *rr, const char *target)
{
    for (size_t i = 0; i < nd->n; i++)
        if (rec_eq(&nd->recs[i], rr, target)) return;
    if (nd->n == nd->cap) {
        nd->cap = nd->cap ? nd->cap * 2 : 2;
        nd->recs = xrealloc(nd->recs, nd->cap * sizeof *nd->recs);
    }
    nd->recs[nd->n++] = (zrec){rr->type, rr->port, rr->ip, target ? xstrdup(target) : NULL};
}

static bool valid_name(const char *text)
{
    uint8_t w[KC_DNS_MAXNAME + 1];
    return kc_dns_name_from_text(text, w) > 0;
}

int kc_dns_zone_add(kc_dns_zone *z, const char *name, const kc_dns_rr *rr)
{
    char *n = lower_dup(name);
    char *t = rr->target && rr->type != KC_DNS_TXT ? lower_dup(rr->target) : NULL;
    int rc = -1;
    if (valid_name(n) && apex_of(z, n) >= 0 && (!t || valid_name(t))) {
        node_add(node_get(z, n), rr, rr->type == KC_DNS_TXT ? rr->target : t);
        rc = 0;
    }
    free(n);
    free(t);
    return rc;
}

int kc_dns_zone_add_ptr(kc_dns_zone *z, uint32_t ip, const char *target)
{
    char name[64];
    snprintf(name, sizeof name, "%u.%u.%u.%u.in-addr.arpa", ip & 255, (ip >> 8) & 255, (ip >> 16) & 255,
             ip >> 24);
    return kc_dns_zone_add(z, name, &(kc_dns_rr){.type = KC_DNS_PTR, .target = target});
}

kc_dns_zone *kc_dns_zone_new(const char *domain, uint32_t serial)
{
    if (!domain || !*domain || !valid_name(domain)) return NULL;
    kc_dns_zone *z = xcalloc(1, sizeof *z);
    z->apex[0] = lower_dup(domain);
    z->apex[1] = xstrdup("in-addr.arpa");
    z->apex[2] = xstrdup("ip6.arpa");
    z->serial = serial;
    for (int i = 0; i < KC_DNS_NAPEX; i++) {
        char ns[300];
        snprintf(ns, sizeof ns, "ns.dns.%s", z->apex[i]);
        node_add(node_get(z, z->apex[i]), &(kc_dns_rr){.type = KC_DNS_SOA}, NULL);
        node_add(node_get(z, z->apex[i]), &(kc_dns_rr){.type = KC_DNS_NS}, ns);
    }
    return z;
}

void kc_dns_zone_free(kc_dns_zone *z)
{
    if (!z) return;
    void *v;
    for (size_t it = 0; kc_map_next(&z->nodes, &it, NULL, &v);) {
        znode *nd = v;
        for (size_t i = 0; i < nd->n; i++) free(nd->recs[i].target);
        free(nd->recs);
        free(nd->name);
        free(nd);
    }
    kc_map_release(&z->nodes);
    for (int i = 0; i < KC_DNS_NAPEX; i++) free(z->apex[i]);
    free(z);
}

size_t kc_dns_zone_names(const kc_dns_zone *z)
{
    return kc_map_len(&z->nodes);
}

/* ---- compiling ---- */

static int rec_cmp(const void *a, const void *b)
{
    const zrec *x = a, *y = b;
    if (x->type != y->type) return x->type < y->type ? -1 : 1;
    if (x->ip != y->ip) return x->ip < y->ip ? -1 : 1;
    int c = strcmp(x->target ? x->target : "", y->target ? y->target : "");
    if (c) return c;
    return x->port < y->port ? -1 : x->port > y->port;
}

static void put_data(kc_dns_index *ix, const void *p, size_t n)
{
    if (ix->dlen + n > ix->dcap) {
        while (ix->dlen + n > ix->dcap) ix->dcap = ix->dcap ? ix->dcap * 2 : 65536;
        ix->data = xrealloc(ix->data, ix->dcap);
    }
    memcpy(ix->data + ix->dlen, p, n);
    ix->dlen += n;
}

static void wire_of(const char *text, uint8_t out[KC_DNS_MAXNAME + 1])
{
    if (kc_dns_name_from_text(text, out) < 0) out[0] = 0; /* validated when added */
}

/* SOA rdata for apex a: ns.dns.<apex> hostmaster.<apex> serial 7200 1800 86400 5. */
void kc_dns_w_soa(kc_dns_w *w, const kc_dns_index *ix, int a)
{
    size_t rd = kc_dns_w_rr(w, ix->apex[a], KC_DNS_SOA, KC_DNS_TTL);
    kc_dns_w_name(w, ix->mname[a]);
    kc_dns_w_name(w, ix->rname[a]);
    kc_dns_w_u32(w, ix->serial);
    kc_dns_w_u32(w, 7200);
    kc_dns_w_u32(w, 1800);
    kc_dns_w_u32(w, 86400);
    kc_dns_w_u32(w, KC_DNS_TTL);
    kc_dns_w_rdlen(w, rd);
}

/* Writes a name without compression (an SRV target, RFC 2782) but remembers it. */
static void name_plain(kc_dns_w *w, const uint8_t *name)
{
    size_t at = w->len, n = 1;
    for (const uint8_t *p = name; *p; p += 1 + *p) n += 1 + *p;
    kc_dns_w_bytes(w, name, n);
    if (!w->full) kc_dns_w_mark_name(w, at);
}

static void write_rdata(kc_dns_w *w, const kc_dns_index *ix, const zrec *r, size_t count, int apex)
{
    uint8_t t[KC_DNS_MAXNAME + 1];
    switch (r->type) {
    case KC_DNS_A: kc_dns_w_u32(w, r->ip); break;
    case KC_DNS_CNAME:
    case KC_DNS_PTR:
    case KC_DNS_NS:
        wire_of(r->target, t);
        kc_dns_w_name(w, t);
        break;
    case KC_DNS_SRV:
        kc_dns_w_u16(w, 0);
        kc_dns_w_u16(w, (uint16_t)(100 / (count ? count : 1)));
        kc_dns_w_u16(w, r->port);
        wire_of(r->target, t);
        name_plain(w, t);
        break;
    case KC_DNS_TXT: {
        size_t n = strlen(r->target);
        kc_dns_w_u8(w, (uint8_t)(n > 255 ? 255 : n));
        kc_dns_w_bytes(w, r->target, n > 255 ? 255 : n);
        break;
    }
    default: break;
    }
    (void)ix;
    (void)apex;
}

/* Appends one record unless the message would pass 64 KiB; false when it did not fit. */
static bool write_rec(kc_dns_w *w, const kc_dns_index *ix, const uint8_t *owner, const zrec *r, size_t count,
                      int apex)
{
    size_t before = w->len;
    if (r->type == KC_DNS_SOA) {
        kc_dns_w_soa(w, ix, apex);
    } else {
        size_t rd = kc_dns_w_rr(w, owner, r->type, KC_DNS_TTL);
        write_rdata(w, ix, r, count, apex);
        kc_dns_w_rdlen(w, rd);
    }
    if (!w->full) return true;
    kc_dns_w_truncate(w, before);
    return false;
}

/* A records of every distinct SRV target, as additional records. */
static uint16_t write_additional(kc_dns_w *w, const kc_dns_zone *z, const kc_dns_index *ix, const zrec *r,
                                 size_t n)
{
    uint16_t ar = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = !strcmp(r[j].target, r[i].target);
        znode *t = seen ? NULL : kc_map_get(&z->nodes, r[i].target);
        if (!t) continue;
        uint8_t owner[KC_DNS_MAXNAME + 1];
        wire_of(t->name, owner);
        for (size_t k = 0; k < t->n; k++)
            if (t->recs[k].type == KC_DNS_A && write_rec(w, ix, owner, &t->recs[k], 1, 0)) ar++;
    }
    return ar;
}

/* Renders the rrset recs[0..n) (one type) of name into ix->data and records it. */
static void compile_set(kc_dns_index *ix, const kc_dns_zone *z, kc_dns_w *wp, const uint8_t *name, size_t nlen,
                        const zrec *r, size_t n, int apex)
{
    kc_dns_w w = *wp;
    kc_dns_w_truncate(&w, 0);
    uint8_t hdr[KC_DNS_HDR] = {0};
    kc_dns_w_bytes(&w, hdr, sizeof hdr);
    kc_dns_w_bytes(&w, name, nlen);
    kc_dns_w_mark_name(&w, KC_DNS_HDR);
    kc_dns_w_u16(&w, r->type);
    kc_dns_w_u16(&w, 1);
    size_t qend = w.len;
    uint16_t an = 0, ar = 0;
    for (size_t i = 0; i < n; i++)
        if (write_rec(&w, ix, name, &r[i], n, apex)) an++;
    size_t an_end = w.len;
    if (r->type == KC_DNS_SRV) ar = write_additional(&w, z, ix, r, n);
    ix_set *s = &ix->sets[ix->nsets++];
    *s = (ix_set){r->type, an, ar, (uint32_t)ix->dlen, (uint16_t)(an_end - qend), (uint16_t)(w.len - qend)};
    put_data(ix, w.buf + qend, w.len - qend);
    *wp = w; /* the buffers are reused for the next set */
}

static uint64_t hash_name(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static void compile_node(kc_dns_index *ix, const kc_dns_zone *z, kc_dns_w *w, znode *nd)
{
    uint8_t name[KC_DNS_MAXNAME + 1];
    int nlen = kc_dns_name_from_text(nd->name, name);
    if (nlen < 0) return;
    qsort(nd->recs, nd->n, sizeof *nd->recs, rec_cmp);
    ix_ent *e = &ix->ents[ix->nents++];
    e->name_off = (uint32_t)ix->dlen;
    e->name_len = (uint16_t)nlen;
    e->hash = hash_name(name, (size_t)nlen);
    e->set0 = (uint32_t)ix->nsets;
    put_data(ix, name, (size_t)nlen);
    while (ix->nsets + nd->n + 1 > ix->setcap) {
        ix->setcap = ix->setcap ? ix->setcap * 2 : 1024;
        ix->sets = xrealloc(ix->sets, ix->setcap * sizeof *ix->sets);
    }
    int apex = apex_of(z, nd->name);
    for (size_t i = 0; i < nd->n;) {
        size_t j = i;
        while (j < nd->n && nd->recs[j].type == nd->recs[i].type) j++;
        compile_set(ix, z, w, name, (size_t)nlen, nd->recs + i, j - i, apex);
        i = j;
    }
    e->nsets = (uint16_t)(ix->nsets - e->set0);
}

static void hash_all(kc_dns_index *ix)
{
    size_t cap = 16;
    while (cap < ix->nents * 2) cap *= 2;
    ix->slots = xcalloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    for (size_t i = 0; i < ix->nents; i++) {
        size_t s = ix->ents[i].hash & ix->mask;
        while (ix->slots[s]) s = (s + 1) & ix->mask;
        ix->slots[s] = (uint32_t)i + 1;
    }
}

kc_dns_index *kc_dns_index_build(const kc_dns_zone *z)
{
    kc_dns_index *ix = xcalloc(1, sizeof *ix);
    ix->serial = z->serial;
    for (int i = 0; i < KC_DNS_NAPEX; i++) {
        char t[300];
        wire_of(z->apex[i], ix->apex[i]);
        ix->apex_len[i] = (size_t)kc_dns_name_from_text(z->apex[i], ix->apex[i]);
        snprintf(t, sizeof t, "ns.dns.%s", z->apex[i]);
        wire_of(t, ix->mname[i]);
        snprintf(t, sizeof t, "hostmaster.%s", z->apex[i]);
        wire_of(t, ix->rname[i]);
    }
    ix->ents = xcalloc(kc_map_len(&z->nodes) + 1, sizeof *ix->ents);
    kc_dns_w w;
    kc_dns_w_init(&w, NULL, 0, true);
    void *v;
    for (size_t it = 0; kc_map_next(&z->nodes, &it, NULL, &v);) compile_node(ix, z, &w, v);
    kc_dns_w_release(&w);
    hash_all(ix);
    return ix;
}

void kc_dns_index_free(kc_dns_index *ix)
{
    if (!ix) return;
    free(ix->data);
    free(ix->ents);
    free(ix->sets);
    free(ix->slots);
    free(ix);
}

size_t kc_dns_index_names(const kc_dns_index *ix)
{
    return ix->nents;
}

const ix_ent *kc_dns_index_find(const kc_dns_index *ix, const uint8_t *name, size_t len)
{
    uint64_t h = hash_name(name, len);
    for (size_t s = h & ix->mask;; s = (s + 1) & ix->mask) {
        uint32_t i = ix->slots[s];
        if (!i) return NULL;
        const ix_ent *e = &ix->ents[i - 1];
        if (e->hash == h && e->name_len == len && !memcmp(ix->data + e->name_off, name, len)) return e;
    }
}
