/* Defaulting: the fields a v1.32 API server fills in before validation (see defaults.h).
 *
 * This file owns three things. A table of per-type default functions keyed by schema type name
 * ("core/v1.PodSpec" -> default_pod_spec), each a transcription of upstream's SetDefaults_X (and of
 * the +default markers defaulter-gen expands); a schema walk that calls them wherever the type
 * appears; and the Go encoder's zero values, which the walk adds for non-pointer fields the
 * request left out (see zero_value for the exact rule). Object-level upstream functions
 * (SetDefaults_Pod, SetDefaults_Job, SetDefaults_PersistentVolume) are keyed on the object type so
 * they do not reach pod templates, job templates or inline PV specs, as upstream's generated
 * SetObjectDefaults_* do not call them there.
 *
 * Values are set only when absent or null; a non-pointer Go field (plain string or int32) also
 * counts as unset at its zero value ("" or 0), a pointer field (*int32 replicas) does not. */
#include "api/defaults.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RBAC_GROUP "rbac.authorization.k8s.io"
#define MAX_DEPTH 64 /* far beyond the schema's deepest ref chain; guards hostile nesting */

/* ---- JSON helpers ----------------------------------------------------------------------- */

static int unset(const json_t *v)
{
    return !v || json_is_null(v);
}

/* Zero value of a non-pointer Go string or integer. */
static int unset_zero(const json_t *v)
{
    return unset(v) || (json_is_string(v) && !json_string_length(v)) ||
           (json_is_integer(v) && !json_integer_value(v));
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void put(json_t *o, const char *k, json_t *v)
{
    json_object_set_new_nocheck(o, k, v);
}

/* Non-pointer string field: set when absent, null or "". */
static void def_str(json_t *o, const char *k, const char *v)
{
    if (json_is_object(o) && unset_zero(json_object_get(o, k))) put(o, k, json_string_nocheck(v));
}

/* Pointer string field (*PersistentVolumeMode): set when absent or null. */
static void def_pstr(json_t *o, const char *k, const char *v)
{
    if (json_is_object(o) && unset(json_object_get(o, k))) put(o, k, json_string_nocheck(v));
}

/* Non-pointer int32: set when absent, null or 0. */
static void def_int(json_t *o, const char *k, json_int_t v)
{
    if (json_is_object(o) && unset_zero(json_object_get(o, k))) put(o, k, json_integer(v));
}

/* Pointer int32/int64: set when absent or null. */
static void def_pint(json_t *o, const char *k, json_int_t v)
{
    if (json_is_object(o) && unset(json_object_get(o, k))) put(o, k, json_integer(v));
}

static void def_pbool(json_t *o, const char *k, int v)
{
    if (json_is_object(o) && unset(json_object_get(o, k))) put(o, k, json_boolean(v));
}

/* o[k] = v whatever was there (the few places upstream overwrites). */
static void force_str(json_t *o, const char *k, const char *v)
{
    if (json_is_object(o) && strcmp(str(o, k), v)) put(o, k, json_string_nocheck(v));
}

/* The object at o[k], created when absent or null; NULL when o[k] holds something else. */
static json_t *sub(json_t *o, const char *k)
{
    if (!json_is_object(o)) return NULL;
    json_t *v = json_object_get(o, k);
    if (unset(v)) put(o, k, v = json_object());
    return json_is_object(v) ? v : NULL;
}

static json_t *obj_at(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_object(v) ? v : NULL;
}

/* ---- image references (k8s.io/kubernetes/pkg/util/parsers.ParseImageName) ----------------- */

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static int path_component_ok(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t start = i;
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == start) return 0;
        if (i == n) return 1;
        if (s[i] == '.')
            i++;
        else if (s[i] == '_')
            i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
        else if (s[i] == '-')
            while (i < n && s[i] == '-')
                i++;
        else
            return 0;
    }
}

