/* The in-process transport of the client interface: components inside `kubec server` call the
 * API through the server's own router, on the event loop, with the same semantics as HTTP but
 * without sockets, HTTP parsing or re-encoding of objects (answers share the store's kc_obj).
 *
 *   caller thread: roundtrip() --queue + eventfd--> loop: on_calls() builds a kc_req, routes it
 *   loop: kc_reply, kc_reply_obj or a list --kc_inproc_complete--> caller wakes with the answer
 *
 * Watches run on the loop (watch.c) and call the caller's callback there. The loop thread
 * itself must never make a client call (it would wait for itself). */
#include "apiserver/apiserver.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct kc_icall {
    kc_creq rq; /* strings owned */
    kc_cresp *rs;
    kc_err *err;
    bool done;
    bool watch, stop;
    kc_watch_cb cb;
    void *ud;
    void *watcher; /* the loop-side watcher (watch.c) */
    struct kc_icall *next;
} kc_icall;

typedef struct kc_inproc {
    kc_apiserver *srv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    kc_icall *head, **tail;
    int efd;
} kc_inproc;

void kc_watch_inproc_stop(void *watcher);

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void call_free(kc_icall *c)
{
    free((char *)c->rq.method);
    free((char *)c->rq.path);
    free((char *)c->rq.query);
    free((char *)c->rq.ctype);
    free((char *)c->rq.body);
    free(c);
}

/* Caller side: queue a call for the loop and wait for its answer. */
static void submit_and_wait(kc_inproc *ip, kc_icall *c)
{
    pthread_mutex_lock(&ip->mu);
    *ip->tail = c;
    ip->tail = &c->next;
    pthread_mutex_unlock(&ip->mu);
    uint64_t one = 1;
    if (write(ip->efd, &one, sizeof one) < 0) { /* the loop drains the queue anyway on its next wake */
    }
    pthread_mutex_lock(&ip->mu);
    while (!c->done) pthread_cond_wait(&ip->cv, &ip->mu);
    pthread_mutex_unlock(&ip->mu);
}

static kc_icall *new_call(const kc_creq *rq, kc_cresp *rs, kc_err *err)
{
    kc_icall *c = xcalloc(1, sizeof *c);
    c->rq = (kc_creq){dup_or_null(rq->method), dup_or_null(rq->path), dup_or_null(rq->query), dup_or_null(rq->ctype),
                      NULL, rq->body_len, rq->res};
    if (rq->body) {
        char *b = xmalloc(rq->body_len + 1);
        memcpy(b, rq->body, rq->body_len);
        b[rq->body_len] = 0;
        c->rq.body = b;
    }
    c->rs = rs;
    c->err = err;
    return c;
}

static int ip_roundtrip(void *t, const kc_creq *rq, kc_cresp *rs, kc_err *err)
{
    kc_icall *c = new_call(rq, rs, err);
    submit_and_wait(t, c);
    call_free(c);
    return 0;
}

static void *ip_watch(void *t, const kc_creq *rq, kc_watch_cb cb, void *ud, kc_err *err)
{
    kc_cresp rs = {0};
    kc_icall *c = new_call(rq, &rs, err);
    c->watch = true;
    c->cb = cb;
    c->ud = ud;
    submit_and_wait(t, c);
    void *w = c->watcher;
    if (!w) {
        json_t *st = rs.body ? json_loadb(rs.body, rs.len, 0, NULL) : NULL;
        kc_errf(err, KC_EBADREQUEST, "watch: %s", json_string_value(json_object_get(st, "message")) ?: "failed");
        json_decref(st);
    }
    kc_cresp_release(&rs);
    call_free(c);
    return w;
}

static void ip_watch_stop(void *t, void *handle)
{
    kc_creq none = {0};
    kc_icall *c = new_call(&none, NULL, NULL);
    c->stop = true;
    c->watcher = handle;
    submit_and_wait(t, c);
    call_free(c);
}

static void ip_close(void *t)
{
    (void)t; /* the transport lives as long as the server */
}

const kc_transport_ops kc_inproc_ops = {ip_roundtrip, ip_watch, ip_watch_stop, ip_close};

/* ---- loop side ---- */

static void signal_done(kc_inproc *ip, kc_icall *c)
{
    pthread_mutex_lock(&ip->mu);
    c->done = true;
    pthread_cond_broadcast(&ip->cv);
    pthread_mutex_unlock(&ip->mu);
}

static kc_inproc *the_inproc; /* one server per process */

void kc_inproc_complete(kc_icall *c, int code, char *body, size_t len, const kc_obj *obj)
{
    if (c->rs) {
        c->rs->code = code;
        c->rs->body = body;
        c->rs->len = len;
        body = NULL;
        if (obj) {
            kc_obj_ref(obj);
            c->rs->obj = (kc_obj *)obj;
        }
    }
    free(body);
    signal_done(the_inproc, c);
}

void kc_inproc_complete_list(kc_icall *c, kc_obj **objs, size_t n, uint64_t rev)
{
    c->rs->code = 200;
    c->rs->objs = objs;
    c->rs->n = n;
    c->rs->rev = rev;
    signal_done(the_inproc, c);
}

bool kc_inproc_is_watch(const kc_icall *c)
{
    return c->watch;
}

void kc_inproc_watch_started(kc_icall *c, void *watcher)
{
    c->watcher = watcher;
    c->rs->code = 200;
    signal_done(the_inproc, c);
}

void kc_inproc_watch_params(const kc_icall *c, kc_watch_cb *cb, void **ud)
{
    *cb = c->cb;
    *ud = c->ud;
}

static void run_call(kc_inproc *ip, kc_icall *c)
{
    if (c->stop) {
        kc_watch_inproc_stop(c->watcher);
        signal_done(ip, c);
        return;
    }
    kc_req *r = xcalloc(1, sizeof *r);
    r->refs = 1;
    r->srv = ip->srv;
    r->inproc = c;
    const char *q = c->rq.query;
    kc_req_parse(r, c->rq.method, c->rq.path, strlen(c->rq.path), q, q ? strlen(q) : 0);
    r->ctype = dup_or_null(c->rq.ctype);
    r->accept = xstrdup("application/json");
    r->body = c->rq.body ? c->rq.body : "";
    r->body_len = c->rq.body ? c->rq.body_len : 0;
    r->warnings = json_array();
    kc_route(r);
    kc_req_unref(r); /* asynchronous answers hold their own reference */
}

static void on_calls(h2o_socket_t *sock, const char *err)
{
    kc_inproc *ip = sock->data;
    (void)err;
    uint64_t n; /* the socket is DONT_READ: reset the eventfd here, or it stays readable and the loop spins */
    if (read(ip->efd, &n, sizeof n) < 0) { /* EAGAIN: already reset */
    }
    pthread_mutex_lock(&ip->mu);
    kc_icall *list = ip->head;
    ip->head = NULL;
    ip->tail = &ip->head;
    pthread_mutex_unlock(&ip->mu);
    while (list) {
        kc_icall *next = list->next;
        run_call(ip, list);
        list = next;
    }
}

kc_inproc *kc_inproc_new(kc_apiserver *s)
{
    kc_inproc *ip = xcalloc(1, sizeof *ip);
    ip->srv = s;
    pthread_mutex_init(&ip->mu, NULL);
    pthread_cond_init(&ip->cv, NULL);
    ip->tail = &ip->head;
    ip->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h2o_socket_t *sock = h2o_evloop_socket_create(s->ctx.loop, ip->efd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = ip;
    h2o_socket_read_start(sock, on_calls);
    the_inproc = ip;
    return ip;
}
