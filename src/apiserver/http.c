/* HTTP glue: turns an h2o request into a kc_req (path segments, decoded query, headers, body),
 * routes it, and sends replies. The only file of the apiserver (with watch.c's streaming and
 * server.c's loop) that speaks h2o. kc_req lifetime: see apiserver.h. */
#include "apiserver/apiserver.h"
#include "lib/clock.h"
#include "lib/xalloc.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

typedef struct hook {
    kc_req *r;
} hook;

struct kc_handler {
    h2o_handler_t super;
    kc_apiserver *srv;
};

void kc_req_ref(kc_req *r)
{
    r->refs++;
}

void kc_req_unref(kc_req *r)
{
    if (--r->refs > 0) return;
    if (r->ctx_free) r->ctx_free(r->ctx);
    for (int i = 0; i < r->nq; i++) {
        free(r->q[i].k);
        free(r->q[i].v);
    }
    for (int i = 0; i < r->nseg; i++) free(r->seg[i]);
    free(r->seg);
    free(r->q);
    free(r->path);
    free(r->ctype);
    free(r->accept);
    free(r->agent);
    json_decref(r->warnings);
    kc_selection_free(r->sel);
    free(r);
}

/* A request's metrics, from on_req (h2o has just parsed the head, and read the body) to the
 * moment the response is on the socket. Not h2o's request_begin_at: that is the loop's cached
 * clock, up to a millisecond older than the bytes (it counted the client's think time between
 * keep-alive requests). h2o writes a reply at once (kc_reply) and disposes of the request later
 * in that loop turn, after other callbacks (watch fan-out...) the client does not wait for: so a
 * reply whose dispose comes in the same turn ends when it was written; one the socket could not
 * take at once ends at its dispose, in a later turn, once the last byte went out. */
static kc_metrics_obs obs_of(const kc_req *r)
{
    return (kc_metrics_obs){
        .method = r->method,
        .watch = kc_req_query_bool(r, "watch"),
        .apply = r->ctype && !strncmp(r->ctype, "application/apply-patch+yaml", 28),
        .dry_run = kc_req_query(r, "dryRun"),
    };
}

static void observe(kc_req *r, const h2o_req_t *h)
{
    uint64_t end = r->t1_ns && r->reply_turn == r->srv->turn ? r->t1_ns : kc_mono_ns();
    kc_metrics_obs o = obs_of(r);
    o.code = h->res.status;
    o.seconds = (double)(end - r->t0_ns) / 1e9;
    kc_metrics_observe(r->srv->metrics, &r->mq, &o);
}

static void on_dispose(void *p)
{
    hook *h = p;
    observe(h->r, h->r->h2o);
    h->r->h2o = NULL;
    kc_req_unref(h->r);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX, and '+' as a space in query strings (as Go's url.ParseQuery does). */
static char *decode(const char *s, size_t n, bool plus)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (plus && s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return out;
}

static char *url_decode(const char *s, size_t n)
{
    return decode(s, n, true);
}

static char *path_decode(const char *s, size_t n)
{
    return decode(s, n, false);
}

static void parse_query(kc_req *r, const char *q, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && q[end] != '&') end++;
        size_t eq = i;
        while (eq < end && q[eq] != '=') eq++;
        if (end > i) {
            r->q = xrealloc(r->q, (size_t)(r->nq + 1) * sizeof *r->q);
            r->q[r->nq].k = url_decode(q + i, eq - i);
            r->q[r->nq].v = eq < end ? url_decode(q + eq + 1, end - eq - 1) : xstrdup("");
            r->nq++;
        }
        i = end + 1;
    }
}

static int count_escapes(const char *s, size_t n)
{
    int k = 0;
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] == '%' && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) k++, i += 2;
    return k;
}

static void parse_path(kc_req *r, const char *p, size_t n)
{
    r->path = xstrndup(p, n);
    for (size_t i = 0; i < n;) {
        while (i < n && p[i] == '/') i++;
        size_t j = i;
        while (j < n && p[j] != '/') j++;
        if (j > i) {
            r->seg = xrealloc(r->seg, (size_t)(r->nseg + 1) * sizeof *r->seg);
            char *seg = path_decode(p + i, j - i);
            size_t raw_len = j - i, dec_len = strlen(seg);
            /* a decoded segment may not hide a NUL or a slash, nor be a dot segment */
            if (!strcmp(seg, ".") || !strcmp(seg, "..") || strchr(seg, '/') ||
                dec_len + 2 * (size_t)count_escapes(p + i, raw_len) != raw_len)
                r->bad_path = true;
            r->seg[r->nseg++] = seg;
        }
        i = j;
    }
}

