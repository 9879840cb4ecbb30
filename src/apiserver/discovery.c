/* Version, health, discovery (aggregated apidiscovery v2 and legacy) and OpenAPI v3, all derived
 * from the resource table. Documents are built once at first use and kept (they never change
 * while the server runs). */
#include "apiserver/apiserver.h"
#include "lib/xalloc.h"

#define AGG_CTYPE "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

static const char *verbs[] = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};

static json_t *strv(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && v[i]; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *gvk(const char *g, const char *v, const char *k)
{
    return json_pack("{s:s,s:s,s:s}", "group", g, "version", v, "kind", k);
}

/* Distinct group/version pairs, in table order: fills groups[] with the first resource index. */
static size_t group_versions(int *first)
{
    size_t n = 0;
    for (size_t i = 0; i < kc_nresources; i++) {
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(kc_resources[first[j]].group, kc_resources[i].group)) seen = true;
        if (!seen) first[n++] = (int)i;
    }
    return n;
}

static json_t *agg_subresources(const kc_resource *r)
{
    static const char *subverbs[] = {"get", "patch", "update"};
    json_t *a = json_array();
    if (r->subresources & KC_SUB_STATUS)
        json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "subresource", "status", "responseKind",
                                           gvk(r->group, r->version, r->kind), "verbs", strv(subverbs, 3)));
    if (r->subresources & KC_SUB_SCALE)
        json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "subresource", "scale", "responseKind",
                                           gvk("autoscaling", "v1", "Scale"), "verbs", strv(subverbs, 3)));
    static const char *create[] = {"create"}, *get[] = {"get"}, *getcreate[] = {"create", "get"};
    if (r->subresources & KC_SUB_POD) {
        json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "subresource", "binding", "responseKind",
                                           gvk("", "v1", "Binding"), "verbs", strv(create, 1)));
        json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "subresource", "eviction", "responseKind",
                                           gvk("policy", "v1", "Eviction"), "verbs", strv(create, 1)));
        json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "subresource", "log", "responseKind",
                                           gvk("", "v1", "Pod"), "verbs", strv(get, 1)));
        json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "subresource", "exec", "responseKind",
                                           gvk("", "v1", "PodExecOptions"), "verbs", strv(getcreate, 2)));
    }
    return a;
}

static json_t *agg_resource(const kc_resource *r)
{
    json_t *o = json_pack("{s:s,s:o,s:s,s:s,s:o}", "resource", r->resource, "responseKind",
                          gvk(r->group, r->version, r->kind), "scope", r->namespaced ? "Namespaced" : "Cluster",
                          "singularResource", r->singular, "verbs", strv(verbs, 8));
    if (r->short_names[0]) json_object_set_new(o, "shortNames", strv(r->short_names, 3));
    static const char *all[] = {"all"};
    if (r->cat_all) json_object_set_new(o, "categories", strv(all, 1));
    json_t *subs = agg_subresources(r);
    if (json_array_size(subs))
        json_object_set_new(o, "subresources", subs);
    else
        json_decref(subs);
    return o;
}

static json_t *agg_group(const char *group)
{
    json_t *res = json_array();
    const char *version = "v1";
    for (size_t i = 0; i < kc_nresources; i++)
        if (!strcmp(kc_resources[i].group, group)) {
            json_array_append_new(res, agg_resource(&kc_resources[i]));
            version = kc_resources[i].version;
        }
    json_t *md = json_pack("{s:n}", "creationTimestamp");
    if (group[0]) json_object_set_new(md, "name", json_string(group));
    return json_pack("{s:o,s:[{s:s,s:o,s:s}]}", "metadata", md, "versions", "version", version, "resources", res,
                     "freshness", "Current");
}

static json_t *agg_list(bool core)
{
    json_t *items = json_array();
    int first[32];
    size_t n = group_versions(first);
    for (size_t i = 0; i < n; i++) {
        const char *g = kc_resources[first[i]].group;
        if (core == !g[0]) json_array_append_new(items, agg_group(g));
    }
    return json_pack("{s:s,s:s,s:{},s:o}", "kind", "APIGroupDiscoveryList", "apiVersion", "apidiscovery.k8s.io/v2",
                     "metadata", "items", items);
}

