"""PersistentVolumes, PersistentVolumeClaims and StorageClasses end to end (semantics 6, acceptance
P1-P6) through the real kubectl, against `kubec server --sim-nodes 3`: the storage admission, the
persistentvolume-binder, pvc-protection, pv-protection and local-path-provisioner controllers
and the scheduler's VolumeBinding plugin together.

PersistentVolumes are cluster-scoped and the module shares one server, so every test names its
volumes and its storage class after its namespace: a volume left by one test can never be the
best match of another test's claim."""
import json
import time

import pytest

from conftest import Server, make_namespace, wait_for


SERVER_ARGS = ["--sim-nodes", "3"]  # conftest's server waits for the 3 nodes to be Ready


@pytest.fixture
def ns(server):
    name = make_namespace(server, "st")
    yield name
    server.api("DELETE", "/api/v1/namespaces/" + name)


def apply(kubectl, ns, *docs):
    kubectl.ok("apply", "-n", ns, "-f", "-", input="\n".join(json.dumps(d) for d in docs))


def pv(name, size, cls, modes=("ReadWriteOnce",), policy="Retain", **spec):
    s = {"capacity": {"storage": size}, "accessModes": list(modes), "persistentVolumeReclaimPolicy": policy,
         "hostPath": {"path": "/tmp/" + name}}
    if cls is not None:
        s["storageClassName"] = cls
    labels = spec.pop("labels", None)
    s.update(spec)
    d = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": s}
    if labels:
        d["metadata"]["labels"] = labels
    return d


def pvc(name, size, cls=None, modes=("ReadWriteOnce",), **spec):
    s = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        s["storageClassName"] = cls
    s.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": s}


def pod(name, claim, **spec):
    s = {"containers": [{"name": "c", "image": "nginx", "volumeMounts": [{"name": "d", "mountPath": "/d"}]}],
         "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": s}


def get(kubectl, *args):
    r = kubectl("get", *args, "-o", "json")
    return r.json() if r.rc == 0 else None


def phase(kubectl, *args):
    o = get(kubectl, *args)
    return o and o.get("status", {}).get("phase")


def wait_phase(kubectl, want, *args, timeout=10):
    wait_for(lambda: phase(kubectl, *args) == want, timeout=timeout, what="%s %s" % (" ".join(args), want))


def events(kubectl, ns, name):
    r = kubectl.ok("get", "events", "-n", ns, "--field-selector", "involvedObject.name=" + name, "-o", "json")
    return [(e["reason"], e["message"]) for e in r.json()["items"]]


def table(kubectl, *args):
    """kubectl get's human output as a list of rows (dicts keyed by header)."""
    lines = kubectl.ok("get", *args).out.splitlines()
    head = lines[0]
    starts = [i for i in range(len(head)) if head[i] != " " and (i == 0 or head[i - 2:i] == "  ")]
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [len(line)])]
        rows.append(dict(zip([head[a:b].strip() for a, b in zip(starts, starts[1:] + [len(head)])], cells)))
    return rows


