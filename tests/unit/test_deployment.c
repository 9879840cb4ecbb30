/* The Deployment controller: its arithmetic table by table against the spec's worked examples
 * (semantics 2.2, 2.7, 2.9, 2.12), the pod-template hash and template equality (0.2, 0.3, 2.3),
 * the status and condition rules (2.10, 2.11), and whole rollouts against an in-process server
 * with a fake ReplicaSet controller in the test that copies spec into status (pods of an RS
 * whose image is "bad" never become available). */
#include "apiserver/apiserver.h"
#include "client/informer.h"
#include "controllers/deployment.h"
#include "controllers/deployment_hash.h"
#include "controllers/deployment_math.h"
#include "controllers/deployment_status.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <unistd.h>

/* ---- arithmetic ---- */

typedef struct fence_case {
    int replicas;
    const char *surge, *unavail; /* "25%" or an integer as text */
    const char *type;
    int want_s, want_u;
} fence_case;

static json_t *intstr(const char *s)
{
    return strchr(s, '%') ? json_string(s) : json_integer(atoi(s));
}

Test(deploy_math, fenceposts)
{
    static const fence_case cases[] = {
        {10, "25%", "25%", "RollingUpdate", 3, 2}, /* at most 13 pods, at least 8 available */
        {3, "25%", "25%", "RollingUpdate", 1, 0},
        {1, "25%", "25%", "RollingUpdate", 1, 0},
        {4, "25%", "25%", "RollingUpdate", 1, 1},
        {7, "50%", "50%", "RollingUpdate", 4, 3}, /* 3.5: surge up, unavailable down */
        {10, "3", "2", "RollingUpdate", 3, 2},
        {5, "2", "10", "RollingUpdate", 2, 5},    /* unavailable capped at replicas */
        {3, "0%", "10%", "RollingUpdate", 0, 1},  /* both round to 0: unavailable 1 */
        {0, "25%", "25%", "RollingUpdate", 0, 0}, /* R = 0: no unavailability */
        {0, "2", "1", "RollingUpdate", 2, 0},
        {10, "25%", "25%", "Recreate", 0, 0},
        {100, "100%", "0%", "RollingUpdate", 100, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const fence_case *c = &cases[i];
        json_t *spec =
            json_pack("{s:i,s:{s:s,s:{s:o,s:o}}}", "replicas", c->replicas, "strategy", "type", c->type,
                      "rollingUpdate", "maxSurge", intstr(c->surge), "maxUnavailable", intstr(c->unavail));
        int s, u;
        kc_deploy_fenceposts(spec, &s, &u);
        cr_expect_eq(s, c->want_s, "case %zu: R=%d %s/%s surge %d, want %d", i, c->replicas, c->surge,
                     c->unavail, s, c->want_s);
        cr_expect_eq(u, c->want_u, "case %zu: R=%d %s/%s unavailable %d, want %d", i, c->replicas, c->surge,
                     c->unavail, u, c->want_u);
        json_decref(spec);
    }
}

Test(deploy_math, fenceposts_defaults_when_rolling_update_missing)
{
    json_t *spec = json_pack("{s:i}", "replicas", 10);
    int s, u;
    kc_deploy_fenceposts(spec, &s, &u);
    cr_assert_eq(s, 3);
    cr_assert_eq(u, 2);
    json_decref(spec);
}

Test(deploy_math, scaled_value_rounding_and_errors)
{
    static const struct {
        const char *v;
        int total;
        bool up;
        int rc, want;
    } cases[] = {
        {"25%", 10, true, 0, 3}, {"25%", 10, false, 0, 2}, {"1%", 1, true, 0, 1},  {"1%", 1, false, 0, 0},
        {"0%", 50, true, 0, 0},  {"100%", 7, false, 0, 7}, {"33%", 3, true, 0, 1}, {"33%", 3, false, 0, 0},
        {"5", 10, true, -1, 0},  {"x%", 10, true, -1, 0},  {"%", 10, true, -1, 0}, {"1.5%", 10, true, -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *v = json_string(cases[i].v);
        int out = -7;
        int rc = kc_deploy_scaled_value(v, cases[i].total, cases[i].up, &out);
        cr_expect_eq(rc, cases[i].rc, "%s of %d: rc %d", cases[i].v, cases[i].total, rc);
        if (rc == 0)
            cr_expect_eq(out, cases[i].want, "%s of %d (%s): %d", cases[i].v, cases[i].total,
                         cases[i].up ? "up" : "down", out);
        json_decref(v);
    }
    json_t *n = json_integer(4);
    int out;
    cr_assert_eq(kc_deploy_scaled_value(n, 100, true, &out), 0);
    cr_assert_eq(out, 4, "integers are taken as they are");
    json_decref(n);
}

Test(deploy_math, new_rs_replicas)
{
    static const struct {
        int r, s, total, new_spec, want;
    } cases[] = {
        {3, 1, 3, 0, 1},   /* creation, R=3 defaults: new RS at 1 (4 pods) */
        {10, 3, 10, 0, 3}, /* creation, R=10 defaults: new RS at 3 (13 pods) */
        {10, 3, 11, 3, 5}, /* old 10 -> 8: new 3 -> 5 */
        {10, 3, 13, 3, 3}, /* at R + S: no room */
        {10, 3, 15, 3, 3}, /* above it (old still shrinking): nothing */
        {3, 1, 3, 2, 3},   /* never past R */
        {5, 5, 0, 0, 5},   /* fresh deployment: all at once */
        {0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        cr_expect_eq(kc_deploy_new_rs_replicas(cases[i].r, cases[i].s, cases[i].total, cases[i].new_spec),
                     cases[i].want, "case %zu", i);
}

static kc_rsnum row(const char *name, int64_t created, int spec, int replicas, int avail, int maxann)
{
    return (kc_rsnum){.spec = spec,
                      .replicas = replicas,
                      .available = avail,
                      .max_replicas = maxann,
                      .created = created,
                      .name = name,
                      .settled = true,
                      .target = spec};
}

Test(deploy_math, rolling_scale_down_r10)
{
    /* R=10, 25%/25%: new created at 3 (none available), old 10 all available -> old 10 -> 8. */
    int s, u;
    json_t *spec = json_pack("{s:i}", "replicas", 10);
    kc_deploy_fenceposts(spec, &s, &u);
    json_decref(spec);
    int budget = kc_deploy_max_scaled_down(10, u, 13, 3, 0);
    cr_assert_eq(budget, 2);
    kc_rsnum old[] = {row("old", 1, 10, 10, 10, 10)};
    cr_assert_eq(kc_deploy_cleanup_unhealthy(old, 1, budget), 0, "nothing unhealthy");
    cr_assert_eq(kc_deploy_scale_down_old(old, 1, 10, 10 - u), 2);
    cr_assert_eq(old[0].target, 8);
    /* new at 5, none available: 8 + 5 - 8 - 5 = 0, stuck (bad image). */
    cr_assert_eq(kc_deploy_max_scaled_down(10, u, 13, 5, 0), 0);
}

Test(deploy_math, rolling_r3_steps)
{
    /* R=3 defaults: S=1, U=0. New at 1 (total 4): nothing goes until it is available. */
    cr_assert_eq(kc_deploy_max_scaled_down(3, 0, 4, 1, 0), 0);
    cr_assert_eq(kc_deploy_max_scaled_down(3, 0, 4, 1, 1), 1);
    kc_rsnum old[] = {row("old", 1, 3, 3, 3, 4)};
    cr_assert_eq(kc_deploy_scale_down_old(old, 1, 4, 3), 1);
    cr_assert_eq(old[0].target, 2, "old 3 -> 2 once the new pod is available");
}

Test(deploy_math, cleanup_unhealthy_oldest_first)
{
    kc_rsnum old[] = {row("b", 20, 4, 4, 1, 0), row("a", 10, 3, 3, 2, 0), row("c", 30, 2, 2, 2, 0)};
    int done = kc_deploy_cleanup_unhealthy(old, 3, 2);
    cr_assert_eq(done, 2);
    cr_assert_str_eq(old[0].name, "a", "sorted by creation");
    cr_assert_eq(old[0].target, 2, "a loses its one unavailable replica");
    cr_assert_eq(old[1].target, 3, "b loses one more (budget 2)");
    cr_assert_eq(old[2].target, 2, "c is healthy");
}

Test(deploy_math, scale_down_old_oldest_first)
{
    kc_rsnum old[] = {row("young", 50, 5, 5, 5, 0), row("old", 10, 2, 2, 2, 0)};
    cr_assert_eq(kc_deploy_scale_down_old(old, 2, 12, 8), 4);
    cr_assert_str_eq(old[0].name, "old");
    cr_assert_eq(old[0].target, 0);
    cr_assert_eq(old[1].target, 3);
    cr_assert_eq(kc_deploy_scale_down_old(old, 2, 8, 8), 0, "at min available nothing goes");
}

static int target_of(kc_rsnum *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name)) return v[i].target;
    return -100;
}

Test(deploy_math, proportional_scaling)
{
    static const struct {
        int old_spec, new_spec, maxann, r, s, want_old, want_new;
    } cases[] = {
        {8, 5, 13, 15, 3, 11, 7}, /* the docs example: 8/5 -> 15 gives 11/7 */
        {11, 7, 18, 10, 3, 8, 5}, /* and back */
        {8, 5, 13, 0, 3, 0, 0},   /* to zero */
        {8, 5, 13, 10, 3, 8, 5},  /* same size: nothing moves */
        {3, 3, 6, 6, 1, 3, 4},    /* a tie when adding: the newer RS goes first and takes it */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        kc_rsnum v[] = {
            row("old", 1, cases[i].old_spec, cases[i].old_spec, cases[i].old_spec, cases[i].maxann),
            row("new", 2, cases[i].new_spec, cases[i].new_spec, 0, cases[i].maxann)};
        kc_deploy_proportional(v, 2, cases[i].r, cases[i].s, 0);
        cr_expect_eq(target_of(v, 2, "old"), cases[i].want_old, "case %zu old %d", i, target_of(v, 2, "old"));
        cr_expect_eq(target_of(v, 2, "new"), cases[i].want_new, "case %zu new %d", i, target_of(v, 2, "new"));
        int sum = target_of(v, 2, "old") + target_of(v, 2, "new");
        cr_expect_eq(sum, cases[i].r ? cases[i].r + cases[i].s : 0, "case %zu: sizes add up to R + S", i);
    }
}

Test(deploy_math, proportional_without_annotation_uses_status_replicas)
{
    kc_rsnum v[] = {row("old", 1, 6, 6, 6, -1), row("new", 2, 4, 4, 0, -1)};
    kc_deploy_proportional(v, 2, 20, 0, 10);
    cr_assert_eq(target_of(v, 2, "old"), 12);
    cr_assert_eq(target_of(v, 2, "new"), 8);
}

Test(deploy_math, history_cleanup)
{
    kc_rsnum v[5];
    const char *names[] = {"r1", "r2", "r3", "r4", "r5"};
    for (int i = 0; i < 5; i++) {
        v[i] = row(names[i], 10 + i, 0, 0, 0, 0);
        v[i].revision = 5 - i; /* revisions not in creation order */
    }
    v[1].replicas = 1;    /* revision 4: still has pods */
    v[3].settled = false; /* revision 2: RS controller has not caught up */
    size_t marked = kc_deploy_history_cleanup(v, 5, 1);
    /* candidates by revision: 1 2 3 4 | 5 kept; 2 unsettled, 4 busy -> 1 and 3 go */
    cr_assert_eq(marked, 2);
    for (int i = 0; i < 5; i++) {
        bool want = v[i].revision == 1 || v[i].revision == 3;
        cr_expect_eq(v[i].remove, want, "revision %lld", (long long)v[i].revision);
    }
    for (int i = 0; i < 5; i++)
        v[i].remove = false;
    cr_assert_eq(kc_deploy_history_cleanup(v, 5, 10), 0, "within the limit");
    cr_assert_eq(kc_deploy_history_cleanup(v, 5, KC_MAX_INT32), 0, "MaxInt32 keeps all");
    v[0].deleting = true;
    cr_assert_eq(kc_deploy_history_cleanup(v, 5, 4), 0, "a deleting RS is not a candidate");
}

Test(deploy_math, revision_history)
{
    static const struct {
        const char *hist, *old;
        size_t limit;
        const char *want; /* NULL: not appended */
    } cases[] = {
        {"", "1", 2000, "1"},           {"1", "3", 2000, "1,3"},
        {"1,3", "5", 2000, "1,3,5"},    {"10,11,12", "13", 9, "11,12,13"},
        {"10,11,12", "13", 6, "12,13"}, {"1", "123456", 3, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *h = kc_deploy_revision_history(cases[i].hist, cases[i].old, cases[i].limit);
        if (cases[i].want)
            cr_expect_str_eq(h ? h : "(null)", cases[i].want, "case %zu", i);
        else
            cr_expect_null(h, "case %zu: %s", i, h);
        free(h);
    }
}

/* ---- hash and template equality ---- */

static json_t *tmpl(const char *image)
{
    return json_pack("{s:{s:{s:s}},s:{s:[{s:s,s:s}]}}", "metadata", "labels", "app", "web", "spec",
                     "containers", "name", "c", "image", image);
}

static void hash_of(json_t *t, const int64_t *cc, char out[11])
{
    kc_deploy_template_hash(t, cc, out);
}

Test(deploy_hash, safe_encoding)
{
    static const struct {
        uint32_t v;
        const char *want;
    } cases[] = {{0, "4"}, {123, "567"}, {4294967295u, "86f8fbc6f9"}, {1286608618u, "56dbb4db5d"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[11];
        kc_safe_encode_u32(cases[i].v, out);
        cr_expect_str_eq(out, cases[i].want, "%u", cases[i].v);
    }
}

Test(deploy_hash, fnv1a_reference_values)
{
    cr_assert_eq(kc_fnv1a32(KC_FNV32_OFFSET, "", 0), 0x811c9dc5u);
    cr_assert_eq(kc_fnv1a32(KC_FNV32_OFFSET, "a", 1), 0xe40c292cu);
    cr_assert_eq(kc_fnv1a32(KC_FNV32_OFFSET, "foobar", 6), 0xbf9cf968u);
}

Test(deploy_hash, properties)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, "^[4-9bcdf]{1,10}$", REG_EXTENDED), 0);
    json_t *a = tmpl("nginx:1.25"), *b = tmpl("nginx:1.27"), *a2 = tmpl("nginx:1.25");
    char ha[11], hb[11], ha2[11], hc0[11], hc1[11];
    hash_of(a, NULL, ha);
    hash_of(b, NULL, hb);
    hash_of(a2, NULL, ha2);
    int64_t zero = 0, one = 1;
    hash_of(a, &zero, hc0);
    hash_of(a, &one, hc1);
    cr_assert_eq(regexec(&re, ha, 0, NULL, 0), 0, "%s", ha);
    cr_assert_eq(regexec(&re, hc1, 0, NULL, 0), 0, "%s", hc1);
    cr_assert_str_eq(ha, ha2, "deterministic");
    cr_assert_str_neq(ha, hb, "a template change changes it");
    cr_assert_str_neq(ha, hc0, "a non-nil collisionCount (even 0) changes it");
    cr_assert_str_neq(hc0, hc1, "each collisionCount gives another hash");
    /* the hash label, key order, nulls and empty objects do not count */
    json_t *c = json_pack("{s:{s:{s:s,s:s},s:n},s:{s:[{s:s,s:s,s:{}}]}}", "metadata", "labels",
                          KC_POD_TEMPLATE_HASH, ha, "app", "web", "creationTimestamp", "spec", "containers",
                          "image", "nginx:1.25", "name", "c", "resources");
    char hcn[11];
    hash_of(c, NULL, hcn);
    cr_assert_str_eq(ha, hcn);
    regfree(&re);
    json_decref(a);
    json_decref(b);
    json_decref(a2);
    json_decref(c);
}

Test(deploy_hash, template_equality)
{
    json_t *a = tmpl("nginx:1.25");
    /* what kubectl rollout undo sends: the RS template without the hash label, with
     * creationTimestamp: null and resources: {} */
    json_t *undo = json_pack("{s:{s:n,s:{s:s}},s:{s:[{s:s,s:s,s:{}}],s:{}}}", "metadata", "creationTimestamp",
                             "labels", "app", "web", "spec", "containers", "name", "c", "image", "nginx:1.25",
                             "resources", "securityContext");
    json_t *rs = tmpl("nginx:1.25");
    json_object_set_new(json_object_get(json_object_get(rs, "metadata"), "labels"), KC_POD_TEMPLATE_HASH,
                        json_string("5d8f9c"));
    json_t *other = tmpl("nginx:1.27");
    json_t *more_labels = tmpl("nginx:1.25");
    json_object_set_new(json_object_get(json_object_get(more_labels, "metadata"), "labels"), "tier",
                        json_string("x"));
    cr_assert(kc_deploy_template_equal(a, undo));
    cr_assert(kc_deploy_template_equal(a, rs), "the pod-template-hash label is ignored");
    cr_assert(kc_deploy_template_equal(rs, undo));
    cr_assert_not(kc_deploy_template_equal(a, other));
    cr_assert_not(kc_deploy_template_equal(a, more_labels));
    json_t *empty = json_object();
    cr_assert(kc_deploy_template_equal(NULL, empty));
    json_decref(empty);
    json_decref(a);
    json_decref(undo);
    json_decref(rs);
    json_decref(other);
    json_decref(more_labels);
}

/* ---- status ---- */

static json_t *rs_doc(const char *name, int spec, int replicas, int ready, int avail)
{
    return json_pack("{s:{s:s},s:{s:i},s:{s:i,s:i,s:i}}", "metadata", "name", name, "spec", "replicas", spec,
                     "status", "replicas", replicas, "readyReplicas", ready, "availableReplicas", avail);
}

static json_t *dep_doc(int replicas, int gen, json_t *status)
{
    return json_pack("{s:{s:s,s:i},s:{s:i,s:i},s:o}", "metadata", "name", "web", "generation", gen, "spec",
                     "replicas", replicas, "progressDeadlineSeconds", 30, "status",
                     status ? status : json_object());
}

static const char *cond_field(json_t *st, const char *type, const char *field)
{
    return json_string_value(json_object_get(kc_deploy_cond_get(st, type), field)) ?: "";
}

Test(deploy_status, counts_and_conditions)
{
    json_t *rs[] = {rs_doc("web-old", 2, 3, 3, 3), rs_doc("web-new", 2, 1, 1, 0)};
    json_t *d = dep_doc(3, 2, NULL);
    kc_deploy_view v = {d, rs, 2, rs[1], 3, 0, 1000};
    json_t *st = kc_deploy_rollout_status(&v);
    cr_assert_eq(kc_deploy_int(st, "observedGeneration", 0), 2);
    cr_assert_eq(kc_deploy_int(st, "replicas", 0), 4);
    cr_assert_eq(kc_deploy_int(st, "updatedReplicas", 0), 1);
    cr_assert_eq(kc_deploy_int(st, "readyReplicas", 0), 4);
    cr_assert_eq(kc_deploy_int(st, "availableReplicas", 0), 3);
    cr_assert_eq(kc_deploy_int(st, "unavailableReplicas", 0), 1, "4 desired - 3 available");
    cr_assert_str_eq(cond_field(st, "Available", "reason"), "MinimumReplicasAvailable");
    cr_assert_str_eq(cond_field(st, "Progressing", "reason"), "ReplicaSetUpdated");
    cr_assert_str_eq(cond_field(st, "Progressing", "message"), "ReplicaSet \"web-new\" is progressing.");
    json_decref(st);
    /* availability below R - U */
    v.u = 0;
    json_object_set_new(json_object_get(rs[0], "status"), "availableReplicas", json_integer(1));
    st = kc_deploy_calc_status(&v);
    cr_assert_str_eq(cond_field(st, "Available", "status"), "False");
    cr_assert_str_eq(cond_field(st, "Available", "reason"), "MinimumReplicasUnavailable");
    cr_assert_str_eq(cond_field(st, "Available", "message"),
                     "Deployment does not have minimum availability.");
    json_decref(st);
    json_decref(d);
    json_decref(rs[0]);
    json_decref(rs[1]);
}

Test(deploy_status, complete_then_deadline)
{
    json_t *rs[] = {rs_doc("web-abc", 3, 3, 3, 3)};
    json_t *d = dep_doc(3, 1, NULL);
    kc_deploy_view v = {d, rs, 1, rs[0], 3, 0, 1000};
    json_t *st = kc_deploy_rollout_status(&v);
    cr_assert_str_eq(cond_field(st, "Progressing", "reason"), "NewReplicaSetAvailable");
    cr_assert_str_eq(cond_field(st, "Progressing", "message"),
                     "ReplicaSet \"web-abc\" has successfully progressed.");
    cr_assert_eq(kc_deploy_requeue_after(&v, st), -1, "nothing to check once complete");
    json_decref(st);
    json_decref(d);
    json_decref(rs[0]);

    /* stuck: Progressing last updated at t=1000, deadline 30 s */
    json_t *new_rs = rs_doc("web-new", 1, 1, 0, 0), *old_rs = rs_doc("web-old", 3, 3, 3, 3);
    json_t *all[] = {old_rs, new_rs};
    json_t *prev = json_pack("{s:i,s:i,s:i,s:i,s:i}", "observedGeneration", 2, "replicas", 4,
                             "updatedReplicas", 1, "readyReplicas", 3, "availableReplicas", 3);
    kc_deploy_cond_set(prev, "Progressing", "True", "ReplicaSetUpdated", "x", 1000);
    d = dep_doc(3, 2, prev);
    v = (kc_deploy_view){d, all, 2, new_rs, 3, 0, 1020};
    st = kc_deploy_rollout_status(&v);
    cr_assert_str_eq(cond_field(st, "Progressing", "reason"), "ReplicaSetUpdated", "within the deadline");
    cr_assert_eq(kc_deploy_requeue_after(&v, st), 11, "look again at 1000 + 30 + 1");
    json_decref(st);
    v.now = 1031;
    st = kc_deploy_rollout_status(&v);
    cr_assert_str_eq(cond_field(st, "Progressing", "status"), "False");
    cr_assert_str_eq(cond_field(st, "Progressing", "reason"), "ProgressDeadlineExceeded");
    cr_assert_str_eq(cond_field(st, "Progressing", "message"),
                     "ReplicaSet \"web-new\" has timed out progressing.");
    json_decref(st);
    /* progress after the timeout: True again, lastTransitionTime moves (status changed) */
    json_object_set_new(json_object_get(new_rs, "status"), "availableReplicas", json_integer(1));
    json_object_set_new(json_object_get(new_rs, "status"), "readyReplicas", json_integer(1));
    kc_deploy_cond_set(prev, "Progressing", "False", "ProgressDeadlineExceeded", "y", 1031);
    v.now = 1040;
    st = kc_deploy_rollout_status(&v);
    cr_assert_str_eq(cond_field(st, "Progressing", "reason"), "ReplicaSetUpdated");
    cr_assert_str_eq(cond_field(st, "Progressing", "lastTransitionTime"), "1970-01-01T00:17:20Z");
    json_decref(st);
    json_decref(d);
    json_decref(old_rs);
    json_decref(new_rs);
}

Test(deploy_status, condition_update_rules)
{
    json_t *st = json_object();
    kc_deploy_cond_set(st, "Available", "True", "MinimumReplicasAvailable", "m", 100);
    kc_deploy_cond_set(st, "Progressing", "True", "NewReplicaSetCreated", "a", 100);
    kc_deploy_cond_set(st, "Progressing", "True", "NewReplicaSetCreated", "b", 200);
    cr_assert_str_eq(cond_field(st, "Progressing", "message"), "a", "same status and reason: unchanged");
    kc_deploy_cond_set(st, "Progressing", "True", "NewReplicaSetAvailable", "c", 300);
    cr_assert_str_eq(cond_field(st, "Progressing", "lastTransitionTime"), "1970-01-01T00:01:40Z",
                     "same status: transition time kept");
    cr_assert_str_eq(cond_field(st, "Progressing", "lastUpdateTime"), "1970-01-01T00:05:00Z");
    kc_deploy_cond_set(st, "Available", "False", "MinimumReplicasUnavailable", "n", 400);
    cr_assert_str_eq(cond_field(st, "Available", "lastTransitionTime"), "1970-01-01T00:06:40Z");
    json_t *conds = json_object_get(st, "conditions");
    cr_assert_eq(json_array_size(conds), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(conds, 1), "type")), "Available",
                     "a changed condition moves to the end");
    json_decref(st);
}

