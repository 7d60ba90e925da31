"""Joining: who may obtain which node's identity, what the signer accepts, and the node credential."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apiserver.authn.nodecreds import NodeCredentials
from apiserver.authn.user import AUTHENTICATED, BOOTSTRAPPERS, NODES, SYSTEM_MASTERS, UserInfo
from apiserver.nodejoin import JoinHandler, RegistrySecrets
from apiserver.pki import ensure_pki, load_ca
from apiserver.registry import PatchingRegistry
from apiserver.store.sqlite import SqliteStore
from kubelet.join import signing_request

BOOTSTRAPPER = UserInfo("system:bootstrap:abcdef", groups=(BOOTSTRAPPERS, AUTHENTICATED))
ADMIN = UserInfo("admin", groups=(SYSTEM_MASTERS, AUTHENTICATED))
KEY = ec.generate_private_key(ec.SECP256R1())


def node_user(name: str) -> UserInfo:
    return UserInfo(f"system:node:{name}", groups=(NODES, AUTHENTICATED))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[JoinHandler, NodeCredentials, x509.Certificate]]:
    store = SqliteStore(tmp_path / "state.db")
    registry = PatchingRegistry(store)
    registry.ensure_system_namespaces()
    ensure_pki(tmp_path, hosts=[])
    ca, ca_key = load_ca(tmp_path)
    secrets = RegistrySecrets()
    secrets.registry = registry
    yield JoinHandler(registry=registry, ca=ca, ca_key=ca_key), NodeCredentials(secrets.get), ca
    store.close()


def request(node: str, csr: bytes | None = None, **spec: Any) -> dict[str, Any]:
    pem = csr if csr is not None else signing_request(KEY, node=node, addresses=["10.0.0.7"])
    return {"apiVersion": "node.podvisor.io/v1", "kind": "NodeCredentialRequest", "metadata": {},
            "spec": {"nodeName": node, "request": base64.b64encode(pem).decode(), **spec}}


def certificate(answer: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(answer["status"]["certificate"]))


def test_a_bootstrapper_gets_a_node_identity_and_a_serving_certificate(env: Any) -> None:
    handler, creds, ca = env
    answer = handler.answer(BOOTSTRAPPER, request("node-a"))
    user = creds.authenticate(answer["status"]["token"])
    assert user is not None and user.name == "system:node:node-a" and user.groups == (NODES, AUTHENTICATED)
    assert user.node_name == "node-a"
    cert = certificate(answer)
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:node-a"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:nodes"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["node-a"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_one_bootstrap_token_joins_two_nodes_as_two_identities(env: Any) -> None:
    handler, creds, _ = env
    a = handler.answer(BOOTSTRAPPER, request("node-a"))["status"]["token"]
    b = handler.answer(BOOTSTRAPPER, request("node-b"))["status"]["token"]
    assert a != b
    assert creds.authenticate(a).name == "system:node:node-a"
    assert creds.authenticate(b).name == "system:node:node-b"


def test_a_bootstrapper_cannot_take_the_identity_of_a_node_that_holds_one(env: Any) -> None:
    handler, creds, _ = env
    first = handler.answer(BOOTSTRAPPER, request("node-a"))["status"]["token"]
    with pytest.raises(ApiError) as refused:
        handler.answer(BOOTSTRAPPER, request("node-a"))
    assert refused.value.code == 409 and "revoke it first" in refused.value.message
    assert creds.authenticate(first) is not None  # the holder keeps its identity


def test_after_revocation_the_node_may_join_again(env: Any) -> None:
    handler, creds, _ = env
    first = handler.answer(BOOTSTRAPPER, request("node-a"))["status"]["token"]
    handler.registry.delete(res.SECRETS, "kube-system", "node-credential-node-a")
    assert creds.authenticate(first) is None  # revoked: refused at once
    second = handler.answer(BOOTSTRAPPER, request("node-a"))["status"]["token"]
    assert creds.authenticate(second).name == "system:node:node-a"


def test_a_node_renews_its_own_credential_and_the_old_one_stops_working(env: Any) -> None:
    handler, creds, _ = env
    first = handler.answer(BOOTSTRAPPER, request("node-a"))["status"]["token"]
    second = handler.answer(node_user("node-a"), request("node-a"))["status"]["token"]
    assert creds.authenticate(second) is not None and creds.authenticate(first) is None


REQUESTERS = [
    ("another-node", node_user("node-b"), 403),
    ("a-plain-user", UserInfo("alice", groups=(AUTHENTICATED,)), 403),
    ("a-serviceaccount", UserInfo("system:serviceaccount:default:x", groups=("system:serviceaccounts",)), 403),
]


@pytest.mark.parametrize(("user", "code"), [r[1:] for r in REQUESTERS], ids=[r[0] for r in REQUESTERS])
def test_who_may_not_obtain_a_nodes_identity(env: Any, user: UserInfo, code: int) -> None:
    handler, _, _ = env
    with pytest.raises(ApiError) as refused:
        handler.answer(user, request("node-a"))
    assert refused.value.code == code


def test_an_admin_may_issue_any_nodes_identity(env: Any) -> None:
    handler, creds, _ = env
    handler.answer(BOOTSTRAPPER, request("node-a"))
    assert creds.authenticate(handler.answer(ADMIN, request("node-a"))["status"]["token"]) is not None


def csr(*, cn: str = "system:node:node-a", org: str | None = "system:nodes",
        names: list[x509.GeneralName] | None = None) -> bytes:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org is not None:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    if names is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


INVALID = [
    ("no-node-name", request("", csr()), "spec.nodeName"),
    ("bad-node-name", request("Node_A", csr()), "spec.nodeName"),
    ("other-signer", request("node-a", signerName="kubernetes.io/kube-apiserver-client"), "spec.signerName"),
    ("client-usage", request("node-a", usages=["digital signature", "client auth"]), "spec.usages"),
    ("not-a-csr", request("node-a", b"hello"), "spec.request"),
    ("another-nodes-cn", request("node-a", csr(cn="system:node:node-b")), "spec.request"),
    ("masters-org", request("node-a", csr(org="system:masters")), "spec.request"),
    ("no-org", request("node-a", csr(org=None)), "spec.request"),
    ("foreign-dns-name", request("node-a", csr(names=[x509.DNSName("kubernetes.default")])), "spec.request"),
    ("email-san", request("node-a", csr(names=[x509.RFC822Name("a@b.c")])), "spec.request"),
    ("uri-san", request("node-a", csr(names=[x509.UniformResourceIdentifier("spiffe://x")])), "spec.request"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_the_signer_refuses_what_kubelet_serving_does_not_allow(env: Any, body: dict[str, Any], field: str) -> None:
    handler, _, _ = env
    with pytest.raises(ApiError) as refused:
        handler.answer(BOOTSTRAPPER, body)
    assert refused.value.code == 422
    assert [c["field"] for c in refused.value.status()["details"]["causes"]] == [field]
    assert handler._existing(body["spec"]["nodeName"] or "x") is None  # nothing was stored


CREDENTIALS = [
    ("not-a-node-token", "abcdef.0123456789abcdef"),
    ("unknown-node", "pvnode.ghost.AAAA"),
    ("no-secret-part", "pvnode.node-a."),
    ("no-node-part", "pvnode..secret"),
]


@pytest.mark.parametrize("token", [c[1] for c in CREDENTIALS], ids=[c[0] for c in CREDENTIALS])
def test_the_node_credential_authenticator_declines(env: Any, token: str) -> None:
    handler, creds, _ = env
    handler.answer(BOOTSTRAPPER, request("node-a"))
    assert creds.authenticate(token) is None


def test_a_token_naming_another_node_does_not_authenticate(env: Any) -> None:
    handler, creds, _ = env
    token = handler.answer(BOOTSTRAPPER, request("node-a"))["status"]["token"]
    handler.answer(BOOTSTRAPPER, request("node-b"))
    forged = token.replace("pvnode.node-a.", "pvnode.node-b.")
    assert creds.authenticate(forged) is None
    assert creds.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_the_server_keeps_only_a_hash(env: Any) -> None:
    handler, _, _ = env
    token = handler.answer(BOOTSTRAPPER, request("node-a"))["status"]["token"]
    stored = handler.registry.get(res.SECRETS, "kube-system", "node-credential-node-a")
    secret_part = token.rpartition(".")[2]
    decoded = [base64.b64decode(v).decode() for v in stored["data"].values()]
    assert all(secret_part not in value for value in decoded)
    assert stored["type"] == "podvisor.io/node-credential"


def test_a_dry_run_is_checked_but_issues_nothing(env: Any) -> None:
    handler, _, _ = env
    assert handler.answer(BOOTSTRAPPER, request("node-a"), dry_run=True)["status"] == {}
    assert handler._existing("node-a") is None
    with pytest.raises(ApiError):
        handler.answer(BOOTSTRAPPER, request("node-a", signerName="other"), dry_run=True)
