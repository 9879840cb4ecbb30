/* Affinity terms: node selector terms (NodeSelectorTerm: matchExpressions over node labels with
 * In/NotIn/Exists/DoesNotExist/Gt/Lt, matchFields over metadata.name) and pod affinity terms
 * (label selector + namespaces / namespaceSelector + topologyKey), parsed once per pod.
 *
 * As upstream: terms are ORed, requirements inside a term ANDed; an empty term, or one with an
 * invalid requirement (unknown operator, In with no values, Gt with a non-integer), matches no
 * node. A missing pod labelSelector selects nothing. */
#include "lib/xalloc.h"
#include "scheduler/sched.h"
#include <errno.h>

static int parse_op(const char *s)
{
    static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"};
    for (int i = 0; s && i < 6; i++)
        if (!strcmp(s, ops[i])) return i;
    return KC_SCHED_OP_BAD;
}

static bool parse_int(const char *s, long long *out)
{
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return !*end && !errno;
}

static void parse_req(json_t *j, kc_sched_req *r, bool field)
{
    r->key = xstrdup(json_string_value(json_object_get(j, "key")) ?: "");
    r->op = parse_op(json_string_value(json_object_get(j, "operator")));
    json_t *vals = json_object_get(j, "values"), *v;
    r->values = kc_sched_array(json_array_size(vals), sizeof *r->values);
    size_t i;
    json_array_foreach(vals, i, v) r->values[r->nvalues++] = xstrdup(json_string_value(v) ?: "");
    long long x;
    bool in = r->op == KC_SCHED_OP_IN || r->op == KC_SCHED_OP_NOTIN;
    bool ex = r->op == KC_SCHED_OP_EXISTS || r->op == KC_SCHED_OP_DNE;
    if ((in && !r->nvalues) || (ex && r->nvalues) ||
        (!in && !ex && (r->nvalues != 1 || !parse_int(r->values[0], &x))))
        r->op = KC_SCHED_OP_BAD;
    if (field && (!in || r->nvalues != 1 || strcmp(r->key, "metadata.name"))) r->op = KC_SCHED_OP_BAD;
}

static kc_sched_req *parse_reqs(json_t *arr, bool field, size_t *n)
{
    kc_sched_req *r = kc_sched_array(json_array_size(arr), sizeof *r);
    size_t i;
    json_t *j;
    json_array_foreach(arr, i, j) parse_req(j, &r[i], field);
    *n = json_array_size(arr);
    return r;
}

kc_sched_nterm *kc_sched_nterms_parse(json_t *arr, bool preferred, size_t *n)
{
    kc_sched_nterm *t = kc_sched_array(json_array_size(arr), sizeof *t);
    size_t i;
    json_t *j;
    json_array_foreach(arr, i, j)
    {
        json_t *term = preferred ? json_object_get(j, "preference") : j;
        t[i].weight = preferred ? (int)json_integer_value(json_object_get(j, "weight")) : 0;
        t[i].exprs = parse_reqs(json_object_get(term, "matchExpressions"), false, &t[i].nexprs);
        t[i].fields = parse_reqs(json_object_get(term, "matchFields"), true, &t[i].nfields);
    }
    *n = json_array_size(arr);
    return t;
}

static void reqs_free(kc_sched_req *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].key);
        for (size_t k = 0; k < r[i].nvalues; k++)
            free(r[i].values[k]);
        free(r[i].values);
    }
    free(r);
}

void kc_sched_nterms_free(kc_sched_nterm *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        reqs_free(t[i].exprs, t[i].nexprs);
        reqs_free(t[i].fields, t[i].nfields);
    }
    free(t);
}

static bool in_values(const kc_sched_req *r, const char *v)
{
    for (size_t i = 0; i < r->nvalues; i++)
        if (!strcmp(r->values[i], v)) return true;
    return false;
}

static bool req_matches(const kc_sched_req *r, const char *v)
{
    long long a, b;
    switch (r->op) {
    case KC_SCHED_OP_IN:
        return v && in_values(r, v);
    case KC_SCHED_OP_NOTIN:
        return !v || !in_values(r, v);
    case KC_SCHED_OP_EXISTS:
        return v != NULL;
    case KC_SCHED_OP_DNE:
        return v == NULL;
    case KC_SCHED_OP_GT:
    case KC_SCHED_OP_LT:
        if (!parse_int(v, &a) || !parse_int(r->values[0], &b)) return false;
        return r->op == KC_SCHED_OP_GT ? a > b : a < b;
    default:
        return false;
    }
}