void kc_req_parse(kc_req *r, const char *method, const char *path, size_t plen, const char *query, size_t qlen)
{
    snprintf(r->method, sizeof r->method, "%s", method);
    parse_path(r, path, plen);
    if (query) parse_query(r, query, qlen);
}

static char *header(h2o_req_t *h, const h2o_token_t *tok)
{
    ssize_t i = h2o_find_header(&h->headers, tok, -1);
    if (i < 0) return NULL;
    return xstrndup(h->headers.entries[i].value.base, h->headers.entries[i].value.len);
}

const char *kc_req_query(const kc_req *r, const char *key)
{
    for (int i = r->nq - 1; i >= 0; i--)
        if (!strcmp(r->q[i].k, key)) return r->q[i].v;
    return NULL;
}

static int parse_bool(const char *v)
{
    static const char *yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, yes[i])) return 1;
        if (!strcmp(v, no[i])) return 0;
    }
    return -1;
}

/* Parameters with a syntax are checked up front, as the real server's decoder does. */
int kc_check_query(const kc_req *r, kc_err *err)
{
    static const char *bools[] = {"watch", "allowWatchBookmarks", "orphanDependents", "sendInitialEvents", "force"};
    static const char *ints[] = {"limit", "timeoutSeconds", "gracePeriodSeconds"};
    for (int i = 0; i < r->nq; i++) {
        for (size_t k = 0; k < sizeof bools / sizeof *bools; k++)
            if (!strcmp(r->q[i].k, bools[k]) && parse_bool(r->q[i].v) < 0)
                return kc_errf(err, KC_EBADREQUEST, "%s: strconv.ParseBool: parsing \"%s\": invalid syntax",
                               r->q[i].k, r->q[i].v);
        for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
            char *end;
            if (strcmp(r->q[i].k, ints[k])) continue;
            errno = 0;
            strtoll(r->q[i].v, &end, 10);
            if (!r->q[i].v[0] || *end || errno)
                return kc_errf(err, KC_EBADREQUEST, "%s: strconv.ParseInt: parsing \"%s\": invalid syntax",
                               r->q[i].k, r->q[i].v);
        }
    }
    return 0;
}

bool kc_req_query_bool(const kc_req *r, const char *key)
{
    const char *v = kc_req_query(r, key);
    if (!v) return false;
    static const char *yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!strcmp(v, yes[i])) return true;
    return false;
}

bool kc_req_accepts(const kc_req *r, const char *needle)
{
    return r->accept && strstr(r->accept, needle);
}

static void free_holder(void *p)
{
    free(*(char **)p);
}

static void add_warnings(kc_req *r)
{
    size_t i;
    json_t *w;
    json_array_foreach(r->warnings, i, w)
    {
        kc_buf b = KC_BUF_INIT;
        kc_buf_adds(&b, "299 - ");
        kc_buf_add_jstr(&b, json_string_value(w));
        char *v = h2o_mem_alloc_pool(&r->h2o->pool, b.len);
        memcpy(v, b.data, b.len);
        h2o_add_header_by_str(&r->h2o->pool, &r->h2o->res.headers, H2O_STRLIT("warning"), 0, NULL, v, b.len);
        kc_buf_release(&b);
    }
}

static const char *reason_phrase(int code)
{
    switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    default: return code < 400 ? "OK" : "Error";
    }
}

