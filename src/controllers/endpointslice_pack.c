/* EndpointSlice planning (see endpointslice_int.h): desired endpoints per port set, and the
 * minimal-churn packing of upstream's reconcileByPortMapping:
 *
 *   1. each existing slice of the port set keeps the endpoints still wanted (taking their new
 *      version); a slice that lost or changed endpoints is updated (deleted when emptied); one
 *      whose labels drifted from the Service's is updated; the rest stay unchanged
 *   2. wanted endpoints left over first fill the slices being updated anyway, fullest first
 *   3. then, if fewer than a full slice remain, the unchanged slice that ends closest to full
 *      takes them; otherwise new slices of at most max_per_slice endpoints are created
 *
 * Slices of port sets no longer wanted, or not owned by this Service, are deleted; a Service with
 * nothing to publish keeps one placeholder slice without endpoints; creates are turned into
 * updates of slices about to be deleted. Worked example (max 100): 250 pods -> slices of
 * 100, 100, 50; 30 more pods -> the 50 one takes them (80); 5 pods deleted from a full slice ->
 * that slice is updated to 95 and no other slice changes. */
#include "controllers/endpointslice_int.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { UNCHANGED, UPDATE, DELETE };

typedef struct work {
    json_t *doc; /* the existing slice (borrowed) or, once changed, an owned copy */
    bool copied;
    int state;
    size_t nep;
} work;

/* ---- desired endpoints ---- */

void kc_es_group_release(kc_es_group *g)
{
    for (size_t k = 0; k < g->n; k++) {
        json_decref(g->v[k].ep);
        free(g->v[k].id);
    }
    free(g->v);
    kc_map_release(&g->ids);
    json_decref(g->ports);
    free(g->key);
    memset(g, 0, sizeof *g);
}

void kc_es_desired_release(kc_es_desired *d)
{
    for (size_t i = 0; i < d->n; i++)
        kc_es_group_release(&d->g[i]);
    free(d->g);
    memset(d, 0, sizeof *d);
}

kc_es_group *kc_es_group_for(kc_es_desired *d, json_t *ports)
{
    char *key = kc_es_ports_key(ports);
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->g[i].key, key)) {
            free(key);
            json_decref(ports);
            return &d->g[i];
        }
    if (d->n == d->cap) d->g = xrealloc(d->g, (d->cap = d->cap ? 2 * d->cap : 4) * sizeof *d->g);
    kc_es_group *g = &d->g[d->n++];
    *g = (kc_es_group){.ports = ports, .key = key};
    return g;
}

void kc_es_group_add(kc_es_group *g, json_t *ep)
{
    char *id = kc_es_endpoint_id(ep);
    kc_es_want *w = kc_map_get(&g->ids, id);
    if (w) { /* same identity: the later one wins, as a map insert upstream */
        json_decref(w->ep);
        w->ep = ep;
        free(id);
        return;
    }
    if (g->n == g->cap) {
        g->v = xrealloc(g->v, (g->cap = g->cap ? 2 * g->cap : 16) * sizeof *g->v);
        kc_map_release(&g->ids); /* the map points into v: rebuild it */
        for (size_t i = 0; i < g->n; i++)
            kc_map_put(&g->ids, g->v[i].id, &g->v[i]);
    }
    g->v[g->n] = (kc_es_want){ep, id, false};
    kc_map_put(&g->ids, id, &g->v[g->n]);
    g->n++;
    g->left++;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *kc_es_endpoint_id(json_t *ep)
{
    json_t *addrs = json_object_get(ep, "addresses"), *ref = json_object_get(ep, "targetRef");
    size_t n = json_array_size(addrs);
    const char **v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(addrs, i)) ?: "";
    qsort(v, n, sizeof *v, str_cmp);
    kc_buf b = KC_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        kc_buf_addf(&b, "%s,", v[i]);
    kc_buf_addf(&b, "|%s|%s/%s", json_string_value(json_object_get(ep, "hostname")) ?: "",
                json_string_value(json_object_get(ref, "namespace")) ?: "",
                json_string_value(json_object_get(ref, "name")) ?: "");
    free(v);
    return kc_buf_take(&b);
}

static char *one_port(json_t *p)
{
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "%s/%lld/%s/%s", json_string_value(json_object_get(p, "name")) ?: "",
                (long long)json_integer_value(json_object_get(p, "port")),
                json_string_value(json_object_get(p, "protocol")) ?: "",
                json_string_value(json_object_get(p, "appProtocol")) ?: "");
    return kc_buf_take(&b);
}

