"""ServiceAccount admission: every pod runs as a ServiceAccount that exists, with its token mounted.

Kubernetes' ``plugin/pkg/admission/serviceaccount``, on pod creation:

* an unset ``serviceAccountName`` becomes ``default``;
* the ServiceAccount must exist, else 403 ``error looking up service account <ns>/<name>``.
  Kubernetes waits up to about a second for the ``default`` one, which its controller creates
  with the namespace; waiting here would hold the server's event loop, so a missing ``default``
  ServiceAccount is created on the spot instead (``create_default``, the very object the
  controller would create);
* unless the pod or the ServiceAccount says ``automountServiceAccountToken: false``, the pod gets
  the projected volume ``kube-api-access-<5 random>`` (a ServiceAccount token valid 3607 s, the
  ``ca.crt`` of the ``kube-root-ca.crt`` ConfigMap, the namespace from the downward API),
  mounted read-only at ``/var/run/secrets/kubernetes.io/serviceaccount`` in every container and
  init container that has nothing mounted there already.

The kubelet turns that volume into files (:mod:`kubelet.tokens`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.serviceaccounts import (
    CA_FILE,
    DEFAULT_SERVICE_ACCOUNT,
    MOUNT_PATH,
    NAMESPACE_FILE,
    PROJECTED_TOKEN_SECONDS,
    ROOT_CA_CONFIGMAP,
    TOKEN_FILE,
    VOLUME_PREFIX,
)
from apiserver.admissionplugins.base import CREATE, Attributes
from apiserver.authn.serviceaccount import Lookup, store_lookup
from apiserver.registry import Registry
from apiserver.store.base import Store

Obj = dict[str, Any]
#: Kubernetes' ``utilrand.String`` alphabet: no vowels, no confusable characters.
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_DEFAULT_MODE = 0o644


def projected_volume(name: str) -> Obj:
    return {
        "name": name,
        "projected": {
            "defaultMode": _DEFAULT_MODE,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": PROJECTED_TOKEN_SECONDS, "path": TOKEN_FILE}},
                {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": CA_FILE, "path": CA_FILE}]}},
                {"downwardAPI": {"items": [
                    {"path": NAMESPACE_FILE, "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}},
                ]}},
            ],
        },
    }


class ServiceAccountAdmission:
    """The ``ServiceAccount`` admission plugin; ``lookup`` reads ServiceAccounts from the store."""

    def __init__(self, *, lookup: Lookup, create_default: Callable[[str], None] | None = None,
                 rng: random.Random | None = None) -> None:
        self.lookup = lookup
        self.create_default = create_default
        self.rng = rng or random.SystemRandom()

    def admit(self, attrs: Attributes) -> list[str]:
        if attrs.operation != CREATE or attrs.rt.kind != "Pod" or attrs.subresource or attrs.obj is None:
            return []
        spec = attrs.obj.setdefault("spec", {})
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT_SERVICE_ACCOUNT
        spec["serviceAccountName"] = name
        spec["serviceAccount"] = name  # the deprecated alias Kubernetes still fills in
        service_account = self.lookup("ServiceAccount", attrs.namespace, name)
        if service_account is None and name == DEFAULT_SERVICE_ACCOUNT and self.create_default is not None:
            self.create_default(attrs.namespace)
            service_account = self.lookup("ServiceAccount", attrs.namespace, name)
        if service_account is None:
            raise ApiError(
                403, "Forbidden",
                f'pods "{attrs.name}" is forbidden: error looking up service account {attrs.namespace}/{name}: '
                f'serviceaccount "{name}" not found',
                name=attrs.name, kind="pods",
            )
        if _automount(spec, service_account):
            self._mount_token(spec)
        return []

    def validate(self, attrs: Attributes) -> list[str]:
        return []

    def _mount_token(self, spec: Obj) -> None:
        containers = [c for key in ("initContainers", "containers") for c in spec.get(key) or [] if isinstance(c, dict)]
        needing = [c for c in containers if not any(
            isinstance(m, dict) and m.get("mountPath") == MOUNT_PATH for m in c.get("volumeMounts") or [])]
        if not needing:
            return
        volumes = spec.setdefault("volumes", [])
        taken = {v.get("name") for v in volumes if isinstance(v, dict)}
        name = self._volume_name(taken)
        volumes.append(projected_volume(name))
        for container in needing:
            container.setdefault("volumeMounts", []).append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})

    def _volume_name(self, taken: set[Any]) -> str:
        while True:
            name = VOLUME_PREFIX + "".join(self.rng.choice(_ALPHABET) for _ in range(5))
            if name not in taken:
                return name


def _automount(spec: Obj, service_account: Obj) -> bool:
    """The pod's own setting wins; then the ServiceAccount's; the default is to mount."""
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    return service_account.get("automountServiceAccountToken") is not False


def for_store(store: Store) -> ServiceAccountAdmission:
    """The plugin reading ServiceAccounts from ``store`` and creating a missing ``default`` there."""
    registry = Registry(store)

    def create_default(namespace: str) -> None:
        try:
            registry.create(res.SERVICEACCOUNTS, namespace, {"metadata": {"name": DEFAULT_SERVICE_ACCOUNT}})
        except ApiError as err:
            if err.reason != "AlreadyExists":
                raise

    return ServiceAccountAdmission(lookup=store_lookup(store), create_default=create_default)
