/* bench/loadgen.c: the HTTP/1.1 load generator behind bench/run.sh. Raw keep-alive sockets,
 * pthreads and epoll; no third-party libraries. Modes (each prints one "RESULT k=v ..." line):
 *
 *   create   --url U --target kubec|etcd -c CLIENTS -n OPS [--ns NS] [--prefix P] [--size BYTES]
 *            POSTs OPS ~3 KB pods (kubec: POST /api/v1/namespaces/NS/pods; etcd: POST
 *            /v3/kv/put with base64 key /registry/pods/NS/NAME and the same JSON as value)
 *            from CLIENTS connections: throughput and p50/p99 latency (--lat-file F appends
 *            each successful op's latency in ms to F, one a line).
 *   list     --url U [--path P] [--limit N]: one GET of a list (following continue tokens when
 *            --limit is set), timed to the last byte; counts items.
 *   watch    --url U --ns NS -w WATCHERS -e EVENTS [-c WRITERS] [-t THREADS]: opens WATCHERS
 *            watches on NS, creates EVENTS pods there, and measures the time until every watcher
 *            has all EVENTS events, and the latency from each create's send to each delivery.
 *   ready    --url U --since EPOCH [--pid PID]: polls /readyz until 200; prints seconds since
 *            EPOCH (CLOCK_REALTIME, as bash's $EPOCHREALTIME).
 *   freeport prints a free loopback TCP port.
 *
 * Build: gcc -O2 -pthread -o build/bench/loadgen bench/loadgen.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---------- configuration ---------- */

static struct {
    struct sockaddr_in addr;
    char host[64];
    bool etcd;
    int clients, watchers, threads, limit, size, pid;
    long ops, events;
    const char *ns, *prefix, *path, *lat_file;
    double since, timeout;
} cfg = {.clients = 1, .watchers = 1000, .threads = 2, .size = 3072, .ops = 1000, .events = 1000,
         .ns = "default", .prefix = "bench", .path = "/api/v1/pods", .timeout = 120};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) die("out of memory");
    return p;
}

static void parse_url(const char *url)
{
    int port = 0;
    if (sscanf(url, "http://%63[^:]:%d", cfg.host, &port) != 2 || port <= 0 || port > 65535)
        die("--url must be http://IPV4:PORT");
    cfg.addr.sin_family = AF_INET;
    cfg.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, cfg.host, &cfg.addr.sin_addr) != 1) die("--url host must be an IPv4 address");
}

/* ---------- connections and HTTP responses ---------- */

typedef struct {
    int fd;
    char *buf;
    size_t cap, off, len; /* unread bytes are buf[off, len) */
} conn;

typedef struct {
    int status;
    long clen;
    bool chunked, close;
} resp_hdr;

typedef void (*body_fn)(void *ctx, const char *p, size_t n);

static int tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 60}; /* nothing blocks forever on a stuck server */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&cfg.addr, sizeof cfg.addr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int conn_open(conn *c)
{
    if (!c->buf) c->buf = xmalloc(c->cap = 1 << 16);
    c->off = c->len = 0;
    return (c->fd = tcp_connect()) < 0 ? -1 : 0;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->off = c->len = 0;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads more bytes into c->buf (compacting or growing it first). */
static ssize_t conn_fill(conn *c)
{
    if (c->off == c->len) c->off = c->len = 0;
    if (c->len == c->cap) {
        if (c->off) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        } else {
            char *nb = realloc(c->buf, c->cap * 2);
            if (!nb) die("out of memory");
            c->buf = nb;
            c->cap *= 2;
        }
    }
    ssize_t k;
    do k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    while (k < 0 && errno == EINTR);
    if (k > 0) c->len += (size_t)k;
    return k;
}

static bool line_has(const char *line, size_t n, const char *name, const char *value)
{
    size_t nl = strlen(name);
    if (n < nl || strncasecmp(line, name, nl)) return false;
    char tmp[256];
    size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
    memcpy(tmp, line, k);
    tmp[k] = 0;
    return !value || strcasestr(tmp + nl, value);
}

/* Parses a status line and headers (p[0, n) ends with the blank line). */
static int parse_headers(const char *p, size_t n, resp_hdr *h)
{
    if (n < 12 || strncmp(p, "HTTP/1.", 7)) return -1;
    *h = (resp_hdr){.status = atoi(p + 9), .clen = -1};
    const char *line = memchr(p, '\n', n), *end = p + n;
    while (line && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        size_t ll = (size_t)(eol - line);
        if (line_has(line, ll, "content-length:", NULL)) h->clen = strtol(line + 15, NULL, 10);
        else if (line_has(line, ll, "transfer-encoding:", "chunked")) h->chunked = true;
        else if (line_has(line, ll, "connection:", "close")) h->close = true;
        line = eol;
    }
    return 0;
}

