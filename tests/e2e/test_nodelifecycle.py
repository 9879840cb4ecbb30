"""Node lifecycle and node IPAM through the real kubectl, against a server started with a 3 s
--node-monitor-grace-period and a 200 ms monitor period (KUBEC_NODE_MONITOR_PERIOD_MS).

Nodes here are played by the test itself: it creates the Node and its Lease in kube-node-lease
and renews the Lease as a kubelet would ("FakeKubelet"), then stops renewing to lose the node.
Pods are bound to those nodes with spec.nodeName, so no scheduler or simulated node is needed."""
import datetime
import json
import re
import threading
import time

import pytest

from conftest import wait_for

GRACE_S = 3
PERIOD_MS = 200
UNREACHABLE = "node.kubernetes.io/unreachable"


SERVER_ARGS = ["--node-monitor-grace-period", str(GRACE_S)]  # conftest's server fixture uses these
SERVER_ENV = {"KUBEC_NODE_MONITOR_PERIOD_MS": str(PERIOD_MS)}


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def now(micro=False):
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


NODE_INFO = {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "6.1.0", "osImage": "kubec",
             "containerRuntimeVersion": "sim://1.0", "kubeletVersion": "v1.32.0", "kubeProxyVersion": "v1.32.0",
             "operatingSystem": "linux", "architecture": "amd64"}


