/* Node IPAM controller (see nodeipam.h), the range allocator of upstream's node-ipam-controller:
 * a CIDR set (bitmap of /node_mask blocks of the cluster CIDR) and one worker over a node
 * informer.
 *
 *   start: list nodes --> every spec.podCIDR already assigned is marked taken (restart-safe)
 *   node without podCIDR --> lowest free block, merge patch spec.podCIDR + podCIDRs
 *                            (none free: event CIDRNotAvailable, retried with backoff and
 *                            whenever a block is freed)
 *   node deleted (or replaced under the same name) --> its block is freed
 *
 * What each node holds is remembered here (name -> uid, block), so a patch that has not come
 * back through the informer yet is not allocated twice. IPv4 single-stack only. */
#include "controllers/nodeipam.h"
#include "client/events.h"
#include "client/informer.h"
#include "client/workqueue.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

/* ---- the CIDR set ---- */

struct kc_cidrset {
    uint32_t base; /* host order */
    int mask;      /* block prefix length */
    size_t n, used;
    uint8_t *bits;
};

/* "a.b.c.d/p" -> address (host order) and prefix; -1 if malformed. */
static int parse_cidr(const char *s, uint32_t *addr, int *prefix)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash - s > 15 || !slash[1]) return -1;
    char ip[16];
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1) return -1;
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (*end || p < 0 || p > 32 || (slash[1] == '0' && slash[2])) return -1;
    *addr = ntohl(a.s_addr);
    *prefix = (int)p;
    return 0;
}

static uint32_t netmask(int prefix)
{
    return prefix ? ~(uint32_t)0 << (32 - prefix) : 0;
}

kc_cidrset *kc_cidrset_new(const char *cidr, int node_mask, kc_err *err)
{
    uint32_t addr;
    int prefix;
    if (parse_cidr(cidr, &addr, &prefix) < 0)
        return kc_errf(err, KC_EINVALID, "invalid CIDR address: %s", cidr ? cidr : ""), NULL;
    if (node_mask < prefix || node_mask > 32)
        return kc_errf(err, KC_EINVALID, "node mask /%d does not fit in cluster CIDR %s", node_mask, cidr),
               NULL;
    if (node_mask - prefix > 16)
        return kc_errf(err, KC_EINVALID, "CIDRSet: subnet mask size is too big (/%d in %s)", node_mask, cidr),
               NULL;
    kc_cidrset *s = xcalloc(1, sizeof *s);
    s->base = addr & netmask(prefix);
    s->mask = node_mask;
    s->n = (size_t)1 << (node_mask - prefix);
    s->bits = xcalloc((s->n + 7) / 8, 1);
    return s;
}

void kc_cidrset_free(kc_cidrset *s)
{
    if (!s) return;
    free(s->bits);
    free(s);
}

static bool bit(const kc_cidrset *s, size_t i)
{
    return s->bits[i / 8] & (1u << (i % 8));
}

static void set_bit(kc_cidrset *s, size_t i, bool on)
{
    if (bit(s, i) == on) return;
    s->bits[i / 8] ^= (uint8_t)(1u << (i % 8));
    s->used += on ? 1 : (size_t)-1;
}

static void format_block(const kc_cidrset *s, size_t i, char out[20])
{
    uint32_t a = s->base + (uint32_t)((uint64_t)i << (32 - s->mask));
    snprintf(out, 20, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, s->mask);
}

/* Index of a block of the set, or -1. */
static long block_index(const kc_cidrset *s, const char *cidr)
{
    uint32_t addr;
    int prefix;
    if (parse_cidr(cidr, &addr, &prefix) < 0 || prefix != s->mask || (addr & ~netmask(prefix))) return -1;
    if (addr < s->base) return -1;
    uint64_t off = (uint64_t)(addr - s->base) >> (32 - s->mask);
    if (off >= s->n) return -1;
    return (long)off;
}

int kc_cidrset_alloc(kc_cidrset *s, char out[20], kc_err *err)
{
    for (size_t i = 0; s->used < s->n && i < s->n; i++) {
        if (s->bits[i / 8] == 0xff) {
            i += 7 - i % 8;
            continue;
        }
        if (bit(s, i)) continue;
        set_bit(s, i, true);
        format_block(s, i, out);
        return 0;
    }
    return kc_errf(
        err, KC_ETOOMANY,
        "CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range");
}

