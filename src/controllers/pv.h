/* The PersistentVolume binder controller ("persistentvolume-binder", upstream's
 * persistentvolume-controller): binds claims to volumes, moves their phases, reclaims released
 * volumes and asks external provisioners for new ones (semantics 6.3-6.6). See pv.c. */
#ifndef KC_CONTROLLERS_PV_H
#define KC_CONTROLLERS_PV_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_pv_binder_start(kc_client *c);
void kc_pv_binder_stop(void *ctl);

#endif
