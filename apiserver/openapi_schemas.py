"""OpenAPI v3 schemas of the served kinds, generated from the pydantic models.

kubectl reads ``components.schemas`` of a group/version document for two things: ``kubectl
explain`` (descriptions and types, to any depth) and client-side ``apply``, which computes its
strategic merge patch from the schema's ``x-kubernetes-patch-merge-key`` /
``x-kubernetes-patch-strategy`` markers. A list without those markers is replaced wholesale, so
the markers must be exactly the merge keys the server merges by: they are read from
:func:`apimachinery.patch.merge_keys_for`, the one table the server's strategic merge patch uses,
by walking every served kind's model tree with the JSON path of each list. A model reached along
two paths that disagree is a bug in that table and fails the build.

What the merge-key table does not say (a list's other map keys, ``retainKeys``) comes from
:data:`_LIST_MAP_KEYS` and :data:`_RETAIN_KEYS`, keyed by Kubernetes schema name and property.
Every other list is ``atomic``, which is also how server-side apply treats an untagged list.

Names follow Kubernetes (``io.k8s.api.apps.v1.Deployment``,
``io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta``) so clients that special-case them keep
working; a nested model takes the package of the kinds of its own module that use it. A
reference that carries a ``description`` or ``default`` wraps its ``$ref`` in a one-element
``allOf``, as in the documents Kubernetes publishes. Descriptions come from the models' docstrings and
attribute docstrings.
"""

from __future__ import annotations

import functools
import inspect
import operator
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from apimachinery.models.base import OpenAPIShape, TypedObject
from apimachinery.patch import SET, merge_keys_for

Doc = dict[str, Any]

REF_PREFIX = "#/components/schemas/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"

# Lists whose map keys are more than the merge key (Kubernetes' +listMapKey lines).
_LIST_MAP_KEYS: dict[tuple[str, str], list[str]] = {
    ("io.k8s.api.core.v1.Container", "ports"): ["containerPort", "protocol"],
    ("io.k8s.api.core.v1.ServiceSpec", "ports"): ["port", "protocol"],
    ("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints"): ["topologyKey", "whenUnsatisfiable"],
    ("io.k8s.api.core.v1.ResourceRequirements", "claims"): ["name"],  # a map, merged atomically by SMP
}
# Fields whose patch strategy includes retainKeys (one-of unions: a volume source, a strategy type).
_RETAIN_KEYS: frozenset[tuple[str, str]] = frozenset({
    ("io.k8s.api.core.v1.PodSpec", "volumes"),
    ("io.k8s.api.core.v1.PodSpec", "resourceClaims"),
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy"),
})
# Module -> package for models no kind of their own module reaches.
_MODULE_PACKAGES = {
    "apimachinery.models.meta": META,
    "apimachinery.models.core": "io.k8s.api.core.v1",
    "apimachinery.models.apps": "io.k8s.api.apps.v1",
    "apimachinery.models.shapes": "io.k8s.api.core.v1",
}
_GROUP_PACKAGES = {"": "core", "rbac.authorization.k8s.io": "rbac"}
_STANDARD_FIELDS = {
    "apiVersion": "The versioned schema of this representation of an object (group/version).",
    "kind": "The REST resource this object represents, in CamelCase.",
    "metadata": "Standard object metadata: name, namespace, labels, annotations, owners.",
}


def typed_models() -> list[type[TypedObject]]:
    """Every top-level kind podvisor models, found by subclass (new kinds join by being defined)."""
    found: list[type[TypedObject]] = []
    pending = list(TypedObject.__subclasses__())
    while pending:
        cls = pending.pop(0)
        if cls.KIND and cls not in found:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def package_of_version(api_version: str) -> str:
    """``apps/v1`` -> ``io.k8s.api.apps.v1``; ``v1`` -> ``io.k8s.api.core.v1``."""
    group, _, version = api_version.rpartition("/")
    if group.endswith(".podvisor.io"):
        return f"io.podvisor.api.{group.removesuffix('.podvisor.io')}.{version}"
    short = _GROUP_PACKAGES.get(group, group.removesuffix(".k8s.io").split(".")[0])
    return f"io.k8s.api.{short}.{version}"


