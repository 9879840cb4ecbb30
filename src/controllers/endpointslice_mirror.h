/* EndpointSlice mirroring controller (semantics 5.7, upstream "endpointslicemirroring-controller.k8s.io"):
 * Endpoints that users keep for Services without a selector are mirrored into EndpointSlices. */
#ifndef KC_CONTROLLERS_ENDPOINTSLICE_MIRROR_H
#define KC_CONTROLLERS_ENDPOINTSLICE_MIRROR_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_endpointslice_mirror_start(kc_client *c);
void kc_endpointslice_mirror_stop(void *ctl);

#endif
