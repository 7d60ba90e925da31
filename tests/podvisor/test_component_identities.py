"""The server's data directory: each in-process component has its own token and kubeconfig."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml

from podvisor.server import ServerOptions, prepare_data_dir


def test_components_have_their_own_identities(tmp_path: Path) -> None:
    data = prepare_data_dir(ServerOptions(data_dir=tmp_path / "data"))
    names = {user.name: (token, user.groups) for token, user in data.users.items()}
    assert names["admin"][1] == ("system:masters", "system:authenticated")
    assert names["system:kube-controller-manager"][1] == ("system:authenticated",)
    assert names["system:kube-scheduler"][1] == ("system:authenticated",)
    assert len({token for token, _ in names.values()}) == len(names)  # no token shared
    for component, file_name in (("controllers", "controller-manager"), ("scheduler", "scheduler")):
        token_file = tmp_path / "data" / f"{file_name}.token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        kubeconfig = yaml.safe_load(data.component_kubeconfigs[component].read_text())
        [user] = kubeconfig["users"]
        assert user["user"]["token"] == token_file.read_text().strip()
        assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("unix:")
    again = prepare_data_dir(ServerOptions(data_dir=tmp_path / "data"))
    assert again.users == data.users  # tokens are kept across restarts


def test_the_serving_certificate_names_the_kubernetes_service(tmp_path: Path) -> None:
    from cryptography import x509

    prepare_data_dir(ServerOptions(data_dir=tmp_path / "data"))
    cert = x509.load_pem_x509_certificate((tmp_path / "data" / "server.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)
    assert {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local"} <= set(names)
