/* DNS wire format: query parsing, name conversion and the compressing writer (see wire.h).
 * Every read is bounds-checked against the packet length: this is the code the fuzz target
 * (tests/fuzz/fuzz_dns.c) drives with arbitrary bytes. */
#include "dns/wire.h"
#include "lib/xalloc.h"
#include <ctype.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Skips a possibly compressed name of a record (not the question); returns the offset after it
 * or -1. Pointers are not followed: only the bytes in place matter for skipping. */
static long skip_name(const uint8_t *p, size_t n, size_t off)
{
    for (size_t total = 0;;) {
        if (off >= n) return -1;
        uint8_t l = p[off];
        if ((l & 0xC0) == 0xC0) return off + 2 <= n ? (long)off + 2 : -1;
        if (l & 0xC0) return -1;
        off += 1 + (size_t)l;
        total += 1 + (size_t)l;
        if (total > KC_DNS_MAXNAME) return -1;
        if (l == 0) return (long)off;
    }
}

/* The question name: uncompressed labels, folded to lower case into q->name. */
static long read_qname(const uint8_t *p, size_t n, size_t off, kc_dns_query *q)
{
    size_t len = 0;
    for (;;) {
        if (off >= n) return -1;
        uint8_t l = p[off];
        if (l & 0xC0 || len + 1 + l > KC_DNS_MAXNAME || off + 1 + l > n) return -1;
        q->name[len++] = l;
        for (size_t i = 0; i < l; i++)
            q->name[len++] = (uint8_t)tolower(p[off + 1 + i]);
        off += 1 + (size_t)l;
        if (l == 0) break;
    }
    q->name_len = len;
    return (long)off;
}

/* One additional-section record; an OPT at the root sets the EDNS fields. */
static long read_additional(const uint8_t *p, size_t n, size_t off, kc_dns_query *q)
{
    long o = skip_name(p, n, off);
    if (o < 0 || (size_t)o + 10 > n) return -1;
    const uint8_t *rr = p + o;
    size_t rdlen = rd16(rr + 8);
    if ((size_t)o + 10 + rdlen > n) return -1;
    if (rd16(rr) == KC_DNS_OPT) {
        if (q->edns || (size_t)o != off + 1 || p[off] != 0) return -1; /* one OPT, owner root */
        q->edns = true;
        q->udp_size = rd16(rr + 2);
        q->edns_version = rr[5];
        q->do_bit = rr[6] & 0x80;
    }
    return o + 10 + (long)rdlen;
}

int kc_dns_parse_query(const uint8_t *p, size_t n, kc_dns_query *q)
{
    memset(q, 0, offsetof(kc_dns_query, name));
    q->edns = false;
    if (n < KC_DNS_HDR || n > 65535) return -1;
    q->id = rd16(p);
    q->flags = rd16(p + 2);
    if (q->flags & KC_DNS_QR) return -1;
    if (rd16(p + 4) != 1 || rd16(p + 6) || rd16(p + 8)) return -1;
    long off = read_qname(p, n, KC_DNS_HDR, q);
    if (off < 0 || (size_t)off + 4 > n) return -1;
    q->qtype = rd16(p + off);
    q->qclass = rd16(p + off + 2);
    q->qend = (size_t)off + 4;
    q->edns = false;
    q->do_bit = false;
    q->edns_version = 0;
    q->udp_size = 0;
    off = (long)q->qend;
    for (unsigned i = rd16(p + 10); i > 0; i--)
        if ((off = read_additional(p, n, (size_t)off, q)) < 0) return -1;
    return 0;
}

int kc_dns_name_from_text(const char *text, uint8_t out[KC_DNS_MAXNAME + 1])
{
    size_t len = 0;
    const char *s = text;
    if (s[0] == '.' && s[1] == 0) s++;
    while (*s) {
        size_t l = strcspn(s, ".");
        if (l == 0 || l > 63 || len + 1 + l + 1 > KC_DNS_MAXNAME) return -1;
        out[len++] = (uint8_t)l;
        for (size_t i = 0; i < l; i++)
            out[len++] = (uint8_t)tolower((unsigned char)s[i]);
        s += l;
        if (*s == '.') s++;
    }
    out[len++] = 0;
    return (int)len;
}

