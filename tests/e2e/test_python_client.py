"""python3-kubernetes (22.6) against a kubec server: typed clients, watch, paging, DynamicClient."""
import json
import time

import pytest
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

# The API server alone: these tests check API semantics, which controllers acting on the same
# objects (rewriting status, creating pods) would blur; the controllers have their own modules.
SERVER_ARGS = ["--controllers=", "--disable-scheduler"]


@pytest.fixture(scope="module")
def api_client(server):
    c = config.new_client_from_config(config_file=server.kubeconfig)
    yield c
    c.close()


@pytest.fixture
def v1(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client):
    return client.AppsV1Api(api_client)


def cm_body(name, labels=None, **data):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data or None)


def deployment_body(name, replicas=1):
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1.25")]))))


def status_of(exc):
    body = json.loads(exc.body)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure", body
    return body


def test_crud_configmap(v1, ns):
    created = v1.create_namespaced_config_map(ns, cm_body("a", labels={"x": "1"}, k="v"))
    assert created.metadata.name == "a" and created.metadata.namespace == ns
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp.tzinfo is not None

    got = v1.read_namespaced_config_map("a", ns)
    assert got.data == {"k": "v"} and got.metadata.uid == created.metadata.uid

    items = v1.list_namespaced_config_map(ns).items
    assert [i.metadata.name for i in items] == ["a"]

    got.data["k"] = "w"
    got.metadata.labels["y"] = "2"
    replaced = v1.replace_namespaced_config_map("a", ns, got)  # echoes +00:00 timestamps back
    assert replaced.data == {"k": "w"}
    assert replaced.metadata.labels == {"x": "1", "y": "2"}
    assert replaced.metadata.creation_timestamp == created.metadata.creation_timestamp
    assert replaced.metadata.uid == created.metadata.uid
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)

    # replace with the stale object: Conflict
    got.data["k"] = "stale"
    with pytest.raises(ApiException) as ei:
        v1.replace_namespaced_config_map("a", ns, got)
    assert ei.value.status == 409
    assert status_of(ei.value)["reason"] == "Conflict"

    patched = v1.patch_namespaced_config_map("a", ns, [
        {"op": "replace", "path": "/data/k", "value": "patched"},
        {"op": "add", "path": "/data/n", "value": "new"}])
    assert patched.data == {"k": "patched", "n": "new"}

    v1.delete_namespaced_config_map("a", ns)
    with pytest.raises(ApiException) as ei:
        v1.read_namespaced_config_map("a", ns)
    assert ei.value.status == 404
    body = status_of(ei.value)
    assert body["reason"] == "NotFound" and body["code"] == 404
    assert body["message"] == 'configmaps "a" not found'
    assert body["details"]["name"] == "a"


def test_not_found_and_conflict(v1, apps, ns):
    with pytest.raises(ApiException) as ei:
        apps.read_namespaced_deployment("ghost", ns)
    assert ei.value.status == 404
    assert status_of(ei.value)["message"] == 'deployments.apps "ghost" not found'
    with pytest.raises(ApiException) as ei:
        v1.delete_namespaced_config_map("ghost", ns)
    assert ei.value.status == 404

    v1.create_namespaced_config_map(ns, cm_body("dup"))
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_config_map(ns, cm_body("dup"))
    assert ei.value.status == 409
    body = status_of(ei.value)
    assert body["reason"] == "AlreadyExists"
    assert body["message"] == 'configmaps "dup" already exists'


def test_deployment_crud_and_scale(apps, ns):
    d = apps.create_namespaced_deployment(ns, deployment_body("web", replicas=2))
    assert d.metadata.generation == 1
    d = apps.read_namespaced_deployment("web", ns)
    d.spec.replicas = 4
    d2 = apps.replace_namespaced_deployment("web", ns, d)
    assert d2.spec.replicas == 4 and d2.metadata.generation == 2
    sc = apps.read_namespaced_deployment_scale("web", ns)
    assert sc.spec.replicas == 4 and sc.status.selector == "app=web"
    d3 = apps.patch_namespaced_deployment("web", ns, [{"op": "replace", "path": "/spec/replicas", "value": 1}])
    assert d3.spec.replicas == 1 and d3.metadata.generation == 3
    st = apps.read_namespaced_deployment_status("web", ns)
    assert st.metadata.name == "web"
    names = [x.metadata.name for x in apps.list_deployment_for_all_namespaces(label_selector="app=web").items
             if x.metadata.namespace == ns]
    assert names == ["web"]
    apps.delete_namespaced_deployment("web", ns)
    with pytest.raises(ApiException) as ei:
        apps.read_namespaced_deployment("web", ns)
    assert ei.value.status == 404


