"""The real kubectl (v1.32 via the dispatcher) against a kubec server: every command here must
behave as it does against a real API server, with the same output lines."""
import json
import re
import threading
import time

import pytest

from conftest import manifest, wait_for

# The API server alone: these tests check API semantics, which controllers acting on the same
# objects (rewriting status, creating pods) would blur; the controllers have their own modules.
SERVER_ARGS = ["--controllers=", "--disable-scheduler"]

GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def rv_of(kubectl, ns, what):
    return kubectl.ok("-n", ns, "get", what, "-o", "jsonpath={.metadata.resourceVersion}").out


def jp(kubectl, ns, what, path):
    return kubectl.ok("-n", ns, "get", what, "-o", "jsonpath=" + path).out


class LineReader:
    """Collects a background process' stdout lines in a thread."""

    def __init__(self, proc):
        self.proc, self.lines = proc, []
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self):
        return "\n".join(self.lines)


# ---- create ----------------------------------------------------------------------------------

def test_create_deployment_service_configmap(kubectl, ns):
    r = kubectl.ok("-n", ns, "create", "-f", manifest("deployment.yaml"))
    assert r.out.strip() == "deployment.apps/web created"
    r = kubectl.ok("-n", ns, "create", "-f", manifest("service.yaml"))
    assert r.out.strip() == "service/web created"
    r = kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    assert r.out.strip() == "configmap/cfg created"

    d = kubectl.ok("-n", ns, "get", "deployment", "web", "-o", "json").json()
    assert d["kind"] == "Deployment" and d["apiVersion"] == "apps/v1"
    assert d["metadata"]["namespace"] == ns
    assert d["metadata"]["generation"] == 1
    assert d["metadata"]["uid"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["metadata"]["creationTimestamp"])
    assert d["spec"]["replicas"] == 2
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    s = kubectl.ok("-n", ns, "get", "svc", "web", "-o", "json").json()
    assert s["spec"]["ports"][0]["port"] == 80
    cm = kubectl.ok("-n", ns, "get", "cm", "cfg", "-o", "json").json()
    assert cm["data"] == {"color": "blue", "size": "large"}

    r = kubectl.fail("-n", ns, "create", "-f", manifest("configmap.yaml"))
    assert "Error from server (AlreadyExists)" in r.err
    assert 'configmaps "cfg" already exists' in r.err


def test_create_multi_document(kubectl, ns):
    r = kubectl.ok("-n", ns, "create", "-f", manifest("multi.yaml"))
    assert r.out.splitlines() == [
        "configmap/multi-a created",
        "configmap/multi-b created",
        "secret/multi-secret created",
        "serviceaccount/multi-sa created",
    ]
    r = kubectl.ok("-n", ns, "get", "cm,secret,sa", "-l", "group=multi", "-o", "name")
    assert sorted(r.out.split()) == ["configmap/multi-a", "configmap/multi-b",
                                     "secret/multi-secret", "serviceaccount/multi-sa"]
    assert jp(kubectl, ns, "cm/multi-b", "{.data.k}") == "b"
    r = kubectl.ok("-n", ns, "delete", "-f", manifest("multi.yaml"))
    assert len([l for l in r.out.splitlines() if l.endswith(" deleted")]) == 4
    r = kubectl.fail("-n", ns, "get", "cm", "multi-a")
    assert 'configmaps "multi-a" not found' in r.err


def test_kind_list_files_round_trip(kubectl, ns, tmp_path):
    """`kubectl get -o yaml` writes a kind: List; applying it back is a daily workflow. kubectl looks
    List up in /openapi/v2, then sends each item with fieldValidation, so the server still checks them."""
    kubectl.ok("-n", ns, "create", "configmap", "l-a", "--from-literal=k=a")
    kubectl.ok("-n", ns, "create", "configmap", "l-b", "--from-literal=k=b")
    f = tmp_path / "list.yaml"
    f.write_text(kubectl.ok("-n", ns, "get", "cm", "l-a", "l-b", "-o", "yaml").out.replace("k: b", "k: changed"))
    r = kubectl.ok("-n", ns, "apply", "-f", str(f))
    assert "configmap/l-a configured" in r.out and "configmap/l-b configured" in r.out, r
    assert jp(kubectl, ns, "cm/l-b", "{.data.k}") == "changed"
    lst = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "l-c"}, "data": {"k": "c"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "l-d"}, "dataa": {"k": "d"}}]}
    r = kubectl.fail("-n", ns, "create", "-f", "-", input=json.dumps(lst))
    assert "configmap/l-c created" in r.out, r
    assert 'strict decoding error: unknown field "dataa"' in r.err, r
    kubectl.fail("-n", ns, "get", "cm", "l-d")


def test_create_into_missing_namespace(kubectl):
    r = kubectl.fail("-n", "no-such-ns", "create", "-f", manifest("configmap.yaml"))
    assert "Error from server (NotFound)" in r.err
    assert 'namespaces "no-such-ns" not found' in r.err


