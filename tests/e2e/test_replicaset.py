"""ReplicaSet scenarios through the real kubectl, on a server with 3 simulated nodes
(semantics section 1, R1-R6): creation with ControllerRefs, adoption, release, scale-down
ranking (pod-deletion-cost), minReadySeconds, orphan cascade and re-adoption, `kubectl scale`,
`get rs` columns and `describe rs` events."""
import json
import re
import time

import pytest

from conftest import Kubectl, make_namespace, wait_for

POD_NAME = re.compile(r"^frontend-[bcdfghjklmnpqrstvwxz2456789]{5}$")


SERVER_ARGS = ["--sim-nodes", "3"]  # the shared server fixture (conftest) starts it with these


@pytest.fixture
def ns(server):
    name = make_namespace(server, "rs")
    yield name
    server.api("DELETE", "/api/v1/namespaces/" + name)


@pytest.fixture
def kubectl(server, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(server, tmp_path / "kcache", home)


def rs_manifest(name="frontend", replicas=3, tier="frontend", min_ready=0):
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
        "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                 "selector": {"matchLabels": {"tier": tier}},
                 "template": {"metadata": {"labels": {"tier": tier}},
                              "spec": {"containers": [{"name": "php", "image": "nginx"}]}}}})


def bare_pod(name, tier="frontend"):
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"tier": tier}},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})


def pods(kubectl, ns, selector="tier=frontend"):
    """Active (not terminating) pods matching the selector."""
    items = kubectl.ok("get", "pods", "-n", ns, "-l", selector, "-o", "json").json()["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def owner_uid(pod):
    refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")]
    return refs[0]["uid"] if refs else None


def rs_get(kubectl, ns, name="frontend"):
    return kubectl.ok("get", "rs", name, "-n", ns, "-o", "json").json()


def ready_pods(kubectl, ns, n, selector="tier=frontend"):
    def check():
        ps = pods(kubectl, ns, selector)
        ok = len(ps) == n and all(any(c["type"] == "Ready" and c["status"] == "True"
                                      for c in p.get("status", {}).get("conditions", [])) for p in ps)
        return ps if ok else None
    ps = wait_for(check, timeout=20, interval=0.2, what="%d ready pods" % n)
    return ps


def status_is(kubectl, ns, name, **want):
    def check():
        st = rs_get(kubectl, ns, name).get("status", {})
        return st if all(st.get(k, 0) == v for k, v in want.items()) else None
    return check


def test_r1_creates_owned_pods_and_status(kubectl, ns):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=rs_manifest())
    ps = ready_pods(kubectl, ns, 3)
    rs = rs_get(kubectl, ns)
    for p in ps:
        assert POD_NAME.match(p["metadata"]["name"]), p["metadata"]["name"]
        assert p["metadata"]["ownerReferences"] == [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "frontend", "uid": rs["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}]
    st = wait_for(status_is(kubectl, ns, "frontend", replicas=3, readyReplicas=3, availableReplicas=3,
                            fullyLabeledReplicas=3), timeout=10, what="status 3/3")
    assert st["observedGeneration"] == rs["metadata"]["generation"] == 1
    out = kubectl.ok("get", "rs", "frontend", "-n", ns).out.split("\n")
    assert out[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert out[1].split()[:4] == ["frontend", "3", "3", "3"]
    time.sleep(0.5)
    assert len(pods(kubectl, ns)) == 3, "nothing more is created"


def test_r2_adopts_orphans_and_deletes_the_surplus(kubectl, ns):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=bare_pod("p1"))
    kubectl.ok("apply", "-n", ns, "-f", "-", input=rs_manifest())
    uid = wait_for(lambda: rs_get(kubectl, ns)["metadata"]["uid"], what="rs")
    ps = ready_pods(kubectl, ns, 3)
    assert all(owner_uid(p) == uid for p in ps)
    assert "p1" in [p["metadata"]["name"] for p in ps], "p1 adopted, only 2 created"
    kubectl.ok("apply", "-n", ns, "-f", "-", input=bare_pod("p2"))

    def p2_gone():
        names = [p["metadata"]["name"] for p in pods(kubectl, ns)]
        return "p2" not in names and len(names) == 3
    wait_for(p2_gone, timeout=15, interval=0.1, what="p2 adopted and deleted")
    assert "p1" in [p["metadata"]["name"] for p in pods(kubectl, ns)]
    events = kubectl.ok("get", "events", "-n", ns, "--field-selector", "reason=SuccessfulDelete", "-o", "json").json()
    assert any(e["message"] == "Deleted pod: p2" for e in events["items"])


def test_r3_relabelled_pod_is_released_and_replaced(kubectl, ns):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=rs_manifest())
    ps = ready_pods(kubectl, ns, 3)
    victim = ps[0]["metadata"]["name"]
    kubectl.ok("label", "pod", victim, "-n", ns, "tier=debug", "--overwrite")

    def released():
        p = kubectl.ok("get", "pod", victim, "-n", ns, "-o", "json").json()
        return not p["metadata"].get("ownerReferences") and p["status"].get("phase") == "Running"
    wait_for(released, timeout=10, interval=0.1, what="release")
    ready_pods(kubectl, ns, 3)
    wait_for(status_is(kubectl, ns, "frontend", replicas=3, readyReplicas=3), timeout=10, what="3/3")
    time.sleep(0.5)
    p = kubectl.ok("get", "pod", victim, "-n", ns, "-o", "json").json()
    assert not p["metadata"].get("ownerReferences") and not p["metadata"].get("deletionTimestamp")


def test_r4_deletion_cost_picks_the_victim(kubectl, ns):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=rs_manifest())
    ps = ready_pods(kubectl, ns, 3)
    # the oldest pod would be the last choice without the annotation
    ps.sort(key=lambda p: p["metadata"]["creationTimestamp"])
    x = ps[0]["metadata"]["name"]
    kubectl.ok("annotate", "pod", x, "-n", ns, "controller.kubernetes.io/pod-deletion-cost=-100")
    kubectl.ok("scale", "rs", "frontend", "-n", ns, "--replicas=2")
    wait_for(lambda: len(pods(kubectl, ns)) == 2, timeout=10, interval=0.1, what="scale to 2")
    left = [p["metadata"]["name"] for p in pods(kubectl, ns)]
    assert x not in left and len(left) == 2
    wait_for(status_is(kubectl, ns, "frontend", replicas=2, readyReplicas=2), timeout=10, what="2/2")


