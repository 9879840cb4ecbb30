/* `kubec server`: parses the command line, starts the API server and the components that run
 * inside it (controllers, scheduler, simulated nodes), each with its own in-process client. */
#include "apiserver/apiserver.h"
#include "cmd/cmd.h"
#include "controllers/deployment.h"
#include "controllers/endpoints.h"
#include "controllers/endpointslice.h"
#include "controllers/endpointslice_mirror.h"
#include "controllers/gc.h"
#include "controllers/nodeipam.h"
#include "controllers/nodelifecycle.h"
#include "controllers/replicaset.h"
#include "scheduler/scheduler.h"
#include "sim/sim.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

typedef struct server_opts {
    const char *data_dir, *listen, *cluster_cidr, *controllers, *service_cidr, *node_port_range;
    bool disable_scheduler;
    int sim_nodes, pod_startup_ms, grace_s;
} server_opts;

/* --controllers=*,-nodelifecycle: is this controller on? */
static bool controller_on(const server_opts *o, const char *name)
{
    char neg[64];
    snprintf(neg, sizeof neg, "-%s", name);
    const char *c = o->controllers;
    bool on = false;
    for (const char *p = c; p && *p;) {
        size_t n = strcspn(p, ",");
        if ((n == 1 && *p == '*') || (n == strlen(name) && !strncmp(p, name, n))) on = true;
        if (n == strlen(neg) && !strncmp(p, neg, n)) on = false;
        p += n + (p[n] == ',');
    }
    return on;
}

typedef void *(*start_fn)(kc_client *c, const server_opts *o);

static void *start_ipam(kc_client *c, const server_opts *o)
{
    return kc_nodeipam_start(c, o->cluster_cidr, 24);
}

static void *start_nodelc(kc_client *c, const server_opts *o)
{
    kc_nodelc_opts n = {o->grace_s};
    return kc_nodelifecycle_start(c, &n);
}

static void *start_rs(kc_client *c, const server_opts *o)
{
    (void)o;
    return kc_replicaset_start(c);
}

static void *start_deploy(kc_client *c, const server_opts *o)
{
    (void)o;
    return kc_deployment_start(c);
}

static void *start_endpoints(kc_client *c, const server_opts *o)
{
    (void)o;
    return kc_endpoints_start(c);
}

static void *start_endpointslice(kc_client *c, const server_opts *o)
{
    (void)o;
    return kc_endpointslice_start(c);
}

static void *start_mirroring(kc_client *c, const server_opts *o)
{
    (void)o;
    return kc_endpointslice_mirror_start(c);
}

static void *start_gc(kc_client *c, const server_opts *o)
{
    (void)o;
    return kc_gc_start(c);
}

static const struct {
    const char *name, *agent;
    start_fn start;
    void (*stop)(void *);
} controllers[] = {
    {"nodeipam", "node-ipam-controller", start_ipam, kc_nodeipam_stop},
    {"nodelifecycle", "node-lifecycle-controller", start_nodelc, kc_nodelifecycle_stop},
    {"replicaset", "replicaset-controller", start_rs, kc_replicaset_stop},
    {"deployment", "deployment-controller", start_deploy, kc_deployment_stop},
    {"garbagecollector", "generic-garbage-collector", start_gc, kc_gc_stop},
    {"endpoints", "endpoint-controller", start_endpoints, kc_endpoints_stop},
    {"endpointslice", "endpointslice-controller", start_endpointslice, kc_endpointslice_stop},
    {"endpointslicemirroring", "endpointslicemirroring-controller", start_mirroring,
     kc_endpointslice_mirror_stop},
};

