"""schemathesis against every resource operation the apiserver's OpenAPI v3 documents describe.

Mirrors the conformance idea behind Kubernetes' ``TestOpenAPIRoundTrip`` / ``hack/verify-openapi``
(every documented operation exists and answers as documented) and RESTler-style API fuzzing: for
each operation in ``/openapi/v3/api/v1``, ``/openapi/v3/apis/apps/v1`` and the rest, schemathesis
generates valid (positive) and schema-violating (negative) requests, sent to the real app in this
process. None may answer 5xx, and every non-2xx answer must be a ``Status``.

The served operations' bodies are untyped (``type: object``), so this test hands schemathesis the
same paths with request bodies described by the kinds' pydantic models: it then builds objects that
look like Pods and Deployments instead of arbitrary dicts. ``watch`` and ``follow`` are left out
(they stream until the client goes away). Path parameters are pinned half of the time to the
``default`` namespace and an existing object, so replace/patch/delete reach the registry.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode
from starlette.testclient import TestClient

from apimachinery import resources as res
from apimachinery.resources import group_versions
from apiserver import openapi
from tests.faults.inprocess import collection_path, running_app, served_kinds, valid_body

EXAMPLES_PER_OPERATION = 12
STREAMING_PARAMS = ("watch", "follow")


def _kind_schemas() -> tuple[dict[str, Any], dict[str, str]]:
    """components.schemas from the models, and the schema name of each kind."""
    components: dict[str, Any] = {}
    names: dict[str, str] = {}
    for rt in res.RESOURCES:
        schema = rt.model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[rt.model.__name__] = schema
        names[rt.kind] = rt.model.__name__
    return components, names


def fuzz_document() -> dict[str, Any]:
    """Every served group/version's paths in one document, bodies typed by the models."""
    components, names = _kind_schemas()
    paths: dict[str, Any] = {}
    for group, version in group_versions():
        doc = openapi.openapi_v3_document(group, version)
        assert doc is not None
        paths.update(doc["paths"])
    for item in paths.values():
        for method, op in item.items():
            if method == "parameters":
                continue
            op["parameters"] = [p for p in op["parameters"] if p["name"] not in STREAMING_PARAMS]
            kind = op["x-kubernetes-group-version-kind"]["kind"]
            body = op.get("requestBody")
            if body is not None and kind in names:
                ref = {"$ref": f"#/components/schemas/{names[kind]}"}
                for media, content in body["content"].items():
                    if media != "application/json-patch+json":
                        content["schema"] = copy.deepcopy(ref)
    return {
        "openapi": "3.0.3",
        "info": {"title": "podvisor (fuzzing)", "version": "v1"},
        "paths": paths,
        "components": {"schemas": components},
    }


def _is_status(body: Any, code: int) -> bool:
    return isinstance(body, dict) and body.get("kind") == "Status" and body.get("code") == code


@pytest.mark.timeout(600)  # about 300 s on a 2-core machine
def test_every_documented_operation_answers_without_5xx_and_errors_are_status(tmp_path: Path) -> None:
    codes: Counter[int] = Counter()
    failures: list[str] = []
    with running_app(tmp_path) as (client, _store):
        for rt in served_kinds():
            created = client.post(collection_path(rt), json=valid_body(rt, "target"))
            assert created.status_code == 201, created.text
        schema = schemathesis.openapi.from_dict(fuzz_document())
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            pinned = {"namespace": "default", "name": "target"}
            cases = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
                operation.as_strategy(
                    GenerationMode.POSITIVE,
                    path_parameters={k: v for k, v in pinned.items() if "{" + k + "}" in operation.path},
                ),
            )

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=cases)
            def fuzz(case: Any) -> None:
                response = _send(client, case)
                code = response.status_code
                codes[code] += 1
                if code >= 500:
                    failures.append(f"{case.method} {case.formatted_path}: {code} {response.text[:300]}")
                elif code >= 300 and not _is_status(_json(response.text), code):
                    failures.append(f"{case.method} {case.formatted_path}: {code} is not a Status: {response.text[:200]}")

            fuzz()
    total = sum(codes.values())
    print(f"\nfuzzed {len(operations)} operations with {total} requests: codes {dict(sorted(codes.items()))}")
    assert not failures, "\n".join(failures[:20])


def _send(client: TestClient, case: Any) -> Any:
    """The case through this test's client (the app's own event loop and store)."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["content"] = data.encode() if isinstance(data, str) else data
    return client.request(
        kwargs["method"], kwargs["url"], headers=kwargs.get("headers"), params=kwargs.get("params"), **body
    )


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