Test(deploy_status, paused_conditions)
{
    json_t *d = dep_doc(3, 1, NULL);
    cr_assert_not(kc_deploy_paused_conditions(d, 100), "not paused, never paused: nothing");
    json_object_set_new(json_object_get(d, "spec"), "paused", json_true());
    cr_assert(kc_deploy_paused_conditions(d, 100));
    json_t *st = json_object_get(d, "status");
    cr_assert_str_eq(cond_field(st, "Progressing", "status"), "Unknown");
    cr_assert_str_eq(cond_field(st, "Progressing", "reason"), "DeploymentPaused");
    cr_assert_str_eq(cond_field(st, "Progressing", "message"), "Deployment is paused");
    cr_assert_not(kc_deploy_paused_conditions(d, 101), "already recorded");
    json_object_del(json_object_get(d, "spec"), "paused");
    cr_assert(kc_deploy_paused_conditions(d, 102));
    cr_assert_str_eq(cond_field(st, "Progressing", "reason"), "DeploymentResumed");
    kc_deploy_cond_set(st, "Progressing", "False", "ProgressDeadlineExceeded", "t", 103);
    json_object_set_new(json_object_get(d, "spec"), "paused", json_true());
    cr_assert_not(kc_deploy_paused_conditions(d, 104), "a timeout is not overwritten by pause");
    json_decref(d);
}