/* Sends body, which the caller keeps alive until h2o disposes the request (a holder in its pool). */
static void send_reply(kc_req *r, int code, const char *ctype, const char *body, size_t len)
{
    static h2o_generator_t gen = {NULL, NULL};
    h2o_req_t *h = r->h2o;
    h->res.status = code;
    h->res.reason = reason_phrase(code);
    h->res.content_length = len;
    h2o_add_header(&h->pool, &h->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    add_warnings(r);
    h2o_start_response(h, &gen);
    h2o_iovec_t iov = h2o_iovec_init(body, len);
    kc_req_ref(r); /* the stamps below, even if h2o let go of the request inside h2o_send */
    h2o_send(h, &iov, 1, H2O_SEND_STATE_FINAL);
    r->t1_ns = kc_mono_ns(), r->reply_turn = r->srv->turn;
    kc_req_unref(r);
}

void kc_reply(kc_req *r, int code, const char *ctype, char *body, size_t len)
{
    if (r->inproc && !r->replied) {
        r->replied = true;
        kc_inproc_complete(r->inproc, code, body, len, NULL);
        return;
    }
    if (!r->h2o || r->replied) {
        free(body);
        return;
    }
    r->replied = true;
    char **holder = h2o_mem_alloc_shared(&r->h2o->pool, sizeof *holder, free_holder);
    *holder = body;
    send_reply(r, code, ctype, body, len);
}

static void unref_holder(void *p)
{
    kc_obj_unref(*(const kc_obj **)p);
}

void kc_reply_json(kc_req *r, int code, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    kc_reply(r, code, "application/json", s, strlen(s));
}

void kc_reply_obj(kc_req *r, int code, const kc_obj *o)
{
    if (r->inproc && !r->replied) { /* shared, not re-encoded */
        r->replied = true;
        kc_inproc_complete(r->inproc, code, NULL, 0, o);
        return;
    }
    if (!r->h2o || r->replied) return;
    r->replied = true;
    /* the stored bytes themselves, kept by a reference: a copy per answer (3 KB for a pod) cost
     * the loop a malloc, a memcpy and fresh pages */
    const kc_obj **holder = h2o_mem_alloc_shared(&r->h2o->pool, sizeof *holder, unref_holder);
    kc_obj_ref(o);
    *holder = o;
    send_reply(r, code, "application/json", o->json, o->len);
}

/* /api/v1/... and /apis/G/V/... -> resource, namespace, name, subresource. */
static void route_resource(kc_req *r, const char *group, const char *version, char **s, int n)
{
    kc_err err = KC_ERR_INIT;
    const char *ns = NULL, *res = NULL, *name = NULL, *sub = NULL;
    bool ns_sub = n >= 3 && !group[0] && !strcmp(s[0], "namespaces") &&
                  (!strcmp(s[2], "status") || !strcmp(s[2], "finalize"));
    if (n >= 3 && !strcmp(s[0], "namespaces") && !ns_sub) {
        ns = s[1], res = s[2], name = n > 3 ? s[3] : NULL, sub = n > 4 ? s[4] : NULL;
        if (n > 5) goto notfound;
    } else if (n >= 1 && n <= 3) {
        res = s[0], name = n > 1 ? s[1] : NULL, sub = n > 2 ? s[2] : NULL;
    } else {
        goto notfound;
    }
    int ri = kc_resource_find(group, version, res);
    if (ri < 0) goto notfound;
    const kc_resource *rd = &kc_resources[ri];
    if (ns && !rd->namespaced) goto notfound;
    if (!ns && rd->namespaced && name) goto notfound;
    kc_metrics_route(&r->mq, ri, ns != NULL, name != NULL, sub);
    if (r->h2o) { /* in-process calls are not observed */
        kc_metrics_obs o = obs_of(r);
        kc_metrics_start(r->srv->metrics, &r->mq, &o);
    }
    kc_handle_resource(r, ri, ns, name, sub);
    return;
notfound:
    kc_errf(&err, KC_ENOTFOUND, "the server could not find the requested resource");
    kc_reply_err(r, &err, NULL, NULL);
}

static void serve_metrics(kc_req *r)
{
    kc_buf b = KC_BUF_INIT;
    r->mq.skip = true; /* a scrape does not perturb what it reads */
    kc_metrics_render(r->srv->metrics, &b);
    size_t n = b.len;
    kc_reply(r, 200, KC_METRICS_CTYPE, kc_buf_take(&b), n);
}

void kc_route(kc_req *r)
{
    kc_err err = KC_ERR_INIT;
    if (r->bad_path) {
        kc_errf(&err, KC_EBADREQUEST, "invalid request path: a path segment may not be \".\", \"..\", nor contain "
                "\"/\" or NUL");
        kc_reply_err(r, &err, NULL, NULL);
        return;
    }
    if (kc_check_query(r, &err) < 0) {
        kc_reply_err(r, &err, NULL, NULL);
        return;
    }
    if (r->nseg == 1 && !strcmp(r->seg[0], "metrics") && !strcmp(r->method, "GET")) {
        serve_metrics(r);
        return;
    }
    if (kc_discovery_route(r)) return;
    if (r->nseg >= 2 && !strcmp(r->seg[0], "api") && !strcmp(r->seg[1], "v1")) {
        route_resource(r, "", "v1", r->seg + 2, r->nseg - 2);
    } else if (r->nseg >= 3 && !strcmp(r->seg[0], "apis")) {
        route_resource(r, r->seg[1], r->seg[2], r->seg + 3, r->nseg - 3);
    } else {
        kc_err err = KC_ERR_INIT;
        kc_errf(&err, KC_ENOTFOUND, "the server could not find the requested resource");
        kc_reply_err(r, &err, NULL, NULL);
    }
}

static int on_req(h2o_handler_t *self, h2o_req_t *h)
{
    kc_req *r = xcalloc(1, sizeof *r);
    r->t0_ns = kc_mono_ns();
    r->refs = 1;
    r->h2o = h;
    r->srv = ((struct kc_handler *)self)->srv;
    hook *hk = h2o_mem_alloc_shared(&h->pool, sizeof *hk, on_dispose);
    hk->r = r;
    char method[8];
    snprintf(method, sizeof method, "%.*s", (int)h->method.len, h->method.base);
    /* the raw path, not h2o's normalized one: "%2e%2e" must stay a (bad) name, not climb up */
    bool q = h->query_at != SIZE_MAX;
    kc_req_parse(r, method, h->path.base, q ? h->query_at : h->path.len, q ? h->path.base + h->query_at + 1 : NULL,
                 q ? h->path.len - h->query_at - 1 : 0);
    r->ctype = header(h, H2O_TOKEN_CONTENT_TYPE);
    r->accept = header(h, H2O_TOKEN_ACCEPT);
    r->agent = header(h, H2O_TOKEN_USER_AGENT);
    if (r->agent) r->agent[strcspn(r->agent, "/ ")] = 0; /* upstream's prefixFromUserAgent */
    r->body = h->entity.base ? h->entity.base : "";
    r->body_len = h->entity.base ? h->entity.len : 0;
    r->warnings = json_array();
    kc_route(r);
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    kc_apiserver *s = listener->data;
    h2o_socket_t *sock;
    if (err) return;
    while ((sock = h2o_evloop_socket_accept(listener)) != NULL) h2o_accept(&s->accept_ctx, sock);
}

void kc_http_init(kc_apiserver *s)
{
    h2o_config_init(&s->config);
    s->config.max_request_entity_size = 8 * 1024 * 1024;
    s->config.http1.req_timeout = 60 * 1000;
    s->config.http2.idle_timeout = 3600 * 1000;
    h2o_hostconf_t *host = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    struct kc_handler *hd = (struct kc_handler *)h2o_create_handler(pc, sizeof *hd);
    hd->super.on_req = on_req;
    hd->srv = s;
    h2o_context_init(&s->ctx, h2o_evloop_create(), &s->config);
    s->accept_ctx.ctx = &s->ctx;
    s->accept_ctx.hosts = s->config.hosts;
    h2o_linklist_init_anchor(&s->watchers);
}

int kc_http_listen(kc_apiserver *s, kc_err *err)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->listen_port)};
    if (inet_pton(AF_INET, s->listen_host, &a.sin_addr) != 1)
        return kc_errf(err, KC_EBADREQUEST, "--listen: bad address %s", s->listen_host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4096) < 0) {
        close(fd);
        return kc_errf(err, KC_EINTERNAL, "listen on %s:%d: %s", s->listen_host, s->listen_port, strerror(errno));
    }
    if (s->listen_port == 0) {
        socklen_t l = sizeof a;
        getsockname(fd, (struct sockaddr *)&a, &l);
        s->listen_port = ntohs(a.sin_port);
    }
    h2o_socket_t *ls = h2o_evloop_socket_create(s->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    ls->data = s;
    h2o_socket_read_start(ls, on_accept);
    return 0;
}
