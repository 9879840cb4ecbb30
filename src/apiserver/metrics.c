/* metrics.c owns the API server's request metrics (metrics.h): the label rules taken from
 * upstream's endpoints/metrics package (CleanScope, CanonicalVerb, CleanVerb), the series tables
 * and their Prometheus text exposition. It does not own the timing: http.c says when a request
 * began and ended.
 *
 * Each label set packs into one 64-bit key (resource index, subresource, verb, scope, dry run,
 * code), found in an open-addressing table of series: an observation is a few integer
 * operations, a probe and a bucket scan, with no allocation once the series exists. Series are
 * never removed (labels come from fixed tables, so their number is bounded). */
#include "apiserver/metrics.h"
#include "api/resource.h"
#include "lib/xalloc.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { V_GET, V_LIST, V_WATCH, V_POST, V_PUT, V_PATCH, V_APPLY, V_DELETE, V_CONNECT, V_OTHER };
static const char *const verb_names[] = {"GET",   "LIST",  "WATCH",  "POST",    "PUT",
                                         "PATCH", "APPLY", "DELETE", "CONNECT", "other"};
enum { SC_NONE, SC_RESOURCE, SC_NAMESPACE, SC_CLUSTER };
static const char *const scope_names[] = {"", "resource", "namespace", "cluster"};
/* subresource labels; the connect ones (upstream's validConnectRequests) first after "" */
static const char *const sub_names[] = {"",
                                        "log",
                                        "exec",
                                        "portforward",
                                        "attach",
                                        "proxy",
                                        "status",
                                        "scale",
                                        "binding",
                                        "eviction",
                                        "finalize",
                                        "approval",
                                        "ephemeralcontainers",
                                        "resize",
                                        "token",
                                        "other"};
#define NSUB (sizeof sub_names / sizeof *sub_names)
#define SUB_CONNECT_END 6
enum { DRY_NONE, DRY_ALL, DRY_INVALID };
static const char *const dry_names[] = {"", "All", "invalid"};

/* upstream's apiserver_request_duration_seconds buckets */
static const double bounds[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2,
                                3,     4,     5,    6,   8,   10,  15,  20,  30,  45,   60};
#define NBUCKET (sizeof bounds / sizeof *bounds)

typedef struct hist {
    uint64_t count;
    double sum;
    uint64_t le[NBUCKET]; /* per bucket, not cumulative: rendering sums them */
} hist;

/* uint64 key -> dense slot. Key 0 is "empty"; real keys carry bit 63. */
typedef struct tab {
    uint64_t *keys; /* open addressing, cap entries */
    uint32_t *slot;
    size_t cap, n;
    uint64_t *order; /* keys in insertion order, n entries */
} tab;

struct kc_metrics {
    tab counters; /* apiserver_request_total, slot -> count[] */
    uint64_t *count;
    tab hists; /* apiserver_request_duration_seconds, slot -> hist[] */
    hist *hist;
    tab running; /* apiserver_longrunning_requests, slot -> live[] */
    int64_t *live;
};

static size_t hash(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static void tab_put(tab *t, uint64_t key, uint32_t slot)
{
    size_t i = hash(key, t->cap);
    while (t->keys[i])
        i = (i + 1) & (t->cap - 1);
    t->keys[i] = key, t->slot[i] = slot;
}

static void tab_grow(tab *t)
{
    tab old = *t;
    t->cap = old.cap ? old.cap * 2 : 64;
    t->keys = xcalloc(t->cap, sizeof *t->keys);
    t->slot = xcalloc(t->cap, sizeof *t->slot);
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i]) tab_put(t, old.keys[i], old.slot[i]);
    free(old.keys);
    free(old.slot);
}

/* The slot of key; *added tells whether it was just created (slot == n - 1). */
static uint32_t tab_find(tab *t, uint64_t key, bool *added)
{
    *added = false;
    if (t->cap) {
        for (size_t i = hash(key, t->cap); t->keys[i]; i = (i + 1) & (t->cap - 1))
            if (t->keys[i] == key) return t->slot[i];
    }
    if (2 * (t->n + 1) > t->cap) tab_grow(t);
    t->order = xrealloc(t->order, (t->n + 1) * sizeof *t->order);
    t->order[t->n] = key;
    tab_put(t, key, (uint32_t)t->n);
    *added = true;
    return (uint32_t)t->n++;
}

static void tab_release(tab *t)
{
    free(t->keys);
    free(t->slot);
    free(t->order);
}

kc_metrics *kc_metrics_new(void)
{
    return xcalloc(1, sizeof(kc_metrics));
}

void kc_metrics_free(kc_metrics *m)
{
    if (!m) return;
    tab_release(&m->counters);
    tab_release(&m->hists);
    tab_release(&m->running);
    free(m->live);
    free(m->count);
    free(m->hist);
    free(m);
}

