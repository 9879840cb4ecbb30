/* The DNS servers (see dns.h): one UDP socket read by a loop that takes up to 32 datagrams per
 * recvmmsg, answers each from the current index (dns/answer.c) and sends the batch with one
 * sendmmsg; and one TCP listener on the same address, served by an epoll loop (RFC 7766:
 * 2-byte length framing, several queries per connection, answers in order, idle connections
 * closed after 10 s, at most 256 at once). Both loops poll a stop flag at least every 200 ms.
 * What to answer comes from dns/source.c. */
#include "dns/dns.h"
#include "dns/source.h"
#include "lib/xalloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define UDP_BUF 4096
#define TCP_MAX_CONNS 256
#define TCP_IDLE_S 10
#define TCP_FRAME (2 + 65535)

typedef struct dns_srv {
    kc_client *c;
    kc_dns_source *src;
    int ufd, tfd, ep;
    pthread_t *uth, tth;
    int nuth;
    volatile bool stop;
} dns_srv;

/* ---- sockets ---- */

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *colon = strrchr(s, ':');
    if (!colon || !colon[1]) return -1;
    char host[64];
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') s++, hl -= 2;
    if (hl >= sizeof host) return -1;
    memcpy(host, s, hl);
    host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) return -1;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
    } else {
        return -1;
    }
    return 0;
}

static int open_socket(const struct sockaddr_storage *ss, socklen_t len, int type)
{
    int fd = socket(ss->ss_family, type | SOCK_CLOEXEC | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -1;
    int one = 1, rcvbuf = 4 << 20;
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct timeval tv = {0, 200000};
    if (type == SOCK_DGRAM) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 128) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ---- UDP ---- */

typedef struct udp_batch {
    struct mmsghdr in[BATCH], out[BATCH];
    struct iovec iin[BATCH], iout[BATCH];
    struct sockaddr_storage addr[BATCH];
    uint8_t bin[BATCH][UDP_BUF], bout[BATCH][UDP_BUF];
} udp_batch;

static void send_all(int fd, struct mmsghdr *m, int n)
{
    for (int k = 0; k < n;) {
        int r = sendmmsg(fd, m + k, (unsigned)(n - k), 0);
        if (r > 0)
            k += r;
        else if (errno != EINTR)
            k++; /* this datagram cannot be sent (e.g. no route): skip it */
    }
}

/* Answers the n datagrams received; returns how many answers are ready to send. */
static int answer_batch(dns_srv *d, udp_batch *b, int n)
{
    void *hold;
    const kc_dns_index *ix = kc_dns_source_acquire(d->src, &hold);
    int m = 0;
    for (int i = 0; i < n; i++) {
        size_t len = kc_dns_answer(ix, b->bin[i], b->in[i].msg_len, b->bout[m], UDP_BUF, false);
        if (!len) continue;
        b->iout[m] = (struct iovec){b->bout[m], len};
        b->out[m].msg_hdr = (struct msghdr){.msg_name = &b->addr[i],
                                            .msg_namelen = b->in[i].msg_hdr.msg_namelen,
                                            .msg_iov = &b->iout[m],
                                            .msg_iovlen = 1};
        m++;
    }
    kc_dns_source_release(d->src, hold);
    return m;
}

static void *udp_loop(void *arg)
{
    dns_srv *d = arg;
    udp_batch *b = xcalloc(1, sizeof *b);
    for (int i = 0; i < BATCH; i++) {
        b->iin[i] = (struct iovec){b->bin[i], UDP_BUF};
        b->in[i].msg_hdr = (struct msghdr){.msg_name = &b->addr[i], .msg_iov = &b->iin[i], .msg_iovlen = 1};
    }
    while (!d->stop) {
        for (int i = 0; i < BATCH; i++)
            b->in[i].msg_hdr.msg_namelen = sizeof b->addr[i];
        int n = recvmmsg(d->ufd, b->in, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) continue; /* timeout (stop check) or EINTR */
        send_all(d->ufd, b->out, answer_batch(d, b, n));
    }
    free(b);
    return NULL;
}

/* ---- TCP ---- */

typedef struct tconn {
    int fd;
    uint8_t *in, *out;
    size_t have, olen, ooff, ocap;
    time_t last;
} tconn;

static void conn_close(dns_srv *d, tconn **conns, size_t *n, size_t i)
{
    tconn *c = conns[i];
    epoll_ctl(d->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
    conns[i] = conns[--*n];
}

static void out_append(tconn *c, const uint8_t *p, size_t n)
{
    if (c->olen + n > c->ocap) {
        while (c->olen + n > c->ocap)
            c->ocap = c->ocap ? c->ocap * 2 : 1024;
        c->out = xrealloc(c->out, c->ocap);
    }
    memcpy(c->out + c->olen, p, n);
    c->olen += n;
}

/* Answers every complete frame in the input buffer (while nothing waits to be written). */
static void conn_frames(dns_srv *d, tconn *c, uint8_t *scratch)
{
    size_t off = 0;
    while (c->ooff == c->olen && c->have - off >= 2) {
        size_t qlen = (size_t)c->in[off] << 8 | c->in[off + 1];
        if (c->have - off < 2 + qlen) break;
        void *hold;
        const kc_dns_index *ix = kc_dns_source_acquire(d->src, &hold);
        size_t len = kc_dns_answer(ix, c->in + off + 2, qlen, scratch + 2, 65535, true);
        kc_dns_source_release(d->src, hold);
        off += 2 + qlen;
        if (!len) continue; /* malformed: dropped, the connection goes on */
        scratch[0] = (uint8_t)(len >> 8);
        scratch[1] = (uint8_t)len;
        c->olen = c->ooff = 0;
        out_append(c, scratch, len + 2);
        ssize_t w = write(c->fd, c->out, c->olen);
        if (w > 0) c->ooff = (size_t)w;
    }
    memmove(c->in, c->in + off, c->have - off);
    c->have -= off;
}

/* Reads and answers; false when the connection is done (EOF, error). */
static bool conn_io(dns_srv *d, tconn *c, uint8_t *scratch)
{
    c->last = time(NULL);
    if (c->ooff < c->olen) {
        ssize_t w = write(c->fd, c->out + c->ooff, c->olen - c->ooff);
        if (w < 0 && errno != EAGAIN) return false;
        if (w > 0) c->ooff += (size_t)w;
    }
    for (;;) {
        if (c->have == TCP_FRAME) break; /* a full frame waits for the writer */
        ssize_t r = read(c->fd, c->in + c->have, TCP_FRAME - c->have);
        if (r == 0) return false;
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) return false;
            break;
        }
        c->have += (size_t)r;
        conn_frames(d, c, scratch);
    }
    conn_frames(d, c, scratch);
    uint32_t ev = EPOLLIN | (c->ooff < c->olen ? EPOLLOUT : 0);
    epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &(struct epoll_event){.events = ev, .data.ptr = c});
    return true;
}

