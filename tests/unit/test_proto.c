/* Unit tests for src/api/proto.c: bodies built here with a small protobuf encoder (ConfigMap,
 * Secret, Namespace, Deployment, Service, times, raw JSON, maps, merging, unknown fields), bodies
 * kubectl 1.32 really sent (tests/unit/testdata/proto, compared with the same command's
 * --dry-run=client -o json), and malformed input: every prefix of a real body, bad magic, bad
 * varints and lengths, wrong wire types, invalid UTF-8, deep nesting, unknown kinds.
 * Run from the repository root (the data files are found by relative path). */
#include "api/proto.h"
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny protobuf encoder ------------------------------------------------------------ */

typedef struct pb {
    uint8_t b[16384];
    size_t n;
} pb;

static void put(pb *p, const void *d, size_t n)
{
    cr_assert(p->n + n <= sizeof p->b, "test buffer too small");
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void varint(pb *p, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f) | (v > 0x7f ? 0x80 : 0);
        put(p, &c, 1);
        v >>= 7;
    } while (v);
}

static void tag(pb *p, uint32_t num, int wt)
{
    varint(p, (uint64_t)num << 3 | (uint64_t)wt);
}

static void f_bytes(pb *p, uint32_t num, const void *d, size_t n)
{
    tag(p, num, 2);
    varint(p, n);
    put(p, d, n);
}

static void f_str(pb *p, uint32_t num, const char *s)
{
    f_bytes(p, num, s, strlen(s));
}
static void f_msg(pb *p, uint32_t num, const pb *m)
{
    f_bytes(p, num, m->b, m->n);
}

static void f_int(pb *p, uint32_t num, int64_t v) /* int32/int64/bool: plain varint */
{
    tag(p, num, 0);
    varint(p, (uint64_t)v);
}

static void f_map(pb *p, uint32_t num, const char *k, const char *v)
{
    pb e = {.n = 0};
    f_str(&e, 1, k);
    f_str(&e, 2, v);
    f_msg(p, num, &e);
}

static void f_quantity(pb *p, uint32_t num, const char *q) /* resource.Quantity{1: string} */
{
    pb m = {.n = 0};
    f_str(&m, 1, q);
    f_msg(p, num, &m);
}

static void f_intstr(pb *p, uint32_t num, int is_str, int32_t i, const char *s)
{
    pb m = {.n = 0};
    f_int(&m, 1, is_str);
    f_int(&m, 2, i);
    f_str(&m, 3, s);
    f_msg(p, num, &m);
}

static void f_time(pb *p, uint32_t num, int64_t sec, int32_t nsec)
{
    pb m = {.n = 0};
    if (sec) f_int(&m, 1, sec);
    if (nsec) f_int(&m, 2, nsec);
    f_msg(p, num, &m);
}

/* "k8s\0" + runtime.Unknown{TypeMeta{apiVersion, kind}, raw, "", ""} as kubectl builds it. */
static void body(pb *out, const char *apiv, const char *kind, const pb *raw)
{
    pb tm = {.n = 0};
    out->n = 0;
    put(out, "k8s\0", 4);
    f_str(&tm, 1, apiv);
    f_str(&tm, 2, kind);
    f_msg(out, 1, &tm);
    f_msg(out, 2, raw);
    f_str(out, 3, "");
    f_str(out, 4, "");
}

/* ObjectMeta the way gogo marshals a non-pointer struct: every string, even empty. */
static void meta(pb *m, const char *name, const char *ns)
{
    m->n = 0;
    f_str(m, 1, name);
    f_str(m, 2, "");
    f_str(m, 3, ns);
    f_str(m, 4, "");
    f_str(m, 5, "");
    f_str(m, 6, "");
    f_int(m, 7, 0);
    f_bytes(m, 8, "", 0); /* creationTimestamp: zero time */
}

/* ---- helpers ---------------------------------------------------------------------------- */

