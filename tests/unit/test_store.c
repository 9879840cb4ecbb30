/* Store unit tests over a fake backend: the single write path, preconditions, group commit
 * ordering (nothing acknowledged or published before commit), sorted and historical lists,
 * the watch ring, and reload. */
#include "api/resource.h"
#include "lib/map.h"
#include "store/store.h"
#include <criterion/criterion.h>
#include <unistd.h>
#include <string.h>

/* ---- fake backend: keeps committed rows in memory; can be told to refuse commits ---- */
typedef struct row {
    char res[64], key[256], idx[1024];
    uint64_t rev;
    char *val;
    size_t len;
} row;

typedef struct fake {
    row rows[256];
    int n;
    uint64_t rev;
    int commits;
} fake;

static int fake_load(void *be, kc_backend_load_cb cb, void *ud, uint64_t *rev, kc_err *err)
{
    fake *f = be;
    (void)err;
    for (int i = 0; i < f->n; i++) cb(ud, f->rows[i].res, f->rows[i].key, f->rows[i].rev, f->rows[i].idx, f->rows[i].val, f->rows[i].len);
    *rev = f->rev;
    return 0;
}

static row *find(fake *f, const char *res, const char *key)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->rows[i].res, res) && !strcmp(f->rows[i].key, key)) return &f->rows[i];
    return NULL;
}

static int fake_commit(void *be, const kc_backend_write *w, size_t n, uint64_t rev, kc_err *err)
{
    fake *f = be;
    (void)err;
    for (size_t i = 0; i < n; i++) {
        row *r = find(f, w[i].res, w[i].key);
        if (w[i].del) {
            if (r) {
                free(r->val);
                *r = f->rows[--f->n];
                f->rows[f->n].val = NULL;
            }
            continue;
        }
        if (!r) r = &f->rows[f->n++];
        snprintf(r->res, sizeof r->res, "%s", w[i].res);
        snprintf(r->key, sizeof r->key, "%s", w[i].key);
        snprintf(r->idx, sizeof r->idx, "%s", w[i].idx);
        free(r->val);
        r->val = strndup(w[i].val, w[i].len);
        r->len = w[i].len;
        r->rev = w[i].rev;
    }
    f->rev = rev;
    f->commits++;
    return 0;
}

static const kc_backend_ops fake_ops = {fake_load, fake_commit, NULL};

static int CM, PODS;

static json_t *cm(const char *ns, const char *name, const char *label)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s}},s:{s:s}}", "kind", "ConfigMap", "apiVersion", "v1", "metadata",
                     "name", name, "namespace", ns, "uid", "u-1", "labels", "app", label, "data", "k", "v");
}

static kc_store *open_store(fake *f, size_t ring)
{
    CM = kc_resource_find("", "v1", "configmaps");
    PODS = kc_resource_find("", "v1", "pods");
    kc_err err = KC_ERR_INIT;
    kc_store *s = kc_store_open(&fake_ops, f, ring, &err);
    cr_assert_not_null(s, "%s", err.msg);
    return s;
}

static int acks;
static uint64_t acked_rev;
static fake *watched;
static void on_done(void *ud, const kc_obj *o)
{
    (void)ud;
    acks++;
    acked_rev = o->rev;
    cr_assert_geq(watched->rev, o->rev, "acknowledged before durable");
}