/* host[.host]*[:port], each label [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?, or a bracketed IPv6. */
static int domain_ok(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t host = n;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) return 0;
        host = (size_t)(close - s) + 1;
        colon = host < n ? s + host : NULL;
        if (colon && *colon != ':') return 0;
    } else {
        if (colon) host = (size_t)(colon - s);
        for (size_t i = 0, start = 0; i <= host; i++) {
            if (i < host && s[i] != '.') {
                if (!is_alnum(s[i]) && s[i] != '-') return 0;
                continue;
            }
            if (i == start || s[start] == '-' || s[i - 1] == '-') return 0;
            start = i + 1;
        }
    }
    if (!colon) return 1;
    if (colon + 1 == s + n) return 0;
    for (const char *p = colon + 1; p < s + n; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

static int repo_ok(const char *s, size_t n)
{
    if (!n || n > 255) return 0;
    const char *slash = memchr(s, '/', n);
    if (slash) { /* distribution/reference splitDockerDomain */
        size_t d = (size_t)(slash - s);
        int lower = 1;
        for (size_t i = 0; i < d; i++)
            if (s[i] >= 'A' && s[i] <= 'Z') lower = 0;
        if (memchr(s, '.', d) || memchr(s, ':', d) || (d == 9 && !memcmp(s, "localhost", 9)) || !lower) {
            if (!domain_ok(s, d)) return 0;
            s += d + 1;
            n -= d + 1;
        }
    }
    for (;;) {
        const char *end = memchr(s, '/', n);
        size_t len = end ? (size_t)(end - s) : n;
        if (!path_component_ok(s, len)) return 0;
        if (!end) return 1;
        s += len + 1;
        n -= len + 1;
    }
}

static int tag_ok(const char *s, size_t n)
{
    if (!n || n > 128 || s[0] == '.' || s[0] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-') return 0;
    return 1;
}

/* sha256/sha384/sha512 with 64/96/128 lowercase hex digits (opencontainers/go-digest). */
static int digest_ok(const char *s)
{
    static const struct {
        const char *alg;
        size_t hex;
    } algs[] = {{"sha256:", 64}, {"sha384:", 96}, {"sha512:", 128}};
    for (size_t i = 0; i < sizeof algs / sizeof *algs; i++) {
        size_t a = strlen(algs[i].alg);
        if (strncmp(s, algs[i].alg, a)) continue;
        if (strlen(s + a) != algs[i].hex) return 0;
        for (const char *p = s + a; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
        return 1;
    }
    return 0;
}

/* 1 when the kubelet would re-pull: the reference parses and its tag is "latest", or it has
 * neither tag nor digest. Unparsable references get IfNotPresent, as upstream's are. */
static int pulls_always(const char *image)
{
    size_t n = strlen(image);
    if (n == 64 && strspn(image, "0123456789abcdef") == 64) return 0; /* bare image ID */
    const char *at = strchr(image, '@');
    if (at && !digest_ok(at + 1)) return 0;
    size_t name = at ? (size_t)(at - image) : n;
    const char *slash = memrchr(image, '/', name);
    const char *base = slash ? slash + 1 : image;
    const char *colon = memchr(base, ':', name - (size_t)(base - image));
    size_t repo = colon ? (size_t)(colon - image) : name;
    if (!repo_ok(image, repo)) return 0;
    if (colon) {
        size_t tlen = name - repo - 1;
        return tag_ok(colon + 1, tlen) && tlen == 6 && !memcmp(colon + 1, "latest", 6);
    }
    return !at;
}

static const char *pull_policy(const char *image)
{
    return pulls_always(image) ? "Always" : "IfNotPresent";
}

/* ---- core/v1: pods and containers -------------------------------------------------------- */

static void default_pod_spec(json_t *o)
{
    def_str(o, "dnsPolicy", "ClusterFirst");
    def_str(o, "restartPolicy", "Always");
    sub(o, "securityContext");
    def_pint(o, "terminationGracePeriodSeconds", 30);
    def_str(o, "schedulerName", "default-scheduler");
}

/* Requests default to limits, key by key (SetDefaults_Pod; not applied to pod templates). */
static void requests_from_limits(json_t *c)
{
    json_t *res = obj_at(c, "resources");
    json_t *lim = obj_at(res, "limits");
    const char *k;
    json_t *v;
    if (!lim) return;
    json_t *req = obj_at(res, "requests");
    json_object_foreach(lim, k, v)
    {
        if (json_object_get(req, k)) continue;
        if (!req) put(res, "requests", req = json_object());
        json_object_set_new_nocheck(req, k, json_copy(v)); /* strings: never share a value */
    }
}

static void host_network_ports(json_t *c)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(c, "ports"), i, p)
    {
        json_t *cp = json_object_get(p, "containerPort");
        if (json_is_object(p) && unset_zero(json_object_get(p, "hostPort")) && json_is_integer(cp))
            put(p, "hostPort", json_integer(json_integer_value(cp)));
    }
}

static void default_pod(json_t *o)
{
    static const char *const lists[] = {"containers", "initContainers"};
    json_t *spec = obj_at(o, "spec");
    if (!spec) return;
    int host_net = json_is_true(json_object_get(spec, "hostNetwork"));
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c)
        {
            requests_from_limits(c);
            if (host_net) host_network_ports(c);
        }
    }
    def_pbool(spec, "enableServiceLinks", 1);
}

