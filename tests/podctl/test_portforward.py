"""``podctl port-forward`` argument parsing (the forwarding itself is in tests/compat/test_portforward.py)."""

from __future__ import annotations

import pytest

from podctl.errors import PodctlError
from podctl.portforward import PortMapping, listen_hosts, parse_mapping


@pytest.mark.parametrize(("text", "mapping"), [
    pytest.param("8080:80", PortMapping(8080, 80), id="local-remote"),
    pytest.param(":80", PortMapping(0, 80), id="any-local"),
    pytest.param("5000", PortMapping(5000, 5000), id="same-port"),
])
def test_port_mappings(text: str, mapping: PortMapping) -> None:
    assert parse_mapping(text) == mapping


@pytest.mark.parametrize("text", ["http", "80:", "0", "8080:70000", "-1:80", "a:b"])
def test_bad_port_mappings(text: str) -> None:
    with pytest.raises(PodctlError):
        parse_mapping(text)


@pytest.mark.parametrize(("addresses", "hosts"), [
    pytest.param("127.0.0.1", ["127.0.0.1"], id="default"),
    pytest.param("localhost", ["127.0.0.1", "::1"], id="localhost-is-both-loopbacks"),
    pytest.param("0.0.0.0, ::1", ["0.0.0.0", "::1"], id="list"),
])
def test_listen_addresses(addresses: str, hosts: list[str]) -> None:
    assert listen_hosts(addresses) == hosts


def test_no_address_is_an_error() -> None:
    with pytest.raises(PodctlError):
        listen_hosts(" , ")
