"""StatefulSets end to end (semantics 3, acceptance S1-S8) through the real kubectl, against
`kubec server --sim-nodes 3 --pod-startup-ms 300`: the StatefulSet controller, the scheduler,
simulated nodes and the garbage collector together.

Pods take 300 ms from binding to Ready, so ordering is observable: a background thread polls the
pods and records every state it sees, and ordering rules (OrderedReady creation, reverse-order
scale down, highest-first rolling updates) are checked on each observed state. Templates use
terminationGracePeriodSeconds: 1 because simulated nodes honour the grace period. Claims stay
Pending here (binding is the PV controller's job)."""
import json
import re
import threading
import time

import pytest

from conftest import make_namespace, manifest, wait_for

SERVER_ARGS = ["--sim-nodes", "3", "--pod-startup-ms", "300"]
HASH_RE = r"[4-9bcdf]{1,10}"
NEVER_READY = [{"conditionType": "example.com/never"}]


@pytest.fixture
def ns(server):
    name = make_namespace(server, "sts")
    yield name
    server.api("DELETE", "/api/v1/namespaces/" + name)


def statefulset(name="web", replicas=3, image="nginx:1.25", claims=True, pod_spec=None, **spec):
    s = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
         "spec": {"serviceName": "nginx", "replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"terminationGracePeriodSeconds": 1,
                                        "containers": [{"name": "nginx", "image": image}]}}}}
    if claims:
        s["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "www", "mountPath": "/data"}]
        s["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "www"},
                                              "spec": {"accessModes": ["ReadWriteOnce"],
                                                       "resources": {"requests": {"storage": "1Gi"}}}}]
    s["spec"]["template"]["spec"].update(pod_spec or {})
    s["spec"].update(spec)
    return json.dumps(s)


def get(server, path):
    st, doc, _ = server.api("GET", path)
    assert st == 200, (path, doc)
    return doc


def sts(server, ns, name="web"):
    return get(server, "/apis/apps/v1/namespaces/%s/statefulsets/%s" % (ns, name))


def pods(server, ns, sel="app=web"):
    return get(server, "/api/v1/namespaces/%s/pods?labelSelector=%s" % (ns, sel))["items"]


def pod(server, ns, name):
    return get(server, "/api/v1/namespaces/%s/pods/%s" % (ns, name))


def claims(server, ns):
    return {c["metadata"]["name"]: c for c in get(server, "/api/v1/namespaces/%s/persistentvolumeclaims" % ns)["items"]}


def revisions(server, ns):
    items = get(server, "/apis/apps/v1/namespaces/%s/controllerrevisions" % ns)["items"]
    return sorted(items, key=lambda r: r["revision"])


def ready(p):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))


def names(items):
    return sorted(p["metadata"]["name"] for p in items)


def apply(kubectl, ns, doc):
    return kubectl.ok("-n", ns, "apply", "-f", "-", input=doc)


def all_ready(server, ns, n, sel="app=web"):
    def check():
        items = [p for p in pods(server, ns, sel) if not p["metadata"].get("deletionTimestamp")]
        return len(items) == n and all(ready(p) for p in items) and items
    try:
        return wait_for(check, timeout=30, what="%d ready pods" % n)
    except AssertionError:
        state = [(p["metadata"]["name"], p.get("status", {}).get("phase"), ready(p), p["spec"].get("nodeName"),
                  bool(p["metadata"].get("deletionTimestamp"))) for p in pods(server, ns, sel)]
        sets = get(server, "/apis/apps/v1/namespaces/%s/statefulsets" % ns)["items"]
        evs = [(e["reason"], e["message"]) for e in get(server, "/api/v1/namespaces/%s/events" % ns)["items"]]
        raise AssertionError("%d ready pods: pods %s; status %s; events %s" % (
            n, state, [x.get("status") for x in sets], evs))


