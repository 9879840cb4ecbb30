"""bench/scheduler.py: issue 4's scheduler benchmark (the SchedulingBasic shape): 5,000 Node objects,
1,000 existing pods bound to them, 10,000 new pods, end to end through the API.
Mode 'restart' (default): the pods are created with --disable-scheduler, then the server restarts with
the scheduler and every bind is timed. Mode 'live': pods are created while the scheduler runs.
Prints pods/s: overall (binds over the time from the first to the last bind), and mean/p50/p99 of the
per-second rate (binds counted per wall-clock second, from the first bind's second to the last's).
Run: flock /tmp/kubec-bench.lock /usr/bin/python3 bench/scheduler.py [restart|live]"""
import http.client, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, statistics
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBEC = os.environ.get("KUBEC_BIN", os.path.join(ROOT, "bin", "kubec"))
NODES, EXISTING, PODS = int(os.environ.get("NODES", 5000)), int(os.environ.get("EXISTING", 1000)), int(os.environ.get("PODS", 10000))
mode = sys.argv[1] if len(sys.argv) > 1 else "restart"
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
PORT = free_port(); TMP = tempfile.mkdtemp(prefix="kubec-sched-"); DATA = os.path.join(TMP, "data")
LOG = os.path.join(TMP, "server.log")
def start(extra):
    kc = os.path.join(DATA, "kubeconfig")
    if os.path.exists(kc): os.unlink(kc)
    p = subprocess.Popen([KUBEC, "server", "--data-dir", DATA, "--listen", "127.0.0.1:%d" % PORT] + extra,
                         stdout=open(LOG, "ab"), stderr=subprocess.STDOUT)
    while not os.path.exists(kc): time.sleep(0.01)
    return p
def conn(): return http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
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
def post(c, path, obj):
    c.request("POST", path, json.dumps(obj), {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status == 201, (r.status, path)
def node(c, i):
    name = "node-%d" % i
    post(c, "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
         "status": {"capacity": {"cpu": "4", "memory": "32Gi", "pods": "110"}, "allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}}})
def pod(name, node=None):
    spec = {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}, "limits": {"cpu": "100m", "memory": "500Mi"}}}]}
    if node: spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec}
def existing(c, i): post(c, "/api/v1/namespaces/default/pods", pod("init-%d" % i, "node-%d" % (i % NODES)))
def pending(c, i): post(c, "/api/v1/namespaces/default/pods", pod("pod-%d" % i))

bound_ts = []
def watcher(rv, done):
    c = conn(); c.sock = None
    c.request("GET", "/api/v1/namespaces/default/pods?watch=1&resourceVersion=%s" % rv)
    r = c.getresponse(); seen = set()
    while len(seen) < PODS:
        line = r.readline()
        if not line: break
        ev = json.loads(line); o = ev["object"]
        n = o["metadata"]["name"]
        if n.startswith("pod-") and o["spec"].get("nodeName") and n not in seen:
            seen.add(n); bound_ts.append(time.time())
    done.set()

t0 = time.time()
CTL = ["--controllers=*,-nodelifecycle"]
srv = start((["--disable-scheduler"] if mode == "restart" else []) + CTL)
parallel(NODES, node); print("nodes created in %.1fs" % (time.time() - t0))
parallel(EXISTING, existing)
c = conn(); c.request("GET", "/api/v1/namespaces/default/pods?limit=1"); rv = json.loads(c.getresponse().read())["metadata"]["resourceVersion"]
if mode == "restart":
    parallel(PODS, pending); print("pods created")
    srv.send_signal(signal.SIGTERM); srv.wait()
    tstart = time.time(); srv = start(CTL)
    c = conn(); c.request("GET", "/api/v1/namespaces/default/pods?limit=1"); rv = json.loads(c.getresponse().read())["metadata"]["resourceVersion"]
    done = threading.Event(); threading.Thread(target=watcher, args=(rv, done), daemon=True).start()
    # pods bound before the watch started are counted by a list
    done.wait(300)
else:
    done = threading.Event(); threading.Thread(target=watcher, args=(rv, done), daemon=True).start()
    time.sleep(0.3)
    tstart = time.time()
    parallel(PODS, pending); print("pods created in %.1fs" % (time.time() - tstart))
    done.wait(300)
tend = time.time()
c = conn(); c.request("GET", "/api/v1/namespaces/default/pods"); items = json.loads(c.getresponse().read())["items"]
nb = sum(1 for o in items if o["metadata"]["name"].startswith("pod-") and o["spec"].get("nodeName"))
per_node = {}
for o in items:
    if o["spec"].get("nodeName"): per_node[o["spec"]["nodeName"]] = per_node.get(o["spec"]["nodeName"], 0) + 1
print("bound %d/%d; watch saw %d; max pods on a node %d" % (nb, PODS, len(bound_ts), max(per_node.values())))
def per_second(ts):
    """Binds counted per wall-clock second (time.time() floored), every second from the one of the first
    bind to the one of the last, empty seconds included; the first and last seconds are partial."""
    lo, hi = int(min(ts)), int(max(ts))
    counts = [0] * (hi - lo + 1)
    for t in ts: counts[int(t) - lo] += 1
    return counts
def pct(sorted_v, p):  # nearest rank
    return sorted_v[max(0, min(len(sorted_v) - 1, -(-len(sorted_v) * p // 100) - 1))]
if bound_ts:
    first, last = min(bound_ts), max(bound_ts)
    print("from start: %.2fs, first bind at +%.2fs, last at +%.2fs" % (tend - tstart, first - tstart, last - tstart))
    rates = per_second(bound_ts); rs = sorted(rates)
    print("pods/s overall (binds / (last - first bind)) %.0f over %.2fs" % (len(bound_ts) / max(last - first, 1e-3), last - first))
    print("pods/s per wall-clock second over %d seconds: mean %.0f p50 %d p99 %d; counts %s" % (
        len(rates), statistics.mean(rates), pct(rs, 50), pct(rs, 99), rates))
srv.send_signal(signal.SIGTERM); srv.wait()
shutil.rmtree(TMP, ignore_errors=True)