/* Chunked transfer decoding as a push state machine (used by blocking and epoll readers). */
enum { DC_SIZE, DC_EXT, DC_DATA, DC_DATA_END, DC_TRAILER, DC_DONE };
typedef struct {
    int st, linelen;
    size_t size, rem;
} dechunk;

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void size_line_end(dechunk *d)
{
    if (d->size == 0) {
        d->st = DC_TRAILER;
        d->linelen = 0;
    } else {
        d->rem = d->size;
        d->st = DC_DATA;
    }
    d->size = 0;
}

/* Feeds p[0, n); returns 1 once the terminating chunk and trailer are consumed, else 0. */
static int dechunk_feed(dechunk *d, const char *p, size_t n, size_t *used, body_fn fn, void *ctx)
{
    size_t i = 0;
    while (i < n && d->st != DC_DONE) {
        char ch = p[i];
        if (d->st == DC_DATA) {
            size_t k = n - i < d->rem ? n - i : d->rem;
            if (fn) fn(ctx, p + i, k);
            i += k;
            if ((d->rem -= k) == 0) d->st = DC_DATA_END;
            continue;
        }
        i++;
        if (d->st == DC_SIZE && hexval(ch) >= 0) d->size = d->size * 16 + (size_t)hexval(ch);
        else if ((d->st == DC_SIZE || d->st == DC_EXT) && ch == '\n') size_line_end(d);
        else if (d->st == DC_SIZE && ch != '\r') d->st = DC_EXT;
        else if (d->st == DC_DATA_END && ch == '\n') d->st = DC_SIZE;
        else if (d->st == DC_TRAILER && ch == '\n') d->st = d->linelen ? (d->linelen = 0, DC_TRAILER) : DC_DONE;
        else if (d->st == DC_TRAILER && ch != '\r') d->linelen++;
    }
    *used = i;
    return d->st == DC_DONE;
}

/* Reads one whole response from a blocking connection, passing the body to fn. */
static int read_response(conn *c, resp_hdr *h, body_fn fn, void *ctx)
{
    for (;;) {
        char *e = memmem(c->buf + c->off, c->len - c->off, "\r\n\r\n", 4);
        if (e) {
            size_t hl = (size_t)(e + 4 - (c->buf + c->off));
            if (parse_headers(c->buf + c->off, hl, h) < 0) return -1;
            c->off += hl;
            break;
        }
        if (conn_fill(c) <= 0) return -1;
    }
    if (h->chunked) {
        dechunk d = {0};
        for (;;) {
            size_t used;
            int done = dechunk_feed(&d, c->buf + c->off, c->len - c->off, &used, fn, ctx);
            c->off += used;
            if (done) return 0;
            if (conn_fill(c) <= 0) return -1;
        }
    }
    if (h->clen < 0) { /* body until close */
        h->close = true;
        for (;;) {
            if (fn && c->len > c->off) fn(ctx, c->buf + c->off, c->len - c->off);
            c->off = c->len;
            ssize_t k = conn_fill(c);
            if (k == 0) return 0;
            if (k < 0) return -1;
        }
    }
    size_t rem = (size_t)h->clen;
    while (rem > 0) {
        size_t avail = c->len - c->off;
        if (!avail) {
            if (conn_fill(c) <= 0) return -1;
            continue;
        }
        size_t k = avail < rem ? avail : rem;
        if (fn) fn(ctx, c->buf + c->off, k);
        c->off += k;
        rem -= k;
    }
    return 0;
}

/* Keeps the first bytes of a body (error messages, list metadata). */
typedef struct {
    char head[4096];
    size_t len;
} head_buf;

static void keep_head(void *ctx, const char *p, size_t n)
{
    head_buf *hb = ctx;
    size_t k = sizeof hb->head - 1 - hb->len;
    if (k > n) k = n;
    memcpy(hb->head + hb->len, p, k);
    hb->head[hb->len += k] = 0;
}

/* ---------- the ~3 KB pod ---------- */

