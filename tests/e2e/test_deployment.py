"""Deployments end to end (semantics 2, acceptance D1-D8) through the real kubectl, against
`kubec server --sim-nodes 3`: the Deployment controller, the ReplicaSet controller, the
scheduler and simulated nodes together.

A "bad" version of a template is simulated with a readiness gate nobody satisfies: its pods
run but never become Ready, as pods of an image that does not start would. During rollouts a
background thread polls the pods and records every state it sees, so the maxSurge and
maxUnavailable bounds are checked on each observed state, not only at the end."""
import json
import re
import threading
import time

import pytest

from conftest import make_namespace, wait_for

HASH_RE = r"[4-9bcdf]{1,10}"
POD_SUFFIX_RE = r"[bcdfghjklmnpqrstvwxz2456789]{5}"
NEVER_READY = {"spec": {"template": {"spec": {"readinessGates": [{"conditionType": "example.com/never"}]}}}}


SERVER_ARGS = ["--sim-nodes", "3"]  # conftest's server waits for the 3 nodes to be Ready


@pytest.fixture
def ns(server):
    name = make_namespace(server, "dep")
    yield name
    server.api("DELETE", "/api/v1/namespaces/" + name)


def deployment(name, replicas, image, pod_spec=None, **spec):
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": "nginx", "image": image}]}}}}
    d["spec"]["template"]["spec"].update(pod_spec or {})
    d["spec"].update(spec)
    return json.dumps(d)


def get(server, path):
    st, doc, _ = server.api("GET", path)
    assert st == 200, (path, doc)
    return doc


def dep(server, ns, name):
    return get(server, "/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name))


def replicasets(server, ns):
    items = get(server, "/apis/apps/v1/namespaces/%s/replicasets" % ns)["items"]
    return sorted(items, key=lambda r: r["metadata"]["creationTimestamp"] + r["metadata"]["name"])


def pods(server, ns, sel="app=web"):
    return get(server, "/api/v1/namespaces/%s/pods?labelSelector=%s" % (ns, sel))["items"]


def image_of(obj):
    return obj["spec"]["template"]["spec"]["containers"][0]["image"]


def ann(obj, key):
    return obj["metadata"].get("annotations", {}).get(key)


def cond(d, typ):
    for c in d.get("status", {}).get("conditions", []):
        if c["type"] == typ:
            return c
    return {}


def rs_sizes(server, ns):
    """{image-or-name: spec.replicas} of the live ReplicaSets."""
    out = {}
    for r in replicasets(server, ns):
        if r["metadata"].get("deletionTimestamp"):
            continue
        key = image_of(r) + ("/never" if r["spec"]["template"]["spec"].get("readinessGates") else "")
        out[key] = r["spec"]["replicas"]
    return out


def ready(p):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))


class PodWatcher:
    """Polls the pods of a selector in a thread; records (active, ready-and-active) per state."""

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
            items = pods(self.server, self.ns, self.sel)
            self.samples.append(items)
            time.sleep(0.005)

    def counts(self):
        out = []
        for items in self.samples:
            live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
            out.append((len(live), len([p for p in live if ready(p)])))
        return out


def rollout_done(kubectl, ns, name="web", timeout=60):
    r = kubectl.ok("-n", ns, "rollout", "status", "deployment/" + name, "--timeout=%ds" % timeout,
                   timeout=timeout + 10)
    assert r.out.strip().splitlines()[-1] == 'deployment "%s" successfully rolled out' % name, r
    return r


def apply(kubectl, ns, doc):
    return kubectl.ok("-n", ns, "apply", "-f", "-", input=doc)


def events(server, ns, reason="ScalingReplicaSet"):
    items = get(server, "/api/v1/namespaces/%s/events" % ns)["items"]
    return [e["message"] for e in sorted(items, key=lambda e: e.get("firstTimestamp", "")) if e["reason"] == reason]


# ---- D1 ---------------------------------------------------------------------------------------

