/* Request handlers: dispatch by verb, body decoding, create, get, delete, deletecollection and
 * namespace termination. Updates, patches and subresources are in update.c; lists in list.c.
 * Everything written goes through kc_store_write (the single write path). */
#include "apiserver/crud.h"
#include "apiserver/tableview.h"
#include "api/defaults.h"
#include "api/names.h"
#include "api/proto.h"
#include "api/ssa.h"
#include "api/validation.h"
#include "lib/jsonr.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"
#include <inttypes.h>
#include <stdio.h>

/* ---- shared helpers ---- */

bool kc_dry_run(kc_req *r)
{
    const char *d = kc_req_query(r, "dryRun");
    return d && d[0];
}

uint64_t kc_parse_rv(const char *s, bool *ok)
{
    char *end;
    *ok = s && *s && *s != '-';
    if (!*ok) return 0;
    unsigned long long v = strtoull(s, &end, 10);
    *ok = *end == 0;
    return v;
}

void kc_store_done(void *ud, const kc_obj *obj)
{
    kc_req *r = ud;
    if (r->reply_scale)
        kc_handle_get_scale(r, obj->res, obj);
    else
        kc_reply_obj(r, (int)(intptr_t)r->ctx, obj);
    r->ctx = NULL;
    kc_req_unref(r);
}

void kc_reply_when_durable(kc_req *r, int code)
{
    r->ctx = (void *)(intptr_t)code;
}

static bool ctype_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

int kc_body_parse(kc_req *r, bool strict_dups, json_t **out, kc_err *err)
{
    *out = NULL;
    if (r->body_len > KC_MAX_BODY)
        return kc_errf(err, KC_ETOOLARGE, "Request entity too large: limit is %d", KC_MAX_BODY);
    const char *ct = r->ctype;
    if (ctype_is(ct, "application/vnd.kubernetes.protobuf")) {
        *out = kc_proto_decode_body(r->body, r->body_len, err);
        return *out ? 0 : -1;
    }
    bool yaml = ctype_is(ct, "application/yaml") || ctype_is(ct, "application/apply-patch+yaml");
    size_t skip = strspn(r->body, " \t\r\n");
    if (yaml && (skip >= r->body_len || r->body[skip] != '{')) { /* JSON bodies go to the JSON parser */
        *out = kc_yaml_decode(r->body, r->body_len, err);
        return *out ? 0 : -1;
    }
    if (!yaml && ct && !ctype_is(ct, "application/json") && !ctype_is(ct, "*/*") && ct[0])
        return kc_errf(err, KC_EUNSUPPORTED,
                       "the body of the request was in an unknown format - accepted media types include: "
                       "application/json, application/yaml");
    json_error_t je;
    *out = kc_json_loadb(r->body, r->body_len, strict_dups ? JSON_REJECT_DUPLICATES : 0, &je);
    if (!*out && strict_dups && strstr(je.text, "duplicate"))
        return kc_errf(err, KC_EBADREQUEST, "strict decoding error: %s", je.text);
    if (!*out)
        return kc_errf(err, KC_EBADREQUEST, "couldn't get version/kind; json parse error: %s (line %d, column %d)",
                       je.text, je.line, je.column);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return kc_errf(err, KC_EBADREQUEST, "couldn't get version/kind; json parse error: expected a JSON object");
    }
    return 0;
}

kc_fieldval kc_field_validation(kc_req *r, kc_err *err, int *bad)
{
    const char *v = kc_req_query(r, "fieldValidation");
    *bad = 0;
    if (!v || !v[0] || !strcmp(v, "Warn")) return KC_FV_WARN;
    if (!strcmp(v, "Strict")) return KC_FV_STRICT;
    if (!strcmp(v, "Ignore")) return KC_FV_IGNORE;
    *bad = kc_errf(err, KC_EBADREQUEST, "fieldValidation parameter unsupported: %s", v);
    return KC_FV_WARN;
}

int kc_decode_object(kc_req *r, int res, json_t *doc, const char *want_kind, const char *want_av, kc_err *err)
{
    if (kc_decode_raw(r, res, doc, want_kind, want_av, err) < 0) return -1;
    const kc_type *t = res >= 0 ? kc_schema_type(kc_resources[res].schema_type) : kc_schema_kind("autoscaling", "v1", want_kind);
    kc_defaults_apply(t, doc);
    return 0;
}

