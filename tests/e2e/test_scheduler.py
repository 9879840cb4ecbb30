"""The scheduler, black-box: `kubec server --sim-nodes 3` with three nodes, pods created with the real
kubectl. Covers spreading, nodeSelector, required node affinity (expressions and fields), taints and
tolerations, requests that fit nowhere (PodScheduled=False, FailedScheduling event, retried when a
node is added), hostPort conflicts (retried when a pod is deleted), pod anti-affinity by hostname,
cordoned nodes, other schedulers and scheduling gates. Pods are only required to be bound, not
Running. If the simulated nodes do not register, the fixture creates the three Node objects."""
import json
import time

import pytest

from conftest import make_namespace, wait_for

NODES = ["sim-0", "sim-1", "sim-2"]
NO_VICTIMS = "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
NOT_HELPFUL = "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."


SERVER_ARGS = ["--sim-nodes", "3"]  # the shared server fixture (conftest) starts it with these


def node_names(srv):
    st, doc, _ = srv.api("GET", "/api/v1/nodes")
    assert st == 200, doc
    return sorted(n["metadata"]["name"] for n in doc["items"])


def fake_node(name, cpu="32"):
    alloc = {"cpu": cpu, "memory": "256Gi", "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "status": {"capacity": alloc, "allocatable": alloc,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


@pytest.fixture(scope="module", autouse=True)
def nodes_up(server):
    wait_for(lambda: node_names(server) == NODES, timeout=10, what="3 simulated nodes")


@pytest.fixture
def ns(server):
    """A namespace whose pods are force-deleted afterwards, so that nodes are empty for the next test."""
    name = make_namespace(server, "sched")
    yield name
    st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/pods" % name)
    for p in (doc or {}).get("items", []):
        server.api("DELETE", "/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=0" % (name, p["metadata"]["name"]))
    wait_for(lambda: not server.api("GET", "/api/v1/namespaces/%s/pods" % name)[1]["items"], timeout=15,
             what="pods of %s gone" % name)
    server.api("DELETE", "/api/v1/namespaces/" + name)


def pod(name, labels=None, **spec):
    s = {"containers": [{"name": "c", "image": "nginx:1.25"}]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": name}}, "spec": s}


def create(kubectl, ns, *objs):
    kubectl.ok("create", "-n", ns, "-f", "-", input="\n".join(json.dumps(o) for o in objs))


def get_pod(server, ns, name):
    st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/pods/%s" % (ns, name))
    assert st == 200, doc
    return doc


def wait_bound(server, ns, name, timeout=10):
    return wait_for(lambda: get_pod(server, ns, name)["spec"].get("nodeName"), timeout=timeout,
                    what="pod %s bound" % name)


def scheduled_condition(p):
    for c in p.get("status", {}).get("conditions", []):
        if c["type"] == "PodScheduled":
            return c
    return None


def wait_unschedulable(server, ns, name, timeout=10):
    def cond():
        c = scheduled_condition(get_pod(server, ns, name))
        return c if c and c["status"] == "False" else None
    c = wait_for(cond, timeout=timeout, what="pod %s unschedulable" % name)
    assert c["reason"] == "Unschedulable", c
    assert not get_pod(server, ns, name)["spec"].get("nodeName")
    return c["message"]


def events_for(server, ns, name):
    st, doc, _ = server.api("GET", "/api/v1/namespaces/%s/events" % ns)
    assert st == 200, doc
    return [e for e in doc["items"] if e["involvedObject"]["name"] == name]


def test_pods_spread_over_nodes_with_events(server, kubectl, ns):
    # pods selected by a Service get the default topology spreading (hostname, maxSkew 3)
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    st, doc, _ = server.api("POST", "/api/v1/namespaces/%s/services" % ns, svc)
    assert st == 201, doc
    time.sleep(0.5)  # the scheduler sees Services through an informer
    create(kubectl, ns, *[pod("web-%d" % i, {"app": "web"}) for i in range(6)])
    placed = [wait_bound(server, ns, "web-%d" % i) for i in range(6)]
    assert sorted(set(placed)) == NODES, placed
    assert max(placed.count(n) for n in NODES) == 2, placed
    cond = scheduled_condition(get_pod(server, ns, "web-0"))
    assert cond and cond["status"] == "True", cond
    ev = wait_for(lambda: [e for e in events_for(server, ns, "web-0") if e["reason"] == "Scheduled"], timeout=5,
                  what="Scheduled event")
    assert ev[0]["message"] == "Successfully assigned %s/web-0 to %s" % (ns, placed[0]), ev
    assert ev[0]["type"] == "Normal"
    assert ev[0]["source"]["component"] == "default-scheduler", ev
    out = kubectl.ok("get", "pods", "-n", ns, "-o", "wide").out
    assert placed[0] in out


def test_node_selector(server, kubectl, ns):
    kubectl.ok("label", "node", "sim-1", "disktype=ssd")
    try:
        create(kubectl, ns, pod("ssd", nodeSelector={"disktype": "ssd"}),
               pod("nvme", nodeSelector={"disktype": "nvme"}))
        assert wait_bound(server, ns, "ssd") == "sim-1"
        msg = wait_unschedulable(server, ns, "nvme")
        assert msg == "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. " + NOT_HELPFUL
        # labelling a node is a cluster change: the pending pod is retried and lands there
        kubectl.ok("label", "node", "sim-2", "disktype=nvme")
        assert wait_bound(server, ns, "nvme", timeout=15) == "sim-2"
    finally:
        kubectl("label", "node", "sim-1", "disktype-")
        kubectl("label", "node", "sim-2", "disktype-")


def required(terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def test_required_node_affinity(server, kubectl, ns):
    host = "kubernetes.io/hostname"
    create(kubectl, ns,
           pod("in", affinity=required([{"matchExpressions": [{"key": host, "operator": "In", "values": ["sim-2"]}]}])),
           pod("notin", affinity=required([{"matchExpressions": [
               {"key": host, "operator": "NotIn", "values": ["sim-0", "sim-1"]}]}])),
           pod("field", affinity=required([{"matchFields": [
               {"key": "metadata.name", "operator": "In", "values": ["sim-0"]}]}])),
           pod("ored", affinity=required([
               {"matchExpressions": [{"key": "no-such-label", "operator": "Exists"}]},
               {"matchExpressions": [{"key": host, "operator": "In", "values": ["sim-1"]}]}])),
           pod("none", affinity=required([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]}])))
    assert wait_bound(server, ns, "in") == "sim-2"
    assert wait_bound(server, ns, "notin") == "sim-2"
    assert wait_bound(server, ns, "field") == "sim-0"
    assert wait_bound(server, ns, "ored") == "sim-1"
    assert wait_unschedulable(server, ns, "none").startswith(
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")


def test_taints_and_tolerations(server, kubectl, ns):
    kubectl.ok("taint", "node", "sim-0", "dedicated=db:NoSchedule")
    kubectl.ok("taint", "node", "sim-1", "dedicated=db:NoSchedule")
    try:
        create(kubectl, ns, *[pod("plain-%d" % i, {"app": "plain"}) for i in range(3)])
        for i in range(3):
            assert wait_bound(server, ns, "plain-%d" % i) == "sim-2"
        tol = [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]
        create(kubectl, ns, pod("db", tolerations=tol, nodeSelector={"kubernetes.io/hostname": "sim-0"}),
               pod("wrong", tolerations=[{"key": "dedicated", "value": "web", "effect": "NoSchedule"}],
                   nodeSelector={"kubernetes.io/hostname": "sim-1"}))
        assert wait_bound(server, ns, "db") == "sim-0"
        msg = wait_unschedulable(server, ns, "wrong")
        assert msg == ("0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                       "2 node(s) had untolerated taint(s). " + NOT_HELPFUL), msg
    finally:
        kubectl("taint", "node", "sim-0", "dedicated-")
        kubectl("taint", "node", "sim-1", "dedicated-")


def test_requests_that_fit_nowhere(server, kubectl, ns):
    big = pod("big", containers=[{"name": "c", "image": "nginx:1.25", "resources": {"requests": {"cpu": "1000"}}}])
    create(kubectl, ns, big)
    want = "0/3 nodes are available: 3 Insufficient cpu. " + NO_VICTIMS
    assert wait_unschedulable(server, ns, "big") == want
    ev = wait_for(lambda: [e for e in events_for(server, ns, "big") if e["reason"] == "FailedScheduling"], timeout=5,
                  what="FailedScheduling event")
    assert ev[0]["type"] == "Warning" and ev[0]["message"] == want, ev
    out = kubectl.ok("describe", "pod", "-n", ns, "big").out
    assert "FailedScheduling" in out and "3 Insufficient cpu" in out, out
    assert "Status:" in out and "Pending" in out
    # a node big enough joins: the pod is retried and bound to it
    st, doc, _ = server.api("POST", "/api/v1/nodes", fake_node("huge", cpu="2000"))
    assert st == 201, doc
    try:
        assert wait_bound(server, ns, "big", timeout=15) == "huge"
        cond = scheduled_condition(get_pod(server, ns, "big"))
        assert cond["status"] == "True", cond
    finally:
        server.api("DELETE", "/api/v1/namespaces/%s/pods/big?gracePeriodSeconds=0" % ns)
        wait_for(lambda: server.api("GET", "/api/v1/namespaces/%s/pods/big" % ns)[0] == 404, timeout=10,
                 what="pod big deleted")
        server.api("DELETE", "/api/v1/nodes/huge")


def test_host_port_conflicts(server, kubectl, ns):
    def hp(name):
        return pod(name, {"app": "hp"}, containers=[{"name": "c", "image": "nginx:1.25",
                                                     "ports": [{"containerPort": 80, "hostPort": 8080}]}])
    create(kubectl, ns, *[hp("hp-%d" % i) for i in range(3)])
    placed = [wait_bound(server, ns, "hp-%d" % i) for i in range(3)]
    assert sorted(placed) == NODES, placed
    create(kubectl, ns, hp("hp-3"))
    assert wait_unschedulable(server, ns, "hp-3") == (
        "0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports. " + NO_VICTIMS)
    # another protocol on the same port is no conflict
    udp = pod("udp", containers=[{"name": "c", "image": "nginx:1.25",
                                  "ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}]}])
    create(kubectl, ns, udp)
    wait_bound(server, ns, "udp")
    # deleting a pod frees its port: the pending one is retried there
    kubectl.ok("delete", "pod", "-n", ns, "hp-1", "--grace-period=0", "--force")
    assert wait_bound(server, ns, "hp-3", timeout=20) == placed[1]


def test_pod_anti_affinity_by_hostname(server, kubectl, ns):
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "spread"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    create(kubectl, ns, *[pod("s-%d" % i, {"app": "spread"}, affinity=anti) for i in range(3)])
    placed = sorted(wait_bound(server, ns, "s-%d" % i) for i in range(3))
    assert placed == NODES, placed
    create(kubectl, ns, pod("s-3", {"app": "spread"}, affinity=anti))
    assert wait_unschedulable(server, ns, "s-3") == (
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. " + NO_VICTIMS)
    # a pod without terms but matching theirs is kept away by the existing pods' anti-affinity
    create(kubectl, ns, pod("intruder", {"app": "spread"}))
    assert wait_unschedulable(server, ns, "intruder").startswith(
        "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules.")
    # pod affinity: co-located with s-0
    aff = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "spread"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    create(kubectl, ns, pod("friend", {"app": "friend"}, affinity=aff))
    assert wait_bound(server, ns, "friend") in NODES


def test_cordoned_node_is_skipped(server, kubectl, ns):
    kubectl.ok("cordon", "sim-0")
    try:
        create(kubectl, ns, *[pod("c-%d" % i, {"app": "c"}) for i in range(4)])
        placed = [wait_bound(server, ns, "c-%d" % i) for i in range(4)]
        assert "sim-0" not in placed and sorted(set(placed)) == ["sim-1", "sim-2"], placed
        create(kubectl, ns, pod("pinned", nodeSelector={"kubernetes.io/hostname": "sim-0"}))
        assert wait_unschedulable(server, ns, "pinned") == (
            "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node "
            "affinity/selector. " + NOT_HELPFUL)
        kubectl.ok("uncordon", "sim-0")
        assert wait_bound(server, ns, "pinned", timeout=15) == "sim-0"
    finally:
        kubectl("uncordon", "sim-0")


def test_other_scheduler_and_gates_are_left_alone(server, kubectl, ns):
    create(kubectl, ns, pod("other", schedulerName="my-scheduler"),
           pod("gated", schedulingGates=[{"name": "example.com/wait"}]))
    time.sleep(1.5)
    for name in ("other", "gated"):
        p = get_pod(server, ns, name)
        assert not p["spec"].get("nodeName"), p
        assert scheduled_condition(p) is None or scheduled_condition(p)["status"] != "False", p
    # removing the gate lets it be scheduled
    st, doc, _ = server.api("PATCH", "/api/v1/namespaces/%s/pods/gated" % ns, {"spec": {"schedulingGates": None}},
                            content_type="application/merge-patch+json")
    assert st == 200, doc
    assert wait_bound(server, ns, "gated") in NODES
    assert not get_pod(server, ns, "other")["spec"].get("nodeName")


def test_preemption_of_lower_priority_pods(server, kubectl, ns):
    # the Priority admission computes spec.priority from a PriorityClass (a bare priority is forbidden)
    for prio in (1, 500, 1000):
        kubectl("create", "priorityclass", "prio-%d" % prio, "--value=%d" % prio)
    kubectl("create", "priorityclass", "prio-1000-never", "--value=1000", "--preemption-policy=Never")
    def big(name, cpu, prio, **spec):
        return pod(name, {"app": name}, priorityClassName="prio-%s" % prio, terminationGracePeriodSeconds=0,
                   nodeSelector={"kubernetes.io/hostname": "sim-0"},
                   containers=[{"name": "c", "image": "nginx:1.25", "resources": {"requests": {"cpu": cpu}}}], **spec)
    create(kubectl, ns, big("victim", "30", 1), big("keeper", "1", 500))
    assert wait_bound(server, ns, "victim") == "sim-0"
    assert wait_bound(server, ns, "keeper") == "sim-0"
    # a pod that may not preempt stays pending and says so
    create(kubectl, ns, big("polite", "10", "1000-never"))
    assert wait_unschedulable(server, ns, "polite") == (
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: not eligible due to preemptionPolicy=Never.")
    kubectl.ok("delete", "pod", "-n", ns, "polite", "--grace-period=0", "--force")
    # the higher-priority pod evicts the lower one (not the priority-500 one) and takes its place
    create(kubectl, ns, big("vip", "10", 1000))
    assert wait_bound(server, ns, "vip", timeout=20) == "sim-0"
    assert server.api("GET", "/api/v1/namespaces/%s/pods/victim" % ns)[0] == 404
    assert get_pod(server, ns, "keeper")["spec"]["nodeName"] == "sim-0"
    ev = [e for e in events_for(server, ns, "victim") if e["reason"] == "Preempted"]
    assert ev and ev[0]["message"].startswith("Preempted by pod ") and ev[0]["message"].endswith(" on node sim-0"), ev
    assert get_pod(server, ns, "vip")["status"].get("nominatedNodeName") in (None, "sim-0")