void kc_metrics_route(kc_metrics_req *q, int res, bool ns, bool name, const char *sub)
{
    q->res = (int16_t)(res + 1);
    q->ns = ns, q->name = name;
    q->sub = 0;
    if (!sub) return;
    q->sub = NSUB - 1; /* "other" */
    for (size_t i = 1; i < NSUB - 1; i++)
        if (!strcmp(sub, sub_names[i])) q->sub = (uint8_t)i;
}

/* upstream's CleanScope: a name, or a create, is "resource" scoped */
static int scope_of(const kc_metrics_req *q, const char *method)
{
    if (!q->res) return SC_NONE;
    if (q->name || !strcmp(method, "POST")) return SC_RESOURCE;
    return q->ns ? SC_NAMESPACE : SC_CLUSTER;
}

/* upstream's CanonicalVerb then CleanVerb: LIST, WATCH, APPLY and CONNECT from the request */
static int verb_of(const kc_metrics_req *q, const kc_metrics_obs *o, int scope)
{
    static const struct {
        const char *method;
        int verb;
    } plain[] = {{"POST", V_POST}, {"PUT", V_PUT}, {"PATCH", V_PATCH}, {"DELETE", V_DELETE}};
    int v = V_OTHER;
    if (!strcmp(o->method, "GET") || !strcmp(o->method, "HEAD")) {
        v = scope != SC_RESOURCE && scope != SC_NONE ? V_LIST : V_GET;
        if (o->watch) v = V_WATCH;
    }
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (!strcmp(o->method, plain[i].method)) v = plain[i].verb;
    if (v == V_PATCH && o->apply) v = V_APPLY;
    if (q->res && q->sub && q->sub < SUB_CONNECT_END) v = V_CONNECT;
    return v;
}

static int dry_of(const char *d)
{
    if (!d) return DRY_NONE;
    return !strcmp(d, "All") ? DRY_ALL : DRY_INVALID;
}

/* Key layout: bits 0-15 res+1, 16-23 sub, 24-27 verb, 28-29 scope, 30-31 dry run, 32-41 code. */
static uint64_t key_of(const kc_metrics_req *q, int verb, int scope, int dry, int code)
{
    uint64_t c = code < 0 || code > 999 ? 0 : (uint64_t)code;
    return (uint64_t)(uint16_t)q->res | (uint64_t)q->sub << 16 | (uint64_t)verb << 24 |
           (uint64_t)scope << 28 | (uint64_t)dry << 30 | c << 32 | 1ULL << 63;
}

static void observe_duration(kc_metrics *m, uint64_t key, double s)
{
    bool added;
    uint32_t i = tab_find(&m->hists, key, &added);
    if (added) {
        m->hist = xrealloc(m->hist, m->hists.n * sizeof *m->hist);
        memset(&m->hist[i], 0, sizeof m->hist[i]);
    }
    hist *h = &m->hist[i];
    h->count++;
    h->sum += s;
    for (size_t b = 0; b < NBUCKET; b++)
        if (s <= bounds[b]) {
            h->le[b]++;
            break;
        }
}

static int64_t *live_of(kc_metrics *m, uint64_t key)
{
    bool added;
    uint32_t i = tab_find(&m->running, key, &added);
    if (added) {
        m->live = xrealloc(m->live, m->running.n * sizeof *m->live);
        m->live[i] = 0;
    }
    return &m->live[i];
}

void kc_metrics_start(kc_metrics *m, kc_metrics_req *q, const kc_metrics_obs *o)
{
    int scope = scope_of(q, o->method), verb = verb_of(q, o, scope);
    if (q->skip || q->running || (verb != V_WATCH && verb != V_CONNECT)) return;
    (*live_of(m, key_of(q, verb, scope, DRY_NONE, 0)))++;
    q->running = true;
}

void kc_metrics_observe(kc_metrics *m, const kc_metrics_req *q, const kc_metrics_obs *o)
{
    if (q->skip) return;
    int scope = scope_of(q, o->method), verb = verb_of(q, o, scope), dry = dry_of(o->dry_run);
    if (q->running) (*live_of(m, key_of(q, verb, scope, DRY_NONE, 0)))--;
    bool added;
    uint32_t i = tab_find(&m->counters, key_of(q, verb, scope, dry, o->code), &added);
    if (added) {
        m->count = xrealloc(m->count, m->counters.n * sizeof *m->count);
        m->count[i] = 0;
    }
    m->count[i]++;
    if (verb == V_WATCH || verb == V_CONNECT) return; /* long-running: no duration */
    observe_duration(m, key_of(q, verb, scope, dry, 0), o->seconds < 0 ? 0 : o->seconds);
}

/* ---- exposition ---- */

