"""A pod's /etc/resolv.conf, per dnsPolicy and dnsConfig, as Kubernetes' kubelet writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apimachinery.models.core import Pod
from kubelet.dns import PodDns, ResolvConf, parse_resolv_conf, pod_resolv_conf

HOST = ResolvConf(nameservers=("10.0.0.2", "10.0.0.3"), searches=("corp.example",), options=("timeout:2",))
GATEWAY = "172.18.0.1"
CLUSTER_SEARCH = ("demo.svc.cluster.local", "svc.cluster.local", "cluster.local")


def pod(**spec: Any) -> Pod:
    return Pod.model_validate(
        {
            "metadata": {"name": "p", "namespace": "demo", "uid": "u-1"},
            "spec": {"containers": [{"name": "c", "image": "i"}], **spec},
        }
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {},
            ResolvConf((GATEWAY,), (*CLUSTER_SEARCH, "corp.example"), ("ndots:5",)),
            id="cluster-first-by-default",
        ),
        pytest.param(
            {"dnsPolicy": "ClusterFirst"},
            ResolvConf((GATEWAY,), (*CLUSTER_SEARCH, "corp.example"), ("ndots:5",)),
            id="cluster-first",
        ),
        pytest.param(
            {"dnsPolicy": "ClusterFirst", "hostNetwork": True}, HOST, id="host-network-falls-back-to-host"
        ),
        pytest.param(
            {"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True},
            ResolvConf((GATEWAY,), (*CLUSTER_SEARCH, "corp.example"), ("ndots:5",)),
            id="cluster-first-with-host-net",
        ),
        pytest.param({"dnsPolicy": "Default"}, HOST, id="default-is-the-host"),
        pytest.param(
            {
                "dnsPolicy": "None",
                "dnsConfig": {
                    "nameservers": ["1.2.3.4"],
                    "searches": ["a.example"],
                    "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
                },
            },
            ResolvConf(("1.2.3.4",), ("a.example",), ("ndots:2", "edns0")),
            id="none-is-only-dns-config",
        ),
        pytest.param({"dnsPolicy": "None"}, ResolvConf(), id="none-without-config-is-empty"),
    ],
)
def test_policy(spec: dict[str, Any], expected: ResolvConf) -> None:
    assert pod_resolv_conf(pod(**spec), cluster_dns=[GATEWAY], host=HOST) == expected


def test_dns_config_is_appended_without_duplicates_and_its_options_win() -> None:
    config = {
        "nameservers": [GATEWAY, "9.9.9.9"],
        "searches": ["svc.cluster.local", "extra.example"],
        "options": [{"name": "ndots", "value": "1"}, {"name": "single-request"}],
    }
    conf = pod_resolv_conf(pod(dnsConfig=config), cluster_dns=[GATEWAY], host=HOST)
    assert conf == ResolvConf(
        (GATEWAY, "9.9.9.9"),
        (*CLUSTER_SEARCH, "corp.example", "extra.example"),
        ("ndots:1", "single-request"),
    )


def test_limits_cut_nameservers_and_searches() -> None:
    config = {
        "nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
        "searches": [f"d{i}.example" for i in range(40)],
    }
    conf = pod_resolv_conf(pod(dnsConfig=config), cluster_dns=[GATEWAY], host=HOST)
    assert conf.nameservers == (GATEWAY, "1.1.1.1", "2.2.2.2")
    assert len(conf.searches) == 32 and conf.searches[:3] == CLUSTER_SEARCH


def test_search_list_is_cut_at_2048_characters() -> None:
    long = [f"{'x' * 60}-{i}.example" for i in range(31)]
    conf = pod_resolv_conf(pod(dnsPolicy="None", dnsConfig={"searches": long}), cluster_dns=[], host=HOST)
    assert len(" ".join(conf.searches)) <= 2048 < len(" ".join(long))


def test_cluster_first_without_a_cluster_dns_uses_the_host() -> None:
    assert pod_resolv_conf(pod(), cluster_dns=[], host=HOST) == HOST


def test_a_loopback_host_resolver_becomes_the_cluster_dns_for_default_pods() -> None:
    stub = ResolvConf(("127.0.0.53",), ("lan",), ("edns0", "trust-ad"))
    assert pod_resolv_conf(pod(dnsPolicy="Default"), cluster_dns=[GATEWAY], host=stub) == ResolvConf(
        (GATEWAY,), ("lan",), ("edns0", "trust-ad")
    )


def test_a_host_network_pod_keeps_the_hosts_loopback_resolver() -> None:
    stub = ResolvConf(("127.0.0.53",), ("lan",), ())
    assert (
        pod_resolv_conf(pod(dnsPolicy="Default", hostNetwork=True), cluster_dns=[GATEWAY], host=stub) == stub
    )


def test_host_file_is_parsed_as_the_resolver_reads_it() -> None:
    text = (
        "# generated\nnameserver 10.0.0.2\nnameserver 10.0.0.3 ; second\nsearch a.example. b.example\n"
        "domain ignored.example\nsearch c.example\noptions ndots:2\noptions rotate\n"
    )
    assert parse_resolv_conf(text) == ResolvConf(
        ("10.0.0.2", "10.0.0.3"), ("c.example",), ("ndots:2", "rotate")
    )


def test_rendered_file() -> None:
    conf = ResolvConf((GATEWAY,), CLUSTER_SEARCH, ("ndots:5",))
    assert conf.render() == (
        f"nameserver {GATEWAY}\nsearch demo.svc.cluster.local svc.cluster.local cluster.local\n"
        "options ndots:5\n"
    )


def test_the_file_is_written_in_the_pods_directory(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 10.0.0.2\nsearch corp.example\n")
    path = PodDns(root=tmp_path / "root", cluster_dns=[GATEWAY], host_resolv_conf=host).write(pod())
    assert path == str(tmp_path / "root" / "pods" / "u-1" / "etc-resolv.conf")
    assert Path(path).read_text().splitlines() == [
        f"nameserver {GATEWAY}",
        "search demo.svc.cluster.local svc.cluster.local cluster.local corp.example",
        "options ndots:5",
    ]
    assert Path(path).stat().st_mode & 0o777 == 0o644
