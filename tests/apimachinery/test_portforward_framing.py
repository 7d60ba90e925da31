"""The v4/v5 port-forward channel framing shared by the API server, the kubelet and podctl."""

from __future__ import annotations

import pytest

from apimachinery import portforward as pf
from apimachinery.errors import ApiError


@pytest.mark.parametrize(("values", "ports"), [
    pytest.param(["80"], [80], id="one"),
    pytest.param(["80", "8080"], [80, 8080], id="repeated"),
    pytest.param(["8080,9090"], [8080, 9090], id="comma-separated"),
    pytest.param(["1", "65535"], [1, 65535], id="bounds"),
])
def test_ports_are_parsed(values: list[str], ports: list[int]) -> None:
    assert pf.parse_ports(values) == ports


@pytest.mark.parametrize(("values", "message"), [
    pytest.param([], 'query parameter "port" is required', id="missing"),
    pytest.param([""], 'query parameter "port" cannot be empty', id="empty"),
    pytest.param(["http"], 'unable to parse "http" as a port', id="name"),
    pytest.param(["70000"], 'unable to parse "70000" as a port', id="too-big"),
    pytest.param(["0"], 'port "0" must be > 0', id="zero"),
])
def test_bad_ports_are_400(values: list[str], message: str) -> None:
    with pytest.raises(ApiError) as err:
        pf.parse_ports(values)
    assert err.value.code == 400 and err.value.message == message


@pytest.mark.parametrize(("index", "data", "error"), [(0, 0, 1), (1, 2, 3), (5, 10, 11)])
def test_each_port_has_a_data_and_an_error_channel(index: int, data: int, error: int) -> None:
    assert (pf.data_channel(index), pf.error_channel(index)) == (data, error)


@pytest.mark.parametrize(("message", "channel", "payload"), [
    pytest.param(pf.port_frame(0, 80), 0, b"P\x00", id="port-80-little-endian"),
    pytest.param(pf.port_frame(3, 8080), 3, b"\x90\x1f", id="port-8080"),
    pytest.param(pf.frame(2, b"hi"), 2, b"hi", id="data"),
    pytest.param(pf.close_frame(2), 255, b"\x02", id="v5-close"),
])
def test_messages_carry_their_channel_first(message: bytes, channel: int, payload: bytes) -> None:
    assert pf.split(message) == (channel, payload)


def test_port_round_trip_and_bad_length() -> None:
    assert pf.read_port(pf.split(pf.port_frame(1, 65535))[1]) == 65535
    with pytest.raises(ValueError):
        pf.read_port(b"\x01")
    with pytest.raises(ValueError):
        pf.split(b"")
