"""Joining a node: a bootstrap token exchanged once for the node's own credential and certificate.

``POST /apis/node.podvisor.io/v1/nodecredentialrequests`` (a create-only kind) carries the node
name and a PKCS#10 request for the kubelet's serving certificate. The answer holds a bearer
token for ``system:node:<name>`` (kept hashed in ``kube-system/node-credential-<name>``) and
the certificate, signed by the kubelet-serving CA (never the cluster CA, which clients trust to
name the API server: :func:`apiserver.pki.ensure_kubelet_serving_ca`) under the rules of Kubernetes' signer
``kubernetes.io/kubelet-serving``: subject ``CN=system:node:<name>, O=system:nodes``, only
DNS and IP subjectAltNames, usages digital signature (+ key encipherment) and server auth.
The node name is always a DNS name of the certificate: the API server checks it when it dials
the kubelet. Approval is automatic when the request is for a node the requester may be:

* a bootstrapper (``system:bootstrappers``) for a node that holds no credential yet; a node
  whose credential exists is refused (409) until it is revoked, so one node can never take
  another's identity with a join token (k3s refuses the same with its per-node password);
* the node itself (``system:node:<name>``): renewal, replacing its own token and certificate;
* ``system:masters``: any node.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fastapi import Request

from apimachinery import bootstraptoken as bt
from apimachinery import resources as res
from apimachinery.errors import ApiError, cause, invalid
from apiserver import pki
from apiserver.authn import nodecreds
from apiserver.authn.bootstrap import BootstrapTokens
from apiserver.authn.nodecreds import NodeCredentials
from apiserver.authn.user import (
    BOOTSTRAPPERS,
    NODE_PREFIX,
    NODES,
    SYSTEM_MASTERS,
    UserInfo,
    current_user,
    user_of,
)
from apiserver.registry import Registry
from apiserver.validation import dns1123_subdomain_errors

KIND = "NodeCredentialRequest"
SIGNER = "kubernetes.io/kubelet-serving"
ALLOWED_USAGES = ({"digital signature", "server auth"}, {"digital signature", "key encipherment", "server auth"})
#: who writes the credential Secret: the API server itself, not the requester, so admission
#: rules meant for nodes and bootstrappers do not judge the server's own bookkeeping
SERVER_USER = UserInfo("system:apiserver", groups=(SYSTEM_MASTERS,))
MAX_NODE_NAME = 253 - len(nodecreds.NAME_PREFIX)

Obj = dict[str, Any]


class RegistrySecrets:
    """Secrets read through the registry (as stored, decrypted if encryption is on); None if absent."""

    def __init__(self) -> None:
        self.registry: Registry | None = None

    def get(self, namespace: str, name: str) -> Obj | None:
        if self.registry is None:
            return None
        try:
            return self.registry.get(res.SECRETS, namespace, name)
        except ApiError:
            return None


def authenticators(secrets: RegistrySecrets) -> list[BootstrapTokens | NodeCredentials]:
    return [BootstrapTokens(secrets.get), NodeCredentials(secrets.get)]


@contextlib.contextmanager
def as_server() -> Iterator[None]:
    token = current_user.set(SERVER_USER)
    try:
        yield
    finally:
        current_user.reset(token)


class JoinHandler:
    """The NodeCredentialRequest review handler: rule, certificate, credential, answer."""

    def __init__(self, *, registry: Registry, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.registry, self.ca, self.ca_key, self.now = registry, ca, ca_key, now

    def __call__(self, request: Request, body: Obj) -> Obj:
        return self.answer(user_of(request.scope), body, dry_run=request.query_params.get("dryRun") == "All")

    def answer(self, user: UserInfo | None, body: Obj, *, dry_run: bool = False) -> Obj:
        """The request with its status: a token and a certificate (none under dry run, where nothing is issued)."""
        raw = body.get("spec")
        spec: Obj = raw if isinstance(raw, dict) else {}
        node = str(spec.get("nodeName") or "")
        validate_spec(spec, node)
        existing = self._existing(node)
        check_requester(user, node, exists=existing is not None)
        csr = parse_csr(str(spec.get("request") or ""), node)
        if dry_run:
            return {**body, "status": {}}
        cert = self._sign(csr, node)
        token = self._store_credential(node, existing)
        out = dict(body)
        out["status"] = {"token": token,
                         "certificate": base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode(),
                         "certificateAuthority": base64.b64encode(self.ca.public_bytes(serialization.Encoding.PEM)).decode()}
        return out

    def _existing(self, node: str) -> Obj | None:
        try:
            return self.registry.get(res.SECRETS, nodecreds.NAMESPACE, nodecreds.secret_name(node))
        except ApiError:
            return None

    def _sign(self, csr: x509.CertificateSigningRequest, node: str) -> x509.Certificate:
        ips = requested_ips(csr)
        san = x509.SubjectAlternativeName([x509.DNSName(node), *(x509.IPAddress(ip) for ip in ips)])
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, NODES),
                             x509.NameAttribute(NameOID.COMMON_NAME, NODE_PREFIX + node)])
        return pki.issue_leaf(csr.public_key(), subject=subject, ca=self.ca, ca_key=self.ca_key,
                              usage=ExtendedKeyUsageOID.SERVER_AUTH, san=san, now=self.now())

    def _store_credential(self, node: str, existing: Obj | None) -> str:
        token, digest = nodecreds.new_token(node)
        body = nodecreds.credential_secret(node, digest)
        with as_server():
            if existing is None:
                try:
                    self.registry.create(res.SECRETS, nodecreds.NAMESPACE, body)
                except ApiError as err:
                    if err.reason == "AlreadyExists":  # another join for this node won the race
                        raise already_joined(node) from err
                    raise
            else:
                body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
                self.registry.update(res.SECRETS, nodecreds.NAMESPACE, nodecreds.secret_name(node), body)
        return token


def already_joined(node: str) -> ApiError:
    return ApiError(409, "AlreadyExists",
                    f'node "{node}" already holds a credential; revoke it first '
                    f"(podvisor node revoke {node}, or delete the Secret "
                    f"{nodecreds.NAMESPACE}/{nodecreds.secret_name(node)})",
                    name=node, kind=res.NODE_CREDENTIAL_REQUESTS.plural, group=res.NODE_CREDENTIAL_REQUESTS.group)


def _invalid(field: str, message: str, node: str) -> ApiError:
    return invalid(KIND, node, [cause(field, message)], group=res.NODE_CREDENTIAL_REQUESTS.group)


def validate_spec(spec: Obj, node: str) -> None:
    if not node:
        raise invalid(KIND, node, [cause("spec.nodeName", "Required value", "FieldValueRequired")],
                      group=res.NODE_CREDENTIAL_REQUESTS.group)
    errors = dns1123_subdomain_errors(node)
    if errors or len(node) > MAX_NODE_NAME:
        raise _invalid("spec.nodeName", f'Invalid value: "{node}": ' + "; ".join(errors or [
            f"must be no more than {MAX_NODE_NAME} characters"]), node)
    signer = spec.get("signerName") or SIGNER
    if signer != SIGNER:
        raise _invalid("spec.signerName", f'Unsupported value: "{signer}": supported values: "{SIGNER}"', node)
    usages = spec.get("usages")
    if usages is not None and set(usages) not in ALLOWED_USAGES:
        raise _invalid("spec.usages", f"Unsupported value: {usages}: {SIGNER} requires digital signature and "
                       "server auth, and allows key encipherment", node)


def check_requester(user: UserInfo | None, node: str, *, exists: bool) -> None:
    """Who may obtain ``node``'s identity (see the module docstring); refuses with 403 or 409."""
    if user is None or user.in_group(SYSTEM_MASTERS):
        return  # no authentication configured (in-process, tests), or the cluster admin
    if user.node_name is not None:
        if user.node_name == node:
            return
        raise _forbidden(user, node, f"a node may only renew its own credential, not that of node {node!r}")
    if user.in_group(BOOTSTRAPPERS):
        if exists:
            raise already_joined(node)
        return
    raise _forbidden(user, node, "only bootstrap tokens, the node itself and cluster admins may join a node")