static void default_container(json_t *o)
{
    if (unset_zero(json_object_get(o, "imagePullPolicy")))
        put(o, "imagePullPolicy", json_string_nocheck(pull_policy(str(o, "image"))));
    def_str(o, "terminationMessagePath", "/dev/termination-log");
    def_str(o, "terminationMessagePolicy", "File");
}

static void default_protocol_tcp(json_t *o)
{
    def_str(o, "protocol", "TCP");
}

static void default_protocol_tcp_ptr(json_t *o)
{
    def_pstr(o, "protocol", "TCP");
}

static void default_probe(json_t *o)
{
    def_int(o, "timeoutSeconds", 1);
    def_int(o, "periodSeconds", 10);
    def_int(o, "successThreshold", 1);
    def_int(o, "failureThreshold", 3);
}

static void default_http_get(json_t *o)
{
    def_str(o, "path", "/");
    def_str(o, "scheme", "HTTP");
}

static void default_grpc(json_t *o)
{
    def_pstr(o, "service", "");
}

static void default_field_selector(json_t *o)
{
    def_str(o, "apiVersion", "v1");
}

static void default_file_key_selector(json_t *o)
{
    def_pbool(o, "optional", 0);
}

/* ---- core/v1: volumes -------------------------------------------------------------------- */

/* A volume naming no source is an emptyDir (SetDefaults_Volume). */
static void default_volume(json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (strcmp(k, "name") && !json_is_null(v)) return;
    }
    put(o, "emptyDir", json_object());
}

static void default_image_volume(json_t *o)
{
    if (unset_zero(json_object_get(o, "pullPolicy")))
        put(o, "pullPolicy", json_string_nocheck(pull_policy(str(o, "reference"))));
}

static void default_mode_0644(json_t *o)
{
    def_pint(o, "defaultMode", 0644);
}

static void default_sa_token(json_t *o)
{
    def_pint(o, "expirationSeconds", 3600);
}

static void default_host_path(json_t *o)
{
    def_pstr(o, "type", "");
}

static void default_iscsi(json_t *o)
{
    def_str(o, "iscsiInterface", "default");
}

static void default_rbd(json_t *o)
{
    def_str(o, "pool", "rbd");
    def_str(o, "user", "admin");
    def_str(o, "keyring", "/etc/ceph/keyring");
}

static void default_azure_disk(json_t *o)
{
    def_pstr(o, "cachingMode", "ReadWrite");
    def_pstr(o, "kind", "Shared");
    def_pstr(o, "fsType", "ext4");
    def_pbool(o, "readOnly", 0);
}

static void default_scaleio(json_t *o)
{
    def_str(o, "storageMode", "ThinProvisioned");
    def_str(o, "fsType", "xfs");
}

/* ---- core/v1: services ------------------------------------------------------------------- */

static void default_session_affinity(json_t *spec)
{
    def_str(spec, "sessionAffinity", "None");
    const char *aff = str(spec, "sessionAffinity");
    if (!strcmp(aff, "None")) {
        json_object_del(spec, "sessionAffinityConfig");
    } else if (!strcmp(aff, "ClientIP")) {
        json_t *cip = obj_at(obj_at(spec, "sessionAffinityConfig"), "clientIP");
        if (!cip || unset(json_object_get(cip, "timeoutSeconds")))
            put(spec, "sessionAffinityConfig", json_pack("{s{si}}", "clientIP", "timeoutSeconds", 10800));
    }
}

static void default_service_ports(json_t *spec)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        if (!json_is_object(p)) continue;
        def_str(p, "protocol", "TCP");
        json_t *port = json_object_get(p, "port");
        if (unset_zero(json_object_get(p, "targetPort")))
            put(p, "targetPort", json_integer(json_is_integer(port) ? json_integer_value(port) : 0));
    }
}

static int externally_accessible(const json_t *spec, const char *type)
{
    return !strcmp(type, "LoadBalancer") || !strcmp(type, "NodePort") ||
           (!strcmp(type, "ClusterIP") && json_array_size(json_object_get(spec, "externalIPs")));
}

