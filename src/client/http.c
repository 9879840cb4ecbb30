/* The HTTP transport of the client interface, over libcurl (HTTP/1.1, kept-alive connections).
 * It owns the curl handles: a pool of easy handles for roundtrips (any thread), and one multi
 * handle driven by a single watch thread for every watch stream of the transport. It does not
 * interpret answers beyond watch events: Status bodies become kc_err in client.c.
 *
 * A watch, as the watch thread (loop_main) and its callers move it:
 *
 *   h_watch: queue add --wakeup--> loop: multi_add_handle      phase STARTING
 *   STARTING --w_header: 200 + end of headers--> STREAMING     (h_watch returns the handle)
 *   STARTING --transfer ends (error answer, no connection)--> FAILED + finished (h_watch: NULL)
 *   STARTING --WATCH_START_WAIT_MS without an answer--> h_watch returns the handle (returned)
 *   STREAMING --w_write: one line = one event--> cb(ADDED/MODIFIED/DELETED/BOOKMARK/EXPIRED)
 *   STREAMING or returned --transfer ends (reap -> finish_one)--> cb(CLOSED), finished
 *   any --h_watch_stop: queue stop --wakeup--> loop: finish_one: remove handle, cb(CLOSED) unless
 *          already delivered, finished, stop_acked --> the caller frees the watch
 *
 * Why the wait is bounded: h2o 2.2 writes a chunked answer's headers only with its first bytes,
 * so a watch with nothing to send yet (no initial objects, no bookmark before 5 s) shows no
 * status at all. Refusals (400, 404) and connection failures come at once and are returned
 * synchronously; a stream still silent after the wait is handed back, and should it still fail
 * it ends with CLOSED like any other stream.
 *
 * Callbacks only run inside curl_multi_perform on the watch thread, and stops are handled by
 * that thread between two performs: once a stop is acknowledged no callback can follow. */
#include "client/http.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define POOL_MAX 64                /* idle roundtrip handles kept (each with its connection) */
#define MAX_ANSWER (1UL << 31)     /* bytes of one answer */
#define MAX_EVENT (64UL << 20)     /* bytes of one watch event line */
#define MAX_ERROR_BODY (1UL << 20) /* bytes of a refused watch's Status */
#define CONNECT_TIMEOUT_MS 10000L
#define REQUEST_TIMEOUT_MS 120000L
#define WATCH_START_WAIT_MS 250
#define WATCH_IDLE_S 120L /* no byte for this long (bookmarks come every 5 s): reconnect */

enum phase { W_STARTING, W_STREAMING, W_FAILED };

typedef struct kc_http kc_http;

typedef struct hwatch {
    kc_http *t;
    CURL *h;
    char *url;
    struct curl_slist *hdrs;
    int res;
    uint64_t from_rev;
    kc_watch_cb cb;
    void *ud;
    enum phase phase; /* t->mu */
    bool finished;    /* t->mu: out of the multi handle, no callback will run */
    bool returned;    /* t->mu: h_watch handed the watch back undecided (no headers yet) */
    bool stop_acked;  /* t->mu: the watch thread is done with the queued stop */
    int stopping;     /* atomic: a stop is queued; deliver nothing more, end the transfer */
    bool closed;      /* watch thread: CLOSED delivered or the stream is over */
    bool in_multi;    /* watch thread */
    long code;        /* watch thread: the answer's status */
    CURLcode result;  /* watch thread: how the transfer ended */
    kc_buf line;      /* watch thread: partial event line, or a refused watch's body */
    char errbuf[CURL_ERROR_SIZE];
    struct hwatch *next_add, *next_stop;
} hwatch;

struct kc_http {
    char *base;
    char *agent;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    CURL *idle[POOL_MAX];
    int nidle;
    CURLM *multi;
    pthread_t loop;
    bool loop_started, quit;
    hwatch *adds, *stops;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- requests: options common to roundtrips and watches ---- */

static char *make_url(const kc_http *t, const kc_creq *rq)
{
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "%s%s", t->base, rq->path);
    if (rq->query && rq->query[0]) kc_buf_addf(&b, "?%s", rq->query);
    return kc_buf_take(&b);
}

