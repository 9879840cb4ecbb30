/* EndpointSlice reconciler (semantics 5.7; upstream k8s.io/endpointslice reconciler.go), pure:
 * given a Service, the endpoints it wants grouped by port set, and its existing slices, decide
 * which slices to create, update and delete with the least churn. The controller
 * (endpointslice.c) builds the input from its informers and performs the plan; the unit tests
 * drive the planner directly. */
#ifndef KC_CONTROLLERS_ENDPOINTSLICE_INT_H
#define KC_CONTROLLERS_ENDPOINTSLICE_INT_H
#include "controllers/endpoints_int.h"

#define KC_ES_MAX_PER_SLICE 100 /* --max-endpoints-per-slice */
#define KC_ES_CONTROLLER "endpointslice-controller.k8s.io"
#define KC_ES_SERVICE_LABEL "kubernetes.io/service-name"
#define KC_ES_MANAGED_LABEL "endpointslice.kubernetes.io/managed-by"

/* One desired endpoint: its JSON and identity (addresses, hostname, pod namespace/name). */
typedef struct kc_es_want {
    json_t *ep;
    char *id;
    bool placed;
} kc_es_want;

/* The desired endpoints sharing one port set (ports as they go into a slice). */
typedef struct kc_es_group {
    json_t *ports; /* array */
    char *key;     /* canonical text of the port set */
    kc_es_want *v;
    size_t n, cap, left; /* left: not yet placed */
    kc_map ids;          /* id -> want */
} kc_es_group;

typedef struct kc_es_desired {
    kc_es_group *g;
    size_t n, cap;
} kc_es_desired;

void kc_es_desired_release(kc_es_desired *d);
void kc_es_group_release(kc_es_group *g);
/* The group of this port set (ports taken), created when new. */
kc_es_group *kc_es_group_for(kc_es_desired *d, json_t *ports);
/* Adds an endpoint (taken) to a group; a second endpoint with the same identity replaces it. */
void kc_es_group_add(kc_es_group *g, json_t *ep);

/* getEndpointPorts: the EndpointPorts of a pod for a Service (empty for a headless Service
 * without ports; ports the pod cannot resolve are left out). New reference. */
json_t *kc_es_pod_ports(const kc_ep_svc *s, const kc_ep_pod *p);
/* podToEndpoint for one address type; zone may be NULL. New reference; NULL when the pod has no
 * address of that family. */
json_t *kc_es_pod_endpoint(const kc_ep_svc *s, const kc_ep_pod *p, bool ipv6, const char *zone);
/* Canonical text of a port set (sorted), for grouping. Owned. */
char *kc_es_ports_key(json_t *ports);
/* Identity of an endpoint (hashEndpoint). Owned. */
char *kc_es_endpoint_id(json_t *ep);

/* The plan: documents to create and to update (PUT), names to delete. */
typedef struct kc_es_plan {
    json_t *create; /* array of slice documents */
    json_t *update; /* array of slice documents (with their resourceVersion) */
    json_t *del;    /* array of the existing slice documents to delete */
} kc_es_plan;

typedef struct kc_es_input {
    const kc_ep_svc *svc;
    const char *address_type; /* "IPv4" / "IPv6" */
    const char *trigger;      /* last-change trigger time, "" for none */
    int max_per_slice;
    kc_es_desired *want;
    json_t **slices; /* existing slices of the Service managed by this controller (borrowed) */
    size_t nslices;
} kc_es_input;

/* reconcileByAddressType + finalize's create-to-update swap. Fills plan (new arrays). */
void kc_es_reconcile(const kc_es_input *in, kc_es_plan *plan);
void kc_es_plan_release(kc_es_plan *plan);

/* ---- the slice tracker (endpointslice_track.c; upstream's EndpointSliceTracker) ----
 * Per owner key ("ns/name" of the Service or mirrored Endpoints): the resourceVersion each slice
 * had after this controller's last write to it, or that it was deleted. It lets a controller skip
 * the events of its own writes and refuse to plan against a cache that has not seen them yet. */
typedef struct kc_es_tracker {
    pthread_mutex_t mu;
    kc_map owners; /* owner key -> its slices */
} kc_es_tracker;

void kc_es_tracker_init(kc_es_tracker *t);
void kc_es_tracker_release(kc_es_tracker *t);
/* A write of ours: slice name now at rev (deleting: we deleted it). */
void kc_es_tracker_wrote(kc_es_tracker *t, const char *owner, const char *name, uint64_t rev, bool deleting);
/* StaleSlices: a slice we wrote shows older in these cached slices, still shows after we deleted
 * it, or does not show at all yet. */
bool kc_es_tracker_stale(kc_es_tracker *t, const char *owner, kc_obj **slices, size_t n);
/* ShouldSync: false only for the exact revision of our own last write. */
bool kc_es_tracker_should_sync(kc_es_tracker *t, const char *owner, const kc_obj *slice);
/* HandleDeletion: forgets the slice; 1 when we had deleted it, 0 when someone else did, -1 when
 * it was not tracked. */
int kc_es_tracker_deleted(kc_es_tracker *t, const char *owner, const kc_obj *slice);
void kc_es_tracker_forget(kc_es_tracker *t, const char *owner);

/* EndpointsEqualBeyondHash: same nodeName, zone, conditions and targetRef (resourceVersion aside). */
bool kc_es_endpoint_same(json_t *a, json_t *b);

/* ---- mirroring (endpointslice_mirror_pack.c; upstream endpointslicemirroring) ---- */

#define KC_ESM_CONTROLLER "endpointslicemirroring-controller.k8s.io"
#define KC_ESM_MAX_PER_SUBSET 1000 /* --mirroring-max-endpoints-per-subset */
#define KC_ESM_SKIP_LABEL "endpointslice.kubernetes.io/skip-mirror"

/* Plans the mirrored slices of a user-made Endpoints (doc): one slice per address type and port
 * set, at most 1000 addresses of each subset, labels and annotations copied from the Endpoints.
 * slices: the existing mirrored slices (borrowed). *skipped counts addresses left out (invalid
 * IPs, or beyond 1000 in a subset). */
void kc_esm_reconcile(json_t *endpoints, json_t **slices, size_t n, kc_es_plan *plan, int *invalid,
                      int *skipped);

/* setEndpointSliceLabels: the labels a slice of s should carry. New reference. */
json_t *kc_es_labels(const kc_ep_svc *s);

#endif
