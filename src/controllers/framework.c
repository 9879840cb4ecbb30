/* Controller framework (see framework.h): the runner, expectations, owner references and pod
 * facts shared by the workload controllers. */
#include "controllers/framework.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define MAX_WORKERS 16
#define EXPECTATIONS_TTL 300 /* seconds, as upstream */

struct kc_controller {
    char *name;
    kc_wq *q;
    kc_sync_fn sync;
    void *ud;
    int nworkers;
    pthread_t workers[MAX_WORKERS];
    bool running;
};

kc_controller *kc_controller_new(const char *name, int workers, kc_sync_fn sync, void *ud)
{
    kc_controller *c = xcalloc(1, sizeof *c);
    c->name = xstrdup(name);
    c->q = kc_wq_new(name);
    c->sync = sync;
    c->ud = ud;
    c->nworkers = workers < 1 ? 1 : workers > MAX_WORKERS ? MAX_WORKERS : workers;
    return c;
}

kc_wq *kc_controller_queue(kc_controller *c)
{
    return c->q;
}

void kc_controller_enqueue(kc_controller *c, const kc_obj *o)
{
    kc_wq_add(c->q, o->key);
}

/* Level-triggered worker: sync the key; forget on success, back off on error, requeue later
 * when the sync asks for it. */
static void *worker(void *p)
{
    kc_controller *c = p;
    char *key;
    while ((key = kc_wq_get(c->q))) {
        int rc = c->sync(c->ud, key);
        if (rc == 0) {
            kc_wq_forget(c->q, key);
        } else if (rc < 0) {
            if (kc_wq_requeues(c->q, key) < 15) kc_wq_add_rate_limited(c->q, key);
            else kc_wq_forget(c->q, key);
        } else {
            kc_wq_forget(c->q, key);
            kc_wq_add_after(c->q, key, (uint64_t)rc);
        }
        kc_wq_done(c->q, key);
        free(key);
    }
    return NULL;
}

void kc_controller_run(kc_controller *c, kc_informer **informers, size_t n)
{
    for (size_t i = 0; i < n; i++) kc_informer_wait_synced(informers[i], 30000);
    for (int i = 0; i < c->nworkers; i++) pthread_create(&c->workers[i], NULL, worker, c);
    c->running = true;
}

void kc_controller_stop(kc_controller *c)
{
    kc_wq_shutdown(c->q);
    if (!c->running) return;
    for (int i = 0; i < c->nworkers; i++) pthread_join(c->workers[i], NULL);
    c->running = false;
}

void kc_controller_free(kc_controller *c)
{
    if (!c) return;
    kc_controller_stop(c);
    kc_wq_free(c->q);
    free(c->name);
    free(c);
}

/* ---- expectations ---- */

typedef struct expectation {
    char *owner;
    int add, del;
    time_t ts;
} expectation;

struct kc_expectations {
    pthread_mutex_t mu;
    kc_map m;
};

kc_expectations *kc_expectations_new(void)
{
    kc_expectations *e = xcalloc(1, sizeof *e);
    pthread_mutex_init(&e->mu, NULL);
    return e;
}

static void exp_free(expectation *x)
{
    if (!x) return;
    free(x->owner);
    free(x);
}

void kc_expectations_free(kc_expectations *e)
{
    if (!e) return;
    void *v;
    for (size_t it = 0; kc_map_next(&e->m, &it, NULL, &v);) exp_free(v);
    kc_map_release(&e->m);
    free(e);
}

static expectation *get_or_new(kc_expectations *e, const char *owner)
{
    expectation *x = kc_map_get(&e->m, owner);
    if (!x) {
        x = xcalloc(1, sizeof *x);
        x->owner = xstrdup(owner);
        kc_map_put(&e->m, x->owner, x);
    }
    return x;
}

static void adjust(kc_expectations *e, const char *owner, int add, int del, bool set)
{
    pthread_mutex_lock(&e->mu);
    expectation *x = get_or_new(e, owner);
    if (set) {
        x->add = add > 0 ? add : x->add;
        x->del = del > 0 ? del : x->del;
        x->ts = time(NULL);
    } else {
        x->add += add;
        x->del += del;
    }
    pthread_mutex_unlock(&e->mu);
}

void kc_expect_creations(kc_expectations *e, const char *owner, int n)
{
    adjust(e, owner, n, 0, true);
}

void kc_expect_deletions(kc_expectations *e, const char *owner, int n)
{
    adjust(e, owner, 0, n, true);
}

void kc_creation_observed(kc_expectations *e, const char *owner)
{
    adjust(e, owner, -1, 0, false);
}

void kc_deletion_observed(kc_expectations *e, const char *owner)
{
    adjust(e, owner, 0, -1, false);
}

bool kc_expectations_satisfied(kc_expectations *e, const char *owner)
{
    pthread_mutex_lock(&e->mu);
    expectation *x = kc_map_get(&e->m, owner);
    bool ok = !x || (x->add <= 0 && x->del <= 0) || time(NULL) - x->ts > EXPECTATIONS_TTL;
    pthread_mutex_unlock(&e->mu);
    return ok;
}

void kc_expectations_delete(kc_expectations *e, const char *owner)
{
    pthread_mutex_lock(&e->mu);
    exp_free(kc_map_del(&e->m, owner));
    pthread_mutex_unlock(&e->mu);
}

/* ---- owner references ---- */

json_t *kc_controller_ref(json_t *obj)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i, r)
    {
        if (json_is_true(json_object_get(r, "controller"))) return r;
    }
    return NULL;
}

static void copy_str(char *dst, size_t n, json_t *v)
{
    if (dst && n) snprintf(dst, n, "%s", json_string_value(v) ?: "");
}

