/* Unit tests for apiserver/metrics: upstream's label rules (scope, LIST/WATCH/APPLY/CONNECT
 * verbs, dry_run), long-running requests kept out of the duration histogram, cumulative
 * buckets, and the Prometheus text format 0.0.4 line by line. */
#include "api/resource.h"
#include "apiserver/metrics.h"
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L(verb, g, v, res, sub, scope)                                                                       \
    "{verb=\"" verb "\",dry_run=\"\",group=\"" g "\",version=\"" v "\",resource=\"" res                      \
    "\",subresource=\"" sub "\",scope=\"" scope "\",component=\"apiserver\""

static kc_metrics *m;
static kc_buf out;

static void setup(void)
{
    m = kc_metrics_new();
    out = (kc_buf)KC_BUF_INIT;
}

static void teardown(void)
{
    kc_metrics_free(m);
    kc_buf_release(&out);
}

/* One request: resource (group, plural) or NULL for a non-resource path. */
static void req(const char *method, const char *group, const char *res, bool ns, bool name, const char *sub,
                int code, double s, const char *ctype_apply, bool watch)
{
    kc_metrics_req q = {0};
    if (res) {
        int ri = kc_resource_find(group, "v1", res);
        cr_assert(ri >= 0, "%s", res);
        kc_metrics_route(&q, ri, ns, name, sub);
    }
    kc_metrics_obs o = {
        .method = method, .watch = watch, .apply = ctype_apply != NULL, .code = code, .seconds = s};
    kc_metrics_observe(m, &q, &o);
}

static const char *render(void)
{
    out.len = 0;
    kc_metrics_render(m, &out);
    kc_buf_add(&out, "", 1);
    return out.data;
}

static void has(const char *line)
{
    const char *text = render();
    char *want = NULL;
    cr_assert(asprintf(&want, "\n%s\n", line) > 0);
    cr_assert(strstr(text, want), "missing line:\n%s\nin:\n%s", line, text);
    free(want);
}

static void hasnt(const char *needle)
{
    cr_assert_null(strstr(render(), needle), "unexpected %s in:\n%s", needle, out.data);
}

TestSuite(metrics, .init = setup, .fini = teardown);

Test(metrics, create_is_resource_scoped_post)
{
    req("POST", "", "configmaps", true, false, NULL, 201, 0.003, NULL, false);
    has("apiserver_request_total" L("POST", "", "v1", "configmaps", "", "resource") ",code=\"201\"} 1");
    has("apiserver_request_duration_seconds_count" L("POST", "", "v1", "configmaps", "", "resource") "} 1");
    has("apiserver_request_duration_seconds_sum" L("POST", "", "v1", "configmaps", "", "resource") "} 0.003");
    has("apiserver_request_duration_seconds_bucket" L("POST", "", "v1", "configmaps", "",
                                                      "resource") ",le=\"0.005\"} 1");
}

Test(metrics, get_list_scopes_and_codes)
{
    req("GET", "", "configmaps", true, true, NULL, 200, 0.001, NULL, false);
    req("GET", "", "configmaps", true, true, NULL, 404, 0.001, NULL, false);
    req("GET", "", "configmaps", true, true, NULL, 200, 0.001, NULL, false);
    req("GET", "", "configmaps", true, false, NULL, 200, 0.001, NULL, false);
    req("GET", "", "nodes", false, false, NULL, 200, 0.001, NULL, false);
    req("GET", "apps", "deployments", false, false, NULL, 200, 0.001, NULL, false);
    has("apiserver_request_total" L("GET", "", "v1", "configmaps", "", "resource") ",code=\"200\"} 2");
    has("apiserver_request_total" L("GET", "", "v1", "configmaps", "", "resource") ",code=\"404\"} 1");
    has("apiserver_request_duration_seconds_count" L("GET", "", "v1", "configmaps", "", "resource") "} 3");
    has("apiserver_request_total" L("LIST", "", "v1", "configmaps", "", "namespace") ",code=\"200\"} 1");
    has("apiserver_request_total" L("LIST", "", "v1", "nodes", "", "cluster") ",code=\"200\"} 1");
    has("apiserver_request_total" L("LIST", "apps", "v1", "deployments", "", "cluster") ",code=\"200\"} 1");
}

Test(metrics, long_running_requests_are_counted_but_not_timed)
{
    req("GET", "", "pods", true, false, NULL, 200, 30, NULL, true);
    req("GET", "", "pods", true, true, "log", 200, 5, NULL, false);
    has("apiserver_request_total" L("WATCH", "", "v1", "pods", "", "namespace") ",code=\"200\"} 1");
    has("apiserver_request_total" L("CONNECT", "", "v1", "pods", "log", "resource") ",code=\"200\"} 1");
    hasnt("apiserver_request_duration_seconds_count{");
}

