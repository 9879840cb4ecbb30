/* The in-process API server that client and controller unit tests run against: a fresh data
 * directory, kc_apiserver on an ephemeral port, served by its own thread. Header-only, so each
 * test binary links just what it uses. */
#ifndef KC_TESTS_TESTSRV_H
#define KC_TESTS_TESTSRV_H
#include "apiserver/apiserver.h"
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct test_server {
    char dir[64];
    kc_apiserver *srv;
    pthread_t loop;
    bool serving;
} test_server;

static void *test_server_loop(void *p)
{
    kc_err err = KC_ERR_INIT;
    kc_apiserver_serve(p, &err);
    return NULL;
}

/* Opens the server on t->dir without serving yet (controllers may be started first). */
static inline kc_apiserver *test_server_open(test_server *t)
{
    kc_err err = KC_ERR_INIT;
    t->srv = kc_apiserver_new(t->dir, "127.0.0.1:0", &err);
    cr_assert_not_null(t->srv, "%s", err.msg);
    return t->srv;
}

static inline void test_server_serve(test_server *t)
{
    cr_assert_eq(pthread_create(&t->loop, NULL, test_server_loop, t->srv), 0);
    t->serving = true;
}

/* A fresh data directory /tmp/kubec-<tag>-XXXXXX, then open (and serve unless told not to). */
static inline kc_apiserver *test_server_start(test_server *t, const char *tag, bool serve)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/kubec-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(t->dir));
    test_server_open(t);
    if (serve) test_server_serve(t);
    return t->srv;
}

/* Stops and frees the server; its data directory stays (a test may reopen it). */
static inline void test_server_halt(test_server *t)
{
    if (!t->srv) return;
    kc_apiserver_request_stop(t->srv);
    if (t->serving) pthread_join(t->loop, NULL);
    kc_apiserver_free(t->srv);
    t->srv = NULL;
    t->serving = false;
}

/* Halts the server if it runs and removes its data directory. */
static inline void test_server_destroy(test_server *t)
{
    test_server_halt(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", t->dir);
    cr_assert_eq(system(cmd), 0);
}

#endif
