"""The real kubectl with storage: ``api-resources``, ``apply`` of a PV and a claim, ``get pvc,pv,sc``."""

from __future__ import annotations

import pytest

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

MANIFEST = """
apiVersion: v1
kind: PersistentVolume
metadata:
  name: compat-pv
  labels: {disk: compat}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: ""
  hostPath: {path: /srv/compat-pv}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: compat-claim
spec:
  storageClassName: ""
  selector: {matchLabels: {disk: compat}}
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_storage_kinds_are_listed_with_short_names(kubectl: Kubectl) -> None:
    listed = {line.split()[0]: line.split() for line in kubectl.out("api-resources").splitlines()[1:]}
    assert listed["persistentvolumeclaims"][1:4] == ["pvc", "v1", "true"]
    assert listed["persistentvolumes"][1:4] == ["pv", "v1", "false"]
    assert listed["storageclasses"][1:4] == ["sc", "storage.k8s.io/v1", "false"]


def test_a_claim_binds_to_a_volume_and_kubectl_prints_both_sides(kubectl: Kubectl) -> None:
    kubectl.apply(MANIFEST)
    kubectl.wait_for("the claim to bind", lambda: kubectl.json("get", "pvc", "compat-claim").get(
        "status", {}).get("phase") == "Bound", timeout=60)
    kubectl.wait_for("the volume to be Bound", lambda: kubectl.json("get", "pv", "compat-pv").get(
        "status", {}).get("phase") == "Bound", timeout=60)
    got = kubectl.out("get", "pvc,pv,sc")
    blocks = [rows(block) for block in got.strip().split("\n\n")]
    pvc, pv, sc = blocks
    assert pvc[0] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
                      "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert pvc[1][:6] == ["persistentvolumeclaim/compat-claim", "Bound", "compat-pv", "2Gi", "RWO,ROX", "<unset>"]
    assert pv[0] == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM", "STORAGECLASS",
                     "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    assert pv[1][:7] == ["persistentvolume/compat-pv", "2Gi", "RWO,ROX", "Retain", "Bound", "default/compat-claim",
                         "<unset>"]
    assert sc[0] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    assert sc[1][:6] == ["storageclass.storage.k8s.io/local-path", "(default)", "podvisor.io/local-path", "Delete",
                         "WaitForFirstConsumer", "false"]
    described = kubectl.out("describe", "pvc", "compat-claim")
    assert {"Status:": "Bound", "Volume:": "compat-pv", "Capacity:": "2Gi"}.items() <= {
        line.split()[0]: line.split()[-1] for line in described.splitlines() if len(line.split()) >= 2}.items()
    assert "kubernetes.io/pvc-protection" in described


def test_deleting_the_claim_releases_a_retained_volume(kubectl: Kubectl) -> None:
    kubectl.run("delete", "pvc", "compat-claim")
    kubectl.wait_for("the volume to be Released", lambda: kubectl.json("get", "pv", "compat-pv").get(
        "status", {}).get("phase") == "Released", timeout=60)
    assert rows(kubectl.out("get", "pv", "compat-pv"))[1][4] == "Released"
    kubectl.run("delete", "pv", "compat-pv")


def test_a_block_volume_is_refused_naming_the_field(kubectl: Kubectl) -> None:
    block = MANIFEST.split("---")[1].replace("compat-claim", "compat-block") + "  volumeMode: Block\n"
    done = kubectl.run("apply", "-f", "-", stdin=block, rc=1)
    assert "spec.volumeMode: Forbidden: podvisor mounts volumes as filesystems only" in done.stderr
