/* Service address allocation in the API server, as the Service REST storage does it upstream:
 * ClusterIPs and NodePorts are allocated on create (and on type or port changes), held in
 * bitmaps rebuilt from the stored Services at start, and released once a deletion is durable.
 * Also keeps the well-known `default/kubernetes` Service and its Endpoints and EndpointSlice
 * pointing at this server (semantics 5.2-5.4). */
#include "apiserver/apiserver.h"
#include "lib/xalloc.h"
#include <stdio.h>

static int res_svc(void)
{
    static int r = -2;
    if (r == -2) r = kc_resource_find("", "v1", "services");
    return r;
}

static bool wants_node_ports(json_t *spec)
{
    const char *t = json_string_value(json_object_get(spec, "type")) ?: "ClusterIP";
    return !strcmp(t, "NodePort") || !strcmp(t, "LoadBalancer");
}

/* Marks what a stored Service holds (start-up, or undoing a release). */
static void mark(kc_apiserver *s, json_t *svc)
{
    json_t *spec = json_object_get(svc, "spec"), *p;
    uint32_t ip;
    kc_err err = KC_ERR_INIT;
    if (kc_ip_parse(json_string_value(json_object_get(spec, "clusterIP")), &ip)) kc_range_take(&s->svc_ips, ip, &err);
    size_t i;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        json_t *np = json_object_get(p, "nodePort");
        if (json_is_integer(np) && !kc_range_has(&s->node_ports, (uint32_t)json_integer_value(np)))
            kc_range_take(&s->node_ports, (uint32_t)json_integer_value(np), &err);
    }
    kc_err_release(&err);
}

static bool mark_one(void *ud, const kc_obj *o)
{
    json_t *d = kc_obj_parse(o);
    mark(ud, d);
    json_decref(d);
    return true;
}

int kc_apiserver_set_service_ranges(kc_apiserver *s, const char *cidr, const char *ports, kc_err *err)
{
    kc_range_release_all(&s->svc_ips);
    kc_range_release_all(&s->node_ports);
    if (kc_range_init_cidr(&s->svc_ips, cidr, err) < 0 || kc_range_init_ports(&s->node_ports, ports, err) < 0)
        return -1;
    return kc_store_list(s->store, res_svc(), NULL, NULL, 0, mark_one, s, err);
}

static int set_cluster_ip(kc_apiserver *s, json_t *spec, uint32_t ip)
{
    char txt[16];
    kc_ip_format(ip, txt);
    json_object_set_new(spec, "clusterIP", json_string(txt));
    json_object_set_new(spec, "clusterIPs", json_pack("[s]", txt));
    (void)s;
    return 0;
}

static int allocate_ip(kc_apiserver *s, json_t *spec, kc_err *err)
{
    const char *t = json_string_value(json_object_get(spec, "type")) ?: "ClusterIP";
    const char *want = json_string_value(json_object_get(spec, "clusterIP"));
    if (!strcmp(t, "ExternalName") || (want && !strcmp(want, "None"))) {
        if (want && !strcmp(want, "None")) json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
        return 0;
    }
    uint32_t ip;
    if (want && want[0]) {
        if (!kc_ip_parse(want, &ip)) {
            kc_err_cause(err, "FieldValueInvalid", "spec.clusterIPs[0]", "Invalid value: \"%s\": must be a valid IP address", want);
            return -1;
        }
        if (kc_range_take(&s->svc_ips, ip, err) < 0) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            kc_err_cause(err, "FieldValueInvalid", "spec.clusterIPs",
                         "Invalid value: []string{\"%s\"}: failed to allocate IP %s: %s", want, want, msg);
            return -1;
        }
    } else if (kc_range_allocate(&s->svc_ips, &ip, err) < 0) {
        return -1;
    }
    return set_cluster_ip(s, spec, ip);
}

/* Node ports a Service needs: chosen ones taken, missing ones allocated (a TCP and a UDP port of
 * the same number may share it). On failure everything taken here is given back. */
