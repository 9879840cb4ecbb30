/* Selectors: the label selector lexer/parser/matcher and the field selector parser/matcher.
 *
 * The label selector parser is a line-by-line port of k8s.io/apimachinery/pkg/labels (Lexer, Parser,
 * NewRequirement), quirks included, so that every input is accepted or rejected exactly as the Go
 * apiserver does and with the same message ("x in (a,,)" fails, "x in (a,,b)" holds "", ...).
 * Parsing does all the work matching needs: requirements are stably sorted by key, values sorted (and
 * deduplicated for string selectors), Gt/Lt operands converted to integers, so kc_labelsel_match()
 * is a few hash lookups and string compares with no allocation.
 * The field selector half ports k8s.io/apimachinery/pkg/fields (splitTerms, splitTerm, UnescapeValue).
 * This file does not know which fields a resource supports, nor how to read them from an object;
 * the caller supplies that through kc_fieldsel_get. */
#include "api/selector.h"
#include "api/names.h"
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* A growable byte buffer for messages and String() output. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void bput(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void bputs(buf *b, const char *s)
{
    bput(b, s, strlen(s));
}

static void bprintf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    bput(b, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void bquote(buf *b, const char *s, size_t n)
{
    char q[512];
    kc_name_quote(q, sizeof q, s, n);
    bputs(b, q);
}

/* Sets a BadRequest from a message that may embed client bytes: made valid UTF-8, cut to fit. */
static int fail(kc_err *err, const char *prefix, const char *msg)
{
    char clean[sizeof err->msg];
    size_t pl = strlen(prefix);
    memcpy(clean, prefix, pl);
    kc_name_utf8_clean(clean + pl, sizeof clean - pl, msg, strlen(msg));
    return kc_errf(err, KC_EBADREQUEST, "%s", clean);
}

/* strconv.ParseInt(s, 10, 64): optional sign, decimal digits, no overflow. */
static bool parse_int64(const char *s, size_t n, long long *out)
{
    size_t i = (n > 0 && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    bool neg = i && s[0] == '-';
    unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    if (i == n) return false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = neg ? (v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v) : (long long)v;
    return true;
}

/* ======================= label selectors ======================= */

typedef enum ls_op { OP_NONE, OP_IN, OP_NOTIN, OP_EQ, OP_DEQ, OP_NE, OP_EXISTS, OP_DNE, OP_GT, OP_LT } ls_op;

typedef struct slice {
    const char *s;
    size_t n;
} slice;

typedef struct ls_req {
    char *key;
    ls_op op;
    slice *vals; /* sorted; each s is owned and NUL-terminated */
    size_t nvals;
    long long num; /* the operand of Gt / Lt */
    size_t seq;    /* input position, for a stable sort */
} ls_req;

struct kc_labelsel {
    bool nothing;
    size_t n;
    ls_req *reqs;
};

static int slice_cmp(const void *a, const void *b)
{
    const slice *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int req_cmp(const void *a, const void *b)
{
    const ls_req *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void req_release(ls_req *r)
{
    for (size_t i = 0; i < r->nvals; i++)
        free((char *)r->vals[i].s);
    free(r->vals);
    free(r->key);
}

static kc_labelsel *sel_new(bool nothing)
{
    kc_labelsel *s = xmalloc(sizeof *s);
    *s = (kc_labelsel){nothing, 0, NULL};
    return s;
}

static ls_req *sel_add(kc_labelsel *s)
{
    s->reqs = xrealloc(s->reqs, (s->n + 1) * sizeof *s->reqs);
    ls_req *r = &s->reqs[s->n];
    memset(r, 0, sizeof *r);
    r->seq = s->n++;
    return r;
}

/* ---- NewRequirement: validation with upstream's field.Error wording, aggregated ---- */

/* An aggregate of error strings, printed like utilerrors.NewAggregate: one as is, several as
 * "[a, b]", duplicates dropped. */
typedef struct agg {
    char **msgs;
    size_t n;
} agg;

static void agg_add(agg *a, buf *m)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->msgs[i], m->p)) return free(m->p);
    a->msgs = xrealloc(a->msgs, (a->n + 1) * sizeof *a->msgs);
    a->msgs[a->n++] = m->p;
}

static void agg_render(agg *a, buf *out)
{
    if (a->n > 1) bputs(out, "[");
    for (size_t i = 0; i < a->n; i++) {
        if (i) bputs(out, ", ");
        bputs(out, a->msgs[i]);
        free(a->msgs[i]);
    }
    if (a->n > 1) bputs(out, "]");
    free(a->msgs);
}

static void join_msgs(buf *m, const char **msgs, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        if (i) bputs(m, "; ");
        bputs(m, msgs[i]);
    }
}

/* validateLabelKey: "<path>: Invalid value: "k": m1; m2". Returns false (and fills m) when bad. */
static bool key_invalid(buf *m, const char *path, const char *k, size_t n)
{
    const char *msgs[KC_NAME_MAXMSGS];
    size_t nm = kc_name_check(KC_NAME_QUALIFIED, k, n, msgs);
    if (!nm) return false;
    bprintf(m, "%s: Invalid value: ", path);
    bquote(m, k, n);
    bputs(m, ": ");
    join_msgs(m, msgs, nm);
    return true;
}

/* The values list as Go's json.Marshal prints a []string (nil -> null). */
static void values_json(buf *m, const slice *v, size_t n)
{
    json_t *arr = n ? json_array() : json_null();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_stringn_nocheck(v[i].s, v[i].n));
    char *js = json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY);
    bputs(m, js ? js : "null");
    free(js);
    json_decref(arr);
}

