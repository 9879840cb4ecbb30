/* LIST: label and field selectors, limit/continue paging, resourceVersion semantics (unset and
 * "0" read the latest state; NotOlderThan waits for nothing and answers 504 for a future
 * revision; Exact and continue read a past revision from the watch ring). The answer is built
 * from the stored bytes of each object: nothing is re-encoded. */
#include "apiserver/crud.h"
#include "apiserver/tableview.h"
#include "api/selector.h"
#include "lib/xalloc.h"
#include <inttypes.h>
#include <stdio.h>

typedef struct kc_selection {
    kc_labelsel *ls;
    kc_fieldsel *fs;
    int res;
    const char *name; /* metadata.name=<x> when the field selector pins it */
} kc_selection;

void kc_selection_free(kc_selection *s)
{
    if (!s) return;
    kc_labelsel_free(s->ls);
    kc_fieldsel_free(s->fs);
    free(s);
}

static int check_fields(int res, kc_fieldsel *fs, kc_err *err)
{
    for (size_t i = 0; i < kc_fieldsel_nterms(fs); i++) {
        const char *f = kc_fieldsel_field(fs, i);
        if (strcmp(f, "metadata.name") && strcmp(f, "metadata.namespace") &&
            kc_resource_field_index(&kc_resources[res], f) < 0)
            return kc_errf(err, KC_EBADREQUEST, "field label not supported: %s", f);
    }
    return 0;
}

/* Parses labelSelector and fieldSelector once per request. */
static int selection(kc_req *r, int res, kc_err *err)
{
    if (r->sel) return 0;
    kc_selection *s = xcalloc(1, sizeof *s);
    s->res = res;
    const char *ls = kc_req_query(r, "labelSelector"), *fs = kc_req_query(r, "fieldSelector");
    if (kc_labelsel_parse(ls ? ls : "", &s->ls, err) < 0 || kc_fieldsel_parse(fs ? fs : "", &s->fs, err) < 0 ||
        check_fields(res, s->fs, err) < 0) {
        kc_selection_free(s);
        return -1;
    }
    s->name = kc_fieldsel_exact(s->fs, "metadata.name");
    r->sel = s;
    return 0;
}

static const char *obj_field(void *ctx, const char *field)
{
    const char *v = kc_obj_field(ctx, field);
    return v ? v : "";
}

static bool sel_match(const kc_selection *s, const kc_obj *o)
{
    if (s->name && strcmp(s->name, o->name)) return false;
    return kc_labelsel_match(s->ls, o->labels) && kc_fieldsel_match(s->fs, obj_field, (void *)o);
}

bool kc_list_matches(kc_req *r, const kc_obj *o)
{
    kc_err err = KC_ERR_INIT;
    if (selection(r, o->res, &err) < 0) {
        kc_err_release(&err);
        return false;
    }
    return sel_match(r->sel, o);
}

int kc_watch_selection(kc_req *r, int res, kc_err *err)
{
    return selection(r, res, err);
}

bool kc_watch_matches(const kc_req *r, const kc_obj *o)
{
    return sel_match(r->sel, o);
}

