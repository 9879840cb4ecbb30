/* The client layer over HTTP against a real server in this process (127.0.0.1, an ephemeral
 * port): the scenarios of test_client.c (CRUD, errors as kc_err, lists with selectors, an
 * informer) through the libcurl transport, plus what only HTTP has: watch streams parsed from
 * lines, stopped mid-stream, ended by the server, refused, expired after a restart; concurrent
 * roundtrips; an unreachable server; kubeconfig files. */
#include "apiserver/apiserver.h"
#include "client/client.h"
#include "client/http.h"
#include "client/informer.h"
#include "client/kubeconfig.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static test_server ts;
static int CM;

static void start(void)
{
    test_server_start(&ts, "http", true);
    CM = kc_resource_find("", "v1", "configmaps");
}

static void stop(void)
{
    test_server_destroy(&ts);
}

static char *server_url(void)
{
    char *u;
    cr_assert_gt(asprintf(&u, "http://127.0.0.1:%d", ts.srv->listen_port), 0);
    return u;
}

static kc_client *http_client(void)
{
    kc_err err = KC_ERR_INIT;
    char *u = server_url();
    void *t = kc_http_transport_new(u, &err);
    cr_assert_not_null(t, "%s", err.msg);
    free(u);
    return kc_client_new(&kc_http_ops, t, "test");
}

static json_t *cm(const char *name, const char *app)
{
    return json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                     "name", name, "labels", "app", app, "data", "k", "v");
}

static void create_cm(kc_client *c, const char *name, const char *app)
{
    kc_err err = KC_ERR_INIT;
    json_t *d = cm(name, app);
    cr_assert_eq(kc_client_create(c, CM, "default", d, NULL, &err), 0, "create %s: %s", name, err.msg);
    json_decref(d);
}

TestSuite(http, .init = start, .fini = stop, .timeout = 60);

