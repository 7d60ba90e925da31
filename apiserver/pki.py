"""Security by default, the k3s way: a private CA, a serving certificate and two tokens.

kubectl sends a bearer token only over HTTPS, and with the CA in its kubeconfig it verifies that
the server certificate names the address it dialled. So on first start the server creates, in
its data directory:

* ``ca.crt`` / ``ca.key``: a self-signed CA (EC P-256, ten years) that goes into kubeconfigs;
* ``server.crt`` / ``server.key``: the serving certificate signed by that CA, with every
  address clients use as a subjectAltName (always 127.0.0.1, ::1, localhost and the host name);
* ``apiserver-kubelet-client.crt`` / ``.key``: the client certificate the API server presents to
  kubelets (:func:`ensure_kubelet_client`);
* ``admin.token``: a random bearer token for the admin (kubelets join with bootstrap tokens,
  :mod:`apiserver.nodejoin`; the old shared ``node-token`` file is no longer accepted).

Later starts reuse all of it, so kubeconfigs handed out stay valid. Only the serving
certificate is re-issued (by the same CA) when it no longer names a requested host, nears
expiry, or does not chain to the CA; the CA is recreated only if its files are missing or
unreadable. Private keys and tokens are written 0600, atomically, so a crash never leaves a
half-written key behind.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apimachinery.files import write_atomic

CA_VALIDITY = timedelta(days=3650)
SERVER_VALIDITY = timedelta(days=365)
RENEW_BEFORE = timedelta(days=90)  # re-issue the serving certificate at start-up when this close to expiry
BACKDATE = timedelta(minutes=5)  # tolerate clocks slightly behind ours

ALWAYS_HOSTS = ("127.0.0.1", "::1", "localhost")

Host = ipaddress.IPv4Address | ipaddress.IPv6Address | str


@dataclass(frozen=True)
class Pki:
    """What the server and the kubeconfig writers need: the CA (inline) and the serving pair's paths."""

    ca_pem: bytes
    ca_path: Path
    cert_path: Path
    key_path: Path


# --- files -----------------------------------------------------------------------------------


def _ensure_dir(data_dir: Path) -> None:
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o700)


# --- keys and certificates -------------------------------------------------------------------


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _same_public_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    encoding, fmt = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(encoding, fmt) == key.public_key().public_bytes(encoding, fmt)


def _issue_ca(key: ec.EllipticCurvePrivateKey, now: datetime, *, stem: str = "ca") -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"podvisor-{stem}@{int(now.timestamp())}")])
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def san_of(hosts: set[Host]) -> x509.SubjectAlternativeName:
    ips = sorted((h for h in hosts if not isinstance(h, str)), key=lambda ip: (ip.version, int(ip)))
    names = sorted(h for h in hosts if isinstance(h, str))
    general: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    general.extend(x509.IPAddress(ip) for ip in ips)
    return x509.SubjectAlternativeName(general)


