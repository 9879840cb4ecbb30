/* Small pure helpers of the simulated nodes: clocks and the three timestamp shapes Kubernetes
 * uses (Time: seconds, MicroTime: leases, RFC3339NanoFixed: container logs), deterministic
 * hex ids (container and image ids, machine ids), image reference normalization as containerd
 * reports it, and IPv4 CIDR arithmetic for pod IPs. No state, no locks. */
#include "sim/simint.h"
#include "lib/clock.h"
#include <stdio.h>
#include <string.h>

static void utc(const struct timespec *t, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t->tv_sec, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

void kc_sim_rfc3339(const struct timespec *t, char out[32])
{
    utc(t, out, 32);
    strcat(out, "Z");
}

void kc_sim_rfc3339_micro(const struct timespec *t, char out[40])
{
    utc(t, out, 24);
    snprintf(out + strlen(out), 16, ".%06uZ", (unsigned)(t->tv_nsec / 1000) % 1000000U);
}

void kc_sim_rfc3339_nano(const struct timespec *t, char out[40])
{
    utc(t, out, 24);
    snprintf(out + strlen(out), 16, ".%09uZ", (unsigned)t->tv_nsec % 1000000000U);
}

void kc_sim_now_rfc3339(char out[32])
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    kc_sim_rfc3339(&t, out);
}

/* FNV-1a 64 over a, a separator and b, from a given basis. */
static uint64_t fnv(uint64_t h, const char *a, const char *b)
{
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;
    for (const unsigned char *p = (const unsigned char *)b; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h;
}

void kc_sim_hex64(const char *a, const char *b, char out[65])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < 4; i++) {
        h = fnv(h + (uint64_t)i * 0x9e3779b97f4a7c15ULL, a, b);
        snprintf(out + i * 16, 17, "%016llx", (unsigned long long)h);
    }
}

void kc_sim_uuid(const char *seed, char out[37])
{
    char hex[65];
    if (seed) {
        kc_sim_hex64("uuid", seed, hex);
    } else {
        FILE *f = fopen("/proc/sys/kernel/random/uuid", "r");
        bool ok = f && fgets(out, 37, f) && strlen(out) == 36;
        if (f) fclose(f);
        if (ok) return;
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        char s[64];
        snprintf(s, sizeof s, "%ld.%ld", (long)t.tv_sec, t.tv_nsec);
        kc_sim_hex64("uuid", s, hex);
    }
    snprintf(out, 37, "%.8s-%.4s-4%.3s-a%.3s-%.12s", hex, hex + 8, hex + 12, hex + 15, hex + 18);
}

/* docker's reference.ParseNormalizedNamed, reduced: a first component with '.' or ':' (or
 * "localhost") is a registry, otherwise docker.io (plus library/ for single names); the tag
 * defaults to latest unless a digest is given. */
void kc_sim_image_ref(const char *image, char *full, size_t fn, char *id, size_t idn)
{
    char name[512], tag[256] = "latest", digest[160] = "";
    snprintf(name, sizeof name, "%s", image && image[0] ? image : "unknown");
    char *at = strchr(name, '@');
    if (at) {
        snprintf(digest, sizeof digest, "%s", at + 1);
        *at = 0;
    }
    char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');
    if (colon && (!slash || colon > slash)) {
        snprintf(tag, sizeof tag, "%s", colon + 1);
        *colon = 0;
    }
    const char *first_end = strchr(name, '/');
    size_t fl = first_end ? (size_t)(first_end - name) : 0;
    bool registry = first_end && (memchr(name, '.', fl) || memchr(name, ':', fl) ||
                                  (fl == 9 && !strncmp(name, "localhost", 9)));
    char repo[600];
    if (registry)
        snprintf(repo, sizeof repo, "%s", name);
    else
        snprintf(repo, sizeof repo, "docker.io/%s%s", first_end ? "" : "library/", name);
    if (digest[0]) {
        snprintf(full, fn, "%s@%s", repo, digest);
        snprintf(id, idn, "%s@%s", repo, digest);
        return;
    }
    snprintf(full, fn, "%s:%s", repo, tag);
    char hex[65];
    kc_sim_hex64("image", full, hex);
    snprintf(id, idn, "%s@sha256:%s", repo, hex);
}

int kc_sim_parse_ip(const char *s, uint32_t *ip)
{
    unsigned a, b, c, d;
    char tail;
    if (!s || sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4) return -1;
    if (a > 255 || b > 255 || c > 255 || d > 255) return -1;
    *ip = (a << 24) | (b << 16) | (c << 8) | d;
    return 0;
}

/* Prefixes /8 to /30: a pod range needs room for the bridge and at least one pod. */
int kc_sim_parse_cidr(const char *s, uint32_t *net, int *len)
{
    unsigned a, b, c, d, l;
    char tail;
    if (!s || sscanf(s, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &l, &tail) != 5) return -1;
    if (a > 255 || b > 255 || c > 255 || d > 255 || l > 30 || l < 8) return -1;
    uint32_t mask = l ? ~0U << (32 - l) : 0;
    *net = ((a << 24) | (b << 16) | (c << 8) | d) & mask;
    *len = (int)l;
    return 0;
}

void kc_sim_ip_str(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

uint64_t kc_sim_next_slot(uint64_t base, uint64_t period, uint64_t now)
{
    if (base > now) return base;
    return base + ((now - base) / period + 1) * period;
}
