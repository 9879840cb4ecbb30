/* Pod subresources: binding (the scheduler's way to assign a node), eviction (a delete that
 * honours PodDisruptionBudgets), log and exec (answered by the node that runs the pod: through
 * the internal node interface, client/nodeapi.h, for nodes in this process; through the node's
 * kubelet endpoint, nodeproxy.c, for nodes of other processes such as `kubec sim`). */
#include "apiserver/crud.h"
#include "apiserver/nodeproxy.h"
#include "api/selector.h"
#include "client/nodeapi.h"
#include "lib/xalloc.h"
#include <stdio.h>

static void reply_success(kc_req *r, int code)
{
    char *s = xmalloc(128);
    snprintf(s, 128, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\",\"code\":%d}",
             code);
    kc_reply(r, code, "application/json", s, strlen(s));
}

static void success_done(void *ud, const kc_obj *obj)
{
    kc_req *r = ud;
    (void)obj;
    reply_success(r, 201);
    kc_req_unref(r);
}

/* Sets (or replaces) the pod condition of a type, moving lastTransitionTime only on change. */
static void set_condition(json_t *pod, const char *type, const char *status, const char *reason)
{
    json_t *st = json_object_get(pod, "status");
    if (!json_is_object(st)) json_object_set_new(pod, "status", st = json_object());
    json_t *conds = json_object_get(st, "conditions"), *c;
    if (!json_is_array(conds)) json_object_set_new(st, "conditions", conds = json_array());
    char now[32];
    kc_now_rfc3339(now);
    size_t i;
    json_array_foreach(conds, i, c) if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", type))
    {
        if (strcmp(json_string_value(json_object_get(c, "status")) ?: "", status))
            json_object_set_new(c, "lastTransitionTime", json_string(now));
        json_object_set_new(c, "status", json_string(status));
        json_object_del(c, "reason"); /* the condition is replaced whole, as upstream does */
        json_object_del(c, "message");
        if (reason) json_object_set_new(c, "reason", json_string(reason));
        return;
    }
    c = json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", status, "lastProbeTime", "lastTransitionTime", now);
    if (reason) json_object_set_new(c, "reason", json_string(reason));
    json_array_append_new(conds, c);
}

static int bind_pod(kc_req *r, int res, const kc_obj *pod, kc_err *err)
{
    json_t *b;
    if (kc_body_parse(r, false, &b, err) < 0) return -1;
    const char *node = json_string_value(json_object_get(json_object_get(b, "target"), "name"));
    if (!node || !node[0]) {
        json_decref(b);
        kc_err_cause(err, "FieldValueRequired", "target.name", "Required value");
        return kc_err_invalid(err, "Binding", pod->name);
    }
    json_t *doc = kc_obj_parse(pod), *spec = json_object_get(doc, "spec");
    const char *cur = json_string_value(json_object_get(spec, "nodeName"));
    int rc = 0;
    if (cur && cur[0])
        rc = kc_errf(err, KC_ECONFLICT, "pod %s is already assigned to node \"%s\"", pod->name, cur);
    else if (pod->deleting)
        rc = kc_errf(err, KC_ECONFLICT, "pod %s is being deleted, cannot be assigned to a host", pod->name);
    if (rc == 0) {
        json_object_set_new(spec, "nodeName", json_string(node));
        set_condition(doc, "PodScheduled", "True", NULL);
        const kc_obj *out;
        rc = kc_store_write(r->srv->store, KC_WRITE_UPDATE, res, json_incref(doc), pod->rev, success_done, r, &out, err);
        if (rc == 0) kc_req_ref(r);
    }
    json_decref(doc);
    json_decref(b);
    return rc;
}

/* ---- eviction ---- */

static int intorpercent(json_t *v, int total, bool round_up)
{
    if (json_is_integer(v)) return (int)json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s) return -1;
    int pct = atoi(s);
    return round_up ? (pct * total + 99) / 100 : pct * total / 100;
}

static bool pod_ready(json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready"))
            return !strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True");
    }
    return false;
}

typedef struct pdbscan {
    kc_labelsel *sel;
    int expected, healthy;
} pdbscan;

