"""Every manifest in manifests/ is accepted by the apiserver under strict field validation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from apimachinery.resources import by_kind
from apimachinery.yamlsafe import load_documents
from tests.apiserver.conftest import server  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2] / "manifests"
FILES = sorted(ROOT.rglob("*.yaml"))


def test_there_are_manifests() -> None:
    assert len(FILES) >= 10
    assert {p.parent.name for p in FILES} == {"demo", "examples"}


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_manifest_applies_cleanly(server, path: Path) -> None:  # noqa: F811
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for doc in load_documents(path.read_text(), source=str(path)):
            rt = by_kind(doc["kind"], doc["apiVersion"])
            assert rt is not None, f"{path}: {doc['kind']} is not served"
            namespace = doc["metadata"].get("namespace", "default")
            if rt.namespaced and namespace != "default":
                http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
            response = http.post(rt.path(namespace), params={"fieldValidation": "Strict"}, json=doc)
            if doc["kind"] == "Namespace" and response.status_code == 409:
                continue
            assert response.status_code == 201, f"{path}: {response.text}"
            assert "warning" not in response.headers, response.headers["warning"]
