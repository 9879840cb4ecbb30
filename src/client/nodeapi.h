/* The internal node interface: how the API server reaches the node that runs a pod, for
 * pods/log (and later exec and attach). A provider (simulated nodes today, the node agent
 * later) registers with the server and answers for the nodes it runs. Calls come from the
 * server's loop thread and must not block. Nodes of other processes are reached over HTTP at
 * their kubelet endpoint instead (apiserver/nodeproxy.c). */
#ifndef KC_CLIENT_NODEAPI_H
#define KC_CLIENT_NODEAPI_H
#include "lib/err.h"
#include <stdbool.h>
#include <stddef.h>

/* The Node annotation naming the host the API server dials for the node's kubelet endpoint
 * (port: status.daemonEndpoints.kubeletEndpoint.Port), for nodes whose addresses are not
 * routable from the server, such as a `kubec sim` process's 172.16.x.y. */
#define KC_NODE_KUBELET_HOST_ANNOTATION "kubec.io/kubelet-host"

typedef struct kc_log_opts {
    const char *container; /* never NULL: the server resolves the default container */
    bool timestamps;
    bool previous;
    long tail_lines; /* -1: all */
    long limit_bytes; /* -1: no limit */
} kc_log_opts;

typedef struct kc_node_provider {
    bool (*has_node)(void *ud, const char *node);
    /* The container's log as text (malloc'd into *out). */
    int (*logs)(void *ud, const char *node, const char *ns, const char *pod, const kc_log_opts *o, char **out,
                size_t *len, kc_err *err);
    /* Why commands cannot run on this node (NULL if they can). */
    const char *(*exec_unsupported)(void *ud, const char *node);
} kc_node_provider;

#endif
