"""An authorizer's answer and the attributes it is asked about."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from apiserver.authn.user import UserInfo
from apiserver.requestinfo import RequestInfo


class Verdict(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"  # final: no later authorizer is asked
    NO_OPINION = "NoOpinion"  # the next authorizer is asked; the last one's silence denies


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


@dataclass(frozen=True)
class Attributes:
    """Who asks for what: the user, the request info, and a list's field selector (the Node
    authorizer lets a node list pods only with ``spec.nodeName=<itself>``)."""

    user: UserInfo
    info: RequestInfo
    field_selector: str = ""


ALLOW = Decision(Verdict.ALLOW)
NO_OPINION = Decision(Verdict.NO_OPINION)
