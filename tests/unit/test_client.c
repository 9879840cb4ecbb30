/* The client layer against a real server in this process: the in-process transport (CRUD,
 * errors as kc_err, lists, watches), informers (list + watch, handlers, indexes), the
 * workqueue's deduplication and delays, and the event recorder's aggregation and spam filter. */
#include "apiserver/apiserver.h"
#include "client/client.h"
#include "client/events.h"
#include "client/informer.h"
#include "client/workqueue.h"
#include "testsrv.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static test_server ts;
static kc_apiserver *srv;
static int CM;

static void start(void)
{
    srv = test_server_start(&ts, "client", true);
    CM = kc_resource_find("", "v1", "configmaps");
}

static void stop(void)
{
    test_server_destroy(&ts);
}

static json_t *cm(const char *name, const char *app)
{
    return json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
                     name, "labels", "app", app, "data", "k", "v");
}

TestSuite(client, .init = start, .fini = stop, .timeout = 30);

Test(client, crud_and_errors)
{
    kc_client *c = kc_apiserver_client(srv, "test");
    kc_err err = KC_ERR_INIT;
    kc_obj *o;
    json_t *doc = cm("a", "web");
    cr_assert_eq(kc_client_create(c, CM, "default", doc, &o, &err), 0, "%s", err.msg);
    cr_assert_str_eq(o->name, "a");
    cr_assert_gt(o->rev, 0);
    uint64_t rev = o->rev;
    kc_obj_unref(o);
    cr_assert_eq(kc_client_create(c, CM, "default", doc, NULL, &err), -1);
    cr_assert_eq(err.reason, KC_EALREADYEXISTS);
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
                                 "{\"data\":{\"k\":\"w\"}}", &o, &err), 0, "%s", err.msg);
    cr_assert_gt(o->rev, rev);
    cr_assert(strstr(o->json, "\"k\":\"w\""));
    kc_obj_unref(o);
    cr_assert_eq(kc_client_delete(c, CM, "default", "a", NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(kc_client_get(c, CM, "default", "a", &o, &err), -1);
    json_decref(doc);
    kc_client_free(c);
}

Test(client, list_with_selectors)
{
    kc_client *c = kc_apiserver_client(srv, "test");
    kc_err err = KC_ERR_INIT;
    for (int i = 0; i < 5; i++) {
        char n[8];
        snprintf(n, sizeof n, "l%d", i);
        json_t *d = cm(n, i % 2 ? "odd" : "even");
        cr_assert_eq(kc_client_create(c, CM, "default", d, NULL, &err), 0);
        json_decref(d);
    }
    kc_obj **v;
    size_t n;
    uint64_t rev;
    cr_assert_eq(kc_client_list(c, CM, "default", "app=even", NULL, &v, &n, &rev, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_gt(rev, 0);
    kc_objv_free(v, n);
    cr_assert_eq(kc_client_list(c, CM, NULL, "app in (odd)", "metadata.name=l1", &v, &n, NULL, &err), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0]->name, "l1");
    kc_objv_free(v, n);
    kc_client_free(c);
}

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
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&k->mu);
        int v = *field;
        pthread_mutex_unlock(&k->mu);
        if (v >= want) return v;
        usleep(10000);
    }
    return *field;
}

