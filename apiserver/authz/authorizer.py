"""The union authorizer: Node, then RBAC, as ``--authorization-mode=Node,RBAC``.

``system:masters`` is allowed everything before either is asked, as Kubernetes' privileged
group. The first Allow (or Deny) decides; when every authorizer has no opinion the request is
denied, with the authorizers' reasons joined as Kubernetes joins them.
"""

from __future__ import annotations

from apiserver.authn.user import SYSTEM_MASTERS, UserInfo
from apiserver.authz.decision import Attributes, Decision, Verdict
from apiserver.authz.follower import Follower
from apiserver.authz.index import RbacIndex
from apiserver.authz.node import ClaimBindings, NodeAuthorizer, NodeGraph, VolumeNodes
from apiserver.authz.rbac import RbacAuthorizer
from apiserver.authz.rules import Rule
from apiserver.requestinfo import RequestInfo
from apiserver.store.base import Store

PODS_PREFIX = "/registry/pods/"
CLAIMS_PREFIX = "/registry/persistentvolumeclaims/"
VOLUMES_PREFIX = "/registry/persistentvolumes/"


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.index = RbacIndex()
        self.graph, self.claims, self.volumes = NodeGraph(), ClaimBindings(), VolumeNodes()
        self.follower = Follower(store, [*self.index.views(), (PODS_PREFIX, self.graph),
                                         (CLAIMS_PREFIX, self.claims), (VOLUMES_PREFIX, self.volumes)])
        self.rbac = RbacAuthorizer(self.index)
        self.node = NodeAuthorizer(self.graph, self.claims, self.volumes)

    def start(self) -> None:
        self.follower.start()

    def authorize(self, user: UserInfo, info: RequestInfo, *, field_selector: str = "") -> Decision:
        self.follower.catch_up()
        if SYSTEM_MASTERS in user.groups:
            return Decision(Verdict.ALLOW)
        attrs = Attributes(user, info, field_selector)
        reasons: list[str] = []
        for authorizer in (self.node, self.rbac):
            decision = authorizer.authorize(attrs)
            if decision.verdict is not Verdict.NO_OPINION:
                return decision
            if decision.reason:
                reasons.append(decision.reason)
        return Decision(Verdict.NO_OPINION, "\n".join(reasons))

    def allows(self, user: UserInfo, info: RequestInfo) -> bool:
        return self.authorize(user, info).allowed

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """What RBAC grants ``user`` in ``namespace`` (the escalation check's and rules review's view)."""
        self.follower.catch_up()
        return self.rbac.rules_for(user, namespace)