int kc_cidrset_occupy(kc_cidrset *s, const char *cidr, kc_err *err)
{
    long i = block_index(s, cidr);
    if (i < 0)
        return kc_errf(err, KC_EINVALID, "cidr %s is not a /%d block of the cluster CIDR", cidr, s->mask);
    set_bit(s, (size_t)i, true);
    return 0;
}

void kc_cidrset_release(kc_cidrset *s, const char *cidr)
{
    long i = block_index(s, cidr);
    if (i >= 0) set_bit(s, (size_t)i, false);
}

size_t kc_cidrset_free_count(const kc_cidrset *s)
{
    return s->n - s->used;
}

/* ---- the controller ---- */

typedef struct grant {
    char *name;
    char uid[40];
    char cidr[20];
} grant;

typedef struct ipam {
    kc_client *c;
    kc_informer *nodes;
    kc_wq *q;
    kc_recorder *rec;
    kc_cidrset *set;
    kc_map grants; /* node name -> grant (worker thread only) */
    int NODE;
    bool starved; /* a node is waiting for a free block */
    volatile bool stop;
    pthread_t worker;
} ipam;

static const char *node_cidr(const json_t *doc)
{
    json_t *spec = json_object_get(doc, "spec");
    const char *c = json_string_value(json_object_get(spec, "podCIDR"));
    if (!c || !*c) c = json_string_value(json_array_get(json_object_get(spec, "podCIDRs"), 0));
    return c && *c ? c : NULL;
}

static bool has_cidr(const kc_obj *o)
{
    return strstr(o->json, "\"podCIDR\":\"") != NULL;
}

static void on_add(void *ud, const kc_obj *o)
{
    kc_wq_add(((ipam *)ud)->q, o->name);
}

static void on_update(void *ud, const kc_obj *old, const kc_obj *cur)
{
    (void)old;
    if (!has_cidr(cur)) kc_wq_add(((ipam *)ud)->q, cur->name);
}

static void on_delete(void *ud, const kc_obj *o)
{
    kc_wq_add(((ipam *)ud)->q, o->name);
}

static void drop_grant(ipam *a, grant *g)
{
    kc_cidrset_release(a->set, g->cidr);
    kc_map_del(&a->grants, g->name);
    free(g->name);
    free(g);
    if (!a->starved) return;
    a->starved = false; /* a block is free again: retry the nodes still waiting */
    kc_obj **v;
    size_t n = kc_informer_list(a->nodes, NULL, &v);
    for (size_t i = 0; i < n; i++)
        if (!has_cidr(v[i])) kc_wq_add(a->q, v[i]->name);
    kc_objv_free(v, n);
}

static grant *put_grant(ipam *a, const kc_obj *node, const char *cidr)
{
    grant *g = xcalloc(1, sizeof *g);
    g->name = xstrdup(node->name);
    snprintf(g->uid, sizeof g->uid, "%s", node->uid);
    snprintf(g->cidr, sizeof g->cidr, "%s", cidr);
    kc_map_put(&a->grants, g->name, g);
    return g;
}

/* A node that has a podCIDR already: record it (a block outside the set is left alone). */
static void adopt(ipam *a, const kc_obj *node, grant *g, const char *cidr)
{
    if (g && !strcmp(g->cidr, cidr)) return;
    if (g) drop_grant(a, g);
    kc_err err = KC_ERR_INIT;
    if (kc_cidrset_occupy(a->set, cidr, &err) == 0) put_grant(a, node, cidr);
    kc_err_release(&err);
}

