/* Deployment controller (semantics 2): one ReplicaSet per template version, rolling update and Recreate, rollback, history, pause, progress deadline, status. */
#ifndef KC_CONTROLLERS_DEPLOYMENT_H
#define KC_CONTROLLERS_DEPLOYMENT_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_deployment_start(kc_client *c);
void kc_deployment_stop(void *ctl);

#endif