def rollout(kubectl, ns, name="web", timeout=60):
    r = kubectl.ok("-n", ns, "rollout", "status", "statefulset/" + name, "--timeout=%ds" % timeout,
                   timeout=timeout + 10)
    return r.out.strip().splitlines()[-1]


def events(server, ns, reason):
    items = get(server, "/api/v1/namespaces/%s/events" % ns)["items"]
    return [e["message"] for e in items if e["reason"] == reason]


class PodWatcher:
    """Polls the pods of a selector in a thread; samples are {name: (uid, ready, terminating, revision)}."""

    def __init__(self, server, ns, sel="app=web"):
        self.server, self.ns, self.sel = server, ns, sel
        self.samples, self.stop_flag = [], False
        self.t = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop_flag = True
        self.t.join()

    def run(self):
        while not self.stop_flag:
            s = {}
            for p in pods(self.server, self.ns, self.sel):
                md = p["metadata"]
                s[md["name"]] = (md["uid"], ready(p), bool(md.get("deletionTimestamp")),
                                 md.get("labels", {}).get("controller-revision-hash"))
            self.samples.append(s)
            time.sleep(0.01)

    def first_seen(self, pred):
        """Index of the first sample where pred(sample) holds, or None."""
        for i, s in enumerate(self.samples):
            if pred(s):
                return i
        return None


# ---- S1: the seed's StatefulSet, ordered creation, identity, claims, revision -----------------------

def test_seed_statefulset_orderedready(server, kubectl, ns):
    with PodWatcher(server, ns, "app=test-pod") as w:
        kubectl.ok("-n", ns, "apply", "-f", manifest("statefulset-seed.yaml"))
        assert rollout(kubectl, ns, "test-sf") == "partitioned roll out complete: 2 new pods have been updated..."
    # test-sf-1 never existed while test-sf-0 was not Ready
    for s in w.samples:
        if "test-sf-1" in s:
            assert s["test-sf-0"][1], s
    assert w.first_seen(lambda s: "test-sf-0" in s) < w.first_seen(lambda s: "test-sf-1" in s)

    revs = revisions(server, ns)
    assert len(revs) == 1 and revs[0]["revision"] == 1
    rname = revs[0]["metadata"]["name"]
    assert re.fullmatch("test-sf-" + HASH_RE, rname)
    assert revs[0]["metadata"]["labels"] == {"app": "test-pod", "controller.kubernetes.io/hash": rname[8:]}
    ref = revs[0]["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"]) == ("StatefulSet", "test-sf", True)

    p0 = pod(server, ns, "test-sf-0")
    assert p0["spec"]["hostname"] == "test-sf-0" and p0["spec"]["subdomain"] == "test"
    labels = p0["metadata"]["labels"]
    assert labels["statefulset.kubernetes.io/pod-name"] == "test-sf-0"
    assert labels["apps.kubernetes.io/pod-index"] == "0"
    assert labels["controller-revision-hash"] == rname
    vols = {v["name"]: v for v in p0["spec"]["volumes"]}
    assert vols["test-vm"]["persistentVolumeClaim"]["claimName"] == "test-vm-test-sf-0"
    cs = claims(server, ns)
    assert sorted(cs) == ["test-vm-test-sf-0", "test-vm-test-sf-1"]
    assert cs["test-vm-test-sf-1"]["metadata"]["labels"] == {"app": "test-pod"}
    assert cs["test-vm-test-sf-1"]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "ownerReferences" not in cs["test-vm-test-sf-0"]["metadata"]  # Retain/Retain

    st = sts(server, ns, "test-sf")["status"]
    assert st["replicas"] == st["readyReplicas"] == st["availableReplicas"] == 2
    assert st["currentReplicas"] == st["updatedReplicas"] == 2
    assert st["currentRevision"] == st["updateRevision"] == rname
    assert st["observedGeneration"] == 1 and st["collisionCount"] == 0
    created = events(server, ns, "SuccessfulCreate")
    assert "create Pod test-sf-0 in StatefulSet test-sf successful" in created
    assert "create Claim test-vm-test-sf-1 Pod test-sf-1 in StatefulSet test-sf success" in created
    out = kubectl.ok("-n", ns, "get", "sts", "test-sf").out
    assert re.search(r"test-sf\s+2/2", out), out


