/* The DNS data source (see source.h), following the Kubernetes DNS specification as CoreDNS's
 * kubernetes plugin implements it:
 *
 *   Service ClusterIP     A <svc>.<ns>.svc.<zone> -> clusterIP; PTR back; SRV per port
 *                         (_<name>._<proto>.<svc>... for named ports) with target the service
 *   Service headless      A <svc>... -> every ready endpoint address (deduplicated); SRV per
 *                         endpoint and port with target <host>.<svc>...
 *   any Service's ready   A <host>.<svc>.<ns>.svc.<zone>, host = the endpoint's hostname or its
 *   endpoints             dashed IP; PTR for the address back to that name
 *   Service ExternalName  CNAME <svc>... -> spec.externalName
 *   Pod with an IP        A <a-b-c-d>.<ns>.pod.<zone> (CoreDNS "pods verified")
 *   dns-version.<zone>    TXT "1.1.0"
 *
 * Informer handlers only queue keys ("s/ns/name", "e/ns/name", "p/ns/name"). One builder thread
 * takes a key, re-reads the object from the cache and keeps a small parsed record of it (no JSON
 * is parsed again afterwards), marking the zone owner it feeds dirty (a Service and its slices
 * are one owner, a Pod another). Whenever the queue is empty it replaces the records of the dirty
 * owners in the zone, compiles the names that changed and swaps the published index:
 *
 *   event --> kc_wq_add(key) --> builder: apply(key) ... queue empty --> publish(build())
 *
 * so a change is served one build later (about a millisecond for one service among 1,000 with
 * 10,000 endpoints), never polled. */
#include "dns/source.h"
#include "client/informer.h"
#include "client/workqueue.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct port {
    char *name;
    char proto[8];
    int port; /* -1: unset */
} port;

enum { SVC_OTHER, SVC_CLUSTERIP, SVC_HEADLESS, SVC_EXTERNAL };

typedef struct svc_rec {
    char *key, *ns, *name, *ext;
    int kind;
    uint32_t *ips;
    size_t nips, nports;
    port *ports;
} svc_rec;

typedef struct ep_rec {
    char *hostname;
    uint32_t *ips;
    size_t nips;
} ep_rec;

typedef struct slice_rec {
    char *key, *svc; /* svc: "ns/name" of the service */
    port *ports;
    size_t nports, neps;
    ep_rec *eps;
} slice_rec;

typedef struct pod_rec {
    char *key, *ns;
    uint32_t ip;
} pod_rec;

typedef struct ns_rec {
    char *key; /* the namespace's name */
} ns_rec;

enum { NKIND = 4 }; /* services, endpointslices, pods, namespaces */

typedef struct snap {
    kc_dns_index *ix;
    int refs;
} snap;

struct kc_dns_source {
    kc_client *c;
    char *domain;
    kc_informer *inf[NKIND]; /* services, endpointslices, pods, namespaces */
    kc_wq *q;
    kc_map recs[NKIND]; /* key -> record, builder thread only */
    kc_map dirty;       /* zone owners ("s/ns/name", "p/ns/name") to regenerate: key -> itself */
    kc_dns_zone *zone;
    pthread_t th;
    volatile bool stop;
    pthread_mutex_t mu;
    snap *cur;
    uint64_t gen;
};

static const char kind_tag[NKIND + 1] = "sepn";

/* The kind of a queue key or owner by its tag letter. */
static int kind_of(char tag)
{
    const char *p = strchr(kind_tag, tag);
    return p && tag ? (int)(p - kind_tag) : 0;
}

/* ---- informer handlers: queue the key ---- */

static void enqueue(kc_dns_source *s, int kind, const kc_obj *o)
{
    char *k = xmalloc(strlen(o->key) + 3);
    sprintf(k, "%c/%s", kind_tag[kind], o->key);
    kc_wq_add(s->q, k);
    free(k);
}

#define HANDLERS(K, tag)                                                                                     \
    static void add_##tag(void *ud, const kc_obj *o)                                                         \
    {                                                                                                        \
        enqueue(ud, K, o);                                                                                   \
    }                                                                                                        \
    static void upd_##tag(void *ud, const kc_obj *old, const kc_obj *o)                                      \
    {                                                                                                        \
        (void)old;                                                                                           \
        enqueue(ud, K, o);                                                                                   \
    }
