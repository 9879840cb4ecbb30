/* Garbage collector (semantics 7): deletes dependents whose owners are gone, and carries out Background, Foreground and Orphan deletion through ownerReferences and finalizers. */
#ifndef KC_CONTROLLERS_GC_H
#define KC_CONTROLLERS_GC_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_gc_start(kc_client *c);
void kc_gc_stop(void *ctl);

#endif
