/* Typed client calls over a transport's single roundtrip: paths from the resource table,
 * Status answers turned back into kc_err with their reason, bodies into kc_obj. */
#include "client/client.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <stdio.h>

struct kc_client {
    const kc_transport_ops *ops;
    void *t;
    char *agent;
};

struct kc_watch {
    void *handle;
};

kc_client *kc_client_new(const kc_transport_ops *ops, void *transport, const char *user_agent)
{
    kc_client *c = xcalloc(1, sizeof *c);
    c->ops = ops;
    c->t = transport;
    c->agent = xstrdup(user_agent ? user_agent : "kubec");
    return c;
}

void kc_client_free(kc_client *c)
{
    if (!c) return;
    if (c->ops->close) c->ops->close(c->t);
    free(c->agent);
    free(c);
}

void kc_cresp_release(kc_cresp *rs)
{
    free(rs->body);
    kc_obj_unref(rs->obj);
    for (size_t i = 0; i < rs->n; i++) kc_obj_unref(rs->objs[i]);
    free(rs->objs);
    *rs = (kc_cresp){0};
}

char *kc_client_path(int res, const char *ns, const char *name, const char *sub)
{
    const kc_resource *r = &kc_resources[res];
    kc_buf b = KC_BUF_INIT;
    if (r->group[0])
        kc_buf_addf(&b, "/apis/%s/%s", r->group, r->version);
    else
        kc_buf_addf(&b, "/api/%s", r->version);
    if (r->namespaced && ns && ns[0]) kc_buf_addf(&b, "/namespaces/%s", ns);
    kc_buf_addf(&b, "/%s", r->resource);
    if (name) kc_buf_addf(&b, "/%s", name);
    if (name && sub) kc_buf_addf(&b, "/%s", sub);
    return kc_buf_take(&b);
}

static kc_reason reason_from(const char *name, int code)
{
    for (int r = KC_EBADREQUEST; r <= KC_EUNAVAILABLE; r++)
        if (name && !strcmp(kc_reason_name((kc_reason)r), name)) return (kc_reason)r;
    switch (code) {
    case 400: return KC_EBADREQUEST;
    case 403: return KC_EFORBIDDEN;
    case 404: return KC_ENOTFOUND;
    case 409: return KC_ECONFLICT;
    case 410: return KC_EGONE;
    case 422: return KC_EINVALID;
    default: return KC_EINTERNAL;
    }
}

/* A non-2xx answer as kc_err (the Status's reason and message, and its causes). */
static int answer_error(kc_cresp *rs, kc_err *err)
{
    json_t *st = rs->body ? json_loadb(rs->body, rs->len, 0, NULL) : NULL;
    const char *reason = json_string_value(json_object_get(st, "reason"));
    const char *msg = json_string_value(json_object_get(st, "message"));
    kc_errf(err, reason_from(reason, rs->code), "%s", msg ? msg : "request failed");
    json_t *causes = json_object_get(json_object_get(st, "details"), "causes");
    if (json_is_array(causes)) err->causes = json_incref(causes);
    json_decref(st);
    return -1;
}

static int call(kc_client *c, const kc_creq *rq, kc_cresp *rs, kc_err *err)
{
    *rs = (kc_cresp){0};
    if (c->ops->roundtrip(c->t, rq, rs, err) < 0) return -1;
    if (rs->code < 200 || rs->code > 299) {
        answer_error(rs, err);
        kc_cresp_release(rs);
        return -1;
    }
    return 0;
}

/* The single object of an answer: shared (in-process) or built from the body (HTTP). */
static int take_obj(int res, kc_cresp *rs, kc_obj **out, kc_err *err)
{
    if (!out) return 0;
    if (rs->obj) {
        *out = rs->obj;
        rs->obj = NULL;
        return 0;
    }
    *out = kc_obj_from_bytes(res, rs->body ? rs->body : "", rs->len, err);
    return *out ? 0 : -1;
}

static int object_call(kc_client *c, kc_creq *rq, kc_obj **out, kc_err *err)
{
    kc_cresp rs;
    if (out) *out = NULL;
    if (call(c, rq, &rs, err) < 0) return -1;
    int rc = take_obj(rq->res, &rs, out, err);
    kc_cresp_release(&rs);
    return rc;
}

int kc_client_get(kc_client *c, int res, const char *ns, const char *name, kc_obj **out, kc_err *err)
{
    char *path = kc_client_path(res, ns, name, NULL);
    kc_creq rq = {"GET", path, NULL, NULL, NULL, 0, res};
    int rc = object_call(c, &rq, out, err);
    free(path);
    return rc;
}

static char *field_manager_query(kc_client *c)
{
    char *q = xmalloc(strlen(c->agent) + 16);
    sprintf(q, "fieldManager=%s", c->agent);
    return q;
}

static int body_call(kc_client *c, const char *method, int res, const char *ns, const char *name, const char *sub,
                     const char *ctype, const char *body, kc_obj **out, kc_err *err)
{
    char *path = kc_client_path(res, ns, name, sub), *q = field_manager_query(c);
    bool scale = sub && !strcmp(sub, "scale"); /* answers a Scale, not the resource: no object */
    kc_creq rq = {method, path, q, ctype, body, body ? strlen(body) : 0, scale ? -1 : res};
    if (scale && out) *out = NULL;
    int rc = object_call(c, &rq, scale ? NULL : out, err);
    free(path);
    free(q);
    return rc;
}