/* ---- the controller against an in-process server ---- */

static test_server ts;
static kc_apiserver *srv;
static pthread_t fake;
static int DEP, RS, POD, EV;
static void *ctl;
static kc_client *cl;
static volatile bool fake_stop, fake_paused;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int max_pods = -1, min_avail = 1 << 30;
static char watch_ns[64];

static json_t *get_doc(int res, const char *ns, const char *name)
{
    kc_obj *o = NULL;
    kc_err err = KC_ERR_INIT;
    if (kc_client_get(cl, res, ns, name, &o, &err) < 0) {
        kc_err_release(&err);
        return NULL;
    }
    json_t *d = kc_obj_parse(o);
    kc_obj_unref(o);
    return d;
}

static bool bad_image(json_t *rs)
{
    json_t *c = json_array_get(
        json_object_get(json_object_get(json_object_get(json_object_get(rs, "spec"), "template"), "spec"),
                        "containers"),
        0);
    return strstr(json_string_value(json_object_get(c, "image")) ?: "", "bad") != NULL;
}

/* The fake ReplicaSet controller: status follows spec; pods of a "bad" image never become
 * available. Returns true when it wrote something. */
static bool fake_rs_step(json_t *rs)
{
    json_t *md = json_object_get(rs, "metadata");
    int spec = (int)kc_deploy_int(json_object_get(rs, "spec"), "replicas", 1);
    int avail = bad_image(rs) ? 0 : spec;
    int64_t gen = kc_deploy_int(md, "generation", 1);
    json_t *want =
        json_pack("{s:I,s:i,s:i,s:i,s:i}", "observedGeneration", (json_int_t)gen, "replicas", spec,
                  "fullyLabeledReplicas", spec, "readyReplicas", avail, "availableReplicas", avail);
    bool changed = !json_equal(want, json_object_get(rs, "status"));
    if (changed) {
        json_object_set(rs, "status", want);
        kc_err err = KC_ERR_INIT;
        kc_client_update(cl, RS, rs, "status", NULL, &err);
        kc_err_release(&err);
    }
    json_decref(want);
    return changed;
}