static json_t *legacy_resource_list(const char *group, const char *version)
{
    json_t *res = json_array();
    static const char *subverbs[] = {"get", "patch", "update"};
    for (size_t i = 0; i < kc_nresources; i++) {
        const kc_resource *r = &kc_resources[i];
        if (strcmp(r->group, group) || strcmp(r->version, version)) continue;
        json_t *o = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", r->resource, "singularName", r->singular,
                              "namespaced", r->namespaced, "kind", r->kind, "verbs", strv(verbs, 8));
        if (r->short_names[0]) json_object_set_new(o, "shortNames", strv(r->short_names, 3));
        static const char *all[] = {"all"};
        if (r->cat_all) json_object_set_new(o, "categories", strv(all, 1));
        json_array_append_new(res, o);
        char sub[128];
        if (r->subresources & KC_SUB_SCALE) {
            snprintf(sub, sizeof sub, "%s/scale", r->resource);
            json_array_append_new(res, json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:o}", "name", sub, "singularName", "",
                                                 "namespaced", r->namespaced, "group", "autoscaling", "version",
                                                 "v1", "kind", "Scale", "verbs", strv(subverbs, 3)));
        }
        static const struct {
            const char *name, *group, *version, *kind, *verbs[2];
        } podsubs[] = {{"binding", "", "v1", "Binding", {"create"}},
                       {"eviction", "policy", "v1", "Eviction", {"create"}},
                       {"log", "", "v1", "Pod", {"get"}},
                       {"exec", "", "v1", "PodExecOptions", {"create", "get"}}};
        for (size_t k = 0; (r->subresources & KC_SUB_POD) && k < 4; k++) {
            snprintf(sub, sizeof sub, "%s/%s", r->resource, podsubs[k].name);
            json_t *o = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", sub, "singularName", "", "namespaced", 1, "kind",
                                  podsubs[k].kind, "verbs", strv(podsubs[k].verbs, 2));
            if (podsubs[k].group[0]) {
                json_object_set_new(o, "group", json_string(podsubs[k].group));
                json_object_set_new(o, "version", json_string(podsubs[k].version));
            }
            json_array_append_new(res, o);
        }
        if (r->subresources & KC_SUB_STATUS) {
            snprintf(sub, sizeof sub, "%s/status", r->resource);
            json_array_append_new(res, json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", sub, "singularName", "",
                                                 "namespaced", r->namespaced, "kind", r->kind, "verbs",
                                                 strv(subverbs, 3)));
        }
    }
    char gv[128];
    snprintf(gv, sizeof gv, "%s%s%s", group, group[0] ? "/" : "", version);
    return json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList", "apiVersion", "v1", "groupVersion", gv,
                     "resources", res);
}

static json_t *legacy_group(const char *g, const char *v)
{
    char gv[128];
    snprintf(gv, sizeof gv, "%s/%s", g, v);
    return json_pack("{s:s,s:[{s:s,s:s}],s:{s:s,s:s}}", "name", g, "versions", "groupVersion", gv, "version", v,
                     "preferredVersion", "groupVersion", gv, "version", v);
}

static json_t *legacy_groups(void)
{
    json_t *groups = json_array();
    int first[32];
    size_t n = group_versions(first);
    for (size_t i = 0; i < n; i++) {
        const kc_resource *r = &kc_resources[first[i]];
        if (r->group[0]) json_array_append_new(groups, legacy_group(r->group, r->version));
    }
    return json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
}

/* OpenAPI v3: the index names one document per group-version; each document declares, per kind,
 * the PATCH operation with its fieldValidation parameter (what kubectl checks to decide that the
 * server validates fields itself; spec/kubectl-wire.md 3). Schemas are not published yet. */
static const char *gv_path(const kc_resource *r, char *buf, size_t n)
{
    if (r->group[0])
        snprintf(buf, n, "apis/%s/%s", r->group, r->version);
    else
        snprintf(buf, n, "api/%s", r->version);
    return buf;
}