static void count_error(agg *a, const slice *v, size_t n, const char *detail)
{
    buf m = {0};
    bputs(&m, "values: Invalid value: ");
    values_json(&m, v, n);
    bprintf(&m, ": %s", detail);
    agg_add(a, &m);
}

static void check_counts(agg *a, ls_op op, const slice *v, size_t n)
{
    if ((op == OP_IN || op == OP_NOTIN) && n == 0)
        count_error(a, v, n, "for 'in', 'notin' operators, values set can't be empty");
    if ((op == OP_EQ || op == OP_DEQ || op == OP_NE) && n != 1)
        count_error(a, v, n, "exact-match compatibility requires one single value");
    if ((op == OP_EXISTS || op == OP_DNE) && n != 0)
        count_error(a, v, n, "values set must be empty for exists and does not exist");
    if ((op == OP_GT || op == OP_LT) && n != 1)
        count_error(a, v, n, "for 'Gt', 'Lt' operators, exactly one value is required");
    for (size_t i = 0; (op == OP_GT || op == OP_LT) && i < n; i++) {
        long long x;
        if (parse_int64(v[i].s, v[i].n, &x)) continue;
        buf m = {0};
        bprintf(&m, "values[%zu]: Invalid value: ", i);
        bquote(&m, v[i].s, v[i].n);
        bputs(&m, ": for 'Gt', 'Lt' operators, the value must be an integer");
        agg_add(a, &m);
    }
}

static void check_values(agg *a, const char *key, const slice *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *msgs[KC_NAME_MAXMSGS];
        size_t nm = kc_name_check(KC_NAME_LABEL_VALUE, v[i].s, v[i].n, msgs);
        if (!nm) continue;
        buf m = {0};
        bprintf(&m, "values[%zu][%s]: Invalid value: ", i, key);
        bquote(&m, v[i].s, v[i].n);
        bputs(&m, ": ");
        join_msgs(&m, msgs, nm);
        agg_add(a, &m);
    }
}

/* NewRequirement(key, op, vals): validates in the given value order, then stores a sorted copy.
 * On error returns -1 with the aggregate message in *msg (owned by the caller). */
static int req_init(ls_req *r, const char *key, size_t keylen, ls_op op, const slice *v, size_t n, buf *msg)
{
    agg a = {0};
    buf m = {0};
    char *k = xstrndup(key, keylen);
    if (key_invalid(&m, "key", key, keylen)) agg_add(&a, &m);
    check_counts(&a, op, v, n);
    check_values(&a, k, v, n);
    if (a.n) {
        agg_render(&a, msg);
        free(k);
        return -1;
    }
    r->key = k;
    r->op = op;
    r->nvals = n;
    r->vals = xmalloc(n * sizeof *r->vals);
    for (size_t i = 0; i < n; i++)
        r->vals[i] = (slice){xstrndup(v[i].s, v[i].n), v[i].n};
    if (n > 1) qsort(r->vals, n, sizeof *r->vals, slice_cmp);
    if (op == OP_GT || op == OP_LT) parse_int64(r->vals[0].s, r->vals[0].n, &r->num);
    return 0;
}

