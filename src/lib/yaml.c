/* YAML request bodies -> jansson, as a Kubernetes API server reads Content-Type: application/yaml.
 *
 * Upstream runs sigs.k8s.io/yaml: go-yaml v2 builds a node tree from libyaml events, unmarshals it
 * into interface{} values (YAML 1.1 typing), keys are stringified and the result marshalled to JSON.
 * This file reproduces that pipeline in two passes:
 *   1. build:  libyaml events -> node tree in an arena; anchors resolved, nesting bounded; iterative.
 *   2. decode: node tree -> json_t; scalar resolution (go-yaml resolve.go), aliases and merge keys,
 *              key stringification (sigs.k8s.io/yaml), go-yaml v2's alias-ratio guard.
 * Errors follow upstream's precedence: syntax (pass 1) and decoding faults abort at once; duplicate
 * keys and JSON-conversion faults are remembered and reported after decoding, in that order.
 * It owns YAML syntax and typing only: what the object means (apiVersion, kind) is the caller's. */
#include "lib/yaml.h"
#include "lib/xalloc.h"
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#define PREFIX "error converting YAML to JSON: "
#define LONG_TAG "tag:yaml.org,2002:"
#define ARENA_CHUNK (64 * 1024)

/* ---- the node tree ---------------------------------------------------------------------------- */

enum { N_SCALAR, N_SEQ, N_MAP, N_ALIAS };

/* One YAML node; all nodes and their strings live in the builder's arena. */
typedef struct ynode {
    struct ynode *next; /* next sibling (mapping children alternate key, value) */
    struct ynode *kids; /* first child; for an alias, the anchored node */
    struct ynode *last; /* last child */
    const char *tag;    /* NULL when the node has none */
    const char *value;  /* scalar text, or the anchor name of an alias */
    size_t len;         /* length of value; number of children for containers */
    size_t line;        /* 0-based line of the node's start, as libyaml marks it */
    unsigned char kind; /* N_* */
    bool plain;         /* libyaml's plain_implicit: untagged plain scalar, typed from its text */
    bool busy;          /* alias currently being expanded (cycle check) */
} ynode;

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
} chunk;

typedef struct builder {
    yaml_parser_t parser;
    chunk *arena;
    json_t *anchors; /* name -> node address, as an integer */
    ynode **open;    /* containers not yet closed, outermost first */
    size_t nopen, capopen;
    ynode *root;
    bool done;
    kc_err *err;
} builder;

static void *arena_alloc(builder *b, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    chunk *c = b->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = xmalloc(sizeof *c + cap);
        *c = (chunk){.next = b->arena, .cap = cap};
        b->arena = c;
    }
    void *p = (char *)(c + 1) + c->used;
    c->used += n;
    return p;
}

