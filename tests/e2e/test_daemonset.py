"""DaemonSets end to end (semantics 4, acceptance A1-A6) and PriorityClasses through the real kubectl,
against `kubec server --sim-nodes 3`: the DaemonSet controller, the scheduler (which binds the pinned
daemon pods and preempts for critical ones), the node lifecycle controller and simulated nodes together.
A fourth node joins through a second `kubec sim` process, which is then killed (unreachable) and its
node deleted. During the rolling update a thread follows a real watch stream of the pods and checks
maxUnavailable on every state it sees."""
import http.client
import json
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import KUBEC_BIN, make_namespace, wait_for

GRACE_S = 15  # node monitor grace period: above kubec sim's 10 s lease period
POD_RE = r"^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$"
HASH_RE = r"^[4-9bcdf]{1,10}$"
AUTO_TOLERATIONS = {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                    ("node.kubernetes.io/unschedulable", "NoSchedule")}
NODES = ["sim-0", "sim-1", "sim-2"]


SERVER_ARGS = ["--sim-nodes", "3", "--node-monitor-grace-period", str(GRACE_S)]  # conftest's server
SERVER_ENV = {"KUBEC_NODE_MONITOR_PERIOD_MS": "500"}


@pytest.fixture
def ns(server):
    name = make_namespace(server, "ds")
    yield name
    server.api("DELETE", "/api/v1/namespaces/" + name)


def daemonset(name="agent", image="busybox:1", pod_spec=None, **spec):
    ps = {"terminationGracePeriodSeconds": 1, "containers": [{"name": "c", "image": image}]}
    ps.update(pod_spec or {})
    d = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
         "spec": {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}}, "spec": ps}}}
    d["spec"].update(spec)
    return d


def apply(kubectl, ns, doc):
    kubectl.ok("apply", "-n", ns, "-f", "-", input=json.dumps(doc))


def get(server, path):
    st, doc, _ = server.api("GET", path)
    return doc if st == 200 else None


def ds(server, ns, name="agent"):
    return get(server, "/apis/apps/v1/namespaces/%s/daemonsets/%s" % (ns, name))


def pods(server, ns, live=True):
    items = get(server, "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dagent" % ns)["items"]
    return [p for p in items if not (live and p["metadata"].get("deletionTimestamp"))]


def by_node(server, ns):
    return {p["spec"].get("nodeName"): p for p in pods(server, ns)}


def ready(p):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))


def status_is(server, ns, **want):
    st = (ds(server, ns) or {}).get("status", {})
    return all(st.get(k, 0) == v for k, v in want.items())


def running_on(server, ns, nodes):
    got = by_node(server, ns)
    return set(got) == set(nodes) and all(ready(p) for p in got.values())


def node(server, name):
    return get(server, "/api/v1/nodes/" + name)


