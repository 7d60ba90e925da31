"""The Node authorizer (Kubernetes' ``plugin/pkg/auth/authorizer/node``).

A node (user ``system:node:<name>`` in ``system:nodes``) may read the Secrets, ConfigMaps,
PersistentVolumeClaims and ServiceAccount tokens only of the pods bound to it: the graph below
follows every pod's spec (volumes, projected sources, env, envFrom, imagePullSecrets,
``serviceAccountName``) from the object to the node. It may get the PersistentVolume bound to
such a claim (as Kubernetes' graph has the edge pv -> pvc -> pod -> node). Beyond Kubernetes, a
node may also get and update a volume whose required node affinity names it alone (every
local-path volume): its kubelet makes and removes that volume's directory and holds the
volume's cleanup finalizer until it has (:mod:`kubelet.claims`), also after the claim and its
pods are gone; NodeRestriction lets such an update change the finalizers only. It may read only its own Node and list or
watch pods only with ``spec.nodeName=<itself>`` (field selectors, Kubernetes 1.34); its Lease
only in ``kube-node-lease``. What it may write (its Node, pod status, events, mirror pods) is
granted here and narrowed to its own objects by the NodeRestriction admission plugin.
Anyone who is not a node gets no opinion, and the RBAC authorizer decides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from apiserver.authz.decision import ALLOW, NO_OPINION, Attributes, Decision, Verdict
from apiserver.authz.rules import Rule, rules_allow

Obj = dict[str, Any]
Ref = tuple[str, str, str]  # (resource, namespace, name)
NODE_LEASE_NAMESPACE = "kube-node-lease"

_READ = ("get", "list", "watch")
#: Kubernetes' bootstrappolicy.NodeRules for what podvisor serves, less what the graph decides.
STATIC_RULES: tuple[Rule, ...] = (
    Rule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
    Rule(("create",), ("authorization.k8s.io",), ("subjectaccessreviews", "localsubjectaccessreviews")),
    Rule(_READ, ("",), ("services",)),
    Rule(("create", "update", "patch"), ("",), ("events",)),
    Rule(("create", "update", "patch"), ("events.k8s.io",), ("events",)),
    Rule(("create", "delete"), ("",), ("pods",)),
    Rule(("update", "patch"), ("",), ("pods/status",)),
    Rule(("create",), ("",), ("pods/eviction",)),
    # Kubernetes grants nodes `get` on endpoints; a podvisor node also runs the service proxy
    # (kube-proxy's system:node-proxier reads), so it lists and watches them too.
    Rule(_READ, ("",), ("endpoints",)),
    Rule(_READ, ("discovery.k8s.io",), ("endpointslices",)),
    Rule(("create", "get", "list", "watch"), ("certificates.k8s.io",), ("certificatesigningrequests",)),
    # podvisor's counterpart of a node's certificate signing request: renewing its credential
    Rule(("create",), ("node.podvisor.io",), ("nodecredentialrequests",)),
    Rule(_READ, ("node.k8s.io",), ("runtimeclasses",)),
)


def pod_refs(pod: Obj) -> Iterator[Ref]:
    """What a pod makes its node read: the graph edges Kubernetes' graph_populator adds."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    ns = str(meta.get("namespace") or "")
    for secret in spec.get("imagePullSecrets") or []:
        if isinstance(secret, dict) and secret.get("name"):
            yield ("secrets", ns, str(secret["name"]))
    if spec.get("serviceAccountName"):
        yield ("serviceaccounts", ns, str(spec["serviceAccountName"]))
    for volume in spec.get("volumes") or []:
        yield from _volume_refs(volume, ns, str(meta.get("name") or ""))
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                yield from _container_refs(container, ns)


def _volume_refs(volume: Any, ns: str, pod_name: str) -> Iterator[Ref]:
    if not isinstance(volume, dict):
        return
    if (secret := volume.get("secret")) and secret.get("secretName"):
        yield ("secrets", ns, str(secret["secretName"]))
    if (config := volume.get("configMap")) and config.get("name"):
        yield ("configmaps", ns, str(config["name"]))
    if (claim := volume.get("persistentVolumeClaim")) and claim.get("claimName"):
        yield ("persistentvolumeclaims", ns, str(claim["claimName"]))
    if volume.get("ephemeral") is not None:
        yield ("persistentvolumeclaims", ns, f"{pod_name}-{volume.get('name')}")
    for source in (volume.get("projected") or {}).get("sources") or []:
        if not isinstance(source, dict):
            continue
        if (secret := source.get("secret")) and secret.get("name"):
            yield ("secrets", ns, str(secret["name"]))
        if (config := source.get("configMap")) and config.get("name"):
            yield ("configmaps", ns, str(config["name"]))
    for key in ("cephfs", "rbd", "iscsi", "flexVolume", "cinder", "scaleIO", "storageos", "csi", "azureFile"):
        source = volume.get(key)
        if isinstance(source, dict):
            ref = source.get("secretRef") or source.get("nodePublishSecretRef") or {}
            name = ref.get("name") if isinstance(ref, dict) else None
            if key == "azureFile":
                name = source.get("secretName")
            if name:
                yield ("secrets", ns, str(name))