static int assign(ipam *a, const kc_obj *node, grant *g)
{
    kc_err err = KC_ERR_INIT;
    char cidr[20];
    if (!g) {
        if (kc_cidrset_alloc(a->set, cidr, &err) < 0) {
            a->starved = true;
            kc_event(a->rec, node, "Normal", "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable",
                     node->name);
            kc_err_release(&err);
            return -1;
        }
        g = put_grant(a, node, cidr);
    }
    char patch[256];
    snprintf(patch, sizeof patch,
             "{\"metadata\":{\"uid\":\"%s\"},\"spec\":{\"podCIDR\":\"%s\",\"podCIDRs\":[\"%s\"]}}", node->uid,
             g->cidr, g->cidr);
    int rc = kc_client_patch(a->c, a->NODE, NULL, node->name, NULL, "application/merge-patch+json", patch,
                             NULL, &err);
    if (rc < 0 && (err.reason == KC_ENOTFOUND || err.reason == KC_ECONFLICT)) {
        drop_grant(a, g); /* gone or replaced: the delete/add events bring it back */
        rc = 0;
    } else if (rc < 0) {
        fprintf(stderr, "node-ipam-controller: assign %s to %s: %s\n", g->cidr, node->name, err.msg);
    }
    kc_err_release(&err);
    return rc;
}

static int sync_node(ipam *a, const char *name)
{
    kc_obj *node = kc_informer_get(a->nodes, NULL, name);
    grant *g = kc_map_get(&a->grants, name);
    if (g && (!node || strcmp(g->uid, node->uid))) {
        drop_grant(a, g);
        g = NULL;
    }
    if (!node) return 0;
    int rc = 0;
    json_t *doc = kc_obj_parse(node);
    const char *cidr = node_cidr(doc);
    if (cidr)
        adopt(a, node, g, cidr);
    else if (!node->deleting)
        rc = assign(a, node, g);
    json_decref(doc);
    kc_obj_unref(node);
    return rc;
}

/* At start, before any allocation: every block nodes hold already is taken. */
static void occupy_existing(ipam *a)
{
    kc_obj **v;
    size_t n = kc_informer_list(a->nodes, NULL, &v);
    for (size_t i = 0; i < n; i++) {
        json_t *doc = kc_obj_parse(v[i]);
        const char *cidr = node_cidr(doc);
        if (cidr) adopt(a, v[i], NULL, cidr);
        json_decref(doc);
    }
    kc_objv_free(v, n);
}

static void *run(void *p)
{
    ipam *a = p;
    while (!a->stop && !kc_informer_wait_synced(a->nodes, 200)) {
    }
    if (!a->stop) occupy_existing(a);
    char *key;
    while ((key = kc_wq_get(a->q))) {
        if (sync_node(a, key) < 0)
            kc_wq_add_rate_limited(a->q, key);
        else
            kc_wq_forget(a->q, key);
        kc_wq_done(a->q, key);
        free(key);
    }
    return NULL;
}

void *kc_nodeipam_start(kc_client *c, const char *cluster_cidr, int node_mask)
{
    kc_err err = KC_ERR_INIT;
    kc_cidrset *set = kc_cidrset_new(cluster_cidr, node_mask, &err);
    if (!set) {
        fprintf(stderr, "node-ipam-controller: --cluster-cidr: %s; not started\n", err.msg);
        kc_err_release(&err);
        kc_client_free(c);
        return NULL;
    }
    ipam *a = xcalloc(1, sizeof *a);
    a->c = c;
    a->set = set;
    a->NODE = kc_resource_find("", "v1", "nodes");
    a->q = kc_wq_new("node-ipam");
    a->rec = kc_recorder_new(c, "cidrAllocator", NULL);
    a->nodes = kc_informer_new(c, a->NODE, NULL, NULL, NULL);
    kc_informer_add_handlers(a->nodes, &(kc_handlers){on_add, on_update, on_delete}, a);
    kc_informer_start(a->nodes);
    pthread_create(&a->worker, NULL, run, a);
    return a;
}

void kc_nodeipam_stop(void *p)
{
    ipam *a = p;
    if (!a) return;
    a->stop = true;
    kc_informer_stop(a->nodes);
    kc_wq_shutdown(a->q);
    pthread_join(a->worker, NULL);
    kc_informer_free(a->nodes);
    kc_wq_free(a->q);
    kc_recorder_free(a->rec);
    void *v;
    for (size_t it = 0; kc_map_next(&a->grants, &it, NULL, &v);) {
        free(((grant *)v)->name);
        free(v);
    }
    kc_map_release(&a->grants);
    kc_cidrset_free(a->set);
    kc_client_free(a->c);
    free(a);
}
