"""The integer width of every integer field the models declare, checked as Kubernetes' decoder does.

Kubernetes' Go types fix each integer's width: ``replicas`` and ports are ``int32``, grace periods
and generations ``int64``. A number that does not fit is refused while decoding, before any
validation, with a 400 that names the Go field::

    Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal
    number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32

The widths come from the models, their one home: a field declared ``Int64``
(:mod:`apimachinery.models.base`) is an ``int64``, every other ``int`` an ``int32``, as in
Kubernetes' API. Which fields are integers, and where the nested models are, is read from the
pydantic models themselves, so a new model field is covered without touching this module. The
check runs on the request body before the model parses it, so the answer is the decoder's 400
rather than the model's range error. Negative values are validation's business
(422); integers outside int64 in undeclared places never get this far (:mod:`apiserver.jsonbody`).
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from apimachinery.errors import ApiError, bad_request, cause
from apimachinery.resources import ResourceType

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class _Plan:
    """Where one model keeps its integers and its nested models (by wire name)."""

    ints: dict[str, str] = field(default_factory=dict)  # wire name -> "int32" | "int64"
    nested: dict[str, tuple[str, type[BaseModel]]] = field(default_factory=dict)  # -> (shape, model)


def width(info: FieldInfo) -> str:
    """``int64`` for a field declared ``Int64`` (its upper bound says so), else ``int32``."""
    return "int64" if INT64[1] in _upper_bounds(info) else "int32"


def _upper_bounds(info: FieldInfo) -> set[int]:
    """The ``le`` bounds on a field, whether pydantic hoisted them into the field's metadata
    (``x: Int64``) or left them inside ``Annotated`` (``x: Int64 | None``)."""
    constraints = list(info.metadata)
    for arg in _union_members(info.annotation):
        if typing.get_origin(arg) is typing.Annotated:
            for extra in typing.get_args(arg)[1:]:
                constraints.extend(getattr(extra, "metadata", [extra]))
    return {m.le for m in constraints if isinstance(getattr(m, "le", None), int)}


def bounds(type_name: str) -> tuple[int, int]:
    return INT64 if type_name == "int64" else INT32


def check(rt: ResourceType, wire: Any) -> None:
    """Raise the decoder's 400 for the first integer in ``wire`` outside its field's width."""
    problem = first_out_of_range(rt.model, wire)
    if problem is not None:
        path, go_field, number, type_name = problem
        version = rt.api_version.rpartition("/")[2]
        message = (
            f"json: cannot unmarshal number {number} into Go struct field {go_field} of type {type_name}"
        )
        raise out_of_range_error(f'{rt.kind} in version "{version}" cannot be handled as a {rt.kind}: ', path, message)


def out_of_range_error(prefix: str, path: str, message: str) -> ApiError:
    return bad_request(prefix + message, [cause(path, message, "FieldValueInvalid")])


def first_out_of_range(
    model: type[BaseModel], wire: Any, path: str = ""
) -> tuple[str, str, int, str] | None:
    """(JSON path, Go field name, number, width) of the first integer that does not fit, or None."""
    if not isinstance(wire, dict):
        return None
    plan = _plan(model)
    for key, value in wire.items():
        here = f"{path}.{key}" if path else key
        type_name = plan.ints.get(key)
        if type_name is not None and isinstance(value, int) and not isinstance(value, bool):
            low, high = bounds(type_name)
            if not low <= value <= high:
                return here, f"{model.__name__}.{here}", value, type_name
        elif key in plan.nested:
            shape, inner = plan.nested[key]
            found = _in_nested(shape, inner, value, here)
            if found is not None:
                return found
    return None


def _in_nested(shape: str, model: type[BaseModel], value: Any, path: str) -> tuple[str, str, int, str] | None:
    if shape == "one":
        return first_out_of_range(model, value, path)
    if shape == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            if (found := first_out_of_range(model, item, f"{path}[{i}]")) is not None:
                return found
    if shape == "map" and isinstance(value, dict):
        for key, item in value.items():
            if (found := first_out_of_range(model, item, f"{path}[{key}]")) is not None:
                return found
    return None


@functools.cache
def _plan(model: type[BaseModel]) -> _Plan:
    plan = _Plan()
    for name, info in model.model_fields.items():
        wire_name = info.alias or name
        for shape, arg in _shapes(info.annotation):
            if shape == "one" and arg is int:
                plan.ints[wire_name] = width(info)
            elif isinstance(arg, type) and issubclass(arg, BaseModel):
                plan.nested[wire_name] = (shape, arg)
    return plan


def _shapes(annotation: Any) -> list[tuple[str, Any]]:
    """``int | None`` -> [("one", int)]; ``list[Port] | None`` -> [("list", Port)]; ..."""
    out: list[tuple[str, Any]] = []
    for member in _union_members(annotation):
        arg = typing.get_args(member)[0] if typing.get_origin(member) is typing.Annotated else member
        origin = typing.get_origin(arg)
        if origin is list:
            out.extend(("list", inner) for inner in typing.get_args(arg)[:1])
        elif origin is dict:
            out.extend(("map", inner) for inner in typing.get_args(arg)[1:2])
        else:
            out.append(("one", arg))
    return out


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)
