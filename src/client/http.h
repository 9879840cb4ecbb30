/* The HTTP transport of the client interface (libcurl, HTTP/1.1): how components in another
 * process (`kubec sim`, node agents) talk to `kubec server`, with the same semantics as the
 * in-process transport.
 *
 *     kc_err err = KC_ERR_INIT;
 *     void *t = kc_http_transport_new("http://127.0.0.1:6443", &err);   // NULL on error
 *     kc_client *c = kc_client_new(&kc_http_ops, t, "kubelet");         // the client owns t
 *
 * Contract:
 * - Roundtrips are synchronous and may run from any number of threads at once: each takes an
 *   idle curl handle from a small pool (kept-alive connections are reused), and gives it back.
 *   Requests carry Accept: application/json, Content-Type (the request's, or application/json
 *   when there is a body) and User-Agent. A transport failure (connection refused, timeout) is
 *   KC_EUNAVAILABLE; any HTTP answer, error codes included, is returned in kc_cresp (code and
 *   body; obj/objs are left NULL: the client builds objects from the body).
 * - Watches: one background thread per transport streams every watch of that transport (a
 *   curl multi handle). kc_http_ops.watch waits for the answer's headers, up to 250 ms: NULL
 *   with the Status's reason when the server refused the watch (400 for a bad selector), or
 *   with KC_EUNAVAILABLE when it could not be reached; the handle when the stream started, or
 *   when no answer came yet (a later failure then just ends it with CLOSED; kubec's server
 *   sends a watch's headers only with its first event). Each line of the stream is one event;
 *   ADDED/MODIFIED/DELETED objects are built with kc_obj_build for the request's resource,
 *   BOOKMARK carries metadata.resourceVersion, an ERROR event with code 410 is EXPIRED (rev:
 *   the resourceVersion asked for); CLOSED comes last, when the stream ends (server timeout,
 *   connection lost, malformed event) or when the watch is stopped.
 * - Callbacks run on the watch thread and must only queue work; they must not call watch or
 *   watch_stop of the same transport. watch_stop may be called at any time from any other
 *   thread (before or after CLOSED); when it returns no callback of that watch runs any more.
 * - Only http:// URLs for now; https:// is refused with a clear error.
 * - close (kc_client_free) expects every watch to be stopped. */
#ifndef KC_CLIENT_HTTP_H
#define KC_CLIENT_HTTP_H
#include "client/client.h"

/* A new transport for server_url ("http://host:port", optionally with a path prefix); owned by
 * the caller until given to kc_client_new. NULL with err filled on a bad URL. */
void *kc_http_transport_new(const char *server_url, kc_err *err);
/* User-Agent of the transport's requests (default "kubec"); copied. Call before any request. */
void kc_http_transport_set_agent(void *t, const char *user_agent);

extern const kc_transport_ops kc_http_ops;

#endif