Test(http, crud_and_errors)
{
    kc_client *c = http_client();
    kc_err err = KC_ERR_INIT;
    kc_obj *o;
    json_t *doc = cm("a", "web");
    cr_assert_eq(kc_client_create(c, CM, "default", doc, &o, &err), 0, "%s", err.msg);
    cr_assert_str_eq(o->name, "a");
    cr_assert_str_eq(o->ns, "default");
    cr_assert_eq(o->res, CM);
    cr_assert_gt(o->rev, 0);
    uint64_t rev = o->rev;
    kc_obj_unref(o);
    cr_assert_eq(kc_client_get(c, CM, "default", "a", &o, &err), 0, "%s", err.msg);
    cr_assert_eq(o->rev, rev);
    cr_assert_not_null(strstr(o->json, "\"k\":\"v\""));
    kc_obj_unref(o);
    cr_assert_eq(kc_client_create(c, CM, "default", doc, NULL, &err), -1);
    cr_assert_eq(err.reason, KC_EALREADYEXISTS, "%s", err.msg);
    kc_err_release(&err);
    cr_assert_eq(kc_client_get(c, CM, "default", "missing", &o, &err), -1);
    cr_assert_eq(err.reason, KC_ENOTFOUND);
    kc_err_release(&err);
    json_object_set_new(json_object_get(doc, "metadata"), "namespace", json_string("default"));
    json_object_set_new(json_object_get(doc, "metadata"), "resourceVersion", json_string("1"));
    cr_assert_eq(kc_client_update(c, CM, doc, NULL, NULL, &err), -1, "a stale resourceVersion must conflict");
    cr_assert_eq(err.reason, KC_ECONFLICT);
    kc_err_release(&err);
    cr_assert_eq(kc_client_patch(c, CM, "default", "a", NULL, "application/merge-patch+json",
                                 "{\"data\":{\"k\":\"w\"}}", &o, &err),
                 0, "%s", err.msg);
    cr_assert_gt(o->rev, rev);
    cr_assert(strstr(o->json, "\"k\":\"w\""));
    kc_obj_unref(o);
    cr_assert_eq(kc_client_delete(c, CM, "default", "a", NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(kc_client_get(c, CM, "default", "a", &o, &err), -1);
    cr_assert_eq(err.reason, KC_ENOTFOUND);
    kc_err_release(&err);
    cr_assert_eq(kc_client_delete(c, CM, "default", "a", NULL, &err), -1);
    cr_assert_eq(err.reason, KC_ENOTFOUND);
    kc_err_release(&err);
    json_decref(doc);
    kc_client_free(c);
}

Test(http, invalid_object_has_causes)
{
    kc_client *c = http_client();
    kc_err err = KC_ERR_INIT;
    json_t *d = cm("Not_A_Name", "x");
    cr_assert_eq(kc_client_create(c, CM, "default", d, NULL, &err), -1);
    cr_assert_eq(err.reason, KC_EINVALID, "%d %s", err.reason, err.msg);
    cr_assert_gt(kc_err_ncauses(&err), 0, "the Status's causes come back");
    cr_assert_not_null(strstr(err.msg, "Not_A_Name"), "%s", err.msg);
    kc_err_release(&err);
    json_decref(d);
    d = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", "x",
                  "namespace", "default");
    cr_assert_eq(kc_client_create(c, CM, "nope", d, NULL, &err), -1, "namespace in the path and body differ");
    cr_assert_eq(err.reason, KC_EBADREQUEST, "%d %s", err.reason, err.msg);
    kc_err_release(&err);
    json_decref(d);
    kc_client_free(c);
}

Test(http, list_with_selectors)
{
    kc_client *c = http_client();
    kc_err err = KC_ERR_INIT;
    for (int i = 0; i < 5; i++) {
        char n[8];
        snprintf(n, sizeof n, "l%d", i);
        create_cm(c, n, i % 2 ? "odd" : "even");
    }
    kc_obj **v;
    size_t n;
    uint64_t rev;
    cr_assert_eq(kc_client_list(c, CM, "default", "app=even", NULL, &v, &n, &rev, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_gt(rev, 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(v[i]->res, CM);
    kc_objv_free(v, n);
    cr_assert_eq(kc_client_list(c, CM, NULL, "app in (odd)", "metadata.name=l1", &v, &n, NULL, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0]->name, "l1");
    kc_objv_free(v, n);
    cr_assert_eq(kc_client_list(c, CM, "default", "app in (", NULL, &v, &n, NULL, &err), -1);
    cr_assert_eq(err.reason, KC_EBADREQUEST, "%s", err.msg);
    kc_err_release(&err);
    kc_client_free(c);
}

typedef struct cargs {
    kc_client *c;
    int id;
} cargs;

static void *creator(void *p)
{
    cargs *a = p;
    for (int i = 0; i < 25; i++) {
        char n[32];
        snprintf(n, sizeof n, "c%d-%d", a->id, i);
        json_t *d = cm(n, "par");
        kc_err err = KC_ERR_INIT;
        if (kc_client_create(a->c, CM, "default", d, NULL, &err) < 0) {
            json_decref(d);
            return (void *)1;
        }
        json_decref(d);
    }
    return NULL;
}

Test(http, concurrent_roundtrips_share_the_transport)
{
    kc_client *c = http_client();
    pthread_t th[8];
    cargs a[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (cargs){c, i};
        pthread_create(&th[i], NULL, creator, &a[i]);
    }
    for (int i = 0; i < 8; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        cr_assert_null(rc, "creates from thread %d failed", i);
    }
    kc_obj **v;
    size_t n;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_client_list(c, CM, "default", "app=par", NULL, &v, &n, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 200);
    kc_objv_free(v, n);
    kc_client_free(c);
}

/* ---- watches ---- */

#define MAXEV 4096

typedef struct rec {
    pthread_mutex_t mu;
    int n, closed, after_closed, delay_us;
    enum kc_wevent type[MAXEV];
    uint64_t rev[MAXEV];
    char name[MAXEV][32];
    int res[MAXEV];
} rec;

static rec *rec_new(void)
{
    rec *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void on_ev(void *ud, enum kc_wevent type, kc_obj *o, uint64_t rev)
{
    rec *r = ud;
    if (r->delay_us) usleep(r->delay_us);
    pthread_mutex_lock(&r->mu);
    if (r->closed) r->after_closed++;
    if (type == KC_WATCH_CLOSED) r->closed++;
    if (r->n < MAXEV) {
        r->type[r->n] = type;
        r->rev[r->n] = rev;
        snprintf(r->name[r->n], sizeof r->name[0], "%s", o ? o->name : "");
        r->res[r->n] = o ? o->res : -1;
        r->n++;
    }
    pthread_mutex_unlock(&r->mu);
    kc_obj_unref(o);
}

static int rec_count(rec *r, enum kc_wevent type)
{
    pthread_mutex_lock(&r->mu);
    int k = 0;
    for (int i = 0; i < r->n; i++)
        k += r->type[i] == type;
    pthread_mutex_unlock(&r->mu);
    return k;
}

static int wait_count(rec *r, enum kc_wevent type, int want)
{
    int k = 0;
    for (int i = 0; i < 500 && (k = rec_count(r, type)) < want; i++)
        usleep(10000);
    return k;
}

Test(http, watch_events_in_order)
{
    kc_client *c = http_client();
    kc_err err = KC_ERR_INIT;
    create_cm(c, "old", "x");
    kc_obj **v;
    size_t n;
    uint64_t rev;
    cr_assert_eq(kc_client_list(c, CM, "default", NULL, NULL, &v, &n, &rev, &err), 0);
    kc_objv_free(v, n);
    rec *r = rec_new();
    kc_watch *w = kc_client_watch(c, CM, "default", NULL, NULL, rev, on_ev, r, &err);
    cr_assert_not_null(w, "%s", err.msg);
    create_cm(c, "new", "x");
    cr_assert_eq(kc_client_patch(c, CM, "default", "new", NULL, "application/merge-patch+json",
                                 "{\"data\":{\"k\":\"2\"}}", NULL, &err),
                 0);
    cr_assert_eq(kc_client_delete(c, CM, "default", "new", NULL, &err), 0);
    cr_assert_eq(wait_count(r, KC_WATCH_DELETED, 1), 1);
    kc_client_watch_stop(c, w);
    cr_assert_eq(r->closed, 1, "CLOSED once, on stop");
    cr_assert_eq(r->type[r->n - 1], KC_WATCH_CLOSED, "CLOSED is the last call");
    enum kc_wevent want[] = {KC_WATCH_ADDED, KC_WATCH_MODIFIED, KC_WATCH_DELETED};
    uint64_t last = rev;
    int k = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->type[i] == KC_WATCH_BOOKMARK || r->type[i] == KC_WATCH_CLOSED) continue;
        cr_assert_lt(k, 3, "unexpected event %d", r->type[i]);
        cr_assert_eq(r->type[i], want[k], "event %d is %d", k, r->type[i]);
        cr_assert_str_eq(r->name[i], "new", "only events after the revision");
        cr_assert_eq(r->res[i], CM);
        cr_assert_gt(r->rev[i], last, "revisions increase");
        last = r->rev[i];
        k++;
    }
    cr_assert_eq(k, 3);
    free(r);
    kc_client_free(c);
}

Test(http, watch_from_zero_lists_first_and_filters)
{
    kc_client *c = http_client();
    kc_err err = KC_ERR_INIT;
    create_cm(c, "a1", "a");
    create_cm(c, "b1", "b");
    rec *r = rec_new();
    kc_watch *w = kc_client_watch(c, CM, "default", "app=a", NULL, 0, on_ev, r, &err);
    cr_assert_not_null(w, "%s", err.msg);
    cr_assert_eq(wait_count(r, KC_WATCH_ADDED, 1), 1);
    create_cm(c, "b2", "b");
    create_cm(c, "a2", "a");
    cr_assert_eq(wait_count(r, KC_WATCH_ADDED, 2), 2);
    kc_client_watch_stop(c, w);
    for (int i = 0; i < r->n; i++)
        if (r->type[i] == KC_WATCH_ADDED)
            cr_assert(r->name[i][0] == 'a', "%s does not match app=a", r->name[i]);
    cr_assert_eq(r->after_closed, 0);
    free(r);
    kc_client_free(c);
}

static void *writer(void *p)
{
    kc_client *c = p;
    for (int i = 0; i < 400; i++) {
        char n[16];
        snprintf(n, sizeof n, "m%d", i);
        json_t *d = cm(n, "m");
        kc_err err = KC_ERR_INIT;
        kc_client_create(c, CM, "default", d, NULL, &err);
        kc_err_release(&err);
        json_decref(d);
    }
    return NULL;
}

Test(http, watch_stopped_mid_stream)
{
    kc_client *c = http_client();
    kc_err err = KC_ERR_INIT;
    rec *r = rec_new();
    r->delay_us = 2000; /* a slow consumer: events are still arriving when it stops */
    kc_watch *w = kc_client_watch(c, CM, "default", NULL, NULL, 0, on_ev, r, &err);
    cr_assert_not_null(w, "%s", err.msg);
    pthread_t th;
    pthread_create(&th, NULL, writer, c);
    cr_assert_geq(wait_count(r, KC_WATCH_ADDED, 20), 20);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kc_client_watch_stop(c, w);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_assert_lt(ms, 300, "a stop does not wait for the stream (took %ld ms)", ms);
    pthread_mutex_lock(&r->mu);
    int at_stop = r->n;
    pthread_mutex_unlock(&r->mu);
    pthread_join(th, NULL);
    usleep(200000);
    cr_assert_eq(r->n, at_stop, "no callback after watch_stop returned");
    cr_assert_eq(r->closed, 1);
    cr_assert_eq(r->type[r->n - 1], KC_WATCH_CLOSED);
    cr_assert_lt(rec_count(r, KC_WATCH_ADDED), 400, "stopped before the end of the stream");
    free(r);
    kc_client_free(c);
}

Test(http, watch_ended_by_server_then_stopped)
{
    char *u = server_url();
    kc_err err = KC_ERR_INIT;
    void *t = kc_http_transport_new(u, &err);
    free(u);
    rec *r = rec_new();
    kc_creq rq = {
        "GET", "/api/v1/namespaces/default/configmaps", "watch=true&timeoutSeconds=1", NULL, NULL, 0, CM};
    void *h = kc_http_ops.watch(t, &rq, on_ev, r, &err);
    cr_assert_not_null(h, "%s", err.msg);
    cr_assert_eq(wait_count(r, KC_WATCH_CLOSED, 1), 1, "the server's timeout ends the stream");
    kc_http_ops.watch_stop(t, h); /* after CLOSED: safe, and no second CLOSED */
    cr_assert_eq(r->closed, 1);
    cr_assert_eq(r->after_closed, 0);
    kc_http_ops.close(t);
    free(r);
}

Test(http, watch_refused)
{
    kc_client *c = http_client();
    kc_err err = KC_ERR_INIT;
    rec *r = rec_new();
    cr_assert_null(kc_client_watch(c, CM, "default", "app in (", NULL, 0, on_ev, r, &err));
    cr_assert_eq(err.reason, KC_EBADREQUEST, "%d %s", err.reason, err.msg);
    kc_err_release(&err);
    cr_assert_null(kc_client_watch(c, CM, "default", NULL, "no.such.field=1", 0, on_ev, r, &err));
    cr_assert_eq(err.reason, KC_EBADREQUEST, "%d %s", err.reason, err.msg);
    kc_err_release(&err);
    cr_assert_eq(r->n, 0, "a refused watch calls nothing");
    free(r);
    kc_client_free(c);
}

Test(http, watch_expired_after_restart)
{
    kc_client *c = http_client();
    for (int i = 0; i < 3; i++) {
        char n[8];
        snprintf(n, sizeof n, "e%d", i);
        create_cm(c, n, "e");
    }
    kc_client_free(c);
    test_server_halt(&ts);
    test_server_open(&ts); /* same data dir: the event ring starts empty, older revisions are gone */
    test_server_serve(&ts);
    c = http_client();
    kc_err err = KC_ERR_INIT;
    rec *r = rec_new();
    kc_watch *w = kc_client_watch(c, CM, "default", NULL, NULL, 1, on_ev, r, &err);
    cr_assert_not_null(w, "%s", err.msg);
    cr_assert_eq(wait_count(r, KC_WATCH_CLOSED, 1), 1);
    kc_client_watch_stop(c, w);
    cr_assert_eq(r->n, 2, "EXPIRED then CLOSED, got %d events", r->n);
    cr_assert_eq(r->type[0], KC_WATCH_EXPIRED);
    cr_assert_eq(r->rev[0], 1, "EXPIRED carries the revision asked for");
    cr_assert_eq(r->type[1], KC_WATCH_CLOSED);
    free(r);
    kc_client_free(c);
}

/* ---- informer ---- */

typedef struct counts {
    pthread_mutex_t mu;
    int adds, updates, deletes;
} counts;

static void on_add(void *ud, const kc_obj *o)
{
    counts *k = ud;
    (void)o;
    pthread_mutex_lock(&k->mu);
    k->adds++;
    pthread_mutex_unlock(&k->mu);
}
static void on_update(void *ud, const kc_obj *a, const kc_obj *b)
{
    counts *k = ud;
    cr_assert_lt(a->rev, b->rev);
    pthread_mutex_lock(&k->mu);
    k->updates++;
    pthread_mutex_unlock(&k->mu);
}
static void on_delete(void *ud, const kc_obj *o)
{
    counts *k = ud;
    (void)o;
    pthread_mutex_lock(&k->mu);
    k->deletes++;
    pthread_mutex_unlock(&k->mu);
}

static size_t by_app(const kc_obj *o, char **keys, size_t max)
{
    json_t *v = json_object_get(o->labels, "app");
    if (!v || !max) return 0;
    keys[0] = strdup(json_string_value(v));
    return 1;
}

static int wait_for(counts *k, int *field, int want)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&k->mu);
        int v = *field;
        pthread_mutex_unlock(&k->mu);
        if (v >= want) return v;
        usleep(10000);
    }
    return *field;
}

