"""A node that crashes (issue 4): simulated nodes run as a separate `kubec sim` process over HTTP;
killing it with SIGKILL leaves its node without heartbeats, so the node lifecycle controller marks it
Unknown and taints it unreachable, and a pod that tolerates that taint for 2 s is evicted then (it stays
Terminating, since no kubelet confirms it), while a pod tolerating it forever stays."""
import json
import signal
import subprocess

import pytest

from conftest import KUBEC_BIN, Server, wait_for

GRACE_S = 15  # above kubec sim's 10 s lease period


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("kubec-simproc") / "data", args=["--node-monitor-grace-period", str(GRACE_S)],
                 env={"KUBEC_NODE_MONITOR_PERIOD_MS": "500"}).start()
    yield srv
    alive, log = srv.alive(), srv.read_log()
    rc = srv.stop()
    assert alive, "server died during the module; log:\n" + log
    assert rc == 0, log


def node(server, name):
    st, doc, _ = server.api("GET", "/api/v1/nodes/" + name)
    return doc if st == 200 else None


def ready_status(n):
    for c in (n or {}).get("status", {}).get("conditions", []):
        if c["type"] == "Ready":
            return c["status"]
    return None


def pod(name, node_name, toleration_seconds):
    tol = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
    if toleration_seconds is not None:
        tol["tolerationSeconds"] = toleration_seconds
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node_name, "tolerations": [tol],
                     "containers": [{"name": "c", "image": "busybox"}]}}


def test_killed_sim_process_node_goes_unknown_and_pods_are_evicted(server, tmp_path):
    log = open(tmp_path / "sim.log", "wb")
    sim = subprocess.Popen([KUBEC_BIN, "sim", "--kubeconfig", server.kubeconfig, "--nodes", "1", "--name-prefix", "ext"],
                           stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: ready_status(node(server, "ext-0")) == "True", timeout=20, what="ext-0 Ready")
        path = "/api/v1/namespaces/default/pods"
        for name, secs in (("short", 2), ("forever", None)):
            st, doc, _ = server.api("POST", path, pod(name, "ext-0", secs))
            assert st == 201, doc
        wait_for(lambda: server.api("GET", path + "/short")[1]["status"].get("phase") == "Running", timeout=20,
                 what="the pod Running on ext-0")
    finally:
        sim.send_signal(signal.SIGKILL)
        sim.wait()
    wait_for(lambda: ready_status(node(server, "ext-0")) == "Unknown", timeout=GRACE_S + 15, what="ext-0 Unknown")
    taints = node(server, "ext-0")["spec"].get("taints", [])
    assert {(t["key"], t["effect"]) for t in taints} >= {("node.kubernetes.io/unreachable", "NoSchedule"),
                                                          ("node.kubernetes.io/unreachable", "NoExecute")}, taints
    # evicted = deleted; with its node gone nothing confirms the deletion, so it stays Terminating
    # (as on a real cluster) unless the grace period ran out while the node still ran
    def evicted():
        st, doc, _ = server.api("GET", path + "/short")
        return st == 404 or bool(doc["metadata"].get("deletionTimestamp"))
    wait_for(evicted, timeout=15, what="the pod tolerating 2 s to be evicted")
    st, doc, _ = server.api("GET", path + "/forever")
    assert st == 200 and not doc["metadata"].get("deletionTimestamp"), json.dumps(doc)[:300]