Test(metrics, apply_subresource_dry_run_and_non_resource)
{
    req("PATCH", "apps", "deployments", true, true, NULL, 200, 0.01, "apply", false);
    req("PUT", "apps", "deployments", true, true, "status", 200, 0.01, NULL, false);
    req("GET", NULL, NULL, false, false, NULL, 200, 0.0001, NULL, false);
    kc_metrics_req q = {0};
    kc_metrics_route(&q, kc_resource_find("", "v1", "secrets"), true, false, NULL);
    kc_metrics_obs o = {.method = "POST", .dry_run = "All", .code = 201, .seconds = 0.001};
    kc_metrics_observe(m, &q, &o);
    has("apiserver_request_total" L("APPLY", "apps", "v1", "deployments", "", "resource") ",code=\"200\"} 1");
    has("apiserver_request_total" L("PUT", "apps", "v1", "deployments", "status",
                                    "resource") ",code=\"200\"} 1");
    has("apiserver_request_total" L("GET", "", "", "", "", "") ",code=\"200\"} 1");
    has("apiserver_request_total{verb=\"POST\",dry_run=\"All\",group=\"\",version=\"v1\",resource="
        "\"secrets\","
        "subresource=\"\",scope=\"resource\",component=\"apiserver\",code=\"201\"} 1");
}

/* 0.03 s, 0.3 s and 100 s: buckets are cumulative, +Inf equals the count, sum is exact. */
Test(metrics, buckets_are_cumulative)
{
    req("DELETE", "", "secrets", true, true, NULL, 200, 0.03, NULL, false);
    req("DELETE", "", "secrets", true, true, NULL, 200, 0.3, NULL, false);
    req("DELETE", "", "secrets", true, true, NULL, 200, 100, NULL, false);
    static const struct {
        const char *le;
        int n;
    } want[] = {{"0.005", 0}, {"0.025", 0}, {"0.05", 1}, {"0.2", 1}, {"0.4", 2},
                {"1", 2},     {"10", 2},    {"45", 2},   {"60", 2},  {"+Inf", 3}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char line[512];
        snprintf(line, sizeof line,
                 "apiserver_request_duration_seconds_bucket" L("DELETE", "", "v1", "secrets", "",
                                                               "resource") ",le=\"%s\"} %d",
                 want[i].le, want[i].n);
        has(line);
    }
    has("apiserver_request_duration_seconds_sum" L("DELETE", "", "v1", "secrets", "", "resource") "} 100.33");
    has("apiserver_request_duration_seconds_count" L("DELETE", "", "v1", "secrets", "", "resource") "} 3");
}

/* Every line is a comment (HELP/TYPE, once per family) or `name{labels} value` with 24 buckets
 * per histogram series. */
Test(metrics, text_format_0_0_4)
{
    req("POST", "", "configmaps", true, false, NULL, 201, 0.002, NULL, false);
    req("GET", "", "configmaps", true, true, NULL, 200, 0.0005, NULL, false);
    char *text = strdup(render());
    regex_t sample;
    cr_assert_eq(regcomp(&sample,
                         "^[a-zA-Z_:][a-zA-Z0-9_:]*\\{([a-z_]+=\"[^\"]*\",)*[a-z_]+=\"[^\"]*\"\\} "
                         "[0-9.e+-]+$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    int help = 0, type = 0, buckets = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# HELP ", 7))
            help++;
        else if (!strncmp(line, "# TYPE ", 7))
            type++;
        else
            cr_assert_eq(regexec(&sample, line, 0, NULL, 0), 0, "bad line: %s", line);
        if (strstr(line, "_bucket{")) buckets++;
    }
    cr_assert_eq(help, 3);
    cr_assert_eq(type, 3);
    cr_assert_eq(buckets, 2 * 24);
    has("# TYPE apiserver_request_duration_seconds histogram");
    has("# TYPE apiserver_request_total counter");
    regfree(&sample);
    free(text);
}

Test(metrics, scrape_is_not_observed)
{
    kc_metrics_req q = {.skip = true};
    kc_metrics_obs o = {.method = "GET", .code = 200, .seconds = 0.001};
    kc_metrics_observe(m, &q, &o);
    hasnt("apiserver_request_total{");
}

/* A watch is in apiserver_longrunning_requests (labels without dry_run) from its start to its end;
 * a plain GET never is. */
Test(metrics, longrunning_gauge)
{
    kc_metrics_req w = {0}, g = {0};
    kc_metrics_route(&w, kc_resource_find("", "v1", "pods"), true, false, NULL);
    kc_metrics_route(&g, kc_resource_find("", "v1", "pods"), true, true, NULL);
    kc_metrics_obs ow = {.method = "GET", .watch = true}, og = {.method = "GET"};
    kc_metrics_start(m, &w, &ow);
    kc_metrics_start(m, &g, &og);
    cr_assert(w.running);
    cr_assert_not(g.running);
    const char *gauge =
        "apiserver_longrunning_requests{verb=\"WATCH\",group=\"\",version=\"v1\",resource=\"pods\","
        "subresource=\"\",scope=\"namespace\",component=\"apiserver\"}";
    char line[512];
    snprintf(line, sizeof line, "%s 1", gauge);
    has(line);
    hasnt("apiserver_longrunning_requests{verb=\"GET\"");
    ow.code = 200, ow.seconds = 12;
    kc_metrics_observe(m, &w, &ow);
    snprintf(line, sizeof line, "%s 0", gauge);
    has(line);
    has("# TYPE apiserver_longrunning_requests gauge");
}
