/* Deployment arithmetic (see deployment_math.h): fenceposts, the rolling-update steps,
 * proportional scaling, history cleanup and revision-history bookkeeping, restated from
 * upstream's deployment/util and rolling.go/sync.go. Numbers in, numbers out: the controller
 * (deployment_sync.c) turns targets into ReplicaSet writes. */
#include "controllers/deployment_math.h"
#include "lib/xalloc.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int imin(int a, int b)
{
    return a < b ? a : b;
}

static int imax(int a, int b)
{
    return a > b ? a : b;
}

/* "25%" -> 25; -1 when not a percentage. */
static int parse_percent(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != '%') return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end != s + n - 1 || v < 0 || v > KC_MAX_INT32) return -1;
    return (int)v;
}

int kc_deploy_scaled_value(json_t *v, int total, bool round_up, int *out)
{
    *out = 0;
    if (!v || json_is_null(v)) return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        *out = i > KC_MAX_INT32 ? KC_MAX_INT32 : i < -KC_MAX_INT32 ? -KC_MAX_INT32 : (int)i;
        return 0;
    }
    int p = json_is_string(v) ? parse_percent(json_string_value(v)) : -1;
    if (p < 0) return -1;
    int64_t prod = (int64_t)p * total;
    *out = (int)(round_up ? (prod + 99) / 100 : prod / 100);
    return 0;
}

static json_t *rolling_value(json_t *spec, const char *key, json_t *dflt)
{
    json_t *st = json_object_get(spec, "strategy");
    json_t *ru = json_object_get(st, "rollingUpdate");
    json_t *v = json_object_get(ru, key);
    return v && !json_is_null(v) ? v : dflt;
}

static bool is_recreate(json_t *spec)
{
    const char *t = json_string_value(json_object_get(json_object_get(spec, "strategy"), "type"));
    return t && !strcmp(t, "Recreate");
}

void kc_deploy_fenceposts(json_t *spec, int *surge, int *unavailable)
{
    json_t *r = json_object_get(spec, "replicas");
    int replicas = json_is_integer(r) ? (int)json_integer_value(r) : 1;
    *surge = *unavailable = 0;
    if (is_recreate(spec)) return;
    json_t *dflt = json_string("25%");
    kc_deploy_scaled_value(rolling_value(spec, "maxSurge", dflt), replicas, true, surge);
    kc_deploy_scaled_value(rolling_value(spec, "maxUnavailable", dflt), replicas, false, unavailable);
    json_decref(dflt);
    if (*surge == 0 && *unavailable == 0) *unavailable = 1;
    if (replicas == 0) *unavailable = 0;
    if (*unavailable > replicas) *unavailable = replicas;
}

int kc_deploy_new_rs_replicas(int r, int s, int total, int new_spec)
{
    int max_total = r + s;
    if (total >= max_total) return new_spec;
    return new_spec + imin(max_total - total, r - new_spec);
}

int kc_deploy_max_scaled_down(int r, int u, int total_spec, int new_spec, int new_available)
{
    return total_spec - (r - u) - (new_spec - new_available);
}