char *kc_es_ports_key(json_t *ports)
{
    size_t n = json_array_size(ports);
    char **v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = one_port(json_array_get(ports, i));
    qsort(v, n, sizeof *v, str_cmp);
    kc_buf b = KC_BUF_INIT;
    kc_buf_adds(&b, "");
    for (size_t i = 0; i < n; i++) {
        kc_buf_addf(&b, "%s;", v[i]);
        free(v[i]);
    }
    free(v);
    return kc_buf_take(&b);
}

/* ---- pods to endpoints ---- */

json_t *kc_es_pod_ports(const kc_ep_svc *s, const kc_ep_pod *p)
{
    json_t *out = json_array(), *sp, *spec = json_object_get(p->doc, "spec");
    size_t i;
    if (!json_array_size(s->ports) && s->headless) return out;
    json_array_foreach(s->ports, i, sp)
    {
        int num = kc_ep_find_port(spec, sp);
        if (num < 0) continue;
        json_t *ep =
            json_pack("{s:s,s:i,s:s}", "name", json_string_value(json_object_get(sp, "name")) ?: "", "port",
                      num, "protocol", json_string_value(json_object_get(sp, "protocol")) ?: "TCP");
        json_t *app = json_object_get(sp, "appProtocol");
        if (json_is_string(app)) json_object_set(ep, "appProtocol", app);
        json_array_append_new(out, ep);
    }
    return out;
}

json_t *kc_es_pod_endpoint(const kc_ep_svc *s, const kc_ep_pod *p, bool ipv6, const char *zone)
{
    const char *ip = kc_ep_pod_ip(p, ipv6);
    if (!ip) return NULL;
    bool serving = p->ready, terminating = p->terminating;
    bool ready = s->publish_not_ready || (serving && !terminating);
    json_t *ep = json_pack("{s:[s],s:{s:b,s:b,s:b}}", "addresses", ip, "conditions", "ready", ready,
                           "serving", serving, "terminating", terminating);
    if (kc_ep_pod_hostname(p, s)) json_object_set_new(ep, "hostname", json_string(p->hostname));
    json_object_set_new(
        ep, "targetRef",
        json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace", p->ns, "name", p->name, "uid", p->uid));
    if (p->node[0]) json_object_set_new(ep, "nodeName", json_string(p->node));
    if (zone && *zone) json_object_set_new(ep, "zone", json_string(zone));
    return ep;
}

/* ---- labels and new slices ---- */

static bool reserved(const char *k)
{
    return !strcmp(k, KC_ES_SERVICE_LABEL) || !strcmp(k, KC_ES_MANAGED_LABEL) || !strcmp(k, KC_EP_HEADLESS);
}

static json_t *unreserved(json_t *labels)
{
    json_t *out = json_object(), *v;
    const char *k;
    json_object_foreach(labels, k, v) if (!reserved(k)) json_object_set(out, k, v);
    return out;
}

json_t *kc_es_labels(const kc_ep_svc *s)
{
    json_t *l = unreserved(s->labels);
    if (s->headless) json_object_set_new(l, KC_EP_HEADLESS, json_string(""));
    json_object_set_new(l, KC_ES_SERVICE_LABEL, json_string(s->name));
    json_object_set_new(l, KC_ES_MANAGED_LABEL, json_string(KC_ES_CONTROLLER));
    return l;
}

/* Did the slice's own labels drift from the Service's (reserved keys aside)? */
static bool labels_drifted(json_t *slice, const kc_ep_svc *s)
{
    json_t *a = unreserved(json_object_get(json_object_get(slice, "metadata"), "labels"));
    json_t *b = unreserved(s->labels);
    bool d = !json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return d;
}

static json_t *owner_ref(const kc_ep_svc *s)
{
    return json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion", "v1", "kind", "Service", "name", s->name,
                     "uid", s->uid, "controller", 1, "blockOwnerDeletion", 1);
}

/* getEndpointSlicePrefix: "<svc>-", or the bare name when that is too long to prefix a name. */
static json_t *generate_name(const char *svc)
{
    char buf[300];
    snprintf(buf, sizeof buf, "%s-", svc);
    return json_string(strlen(buf) <= 253 ? buf : svc);
}