static const char *arena_str(builder *b, const unsigned char *s, size_t n)
{
    if (!s) return NULL;
    char *p = arena_alloc(b, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* ---- pass 1: events -> tree ------------------------------------------------------------------- */

/* go-yaml's parser.fail(): parser errors print the 0-based line of the problem (a quirk kept for
 * fidelity), scanner errors the 1-based one; line 0 falls back to the context, then to nothing. */
static int parse_error(builder *b)
{
    const yaml_parser_t *p = &b->parser;
    size_t line = 0;
    if (p->problem_mark.line != 0)
        line = p->problem_mark.line + (p->error == YAML_SCANNER_ERROR);
    else if (p->context_mark.line != 0)
        line = p->context_mark.line;
    const char *msg = p->problem ? p->problem : "unknown problem parsing YAML content";
    if (line) return kc_errf(b->err, KC_EBADREQUEST, PREFIX "yaml: line %zu: %s", line, msg);
    return kc_errf(b->err, KC_EBADREQUEST, PREFIX "yaml: %s", msg);
}

static void attach(builder *b, ynode *n)
{
    if (b->nopen == 0) {
        b->root = n;
        return;
    }
    ynode *parent = b->open[b->nopen - 1];
    if (parent->last)
        parent->last->next = n;
    else
        parent->kids = n;
    parent->last = n;
    parent->len++;
}

/* A new node for ev, registered under its anchor (before its children, as go-yaml does, so an
 * alias inside its own anchor's value finds it and fails as self-containing when decoded). */
static ynode *add_node(builder *b, const yaml_event_t *ev, int kind, const yaml_char_t *anchor,
                       const yaml_char_t *tag)
{
    ynode *n = arena_alloc(b, sizeof *n);
    *n = (ynode){.kind = kind, .line = ev->start_mark.line};
    if (tag) n->tag = arena_str(b, tag, strlen((const char *)tag));
    if (anchor) json_object_set_new(b->anchors, (const char *)anchor, json_integer((json_int_t)(uintptr_t)n));
    attach(b, n);
    return n;
}

static void add_scalar(builder *b, const yaml_event_t *ev)
{
    ynode *n = add_node(b, ev, N_SCALAR, ev->data.scalar.anchor, ev->data.scalar.tag);
    n->value = ev->data.scalar.value ? arena_str(b, ev->data.scalar.value, ev->data.scalar.length) : "";
    n->len = ev->data.scalar.value ? ev->data.scalar.length : 0;
    n->plain = ev->data.scalar.plain_implicit;
}

static int add_alias(builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    json_t *target = json_object_get(b->anchors, name);
    if (!target) return kc_errf(b->err, KC_EBADREQUEST, PREFIX "yaml: unknown anchor '%s' referenced", name);
    ynode *n = add_node(b, ev, N_ALIAS, NULL, NULL);
    n->value = arena_str(b, ev->data.alias.anchor, strlen(name));
    n->len = strlen(name);
    n->kids = (ynode *)(uintptr_t)json_integer_value(target);
    return 0;
}

/* Tags on containers are dropped, as go-yaml v2's parser does (`!!null {a: 1}` is still a map). */
static int open_container(builder *b, const yaml_event_t *ev, int kind, const yaml_char_t *anchor)
{
    if (b->nopen >= KC_YAML_MAX_DEPTH && ev->start_mark.line == 0)
        return kc_errf(b->err, KC_EBADREQUEST, PREFIX "yaml: exceeded max depth of %d", KC_YAML_MAX_DEPTH);
    if (b->nopen >= KC_YAML_MAX_DEPTH) /* worded as go-yaml's scanner error, 1-based line */
        return kc_errf(b->err, KC_EBADREQUEST, PREFIX "yaml: line %zu: exceeded max depth of %d",
                       ev->start_mark.line + 1, KC_YAML_MAX_DEPTH);
    ynode *n = add_node(b, ev, kind, anchor, NULL);
    if (b->nopen == b->capopen) {
        b->capopen = b->capopen ? 2 * b->capopen : 64;
        b->open = xrealloc(b->open, b->capopen * sizeof *b->open);
    }
    b->open[b->nopen++] = n;
    return 0;
}

static int build_event(builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        add_scalar(b, ev);
        return 0;
    case YAML_ALIAS_EVENT:
        return add_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return open_container(b, ev, N_SEQ, ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return open_container(b, ev, N_MAP, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        b->nopen--;
        return 0;
    case YAML_DOCUMENT_END_EVENT: /* the first document is all upstream reads */
    case YAML_STREAM_END_EVENT:   /* empty stream */
        b->done = true;
        return 0;
    default:
        return 0;
    }
}

static int build(builder *b)
{
    while (!b->done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&b->parser, &ev)) return parse_error(b);
        int rc = build_event(b, &ev);
        yaml_event_delete(&ev);
        if (rc < 0) return rc;
    }
    return 0;
}

static void builder_release(builder *b)
{
    yaml_parser_delete(&b->parser);
    json_decref(b->anchors);
    free(b->open);
    for (chunk *c = b->arena, *next; c; c = next) {
        next = c->next;
        free(c);
    }
}

/* ---- pass 2: the decoder ---------------------------------------------------------------------- */

typedef struct decoder {
    kc_err *err;
    long decodes;     /* nodes unmarshalled, as go-yaml counts them */
    long aliased;     /* ... of which while expanding an alias */
    int alias_depth;  /* aliases being expanded */
    int depth;        /* containers being decoded, through aliases and merges */
    size_t out_bytes; /* string bytes produced (values and keys) */
    size_t out_limit;
    char dup[400];    /* first duplicate key: reported after decoding, like go-yaml's terrors */
    char badkey[400]; /* first key JSON cannot have: sigs.k8s.io/yaml converts keys first... */
    char badval[400]; /* ... then marshals: first NaN / Inf value */
} decoder;

/* A decoding fault: ends the decode (go-yaml's failf). Returns -1. */
__attribute__((format(printf, 2, 3))) static int fatal(decoder *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return kc_errf(d->err, KC_EBADREQUEST, PREFIX "yaml: %s", msg);
}

/* Remembers the first deferred fault of a kind (dup, badkey, badval); decoding goes on. */
__attribute__((format(printf, 3, 4))) static void defer_fault(char *slot, size_t cap, const char *fmt, ...)
{
    if (slot[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(slot, cap, fmt, ap);
    va_end(ap);
}

/* go-yaml v2.4 allowedAliasRatio: 99% of decodes may come from aliases up to 400k decodes, scaling
 * down to 10% at 4M. */
static double allowed_alias_ratio(long decodes)
{
    if (decodes <= 400000) return 0.99;
    if (decodes >= 4000000) return 0.10;
    return 0.99 - 0.89 * ((double)(decodes - 400000) / 3600000.0);
}

/* Every node visit, as go-yaml's decoder.unmarshal() counts it. */
static int count_decode(decoder *d)
{
    d->decodes++;
    if (d->alias_depth > 0) d->aliased++;
    if (d->aliased > 100 && d->decodes > 1000 &&
        (double)d->aliased / (double)d->decodes > allowed_alias_ratio(d->decodes))
        return fatal(d, "document contains excessive aliasing");
    return 0;
}

static int count_bytes(decoder *d, size_t n)
{
    d->out_bytes += n;
    if (d->out_bytes > d->out_limit) return fatal(d, "document contains excessive aliasing");
    return 0;
}

static int alias_enter(decoder *d, ynode *alias)
{
    if (alias->busy) return fatal(d, "anchor '%s' value contains itself", alias->value);
    alias->busy = true;
    d->alias_depth++;
    return 0;
}

static void alias_leave(decoder *d, ynode *alias)
{
    alias->busy = false;
    d->alias_depth--;
}

static int depth_enter(decoder *d)
{
    if (d->depth >= KC_YAML_MAX_DEPTH) return fatal(d, "exceeded max depth of %d", KC_YAML_MAX_DEPTH);
    d->depth++;
    return 0;
}

static bool is_tag(const char *tag, const char *short_name)
{
    size_t n = sizeof LONG_TAG - 1;
    return tag && strncmp(tag, LONG_TAG, n) == 0 && strcmp(tag + n, short_name) == 0;
}

/* ---- strings ---------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 (overlong, surrogate, > U+10FFFF, cut). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len = c < 0x80                 ? 1
                 : c >= 0xC2 && c <= 0xDF ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] > 0x8F))
        return 0;
    return len;
}

/* NULL when s is valid UTF-8; else a copy (owned) with each bad byte replaced by U+FFFD, as Go's
 * JSON encoder does. */
static char *utf8_fix(const char *s, size_t n, size_t *outlen)
{
    size_t i = 0, len;
    while (i < n && (len = utf8_len((const unsigned char *)s + i, n - i)) != 0)
        i += len;
    if (i == n) return NULL;
    char *out = xmalloc(3 * n + 1);
    size_t o = 0;
    for (i = 0; i < n; i += len ? len : 1) {
        len = utf8_len((const unsigned char *)s + i, n - i);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
    }
    *outlen = o;
    return out;
}

static json_t *make_string(decoder *d, const char *s, size_t n)
{
    if (count_bytes(d, n) < 0) return NULL;
    size_t fixed_len;
    char *fixed = utf8_fix(s, n, &fixed_len);
    json_t *v = fixed ? json_stringn(fixed, fixed_len) : json_stringn(s, n);
    free(fixed);
    if (!v) fatal(d, "cannot represent a string of %zu bytes", n);
    return v;
}

/* Go's %q of s into out (for messages): printable text as is, the rest escaped. */
static void go_quote(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    if (cap < 8) return;
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\t' ? "\\t"
                          : c == '\r' ? "\\r"
                                      : NULL;
        if (esc)
            o += (size_t)snprintf(out + o, cap - o, "%s", esc);
        else if (c < 0x20 || c == 0x7F)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* ---- scalar resolution (go-yaml v2.4 resolve.go) ---------------------------------------------- */

enum { T_NONE, T_STR, T_BOOL, T_INT, T_FLOAT, T_NULL, T_TIMESTAMP, T_BINARY, T_OTHER };
static const char *const tag_names[] = {"",        "!!str",  "!!bool",      "!!int",
                                        "!!float", "!!null", "!!timestamp", "!!binary"};

static int tag_kind(const char *tag)
{
    if (!tag) return T_NONE;
    for (int t = T_STR; t <= T_BINARY; t++)
        if (is_tag(tag, tag_names[t] + 2)) return t;
    return T_OTHER;
}

typedef enum { R_NULL, R_BOOL, R_INT, R_UINT, R_FLOAT, R_STR } rkind;

/* A resolved scalar, before it becomes a JSON value or a key. */
typedef struct rval {
    rkind kind;
    bool b;
    int64_t i;
    uint64_t u;
    double f;
    const char *s; /* R_STR text (borrowed from the tree, or owned below) */
    size_t len;
    char *owned; /* decoded !!binary bytes */
} rval;

static void rval_release(rval *r)
{
    free(r->owned);
    r->owned = NULL;
}

/* go-yaml's resolveMap: the spellings looked up before any parsing. */
static const struct {
    const char *s;
    rkind kind;
    int v; /* bool value; for floats 0 = NaN, +1 / -1 = +Inf / -Inf */
} resolve_table[] = {
    {"y", R_BOOL, 1},       {"Y", R_BOOL, 1},       {"yes", R_BOOL, 1},     {"Yes", R_BOOL, 1},
    {"YES", R_BOOL, 1},     {"true", R_BOOL, 1},    {"True", R_BOOL, 1},    {"TRUE", R_BOOL, 1},
    {"on", R_BOOL, 1},      {"On", R_BOOL, 1},      {"ON", R_BOOL, 1},      {"n", R_BOOL, 0},
    {"N", R_BOOL, 0},       {"no", R_BOOL, 0},      {"No", R_BOOL, 0},      {"NO", R_BOOL, 0},
    {"false", R_BOOL, 0},   {"False", R_BOOL, 0},   {"FALSE", R_BOOL, 0},   {"off", R_BOOL, 0},
    {"Off", R_BOOL, 0},     {"OFF", R_BOOL, 0},     {"", R_NULL, 0},        {"~", R_NULL, 0},
    {"null", R_NULL, 0},    {"Null", R_NULL, 0},    {"NULL", R_NULL, 0},    {".nan", R_FLOAT, 0},
    {".NaN", R_FLOAT, 0},   {".NAN", R_FLOAT, 0},   {".inf", R_FLOAT, 1},   {".Inf", R_FLOAT, 1},
    {".INF", R_FLOAT, 1},   {"+.inf", R_FLOAT, 1},  {"+.Inf", R_FLOAT, 1},  {"+.INF", R_FLOAT, 1},
    {"-.inf", R_FLOAT, -1}, {"-.Inf", R_FLOAT, -1}, {"-.INF", R_FLOAT, -1},
};

static int lookup_table(const char *s, size_t n, rval *r)
{
    for (size_t i = 0; i < sizeof resolve_table / sizeof resolve_table[0]; i++) {
        if (strlen(resolve_table[i].s) != n || memcmp(resolve_table[i].s, s, n) != 0) continue;
        int v = resolve_table[i].v;
        r->kind = resolve_table[i].kind;
        r->b = v;
        r->f = v == 0 ? NAN : v > 0 ? INFINITY : -INFINITY;
        return r->kind == R_BOOL ? T_BOOL : r->kind == R_NULL ? T_NULL : T_FLOAT;
    }
    return T_NONE;
}

/* go-yaml's resolveTable: the first byte says what a plain scalar may be. */
static char hint_of(unsigned char c)
{
    if (c == '+' || c == '-') return 'S';
    if (c >= '0' && c <= '9') return 'D';
    if (c == '.') return '.';
    return c && strchr("yYnNtTfFoO~", c) ? 'M' : 0;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'z' ? c - 'a' + 10 : 99;
}

/* Go's strconv.ParseUint(s, 0, 64): 0x / 0o / 0b prefixes, a leading 0 means octal. */
static bool go_parse_uint(const char *s, size_t n, uint64_t *out)
{
    if (n == 0) return false;
    unsigned base = 10;
    if (s[0] == '0') {
        char p = n >= 3 ? (char)(s[1] | 0x20) : 0;
        base = p == 'x' ? 16 : p == 'b' ? 2 : 8;
        size_t skip = p == 'x' || p == 'b' || p == 'o' ? 2 : 1;
        s += skip;
        n -= skip;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned dv = (unsigned)digit_value(s[i]);
        if (dv >= base || v > (UINT64_MAX - dv) / base) return false;
        v = v * base + dv;
    }
    *out = v;
    return true;
}

/* Go's strconv.ParseInt(s, 0, 64). */
static bool go_parse_int(const char *s, size_t n, int64_t *out)
{
    bool neg = n > 0 && s[0] == '-';
    if (n > 0 && (s[0] == '-' || s[0] == '+')) s++, n--;
    uint64_t u;
    if (!go_parse_uint(s, n, &u) || u > (uint64_t)INT64_MAX + neg) return false;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t n)
{
    size_t i = 0, d;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    bool lead_dot = i < n && s[i] == '.';
    i += lead_dot;
    for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        ;
    if (i == d) return false;
    if (!lead_dot && i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
    if (i < n && (s[i] | 0x20) == 'e') {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
        if (i == d) return false;
    }
    return i == n;
}

/* strtod on a NUL-terminated, already validated number; false on overflow, as Go's ParseFloat. */
static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double f = strtod(s, &end);
    if (*end != '\0' || (errno == ERANGE && isinf(f))) return false;
    *out = f;
    return true;
}

/* Go's underscoreOK for a float that starts with '.': each '_' between two digits. */
static bool underscores_ok(const char *s, size_t n)
{
    char saw = '^';
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            saw = '0';
        } else if (s[i] == '_') {
            if (saw != '0') return false;
            saw = '_';
        } else {
            if (saw == '_') return false;
            saw = '!';
        }
    }
    return saw != '_';
}

/* Copies s without '_' into a NUL-terminated buffer (small or owned); NULL if s holds a NUL. */
static char *strip_underscores(const char *s, size_t n, char *small, size_t smallcap, size_t *outlen)
{
    if (memchr(s, '\0', n)) return NULL;
    char *buf = n < smallcap ? small : xmalloc(n + 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_') buf[m++] = s[i];
    buf[m] = '\0';
    *outlen = m;
    return buf;
}

/* The 'D' / 'S' branch: int64, then uint64, then yamlStyleFloat (and '.' floats via dot). */
static int resolve_number(const char *s, size_t n, bool dot, rval *r)
{
    if (dot && !underscores_ok(s, n)) return T_STR;
    char small[64];
    size_t m;
    char *p = strip_underscores(s, n, small, sizeof small, &m);
    int t = T_STR;
    if (!p) return T_STR;
    if (!dot && go_parse_int(p, m, &r->i))
        r->kind = R_INT, t = T_INT;
    else if (!dot && go_parse_uint(p, m, &r->u))
        r->kind = R_UINT, t = T_INT;
    else if (yaml_style_float(p, m) && parse_double(p, &r->f))
        r->kind = R_FLOAT, t = T_FLOAT;
    if (p != small) free(p);
    return t;
}

static int days_in(int month, int year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Go's time.Parse getnum(s, false): one or two digits. */
static bool ts_num(const char *s, size_t n, size_t *i, int *out)
{
    if (*i >= n || s[*i] < '0' || s[*i] > '9') return false;
    *out = s[(*i)++] - '0';
    if (*i < n && s[*i] >= '0' && s[*i] <= '9') *out = *out * 10 + s[(*i)++] - '0';
    return true;
}

static bool ts_field(const char *s, size_t n, size_t *i, char sep, int lo, int hi, int *out)
{
    if (sep && (*i >= n || s[(*i)++] != sep)) return false;
    return ts_num(s, n, i, out) && *out >= lo && *out <= hi;
}

static bool two_digits(const char *p)
{
    return p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9';
}

/* Time of day after the date: "15:4:5[.frac]" then, for T/t, "Z" or "+07:00". */
static bool ts_time(const char *s, size_t n, size_t i, bool zone)
{
    int v;
    if (!ts_field(s, n, &i, 0, 0, 23, &v) || !ts_field(s, n, &i, ':', 0, 59, &v) ||
        !ts_field(s, n, &i, ':', 0, 59, &v))
        return false;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && s[i + 1] >= '0' && s[i + 1] <= '9')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            ;
    if (!zone) return i == n;
    if (i < n && s[i] == 'Z') return i + 1 == n;
    const char *z = s + i;
    return n - i == 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':' && two_digits(z + 1) &&
           two_digits(z + 4);
}

/* go-yaml's parseTimestamp: "2006-1-2", "2006-1-2 15:4:5.999999999", "2006-1-2T15:4:5.999999999Z07:00"
 * (also with 't'). Only matters for !!timestamp: untagged timestamps stay strings either way. */
static bool is_timestamp(const char *s, size_t n)
{
    size_t i = strspn(s, "0123456789");
    int month, day;
    if (i != 4 || n <= 4 || s[4] != '-') return false;
    int year = atoi(s);
    i = 4;
    if (!ts_field(s, n, &i, '-', 1, 12, &month) || !ts_field(s, n, &i, '-', 1, 31, &day) ||
        day > days_in(month, year))
        return false;
    if (i == n) return true;
    char sep = s[i];
    return (sep == ' ' || sep == 'T' || sep == 't') && ts_time(s, n, i + 1, sep != ' ');
}

/* go-yaml resolve() for a plain (or resolvable-tagged) scalar; returns the resolved tag, r filled.
 * r starts as the string itself. */
static int resolve_text(const char *s, size_t n, int tag, rval *r)
{
    if (tag == T_STR) return T_STR;
    char hint = n ? hint_of((unsigned char)s[0]) : 'N';
    if (!hint) return T_STR;
    int t = lookup_table(s, n, r);
    if (t != T_NONE) return t;
    if (hint == '.') return resolve_number(s, n, true, r);
    if (hint == 'D' || hint == 'S') {
        if ((tag == T_NONE || tag == T_TIMESTAMP) && is_timestamp(s, n))
            return T_TIMESTAMP; /* kept as its text, like go-yaml into interface{} */
        return resolve_number(s, n, false, r);
    }
    return T_STR;
}

static int b64_value(char c)
{
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* Go's base64.StdEncoding.DecodeString: padded, '\r' and '\n' ignored. out holds 3n/4 bytes. */
static bool b64_decode(const char *s, size_t n, char *out, size_t *outlen)
{
    char q[4];
    size_t k = 0, o = 0;
    bool ended = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n') continue;
        if (ended) return false;
        q[k++] = s[i];
        if (k < 4) continue;
        int v[4] = {0}, pad = q[3] == '=' ? (q[2] == '=' ? 2 : 1) : 0;
        for (int j = 0; j < 4 - pad; j++)
            if ((v[j] = b64_value(q[j])) < 0) return false;
        unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (pad < 2 ? (unsigned)v[2] << 6 : 0) |
                        (pad < 1 ? (unsigned)v[3] : 0);
        out[o++] = (char)(bits >> 16);
        if (pad < 2) out[o++] = (char)(bits >> 8);
        if (pad < 1) out[o++] = (char)bits;
        ended = pad > 0;
        k = 0;
    }
    *outlen = o;
    return k == 0;
}

static int resolve_binary(decoder *d, const ynode *n, rval *r)
{
    r->owned = xmalloc(n->len / 4 * 3 + 3);
    if (!b64_decode(n->value, n->len, r->owned, &r->len))
        return fatal(d, "!!binary value contains invalid base64 data");
    r->s = r->owned;
    return 0;
}

/* go-yaml decoder.scalar() + resolve() for one scalar node: the tag decides, else the text. */
static int resolve_scalar(decoder *d, const ynode *n, rval *r)
{
    int tag = tag_kind(n->tag);
    *r = (rval){.kind = R_STR, .s = n->value, .len = n->len};
    if (tag == T_NONE && !n->plain) return 0; /* quoted or block scalar */
    if (tag == T_BINARY) return resolve_binary(d, n, r);
    if (tag == T_OTHER) return 0; /* unknown tags keep the text */
    int rtag = resolve_text(n->value, n->len, tag, r);
    if (tag == T_NONE || tag == T_STR || tag == rtag) return 0;
    if (tag == T_FLOAT && r->kind == R_INT) {
        r->kind = R_FLOAT;
        r->f = (double)r->i;
        return 0;
    }
    return fatal(d, "cannot decode %s `%.*s` as a %s", tag_names[rtag], (int)(n->len > 200 ? 200 : n->len),
                 n->value, tag_names[tag]);
}

/* ---- resolved scalar -> JSON value / key ------------------------------------------------------- */

/* Upstream marshals float64 with Go's encoding/json: integral values below 1e21 print as integers
 * ("1e3" -> 1000), so those that fit int64 load back as integers here; NaN and Inf have no JSON form. */
static json_t *float_json(decoder *d, double f)
{
    if (isnan(f) || isinf(f)) {
        defer_fault(d->badval, sizeof d->badval, "json: unsupported value: %s",
                    isnan(f) ? "NaN"
                    : f > 0  ? "+Inf"
                             : "-Inf");
        return json_null();
    }
    if (f == trunc(f) && f >= -9223372036854775808.0 && f < 9223372036854775808.0)
        return json_integer((json_int_t)f);
    return json_real(f);
}

static json_t *rval_json(decoder *d, const rval *r)
{
    switch (r->kind) {
    case R_NULL:
        return json_null();
    case R_BOOL:
        return json_boolean(r->b);
    case R_INT:
        return json_integer(r->i);
    case R_UINT:
        return json_real((double)r->u);
    case R_FLOAT:
        return float_json(d, r->f);
    default:
        return make_string(d, r->s, r->len);
    }
}

/* Go's strconv.FormatFloat(f, 'g', -1, 32), with sigs.k8s.io/yaml's .inf / -.inf / .nan names. */
static void format_float32_key(double f, char *out, size_t cap)
{
    if (isnan(f) || fabs(f) >= 0x1.ffffffp127) {
        snprintf(out, cap, "%s", isnan(f) ? ".nan" : f > 0 ? ".inf" : "-.inf");
        return;
    }
    float v = fabs(f) > FLT_MAX ? (f > 0 ? FLT_MAX : -FLT_MAX) : (float)f;
    char tmp[40];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, (double)v);
        if (strtof(tmp, NULL) == v) break;
    }
    int prec = (int)(strchr(tmp, 'e') - tmp) - (strchr(tmp, '.') ? 1 : 0) - (tmp[0] == '-');
    int exp = atoi(strchr(tmp, 'e') + 1);
    if (exp < -4 || exp >= 6)
        snprintf(out, cap, "%s", tmp);
    else
        snprintf(out, cap, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, (double)v);
}

/* Shortest %g that reads back as f (Go's %v of a float64, near enough for messages). */
static void format_shortest(double f, char *out, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, f);
        if (strtod(out, NULL) == f) return;
    }
}