static bool count_pod(void *ud, const kc_obj *o)
{
    pdbscan *p = ud;
    if (o->deleting || !kc_labelsel_match(p->sel, o->labels)) return true;
    const char *phase = kc_obj_field(o, "status.phase");
    if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) return true;
    json_t *d = kc_obj_parse(o);
    p->expected++;
    p->healthy += pod_ready(d);
    json_decref(d);
    return true;
}

typedef struct pdbcheck {
    kc_req *r;
    const kc_obj *pod;
    int pods_res;
    bool blocked;
    char name[256];
} pdbcheck;

/* Disruptions a budget allows now, computed from the pods it selects (what the disruption
 * controller keeps in status.disruptionsAllowed upstream). */
static bool check_pdb(void *ud, const kc_obj *pdb)
{
    pdbcheck *c = ud;
    json_t *d = kc_obj_parse(pdb), *spec = json_object_get(d, "spec");
    pdbscan scan = {NULL, 0, 0};
    kc_err err = KC_ERR_INIT;
    if (kc_labelsel_from_json(json_object_get(spec, "selector"), &scan.sel, &err) == 0 &&
        kc_labelsel_match(scan.sel, c->pod->labels)) {
        kc_store_list(c->r->srv->store, c->pods_res, c->pod->ns, NULL, 0, count_pod, &scan, &err);
        json_t *minav = json_object_get(spec, "minAvailable"), *maxun = json_object_get(spec, "maxUnavailable");
        int allowed = maxun ? intorpercent(maxun, scan.expected, true) - (scan.expected - scan.healthy)
                            : scan.healthy - intorpercent(minav, scan.expected, true);
        if (allowed < 1) {
            c->blocked = true;
            snprintf(c->name, sizeof c->name, "%s", pdb->name);
        }
    }
    kc_labelsel_free(scan.sel);
    kc_err_release(&err);
    json_decref(d);
    return !c->blocked;
}

static int evict(kc_req *r, int res, const kc_obj *pod, kc_err *err)
{
    json_t *ev;
    if (kc_body_parse(r, false, &ev, err) < 0) return -1;
    pdbcheck c = {r, pod, res, false, ""};
    const char *phase = kc_obj_field(pod, "status.phase");
    bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
    if (!terminal && !pod->deleting)
        kc_store_list(r->srv->store, kc_resource_find("policy", "v1", "poddisruptionbudgets"), pod->ns, NULL, 0,
                      check_pdb, &c, err);
    if (c.blocked) {
        json_decref(ev);
        kc_err_cause(err, "DisruptionBudget", "", "The disruption budget %s needs more healthy pods to allow this",
                     c.name);
        return kc_errf(err, KC_ETOOMANY, "Cannot evict pod as it would violate the pod's disruption budget.");
    }
    const kc_obj *out;
    json_t *opts = json_object_get(ev, "deleteOptions");
    int rc = kc_delete_object(r->srv, res, pod, opts, kc_dry_run(r), success_done, r, &out, err);
    json_decref(ev);
    if (rc < 0) return -1;
    if (out == pod) reply_success(r, 201); /* nothing written */
    else kc_req_ref(r);
    return 0;
}

/* ---- log and exec ---- */

static const struct kc_node_provider *provider(kc_apiserver *s, const char *node, void **ud)
{
    for (int i = 0; i < s->nproviders; i++)
        if (s->node_providers[i].ops->has_node(s->node_providers[i].ud, node)) {
            *ud = s->node_providers[i].ud;
            return s->node_providers[i].ops;
        }
    return NULL;
}

/* The container a log or exec request means: the named one, the only one, or the default. */
static int pick_container(kc_req *r, json_t *pod, const char *name, const char **out, kc_err *err)
{
    json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers"), *c;
    const char *want = kc_req_query(r, "container");
    if (!want || !want[0])
        want = json_string_value(json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                                                 "kubectl.kubernetes.io/default-container"));
    if ((!want || !want[0]) && json_array_size(cs) == 1) want = json_string_value(json_object_get(json_array_get(cs, 0), "name"));
    if (!want || !want[0]) {
        kc_buf b = KC_BUF_INIT;
        size_t i;
        json_array_foreach(cs, i, c) kc_buf_addf(&b, "%s%s", i ? " " : "", json_string_value(json_object_get(c, "name")));
        kc_errf(err, KC_EBADREQUEST, "a container name must be specified for pod %s, choose one of: [%s]", name,
                b.data ? b.data : "");
        kc_buf_release(&b);
        return -1;
    }
    size_t i;
    json_array_foreach(cs, i, c) if (!strcmp(json_string_value(json_object_get(c, "name")) ?: "", want))
    {
        *out = want;
        return 0;
    }
    return kc_errf(err, KC_EBADREQUEST, "container %s is not valid for pod %s", want, name);
}

