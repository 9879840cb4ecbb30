/* Simulated nodes (the way KWOK and kubemark let Kubernetes test itself at scale): each
 * registers a Node, renews its Lease, and runs the pods bound to it through their lifecycle
 * (Pending -> Running/Ready, deletion confirmed after the grace period) without containers.
 * Works over any client transport: inside `kubec server --sim-nodes N` (in-process) or as
 * `kubec sim --kubeconfig F --nodes N` (HTTP). */
#ifndef KC_SIM_SIM_H
#define KC_SIM_SIM_H
#include "client/client.h"
/* The start functions take the client (freed by stop). */
#include "client/nodeapi.h"

typedef struct kc_sim_opts {
    int nodes;
    const char *prefix;   /* node names <prefix>-<i>; default "sim" */
    int pod_startup_ms;   /* Pending -> Running delay */
    const char *cpu;      /* capacity, default "32" */
    const char *memory;   /* default "256Gi" */
    int max_pods;         /* default 110 */
    int lease_ms;         /* Lease renewal period, default 10000; node status every 6 periods (tests) */
    /* Where the API server reaches these nodes' kubelet endpoint (simkubelet.c): advertised as
     * status.daemonEndpoints.kubeletEndpoint.Port and the annotation kubec.io/kubelet-host.
     * Port 0: no endpoint of its own (in-process nodes: the server asks kc_sim_node_provider). */
    const char *kubelet_host;
    int kubelet_port;
    int heartbeat_ticks;  /* timer phases are multiples of period / ticks; 0: SIM_TICKS; < 0: unrounded */
} kc_sim_opts;

typedef struct kc_sim kc_sim;

kc_sim *kc_sim_start(kc_client *c, const kc_sim_opts *o);
/* Stops the nodes' loops (no more heartbeats: like a crashed node) and frees everything. */
void kc_sim_stop(void *sim);
/* Answers pods/log for the simulated nodes (ud: the kc_sim). */
extern const kc_node_provider kc_sim_node_provider;

/* The kubelet endpoint of a `kubec sim` process (simkubelet.c): listen binds HOST:PORT (port 0:
 * ephemeral) before the nodes register, so they can advertise the port; serve starts the thread
 * answering from the sim's pods; free stops it. */
typedef struct kc_sim_kubelet kc_sim_kubelet;
kc_sim_kubelet *kc_sim_kubelet_listen(const char *addr, kc_err *err);
const char *kc_sim_kubelet_host(const kc_sim_kubelet *k); /* dialable: 0.0.0.0 becomes 127.0.0.1 */
int kc_sim_kubelet_port(const kc_sim_kubelet *k);
void kc_sim_kubelet_serve(kc_sim_kubelet *k, kc_sim *s);
void kc_sim_kubelet_free(kc_sim_kubelet *k);

#endif