# ---- S5: a deleted pod comes back with the same name and claim ----------------------------------

def test_deleted_pod_recreated_with_same_identity(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=2))
    all_ready(server, ns, 2)
    old = pod(server, ns, "web-1")
    claim_uid = claims(server, ns)["www-web-1"]["metadata"]["uid"]
    kubectl.ok("-n", ns, "delete", "pod", "web-1", "--wait=false")

    def replaced():
        st, p, _ = server.api("GET", "/api/v1/namespaces/%s/pods/web-1" % ns)
        return st == 200 and p["metadata"]["uid"] != old["metadata"]["uid"] and ready(p) and p
    new = wait_for(replaced, timeout=20, what="web-1 recreated")
    assert new["spec"]["hostname"] == "web-1"
    assert {v["name"]: v for v in new["spec"]["volumes"]}["www"]["persistentVolumeClaim"]["claimName"] == "www-web-1"
    assert claims(server, ns)["www-web-1"]["metadata"]["uid"] == claim_uid


def test_failed_pod_is_recreated(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=1, claims=False))
    all_ready(server, ns, 1)
    old = pod(server, ns, "web-0")
    old["status"]["phase"] = "Failed"
    st, doc, _ = server.api("PUT", "/api/v1/namespaces/%s/pods/web-0/status" % ns, old)
    assert st == 200, doc
    wait_for(lambda: any(p["metadata"]["uid"] != old["metadata"]["uid"] and ready(p)
                         for p in pods(server, ns)), timeout=20, what="failed web-0 replaced")
    assert any("recreating failed Pod web-0" in m for m in events(server, ns, "RecreatingFailedPod"))
    # the create retried while the failed pod terminated never produced a pod under another name
    time.sleep(1.5)
    assert names(pods(server, ns)) == ["web-0"]


# ---- S2: scale up and down in order, claims kept -------------------------------------------------

def test_scale_up_then_down_in_reverse_order(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=2))
    all_ready(server, ns, 2)
    kubectl.ok("-n", ns, "scale", "sts", "web", "--replicas=3")
    all_ready(server, ns, 3)
    uids = {n: c["metadata"]["uid"] for n, c in claims(server, ns).items()}
    assert sorted(uids) == ["www-web-0", "www-web-1", "www-web-2"]
    with PodWatcher(server, ns) as w:
        kubectl.ok("-n", ns, "scale", "sts", "web", "--replicas=1")
        wait_for(lambda: names(pods(server, ns)) == ["web-0"], timeout=30, what="scaled to 1")
    # web-1 is untouched while web-2 still exists
    for s in w.samples:
        if "web-2" in s:
            assert "web-1" in s and not s["web-1"][2], s
    assert w.first_seen(lambda s: "web-2" not in s) <= w.first_seen(lambda s: "web-1" in s and s["web-1"][2])
    assert {n: c["metadata"]["uid"] for n, c in claims(server, ns).items()} == uids  # claims kept
    kubectl.ok("-n", ns, "scale", "sts", "web", "--replicas=3")
    all_ready(server, ns, 3)
    assert {n: c["metadata"]["uid"] for n, c in claims(server, ns).items()} == uids  # and re-attached
    wait_for(lambda: sts(server, ns)["status"]["readyReplicas"] == sts(server, ns)["status"]["replicas"] == 3,
             timeout=10, what="status of 3 ready replicas")


