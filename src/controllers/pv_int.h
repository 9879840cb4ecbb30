/* Internals of the PV binder controller shared by pv.c (informers, handlers, caches) and
 * pv_sync.c (the claim and volume syncs). */
#ifndef KC_CONTROLLERS_PV_INT_H
#define KC_CONTROLLERS_PV_INT_H
#include "controllers/framework.h"
#include "controllers/pv_match.h"
#include "lib/map.h"
#include <pthread.h>

typedef struct kc_pvctl {
    kc_client *c;
    kc_informer *pvs, *pvcs, *scs, *pods; /* pods: index "pending" of unscheduled pods by claim */
    kc_controller *ctl; /* keys "c/<ns>/<name>" (claims) and "v/<name>" (volumes) */
    kc_recorder *rec;
    int PV, PVC, SC;
    pthread_mutex_t mu;
    kc_map docs;     /* "<res>/<key>" -> parsed document of one revision */
    kc_map reserved; /* volume name -> claim key, while a bind is being written */
    pthread_t starter, resyncer;
    pthread_cond_t stop_cv; /* with mu: wakes the resync thread at stop */
    bool stop;
} kc_pvctl;

/* The parsed document of a cached object (a new reference), parsed once per revision. */
json_t *kc_pvctl_doc(kc_pvctl *p, const kc_obj *o);
/* Every volume in the cache, parsed (array of new references; free with kc_pvctl_docs_free). */
json_t **kc_pvctl_volumes(kc_pvctl *p, size_t *n);
void kc_pvctl_docs_free(json_t **v, size_t n);
/* Reserves a volume for a claim; false when another claim holds it. */
bool kc_pvctl_reserve(kc_pvctl *p, const char *pv, const char *claim_key);
void kc_pvctl_unreserve(kc_pvctl *p, const char *pv);
/* True when the volume is reserved for a claim other than claim_key. */
bool kc_pvctl_reserved_by_other(kc_pvctl *p, const char *pv, const char *claim_key);
void kc_pvctl_enqueue_claim(kc_pvctl *p, const char *ns, const char *name);
void kc_pvctl_enqueue_volume(kc_pvctl *p, const char *name);

/* pv_sync.c: the worker's sync of one key. */
int kc_pvctl_sync(void *ud, const char *key);

#endif