/* ---- continue tokens: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<last key>"} ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(const char *s, size_t n)
{
    kc_buf b = KC_BUF_INIT;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        char o[4] = {b64[v >> 18], b64[(v >> 12) & 63], b64[(v >> 6) & 63], b64[v & 63]};
        kc_buf_add(&b, o, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
    }
    return kc_buf_take(&b);
}

static char *b64_decode(const char *s)
{
    kc_buf b = KC_BUF_INIT;
    uint32_t v = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(b64, *s == '+' ? '-' : *s == '/' ? '_' : *s);
        if (!p || !*s) {
            kc_buf_release(&b);
            return NULL;
        }
        v = (v << 6) | (uint32_t)(p - b64);
        if ((bits += 6) >= 8) {
            char c = (char)(v >> (bits -= 8));
            kc_buf_add(&b, &c, 1);
        }
    }
    return kc_buf_take(&b);
}

static int parse_continue(const char *tok, uint64_t *rev, char **start, kc_err *err)
{
    char *raw = b64_decode(tok);
    json_t *j = raw ? json_loads(raw, 0, NULL) : NULL;
    free(raw);
    json_t *rv = json_object_get(j, "rv"), *st = json_object_get(j, "start");
    if (!json_is_integer(rv) || !json_is_string(st) || json_integer_value(rv) <= 0) {
        json_decref(j);
        return kc_errf(err, KC_EBADREQUEST, "continue key is not valid: incorrect encoded start resourceVersion");
    }
    *rev = (uint64_t)json_integer_value(rv);
    *start = xstrdup(json_string_value(st));
    json_decref(j);
    return 0;
}

static char *make_continue(uint64_t rev, const char *key)
{
    json_t *j = json_pack("{s:s,s:I,s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rev, "start", key);
    char *raw = json_dumps(j, JSON_COMPACT);
    char *tok = b64_encode(raw, strlen(raw));
    free(raw);
    json_decref(j);
    return tok;
}

/* ---- the list itself ---- */

typedef struct lister {
    kc_req *r;
    kc_buf out;
    long limit, n;
    const kc_obj *last;
    bool more;
    int table; /* -1: plain list; else KC_INCLUDE_* for Table rows */
} lister;

static bool list_one(void *ud, const kc_obj *o)
{
    lister *l = ud;
    if (!sel_match(l->r->sel, o)) return true;
    if (l->limit > 0 && l->n == l->limit) {
        l->more = true;
        return false;
    }
    if (l->n++) kc_buf_add(&l->out, ",", 1);
    if (l->table >= 0)
        kc_table_add_row(&l->out, o, l->table);
    else
        kc_buf_add(&l->out, o->json, o->len);
    l->last = o;
    return true;
}

/* The revision to read at: 0 = latest. */
static int read_revision(kc_req *r, kc_store *st, uint64_t *rev, char **start, kc_err *err)
{
    const char *tok = kc_req_query(r, "continue"), *rvq = kc_req_query(r, "resourceVersion");
    const char *match = kc_req_query(r, "resourceVersionMatch");
    *rev = 0;
    *start = NULL;
    if (tok && tok[0]) {
        if (rvq && rvq[0] && strcmp(rvq, "0"))
            return kc_errf(err, KC_EBADREQUEST, "specifying resource version is not allowed when using continue");
        if (parse_continue(tok, rev, start, err) < 0) return -1;
        if (*rev < kc_store_oldest_rev(st))
            return kc_errf(err, KC_EEXPIRED,
                           "The provided continue parameter is too old to display a consistent list result. You can "
                           "start a new list without the continue parameter, or use the continue token in this "
                           "response to retrieve the remainder of the results.");
        return 0;
    }
    if (match && match[0] && (!rvq || !rvq[0]))
        return kc_errf(err, KC_EBADREQUEST, "resourceVersionMatch is forbidden unless resourceVersion is provided");
    if (!rvq || !rvq[0] || !strcmp(rvq, "0")) return 0;
    bool ok;
    uint64_t want = kc_parse_rv(rvq, &ok);
    if (!ok) return kc_errf(err, KC_EBADREQUEST, "invalid resource version: %s", rvq);
    if (want > kc_store_rev(st))
        return kc_errf(err, KC_ETIMEOUT, "Too large resource version: %" PRIu64 ", current: %" PRIu64, want,
                       kc_store_rev(st));
    bool legacy_exact = (!match || !match[0]) && kc_req_query(r, "limit") && atol(kc_req_query(r, "limit")) > 0;
    if ((match && !strcmp(match, "Exact")) || legacy_exact) *rev = want; /* KEP-2523: limit + RV means Exact */
    else if (match && match[0] && strcmp(match, "NotOlderThan"))
        return kc_errf(err, KC_EBADREQUEST, "resourceVersionMatch: Unsupported value: \"%s\"", match);
    return 0;
}