/* ---- the lexer ---- */

typedef enum tok {
    T_ERR,
    T_EOS,
    T_CPAR,
    T_COMMA,
    T_NOT,
    T_DEQ,
    T_EQ,
    T_GT,
    T_ID,
    T_IN,
    T_LT,
    T_NE,
    T_NOTIN,
    T_OPAR
} tok;

typedef struct item {
    tok t;
    slice lit;
} item;

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c && strchr("=!(),><", c);
}

static tok single_tok(char c)
{
    switch (c) {
    case '=':
        return T_EQ;
    case '!':
        return T_NOT;
    case '(':
        return T_OPAR;
    case ')':
        return T_CPAR;
    case ',':
        return T_COMMA;
    case '>':
        return T_GT;
    default:
        return T_LT;
    }
}

/* Lexer.Lex: skips blanks; special symbols take the longest of "!=", "==" or one character;
 * anything else runs to the next special symbol or blank, "in" and "notin" being keywords. */
static const char *lex(const char *p, item *it)
{
    while (is_ws(*p))
        p++;
    if (!*p) return *it = (item){T_EOS, {p, 0}}, p;
    if ((p[0] == '!' || p[0] == '=') && p[1] == '=')
        return *it = (item){p[0] == '!' ? T_NE : T_DEQ, {p, 2}}, p + 2;
    if (is_special(*p)) return *it = (item){single_tok(*p), {p, 1}}, p + 1;
    const char *start = p;
    while (*p && !is_special(*p) && !is_ws(*p))
        p++;
    size_t n = (size_t)(p - start);
    tok t = (n == 2 && !memcmp(start, "in", 2))      ? T_IN
            : (n == 5 && !memcmp(start, "notin", 5)) ? T_NOTIN
                                                     : T_ID;
    return *it = (item){t, {start, n}}, p;
}

/* ---- the parser: Parser.parse and friends, one function each ---- */

typedef enum ctx { KEY_AND_OPERATOR, VALUES } ctx;

typedef struct parser {
    item *items;
    size_t n, pos;
    buf msg; /* the error, once one happened */
} parser;

typedef struct valset {
    slice *v;
    size_t n;
} valset;

static void scan(parser *p, const char *s)
{
    size_t cap = 0;
    for (;;) {
        item it;
        s = lex(s, &it);
        if (p->n == cap) p->items = xrealloc(p->items, (cap = cap ? cap * 2 : 16) * sizeof *p->items);
        p->items[p->n++] = it;
        if (it.t == T_EOS) break;
    }
}

/* In a VALUES context the keywords in/notin are plain identifiers. */
static item lookahead(parser *p, ctx c)
{
    item it = p->items[p->pos];
    if (c == VALUES && (it.t == T_IN || it.t == T_NOTIN)) it.t = T_ID;
    return it;
}

static item consume(parser *p, ctx c)
{
    item it = lookahead(p, c);
    if (p->pos + 1 < p->n) p->pos++;
    return it;
}

static int perr(parser *p, const char *fmt, const item *it)
{
    char lit[512];
    snprintf(lit, sizeof lit, "%.*s", (int)(it->lit.n < 500 ? it->lit.n : 500), it->lit.s);
    bprintf(&p->msg, fmt, lit);
    return -1;
}

static void vs_insert(valset *vs, slice s)
{
    vs->v = xrealloc(vs->v, (vs->n + 1) * sizeof *vs->v);
    vs->v[vs->n++] = s;
}

/* sets.String.List(): sorted, without duplicates. */
static void vs_list(valset *vs)
{
    size_t k = 0;
    if (vs->n > 1) qsort(vs->v, vs->n, sizeof *vs->v, slice_cmp);
    for (size_t i = 0; i < vs->n; i++)
        if (k == 0 || slice_cmp(&vs->v[k - 1], &vs->v[i])) vs->v[k++] = vs->v[i];
    vs->n = vs->n ? k : 0;
}

