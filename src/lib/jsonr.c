/* Fast JSON reader (see jsonr.h). One pass over the buffer, building jansson values directly;
 * strings without escapes go to jansson straight from the input. It accepts a subset of what
 * jansson accepts and builds the same values from it:
 *
 *   - structure, whitespace (space, tab, CR, LF) and literals as RFC 8259; no trailing commas;
 *   - strings: UTF-8 checked as jansson checks it (no overlong forms, no surrogates, nothing
 *     above U+10FFFF), control characters rejected, escapes decoded (\uXXXX with surrogate
 *     pairs); \u0000 only with JSON_ALLOW_NUL and never in a key;
 *   - numbers: integers (no leading zeros) through strtoll, anything with '.', 'e' or 'E'
 *     through strtod, overflow rejected as jansson rejects it;
 *   - objects: later duplicate keys replace earlier ones in place, or are rejected with
 *     JSON_REJECT_DUPLICATES; nesting up to jansson's limit.
 *
 * Anything else (every error included) makes the fast path give up and the whole buffer goes
 * to json_loadb, so jansson stays the judge of bad input and the author of its messages. */
#include "lib/jsonr.h"
#include "lib/xalloc.h"
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAST_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL)
#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

typedef struct reader {
    const unsigned char *p, *end;
    size_t flags;
    int depth;
    char *tmp; /* scratch for strings with escapes */
    size_t tmpcap;
} reader;

static json_t *read_value(reader *r);

static void skip_ws(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}

/* Length of the valid UTF-8 sequence at p (2-4 bytes), or 0 (jansson's utf8_check_full). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = *p;
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!n || (size_t)(end - p) < n) return 0;
    uint32_t v = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000)) return 0;
    return n;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | d;
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t v)
{
    if (v < 0x80) return o[0] = (char)v, 1;
    if (v < 0x800) return o[0] = (char)(0xC0 | v >> 6), o[1] = (char)(0x80 | (v & 0x3F)), 2;
    if (v < 0x10000)
        return o[0] = (char)(0xE0 | v >> 12), o[1] = (char)(0x80 | (v >> 6 & 0x3F)), o[2] = (char)(0x80 | (v & 0x3F)), 3;
    o[0] = (char)(0xF0 | v >> 18), o[1] = (char)(0x80 | (v >> 12 & 0x3F));
    o[2] = (char)(0x80 | (v >> 6 & 0x3F)), o[3] = (char)(0x80 | (v & 0x3F));
    return 4;
}

/* One \uXXXX escape (with its low surrogate when it is a high one) at p (after the 'u'):
 * appends the code point to o, returns the bytes consumed or 0. */
static size_t unicode_escape(const unsigned char *p, const unsigned char *end, char *o, size_t *olen)
{
    if (end - p < 4) return 0;
    int v = hex4(p);
    if (v < 0 || (v >= 0xDC00 && v <= 0xDFFF)) return 0;
    if (v < 0xD800 || v > 0xDBFF) {
        *olen = put_utf8(o, (uint32_t)v);
        return 4;
    }
    if (end - p < 10 || p[4] != '\\' || p[5] != 'u') return 0;
    int lo = hex4(p + 6);
    if (lo < 0xDC00 || lo > 0xDFFF) return 0;
    *olen = put_utf8(o, (uint32_t)(((v - 0xD800) << 10) + (lo - 0xDC00) + 0x10000));
    return 10;
}

/* Decodes a string with escapes from p (after the opening quote) into r->tmp. */
static bool read_escaped(reader *r, const unsigned char *p, size_t *len)
{
    size_t need = (size_t)(r->end - p) + 1, o = 0;
    if (need > r->tmpcap) r->tmp = xrealloc(r->tmp, r->tmpcap = need);
    for (;;) {
        if (p >= r->end) return false;
        unsigned char c = *p;
        if (c == '"') break;
        if (c < 0x20) return false;
        if (c >= 0x80) {
            size_t n = utf8_len(p, r->end);
            if (!n) return false;
            memcpy(r->tmp + o, p, n), o += n, p += n;
            continue;
        }
        if (c != '\\') {
            r->tmp[o++] = (char)c, p++;
            continue;
        }
        if (++p >= r->end) return false;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = *p ? strchr(from, *p) : NULL;
        if (k) {
            r->tmp[o++] = to[k - from], p++;
        } else if (*p == 'u') {
            size_t n, olen;
            if (!(n = unicode_escape(p + 1, r->end, r->tmp + o, &olen))) return false;
            o += olen, p += 1 + n;
        } else {
            return false;
        }
    }
    r->p = p + 1;
    *len = o;
    return true;
}

/* A string at r->p (the opening quote): its bytes (in the input, or in r->tmp when it had
 * escapes) through *s and *len. */
static bool read_string(reader *r, const char **s, size_t *len)
{
    const unsigned char *start = ++r->p, *p = start;
    for (;;) {
        if (p >= r->end) return false;
        unsigned char c = *p;
        if (c == '"') break;
        if (c == '\\') {
            if (!read_escaped(r, start, len)) return false;
            *s = r->tmp;
            return true;
        }
        if (c < 0x20) return false;
        if (c < 0x80) {
            p++;
        } else {
            size_t n = utf8_len(p, r->end);
            if (!n) return false;
            p += n;
        }
    }
    *s = (const char *)start;
    *len = (size_t)(p - start);
    r->p = p + 1;
    return true;
}

