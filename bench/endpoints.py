"""bench/endpoints.py: issue 8's endpoint benchmarks against `kubec server --sim-nodes NODES`.

1. Propagation: PODS pods behind one Service carry a readiness gate, so they run but are not Ready.
   Then the gate of each pod is set True through pods/status, one pod every GAP_MS. Two watches
   (pods, EndpointSlices) stamp every event on arrival; per pod the latency is the arrival of the
   first EndpointSlice event listing it ready minus the arrival of the first pod event showing it
   Ready (the pod's Ready lastTransitionTime has whole seconds only, too coarse for this). Also
   reported: from the status patch sent to the slice event (includes the simulated kubelet). One
   round per gap in GAPS_MS (default 100 ms: changes one at a time; 10 ms: 100 changes/s into one
   Service of PODS endpoints, every change rewriting its Endpoints and a slice). The Service is
   headless, so each ready pod also gets a DNS name (<dashed-ip>.prop.<ns>.svc.cluster.local) from
   the server's cluster DNS: a poller queries the names of pods made ready until they answer, which
   gives pod Ready event -> name answering in DNS.
2. Build: SERVICES x PER_SVC running pods exist; SERVICES Services selecting them are created at
   once; time until every Service has PER_SVC ready endpoints in its EndpointSlices (and in its
   Endpoints), both seen through watches.
SERVER_ARGS adds server flags (e.g. --controllers=*,-endpoints to see the cost of the Endpoints
controller). Run: /usr/bin/python3 bench/endpoints.py (or bench/endpoints.sh)."""
import http.client, json, os, shutil, signal, socket, struct, subprocess, tempfile, threading, time
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBEC = os.environ.get("KUBEC_BIN", os.path.join(ROOT, "bin", "kubec"))
NODES = int(os.environ.get("NODES", 120))
PODS = int(os.environ.get("PODS", 500))
GAPS_MS = [float(g) for g in os.environ.get("GAPS_MS", "100,10").split(",")]
SERVICES = int(os.environ.get("SERVICES", 1000))
PER_SVC = int(os.environ.get("PER_SVC", 10))
GATE = "example.com/gate"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


PORT = free_port(); DNS_PORT = free_port(); TMP = tempfile.mkdtemp(prefix="kubec-ep-"); DATA = os.path.join(TMP, "data")


def conn(timeout=120):
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)


def call(c, method, path, obj=None, ctype="application/json"):
    c.request(method, path, json.dumps(obj) if obj is not None else None, {"Content-Type": ctype} if obj else {})
    r = c.getresponse(); body = r.read()
    return r.status, (json.loads(body) if body else None)


def parallel(n, fn, threads=16):
    it = iter(range(n)); lock = threading.Lock()
    def work():
        c = conn()
        while True:
            with lock:
                i = next(it, None)
            if i is None: return
            fn(c, i)
    ts = [threading.Thread(target=work) for _ in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]


def create(c, path, obj):
    st, doc = call(c, "POST", path, obj)
    assert st == 201, (st, doc)


