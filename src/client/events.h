/* Event recording for components (client-go's EventRecorder, simplified): core/v1 Events about
 * an object, aggregated like upstream: the same (object, type, reason, message) seen again
 * bumps count and lastTimestamp instead of creating another Event. Thread-safe, asynchronous
 * (kc_event queues and returns; a recorder thread writes) and best effort (a failed write is
 * dropped, as upstream does). */
#ifndef KC_CLIENT_EVENTS_H
#define KC_CLIENT_EVENTS_H
#include "client/client.h"

typedef struct kc_recorder kc_recorder;

/* component: source.component / reportingController ("default-scheduler", "deployment-controller"). */
kc_recorder *kc_recorder_new(kc_client *c, const char *component, const char *host);
void kc_recorder_free(kc_recorder *r);
/* type: "Normal" or "Warning". Copies what it needs of about. */
void kc_event(kc_recorder *r, const kc_obj *about, const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Waits until every event queued so far is written (tests, shutdown ordering). */
void kc_recorder_flush(kc_recorder *r);

#endif
