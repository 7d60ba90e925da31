"""Content negotiation: decoding request bodies and choosing the response form.

Kubernetes clients send JSON, YAML (apply-patch), or protobuf (``kubectl create``); they ask for
plain objects or server-side Tables through the Accept header. Bodies larger than the limit are
refused before parsing (413) and malformed bodies become 400 Status errors, never 500s. JSON is
decoded strictly (:mod:`apiserver.jsonbody`): invalid UTF-8, lone surrogates and integers beyond
64 bits are refused, and duplicate keys come back with the value for ``fieldValidation``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from apimachinery import jsonio
from apimachinery.errors import ApiError, bad_request
from apimachinery.yamlsafe import ManifestError, load_json_or_yaml
from apiserver.jsonbody import Decoded, check_decoded, decode_json

MAX_BODY_BYTES = 3 * 1024 * 1024
JSON_TYPES = ("application/json", "")
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply-cbor",
}
PROTOBUF = "application/vnd.kubernetes.protobuf"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def decode_body(raw: bytes, content_type: str | None, *, allow_patch: bool = False) -> Any:
    """Parse a request body by its Content-Type (missing: JSON, as the Python client sends)."""
    return decode_request(raw, content_type, allow_patch=allow_patch).value


def decode_request(raw: bytes, content_type: str | None, *, allow_patch: bool = False) -> Decoded:
    """:func:`decode_body` with the duplicate keys the body gave (JSON paths)."""
    kind = media_type(content_type)
    if kind == PROTOBUF:
        from apiserver.protobuf import decode_protobuf  # only kubectl create needs it

        return Decoded(decode_protobuf(raw))
    accepted = kind in JSON_TYPES or kind in ("application/yaml", "text/yaml", "application/x-yaml")
    if allow_patch:
        accepted = accepted or kind in PATCH_TYPES
    if not accepted:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml{", application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml" if allow_patch else ""}; got "{kind}"',
        )
    if not raw.strip():
        raise bad_request("the request body is empty")
    if kind in JSON_TYPES or kind.endswith("+json"):
        return decode_json(raw)
    if raw.lstrip()[:1] == b"{":  # apply-patch+yaml as kubectl sends it: JSON
        try:
            return decode_json(raw)
        except ApiError:
            pass  # YAML that merely starts with a flow mapping
    try:
        return check_decoded(load_json_or_yaml(raw, kind))
    except ManifestError as err:
        raise bad_request(f"the request body could not be decoded: {err}") from None


def patch_type(content_type: str | None) -> str:
    kind = media_type(content_type)
    if kind not in PATCH_TYPES or PATCH_TYPES[kind] == "apply-cbor":
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f'the server does not support patch type "{kind}": use application/merge-patch+json, '
            "application/json-patch+json, application/strategic-merge-patch+json or application/apply-patch+yaml",
        )
    return PATCH_TYPES[kind]


def wants_table(accept: str | None) -> bool:
    """True when the client's first acceptable form is a meta.k8s.io Table (kubectl get)."""
    for part in (accept or "").split(","):
        params = {p.split("=")[0].strip(): p.partition("=")[2].strip() for p in part.split(";")[1:]}
        if params.get("as") == "Table":
            return True
        if part.strip():
            return False
    return False


class FastJSONResponse(JSONResponse):
    """JSON responses encoded by :mod:`apimachinery.jsonio` (orjson)."""

    def render(self, content: Any) -> bytes:
        return jsonio.dumps(content)
