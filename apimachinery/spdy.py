"""SPDY/3.1 framing: the frames kubectl's port-forward speaks, encoded and decoded without I/O.

kubectl 1.37 forwards ports over SPDY/3.1 streams, carried either inside WebSocket binary
messages (subprotocol ``SPDY/3.1+portforward.k8s.io``) or over a raw HTTP upgrade. No maintained
Python SPDY library exists, so this module implements the part of the protocol
(draft-mbelshe-httpbis-spdy-00, version 3) that moby/spdystream, kubectl's implementation, uses:
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE and DATA.

Layout: a control frame is ``1 | version(15) | type(16) | flags(8) | length(24) | payload``, a
data frame ``0 | stream id(31) | flags(8) | length(24) | data``. Header blocks are
``count(32)`` then ``len(32) name len(32) value`` pairs, compressed with one zlib stream per
direction for the whole connection, primed with SPDY/3's dictionary and sync-flushed after each
block: the compressor and decompressor are therefore per-connection objects, never per frame.

Flow control (WINDOW_UPDATE) is parsed and may be sent, but spdystream neither sends nor
enforces windows, so a peer of kubectl need not either.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum

VERSION = 3

#: largest payload a frame can carry (24-bit length)
MAX_LENGTH = 0xFFFFFF

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02  # SYN_STREAM only
FLAG_SETTINGS_CLEAR = 0x01  # SETTINGS only


class FrameType(IntEnum):
    SYN_STREAM = 1
    SYN_REPLY = 2
    RST_STREAM = 3
    SETTINGS = 4
    PING = 6
    GOAWAY = 7
    HEADERS = 8
    WINDOW_UPDATE = 9


class RstStatus(IntEnum):
    PROTOCOL_ERROR = 1
    INVALID_STREAM = 2
    REFUSED_STREAM = 3
    UNSUPPORTED_VERSION = 4
    CANCEL = 5
    INTERNAL_ERROR = 6
    FLOW_CONTROL_ERROR = 7
    STREAM_IN_USE = 8
    STREAM_ALREADY_CLOSED = 9
    FRAME_TOO_LARGE = 11


class GoAwayStatus(IntEnum):
    OK = 0
    PROTOCOL_ERROR = 1
    INTERNAL_ERROR = 2


class SpdyError(Exception):
    """A frame that does not follow SPDY/3: the session must end (GOAWAY PROTOCOL_ERROR)."""


def _dictionary() -> bytes:
    """SPDY/3's zlib dictionary (section 2.6.10.1): length-prefixed words, then plain text."""
    words = (  # noqa: SIM905 - the spec lists them as text
        "options head post put delete trace accept accept-charset accept-encoding accept-language "
        "accept-ranges age allow authorization cache-control connection content-base content-encoding "
        "content-language content-length content-location content-md5 content-range content-type date "
        "etag expect expires from host if-match if-modified-since if-none-match if-range "
        "if-unmodified-since last-modified location max-forwards pragma proxy-authenticate "
        "proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
        "user-agent vary via warning www-authenticate method get status"
    ).split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    prefixed = b"".join(struct.pack(">I", len(w)) + w.encode() for w in words)
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
        "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
        "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    )
    return prefixed + tail.encode()


DICTIONARY = _dictionary()

Headers = dict[str, list[str]]


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers
    flags: int = 0
    associated_id: int = 0
    priority: int = 0


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Settings:
    entries: tuple[tuple[int, int, int], ...] = ()  # (flags, id, value)
    flags: int = 0


@dataclass(frozen=True)
class Ping:
    ping_id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: int = GoAwayStatus.OK


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers
    flags: int = 0


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int
    delta: int


@dataclass(frozen=True)
class Data:
    stream_id: int
    data: bytes
    flags: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


Frame = SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate | Data


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block; names lowercased, a header's values joined by NUL."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        key, value = name.lower().encode(), "\0".join(values).encode()
        out.append(struct.pack(">I", len(key)) + key + struct.pack(">I", len(value)) + value)
    return b"".join(out)


def decode_header_block(block: bytes) -> Headers:
    try:
        (count,) = struct.unpack_from(">I", block, 0)
        offset, headers = 4, {}
        for _ in range(count):
            (size,) = struct.unpack_from(">I", block, offset)
            name = block[offset + 4: offset + 4 + size].decode()
            offset += 4 + size
            (size,) = struct.unpack_from(">I", block, offset)
            value = block[offset + 4: offset + 4 + size].decode()
            offset += 4 + size
            if offset > len(block) or not name:
                raise SpdyError("truncated header block")
            headers[name] = value.split("\0")
    except (struct.error, UnicodeDecodeError) as err:
        raise SpdyError(f"malformed header block: {err}") from err
    return headers


