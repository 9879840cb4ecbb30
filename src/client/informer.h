/* Informers: a local cache of one resource kept current by list + watch, with event handlers,
 * as in client-go's SharedIndexInformer.
 *
 *   start --list--> cache replaced (handlers: add/update/delete for the differences)
 *         --watch from the list's revision--> events applied in order, handlers called
 *   watch EXPIRED --> list again;  watch CLOSED --> watch again from the last revision seen
 *
 * Handlers run on the informer's own thread, one event at a time; they should only enqueue
 * keys (controllers are level-triggered). Cache reads (get, list) are safe from any thread and
 * return references the caller owns. */
#ifndef KC_CLIENT_INFORMER_H
#define KC_CLIENT_INFORMER_H
#include "client/client.h"

typedef struct kc_informer kc_informer;

typedef struct kc_handlers {
    void (*on_add)(void *ud, const kc_obj *obj);
    void (*on_update)(void *ud, const kc_obj *old, const kc_obj *cur);
    void (*on_delete)(void *ud, const kc_obj *obj); /* the last state known */
} kc_handlers;

/* ns NULL: all namespaces; selectors may be NULL. */
kc_informer *kc_informer_new(kc_client *c, int res, const char *ns, const char *lsel, const char *fsel);
/* Handlers must be added before kc_informer_start. */
void kc_informer_add_handlers(kc_informer *inf, const kc_handlers *h, void *ud);
/* An index: fn writes up to max keys for an object and returns how many. */
typedef size_t (*kc_index_fn)(const kc_obj *obj, char **keys, size_t max);
int kc_informer_add_index(kc_informer *inf, const char *name, kc_index_fn fn);
void kc_informer_start(kc_informer *inf);
/* Blocks until the first list is in the cache (or the timeout in ms passes); true if synced. */
bool kc_informer_wait_synced(kc_informer *inf, int timeout_ms);
bool kc_informer_synced(kc_informer *inf);
void kc_informer_stop(kc_informer *inf);
void kc_informer_free(kc_informer *inf);

/* Cache reads. get: a reference or NULL. list: references of every object (in namespace ns,
 * or all when NULL), array owned by the caller. by_index: objects whose index `name` has key. */
kc_obj *kc_informer_get(kc_informer *inf, const char *ns, const char *name);
size_t kc_informer_list(kc_informer *inf, const char *ns, kc_obj ***out);
size_t kc_informer_by_index(kc_informer *inf, const char *name, const char *key, kc_obj ***out);
uint64_t kc_informer_last_rev(kc_informer *inf);
/* Frees an array returned by list/by_index, dropping its references. */
void kc_objv_free(kc_obj **v, size_t n);

#endif