static json_t *new_slice(const kc_es_input *in, json_t *ports)
{
    const kc_ep_svc *s = in->svc;
    json_t *md = json_pack("{s:o,s:s,s:o,s:o}", "generateName", generate_name(s->name), "namespace", s->ns,
                           "labels", kc_es_labels(s), "ownerReferences", owner_ref(s));
    return json_pack("{s:s,s:s,s:o,s:s,s:[],s:O}", "apiVersion", "discovery.k8s.io/v1", "kind",
                     "EndpointSlice", "metadata", md, "addressType", in->address_type, "endpoints", "ports",
                     ports);
}

static bool owned_by(json_t *slice, const kc_ep_svc *s)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(json_object_get(slice, "metadata"), "ownerReferences"), i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "uid")) ?: "", s->uid) &&
            !strcmp(json_string_value(json_object_get(r, "kind")) ?: "", "Service") &&
            !strcmp(json_string_value(json_object_get(r, "apiVersion")) ?: "", "v1"))
            return true;
    }
    return false;
}

/* ---- reconcileByPortMapping ---- */

static bool same_field(json_t *a, json_t *b, const char *k)
{
    json_t *x = json_object_get(a, k), *y = json_object_get(b, k);
    return (!x && !y) || (x && y && json_equal(x, y));
}

/* Same object reference, resourceVersion aside? */
static bool same_ref(json_t *a, json_t *b)
{
    if (!a || !b) return a == b;
    const char *k;
    json_t *v;
    size_t na = 0, nb = 0;
    json_object_foreach(a, k, v)
    {
        if (!strcmp(k, "resourceVersion")) continue;
        na++;
        json_t *w = json_object_get(b, k);
        if (!w || !json_equal(v, w)) return false;
    }
    json_object_foreach(b, k, v) nb += strcmp(k, "resourceVersion") != 0;
    return na == nb;
}

bool kc_es_endpoint_same(json_t *a, json_t *b)
{
    if (!same_field(a, b, "nodeName") || !same_field(a, b, "zone")) return false;
    json_t *ca = json_object_get(a, "conditions"), *cb = json_object_get(b, "conditions");
    if (!same_field(ca, cb, "ready") || !same_field(ca, cb, "serving") || !same_field(ca, cb, "terminating"))
        return false;
    return same_ref(json_object_get(a, "targetRef"), json_object_get(b, "targetRef"));
}

/* A private copy of an existing slice before changing it: the top level and metadata copied, the
 * endpoints list copied (its entries shared), the rest shared (existing documents are read-only). */
static void make_own(work *w)
{
    if (w->copied) return;
    json_t *doc = json_copy(w->doc);
    json_object_set_new(doc, "metadata", json_deep_copy(json_object_get(w->doc, "metadata")));
    json_t *eps = json_object_get(w->doc, "endpoints");
    json_object_set_new(doc, "endpoints", json_is_array(eps) ? json_copy(eps) : json_array());
    w->doc = doc;
    w->copied = true;
}

/* Step 1 for one existing slice. */
static void keep_wanted(work *w, kc_es_group *g, const kc_ep_svc *s)
{
    json_t *eps = json_object_get(w->doc, "endpoints"), *ep, *kept = json_array();
    bool changed = false;
    size_t i;
    json_array_foreach(eps, i, ep)
    {
        char *id = kc_es_endpoint_id(ep);
        kc_es_want *want = kc_map_get(&g->ids, id);
        free(id);
        if (!want || want->placed) continue;
        json_array_append(kept, want->ep);
        if (!kc_es_endpoint_same(want->ep, ep)) changed = true;
        want->placed = true;
        g->left--;
    }
    bool drifted = labels_drifted(w->doc, s);
    w->nep = json_array_size(kept);
    if (changed || json_array_size(eps) != w->nep) {
        w->state = w->nep ? UPDATE : DELETE;
    } else {
        w->state = drifted ? UPDATE : UNCHANGED;
    }
    if (w->state == UPDATE) {
        make_own(w);
        json_object_set(w->doc, "endpoints", kept);
        json_object_set_new(json_object_get(w->doc, "metadata"), "labels", kc_es_labels(s));
    }
    json_decref(kept);
}

/* Moves wanted endpoints not yet placed into slice doc until it holds max. */
static void fill(json_t *doc, kc_es_group *g, int max)
{
    json_t *eps = json_object_get(doc, "endpoints");
    if (!json_is_array(eps)) json_object_set_new(doc, "endpoints", eps = json_array());
    for (size_t i = 0; i < g->n && g->left && json_array_size(eps) < (size_t)max; i++) {
        if (g->v[i].placed) continue;
        json_array_append(eps, g->v[i].ep);
        g->v[i].placed = true;
        g->left--;
    }
}

