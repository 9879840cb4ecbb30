/* The API server's request metrics, as upstream's k8s.io/apiserver/pkg/endpoints/metrics names
 * them: apiserver_request_total{verb,dry_run,group,version,resource,subresource,scope,component,code},
 * the apiserver_request_duration_seconds histogram (same labels minus code, upstream's buckets)
 * and the apiserver_longrunning_requests gauge, exposed at GET /metrics in the Prometheus text
 * format 0.0.4.
 *
 * Contract: one kc_metrics per API server, used from its event-loop thread only (no locks).
 * A request is classified while it is routed (kc_metrics_route) and observed once, when h2o
 * disposes of it, i.e. after its response was handed to the socket (kc_metrics_observe). WATCH
 * and CONNECT requests are long-running: counted, and gauged while they run, but kept out of the
 * duration histogram, as upstream does. In-process client calls are not HTTP requests and are not observed.
 */
#ifndef KC_APISERVER_METRICS_H
#define KC_APISERVER_METRICS_H
#include "lib/buf.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct kc_metrics kc_metrics;

/* What routing learnt about a request; zero-initialised means "not a resource request". */
typedef struct kc_metrics_req {
    int16_t res;  /* index into kc_resources + 1; 0: not a resource request */
    uint8_t sub;  /* subresource label index (metrics.c) */
    bool ns;      /* the path names a namespace */
    bool name;    /* the path names an object */
    bool skip;    /* GET /metrics itself: not observed (upstream does not instrument it either) */
    bool running; /* a WATCH or CONNECT counted in apiserver_longrunning_requests until observed */
} kc_metrics_req;

/* The request line and outcome that pick the labels of one observation. */
typedef struct kc_metrics_obs {
    const char *method;  /* "GET", "POST", ... */
    bool watch;          /* ?watch=true */
    bool apply;          /* Content-Type application/apply-patch+yaml */
    const char *dry_run; /* ?dryRun value, or NULL */
    int code;            /* HTTP status sent (0: none) */
    double seconds;      /* head received -> response handed to the socket */
} kc_metrics_obs;

kc_metrics *kc_metrics_new(void); /* owned; kc_metrics_free */
void kc_metrics_free(kc_metrics *m);
/* Classifies a resource request: res is the kc_resources index, sub the subresource or NULL. */
void kc_metrics_route(kc_metrics_req *q, int res, bool ns, bool name, const char *sub);
/* Once routed: a WATCH or CONNECT joins the apiserver_longrunning_requests gauge until its
 * kc_metrics_observe (o->code and o->seconds are not read here). */
void kc_metrics_start(kc_metrics *m, kc_metrics_req *q, const kc_metrics_obs *o);
void kc_metrics_observe(kc_metrics *m, const kc_metrics_req *q, const kc_metrics_obs *o);
/* Appends the exposition (text format 0.0.4) of every series observed so far. */
void kc_metrics_render(const kc_metrics *m, kc_buf *out);

#define KC_METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
