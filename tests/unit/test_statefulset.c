/* StatefulSet rules without a server (semantics 3.1, 3.2, 3.5, 3.6, 3.8): ordinals, the identity
 * and storage of a new pod, claims, the retention-policy owner references on claims for every
 * policy combination, status counts and which revision a recreated pod gets. */
#include "controllers/statefulset_int.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const char *set_json =
    "{\"apiVersion\":\"apps/"
    "v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\","
    "\"uid\":\"set-uid\",\"generation\":4},\"spec\":{\"replicas\":3,\"serviceName\":\"nginx\","
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"
    "\"web\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}],\"volumes\":[{\"name\":\"cfg\",\"emptyDir\":"
    "{}},"
    "{\"name\":\"www\",\"emptyDir\":{}}]}},\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"www\","
    "\"labels\":{\"tier\":\"data\"}},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"]}}],"
    "\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":1}},"
    "\"persistentVolumeClaimRetentionPolicy\":{\"whenDeleted\":\"%s\",\"whenScaled\":\"%s\"}},"
    "\"status\":{\"currentReplicas\":2}}";

typedef struct fixture {
    json_t *doc;
    kc_obj *o;
    kc_sts_view v;
} fixture;

static void load(fixture *f, const char *when_deleted, const char *when_scaled)
{
    char buf[2048];
    snprintf(buf, sizeof buf, set_json, when_deleted, when_scaled);
    f->doc = json_loads(buf, 0, NULL);
    cr_assert(f->doc);
    f->o = kc_obj_build(kc_resource_find("apps", "v1", "statefulsets"), json_deep_copy(f->doc));
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_sts_view_init(&f->v, f->o, f->doc, &err), 0, "%s", err.msg);
}

static void unload(fixture *f)
{
    kc_sts_view_release(&f->v);
    kc_obj_unref(f->o);
    json_decref(f->doc);
}

Test(statefulset, ordinals)
{
    cr_assert_eq(kc_sts_ordinal("web-0", "web"), 0);
    cr_assert_eq(kc_sts_ordinal("web-12", "web"), 12);
    cr_assert_eq(kc_sts_ordinal("my-web-3", "my-web"), 3);
    cr_assert_eq(kc_sts_ordinal("my-web-3", "web"), -1); /* parent must be the set */
    cr_assert_eq(kc_sts_ordinal("web-x", "web"), -1);
    cr_assert_eq(kc_sts_ordinal("web-", "web"), -1);
    cr_assert_eq(kc_sts_ordinal("web", "web"), -1);
    cr_assert_eq(kc_sts_ordinal("web-1-2", "web"), -1);
    cr_assert_eq(kc_sts_ordinal("web-99999999999", "web"), -1); /* not an int32 */
}