static const slice EMPTY = {"", 0};

static int parse_key_and_infer_operator(parser *p, slice *key, ls_op *op)
{
    item t = consume(p, VALUES);
    *op = OP_NONE;
    if (t.t == T_NOT) {
        *op = OP_DNE;
        t = consume(p, VALUES);
    }
    if (t.t != T_ID) return perr(p, "found '%s', expected: identifier", &t);
    if (key_invalid(&p->msg, "<nil>", t.lit.s, t.lit.n)) return -1;
    *key = t.lit;
    tok next = lookahead(p, VALUES).t;
    if ((next == T_EOS || next == T_COMMA) && *op != OP_DNE) *op = OP_EXISTS;
    return 0;
}

/* parseOperator: the binary operators, as a token -> operator table. */
static int parse_operator(parser *p, ls_op *op)
{
    static const ls_op binary[] = {[T_IN] = OP_IN, [T_EQ] = OP_EQ,       [T_DEQ] = OP_DEQ, [T_GT] = OP_GT,
                                   [T_LT] = OP_LT, [T_NOTIN] = OP_NOTIN, [T_NE] = OP_NE};
    item t = consume(p, KEY_AND_OPERATOR);
    if ((size_t)t.t >= sizeof binary / sizeof *binary || binary[t.t] == OP_NONE)
        return perr(p, "found '%s', expected: in, notin, =, ==, !=, gt, lt", &t);
    *op = binary[t.t];
    return 0;
}

/* parseIdentifiersList: "(a,b)", "(,a)", "(a,)", "(a,,b)" (both give ""); "(,,)" is an error. */
static int parse_identifiers_list(parser *p, valset *vs)
{
    for (;;) {
        item t = consume(p, VALUES), t2;
        switch (t.t) {
        case T_ID:
            vs_insert(vs, t.lit);
            t2 = lookahead(p, VALUES);
            if (t2.t == T_COMMA) continue;
            if (t2.t == T_CPAR) return 0;
            return perr(p, "found '%s', expected: ',' or ')'", &t2);
        case T_COMMA:
            if (vs->n == 0) vs_insert(vs, EMPTY);
            t2 = lookahead(p, VALUES);
            if (t2.t == T_CPAR) return vs_insert(vs, EMPTY), 0;
            if (t2.t == T_COMMA) {
                consume(p, VALUES);
                vs_insert(vs, EMPTY);
            }
            continue;
        default:
            return perr(p, "found '%s', expected: ',', or identifier", &t);
        }
    }
}

static int parse_values(parser *p, valset *vs)
{
    item t = consume(p, VALUES);
    if (t.t != T_OPAR) return perr(p, "found '%s' expected: '('", &t);
    t = lookahead(p, VALUES);
    switch (t.t) {
    case T_ID:
    case T_COMMA:
        if (parse_identifiers_list(p, vs) < 0) return -1;
        if (consume(p, VALUES).t != T_CPAR) return perr(p, "found '%s', expected: ')'", &t);
        return 0;
    case T_CPAR:
        consume(p, VALUES);
        return vs_insert(vs, EMPTY), 0;
    default:
        return perr(p, "found '%s', expected: ',', ')' or identifier", &t);
    }
}

static int parse_exact_value(parser *p, valset *vs)
{
    tok next = lookahead(p, VALUES).t;
    if (next == T_EOS || next == T_COMMA) return vs_insert(vs, EMPTY), 0;
    item t = consume(p, VALUES);
    if (t.t == T_ID) return vs_insert(vs, t.lit), 0;
    return perr(p, "found '%s', expected: identifier", &t);
}