HANDLERS(0, svc)
HANDLERS(1, slice)
HANDLERS(2, pod)
HANDLERS(3, ns)
static const kc_handlers handlers[NKIND] = {{add_svc, upd_svc, add_svc},
                                            {add_slice, upd_slice, add_slice},
                                            {add_pod, upd_pod, add_pod},
                                            {add_ns, upd_ns, add_ns}};

/* ---- parsing objects into records ---- */

static bool ip4(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1) return false;
    *out = ntohl(a.s_addr);
    return true;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static port *parse_ports(json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    port *p = xcalloc(*n ? *n : 1, sizeof *p);
    for (size_t i = 0; i < *n; i++) {
        json_t *e = json_array_get(arr, i);
        const char *name = jstr(e, "name"), *proto = jstr(e, "protocol");
        json_t *num = json_object_get(e, "port");
        p[i].name = xstrdup(name ? name : "");
        snprintf(p[i].proto, sizeof p[i].proto, "%s", proto ? proto : "TCP");
        for (char *c = p[i].proto; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        p[i].port = json_is_integer(num) ? (int)json_integer_value(num) : -1;
        if (p[i].port < 0 || p[i].port > 65535) p[i].port = -1;
    }
    return p;
}

static void free_ports(port *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].name);
    free(p);
}

static svc_rec *parse_svc(const kc_obj *o)
{
    json_t *doc = kc_obj_parse(o), *spec = json_object_get(doc, "spec");
    svc_rec *r = xcalloc(1, sizeof *r);
    r->key = xstrdup(o->key);
    r->ns = xstrdup(o->ns);
    r->name = xstrdup(o->name);
    const char *type = jstr(spec, "type"), *cip = jstr(spec, "clusterIP");
    json_t *ips = json_object_get(spec, "clusterIPs");
    r->ips = xcalloc(json_array_size(ips) + 1, sizeof *r->ips);
    if (type && !strcmp(type, "ExternalName")) {
        r->kind = SVC_EXTERNAL;
        r->ext = xstrdup(jstr(spec, "externalName") ? jstr(spec, "externalName") : "");
    } else if (cip && !strcmp(cip, "None")) {
        r->kind = SVC_HEADLESS;
    } else {
        for (size_t i = 0; i < json_array_size(ips); i++)
            if (ip4(json_string_value(json_array_get(ips, i)), &r->ips[r->nips])) r->nips++;
        if (!r->nips && ip4(cip, &r->ips[0])) r->nips = 1;
        r->kind = r->nips ? SVC_CLUSTERIP : SVC_OTHER;
    }
    r->ports = parse_ports(json_object_get(spec, "ports"), &r->nports);
    json_decref(doc);
    return r;
}

/* A ready endpoint (conditions.ready absent counts as ready, as in CoreDNS). */
static bool parse_ep(json_t *e, ep_rec *out)
{
    json_t *ready = json_object_get(json_object_get(e, "conditions"), "ready");
    if (json_is_false(ready)) return false;
    json_t *addrs = json_object_get(e, "addresses");
    out->ips = xcalloc(json_array_size(addrs) + 1, sizeof *out->ips);
    for (size_t i = 0; i < json_array_size(addrs); i++)
        if (ip4(json_string_value(json_array_get(addrs, i)), &out->ips[out->nips])) out->nips++;
    const char *h = jstr(e, "hostname");
    out->hostname = h && *h ? xstrdup(h) : NULL;
    return true;
}

static slice_rec *parse_slice(const kc_obj *o)
{
    const char *svc = json_string_value(json_object_get(o->labels, "kubernetes.io/service-name"));
    json_t *doc = kc_obj_parse(o);
    const char *at = jstr(doc, "addressType");
    if (!svc || !at || strcmp(at, "IPv4")) {
        json_decref(doc);
        return NULL;
    }
    slice_rec *r = xcalloc(1, sizeof *r);
    r->key = xstrdup(o->key);
    r->svc = kc_obj_key(o->ns, svc);
    r->ports = parse_ports(json_object_get(doc, "ports"), &r->nports);
    json_t *eps = json_object_get(doc, "endpoints");
    r->eps = xcalloc(json_array_size(eps) + 1, sizeof *r->eps);
    for (size_t i = 0; i < json_array_size(eps); i++)
        if (parse_ep(json_array_get(eps, i), &r->eps[r->neps])) r->neps++;
    json_decref(doc);
    return r;
}

