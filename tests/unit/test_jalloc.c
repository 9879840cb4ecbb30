/* The jansson block cache (lib/jalloc.c): the installing thread gets its freed blocks back,
 * other threads and free() keep working on the same blocks. */
#include "lib/jalloc.h"
#include "lib/jsonr.h"
#include <criterion/criterion.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>

static void setup(void)
{
    kc_jalloc_install();
}

/* LIFO reuse on the installing thread: a freed value's block serves the next value of its size. */
Test(jalloc, installing_thread_reuses_blocks, .init = setup)
{
    json_t *a = json_string("twenty-four bytes long!");
    const char *block = json_string_value(a);
    json_decref(a);
    json_t *b = json_string("another string, same sz");
    cr_assert_eq(json_string_value(b), block, "the freed block is served again");
    json_decref(b);
}

/* Freed blocks stay with the cache (in use, for malloc), beyond glibc's 7 per size: 400 freed
 * strings leave malloc's in-use bytes where they were. Without the cache glibc would take most
 * of them back (its fast bins count as free). */
Test(jalloc, cache_keeps_blocks_beyond_glibc_tcache, .init = setup)
{
    json_t *v[400];
    for (int i = 0; i < 400; i++) v[i] = json_string("x");
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 400; i++) json_decref(v[i]);
    size_t after = mallinfo2().uordblks;
    cr_assert_geq(after + 64 * 16, before, "in use before %zu, after %zu", before, after);
    for (int i = 0; i < 400; i++) v[i] = json_string("y"); /* served from the cache */
    cr_assert_leq(mallinfo2().uordblks, after + 64 * 16);
    for (int i = 0; i < 400; i++) json_decref(v[i]);
}

static void *other_thread(void *p)
{
    json_t *doc = p; /* allocated by the installing thread, freed here: plain free() */
    json_decref(doc);
    const char *text = "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\"}";
    json_t *mine = kc_json_loadb(text, strlen(text), 0, NULL);
    char *s = json_dumps(mine, JSON_COMPACT);
    json_decref(mine);
    return s;
}

/* Blocks cross threads both ways and what jansson returns may be released with free(). */
Test(jalloc, blocks_cross_threads_and_free, .init = setup)
{
    const char *text = "{\"x\":{\"y\":[\"z\",1.5,true]}}";
    json_t *doc = kc_json_loadb(text, strlen(text), 0, NULL);
    cr_assert_not_null(doc);
    pthread_t t;
    void *out;
    pthread_create(&t, NULL, other_thread, doc);
    pthread_join(t, &out);
    cr_assert_str_eq(out, "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e\"}");
    free(out);
    char *s = json_dumps(json_pack("[s,i]", "k", 1), JSON_COMPACT); /* leaks the array: fine here */
    cr_assert_str_eq(s, "[\"k\",1]");
    free(s);
    for (int round = 0; round < 3; round++) { /* many values: the cap sends the rest to free() */
        json_t *arr = json_array();
        for (int i = 0; i < 5000; i++) json_array_append_new(arr, json_stringn("0123456789abcdef", (size_t)(i % 17)));
        json_decref(arr);
    }
}
