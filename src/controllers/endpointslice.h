/* EndpointSlice controller (semantics 5.7, upstream "endpointslice-controller.k8s.io"): keeps the
 * discovery.k8s.io/v1 EndpointSlices of every Service with a selector. */
#ifndef KC_CONTROLLERS_ENDPOINTSLICE_H
#define KC_CONTROLLERS_ENDPOINTSLICE_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_endpointslice_start(kc_client *c);
void kc_endpointslice_stop(void *ctl);

#endif
