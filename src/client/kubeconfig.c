/* kubeconfig loading: the file's current context resolved to its cluster's server URL. Owns
 * nothing past the call; the transport (client/http.c) checks the URL again when it is used.
 * Users, credentials and TLS settings are not read yet. */
#include "client/kubeconfig.h"
#include "lib/buf.h"
#include "lib/xalloc.h"
#include "lib/yaml.h"
#include <errno.h>
#include <stdio.h>

#define MAX_KUBECONFIG (16 << 20)

/* $KUBECONFIG's first entry, else ~/.kube/config (malloc'd). */
static char *default_path(void)
{
    const char *env = getenv("KUBECONFIG");
    if (env && env[0]) return xstrndup(env, strcspn(env, ":"));
    const char *home = getenv("HOME");
    kc_buf b = KC_BUF_INIT;
    kc_buf_addf(&b, "%s/.kube/config", home ? home : ".");
    return kc_buf_take(&b);
}

static char *read_file(const char *path, size_t *len, kc_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        kc_errf(err, errno == ENOENT ? KC_ENOTFOUND : KC_EBADREQUEST, "kubeconfig %s: %s", path,
                strerror(errno));
        return NULL;
    }
    kc_buf b = KC_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MAX_KUBECONFIG)
        kc_buf_add(&b, chunk, n);
    fclose(f);
    if (b.len > MAX_KUBECONFIG) {
        kc_buf_release(&b);
        kc_errf(err, KC_EINVALID, "kubeconfig %s: larger than %d bytes", path, MAX_KUBECONFIG);
        return NULL;
    }
    *len = b.len;
    return kc_buf_take(&b);
}

/* The `field` member of the entry of the list `list` whose name is `name` (borrowed). */
static json_t *named(json_t *doc, const char *list, const char *name, const char *field)
{
    json_t *arr = json_object_get(doc, list), *e;
    size_t i;
    json_array_foreach(arr, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name)) return json_object_get(e, field);
    }
    return NULL;
}

static int check_url(const char *path, const char *cluster, const char *server, kc_err *err)
{
    if (!strncmp(server, "https://", 8))
        return kc_errf(
            err, KC_EBADREQUEST,
            "kubeconfig %s: cluster %s: server %s uses https, which kubec clients do not support yet", path,
            cluster, server);
    if (strncmp(server, "http://", 7) || !server[7])
        return kc_errf(err, KC_EBADREQUEST, "kubeconfig %s: cluster %s: server %s is not an http:// URL",
                       path, cluster, server);
    return 0;
}

/* current-context -> contexts[].context.cluster -> clusters[].cluster.server */
static int server_of(json_t *doc, const char *path, char **out, kc_err *err)
{
    if (!json_is_object(doc)) return kc_errf(err, KC_EINVALID, "kubeconfig %s: not a mapping", path);
    const char *cur = json_string_value(json_object_get(doc, "current-context"));
    if (!cur || !cur[0]) return kc_errf(err, KC_EINVALID, "kubeconfig %s: no current-context", path);
    json_t *ctx = named(doc, "contexts", cur, "context");
    if (!ctx) return kc_errf(err, KC_EINVALID, "kubeconfig %s: context \"%s\" not found", path, cur);
    const char *cl = json_string_value(json_object_get(ctx, "cluster"));
    if (!cl) return kc_errf(err, KC_EINVALID, "kubeconfig %s: context \"%s\" names no cluster", path, cur);
    const char *server = json_string_value(json_object_get(named(doc, "clusters", cl, "cluster"), "server"));
    if (!server)
        return kc_errf(err, KC_EINVALID, "kubeconfig %s: cluster \"%s\" not found or has no server", path,
                       cl);
    if (check_url(path, cl, server, err) < 0) return -1;
    size_t n = strlen(server);
    while (n > 7 && server[n - 1] == '/')
        n--;
    *out = xstrndup(server, n);
    return 0;
}

int kc_kubeconfig_load(const char *path, char **server_url, kc_err *err)
{
    char *def = path ? NULL : default_path();
    if (!path) path = def;
    size_t len = 0;
    char *text = read_file(path, &len, err);
    json_t *doc = text ? kc_yaml_decode(text, len, err) : NULL;
    int rc = -1;
    if (text && !doc) {
        kc_err_wrap(err, "kubeconfig %s", path);
        err->reason = KC_EINVALID;
    } else if (doc)
        rc = server_of(doc, path, server_url, err);
    json_decref(doc);
    free(text);
    free(def);
    return rc;
}
