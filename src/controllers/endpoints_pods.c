/* Pod and Service facts for the endpoint controllers (see endpoints_int.h): membership, port
 * resolution, addresses, and the last-change trigger time tracker. Pure functions over parsed
 * documents; the subsets live in endpoints_subsets.c. */
#include "controllers/endpoints_int.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <string.h>

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void kc_ep_svc_init(kc_ep_svc *s, json_t *doc)
{
    memset(s, 0, sizeof *s);
    s->doc = doc;
    json_t *md = json_object_get(doc, "metadata"), *spec = json_object_get(doc, "spec");
    s->ns = str(md, "namespace") ?: "";
    s->name = str(md, "name") ?: "";
    s->uid = str(md, "uid") ?: "";
    s->created = str(md, "creationTimestamp");
    s->labels = json_object_get(md, "labels");
    s->deleting = json_object_get(md, "deletionTimestamp") != NULL;
    s->cluster_ip = str(spec, "clusterIP") ?: "";
    s->type = str(spec, "type") ?: "ClusterIP";
    json_t *sel = json_object_get(spec, "selector");
    s->selector = json_object_size(sel) ? sel : NULL;
    s->ports = json_object_get(spec, "ports");
    s->publish_not_ready = json_is_true(json_object_get(spec, "publishNotReadyAddresses"));
    s->headless = !strcmp(s->cluster_ip, "None") || !s->cluster_ip[0];
    const char *fam = json_string_value(json_array_get(json_object_get(spec, "ipFamilies"), 0));
    s->ipv6 = fam ? !strcmp(fam, "IPv6") : strchr(s->cluster_ip, ':') != NULL;
}

void kc_ep_svc_release(kc_ep_svc *s)
{
    json_decref(s->doc);
    s->doc = NULL;
}

bool kc_ep_svc_managed(const kc_ep_svc *s)
{
    return strcmp(s->type, "ExternalName") && s->selector;
}

static json_t *ready_condition(json_t *status)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c) if (!strcmp(str(c, "type") ?: "", "Ready")) return c;
    return NULL;
}

void kc_ep_pod_init(kc_ep_pod *p, json_t *doc)
{
    memset(p, 0, sizeof *p);
    p->doc = doc;
    json_t *md = json_object_get(doc, "metadata"), *spec = json_object_get(doc, "spec");
    json_t *st = json_object_get(doc, "status");
    p->ns = str(md, "namespace") ?: "";
    p->name = str(md, "name") ?: "";
    p->uid = str(md, "uid") ?: "";
    p->node = str(spec, "nodeName") ?: "";
    p->hostname = str(spec, "hostname") ?: "";
    p->subdomain = str(spec, "subdomain") ?: "";
    p->terminating = json_object_get(md, "deletionTimestamp") != NULL;
    const char *phase = str(st, "phase") ?: "";
    p->terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
    json_t *rc = ready_condition(st);
    p->ready = rc && !strcmp(str(rc, "status") ?: "", "True");
    p->ready_time = rc ? str(rc, "lastTransitionTime") : NULL;
    p->has_ip = (str(st, "podIP") && *str(st, "podIP")) || json_array_size(json_object_get(st, "podIPs"));
}

void kc_ep_pod_release(kc_ep_pod *p)
{
    json_decref(p->doc);
    p->doc = NULL;
}

bool kc_ep_selects(json_t *selector, json_t *labels)
{
    if (!json_object_size(selector)) return false;
    const char *k;
    json_t *v;
    json_object_foreach(selector, k, v)
    {
        const char *have = str(labels, k);
        if (!have || strcmp(have, json_string_value(v) ?: "")) return false;
    }
    return true;
}

bool kc_ep_pod_included(const kc_ep_pod *p, bool include_terminating)
{
    if (p->terminal || !p->has_ip) return false;
    return include_terminating || !p->terminating;
}

bool kc_ep_pod_hostname(const kc_ep_pod *p, const kc_ep_svc *s)
{
    return p->hostname[0] && !strcmp(p->subdomain, s->name) && !strcmp(p->ns, s->ns);
}