Test(statefulset, new_pod_identity_and_storage)
{
    fixture f;
    load(&f, "Retain", "Retain");
    json_t *pod = kc_sts_new_pod(&f.v, f.v.tmpl, 2, "web-5d8f");
    json_t *md = json_object_get(pod, "metadata"), *labels = json_object_get(md, "labels");
    cr_assert_str_eq(json_string_value(json_object_get(md, "name")), "web-2");
    cr_assert_str_eq(json_string_value(json_object_get(labels, "statefulset.kubernetes.io/pod-name")),
                     "web-2");
    cr_assert_str_eq(json_string_value(json_object_get(labels, "apps.kubernetes.io/pod-index")), "2");
    cr_assert_str_eq(json_string_value(json_object_get(labels, "controller-revision-hash")), "web-5d8f");
    cr_assert_str_eq(json_string_value(json_object_get(labels, "app")), "web");
    json_t *spec = json_object_get(pod, "spec");
    cr_assert_str_eq(json_string_value(json_object_get(spec, "hostname")), "web-2");
    cr_assert_str_eq(json_string_value(json_object_get(spec, "subdomain")), "nginx");
    /* the claim volume replaces the template's volume of the same name; others are kept */
    json_t *vols = json_object_get(spec, "volumes");
    cr_assert_eq(json_array_size(vols), 2);
    json_t *www = json_array_get(vols, 0), *cfg = json_array_get(vols, 1);
    cr_assert_str_eq(json_string_value(json_object_get(www, "name")), "www");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(www, "persistentVolumeClaim"), "claimName")),
        "www-web-2");
    cr_assert_str_eq(json_string_value(json_object_get(cfg, "name")), "cfg");
    json_t *ref = json_array_get(json_object_get(md, "ownerReferences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(ref, "uid")), "set-uid");
    cr_assert(kc_sts_identity_matches(&f.v, pod, 2));
    cr_assert(kc_sts_storage_matches(&f.v, pod, 2));
    cr_assert_not(kc_sts_storage_matches(&f.v, pod, 1));
    json_object_del(labels, "apps.kubernetes.io/pod-index");
    cr_assert_not(kc_sts_identity_matches(&f.v, pod, 2));
    json_decref(pod);
    unload(&f);
}

Test(statefulset, claim_from_template)
{
    fixture f;
    load(&f, "Retain", "Retain");
    json_t *c = kc_sts_new_claim(&f.v, json_array_get(f.v.claims, 0), 1);
    json_t *md = json_object_get(c, "metadata");
    cr_assert_str_eq(json_string_value(json_object_get(md, "name")), "www-web-1");
    cr_assert_str_eq(json_string_value(json_object_get(md, "namespace")), "ns");
    json_t *labels = json_object_get(md, "labels");
    cr_assert_eq(json_object_size(labels), 2);
    cr_assert_str_eq(json_string_value(json_object_get(labels, "tier")), "data");
    cr_assert_str_eq(json_string_value(json_object_get(labels, "app")), "web");
    cr_assert(json_object_get(json_object_get(c, "spec"), "accessModes"));
    json_decref(c);
    unload(&f);
}

/* Which owners a claim ends up with: "set", "pod", both or none. */
static const char *owners(fixture *f, json_t *cur, bool scaled_down, bool *changed)
{
    static char out[32];
    json_t *refs = kc_sts_claim_refs(&f->v, cur, "web-1", "pod-uid", scaled_down, changed);
    if (!refs) return "untouchable";
    out[0] = 0;
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        const char *uid = json_string_value(json_object_get(r, "uid"));
        strcat(out, !strcmp(uid, "set-uid") ? "set," : !strcmp(uid, "pod-uid") ? "pod," : "other,");
        cr_assert(json_is_true(json_object_get(r, "controller")) || strcmp(uid, "set-uid"));
    }
    json_decref(refs);
    return out;
}

