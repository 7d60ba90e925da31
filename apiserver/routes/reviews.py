"""Reviews: kinds a client POSTs to be answered, never stored (TokenReview, SubjectAccessReview...).

As in Kubernetes, a review is a create whose response is the request with ``status`` filled
in, answered 201; any other verb is 405. Each kind's handler is in ``app.state.reviews``
(kind -> handler), given the request and the decoded, type-checked body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from apimachinery.errors import method_not_allowed, route_not_found
from apiserver import admission, negotiation
from apiserver.negotiation import FastJSONResponse as JSONResponse
from apiserver.routes.paths import Target

Obj = dict[str, Any]
#: (request, body with apiVersion/kind checked) -> the review with its status
ReviewHandler = Callable[[Request, Obj], Obj]


async def review(request: Request, target: Target) -> Response:
    if request.method != "POST" or target.name is not None:
        raise method_not_allowed()
    handlers: dict[str, ReviewHandler] = getattr(request.app.state, "reviews", {})
    handler = handlers.get(target.rt.kind)
    if handler is None:
        raise route_not_found()
    raw = await request.body()
    body = admission.check_type(target.rt, negotiation.decode_body(raw, request.headers.get("content-type")))
    if target.namespace is not None:
        body.setdefault("metadata", {})["namespace"] = target.namespace
    return JSONResponse(handler(request, body), status_code=201)