/* The invariants of a rolling update, over the RS in watch_ns. */
static void check_bounds(json_t **docs, size_t n)
{
    int pods = 0, avail = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *st = json_object_get(docs[i], "status");
        pods += (int)kc_deploy_int(st, "replicas", 0);
        avail += (int)kc_deploy_int(st, "availableReplicas", 0);
    }
    pthread_mutex_lock(&mu);
    if (pods > max_pods) max_pods = pods;
    if (avail < min_avail) min_avail = avail;
    pthread_mutex_unlock(&mu);
}

static void *fake_rs_controller(void *p)
{
    (void)p;
    while (!fake_stop) {
        if (fake_paused) {
            usleep(5000);
            continue;
        }
        kc_obj **v;
        size_t n;
        kc_err err = KC_ERR_INIT;
        if (kc_client_list(cl, RS, NULL, NULL, NULL, &v, &n, NULL, &err) == 0) {
            json_t **docs = calloc(n + 1, sizeof *docs);
            size_t nw = 0;
            for (size_t i = 0; i < n; i++) {
                json_t *d = kc_obj_parse(v[i]);
                bool watched = watch_ns[0] && !strcmp(v[i]->ns, watch_ns);
                if (watched) docs[nw++] = json_incref(d);
                fake_rs_step(d);
                json_decref(d);
            }
            if (nw) check_bounds(docs, nw);
            for (size_t i = 0; i < nw; i++)
                json_decref(docs[i]);
            free(docs);
            kc_objv_free(v, n);
        }
        kc_err_release(&err);
        usleep(5000);
    }
    return NULL;
}