/* LoadBalancer ingress IPs default to ipMode VIP (SetDefaults_Service, status part). */
static void default_lb_ip_mode(json_t *svc)
{
    size_t i;
    json_t *ing;
    json_array_foreach(json_object_get(obj_at(obj_at(svc, "status"), "loadBalancer"), "ingress"), i, ing)
    {
        if (json_is_object(ing) && json_string_length(json_object_get(ing, "ip")))
            def_pstr(ing, "ipMode", "VIP");
    }
}

/* Service REST create on a single-stack IPv4 cluster (normalizeClusterIPs, initIPFamilyFields). */
static void default_ip_families(json_t *spec)
{
    json_t *cip = json_object_get(spec, "clusterIP"), *cips = json_object_get(spec, "clusterIPs");
    if (json_string_length(cip) && !json_array_size(cips))
        put(spec, "clusterIPs", cips = json_pack("[o]", json_copy(cip)));
    int headless =
        !strcmp(str(spec, "clusterIP"), "None") && !json_object_size(json_object_get(spec, "selector"));
    def_pstr(spec, "ipFamilyPolicy", headless ? "RequireDualStack" : "SingleStack");
    json_t *fams = json_object_get(spec, "ipFamilies");
    if (!json_is_array(fams)) put(spec, "ipFamilies", fams = json_array());
    for (size_t i = 0; i < json_array_size(cips); i++) {
        const char *ip = json_string_value(json_array_get(cips, i));
        if (!ip || !strcmp(ip, "None")) break;
        if (i >= json_array_size(fams))
            json_array_append_new(fams, json_string(strchr(ip, ':') ? "IPv6" : "IPv4"));
    }
    if (!json_array_size(fams)) json_array_append_new(fams, json_string("IPv4"));
    if (headless && json_array_size(fams) < 2 && strcmp(str(spec, "ipFamilyPolicy"), "SingleStack")) {
        const char *first = json_string_value(json_array_get(fams, 0));
        json_array_append_new(fams, json_string(first && !strcmp(first, "IPv6") ? "IPv4" : "IPv6"));
    }
}

static void default_service(json_t *o)
{
    json_t *spec = sub(o, "spec");
    if (!spec) return;
    default_session_affinity(spec);
    def_str(spec, "type", "ClusterIP");
    const char *type = str(spec, "type");
    default_service_ports(spec);
    if (externally_accessible(spec, type)) def_str(spec, "externalTrafficPolicy", "Cluster");
    if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"))
        def_pstr(spec, "internalTrafficPolicy", "Cluster");
    if (!strcmp(type, "LoadBalancer")) {
        def_pbool(spec, "allocateLoadBalancerNodePorts", 1);
        default_lb_ip_mode(o);
    }
    if (strcmp(type, "ExternalName")) default_ip_families(spec);
}

/* ---- core/v1: storage, namespaces, nodes, the rest ---------------------------------------- */

static void default_pv(json_t *o)
{
    json_t *spec = sub(o, "spec");
    def_str(spec, "persistentVolumeReclaimPolicy", "Retain");
    def_pstr(spec, "volumeMode", "Filesystem");
    def_str(sub(o, "status"), "phase", "Pending");
}

static void default_pvc(json_t *o)
{
    def_str(sub(o, "status"), "phase", "Pending");
}

static void default_pvc_spec(json_t *o)
{
    def_pstr(o, "volumeMode", "Filesystem");
}

static void default_namespace(json_t *o)
{
    json_t *md = obj_at(o, "metadata");
    json_t *name = json_object_get(md, "name");
    if (!json_string_length(name)) return;
    json_t *labels = sub(md, "labels");
    if (labels && !json_equal(json_object_get(labels, "kubernetes.io/metadata.name"), name))
        json_object_set_new_nocheck(labels, "kubernetes.io/metadata.name", json_copy(name));
}

static void default_namespace_status(json_t *o)
{
    def_str(o, "phase", "Active");
}

static void default_node_status(json_t *o)
{
    json_t *cap = obj_at(o, "capacity");
    if (json_object_size(cap) && unset(json_object_get(o, "allocatable")))
        put(o, "allocatable", json_deep_copy(cap));
}

static void default_secret(json_t *o)
{
    def_str(o, "type", "Opaque");
}

