"""Simulated nodes inside `kubec server --sim-nodes 3`, seen through the real kubectl and the python
client: nodes Ready with a complete nodeInfo, leases held, a pod bound to a node runs (IP,
conditions, logs), exec is refused clearly, deletion completes after the grace period."""
import re
import time

import pytest

from conftest import wait_for

NODES = ["sim-0", "sim-1", "sim-2"]


SERVER_ARGS = ["--sim-nodes", "3"]  # the shared server fixture (conftest) starts it with these


def ready_nodes(server):
    st, doc, _ = server.api("GET", "/api/v1/nodes")
    assert st == 200, doc
    ready = []
    for n in doc["items"]:
        conds = {c["type"]: c["status"] for c in n["status"].get("conditions", [])}
        if conds.get("Ready") == "True":
            ready.append(n["metadata"]["name"])
    return sorted(ready)


@pytest.fixture(scope="module")
def nodes_up(server):
    wait_for(lambda: ready_nodes(server) == NODES, timeout=10, what="3 Ready sim nodes")


def pod_yaml(name, node, image="nginx:1.25"):
    return """apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  nodeName: %s
  containers:
  - name: nginx
    image: %s
""" % (name, node, image)


def wait_running(server, ns, name, timeout=10):
    """Polls the pod (cheaper than another kubectl wait) until it is Running and Ready."""
    def ready():
        st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/pods/%s" % (ns, name))
        conds = {c["type"]: c["status"] for c in (doc or {}).get("status", {}).get("conditions", [])}
        return st == 200 and doc["status"].get("phase") == "Running" and conds.get("Ready") == "True" and doc
    return wait_for(ready, timeout=timeout, what="pod %s Running" % name)


def test_kubectl_get_nodes_shows_three_ready(kubectl, nodes_up):
    out = kubectl.ok("get", "nodes").out
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATUS"], out
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert sorted(rows) == NODES, out
    for r in rows.values():
        assert r[1] == "Ready", out
        assert r[-1] == "v1.32.0-kubec", out
    wide = kubectl.ok("get", "node", "sim-1", "-o", "wide").out
    assert "172.16.0.2" in wide and "kubec-sim://1.0" in wide, wide


def test_leases_held_by_nodes(kubectl, nodes_up):
    doc = kubectl.ok("get", "leases", "-n", "kube-node-lease", "-o", "json").json()
    held = {l["metadata"]["name"]: l for l in doc["items"]}
    for n in NODES:
        assert held[n]["spec"]["holderIdentity"] == n
        assert held[n]["spec"]["leaseDurationSeconds"] == 40
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", held[n]["spec"]["renewTime"])
        assert held[n]["metadata"]["ownerReferences"][0]["kind"] == "Node"


def test_pod_runs_logs_and_deletes(kubectl, ns, nodes_up):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=pod_yaml("web", "sim-1"))
    kubectl.ok("wait", "-n", ns, "--for=condition=Ready", "pod/web", "--timeout=20s")
    pod = kubectl.ok("get", "pod", "web", "-n", ns, "-o", "json").json()
    st = pod["status"]
    assert st["phase"] == "Running"
    assert re.match(r"^\d+\.\d+\.\d+\.\d+$", st["podIP"]), st
    assert st["hostIP"] == "172.16.0.2"
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    for t in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"):
        assert conds[t] == "True", st["conditions"]
    cs = st["containerStatuses"][0]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert cs["containerID"].startswith("kubec-sim://")
    assert cs["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert "running" in cs["state"]

    row = kubectl.ok("get", "pod", "web", "-n", ns, "--no-headers").out.split()
    assert row[1:3] == ["1/1", "Running"], row

    assert kubectl.ok("logs", "-n", ns, "web").out == "kubec-sim: started container nginx (image nginx:1.25)\n"
    ts = kubectl.ok("logs", "-n", ns, "web", "--timestamps").out
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z kubec-sim: started container nginx", ts), ts
    assert kubectl.ok("logs", "-n", ns, "web", "--tail=0").out == ""

    r = kubectl.fail("exec", "-n", ns, "web", "--", "ls")
    assert "simulated node" in r.err, r

    t0 = time.time()
    kubectl.ok("delete", "pod", "web", "-n", ns, "--grace-period=1", timeout=20)
    assert time.time() - t0 < 10
    kubectl.fail("get", "pod", "web", "-n", ns)


def test_a_second_delete_may_only_shorten_the_grace_period(kubectl, ns, server, nodes_up):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=pod_yaml("slow", "sim-1"))
    wait_running(server, ns, "slow")
    kubectl.ok("delete", "pod", "slow", "-n", ns, "--wait=false")  # terminationGracePeriodSeconds 30
    path = "/api/v1/namespaces/%s/pods/slow" % ns
    first = server.api("GET", path)[1]["metadata"]
    assert first["deletionGracePeriodSeconds"] == 30, first
    kubectl.ok("delete", "pod", "slow", "-n", ns, "--grace-period=60", "--wait=false")  # longer: ignored
    assert server.api("GET", path)[1]["metadata"]["deletionTimestamp"] == first["deletionTimestamp"]
    t0 = time.time()
    kubectl.ok("delete", "pod", "slow", "-n", ns, "--grace-period=1", timeout=20)
    assert time.time() - t0 < 10, "the kubelet honoured the shortened period"
    assert server.api("GET", path)[0] == 404


def test_pod_on_unknown_node_is_left_alone(kubectl, ns, server, nodes_up):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=pod_yaml("stray", "not-a-sim-node"))
    kubectl.ok("apply", "-n", ns, "-f", "-", input=pod_yaml("mine", "sim-2"))
    wait_running(server, ns, "mine")
    st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/pods/stray" % ns)
    assert st == 200 and doc["status"]["phase"] == "Pending" and "hostIP" not in doc["status"], doc
    kubectl.ok("delete", "pod", "stray", "mine", "-n", ns, "--grace-period=0", "--force", timeout=20)


def test_python_client_reads_nodes_and_pods(server, ns, nodes_up, kubectl):
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=server.kubeconfig)
    try:
        v1 = client.CoreV1Api(api)
        nodes = v1.list_node().items
        assert sorted(n.metadata.name for n in nodes) == NODES
        n = v1.read_node("sim-0")
        assert n.status.node_info.kubelet_version == "v1.32.0-kubec"
        assert n.status.node_info.operating_system == "linux"
        assert n.status.daemon_endpoints.kubelet_endpoint.port == 10250
        assert {a.type for a in n.status.addresses} == {"InternalIP", "Hostname"}
        lease = client.CoordinationV1Api(api).read_namespaced_lease("sim-0", "kube-node-lease")
        assert lease.spec.holder_identity == "sim-0" and lease.spec.renew_time is not None
        kubectl.ok("apply", "-n", ns, "-f", "-", input=pod_yaml("py", "sim-0"))
        wait_running(server, ns, "py")
        p = v1.read_namespaced_pod("py", ns)
        assert p.status.phase == "Running" and p.status.container_statuses[0].ready
        assert p.status.conditions and all(c.last_transition_time for c in p.status.conditions)
    finally:
        api.close()
