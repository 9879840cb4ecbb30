/* ReplicaSet rules that are pure functions of pods (see replicaset_int.h): the facts read from a
 * pod revision, the scale-down ranking (semantics 1.4, upstream ActivePodsWithRanks.Less with
 * PodDeletionCost and LogarithmicScaleDown on) and the status counts and conditions (1.5). */
#include "controllers/framework.h"
#include "controllers/replicaset_int.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELETION_COST "controller.kubernetes.io/pod-deletion-cost"

int64_t kc_rs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- facts ---- */

static const char *str_at(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* An RFC 3339 time as ns since the epoch (fractional seconds kept); 0 for absent or invalid. */
static int64_t time_ns(const char *s)
{
    time_t t = kc_parse_time(s);
    if (t < 0) return 0;
    int64_t ns = (int64_t)t * 1000000000;
    const char *frac = s ? strchr(s, '.') : NULL;
    if (frac) {
        int64_t scale = 100000000;
        for (const char *p = frac + 1; *p >= '0' && *p <= '9' && scale; p++, scale /= 10)
            ns += (*p - '0') * scale;
    }
    return ns;
}

/* GetDeletionCostFromPodAnnotations: a 32-bit integer, else 0. */
static int32_t deletion_cost(json_t *annotations)
{
    const char *s = str_at(annotations, DELETION_COST);
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < INT32_MIN || v > INT32_MAX) return 0;
    return (int32_t)v;
}

static int phase_ordinal(const char *phase)
{
    if (!phase) return 0;
    if (!strcmp(phase, "Unknown")) return 1;
    if (!strcmp(phase, "Running")) return 2;
    return 0;
}

static int max_restarts(json_t *statuses, json_t *only_names)
{
    int m = 0;
    size_t i;
    json_t *c;
    json_array_foreach(statuses, i, c)
    {
        if (only_names && !json_object_get(only_names, str_at(c, "name") ?: "")) continue;
        int r = (int)json_integer_value(json_object_get(c, "restartCount"));
        if (r > m) m = r;
    }
    return m;
}

/* Names of init containers with restartPolicy Always (sidecars). New reference. */
static json_t *sidecar_names(json_t *spec)
{
    json_t *names = json_object(), *c;
    size_t i;
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
    {
        const char *rp = str_at(c, "restartPolicy");
        if (rp && !strcmp(rp, "Always")) json_object_set_new(names, str_at(c, "name") ?: "", json_true());
    }
    return names;
}

static void ready_facts(json_t *status, kc_rs_pod *p)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        const char *t = str_at(c, "type"), *s = str_at(c, "status");
        if (!t || strcmp(t, "Ready")) continue;
        p->ready = s && !strcmp(s, "True");
        if (p->ready) p->ready_ns = time_ns(str_at(c, "lastTransitionTime"));
        return;
    }
}

void kc_rs_pod_facts(const kc_obj *o, json_t *doc, kc_rs_pod *p)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->rev = o->rev;
    json_t *md = json_object_get(doc, "metadata"), *spec = json_object_get(doc, "spec");
    json_t *status = json_object_get(doc, "status");
    json_t *ref = kc_controller_ref(doc);
    snprintf(p->ctrl_uid, sizeof p->ctrl_uid, "%s", ref ? str_at(ref, "uid") ?: "" : "");
    p->active = kc_pod_active(doc);
    p->phase = phase_ordinal(str_at(status, "phase"));
    const char *node = str_at(spec, "nodeName");
    p->scheduled = node && *node;
    ready_facts(status, p);
    p->created_ns = time_ns(str_at(md, "creationTimestamp"));
    p->cost = deletion_cost(json_object_get(md, "annotations"));
    p->restarts = max_restarts(json_object_get(status, "containerStatuses"), NULL);
    json_t *sidecars = sidecar_names(spec);
    if (json_object_size(sidecars))
        p->sidecar_restarts = max_restarts(json_object_get(status, "initContainerStatuses"), sidecars);
    json_decref(sidecars);
}

/* ---- ranking ---- */

/* afterOrZero: a zero time sorts first, else the later time first. */
static bool after_or_zero(int64_t a, int64_t b)
{
    if (!a || !b) return !a;
    return a > b;
}

/* logarithmicRankDiff: floor(log2(now - t)) buckets (-1 when not in the past). */
static int64_t log_bucket(int64_t t, int64_t now)
{
    int64_t d = now - t;
    return d > 0 ? (int64_t)log2((double)d) : -1;
}

/* Rules 6 and 8: more recent first, compared in log2 buckets with the UID as tie-break. Returns
 * -1 (a first), 1 (b first) or 0 (equal times). */
static int cmp_time(const kc_rs_pod *a, const kc_rs_pod *b, int64_t ta, int64_t tb, int64_t now)
{
    if (ta == tb) return 0;
    if (!now || !ta || !tb) return after_or_zero(ta, tb) ? -1 : 1;
    int64_t d = log_bucket(ta, now) - log_bucket(tb, now);
    if (d == 0) return strcmp(a->o->uid, b->o->uid) < 0 ? -1 : 1;
    return d < 0 ? -1 : 1;
}

