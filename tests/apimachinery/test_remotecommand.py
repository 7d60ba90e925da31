"""The remote command channel protocols: framing, negotiation, status and options, as tables."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apimachinery import remotecommand as rc
from apimachinery.errors import ApiError

V5, V4, V1_B64 = rc.PROTOCOLS[rc.V5], rc.PROTOCOLS[rc.V4], rc.PROTOCOLS[rc.V1_BASE64]


@pytest.mark.parametrize(("protocol", "channel", "data", "wire"), [
    (V5, rc.STDIN, b"ls\n", b"\x00ls\n"),
    (V5, rc.STDOUT, b"", b"\x01"),
    (V4, rc.STDERR, b"\xff\x00", b"\x02\xff\x00"),
    (V1_B64, rc.STDOUT, b"hi", "1aGk="),
    (V1_B64, rc.ERROR, b"", "3"),
], ids=["v5-stdin", "v5-empty-stdout", "v4-binary-stderr", "base64-stdout", "base64-empty-error"])
def test_encode_and_decode_are_inverse(protocol: rc.ChannelProtocol, channel: int, data: bytes,
                                       wire: bytes | str) -> None:
    assert protocol.encode(channel, data) == wire
    assert protocol.decode(wire) == (channel, data)


def test_an_empty_message_carries_nothing() -> None:
    assert V5.decode(b"") is None and V1_B64.decode("") is None


@pytest.mark.parametrize(("message", "wire"), [
    (V5.close_message(rc.STDIN), b"\xff\x00"),
    (V5.resize_message(width=80, height=24), b'\x04{"Width": 80, "Height": 24}'),
], ids=["v5-close-stdin", "resize-go-field-names"])
def test_control_messages(message: bytes | str, wire: bytes) -> None:
    assert message == wire


@pytest.mark.parametrize(("offered", "chosen"), [
    ([rc.V5, rc.V4], rc.V5),
    (["v9.channel.k8s.io", rc.V4], rc.V4),
    ([rc.V4_BASE64], rc.V4_BASE64),
    ([], ""),
], ids=["v5-first", "skips-unknown", "base64", "none-offered"])
def test_negotiate_picks_the_first_served(offered: list[str], chosen: str) -> None:
    assert rc.negotiate(offered).name == chosen


def test_negotiate_refuses_only_unknown_protocols() -> None:
    with pytest.raises(ApiError) as refused:
        rc.negotiate(["v9.channel.k8s.io"])
    assert refused.value.code == 400 and "v9.channel.k8s.io" in refused.value.message


@pytest.mark.parametrize(("status", "v5_wire", "v1_wire"), [
    (rc.exit_status(0, ["true"]), {"metadata": {}, "status": "Success"}, None),
    (rc.exit_status(3, ["sh", "-c", "exit 3"]),
     {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
      "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
      "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}},
     b"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3"),
], ids=["success", "exit-3"])
def test_status_on_the_error_channel(status: dict[str, Any], v5_wire: dict[str, Any], v1_wire: bytes | None) -> None:
    v5 = V5.status_message(status)
    assert isinstance(v5, bytes) and json.loads(v5[1:]) == v5_wire
    v1 = rc.PROTOCOLS[rc.V1].status_message(status)
    assert (v1[1:] if isinstance(v1, bytes) else v1) == v1_wire


@pytest.mark.parametrize(("wire", "code"), [
    (b"", 0),
    (b'{"metadata":{},"status":"Success"}', 0),
    (json.dumps(rc.exit_status(42, ["x"])).encode(), 42),
], ids=["nothing", "success", "exit-42"])
def test_exit_code_of(wire: bytes, code: int) -> None:
    assert rc.exit_code_of(wire) == code


def test_exit_code_of_an_internal_error_raises() -> None:
    with pytest.raises(ApiError) as failed:
        rc.exit_code_of(json.dumps(rc.error_status("runtime broke")).encode())
    assert failed.value.code == 500 and failed.value.message == "runtime broke"


@pytest.mark.parametrize(("data", "size"), [
    (b'{"Width":120,"Height":40}', (120, 40)),
    (b"not json", None),
    (b'{"width":1}', None),
], ids=["ok", "garbage", "wrong-keys"])
def test_parse_resize(data: bytes, size: tuple[int, int] | None) -> None:
    assert rc.parse_resize(data) == size


@pytest.mark.parametrize(("query", "exec_", "expected"), [
    ({"command": ["ls", "-l"], "stdout": ["true"], "stderr": ["True"]}, True,
     rc.StreamOptions(stdin=False, stdout=True, stderr=True, tty=False, container=None, command=("ls", "-l"))),
    ({"command": ["sh"], "stdin": ["1"], "stdout": ["1"], "stderr": ["1"], "tty": ["1"], "container": ["c"]}, True,
     rc.StreamOptions(stdin=True, stdout=True, stderr=False, tty=True, container="c", command=("sh",))),
    ({"stdout": ["true"], "stdin": ["false"]}, False,
     rc.StreamOptions(stdin=False, stdout=True, stderr=False, tty=False, container=None)),
], ids=["kubectl-exec", "tty-drops-stderr", "attach"])
def test_parse_stream_options(query: dict[str, list[str]], exec_: bool, expected: rc.StreamOptions) -> None:
    assert rc.parse_stream_options(query, exec_=exec_) == expected


@pytest.mark.parametrize(("query", "exec_", "message"), [
    ({"command": ["ls"]}, True, "you must specify at least 1 of stdin, stdout, stderr"),
    ({"stdout": ["0"], "stdin": ["false"], "command": ["ls"]}, True, "you must specify at least 1 of stdin"),
    ({"stdout": ["1"]}, True, "you must specify at least one command for the container"),
], ids=["no-streams", "all-false", "no-command"])
def test_bad_stream_options(query: dict[str, list[str]], exec_: bool, message: str) -> None:
    with pytest.raises(ApiError) as refused:
        rc.parse_stream_options(query, exec_=exec_)
    assert refused.value.code == 400 and refused.value.message.startswith(message)


def test_options_become_the_kubelet_query() -> None:
    options = rc.StreamOptions(stdin=True, stdout=True, stderr=False, tty=True, container="c", command=("a", "b"))
    assert options.query() == {"stdin": "1", "stdout": "1", "tty": "1", "command": ["a", "b"]}