int kc_client_create(kc_client *c, int res, const char *ns, json_t *obj, kc_obj **out, kc_err *err)
{
    char *body = json_dumps(obj, JSON_COMPACT);
    int rc = body_call(c, "POST", res, ns, NULL, NULL, "application/json", body, out, err);
    free(body);
    return rc;
}

int kc_client_update(kc_client *c, int res, json_t *obj, const char *sub, kc_obj **out, kc_err *err)
{
    json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!name) return kc_errf(err, KC_EBADREQUEST, "update: object has no name");
    char *body = json_dumps(obj, JSON_COMPACT);
    int rc = body_call(c, "PUT", res, ns, name, sub, "application/json", body, out, err);
    free(body);
    return rc;
}

int kc_client_patch(kc_client *c, int res, const char *ns, const char *name, const char *sub, const char *ctype,
                    const char *patch, kc_obj **out, kc_err *err)
{
    return body_call(c, "PATCH", res, ns, name, sub, ctype, patch, out, err);
}

int kc_client_delete(kc_client *c, int res, const char *ns, const char *name, json_t *opts, kc_err *err)
{
    char *body = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
    int rc = body_call(c, "DELETE", res, ns, name, NULL, body ? "application/json" : NULL, body, NULL, err);
    free(body);
    return rc;
}

int kc_client_post_sub(kc_client *c, int res, const char *ns, const char *name, const char *sub, json_t *body,
                       kc_err *err)
{
    char *s = json_dumps(body, JSON_COMPACT);
    char *path = kc_client_path(res, ns, name, sub);
    kc_creq rq = {"POST", path, NULL, "application/json", s, strlen(s), -1};
    kc_cresp rs;
    int rc = call(c, &rq, &rs, err);
    if (rc == 0) kc_cresp_release(&rs);
    free(path);
    free(s);
    return rc;
}

static char *list_query(const char *lsel, const char *fsel, uint64_t rev, bool watch)
{
    kc_buf b = KC_BUF_INIT;
    const char *sep = "";
    static const char hex[] = "0123456789ABCDEF";
    const char *names[] = {"labelSelector", "fieldSelector"}, *vals[] = {lsel, fsel};
    for (int i = 0; i < 2; i++) {
        if (!vals[i] || !vals[i][0]) continue;
        kc_buf_addf(&b, "%s%s=", sep, names[i]);
        for (const unsigned char *p = (const unsigned char *)vals[i]; *p; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
                kc_buf_add(&b, p, 1);
            else
                kc_buf_add(&b, (char[]){'%', hex[*p >> 4], hex[*p & 15]}, 3);
        }
        sep = "&";
    }
    if (watch) kc_buf_addf(&b, "%swatch=true&allowWatchBookmarks=true&resourceVersion=%llu", sep, (unsigned long long)rev);
    return kc_buf_take(&b);
}

/* Builds list items from an HTTP body. */
static int items_from_body(int res, kc_cresp *rs, kc_err *err)
{
    json_t *doc = json_loadb(rs->body ? rs->body : "", rs->len, 0, NULL);
    json_t *items = json_object_get(doc, "items");
    if (!json_is_array(items)) {
        json_decref(doc);
        return kc_errf(err, KC_EINTERNAL, "list: answer has no items");
    }
    const char *rv = json_string_value(json_object_get(json_object_get(doc, "metadata"), "resourceVersion"));
    rs->rev = rv ? strtoull(rv, NULL, 10) : 0;
    rs->n = json_array_size(items);
    rs->objs = xcalloc(rs->n + 1, sizeof *rs->objs);
    const kc_resource *r = &kc_resources[res];
    for (size_t i = 0; i < rs->n; i++) {
        json_t *it = json_array_get(items, i);
        json_object_set_new(it, "kind", json_string(r->kind));
        json_object_set_new(it, "apiVersion", json_string(kc_resource_api_version(r)));
        rs->objs[i] = kc_obj_build(res, it);
    }
    json_decref(doc);
    return 0;
}

int kc_client_list(kc_client *c, int res, const char *ns, const char *lsel, const char *fsel, kc_obj ***out,
                   size_t *n, uint64_t *rev, kc_err *err)
{
    char *path = kc_client_path(res, ns, NULL, NULL), *q = list_query(lsel, fsel, 0, false);
    kc_creq rq = {"GET", path, q[0] ? q : NULL, NULL, NULL, 0, res};
    kc_cresp rs;
    int rc = call(c, &rq, &rs, err);
    free(path);
    free(q);
    if (rc < 0) return -1;
    if (!rs.objs && items_from_body(res, &rs, err) < 0) {
        kc_cresp_release(&rs);
        return -1;
    }
    *out = rs.objs;
    *n = rs.n;
    if (rev) *rev = rs.rev;
    rs.objs = NULL;
    rs.n = 0;
    kc_cresp_release(&rs);
    return 0;
}

kc_watch *kc_client_watch(kc_client *c, int res, const char *ns, const char *lsel, const char *fsel, uint64_t rev,
                          kc_watch_cb cb, void *ud, kc_err *err)
{
    char *path = kc_client_path(res, ns, NULL, NULL), *q = list_query(lsel, fsel, rev, true);
    kc_creq rq = {"GET", path, q, NULL, NULL, 0, res};
    void *h = c->ops->watch(c->t, &rq, cb, ud, err);
    free(path);
    free(q);
    if (!h) return NULL;
    kc_watch *w = xcalloc(1, sizeof *w);
    w->handle = h;
    return w;
}

void kc_client_watch_stop(kc_client *c, kc_watch *w)
{
    if (!w) return;
    c->ops->watch_stop(c->t, w->handle);
    free(w);
}
