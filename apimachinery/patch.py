"""The PATCH bodies Kubernetes clients send, applied to wire dicts.

* :func:`json_patch` - RFC 6902 (``kubectl patch --type=json``);
* :func:`merge_patch` - RFC 7386 (``kubectl label``, ``annotate``, ``scale``);
* :func:`strategic_merge_patch` - Kubernetes' own format (``kubectl apply``, ``set image``,
  ``rollout restart``, ``cordon``, and the official Python client's ``patch_*`` calls).

All three are pure: inputs are never mutated and the result shares no structure with them.

A strategic merge patch is a merge patch in which some lists are merged element by element,
matched on a *merge key* (containers by ``name``, container ports by ``containerPort``, ...),
instead of being replaced. Kubernetes reads those keys from struct tags; here they are one
declarative table (:data:`_POD_SPEC_LISTS` and friends) from field path to merge key, resolved per
kind by :func:`merge_keys_for`. Lists of scalars tagged ``patchStrategy=merge``
(``metadata.finalizers``) merge as ordered sets; every other list is replaced, as in Kubernetes
(tolerations and node taints are atomic there too).

Directives honoured, with Kubernetes' semantics: ``$patch: replace|delete`` on a map or as a list
element, ``$setElementOrder/<list>``, ``$deleteFromPrimitiveList/<list>``, ``$retainKeys``, and
``null`` to delete a key. One deliberate difference: ``$patch: delete`` on a nested map removes
the key, where Kubernetes leaves an empty map behind.

Errors are ``ApiError``: 400 BadRequest for a malformed patch, 422 Invalid when a well-formed
JSON patch cannot apply (missing path, failed ``test``), each naming the path at fault.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from apimachinery.errors import ApiError, bad_request

MAX_JSON_PATCH_OPERATIONS = 10_000

# --- RFC 6902 JSON patch ----------------------------------------------------------------------

_OPS_NEEDING_VALUE = {"add", "replace", "test"}
_OPS_NEEDING_FROM = {"move", "copy"}
_ALL_OPS = _OPS_NEEDING_VALUE | _OPS_NEEDING_FROM | {"remove"}


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, "Invalid", message)


def json_patch(doc: Any, ops: list[Any]) -> Any:
    """Apply an RFC 6902 patch; all operations succeed or the document is left as it was."""
    if not isinstance(ops, list):
        raise bad_request("a JSON patch must be a list of operations")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise ApiError(
            413, "RequestEntityTooLarge",
            f"the allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
        )
    result = copy.deepcopy(doc)
    for number, op in enumerate(ops):
        result = _apply_operation(result, op, number=number)
    return result


def _apply_operation(doc: Any, op: Any, *, number: int) -> Any:
    name, path, source = _check_operation(op, number)
    where = f'JSON patch operation {number} ({name} "{op["path"]}")'
    if name == "add":
        return _add(doc, path, copy.deepcopy(op["value"]), where=where)
    if name == "remove":
        return _remove(doc, path, where=where)
    if name == "replace":
        return _replace(doc, path, copy.deepcopy(op["value"]), where=where)
    if name == "test":
        if not _json_equal(_resolve(doc, path, where=where), op["value"]):
            raise _unprocessable(f"{where}: test failed, the value differs")
        return doc
    assert source is not None
    value = _resolve(doc, source, where=where)
    if name == "copy":
        return _add(doc, path, copy.deepcopy(value), where=where)
    if path[: len(source)] == source and len(path) > len(source):
        raise _unprocessable(f'{where}: cannot move "{op["from"]}" into one of its own children')
    return doc if path == source else _add(_remove(doc, source, where=where), path, value, where=where)


def _check_operation(op: Any, number: int) -> tuple[str, list[str], list[str] | None]:
    """Validate one operation's shape; returns its name, parsed path and parsed ``from``."""
    if not isinstance(op, dict):
        raise bad_request(f"JSON patch operation {number} must be an object")
    name = op.get("op")
    if name not in _ALL_OPS:
        raise bad_request(f"JSON patch operation {number}: unknown op {name!r}")
    if not isinstance(op.get("path"), str):
        raise bad_request(f"JSON patch operation {number} ({name}): missing or non-string \"path\"")
    if name in _OPS_NEEDING_VALUE and "value" not in op:
        raise bad_request(f'JSON patch operation {number} ({name} "{op["path"]}"): missing "value"')
    source = None
    if name in _OPS_NEEDING_FROM:
        if not isinstance(op.get("from"), str):
            raise bad_request(f'JSON patch operation {number} ({name} "{op["path"]}"): missing "from"')
        source = parse_pointer(op["from"])
    return name, parse_pointer(op["path"]), source


