"""PersistentVolumes, claims and StorageClasses through the API: what is refused (422 naming the field),
the default class, immutability, expansion, and the printer columns kubectl shows."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apiserver.admissionplugins.storage import StorageAdmission, default_class
from apiserver.app import AppSettings, create_app
from apiserver.defaultstorageclass import ensure_default_storage_class
from apiserver.store.sqlite import SqliteStore

PVS, SCS = "/api/v1/persistentvolumes", "/apis/storage.k8s.io/v1/storageclasses"
PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    store = SqliteStore(tmp_path / "state.db")
    app = create_app(store, AppSettings(compaction_interval=3600, admission=[StorageAdmission(store)]))
    ensure_default_storage_class(app.state.registry)
    try:
        with TestClient(app) as c:
            yield c
    finally:
        store.close()


def pv(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                            "hostPath": {"path": "/srv/data"}}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1"},
            "spec": {k: v for k, v in base.items() if v is not None}}


def pvc(name: str = "data", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {k: v for k, v in base.items() if v is not None}}


def sc(name: str = "fast", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": "podvisor.io/local-path", **fields}


def causes(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(c["field"], c["message"]) for c in response.json()["details"]["causes"]]


# --- refused ---------------------------------------------------------------------------------------

PV_REFUSED = [
    pytest.param(pv(hostPath=None, nfs={"server": "s", "path": "/"}), "spec.nfs", "Unsupported value", id="nfs"),
    pytest.param(pv(hostPath=None, csi={"driver": "d", "volumeHandle": "h"}), "spec.csi", "Unsupported value",
                 id="csi"),
    pytest.param(pv(hostPath=None), "spec", "must specify a volume type", id="no-source"),
    pytest.param(pv(hostPath=None, local={"path": "/mnt/d"}), "spec.nodeAffinity", "requires node affinity",
                 id="local-without-affinity"),
    pytest.param(pv(hostPath={"path": "relative"}), "spec.hostPath.path", "must be an absolute path", id="relative"),
    pytest.param(pv(volumeMode="Block"), "spec.volumeMode", "filesystems only", id="block"),
    pytest.param(pv(persistentVolumeReclaimPolicy="Recycle"), "spec.persistentVolumeReclaimPolicy", "deprecated",
                 id="recycle"),
    pytest.param(pv(persistentVolumeReclaimPolicy="Keep"), "spec.persistentVolumeReclaimPolicy",
                 'supported values: "Retain", "Delete"', id="unknown-policy"),
    pytest.param(pv(accessModes=[]), "spec.accessModes", "at least 1 access mode is required", id="no-modes"),
    pytest.param(pv(accessModes=["ReadWriteSometimes"]), "spec.accessModes", "Unsupported value", id="bad-mode"),
    pytest.param(pv(accessModes=["ReadWriteOncePod", "ReadWriteOnce"]), "spec.accessModes",
                 "may not use ReadWriteOncePod with other access modes", id="rwop-with-others"),
    pytest.param(pv(capacity={"storage": "lots"}), "spec.capacity[storage]", "quantities must match", id="quantity"),
    pytest.param(pv(capacity=None), "spec.capacity", "Required value", id="no-capacity"),
]


@pytest.mark.parametrize(("body", "field", "message"), PV_REFUSED)
def test_volumes_podvisor_cannot_serve_are_refused(client: TestClient, body: dict[str, Any], field: str,
                                                   message: str) -> None:
    found = causes(client.post(PVS, json=body))
    assert any(f == field and message in m for f, m in found), found


PVC_REFUSED = [
    pytest.param(pvc(resources={}), "spec.resources[storage]", "Required value", id="no-request"),
    pytest.param(pvc(resources={"requests": {"storage": "1Zz"}}), "spec.resources[storage]", "quantities must",
                 id="bad-quantity"),
    pytest.param(pvc(resources={"requests": {"storage": "0"}}), "spec.resources[storage]",
                 "must be greater than zero", id="zero"),
    pytest.param(pvc(accessModes=None), "spec.accessModes", "at least 1 access mode is required", id="no-modes"),
    pytest.param(pvc(volumeMode="Block"), "spec.volumeMode", "filesystems only", id="block"),
    pytest.param(pvc(dataSource={"kind": "VolumeSnapshot", "name": "s"}), "spec.dataSource", "data source",
                 id="data-source"),
    pytest.param(pvc(selector={"matchLabels": {"bad key!": "x"}}), "spec.selector.matchLabels", "Invalid value",
                 id="selector"),
]


@pytest.mark.parametrize(("body", "field", "message"), PVC_REFUSED)
def test_claims_are_validated(client: TestClient, body: dict[str, Any], field: str, message: str) -> None:
    found = causes(client.post(PVCS, json=body))
    assert any(f == field and message in m for f, m in found), found


SC_REFUSED = [
    pytest.param(sc(provisioner=""), "provisioner", "Required value", id="no-provisioner"),
    pytest.param(sc(reclaimPolicy="Recycle"), "reclaimPolicy", "deprecated", id="recycle"),
    pytest.param(sc(volumeBindingMode="Later"), "volumeBindingMode", "Unsupported value", id="binding-mode"),
]


@pytest.mark.parametrize(("body", "field", "message"), SC_REFUSED)
def test_storage_classes_are_validated(client: TestClient, body: dict[str, Any], field: str, message: str) -> None:
    found = causes(client.post(SCS, json=body))
    assert any(f == field and message in m for f, m in found), found


# --- accepted, defaulted ---------------------------------------------------------------------------


def test_a_volume_is_defaulted_and_starts_pending(client: TestClient) -> None:
    created = client.post(PVS, json=pv(status={"phase": "Bound"}))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and body["spec"]["volumeMode"] == "Filesystem"
    assert body["status"] == {"phase": "Pending"}


def test_the_default_class_is_local_path_and_a_claim_without_a_class_gets_it(client: TestClient) -> None:
    local = client.get(f"{SCS}/local-path").json()
    assert local["provisioner"] == "podvisor.io/local-path"
    assert local["volumeBindingMode"] == "WaitForFirstConsumer" and local["reclaimPolicy"] == "Delete"
    assert local["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    created = client.post(PVCS, json=pvc())
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["storageClassName"] == "local-path"
    assert created.json()["status"] == {"phase": "Pending"}
    assert created.json()["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    empty = client.post(PVCS, json=pvc("no-class", storageClassName=""))
    assert empty.json()["spec"]["storageClassName"] == ""  # "" asks for a volume without a class


def test_the_newest_default_class_wins() -> None:
    def cls(name: str, at: str, default: bool) -> dict[str, Any]:
        annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
        return {"metadata": {"name": name, "creationTimestamp": at, "annotations": annotations}}
    classes = [cls("a", "2026-01-01T00:00:00Z", True), cls("b", "2026-02-01T00:00:00Z", True),
               cls("c", "2026-03-01T00:00:00Z", False)]
    assert (default_class(classes) or {})["metadata"]["name"] == "b"
    assert default_class([cls("c", "2026-03-01T00:00:00Z", False)]) is None


def test_a_class_keeps_its_provisioner_policy_and_binding_mode(client: TestClient) -> None:
    current = client.get(f"{SCS}/local-path").json()
    for key, value in (("provisioner", "other.io/x"), ("reclaimPolicy", "Retain"), ("volumeBindingMode", "Immediate")):
        changed = copy.deepcopy(current)
        changed[key] = value
        assert any(f == key and "field is immutable" in m for f, m in causes(client.put(f"{SCS}/local-path",
                                                                                          json=changed)))
    changed = copy.deepcopy(current)
    changed["allowVolumeExpansion"] = True
    assert client.put(f"{SCS}/local-path", json=changed).status_code == 200


# --- a claim's spec after creation -----------------------------------------------------------------


def bound_claim(client: TestClient, *, expansion: bool) -> dict[str, Any]:
    client.post(SCS, json=sc("grow", allowVolumeExpansion=expansion) if expansion else sc("grow"))
    created = client.post(PVCS, json=pvc(storageClassName="grow")).json()
    created["spec"]["volumeName"] = "pv1"  # the binder's one write of the spec
    updated = client.put(f"{PVCS}/data", json=created)
    assert updated.status_code == 200, updated.text
    status = updated.json()
    status["status"] = {"phase": "Bound", "capacity": {"storage": "1Gi"}}
    response = client.put(f"{PVCS}/data/status", json=status)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_claims_spec_is_immutable(client: TestClient) -> None:
    claim = bound_claim(client, expansion=True)
    for key, value in (("accessModes", ["ReadOnlyMany"]), ("volumeName", "pv2"), ("storageClassName", "other")):
        changed = copy.deepcopy(claim)
        changed["spec"][key] = value
        found = causes(client.put(f"{PVCS}/data", json=changed))
        assert found == [("spec", "Forbidden: spec is immutable after creation except resources.requests and "
                                  "volumeAttributesClassName for bound claims")], found


def test_a_bound_claim_grows_when_its_class_allows_expansion(client: TestClient) -> None:
    claim = bound_claim(client, expansion=True)
    claim["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert client.put(f"{PVCS}/data", json=claim).status_code == 200
    claim = client.get(f"{PVCS}/data").json()
    claim["spec"]["resources"]["requests"]["storage"] = "500Mi"
    found = causes(client.put(f"{PVCS}/data", json=claim))
    assert ("spec.resources.requests.storage", "Forbidden: field can not be less than status.capacity") in found


def test_a_bound_claim_of_a_class_without_expansion_cannot_grow(client: TestClient) -> None:
    claim = bound_claim(client, expansion=False)
    claim["spec"]["resources"]["requests"]["storage"] = "2Gi"
    response = client.put(f"{PVCS}/data", json=claim)
    assert response.status_code == 403
    assert "only dynamically provisioned pvc can be resized" in response.json()["message"]


def test_an_unbound_claim_cannot_change_its_request(client: TestClient) -> None:
    created = client.post(PVCS, json=pvc()).json()
    created["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert causes(client.put(f"{PVCS}/data", json=created))[0][0] == "spec"


# --- kubectl's columns -----------------------------------------------------------------------------


def columns_and_cells(client: TestClient, path: str) -> tuple[list[str], list[Any]]:
    table = client.get(path, headers=TABLE).json()
    return [c["name"] for c in table["columnDefinitions"]], table["rows"][0]["cells"]


def test_printer_columns(client: TestClient) -> None:
    client.post(PVS, json=pv(claimRef={"namespace": "default", "name": "data"},
                             accessModes=["ReadWriteOnce", "ReadWriteOncePod"][:1]))
    names, cells = columns_and_cells(client, PVS)
    assert names == ["Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass",
                     "VolumeAttributesClass", "Reason", "Age", "VolumeMode"]
    assert cells[:9] == ["pv1", "1Gi", "RWO", "Retain", "Pending", "default/data", "", "<unset>", ""]
    client.post(PVCS, json=pvc(accessModes=["ReadWriteOnce", "ReadOnlyMany"]))
    names, cells = columns_and_cells(client, PVCS)
    assert names == ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass",
                     "Age", "VolumeMode"]
    assert cells[:7] == ["data", "Pending", "", "", "", "local-path", "<unset>"]
    names, cells = columns_and_cells(client, SCS)
    assert names == ["Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"]
    assert cells[:5] == ["local-path (default)", "podvisor.io/local-path", "Delete", "WaitForFirstConsumer", False]