static void start(void)
{
    srv = test_server_start(&ts, "deploy", false);
    DEP = kc_resource_find("apps", "v1", "deployments");
    RS = kc_resource_find("apps", "v1", "replicasets");
    POD = kc_resource_find("", "v1", "pods");
    EV = kc_resource_find("", "v1", "events");
    ctl = kc_deployment_start(kc_apiserver_client(srv, "deployment-controller"));
    test_server_serve(&ts);
    cl = kc_apiserver_client(srv, "test");
    fake_stop = false;
    pthread_create(&fake, NULL, fake_rs_controller, NULL);
}

static void stop(void)
{
    fake_stop = true;
    pthread_join(fake, NULL);
    kc_deployment_stop(ctl);
    kc_client_free(cl);
    test_server_destroy(&ts);
}

TestSuite(deploy_ctl, .init = start, .fini = stop, .timeout = 60);

static json_t *deployment(const char *name, int replicas, const char *image)
{
    return json_pack("{s:s,s:s,s:{s:s},s:{s:i,s:{s:{s:s}},s:{s:{s:{s:s}},s:{s:[{s:s,s:s}]}}}}", "apiVersion",
                     "apps/v1", "kind", "Deployment", "metadata", "name", name, "spec", "replicas", replicas,
                     "selector", "matchLabels", "app", name, "template", "metadata", "labels", "app", name,
                     "spec", "containers", "name", "c", "image", image);
}

static void create_ns(const char *ns)
{
    json_t *n =
        json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", ns);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(cl, kc_resource_find("", "v1", "namespaces"), NULL, n, NULL, &err), 0, "%s",
                 err.msg);
    json_decref(n);
}

static void create_deploy(const char *ns, json_t *d)
{
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(cl, DEP, ns, d, NULL, &err), 0, "%s", err.msg);
    json_decref(d);
}

typedef void (*edit_fn)(json_t *d, const void *arg);

/* GET, edit, PUT until it does not conflict. */
static void edit_deploy(const char *ns, const char *name, edit_fn fn, const void *arg)
{
    for (int i = 0; i < 50; i++) {
        json_t *d = get_doc(DEP, ns, name);
        cr_assert_not_null(d);
        fn(d, arg);
        kc_err err = KC_ERR_INIT;
        int rc = kc_client_update(cl, DEP, d, NULL, NULL, &err);
        json_decref(d);
        if (rc == 0) return;
        cr_assert_eq(err.reason, KC_ECONFLICT, "%s", err.msg);
        kc_err_release(&err);
    }
    cr_assert_fail("update kept conflicting");
}

static json_t *containers(json_t *d)
{
    return json_object_get(json_object_get(json_object_get(json_object_get(d, "spec"), "template"), "spec"),
                           "containers");
}

static void set_image(json_t *d, const void *img)
{
    json_object_set_new(json_array_get(containers(d), 0), "image", json_string(img));
}

static void set_replicas(json_t *d, const void *n)
{
    json_object_set_new(json_object_get(d, "spec"), "replicas", json_integer(*(const int *)n));
}

static void set_paused(json_t *d, const void *on)
{
    json_object_set_new(json_object_get(d, "spec"), "paused", json_boolean(*(const bool *)on));
}

typedef struct rsinfo {
    char name[128];
    int spec, avail;
    char revision[16], history[64], desired[16], max[16];
    char image[64];
} rsinfo;

static size_t list_rs(const char *ns, rsinfo *out, size_t max)
{
    kc_obj **v;
    size_t n;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_list(cl, RS, ns, NULL, NULL, &v, &n, NULL, &err), 0);
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        if (v[i]->deleting) continue;
        json_t *d = kc_obj_parse(v[i]), *ann = json_object_get(json_object_get(d, "metadata"), "annotations");
        rsinfo *r = &out[k++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", v[i]->name);
        r->spec = (int)kc_deploy_int(json_object_get(d, "spec"), "replicas", 1);
        r->avail = (int)kc_deploy_int(json_object_get(d, "status"), "availableReplicas", 0);
#define ANN(f, key) snprintf(r->f, sizeof r->f, "%s", json_string_value(json_object_get(ann, key)) ?: "")
        ANN(revision, "deployment.kubernetes.io/revision");
        ANN(history, "deployment.kubernetes.io/revision-history");
        ANN(desired, "deployment.kubernetes.io/desired-replicas");
        ANN(max, "deployment.kubernetes.io/max-replicas");
#undef ANN
        json_t *c = json_array_get(
            json_object_get(json_object_get(json_object_get(json_object_get(d, "spec"), "template"), "spec"),
                            "containers"),
            0);
        snprintf(r->image, sizeof r->image, "%s", json_string_value(json_object_get(c, "image")) ?: "");
        json_decref(d);
    }
    kc_objv_free(v, n);
    return k;
}

static rsinfo *rs_with_image(rsinfo *v, size_t n, const char *image)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].image, image)) return &v[i];
    return NULL;
}

static const char *dep_cond(json_t *d, const char *type, const char *field)
{
    return cond_field(json_object_get(d, "status"), type, field);
}

/* Polls until pred holds (10 s). */
typedef bool (*pred_fn)(const char *ns, const void *arg);
static bool eventually(pred_fn p, const char *ns, const void *arg)
{
    for (int i = 0; i < 1000; i++) {
        if (p(ns, arg)) return true;
        usleep(10000);
    }
    return p(ns, arg);
}

