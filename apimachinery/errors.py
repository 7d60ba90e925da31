"""API errors as Kubernetes Status objects.

Every failure the apiserver reports, and every failure the API client raises, is an
:class:`ApiError` carrying the Status body, so the two sides share one vocabulary
(``NotFound``, ``AlreadyExists``, ``Conflict``, ``Invalid``, ``Expired``, ...).
"""

from __future__ import annotations

from typing import Any

from apimachinery import jsonio

#: Codes whose Status always carries ``details``, as Kubernetes' constructors (NewNotFound,
#: NewGenericServerResponse, NewMethodNotSupported, NewForbidden, NewConflict, NewInvalid) set
#: them: kubectl reads ``details`` of a 404 without checking it is there.
_CODES_WITH_DETAILS = frozenset({403, 404, 405, 409, 422})


class ApiError(Exception):
    """A failed API call: HTTP code, Kubernetes reason, message and optional causes."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        group: str | None = None,
        causes: list[dict[str, str]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.kind = kind
        self.group = group
        self.causes = causes or []
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        """The Status object sent on the wire, its keys in the order Kubernetes encodes them."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        details = self._details()
        if details or self.code in _CODES_WITH_DETAILS:
            body["details"] = details
        body["code"] = self.code
        return body

    def status_json(self) -> bytes:
        """The Status as the bytes Kubernetes sends: compact JSON and a trailing newline."""
        return jsonio.dumps(self.status()) + b"\n"

    def _details(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [_cause_in_wire_order(c) for c in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        return details

    @classmethod
    def from_status(cls, code: int, body: Any) -> ApiError:
        """Rebuild the error a server sent; tolerate bodies that are not a Status."""
        if not isinstance(body, dict) or body.get("kind") != "Status":
            text = body if isinstance(body, str) else repr(body)
            return cls(code, _REASON_BY_CODE.get(code, "Unknown"), text[:500])
        details = body.get("details") or {}
        return cls(
            int(body.get("code") or code),
            body.get("reason") or _REASON_BY_CODE.get(code, "Unknown"),
            body.get("message") or "",
            name=details.get("name"),
            kind=details.get("kind"),
            group=details.get("group"),
            causes=details.get("causes"),
        )

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"


def _cause_in_wire_order(item: dict[str, str]) -> dict[str, str]:
    """StatusCause's keys as Go encodes the struct: reason, message, field."""
    ordered: dict[str, str] = {key: item[key] for key in ("reason", "message", "field") if key in item}
    ordered.update(item)
    return ordered


_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict[str, str]:
    return {"field": field, "message": message, "reason": reason}


def not_found(resource: str, name: str, *, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', name=name, kind=resource, group=group)


def route_not_found() -> ApiError:
    """The 404 for a path no route serves, as Kubernetes words it (``details`` empty, no path)."""
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def method_not_allowed() -> ApiError:
    """The 405 for a method a path does not take, as Kubernetes words it."""
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def already_exists(resource: str, name: str, *, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        409, "AlreadyExists", f'{qualified} "{name}" already exists', name=name, kind=resource, group=group
    )


def conflict(resource: str, name: str, *, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        name=name,
        kind=resource,
        group=group,
    )


def invalid(kind: str, name: str, causes: list[dict[str, str]], *, group: str = "") -> ApiError:
    """422 Invalid naming each field at fault, worded like Kubernetes' validation errors."""
    summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(
        422,
        "Invalid",
        f'{qualified} "{name}" is invalid: {summary}',
        name=name,
        kind=kind,
        group=group,
        causes=causes,
    )


def bad_request(message: str, causes: list[dict[str, str]] | None = None) -> ApiError:
    return ApiError(400, "BadRequest", message, causes=causes)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
