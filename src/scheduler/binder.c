/* The binding side (upstream's binding cycle, run off the scheduling thread): a pool of workers
 * doing the API writes a scheduling decision needs, so that the next cycle starts at once.
 *
 *   bind job:   POST pods/<name>/binding -> done callback (the scheduler forgets the assumed pod
 *               on failure) -> Normal "Scheduled" event
 *   status job: PodScheduled=False, reason Unschedulable (strategic merge patch of pods/status,
 *               conditions merge by type) -> Warning "FailedScheduling" event
 *   evict job:  a preemption victim: DisruptionTarget condition (reason PreemptionByScheduler),
 *               DELETE, Normal "Preempted" event
 *   nominate:   status.nominatedNodeName of the preemptor
 *   event job:  kc_event; queued apart, at most 1000 waiting (more are dropped, as upstream's
 *               event broadcaster does), and run only when no bind/status job waits. */
#include "scheduler/binder.h"
#include "client/events.h"
#include "lib/xalloc.h"
#include <pthread.h>
#include <stdio.h>
#include <time.h>

enum { JOB_BIND, JOB_STATUS, JOB_EVENT, JOB_EVICT, JOB_NOMINATE };
#define MAX_QUEUED_EVENTS 1000

typedef struct job {
    int kind;
    kc_obj *pod;
    char *node, *msg, *ltt;
    bool normal; /* event type */
    const char *reason;
    struct job *next;
} job;

typedef struct jq {
    job *head, **tail;
    size_t n;
} jq;

struct kc_sched_binder {
    kc_client *c;
    kc_recorder *rec;
    int pods_res;
    kc_sched_bound_fn done;
    void *ud;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    jq hi, lo;
    bool stop;
    pthread_t *threads;
    int nthreads;
};

static void jq_push(jq *q, job *j)
{
    j->next = NULL;
    *q->tail = j;
    q->tail = &j->next;
    q->n++;
}

static job *jq_pop(jq *q)
{
    job *j = q->head;
    if (!j) return NULL;
    q->head = j->next;
    if (!q->head) q->tail = &q->head;
    q->n--;
    return j;
}

static void job_free(job *j)
{
    kc_obj_unref(j->pod);
    free(j->node), free(j->msg), free(j->ltt);
    free(j);
}

static void submit(kc_sched_binder *b, job *j)
{
    pthread_mutex_lock(&b->mu);
    jq *q = j->kind == JOB_EVENT ? &b->lo : &b->hi;
    if (b->stop || (q == &b->lo && q->n >= MAX_QUEUED_EVENTS)) {
        pthread_mutex_unlock(&b->mu);
        job_free(j);
        return;
    }
    jq_push(q, j);
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static job *new_job(int kind, const kc_obj *pod, const char *node, const char *msg)
{
    job *j = xcalloc(1, sizeof *j);
    j->kind = kind;
    kc_obj_ref(pod);
    j->pod = (kc_obj *)pod;
    j->node = node ? xstrdup(node) : NULL;
    j->msg = msg ? xstrdup(msg) : NULL;
    return j;
}

static void event(kc_sched_binder *b, const kc_obj *pod, bool normal, const char *reason, const char *msg)
{
    job *j = new_job(JOB_EVENT, pod, NULL, msg);
    j->normal = normal;
    j->reason = reason;
    submit(b, j);
}

static void do_bind(kc_sched_binder *b, job *j)
{
    kc_obj *p = j->pod;
    json_t *body = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind",
                             "Binding", "metadata", "name", p->name, "namespace", p->ns, "uid", p->uid,
                             "target", "apiVersion", "v1", "kind", "Node", "name", j->node);
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_post_sub(b->c, b->pods_res, p->ns, p->name, "binding", body, &err);
    json_decref(body);
    b->done(b->ud, p, j->node, rc < 0 ? &err : NULL);
    if (rc == 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "Successfully assigned %s/%s to %s", p->ns, p->name, j->node);
        event(b, p, true, "Scheduled", msg);
    }
    kc_err_release(&err);
}

/* The condition patch carries the pod's resourceVersion as a precondition, so that a stale
 * failure never overwrites a binding made meanwhile; on a conflict it is retried once against
 * the current pod if that is still unassigned. */
static int patch_condition(kc_sched_binder *b, const kc_obj *p, uint64_t rev, const char *msg,
                           const char *ltt, kc_err *err)
{
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)rev);
    json_t *patch = json_pack("{s:{s:s},s:{s:[{s:s,s:s,s:s,s:s,s:n,s:s}]}}", "metadata", "resourceVersion",
                              rv, "status", "conditions", "type", "PodScheduled", "status", "False", "reason",
                              "Unschedulable", "message", msg, "lastProbeTime", "lastTransitionTime", ltt);
    char *s = json_dumps(patch, JSON_COMPACT);
    int rc = kc_client_patch(b->c, b->pods_res, p->ns, p->name, "status",
                             "application/strategic-merge-patch+json", s, NULL, err);
    free(s);
    json_decref(patch);
    return rc;
}

