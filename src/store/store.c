/* The store: keyspace, single write path, group commit and the watch ring (see store.h for the
 * picture). It owns every kc_obj; the apiserver and clients borrow them or take references.
 * It knows the resource table (api/resource.h) only to build each object's selector index. */
#include "store/store.h"
#include "lib/clock.h"
#include "api/resource.h"
#include "lib/buf.h"
#include "lib/jsonr.h"
#include "lib/jsonw.h"
#include "lib/xalloc.h"
#include <inttypes.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

typedef struct entry {
    char *key;
    kc_obj *cur;
} entry;

typedef struct keyspace {
    kc_map map;      /* key -> entry */
    entry **sorted;  /* entries by key, rebuilt lazily when dirty */
    size_t nsorted;
    bool dirty;
} keyspace;

typedef struct pending {
    enum kc_evtype type;
    kc_obj *obj, *prev;
    kc_write_done done;
    void *ud;
} pending;

/* A group of writes committed in one backend transaction by the committer thread. */
typedef struct batch {
    pending *items;
    size_t n;
    kc_backend_write *w;
    char **idx;
    uint64_t rev;
} batch;

struct kc_store {
    const kc_backend_ops *ops;
    void *be;
    uint64_t rev;         /* last revision applied */
    uint64_t durable_rev; /* last revision committed */
    keyspace *ks;         /* one per resource */
    pending *q;
    size_t nq, capq;
    kc_ring_event *ring;
    size_t ring_size;
    uint64_t head;        /* next seq */
    uint64_t floor_rev;   /* every event with rev > floor_rev is in the ring */
    uint64_t tail;        /* oldest seq still in the ring: events are [tail, head) */
    size_t ring_bytes;    /* object bytes the ring keeps alive (obj + prev) */
    void (*on_publish)(void *);
    void *on_publish_ud;
    /* committer thread: one batch in flight while the loop keeps applying the next writes */
    pthread_t thread;
    bool thread_started, stopping, inflight_done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *inflight;
    int efd; /* eventfd: readable when the inflight batch is durable */
    /* linger (kc_store_kick): a lone write waits up to LINGER_NS for company */
    uint64_t linger_until;                  /* CLOCK_MONOTONIC ns; 0: not lingering */
    uint64_t ov_sec, ov_cur, ov_prev;       /* writes that overlapped others: this second, the last */
    bool small_batches;                     /* the last batch was small: lingering can help */
    bool flushing;                          /* kc_store_flush: commit at once */
    uint64_t published;                     /* writes made durable and published so far */
};

/* ---- objects (api/obj.c) as the store builds them ---- */

static kc_obj *obj_from_json(int res, json_t *doc, uint64_t rev)
{
    char rv[24];
    snprintf(rv, sizeof rv, "%" PRIu64, rev);
    json_object_set_new(json_object_get(doc, "metadata"), "resourceVersion", json_string(rv));
    return kc_obj_build(res, doc);
}

#define make_key kc_obj_key

/* The small index document stored beside each value so a restart needs no full parse:
 * {"u":uid,"l":labels or null,"f":[selectable field values],"d":deleting}. Written directly (it
 * runs on the committer thread for every write; building it as a jansson value and dumping it
 * was a tenth of that thread's time). */
static char *obj_index(const kc_obj *o)
{
    kc_buf b = KC_BUF_INIT;
    const kc_resource *r = &kc_resources[o->res];
    kc_buf_adds(&b, "{\"u\":");
    kc_buf_add_jstr(&b, o->uid);
    kc_buf_adds(&b, ",\"l\":");
    if (o->labels)
        kc_json_write(&b, o->labels);
    else
        kc_buf_adds(&b, "null");
    kc_buf_adds(&b, ",\"f\":[");
    for (int i = 0; i < KC_MAX_FIELDS && r->fields[i]; i++) {
        if (i) kc_buf_adds(&b, ",");
        kc_buf_add_jstr(&b, o->fields[i]);
    }
    kc_buf_adds(&b, o->deleting ? "],\"d\":true}" : "],\"d\":false}");
    return kc_buf_take(&b);
}

