/* kubec server start-up and its event loop: opens the store, creates the bootstrap namespaces,
 * listens, writes DIR/kubeconfig once ready, then runs the loop
 *
 *   h2o_evloop_run (requests; writes are applied and queued)
 *     -> kc_store_flush (one durable transaction; replies and watch events go out)
 *     -> every 50 ms: watch deadlines and bookmarks; once a second: namespace termination
 *
 * until SIGINT/SIGTERM. */
#include "apiserver/apiserver.h"
#include "lib/clock.h"
#include "lib/xalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RING_SIZE 65536

static kc_apiserver *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running) __atomic_store_n(&running->stop, 1, __ATOMIC_RELAXED);
}

static int bootstrap(kc_apiserver *s, kc_err *err)
{
    static const char *names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    int res = kc_resource_find("", "v1", "namespaces");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (kc_store_get(s->store, res, NULL, names[i])) continue;
        char uid[37], now[32];
        kc_new_uid(uid);
        kc_now_rfc3339(now);
        json_t *ns = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "kind", "Namespace", "apiVersion",
                               "v1", "metadata", "name", names[i], "uid", uid, "creationTimestamp", now, "labels",
                               "kubernetes.io/metadata.name", names[i], "spec", "finalizers", "kubernetes", "status",
                               "phase", "Active");
        if (kc_store_write(s->store, KC_WRITE_CREATE, res, ns, 0, NULL, NULL, NULL, err) < 0) return -1;
    }
    kc_store_flush(s->store);
    return 0;
}

static int write_kubeconfig(kc_apiserver *s, kc_err *err)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/kubeconfig", s->data_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return kc_errf(err, KC_EINTERNAL, "write %s: %s", tmp, strerror(errno));
    FILE *f = fdopen(fd, "w");
    fprintf(f,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kubec\n  cluster:\n    server: http://%s:%d\n"
            "users:\n- name: admin\n  user: {}\ncontexts:\n- name: kubec\n  context:\n    cluster: kubec\n"
            "    user: admin\n    namespace: default\ncurrent-context: kubec\n",
            s->listen_host, s->listen_port);
    fflush(f);
    fsync(fd);
    fclose(f);
    if (rename(tmp, path) < 0) return kc_errf(err, KC_EINTERNAL, "rename %s: %s", path, strerror(errno));
    return 0;
}

static int parse_listen(kc_apiserver *s, const char *listen, kc_err *err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon - listen >= (long)sizeof s->listen_host)
        return kc_errf(err, KC_EBADREQUEST, "--listen: want HOST:PORT, got %s", listen);
    snprintf(s->listen_host, sizeof s->listen_host, "%.*s", (int)(colon - listen), listen);
    s->listen_port = atoi(colon + 1);
    return 0;
}

/* How long the loop may wait for events: 0 when work is pending, the store's linger, else 50 ms
 * (the tick of watch deadlines). */
static int32_t loop_wait_ms(kc_apiserver *s)
{
    h2o_evloop_t *l = s->ctx.loop;
    if (l->_pending_as_client || l->_pending_as_server || l->_statechanged.head) return 0;
    int w = kc_store_wait_ms(s->store);
    return w >= 0 && w < 50 ? w : 50;
}

/* After every durable batch: wake the watchers, give back deleted Services' addresses. */
static void on_publish(void *p)
{
    kc_apiserver *s = p;
    kc_service_released_by_events(s);
    kc_watch_wake_all(s);
}

static void on_store_durable(h2o_socket_t *sock, const char *err)
{
    kc_apiserver *s = sock->data;
    (void)err;
    h2o_buffer_consume(&sock->input, sock->input->size);
    kc_store_poll(s->store);
}

static void watch_store(kc_apiserver *s)
{
    h2o_socket_t *sock = h2o_evloop_socket_create(s->ctx.loop, dup(kc_store_fd(s->store)), H2O_SOCKET_FLAG_DONT_READ);
    sock->data = s;
    h2o_socket_read_start(sock, on_store_durable);
}

/* Shutdown: components (controllers, simulated nodes) stop on their own thread, since stopping
 * an informer makes client calls that this loop must keep serving; then the loop ends. */
