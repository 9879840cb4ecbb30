/* The zone model and its compiled index (see zone.h). The answering half lives in answer.c.
 *
 *   kc_dns_zone_add  ---> record (tagged with the current owner) on the znode of its name,
 *                         created with its empty ancestors up to the apex; the node is dirty
 *   kc_dns_zone_drop ---> the owner's records removed from the nodes it touched; dirty
 *   kc_dns_index_build -> sweep: dirty nodes without records or children are deleted (their
 *                         parents become dirty); compile: each dirty node gets a new ix_name
 *                         (per record type one pre-rendered answer, header and question left
 *                         out, compression pointers into the question at offset 12; SRV with
 *                         its targets' A records as additional); then every node's current
 *                         ix_name goes into a new hash table, one reference each.
 *
 * SRV targets are names of the same owner (<host>.<svc>... and <svc>... for a Service), so the
 * additional records of an SRV name are current whenever its owner's names are recompiled:
 * kc_dns_zone_drop and the adds that follow it dirty them all. */
#include "dns/zone_int.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <stdio.h>
#include <string.h>

typedef struct owner owner;

typedef struct zrec {
    uint16_t type, port;
    uint32_t ip;
    char *target; /* text, lower case */
    const owner *own;
} zrec;

typedef struct znode {
    char *name; /* text, lower case, the map key */
    struct znode *parent;
    zrec *recs;
    size_t n, cap, children;
    int apex; /* index of its apex */
    bool dirty, dead;
    ix_name *compiled;
} znode;

struct owner {
    char *key;
    znode **nodes; /* nodes with a record of this owner (repeats possible) */
    size_t n, cap;
};

struct kc_dns_zone {
    kc_map nodes, owners;
    char *apex[KC_DNS_NAPEX];
    owner *cur;
    znode **dirty;
    size_t ndirty, capdirty;
};

/* ---- compiled names ---- */

static void name_unref(ix_name *c)
{
    if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(c->sets);
        free(c->data);
        free(c);
    }
}