def test_delete_foreground_adds_finalizer(apps, ns):
    apps.create_namespaced_deployment(ns, deployment_body("fg"))
    apps.delete_namespaced_deployment("fg", ns, body=client.V1DeleteOptions(propagation_policy="Foreground"))
    d = apps.read_namespaced_deployment("fg", ns)
    assert d.metadata.deletion_timestamp is not None
    assert "foregroundDeletion" in (d.metadata.finalizers or [])
    apps.patch_namespaced_deployment("fg", ns, [{"op": "remove", "path": "/metadata/finalizers"}])
    with pytest.raises(ApiException) as ei:
        apps.read_namespaced_deployment("fg", ns)
    assert ei.value.status == 404


def test_strategic_merge_patch(apps, ns):
    apps.create_namespaced_deployment(ns, deployment_body("smp"))
    d = apps.patch_namespaced_deployment("smp", ns, {"spec": {"replicas": 3}})
    assert d.spec.replicas == 3


def test_list_selectors(v1, ns):
    v1.create_namespaced_config_map(ns, cm_body("a", labels={"tier": "db"}))
    v1.create_namespaced_config_map(ns, cm_body("b", labels={"tier": "web"}))
    v1.create_namespaced_config_map(ns, cm_body("c"))
    names = lambda lst: sorted(i.metadata.name for i in lst.items)
    assert names(v1.list_namespaced_config_map(ns, label_selector="tier")) == ["a", "b"]
    assert names(v1.list_namespaced_config_map(ns, label_selector="!tier")) == ["c"]
    assert names(v1.list_namespaced_config_map(ns, label_selector="tier notin (db)")) == ["b", "c"]
    assert names(v1.list_namespaced_config_map(ns, field_selector="metadata.name=c")) == ["c"]
    allns = v1.list_config_map_for_all_namespaces(field_selector="metadata.namespace=%s" % ns)
    assert names(allns) == ["a", "b", "c"]
    with pytest.raises(ApiException) as ei:
        v1.list_namespaced_config_map(ns, field_selector="data.x=1")
    assert ei.value.status == 400


def test_watch_initial_then_live(v1, ns):
    v1.create_namespaced_config_map(ns, cm_body("w1", k="1"))
    v1.create_namespaced_config_map(ns, cm_body("w2", k="2"))
    w = watch.Watch()
    events = []
    acted = False
    t0 = time.time()
    for ev in w.stream(v1.list_namespaced_config_map, ns, timeout_seconds=3):
        events.append((ev["type"], ev["object"].metadata.name, (ev["object"].data or {}).get("k"),
                       ev["object"].metadata.uid, ev["object"].metadata.resource_version))
        if not acted and len(events) == 2:
            acted = True
            v1.patch_namespaced_config_map("w1", ns, [{"op": "replace", "path": "/data/k", "value": "changed"}])
            v1.delete_namespaced_config_map("w2", ns)
    elapsed = time.time() - t0
    assert 1.9 <= elapsed < 8, elapsed  # exactness of timeoutSeconds: test_watch_timeout_seconds_is_honoured
    kinds = [(e[0], e[1]) for e in events]
    assert sorted(kinds[:2]) == [("ADDED", "w1"), ("ADDED", "w2")]
    assert kinds[2:] == [("MODIFIED", "w1"), ("DELETED", "w2")], events
    assert events[2][2] == "changed"
    added_w2 = [e for e in events if e[:2] == ("ADDED", "w2")][0]
    assert events[3][3] == added_w2[3]  # same UID
    rvs = [int(e[4]) for e in events[2:]]
    assert rvs == sorted(rvs) and rvs[0] > max(int(e[4]) for e in events[:2])