def test_one_pod_per_node_pinned_with_tolerations(server, kubectl, ns):
    apply(kubectl, ns, daemonset())
    wait_for(lambda: running_on(server, ns, NODES), timeout=20, what="a Ready pod on each node")
    for name, p in by_node(server, ns).items():
        assert re.match(POD_RE, p["metadata"]["name"]), p["metadata"]["name"]
        terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms["nodeSelectorTerms"] == [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}]
        tols = {(t["key"], t["effect"]) for t in p["spec"]["tolerations"]}
        assert tols == AUTO_TOLERATIONS, tols
        assert all(t["operator"] == "Exists" and "tolerationSeconds" not in t for t in p["spec"]["tolerations"])
        labels = p["metadata"]["labels"]
        assert re.match(HASH_RE, labels["controller-revision-hash"]) and labels["pod-template-generation"] == "1"
        ref = p["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("DaemonSet", "agent", True)
    wait_for(lambda: status_is(server, ns, desiredNumberScheduled=3, currentNumberScheduled=3, numberReady=3,
                               updatedNumberScheduled=3, numberAvailable=3, numberMisscheduled=0),
             timeout=10, what="status 3/3/3/3/3")
    assert ds(server, ns)["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "1"
    out = kubectl.ok("get", "ds", "agent", "-n", ns).out.split("\n")[1].split()
    assert out[:6] == ["agent", "3", "3", "3", "3", "3"], out
    revs = get(server, "/apis/apps/v1/namespaces/%s/controllerrevisions" % ns)["items"]
    assert len(revs) == 1 and revs[0]["revision"] == 1
    assert revs[0]["metadata"]["labels"]["controller-revision-hash"] == labels["controller-revision-hash"]
    assert revs[0]["metadata"]["name"] == "agent-" + labels["controller-revision-hash"]
    assert revs[0]["data"]["spec"]["template"]["$patch"] == "replace"
    # hostNetwork pods also tolerate network-unavailable
    apply(kubectl, ns, daemonset("hostnet", pod_spec={"hostNetwork": True}))
    def hostnet_tolerations():
        ps = get(server, "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dhostnet" % ns)["items"]
        return ps and {(t["key"], t["effect"]) for t in ps[0]["spec"]["tolerations"]}
    tols = wait_for(hostnet_tolerations, timeout=10, what="a hostNetwork daemon pod")
    assert tols == AUTO_TOLERATIONS | {("node.kubernetes.io/network-unavailable", "NoSchedule")}


def test_node_join_unreachable_and_delete(server, kubectl, ns, tmp_path):
    apply(kubectl, ns, daemonset())
    wait_for(lambda: running_on(server, ns, NODES), timeout=20, what="a pod on each node")
    log = open(tmp_path / "sim.log", "wb")
    sim = subprocess.Popen([KUBEC_BIN, "sim", "--kubeconfig", server.kubeconfig, "--nodes", "1", "--name-prefix",
                            "ext"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: running_on(server, ns, NODES + ["ext-0"]), timeout=30, what="a pod on the joined ext-0")
        wait_for(lambda: status_is(server, ns, desiredNumberScheduled=4, numberReady=4), timeout=10,
                 what="desired 4")
        ext_pod = by_node(server, ns)["ext-0"]["metadata"]["uid"]
    finally:
        sim.send_signal(signal.SIGKILL)
        sim.wait()
    def unreachable():
        taints = (node(server, "ext-0") or {}).get("spec", {}).get("taints", [])
        return ("node.kubernetes.io/unreachable", "NoSchedule") in {(t["key"], t["effect"]) for t in taints}
    wait_for(unreachable, timeout=GRACE_S + 20, what="ext-0 tainted unreachable")
    # the daemon pod tolerates unreachable:NoExecute forever: it stays; no new pod is due there
    wait_for(lambda: status_is(server, ns, desiredNumberScheduled=3, numberMisscheduled=1), timeout=10,
             what="desired 3 with the unreachable node misscheduled")
    time.sleep(2)
    assert by_node(server, ns)["ext-0"]["metadata"]["uid"] == ext_pod
    kubectl.ok("delete", "node", "ext-0")
    wait_for(lambda: "ext-0" not in {p["spec"].get("nodeName") for p in pods(server, ns, live=False)}, timeout=15,
             what="the deleted node's pod to be gone")
    wait_for(lambda: status_is(server, ns, desiredNumberScheduled=3, currentNumberScheduled=3,
                               numberMisscheduled=0), timeout=10, what="desired 3")


def test_noexecute_taint_evicts_and_toleration_brings_back(server, kubectl, ns):
    apply(kubectl, ns, daemonset())
    wait_for(lambda: running_on(server, ns, NODES), timeout=20, what="a pod on each node")
    try:
        kubectl.ok("taint", "node", "sim-0", "dedicated=infra:NoSchedule")
        wait_for(lambda: status_is(server, ns, desiredNumberScheduled=2, numberMisscheduled=1), timeout=10,
                 what="NoSchedule: desired 2, misscheduled 1")
        assert "sim-0" in by_node(server, ns), "a NoSchedule taint must not evict"
        kubectl.ok("taint", "node", "sim-0", "dedicated=infra:NoSchedule-")
        kubectl.ok("taint", "node", "sim-0", "dedicated=infra:NoExecute")
        wait_for(lambda: set(by_node(server, ns)) == {"sim-1", "sim-2"}, timeout=15, what="sim-0's pod evicted")
        time.sleep(2)  # and it stays away
        assert set(by_node(server, ns)) == {"sim-1", "sim-2"}
        assert status_is(server, ns, desiredNumberScheduled=2, numberMisscheduled=0)
        tol = {"spec": {"template": {"spec": {"tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoExecute"}]}}}}
        kubectl.ok("patch", "ds", "agent", "-n", ns, "-p", json.dumps(tol))
        wait_for(lambda: running_on(server, ns, NODES), timeout=30, what="the toleration to bring sim-0 back")
        wait_for(lambda: status_is(server, ns, desiredNumberScheduled=3, updatedNumberScheduled=3), timeout=30,
                 what="all pods on the new template")
    finally:
        kubectl("taint", "node", "sim-0", "dedicated-")


def test_cordoned_node_still_runs_daemon_pods(server, kubectl, ns):
    kubectl.ok("cordon", "sim-1")
    try:
        apply(kubectl, ns, daemonset())
        wait_for(lambda: running_on(server, ns, NODES), timeout=20, what="a pod on each node, sim-1 cordoned")
    finally:
        kubectl.ok("uncordon", "sim-1")


def test_node_selector_narrows_and_labels_move_pods(server, kubectl, ns):
    try:
        kubectl.ok("label", "node", "sim-1", "disk=ssd")
        apply(kubectl, ns, daemonset(pod_spec={"nodeSelector": {"disk": "ssd"}}))
        wait_for(lambda: running_on(server, ns, ["sim-1"]), timeout=20, what="one pod, on sim-1")
        kubectl.ok("label", "node", "sim-2", "disk=ssd")
        wait_for(lambda: running_on(server, ns, ["sim-1", "sim-2"]), timeout=20, what="a pod on labelled sim-2")
        kubectl.ok("label", "node", "sim-1", "disk-")
        wait_for(lambda: set(by_node(server, ns)) == {"sim-2"}, timeout=20, what="sim-1's pod removed")
        wait_for(lambda: status_is(server, ns, desiredNumberScheduled=1, numberMisscheduled=0), timeout=10,
                 what="desired 1")
    finally:
        kubectl("label", "node", "sim-1", "disk-")
        kubectl("label", "node", "sim-2", "disk-")


class PodWatch:
    """Follows GET pods?watch=1 from a list's resourceVersion and keeps the live state; check(state) is
    called after every event and its failures collected."""

    def __init__(self, server, ns, check):
        self.server, self.ns, self.check = server, ns, check
        self.state, self.errors, self.events = {}, [], 0
        self.stop = False

    def __enter__(self):
        doc = get(self.server, "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dagent" % self.ns)
        self.state = {p["metadata"]["name"]: p for p in doc["items"]}
        self.rv = doc["metadata"]["resourceVersion"]
        self.conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=120)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        try:
            self.conn.sock.shutdown(2)
        except (AttributeError, OSError):
            pass
        self.thread.join(5)

    def run(self):
        try:
            # the watch replays everything after the list's resourceVersion: no event is missed
            self.conn.request("GET", "/api/v1/namespaces/%s/pods?watch=1&labelSelector=app%%3Dagent&resourceVersion=%s"
                              % (self.ns, self.rv))
            resp = self.conn.getresponse()
            if resp.status != 200:
                self.errors.append("watch answered %d" % resp.status)
                return
            for line in resp:
                if self.stop:
                    return
                ev = json.loads(line)
                name = ev["object"]["metadata"]["name"]
                if ev["type"] == "DELETED":
                    self.state.pop(name, None)
                elif ev["type"] in ("ADDED", "MODIFIED"):
                    self.state[name] = ev["object"]
                self.events += 1
                err = self.check(self.state)
                if err:
                    self.errors.append(err)
        except (OSError, ValueError):
            pass