def test_p1_static_binding_picks_smallest_volume(kubectl, ns):
    apply(kubectl, ns, pv(ns + "-1", "1Gi", ns), pv(ns + "-5", "5Gi", ns), pv(ns + "-10", "10Gi", ns),
          pvc("data", "3Gi", ns))
    wait_phase(kubectl, "Bound", "pvc", "data", "-n", ns)
    claim = get(kubectl, "pvc", "data", "-n", ns)
    assert claim["spec"]["volumeName"] == ns + "-5"
    ann = claim["metadata"]["annotations"]
    assert ann["pv.kubernetes.io/bind-completed"] == "yes"
    assert ann["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert claim["status"]["capacity"]["storage"] == "5Gi"
    assert claim["status"]["accessModes"] == ["ReadWriteOnce"]
    vol = get(kubectl, "pv", ns + "-5")
    assert vol["spec"]["claimRef"]["namespace"] == ns and vol["spec"]["claimRef"]["name"] == "data"
    assert vol["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert vol["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    assert vol["status"]["phase"] == "Bound"
    wait_phase(kubectl, "Available", "pv", ns + "-1")
    assert phase(kubectl, "pv", ns + "-10") == "Available"
    row = table(kubectl, "pvc", "-n", ns)[0]
    assert (row["NAME"], row["STATUS"], row["VOLUME"], row["CAPACITY"], row["ACCESS MODES"], row["STORAGECLASS"]) == \
        ("data", "Bound", ns + "-5", "5Gi", "RWO", ns)
    rows = {r["NAME"]: r for r in table(kubectl, "pv")}
    r = rows[ns + "-5"]
    assert (r["CAPACITY"], r["ACCESS MODES"], r["RECLAIM POLICY"], r["STATUS"], r["CLAIM"], r["STORAGECLASS"]) == \
        ("5Gi", "RWO", "Retain", "Bound", ns + "/data", ns)


def test_p2_no_fit_stays_pending(kubectl, ns):
    apply(kubectl, ns, pv(ns + "-a", "5Gi", ns, labels={"tier": "silver"}),
          pv(ns + "-b", "2Gi", ns, labels={"tier": "gold"}),
          pvc("big", "20Gi", ns), pvc("rwx", "1Gi", ns, modes=("ReadWriteMany",)),
          pvc("block", "1Gi", ns, volumeMode="Block"),
          pvc("gold", "1Gi", ns, selector={"matchLabels": {"tier": "gold"}}))
    wait_phase(kubectl, "Bound", "pvc", "gold", "-n", ns)
    assert get(kubectl, "pvc", "gold", "-n", ns)["spec"]["volumeName"] == ns + "-b"  # not the other one
    time.sleep(1)
    for name in ("big", "rwx", "block"):
        c = get(kubectl, "pvc", name, "-n", ns)
        assert c["status"]["phase"] == "Pending" and "volumeName" not in c["spec"], c
    assert phase(kubectl, "pv", ns + "-a") == "Available"
    # a class without a StorageClass object cannot be provisioned: said so on the claim
    wait_for(lambda: any(r == "ProvisioningFailed" and 'storageclass.storage.k8s.io "%s" not found' % ns in m
                         for r, m in events(kubectl, ns, "big")), what="ProvisioningFailed event")


def test_p6_claimref_prebinding_both_directions(kubectl, ns):
    reserved = pv(ns + "-x", "10Gi", ns, claimRef={"namespace": ns, "name": "claim1"})
    apply(kubectl, ns, reserved, pv(ns + "-5", "5Gi", ns))
    wait_phase(kubectl, "Available", "pv", ns + "-x")
    apply(kubectl, ns, pvc("other", "8Gi", ns))  # only the reserved volume is big enough
    time.sleep(1)
    assert phase(kubectl, "pvc", "other", "-n", ns) == "Pending"
    apply(kubectl, ns, pvc("claim1", "3Gi", ns))
    wait_phase(kubectl, "Bound", "pvc", "claim1", "-n", ns)
    c = get(kubectl, "pvc", "claim1", "-n", ns)
    assert c["spec"]["volumeName"] == ns + "-x"  # pre-binding wins over the smaller fit
    assert "pv.kubernetes.io/bound-by-controller" not in get(kubectl, "pv", ns + "-x")["metadata"].get("annotations", {})
    # the other direction: a claim naming its volume
    apply(kubectl, ns, pv(ns + "-named", "1Gi", ns), pvc("named", "1Gi", ns, volumeName=ns + "-named"))
    wait_phase(kubectl, "Bound", "pvc", "named", "-n", ns)
    v = get(kubectl, "pv", ns + "-named")
    assert v["spec"]["claimRef"]["name"] == "named" and v["status"]["phase"] == "Bound"
    # a claim naming a volume that does not satisfy it stays Pending with VolumeMismatch
    apply(kubectl, ns, pv(ns + "-small", "1Gi", ns), pvc("toolarge", "2Gi", ns, volumeName=ns + "-small"))
    wait_for(lambda: ("VolumeMismatch", 'Cannot bind to requested volume "%s-small": requested PV is too small' % ns)
             in events(kubectl, ns, "toolarge"), what="VolumeMismatch event")
    assert phase(kubectl, "pvc", "toolarge", "-n", ns) == "Pending"
    assert phase(kubectl, "pvc", "other", "-n", ns) == "Pending"  # pv-5 is too small, pv-x taken


def test_p3_empty_class_vs_default_class(kubectl, ns):
    apply(kubectl, ns, pvc("dflt", "1Gi"), pvc("none", "1Gi", ""))
    assert get(kubectl, "pvc", "dflt", "-n", ns)["spec"]["storageClassName"] == "local-path"
    assert get(kubectl, "pvc", "none", "-n", ns)["spec"]["storageClassName"] == ""
    sc = get(kubectl, "sc", "local-path")
    assert sc["provisioner"] == "rancher.io/local-path" and sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["reclaimPolicy"] == "Delete"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert table(kubectl, "sc")[0]["NAME"].startswith("local-path (default)")
    wait_for(lambda: ("FailedBinding", "no persistent volumes available for this claim and no storage class is set")
             in events(kubectl, ns, "none"), what="FailedBinding event")
    # a volume of the default class is never chosen for "": only a class-less one
    apply(kubectl, ns, pv(ns + "-lp", "1Gi", "local-path"))
    time.sleep(1)
    assert phase(kubectl, "pvc", "none", "-n", ns) == "Pending"
    apply(kubectl, ns, pv(ns + "-nocls", "1Gi", None))
    wait_phase(kubectl, "Bound", "pvc", "none", "-n", ns)
    assert get(kubectl, "pvc", "none", "-n", ns)["spec"]["volumeName"] == ns + "-nocls"
    kubectl.ok("delete", "pv", ns + "-lp")


def test_retroactive_default_class(kubectl, ns):
    """A claim created while no default class exists keeps a nil class, then gets the default one
    once it appears (GA 1.28)."""
    kubectl.ok("annotate", "sc", "local-path", "storageclass.kubernetes.io/is-default-class=false", "--overwrite")
    try:
        apply(kubectl, ns, pvc("late", "1Gi"))
        assert "storageClassName" not in get(kubectl, "pvc", "late", "-n", ns)["spec"]
        cls = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": ns, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
               "provisioner": "rancher.io/local-path", "volumeBindingMode": "Immediate"}
        apply(kubectl, ns, cls)
        wait_for(lambda: get(kubectl, "pvc", "late", "-n", ns)["spec"].get("storageClassName") == ns,
                 what="default class assigned")
        # an Immediate class of the local-path provisioner provisions at once, without a node
        wait_phase(kubectl, "Bound", "pvc", "late", "-n", ns)
        c = get(kubectl, "pvc", "late", "-n", ns)
        v = get(kubectl, "pv", c["spec"]["volumeName"])
        assert v["metadata"]["name"] == "pvc-" + c["metadata"]["uid"]
        assert "nodeAffinity" not in v["spec"] and v["spec"]["hostPath"]["path"].endswith("_%s_late" % ns)
    finally:
        kubectl("delete", "sc", ns)
        kubectl.ok("annotate", "sc", "local-path", "storageclass.kubernetes.io/is-default-class=true", "--overwrite")


def test_p5_pvc_protection_and_retain_released(kubectl, ns, server):
    apply(kubectl, ns, pv(ns + "-r", "1Gi", ns), pvc("data", "1Gi", ns), pod("user", "data"))
    wait_phase(kubectl, "Bound", "pvc", "data", "-n", ns)
    wait_phase(kubectl, "Running", "pod", "user", "-n", ns)
    kubectl.ok("delete", "pvc", "data", "-n", ns, "--wait=false")
    time.sleep(1)
    c = get(kubectl, "pvc", "data", "-n", ns)
    assert c is not None and c["metadata"].get("deletionTimestamp"), "claim in use must stay"
    assert table(kubectl, "pvc", "-n", ns)[0]["STATUS"] == "Terminating"
    assert phase(kubectl, "pv", ns + "-r") == "Bound"
    kubectl.ok("delete", "pod", "user", "-n", ns, "--grace-period=0", "--force")
    wait_for(lambda: kubectl("get", "pvc", "data", "-n", ns).rc != 0, what="claim removed")
    wait_phase(kubectl, "Released", "pv", ns + "-r")
    v = get(kubectl, "pv", ns + "-r")
    assert v["spec"]["claimRef"]["uid"] == c["metadata"]["uid"]  # still names the old claim
    apply(kubectl, ns, pvc("again", "1Gi", ns))
    time.sleep(1)
    assert phase(kubectl, "pvc", "again", "-n", ns) == "Pending"  # Released is not rebound
    kubectl.ok("patch", "pv", ns + "-r", "-p", '{"spec":{"claimRef":null}}')
    wait_phase(kubectl, "Bound", "pvc", "again", "-n", ns)
    assert get(kubectl, "pvc", "again", "-n", ns)["spec"]["volumeName"] == ns + "-r"


def test_pv_protection_and_lost_claim(kubectl, ns):
    apply(kubectl, ns, pv(ns + "-p", "1Gi", ns), pvc("data", "1Gi", ns))
    wait_phase(kubectl, "Bound", "pvc", "data", "-n", ns)
    kubectl.ok("delete", "pv", ns + "-p", "--wait=false")
    time.sleep(1)
    v = get(kubectl, "pv", ns + "-p")
    assert v is not None and v["metadata"].get("deletionTimestamp"), "a bound volume must stay"
    assert {r["NAME"]: r for r in table(kubectl, "pv")}[ns + "-p"]["STATUS"] == "Terminating"
    # force the volume away (finalizer removed by hand): the claim is Lost
    kubectl.ok("patch", "pv", ns + "-p", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    wait_for(lambda: kubectl("get", "pv", ns + "-p").rc != 0, what="volume gone")
    wait_phase(kubectl, "Lost", "pvc", "data", "-n", ns)
    assert ("ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!") in \
        events(kubectl, ns, "data")
    # a bound volume whose claim goes is released, then pv-protection lets it go
    apply(kubectl, ns, pv(ns + "-q", "1Gi", ns), pvc("d2", "1Gi", ns))
    wait_phase(kubectl, "Bound", "pvc", "d2", "-n", ns)
    kubectl.ok("delete", "pv", ns + "-q", "--wait=false")
    kubectl.ok("delete", "pvc", "d2", "-n", ns)
    wait_for(lambda: kubectl("get", "pv", ns + "-q").rc != 0, what="released volume removed")


def test_reclaim_delete_without_deleter_fails(kubectl, ns):
    apply(kubectl, ns, pv(ns + "-d", "1Gi", ns, policy="Delete"), pvc("data", "1Gi", ns))
    wait_phase(kubectl, "Bound", "pvc", "data", "-n", ns)
    kubectl.ok("delete", "pvc", "data", "-n", ns)
    wait_phase(kubectl, "Failed", "pv", ns + "-d")
    v = get(kubectl, "pv", ns + "-d")
    assert "no deletable volume plugin matched" in v["status"]["message"]


def test_p4_wait_for_first_consumer_and_local_path(kubectl, ns, server):
    apply(kubectl, ns, pvc("data", "2Gi"))
    wait_for(lambda: ("WaitForFirstConsumer", "waiting for first consumer to be created before binding")
             in events(kubectl, ns, "data"), what="WaitForFirstConsumer event")
    time.sleep(0.5)
    c = get(kubectl, "pvc", "data", "-n", ns)
    assert c["status"]["phase"] == "Pending"
    assert "volume.kubernetes.io/selected-node" not in c["metadata"].get("annotations", {})
    apply(kubectl, ns, pod("web", "data"))
    wait_phase(kubectl, "Running", "pod", "web", "-n", ns)
    node = get(kubectl, "pod", "web", "-n", ns)["spec"]["nodeName"]
    wait_phase(kubectl, "Bound", "pvc", "data", "-n", ns)
    c = get(kubectl, "pvc", "data", "-n", ns)
    ann = c["metadata"]["annotations"]
    assert ann["volume.kubernetes.io/selected-node"] == node
    assert ann["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
    assert c["spec"]["volumeName"] == "pvc-" + c["metadata"]["uid"]
    v = get(kubectl, "pv", c["spec"]["volumeName"])
    assert v["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "rancher.io/local-path"
    assert v["spec"]["capacity"]["storage"] == "2Gi"
    assert v["spec"]["persistentVolumeReclaimPolicy"] == "Delete" and v["spec"]["storageClassName"] == "local-path"
    assert v["spec"]["local"]["path"].startswith(server.data_dir.rstrip("/") + "/storage/pvc-")
    term = v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert term == {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
    reasons = [r for r, _ in events(kubectl, ns, "data")]
    for want in ("ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"):
        assert want in reasons, reasons
    # a recreated pod follows its volume, whatever the spreading would prefer
    for i in range(3):
        kubectl.ok("delete", "pod", "web", "-n", ns, "--grace-period=0", "--force")
        wait_for(lambda: kubectl("get", "pod", "web", "-n", ns).rc != 0, what="pod gone")
        apply(kubectl, ns, pod("web", "data"))
        wait_phase(kubectl, "Running", "pod", "web", "-n", ns)
        assert get(kubectl, "pod", "web", "-n", ns)["spec"]["nodeName"] == node
    # reclaim Delete: claim deleted -> the provisioned volume is deleted
    kubectl.ok("delete", "pod", "web", "-n", ns, "--grace-period=0", "--force")
    kubectl.ok("delete", "pvc", "data", "-n", ns)
    wait_for(lambda: kubectl("get", "pv", v["metadata"]["name"]).rc != 0, what="provisioned volume deleted")


def test_scheduler_reports_claim_problems(kubectl, ns):
    apply(kubectl, ns, pod("orphan", "nope"))

    def message():
        p = get(kubectl, "pod", "orphan", "-n", ns)
        conds = [c for c in p.get("status", {}).get("conditions", []) if c["type"] == "PodScheduled"]
        return conds and conds[0].get("message")
    msg = wait_for(message, what="PodScheduled condition")
    assert msg == ('0/3 nodes are available: persistentvolumeclaim "nope" not found. preemption: 0/3 nodes are '
                   'available: 3 Preemption is not helpful for scheduling.'), msg
    # an unbound claim of an Immediate class blocks the pod until it is bound
    apply(kubectl, ns, pvc("imm", "1Gi", ns), pod("waiter", "imm"))
    wait_for(lambda: "pod has unbound immediate PersistentVolumeClaims" in
             json.dumps(get(kubectl, "pod", "waiter", "-n", ns).get("status", {})), what="unbound immediate")
    apply(kubectl, ns, pv(ns + "-i", "1Gi", ns))
    wait_phase(kubectl, "Running", "pod", "waiter", "-n", ns, timeout=20)
    # the claim appears later: the pod is scheduled
    apply(kubectl, ns, pv(ns + "-n", "1Gi", ns), pvc("nope", "1Gi", ns))
    wait_phase(kubectl, "Running", "pod", "orphan", "-n", ns, timeout=20)


def test_pod_follows_static_volume_node_affinity(kubectl, ns):
    aff = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["sim-1"]}]}]}}
    apply(kubectl, ns, pv(ns + "-l", "1Gi", ns, nodeAffinity=aff), pvc("data", "1Gi", ns))
    wait_phase(kubectl, "Bound", "pvc", "data", "-n", ns)
    for i in range(3):
        apply(kubectl, ns, pod("p%d" % i, "data"))
    for i in range(3):
        wait_phase(kubectl, "Running", "pod", "p%d" % i, "-n", ns)
        assert get(kubectl, "pod", "p%d" % i, "-n", ns)["spec"]["nodeName"] == "sim-1"


