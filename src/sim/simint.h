/* Simulated nodes, internal: the shared state of one kc_sim and the functions its files give
 * each other (sim.c: lifecycle, workers, informers, node provider; simnode.c: Node and Lease
 * writes; simpod.c: pod status and deletion; simutil.c: times, hashes, image names, CIDRs).
 *
 * Threads: W workers share one workqueue; two informer threads (pods bound to any node, nodes)
 * only enqueue keys. Keys are "n:<index>" (a node's registration and heartbeats) and
 * "p:<ns>/<name>" (a pod). Timers are delayed adds on the same workqueue. The workqueue runs a
 * key on one worker at a time, so a node's or pod's worker-only fields need no lock; fields
 * read by other threads (informer handlers, the server loop through the node provider) are
 * under kc_sim.mu. */
#ifndef KC_SIM_SIMINT_H
#define KC_SIM_SIMINT_H
#include "client/informer.h"
#include "client/workqueue.h"
#include "lib/map.h"
#include "sim/sim.h"
#include <pthread.h>
#include <time.h>

#define SIM_LEASE_MS 10000    /* default lease renewal period */
#define SIM_STATUS_PERIODS 6  /* node status reported every 6 lease periods (60 s) when unchanged */
#define SIM_TICKS 100         /* timer phases are multiples of lease period / 100 (simnode.c) */
#define SIM_CIDR_WAIT_MS 2000 /* how long a pod waits for its node's podCIDR before the fallback */
#define SIM_LEASE_NS "kube-node-lease"

typedef struct sim_node {
    char *name;
    int idx;
    char ip[16];        /* InternalIP, 172.16.x.y */
    char exec_msg[160]; /* why exec cannot run here (constant) */
    /* worker-only (key "n:<idx>") */
    bool registered;
    uint64_t written_rev; /* revision of our last Node write */
    uint64_t next_lease, next_status, armed;
    char ready_since[32]; /* lastTransitionTime of Ready=True */
    /* under kc_sim.mu */
    char uid[40];
    bool gone;      /* deleted by someone after we registered it */
    uint32_t net;   /* podCIDR network (host order) */
    int prefix_len; /* 0: no podCIDR known */
    bool fallback;  /* net is the derived 10.244.<i>.0/24, not spec.podCIDR */
    uint8_t *used;  /* bitmap of host offsets handed out, nhosts bits */
    uint32_t nhosts;
} sim_node;

enum sim_pod_state { SP_NEW, SP_PENDING, SP_RUNNING, SP_TERMINATED };

typedef struct sim_ctr {
    char *name, *image;
    bool init;
} sim_ctr;

/* What the simulator knows of one pod on one of its nodes (kc_sim.pods, under kc_sim.mu; the
 * pod's worker writes it). */
typedef struct sim_pod {
    char *key; /* "ns/name" (the map key) */
    char *uid;
    int node;
    uint32_t ip;   /* 0: none */
    bool host_net; /* spec.hostNetwork: the pod's IP is the node's */
    enum sim_pod_state state;
    uint64_t seen_ms;        /* first seen bound (monotonic) */
    char start_time[32];     /* ... and as status.startTime */
    uint64_t delete_seen_ms; /* first seen deleting, 0 before */
    uint64_t written_rev;
    struct timespec started; /* wall clock of the containers' start */
    sim_ctr *ctrs;
    size_t nctrs;
} sim_pod;

struct kc_sim {
    kc_client *c;
    char *prefix, *cpu, *memory;
    char *kubelet_host; /* NULL: no endpoint of our own (in-process nodes) */
    int n, max_pods, startup_ms, kubelet_port;
    uint64_t lease_ms, status_ms;
    uint64_t ticks; /* timer phase resolution: ticks per lease period (simnode.c) */
    sim_node *nodes;
    char boot_id[37];
    uint64_t t0; /* monotonic ms at start: the phase origin of every node's timers */
    pthread_mutex_t mu;
    kc_map pods; /* "ns/name" -> sim_pod */
    kc_informer *pod_inf, *node_inf;
    kc_wq *q;
    pthread_t *workers;
    int nworkers;
    int stopping;
    int pod_res, node_res, lease_res;
};

/* sim.c */
int kc_sim_node_index(const kc_sim *s, const char *name); /* -1: not one of ours */

/* simnode.c: a node's key ran on a worker. */
void kc_sim_sync_node(kc_sim *s, sim_node *n);
/* Node informer handlers' part: learns spec.podCIDR (returns true when it became known). */
bool kc_sim_node_seen(kc_sim *s, sim_node *n, const kc_obj *o);

/* simpod.c: a pod's key ran on a worker. */
void kc_sim_sync_pod(kc_sim *s, const char *key);
void kc_sim_pod_free(sim_pod *p);
/* The log text of one container (malloc'd); see kc_node_provider.logs. Under s->mu. */
int kc_sim_pod_logs(const sim_pod *p, const kc_log_opts *o, char **out, size_t *len, kc_err *err);

/* simutil.c */
void kc_sim_rfc3339(const struct timespec *t, char out[32]);       /* 2026-11-28T20:00:00Z */
void kc_sim_rfc3339_micro(const struct timespec *t, char out[40]); /* ...00.000000Z */
void kc_sim_rfc3339_nano(const struct timespec *t, char out[40]);  /* ...00.000000000Z */
void kc_sim_now_rfc3339(char out[32]);
/* 64 hex digits derived from the parts (deterministic; not cryptographic). */
void kc_sim_hex64(const char *a, const char *b, char out[65]);
void kc_sim_uuid(const char *seed, char out[37]); /* deterministic UUID-shaped id; seed NULL: random */
/* "nginx:1.25" -> "docker.io/library/nginx:1.25" and its imageID "docker.io/library/nginx@sha256:<hex>". */
void kc_sim_image_ref(const char *image, char *full, size_t fn, char *id, size_t idn);
/* "10.244.3.0/24" -> network (host order) and prefix length; -1 if not IPv4 CIDR. */
int kc_sim_parse_cidr(const char *s, uint32_t *net, int *len);
int kc_sim_parse_ip(const char *s, uint32_t *ip); /* dotted IPv4; -1 otherwise */
void kc_sim_ip_str(uint32_t ip, char out[16]);
/* The smallest t = base + k*period (k integer) with t > now. */
uint64_t kc_sim_next_slot(uint64_t base, uint64_t period, uint64_t now);

#endif