def _forbidden(user: UserInfo, node: str, why: str) -> ApiError:
    rt = res.NODE_CREDENTIAL_REQUESTS
    return ApiError(403, "Forbidden", f'{rt.group_resource} "{node}" is forbidden: User "{user.name}" cannot '
                    f"create resource \"{rt.plural}\" in API group \"{rt.group}\" at the cluster scope: {why}",
                    name=node, kind=rt.plural, group=rt.group)


def parse_csr(encoded: str, node: str) -> x509.CertificateSigningRequest:
    """The PKCS#10 request, checked against the kubelet-serving signer's rules."""
    field = "spec.request"
    try:
        csr = x509.load_pem_x509_csr(base64.b64decode(encoded, validate=True))
    except ValueError:
        raise _invalid(field, "must be a base64-encoded PEM CERTIFICATE REQUEST", node) from None
    if not csr.is_signature_valid:
        raise _invalid(field, "the request's signature is invalid", node)
    key = csr.public_key()
    if not (isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size >= 256) and not (
            isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048):
        raise _invalid(field, "the key must be ECDSA (P-256 or larger) or RSA (2048 bits or more)", node)
    common = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if common != [NODE_PREFIX + node] or orgs != [NODES]:
        raise _invalid(field, f'subject must be exactly CN="{NODE_PREFIX}{node}", O="{NODES}"', node)
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return csr
    if any(not isinstance(n, x509.DNSName | x509.IPAddress) for n in san):
        raise _invalid(field, "only DNS and IP subjectAltNames are allowed (no email or URI)", node)
    if any(n != node for n in san.get_values_for_type(x509.DNSName)):
        raise _invalid(field, f"the only DNS name allowed is the node name {node!r}", node)
    for ip in san.get_values_for_type(x509.IPAddress):
        if not isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) or ip.is_unspecified or ip.is_multicast:
            raise _invalid(field, f"{ip} is not an address a kubelet can serve on", node)
    return csr


def requested_ips(csr: x509.CertificateSigningRequest) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [ip for ip in san.get_values_for_type(x509.IPAddress)
            if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)]


JOIN_TOKEN_DESCRIPTION = "the join token of node.kubeconfig, created by the server at first start"


def ensure_join_token(registry: Registry, current: str) -> str:
    """The bootstrap token ``node.kubeconfig`` carries: ``current`` if it already is one, else a new one.

    Created at first start (or when the file still holds a pre-bootstrap shared token) and
    never re-created afterwards, so ``podvisor token delete`` on it closes joining for good. It
    does not expire (kubeadm's ``--ttl 0``): nodes joining a long-running single-machine
    cluster use it; ``podvisor token create --ttl`` makes short-lived ones.
    """
    if bt.parse(current) is not None:
        return current
    token = bt.generate()
    with as_server():
        registry.create(res.SECRETS, bt.NAMESPACE, bt.secret_for(token, now=datetime.now(UTC), ttl=None,
                                                                  description=JOIN_TOKEN_DESCRIPTION))
    return str(token)
