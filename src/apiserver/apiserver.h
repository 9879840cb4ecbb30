/* The API server: shared declarations of the apiserver module (not a public interface of kubec).
 *
 * One event loop (libh2o evloop) serves every connection; every write goes through the store's
 * single write path and is answered after the loop turn's group commit (store.h). Request
 * handling is split by concern: http.c (h2o glue, kc_req, replies), status.c (errors as Status),
 * discovery.c (version, discovery, openapi), handlers.c (CRUD, patch, subresources),
 * watch.c (watch streams), admit.c (object metadata rules on create/update/delete),
 * server.c (start-up, bootstrap objects, the loop). */
#ifndef KC_APISERVER_APISERVER_H
#define KC_APISERVER_APISERVER_H
#define H2O_USE_EPOLL 1
#define H2O_USE_LIBUV 0
#include "api/resource.h"
#include "apiserver/alloc.h"
#include "apiserver/metrics.h"
#include "client/client.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "store/store.h"
#include <h2o.h>
#include <stdbool.h>

#define KC_MAX_BODY (3 * 1024 * 1024)
#define KC_MAX_COMPONENTS 32

typedef struct kc_apiserver {
    kc_store *store;
    char *data_dir;
    char listen_host[64];
    int listen_port;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_linklist_t watchers;
    struct kc_inproc *inproc;
    size_t nwatchers;
    int stop; /* atomic: set by signals and other threads */
    uint64_t t_start;
    struct kc_component {
        void (*stop)(void *ud);
        void *ud;
    } components[KC_MAX_COMPONENTS];
    int ncomponents;
    struct {
        const struct kc_node_provider *ops;
        void *ud;
    } node_providers[4];
    int nproviders;
    kc_range svc_ips, node_ports; /* service.c */
    uint64_t alloc_seq;           /* ring position up to which deletions released their allocations */
    int components_stopped;
    bool protect_pvc, protect_pv; /* admit.c adds the protection finalizers (their controllers run) */
    int not_ready_toleration_s, unreachable_toleration_s; /* DefaultTolerationSeconds admission */
    kc_metrics *metrics; /* GET /metrics (metrics.c) */
    uint64_t turn;       /* loop turns so far (server.c); tells http.c whether a reply was written at once */
} kc_apiserver;

typedef struct kc_query {
    char *k, *v;
} kc_query;

/* One API request. Heap-allocated and reference counted: the h2o request holds one reference
 * until h2o disposes it (client gone or response sent); each pending store write holds one. */
typedef struct kc_req {
    int refs;
    h2o_req_t *h2o; /* NULL once h2o disposed the request */
    kc_apiserver *srv;
    char method[8];
    char *path;
    char **seg;
    int nseg;
    kc_query *q;
    int nq;
    const char *body; /* valid during synchronous handling only */
    size_t body_len;
    char *ctype, *accept;
    json_t *warnings; /* strings sent as Warning headers */
    void *ctx;        /* handler state for asynchronous completion */
    void (*ctx_free)(void *);
    bool replied;
    bool reply_scale;
    bool bad_path; /* a path segment decoded to NUL, "." or ".." */
    bool ssa;      /* a server-side apply: managedFields come from the apply, not from tracking */
    char *agent;   /* the User-Agent's product ("kubectl", "OpenAPI-Generator"), the default field manager */ /* answer writes with the autoscaling/v1 Scale view */
    struct kc_selection *sel; /* list/watch selectors, parsed on first use (list.c) */
    struct kc_icall *inproc;  /* set for in-process client requests (inproc.c) */
    kc_metrics_req mq;        /* labels learnt while routing (metrics.h) */
    uint64_t t0_ns, t1_ns;    /* CLOCK_MONOTONIC when h2o handed the request over; when the reply was sent */
    uint64_t reply_turn;      /* the loop turn of the reply (kc_apiserver.turn) */
} kc_req;

/* http.c */
const char *kc_req_query(const kc_req *r, const char *key);
bool kc_req_query_bool(const kc_req *r, const char *key); /* Go ParseBool: 1 t T TRUE true True */
bool kc_req_accepts(const kc_req *r, const char *needle);
int kc_check_query(const kc_req *r, kc_err *err); /* 400 for malformed bools and integers */
void kc_req_ref(kc_req *r);
void kc_req_unref(kc_req *r);
/* Replies with a body (taken: malloc'd) and content type. No-op if the client is gone. */
void kc_reply(kc_req *r, int code, const char *ctype, char *body, size_t len);
void kc_reply_json(kc_req *r, int code, json_t *doc); /* doc is taken */
void kc_reply_obj(kc_req *r, int code, const kc_obj *o);
int kc_http_listen(kc_apiserver *s, kc_err *err);
/* Fills method, path segments and query of a request (shared by HTTP and in-process). */
void kc_req_parse(kc_req *r, const char *method, const char *path, size_t plen, const char *query, size_t qlen);
void kc_route(kc_req *r);