# --- reading the models ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """A field's type with Optional and Annotated peeled off, its upper bound, and its model.

    ``model`` is the type itself when it is a model, or the model an ``OpenAPIShape`` marker
    names for a field stored as a dict.
    """

    tp: Any
    upper: int | None = None
    model: type[BaseModel] | None = None


def _shape(annotation: Any, metadata: tuple[Any, ...] | list[Any] = ()) -> _Shape:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return _shape(base, (*metadata, *extra))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _shape(args[0], metadata)
        annotation = functools.reduce(operator.or_, args)
    described = next((m.model for m in metadata if isinstance(m, OpenAPIShape)), None)
    model = annotation if _is_model(annotation) else described
    return _Shape(annotation, _upper_bound(metadata), model)


def _upper_bound(metadata: tuple[Any, ...] | list[Any]) -> int | None:
    """``Int32``/``Int64`` carry ``le=``; Kubernetes names the width as the integer's format."""
    found = None
    for item in metadata:
        if isinstance(item, FieldInfo):
            found = _upper_bound(item.metadata) or found
        elif isinstance(item, Le) and isinstance(item.le, int):
            found = item.le
    return found


def _is_int_or_string(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and set(typing.get_args(tp)) == {int, str}


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _wire_name(name: str, field: FieldInfo) -> str:
    return field.alias or name


def _children(model: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel], bool]]:
    """(wire name, nested model, is a list) for every field holding models."""
    for name, field in model.model_fields.items():
        shape = _shape(field.annotation, field.metadata)
        listed = typing.get_origin(shape.tp) is list
        if listed:
            shape = _shape(typing.get_args(shape.tp)[0])
        elif typing.get_origin(shape.tp) is dict and shape.model is None:
            shape = _shape(typing.get_args(shape.tp)[1])
        if shape.model is not None:
            yield _wire_name(name, field), shape.model, listed


def model_description(model: type[BaseModel]) -> str | None:
    """The model's own docstring (not an inherited one), as its schema's description."""
    doc = model.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if doc else None


# --- naming ----------------------------------------------------------------------------------


def reached_by(kind: type[BaseModel]) -> set[type[BaseModel]]:
    """Every model nested anywhere under ``kind``."""
    seen: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [kind]
    while pending:
        model = pending.pop()
        for _, child, _ in _children(model):
            if child not in seen:
                seen.add(child)
                pending.append(child)
    return seen


@functools.cache
def schema_name(model: type[BaseModel]) -> str:
    """Kubernetes' name for a model: ``io.k8s.api.core.v1.PodSpec``."""
    if issubclass(model, TypedObject) and model.API_VERSION:
        return f"{package_of_version(model.API_VERSION)}.{model.__name__}"
    module = sys.modules[model.__module__]
    local_kinds = [k for k in typed_models() if sys.modules[k.__module__] is module]
    users = {package_of_version(k.API_VERSION) for k in local_kinds if model in reached_by(k)}
    if len(users) == 1:
        return f"{users.pop()}.{model.__name__}"
    package = _MODULE_PACKAGES.get(model.__module__)
    if package is None:
        packages = {package_of_version(k.API_VERSION) for k in local_kinds}
        package = packages.pop() if len(packages) == 1 else f"io.podvisor.{model.__module__.rsplit('.', 1)[-1]}"
    return f"{package}.{model.__name__}"


# --- merge keys, read from the strategic-merge-patch table -----------------------------------