void kc_dns_name_to_text(const uint8_t *wire, char out[KC_DNS_MAXNAME + 1])
{
    size_t o = 0;
    for (const uint8_t *p = wire; *p; p += 1 + *p) {
        if (o) out[o++] = '.';
        memcpy(out + o, p + 1, *p);
        o += *p;
    }
    out[o] = 0;
}

int kc_dns_name_suffix(const uint8_t *name, size_t len, const uint8_t *apex, size_t alen)
{
    for (size_t off = 0; off < len; off += 1 + name[off]) {
        if (len - off == alen && memcmp(name + off, apex, alen) == 0) return (int)off;
        if (name[off] == 0) break;
    }
    return -1;
}

/* ---- the writer ---- */

void kc_dns_w_init(kc_dns_w *w, uint8_t *buf, size_t cap, bool grow)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
    w->grow = grow;
}

void kc_dns_w_release(kc_dns_w *w)
{
    free(w->marks);
    free(w->tab);
    if (w->grow) free(w->buf);
    w->marks = NULL;
    w->tab = NULL;
    w->buf = NULL;
}

static bool room(kc_dns_w *w, size_t n)
{
    if (w->len + n <= w->cap) return true;
    if (!w->grow || w->len + n > 65535) {
        w->full = true;
        return false;
    }
    while (w->cap < w->len + n)
        w->cap = w->cap ? w->cap * 2 : 512;
    w->buf = xrealloc(w->buf, w->cap);
    return true;
}

void kc_dns_w_bytes(kc_dns_w *w, const void *p, size_t n)
{
    if (w->full || !room(w, n)) return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void kc_dns_w_u8(kc_dns_w *w, uint8_t v)
{
    kc_dns_w_bytes(w, &v, 1);
}

void kc_dns_w_u16(kc_dns_w *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    kc_dns_w_bytes(w, b, 2);
}

void kc_dns_w_u32(kc_dns_w *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    kc_dns_w_bytes(w, b, 4);
}

/* Name compression: every label start written uncompressed is a mark, keyed by the hash of the
 * name from there on. Few marks are scanned; past MARKS_SCAN a hash table finds them. */
#define MARKS_SCAN 16

static uint64_t label_hash(const uint8_t *l, uint64_t next)
{
    uint64_t h = next ^ 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i <= l[0]; i++)
        h = (h ^ (uint8_t)tolower(l[i])) * 1099511628211ULL;
    return h ^ (h >> 31);
}

/* Label starts of wire name (at most 128) and the hash of every suffix. */
static size_t suffix_hashes(const uint8_t *name, const uint8_t **lab, uint64_t *hs)
{
    size_t n = 0;
    for (const uint8_t *p = name; *p && n < 128; p += 1 + *p)
        lab[n++] = p;
    uint64_t h = 0;
    for (size_t i = n; i-- > 0;)
        hs[i] = h = label_hash(lab[i], h);
    return n;
}

static void tab_put(kc_dns_w *w, size_t i)
{
    size_t s = w->marks[i].hash & (w->tabcap - 1);
    while (w->tab[s])
        s = (s + 1) & (w->tabcap - 1);
    w->tab[s] = (uint32_t)i + 1;
    w->tabn++;
}

static void tab_build(kc_dns_w *w)
{
    free(w->tab);
    w->tabcap = 64;
    while (w->tabcap < w->nmarks * 4)
        w->tabcap *= 2;
    w->tab = xcalloc(w->tabcap, sizeof *w->tab);
    w->tabn = 0;
    for (size_t i = 0; i < w->nmarks; i++)
        tab_put(w, i);
}

static void mark(kc_dns_w *w, size_t off, uint64_t hash)
{
    if (off > 0x3FFF) return; /* beyond a pointer's reach */
    if (w->nmarks == w->capmarks) {
        w->capmarks = w->capmarks ? w->capmarks * 2 : 32;
        w->marks = xrealloc(w->marks, w->capmarks * sizeof *w->marks);
    }
    w->marks[w->nmarks++] = (kc_dns_mark){hash, (uint16_t)off};
    if (w->tab && (w->tabn + 1) * 2 > w->tabcap)
        tab_build(w);
    else if (w->tab)
        tab_put(w, w->nmarks - 1);
}