static int allocate_ports(kc_apiserver *s, json_t *spec, json_t *old_spec, kc_err *err)
{
    json_t *p, *taken = json_array();
    size_t i;
    int rc = 0;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        json_t *np = json_object_get(p, "nodePort");
        uint32_t v = json_is_integer(np) ? (uint32_t)json_integer_value(np) : 0;
        bool had = false;
        size_t j;
        json_t *q;
        json_array_foreach(json_object_get(old_spec, "ports"), j, q) if (v && json_integer_value(json_object_get(q, "nodePort")) == v) had = true;
        json_array_foreach(taken, j, q) if (v && (uint32_t)json_integer_value(q) == v) had = true;
        if (had) continue;
        if (v ? kc_range_take(&s->node_ports, v, err) : kc_range_allocate(&s->node_ports, &v, err)) {
            kc_err_cause(err, "FieldValueInvalid", "spec.ports[].nodePort", "Invalid value: %u: %s", v, err->msg);
            rc = -1;
            break;
        }
        json_object_set_new(p, "nodePort", json_integer(v));
        json_array_append_new(taken, json_integer(v));
    }
    if (rc < 0) json_array_foreach(taken, i, p) kc_range_release(&s->node_ports, (uint32_t)json_integer_value(p));
    json_decref(taken);
    return rc;
}

static void drop_node_ports(kc_apiserver *s, json_t *spec, bool release)
{
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        json_t *np = json_object_get(p, "nodePort");
        if (release && json_is_integer(np)) kc_range_release(&s->node_ports, (uint32_t)json_integer_value(np));
        json_object_del(p, "nodePort");
    }
}

int kc_service_allocate(kc_apiserver *s, json_t *svc, json_t *old, kc_err *err)
{
    json_t *spec = json_object_get(svc, "spec"), *old_spec = json_object_get(old, "spec");
    if (!json_is_object(spec)) return 0;
    if (!old && allocate_ip(s, spec, err) < 0) return kc_err_invalid(err, "Service", json_string_value(json_object_get(json_object_get(svc, "metadata"), "name")));
    if (!wants_node_ports(spec)) {
        drop_node_ports(s, old_spec, true);
        drop_node_ports(s, spec, false);
        return 0;
    }
    if (allocate_ports(s, spec, wants_node_ports(old_spec) ? old_spec : NULL, err) < 0) {
        if (!old) kc_service_release(s, svc);
        return kc_err_invalid(err, "Service", json_string_value(json_object_get(json_object_get(svc, "metadata"), "name")));
    }
    return 0;
}

static void release_spec(kc_apiserver *s, json_t *spec)
{
    uint32_t ip;
    if (kc_ip_parse(json_string_value(json_object_get(spec, "clusterIP")), &ip)) kc_range_release(&s->svc_ips, ip);
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        json_t *np = json_object_get(p, "nodePort");
        if (json_is_integer(np)) kc_range_release(&s->node_ports, (uint32_t)json_integer_value(np));
    }
}

void kc_service_release(kc_apiserver *s, json_t *svc)
{
    release_spec(s, json_object_get(svc, "spec"));
}

/* Deleted Services give their addresses back once the deletion is durable. */
void kc_service_released_by_events(kc_apiserver *s)
{
    uint64_t head = kc_store_seq_head(s->store);
    for (; s->alloc_seq < head; s->alloc_seq++) {
        bool lost;
        const kc_ring_event *ev = kc_store_event(s->store, s->alloc_seq, &lost);
        if (!ev || ev->type != KC_EV_DELETED || ev->obj->res != res_svc()) continue;
        json_t *d = kc_obj_parse(ev->obj);
        release_spec(s, json_object_get(d, "spec"));
        json_decref(d);
    }
}

/* An update that leaves out allocated values keeps them (upstream's patchAllocatedValues); one
 * that changes the type away from NodePort drops the fields that only that type had. */
void kc_service_keep_allocated(json_t *svc, json_t *old)
{
    json_t *spec = json_object_get(svc, "spec"), *ospec = json_object_get(old, "spec");
    if (!json_is_object(spec) || !json_is_object(ospec)) return;
    const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
    if ((!ip || !ip[0]) && json_object_get(ospec, "clusterIP")) {
        json_object_set(spec, "clusterIP", json_object_get(ospec, "clusterIP"));
        if (json_object_get(ospec, "clusterIPs")) json_object_set(spec, "clusterIPs", json_object_get(ospec, "clusterIPs"));
    }
    json_t *p, *q;
    size_t i, j;
    if (wants_node_ports(ospec) && !wants_node_ports(spec)) { /* upstream's dropTypeDependentFields */
        static const char *fields[] = {"externalTrafficPolicy", "allocateLoadBalancerNodePorts", "healthCheckNodePort",
                                       "loadBalancerClass"};
        for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
            if (json_equal(json_object_get(spec, fields[k]), json_object_get(ospec, fields[k])))
                json_object_del(spec, fields[k]);
        json_array_foreach(json_object_get(spec, "ports"), i, p)
        {
            json_array_foreach(json_object_get(ospec, "ports"), j, q) if (json_equal(json_object_get(p, "nodePort"), json_object_get(q, "nodePort")))
                json_object_del(p, "nodePort");
        }
        return;
    }
    if (!wants_node_ports(spec) || !wants_node_ports(ospec)) return;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
    {
        if (json_object_get(p, "nodePort")) continue;
        json_array_foreach(json_object_get(ospec, "ports"), j, q) if (json_equal(json_object_get(p, "port"), json_object_get(q, "port")) &&
                                                                         json_object_get(q, "nodePort"))
        {
            json_object_set(p, "nodePort", json_object_get(q, "nodePort"));
            break;
        }
    }
}

