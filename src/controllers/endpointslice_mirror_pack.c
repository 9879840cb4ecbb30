/* Mirroring planner (semantics 5.7, upstream endpointslicemirroring reconciler), pure: the
 * EndpointSlices that mirror a user-made Endpoints of a selector-less Service.
 *
 *   every subset: its ports, then its addresses (ready) and notReadyAddresses (not ready), at
 *   most 1000 per subset; each address goes to the group of (address type of its IP, port set)
 *   per group: no mirrored slice yet --> create one; else the first keeps the group (updated
 *   unless its endpoints, labels and annotations already match) and any others are deleted
 *   slices of groups no longer present --> deleted; creates take over slices about to be deleted
 *
 * Subsets are taken as written (upstream repacks them first; that only matters for an Endpoints
 * listing one address twice). Invalid IPs are skipped and counted. */
#include "controllers/endpointslice_int.h"
#include "lib/xalloc.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

typedef struct mgroup {
    char *key;         /* "<addressType>|<ports key>" */
    const char *atype; /* static */
    json_t *ports;     /* EndpointPort array */
    kc_es_group eps;   /* desired endpoints (ports unused) */
    json_t *first;     /* the existing slice kept for it (borrowed), or NULL */
} mgroup;

typedef struct mplan {
    mgroup *g;
    size_t n, cap;
} mplan;

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Normalizes an IP (ParseIPSloppy + String); NULL when invalid. */
static const char *norm_ip(const char *ip, char out[INET6_ADDRSTRLEN], bool *v6)
{
    unsigned char buf[16];
    if (!ip) return NULL;
    if (inet_pton(AF_INET, ip, buf) == 1) {
        *v6 = false;
        return inet_ntop(AF_INET, buf, out, INET6_ADDRSTRLEN);
    }
    if (inet_pton(AF_INET6, ip, buf) == 1) {
        *v6 = !(buf[10] == 0xff && buf[11] == 0xff && !memcmp(buf, "\0\0\0\0\0\0\0\0\0\0", 10));
        return inet_ntop(*v6 ? AF_INET6 : AF_INET, *v6 ? buf : buf + 12, out, INET6_ADDRSTRLEN);
    }
    return NULL;
}

static json_t *ports_of(json_t *subset)
{
    json_t *out = json_array(), *p;
    size_t i;
    json_array_foreach(json_object_get(subset, "ports"), i, p)
    {
        json_t *ep = json_pack("{s:s,s:I,s:s}", "name", str(p, "name") ?: "", "port",
                               json_integer_value(json_object_get(p, "port")), "protocol",
                               str(p, "protocol") ?: "TCP");
        json_t *app = json_object_get(p, "appProtocol");
        if (json_is_string(app)) json_object_set(ep, "appProtocol", app);
        json_array_append_new(out, ep);
    }
    return out;
}

/* addressToEndpoint: the address, its readiness, and what it names. */
static json_t *endpoint_of(json_t *addr, const char *ip, bool ready)
{
    json_t *ep = json_pack("{s:[s],s:{s:b}}", "addresses", ip, "conditions", "ready", ready);
    const char *host = str(addr, "hostname");
    if (host && *host) json_object_set_new(ep, "hostname", json_string(host));
    json_t *ref = json_object_get(addr, "targetRef");
    if (json_is_object(ref)) json_object_set(ep, "targetRef", ref);
    json_t *node = json_object_get(addr, "nodeName");
    if (json_is_string(node)) json_object_set(ep, "nodeName", node);
    return ep;
}

static mgroup *group_for(mplan *p, const char *atype, json_t *ports)
{
    char *pk = kc_es_ports_key(ports), key[4096];
    snprintf(key, sizeof key, "%s|%s", atype, pk);
    free(pk);
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->g[i].key, key)) return &p->g[i];
    if (p->n == p->cap) p->g = xrealloc(p->g, (p->cap = p->cap ? 2 * p->cap : 4) * sizeof *p->g);
    mgroup *g = &p->g[p->n++];
    *g = (mgroup){.key = xstrdup(key), .atype = atype, .ports = json_incref(ports)};
    return g;
}

