"""The base of every resource model: Kubernetes wire names, lossless round-trips.

Models accept fields they do not declare (``extra="allow"``) so a real manifest survives a
create/get round-trip unchanged; :func:`unknown_fields` reports those extras by JSON path, which
is how the apiserver implements ``fieldValidation=Strict|Warn``. Sub-structures podvisor does not
interpret (affinity, securityContext, ...) are declared as plain dicts: known to be valid
Kubernetes fields, stored verbatim, never inspected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

AnyDict = dict[str, Any]

# Kubernetes' fixed-width integer fields. Python's int has no bound, so without these a stored
# 2^70 would reach a controller as a valid replica count.
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


@dataclass(frozen=True)
class OpenAPIShape:
    """Marks a field stored as a plain dict with the model that describes it in OpenAPI.

    ``Annotated[AnyDict, OpenAPIShape(SecurityContext)]`` validates and stores like ``AnyDict``;
    only the published schema uses the model.
    """

    model: type[BaseModel]


class K8sModel(BaseModel):
    """A Kubernetes JSON object: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        validate_assignment=False,
        protected_namespaces=(),
        use_attribute_docstrings=True,  # a string under a field is its OpenAPI description
    )

    def to_dict(self) -> AnyDict:
        """The wire form: camelCase keys, unset/None fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    @classmethod
    def from_dict(cls, data: AnyDict) -> Self:
        return cls.model_validate(data)

    def copy_deep(self) -> Self:
        return self.model_copy(deep=True)


def unknown_fields(model: BaseModel, path: str = "") -> list[str]:
    """JSON paths (``spec.template.spec.containers[0].foo``) of fields no model declares."""
    found: list[str] = []
    for key in model.__pydantic_extra__ or {}:
        found.append(f"{path}.{key}" if path else key)
    fields = type(model).model_fields
    for name in model.model_fields_set:  # only what the input set: unset fields hold no extras
        value = getattr(model, name, None)
        if value is None or isinstance(value, str | int | float | bool):
            continue
        field = fields.get(name)
        wire = (field.alias or name) if field is not None else name
        found.extend(_unknown_in(value, f"{path}.{wire}" if path else wire))
    return found


def _unknown_in(value: Any, path: str) -> list[str]:
    if isinstance(value, BaseModel):
        return unknown_fields(value, path)
    if isinstance(value, list):
        out: list[str] = []
        for i, item in enumerate(value):
            out.extend(_unknown_in(item, f"{path}[{i}]"))
        return out
    if isinstance(value, dict):
        out = []
        for k, item in value.items():
            if isinstance(item, BaseModel):
                out.extend(unknown_fields(item, f"{path}.{k}"))
        return out
    return []


class TypedObject(K8sModel):
    """A top-level object with apiVersion/kind; subclasses set API_VERSION and KIND."""

    API_VERSION: ClassVar[str] = ""
    KIND: ClassVar[str] = ""
