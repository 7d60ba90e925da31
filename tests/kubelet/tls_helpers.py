"""A cluster CA in a temporary directory, with the certificates the kubelet TLS tests need."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apiserver.pki import ensure_kubelet_client, ensure_pki, issue_leaf, load_ca


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class ClusterPki:
    dir: Path
    ca: Path
    apiserver_client: Pair

    def leaf(self, name: str, *, cn: str, org: str, usage: x509.ObjectIdentifier, dns: list[str] | None = None,
             self_signed: bool = False) -> Pair:
        """A certificate ``name.crt``/``name.key`` from the cluster CA (or signed by its own key)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                             x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        san = x509.SubjectAlternativeName([*(x509.DNSName(d) for d in dns or []),
                                           x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        ca, ca_key = load_ca(self.dir)
        if self_signed:  # a CA of its own, as an impostor would make
            other = ec.generate_private_key(ec.SECP256R1())
            ca = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(other.public_key())
                  .serial_number(1).not_valid_before(datetime(2020, 1, 1)).not_valid_after(datetime(2099, 1, 1))
                  .add_extension(x509.SubjectKeyIdentifier.from_public_key(other.public_key()), critical=False)
                  .sign(other, ca.signature_hash_algorithm))  # type: ignore[arg-type]
            ca_key = other
        cert = issue_leaf(key.public_key(), subject=subject, ca=ca, ca_key=ca_key, usage=usage, san=san,
                          now=datetime.now(UTC))
        pair = Pair(self.dir / f"{name}.crt", self.dir / f"{name}.key")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pair.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return pair

    def kubelet(self, node: str) -> Pair:
        """What the join issues to ``node``: CN system:node:<node>, its name and 127.0.0.1, server auth."""
        return self.leaf(f"kubelet-{node}", cn=f"system:node:{node}", org="system:nodes",
                         usage=ExtendedKeyUsageOID.SERVER_AUTH, dns=[node])


def make_pki(directory: Path) -> ClusterPki:
    pki = ensure_pki(directory, hosts=[])
    cert, key = ensure_kubelet_client(directory)
    return ClusterPki(dir=directory, ca=pki.ca_path, apiserver_client=Pair(cert, key))