def test_generate_name(kubectl, ns):
    names = []
    for _ in range(6):
        r = kubectl.ok("-n", ns, "create", "-f", manifest("generate-name.yaml"))
        m = re.fullmatch(r"configmap/(gen-\S+) created", r.out.strip())
        assert m, r
        names.append(m.group(1))
    for n in names:
        assert re.fullmatch("gen-[%s]{5}" % GENERATE_ALPHABET, n), n
    assert len(set(names)) == len(names)
    got = kubectl.ok("-n", ns, "get", "cm", "-o", "name").out.split()
    assert sorted(got) == sorted("configmap/" + n for n in names)
    assert jp(kubectl, ns, "cm/" + names[0], "{.metadata.generateName}") == "gen-"
    # an explicit name wins over generateName, and a clash on it is a clash (no generated retry)
    named = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fixed", "generateName": "gen-"}}
    kubectl.ok("-n", ns, "create", "-f", "-", input=json.dumps(named))
    r = kubectl.fail("-n", ns, "create", "-f", "-", input=json.dumps(named))
    assert 'configmaps "fixed" already exists' in r.err, r
    assert len(kubectl.ok("-n", ns, "get", "cm", "-o", "name").out.split()) == len(names) + 1


# ---- apply -----------------------------------------------------------------------------------