static int parse_requirement(parser *p, kc_labelsel *sel)
{
    slice key = EMPTY;
    ls_op op;
    valset vs = {0};
    if (parse_key_and_infer_operator(p, &key, &op) < 0) return -1;
    if (op != OP_EXISTS && op != OP_DNE) {
        if (parse_operator(p, &op) < 0) return -1;
        int rc = (op == OP_IN || op == OP_NOTIN) ? parse_values(p, &vs) : parse_exact_value(p, &vs);
        if (rc < 0) return free(vs.v), -1;
        vs_list(&vs);
    }
    ls_req *r = sel_add(sel);
    int rc = req_init(r, key.s, key.n, op, vs.v, vs.n, &p->msg);
    if (rc < 0) sel->n--;
    free(vs.v);
    return rc;
}

/* Parser.parse: requirement {',' requirement}; errors inside a requirement get the
 * "unable to parse requirement: " prefix, the others do not. */
static int parse_all(parser *p, kc_labelsel *sel, const char **prefix)
{
    for (;;) {
        item t = lookahead(p, VALUES);
        if (t.t == T_EOS) return 0;
        if (t.t != T_ID && t.t != T_NOT)
            return perr(p, "found '%s', expected: !, identifier, or 'end of string'", &t);
        if (parse_requirement(p, sel) < 0) return *prefix = "unable to parse requirement: ", -1;
        t = consume(p, VALUES);
        if (t.t == T_EOS) return 0;
        if (t.t != T_COMMA) return perr(p, "found '%s', expected: ',' or 'end of string'", &t);
        item t2 = lookahead(p, VALUES);
        if (t2.t != T_ID && t2.t != T_NOT) return perr(p, "found '%s', expected: identifier after ','", &t2);
    }
}

static void sel_sort(kc_labelsel *s)
{
    if (s->n > 1) qsort(s->reqs, s->n, sizeof *s->reqs, req_cmp);
}

int kc_labelsel_parse(const char *s, kc_labelsel **out, kc_err *err)
{
    parser p = {0};
    kc_labelsel *sel = sel_new(false);
    const char *prefix = "";
    *out = NULL;
    scan(&p, s ? s : "");
    int rc = parse_all(&p, sel, &prefix);
    free(p.items);
    if (rc < 0) {
        fail(err, prefix, p.msg.p ? p.msg.p : "");
        free(p.msg.p);
        kc_labelsel_free(sel);
        return -1;
    }
    sel_sort(sel);
    *out = sel;
    return 0;
}

/* ---- metav1.LabelSelector ---- */

static int expr_operator(json_t *expr, ls_op *op, kc_err *err)
{
    json_t *o = json_object_get(expr, "operator");
    const char *s = json_is_string(o) ? json_string_value(o) : "";
    static const struct {
        const char *name;
        ls_op op;
    } ops[] = {{"In", OP_IN}, {"NotIn", OP_NOTIN}, {"Exists", OP_EXISTS}, {"DoesNotExist", OP_DNE}};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (!strcmp(s, ops[i].name)) return *op = ops[i].op, 0;
    char q[256];
    kc_name_quote(q, sizeof q, s, json_is_string(o) ? json_string_length(o) : 0);
    return kc_errf(err, KC_EBADREQUEST, "%s is not a valid label selector operator", q);
}

static int add_requirement(kc_labelsel *sel, const char *k, size_t kn, ls_op op, const slice *v, size_t n,
                           kc_err *err)
{
    buf msg = {0};
    ls_req *r = sel_add(sel);
    if (req_init(r, k, kn, op, v, n, &msg) == 0) return 0;
    sel->n--;
    fail(err, "", msg.p);
    free(msg.p);
    return -1;
}

static int add_expression(kc_labelsel *sel, json_t *expr, kc_err *err)
{
    json_t *vals = json_object_get(expr, "values"), *v;
    ls_op op;
    size_t i, n = json_array_size(vals);
    if (!json_is_object(expr))
        return kc_errf(err, KC_EBADREQUEST, "invalid label selector: matchExpressions must hold objects");
    if (vals && !json_is_array(vals) && !json_is_null(vals))
        return kc_errf(err, KC_EBADREQUEST, "invalid label selector: values must be a list of strings");
    if (expr_operator(expr, &op, err) < 0) return -1;
    slice *sv = xmalloc(n * sizeof *sv);
    json_array_foreach(vals, i, v)
    {
        if (!json_is_string(v)) {
            free(sv);
            return kc_errf(err, KC_EBADREQUEST, "invalid label selector: values must be a list of strings");
        }
        sv[i] = (slice){json_string_value(v), json_string_length(v)};
    }
    json_t *key = json_object_get(expr, "key");
    const char *k = json_is_string(key) ? json_string_value(key) : "";
    int rc = add_requirement(sel, k, json_is_string(key) ? json_string_length(key) : 0, op, sv, n, err);
    free(sv);
    return rc;
}