/* to[k] = from[k] for keys to lacks; to is created only when something lands in it. */
static void fill_missing(json_t *item, const char *to_key, const json_t *from)
{
    json_t *to = obj_at(item, to_key), *v;
    const char *k;
    json_object_foreach((json_t *)from, k, v)
    {
        if (json_object_get(to, k)) continue;
        if (!to) put(item, to_key, to = json_object());
        json_object_set_new_nocheck(to, k, json_copy(v));
    }
}

static void default_limit_range_item(json_t *o)
{
    if (strcmp(str(o, "type"), "Container")) return;
    fill_missing(o, "default", obj_at(o, "max"));
    fill_missing(o, "defaultRequest", obj_at(o, "default"));
    fill_missing(o, "defaultRequest", obj_at(o, "min"));
}

/* Selector and object labels default to the template's labels (RC and Job). */
static void labels_from_template(json_t *o, json_t *tmpl, int selector_too)
{
    json_t *labels = obj_at(obj_at(tmpl, "metadata"), "labels");
    json_t *md = obj_at(o, "metadata");
    if (!labels) return;
    if (selector_too && !json_object_size(json_object_get(obj_at(o, "spec"), "selector")))
        put(obj_at(o, "spec"), "selector", json_deep_copy(labels));
    if (md && !json_object_size(json_object_get(md, "labels"))) put(md, "labels", json_deep_copy(labels));
}

static void default_rc(json_t *o)
{
    json_t *spec = sub(o, "spec");
    labels_from_template(o, obj_at(spec, "template"), 1);
    def_pint(spec, "replicas", 1);
}

/* ---- apps/v1 ------------------------------------------------------------------------------ */

static void default_deployment(json_t *o)
{
    json_t *spec = sub(o, "spec"), *st = sub(spec, "strategy");
    def_pint(spec, "replicas", 1);
    def_str(st, "type", "RollingUpdate");
    if (!strcmp(str(st, "type"), "RollingUpdate")) {
        json_t *ru = sub(st, "rollingUpdate");
        if (ru && unset(json_object_get(ru, "maxUnavailable"))) put(ru, "maxUnavailable", json_string("25%"));
        if (ru && unset(json_object_get(ru, "maxSurge"))) put(ru, "maxSurge", json_string("25%"));
    }
    def_pint(spec, "revisionHistoryLimit", 10);
    def_pint(spec, "progressDeadlineSeconds", 600);
}

static void default_daemonset(json_t *o)
{
    json_t *spec = sub(o, "spec"), *st = sub(spec, "updateStrategy");
    def_str(st, "type", "RollingUpdate");
    if (!strcmp(str(st, "type"), "RollingUpdate")) {
        json_t *ru = sub(st, "rollingUpdate");
        def_pint(ru, "maxUnavailable", 1);
        def_pint(ru, "maxSurge", 0);
    }
    def_pint(spec, "revisionHistoryLimit", 10);
}

/* SetDefaults_PriorityClass */
static void default_priority_class(json_t *o)
{
    def_str(o, "preemptionPolicy", "PreemptLowerPriority");
}

static void default_replicaset(json_t *o)
{
    def_pint(sub(o, "spec"), "replicas", 1);
}

static void default_statefulset(json_t *o)
{
    json_t *spec = sub(o, "spec"), *st = sub(spec, "updateStrategy");
    def_str(spec, "podManagementPolicy", "OrderedReady");
    if (unset_zero(json_object_get(st, "type"))) {
        put(st, "type", json_string("RollingUpdate"));
        sub(st, "rollingUpdate");
    }
    json_t *ru = obj_at(st, "rollingUpdate");
    if (!strcmp(str(st, "type"), "RollingUpdate") && ru) def_pint(ru, "partition", 0);
    json_t *ret = sub(spec, "persistentVolumeClaimRetentionPolicy");
    def_str(ret, "whenDeleted", "Retain");
    def_str(ret, "whenScaled", "Retain");
    def_pint(spec, "replicas", 1);
    def_pint(spec, "revisionHistoryLimit", 10);
    size_t i;
    json_t *pvc;
    json_array_foreach(json_object_get(spec, "volumeClaimTemplates"), i, pvc)
    { /* written by Convert_apps_StatefulSetSpec_To_v1_StatefulSetSpec, whatever came in */
        force_str(pvc, "apiVersion", "v1");
        force_str(pvc, "kind", "PersistentVolumeClaim");
    }
}

/* ---- batch/v1, autoscaling/v1 -------------------------------------------------------------- */

