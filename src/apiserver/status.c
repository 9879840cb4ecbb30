/* Errors as metav1.Status documents, shaped as the real API server shapes them so that kubectl
 * prints the same lines (spec/kubectl-wire.md 1.1). */
#include "apiserver/apiserver.h"
#include "lib/xalloc.h"

char *kc_status_json(const kc_err *err, const kc_resource *res, const char *name, const char *kind)
{
    json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
                           "status", "Failure", "message", err->msg, "reason", kc_reason_name(err->reason), "code",
                           kc_reason_code(err->reason));
    if (err->reason == KC_EEXPIRED || err->reason == KC_EGONE) json_object_set_new(st, "reason", json_string("Expired"));
    if (res || name || err->causes) {
        json_t *d = json_object();
        if (name) json_object_set_new(d, "name", json_string(name));
        if (res) json_object_set_new(d, "group", json_string(res->group));
        if (kind)
            json_object_set_new(d, "kind", json_string(kind));
        else if (res)
            json_object_set_new(d, "kind", json_string(res->resource));
        if (err->causes) json_object_set(d, "causes", err->causes);
        json_object_set_new(st, "details", d);
    }
    char *s = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    return s;
}

void kc_reply_err(kc_req *r, const kc_err *err, const kc_resource *res, const char *name)
{
    const char *kind = err->reason == KC_EINVALID && res ? res->kind : NULL;
    char *s = kc_status_json(err, res, name, kind);
    kc_reply(r, kc_reason_code(err->reason), "application/json", s, strlen(s));
}

/* `Pod "x" is invalid: field: message` or, with several causes,
 * `Pod "x" is invalid: [a: m1, b: m2]`, as apimachinery's NewInvalid words it. */
int kc_err_invalid(kc_err *err, const char *kind, const char *name)
{
    kc_buf b = KC_BUF_INIT;
    size_t n = kc_err_ncauses(err), i;
    json_t *c;
    kc_buf_addf(&b, "%s \"%s\" is invalid: %s", kind, name ? name : "", n > 1 ? "[" : "");
    json_array_foreach(err->causes, i, c)
    {
        const char *f = json_string_value(json_object_get(c, "field"));
        kc_buf_addf(&b, "%s%s%s%s", i ? ", " : "", f && f[0] ? f : "", f && f[0] ? ": " : "",
                    json_string_value(json_object_get(c, "message")));
    }
    if (n > 1) kc_buf_adds(&b, "]");
    if (!n) kc_buf_adds(&b, err->msg);
    err->reason = KC_EINVALID;
    snprintf(err->msg, sizeof err->msg, "%s", b.data);
    kc_buf_release(&b);
    return -1;
}