def test_wait_for_first_consumer_static_local_volumes(kubectl, ns):
    """A no-provisioner WaitForFirstConsumer class with local volumes pinned to nodes: the
    scheduler picks a node that has a fitting volume and binds that volume (claimRef written by
    the scheduler, the binder completes the pair); a node without one is never chosen."""
    cls = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": ns},
           "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"}

    def local(name, size, node):
        aff = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
        d = pv(name, size, ns, nodeAffinity=aff)
        del d["spec"]["hostPath"]
        d["spec"]["local"] = {"path": "/mnt/" + name}
        return d
    try:
        apply(kubectl, ns, cls, local(ns + "-a", "5Gi", "sim-0"), local(ns + "-b", "2Gi", "sim-2"),
              pvc("one", "1Gi", ns), pvc("two", "1Gi", ns), pvc("three", "1Gi", ns))
        wait_for(lambda: ("WaitForFirstConsumer", "waiting for first consumer to be created before binding")
                 in events(kubectl, ns, "one"), what="WaitForFirstConsumer event")
        assert phase(kubectl, "pvc", "one", "-n", ns) == "Pending"
        assert phase(kubectl, "pv", ns + "-a") == "Available"
        apply(kubectl, ns, pod("p2", "two", nodeSelector={"kubernetes.io/hostname": "sim-2"}))
        wait_phase(kubectl, "Running", "pod", "p2", "-n", ns)
        wait_phase(kubectl, "Bound", "pvc", "two", "-n", ns)
        assert get(kubectl, "pvc", "two", "-n", ns)["spec"]["volumeName"] == ns + "-b"
        apply(kubectl, ns, pod("p1", "one"))
        wait_phase(kubectl, "Running", "pod", "p1", "-n", ns)
        assert get(kubectl, "pod", "p1", "-n", ns)["spec"]["nodeName"] == "sim-0"
        assert get(kubectl, "pvc", "one", "-n", ns)["spec"]["volumeName"] == ns + "-a"
        # no volume left anywhere and nothing can provision one: the pod waits
        apply(kubectl, ns, pod("p3", "three"))

        def msg():
            p = get(kubectl, "pod", "p3", "-n", ns)
            conds = [c for c in p.get("status", {}).get("conditions", []) if c["type"] == "PodScheduled"]
            return conds and conds[0].get("message")
        m = wait_for(msg, what="p3 unschedulable")
        assert m.startswith("0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind."), m
        assert phase(kubectl, "pvc", "three", "-n", ns) == "Pending"
    finally:
        kubectl("delete", "pod", "--all", "-n", ns, "--grace-period=0", "--force")
        kubectl("delete", "sc", ns)