def test_watch_timeout_seconds_is_honoured(server, ns):
    """The stream ends after timeoutSeconds, not up to a second early."""
    for _ in range(3):
        t0 = time.time()
        st, hdrs, body = server.raw("GET", "/api/v1/namespaces/%s/configmaps?watch=true&timeoutSeconds=1" % ns)
        elapsed = time.time() - t0
        assert st == 200 and body == b""
        assert 0.95 <= elapsed < 3, "watch with timeoutSeconds=1 ended after %.3fs" % elapsed
        time.sleep(0.3)


def test_watch_resume_from_resource_version(v1, ns):
    v1.create_namespaced_config_map(ns, cm_body("old"))
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.create_namespaced_config_map(ns, cm_body("new1"))
    v1.patch_namespaced_config_map("old", ns, [{"op": "add", "path": "/data", "value": {"x": "y"}}])
    v1.create_namespaced_config_map(ns, cm_body("new2"))
    got = []
    for ev in watch.Watch().stream(v1.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=2):
        got.append((ev["type"], ev["object"].metadata.name))
    assert got == [("ADDED", "new1"), ("MODIFIED", "old"), ("ADDED", "new2")]


def test_watch_label_selector_transitions(v1, ns):
    """An object that stops matching the selector is seen as DELETED, one that starts as ADDED."""
    v1.create_namespaced_config_map(ns, cm_body("sel", labels={"pick": "yes"}))
    rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.patch_namespaced_config_map("sel", ns, [{"op": "replace", "path": "/metadata/labels/pick", "value": "no"}])
    v1.patch_namespaced_config_map("sel", ns, [{"op": "replace", "path": "/metadata/labels/pick", "value": "yes"}])
    got = [(ev["type"], ev["object"].metadata.labels.get("pick"))
           for ev in watch.Watch().stream(v1.list_namespaced_config_map, ns, resource_version=rv,
                                          label_selector="pick=yes", timeout_seconds=2)]
    assert got == [("DELETED", "no"), ("ADDED", "yes")]


def test_list_paging(v1, ns):
    n = 23
    for i in range(n):
        v1.create_namespaced_config_map(ns, cm_body("p%02d" % i))
    seen, pages, cont, rvs = [], 0, None, set()
    while True:
        kw = {"limit": 5}
        if cont:
            kw["_continue"] = cont
        lst = v1.list_namespaced_config_map(ns, **kw)
        pages += 1
        assert len(lst.items) <= 5
        seen += [i.metadata.name for i in lst.items]
        rvs.add(lst.metadata.resource_version)
        if pages == 1:
            # changes after the first page must not show up in the remaining pages (snapshot)
            v1.create_namespaced_config_map(ns, cm_body("p99"))
            v1.delete_namespaced_config_map("p22", ns)
        cont = lst.metadata._continue
        if not cont:
            break
        assert pages < 20
    assert pages == 5
    assert seen == ["p%02d" % i for i in range(n)], seen
    assert len(rvs) == 1
    with pytest.raises(ApiException) as ei:
        v1.list_namespaced_config_map(ns, limit=5, _continue="garbage!!")
    assert ei.value.status in (400, 410)


def test_list_resource_version_semantics(v1, ns):
    c = v1.create_namespaced_config_map(ns, cm_body("hist", v="1"))
    rv = c.metadata.resource_version
    v1.patch_namespaced_config_map("hist", ns, [{"op": "replace", "path": "/data/v", "value": "2"}])
    v1.create_namespaced_config_map(ns, cm_body("later"))
    data = lambda lst: {i.metadata.name: (i.data or {}).get("v") for i in lst.items}

    exact = v1.list_namespaced_config_map(ns, resource_version=rv, resource_version_match="Exact")
    assert exact.metadata.resource_version == rv
    assert data(exact) == {"hist": "1"}
    newer = v1.list_namespaced_config_map(ns, resource_version=rv, resource_version_match="NotOlderThan")
    assert int(newer.metadata.resource_version) > int(rv)
    assert data(newer) == {"hist": "2", "later": None}
    assert data(v1.list_namespaced_config_map(ns, resource_version="0")) == {"hist": "2", "later": None}
    with pytest.raises(ApiException) as ei:
        v1.list_namespaced_config_map(ns, resource_version_match="Exact")
    assert ei.value.status == 400
    # legacy rule: a non-zero resourceVersion together with limit (and no match) means Exact
    paged = v1.list_namespaced_config_map(ns, resource_version=rv, limit=10)
    assert data(paged) == {"hist": "1"}