static void default_job(json_t *o)
{
    json_t *spec = sub(o, "spec");
    if (!spec) return;
    if (unset(json_object_get(spec, "completions")) && unset(json_object_get(spec, "parallelism")))
        put(spec, "completions", json_integer(1));
    def_pint(spec, "parallelism", 1);
    def_pint(spec, "backoffLimit", unset(json_object_get(spec, "backoffLimitPerIndex")) ? 6 : 2147483647);
    labels_from_template(o, obj_at(spec, "template"), 0);
    def_pstr(spec, "completionMode", "NonIndexed");
    def_pbool(spec, "suspend", 0);
    def_pstr(spec, "podReplacementPolicy",
             unset(json_object_get(spec, "podFailurePolicy")) ? "TerminatingOrFailed" : "Failed");
    def_pbool(spec, "manualSelector", 0);
}

static void default_pod_condition_pattern(json_t *o)
{
    def_str(o, "status", "True");
}

static void default_cronjob(json_t *o)
{
    json_t *spec = sub(o, "spec");
    def_str(spec, "concurrencyPolicy", "Allow");
    def_pbool(spec, "suspend", 0);
    def_pint(spec, "successfulJobsHistoryLimit", 3);
    def_pint(spec, "failedJobsHistoryLimit", 1);
}

static void default_hpa(json_t *o)
{
    def_pint(obj_at(o, "spec"), "minReplicas", 1);
}

/* ---- networking/v1, rbac/v1, storage/v1, discovery/v1 -------------------------------------- */

static void default_network_policy(json_t *o)
{
    json_t *spec = sub(o, "spec");
    if (!spec || json_array_size(json_object_get(spec, "policyTypes"))) return;
    json_t *types = json_pack("[s]", "Ingress");
    if (json_array_size(json_object_get(spec, "egress"))) json_array_append_new(types, json_string("Egress"));
    put(spec, "policyTypes", types);
}

static void default_ingress_class(json_t *o)
{
    def_pstr(obj_at(obj_at(o, "spec"), "parameters"), "scope", "Cluster");
}

static void default_role_binding(json_t *o)
{
    def_str(obj_at(o, "roleRef"), "apiGroup", RBAC_GROUP);
}

static void default_subject(json_t *o)
{
    const char *kind = str(o, "kind");
    if (!strcmp(kind, "User") || !strcmp(kind, "Group")) def_str(o, "apiGroup", RBAC_GROUP);
}

static void default_storage_class(json_t *o)
{
    def_pstr(o, "reclaimPolicy", "Delete");
    def_pstr(o, "volumeBindingMode", "Immediate");
}

static void default_csi_driver(json_t *o)
{
    json_t *spec = sub(o, "spec");
    if (!spec) return;
    def_pbool(spec, "attachRequired", 1);
    def_pbool(spec, "podInfoOnMount", 0);
    def_pbool(spec, "storageCapacity", 0);
    def_pstr(spec, "fsGroupPolicy", "ReadWriteOnceWithFSType");
    if (!json_array_size(json_object_get(spec, "volumeLifecycleModes")))
        put(spec, "volumeLifecycleModes", json_pack("[s]", "Persistent"));
    def_pbool(spec, "requiresRepublish", 0);
    def_pbool(spec, "seLinuxMount", 0);
}

static void default_slice_port(json_t *o)
{
    def_pstr(o, "name", "");
    def_pstr(o, "protocol", "TCP");
}

/* ---- the table ----------------------------------------------------------------------------- */

typedef void (*default_fn)(json_t *obj);

typedef struct entry {
    const char *name;
    default_fn fn;
    const kc_type *type; /* resolved once */
} entry;

