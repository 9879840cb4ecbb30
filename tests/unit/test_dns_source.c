/* The DNS data source (dns/source.c) against a real API server in this process: Services,
 * EndpointSlices and Pods written through the client become names in the published index, and
 * follow updates and deletes. Answers are read back with kc_dns_answer, as the servers do. */
#include "apiserver/apiserver.h"
#include "dns/source.h"
#include <arpa/inet.h>
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static test_server ts;
static kc_apiserver *srv;
static kc_client *c;
static kc_dns_source *src;
static int SVC, SLICE, POD;

static void start(void)
{
    srv = test_server_start(&ts, "dns", true);
    SVC = kc_resource_find("", "v1", "services");
    SLICE = kc_resource_find("discovery.k8s.io", "v1", "endpointslices");
    POD = kc_resource_find("", "v1", "pods");
    c = kc_apiserver_client(srv, "test");
    src = kc_dns_source_start(kc_apiserver_client(srv, "kube-dns"), "cluster.local");
}

static void stop(void)
{
    kc_dns_source_free(src);
    kc_client_free(c);
    test_server_destroy(&ts);
}

TestSuite(dns_source, .init = start, .fini = stop, .timeout = 30);

static void create(int res, const char *json)
{
    kc_err err = KC_ERR_INIT;
    json_t *doc = json_loads(json, 0, NULL);
    cr_assert_not_null(doc, "bad test JSON: %s", json);
    cr_assert_eq(kc_client_create(c, res, "default", doc, NULL, &err), 0, "%s", err.msg);
    json_decref(doc);
}

/* The answer now: rcode, and the A addresses / the first name target (CNAME) as text. */
typedef struct result {
    int rcode, an;
    char text[512];
} result;