/* Adds the addresses of one list of a subset; returns how many were taken. */
static int add_list(mplan *p, json_t *ports, json_t *list, bool ready, int budget, int *invalid)
{
    json_t *a;
    size_t i;
    int taken = 0;
    json_array_foreach(list, i, a)
    {
        if (taken >= budget) break;
        char ip[INET6_ADDRSTRLEN];
        bool v6 = false;
        if (!norm_ip(str(a, "ip"), ip, &v6)) {
            (*invalid)++;
            continue;
        }
        mgroup *g = group_for(p, v6 ? "IPv6" : "IPv4", ports);
        kc_es_group_add(&g->eps, endpoint_of(a, ip, ready));
        taken++;
    }
    return taken;
}

static void desired(json_t *endpoints, mplan *p, int *invalid, int *skipped)
{
    json_t *ss;
    size_t i;
    json_array_foreach(json_object_get(endpoints, "subsets"), i, ss)
    {
        json_t *ports = ports_of(ss), *ready = json_object_get(ss, "addresses");
        json_t *nready = json_object_get(ss, "notReadyAddresses");
        int total = (int)(json_array_size(ready) + json_array_size(nready)), bad = *invalid;
        int taken = add_list(p, ports, ready, true, KC_ESM_MAX_PER_SUBSET, invalid);
        taken += add_list(p, ports, nready, false, KC_ESM_MAX_PER_SUBSET - taken, invalid);
        *skipped += total - taken - (*invalid - bad);
        json_decref(ports);
    }
}

/* ---- slices ---- */

static json_t *without(json_t *m, const char *a, const char *b)
{
    json_t *out = json_object(), *v;
    const char *k;
    json_object_foreach(m, k, v) if (strcmp(k, a) && strcmp(k, b)) json_object_set(out, k, v);
    return out;
}

static json_t *slice_labels(json_t *ep)
{
    json_t *md = json_object_get(ep, "metadata");
    json_t *l = json_object_size(json_object_get(md, "labels"))
                    ? json_deep_copy(json_object_get(md, "labels"))
                    : json_object();
    json_object_set_new(l, KC_ES_SERVICE_LABEL, json_string(str(md, "name") ?: ""));
    json_object_set_new(l, KC_ES_MANAGED_LABEL, json_string(KC_ESM_CONTROLLER));
    return l;
}

static json_t *slice_annotations(json_t *ep)
{
    return without(json_object_get(json_object_get(ep, "metadata"), "annotations"), KC_EP_TRIGGER,
                   "kubectl.kubernetes.io/last-applied-configuration");
}

static json_t *new_slice(json_t *ep, mgroup *g)
{
    json_t *md = json_object_get(ep, "metadata");
    const char *name = str(md, "name") ?: "";
    char gen[300];
    snprintf(gen, sizeof gen, "%s-", name);
    json_t *smd =
        json_pack("{s:s,s:s,s:o,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]}", "generateName",
                  strlen(gen) <= 253 ? gen : name, "namespace", str(md, "namespace") ?: "", "labels",
                  slice_labels(ep), "ownerReferences", "apiVersion", "v1", "kind", "Endpoints", "name", name,
                  "uid", str(md, "uid") ?: "", "controller", 1, "blockOwnerDeletion", 1);
    json_t *ann = slice_annotations(ep);
    if (json_object_size(ann)) json_object_set(smd, "annotations", ann);
    json_decref(ann);
    json_t *eps = json_array();
    for (size_t i = 0; i < g->eps.n && json_array_size(eps) < KC_ESM_MAX_PER_SUBSET; i++)
        json_array_append(eps, g->eps.v[i].ep);
    json_t *doc =
        json_pack("{s:s,s:s,s:o,s:s,s:o,s:O}", "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice",
                  "metadata", smd, "addressType", g->atype, "endpoints", eps, "ports", g->ports);
    if (!json_array_size(eps)) json_object_set_new(doc, "endpoints", json_null());
    if (!json_array_size(g->ports)) json_object_set_new(doc, "ports", json_null());
    return doc;
}