static const char pod_fmt[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
    "\"labels\":{\"app\":\"bench\",\"tier\":\"backend\",\"pod-template-hash\":\"7d4b9c8f6d\"},"
    "\"annotations\":{\"bench-t\":\"%lld\",\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"9102\","
    "\"bench-pad\":\"%s\"},"
    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"bench-7d4b9c8f6d\","
    "\"uid\":\"0f3c8f5e-2b1a-4c7e-9d8e-1a2b3c4d5e6f\",\"controller\":true,\"blockOwnerDeletion\":true}]},"
    "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"registry.example/bench/app:1.2.3\","
    "\"imagePullPolicy\":\"IfNotPresent\",\"command\":[\"/bin/app\"],\"args\":[\"--port=8080\",\"--log-level=info\"],"
    "\"ports\":[{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},"
    "{\"name\":\"metrics\",\"containerPort\":9102,\"protocol\":\"TCP\"}],"
    "\"env\":[{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}},"
    "{\"name\":\"POD_NAMESPACE\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}},"
    "{\"name\":\"GOMAXPROCS\",\"value\":\"2\"}],"
    "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"},\"limits\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"}},"
    "\"volumeMounts\":[{\"name\":\"config\",\"mountPath\":\"/etc/app\",\"readOnly\":true},"
    "{\"name\":\"kube-api-access\",\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\",\"readOnly\":true}],"
    "\"livenessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":8080,\"scheme\":\"HTTP\"},\"initialDelaySeconds\":10,"
    "\"periodSeconds\":10,\"timeoutSeconds\":1,\"successThreshold\":1,\"failureThreshold\":3},"
    "\"readinessProbe\":{\"httpGet\":{\"path\":\"/readyz\",\"port\":8080,\"scheme\":\"HTTP\"},\"periodSeconds\":5,"
    "\"timeoutSeconds\":1,\"successThreshold\":1,\"failureThreshold\":3},"
    "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"},"
    "{\"name\":\"sidecar\",\"image\":\"registry.example/bench/proxy:0.9.1\",\"imagePullPolicy\":\"IfNotPresent\","
    "\"args\":[\"--upstream=127.0.0.1:8080\"],\"ports\":[{\"name\":\"proxy\",\"containerPort\":15001,\"protocol\":\"TCP\"}],"
    "\"resources\":{\"requests\":{\"cpu\":\"50m\",\"memory\":\"64Mi\"},\"limits\":{\"cpu\":\"200m\",\"memory\":\"128Mi\"}},"
    "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}],"
    "\"volumes\":[{\"name\":\"config\",\"configMap\":{\"name\":\"bench-config\",\"defaultMode\":420}},"
    "{\"name\":\"kube-api-access\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":3607,"
    "\"path\":\"token\"}},{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}}],"
    "\"defaultMode\":420}}],\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,"
    "\"dnsPolicy\":\"ClusterFirst\",\"serviceAccountName\":\"default\",\"nodeSelector\":{\"kubernetes.io/os\":\"linux\"},"
    "\"schedulerName\":\"default-scheduler\",\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\","
    "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300},"
    "{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],"
    "\"enableServiceLinks\":true}}";

static char pad[8192];

/* Sizes the padding annotation so a pod named like the benchmark's is about cfg.size bytes. */
static void init_pad(void)
{
    char probe[8192];
    int base = snprintf(probe, sizeof probe, pod_fmt, "bench-c64-000000", cfg.ns, 1234567890123456LL, "");
    int k = cfg.size - base;
    if (k < 0) k = 0;
    if (k >= (int)sizeof pad) k = sizeof pad - 1;
    for (int i = 0; i < k; i++) pad[i] = (char)('a' + i % 26);
    pad[k] = 0;
}

static size_t pod_json(char *out, size_t cap, const char *name, long long tns)
{
    int n = snprintf(out, cap, pod_fmt, name, cfg.ns, tns, pad);
    if (n < 0 || (size_t)n >= cap) die("pod buffer too small");
    return (size_t)n;
}