/* A Go-ish rendering of a decoded value for "Unsupported map key" messages. */
static void describe_value(const json_t *v, char *out, size_t cap)
{
    if (json_is_string(v))
        go_quote(out, cap, json_string_value(v), json_string_length(v));
    else if (json_is_object(v))
        snprintf(out, cap, "map[interface {}]interface {}{...}");
    else if (json_is_array(v))
        snprintf(out, cap, "[]interface {}{...}");
    else if (json_is_null(v))
        snprintf(out, cap, "<nil>");
    else if (json_is_real(v))
        format_shortest(json_real_value(v), out, cap);
    else if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
}

/* sigs.k8s.io/yaml's key stringification. False (fault deferred) for keys JSON cannot have. */
static bool rval_key(decoder *d, const rval *r, const json_t *val, char *buf, size_t cap, const char **s,
                     size_t *n)
{
    char what[128];
    switch (r->kind) {
    case R_STR:
        *s = r->s, *n = r->len;
        return true;
    case R_INT:
        snprintf(buf, cap, "%lld", (long long)r->i);
        break;
    case R_FLOAT:
        format_float32_key(r->f, buf, cap);
        break;
    case R_BOOL:
        snprintf(buf, cap, "%s", r->b ? "true" : "false");
        break;
    default:
        describe_value(val, what, sizeof what);
        if (r->kind == R_NULL)
            defer_fault(d->badkey, sizeof d->badkey,
                        "Unsupported map key of type: %%!s(<nil>), key: <nil>, value: %s", what);
        else
            defer_fault(d->badkey, sizeof d->badkey,
                        "Unsupported map key of type: uint64, key: 0x%llx, value: %s",
                        (unsigned long long)r->u, what);
        return false;
    }
    *s = buf, *n = strlen(buf);
    return true;
}