def test_r5_min_ready_seconds(kubectl, ns):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=rs_manifest(min_ready=4))
    ready_pods(kubectl, ns, 3)
    st = wait_for(status_is(kubectl, ns, "frontend", readyReplicas=3), timeout=10, what="3 ready")
    t_ready = time.time()
    assert st.get("availableReplicas", 0) < 3, st
    wait_for(status_is(kubectl, ns, "frontend", availableReplicas=3), timeout=15, interval=0.2, what="3 available")
    assert time.time() - t_ready >= 2, "available only after minReadySeconds"


def test_r6_orphan_cascade_and_readoption(kubectl, ns):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=rs_manifest())
    before = sorted(p["metadata"]["name"] for p in ready_pods(kubectl, ns, 3))
    kubectl.ok("delete", "rs", "frontend", "-n", ns, "--cascade=orphan")
    wait_for(lambda: kubectl("get", "rs", "frontend", "-n", ns).rc != 0, timeout=10, what="rs gone")
    ps = pods(kubectl, ns)
    assert sorted(p["metadata"]["name"] for p in ps) == before
    assert all(not p["metadata"].get("ownerReferences") for p in ps)
    kubectl.ok("apply", "-n", ns, "-f", "-", input=rs_manifest())
    uid = rs_get(kubectl, ns)["metadata"]["uid"]
    wait_for(lambda: all(owner_uid(p) == uid for p in pods(kubectl, ns)), timeout=10, what="re-adopted")
    time.sleep(0.5)
    assert sorted(p["metadata"]["name"] for p in pods(kubectl, ns)) == before, "nothing created"


def test_scale_replace_and_describe(kubectl, ns):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=rs_manifest(replicas=1))
    ready_pods(kubectl, ns, 1)
    kubectl.ok("scale", "rs", "frontend", "-n", ns, "--replicas=4")
    ps = ready_pods(kubectl, ns, 4)
    wait_for(status_is(kubectl, ns, "frontend", replicas=4, readyReplicas=4), timeout=10, what="4/4")
    gone = ps[0]["metadata"]["name"]
    kubectl.ok("delete", "pod", gone, "-n", ns, "--wait=false")
    wait_for(lambda: len(pods(kubectl, ns)) == 4 and gone not in [p["metadata"]["name"] for p in pods(kubectl, ns)],
             timeout=15, interval=0.1, what="replacement")
    kubectl.ok("scale", "rs", "frontend", "-n", ns, "--replicas=2")
    wait_for(lambda: len(pods(kubectl, ns)) == 2, timeout=10, interval=0.1, what="scale down")
    wait_for(status_is(kubectl, ns, "frontend", replicas=2, readyReplicas=2), timeout=10, what="2/2")
    scale = kubectl.ok("get", "--raw", "/apis/apps/v1/namespaces/%s/replicasets/frontend/scale" % ns).json()
    assert scale["spec"]["replicas"] == 2 and scale["status"]["replicas"] == 2
    assert scale["status"]["selector"] == "tier=frontend"
    wide = kubectl.ok("get", "rs", "-n", ns, "-o", "wide").out.split("\n")
    assert wide[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[:4] == ["frontend", "2", "2", "2"]

    def described():
        out = kubectl.ok("describe", "rs", "frontend", "-n", ns).out
        return out if "SuccessfulDelete" in out else None
    out = wait_for(described, timeout=10, interval=0.2, what="describe events")
    assert re.search(r"Replicas:\s+2 current / 2 desired", out), out
    # terminating pods still count here (describe lists pods by selector), as upstream
    assert re.search(r"Pods Status:\s+\d+ Running / 0 Waiting / 0 Succeeded / 0 Failed", out), out
    assert re.search(r"Normal\s+SuccessfulCreate\s+.*replicaset-controller\s+Created pod: frontend-", out), out
    assert re.search(r"Normal\s+SuccessfulDelete\s+.*replicaset-controller\s+Deleted pod: frontend-", out), out
