/* DaemonSet controller (semantics 4): one pod per eligible node, pinned by node affinity and bound
 * by the scheduler; RollingUpdate (maxUnavailable/maxSurge) and OnDelete; ControllerRevisions;
 * status. */
#ifndef KC_CONTROLLERS_DAEMONSET_H
#define KC_CONTROLLERS_DAEMONSET_H
#include "client/client.h"

/* Takes the client (freed by stop). */
void *kc_daemonset_start(kc_client *c);
void kc_daemonset_stop(void *ctl);

#endif