static size_t b64(char *out, const unsigned char *in, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[v >> 12 & 63];
        out[o++] = t[v >> 6 & 63];
        out[o++] = t[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[o++] = t[v >> 18];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
    return o;
}

/* Builds the whole create request for pod name into req; returns its length. */
static size_t build_create(char *req, size_t cap, char *scratch, char *scratch2, const char *name)
{
    size_t bl = pod_json(scratch, 16384, name, (long long)(now() * 1e9));
    const char *body = scratch;
    char path[256];
    if (cfg.etcd) {
        char key[256], kb[400];
        snprintf(key, sizeof key, "/registry/pods/%s/%s", cfg.ns, name);
        b64(kb, (const unsigned char *)key, strlen(key));
        int o = snprintf(scratch2, 32768, "{\"key\":\"%s\",\"value\":\"", kb);
        o += (int)b64(scratch2 + o, (const unsigned char *)scratch, bl);
        o += snprintf(scratch2 + o, 32768 - (size_t)o, "\"}");
        body = scratch2;
        bl = (size_t)o;
        snprintf(path, sizeof path, "/v3/kv/put");
    } else {
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", cfg.ns);
    }
    int hl = snprintf(req, cap,
                      "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Accept: application/json\r\nContent-Length: %zu\r\n\r\n",
                      path, cfg.host, ntohs(cfg.addr.sin_port), bl);
    if ((size_t)hl + bl >= cap) die("request buffer too small");
    memcpy(req + hl, body, bl);
    return (size_t)hl + bl;
}

/* ---------- create ---------- */

typedef struct {
    long ops, ok, errors;
    double secs, p50, p99, p999, max;
} create_stats;

static struct {
    atomic_long next;
    atomic_long errors;
    atomic_int printed;
    double *lat; /* per op, seconds; < 0 when the op failed */
    pthread_barrier_t start;
} cr;

static void create_error(int status, const char *body)
{
    if (atomic_fetch_add(&cr.printed, 1) < 3) fprintf(stderr, "loadgen: create failed: status %d: %.300s\n", status, body);
}

static void *create_worker(void *arg)
{
    (void)arg;
    conn c = {.fd = -1};
    char *req = xmalloc(65536), *s1 = xmalloc(16384), *s2 = xmalloc(32768);
    int expect = cfg.etcd ? 200 : 201;
    if (conn_open(&c) < 0) conn_close(&c);
    pthread_barrier_wait(&cr.start);
    for (;;) {
        long i = atomic_fetch_add(&cr.next, 1);
        if (i >= cfg.ops) break;
        char name[128];
        snprintf(name, sizeof name, "%s-%06ld", cfg.prefix, i);
        double t0 = now();
        size_t n = build_create(req, 65536, s1, s2, name);
        head_buf hb = {.len = 0};
        resp_hdr h = {0};
        cr.lat[i] = -1;
        if ((c.fd < 0 && conn_open(&c) < 0) || send_all(c.fd, req, n) < 0 || read_response(&c, &h, keep_head, &hb) < 0) {
            atomic_fetch_add(&cr.errors, 1);
            create_error(-1, strerror(errno));
            conn_close(&c);
            continue;
        }
        if (h.status == expect) cr.lat[i] = now() - t0;
        else {
            atomic_fetch_add(&cr.errors, 1);
            create_error(h.status, hb.head);
        }
        if (h.close) conn_close(&c);
    }
    conn_close(&c);
    free(c.buf);
    free(req);
    free(s1);
    free(s2);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p)
{
    if (n <= 0) return NAN;
    long i = (long)ceil(p * (double)n) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return v[i];
}

static create_stats run_creates(void)
{
    int nc = cfg.clients;
    pthread_t *t = xmalloc(sizeof *t * (size_t)nc);
    atomic_store(&cr.next, 0);
    atomic_store(&cr.errors, 0);
    cr.lat = xmalloc(sizeof *cr.lat * (size_t)cfg.ops);
    pthread_barrier_init(&cr.start, NULL, (unsigned)nc + 1);
    for (int i = 0; i < nc; i++) pthread_create(&t[i], NULL, create_worker, NULL);
    pthread_barrier_wait(&cr.start);
    double t0 = now();
    for (int i = 0; i < nc; i++) pthread_join(t[i], NULL);
    create_stats s = {.ops = cfg.ops, .secs = now() - t0, .errors = atomic_load(&cr.errors)};
    pthread_barrier_destroy(&cr.start);
    for (long i = 0; i < cfg.ops; i++)
        if (cr.lat[i] >= 0) cr.lat[s.ok++] = cr.lat[i];
    qsort(cr.lat, (size_t)s.ok, sizeof *cr.lat, cmp_double);
    FILE *lf = cfg.lat_file ? fopen(cfg.lat_file, "a") : NULL;
    for (long i = 0; lf && i < s.ok; i++) fprintf(lf, "%.4f\n", cr.lat[i] * 1e3);
    if (lf) fclose(lf);
    s.p50 = pct(cr.lat, s.ok, 0.50);
    s.p99 = pct(cr.lat, s.ok, 0.99);
    s.p999 = pct(cr.lat, s.ok, 0.999);
    s.max = pct(cr.lat, s.ok, 1.0);
    free(cr.lat);
    free(t);
    return s;
}

static int mode_create(void)
{
    init_pad();
    create_stats s = run_creates();
    printf("RESULT mode=create target=%s clients=%d ops=%ld ok=%ld errors=%ld secs=%.3f rate=%.0f "
           "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f body_bytes=%d\n",
           cfg.etcd ? "etcd" : "kubec", cfg.clients, s.ops, s.ok, s.errors, s.secs, (double)s.ok / s.secs,
           s.p50 * 1e3, s.p99 * 1e3, s.p999 * 1e3, s.max * 1e3, cfg.size);
    return s.errors ? 1 : 0;
}

/* ---------- list ---------- */

static const char rv_marker[] = "\"resourceVersion\":\"";
#define RVM (sizeof rv_marker - 1)

typedef struct {
    head_buf hb;
    size_t bytes, tl;
    long marks;
    char tail[RVM];
} list_ctx;

/* Counts resourceVersion keys (one per item plus one per list) across buffer boundaries. */
static void list_body(void *ctx, const char *p, size_t n)
{
    list_ctx *x = ctx;
    keep_head(&x->hb, p, n);
    x->bytes += n;
    char tmp[2 * RVM];
    size_t add = n < RVM - 1 ? n : RVM - 1;
    memcpy(tmp, x->tail, x->tl);
    memcpy(tmp + x->tl, p, add);
    for (size_t s = 0; s < x->tl; s++)
        if (s + RVM <= x->tl + add && !memcmp(tmp + s, rv_marker, RVM)) x->marks++;
    for (const char *q = p; (q = memmem(q, (size_t)(p + n - q), rv_marker, RVM)); q += RVM) x->marks++;
    size_t keep = x->tl + n < RVM - 1 ? x->tl + n : RVM - 1; /* last bytes of tail + p */
    char all[2 * RVM];
    size_t from_p = n < keep ? n : keep, from_t = keep - from_p;
    memcpy(all, x->tail + x->tl - from_t, from_t);
    memcpy(all + from_t, p + n - from_p, from_p);
    memcpy(x->tail, all, keep);
    x->tl = keep;
}

static void url_escape(char *out, size_t cap, const char *in)
{
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        if (isalnum(ch) || strchr("-_.~", ch)) out[o++] = (char)ch;
        else o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = 0;
}

/* Copies the string value after "key":" in s into out; false when absent. */
static bool json_str_after(const char *s, const char *key, char *out, size_t cap)
{
    const char *p = strstr(s, key);
    if (!p) return false;
    p += strlen(key);
    size_t k = 0;
    while (*p && *p != '"' && k + 1 < cap) out[k++] = *p++;
    out[k] = 0;
    return *p == '"';
}

static int mode_list(void)
{
    conn c = {.fd = -1};
    if (conn_open(&c) < 0) die("cannot connect");
    char *req = xmalloc(16384), cont[8192] = "", esc[12000];
    long items = 0, pages = 0;
    size_t bytes = 0;
    double t0 = now(), first_page = 0;
    do {
        url_escape(esc, sizeof esc, cont);
        char q[12100] = "";
        if (cfg.limit > 0) snprintf(q, sizeof q, "?limit=%d%s%s", cfg.limit, *cont ? "&continue=" : "", esc);
        int n = snprintf(req, 16384, "GET %s%s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n", cfg.path, q,
                         cfg.host);
        list_ctx *x = calloc(1, sizeof *x);
        resp_hdr h;
        if (send_all(c.fd, req, (size_t)n) < 0 || read_response(&c, &h, list_body, x) < 0) die("list: connection failed");
        if (h.status != 200) {
            fprintf(stderr, "loadgen: list: status %d: %.300s\n", h.status, x->hb.head);
            return 1;
        }
        if (!pages) first_page = now() - t0;
        pages++;
        items += x->marks - 1;
        bytes += x->bytes;
        if (!json_str_after(x->hb.head, "\"continue\":\"", cont, sizeof cont)) cont[0] = 0;
        free(x);
        if (h.close) {
            conn_close(&c);
            if (*cont && conn_open(&c) < 0) die("cannot reconnect");
        }
    } while (cfg.limit > 0 && *cont);
    double secs = now() - t0;
    printf("RESULT mode=list path=%s limit=%d items=%ld pages=%ld bytes=%zu secs=%.3f first_page_ms=%.1f MBps=%.0f\n",
           cfg.path, cfg.limit, items, pages, bytes, secs, first_page * 1e3, (double)bytes / secs / 1e6);
    conn_close(&c);
    return 0;
}

/* ---------- watch ---------- */

typedef struct {
    int fd, hl;
    bool body, warm, done, dead;
    long events;
    dechunk dc;
    char hdr[4096];
    char pre[1025]; /* first bytes of the current event line */
    size_t pl;
} watcher;

typedef struct {
    int ep, n, finished;
    watcher **w;
    float *lat;
    long nlat, cap;
    double last_done, t_recv;
    pthread_t th;
} wthread;

static struct {
    atomic_int headers, warm, dead, errors;
    char warm_name[160];
    _Atomic double deadline;
} ws;

static void watcher_finish(wthread *t, watcher *w, bool dead)
{
    if (w->done || w->dead) return;
    if (dead) {
        w->dead = true;
        atomic_fetch_add(&ws.dead, 1);
    } else {
        w->done = true;
        t->last_done = t->t_recv;
    }
    t->finished++;
    epoll_ctl(t->ep, EPOLL_CTL_DEL, w->fd, NULL);
}

static void event_line(wthread *t, watcher *w)
{
    w->pre[w->pl] = 0;
    if (strstr(w->pre, "\"type\":\"ERROR\"")) {
        if (atomic_fetch_add(&ws.errors, 1) < 3) fprintf(stderr, "loadgen: watch error event: %.300s\n", w->pre);
        watcher_finish(t, w, true);
        return;
    }
    if (strstr(w->pre, ws.warm_name)) {
        if (!w->warm) atomic_fetch_add(&ws.warm, 1);
        w->warm = true;
        return;
    }
    const char *m = strstr(w->pre, "\"bench-t\":\"");
    if (!m) return; /* not one of ours (e.g. a bookmark) */
    double sent = (double)strtoll(m + 11, NULL, 10) / 1e9;
    if (t->nlat < t->cap) t->lat[t->nlat++] = (float)(t->t_recv - sent);
    if (++w->events >= cfg.events) watcher_finish(t, w, false);
}

typedef struct {
    wthread *t;
    watcher *w;
} wctx;

static void watch_data(void *ctx, const char *p, size_t n)
{
    wctx *x = ctx;
    watcher *w = x->w;
    while (n && !w->done && !w->dead) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        size_t room = sizeof w->pre - 1 - w->pl, c = k < room ? k : room;
        memcpy(w->pre + w->pl, p, c);
        w->pl += c;
        if (!nl) return;
        event_line(x->t, w);
        w->pl = 0;
        p = nl + 1;
        n -= k + 1;
    }
}