const char *kc_field_manager(kc_req *r)
{
    const char *m = kc_req_query(r, "fieldManager");
    return m && m[0] ? m : r->agent ? r->agent : "unknown";
}

int kc_decode_raw(kc_req *r, int res, json_t *doc, const char *want_kind, const char *want_av, kc_err *err)
{
    const char *av = json_string_value(json_object_get(doc, "apiVersion"));
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (kind && kind[0] && strcmp(kind, want_kind))
        return kc_errf(err, KC_EBADREQUEST, "the kind in the data (%s) does not match the expected kind (%s)", kind,
                       want_kind);
    if (av && av[0] && strcmp(av, want_av))
        return kc_errf(err, KC_EBADREQUEST,
                       "the API version in the data (%s) does not match the expected API version (%s)", av,
                       want_av);
    json_object_set_new(doc, "apiVersion", json_string(want_av));
    json_object_set_new(doc, "kind", json_string(want_kind));
    int bad;
    kc_fieldval mode = kc_field_validation(r, err, &bad);
    if (bad) return -1;
    const kc_type *t = res >= 0 ? kc_schema_type(kc_resources[res].schema_type) : kc_schema_kind("autoscaling", "v1", want_kind);
    if (!t) return 0; /* a kind without schema data (events.k8s.io/v1): accepted as sent */
    if (kc_schema_decode(t, doc, mode, r->warnings, err) < 0) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        const char *ver = strchr(want_av, '/') ? strchr(want_av, '/') + 1 : want_av;
        return kc_errf(err, KC_EBADREQUEST, "%s in version \"%s\" cannot be handled as a %s: %s", want_kind, ver,
                       want_kind, msg);
    }
    return 0;
}

static int validate_service_name(json_t *md, kc_err *err)
{
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *msg = name ? kc_name_dns1035_label(name) : NULL;
    if (msg) kc_err_cause(err, "FieldValueInvalid", "metadata.name", "Invalid value: \"%s\": %s", name, msg);
    return msg ? -1 : 0;
}

int kc_validate_object(int res, json_t *doc, json_t *old, const char *sub, kc_err *err)
{
    const kc_resource *rd = &kc_resources[res];
    json_t *md = json_object_get(doc, "metadata");
    static const int rules[] = {[KC_NAMERULE_SUBDOMAIN] = KC_NAME_SUBDOMAIN, [KC_NAMERULE_LABEL] = KC_NAME_LABEL,
                                [KC_NAMERULE_1035] = KC_NAME_LABEL, [KC_NAMERULE_SEGMENT] = KC_NAME_PATH_SEGMENT};
    kc_meta_validate(md, rules[rd->name_rule], rd->namespaced, err);
    if (rd->name_rule == KC_NAMERULE_1035) validate_service_name(md, err);
    const kc_type *t = kc_schema_type(rd->schema_type);
    bool status = sub && !strcmp(sub, "status");
    if (t) kc_schema_validate_flags(t, doc, 0, err); /* status subtrees: no required-field rule upstream */
    if (!status) kc_validate_kind(res, doc, old, err);
    if (!kc_err_ncauses(err)) {
        kc_err_release(err);
        return 0;
    }
    return kc_err_invalid(err, rd->kind, json_string_value(json_object_get(md, "name")));
}

/* ---- create ---- */

