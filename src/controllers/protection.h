/* Storage object protection controllers (semantics 6.7): "pvc-protection" removes the
 * kubernetes.io/pvc-protection finalizer of a deleted claim once no scheduled pod uses it;
 * "pv-protection" removes kubernetes.io/pv-protection of a deleted volume once it is not Bound.
 * Both add their finalizer to live objects that lack it (objects created before admission
 * added it). See protection.c. */
#ifndef KC_CONTROLLERS_PROTECTION_H
#define KC_CONTROLLERS_PROTECTION_H
#include "client/client.h"

enum { KC_PROTECT_PVC, KC_PROTECT_PV };

/* Takes the client (freed by stop). */
void *kc_protection_start(kc_client *c, int kind);
void kc_protection_stop(void *ctl);

#endif