def test_scale_subresource(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=1, claims=False))
    st, scale, _ = server.api("GET", "/apis/apps/v1/namespaces/%s/statefulsets/web/scale" % ns)
    assert st == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
    st, doc, _ = server.api("PATCH", "/apis/apps/v1/namespaces/%s/statefulsets/web/scale" % ns,
                            {"spec": {"replicas": 2}}, content_type="application/merge-patch+json")
    assert st == 200 and doc["spec"]["replicas"] == 2, doc
    all_ready(server, ns, 2)
    st, scale, _ = server.api("GET", "/apis/apps/v1/namespaces/%s/statefulsets/web/scale" % ns)
    assert scale["status"] == {"replicas": 2, "selector": "app=web"}


# ---- S6: Parallel ---------------------------------------------------------------------------------

def test_parallel_creates_without_waiting(server, kubectl, ns):
    apply(kubectl, ns, statefulset(podManagementPolicy="Parallel", pod_spec={"readinessGates": NEVER_READY}))
    wait_for(lambda: names(pods(server, ns)) == ["web-0", "web-1", "web-2"], timeout=15, what="3 pods")
    assert not any(ready(p) for p in pods(server, ns))
    assert sorted(claims(server, ns)) == ["www-web-0", "www-web-1", "www-web-2"]
    # the same set OrderedReady would stop at web-0
    ns2 = make_namespace(server, "sts")
    apply(kubectl, ns2, statefulset(pod_spec={"readinessGates": NEVER_READY}))
    wait_for(lambda: names(pods(server, ns2)) == ["web-0"], timeout=15, what="web-0")
    time.sleep(1.5)
    assert names(pods(server, ns2)) == ["web-0"]
    server.api("DELETE", "/api/v1/namespaces/" + ns2)


# ---- S8: ordinals.start ---------------------------------------------------------------------------