static kc_obj *obj_from_index(int res, const char *key, uint64_t rev, const char *idxs, const char *val,
                              size_t len)
{
    const char *slash = kc_resources[res].namespaced ? strchr(key, '/') : NULL;
    char *ns = slash ? xstrndup(key, (size_t)(slash - key)) : xstrdup("");
    kc_obj *o = kc_obj_alloc(res, ns, slash ? slash + 1 : key);
    free(ns);
    json_t *idx = kc_json_loadb(idxs, strlen(idxs), 0, NULL);
    o->rev = rev;
    o->uid = xstrdup(json_string_value(json_object_get(idx, "u")) ?: "");
    json_t *l = json_object_get(idx, "l");
    o->labels = json_is_object(l) ? json_incref(l) : NULL;
    o->deleting = json_is_true(json_object_get(idx, "d"));
    json_t *f = json_object_get(idx, "f");
    const kc_resource *r = &kc_resources[res];
    for (int i = 0; i < KC_MAX_FIELDS && r->fields[i]; i++)
        o->fields[i] = xstrdup(json_string_value(json_array_get(f, (size_t)i)) ?: "");
    json_decref(idx);
    o->json = xstrndup(val, len);
    o->len = len;
    return o;
}

/* ---- keyspace ---- */

static int entry_cmp(const void *a, const void *b)
{
    return strcmp((*(entry *const *)a)->key, (*(entry *const *)b)->key);
}

static void ks_sort(keyspace *ks)
{
    if (!ks->dirty && ks->sorted) return;
    ks->sorted = xrealloc(ks->sorted, (kc_map_len(&ks->map) + 1) * sizeof *ks->sorted);
    ks->nsorted = 0;
    void *v;
    for (size_t it = 0; kc_map_next(&ks->map, &it, NULL, &v);) ks->sorted[ks->nsorted++] = v;
    qsort(ks->sorted, ks->nsorted, sizeof *ks->sorted, entry_cmp);
    ks->dirty = false;
}

/* Installs obj as the current state of its key (taking the reference); returns the previous
 * state (a reference the caller owns) or NULL. */
static kc_obj *ks_set(keyspace *ks, kc_obj *obj)
{
    entry *e = kc_map_get(&ks->map, obj->key);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(obj->key);
        kc_map_put(&ks->map, e->key, e);
        ks->dirty = true;
    }
    kc_obj *prev = e->cur;
    e->cur = obj;
    return prev;
}

static kc_obj *ks_remove(keyspace *ks, const char *key)
{
    entry *e = kc_map_del(&ks->map, key);
    if (!e) return NULL;
    kc_obj *prev = e->cur;
    free(e->key);
    free(e);
    ks->dirty = true;
    return prev;
}

static kc_obj *ks_cur(keyspace *ks, const char *key)
{
    entry *e = kc_map_get(&ks->map, key);
    return e ? e->cur : NULL;
}

/* ---- open / load ---- */

static const char *res_id(int res)
{
    static char ids[64][96];
    if (!ids[res][0])
        snprintf(ids[res], sizeof ids[res], "%s/%s", kc_resources[res].group, kc_resources[res].resource);
    return ids[res];
}

static int res_from_id(const char *id)
{
    for (size_t i = 0; i < kc_nresources; i++)
        if (!strcmp(res_id((int)i), id)) return (int)i;
    return -1;
}

static void load_one(void *ud, const char *res, const char *key, uint64_t rev, const char *idx, const char *val,
                     size_t len)
{
    kc_store *s = ud;
    int r = res_from_id(res);
    if (r < 0) {
        fprintf(stderr, "kubec: store: skipping object of unknown resource %s: %s\n", res, key);
        return;
    }
    kc_obj_unref(ks_set(&s->ks[r], obj_from_index(r, key, rev, idx, val, len)));
}

kc_store *kc_store_open(const kc_backend_ops *ops, void *be, size_t ring_size, kc_err *err)
{
    kc_store *s = xcalloc(1, sizeof *s);
    s->ops = ops;
    s->be = be;
    s->ks = xcalloc(kc_nresources, sizeof *s->ks);
    s->ring_size = ring_size ? ring_size : 1;
    s->ring = xcalloc(s->ring_size, sizeof *s->ring);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ops->load(be, load_one, s, &s->rev, err) < 0) {
        kc_store_free(s);
        return NULL;
    }
    s->durable_rev = s->floor_rev = s->rev;
    return s;
}

