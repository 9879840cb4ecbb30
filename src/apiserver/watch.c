/* Watch streams: chunked, one JSON event per line, pulled from the store's event ring.
 *
 *   start --(initial ADDED events, if resourceVersion unset or "0")--> live
 *   live  --(ring events, filtered by resource, namespace, selectors)--> live
 *   live  --(timeoutSeconds passed)--> closing --(last bytes sent)--> final
 *   live  --(fell out of the ring)--> ERROR 410 Expired --> final
 *   any   --(client gone: h2o calls w_stop)--> stopped (unlinked; freed by the request pool)
 *
 * Backpressure is h2o's generator protocol: one h2o_send in flight; w_proceed asks for more,
 * so a slow watcher never makes the server buffer without limit (it falls behind in the ring). */
#include "apiserver/apiserver.h"
#include "lib/clock.h"
#include "apiserver/tableview.h"
#include "lib/xalloc.h"
#include "lib/xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define CHUNK (64 * 1024)
#define BOOKMARK_EVERY 5 /* seconds */

int kc_watch_selection(kc_req *r, int res, kc_err *err);
bool kc_watch_matches(const kc_req *r, const kc_obj *o);

typedef struct watcher {
    h2o_generator_t super; /* must be first */
    kc_req *r;
    kc_apiserver *srv;
    int res;
    char *ns;
    uint64_t seq, after_rev, sent_rev;
    const kc_obj **init;
    size_t ninit, iinit;
    bool inflight, stopped, closing, final, bookmarks, expired;
    int table; /* -1: objects; else KC_INCLUDE_*: one-row Tables */
    uint64_t deadline_ms;
    time_t last_bookmark;
    h2o_linklist_t link;
    kc_buf buf;
    kc_watch_cb cb; /* in-process watcher: events go to cb instead of a stream */
    void *ud;
    size_t emitted; /* events emitted by the current push() */
} watcher;

static const char *evname[] = {"ADDED", "MODIFIED", "DELETED"};

static void add_event(watcher *w, enum kc_wevent type, const kc_obj *o)
{
    w->emitted++;
    if (o->rev > w->sent_rev) w->sent_rev = o->rev;
    if (w->cb) {
        kc_obj_ref(o);
        w->cb(w->ud, type, (kc_obj *)o, o->rev);
        return;
    }
    kc_buf_addf(&w->buf, "{\"type\":\"%s\",\"object\":", evname[type]);
    if (w->table >= 0) {
        size_t n;
        char *t = kc_table_single(o, w->table, &n);
        kc_buf_add(&w->buf, t, n);
        free(t);
    } else {
        kc_buf_add(&w->buf, o->json, o->len);
    }
    kc_buf_add(&w->buf, "}\n", 2);
}

/* Queues the 410 ERROR event; it is written by the next fill(). */
static void expire(watcher *w)
{
    w->expired = true;
    w->closing = true;
}

static void add_expired(watcher *w, uint64_t rev)
{
    w->expired = false;
    w->emitted++;
    if (w->cb) {
        w->cb(w->ud, KC_WATCH_EXPIRED, NULL, rev);
        return;
    }
    kc_buf_addf(&w->buf,
                "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                "\"status\":\"Failure\",\"message\":\"too old resource version: %" PRIu64 " (%" PRIu64 ")\","
                "\"reason\":\"Expired\",\"code\":410}}\n",
                rev, kc_store_oldest_rev(w->srv->store) + 1);
}

static bool in_ns(const watcher *w, const kc_obj *o)
{
    return !w->ns || !strcmp(w->ns, o->ns);
}

/* One ring event as this watcher sees it: selector transitions become ADDED or DELETED. */
static void add_ring_event(watcher *w, const kc_ring_event *ev)
{
    if (ev->obj->res != w->res || ev->rev <= w->after_rev || !in_ns(w, ev->obj)) return;
    bool now = kc_watch_matches(w->r, ev->obj);
    bool before = ev->prev && kc_watch_matches(w->r, ev->prev);
    if (ev->type == KC_EV_MODIFIED) {
        if (now && before) add_event(w, KC_WATCH_MODIFIED, ev->obj);
        else if (now) add_event(w, KC_WATCH_ADDED, ev->obj);
        else if (before) add_event(w, KC_WATCH_DELETED, ev->obj);
    } else if (now) {
        add_event(w, ev->type == KC_EV_ADDED ? KC_WATCH_ADDED : KC_WATCH_DELETED, ev->obj);
    }
}

