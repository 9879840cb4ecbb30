/* The built-in dynamic provisioner "rancher.io/local-path" (as k3s ships it) and its default
 * StorageClass `local-path` (WaitForFirstConsumer, reclaim Delete), ensured at start-up. See
 * provisioner.c. */
#ifndef KC_CONTROLLERS_PROVISIONER_H
#define KC_CONTROLLERS_PROVISIONER_H
#include "client/client.h"

#define KC_LOCAL_PATH_PROVISIONER "rancher.io/local-path"
#define KC_LOCAL_PATH_CLASS "local-path"

/* Takes the client (freed by stop); volumes live under <data_dir>/storage. */
void *kc_local_path_start(kc_client *c, const char *data_dir);
void kc_local_path_stop(void *ctl);

/* The PersistentVolume provisioned for claim (parsed, borrowed) of class sc on node (NULL for
 * an Immediate class: a hostPath volume without node affinity). New reference. */
json_t *kc_local_path_volume(json_t *claim, json_t *sc, const char *node, const char *storage_dir);

#endif
