/* The API server's side of the kubelet proxy (nodeproxy.c): pods/log and pods/exec for pods on
 * nodes that no in-process provider runs (a `kubec sim` process, later a node agent) are asked
 * of the node's kubelet endpoint over HTTP, as kube-apiserver does, without blocking the loop. */
#ifndef KC_APISERVER_NODEPROXY_H
#define KC_APISERVER_NODEPROXY_H
#include "apiserver/apiserver.h"

/* What the kubelet answered: code 0 means no answer, with the dial or read error in neterr
 * (Go's wording: "dial tcp 127.0.0.1:1234: connect: connection refused") and the URL asked. */
typedef struct kc_kubelet_resp {
    int code;
    char *body; /* NUL-terminated */
    size_t len;
    char neterr[512];
    char url[1024];
} kc_kubelet_resp;

/* Runs on the loop thread once the answer (or the failure) is in; the request is still referenced. */
typedef void (*kc_kubelet_done)(kc_req *r, const kc_kubelet_resp *resp);

/* Sends `method path` (path with its query) to the kubelet endpoint of `node`: the host from the
 * Node's annotation kubec.io/kubelet-host, else its InternalIP / ExternalIP / Hostname address, and
 * status.daemonEndpoints.kubeletEndpoint.Port (10250 if unset). Holds a reference to r until done
 * ran. Fails (nothing sent) when the Node does not exist (404) or has no address (500). */
int kc_nodeproxy_call(kc_req *r, const char *node, const char *method, const char *path, kc_kubelet_done done,
                      kc_err *err);

#endif