/* Does the name at buf offset off (following pointers) equal the wire name s, ignoring case? */
static bool name_at_eq(const kc_dns_w *w, size_t off, const uint8_t *s)
{
    for (int hops = 0; hops < 64; hops++) {
        if (off >= w->len) return false;
        uint8_t l = w->buf[off];
        if ((l & 0xC0) == 0xC0) {
            if (off + 1 >= w->len) return false;
            off = (size_t)(l & 0x3F) << 8 | w->buf[off + 1];
            continue;
        }
        if (l != *s || off + 1 + l > w->len) return false;
        for (size_t i = 0; i < l; i++)
            if (tolower(w->buf[off + 1 + i]) != tolower(s[1 + i])) return false;
        if (l == 0) return true;
        off += 1 + l;
        s += 1 + l;
    }
    return false;
}

static long find_mark(kc_dns_w *w, const uint8_t *suffix, uint64_t h)
{
    if (w->nmarks <= MARKS_SCAN) {
        for (size_t i = 0; i < w->nmarks; i++)
            if (w->marks[i].hash == h && name_at_eq(w, w->marks[i].off, suffix)) return w->marks[i].off;
        return -1;
    }
    if (!w->tab) tab_build(w);
    for (size_t s = h & (w->tabcap - 1); w->tab[s]; s = (s + 1) & (w->tabcap - 1)) {
        const kc_dns_mark *m = &w->marks[w->tab[s] - 1];
        if (m->hash == h && name_at_eq(w, m->off, suffix)) return m->off;
    }
    return -1;
}

void kc_dns_w_name(kc_dns_w *w, const uint8_t *name)
{
    const uint8_t *lab[128];
    uint64_t hs[128];
    size_t n = suffix_hashes(name, lab, hs);
    for (size_t i = 0; i < n; i++) {
        long at = find_mark(w, lab[i], hs[i]);
        if (at >= 0) {
            kc_dns_w_u16(w, (uint16_t)(0xC000 | at));
            return;
        }
        size_t start = w->len;
        kc_dns_w_bytes(w, lab[i], 1 + (size_t)*lab[i]);
        if (!w->full) mark(w, start, hs[i]);
    }
    kc_dns_w_u8(w, 0);
}

void kc_dns_w_mark_name(kc_dns_w *w, size_t off)
{
    size_t end = off;
    while (end < w->len && w->buf[end] && !(w->buf[end] & 0xC0))
        end += 1 + w->buf[end];
    if (end >= w->len || w->buf[end]) return; /* only whole uncompressed names */
    const uint8_t *lab[128];
    uint64_t hs[128];
    size_t n = suffix_hashes(w->buf + off, lab, hs);
    for (size_t i = 0; i < n; i++)
        mark(w, (size_t)(lab[i] - w->buf), hs[i]);
}

void kc_dns_w_truncate(kc_dns_w *w, size_t len)
{
    if (len > w->len) return;
    w->len = len;
    w->full = false;
    size_t before = w->nmarks;
    while (w->nmarks && w->marks[w->nmarks - 1].off >= len)
        w->nmarks--;
    if (w->tab && before != w->nmarks) tab_build(w);
}

size_t kc_dns_w_rr(kc_dns_w *w, const uint8_t *owner, uint16_t type, uint32_t ttl)
{
    kc_dns_w_name(w, owner);
    kc_dns_w_u16(w, type);
    kc_dns_w_u16(w, 1);
    kc_dns_w_u32(w, ttl);
    size_t at = w->len;
    kc_dns_w_u16(w, 0);
    return at;
}

void kc_dns_w_rdlen(kc_dns_w *w, size_t off)
{
    if (w->full || off + 2 > w->len) return;
    size_t n = w->len - off - 2;
    w->buf[off] = (uint8_t)(n >> 8);
    w->buf[off + 1] = (uint8_t)n;
}
