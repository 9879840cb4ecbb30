/* Node lifecycle decisions as pure functions (no I/O, no clock: the caller passes `now`), so
 * the rules of semantics 8.3 and 8.4 can be tested table by table:
 *
 *   heartbeats seen + now      --kc_nodelc_observe-->          overdue?
 *   node (overdue)             --kc_nodelc_unknown_conditions--> conditions to write
 *   node conditions + spec     --kc_nodelc_taints-->           spec.taints to write
 *   pod tolerations + taints   --kc_nodelc_evict_at-->         when the pod must go
 *
 * Documents are borrowed; returned arrays are new references owned by the caller. */
#ifndef KC_CONTROLLERS_NODELIFECYCLE_POLICY_H
#define KC_CONTROLLERS_NODELIFECYCLE_POLICY_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define KC_TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define KC_TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define KC_TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"
#define KC_NODELC_UNKNOWN_MSG "Kubelet stopped posting node status."
#define KC_NODELC_NEVER_MSG "Kubelet never posted node status."

/* What the controller remembers of one node's heartbeats. Zero-initialized = never seen. */
typedef struct kc_nodelc_health {
    bool seen;
    char hb[48];      /* Ready condition lastHeartbeatTime last seen ("" when none) */
    char renew[48];   /* Lease spec.renewTime last seen ("" when no lease) */
    int64_t probe_ms; /* when either last advanced (caller's clock) */
} kc_nodelc_health;

/* One look at a node: its Ready heartbeat (NULL when it has no Ready condition), its Lease's
 * renewTime (NULL without a lease) and its age since metadata.creationTimestamp. */
typedef struct kc_nodelc_look {
    const char *ready_hb;
    const char *renew;
    int64_t age_ms;
} kc_nodelc_look;

/* Records a look at now_ms and says whether the node is overdue: neither heartbeat advanced for
 * more than grace_ms (startup_ms while it never posted a Ready condition; a node first seen
 * without one counts from its creation, as upstream does). */
bool kc_nodelc_observe(kc_nodelc_health *h, const kc_nodelc_look *l, int64_t now_ms, int64_t grace_ms,
                       int64_t startup_ms);

/* The conditions of an overdue node: Ready, MemoryPressure, DiskPressure and PIDPressure become
 * Unknown (reason NodeStatusUnknown, "Kubelet stopped posting node status.", transition now),
 * missing ones are added (NodeStatusNeverUpdated, heartbeat = creationTimestamp). Returns the
 * new status.conditions array, or NULL when every one is Unknown already. now: RFC 3339. */
json_t *kc_nodelc_unknown_conditions(const json_t *node, const char *now);

/* Status ("True", "False", "Unknown") of a condition type of a node; NULL when absent. */
const char *kc_nodelc_condition(const json_t *node, const char *type);

enum { KC_NODELC_TAINTS_CHANGED = 1, KC_NODELC_NOEXEC_HELD = 2 };
/* The taints the node must carry: the controller's condition taints (not-ready / unreachable
 * NoSchedule + NoExecute, memory/disk/pid-pressure, network-unavailable, unschedulable, all
 * NoSchedule but the two NoExecute) follow conditions and spec.unschedulable; other taints are
 * kept in order. Added NoExecute taints get timeAdded = now. With allow_noexec false, a NoExecute
 * taint the node does not have yet is held back (KC_NODELC_NOEXEC_HELD: the eviction rate
 * limit). Returns flags; *out gets the new spec.taints when KC_NODELC_TAINTS_CHANGED, else NULL. */
int kc_nodelc_taints(const json_t *node, const char *now, bool allow_noexec, json_t **out);

/* Whether a toleration tolerates a taint (key, operator Equal/Exists, value, effect). */
bool kc_nodelc_tolerates(const json_t *tol, const json_t *taint);

/* When a pod with these tolerations must leave a node with these taints, in ms since the epoch:
 * -1 never (every NoExecute taint tolerated without tolerationSeconds); otherwise the earliest
 * of taint.timeAdded (now_ms when absent) + the smallest tolerationSeconds among the
 * tolerations matching that taint. An untolerated NoExecute taint gives now_ms (at once).
 * timeAdded has whole seconds: it counts as the end of its second (x.999), so that a pod gets
 * at least its tolerationSeconds, never up to a second less. */
int64_t kc_nodelc_evict_at(const json_t *tolerations, const json_t *taints, int64_t now_ms);

/* RFC 3339 ("2024-05-01T10:00:00Z", fractional seconds allowed) to ms since the epoch; -1 if bad. */
int64_t kc_nodelc_parse_time(const char *s);

#endif