/* ---- answers of a node's kubelet endpoint (nodeproxy.c), for nodes of other processes ---- */

/* A kubelet's error answer as kube-apiserver's GenericHttpResponseChecker turns it into a Status:
 * 400 and 404 carry the kubelet's text as the message, 500 as "Internal error occurred: ...". */
static void kubelet_err(const kc_kubelet_resp *k, kc_err *err)
{
    size_t n = k->len;
    while (n && (k->body[n - 1] == '\n' || k->body[n - 1] == ' ')) n--;
    if (k->code == 400 || k->code == 404)
        kc_errf(err, k->code == 400 ? KC_EBADREQUEST : KC_ENOTFOUND, "%.*s", (int)n, k->body);
    else if (n)
        kc_errf(err, KC_EINTERNAL, "Internal error occurred: %.*s", (int)n, k->body);
    else
        kc_errf(err, KC_EINTERNAL, "the server responded with the status code %d but did not return more information",
                k->code);
}

/* No answer at all: the Go client's error is not a Status, so kube-apiserver answers 500 with no
 * reason and the error's text, which kubectl prints as `Error from server: Get "...": dial tcp ...`. */
static void reply_unreachable(kc_req *r, const kc_kubelet_resp *k)
{
    char msg[1700];
    snprintf(msg, sizeof msg, "Get \"%s\": %s", k->url, k->neterr);
    kc_reply_json(r, 500, json_pack("{s:s,s:s,s:{},s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
                                    "status", "Failure", "message", msg, "code", 500));
}

static void logs_done(kc_req *r, const kc_kubelet_resp *k)
{
    if (k->code >= 200 && k->code <= 206) {
        char *text = xmalloc(k->len + 1);
        memcpy(text, k->body, k->len + 1);
        kc_reply(r, 200, "text/plain", text, k->len);
        return;
    }
    if (!k->code) {
        reply_unreachable(r, k);
        return;
    }
    kc_err err = KC_ERR_INIT;
    kubelet_err(k, &err);
    kc_reply_err(r, &err, NULL, NULL);
    kc_err_release(&err);
}

/* GET /containerLogs/{ns}/{pod}/{container} with the options the server understood. */
static int proxy_logs(kc_req *r, const char *node, const kc_obj *pod, const kc_log_opts *o, kc_err *err)
{
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "/containerLogs/%s/%s/%s?", pod->ns, pod->name, o->container);
    if (o->tail_lines >= 0) kc_buf_addf(&b, "tailLines=%ld&", o->tail_lines);
    if (o->limit_bytes >= 0) kc_buf_addf(&b, "limitBytes=%ld&", o->limit_bytes);
    if (o->timestamps) kc_buf_adds(&b, "timestamps=true&");
    if (o->previous) kc_buf_adds(&b, "previous=true&");
    if (kc_req_query_bool(r, "follow")) kc_buf_adds(&b, "follow=true&");
    b.data[--b.len] = 0; /* the last '&' or '?' */
    int rc = kc_nodeproxy_call(r, node, "GET", b.data, logs_done, err);
    kc_buf_release(&b);
    return rc;
}

static void exec_done(kc_req *r, const kc_kubelet_resp *k)
{
    kc_err err = KC_ERR_INIT;
    if (k->code == 0) /* kube-apiserver's words when it cannot reach the kubelet for a stream */
        kc_errf(&err, KC_EINTERNAL, "error dialing backend: %s", k->neterr);
    else if (k->code >= 200 && k->code < 300) /* a node that would run it: no streaming proxy yet */
        kc_errf(&err, KC_EBADREQUEST, "streaming exec through a node's kubelet endpoint is not supported yet");
    else
        kubelet_err(k, &err);
    if (!kc_ws_exec_fail(r, err.msg)) kc_reply_err(r, &err, NULL, NULL);
    kc_err_release(&err);
}