def parse_pointer(pointer: str) -> list[str]:
    """RFC 6901: ``/a~1b/0`` -> ``["a/b", "0"]``; ``""`` is the whole document."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise bad_request(f'invalid JSON pointer "{pointer}": must be empty or start with "/"')
    tokens = pointer[1:].split("/")
    for token in tokens:
        if "~" in token.replace("~0", "").replace("~1", ""):
            raise bad_request(f'invalid JSON pointer "{pointer}": "~" must be followed by 0 or 1')
    return [token.replace("~1", "/").replace("~0", "~") for token in tokens]


def _list_index(container: list[Any], token: str, *, where: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise _unprocessable(f'{where}: "{token}" is not a valid array index')
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise _unprocessable(f"{where}: index {index} is out of range (length {len(container)})")
    return index


def _resolve(doc: Any, path: list[str], *, where: str) -> Any:
    current = doc
    for token in path:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list):
            current = current[_list_index(current, token, where=where, allow_end=False)]
        else:
            raise _unprocessable(f"{where}: path not found")
    return current


def _add(doc: Any, path: list[str], value: Any, *, where: str) -> Any:
    if not path:
        return value
    parent = _resolve(doc, path[:-1], where=where)
    if isinstance(parent, dict):
        parent[path[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, path[-1], where=where, allow_end=True), value)
    else:
        raise _unprocessable(f"{where}: the parent is not an object or an array")
    return doc


def _replace(doc: Any, path: list[str], value: Any, *, where: str) -> Any:
    if not path:
        return value
    parent = _resolve(doc, path[:-1], where=where)
    if isinstance(parent, dict) and path[-1] in parent:
        parent[path[-1]] = value
    elif isinstance(parent, list):
        parent[_list_index(parent, path[-1], where=where, allow_end=False)] = value
    else:
        raise _unprocessable(f"{where}: path not found")
    return doc


def _remove(doc: Any, path: list[str], *, where: str) -> Any:
    if not path:
        raise _unprocessable(f"{where}: cannot remove the whole document")
    parent = _resolve(doc, path[:-1], where=where)
    if isinstance(parent, dict) and path[-1] in parent:
        del parent[path[-1]]
    elif isinstance(parent, list):
        del parent[_list_index(parent, path[-1], where=where, allow_end=False)]
    else:
        raise _unprocessable(f"{where}: path not found")
    return doc


def _json_equal(left: Any, right: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, but ``1`` is ``1.0``; objects ignore key order."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict | list) or isinstance(right, dict | list):
        return False
    return bool(left == right)


# --- RFC 7386 merge patch ---------------------------------------------------------------------


def merge_patch(doc: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch: objects merge recursively, ``null`` deletes, the rest replaces."""
    return _merge_into(copy.deepcopy(doc), patch)