static void watch_headers(wthread *t, watcher *w, const char **p, size_t *n)
{
    size_t k = sizeof w->hdr - 1 - (size_t)w->hl < *n ? sizeof w->hdr - 1 - (size_t)w->hl : *n;
    memcpy(w->hdr + w->hl, *p, k);
    w->hdr[w->hl + (int)k] = 0;
    char *e = strstr(w->hdr, "\r\n\r\n");
    if (!e) {
        w->hl += (int)k;
        *n = 0;
        if (w->hl >= (int)sizeof w->hdr - 1) watcher_finish(t, w, true);
        return;
    }
    size_t used = (size_t)(e + 4 - w->hdr) - (size_t)w->hl;
    resp_hdr h;
    if (parse_headers(w->hdr, (size_t)(e + 4 - w->hdr), &h) < 0 || h.status != 200 || !h.chunked) {
        if (atomic_fetch_add(&ws.errors, 1) < 3) fprintf(stderr, "loadgen: watch: bad response: %.200s\n", w->hdr);
        watcher_finish(t, w, true);
        return;
    }
    w->body = true;
    atomic_fetch_add(&ws.headers, 1);
    *p += used;
    *n -= used;
}

static void watch_readable(wthread *t, watcher *w, char *buf, size_t cap)
{
    ssize_t r = recv(w->fd, buf, cap, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) {
        watcher_finish(t, w, true);
        return;
    }
    t->t_recv = now();
    const char *p = buf;
    size_t n = (size_t)r;
    if (!w->body) watch_headers(t, w, &p, &n);
    wctx x = {t, w};
    while (n && !w->done && !w->dead) {
        size_t used;
        if (dechunk_feed(&w->dc, p, n, &used, watch_data, &x)) watcher_finish(t, w, true);
        p += used;
        n -= used;
    }
}

