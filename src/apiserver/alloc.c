/* Range allocators (see alloc.h). */
#include "apiserver/alloc.h"
#include "lib/xalloc.h"
#include <stdio.h>
#include <sys/random.h>

bool kc_ip_parse(const char *s, uint32_t *out)
{
    unsigned a, b, c, d;
    char tail;
    if (!s || sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 || c > 255 || d > 255)
        return false;
    *out = a << 24 | b << 16 | c << 8 | d;
    return true;
}

void kc_ip_format(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static void init_bits(kc_range *r)
{
    r->bits = xcalloc(r->n / 8 + 1, 1);
    r->used = 0;
}

int kc_range_init_cidr(kc_range *r, const char *cidr, kc_err *err)
{
    char ip[32];
    unsigned bits;
    uint32_t base;
    if (sscanf(cidr, "%31[0-9.]/%u", ip, &bits) != 2 || !kc_ip_parse(ip, &base) || bits < 8 || bits > 30)
        return kc_errf(err, KC_EBADREQUEST, "invalid service CIDR %s", cidr);
    uint32_t size = 1u << (32 - bits);
    base &= ~(size - 1);
    *r = (kc_range){base + 1, size - 2, 0, NULL, 0, true, ""};
    uint32_t s = r->n / 16;
    r->static_n = s < 16 ? 16 : s > 256 ? 256 : s;
    if (r->static_n > r->n) r->static_n = r->n;
    snprintf(r->desc, sizeof r->desc, "%s", cidr);
    init_bits(r);
    return 0;
}

int kc_range_init_ports(kc_range *r, const char *spec, kc_err *err)
{
    unsigned lo, hi;
    if (sscanf(spec, "%u-%u", &lo, &hi) != 2 || lo == 0 || hi > 65535 || lo > hi)
        return kc_errf(err, KC_EBADREQUEST, "invalid port range %s", spec);
    *r = (kc_range){lo, hi - lo + 1, 0, NULL, 0, false, ""};
    uint32_t s = r->n / 32;
    r->static_n = s < 16 ? 16 : s > 128 ? 128 : s;
    if (r->static_n > r->n) r->static_n = r->n;
    snprintf(r->desc, sizeof r->desc, "%u-%u", lo, hi);
    init_bits(r);
    return 0;
}

void kc_range_release_all(kc_range *r)
{
    free(r->bits);
    r->bits = NULL;
}

static bool bit(const kc_range *r, uint32_t i)
{
    return r->bits[i / 8] & (1u << (i % 8));
}

static void set(kc_range *r, uint32_t i, bool on)
{
    if (on == bit(r, i)) return;
    r->bits[i / 8] ^= (uint8_t)(1u << (i % 8));
    r->used += on ? 1 : (uint32_t)-1;
}

bool kc_range_has(const kc_range *r, uint32_t v)
{
    return v >= r->first && v - r->first < r->n && bit(r, v - r->first);
}

/* A free index in [lo, hi), starting at a random point and wrapping; -1 if none. */
static int64_t scan(const kc_range *r, uint32_t lo, uint32_t hi)
{
    if (hi <= lo) return -1;
    uint32_t rnd;
    if (getrandom(&rnd, sizeof rnd, 0) < 0) rnd = 0;
    uint32_t span = hi - lo, start = rnd % span;
    for (uint32_t k = 0; k < span; k++) {
        uint32_t i = lo + (start + k) % span;
        if (!bit(r, i)) return i;
    }
    return -1;
}

int kc_range_allocate(kc_range *r, uint32_t *out, kc_err *err)
{
    int64_t i = scan(r, r->static_n, r->n);
    if (i < 0) i = scan(r, 0, r->static_n);
    if (i < 0)
        return kc_errf(err, KC_EINTERNAL, "range is full: no %s available in %s", r->ip ? "IP addresses" : "ports",
                       r->desc);
    set(r, (uint32_t)i, true);
    *out = r->first + (uint32_t)i;
    return 0;
}

int kc_range_take(kc_range *r, uint32_t v, kc_err *err)
{
    if (v < r->first || v - r->first >= r->n)
        return kc_errf(err, KC_EINVALID, "provided %s is not in the valid range. The range of valid %s is %s",
                       r->ip ? "IP" : "port", r->ip ? "IPs" : "ports", r->desc);
    if (bit(r, v - r->first))
        return kc_errf(err, KC_EINVALID, "provided %s is already allocated", r->ip ? "IP" : "port");
    set(r, v - r->first, true);
    return 0;
}

void kc_range_release(kc_range *r, uint32_t v)
{
    if (v >= r->first && v - r->first < r->n) set(r, v - r->first, false);
}
