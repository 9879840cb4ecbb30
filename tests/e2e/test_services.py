"""Service address allocation (issue 8): ClusterIPs from 10.96.0.0/12 with the static and dynamic
bands, user-chosen IPs honoured or rejected, NodePorts in 30000-32767, addresses released on
delete, and the well-known default/kubernetes Service with Endpoints pointing at the server."""
import ipaddress
import json

from conftest import wait_for

SVC = "/api/v1/namespaces/%s/services"


def svc(name, **spec):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], "selector": {"app": name}}}
    body["spec"].update(spec)
    return body


def test_kubernetes_service_and_endpoints(kubectl, server):
    out = kubectl.ok("get", "svc", "kubernetes", "-n", "default", "-o", "json").json()
    assert out["spec"]["clusterIP"] == "10.96.0.1"
    assert out["spec"]["ports"][0]["port"] == 443
    assert out["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    ep = kubectl.ok("get", "endpoints", "kubernetes", "-n", "default", "-o", "json").json()
    assert ep["subsets"][0]["ports"][0]["port"] == server.port
    assert kubectl.ok("get", "endpointslices", "kubernetes", "-n", "default", "-o", "name").out.strip()


def test_cluster_ips_unique_and_in_range(server, ns):
    net = ipaddress.ip_network("10.96.0.0/12")
    static_top = net.network_address + 256
    ips = set()
    for i in range(1000):
        st, doc, _ = server.api("POST", SVC % ns, svc("s%d" % i))
        assert st == 201, doc
        ip = ipaddress.ip_address(doc["spec"]["clusterIP"])
        assert ip in net and ip > static_top, ip
        assert doc["spec"]["clusterIPs"] == [str(ip)]
        ips.add(ip)
    assert len(ips) == 1000


def test_chosen_ip_conflict_is_422_and_released_on_delete(kubectl, server, ns):
    st, doc, _ = server.api("POST", SVC % ns, svc("a", clusterIP="10.96.0.77"))
    assert st == 201 and doc["spec"]["clusterIP"] == "10.96.0.77"
    st, doc, _ = server.api("POST", SVC % ns, svc("b", clusterIP="10.96.0.77"))
    assert st == 422, doc
    assert doc["reason"] == "Invalid"
    assert "provided IP is already allocated" in doc["message"]
    st, doc, _ = server.api("POST", SVC % ns, svc("c", clusterIP="192.168.0.1"))
    assert st == 422 and "not in the valid range" in doc["message"]
    kubectl.ok("-n", ns, "delete", "svc", "a")
    wait_for(lambda: server.api("POST", SVC % ns, svc("b", clusterIP="10.96.0.77"))[0] == 201,
             what="the released IP to be reusable")


def test_headless_externalname_and_nodeport(kubectl, server, ns):
    st, doc, _ = server.api("POST", SVC % ns, svc("h", clusterIP="None"))
    assert st == 201 and doc["spec"]["clusterIP"] == "None"
    st, doc, _ = server.api("POST", SVC % ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                                               "spec": {"type": "ExternalName", "externalName": "example.com"}})
    assert st == 201 and "clusterIP" not in doc["spec"]
    st, doc, _ = server.api("POST", SVC % ns, svc("np", type="NodePort"))
    assert st == 201
    port = doc["spec"]["ports"][0]["nodePort"]
    assert 30000 + 86 <= port <= 32767, port
    st, doc, _ = server.api("POST", SVC % ns, svc("np2", type="NodePort", ports=[{"port": 80, "nodePort": port}]))
    assert st == 422 and "provided port is already allocated" in doc["message"]
    out = kubectl.ok("-n", ns, "get", "svc", "np").out
    assert "NodePort" in out and ("80:%d/TCP" % port) in out
    # an update that leaves out the allocated values keeps them
    cur = server.api("GET", SVC % ns + "/np")[1]
    del cur["spec"]["clusterIP"], cur["spec"]["clusterIPs"], cur["spec"]["ports"][0]["nodePort"]
    st, doc, _ = server.api("PUT", SVC % ns + "/np", cur)
    assert st == 200, doc
    assert doc["spec"]["ports"][0]["nodePort"] == port
    # switching to ClusterIP releases the node port
    kubectl.ok("-n", ns, "patch", "svc", "np", "--type=merge", "-p", json.dumps({"spec": {"type": "ClusterIP"}}))
    got = server.api("GET", SVC % ns + "/np")[1]
    assert "nodePort" not in got["spec"]["ports"][0]
    st, doc, _ = server.api("POST", SVC % ns, svc("np3", type="NodePort", ports=[{"port": 80, "nodePort": port}]))
    assert st == 201, doc