static entry table[] = {
    {"apps/v1.DaemonSet", default_daemonset, NULL},
    {"apps/v1.Deployment", default_deployment, NULL},
    {"apps/v1.ReplicaSet", default_replicaset, NULL},
    {"apps/v1.StatefulSet", default_statefulset, NULL},
    {"autoscaling/v1.HorizontalPodAutoscaler", default_hpa, NULL},
    {"batch/v1.CronJob", default_cronjob, NULL},
    {"batch/v1.Job", default_job, NULL},
    {"batch/v1.PodFailurePolicyOnPodConditionsPattern", default_pod_condition_pattern, NULL},
    {"core/v1.AzureDiskVolumeSource", default_azure_disk, NULL},
    {"core/v1.ConfigMapVolumeSource", default_mode_0644, NULL},
    {"core/v1.Container", default_container, NULL},
    {"core/v1.ContainerPort", default_protocol_tcp, NULL},
    {"core/v1.DownwardAPIVolumeSource", default_mode_0644, NULL},
    {"core/v1.EndpointPort", default_protocol_tcp, NULL},
    {"core/v1.EphemeralContainer", default_container, NULL},
    {"core/v1.FileKeySelector", default_file_key_selector, NULL},
    {"core/v1.GRPCAction", default_grpc, NULL},
    {"core/v1.HTTPGetAction", default_http_get, NULL},
    {"core/v1.HostPathVolumeSource", default_host_path, NULL},
    {"core/v1.ISCSIPersistentVolumeSource", default_iscsi, NULL},
    {"core/v1.ISCSIVolumeSource", default_iscsi, NULL},
    {"core/v1.ImageVolumeSource", default_image_volume, NULL},
    {"core/v1.LimitRangeItem", default_limit_range_item, NULL},
    {"core/v1.Namespace", default_namespace, NULL},
    {"core/v1.NamespaceStatus", default_namespace_status, NULL},
    {"core/v1.NodeStatus", default_node_status, NULL},
    {"core/v1.ObjectFieldSelector", default_field_selector, NULL},
    {"core/v1.PersistentVolume", default_pv, NULL},
    {"core/v1.PersistentVolumeClaim", default_pvc, NULL},
    {"core/v1.PersistentVolumeClaimSpec", default_pvc_spec, NULL},
    {"core/v1.Pod", default_pod, NULL},
    {"core/v1.PodSpec", default_pod_spec, NULL},
    {"core/v1.Probe", default_probe, NULL},
    {"core/v1.ProjectedVolumeSource", default_mode_0644, NULL},
    {"core/v1.RBDPersistentVolumeSource", default_rbd, NULL},
    {"core/v1.RBDVolumeSource", default_rbd, NULL},
    {"core/v1.ReplicationController", default_rc, NULL},
    {"core/v1.ScaleIOPersistentVolumeSource", default_scaleio, NULL},
    {"core/v1.ScaleIOVolumeSource", default_scaleio, NULL},
    {"core/v1.Secret", default_secret, NULL},
    {"core/v1.SecretVolumeSource", default_mode_0644, NULL},
    {"core/v1.Service", default_service, NULL},
    {"core/v1.ServiceAccountTokenProjection", default_sa_token, NULL},
    {"core/v1.Volume", default_volume, NULL},
    {"discovery/v1.EndpointPort", default_slice_port, NULL},
    {"networking/v1.IngressClass", default_ingress_class, NULL},
    {"networking/v1.NetworkPolicy", default_network_policy, NULL},
    {"networking/v1.NetworkPolicyPort", default_protocol_tcp_ptr, NULL},
    {"rbac/v1.ClusterRoleBinding", default_role_binding, NULL},
    {"rbac/v1.RoleBinding", default_role_binding, NULL},
    {"rbac/v1.Subject", default_subject, NULL},
    {"scheduling/v1.PriorityClass", default_priority_class, NULL},
    {"storage/v1.CSIDriver", default_csi_driver, NULL},
    {"storage/v1.StorageClass", default_storage_class, NULL},
};
#define NTABLE (sizeof table / sizeof *table)

static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static size_t nresolved;

static int by_type(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    uintptr_t a1 = (uintptr_t)x->type, b1 = (uintptr_t)y->type;
    return a1 < b1 ? -1 : a1 > b1;
}

/* Resolves names to types, drops unknown ones, sorts by type pointer for bsearch. */
static void table_init(void)
{
    for (size_t i = 0; i < NTABLE; i++) {
        table[i].type = kc_schema_type(table[i].name);
        if (table[i].type) table[nresolved++] = table[i];
    }
    qsort(table, nresolved, sizeof *table, by_type);
}