static const char *qos_class(json_t *spec)
{
    size_t i;
    json_t *c;
    bool any = false, guaranteed = true;
    json_array_foreach(json_object_get(spec, "containers"), i, c)
    {
        json_t *req = json_object_get(json_object_get(c, "resources"), "requests");
        json_t *lim = json_object_get(json_object_get(c, "resources"), "limits");
        if (json_object_size(req) || json_object_size(lim)) any = true;
        static const char *rs[] = {"cpu", "memory"};
        for (int k = 0; k < 2; k++) {
            json_t *l = json_object_get(lim, rs[k]), *q = json_object_get(req, rs[k]);
            if (!l || (q && !json_equal(q, l))) guaranteed = false;
        }
    }
    return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

/* Status a new object starts with, as each kind's registry strategy sets it (PrepareForCreate). */
static void initial_status(int res, json_t *doc)
{
    const char *k = kc_resources[res].kind;
    if (!strcmp(k, "Node") || !(kc_resources[res].subresources & KC_SUB_STATUS)) return;
    json_t *st = json_object();
    if (!strcmp(k, "Pod")) {
        json_object_set_new(st, "phase", json_string("Pending"));
        json_object_set_new(st, "qosClass", json_string(qos_class(json_object_get(doc, "spec"))));
    } else if (!strcmp(k, "Namespace")) {
        json_object_set_new(st, "phase", json_string("Active"));
    } else if (!strcmp(k, "PersistentVolumeClaim") || !strcmp(k, "PersistentVolume")) {
        json_object_set_new(st, "phase", json_string("Pending"));
    } else if (!strcmp(k, "Service")) {
        json_object_set_new(st, "loadBalancer", json_object());
    }
    json_object_set_new(doc, "status", st);
}

/* The DefaultTolerationSeconds admission plugin: pods get not-ready/unreachable NoExecute
 * tolerations for 300 s unless they tolerate those taints already. */
static void default_tolerations(kc_apiserver *srv, json_t *doc)
{
    static const char *keys[] = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"};
    int secs[] = {srv->not_ready_toleration_s, srv->unreachable_toleration_s};
    json_t *spec = json_object_get(doc, "spec");
    if (!json_is_object(spec)) return;
    json_t *tols = json_object_get(spec, "tolerations"), *t;
    for (int k = 0; k < 2; k++) {
        bool have = false;
        size_t i;
        json_array_foreach(tols, i, t)
        {
            const char *key = json_string_value(json_object_get(t, "key"));
            const char *eff = json_string_value(json_object_get(t, "effect"));
            const char *op = json_string_value(json_object_get(t, "operator"));
            bool any_key = (!key || !key[0]) && op && !strcmp(op, "Exists");
            if ((any_key || (key && !strcmp(key, keys[k]))) && (!eff || !eff[0] || !strcmp(eff, "NoExecute")))
                have = true;
        }
        if (have) continue;
        if (!json_is_array(tols)) json_object_set_new(spec, "tolerations", tols = json_array());
        json_array_append_new(tols, json_pack("{s:s,s:s,s:s,s:i}", "key", keys[k], "operator", "Exists", "effect",
                                              "NoExecute", "tolerationSeconds", secs[k]));
    }
}

static void prepare_namespace(json_t *doc, json_t *md, const char *name)
{
    json_t *spec = json_object_get(doc, "spec");
    if (!json_is_object(spec)) json_object_set_new(doc, "spec", spec = json_object());
    json_object_set_new(spec, "finalizers", json_pack("[s]", "kubernetes"));
    json_t *labels = json_object_get(md, "labels");
    if (!json_is_object(labels)) json_object_set_new(md, "labels", labels = json_object());
    json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
}

static int check_namespace(kc_apiserver *s, const char *ns, kc_err *err)
{
    const kc_obj *o = kc_store_get(s->store, kc_resource_find("", "v1", "namespaces"), NULL, ns);
    if (!o) return kc_errf(err, KC_ENOTFOUND, "namespaces \"%s\" not found", ns);
    if (o->deleting)
        return kc_errf(err, KC_EFORBIDDEN, "unable to create new content in namespace %s because it is being terminated",
                       ns);
    return 0;
}

/* Metadata the server owns on create (rest.BeforeCreate): namespace, system fields, name. */
static int prepare_create_meta(kc_req *r, int res, const char *ns, json_t *doc, kc_err *err)
{
    const kc_resource *rd = &kc_resources[res];
    json_t *md = json_object_get(doc, "metadata");
    if (!json_is_object(md)) json_object_set_new(doc, "metadata", md = json_object());
    const char *bns = json_string_value(json_object_get(md, "namespace"));
    if (rd->namespaced) {
        if (bns && bns[0] && strcmp(bns, ns))
            return kc_errf(err, KC_EBADREQUEST,
                           "the namespace of the provided object does not match the namespace sent on the request");
        json_object_set_new(md, "namespace", json_string(ns));
    } else {
        json_object_del(md, "namespace");
    }
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    if (rv && rv[0]) return kc_errf(err, KC_EBADREQUEST, "resourceVersion should not be set on objects to be created");
    static const char *sys[] = {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                                "selfLink", "generation", "managedFields", "resourceVersion"};
    for (size_t i = 0; i < sizeof sys / sizeof *sys; i++) json_object_del(md, sys[i]);
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *gen = json_string_value(json_object_get(md, "generateName"));
    if ((!name || !name[0]) && gen && gen[0]) {
        char buf[80], suffix[8];
        kc_random_suffix(suffix, 5);
        snprintf(buf, sizeof buf, "%.58s%s", gen, suffix);
        json_object_set_new(md, "name", json_string(buf));
    }
    char uid[37], now[32];
    kc_new_uid(uid);
    kc_now_rfc3339(now);
    json_object_set_new(md, "uid", json_string(uid));
    json_object_set_new(md, "creationTimestamp", json_string(now));
    if (rd->has_generation) json_object_set_new(md, "generation", json_integer(1));
    (void)r;
    return 0;
}

/* The create path after decoding (POST, and server-side apply of a missing object): server-set
 * metadata, validation, admission, allocation, managedFields, the write. Answers 201 once
 * durable, or returns -1 with err (nothing answered). doc is borrowed. */
int kc_create_object(kc_req *r, int res, const char *ns, json_t *doc, kc_err *err)
{
    const kc_resource *rd = &kc_resources[res];
    const kc_obj *out;
    json_t *applied_mf = r->ssa ? json_incref(json_object_get(json_object_get(doc, "metadata"), "managedFields")) : NULL;
    const char *given = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
    bool server_named = !given || !given[0]; /* only a name we generated is retried on a clash */
    int rc = prepare_create_meta(r, res, ns, doc, err);
    json_t *md = json_object_get(doc, "metadata");
    if (rc == 0) rc = kc_validate_object(res, doc, NULL, NULL, err);
    const char *name = json_string_value(json_object_get(md, "name"));
    if (rc == 0 && rd->namespaced) rc = check_namespace(r->srv, ns, err);
    if (rc < 0) {
        json_decref(applied_mf);
        return -1;
    }
    if (!strcmp(rd->kind, "Namespace")) prepare_namespace(doc, md, name);
    if (!strcmp(rd->kind, "Pod")) default_tolerations(r->srv, doc);
    kc_admit_storage(r->srv, rd->kind, doc);
    if (!strcmp(rd->kind, "DaemonSet")) kc_admit_daemonset(doc, NULL);
    if ((!strcmp(rd->kind, "Pod") && kc_admit_pod_priority(r->srv, doc, err) < 0) ||
        (!strcmp(rd->kind, "PriorityClass") && kc_admit_priority_class(r->srv, doc, NULL, err) < 0)) {
        json_decref(applied_mf);
        return -1;
    }
    if (!strcmp(rd->kind, "Service") && !kc_dry_run(r) && kc_service_allocate(r->srv, doc, NULL, err) < 0) {
        json_decref(applied_mf);
        return -1;
    }
    initial_status(res, doc);
    const kc_type *t = kc_schema_type(rd->schema_type);
    /* the zero values a fresh status shows. A pod's admission above changes only scalars and
     * adds tolerations (whose fields are all omitempty), so a second walk of its spec and
     * metadata found nothing to add and cost 7% of a pod create: pods walk their status only.
     * Other kinds' admission (service allocation, storage class, ...) keeps the whole walk. */
    if (!strcmp(rd->kind, "Pod"))
        kc_defaults_apply_field(t, doc, "status");
    else
        kc_defaults_apply(t, doc);
    /* managedFields start with the first server-side apply: tracking every create doubled the
     * stored size of a pod and the CPU of a create. Once an object has them, every write keeps
     * them current (kc_finish_update), so conflicts with other writers are found as upstream. */
    if (applied_mf) json_object_set_new(md, "managedFields", applied_mf);
    if (kc_dry_run(r)) {
        kc_reply_json(r, 201, json_incref(doc));
        return 0;
    }
    for (int tries = 0;; tries++) { /* generateName collisions are retried (semantics 0.1) */
        bool generated = server_named && json_object_get(md, "generateName") && tries < 8;
        if (kc_store_write(r->srv->store, KC_WRITE_CREATE, res, json_incref(doc), 0, kc_store_done, r, &out, err) == 0)
            break;
        if (err->reason != KC_EALREADYEXISTS || !generated) {
            if (!strcmp(rd->kind, "Service")) kc_service_release(r->srv, doc);
            return -1;
        }
        kc_err_release(err);
        char buf[80], suffix[8];
        kc_random_suffix(suffix, 5);
        snprintf(buf, sizeof buf, "%.58s%s", json_string_value(json_object_get(md, "generateName")), suffix);
        json_object_set_new(md, "name", json_string(buf));
    }
    kc_req_ref(r);
    kc_reply_when_durable(r, 201);
    return 0;
}

static void handle_create(kc_req *r, int res, const char *ns)
{
    kc_err err = KC_ERR_INIT;
    const kc_resource *rd = &kc_resources[res];
    json_t *doc = NULL;
    int bad;
    kc_fieldval mode = kc_field_validation(r, &err, &bad);
    if (bad || kc_body_parse(r, mode == KC_FV_STRICT, &doc, &err) < 0 ||
        kc_decode_object(r, res, doc, rd->kind, kc_resource_api_version(rd), &err) < 0 ||
        kc_create_object(r, res, ns, doc, &err) < 0) {
        kc_reply_err(r, &err, rd, doc ? json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")) : NULL);
        kc_err_release(&err);
    }
    json_decref(doc);
}

/* ---- get ---- */

static void handle_get(kc_req *r, int res, const char *ns, const char *name, const char *sub)
{
    kc_err err = KC_ERR_INIT;
    const kc_resource *rd = &kc_resources[res];
    const kc_obj *o = kc_store_get(r->srv->store, res, ns, name);
    if (!o) {
        kc_errf(&err, KC_ENOTFOUND, "%s%s%s \"%s\" not found", rd->resource, rd->group[0] ? "." : "", rd->group, name);
        kc_reply_err(r, &err, rd, name);
        return;
    }
    if (sub && !strcmp(sub, "scale")) {
        kc_handle_get_scale(r, res, o);
    } else if (kc_wants_table(r)) {
        size_t len;
        char *t = kc_table_single(o, kc_table_include(r), &len);
        kc_reply(r, 200, KC_TABLE_CTYPE, t, len);
    } else {
        kc_reply_obj(r, 200, o);
    }
}

/* ---- delete ---- */

static int check_preconditions(const kc_obj *cur, json_t *opts, kc_err *err)
{
    json_t *pre = json_object_get(opts, "preconditions");
    const char *uid = json_string_value(json_object_get(pre, "uid"));
    const char *rv = json_string_value(json_object_get(pre, "resourceVersion"));
    if (uid && strcmp(uid, cur->uid))
        return kc_errf(err, KC_ECONFLICT, "Precondition failed: UID in precondition: %s, UID in object meta: %s", uid,
                       cur->uid);
    char cur_rv[24];
    snprintf(cur_rv, sizeof cur_rv, "%" PRIu64, cur->rev);
    if (rv && strcmp(rv, cur_rv))
        return kc_errf(err, KC_ECONFLICT,
                       "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s",
                       rv, cur_rv);
    return 0;
}

static bool has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v) ?: "", s)) return true;
    return false;
}

