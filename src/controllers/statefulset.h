/* StatefulSet controller (semantics 3): stable pod identities <set>-<ordinal>, per-pod claims from
 * volumeClaimTemplates, ordered or parallel scaling, rolling updates through ControllerRevisions. */
#ifndef KC_CONTROLLERS_STATEFULSET_H
#define KC_CONTROLLERS_STATEFULSET_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_statefulset_start(kc_client *c);
void kc_statefulset_stop(void *ctl);

#endif
