/* Event recorder (see events.h). Aggregation keys live in a map; a repeated event is a merge
 * patch of count and lastTimestamp on the Event created the first time. As upstream's
 * EventCorrelator: the map keeps at most CACHE_MAX keys (least recently used go first), and a
 * spam filter gives each involved object a token bucket (burst 25, one more every 5 minutes), so a
 * controller looping on a broken object cannot flood the store.
 *
 * Recording is asynchronous, as upstream's broadcaster: kc_event copies what it needs into a
 * queue (at most QUEUE_MAX waiting; more are dropped) and returns; the recorder's thread takes
 * the whole queue at a time and writes it with up to WRITERS concurrent API calls, so a
 * controller creating 500 pods never waits for their 500 events. */
#include "client/events.h"
#include "lib/map.h"
#include "lib/parallel.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

struct kc_recorder {
    kc_client *c;
    char *component, *host;
    pthread_mutex_t mu;
    kc_map seen;    /* aggregation key -> struct seen */
    kc_map buckets; /* involved object uid -> struct bucket */
    uint64_t tick;  /* use counter for LRU eviction */
    int ev_res;
    /* the queue (under qmu): events waiting for the recorder thread */
    pthread_mutex_t qmu;
    pthread_cond_t qcv, idle;
    struct qevent *head, **tail;
    size_t queued;
    bool stop, busy;
    pthread_t thread;
};

enum { CACHE_MAX = 4096, SPAM_BURST = 25, SPAM_REFILL_S = 300, QUEUE_MAX = 10000, WRITERS = 32 };

/* What an event needs of the object it is about, copied at kc_event time. */
typedef struct qevent {
    int res;
    uint64_t rev;
    char *ns, *name, *uid, *type, *reason, *msg;
    struct qevent *next;
} qevent;

typedef struct seen {
    char *key, *ns, *name;
    int count;
    uint64_t used;
} seen;

typedef struct bucket {
    char *key;
    double tokens;
    time_t last;
    uint64_t used;
} bucket;

static void *recorder_thread(void *p);

kc_recorder *kc_recorder_new(kc_client *c, const char *component, const char *host)
{
    kc_recorder *r = xcalloc(1, sizeof *r);
    r->c = c;
    r->component = xstrdup(component);
    r->host = host ? xstrdup(host) : NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->qmu, NULL);
    pthread_cond_init(&r->qcv, NULL);
    pthread_cond_init(&r->idle, NULL);
    r->tail = &r->head;
    r->ev_res = kc_resource_find("", "v1", "events");
    pthread_create(&r->thread, NULL, recorder_thread, r);
    return r;
}

static void seen_free(void *v)
{
    seen *s = v;
    free(s->key);
    free(s->ns);
    free(s->name);
    free(s);
}

static void bucket_free(void *v)
{
    bucket *b = v;
    free(b->key);
    free(b);
}

/* How recently an entry was used (the LRU clock of evict). */
typedef uint64_t (*used_fn)(void *v);
static uint64_t seen_used(void *v) { return ((seen *)v)->used; }
static uint64_t bucket_used(void *v) { return ((bucket *)v)->used; }

/* Over CACHE_MAX entries: drop the least recently used half (amortised O(1) per insert). */
static void evict(kc_map *m, uint64_t tick, used_fn used, void (*drop)(void *))
{
    if (kc_map_len(m) <= CACHE_MAX) return;
    uint64_t cut = tick - CACHE_MAX / 2;
    const char *k;
    void *v;
    size_t n = 0, cap = kc_map_len(m);
    char **keys = xmalloc(cap * sizeof *keys);
    for (size_t it = 0; kc_map_next(m, &it, &k, &v);)
        if (used(v) < cut) keys[n++] = (char *)k;
    for (size_t i = 0; i < n; i++) drop(kc_map_del(m, keys[i]));
    free(keys);
}