void kc_store_free(kc_store *s)
{
    if (!s) return;
    kc_store_flush(s);
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    close(s->efd);
    for (size_t r = 0; r < kc_nresources; r++) {
        void *v;
        for (size_t it = 0; kc_map_next(&s->ks[r].map, &it, NULL, &v);) {
            entry *e = v;
            kc_obj_unref(e->cur);
            free(e->key);
            free(e);
        }
        kc_map_release(&s->ks[r].map);
        free(s->ks[r].sorted);
    }
    for (size_t i = 0; i < s->ring_size; i++) {
        kc_obj_unref(s->ring[i].obj);
        kc_obj_unref(s->ring[i].prev);
    }
    if (s->ops && s->ops->close) s->ops->close(s->be);
    free(s->ring);
    free(s->ks);
    free(s->q);
    free(s);
}

/* ---- the write path ---- */

static void note_arrival(kc_store *s);

static void enqueue(kc_store *s, enum kc_evtype type, kc_obj *obj, kc_obj *prev, kc_write_done done, void *ud)
{
    if (s->nq == s->capq) {
        s->capq = s->capq ? s->capq * 2 : 64;
        s->q = xrealloc(s->q, s->capq * sizeof *s->q);
    }
    s->q[s->nq++] = (pending){type, obj, prev, done, ud};
    note_arrival(s);
}

static int check_write(enum kc_write_op op, const kc_obj *cur, const char *key, uint64_t expect_rev,
                       int res, kc_err *err)
{
    const kc_resource *r = &kc_resources[res];
    const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
    const char *grp = r->group[0] ? "." : "";
    if (op == KC_WRITE_CREATE && cur)
        return kc_errf(err, KC_EALREADYEXISTS, "%s%s%s \"%s\" already exists", r->resource, grp, r->group, name);
    if (op != KC_WRITE_CREATE && !cur)
        return kc_errf(err, KC_ENOTFOUND, "%s%s%s \"%s\" not found", r->resource, grp, r->group, name);
    if (expect_rev && cur && cur->rev != expect_rev)
        return kc_errf(err, KC_ECONFLICT,
                       "Operation cannot be fulfilled on %s%s%s \"%s\": the object has been modified; please "
                       "apply your changes to the latest version and try again",
                       r->resource, grp, r->group, name);
    return 0;
}

int kc_store_write(kc_store *s, enum kc_write_op op, int res, json_t *doc, uint64_t expect_rev,
                   kc_write_done done, void *ud, const kc_obj **out, kc_err *err)
{
    json_t *md = json_object_get(doc, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!name || !name[0]) {
        json_decref(doc);
        return kc_errf(err, KC_EINTERNAL, "store: object without a name");
    }
    char *key = make_key(kc_resources[res].namespaced ? ns : "", name);
    keyspace *ks = &s->ks[res];
    kc_obj *cur = ks_cur(ks, key);
    if (check_write(op, cur, key, expect_rev, res, err) < 0) {
        free(key);
        json_decref(doc);
        return -1;
    }
    kc_obj *obj = obj_from_json(res, doc, ++s->rev);
    json_decref(doc);
    kc_obj *prev;
    if (op == KC_WRITE_DELETE) {
        prev = ks_remove(ks, key);
    } else {
        kc_obj_ref(obj);
        prev = ks_set(ks, obj);
    }
    free(key);
    enqueue(s, op == KC_WRITE_CREATE ? KC_EV_ADDED : op == KC_WRITE_UPDATE ? KC_EV_MODIFIED : KC_EV_DELETED, obj,
            prev, done, ud);
    if (out) *out = obj;
    return 0;
}

/* The ring holds at most ring_size events and about KC_RING_MAX_BYTES of object bytes (but
 * never fewer than KC_RING_MIN_EVENTS): a watcher further behind gets 410 Expired and relists. */
#define KC_RING_MAX_BYTES ((size_t)96 << 20)
#define KC_RING_MIN_EVENTS 4096

static size_t event_bytes(const kc_ring_event *e)
{
    return (e->obj ? e->obj->len : 0) + (e->prev ? e->prev->len : 0);
}

static void evict_oldest(kc_store *s)
{
    kc_ring_event *slot = &s->ring[s->tail % s->ring_size];
    s->floor_rev = slot->rev;
    s->ring_bytes -= event_bytes(slot);
    kc_obj_unref(slot->obj);
    kc_obj_unref(slot->prev);
    *slot = (kc_ring_event){0};
    s->tail++;
}