Test(statefulset, retention_policy_refs)
{
    static const struct {
        const char *deleted, *scaled;
        bool down;
        const char *want;
    } cases[] = {
        {"Retain", "Retain", false, ""},     {"Retain", "Retain", true, ""},
        {"Delete", "Retain", false, "set,"}, {"Delete", "Retain", true, "set,"},
        {"Retain", "Delete", false, ""},     {"Retain", "Delete", true, "pod,"},
        {"Delete", "Delete", false, "set,"}, {"Delete", "Delete", true, "pod,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fixture f;
        load(&f, cases[i].deleted, cases[i].scaled);
        bool changed;
        cr_assert_str_eq(owners(&f, NULL, cases[i].down, &changed), cases[i].want, "case %zu", i);
        cr_assert_eq(changed, *cases[i].want != 0);
        /* already right: no change; an unrelated non-controller owner is kept */
        json_t *cur = kc_sts_claim_refs(&f.v, NULL, "web-1", "pod-uid", cases[i].down, &changed);
        json_array_append_new(cur, json_pack("{s:s,s:s,s:s,s:s}", "apiVersion", "v1", "kind", "ConfigMap",
                                             "name", "x", "uid", "cm-uid"));
        owners(&f, cur, cases[i].down, &changed);
        cr_assert_not(changed, "case %zu", i);
        json_decref(cur);
        unload(&f);
    }
}

Test(statefulset, retention_leaves_foreign_and_stale_claims)
{
    fixture f;
    load(&f, "Delete", "Delete");
    bool changed;
    json_t *foreign = json_pack("[{s:s,s:s,s:s,s:s,s:b}]", "apiVersion", "apps/v1", "kind", "ReplicaSet",
                                "name", "other", "uid", "rs-uid", "controller", 1);
    cr_assert_str_eq(owners(&f, foreign, false, &changed), "untouchable");
    json_t *stale = json_pack("[{s:s,s:s,s:s,s:s}]", "apiVersion", "apps/v1", "kind", "StatefulSet", "name",
                              "web", "uid", "old-set-uid");
    cr_assert_str_eq(owners(&f, stale, false, &changed), "untouchable");
    /* scaling back up moves a claim from its pod back to the set */
    json_t *pod = kc_sts_claim_refs(&f.v, NULL, "web-1", "pod-uid", true, &changed);
    cr_assert_str_eq(owners(&f, pod, false, &changed), "set,");
    cr_assert(changed);
    json_decref(pod);
    json_decref(foreign);
    json_decref(stale);
    unload(&f);
}

static kc_sts_pod *mkpod(const char *phase, bool ready, bool deleting, const char *rev)
{
    kc_sts_pod *p = calloc(1, sizeof *p);
    json_t *doc = json_pack("{s:{s:{s:s}},s:{s:s,s:[{s:s,s:s}]}}", "metadata", "labels",
                            "controller-revision-hash", rev, "status", "phase", phase, "conditions", "type",
                            "Ready", "status", ready ? "True" : "False");
    if (deleting)
        json_object_set_new(json_object_get(doc, "metadata"), "deletionTimestamp", json_string("x"));
    kc_sts_pod_facts(p, doc, 0, 0, 0);
    return p;
}

Test(statefulset, status_counts)
{
    kc_sts_pod *pods[] = {mkpod("Running", true, false, "a"), mkpod("Running", true, false, "b"),
                          mkpod("Running", false, false, "b"), mkpod("Running", true, true, "b"),
                          mkpod("", false, false, "b")};
    kc_sts_counts c;
    kc_sts_count(pods, 5, "a", "b", &c);
    cr_assert_eq(c.replicas, 4); /* created (phase set), terminating included */
    cr_assert_eq(c.ready, 3);    /* Running and Ready, terminating included */
    cr_assert_eq(c.available, 3);
    cr_assert_eq(c.current, 1); /* terminating and not-yet-created pods do not count */
    cr_assert_eq(c.updated, 2);
    cr_assert(kc_sts_pod_healthy(pods[0]));
    cr_assert_not(kc_sts_pod_healthy(pods[3]));
    for (int i = 0; i < 5; i++) {
        kc_sts_pod_release(pods[i]);
        free(pods[i]);
    }
}

Test(statefulset, revision_for_recreated_pods)
{
    fixture f;
    load(&f, "Retain", "Retain");
    cr_assert(kc_sts_current_needed(&f.v, 0)); /* below partition 1: current revision */
    cr_assert_not(kc_sts_current_needed(&f.v, 1));
    f.v.has_ru = false; /* no rollingUpdate block: status.currentReplicas (2) decides */
    cr_assert(kc_sts_current_needed(&f.v, 1));
    cr_assert_not(kc_sts_current_needed(&f.v, 2));
    f.v.ondelete = true;
    cr_assert_not(kc_sts_current_needed(&f.v, 0));
    cr_assert_eq(kc_sts_max_unavailable(&f.v), 1);
    json_t *pct = json_string("50%"), *two = json_integer(2), *tiny = json_string("10%");
    f.v.max_unavailable = pct;
    cr_assert_eq(kc_sts_max_unavailable(&f.v), 1); /* 1.5 rounds down */
    f.v.max_unavailable = two;
    cr_assert_eq(kc_sts_max_unavailable(&f.v), 2);
    f.v.max_unavailable = tiny;
    cr_assert_eq(kc_sts_max_unavailable(&f.v), 1); /* at least one */
    json_decref(pct);
    json_decref(two);
    json_decref(tiny);
    unload(&f);
}