def test_ordinals_start(server, kubectl, ns):
    apply(kubectl, ns, statefulset(ordinals={"start": 5}))
    items = all_ready(server, ns, 3)
    assert names(items) == ["web-5", "web-6", "web-7"]
    assert sorted(claims(server, ns)) == ["www-web-5", "www-web-6", "www-web-7"]
    assert pod(server, ns, "web-6")["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "6"


# ---- S3/S4: rolling updates, partition, maxUnavailable, OnDelete ----------------------------------

def test_partitioned_rollout_then_full(server, kubectl, ns):
    apply(kubectl, ns, statefulset())
    all_ready(server, ns, 3)
    rev1 = sts(server, ns)["status"]["currentRevision"]
    kubectl.ok("-n", ns, "patch", "sts", "web", "-p",
               '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}')
    kubectl.ok("-n", ns, "set", "image", "sts/web", "nginx=nginx:1.26")
    assert rollout(kubectl, ns) == "partitioned roll out complete: 1 new pods have been updated..."
    st = sts(server, ns)["status"]
    rev2 = st["updateRevision"]
    assert rev2 != rev1 and st["currentRevision"] == rev1 and st["updatedReplicas"] == 1
    assert [r["revision"] for r in revisions(server, ns)] == [1, 2]
    by = {p["metadata"]["name"]: p for p in pods(server, ns)}
    assert by["web-2"]["metadata"]["labels"]["controller-revision-hash"] == rev2
    assert by["web-2"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert by["web-1"]["metadata"]["labels"]["controller-revision-hash"] == rev1
    with PodWatcher(server, ns) as w:
        kubectl.ok("-n", ns, "patch", "sts", "web", "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')
        assert rollout(kubectl, ns) == "partitioned roll out complete: 3 new pods have been updated..."
        wait_for(lambda: sts(server, ns)["status"]["currentRevision"] == rev2, timeout=10, what="current=update")
    # one pod at a time, web-1 before web-0, each after its successor is Ready
    gone1 = w.first_seen(lambda s: s.get("web-1", (None, False, True, None))[3] == rev2)
    gone0 = w.first_seen(lambda s: "web-0" not in s or s["web-0"][2])
    assert gone1 is not None and gone0 is not None and gone1 < gone0
    for s in w.samples:
        unhealthy = [n for n, (_, r, t, _) in s.items() if t or not r] + [n for n in ("web-0", "web-1", "web-2") if n not in s]
        assert len(unhealthy) <= 1, s
    st = sts(server, ns)["status"]
    assert st["currentReplicas"] == st["updatedReplicas"] == 3 and st["currentRevision"] == st["updateRevision"]


def test_rolling_update_plain_and_rollout_restart(server, kubectl, ns):
    apply(kubectl, ns, statefulset(claims=False, updateStrategy={"type": "RollingUpdate"}))
    all_ready(server, ns, 3)
    kubectl.ok("-n", ns, "rollout", "restart", "sts/web")
    last = rollout(kubectl, ns)
    st = sts(server, ns)["status"]
    # no rollingUpdate block (not defaulted when the type is given): kubectl's plain rolling message
    assert last == "statefulset rolling update complete 3 pods at revision %s..." % st["updateRevision"]
    assert st["currentRevision"] == st["updateRevision"] and st["updatedReplicas"] == 3
    for p in pods(server, ns):
        assert "kubectl.kubernetes.io/restartedAt" in p["metadata"].get("annotations", {})
        assert p["metadata"]["labels"]["controller-revision-hash"] == st["updateRevision"]


def test_max_unavailable_replaces_two_at_once(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=4, claims=False,
                                   updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}))
    all_ready(server, ns, 4)
    with PodWatcher(server, ns) as w:
        kubectl.ok("-n", ns, "set", "image", "sts/web", "nginx=nginx:1.26")
        rollout(kubectl, ns)
        wait_for(lambda: sts(server, ns)["status"].get("updatedReplicas") == 4, timeout=20, what="all updated")
    most = max(len([n for n in ("web-0", "web-1", "web-2", "web-3") if n not in s or s[n][2] or not s[n][1]])
               for s in w.samples)
    assert most == 2, "maxUnavailable 2 should take two pods down at once, never more"


def test_ondelete_updates_only_deleted_pods(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=2, claims=False, updateStrategy={"type": "OnDelete"}))
    all_ready(server, ns, 2)
    rev1 = sts(server, ns)["status"]["currentRevision"]
    kubectl.ok("-n", ns, "set", "image", "sts/web", "nginx=nginx:1.26")
    wait_for(lambda: sts(server, ns)["status"].get("updateRevision", rev1) != rev1, timeout=10, what="new revision")
    time.sleep(1)
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods(server, ns)} == {rev1}
    kubectl.ok("-n", ns, "delete", "pod", "web-0", "--wait=false")
    rev2 = sts(server, ns)["status"]["updateRevision"]
    wait_for(lambda: pod(server, ns, "web-0")["metadata"]["labels"]["controller-revision-hash"] == rev2
             if server.api("GET", "/api/v1/namespaces/%s/pods/web-0" % ns)[0] == 200 else False,
             timeout=20, what="web-0 at the update revision")
    assert pod(server, ns, "web-1")["metadata"]["labels"]["controller-revision-hash"] == rev1
    kubectl.fail("-n", ns, "rollout", "status", "sts/web", "--timeout=2s")


# ---- revisions: history, undo round trip, limit ---------------------------------------------------