static void fill(watcher *w)
{
    if (w->expired) add_expired(w, w->after_rev);
    while (w->iinit < w->ninit && w->buf.len < CHUNK) add_event(w, KC_WATCH_ADDED, w->init[w->iinit++]);
    while (w->buf.len < CHUNK && !w->closing) {
        bool lost;
        const kc_ring_event *ev = kc_store_event(w->srv->store, w->seq, &lost);
        if (lost) {
            expire(w);
            add_expired(w, w->after_rev);
            break;
        }
        if (!ev) break;
        w->seq++;
        add_ring_event(w, ev);
    }
}

static void add_bookmark(watcher *w)
{
    const kc_resource *rd = &kc_resources[w->res];
    uint64_t rev = kc_store_rev(w->srv->store);
    w->sent_rev = rev;
    w->last_bookmark = time(NULL);
    if (w->cb) {
        w->cb(w->ud, KC_WATCH_BOOKMARK, NULL, rev);
        return;
    }
    kc_buf_addf(&w->buf,
                "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
                "\"resourceVersion\":\"%" PRIu64 "\"}}}\n",
                rd->kind, kc_resource_api_version(rd), rev);
}

static void unlink_w(watcher *w);

/* In-process watchers get everything at once; CLOSED ends them (the client frees them). */
static void push_inproc(watcher *w)
{
    if (w->final) return;
    w->emitted = 0;
    fill(w);
    if (!w->emitted && w->bookmarks && time(NULL) - w->last_bookmark >= BOOKMARK_EVERY &&
        kc_store_seq_head(w->srv->store) == w->seq)
        add_bookmark(w);
    if (w->closing) {
        w->final = true;
        unlink_w(w);
        w->cb(w->ud, KC_WATCH_CLOSED, NULL, 0);
    }
}

