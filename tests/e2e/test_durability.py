"""Durability: acknowledged writes survive kill -9, a clean restart keeps everything, and the
resourceVersion counter keeps growing across restarts; watches from before the restart get 410."""
import http.client
import json
import threading
import time

import pytest

from conftest import Server

# The API server alone: these tests check API semantics, which controllers acting on the same
# objects (rewriting status, creating pods) would blur; the controllers have their own modules.
SERVER_ARGS = ["--controllers=", "--disable-scheduler"]

CM = "/api/v1/namespaces/default/configmaps"


def cm(name, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"crash": "test"}},
            "data": data or {"k": name}}


@pytest.fixture
def spawn():
    """Starts servers for one test; any still running at the end (a failed test) is killed."""
    started = []

    def start(data_dir, port=None):
        srv = Server(data_dir, port=port, args=SERVER_ARGS).start()
        started.append(srv)
        return srv
    yield start
    for srv in started:
        srv.kill()


def list_cms(srv, query=""):
    st, doc, _ = srv.api("GET", CM + query)
    assert st == 200, doc
    return doc


def writer(srv, tid, stop, acked, errors):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    i = 0
    try:
        while not stop.is_set():
            name = "w%d-%05d" % (tid, i)
            i += 1
            conn.request("POST", CM, body=json.dumps(cm(name)), headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            if r.status == 201:
                obj = json.loads(body)
                assert obj["metadata"]["name"] == name
                acked.append((name, obj["metadata"]["resourceVersion"], obj["metadata"]["uid"]))
            else:
                errors.append((name, r.status, body[:200]))
    except (OSError, http.client.HTTPException):
        pass  # the server was killed under us: expected
    finally:
        conn.close()


def test_kill9_keeps_acknowledged_writes(tmp_path, spawn):
    srv = spawn(tmp_path / "data")
    stop, acked, errors = threading.Event(), [], []
    threads = [threading.Thread(target=writer, args=(srv, t, stop, acked, errors), daemon=True) for t in range(8)]
    for t in threads:
        t.start()
    t0 = time.time()
    while (len(acked) < 300 or time.time() - t0 < 0.5) and time.time() - t0 < 10:
        time.sleep(0.02)
    pid = srv.proc.pid
    srv.kill()  # SIGKILL mid-flight, writers still going
    stop.set()
    for t in threads:
        t.join(15)
    assert not errors, errors[:5]
    assert len(acked) >= 100, "too few writes acknowledged before the kill: %d" % len(acked)
    assert len(set(rv for _, rv, _ in acked)) == len(acked), "two creates acknowledged with the same RV"

    srv2 = spawn(tmp_path / "data", port=srv.port)
    try:
        assert srv2.proc.pid != pid
        doc = list_cms(srv2, "?labelSelector=crash%3Dtest")
        present = {i["metadata"]["name"]: i for i in doc["items"]}
        missing = [n for n, _, _ in acked if n not in present]
        assert not missing, "%d acknowledged objects lost, e.g. %s" % (len(missing), missing[:5])
        for name, rv, uid in acked:
            assert present[name]["metadata"]["resourceVersion"] == rv, name
            assert present[name]["metadata"]["uid"] == uid, name
            assert present[name]["data"] == {"k": name}
        max_rv = max(int(rv) for _, rv, _ in acked)
        max_rv = max([max_rv] + [int(i["metadata"]["resourceVersion"]) for i in doc["items"]])
        assert int(doc["metadata"]["resourceVersion"]) >= max_rv
        st, obj, _ = srv2.api("POST", CM, cm("after-crash"))
        assert st == 201, obj
        assert int(obj["metadata"]["resourceVersion"]) > max_rv
        # writes keep working and get increasing RVs
        st, obj2, _ = srv2.api("PUT", CM + "/after-crash", dict(obj, data={"k": "2"}))
        assert st == 200, obj2
        assert int(obj2["metadata"]["resourceVersion"]) > int(obj["metadata"]["resourceVersion"])
    finally:
        assert srv2.stop() == 0


def snapshot(srv, paths):
    out = {}
    for p in paths:
        st, doc, _ = srv.api("GET", p)
        assert st == 200, (p, doc)
        out[p] = [json.dumps(i, sort_keys=True) for i in doc["items"]]
    return out


def test_clean_restart_keeps_everything(tmp_path, spawn):
    srv = spawn(tmp_path / "data")
    st, _, _ = srv.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": "keep"}})
    assert st == 201
    for i in range(20):
        st, _, _ = srv.api("POST", "/api/v1/namespaces/keep/configmaps", cm("c%d" % i))
        assert st == 201
    st, d, _ = srv.api("POST", "/apis/apps/v1/namespaces/keep/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    assert st == 201, d
    st, d, _ = srv.api("PATCH", "/apis/apps/v1/namespaces/keep/deployments/web",
                       {"spec": {"replicas": 5}}, content_type="application/merge-patch+json")
    assert st == 200 and d["metadata"]["generation"] == 2
    st, _, _ = srv.api("PATCH", "/apis/apps/v1/namespaces/keep/deployments/web/status",
                       {"status": {"replicas": 3}}, content_type="application/merge-patch+json")
    assert st == 200
    st, _, _ = srv.api("DELETE", "/api/v1/namespaces/keep/configmaps/c3")
    assert st == 200
    st, held, _ = srv.api("POST", "/api/v1/namespaces/keep/configmaps",
                          dict(cm("held"), metadata={"name": "held", "finalizers": ["example.com/x"]}))
    assert st == 201
    st, doc, _ = srv.api("DELETE", "/api/v1/namespaces/keep/configmaps/held")
    assert st in (200, 202), doc  # the apiserver says 200; 202 is tolerated
    assert doc["metadata"]["deletionTimestamp"]

    paths = ["/api/v1/namespaces", "/api/v1/namespaces/keep/configmaps", "/apis/apps/v1/namespaces/keep/deployments"]
    before = snapshot(srv, paths)
    st, lst, _ = srv.api("GET", "/api/v1/namespaces/keep/configmaps")
    rv_before = int(lst["metadata"]["resourceVersion"])
    assert srv.stop() == 0

    srv = spawn(tmp_path / "data")
    try:
        after = snapshot(srv, paths)
        assert after == before
        names = [json.loads(i)["metadata"]["name"] for i in after["/api/v1/namespaces/keep/configmaps"]]
        assert "c3" not in names and "c4" in names and "held" in names
        st, h, _ = srv.api("GET", "/api/v1/namespaces/keep/configmaps/held")
        assert h["metadata"].get("deletionTimestamp") and h["metadata"]["finalizers"] == ["example.com/x"]
        st, d, _ = srv.api("GET", "/apis/apps/v1/namespaces/keep/deployments/web")
        assert d["spec"]["replicas"] == 5 and d["status"]["replicas"] == 3 and d["metadata"]["generation"] == 2
        st, lst, _ = srv.api("GET", "/api/v1/namespaces/keep/configmaps")
        assert int(lst["metadata"]["resourceVersion"]) >= rv_before
        st, obj, _ = srv.api("POST", "/api/v1/namespaces/keep/configmaps", cm("new"))
        assert st == 201 and int(obj["metadata"]["resourceVersion"]) > rv_before
        # finalizer removal after the restart completes the pending deletion
        st, _, _ = srv.api("PATCH", "/api/v1/namespaces/keep/configmaps/held", [{"op": "remove",
                           "path": "/metadata/finalizers"}], content_type="application/json-patch+json")
        assert st == 200
        st, _, _ = srv.api("GET", "/api/v1/namespaces/keep/configmaps/held")
        assert st == 404
    finally:
        assert srv.stop() == 0


def read_events(srv, path, timeout=10):
    """Open a watch, return (status, [events]) after the server closes the stream."""
    c = http.client.HTTPConnection(srv.host, srv.port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        lines = [l for l in body.split(b"\n") if l.strip()]
        return r.status, [json.loads(l) for l in lines]
    finally:
        c.close()


def test_watch_older_than_history_gets_410(tmp_path, spawn):
    srv = spawn(tmp_path / "data")
    rvs = []
    for i in range(5):
        st, obj, _ = srv.api("POST", CM, cm("h%d" % i))
        assert st == 201
        rvs.append(int(obj["metadata"]["resourceVersion"]))
    # before the restart, the history is there: resume from the first RV
    st, evs = read_events(srv, CM + "?watch=true&timeoutSeconds=1&resourceVersion=%d" % rvs[0])
    assert st == 200
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "h%d" % i) for i in range(1, 5)]
    assert srv.stop() == 0

    srv = spawn(tmp_path / "data")
    try:
        t0 = time.time()
        st, evs = read_events(srv, CM + "?watch=true&timeoutSeconds=5&resourceVersion=%d" % rvs[1])
        assert time.time() - t0 < 3, "the 410 stream should end at once"
        assert st == 200
        assert len(evs) == 1, evs
        e = evs[0]
        assert e["type"] == "ERROR"
        assert e["object"]["kind"] == "Status" and e["object"]["code"] == 410
        assert e["object"]["reason"] == "Expired"
        assert e["object"]["status"] == "Failure"

        # the current RV is fine
        lst = list_cms(srv)
        st, evs = read_events(srv, CM + "?watch=true&timeoutSeconds=1&resourceVersion=" + lst["metadata"]["resourceVersion"])
        assert st == 200 and evs == []
        # an exact list at an expired RV is 410 too
        st, doc, _ = srv.api("GET", CM + "?resourceVersion=%d&resourceVersionMatch=Exact" % rvs[1])
        assert st == 410, doc
        assert doc["kind"] == "Status" and doc["reason"] == "Expired" and doc["code"] == 410
    finally:
        assert srv.stop() == 0
