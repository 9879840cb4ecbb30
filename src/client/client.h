/* The client interface: how everything that is not the API server (controllers, the scheduler,
 * simulated nodes, the node agent) reads and writes the cluster, exactly as in Kubernetes.
 *
 * Calls are synchronous and may be made from any thread except the server's event loop. Two
 * transports implement kc_transport_ops: in-process (apiserver/inproc.c: requests run through
 * the server's own router, objects are shared, not re-encoded) and HTTP (client/http.c, for
 * `kubec sim` and agents in other processes). Both give the same semantics: resourceVersion
 * preconditions, 409s, watch events. Returned kc_obj references belong to the caller. */
#ifndef KC_CLIENT_CLIENT_H
#define KC_CLIENT_CLIENT_H
#include "api/obj.h"
#include "lib/err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct kc_creq {
    const char *method; /* GET POST PUT PATCH DELETE */
    const char *path;   /* "/api/v1/namespaces/default/pods/x" */
    const char *query;  /* "labelSelector=app%3Dweb" or NULL */
    const char *ctype;  /* body content type or NULL */
    const char *body;
    size_t body_len;
    int res;            /* resource of the objects in the answer (-1: none) */
} kc_creq;

typedef struct kc_cresp {
    int code;
    char *body; /* owned; NULL when obj/objs carry the answer */
    size_t len;
    kc_obj *obj;   /* a single object answered (reference) */
    kc_obj **objs; /* list items (references), n of them */
    size_t n;
    uint64_t rev;  /* list resourceVersion */
} kc_cresp;

void kc_cresp_release(kc_cresp *rs);

enum kc_wevent { KC_WATCH_ADDED, KC_WATCH_MODIFIED, KC_WATCH_DELETED, KC_WATCH_BOOKMARK, KC_WATCH_EXPIRED,
                 KC_WATCH_CLOSED };

/* One watch event. obj is a reference given to the callee (NULL for BOOKMARK, EXPIRED, CLOSED);
 * rev is the event's resourceVersion. In-process watches call it on the server loop: it must
 * only queue work. CLOSED is the last call. */
typedef void (*kc_watch_cb)(void *ud, enum kc_wevent type, kc_obj *obj, uint64_t rev);

typedef struct kc_transport_ops {
    int (*roundtrip)(void *t, const kc_creq *rq, kc_cresp *rs, kc_err *err);
    void *(*watch)(void *t, const kc_creq *rq, kc_watch_cb cb, void *ud, kc_err *err);
    void (*watch_stop)(void *t, void *handle); /* no callback runs after it returns */
    void (*close)(void *t);
} kc_transport_ops;

typedef struct kc_client kc_client;
typedef struct kc_watch kc_watch;

/* The client takes the transport (closed by kc_client_free). user_agent names the component
 * (used as the field manager of its writes). */
kc_client *kc_client_new(const kc_transport_ops *ops, void *transport, const char *user_agent);
void kc_client_free(kc_client *c);

int kc_client_get(kc_client *c, int res, const char *ns, const char *name, kc_obj **out, kc_err *err);
/* Lists into *out (n references, array owned by the caller); *rev gets the list's revision. */
int kc_client_list(kc_client *c, int res, const char *ns, const char *lsel, const char *fsel, kc_obj ***out,
                   size_t *n, uint64_t *rev, kc_err *err);
int kc_client_create(kc_client *c, int res, const char *ns, json_t *obj, kc_obj **out, kc_err *err);
/* PUT of obj (its metadata names it); sub: NULL, "status" or "scale". */
int kc_client_update(kc_client *c, int res, json_t *obj, const char *sub, kc_obj **out, kc_err *err);
/* PATCH; ctype: "application/merge-patch+json", "application/json-patch+json", strategic. */
int kc_client_patch(kc_client *c, int res, const char *ns, const char *name, const char *sub, const char *ctype,
                    const char *patch, kc_obj **out, kc_err *err);
/* DELETE with optional DeleteOptions (borrowed). */
int kc_client_delete(kc_client *c, int res, const char *ns, const char *name, json_t *opts, kc_err *err);
/* POST to a subresource (pods/binding, pods/eviction) with a body (borrowed). */
int kc_client_post_sub(kc_client *c, int res, const char *ns, const char *name, const char *sub, json_t *body,
                       kc_err *err);
/* Watches from rev (0: current state as ADDED events first). */
kc_watch *kc_client_watch(kc_client *c, int res, const char *ns, const char *lsel, const char *fsel, uint64_t rev,
                          kc_watch_cb cb, void *ud, kc_err *err);
void kc_client_watch_stop(kc_client *c, kc_watch *w);

/* "/api/v1/namespaces/ns/pods/name/sub" for a resource (ns/name/sub may be NULL); malloc'd. */
char *kc_client_path(int res, const char *ns, const char *name, const char *sub);

#endif