static json_t *openapi_index(void)
{
    json_t *paths = json_object();
    int first[32];
    size_t n = group_versions(first);
    for (size_t i = 0; i < n; i++) {
        char p[128], url[256];
        gv_path(&kc_resources[first[i]], p, sizeof p);
        snprintf(url, sizeof url, "/openapi/v3/%s?hash=K%zu%zu", p, kc_nresources, i);
        json_object_set_new(paths, p, json_pack("{s:s}", "serverRelativeURL", url));
    }
    return json_pack("{s:o}", "paths", paths);
}

static json_t *openapi_gv(const char *gvp)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < kc_nresources; i++) {
        const kc_resource *r = &kc_resources[i];
        char p[128], path[256];
        if (strcmp(gv_path(r, p, sizeof p), gvp)) continue;
        snprintf(path, sizeof path, "/%s/%s%s/{name}", p, r->namespaced ? "namespaces/{namespace}/" : "", r->resource);
        json_t *param = json_pack("{s:s,s:s,s:s,s:b,s:{s:s}}", "name", "fieldValidation", "in", "query",
                                  "description", "Strict, Warn or Ignore", "uniqueItems", 1, "schema", "type",
                                  "string");
        json_t *op = json_pack("{s:[o],s:o,s:s}", "parameters", param, "x-kubernetes-group-version-kind",
                               gvk(r->group, r->version, r->kind), "x-kubernetes-action", "patch");
        json_object_set_new(paths, path, json_pack("{s:o}", "patch", op));
    }
    if (!json_object_size(paths)) {
        json_decref(paths);
        return NULL;
    }
    return json_pack("{s:s,s:{s:s,s:s},s:o,s:{}}", "openapi", "3.0.0", "info", "title", "Kubernetes", "version",
                     "v1.32.0", "paths", paths, "components");
}

static void reply_cached(kc_req *r, char **cache, json_t *(*build)(void), const char *ctype)
{
    if (!*cache) {
        json_t *d = build();
        *cache = json_dumps(d, JSON_COMPACT);
        json_decref(d);
    }
    kc_reply(r, 200, ctype, xstrdup(*cache), strlen(*cache));
}

static json_t *agg_core(void) { return agg_list(true); }
static json_t *agg_groups(void) { return agg_list(false); }

static json_t *version_doc(void)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", "1", "minor", "32", "gitVersion",
                     "v1.32.0-kubec", "gitCommit", "kubec", "gitTreeState", "clean", "buildDate",
                     "2026-11-28T00:00:00Z", "goVersion", "go1.23.3", "compiler", "gc", "platform", "linux/amd64");
}

static json_t *api_versions(void)
{
    return json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions", "versions", "v1",
                     "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress", "127.0.0.1");
}

static bool wants_aggregated(kc_req *r)
{
    return kc_req_accepts(r, "as=APIGroupDiscoveryList") && kc_req_accepts(r, "v=v2;") ;
}

static void not_found(kc_req *r)
{
    kc_err err = KC_ERR_INIT;
    kc_errf(&err, KC_ENOTFOUND, "the server could not find the requested resource");
    kc_reply_err(r, &err, NULL, NULL);
}

/* /openapi/v2 carries no definitions: kubectl 1.32 reads schemas from /openapi/v3 and leaves field
 * validation to the server. It asks v2 only when v3 does not know a kind, which happens for `kind:
 * List` files: finding no definition, it skips client-side checks and sends each item on its own,
 * with fieldValidation, so the server validates every item. kubectl accepts protobuf only
 * (gnostic openapi_v2.Document: 1 swagger, 2 info{1 title, 2 version}). */