class FakeKubelet:
    """Registers a Node (Ready) with its Lease and renews the Lease every 0.5 s until paused."""

    def __init__(self, srv, name):
        self.srv, self.name = srv, name
        self.beating = threading.Event()
        self.done = threading.Event()
        t = now()
        st, doc, _ = srv.api("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"nodeInfo": NODE_INFO, "conditions": [self.ready_condition(t)]}})
        assert st == 201, doc
        st, doc, _ = srv.api("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now(True)}})
        assert st == 201, doc
        self.beating.set()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @staticmethod
    def ready_condition(t):
        return {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
                "lastHeartbeatTime": t, "lastTransitionTime": t}

    def renew(self):
        st, doc, _ = self.srv.api("PATCH", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + self.name,
                                  {"spec": {"renewTime": now(True)}}, content_type="application/merge-patch+json")
        assert st == 200, doc

    def run(self):
        while not self.done.is_set():
            if self.beating.is_set():
                try:
                    self.renew()
                except (OSError, AssertionError):
                    pass
            time.sleep(0.5)

    def pause(self):
        self.beating.clear()

    def resume(self):
        """Back from a partition: renew the Lease and post Ready again (the kubelet sees its
        Ready condition differs from what it would post, and posts its status at once)."""
        self.renew()
        st, doc, _ = self.srv.api("PATCH", "/api/v1/nodes/%s/status" % self.name,
                                  {"status": {"conditions": [self.ready_condition(now())]}},
                                  content_type="application/strategic-merge-patch+json")
        assert st == 200, doc
        self.beating.set()

    def stop(self):
        self.done.set()


@pytest.fixture
def kubelets(server):
    made = []

    def make(name):
        k = FakeKubelet(server, name)
        made.append(k)
        return k
    yield make
    for k in made:
        k.stop()


def node_json(kubectl, name):
    return kubectl.ok("get", "node", name, "-o", "json").json()


def taints(kubectl, name):
    return node_json(kubectl, name)["spec"].get("taints") or []


def has_taint(kubectl, node, key, effect):
    return any(t["key"] == key and t["effect"] == effect for t in taints(kubectl, node))


def condition(obj, type_):
    for c in obj.get("status", {}).get("conditions") or []:
        if c["type"] == type_:
            return c
    return None


def pod_manifest(name, node, tolerations=None):
    spec = {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})


def tolerate_unreachable(seconds=None):
    t = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return [t]


def pod(kubectl, ns, name):
    r = kubectl("-n", ns, "get", "pod", name, "-o", "json")
    return r.json() if r.rc == 0 else None


def evicted(kubectl, ns, name):
    p = pod(kubectl, ns, name)
    return p is None or bool(p["metadata"].get("deletionTimestamp"))


def set_pod_ready(server, ns, name):
    st, doc, _ = server.api("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name),
                            {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                            content_type="application/strategic-merge-patch+json")
    assert st == 200, doc


# ---- node lifecycle ------------------------------------------------------------------------------

def test_lost_node_goes_unknown_is_tainted_and_evicted(kubectl, ns, server, kubelets):
    k = kubelets("lost-1")
    kubectl.ok("-n", ns, "apply", "-f", "-", input=pod_manifest("plain", "lost-1"))
    kubectl.ok("-n", ns, "apply", "-f", "-", input=pod_manifest("brief", "lost-1", tolerate_unreachable(2)))
    kubectl.ok("-n", ns, "apply", "-f", "-", input=pod_manifest("forever", "lost-1", tolerate_unreachable()))
    set_pod_ready(server, ns, "forever")

    # Heartbeating for longer than the grace period: nothing happens.
    time.sleep(GRACE_S + 1)
    n = node_json(kubectl, "lost-1")
    assert condition(n, "Ready")["status"] == "True"
    assert not n["spec"].get("taints")
    out = kubectl.ok("get", "node", "lost-1").out
    assert re.search(r"^lost-1\s+Ready\s", out, re.M), out

    k.pause()
    t_lost = time.time()
    wait_for(lambda: condition(node_json(kubectl, "lost-1"), "Ready")["status"] == "Unknown", timeout=GRACE_S + 6,
             interval=0.1, what="Ready=Unknown")
    took = time.time() - t_lost
    assert took >= GRACE_S - 0.6, "marked Unknown after %.1fs, before the %ds grace period" % (took, GRACE_S)
    n = node_json(kubectl, "lost-1")
    ready = condition(n, "Ready")
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    for t in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        assert condition(n, t)["status"] == "Unknown", t
    out = kubectl.ok("get", "node", "lost-1").out
    assert re.search(r"^lost-1\s+NotReady\s", out, re.M), out

    wait_for(lambda: has_taint(kubectl, "lost-1", UNREACHABLE, "NoExecute"), timeout=5, what="unreachable:NoExecute")
    ts = {(t["key"], t["effect"]): t for t in taints(kubectl, "lost-1")}
    assert (UNREACHABLE, "NoSchedule") in ts
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ts[(UNREACHABLE, "NoExecute")]["timeAdded"])
    t_taint = time.time()

    # tolerationSeconds 2: evicted 2 s after the taint's timeAdded (counted from the end of its
    # second), as the DisruptionTarget condition's time shows.
    wait_for(lambda: evicted(kubectl, ns, "brief"), timeout=8, interval=0.1, what="pod brief evicted")
    assert time.time() - t_taint < 6
    p = pod(kubectl, ns, "brief")
    if p is not None:  # still Terminating (no kubelet confirms it)
        dt = condition(p, "DisruptionTarget")
        assert dt and dt["status"] == "True" and dt["reason"] == "DeletionByTaintManager", p["status"]
        gap = parse_time(dt["lastTransitionTime"]) - parse_time(ts[(UNREACHABLE, "NoExecute")]["timeAdded"])
        assert 2 <= gap <= 4, "evicted %ds after timeAdded, toleration 2 s" % gap

    # Tolerated forever: stays, but is no longer Ready.
    wait_for(lambda: condition(pod(kubectl, ns, "forever"), "Ready")["status"] == "False", timeout=5,
             what="pod forever Ready=False")
    assert not evicted(kubectl, ns, "forever")

    # No tolerations of its own: admission may have given it the default 300 s ones.
    plain = pod(kubectl, ns, "plain")
    defaulted = any(t.get("key") == UNREACHABLE and t.get("tolerationSeconds") == 300
                    for t in plain["spec"].get("tolerations") or [])
    if defaulted:
        assert not evicted(kubectl, ns, "plain"), "a 300 s default toleration must hold"
    else:
        assert evicted(kubectl, ns, "plain"), "no toleration: evicted at once"

    ev = kubectl.ok("-n", ns, "get", "events", "-o", "json").json()["items"]
    reasons = {(e["reason"], e["involvedObject"]["name"]) for e in ev}
    assert ("TaintManagerEviction", "brief") in reasons, reasons
    node_ev = kubectl.ok("get", "events", "-A", "--field-selector", "involvedObject.name=lost-1", "-o", "json").json()
    assert any(e["reason"] == "NodeNotReady" for e in node_ev["items"]), node_ev["items"]

    # The kubelet comes back: taints go.
    k.resume()
    wait_for(lambda: not any(t["key"] == UNREACHABLE for t in taints(kubectl, "lost-1")), timeout=5,
             what="unreachable taints removed")
    assert condition(node_json(kubectl, "lost-1"), "Ready")["status"] == "True"
    assert not evicted(kubectl, ns, "forever")
    time.sleep(GRACE_S + 1)  # heartbeating again: stays healthy
    assert condition(node_json(kubectl, "lost-1"), "Ready")["status"] == "True"
    assert not taints(kubectl, "lost-1")


def test_not_ready_node_gets_not_ready_taints(kubectl, server, kubelets):
    kubelets("sick-1")
    st, doc, _ = server.api("PATCH", "/api/v1/nodes/sick-1/status", {"status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "runtime down",
         "lastHeartbeatTime": now(), "lastTransitionTime": now()},
        {"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory", "message": "low",
         "lastHeartbeatTime": now(), "lastTransitionTime": now()}]}},
        content_type="application/strategic-merge-patch+json")
    assert st == 200, doc
    want = {("node.kubernetes.io/not-ready", "NoSchedule"), ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule")}
    wait_for(lambda: {(t["key"], t["effect"]) for t in taints(kubectl, "sick-1")} == want, timeout=5,
             what="not-ready and memory-pressure taints")
    st, doc, _ = server.api("PATCH", "/api/v1/nodes/sick-1/status", {"status": {"conditions": [
        FakeKubelet.ready_condition(now()),
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "ok",
         "lastHeartbeatTime": now(), "lastTransitionTime": now()}]}},
        content_type="application/strategic-merge-patch+json")
    assert st == 200, doc
    wait_for(lambda: not taints(kubectl, "sick-1"), timeout=5, what="taints cleared")


