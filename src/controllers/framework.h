/* The controller framework shared by every controller (architecture rule 5):
 *
 *   informer handlers --(enqueue key)--> workqueue --(worker threads)--> sync(key)
 *   sync returns 0: key forgotten; < 0: retried with per-key backoff; > 0: requeued after
 *   that many milliseconds (for time-based conditions such as minReadySeconds).
 *
 * Expectations guard against acting twice on a stale cache: before issuing N creates or
 * deletes for an owner, the controller records them; observed events lower them; while any
 * are outstanding (and younger than 5 minutes) the sync makes no create/delete decisions.
 * Owner-reference helpers implement the ControllerRef and claim (adopt/release) protocol of
 * semantics 0.5/0.6. */
#ifndef KC_CONTROLLERS_FRAMEWORK_H
#define KC_CONTROLLERS_FRAMEWORK_H
#include "client/client.h"
#include "client/events.h"
#include "client/informer.h"
#include "client/workqueue.h"

typedef struct kc_controller kc_controller;
typedef int (*kc_sync_fn)(void *ud, const char *key);

/* A controller with `workers` threads; name is used for the queue and logs. */
kc_controller *kc_controller_new(const char *name, int workers, kc_sync_fn sync, void *ud);
kc_wq *kc_controller_queue(kc_controller *c);
/* Waits for the informers to sync, then starts the workers. */
void kc_controller_run(kc_controller *c, kc_informer **informers, size_t n);
void kc_controller_stop(kc_controller *c);
void kc_controller_free(kc_controller *c);
/* The queue key of an object: "ns/name" or "name". */
void kc_controller_enqueue(kc_controller *c, const kc_obj *o);

/* ---- expectations ---- */
typedef struct kc_expectations kc_expectations;
kc_expectations *kc_expectations_new(void);
void kc_expectations_free(kc_expectations *e);
void kc_expect_creations(kc_expectations *e, const char *owner, int n);
void kc_expect_deletions(kc_expectations *e, const char *owner, int n);
void kc_creation_observed(kc_expectations *e, const char *owner);
void kc_deletion_observed(kc_expectations *e, const char *owner);
/* True when no creates/deletes are outstanding (or they expired): the owner may act. */
bool kc_expectations_satisfied(kc_expectations *e, const char *owner);
void kc_expectations_delete(kc_expectations *e, const char *owner);

/* ---- owner references ---- */
/* The controller ownerReference of a parsed object (borrowed), or NULL. */
json_t *kc_controller_ref(json_t *obj);
/* Same on a kc_obj: fills uid (and kind/name when asked) of the controller reference; false if none. */
bool kc_obj_controller(const kc_obj *o, char *uid, size_t uidlen, char *kind, size_t kindlen, char *name,
                       size_t namelen);
/* A controller ownerReference to owner (kind/apiVersion from its resource). New reference. */
json_t *kc_owner_ref(const kc_obj *owner);
/* Pod from template (semantics 0.9): labels, annotations, finalizers, spec; generateName
 * "<owner>-" (or the bare owner name); the ControllerRef. New reference. */
json_t *kc_pod_from_template(json_t *tmpl, const kc_obj *owner, const char *ns);

/* ---- pod facts (semantics 0.7, 0.8) ---- */
bool kc_pod_active(json_t *pod);
bool kc_pod_ready(json_t *pod);
/* Ready for at least min_ready seconds at `now` (unix seconds). */
bool kc_pod_available(json_t *pod, int min_ready, time_t now);
/* Seconds since epoch of an RFC 3339 time, or -1. */
time_t kc_parse_time(const char *s);
void kc_format_time(time_t t, char out[32]);

#endif