def _merge_into(target: Any, patch: Any) -> Any:
    """The RFC 7386 algorithm on a ``target`` the caller owns."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_into(result.get(key), value)
    return result


# --- strategic merge patch --------------------------------------------------------------------

SET = ""  # merge key marking a list of scalars merged as an ordered set
DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ELEMENT_ORDER = "$setElementOrder/"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"

_OBJECT_META_LISTS = {"ownerReferences": "uid", "finalizers": SET}
_CONTAINER_LISTS = {"env": "name", "ports": "containerPort", "volumeMounts": "mountPath", "volumeDevices": "devicePath"}
_CONTAINER_KINDS = ("containers", "initContainers", "ephemeralContainers")
_POD_SPEC_LISTS = {
    "volumes": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "schedulingGates": "name",
    "resourceClaims": "name",
    **{containers: "name" for containers in _CONTAINER_KINDS},
    **{f"{c}.{field}": key for c in _CONTAINER_KINDS for field, key in _CONTAINER_LISTS.items()},
}
_POD_STATUS_LISTS = {"conditions": "type", "podIPs": "ip", "hostIPs": "ip"}
_KIND_LISTS: dict[str, dict[str, str]] = {
    "Node": {"spec.podCIDRs": SET, "status.conditions": "type", "status.addresses": "type"},
    "Service": {"spec.ports": "port", "status.conditions": "type"},
    "Namespace": {"status.conditions": "type"},
}
# Where each workload kind keeps its pod template.
_POD_TEMPLATES = {
    "Deployment": "spec.template",
    "ReplicaSet": "spec.template",
    "StatefulSet": "spec.template",
    "DaemonSet": "spec.template",
    "Job": "spec.template",
    "ReplicationController": "spec.template",
    "CronJob": "spec.jobTemplate.spec.template",
    "PodTemplate": "template",
}


def _under(prefix: str, table: Mapping[str, str]) -> dict[str, str]:
    return {f"{prefix}.{path}": key for path, key in table.items()}


@lru_cache(maxsize=64)
def merge_keys_for(kind: str) -> Mapping[str, str]:
    """Dotted list paths (list indexes omitted) -> merge key, or :data:`SET`, for one kind."""
    table = _under("metadata", _OBJECT_META_LISTS) | _KIND_LISTS.get(kind, {})
    if kind == "Pod":
        table |= _under("spec", _POD_SPEC_LISTS) | _under("status", _POD_STATUS_LISTS)
    if template := _POD_TEMPLATES.get(kind):
        table |= _under(f"{template}.spec", _POD_SPEC_LISTS) | _under(f"{template}.metadata", _OBJECT_META_LISTS)
        table |= {"status.conditions": "type"}
    if kind == "CronJob":  # the Jobs' own metadata; a CronJob's status has no conditions
        table |= _under("spec.jobTemplate.metadata", _OBJECT_META_LISTS)
        table.pop("status.conditions", None)
    return MappingProxyType(table)


def strategic_merge_patch(doc: dict[str, Any], patch: dict[str, Any], kind: str) -> dict[str, Any]:
    """Apply a strategic merge patch to an object of ``kind``."""
    if not isinstance(patch, dict):
        raise bad_request("a strategic merge patch must be a JSON object")
    merged = _merge_map(
        copy.deepcopy(doc) if isinstance(doc, dict) else {}, patch, path="", keys=merge_keys_for(kind)
    )
    return {} if merged is None else merged


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], *, path: str, keys: Mapping[str, str]
) -> dict[str, Any] | None:
    """Merge ``patch`` into ``original`` (owned by the caller); None means "delete this map"."""
    directive = patch.get(DIRECTIVE)
    if directive == "replace":
        return _merge_map({}, {k: v for k, v in patch.items() if k != DIRECTIVE}, path=path, keys=keys)
    if directive == "delete":
        return None
    if directive is not None:
        raise bad_request(f"{path or 'the patch'}: unknown {DIRECTIVE} directive {directive!r}")
    _retain_keys(original, patch, path=path)
    for key, value in patch.items():
        if key == RETAIN_KEYS or key.startswith(SET_ELEMENT_ORDER):
            continue
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            _delete_from_primitive_list(original, key[len(DELETE_FROM_PRIMITIVE_LIST):], value, path=path)
        elif value is None:
            original.pop(key, None)
        else:
            _merge_field(
                original, key, value, order=patch.get(SET_ELEMENT_ORDER + key), path=_join(path, key), keys=keys
            )
    for key, order in patch.items():
        field = key[len(SET_ELEMENT_ORDER):]
        if key.startswith(SET_ELEMENT_ORDER) and field not in patch and isinstance(original.get(field), list):
            original[field] = _merge_list(original[field], [], order=order, path=_join(path, field), keys=keys)
    return original


def _merge_field(
    original: dict[str, Any], key: str, value: Any, *, order: Any, path: str, keys: Mapping[str, str]
) -> None:
    current = original.get(key)
    if isinstance(value, dict):
        merged = _merge_map(current if isinstance(current, dict) else {}, value, path=path, keys=keys)
        if merged is None:
            original.pop(key, None)
        else:
            original[key] = merged
    elif isinstance(value, list):
        original[key] = _merge_list(
            current if isinstance(current, list) else [], value, order=order, path=path, keys=keys
        )
    else:
        original[key] = value


def _retain_keys(original: dict[str, Any], patch: dict[str, Any], *, path: str) -> None:
    """``$retainKeys``: drop every key of ``original`` not listed (a union member switch)."""
    retain = patch.get(RETAIN_KEYS)
    if retain is None:
        return
    if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
        raise bad_request(f"{path or 'the patch'}: {RETAIN_KEYS} must be a list of strings")
    for key, value in patch.items():
        if value is not None and not key.startswith("$") and key not in retain:
            raise bad_request(f"{path or 'the patch'}: key {key!r} is patched but missing from {RETAIN_KEYS}")
    for key in [k for k in original if k not in retain]:
        del original[key]


def _delete_from_primitive_list(original: dict[str, Any], field: str, values: Any, *, path: str) -> None:
    if not field or not isinstance(values, list):
        raise bad_request(f"{path or 'the patch'}: {DELETE_FROM_PRIMITIVE_LIST}<field> needs a field and a list")
    current = original.get(field)
    if isinstance(current, list):
        original[field] = [item for item in current if not any(_json_equal(item, v) for v in values)]


def _merge_list(
    original: list[Any], patch: list[Any], *, order: Any, path: str, keys: Mapping[str, str]
) -> list[Any]:
    merge_key = keys.get(path)
    if merge_key is None:
        return _replace_list(patch, path=path)
    key_of: Callable[[Any], Hashable]
    if all(not isinstance(item, dict | list) for item in original + patch):
        merged, key_of = _union(original, patch), _scalar_key
        wanted = [_scalar_key(item) for item in patch]
    elif merge_key == SET:
        raise bad_request(f"{path}: a list of scalars cannot hold objects")
    else:
        merged, replaced = _merge_object_list(original, patch, merge_key=merge_key, path=path, keys=keys)
        key_of = _element_key(merge_key)
        wanted = [] if replaced else [key_of(item) for item in patch if DIRECTIVE not in item]
    server = [key_of(item) for item in original]
    merged = _normalize_order(merged, wanted=wanted, server=server, key_of=key_of)
    if order is not None:
        wanted = _order_keys(order, merge_key, path=path)
        merged = _normalize_order(merged, wanted=wanted, server=server, key_of=key_of)
    return merged


def _replace_list(patch: list[Any], *, path: str) -> list[Any]:
    """A list without merge semantics is replaced; ``$patch: replace`` markers are dropped."""
    items = []
    for item in patch:
        directive = item.get(DIRECTIVE) if isinstance(item, dict) else None
        if directive == "replace":
            continue
        if directive is not None:
            raise bad_request(f"{path}: {DIRECTIVE}: {directive} needs a list with a merge key, and this one has none")
        items.append(_without_nulls(item))
    return items


def _union(original: list[Any], patch: list[Any]) -> list[Any]:
    merged: list[Any] = []
    seen: set[Hashable] = set()
    for item in original + patch:
        if _scalar_key(item) not in seen:
            seen.add(_scalar_key(item))
            merged.append(item)
    return merged


def _merge_object_list(
    original: list[Any], patch: list[Any], *, merge_key: str, path: str, keys: Mapping[str, str]
) -> tuple[list[Any], bool]:
    """Delete, then merge or append, elements by merge key; True when ``$patch: replace`` was set."""
    result, plain, replace = list(original), [], False
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request(f"{path}: expected objects keyed by {merge_key!r}, found {item!r}")
        directive = item.get(DIRECTIVE)
        if directive is None:
            plain.append(_require_key(item, merge_key, path=path))
        elif directive == "delete":
            target = _require_key(item, merge_key, path=path)[merge_key]
            result = [e for e in result if not (isinstance(e, dict) and _json_equal(e.get(merge_key), target))]
        elif directive == "replace":
            replace = True
        else:
            raise bad_request(f"{path}: unsupported {DIRECTIVE} directive {directive!r} in a list element")
    if replace:
        result = []
    for item in plain:
        index = next((i for i, e in enumerate(result)
                      if isinstance(e, dict) and _json_equal(e.get(merge_key), item[merge_key])), None)
        merged = _merge_map(result[index] if index is not None else {}, item, path=path, keys=keys)
        if index is None:
            result.append(merged if merged is not None else {})
        else:
            result[index] = merged if merged is not None else {}
    return result, replace


def _require_key(item: dict[str, Any], merge_key: str, *, path: str) -> dict[str, Any]:
    if merge_key not in item:
        raise bad_request(f"{path}: element {item!r} does not contain merge key {merge_key!r}")
    return item


def _scalar_key(value: Any) -> Hashable:
    """A hashable identity that keeps ``true`` apart from ``1``."""
    if isinstance(value, dict | list):
        raise bad_request(f"cannot use {value!r} as a list element key")
    return (isinstance(value, bool), value)


def _element_key(merge_key: str) -> Callable[[Any], Hashable]:
    def key_of(element: Any) -> Hashable:
        return _scalar_key(element.get(merge_key) if isinstance(element, dict) else None)

    return key_of


def _order_keys(order: Any, merge_key: str, *, path: str) -> list[Hashable]:
    if not isinstance(order, list):
        raise bad_request(f"{path}: {SET_ELEMENT_ORDER}<list> must be a list")
    if merge_key == SET or not all(isinstance(entry, dict) for entry in order):
        return [_scalar_key(entry) for entry in order]
    return [_scalar_key(_require_key(entry, merge_key, path=path)[merge_key]) for entry in order]


def _normalize_order(
    items: list[Any], *, wanted: list[Hashable], server: list[Hashable], key_of: Callable[[Any], Hashable]
) -> list[Any]:
    """Order ``items`` the way Kubernetes does.

    Items named in ``wanted`` (the patch, or ``$setElementOrder``) take that order; the others
    keep their order from the live list and are interleaved by their live positions, so an
    element the patch did not mention stays next to its old neighbours.
    """
    wanted_at: dict[Hashable, int] = {}
    for index, key in enumerate(wanted):
        wanted_at.setdefault(key, index)
    server_at: dict[Hashable, int] = {}
    for index, key in enumerate(server):
        server_at.setdefault(key, index)
    ordered = sorted((x for x in items if key_of(x) in wanted_at), key=lambda x: wanted_at[key_of(x)])
    server_only = [x for x in items if key_of(x) not in wanted_at]
    merged: list[Any] = []
    while server_only and ordered:
        left, right = server_at.get(key_of(server_only[0])), server_at.get(key_of(ordered[0]))
        source = server_only if left is not None and right is not None and left < right else ordered
        merged.append(source.pop(0))
    return merged + server_only + ordered


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
