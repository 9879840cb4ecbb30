"""Hostile and malformed input over raw sockets and http.client: the server answers with the right
metav1.Status (or closes the connection) and keeps serving everyone else. The module's server
fixture also asserts at teardown that the process never died and exits 0 on SIGTERM."""
import json
import os
import socket
import time

import pytest

from conftest import make_namespace

# The API server alone: these tests check API semantics, which controllers acting on the same
# objects (rewriting status, creating pods) would blur; the controllers have their own modules.
SERVER_ARGS = ["--controllers=", "--disable-scheduler"]

CM = "/api/v1/namespaces/%s/configmaps"


def exchange(srv, data, shutdown=False, timeout=5):
    """Send raw bytes, read until the server closes (or timeout). Returns the bytes received."""
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    try:
        s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def status_line(raw):
    return raw.split(b"\r\n", 1)[0]


def assert_status(doc, code, reason=None):
    assert isinstance(doc, dict), doc
    assert doc["kind"] == "Status" and doc["apiVersion"] == "v1", doc
    assert doc["status"] == "Failure" and doc["code"] == code, doc
    if reason:
        assert doc["reason"] == reason, doc
    assert doc.get("message"), doc


def assert_healthy(srv):
    assert srv.alive(), srv.read_log()
    t0 = time.time()
    st, _, body = srv.raw("GET", "/readyz")
    assert (st, body) == (200, b"ok")
    assert time.time() - t0 < 1.0


@pytest.fixture(scope="module")
def bns(server):
    return make_namespace(server, "bad")


def cm(name, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


# ---- transport-level garbage -----------------------------------------------------------------

@pytest.mark.parametrize("data", [
    os.urandom(512) + b"\r\n\r\n",
    b"\x00" * 100 + b"\r\n\r\n",
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /readyz HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),  # a TLS ClientHello on plain http
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + os.urandom(64),           # h2 preface with junk
], ids=["random", "nuls", "word", "no-path", "http99", "bad-header", "tls", "h2-junk"])
def test_garbage_bytes(server, data):
    out = exchange(server, data, shutdown=True, timeout=3)
    if data.startswith(b"PRI * HTTP/2.0"):
        pass  # h2c prior knowledge: the server may answer with HTTP/2 frames (SETTINGS, GOAWAY)
    elif out:
        code = re_code(out)
        assert code is not None and 400 <= code <= 505, out[:200]
    assert_healthy(server)


def test_half_sent_requests(server, bns):
    # headers cut off mid-way, then close
    assert exchange(server, b"GET /readyz HTTP/1.1\r\nHost: x\r\nAcc", shutdown=True) == b""
    # full headers promising a body, part of the body, then close
    body = json.dumps(cm("half"))
    req = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
           % (CM % bns, len(body))).encode()
    out = exchange(server, req + body[:10].encode(), shutdown=True)
    assert b"201" not in status_line(out)
    st, doc, _ = server.api("GET", CM % bns + "/half")
    assert st == 404, doc
    # chunked body that never ends
    req = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           "10\r\n{\"metadata\":{\"na" % (CM % bns)).encode()
    exchange(server, req, shutdown=True)
    # broken chunk sizes
    req = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           "zz\r\nabc\r\n0\r\n\r\n" % (CM % bns)).encode()
    out = exchange(server, req, shutdown=True)
    assert status_line(out).startswith(b"HTTP/1.1 400"), out[:200]
    assert_healthy(server)


def test_huge_content_length_then_close(server, bns):
    for cl in [10 ** 12, 2 ** 63 - 1, 4 * 1024 * 1024]:
        req = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"a\":"
               % (CM % bns, cl)).encode()
        out = exchange(server, req, shutdown=False, timeout=2)
        if out:
            assert status_line(out).startswith(b"HTTP/1.1 413"), out[:200]
    out = exchange(server, ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n" % (CM % bns)).encode(),
                   shutdown=True)
    assert status_line(out).startswith(b"HTTP/1.1 400"), out[:200]
    assert_healthy(server)


def test_slow_request_still_served(server, bns):
    """A request sent a few bytes at a time is still answered."""
    s = socket.create_connection((server.host, server.port), timeout=5)
    try:
        for piece in [b"GET /re", b"adyz HTT", b"P/1.1\r\nHo", b"st: x\r\nConnection: close\r\n", b"\r\n"]:
            s.sendall(piece)
            time.sleep(0.1)
        out = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
    finally:
        s.close()
    assert status_line(out) == b"HTTP/1.1 200 OK" and out.endswith(b"ok")


def test_pipelined_requests(server):
    out = exchange(server, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\nGET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
                           b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=3)
    assert out.count(b"HTTP/1.1 200 OK") == 3, out


def test_very_long_url_and_headers(server, bns):
    out = exchange(server, b"GET /api/v1/" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                   timeout=3)
    if out:
        assert re_code(out) in (400, 404, 414, 431), out[:200]
    hdrs = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(2000))
    out = exchange(server, b"GET /readyz HTTP/1.1\r\nHost: x\r\n" + hdrs + b"Connection: close\r\n\r\n", timeout=3)
    if out:
        assert re_code(out) in (200, 400, 431), out[:200]
    assert_healthy(server)