def available_nodes(state):
    return {p["spec"].get("nodeName") for p in state.values()
            if ready(p) and not p["metadata"].get("deletionTimestamp")}


def test_rolling_update_respects_max_unavailable_and_undo(server, kubectl, ns):
    apply(kubectl, ns, daemonset())
    wait_for(lambda: running_on(server, ns, NODES), timeout=20, what="a pod on each node")
    wait_for(lambda: status_is(server, ns, numberAvailable=3), timeout=10, what="3 available")
    def check(state):  # maxUnavailable 1 of 3: at least 2 nodes keep an available pod
        up = available_nodes(state)
        return None if len(up) >= 2 else "only %s available" % sorted(up)
    with PodWatch(server, ns, check) as w:
        kubectl.ok("set", "image", "ds/agent", "c=busybox:2", "-n", ns)
        out = kubectl.ok("rollout", "status", "ds/agent", "-n", ns, "--timeout=90s", timeout=100).out
        assert 'daemon set "agent" successfully rolled out' in out, out
    assert w.events > 6 and not w.errors, w.errors[:3]
    assert {p["spec"]["containers"][0]["image"] for p in pods(server, ns)} == {"busybox:2"}
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in pods(server, ns)} == {"2"}
    assert ds(server, ns)["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
    revs = get(server, "/apis/apps/v1/namespaces/%s/controllerrevisions" % ns)["items"]
    assert sorted(r["revision"] for r in revs) == [1, 2]
    hist = kubectl.ok("rollout", "history", "ds/agent", "-n", ns).out
    assert re.search(r"^1\s", hist, re.M) and re.search(r"^2\s", hist, re.M), hist
    assert "busybox:1" in kubectl.ok("rollout", "history", "ds/agent", "-n", ns, "--revision=1").out
    with PodWatch(server, ns, check) as w:
        assert "rolled back" in kubectl.ok("rollout", "undo", "ds/agent", "-n", ns).out
        kubectl.ok("rollout", "status", "ds/agent", "-n", ns, "--timeout=90s", timeout=100)
    assert not w.errors, w.errors[:3]
    assert {p["spec"]["containers"][0]["image"] for p in pods(server, ns)} == {"busybox:1"}
    revs = get(server, "/apis/apps/v1/namespaces/%s/controllerrevisions" % ns)["items"]
    assert sorted(r["revision"] for r in revs) == [2, 3]  # the old revision renumbered, none added
    assert kubectl.ok("get", "ds", "agent", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"
                      ).out == "busybox:1"
    kubectl.ok("rollout", "restart", "ds/agent", "-n", ns)
    kubectl.ok("rollout", "status", "ds/agent", "-n", ns, "--timeout=90s", timeout=100)
    assert all("kubectl.kubernetes.io/restartedAt" in p["metadata"].get("annotations", {}) for p in pods(server, ns))


def test_max_surge_never_leaves_a_node_without_a_pod(server, kubectl, ns):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    apply(kubectl, ns, daemonset(updateStrategy=strategy))
    wait_for(lambda: running_on(server, ns, NODES) and status_is(server, ns, numberAvailable=3), timeout=20,
             what="a pod on each node")
    seen_two = []
    def check(state):
        up = available_nodes(state)
        per_node = {}
        for p in state.values():
            if not p["metadata"].get("deletionTimestamp"):
                per_node[p["spec"].get("nodeName")] = per_node.get(p["spec"].get("nodeName"), 0) + 1
        if any(n > 1 for n in per_node.values()):
            seen_two.append(1)
        return None if up >= set(NODES) else "nodes without an available pod: %s" % sorted(set(NODES) - up)
    with PodWatch(server, ns, check) as w:
        kubectl.ok("set", "image", "ds/agent", "c=busybox:2", "-n", ns)
        kubectl.ok("rollout", "status", "ds/agent", "-n", ns, "--timeout=90s", timeout=100)
        wait_for(lambda: len(pods(server, ns)) == 3, timeout=20, what="the old pods gone")
    assert not w.errors, w.errors[:3]
    assert seen_two, "the new pod must start beside the old one"
    assert {p["spec"]["containers"][0]["image"] for p in pods(server, ns)} == {"busybox:2"}


def test_on_delete_updates_only_deleted_pods(server, kubectl, ns):
    apply(kubectl, ns, daemonset(updateStrategy={"type": "OnDelete"}))
    wait_for(lambda: running_on(server, ns, NODES), timeout=20, what="a pod on each node")
    kubectl.ok("set", "image", "ds/agent", "c=busybox:2", "-n", ns)
    time.sleep(2)
    assert {p["spec"]["containers"][0]["image"] for p in pods(server, ns)} == {"busybox:1"}
    victim = by_node(server, ns)["sim-0"]["metadata"]["name"]
    kubectl.ok("delete", "pod", victim, "-n", ns)
    wait_for(lambda: by_node(server, ns).get("sim-0", {}).get("spec", {}).get("containers", [{}])[0].get("image")
             == "busybox:2", timeout=20, what="sim-0 recreated with the new image")
    imgs = {n: p["spec"]["containers"][0]["image"] for n, p in by_node(server, ns).items()}
    assert imgs == {"sim-0": "busybox:2", "sim-1": "busybox:1", "sim-2": "busybox:1"}, imgs


def test_priority_classes_served_and_admitted(server, kubectl, ns):
    out = kubectl.ok("get", "priorityclasses").out
    assert re.search(r"^system-node-critical\s+2000001000\s+false\s", out, re.M), out
    assert re.search(r"^system-cluster-critical\s+2000000000\s+false\s", out, re.M), out
    assert out.split("\n")[0].split() == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    kubectl.ok("create", "priorityclass", "e2e-high-" + ns, "--value=1000")
    r = kubectl.fail("run", "p1", "-n", ns, "--image=busybox", "--restart=Never",
                     "--overrides", json.dumps({"spec": {"priorityClassName": "nope"}}))
    assert 'pods "p1" is forbidden: no PriorityClass with name nope was found' in r.err, r
    kubectl.ok("run", "p2", "-n", ns, "--image=busybox", "--restart=Never",
               "--overrides", json.dumps({"spec": {"priorityClassName": "e2e-high-" + ns}}))
    p = get(server, "/api/v1/namespaces/%s/pods/p2" % ns)
    assert (p["spec"]["priority"], p["spec"]["preemptionPolicy"]) == (1000, "PreemptLowerPriority")
    r = kubectl.fail("create", "priorityclass", "system-mine", "--value=5")
    assert "reserved for system use only" in r.err, r
    kubectl.ok("delete", "priorityclass", "e2e-high-" + ns)
    # a globalDefault class gives its value to pods without a class; only one default may exist
    kubectl.ok("create", "priorityclass", "e2e-default-" + ns, "--value=7", "--global-default")
    try:
        r = kubectl.fail("create", "priorityclass", "e2e-second-" + ns, "--value=8", "--global-default")
        assert "PriorityClass e2e-default-%s is marked as default. Only one default can exist" % ns in r.err, r
        kubectl.ok("run", "p3", "-n", ns, "--image=busybox", "--restart=Never")
        p = get(server, "/api/v1/namespaces/%s/pods/p3" % ns)
        assert (p["spec"]["priorityClassName"], p["spec"]["priority"]) == ("e2e-default-" + ns, 7)
    finally:
        kubectl.ok("delete", "priorityclass", "e2e-default-" + ns)
    r = kubectl.fail("delete", "priorityclass", "system-node-critical")
    assert "this is a system priority class and cannot be deleted" in r.err, r


def test_critical_daemon_pod_preempts_on_a_full_node(server, kubectl, ns):
    filler = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "filler"},
              "spec": {"terminationGracePeriodSeconds": 1, "nodeSelector": {"kubernetes.io/hostname": "sim-2"},
                       "containers": [{"name": "c", "image": "busybox",
                                       "resources": {"requests": {"cpu": "30"}}}]}}
    apply(kubectl, ns, filler)
    wait_for(lambda: (get(server, "/api/v1/namespaces/%s/pods/filler" % ns) or {}).get("status", {}).get("phase")
             == "Running", timeout=20, what="the filler running on sim-2")
    crit = daemonset(pod_spec={"priorityClassName": "system-node-critical",
                               "nodeSelector": {"kubernetes.io/hostname": "sim-2"},
                               "containers": [{"name": "c", "image": "busybox",
                                               "resources": {"requests": {"cpu": "4"}}}]})
    apply(kubectl, ns, crit)
    wait_for(lambda: running_on(server, ns, ["sim-2"]), timeout=30, what="the critical daemon pod on sim-2")
    p = by_node(server, ns)["sim-2"]
    assert p["spec"]["priority"] == 2000001000
    f = get(server, "/api/v1/namespaces/%s/pods/filler" % ns)
    assert f is None or f["metadata"].get("deletionTimestamp"), "the lower-priority filler must be preempted"


