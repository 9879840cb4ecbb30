"""Cluster DNS (issue 8, semantics 5.9) through the real `dig` against `kubec server --dns-listen`:
A records for ClusterIP services, headless services answering their ready endpoint addresses,
endpoint hostnames, SRV for named ports, CNAME for ExternalName, PTR, NXDOMAIN/NODATA with the
zone's SOA, REFUSED outside the zone, EDNS0, truncation over UDP and TCP framing, changes
followed within a second, and malformed packets dropped without harm.

Services are made with the real kubectl; EndpointSlices are written directly (selector-less
services, label kubernetes.io/service-name), exactly as a user may, so the answers do not depend
on the EndpointSlice controller."""
import json
import os
import random
import re
import socket
import struct
import subprocess
import time

import pytest

from conftest import Server, free_port, make_namespace, wait_for

DNS_PORT = free_port()
SERVER_ARGS = ["--dns-listen", "127.0.0.1:%d" % DNS_PORT, "--sim-nodes", "1"]
ZONE = "cluster.local"

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/dig"), reason="dig (dnsutils) not installed")


# ---- dig ----

class Answer:
    def __init__(self, out):
        self.out = out
        m = re.search(r"status: (\w+)", out)
        self.status = m.group(1) if m else None
        m = re.search(r";; flags: ([a-z ]*);", out)
        self.flags = set(m.group(1).split()) if m else set()
        self.sections = {}
        cur = None
        for line in out.splitlines():
            m = re.match(r";; (\w+) SECTION:", line)
            if m:
                cur = m.group(1)
                self.sections[cur] = []
            elif not line.strip() or line.startswith(";"):
                cur = None if not line.strip() else cur
            elif cur:
                f = line.split(None, 4)
                self.sections[cur].append((f[0].lower(), int(f[1]), f[3], f[4]))

    def records(self, section="ANSWER", rtype=None):
        return [r for r in self.sections.get(section, []) if rtype is None or r[2] == rtype]

    def data(self, rtype, section="ANSWER"):
        return sorted(r[3] for r in self.records(section, rtype))

    def __repr__(self):
        return self.out


def dig(name, rtype="A", *opts, port=None):
    p = subprocess.run(["dig", "@127.0.0.1", "-p", str(port or DNS_PORT), "+time=2", "+tries=2", *opts, name, rtype],
                       capture_output=True, text=True, timeout=20)
    return Answer(p.stdout)


def fqdn(name, ns):
    return "%s.%s.svc.%s" % (name, ns, ZONE)


# ---- objects ----

def apply(kubectl, ns, doc):
    kubectl.ok("-n", ns, "apply", "-f", "-", input=json.dumps(doc))


def headless(name, ports=({"name": "http", "port": 80},)):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"clusterIP": "None", "ports": list(ports)}}


def endpoint(ip, hostname=None, ready=True):
    e = {"addresses": [ip], "conditions": {"ready": ready}}
    if hostname:
        e["hostname"] = hostname
    return e


def slice_(name, svc, endpoints, ports=({"name": "http", "port": 8080, "protocol": "TCP"},)):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": list(ports), "endpoints": list(endpoints)}


def cluster_ip(kubectl, ns, name):
    return kubectl.ok("-n", ns, "get", "svc", name, "-o", "jsonpath={.spec.clusterIP}").out.strip()


def settle(name, rtype="A", want=lambda a: a.status == "NOERROR" and a.records(), timeout=3):
    return wait_for(lambda: (lambda a: a if want(a) else None)(dig(name, rtype)), timeout=timeout,
                    interval=0.05, what="%s %s" % (rtype, name))


# ---- tests ----

def test_clusterip_a_ptr_and_case(kubectl, ns):
    kubectl.ok("-n", ns, "create", "service", "clusterip", "web", "--tcp=80:8080")
    ip = cluster_ip(kubectl, ns, "web")
    a = settle(fqdn("web", ns))
    assert a.data("A") == [ip]
    assert "aa" in a.flags and "qr" in a.flags
    assert [r[1] for r in a.records()] == [5]
    assert a.records()[0][0] == fqdn("web", ns) + "."
    mixed = dig(fqdn("WeB", ns.upper()).replace("svc", "SvC"))
    assert mixed.status == "NOERROR" and mixed.data("A") == [ip]
    ptr = dig(ip, "PTR", "-x")
    assert ptr.data("PTR") == [fqdn("web", ns) + "."], ptr


