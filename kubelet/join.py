"""The kubelet's identity: joined once with a bootstrap token, then kept in its own directory.

``ensure_identity`` returns what the kubelet runs with: a kubeconfig holding its own bearer
token (user ``system:node:<name>``), its serving certificate and key, and the cluster CA it
verifies the API server's client certificate against. They live in the kubelet's
``--cert-dir`` (0700; every file 0600), as Kubernetes' ``--bootstrap-kubeconfig`` /
``--kubeconfig`` / ``--cert-dir`` do:

* on start, a saved identity is reused if the API server still accepts its token (any answer
  but 401) and the certificate is still valid for this node and its addresses;
* a node whose token works but whose certificate does not (missing, near expiry, an address
  changed) renews both as itself;
* otherwise (first start, revoked, files lost) the kubelet joins: it makes a new key and
  PKCS#10 request and POSTs a ``NodeCredentialRequest`` with the credential of the kubeconfig
  it was given, which works only while that bootstrap token is valid, and only if the node's
  previous credential was revoked. A kubeconfig holding another credential (the admin's) may
  be given instead.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.files import write_atomic
from apimachinery.kubeconfig import ClientConfig, load_kubeconfig, write_kubeconfig

log = logging.getLogger(__name__)

JOIN_PATH = "/apis/node.podvisor.io/v1/nodecredentialrequests"
SIGNER = "kubernetes.io/kubelet-serving"
RENEW_BEFORE = timedelta(days=30)
KUBECONFIG, CERT, KEY, CA = "kubelet.kubeconfig", "kubelet.crt", "kubelet.key", "ca.crt"
SERVING_CA = "serving-ca.crt"  # the CA that signed kubelet.crt (the API server's kubelet-serving CA)


class JoinError(Exception):
    """The kubelet cannot obtain an identity: no valid saved one and the join was refused."""


@dataclass(frozen=True)
class NodeIdentity:
    kubeconfig: Path
    cert: Path
    key: Path
    ca: Path
    serving_ca: Path


def default_cert_dir(node: str) -> Path:
    """``~/.podvisor/kubelet/<node>``: one directory per node, so kubelets on one host never share one."""
    return Path("~/.podvisor/kubelet").expanduser() / node


def identity_in(cert_dir: Path) -> NodeIdentity:
    return NodeIdentity(kubeconfig=cert_dir / KUBECONFIG, cert=cert_dir / CERT, key=cert_dir / KEY, ca=cert_dir / CA,
                        serving_ca=cert_dir / SERVING_CA)


async def ensure_identity(*, bootstrap: Path, cert_dir: Path, node: str, addresses: list[str],
                          now: datetime | None = None) -> NodeIdentity:
    """Reuse the saved identity of ``node`` or join with ``bootstrap``; raises JoinError if neither works."""
    now = now or datetime.now(UTC)
    given = load_kubeconfig(bootstrap)
    if given.ca_data is None:
        raise JoinError(f"{bootstrap} has no certificate-authority-data: the kubelet needs the cluster CA")
    cert_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_dir.chmod(0o700)
    identity = identity_in(cert_dir)
    saved_works = same_cluster(identity.kubeconfig, given) and await accepted(identity.kubeconfig, node)
    if saved_works and certificate_usable(identity, node=node, addresses=addresses, now=now):
        log.info("node %s: reusing the identity in %s", node, cert_dir)
        return identity
    if saved_works:  # the certificate is missing, near expiry or lacks an address: renew as the node itself
        log.info("node %s: renewing its serving certificate", node)
        await join(load_kubeconfig(identity.kubeconfig), identity, node=node, addresses=addresses)
        return identity
    if identity.kubeconfig.exists():
        log.warning("node %s: the saved credential is no longer accepted (revoked?); joining again", node)
    await join(given, identity, node=node, addresses=addresses)
    return identity


def same_cluster(saved: Path, given: ClientConfig) -> bool:
    """The saved kubeconfig exists and names the server and CA of the one given (not an older cluster's)."""
    try:
        config = load_kubeconfig(saved)
    except Exception:  # noqa: BLE001 - missing or unreadable: nothing to reuse
        return False
    return config.server == given.server and config.ca_data == given.ca_data


async def accepted(kubeconfig: Path, node: str) -> bool:
    """The API server authenticates the saved token (403 or 404 still mean it knows who we are)."""
    try:
        client = ApiClient.from_kubeconfig(kubeconfig, user_agent=f"kubelet/{node}", timeout=10.0)
    except Exception:  # noqa: BLE001 - an unreadable kubeconfig is as good as none
        return False
    try:
        await client.request("GET", f"/api/v1/nodes/{node}")
    except ApiError as err:
        if err.code == 401:
            return False
        if err.code >= 500:
            raise
    finally:
        await client.close()
    return True


async def join(given: ClientConfig, identity: NodeIdentity, *, node: str, addresses: list[str]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    body = {"apiVersion": "node.podvisor.io/v1", "kind": "NodeCredentialRequest", "metadata": {},
            "spec": {"nodeName": node, "signerName": SIGNER, "usages": ["digital signature", "server auth"],
                     "request": base64.b64encode(signing_request(key, node=node, addresses=addresses)).decode()}}
    client = ApiClient(given.server, token=given.token, ca_data=given.ca_data, insecure=given.insecure,
                       user_agent=f"kubelet/{node}", timeout=30.0)
    try:
        answer = await client.request("POST", JOIN_PATH, body=body)
    except ApiError as err:
        if err.code in (401, 403, 409, 422):
            raise JoinError(f"node {node} cannot join: {err.code} {err.message}"
                            + (" (is the bootstrap token expired or deleted?)" if err.code == 401 else "")) from err
        raise
    finally:
        await client.close()
    status = answer.get("status") or {}
    cert_pem = base64.b64decode(status.get("certificate", ""))
    serving_ca = base64.b64decode(status.get("certificateAuthority", ""))
    write_atomic(identity.key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    write_atomic(identity.cert, cert_pem)
    write_atomic(identity.serving_ca, serving_ca)
    assert given.ca_data is not None
    write_atomic(identity.ca, given.ca_data)
    write_kubeconfig(identity.kubeconfig, server=given.server, token=status["token"], ca_pem=given.ca_data,
                     user=f"system:node:{node}", insecure=given.insecure)
    log.info("node %s joined: credential and serving certificate in %s", node, identity.kubeconfig.parent)


def signing_request(key: ec.EllipticCurvePrivateKey, *, node: str, addresses: list[str]) -> bytes:
    """A PEM PKCS#10 request for ``CN=system:node:<node>, O=system:nodes``, naming the node and its IPs."""
    names: list[x509.GeneralName] = [x509.DNSName(node)]
    names.extend(x509.IPAddress(ip) for ip in serving_ips(addresses))
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                                    x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node}")]))
           .add_extension(x509.SubjectAlternativeName(names), critical=False)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def serving_ips(addresses: list[str]) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    found = []
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if not ip.is_unspecified and ip not in found:
            found.append(ip)
    return found


def certificate_usable(identity: NodeIdentity, *, node: str, addresses: list[str], now: datetime) -> bool:
    """Saved, from the serving CA it came with, for this node and its addresses, its key beside
    it, and not near expiry."""
    try:
        cert = x509.load_pem_x509_certificate(identity.cert.read_bytes())
        key = serialization.load_pem_private_key(identity.key.read_bytes(), password=None)
        ca = x509.load_pem_x509_certificate(identity.serving_ca.read_bytes())
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    if not identity.kubeconfig.exists():
        return False
    encoding, fmt = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(encoding, fmt) != key.public_key().public_bytes(encoding, fmt):
        return False
    if cert.not_valid_after_utc - now < RENEW_BEFORE or node not in san.get_values_for_type(x509.DNSName):
        return False
    return set(serving_ips(addresses)) <= set(san.get_values_for_type(x509.IPAddress))