/* The orphan / foregroundDeletion finalizers a propagation policy asks for. */
static int policy_finalizer(json_t *opts, const char **fin, kc_err *err)
{
    const char *p = json_string_value(json_object_get(opts, "propagationPolicy"));
    json_t *orphan = json_object_get(opts, "orphanDependents");
    *fin = NULL;
    if (p && orphan)
        return kc_errf(err, KC_EINVALID, "DeleteOptions.propagationPolicy: Invalid value: \"%s\": orphanDependents and "
                       "deletionPropagation cannot be both set", p);
    if (json_is_true(orphan) || (p && !strcmp(p, "Orphan"))) *fin = "orphan";
    else if (p && !strcmp(p, "Foreground")) *fin = "foregroundDeletion";
    else if (p && strcmp(p, "Background"))
        return kc_errf(err, KC_EINVALID, "DeleteOptions.propagationPolicy: Unsupported value: \"%s\": supported values: "
                       "\"Orphan\", \"Background\", \"Foreground\"", p);
    return 0;
}

static int64_t grace_period(int res, json_t *doc, json_t *opts)
{
    json_t *g = json_object_get(opts, "gracePeriodSeconds");
    if (json_is_integer(g)) return json_integer_value(g) < 0 ? 0 : json_integer_value(g);
    if (strcmp(kc_resources[res].kind, "Pod")) return 0;
    json_t *spec = json_object_get(doc, "spec");
    if (!json_string_value(json_object_get(spec, "nodeName"))) return 0; /* unscheduled pods go at once */
    json_t *t = json_object_get(spec, "terminationGracePeriodSeconds");
    return json_is_integer(t) ? json_integer_value(t) : 30;
}