static void do_status(kc_sched_binder *b, job *j)
{
    kc_obj *p = j->pod, *cur = NULL;
    kc_err err = KC_ERR_INIT;
    if (j->ltt && patch_condition(b, p, p->rev, j->msg, j->ltt, &err) < 0 && err.reason == KC_ECONFLICT) {
        kc_err_release(&err);
        if (kc_client_get(b->c, b->pods_res, p->ns, p->name, &cur, &err) == 0) {
            const char *node = kc_obj_field(cur, "spec.nodeName");
            if (!node || !node[0]) patch_condition(b, p, cur->rev, j->msg, j->ltt, &err);
            kc_obj_unref(cur);
        }
    }
    kc_err_release(&err);
    event(b, p, false, "FailedScheduling", j->msg);
}

static void patch_status(kc_sched_binder *b, const kc_obj *p, json_t *status)
{
    json_t *patch = json_pack("{s:o}", "status", status);
    char *s = json_dumps(patch, JSON_COMPACT);
    kc_err err = KC_ERR_INIT;
    kc_client_patch(b->c, b->pods_res, p->ns, p->name, "status", "application/strategic-merge-patch+json", s,
                    NULL, &err);
    kc_err_release(&err);
    free(s);
    json_decref(patch);
}

static void do_evict(kc_sched_binder *b, job *j)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    patch_status(b, j->pod,
                 json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}]}", "conditions", "type", "DisruptionTarget", "status",
                           "True", "reason", "PreemptionByScheduler", "message",
                           "default-scheduler: preempting to accommodate a higher priority pod",
                           "lastTransitionTime", now));
    kc_err err = KC_ERR_INIT;
    int rc = kc_client_delete(b->c, b->pods_res, j->pod->ns, j->pod->name, NULL, &err);
    kc_err_release(&err);
    if (rc == 0) event(b, j->pod, true, "Preempted", j->msg);
}

static void run_job(kc_sched_binder *b, job *j)
{
    switch (j->kind) {
    case JOB_BIND:
        do_bind(b, j);
        break;
    case JOB_STATUS:
        do_status(b, j);
        break;
    case JOB_EVICT:
        do_evict(b, j);
        break;
    case JOB_NOMINATE:
        patch_status(b, j->pod, json_pack("{s:s}", "nominatedNodeName", j->node));
        break;
    default:
        kc_event(b->rec, j->pod, j->normal ? "Normal" : "Warning", j->reason, "%s", j->msg);
        break;
    }
    job_free(j);
}

static void *worker(void *arg)
{
    kc_sched_binder *b = arg;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        job *j = jq_pop(&b->hi);
        if (!j) j = jq_pop(&b->lo);
        if (!j) {
            pthread_cond_wait(&b->cv, &b->mu);
            continue;
        }
        pthread_mutex_unlock(&b->mu);
        run_job(b, j);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

kc_sched_binder *kc_sched_binder_new(kc_client *c, int nthreads, kc_sched_bound_fn done, void *ud)
{
    kc_sched_binder *b = xcalloc(1, sizeof *b);
    b->c = c;
    b->rec = kc_recorder_new(c, "default-scheduler", NULL);
    b->pods_res = kc_resource_find("", "v1", "pods");
    b->done = done;
    b->ud = ud;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->hi.tail = &b->hi.head;
    b->lo.tail = &b->lo.head;
    b->nthreads = nthreads;
    b->threads = xcalloc((size_t)nthreads, sizeof *b->threads);
    for (int i = 0; i < nthreads; i++)
        pthread_create(&b->threads[i], NULL, worker, b);
    return b;
}

void kc_sched_binder_bind(kc_sched_binder *b, const kc_obj *pod, const char *node)
{
    submit(b, new_job(JOB_BIND, pod, node, NULL));
}

void kc_sched_binder_unschedulable(kc_sched_binder *b, const kc_obj *pod, const char *msg, const char *ltt)
{
    job *j = new_job(JOB_STATUS, pod, NULL, msg);
    j->ltt = ltt ? xstrdup(ltt) : NULL;
    submit(b, j);
}

void kc_sched_binder_preempt(kc_sched_binder *b, const kc_obj *pod, const char *node, kc_obj *const *victims,
                             size_t nv)
{
    char msg[512];
    snprintf(msg, sizeof msg, "Preempted by pod %s on node %s", pod->uid, node);
    for (size_t i = 0; i < nv; i++)
        submit(b, new_job(JOB_EVICT, victims[i], node, msg));
    submit(b, new_job(JOB_NOMINATE, pod, node, NULL));
}

size_t kc_sched_binder_pending(kc_sched_binder *b)
{
    pthread_mutex_lock(&b->mu);
    size_t n = b->hi.n;
    pthread_mutex_unlock(&b->mu);
    return n;
}

void kc_sched_binder_free(kc_sched_binder *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->nthreads; i++)
        pthread_join(b->threads[i], NULL);
    job *j;
    while ((j = jq_pop(&b->hi)))
        job_free(j);
    while ((j = jq_pop(&b->lo)))
        job_free(j);
    kc_recorder_free(b->rec);
    free(b->threads);
    free(b);
}
