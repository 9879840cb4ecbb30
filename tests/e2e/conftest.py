"""Shared fixtures for kubec's black-box end-to-end tests.

The server binary comes from $KUBEC_BIN (default <repo>/bin/kubec). Each test module gets its own
server on a free port with a fresh data dir (starting one takes tens of milliseconds), so a crash
provoked by one module cannot cascade into the others. Helpers:

* ``Server``      start / stop (SIGTERM) / kill -9 / restart a server on a data dir.
* ``server``      module-scoped running Server.
* ``api``         plain-HTTP helper (http.client) returning (status, headers, body, json-or-None).
* ``kubectl``     runs the real kubectl with --kubeconfig and a per-test --cache-dir.
* ``ns``          a fresh namespace per test, created over HTTP (``kubectl create ns`` sends protobuf).
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KUBEC_BIN = os.environ.get("KUBEC_BIN", os.path.join(REPO, "bin", "kubec"))
KUBECTL = os.environ.get("KUBECTL", "kubectl")
MANIFESTS = os.path.join(os.path.dirname(__file__), "manifests")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One kubec server process bound to 127.0.0.1:port with its data in data_dir."""

    def __init__(self, data_dir, port=None, args=(), env=None):
        self.data_dir = str(data_dir)
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        self.port = port or free_port()
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "..", os.path.basename(self.data_dir) + ".log")
        self.log = None

    @property
    def host(self):
        return "127.0.0.1"

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def kubeconfig(self):
        return os.path.join(self.data_dir, "kubeconfig")

    def start(self, timeout=15):
        if not os.path.exists(KUBEC_BIN):
            pytest.fail("server binary %s not found (set KUBEC_BIN)" % KUBEC_BIN)
        os.makedirs(self.data_dir, exist_ok=True)
        if os.path.exists(self.kubeconfig):
            os.unlink(self.kubeconfig)  # so that its reappearance signals readiness
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [KUBEC_BIN, "server", "--data-dir", self.data_dir, "--listen", "127.0.0.1:%d" % self.port] + self.args,
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("server exited early with %s; log:\n%s" % (self.proc.returncode, self.read_log()))
            if os.path.exists(self.kubeconfig):
                try:
                    st, _, body = self.raw("GET", "/readyz", timeout=2)
                    if st == 200 and body.strip() == b"ok":
                        return self
                except OSError:
                    pass
            time.sleep(0.02)
        self.kill()
        pytest.fail("server not ready after %ss; log:\n%s" % (timeout, self.read_log()))

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail("server did not exit within %ss of SIGTERM" % timeout)
        rc = self.proc.returncode
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None
        return rc

    def kill(self):
        """kill -9 and reap."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def raw(self, method, path, body=None, headers=None, timeout=10):
        """One request on a fresh connection: (status, headers dict lower-cased, body bytes)."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def api(self, method, path, obj=None, content_type="application/json", headers=None, timeout=10):
        """JSON request: (status, json-or-None, headers). obj may be a dict/list or raw bytes/str."""
        h = dict(headers or {})
        body = None
        if obj is not None:
            body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
            if content_type is not None:
                h["Content-Type"] = content_type
        st, hdrs, data = self.raw(method, path, body=body, headers=h, timeout=timeout)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return st, doc, hdrs


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    # a module sets SERVER_ARGS to choose the server's flags (API-only modules turn controllers off)
    # and SERVER_ENV for extra environment; with --sim-nodes N, tests start once N nodes are Ready
    args = list(getattr(request.module, "SERVER_ARGS", ()))
    srv = Server(tmp_path_factory.mktemp("kubec") / "data", args=args,
                 env=getattr(request.module, "SERVER_ENV", None)).start()
    if "--sim-nodes" in args:
        n = int(args[args.index("--sim-nodes") + 1])
        wait_for(lambda: len(ready_node_names(srv)) == n, timeout=15, what="%d Ready simulated nodes" % n)
    yield srv
    alive = srv.alive()
    log = srv.read_log()
    rc = srv.stop()
    assert alive, "server died during the module; log:\n" + log
    assert rc == 0, "server exit code after SIGTERM was %s; log:\n%s" % (rc, log)


def ready_node_names(srv):
    st, doc, _ = srv.api("GET", "/api/v1/nodes")
    return [n["metadata"]["name"] for n in (doc or {}).get("items", [])
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))]


def make_namespace(srv, prefix="e2e"):
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    st, doc, _ = srv.api("POST", "/api/v1/namespaces",
                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    assert st == 201, doc
    return name


@pytest.fixture
def ns(server):
    name = make_namespace(server)
    yield name
    server.api("DELETE", "/api/v1/namespaces/" + name)


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r)" % (self.rc, self.out, self.err)

    def json(self):
        return json.loads(self.out)


class Kubectl:
    def __init__(self, srv, cache_dir, home):
        self.srv = srv
        self.cache_dir = str(cache_dir)
        self.env = dict(os.environ, HOME=str(home), KUBECONFIG=srv.kubeconfig)

    def argv(self, *args):
        return [KUBECTL, "--kubeconfig", self.srv.kubeconfig, "--cache-dir", self.cache_dir] + [str(a) for a in args]

    def __call__(self, *args, input=None, timeout=60):
        p = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                           timeout=timeout, env=self.env)
        return Result(p.returncode, p.stdout, p.stderr)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc == 0, r
        return r

    def fail(self, *args, **kw):
        r = self(*args, **kw)
        assert r.rc != 0, r
        return r

    def popen(self, *args):
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env)


@pytest.fixture
def kubectl(server, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(server, tmp_path / "kcache", home)


def manifest(name):
    return os.path.join(MANIFESTS, name)


def wait_for(pred, timeout=10, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)