/* Go's strconv.FormatFloat(v, 'g', -1, 64) as Prometheus prints: the shortest exact form. */
static void add_float(kc_buf *b, double v)
{
    char s[40];
    if (isinf(v)) {
        kc_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) { /* fewest significant digits that read back exactly */
        snprintf(s, sizeof s, "%.*e", prec - 1, v);
        if (strtod(s, NULL) == v) break;
    }
    snprintf(s, sizeof s, "%.*e", prec - 1, v);
    int exp = atoi(strchr(s, 'e') + 1);
    if (exp >= -4 && exp < 6) /* Go's 'g' with shortest digits (expfmt): plain notation below 1e6 */
        snprintf(s, sizeof s, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
    kc_buf_adds(b, s);
}

/* Label value escaping of the text format: backslash, double quote, newline. */
static void add_value(kc_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            kc_buf_addf(b, "\\%c", *v);
        else if (*v == '\n')
            kc_buf_adds(b, "\\n");
        else
            kc_buf_add(b, v, 1);
    }
}

static void add_label(kc_buf *b, const char *k, const char *v, bool first)
{
    kc_buf_addf(b, "%s%s=\"", first ? "" : ",", k);
    add_value(b, v);
    kc_buf_adds(b, "\"");
}

/* The labels of a key, without the braces: verb,dry_run,group,version,resource,subresource,scope,component */
static void add_labels_dry(kc_buf *b, uint64_t key, bool with_dry);

static void add_labels(kc_buf *b, uint64_t key)
{
    add_labels_dry(b, key, true);
}

static void add_labels_dry(kc_buf *b, uint64_t key, bool with_dry)
{
    int res = (int)(key & 0xffff) - 1, sub = (int)(key >> 16 & 0xff), verb = (int)(key >> 24 & 0xf);
    int scope = (int)(key >> 28 & 3), dry = (int)(key >> 30 & 3);
    const kc_resource *r = res >= 0 ? &kc_resources[res] : NULL;
    add_label(b, "verb", verb_names[verb], true);
    if (with_dry) add_label(b, "dry_run", dry_names[dry], false);
    add_label(b, "group", r ? r->group : "", false);
    add_label(b, "version", r ? r->version : "", false);
    add_label(b, "resource", r ? r->resource : "", false);
    add_label(b, "subresource", sub_names[sub], false);
    add_label(b, "scope", scope_names[scope], false);
    add_label(b, "component", "apiserver", false);
}

static void render_counters(const kc_metrics *m, kc_buf *b)
{
    kc_buf_adds(
        b, "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, "
           "dry run value, group, version, resource, scope, component, and HTTP response code.\n"
           "# TYPE apiserver_request_total counter\n");
    for (size_t i = 0; i < m->counters.n; i++) {
        uint64_t key = m->counters.order[i];
        kc_buf_adds(b, "apiserver_request_total{");
        add_labels(b, key);
        kc_buf_addf(b, ",code=\"%u\"} %llu\n", (unsigned)(key >> 32 & 0x3ff),
                    (unsigned long long)m->count[i]);
    }
}

static void render_hist(const hist *h, uint64_t key, kc_buf *b)
{
    uint64_t cum = 0;
    for (size_t k = 0; k <= NBUCKET; k++) {
        cum += k < NBUCKET ? h->le[k] : 0;
        kc_buf_adds(b, "apiserver_request_duration_seconds_bucket{");
        add_labels(b, key);
        kc_buf_adds(b, ",le=\"");
        add_float(b, k < NBUCKET ? bounds[k] : INFINITY);
        kc_buf_addf(b, "\"} %llu\n", (unsigned long long)(k < NBUCKET ? cum : h->count));
    }
    kc_buf_adds(b, "apiserver_request_duration_seconds_sum{");
    add_labels(b, key);
    kc_buf_adds(b, "} ");
    add_float(b, h->sum);
    kc_buf_adds(b, "\napiserver_request_duration_seconds_count{");
    add_labels(b, key);
    kc_buf_addf(b, "} %llu\n", (unsigned long long)h->count);
}

static void render_running(const kc_metrics *m, kc_buf *b)
{
    kc_buf_adds(
        b, "# HELP apiserver_longrunning_requests [STABLE] Gauge of all active long-running apiserver "
           "requests broken out by verb, group, version, resource, scope and component. Not all requests "
           "are tracked this way.\n# TYPE apiserver_longrunning_requests gauge\n");
    for (size_t i = 0; i < m->running.n; i++) {
        kc_buf_adds(b, "apiserver_longrunning_requests{");
        add_labels_dry(b, m->running.order[i], false);
        kc_buf_addf(b, "} %lld\n", (long long)m->live[i]);
    }
}

void kc_metrics_render(const kc_metrics *m, kc_buf *b)
{
    kc_buf_adds(
        b, "# HELP apiserver_request_duration_seconds [STABLE] Response latency distribution in seconds for "
           "each verb, dry run value, group, version, resource, subresource, scope and component.\n"
           "# TYPE apiserver_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->hists.n; i++)
        render_hist(&m->hist[i], m->hists.order[i], b);
    render_counters(m, b);
    render_running(m, b);
}