def test_kubernetes_service_resolves():
    assert dig(fqdn("kubernetes", "default")).data("A") == ["10.96.0.1"]


def test_srv_for_named_clusterip_port(kubectl, ns):
    apply(kubectl, ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
                        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080},
                                           {"name": "dns", "port": 53, "protocol": "UDP"}]}})
    ip = cluster_ip(kubectl, ns, "api")
    a = settle("_http._tcp." + fqdn("api", ns), "SRV")
    assert a.data("SRV") == ["0 100 80 %s." % fqdn("api", ns)]
    assert a.data("A", "ADDITIONAL") == [ip]
    assert dig("_dns._udp." + fqdn("api", ns), "SRV").data("SRV") == ["0 100 53 %s." % fqdn("api", ns)]
    assert dig("_dns._tcp." + fqdn("api", ns), "SRV").status == "NXDOMAIN"
    both = dig(fqdn("api", ns), "SRV")
    assert both.data("SRV") == ["0 50 53 %s." % fqdn("api", ns), "0 50 80 %s." % fqdn("api", ns)]


def test_headless_endpoints_hostnames_srv_and_ptr(kubectl, ns):
    apply(kubectl, ns, headless("db"))
    apply(kubectl, ns, slice_("db-a", "db", [endpoint("10.244.7.1", "db-0"), endpoint("10.244.7.2"),
                                             endpoint("10.244.7.9", "db-9", ready=False)]))
    # a second slice repeats one address: answered once
    apply(kubectl, ns, slice_("db-b", "db", [endpoint("10.244.7.3", "db-3"), endpoint("10.244.7.2")]))
    name = fqdn("db", ns)
    a = settle(name, want=lambda a: len(a.records()) == 3)
    assert a.data("A") == ["10.244.7.1", "10.244.7.2", "10.244.7.3"]
    assert dig("db-0." + name).data("A") == ["10.244.7.1"]
    assert dig("db-3." + name).data("A") == ["10.244.7.3"]
    assert dig("10-244-7-2." + name).data("A") == ["10.244.7.2"]
    assert dig("db-9." + name).status == "NXDOMAIN"  # not ready
    srv = dig("_http._tcp." + name, "SRV")
    assert srv.data("SRV") == ["0 33 8080 10-244-7-2.%s." % name, "0 33 8080 db-0.%s." % name,
                               "0 33 8080 db-3.%s." % name]
    extra = sorted((r[0], r[3]) for r in srv.records("ADDITIONAL", "A"))
    assert extra == [("10-244-7-2.%s." % name, "10.244.7.2"), ("db-0.%s." % name, "10.244.7.1"),
                     ("db-3.%s." % name, "10.244.7.3")]
    assert dig("10.244.7.1", "PTR", "-x").data("PTR") == ["db-0.%s." % name]


def test_headless_without_ready_endpoints_is_nxdomain(kubectl, ns):
    apply(kubectl, ns, headless("empty"))
    apply(kubectl, ns, slice_("empty-a", "empty", [endpoint("10.244.8.1", ready=False)]))
    kubectl.ok("-n", ns, "get", "endpointslice", "empty-a")
    time.sleep(0.3)
    a = dig(fqdn("empty", ns))
    assert a.status == "NXDOMAIN" and a.records("AUTHORITY", "SOA"), a


def test_externalname_cname(kubectl, ns):
    kubectl.ok("-n", ns, "create", "service", "externalname", "ext", "--external-name", "db.example.com")
    a = settle(fqdn("ext", ns))
    assert a.records() == [(fqdn("ext", ns) + ".", 5, "CNAME", "db.example.com.")]
    assert dig(fqdn("ext", ns), "CNAME").data("CNAME") == ["db.example.com."]


def test_namespaces_exist_without_services(server):
    quiet = make_namespace(server)
    a = settle("%s.svc.%s" % (quiet, ZONE), want=lambda a: a.status == "NOERROR")
    assert not a.records() and a.records("AUTHORITY", "SOA")
    assert dig("%s.pod.%s" % (quiet, ZONE)).status == "NOERROR"
    assert dig("no-such-namespace.svc." + ZONE).status == "NXDOMAIN"
    server.api("DELETE", "/api/v1/namespaces/" + quiet)


