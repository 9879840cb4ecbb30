/* Resource arithmetic for the scheduler: quantities to integers (MilliValue for cpu, Value for
 * the rest), vectors of cpu/memory/ephemeral-storage/extended resources, and the pod request
 * rule of resource.PodRequests:
 *
 *   request = max(Σ app containers + Σ sidecars, max over init containers i of
 *                 (init i + Σ sidecars started before i)) + overhead
 *
 * Worked example: init 2 cpu, sidecar 1 cpu, app 1 cpu + 1 cpu -> max(3, 2) = 3 cpu; a sidecar
 * declared before the 2-cpu init container makes that step 3 cpu, total still max(3, 3).
 * Names of extended resources are interned so vectors compare them by pointer. */
#include "api/validation.h"
#include "lib/xalloc.h"
#include "scheduler/sched.h"
#include <pthread.h>

static pthread_mutex_t intern_mu = PTHREAD_MUTEX_INITIALIZER;
static kc_map interned = KC_MAP_INIT;

const char *kc_sched_intern(const char *s)
{
    pthread_mutex_lock(&intern_mu);
    char *v = kc_map_get(&interned, s);
    if (!v) {
        v = xstrdup(s);
        kc_map_put(&interned, v, v);
    }
    pthread_mutex_unlock(&intern_mu);
    return v;
}

void *kc_sched_array(size_t n, size_t sz)
{
    return n ? xcalloc(n, sz) : NULL;
}

int64_t kc_sched_qty(json_t *v, bool milli)
{
    kc_quantity q;
    if (!v || kc_quantity_from_json(v, &q) < 0) return 0;
    if (milli) q.scale += 3;
    return kc_quantity_value(&q);
}

static int scalar_index(const kc_sched_res *r, const char *name)
{
    for (int i = 0; i < r->nscalar; i++)
        if (r->scalar[i].name == name) return i;
    return -1;
}

int64_t kc_sched_res_scalar(const kc_sched_res *r, const char *interned_name)
{
    int i = scalar_index(r, interned_name);
    return i < 0 ? 0 : r->scalar[i].v;
}

/* Slot for name, added when missing (silently dropped past KC_SCHED_MAX_SCALAR). */
static int64_t *scalar_slot(kc_sched_res *r, const char *name)
{
    int i = scalar_index(r, name);
    if (i >= 0) return &r->scalar[i].v;
    if (r->nscalar == KC_SCHED_MAX_SCALAR) return NULL;
    r->scalar[r->nscalar].name = name;
    r->scalar[r->nscalar].v = 0;
    return &r->scalar[r->nscalar++].v;
}

void kc_sched_res_add(kc_sched_res *a, const kc_sched_res *b, int sign)
{
    a->milli_cpu += sign * b->milli_cpu;
    a->memory += sign * b->memory;
    a->ephemeral += sign * b->ephemeral;
    for (int i = 0; i < b->nscalar; i++) {
        int64_t *s = scalar_slot(a, b->scalar[i].name);
        if (s) *s += sign * b->scalar[i].v;
    }
}

static void res_max(kc_sched_res *a, const kc_sched_res *b)
{
    if (b->milli_cpu > a->milli_cpu) a->milli_cpu = b->milli_cpu;
    if (b->memory > a->memory) a->memory = b->memory;
    if (b->ephemeral > a->ephemeral) a->ephemeral = b->ephemeral;
    for (int i = 0; i < b->nscalar; i++) {
        int64_t *s = scalar_slot(a, b->scalar[i].name);
        if (s && b->scalar[i].v > *s) *s = b->scalar[i].v;
    }
}

/* Extended resources, hugepages and other prefixed names (schedutil.IsScalarResourceName). */
static bool is_scalar(const char *name)
{
    return strchr(name, '/') || !strncmp(name, "hugepages-", 10) || !strncmp(name, "attachable-volumes-", 19);
}

/* A ResourceList (requests, overhead or allocatable) as a vector. */
void kc_sched_res_from_list(json_t *list, kc_sched_res *r)
{
    memset(r, 0, sizeof *r);
    const char *k;
    json_t *v;
    json_object_foreach(list, k, v)
    {
        if (!strcmp(k, "cpu"))
            r->milli_cpu = kc_sched_qty(v, true);
        else if (!strcmp(k, "memory"))
            r->memory = kc_sched_qty(v, false);
        else if (!strcmp(k, "ephemeral-storage"))
            r->ephemeral = kc_sched_qty(v, false);
        else if (is_scalar(k) && kc_sched_qty(v, false) != 0) {
            int64_t *s = scalar_slot(r, kc_sched_intern(k));
            if (s) *s = kc_sched_qty(v, false);
        }
    }
}

static void container_requests(json_t *c, bool nonzero, kc_sched_res *r)
{
    json_t *reqs = json_object_get(json_object_get(c, "resources"), "requests");
    kc_sched_res_from_list(reqs, r);
    if (!nonzero) return;
    if (!json_object_get(reqs, "cpu")) r->milli_cpu = KC_SCHED_DEFAULT_MILLI_CPU;
    if (!json_object_get(reqs, "memory")) r->memory = KC_SCHED_DEFAULT_MEMORY;
}

static bool is_sidecar(json_t *c)
{
    const char *rp = json_string_value(json_object_get(c, "restartPolicy"));
    return rp && !strcmp(rp, "Always");
}

void kc_sched_pod_requests(json_t *spec, bool nonzero, kc_sched_res *out)
{
    kc_sched_res sum = {0}, sidecars = {0}, init_max = {0}, c;
    size_t i;
    json_t *ct;
    json_array_foreach(json_object_get(spec, "containers"), i, ct)
    {
        container_requests(ct, nonzero, &c);
        kc_sched_res_add(&sum, &c, 1);
    }
    json_array_foreach(json_object_get(spec, "initContainers"), i, ct)
    {
        container_requests(ct, nonzero, &c);
        if (is_sidecar(ct)) {
            kc_sched_res_add(&sum, &c, 1);
            kc_sched_res_add(&sidecars, &c, 1);
            c = sidecars;
        } else {
            kc_sched_res_add(&c, &sidecars, 1);
        }
        res_max(&init_max, &c);
    }
    res_max(&sum, &init_max);
    kc_sched_res over;
    kc_sched_res_from_list(json_object_get(spec, "overhead"), &over);
    kc_sched_res_add(&sum, &over, 1);
    *out = sum;
}