/* ReplicaSetsByCreationTimestamp.Less */
static int by_creation(const void *a, const void *b)
{
    const kc_rsnum *x = a, *y = b;
    if (x->created != y->created) return x->created < y->created ? -1 : 1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

void kc_deploy_sort_by_creation(kc_rsnum *v, size_t n)
{
    if (n > 1) qsort(v, n, sizeof *v, by_creation);
}

int kc_deploy_cleanup_unhealthy(kc_rsnum *old, size_t n, int budget)
{
    kc_deploy_sort_by_creation(old, n);
    int done = 0;
    for (size_t i = 0; i < n && done < budget; i++) {
        if (old[i].target == 0 || old[i].target == old[i].available) continue;
        int k = imin(budget - done, old[i].target - old[i].available);
        if (k <= 0) continue; /* more available than wanted: nothing unhealthy to remove */
        old[i].target -= k;
        done += k;
    }
    return done;
}

int kc_deploy_scale_down_old(kc_rsnum *old, size_t n, int available, int min_available)
{
    if (available <= min_available) return 0;
    kc_deploy_sort_by_creation(old, n);
    int want = available - min_available, done = 0;
    for (size_t i = 0; i < n && done < want; i++) {
        if (old[i].target == 0) continue;
        int k = imin(old[i].target, want - done);
        old[i].target -= k;
        done += k;
    }
    return done;
}

/* ReplicaSetsBySizeNewer (adding) and ReplicaSetsBySizeOlder (removing). */
static int by_size_newer(const void *a, const void *b)
{
    const kc_rsnum *x = a, *y = b;
    if (x->spec != y->spec) return x->spec > y->spec ? -1 : 1;
    return by_creation(b, a);
}

static int by_size_older(const void *a, const void *b)
{
    const kc_rsnum *x = a, *y = b;
    if (x->spec != y->spec) return x->spec > y->spec ? -1 : 1;
    return by_creation(a, b);
}

/* getReplicaSetFraction: round_half_away(spec * (R+S) / maxReplicasBeforeScale) - spec. */
static int rs_fraction(const kc_rsnum *rs, int r, int s, int status_replicas)
{
    if (r == 0) return -rs->spec;
    int before = rs->max_replicas > 0 ? rs->max_replicas : status_replicas;
    if (before <= 0) return 0;
    double sz = (double)rs->spec * (double)(r + s) / (double)before;
    return (int)round(sz) - rs->spec;
}

/* GetReplicaSetProportion: the fraction, clamped so the running total never passes to_add. */
static int rs_proportion(const kc_rsnum *rs, int r, int s, int status_replicas, int to_add, int added)
{
    if (rs->spec == 0 || to_add == 0 || to_add == added) return 0;
    int f = rs_fraction(rs, r, s, status_replicas), allowed = to_add - added;
    return to_add > 0 ? imin(f, allowed) : imax(f, allowed);
}

void kc_deploy_proportional(kc_rsnum *v, size_t n, int r, int s, int status_replicas)
{
    int total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].spec;
    int allowed = r > 0 ? r + s : 0, to_add = allowed - total, added = 0;
    if (to_add > 0 && n > 1) qsort(v, n, sizeof *v, by_size_newer);
    if (to_add < 0 && n > 1) qsort(v, n, sizeof *v, by_size_older);
    for (size_t i = 0; i < n; i++) {
        int p = rs_proportion(&v[i], r, s, status_replicas, to_add, added);
        v[i].target = v[i].spec + p;
        added += p;
    }
    if (n && to_add != 0) v[0].target = imax(0, v[0].target + to_add - added);
}

/* ReplicaSetsByRevision: revision ascending, ties by creation. */
static int by_revision(const void *a, const void *b)
{
    const kc_rsnum *x = a, *y = b;
    if (x->revision != y->revision) return x->revision < y->revision ? -1 : 1;
    return by_creation(a, b);
}

/* Alive rows (not deleting) first, in revision order. */
static int alive_by_revision(const void *a, const void *b)
{
    const kc_rsnum *x = a, *y = b;
    if (x->deleting != y->deleting) return x->deleting ? 1 : -1;
    return by_revision(a, b);
}

size_t kc_deploy_history_cleanup(kc_rsnum *old, size_t n, int limit)
{
    if (limit < 0 || limit == KC_MAX_INT32) return 0;
    if (n > 1) qsort(old, n, sizeof *old, alive_by_revision);
    size_t alive = 0, marked = 0;
    while (alive < n && !old[alive].deleting)
        alive++;
    if (alive <= (size_t)limit) return 0;
    for (size_t i = 0; i < alive - (size_t)limit; i++) {
        kc_rsnum *rs = &old[i];
        if (rs->replicas != 0 || rs->spec != 0 || !rs->settled) continue;
        rs->remove = true;
        marked++;
    }
    return marked;
}

char *kc_deploy_revision_history(const char *hist, const char *old_rev, size_t limit)
{
    if (!hist || !*hist) return xstrdup(old_rev);
    size_t total = strlen(hist) + strlen(old_rev) + 1;
    const char *start = hist;
    while (total > limit && start) { /* drop the oldest entries */
        const char *comma = strchr(start, ',');
        total -= (comma ? (size_t)(comma - start) : strlen(start)) + 1;
        start = comma ? comma + 1 : NULL;
    }
    if (total > limit) return NULL;
    size_t n = (start ? strlen(start) + 1 : 0) + strlen(old_rev) + 1;
    char *out = xmalloc(n);
    snprintf(out, n, "%s%s%s", start ? start : "", start ? "," : "", old_rev);
    return out;
}