static char *decode_dump(const pb *p)
{
    kc_err err = KC_ERR_INIT;
    json_t *j = kc_proto_decode_body((const char *)p->b, p->n, &err);
    cr_assert_not_null(j, "decode failed: %s", err.msg);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* Exact, order-sensitive comparison with the compact dump of expected. */
static void expect(const pb *p, const char *expected)
{
    char *s = decode_dump(p);
    cr_assert_str_eq(s, expected);
    free(s);
}

/* Decoding fails with 400 and a message containing want. */
static void expect_fail(const void *buf, size_t n, const char *want)
{
    kc_err err = KC_ERR_INIT;
    json_t *j = kc_proto_decode_body(buf, n, &err);
    cr_assert_null(j, "decoded, expected failure containing \"%s\"", want);
    cr_assert_eq(err.reason, KC_EBADREQUEST);
    cr_assert(strstr(err.msg, want), "message \"%s\" lacks \"%s\"", err.msg, want);
    kc_err_release(&err);
}

/* ---- objects built by hand -------------------------------------------------------------- */

Test(proto, configmap)
{
    pb cm = {.n = 0}, m, b;
    meta(&m, "cm1", "default");
    f_map(&m, 11, "app", "web");
    f_msg(&cm, 1, &m);
    f_map(&cm, 2, "b", "2");
    f_map(&cm, 2, "a", "1"); /* out of order on the wire: JSON sorts map keys */
    f_int(&cm, 4, 1);
    body(&b, "v1", "ConfigMap", &cm);
    expect(
        &b,
        "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"cm1\",\"namespace\":"
        "\"default\",\"labels\":{\"app\":\"web\"}},\"immutable\":true,\"data\":{\"a\":\"1\",\"b\":\"2\"}}");
}

Test(proto, secret_binary_data)
{
    static const uint8_t bin[] = {0x00, 0x01, 0x02, 0xff, 0xfe, 'B', 'I', 'N'};
    pb s = {.n = 0}, m, e = {.n = 0}, b;
    meta(&m, "s1", "");
    f_msg(&s, 1, &m);
    f_bytes(&e, 1, "bin", 3);
    f_bytes(&e, 2, bin, sizeof bin);
    f_msg(&s, 2, &e);
    f_map(&s, 2, "one", "x"); /* 1 byte: padding "==" */
    f_map(&s, 4, "plain", "text");
    f_str(&s, 3, "Opaque");
    body(&b, "v1", "Secret", &s);
    expect(&b, "{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"s1\"},\"data\":{\"bin\":"
               "\"AAEC//5CSU4=\",\"one\":\"eA==\"},\"stringData\":{\"plain\":\"text\"},\"type\":\"Opaque\"}");
}

Test(proto, namespace_with_spec)
{
    pb ns = {.n = 0}, m, spec = {.n = 0}, b;
    meta(&m, "ns1", "");
    f_map(&m, 12, "note", "hi");
    f_msg(&ns, 1, &m);
    f_str(&spec, 1, "kubernetes");
    f_msg(&ns, 2, &spec);
    body(&b, "v1", "Namespace", &ns);
    expect(&b, "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"ns1\",\"annotations\":"
               "{\"note\":\"hi\"}},\"spec\":{\"finalizers\":[\"kubernetes\"]},\"status\":{}}");
}

/* Deployment: pointer replicas 0 kept, selector with expressions, intstr strategy, a container
 * with ports, env, resources (quantities), an httpGet probe (ProbeHandler inlined into Probe)
 * and a configMap volume (VolumeSource inlined into Volume). */
static void deployment(pb *b)
{
    pb d = {.n = 0}, m, spec = {.n = 0}, sel = {.n = 0}, expr = {.n = 0}, tpl = {.n = 0}, tm, ps = {.n = 0},
       c = {.n = 0}, port = {.n = 0}, env = {.n = 0}, res = {.n = 0}, lim = {.n = 0}, probe = {.n = 0},
       handler = {.n = 0}, get = {.n = 0}, vol = {.n = 0}, vs = {.n = 0}, cmv = {.n = 0}, strat = {.n = 0},
       ru = {.n = 0};
    meta(&m, "web", "");
    f_msg(&d, 1, &m);
    f_int(&spec, 1, 0); /* replicas: 0, a pointer: kept */
    f_map(&sel, 1, "app", "web");
    f_str(&expr, 1, "tier");
    f_str(&expr, 2, "In");
    f_str(&expr, 3, "fe");
    f_str(&expr, 3, "be");
    f_msg(&sel, 2, &expr);
    f_msg(&spec, 2, &sel);
    meta(&tm, "", "");
    f_map(&tm, 11, "app", "web");
    f_msg(&tpl, 1, &tm);
    f_str(&c, 1, "nginx");
    f_str(&c, 2, "nginx:1.25");
    f_int(&port, 3, 8080);
    f_str(&port, 4, "TCP");
    f_msg(&c, 6, &port);
    f_str(&env, 1, "MODE");
    f_str(&env, 2, "prod");
    f_msg(&c, 7, &env);
    tag(&lim, 1, 2); /* map entry {1: "cpu", 2: Quantity{"500m"}} */
    {
        pb e = {.n = 0};
        f_str(&e, 1, "cpu");
        f_quantity(&e, 2, "500m");
        varint(&lim, e.n);
        put(&lim, e.b, e.n);
    }
    put(&res, lim.b, lim.n);
    f_msg(&c, 8, &res);
    f_str(&get, 1, "/healthz");
    f_intstr(&get, 2, 1, 0, "http");
    f_msg(&handler, 2, &get);
    f_msg(&probe, 1, &handler);
    f_int(&probe, 2, 5);
    f_msg(&c, 10, &probe);
    f_msg(&ps, 2, &c);
    f_str(&vol, 1, "cfg");
    {
        pb lor = {.n = 0}; /* embedded LocalObjectReference: a message on the wire, inlined in JSON */
        f_str(&lor, 1, "settings");
        f_msg(&cmv, 1, &lor);
    }
    f_msg(&vs, 19, &cmv);
    f_msg(&vol, 2, &vs);
    f_msg(&ps, 1, &vol);
    f_msg(&tpl, 2, &ps);
    f_msg(&spec, 3, &tpl);
    f_str(&strat, 1, "RollingUpdate");
    f_intstr(&ru, 1, 0, 1, "");
    f_intstr(&ru, 2, 1, 0, "25%");
    f_msg(&strat, 2, &ru);
    f_msg(&spec, 4, &strat);
    f_msg(&d, 2, &spec);
    body(b, "apps/v1", "Deployment", &d);
}

Test(proto, deployment)
{
    pb b;
    deployment(&b);
    expect(
        &b,
        "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"web\"},\"spec\":"
        "{\"replicas\":0,\"selector\":{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":"
        "\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]}]},\"template\":{\"metadata\":{\"labels\":"
        "{\"app\":\"web\"}},\"spec\":{\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"settings\"}}],"
        "\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":8080,"
        "\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"MODE\",\"value\":\"prod\"}],\"resources\":{\"limits\":"
        "{\"cpu\":\"500m\"}},\"livenessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"http\"},"
        "\"initialDelaySeconds\":5}}]}},\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
        "{\"maxUnavailable\":1,\"maxSurge\":\"25%\"}}},\"status\":{}}");
}

Test(proto, deployment_passes_schema_decode)
{
    pb b;
    kc_err err = KC_ERR_INIT;
    deployment(&b);
    json_t *j = kc_proto_decode_body((const char *)b.b, b.n, &err);
    cr_assert_not_null(j, "%s", err.msg);
    const kc_type *t = kc_schema_kind("apps", "v1", "Deployment");
    cr_assert_eq(kc_schema_decode(t, j, KC_FV_STRICT, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(kc_schema_validate(t, j, &err), 0, "%s", err.msg);
    json_decref(j);
}

Test(proto, service_intstr_target_port)
{
    pb svc = {.n = 0}, m, spec = {.n = 0}, p1 = {.n = 0}, p2 = {.n = 0}, p3 = {.n = 0}, b;
    meta(&m, "svc1", "");
    f_msg(&svc, 1, &m);
    f_str(&p1, 1, "http");
    f_str(&p1, 2, "TCP");
    f_int(&p1, 3, 80);
    f_intstr(&p1, 4, 0, 8080, "");
    f_int(&p1, 5, 0);
    f_msg(&spec, 1, &p1);
    f_str(&p2, 1, "https");
    f_int(&p2, 3, 443);
    f_intstr(&p2, 4, 1, 0, "https");
    f_msg(&spec, 1, &p2);
    f_int(&p3, 3, 53); /* no targetPort: IntOrString is a struct, so JSON has 0 */
    f_msg(&spec, 1, &p3);
    f_map(&spec, 2, "app", "svc1");
    f_str(&spec, 4, "ClusterIP");
    f_msg(&svc, 2, &spec);
    body(&b, "v1", "Service", &svc);
    expect(&b,
           "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"svc1\"},\"spec\":{\"ports\":"
           "[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080},{\"name\":\"https\","
           "\"port\":443,\"targetPort\":\"https\"},{\"port\":53,\"targetPort\":0}],\"selector\":{\"app\":"
           "\"svc1\"},\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}");
}

Test(proto, times_and_negative_ints)
{
    pb ev = {.n = 0}, m, b;
    meta(&m, "e1", "");
    m.n = 0; /* rebuild with times: creationTimestamp 2024-01-02T03:04:05Z, deletionTimestamp */
    f_str(&m, 1, "e1");
    f_time(&m, 8, 1704164645, 999999999); /* metav1.Time drops the fraction */
    f_time(&m, 9, 0, 0);                  /* present but empty: zero time -> null */
    f_int(&m, 10, -5);                    /* int64 pointer, negative: 10-byte varint */
    f_msg(&ev, 1, &m);
    f_time(&ev, 6, 86400, 0);               /* firstTimestamp 1970-01-02 */
    f_time(&ev, 10, 1704164645, 123456789); /* eventTime: MicroTime keeps microseconds */
    f_int(&ev, 8, -2);                      /* count, int32 */
    body(&b, "v1", "Event", &ev);
    char *s = decode_dump(&b);
    cr_assert(strstr(s, "\"creationTimestamp\":\"2024-01-02T03:04:05Z\""), "%s", s);
    cr_assert(strstr(s, "\"deletionTimestamp\":null"), "%s", s);
    cr_assert(strstr(s, "\"deletionGracePeriodSeconds\":-5"), "%s", s);
    cr_assert(strstr(s, "\"firstTimestamp\":\"1970-01-02T00:00:00Z\""), "%s", s);
    cr_assert(strstr(s, "\"lastTimestamp\":null"), "%s", s); /* absent non-pointer Time */
    cr_assert(strstr(s, "\"eventTime\":\"2024-01-02T03:04:05.123456Z\""), "%s", s);
    cr_assert(strstr(s, "\"count\":-2"), "%s", s);
    free(s);
}

Test(proto, time_out_of_range)
{
    pb ev = {.n = 0}, m = {.n = 0}, b;
    f_time(&m, 8, 253402300800LL, 0); /* year 10000 */
    f_msg(&ev, 1, &m);
    body(&b, "v1", "Event", &ev);
    expect_fail(b.b, b.n, "time outside years 1-9999");
}

Test(proto, managed_fields_raw_json)
{
    pb cm = {.n = 0}, m = {.n = 0}, mf = {.n = 0}, fv = {.n = 0}, b;
    f_str(&mf, 1, "kubectl");
    f_str(&mf, 2, "Update");
    f_str(&fv, 1, "{\"f:data\":{\".\":{}}}");
    f_msg(&mf, 7, &fv);
    f_str(&m, 1, "cm");
    f_msg(&m, 17, &mf);
    f_msg(&cm, 1, &m);
    body(&b, "v1", "ConfigMap", &cm);
    expect(&b,
           "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"cm\",\"managedFields\":"
           "[{\"manager\":\"kubectl\",\"operation\":\"Update\",\"fieldsV1\":{\"f:data\":{\".\":{}}}}]}}");
    f_str(&fv, 1, "{nope");
    mf.n = 0;
    f_msg(&mf, 7, &fv);
    m.n = 0;
    f_msg(&m, 17, &mf);
    cm.n = 0;
    f_msg(&cm, 1, &m);
    body(&b, "v1", "ConfigMap", &cm);
    expect_fail(b.b, b.n, "not valid JSON");
}

Test(proto, quota_quantities_and_map_zero_values)
{
    pb q = {.n = 0}, m = {.n = 0}, spec = {.n = 0}, e1 = {.n = 0}, e2 = {.n = 0}, b;
    f_str(&m, 1, "q1");
    f_msg(&q, 1, &m);
    f_str(&e1, 1, "memory");
    f_quantity(&e1, 2, "1Gi");
    f_msg(&spec, 1, &e1);
    f_str(&e2, 1, "pods"); /* no value: the zero Quantity "0" */
    f_msg(&spec, 1, &e2);
    f_msg(&q, 2, &spec);
    body(&b, "v1", "ResourceQuota", &q);
    expect(&b, "{\"kind\":\"ResourceQuota\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"q1\"},\"spec\":"
               "{\"hard\":{\"memory\":\"1Gi\",\"pods\":\"0\"}},\"status\":{}}");
}

Test(proto, unknown_fields_skipped_and_messages_merged)
{
    pb cm = {.n = 0}, m1 = {.n = 0}, m2 = {.n = 0}, b;
    uint8_t fixed[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    f_str(&m1, 1, "cm");
    f_msg(&cm, 1, &m1);
    f_int(&cm, 99, 12345); /* unknown varint */
    tag(&cm, 98, 1);       /* unknown fixed64 */
    put(&cm, fixed, 8);
    tag(&cm, 97, 5); /* unknown fixed32 */
    put(&cm, fixed, 4);
    f_str(&cm, 96, "junk"); /* unknown length-delimited */
    f_str(&m2, 3, "ns");    /* metadata again: merged into the first */
    f_msg(&cm, 1, &m2);
    body(&b, "v1", "ConfigMap", &cm);
    expect(&b, "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"cm\",\"namespace\":"
               "\"ns\"}}");
}

Test(proto, packed_repeated_varints)
{
    pb pod = {.n = 0}, m = {.n = 0}, spec = {.n = 0}, sc = {.n = 0}, packed = {.n = 0}, b;
    f_str(&m, 1, "p");
    f_msg(&pod, 1, &m);
    varint(&packed, 1000);
    varint(&packed, (uint64_t)-1);
    f_bytes(&sc, 4, packed.b, packed.n); /* supplementalGroups, packed */
    f_int(&sc, 4, 7);                    /* and one more unpacked */
    f_msg(&spec, 14, &sc);
    f_msg(&pod, 2, &spec);
    body(&b, "v1", "Pod", &pod);
    char *s = decode_dump(&b);
    cr_assert(strstr(s, "\"securityContext\":{\"supplementalGroups\":[1000,-1,7]}"), "%s", s);
    cr_assert(strstr(s, "\"containers\":null"), "%s", s); /* nil slice without omitempty */
    free(s);
}

Test(proto, decode_object_and_supports)
{
    pb ns = {.n = 0}, m = {.n = 0};
    kc_err err = KC_ERR_INIT;
    f_str(&m, 1, "x");
    f_msg(&ns, 1, &m);
    const kc_type *t = kc_schema_type("core/v1.Namespace");
    json_t *j = kc_proto_decode_object(t, ns.b, ns.n, &err);
    cr_assert_not_null(j, "%s", err.msg);
    char *s = json_dumps(j, JSON_COMPACT);
    cr_assert_str_eq(s, "{\"metadata\":{\"name\":\"x\"},\"spec\":{},\"status\":{}}");
    free(s);
    json_decref(j);
    cr_assert(kc_proto_supports(t));
    cr_assert(kc_proto_supports(kc_schema_kind("apps", "v1", "Deployment")));
    cr_assert(!kc_proto_supports(kc_schema_kind("coordination.k8s.io", "v1", "Lease")));
    cr_assert(!kc_proto_supports(NULL));
}

/* ---- bodies kubectl 1.32 sent ----------------------------------------------------------- */

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s (run the tests from the repository root)", path);
    char *buf = malloc(1 << 16);
    *n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static json_t *strip_nulls(json_t *j)
{
    const char *k;
    json_t *v;
    void *tmp;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach_safe(j, tmp, k, v)
        {
            if (json_is_null(v))
                json_object_del(j, k);
            else
                strip_nulls(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) strip_nulls(v);
    }
    return j;
}

/* kubectl's JSON (Go's encoding/json on kubectl 1.32 types) and ours differ only in nulls
 * (creationTimestamp is omitzero in the 1.36 schema), so both are compared without them, in
 * order. */
static void captured(const char *name)
{
    char path[256];
    size_t n, jn;
    kc_err err = KC_ERR_INIT;
    snprintf(path, sizeof path, "tests/unit/testdata/proto/%s.pb", name);
    char *bin = slurp(path, &n);
    snprintf(path, sizeof path, "tests/unit/testdata/proto/%s.json", name);
    char *js = slurp(path, &jn);
    json_t *want = json_loadb(js, jn, 0, NULL), *got = kc_proto_decode_body(bin, n, &err);
    cr_assert_not_null(want);
    cr_assert_not_null(got, "%s: %s", name, err.msg);
    char *a = json_dumps(strip_nulls(got), JSON_COMPACT), *b = json_dumps(strip_nulls(want), JSON_COMPACT);
    cr_assert_str_eq(a, b, "%s", name);
    free(a), free(b), free(bin), free(js);
    json_decref(got), json_decref(want);
}

Test(proto_kubectl, configmap)
{
    captured("configmap-literal");
}
Test(proto_kubectl, configmap_binary)
{
    captured("configmap-files");
}
Test(proto_kubectl, secret)
{
    captured("secret-generic");
}
Test(proto_kubectl, secret_docker_registry)
{
    captured("secret-docker-registry");
}
Test(proto_kubectl, namespace)
{
    captured("namespace");
}
Test(proto_kubectl, serviceaccount)
{
    captured("serviceaccount");
}
Test(proto_kubectl, deployment)
{
    captured("deployment");
}
Test(proto_kubectl, deployment_two_images)
{
    captured("deployment-multi");
}
Test(proto_kubectl, service_clusterip)
{
    captured("service-clusterip");
}
Test(proto_kubectl, service_nodeport)
{
    captured("service-nodeport");
}
Test(proto_kubectl, job)
{
    captured("job");
}
Test(proto_kubectl, cronjob)
{
    captured("cronjob");
}
Test(proto_kubectl, quota)
{
    captured("quota");
}
Test(proto_kubectl, poddisruptionbudget)
{
    captured("poddisruptionbudget");
}
Test(proto_kubectl, ingress)
{
    captured("ingress");
}

Test(proto_kubectl, priorityclass)
{
    captured("priorityclass"); /* scheduling/v1 comes from api/schema/extra-types.json */
}

/* Every prefix of a real body either decodes (a cut between fields is a valid message) or fails
 * with 400; cuts inside the magic or inside a length-delimited field must fail. */
Test(proto_bad, every_prefix_of_a_real_body)
{
    size_t n;
    char *bin = slurp("tests/unit/testdata/proto/deployment.pb", &n);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        kc_err err = KC_ERR_INIT;
        char *copy = malloc(i ? i : 1); /* exact size: ASan catches any read past the end */
        memcpy(copy, bin, i);
        json_t *j = kc_proto_decode_body(copy, i, &err);
        if (j) {
            json_decref(j);
        } else {
            cr_assert_eq(err.reason, KC_EBADREQUEST, "prefix %zu: %s", i, err.msg);
            failed++;
        }
        kc_err_release(&err);
        free(copy);
    }
    cr_assert_gt(failed, (int)n / 2, "only %d of %zu prefixes failed", failed, n);
    expect_fail(bin, 3, "magic");
    expect_fail(bin, n - 1, "length exceeds the message"); /* contentType without its length */
    free(bin);
}

Test(proto_bad, envelope_and_wire_errors)
{
    pb raw = {.n = 0}, b;
    expect_fail("", 0, "magic");
    expect_fail("k8s\1\x0a\x00", 6, "magic");
    expect_fail("k8s\0\x0a", 5, "length exceeds the message");
    expect_fail("k8s\0\x0a\xff\xff", 7, "length exceeds the message");
    expect_fail("k8s\0\x80\x80", 6, "truncated field tag");
    expect_fail("k8s\0\x00\x00", 6, "invalid field number");
    expect_fail("k8s\0\x2b", 5, "unsupported wire type");        /* field 5, group */
    expect_fail("k8s\0\x08\x01", 6, "wrong wire type");          /* typeMeta as varint */
    expect_fail("k8s\0\x0a\x00", 6, "Object 'Kind' is missing"); /* empty TypeMeta */
    expect_fail("k8s\0\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16, "truncated varint");
    body(&b, "v1", "Nope", &raw);
    expect_fail(b.b, b.n, "no kind \"Nope\" is registered for version \"v1\"");
    body(&b, "a/b/c", "Pod", &raw);
    expect_fail(b.b, b.n, "no kind \"Pod\" is registered");
    body(&b, "coordination.k8s.io/v1", "Lease", &raw);
    expect_fail(b.b, b.n, "no protobuf field table");
    body(&b, "v1", "ConfigMap", &raw);
    b.n -= 2;
    f_str(&b, 4, "application/json");
    expect_fail(b.b, b.n, "contentType");
    body(&b, "v1", "ConfigMap", &raw);
    b.n -= 4;
    f_str(&b, 3, "gzip");
    f_str(&b, 4, "");
    expect_fail(b.b, b.n, "contentEncoding");
}

Test(proto_bad, field_errors)
{
    pb cm = {.n = 0}, m = {.n = 0}, b;
    f_int(&cm, 1, 5); /* metadata as a varint */
    body(&b, "v1", "ConfigMap", &cm);
    expect_fail(b.b, b.n, "core/v1.ConfigMap field 1: wrong wire type");
    cm.n = 0;
    f_str(&cm, 4, "x"); /* immutable (bool) as bytes */
    body(&b, "v1", "ConfigMap", &cm);
    expect_fail(b.b, b.n, "core/v1.ConfigMap field 4: wrong wire type");
    cm.n = 0;
    f_bytes(&m, 1, "\xc3\x28", 2); /* name: invalid UTF-8 */
    f_msg(&cm, 1, &m);
    body(&b, "v1", "ConfigMap", &cm);
    expect_fail(b.b, b.n, "meta/v1.ObjectMeta field 1: string is not valid UTF-8");
    cm.n = 0;
    {
        pb e = {.n = 0};
        f_bytes(&e, 1, "\xff", 1); /* map key: invalid UTF-8 */
        f_str(&e, 2, "v");
        f_msg(&cm, 2, &e);
    }
    body(&b, "v1", "ConfigMap", &cm);
    expect_fail(b.b, b.n, "map key is not valid UTF-8");
    cm.n = 0;
    tag(&cm, 4, 0);
    put(&cm, "\x80", 1); /* truncated varint inside raw */
    body(&b, "v1", "ConfigMap", &cm);
    expect_fail(b.b, b.n, "truncated varint");
    cm.n = 0;
    tag(&cm, 50, 1);
    put(&cm, "\x01\x02", 2); /* unknown fixed64, truncated */
    body(&b, "v1", "ConfigMap", &cm);
    expect_fail(b.b, b.n, "truncated fixed-size value");
}

/* ControllerRevision.data is a RawExtension; one holding another "k8s\0" body nests without
 * end, so the depth limit must stop it. */
Test(proto_bad, nesting_depth_limit)
{
    static pb bodies[2];
    pb *cur = &bodies[0], *next = &bodies[1];
    pb empty = {.n = 0};
    body(cur, "apps/v1", "ControllerRevision", &empty);
    for (int level = 0; level < KC_PROTO_MAX_DEPTH + 2; level++) {
        pb raw = {.n = 0}, cr = {.n = 0};
        f_bytes(&raw, 1, cur->b, cur->n);
        f_msg(&cr, 2, &raw);
        body(next, "apps/v1", "ControllerRevision", &cr);
        pb *t = cur;
        cur = next;
        next = t;
        if (level == 3) { /* shallow nesting decodes */
            char *s = decode_dump(cur);
            cr_assert(strstr(s, "\"data\":{\"kind\":\"ControllerRevision\",\"apiVersion\":\"apps/v1\","
                                "\"metadata\":{},\"data\":{"),
                      "%s", s);
            free(s);
        }
    }
    expect_fail(cur->b, cur->n, "nested too deeply");
}