/* ---- nodes -> JSON ---------------------------------------------------------------------------- */

static json_t *decode_node(decoder *d, ynode *n);
static int map_into(decoder *d, ynode *n, json_t *obj);

/* A key node to a resolved scalar (go-yaml unmarshals keys into interface{} like any value). */
static int decode_key(decoder *d, ynode *n, rval *r)
{
    *r = (rval){.kind = R_NULL};
    if (count_decode(d) < 0) return -1;
    if (n->kind == N_ALIAS) {
        if (alias_enter(d, n) < 0) return -1;
        int rc = decode_key(d, n->kids, r);
        alias_leave(d, n);
        return rc;
    }
    if (n->kind == N_SCALAR) return resolve_scalar(d, n, r);
    return fatal(d, "invalid map key: %s",
                 n->kind == N_MAP ? "map[interface {}]interface {}{...}" : "[]interface {}{...}");
}

/* Stores key -> val in obj; a key repeated among this mapping's own entries is a deferred fault.
 * seen maps this mapping's keys to their 1-based lines. Takes val. */
static int set_pair(decoder *d, json_t *obj, json_t *seen, const ynode *k, const rval *key, json_t *val)
{
    char buf[48], quoted[200];
    const char *ks;
    size_t kn;
    if (!rval_key(d, key, val, buf, sizeof buf, &ks, &kn)) {
        json_decref(val);
        return 0;
    }
    if (count_bytes(d, kn) < 0) {
        json_decref(val);
        return -1;
    }
    char *fixed = utf8_fix(ks, kn, &kn);
    ks = fixed ? fixed : ks;
    json_t *prev = json_object_getn(seen, ks, kn);
    if (prev) {
        go_quote(quoted, sizeof quoted, ks, kn);
        defer_fault(d->dup, sizeof d->dup, "line %zu: mapping key %s already defined at line %lld",
                    k->line + 1, quoted, (long long)json_integer_value(prev));
        json_decref(val);
    } else {
        json_object_setn_new(seen, ks, kn, json_integer((json_int_t)k->line + 1));
        json_object_setn_new(obj, ks, kn, val);
    }
    free(fixed);
    return 0;
}

