"""Impersonation (``kubectl --as``/``--as-group``): Kubernetes' ``Impersonate-*`` headers.

A user allowed to ``impersonate`` ``users`` (or ``serviceaccounts``, ``groups``, ``uids``,
``userextras/<key>``) may act as someone else; each impersonated attribute is authorized on its
own, and the request then runs as the impersonated user from authorization on (admission and
the audit log see that user). Without the permission the request is refused with Kubernetes'
403; headers naming groups or extras without a user are a 400. Never silently ignored: a
request that asks to be someone else either becomes them or fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from apimachinery.errors import ApiError
from apiserver.authn.user import (
    AUTHENTICATED,
    SERVICE_ACCOUNT_PREFIX,
    SERVICE_ACCOUNTS,
    UNAUTHENTICATED,
    UserInfo,
)
from apiserver.requestinfo import RequestInfo

USER_HEADER, GROUP_HEADER, UID_HEADER = b"impersonate-user", b"impersonate-group", b"impersonate-uid"
EXTRA_PREFIX = b"impersonate-extra-"
ANONYMOUS = "system:anonymous"

Allows = Callable[[UserInfo, RequestInfo], bool]


def requested(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    return any(name.startswith(b"impersonate-") for name, _ in headers)


def _check(allows: Allows, user: UserInfo, *, resource: str, name: str, namespace: str = "",
           group: str = "") -> None:
    info = RequestInfo(True, "", "impersonate", group, "", namespace, resource.split("/")[0],
                       resource.partition("/")[2], name)
    if allows(user, info):
        return
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    plural = f"{resource.split('/')[0]}.{group}" if group else resource.split("/")[0]
    raise ApiError(403, "Forbidden",
                   f'{plural} "{name}" is forbidden: User "{user.name}" cannot impersonate resource "{resource}" '
                   f'in API group "{group}" {where}', name=name, kind=resource.split("/")[0], group=group or None)


def impersonate(user: UserInfo, headers: Sequence[tuple[bytes, bytes]], allows: Allows) -> UserInfo:
    """The user the request acts as, each attribute checked; raises ApiError 400/403."""
    values: dict[bytes, list[str]] = {}
    for header, raw in headers:
        if header.startswith(b"impersonate-"):
            values.setdefault(header, []).append(raw.decode("latin-1"))
    names = values.get(USER_HEADER, [])
    if len(names) != 1 or not names[0]:
        raise ApiError(400, "BadRequest", "requested impersonation without impersonating exactly one user")
    name = names[0]
    groups = [g.strip() for value in values.get(GROUP_HEADER, []) for g in value.split(",") if g.strip()]
    for group in groups:
        _check(allows, user, resource="groups", name=group)
    if name.startswith(SERVICE_ACCOUNT_PREFIX):
        namespace, _, account = name.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
        _check(allows, user, resource="serviceaccounts", name=account, namespace=namespace)
        if not groups:  # a ServiceAccount's groups follow from its name
            groups = [SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}"]
    else:
        _check(allows, user, resource="users", name=name)
    uid = (values.get(UID_HEADER) or [""])[0]
    if uid:
        _check(allows, user, resource="uids", name=uid, group="authentication.k8s.io")
    extra: dict[str, tuple[str, ...]] = {}
    for extra_header, found in values.items():
        if extra_header.startswith(EXTRA_PREFIX):
            key = extra_header.removeprefix(EXTRA_PREFIX).decode("latin-1").lower()
            for extra_value in found:
                _check(allows, user, resource=f"userextras/{key}", name=extra_value, group="authentication.k8s.io")
            extra[key] = tuple(found)
    if name != ANONYMOUS and AUTHENTICATED not in groups and UNAUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return UserInfo(name, uid, tuple(groups), extra)