char *kc_list_body(kc_req *r, int res, const char *ns, size_t *len, kc_err *err)
{
    const kc_resource *rd = &kc_resources[res];
    kc_store *st = r->srv->store;
    uint64_t rev;
    char *start = NULL;
    if (selection(r, res, err) < 0 || read_revision(r, st, &rev, &start, err) < 0) return NULL;
    const char *lim = kc_req_query(r, "limit");
    lister l = {r, KC_BUF_INIT, lim ? atol(lim) : 0, 0, NULL, false, kc_wants_table(r) ? kc_table_include(r) : -1};
    if (l.table >= 0)
        kc_buf_adds(&l.out, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\"");
    else
        kc_buf_addf(&l.out, "{\"kind\":\"%sList\",\"apiVersion\":\"%s\"", rd->kind, kc_resource_api_version(rd));
    kc_buf_addf(&l.out, ",\"metadata\":{\"resourceVersion\":\"%" PRIu64 "\"", rev ? rev : kc_store_rev(st));
    size_t meta_end = l.out.len;
    kc_buf_adds(&l.out, "}");
    if (l.table >= 0)
        kc_table_rows_start(&l.out, res);
    else
        kc_buf_adds(&l.out, ",\"items\":[");
    int rc = kc_store_list(st, res, ns, start, rev, list_one, &l, err);
    free(start);
    if (rc < 0) {
        kc_buf_release(&l.out);
        return NULL;
    }
    kc_buf_adds(&l.out, "]}");
    if (l.more && l.last) { /* splice the continue token into metadata */
        char *tok = make_continue(rev ? rev : kc_store_rev(st), l.last->key);
        kc_buf ins = KC_BUF_INIT;
        kc_buf_addf(&ins, ",\"continue\":\"%s\"", tok);
        kc_buf_grow(&l.out, ins.len);
        memmove(l.out.data + meta_end + ins.len, l.out.data + meta_end, l.out.len - meta_end + 1);
        memcpy(l.out.data + meta_end, ins.data, ins.len);
        l.out.len += ins.len;
        kc_buf_release(&ins);
        free(tok);
    }
    *len = l.out.len;
    return kc_buf_take(&l.out);
}

typedef struct objlist {
    kc_req *r;
    kc_obj **v;
    size_t n, cap;
} objlist;

static bool collect_obj(void *ud, const kc_obj *o)
{
    objlist *l = ud;
    if (!sel_match(l->r->sel, o)) return true;
    if (l->n + 1 >= l->cap) l->v = xrealloc(l->v, (l->cap = l->cap ? l->cap * 2 : 64) * sizeof *l->v);
    kc_obj_ref(o);
    l->v[l->n++] = (kc_obj *)o;
    return true;
}

/* In-process lists hand over the objects themselves (no paging: components list everything). */
static void list_inproc(kc_req *r, int res, const char *ns)
{
    kc_err err = KC_ERR_INIT;
    uint64_t rev;
    char *start = NULL;
    objlist l = {r, NULL, 0, 0};
    if (selection(r, res, &err) < 0 || read_revision(r, r->srv->store, &rev, &start, &err) < 0 ||
        kc_store_list(r->srv->store, res, ns, start, rev, collect_obj, &l, &err) < 0) {
        free(start);
        for (size_t i = 0; i < l.n; i++) kc_obj_unref(l.v[i]);
        free(l.v);
        kc_reply_err(r, &err, &kc_resources[res], NULL);
        kc_err_release(&err);
        return;
    }
    free(start);
    r->replied = true;
    kc_inproc_complete_list(r->inproc, l.v ? l.v : xcalloc(1, sizeof *l.v), l.n, rev ? rev : kc_store_rev(r->srv->store));
}

void kc_handle_list(kc_req *r, int res, const char *ns)
{
    kc_err err = KC_ERR_INIT;
    if (r->inproc) {
        list_inproc(r, res, ns);
        return;
    }
    size_t len;
    char *body = kc_list_body(r, res, ns, &len, &err);
    if (!body) {
        kc_reply_err(r, &err, &kc_resources[res], NULL);
        kc_err_release(&err);
        return;
    }
    kc_reply(r, 200, kc_wants_table(r) ? KC_TABLE_CTYPE : "application/json", body, len);
}
