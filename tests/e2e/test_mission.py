"""The mission's stateful scenario with every component at once, as a user meets it: the seed's
StatefulSet with its headless Service, applied with the real kubectl to `kubec server --sim-nodes 3`
with cluster DNS. The StatefulSet controller makes ordered pods and their claims, the scheduler
and the local-path provisioner place claim and pod on one node, the PV binder binds them, the
EndpointSlice controller publishes the pods and DNS answers their stable names (checked with dig).
A deleted pod comes back with the same name, claim, volume and node; scaling removes the highest
ordinals and keeps their claims. A Deployment behind a ClusterIP Service completes the picture."""
import os
import re
import subprocess

import pytest

from conftest import free_port, make_namespace, manifest, wait_for

DNS_PORT = free_port()
SERVER_ARGS = ["--sim-nodes", "3", "--pod-startup-ms", "200", "--dns-listen", "127.0.0.1:%d" % DNS_PORT]

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/dig"), reason="dig (dnsutils) not installed")


def dig(name, rtype="A"):
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(DNS_PORT), "+time=2", "+tries=2", "+short", name, rtype],
                         capture_output=True, text=True, timeout=20).stdout
    return sorted(out.split("\n")[:-1])


def get(server, path):
    st, doc, _ = server.api("GET", path)
    assert st == 200, (path, doc)
    return doc


def pod(server, ns, name):
    return get(server, "/api/v1/namespaces/%s/pods/%s" % (ns, name))


def claim(server, ns, name):
    return get(server, "/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (ns, name))


def ready(p):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))


def live_pods(server, ns):
    items = get(server, "/api/v1/namespaces/%s/pods?labelSelector=app=test-pod" % ns)["items"]
    return sorted(p["metadata"]["name"] for p in items if not p["metadata"].get("deletionTimestamp"))


def volume_of(server, ns, claim_name):
    """(volume name, the node its nodeAffinity pins it to) of a Bound claim."""
    c = claim(server, ns, claim_name)
    assert c["status"]["phase"] == "Bound", c
    pv = get(server, "/api/v1/persistentvolumes/" + c["spec"]["volumeName"])
    term = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert term["key"] == "kubernetes.io/hostname" and len(term["values"]) == 1, pv
    return pv["metadata"]["name"], term["values"][0]


@pytest.fixture
def ns(server):
    name = make_namespace(server, "mission")
    yield name
    server.api("DELETE", "/api/v1/namespaces/" + name)


def fqdn(name, ns):
    return "%s.%s.svc.cluster.local" % (name, ns)


def wait_dns(name, want, what):
    wait_for(lambda: dig(name) == sorted(want), timeout=5, what="%s: dig %s -> %s" % (what, name, want))