static struct curl_slist *make_headers(const kc_creq *rq)
{
    struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json");
    char ct[256];
    if (rq->ctype)
        snprintf(ct, sizeof ct, "Content-Type: %s", rq->ctype);
    else
        snprintf(ct, sizeof ct, "Content-Type:%s", rq->body ? " application/json" : "");
    l = curl_slist_append(l, ct);
    l = curl_slist_append(l, "Expect:"); /* no 100-continue round for large bodies */
    return l;
}

static void setup(CURL *h, const kc_http *t, const char *url, struct curl_slist *hdrs, char *ebuf)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, t->agent);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#endif
    ebuf[0] = 0;
}

/* GET, or a custom verb with the body (POST, PUT and PATCH always send one, maybe empty). */
static void set_method(CURL *h, const kc_creq *rq)
{
    const char *m = rq->method;
    if (!strcmp(m, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        return;
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    if (rq->body || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body ? rq->body_len : 0));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    }
}

/* ---- roundtrips ---- */

static CURL *take_handle(kc_http *t)
{
    pthread_mutex_lock(&t->mu);
    CURL *h = t->nidle ? t->idle[--t->nidle] : NULL;
    pthread_mutex_unlock(&t->mu);
    if (!h && !(h = curl_easy_init())) kc_oom();
    return h;
}