static int by_len_desc(const void *a, const void *b)
{
    const work *x = *(work *const *)a, *y = *(work *const *)b;
    return x->nep < y->nep ? 1 : x->nep > y->nep ? -1 : 0;
}

/* getSliceToFill: the unchanged slice closest to full once n endpoints are added, or NULL. */
static work *slice_to_fill(work *w, size_t nw, size_t n, int max)
{
    int best = max;
    work *pick = NULL;
    for (size_t i = 0; i < nw; i++) {
        if (w[i].state != UNCHANGED) continue;
        int diff = max - (int)(n + w[i].nep);
        if (diff >= 0 && diff < best) {
            best = diff;
            pick = &w[i];
            if (!diff) break;
        }
    }
    return pick;
}

static void by_port_mapping(const kc_es_input *in, kc_es_group *g, work *w, size_t nw, kc_es_plan *plan)
{
    for (size_t i = 0; i < nw; i++)
        keep_wanted(&w[i], g, in->svc);
    work **upd = xcalloc(nw + 1, sizeof *upd);
    size_t nu = 0;
    for (size_t i = 0; i < nw; i++)
        if (w[i].state == UPDATE) upd[nu++] = &w[i];
    qsort(upd, nu, sizeof *upd, by_len_desc);
    for (size_t i = 0; i < nu && g->left; i++)
        fill(upd[i]->doc, g, in->max_per_slice);
    free(upd);
    while (g->left) {
        work *t =
            g->left < (size_t)in->max_per_slice ? slice_to_fill(w, nw, g->left, in->max_per_slice) : NULL;
        if (t) {
            make_own(t);
            fill(t->doc, g, in->max_per_slice);
            t->state = UPDATE;
            continue;
        }
        json_t *doc = new_slice(in, g->ports);
        fill(doc, g, in->max_per_slice);
        json_array_append_new(plan->create, doc);
    }
}

/* ---- reconcileByAddressType ---- */

static void add_delete(kc_es_plan *plan, json_t *slice)
{
    json_array_append(plan->del, slice);
}

/* The existing slices of this address type owned by the Service, grouped by port set; others
 * are deleted. */
static work *sort_existing(const kc_es_input *in, kc_es_plan *plan, char ***keys_out, size_t *nw)
{
    work *w = xcalloc(in->nslices + 1, sizeof *w);
    char **keys = xcalloc(in->nslices + 1, sizeof *keys);
    size_t n = 0;
    for (size_t i = 0; i < in->nslices; i++) {
        json_t *sl = in->slices[i];
        const char *at = json_string_value(json_object_get(sl, "addressType")) ?: "";
        if (strcmp(at, in->address_type) || !owned_by(sl, in->svc)) {
            add_delete(plan, sl);
            continue;
        }
        keys[n] = kc_es_ports_key(json_object_get(sl, "ports"));
        w[n].doc = sl;
        w[n].nep = json_array_size(json_object_get(sl, "endpoints"));
        n++;
    }
    *keys_out = keys;
    *nw = n;
    return w;
}

/* placeholderSliceCompare: namespace, labels, owner references, address type; no endpoints or ports. */
static bool is_placeholder(json_t *sl, const kc_es_input *in)
{
    json_t *md = json_object_get(sl, "metadata");
    json_t *labels = kc_es_labels(in->svc), *refs = owner_ref(in->svc);
    json_t *have_refs = json_object_get(md, "ownerReferences"), *have_labels = json_object_get(md, "labels");
    bool same = !strcmp(json_string_value(json_object_get(md, "namespace")) ?: "", in->svc->ns) &&
                have_labels && json_equal(have_labels, labels) && have_refs && json_equal(have_refs, refs) &&
                !strcmp(json_string_value(json_object_get(sl, "addressType")) ?: "", in->address_type) &&
                !json_array_size(json_object_get(sl, "endpoints")) &&
                !json_array_size(json_object_get(sl, "ports"));
    json_decref(labels);
    json_decref(refs);
    return same;
}

static void collect(work *w, size_t nw, kc_es_plan *plan)
{
    for (size_t i = 0; i < nw; i++) {
        if (w[i].state == UPDATE) json_array_append(plan->update, w[i].doc);
        if (w[i].state == DELETE) add_delete(plan, w[i].doc);
        if (w[i].copied) json_decref(w[i].doc);
    }
}