static void *watch_thread(void *arg)
{
    wthread *t = arg;
    size_t cap = 256 * 1024;
    char *buf = xmalloc(cap);
    struct epoll_event ev[256];
    while (t->finished < t->n && now() < atomic_load(&ws.deadline)) {
        int k = epoll_wait(t->ep, ev, 256, 50);
        for (int i = 0; i < k; i++) watch_readable(t, ev[i].data.ptr, buf, cap);
    }
    free(buf);
    return NULL;
}

static long current_rv(void)
{
    conn c = {.fd = -1};
    if (conn_open(&c) < 0) die("cannot connect");
    char req[512];
    int n = snprintf(req, sizeof req, "GET /api/v1/namespaces/%s/pods?limit=1 HTTP/1.1\r\nHost: %s\r\n\r\n", cfg.ns,
                     cfg.host);
    head_buf hb = {.len = 0};
    resp_hdr h;
    if (send_all(c.fd, req, (size_t)n) < 0 || read_response(&c, &h, keep_head, &hb) < 0 || h.status != 200)
        die("watch: cannot read the namespace's resourceVersion");
    char rv[64];
    if (!json_str_after(hb.head, rv_marker, rv, sizeof rv)) die("watch: no resourceVersion in list");
    conn_close(&c);
    free(c.buf);
    return atol(rv);
}