def _walk_lists(model: type[BaseModel], *, path: str, kind: str, found: dict[tuple[str, str], set[str | None]]) -> None:
    keys = merge_keys_for(kind)
    for wire, child, listed in _children(model):
        child_path = f"{path}.{wire}" if path else wire
        if listed:
            found.setdefault((schema_name(model), wire), set()).add(keys.get(child_path))
        _walk_lists(child, path=child_path, kind=kind, found=found)
    for name, field in model.model_fields.items():
        tp = _shape(field.annotation, field.metadata).tp
        if typing.get_origin(tp) is list and _shape(typing.get_args(tp)[0]).model is None:
            wire = _wire_name(name, field)
            found.setdefault((schema_name(model), wire), set()).add(keys.get(f"{path}.{wire}" if path else wire))


@functools.cache
def list_merge_keys() -> dict[tuple[str, str], str | None]:
    """(schema name, list property) -> the merge key strategic merge patch uses, SET, or None."""
    found: dict[tuple[str, str], set[str | None]] = {}
    for kind in typed_models():
        _walk_lists(kind, path="", kind=kind.KIND, found=found)
    table: dict[tuple[str, str], str | None] = {}
    for where, keys in found.items():
        if len(keys) > 1:
            raise ValueError(f"{where[0]}.{where[1]}: merge keys disagree between kinds: {keys}")
        table[where] = keys.pop()
    return table


# --- schemas ---------------------------------------------------------------------------------


def _integer(upper: int | None) -> Doc:
    if upper is None:
        return {"type": "integer"}
    return {"type": "integer", "format": "int32" if upper < 2**31 else "int64"}


def _type_schema(shape: _Shape, *, refs: set[type[BaseModel]]) -> Doc:
    tp = shape.tp
    if _is_int_or_string(tp):
        return {"$ref": REF_PREFIX + INT_OR_STRING}
    if shape.model is not None:
        refs.add(shape.model)
        return {"$ref": REF_PREFIX + schema_name(shape.model)}
    origin = typing.get_origin(tp)
    if origin is list:
        item = _type_schema(_shape(typing.get_args(tp)[0]), refs=refs)
        return {"type": "array", "items": _with_default(item)}
    if origin is dict:
        value = _shape(typing.get_args(tp)[1])
        if value.tp is Any:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {"type": "object", "additionalProperties": _with_default(_type_schema(value, refs=refs))}
    scalar = {str: {"type": "string"}, bool: {"type": "boolean"}, float: {"type": "number", "format": "double"}}
    if tp is int:
        return _integer(shape.upper)
    if tp in scalar:
        return dict(scalar[tp])
    return {"x-kubernetes-preserve-unknown-fields": True}


def _with_default(schema: Doc) -> Doc:
    """Items and map values carry the zero value, as Kubernetes' generator writes them."""
    zero = {"string": "", "boolean": False, "integer": 0, "number": 0}.get(schema.get("type", ""))
    if "$ref" in schema and INT_OR_STRING not in schema["$ref"]:
        return _wrap_ref({**schema, "default": {}})
    return {**schema, "default": zero} if zero is not None else schema


def _wrap_ref(schema: Doc) -> Doc:
    """OpenAPI 3.0 ignores a ``$ref``'s siblings, so kube-openapi moves it into a one-element ``allOf``."""
    if "$ref" not in schema or len(schema) == 1:
        return schema
    rest = {k: v for k, v in schema.items() if k != "$ref"}
    return dict(sorted({"allOf": [{"$ref": schema["$ref"]}], **rest}.items()))


def _list_extensions(where: tuple[str, str], merge_key: str | None) -> Doc:
    if merge_key is None:
        if map_keys := _LIST_MAP_KEYS.get(where):
            return {"x-kubernetes-list-map-keys": map_keys, "x-kubernetes-list-type": "map"}
        return {"x-kubernetes-list-type": "atomic"}
    strategy = "merge,retainKeys" if where in _RETAIN_KEYS else "merge"
    if merge_key == SET:
        return {"x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": strategy}
    return {
        "x-kubernetes-list-map-keys": _LIST_MAP_KEYS.get(where, [merge_key]),
        "x-kubernetes-list-type": "map",
        "x-kubernetes-patch-merge-key": merge_key,
        "x-kubernetes-patch-strategy": strategy,
    }