static int add_match_labels(kc_labelsel *sel, json_t *ml, kc_err *err)
{
    const char *k;
    size_t kn;
    json_t *v;
    json_object_keylen_foreach(ml, k, kn, v)
    {
        if (!json_is_string(v))
            return kc_errf(err, KC_EBADREQUEST, "invalid label selector: matchLabels values must be strings");
        slice sv = {json_string_value(v), json_string_length(v)};
        if (add_requirement(sel, k, kn, OP_EQ, &sv, 1, err) < 0) return -1;
    }
    return 0;
}

static int from_json(kc_labelsel *sel, json_t *ls, kc_err *err)
{
    json_t *ml = json_object_get(ls, "matchLabels"), *me = json_object_get(ls, "matchExpressions"), *e;
    size_t i;
    if (!json_is_object(ls)) return kc_errf(err, KC_EBADREQUEST, "invalid label selector: must be an object");
    if (ml && !json_is_object(ml) && !json_is_null(ml))
        return kc_errf(err, KC_EBADREQUEST, "invalid label selector: matchLabels must be an object");
    if (me && !json_is_array(me) && !json_is_null(me))
        return kc_errf(err, KC_EBADREQUEST, "invalid label selector: matchExpressions must be a list");
    if (add_match_labels(sel, ml, err) < 0) return -1;
    json_array_foreach(me, i, e) if (add_expression(sel, e, err) < 0) return -1;
    return 0;
}

int kc_labelsel_from_json(json_t *ls, kc_labelsel **out, kc_err *err)
{
    *out = NULL;
    if (!ls || json_is_null(ls)) return *out = sel_new(true), 0;
    kc_labelsel *sel = sel_new(false);
    if (from_json(sel, ls, err) < 0) return kc_labelsel_free(sel), -1;
    sel_sort(sel);
    *out = sel;
    return 0;
}

kc_labelsel *kc_labelsel_new_everything(void)
{
    return sel_new(false);
}

kc_labelsel *kc_labelsel_new_nothing(void)
{
    return sel_new(true);
}

/* ---- matching ---- */

static bool has_value(const ls_req *r, const char *v, size_t n)
{
    slice key = {v, n};
    return bsearch(&key, r->vals, r->nvals, sizeof *r->vals, slice_cmp) != NULL;
}

/* Requirement.Matches; a non-string label value reads as "". */
static bool req_match(const ls_req *r, json_t *labels)
{
    json_t *lv = labels ? json_object_get(labels, r->key) : NULL;
    const char *v = json_is_string(lv) ? json_string_value(lv) : "";
    size_t n = json_is_string(lv) ? json_string_length(lv) : 0;
    long long x;
    switch (r->op) {
    case OP_IN:
    case OP_EQ:
    case OP_DEQ:
        return lv && has_value(r, v, n);
    case OP_NOTIN:
    case OP_NE:
        return !lv || !has_value(r, v, n);
    case OP_EXISTS:
        return lv != NULL;
    case OP_DNE:
        return lv == NULL;
    case OP_GT:
        return lv && parse_int64(v, n, &x) && x > r->num;
    case OP_LT:
        return lv && parse_int64(v, n, &x) && x < r->num;
    default:
        return false;
    }
}

bool kc_labelsel_match(const kc_labelsel *s, json_t *labels)
{
    if (!s) return true;
    if (s->nothing) return false;
    if (labels && !json_is_object(labels)) labels = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (!req_match(&s->reqs[i], labels)) return false;
    return true;
}

bool kc_labelsel_empty(const kc_labelsel *s)
{
    return !s || (!s->nothing && s->n == 0);
}

bool kc_labelsel_is_nothing(const kc_labelsel *s)
{
    return s && s->nothing;
}

