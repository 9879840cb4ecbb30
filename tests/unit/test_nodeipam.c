/* Node IPAM: the CIDR set as pure functions (parsing, lowest-free allocation, reuse, exhaustion,
 * occupying existing blocks), then the controller against an in-process server: nodes get
 * podCIDRs, a deleted node's block is reused, exhaustion gives CIDRNotAvailable and a restart
 * keeps the blocks nodes hold. */
#include "apiserver/apiserver.h"
#include "client/client.h"
#include "controllers/nodeipam.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

/* ---- the CIDR set ---- */

Test(cidrset, rejects_bad_input)
{
    static const struct {
        const char *cidr;
        int mask;
    } bad[] = {{"10.244.0.0", 24},    {"10.244.0.0/", 24},
               {"10.244.0/16", 24},   {"10.244.0.0/33", 33},
               {"10.244.0.0/16", 8},  {"10.244.0.0/16", 33},
               {"10.0.0.0/8", 25},    {"x/16", 24},
               {"10.244.0.0/1x", 24}, {NULL, 24}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        kc_err err = KC_ERR_INIT;
        kc_cidrset *s = kc_cidrset_new(bad[i].cidr, bad[i].mask, &err);
        cr_expect_null(s, "%s /%d accepted", bad[i].cidr, bad[i].mask);
        cr_expect_eq(err.reason, KC_EINVALID);
        kc_cidrset_free(s);
        kc_err_release(&err);
    }
}

Test(cidrset, sizes)
{
    static const struct {
        const char *cidr;
        int mask;
        size_t n;
        const char *first;
    } t[] = {{"10.244.0.0/16", 24, 256, "10.244.0.0/24"},
             {"10.244.7.9/16", 24, 256, "10.244.0.0/24"}, /* host bits are masked off */
             {"192.168.0.0/24", 26, 4, "192.168.0.0/26"},
             {"10.0.0.0/8", 24, 65536, "10.0.0.0/24"},
             {"172.16.5.4/32", 32, 1, "172.16.5.4/32"},
             {"0.0.0.0/0", 16, 65536, "0.0.0.0/16"}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        kc_err err = KC_ERR_INIT;
        kc_cidrset *s = kc_cidrset_new(t[i].cidr, t[i].mask, &err);
        cr_assert_not_null(s, "%s: %s", t[i].cidr, err.msg);
        cr_expect_eq(kc_cidrset_free_count(s), t[i].n, "%s", t[i].cidr);
        char out[20];
        cr_assert_eq(kc_cidrset_alloc(s, out, &err), 0);
        cr_expect_str_eq(out, t[i].first);
        kc_cidrset_free(s);
    }
}

Test(cidrset, lowest_free_reuse_and_exhaustion)
{
    kc_err err = KC_ERR_INIT;
    kc_cidrset *s = kc_cidrset_new("10.244.0.0/22", 24, &err);
    cr_assert_not_null(s);
    char out[20];
    const char *want[] = {"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(kc_cidrset_alloc(s, out, &err), 0);
        cr_expect_str_eq(out, want[i]);
    }
    cr_assert_eq(kc_cidrset_alloc(s, out, &err), -1);
    cr_expect_eq(err.reason, KC_ETOOMANY);
    cr_expect(strstr(err.msg, "no remaining CIDRs"), "%s", err.msg);
    kc_err_release(&err);
    kc_cidrset_release(s, "10.244.2.0/24");
    kc_cidrset_release(s, "10.244.1.0/24");
    kc_cidrset_release(s, "10.244.1.0/24"); /* twice: no effect */
    kc_cidrset_release(s, "10.9.1.0/24");   /* not ours: no effect */
    cr_expect_eq(kc_cidrset_free_count(s), 2);
    cr_assert_eq(kc_cidrset_alloc(s, out, &err), 0);
    cr_expect_str_eq(out, "10.244.1.0/24", "the lowest released block comes first");
    cr_assert_eq(kc_cidrset_alloc(s, out, &err), 0);
    cr_expect_str_eq(out, "10.244.2.0/24");
    cr_expect_eq(kc_cidrset_free_count(s), 0);
    kc_cidrset_free(s);
}