/* A fast path for metadata.ownerReferences: parsing a whole pod costs ~30 us and owner
 * references are read on every informer event, so the serialized object is scanned for the
 * array and only the array is parsed. Any surprise falls back to the full parse. */
static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    return p;
}

static const char *skip_str(const char *p, const char *e) /* p at '"' */
{
    for (p++; p < e; p++) {
        if (*p == '\\') p++;
        else if (*p == '"') return p + 1;
    }
    return NULL;
}

static const char *skip_val(const char *p, const char *e)
{
    if (p < e && *p == '"') return skip_str(p, e);
    if (p < e && (*p == '{' || *p == '[')) {
        for (int depth = 0; p && p < e;) {
            if (*p == '"') {
                p = skip_str(p, e);
                continue;
            }
            if (*p == '{' || *p == '[') depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
            p++;
        }
        return NULL;
    }
    while (p < e && !strchr(",}] \t\r\n", *p)) p++;
    return p;
}

/* The value of member key of the object at p: 1 found (*val set), 0 absent, -1 unexpected text. */
static int member(const char *p, const char *e, const char *key, const char **val)
{
    size_t kl = strlen(key);
    p = skip_ws(p, e);
    if (p >= e || *p != '{') return -1;
    p = skip_ws(p + 1, e);
    if (p < e && *p == '}') return 0;
    while (p && p < e && *p == '"') {
        const char *k = p + 1, *ke = skip_str(p, e);
        if (!ke) return -1;
        p = skip_ws(ke, e);
        if (p >= e || *p != ':') return -1;
        p = skip_ws(p + 1, e);
        if ((size_t)(ke - 1 - k) == kl && !memcmp(k, key, kl)) return *val = p, 1;
        p = skip_val(p, e);
        if (!p) return -1;
        p = skip_ws(p, e);
        if (p < e && *p == '}') return 0;
        if (p >= e || *p != ',') return -1;
        p = skip_ws(p + 1, e);
    }
    return -1;
}

/* metadata.ownerReferences of o: 1 with *refs (new reference), 0 none, -1 scan failed. */
static int scan_owner_refs(const kc_obj *o, json_t **refs)
{
    const char *e = o->json ? o->json + o->len : NULL, *md, *v;
    *refs = NULL;
    if (!e || member(o->json, e, "metadata", &md) != 1) return -1;
    int rc = member(md, e, "ownerReferences", &v);
    if (rc <= 0) return rc;
    if (*v != '[') return 0; /* null */
    *refs = json_loadb(v, (size_t)(e - v), JSON_DISABLE_EOF_CHECK, NULL);
    return *refs ? 1 : -1;
}

bool kc_obj_controller(const kc_obj *o, char *uid, size_t uidlen, char *kind, size_t kindlen, char *name,
                       size_t namelen)
{
    json_t *refs = NULL, *d = NULL, *r = NULL, *x;
    size_t i;
    int rc = scan_owner_refs(o, &refs);
    if (rc < 0) r = kc_controller_ref(d = kc_obj_parse(o));
    json_array_foreach(refs, i, x) if (!r && json_is_true(json_object_get(x, "controller"))) r = x;
    if (r) {
        copy_str(uid, uidlen, json_object_get(r, "uid"));
        copy_str(kind, kindlen, json_object_get(r, "kind"));
        copy_str(name, namelen, json_object_get(r, "name"));
    }
    json_decref(d);
    json_decref(refs);
    return r != NULL;
}

json_t *kc_owner_ref(const kc_obj *owner)
{
    const kc_resource *rd = &kc_resources[owner->res];
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", kc_resource_api_version(rd), "kind", rd->kind,
                     "name", owner->name, "uid", owner->uid, "controller", 1, "blockOwnerDeletion", 1);
}

json_t *kc_pod_from_template(json_t *tmpl, const kc_obj *owner, const char *ns)
{
    json_t *tmd = json_object_get(tmpl, "metadata");
    json_t *md = json_object();
    static const char *copy[] = {"labels", "annotations", "finalizers"};
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(tmd, copy[i]);
        if (v) json_object_set_new(md, copy[i], json_deep_copy(v));
    }
    char gen[300];
    snprintf(gen, sizeof gen, "%s-", owner->name);
    json_object_set_new(md, "generateName", json_string(strlen(gen) <= 58 ? gen : owner->name));
    json_object_set_new(md, "namespace", json_string(ns));
    json_object_set_new(md, "ownerReferences", json_pack("[o]", kc_owner_ref(owner)));
    json_t *spec = json_object_get(tmpl, "spec");
    return json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", md, "spec",
                     spec ? json_deep_copy(spec) : json_object());
}

/* ---- pod facts ---- */

static const char *phase_of(json_t *pod)
{
    return json_string_value(json_object_get(json_object_get(pod, "status"), "phase")) ?: "";
}

bool kc_pod_active(json_t *pod)
{
    const char *ph = phase_of(pod);
    return strcmp(ph, "Succeeded") && strcmp(ph, "Failed") &&
           !json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp");
}

static json_t *ready_condition(json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready")) return c;
    }
    return NULL;
}

bool kc_pod_ready(json_t *pod)
{
    json_t *c = ready_condition(pod);
    return c && !strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True");
}

bool kc_pod_available(json_t *pod, int min_ready, time_t now)
{
    if (!kc_pod_ready(pod)) return false;
    if (min_ready <= 0) return true;
    time_t t = kc_parse_time(json_string_value(json_object_get(ready_condition(pod), "lastTransitionTime")));
    return t >= 0 && t + min_ready <= now;
}

time_t kc_parse_time(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
    return timegm(&tm);
}

void kc_format_time(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
