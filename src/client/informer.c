/* Informer (see informer.h): list, then watch; a cache of kc_obj references keyed "ns/name",
 * optional indexes, handlers called on the informer thread. Watch callbacks (on the server loop
 * for in-process clients) only append to a queue that the informer thread drains. */
#include "client/informer.h"
#include "lib/map.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#define MAX_HANDLERS 8
#define MAX_INDEXES 4
#define MAX_INDEX_KEYS 16

typedef struct qev {
    enum kc_wevent type;
    kc_obj *obj;
    uint64_t rev;
    struct qev *next;
} qev;

typedef struct obj_index {
    char *name;
    kc_index_fn fn;
    kc_map keys; /* index key -> kc_map (obj key -> kc_obj*, borrowed from the cache) */
} obj_index;

struct kc_informer {
    kc_client *c;
    int res;
    char *ns, *lsel, *fsel;
    kc_handlers h[MAX_HANDLERS];
    void *ud[MAX_HANDLERS];
    int nh;
    obj_index idx[MAX_INDEXES];
    int nidx;
    pthread_rwlock_t lock; /* cache and indexes */
    kc_map cache;          /* key -> kc_obj* (one reference each) */
    pthread_mutex_t mu;    /* event queue, flags */
    pthread_cond_t cv;
    qev *head, **tail;
    bool synced, stop, started;
    uint64_t last_rev;
    pthread_t thread;
};

kc_informer *kc_informer_new(kc_client *c, int res, const char *ns, const char *lsel, const char *fsel)
{
    kc_informer *inf = xcalloc(1, sizeof *inf);
    inf->c = c;
    inf->res = res;
    inf->ns = ns ? xstrdup(ns) : NULL;
    inf->lsel = lsel ? xstrdup(lsel) : NULL;
    inf->fsel = fsel ? xstrdup(fsel) : NULL;
    pthread_rwlock_init(&inf->lock, NULL);
    pthread_mutex_init(&inf->mu, NULL);
    pthread_cond_init(&inf->cv, NULL);
    inf->tail = &inf->head;
    return inf;
}

void kc_informer_add_handlers(kc_informer *inf, const kc_handlers *h, void *ud)
{
    if (inf->nh == MAX_HANDLERS) abort();
    inf->h[inf->nh] = *h;
    inf->ud[inf->nh++] = ud;
}

int kc_informer_add_index(kc_informer *inf, const char *name, kc_index_fn fn)
{
    if (inf->nidx == MAX_INDEXES) return -1;
    inf->idx[inf->nidx++] = (obj_index){xstrdup(name), fn, KC_MAP_INIT};
    return 0;
}

/* ---- cache and indexes (write lock held) ---- */

static void index_update(obj_index *ix, const kc_obj *o, bool add)
{
    char *keys[MAX_INDEX_KEYS];
    size_t n = ix->fn(o, keys, MAX_INDEX_KEYS);
    for (size_t i = 0; i < n; i++) {
        kc_map *set = kc_map_get(&ix->keys, keys[i]);
        if (add) {
            if (!set) {
                set = xcalloc(1, sizeof *set);
                kc_map_put(&ix->keys, xstrdup(keys[i]), set);
            }
            kc_map_put(set, o->key, (void *)o);
        } else if (set) {
            kc_map_del(set, o->key);
        }
        free(keys[i]);
    }
}

/* Installs o (reference taken) as the state of its key; returns the previous state (a reference
 * the caller owns) or NULL. o NULL with key: removes. */
static kc_obj *cache_set(kc_informer *inf, const char *key, kc_obj *o)
{
    kc_obj *old = kc_map_get(&inf->cache, key);
    for (int i = 0; i < inf->nidx && old; i++) index_update(&inf->idx[i], old, false);
    if (old) kc_map_del(&inf->cache, key);
    if (o) {
        kc_map_put(&inf->cache, o->key, o);
        for (int i = 0; i < inf->nidx; i++) index_update(&inf->idx[i], o, true);
    }
    return old;
}

static void notify(kc_informer *inf, const kc_obj *old, const kc_obj *cur)
{
    for (int i = 0; i < inf->nh; i++) {
        const kc_handlers *h = &inf->h[i];
        if (!old && cur && h->on_add) h->on_add(inf->ud[i], cur);
        else if (old && cur && h->on_update) h->on_update(inf->ud[i], old, cur);
        else if (old && !cur && h->on_delete) h->on_delete(inf->ud[i], old);
    }
}