def test_failed_daemon_pod_is_replaced(server, kubectl, ns):
    apply(kubectl, ns, daemonset())
    wait_for(lambda: running_on(server, ns, NODES), timeout=20, what="a pod on each node")
    victim = by_node(server, ns)["sim-1"]["metadata"]
    st, doc, _ = server.api("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, victim["name"]),
                            {"status": {"phase": "Failed"}}, content_type="application/merge-patch+json")
    assert st == 200, doc
    def replaced():
        p = by_node(server, ns).get("sim-1")
        return p and p["metadata"]["uid"] != victim["uid"] and ready(p)
    wait_for(replaced, timeout=20, what="the failed pod on sim-1 replaced")
    evs = get(server, "/api/v1/namespaces/%s/events" % ns)["items"]
    assert any(e["reason"] == "FailedDaemonPod" and victim["name"] in e["message"] for e in evs), evs


def test_revision_history_limit(server, kubectl, ns):
    apply(kubectl, ns, daemonset(revisionHistoryLimit=1))
    for tag in ("2", "3", "4"):
        wait_for(lambda: status_is(server, ns, numberAvailable=3), timeout=20, what="3 available")
        kubectl.ok("set", "image", "ds/agent", "c=busybox:" + tag, "-n", ns)
        kubectl.ok("rollout", "status", "ds/agent", "-n", ns, "--timeout=60s", timeout=70)
    def revisions():
        return sorted(r["revision"] for r in
                      get(server, "/apis/apps/v1/namespaces/%s/controllerrevisions" % ns)["items"])
    wait_for(lambda: revisions() == [3, 4], timeout=10, what="only the current and one old revision")
