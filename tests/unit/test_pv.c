/* PV/PVC matching rules (controllers/pv_match.c) as pure functions: class resolution ("" vs
 * unset, beta annotation), pre-binding, access-mode groups tried fewest modes first, smallest
 * capacity, volume modes, selectors, phases; and the local-path provisioner's volume. */
#include "controllers/provisioner.h"
#include "controllers/pv_match.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    cr_assert_not_null(j, "bad test JSON: %s: %s", e.text, s);
    return j;
}

/* A volume: name, size, modes as a JSON array text, class (NULL: none), extra spec/status. */
static json_t *vol(const char *name, const char *size, const char *modes, const char *cls, const char *phase,
                   const char *extra)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"tier\":\"%s\"}},\"spec\":{\"capacity\":{"
             "\"storage\":\"%s\"},"
             "\"accessModes\":%s%s%s%s%s},\"status\":{\"phase\":\"%s\"}}",
             name, strchr(name, 'g') ? "gold" : "silver", size, modes, cls ? ",\"storageClassName\":\"" : "",
             cls ? cls : "", cls ? "\"" : "", extra ? extra : "", phase);
    return J(buf);
}

static json_t *claim(const char *size, const char *modes, const char *cls_json, const char *extra)
{
    char buf[2048];
    snprintf(
        buf, sizeof buf,
        "{\"metadata\":{\"name\":\"c\",\"namespace\":\"ns\",\"uid\":\"u1\"},\"spec\":{\"accessModes\":%s,"
        "\"resources\":{\"requests\":{\"storage\":\"%s\"}}%s%s}}",
        modes, size, cls_json ? cls_json : "", extra ? extra : "");
    return J(buf);
}

static const char *name_of(json_t *pv)
{
    return pv ? json_string_value(json_object_get(json_object_get(pv, "metadata"), "name")) : "(none)";
}

#define RWO "[\"ReadWriteOnce\"]"
#define RWX "[\"ReadWriteMany\"]"
#define RWO_RWX "[\"ReadWriteOnce\",\"ReadWriteMany\"]"
#define MANUAL ",\"storageClassName\":\"manual\""

Test(pv_match, classes)
{
    json_t *unset = claim("1Gi", RWO, NULL, NULL),
           *empty = claim("1Gi", RWO, ",\"storageClassName\":\"\"", NULL);
    json_t *beta = J("{\"metadata\":{\"annotations\":{\"volume.beta.kubernetes.io/storage-class\":\"old\"}},"
                     "\"spec\":{\"storageClassName\":\"new\"}}");
    cr_expect_str_eq(kc_pvc_class(unset), "");
    cr_expect_not(kc_pvc_has_class(unset));
    cr_expect_str_eq(kc_pvc_class(empty), "");
    cr_expect(kc_pvc_has_class(empty), "an explicit \"\" is a class");
    cr_expect_str_eq(kc_pvc_class(beta), "old");
    json_t *sc =
        J("{\"metadata\":{\"annotations\":{\"storageclass.beta.kubernetes.io/is-default-class\":\"true\"}},"
          "\"volumeBindingMode\":\"WaitForFirstConsumer\"}");
    cr_expect(kc_sc_is_default(sc));
    cr_expect(kc_sc_wait_for_consumer(sc));
    json_decref(unset), json_decref(empty), json_decref(beta), json_decref(sc);
}

Test(pv_match, smallest_that_fits)
{
    json_t *v[] = {vol("pv10", "10Gi", RWO, "manual", "Available", NULL),
                   vol("pv1", "1Gi", RWO, "manual", "Available", NULL),
                   vol("pv5", "5Gi", RWO, "manual", "Available", NULL),
                   vol("pv4other", "4Gi", RWO, "other", "Available", NULL),
                   vol("pv3rel", "3Gi", RWO, "manual", "Released", NULL)};
    json_t *c = claim("3Gi", RWO, MANUAL, NULL);
    cr_expect_str_eq(name_of(kc_pv_best_match(c, v, 5, false, NULL, NULL)), "pv5");
    json_t *big = claim("11Gi", RWO, MANUAL, NULL);
    cr_expect_null(kc_pv_best_match(big, v, 5, false, NULL, NULL), "a claim too large matches nothing");
    /* delayed binding: the controller leaves unbound volumes to the scheduler */
    cr_expect_null(kc_pv_best_match(c, v, 5, true, NULL, NULL));
    for (size_t i = 0; i < 5; i++)
        json_decref(v[i]);
    json_decref(c), json_decref(big);
}