def test_rollout_history_and_undo_round_trip(server, kubectl, ns):
    # quantities in non-canonical form and a probe: kubectl re-encodes them the Go way
    containers = [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}],
                   "resources": {"requests": {"cpu": "0.5", "memory": "1.5Gi"}, "limits": {"cpu": "1000m"}},
                   "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5}}]
    apply(kubectl, ns, statefulset(replicas=2, claims=False, pod_spec={"containers": containers}))
    all_ready(server, ns, 2)
    # the revision data is byte-identical to what kubectl computes from the live object
    r = kubectl.ok("-n", ns, "rollout", "undo", "sts/web", "--to-revision=1")
    assert "skipped rollback (current template already matches revision 1)" in r.out, r
    rev1 = sts(server, ns)["status"]["currentRevision"]
    kubectl.ok("-n", ns, "set", "image", "sts/web", "nginx=nginx:1.26")
    rollout(kubectl, ns)
    wait_for(lambda: sts(server, ns)["status"]["currentRevision"] != rev1, timeout=10, what="rolled to 2")
    hist = kubectl.ok("-n", ns, "rollout", "history", "sts/web").out
    assert re.search(r"^1\s", hist, re.M) and re.search(r"^2\s", hist, re.M), hist
    detail = kubectl.ok("-n", ns, "rollout", "history", "sts/web", "--revision=2").out
    assert "nginx:1.26" in detail, detail
    r = kubectl.ok("-n", ns, "rollout", "undo", "sts/web")
    assert "rolled back" in r.out, r
    rollout(kubectl, ns)
    wait_for(lambda: sts(server, ns)["status"]["currentRevision"] == rev1, timeout=20, what="back at revision 1")
    revs = revisions(server, ns)
    assert [(x["metadata"]["name"] == rev1, x["revision"]) for x in revs] == [(False, 2), (True, 3)]
    assert sts(server, ns)["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    for p in pods(server, ns):
        assert p["metadata"]["labels"]["controller-revision-hash"] == rev1
        assert p["spec"]["containers"][0]["image"] == "nginx:1.25"


def test_revision_history_limit(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=1, claims=False, revisionHistoryLimit=1))
    all_ready(server, ns, 1)
    for tag in ("1.26", "1.27", "1.28"):
        kubectl.ok("-n", ns, "set", "image", "sts/web", "nginx=nginx:" + tag)
        rollout(kubectl, ns)
        wait_for(lambda: sts(server, ns)["status"]["currentRevision"] == sts(server, ns)["status"]["updateRevision"],
                 timeout=20, what="rollout to " + tag)
    # the live revision plus at most one other
    wait_for(lambda: [r["revision"] for r in revisions(server, ns)] == [3, 4], timeout=10, what="history truncated")


# ---- S7: claim retention policy -------------------------------------------------------------------

def test_retention_when_scaled_delete(server, kubectl, ns):
    apply(kubectl, ns, statefulset(persistentVolumeClaimRetentionPolicy={"whenScaled": "Delete",
                                                                         "whenDeleted": "Retain"}))
    all_ready(server, ns, 3)
    assert all("ownerReferences" not in c["metadata"] for c in claims(server, ns).values())
    kubectl.ok("-n", ns, "scale", "sts", "web", "--replicas=2")
    wait_for(lambda: names(pods(server, ns)) == ["web-0", "web-1"], timeout=20, what="web-2 gone")
    wait_for(lambda: sorted(claims(server, ns)) == ["www-web-0", "www-web-1"], timeout=20, what="www-web-2 deleted")


def test_retention_when_deleted_delete(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=2, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"}))
    all_ready(server, ns, 2)
    set_uid = sts(server, ns)["metadata"]["uid"]
    for c in claims(server, ns).values():
        refs = c["metadata"]["ownerReferences"]
        assert [(r["kind"], r["name"], r["uid"], r.get("controller")) for r in refs] == \
            [("StatefulSet", "web", set_uid, True)]
    kubectl.ok("-n", ns, "delete", "sts", "web")
    wait_for(lambda: not claims(server, ns), timeout=30, what="claims deleted with the set")


# ---- validation -----------------------------------------------------------------------------------

def test_forbidden_spec_update(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=1, claims=False))
    r = kubectl.fail("-n", ns, "patch", "sts", "web", "-p", '{"spec":{"serviceName":"other"}}')
    assert "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', " \
           "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and " \
           "'minReadySeconds' are forbidden" in r.err, r


# ---- adoption ---------------------------------------------------------------------------------------