Test(http, informer_follows_changes)
{
    kc_client *c = http_client();
    kc_err err = KC_ERR_INIT;
    create_cm(c, "before", "x");
    counts k = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    kc_informer *inf = kc_informer_new(c, CM, "default", NULL, NULL);
    kc_informer_add_handlers(inf, &(kc_handlers){on_add, on_update, on_delete}, &k);
    kc_informer_add_index(inf, "app", by_app);
    kc_informer_start(inf);
    cr_assert(kc_informer_wait_synced(inf, 5000));
    cr_assert_eq(wait_for(&k, &k.adds, 1), 1, "the listed object is added");
    create_cm(c, "after", "y");
    cr_assert_eq(wait_for(&k, &k.adds, 2), 2, "a watched create is added");
    kc_client_patch(c, CM, "default", "after", NULL, "application/merge-patch+json",
                    "{\"metadata\":{\"labels\":{\"app\":\"z\"}}}", NULL, &err);
    cr_assert_eq(wait_for(&k, &k.updates, 1), 1);
    kc_obj **v;
    size_t n = kc_informer_by_index(inf, "app", "z", &v);
    cr_assert_eq(n, 1, "the index follows the label change");
    kc_objv_free(v, n);
    n = kc_informer_by_index(inf, "app", "y", &v);
    cr_assert_eq(n, 0);
    kc_objv_free(v, n);
    kc_client_delete(c, CM, "default", "before", NULL, &err);
    cr_assert_eq(wait_for(&k, &k.deletes, 1), 1);
    kc_obj *o = kc_informer_get(inf, "default", "after");
    cr_assert_not_null(o);
    kc_obj_unref(o);
    cr_assert_null(kc_informer_get(inf, "default", "before"));
    kc_informer_free(inf);
    kc_client_free(c);
}