static void start_components(kc_apiserver *s, const server_opts *o)
{
    for (size_t i = 0; i < sizeof controllers / sizeof *controllers; i++) {
        if (!controller_on(o, controllers[i].name)) continue;
        void *ctl = controllers[i].start(kc_apiserver_client(s, controllers[i].agent), o);
        if (ctl) kc_apiserver_add_component(s, controllers[i].stop, ctl);
    }
    if (!o->disable_scheduler) {
        kc_scheduler *sch = kc_scheduler_start(kc_apiserver_client(s, "default-scheduler"));
        if (sch) kc_apiserver_add_component(s, kc_scheduler_stop, sch);
    }
    if (o->sim_nodes > 0) {
        kc_sim_opts so = {.nodes = o->sim_nodes, .prefix = "sim", .pod_startup_ms = o->pod_startup_ms};
        kc_sim *sim = kc_sim_start(kc_apiserver_client(s, "kubelet"), &so);
        if (sim) {
            kc_apiserver_add_component(s, kc_sim_stop, sim);
            kc_apiserver_add_node_provider(s, &kc_sim_node_provider, sim);
        }
    }
}

static int parse(int argc, char **argv, server_opts *o)
{
    enum { DATA = 1, LISTEN, SIM, STARTUP, NOSCHED, CONTROLLERS, CIDR, GRACE, SVCCIDR, NPRANGE };
    static const struct option opts[] = {{"data-dir", required_argument, NULL, DATA},
                                         {"listen", required_argument, NULL, LISTEN},
                                         {"sim-nodes", required_argument, NULL, SIM},
                                         {"pod-startup-ms", required_argument, NULL, STARTUP},
                                         {"disable-scheduler", no_argument, NULL, NOSCHED},
                                         {"controllers", required_argument, NULL, CONTROLLERS},
                                         {"cluster-cidr", required_argument, NULL, CIDR},
                                         {"node-monitor-grace-period", required_argument, NULL, GRACE},
                                         {"service-cidr", required_argument, NULL, SVCCIDR},
                                         {"service-node-port-range", required_argument, NULL, NPRANGE},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case DATA: o->data_dir = optarg; break;
        case LISTEN: o->listen = optarg; break;
        case SIM: o->sim_nodes = atoi(optarg); break;
        case STARTUP: o->pod_startup_ms = atoi(optarg); break;
        case NOSCHED: o->disable_scheduler = true; break;
        case CONTROLLERS: o->controllers = optarg; break;
        case CIDR: o->cluster_cidr = optarg; break;
        case GRACE: o->grace_s = atoi(optarg); break;
        case SVCCIDR: o->service_cidr = optarg; break;
        case NPRANGE: o->node_port_range = optarg; break;
        default: return -1;
        }
    }
    return o->data_dir ? 0 : -1;
}

int kc_cmd_server(int argc, char **argv)
{
    server_opts o = {.listen = "127.0.0.1:6443", .cluster_cidr = "10.244.0.0/16", .controllers = "*",
                     .service_cidr = "10.96.0.0/12", .node_port_range = "30000-32767", .grace_s = 50};
    if (parse(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: kubec server --data-dir DIR [--listen 127.0.0.1:6443] [--sim-nodes N]\n"
                        "       [--pod-startup-ms M] [--disable-scheduler] [--controllers=*,-name]\n"
                        "       [--cluster-cidr 10.244.0.0/16] [--node-monitor-grace-period 50]\n"
                        "       [--service-cidr 10.96.0.0/12] [--service-node-port-range 30000-32767]\n");
        return 2;
    }
    kc_err err = KC_ERR_INIT;
    kc_apiserver *s = kc_apiserver_new(o.data_dir, o.listen, &err);
    if (s && kc_apiserver_set_service_ranges(s, o.service_cidr, o.node_port_range, &err) < 0) s = NULL;
    if (!s) {
        fprintf(stderr, "kubec server: %s\n", err.msg);
        return 1;
    }
    start_components(s, &o);
    if (kc_apiserver_serve(s, &err) < 0) {
        fprintf(stderr, "kubec server: %s\n", err.msg);
        return 1;
    }
    kc_apiserver_free(s);
    return 0;
}

int kc_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("kubec %s\n", KC_VERSION);
    return 0;
}
