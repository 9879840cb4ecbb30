/* Node lifecycle decisions (see nodelifecycle_policy.h): heartbeat bookkeeping, the conditions
 * of a node that stopped posting, the condition taints, toleration matching and the eviction
 * deadline of a pod. Owns no state and does no I/O; nodelifecycle.c applies the results. */
#include "controllers/nodelifecycle_policy.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* ---- heartbeats ---- */

static void copy_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

bool kc_nodelc_observe(kc_nodelc_health *h, const kc_nodelc_look *l, int64_t now_ms, int64_t grace_ms,
                       int64_t startup_ms)
{
    const char *hb = l->ready_hb ? l->ready_hb : "", *renew = l->renew ? l->renew : "";
    if (!h->seen) {
        h->seen = true;
        h->probe_ms = l->ready_hb ? now_ms : now_ms - (l->age_ms > 0 ? l->age_ms : 0);
    } else if (strncmp(h->hb, hb, sizeof h->hb - 1) || strncmp(h->renew, renew, sizeof h->renew - 1)) {
        h->probe_ms = now_ms;
    }
    copy_str(h->hb, sizeof h->hb, hb);
    copy_str(h->renew, sizeof h->renew, renew);
    return now_ms - h->probe_ms > (l->ready_hb ? grace_ms : startup_ms);
}

/* ---- conditions ---- */

static json_t *find_condition(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) if (!strcmp(jstr(c, "type"), type)) return c;
    return NULL;
}

const char *kc_nodelc_condition(const json_t *node, const char *type)
{
    json_t *c = find_condition(json_object_get(json_object_get(node, "status"), "conditions"), type);
    return c ? jstr(c, "status") : NULL;
}

/* Sets one condition Unknown (adding it when missing); true if it changed. */
static bool mark_unknown(json_t *conds, const char *type, const char *created, const char *now)
{
    json_t *c = find_condition(conds, type);
    if (!c) {
        json_array_append_new(conds,
                              json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", type, "status", "Unknown",
                                        "reason", "NodeStatusNeverUpdated", "message", KC_NODELC_NEVER_MSG,
                                        "lastHeartbeatTime", created, "lastTransitionTime", now));
        return true;
    }
    if (!strcmp(jstr(c, "status"), "Unknown")) return false;
    json_object_set_new(c, "status", json_string("Unknown"));
    json_object_set_new(c, "reason", json_string("NodeStatusUnknown"));
    json_object_set_new(c, "message", json_string(KC_NODELC_UNKNOWN_MSG));
    json_object_set_new(c, "lastTransitionTime", json_string(now));
    return true;
}

json_t *kc_nodelc_unknown_conditions(const json_t *node, const char *now)
{
    static const char *types[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};
    json_t *old = json_object_get(json_object_get(node, "status"), "conditions");
    json_t *conds = json_is_array(old) ? json_deep_copy(old) : json_array();
    const char *created = jstr(json_object_get(node, "metadata"), "creationTimestamp");
    bool changed = false;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        changed |= mark_unknown(conds, types[i], created, now);
    if (changed) return conds;
    json_decref(conds);
    return NULL;
}

/* ---- taints ---- */

/* The taints this controller owns and the state that calls for each (cond NULL: spec.unschedulable). */
static const struct {
    const char *cond, *status, *key, *effect;
} owned[] = {
    {"Ready", "False", KC_TAINT_NOT_READY, "NoSchedule"},
    {"Ready", "False", KC_TAINT_NOT_READY, "NoExecute"},
    {"Ready", "Unknown", KC_TAINT_UNREACHABLE, "NoSchedule"},
    {"Ready", "Unknown", KC_TAINT_UNREACHABLE, "NoExecute"},
    {"MemoryPressure", "True", "node.kubernetes.io/memory-pressure", "NoSchedule"},
    {"DiskPressure", "True", "node.kubernetes.io/disk-pressure", "NoSchedule"},
    {"PIDPressure", "True", "node.kubernetes.io/pid-pressure", "NoSchedule"},
    {"NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable", "NoSchedule"},
    {NULL, NULL, KC_TAINT_UNSCHEDULABLE, "NoSchedule"},
};
#define NOWNED (sizeof owned / sizeof *owned)

static int owned_index(const json_t *taint)
{
    for (size_t i = 0; i < NOWNED; i++)
        if (!strcmp(jstr(taint, "key"), owned[i].key) && !strcmp(jstr(taint, "effect"), owned[i].effect))
            return (int)i;
    return -1;
}

static bool wanted(const json_t *node, size_t i)
{
    if (!owned[i].cond) return json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
    const char *st = kc_nodelc_condition(node, owned[i].cond);
    return st && !strcmp(st, owned[i].status);
}

