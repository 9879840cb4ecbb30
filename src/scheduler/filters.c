/* Node-local filter plugins, pure functions of (pod, node), with upstream's reasons and codes:
 *
 *   NodeUnschedulable  "node(s) were unschedulable"                       unresolvable
 *   NodeName           "node(s) didn't match the requested node name"     unresolvable
 *   TaintToleration    "node(s) had untolerated taint(s)"                 unresolvable
 *   NodeAffinity       "node(s) didn't match Pod's node affinity/selector" unresolvable
 *   NodePorts          "node(s) didn't have free ports for the requested pod ports"
 *   NodeResourcesFit   "Too many pods", "Insufficient cpu", ... (all that apply)
 *
 * "Unresolvable" failures cannot be fixed by preempting pods (preempt.c relies on the code). */
#include "scheduler/sched.h"

const char KC_SCHED_ERR_NODE_NAME[] = "node(s) didn't match the requested node name";
const char KC_SCHED_ERR_UNSCHEDULABLE[] = "node(s) were unschedulable";
const char KC_SCHED_ERR_TAINT[] = "node(s) had untolerated taint(s)";
const char KC_SCHED_ERR_AFFINITY[] = "node(s) didn't match Pod's node affinity/selector";
const char KC_SCHED_ERR_PORTS[] = "node(s) didn't have free ports for the requested pod ports";

static int fail(kc_sched_status *st, int code, const char *reason)
{
    st->code = code;
    st->n = 1;
    st->reasons[0] = reason;
    return code;
}

static bool tolerates(const kc_sched_toleration *t, const kc_sched_taint *taint)
{
    if (t->effect && t->effect != taint->effect) return false;
    if (t->key[0] && strcmp(t->key, taint->key)) return false;
    if (t->bad_op) return false;
    return t->exists || !strcmp(t->value, taint->value);
}

bool kc_sched_tolerates(const kc_sched_toleration *t, size_t n, const kc_sched_taint *taint)
{
    for (size_t i = 0; i < n; i++)
        if (tolerates(&t[i], taint)) return true;
    return false;
}

int kc_sched_filter_unschedulable(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st)
{
    static const kc_sched_taint t = {"node.kubernetes.io/unschedulable", "", KC_SCHED_NOSCHEDULE};
    if (!n->unschedulable || kc_sched_tolerates(p->tols, p->ntols, &t)) return KC_SCHED_OK;
    return fail(st, KC_SCHED_UNRESOLVABLE, KC_SCHED_ERR_UNSCHEDULABLE);
}

int kc_sched_filter_node_name(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st)
{
    if (!p->node_name[0] || !strcmp(p->node_name, n->name)) return KC_SCHED_OK;
    return fail(st, KC_SCHED_UNRESOLVABLE, KC_SCHED_ERR_NODE_NAME);
}

bool kc_sched_tolerates_node(const kc_sched_pod *p, const kc_sched_node *n)
{
    for (size_t i = 0; i < n->ntaints; i++) {
        const kc_sched_taint *t = &n->taints[i];
        if (t->effect != KC_SCHED_NOSCHEDULE && t->effect != KC_SCHED_NOEXECUTE) continue;
        if (!kc_sched_tolerates(p->tols, p->ntols, t)) return false;
    }
    return true;
}

int kc_sched_filter_taints(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st)
{
    return kc_sched_tolerates_node(p, n) ? KC_SCHED_OK : fail(st, KC_SCHED_UNRESOLVABLE, KC_SCHED_ERR_TAINT);
}

bool kc_sched_required_affinity(const kc_sched_pod *p, const kc_sched_node *n)
{
    const char *k;
    json_t *v;
    json_object_foreach(p->node_selector, k, v)
    {
        const char *have = kc_sched_node_label(n, k);
        if (!have || strcmp(have, json_string_value(v) ?: "")) return false;
    }
    if (!p->has_req_affinity) return true;
    for (size_t i = 0; i < p->nreq_terms; i++)
        if (kc_sched_nterm_matches(&p->req_terms[i], n)) return true;
    return false;
}

int kc_sched_filter_node_affinity(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st)
{
    if (kc_sched_required_affinity(p, n)) return KC_SCHED_OK;
    return fail(st, KC_SCHED_UNRESOLVABLE, KC_SCHED_ERR_AFFINITY);
}

/* HostPortInfo.CheckConflict: 0.0.0.0 conflicts with every address of the same port/protocol. */
static bool port_conflict(const kc_sched_node *n, const kc_sched_port *p)
{
    bool any = !strcmp(p->ip, "0.0.0.0");
    for (size_t i = 0; i < n->nports; i++) {
        const kc_sched_port *u = &n->ports[i].p;
        if (u->port != p->port || strcmp(u->proto, p->proto)) continue;
        if (any || !strcmp(u->ip, "0.0.0.0") || !strcmp(u->ip, p->ip)) return true;
    }
    return false;
}

int kc_sched_filter_ports(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st)
{
    for (size_t i = 0; i < p->nports; i++)
        if (port_conflict(n, &p->ports[i])) return fail(st, KC_SCHED_UNSCHEDULABLE, KC_SCHED_ERR_PORTS);
    return KC_SCHED_OK;
}

static void add_reason(kc_sched_status *st, const char *r)
{
    st->code = KC_SCHED_UNSCHEDULABLE;
    if (st->n < KC_SCHED_MAX_REASONS) st->reasons[st->n++] = r;
}

/* fitsRequest: pod count first, then cpu, memory, ephemeral-storage, extended resources. */
int kc_sched_filter_fit(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st)
{
    const kc_sched_res *r = &p->req, *a = &n->alloc, *u = &n->requested;
    st->n = 0;
    st->code = KC_SCHED_OK;
    if ((int64_t)n->npods + 1 > n->max_pods) add_reason(st, "Too many pods");
    if (r->milli_cpu > 0 && r->milli_cpu > a->milli_cpu - u->milli_cpu) add_reason(st, "Insufficient cpu");
    if (r->memory > 0 && r->memory > a->memory - u->memory) add_reason(st, "Insufficient memory");
    if (r->ephemeral > 0 && r->ephemeral > a->ephemeral - u->ephemeral)
        add_reason(st, "Insufficient ephemeral-storage");
    for (int i = 0; i < r->nscalar; i++) {
        const char *name = r->scalar[i].name;
        int64_t want = r->scalar[i].v;
        if (want > 0 && want > kc_sched_res_scalar(a, name) - kc_sched_res_scalar(u, name))
            add_reason(st, p->insufficient[i]);
    }
    return st->code;
}

int kc_sched_filter_node(const kc_sched_pod *p, const kc_sched_node *n, kc_sched_status *st)
{
    int (*const filters[])(const kc_sched_pod *, const kc_sched_node *, kc_sched_status *) = {
        kc_sched_filter_unschedulable, kc_sched_filter_node_name, kc_sched_filter_taints,
        kc_sched_filter_node_affinity, kc_sched_filter_ports,     kc_sched_filter_fit,
    };
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
        int rc = filters[i](p, n, st);
        if (rc != KC_SCHED_OK) return rc;
    }
    return KC_SCHED_OK;
}
