/* Server-side printing (the Table representation): for each served kind, upstream's column
 * definitions and a printer that turns one object into the cells of one row.
 *
 * This file owns the translation of k8s.io/kubernetes/pkg/printers/internalversion/printers.go
 * (AddHandlers and the print* functions) and of apimachinery's duration.HumanDuration. It works
 * on the parsed JSON of the stored (v1) object, so where upstream's printers read the internal
 * type after decoding, the decode-time defaults they rely on are applied here when a field is
 * absent (SetDefaults_*: replicas 1, Service type ClusterIP and protocol TCP, Secret type Opaque,
 * PV reclaim policy Retain, PV/PVC/Namespace phase, pod phase Pending as set on create).
 * It does not build the Table envelope (kind, metadata, rows[].object): the list/get handlers do.
 *
 * Printers are one function per kind, registered in printers[] by (group, kind); they always
 * print wide (upstream's TableConvertor passes Wide: true), so cells match columns one to one. */
#include "apiserver/table.h"
#include "api/resource.h"
#include "api/selector.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_S 1000000000LL
#define NONE "<none>"

/* ---- JSON access ---------------------------------------------------------------------------- */

/* The value at a dotted path of object keys (keys without dots), or NULL when any step is missing
 * or the value is JSON null (a nil pointer upstream). Borrowed. */
static json_t *jget(json_t *v, const char *path)
{
    char key[64];
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key) return NULL;
        memcpy(key, path, n);
        key[n] = 0;
        v = json_object_get(v, key);
        path += n + (dot != NULL);
    }
    return json_is_null(v) ? NULL : v;
}

/* The string at path, or def when it is absent, not a string, or "" (Go's `if s == ""`). */
static const char *sor(json_t *o, const char *path, const char *def)
{
    const char *s = json_string_value(jget(o, path));
    return s && *s ? s : def;
}

static json_int_t iget(json_t *o, const char *path, json_int_t def)
{
    json_t *v = jget(o, path);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

/* An int32 field (restartCount): clamped, so sums over containers cannot overflow. */
static json_int_t i32(json_t *o, const char *path)
{
    json_int_t v = iget(o, path, 0);
    return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : v;
}

/* The annotation key (keys hold dots, so not a path), or def when the object lacks it. */
static const char *annotation(json_t *o, const char *key, const char *def)
{
    json_t *v = json_object_get(jget(o, "metadata.annotations"), key);
    return json_is_string(v) ? json_string_value(v) : def;
}

static const char *name_of(json_t *o)
{
    return sor(o, "metadata.name", "");
}

static bool deleting(json_t *o)
{
    return jget(o, "metadata.deletionTimestamp") != NULL;
}

/* printf into a new string (owned). */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    return n < 0 ? kc_oom() : s;
}

/* ---- cells ---------------------------------------------------------------------------------- */

static void add_s(json_t *cells, const char *s)
{
    json_t *v = json_string(s ? s : "");
    json_array_append_new(cells, v ? v : json_string(""));
}

static void add_own(json_t *cells, char *s)
{
    add_s(cells, s);
    free(s);
}

static void add_i(json_t *cells, json_int_t i)
{
    json_array_append_new(cells, json_integer(i));
}

/* ---- time ----------------------------------------------------------------------------------- */

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The zone suffix at s: "Z" or "+hh:mm"/"-hh:mm" ending the string; offset in seconds east. */
static int parse_zone(const char *s, long *off)
{
    if (!strcmp(s, "Z")) return *off = 0, 0;
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':') return -1;
    int h = digits(s + 1, 2), m = digits(s + 4, 2);
    if (h < 0 || m < 0 || h > 23 || m > 59) return -1;
    *off = (s[0] == '-' ? -1L : 1L) * (h * 3600L + m * 60L);
    return 0;
}

int kc_table_parse_time(const char *s, int64_t *ns)
{
    if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    struct tm tm = {.tm_year = digits(s, 4) - 1900,
                    .tm_mon = digits(s + 5, 2) - 1,
                    .tm_mday = digits(s + 8, 2),
                    .tm_hour = digits(s + 11, 2),
                    .tm_min = digits(s + 14, 2),
                    .tm_sec = digits(s + 17, 2)};
    if (tm.tm_year < 1900 - 1900 || tm.tm_year > 2261 - 1900 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
        tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 59)
        return -1;
    const char *p = s + 19;
    int64_t frac = 0, scale = NS_PER_S;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9') return -1;
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (scale > 1) frac += (*p - '0') * (scale /= 10);
    }
    long off;
    if (parse_zone(p, &off) < 0) return -1;
    *ns = ((int64_t)timegm(&tm) - off) * NS_PER_S + frac;
    return 0;
}

/* HumanDuration from 8 hours on: hours, then days, then years, with a second unit while it matters. */
static char *human_long(int64_t hours, char *out, size_t n)
{
    if (hours < 48) {
        snprintf(out, n, "%lldh", (long long)hours);
    } else if (hours < 24 * 8) {
        if (hours % 24 == 0)
            snprintf(out, n, "%lldd", (long long)(hours / 24));
        else
            snprintf(out, n, "%lldd%lldh", (long long)(hours / 24), (long long)(hours % 24));
    } else if (hours < 24 * 365 * 2) {
        snprintf(out, n, "%lldd", (long long)(hours / 24));
    } else if (hours < 24 * 365 * 8) {
        int64_t dy = (hours / 24) % 365;
        if (dy == 0)
            snprintf(out, n, "%lldy", (long long)(hours / 24 / 365));
        else
            snprintf(out, n, "%lldy%lldd", (long long)(hours / 24 / 365), (long long)dy);
    } else {
        snprintf(out, n, "%lldy", (long long)(hours / 24 / 365));
    }
    return out;
}

/* Worked example: 190s -> minutes 3 (< 10) and 10s left -> "3m10s"; 10m1s -> "10m"; 3h1m -> "3h1m". */
char *kc_table_human_duration(int64_t d, char *out, size_t n)
{
    int64_t seconds = d / NS_PER_S, minutes = d / (60 * NS_PER_S), hours = d / (3600 * NS_PER_S);
    if (seconds < -1)
        snprintf(out, n, "<invalid>");
    else if (seconds < 0)
        snprintf(out, n, "0s");
    else if (seconds < 60 * 2)
        snprintf(out, n, "%llds", (long long)seconds);
    else if (minutes < 10 && seconds % 60 == 0)
        snprintf(out, n, "%lldm", (long long)minutes);
    else if (minutes < 10)
        snprintf(out, n, "%lldm%llds", (long long)minutes, (long long)(seconds % 60));
    else if (minutes < 60 * 3)
        snprintf(out, n, "%lldm", (long long)minutes);
    else if (hours < 8 && minutes % 60 == 0)
        snprintf(out, n, "%lldh", (long long)hours);
    else if (hours < 8)
        snprintf(out, n, "%lldh%lldm", (long long)hours, (long long)(minutes % 60));
    else
        human_long(hours, out, n);
    return out;
}

/* translateTimestampSince: the age of an RFC 3339 time, "<unknown>" when unset or unparsable. */
static char *since(const char *ts, time_t now, char out[32])
{
    int64_t t;
    if (kc_table_parse_time(ts, &t) < 0) return strcpy(out, "<unknown>");
    return kc_table_human_duration((int64_t)now * NS_PER_S - t, out, 32);
}

static void add_since(json_t *cells, json_t *o, const char *path, time_t now)
{
    char buf[32];
    add_s(cells, since(json_string_value(jget(o, path)), now, buf));
}

static void add_age(json_t *cells, json_t *o, time_t now)
{
    add_since(cells, o, "metadata.creationTimestamp", now);
}

/* ---- shared formatting ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* strings.Join(sets.NewString(v...).List(), sep): sorted, duplicates dropped. Sorts v in place;
 * frees the strings when own. Returns a new string. */
