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
    json_array_foreach(json_object_get(status, "conditions"), i,
                       c) if (!strcmp(str(c, "type") ?: "", "Ready")) return c;
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
    if (!json_array_size(json_object_get(st, "podIPs")) && a && *a && (strchr(a, ':') != NULL) == ipv6)
        return a;
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
    for (size_t it = 0; kc_map_next(m, &it, NULL, &v);)
        free(v);
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
    for (size_t it = 0; kc_map_next(&t->svcs, &it, NULL, &v);)
        state_free(v);
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
