/* kubeconfig files: which API server a component outside `kubec server` talks to.
 *
 *     char *url;
 *     if (kc_kubeconfig_load(path, &url, &err) < 0) ...   // url: "http://127.0.0.1:6443", owned
 *
 * The file is YAML (or JSON): current-context names a context, whose cluster names a cluster,
 * whose server is the URL (a trailing slash is dropped). Only plain http servers for now: an
 * https server is refused with a clear error (certificates and tokens come later). With path
 * NULL the file is the first entry of $KUBECONFIG, else ~/.kube/config, as kubectl does. */
#ifndef KC_CLIENT_KUBECONFIG_H
#define KC_CLIENT_KUBECONFIG_H
#include "lib/err.h"

/* Fills *server_url (malloc'd, owned by the caller) from the file's current context.
 * Errors: KC_ENOTFOUND (no such file), KC_EINVALID (not a kubeconfig, or missing entries),
 * KC_EBADREQUEST (an https or otherwise unsupported server URL). */
int kc_kubeconfig_load(const char *path, char **server_url, kc_err *err);

#endif