static void accept_all(dns_srv *d, tconn **conns, size_t *n)
{
    for (;;) {
        int fd = accept4(d->tfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (*n == TCP_MAX_CONNS) {
            close(fd);
            continue;
        }
        tconn *c = xcalloc(1, sizeof *c);
        c->fd = fd;
        c->in = xmalloc(TCP_FRAME);
        c->last = time(NULL);
        conns[(*n)++] = c;
        epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = c});
    }
}

static void close_idle(dns_srv *d, tconn **conns, size_t *n, bool all)
{
    time_t now = time(NULL);
    for (size_t i = *n; i-- > 0;)
        if (all || now - conns[i]->last > TCP_IDLE_S) conn_close(d, conns, n, i);
}

static size_t index_of(tconn **conns, size_t n, tconn *c)
{
    for (size_t i = 0; i < n; i++)
        if (conns[i] == c) return i;
    return n;
}

static void *tcp_loop(void *arg)
{
    dns_srv *d = arg;
    tconn *conns[TCP_MAX_CONNS];
    size_t n = 0;
    uint8_t *scratch = xmalloc(TCP_FRAME);
    epoll_ctl(d->ep, EPOLL_CTL_ADD, d->tfd, &(struct epoll_event){.events = EPOLLIN, .data.ptr = NULL});
    while (!d->stop) {
        struct epoll_event ev[64];
        int k = epoll_wait(d->ep, ev, 64, 200);
        for (int i = 0; i < k; i++) {
            tconn *c = ev[i].data.ptr;
            if (!c) {
                accept_all(d, conns, &n);
                continue;
            }
            if (!(ev[i].events & (EPOLLERR | EPOLLHUP)) && conn_io(d, c, scratch)) continue;
            size_t at = index_of(conns, n, c);
            if (at < n) conn_close(d, conns, &n, at);
        }
        close_idle(d, conns, &n, false);
    }
    close_idle(d, conns, &n, true);
    free(scratch);
    return NULL;
}

/* ---- start / stop ---- */

static int open_sockets(dns_srv *d, const char *listen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_addr(listen, &ss, &len) < 0) {
        fprintf(stderr, "kubec server: --dns-listen %s: want ADDR:PORT\n", listen);
        return -1;
    }
    d->ufd = open_socket(&ss, len, SOCK_DGRAM);
    d->tfd = d->ufd < 0 ? -1 : open_socket(&ss, len, SOCK_STREAM);
    if (d->tfd < 0) {
        fprintf(stderr, "kubec server: dns: listen %s: %s; cluster DNS is off\n", listen, strerror(errno));
        if (d->ufd >= 0) close(d->ufd);
        return -1;
    }
    d->ep = epoll_create1(EPOLL_CLOEXEC);
    return 0;
}

void *kc_dns_start(kc_client *c, const kc_dns_opts *o)
{
    dns_srv *d = xcalloc(1, sizeof *d);
    d->c = c;
    d->ufd = d->tfd = d->ep = -1;
    if (open_sockets(d, o->listen) < 0) {
        kc_client_free(c);
        free(d);
        return NULL;
    }
    d->src = kc_dns_source_start(c, o->domain && *o->domain ? o->domain : "cluster.local");
    d->nuth = o->udp_threads > 0 ? o->udp_threads : 1;
    d->uth = xcalloc((size_t)d->nuth, sizeof *d->uth);
    for (int i = 0; i < d->nuth; i++)
        pthread_create(&d->uth[i], NULL, udp_loop, d);
    pthread_create(&d->tth, NULL, tcp_loop, d);
    return d;
}

void kc_dns_stop(void *p)
{
    dns_srv *d = p;
    if (!d) return;
    d->stop = true;
    for (int i = 0; i < d->nuth; i++)
        pthread_join(d->uth[i], NULL);
    pthread_join(d->tth, NULL);
    close(d->ufd);
    close(d->tfd);
    close(d->ep);
    kc_dns_source_free(d->src);
    kc_client_free(d->c);
    free(d->uth);
    free(d);
}