def test_provisioner_refuses_claim_selector(kubectl, ns):
    apply(kubectl, ns, pvc("sel", "1Gi", selector={"matchLabels": {"tier": "gold"}}), pod("p", "sel"))
    wait_for(lambda: ("ProvisioningFailed",
                      'failed to provision volume with StorageClass "local-path": claim Selector is not supported')
             in events(kubectl, ns, "sel"), what="ProvisioningFailed event")
    assert phase(kubectl, "pvc", "sel", "-n", ns) == "Pending"
    assert phase(kubectl, "pod", "p", "-n", ns) == "Pending"
    kubectl.ok("delete", "pod", "p", "-n", ns, "--grace-period=0", "--force")


def test_read_write_once_pod_is_enforced_by_the_scheduler(kubectl, ns):
    apply(kubectl, ns, pv(ns + "-o", "1Gi", ns, modes=("ReadWriteOncePod",)),
          pvc("solo", "1Gi", ns, modes=("ReadWriteOncePod",)), pod("first", "solo"))
    wait_phase(kubectl, "Running", "pod", "first", "-n", ns)
    apply(kubectl, ns, pod("second", "solo"))

    def msg():
        p = get(kubectl, "pod", "second", "-n", ns)
        conds = [c for c in p.get("status", {}).get("conditions", []) if c["type"] == "PodScheduled"]
        return conds and conds[0].get("message")
    m = wait_for(msg, what="second pod unschedulable")
    assert m.startswith("0/3 nodes are available: 3 node has pod using PersistentVolumeClaim with the same name "
                        "and ReadWriteOncePod access mode."), m
    kubectl.ok("delete", "pod", "first", "-n", ns, "--grace-period=0", "--force")
    wait_phase(kubectl, "Running", "pod", "second", "-n", ns, timeout=20)