/* Creates the warm-up pod: once every watcher has seen it, every watch is registered. */
static void create_warmup(void)
{
    char name[128];
    snprintf(name, sizeof name, "%s-warmup", cfg.prefix);
    char *req = xmalloc(65536), *s1 = xmalloc(16384), *s2 = xmalloc(32768);
    size_t n = build_create(req, 65536, s1, s2, name);
    conn c = {.fd = -1};
    head_buf hb = {.len = 0};
    resp_hdr h;
    if (conn_open(&c) < 0 || send_all(c.fd, req, n) < 0 || read_response(&c, &h, keep_head, &hb) < 0 || h.status != 201) {
        fprintf(stderr, "loadgen: watch: warm-up create failed: %.300s\n", hb.head);
        exit(1);
    }
    conn_close(&c);
    free(c.buf);
    free(req);
    free(s1);
    free(s2);
}

static void open_watchers(wthread *th, int nt, long rv)
{
    for (int i = 0; i < cfg.watchers; i++) {
        watcher *w = calloc(1, sizeof *w);
        char req[512];
        int n = snprintf(req, sizeof req,
                         "GET /api/v1/namespaces/%s/pods?watch=true&resourceVersion=%ld HTTP/1.1\r\nHost: %s\r\n"
                         "Accept: application/json\r\n\r\n",
                         cfg.ns, rv, cfg.host);
        if ((w->fd = tcp_connect()) < 0 || send_all(w->fd, req, (size_t)n) < 0) die("watch: cannot connect a watcher");
        fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK);
        wthread *t = &th[i % nt];
        t->w[t->n++] = w;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = w};
        epoll_ctl(t->ep, EPOLL_CTL_ADD, w->fd, &e);
    }
}

static int mode_watch(void)
{
    init_pad();
    int nt = cfg.threads;
    wthread *th = calloc((size_t)nt, sizeof *th);
    long per = cfg.watchers / nt + 1;
    for (int i = 0; i < nt; i++) {
        th[i].ep = epoll_create1(EPOLL_CLOEXEC);
        th[i].w = xmalloc(sizeof *th[i].w * (size_t)per);
        th[i].cap = per * cfg.events;
        th[i].lat = xmalloc(sizeof *th[i].lat * (size_t)th[i].cap);
    }
    double t_setup = now();
    atomic_store(&ws.deadline, t_setup + 60);
    snprintf(ws.warm_name, sizeof ws.warm_name, "\"name\":\"%s-warmup\"", cfg.prefix);
    open_watchers(th, nt, current_rv());
    for (int i = 0; i < nt; i++) pthread_create(&th[i].th, NULL, watch_thread, &th[i]);
    create_warmup();
    while (atomic_load(&ws.warm) + atomic_load(&ws.dead) < cfg.watchers && now() < t_setup + 30) usleep(1000);
    double setup = now() - t_setup;
    int started = atomic_load(&ws.warm);
    cfg.ops = cfg.events;
    double t0 = now();
    create_stats cs = run_creates();
    atomic_store(&ws.deadline, now() + cfg.timeout);
    double last = 0;
    long nlat = 0;
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i].th, NULL);
        nlat += th[i].nlat;
        if (th[i].last_done > last) last = th[i].last_done;
    }
    int done = 0;
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < th[i].n; j++) done += th[i].w[j]->done;
    double *all = xmalloc(sizeof *all * (size_t)(nlat ? nlat : 1));
    long k = 0;
    for (int i = 0; i < nt; i++)
        for (long j = 0; j < th[i].nlat; j++) all[k++] = th[i].lat[j];
    qsort(all, (size_t)k, sizeof *all, cmp_double);
    printf("RESULT mode=watch watchers=%d started=%d complete=%d events=%ld delivered=%ld expected=%ld "
           "setup_secs=%.3f write_secs=%.3f write_errors=%ld all_secs=%.3f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f "
           "events_per_sec=%.0f\n",
           cfg.watchers, started, done, cfg.events, nlat, (long)cfg.watchers * cfg.events, setup, cs.secs, cs.errors,
           done == cfg.watchers ? last - t0 : NAN, pct(all, k, 0.5) * 1e3, pct(all, k, 0.99) * 1e3,
           pct(all, k, 1.0) * 1e3, done == cfg.watchers ? (double)nlat / (last - t0) : NAN);
    return done == cfg.watchers && !cs.errors ? 0 : 1;
}