/* ---- transport and kubeconfig errors ---- */

Test(http, unreachable_server)
{
    kc_err err = KC_ERR_INIT;
    void *t = kc_http_transport_new("http://127.0.0.1:1/", &err); /* nothing listens on port 1 */
    cr_assert_not_null(t, "%s", err.msg);
    kc_client *c = kc_client_new(&kc_http_ops, t, "test");
    kc_obj *o;
    cr_assert_eq(kc_client_get(c, CM, "default", "x", &o, &err), -1);
    cr_assert_eq(err.reason, KC_EUNAVAILABLE, "%d %s", err.reason, err.msg);
    kc_err_release(&err);
    rec *r = rec_new();
    cr_assert_null(kc_client_watch(c, CM, "default", NULL, NULL, 0, on_ev, r, &err));
    cr_assert_eq(err.reason, KC_EUNAVAILABLE, "%d %s", err.reason, err.msg);
    cr_assert_eq(r->n, 0);
    kc_err_release(&err);
    free(r);
    kc_client_free(c);
}

Test(http, transport_urls)
{
    static const struct {
        const char *url;
        bool ok;
    } cases[] = {{"http://127.0.0.1:6443", true},
                 {"http://h:1/prefix/", true},
                 {"https://127.0.0.1:6443", false},
                 {"ftp://x", false},
                 {"http://", false},
                 {"", false}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        kc_err err = KC_ERR_INIT;
        void *t = kc_http_transport_new(cases[i].url, &err);
        cr_assert_eq(t != NULL, cases[i].ok, "%s: %s", cases[i].url, err.msg);
        if (!t) cr_assert_eq(err.reason, KC_EBADREQUEST);
        if (t) kc_http_ops.close(t);
    }
}