class HeaderCompressor:
    """One direction's zlib stream: every header block this side sends goes through it, in order."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY,
                                   zdict=DICTIONARY)

    def compress(self, headers: Headers) -> bytes:
        return self._z.compress(encode_header_block(headers)) + self._z.flush(zlib.Z_SYNC_FLUSH)


#: the most one frame's header block may inflate to: a few KiB compress to a block that would
#: otherwise expand a thousandfold in the server's memory
MAX_HEADER_BLOCK = 64 * 1024


class HeaderDecompressor:
    def __init__(self) -> None:
        self._z = zlib.decompressobj(zdict=DICTIONARY)

    def decompress(self, data: bytes) -> Headers:
        try:
            block = self._z.decompress(data, MAX_HEADER_BLOCK)
        except zlib.error as err:
            raise SpdyError(f"bad header compression: {err}") from err
        if self._z.unconsumed_tail:
            raise SpdyError(f"a header block inflates past {MAX_HEADER_BLOCK} bytes")
        return decode_header_block(block)


def _control(kind: FrameType, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_LENGTH:
        raise SpdyError("frame too large")
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


class Encoder:
    """Frames to bytes, with this side's header compression state."""

    def __init__(self) -> None:
        self.headers = HeaderCompressor()

    def encode(self, frame: Frame) -> bytes:  # noqa: PLR0911 - one branch per frame type
        match frame:
            case Data(stream_id, data, flags):
                if len(data) > MAX_LENGTH:
                    raise SpdyError("frame too large")
                return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data
            case SynStream(stream_id, headers, flags, associated_id, priority):
                fixed = struct.pack(">IIBB", stream_id & 0x7FFFFFFF, associated_id & 0x7FFFFFFF, (priority & 7) << 5, 0)
                return _control(FrameType.SYN_STREAM, flags, fixed + self.headers.compress(headers))
            case SynReply(stream_id, headers, flags):
                block = struct.pack(">I", stream_id & 0x7FFFFFFF) + self.headers.compress(headers)
                return _control(FrameType.SYN_REPLY, flags, block)
            case HeadersFrame(stream_id, headers, flags):
                block = struct.pack(">I", stream_id & 0x7FFFFFFF) + self.headers.compress(headers)
                return _control(FrameType.HEADERS, flags, block)
            case RstStream(stream_id, status):
                return _control(FrameType.RST_STREAM, 0, struct.pack(">II", stream_id & 0x7FFFFFFF, status))
            case Settings(entries, flags):
                body = struct.pack(">I", len(entries)) + b"".join(
                    struct.pack(">II", (f << 24) | (i & 0xFFFFFF), v) for f, i, v in entries)
                return _control(FrameType.SETTINGS, flags, body)
            case Ping(ping_id):
                return _control(FrameType.PING, 0, struct.pack(">I", ping_id))
            case GoAway(last, status):
                return _control(FrameType.GOAWAY, 0, struct.pack(">II", last & 0x7FFFFFFF, status))
            case WindowUpdate(stream_id, delta):
                return _control(FrameType.WINDOW_UPDATE, 0, struct.pack(">II", stream_id & 0x7FFFFFFF, delta & 0x7FFFFFFF))
        raise TypeError(f"not a SPDY frame: {frame!r}")


class Decoder:
    """Bytes (in any chunks) to frames, with the peer's header compression state.

    ``feed`` returns the frames completed so far; a partial frame waits for more bytes. Control
    frames of unknown types are skipped, as the spec asks; a version other than 3 is an error.
    """

    def __init__(self) -> None:
        self.headers = HeaderDecompressor()
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            word, flags_length = struct.unpack_from(">II", self._buffer, 0)
            length = flags_length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8: 8 + length])
            del self._buffer[: 8 + length]
            frame = self._frame(word, flags_length >> 24, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    def _frame(self, word: int, flags: int, payload: bytes) -> Frame | None:
        if not word & 0x80000000:
            return Data(word & 0x7FFFFFFF, payload, flags)
        version, kind = (word >> 16) & 0x7FFF, word & 0xFFFF
        if version != VERSION:
            raise SpdyError(f"unsupported SPDY version {version}")
        try:
            return self._control(kind, flags, payload)
        except struct.error as err:
            raise SpdyError(f"short control frame of type {kind}") from err

    def _control(self, kind: int, flags: int, payload: bytes) -> Frame | None:  # noqa: PLR0911
        match kind:
            case FrameType.SYN_STREAM:
                stream_id, associated, priority = struct.unpack_from(">IIB", payload, 0)
                return SynStream(stream_id & 0x7FFFFFFF, self.headers.decompress(payload[10:]), flags,
                                 associated & 0x7FFFFFFF, priority >> 5)
            case FrameType.SYN_REPLY:
                (stream_id,) = struct.unpack_from(">I", payload, 0)
                return SynReply(stream_id & 0x7FFFFFFF, self.headers.decompress(payload[4:]), flags)
            case FrameType.HEADERS:
                (stream_id,) = struct.unpack_from(">I", payload, 0)
                return HeadersFrame(stream_id & 0x7FFFFFFF, self.headers.decompress(payload[4:]), flags)
            case FrameType.RST_STREAM:
                stream_id, status = struct.unpack_from(">II", payload, 0)
                return RstStream(stream_id & 0x7FFFFFFF, status)
            case FrameType.SETTINGS:
                (count,) = struct.unpack_from(">I", payload, 0)
                entries = []
                for index in range(count):
                    key, value = struct.unpack_from(">II", payload, 4 + 8 * index)
                    entries.append((key >> 24, key & 0xFFFFFF, value))
                return Settings(tuple(entries), flags)
            case FrameType.PING:
                return Ping(struct.unpack_from(">I", payload, 0)[0])
            case FrameType.GOAWAY:
                last, status = struct.unpack_from(">II", payload, 0) if len(payload) >= 8 else (
                    struct.unpack_from(">I", payload, 0)[0], 0)
                return GoAway(last & 0x7FFFFFFF, status)
            case FrameType.WINDOW_UPDATE:
                stream_id, delta = struct.unpack_from(">II", payload, 0)
                return WindowUpdate(stream_id & 0x7FFFFFFF, delta & 0x7FFFFFFF)
        return None
