"""Simulated nodes in a separate `kubec sim` process (issue 4).

A node that crashes: killing the process with SIGKILL leaves its node without heartbeats, so the node
lifecycle controller marks it Unknown and taints it unreachable, and a pod that tolerates that taint for
2 s is evicted then (it stays Terminating, since no kubelet confirms it), while a pod tolerating it
forever stays.

Logs and exec: the process serves the kubelet's /containerLogs and /exec paths on a loopback port that
its Nodes advertise (status.daemonEndpoints.kubeletEndpoint.Port, annotation kubec.io/kubelet-host);
the server proxies `kubectl logs` there and answers `kubectl exec` with the node's refusal. With the
process gone the server answers a Status error at once; a kubelet that holds the connection delays only
that one request, never the server."""
import json
import re
import signal
import socket
import subprocess
import threading
import time

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


# ---- logs and exec through the kubelet endpoint of a `kubec sim` process ----

def deployment(name, nodes):
    aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": nodes}]}]}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"affinity": aff, "containers": [{"name": "app", "image": "busybox"},
                                                                           {"name": "side", "image": "nginx:1.25"}]}}}}


def start_sim(server, tmp_path, prefix, nodes):
    log_path = tmp_path / ("sim-%s.log" % prefix)
    sim = subprocess.Popen([KUBEC_BIN, "sim", "--kubeconfig", server.kubeconfig, "--nodes", str(nodes),
                            "--name-prefix", prefix], stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    port = wait_for(lambda: re.search(r"kubelet endpoint 127\.0\.0\.1:(\d+)", log_path.read_text()), timeout=10,
                    what="kubec sim's kubelet endpoint")
    return sim, int(port.group(1))


def running_pod(server, ns, app):
    st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/pods?labelSelector=app%%3D%s" % (ns, app))
    pods = [p for p in doc["items"] if p["status"].get("phase") == "Running"]
    return pods[0] if pods else None


def test_logs_and_exec_through_the_sim_process_kubelet_endpoint(server, kubectl, ns, tmp_path):
    sim, port = start_sim(server, tmp_path, "kl", 2)
    try:
        wait_for(lambda: all(ready_status(node(server, n)) == "True" for n in ("kl-0", "kl-1")), timeout=20,
                 what="kl-0 and kl-1 Ready")
        n = node(server, "kl-1")
        assert n["metadata"]["annotations"]["kubec.io/kubelet-host"] == "127.0.0.1"
        assert n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == port
        assert n["status"]["addresses"][0] == {"type": "InternalIP", "address": "172.16.0.2"}  # unchanged

        st, doc, _ = server.api("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment("web", ["kl-0", "kl-1"]))
        assert st == 201, doc
        p = wait_for(lambda: running_pod(server, ns, "web"), timeout=20, what="the Deployment's pod Running")
        name = p["metadata"]["name"]
        assert p["spec"]["nodeName"] in ("kl-0", "kl-1")

        assert kubectl.ok("logs", "-n", ns, name, "-c", "app").out == "kubec-sim: started container app (image busybox)\n"
        assert kubectl.ok("logs", "-n", ns, name, "-c", "side").out == \
            "kubec-sim: started container side (image nginx:1.25)\n"
        r = kubectl.ok("logs", "-n", ns, "deploy/web")  # kubectl defaults to the first container
        assert r.out == "kubec-sim: started container app (image busybox)\n", r
        ts = kubectl.ok("logs", "-n", ns, name, "-c", "app", "--timestamps").out
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z kubec-sim: started container app \(image busybox\)\n$", ts), ts
        assert kubectl.ok("logs", "-n", ns, name, "-c", "app", "--tail=0").out == ""
        assert kubectl.ok("logs", "-n", ns, name, "-c", "app", "--tail=1").out.startswith("kubec-sim: started")
        assert kubectl.ok("logs", "-n", ns, name, "-c", "app", "--limit-bytes=9").out == "kubec-sim"
        # follow: what exists, then a clean end (a simulated container writes no more lines)
        assert kubectl.ok("logs", "-n", ns, name, "-c", "side", "-f", timeout=20).out.endswith("(image nginx:1.25)\n")

        r = kubectl.fail("logs", "-n", ns, name, "-c", "nope")
        assert "container nope is not valid for pod " + name in r.err, r
        r = kubectl.fail("logs", "-n", ns, name, "-c", "app", "--previous")
        assert 'previous terminated container "app" in pod "%s" not found' % name in r.err, r
        st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/pods/%s/log" % (ns, name))
        assert st == 400 and doc["reason"] == "BadRequest" and "choose one of: [app side]" in doc["message"], doc
        r = kubectl.fail("exec", "-n", ns, name, "-c", "app", "--", "ls")
        assert "node %s is a simulated node (kubec sim) and cannot run commands" % p["spec"]["nodeName"] in r.err, r
    finally:
        sim.send_signal(signal.SIGKILL)
        sim.wait()

    # the process is gone: a Status error at once, naming what the server tried to reach
    t0 = time.time()
    st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/pods/%s/log?container=app" % (ns, name))
    assert time.time() - t0 < 3
    # kube-apiserver's shape: the Go client's error is no Status, so no reason (kubectl: "Error from server: Get ...")
    assert st == 500 and doc["kind"] == "Status" and doc["status"] == "Failure" and "reason" not in doc, doc
    assert doc["message"] == ('Get "http://127.0.0.1:%d/containerLogs/%s/%s/app": dial tcp 127.0.0.1:%d: '
                              "connect: connection refused" % (port, ns, name, port)), doc
    r = kubectl.fail("logs", "-n", ns, name, "-c", "app", "--tail=1")
    assert r.err.startswith('Error from server: Get "http://127.0.0.1:%d/containerLogs/' % port), r
    assert "tailLines=1" in r.err and "connection refused" in r.err, r
    r = kubectl.fail("exec", "-n", ns, name, "-c", "app", "--", "ls")
    assert "error dialing backend: dial tcp 127.0.0.1:%d: connect: connection refused" % port in r.err, r
    assert server.api("GET", "/readyz")[0] == 200


def test_a_silent_kubelet_delays_only_its_own_request(server, ns):
    """A node whose kubelet accepts and never answers: the log request waits for it, the server does not."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    port = lsock.getsockname()[1]
    release = threading.Event()
    accepted = []

    def silent_kubelet():
        conn, _ = lsock.accept()
        conn.recv(65536)  # the request, read so that the close below is a clean end, not a reset
        accepted.append(conn)
        release.wait(20)
        conn.close()  # no answer at all
    t = threading.Thread(target=silent_kubelet, daemon=True)
    t.start()
    node_doc = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "mute", "annotations": {"kubec.io/kubelet-host": "127.0.0.1"}}}
    st, doc, _ = server.api("POST", "/api/v1/nodes", node_doc)
    assert st == 201, doc
    st, doc, _ = server.api("PATCH", "/api/v1/nodes/mute/status",
                            {"status": {"daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}},
                            content_type="application/merge-patch+json")
    assert st == 200, doc
    st, doc, _ = server.api("POST", "/api/v1/namespaces/%s/pods" % ns, pod("quiet", "mute", None))
    assert st == 201, doc
    answer = {}

    def ask():
        answer["r"] = server.api("GET", "/api/v1/namespaces/%s/pods/quiet/log" % ns, timeout=30)
    asker = threading.Thread(target=ask)
    asker.start()
    try:
        wait_for(lambda: accepted, timeout=10, what="the log request to reach the silent kubelet")
        t0 = time.time()
        for _ in range(20):  # the loop keeps serving while that request waits
            assert server.api("GET", "/api/v1/nodes/mute")[0] == 200
        assert time.time() - t0 < 2
        assert asker.is_alive() and "r" not in answer
    finally:
        release.set()
        asker.join(30)
        lsock.close()
    st, doc, _ = answer["r"]
    assert st == 500 and "reason" not in doc, doc
    assert doc["message"] == 'Get "http://127.0.0.1:%d/containerLogs/%s/quiet/c": EOF' % (port, ns), doc
    server.api("DELETE", "/api/v1/namespaces/%s/pods/quiet?gracePeriodSeconds=0" % ns)
    server.api("DELETE", "/api/v1/nodes/mute")
