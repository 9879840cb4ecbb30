/* The scheduler's view of a pod, parsed once per object version on the informer thread: what
 * it requests, where it may go (tolerations, node selector and affinity, pod (anti-)affinity,
 * topology spread), its host ports, priority and current PodScheduled condition. Owns the
 * parsed pieces; the kc_obj (identity, labels) is a shared reference. */
#include "lib/xalloc.h"
#include "scheduler/sched.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int parse_effect(const char *e)
{
    if (!e || !*e) return 0;
    if (!strcmp(e, "NoSchedule")) return KC_SCHED_NOSCHEDULE;
    if (!strcmp(e, "PreferNoSchedule")) return KC_SCHED_PREFER;
    if (!strcmp(e, "NoExecute")) return KC_SCHED_NOEXECUTE;
    return KC_SCHED_EFFECT_OTHER;
}

int kc_sched_parse_effect(const char *e)
{
    return parse_effect(e);
}

static void parse_tolerations(kc_sched_pod *p, json_t *arr)
{
    p->tols = kc_sched_array(json_array_size(arr), sizeof *p->tols);
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        kc_sched_toleration *o = &p->tols[p->ntols++];
        const char *op = jstr(t, "operator") ?: "";
        o->key = xstrdup(jstr(t, "key") ?: "");
        o->value = xstrdup(jstr(t, "value") ?: "");
        o->exists = !strcmp(op, "Exists");
        o->bad_op = *op && !o->exists && strcmp(op, "Equal");
        o->effect = parse_effect(jstr(t, "effect"));
    }
}

static void add_ports(kc_sched_pod *p, json_t *containers, bool sidecars_only, size_t *cap)
{
    size_t i, k;
    json_t *c, *port;
    json_array_foreach(containers, i, c)
    {
        if (sidecars_only && strcmp(jstr(c, "restartPolicy") ?: "", "Always")) continue;
        json_array_foreach(json_object_get(c, "ports"), k, port)
        {
            int hp = (int)json_integer_value(json_object_get(port, "hostPort"));
            if (hp <= 0) continue;
            if (p->nports == *cap) p->ports = xrealloc(p->ports, (*cap = *cap * 2 + 4) * sizeof *p->ports);
            kc_sched_port *o = &p->ports[p->nports++];
            snprintf(o->ip, sizeof o->ip, "%s",
                     *(jstr(port, "hostIP") ?: "") ? jstr(port, "hostIP") : "0.0.0.0");
            snprintf(o->proto, sizeof o->proto, "%s",
                     *(jstr(port, "protocol") ?: "") ? jstr(port, "protocol") : "TCP");
            o->port = hp;
        }
    }
}

static void parse_affinity(kc_sched_pod *p, json_t *aff, json_t *labels)
{
    json_t *na = json_object_get(aff, "nodeAffinity");
    json_t *req = json_object_get(na, "requiredDuringSchedulingIgnoredDuringExecution");
    p->has_req_affinity = json_is_object(req);
    p->req_terms = kc_sched_nterms_parse(json_object_get(req, "nodeSelectorTerms"), false, &p->nreq_terms);
    p->pref_terms = kc_sched_nterms_parse(
        json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution"), true, &p->npref_terms);
    json_t *pa = json_object_get(aff, "podAffinity"), *pn = json_object_get(aff, "podAntiAffinity");
    const char *rq = "requiredDuringSchedulingIgnoredDuringExecution";
    const char *pf = "preferredDuringSchedulingIgnoredDuringExecution";
    p->aff = kc_sched_pterms_parse(json_object_get(pa, rq), false, p->ns, labels, &p->naff);
    p->anti = kc_sched_pterms_parse(json_object_get(pn, rq), false, p->ns, labels, &p->nanti);
    p->paff = kc_sched_pterms_parse(json_object_get(pa, pf), true, p->ns, labels, &p->npaff);
    p->panti = kc_sched_pterms_parse(json_object_get(pn, pf), true, p->ns, labels, &p->npanti);
}

static bool policy_honor(json_t *c, const char *k, bool dflt)
{
    const char *v = jstr(c, k);
    return v ? !strcmp(v, "Honor") : dflt;
}

static void parse_spread(kc_sched_pod *p, json_t *arr, json_t *labels)
{
    p->spread = kc_sched_array(json_array_size(arr), sizeof *p->spread);
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
    {
        kc_sched_spread *s = &p->spread[p->nspread++];
        s->max_skew = (int)json_integer_value(json_object_get(c, "maxSkew"));
        s->min_domains = json_is_integer(json_object_get(c, "minDomains"))
                             ? (int)json_integer_value(json_object_get(c, "minDomains"))
                             : 1;
        s->key = xstrdup(jstr(c, "topologyKey") ?: "");
        s->hard = strcmp(jstr(c, "whenUnsatisfiable") ?: "DoNotSchedule", "ScheduleAnyway") != 0;
        s->sel = kc_sched_selector(json_object_get(c, "labelSelector"), json_object_get(c, "matchLabelKeys"),
                                   NULL, labels);
        s->honor_affinity = policy_honor(c, "nodeAffinityPolicy", true);
        s->honor_taints = policy_honor(c, "nodeTaintsPolicy", false);
    }
}

static void parse_condition(kc_sched_pod *p, json_t *status)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        if (strcmp(jstr(c, "type") ?: "", "PodScheduled")) continue;
        p->cond_status = xstrdup(jstr(c, "status") ?: "");
        p->cond_reason = xstrdup(jstr(c, "reason") ?: "");
        p->cond_msg = xstrdup(jstr(c, "message") ?: "");
        p->cond_ltt = xstrdup(jstr(c, "lastTransitionTime") ?: "");
    }
}

