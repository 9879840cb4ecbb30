#!/usr/bin/env python3
"""Helper of bench/dns.sh (issue 8's DNS benchmark); not a test.

  load API_URL DIR          creates NS namespaces with SERVICES services in all: half ClusterIP (one
                            named port), half headless with one EndpointSlice of PODS/(SERVICES/2)
                            endpoints each (pod-<i> hostnames, 10.244.x.y addresses); writes
                            DIR/cluster.local.zone and DIR/10.in-addr.arpa.zone (the same names
                            for NSD) and DIR/queries.txt (dnsperf input)
  propagate API_URL PORT N  N times: add an endpoint to a headless service's slice (PUT) and
                            poll the DNS server over UDP until the new name answers; prints
                            the latencies (ms) from just before the write and from its reply
  p99 FILE                  p50/p99 (ms) of the latencies in dnsperf -v output
"""
import http.client
import json
import random
import socket
import struct
import sys
import time
import urllib.parse

SERVICES, PODS, NS = 1000, 10000, 10
ZONE = "cluster.local"


class Api:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)

    def req(self, method, path, body=None):
        self.c.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers={"Content-Type": "application/json"})
        r = self.c.getresponse()
        data = r.read()
        if r.status >= 300:
            raise SystemExit("%s %s: %d %s" % (method, path, r.status, data[:300]))
        return json.loads(data)


def endpoint(i):
    return {"addresses": ["10.244.%d.%d" % (i // 250, i % 250 + 1)], "hostname": "pod-%d" % i,
            "conditions": {"ready": True}}


def slice_doc(svc, eps):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": svc + "-a", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], "endpoints": eps}


def rev(ip):
    return ".".join(reversed(ip.split(".")))


def load(url, out):
    api = Api(url)
    per = PODS // (SERVICES // 2)
    fwd = ["$ORIGIN %s." % ZONE, "$TTL 5",
           "@ IN SOA ns.dns.%s. hostmaster.%s. 1 7200 1800 86400 5" % (ZONE, ZONE), "@ IN NS ns.dns.%s." % ZONE]
    back = ["$ORIGIN 10.in-addr.arpa.", "$TTL 5",
            "@ IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 1 7200 1800 86400 5",
            "@ IN NS ns.dns.in-addr.arpa."]
    queries = []
    pod = 0
    for n in range(NS):
        api.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": "bench%d" % n}})
    for i in range(SERVICES):
        ns, name = "bench%d" % (i % NS), "svc%d" % i
        fq = "%s.%s.svc" % (name, ns)
        spec = {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
        if i % 2:
            spec["clusterIP"] = "None"
        doc = api.req("POST", "/api/v1/namespaces/%s/services" % ns,
                      {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
        queries.append("%s.%s A" % (fq, ZONE))
        if i % 2 == 0:
            ip = doc["spec"]["clusterIP"]
            fwd += ["%s IN A %s" % (fq, ip), "_http._tcp.%s IN SRV 0 100 80 %s.%s." % (fq, fq, ZONE)]
            back.append("%s IN PTR %s.%s." % (rev(ip)[:-3], fq, ZONE))
            queries += ["_http._tcp.%s.%s SRV" % (fq, ZONE), "%s.in-addr.arpa PTR" % rev(ip)]
            continue
        eps = [endpoint(pod + k) for k in range(per)]
        pod += per
        api.req("POST", "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % ns, slice_doc(name, eps))
        for e in eps:
            ip, host = e["addresses"][0], e["hostname"]
            fwd += ["%s IN A %s" % (fq, ip), "%s.%s IN A %s" % (host, fq, ip)]
            back.append("%s IN PTR %s.%s.%s." % (rev(ip)[:-3], host, fq, ZONE))
            queries.append("%s.%s.%s A" % (host, fq, ZONE))
        queries.append("%s.in-addr.arpa PTR" % rev(eps[0]["addresses"][0]))
    queries += ["nosuch%d.bench%d.svc.%s A" % (i, i % NS, ZONE) for i in range(500)]
    random.Random(8).shuffle(queries)
    for fname, lines in (("cluster.local.zone", fwd), ("10.in-addr.arpa.zone", back), ("queries.txt", queries)):
        with open("%s/%s" % (out, fname), "w") as f:
            f.write("\n".join(lines) + "\n")
    print("services %d, endpoints %d, forward records %d, queries %d" % (SERVICES, pod, len(fwd), len(queries)))


def query(name):
    q = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)


def wait_answer(sock, port, name, timeout=5.0):
    q = query(name)
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        sock.sendto(q, ("127.0.0.1", port))
        try:
            r, _ = sock.recvfrom(4096)
        except socket.timeout:
            continue
        if r[:2] == q[:2] and r[3] & 15 == 0 and struct.unpack(">H", r[6:8])[0] > 0:
            return time.perf_counter()
    raise SystemExit("no answer for %s" % name)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def propagate(url, port, n):
    api = Api(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.002)
    from_write, from_ack = [], []
    for k in range(n):
        i = 2 * (k % (SERVICES // 2)) + 1
        ns, name = "bench%d" % (i % NS), "svc%d" % i
        path = "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s-a" % (ns, name)
        doc = api.req("GET", path)
        host = "new-%d" % k
        doc["endpoints"].append({"addresses": ["10.250.%d.%d" % (k // 250, k % 250 + 1)], "hostname": host,
                                 "conditions": {"ready": True}})
        t0 = time.perf_counter()
        api.req("PUT", path, doc)
        t1 = time.perf_counter()
        t2 = wait_answer(sock, port, "%s.%s.%s.svc.%s" % (host, name, ns, ZONE))
        from_write.append((t2 - t0) * 1000)
        from_ack.append((t2 - t1) * 1000)
    print("propagation over %d slice updates: from write p50 %.1f ms p99 %.1f ms max %.1f ms; "
          "from the write's reply p50 %.1f ms p99 %.1f ms" % (n, pct(from_write, 50), pct(from_write, 99),
                                                             max(from_write), pct(from_ack, 50), pct(from_ack, 99)))


def p99(path):
    lat = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] == ">" and len(parts) >= 5:
                lat.append(float(parts[-1]) * 1000)
    print("%.3f %.3f %d" % (pct(lat, 50), pct(lat, 99), len(lat)) if lat else "nan nan 0")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "load":
        load(sys.argv[2], sys.argv[3])
    elif cmd == "propagate":
        propagate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        p99(sys.argv[2])