/* The spam filter: may this object get another event now? */
static bool spam_allows(kc_recorder *r, const char *uid)
{
    time_t now = time(NULL);
    bucket *b = kc_map_get(&r->buckets, uid);
    if (!b) {
        b = xcalloc(1, sizeof *b);
        *b = (bucket){xstrdup(uid), SPAM_BURST, now, 0};
        kc_map_put(&r->buckets, b->key, b);
    }
    b->used = ++r->tick;
    b->tokens += (double)(now - b->last) / SPAM_REFILL_S;
    if (b->tokens > SPAM_BURST) b->tokens = SPAM_BURST;
    b->last = now;
    if (b->tokens < 1) return false;
    b->tokens -= 1;
    evict(&r->buckets, r->tick, bucket_used, bucket_free);
    return true;
}

/* Writes what is queued, then stops the thread. */
void kc_recorder_free(kc_recorder *r)
{
    if (!r) return;
    pthread_mutex_lock(&r->qmu);
    r->stop = true;
    pthread_cond_signal(&r->qcv);
    pthread_mutex_unlock(&r->qmu);
    pthread_join(r->thread, NULL);
    void *v;
    for (size_t it = 0; kc_map_next(&r->seen, &it, NULL, &v);) seen_free(v);
    kc_map_release(&r->seen);
    for (size_t it = 0; kc_map_next(&r->buckets, &it, NULL, &v);) bucket_free(v);
    kc_map_release(&r->buckets);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->qmu);
    pthread_cond_destroy(&r->qcv);
    pthread_cond_destroy(&r->idle);
    free(r->component);
    free(r->host);
    free(r);
}

static void now_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *involved(const qevent *e)
{
    const kc_resource *rd = &kc_resources[e->res];
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)e->rev);
    json_t *ref = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", rd->kind, "name", e->name, "uid", e->uid, "apiVersion",
                            kc_resource_api_version(rd), "resourceVersion", rv);
    if (e->ns[0]) json_object_set_new(ref, "namespace", json_string(e->ns));
    return ref;
}

static void create_event(kc_recorder *r, const qevent *e, const char *ns, const char *name)
{
    char now[32];
    now_rfc3339(now);
    json_t *src = json_pack("{s:s}", "component", r->component);
    if (r->host) json_object_set_new(src, "host", json_string(r->host));
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:o,s:s,s:s,s:s,s:o,s:i,s:s,s:s,s:s,s:s}", "apiVersion", "v1", "kind",
                           "Event", "metadata", "name", name, "namespace", ns, "involvedObject", involved(e),
                           "reason", e->reason, "message", e->msg, "type", e->type, "source", src, "count", 1,
                           "firstTimestamp", now, "lastTimestamp", now, "reportingComponent", r->component,
                           "reportingInstance", r->host ? r->host : "");
    kc_err err = KC_ERR_INIT;
    kc_client_create(r->c, r->ev_res, ns, ev, NULL, &err);
    kc_err_release(&err);
    json_decref(ev);
}

/* Records one queued event: spam filter, aggregation, then a create or a count patch. */
static void record(kc_recorder *r, const qevent *e)
{
    char key[1400];
    snprintf(key, sizeof key, "%s|%s|%s|%s", e->uid, e->type, e->reason, e->msg);
    const char *ns = e->ns[0] ? e->ns : "default";
    pthread_mutex_lock(&r->mu);
    if (!spam_allows(r, e->uid)) {
        pthread_mutex_unlock(&r->mu);
        return;
    }
    seen *s = kc_map_get(&r->seen, key);
    int count = s ? ++s->count : 1;
    if (!s) {
        uint64_t rnd;
        if (getrandom(&rnd, sizeof rnd, 0) < 0) rnd = (uint64_t)time(NULL);
        char buf[300];
        snprintf(buf, sizeof buf, "%.200s.%016llx", e->name, (unsigned long long)rnd);
        s = xcalloc(1, sizeof *s);
        *s = (seen){xstrdup(key), xstrdup(ns), xstrdup(buf), 1, 0};
        kc_map_put(&r->seen, s->key, s);
    }
    s->used = ++r->tick;
    char *name = xstrdup(s->name);
    evict(&r->seen, r->tick, seen_used, seen_free);
    pthread_mutex_unlock(&r->mu);
    if (count == 1) {
        create_event(r, e, ns, name);
    } else {
        char now[32], patch[128];
        now_rfc3339(now);
        snprintf(patch, sizeof patch, "{\"count\":%d,\"lastTimestamp\":\"%s\"}", count, now);
        kc_err err = KC_ERR_INIT;
        if (kc_client_patch(r->c, r->ev_res, ns, name, NULL, "application/merge-patch+json", patch, NULL, &err) < 0)
            create_event(r, e, ns, name); /* the event was deleted meanwhile */
        kc_err_release(&err);
    }
    free(name);
}

