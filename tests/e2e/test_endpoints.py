"""Endpoints and EndpointSlice controllers (issue 8, semantics 5.5-5.7) through the real kubectl,
against `kubec server --sim-nodes 3`: pods get IPs from their node's podCIDR and turn Ready when the
simulated node runs them. A pod that is not Ready is made with a readiness gate nobody satisfies;
patching the gate's condition through pods/status makes it Ready at a moment the test chooses."""
import json
import time

from conftest import Kubectl, Server, wait_for

SERVER_ARGS = ["--sim-nodes", "3"]
ES_LABEL = "kubernetes.io/service-name"
MANAGED = "endpointslice.kubernetes.io/managed-by"
GATE = "example.com/gate"


def deployment(name, replicas, ports, pod_spec=None):
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"terminationGracePeriodSeconds": 2,
                                        "containers": [{"name": "c", "image": "nginx", "ports": ports}]}}}}
    d["spec"]["template"]["spec"].update(pod_spec or {})
    return d


def pod(name, labels, ports=(), **spec):
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
         "spec": {"containers": [{"name": "c", "image": "nginx", "ports": list(ports)}]}}
    p["spec"].update(spec)
    return p


def service(name, selector, ports, labels=None, **spec):
    s = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels or {}},
         "spec": {"ports": ports}}
    if selector is not None:
        s["spec"]["selector"] = selector
    s["spec"].update(spec)
    return s


def apply(kubectl, ns, *objs):
    kubectl.ok("-n", ns, "apply", "-f", "-", input="\n".join(json.dumps(o) for o in objs))


def endpoints(kubectl, ns, name):
    r = kubectl("-n", ns, "get", "endpoints", name, "-o", "json")
    return r.json() if r.rc == 0 else None


def slices(kubectl, ns, svc):
    return kubectl.ok("-n", ns, "get", "endpointslices", "-l", "%s=%s" % (ES_LABEL, svc), "-o", "json").json()["items"]


def ready_ips(ep):
    return sorted(a["ip"] for ss in (ep or {}).get("subsets", []) for a in ss.get("addresses", []))


def not_ready_ips(ep):
    return sorted(a["ip"] for ss in (ep or {}).get("subsets", []) for a in ss.get("notReadyAddresses", []))


def slice_endpoints(items):
    return [e for s in items for e in (s.get("endpoints") or [])]


def pod_ips(kubectl, ns, selector):
    pods = kubectl.ok("-n", ns, "get", "pods", "-l", selector, "-o", "json").json()["items"]
    return sorted(p["status"]["podIP"] for p in pods
                  if p["status"].get("podIP") and "deletionTimestamp" not in p["metadata"])


def wait_pods_ready(kubectl, ns, selector, n, timeout=30):
    def ok():
        pods = kubectl.ok("-n", ns, "get", "pods", "-l", selector, "-o", "json").json()["items"]
        live = [p for p in pods if "deletionTimestamp" not in p["metadata"]]
        return len(live) == n and all(
            any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
            for p in live)
    wait_for(ok, timeout=timeout, interval=0.2, what="%d ready pods %s" % (n, selector))


def set_gate(kubectl, ns, name, status):
    kubectl.ok("-n", ns, "patch", "pod", name, "--subresource=status", "-p",
               json.dumps({"status": {"conditions": [{"type": GATE, "status": status}]}}))