static void push(watcher *w)
{
    if (w->cb) {
        push_inproc(w);
        return;
    }
    if (w->inflight || w->stopped || w->final) return;
    w->buf.len = 0;
    w->emitted = 0;
    fill(w);
    if (!w->buf.len && w->bookmarks && time(NULL) - w->last_bookmark >= BOOKMARK_EVERY &&
        w->iinit == w->ninit && kc_store_seq_head(w->srv->store) == w->seq)
        add_bookmark(w);
    bool last = w->closing && w->iinit == w->ninit;
    if (!w->buf.len && !last) return;
    h2o_iovec_t iov = h2o_iovec_init(w->buf.data, w->buf.len);
    w->inflight = true;
    w->final = last;
    h2o_send(w->r->h2o, &iov, w->buf.len ? 1 : 0, last ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void unlink_w(watcher *w)
{
    if (h2o_linklist_is_linked(&w->link)) {
        h2o_linklist_unlink(&w->link);
        w->srv->nwatchers--;
    }
}

static void w_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    watcher *w = (watcher *)g;
    (void)req;
    w->inflight = false;
    if (w->final) {
        unlink_w(w);
        return;
    }
    push(w);
}

static void w_stop(h2o_generator_t *g, h2o_req_t *req)
{
    watcher *w = (watcher *)g;
    (void)req;
    w->stopped = true;
    unlink_w(w);
}

static void w_dispose(void *p)
{
    watcher *w = p;
    unlink_w(w);
    for (size_t i = 0; i < w->ninit; i++) kc_obj_unref(w->init[i]);
    free(w->init);
    free(w->ns);
    kc_buf_release(&w->buf);
    kc_req_unref(w->r);
}

static bool snapshot_one(void *ud, const kc_obj *o)
{
    watcher *w = ud;
    if (!kc_watch_matches(w->r, o)) return true;
    if ((w->ninit & (w->ninit + 1)) == 0) w->init = xrealloc(w->init, (w->ninit * 2 + 2) * sizeof *w->init);
    kc_obj_ref(o);
    w->init[w->ninit++] = o;
    return true;
}

/* Where the stream starts: a snapshot of ADDED events (no or "0" resourceVersion), or the ring
 * position just after the requested revision. */
static int start_position(watcher *w, kc_req *r, kc_err *err)
{
    kc_store *st = w->srv->store;
    const char *rvq = kc_req_query(r, "resourceVersion");
    w->seq = kc_store_seq_head(st);
    if (!rvq || !rvq[0] || !strcmp(rvq, "0")) {
        w->after_rev = kc_store_rev(st);
        return kc_store_list(st, w->res, w->ns, NULL, 0, snapshot_one, w, err);
    }
    char *end;
    w->after_rev = strtoull(rvq, &end, 10);
    if (*end || rvq[0] == '-') return kc_errf(err, KC_EBADREQUEST, "invalid resource version: %s", rvq);
    bool too_old;
    w->seq = kc_store_seq_for_rev(st, w->after_rev, &too_old);
    if (too_old) expire(w);
    return 0;
}

static void inproc_free(watcher *w)
{
    for (size_t i = w->iinit; i < w->ninit; i++) kc_obj_unref(w->init[i]);
    for (size_t i = 0; i < w->iinit; i++) kc_obj_unref(w->init[i]);
    free(w->init);
    free(w->ns);
    kc_buf_release(&w->buf);
    kc_req_unref(w->r);
    free(w);
}

void kc_watch_inproc_stop(void *p)
{
    watcher *w = p;
    if (!w->final) {
        w->final = true;
        unlink_w(w);
        w->cb(w->ud, KC_WATCH_CLOSED, NULL, 0);
    }
    inproc_free(w);
}

/* An in-process watch: the same start positions and filters, events to the caller's callback. */
static void start_inproc(kc_req *r, int res, const char *ns)
{
    kc_err err = KC_ERR_INIT;
    watcher *w = xcalloc(1, sizeof *w);
    kc_inproc_watch_params(r->inproc, &w->cb, &w->ud);
    w->r = r;
    kc_req_ref(r);
    w->srv = r->srv;
    w->res = res;
    w->ns = ns ? xstrdup(ns) : NULL;
    w->bookmarks = kc_req_query_bool(r, "allowWatchBookmarks");
    w->table = -1;
    w->deadline_ms = UINT64_MAX;
    w->last_bookmark = time(NULL);
    if (start_position(w, r, &err) < 0) {
        kc_reply_err(r, &err, &kc_resources[res], NULL);
        kc_err_release(&err);
        inproc_free(w);
        return;
    }
    r->replied = true;
    h2o_linklist_insert(&r->srv->watchers, &w->link);
    r->srv->nwatchers++;
    kc_inproc_watch_started(r->inproc, w);
    push(w);
}

void kc_watch_start(kc_req *r, int res, const char *ns)
{
    kc_err err = KC_ERR_INIT;
    if (kc_watch_selection(r, res, &err) < 0) {
        kc_reply_err(r, &err, &kc_resources[res], NULL);
        kc_err_release(&err);
        return;
    }
    if (r->inproc) {
        start_inproc(r, res, ns);
        return;
    }
    h2o_req_t *h = r->h2o;
    watcher *w = h2o_mem_alloc_shared(&h->pool, sizeof *w, w_dispose);
    memset(w, 0, sizeof *w);
    w->super.proceed = w_proceed;
    w->super.stop = w_stop;
    w->r = r;
    kc_req_ref(r);
    w->srv = r->srv;
    w->res = res;
    w->ns = ns ? xstrdup(ns) : NULL;
    w->bookmarks = kc_req_query_bool(r, "allowWatchBookmarks");
    w->table = kc_wants_table(r) ? kc_table_include(r) : -1;
    const char *to = kc_req_query(r, "timeoutSeconds");
    long secs = to && atol(to) > 0 ? atol(to) : 1800;
    w->deadline_ms = kc_mono_ms() + (uint64_t)secs * 1000;
    w->last_bookmark = time(NULL);
    if (start_position(w, r, &err) < 0) {
        kc_reply_err(r, &err, &kc_resources[res], NULL);
        kc_err_release(&err);
        return;
    }
    r->replied = true;
    h->res.status = 200;
    h->res.reason = "OK";
    const char *ct = w->table >= 0 ? KC_TABLE_CTYPE : "application/json";
    h2o_add_header(&h->pool, &h->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ct, strlen(ct));
    h2o_start_response(h, &w->super);
    h2o_linklist_insert(&r->srv->watchers, &w->link);
    r->srv->nwatchers++;
    w->inflight = true; /* flush the headers now; proceed() then sends the events */
    if (w->bookmarks && !w->ninit && !w->expired) {
        /* h2o sends the headers only with the first bytes: a bookmark at once lets clients
         * (client-go's Watch blocks on the headers) start without waiting for an event */
        add_bookmark(w);
        h2o_iovec_t iov = h2o_iovec_init(w->buf.data, w->buf.len);
        h2o_send(h, &iov, 1, H2O_SEND_STATE_IN_PROGRESS);
        return;
    }
    h2o_send(h, NULL, 0, H2O_SEND_STATE_IN_PROGRESS);
}

void kc_watch_wake_all(void *p)
{
    kc_apiserver *s = p;
    for (h2o_linklist_t *l = s->watchers.next; l != &s->watchers;) {
        watcher *w = H2O_STRUCT_FROM_MEMBER(watcher, link, l);
        l = l->next;
        push(w);
    }
}

void kc_watch_tick(kc_apiserver *s)
{
    uint64_t now = kc_mono_ms();
    for (h2o_linklist_t *l = s->watchers.next; l != &s->watchers;) {
        watcher *w = H2O_STRUCT_FROM_MEMBER(watcher, link, l);
        l = l->next;
        if (now >= w->deadline_ms) w->closing = true;
        push(w);
    }
}
