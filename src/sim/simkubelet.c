/* The kubelet endpoint of a `kubec sim` process: the few kubelet HTTP paths the API server
 * proxies to, answered from the same pod data the in-process node provider reads (sim.c), so
 * pods on nodes of a separate process get logs and exec answers as pods on in-process nodes do.
 *
 *   GET  /containerLogs/{ns}/{pod}/{container}?tailLines=&timestamps=&limitBytes=&previous=&follow=
 *        200 text/plain: the log (follow: what exists, then the end; the sim writes no more lines)
 *        400 text/plain: the reason (waiting to start, no previous container), as the kubelet
 *   GET|POST /exec/{ns}/{pod}/{container}?command=...
 *        400 text/plain: "node X is a simulated node (kubec sim) and cannot run commands ..."
 *
 * One thread accepts and answers connections one at a time (answers come from memory; socket
 * timeouts bound a slow client). Plain HTTP/1.1 on loopback, one request per connection. Every
 * node of the process advertises this one port (Node status.daemonEndpoints.kubeletEndpoint.Port)
 * and the dialable host in the annotation kubec.io/kubelet-host (simnode.c). It does not own the
 * pod data nor the API server side of the proxy (apiserver/nodeproxy.c). */
#include "lib/buf.h"
#include "lib/xalloc.h"
#include "sim/simint.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX 8192
#define IO_TIMEOUT_S 5

struct kc_sim_kubelet {
    int fd, stop_fd;
    char host[64];
    int port;
    kc_sim *sim;
    pthread_t thread;
    bool running;
};

/* ---- listening ---- */

static int parse_addr(const char *addr, struct sockaddr_in *sa, kc_err *err)
{
    const char *colon = strrchr(addr, ':');
    char host[64];
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return kc_errf(err, KC_EBADREQUEST, "--listen %s: want HOST:PORT", addr);
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (*end || port < 0 || port > 65535 ||
        inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
        return kc_errf(err, KC_EBADREQUEST, "--listen %s: want an IPv4 HOST:PORT", addr);
    return 0;
}

kc_sim_kubelet *kc_sim_kubelet_listen(const char *addr, kc_err *err)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    if (parse_addr(addr, &sa, err) < 0) return NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        kc_errf(err, KC_EINTERNAL, "listen on %s: %s", addr, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    kc_sim_kubelet *k = xcalloc(1, sizeof *k);
    k->fd = fd;
    k->stop_fd = eventfd(0, EFD_CLOEXEC);
    k->port = ntohs(sa.sin_port);
    /* a wildcard address is reachable on loopback */
    if (sa.sin_addr.s_addr == htonl(INADDR_ANY))
        snprintf(k->host, sizeof k->host, "127.0.0.1");
    else
        inet_ntop(AF_INET, &sa.sin_addr, k->host, sizeof k->host);
    return k;
}

const char *kc_sim_kubelet_host(const kc_sim_kubelet *k)
{
    return k->host;
}

int kc_sim_kubelet_port(const kc_sim_kubelet *k)
{
    return k->port;
}

/* ---- one request ---- */

static void respond(int fd, int code, const char *body, size_t len)
{
    const char *reason = code == 200   ? "OK"
                         : code == 400 ? "Bad Request"
                         : code == 404 ? "Not Found"
                                       : "Method Not Allowed";
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      code, reason, len);
    kc_buf b = KC_BUF_INIT;
    kc_buf_add(&b, head, (size_t)hl);
    kc_buf_add(&b, body, len);
    for (size_t off = 0; off < b.len;) {
        ssize_t n = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += (size_t)n;
    }
    kc_buf_release(&b);
}

/* The value of `key` in a query string (malloc'd, not decoded: the values used are plain), or NULL. */
static char *query_get(const char *q, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (!strncmp(p, key, kl) && (p[kl] == '=' || p[kl] == '&' || !p[kl])) {
            const char *v = p[kl] == '=' ? p + kl + 1 : "";
            return xstrndup(v, strcspn(v, "&"));
        }
    }
    return NULL;
}

static bool query_bool(const char *q, const char *key)
{
    char *v = query_get(q, key);
    bool on = v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "True") || !strcmp(v, "TRUE") ||
                    !strcmp(v, "t") || !strcmp(v, "T") || !v[0]);
    free(v);
    return on;
}

static long query_long(const char *q, const char *key)
{
    char *v = query_get(q, key);
    long n = v && v[0] ? atol(v) : -1;
    free(v);
    return n;
}