Test(http, kubeconfig_of_the_server)
{
    char path[128];
    snprintf(path, sizeof path, "%s/kubeconfig", ts.dir);
    for (int i = 0; i < 500 && access(path, R_OK) < 0; i++)
        usleep(10000);
    char *url = NULL;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_kubeconfig_load(path, &url, &err), 0, "%s", err.msg);
    char *want = server_url();
    cr_assert_str_eq(url, want);
    free(want);
    void *t = kc_http_transport_new(url, &err);
    kc_client *c = kc_client_new(&kc_http_ops, t, "test");
    kc_obj *o;
    cr_assert_eq(kc_client_get(c, kc_resource_find("", "v1", "namespaces"), NULL, "default", &o, &err), 0,
                 "%s", err.msg);
    cr_assert_str_eq(o->name, "default");
    kc_obj_unref(o);
    kc_client_free(c);
    free(url);
    setenv("KUBECONFIG", path, 1);
    cr_assert_eq(kc_kubeconfig_load(NULL, &url, &err), 0, "$KUBECONFIG is the default: %s", err.msg);
    free(url);
}

Test(http, kubeconfig_errors)
{
    static const struct {
        const char *text;
        kc_reason reason;
        const char *says;
    } cases[] = {
        {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters:\n- name: k\n  "
         "cluster: {server: "
         "'https://h:6443'}\n",
         KC_EBADREQUEST, "https"},
        {"contexts: []\n", KC_EINVALID, "no current-context"},
        {"current-context: c\ncontexts: []\n", KC_EINVALID, "context \"c\" not found"},
        {"current-context: c\ncontexts:\n- name: c\n  context: {user: u}\n", KC_EINVALID, "names no cluster"},
        {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters: []\n", KC_EINVALID,
         "cluster \"k\""},
        {"a: [\n", KC_EINVALID, "yaml"},
        {"- 1\n", KC_EINVALID, "not a mapping"},
        {"current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\nclusters:\n- name: k\n  "
         "cluster: {server: "
         "'http://h:1///'}\n",
         KC_OK, "http://h:1"},
    };
    char path[128];
    snprintf(path, sizeof path, "%s/kc.yaml", ts.dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        FILE *f = fopen(path, "w");
        fputs(cases[i].text, f);
        fclose(f);
        char *url = NULL;
        kc_err err = KC_ERR_INIT;
        int rc = kc_kubeconfig_load(path, &url, &err);
        if (cases[i].reason == KC_OK) {
            cr_assert_eq(rc, 0, "case %zu: %s", i, err.msg);
            cr_assert_str_eq(url, cases[i].says);
            free(url);
            continue;
        }
        cr_assert_eq(rc, -1, "case %zu", i);
        cr_assert_eq(err.reason, cases[i].reason, "case %zu: %d %s", i, err.reason, err.msg);
        cr_assert_not_null(strstr(err.msg, cases[i].says), "case %zu: %s", i, err.msg);
        kc_err_release(&err);
    }
    char *url;
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_kubeconfig_load("/nonexistent/kubeconfig", &url, &err), -1);
    cr_assert_eq(err.reason, KC_ENOTFOUND);
}