bool kc_sched_nterm_matches(const kc_sched_nterm *t, const kc_sched_node *n)
{
    if (!t->nexprs && !t->nfields) return false;
    for (size_t i = 0; i < t->nexprs; i++)
        if (!req_matches(&t->exprs[i], kc_sched_node_label(n, t->exprs[i].key))) return false;
    for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].op == KC_SCHED_OP_BAD || !req_matches(&t->fields[i], n->name)) return false;
    return true;
}

/* ---- pod affinity terms ---- */

static void add_key_exprs(json_t *exprs, json_t *keys, json_t *labels, const char *op)
{
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        json_t *v = json_object_get(labels, json_string_value(k) ?: "");
        if (!json_is_string(v)) continue;
        json_array_append_new(exprs, json_pack("{s:O,s:s,s:[O]}", "key", k, "operator", op, "values", v));
    }
}

kc_labelsel *kc_sched_selector(json_t *sel, json_t *match_keys, json_t *mismatch_keys, json_t *labels)
{
    if (!json_is_object(sel)) return kc_labelsel_new_nothing();
    json_t *s = json_deep_copy(sel);
    if (json_array_size(match_keys) || json_array_size(mismatch_keys)) {
        json_t *exprs = json_object_get(s, "matchExpressions");
        if (!json_is_array(exprs)) json_object_set_new(s, "matchExpressions", exprs = json_array());
        add_key_exprs(exprs, match_keys, labels, "In");
        add_key_exprs(exprs, mismatch_keys, labels, "NotIn");
    }
    kc_labelsel *out = NULL;
    kc_err err = KC_ERR_INIT;
    if (kc_labelsel_from_json(s, &out, &err) < 0) out = kc_labelsel_new_nothing();
    kc_err_release(&err);
    json_decref(s);
    return out;
}

static void parse_pterm(json_t *j, const char *ns, json_t *labels, kc_sched_pterm *t)
{
    t->sel = kc_sched_selector(json_object_get(j, "labelSelector"), json_object_get(j, "matchLabelKeys"),
                               json_object_get(j, "mismatchLabelKeys"), labels);
    t->topology_key = xstrdup(json_string_value(json_object_get(j, "topologyKey")) ?: "");
    json_t *nss = json_object_get(j, "namespaces"), *nsel = json_object_get(j, "namespaceSelector"), *v;
    if (json_is_object(nsel)) t->ns_sel = kc_sched_selector(nsel, NULL, NULL, NULL);
    t->namespaces = xcalloc(json_array_size(nss) + 1, sizeof *t->namespaces);
    size_t i;
    json_array_foreach(nss, i, v) t->namespaces[t->nns++] = xstrdup(json_string_value(v) ?: "");
    if (!t->nns && !t->ns_sel) t->namespaces[t->nns++] = xstrdup(ns);
}

kc_sched_pterm *kc_sched_pterms_parse(json_t *arr, bool preferred, const char *ns, json_t *labels, size_t *n)
{
    kc_sched_pterm *t = kc_sched_array(json_array_size(arr), sizeof *t);
    size_t i;
    json_t *j;
    json_array_foreach(arr, i, j)
    {
        if (preferred) t[i].weight = (int)json_integer_value(json_object_get(j, "weight"));
        parse_pterm(preferred ? json_object_get(j, "podAffinityTerm") : j, ns, labels, &t[i]);
    }
    *n = json_array_size(arr);
    return t;
}

void kc_sched_pterms_free(kc_sched_pterm *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        kc_labelsel_free(t[i].sel);
        kc_labelsel_free(t[i].ns_sel);
        free(t[i].topology_key);
        for (size_t k = 0; k < t[i].nns; k++)
            free(t[i].namespaces[k]);
        free(t[i].namespaces);
    }
    free(t);
}

bool kc_sched_pterm_matches(const kc_sched_pterm *t, const kc_sched_pod *pod, json_t *ns_labels)
{
    bool ns_ok = false;
    for (size_t i = 0; i < t->nns && !ns_ok; i++)
        ns_ok = !strcmp(t->namespaces[i], pod->ns);
    if (!ns_ok && t->ns_sel) ns_ok = kc_labelsel_match(t->ns_sel, ns_labels);
    return ns_ok && kc_labelsel_match(t->sel, pod->obj->labels);
}