/* inproc.c: the in-process transport of the client interface */
struct kc_inproc *kc_inproc_new(kc_apiserver *s);
extern const kc_transport_ops kc_inproc_ops;
void kc_inproc_complete(struct kc_icall *c, int code, char *body, size_t len, const kc_obj *obj);
void kc_inproc_complete_list(struct kc_icall *c, kc_obj **objs, size_t n, uint64_t rev);
bool kc_inproc_is_watch(const struct kc_icall *c);
void kc_inproc_watch_started(struct kc_icall *c, void *watcher);
void kc_inproc_watch_params(const struct kc_icall *c, kc_watch_cb *cb, void **ud);
void kc_http_init(kc_apiserver *s);

/* list.c */
void kc_selection_free(struct kc_selection *sel);

/* status.c: errors as metav1.Status. `res` may be NULL; name may be NULL. */
void kc_reply_err(kc_req *r, const kc_err *err, const kc_resource *res, const char *name);
char *kc_status_json(const kc_err *err, const kc_resource *res, const char *name, const char *kind);
/* Turns collected causes into the Invalid error for an object, with upstream's message shape. */
int kc_err_invalid(kc_err *err, const char *kind, const char *name);

/* discovery.c */
bool kc_discovery_route(kc_req *r);

/* handlers.c */
void kc_handle_resource(kc_req *r, int res, const char *ns, const char *name, const char *sub);
bool kc_ns_terminate_step(kc_apiserver *s); /* finishes terminating namespaces; true if it wrote */

/* watch.c */
void kc_watch_start(kc_req *r, int res, const char *ns);
void kc_watch_wake_all(void *srv);
void kc_watch_tick(kc_apiserver *s);

/* admit.c: object metadata on create/update; time formatting */
void kc_now_rfc3339(char out[32]);
void kc_new_uid(char out[37]);
void kc_random_suffix(char *out, size_t n);
/* Storage admission on create: protection finalizers on PVs/PVCs, the default StorageClass. */
void kc_admit_storage(kc_apiserver *s, const char *kind, json_t *doc);
/* Turns the finalizers on (as the pvc-protection / pv-protection controllers that remove them run). */
void kc_apiserver_set_storage_protection(kc_apiserver *s, bool pvc, bool pv);
/* Priority admission (admit.c): a new pod's priority from its PriorityClass (403 for an unknown
 * class or a conflicting priority), kept across updates; PriorityClass rules; built-in classes. */
int kc_admit_pod_priority(kc_apiserver *s, json_t *pod, kc_err *err);
void kc_admit_pod_priority_update(json_t *pod, json_t *old);
int kc_admit_priority_class(kc_apiserver *s, json_t *pc, json_t *old, kc_err *err);
int kc_admit_priority_class_delete(const char *name, kc_err *err); /* the built-in ones: 403 */
int kc_priority_bootstrap(kc_apiserver *s, kc_err *err);
/* DaemonSet strategy: the deprecated.daemonset.template.generation annotation (old NULL: create). */
void kc_admit_daemonset(json_t *ds, json_t *old);

/* server.c: start-up (store, bootstrap objects, listening socket), components, the loop.
 * Components (controllers, scheduler, simulated nodes) get in-process clients from
 * kc_apiserver_client, start their threads before kc_apiserver_serve, and register a stop
 * function that runs (on a separate thread, while the loop still serves) at shutdown. */
kc_apiserver *kc_apiserver_new(const char *data_dir, const char *listen, kc_err *err);
kc_client *kc_apiserver_client(kc_apiserver *s, const char *agent);
void kc_apiserver_add_component(kc_apiserver *s, void (*stop)(void *ud), void *ud);
int kc_apiserver_serve(kc_apiserver *s, kc_err *err); /* ready (kubeconfig written), loop until stopped */
void kc_apiserver_request_stop(kc_apiserver *s);
/* service.c: ClusterIP/NodePort ranges (defaults 10.96.0.0/12 and 30000-32767). */
int kc_apiserver_set_service_ranges(kc_apiserver *s, const char *cidr, const char *ports, kc_err *err);
/* The tolerationSeconds the admission gives pods for the not-ready / unreachable NoExecute taints
 * (--default-not-ready-toleration-seconds, --default-unreachable-toleration-seconds; 300 each). */
void kc_apiserver_set_default_tolerations(kc_apiserver *s, int not_ready_s, int unreachable_s);
int kc_service_allocate(kc_apiserver *s, json_t *svc, json_t *old, kc_err *err);
void kc_service_release(kc_apiserver *s, json_t *svc);
void kc_service_keep_allocated(json_t *svc, json_t *old);
void kc_service_released_by_events(kc_apiserver *s);
int kc_service_bootstrap(kc_apiserver *s, kc_err *err);
/* Registers a node provider (simulated nodes, agents) that answers pods/log and exec. */
void kc_apiserver_add_node_provider(kc_apiserver *s, const struct kc_node_provider *ops, void *ud);
void kc_apiserver_free(kc_apiserver *s);

#endif