def test_orphaned_pods_and_revisions_are_adopted(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=2, claims=False))
    all_ready(server, ns, 2)
    uids = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(server, ns)}
    rev = revisions(server, ns)[0]["metadata"]["name"]
    kubectl.ok("-n", ns, "delete", "sts", "web", "--cascade=orphan")
    wait_for(lambda: all("ownerReferences" not in p["metadata"] for p in pods(server, ns)), timeout=20,
             what="pods orphaned")
    apply(kubectl, ns, statefulset(replicas=2, claims=False))
    new_uid = sts(server, ns)["metadata"]["uid"]
    wait_for(lambda: all(p["metadata"].get("ownerReferences", [{}])[0].get("uid") == new_uid for p in pods(server, ns)),
             timeout=20, what="pods adopted")
    wait_for(lambda: [(r["metadata"].get("ownerReferences") or [{}])[0].get("uid") for r in revisions(server, ns)]
             == [new_uid],
             timeout=20, what="revision adopted")
    assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(server, ns)} == uids
    wait_for(lambda: sts(server, ns)["status"].get("currentRevision") == rev and
             sts(server, ns)["status"].get("readyReplicas") == 2, timeout=20, what="status at the old revision")


def fnv1_32(data, h=2166136261):
    for b in data:
        h = (h * 16777619) & 0xFFFFFFFF
        h ^= b
    return h


def safe_encode(v):
    return "".join("bcdfghjklmnpqrstvwxz2456789"[ord(c) % 27] for c in str(v))


def test_revision_hash_and_name_collision(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=1, claims=False))
    rev = wait_for(lambda: revisions(server, ns), timeout=10, what="a revision")[0]
    data = json.dumps(rev["data"], separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    assert data.startswith(b'{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,')
    # semantics 0.4: FNV-1 over the data, then the decimal collisionCount (0)
    h = safe_encode(fnv1_32(b"0", fnv1_32(data)))
    assert rev["metadata"]["name"] == "web-" + h and rev["metadata"]["labels"]["controller.kubernetes.io/hash"] == h
    # another namespace: the name the set will want is taken by a revision with other data
    ns2 = make_namespace(server, "sts")
    squatter = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "web-" + h},
                "data": {"other": True}, "revision": 7}
    st, doc, _ = server.api("POST", "/apis/apps/v1/namespaces/%s/controllerrevisions" % ns2, squatter)
    assert st == 201, doc
    apply(kubectl, ns2, statefulset(replicas=1, claims=False))
    wait_for(lambda: sts(server, ns2).get("status", {}).get("collisionCount") == 1, timeout=10, what="collision")
    h1 = safe_encode(fnv1_32(b"1", fnv1_32(data)))
    st = sts(server, ns2)["status"]
    assert st["updateRevision"] == "web-" + h1
    wait_for(lambda: pod(server, ns2, "web-0")["metadata"]["labels"]["controller-revision-hash"] == "web-" + h1
             if server.api("GET", "/api/v1/namespaces/%s/pods/web-0" % ns2)[0] == 200 else False,
             timeout=10, what="pod at the collision-free revision")
    server.api("DELETE", "/api/v1/namespaces/" + ns2)


def test_min_ready_seconds_gates_the_next_ordinal(server, kubectl, ns):
    apply(kubectl, ns, statefulset(replicas=2, claims=False, minReadySeconds=2))
    p0 = wait_for(lambda: [p for p in pods(server, ns) if ready(p)], timeout=15, what="web-0 Ready")[0]
    t_ready = time.time()
    st = sts(server, ns)["status"]
    assert st.get("availableReplicas", 0) == 0 and p0["metadata"]["name"] == "web-0"
    wait_for(lambda: "web-1" in names(pods(server, ns)), timeout=15, what="web-1")
    assert time.time() - t_ready >= 1.0  # waited for web-0 to be available (2 s, second-precision times)
    wait_for(lambda: sts(server, ns)["status"].get("availableReplicas") == 2, timeout=15, what="2 available")
