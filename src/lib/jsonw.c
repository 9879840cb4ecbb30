/* Compact JSON writer (see jsonw.h). Matches jansson's output: strings escape '"', '\\',
 * control characters (\b \f \n \r \t, others as \u00XX) and '/' is left alone; reals use
 * jansson's "%.17g" with a ".0" added when the result looks like an integer. */
#include "lib/jsonw.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <stdio.h>

static const char hex[] = "0123456789ABCDEF"; /* jansson writes \u001B */

/* Appends one byte; callers reserve room for their punctuation with kc_buf_grow. */
static inline void put(kc_buf *b, char c)
{
    b->data[b->len++] = c;
}

/* Bytes that need an escape: '"', '\\' and the control characters. */
static const unsigned char needs_escape[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

static void write_escaped(kc_buf *b, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        char *o = b->data + b->len;
        if (!needs_escape[c]) {
            *o = (char)c, b->len++;
            continue;
        }
        o[0] = '\\';
        switch (c) {
        case '"': o[1] = '"'; break;
        case '\\': o[1] = '\\'; break;
        case '\b': o[1] = 'b'; break;
        case '\f': o[1] = 'f'; break;
        case '\n': o[1] = 'n'; break;
        case '\r': o[1] = 'r'; break;
        case '\t': o[1] = 't'; break;
        default:
            o[1] = 'u', o[2] = '0', o[3] = '0', o[4] = hex[c >> 4], o[5] = hex[c & 15];
            b->len += 4;
        }
        b->len += 2;
    }
}

/* The common case (nothing to escape) is one scan and one copy; room for the worst case
 * (every byte as \u00XX) is reserved once. */
static void write_string(kc_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && !needs_escape[u[i]]) i++;
    kc_buf_grow(b, i + (n - i) * 6 + 2);
    char *o = b->data + b->len;
    o[0] = '"';
    memcpy(o + 1, s, i);
    b->len += i + 1;
    if (i < n) write_escaped(b, u + i, n - i);
    b->data[b->len++] = '"';
}

static void write_integer(kc_buf *b, json_int_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    kc_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void write_real(kc_buf *b, double d)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.17g", d);
    if (n < 0) n = 0;
    char *e = strchr(tmp, 'e');
    if (e) { /* as jansson: no '+' and no leading zeros in the exponent */
        char *src = e + 1, *dst = e + 1;
        if (*src == '+') src++;
        else if (*src == '-') *dst++ = *src++;
        while (*src == '0' && src[1]) src++;
        memmove(dst, src, strlen(src) + 1);
        n = (int)strlen(tmp);
    }
    kc_buf_add(b, tmp, (size_t)n);
    if (!strpbrk(tmp, ".eE")) kc_buf_add(b, ".0", 2);
}

static void write_value(kc_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        kc_buf_grow(b, 2);
        put(b, '{');
        const char *k;
        json_t *x;
        size_t i = 0;
        json_object_foreach((json_t *)v, k, x)
        {
            if (i++) put(b, ',');
            write_string(b, k, json_object_iter_key_len(json_object_key_to_iter(k)));
            kc_buf_grow(b, 2);
            put(b, ':');
            write_value(b, x);
            kc_buf_grow(b, 2);
        }
        kc_buf_grow(b, 1);
        put(b, '}');
        break;
    }
    case JSON_ARRAY: {
        kc_buf_grow(b, 2);
        put(b, '[');
        for (size_t i = 0, n = json_array_size(v); i < n; i++) {
            if (i) put(b, ',');
            write_value(b, json_array_get(v, i));
            kc_buf_grow(b, 2);
        }
        put(b, ']');
        break;
    }
    case JSON_STRING: write_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: write_integer(b, json_integer_value(v)); break;
    case JSON_REAL: write_real(b, json_real_value(v)); break;
    case JSON_TRUE: kc_buf_add(b, "true", 4); break;
    case JSON_FALSE: kc_buf_add(b, "false", 5); break;
    case JSON_NULL: kc_buf_add(b, "null", 4); break;
    }
}

void kc_json_write(kc_buf *b, const json_t *v)
{
    write_value(b, v);
    kc_buf_grow(b, 0);
    b->data[b->len] = 0;
}

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
    kc_buf_release(p);
    free(p);
}

static void scratch_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

/* This thread's scratch buffer, kept between calls and freed when the thread exits. */
static kc_buf *scratch_buf(void)
{
    pthread_once(&scratch_once, scratch_init);
    kc_buf *b = pthread_getspecific(scratch_key);
    if (!b) {
        b = xcalloc(1, sizeof *b);
        pthread_setspecific(scratch_key, b);
    }
    return b;
}

/* Serializes into the thread's scratch buffer, then copies out exactly len + 1 bytes: the
 * result often lives long (a stored object, the watch ring), and a fresh 8 KiB buffer per call
 * both pinned that much per 500-byte Lease and sent every call through malloc's slow
 * large-chunk path. */
char *kc_json_dump(const json_t *v, size_t *len)
{
    kc_buf *b = scratch_buf();
    b->len = 0;
    kc_buf_grow(b, 4096);
    kc_json_write(b, v);
    if (len) *len = b->len;
    char *out = xmalloc(b->len + 1);
    memcpy(out, b->data, b->len + 1);
    if (b->cap > (1U << 20)) kc_buf_release(b); /* a huge object: do not keep it */
    return out;
}