static void parse_owner(kc_sched_pod *p, json_t *md)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(md, "ownerReferences"), i, o)
    {
        if (!json_is_true(json_object_get(o, "controller"))) continue;
        const char *api = jstr(o, "apiVersion") ?: "";
        p->owner_kind = xstrdup(strcmp(api, "apps/v1") ? "" : jstr(o, "kind") ?: "");
        p->owner_name = xstrdup(jstr(o, "name") ?: "");
        return;
    }
}

/* FNV-1a of the parts whose change may make an unschedulable pod schedulable. */
static uint64_t spec_hash(json_t *doc)
{
    json_t *md = json_object_get(doc, "metadata");
    json_t *parts[] = {json_object_get(doc, "spec"), json_object_get(md, "labels"),
                       json_object_get(md, "annotations")};
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 3; i++) {
        char *s = parts[i] ? json_dumps(parts[i], JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        for (const char *c = s ? s : "-"; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        free(s);
    }
    return h;
}

static void parse_spec(kc_sched_pod *p, json_t *doc)
{
    json_t *spec = json_object_get(doc, "spec"), *labels = p->obj->labels;
    const char *sn = jstr(spec, "schedulerName");
    p->responsible = !sn || !*sn || !strcmp(sn, "default-scheduler");
    p->gated = json_array_size(json_object_get(spec, "schedulingGates")) > 0;
    p->priority = (int32_t)json_integer_value(json_object_get(spec, "priority"));
    p->preempt_never = !strcmp(jstr(spec, "preemptionPolicy") ?: "", "Never");
    kc_sched_pod_requests(spec, false, &p->req);
    kc_sched_pod_requests(spec, true, &p->nonzero);
    for (int i = 0; i < p->req.nscalar; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "Insufficient %s", p->req.scalar[i].name);
        p->insufficient[i] = kc_sched_intern(buf);
    }
    size_t cap = 0;
    add_ports(p, json_object_get(spec, "containers"), false, &cap);
    add_ports(p, json_object_get(spec, "initContainers"), true, &cap);
    parse_tolerations(p, json_object_get(spec, "tolerations"));
    json_t *ns = json_object_get(spec, "nodeSelector");
    p->node_selector = json_is_object(ns) && json_object_size(ns) ? json_incref(ns) : NULL;
    parse_affinity(p, json_object_get(spec, "affinity"), labels);
    parse_spread(p, json_object_get(spec, "topologySpreadConstraints"), labels);
}

kc_sched_pod *kc_sched_pod_new(const kc_obj *obj)
{
    kc_sched_pod *p = xcalloc(1, sizeof *p);
    kc_obj_ref(obj);
    p->obj = (kc_obj *)obj;
    p->key = obj->key, p->ns = obj->ns, p->name = obj->name;
    p->deleting = obj->deleting;
    json_t *doc = kc_obj_parse(obj);
    p->node_name = xstrdup(jstr(json_object_get(doc, "spec"), "nodeName") ?: "");
    p->nominated = xstrdup(jstr(json_object_get(doc, "status"), "nominatedNodeName") ?: "");
    const char *phase = jstr(json_object_get(doc, "status"), "phase") ?: "";
    p->terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
    parse_spec(p, doc);
    parse_owner(p, json_object_get(doc, "metadata"));
    parse_condition(p, json_object_get(doc, "status"));
    if (!p->node_name[0]) p->spec_hash = spec_hash(doc);
    json_decref(doc);
    return p;
}

kc_sched_pod *kc_sched_pod_from_json(json_t *doc)
{
    int res = kc_resource_find("", "v1", "pods");
    kc_obj *o = kc_obj_build(res, doc);
    kc_sched_pod *p = kc_sched_pod_new(o);
    kc_obj_unref(o);
    return p;
}

bool kc_sched_pod_has_affinity(const kc_sched_pod *p)
{
    return p->naff || p->nanti || p->npaff || p->npanti;
}

void kc_sched_pod_free(kc_sched_pod *p)
{
    if (!p) return;
    free(p->node_name);
    free(p->nominated);
    free(p->ports);
    for (size_t i = 0; i < p->ntols; i++)
        free(p->tols[i].key), free(p->tols[i].value);
    free(p->tols);
    json_decref(p->node_selector);
    kc_sched_nterms_free(p->req_terms, p->nreq_terms);
    kc_sched_nterms_free(p->pref_terms, p->npref_terms);
    kc_sched_pterms_free(p->aff, p->naff);
    kc_sched_pterms_free(p->anti, p->nanti);
    kc_sched_pterms_free(p->paff, p->npaff);
    kc_sched_pterms_free(p->panti, p->npanti);
    for (size_t i = 0; i < p->nspread; i++)
        free(p->spread[i].key), kc_labelsel_free(p->spread[i].sel);
    free(p->spread);
    free(p->owner_kind), free(p->owner_name);
    free(p->cond_status), free(p->cond_reason), free(p->cond_msg), free(p->cond_ltt);
    kc_obj_unref(p->obj);
    free(p);
}