def test_cordon_and_noexecute_taint(kubectl, ns, kubelets):
    kubelets("work-1")
    kubectl.ok("-n", ns, "apply", "-f", "-", input=pod_manifest("victim", "work-1"))
    kubectl.ok("-n", ns, "apply", "-f", "-", input=pod_manifest(
        "survivor", "work-1", [{"key": "maint", "operator": "Equal", "value": "now", "effect": "NoExecute"}]))

    assert kubectl.ok("cordon", "work-1").out.strip() == "node/work-1 cordoned"
    wait_for(lambda: has_taint(kubectl, "work-1", "node.kubernetes.io/unschedulable", "NoSchedule"), timeout=5,
             what="unschedulable taint")
    out = kubectl.ok("get", "node", "work-1").out
    assert "Ready,SchedulingDisabled" in out, out
    assert kubectl.ok("uncordon", "work-1").out.strip() == "node/work-1 uncordoned"
    wait_for(lambda: not has_taint(kubectl, "work-1", "node.kubernetes.io/unschedulable", "NoSchedule"), timeout=5,
             what="unschedulable taint removed")

    kubectl.ok("taint", "node", "work-1", "maint=now:NoExecute")
    wait_for(lambda: evicted(kubectl, ns, "victim"), timeout=5, what="untolerating pod evicted at once")
    time.sleep(1)
    assert not evicted(kubectl, ns, "survivor")
    assert has_taint(kubectl, "work-1", "maint", "NoExecute"), "the controller keeps taints it does not own"
    kubectl.ok("taint", "node", "work-1", "maint=now:NoExecute-")


# ---- node IPAM -------------------------------------------------------------------------------------

def pod_cidr(kubectl, name):
    spec = node_json(kubectl, name)["spec"]
    c = spec.get("podCIDR")
    if c:
        assert spec.get("podCIDRs") == [c], spec
    return c


def test_nodes_get_pod_cidrs_and_reuse_them(kubectl, kubelets):
    names = ["ipam-%d" % i for i in range(3)]
    for n in names:
        kubelets(n)
    cidrs = {n: wait_for(lambda n=n: pod_cidr(kubectl, n), timeout=5, what="podCIDR of " + n) for n in names}
    for c in cidrs.values():
        assert re.fullmatch(r"10\.244\.\d{1,3}\.0/24", c), c
    assert len(set(cidrs.values())) == 3, cidrs
    out = kubectl.ok("get", "nodes", "-o", "custom-columns=NAME:.metadata.name,CIDR:.spec.podCIDR").out
    for n in names:
        assert re.search(r"^%s\s+%s$" % (n, re.escape(cidrs[n])), out, re.M), out

    freed = cidrs["ipam-1"]
    kubectl.ok("delete", "node", "ipam-1")
    time.sleep(0.5)
    kubelets("ipam-new")
    got = wait_for(lambda: pod_cidr(kubectl, "ipam-new"), timeout=5, what="podCIDR of ipam-new")
    assert got == freed, "the deleted node's CIDR %s should be reused, got %s" % (freed, got)


def test_cidr_survives_restart(server, kubectl, kubelets):
    kubelets("keep-1")
    before = wait_for(lambda: pod_cidr(kubectl, "keep-1"), timeout=5, what="podCIDR of keep-1")
    all_before = {i["metadata"]["name"]: i["spec"].get("podCIDR")
                  for i in kubectl.ok("get", "nodes", "-o", "json").json()["items"]}
    assert server.stop() == 0
    server.start()
    kubelets("keep-2")
    after = wait_for(lambda: pod_cidr(kubectl, "keep-2"), timeout=5, what="podCIDR of keep-2")
    assert pod_cidr(kubectl, "keep-1") == before
    assert after not in all_before.values(), "a restarted allocator handed out %s again: %s" % (after, all_before)