static int proxy_exec(kc_req *r, const char *node, const kc_obj *pod, const char *container, kc_err *err)
{
    char *path = xmalloc(strlen(pod->ns) + strlen(pod->name) + strlen(container) + 16);
    sprintf(path, "/exec/%s/%s/%s", pod->ns, pod->name, container);
    int rc = kc_nodeproxy_call(r, node, "POST", path, exec_done, err);
    free(path);
    return rc;
}

/* ---- log and exec ---- */

static int local_logs(kc_req *r, const struct kc_node_provider *p, void *ud, const char *node, const kc_obj *pod,
                      const kc_log_opts *o, kc_err *err)
{
    char *text;
    size_t len;
    int rc = p->logs(ud, node, pod->ns, pod->name, o, &text, &len, err);
    if (rc == 0) kc_reply(r, 200, "text/plain", text, len);
    return rc;
}

/* The node that runs the pod answers: an in-process provider at once, another process's kubelet
 * endpoint later (the reply is asynchronous). */
static int logs(kc_req *r, const kc_obj *pod, kc_err *err)
{
    json_t *d = kc_obj_parse(pod);
    const char *node = json_string_value(json_object_get(json_object_get(d, "spec"), "nodeName")), *container;
    int rc = pick_container(r, d, pod->name, &container, err);
    if (rc == 0 && (!node || !node[0]))
        rc = kc_errf(err, KC_EBADREQUEST, "pod %s does not have a host assigned", pod->name);
    if (rc == 0) {
        const char *tl = kc_req_query(r, "tailLines"), *lb = kc_req_query(r, "limitBytes");
        kc_log_opts o = {container, kc_req_query_bool(r, "timestamps"), kc_req_query_bool(r, "previous"),
                         tl ? atol(tl) : -1, lb ? atol(lb) : -1};
        void *ud = NULL;
        const struct kc_node_provider *p = provider(r->srv, node, &ud);
        rc = p ? local_logs(r, p, ud, node, pod, &o, err) : proxy_logs(r, node, pod, &o, err);
    }
    json_decref(d);
    return rc;
}

static int exec_cmd(kc_req *r, const kc_obj *pod, kc_err *err)
{
    json_t *d = kc_obj_parse(pod);
    const char *node = json_string_value(json_object_get(json_object_get(d, "spec"), "nodeName")), *container;
    void *ud = NULL;
    const struct kc_node_provider *p = NULL;
    int rc = pick_container(r, d, pod->name, &container, err);
    if (rc == 0 && (!node || !node[0]))
        rc = kc_errf(err, KC_EBADREQUEST, "pod %s does not have a host assigned", pod->name);
    else if (rc == 0 && (p = provider(r->srv, node, &ud)) && p->exec_unsupported(ud, node))
        rc = kc_errf(err, KC_EBADREQUEST, "%s", p->exec_unsupported(ud, node));
    else if (rc == 0 && p)
        rc = kc_errf(err, KC_EBADREQUEST, "exec is not supported by node %s yet", node);
    else if (rc == 0)
        rc = proxy_exec(r, node, pod, container, err);
    json_decref(d);
    if (rc < 0 && err->reason == KC_EBADREQUEST && kc_ws_exec_fail(r, err->msg)) {
        kc_err_release(err); /* answered on the WebSocket's error channel */
        return 0;
    }
    return rc;
}

void kc_handle_pod_sub(kc_req *r, int res, const char *ns, const char *name, const char *sub)
{
    kc_err err = KC_ERR_INIT;
    const kc_resource *rd = &kc_resources[res];
    const kc_obj *pod = kc_store_get(r->srv->store, res, ns, name);
    const char *m = r->method;
    bool post = !strcmp(m, "POST");
    int rc;
    if (!pod)
        rc = kc_errf(&err, KC_ENOTFOUND, "pods \"%s\" not found", name);
    else if (!strcmp(sub, "binding") && post)
        rc = bind_pod(r, res, pod, &err);
    else if (!strcmp(sub, "eviction") && post)
        rc = evict(r, res, pod, &err);
    else if (!strcmp(sub, "log") && !strcmp(m, "GET"))
        rc = logs(r, pod, &err);
    else if (!strcmp(sub, "exec") && (post || !strcmp(m, "GET")))
        rc = exec_cmd(r, pod, &err);
    else
        rc = kc_errf(&err, KC_EMETHOD, "the server does not allow this method on the requested resource");
    if (rc < 0) {
        kc_reply_err(r, &err, rd, name);
        kc_err_release(&err);
    }
}
