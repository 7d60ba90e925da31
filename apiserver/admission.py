"""From a request body to a storable object: decode, check fields, default, validate.

The order is Kubernetes': decode into the typed model (type errors -> 422), report fields the
model does not know (``fieldValidation``: Strict -> 422, Warn -> ``Warning`` header, Ignore),
apply server-side defaults, then validate. Nothing here touches the store, so a rejected
request consumes no revision and emits no watch event.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from apimachinery.errors import ApiError, bad_request, cause, invalid
from apimachinery.models.base import unknown_fields
from apimachinery.resources import ResourceType
from apiserver import defaults, validation

FIELD_VALIDATION_MODES = ("Strict", "Warn", "Ignore")


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
    rt: ResourceType, body: dict[str, Any], *, field_validation: str
) -> tuple[dict[str, Any], list[str]]:
    """Validate types through the model; return the normalised wire dict and warnings."""
    if field_validation not in FIELD_VALIDATION_MODES:
        raise bad_request(
            f'fieldValidation must be one of {", ".join(FIELD_VALIDATION_MODES)}, got "{field_validation}"'
        )
    name = str((body.get("metadata") or {}).get("name") or "")
    try:
        model = rt.model.model_validate(body)
    except ValidationError as err:
        raise invalid(rt.kind, name, _type_causes(err), group=rt.group) from None
    unknown = [f for f in unknown_fields(model) if f not in ("apiVersion", "kind")]
    if unknown and field_validation == "Strict":
        causes = [cause(f, f'unknown field "{f}"', "FieldValueInvalid") for f in unknown]
        qualified = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
        raise ApiError(
            422,
            "Invalid",
            f'{qualified} "{name}" is invalid: strict decoding error: '
            + ", ".join(f'unknown field "{f}"' for f in unknown),
            name=name,
            kind=rt.kind,
            group=rt.group,
            causes=causes,
        )
    warnings = [f'unknown field "{f}"' for f in unknown] if field_validation == "Warn" else []
    return model.to_dict(), warnings


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
    rt: ResourceType, obj: dict[str, Any], *, old: dict[str, Any] | None, toleration_seconds: int
) -> dict[str, Any]:
    """Apply server-side defaults, then reject the object if it is invalid."""
    defaulted = defaults.apply_defaults(rt.kind, obj, toleration_seconds=toleration_seconds)
    if old is None:
        causes = validation.validate_object(rt.kind, defaulted)
    else:
        causes = validation.validate_update(rt.kind, defaulted, old)
    if causes:
        name = str((defaulted.get("metadata") or {}).get("name") or "")
        raise invalid(rt.kind, name, causes, group=rt.group)
    return defaulted
