"""GET /metrics: apiserver_request_total and apiserver_request_duration_seconds in the Prometheus
text format, read through the real kubectl (`kubectl get --raw /metrics`); requests are counted
with upstream's labels and durations move with them; watches are counted but not timed."""
import re
import time

from conftest import wait_for

# the API alone: controllers' in-process calls are not HTTP requests, but keep the counts exact
SERVER_ARGS = ["--controllers=", "--disable-scheduler"]

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def scrape(kubectl):
    """{(name, frozenset(labels)): value} of every sample."""
    out = kubectl.ok("get", "--raw", "/metrics").out
    samples = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        samples[(m.group(1), frozenset(LABEL.findall(m.group(2))))] = float(m.group(3))
    return samples


def labels(verb, resource, scope, group="", subresource="", **extra):
    d = dict(verb=verb, dry_run="", group=group, version="v1", resource=resource, subresource=subresource,
             scope=scope, component="apiserver", **extra)
    return frozenset(d.items())


def delta(after, before, name, lab):
    return after.get((name, lab), 0) - before.get((name, lab), 0)


def cm_manifest(ns, n):
    return "---\n".join("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m%d, namespace: %s}\ndata: {a: '1'}\n"
                        % (i, ns) for i in range(n))


def test_content_type_and_families(server):
    st, hdrs, body = server.raw("GET", "/metrics")
    assert st == 200
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert "# TYPE apiserver_request_total counter\n" in text
    assert "# TYPE apiserver_request_duration_seconds histogram\n" in text
    # scrapes are not observed (as upstream): reading twice changes nothing
    assert server.raw("GET", "/metrics")[2] == server.raw("GET", "/metrics")[2]


def test_apply_creates_counted_and_timed(kubectl, ns):
    before = scrape(kubectl)
    kubectl.ok("apply", "-f", "-", input=cm_manifest(ns, 5))
    mid = scrape(kubectl)
    post = labels("POST", "configmaps", "resource")
    assert delta(mid, before, "apiserver_request_total", post | {("code", "201")}) == 5
    assert delta(mid, before, "apiserver_request_duration_seconds_count", post) == 5
    # kubectl apply first GETs each object (404), then creates it
    get = labels("GET", "configmaps", "resource")
    assert delta(mid, before, "apiserver_request_total", get | {("code", "404")}) == 5
    s = delta(mid, before, "apiserver_request_duration_seconds_sum", post)
    assert 0 < s < 5, s  # each create waited for its durable commit, none for a second
    inf = post | {("le", "+Inf")}
    assert delta(mid, before, "apiserver_request_duration_seconds_bucket", inf) == 5

    # unchanged re-apply: five GETs answered 200, no write
    kubectl.ok("apply", "-f", "-", input=cm_manifest(ns, 5))
    after = scrape(kubectl)
    assert delta(after, mid, "apiserver_request_total", get | {("code", "200")}) == 5
    assert delta(after, mid, "apiserver_request_duration_seconds_count", get) == 5
    assert delta(after, mid, "apiserver_request_duration_seconds_sum", get) > 0
    assert delta(after, mid, "apiserver_request_duration_seconds_count", post) == 0


def test_list_patch_delete_and_conflict(kubectl, ns):
    kubectl.ok("create", "configmap", "c1", "-n", ns, "--from-literal=a=1")
    before = scrape(kubectl)
    kubectl.ok("get", "configmaps", "-n", ns)
    kubectl.ok("label", "configmap", "c1", "-n", ns, "x=y")
    kubectl.fail("create", "configmap", "c1", "-n", ns, "--from-literal=a=1")
    kubectl.ok("delete", "configmap", "c1", "-n", ns)
    after = scrape(kubectl)
    assert delta(after, before, "apiserver_request_total",
                 labels("LIST", "configmaps", "namespace") | {("code", "200")}) == 1
    assert delta(after, before, "apiserver_request_total",
                 labels("PATCH", "configmaps", "resource") | {("code", "200")}) == 1
    assert delta(after, before, "apiserver_request_total",
                 labels("POST", "configmaps", "resource") | {("code", "409")}) == 1
    assert delta(after, before, "apiserver_request_total",
                 labels("DELETE", "configmaps", "resource") | {("code", "200")}) == 1
    assert delta(after, before, "apiserver_request_duration_seconds_count",
                 labels("DELETE", "configmaps", "resource")) == 1


def test_watch_counted_not_timed(kubectl, ns):
    kubectl.ok("create", "configmap", "c0", "-n", ns)
    before = scrape(kubectl)
    p = kubectl.popen("get", "configmaps", "-n", ns, "-w")
    assert p.stdout.readline().startswith("NAME")  # listed; the watch starts next
    watch = labels("WATCH", "configmaps", "namespace")
    running = frozenset(x for x in watch if x[0] != "dry_run")
    wait_for(lambda: scrape(kubectl).get(("apiserver_longrunning_requests", running)) == 1, timeout=10,
             what="the watch in apiserver_longrunning_requests")
    p.kill()
    p.wait()
    pokes = iter(range(100))

    def counted():
        # the server lets go of a watch when its next event finds the client gone
        kubectl.ok("create", "configmap", "poke%d" % next(pokes), "-n", ns)
        return delta(scrape(kubectl), before, "apiserver_request_total", watch | {("code", "200")}) == 1
    wait_for(counted, timeout=10, what="the watch to be counted")
    after = scrape(kubectl)
    assert ("apiserver_request_duration_seconds_count", watch) not in after
    assert after[("apiserver_longrunning_requests", running)] == 0
