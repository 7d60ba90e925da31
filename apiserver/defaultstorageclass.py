"""The ``local-path`` StorageClass: the default class of every podvisor cluster, as k3s ships it.

k3s deploys its local-path provisioner with a StorageClass of that name, marked default, binding
on first consumer (the volume is a directory of one node, so the pod decides the node) and
deleting the directory with its claim. The server creates it at start when it is missing, like
the ``kubernetes`` Service (:mod:`apiserver.kubernetesservice`), but, unlike that Service, only
once per start: an administrator may edit its annotations or delete it (a cluster without a
default class), and that choice is kept until the next start, as k3s re-applies its manifest.
"""

from __future__ import annotations

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.models.storage import (
    DEFAULT_CLASS_ANNOTATION,
    DELETE,
    LOCAL_PATH_CLASS,
    LOCAL_PATH_PROVISIONER,
    WAIT_FOR_FIRST_CONSUMER,
)
from apiserver.registry import Registry


def local_path_class() -> dict[str, object]:
    return {
        "metadata": {"name": LOCAL_PATH_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": LOCAL_PATH_PROVISIONER,
        "reclaimPolicy": DELETE,
        "volumeBindingMode": WAIT_FOR_FIRST_CONSUMER,
    }


def ensure_default_storage_class(registry: Registry) -> None:
    """Create ``local-path`` unless it exists (another apiserver, or an earlier start, made it)."""
    try:
        registry.create(res.STORAGECLASSES, None, local_path_class())
    except ApiError as err:
        if err.reason != "AlreadyExists":
            raise
