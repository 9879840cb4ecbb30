/* Updates: PUT, PATCH (JSON merge patch, JSON patch), the status and scale subresources.
 * kc_finish_update holds the update rules (rest.BeforeUpdate and each kind's strategy):
 * preconditions, system fields kept, status only through /status, generation moving only on
 * spec changes, no-op detection (no new resourceVersion), and deletion once the last finalizer
 * of a deleting object is gone. */
#include "apiserver/crud.h"
#include "api/patch.h"
#include "api/selector.h"
#include "api/defaults.h"
#include "api/smp.h"
#include "api/ssa.h"
#include "lib/jsonr.h"
#include "lib/xalloc.h"
#include <inttypes.h>
#include <stdio.h>

static int not_found(const kc_resource *rd, const char *name, kc_err *err)
{
    return kc_errf(err, KC_ENOTFOUND, "%s%s%s \"%s\" not found", rd->resource, rd->group[0] ? "." : "", rd->group,
                   name);
}

static int conflict(const kc_resource *rd, const char *name, kc_err *err)
{
    return kc_errf(err, KC_ECONFLICT,
                   "Operation cannot be fulfilled on %s%s%s \"%s\": the object has been modified; please apply your "
                   "changes to the latest version and try again",
                   rd->resource, rd->group[0] ? "." : "", rd->group, name);
}

/* A resourceVersion carried by the new object is a precondition. */
static int check_rv(const kc_resource *rd, const kc_obj *cur, json_t *md, kc_err *err)
{
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    if (!rv || !rv[0]) return 0;
    bool ok;
    uint64_t want = kc_parse_rv(rv, &ok);
    if (!ok)
        return kc_errf(err, KC_EINVALID, "%s \"%s\" is invalid: metadata.resourceVersion: Invalid value: \"%s\": must "
                       "be a decimal number", rd->kind, cur->name, rv);
    return want == cur->rev ? 0 : conflict(rd, cur->name, err);
}

static int check_identity(const kc_resource *rd, const kc_obj *cur, json_t *md, kc_err *err)
{
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *uid = json_string_value(json_object_get(md, "uid"));
    if (name && name[0] && strcmp(name, cur->name))
        return kc_errf(err, KC_EBADREQUEST, "the name of the object (%s) does not match the name on the URL (%s)", name,
                       cur->name);
    if (rd->namespaced && ns && ns[0] && strcmp(ns, cur->ns))
        return kc_errf(err, KC_EBADREQUEST,
                       "the namespace of the provided object does not match the namespace sent on the request");
    if (uid && uid[0] && strcmp(uid, cur->uid))
        return kc_errf(err, KC_ECONFLICT, "Precondition failed: UID in precondition: %s, UID in object meta: %s", uid,
                       cur->uid);
    json_object_set_new(md, "name", json_string(cur->name));
    if (rd->namespaced)
        json_object_set_new(md, "namespace", json_string(cur->ns));
    else
        json_object_del(md, "namespace");
    return 0;
}

static void copy_field(json_t *dst, json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    if (v)
        json_object_set(dst, key, v);
    else
        json_object_del(dst, key);
}

/* Everything but metadata and status differs? (what moves metadata.generation) */
static bool spec_changed(json_t *a, json_t *b)
{
    json_t *x = json_copy(a), *y = json_copy(b);
    static const char *skip[] = {"metadata", "status", "kind", "apiVersion"};
    for (int i = 0; i < 4; i++) {
        json_object_del(x, skip[i]);
        json_object_del(y, skip[i]);
    }
    bool eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return !eq;
}