static int map_pair(decoder *d, ynode *k, json_t *obj, json_t *seen)
{
    rval key;
    int rc = decode_key(d, k, &key);
    if (rc == 0) {
        json_t *val = decode_node(d, k->next);
        rc = val ? set_pair(d, obj, seen, k, &key, val) : -1;
    }
    rval_release(&key);
    return rc;
}

static int want_map(decoder *d)
{
    return fatal(d, "map merge requires map or sequence of maps as the value");
}

static bool mergeable(const ynode *n)
{
    return n->kind == N_MAP || (n->kind == N_ALIAS && n->kids->kind == N_MAP);
}

/* One map merged into obj: go-yaml's unmarshal(n, out) with out the map being filled. */
static int merge_one(decoder *d, ynode *n, json_t *obj)
{
    if (count_decode(d) < 0) return -1;
    if (n->kind == N_ALIAS) {
        if (alias_enter(d, n) < 0) return -1;
        int rc = merge_one(d, n->kids, obj);
        alias_leave(d, n);
        return rc;
    }
    if (depth_enter(d) < 0) return -1;
    int rc = map_into(d, n, obj);
    d->depth--;
    return rc;
}

/* `<<: value`: a map, an alias of one, or a sequence of those (applied last to first, so that
 * earlier maps win). */
