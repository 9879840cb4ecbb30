/* Endpoints subsets (semantics 5.6): every included pod becomes one address, listed for each
 * Service port it resolves, then repacked the way upstream's RepackSubsets does: ports offered
 * by exactly the same set of (address, ready) pairs share one subset. Addresses are sorted by IP
 * (bytes) then pod UID, as LessEndpointAddress; subsets and ports, which upstream orders by an
 * MD5 of Go's spew dump (not reproducible, not relied on by clients), by their port text.
 *
 * Worked example: pods a (ready, resolves http->8080 and metrics->9090) and b (not ready,
 * resolves only http->8081): ports http/8080 {a}, metrics/9090 {a}, http/8081 {b~} -> subsets
 * [{addresses [a], ports [http 8080, metrics 9090]}, {notReadyAddresses [b], ports [http 8081]}]. */
#include "controllers/endpoints_int.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct addr {
    json_t *json; /* EndpointAddress */
    const char *ip, *uid;
    bool ready;
    const kc_ep_pod *pod;
} addr;

typedef struct port_group {
    json_t *port; /* EndpointPort, NULL: the no-ports sentinel of a headless Service */
    char *key;    /* its text, for sorting and matching */
    size_t *addrs, n, cap;
    char *set_key; /* the (address, ready) set, once complete */
} port_group;

static int addr_cmp(const void *a, const void *b)
{
    const addr *x = a, *y = b;
    int c = strcmp(x->ip, y->ip);
    return c ? c : strcmp(x->uid, y->uid);
}

static json_t *address_of(const kc_ep_svc *s, const kc_ep_pod *p, const char *ip)
{
    json_t *a = json_pack("{s:s}", "ip", ip);
    if (kc_ep_pod_hostname(p, s)) json_object_set_new(a, "hostname", json_string(p->hostname));
    json_object_set_new(a, "nodeName", json_string(p->node));
    json_object_set_new(
        a, "targetRef",
        json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace", p->ns, "name", p->name, "uid", p->uid));
    return a;
}

/* EndpointPort: name (omitted when empty), port, protocol, appProtocol (when set). */
static json_t *endpoint_port(json_t *svc_port, int num)
{
    json_t *p = json_object();
    const char *name = json_string_value(json_object_get(svc_port, "name"));
    if (name && *name) json_object_set_new(p, "name", json_string(name));
    json_object_set_new(p, "port", json_integer(num));
    json_object_set_new(p, "protocol",
                        json_string(json_string_value(json_object_get(svc_port, "protocol")) ?: "TCP"));
    json_t *app = json_object_get(svc_port, "appProtocol");
    if (json_is_string(app)) json_object_set(p, "appProtocol", app);
    return p;
}

static char *port_key(json_t *p)
{
    if (!p) return xstrdup("");
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "%s|%010lld|%s|%s", json_string_value(json_object_get(p, "name")) ?: "",
                (long long)json_integer_value(json_object_get(p, "port")),
                json_string_value(json_object_get(p, "protocol")) ?: "",
                json_string_value(json_object_get(p, "appProtocol")) ?: "");
    return kc_buf_take(&b);
}

typedef struct groups {
    port_group *v;
    size_t n, cap;
} groups;

/* Adds address i to the group of port p (taken). */
static void group_add(groups *g, json_t *p, size_t i)
{
    char *key = port_key(p);
    port_group *pg = NULL;
    for (size_t k = 0; k < g->n && !pg; k++)
        if (!strcmp(g->v[k].key, key)) pg = &g->v[k];
    if (pg) {
        free(key);
        json_decref(p);
    } else {
        if (g->n == g->cap) g->v = xrealloc(g->v, (g->cap = g->cap ? 2 * g->cap : 4) * sizeof *g->v);
        pg = &g->v[g->n++];
        *pg = (port_group){.port = p, .key = key};
    }
    if (pg->n && pg->addrs[pg->n - 1] == i) return; /* the same port twice on one address */
    if (pg->n == pg->cap)
        pg->addrs = xrealloc(pg->addrs, (pg->cap = pg->cap ? 2 * pg->cap : 8) * sizeof(size_t));
    pg->addrs[pg->n++] = i;
}

/* Every port the pod resolves, or the sentinel for a headless Service without ports. */
static void add_pod_ports(groups *g, const kc_ep_svc *s, const addr *a, size_t i)
{
    if (!json_array_size(s->ports)) {
        if (s->headless) group_add(g, NULL, i);
        return;
    }
    json_t *sp, *spec = json_object_get(a->pod->doc, "spec");
    size_t k;
    json_array_foreach(s->ports, k, sp)
    {
        int num = kc_ep_find_port(spec, sp);
        if (num >= 0) group_add(g, endpoint_port(sp, num), i);
    }
}

static char *set_key(const port_group *pg, const addr *v)
{
    kc_buf b = KC_BUF_INIT;
    for (size_t k = 0; k < pg->n; k++)
        kc_buf_addf(&b, "%zu%c,", pg->addrs[k], v[pg->addrs[k]].ready ? 'r' : 'n');
    return kc_buf_take(&b);
}

static int group_cmp(const void *a, const void *b)
{
    const port_group *x = a, *y = b;
    int c = strcmp(x->set_key, y->set_key);
    return c ? c : strcmp(x->key, y->key);
}