def pod(name, labels, gate):
    spec = {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                            "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}
    if gate: spec["readinessGates"] = [{"conditionType": GATE}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": spec}


def service(name, selector, headless=False):
    spec = {"selector": selector, "ports": [{"port": 80}]}
    if headless: spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def dns_answers(sock, name):
    """True when the server's DNS answers an A query for name with at least one record."""
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    sock.sendto(q, ("127.0.0.1", DNS_PORT))
    try:
        r = sock.recv(4096)
    except socket.timeout:
        return False
    return len(r) >= 12 and r[3] & 0xF == 0 and struct.unpack(">H", r[6:8])[0] > 0


def dns_poller(ns, ips, t_patch, t_dns, lock, stop):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.05)
    while not stop.is_set():
        with lock:
            todo = [(n, ips[n]) for n in t_patch if n in ips and n not in t_dns]
        time.sleep(0.0005)  # a query round every 0.5 ms: fine enough, and cheap for the server
        for n, ip in todo:
            if dns_answers(sock, "%s.prop.%s.svc.cluster.local" % (ip.replace(".", "-"), ns)):
                with lock: t_dns.setdefault(n, time.time())


def namespace(name):
    create(conn(), "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def list_rv(path):
    st, doc = call(conn(), "GET", path)
    return doc


def watch(path, rv, on_event, stop):
    """Calls on_event(arrival_time, event) for every event until stop is set."""
    try:
        c = conn(timeout=600)
        c.request("GET", "%s?watch=1&resourceVersion=%s&allowWatchBookmarks=false" % (path, rv))
        r = c.getresponse()
        while not stop.is_set():
            line = r.readline()
            if not line: return
            on_event(time.time(), json.loads(line))
    except (OSError, http.client.HTTPException):
        return  # the server went away at the end of the run


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def wait_until(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred(): return
        time.sleep(0.2)
    raise SystemExit("timed out waiting for " + what)


def ready_in_slices(ns, svc=None):
    q = "?labelSelector=kubernetes.io%2Fservice-name%3D" + svc if svc else ""
    items = list_rv("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices%s" % (ns, q))["items"]
    return [(e["targetRef"]["name"], e["conditions"].get("ready")) for s in items for e in (s.get("endpoints") or [])]


def propagation(ns, gap_ms):
    namespace(ns)
    create(conn(), "/api/v1/namespaces/%s/services" % ns, service("prop", {"app": "prop"}, headless=True))
    parallel(PODS, lambda c, i: create(c, "/api/v1/namespaces/%s/pods" % ns, pod("p%04d" % i, {"app": "prop"}, True)))
    wait_until(lambda: len(ready_in_slices(ns, "prop")) == PODS, 120, "%d not-ready endpoints" % PODS)
    t_ready, t_slice, t_patch, t_dns, ips = {}, {}, {}, {}, {}
    lock = threading.Lock()

    def on_pod(t, ev):
        o = ev["object"]
        if o.get("status", {}).get("podIP"):
            with lock: ips[o["metadata"]["name"]] = o["status"]["podIP"]
        if any(c["type"] == "Ready" and c["status"] == "True" for c in o.get("status", {}).get("conditions", [])):
            with lock: t_ready.setdefault(o["metadata"]["name"], t)

    def on_slice(t, ev):
        for e in ev["object"].get("endpoints") or []:
            if e["conditions"].get("ready"):
                with lock: t_slice.setdefault(e["targetRef"]["name"], t)

    stop = threading.Event()
    prv = list_rv("/api/v1/namespaces/%s/pods?limit=1" % ns)["metadata"]["resourceVersion"]
    srv = list_rv("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?limit=1" % ns)["metadata"]["resourceVersion"]
    for path, rv, fn in (("/api/v1/namespaces/%s/pods" % ns, prv, on_pod),
                         ("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % ns, srv, on_slice)):
        threading.Thread(target=watch, args=(path, rv, fn, stop), daemon=True).start()
    threading.Thread(target=dns_poller, args=(ns, ips, t_patch, t_dns, lock, stop), daemon=True).start()
    time.sleep(0.3)
    c = conn()
    body = {"status": {"conditions": [{"type": GATE, "status": "True"}]}}
    for i in range(PODS):
        name = "p%04d" % i
        with lock: t_patch[name] = time.time()
        st, doc = call(c, "PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name), body,
                       "application/strategic-merge-patch+json")
        assert st == 200, (st, doc)
        time.sleep(gap_ms / 1000.0)
    wait_until(lambda: len(t_slice) >= PODS and len(t_ready) >= PODS and len(t_dns) >= PODS, 60,
               "every pod ready in the slices and DNS")
    stop.set()
    lat = [(t_slice[n] - t_ready[n]) * 1000 for n in t_patch]
    e2e = [(t_slice[n] - t_patch[n]) * 1000 for n in t_patch]
    dns = [(t_dns[n] - t_ready[n]) * 1000 for n in t_patch]
    return lat, e2e, dns


def build():
    ns = "build"
    namespace(ns)
    total = SERVICES * PER_SVC
    t0 = time.time()
    parallel(total, lambda c, i: create(c, "/api/v1/namespaces/%s/pods" % ns,
                                        pod("p%05d" % i, {"svc": "s%04d" % (i % SERVICES)}, False)))
    def running():
        items = list_rv("/api/v1/namespaces/%s/pods" % ns)["items"]
        return sum(1 for p in items if any(c["type"] == "Ready" and c["status"] == "True"
                                          for c in p.get("status", {}).get("conditions", []))) == total
    wait_until(running, 600, "%d ready pods" % total)
    print("  %d pods ready in %.1f s" % (total, time.time() - t0), flush=True)
    slice_ready, ep_ready = {}, {}
    done_slices, done_eps = threading.Event(), threading.Event()
    state = {"slices": {}, "svc_slices": {}, "t_slices": None, "t_eps": None}
    lock = threading.Lock()

    def on_slice(t, ev):
        o = ev["object"]; name = o["metadata"]["name"]
        svc = o["metadata"].get("labels", {}).get("kubernetes.io/service-name")
        n = 0 if ev["type"] == "DELETED" else sum(1 for e in (o.get("endpoints") or []) if e["conditions"].get("ready"))
        with lock:
            state["slices"][name] = (svc, n)
            tot = state["svc_slices"].setdefault(svc, {})
            tot[name] = n
            if sum(tot.values()) == PER_SVC: slice_ready[svc] = t
            else: slice_ready.pop(svc, None)
            if len(slice_ready) == SERVICES and not done_slices.is_set():
                state["t_slices"] = t; done_slices.set()

    def on_ep(t, ev):
        o = ev["object"]
        n = sum(len(s.get("addresses", [])) for s in o.get("subsets") or [])
        with lock:
            if n == PER_SVC: ep_ready[o["metadata"]["name"]] = t
            if len(ep_ready) == SERVICES and not done_eps.is_set():
                state["t_eps"] = t; done_eps.set()

    stop = threading.Event()
    srv = list_rv("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?limit=1" % ns)["metadata"]["resourceVersion"]
    erv = list_rv("/api/v1/namespaces/%s/endpoints?limit=1" % ns)["metadata"]["resourceVersion"]
    threading.Thread(target=watch, args=("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % ns, srv,
                                         on_slice, stop), daemon=True).start()
    threading.Thread(target=watch, args=("/api/v1/namespaces/%s/endpoints" % ns, erv, on_ep, stop),
                     daemon=True).start()
    time.sleep(0.3)
    t1 = time.time()
    parallel(SERVICES, lambda c, i: create(c, "/api/v1/namespaces/%s/services" % ns,
                                           service("s%04d" % i, {"svc": "s%04d" % i})))
    t2 = time.time()
    done_slices.wait(300); done_eps.wait(60)
    stop.set()
    return t2 - t1, (state["t_slices"] or float("nan")) - t1, (state["t_eps"] or float("nan")) - t1, \
        len(state["slices"])


def main():
    kc = os.path.join(DATA, "kubeconfig")
    srv = subprocess.Popen([KUBEC, "server", "--data-dir", DATA, "--listen", "127.0.0.1:%d" % PORT, "--sim-nodes",
                            str(NODES), "--cluster-cidr", "10.0.0.0/8", "--dns-listen", "127.0.0.1:%d" % DNS_PORT] + os.environ.get("SERVER_ARGS", "").split(),
                           stdout=open(os.path.join(TMP, "server.log"), "ab"), stderr=subprocess.STDOUT)
    try:
        while not os.path.exists(kc): time.sleep(0.01)
        wait_until(lambda: len([n for n in list_rv("/api/v1/nodes")["items"] if any(
            c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))]) == NODES,
                   60, "%d nodes" % NODES)
        for i, gap in enumerate(GAPS_MS):
            lat, e2e, dns = propagation("prop%d" % i, gap)
            print("propagation, %d pods one every %g ms:" % (PODS, gap))
            print("  pod Ready event -> EndpointSlice event: p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
                pct(lat, 50), pct(lat, 99), max(lat)))
            print("  pod Ready event -> name answers in DNS: p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
                pct(dns, 50), pct(dns, 99), max(dns)))
            print("  status patch sent -> EndpointSlice event: p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
                pct(e2e, 50), pct(e2e, 99), max(e2e)), flush=True)
        created, t_slices, t_eps, nslices = build()
        print("build, %d Services x %d pods: Services created in %.2f s; all EndpointSlices complete %.2f s, "
              "all Endpoints complete %.2f s after the first create (%d slices)" % (
                  SERVICES, PER_SVC, created, t_slices, t_eps, nslices))
        with open("/proc/%d/stat" % srv.pid) as f:
            st = f.read().split()
        print("server CPU %.1f s" % ((int(st[13]) + int(st[14])) / os.sysconf("SC_CLK_TCK")))
    finally:
        srv.send_signal(signal.SIGTERM); srv.wait()
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
