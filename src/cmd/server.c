/* `kubec server`: parses the command line, starts the API server and the components that run
 * inside it (controllers, scheduler, simulated nodes), each with its own in-process client. */
#include "apiserver/apiserver.h"
#include "cmd/cmd.h"
#include "controllers/daemonset.h"
#include "controllers/deployment.h"
#include "controllers/endpoints.h"
#include "controllers/endpointslice.h"
#include "controllers/endpointslice_mirror.h"
#include "controllers/gc.h"
#include "controllers/nodeipam.h"
#include "controllers/nodelifecycle.h"
#include "controllers/protection.h"
#include "controllers/provisioner.h"
#include "controllers/pv.h"
#include "controllers/replicaset.h"
#include "controllers/statefulset.h"
#include "dns/dns.h"
#include "scheduler/scheduler.h"
#include "sim/sim.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

typedef struct server_opts {
    const char *data_dir, *listen, *cluster_cidr, *controllers, *service_cidr, *node_port_range;
    const char *dns_listen, *cluster_domain;
    bool disable_scheduler;
    int sim_nodes, pod_startup_ms, grace_s, not_ready_tol_s, unreachable_tol_s;
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

static void *start_pvc_protection(kc_client *c, const server_opts *o)
{
    (void)o;
    return kc_protection_start(c, KC_PROTECT_PVC);
}

static void *start_pv_protection(kc_client *c, const server_opts *o)
{
    (void)o;
    return kc_protection_start(c, KC_PROTECT_PV);
}

static void *start_local_path(kc_client *c, const server_opts *o)
{
    return kc_local_path_start(c, o->data_dir);
}

static const struct {
    const char *name, *agent;
    void *(*start)(kc_client *c); /* a controller without options, */
    start_fn start_with;          /* or one that takes some of the server's */
    void (*stop)(void *);
} controllers[] = {
    {"nodeipam", "node-ipam-controller", NULL, start_ipam, kc_nodeipam_stop},
    {"nodelifecycle", "node-lifecycle-controller", NULL, start_nodelc, kc_nodelifecycle_stop},
    {"replicaset", "replicaset-controller", kc_replicaset_start, NULL, kc_replicaset_stop},
    {"deployment", "deployment-controller", kc_deployment_start, NULL, kc_deployment_stop},
    {"statefulset", "statefulset-controller", kc_statefulset_start, NULL, kc_statefulset_stop},
    {"daemonset", "daemon-set-controller", kc_daemonset_start, NULL, kc_daemonset_stop},
    {"garbagecollector", "generic-garbage-collector", kc_gc_start, NULL, kc_gc_stop},
    {"persistentvolume-binder", "persistent-volume-binder", kc_pv_binder_start, NULL, kc_pv_binder_stop},
    {"pvc-protection", "pvc-protection-controller", NULL, start_pvc_protection, kc_protection_stop},
    {"pv-protection", "pv-protection-controller", NULL, start_pv_protection, kc_protection_stop},
    {"local-path-provisioner", "local-path-provisioner", NULL, start_local_path, kc_local_path_stop},
    {"endpoints", "endpoint-controller", kc_endpoints_start, NULL, kc_endpoints_stop},
    {"endpointslice", "endpointslice-controller", kc_endpointslice_start, NULL, kc_endpointslice_stop},
    {"endpointslicemirroring", "endpointslicemirroring-controller", kc_endpointslice_mirror_start, NULL,
     kc_endpointslice_mirror_stop},
};

static void start_components(kc_apiserver *s, const server_opts *o)
{
    kc_apiserver_set_storage_protection(s, controller_on(o, "pvc-protection"), controller_on(o, "pv-protection"));
    for (size_t i = 0; i < sizeof controllers / sizeof *controllers; i++) {
        if (!controller_on(o, controllers[i].name)) continue;
        kc_client *c = kc_apiserver_client(s, controllers[i].agent);
        void *ctl = controllers[i].start ? controllers[i].start(c) : controllers[i].start_with(c, o);
        if (ctl) kc_apiserver_add_component(s, controllers[i].stop, ctl);
    }
    if (!o->disable_scheduler) {
        kc_scheduler *sch = kc_scheduler_start(kc_apiserver_client(s, "default-scheduler"));
        if (sch) kc_apiserver_add_component(s, kc_scheduler_stop, sch);
    }
    if (o->dns_listen && *o->dns_listen && strcmp(o->dns_listen, "off")) {
        kc_dns_opts d = {.listen = o->dns_listen, .domain = o->cluster_domain};
        void *dns = kc_dns_start(kc_apiserver_client(s, "kube-dns"), &d);
        if (dns) kc_apiserver_add_component(s, kc_dns_stop, dns);
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
    enum {
        DATA = 1, LISTEN, SIM, STARTUP, NOSCHED, CONTROLLERS, CIDR, GRACE, SVCCIDR, NPRANGE, DNSLISTEN, DOMAIN,
        NRTOL, UNTOL
    };
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
                                         {"dns-listen", required_argument, NULL, DNSLISTEN},
                                         {"cluster-domain", required_argument, NULL, DOMAIN},
                                         {"default-not-ready-toleration-seconds", required_argument, NULL, NRTOL},
                                         {"default-unreachable-toleration-seconds", required_argument, NULL, UNTOL},
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
        case DNSLISTEN: o->dns_listen = optarg; break;
        case DOMAIN: o->cluster_domain = optarg; break;
        case NRTOL: o->not_ready_tol_s = atoi(optarg); break;
        case UNTOL: o->unreachable_tol_s = atoi(optarg); break;
        default: return -1;
        }
    }
    return o->data_dir ? 0 : -1;
}

int kc_cmd_server(int argc, char **argv)
{
    server_opts o = {.listen = "127.0.0.1:6443", .cluster_cidr = "10.244.0.0/16", .controllers = "*",
                     .service_cidr = "10.96.0.0/12", .node_port_range = "30000-32767", .grace_s = 50,
                     .dns_listen = "127.0.0.1:10053", .cluster_domain = "cluster.local", .not_ready_tol_s = 300,
                     .unreachable_tol_s = 300};
    if (parse(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: kubec server --data-dir DIR [--listen 127.0.0.1:6443] [--sim-nodes N]\n"
                        "       [--pod-startup-ms M] [--disable-scheduler] [--controllers=*,-name]\n"
                        "       [--cluster-cidr 10.244.0.0/16] [--node-monitor-grace-period 50]\n"
                        "       [--service-cidr 10.96.0.0/12] [--service-node-port-range 30000-32767]\n"
                        "       [--dns-listen 127.0.0.1:10053|off] [--cluster-domain cluster.local]\n"
                        "       [--default-not-ready-toleration-seconds 300]\n"
                        "       [--default-unreachable-toleration-seconds 300]\n");
        return 2;
    }
    kc_err err = KC_ERR_INIT;
    kc_apiserver *s = kc_apiserver_new(o.data_dir, o.listen, &err);
    if (s && kc_apiserver_set_service_ranges(s, o.service_cidr, o.node_port_range, &err) < 0) s = NULL;
    if (s) kc_apiserver_set_default_tolerations(s, o.not_ready_tol_s, o.unreachable_tol_s);
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