static void put_handle(kc_http *t, CURL *h)
{
    curl_easy_reset(h); /* keeps the live connection */
    pthread_mutex_lock(&t->mu);
    if (t->nidle < POOL_MAX) {
        t->idle[t->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    if (h) curl_easy_cleanup(h);
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    kc_buf *b = ud;
    if (b->len + sz * n > MAX_ANSWER) return 0;
    kc_buf_add(b, p, sz * n);
    return sz * n;
}

static int h_roundtrip(void *tp, const kc_creq *rq, kc_cresp *rs, kc_err *err)
{
    kc_http *t = tp;
    CURL *h = take_handle(t);
    char *url = make_url(t, rq), ebuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = make_headers(rq);
    kc_buf body = KC_BUF_INIT;
    setup(h, t, url, hdrs, ebuf);
    set_method(h, rq);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    put_handle(t, h);
    curl_slist_free_all(hdrs);
    *rs = (kc_cresp){0};
    if (rc != CURLE_OK) {
        kc_buf_release(&body);
        kc_errf(err, KC_EUNAVAILABLE, "%s %s: %s", rq->method, url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
        free(url);
        return -1;
    }
    free(url);
    rs->code = (int)code;
    rs->len = body.len;
    rs->body = kc_buf_take(&body);
    return 0;
}

/* ---- watch events (watch thread) ---- */

/* The watch is out of the multi handle: its waiters may go on (and free it). */
static void set_finished(hwatch *w, enum phase p)
{
    pthread_mutex_lock(&w->t->mu);
    w->phase = p;
    w->finished = true;
    pthread_cond_broadcast(&w->t->cv);
    pthread_mutex_unlock(&w->t->mu);
}

/* The end of the headers decides: a 200 starts the stream, anything else is an error body. */
static size_t w_header(char *p, size_t sz, size_t n, void *ud)
{
    hwatch *w = ud;
    size_t len = sz * n;
    if (len > 2 || (p[0] != '\r' && p[0] != '\n')) return len;
    long code = 0;
    curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200) return len; /* 100 Continue and friends */
    w->code = code;
    if (code != 200) return len;
    pthread_mutex_lock(&w->t->mu);
    w->phase = W_STREAMING;
    pthread_cond_broadcast(&w->t->cv);
    pthread_mutex_unlock(&w->t->mu);
    return len;
}

static uint64_t rev_of(json_t *obj)
{
    const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    return rv ? strtoull(rv, NULL, 10) : 0;
}

static const struct {
    const char *name;
    enum kc_wevent type;
} obj_events[] = {{"ADDED", KC_WATCH_ADDED}, {"MODIFIED", KC_WATCH_MODIFIED}, {"DELETED", KC_WATCH_DELETED}};

/* One parsed event to the callback; -1 ends the stream: the server's ERROR (its last event
 * anyway; 410 is EXPIRED) or a type this client does not know. */
static int dispatch(hwatch *w, const char *type, json_t *obj)
{
    for (size_t i = 0; i < sizeof obj_events / sizeof *obj_events; i++) {
        if (strcmp(type, obj_events[i].name)) continue;
        if (w->res < 0) return -1;
        kc_obj *o = kc_obj_build(w->res, obj);
        w->cb(w->ud, obj_events[i].type, o, o->rev);
        return 0;
    }
    if (!strcmp(type, "BOOKMARK")) {
        w->cb(w->ud, KC_WATCH_BOOKMARK, NULL, rev_of(obj));
        return 0;
    }
    if (!strcmp(type, "ERROR") && json_integer_value(json_object_get(obj, "code")) == 410)
        w->cb(w->ud, KC_WATCH_EXPIRED, NULL, w->from_rev);
    return -1;
}

/* One line of the stream ({"type":...,"object":{...}}); blank lines are skipped, a malformed
 * one ends the stream (-1). */
static int deliver(hwatch *w, const char *line, size_t n)
{
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;
    if (!n) return 0;
    json_t *ev = json_loadb(line, n, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    int rc = type && json_is_object(obj) ? dispatch(w, type, obj) : -1;
    json_decref(ev);
    return rc;
}

/* Splits the stream into lines; a line split over two writes waits in w->line. */
static size_t stream_write(hwatch *w, const char *p, size_t len)
{
    const char *end = p + len, *nl;
    while (!w->closed && (nl = memchr(p, '\n', (size_t)(end - p)))) {
        if (__atomic_load_n(&w->stopping, __ATOMIC_ACQUIRE)) return 0; /* one perform can read MBs */
        int rc;
        if (w->line.len) {
            kc_buf_add(&w->line, p, (size_t)(nl - p));
            rc = deliver(w, w->line.data, w->line.len);
            w->line.len = 0;
        } else {
            rc = deliver(w, p, (size_t)(nl - p));
        }
        p = nl + 1;
        if (rc < 0) w->closed = true;
    }
    if (w->closed || w->line.len + (size_t)(end - p) > MAX_EVENT) return 0; /* ends the transfer */
    kc_buf_add(&w->line, p, (size_t)(end - p));
    return len;
}

static size_t w_write(char *p, size_t sz, size_t n, void *ud)
{
    hwatch *w = ud;
    size_t len = sz * n;
    if (w->code == 200) return stream_write(w, p, len);
    if (w->line.len + len > MAX_ERROR_BODY) return 0;
    kc_buf_add(&w->line, p, len); /* a refused watch: its Status */
    return len;
}

static void deliver_closed(hwatch *w)
{
    w->cb(w->ud, KC_WATCH_CLOSED, NULL, 0);
}

/* Takes a watch out of the loop: a transfer that ended on its own (a refused or failed start, the
 * end of a stream) or a stop. A watch its caller holds (started, or handed back undecided) gets
 * its CLOSED here if it has not yet. (phase and finished are only written by this thread, which
 * reads them without the lock.) */
static void finish_one(kc_http *t, hwatch *w)
{
    if (w->in_multi) {
        curl_multi_remove_handle(t->multi, w->h);
        w->in_multi = false;
    }
    pthread_mutex_lock(&t->mu);
    bool held = w->phase == W_STREAMING || w->returned;
    pthread_mutex_unlock(&t->mu);
    if (held && !w->finished) deliver_closed(w);
    w->closed = true;
    set_finished(w, w->phase == W_STARTING ? W_FAILED : w->phase);
}

static void reap(kc_http *t)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(t->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        hwatch *w = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&w);
        w->result = m->data.result;
        finish_one(t, w);
    }
}

/* Takes the queued adds and stops; false when the transport is closing. */
static bool take_queues(kc_http *t, hwatch **adds, hwatch **stops)
{
    pthread_mutex_lock(&t->mu);
    *adds = t->adds;
    *stops = t->stops;
    t->adds = t->stops = NULL;
    bool quit = t->quit;
    pthread_mutex_unlock(&t->mu);
    return !quit;
}

static void *loop_main(void *p)
{
    kc_http *t = p;
    hwatch *adds, *stops;
    while (take_queues(t, &adds, &stops)) {
        for (hwatch *w = adds; w; w = w->next_add) {
            curl_multi_add_handle(t->multi, w->h);
            w->in_multi = true;
        }
        for (hwatch *w = stops, *n; w; w = n) {
            n = w->next_stop;
            finish_one(t, w);
            pthread_mutex_lock(&t->mu);
            w->stop_acked = true; /* from here on the caller may free w */
            pthread_cond_broadcast(&t->cv);
            pthread_mutex_unlock(&t->mu);
        }
        int running;
        curl_multi_perform(t->multi, &running);
        reap(t);
        curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}

/* ---- watches (caller side) ---- */

static uint64_t query_rev(const char *q)
{
    for (const char *p = q; p && *p; p += strcspn(p, "&"), p += *p == '&')
        if (!strncmp(p, "resourceVersion=", 16)) return strtoull(p + 16, NULL, 10);
    return 0;
}

static hwatch *watch_new(kc_http *t, const kc_creq *rq, kc_watch_cb cb, void *ud)
{
    hwatch *w = xcalloc(1, sizeof *w);
    *w = (hwatch){.t = t, .res = rq->res, .from_rev = query_rev(rq->query), .cb = cb, .ud = ud};
    if (!(w->h = curl_easy_init())) kc_oom();
    w->url = make_url(t, rq);
    w->hdrs = make_headers(&(kc_creq){.method = "GET"});
    setup(w->h, t, w->url, w->hdrs, w->errbuf);
    curl_easy_setopt(w->h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(w->h, CURLOPT_HEADERFUNCTION, w_header);
    curl_easy_setopt(w->h, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, w_write);
    curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->h, CURLOPT_PRIVATE, w);
    if (rq->query && strstr(rq->query, "allowWatchBookmarks=true")) { /* a silent stream is a dead one */
        curl_easy_setopt(w->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(w->h, CURLOPT_LOW_SPEED_TIME, WATCH_IDLE_S);
    }
    return w;
}

static void watch_free(hwatch *w)
{
    curl_easy_cleanup(w->h);
    curl_slist_free_all(w->hdrs);
    free(w->url);
    kc_buf_release(&w->line);
    free(w);
}

static void wake(kc_http *t)
{
    curl_multi_wakeup(t->multi);
}

/* The watch thread starts with the first watch. Called with t->mu held. */
static void ensure_loop(kc_http *t)
{
    if (t->loop_started) return;
    t->loop_started = true;
    pthread_create(&t->loop, NULL, loop_main, t);
}

/* Queues the stop unless the watch already finished, and waits until the watch thread took it
 * (not only until the watch finished: it may finish on its own while the stop is queued). */
static void stop_and_wait(kc_http *t, hwatch *w)
{
    pthread_mutex_lock(&t->mu);
    if (!w->finished) {
        __atomic_store_n(&w->stopping, 1, __ATOMIC_RELEASE);
        w->next_stop = t->stops;
        t->stops = w;
        wake(t);
        while (!w->stop_acked)
            pthread_cond_wait(&t->cv, &t->mu);
    }
    pthread_mutex_unlock(&t->mu);
}

/* Waits a little for the answer's headers or the end of the transfer: true when the watch is the
 * caller's (started, or still undecided: see the top of the file), false when it failed. */
static bool wait_started(kc_http *t, hwatch *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += WATCH_START_WAIT_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&t->mu);
    while (w->phase == W_STARTING)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &ts)) break;
    bool held = w->phase != W_FAILED;
    if (w->phase == W_STARTING) w->returned = true; /* from now on it ends with CLOSED */
    pthread_mutex_unlock(&t->mu);
    return held;
}

