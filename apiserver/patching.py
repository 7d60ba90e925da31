"""Apply a PATCH body of one of the four Kubernetes patch types to a stored object."""

from __future__ import annotations

from typing import Any

from apimachinery.errors import bad_request
from apimachinery.patch import json_patch, merge_patch, strategic_merge_patch


def apply_patch(obj: dict[str, Any], body: Any, ptype: str, *, kind: str) -> dict[str, Any]:
    """The patched object. An apply merges its configuration as a strategic merge patch would;
    what it owns and prunes is :mod:`apiserver.fieldmanager`'s part, around this merge."""
    match ptype:
        case "json":
            if not isinstance(body, list):
                raise bad_request("a JSON patch must be a list of operations")
            result = json_patch(obj, body)
        case "merge":
            if not isinstance(body, dict):
                raise bad_request("a merge patch must be a JSON object")
            result = merge_patch(obj, body)
        case "strategic" | "apply":
            if not isinstance(body, dict):
                raise bad_request("a strategic merge patch must be a JSON object")
            result = strategic_merge_patch(obj, body, kind)
        case _:
            raise bad_request(f"unsupported patch type {ptype}")
    if not isinstance(result, dict):
        raise bad_request("the patched object is not a JSON object")
    return result