static int merge(decoder *d, ynode *v, json_t *obj)
{
    if (v->kind != N_SEQ) return mergeable(v) ? merge_one(d, v, obj) : want_map(d);
    ynode **items = xmalloc((v->len ? v->len : 1) * sizeof *items);
    size_t n = 0;
    for (ynode *c = v->kids; c; c = c->next)
        items[n++] = c;
    int rc = 0;
    while (n-- > 0 && rc == 0)
        rc = mergeable(items[n]) ? merge_one(d, items[n], obj) : want_map(d);
    free(items);
    return rc;
}

static bool is_merge_key(const ynode *k)
{
    return k->kind == N_SCALAR && k->len == 2 && memcmp(k->value, "<<", 2) == 0 &&
           (k->plain || is_tag(k->tag, "merge"));
}

/* The entries of mapping n, in order, into obj (a fresh object, or the one a merge fills). */
static int map_into(decoder *d, ynode *n, json_t *obj)
{
    json_t *seen = json_object();
    int rc = 0;
    for (ynode *k = n->kids; k && k->next && rc == 0; k = k->next->next)
        rc = is_merge_key(k) ? merge(d, k->next, obj) : map_pair(d, k, obj, seen);
    json_decref(seen);
    return rc;
}

static json_t *decode_container(decoder *d, ynode *n)
{
    if (depth_enter(d) < 0) return NULL;
    json_t *v = n->kind == N_MAP ? json_object() : json_array();
    int rc = 0;
    if (n->kind == N_MAP) rc = map_into(d, n, v);
    for (ynode *c = n->kind == N_SEQ ? n->kids : NULL; c && rc == 0; c = c->next) {
        json_t *item = decode_node(d, c);
        rc = item ? json_array_append_new(v, item) : -1;
    }
    d->depth--;
    if (rc < 0) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *decode_node(decoder *d, ynode *n)
{
    if (count_decode(d) < 0) return NULL;
    if (n->kind == N_ALIAS) {
        if (alias_enter(d, n) < 0) return NULL;
        json_t *v = decode_node(d, n->kids);
        alias_leave(d, n);
        return v;
    }
    if (n->kind != N_SCALAR) return decode_container(d, n);
    rval r;
    json_t *v = resolve_scalar(d, n, &r) < 0 ? NULL : rval_json(d, &r);
    rval_release(&r);
    return v;
}

/* Pass 2 for the whole document, then the deferred faults in upstream's order. */
static json_t *decode_document(builder *b, size_t len, kc_err *err)
{
    if (!b->root) return json_null();
    decoder d = {.err = err, .decodes = 1, .out_limit = 16 * len + (1u << 20)};
    json_t *v = decode_node(&d, b->root);
    const char *fault = d.badkey[0] ? d.badkey : d.badval;
    if (v && (d.dup[0] || fault[0])) {
        json_decref(v);
        v = NULL;
        if (d.dup[0])
            kc_errf(err, KC_EBADREQUEST, PREFIX "yaml: unmarshal errors:\n  %s", d.dup);
        else
            kc_errf(err, KC_EBADREQUEST, PREFIX "%s", fault);
    }
    return v;
}

json_t *kc_yaml_decode(const char *buf, size_t len, kc_err *err)
{
    builder b = {.err = err};
    if (!yaml_parser_initialize(&b.parser)) {
        kc_errf(err, KC_EINTERNAL, "yaml: cannot initialize the parser");
        return NULL;
    }
    b.anchors = json_object();
    if (len == 0) /* as go-yaml: an empty input is one empty line */
        buf = "\n", len = 1;
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
    json_t *out = build(&b) == 0 ? decode_document(&b, len, err) : NULL;
    builder_release(&b);
    return out;
}