Test(store, write_is_acknowledged_only_after_commit)
{
    fake f = {0};
    kc_store *s = open_store(&f, 16);
    kc_err err = KC_ERR_INIT;
    watched = &f;
    acks = 0;
    for (int i = 0; i < 3; i++) {
        char n[16];
        snprintf(n, sizeof n, "c%d", i);
        cr_assert_eq(kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", n, "a"), 0, on_done, NULL, NULL, &err), 0);
    }
    cr_assert_eq(acks, 0);
    cr_assert_eq(f.commits, 0);
    cr_assert_eq(kc_store_seq_head(s), 0, "published before commit");
    cr_assert_eq(kc_store_flush(s), 3);
    cr_assert_eq(f.commits, 1, "one transaction for the whole batch");
    cr_assert_eq(acks, 3);
    cr_assert_eq(acked_rev, 3);
    cr_assert_eq(kc_store_seq_head(s), 3);
    kc_store_free(s);
}

Test(store, preconditions)
{
    fake f = {0};
    kc_store *s = open_store(&f, 16);
    kc_err err = KC_ERR_INIT;
    const kc_obj *o;
    cr_assert_eq(kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", "x", "a"), 0, NULL, NULL, &o, &err), 0);
    cr_assert_eq(o->rev, 1);
    cr_assert(strstr(o->json, "\"resourceVersion\":\"1\""));
    cr_assert_eq(kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", "x", "a"), 0, NULL, NULL, NULL, &err), -1);
    cr_assert_eq(err.reason, KC_EALREADYEXISTS);
    cr_assert_str_eq(err.msg, "configmaps \"x\" already exists");
    cr_assert_eq(kc_store_write(s, KC_WRITE_UPDATE, CM, cm("default", "x", "b"), 7, NULL, NULL, NULL, &err), -1);
    cr_assert_eq(err.reason, KC_ECONFLICT);
    cr_assert_eq(kc_store_write(s, KC_WRITE_UPDATE, CM, cm("default", "nope", "b"), 0, NULL, NULL, NULL, &err), -1);
    cr_assert_eq(err.reason, KC_ENOTFOUND);
    cr_assert_eq(kc_store_write(s, KC_WRITE_UPDATE, CM, cm("default", "x", "b"), 1, NULL, NULL, &o, &err), 0);
    cr_assert_eq(o->rev, 2);
    cr_assert_str_eq(json_string_value(json_object_get(o->labels, "app")), "b");
    kc_store_free(s);
}

static bool collect(void *ud, const kc_obj *o)
{
    char *out = ud;
    strcat(out, o->key);
    strcat(out, " ");
    return true;
}

Test(store, sorted_lists_scoped_by_namespace_and_after)
{
    fake f = {0};
    kc_store *s = open_store(&f, 64);
    kc_err err = KC_ERR_INIT;
    const char *items[][2] = {{"b", "y"}, {"a", "z"}, {"b", "a"}, {"a", "m"}, {"ab", "q"}};
    for (int i = 0; i < 5; i++) kc_store_write(s, KC_WRITE_CREATE, CM, cm(items[i][0], items[i][1], "a"), 0, NULL, NULL, NULL, &err);
    char out[256] = "";
    kc_store_list(s, CM, NULL, NULL, 0, collect, out, &err);
    cr_assert_str_eq(out, "a/m a/z ab/q b/a b/y ");
    out[0] = 0;
    kc_store_list(s, CM, "a", NULL, 0, collect, out, &err);
    cr_assert_str_eq(out, "a/m a/z ");
    out[0] = 0;
    kc_store_list(s, CM, NULL, "a/z", 0, collect, out, &err);
    cr_assert_str_eq(out, "ab/q b/a b/y ");
    kc_store_free(s);
}

Test(store, list_at_a_past_revision)
{
    fake f = {0};
    kc_store *s = open_store(&f, 64);
    kc_err err = KC_ERR_INIT;
    kc_store_write(s, KC_WRITE_CREATE, CM, cm("d", "one", "a"), 0, NULL, NULL, NULL, &err);      /* rev 1 */
    kc_store_write(s, KC_WRITE_CREATE, CM, cm("d", "two", "a"), 0, NULL, NULL, NULL, &err);      /* rev 2 */
    kc_store_flush(s);
    kc_store_write(s, KC_WRITE_DELETE, CM, cm("d", "one", "a"), 0, NULL, NULL, NULL, &err);      /* rev 3 */
    kc_store_write(s, KC_WRITE_CREATE, CM, cm("d", "three", "a"), 0, NULL, NULL, NULL, &err);    /* rev 4 */
    kc_store_write(s, KC_WRITE_UPDATE, CM, cm("d", "two", "b"), 0, NULL, NULL, NULL, &err);      /* rev 5 */
    kc_store_flush(s);
    char out[256] = "";
    cr_assert_eq(kc_store_list(s, CM, "d", NULL, 2, collect, out, &err), 0);
    cr_assert_str_eq(out, "d/one d/two ");
    const kc_obj *two = kc_store_get(s, CM, "d", "two");
    cr_assert_eq(two->rev, 5);
    out[0] = 0;
    kc_store_list(s, CM, "d", NULL, 0, collect, out, &err);
    cr_assert_str_eq(out, "d/three d/two ");
    kc_store_free(s);
}

Test(store, ring_events_and_expiry)
{
    fake f = {0};
    kc_store *s = open_store(&f, 4);
    kc_err err = KC_ERR_INIT;
    for (int i = 0; i < 6; i++) {
        char n[16];
        snprintf(n, sizeof n, "c%d", i);
        kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", n, "a"), 0, NULL, NULL, NULL, &err);
        kc_store_flush(s);
    }
    bool lost, too_old;
    cr_assert_null(kc_store_event(s, 0, &lost));
    cr_assert(lost, "seq 0 fell out of a ring of 4");
    const kc_ring_event *e = kc_store_event(s, 5, &lost);
    cr_assert_not_null(e);
    cr_assert_eq(e->type, KC_EV_ADDED);
    cr_assert_eq(e->rev, 6);
    cr_assert_eq(kc_store_seq_for_rev(s, 4, &too_old), 4);
    cr_assert(!too_old);
    kc_store_seq_for_rev(s, 1, &too_old);
    cr_assert(too_old);
    cr_assert_eq(kc_store_list(s, CM, NULL, NULL, 1, collect, (char[256]){0}, &err), -1);
    cr_assert_eq(err.reason, KC_EEXPIRED);
    kc_store_free(s);
}

Test(store, reload_restores_objects_index_and_revision)
{
    fake f = {0};
    kc_store *s = open_store(&f, 16);
    kc_err err = KC_ERR_INIT;
    kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", "keep", "web"), 0, NULL, NULL, NULL, &err);
    kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", "gone", "web"), 0, NULL, NULL, NULL, &err);
    kc_store_write(s, KC_WRITE_DELETE, CM, cm("default", "gone", "web"), 0, NULL, NULL, NULL, &err);
    json_t *pod = json_pack("{s:{s:s,s:s,s:s},s:{s:s},s:{s:s}}", "metadata", "name", "p", "namespace", "default", "uid",
                            "u", "spec", "nodeName", "n1", "status", "phase", "Running");
    kc_store_write(s, KC_WRITE_CREATE, PODS, pod, 0, NULL, NULL, NULL, &err);
    kc_store_flush(s);
    kc_store_free(s);
    s = open_store(&f, 16);
    cr_assert_eq(kc_store_rev(s), 4);
    const kc_obj *o = kc_store_get(s, CM, "default", "keep");
    cr_assert_not_null(o);
    cr_assert_str_eq(json_string_value(json_object_get(o->labels, "app")), "web");
    cr_assert_null(kc_store_get(s, CM, "default", "gone"));
    const kc_obj *p = kc_store_get(s, PODS, "default", "p");
    cr_assert_str_eq(kc_obj_field(p, "spec.nodeName"), "n1");
    cr_assert_str_eq(kc_obj_field(p, "status.phase"), "Running");
    const kc_obj *o2;
    kc_store_write(s, KC_WRITE_UPDATE, CM, cm("default", "keep", "x"), 0, NULL, NULL, &o2, &err);
    cr_assert_eq(o2->rev, 5, "the revision counter continues after a restart");
    kc_store_free(s);
    for (int i = 0; i < f.n; i++) free(f.rows[i].val);
}

/* The index stored beside each value (uid, labels, selectable fields, deleting) is written by
 * hand (store.c obj_index): strings that need escaping and the deleting flag survive a reload. */
Test(store, reload_index_escaping_and_deleting)
{
    fake f = {0};
    kc_store *s = open_store(&f, 16);
    kc_err err = KC_ERR_INIT;
    json_t *pod = json_pack("{s:{s:s,s:s,s:s,s:s,s:{s:s,s:s}},s:{s:s},s:{s:s}}", "metadata", "name", "p",
                            "namespace", "default", "uid", "u\"1\\", "deletionTimestamp", "2026-01-01T00:00:00Z",
                            "labels", "a", "x\"y\\z\n\u00e9", "b/c", "", "spec", "nodeName", "n\t1", "status", "phase",
                            "Running");
    kc_store_write(s, KC_WRITE_CREATE, PODS, pod, 0, NULL, NULL, NULL, &err);
    kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", "plain", "v"), 0, NULL, NULL, NULL, &err);
    kc_store_flush(s);
    kc_store_free(s);
    s = open_store(&f, 16);
    const kc_obj *p = kc_store_get(s, PODS, "default", "p");
    cr_assert_not_null(p);
    cr_assert_str_eq(p->uid, "u\"1\\");
    cr_assert(p->deleting);
    cr_assert_str_eq(json_string_value(json_object_get(p->labels, "a")), "x\"y\\z\n\u00e9");
    cr_assert_str_eq(json_string_value(json_object_get(p->labels, "b/c")), "");
    cr_assert_str_eq(kc_obj_field(p, "spec.nodeName"), "n\t1");
    const kc_obj *c = kc_store_get(s, CM, "default", "plain");
    cr_assert_not(c->deleting);
    cr_assert_str_eq(c->uid, "u-1");
    kc_store_free(s);
    for (int i = 0; i < f.n; i++) free(f.rows[i].val);
}

Test(store, sqlite_backend_round_trip)
{
    char dir[] = "/tmp/kubec-test-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/kubec.db", dir);
    kc_err err = KC_ERR_INIT;
    void *be = kc_sqlite_open(path, &err);
    cr_assert_not_null(be, "%s", err.msg);
    CM = kc_resource_find("", "v1", "configmaps");
    kc_store *s = kc_store_open(&kc_sqlite_ops, be, 16, &err);
    for (int i = 0; i < 50; i++) {
        char n[16];
        snprintf(n, sizeof n, "c%02d", i);
        kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", n, "a"), 0, NULL, NULL, NULL, &err);
    }
    kc_store_write(s, KC_WRITE_DELETE, CM, cm("default", "c07", "a"), 0, NULL, NULL, NULL, &err);
    kc_store_flush(s);
    kc_store_free(s);
    be = kc_sqlite_open(path, &err);
    s = kc_store_open(&kc_sqlite_ops, be, 16, &err);
    cr_assert_eq(kc_store_rev(s), 51);
    cr_assert_eq(kc_store_count(s, CM), 49);
    const kc_obj *o = kc_store_get(s, CM, "default", "c42");
    cr_assert_not_null(o);
    cr_assert(strstr(o->json, "\"name\":\"c42\""));
    cr_assert_null(kc_store_get(s, CM, "default", "c07"));
    kc_store_free(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(map, put_get_delete_grow)
{
    kc_map m = KC_MAP_INIT;
    static char keys[2000][8];
    for (int i = 0; i < 2000; i++) {
        snprintf(keys[i], 8, "k%d", i);
        cr_assert_null(kc_map_put(&m, keys[i], (void *)(intptr_t)(i + 1)));
    }
    for (int i = 0; i < 2000; i += 2) cr_assert_eq((intptr_t)kc_map_del(&m, keys[i]), i + 1);
    cr_assert_eq(kc_map_len(&m), 1000);
    for (int i = 0; i < 2000; i++) cr_assert_eq((intptr_t)kc_map_get(&m, keys[i]), i % 2 ? i + 1 : 0);
    size_t n = 0;
    for (size_t it = 0; kc_map_next(&m, &it, NULL, NULL);) n++;
    cr_assert_eq(n, 1000);
    kc_map_release(&m);
}

/* A lone write commits at once unless other writers overlap it (kubectl apply never waits);
 * with enough overlapping writes in the last second, a lone write lingers up to 4 ms for
 * company, commits as soon as 8 writes share the linger, or when the linger ends. */
static void write_cm(kc_store *s, const char *name)
{
    kc_err err = KC_ERR_INIT;
    cr_assert_eq(kc_store_write(s, KC_WRITE_CREATE, CM, cm("default", name, "x"), 0, NULL, NULL, NULL, &err), 0);
}

Test(store, lone_write_lingers_only_among_concurrent_writers)
{
    fake f = {0};
    kc_store *s = open_store(&f, 16);
    char n[16];
    cr_assert_eq(kc_store_wait_ms(s), -1, "nothing queued");
    for (int i = 0; i < 5; i++) {
        snprintf(n, sizeof n, "alone%d", i);
        write_cm(s, n);
        kc_store_kick(s);
        cr_assert_eq(f.commits, i + 1, "a one-at-a-time writer commits at once");
    }
    for (int i = 0; i < 40; i++) { /* pairs: the second of each overlaps the first */
        snprintf(n, sizeof n, "p%d", 2 * i);
        write_cm(s, n);
        snprintf(n, sizeof n, "p%d", 2 * i + 1);
        write_cm(s, n);
        kc_store_kick(s);
    }
    int commits = f.commits;
    cr_assert_eq(commits, 5 + 40, "each pair in one commit");
    write_cm(s, "lone");
    kc_store_kick(s);
    cr_assert_eq(f.commits, commits, "among concurrent writers a lone write lingers");
    int w = kc_store_wait_ms(s);
    cr_assert(w > 0 && w <= 4, "linger of at most 4 ms, got %d", w);
    for (int i = 0; i < 6; i++) {
        snprintf(n, sizeof n, "company%d", i);
        write_cm(s, n);
        kc_store_kick(s);
        cr_assert_eq(f.commits, commits, "7 writes still linger");
    }
    write_cm(s, "eighth");
    kc_store_kick(s);
    cr_assert_eq(kc_store_wait_ms(s), -1, "8 writes: their batch goes to the committer at once");
    cr_assert_eq(kc_store_flush(s), 8);
    cr_assert_eq(f.commits, commits + 1, "one commit for all 8");
    write_cm(s, "after-full");
    kc_store_kick(s);
    cr_assert_eq(f.commits, commits + 2, "a full linger says writes come fast: the next commits at once");
    write_cm(s, "late");
    kc_store_kick(s);
    cr_assert_eq(f.commits, commits + 2, "batches small again: a lone write lingers");
    usleep(5000);
    cr_assert_eq(kc_store_wait_ms(s), 0, "linger over");
    kc_store_kick(s);
    cr_assert_eq(f.commits, commits + 3, "alone at the end of its linger: committed");
    cr_assert_eq(kc_store_seq_head(s), 5 + 80 + 10);
    kc_store_free(s);
}
