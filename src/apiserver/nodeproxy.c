/* The kubelet proxy of the API server: one HTTP request to a node's kubelet endpoint, made on a
 * short-lived thread so the loop never waits for a node, and answered back on the loop.
 *
 *   loop: kc_nodeproxy_call: Node -> host:port, ref the request, start a thread
 *   thread: connect (5 s), send, read the whole answer (30 s, 16 MiB) --queue + eventfd-->
 *   loop: on_done: the caller's done(r, resp), unref the request
 *
 * Plain HTTP (the kubelet endpoints kubec runs are loopback `kubec sim` processes); one request
 * per connection. The state (one per server loop) lives as long as the process: a thread still
 * reading from a dead node when the server stops finishes into a queue nobody drains. It does
 * not know what the paths mean (podsub.c builds them and reads the answers). */
#include "apiserver/nodeproxy.h"
#include "client/nodeapi.h"
#include "lib/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_S 30
#define ANSWER_MAX (16u << 20) /* a longer answer is cut there (a log's tail is what --limit-bytes is for)   \
                                */
#define INFLIGHT_MAX 64        /* calls at once: each holds a thread for up to the timeouts */

typedef struct pcall {
    struct nodeproxy *np;
    kc_req *r; /* touched on the loop only */
    kc_kubelet_done done;
    char host[128], port[8], method[8];
    char *path;
    kc_kubelet_resp resp;
    struct pcall *next;
} pcall;

typedef struct nodeproxy {
    pthread_mutex_t mu;
    pcall *done; /* answered calls, newest first */
    int efd;
    int inflight; /* loop only */
    h2o_loop_t *loop;
} nodeproxy;

static nodeproxy *the_proxy; /* of the latest server's loop (unit tests run servers one after another) */

/* ---- the thread: one request, blocking, bounded by timeouts ---- */