const char *kc_labelsel_exact(const kc_labelsel *s, const char *key)
{
    for (size_t i = 0; s && !s->nothing && i < s->n; i++) {
        const ls_req *r = &s->reqs[i];
        if (strcmp(r->key, key)) continue;
        bool exact = (r->op == OP_EQ || r->op == OP_DEQ || r->op == OP_IN) && r->nvals == 1;
        return exact ? r->vals[0].s : NULL;
    }
    return NULL;
}

static void req_string(buf *b, const ls_req *r)
{
    static const char *opstr[] = {[OP_EQ] = "=",          [OP_DEQ] = "==", [OP_NE] = "!=", [OP_IN] = " in ",
                                  [OP_NOTIN] = " notin ", [OP_GT] = ">",   [OP_LT] = "<"};
    bool set = r->op == OP_IN || r->op == OP_NOTIN;
    if (r->op == OP_DNE) bputs(b, "!");
    bputs(b, r->key);
    if (r->op == OP_EXISTS || r->op == OP_DNE) return;
    bputs(b, opstr[r->op]);
    if (set) bputs(b, "(");
    for (size_t i = 0; i < r->nvals; i++) {
        if (i) bputs(b, ",");
        bput(b, r->vals[i].s, r->vals[i].n);
    }
    if (set) bputs(b, ")");
}

char *kc_labelsel_string(const kc_labelsel *s)
{
    buf b = {0};
    bputs(&b, "");
    for (size_t i = 0; s && !s->nothing && i < s->n; i++) {
        if (i) bputs(&b, ",");
        req_string(&b, &s->reqs[i]);
    }
    return b.p;
}

void kc_labelsel_free(kc_labelsel *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        req_release(&s->reqs[i]);
    free(s->reqs);
    free(s);
}

/* ======================= field selectors ======================= */

typedef struct fs_term {
    char *field;
    char *value;
    bool neg;
} fs_term;

struct kc_fieldsel {
    size_t n;
    fs_term *terms;
};

/* splitTerms: commas split terms unless backslash-escaped (the backslash stays in the term). */
static size_t split_terms(const char *s, size_t len, slice **out)
{
    size_t n = 0, start = 0;
    bool in_slash = false;
    *out = NULL;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && in_slash)
            in_slash = false;
        else if (i < len && s[i] == '\\')
            in_slash = true;
        else if (i == len || s[i] == ',') {
            *out = xrealloc(*out, (n + 1) * sizeof **out);
            (*out)[n++] = (slice){s + start, i - start};
            start = i + 1;
        }
    }
    return n;
}

/* splitTerm: the first "!=", "==" or "=" (checked in that order at each position) splits the term;
 * field names have no escaping. */
static bool split_term(slice t, size_t *lhs, size_t *oplen, bool *neg)
{
    for (size_t i = 0; i < t.n; i++) {
        const char *p = t.s + i;
        size_t left = t.n - i;
        if (left >= 2 && p[0] == '!' && p[1] == '=') return *lhs = i, *oplen = 2, *neg = true, true;
        if (left >= 2 && p[0] == '=' && p[1] == '=') return *lhs = i, *oplen = 2, *neg = false, true;
        if (p[0] == '=') return *lhs = i, *oplen = 1, *neg = false, true;
    }
    return false;
}

/* UnescapeValue. Like Go it walks runes, so once a value holds an escape or special character,
 * invalid UTF-8 bytes come out as U+FFFD. */
static int unescape(slice v, char **out, buf *msg)
{
    if (!memchr(v.s, '\\', v.n) && !memchr(v.s, ',', v.n) && !memchr(v.s, '=', v.n))
        return *out = xstrndup(v.s, v.n), 0;
    buf b = {0};
    bool in_slash = false;
    bputs(&b, "");
    for (size_t i = 0, w; i < v.n; i += w) {
        uint32_t r;
        w = kc_name_utf8_next(v.s + i, v.n - i, &r);
        bool bad = w == 1 && r == 0xFFFD;
        const char *enc = bad ? "\xEF\xBF\xBD" : v.s + i;
        size_t encn = bad ? 3 : w;
        if (in_slash && r != '\\' && r != ',' && r != '=') {
            bputs(msg, "invalid field selector: invalid escape sequence: \\");
            bput(msg, enc, encn);
            return free(b.p), -1;
        }
        if (!in_slash && (r == ',' || r == '=')) {
            bprintf(msg, "invalid field selector: unescaped character in value: %u", (unsigned)r);
            return free(b.p), -1;
        }
        if (!in_slash && r == '\\')
            in_slash = true;
        else
            in_slash = false, bput(&b, enc, encn);
    }
    if (in_slash) return bputs(msg, "invalid field selector: invalid escape sequence: \\"), free(b.p), -1;
    *out = b.p;
    return 0;
}