Test(cidrset, occupy)
{
    kc_err err = KC_ERR_INIT;
    kc_cidrset *s = kc_cidrset_new("10.244.0.0/16", 24, &err);
    static const struct {
        const char *cidr;
        int rc;
    } t[] = {{"10.244.0.0/24", 0},   {"10.244.2.0/24", 0},  {"10.244.2.0/24", 0}, /* again: fine */
             {"10.244.255.0/24", 0}, {"10.245.0.0/24", -1}, {"10.243.255.0/24", -1},
             {"10.244.3.0/25", -1},  {"10.244.3.1/24", -1}, {"garbage", -1}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        cr_expect_eq(kc_cidrset_occupy(s, t[i].cidr, &err), t[i].rc, "%s", t[i].cidr);
        kc_err_release(&err);
    }
    cr_expect_eq(kc_cidrset_free_count(s), 253);
    char out[20];
    const char *want[] = {"10.244.1.0/24", "10.244.3.0/24", "10.244.4.0/24"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(kc_cidrset_alloc(s, out, &err), 0);
        cr_expect_str_eq(out, want[i], "occupied blocks are skipped");
    }
    kc_cidrset_free(s);
}

Test(cidrset, full_65536_blocks)
{
    kc_err err = KC_ERR_INIT;
    kc_cidrset *s = kc_cidrset_new("10.0.0.0/8", 24, &err);
    char out[20];
    for (int i = 0; i < 65536; i++)
        cr_assert_eq(kc_cidrset_alloc(s, out, &err), 0);
    cr_expect_str_eq(out, "10.255.255.0/24");
    cr_expect_eq(kc_cidrset_alloc(s, out, &err), -1);
    kc_err_release(&err);
    kc_cidrset_release(s, "10.128.7.0/24");
    cr_assert_eq(kc_cidrset_alloc(s, out, &err), 0);
    cr_expect_str_eq(out, "10.128.7.0/24");
    kc_cidrset_free(s);
}

/* ---- the controller against an in-process server ---- */

static test_server ts;
static kc_apiserver *srv;
static int NODE, EVENT;

static void start(void)
{
    srv = test_server_start(&ts, "ipam", true);
    NODE = kc_resource_find("", "v1", "nodes");
    EVENT = kc_resource_find("", "v1", "events");
}

static void stop(void)
{
    test_server_destroy(&ts);
}

TestSuite(ipam, .init = start, .fini = stop, .timeout = 30);

static void create_node(kc_client *c, const char *name, const char *cidr)
{
    json_t *doc =
        json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Node", "metadata", "name", name);
    if (cidr) json_object_set_new(doc, "spec", json_pack("{s:s,s:[s]}", "podCIDR", cidr, "podCIDRs", cidr));
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(c, NODE, NULL, doc, NULL, &err), 0, "%s", err.msg);
    json_decref(doc);
}

/* The node's podCIDR once it has one (waits up to 5 s); "" if it never gets one. */
static char *wait_cidr(kc_client *c, const char *name, int ms)
{
    for (int waited = 0; waited <= ms; waited += 20) {
        kc_obj *o;
        kc_err err = KC_ERR_INIT;
        if (kc_client_get(c, NODE, NULL, name, &o, &err) == 0) {
            json_t *doc = kc_obj_parse(o);
            json_t *spec = json_object_get(doc, "spec");
            const char *cidr = json_string_value(json_object_get(spec, "podCIDR"));
            const char *first = json_string_value(json_array_get(json_object_get(spec, "podCIDRs"), 0));
            char *r = cidr ? strdup(cidr) : NULL;
            if (r) cr_expect_str_eq(first ? first : "", r, "podCIDRs[0] must equal podCIDR");
            json_decref(doc);
            kc_obj_unref(o);
            if (r) return r;
        }
        kc_err_release(&err);
        usleep(20 * 1000);
    }
    return strdup("");
}

