/* Growable byte buffer (git's strbuf idea): KC_BUF_INIT, append, then take or release. */
#ifndef KC_LIB_BUF_H
#define KC_LIB_BUF_H
#include <stddef.h>
#include <stdarg.h>

typedef struct kc_buf {
    char *data;
    size_t len, cap;
} kc_buf;

#define KC_BUF_INIT {NULL, 0, 0}

void kc_buf_grow(kc_buf *b, size_t extra);
void kc_buf_add(kc_buf *b, const void *p, size_t n);
void kc_buf_adds(kc_buf *b, const char *s);
void kc_buf_addf(kc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void kc_buf_add_jstr(kc_buf *b, const char *s);
/* Returns the NUL-terminated data (owned by the caller) and empties the buffer. */
char *kc_buf_take(kc_buf *b);
void kc_buf_release(kc_buf *b);

#endif
