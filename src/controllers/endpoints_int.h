/* Pure rules shared by the Endpoints controller (endpoints.c) and the EndpointSlice controller
 * (endpointslice.c), semantics 5.5-5.7: which pods belong to a Service, how a Service port
 * resolves on one pod (named targetPorts per pod), the endpoint address of a pod, the Endpoints
 * subsets (repacked into upstream's canonical layout, truncated at 1000 addresses) and the
 * last-change trigger time, plus the per-revision caches and the pod label index both
 * controllers keep. Nothing here writes to the API: the unit tests drive the rules directly.
 * Framework types are not pulled in here (client/events.h clashes with store/store.h in tests). */
#ifndef KC_CONTROLLERS_ENDPOINTS_INT_H
#define KC_CONTROLLERS_ENDPOINTS_INT_H
#include "api/obj.h"
#include "client/informer.h"
#include "lib/map.h"
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define KC_EP_MAX_CAPACITY 1000 /* addresses in one Endpoints object (maxCapacity) */
#define KC_EP_TRIGGER "endpoints.kubernetes.io/last-change-trigger-time"
#define KC_EP_OVER_CAPACITY "endpoints.kubernetes.io/over-capacity"
#define KC_EP_HEADLESS "service.kubernetes.io/headless"

/* What both controllers read of one Service revision. doc is owned (one reference). */
typedef struct kc_ep_svc {
    json_t *doc;
    const char *ns, *name, *uid, *cluster_ip, *type, *created;
    json_t *selector, *ports, *labels; /* borrowed from doc; selector NULL when absent or empty */
    bool publish_not_ready, headless, ipv6, deleting;
} kc_ep_svc;

/* Fills s from a parsed Service (takes the reference). */
void kc_ep_svc_init(kc_ep_svc *s, json_t *doc);
void kc_ep_svc_release(kc_ep_svc *s);
/* The controllers leave ExternalName and selector-less Services alone. */
bool kc_ep_svc_managed(const kc_ep_svc *s);

/* What both controllers read of one pod revision. doc is owned (one reference). */
typedef struct kc_ep_pod {
    json_t *doc;
    const char *ns, *name, *uid, *node, *hostname, *subdomain;
    const char *ready_time; /* Ready condition lastTransitionTime, NULL without one */
    bool ready, terminating, terminal, has_ip;
} kc_ep_pod;

void kc_ep_pod_init(kc_ep_pod *p, json_t *doc);
void kc_ep_pod_release(kc_ep_pod *p);

/* Does a Service selector (a map of labels) select these pod labels? A NULL selector selects
 * nothing. */
bool kc_ep_selects(json_t *selector, json_t *labels);
/* ShouldPodBeInEndpoints: not terminal, has an IP, and (include_terminating or not deleting). */
bool kc_ep_pod_included(const kc_ep_pod *p, bool include_terminating);
/* ShouldSetHostname: hostname set and subdomain == service name in the same namespace. */
bool kc_ep_pod_hostname(const kc_ep_pod *p, const kc_ep_svc *s);
/* The first pod IP of the family (IPv6 or not), or NULL. */
const char *kc_ep_pod_ip(const kc_ep_pod *p, bool ipv6);
/* findPort: the container port a Service port (JSON) reaches on this pod: a numeric targetPort
 * as is; a named one from the containers (then restartable init containers) with that port name
 * and the Service port's protocol. Returns the port, or -1 when the pod has no such port. */
int kc_ep_find_port(json_t *pod_spec, json_t *svc_port);
/* Cheap digest of what an endpoint shows of a pod (IPs, readiness, deletion, hostname/subdomain,
 * node), to skip pod updates that change nothing for endpoints (podEndpointsChanged). Owned. */
char *kc_ep_pod_digest(const kc_ep_pod *p);

/* ---- Endpoints subsets ---- */

/* The subsets of the Endpoints of s (canonical: RepackSubsets), from the pods matching its
 * selector. *ready / *not_ready count addresses per port as upstream logs them. New reference. */
json_t *kc_ep_subsets(const kc_ep_svc *s, kc_ep_pod **pods, size_t n);
/* Truncates subsets to KC_EP_MAX_CAPACITY addresses the way upstream does (ready addresses
 * first, proportionally per subset); true when something was cut. */
bool kc_ep_truncate(json_t *subsets);
/* Total addresses (ready and not ready) in subsets. */
size_t kc_ep_count(json_t *subsets);

/* ---- last-change trigger time (endpointslice/util TriggerTimeTracker) ---- */