static pod_rec *parse_pod(const kc_obj *o)
{
    json_t *doc = kc_obj_parse(o), *st = json_object_get(doc, "status");
    const char *phase = jstr(st, "phase");
    uint32_t ip;
    pod_rec *r = NULL;
    if (ip4(jstr(st, "podIP"), &ip) &&
        !(phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))) {
        r = xcalloc(1, sizeof *r);
        r->key = xstrdup(o->key);
        r->ns = xstrdup(o->ns);
        r->ip = ip;
    }
    json_decref(doc);
    return r;
}

static ns_rec *parse_ns(const kc_obj *o)
{
    ns_rec *r = xcalloc(1, sizeof *r);
    r->key = xstrdup(o->name);
    return r;
}

static void free_rec(int kind, void *v)
{
    if (!v) return;
    if (kind == 0) {
        svc_rec *r = v;
        free(r->ns), free(r->name), free(r->ext), free(r->ips), free_ports(r->ports, r->nports);
        free(r->key);
    } else if (kind == 1) {
        slice_rec *r = v;
        for (size_t i = 0; i < r->neps; i++)
            free(r->eps[i].hostname), free(r->eps[i].ips);
        free(r->eps), free_ports(r->ports, r->nports), free(r->svc), free(r->key);
    } else if (kind == 2) {
        pod_rec *r = v;
        free(r->ns), free(r->key);
    } else {
        free(((ns_rec *)v)->key);
    }
    free(v);
}

static void dirty(kc_dns_source *s, char tag, const char *key)
{
    char *k = xmalloc(strlen(key) + 3);
    sprintf(k, "%c/%s", tag, key);
    if (kc_map_get(&s->dirty, k))
        free(k);
    else
        kc_map_put(&s->dirty, k, k);
}

/* Re-reads one queued object from its informer's cache, replaces its record and marks the zone
 * owners it feeds (its service, for a slice: the old one and the new one) for regeneration. */
static void *parse(int kind, const kc_obj *o)
{
    switch (kind) {
    case 0:
        return parse_svc(o);
    case 1:
        return parse_slice(o);
    case 2:
        return parse_pod(o);
    default:
        return parse_ns(o);
    }
}

static void apply(kc_dns_source *s, const char *qkey)
{
    int kind = kind_of(qkey[0]);
    const char *key = qkey + 2, *slash = strchr(key, '/');
    char *ns = slash ? xstrndup(key, (size_t)(slash - key)) : NULL; /* namespaces: no slash */
    kc_obj *o = kc_informer_get(s->inf[kind], ns, slash ? slash + 1 : key);
    free(ns);
    void *rec = o ? parse(kind, o) : NULL;
    kc_obj_unref(o);
    /* every record starts with its key (the map key it owns) */
    void *old = rec ? kc_map_put(&s->recs[kind], *(char **)rec, rec) : kc_map_del(&s->recs[kind], key);
    if (kind == 1) {
        if (old) dirty(s, 's', ((slice_rec *)old)->svc);
        if (rec) dirty(s, 's', ((slice_rec *)rec)->svc);
    } else {
        dirty(s, kind_tag[kind], key);
    }
    free_rec(kind, old);
}

/* ---- building the zone from the records ---- */

#define NAMEBUF 512

/* Formats a name into out (NAMEBUF bytes); false when it does not fit (then it is no valid DNS
 * name anyway, and the record is left out). */
static bool namef(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool namef(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, NAMEBUF, fmt, ap);
    va_end(ap);
    return n >= 0 && n < NAMEBUF;
}

