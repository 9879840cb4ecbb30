/* The store: kubec's versioned keyspace in memory, its single write path, the watch event ring,
 * and group commit to a durable backend.
 *
 * Objects are kept as their serialized JSON (encoded once per write, sent as-is to every reader)
 * plus a small parsed index (name, namespace, uid, labels, selectable fields) for selectors.
 * kc_obj values are immutable and reference counted once published.
 *
 * A write (kc_store_write) checks its preconditions, takes the next revision, stamps
 * metadata.resourceVersion, applies the object to the keyspace and queues it for the backend.
 * A committer thread commits each batch of queued writes in one backend transaction while the
 * event loop goes on parsing the next requests; once a batch is durable the loop publishes its
 * events to the ring and runs each write's completion callback: nothing is acknowledged or seen
 * by a watcher before it is durable.
 *
 *     write() --> [applied, queued] --kick()--> [committing] --poll()--> ring publish + done callback
 *
 * If the backend fails to commit, the process exits: memory no longer matches disk, and a
 * restart reloads the durable state (no acknowledged write is ever lost). */
#ifndef KC_STORE_STORE_H
#define KC_STORE_STORE_H
#include "api/obj.h"
#include "lib/err.h"
#include "lib/map.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum kc_evtype { KC_EV_ADDED, KC_EV_MODIFIED, KC_EV_DELETED };

typedef struct kc_ring_event {
    uint64_t rev;
    enum kc_evtype type;
    kc_obj *obj;  /* new state (for DELETED: the last state, stamped with the delete revision) */
    kc_obj *prev; /* state before the event, NULL for ADDED */
} kc_ring_event;

/* Backend interface: durable storage of the latest state of every key. */
typedef struct kc_backend_write {
    bool del;
    const char *res; /* "group/resource" */
    const char *key;
    uint64_t rev;
    const char *idx; /* small JSON index document (uid, labels, fields), see store.c */
    const char *val;
    size_t len;
} kc_backend_write;

typedef void (*kc_backend_load_cb)(void *ud, const char *res, const char *key, uint64_t rev,
                                   const char *idx, const char *val, size_t len);

typedef struct kc_backend_ops {
    /* Reads every stored object, and the last committed revision into *rev. */
    int (*load)(void *be, kc_backend_load_cb cb, void *ud, uint64_t *rev, kc_err *err);
    /* Durably stores a batch in one transaction, with the store revision after it. */
    int (*commit)(void *be, const kc_backend_write *w, size_t n, uint64_t rev, kc_err *err);
    void (*close)(void *be);
} kc_backend_ops;

typedef struct kc_store kc_store;

/* Callback run once a write is durable (status 0) - never before. obj is borrowed. */
typedef void (*kc_write_done)(void *ud, const kc_obj *obj);

enum kc_write_op { KC_WRITE_CREATE, KC_WRITE_UPDATE, KC_WRITE_DELETE };

kc_store *kc_store_open(const kc_backend_ops *ops, void *be, size_t ring_size, kc_err *err);
void kc_store_free(kc_store *s);

/* The single write path. obj is taken (always): the new state, or for DELETE the final state
 * to publish. expect_rev != 0 is a resourceVersion precondition (409 Conflict on mismatch).
 * CREATE fails with AlreadyExists; UPDATE/DELETE with NotFound. On success the new kc_obj is
 * returned through *out (borrowed; valid until the next write to that key) and done(ud) runs
 * after the next flush. */
int kc_store_write(kc_store *s, enum kc_write_op op, int res, json_t *obj, uint64_t expect_rev,
                   kc_write_done done, void *ud, const kc_obj **out, kc_err *err);
/* Group commit: kc_store_kick commits the queued writes (unless a batch is already in flight):
 * up to 4 at once on the caller's thread, more on the committer thread; a lone write among
 * concurrent writers may first linger a few ms for company (kc_store_wait_ms). When kc_store_fd
 * becomes readable, kc_store_poll publishes the committer's durable batch, runs its callbacks
 * and kicks the next one. kc_store_flush does all of it synchronously, without lingering, until
 * nothing is queued. A backend failure exits the process. */
void kc_store_kick(kc_store *s);
size_t kc_store_poll(kc_store *s);
int kc_store_fd(const kc_store *s);
size_t kc_store_flush(kc_store *s);
/* How long the loop may sleep before kc_store_kick has work: -1 nothing queued (or a batch in
 * flight: kc_store_fd wakes it), 0 now, else the ms left of a lone write's linger. */
int kc_store_wait_ms(const kc_store *s);

uint64_t kc_store_rev(const kc_store *s);        /* latest revision (applied) */
uint64_t kc_store_oldest_rev(const kc_store *s); /* oldest revision a watch can start after */
const kc_obj *kc_store_get(kc_store *s, int res, const char *ns, const char *name);

/* Sorted listing. Visits objects of res (in namespace ns, or all when ns is NULL) in key order,
 * starting after key `after` (NULL: from the start), as they were at revision rev (0: now).
 * cb returns false to stop. Fails with Expired when rev is older than the ring keeps. */
typedef bool (*kc_list_cb)(void *ud, const kc_obj *obj);
int kc_store_list(kc_store *s, int res, const char *ns, const char *after, uint64_t rev, kc_list_cb cb,
                  void *ud, kc_err *err);
size_t kc_store_count(kc_store *s, int res);

/* Watch ring. Events are numbered by a monotonic sequence. kc_store_event returns the event at
 * seq, or NULL when seq is not yet published; *lost is set when seq fell out of the ring. */
uint64_t kc_store_seq_head(const kc_store *s); /* next seq to be published */
uint64_t kc_store_seq_for_rev(const kc_store *s, uint64_t rev, bool *too_old);
const kc_ring_event *kc_store_event(const kc_store *s, uint64_t seq, bool *lost);
/* Called after every flush that published events (the apiserver wakes its watchers). */
void kc_store_on_publish(kc_store *s, void (*fn)(void *ud), void *ud);

/* SQLite backend (store/sqlite.c). */
void *kc_sqlite_open(const char *path, kc_err *err);
extern const kc_backend_ops kc_sqlite_ops;

#endif