def _container_refs(container: Obj, ns: str) -> Iterator[Ref]:
    for source in container.get("envFrom") or []:
        if not isinstance(source, dict):
            continue
        if (ref := source.get("secretRef")) and ref.get("name"):
            yield ("secrets", ns, str(ref["name"]))
        if (ref := source.get("configMapRef")) and ref.get("name"):
            yield ("configmaps", ns, str(ref["name"]))
    for env in container.get("env") or []:
        value_from = env.get("valueFrom") if isinstance(env, dict) else None
        if not isinstance(value_from, dict):
            continue
        if (ref := value_from.get("secretKeyRef")) and ref.get("name"):
            yield ("secrets", ns, str(ref["name"]))
        if (ref := value_from.get("configMapKeyRef")) and ref.get("name"):
            yield ("configmaps", ns, str(ref["name"]))


class NodeGraph:
    """Pods by node and what each node's pods reference, kept current from the pods prefix."""

    def __init__(self) -> None:
        self._pods: dict[str, tuple[int, str, Ref, tuple[Ref, ...]]] = {}  # key -> (rev, node, pod, refs)
        self._refs: dict[str, Counter[Ref]] = {}

    def reset(self) -> None:
        self._pods.clear()
        self._refs.clear()

    def put(self, key: str, value: Obj | None, revision: int) -> None:
        held = self._pods.get(key)
        if held is not None and held[0] >= revision:
            return
        if held is not None and held[1]:
            self._refs[held[1]].subtract([held[2], *held[3]])
        node = str(((value or {}).get("spec") or {}).get("nodeName") or "")
        if value is None:
            self._pods.pop(key, None)
            return
        if not node:
            self._pods[key] = (revision, "", ("", "", ""), ())
            return
        meta = value.get("metadata") or {}
        pod: Ref = ("pods", str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        refs = tuple(set(pod_refs(value)))
        self._pods[key] = (revision, node, pod, refs)
        self._refs.setdefault(node, Counter()).update([pod, *refs])

    def related(self, node: str, ref: Ref) -> bool:
        return self._refs.get(node, Counter()).get(ref, 0) > 0


class ClaimBindings:
    """Which claims each PersistentVolume is bound to, kept current from the claims prefix."""

    def __init__(self) -> None:
        self._claims: dict[str, tuple[int, Ref, str]] = {}  # key -> (rev, claim, volumeName)
        self._by_volume: dict[str, set[Ref]] = {}

    def reset(self) -> None:
        self._claims.clear()
        self._by_volume.clear()

    def put(self, key: str, value: Obj | None, revision: int) -> None:
        held = self._claims.get(key)
        if held is not None and held[0] >= revision:
            return
        if held is not None and held[2]:
            self._by_volume.get(held[2], set()).discard(held[1])
        if value is None:
            self._claims.pop(key, None)
            return
        meta = value.get("metadata") or {}
        claim: Ref = ("persistentvolumeclaims", str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        volume = str((value.get("spec") or {}).get("volumeName") or "")
        self._claims[key] = (revision, claim, volume)
        if volume:
            self._by_volume.setdefault(volume, set()).add(claim)

    def claims_of(self, volume: str) -> set[Ref]:
        return self._by_volume.get(volume, set())


class VolumeNodes:
    """The one node each local PersistentVolume's required node affinity names, from the volumes prefix."""

    def __init__(self) -> None:
        self._volumes: dict[str, tuple[int, str, str]] = {}  # key -> (rev, name, node)
        self._nodes: dict[str, str] = {}

    def reset(self) -> None:
        self._volumes.clear()
        self._nodes.clear()

    def put(self, key: str, value: Obj | None, revision: int) -> None:
        held = self._volumes.get(key)
        if held is not None and held[0] >= revision:
            return
        if held is not None:
            self._nodes.pop(held[1], None)
        if value is None:
            self._volumes.pop(key, None)
            return
        name, node = str((value.get("metadata") or {}).get("name") or ""), affinity_node(value)
        self._volumes[key] = (revision, name, node)
        if node:
            self._nodes[name] = node

    def node_of(self, volume: str) -> str:
        return self._nodes.get(volume, "")


def affinity_node(volume: Obj) -> str:
    """The node a volume's required affinity names by hostname, when it names exactly one."""
    required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}
    names: set[str] = set()
    for term in required.get("nodeSelectorTerms") or []:
        for expr in (term or {}).get("matchExpressions") or [] if isinstance(term, dict) else []:
            if isinstance(expr, dict) and expr.get("key") == "kubernetes.io/hostname" and expr.get("operator") == "In":
                names.update(str(v) for v in expr.get("values") or [])
    return names.pop() if len(names) == 1 else ""


class NodeAuthorizer:
    def __init__(self, graph: NodeGraph, claims: ClaimBindings | None = None,
                 volumes: VolumeNodes | None = None) -> None:
        self.graph = graph
        self.claims = claims or ClaimBindings()
        self.volumes = volumes or VolumeNodes()

    def authorize(self, attrs: Attributes) -> Decision:
        node = attrs.user.node_name
        if node is None:
            return NO_OPINION
        info = attrs.info
        if info.is_resource_request:
            group_resource = (info.api_group, info.resource)
            if group_resource in (("", "secrets"), ("", "configmaps")):
                return self._read_namespaced(node, attrs)
            if group_resource == ("", "persistentvolumeclaims"):
                return self._get(node, attrs)
            if group_resource == ("", "persistentvolumes"):
                return self._volume(node, attrs)
            if group_resource == ("", "serviceaccounts"):
                return self._create_token(node, attrs)
            if group_resource == ("coordination.k8s.io", "leases"):
                return _lease(node, attrs)
            if group_resource == ("", "pods"):
                return self._pod(node, attrs)
            if group_resource == ("", "nodes"):
                return _node(node, attrs)
        return ALLOW if rules_allow(info, STATIC_RULES) else NO_OPINION

    def _related(self, node: str, attrs: Attributes) -> Decision:
        info = attrs.info
        if not info.name:
            return _no("No Object name found")
        if self.graph.related(node, (info.resource, info.namespace, info.name)):
            return ALLOW
        return _no(f"no relationship found between node '{node}' and this object")

    def _read_namespaced(self, node: str, attrs: Attributes) -> Decision:
        info = attrs.info
        if info.verb not in _READ:
            return _no("can only read resources of this type")
        if info.subresource:
            return _no("cannot read subresource")
        if not info.namespace:
            return _no("can only read namespaced object of this type")
        return self._related(node, attrs)

    def _get(self, node: str, attrs: Attributes) -> Decision:
        if attrs.info.verb != "get":
            return _no("can only get individual resources of this type")
        if attrs.info.subresource:
            return _no("cannot get subresource")
        return self._related(node, attrs)

    def _volume(self, node: str, attrs: Attributes) -> Decision:
        info = attrs.info
        if info.verb not in ("get", "update", "patch") or info.subresource:
            return _no("can only get individual resources of this type")
        if not info.name:
            return _no("No Object name found")
        if self.volumes.node_of(info.name) == node:
            return ALLOW  # a local volume of this node (see the module's docstring)
        if info.verb == "get" and any(self.graph.related(node, claim) for claim in self.claims.claims_of(info.name)):
            return ALLOW
        return _no(f"no relationship found between node '{node}' and this object")

    def _create_token(self, node: str, attrs: Attributes) -> Decision:
        info = attrs.info
        if info.verb != "create" or not info.name:
            return _no("can only create tokens for individual service accounts")
        if info.subresource != "token":
            return _no("can only create token subresource of serviceaccount")
        return self._related(node, attrs)

    def _pod(self, node: str, attrs: Attributes) -> Decision:
        info = attrs.info
        if info.verb == "get":
            return self._get(node, attrs)
        if info.verb in ("list", "watch"):
            if _selects_node(attrs.field_selector, node):
                return ALLOW
            if info.name:
                return self._related(node, attrs)
            return _no("can only list/watch pods with spec.nodeName field selector")
        return ALLOW if rules_allow(info, STATIC_RULES) else NO_OPINION


def _no(reason: str) -> Decision:
    return Decision(Verdict.NO_OPINION, reason)


def _selects_node(selector: str, node: str) -> bool:
    for term in selector.split(","):
        key, op, value = term.partition("=")
        if key.strip() == "spec.nodeName" and op and value.removeprefix("=").strip() == node:
            return True
    return False


def _lease(node: str, attrs: Attributes) -> Decision:
    info = attrs.info
    if info.verb not in ("get", "create", "update", "patch", "delete"):
        return _no("can only get, create, update, patch, or delete a node lease")
    if info.namespace != NODE_LEASE_NAMESPACE:
        return _no(f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace')
    if info.verb != "create" and info.name != node:
        return _no("can only access node lease with the same name as the requesting node")
    return ALLOW


def _node(node: str, attrs: Attributes) -> Decision:
    info = attrs.info
    if not info.subresource and info.verb in ("create", "update", "patch"):
        return ALLOW  # NodeRestriction limits a node to its own Node object
    if not info.subresource and info.verb in _READ:
        if info.name == node:
            return ALLOW
        if not info.name:
            return _no(f"node '{node}' cannot read all nodes, only its own Node object")
        return _no(f"node '{node}' cannot read '{info.name}', only its own Node object")
    if info.subresource == "status" and info.verb in ("update", "patch"):
        return ALLOW
    return NO_OPINION