def test_nxdomain_nodata_and_refused(kubectl, ns):
    kubectl.ok("-n", ns, "create", "service", "clusterip", "here", "--tcp=80")
    settle(fqdn("here", ns))
    nx = dig(fqdn("nothere", ns))
    assert nx.status == "NXDOMAIN" and "aa" in nx.flags and not nx.records()
    soa = nx.records("AUTHORITY", "SOA")
    assert len(soa) == 1 and soa[0][0] == ZONE + "."
    assert re.match(r"ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$", soa[0][3])
    nodata = dig(fqdn("here", ns), "AAAA")
    assert nodata.status == "NOERROR" and not nodata.records() and nodata.records("AUTHORITY", "SOA")
    ent = dig("%s.svc.%s" % (ns, ZONE))  # an empty non-terminal exists
    assert ent.status == "NOERROR" and not ent.records()
    apex = dig(ZONE, "SOA")
    assert apex.records()[0][2] == "SOA"
    assert dig("dns-version." + ZONE, "TXT").data("TXT") == ['"1.1.0"']
    for outside in ("example.com", "kubernetes.io", "local"):
        r = dig(outside)
        assert r.status == "REFUSED" and "aa" not in r.flags, r
    assert dig("9.9.9.9", "PTR", "-x").status == "NXDOMAIN"


def test_pod_records(kubectl, ns):
    kubectl.ok("-n", ns, "run", "p1", "--image=nginx")
    ip = wait_for(lambda: kubectl.ok("-n", ns, "get", "pod", "p1", "-o", "jsonpath={.status.podIP}").out.strip(),
                  timeout=15, what="a pod IP")
    name = "%s.%s.pod.%s" % (ip.replace(".", "-"), ns, ZONE)
    assert settle(name).data("A") == [ip]
    # "pods verified": an address no pod of the namespace has is not answered
    assert dig("10-1-2-3.%s.pod.%s" % (ns, ZONE)).status == "NXDOMAIN"