static int check_finalizers(const kc_resource *rd, json_t *old_md, json_t *md, const kc_obj *cur, kc_err *err)
{
    if (!cur->deleting) return 0;
    json_t *oldf = json_object_get(old_md, "finalizers"), *f, *o;
    size_t i, j;
    json_array_foreach(json_object_get(md, "finalizers"), i, f)
    {
        bool found = false;
        json_array_foreach(oldf, j, o) if (json_equal(o, f)) found = true;
        if (!found) {
            kc_err_cause(err, "FieldValueForbidden", "metadata.finalizers",
                         "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                         "finalizers []string{\"%s\"}",
                         json_string_value(f));
            return kc_err_invalid(err, rd->kind, cur->name);
        }
    }
    return 0;
}

/* Builds the object to store from the request's document (main resource or /status). */
static json_t *merge_update(int res, json_t *old, json_t *doc, const char *sub)
{
    json_t *old_md = json_object_get(old, "metadata");
    if (sub && !strcmp(sub, "status")) {
        json_t *nw = json_deep_copy(old);
        copy_field(nw, doc, "status");
        return nw;
    }
    json_t *md = json_object_get(doc, "metadata");
    static const char *sys[] = {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                                "generation"};
    for (size_t i = 0; i < sizeof sys / sizeof *sys; i++) copy_field(md, old_md, sys[i]);
    json_t *mf = json_object_get(md, "managedFields"); /* kept unless the client sets them */
    if (!mf || json_is_null(mf)) copy_field(md, old_md, "managedFields");
    json_object_del(md, "selfLink");
    if (kc_resources[res].subresources & KC_SUB_STATUS) copy_field(doc, old, "status");
    if (!strcmp(kc_resources[res].kind, "Namespace")) {
        copy_field(doc, old, "spec");
    }
    if (kc_resources[res].has_generation && spec_changed(doc, old)) {
        json_int_t g = json_integer_value(json_object_get(old_md, "generation"));
        json_object_set_new(md, "generation", json_integer(g + 1));
    }
    return json_incref(doc);
}

int kc_finish_update(kc_req *r, int res, const kc_obj *cur, json_t *doc, const char *sub, kc_err *err)
{
    const kc_resource *rd = &kc_resources[res];
    json_t *md = json_object_get(doc, "metadata");
    if (!json_is_object(md)) json_object_set_new(doc, "metadata", md = json_object());
    if (check_identity(rd, cur, md, err) < 0 || check_rv(rd, cur, md, err) < 0) return -1;
    json_t *old = kc_obj_parse(cur), *nw = merge_update(res, old, doc, sub);
    json_t *nmd = json_object_get(nw, "metadata");
    int rc = -1;
    if (check_finalizers(rd, json_object_get(old, "metadata"), nmd, cur, err) < 0) goto out;
    bool svc = !strcmp(rd->kind, "Service") && !sub;
    if (svc) kc_service_keep_allocated(nw, old);
    if (!strcmp(rd->kind, "Pod") && !sub) kc_admit_pod_priority_update(nw, old);
    if (!strcmp(rd->kind, "DaemonSet") && !sub) kc_admit_daemonset(nw, old);
    if (kc_validate_object(res, nw, old, sub, err) < 0) goto out;
    if (!strcmp(rd->kind, "PriorityClass") && kc_admit_priority_class(r->srv, nw, old, err) < 0) goto out;
    if (svc && !kc_dry_run(r) && kc_service_allocate(r->srv, nw, old, err) < 0) goto out;
    char rv[24], now[32];
    snprintf(rv, sizeof rv, "%" PRIu64, cur->rev);
    json_object_set_new(nmd, "resourceVersion", json_string(rv));
    kc_now_rfc3339(now);
    if (!r->ssa) kc_ssa_track_update(kc_schema_type(rd->schema_type), old, nw, kc_field_manager(r), sub, now);
    rc = 0;
    if (json_equal(nw, old)) { /* no-op: same object, same resourceVersion */
        if (r->reply_scale)
            kc_handle_get_scale(r, res, cur);
        else
            kc_reply_obj(r, 200, cur);
        goto out;
    }
    if (kc_dry_run(r)) {
        kc_reply_json(r, 200, json_incref(nw));
        goto out;
    }
    bool gone = cur->deleting && !json_array_size(json_object_get(nmd, "finalizers")) &&
                strcmp(rd->kind, "Namespace");
    const kc_obj *out;
    rc = kc_store_write(r->srv->store, gone ? KC_WRITE_DELETE : KC_WRITE_UPDATE, res, json_incref(nw), cur->rev,
                        kc_store_done, r, &out, err);
    if (rc == 0) {
        kc_req_ref(r);
        kc_reply_when_durable(r, 200);
    }
out:
    json_decref(old);
    json_decref(nw);
    return rc;
}

/* ---- scale ---- */

static json_t *scale_doc(int res, const kc_obj *cur)
{
    json_t *o = kc_obj_parse(cur), *md = json_object_get(o, "metadata");
    json_t *spec = json_object_get(o, "spec"), *status = json_object_get(o, "status");
    kc_labelsel *ls = NULL;
    kc_err err = KC_ERR_INIT;
    char *sel = NULL;
    if (kc_labelsel_from_json(json_object_get(spec, "selector"), &ls, &err) == 0) sel = kc_labelsel_string(ls);
    kc_labelsel_free(ls);
    kc_err_release(&err);
    json_int_t want = json_is_integer(json_object_get(spec, "replicas")) ? json_integer_value(json_object_get(spec, "replicas")) : 1;
    json_t *s = json_pack("{s:s,s:s,s:{s:O,s:O,s:O,s:O,s:O},s:{s:I},s:{s:I}}", "kind", "Scale", "apiVersion",
                          "autoscaling/v1", "metadata", "name", json_object_get(md, "name"), "namespace",
                          json_object_get(md, "namespace"), "uid", json_object_get(md, "uid"), "resourceVersion",
                          json_object_get(md, "resourceVersion"), "creationTimestamp",
                          json_object_get(md, "creationTimestamp"), "spec", "replicas", want, "status", "replicas",
                          json_integer_value(json_object_get(status, "replicas")));
    if (sel && sel[0]) json_object_set_new(json_object_get(s, "status"), "selector", json_string(sel));
    free(sel);
    json_decref(o);
    (void)res;
    return s;
}

void kc_handle_get_scale(kc_req *r, int res, const kc_obj *cur)
{
    kc_reply_json(r, 200, scale_doc(res, cur));
}

static int apply_scale(kc_req *r, int res, const kc_obj *cur, json_t *scale, kc_err *err)
{
    const kc_resource *rd = &kc_resources[res];
    if (kc_decode_object(r, -1, scale, "Scale", "autoscaling/v1", err) < 0) return -1;
    json_t *md = json_object_get(scale, "metadata");
    if (check_rv(rd, cur, md, err) < 0) return -1;
    json_t *rep = json_object_get(json_object_get(scale, "spec"), "replicas");
    json_int_t n = json_is_integer(rep) ? json_integer_value(rep) : 0;
    if (n < 0) {
        kc_err_cause(err, "FieldValueInvalid", "spec.replicas", "Invalid value: %" JSON_INTEGER_FORMAT ": must be greater than or equal to 0", n);
        return kc_err_invalid(err, "Scale", cur->name);
    }
    json_t *doc = kc_obj_parse(cur);
    json_t *spec = json_object_get(doc, "spec");
    if (!json_is_object(spec)) json_object_set_new(doc, "spec", spec = json_object());
    json_object_set_new(spec, "replicas", json_integer(n));
    r->reply_scale = true;
    int rc = kc_finish_update(r, res, cur, doc, NULL, err);
    json_decref(doc);
    return rc;
}

/* ---- PUT and PATCH ---- */

void kc_handle_update(kc_req *r, int res, const kc_obj *cur, const char *sub)
{
    kc_err err = KC_ERR_INIT;
    const kc_resource *rd = &kc_resources[res];
    json_t *doc = NULL;
    int bad;
    kc_fieldval mode = kc_field_validation(r, &err, &bad);
    const char *name = r->nseg ? r->seg[r->nseg - 1 - (sub != NULL)] : "";
    if (bad) goto fail;
    if (!cur) {
        not_found(rd, name, &err);
        goto fail;
    }
    if (kc_body_parse(r, mode == KC_FV_STRICT, &doc, &err) < 0) goto fail;
    if (sub && !strcmp(sub, "scale")) {
        if (apply_scale(r, res, cur, doc, &err) < 0) goto fail;
    } else if (kc_decode_object(r, res, doc, rd->kind, kc_resource_api_version(rd), &err) < 0 ||
               kc_finish_update(r, res, cur, doc, sub, &err) < 0) {
        goto fail;
    }
    json_decref(doc);
    return;
fail:
    kc_reply_err(r, &err, rd, name);
    kc_err_release(&err);
    json_decref(doc);
}

static bool ctype_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* The patched document. t: the schema type of base (strategic merge patch follows its merge keys). */
static json_t *apply_patch(kc_req *r, const kc_type *t, json_t *base, kc_err *err)
{
    const char *ct = r->ctype;
    bool merge = ctype_is(ct, "application/merge-patch+json"), jp = ctype_is(ct, "application/json-patch+json");
    bool smp = ctype_is(ct, "application/strategic-merge-patch+json");
    if (!merge && !jp && !smp)
        return kc_errf(err, KC_EUNSUPPORTED, "the body of the request was in an unknown format - accepted media types "
                       "include: application/json-patch+json, application/merge-patch+json, "
                       "application/apply-patch+yaml, application/strategic-merge-patch+json"), NULL;
    if (r->body_len > KC_MAX_BODY)
        return kc_errf(err, KC_ETOOLARGE, "Request entity too large: limit is %d", KC_MAX_BODY), NULL;
    json_error_t je;
    json_t *p = kc_json_loadb(r->body, r->body_len, 0, &je);
    if (!p) return kc_errf(err, KC_EBADREQUEST, "error decoding patch: %s", je.text), NULL;
    json_t *out = smp ? kc_smp_apply(t, base, p, err) : merge ? kc_patch_merge(base, p, err) : kc_patch_json(base, p, err);
    json_decref(p);
    if (out && !json_is_object(out)) {
        json_decref(out);
        return kc_errf(err, KC_EBADREQUEST, "the patched document is not an object"), NULL;
    }
    return out;
}

/* Server-side apply (application/apply-patch+yaml): merges the applied configuration into the
 * live object (or creates it) by the schema's list types, recording field ownership;
 * conflicts with other managers are 409 unless force=true. */
static int server_side_apply(kc_req *r, int res, const kc_obj *cur, const char *sub, kc_err *err)
{
    const kc_resource *rd = &kc_resources[res];
    const char *manager = kc_req_query(r, "fieldManager");
    if (!manager || !manager[0])
        return kc_errf(err, KC_EBADREQUEST, "PATCH with apply-patch+yaml requires fieldManager");
    json_t *applied = NULL, *live = NULL, *merged = NULL;
    int rc = -1;
    int bad;
    kc_fieldval mode = kc_field_validation(r, err, &bad);
    if (bad || kc_body_parse(r, mode == KC_FV_STRICT, &applied, err) < 0) goto out;
    if (kc_decode_raw(r, res, applied, rd->kind, kc_resource_api_version(rd), err) < 0) goto out;
    const kc_type *t = kc_schema_type(rd->schema_type);
    char now[32];
    kc_now_rfc3339(now);
    live = cur ? kc_obj_parse(cur) : NULL;
    bool force = kc_req_query_bool(r, "force");
    merged = sub ? kc_ssa_apply_subresource(t, live, applied, manager, sub, force, now, err)
                 : kc_ssa_apply(t, live, applied, manager, force, now, err);
    if (!merged) goto out;
    kc_defaults_apply(t, merged);
    r->ssa = true;
    const char *ns = r->nseg >= 4 && !strcmp(r->seg[r->nseg - 4 - (sub != NULL)], "namespaces")
                         ? r->seg[r->nseg - 3 - (sub != NULL)]
                         : json_string_value(json_object_get(json_object_get(applied, "metadata"), "namespace"));
    rc = cur ? kc_finish_update(r, res, cur, merged, sub, err) : kc_create_object(r, res, ns ? ns : "default", merged, err);
out:
    json_decref(applied);
    json_decref(live);
    json_decref(merged);
    return rc;
}

void kc_handle_patch(kc_req *r, int res, const kc_obj *cur, const char *sub)
{
    if (ctype_is(r->ctype, "application/apply-patch+yaml")) {
        kc_err err = KC_ERR_INIT;
        if (server_side_apply(r, res, cur, sub, &err) < 0) {
            kc_reply_err(r, &err, &kc_resources[res], r->nseg ? r->seg[r->nseg - 1 - (sub != NULL)] : NULL);
            kc_err_release(&err);
        }
        return;
    }
    kc_err err = KC_ERR_INIT;
    const kc_resource *rd = &kc_resources[res];
    const char *name = r->nseg ? r->seg[r->nseg - 1 - (sub != NULL)] : "";
    bool scale = sub && !strcmp(sub, "scale");
    json_t *base = NULL, *doc = NULL;
    if (!cur) {
        not_found(rd, name, &err);
        goto fail;
    }
    base = scale ? scale_doc(res, cur) : kc_obj_parse(cur);
    const kc_type *t = scale ? kc_schema_type("autoscaling/v1.Scale") : kc_schema_type(rd->schema_type);
    if (!(doc = apply_patch(r, t, base, &err))) goto fail;
    if (scale) {
        if (apply_scale(r, res, cur, doc, &err) < 0) goto fail;
    } else if (kc_decode_object(r, res, doc, rd->kind, kc_resource_api_version(rd), &err) < 0 ||
               kc_finish_update(r, res, cur, doc, sub, &err) < 0) {
        goto fail;
    }
    json_decref(base);
    json_decref(doc);
    return;
fail:
    if (err.reason == KC_EINVALID && !kc_err_ncauses(&err) && !strstr(err.msg, " is invalid"))
        kc_reply_err(r, &err, NULL, NULL); /* a failed patch op: kubectl prints "The request is invalid: ..." */
    else
        kc_reply_err(r, &err, rd, name);
    kc_err_release(&err);
    json_decref(base);
    json_decref(doc);
}