static char *join_set(char **v, size_t n, const char *sep, bool own)
{
    kc_buf b = KC_BUF_INIT;
    qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(v[i], v[i - 1])) continue;
        if (i) kc_buf_adds(&b, sep);
        kc_buf_adds(&b, v[i]);
    }
    if (own)
        for (size_t i = 0; i < n; i++)
            free(v[i]);
    free(v);
    return kc_buf_take(&b);
}

/* labels.FormatLabels: "k=v" pairs sorted as strings, joined by ",", "<none>" when empty. */
static char *format_labels(json_t *map)
{
    char **v = xcalloc(json_object_size(map) + 1, sizeof *v);
    size_t n = 0;
    const char *k;
    json_t *val;
    json_object_foreach(map, k, val)
    {
        v[n++] = fmt("%s=%s", k, json_is_string(val) ? json_string_value(val) : "");
    }
    char *s = join_set(v, n, ",", true);
    if (*s) return s;
    free(s);
    return xstrdup(NONE);
}

/* metav1.LabelSelectorAsSelector(sel).String(), or bad when the selector does not convert. */
static char *selector_string(json_t *sel, const char *bad)
{
    kc_err err = KC_ERR_INIT;
    kc_labelsel *s = NULL;
    if (kc_labelsel_from_json(sel, &s, &err) < 0) {
        kc_err_release(&err);
        return xstrdup(bad);
    }
    char *str = kc_labelsel_string(s);
    kc_labelsel_free(s);
    return str;
}

/* metav1.FormatLabelSelector: "<none>" for an empty string form, "<error>" for a bad selector. */
static char *format_selector(json_t *sel)
{
    char *s = selector_string(sel, "<error>");
    if (*s) return s;
    free(s);
    return xstrdup(NONE);
}

/* layoutContainerCells: container names, then images, each joined by ",". */
static void add_containers(json_t *cells, json_t *containers)
{
    kc_buf names = KC_BUF_INIT, images = KC_BUF_INIT;
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c)
    {
        if (i) kc_buf_adds(&names, ","), kc_buf_adds(&images, ",");
        kc_buf_adds(&names, sor(c, "name", ""));
        kc_buf_adds(&images, sor(c, "image", ""));
    }
    add_own(cells, kc_buf_take(&names));
    add_own(cells, kc_buf_take(&images));
}

/* helper.GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order, each once. */
static char *access_modes(json_t *modes)
{
    static const char *const names[][2] = {{"ReadWriteOnce", "RWO"},
                                           {"ReadOnlyMany", "ROX"},
                                           {"ReadWriteMany", "RWX"},
                                           {"ReadWriteOncePod", "RWOP"}};
    kc_buf b = KC_BUF_INIT;
    for (size_t m = 0; m < sizeof names / sizeof names[0]; m++) {
        size_t i;
        json_t *v;
        json_array_foreach(modes, i, v)
        {
            if (!json_is_string(v) || strcmp(json_string_value(v), names[m][0])) continue;
            if (b.len) kc_buf_adds(&b, ",");
            kc_buf_adds(&b, names[m][1]);
            break;
        }
    }
    return kc_buf_take(&b);
}

/* The first-three-then-"+ N more..." lists of formatEndpoints and listWithMoreString. */
typedef struct shortlist {
    kc_buf b;
    int count;
} shortlist;

static void shortlist_add(shortlist *l, char *own)
{
    if (l->count < 3) {
        if (l->count) kc_buf_adds(&l->b, ",");
        kc_buf_adds(&l->b, own);
    }
    l->count++;
    free(own);
}

/* The list (owned); when empty, empty (a new copy, or "" when NULL). */
static char *shortlist_take(shortlist *l, const char *empty)
{
    char *s = kc_buf_take(&l->b);
    if (l->count > 3) {
        char *more = fmt("%s + %d more...", s, l->count - 3);
        free(s);
        return more;
    }
    if (*s || !empty) return s;
    free(s);
    return xstrdup(empty);
}

/* The condition of type t in o's status.conditions (first match), or NULL. */
static json_t *condition(json_t *o, const char *t)
{
    size_t i;
    json_t *c;
    json_array_foreach(jget(o, "status.conditions"), i, c)
    {
        if (!strcmp(sor(c, "type", ""), t)) return c;
    }
    return NULL;
}

static bool condition_true(json_t *o, const char *t)
{
    return !strcmp(sor(condition(o, t), "status", ""), "True");
}

/* ---- pods (printPod) ------------------------------------------------------------------------ */

/* What printPod accumulates while it walks the container statuses. A last restart time of
 * INT64_MIN is Go's zero time. */
typedef struct podrow {
    char *reason; /* owned */
    json_int_t restarts, ready, total;
    int64_t last;
    json_int_t side_restarts; /* restartable init containers (sidecars) only */
    int64_t side_last;
} podrow;

static void set_reason(podrow *p, char *own)
{
    free(p->reason);
    p->reason = own;
}

/* Moves *last forward to the container's lastState.terminated.finishedAt when that is later. */
static void note_restart(json_t *status, int64_t *last)
{
    int64_t t;
    if (kc_table_parse_time(json_string_value(jget(status, "lastState.terminated.finishedAt")), &t) == 0 &&
        t > *last)
        *last = t;
}

/* podutil.IsRestartableInitContainer for the init container spec named name. */
static bool is_sidecar(json_t *pod, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(jget(pod, "spec.initContainers"), i, c)
    {
        if (name && !strcmp(sor(c, "name", ""), name)) return !strcmp(sor(c, "restartPolicy", ""), "Always");
    }
    return false;
}

/* "Signal:9" / "ExitCode:1" for a terminated state without a reason, with prefix. */
static char *exit_reason(json_t *term, const char *prefix)
{
    json_int_t sig = iget(term, "signal", 0);
    if (sig) return fmt("%sSignal:%" JSON_INTEGER_FORMAT, prefix, sig);
    return fmt("%sExitCode:%" JSON_INTEGER_FORMAT, prefix, iget(term, "exitCode", 0));
}

/* The reason for init container status i (of ninit) that blocks initialization. */
static void init_reason(podrow *p, json_t *cs, size_t i, size_t ninit)
{
    json_t *term = jget(cs, "state.terminated");
    const char *waiting = sor(cs, "state.waiting.reason", "");
    if (term && *sor(term, "reason", ""))
        set_reason(p, fmt("Init:%s", sor(term, "reason", "")));
    else if (term)
        set_reason(p, exit_reason(term, "Init:"));
    else if (*waiting && strcmp(waiting, "PodInitializing"))
        set_reason(p, fmt("Init:%s", waiting));
    else
        set_reason(p, fmt("Init:%zu/%zu", i, ninit));
}

/* The init container pass: counts restarts and ready sidecars; returns true (with the reason set)
 * at the first init container that has neither succeeded nor started as a sidecar. */
static bool init_pass(podrow *p, json_t *pod)
{
    size_t i, ninit = json_array_size(jget(pod, "spec.initContainers"));
    json_t *cs;
    json_array_foreach(jget(pod, "status.initContainerStatuses"), i, cs)
    {
        bool side = is_sidecar(pod, json_string_value(jget(cs, "name")));
        p->restarts += i32(cs, "restartCount");
        note_restart(cs, &p->last);
        if (side) {
            p->side_restarts += i32(cs, "restartCount");
            note_restart(cs, &p->side_last);
        }
        json_t *term = jget(cs, "state.terminated");
        if (term && iget(term, "exitCode", 0) == 0) continue;
        if (side && json_is_true(jget(cs, "started"))) {
            p->ready += json_is_true(jget(cs, "ready"));
            continue;
        }
        init_reason(p, cs, i, ninit);
        return true;
    }
    return false;
}