typedef struct kc_ep_trigger {
    pthread_mutex_t mu;
    kc_map svcs; /* "ns/name" -> state */
} kc_ep_trigger;

void kc_ep_trigger_init(kc_ep_trigger *t);
void kc_ep_trigger_release(kc_ep_trigger *t);
/* The time to export as the trigger-time annotation (copied into out; "" for none): the
 * Service's creation on its first sync, else the earliest pod Ready transition (or Service
 * creation) that changed since the previous call for this Service. */
void kc_ep_trigger_compute(kc_ep_trigger *t, const kc_ep_svc *s, kc_ep_pod **pods, size_t n, char out[64]);
void kc_ep_trigger_forget(kc_ep_trigger *t, const char *ns, const char *name);

/* The Service labels with the headless label added (no cluster IP) or removed. New reference. */
json_t *kc_ep_labels(const kc_ep_svc *s);

/* ---- Service selectors by revision (pod events test every Service of a namespace) ---- */

typedef struct kc_ep_selcache {
    pthread_mutex_t mu;
    kc_map m; /* service key -> entry */
} kc_ep_selcache;

void kc_ep_selcache_init(kc_ep_selcache *c);
void kc_ep_selcache_release(kc_ep_selcache *c);
/* Does Service svc (its selector cached per revision) select these labels? */
bool kc_ep_selcache_match(kc_ep_selcache *c, const kc_obj *svc, json_t *labels);
void kc_ep_selcache_forget(kc_ep_selcache *c, const char *key);

/* ---- pod facts by revision (a sync reads every selected pod; parsing each every time costs) ---- */

typedef struct kc_ep_podcache {
    pthread_mutex_t mu;
    kc_map m; /* pod key -> entry of its latest revision seen */
} kc_ep_podcache;

void kc_ep_podcache_init(kc_ep_podcache *c);
void kc_ep_podcache_release(kc_ep_podcache *c);
/* Facts of pod o; out->doc is a trimmed copy (only what endpoints read) shared with the cache:
 * read-only, one reference for the caller (kc_ep_pod_release). Parsed once per revision. */
void kc_ep_podcache_get(kc_ep_podcache *c, const kc_obj *o, kc_ep_pod *out);
void kc_ep_podcache_forget(kc_ep_podcache *c, const char *key);

/* Pod index "label": one key per label, "<ns>\x1f<key>=<value>" (an object with more labels than
 * the informer keeps keys for is filed under "<ns>\x1f*" instead). kc_ep_selected reads it to find
 * the pods of a namespace a Service selector matches without scanning the namespace. */
#define KC_EP_LABEL_INDEX "label"
size_t kc_ep_label_index(const kc_obj *o, char **keys, size_t max);
/* The pods of namespace ns matching selector (references; kc_objv_free). */
size_t kc_ep_selected(kc_informer *pods, const char *ns, json_t *selector, kc_obj ***out);

/* Parsed documents of Endpoints or EndpointSlices by revision (read-only, shared). */
typedef struct kc_ep_doccache {
    pthread_mutex_t mu;
    kc_map m;
} kc_ep_doccache;

void kc_ep_doccache_init(kc_ep_doccache *c);
void kc_ep_doccache_release(kc_ep_doccache *c);
/* The parsed document of o (a new reference; do not modify it). */
json_t *kc_ep_doccache_get(kc_ep_doccache *c, const kc_obj *o);
void kc_ep_doccache_forget(kc_ep_doccache *c, const char *key);

/* podEndpointsChanged over two revisions of a pod: *changed when what an endpoint shows of it
 * moved, *relabeled when its labels (or hostname/subdomain) did. */
void kc_ep_pod_update(kc_ep_podcache *c, const kc_obj *old, const kc_obj *cur, bool *changed,
                      bool *relabeled);

/* The pod handlers the Endpoints and EndpointSlice controllers share: a pod event queues the
 * Services of its namespace that select the pod (before or after the change); a pod no Service
 * selects costs nothing, its document is not even parsed. */
typedef struct kc_ep_feed {
    kc_informer *svcs; /* Services, indexed by "ns" */
    kc_ep_selcache *sels;
    kc_ep_podcache *podc;
    struct kc_controller *ctl;
} kc_ep_feed;
void kc_ep_feed_add(const kc_ep_feed *f, const kc_obj *pod);
void kc_ep_feed_delete(const kc_ep_feed *f, const kc_obj *pod);
void kc_ep_feed_update(const kc_ep_feed *f, const kc_obj *old, const kc_obj *cur);

#endif