def _issue_server(
    key: ec.EllipticCurvePrivateKey,
    *,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: set[Host],
    now: datetime,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podvisor-apiserver")])
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + SERVER_VALIDITY, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san_of(hosts), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


# --- hosts -----------------------------------------------------------------------------------


def normalize_host(raw: str) -> Host | None:
    """An IP (``[::1]`` brackets allowed) or a lower-cased DNS name; None for wildcards and blanks.

    ``0.0.0.0`` and ``::`` are bind-all addresses, never an address a client dials.
    """
    text = raw.strip().removeprefix("[").removesuffix("]")
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text.lower().rstrip(".")
    return None if ip.is_unspecified else ip


def requested_hosts(hosts: list[str]) -> set[Host]:
    """The hosts asked for plus the ones every server certificate names."""
    wanted = {normalize_host(h) for h in [*ALWAYS_HOSTS, socket.gethostname(), *hosts]}
    return {h for h in wanted if h is not None}


def certificate_hosts(cert: x509.Certificate) -> set[Host]:
    """The subjectAltNames of a certificate, in the same form as :func:`requested_hosts`."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found: set[Host] = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    for ip in san.get_values_for_type(x509.IPAddress):
        if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
            found.add(ip)
    return found


# --- the PKI ---------------------------------------------------------------------------------


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _ensure_ca(data_dir: Path, now: datetime, *, stem: str = "ca") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    """Load ``<stem>.crt``/``.key``, or create them when either is missing or broken. True when new."""
    ca_path, key_path = data_dir / f"{stem}.crt", data_dir / f"{stem}.key"
    ca, key = _load_cert(ca_path), _load_key(key_path)
    if ca is not None and key is not None and _same_public_key(ca, key):
        return ca, key, False
    key = _new_key()
    ca = _issue_ca(key, now, stem=stem)
    write_atomic(key_path, _key_pem(key), 0o600)
    write_atomic(ca_path, ca.public_bytes(serialization.Encoding.PEM), 0o644)
    return ca, key, True


def _server_cert_usable(data_dir: Path, ca: x509.Certificate, hosts: set[Host], now: datetime) -> bool:
    cert, key = _load_cert(data_dir / "server.crt"), _load_key(data_dir / "server.key")
    if cert is None or key is None or not _same_public_key(cert, key):
        return False
    if not _signed_by(cert, ca) or cert.not_valid_after_utc - now < RENEW_BEFORE:
        return False
    return hosts <= certificate_hosts(cert)


def ensure_pki(data_dir: Path, *, hosts: list[str], now: datetime | None = None) -> Pki:
    """Create on first start, reuse afterwards; re-issue only the serving certificate when needed.

    A re-issued certificate keeps the names the old one had, so an address that worked before
    keeps working; ``now`` is injectable so tests can age the certificates.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    _ensure_dir(data_dir)
    ca, ca_key, ca_is_new = _ensure_ca(data_dir, now)
    wanted = requested_hosts(hosts)
    if ca_is_new or not _server_cert_usable(data_dir, ca, wanted, now):
        old = _load_cert(data_dir / "server.crt")
        if old is not None and not ca_is_new:
            wanted |= certificate_hosts(old)
        key = _new_key()
        cert = _issue_server(key, ca=ca, ca_key=ca_key, hosts=wanted, now=now)
        write_atomic(data_dir / "server.key", _key_pem(key), 0o600)
        write_atomic(data_dir / "server.crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return Pki(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        ca_path=data_dir / "ca.crt",
        cert_path=data_dir / "server.crt",
        key_path=data_dir / "server.key",
    )


# --- the kubelet client certificate -----------------------------------------------------------

KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client"  # kubeadm's names for it
KUBELET_CLIENT_ORG = "system:masters"
KUBELET_CLIENT_FILES = ("apiserver-kubelet-client.crt", "apiserver-kubelet-client.key")


KUBELET_SERVING_CA = "kubelet-serving-ca"


def ensure_kubelet_serving_ca(data_dir: Path, *, now: datetime | None = None) -> Path:
    """``kubelet-serving-ca.crt``/``.key``: the CA that signs kubelets' serving certificates at join.

    Not the cluster CA: clients trust the cluster CA to name the API server, and a certificate a
    node obtains (for whatever names its request holds) must never pass for the API server's.
    The API server trusts this CA, and only it, when it dials a kubelet.
    """
    _ensure_dir(data_dir)
    _ensure_ca(data_dir, (now or datetime.now(UTC)).astimezone(UTC), stem=KUBELET_SERVING_CA)
    return data_dir / f"{KUBELET_SERVING_CA}.crt"


def load_ca(data_dir: Path, stem: str = "ca") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA and its key (``ca``: the cluster CA of :func:`ensure_pki`; ``kubelet-serving-ca``)."""
    ca, key = _load_cert(data_dir / f"{stem}.crt"), _load_key(data_dir / f"{stem}.key")
    if ca is None or key is None:
        raise RuntimeError(f"the cluster CA in {data_dir} is missing or unreadable")
    return ca, key


def issue_leaf(public_key: CertificatePublicKeyTypes, *, subject: x509.Name, ca: x509.Certificate,
               ca_key: ec.EllipticCurvePrivateKey, usage: x509.ObjectIdentifier,
               san: x509.SubjectAlternativeName | None, now: datetime, validity: timedelta = SERVER_VALIDITY,
               ) -> x509.Certificate:
    """A non-CA certificate for one extended key usage (server or client auth), signed by the CA."""
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + validity, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def ensure_kubelet_client(data_dir: Path, *, now: datetime | None = None) -> tuple[Path, Path]:
    """``apiserver-kubelet-client.{crt,key}``: the identity the API server presents to kubelets.

    CN ``kube-apiserver-kubelet-client``, O ``system:masters``, client auth only, as kubeadm
    issues it; re-issued at start-up when missing, not from this CA, or near expiry.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    ca, ca_key = load_ca(data_dir)
    cert_path, key_path = (data_dir / name for name in KUBELET_CLIENT_FILES)
    cert, key = _load_cert(cert_path), _load_key(key_path)
    if (cert is not None and key is not None and _same_public_key(cert, key) and _signed_by(cert, ca)
            and cert.not_valid_after_utc - now >= RENEW_BEFORE):
        return cert_path, key_path
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, KUBELET_CLIENT_ORG),
                         x509.NameAttribute(NameOID.COMMON_NAME, KUBELET_CLIENT_CN)])
    cert = issue_leaf(key.public_key(), subject=subject, ca=ca, ca_key=ca_key,
                      usage=ExtendedKeyUsageOID.CLIENT_AUTH, san=None, now=now)
    write_atomic(key_path, _key_pem(key), 0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


# --- tokens ----------------------------------------------------------------------------------


def _ensure_token(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        token = ""
    if token:
        return token
    token = secrets.token_urlsafe(32)
    write_atomic(path, f"{token}\n".encode(), 0o600)
    return token


def ensure_admin_token(data_dir: Path) -> str:
    """``admin.token`` (0600), generated once (256 random bits), then reused. A ``node-token``
    left by an older server, which nothing accepts any more, is removed."""
    (data_dir / "node-token").unlink(missing_ok=True)
    return ensure_component_token(data_dir, "admin")


def ensure_component_token(data_dir: Path, component: str) -> str:
    """``<component>.token`` (0600): the bearer token of an in-process component's own identity."""
    _ensure_dir(data_dir)
    return _ensure_token(data_dir / f"{component}.token")