static void publish(kc_store *s, pending *p)
{
    if (s->head - s->tail == s->ring_size) evict_oldest(s);
    kc_ring_event *slot = &s->ring[s->head % s->ring_size];
    *slot = (kc_ring_event){p->obj->rev, p->type, p->obj, p->prev};
    s->ring_bytes += event_bytes(slot);
    s->head++;
    while (s->ring_bytes > KC_RING_MAX_BYTES && s->head - s->tail > KC_RING_MIN_EVENTS) evict_oldest(s);
}

/* Commit states of the write queue:
 *
 *   kc_store_write --> queue --kc_store_kick--> inflight (committer thread commits)
 *        inflight --(durable; eventfd)--> kc_store_poll: publish to the ring, run callbacks,
 *                                         kick the next queue
 *
 * One batch is in flight at a time, so batches commit, publish and answer in revision order. */
static batch *take_queue(kc_store *s)
{
    batch *b = xcalloc(1, sizeof *b);
    b->n = s->nq;
    b->items = s->q;
    b->rev = s->rev;
    s->q = NULL;
    s->nq = s->capq = 0;
    return b;
}

/* On the committer thread: the rows to write (objects are immutable, so reading them here is
 * safe while the loop goes on). */
static void commit_batch(kc_store *s, batch *b)
{
    kc_err err = KC_ERR_INIT;
    b->w = xcalloc(b->n, sizeof *b->w);
    b->idx = xcalloc(b->n, sizeof *b->idx);
    for (size_t i = 0; i < b->n; i++) {
        kc_obj *o = b->items[i].obj;
        bool del = b->items[i].type == KC_EV_DELETED;
        b->idx[i] = del ? NULL : obj_index(o);
        b->w[i] = (kc_backend_write){del, res_id(o->res), o->key, o->rev, b->idx[i], o->json, o->len};
    }
    if (s->ops->commit(s->be, b->w, b->n, b->rev, &err) < 0) {
        fprintf(stderr, "kubec: store: commit failed, exiting so that a restart reloads durable state: %s\n",
                err.msg);
        exit(70);
    }
}

