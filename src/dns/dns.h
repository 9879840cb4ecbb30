/* Cluster DNS inside `kubec server`: answers <svc>.<ns>.svc.<domain> and friends (dns/source.c)
 * over UDP and TCP on one address (--dns-listen, --cluster-domain). */
#ifndef KC_DNS_DNS_H
#define KC_DNS_DNS_H
#include "client/client.h"

typedef struct kc_dns_opts {
    const char *listen; /* "127.0.0.1:10053"; "[::1]:53" */
    const char *domain; /* "cluster.local" */
    int udp_threads;    /* 0: one */
} kc_dns_opts;

/* Binds the UDP and TCP sockets and starts serving; takes the client (freed by stop). NULL (the
 * reason printed, the client freed) when the address is malformed or cannot be bound. */
void *kc_dns_start(kc_client *c, const kc_dns_opts *o);
void kc_dns_stop(void *dns);

#endif
