"""`kubectl drain` / `cordon` / `uncordon` against simulated nodes, as an operator uses them before
maintenance: the node is cordoned, its controller-owned pods are evicted (respecting
PodDisruptionBudgets) and recreated elsewhere; a bare pod stops the drain unless --force."""
import json

import pytest

from conftest import Server, make_namespace, wait_for

SERVER_ARGS = ["--sim-nodes", "3", "--dns-listen", "off"]
NODES = ["sim-0", "sim-1", "sim-2"]


def pods(server, ns):
    st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/pods" % ns)
    assert st == 200, doc
    return doc["items"]


def live_on(server, ns, node):
    return [p["metadata"]["name"] for p in pods(server, ns)
            if p["spec"].get("nodeName") == node and not p["metadata"].get("deletionTimestamp")]


def running(server, ns):
    return [p for p in pods(server, ns) if p["status"].get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]


def deployment(kubectl, ns, name, replicas):
    doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}
    kubectl.ok("apply", "-n", ns, "-f", "-", input=json.dumps(doc))
    kubectl.ok("rollout", "status", "-n", ns, "deployment/" + name, "--timeout=30s")


def unschedulable(server, node):
    st, doc, _ = server.api("GET", "/api/v1/nodes/" + node)
    assert st == 200, doc
    return bool(doc["spec"].get("unschedulable"))


@pytest.fixture
def uncordon_all(kubectl):
    yield
    for n in NODES:
        kubectl("uncordon", n)


def test_cordon_and_uncordon(server, kubectl, uncordon_all):
    assert "node/sim-1 cordoned" in kubectl.ok("cordon", "sim-1").out
    assert unschedulable(server, "sim-1")
    row = [l for l in kubectl.ok("get", "nodes").out.splitlines() if l.startswith("sim-1 ")][0]
    assert row.split()[1] == "Ready,SchedulingDisabled", row
    assert "node/sim-1 uncordoned" in kubectl.ok("uncordon", "sim-1").out
    assert not unschedulable(server, "sim-1")


def test_drain_moves_pods_elsewhere(server, kubectl, ns, uncordon_all):
    deployment(kubectl, ns, "web", 6)
    victims = live_on(server, ns, "sim-0")
    assert victims, "the scheduler spread 6 pods over 3 nodes"
    r = kubectl.ok("drain", "sim-0", "--ignore-daemonsets", "--grace-period=1", "--timeout=30s", timeout=60)
    assert "node/sim-0 cordoned" in r.out and "node/sim-0 drained" in r.out, r
    for v in victims:
        assert "evicting pod %s/%s" % (ns, v) in r.out + r.err, r
    assert unschedulable(server, "sim-0")
    assert live_on(server, ns, "sim-0") == []
    # the ReplicaSet replaced them on the two schedulable nodes
    wait_for(lambda: len(running(server, ns)) == 6, timeout=15, what="6 running pods again")
    assert {p["spec"]["nodeName"] for p in running(server, ns)} <= {"sim-1", "sim-2"}


def test_drain_refuses_a_bare_pod_without_force(server, kubectl, ns, uncordon_all):
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"},
            "spec": {"nodeName": "sim-2", "containers": [{"name": "c", "image": "nginx:1.25"}]}}
    kubectl.ok("apply", "-n", ns, "-f", "-", input=json.dumps(bare))
    r = kubectl.fail("drain", "sim-2", "--grace-period=1", "--timeout=10s")
    assert "cannot delete Pods that declare no controller" in r.err and "%s/bare" % ns in r.err, r
    assert live_on(server, ns, "sim-2") == ["bare"]  # cordoned, but nothing was evicted
    r = kubectl.ok("drain", "sim-2", "--force", "--grace-period=1", "--timeout=30s", timeout=60)
    assert "node/sim-2 drained" in r.out, r
    assert live_on(server, ns, "sim-2") == []


def test_drain_respects_a_disruption_budget(server, kubectl, ns, uncordon_all):
    deployment(kubectl, ns, "db", 1)
    node = running(server, ns)[0]["spec"]["nodeName"]
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "db"},
           "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}}
    kubectl.ok("apply", "-n", ns, "-f", "-", input=json.dumps(pdb))
    r = kubectl.fail("drain", node, "--grace-period=1", "--timeout=3s", timeout=30)
    assert "Cannot evict pod as it would violate the pod's disruption budget." in r.err, r
    assert len(live_on(server, ns, node)) == 1, "the budget kept the only replica"
    # the operator relaxes the budget: the drain now goes through
    kubectl.ok("delete", "pdb", "db", "-n", ns)
    r = kubectl.ok("drain", node, "--grace-period=1", "--timeout=30s", timeout=60)
    assert "node/%s drained" % node in r.out, r
    wait_for(lambda: [p["spec"]["nodeName"] for p in running(server, ns)] not in ([], [node]),
             timeout=15, what="the replica running on another node")


def test_drain_leaves_daemon_pods_with_ignore_daemonsets(server, kubectl, ns, uncordon_all):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"terminationGracePeriodSeconds": 1,
                                         "containers": [{"name": "c", "image": "busybox"}]}}}}
    kubectl.ok("apply", "-n", ns, "-f", "-", input=json.dumps(ds))
    kubectl.ok("rollout", "status", "-n", ns, "daemonset/agent", "--timeout=30s", timeout=60)
    r = kubectl.fail("drain", "sim-1", "--grace-period=1", "--timeout=10s")
    assert "cannot delete DaemonSet-managed Pods" in r.err, r
    r = kubectl.ok("drain", "sim-1", "--ignore-daemonsets", "--grace-period=1", "--timeout=30s", timeout=60)
    assert "node/sim-1 drained" in r.out and "Warning: ignoring DaemonSet-managed Pods: %s/agent-" % ns in r.err, r
    assert len(live_on(server, ns, "sim-1")) == 1, "the daemon pod stays on its cordoned node"


def test_default_toleration_seconds_flags(tmp_path):
    srv = Server(tmp_path / "data", args=["--controllers=", "--disable-scheduler", "--dns-listen", "off",
                                          "--default-unreachable-toleration-seconds", "7"]).start()
    try:
        ns = make_namespace(srv)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
        st, doc, _ = srv.api("POST", "/api/v1/namespaces/%s/pods" % ns, pod)
        assert st == 201, doc
        got = {t["key"]: t.get("tolerationSeconds") for t in doc["spec"]["tolerations"]}
        assert got == {"node.kubernetes.io/not-ready": 300, "node.kubernetes.io/unreachable": 7}, doc
    finally:
        srv.stop()