def test_endpoints_follow_scaling(kubectl, ns):
    apply(kubectl, ns, deployment("web", 3, [{"name": "http", "containerPort": 8080}]),
          service("web", {"app": "web"}, [{"name": "http", "port": 80, "targetPort": "http"}],
                  labels={"tier": "front"}))
    wait_pods_ready(kubectl, ns, "app=web", 3)
    ips = pod_ips(kubectl, ns, "app=web")
    wait_for(lambda: ready_ips(endpoints(kubectl, ns, "web")) == ips, what="3 endpoints")
    ep = endpoints(kubectl, ns, "web")
    assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert ep["metadata"]["labels"] == {"tier": "front"}
    assert "ownerReferences" not in ep["metadata"]
    for a in ep["subsets"][0]["addresses"]:
        assert a["targetRef"]["kind"] == "Pod" and a["targetRef"]["namespace"] == ns
        assert a["nodeName"].startswith("sim-")
    svc_uid = kubectl.ok("-n", ns, "get", "svc", "web", "-o", "jsonpath={.metadata.uid}").out
    wait_for(lambda: sorted(e["addresses"][0] for e in slice_endpoints(slices(kubectl, ns, "web"))) == ips,
             what="3 slice endpoints")
    items = slices(kubectl, ns, "web")
    assert len(items) == 1
    s = items[0]
    assert s["metadata"]["name"].startswith("web-") and s["metadata"]["generateName"] == "web-"
    assert s["metadata"]["labels"] == {ES_LABEL: "web", MANAGED: "endpointslice-controller.k8s.io", "tier": "front"}
    ref = s["metadata"]["ownerReferences"]
    assert ref == [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": svc_uid, "controller": True,
                    "blockOwnerDeletion": True}]
    assert s["addressType"] == "IPv4"
    assert s["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    for e in s["endpoints"]:
        assert e["conditions"] == {"ready": True, "serving": True, "terminating": False}
        assert e["targetRef"]["kind"] == "Pod" and e["nodeName"].startswith("sim-")
    # the human views: ip:port lists, and describe's Endpoints line
    out = kubectl.ok("-n", ns, "get", "endpoints", "web").out
    assert out.splitlines()[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    assert all("%s:8080" % ip in out for ip in ips)
    out = kubectl.ok("-n", ns, "get", "endpointslices").out
    assert out.splitlines()[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert "IPv4" in out and "8080" in out
    line = [l for l in kubectl.ok("-n", ns, "describe", "svc", "web").out.splitlines() if l.startswith("Endpoints:")]
    assert line and sorted(line[0].split()[1].split(",")) == sorted("%s:8080" % ip for ip in ips)

    kubectl.ok("-n", ns, "scale", "deployment", "web", "--replicas=5")
    wait_pods_ready(kubectl, ns, "app=web", 5)
    ips = pod_ips(kubectl, ns, "app=web")
    wait_for(lambda: ready_ips(endpoints(kubectl, ns, "web")) == ips, what="5 endpoints")
    assert "+ 2 more..." in kubectl.ok("-n", ns, "get", "endpoints", "web").out
    wait_for(lambda: sorted(e["addresses"][0] for e in slice_endpoints(slices(kubectl, ns, "web"))
                            if e["conditions"]["ready"]) == ips, what="5 ready slice endpoints")
    assert len(slices(kubectl, ns, "web")) == 1

    kubectl.ok("-n", ns, "scale", "deployment", "web", "--replicas=1")
    wait_for(lambda: len(ready_ips(endpoints(kubectl, ns, "web"))) == 1, what="1 endpoint")
    # terminating pods are gone from Endpoints at once; the slice keeps them as terminating until they go
    wait_for(lambda: len(slice_endpoints(slices(kubectl, ns, "web"))) == 1, timeout=30, what="1 slice endpoint")
    assert ready_ips(endpoints(kubectl, ns, "web")) == pod_ips(kubectl, ns, "app=web")


def test_readiness_and_publish_not_ready(kubectl, ns):
    apply(kubectl, ns, pod("gated", {"app": "r"}, [{"containerPort": 80}], readinessGates=[{"conditionType": GATE}]),
          pod("fine", {"app": "r"}, [{"containerPort": 80}]),
          service("r", {"app": "r"}, [{"port": 80}]))
    wait_for(lambda: len(ready_ips(endpoints(kubectl, ns, "r"))) == 1
             and len(not_ready_ips(endpoints(kubectl, ns, "r"))) == 1, what="one ready, one not")
    gated_ip = kubectl.ok("-n", ns, "get", "pod", "gated", "-o", "jsonpath={.status.podIP}").out
    assert not_ready_ips(endpoints(kubectl, ns, "r")) == [gated_ip]

    def gated_ep():
        return [e for e in slice_endpoints(slices(kubectl, ns, "r")) if e["targetRef"]["name"] == "gated"]
    wait_for(gated_ep, what="the gated pod in the slice")
    assert gated_ep()[0]["conditions"] == {"ready": False, "serving": False, "terminating": False}

    time.sleep(1.1)  # condition times have whole seconds: the Ready transition must be a later one
    set_gate(kubectl, ns, "gated", "True")
    wait_for(lambda: gated_ip in ready_ips(endpoints(kubectl, ns, "r")), what="the pod to become a ready address")
    wait_for(lambda: gated_ep()[0]["conditions"]["ready"], what="the slice endpoint to become ready")
    assert gated_ep()[0]["conditions"] == {"ready": True, "serving": True, "terminating": False}
    # the trigger time is the pod's Ready transition
    ready_at = [c["lastTransitionTime"] for c in kubectl.ok("-n", ns, "get", "pod", "gated", "-o", "json").json()
                ["status"]["conditions"] if c["type"] == "Ready"][0]
    ann = endpoints(kubectl, ns, "r")["metadata"]["annotations"]
    assert ann["endpoints.kubernetes.io/last-change-trigger-time"] == ready_at

    set_gate(kubectl, ns, "gated", "False")
    wait_for(lambda: not_ready_ips(endpoints(kubectl, ns, "r")) == [gated_ip], what="not ready again")
    kubectl.ok("-n", ns, "patch", "svc", "r", "-p", json.dumps({"spec": {"publishNotReadyAddresses": True}}))
    wait_for(lambda: gated_ip in ready_ips(endpoints(kubectl, ns, "r")), what="publishNotReadyAddresses")
    assert not_ready_ips(endpoints(kubectl, ns, "r")) == []
    wait_for(lambda: gated_ep()[0]["conditions"]["ready"], what="ready in the slice")
    assert gated_ep()[0]["conditions"] == {"ready": True, "serving": False, "terminating": False}


def test_named_target_port_resolved_per_pod(kubectl, ns):
    apply(kubectl, ns,
          pod("a", {"app": "n"}, [{"name": "web", "containerPort": 8080}]),
          pod("b", {"app": "n"}, [{"name": "web", "containerPort": 9090}]),
          pod("c", {"app": "n"}, [{"name": "other", "containerPort": 7070}]),
          service("n", {"app": "n"}, [{"name": "w", "port": 80, "targetPort": "web"}]))
    def by_port():
        ep = endpoints(kubectl, ns, "n") or {}
        return {ss["ports"][0]["port"]: sorted(a["targetRef"]["name"] for a in ss.get("addresses", []))
                for ss in ep.get("subsets", [])}
    wait_for(lambda: by_port() == {8080: ["a"], 9090: ["b"]}, what="two subsets")

    def slice_ports():
        return sorted((tuple(p["port"] for p in (s.get("ports") or [])),
                       tuple(sorted(e["targetRef"]["name"] for e in (s.get("endpoints") or []))))
                      for s in slices(kubectl, ns, "n"))
    # a pod without the named port is listed in a slice without ports, as upstream
    wait_for(lambda: slice_ports() == [((), ("c",)), ((8080,), ("a",)), ((9090,), ("b",))],
             what="three slices by resolved port")
    # renaming the port on a new pod moves it
    kubectl.ok("-n", ns, "delete", "pod", "c", "--grace-period=0", "--force")
    apply(kubectl, ns, pod("c", {"app": "n"}, [{"name": "web", "containerPort": 8080}]))
    wait_for(lambda: by_port() == {8080: ["a", "c"], 9090: ["b"]}, timeout=20, what="c under 8080")
    wait_for(lambda: slice_ports() == [((8080,), ("a", "c")), ((9090,), ("b",))], timeout=20,
             what="c in the 8080 slice")


def test_headless_hostname_and_subdomain(kubectl, ns):
    apply(kubectl, ns,
          pod("db-0", {"app": "db"}, [{"containerPort": 5432}], hostname="db-0", subdomain="db"),
          pod("db-x", {"app": "db"}, [{"containerPort": 5432}], hostname="x", subdomain="elsewhere"),
          service("db", {"app": "db"}, [{"name": "pg", "port": 5432}], clusterIP="None"),
          service("bare", {"app": "db"}, [], clusterIP="None"))
    wait_for(lambda: len(ready_ips(endpoints(kubectl, ns, "db"))) == 2, what="2 endpoints")
    ep = endpoints(kubectl, ns, "db")
    names = {a["targetRef"]["name"]: a.get("hostname") for a in ep["subsets"][0]["addresses"]}
    assert names == {"db-0": "db-0", "db-x": None}
    assert ep["metadata"]["labels"] == {"service.kubernetes.io/headless": ""}
    wait_for(lambda: len(slice_endpoints(slices(kubectl, ns, "db"))) == 2, what="2 slice endpoints")
    s = slices(kubectl, ns, "db")[0]
    assert s["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    hosts = {e["targetRef"]["name"]: e.get("hostname") for e in s["endpoints"]}
    assert hosts == {"db-0": "db-0", "db-x": None}
    assert "None" in kubectl.ok("-n", ns, "get", "svc", "db").out
    # a headless Service without ports lists bare addresses
    wait_for(lambda: len(ready_ips(endpoints(kubectl, ns, "bare"))) == 2, what="portless endpoints")
    assert "ports" not in endpoints(kubectl, ns, "bare")["subsets"][0]
    out = kubectl.ok("-n", ns, "get", "endpoints", "bare").out.splitlines()[1]
    assert ":" not in out.split()[1]
    wait_for(lambda: len(slice_endpoints(slices(kubectl, ns, "bare"))) == 2, what="portless slice")
    assert not slices(kubectl, ns, "bare")[0].get("ports")


def test_many_pods_several_slices(kubectl, ns):
    apply(kubectl, ns, deployment("big", 250, [{"containerPort": 80}]), service("big", {"app": "big"}, [{"port": 80}]))
    wait_pods_ready(kubectl, ns, "app=big", 250, timeout=90)
    ips = pod_ips(kubectl, ns, "app=big")
    wait_for(lambda: sorted(e["addresses"][0] for e in slice_endpoints(slices(kubectl, ns, "big"))
                            if e["conditions"]["ready"]) == ips, timeout=30, what="250 slice endpoints")
    items = slices(kubectl, ns, "big")
    assert len(items) >= 3 and all(len(s["endpoints"]) <= 100 for s in items)
    assert len(set(s["metadata"]["name"] for s in items)) == len(items)
    wait_for(lambda: len(ready_ips(endpoints(kubectl, ns, "big"))) == 250, what="250 endpoints")
    kubectl.ok("-n", ns, "scale", "deployment", "big", "--replicas=0")
    # once the pods are gone, one placeholder slice without endpoints or ports remains
    wait_for(lambda: len(slices(kubectl, ns, "big")) == 1 and not slice_endpoints(slices(kubectl, ns, "big")),
             timeout=60, what="the placeholder slice")
    s = slices(kubectl, ns, "big")[0]
    assert s.get("ports") is None and s.get("endpoints") is None
    assert "<unset>" in kubectl.ok("-n", ns, "get", "endpointslices", s["metadata"]["name"]).out
    assert "subsets" not in endpoints(kubectl, ns, "big")
    assert "<none>" in kubectl.ok("-n", ns, "get", "endpoints", "big").out


def test_terminating_endpoints(kubectl, ns):
    apply(kubectl, ns, pod("t", {"app": "t"}, [{"containerPort": 80}], terminationGracePeriodSeconds=4),
          service("t", {"app": "t"}, [{"port": 80}]))
    wait_for(lambda: len(ready_ips(endpoints(kubectl, ns, "t"))) == 1, what="the endpoint")
    kubectl.ok("-n", ns, "delete", "pod", "t", "--wait=false")
    wait_for(lambda: "subsets" not in endpoints(kubectl, ns, "t"), what="Endpoints to drop the terminating pod")
    wait_for(lambda: [e["conditions"] for e in slice_endpoints(slices(kubectl, ns, "t"))]
             == [{"ready": False, "serving": True, "terminating": True}], what="a terminating slice endpoint")
    wait_for(lambda: not slice_endpoints(slices(kubectl, ns, "t")), timeout=20, what="the endpoint to go")


def test_selectorless_and_external_services_untouched(kubectl, server, ns):
    manual = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext", "labels": {"team": "a"}},
              "subsets": [{"addresses": [{"ip": "1.2.3.4"}], "notReadyAddresses": [{"ip": "1.2.3.5"}],
                           "ports": [{"name": "web", "port": 80}]}]}
    apply(kubectl, ns, service("ext", None, [{"name": "web", "port": 80}]), manual,
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cname"},
           "spec": {"type": "ExternalName", "externalName": "example.com"}},
          service("probe", {"app": "none"}, [{"port": 80}]))
    # the probe Service (with a selector) shows the controllers ran after ext existed
    wait_for(lambda: endpoints(kubectl, ns, "probe") and slices(kubectl, ns, "probe"), what="the probe's objects")
    # the user's Endpoints is mirrored into a slice (endpointslicemirroring), never rewritten
    def mirrored():
        return [s for s in slices(kubectl, ns, "ext")
                if s["metadata"]["labels"].get(MANAGED) == "endpointslicemirroring-controller.k8s.io"]
    wait_for(mirrored, what="the mirrored slice")
    m = mirrored()[0]
    assert m["metadata"]["labels"]["team"] == "a"
    assert m["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
    assert m["ports"] == [{"name": "web", "port": 80, "protocol": "TCP"}]
    assert sorted((e["addresses"][0], e["conditions"]["ready"]) for e in m["endpoints"]) == [
        ("1.2.3.4", True), ("1.2.3.5", False)]
    time.sleep(1)
    ep = endpoints(kubectl, ns, "ext")
    assert ep["subsets"] == [{"addresses": [{"ip": "1.2.3.4"}], "notReadyAddresses": [{"ip": "1.2.3.5"}],
                              "ports": [{"name": "web", "port": 80, "protocol": "TCP"}]}]
    assert "endpoints.kubernetes.io/last-change-trigger-time" not in ep["metadata"].get("annotations", {})
    assert [s for s in slices(kubectl, ns, "ext")
            if s["metadata"]["labels"].get(MANAGED) == "endpointslice-controller.k8s.io"] == []
    assert endpoints(kubectl, ns, "cname") is None and slices(kubectl, ns, "cname") == []
    # edits of the user's Endpoints follow into the mirror; skip-mirror takes it away
    kubectl.ok("-n", ns, "patch", "endpoints", "ext", "--type=json",
               "-p", json.dumps([{"op": "add", "path": "/subsets/0/addresses/-", "value": {"ip": "1.2.3.6"}}]))
    wait_for(lambda: mirrored() and len(mirrored()[0]["endpoints"]) == 3, what="the mirror to follow")
    assert len(endpoints(kubectl, ns, "ext")["subsets"][0]["addresses"]) == 2
    kubectl.ok("-n", ns, "label", "endpoints", "ext", "endpointslice.kubernetes.io/skip-mirror=true")
    wait_for(lambda: not mirrored(), what="skip-mirror to remove the mirror")
    # the kubernetes Service keeps its API-server-made Endpoints and slice, not mirrored
    k = kubectl.ok("-n", "default", "get", "endpoints", "kubernetes", "-o", "json").json()
    assert k["subsets"][0]["ports"][0]["port"] == server.port
    ks = kubectl.ok("-n", "default", "get", "endpointslices", "-l", ES_LABEL + "=kubernetes", "-o", "json").json()
    assert [s["metadata"]["name"] for s in ks["items"]] == ["kubernetes"]
    assert MANAGED not in ks["items"][0]["metadata"].get("labels", {})


def test_service_deleted_takes_endpoints_and_slices(kubectl, ns):
    apply(kubectl, ns, deployment("gone", 2, [{"containerPort": 80}]), service("gone", {"app": "gone"}, [{"port": 80}]))
    wait_for(lambda: len(ready_ips(endpoints(kubectl, ns, "gone"))) == 2, timeout=30, what="2 endpoints")
    wait_for(lambda: len(slice_endpoints(slices(kubectl, ns, "gone"))) == 2, what="2 slice endpoints")
    kubectl.ok("-n", ns, "delete", "svc", "gone")
    wait_for(lambda: endpoints(kubectl, ns, "gone") is None, what="the Endpoints to go")
    wait_for(lambda: slices(kubectl, ns, "gone") == [], timeout=20, what="the slices to be collected")
    # the pods are untouched, and a new Service of the same name starts afresh
    assert len(pod_ips(kubectl, ns, "app=gone")) == 2
    apply(kubectl, ns, service("gone", {"app": "gone"}, [{"port": 81, "targetPort": 80}]))
    wait_for(lambda: len(slice_endpoints(slices(kubectl, ns, "gone"))) == 2, what="slices of the new Service")
    uid = kubectl.ok("-n", ns, "get", "svc", "gone", "-o", "jsonpath={.metadata.uid}").out
    assert all(s["metadata"]["ownerReferences"][0]["uid"] == uid for s in slices(kubectl, ns, "gone"))


def test_over_capacity_truncated_at_1000(tmp_path):
    """1,001 pods: the Endpoints keeps 1,000 addresses and says so; the slices list all of them."""
    srv = Server(tmp_path / "big", args=["--sim-nodes", "10"]).start()
    try:
        k = Kubectl(srv, tmp_path / "kcache", tmp_path)
        apply(k, "default", deployment("huge", 1001, [{"containerPort": 80}],
                                       {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                                                        "resources": {"requests": {"cpu": "1m"}}}]}),
              service("huge", {"app": "huge"}, [{"port": 80}]))

        def count():
            ep = endpoints(k, "default", "huge") or {}
            return len(ready_ips(ep)), ep.get("metadata", {}).get("annotations", {})
        wait_for(lambda: count()[0] == 1000 and len(slice_endpoints(slices(k, "default", "huge"))) == 1001,
                 timeout=120, interval=0.5, what="1,000 addresses and 1,001 slice endpoints")
        assert count()[1].get("endpoints.kubernetes.io/over-capacity") == "truncated"
        items = slices(k, "default", "huge")
        assert len(items) >= 11 and all(len(s["endpoints"]) <= 100 for s in items)
        k.ok("scale", "deployment", "huge", "--replicas=999")
        wait_for(lambda: count()[0] == 999 and "endpoints.kubernetes.io/over-capacity" not in count()[1],
                 timeout=60, interval=0.5, what="the annotation to go below capacity")
    finally:
        srv.stop()


def test_zone_from_the_node_label(kubectl, ns):
    nodes = kubectl.ok("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").out.split()
    for i, n in enumerate(nodes):
        kubectl.ok("label", "node", n, "--overwrite", "topology.kubernetes.io/zone=zone-%d" % i)
    zone_of = {n: "zone-%d" % i for i, n in enumerate(nodes)}
    apply(kubectl, ns, deployment("z", 3, [{"containerPort": 80}]), service("z", {"app": "z"}, [{"port": 80}]))
    wait_for(lambda: len([e for e in slice_endpoints(slices(kubectl, ns, "z")) if e["conditions"]["ready"]]) == 3,
             timeout=30, what="3 ready slice endpoints")
    for e in slice_endpoints(slices(kubectl, ns, "z")):
        assert e["zone"] == zone_of[e["nodeName"]]


def test_restart_rewrites_nothing(tmp_path):
    """Minimal churn: after a restart the controllers find their Endpoints and slices current."""
    srv = Server(tmp_path / "re", args=["--sim-nodes", "2"]).start()
    try:
        k = Kubectl(srv, tmp_path / "kcache", tmp_path)
        apply(k, "default", deployment("keep", 4, [{"name": "http", "containerPort": 8080}]),
              service("keep", {"app": "keep"}, [{"name": "http", "port": 80, "targetPort": "http"}]))
        wait_for(lambda: len(ready_ips(endpoints(k, "default", "keep"))) == 4, timeout=30, what="4 endpoints")
        wait_for(lambda: len([e for e in slice_endpoints(slices(k, "default", "keep"))
                              if e["conditions"]["ready"]]) == 4, what="4 ready slice endpoints")
        time.sleep(1)

        def versions():
            ep = endpoints(k, "default", "keep")["metadata"]["resourceVersion"]
            return ep, sorted((s["metadata"]["name"], s["metadata"]["resourceVersion"])
                              for s in slices(k, "default", "keep"))
        before = versions()
        assert srv.stop() == 0
        srv.start()
        wait_for(lambda: k("get", "nodes").rc == 0, what="the API after the restart")
        time.sleep(3)
        assert versions() == before
    finally:
        srv.stop()
