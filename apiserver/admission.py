"""From a request body to a storable object: decode, check fields, default, validate.

The order is Kubernetes': decode into the typed model (type errors -> 422, integers out of their
field's range -> 400), report fields the model does not know and keys given twice
(``fieldValidation``: Strict -> 400, Warn -> ``Warning`` header, Ignore),
apply server-side defaults, then validate. Nothing here touches the store, so a rejected
request consumes no revision and emits no watch event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from apimachinery import jsonio
from apimachinery.errors import ApiError, bad_request, cause, invalid
from apimachinery.models.base import unknown_fields
from apimachinery.models.meta import DeleteOptions
from apimachinery.resources import ResourceType
from apiserver import intranges, strategies

FIELD_VALIDATION_MODES = ("Strict", "Warn", "Ignore")
# etcd's default --max-request-bytes: Kubernetes cannot store a larger object, though the
# request that carries it may be twice as big (JSON is wordier than the protobuf it stores).
MAX_OBJECT_BYTES = 1536 * 1024


def check_type(rt: ResourceType, body: Any) -> dict[str, Any]:
    """The body must be an object of this resource's kind (apiVersion/kind may be omitted)."""
    if not isinstance(body, dict):
        raise bad_request(f"the body of the request must be a {rt.kind} object")
    kind = body.get("kind")
    if kind not in (None, "", rt.kind):
        raise bad_request(f"the kind of the provided object ({kind}) does not match the resource ({rt.kind})")
    api_version = body.get("apiVersion")
    if api_version not in (None, "", rt.api_version):
        raise bad_request(
            f"the API version of the provided object ({api_version}) does not match {rt.api_version}"
        )
    out = dict(body)
    out["apiVersion"] = rt.api_version
    out["kind"] = rt.kind
    if not isinstance(out.get("metadata", {}), dict):
        raise invalid(rt.kind, "", [cause("metadata", "must be an object")], group=rt.group)
    return out


def decode(
    rt: ResourceType,
    body: dict[str, Any],
    *,
    field_validation: str,
    duplicates: Sequence[str] = (),
) -> tuple[dict[str, Any], list[str]]:
    """Validate types through the model; return the normalised wire dict and warnings.

    ``duplicates`` are the JSON paths of keys the request body gave twice; with the fields no
    model declares they are Kubernetes' strict decoding errors, which ``fieldValidation``
    turns into a 400 (Strict), ``Warning`` headers (Warn, the default) or nothing (Ignore).
    """
    if field_validation not in FIELD_VALIDATION_MODES:
        raise bad_request(
            f'fieldValidation must be one of {", ".join(FIELD_VALIDATION_MODES)}, got "{field_validation}"'
        )
    name = str((body.get("metadata") or {}).get("name") or "")
    intranges.check(rt, body)
    try:
        model = rt.model.model_validate(body)
    except ValidationError as err:
        raise invalid(rt.kind, name, _type_causes(err), group=rt.group) from None
    wire = model.to_dict()
    if field_validation == "Ignore":
        return wire, []
    strict = [(f, f'duplicate field "{f}"') for f in duplicates]
    strict += [(f, f'unknown field "{f}"') for f in unknown_fields(model) if f not in ("apiVersion", "kind")]
    if strict and field_validation == "Strict":
        raise bad_request(
            f"{decode_error_prefix(rt)}strict decoding error: " + ", ".join(m for _, m in strict),
            [cause(f, m, "FieldValueInvalid") for f, m in strict],
        )
    return wire, [m for _, m in strict]


def decode_error_prefix(rt: ResourceType) -> str:
    """How Kubernetes introduces an error decoding a body into a kind."""
    version = rt.api_version.rpartition("/")[2]
    return f'{rt.kind} in version "{version}" cannot be handled as a {rt.kind}: '


def _type_causes(err: ValidationError) -> list[dict[str, str]]:
    causes = []
    for item in err.errors()[:20]:
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        reason = "FieldValueRequired" if item["type"] == "missing" else "FieldValueInvalid"
        message = "Required value" if item["type"] == "missing" else f"Invalid value: {item['msg']}"
        causes.append(cause(path or "<root>", message, reason))
    return causes


def default_and_validate(
    rt: ResourceType,
    obj: dict[str, Any],
    *,
    old: dict[str, Any] | None,
    toleration_seconds: int,
    subresource: str | None = None,
) -> dict[str, Any]:
    """Apply the kind's defaults (and on create its PrepareForCreate), then reject it if invalid."""
    defaulted = strategies.apply_defaults(rt.kind, obj, toleration_seconds=toleration_seconds)
    if old is None:
        strategies.for_kind(rt.kind).prepare_for_create(defaulted)
        causes = strategies.validate_create(rt.kind, defaulted)
    else:
        causes = strategies.validate_update(rt.kind, defaulted, old, subresource=subresource)
    if causes:
        name = str((defaulted.get("metadata") or {}).get("name") or "")
        raise invalid(rt.kind, name, causes, group=rt.group)
    return defaulted


def check_size(rt: ResourceType, obj: dict[str, Any]) -> None:
    """413 for an object whose encoding is over :data:`MAX_OBJECT_BYTES`, as etcd refuses it."""
    size = len(jsonio.dumps(obj))
    if size > MAX_OBJECT_BYTES:
        name = str((obj.get("metadata") or {}).get("name") or "")
        raise ApiError(
            413,
            "RequestEntityTooLarge",
            f"{rt.kind} {name!r} is too large to store: it encodes to {size} bytes, "
            f"over the limit of {MAX_OBJECT_BYTES} (etcdserver: request is too large)",
            name=name,
            kind=rt.plural,
            group=rt.group,
        )


def delete_options(body: Any, *, grace_period: str | None, propagation: str | None) -> dict[str, Any]:
    """DeleteOptions from a request body (may be None) and the query, decoded as Kubernetes does."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise bad_request("the body of a delete request must be a DeleteOptions object")
    prefix = 'DeleteOptions in version "v1" cannot be handled as a DeleteOptions: '
    _refuse_out_of_range(prefix, body)
    try:
        options = DeleteOptions.model_validate(body).to_dict()
    except ValidationError as err:
        causes = _type_causes(err)
        raise bad_request(prefix + "; ".join(f"{c['field']}: {c['message']}" for c in causes), causes) from None
    if grace_period:
        options["gracePeriodSeconds"] = _query_integer("gracePeriodSeconds", grace_period)
    if propagation:
        options["propagationPolicy"] = propagation
    _refuse_out_of_range(prefix, options)
    return options


def _refuse_out_of_range(prefix: str, options: dict[str, Any]) -> None:
    problem = intranges.first_out_of_range(DeleteOptions, options)
    if problem is not None:
        path, go_field, number, type_name = problem
        message = f"json: cannot unmarshal number {number} into Go struct field {go_field} of type {type_name}"
        raise intranges.out_of_range_error(prefix, path, message)


def _query_integer(name: str, raw: str) -> int:
    """A query parameter of type int64, refused with 400 as Kubernetes' parameter codec does."""
    try:
        number = int(raw)
    except ValueError:
        number = None
    low, high = intranges.INT64
    if number is None or not low <= number <= high:
        message = f'Invalid value: "{raw}": must be an integer in the int64 range'
        raise bad_request(f"{name}: {message}", [cause(name, message, "FieldValueInvalid")])
    return number