def test_edns_echo_and_truncation(kubectl, ns):
    apply(kubectl, ns, headless("big"))
    eps = [endpoint("10.245.%d.%d" % (i // 200, i % 200 + 1)) for i in range(60)]
    apply(kubectl, ns, slice_("big-a", "big", eps))
    name = fqdn("big", ns)
    wait_for(lambda: len(dig(name, "A", "+tcp").records()) == 60, timeout=3, what="60 records over TCP")
    small = dig(fqdn("kubernetes", "default"), "A", "+noedns")
    assert "EDNS" not in small.out and small.data("A") == ["10.96.0.1"]
    edns = dig(fqdn("kubernetes", "default"))
    assert "EDNS: version: 0" in edns.out
    tc = dig(name, "A", "+noedns", "+ignore")  # 60 * 16 bytes > 512: truncated, no records
    assert "tc" in tc.flags and not tc.records(), tc
    big = dig(name, "A", "+bufsize=4096", "+ignore")  # fits the client's EDNS size
    assert "tc" not in big.flags and len(big.records()) == 60
    auto = dig(name, "A", "+noedns")  # dig retries over TCP after TC
    assert len(auto.records()) == 60


def query(name, qtype=1, qid=None):
    qid = random.randrange(65536) if qid is None else qid
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return qid, q + b"\0" + struct.pack(">HH", qtype, 1)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk, "connection closed"
        buf += chunk
    return buf


def test_tcp_several_queries_per_connection(kubectl, ns):
    kubectl.ok("-n", ns, "create", "service", "clusterip", "t1", "--tcp=80")
    settle(fqdn("t1", ns))
    assert dig(fqdn("t1", ns), "A", "+tcp").data("A") == [cluster_ip(kubectl, ns, "t1")]
    with socket.create_connection(("127.0.0.1", DNS_PORT), timeout=5) as s:
        ids = []
        for name in (fqdn("t1", ns), fqdn("nope", ns), "example.com"):
            qid, q = query(name)
            ids.append(qid)
            s.sendall(struct.pack(">H", len(q)) + q)  # pipelined: all sent before reading
        rcodes = []
        for qid in ids:
            n = struct.unpack(">H", recv_exact(s, 2))[0]
            msg = recv_exact(s, n)
            assert struct.unpack(">H", msg[:2])[0] == qid
            rcodes.append(msg[3] & 15)
        assert rcodes == [0, 3, 5]


def test_changes_followed_within_a_second(kubectl, ns):
    kubectl.ok("-n", ns, "create", "service", "clusterip", "gone", "--tcp=80")
    settle(fqdn("gone", ns))
    t0 = time.time()
    kubectl.ok("-n", ns, "delete", "svc", "gone")
    settle(fqdn("gone", ns), want=lambda a: a.status == "NXDOMAIN")
    assert time.time() - t0 < 1.0 + 0.5  # kubectl's own round trip included
    apply(kubectl, ns, headless("moving"))
    apply(kubectl, ns, slice_("moving-a", "moving", [endpoint("10.246.0.1")]))
    settle(fqdn("moving", ns))
    t0 = time.time()
    apply(kubectl, ns, slice_("moving-a", "moving", [endpoint("10.246.0.1"), endpoint("10.246.0.2", "m2")]))
    settle("m2." + fqdn("moving", ns), timeout=1.0)
    assert dig(fqdn("moving", ns)).data("A") == ["10.246.0.1", "10.246.0.2"]
    kubectl.ok("-n", ns, "delete", "endpointslice", "moving-a")
    settle(fqdn("moving", ns), want=lambda a: a.status == "NXDOMAIN", timeout=1.0)


MALFORMED = [
    b"",
    b"\x12",
    b"\x00" * 11,
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",                      # question missing
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f" + b"a" * 10,      # label past the end
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",  # pointer loop
    b"\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01",  # a response
    b"\x12\x34\x01\x00\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01",  # 65535 questions
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x05\x00\x00\x01\x00\x01",  # additional missing
    bytes(range(256)) * 4,
]


def test_malformed_packets_dropped_then_good_query_answered(server):
    rnd = random.Random(8)
    junk = MALFORMED + [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 600))) for _ in range(300)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        for p in MALFORMED:
            s.sendto(p, ("127.0.0.1", DNS_PORT))
            with pytest.raises(socket.timeout):
                s.recvfrom(4096)  # dropped: no answer at all
        for p in junk:
            s.sendto(p, ("127.0.0.1", DNS_PORT))
    with socket.create_connection(("127.0.0.1", DNS_PORT), timeout=5) as t:
        t.sendall(b"\x00\x05abcde" + b"\x00\x02\xff\xff")  # malformed frames, then a good query
        qid, q = query(fqdn("kubernetes", "default"))
        t.sendall(struct.pack(">H", len(q)) + q)
        n = struct.unpack(">H", recv_exact(t, 2))[0]
        assert struct.unpack(">H", recv_exact(t, n)[:2])[0] == qid
    assert dig(fqdn("kubernetes", "default")).data("A") == ["10.96.0.1"]
    assert server.alive()


def test_cluster_domain_flag_and_dns_off(tmp_path):
    port = free_port()
    srv = Server(tmp_path / "d1", args=["--dns-listen", "127.0.0.1:%d" % port, "--cluster-domain", "corp.internal",
                                         "--controllers", "-nodelifecycle"]).start()
    try:
        a = wait_for(lambda: (lambda a: a if a.records() else None)(
            dig("kubernetes.default.svc.corp.internal", port=port)), timeout=5, what="custom domain")
        assert a.data("A") == ["10.96.0.1"]
        assert dig("kubernetes.default.svc.cluster.local", port=port).status == "REFUSED"
        assert udp_sockets(srv.proc.pid) == {port}
    finally:
        assert srv.stop() == 0
    off = Server(tmp_path / "d2", args=["--dns-listen", "off"]).start()
    try:
        assert udp_sockets(off.proc.pid) == set()  # no DNS socket at all (not even 10053)
    finally:
        assert off.stop() == 0


def udp_sockets(pid):
    """Local ports of the UDP sockets process pid holds."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[9] in inodes:
                    ports.add(int(cols[1].split(":")[1], 16))
    return ports