def test_wait_for_pod_scheduled_event(kubectl, ns):
    apply(kubectl, ns, pvc("data", "1Gi"), pod("stuck", "data", nodeSelector={"no-such": "node"}))
    wait_for(lambda: get(kubectl, "pod", "stuck", "-n", ns).get("status", {}).get("conditions"),
             what="stuck pod unschedulable")
    kubectl.ok("annotate", "pvc", "data", "-n", ns, "poke=1")  # any change makes the binder look again
    wait_for(lambda: ("WaitForPodScheduled", "waiting for pod stuck to be scheduled") in events(kubectl, ns, "data"),
             what="WaitForPodScheduled event")
    assert phase(kubectl, "pvc", "data", "-n", ns) == "Pending"


def test_bindings_survive_a_restart_and_nothing_flaps(tmp_path):
    """Bound claims, their provisioned volumes and the pods on them come back as they were after
    a restart, and once settled the storage controllers write nothing (no status ping-pong)."""
    from conftest import Kubectl
    srv = Server(tmp_path / "data", args=["--sim-nodes", "2"]).start()
    try:
        home = tmp_path / "home"
        home.mkdir()
        k = Kubectl(srv, tmp_path / "kcache", home)
        apply(k, "default", pvc("keep", "1Gi"), pod("user", "keep"), pv("restart-r", "1Gi", "manual"),
              pvc("static", "1Gi", "manual"))
        wait_phase(k, "Running", "pod", "user", "-n", "default")
        wait_phase(k, "Bound", "pvc", "keep", "-n", "default")
        wait_phase(k, "Bound", "pvc", "static", "-n", "default")
        before = {n: get(k, "pvc", n, "-n", "default")["spec"]["volumeName"] for n in ("keep", "static")}
        node = get(k, "pod", "user", "-n", "default")["spec"]["nodeName"]
        srv.stop()
        srv.start()
        time.sleep(2)

        def rev():
            st, doc, _ = srv.api("GET", "/api/v1/persistentvolumes")
            return int(doc["metadata"]["resourceVersion"])
        r0 = rev()
        time.sleep(2)
        for n in ("keep", "static"):
            c = get(k, "pvc", n, "-n", "default")
            assert c["status"]["phase"] == "Bound" and c["spec"]["volumeName"] == before[n]
            assert phase(k, "pv", before[n]) == "Bound"
        assert get(k, "pod", "user", "-n", "default")["spec"]["nodeName"] == node
        st, doc, _ = srv.api("GET", "/api/v1/persistentvolumeclaims")
        # nothing but node heartbeats may have been written meanwhile: no claim or volume changed
        changed = [i["metadata"]["name"] for i in doc["items"] if int(i["metadata"]["resourceVersion"]) > r0]
        st, pvs, _ = srv.api("GET", "/api/v1/persistentvolumes")
        changed += [i["metadata"]["name"] for i in pvs["items"] if int(i["metadata"]["resourceVersion"]) > r0]
        assert changed == [], changed
    finally:
        srv.stop()