static void *committer(void *p)
{
    kc_store *s = p;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stopping && (!s->inflight || s->inflight_done)) pthread_cond_wait(&s->cv, &s->mu);
        if (s->stopping) break;
        batch *b = s->inflight;
        pthread_mutex_unlock(&s->mu);
        commit_batch(s, b);
        pthread_mutex_lock(&s->mu);
        s->inflight_done = true;
        pthread_cond_broadcast(&s->cv);
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof one) < 0) { /* the counter cannot overflow here */
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void finish_batch(kc_store *s, batch *b);

/* Small batches commit right here, on the loop: handing them to the committer and back costs
 * two thread wake-ups (and often a CPU migration) for nothing to overlap with. Larger batches,
 * which come when writes arrive faster than commits, go to the committer so the loop parses the
 * next batch meanwhile. */
static void commit_inline(kc_store *s)
{
    batch *b = take_queue(s);
    commit_batch(s, b);
    finish_batch(s, b);
}

/* Linger: a lone write waits up to LINGER_NS for others to share its commit (an fsync, which
 * costs this 2-core VM ~150 us of wall and most of the CPU of a small write), but only while
 * there is evidence of concurrent writers: at least LINGER_MIN_OVERLAPS writes in the last
 * second arrived while another was still queued or committing. Writes spread evenly from many
 * clients (5,000 kubelets renewing Leases: one every 2 ms) then commit in groups; a client that
 * writes one thing at a time (kubectl apply) never overlaps itself and never waits. A linger
 * ends at its deadline or once LINGER_FULL writes share it (ending it at the second write left
 * the heartbeats at two writes per fsync). Only while batches are small: once writes arrive
 * faster (a full linger, a natural batch of 3 or more: 16 clients creating), batches form by
 * themselves and waiting would only add latency. Returns true while the writes should keep
 * waiting. */
#define LINGER_NS 4000000u
#define LINGER_MIN_OVERLAPS 30
#define LINGER_FULL 8 /* a linger ends early once this many writes share it */
static void note_arrival(kc_store *s)
{
    uint64_t sec = kc_mono_ns() / 1000000000u;
    if (sec != s->ov_sec) {
        s->ov_prev = sec == s->ov_sec + 1 ? s->ov_cur : 0;
        s->ov_cur = 0;
        s->ov_sec = sec;
    }
    if (s->nq > 1 || s->inflight) s->ov_cur++;
}

static bool linger(kc_store *s)
{
    bool lingering = s->linger_until != 0;
    if (s->flushing || (!lingering && (s->nq > 1 || !s->small_batches)) || s->nq >= LINGER_FULL ||
        (s->ov_prev < LINGER_MIN_OVERLAPS && s->ov_cur < LINGER_MIN_OVERLAPS)) {
        /* writes come faster than a linger could gather them: no need to wait next time */
        s->small_batches = !lingering ? s->nq <= 2 : s->nq < LINGER_FULL;
        s->linger_until = 0;
        return false;
    }
    uint64_t now = kc_mono_ns();
    if (!s->linger_until) s->linger_until = now + LINGER_NS;
    if (now < s->linger_until) return true;
    s->linger_until = 0;
    s->small_batches = true;
    return false;
}

int kc_store_wait_ms(const kc_store *s)
{
    if (!s->nq || s->inflight) return -1;
    if (!s->linger_until || s->flushing) return 0;
    uint64_t now = kc_mono_ns();
    return now >= s->linger_until ? 0 : (int)((s->linger_until - now + 999999u) / 1000000u);
}

#define INLINE_MAX 4 /* batches up to this size commit on the loop */
void kc_store_kick(kc_store *s)
{
    if (!s->nq || s->inflight || linger(s)) return;
    if (s->nq <= INLINE_MAX) {
        commit_inline(s);
        return;
    }
    if (!s->thread_started) {
        pthread_create(&s->thread, NULL, committer, s);
        s->thread_started = true;
    }
    batch *b = take_queue(s);
    pthread_mutex_lock(&s->mu);
    s->inflight = b;
    s->inflight_done = false;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void finish_batch(kc_store *s, batch *b)
{
    for (size_t i = 0; i < b->n; i++) free(b->idx[i]);
    free(b->idx);
    free(b->w);
    s->durable_rev = b->rev;
    s->published += b->n;
    for (size_t i = 0; i < b->n; i++) publish(s, &b->items[i]);
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].done) b->items[i].done(b->items[i].ud, b->items[i].obj);
    free(b->items);
    free(b);
    if (s->on_publish) s->on_publish(s->on_publish_ud);
}

size_t kc_store_poll(kc_store *s)
{
    uint64_t cnt;
    if (read(s->efd, &cnt, sizeof cnt) < 0) { /* nothing signalled: fine */
    }
    pthread_mutex_lock(&s->mu);
    batch *b = s->inflight && s->inflight_done ? s->inflight : NULL;
    if (b) s->inflight = NULL;
    pthread_mutex_unlock(&s->mu);
    if (!b) return 0;
    size_t n = b->n;
    finish_batch(s, b); /* callbacks may write again: those go to the next batch */
    kc_store_kick(s);
    return n;
}

size_t kc_store_flush(kc_store *s)
{
    uint64_t before = s->published;
    s->flushing = true;
    for (;;) {
        kc_store_kick(s);
        pthread_mutex_lock(&s->mu);
        while (s->inflight && !s->inflight_done) pthread_cond_wait(&s->cv, &s->mu);
        bool idle = !s->inflight;
        pthread_mutex_unlock(&s->mu);
        if (idle && !s->nq) break;
        kc_store_poll(s);
    }
    s->flushing = false;
    return (size_t)(s->published - before);
}

int kc_store_fd(const kc_store *s)
{
    return s->efd;
}

void kc_store_on_publish(kc_store *s, void (*fn)(void *ud), void *ud)
{
    s->on_publish = fn;
    s->on_publish_ud = ud;
}

/* ---- reads ---- */

uint64_t kc_store_rev(const kc_store *s)
{
    return s->rev;
}

uint64_t kc_store_oldest_rev(const kc_store *s)
{
    return s->floor_rev;
}

const kc_obj *kc_store_get(kc_store *s, int res, const char *ns, const char *name)
{
    char *key = make_key(kc_resources[res].namespaced ? ns : "", name);
    kc_obj *o = ks_cur(&s->ks[res], key);
    free(key);
    return o;
}

size_t kc_store_count(kc_store *s, int res)
{
    return kc_map_len(&s->ks[res].map);
}

