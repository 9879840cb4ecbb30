/* `kubec sim`: simulated nodes in a process of their own, talking to `kubec server` over HTTP
 * (the kubemark shape). It parses the command line, resolves the kubeconfig, checks the server
 * answers, opens the nodes' kubelet endpoint (--listen, sim/simkubelet.c), starts the nodes
 * (sim/sim.c) and stops them on SIGINT or SIGTERM. A process killed
 * otherwise leaves its nodes without heartbeats, as a crashed node would. */
#include "sim/sim.h"
#include "client/http.h"
#include "client/kubeconfig.h"
#include "cmd/cmd.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sim_args {
    const char *kubeconfig;
    const char *listen; /* the kubelet endpoint */
    kc_sim_opts o;
} sim_args;

static int parse(int argc, char **argv, sim_args *a)
{
    enum { KUBECONFIG = 1, NODES, PREFIX, STARTUP, CPU, MEMORY, MAXPODS, LISTEN, TICKS };
    static const struct option opts[] = {{"kubeconfig", required_argument, NULL, KUBECONFIG},
                                         {"nodes", required_argument, NULL, NODES},
                                         {"name-prefix", required_argument, NULL, PREFIX},
                                         {"pod-startup-ms", required_argument, NULL, STARTUP},
                                         {"cpu", required_argument, NULL, CPU},
                                         {"memory", required_argument, NULL, MEMORY},
                                         {"max-pods", required_argument, NULL, MAXPODS},
                                         {"listen", required_argument, NULL, LISTEN},
                                         {"heartbeat-ticks", required_argument, NULL, TICKS},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case KUBECONFIG:
            a->kubeconfig = optarg;
            break;
        case NODES:
            a->o.nodes = atoi(optarg);
            break;
        case PREFIX:
            a->o.prefix = optarg;
            break;
        case STARTUP:
            a->o.pod_startup_ms = atoi(optarg);
            break;
        case CPU:
            a->o.cpu = optarg;
            break;
        case MEMORY:
            a->o.memory = optarg;
            break;
        case MAXPODS:
            a->o.max_pods = atoi(optarg);
            break;
        case LISTEN:
            a->listen = optarg;
            break;
        case TICKS: /* 0 on the command line: unrounded phases */
            a->o.heartbeat_ticks = atoi(optarg) > 0 ? atoi(optarg) : -1;
            break;
        default:
            return -1;
        }
    }
    return optind == argc && a->o.nodes > 0 && a->o.pod_startup_ms >= 0 && a->o.max_pods >= 0 ? 0 : -1;
}

/* GET /version: a clear error now rather than nodes retrying in the background. */
static int check_server(void *t, const char *url, kc_err *err)
{
    kc_creq rq = {"GET", "/version", NULL, NULL, NULL, 0, -1};
    kc_cresp rs;
    if (kc_http_ops.roundtrip(t, &rq, &rs, err) < 0) return kc_err_wrap(err, "cannot reach the API server");
    int code = rs.code;
    kc_cresp_release(&rs);
    if (code != 200)
        return kc_errf(err, KC_EUNAVAILABLE, "API server %s answered /version with %d", url, code);
    return 0;
}

static kc_client *connect_client(const char *kubeconfig, kc_err *err)
{
    char *url = NULL;
    if (kc_kubeconfig_load(kubeconfig, &url, err) < 0) return NULL;
    void *t = kc_http_transport_new(url, err);
    if (t) kc_http_transport_set_agent(t, "kubelet/" KC_VERSION " (kubec-sim)");
    if (t && check_server(t, url, err) < 0) {
        kc_http_ops.close(t);
        t = NULL;
    }
    free(url);
    return t ? kc_client_new(&kc_http_ops, t, "kubelet") : NULL;
}

/* Blocks until SIGINT or SIGTERM (blocked in every thread, taken here with sigwait). */
static int wait_signal(const sigset_t *set)
{
    int sig = 0;
    sigwait(set, &sig);
    return sig;
}

int kc_cmd_sim(int argc, char **argv)
{
    sim_args a = {NULL, "127.0.0.1:0", {.prefix = "sim"}};
    if (parse(argc, argv, &a) < 0) {
        fprintf(stderr,
                "usage: kubec sim --kubeconfig FILE --nodes N [--name-prefix P] [--pod-startup-ms M]\n"
                "       [--cpu 32] [--memory 256Gi] [--max-pods 110] [--listen 127.0.0.1:0]\n"
                "       [--heartbeat-ticks 100 (0: every node its own phase)]\n");
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts: they inherit the mask */
    signal(SIGPIPE, SIG_IGN);
    kc_err err = KC_ERR_INIT;
    kc_client *c = connect_client(a.kubeconfig, &err);
    if (!c) {
        fprintf(stderr, "kubec sim: %s\n", err.msg);
        kc_err_release(&err);
        return 1;
    }
    kc_sim_kubelet *k = kc_sim_kubelet_listen(a.listen, &err);
    if (!k) {
        fprintf(stderr, "kubec sim: %s\n", err.msg);
        kc_err_release(&err);
        kc_client_free(c);
        return 1;
    }
    a.o.kubelet_host = kc_sim_kubelet_host(k);
    a.o.kubelet_port = kc_sim_kubelet_port(k);
    kc_sim *sim = kc_sim_start(c, &a.o);
    if (!sim) { /* the client is not freed: whether a failed start kept it is the sim's business */
        fprintf(
            stderr,
            "kubec sim: could not start %d simulated nodes (simulated nodes unavailable in this build?)\n",
            a.o.nodes);
        return 1;
    }
    kc_sim_kubelet_serve(k, sim);
    fprintf(stderr, "kubec sim: %d nodes %s-0..%s-%d running, kubelet endpoint %s:%d; SIGINT or SIGTERM stops them\n",
            a.o.nodes, a.o.prefix, a.o.prefix, a.o.nodes - 1, a.o.kubelet_host, a.o.kubelet_port);
    int sig = wait_signal(&set);
    fprintf(stderr, "kubec sim: signal %d, stopping\n", sig);
    kc_sim_kubelet_free(k); /* before the sim: it reads the sim's pods */
    kc_sim_stop(sim);
    return 0;
}