static void qevent_free(qevent *e)
{
    free(e->ns), free(e->name), free(e->uid), free(e->type), free(e->reason), free(e->msg);
    free(e);
}

void kc_event(kc_recorder *r, const kc_obj *about, const char *type, const char *reason, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    qevent *e = xcalloc(1, sizeof *e);
    *e = (qevent){about->res, about->rev, xstrdup(about->ns), xstrdup(about->name), xstrdup(about->uid),
                  xstrdup(type), xstrdup(reason), xstrdup(msg), NULL};
    pthread_mutex_lock(&r->qmu);
    if (r->queued >= QUEUE_MAX) {
        pthread_mutex_unlock(&r->qmu);
        qevent_free(e);
        return;
    }
    *r->tail = e;
    r->tail = &e->next;
    r->queued++;
    pthread_cond_signal(&r->qcv);
    pthread_mutex_unlock(&r->qmu);
}

void kc_recorder_flush(kc_recorder *r)
{
    pthread_mutex_lock(&r->qmu);
    while (r->head || r->busy)
        pthread_cond_wait(&r->idle, &r->qmu);
    pthread_mutex_unlock(&r->qmu);
}

typedef struct batch {
    kc_recorder *r;
    qevent **v;
    size_t n;
    unsigned char *lane; /* v[i] goes to writer lane[i] */
} batch;

/* The writer of an event: its aggregation key's hash, so repeats of one event are written by one
 * writer in queue order (a create, then count patches 2, 3, ...) and never race each other. */
static unsigned char lane_of(const qevent *e, size_t lanes)
{
    uint32_t h = 2166136261u;
    const char *parts[] = {e->uid, e->type, e->reason, e->msg};
    for (size_t k = 0; k < 4; k++)
        for (const char *c = parts[k]; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    return (unsigned char)(h % lanes);
}

static void write_lane(void *ctx, size_t lane)
{
    batch *b = ctx;
    for (size_t i = 0; i < b->n; i++)
        if (b->lane[i] == lane) record(b->r, b->v[i]);
}

/* Takes the whole queue at a time and writes it with WRITERS writers (one per key lane); until
 * stopped and drained. */
static void *recorder_thread(void *p)
{
    kc_recorder *r = p;
    for (;;) {
        pthread_mutex_lock(&r->qmu);
        r->busy = false;
        if (!r->head) pthread_cond_broadcast(&r->idle);
        while (!r->head && !r->stop)
            pthread_cond_wait(&r->qcv, &r->qmu);
        qevent *list = r->head;
        size_t n = r->queued;
        r->head = NULL, r->tail = &r->head, r->queued = 0;
        r->busy = n > 0;
        pthread_mutex_unlock(&r->qmu);
        if (!n) return NULL; /* stopped, nothing left */
        qevent **v = xmalloc(n * sizeof *v);
        unsigned char *lane = xmalloc(n);
        size_t lanes = n < WRITERS ? n : WRITERS;
        for (size_t i = 0; i < n; i++, list = list->next)
            v[i] = list, lane[i] = lane_of(list, lanes);
        batch b = {r, v, n, lane};
        kc_parallel(lanes, WRITERS, write_lane, &b);
        for (size_t i = 0; i < n; i++) qevent_free(v[i]);
        free(lane);
        free(v);
    }
}
