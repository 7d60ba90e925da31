"""The kubelet's side of joining, against a real API server: reuse, renewal, re-join and refusals."""

from __future__ import annotations

import ipaddress
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from apimachinery import bootstraptoken as bt
from apimachinery import resources as res
from apimachinery.kubeconfig import load_kubeconfig, write_kubeconfig
from apiserver.app import AppSettings
from apiserver.authn.tokens import StaticTokens, Union
from apiserver.authn.user import SYSTEM_MASTERS, UserInfo
from apiserver.nodejoin import KIND, JoinHandler, RegistrySecrets, as_server, authenticators
from apiserver.pki import KUBELET_SERVING_CA, ensure_kubelet_serving_ca, ensure_pki, load_ca
from apiserver.store.sqlite import SqliteStore
from kubelet.join import JoinError, ensure_identity
from tests.apiserver.conftest import RunningServer

ADMIN = "admin-token"
NODE = "node-a"


class Env:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        pki = ensure_pki(tmp / "pki", hosts=[])
        self.ca_pem = pki.ca_pem
        secrets = RegistrySecrets()
        users = {ADMIN: UserInfo("admin", groups=(SYSTEM_MASTERS,))}
        settings = AppSettings(authenticator=Union([StaticTokens(users), *authenticators(secrets)]),
                               compaction_interval=3600)
        self.server = RunningServer(SqliteStore(tmp / "state.db"), settings)
        self.registry = self.server.app.state.registry
        secrets.registry = self.registry
        ensure_kubelet_serving_ca(tmp / "pki")  # as the server wires it: not the cluster CA
        ca, ca_key = load_ca(tmp / "pki", KUBELET_SERVING_CA)
        self.server.app.state.reviews[KIND] = JoinHandler(registry=self.registry, ca=ca, ca_key=ca_key)
        self.token = bt.generate()
        with as_server():
            self.registry.create(res.SECRETS, bt.NAMESPACE, bt.secret_for(self.token, now=datetime.now(UTC),
                                                                          ttl=timedelta(hours=1)))
        self.bootstrap = tmp / "bootstrap.kubeconfig"
        self.cert_dir = tmp / "kubelet"

    def start(self) -> None:
        self.server.start()
        write_kubeconfig(self.bootstrap, server=self.server.url, token=str(self.token), ca_pem=self.ca_pem)

    async def identity(self, addresses: tuple[str, ...] = ("127.0.0.1",)) -> Any:
        return await ensure_identity(bootstrap=self.bootstrap, cert_dir=self.cert_dir, node=NODE,
                                     addresses=list(addresses))

    def node_token(self) -> str:
        return load_kubeconfig(self.cert_dir / "kubelet.kubeconfig").token

    def delete_secret(self, name: str) -> None:
        with as_server():
            self.registry.delete(res.SECRETS, "kube-system", name)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    e.start()
    yield e
    e.server.stop()


async def test_first_start_joins_and_keeps_everything_private(env: Env) -> None:
    identity = await env.identity()
    assert env.node_token().startswith(f"pvnode.{NODE}.")
    assert stat.S_IMODE(env.cert_dir.stat().st_mode) == 0o700
    for path in (identity.kubeconfig, identity.cert, identity.key, identity.ca, identity.serving_ca):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


async def test_a_serving_certificate_never_passes_for_the_api_server(env: Env) -> None:
    """A node asks for names of its choosing; what it gets is signed by the kubelet-serving CA,
    which no client trusts to name the API server: here a node asking for 127.0.0.1."""
    identity = await env.identity(("127.0.0.1",))
    cert = x509.load_pem_x509_certificate(identity.cert.read_bytes())
    cluster_ca = x509.load_pem_x509_certificate(env.ca_pem)
    with pytest.raises((ValueError, InvalidSignature)):
        cert.verify_directly_issued_by(cluster_ca)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(identity.serving_ca.read_bytes()))
    # what kubectl and in-cluster clients trust to name the API server is the cluster CA alone
    store = x509.verification.Store([cluster_ca])
    verifier = x509.verification.PolicyBuilder().store(store).build_server_verifier(
        x509.verification.IPAddress(ipaddress.ip_address("127.0.0.1")))
    with pytest.raises(x509.verification.VerificationError):
        verifier.verify(cert, [])


async def test_a_restart_reuses_the_identity(env: Env) -> None:
    await env.identity()
    token, cert = env.node_token(), (env.cert_dir / "kubelet.crt").read_bytes()
    await env.identity()
    assert env.node_token() == token and (env.cert_dir / "kubelet.crt").read_bytes() == cert


async def test_a_lost_certificate_or_a_new_address_is_renewed_by_the_node_itself(env: Env) -> None:
    await env.identity()
    (env.cert_dir / "kubelet.crt").unlink()
    env.delete_secret(env.token.secret_name)  # renewal needs no bootstrap token
    await env.identity(("127.0.0.1", "10.9.8.7"))
    cert = x509.load_pem_x509_certificate((env.cert_dir / "kubelet.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "10.9.8.7"}


async def test_a_revoked_node_joins_again_while_the_bootstrap_token_is_valid(env: Env) -> None:
    await env.identity()
    first = env.node_token()
    env.delete_secret(f"node-credential-{NODE}")
    await env.identity()
    assert env.node_token() != first


async def test_a_revoked_node_without_a_valid_bootstrap_token_cannot_come_back(env: Env) -> None:
    await env.identity()
    env.delete_secret(f"node-credential-{NODE}")
    env.delete_secret(env.token.secret_name)
    with pytest.raises(JoinError, match="401"):
        await env.identity()


async def test_a_node_that_lost_its_files_cannot_rejoin_until_revoked(env: Env) -> None:
    await env.identity()
    (env.cert_dir / "kubelet.kubeconfig").unlink()
    with pytest.raises(JoinError, match="409.*revoke it first"):
        await env.identity()
    env.delete_secret(f"node-credential-{NODE}")
    await env.identity()