/* Is a controller NoExecute taint on the node already (then adding the other one is a swap)? */
static bool has_owned_noexec(const json_t *taints)
{
    size_t i;
    json_t *t;
    json_array_foreach(taints, i, t)
    {
        int k = owned_index(t);
        if (k >= 0 && !strcmp(owned[k].effect, "NoExecute")) return true;
    }
    return false;
}

int kc_nodelc_taints(const json_t *node, const char *now, bool allow_noexec, json_t **out)
{
    json_t *old = json_object_get(json_object_get(node, "spec"), "taints"), *t;
    json_t *res = json_array();
    bool have[NOWNED] = {0};
    int flags = 0;
    size_t i;
    json_array_foreach(old, i, t)
    {
        int k = owned_index(t);
        if (k >= 0 && (!wanted(node, (size_t)k) || have[k])) continue; /* cleared (or a duplicate) */
        if (k >= 0) have[k] = true;
        json_array_append(res, t);
    }
    bool swap = has_owned_noexec(old);
    for (i = 0; i < NOWNED; i++) {
        if (have[i] || !wanted(node, i)) continue;
        bool noexec = !strcmp(owned[i].effect, "NoExecute");
        if (noexec && !allow_noexec && !swap) {
            flags |= KC_NODELC_NOEXEC_HELD;
            continue;
        }
        json_t *nt = json_pack("{s:s,s:s}", "key", owned[i].key, "effect", owned[i].effect);
        if (noexec) json_object_set_new(nt, "timeAdded", json_string(now));
        json_array_append_new(res, nt);
    }
    json_t *cmp = json_is_array(old) ? json_incref(old) : json_array();
    *out = NULL;
    if (!json_equal(cmp, res)) {
        flags |= KC_NODELC_TAINTS_CHANGED;
        *out = json_incref(res);
    }
    json_decref(cmp);
    json_decref(res);
    return flags;
}

/* ---- tolerations and eviction ---- */

bool kc_nodelc_tolerates(const json_t *tol, const json_t *taint)
{
    const char *eff = jstr(tol, "effect"), *key = jstr(tol, "key"), *op = jstr(tol, "operator");
    if (*eff && strcmp(eff, jstr(taint, "effect"))) return false;
    if (*key && strcmp(key, jstr(taint, "key"))) return false;
    if (!*op || !strcmp(op, "Equal")) return !strcmp(jstr(tol, "value"), jstr(taint, "value"));
    return !strcmp(op, "Exists");
}

/* Smallest tolerationSeconds among the tolerations of one taint: -1 none tolerates it, -2
 * tolerated forever, else seconds (negative values count as 0, as upstream). */
static int64_t min_toleration(const json_t *tolerations, const json_t *taint)
{
    int64_t best = -1;
    size_t i;
    json_t *tol;
    json_array_foreach(tolerations, i, tol)
    {
        if (!kc_nodelc_tolerates(tol, taint)) continue;
        json_t *s = json_object_get(tol, "tolerationSeconds");
        if (!json_is_integer(s)) {
            if (best == -1) best = -2;
            continue;
        }
        int64_t v = json_integer_value(s) < 0 ? 0 : json_integer_value(s);
        if (best < 0 || v < best) best = v;
    }
    return best;
}

int64_t kc_nodelc_evict_at(const json_t *tolerations, const json_t *taints, int64_t now_ms)
{
    int64_t at = -1;
    size_t i;
    json_t *t;
    json_array_foreach(taints, i, t)
    {
        if (strcmp(jstr(t, "effect"), "NoExecute")) continue;
        int64_t secs = min_toleration(tolerations, t);
        if (secs == -1) return now_ms;
        if (secs == -2) continue;
        const char *ta = jstr(t, "timeAdded");
        int64_t added = kc_nodelc_parse_time(ta);
        if (added >= 0 && !strchr(ta, '.'))
            added += 999; /* whole seconds: the taint came within that second */
        int64_t when = (added < 0 ? now_ms : added) + secs * 1000;
        if (at < 0 || when < at) at = when;
    }
    return at;
}

int64_t kc_nodelc_parse_time(const char *s)
{
    struct tm tm = {0};
    const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p) return -1;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*p == '.') {
        int scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            ms += (*p - '0') * scale;
    }
    if (*p == 'Z' && !p[1]) return ms;
    int hh, mm;
    char sign;
    if (sscanf(p, "%c%2d:%2d", &sign, &hh, &mm) != 3 || (sign != '+' && sign != '-')) return -1;
    int64_t off = ((int64_t)hh * 60 + mm) * 60000;
    return sign == '+' ? ms - off : ms + off;
}
