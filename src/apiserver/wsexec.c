/* exec and attach over WebSocket (v5.channel.k8s.io for kubectl, v4.channel.k8s.io for the
 * python client): the upgrade handshake, then channel frames. Nodes that cannot run commands
 * (simulated nodes) answer on the error channel (3) with a Failure Status, as a kubelet does
 * when a command cannot start, so the client prints the reason and exits non-zero.
 *
 *   GET .../exec (Upgrade: websocket) --101--> [0x03 Status] [close 1000] --> socket closed */
#include "apiserver/apiserver.h"
#include "lib/xalloc.h"
#include <h2o/http1.h>
#include <openssl/sha.h>
#include <stdio.h>

typedef struct ws_reply {
    char *status; /* the Status JSON for channel 3 */
    kc_buf frames;
} ws_reply;

static char *header_value(h2o_req_t *h, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&h->headers, name, strlen(name), -1);
    return i < 0 ? NULL : xstrndup(h->headers.entries[i].value.base, h->headers.entries[i].value.len);
}

static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
}

/* One unmasked server frame (FIN set). */
static void frame(kc_buf *b, unsigned char opcode, const void *payload, size_t n)
{
    unsigned char h[10] = {(unsigned char)(0x80 | opcode)};
    size_t hl = 2;
    if (n < 126) {
        h[1] = (unsigned char)n;
    } else {
        h[1] = 126;
        h[2] = (unsigned char)(n >> 8);
        h[3] = (unsigned char)n;
        hl = 4;
    }
    kc_buf_add(b, h, hl);
    kc_buf_add(b, payload, n);
}

static void on_written(h2o_socket_t *sock, const char *err)
{
    (void)err;
    ws_reply *w = sock->data;
    kc_buf_release(&w->frames);
    free(w->status);
    free(w);
    h2o_socket_close(sock);
}

static void on_upgraded(void *ud, h2o_socket_t *sock, size_t reqsize)
{
    ws_reply *w = ud;
    (void)reqsize;
    if (!sock) {
        free(w->status);
        free(w);
        return;
    }
    kc_buf chan = KC_BUF_INIT;
    kc_buf_add(&chan, "\x03", 1);
    kc_buf_adds(&chan, w->status);
    frame(&w->frames, 0x2, chan.data, chan.len);
    kc_buf_release(&chan);
    frame(&w->frames, 0x8, "\x03\xe8", 2); /* close, 1000 normal */
    sock->data = w;
    h2o_iovec_t iov = h2o_iovec_init(w->frames.data, w->frames.len);
    h2o_socket_write(sock, &iov, 1, on_written);
}

/* Answers an exec/attach request that cannot run with `message` on the error channel, when the
 * client asked for a WebSocket upgrade; returns false (nothing sent) otherwise. */
bool kc_ws_exec_fail(kc_req *r, const char *message)
{
    h2o_req_t *h = r->h2o;
    if (!h) return false;
    char *key = header_value(h, "sec-websocket-key"), *protos = header_value(h, "sec-websocket-protocol");
    if (!key) {
        free(protos);
        return false;
    }
    const char *proto = protos && strstr(protos, "v5.channel.k8s.io")   ? "v5.channel.k8s.io"
                        : protos && strstr(protos, "v4.channel.k8s.io") ? "v4.channel.k8s.io"
                                                                        : "channel.k8s.io";
    char cat[128], accept[64];
    unsigned char sha[SHA_DIGEST_LENGTH];
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    SHA1((const unsigned char *)cat, strlen(cat), sha);
    base64(sha, sizeof sha, accept);
    json_t *st = json_pack("{s:{},s:s,s:s,s:s,s:i}", "metadata", "status", "Failure", "message", message, "reason",
                           "InternalError", "code", 500);
    ws_reply *w = xcalloc(1, sizeof *w);
    w->status = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    h->res.status = 101;
    h->res.reason = "Switching Protocols";
    h2o_add_header(&h->pool, &h->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
    char *acc = h2o_mem_alloc_pool(&h->pool, strlen(accept));
    memcpy(acc, accept, strlen(accept));
    h2o_add_header_by_str(&h->pool, &h->res.headers, H2O_STRLIT("sec-websocket-accept"), 0, NULL, acc, strlen(accept));
    h2o_add_header_by_str(&h->pool, &h->res.headers, H2O_STRLIT("sec-websocket-protocol"), 0, NULL, proto,
                          strlen(proto));
    r->replied = true;
    h2o_http1_upgrade(h, NULL, 0, on_upgraded, w);
    free(key);
    free(protos);
    return true;
}