/* The app container pass, last container first, so the first container's state wins. */
static void container_pass(podrow *p, json_t *pod)
{
    json_t *statuses = jget(pod, "status.containerStatuses");
    bool running = false;
    p->restarts = p->side_restarts;
    p->last = p->side_last;
    for (size_t i = json_array_size(statuses); i-- > 0;) {
        json_t *cs = json_array_get(statuses, i), *term = jget(cs, "state.terminated");
        p->restarts += i32(cs, "restartCount");
        note_restart(cs, &p->last);
        if (*sor(cs, "state.waiting.reason", ""))
            set_reason(p, xstrdup(sor(cs, "state.waiting.reason", "")));
        else if (term && *sor(term, "reason", ""))
            set_reason(p, xstrdup(sor(term, "reason", "")));
        else if (term)
            set_reason(p, exit_reason(term, ""));
        else if (json_is_true(jget(cs, "ready")) && jget(cs, "state.running"))
            running = true, p->ready++;
    }
    if (!strcmp(p->reason, "Completed") && running)
        set_reason(p, xstrdup(condition_true(pod, "Ready") ? "Running" : "NotReady"));
}

/* READY, STATUS and RESTARTS of printPod. */
static void pod_summary(podrow *p, json_t *pod)
{
    const char *phase = sor(pod, "status.phase", "Pending");
    size_t i;
    json_t *c;
    set_reason(p, xstrdup(sor(pod, "status.reason", phase)));
    json_array_foreach(jget(pod, "status.conditions"), i, c)
    {
        if (!strcmp(sor(c, "type", ""), "PodScheduled") && !strcmp(sor(c, "reason", ""), "SchedulingGated"))
            set_reason(p, xstrdup("SchedulingGated"));
    }
    p->total = (json_int_t)json_array_size(jget(pod, "spec.containers"));
    json_array_foreach(jget(pod, "spec.initContainers"), i, c)
    {
        p->total += !strcmp(sor(c, "restartPolicy", ""), "Always");
    }
    if (!init_pass(p, pod) || condition_true(pod, "Initialized")) container_pass(p, pod);
    if (deleting(pod) && !strcmp(sor(pod, "status.reason", ""), "NodeLost"))
        set_reason(p, xstrdup("Unknown"));
    else if (deleting(pod) && strcmp(phase, "Succeeded") && strcmp(phase, "Failed"))
        set_reason(p, xstrdup("Terminating"));
}

/* READINESS GATES: "<true>/<gates>", "<none>" without gates. */
static char *readiness_gates(json_t *pod)
{
    json_t *gates = jget(pod, "spec.readinessGates"), *g;
    size_t i, ok = 0;
    if (!json_array_size(gates)) return xstrdup(NONE);
    json_array_foreach(gates, i, g)
    {
        ok += condition_true(pod, sor(g, "conditionType", ""));
    }
    return fmt("%zu/%zu", ok, json_array_size(gates));
}