def test_apply_creates_one_replicaset_and_its_pods(server, kubectl, ns):
    apply(kubectl, ns, deployment("nginx", 3, "nginx:1.25"))
    rollout_done(kubectl, ns, "nginx")
    rss = replicasets(server, ns)
    assert len(rss) == 1
    rs = rss[0]
    m = re.fullmatch(r"nginx-(%s)" % HASH_RE, rs["metadata"]["name"])
    assert m, rs["metadata"]["name"]
    h = m.group(1)
    assert rs["metadata"]["labels"]["pod-template-hash"] == h
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "nginx", "pod-template-hash": h}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == h
    assert ann(rs, "deployment.kubernetes.io/revision") == "1"
    assert ann(rs, "deployment.kubernetes.io/desired-replicas") == "3"
    assert ann(rs, "deployment.kubernetes.io/max-replicas") == "4"
    ref = rs["metadata"]["ownerReferences"]
    d = dep(server, ns, "nginx")
    assert ref == [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx", "uid": d["metadata"]["uid"],
                    "controller": True, "blockOwnerDeletion": True}]
    ps = wait_for(lambda: [p for p in pods(server, ns, "app=nginx") if ready(p)] if len(
        [p for p in pods(server, ns, "app=nginx") if ready(p)]) == 3 else None, what="3 ready pods")
    for p in ps:
        assert re.fullmatch(r"nginx-%s-%s" % (h, POD_SUFFIX_RE), p["metadata"]["name"]), p["metadata"]["name"]
        assert p["metadata"]["labels"]["pod-template-hash"] == h
    assert ann(d, "deployment.kubernetes.io/revision") == "1"
    assert cond(d, "Available")["reason"] == "MinimumReplicasAvailable" and cond(d, "Available")["status"] == "True"
    assert cond(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert cond(d, "Progressing")["message"] == 'ReplicaSet "nginx-%s" has successfully progressed.' % h
    st = d["status"]
    assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"], st["availableReplicas"]) == (3, 3, 3, 3)
    assert st["observedGeneration"] == d["metadata"]["generation"]
    assert "collisionCount" not in st, "the RS the server stored is recognised as the Deployment's"
    line = kubectl.ok("-n", ns, "get", "deploy", "nginx", "--no-headers").out.split()
    assert line[:4] == ["nginx", "3/3", "3", "3"], line
    assert events(server, ns) == ["Scaled up replica set nginx-%s to 3" % h]


# ---- D2, D3, D6 and the whole kubectl rollout sequence ------------------------------------------

def test_rollout_sequence(server, kubectl, ns):
    apply(kubectl, ns, deployment("web", 3, "nginx:1.25"))
    rollout_done(kubectl, ns)
    assert kubectl.ok("-n", ns, "scale", "deployment/web", "--replicas=10").out.strip() == "deployment.apps/web scaled"
    rollout_done(kubectl, ns)
    assert rs_sizes(server, ns) == {"nginx:1.25": 10}
    h1 = replicasets(server, ns)[0]["metadata"]["name"]

    # set image: 10 replicas, 25%/25% -> never more than 13 pods, never fewer than 8 ready
    with PodWatcher(server, ns) as w:
        kubectl.ok("-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.27")
        rollout_done(kubectl, ns)
        time.sleep(0.2)
    counts = w.counts()
    assert len(counts) > 5, counts
    assert max(c[0] for c in counts) <= 13, counts
    assert min(c[1] for c in counts) >= 8, counts
    assert rs_sizes(server, ns) == {"nginx:1.25": 0, "nginx:1.27": 10}
    h2 = [r for r in replicasets(server, ns) if image_of(r) == "nginx:1.27"][0]["metadata"]["name"]
    msgs = events(server, ns)
    assert "Scaled up replica set %s to 3" % h2 in msgs, msgs
    assert "Scaled down replica set %s to 8 from 10" % h1 in msgs, msgs
    assert ann(dep(server, ns, "web"), "deployment.kubernetes.io/revision") == "2"

    out = kubectl.ok("-n", ns, "rollout", "history", "deployment/web").out
    assert [l.split()[0] for l in out.splitlines()[2:] if l.strip()] == ["1", "2"], out
    out = kubectl.ok("-n", ns, "rollout", "history", "deployment/web", "--revision=1").out
    assert "deployment.apps/web with revision #1" in out and "nginx:1.25" in out and "nginx:1.27" not in out, out

    # undo: the revision-1 RS comes back as revision 3; no third RS
    assert kubectl.ok("-n", ns, "rollout", "undo", "deployment/web").out.strip() == "deployment.apps/web rolled back"
    rollout_done(kubectl, ns)
    rss = replicasets(server, ns)
    assert len(rss) == 2
    old = [r for r in rss if r["metadata"]["name"] == h1][0]
    assert old["spec"]["replicas"] == 10
    assert ann(old, "deployment.kubernetes.io/revision") == "3"
    assert ann(old, "deployment.kubernetes.io/revision-history") == "1"
    assert ann(dep(server, ns, "web"), "deployment.kubernetes.io/revision") == "3"
    out = kubectl.ok("-n", ns, "rollout", "history", "deployment/web").out
    assert [l.split()[0] for l in out.splitlines()[2:] if l.strip()] == ["2", "3"], out

    # undo --to-revision=2: back to nginx:1.27 as revision 4
    kubectl.ok("-n", ns, "rollout", "undo", "deployment/web", "--to-revision=2")
    rollout_done(kubectl, ns)
    assert rs_sizes(server, ns) == {"nginx:1.25": 0, "nginx:1.27": 10}
    r = kubectl.ok("-n", ns, "rollout", "undo", "deployment/web", "--to-revision=4")
    assert "skipped rollback (current template already matches revision 4)" in r.out, r
    r = kubectl.fail("-n", ns, "rollout", "undo", "deployment/web", "--to-revision=9")
    assert "unable to find specified revision 9 in history" in r.err, r

    # restart: a new RS from the restartedAt annotation
    assert kubectl.ok("-n", ns, "rollout", "restart", "deployment/web").out.strip() == "deployment.apps/web restarted"
    rollout_done(kubectl, ns)
    rss = [r for r in replicasets(server, ns) if r["spec"]["replicas"] > 0]
    assert len(rss) == 1 and "kubectl.kubernetes.io/restartedAt" in rss[0]["spec"]["template"]["metadata"].get(
        "annotations", {})
    assert ann(rss[0], "deployment.kubernetes.io/revision") == "5"
    n_rs = len(replicasets(server, ns))

    # pause, two image changes: no new RS, undo refused; resume: exactly one new RS
    assert kubectl.ok("-n", ns, "rollout", "pause", "deployment/web").out.strip() == "deployment.apps/web paused"
    kubectl.ok("-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.28")
    kubectl.ok("-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.29")
    wait_for(lambda: cond(dep(server, ns, "web"), "Progressing").get("reason") == "DeploymentPaused",
             what="Progressing DeploymentPaused")
    assert cond(dep(server, ns, "web"), "Progressing")["status"] == "Unknown"
    r = kubectl.fail("-n", ns, "rollout", "undo", "deployment/web")
    assert "you cannot rollback a paused deployment; resume it first" in r.err, r
    kubectl.ok("-n", ns, "scale", "deployment/web", "--replicas=4")
    wait_for(lambda: sum(r["spec"]["replicas"] for r in replicasets(server, ns)) == 4, what="scaling while paused")
    time.sleep(0.3)
    assert len(replicasets(server, ns)) == n_rs, "no RS while paused"
    assert kubectl.ok("-n", ns, "rollout", "resume", "deployment/web").out.strip() == "deployment.apps/web resumed"
    rollout_done(kubectl, ns)
    rss = replicasets(server, ns)
    assert len(rss) == n_rs + 1
    assert rs_sizes(server, ns)["nginx:1.29"] == 4
    assert "nginx:1.28" not in rs_sizes(server, ns)
    assert ann(dep(server, ns, "web"), "deployment.kubernetes.io/revision") == "6"
    d = dep(server, ns, "web")
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]


