"""PKI and tokens: created once, reused, re-issued only when the serving certificate falls short."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from apiserver.pki import certificate_hosts, ensure_admin_token, ensure_pki, normalize_host

FILES = ("ca.crt", "ca.key", "server.crt", "server.key")


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def snapshot(data_dir: Path) -> dict[str, bytes]:
    return {name: (data_dir / name).read_bytes() for name in FILES}


def san(path: Path) -> tuple[set[str], set[str]]:
    ext = cert(path).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)), {
        str(ip) for ip in ext.get_values_for_type(x509.IPAddress)
    }


def handshake(pki_dir: Path, server_hostname: str) -> None:
    """A real TLS handshake in memory: client trusts only ca.crt and checks the host name."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki_dir / "server.crt", pki_dir / "server.key")
    client_ctx = ssl.create_default_context(cafile=str(pki_dir / "ca.crt"))
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not complete")


def test_first_start_creates_ca_and_server_cert(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pki = ensure_pki(data, hosts=["192.0.2.10", "Podvisor.Example", "0.0.0.0"])
    assert (pki.ca_path, pki.cert_path, pki.key_path) == (
        data / "ca.crt",
        data / "server.crt",
        data / "server.key",
    )
    assert pki.ca_pem == (data / "ca.crt").read_bytes()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    ca, server = cert(pki.ca_path), cert(pki.cert_path)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server.verify_directly_issued_by(ca)
    for c in (ca, server):
        key = c.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


@pytest.mark.parametrize(
    ("name", "mode"), [("ca.key", 0o600), ("server.key", 0o600), ("ca.crt", 0o644), ("server.crt", 0o644)]
)
def test_file_modes(tmp_path: Path, name: str, mode: int) -> None:
    ensure_pki(tmp_path, hosts=[])
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_sans_name_every_host_with_the_right_type(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, hosts=["192.0.2.10", "Podvisor.Example", "0.0.0.0", "[2001:db8::1]", "::"])
    dns, ips = san(pki.cert_path)
    assert dns == {"localhost", "podvisor.example", socket.gethostname().lower()}
    assert ips == {"127.0.0.1", "::1", "192.0.2.10", "2001:db8::1"}  # wildcards are no client address


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "192.0.2.10", "podvisor.example"])
def test_tls_clients_trusting_the_ca_accept_every_name(tmp_path: Path, host: str) -> None:
    ensure_pki(tmp_path, hosts=["192.0.2.10", "podvisor.example"])
    handshake(tmp_path, host)


def test_tls_client_refuses_a_name_not_in_the_certificate(tmp_path: Path) -> None:
    ensure_pki(tmp_path, hosts=[])
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(tmp_path, "elsewhere.example")


def test_second_start_reuses_everything(tmp_path: Path) -> None:
    first = ensure_pki(tmp_path, hosts=["192.0.2.10"])
    before = snapshot(tmp_path)
    second = ensure_pki(tmp_path, hosts=["192.0.2.10", "localhost"])  # already covered
    assert second == first
    assert snapshot(tmp_path) == before


def test_new_host_reissues_server_cert_with_the_same_ca(tmp_path: Path) -> None:
    ensure_pki(tmp_path, hosts=["192.0.2.10"])
    before = snapshot(tmp_path)
    ensure_pki(tmp_path, hosts=["198.51.100.7"])
    after = snapshot(tmp_path)
    assert (after["ca.crt"], after["ca.key"]) == (before["ca.crt"], before["ca.key"])
    assert after["server.crt"] != before["server.crt"] and after["server.key"] != before["server.key"]
    _, ips = san(tmp_path / "server.crt")
    assert {"192.0.2.10", "198.51.100.7"} <= ips  # names that worked before keep working
    cert(tmp_path / "server.crt").verify_directly_issued_by(cert(tmp_path / "ca.crt"))


def test_server_cert_near_expiry_is_renewed(tmp_path: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=300)
    ensure_pki(tmp_path, hosts=[], now=long_ago)
    before = snapshot(tmp_path)
    ensure_pki(tmp_path, hosts=[])
    after = snapshot(tmp_path)
    assert after["ca.crt"] == before["ca.crt"]
    assert after["server.crt"] != before["server.crt"]
    assert cert(tmp_path / "server.crt").not_valid_after_utc > datetime.now(UTC) + timedelta(days=300)


@pytest.mark.parametrize(
    ("damage", "ca_replaced"),
    [
        pytest.param(lambda d: (d / "server.crt").unlink(), False, id="server-cert-missing"),
        pytest.param(lambda d: (d / "server.key").write_bytes(b"garbage"), False, id="server-key-corrupt"),
        pytest.param(lambda d: (d / "ca.key").unlink(), True, id="ca-key-missing"),
        pytest.param(lambda d: (d / "ca.crt").write_bytes(b"not pem"), True, id="ca-cert-corrupt"),
    ],
)
def test_broken_files_are_recreated(
    tmp_path: Path, damage: Callable[[Path], object], ca_replaced: bool
) -> None:
    ensure_pki(tmp_path, hosts=[])
    before = snapshot(tmp_path)
    damage(tmp_path)
    ensure_pki(tmp_path, hosts=[])
    after = snapshot(tmp_path)
    assert (after["ca.crt"] != before["ca.crt"]) is ca_replaced
    cert(tmp_path / "server.crt").verify_directly_issued_by(cert(tmp_path / "ca.crt"))
    handshake(tmp_path, "localhost")


def test_server_cert_of_another_ca_is_reissued(tmp_path: Path) -> None:
    other = tmp_path / "other"
    ensure_pki(other, hosts=[])
    ensure_pki(tmp_path, hosts=[])
    for name in ("server.crt", "server.key"):
        (tmp_path / name).write_bytes((other / name).read_bytes())
    ensure_pki(tmp_path, hosts=[])
    cert(tmp_path / "server.crt").verify_directly_issued_by(cert(tmp_path / "ca.crt"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1", ipaddress.ip_address("127.0.0.1")),
        ("[::1]", ipaddress.ip_address("::1")),
        (" Host.Example. ", "host.example"),
        ("0.0.0.0", None),
        ("::", None),
        ("", None),
    ],
)
def test_normalize_host(raw: str, expected: object) -> None:
    assert normalize_host(raw) == expected


def test_certificate_hosts_round_trips_the_requested_set(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, hosts=["192.0.2.10", "a.example"])
    hosts = certificate_hosts(cert(pki.cert_path))
    assert {ipaddress.ip_address("192.0.2.10"), "a.example", "localhost"} <= hosts


# --- tokens ----------------------------------------------------------------------------------


def test_the_admin_token_is_created_once_and_reused(tmp_path: Path) -> None:
    (tmp_path / "node-token").write_text("an older server's shared node token\n")
    first = ensure_admin_token(tmp_path)
    assert len(first) >= 43  # 32 random bytes, url-safe base64
    assert (tmp_path / "admin.token").read_text().strip() == first
    assert stat.S_IMODE((tmp_path / "admin.token").stat().st_mode) == 0o600
    assert not (tmp_path / "node-token").exists()  # accepted nowhere: not left lying around
    assert ensure_admin_token(tmp_path) == first


def test_empty_token_file_is_regenerated(tmp_path: Path) -> None:
    first = ensure_admin_token(tmp_path)
    (tmp_path / "admin.token").write_text("\n")
    second = ensure_admin_token(tmp_path)
    assert second and second != first