/* One subset from the run of groups [from, to) that share an address set. */
static json_t *subset_of(port_group *g, size_t from, size_t to, const addr *v)
{
    json_t *ss = json_object(), *ready = json_array(), *nready = json_array(), *ports = json_array();
    for (size_t k = 0; k < g[from].n; k++) {
        const addr *a = &v[g[from].addrs[k]];
        json_array_append(a->ready ? ready : nready, a->json);
    }
    for (size_t k = from; k < to; k++)
        if (g[k].port) json_array_append(ports, g[k].port);
    if (json_array_size(ready)) json_object_set(ss, "addresses", ready);
    if (json_array_size(nready)) json_object_set(ss, "notReadyAddresses", nready);
    if (json_array_size(ports)) json_object_set(ss, "ports", ports);
    json_decref(ready);
    json_decref(nready);
    json_decref(ports);
    return ss;
}

static int subset_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    char *kx = port_key(json_array_get(json_object_get(x, "ports"), 0));
    char *ky = port_key(json_array_get(json_object_get(y, "ports"), 0));
    int c = strcmp(kx, ky);
    free(kx);
    free(ky);
    return c;
}

static json_t *assemble(groups *g, const addr *v)
{
    for (size_t k = 0; k < g->n; k++)
        g->v[k].set_key = set_key(&g->v[k], v);
    qsort(g->v, g->n, sizeof *g->v, group_cmp);
    size_t ns = 0;
    json_t **subs = xcalloc(g->n + 1, sizeof *subs);
    for (size_t k = 0; k < g->n;) {
        size_t e = k + 1;
        while (e < g->n && !strcmp(g->v[e].set_key, g->v[k].set_key))
            e++;
        subs[ns++] = subset_of(g->v, k, e, v);
        k = e;
    }
    qsort(subs, ns, sizeof *subs, subset_cmp);
    json_t *out = json_array();
    for (size_t k = 0; k < ns; k++)
        json_array_append_new(out, subs[k]);
    free(subs);
    return out;
}

json_t *kc_ep_subsets(const kc_ep_svc *s, kc_ep_pod **pods, size_t n)
{
    addr *v = xcalloc(n + 1, sizeof *v);
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        if (!kc_ep_pod_included(pods[i], s->publish_not_ready)) continue;
        const char *ip = kc_ep_pod_ip(pods[i], s->ipv6);
        if (!ip) continue;
        v[na++] = (addr){address_of(s, pods[i], ip), ip, pods[i]->uid, s->publish_not_ready || pods[i]->ready,
                         pods[i]};
    }
    qsort(v, na, sizeof *v, addr_cmp);
    groups g = {0};
    for (size_t i = 0; i < na; i++)
        add_pod_ports(&g, s, &v[i], i);
    json_t *out = assemble(&g, v);
    for (size_t k = 0; k < g.n; k++) {
        json_decref(g.v[k].port);
        free(g.v[k].key);
        free(g.v[k].set_key);
        free(g.v[k].addrs);
    }
    free(g.v);
    for (size_t i = 0; i < na; i++)
        json_decref(v[i].json);
    free(v);
    return out;
}

size_t kc_ep_count(json_t *subsets)
{
    size_t n = 0, i;
    json_t *ss;
    json_array_foreach(subsets, i, ss) n += json_array_size(json_object_get(ss, "addresses")) +
                                            json_array_size(json_object_get(ss, "notReadyAddresses"));
    return n;
}

/* Keeps the first max entries of subset field f (removing the field when it ends up empty). */
static size_t cut(json_t *ss, const char *f, size_t max)
{
    json_t *a = json_object_get(ss, f);
    while (json_array_size(a) > max)
        json_array_remove(a, json_array_size(a) - 1);
    size_t kept = json_array_size(a);
    if (a && !kept) json_object_del(ss, f);
    return kept;
}

/* truncateEndpoints: when ready addresses alone exceed the capacity, they are cut per subset in
 * proportion (rounded up, the last subsets taking what is left) and every not-ready address goes;
 * otherwise only the not-ready ones are cut, sharing what the ready ones leave. */
bool kc_ep_truncate(json_t *subsets)
{
    size_t ready = 0, nready = 0, i;
    json_t *ss;
    json_array_foreach(subsets, i, ss)
    {
        ready += json_array_size(json_object_get(ss, "addresses"));
        nready += json_array_size(json_object_get(ss, "notReadyAddresses"));
    }
    if (ready + nready <= KC_EP_MAX_CAPACITY) return false;
    bool cut_ready = ready > KC_EP_MAX_CAPACITY;
    size_t max = cut_ready ? KC_EP_MAX_CAPACITY : KC_EP_MAX_CAPACITY - ready,
           total = cut_ready ? ready : nready;
    size_t left = max;
    json_array_foreach(subsets, i, ss)
    {
        const char *f = cut_ready ? "addresses" : "notReadyAddresses";
        size_t in = json_array_size(json_object_get(ss, f));
        size_t add = (size_t)ceil((double)in / (double)total * (double)max);
        if (add > left) add = left;
        left -= cut(ss, f, add);
        if (cut_ready) json_object_del(ss, "notReadyAddresses");
    }
    return true;
}