/* "image:spec,image:spec" with every RS present exactly so. */
static bool rs_sizes_are(const char *ns, const void *arg)
{
    rsinfo v[16];
    size_t n = list_rs(ns, v, 16), want = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", (const char *)arg);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(t, ':');
        *colon = 0;
        rsinfo *r = rs_with_image(v, n, t);
        if (!r || r->spec != atoi(colon + 1)) return false;
        want++;
    }
    return n == want;
}

static bool rollout_done(const char *ns, const void *name)
{
    json_t *d = get_doc(DEP, ns, name);
    json_t *spec = json_object_get(d, "spec"), *st = json_object_get(d, "status");
    int64_t r = kc_deploy_int(spec, "replicas", 1);
    bool ok = kc_deploy_int(st, "observedGeneration", 0) >=
                  kc_deploy_int(json_object_get(d, "metadata"), "generation", 0) &&
              kc_deploy_int(st, "updatedReplicas", 0) == r && kc_deploy_int(st, "replicas", 0) == r &&
              kc_deploy_int(st, "availableReplicas", 0) == r &&
              !strcmp(dep_cond(d, "Progressing", "reason"), "NewReplicaSetAvailable");
    json_decref(d);
    return ok;
}

static bool has_event(const char *ns, const void *msg)
{
    kc_obj **v;
    size_t n;
    kc_err err = KC_ERR_INIT;
    bool found = false;
    if (kc_client_list(cl, EV, ns, NULL, NULL, &v, &n, NULL, &err) < 0) return false;
    for (size_t i = 0; i < n && !found; i++) {
        json_t *e = kc_obj_parse(v[i]);
        found = !strcmp(json_string_value(json_object_get(e, "message")) ?: "", msg) &&
                !strcmp(json_string_value(json_object_get(e, "reason")) ?: "", "ScalingReplicaSet");
        json_decref(e);
    }
    kc_objv_free(v, n);
    return found;
}

static void watch_bounds(const char *ns)
{
    pthread_mutex_lock(&mu);
    snprintf(watch_ns, sizeof watch_ns, "%s", ns);
    max_pods = -1;
    min_avail = 1 << 30;
    pthread_mutex_unlock(&mu);
}

Test(deploy_ctl, create_names_labels_annotations_status)
{
    create_ns("d1");
    create_deploy("d1", deployment("nginx", 3, "nginx:1.25"));
    cr_assert(eventually(rollout_done, "d1", "nginx"), "rollout completes");
    json_t *rs = NULL;
    kc_obj **v;
    size_t n;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_list(cl, RS, "d1", NULL, NULL, &v, &n, NULL, &err), 0);
    cr_assert_eq(n, 1, "exactly one ReplicaSet");
    rs = kc_obj_parse(v[0]);
    kc_objv_free(v, n);
    json_t *md = json_object_get(rs, "metadata"), *ann = json_object_get(md, "annotations");
    const char *name = json_string_value(json_object_get(md, "name"));
    char hash[16];
    snprintf(hash, sizeof hash, "%s",
             json_string_value(json_object_get(json_object_get(md, "labels"), "pod-template-hash")) ?: "");
    cr_assert_neq(hash[0], 0);
    regex_t re;
    regcomp(&re, "^nginx-[4-9bcdf]{1,10}$", REG_EXTENDED);
    cr_assert_eq(regexec(&re, name, 0, NULL, 0), 0, "%s", name);
    regfree(&re);
    char want[64];
    snprintf(want, sizeof want, "nginx-%s", hash);
    cr_assert_str_eq(name, want);
    json_t *spec = json_object_get(rs, "spec");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(json_object_get(spec, "selector"), "matchLabels"),
                                          "pod-template-hash")),
        hash);
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(spec, "template"), "metadata"), "labels"),
            "pod-template-hash")),
        hash);
    cr_assert_str_eq(json_string_value(json_object_get(ann, "deployment.kubernetes.io/revision")), "1");
    cr_assert_str_eq(json_string_value(json_object_get(ann, "deployment.kubernetes.io/desired-replicas")),
                     "3");
    cr_assert_str_eq(json_string_value(json_object_get(ann, "deployment.kubernetes.io/max-replicas")), "4");
    json_t *ref = json_array_get(json_object_get(md, "ownerReferences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(ref, "kind")), "Deployment");
    cr_assert(json_is_true(json_object_get(ref, "controller")));
    cr_assert(json_is_true(json_object_get(ref, "blockOwnerDeletion")));
    cr_assert_eq(kc_deploy_int(spec, "replicas", 0), 3);
    json_decref(rs);

    json_t *d = get_doc(DEP, "d1", "nginx");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(json_object_get(d, "metadata"), "annotations"),
                                          "deployment.kubernetes.io/revision")),
        "1");
    cr_assert_str_eq(dep_cond(d, "Available", "reason"), "MinimumReplicasAvailable");
    cr_assert_str_eq(dep_cond(d, "Progressing", "status"), "True");
    cr_assert_eq(kc_deploy_int(json_object_get(d, "status"), "readyReplicas", 0), 3);
    cr_assert_null(json_object_get(json_object_get(d, "status"), "collisionCount"), "no spurious collision");
    json_decref(d);
    snprintf(want, sizeof want, "Scaled up replica set nginx-%s to 3", hash);
    cr_assert(eventually(has_event, "d1", want), "event %s", want);
}

Test(deploy_ctl, rolling_update_bounds_undo_and_history)
{
    create_ns("d2");
    create_deploy("d2", deployment("web", 3, "nginx:1.25"));
    cr_assert(eventually(rollout_done, "d2", "web"));
    watch_bounds("d2");
    edit_deploy("d2", "web", set_image, "nginx:1.27");
    cr_assert(eventually(rs_sizes_are, "d2", "nginx:1.25:0,nginx:1.27:3"));
    cr_assert(eventually(rollout_done, "d2", "web"));
    pthread_mutex_lock(&mu);
    int mp = max_pods, ma = min_avail;
    pthread_mutex_unlock(&mu);
    cr_assert_leq(mp, 4, "never more than R + maxSurge pods (saw %d)", mp);
    cr_assert_geq(ma, 3, "never fewer than R - maxUnavailable available (saw %d)", ma);
    rsinfo v[8];
    size_t n = list_rs("d2", v, 8);
    rsinfo *old = rs_with_image(v, n, "nginx:1.25"), *nw = rs_with_image(v, n, "nginx:1.27");
    cr_assert_str_eq(nw->revision, "2");
    cr_assert_str_eq(old->revision, "1");
    char msg[200];
    snprintf(msg, sizeof msg, "Scaled up replica set %s to 1", nw->name);
    cr_assert(eventually(has_event, "d2", msg), "%s", msg);
    snprintf(msg, sizeof msg, "Scaled down replica set %s to 2 from 3", old->name);
    cr_assert(eventually(has_event, "d2", msg), "%s", msg);

    /* undo as kubectl sends it: the old RS's template, hash label removed, with
     * creationTimestamp: null and resources: {} */
    char oldname[128];
    snprintf(oldname, sizeof oldname, "%s", old->name);
    json_t *ors = get_doc(RS, "d2", oldname);
    json_t *t = json_deep_copy(json_object_get(json_object_get(ors, "spec"), "template"));
    json_decref(ors);
    json_object_del(json_object_get(json_object_get(t, "metadata"), "labels"), "pod-template-hash");
    json_object_set_new(json_object_get(t, "metadata"), "creationTimestamp", json_null());
    json_object_set_new(json_array_get(json_object_get(json_object_get(t, "spec"), "containers"), 0),
                        "resources", json_object());
    char *tp = json_dumps(t, JSON_COMPACT);
    char *patch = NULL;
    cr_assert_gt(asprintf(&patch, "[{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":%s}]", tp), 0);
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(
        kc_client_patch(cl, DEP, "d2", "web", NULL, "application/json-patch+json", patch, NULL, &err), 0,
        "%s", err.msg);
    free(tp);
    free(patch);
    json_decref(t);
    cr_assert(eventually(rs_sizes_are, "d2", "nginx:1.25:3,nginx:1.27:0"),
              "no third RS; the old one is back");
    cr_assert(eventually(rollout_done, "d2", "web"));
    n = list_rs("d2", v, 8);
    cr_assert_eq(n, 2);
    old = rs_with_image(v, n, "nginx:1.25");
    cr_assert_str_eq(old->name, oldname);
    cr_assert_str_eq(old->revision, "3");
    cr_assert_str_eq(old->history, "1");
    json_t *d = get_doc(DEP, "d2", "web");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(json_object_get(d, "metadata"), "annotations"),
                                          "deployment.kubernetes.io/revision")),
        "3");
    cr_assert_null(json_object_get(json_object_get(d, "status"), "collisionCount"));
    json_decref(d);
}