static void dashed(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u-%u-%u-%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* SRV records for one port: at the service name, and at _<name>._<proto>.<svc>... if named. */
static void add_srv(kc_dns_zone *z, const char *svcname, const port *p, const char *target)
{
    if (p->port < 0) return;
    kc_dns_rr rr = {.type = KC_DNS_SRV, .port = (uint16_t)p->port, .target = target};
    kc_dns_zone_add(z, svcname, &rr);
    if (!*p->name) return;
    char n[NAMEBUF];
    if (namef(n, "_%s._%s.%s", p->name, p->proto, svcname)) kc_dns_zone_add(z, n, &rr);
}

/* One ready endpoint address of service r (name svcname), from a slice with ports. */
static void add_endpoint(kc_dns_zone *z, const svc_rec *r, const char *svcname, const slice_rec *sl,
                         const ep_rec *e, uint32_t ip)
{
    char host[NAMEBUF], d[16];
    dashed(ip, d);
    if (!namef(host, "%s.%s", e->hostname ? e->hostname : d, svcname)) return;
    kc_dns_zone_add(z, host, &(kc_dns_rr){.type = KC_DNS_A, .ip = ip});
    kc_dns_zone_add_ptr(z, ip, host);
    if (r->kind != SVC_HEADLESS) return;
    kc_dns_zone_add(z, svcname, &(kc_dns_rr){.type = KC_DNS_A, .ip = ip});
    for (size_t i = 0; i < sl->nports; i++)
        add_srv(z, svcname, &sl->ports[i], host);
}

static void add_service(kc_dns_zone *z, const kc_dns_source *s, const svc_rec *r)
{
    char name[NAMEBUF];
    if (!namef(name, "%s.%s.svc.%s", r->name, r->ns, s->domain)) return;
    if (r->kind == SVC_EXTERNAL) {
        uint32_t ip;
        if (!ip4(r->ext, &ip) && !strchr(r->ext, ':')) /* an address is no CNAME target (CoreDNS) */
            kc_dns_zone_add(z, name, &(kc_dns_rr){.type = KC_DNS_CNAME, .target = r->ext});
        return;
    }
    for (size_t i = 0; i < r->nips; i++) {
        kc_dns_zone_add(z, name, &(kc_dns_rr){.type = KC_DNS_A, .ip = r->ips[i]});
        kc_dns_zone_add_ptr(z, r->ips[i], name);
    }
    if (r->kind == SVC_CLUSTERIP)
        for (size_t i = 0; i < r->nports; i++)
            add_srv(z, name, &r->ports[i], name);
    void *v;
    for (size_t it = 0; kc_map_next(&s->recs[1], &it, NULL, &v);) {
        const slice_rec *sl = v;
        if (strcmp(sl->svc, r->key)) continue;
        for (size_t i = 0; i < sl->neps; i++)
            for (size_t j = 0; j < sl->eps[i].nips; j++)
                add_endpoint(z, r, name, sl, &sl->eps[i], sl->eps[i].ips[j]);
    }
}

static void add_pod_name(kc_dns_zone *z, const kc_dns_source *s, const pod_rec *p)
{
    char name[NAMEBUF], d[16];
    dashed(p->ip, d);
    if (namef(name, "%s.%s.pod.%s", d, p->ns, s->domain))
        kc_dns_zone_add(z, name, &(kc_dns_rr){.type = KC_DNS_A, .ip = p->ip});
}

/* A namespace exists in DNS (NODATA, not NXDOMAIN) even without services or pods. */
static void add_namespace(kc_dns_zone *z, const kc_dns_source *s, const ns_rec *r)
{
    char name[NAMEBUF];
    if (namef(name, "%s.svc.%s", r->key, s->domain))
        kc_dns_zone_add(z, name, &(kc_dns_rr){.type = KC_DNS_EXISTS});
    if (namef(name, "%s.pod.%s", r->key, s->domain))
        kc_dns_zone_add(z, name, &(kc_dns_rr){.type = KC_DNS_EXISTS});
}

/* Replaces the records of every dirty owner and compiles the changed names. */
static kc_dns_index *build(kc_dns_source *s)
{
    void *v;
    const char *k;
    for (size_t it = 0; kc_map_next(&s->dirty, &it, &k, &v);) {
        kc_dns_zone_drop(s->zone, k);
        int kind = kind_of(k[0]);
        void *rec = kc_map_get(&s->recs[kind], k + 2);
        if (rec) {
            kc_dns_zone_owner(s->zone, k);
            if (kind == 0)
                add_service(s->zone, s, rec);
            else if (kind == 2)
                add_pod_name(s->zone, s, rec);
            else
                add_namespace(s->zone, s, rec);
            kc_dns_zone_owner(s->zone, NULL);
        }
    }
    for (size_t it = 0; kc_map_next(&s->dirty, &it, NULL, &v);)
        free(v);
    kc_map_release(&s->dirty);
    s->dirty = (kc_map)KC_MAP_INIT;
    return kc_dns_index_build(s->zone, (uint32_t)time(NULL));
}

/* ---- publishing ---- */

static void snap_unref(kc_dns_source *s, snap *p)
{
    if (!p) return;
    pthread_mutex_lock(&s->mu);
    bool last = --p->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last) return;
    kc_dns_index_free(p->ix);
    free(p);
}