const char *kc_ep_pod_ip(const kc_ep_pod *p, bool ipv6)
{
    json_t *st = json_object_get(p->doc, "status"), *ip;
    size_t i;
    json_array_foreach(json_object_get(st, "podIPs"), i, ip)
    {
        const char *a = str(ip, "ip");
        if (a && *a && (strchr(a, ':') != NULL) == ipv6) return a;
    }
    const char *a = str(st, "podIP");
    if (!json_array_size(json_object_get(st, "podIPs")) && a && *a && (strchr(a, ':') != NULL) == ipv6) return a;
    return NULL;
}

static int port_in(json_t *containers, const char *name, const char *proto, bool sidecars_only)
{
    size_t i, j;
    json_t *c, *p;
    json_array_foreach(containers, i, c)
    {
        if (sidecars_only && strcmp(str(c, "restartPolicy") ?: "", "Always")) continue;
        json_array_foreach(json_object_get(c, "ports"), j, p)
        {
            if (strcmp(str(p, "name") ?: "", name) || strcmp(str(p, "protocol") ?: "TCP", proto)) continue;
            return (int)json_integer_value(json_object_get(p, "containerPort"));
        }
    }
    return -1;
}

int kc_ep_find_port(json_t *pod_spec, json_t *svc_port)
{
    json_t *tp = json_object_get(svc_port, "targetPort");
    if (!tp) tp = json_object_get(svc_port, "port"); /* the API server defaults it to port */
    if (json_is_integer(tp)) return (int)json_integer_value(tp);
    const char *name = json_string_value(tp), *proto = str(svc_port, "protocol") ?: "TCP";
    if (!name) return -1;
    int port = port_in(json_object_get(pod_spec, "containers"), name, proto, false);
    if (port < 0) port = port_in(json_object_get(pod_spec, "initContainers"), name, proto, true);
    return port;
}

char *kc_ep_pod_digest(const kc_ep_pod *p)
{
    kc_buf b = KC_BUF_INIT;
    json_t *st = json_object_get(p->doc, "status"), *ip;
    size_t i;
    json_array_foreach(json_object_get(st, "podIPs"), i, ip) kc_buf_addf(&b, "%s,", str(ip, "ip") ?: "");
    kc_buf_addf(&b, "|%s|%d%d%d|%s|%s|%s", str(st, "podIP") ?: "", p->ready, p->terminating, p->terminal,
                p->hostname, p->subdomain, p->node);
    return kc_buf_take(&b);
}

json_t *kc_ep_labels(const kc_ep_svc *s)
{
    json_t *l = json_object_size(s->labels) ? json_deep_copy(s->labels) : json_object();
    if (s->headless)
        json_object_set_new(l, KC_EP_HEADLESS, json_string(""));
    else
        json_object_del(l, KC_EP_HEADLESS);
    return l;
}

/* ---- trigger times ---- */

typedef struct trig_state {
    char *key;
    char svc_time[64];
    kc_map pods; /* pod name -> malloc'd time string (key inside: "name\0time") */
} trig_state;

void kc_ep_trigger_init(kc_ep_trigger *t)
{
    pthread_mutex_init(&t->mu, NULL);
    t->svcs = (kc_map)KC_MAP_INIT;
}

static void pods_free(kc_map *m)
{
    void *v;
    for (size_t it = 0; kc_map_next(m, &it, NULL, &v);) free(v);
    kc_map_release(m);
}

static void state_free(trig_state *s)
{
    if (!s) return;
    pods_free(&s->pods);
    free(s->key);
    free(s);
}

void kc_ep_trigger_release(kc_ep_trigger *t)
{
    void *v;
    for (size_t it = 0; kc_map_next(&t->svcs, &it, NULL, &v);) state_free(v);
    kc_map_release(&t->svcs);
    pthread_mutex_destroy(&t->mu);
}

/* Times are RFC 3339 strings the API server wrote in one format: they compare as strings. */
static void take_min(char out[64], const char *t)
{
    if (!out[0] || strcmp(t, out) < 0) snprintf(out, 64, "%s", t);
}