static void *stop_components(void *p)
{
    kc_apiserver *s = p;
    for (int i = s->ncomponents - 1; i >= 0; i--) s->components[i].stop(s->components[i].ud);
    __atomic_store_n(&s->components_stopped, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void run_loop(kc_apiserver *s)
{
    uint64_t last_tick = kc_mono_ms(), last_ns = last_tick;
    pthread_t stopper;
    bool stopping = false;
    while (!__atomic_load_n(&s->components_stopped, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED) && !stopping) {
            stopping = true;
            pthread_create(&stopper, NULL, stop_components, s);
        }
        s->turn++;
        h2o_evloop_run(s->ctx.loop, loop_wait_ms(s));
        kc_store_kick(s->store); /* the turn's writes go to the committer as one batch */
        uint64_t now = kc_mono_ms();
        if (now - last_tick >= 50) { /* watch deadlines and bookmarks */
            last_tick = now;
            kc_watch_tick(s);
        }
        if (now - last_ns >= 1000) {
            last_ns = now;
            kc_ns_terminate_step(s);
        }
    }
    pthread_join(stopper, NULL);
}

kc_apiserver *kc_apiserver_new(const char *data_dir, const char *listen, kc_err *err)
{
    kc_apiserver *s = xcalloc(1, sizeof *s);
    s->data_dir = xstrdup(data_dir);
    s->t_start = kc_mono_ms();
    s->not_ready_toleration_s = s->unreachable_toleration_s = 300;
    s->metrics = kc_metrics_new();
    if (parse_listen(s, listen, err) < 0) return NULL;
    if (mkdir(data_dir, 0700) < 0 && errno != EEXIST) {
        kc_errf(err, KC_EINTERNAL, "mkdir %s: %s", data_dir, strerror(errno));
        return NULL;
    }
    char db[4096];
    snprintf(db, sizeof db, "%s/kubec.db", data_dir);
    void *be = kc_sqlite_open(db, err);
    if (!be || !(s->store = kc_store_open(&kc_sqlite_ops, be, RING_SIZE, err))) {
        kc_err_wrap(err, "open store");
        return NULL;
    }
    if (bootstrap(s, err) < 0) return NULL;
    s->alloc_seq = kc_store_seq_head(s->store);
    kc_store_on_publish(s->store, on_publish, s);
    kc_http_init(s);
    watch_store(s);
    s->inproc = kc_inproc_new(s);
    if (kc_http_listen(s, err) < 0) return NULL;
    if (kc_apiserver_set_service_ranges(s, "10.96.0.0/12", "30000-32767", err) < 0 || kc_service_bootstrap(s, err) < 0 ||
        kc_priority_bootstrap(s, err) < 0)
        return NULL;
    kc_store_flush(s->store);
    return s;
}

kc_client *kc_apiserver_client(kc_apiserver *s, const char *agent)
{
    return kc_client_new(&kc_inproc_ops, s->inproc, agent);
}

void kc_apiserver_add_component(kc_apiserver *s, void (*stop)(void *ud), void *ud)
{
    if (s->ncomponents == KC_MAX_COMPONENTS) abort();
    s->components[s->ncomponents++] = (struct kc_component){stop, ud};
}

void kc_apiserver_add_node_provider(kc_apiserver *s, const struct kc_node_provider *ops, void *ud)
{
    if (s->nproviders == 4) abort();
    s->node_providers[s->nproviders].ops = ops;
    s->node_providers[s->nproviders++].ud = ud;
}

void kc_apiserver_request_stop(kc_apiserver *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
}

int kc_apiserver_serve(kc_apiserver *s, kc_err *err)
{
    signal(SIGPIPE, SIG_IGN);
    running = s;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (write_kubeconfig(s, err) < 0) return -1;
    fprintf(stderr, "kubec: serving on http://%s:%d (revision %llu, ready in %llu ms); kubeconfig: %s/kubeconfig\n",
            s->listen_host, s->listen_port, (unsigned long long)kc_store_rev(s->store),
            (unsigned long long)(kc_mono_ms() - s->t_start), s->data_dir);
    run_loop(s);
    kc_store_flush(s->store);
    fprintf(stderr, "kubec: stopped\n");
    return 0;
}

void kc_apiserver_set_default_tolerations(kc_apiserver *s, int not_ready_s, int unreachable_s)
{
    s->not_ready_toleration_s = not_ready_s, s->unreachable_toleration_s = unreachable_s;
}

void kc_apiserver_free(kc_apiserver *s)
{
    if (!s) return;
    kc_store_free(s->store);
    kc_range_release_all(&s->svc_ips);
    kc_range_release_all(&s->node_ports);
    kc_metrics_free(s->metrics);
    free(s->data_dir);
    free(s);
}