def test_apply_create_then_unchanged(kubectl, ns):
    r = kubectl.ok("-n", ns, "apply", "-f", manifest("configmap.yaml"))
    assert r.out.strip() == "configmap/cfg created"
    cm = kubectl.ok("-n", ns, "get", "cm", "cfg", "-o", "json").json()
    last = json.loads(cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["data"] == {"color": "blue", "size": "large"}
    rv = cm["metadata"]["resourceVersion"]
    for _ in range(2):
        r = kubectl.ok("-n", ns, "apply", "-f", manifest("configmap.yaml"))
        assert r.out.strip() == "configmap/cfg unchanged"
    assert rv_of(kubectl, ns, "cm/cfg") == rv


def test_apply_deployment_unchanged(kubectl, ns):
    r = kubectl.ok("-n", ns, "apply", "-f", manifest("deployment.yaml"))
    assert r.out.strip() == "deployment.apps/web created"
    rv = rv_of(kubectl, ns, "deploy/web")
    r = kubectl.ok("-n", ns, "apply", "-f", manifest("deployment.yaml"))
    assert r.out.strip() == "deployment.apps/web unchanged"
    assert rv_of(kubectl, ns, "deploy/web") == rv


def test_apply_changed_manifest(kubectl, ns, tmp_path):
    kubectl.ok("-n", ns, "apply", "-f", manifest("configmap.yaml"))
    changed = open(manifest("configmap.yaml")).read().replace("color: blue", "color: green")
    f = tmp_path / "cm.yaml"
    f.write_text(changed)
    r = kubectl.ok("-n", ns, "apply", "-f", str(f))
    assert r.out.strip() == "configmap/cfg configured"
    assert jp(kubectl, ns, "cm/cfg", "{.data.color}") == "green"


# ---- get -------------------------------------------------------------------------------------

def test_get_output_formats(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("deployment.yaml"))
    r = kubectl.ok("-n", ns, "get", "deploy", "web", "-o", "yaml")
    assert "kind: Deployment" in r.out and "  name: web\n" in r.out and "image: nginx:1.25" in r.out
    d = kubectl.ok("-n", ns, "get", "deploy", "web", "-o", "json").json()
    assert d["metadata"]["name"] == "web"
    lst = kubectl.ok("-n", ns, "get", "deploy", "-o", "json").json()
    assert [i["metadata"]["name"] for i in lst["items"]] == ["web"]
    r = kubectl.ok("-n", ns, "get", "deploy", "-o", "wide")
    lines = r.out.splitlines()
    assert lines[0].split()[0] == "NAME" and lines[1].split()[0] == "web"
    r = kubectl.ok("-n", ns, "get", "deploy", "-o", "name")
    assert r.out.strip() == "deployment.apps/web"
    r = kubectl.ok("-n", ns, "get", "deploy", "web", "-o",
                   "jsonpath={.spec.template.spec.containers[0].image} {.spec.replicas}")
    assert r.out == "nginx:1.25 2"
    r = kubectl.ok("-n", ns, "get", "deploy", "-o", "jsonpath={.items[*].metadata.name}")
    assert r.out == "web"
    r = kubectl.fail("-n", ns, "get", "deploy", "nope")
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in r.err


def test_get_selectors_and_all_namespaces(kubectl, server, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    kubectl.ok("-n", ns, "create", "-f", manifest("multi.yaml"))
    r = kubectl.ok("-n", ns, "get", "cm", "-l", "group=multi", "-o", "name")
    assert r.out.split() == ["configmap/multi-a", "configmap/multi-b"]
    r = kubectl.ok("-n", ns, "get", "cm", "-l", "app=web,env in (prod,dev)", "-o", "name")
    assert r.out.split() == ["configmap/cfg"]
    r = kubectl.ok("-n", ns, "get", "cm", "-l", "group!=multi", "-o", "name")
    assert "configmap/cfg" in r.out.split() and "configmap/multi-a" not in r.out
    r = kubectl.ok("-n", ns, "get", "cm", "-l", "nosuchlabel=x")
    assert r.out == "" and "No resources found in %s namespace." % ns in r.err
    r = kubectl.ok("-n", ns, "get", "cm", "--field-selector", "metadata.name=multi-b", "-o", "name")
    assert r.out.split() == ["configmap/multi-b"]
    r = kubectl.ok("-n", ns, "get", "cm", "--field-selector", "metadata.name!=multi-b", "-l", "group=multi",
                   "-o", "name")
    assert r.out.split() == ["configmap/multi-a"]

    other = __import__("conftest").make_namespace(server)
    kubectl.ok("-n", other, "create", "-f", manifest("configmap.yaml"))
    r = kubectl.ok("get", "cm", "-A", "--field-selector", "metadata.name=cfg")
    rows = [l.split() for l in r.out.splitlines()]
    assert rows[0][:2] == ["NAMESPACE", "NAME"]
    # other tests' namespaces may still be terminating: look at ours only
    assert all(row[1] == "cfg" for row in rows[1:]), rows
    assert sorted(row[:2] for row in rows[1:] if row[0] in (ns, other)) == sorted([[ns, "cfg"], [other, "cfg"]])
    r = kubectl.ok("get", "cm", "-A", "-l", "group=multi", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}")
    mine = [x for x in r.out.split() if x.split("/")[0] in (ns, other)]
    assert mine == ["%s/multi-a" % ns, "%s/multi-b" % ns]
    assert all(x.split("/")[1] in ("multi-a", "multi-b") for x in r.out.split())
    r = kubectl.ok("get", "cm", "-A", "--field-selector", "metadata.namespace=%s" % other, "-o", "name")
    assert r.out.split() == ["configmap/cfg"]


def test_get_watch(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    p = kubectl.popen("-n", ns, "get", "cm", "-w", "-o", "jsonpath={.metadata.name}={.data.color}{\"\\n\"}")
    try:
        rd = LineReader(p)
        wait_for(lambda: "cfg=blue" in rd.lines, what="initial list line; got %r" % rd.lines)
        time.sleep(0.3)  # the watch request follows the list
        kubectl.ok("-n", ns, "create", "-f", manifest("generate-name.yaml"))
        kubectl.ok("-n", ns, "patch", "cm", "cfg", "--type=merge", "-p", '{"data":{"color":"red"}}')
        wait_for(lambda: "cfg=red" in rd.lines, what="MODIFIED line; got %r" % rd.lines)
        assert any(re.fullmatch("gen-[%s]{5}=" % GENERATE_ALPHABET, l) for l in rd.lines), rd.lines
        assert p.poll() is None, "kubectl get -w exited early"
    finally:
        p.kill()
        p.wait()


# ---- label / annotate ------------------------------------------------------------------------

def test_label(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    r = kubectl.ok("-n", ns, "label", "cm", "cfg", "team=blue")
    assert r.out.strip() == "configmap/cfg labeled"
    assert jp(kubectl, ns, "cm/cfg", "{.metadata.labels.team}") == "blue"
    r = kubectl.fail("-n", ns, "label", "cm", "cfg", "team=red")
    assert "'team' already has a value (blue), and --overwrite is false" in r.err
    kubectl.ok("-n", ns, "label", "cm", "cfg", "team=red", "--overwrite")
    assert jp(kubectl, ns, "cm/cfg", "{.metadata.labels.team}") == "red"
    r = kubectl.ok("-n", ns, "label", "cm", "cfg", "team-")
    assert r.out.strip() == "configmap/cfg unlabeled"
    labels = kubectl.ok("-n", ns, "get", "cm", "cfg", "-o", "json").json()["metadata"]["labels"]
    assert labels == {"app": "web", "env": "prod"}

    rv = rv_of(kubectl, ns, "cm/cfg")
    r = kubectl.fail("-n", ns, "label", "cm", "cfg", "x=y", "--resource-version=1")
    assert "Error from server (Conflict)" in r.err
    assert "the object has been modified" in r.err
    assert rv_of(kubectl, ns, "cm/cfg") == rv
    kubectl.ok("-n", ns, "label", "cm", "cfg", "x=y", "--resource-version=" + rv)
    assert jp(kubectl, ns, "cm/cfg", "{.metadata.labels.x}") == "y"
    assert int(rv_of(kubectl, ns, "cm/cfg")) > int(rv)
    r = kubectl.ok("-n", ns, "get", "cm", "-l", "x=y", "-o", "name")
    assert r.out.split() == ["configmap/cfg"]


def test_annotate(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    r = kubectl.ok("-n", ns, "annotate", "cm", "cfg", "note=hello world")
    assert r.out.strip() == "configmap/cfg annotated"
    assert jp(kubectl, ns, "cm/cfg", "{.metadata.annotations.note}") == "hello world"
    kubectl.fail("-n", ns, "annotate", "cm", "cfg", "note=x")
    kubectl.ok("-n", ns, "annotate", "cm", "cfg", "note=x", "--overwrite")
    assert jp(kubectl, ns, "cm/cfg", "{.metadata.annotations.note}") == "x"
    kubectl.ok("-n", ns, "annotate", "cm", "cfg", "note-")
    cm = kubectl.ok("-n", ns, "get", "cm", "cfg", "-o", "json").json()
    assert "note" not in (cm["metadata"].get("annotations") or {})
    r = kubectl.fail("-n", ns, "annotate", "cm", "cfg", "a=b", "--resource-version=2")
    assert "Error from server (Conflict)" in r.err


# ---- patch -----------------------------------------------------------------------------------

def test_patch_merge_and_json(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    r = kubectl.ok("-n", ns, "patch", "cm", "cfg", "--type=merge", "-p", '{"data":{"color":"green","size":null}}')
    assert r.out.strip() == "configmap/cfg patched"
    cm = kubectl.ok("-n", ns, "get", "cm", "cfg", "-o", "json").json()
    assert cm["data"] == {"color": "green"}
    rv = cm["metadata"]["resourceVersion"]

    r = kubectl.ok("-n", ns, "patch", "cm", "cfg", "--type=merge", "-p", '{"data":{"color":"green"}}')
    assert r.out.strip() == "configmap/cfg patched (no change)"
    assert rv_of(kubectl, ns, "cm/cfg") == rv

    r = kubectl.ok("-n", ns, "patch", "cm", "cfg", "--type=json", "-p",
                   '[{"op":"test","path":"/data/color","value":"green"},'
                   '{"op":"add","path":"/data/shape","value":"round"},'
                   '{"op":"replace","path":"/data/color","value":"teal"}]')
    assert r.out.strip() == "configmap/cfg patched"
    assert kubectl.ok("-n", ns, "get", "cm", "cfg", "-o", "json").json()["data"] == \
        {"color": "teal", "shape": "round"}
    kubectl.ok("-n", ns, "patch", "cm", "cfg", "--type=json", "-p", '[{"op":"remove","path":"/data/shape"}]')
    assert kubectl.ok("-n", ns, "get", "cm", "cfg", "-o", "json").json()["data"] == {"color": "teal"}

    rv = rv_of(kubectl, ns, "cm/cfg")
    r = kubectl.fail("-n", ns, "patch", "cm", "cfg", "--type=json", "-p",
                     '[{"op":"test","path":"/data/color","value":"purple"},'
                     '{"op":"replace","path":"/data/color","value":"black"}]')
    assert "invalid" in r.err.lower(), r
    assert jp(kubectl, ns, "cm/cfg", "{.data.color}") == "teal"
    assert rv_of(kubectl, ns, "cm/cfg") == rv
    r = kubectl.fail("-n", ns, "patch", "cm", "cfg", "--type=json", "-p", '[{"op":"remove","path":"/data/nope"}]')
    assert rv_of(kubectl, ns, "cm/cfg") == rv


def test_patch_deployment_no_change(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("deployment.yaml"))
    rv = rv_of(kubectl, ns, "deploy/web")
    r = kubectl.ok("-n", ns, "patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"replicas":2}}')
    assert r.out.strip() == "deployment.apps/web patched (no change)"
    r = kubectl.ok("-n", ns, "patch", "deploy", "web", "--type=json", "-p",
                   '[{"op":"replace","path":"/spec/replicas","value":2}]')
    assert r.out.strip() == "deployment.apps/web patched (no change)"
    assert rv_of(kubectl, ns, "deploy/web") == rv


# ---- scale -----------------------------------------------------------------------------------

def test_scale_deployment(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("deployment.yaml"))
    r = kubectl("-n", ns, "scale", "deployment", "web", "--replicas=3")
    assert jp(kubectl, ns, "deploy/web", "{.spec.replicas}") == "3"
    assert (r.rc, r.out.strip(), r.err) == (0, "deployment.apps/web scaled", "")
    raw = kubectl.ok("get", "--raw", "/apis/apps/v1/namespaces/%s/deployments/web/scale" % ns).json()
    assert raw["kind"] == "Scale" and raw["apiVersion"] == "autoscaling/v1"
    assert raw["metadata"]["name"] == "web"
    assert raw["spec"]["replicas"] == 3
    assert raw["status"]["selector"] == "app=web"
    r = kubectl.fail("-n", ns, "scale", "deployment", "web", "--replicas=5", "--current-replicas=2")
    assert "Expected replicas to be 2, was 3" in r.err
    r = kubectl.ok("-n", ns, "scale", "deployment", "web", "--replicas=1", "--current-replicas=3")
    assert r.out.strip() == "deployment.apps/web scaled"
    assert jp(kubectl, ns, "deploy/web", "{.spec.replicas}") == "1"


# ---- generation and status -------------------------------------------------------------------

def test_generation_moves_only_on_spec_changes(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("deployment.yaml"))
    assert jp(kubectl, ns, "deploy/web", "{.metadata.generation}") == "1"
    kubectl.ok("-n", ns, "label", "deploy", "web", "extra=1")
    kubectl.ok("-n", ns, "annotate", "deploy", "web", "note=1")
    assert jp(kubectl, ns, "deploy/web", "{.metadata.generation}") == "1"
    kubectl.ok("-n", ns, "patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"replicas":4}}')
    assert jp(kubectl, ns, "deploy/web", "{.metadata.generation}") == "2"
    kubectl.ok("-n", ns, "patch", "deploy", "web", "--type=json", "-p",
               '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.27"}]')
    assert jp(kubectl, ns, "deploy/web", "{.metadata.generation}") == "3"
    kubectl.ok("-n", ns, "patch", "deploy", "web", "--subresource=status", "--type=merge",
               "-p", '{"status":{"replicas":4}}')
    assert jp(kubectl, ns, "deploy/web", "{.metadata.generation}") == "3"


def test_status_subresource(kubectl, ns, tmp_path):
    kubectl.ok("-n", ns, "create", "-f", manifest("deployment.yaml"))
    r = kubectl.ok("-n", ns, "patch", "deploy", "web", "--subresource=status", "--type=merge",
                   "-p", '{"status":{"replicas":5,"observedGeneration":1},"spec":{"replicas":9},'
                         '"metadata":{"labels":{"sneaky":"yes"}}}')
    assert r.out.strip() == "deployment.apps/web patched"
    d = kubectl.ok("-n", ns, "get", "deploy", "web", "-o", "json").json()
    assert d["status"]["replicas"] == 5 and d["status"]["observedGeneration"] == 1
    assert d["spec"]["replicas"] == 2
    assert "sneaky" not in d["metadata"]["labels"]

    # PUT on the main resource ignores status
    d["status"] = {"replicas": 77}
    d["spec"]["replicas"] = 6
    f = tmp_path / "web.json"
    f.write_text(json.dumps(d))
    kubectl.ok("-n", ns, "replace", "-f", str(f))
    d2 = kubectl.ok("-n", ns, "get", "deploy", "web", "-o", "json").json()
    assert d2["spec"]["replicas"] == 6
    assert d2["status"]["replicas"] == 5

    # PUT on /status changes status only
    d2["status"]["replicas"] = 8
    d2["spec"]["replicas"] = 1
    st, doc, _ = kubectl.srv.api("PUT", "/apis/apps/v1/namespaces/%s/deployments/web/status" % ns, d2)
    assert st == 200, doc
    assert doc["status"]["replicas"] == 8 and doc["spec"]["replicas"] == 6
    d3 = kubectl.ok("-n", ns, "get", "deploy", "web", "-o", "json").json()
    assert d3["status"]["replicas"] == 8 and d3["spec"]["replicas"] == 6
    raw = kubectl.ok("get", "--raw", "/apis/apps/v1/namespaces/%s/deployments/web/status" % ns).json()
    assert raw["kind"] == "Deployment" and raw["status"]["replicas"] == 8


# ---- delete / wait ---------------------------------------------------------------------------

def test_delete(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    kubectl.ok("-n", ns, "create", "-f", manifest("deployment.yaml"))
    r = kubectl.ok("-n", ns, "delete", "cm", "cfg")
    assert r.out.strip() == 'configmap "cfg" deleted'
    r = kubectl.fail("-n", ns, "get", "cm", "cfg")
    assert 'configmaps "cfg" not found' in r.err
    r = kubectl.fail("-n", ns, "delete", "cm", "cfg")
    assert 'Error from server (NotFound): configmaps "cfg" not found' in r.err
    r = kubectl.ok("-n", ns, "delete", "-f", manifest("deployment.yaml"))
    assert r.out.strip() == 'deployment.apps "web" deleted'
    kubectl.ok("-n", ns, "create", "-f", manifest("multi.yaml"))
    r = kubectl.ok("-n", ns, "delete", "cm", "-l", "group=multi")
    assert sorted(r.out.splitlines()) == ['configmap "multi-a" deleted', 'configmap "multi-b" deleted']
    assert kubectl.ok("-n", ns, "get", "secret", "-o", "name").out.split() == ["secret/multi-secret"]


def test_delete_waits_for_finalizer(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("finalizer-cm.yaml"))
    p = kubectl.popen("-n", ns, "delete", "cm", "held", "--timeout=30s")
    try:
        wait_for(lambda: jp(kubectl, ns, "cm/held", "{.metadata.deletionTimestamp}"), what="deletionTimestamp")
        time.sleep(1.0)
        assert p.poll() is None, "kubectl delete returned while the finalizer was still there: %r" % (
            p.communicate(),)
        assert jp(kubectl, ns, "cm/held", "{.metadata.finalizers[0]}") == "example.com/hold"
        kubectl.ok("-n", ns, "patch", "cm", "held", "--type=json", "-p",
                   '[{"op":"remove","path":"/metadata/finalizers"}]')
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, (out, err)
    assert out.strip() == 'configmap "held" deleted'
    r = kubectl.fail("-n", ns, "get", "cm", "held")
    assert "NotFound" in r.err


def test_wait_for_delete(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("finalizer-cm.yaml"))
    r = kubectl.fail("-n", ns, "wait", "--for=delete", "cm/held", "--timeout=1s")
    assert "timed out waiting for the condition" in r.err
    p = kubectl.popen("-n", ns, "wait", "--for=delete", "cm/held", "--timeout=30s")
    try:
        time.sleep(0.5)
        kubectl.ok("-n", ns, "delete", "cm", "held", "--wait=false")
        time.sleep(0.5)
        assert p.poll() is None, "wait --for=delete returned while the object still exists"
        kubectl.ok("-n", ns, "patch", "cm", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, (out, err)
    assert out.strip() == "configmap/held condition met"


def test_namespace_deletion_removes_content(kubectl):
    kubectl.ok("create", "-f", manifest("namespace.yaml"))
    kubectl.ok("-n", "e2e-doomed", "create", "-f", manifest("configmap.yaml"))
    kubectl.ok("-n", "e2e-doomed", "create", "-f", manifest("deployment.yaml"))
    r = kubectl.ok("delete", "ns", "e2e-doomed", "--wait", "--timeout=60s", timeout=90)
    assert r.out.strip() == 'namespace "e2e-doomed" deleted'
    r = kubectl.fail("get", "ns", "e2e-doomed")
    assert 'namespaces "e2e-doomed" not found' in r.err
    r = kubectl.ok("get", "cm,deploy", "-A", "--field-selector", "metadata.namespace=e2e-doomed", "-o", "name")
    assert r.out.strip() == ""
    st, doc, _ = kubectl.srv.api("GET", "/api/v1/namespaces/e2e-doomed/configmaps/cfg")
    assert st == 404, doc


# ---- validation ------------------------------------------------------------------------------

def test_invalid_name_422(kubectl, ns):
    r = kubectl.fail("-n", ns, "create", "-f", manifest("invalid-name.yaml"))
    assert 'The Deployment "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"' in r.err
    assert "RFC 1123" in r.err


def test_endpoints_addresses_must_be_ips_422(kubectl, ns):
    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual"},
          "subsets": [{"addresses": [{"ip": "10.1.2.3"}, {"ip": "bogus"}], "ports": [{"port": 80}]}]}
    r = kubectl.fail("-n", ns, "create", "-f", "-", input=json.dumps(ep))
    assert 'The Endpoints "manual" is invalid: subsets[0].addresses[1].ip: Invalid value: "bogus": ' \
           'must be a valid IP address' in r.err, r
    ep["subsets"][0]["addresses"].pop()
    kubectl.ok("-n", ns, "create", "-f", "-", input=json.dumps(ep))


def test_invalid_label_value_422(kubectl, ns):
    r = kubectl.fail("-n", ns, "create", "-f", manifest("invalid-label.yaml"))
    assert 'The Deployment "badlabel" is invalid: ' in r.err
    assert 'metadata.labels: Invalid value: "not a valid value!"' in r.err
    assert kubectl.ok("-n", ns, "get", "deploy", "-o", "name").out == ""


def _deploy(name, replicas=1, selector=None, template_labels=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": selector or {"app": name}},
                     "template": {"metadata": {"labels": template_labels or {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


@pytest.mark.parametrize("obj,field", [
    (_deploy("negrep", replicas=-1), "spec.replicas"),
    (_deploy("mismatch", selector={"app": "a"}, template_labels={"app": "b"}), "spec.template.metadata.labels"),
    # upstream validates the template only once the selector itself is valid
    (_deploy("badsel", selector={"app": "bad value!"}, template_labels={"app": "bad value!"}),
     'spec.selector.matchLabels: Invalid value: "bad value!"'),
    (_deploy("badtpl", selector={"app": "ok"}, template_labels={"app": "ok", "tier": "bad value!"}),
     'spec.template.labels: Invalid value: "bad value!"'),  # upstream's path (fldPath.Child("labels"))
], ids=["negative-replicas", "selector-mismatch", "bad-selector-label", "bad-template-label"])
def test_deployment_semantic_validation_422(kubectl, ns, obj, field, tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps(obj))
    r = kubectl("-n", ns, "create", "-f", str(f))
    assert r.rc != 0, "server accepted an invalid Deployment: %r" % (r,)
    assert 'The Deployment "%s" is invalid: ' % obj["metadata"]["name"] in r.err
    assert field in r.err


def test_strict_field_validation(kubectl, ns):
    r = kubectl.fail("-n", ns, "create", "-f", manifest("unknown-field.yaml"))
    assert 'unknown field "spec.bogus"' in r.err
    assert "Error from server (BadRequest)" in r.err
    kubectl.fail("-n", ns, "get", "deploy", "strict")

    r = kubectl.ok("-n", ns, "create", "-f", manifest("unknown-field.yaml"), "--validate=warn")
    assert r.out.strip() == "deployment.apps/strict created"
    assert 'Warning: unknown field "spec.bogus"' in r.err
    d = kubectl.ok("-n", ns, "get", "deploy", "strict", "-o", "json").json()
    assert "bogus" not in d["spec"]
    kubectl.ok("-n", ns, "delete", "deploy", "strict")

    r = kubectl.ok("-n", ns, "create", "-f", manifest("unknown-field.yaml"), "--validate=false")
    assert r.out.strip() == "deployment.apps/strict created"
    assert "Warning" not in r.err
    d = kubectl.ok("-n", ns, "get", "deploy", "strict", "-o", "json").json()
    assert "bogus" not in d["spec"]
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"


# ---- discovery / version ---------------------------------------------------------------------

def test_api_resources_short_names(kubectl, ns):
    r = kubectl.ok("api-resources")
    short = {}
    for line in r.out.splitlines()[1:]:
        cols = line.split()
        if len(cols) == 5:
            short.setdefault(cols[0], set()).update(cols[1].split(","))
    expected = {"deployments": "deploy", "replicasets": "rs", "statefulsets": "sts", "daemonsets": "ds",
                "pods": "po", "services": "svc", "persistentvolumeclaims": "pvc", "persistentvolumes": "pv",
                "configmaps": "cm", "namespaces": "ns", "nodes": "no", "endpoints": "ep", "storageclasses": "sc"}
    for res, sn in expected.items():
        assert sn in short.get(res, set()), (res, sn, r.out)
    names = set(l.split()[0] for l in r.out.splitlines()[1:])
    for res in ["secrets", "serviceaccounts", "events", "controllerrevisions", "leases", "endpointslices"]:
        assert res in names, res
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    for sn in expected.values():
        r = kubectl("-n", ns, "get", sn)
        assert r.rc == 0, (sn, r)
    assert kubectl.ok("-n", ns, "get", "cm", "-o", "name").out.split() == ["configmap/cfg"]
    assert "namespace/" + ns in kubectl.ok("get", "ns", "-o", "name").out.split()
    r = kubectl.ok("api-versions")
    for gv in ["v1", "apps/v1", "storage.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
               "events.k8s.io/v1"]:
        assert gv in r.out.split(), gv


def test_get_all(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("deployment.yaml"))
    kubectl.ok("-n", ns, "create", "-f", manifest("service.yaml"))
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    r = kubectl.ok("-n", ns, "get", "all", "-o", "name")
    assert sorted(r.out.split()) == ["deployment.apps/web", "service/web"]


def test_version(kubectl):
    r = kubectl.ok("version", "-o", "json")
    v = json.loads(r.out)["serverVersion"]
    assert (v["major"], v["minor"]) == ("1", "32")
    assert v["gitVersion"].startswith("v1.32.")
    r = kubectl.ok("version")
    assert "Server Version: v1.32." in r.out


def test_every_served_kind_round_trips(kubectl, ns):
    r = kubectl.ok("-n", ns, "create", "-f", manifest("all-kinds.yaml"))
    created = r.out.splitlines()
    assert len(created) == 16 and all(l.endswith(" created") for l in created), r
    r = kubectl.ok("create", "-f", manifest("all-kinds-cluster.yaml"))
    assert r.out.splitlines() == ["persistentvolume/ak-pv created", "storageclass.storage.k8s.io/ak-sc created",
                                  "node/ak-node created"]
    try:
        r = kubectl.ok("-n", ns, "get", "po,svc,ep,cm,secret,sa,events,pvc,deploy,rs,sts,ds,controllerrevisions,"
                       "leases,endpointslices,events.events.k8s.io", "-l", "suite=all-kinds", "-o", "name")
        got = r.out.split()
        assert sorted(got) == sorted(set(got))
        for name in [l.split()[0] for l in created]:
            assert name in got, (name, got)
        r = kubectl.ok("get", "pv,sc,no", "-l", "suite=all-kinds", "-o", "name")
        assert r.out.split() == ["persistentvolume/ak-pv", "storageclass.storage.k8s.io/ak-sc", "node/ak-node"]
        assert jp(kubectl, ns, "po/ak-pod", "{.spec.containers[0].image}") == "busybox"
        r = kubectl.ok("-n", ns, "get", "events", "--field-selector", "involvedObject.name=ak-pod,reason=Testing",
                       "-o", "name")
        assert r.out.split() == ["event/ak-event"]
        r = kubectl.ok("-n", ns, "get", "leases", "ak-lease", "-o", "jsonpath={.spec.holderIdentity}")
        assert r.out == "me"
        r = kubectl.ok("get", "pv", "ak-pv", "-o", "json").json()
        assert "namespace" not in r["metadata"]
    finally:
        r = kubectl.ok("-n", ns, "delete", "-f", manifest("all-kinds.yaml"), timeout=90)
        assert len([l for l in r.out.splitlines() if l.endswith(" deleted")]) == 16, r
        kubectl.ok("delete", "-f", manifest("all-kinds-cluster.yaml"))
    # pods the workload controllers made are collected by the garbage collector, asynchronously
    wait_for(lambda: kubectl.ok("-n", ns, "get", "all", "-o", "name").out == "", timeout=30,
             what="everything in the namespace to be gone")


def test_get_named_watch(kubectl, ns):
    kubectl.ok("-n", ns, "create", "-f", manifest("configmap.yaml"))
    kubectl.ok("-n", ns, "create", "-f", manifest("multi.yaml"))
    p = kubectl.popen("-n", ns, "get", "cm", "cfg", "-w", "--output-watch-events", "-o",
                      "jsonpath={.type} {.object.metadata.name} {.object.data.color}{\"\\n\"}")
    try:
        rd = LineReader(p)
        wait_for(lambda: rd.lines, what="initial event")
        time.sleep(1.0)  # the watch (resourceVersion=0) follows the GET that printed the first line
        kubectl.ok("-n", ns, "patch", "cm", "multi-a", "--type=merge", "-p", '{"data":{"color":"x"}}')
        kubectl.ok("-n", ns, "patch", "cm", "cfg", "--type=merge", "-p", '{"data":{"color":"red"}}')
        kubectl.ok("-n", ns, "delete", "cm", "cfg")
        wait_for(lambda: len(rd.lines) >= 3, what="3 events; got %r" % rd.lines)
        time.sleep(0.3)
        assert rd.lines == ["ADDED cfg blue", "MODIFIED cfg red", "DELETED cfg red"]
    finally:
        p.kill()
        p.wait()


def test_create_generators_send_protobuf(kubectl, ns):
    # kubectl 1.32 sends these as application/vnd.kubernetes.protobuf
    kubectl.ok("-n", ns, "create", "configmap", "gen-cm", "--from-literal=a=b")
    kubectl.ok("-n", ns, "create", "secret", "generic", "gen-s", "--from-literal=x=y")
    kubectl.ok("-n", ns, "create", "deployment", "gen-d", "--image=nginx:1.25", "--replicas=2")
    kubectl.ok("-n", ns, "create", "service", "clusterip", "gen-svc", "--tcp=80:8080")
    kubectl.ok("-n", ns, "create", "serviceaccount", "gen-sa")
    assert kubectl.ok("-n", ns, "get", "cm", "gen-cm", "-o", "jsonpath={.data.a}").out == "b"
    assert kubectl.ok("-n", ns, "get", "secret", "gen-s", "-o", "jsonpath={.data.x}").out == "eQ=="
    out = kubectl.ok("-n", ns, "get", "deploy", "gen-d", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}").out
    assert out == "2 nginx:1.25"
    assert kubectl.ok("-n", ns, "get", "svc", "gen-svc", "-o", "jsonpath={.spec.ports[0].targetPort}").out == "8080"


def test_server_side_apply_conflicts_and_force(kubectl, ns, tmp_path):
    import json as _json
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ssa"},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "ssa"}},
                    "template": {"metadata": {"labels": {"app": "ssa"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}
    f = tmp_path / "d.json"
    f.write_text(_json.dumps(dep))
    assert "serverside-applied" in kubectl.ok("-n", ns, "apply", "--server-side", "-f", str(f)).out
    obj = kubectl.ok("-n", ns, "get", "deploy", "ssa", "-o", "json", "--show-managed-fields").json()
    mf = obj["metadata"]["managedFields"]
    assert any(e["manager"] == "kubectl" and e["operation"] == "Apply" for e in mf), mf
    apply_entry = [e for e in mf if e["operation"] == "Apply"][0]
    assert "f:replicas" in apply_entry["fieldsV1"]["f:spec"]
    # another manager takes spec.replicas with a different value: a conflict for the first one
    kubectl.ok("-n", ns, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-",
               input=_json.dumps({**dep, "spec": {**dep["spec"], "replicas": 5}}))
    r = kubectl.fail("-n", ns, "apply", "--server-side", "-f", str(f))
    assert 'Apply failed with 1 conflict: conflict with "other": .spec.replicas' in r.err, r.err
    kubectl.ok("-n", ns, "apply", "--server-side", "--force-conflicts", "-f", str(f))
    assert kubectl.ok("-n", ns, "get", "deploy", "ssa", "-o", "jsonpath={.spec.replicas}").out == "2"
    # server-side apply creates missing objects too, and an unchanged re-apply keeps the resourceVersion
    rv = kubectl.ok("-n", ns, "get", "deploy", "ssa", "-o", "jsonpath={.metadata.resourceVersion}").out
    kubectl.ok("-n", ns, "apply", "--server-side", "--force-conflicts", "-f", str(f))
    assert kubectl.ok("-n", ns, "get", "deploy", "ssa", "-o", "jsonpath={.metadata.resourceVersion}").out == rv
