/* The scheduler cache: every node with the pods bound (or about to be bound) to it, owned by
 * the scheduler thread. Pod states:
 *
 *   (pending, in the queue) --kc_sched_cache_assume--> assumed (counted on its node)
 *   assumed --informer shows it bound: kc_sched_cache_add_pod--> confirmed
 *   assumed --binding failed: kc_sched_cache_remove_pod--> back to the queue
 *   confirmed --deleted or terminal: kc_sched_cache_remove_pod--> gone
 *
 * Nodes known only from pods bound to them (no Node object yet, or deleted while pods remain)
 * are kept off the candidate list. */
#include "lib/xalloc.h"
#include "scheduler/sched.h"

kc_sched_cache *kc_sched_cache_new(void)
{
    return xcalloc(1, sizeof(kc_sched_cache));
}

void kc_sched_cache_free(kc_sched_cache *c)
{
    if (!c) return;
    void *v;
    for (size_t it = 0; kc_map_next(&c->pods, &it, NULL, &v);)
        kc_sched_pod_free(v);
    for (size_t it = 0; kc_map_next(&c->nodes, &it, NULL, &v);)
        kc_sched_node_free(v);
    kc_map_release(&c->pods);
    kc_map_release(&c->nodes);
    free(c->list);
    free(c);
}

static void list_add(kc_sched_cache *c, kc_sched_node *n)
{
    if (c->n == c->cap) c->list = xrealloc(c->list, (c->cap = c->cap * 2 + 64) * sizeof *c->list);
    n->index = c->n;
    c->list[c->n++] = n;
}

static void list_del(kc_sched_cache *c, kc_sched_node *n)
{
    size_t i = n->index;
    if (i >= c->n || c->list[i] != n) return;
    c->list[i] = c->list[--c->n];
    c->list[i]->index = i;
}

bool kc_sched_cache_set_node(kc_sched_cache *c, kc_sched_node *n)
{
    kc_sched_node *old = kc_map_get(&c->nodes, n->name);
    if (!old) {
        kc_map_put(&c->nodes, n->name, n);
        list_add(c, n);
        return true;
    }
    bool had_obj = old->obj != NULL, changed = !had_obj || old->hash != n->hash;
    kc_sched_node_take_spec(old, n);
    if (!had_obj) list_add(c, old);
    return changed;
}

kc_sched_node *kc_sched_cache_node(kc_sched_cache *c, const char *name)
{
    return kc_map_get(&c->nodes, name);
}

void kc_sched_cache_del_node(kc_sched_cache *c, const char *name)
{
    kc_sched_node *n = kc_map_get(&c->nodes, name);
    if (!n || !n->obj) return;
    list_del(c, n);
    kc_obj_unref(n->obj);
    n->obj = NULL;
    n->labels = NULL;
    if (n->npods) return; /* kept (off the list) until its pods go */
    kc_map_del(&c->nodes, name);
    kc_sched_node_free(n);
}

/* The node a pod is bound to, created empty when no Node object has been seen. */
static kc_sched_node *node_for(kc_sched_cache *c, const char *name)
{
    kc_sched_node *n = kc_map_get(&c->nodes, name);
    if (n) return n;
    n = xcalloc(1, sizeof *n);
    n->name = xstrdup(name);
    kc_map_put(&c->nodes, n->name, n);
    return n;
}

static void count(kc_sched_cache *c, const kc_sched_pod *p, int d)
{
    c->n_anti += p->nanti ? d : 0;
    c->n_affinity += kc_sched_pod_has_affinity(p) ? d : 0;
}

kc_sched_pod *kc_sched_cache_remove_pod(kc_sched_cache *c, const char *key)
{
    kc_sched_pod *p = kc_map_del(&c->pods, key);
    if (!p) return NULL;
    kc_sched_node *n = p->node;
    if (n) {
        kc_sched_node_remove_pod(n, p);
        if (!n->obj && !n->npods) {
            kc_map_del(&c->nodes, n->name);
            kc_sched_node_free(n);
        }
    }
    count(c, p, -1);
    return p;
}

static void add(kc_sched_cache *c, kc_sched_pod *p, const char *node)
{
    kc_map_put(&c->pods, p->key, p);
    kc_sched_node_add_pod(node_for(c, node), p);
    count(c, p, 1);
}

void kc_sched_cache_add_pod(kc_sched_cache *c, kc_sched_pod *p)
{
    kc_sched_pod_free(kc_sched_cache_remove_pod(c, p->key));
    p->assumed = false;
    add(c, p, p->node_name);
}

void kc_sched_cache_assume(kc_sched_cache *c, kc_sched_pod *p, const char *node)
{
    kc_sched_pod_free(kc_sched_cache_remove_pod(c, p->key));
    p->assumed = true;
    add(c, p, node);
}

kc_sched_pod *kc_sched_cache_pod(kc_sched_cache *c, const char *key)
{
    return kc_map_get(&c->pods, key);
}
