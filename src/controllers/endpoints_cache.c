/* Caches and indexes of the endpoint controllers (see endpoints_int.h): Service selectors by
 * revision, pod facts by revision (a trimmed copy of each pod, parsed once), Endpoints and slice
 * documents by revision, and the pod label index that finds a selector's pods without scanning
 * the namespace. Each cache is thread-safe; cached documents are read-only and shared. */
#include "controllers/endpoints_int.h"
#include "controllers/framework.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <string.h>

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *ready_condition(json_t *status)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i,
                       c) if (!strcmp(str(c, "type") ?: "", "Ready")) return c;
    return NULL;
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
    for (size_t it = 0; kc_map_next(&c->m, &it, NULL, &v);)
        sel_free(v);
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
    for (size_t it = 0; kc_map_next(&c->m, &it, NULL, &v);)
        pod_entry_free(v);
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
    for (size_t i = 0; i < 4; i++)
        copy_key(tm, md, mk[i]);
    for (size_t i = 0; i < 3; i++)
        copy_key(ts, spec, sk[i]);
    for (size_t i = 0; i < 3; i++)
        copy_key(tst, st, stk[i]);
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
    for (size_t it = 0; kc_map_next(&c->m, &it, NULL, &v);)
        doc_entry_free(v);
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

/* ---- the shared pod handlers ---- */

static void enqueue_selecting(const kc_ep_feed *f, const kc_obj *pod)
{
    kc_obj **v;
    size_t n = kc_informer_by_index(f->svcs, "ns", pod->ns, &v);
    for (size_t i = 0; i < n; i++)
        if (kc_ep_selcache_match(f->sels, v[i], pod->labels)) kc_wq_add(kc_controller_queue(f->ctl), v[i]->key);
    kc_objv_free(v, n);
}

/* Does any Service of the pod's namespace select these labels? */
static bool selected(const kc_ep_feed *f, const kc_obj *pod)
{
    kc_obj **v;
    size_t n = kc_informer_by_index(f->svcs, "ns", pod->ns, &v);
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = kc_ep_selcache_match(f->sels, v[i], pod->labels);
    kc_objv_free(v, n);
    return any;
}

void kc_ep_feed_add(const kc_ep_feed *f, const kc_obj *pod)
{
    enqueue_selecting(f, pod);
}

void kc_ep_feed_delete(const kc_ep_feed *f, const kc_obj *pod)
{
    kc_ep_podcache_forget(f->podc, pod->key);
    enqueue_selecting(f, pod);
}

void kc_ep_feed_update(const kc_ep_feed *f, const kc_obj *old, const kc_obj *cur)
{
    if (old->rev == cur->rev || (!selected(f, cur) && !selected(f, old))) return;
    bool changed, relabeled;
    kc_ep_pod_update(f->podc, old, cur, &changed, &relabeled);
    if (!changed && !relabeled) return;
    enqueue_selecting(f, cur);
    if (relabeled) enqueue_selecting(f, old);
}