def re_code(raw):
    parts = status_line(raw).split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


# ---- API-level bad bodies --------------------------------------------------------------------

def test_body_over_3mib_is_413(server, bns):
    body = json.dumps(cm("big", a="x" * (4 * 1024 * 1024)))
    st, doc, _ = server.api("POST", CM % bns, body)
    assert st == 413
    assert_status(doc, 413, "RequestEntityTooLarge")
    st, doc, _ = server.api("GET", CM % bns + "/big")
    assert st == 404
    # just under the limit is fine (the stored object is under the limit too)
    body = json.dumps(cm("almost", a="x" * (3 * 1024 * 1024 - 4096)))
    st, doc, _ = server.api("POST", CM % bns, body)
    assert st == 201, doc
    st, doc, _ = server.api("GET", CM % bns + "/almost")
    assert st == 200 and len(doc["data"]["a"]) == 3 * 1024 * 1024 - 4096


@pytest.mark.parametrize("body", [
    '{"metadata":',
    "{garbage}",
    "[1,2,3]",
    "",
    '"just a string"',
    '{"metadata":{"name":"x"}} trailing',
    b'{"metadata":{"name":"utf\xff"}}',
    "[" * 100000 + "]" * 100000,
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":' + '{"a":' * 5000 + '"v"' + "}" * 5001,
], ids=["truncated", "garbage", "array", "empty", "string", "trailing", "bad-utf8", "deep-array", "deep-object"])
def test_malformed_json_is_400(server, bns, body):
    st, doc, _ = server.api("POST", CM % bns, body)
    assert st == 400, doc
    assert_status(doc, 400, "BadRequest")


def test_malformed_patch_bodies(server, bns):
    st, doc, _ = server.api("POST", CM % bns, cm("p", a="1"))
    assert st == 201
    st, doc, _ = server.api("PATCH", CM % bns + "/p", '{"data":', content_type="application/merge-patch+json")
    assert st == 400
    assert_status(doc, 400, "BadRequest")
    st, doc, _ = server.api("PATCH", CM % bns + "/p", '[{"op":"bogus","path":"/data"}]',
                            content_type="application/json-patch+json")
    assert st in (400, 422)
    assert_status(doc, st)
    st, doc, _ = server.api("PATCH", CM % bns + "/p", '{"not":"a list"}', content_type="application/json-patch+json")
    assert st in (400, 422)
    assert_status(doc, st)
    st, doc, _ = server.api("PATCH", CM % bns + "/p", '{"data":{"a":"2"}}', content_type="text/plain")
    assert st == 415
    assert_status(doc, 415, "UnsupportedMediaType")
    st, doc, _ = server.api("GET", CM % bns + "/p")
    assert doc["data"] == {"a": "1"}


def test_yaml_body(server, bns):
    y = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fromyaml\n  labels: {src: yaml}\ndata:\n  a: \"1\"\n  b: two\n"
    st, doc, hdrs = server.api("POST", CM % bns, y, content_type="application/yaml")
    assert st == 201, doc
    assert hdrs["content-type"].startswith("application/json")
    assert doc["data"] == {"a": "1", "b": "two"} and doc["metadata"]["labels"] == {"src": "yaml"}
    st, doc, _ = server.api("GET", CM % bns + "/fromyaml")
    assert st == 200 and doc["data"]["b"] == "two"
    st, doc, _ = server.api("POST", CM % bns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y\n",
                            content_type="application/yaml")
    assert st == 400
    assert_status(doc, 400, "BadRequest")
    # a YAML bomb (aliases expanding exponentially) must not take the server down
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n" % ((chr(98 + i), chr(98 + i)) + (chr(97 + i),) * 9)
        for i in range(8))
    t0 = time.time()
    st, doc, _ = server.api("POST", CM % bns, bomb, content_type="application/yaml", timeout=30)
    assert st in (400, 413, 422), (st, doc)
    assert time.time() - t0 < 10
    assert_healthy(server)


def test_protobuf_bodies(server, bns):
    # k8s\0 + runtime.Unknown{typeMeta{v1, ConfigMap}, raw: ConfigMap{metadata{name: pbx}}}
    body = b"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap\x12\x07\n\x05\n\x03pbx"
    st, doc, _ = server.api("POST", CM % bns, body, content_type="application/vnd.kubernetes.protobuf")
    assert st == 201, doc
    assert doc["metadata"]["name"] == "pbx"
    assert server.api("DELETE", CM % bns + "/pbx")[0] == 200
    for garbage in (b"k8s\x00\xff\xff\xff", b"not protobuf", b"k8s\x00\n\x05\n\x02v1"):
        st, doc, _ = server.api("POST", CM % bns, garbage, content_type="application/vnd.kubernetes.protobuf")
        assert st == 400, (garbage, doc)
        assert_status(doc, 400, "BadRequest")