static bool has_event(kc_client *c, const char *reason, const char *node)
{
    kc_obj **v;
    size_t n;
    kc_err err = KC_ERR_INIT;
    if (kc_client_list(c, EVENT, NULL, NULL, NULL, &v, &n, NULL, &err) < 0) return false;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        json_t *d = kc_obj_parse(v[i]);
        const char *r = json_string_value(json_object_get(d, "reason"));
        const char *on = json_string_value(json_object_get(json_object_get(d, "involvedObject"), "name"));
        if (r && on && !strcmp(r, reason) && !strcmp(on, node)) found = true;
        json_decref(d);
        kc_obj_unref(v[i]);
    }
    free(v);
    return found;
}

Test(ipam, assigns_reuses_and_runs_out)
{
    kc_client *c = kc_apiserver_client(srv, "test");
    void *ctl = kc_nodeipam_start(kc_apiserver_client(srv, "node-ipam-controller"), "10.244.0.0/23", 24);
    cr_assert_not_null(ctl);
    create_node(c, "a", NULL);
    char *ca = wait_cidr(c, "a", 5000);
    cr_expect_str_eq(ca, "10.244.0.0/24");
    create_node(c, "b", NULL);
    char *cb = wait_cidr(c, "b", 5000);
    cr_expect_str_eq(cb, "10.244.1.0/24");
    create_node(c, "c", NULL);
    char *cc = wait_cidr(c, "c", 500);
    cr_expect_str_eq(cc, "", "two blocks only: the third node must wait");
    bool ev = false;
    for (int i = 0; i < 100 && !(ev = has_event(c, "CIDRNotAvailable", "c")); i++)
        usleep(20 * 1000);
    cr_expect(ev, "event CIDRNotAvailable about node c");
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_delete(c, NODE, NULL, "a", NULL, &err), 0, "%s", err.msg);
    free(cc);
    cc = wait_cidr(c, "c", 5000);
    cr_expect_str_eq(cc, "10.244.0.0/24", "the deleted node's block goes to the waiting node");
    kc_nodeipam_stop(ctl);
    free(ca);
    free(cb);
    free(cc);
    kc_client_free(c);
}

Test(ipam, keeps_existing_and_survives_restart)
{
    kc_client *c = kc_apiserver_client(srv, "test");
    create_node(c, "pre", "10.244.0.0/24");      /* assigned before the controller runs */
    create_node(c, "foreign", "192.168.7.0/24"); /* outside the cluster CIDR: left alone */
    void *ctl = kc_nodeipam_start(kc_apiserver_client(srv, "node-ipam-controller"), "10.244.0.0/16", 24);
    create_node(c, "n1", NULL);
    char *c1 = wait_cidr(c, "n1", 5000);
    cr_expect_str_eq(c1, "10.244.1.0/24", "10.244.0.0/24 is taken by node pre");
    kc_nodeipam_stop(ctl);

    create_node(c, "n2", NULL); /* while no controller runs */
    ctl = kc_nodeipam_start(kc_apiserver_client(srv, "node-ipam-controller"), "10.244.0.0/16", 24);
    char *c2 = wait_cidr(c, "n2", 5000);
    cr_expect_str_eq(c2, "10.244.2.0/24", "a restarted allocator must not hand out held blocks");
    char *cp = wait_cidr(c, "pre", 100), *cf = wait_cidr(c, "foreign", 100);
    cr_expect_str_eq(cp, "10.244.0.0/24");
    cr_expect_str_eq(cf, "192.168.7.0/24");
    kc_nodeipam_stop(ctl);
    free(c1);
    free(c2);
    free(cp);
    free(cf);
    kc_client_free(c);
}

Test(ipam, bad_cluster_cidr_does_not_start)
{
    cr_expect_null(kc_nodeipam_start(kc_apiserver_client(srv, "node-ipam-controller"), "10.244.0.0/33", 24));
}