/* Go's errno wording: "connection refused", lower case. */
static const char *errstr(int e, char buf[64])
{
    snprintf(buf, 64, "%s", e == ETIMEDOUT ? "i/o timeout" : strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z') buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

static void neterr(pcall *c, const char *op, int e)
{
    char b[64];
    snprintf(c->resp.neterr, sizeof c->resp.neterr, "%s tcp %s:%s: %s%s", op, c->host, c->port,
             e == ETIMEDOUT ? "" : "connect: ", errstr(e, b));
}

/* Non-blocking connect bounded by CONNECT_TIMEOUT_MS; returns the socket (blocking again) or -1. */
static int dial(pcall *c)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(c->host, c->port, &hints, &ai);
    if (rc != 0) {
        snprintf(c->resp.neterr, sizeof c->resp.neterr, "dial tcp: lookup %s: %s", c->host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), e = 0;
    if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)) e = errno;
    freeaddrinfo(ai);
    if (!e) {
        struct pollfd pf = {fd, POLLOUT, 0};
        socklen_t el = sizeof e;
        if (poll(&pf, 1, CONNECT_TIMEOUT_MS) <= 0)
            e = ETIMEDOUT;
        else
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    }
    if (e) {
        neterr(c, "dial", e);
        if (fd >= 0) close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* "HTTP/1.1 200 OK\r\n...\r\n\r\nbody": the code and the body moved to the front of the buffer. */
static int parse_answer(pcall *c, kc_buf *b)
{
    int code = 0;
    char *end = b->data ? strstr(b->data, "\r\n\r\n") : NULL;
    if (!b->len) {
        snprintf(c->resp.neterr, sizeof c->resp.neterr, "EOF"); /* closed without an answer, in Go's words */
        return -1;
    }
    if (!end || sscanf(b->data, "HTTP/1.%*d %d", &code) != 1 || code < 100 || code > 599) {
        snprintf(c->resp.neterr, sizeof c->resp.neterr, "malformed HTTP response from %s:%s", c->host,
                 c->port);
        return -1;
    }
    size_t off = (size_t)(end + 4 - b->data);
    c->resp.code = code;
    c->resp.len = b->len - off;
    memmove(b->data, b->data + off, c->resp.len);
    b->data[c->resp.len] = 0;
    b->len = c->resp.len;
    return 0;
}

static void exchange(pcall *c, int fd)
{
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b,
                "%s %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: kubec-apiserver\r\nConnection: close\r\n"
                "Content-Length: 0\r\n\r\n",
                c->method, c->path, c->host, c->port);
    int e = send_all(fd, b.data, b.len) < 0 ? errno : 0;
    b.len = 0;
    char chunk[16384];
    ssize_t n = 0;
    while (!e && (n = recv(fd, chunk, sizeof chunk, 0)) > 0 && b.len <= ANSWER_MAX)
        kc_buf_add(&b, chunk, (size_t)n);
    if (!e && n < 0) e = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
    kc_buf_add(&b, "", 1); /* NUL */
    b.len--;
    if (e) {
        char eb[64];
        snprintf(c->resp.neterr, sizeof c->resp.neterr, "read tcp %s:%s: %s", c->host, c->port,
                 errstr(e, eb));
    } else if (parse_answer(c, &b) == 0) {
        c->resp.body = kc_buf_take(&b);
        return;
    }
    kc_buf_release(&b);
}

static void *run(void *p)
{
    pcall *c = p;
    int fd = dial(c);
    if (fd >= 0) {
        exchange(c, fd);
        close(fd);
    }
    nodeproxy *np = c->np;
    pthread_mutex_lock(&np->mu);
    c->next = np->done;
    np->done = c;
    pthread_mutex_unlock(&np->mu);
    uint64_t one = 1;
    if (write(np->efd, &one, sizeof one) < 0) { /* the counter is far below its limit */
    }
    return NULL;
}

/* ---- the loop side ---- */

static void on_done(h2o_socket_t *sock, const char *err)
{
    nodeproxy *np = sock->data;
    (void)err;
    uint64_t n;                            /* DONT_READ socket: reset the eventfd or the loop spins */
    if (read(np->efd, &n, sizeof n) < 0) { /* EAGAIN: already reset */
    }
    pthread_mutex_lock(&np->mu);
    pcall *list = np->done;
    np->done = NULL;
    pthread_mutex_unlock(&np->mu);
    while (list) {
        pcall *c = list;
        list = c->next;
        np->inflight--;
        c->done(c->r, &c->resp);
        kc_req_unref(c->r);
        free(c->resp.body);
        free(c->path);
        free(c);
    }
}

static nodeproxy *proxy(kc_apiserver *s)
{
    if (the_proxy && the_proxy->loop == s->ctx.loop) return the_proxy;
    nodeproxy *np = xcalloc(1, sizeof *np); /* a previous one stays: its threads may still post to it */
    np->loop = s->ctx.loop;
    pthread_mutex_init(&np->mu, NULL);
    np->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h2o_socket_t *sock = h2o_evloop_socket_create(s->ctx.loop, np->efd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = np;
    h2o_socket_read_start(sock, on_done);
    return the_proxy = np;
}

/* The host the server dials for a node: the kubec annotation, else the first address by
 * kube-apiserver's --kubelet-preferred-address-types order among the types kubec writes. */
static const char *node_host(json_t *node)
{
    const char *h = json_string_value(json_object_get(
        json_object_get(json_object_get(node, "metadata"), "annotations"), KC_NODE_KUBELET_HOST_ANNOTATION));
    if (h && h[0]) return h;
    static const char *const order[] = {"Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"};
    json_t *addrs = json_object_get(json_object_get(node, "status"), "addresses"), *a;
    for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
        size_t i;
        json_array_foreach(addrs, i,
                           a) if (!strcmp(json_string_value(json_object_get(a, "type")) ?: "", order[k]))
        {
            const char *v = json_string_value(json_object_get(a, "address"));
            if (v && v[0]) return v;
        }
    }
    return NULL;
}

/* Fills host and port of a call from the Node object. */
static int resolve(kc_apiserver *s, const char *node, pcall *c, kc_err *err)
{
    const kc_obj *o = kc_store_get(s->store, kc_resource_find("", "v1", "nodes"), NULL, node);
    if (!o) return kc_errf(err, KC_ENOTFOUND, "nodes \"%s\" not found", node);
    json_t *d = kc_obj_parse(o);
    const char *host = node_host(d);
    json_int_t port = json_integer_value(json_object_get(
        json_object_get(json_object_get(json_object_get(d, "status"), "daemonEndpoints"), "kubeletEndpoint"),
        "Port"));
    int rc = 0;
    if (!host || strlen(host) >= sizeof c->host)
        rc = kc_errf(err, KC_EINTERNAL, "no preferred addresses found; known addresses: []");
    else {
        snprintf(c->host, sizeof c->host, "%s", host);
        snprintf(c->port, sizeof c->port, "%d", port > 0 && port < 65536 ? (int)port : 10250);
    }
    json_decref(d);
    return rc;
}

int kc_nodeproxy_call(kc_req *r, const char *node, const char *method, const char *path, kc_kubelet_done done,
                      kc_err *err)
{
    nodeproxy *np = proxy(r->srv);
    if (np->inflight >= INFLIGHT_MAX)
        return kc_errf(err, KC_ETOOMANY, "too many requests to nodes in flight (%d), please try again later",
                       INFLIGHT_MAX);
    pcall *c = xcalloc(1, sizeof *c);
    if (resolve(r->srv, node, c, err) < 0) {
        free(c);
        return -1;
    }
    c->np = np;
    c->r = r;
    c->done = done;
    c->path = xstrdup(path);
    snprintf(c->method, sizeof c->method, "%s", method);
    bool v6 = strchr(c->host, ':') != NULL;
    snprintf(c->resp.url, sizeof c->resp.url, "http://%s%s%s:%s%s", v6 ? "[" : "", c->host, v6 ? "]" : "",
             c->port, path);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    kc_req_ref(r); /* given back by on_done, on this loop */
    int e = pthread_create(&t, &at, run, c);
    pthread_attr_destroy(&at);
    if (e) {
        kc_req_unref(r);
        free(c->path);
        free(c);
        return kc_errf(err, KC_EINTERNAL, "kubelet proxy: cannot start a thread: %s", strerror(e));
    }
    np->inflight++;
    return 0;
}