/* A pod entry "name\0time": the key is the name, the time follows it. */
static char *pod_entry(const char *name, const char *time)
{
    size_t a = strlen(name), b = strlen(time);
    char *e = xmalloc(a + b + 2);
    memcpy(e, name, a + 1);
    memcpy(e + a + 1, time, b + 1);
    return e;
}

void kc_ep_trigger_compute(kc_ep_trigger *t, const kc_ep_svc *s, kc_ep_pod **pods, size_t n, char out[64])
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", s->ns, s->name);
    out[0] = 0;
    pthread_mutex_lock(&t->mu);
    trig_state *st = kc_map_get(&t->svcs, key);
    bool known = st != NULL;
    if (!st) {
        st = xcalloc(1, sizeof *st);
        st->key = xstrdup(key);
        kc_map_put(&t->svcs, st->key, st);
    }
    kc_map fresh = KC_MAP_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *rt = pods[i]->ready_time;
        if (!rt || !*rt) continue;
        char *old = kc_map_get(&st->pods, pods[i]->name);
        if (!old || strcmp(rt, old + strlen(old) + 1) > 0) take_min(out, rt);
        char *e = pod_entry(pods[i]->name, rt);
        free(kc_map_put(&fresh, e, e));
    }
    const char *ct = s->created ?: "";
    if (*ct && strcmp(ct, st->svc_time) > 0) take_min(out, ct);
    snprintf(st->svc_time, sizeof st->svc_time, "%s", ct);
    pods_free(&st->pods);
    st->pods = fresh;
    pthread_mutex_unlock(&t->mu);
    if (!known) snprintf(out, 64, "%s", ct);
}

void kc_ep_trigger_forget(kc_ep_trigger *t, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    pthread_mutex_lock(&t->mu);
    trig_state *st = kc_map_del(&t->svcs, key);
    pthread_mutex_unlock(&t->mu);
    state_free(st);
}

/* ---- selectors by Service revision ---- */

typedef struct sel_entry {
    char *key;
    uint64_t rev;
    json_t *selector; /* NULL: selects nothing (no selector, or ExternalName) */
} sel_entry;

void kc_ep_selcache_init(kc_ep_selcache *c)
{
    pthread_mutex_init(&c->mu, NULL);
    c->m = (kc_map)KC_MAP_INIT;
}

static void sel_free(sel_entry *e)
{
    if (!e) return;
    json_decref(e->selector);
    free(e->key);
    free(e);
}

void kc_ep_selcache_release(kc_ep_selcache *c)
{
    void *v;
    for (size_t it = 0; kc_map_next(&c->m, &it, NULL, &v);) sel_free(v);
    kc_map_release(&c->m);
    pthread_mutex_destroy(&c->mu);
}

static json_t *selector_of(const kc_obj *svc)
{
    kc_ep_svc s;
    kc_ep_svc_init(&s, kc_obj_parse(svc));
    json_t *sel = kc_ep_svc_managed(&s) ? json_incref(s.selector) : NULL;
    kc_ep_svc_release(&s);
    return sel;
}

bool kc_ep_selcache_match(kc_ep_selcache *c, const kc_obj *svc, json_t *labels)
{
    pthread_mutex_lock(&c->mu);
    sel_entry *e = kc_map_get(&c->m, svc->key);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(svc->key);
        kc_map_put(&c->m, e->key, e);
    }
    if (e->rev != svc->rev) {
        json_decref(e->selector);
        e->selector = selector_of(svc);
        e->rev = svc->rev;
    }
    bool m = kc_ep_selects(e->selector, labels);
    pthread_mutex_unlock(&c->mu);
    return m;
}

void kc_ep_selcache_forget(kc_ep_selcache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    sel_entry *e = kc_map_del(&c->m, key);
    pthread_mutex_unlock(&c->mu);
    sel_free(e);
}

/* ---- pod facts by revision ---- */

typedef struct pod_entry_c {
    char *key;
    uint64_t rev;
    kc_ep_pod facts; /* facts.doc: the trimmed document (the cache's reference) */
    char *digest;
} pod_entry_c;

void kc_ep_podcache_init(kc_ep_podcache *c)
{
    pthread_mutex_init(&c->mu, NULL);
    c->m = (kc_map)KC_MAP_INIT;
}