def test_describe_shows_replicasets_and_events(server, kubectl, ns):
    apply(kubectl, ns, deployment("web", 2, "nginx:1.25"))
    rollout_done(kubectl, ns)
    kubectl.ok("-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.27")
    rollout_done(kubectl, ns)
    rss = {image_of(r): r["metadata"]["name"] for r in replicasets(server, ns)}
    out = kubectl.ok("-n", ns, "describe", "deployment", "web").out
    assert re.search(r"NewReplicaSet:\s+%s \(2/2 replicas created\)" % rss["nginx:1.27"], out), out
    assert re.search(r"OldReplicaSets:\s+%s \(0/0 replicas created\)" % rss["nginx:1.25"], out), out
    assert re.search(r"Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set %s to 1"
                     % rss["nginx:1.27"], out), out
    assert re.search(r"Scaled down replica set %s to 1 from 2" % rss["nginx:1.25"], out), out
    assert re.search(r"Available\s+True\s+MinimumReplicasAvailable", out), out
    assert re.search(r"Progressing\s+True\s+NewReplicaSetAvailable", out), out
    assert re.search(r"RollingUpdateStrategy:\s+25% max unavailable, 25% max surge", out), out


# ---- D4 ---------------------------------------------------------------------------------------

def test_revision_history_limit(server, kubectl, ns):
    apply(kubectl, ns, deployment("web", 2, "nginx:1", revisionHistoryLimit=1))
    rollout_done(kubectl, ns)
    for img in ("nginx:2", "nginx:3", "nginx:4"):
        kubectl.ok("-n", ns, "set", "image", "deployment/web", "nginx=" + img)
        rollout_done(kubectl, ns)
    wait_for(lambda: len(replicasets(server, ns)) == 2, what="2 ReplicaSets left")
    assert sorted(rs_sizes(server, ns).items()) == [("nginx:3", 0), ("nginx:4", 2)]