Test(client, informer_follows_changes)
{
    kc_client *c = kc_apiserver_client(srv, "test");
    kc_err err = KC_ERR_INIT;
    json_t *d = cm("before", "x");
    kc_client_create(c, CM, "default", d, NULL, &err);
    json_decref(d);
    counts k = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    kc_informer *inf = kc_informer_new(c, CM, "default", NULL, NULL);
    kc_informer_add_handlers(inf, &(kc_handlers){on_add, on_update, on_delete}, &k);
    kc_informer_add_index(inf, "app", by_app);
    kc_informer_start(inf);
    cr_assert(kc_informer_wait_synced(inf, 5000));
    cr_assert_eq(wait_for(&k, &k.adds, 1), 1, "the listed object is added");
    d = cm("after", "y");
    kc_client_create(c, CM, "default", d, NULL, &err);
    json_decref(d);
    cr_assert_eq(wait_for(&k, &k.adds, 2), 2, "a watched create is added");
    kc_client_patch(c, CM, "default", "after", NULL, "application/merge-patch+json", "{\"metadata\":{\"labels\":{\"app\":\"z\"}}}",
                    NULL, &err);
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

static json_t *event_about(kc_client *c, const char *uid, const char *reason, size_t *n)
{
    kc_obj **v;
    uint64_t rev;
    kc_err err = KC_ERR_INIT;
    char fsel[160];
    snprintf(fsel, sizeof fsel, "involvedObject.uid=%s,reason=%s", uid, reason);
    cr_assert_eq(kc_client_list(c, kc_resource_find("", "v1", "events"), "default", NULL, fsel, &v, n, &rev, &err), 0);
    json_t *first = *n ? kc_obj_parse(v[0]) : NULL;
    kc_objv_free(v, *n);
    return first;
}

Test(client, recorder_aggregates_and_filters_spam)
{
    kc_client *c = kc_apiserver_client(srv, "test");
    kc_recorder *r = kc_recorder_new(kc_apiserver_client(srv, "rec"), "test-controller", NULL);
    kc_err err = KC_ERR_INIT;
    kc_obj *o;
    json_t *d = cm("noisy", "x");
    cr_assert_eq(kc_client_create(c, CM, "default", d, &o, &err), 0);
    json_decref(d);
    for (int i = 0; i < 3; i++) kc_event(r, o, "Normal", "Same", "always the same");
    kc_recorder_flush(r);
    size_t n;
    json_t *ev = event_about(c, o->uid, "Same", &n);
    cr_assert_eq(n, 1, "repeats are aggregated into one Event");
    cr_assert_eq(json_integer_value(json_object_get(ev, "count")), 3);
    json_decref(ev);
    for (int i = 0; i < 40; i++) kc_event(r, o, "Warning", "Loop", "attempt %d failed", i);
    kc_recorder_flush(r);
    json_decref(event_about(c, o->uid, "Loop", &n));
    cr_assert_eq(n, 22, "the burst of 25 per object (3 used already) caps a loop's events, got %zu", n);
    kc_obj_unref(o);
    kc_recorder_free(r);
    kc_client_free(c);
}

Test(workqueue, dedup_processing_and_delay)
{
    kc_wq *q = kc_wq_new("t");
    kc_wq_add(q, "a");
    kc_wq_add(q, "a");
    kc_wq_add(q, "b");
    cr_assert_eq(kc_wq_len(q), 2, "a queued key is not queued twice");
    char *k = kc_wq_get(q);
    cr_assert_str_eq(k, "a");
    kc_wq_add(q, "a"); /* while processing: held back until done */
    char *k2 = kc_wq_get(q);
    cr_assert_str_eq(k2, "b");
    cr_assert_eq(kc_wq_len(q), 0);
    kc_wq_done(q, "a");
    cr_assert_eq(kc_wq_len(q), 1, "re-queued once processing is done");
    free(kc_wq_get(q));
    kc_wq_add_after(q, "late", 50);
    cr_assert_eq(kc_wq_len(q), 0);
    char *l = kc_wq_get(q);
    cr_assert_str_eq(l, "late");
    kc_wq_add_rate_limited(q, "r");
    kc_wq_add_rate_limited(q, "r");
    cr_assert_eq(kc_wq_requeues(q, "r"), 2);
    kc_wq_forget(q, "r");
    cr_assert_eq(kc_wq_requeues(q, "r"), 0);
    kc_wq_shutdown(q);
    free(k);
    free(k2);
    free(l);
    kc_wq_free(q);
}

/* Several idle workers, delayed keys: one worker sleeps on the earliest deadline; a later add
 * with an earlier deadline re-arms it, and every key still comes out on time, once. */
typedef struct wq_worker_arg {
    kc_wq *q;
    pthread_mutex_t mu;
    int got[3];
    uint64_t at[3];
} wq_worker_arg;

static uint64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void *wq_worker(void *p)
{
    wq_worker_arg *a = p;
    char *k;
    while ((k = kc_wq_get(a->q))) {
        int i = k[0] - '0';
        pthread_mutex_lock(&a->mu);
        a->got[i]++;
        a->at[i] = mono_ms();
        pthread_mutex_unlock(&a->mu);
        kc_wq_done(a->q, k);
        free(k);
    }
    return NULL;
}

Test(workqueue, delayed_keys_with_many_workers)
{
    wq_worker_arg a = {.q = kc_wq_new("t"), .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, wq_worker, &a);
    uint64_t t0 = mono_ms();
    kc_wq_add_after(a.q, "0", 600);
    usleep(50000); /* a worker now sleeps until t0 + 600 */
    kc_wq_add_after(a.q, "1", 100); /* earlier: must not wait for key 0 */
    kc_wq_add_after(a.q, "2", 300);
    usleep(900000);
    kc_wq_shutdown(a.q);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) cr_assert_eq(a.got[i], 1, "key %d delivered once", i);
    cr_assert(a.at[1] - t0 >= 150 && a.at[1] - t0 < 400, "key 1 at %d ms", (int)(a.at[1] - t0));
    cr_assert(a.at[2] - t0 >= 350 && a.at[2] - t0 < 550, "key 2 at %d ms", (int)(a.at[2] - t0));
    cr_assert(a.at[0] - t0 >= 600 && a.at[0] - t0 < 800, "key 0 at %d ms", (int)(a.at[0] - t0));
    kc_wq_free(a.q);
}

/* One worker, asleep until a far delayed key is due: a plain add still wakes it at once. */
Test(workqueue, add_wakes_the_only_worker_waiting_on_a_timer)
{
    wq_worker_arg a = {.q = kc_wq_new("t"), .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t th;
    pthread_create(&th, NULL, wq_worker, &a);
    uint64_t t0 = mono_ms();
    kc_wq_add_after(a.q, "0", 5000);
    usleep(50000);
    kc_wq_add(a.q, "1");
    usleep(200000);
    kc_wq_shutdown(a.q);
    pthread_join(th, NULL);
    cr_assert_eq(a.got[1], 1, "the added key was not delivered while the worker waited on the timer");
    cr_assert(a.at[1] - t0 < 200, "key 1 at %d ms", (int)(a.at[1] - t0));
    cr_assert_eq(a.got[0], 0);
    kc_wq_free(a.q);
}