/* Splits "/{ns}/{pod}/{container}" into three names; false if the shape differs. */
static bool split3(const char *p, char *ns, char *pod, char *ctr, size_t n)
{
    const char *a = p + 1, *b = strchr(a, '/'), *c = b ? strchr(b + 1, '/') : NULL;
    if (*p != '/' || !b || !c || strchr(c + 1, '/') || b == a || c == b + 1 || !c[1]) return false;
    if ((size_t)(b - a) >= n || (size_t)(c - b) > n || strlen(c + 1) >= n) return false;
    snprintf(ns, n, "%.*s", (int)(b - a), a);
    snprintf(pod, n, "%.*s", (int)(c - b - 1), b + 1);
    snprintf(ctr, n, "%s", c + 1);
    return true;
}

static void container_logs(kc_sim_kubelet *k, int fd, const char *ns, const char *pod, const char *ctr,
                           const char *q)
{
    kc_sim *s = k->sim;
    kc_log_opts o = {ctr, query_bool(q, "timestamps"), query_bool(q, "previous"), query_long(q, "tailLines"),
                     query_long(q, "limitBytes")};
    kc_err err = KC_ERR_INIT;
    char *key = kc_obj_key(ns, pod), *text = NULL;
    size_t len = 0;
    pthread_mutex_lock(&s->mu);
    sim_pod *p = kc_map_get(&s->pods, key);
    int rc = p ? kc_sim_pod_logs(p, &o, &text, &len, &err)
               : kc_errf(&err, KC_EBADREQUEST, "container \"%s\" in pod \"%s\" is waiting to start: %s", ctr,
                         pod, "ContainerCreating");
    pthread_mutex_unlock(&s->mu);
    if (rc == 0)
        respond(fd, 200, text, len);
    else
        respond(fd, 400, err.msg, strlen(err.msg));
    kc_err_release(&err);
    free(text);
    free(key);
}

static void exec_refused(kc_sim_kubelet *k, int fd, const char *ns, const char *pod)
{
    kc_sim *s = k->sim;
    char *key = kc_obj_key(ns, pod), msg[256];
    pthread_mutex_lock(&s->mu);
    sim_pod *p = kc_map_get(&s->pods, key);
    if (p) snprintf(msg, sizeof msg, "%s", s->nodes[p->node].exec_msg);
    pthread_mutex_unlock(&s->mu);
    if (p)
        respond(fd, 400, msg, strlen(msg));
    else
        respond(fd, 404, msg, (size_t)snprintf(msg, sizeof msg, "pod \"%s\" does not exist", pod));
    free(key);
}

/* Reads the request head (bounded, with a timeout); returns its length or -1. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len < cap - 1) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0) return -1;
        len += (size_t)n;
        buf[len] = 0;
        if (strstr(buf, "\r\n\r\n")) return (ssize_t)len;
    }
    return -1;
}

static void serve_conn(kc_sim_kubelet *k, int fd)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char buf[REQ_MAX], method[8], target[REQ_MAX], ns[256], pod[256], ctr[256];
    if (read_head(fd, buf, sizeof buf) < 0 || sscanf(buf, "%7s %8191s HTTP/1.", method, target) != 2) return;
    char *q = strchr(target, '?');
    if (q) *q++ = 0;
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strncmp(target, "/containerLogs/", 14) && split3(target + 14, ns, pod, ctr, sizeof ns))
        get ? container_logs(k, fd, ns, pod, ctr, q) : respond(fd, 405, "method not allowed", 18);
    else if (!strncmp(target, "/exec/", 5) && split3(target + 5, ns, pod, ctr, sizeof ns))
        get || post ? exec_refused(k, fd, ns, pod) : respond(fd, 405, "method not allowed", 18);
    else
        respond(fd, 404, "404 page not found", 18);
}

static void *serve_loop(void *p)
{
    kc_sim_kubelet *k = p;
    struct pollfd pf[2] = {{k->fd, POLLIN, 0}, {k->stop_fd, POLLIN, 0}};
    for (;;) {
        if (poll(pf, 2, -1) < 0 && errno != EINTR) break;
        if (pf[1].revents) break;
        if (!(pf[0].revents & POLLIN)) continue;
        int c = accept4(k->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        serve_conn(k, c);
        close(c);
    }
    return NULL;
}

/* ---- lifecycle ---- */

void kc_sim_kubelet_serve(kc_sim_kubelet *k, kc_sim *s)
{
    k->sim = s;
    k->running = pthread_create(&k->thread, NULL, serve_loop, k) == 0;
}

void kc_sim_kubelet_free(kc_sim_kubelet *k)
{
    if (!k) return;
    if (k->running) {
        uint64_t one = 1;
        if (write(k->stop_fd, &one, sizeof one) < 0) { /* cannot fail on an eventfd below its limit */
        }
        pthread_join(k->thread, NULL);
    }
    close(k->fd);
    close(k->stop_fd);
    free(k);
}