/* Returns -1 when a goes first, 1 when b does, 0 when no rule separates them. */
static int cmp_pods(const kc_rs_pod *a, const kc_rs_pod *b, int64_t now)
{
    if (a->scheduled != b->scheduled) return a->scheduled ? 1 : -1;
    if (a->phase != b->phase) return a->phase < b->phase ? -1 : 1;
    if (a->ready != b->ready) return a->ready ? 1 : -1;
    if (a->cost != b->cost) return a->cost < b->cost ? -1 : 1;
    if (a->rank != b->rank) return a->rank > b->rank ? -1 : 1;
    if (a->ready && b->ready) {
        int c = cmp_time(a, b, a->ready_ns, b->ready_ns, now);
        if (c) return c;
    }
    if (a->restarts != b->restarts) return a->restarts > b->restarts ? -1 : 1;
    if (a->sidecar_restarts != b->sidecar_restarts) return a->sidecar_restarts > b->sidecar_restarts ? -1 : 1;
    return cmp_time(a, b, a->created_ns, b->created_ns, now);
}

bool kc_rs_pod_before(const kc_rs_pod *a, const kc_rs_pod *b, int64_t now_ns)
{
    return cmp_pods(a, b, now_ns) < 0;
}

static int qcmp(const void *x, const void *y, void *now)
{
    const kc_rs_pod *a = *(kc_rs_pod *const *)x, *b = *(kc_rs_pod *const *)y;
    return cmp_pods(a, b, *(int64_t *)now);
}

void kc_rs_rank_sort(kc_rs_pod **pods, size_t n, int64_t now_ns)
{
    qsort_r(pods, n, sizeof *pods, qcmp, &now_ns);
}

/* ---- status ---- */

static bool has_labels(json_t *labels, json_t *want)
{
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v)
    {
        json_t *have = json_object_get(labels, k);
        if (!have || !json_equal(have, v)) return false;
    }
    return true;
}

void kc_rs_count(kc_rs_pod **pods, size_t n, json_t *template_labels, int min_ready, int64_t now_ms,
                 kc_rs_counts *out)
{
    memset(out, 0, sizeof *out);
    out->replicas = (int)n;
    for (size_t i = 0; i < n; i++) {
        const kc_rs_pod *p = pods[i];
        if (has_labels(p->o->labels, template_labels)) out->fully_labeled++;
        if (!p->ready) continue;
        out->ready++;
        /* IsPodAvailable on second-precision times, as kc_pod_available */
        int64_t at_ms = (p->ready_ns / 1000000000 + min_ready) * 1000;
        if (min_ready <= 0 || (p->ready_ns && at_ms <= now_ms / 1000 * 1000)) {
            out->available++;
        } else if (p->ready_ns) {
            int64_t wait = at_ms - now_ms + 1;
            if (!out->next_available_ms || wait < out->next_available_ms) out->next_available_ms = wait;
        }
    }
}

static void set_count(json_t *st, const char *key, int64_t v, bool always)
{
    if (v || always)
        json_object_set_new(st, key, json_integer(v));
    else
        json_object_del(st, key);
}

static json_t *without_condition(json_t *conds, const char *type)
{
    json_t *out = json_array(), *c;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        const char *t = str_at(c, "type");
        if (!t || strcmp(t, type)) json_array_append(out, c);
    }
    return out;
}

static json_t *find_condition(json_t *conds, const char *type)
{
    json_t *c;
    size_t i;
    json_array_foreach(conds, i, c)
    {
        const char *t = str_at(c, "type");
        if (t && !strcmp(t, type)) return c;
    }
    return NULL;
}

json_t *kc_rs_status(json_t *old, const kc_rs_counts *c, int64_t generation, const char *fail_reason,
                     const char *fail_msg)
{
    json_t *st = json_is_object(old) ? json_deep_copy(old) : json_object();
    set_count(st, "replicas", c->replicas, true);
    set_count(st, "fullyLabeledReplicas", c->fully_labeled, false);
    set_count(st, "readyReplicas", c->ready, false);
    set_count(st, "availableReplicas", c->available, false);
    set_count(st, "observedGeneration", generation, false);
    json_t *conds = json_object_get(st, "conditions");
    json_t *failure = find_condition(conds, "ReplicaFailure");
    if (fail_reason && !failure) {
        char now[32];
        kc_format_time(time(NULL), now);
        if (!json_is_array(conds)) json_object_set_new(st, "conditions", conds = json_array());
        json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "ReplicaFailure", "status",
                                               "True", "lastTransitionTime", now, "reason", fail_reason,
                                               "message", fail_msg ? fail_msg : ""));
    } else if (!fail_reason && failure) {
        json_t *rest = without_condition(conds, "ReplicaFailure");
        if (json_array_size(rest))
            json_object_set(st, "conditions", rest);
        else
            json_object_del(st, "conditions");
        json_decref(rest);
    }
    return st;
}

static int64_t int_at(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

bool kc_rs_status_same(json_t *old, json_t *cur, int64_t generation)
{
    static const char *counts[] = {"replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        if (int_at(old, counts[i]) != int_at(cur, counts[i])) return false;
    if (int_at(old, "observedGeneration") != generation) return false;
    json_t *a = json_object_get(old, "conditions"), *b = json_object_get(cur, "conditions");
    if (!json_array_size(a) && !json_array_size(b)) return true;
    return a && b && json_equal(a, b);
}