/* Why a watch did not start: the server's Status, or the transport's failure. */
static void start_error(hwatch *w, kc_err *err)
{
    if (!w->code) {
        const char *why = w->errbuf[0] ? w->errbuf : curl_easy_strerror(w->result);
        kc_errf(err, KC_EUNAVAILABLE, "watch %s: %s", w->url, w->result ? why : "no answer");
        return;
    }
    json_t *st = json_loadb(w->line.data ? w->line.data : "", w->line.len, 0, NULL);
    const char *reason = json_string_value(json_object_get(st, "reason"));
    const char *msg = json_string_value(json_object_get(st, "message"));
    kc_reason r = w->code == 410 ? KC_EGONE : w->code == 404 ? KC_ENOTFOUND : KC_EBADREQUEST;
    for (int i = KC_EBADREQUEST; i <= KC_EUNAVAILABLE; i++)
        if (reason && !strcmp(kc_reason_name((kc_reason)i), reason)) r = (kc_reason)i;
    kc_errf(err, r, "watch: %s", msg ? msg : "failed");
    json_decref(st);
}

static void *h_watch(void *tp, const kc_creq *rq, kc_watch_cb cb, void *ud, kc_err *err)
{
    kc_http *t = tp;
    hwatch *w = watch_new(t, rq, cb, ud);
    pthread_mutex_lock(&t->mu);
    ensure_loop(t);
    w->next_add = t->adds;
    t->adds = w;
    pthread_mutex_unlock(&t->mu);
    wake(t);
    if (wait_started(t, w)) return w;
    start_error(w, err); /* FAILED: out of the loop already */
    watch_free(w);
    return NULL;
}