static result ask(const char *name, uint16_t type)
{
    uint8_t q[300], out[4096];
    size_t n = 12;
    memcpy(q, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
    for (const char *s = name; *s;) {
        size_t l = strcspn(s, ".");
        q[n++] = (uint8_t)l;
        memcpy(q + n, s, l);
        n += l;
        s += l + (s[l] == '.');
    }
    memcpy(q + n, "\0\0\0\0\1", 5);
    q[n + 2] = (uint8_t)type;
    n += 5;
    void *hold;
    const kc_dns_index *ix = kc_dns_source_acquire(src, &hold);
    size_t len = kc_dns_answer(ix, q, n, out, sizeof out, true);
    kc_dns_source_release(src, hold);
    result r = {out[3] & 15, out[7], ""};
    size_t off = n, o = 0;
    for (int i = 0; i < r.an && len; i++) { /* owners are pointers (2 bytes) to the question */
        const uint8_t *rr = out + off + 2;
        size_t rdlen = (size_t)rr[8] << 8 | rr[9];
        if (rr[1] == KC_DNS_A)
            o += (size_t)snprintf(r.text + o, sizeof r.text - o, "%s%u.%u.%u.%u", o ? " " : "", rr[10],
                                  rr[11], rr[12], rr[13]);
        else
            o += (size_t)snprintf(r.text + o, sizeof r.text - o, "%stype%u", o ? " " : "", rr[1]);
        off += 2 + 10 + rdlen;
    }
    return r;
}

/* Polls until name answers text (or rcode when text is NULL), for up to 3 s. */
static result await(const char *name, uint16_t type, int rcode, const char *text)
{
    result r = {0};
    for (int i = 0; i < 300; i++) {
        r = ask(name, type);
        if (r.rcode == rcode && (!text || !strcmp(r.text, text))) return r;
        usleep(10000);
    }
    cr_assert_fail("%s: rcode %d \"%s\", want %d \"%s\"", name, r.rcode, r.text, rcode, text ? text : "");
    return r;
}

Test(dns_source, services_slices_and_pods)
{
    create(SVC, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},"
                "\"spec\":{\"clusterIP\":\"10.96.0.50\",\"ports\":[{\"name\":\"http\",\"port\":80}]}}");
    await("web.default.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "10.96.0.50");
    await("50.0.96.10.in-addr.arpa", KC_DNS_PTR, KC_DNS_NOERROR, "type12");
    await("_http._tcp.web.default.svc.cluster.local", KC_DNS_SRV, KC_DNS_NOERROR, "type33");

    create(SVC, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"hl\"},"
                "\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"name\":\"http\",\"port\":80}]}}");
    await("hl.default.svc.cluster.local", KC_DNS_A, KC_DNS_NXDOMAIN, NULL); /* no endpoints yet */
    create(
        SLICE,
        "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"hl-a\","
        "\"labels\":{\"kubernetes.io/service-name\":\"hl\"}},\"addressType\":\"IPv4\","
        "\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":["
        "{\"addresses\":[\"10.244.0.2\"],\"hostname\":\"h2\"},"
        "{\"addresses\":[\"10.244.0.3\"],\"conditions\":{\"ready\":false},\"hostname\":\"h3\"},"
        "{\"addresses\":[\"10.244.0.1\"],\"conditions\":{\"ready\":true}}]}");
    create(
        SLICE,
        "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"hl-b\","
        "\"labels\":{\"kubernetes.io/service-name\":\"hl\"}},\"addressType\":\"IPv4\",\"endpoints\":["
        "{\"addresses\":[\"10.244.0.2\"]}]}");
    create(
        SLICE,
        "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"hl-6\","
        "\"labels\":{\"kubernetes.io/service-name\":\"hl\"}},\"addressType\":\"IPv6\",\"endpoints\":["
        "{\"addresses\":[\"fd00::1\"]}]}");
    /* ready (or unset) endpoints only, deduplicated across slices, IPv6 slices left out */
    await("hl.default.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "10.244.0.1 10.244.0.2");
    await("h2.hl.default.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "10.244.0.2");
    await("10-244-0-1.hl.default.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "10.244.0.1");
    cr_assert_eq(ask("h3.hl.default.svc.cluster.local", KC_DNS_A).rcode, KC_DNS_NXDOMAIN);
    result srv = ask("_http._tcp.hl.default.svc.cluster.local", KC_DNS_SRV);
    cr_assert_eq(srv.an, 2, "one SRV per ready endpoint of the slice with the port");

    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_delete(c, SLICE, "default", "hl-a", NULL, &err), 0);
    await("hl.default.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "10.244.0.2");
    await("h2.hl.default.svc.cluster.local", KC_DNS_A, KC_DNS_NXDOMAIN, NULL);

    cr_assert_eq(kc_client_delete(c, SVC, "default", "web", NULL, &err), 0);
    await("web.default.svc.cluster.local", KC_DNS_A, KC_DNS_NXDOMAIN, NULL);
    create(SVC, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},"
                "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example.com\"}}");
    await("web.default.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "type5");
    await("50.0.96.10.in-addr.arpa", KC_DNS_PTR, KC_DNS_NXDOMAIN, NULL);
    await("_http._tcp.web.default.svc.cluster.local", KC_DNS_SRV, KC_DNS_NXDOMAIN, NULL);

    create(POD, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
                "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
    cr_assert_eq(kc_client_patch(c, POD, "default", "p", "status", "application/merge-patch+json",
                                 "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.9.9\"}}", NULL, &err),
                 0, "%s", err.msg);
    await("10-244-9-9.default.pod.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "10.244.9.9");
    cr_assert_eq(ask("10-244-9-8.default.pod.cluster.local", KC_DNS_A).rcode, KC_DNS_NXDOMAIN);
    cr_assert_eq(kc_client_patch(c, POD, "default", "p", "status", "application/merge-patch+json",
                                 "{\"status\":{\"phase\":\"Succeeded\"}}", NULL, &err),
                 0, "%s", err.msg);
    await("10-244-9-9.default.pod.cluster.local", KC_DNS_A, KC_DNS_NXDOMAIN, NULL);
    cr_assert_gt(kc_dns_source_generation(src), 5);
}

Test(dns_source, namespaces_exist_and_address_external_names_are_not_cnames)
{
    await("default.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, ""); /* NODATA: it exists */
    cr_assert_eq(ask("nowhere.svc.cluster.local", KC_DNS_A).rcode, KC_DNS_NXDOMAIN);
    kc_err err = KC_ERR_INIT;
    json_t *ns =
        json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", "quiet");
    cr_assert_eq(kc_client_create(c, kc_resource_find("", "v1", "namespaces"), NULL, ns, NULL, &err), 0, "%s",
                 err.msg);
    json_decref(ns);
    await("quiet.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "");
    await("quiet.pod.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "");
    create(SVC, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"byip\"},"
                "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"192.0.2.1\"}}");
    create(SVC, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"byname\"},"
                "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"example.org\"}}");
    await("byname.default.svc.cluster.local", KC_DNS_A, KC_DNS_NOERROR, "type5");
    cr_assert_eq(ask("byip.default.svc.cluster.local", KC_DNS_A).rcode, KC_DNS_NXDOMAIN);
}
