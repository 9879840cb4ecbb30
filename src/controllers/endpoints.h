/* Endpoints controller (semantics 5.5-5.6, upstream "endpoint-controller"): keeps one v1 Endpoints
 * per Service with a selector, listing the matching pods' addresses. */
#ifndef KC_CONTROLLERS_ENDPOINTS_H
#define KC_CONTROLLERS_ENDPOINTS_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_endpoints_start(kc_client *c);
void kc_endpoints_stop(void *ctl);

#endif
