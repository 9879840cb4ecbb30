/* The EndpointSlice tracker shared by the EndpointSlice and mirroring controllers (see
 * endpointslice_int.h). Upstream tracks slice generations; kubec tracks resourceVersions, which
 * move on every write, so an event whose revision equals the one our write returned is ours. */
#include "controllers/endpointslice_int.h"
#include "lib/xalloc.h"

typedef struct tracked {
    char *name;
    uint64_t rev;  /* the revision our last write produced */
    bool deleting; /* we deleted it */
} tracked;

typedef struct owner {
    char *key;
    kc_map slices; /* slice name -> tracked */
} owner;

void kc_es_tracker_init(kc_es_tracker *t)
{
    pthread_mutex_init(&t->mu, NULL);
    t->owners = (kc_map)KC_MAP_INIT;
}

static void owner_free(owner *o)
{
    if (!o) return;
    void *v;
    for (size_t it = 0; kc_map_next(&o->slices, &it, NULL, &v);) {
        free(((tracked *)v)->name);
        free(v);
    }
    kc_map_release(&o->slices);
    free(o->key);
    free(o);
}

void kc_es_tracker_release(kc_es_tracker *t)
{
    void *v;
    for (size_t it = 0; kc_map_next(&t->owners, &it, NULL, &v);)
        owner_free(v);
    kc_map_release(&t->owners);
    pthread_mutex_destroy(&t->mu);
}

static owner *owner_of(kc_es_tracker *t, const char *key, bool create)
{
    owner *o = kc_map_get(&t->owners, key);
    if (!o && create) {
        o = xcalloc(1, sizeof *o);
        o->key = xstrdup(key);
        kc_map_put(&t->owners, o->key, o);
    }
    return o;
}

void kc_es_tracker_wrote(kc_es_tracker *t, const char *key, const char *name, uint64_t rev, bool deleting)
{
    pthread_mutex_lock(&t->mu);
    owner *o = owner_of(t, key, true);
    tracked *s = kc_map_get(&o->slices, name);
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->name = xstrdup(name);
        kc_map_put(&o->slices, s->name, s);
    }
    s->rev = rev;
    s->deleting = deleting;
    pthread_mutex_unlock(&t->mu);
}

bool kc_es_tracker_stale(kc_es_tracker *t, const char *key, kc_obj **v, size_t n)
{
    pthread_mutex_lock(&t->mu);
    owner *o = owner_of(t, key, false);
    size_t seen = 0, live = 0;
    bool st = false;
    for (size_t i = 0; o && i < n && !st; i++) {
        tracked *s = kc_map_get(&o->slices, v[i]->name);
        if (!s) continue;
        seen += !s->deleting;
        st = s->deleting || v[i]->rev < s->rev;
    }
    void *p;
    for (size_t it = 0; o && kc_map_next(&o->slices, &it, NULL, &p);)
        live += !((tracked *)p)->deleting;
    pthread_mutex_unlock(&t->mu);
    return st || seen < live;
}

bool kc_es_tracker_should_sync(kc_es_tracker *t, const char *key, const kc_obj *slice)
{
    pthread_mutex_lock(&t->mu);
    owner *o = owner_of(t, key, false);
    tracked *s = o ? kc_map_get(&o->slices, slice->name) : NULL;
    bool sync = !s || s->rev != slice->rev;
    pthread_mutex_unlock(&t->mu);
    return sync;
}

int kc_es_tracker_deleted(kc_es_tracker *t, const char *key, const kc_obj *slice)
{
    pthread_mutex_lock(&t->mu);
    owner *o = owner_of(t, key, false);
    tracked *s = o ? kc_map_del(&o->slices, slice->name) : NULL;
    int rc = s ? s->deleting : -1;
    if (s) free(s->name), free(s);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void kc_es_tracker_forget(kc_es_tracker *t, const char *key)
{
    pthread_mutex_lock(&t->mu);
    owner *o = kc_map_del(&t->owners, key);
    pthread_mutex_unlock(&t->mu);
    owner_free(o);
}