def test_pod_field_selectors(v1, ns):
    for n in "abc":
        v1.create_namespaced_pod(ns, client.V1Pod(
            metadata=client.V1ObjectMeta(name="p" + n),
            spec=client.V1PodSpec(node_name="node-" + n, containers=[client.V1Container(name="c", image="i")])))
    assert v1.read_namespaced_pod("pa", ns).status.phase == "Pending"
    v1.patch_namespaced_pod_status("pb", ns, [{"op": "replace", "path": "/status/phase", "value": "Running"}])
    names = lambda fs: sorted(i.metadata.name for i in v1.list_namespaced_pod(ns, field_selector=fs).items)
    assert names("spec.nodeName=node-a") == ["pa"]
    assert names("status.phase=Running") == ["pb"]
    assert names("status.phase=Pending") == ["pa", "pc"]
    assert names("status.phase!=Running,spec.nodeName!=node-c") == ["pa"]
    allns = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-c,metadata.namespace=%s" % ns)
    assert [i.metadata.name for i in allns.items] == ["pc"]


def test_namespace_termination_waits_for_finalizers(v1):
    name = "term-" + str(int(time.time() * 1000) % 100000)
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    v1.create_namespaced_config_map(name, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="held", finalizers=["example.com/x"])))
    v1.create_namespaced_config_map(name, cm_body("free"))
    v1.delete_namespace(name)
    time.sleep(1.5)
    n = v1.read_namespace(name)
    assert n.status.phase == "Terminating" and n.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as ei:
        v1.read_namespaced_config_map("free", name)
    assert ei.value.status == 404
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_config_map(name, cm_body("late"))
    assert ei.value.status == 403
    assert status_of(ei.value)["reason"] == "Forbidden"
    v1.patch_namespaced_config_map("held", name, [{"op": "remove", "path": "/metadata/finalizers"}])
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            v1.read_namespace(name)
        except ApiException as e:
            assert e.status == 404
            break
        time.sleep(0.1)
    else:
        pytest.fail("namespace still there 10s after its last finalizer went")


def test_dynamic_client(api_client, ns, tmp_path):
    dc = dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    cms = dc.resources.get(api_version="v1", kind="ConfigMap")
    assert cms.namespaced and cms.name == "configmaps"
    created = cms.create(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dyn"},
                               "data": {"a": "b"}}, namespace=ns)
    assert created.metadata.name == "dyn"
    assert [i.metadata.name for i in cms.get(namespace=ns).items] == ["dyn"]
    got = cms.get(name="dyn", namespace=ns)
    assert got.data.a == "b"
    cms.patch(name="dyn", namespace=ns, body={"data": {"a": "c"}}, content_type="application/merge-patch+json")
    assert cms.get(name="dyn", namespace=ns).data.a == "c"
    cms.delete(name="dyn", namespace=ns)
    assert cms.get(namespace=ns).items == []

    deps = dc.resources.get(api_version="apps/v1", kind="Deployment")
    assert deps.name == "deployments"
    assert dc.resources.get(api_version="apps/v1", kind="StatefulSet").short_names == ["sts"]
    assert dc.resources.get(api_version="storage.k8s.io/v1", kind="StorageClass").namespaced is False
    leases = dc.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
    leases.create(body={"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"},
                        "spec": {"holderIdentity": "me"}}, namespace=ns)
    assert leases.get(name="l", namespace=ns).spec.holderIdentity == "me"
