"""Authorization as pure ASGI middleware, right after authentication, for HTTP and WebSocket.

Every request but the public health and version paths is authorized once, before the app
parses anything: watches, log streams and exec handshakes included. A WebSocket upgrade to
``pods/exec``, ``attach`` or ``portforward`` needs ``create`` as a POST would, as current Kubernetes
checks it (``AuthorizePodWebsocketUpgradeCreatePermission``): a ``get`` grant must not open a shell. A request without a user (authentication
off, or a public path) passes: authorization runs only where authentication does.
``Impersonate-*`` headers are honoured after their own checks (:mod:`.impersonation`).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs

from apimachinery.errors import ApiError
from apiserver.audit.annotations import DECISION, DECISION_ALLOW, DECISION_FORBID, REASON, annotate
from apiserver.auth import ASGIApp, Receive, Scope, Send
from apiserver.authn.middleware import is_public, refuse
from apiserver.authn.user import UserInfo, set_user, user_of
from apiserver.authz import impersonation
from apiserver.authz.authorizer import Authorizer
from apiserver.requestinfo import RequestInfo, request_info_of

_CONNECT_SUBRESOURCES = ("exec", "attach", "portforward")


class Authorization:
    def __init__(self, app: ASGIApp, authorizer: Authorizer) -> None:
        self.app = app
        self.authorizer = authorizer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = user_of(scope) if scope["type"] in ("http", "websocket") else None
        if user is None or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        if impersonation.requested(scope["headers"]):
            try:
                acting = impersonation.impersonate(user, scope["headers"], self.authorizer.allows)
            except ApiError as err:
                await refuse(scope, send, err)
                return
            scope.setdefault("state", {})["impersonator"] = user  # the audit log's "user"; "impersonatedUser" is acting
            user = acting
            set_user(scope, user)
        query = scope.get("query_string", b"").decode("latin-1")
        info = request_info_of(scope)
        if scope["type"] == "websocket" and info.subresource in _CONNECT_SUBRESOURCES:
            info = replace(info, verb="create")
        selector = parse_qs(query).get("fieldSelector", [""])[0]
        decision = self.authorizer.authorize(user, info, field_selector=selector)
        annotate(DECISION, DECISION_ALLOW if decision.allowed else DECISION_FORBID)  # as Kubernetes' audit records it
        if decision.reason:
            annotate(REASON, decision.reason)
        if not decision.allowed:
            await refuse(scope, send, forbidden(user, info, decision.reason))
            return
        await self.app(scope, receive, send)


def forbidden_message(user: UserInfo, info: RequestInfo) -> str:
    """Kubernetes' ``forbiddenMessage``: who cannot do what, where."""
    if not info.is_resource_request:
        return f'User "{user.name}" cannot {info.verb} path "{info.path}"'
    resource = info.resource_path
    if info.namespace:
        return (f'User "{user.name}" cannot {info.verb} resource "{resource}" in API group "{info.api_group}" '
                f'in the namespace "{info.namespace}"')
    return f'User "{user.name}" cannot {info.verb} resource "{resource}" in API group "{info.api_group}" at the cluster scope'


def forbidden(user: UserInfo, info: RequestInfo, reason: str = "") -> ApiError:
    """The 403 Status (``NewForbidden``): ``pods "x" is forbidden: User ...``; details name the
    resource as ``kind`` and its group, as Kubernetes sets them."""
    message = forbidden_message(user, info) + (f": {reason}" if reason else "")
    if not info.is_resource_request or not info.resource:
        return ApiError(403, "Forbidden", f"forbidden: {message}")
    resource = f"{info.resource}.{info.api_group}" if info.api_group else info.resource
    prefix = f'{resource} "{info.name}"' if info.name else resource
    return ApiError(403, "Forbidden", f"{prefix} is forbidden: {message}", name=info.name or None,
                    kind=info.resource, group=info.api_group or None)