static void name_ref(ix_name *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

/* ---- the zone ---- */

static char *lower_dup(const char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '.')
        n--;
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

static void mark_dirty(kc_dns_zone *z, znode *nd)
{
    if (nd->dirty) return;
    nd->dirty = true;
    if (z->ndirty == z->capdirty) {
        z->capdirty = z->capdirty ? z->capdirty * 2 : 256;
        z->dirty = xrealloc(z->dirty, z->capdirty * sizeof *z->dirty);
    }
    z->dirty[z->ndirty++] = nd;
}

/* The node for name (lower case, inside apex a), created with its ancestors when missing. */
static znode *node_get(kc_dns_zone *z, const char *name, int a)
{
    znode *nd = kc_map_get(&z->nodes, name);
    if (nd) return nd;
    nd = xcalloc(1, sizeof *nd);
    nd->name = xstrdup(name);
    nd->apex = a;
    kc_map_put(&z->nodes, nd->name, nd);
    const char *dot = strchr(name, '.');
    if (strcmp(name, z->apex[a]) && dot) {
        nd->parent = node_get(z, dot + 1, a);
        nd->parent->children++;
    }
    mark_dirty(z, nd);
    return nd;
}

static bool rec_eq(const zrec *r, const kc_dns_rr *rr, const char *target)
{
    if (r->type != rr->type || r->ip != rr->ip || r->port != rr->port) return false;
    return (!r->target && !target) || (r->target && target && !strcmp(r->target, target));
}

static void node_add(kc_dns_zone *z, znode *nd, const kc_dns_rr *rr, const char *target)
{
    for (size_t i = 0; i < nd->n; i++)
        if (rec_eq(&nd->recs[i], rr, target) && nd->recs[i].own == z->cur) return;
    if (nd->n == nd->cap) {
        nd->cap = nd->cap ? nd->cap * 2 : 2;
        nd->recs = xrealloc(nd->recs, nd->cap * sizeof *nd->recs);
    }
    nd->recs[nd->n++] = (zrec){rr->type, rr->port, rr->ip, target ? xstrdup(target) : NULL, z->cur};
    mark_dirty(z, nd);
    owner *o = z->cur;
    if (!o || (o->n && o->nodes[o->n - 1] == nd)) return;
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 4;
        o->nodes = xrealloc(o->nodes, o->cap * sizeof *o->nodes);
    }
    o->nodes[o->n++] = nd;
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
    int rc = -1, a = valid_name(n) ? apex_of(z, n) : -1;
    if (a >= 0 && (!t || valid_name(t))) {
        node_add(z, node_get(z, n, a), rr, rr->type == KC_DNS_TXT ? rr->target : t);
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

void kc_dns_zone_owner(kc_dns_zone *z, const char *key)
{
    if (!key) {
        z->cur = NULL;
        return;
    }
    owner *o = kc_map_get(&z->owners, key);
    if (!o) {
        o = xcalloc(1, sizeof *o);
        o->key = xstrdup(key);
        kc_map_put(&z->owners, o->key, o);
    }
    z->cur = o;
}

static void node_drop(kc_dns_zone *z, znode *nd, const owner *o)
{
    size_t k = 0;
    for (size_t i = 0; i < nd->n; i++) {
        if (nd->recs[i].own == o)
            free(nd->recs[i].target);
        else
            nd->recs[k++] = nd->recs[i];
    }
    if (k != nd->n) mark_dirty(z, nd);
    nd->n = k;
}

void kc_dns_zone_drop(kc_dns_zone *z, const char *key)
{
    owner *o = kc_map_del(&z->owners, key);
    if (!o) return;
    for (size_t i = 0; i < o->n; i++)
        node_drop(z, o->nodes[i], o);
    if (z->cur == o) z->cur = NULL;
    free(o->nodes);
    free(o->key);
    free(o);
}

kc_dns_zone *kc_dns_zone_new(const char *domain)
{
    if (!domain || !*domain || !valid_name(domain)) return NULL;
    kc_dns_zone *z = xcalloc(1, sizeof *z);
    z->apex[0] = lower_dup(domain);
    z->apex[1] = xstrdup("in-addr.arpa");
    z->apex[2] = xstrdup("ip6.arpa");
    for (int i = 0; i < KC_DNS_NAPEX; i++) {
        char ns[300];
        snprintf(ns, sizeof ns, "ns.dns.%s", z->apex[i]);
        node_add(z, node_get(z, z->apex[i], i), &(kc_dns_rr){.type = KC_DNS_SOA}, NULL);
        node_add(z, node_get(z, z->apex[i], i), &(kc_dns_rr){.type = KC_DNS_NS}, ns);
    }
    return z;
}

static void node_free(znode *nd)
{
    for (size_t i = 0; i < nd->n; i++)
        free(nd->recs[i].target);
    name_unref(nd->compiled);
    free(nd->recs);
    free(nd->name);
    free(nd);
}

void kc_dns_zone_free(kc_dns_zone *z)
{
    if (!z) return;
    void *v;
    for (size_t it = 0; kc_map_next(&z->nodes, &it, NULL, &v);)
        node_free(v);
    for (size_t it = 0; kc_map_next(&z->owners, &it, NULL, &v);) {
        free(((owner *)v)->nodes);
        free(((owner *)v)->key);
        free(v);
    }
    kc_map_release(&z->nodes);
    kc_map_release(&z->owners);
    for (int i = 0; i < KC_DNS_NAPEX; i++)
        free(z->apex[i]);
    free(z->dirty);
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
    for (const uint8_t *p = name; *p; p += 1 + *p)
        n += 1 + *p;
    kc_dns_w_bytes(w, name, n);
    if (!w->full) kc_dns_w_mark_name(w, at);
}

static void write_rdata(kc_dns_w *w, const zrec *r, size_t count)
{
    uint8_t t[KC_DNS_MAXNAME + 1];
    switch (r->type) {
    case KC_DNS_A:
        kc_dns_w_u32(w, r->ip);
        break;
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
    default:
        break;
    }
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
        write_rdata(w, r, count);
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
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(r[j].target, r[i].target);
        znode *t = seen ? NULL : kc_map_get(&z->nodes, r[i].target);
        if (!t) continue;
        uint8_t owner[KC_DNS_MAXNAME + 1];
        wire_of(t->name, owner);
        for (size_t k = 0; k < t->n; k++)
            if (t->recs[k].type == KC_DNS_A && write_rec(w, ix, owner, &t->recs[k], 1, 0)) ar++;
    }
    return ar;
}

/* Growing byte buffer of one compiled name. */
typedef struct cbuf {
    uint8_t *p;
    size_t len, cap;
} cbuf;

static void cbuf_put(cbuf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap)
            b->cap = b->cap ? b->cap * 2 : 128;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Renders the rrset r[0..n) (one type) of name into c (sets) and b (bytes). */
static void compile_set(const kc_dns_zone *z, const kc_dns_index *ix, kc_dns_w *w, ix_name *c, cbuf *b,
                        const uint8_t *name, const zrec *r, size_t n, int apex)
{
    kc_dns_w_truncate(w, 0);
    uint8_t hdr[KC_DNS_HDR] = {0};
    kc_dns_w_bytes(w, hdr, sizeof hdr);
    kc_dns_w_bytes(w, name, c->name_len);
    kc_dns_w_mark_name(w, KC_DNS_HDR);
    kc_dns_w_u16(w, r->type);
    kc_dns_w_u16(w, 1);
    size_t qend = w->len;
    uint16_t an = 0, ar = 0;
    for (size_t i = 0; i < n; i++)
        if (write_rec(w, ix, name, &r[i], n, apex)) an++;
    size_t an_end = w->len;
    if (r->type == KC_DNS_SRV) ar = write_additional(w, z, ix, r, n);
    c->sets[c->nsets++] =
        (ix_set){r->type, an, ar, (uint32_t)b->len, (uint16_t)(an_end - qend), (uint16_t)(w->len - qend)};
    cbuf_put(b, w->buf + qend, w->len - qend);
}

/* FNV-1a over the wire name, then a full avalanche (the low bits pick the slot: plain FNV-1a's
 * low bits depend only on the inputs' low bits). */
static uint64_t hash_name(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* A slot: the name's index + 1 in the low half (0: empty), its hash's high half above, so that
 * a probe rejects other names without touching them. */
static uint64_t slot_of(uint64_t hash, size_t i)
{
    return (hash & 0xFFFFFFFF00000000ULL) | (uint64_t)(i + 1);
}

static ix_name *compile_node(const kc_dns_zone *z, const kc_dns_index *ix, kc_dns_w *w, znode *nd)
{
    uint8_t name[KC_DNS_MAXNAME + 1];
    int nlen = kc_dns_name_from_text(nd->name, name);
    ix_name *c = xcalloc(1, sizeof *c);
    c->refs = 1;
    c->name_len = (uint16_t)(nlen > 0 ? nlen : 1);
    c->hash = hash_name(name, c->name_len);
    c->sets = xcalloc(nd->n + 1, sizeof *c->sets);
    cbuf b = {0};
    cbuf_put(&b, name, c->name_len);
    qsort(nd->recs, nd->n, sizeof *nd->recs, rec_cmp);
    zrec *u = xmalloc((nd->n + 1) * sizeof *u); /* distinct records (owners may repeat one) */
    size_t nu = 0;
    for (size_t i = 0; i < nd->n; i++)
        if (!nu || rec_cmp(&u[nu - 1], &nd->recs[i])) u[nu++] = nd->recs[i];
    for (size_t i = 0; i < nu;) {
        size_t j = i;
        while (j < nu && u[j].type == u[i].type)
            j++;
        if (u[i].type != KC_DNS_EXISTS) compile_set(z, ix, w, c, &b, name, u + i, j - i, nd->apex);
        i = j;
    }
    free(u);
    c->data = b.p;
    return c;
}

/* Deletes dirty nodes left without records or children, and then the ancestors that this
 * leaves empty (every deleted node is on the dirty list, where compile_dirty frees it). */
static void sweep(kc_dns_zone *z)
{
    for (size_t i = 0; i < z->ndirty; i++) {
        for (znode *nd = z->dirty[i]; !nd->dead && !nd->n && !nd->children && nd->parent; nd = nd->parent) {
            kc_map_del(&z->nodes, nd->name);
            nd->dead = true;
            nd->parent->children--;
            mark_dirty(z, nd->parent);
        }
    }
}

static void compile_dirty(kc_dns_zone *z, const kc_dns_index *ix)
{
    kc_dns_w w;
    kc_dns_w_init(&w, NULL, 0, true);
    for (size_t i = 0; i < z->ndirty; i++) {
        znode *nd = z->dirty[i];
        nd->dirty = false;
        if (nd->dead) {
            node_free(nd);
            continue;
        }
        name_unref(nd->compiled);
        nd->compiled = compile_node(z, ix, &w, nd);
    }
    z->ndirty = 0;
    kc_dns_w_release(&w);
}

static void hash_all(kc_dns_index *ix)
{
    size_t cap = 16;
    while (cap < ix->nnames * 2)
        cap *= 2;
    ix->slots = xcalloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    for (size_t i = 0; i < ix->nnames; i++) {
        size_t s = ix->names[i]->hash & ix->mask;
        while (ix->slots[s])
            s = (s + 1) & ix->mask;
        ix->slots[s] = slot_of(ix->names[i]->hash, i);
    }
}

kc_dns_index *kc_dns_index_build(kc_dns_zone *z, uint32_t serial)
{
    kc_dns_index *ix = xcalloc(1, sizeof *ix);
    ix->serial = serial;
    for (int i = 0; i < KC_DNS_NAPEX; i++) {
        char t[300];
        ix->apex_len[i] = (size_t)kc_dns_name_from_text(z->apex[i], ix->apex[i]);
        snprintf(t, sizeof t, "ns.dns.%s", z->apex[i]);
        wire_of(t, ix->mname[i]);
        snprintf(t, sizeof t, "hostmaster.%s", z->apex[i]);
        wire_of(t, ix->rname[i]);
        mark_dirty(z, kc_map_get(&z->nodes, z->apex[i])); /* its SOA carries the serial */
    }
    sweep(z);
    compile_dirty(z, ix);
    ix->names = xmalloc((kc_map_len(&z->nodes) + 1) * sizeof *ix->names);
    void *v;
    for (size_t it = 0; kc_map_next(&z->nodes, &it, NULL, &v);) {
        ix_name *c = ((znode *)v)->compiled;
        name_ref(c);
        ix->names[ix->nnames++] = c;
    }
    hash_all(ix);
    return ix;
}

void kc_dns_index_free(kc_dns_index *ix)
{
    if (!ix) return;
    for (size_t i = 0; i < ix->nnames; i++)
        name_unref(ix->names[i]);
    free(ix->names);
    free(ix->slots);
    free(ix);
}

size_t kc_dns_index_names(const kc_dns_index *ix)
{
    return ix->nnames;
}

const ix_name *kc_dns_index_find(const kc_dns_index *ix, const uint8_t *name, size_t len)
{
    uint64_t h = hash_name(name, len), tag = h & 0xFFFFFFFF00000000ULL;
    for (size_t s = h & ix->mask;; s = (s + 1) & ix->mask) {
        uint64_t v = ix->slots[s];
        if (!v) return NULL;
        if ((v & 0xFFFFFFFF00000000ULL) != tag) continue;
        const ix_name *e = ix->names[(uint32_t)v - 1];
        if (e->name_len == len && !memcmp(e->data, name, len)) return e;
    }
}