Test(pv_match, access_mode_groups_fewest_modes_first)
{
    /* RWO+RWX 3Gi is smaller, but the set {RWO} is searched first */
    json_t *v[] = {vol("both", "3Gi", RWO_RWX, "manual", "Available", NULL),
                   vol("rwo", "8Gi", RWO, "manual", "Available", NULL)};
    json_t *c = claim("2Gi", RWO, MANUAL, NULL), *x = claim("2Gi", RWX, MANUAL, NULL);
    cr_expect_str_eq(name_of(kc_pv_best_match(c, v, 2, false, NULL, NULL)), "rwo");
    cr_expect_str_eq(name_of(kc_pv_best_match(x, v, 1, false, NULL, NULL)), "both");
    cr_expect_null(kc_pv_best_match(x, v + 1, 1, false, NULL, NULL), "RWX never takes an RWO-only volume");
    for (size_t i = 0; i < 2; i++)
        json_decref(v[i]);
    json_decref(c), json_decref(x);
}

Test(pv_match, prebound_claimref_wins_within_its_set)
{
    const char *ref = ",\"claimRef\":{\"namespace\":\"ns\",\"name\":\"c\"}";
    const char *other = ",\"claimRef\":{\"namespace\":\"ns\",\"name\":\"d\"}";
    json_t *v[] = {vol("pv5", "5Gi", RWO, "manual", "Available", NULL),
                   vol("pvx", "10Gi", RWO, "otherclass", "Available", ref),
                   vol("pv4", "4Gi", RWO, "manual", "Available", other)};
    json_t *c = claim("3Gi", RWO, MANUAL, NULL);
    cr_expect_str_eq(name_of(kc_pv_best_match(c, v, 3, false, NULL, NULL)), "pvx");
    cr_expect(kc_pv_bound_to(v[1], c));
    cr_expect_not(kc_pv_bound_to(v[2], c));
    /* the pre-bound volume in a bigger set loses to a fit in a smaller set */
    json_t *w[] = {vol("pv5", "5Gi", RWO, "manual", "Available", NULL),
                   vol("pvx", "10Gi", RWO_RWX, "manual", "Available", ref)};
    cr_expect_str_eq(name_of(kc_pv_best_match(c, w, 2, false, NULL, NULL)), "pv5");
    /* a claimRef with another uid is someone else's */
    json_t *u = vol("pvu", "5Gi", RWO, "manual", "Available",
                    ",\"claimRef\":{\"namespace\":\"ns\",\"name\":\"c\",\"uid\":\"old\"}");
    cr_expect_not(kc_pv_bound_to(u, c));
    cr_expect_null(kc_pv_best_match(c, &u, 1, false, NULL, NULL));
    for (size_t i = 0; i < 3; i++)
        json_decref(v[i]);
    json_decref(w[0]), json_decref(w[1]), json_decref(u), json_decref(c);
}

Test(pv_match, empty_class_mode_and_selector)
{
    json_t *v[] = {vol("std", "1Gi", RWO, "standard", "Available", NULL),
                   vol("bare", "1Gi", RWO, NULL, "Available", NULL),
                   vol("blockg", "1Gi", RWO, NULL, "Available", ",\"volumeMode\":\"Block\"")};
    json_t *empty = claim("1Gi", RWO, ",\"storageClassName\":\"\"", NULL);
    cr_expect_str_eq(name_of(kc_pv_best_match(empty, v, 2, false, NULL, NULL)), "bare");
    json_t *block = claim("1Gi", RWO, ",\"storageClassName\":\"\"", ",\"volumeMode\":\"Block\"");
    cr_expect_str_eq(name_of(kc_pv_best_match(block, v, 3, false, NULL, NULL)), "blockg");
    cr_expect_null(kc_pv_best_match(block, v, 2, false, NULL, NULL), "Block never binds Filesystem");
    json_t *gold = claim("1Gi", RWO, ",\"storageClassName\":\"\"",
                         ",\"selector\":{\"matchLabels\":{\"tier\":\"gold\"}}");
    cr_expect_null(kc_pv_best_match(gold, v, 2, false, NULL, NULL));
    json_t *goldfs = vol("goldfs", "2Gi", RWO, NULL, "Available", NULL);
    cr_expect_str_eq(name_of(kc_pv_best_match(gold, &goldfs, 1, false, NULL, NULL)), "goldfs");
    for (size_t i = 0; i < 3; i++)
        json_decref(v[i]);
    json_decref(empty), json_decref(block), json_decref(gold), json_decref(goldfs);
}