static void h_watch_stop(void *tp, void *handle)
{
    if (!handle) return;
    stop_and_wait(tp, handle);
    watch_free(handle);
}

/* ---- the transport ---- */

static void h_close(void *tp)
{
    kc_http *t = tp;
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->quit = true;
    bool started = t->loop_started;
    pthread_mutex_unlock(&t->mu);
    if (started) {
        wake(t);
        pthread_join(t->loop, NULL);
    }
    curl_multi_cleanup(t->multi);
    for (int i = 0; i < t->nidle; i++)
        curl_easy_cleanup(t->idle[i]);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t->base);
    free(t->agent);
    free(t);
}

const kc_transport_ops kc_http_ops = {h_roundtrip, h_watch, h_watch_stop, h_close};

void *kc_http_transport_new(const char *server_url, kc_err *err)
{
    if (!server_url || !server_url[0]) return kc_errf(err, KC_EBADREQUEST, "server URL is empty"), NULL;
    if (!strncmp(server_url, "https://", 8)) {
        kc_errf(err, KC_EBADREQUEST, "server %s: https is not supported yet (serve plain http)", server_url);
        return NULL;
    }
    if (strncmp(server_url, "http://", 7) || !server_url[7]) {
        kc_errf(err, KC_EBADREQUEST, "server %s: want http://HOST:PORT", server_url);
        return NULL;
    }
    pthread_once(&global_once, global_init);
    kc_http *t = xcalloc(1, sizeof *t);
    size_t n = strlen(server_url);
    while (n > 7 && server_url[n - 1] == '/')
        n--;
    t->base = xstrndup(server_url, n);
    t->agent = xstrdup("kubec");
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (!(t->multi = curl_multi_init())) kc_oom();
    return t;
}

void kc_http_transport_set_agent(void *tp, const char *user_agent)
{
    kc_http *t = tp;
    free(t->agent);
    t->agent = xstrdup(user_agent ? user_agent : "kubec");
}