def _property(model: type[BaseModel], wire: str, *, field: FieldInfo, refs: set[type[BaseModel]]) -> Doc:
    schema = _type_schema(_shape(field.annotation, field.metadata), refs=refs)
    standard = _STANDARD_FIELDS.get(wire) if issubclass(model, TypedObject) else None
    description = field.description or standard
    if description:
        schema["description"] = description
    where = (schema_name(model), wire)
    if schema.get("type") == "array":
        schema |= _list_extensions(where, list_merge_keys().get(where))
    elif where in _RETAIN_KEYS:
        schema["x-kubernetes-patch-strategy"] = "retainKeys"
    if _shape(field.annotation).model is not None and (field.is_required() or field.default_factory is not None):
        schema["default"] = {}
    return _wrap_ref(dict(sorted(schema.items())))


def model_schema(model: type[BaseModel], *, refs: set[type[BaseModel]]) -> Doc:
    """One ``components.schemas`` entry; the models it references are added to ``refs``."""
    properties: Doc = {}
    required: list[str] = []
    for name, field in model.model_fields.items():
        wire = _wire_name(name, field)
        properties[wire] = _property(model, wire, field=field, refs=refs)
        if field.is_required():
            required.append(wire)
    schema: Doc = {"properties": dict(sorted(properties.items())), "type": "object"}
    if description := model_description(model):
        schema["description"] = description
    if required:
        schema["required"] = required
    if issubclass(model, TypedObject) and model.KIND:
        group, _, version = model.API_VERSION.rpartition("/")
        schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": model.KIND, "version": version}]
    return dict(sorted(schema.items()))


def list_schema(kind: type[TypedObject]) -> Doc:
    """``DeploymentList``: what a list call returns."""
    group, _, version = kind.API_VERSION.rpartition("/")
    return {
        "description": f"A list of {kind.KIND} objects.",
        "properties": {
            "apiVersion": {"description": _STANDARD_FIELDS["apiVersion"], "type": "string"},
            "items": {
                "description": f"The {kind.KIND} objects.",
                "items": {"allOf": [{"$ref": REF_PREFIX + schema_name(kind)}], "default": {}},
                "type": "array",
            },
            "kind": {"description": _STANDARD_FIELDS["kind"], "type": "string"},
            "metadata": {
                "allOf": [{"$ref": f"{REF_PREFIX}{META}.ListMeta"}],
                "default": {},
                "description": "Standard list metadata: resourceVersion and the continue token.",
            },
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": group, "kind": f"{kind.KIND}List", "version": version}],
    }


_INT_OR_STRING_SCHEMA: Doc = {
    "description": "A value that is either an integer or a string (a port number or name, a count or "
    "a percentage such as \"25%\").",
    "format": "int-or-string",
    "oneOf": [{"type": "integer"}, {"type": "string"}],
    "x-kubernetes-int-or-string": True,
}


def schemas_for(kinds: list[type[TypedObject]], *, lists: list[type[TypedObject]]) -> Doc:
    """``components.schemas`` holding ``kinds``, a ``<Kind>List`` per ``lists`` entry, and all they use."""
    from apimachinery.models.meta import DeleteOptions, ListMeta, Status

    out: Doc = {}
    pending: list[type[BaseModel]] = [*kinds, ListMeta, Status, DeleteOptions]
    done: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in done:
            continue
        done.add(model)
        refs: set[type[BaseModel]] = set()
        if schema_name(model) in out:
            raise ValueError(f"two models are named {schema_name(model)}")
        out[schema_name(model)] = model_schema(model, refs=refs)
        pending.extend(refs - done)
    for kind in lists:
        out[f"{schema_name(kind)}List"] = list_schema(kind)
    if any(INT_OR_STRING in str(schema) for schema in out.values()):
        out[INT_OR_STRING] = dict(_INT_OR_STRING_SCHEMA)
    return dict(sorted(out.items()))