static default_fn lookup(const kc_type *t)
{
    size_t lo = 0, hi = nresolved;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (table[mid].type == t) return table[mid].fn;
        if ((uintptr_t)table[mid].type < (uintptr_t)t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- the walk ------------------------------------------------------------------------------ */

/* What Go's encoder writes for a field the request left out, or NULL to leave it out:
 * - non-pointer structs: {} (omitempty does not apply to structs);
 * - non-pointer metav1.Time without omitzero: null;
 * - non-omitempty, non-pointer scalars: their zero ("", 0, false, "0"), slices and maps: null.
 * Outside status subtrees, fields kc_schema_validate requires are left alone (adding a zero
 * would hide its "Required value"); inside status (not validated on main-resource writes, and
 * upstream requires none of its counters) required integers and booleans get zeros too. */
static json_t *zero_value(const kc_field *f, int in_status)
{
    unsigned fl = f->flags;
    int req = (fl & KC_FF_REQUIRED) != 0;
    if (fl & (KC_FF_NULLABLE | KC_FF_OMITZERO)) return NULL;
    switch ((kc_fkind)f->v.kind) {
    case KC_FK_REF:
        return req && !in_status ? NULL : json_object();
    case KC_FK_DATETIME:
        return req && !in_status ? NULL : json_null();
    default:
        break;
    }
    if ((fl & KC_FF_OMITEMPTY) || (req && !in_status)) return NULL;
    switch ((kc_fkind)f->v.kind) {
    case KC_FK_INTEGER:
    case KC_FK_INTORSTRING:
        return json_integer(0);
    case KC_FK_BOOLEAN:
        return json_false();
    case KC_FK_STRING:
        return req ? NULL : json_string_nocheck("");
    case KC_FK_QUANTITY:
        return req ? NULL : json_string_nocheck("0");
    case KC_FK_ARRAY:
    case KC_FK_MAP:
        return req ? NULL : json_null();
    default:
        return NULL;
    }
}

/* Cheap pre-check for zero_value, before any lookup in obj. */
static int may_zero(const kc_field *f)
{
    if (f->flags & (KC_FF_NULLABLE | KC_FF_OMITZERO)) return 0;
    return f->v.kind == KC_FK_REF || f->v.kind == KC_FK_DATETIME || !(f->flags & KC_FF_OMITEMPTY);
}

static void add_zero_values(const kc_type *t, json_t *obj, int in_status)
{
    size_t n = kc_type_nfields(t);
    for (size_t i = 0; i < n; i++) {
        const kc_field *f = kc_type_field_at(t, i);
        if (!may_zero(f)) continue;
        json_t *cur = json_object_get(obj, f->name);
        if (cur && !json_is_null(cur)) continue;
        json_t *z = zero_value(f, in_status || (f->flags & KC_FF_STATUS));
        if (z && !(cur && json_is_null(z))) json_object_set_new_nocheck(obj, f->name, z);
    }
}

static void walk(const kc_type *t, json_t *obj, int in_status, int depth);

static void walk_value(const kc_type *t, json_t *v, int in_status, int depth)
{
    if (t && json_is_object(v)) walk(t, v, in_status, depth);
}

static void walk_field(const kc_field *f, json_t *v, int in_status, int depth)
{
    size_t i;
    json_t *item;
    const char *k;
    switch (kc_field_kind(f)) {
    case KC_FK_REF:
        walk_value(kc_field_type(f), v, in_status, depth);
        break;
    case KC_FK_ARRAY:
        if (kc_field_elem_kind(f) != KC_FK_REF) break;
        json_array_foreach(v, i, item) walk_value(kc_field_elem_type(f), item, in_status, depth);
        break;
    case KC_FK_MAP:
        if (kc_field_elem_kind(f) != KC_FK_REF) break;
        json_object_foreach(v, k, item) walk_value(kc_field_elem_type(f), item, in_status, depth);
        break;
    default:
        break;
    }
}

/* Pre-order, like upstream's SetObjectDefaults_*: zero values, then the type's own defaults,
 * then the children (which by then include what the defaults added). */
static void walk(const kc_type *t, json_t *obj, int in_status, int depth)
{
    if (depth > MAX_DEPTH) return;
    add_zero_values(t, obj, in_status);
    default_fn fn = lookup(t);
    if (fn) fn(obj);
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const kc_field *f = kc_type_fieldn(t, json_object_iter_key(it), json_object_iter_key_len(it));
        if (f) walk_field(f, json_object_iter_value(it), in_status || (f->flags & KC_FF_STATUS), depth + 1);
    }
}

void kc_defaults_apply_field(const kc_type *t, json_t *obj, const char *field)
{
    if (!t || !json_is_object(obj)) return;
    pthread_once(&table_once, table_init);
    const kc_field *f = kc_type_field(t, field);
    json_t *v = json_object_get(obj, field);
    if (f && v) walk_field(f, v, (f->flags & KC_FF_STATUS) != 0, 1);
}

void kc_defaults_apply(const kc_type *t, json_t *obj)
{
    if (!t || !json_is_object(obj)) return;
    pthread_once(&table_once, table_init);
    walk(t, obj, 0, 0);
}