# ---- D5 ---------------------------------------------------------------------------------------

def test_progress_deadline_exceeded(server, kubectl, ns):
    apply(kubectl, ns, deployment("web", 3, "nginx:1.25", progressDeadlineSeconds=3))
    rollout_done(kubectl, ns)
    patch = json.loads(json.dumps(NEVER_READY))
    patch["spec"]["template"]["spec"]["containers"] = [{"name": "nginx", "image": "nginx:doesnotexist"}]
    kubectl.ok("-n", ns, "patch", "deployment/web", "-p", json.dumps(patch))
    t0 = time.time()
    r = kubectl.fail("-n", ns, "rollout", "status", "deployment/web", "--timeout=30s", timeout=40)
    took = time.time() - t0
    assert 'error: deployment "web" exceeded its progress deadline' in r.err, r
    assert 2 <= took <= 10, took
    d = dep(server, ns, "web")
    c = cond(d, "Progressing")
    assert (c["status"], c["reason"]) == ("False", "ProgressDeadlineExceeded"), c
    assert re.fullmatch(r'ReplicaSet "web-%s" has timed out progressing\.' % HASH_RE, c["message"]), c
    assert cond(d, "Available")["status"] == "True"
    assert rs_sizes(server, ns) == {"nginx:1.25": 3, "nginx:doesnotexist/never": 1}


# ---- D7 ---------------------------------------------------------------------------------------

def test_recreate_never_runs_two_versions(server, kubectl, ns):
    # the simulated kubelet keeps a deleted pod for its grace period: 2 s of terminating pods
    apply(kubectl, ns, deployment("web", 3, "nginx:1.25", pod_spec={"terminationGracePeriodSeconds": 2},
                                  strategy={"type": "Recreate"}))
    rollout_done(kubectl, ns)
    old_hash = replicasets(server, ns)[0]["metadata"]["labels"]["pod-template-hash"]
    with PodWatcher(server, ns) as w:
        kubectl.ok("-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.27")
        rollout_done(kubectl, ns)
    mixed = [s for s in w.samples
             if any(p["metadata"]["labels"]["pod-template-hash"] != old_hash for p in s)
             and any(p["metadata"]["labels"]["pod-template-hash"] == old_hash for p in s)]
    assert not mixed, "old pods (even terminating) and new pods seen together"
    assert any(s and all(p["metadata"].get("deletionTimestamp") for p in s) for s in w.samples), \
        "the old pods were seen terminating (and nothing new meanwhile)"
    assert rs_sizes(server, ns) == {"nginx:1.25": 0, "nginx:1.27": 3}


# ---- D8 ---------------------------------------------------------------------------------------

def test_stuck_rollout_scales_proportionally(server, kubectl, ns):
    apply(kubectl, ns, deployment("web", 10, "nginx:1.25",
                                  strategy={"type": "RollingUpdate",
                                            "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}))
    rollout_done(kubectl, ns)
    patch = json.loads(json.dumps(NEVER_READY))
    patch["spec"]["template"]["spec"]["containers"] = [{"name": "nginx", "image": "nginx:bad"}]
    with PodWatcher(server, ns) as w:
        kubectl.ok("-n", ns, "patch", "deployment/web", "-p", json.dumps(patch))
        wait_for(lambda: rs_sizes(server, ns) == {"nginx:1.25": 8, "nginx:bad/never": 5}, timeout=20,
                 what="old 8 / new 5")
        wait_for(lambda: len([p for p in pods(server, ns) if not p["metadata"].get("deletionTimestamp")]) == 13,
                 what="13 pods")
        time.sleep(0.5)
    counts = w.counts()
    assert max(c[0] for c in counts) <= 13, counts
    assert min(c[1] for c in counts) >= 8, counts
    assert rs_sizes(server, ns) == {"nginx:1.25": 8, "nginx:bad/never": 5}, "stuck there"
    kubectl.ok("-n", ns, "scale", "deployment/web", "--replicas=15")
    wait_for(lambda: rs_sizes(server, ns) == {"nginx:1.25": 11, "nginx:bad/never": 7}, timeout=20,
             what="11 / 7 after scaling to 15")
    for r in replicasets(server, ns):
        assert ann(r, "deployment.kubernetes.io/desired-replicas") == "15"
        assert ann(r, "deployment.kubernetes.io/max-replicas") == "18"