Test(deploy_ctl, stuck_rollout_then_proportional_scaling)
{
    create_ns("d3");
    json_t *d = deployment("web", 10, "nginx:1.25");
    json_object_set_new(json_object_get(d, "spec"), "strategy",
                        json_pack("{s:s,s:{s:i,s:i}}", "type", "RollingUpdate", "rollingUpdate", "maxSurge",
                                  3, "maxUnavailable", 2));
    create_deploy("d3", d);
    cr_assert(eventually(rollout_done, "d3", "web"));
    edit_deploy("d3", "web", set_image, "nginx:bad");
    cr_assert(eventually(rs_sizes_are, "d3", "nginx:1.25:8,nginx:bad:5"),
              "10 replicas 3/2, bad image: 8 / 5");
    usleep(300000);
    cr_assert(rs_sizes_are("d3", "nginx:1.25:8,nginx:bad:5"), "and it stays there");
    int fifteen = 15;
    edit_deploy("d3", "web", set_replicas, &fifteen);
    cr_assert(eventually(rs_sizes_are, "d3", "nginx:1.25:11,nginx:bad:7"), "scaled to 15: 11 / 7");
    rsinfo v[4];
    size_t n = list_rs("d3", v, 4);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(v[i].desired, "15");
        cr_assert_str_eq(v[i].max, "18");
    }
}

static bool deadline_exceeded(const char *ns, const void *name)
{
    json_t *d = get_doc(DEP, ns, name);
    bool ok = !strcmp(dep_cond(d, "Progressing", "reason"), "ProgressDeadlineExceeded") &&
              !strcmp(dep_cond(d, "Progressing", "status"), "False");
    json_decref(d);
    return ok;
}

Test(deploy_ctl, progress_deadline)
{
    create_ns("d4");
    json_t *d = deployment("web", 3, "nginx:1.25");
    json_object_set_new(json_object_get(d, "spec"), "progressDeadlineSeconds", json_integer(2));
    create_deploy("d4", d);
    cr_assert(eventually(rollout_done, "d4", "web"));
    edit_deploy("d4", "web", set_image, "nginx:bad");
    cr_assert(eventually(rs_sizes_are, "d4", "nginx:1.25:3,nginx:bad:1"));
    d = get_doc(DEP, "d4", "web");
    cr_assert_str_eq(dep_cond(d, "Progressing", "status"), "True", "not yet");
    json_decref(d);
    cr_assert(eventually(deadline_exceeded, "d4", "web"),
              "Progressing=False/ProgressDeadlineExceeded after ~2 s");
    d = get_doc(DEP, "d4", "web");
    cr_assert_str_eq(dep_cond(d, "Available", "status"), "True");
    json_decref(d);
}

Test(deploy_ctl, pause_scale_resume)
{
    create_ns("d5");
    create_deploy("d5", deployment("web", 2, "nginx:1.25"));
    cr_assert(eventually(rollout_done, "d5", "web"));
    bool on = true, off = false;
    edit_deploy("d5", "web", set_paused, &on);
    edit_deploy("d5", "web", set_image, "nginx:1.26");
    edit_deploy("d5", "web", set_image, "nginx:1.27");
    int four = 4;
    edit_deploy("d5", "web", set_replicas, &four);
    cr_assert(eventually(rs_sizes_are, "d5", "nginx:1.25:4"), "scaling works while paused, no new RS");
    json_t *d = get_doc(DEP, "d5", "web");
    cr_assert_str_eq(dep_cond(d, "Progressing", "status"), "Unknown");
    cr_assert_str_eq(dep_cond(d, "Progressing", "reason"), "DeploymentPaused");
    json_decref(d);
    usleep(200000);
    cr_assert(rs_sizes_are("d5", "nginx:1.25:4"));
    edit_deploy("d5", "web", set_paused, &off);
    cr_assert(eventually(rs_sizes_are, "d5", "nginx:1.25:0,nginx:1.27:4"), "one new RS, the latest template");
    cr_assert(eventually(rollout_done, "d5", "web"));
    rsinfo v[4];
    size_t n = list_rs("d5", v, 4);
    cr_assert_str_eq(rs_with_image(v, n, "nginx:1.27")->revision, "2");
}

static bool rs_count_is(const char *ns, const void *want)
{
    rsinfo v[16];
    return list_rs(ns, v, 16) == (size_t) * (const int *)want;
}

Test(deploy_ctl, revision_history_limit)
{
    create_ns("d6");
    json_t *d = deployment("web", 2, "nginx:1");
    json_object_set_new(json_object_get(d, "spec"), "revisionHistoryLimit", json_integer(1));
    create_deploy("d6", d);
    cr_assert(eventually(rollout_done, "d6", "web"));
    const char *images[] = {"nginx:2", "nginx:3", "nginx:4"};
    for (int i = 0; i < 3; i++) {
        edit_deploy("d6", "web", set_image, images[i]);
        cr_assert(eventually(rollout_done, "d6", "web"));
    }
    int two = 2;
    cr_assert(eventually(rs_count_is, "d6", &two), "current + one old");
    rsinfo v[8];
    size_t n = list_rs("d6", v, 8);
    cr_assert_not_null(rs_with_image(v, n, "nginx:4"));
    cr_assert_not_null(rs_with_image(v, n, "nginx:3"), "the newest old one is kept");
}