/* The new content under an existing slice's name and revision. */
static json_t *as_update(json_t *doc, json_t *old)
{
    json_t *md = json_object_get(doc, "metadata"), *omd = json_object_get(old, "metadata");
    json_object_del(md, "generateName");
    static const char *keep[] = {"name", "uid", "resourceVersion", "creationTimestamp", "generateName"};
    for (size_t i = 0; i < 5; i++) {
        json_t *v = json_object_get(omd, keep[i]);
        if (v) json_object_set(md, keep[i], v);
    }
    return doc;
}

/* totalChanges == 0 and the same labels and annotations: the kept slice needs no write. */
static bool up_to_date(json_t *slice, mgroup *g, json_t *ep)
{
    json_t *eps = json_object_get(slice, "endpoints"), *e;
    size_t i, matches = 0;
    json_array_foreach(eps, i, e)
    {
        char *id = kc_es_endpoint_id(e);
        kc_es_want *w = kc_map_get(&g->eps.ids, id);
        free(id);
        if (!w || !kc_es_endpoint_same(w->ep, e)) return false;
        matches++;
    }
    if (matches != g->eps.n) return false;
    json_t *smd = json_object_get(slice, "metadata");
    json_t *have_l = without(json_object_get(smd, "labels"), KC_ES_SERVICE_LABEL, KC_ES_MANAGED_LABEL);
    json_t *want_l = without(json_object_get(json_object_get(ep, "metadata"), "labels"), "", "");
    json_t *have_a = without(json_object_get(smd, "annotations"), "", "");
    json_t *want_a = slice_annotations(ep);
    bool same = json_equal(have_l, want_l) && json_equal(have_a, want_a);
    json_decref(have_l), json_decref(want_l), json_decref(have_a), json_decref(want_a);
    return same;
}

static char *slice_key(json_t *slice)
{
    char *pk = kc_es_ports_key(json_object_get(slice, "ports")), key[4096];
    snprintf(key, sizeof key, "%s|%s", str(slice, "addressType") ?: "", pk);
    free(pk);
    return xstrdup(key);
}

/* recycleSlices: a create of the same address type takes over a slice about to be deleted. */
static void recycle(kc_es_plan *plan)
{
    for (size_t i = json_array_size(plan->del); i-- > 0;) {
        json_t *old = json_array_get(plan->del, i), *c;
        size_t k;
        json_array_foreach(plan->create, k, c)
        {
            if (strcmp(str(c, "addressType") ?: "", str(old, "addressType") ?: "")) continue;
            json_array_append(plan->update, as_update(c, old));
            json_array_remove(plan->create, k);
            json_array_remove(plan->del, i);
            break;
        }
    }
}

void kc_esm_reconcile(json_t *ep, json_t **slices, size_t n, kc_es_plan *plan, int *invalid, int *skipped)
{
    plan->create = json_array();
    plan->update = json_array();
    plan->del = json_array();
    mplan p = {0};
    *invalid = *skipped = 0;
    desired(ep, &p, invalid, skipped);
    for (size_t i = 0; i < n; i++) {
        char *key = slice_key(slices[i]);
        mgroup *g = NULL;
        for (size_t k = 0; k < p.n && !g; k++)
            if (!strcmp(p.g[k].key, key) && p.g[k].eps.n) g = &p.g[k];
        free(key);
        if (g && !g->first)
            g->first = slices[i];
        else
            json_array_append(plan->del, slices[i]);
    }
    for (size_t k = 0; k < p.n; k++) {
        mgroup *g = &p.g[k];
        if (!g->eps.n) continue;
        if (!g->first)
            json_array_append_new(plan->create, new_slice(ep, g));
        else if (!up_to_date(g->first, g, ep))
            json_array_append_new(plan->update, as_update(new_slice(ep, g), g->first));
    }
    recycle(plan);
    if (json_object_get(json_object_get(ep, "metadata"), "deletionTimestamp")) json_array_clear(plan->create);
    for (size_t k = 0; k < p.n; k++) {
        free(p.g[k].key);
        json_decref(p.g[k].ports);
        kc_es_group_release(&p.g[k].eps);
    }
    free(p.g);
}