static void publish(kc_dns_source *s, kc_dns_index *ix)
{
    snap *p = xcalloc(1, sizeof *p);
    p->ix = ix;
    p->refs = 1;
    pthread_mutex_lock(&s->mu);
    snap *old = s->cur;
    s->cur = p;
    s->gen++;
    pthread_mutex_unlock(&s->mu);
    snap_unref(s, old);
}

const kc_dns_index *kc_dns_source_acquire(kc_dns_source *s, void **hold)
{
    pthread_mutex_lock(&s->mu);
    snap *p = s->cur;
    if (p) p->refs++;
    pthread_mutex_unlock(&s->mu);
    *hold = p;
    return p ? p->ix : NULL;
}

void kc_dns_source_release(kc_dns_source *s, void *hold)
{
    snap_unref(s, hold);
}

uint64_t kc_dns_source_generation(kc_dns_source *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t g = s->gen;
    pthread_mutex_unlock(&s->mu);
    return g;
}

/* ---- the builder thread ---- */

static bool all_synced(kc_dns_source *s)
{
    for (int i = 0; i < NKIND; i++)
        if (!kc_informer_wait_synced(s->inf[i], 200)) return false;
    return true;
}

static void *run(void *arg)
{
    kc_dns_source *s = arg;
    while (!s->stop && !all_synced(s)) {
    }
    if (s->stop) return NULL;
    char *key;
    while ((key = kc_wq_get(s->q))) {
        apply(s, key);
        kc_wq_forget(s->q, key);
        kc_wq_done(s->q, key);
        free(key);
        if (kc_wq_len(s->q) == 0 || !s->cur) publish(s, build(s));
    }
    return NULL;
}

kc_dns_source *kc_dns_source_start(kc_client *c, const char *domain)
{
    static const char *const res[NKIND][2] = {
        {"", "services"}, {"discovery.k8s.io", "endpointslices"}, {"", "pods"}, {"", "namespaces"}};
    kc_dns_source *s = xcalloc(1, sizeof *s);
    s->c = c;
    s->domain = xstrdup(domain);
    s->zone = kc_dns_zone_new(domain);
    char ver[NAMEBUF];
    if (namef(ver, "dns-version.%s", domain))
        kc_dns_zone_add(s->zone, ver, &(kc_dns_rr){.type = KC_DNS_TXT, .target = "1.1.0"});
    s->q = kc_wq_new("dns");
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < NKIND; i++) {
        const char *lsel = i == 1 ? "kubernetes.io/service-name" : NULL;
        s->inf[i] = kc_informer_new(c, kc_resource_find(res[i][0], "v1", res[i][1]), NULL, lsel, NULL);
        kc_informer_add_handlers(s->inf[i], &handlers[i], s);
        kc_informer_start(s->inf[i]);
    }
    kc_wq_add(s->q, "s/-/-"); /* a first build even for an empty cluster */
    pthread_create(&s->th, NULL, run, s);
    return s;
}

void kc_dns_source_free(kc_dns_source *s)
{
    if (!s) return;
    s->stop = true;
    for (int i = 0; i < NKIND; i++)
        kc_informer_stop(s->inf[i]);
    kc_wq_shutdown(s->q);
    pthread_join(s->th, NULL);
    for (int i = 0; i < NKIND; i++) {
        kc_informer_free(s->inf[i]);
        void *v;
        for (size_t it = 0; kc_map_next(&s->recs[i], &it, NULL, &v);)
            free_rec(i, v);
        kc_map_release(&s->recs[i]);
    }
    kc_wq_free(s->q);
    void *v;
    for (size_t it = 0; kc_map_next(&s->dirty, &it, NULL, &v);)
        free(v);
    kc_map_release(&s->dirty);
    kc_dns_zone_free(s->zone);
    snap_unref(s, s->cur);
    pthread_mutex_destroy(&s->mu);
    free(s->domain);
    free(s);
}
