"""Docker's multiplexed exec/attach framing, split without a daemon."""

from __future__ import annotations

import struct

import pytest

from kubelet.runtime.streams import STDERR, STDOUT, EchoStream, FrameDemuxer, drain


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


@pytest.mark.parametrize(("chunks", "pieces"), [
    ([frame(1, b"out") + frame(2, b"err")], [(STDOUT, b"out"), (STDERR, b"err")]),
    ([frame(1, b"split")[:3], frame(1, b"split")[3:10], frame(1, b"split")[10:]], [(STDOUT, b"split")]),
    ([frame(1, b"")], []),
    ([frame(0, b"stdin-echo")], [(STDOUT, b"stdin-echo")]),
], ids=["two-frames", "split-anywhere", "empty-frame", "stream-0-as-stdout"])
def test_demuxer(chunks: list[bytes], pieces: list[tuple[int, bytes]]) -> None:
    demux = FrameDemuxer()
    got = [piece for chunk in chunks for piece in demux.feed(chunk)]
    assert got == pieces


def test_echo_stream_returns_stdin_until_closed() -> None:
    stream = EchoStream()
    stream.write(b"a")
    stream.write(b"b")
    stream.close_stdin()
    assert list(drain(stream)) == [(STDOUT, b"a"), (STDOUT, b"b")] and stream.exit_code() == 0