@pytest.mark.parametrize("obj", [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}},
    {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
    {"apiVersion": "v2", "kind": "ConfigMap", "metadata": {"name": "x"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "elsewhere"}},
], ids=["deployment-into-cm", "secret-into-cm", "wrong-group", "wrong-version", "wrong-namespace"])
def test_kind_or_apiversion_mismatch_is_400(server, bns, obj):
    st, doc, _ = server.api("POST", CM % bns, obj)
    assert st == 400, doc
    assert_status(doc, 400, "BadRequest")
    st, doc, _ = server.api("GET", CM % bns + "/x")
    assert st == 404


def test_put_name_mismatch_is_400(server, bns):
    st, doc, _ = server.api("POST", CM % bns, cm("real"))
    assert st == 201
    doc["metadata"]["name"] = "other"
    st, doc2, _ = server.api("PUT", CM % bns + "/real", doc)
    assert st == 400, doc2
    assert_status(doc2, 400, "BadRequest")


@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/default/widgets",
    "/api/v1/widgets",
    "/apis/nope.example.com/v1/widgets",
    "/apis/apps/v2/deployments",
    "/api/v2/pods",
    "/apis/apps/v1/namespaces/default/deployments/x/bogus",
])
def test_unknown_resource_is_404_status(server, path):
    st, doc, hdrs = server.api("GET", path)
    assert st == 404, doc
    assert hdrs["content-type"].startswith("application/json")
    assert_status(doc, 404, "NotFound")


@pytest.mark.parametrize("q", [
    "labelSelector=a%20in%20(", "labelSelector=%3D%3D%3D", "fieldSelector=spec.bogus%3Dx", "resourceVersion=abc",
    "watch=true&resourceVersion=-1", "resourceVersionMatch=Bogus&resourceVersion=1", "continue=%%%",
    "timeoutSeconds=abc&watch=true", "limit=abc", "watch=maybe",
])
def test_bad_query_parameters(server, bns, q):
    try:
        st, doc, _ = server.api("GET", CM % bns + "?" + q, timeout=3)
    except OSError as e:
        pytest.fail("%s: no error reply (%s); the request was accepted as a watch" % (q, e))
    assert st in (400, 410, 422), (q, st, doc)
    assert_status(doc, st)


def test_path_name_with_nul_is_literal(server):
    """DELETE .../configmaps/a%00b must not delete configmap "a"."""
    victim = make_namespace(server, "victim")
    st, doc, _ = server.api("POST", CM % victim, cm("a"))
    assert st == 201
    st, doc, _ = server.api("GET", CM % victim + "/a%00b")
    assert st in (400, 404), doc
    st, doc, _ = server.api("DELETE", CM % victim + "/a%00b")
    assert st in (400, 404), doc
    st, doc, _ = server.api("GET", CM % victim + "/a")
    assert st == 200, "DELETE of name 'a\\0b' deleted configmap 'a'"


def test_path_name_dotdot_is_literal(server):
    """GET/DELETE .../configmaps/%2e%2e must not act on the namespace."""
    victim = make_namespace(server, "victim")
    st, doc, _ = server.api("GET", CM % victim + "/%2e%2e")
    assert st in (400, 404) and doc.get("kind") != "Namespace", doc
    st, doc, _ = server.api("DELETE", CM % victim + "/%2e%2e")
    assert st in (400, 404), doc
    st, doc, _ = server.api("GET", "/api/v1/namespaces/" + victim)
    assert st == 200 and not doc["metadata"].get("deletionTimestamp"), \
        "DELETE .../configmaps/%2e%2e deleted the namespace"


def test_unknown_method(server, bns):
    st, doc, _ = server.api("BREW", CM % bns)
    assert st in (400, 405), doc
    assert_status(doc, st)


def test_idle_connections_do_not_starve_the_server(server, bns):
    socks = []
    try:
        for i in range(300):
            s = socket.create_connection((server.host, server.port), timeout=5)
            if i % 2:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n")  # never finished
            socks.append(s)
        time.sleep(0.2)
        worst = 0.0
        for i in range(30):
            t0 = time.time()
            st, doc, _ = server.api("POST", CM % bns, cm("busy-%d" % i))
            assert st == 201, doc
            st, doc, _ = server.api("GET", CM % bns + "/busy-%d" % i)
            assert st == 200
            worst = max(worst, time.time() - t0)
        assert worst < 1.0, "a create+get took %.3fs with 300 idle connections open" % worst
        st, doc, _ = server.api("GET", CM % bns + "?labelSelector=")
        assert st == 200 and len([i for i in doc["items"] if i["metadata"]["name"].startswith("busy-")]) == 30
    finally:
        for s in socks:
            s.close()
    assert_healthy(server)


def test_still_healthy_at_the_end(server):
    for p in ["/readyz", "/livez", "/healthz"]:
        st, _, body = server.raw("GET", p)
        assert (st, body) == (200, b"ok"), p
    st, doc, _ = server.api("GET", "/version")
    assert st == 200 and doc["minor"] == "32"
    assert server.alive()