static void pod_entry_free(pod_entry_c *e)
{
    if (!e) return;
    kc_ep_pod_release(&e->facts);
    free(e->digest);
    free(e->key);
    free(e);
}

void kc_ep_podcache_release(kc_ep_podcache *c)
{
    void *v;
    for (size_t it = 0; kc_map_next(&c->m, &it, NULL, &v);) pod_entry_free(v);
    kc_map_release(&c->m);
    pthread_mutex_destroy(&c->mu);
}

static void copy_key(json_t *dst, json_t *src, const char *k)
{
    json_t *v = json_object_get(src, k);
    if (v) json_object_set(dst, k, v);
}

/* Only the container ports (and a sidecar's restartPolicy) of a container list. */
static json_t *trim_containers(json_t *list)
{
    json_t *out = json_array(), *c;
    size_t i;
    json_array_foreach(list, i, c)
    {
        json_t *t = json_object();
        copy_key(t, c, "ports");
        copy_key(t, c, "restartPolicy");
        json_array_append_new(out, t);
    }
    return out;
}

/* What endpoints read of a pod: identity, deletion, node, hostname/subdomain, container ports,
 * phase, IPs and the Ready condition. Values are shared with the full document (read-only). */
static json_t *trim(json_t *doc)
{
    json_t *md = json_object_get(doc, "metadata"), *spec = json_object_get(doc, "spec");
    json_t *st = json_object_get(doc, "status");
    json_t *tm = json_object(), *ts = json_object(), *tst = json_object();
    static const char *mk[] = {"name", "namespace", "uid", "deletionTimestamp"};
    static const char *sk[] = {"nodeName", "hostname", "subdomain"};
    static const char *stk[] = {"phase", "podIP", "podIPs"};
    for (size_t i = 0; i < 4; i++) copy_key(tm, md, mk[i]);
    for (size_t i = 0; i < 3; i++) copy_key(ts, spec, sk[i]);
    for (size_t i = 0; i < 3; i++) copy_key(tst, st, stk[i]);
    json_object_set_new(ts, "containers", trim_containers(json_object_get(spec, "containers")));
    json_object_set_new(ts, "initContainers", trim_containers(json_object_get(spec, "initContainers")));
    json_t *rc = ready_condition(st);
    json_object_set_new(tst, "conditions", rc ? json_pack("[O]", rc) : json_array());
    return json_pack("{s:o,s:o,s:o}", "metadata", tm, "spec", ts, "status", tst);
}

static pod_entry_c *entry_for(kc_ep_podcache *c, const kc_obj *o)
{
    pod_entry_c *e = kc_map_get(&c->m, o->key);
    if (e && e->rev == o->rev) return e;
    json_t *full = kc_obj_parse(o);
    json_t *small = trim(full);
    json_decref(full);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(o->key);
        kc_map_put(&c->m, e->key, e);
    } else {
        kc_ep_pod_release(&e->facts);
        free(e->digest);
    }
    e->rev = o->rev;
    kc_ep_pod_init(&e->facts, small);
    e->digest = kc_ep_pod_digest(&e->facts);
    return e;
}

void kc_ep_podcache_get(kc_ep_podcache *c, const kc_obj *o, kc_ep_pod *out)
{
    pthread_mutex_lock(&c->mu);
    pod_entry_c *e = entry_for(c, o);
    *out = e->facts;
    json_incref(out->doc);
    pthread_mutex_unlock(&c->mu);
}

void kc_ep_podcache_forget(kc_ep_podcache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    pod_entry_c *e = kc_map_del(&c->m, key);
    pthread_mutex_unlock(&c->mu);
    pod_entry_free(e);
}

static bool labels_equal(json_t *a, json_t *b)
{
    if (!json_object_size(a) && !json_object_size(b)) return true;
    return a && b && json_equal(a, b);
}