/* First index in the sorted keyspace whose key is > after (or >= prefix when after is NULL). */
static size_t lower_bound(keyspace *ks, const char *k, bool strictly_after)
{
    size_t lo = 0, hi = ks->nsorted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ks->sorted[mid]->key, k);
        if (c < 0 || (strictly_after && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool in_scope(const char *key, const char *prefix, size_t plen)
{
    return !plen || strncmp(key, prefix, plen) == 0;
}

/* Historical view: the state of each key changed after rev, as it was at rev (NULL = absent). */
static int history_overrides(kc_store *s, int res, uint64_t rev, kc_map *ov, kc_err *err)
{
    if (rev < s->floor_rev)
        return kc_errf(err, KC_EEXPIRED, "too old resource version: %" PRIu64 " (%" PRIu64 ")", rev,
                       s->floor_rev + 1);
    static kc_obj absent;
    for (uint64_t seq = s->head; seq > s->tail; seq--) {
        kc_ring_event *e = &s->ring[(seq - 1) % s->ring_size];
        if (!e->obj || e->rev <= rev) break;
        if (e->obj->res != res) continue;
        kc_map_put(ov, e->obj->key, e->prev ? (void *)e->prev : &absent);
    }
    return 0;
}

static int obj_ptr_cmp(const void *a, const void *b)
{
    return strcmp((*(kc_obj *const *)a)->key, (*(kc_obj *const *)b)->key);
}

static int list_at(kc_store *s, int res, const char *prefix, const char *after, uint64_t rev, kc_list_cb cb,
                   void *ud, kc_err *err)
{
    kc_map ov = KC_MAP_INIT;
    if (history_overrides(s, res, rev, &ov, err) < 0) return -1;
    keyspace *ks = &s->ks[res];
    size_t plen = strlen(prefix), n = 0, cap = kc_map_len(&ks->map) + kc_map_len(&ov) + 1;
    kc_obj **v = xmalloc(cap * sizeof *v);
    void *p;
    for (size_t it = 0; kc_map_next(&ks->map, &it, NULL, &p);) {
        entry *e = p;
        if (!kc_map_get(&ov, e->key) && in_scope(e->key, prefix, plen)) v[n++] = e->cur;
    }
    const char *k;
    for (size_t it = 0; kc_map_next(&ov, &it, &k, &p);) {
        kc_obj *o = p;
        if (o->key && in_scope(o->key, prefix, plen)) v[n++] = o;
    }
    qsort(v, n, sizeof *v, obj_ptr_cmp);
    for (size_t i = 0; i < n; i++)
        if ((!after || strcmp(v[i]->key, after) > 0) && !cb(ud, v[i])) break;
    free(v);
    kc_map_release(&ov);
    return 0;
}

int kc_store_list(kc_store *s, int res, const char *ns, const char *after, uint64_t rev, kc_list_cb cb, void *ud,
                  kc_err *err)
{
    char prefix[300] = "";
    if (ns && kc_resources[res].namespaced) snprintf(prefix, sizeof prefix, "%s/", ns);
    if (rev && rev < s->rev) return list_at(s, res, prefix, after, rev, cb, ud, err);
    keyspace *ks = &s->ks[res];
    ks_sort(ks);
    size_t plen = strlen(prefix);
    size_t i = after && strcmp(after, prefix) >= 0 ? lower_bound(ks, after, true) : lower_bound(ks, prefix, false);
    for (; i < ks->nsorted && in_scope(ks->sorted[i]->key, prefix, plen); i++)
        if (!cb(ud, ks->sorted[i]->cur)) break;
    return 0;
}

/* ---- the watch ring ---- */

uint64_t kc_store_seq_head(const kc_store *s)
{
    return s->head;
}

uint64_t kc_store_seq_for_rev(const kc_store *s, uint64_t rev, bool *too_old)
{
    *too_old = rev < s->floor_rev;
    uint64_t lo = s->tail, hi = s->head;
    while (lo < hi) { /* first seq whose event rev > rev */
        uint64_t mid = lo + (hi - lo) / 2;
        if (s->ring[mid % s->ring_size].rev <= rev)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const kc_ring_event *kc_store_event(const kc_store *s, uint64_t seq, bool *lost)
{
    *lost = seq < s->tail;
    if (*lost || seq >= s->head) return NULL;
    return &s->ring[seq % s->ring_size];
}