/* A pod of an RS, as the RS controller would create it (template labels, ControllerRef). */
static void make_pod(const char *ns, const char *rsname, const char *name)
{
    kc_obj *rs = NULL;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_get(cl, RS, ns, rsname, &rs, &err), 0);
    json_t *doc = kc_obj_parse(rs), *t = json_object_get(json_object_get(doc, "spec"), "template");
    json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:O,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},s:O}", "apiVersion", "v1",
                            "kind", "Pod", "metadata", "name", name, "labels",
                            json_object_get(json_object_get(t, "metadata"), "labels"), "ownerReferences",
                            "apiVersion", "apps/v1", "kind", "ReplicaSet", "name", rsname, "uid", rs->uid,
                            "controller", 1, "blockOwnerDeletion", 1, "spec", json_object_get(t, "spec"));
    cr_assert_eq(kc_client_create(cl, POD, ns, pod, NULL, &err), 0, "%s", err.msg);
    json_decref(pod);
    json_decref(doc);
    kc_obj_unref(rs);
}

Test(deploy_ctl, recreate_waits_for_old_pods)
{
    create_ns("d7");
    json_t *d = deployment("web", 2, "nginx:1.25");
    json_object_set_new(json_object_get(d, "spec"), "strategy", json_pack("{s:s}", "type", "Recreate"));
    create_deploy("d7", d);
    cr_assert(eventually(rollout_done, "d7", "web"));
    rsinfo v[4];
    size_t n = list_rs("d7", v, 4);
    cr_assert_eq(n, 1);
    make_pod("d7", v[0].name, "leftover");
    edit_deploy("d7", "web", set_image, "nginx:1.27");
    cr_assert(eventually(rs_sizes_are, "d7", "nginx:1.25:0"), "old scaled to 0 first");
    usleep(300000);
    cr_assert(rs_sizes_are("d7", "nginx:1.25:0"), "no new RS while an old pod exists");
    kc_err err = KC_ERR_INIT;
    json_t *opts = json_pack("{s:i}", "gracePeriodSeconds", 0);
    cr_assert_eq(kc_client_delete(cl, POD, "d7", "leftover", opts, &err), 0, "%s", err.msg);
    json_decref(opts);
    cr_assert(eventually(rs_sizes_are, "d7", "nginx:1.25:0,nginx:1.27:2"), "then the new one at full size");
    cr_assert(eventually(rollout_done, "d7", "web"));
}

Test(deploy_ctl, adopts_orphan_and_releases_mismatch)
{
    create_ns("d8");
    /* an orphan RS with the Deployment's labels: adopted */
    json_t *rs =
        json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:i,s:{s:{s:s}},s:{s:{s:{s:s}},s:{s:[{s:s,s:s}]}}}}",
                  "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name", "stray", "labels", "app",
                  "web", "spec", "replicas", 0, "selector", "matchLabels", "app", "web", "template",
                  "metadata", "labels", "app", "web", "spec", "containers", "name", "c", "image", "old");
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_create(cl, RS, "d8", rs, NULL, &err), 0, "%s", err.msg);
    json_decref(rs);
    create_deploy("d8", deployment("web", 1, "nginx:1.25"));
    cr_assert(eventually(rollout_done, "d8", "web"));
    json_t *doc = get_doc(RS, "d8", "stray");
    json_t *ref = json_array_get(json_object_get(json_object_get(doc, "metadata"), "ownerReferences"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(ref, "name")) ?: "", "web", "adopted");
    json_decref(doc);
    rsinfo v[4];
    size_t n = list_rs("d8", v, 4);
    cr_assert_str_eq(rs_with_image(v, n, "nginx:1.25")->revision, "1");
    /* relabel it: released */
    cr_assert_eq(kc_client_patch(cl, RS, "d8", "stray", NULL, "application/merge-patch+json",
                                 "{\"metadata\":{\"labels\":{\"app\":\"other\"}}}", NULL, &err),
                 0, "%s", err.msg);
    for (int i = 0; i < 500; i++) {
        doc = get_doc(RS, "d8", "stray");
        bool released =
            json_array_size(json_object_get(json_object_get(doc, "metadata"), "ownerReferences")) == 0;
        json_decref(doc);
        if (released) break;
        usleep(10000);
    }
    doc = get_doc(RS, "d8", "stray");
    cr_assert_eq(json_array_size(json_object_get(json_object_get(doc, "metadata"), "ownerReferences")), 0,
                 "released");
    json_decref(doc);
}

/* Writes an RS status by hand (the fake controller paused), as a lagging RS controller would
 * leave it. */
static void set_rs_status(const char *ns, const char *name, int replicas, int avail, bool current)
{
    json_t *rs = get_doc(RS, ns, name);
    cr_assert_not_null(rs);
    int64_t gen = kc_deploy_int(json_object_get(rs, "metadata"), "generation", 1);
    json_object_set_new(rs, "status",
                        json_pack("{s:I,s:i,s:i,s:i}", "observedGeneration",
                                  (json_int_t)(current ? gen : gen - 1), "replicas", replicas,
                                  "readyReplicas", avail, "availableReplicas", avail));
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_update(cl, RS, rs, "status", NULL, &err), 0, "%s", err.msg);
    json_decref(rs);
}

Test(deploy_ctl, stale_old_status_does_not_break_min_available)
{
    create_ns("d9");
    json_t *d = deployment("web", 10, "nginx:1.25");
    json_object_set_new(json_object_get(d, "spec"), "strategy",
                        json_pack("{s:s,s:{s:i,s:i}}", "type", "RollingUpdate", "rollingUpdate", "maxSurge",
                                  3, "maxUnavailable", 2));
    create_deploy("d9", d);
    cr_assert(eventually(rollout_done, "d9", "web"));
    fake_paused = true;
    usleep(20000);
    edit_deploy("d9", "web", set_image, "nginx:1.27");
    /* new RS at 3, old 10 -> 8 while its status still says 10 available */
    cr_assert(eventually(rs_sizes_are, "d9", "nginx:1.25:8,nginx:1.27:3"));
    rsinfo v[4];
    size_t n = list_rs("d9", v, 4);
    set_rs_status("d9", rs_with_image(v, n, "nginx:1.27")->name, 3, 3, true);
    /* upstream would count 10 + 3 available and take old to 3 (6 pods left available); only the
     * 8 the old RS keeps count: old to 5, 8 available */
    cr_assert(eventually(rs_sizes_are, "d9", "nginx:1.25:5,nginx:1.27:3"));
    usleep(200000);
    cr_assert(rs_sizes_are("d9", "nginx:1.25:5,nginx:1.27:3"), "and no further while statuses lag");
    /* scale-up waits while the old RS still reports more pods than its size */
    set_rs_status("d9", rs_with_image(v, n, "nginx:1.25")->name, 8, 8, false);
    cr_assert(eventually(rs_sizes_are, "d9", "nginx:1.25:5,nginx:1.27:5"), "8 old pods + 3 new: room for 2");
    usleep(200000);
    cr_assert(rs_sizes_are("d9", "nginx:1.25:5,nginx:1.27:5"), "no more while 8 old pods exist");
    set_rs_status("d9", rs_with_image(v, n, "nginx:1.25")->name, 5, 5, true);
    cr_assert(eventually(rs_sizes_are, "d9", "nginx:1.25:5,nginx:1.27:8"),
              "room for 3 more once they are gone");
    fake_paused = false;
    cr_assert(eventually(rollout_done, "d9", "web"));
}