def test_the_seed_statefulset_end_to_end(server, kubectl, ns):
    kubectl.ok("-n", ns, "apply", "-f", manifest("statefulset-seed.yaml"))
    kubectl.ok("-n", ns, "rollout", "status", "statefulset/test-sf", "--timeout=60s", timeout=90)

    # topology: ordered, stable names; storage: one Bound claim each, its volume on the pod's node
    p0, p1 = pod(server, ns, "test-sf-0"), pod(server, ns, "test-sf-1")
    assert p1["metadata"]["creationTimestamp"] >= p0["metadata"]["creationTimestamp"]
    vol0, node0 = volume_of(server, ns, "test-vm-test-sf-0")
    vol1, node1 = volume_of(server, ns, "test-vm-test-sf-1")
    assert (node0, node1) == (p0["spec"]["nodeName"], p1["spec"]["nodeName"])
    assert p0["spec"]["hostname"] == "test-sf-0" and p0["spec"]["subdomain"] == "test"
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in p0["spec"]["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims == {"test-vm": "test-vm-test-sf-0"}

    # stable network identity: the headless Service's DNS names
    ip0, ip1 = p0["status"]["podIP"], p1["status"]["podIP"]
    wait_dns(fqdn("test-sf-0.test", ns), [ip0], "pod name")
    wait_dns(fqdn("test", ns), [ip0, ip1], "headless service")
    srv = dig("_http._tcp." + fqdn("test", ns), "SRV")
    assert len(srv) == 2 and all(re.fullmatch(r"\d+ \d+ 80 test-sf-[01]\.test\.%s\.svc\.cluster\.local\." % ns, r)
                                 for r in srv), srv
    r = kubectl.ok("-n", ns, "get", "endpoints", "test", "-o", "jsonpath={.subsets[0].addresses[*].hostname}")
    assert sorted(r.out.split()) == ["test-sf-0", "test-sf-1"], r

    # a deleted pod returns with the same name, claim, volume and node; DNS follows its address
    uid = p0["metadata"]["uid"]
    kubectl.ok("-n", ns, "delete", "pod", "test-sf-0", timeout=60)
    wait_for(lambda: (lambda p: p["metadata"]["uid"] != uid and ready(p))(pod(server, ns, "test-sf-0")),
             timeout=30, what="test-sf-0 back and Ready")
    back = pod(server, ns, "test-sf-0")
    assert back["spec"]["nodeName"] == node0, "the pod follows its local volume"
    assert volume_of(server, ns, "test-vm-test-sf-0") == (vol0, node0), "same claim, same volume"
    wait_dns(fqdn("test-sf-0.test", ns), [back["status"]["podIP"]], "recreated pod")

    # scale 2 -> 3 -> 1: the highest ordinals go, their claims stay Bound for a later scale-up
    kubectl.ok("-n", ns, "scale", "statefulset/test-sf", "--replicas=3")
    kubectl.ok("-n", ns, "rollout", "status", "statefulset/test-sf", "--timeout=60s", timeout=90)
    volume_of(server, ns, "test-vm-test-sf-2")
    kubectl.ok("-n", ns, "scale", "statefulset/test-sf", "--replicas=1")
    wait_for(lambda: live_pods(server, ns) == ["test-sf-0"], timeout=30, what="scaled down to test-sf-0")
    for n in (1, 2):
        assert volume_of(server, ns, "test-vm-test-sf-%d" % n)[0], "claims are kept on scale-down"
    wait_for(lambda: dig(fqdn("test-sf-1.test", ns)) == [], timeout=5, what="test-sf-1 gone from DNS")
    wait_dns(fqdn("test", ns), [back["status"]["podIP"]], "headless service after scale-down")


def test_a_deployment_behind_a_cluster_ip(server, kubectl, ns):
    kubectl.ok("-n", ns, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=3", "--port=80")
    kubectl.ok("-n", ns, "expose", "deployment", "web", "--port=8080", "--target-port=80")
    kubectl.ok("-n", ns, "rollout", "status", "deployment/web", "--timeout=60s", timeout=90)
    ip = get(server, "/api/v1/namespaces/%s/services/web" % ns)["spec"]["clusterIP"]
    assert re.fullmatch(r"10\.(9[6-9]|1[01][0-9])\.\d+\.\d+", ip), ip  # inside 10.96.0.0/12
    wait_dns(fqdn("web", ns), [ip], "ClusterIP service")
    assert dig("%s.in-addr.arpa" % ".".join(reversed(ip.split("."))), "PTR") == [fqdn("web", ns) + "."]
    pod_ips = sorted(p["status"]["podIP"] for p in
                     get(server, "/api/v1/namespaces/%s/pods?labelSelector=app=web" % ns)["items"])

    def slice_ips():
        items = get(server, "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector="
                            "kubernetes.io/service-name=web" % ns)["items"]
        return sorted(a for s in items for e in s.get("endpoints") or [] for a in e["addresses"])
    wait_for(lambda: slice_ips() == pod_ips, timeout=10, what="the slice lists the 3 pods")
    out = kubectl.ok("-n", ns, "describe", "service", "web").out
    assert re.search(r"^Endpoints:\s+\S+:80,\S+:80,\S+:80", out, re.M), out