static json_t *string_value(reader *r)
{
    const char *s;
    size_t len;
    if (!read_string(r, &s, &len)) return NULL;
    if (!(r->flags & JSON_ALLOW_NUL) && memchr(s, 0, len)) return NULL;
    return json_stringn_nocheck(s, len);
}

/* A number as jansson's lexer reads it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static json_t *number_value(reader *r)
{
    const unsigned char *p = r->p, *e = r->end;
    bool real = false;
    if (p < e && *p == '-') p++;
    if (p >= e || *p < '0' || *p > '9') return NULL;
    if (*p == '0') {
        if (++p < e && *p >= '0' && *p <= '9') return NULL;
    } else {
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && *p == '.') {
        real = true;
        if (++p >= e || *p < '0' || *p > '9') return NULL;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        real = true;
        if (++p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return NULL;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    char tok[64];
    size_t n = (size_t)(p - r->p);
    if (n >= sizeof tok) return NULL; /* long numbers: jansson decides */
    memcpy(tok, r->p, n);
    tok[n] = 0;
    r->p = p;
    errno = 0;
    if (!real) {
        long long v = strtoll(tok, NULL, 10);
        return errno == ERANGE ? NULL : json_integer(v);
    }
    double d = strtod(tok, NULL);
    if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE) return NULL;
    return json_real(d);
}

static json_t *literal(reader *r, const char *word, size_t n, json_t *v)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n)) return NULL;
    r->p += n;
    /* jansson reads the whole run of letters as one token: "truex" is not "true" */
    if (r->p < r->end && ((*r->p | 0x20) >= 'a' && (*r->p | 0x20) <= 'z')) return NULL;
    return v;
}

static json_t *read_object(reader *r)
{
    json_t *o = json_object();
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        const char *k;
        size_t klen;
        if (r->p >= r->end || *r->p != '"' || !read_string(r, &k, &klen) || memchr(k, 0, klen)) break;
        if ((r->flags & JSON_REJECT_DUPLICATES) && json_object_getn(o, k, klen)) break;
        char kbuf[64], *key = klen < sizeof kbuf ? kbuf : xmalloc(klen + 1);
        memcpy(key, k, klen), key[klen] = 0; /* k may live in r->tmp, which the value reuses */
        skip_ws(r);
        json_t *v = NULL;
        if (r->p < r->end && *r->p == ':') {
            r->p++;
            v = read_value(r);
        }
        if (v) json_object_setn_new_nocheck(o, key, klen, v);
        if (key != kbuf) free(key);
        if (!v) break;
        skip_ws(r);
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        if (r->p >= r->end || *r->p != ',') break;
        r->p++;
        skip_ws(r);
    }
    json_decref(o);
    return NULL;
}

static json_t *read_array(reader *r)
{
    json_t *a = json_array();
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = read_value(r);
        if (!v) break;
        json_array_append_new(a, v);
        skip_ws(r);
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        if (r->p >= r->end || *r->p != ',') break;
        r->p++;
    }
    json_decref(a);
    return NULL;
}

/* The value at r->p (leading whitespace allowed); NULL when the fast path gives up. */
static json_t *read_value(reader *r)
{
    skip_ws(r);
    if (r->p >= r->end || ++r->depth > MAX_DEPTH) return NULL;
    json_t *v;
    switch (*r->p) {
    case '{': v = read_object(r); break;
    case '[': v = read_array(r); break;
    case '"': v = string_value(r); break;
    case 't': v = literal(r, "true", 4, json_true()); break;
    case 'f': v = literal(r, "false", 5, json_false()); break;
    case 'n': v = literal(r, "null", 4, json_null()); break;
    default: v = *r->p == '-' || (*r->p >= '0' && *r->p <= '9') ? number_value(r) : NULL;
    }
    r->depth--;
    return v;
}

static json_t *fast_load(const char *buf, size_t len, size_t flags, size_t *used)
{
    reader r = {(const unsigned char *)buf, (const unsigned char *)buf + len, flags, 0, NULL, 0};
    skip_ws(&r);
    if (!(flags & JSON_DECODE_ANY) && (r.p >= r.end || (*r.p != '{' && *r.p != '['))) return NULL;
    json_t *v = read_value(&r);
    if (v && !(flags & JSON_DISABLE_EOF_CHECK)) {
        skip_ws(&r);
        if (r.p != r.end) {
            json_decref(v);
            v = NULL;
        }
    }
    free(r.tmp);
    *used = (size_t)(r.p - (const unsigned char *)buf);
    return v;
}

json_t *kc_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
    size_t used;
    json_t *v = buf && !(flags & ~(size_t)FAST_FLAGS) ? fast_load(buf, len, flags, &used) : NULL;
    if (!v) return json_loadb(buf, len, flags, err);
    if (err) {
        *err = (json_error_t){.line = -1, .column = -1, .position = (int)used};
        strcpy(err->source, "<buffer>");
    }
    return v;
}