/* finalize: a slice to create takes over the name (and revision) of one about to be deleted. */
static void creates_to_updates(const kc_es_input *in, kc_es_plan *plan)
{
    for (size_t i = 0; i < json_array_size(plan->del) && json_array_size(plan->create);) {
        json_t *old = json_array_get(plan->del, i);
        size_t last = json_array_size(plan->create) - 1;
        json_t *nw = json_array_get(plan->create, last);
        const char *at = json_string_value(json_object_get(old, "addressType")) ?: "";
        if (strcmp(at, in->address_type) || !owned_by(old, in->svc)) {
            i++;
            continue;
        }
        json_t *doc = json_copy(old), *md = json_deep_copy(json_object_get(old, "metadata"));
        json_object_set_new(doc, "metadata", md);
        json_t *nmd = json_object_get(nw, "metadata");
        json_object_set(md, "labels", json_object_get(nmd, "labels"));
        json_object_set(md, "ownerReferences", json_object_get(nmd, "ownerReferences"));
        json_object_set(doc, "endpoints", json_object_get(nw, "endpoints"));
        json_object_set(doc, "ports", json_object_get(nw, "ports"));
        json_array_append_new(plan->update, doc);
        json_array_remove(plan->create, last);
        json_array_remove(plan->del, i);
    }
}

static void set_trigger(json_t *arr, const char *trigger)
{
    size_t i;
    json_t *doc;
    json_array_foreach(arr, i, doc)
    {
        json_t *md = json_object_get(doc, "metadata"), *ann = json_object_get(md, "annotations");
        if (!json_is_object(ann)) json_object_set_new(md, "annotations", ann = json_object());
        if (trigger[0])
            json_object_set_new(ann, KC_EP_TRIGGER, json_string(trigger));
        else
            json_object_del(ann, KC_EP_TRIGGER);
        if (!json_object_size(ann)) json_object_del(md, "annotations");
    }
}

/* Empty endpoints and ports are stored as null, as a real cluster shows them (protobuf storage
 * forgets empty lists). */
static void nulls_for_empty(json_t *arr)
{
    size_t i;
    json_t *doc;
    json_array_foreach(arr, i, doc)
    {
        if (!json_array_size(json_object_get(doc, "endpoints")))
            json_object_set_new(doc, "endpoints", json_null());
        if (!json_array_size(json_object_get(doc, "ports"))) json_object_set_new(doc, "ports", json_null());
    }
}

void kc_es_reconcile(const kc_es_input *in, kc_es_plan *plan)
{
    plan->create = json_array();
    plan->update = json_array();
    plan->del = json_array();
    char **keys;
    size_t nw;
    work *w = sort_existing(in, plan, &keys, &nw);
    size_t owned = nw;
    bool *seen = xcalloc(nw + 1, sizeof *seen);
    for (size_t k = 0; k < in->want->n; k++) {
        kc_es_group *g = &in->want->g[k];
        work *mine = xcalloc(nw + 1, sizeof *mine);
        size_t nm = 0, *idx = xcalloc(nw + 1, sizeof *idx);
        for (size_t i = 0; i < nw; i++)
            if (!strcmp(keys[i], g->key)) idx[nm] = i, mine[nm++] = w[i], seen[i] = true;
        by_port_mapping(in, g, mine, nm, plan);
        for (size_t i = 0; i < nm; i++)
            w[idx[i]] = mine[i];
        free(mine);
        free(idx);
    }
    for (size_t i = 0; i < nw; i++)
        if (!seen[i]) w[i].state = DELETE;
    collect(w, nw, plan);
    size_t ndel = json_array_size(plan->del);
    if (in->nslices == ndel && !json_array_size(plan->create)) {
        bool keep = ndel == 1 && owned == 1 && is_placeholder(json_array_get(plan->del, 0), in);
        if (keep)
            json_array_clear(plan->del);
        else {
            json_t *none = json_array();
            json_array_append_new(plan->create, new_slice(in, none));
            json_decref(none);
        }
    }
    creates_to_updates(in, plan);
    if (in->svc->deleting) json_array_clear(plan->create);
    set_trigger(plan->create, in->trigger);
    set_trigger(plan->update, in->trigger);
    nulls_for_empty(plan->create);
    nulls_for_empty(plan->update);
    for (size_t i = 0; i < nw; i++)
        free(keys[i]);
    free(keys);
    free(seen);
    free(w);
}

void kc_es_plan_release(kc_es_plan *plan)
{
    json_decref(plan->create);
    json_decref(plan->update);
    json_decref(plan->del);
    memset(plan, 0, sizeof *plan);
}
