"""NodeRestriction: a node writes only what is its own (Kubernetes' ``plugin/pkg/admission/noderestriction``).

The Node authorizer lets a node write Nodes, pod status, mirror pods and its Lease at all; this
plugin narrows each write to the node's own: its Node object (never another's, never its taints
on update, never labels in ``kubernetes.io``/``k8s.io`` outside the kubelet's own set, never a
``node-restriction.kubernetes.io/`` label), status of pods bound to it (labels unchanged),
mirror pods bound to it that reference nothing else, deletion of pods bound to it, its Lease in
``kube-node-lease``, and tokens only for pods on it. Messages are Kubernetes'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.resources import ResourceType
from apiserver.admissionplugins.base import CREATE, DELETE, UPDATE, Attributes
from apiserver.authz.node import pod_refs  # the Node authorizer's graph edges: what a pod references

Obj = dict[str, Any]
Getter = Callable[[ResourceType, str, str], Obj | None]  # (kind, namespace, name) -> stored object

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
NODE_LEASE_NAMESPACE = "kube-node-lease"
NODE_RESTRICTION_PREFIX = "node-restriction.kubernetes.io"
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "kubernetes.io/os",
    "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def _label_namespace(key: str) -> str:
    prefix, slash, _ = key.partition("/")
    return prefix if slash else ""


def _in_domain(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def is_kubelet_label(key: str) -> bool:
    namespace = _label_namespace(key)
    return key in KUBELET_LABELS or any(_in_domain(namespace, d) for d in KUBELET_LABEL_NAMESPACES)


def forbidden_labels(modified: set[str]) -> list[str]:
    out = set()
    for key in modified:
        namespace = _label_namespace(key)
        if _in_domain(namespace, NODE_RESTRICTION_PREFIX):
            out.add(key)
        if (_in_domain(namespace, "kubernetes.io") or _in_domain(namespace, "k8s.io")) and not is_kubelet_label(key):
            out.add(key)
    return sorted(out)


def modified_labels(new: dict[str, str], old: dict[str, str]) -> set[str]:
    return {k for k in set(new) | set(old) if new.get(k) != old.get(k)}


def _labels(obj: Obj | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


class NodeRestriction:
    def __init__(self, getter: Getter) -> None:
        self.get = getter

    def admit(self, attrs: Attributes) -> list[str]:
        return []

    def validate(self, attrs: Attributes) -> list[str]:
        node = attrs.user.node_name if attrs.user is not None else None
        if node is None:
            return []
        rt = attrs.rt
        if rt is res.PODS:
            self._pod(node, attrs)
        elif rt is res.NODES:
            self._node(node, attrs)
        elif rt is res.LEASES:
            self._lease(node, attrs)
        elif rt.group == "" and rt.plural == "serviceaccounts":
            self._token(node, attrs)
        elif rt is res.PERSISTENTVOLUMES:
            self._volume(node, attrs)
        return []

    def _volume(self, node: str, attrs: Attributes) -> None:
        """A node holds and releases its local volumes' cleanup finalizer; nothing else of a volume."""
        if attrs.operation != UPDATE or attrs.subresource:
            raise forbidden(attrs, f'node "{node}" can only update the finalizers of a persistentvolume')
        new, old = dict(attrs.obj or {}), dict(attrs.old or {})
        new.pop("status", None)  # an update of the main resource keeps the stored status anyway
        old.pop("status", None)
        new_meta, old_meta = dict(new.pop("metadata", None) or {}), dict(old.pop("metadata", None) or {})
        for meta in (new_meta, old_meta):
            for key in ("finalizers", "resourceVersion", "managedFields", "generation"):
                meta.pop(key, None)
        if new != old or new_meta != old_meta:
            raise forbidden(attrs, f'node "{node}" can only update the finalizers of a persistentvolume')

    # -- pods --------------------------------------------------------------------------------

    def _pod(self, node: str, attrs: Attributes) -> None:
        if attrs.subresource == "status":
            return self._pod_status(node, attrs)
        if attrs.subresource == "eviction":
            return self._pod_eviction(node, attrs)
        if attrs.subresource:
            raise forbidden(attrs, f"unexpected pod subresource \"{attrs.subresource}\", only 'status' and 'eviction' are allowed")
        if attrs.operation == CREATE:
            return self._mirror_pod(node, attrs)
        if attrs.operation == DELETE:
            bound = ((attrs.old or {}).get("spec") or {}).get("nodeName")
            if bound != node:
                raise forbidden(attrs, f'node "{node}" can only delete pods with spec.nodeName set to itself')
            return None
        raise forbidden(attrs, f'unexpected operation "{attrs.operation}", node "{node}" can only create and delete mirror pods')

    def _mirror_pod(self, node: str, attrs: Attributes) -> None:
        pod = attrs.obj or {}
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        if MIRROR_POD_ANNOTATION not in (meta.get("annotations") or {}):
            raise forbidden(attrs, f'pod does not have "{MIRROR_POD_ANNOTATION}" annotation, '
                                   f'node "{node}" can only create mirror pods')
        if spec.get("nodeName") != node:
            raise forbidden(attrs, f'node "{node}" can only create pods with spec.nodeName set to itself')
        owners = meta.get("ownerReferences") or []
        if len(owners) > 1:
            raise forbidden(attrs, f'node "{node}" can only create pods with a single owner reference set to itself')
        owner = owners[0] if owners else {}
        if owner.get("apiVersion") != "v1" or owner.get("kind") != "Node" or owner.get("name") != node:
            raise forbidden(attrs, f'node "{node}" can only create pods with an owner reference set to itself')
        if owner.get("controller") is not True:
            raise forbidden(attrs, f'node "{node}" can only create pods with a controller owner reference set to itself')
        if owner.get("blockOwnerDeletion") is True:
            raise forbidden(attrs, f'node "{node}" must not set blockOwnerDeletion on an owner reference')
        stored = self.get(res.NODES, "", node)
        if stored is None or (stored.get("metadata") or {}).get("uid") != owner.get("uid"):
            raise forbidden(attrs, f"node {node} UID mismatch")
        if spec.get("serviceAccountName"):
            raise forbidden(attrs, f'node "{node}" can not create pods that reference a service account')
        kinds = {ref[0] for ref in pod_refs(pod)}
        for kind in ("secrets", "configmaps", "persistentvolumeclaims"):
            if kind in kinds:
                raise forbidden(attrs, f'node "{node}" can not create pods that reference {kind}')

    def _pod_status(self, node: str, attrs: Attributes) -> None:
        if attrs.operation != UPDATE:
            raise forbidden(attrs, f'unexpected operation "{attrs.operation}"')
        if ((attrs.old or {}).get("spec") or {}).get("nodeName") != node:
            raise forbidden(attrs, f'node "{node}" can only update pod status for pods with spec.nodeName set to itself')
        if _labels(attrs.obj) != _labels(attrs.old):
            raise forbidden(attrs, f'node "{node}" cannot update labels through pod status')

    def _pod_eviction(self, node: str, attrs: Attributes) -> None:
        if attrs.operation != CREATE:
            raise forbidden(attrs, f'unexpected operation "{attrs.operation}"')
        pod = self.get(res.PODS, attrs.namespace, attrs.name)
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{attrs.name}" not found', name=attrs.name, kind="pods")
        if (pod.get("spec") or {}).get("nodeName") != node:
            raise forbidden(attrs, f"node {node} can only evict pods with spec.nodeName set to itself")

    # -- nodes, leases, tokens ---------------------------------------------------------------

    def _node(self, node: str, attrs: Attributes) -> None:
        if attrs.name != node:
            raise forbidden(attrs, f'node "{node}" is not allowed to modify node "{attrs.name}"')
        new_spec = (attrs.obj or {}).get("spec") or {}
        if attrs.operation == CREATE:
            if new_spec.get("configSource") is not None:
                raise forbidden(attrs, f'node "{node}" is not allowed to create pods with a non-nil configSource')
            bad = forbidden_labels(modified_labels(_labels(attrs.obj), {}))
            if bad:
                raise forbidden(attrs, f'node "{node}" is not allowed to set the following labels: {", ".join(bad)}')
        if attrs.operation == UPDATE:
            old_spec = (attrs.old or {}).get("spec") or {}
            if new_spec.get("configSource") is not None and new_spec.get("configSource") != old_spec.get("configSource"):
                raise forbidden(attrs, f'node "{node}" is not allowed to update configSource to a new non-nil configSource')
            if (new_spec.get("taints") or []) != (old_spec.get("taints") or []):
                raise forbidden(attrs, f'node "{node}" is not allowed to modify taints')
            bad = forbidden_labels(modified_labels(_labels(attrs.obj), _labels(attrs.old)))
            if bad:
                raise forbidden(attrs, f"is not allowed to modify labels: {', '.join(bad)}")

    def _lease(self, node: str, attrs: Attributes) -> None:
        if attrs.namespace != NODE_LEASE_NAMESPACE:
            raise forbidden(attrs, f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace')
        if attrs.name != node:
            raise forbidden(attrs, "can only access node lease with the same name as the requesting node")

    def _token(self, node: str, attrs: Attributes) -> None:
        if attrs.operation != CREATE or attrs.subresource != "token":
            return
        ref = ((attrs.obj or {}).get("spec") or {}).get("boundObjectRef") or {}
        if ref.get("apiVersion") != "v1" or ref.get("kind") != "Pod" or not ref.get("name"):
            raise forbidden(attrs, "node requested token not bound to a pod")
        if not ref.get("uid"):
            raise forbidden(attrs, "node requested token with a pod binding without a uid")
        pod = self.get(res.PODS, attrs.namespace, str(ref["name"]))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{ref["name"]}" not found', name=str(ref["name"]), kind="pods")
        if (pod.get("metadata") or {}).get("uid") != ref.get("uid"):
            raise forbidden(attrs, f"the UID in the bound object reference ({ref['uid']}) does not match the UID in "
                                   "record. The object might have been deleted and then recreated")
        if (pod.get("spec") or {}).get("nodeName") != node:
            raise forbidden(attrs, "node requested token bound to a pod scheduled on a different node")


def forbidden(attrs: Attributes, message: str) -> ApiError:
    """admission.NewForbidden: ``<resource> "<name>" is forbidden: <message>``."""
    resource = attrs.rt.group_resource
    prefix = f'{resource} "{attrs.name}"' if attrs.name else resource
    return ApiError(403, "Forbidden", f"{prefix} is forbidden: {message}", name=attrs.name or None,
                    kind=attrs.rt.plural, group=attrs.rt.group or None)