Test(pv_match, unsatisfied_reasons)
{
    json_t *c = claim("2Gi", RWO, MANUAL, NULL);
    json_t *small = vol("s", "1Gi", RWO, "manual", "Available", NULL);
    json_t *cls = vol("k", "5Gi", RWO, "other", "Available", NULL);
    json_t *modes = vol("m", "5Gi", RWX, "manual", "Available", NULL);
    json_t *ok = vol("o", "2048Mi", RWO, "manual", "Available", NULL);
    cr_expect_str_eq(kc_pv_unsatisfied(small, c), "requested PV is too small");
    cr_expect_str_eq(kc_pv_unsatisfied(cls, c), "storageClassName does not match");
    cr_expect_str_eq(kc_pv_unsatisfied(modes, c), "incompatible accessMode");
    cr_expect_null(kc_pv_unsatisfied(ok, c), "2048Mi == 2Gi fits");
    json_decref(c), json_decref(small), json_decref(cls), json_decref(modes), json_decref(ok);
}

static bool only_node_a(void *ud, json_t *pv)
{
    (void)ud;
    return strstr(name_of(pv), "-a") != NULL;
}

Test(pv_match, scheduler_path_checks_node_and_modes)
{
    json_t *v[] = {vol("small-b", "1Gi", RWO, "local", "Available", NULL),
                   vol("big-a", "9Gi", RWO, "local", "Available", NULL)};
    json_t *c = claim("1Gi", RWO, ",\"storageClassName\":\"local\"", NULL);
    cr_expect_str_eq(name_of(kc_pv_find_match(c, v, 2, true, only_node_a, NULL, NULL)), "big-a");
    json_t *x = claim("1Gi", RWX, ",\"storageClassName\":\"local\"", NULL);
    cr_expect_null(kc_pv_find_match(x, v, 2, true, only_node_a, NULL, NULL));
    json_decref(v[0]), json_decref(v[1]), json_decref(c), json_decref(x);
}

Test(local_path, provisioned_volume)
{
    json_t *c =
        J("{\"metadata\":{\"name\":\"data\",\"namespace\":\"ns\",\"uid\":\"abc\",\"resourceVersion\":\"7\"},"
          "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"2Gi\"}},"
          "\"storageClassName\":\"local-path\"}}");
    json_t *sc = J("{\"metadata\":{\"name\":\"local-path\"},\"provisioner\":\"rancher.io/local-path\","
                   "\"volumeBindingMode\":\"WaitForFirstConsumer\"}");
    json_t *pv = kc_local_path_volume(c, sc, "node-1", "/data/storage");
    char *s = json_dumps(pv, JSON_COMPACT | JSON_SORT_KEYS);
    cr_expect_str_eq(name_of(pv), "pvc-abc");
    cr_expect(strstr(s, "\"local\":{\"path\":\"/data/storage/pvc-abc_ns_data\"}"), "%s", s);
    cr_expect(strstr(s, "\"values\":[\"node-1\"]"), "%s", s);
    cr_expect(strstr(s, "\"persistentVolumeReclaimPolicy\":\"Delete\""), "%s", s);
    cr_expect(strstr(s, "\"capacity\":{\"storage\":\"2Gi\"}"), "%s", s);
    cr_expect(strstr(s, "\"uid\":\"abc\""), "%s", s);
    cr_expect(kc_pv_bound_to(pv, c));
    cr_expect_null(kc_pv_unsatisfied(pv, c));
    free(s);
    json_decref(pv);
    pv = kc_local_path_volume(c, sc, NULL, "/data/storage");
    cr_expect_null(json_object_get(json_object_get(pv, "spec"), "nodeAffinity"));
    cr_expect_not_null(json_object_get(json_object_get(pv, "spec"), "hostPath"));
    json_decref(pv), json_decref(c), json_decref(sc);
}