static void mark_deleting(int res, json_t *doc, json_t *md, int64_t grace)
{
    char now[32];
    if (!json_object_get(md, "deletionTimestamp")) {
        time_t t = time(NULL) + grace;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(md, "deletionTimestamp", json_string(now));
        json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace));
        if (kc_resources[res].has_generation) {
            json_int_t g = json_integer_value(json_object_get(md, "generation"));
            json_object_set_new(md, "generation", json_integer(g + 1));
        }
    }
    if (!strcmp(kc_resources[res].kind, "Namespace")) {
        json_t *st = json_object_get(doc, "status");
        if (!json_is_object(st)) json_object_set_new(doc, "status", st = json_object());
        json_object_set_new(st, "phase", json_string("Terminating"));
    }
}

/* Already deleting: a later delete may only shorten the grace period (upstream BeforeDelete); the
 * deletionTimestamp moves to the first request's time plus the new period. */
static bool shorten_grace(json_t *md, json_t *opts, int64_t grace)
{
    json_t *old = json_object_get(md, "deletionGracePeriodSeconds");
    if (!json_is_integer(json_object_get(opts, "gracePeriodSeconds")) || !json_is_integer(old)) return false;
    if (grace >= json_integer_value(old)) return false;
    struct tm tm = {0};
    const char *ds = json_string_value(json_object_get(md, "deletionTimestamp"));
    if (!ds || !strptime(ds, "%Y-%m-%dT%H:%M:%SZ", &tm)) return false;
    time_t ts = timegm(&tm) + grace - json_integer_value(old);
    char buf[32];
    gmtime_r(&ts, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(md, "deletionTimestamp", json_string(buf));
    json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(grace));
    return true;
}