/* ---- default/kubernetes ---- */

static int put(kc_apiserver *s, int res, json_t *doc, kc_err *err)
{
    json_t *md = json_object_get(doc, "metadata");
    const kc_obj *cur = kc_store_get(s->store, res, json_string_value(json_object_get(md, "namespace")),
                                     json_string_value(json_object_get(md, "name")));
    if (cur) {
        json_t *old = kc_obj_parse(cur);
        json_object_set(md, "uid", json_object_get(json_object_get(old, "metadata"), "uid"));
        json_object_set(md, "creationTimestamp", json_object_get(json_object_get(old, "metadata"), "creationTimestamp"));
        json_object_set(md, "resourceVersion", json_object_get(json_object_get(old, "metadata"), "resourceVersion"));
        bool same = json_equal(old, doc);
        json_decref(old);
        if (same) {
            json_decref(doc);
            return 0;
        }
    }
    return kc_store_write(s->store, cur ? KC_WRITE_UPDATE : KC_WRITE_CREATE, res, doc, 0, NULL, NULL, NULL, err);
}

static json_t *meta(const char *name, const char *ns, json_t *labels)
{
    char uid[37], now[32];
    kc_new_uid(uid);
    kc_now_rfc3339(now);
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", name, "namespace", ns, "uid", uid, "creationTimestamp", now,
                     "labels", labels);
}

int kc_service_bootstrap(kc_apiserver *s, kc_err *err)
{
    int svc = res_svc(), ep = kc_resource_find("", "v1", "endpoints");
    int es = kc_resource_find("discovery.k8s.io", "v1", "endpointslices");
    const kc_obj *cur = kc_store_get(s->store, svc, "default", "kubernetes");
    if (!cur) {
        char ip[16];
        kc_ip_format(s->svc_ips.first, ip);
        kc_range_take(&s->svc_ips, s->svc_ips.first, err);
        kc_err_release(err);
        json_t *doc = json_pack(
            "{s:s,s:s,s:o,s:{s:s,s:[s],s:[{s:s,s:s,s:i,s:i}],s:s,s:s,s:[s],s:s,s:s},s:{s:{}}}", "apiVersion", "v1",
            "kind", "Service", "metadata",
            meta("kubernetes", "default", json_pack("{s:s,s:s}", "component", "apiserver", "provider", "kubernetes")),
            "spec", "clusterIP", ip, "clusterIPs", ip, "ports", "name", "https", "protocol", "TCP", "port", 443,
            "targetPort", s->listen_port, "sessionAffinity", "None", "type", "ClusterIP", "ipFamilies", "IPv4",
            "ipFamilyPolicy", "SingleStack", "internalTrafficPolicy", "Cluster", "status", "loadBalancer");
        if (kc_store_write(s->store, KC_WRITE_CREATE, svc, doc, 0, NULL, NULL, NULL, err) < 0) return -1;
    }
    json_t *epdoc = json_pack("{s:s,s:s,s:o,s:[{s:[{s:s}],s:[{s:s,s:i,s:s}]}]}", "apiVersion", "v1", "kind",
                              "Endpoints", "metadata",
                              meta("kubernetes", "default", json_pack("{s:s}", "endpointslice.kubernetes.io/skip-mirror", "true")),
                              "subsets", "addresses", "ip", s->listen_host, "ports", "name", "https", "port",
                              s->listen_port, "protocol", "TCP");
    if (put(s, ep, epdoc, err) < 0) return -1;
    json_t *esdoc = json_pack(
        "{s:s,s:s,s:o,s:s,s:[{s:[s],s:{s:b}}],s:[{s:s,s:i,s:s}]}", "apiVersion", "discovery.k8s.io/v1", "kind",
        "EndpointSlice", "metadata",
        meta("kubernetes", "default", json_pack("{s:s}", "kubernetes.io/service-name", "kubernetes")), "addressType",
        "IPv4", "endpoints", "addresses", s->listen_host, "conditions", "ready", 1, "ports", "name", "https", "port",
        s->listen_port, "protocol", "TCP");
    return put(s, es, esdoc, err);
}
