"""Wire authorization into an app: policy, index, admission plugins, reviews, middleware."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from apimachinery.errors import ApiError
from apimachinery.resources import ResourceType
from apiserver.admissionplugins.base import Chain
from apiserver.admissionplugins.noderestriction import NodeRestriction
from apiserver.authz.authorizer import Authorizer
from apiserver.authz.bootstrap import reconcile_defaults, write_aggregations
from apiserver.authz.escalation import RbacEscalation
from apiserver.authz.middleware import Authorization
from apiserver.authz.reviews import handlers
from apiserver.registry import Registry
from apiserver.store.base import Store


def install(app: FastAPI, registry: Registry, store: Store) -> Authorizer:
    """Reconcile the default policy, start the index, add NodeRestriction and the escalation
    check to the admission chain, serve the reviews, and authorize every request.

    Call before the authentication middleware is added: middleware added later runs first.
    """
    reconcile_defaults(registry)
    authorizer = Authorizer(store)
    authorizer.start()
    write_aggregations(registry, authorizer.index.cluster_roles)

    def stored(rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return registry.get(rt, namespace or None, name)
        except ApiError:
            return None

    registry.plugins = Chain([*registry.plugins.plugins, NodeRestriction(stored), RbacEscalation(authorizer)])
    app.state.reviews.update(handlers(authorizer))
    app.add_middleware(Authorization, authorizer=authorizer)
    return authorizer


async def keep_current(authorizer: Authorizer, registry: Registry) -> None:
    """The background half: drain the store's events and keep aggregated ClusterRoles' rules."""
    roles = authorizer.index.cluster_roles
    await authorizer.follower.run(lambda: write_aggregations(registry, roles))