static void apply(kc_informer *inf, enum kc_wevent type, kc_obj *o)
{
    pthread_rwlock_wrlock(&inf->lock);
    kc_obj *old = cache_set(inf, o->key, type == KC_WATCH_DELETED ? NULL : o);
    pthread_rwlock_unlock(&inf->lock);
    if (type == KC_WATCH_DELETED) {
        notify(inf, old ? old : o, NULL);
        kc_obj_unref(o);
    } else {
        kc_obj_ref(o); /* the handlers' view; the cache holds the other reference */
        notify(inf, old, o);
        kc_obj_unref(o);
    }
    kc_obj_unref(old);
}

/* A fresh list replaces the cache: differences become add/update/delete notifications. */
static void replace(kc_informer *inf, kc_obj **objs, size_t n)
{
    kc_map seen = KC_MAP_INIT;
    for (size_t i = 0; i < n; i++) {
        kc_map_put(&seen, objs[i]->key, objs[i]);
        pthread_rwlock_rdlock(&inf->lock);
        kc_obj *old = kc_map_get(&inf->cache, objs[i]->key);
        bool same = old && old->rev == objs[i]->rev;
        pthread_rwlock_unlock(&inf->lock);
        if (same)
            kc_obj_unref(objs[i]);
        else
            apply(inf, KC_WATCH_MODIFIED, objs[i]);
    }
    kc_obj **gone = NULL;
    size_t ngone = 0;
    pthread_rwlock_rdlock(&inf->lock);
    gone = xcalloc(kc_map_len(&inf->cache) + 1, sizeof *gone);
    void *v;
    for (size_t it = 0; kc_map_next(&inf->cache, &it, NULL, &v);)
        if (!kc_map_get(&seen, ((kc_obj *)v)->key)) {
            kc_obj_ref(v);
            gone[ngone++] = v;
        }
    pthread_rwlock_unlock(&inf->lock);
    for (size_t i = 0; i < ngone; i++) apply(inf, KC_WATCH_DELETED, gone[i]);
    free(gone);
    kc_map_release(&seen);
}

/* ---- the informer thread ---- */

