/* ClusterIP and NodePort allocators: bands, chosen values, exhaustion, release. */
#include "apiserver/alloc.h"
#include <criterion/criterion.h>

Test(alloc, cidr_bands_and_uniqueness)
{
    kc_range r;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_range_init_cidr(&r, "10.96.0.0/12", &err), 0);
    cr_assert_eq(r.n, (1u << 20) - 2);
    cr_assert_eq(r.static_n, 256);
    uint32_t ip, first;
    kc_ip_parse("10.96.0.1", &first);
    cr_assert_eq(r.first, first);
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(kc_range_allocate(&r, &ip, &err), 0);
        cr_assert_geq(ip - r.first, r.static_n, "dynamic allocations come from the upper band");
    }
    cr_assert_eq(r.used, 1000, "no address was handed out twice");
    kc_range_release_all(&r);
}

Test(alloc, chosen_values)
{
    kc_range r;
    kc_err err = KC_ERR_INIT;
    kc_range_init_cidr(&r, "10.96.0.0/12", &err);
    uint32_t ip;
    kc_ip_parse("10.96.0.10", &ip);
    cr_assert_eq(kc_range_take(&r, ip, &err), 0);
    cr_assert_eq(kc_range_take(&r, ip, &err), -1);
    cr_assert_str_eq(err.msg, "provided IP is already allocated");
    kc_ip_parse("10.112.0.1", &ip);
    cr_assert_eq(kc_range_take(&r, ip, &err), -1);
    cr_assert_str_eq(err.msg, "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12");
    kc_ip_parse("10.96.0.0", &ip);
    cr_assert_eq(kc_range_take(&r, ip, &err), -1, "the network address is never allocated");
    kc_range_release_all(&r);
}

Test(alloc, ports_bands_exhaustion_release)
{
    kc_range r;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_range_init_ports(&r, "30000-30099", &err), 0);
    cr_assert_eq(r.n, 100);
    cr_assert_eq(r.static_n, 16);
    uint32_t p;
    for (int i = 0; i < 84; i++) {
        kc_range_allocate(&r, &p, &err);
        cr_assert_geq(p, 30016u);
    }
    cr_assert_eq(kc_range_allocate(&r, &p, &err), 0);
    cr_assert_lt(p, 30016u, "the static band is used once the upper band is full");
    for (int i = 0; i < 15; i++) cr_assert_eq(kc_range_allocate(&r, &p, &err), 0);
    cr_assert_eq(kc_range_allocate(&r, &p, &err), -1, "full");
    kc_range_release(&r, 30050);
    cr_assert_eq(kc_range_allocate(&r, &p, &err), 0);
    cr_assert_eq(p, 30050u);
    cr_assert_eq(kc_range_take(&r, 40000, &err), -1);
    cr_assert_str_eq(err.msg, "provided port is not in the valid range. The range of valid ports is 30000-30099");
    kc_range_release_all(&r);
}
