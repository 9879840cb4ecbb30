/* The scheduler's view of a node (framework.NodeInfo): the parsed Node (labels, taints,
 * allocatable, unschedulable) plus what the pods on it use (requested and non-zero requested
 * resources, host ports, the pods themselves). The spec part is replaced on every Node update
 * (kc_sched_node_take_spec); the usage part lives as long as the node or its pods. */
#include "lib/xalloc.h"
#include "scheduler/sched.h"

static uint64_t fnv(uint64_t h, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    for (const char *c = s ? s : "-"; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    free(s);
    return h;
}

static void parse_taints(kc_sched_node *n, json_t *arr)
{
    n->taints = kc_sched_array(json_array_size(arr), sizeof *n->taints);
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        kc_sched_taint *o = &n->taints[n->ntaints++];
        o->key = xstrdup(json_string_value(json_object_get(t, "key")) ?: "");
        o->value = xstrdup(json_string_value(json_object_get(t, "value")) ?: "");
        o->effect = kc_sched_parse_effect(json_string_value(json_object_get(t, "effect")));
    }
}

kc_sched_node *kc_sched_node_new(const kc_obj *obj)
{
    kc_sched_node *n = xcalloc(1, sizeof *n);
    kc_obj_ref(obj);
    n->obj = (kc_obj *)obj;
    n->name = xstrdup(obj->name);
    n->labels = obj->labels;
    json_t *doc = kc_obj_parse(obj), *spec = json_object_get(doc, "spec");
    json_t *alloc = json_object_get(json_object_get(doc, "status"), "allocatable");
    n->unschedulable = json_is_true(json_object_get(spec, "unschedulable"));
    parse_taints(n, json_object_get(spec, "taints"));
    kc_sched_res_from_list(alloc, &n->alloc);
    n->max_pods = kc_sched_qty(json_object_get(alloc, "pods"), false);
    uint64_t h = fnv(1469598103934665603ULL, obj->labels);
    h = fnv(h, json_object_get(spec, "taints"));
    h = fnv(h, alloc);
    n->hash = fnv(h, json_object_get(spec, "unschedulable"));
    json_decref(doc);
    return n;
}

kc_sched_node *kc_sched_node_from_json(json_t *doc)
{
    kc_obj *o = kc_obj_build(kc_resource_find("", "v1", "nodes"), doc);
    kc_sched_node *n = kc_sched_node_new(o);
    kc_obj_unref(o);
    return n;
}

static void free_spec(kc_sched_node *n)
{
    for (size_t i = 0; i < n->ntaints; i++)
        free(n->taints[i].key), free(n->taints[i].value);
    free(n->taints);
    kc_obj_unref(n->obj);
}

void kc_sched_node_take_spec(kc_sched_node *dst, kc_sched_node *src)
{
    free_spec(dst);
    dst->obj = src->obj;
    dst->labels = src->labels;
    dst->unschedulable = src->unschedulable;
    dst->taints = src->taints, dst->ntaints = src->ntaints;
    dst->alloc = src->alloc;
    dst->max_pods = src->max_pods;
    dst->hash = src->hash;
    free(src->name);
    free(src->pods);
    free(src->ports);
    free(src);
}

void kc_sched_node_free(kc_sched_node *n)
{
    if (!n) return;
    free_spec(n);
    free(n->name);
    free(n->pods);
    free(n->ports);
    free(n);
}

const char *kc_sched_node_label(const kc_sched_node *n, const char *key)
{
    return json_string_value(json_object_get(n->labels, key));
}

static kc_sched_usedport *find_port(kc_sched_node *n, const kc_sched_port *p)
{
    for (size_t i = 0; i < n->nports; i++) {
        kc_sched_port *q = &n->ports[i].p;
        if (q->port == p->port && !strcmp(q->proto, p->proto) && !strcmp(q->ip, p->ip)) return &n->ports[i];
    }
    return NULL;
}

static void ports_update(kc_sched_node *n, const kc_sched_pod *p, int d)
{
    for (size_t i = 0; i < p->nports; i++) {
        kc_sched_usedport *u = find_port(n, &p->ports[i]);
        if (!u && d > 0) {
            if (n->nports == n->cap_ports)
                n->ports = xrealloc(n->ports, (n->cap_ports = n->cap_ports * 2 + 2) * sizeof *n->ports);
            u = &n->ports[n->nports++];
            *u = (kc_sched_usedport){p->ports[i], 0};
        }
        if (!u) continue;
        u->count += d;
        if (u->count <= 0) *u = n->ports[--n->nports];
    }
}

void kc_sched_node_add_pod(kc_sched_node *n, kc_sched_pod *p)
{
    if (n->npods == n->cap) n->pods = xrealloc(n->pods, (n->cap = n->cap * 2 + 8) * sizeof *n->pods);
    p->node = n;
    p->node_idx = n->npods;
    n->pods[n->npods++] = p;
    n->pods_gen++;
    kc_sched_res_add(&n->requested, &p->req, 1);
    kc_sched_res_add(&n->nonzero, &p->nonzero, 1);
    ports_update(n, p, 1);
}

void kc_sched_node_remove_pod(kc_sched_node *n, kc_sched_pod *p)
{
    size_t i = p->node_idx;
    if (i >= n->npods || n->pods[i] != p) return;
    n->pods[i] = n->pods[--n->npods];
    n->pods[i]->node_idx = i;
    n->pods_gen++;
    p->node = NULL;
    kc_sched_res_add(&n->requested, &p->req, -1);
    kc_sched_res_add(&n->nonzero, &p->nonzero, -1);
    ports_update(n, p, -1);
}