static int add_term(kc_fieldsel *sel, const char *whole, slice t, buf *msg)
{
    size_t lhs, oplen;
    bool neg;
    char *value;
    if (!split_term(t, &lhs, &oplen, &neg)) {
        bprintf(msg, "invalid selector: '%s'; can't understand '%.*s'", whole, (int)t.n, t.s);
        return -1;
    }
    slice rhs = {t.s + lhs + oplen, t.n - lhs - oplen};
    if (unescape(rhs, &value, msg) < 0) return -1;
    sel->terms = xrealloc(sel->terms, (sel->n + 1) * sizeof *sel->terms);
    sel->terms[sel->n++] = (fs_term){xstrndup(t.s, lhs), value, neg};
    return 0;
}

int kc_fieldsel_parse(const char *s, kc_fieldsel **out, kc_err *err)
{
    kc_fieldsel *sel = xmalloc(sizeof *sel);
    slice *parts;
    buf msg = {0};
    int rc = 0;
    *sel = (kc_fieldsel){0, NULL};
    *out = NULL;
    s = s ? s : "";
    size_t n = *s ? split_terms(s, strlen(s), &parts) : 0;
    if (n > 1) qsort(parts, n, sizeof *parts, slice_cmp);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (parts[i].n) rc = add_term(sel, s, parts[i], &msg);
    if (n) free(parts);
    if (rc < 0) {
        fail(err, "", msg.p);
        free(msg.p);
        kc_fieldsel_free(sel);
        return -1;
    }
    *out = sel;
    return 0;
}

size_t kc_fieldsel_nterms(const kc_fieldsel *s)
{
    return s ? s->n : 0;
}

const char *kc_fieldsel_field(const kc_fieldsel *s, size_t i)
{
    return s && i < s->n ? s->terms[i].field : NULL;
}

const char *kc_fieldsel_value(const kc_fieldsel *s, size_t i)
{
    return s && i < s->n ? s->terms[i].value : NULL;
}

bool kc_fieldsel_negated(const kc_fieldsel *s, size_t i)
{
    return s && i < s->n && s->terms[i].neg;
}

bool kc_fieldsel_match(const kc_fieldsel *s, kc_fieldsel_get get, void *ctx)
{
    for (size_t i = 0; s && i < s->n; i++) {
        const char *v = get(ctx, s->terms[i].field);
        if ((strcmp(v ? v : "", s->terms[i].value) == 0) == s->terms[i].neg) return false;
    }
    return true;
}

bool kc_fieldsel_empty(const kc_fieldsel *s)
{
    return !s || s->n == 0;
}

const char *kc_fieldsel_exact(const kc_fieldsel *s, const char *field)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!s->terms[i].neg && !strcmp(s->terms[i].field, field)) return s->terms[i].value;
    return NULL;
}

/* EscapeValue: '\' -> "\\", ',' -> "\,", '=' -> "\=". */
static void put_escaped(buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == ',' || *v == '=') bput(b, "\\", 1);
        bput(b, v, 1);
    }
}

char *kc_fieldsel_string(const kc_fieldsel *s)
{
    buf b = {0};
    bputs(&b, "");
    for (size_t i = 0; s && i < s->n; i++) {
        if (i) bputs(&b, ",");
        bputs(&b, s->terms[i].field);
        bputs(&b, s->terms[i].neg ? "!=" : "=");
        put_escaped(&b, s->terms[i].value);
    }
    return b.p;
}

void kc_fieldsel_free(kc_fieldsel *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->terms[i].field);
        free(s->terms[i].value);
    }
    free(s->terms);
    free(s);
}
