"""SPDY/3.1 framing: every frame kubectl's port-forward exchanges, byte layouts and round trips."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

from apimachinery import spdy

FRAMES = [
    pytest.param(spdy.SynStream(1, {"streamtype": ["error"], "port": ["80"], "requestid": ["0"]}), id="syn-stream"),
    pytest.param(spdy.SynStream(3, {"a": ["1", "2"]}, spdy.FLAG_FIN | spdy.FLAG_UNIDIRECTIONAL, 1, 7),
                 id="syn-stream-flags-priority-multivalue"),
    pytest.param(spdy.SynReply(1, {}), id="syn-reply-empty"),
    pytest.param(spdy.SynReply(5, {"status": ["200"]}, spdy.FLAG_FIN), id="syn-reply-fin"),
    pytest.param(spdy.HeadersFrame(7, {"x": ["y"]}), id="headers"),
    pytest.param(spdy.RstStream(9, spdy.RstStatus.CANCEL), id="rst-stream"),
    pytest.param(spdy.Settings(((0, 7, 65536), (1, 4, 100))), id="settings"),
    pytest.param(spdy.Settings((), spdy.FLAG_SETTINGS_CLEAR), id="settings-clear"),
    pytest.param(spdy.Ping(2), id="ping"),
    pytest.param(spdy.GoAway(11, spdy.GoAwayStatus.PROTOCOL_ERROR), id="goaway"),
    pytest.param(spdy.WindowUpdate(1, 65536), id="window-update"),
    pytest.param(spdy.Data(1, b"hello"), id="data"),
    pytest.param(spdy.Data(3, b"", spdy.FLAG_FIN), id="data-fin-empty"),
    pytest.param(spdy.Data(0x7FFFFFFF, bytes(range(256)) * 64), id="data-max-stream-id"),
]


@pytest.mark.parametrize("frame", FRAMES)
def test_a_frame_decodes_to_itself(frame: spdy.Frame) -> None:
    assert spdy.Decoder().feed(spdy.Encoder().encode(frame)) == [frame]


def test_header_compression_is_one_stream_per_direction() -> None:
    encoder, decoder = spdy.Encoder(), spdy.Decoder()
    frames = [spdy.SynStream(i, {"streamtype": ["data"], "port": [str(i)]}) for i in (1, 3, 5)]
    wire = b"".join(encoder.encode(f) for f in frames)
    assert decoder.feed(wire) == frames
    # a second block reuses the first one's history: a fresh decompressor cannot read it alone
    second = spdy.Encoder()
    second.encode(frames[0])
    with pytest.raises(spdy.SpdyError):
        spdy.Decoder().feed(second.encode(frames[1]))


@pytest.mark.parametrize("chunk", [1, 3, 8, 1000], ids=lambda n: f"chunks-of-{n}")
def test_frames_split_anywhere_are_reassembled(chunk: int) -> None:
    encoder, decoder = spdy.Encoder(), spdy.Decoder()
    frames = [spdy.SynStream(1, {"port": ["80"]}), spdy.Data(1, b"x" * 100), spdy.Ping(1), spdy.Data(1, b"", 1)]
    wire = b"".join(encoder.encode(f) for f in frames)
    got: list[spdy.Frame] = []
    for i in range(0, len(wire), chunk):
        got += decoder.feed(wire[i:i + chunk])
    assert got == frames


@pytest.mark.parametrize(("frame", "header"), [
    pytest.param(spdy.Ping(7), b"\x80\x03\x00\x06\x00\x00\x00\x04", id="ping"),
    pytest.param(spdy.RstStream(1, 5), b"\x80\x03\x00\x03\x00\x00\x00\x08", id="rst"),
    pytest.param(spdy.Data(1, b"ab", spdy.FLAG_FIN), b"\x00\x00\x00\x01\x01\x00\x00\x02", id="data-fin"),
    pytest.param(spdy.GoAway(3), b"\x80\x03\x00\x07\x00\x00\x00\x08", id="goaway"),
    pytest.param(spdy.WindowUpdate(1, 10), b"\x80\x03\x00\x09\x00\x00\x00\x08", id="window-update"),
])
def test_frame_header_layout(frame: spdy.Frame, header: bytes) -> None:
    assert spdy.Encoder().encode(frame)[:8] == header


def test_syn_stream_layout_and_header_block() -> None:
    wire = spdy.Encoder().encode(spdy.SynStream(1, {"Port": ["80"]}, spdy.FLAG_FIN, 0, 3))
    assert wire[:4] == b"\x80\x03\x00\x01" and wire[4] == spdy.FLAG_FIN
    assert wire[8:16] == b"\x00\x00\x00\x01\x00\x00\x00\x00" and wire[16] == 3 << 5
    block = zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(wire[18:])
    assert block == struct.pack(">I", 1) + struct.pack(">I", 4) + b"port" + struct.pack(">I", 2) + b"80"


def test_the_dictionary_is_spdy3s() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == (
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02")


@pytest.mark.parametrize("wire", [
    pytest.param(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", id="spdy2"),
    pytest.param(b"\x80\x03\x00\x06\x00\x00\x00\x02\x00\x00", id="short-ping"),
    pytest.param(b"\x80\x03\x00\x01\x00\x00\x00\x0c" + b"\x00" * 10 + b"zz", id="bad-zlib"),
])
def test_malformed_frames_are_protocol_errors(wire: bytes) -> None:
    with pytest.raises(spdy.SpdyError):
        spdy.Decoder().feed(wire)


def test_unknown_control_frames_are_skipped() -> None:
    wire = b"\x80\x03\x00\x05\x00\x00\x00\x00" + spdy.Encoder().encode(spdy.Ping(1))
    assert spdy.Decoder().feed(wire) == [spdy.Ping(1)]


def test_a_header_block_that_inflates_past_the_limit_is_a_protocol_error() -> None:
    bomb = spdy.HeaderCompressor().compress({"x": ["a" * (spdy.MAX_HEADER_BLOCK * 4)]})
    assert len(bomb) < spdy.MAX_HEADER_BLOCK // 8  # small on the wire, large once inflated
    with pytest.raises(spdy.SpdyError, match="inflates past"):
        spdy.HeaderDecompressor().decompress(bomb)