static void print_pod(json_t *cells, json_t *pod, time_t now)
{
    podrow p = {.last = INT64_MIN, .side_last = INT64_MIN};
    char buf[32];
    json_t *ips = jget(pod, "status.podIPs");
    pod_summary(&p, pod);
    add_s(cells, name_of(pod));
    add_own(cells, fmt("%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT, p.ready, p.total));
    add_s(cells, p.reason);
    if (p.restarts && p.last != INT64_MIN)
        add_own(cells, fmt("%" JSON_INTEGER_FORMAT " (%s ago)", p.restarts,
                           kc_table_human_duration((int64_t)now * NS_PER_S - p.last, buf, sizeof buf)));
    else
        add_own(cells, fmt("%" JSON_INTEGER_FORMAT, p.restarts));
    add_age(cells, pod, now);
    add_s(cells, sor(pod, "status.podIP", sor(json_array_get(ips, 0), "ip", NONE)));
    add_s(cells, sor(pod, "spec.nodeName", NONE));
    add_s(cells, sor(pod, "status.nominatedNodeName", NONE));
    add_own(cells, readiness_gates(pod));
    free(p.reason);
}

/* ---- core kinds ----------------------------------------------------------------------------- */

static void print_namespace(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_s(cells, sor(o, "status.phase", "Active"));
    add_age(cells, o, now);
}

/* getServiceExternalIP for the LoadBalancer type: ingress IPs (or hostnames) as a sorted set, then
 * spec.externalIPs; "<pending>" when there are none. Never clipped: the server prints wide. */
static char *lb_external_ip(json_t *svc)
{
    json_t *ingress = jget(svc, "status.loadBalancer.ingress"), *in, *ip;
    char **v = xcalloc(json_array_size(ingress) + 1, sizeof *v);
    size_t i, n = 0;
    json_array_foreach(ingress, i, in)
    {
        const char *addr = sor(in, "ip", sor(in, "hostname", ""));
        if (*addr) v[n++] = (char *)addr;
    }
    kc_buf b = KC_BUF_INIT;
    char *lb = join_set(v, n, ",", false);
    kc_buf_adds(&b, lb);
    json_array_foreach(jget(svc, "spec.externalIPs"), i, ip)
    {
        if (b.len) kc_buf_adds(&b, ",");
        kc_buf_adds(&b, json_is_string(ip) ? json_string_value(ip) : "");
    }
    free(lb);
    if (!b.len) kc_buf_adds(&b, "<pending>");
    return kc_buf_take(&b);
}

/* getServiceExternalIP. */
static char *external_ip(json_t *svc, const char *type)
{
    json_t *ips = jget(svc, "spec.externalIPs"), *ip;
    size_t i;
    if (!strcmp(type, "LoadBalancer")) return lb_external_ip(svc);
    if (!strcmp(type, "ExternalName")) return xstrdup(sor(svc, "spec.externalName", ""));
    if (strcmp(type, "ClusterIP") && strcmp(type, "NodePort")) return xstrdup("<unknown>");
    if (!json_array_size(ips)) return xstrdup(NONE);
    kc_buf b = KC_BUF_INIT;
    json_array_foreach(ips, i, ip)
    {
        if (i) kc_buf_adds(&b, ",");
        kc_buf_adds(&b, json_is_string(ip) ? json_string_value(ip) : "");
    }
    return kc_buf_take(&b);
}

/* makePortString: "80/TCP" or "80:30080/TCP", joined by ","; "<none>" without ports. */
static char *service_ports(json_t *svc)
{
    kc_buf b = KC_BUF_INIT;
    size_t i;
    json_t *p;
    json_array_foreach(jget(svc, "spec.ports"), i, p)
    {
        json_int_t node = iget(p, "nodePort", 0);
        if (i) kc_buf_adds(&b, ",");
        kc_buf_addf(&b, "%" JSON_INTEGER_FORMAT, iget(p, "port", 0));
        if (node > 0) kc_buf_addf(&b, ":%" JSON_INTEGER_FORMAT, node);
        kc_buf_addf(&b, "/%s", sor(p, "protocol", "TCP"));
    }
    if (!b.len) kc_buf_adds(&b, NONE);
    return kc_buf_take(&b);
}

static void print_service(json_t *cells, json_t *o, time_t now)
{
    const char *type = sor(o, "spec.type", "ClusterIP");
    add_s(cells, name_of(o));
    add_s(cells, type);
    add_s(cells, sor(json_array_get(jget(o, "spec.clusterIPs"), 0), "", sor(o, "spec.clusterIP", NONE)));
    add_own(cells, external_ip(o, type));
    add_own(cells, service_ports(o));
    add_age(cells, o, now);
    add_own(cells, format_labels(jget(o, "spec.selector")));
}

/* net.JoinHostPort. */
static char *host_port(const char *ip, json_int_t port)
{
    return fmt(strchr(ip, ':') ? "[%s]:%" JSON_INTEGER_FORMAT : "%s:%" JSON_INTEGER_FORMAT, ip, port);
}

/* formatEndpoints(ep, nil): "ip:port" for every port of every subset (bare IPs for a subset
 * without ports), the first three then " + N more..."; "<none>" without subsets. */
static char *format_endpoints(json_t *ep)
{
    json_t *subsets = jget(ep, "subsets"), *ss, *port, *addr;
    shortlist l = {KC_BUF_INIT, 0};
    size_t i, j, k;
    if (!json_array_size(subsets)) return xstrdup(NONE);
    json_array_foreach(subsets, i, ss)
    {
        json_t *ports = jget(ss, "ports"), *addrs = jget(ss, "addresses");
        if (!json_array_size(ports)) { /* headless services may have no ports */
            json_array_foreach(addrs, j, addr)
            {
                shortlist_add(&l, xstrdup(sor(addr, "ip", "")));
            }
            continue;
        }
        json_array_foreach(ports, k, port)
        {
            json_array_foreach(addrs, j, addr)
            {
                shortlist_add(&l, host_port(sor(addr, "ip", ""), iget(port, "port", 0)));
            }
        }
    }
    return shortlist_take(&l, NULL);
}

static void print_endpoints(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_own(cells, format_endpoints(o));
    add_age(cells, o, now);
}

/* printNode's STATUS: the Ready condition as Ready / NotReady, "Unknown" without it, then
 * ",SchedulingDisabled" for a cordoned node. */
static char *node_status(json_t *node)
{
    json_t *ready = condition(node, "Ready");
    const char *s = !ready ? "Unknown" : condition_true(node, "Ready") ? "Ready" : "NotReady";
    return fmt("%s%s", s, json_is_true(jget(node, "spec.unschedulable")) ? ",SchedulingDisabled" : "");
}

/* findNodeRoles: node-role.kubernetes.io/<role> keys and kubernetes.io/role values, sorted. */
static char *node_roles(json_t *node)
{
    static const char prefix[] = "node-role.kubernetes.io/";
    json_t *labels = jget(node, "metadata.labels"), *v;
    char **roles = xcalloc(json_object_size(labels) + 1, sizeof *roles);
    size_t n = 0;
    const char *k;
    json_object_foreach(labels, k, v)
    {
        if (!strncmp(k, prefix, sizeof prefix - 1) && k[sizeof prefix - 1])
            roles[n++] = (char *)k + sizeof prefix - 1;
        else if (!strcmp(k, "kubernetes.io/role") && json_string_length(v))
            roles[n++] = (char *)json_string_value(v);
    }
    char *s = join_set(roles, n, ",", false);
    if (*s) return s;
    free(s);
    return xstrdup(NONE);
}

/* The first status.addresses entry of the given type, "<none>" without one. */
static const char *node_address(json_t *node, const char *type)
{
    size_t i;
    json_t *a;
    json_array_foreach(jget(node, "status.addresses"), i, a)
    {
        if (!strcmp(sor(a, "type", ""), type)) return sor(a, "address", "");
    }
    return NONE;
}

static void print_node(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_own(cells, node_status(o));
    add_own(cells, node_roles(o));
    add_age(cells, o, now);
    add_s(cells, sor(o, "status.nodeInfo.kubeletVersion", ""));
    add_s(cells, node_address(o, "InternalIP"));
    add_s(cells, node_address(o, "ExternalIP"));
    add_s(cells, sor(o, "status.nodeInfo.osImage", "<unknown>"));
    add_s(cells, sor(o, "status.nodeInfo.kernelVersion", "<unknown>"));
    add_s(cells, sor(o, "status.nodeInfo.containerRuntimeVersion", "<unknown>"));
}

static void print_configmap(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_i(cells, (json_int_t)(json_object_size(jget(o, "data")) + json_object_size(jget(o, "binaryData"))));
    add_age(cells, o, now);
}

/* DATA counts the keys of data plus stringData (the v1 -> internal conversion merges them). */
static void print_secret(json_t *cells, json_t *o, time_t now)
{
    json_t *data = jget(o, "data"), *v;
    size_t n = json_object_size(data);
    const char *k;
    json_object_foreach(jget(o, "stringData"), k, v)
    {
        n += !json_object_get(data, k);
    }
    add_s(cells, name_of(o));
    add_s(cells, sor(o, "type", "Opaque"));
    add_i(cells, (json_int_t)n);
    add_age(cells, o, now);
}

static void print_serviceaccount(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_i(cells, (json_int_t)json_array_size(jget(o, "secrets")));
    add_age(cells, o, now);
}

/* Field names of the two Event versions: core/v1 and events.k8s.io/v1 (its deprecated* fields
 * are the core ones, which the conversion to the internal type maps back). */
typedef struct evfields {
    const char *object, *message, *source, *first, *last, *count;
} evfields;

static const evfields core_event = {
    .object = "involvedObject",
    .message = "message",
    .source = "source",
    .first = "firstTimestamp",
    .last = "lastTimestamp",
    .count = "count",
};
static const evfields new_event = {
    .object = "regarding",
    .message = "note",
    .source = "deprecatedSource",
    .first = "deprecatedFirstTimestamp",
    .last = "deprecatedLastTimestamp",
    .count = "deprecatedCount",
};

/* formatEventSource: component (or reportingController), then ", host" (or reportingInstance). */
static char *event_source(json_t *ev, const evfields *f)
{
    json_t *src = jget(ev, f->source);
    const char *comp = sor(src, "component", sor(ev, "reportingController", ""));
    const char *host = sor(src, "host", sor(ev, "reportingInstance", ""));
    return *host ? fmt("%s, %s", comp, host) : xstrdup(comp);
}

/* OBJECT: "kind/name" with the kind lower-cased, or the kind alone without a name. */
static char *event_target(json_t *ev, const evfields *f)
{
    json_t *obj = jget(ev, f->object);
    const char *name = sor(obj, "name", "");
    char *s = *name ? fmt("%s/%s", sor(obj, "kind", ""), name) : xstrdup(sor(obj, "kind", ""));
    for (char *p = s; *p && *p != '/'; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return s;
}

/* strings.TrimSpace (ASCII white space). */
static char *trim_space(const char *s)
{
    size_t n = strlen(s);
    while (n && strchr(" \t\n\v\f\r", s[n - 1]))
        n--;
    while (n && strchr(" \t\n\v\f\r", *s))
        s++, n--;
    return xstrndup(s, n);
}

/* LAST SEEN and FIRST SEEN fall back to eventTime and the series, COUNT to the series or 1. */
static void print_event_fields(json_t *cells, json_t *ev, time_t now, const evfields *f)
{
    char first[32], last[32];
    json_t *series = jget(ev, "series");
    json_int_t count = iget(ev, f->count, 0);
    since(json_string_value(jget(ev, jget(ev, f->first) ? f->first : "eventTime")), now, first);
    if (jget(ev, f->last))
        since(json_string_value(jget(ev, f->last)), now, last);
    else
        strcpy(last, first);
    if (series) {
        since(json_string_value(jget(series, "lastObservedTime")), now, last);
        count = iget(series, "count", 0);
    } else if (count == 0) {
        count = 1; /* singleton events of the new API have no count */
    }
    add_s(cells, last);
    add_s(cells, sor(ev, "type", ""));
    add_s(cells, sor(ev, "reason", ""));
    add_own(cells, event_target(ev, f));
    add_s(cells, sor(jget(ev, f->object), "fieldPath", ""));
    add_own(cells, event_source(ev, f));
    add_own(cells, trim_space(sor(ev, f->message, "")));
    add_s(cells, first);
    add_i(cells, count);
    add_s(cells, name_of(ev));
}

static void print_event(json_t *cells, json_t *o, time_t now)
{
    print_event_fields(cells, o, now, &core_event);
}

static void print_event_v1(json_t *cells, json_t *o, time_t now)
{
    print_event_fields(cells, o, now, &new_event);
}

/* helper.GetPersistentVolume(Claim)Class: the beta annotation wins over spec.storageClassName. */
static const char *storage_class(json_t *o)
{
    return annotation(o, "volume.beta.kubernetes.io/storage-class", sor(o, "spec.storageClassName", ""));
}

/* The PV phase, Terminating once deletion started. */
static const char *pv_phase(json_t *o)
{
    return deleting(o) ? "Terminating" : sor(o, "status.phase", "Pending");
}

/* CAPACITY: the storage quantity as stored ("0" for none); upstream prints it canonically. */
static void print_pv(json_t *cells, json_t *o, time_t now)
{
    json_t *claim = jget(o, "spec.claimRef");
    add_s(cells, name_of(o));
    add_s(cells, sor(o, "spec.capacity.storage", "0"));
    add_own(cells, access_modes(jget(o, "spec.accessModes")));
    add_s(cells, sor(o, "spec.persistentVolumeReclaimPolicy", "Retain"));
    add_s(cells, pv_phase(o));
    add_own(cells, claim ? fmt("%s/%s", sor(claim, "namespace", ""), sor(claim, "name", "")) : xstrdup(""));
    add_s(cells, storage_class(o));
    add_s(cells, sor(o, "spec.volumeAttributesClassName", "<unset>"));
    add_s(cells, sor(o, "status.reason", ""));
    add_age(cells, o, now);
    add_s(cells, sor(o, "spec.volumeMode", "Filesystem"));
}

/* VOLUME, CAPACITY and ACCESS MODES come from the bound volume (status), blank while unbound. */
static void print_pvc(json_t *cells, json_t *o, time_t now)
{
    const char *volume = sor(o, "spec.volumeName", "");
    add_s(cells, name_of(o));
    add_s(cells, pv_phase(o));
    add_s(cells, volume);
    add_s(cells, *volume ? sor(o, "status.capacity.storage", "0") : "");
    add_own(cells, *volume ? access_modes(jget(o, "status.accessModes")) : xstrdup(""));
    add_s(cells, storage_class(o));
    add_s(cells, sor(o, "spec.volumeAttributesClassName", "<unset>"));
    add_age(cells, o, now);
    add_s(cells, sor(o, "spec.volumeMode", "Filesystem"));
}

/* ---- apps ----------------------------------------------------------------------------------- */

static void print_deployment(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_own(cells, fmt("%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT, iget(o, "status.readyReplicas", 0),
                       iget(o, "spec.replicas", 1)));
    add_i(cells, iget(o, "status.updatedReplicas", 0));
    add_i(cells, iget(o, "status.availableReplicas", 0));
    add_age(cells, o, now);
    add_containers(cells, jget(o, "spec.template.spec.containers"));
    add_own(cells, selector_string(jget(o, "spec.selector"), "<invalid>"));
}

static void print_replicaset(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_i(cells, iget(o, "spec.replicas", 1));
    add_i(cells, iget(o, "status.replicas", 0));
    add_i(cells, iget(o, "status.readyReplicas", 0));
    add_age(cells, o, now);
    add_containers(cells, jget(o, "spec.template.spec.containers"));
    add_own(cells, format_selector(jget(o, "spec.selector")));
}

static void print_statefulset(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_own(cells, fmt("%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT, iget(o, "status.readyReplicas", 0),
                       iget(o, "spec.replicas", 1)));
    add_age(cells, o, now);
    add_containers(cells, jget(o, "spec.template.spec.containers"));
}

static void print_daemonset(json_t *cells, json_t *o, time_t now)
{
    static const char *const counts[] = {"desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                         "updatedNumberScheduled", "numberAvailable"};
    add_s(cells, name_of(o));
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        add_i(cells, iget(jget(o, "status"), counts[i], 0));
    add_own(cells, format_labels(jget(o, "spec.template.spec.nodeSelector")));
    add_age(cells, o, now);
    add_containers(cells, jget(o, "spec.template.spec.containers"));
    add_own(cells, format_selector(jget(o, "spec.selector")));
}

/* CONTROLLER: the controller owner as formatResourceName does it, "statefulset.apps/web"
 * (kind lower-cased, ".group" unless core), "<none>" without a controller. */
static char *controller_name(json_t *o)
{
    size_t i;
    json_t *ref;
    json_array_foreach(jget(o, "metadata.ownerReferences"), i, ref)
    {
        if (!json_is_true(jget(ref, "controller"))) continue;
        const char *av = sor(ref, "apiVersion", ""), *slash = strchr(av, '/'), *kind = sor(ref, "kind", "");
        char *s = slash ? fmt("%s.%.*s/", kind, (int)(slash - av), av) : fmt("%s/", kind);
        for (char *p = s; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        char *full = !strcmp(s, "/") ? xstrdup(sor(ref, "name", "")) : fmt("%s%s", s, sor(ref, "name", ""));
        free(s);
        return full;
    }
    return xstrdup(NONE);
}

static void print_controllerrevision(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_own(cells, controller_name(o));
    add_i(cells, iget(o, "revision", 0));
    add_age(cells, o, now);
}

/* ---- storage, coordination, discovery ------------------------------------------------------- */

/* storageutil.IsDefaultAnnotation: the GA or beta is-default-class annotation is "true". */
static bool default_class(json_t *o)
{
    return !strcmp(annotation(o, "storageclass.kubernetes.io/is-default-class", ""), "true") ||
           !strcmp(annotation(o, "storageclass.beta.kubernetes.io/is-default-class", ""), "true");
}

static void print_storageclass(json_t *cells, json_t *o, time_t now)
{
    add_own(cells, fmt("%s%s", name_of(o), default_class(o) ? " (default)" : ""));
    add_s(cells, sor(o, "provisioner", ""));
    add_s(cells, sor(o, "reclaimPolicy", "Delete"));
    add_s(cells, sor(o, "volumeBindingMode", "Immediate"));
    json_array_append_new(cells, json_boolean(json_is_true(jget(o, "allowVolumeExpansion"))));
    add_age(cells, o, now);
}

/* printPriorityClass: name, value, globalDefault, age, preemptionPolicy ("<unset>" when nil). */
static void print_priorityclass(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_i(cells, iget(o, "value", 0));
    json_array_append_new(cells, json_boolean(json_is_true(jget(o, "globalDefault"))));
    add_age(cells, o, now);
    add_s(cells, sor(o, "preemptionPolicy", "<unset>"));
}

static void print_lease(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_s(cells, sor(o, "spec.holderIdentity", ""));
    add_age(cells, o, now);
}

/* printPodDisruptionBudget: min available / max unavailable as written ("N/A" when unset). */
static char *int_or_string(json_t *v)
{
    if (json_is_integer(v)) return fmt("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_string(v)) return fmt("%s", json_string_value(v));
    return fmt("N/A");
}

static void print_pdb(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_own(cells, int_or_string(jget(o, "spec.minAvailable")));
    add_own(cells, int_or_string(jget(o, "spec.maxUnavailable")));
    json_t *allowed = jget(o, "status.disruptionsAllowed");
    json_array_append_new(cells, json_integer(json_is_integer(allowed) ? json_integer_value(allowed) : 0));
    add_age(cells, o, now);
}

/* formatDiscoveryPorts: port numbers (the name for a port without one, "*" for neither). */
static char *slice_ports(json_t *o)
{
    shortlist l = {KC_BUF_INIT, 0};
    size_t i;
    json_t *p;
    json_array_foreach(jget(o, "ports"), i, p)
    {
        if (json_is_integer(jget(p, "port")))
            shortlist_add(&l, fmt("%" JSON_INTEGER_FORMAT, iget(p, "port", 0)));
        else
            shortlist_add(
                &l, xstrdup(json_is_string(jget(p, "name")) ? json_string_value(jget(p, "name")) : "*"));
    }
    return shortlist_take(&l, "<unset>");
}

/* formatDiscoveryEndpoints: every address of every endpoint. */
static char *slice_endpoints(json_t *o)
{
    shortlist l = {KC_BUF_INIT, 0};
    size_t i, j;
    json_t *ep, *a;
    json_array_foreach(jget(o, "endpoints"), i, ep)
    {
        json_array_foreach(jget(ep, "addresses"), j, a)
        {
            shortlist_add(&l, xstrdup(json_is_string(a) ? json_string_value(a) : ""));
        }
    }
    return shortlist_take(&l, "<unset>");
}

static void print_endpointslice(json_t *cells, json_t *o, time_t now)
{
    add_s(cells, name_of(o));
    add_s(cells, sor(o, "addressType", ""));
    add_own(cells, slice_ports(o));
    add_own(cells, slice_endpoints(o));
    add_age(cells, o, now);
}

/* rest.NewDefaultTableConvertor, for a kind without a printer: NAME and the creation time. */
static void print_default(json_t *cells, json_t *o, time_t now)
{
    (void)now;
    add_s(cells, name_of(o));
    add_s(cells, sor(o, "metadata.creationTimestamp", "0001-01-01T00:00:00Z"));
}

/* ---- column definitions (AddHandlers) ------------------------------------------------------- */

/* Column descriptions: upstream takes most from the API types' SwaggerDoc(); these are those
 * texts (field documentation of the v1 types). */
#define D_NAME                                                                                               \
    "Name must be unique within a namespace. Is required when creating resources, although some "            \
    "resources may allow a client to request the generation of an appropriate name automatically. Name "     \
    "is primarily intended for creation idempotence and configuration definition. Cannot be updated. "       \
    "More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
#define D_AGE                                                                                                \
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is "     \
    "not guaranteed to be set in happens-before order across separate operations. Clients may not set "      \
    "this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. "              \
    "Read-only. Null for lists. More info: "                                                                 \
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
#define D_CONTAINERS "Names of each container in the template."
#define D_IMAGES "Images referenced by each container in the template."
#define D_POD_IP                                                                                             \
    "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."
#define D_NODE_NAME                                                                                          \
    "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the "              \
    "scheduler simply schedules this pod onto that node, assuming that it fits resource requirements."
#define D_NOMINATED                                                                                          \
    "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be "         \
    "scheduled right away as preemption victims receive their graceful termination periods. This field "     \
    "does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the "     \
    "pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the "           \
    "resources on this node to a higher priority pod that is created after preemption. As a result, "        \
    "this field may be different than PodSpec.nodeName when the pod is scheduled."
#define D_RGATES                                                                                             \
    "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all "        \
    "its containers are ready AND all conditions specified in the readiness gates have status equal to "     \
    "\"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates"
#define D_SVC_TYPE                                                                                           \
    "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are "                  \
    "ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal "       \
    "IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that "       \
    "is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If "          \
    "clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of "         \
    "endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on "          \
    "every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on "            \
    "NodePort and creates an external load-balancer (if supported in the current cloud) which routes "       \
    "to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified "        \
    "externalName. Several other fields do not apply to ExternalName services. More info: "                  \
    "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"
#define D_SVC_CIP                                                                                            \
    "clusterIP is the IP address of the service and is usually assigned randomly. If an address is "         \
    "specified manually, is in-range (as per system configuration), and is not in use, it will be "          \
    "allocated to the service; otherwise creation of the service will fail. This field may not be "          \
    "changed through updates unless the type field is also being changed to ExternalName (which "            \
    "requires this field to be blank) or the type field is being changed from ExternalName (in which "       \
    "case this field may optionally be specified, as describe above).\n\nValid values are \"None\", "        \
    "empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" "     \
    "(no virtual IP), which is useful when direct endpoint connections are preferred and proxying is "       \
    "not required.\n\nOnly applies to types ClusterIP, NodePort, and LoadBalancer. If this field is "        \
    "specified when creating a Service of type ExternalName, creation will fail. This field will be "        \
    "wiped when updating a Service to type ExternalName. More info: "                                        \
    "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
#define D_SVC_EIPS                                                                                           \
    "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for "     \
    "this service.\n\nThese IPs are not managed by Kubernetes.\n\nThe user is responsible for ensuring "     \
    "that traffic arrives at a node with this IP.\n\nA common example is external load-balancers that "      \
    "are not part of the Kubernetes system."
#define D_SVC_PORTS                                                                                          \
    "The list of ports that are exposed by this service. More info: "                                        \
    "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
#define D_SVC_SEL                                                                                            \
    "Route service traffic to pods with label keys and values matching this selector. If empty or not "      \
    "present, the service is assumed to have an external process managing its endpoints, which "             \
    "Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored "      \
    "if type is ExternalName. More info: "                                                                   \
    "https://kubernetes.io/docs/concepts/services-networking/service/"
#define D_EP_SUBSETS                                                                                         \
    "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according "     \
    "to the IPs they share. A single address with multiple ports, some of which are ready and some of "      \
    "which are not (because they come from different containers) will result in the address being "          \
    "displayed in different subsets for the different ports. No address will appear in both Addresses "      \
    "and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service."
#define D_KUBELET "Kubelet Version reported by the node."
#define D_ADDRS                                                                                              \
    "List of addresses reachable to the node. Queried from cloud provider, if available. More info: "        \
    "https://kubernetes.io/docs/concepts/nodes/node/#addresses Note: This field is declared as "             \
    "mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it "      \
    "is merged. Callers should instead use a full-replacement patch. See http://pr.k8s.io/79391 for an "     \
    "example."
#define D_OSIMG "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."
#define D_KERNEL "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."
#define D_CRT                                                                                                \
    "ContainerRuntime Version reported by the node through runtime remote API (e.g. docker://1.5.0)."
#define D_EV_LAST "The time at which the most recent occurrence of this event was recorded."
#define D_EV_TYPE "Type of this event (Normal, Warning), new types could be added in the future"
#define D_EV_REASON                                                                                          \
    "This should be a short, machine understandable string that gives the reason for the transition "        \
    "into the object's current status."
#define D_EV_OBJ "The object that this event is about."
#define D_EV_FIELDPATH                                                                                       \
    "If referring to a piece of an object instead of an entire object, this string should contain a "        \
    "valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, "       \
    "if the object reference is to a container within a pod, this would take on a value like: "              \
    "\"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the "      \
    "event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in "         \
    "this pod). This syntax is chosen only to have some well-defined way of referencing a part of an "       \
    "object."
#define D_EV_SOURCE "The component reporting this event. Should be a short machine understandable string."
#define D_EV_MSG "A human-readable description of the status of this operation."
#define D_EV_FIRST "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"
#define D_EV_COUNT "The number of times this event has occurred."
#define D_SECRET_TYPE "Used to facilitate programmatic handling of secret data."
#define D_SECRET_DATA                                                                                        \
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. "     \
    "The serialized form of the secret data is a base64 encoded string, representing the arbitrary "         \
    "(possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4"
#define D_SA_SECRETS                                                                                         \
    "Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount. More "     \
    "info: https://kubernetes.io/docs/concepts/configuration/secret"
#define D_PV_CAP                                                                                             \
    "A description of the persistent volume's resources and capacity. More info: "                           \
    "https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity"
#define D_PV_MODES                                                                                           \
    "AccessModes contains all ways the volume can be mounted. More info: "                                   \
    "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes"
#define D_PV_RECLAIM                                                                                         \
    "What happens to a persistent volume when released from its claim. Valid options are Retain "            \
    "(default for manually created PersistentVolumes), Delete (default for dynamically provisioned "         \
    "PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin "          \
    "underlying this PersistentVolume. More info: "                                                          \
    "https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming"
#define D_PV_PHASE                                                                                           \
    "Phase indicates if a volume is available, bound to a claim, or released by a claim. More info: "        \
    "https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase"
#define D_PV_CLAIM                                                                                           \
    "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. "      \
    "Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. "     \
    "More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding"
#define D_PV_REASON                                                                                          \
    "Reason is a brief CamelCase string that describes any failure and is meant for machine parsing "        \
    "and tidy display in the CLI."
#define D_PV_VMODE                                                                                           \
    "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in "     \
    "raw block state. Value of Filesystem is implied when not included in spec."
#define D_PVC_PHASE "Phase represents the current phase of PersistentVolumeClaim."
#define D_PVC_VOL "VolumeName is the binding reference to the PersistentVolume backing this claim."
#define D_PVC_CAP "Represents the actual resources of the underlying volume."
#define D_PVC_MODES                                                                                          \
    "AccessModes contains the actual access modes the volume backing the PVC has. More info: "               \
    "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1"
#define D_PVC_VMODE                                                                                          \
    "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied "       \
    "when not included in claim spec."
#define D_CM_DATA                                                                                            \
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' "      \
    "or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in "        \
    "Data must not overlap with the keys in the BinaryData field, this is enforced during validation "       \
    "process."
#define D_RS_REPLICAS                                                                                        \
    "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit "         \
    "zero and unspecified. Defaults to 1. More info: "                                                       \
    "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/"                       \
    "#what-is-a-replicationcontroller"
#define D_RS_SEL                                                                                             \
    "Selector is a label query over pods that should match the replica count. Label keys and values "        \
    "that must match in order to be controlled by this replica set. It must match the pod template's "       \
    "labels. More info: "                                                                                    \
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
#define D_RS_CUR                                                                                             \
    "Replicas is the most recently oberved number of replicas. More info: "                                  \
    "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/"                       \
    "#what-is-a-replicationcontroller"
#define D_RS_READY "The number of ready replicas for this replica set."
#define D_DS_DESIRED                                                                                         \
    "The total number of nodes that should be running the daemon pod (including nodes correctly "            \
    "running the daemon pod). More info: "                                                                   \
    "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
#define D_DS_CUR                                                                                             \
    "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon "         \
    "pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
#define D_DS_READY                                                                                           \
    "The number of nodes that should be running the daemon pod and have one or more of the daemon pod "      \
    "running and ready."
#define D_DS_UPD "The total number of nodes that are running updated daemon pod"
#define D_DS_AVAIL                                                                                           \
    "The number of nodes that should be running the daemon pod and have one or more of the daemon pod "      \
    "running and available (ready for at least spec.minReadySeconds)"
#define D_NODESEL                                                                                            \
    "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must "       \
    "match a node's labels for the pod to be scheduled on that node. More info: "                            \
    "https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"
#define D_DS_SEL                                                                                             \
    "A label query over pods that are managed by the daemon set. Must match in order to be controlled. "     \
    "It must match the pod template's labels. More info: "                                                   \
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
#define D_DEP_UPD                                                                                            \
    "Total number of non-terminated pods targeted by this deployment that have the desired template "        \
    "spec."
#define D_DEP_AVAIL                                                                                          \
    "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."
#define D_DEP_SEL                                                                                            \
    "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones "        \
    "affected by this deployment. It must match the pod template's labels."
#define D_CR_REV "Revision indicates the revision of the state represented by Data."
#define D_LEASE_HOLDER "holderIdentity contains the identity of the holder of a current lease."
#define D_SC_PROV "Provisioner indicates the type of the provisioner."
#define D_SC_RECLAIM                                                                                         \
    "Dynamically provisioned PersistentVolumes of this storage class are created with this "                 \
    "reclaimPolicy. Defaults to Delete."
#define D_SC_VBM                                                                                             \
    "VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.\n\nWhen "       \
    "unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the "          \
    "VolumeScheduling feature."
#define D_SC_AVE "AllowVolumeExpansion shows whether the storage class allow volume expand"
#define D_ES_ATYPE                                                                                           \
    "addressType specifies the type of address carried by this EndpointSlice. All addresses in this "        \
    "slice must be the same type. This field is immutable after creation. The following address types "      \
    "are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. "      \
    "* FQDN: Represents a Fully Qualified Domain Name."
#define D_ES_PORTS                                                                                           \
    "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must "      \
    "have a unique name. When ports is empty, it indicates that there are no defined ports. When a "         \
    "port is defined with a nil port value, it indicates \"all ports\". Each slice may include a "           \
    "maximum of 100 ports."
#define D_ES_EPS                                                                                             \
    "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 "       \
    "endpoints."

typedef struct column {
    const char *name, *type, *format, *description;
    int priority;
} column;

/* clang-format off */
#define NAME_COL {"Name", "string", "name", D_NAME, 0}
#define AGE_COL {"Age", "string", "", D_AGE, 0}
#define STR(n, d) {n, "string", "", d, 0}
#define INT(n, d) {n, "integer", "", d, 0}
#define WIDE(n, d) {n, "string", "", d, 1}
/* clang-format on */
#define CONTAINERS_COLS WIDE("Containers", D_CONTAINERS), WIDE("Images", D_IMAGES)

static const column namespace_cols[] = {NAME_COL, STR("Status", "The status of the namespace"), AGE_COL};
static const column pod_cols[] = {
    NAME_COL,
    STR("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    STR("Status", "The aggregate status of the containers in this pod."),
    STR("Restarts", "The number of times the containers in this pod have been restarted and when the last "
                    "container in this pod has restarted."),
    AGE_COL,
    WIDE("IP", D_POD_IP),
    WIDE("Node", D_NODE_NAME),
    WIDE("Nominated Node", D_NOMINATED),
    WIDE("Readiness Gates", D_RGATES),
};
static const column service_cols[] = {
    NAME_COL,
    STR("Type", D_SVC_TYPE),
    STR("Cluster-IP", D_SVC_CIP),
    STR("External-IP", D_SVC_EIPS),
    STR("Port(s)", D_SVC_PORTS),
    AGE_COL,
    WIDE("Selector", D_SVC_SEL),
};
static const column endpoints_cols[] = {NAME_COL, STR("Endpoints", D_EP_SUBSETS), AGE_COL};
static const column node_cols[] = {
    NAME_COL,
    STR("Status", "The status of the node"),
    STR("Roles", "The roles of the node"),
    AGE_COL,
    STR("Version", D_KUBELET),
    WIDE("Internal-IP", D_ADDRS),
    WIDE("External-IP", D_ADDRS),
    WIDE("OS-Image", D_OSIMG),
    WIDE("Kernel-Version", D_KERNEL),
    WIDE("Container-Runtime", D_CRT),
};
static const column configmap_cols[] = {NAME_COL, STR("Data", D_CM_DATA), AGE_COL};
static const column secret_cols[] = {NAME_COL, STR("Type", D_SECRET_TYPE), STR("Data", D_SECRET_DATA),
                                     AGE_COL};
static const column serviceaccount_cols[] = {NAME_COL, STR("Secrets", D_SA_SECRETS), AGE_COL};
static const column event_cols[] = {
    STR("Last Seen", D_EV_LAST),       STR("Type", D_EV_TYPE),
    STR("Reason", D_EV_REASON),        STR("Object", D_EV_OBJ),
    WIDE("Subobject", D_EV_FIELDPATH), WIDE("Source", D_EV_SOURCE),
    STR("Message", D_EV_MSG),          WIDE("First Seen", D_EV_FIRST),
    WIDE("Count", D_EV_COUNT),         {"Name", "string", "name", D_NAME, 1},
};
static const column pv_cols[] = {
    NAME_COL,
    STR("Capacity", D_PV_CAP),
    STR("Access Modes", D_PV_MODES),
    STR("Reclaim Policy", D_PV_RECLAIM),
    STR("Status", D_PV_PHASE),
    STR("Claim", D_PV_CLAIM),
    STR("StorageClass", "StorageClass of the pv"),
    STR("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    STR("Reason", D_PV_REASON),
    AGE_COL,
    WIDE("VolumeMode", D_PV_VMODE),
};
static const column pvc_cols[] = {
    NAME_COL,
    STR("Status", D_PVC_PHASE),
    STR("Volume", D_PVC_VOL),
    STR("Capacity", D_PVC_CAP),
    STR("Access Modes", D_PVC_MODES),
    STR("StorageClass", "StorageClass of the pvc"),
    STR("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    AGE_COL,
    WIDE("VolumeMode", D_PVC_VMODE),
};
static const column deployment_cols[] = {
    NAME_COL,
    STR("Ready", "Number of the pod with ready state"),
    STR("Up-to-date", D_DEP_UPD),
    STR("Available", D_DEP_AVAIL),
    AGE_COL,
    CONTAINERS_COLS,
    WIDE("Selector", D_DEP_SEL),
};
static const column replicaset_cols[] = {
    NAME_COL,
    INT("Desired", D_RS_REPLICAS),
    INT("Current", D_RS_CUR),
    INT("Ready", D_RS_READY),
    AGE_COL,
    CONTAINERS_COLS,
    WIDE("Selector", D_RS_SEL),
};
static const column statefulset_cols[] = {NAME_COL, STR("Ready", "Number of the pod with ready state"),
                                          AGE_COL, CONTAINERS_COLS};
static const column daemonset_cols[] = {
    NAME_COL,
    INT("Desired", D_DS_DESIRED),
    INT("Current", D_DS_CUR),
    INT("Ready", D_DS_READY),
    INT("Up-to-date", D_DS_UPD),
    INT("Available", D_DS_AVAIL),
    STR("Node Selector", D_NODESEL),
    AGE_COL,
    CONTAINERS_COLS,
    WIDE("Selector", D_DS_SEL),
};
static const column controllerrevision_cols[] = {NAME_COL, STR("Controller", "Controller of the object"),
                                                 STR("Revision", D_CR_REV), AGE_COL};
#define D_PC_VALUE                                                                                           \
    "value represents the integer value of this priority class. This is the actual priority that pods "      \
    "receive when they have the name of this class in their pod spec."
#define D_PC_GLOBAL                                                                                          \
    "globalDefault specifies whether this PriorityClass should be considered as the default priority for "   \
    "pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. "    \
    "However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the "    \
    "smallest value of such global default PriorityClasses will be used as the default priority."
#define D_PC_PREEMPT                                                                                         \
    "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, "                 \
    "PreemptLowerPriority. Defaults to PreemptLowerPriority if unset."
static const column priorityclass_cols[] = {
    NAME_COL, INT("Value", D_PC_VALUE), {"Global-Default", "boolean", "", D_PC_GLOBAL, 0}, AGE_COL,
    STR("PreemptionPolicy", D_PC_PREEMPT),
};
static const column storageclass_cols[] = {
    NAME_COL,
    STR("Provisioner", D_SC_PROV),
    STR("ReclaimPolicy", D_SC_RECLAIM),
    STR("VolumeBindingMode", D_SC_VBM),
    STR("AllowVolumeExpansion", D_SC_AVE),
    AGE_COL,
};
#define D_PDB_MIN "The minimum number of pods that must be available, as a number or a percentage."
#define D_PDB_MAX "The maximum number of pods that may be unavailable, as a number or a percentage."
#define D_PDB_ALLOWED "Number of pod disruptions that are currently allowed."
static const column pdb_cols[] = {NAME_COL, STR("Min Available", D_PDB_MIN), STR("Max Unavailable", D_PDB_MAX),
                                  INT("Allowed Disruptions", D_PDB_ALLOWED), AGE_COL};
static const column lease_cols[] = {NAME_COL, STR("Holder", D_LEASE_HOLDER), AGE_COL};
static const column endpointslice_cols[] = {NAME_COL, STR("AddressType", D_ES_ATYPE),
                                            STR("Ports", D_ES_PORTS), STR("Endpoints", D_ES_EPS), AGE_COL};
static const column default_cols[] = {NAME_COL, {"Created At", "date", "", D_AGE, 0}};

/* ---- the printer registry ------------------------------------------------------------------- */

typedef void (*printer_fn)(json_t *cells, json_t *obj, time_t now);

typedef struct printer {
    const char *group, *kind;
    const column *cols;
    size_t ncols;
    printer_fn print;
} printer;

/* clang-format off */
#define PRINTER(g, k, cols, fn) {g, k, cols, sizeof cols / sizeof cols[0], fn}
/* clang-format on */

static const printer printers[] = {
    PRINTER("", "Namespace", namespace_cols, print_namespace),
    PRINTER("", "Pod", pod_cols, print_pod),
    PRINTER("", "Service", service_cols, print_service),
    PRINTER("", "Endpoints", endpoints_cols, print_endpoints),
    PRINTER("", "Node", node_cols, print_node),
    PRINTER("", "ConfigMap", configmap_cols, print_configmap),
    PRINTER("", "Secret", secret_cols, print_secret),
    PRINTER("", "ServiceAccount", serviceaccount_cols, print_serviceaccount),
    PRINTER("", "Event", event_cols, print_event),
    PRINTER("events.k8s.io", "Event", event_cols, print_event_v1),
    PRINTER("", "PersistentVolume", pv_cols, print_pv),
    PRINTER("", "PersistentVolumeClaim", pvc_cols, print_pvc),
    PRINTER("apps", "Deployment", deployment_cols, print_deployment),
    PRINTER("apps", "ReplicaSet", replicaset_cols, print_replicaset),
    PRINTER("apps", "StatefulSet", statefulset_cols, print_statefulset),
    PRINTER("apps", "DaemonSet", daemonset_cols, print_daemonset),
    PRINTER("apps", "ControllerRevision", controllerrevision_cols, print_controllerrevision),
    PRINTER("storage.k8s.io", "StorageClass", storageclass_cols, print_storageclass),
    PRINTER("scheduling.k8s.io", "PriorityClass", priorityclass_cols, print_priorityclass),
    PRINTER("coordination.k8s.io", "Lease", lease_cols, print_lease),
    PRINTER("policy", "PodDisruptionBudget", pdb_cols, print_pdb),
    PRINTER("discovery.k8s.io", "EndpointSlice", endpointslice_cols, print_endpointslice),
};

static const printer default_printer = PRINTER("", "", default_cols, print_default);

/* The printer for resource index res: by group and kind, the default convertor otherwise. */
static const printer *printer_for(int res)
{
    if (res < 0 || (size_t)res >= kc_nresources) return NULL;
    const kc_resource *r = &kc_resources[res];
    for (size_t i = 0; i < sizeof printers / sizeof printers[0]; i++)
        if (!strcmp(printers[i].group, r->group) && !strcmp(printers[i].kind, r->kind)) return &printers[i];
    return &default_printer;
}

json_t *kc_table_columns(int res)
{
    const printer *p = printer_for(res);
    if (!p) return NULL;
    json_t *cols = json_array();
    for (size_t i = 0; i < p->ncols; i++) {
        const column *c = &p->cols[i];
        json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name, "type", c->type,
                                              "format", c->format, "description", c->description, "priority",
                                              c->priority));
    }
    return cols;
}

json_t *kc_table_cells(int res, json_t *obj, time_t now)
{
    const printer *p = printer_for(res);
    if (!p || !json_is_object(obj)) return NULL;
    json_t *cells = json_array();
    p->print(cells, obj, now);
    return cells;
}