int kc_delete_object(kc_apiserver *s, int res, const kc_obj *cur, json_t *opts, bool dry, kc_write_done done, void *ud,
                     const kc_obj **out, kc_err *err)
{
    const char *fin;
    if (check_preconditions(cur, opts, err) < 0 || policy_finalizer(opts, &fin, err) < 0) return -1;
    json_t *doc = kc_obj_parse(cur), *md = json_object_get(doc, "metadata");
    json_t *fins = json_object_get(md, "finalizers");
    bool changed = false;
    if (fin && !has_string(fins, fin)) {
        if (!json_is_array(fins)) json_object_set_new(md, "finalizers", fins = json_array());
        json_array_append_new(fins, json_string(fin));
        changed = true;
    }
    int64_t grace = grace_period(res, doc, opts);
    bool is_ns = !strcmp(kc_resources[res].kind, "Namespace");
    bool keep = json_array_size(fins) > 0 || grace > 0 || is_ns;
    if (keep && (!cur->deleting || changed)) mark_deleting(res, doc, md, grace);
    else if (keep && !shorten_grace(md, opts, grace)) { /* already deleting, nothing new: answer with the object as it is */
        json_decref(doc);
        *out = cur;
        return 0;
    }
    if (dry) {
        json_decref(doc);
        *out = cur;
        return keep ? 0 : 1;
    }
    if (kc_store_write(s->store, keep ? KC_WRITE_UPDATE : KC_WRITE_DELETE, res, doc, cur->rev, done, ud, out, err) < 0)
        return -1;
    return keep ? 0 : 1;
}

static json_t *delete_options(kc_req *r, kc_err *err)
{
    json_t *opts = NULL;
    if (r->body_len && kc_body_parse(r, false, &opts, err) < 0) return NULL;
    if (!opts) opts = json_object();
    const char *g = kc_req_query(r, "gracePeriodSeconds");
    if (g) json_object_set_new(opts, "gracePeriodSeconds", json_integer(atoll(g)));
    const char *p = kc_req_query(r, "propagationPolicy");
    if (p) json_object_set_new(opts, "propagationPolicy", json_string(p));
    if (kc_req_query(r, "orphanDependents"))
        json_object_set_new(opts, "orphanDependents", json_boolean(kc_req_query_bool(r, "orphanDependents")));
    return opts;
}

static const char *const protected_ns[] = {"default", "kube-system", "kube-public", NULL};