/* ---------- ready, freeport ---------- */

static bool pid_alive(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static int mode_ready(void)
{
    double deadline = now() + cfg.timeout;
    char req[256];
    int n = snprintf(req, sizeof req, "GET /readyz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", cfg.host);
    while (now() < deadline) {
        if (cfg.pid && !pid_alive(cfg.pid)) {
            fprintf(stderr, "loadgen: ready: process %d exited\n", cfg.pid);
            return 1;
        }
        conn c = {.fd = -1};
        resp_hdr h = {0};
        if (conn_open(&c) == 0 && send_all(c.fd, req, (size_t)n) == 0 && read_response(&c, &h, NULL, NULL) == 0 &&
            h.status == 200) {
            double t = now_real();
            printf("RESULT mode=ready secs=%.3f\n", cfg.since > 0 ? t - cfg.since : 0);
            return 0;
        }
        conn_close(&c);
        free(c.buf);
        usleep(2000);
    }
    fprintf(stderr, "loadgen: ready: timed out\n");
    return 1;
}

static int mode_freeport(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        die("freeport failed");
    printf("%d\n", ntohs(a.sin_port));
    close(fd);
    return 0;
}

/* ---------- main ---------- */

static void usage(void)
{
    fprintf(stderr, "usage: loadgen create|list|watch|ready|freeport [options] (see the comment atop loadgen.c)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", 1, 0, 'u'},    {"target", 1, 0, 'T'}, {"clients", 1, 0, 'c'}, {"ops", 1, 0, 'n'},
        {"ns", 1, 0, 'N'},     {"prefix", 1, 0, 'p'}, {"size", 1, 0, 's'},    {"path", 1, 0, 'P'},
        {"limit", 1, 0, 'l'},  {"watchers", 1, 0, 'w'}, {"events", 1, 0, 'e'}, {"threads", 1, 0, 't'},
        {"since", 1, 0, 'S'},  {"pid", 1, 0, 'i'},    {"timeout", 1, 0, 'o'},
        {"lat-file", 1, 0, 'L'}, {0, 0, 0, 0}};
    if (argc < 2) usage();
    const char *mode = argv[1];
    optind = 2;
    int ch;
    signal(SIGPIPE, SIG_IGN);
    while ((ch = getopt_long(argc, argv, "u:c:n:w:e:t:", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': parse_url(optarg); break;
        case 'T': cfg.etcd = !strcmp(optarg, "etcd"); break;
        case 'c': cfg.clients = atoi(optarg); break;
        case 'n': cfg.ops = atol(optarg); break;
        case 'N': cfg.ns = optarg; break;
        case 'p': cfg.prefix = optarg; break;
        case 's': cfg.size = atoi(optarg); break;
        case 'P': cfg.path = optarg; break;
        case 'l': cfg.limit = atoi(optarg); break;
        case 'w': cfg.watchers = atoi(optarg); break;
        case 'e': cfg.events = atol(optarg); break;
        case 't': cfg.threads = atoi(optarg); break;
        case 'S': cfg.since = atof(optarg); break;
        case 'i': cfg.pid = atoi(optarg); break;
        case 'o': cfg.timeout = atof(optarg); break;
        case 'L': cfg.lat_file = optarg; break;
        default: usage();
        }
    }
    if (cfg.clients < 1 || cfg.threads < 1 || cfg.ops < 1 || cfg.events < 1 || cfg.watchers < 1) usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "freeport")) return mode_freeport();
    if (!cfg.addr.sin_port) die("--url is required");
    if (!strcmp(mode, "create")) return mode_create();
    if (!strcmp(mode, "list")) return mode_list();
    if (!strcmp(mode, "watch")) return mode_watch();
    if (!strcmp(mode, "ready")) return mode_ready();
    usage();
}
