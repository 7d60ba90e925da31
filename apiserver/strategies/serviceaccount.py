"""ServiceAccounts: references to Secrets carry a name (``ValidateServiceAccount``)."""

from __future__ import annotations

from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import as_dicts, required


def _validate_service_account(sa: Obj) -> list[Cause]:
    causes: list[Cause] = []
    for field in ("secrets", "imagePullSecrets"):
        for i, ref in enumerate(as_dicts(sa.get(field))):
            if not ref.get("name"):
                causes.append(required(f"{field}[{i}].name"))
    return causes


class ServiceAccountStrategy(Strategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_service_account(obj)


STRATEGY = ServiceAccountStrategy("ServiceAccount")