void kc_ep_pod_update(kc_ep_podcache *c, const kc_obj *old, const kc_obj *cur, bool *changed, bool *relabeled)
{
    pthread_mutex_lock(&c->mu);
    pod_entry_c *e = entry_for(c, old);
    char *da = xstrdup(e->digest), *ha = xstrdup(e->facts.hostname), *sa = xstrdup(e->facts.subdomain);
    e = entry_for(c, cur);
    *changed = strcmp(da, e->digest) != 0;
    *relabeled = !labels_equal(old->labels, cur->labels) || strcmp(ha, e->facts.hostname) ||
                 strcmp(sa, e->facts.subdomain);
    pthread_mutex_unlock(&c->mu);
    free(da);
    free(ha);
    free(sa);
}

/* ---- parsed documents by revision ---- */

typedef struct doc_entry {
    char *key;
    uint64_t rev;
    json_t *doc;
} doc_entry;

void kc_ep_doccache_init(kc_ep_doccache *c)
{
    pthread_mutex_init(&c->mu, NULL);
    c->m = (kc_map)KC_MAP_INIT;
}

static void doc_entry_free(doc_entry *e)
{
    if (!e) return;
    json_decref(e->doc);
    free(e->key);
    free(e);
}

void kc_ep_doccache_release(kc_ep_doccache *c)
{
    void *v;
    for (size_t it = 0; kc_map_next(&c->m, &it, NULL, &v);) doc_entry_free(v);
    kc_map_release(&c->m);
    pthread_mutex_destroy(&c->mu);
}

json_t *kc_ep_doccache_get(kc_ep_doccache *c, const kc_obj *o)
{
    pthread_mutex_lock(&c->mu);
    doc_entry *e = kc_map_get(&c->m, o->key);
    json_t *doc = e && e->rev == o->rev ? json_incref(e->doc) : NULL;
    pthread_mutex_unlock(&c->mu);
    if (doc) return doc;
    doc = kc_obj_parse(o);
    pthread_mutex_lock(&c->mu);
    e = kc_map_get(&c->m, o->key);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(o->key);
        kc_map_put(&c->m, e->key, e);
    }
    if (e->rev < o->rev || !e->doc) {
        json_decref(e->doc);
        e->doc = json_incref(doc);
        e->rev = o->rev;
    }
    pthread_mutex_unlock(&c->mu);
    return doc;
}

void kc_ep_doccache_forget(kc_ep_doccache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    doc_entry *e = kc_map_del(&c->m, key);
    pthread_mutex_unlock(&c->mu);
    doc_entry_free(e);
}

/* ---- pods by label ---- */

static char *label_key(const char *ns, const char *k, const char *v)
{
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "%s\x1f%s=%s", ns, k, v);
    return kc_buf_take(&b);
}

size_t kc_ep_label_index(const kc_obj *o, char **keys, size_t max)
{
    size_t n = 0;
    if (!max) return 0;
    if (json_object_size(o->labels) > max) {
        keys[0] = label_key(o->ns, "*", "");
        return 1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o->labels, k, v) keys[n++] = label_key(o->ns, k, json_string_value(v) ?: "");
    return n;
}

static size_t append_matching(kc_obj **v, size_t n, json_t *selector, kc_obj **out, size_t k)
{
    for (size_t i = 0; i < n; i++) {
        if (kc_ep_selects(selector, v[i]->labels))
            out[k++] = v[i];
        else
            kc_obj_unref(v[i]);
    }
    free(v);
    return k;
}

size_t kc_ep_selected(kc_informer *pods, const char *ns, json_t *selector, kc_obj ***out)
{
    *out = NULL;
    if (!json_object_size(selector)) return 0;
    void *it = json_object_iter(selector);
    char *key = label_key(ns, json_object_iter_key(it), json_string_value(json_object_iter_value(it)) ?: "");
    char *wide = label_key(ns, "*", "");
    kc_obj **a, **b;
    size_t na = kc_informer_by_index(pods, KC_EP_LABEL_INDEX, key, &a);
    size_t nb = kc_informer_by_index(pods, KC_EP_LABEL_INDEX, wide, &b);
    free(key);
    free(wide);
    kc_obj **v = xcalloc(na + nb + 1, sizeof *v);
    size_t k = append_matching(a, na, selector, v, 0);
    *out = v;
    return append_matching(b, nb, selector, v, k);
}
