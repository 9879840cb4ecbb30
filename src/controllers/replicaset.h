/* ReplicaSet controller (semantics 1): keeps each ReplicaSet's pod count, adopts/releases pods, ranks deletions, writes status. */
#ifndef KC_CONTROLLERS_REPLICASET_H
#define KC_CONTROLLERS_REPLICASET_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_replicaset_start(kc_client *c);
void kc_replicaset_stop(void *ctl);

#endif
