/* kc_buf: a growable, always NUL-terminated byte buffer. */
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <stdio.h>

void kc_buf_grow(kc_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap < b->len + extra + 1) ncap *= 2;
    b->data = xrealloc(b->data, ncap);
    b->cap = ncap;
}

void kc_buf_add(kc_buf *b, const void *p, size_t n)
{
    kc_buf_grow(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void kc_buf_adds(kc_buf *b, const char *s)
{
    kc_buf_add(b, s, strlen(s));
}

/* Formats into the spare capacity first; only output that does not fit is formatted twice. */
void kc_buf_addf(kc_buf *b, const char *fmt, ...)
{
    va_list ap;
    kc_buf_grow(b, 64);
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= b->cap - b->len) {
        kc_buf_grow(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void kc_buf_add_jstr(kc_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    kc_buf_grow(b, strlen(s) + 2);
    kc_buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            kc_buf_add(b, e, 2);
        } else if (*p < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            kc_buf_add(b, e, 6);
        } else {
            kc_buf_add(b, p, 1);
        }
    }
    kc_buf_add(b, "\"", 1);
}

char *kc_buf_take(kc_buf *b)
{
    char *d = b->data;
    if (!d) d = xstrdup("");
    *b = (kc_buf)KC_BUF_INIT;
    return d;
}

void kc_buf_release(kc_buf *b)
{
    free(b->data);
    *b = (kc_buf)KC_BUF_INIT;
}