static void handle_delete(kc_req *r, int res, const char *ns, const char *name)
{
    kc_err err = KC_ERR_INIT;
    const kc_resource *rd = &kc_resources[res];
    const kc_obj *cur = kc_store_get(r->srv->store, res, ns, name), *out = NULL;
    json_t *opts = NULL;
    if (!cur) {
        kc_errf(&err, KC_ENOTFOUND, "%s%s%s \"%s\" not found", rd->resource, rd->group[0] ? "." : "", rd->group, name);
        goto fail;
    }
    for (int i = 0; !strcmp(rd->kind, "Namespace") && protected_ns[i]; i++)
        if (!strcmp(name, protected_ns[i])) {
            kc_errf(&err, KC_EFORBIDDEN, "namespaces \"%s\" is forbidden: this namespace may not be deleted", name);
            goto fail;
        }
    if (!strcmp(rd->kind, "PriorityClass") && kc_admit_priority_class_delete(name, &err) < 0) goto fail;
    if (!(opts = delete_options(r, &err))) goto fail;
    int rc = kc_delete_object(r->srv, res, cur, opts, kc_dry_run(r), kc_store_done, r, &out, &err);
    if (rc < 0) goto fail;
    /* 202 only when the object stays and orphanDependents=false was asked (upstream's rule) */
    json_t *orphan = json_object_get(opts, "orphanDependents");
    int code = rc == 0 && json_is_false(orphan) ? 202 : 200;
    json_decref(opts);
    if (out == cur) { /* nothing written (dry run, or already deleting) */
        kc_reply_obj(r, code, cur);
        return;
    }
    kc_req_ref(r);
    kc_reply_when_durable(r, code);
    return;
fail:
    json_decref(opts);
    kc_reply_err(r, &err, rd, name);
    kc_err_release(&err);
}

/* ---- deletecollection ---- */

typedef struct collect {
    const kc_obj **v;
    size_t n, cap;
} collect;

static bool collect_one(void *ud, const kc_obj *o)
{
    collect *c = ud;
    if (c->n == c->cap) c->v = xrealloc(c->v, (c->cap = c->cap ? c->cap * 2 : 64) * sizeof *c->v);
    kc_obj_ref(o);
    c->v[c->n++] = o;
    return true;
}

typedef struct body_reply {
    char *body;
    size_t len;
} body_reply;

static void body_reply_free(void *p)
{
    body_reply *b = p;
    if (b) free(b->body);
    free(b);
}

static void deletecollection_done(void *ud, const kc_obj *obj)
{
    kc_req *r = ud;
    body_reply *b = r->ctx;
    (void)obj;
    kc_reply(r, 200, "application/json", b->body, b->len);
    b->body = NULL;
    kc_req_unref(r);
}

/* DELETE on a collection: every object the list selectors match is deleted as by DELETE; the
 * answer, the list of matched objects, is sent once the deletions are durable. */
static void handle_deletecollection(kc_req *r, int res, const char *ns)
{
    kc_err err = KC_ERR_INIT;
    json_t *opts = delete_options(r, &err);
    body_reply *b = xcalloc(1, sizeof *b);
    collect c = {0};
    if (!opts || !(b->body = kc_list_body(r, res, ns, &b->len, &err))) {
        kc_reply_err(r, &err, &kc_resources[res], NULL);
        goto out;
    }
    kc_store_list(r->srv->store, res, ns, NULL, 0, collect_one, &c, &err);
    size_t last = c.n;
    for (size_t i = 0; i < c.n; i++)
        if (kc_list_matches(r, c.v[i])) last = i;
    bool dry = kc_dry_run(r), pending = false;
    for (size_t i = 0; i < c.n; i++) {
        const kc_obj *o;
        if (i > last || !kc_list_matches(r, c.v[i])) continue;
        bool with_cb = i == last && !dry;
        int rc = kc_delete_object(r->srv, res, c.v[i], opts, dry, with_cb ? deletecollection_done : NULL,
                                  with_cb ? r : NULL, &o, &err);
        pending = with_cb && rc >= 0 && o != c.v[i];
        kc_err_release(&err);
    }
    if (pending) {
        kc_req_ref(r);
        r->ctx = b;
        r->ctx_free = body_reply_free;
        b = NULL;
    } else {
        kc_reply(r, 200, "application/json", b->body, b->len);
        b->body = NULL;
    }
out:
    for (size_t i = 0; i < c.n; i++) kc_obj_unref(c.v[i]);
    free(c.v);
    body_reply_free(b);
    json_decref(opts);
}

/* ---- namespace termination ---- */