static void on_event(void *ud, enum kc_wevent type, kc_obj *obj, uint64_t rev)
{
    kc_informer *inf = ud;
    qev *e = xcalloc(1, sizeof *e);
    *e = (qev){type, obj, rev, NULL};
    pthread_mutex_lock(&inf->mu);
    *inf->tail = e;
    inf->tail = &e->next;
    pthread_cond_signal(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
}

static qev *next_event(kc_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    while (!inf->head && !inf->stop) pthread_cond_wait(&inf->cv, &inf->mu);
    qev *e = inf->head;
    if (e && !inf->stop) {
        inf->head = e->next;
        if (!inf->head) inf->tail = &inf->head;
    } else {
        e = NULL;
    }
    pthread_mutex_unlock(&inf->mu);
    return e;
}

static void drop_queue(kc_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    for (qev *e = inf->head, *n; e; e = n) {
        n = e->next;
        kc_obj_unref(e->obj);
        free(e);
    }
    inf->head = NULL;
    inf->tail = &inf->head;
    pthread_mutex_unlock(&inf->mu);
}

static int relist(kc_informer *inf)
{
    kc_obj **objs;
    size_t n;
    uint64_t rev;
    kc_err err = KC_ERR_INIT;
    if (kc_client_list(inf->c, inf->res, inf->ns, inf->lsel, inf->fsel, &objs, &n, &rev, &err) < 0) {
        kc_err_release(&err);
        return -1;
    }
    replace(inf, objs, n);
    free(objs);
    pthread_mutex_lock(&inf->mu);
    inf->last_rev = rev;
    inf->synced = true;
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
    return 0;
}

/* Runs one watch until it closes; returns true when the cache must be listed again. */
static bool watch_once(kc_informer *inf)
{
    kc_err err = KC_ERR_INIT;
    kc_watch *w = kc_client_watch(inf->c, inf->res, inf->ns, inf->lsel, inf->fsel, inf->last_rev, on_event, inf, &err);
    if (!w) {
        kc_err_release(&err);
        return true;
    }
    bool expired = false, closed = false;
    qev *e;
    while (!closed && (e = next_event(inf))) {
        if (e->type == KC_WATCH_EXPIRED) expired = true;
        if (e->type == KC_WATCH_CLOSED) closed = true;
        if (e->obj) apply(inf, e->type, e->obj);
        if (e->rev && (e->obj || e->type == KC_WATCH_BOOKMARK)) inf->last_rev = e->rev;
        free(e);
    }
    kc_client_watch_stop(inf->c, w);
    drop_queue(inf);
    return expired;
}

static void *run(void *p)
{
    kc_informer *inf = p;
    bool need_list = true;
    while (!inf->stop) {
        if (need_list && relist(inf) < 0) {
            usleep(500 * 1000);
            continue;
        }
        need_list = watch_once(inf);
    }
    return NULL;
}

void kc_informer_start(kc_informer *inf)
{
    inf->started = true;
    pthread_create(&inf->thread, NULL, run, inf);
}

bool kc_informer_wait_synced(kc_informer *inf, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_mutex_lock(&inf->mu);
    while (!inf->synced && !inf->stop)
        if (pthread_cond_timedwait(&inf->cv, &inf->mu, &ts)) break;
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

bool kc_informer_synced(kc_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

void kc_informer_stop(kc_informer *inf)
{
    if (!inf->started) return;
    pthread_mutex_lock(&inf->mu);
    inf->stop = true;
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
    pthread_join(inf->thread, NULL);
    inf->started = false;
}

void kc_informer_free(kc_informer *inf)
{
    if (!inf) return;
    kc_informer_stop(inf);
    void *v;
    for (size_t it = 0; kc_map_next(&inf->cache, &it, NULL, &v);) kc_obj_unref(v);
    kc_map_release(&inf->cache);
    for (int i = 0; i < inf->nidx; i++) {
        const char *k;
        for (size_t it = 0; kc_map_next(&inf->idx[i].keys, &it, &k, &v);) {
            kc_map_release(v);
            free(v);
            free((char *)k);
        }
        kc_map_release(&inf->idx[i].keys);
        free(inf->idx[i].name);
    }
    drop_queue(inf);
    free(inf->ns);
    free(inf->lsel);
    free(inf->fsel);
    free(inf);
}

/* ---- reads ---- */

kc_obj *kc_informer_get(kc_informer *inf, const char *ns, const char *name)
{
    char *key = kc_obj_key(kc_resources[inf->res].namespaced ? ns : NULL, name);
    pthread_rwlock_rdlock(&inf->lock);
    kc_obj *o = kc_map_get(&inf->cache, key);
    kc_obj_ref(o);
    pthread_rwlock_unlock(&inf->lock);
    free(key);
    return o;
}

size_t kc_informer_list(kc_informer *inf, const char *ns, kc_obj ***out)
{
    pthread_rwlock_rdlock(&inf->lock);
    kc_obj **v = xcalloc(kc_map_len(&inf->cache) + 1, sizeof *v);
    size_t n = 0;
    void *p;
    for (size_t it = 0; kc_map_next(&inf->cache, &it, NULL, &p);) {
        kc_obj *o = p;
        if (ns && strcmp(o->ns, ns)) continue;
        kc_obj_ref(o);
        v[n++] = o;
    }
    pthread_rwlock_unlock(&inf->lock);
    *out = v;
    return n;
}

size_t kc_informer_by_index(kc_informer *inf, const char *name, const char *key, kc_obj ***out)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&inf->lock);
    kc_map *set = NULL;
    for (int i = 0; i < inf->nidx; i++)
        if (!strcmp(inf->idx[i].name, name)) set = kc_map_get(&inf->idx[i].keys, key);
    kc_obj **v = xcalloc((set ? kc_map_len(set) : 0) + 1, sizeof *v);
    void *p;
    for (size_t it = 0; set && kc_map_next(set, &it, NULL, &p);) {
        kc_obj_ref(p);
        v[n++] = p;
    }
    pthread_rwlock_unlock(&inf->lock);
    *out = v;
    return n;
}

uint64_t kc_informer_last_rev(kc_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    uint64_t r = inf->last_rev;
    pthread_mutex_unlock(&inf->mu);
    return r;
}

void kc_objv_free(kc_obj **v, size_t n)
{
    for (size_t i = 0; i < n; i++) kc_obj_unref(v[i]);
    free(v);
}