static void reply_openapi_v2(kc_req *r)
{
    static const char title[] = "Kubernetes", version[] = "v1.32.0";
    if (!kc_req_accepts(r, "application/com.github.proto-openapi.spec.v2")) {
        kc_reply_json(r, 200, json_pack("{s:s,s:{s:s,s:s},s:{},s:{}}", "swagger", "2.0", "info", "title", title,
                                         "version", version, "paths", "definitions"));
        return;
    }
    char *b = xmalloc(64);
    size_t n = 0, ti = sizeof title - 1, vi = sizeof version - 1;
    b[n++] = 0x0a, b[n++] = 3, memcpy(b + n, "2.0", 3), n += 3;
    b[n++] = 0x12, b[n++] = (char)(4 + ti + vi);
    b[n++] = 0x0a, b[n++] = (char)ti, memcpy(b + n, title, ti), n += ti;
    b[n++] = 0x12, b[n++] = (char)vi, memcpy(b + n, version, vi), n += vi;
    kc_reply(r, 200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", b, n);
}

static bool route_openapi(kc_req *r)
{
    static char *index;
    if (r->nseg == 2 && !strcmp(r->seg[1], "v2")) {
        reply_openapi_v2(r);
        return true;
    }
    if (r->nseg == 2 && !strcmp(r->seg[1], "v3")) {
        reply_cached(r, &index, openapi_index, "application/json");
        return true;
    }
    if (r->nseg < 4 || strcmp(r->seg[1], "v3")) {
        not_found(r);
        return true;
    }
    char gvp[256];
    if (r->nseg == 4)
        snprintf(gvp, sizeof gvp, "%s/%s", r->seg[2], r->seg[3]);
    else
        snprintf(gvp, sizeof gvp, "%s/%s/%s", r->seg[2], r->seg[3], r->seg[4]);
    json_t *d = openapi_gv(gvp);
    if (!d)
        not_found(r);
    else
        kc_reply_json(r, 200, d);
    return true;
}

static bool route_health(kc_req *r)
{
    static const char *names[] = {"healthz", "livez", "readyz"};
    for (size_t i = 0; i < 3; i++)
        if (r->nseg >= 1 && !strcmp(r->seg[0], names[i])) {
            kc_reply(r, 200, "text/plain; charset=utf-8", xstrdup("ok"), 2);
            return true;
        }
    return false;
}

bool kc_discovery_route(kc_req *r)
{
    static char *version, *core_agg, *groups_agg, *core_legacy, *groups_legacy;
    if (route_health(r)) return true;
    if (r->nseg == 1 && !strcmp(r->seg[0], "version")) {
        reply_cached(r, &version, version_doc, "application/json");
    } else if (r->nseg == 1 && !strcmp(r->seg[0], "api")) {
        if (wants_aggregated(r))
            reply_cached(r, &core_agg, agg_core, AGG_CTYPE);
        else
            reply_cached(r, &core_legacy, api_versions, "application/json");
    } else if (r->nseg == 1 && !strcmp(r->seg[0], "apis")) {
        if (wants_aggregated(r))
            reply_cached(r, &groups_agg, agg_groups, AGG_CTYPE);
        else
            reply_cached(r, &groups_legacy, legacy_groups, "application/json");
    } else if (r->nseg == 2 && !strcmp(r->seg[0], "api") && !strcmp(r->seg[1], "v1")) {
        kc_reply_json(r, 200, legacy_resource_list("", "v1"));
    } else if (r->nseg == 2 && !strcmp(r->seg[0], "apis")) {
        for (size_t k = 0; k < kc_nresources; k++)
            if (!strcmp(kc_resources[k].group, r->seg[1])) {
                kc_reply_json(r, 200, legacy_group(r->seg[1], kc_resources[k].version));
                return true;
            }
        not_found(r);
    } else if (r->nseg == 3 && !strcmp(r->seg[0], "apis")) {
        json_t *d = legacy_resource_list(r->seg[1], r->seg[2]);
        if (!json_array_size(json_object_get(d, "resources"))) {
            json_decref(d);
            not_found(r);
        } else {
            kc_reply_json(r, 200, d);
        }
    } else if (r->nseg >= 1 && !strcmp(r->seg[0], "openapi")) {
        return route_openapi(r);
    } else {
        return false;
    }
    return true;
}