static bool ns_empty_or_drain(kc_apiserver *s, const char *ns)
{
    bool empty = true;
    for (size_t res = 0; res < kc_nresources; res++) {
        if (!kc_resources[res].namespaced) continue;
        collect c = {0};
        kc_err err = KC_ERR_INIT;
        kc_store_list(s->store, (int)res, ns, NULL, 0, collect_one, &c, &err);
        for (size_t i = 0; i < c.n; i++) {
            const kc_obj *out;
            empty = false;
            if (!c.v[i]->deleting) kc_delete_object(s, (int)res, c.v[i], NULL, false, NULL, NULL, &out, &err);
            kc_err_release(&err);
            kc_obj_unref(c.v[i]);
        }
        free(c.v);
    }
    return empty;
}

/* The namespace lifecycle (upstream's namespace controller, kept in the server for now): a
 * terminating namespace has its content deleted; once empty, the namespace itself goes. */
bool kc_ns_terminate_step(kc_apiserver *s)
{
    int nsres = kc_resource_find("", "v1", "namespaces");
    collect c = {0};
    kc_err err = KC_ERR_INIT;
    bool wrote = false;
    kc_store_list(s->store, nsres, NULL, NULL, 0, collect_one, &c, &err);
    for (size_t i = 0; i < c.n; i++) {
        if (c.v[i]->deleting && ns_empty_or_drain(s, c.v[i]->name)) {
            json_t *doc = kc_obj_parse(c.v[i]);
            json_t *fins = json_object_get(json_object_get(doc, "metadata"), "finalizers");
            if (!json_array_size(fins)) {
                kc_store_write(s->store, KC_WRITE_DELETE, nsres, doc, c.v[i]->rev, NULL, NULL, NULL, &err);
                wrote = true;
            } else {
                json_decref(doc);
            }
        }
        kc_err_release(&err);
        kc_obj_unref(c.v[i]);
    }
    free(c.v);
    return wrote;
}

/* ---- dispatch ---- */

static bool sub_ok(int res, const char *sub)
{
    if (!sub) return true;
    unsigned have = kc_resources[res].subresources;
    bool pod = (have & KC_SUB_POD) && (!strcmp(sub, "binding") || !strcmp(sub, "eviction") || !strcmp(sub, "log") ||
                                       !strcmp(sub, "exec"));
    return (!strcmp(sub, "status") && (have & KC_SUB_STATUS)) || (!strcmp(sub, "scale") && (have & KC_SUB_SCALE)) ||
           pod;
}

static void method_not_allowed(kc_req *r, int res)
{
    kc_err err = KC_ERR_INIT;
    kc_errf(&err, KC_EMETHOD, "the server does not allow this method on the requested resource");
    kc_reply_err(r, &err, &kc_resources[res], NULL);
}

static void update_or_patch(kc_req *r, int res, const char *ns, const char *name, const char *sub, bool patch)
{
    const kc_obj *cur = kc_store_get(r->srv->store, res, ns, name);
    if (patch)
        kc_handle_patch(r, res, cur, sub);
    else
        kc_handle_update(r, res, cur, sub);
}

void kc_handle_resource(kc_req *r, int res, const char *ns, const char *name, const char *sub)
{
    const char *m = r->method;
    if (!sub_ok(res, sub)) {
        kc_err err = KC_ERR_INIT;
        kc_errf(&err, KC_ENOTFOUND, "the server could not find the requested resource");
        kc_reply_err(r, &err, NULL, NULL);
    } else if (sub && (!strcmp(sub, "binding") || !strcmp(sub, "eviction") || !strcmp(sub, "log") ||
                       !strcmp(sub, "exec"))) {
        kc_handle_pod_sub(r, res, ns, name, sub);
    } else if (!strcmp(m, "GET") && name) {
        if (kc_req_query_bool(r, "watch")) method_not_allowed(r, res);
        else handle_get(r, res, ns, name, sub);
    } else if (!strcmp(m, "GET")) {
        if (kc_req_query_bool(r, "watch")) kc_watch_start(r, res, ns);
        else kc_handle_list(r, res, ns);
    } else if (!strcmp(m, "POST") && !name) {
        handle_create(r, res, ns);
    } else if (!strcmp(m, "PUT") && name) {
        update_or_patch(r, res, ns, name, sub, false);
    } else if (!strcmp(m, "PATCH") && name) {
        update_or_patch(r, res, ns, name, sub, true);
    } else if (!strcmp(m, "DELETE") && name && !sub) {
        handle_delete(r, res, ns, name);
    } else if (!strcmp(m, "DELETE") && !name) {
        handle_deletecollection(r, res, ns);
    } else {
        method_not_allowed(r, res);
    }
}
