"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``).

``kubectl create deployment|namespace|configmap|secret|service`` send their object as protobuf
and do not fall back to JSON when refused, so the apiserver decodes them into the same JSON-wire
dict a JSON client would have sent. The body is the magic ``k8s\\x00`` followed by a
``runtime.Unknown`` message: ``typeMeta {apiVersion, kind}``, ``raw`` (the object's own message),
``contentEncoding`` and ``contentType``.

The wire decoder is a few functions over varints and length-delimited fields, driven by the
declarative tables in :mod:`apiserver.protobuf_messages` (no generated code, no dependency).
Unknown fields are skipped, as every protobuf reader does, so a newer kubectl still works.
Anything malformed raises :class:`ProtobufError`, which becomes a 400 Status, never a 500.

Responses stay JSON even when a client's Accept prefers protobuf: kubectl and client-go accept
JSON whenever it is in their Accept list, which it always is.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from apimachinery.errors import ApiError, bad_request
from apiserver.protobuf_messages import ANY_VERSION, MESSAGES, TOP_LEVEL, Field, Kind

MAGIC = b"k8s\x00"
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
MAX_VARINT_BYTES = 10


class ProtobufError(ValueError):
    """The body is not well-formed protobuf for the message it claims to be."""


def decode_protobuf(raw: bytes) -> dict[str, Any]:
    """Decode a ``k8s\\x00`` + ``runtime.Unknown`` body into a JSON-wire object dict."""
    if not raw.startswith(MAGIC):
        raise bad_request("the protobuf body does not start with the Kubernetes magic prefix k8s\\x00")
    try:
        envelope = decode_envelope(raw[len(MAGIC):])
        api_version, kind = envelope["apiVersion"], envelope["kind"]
        top = TOP_LEVEL.get((api_version, kind)) or ANY_VERSION.get(kind)
        if top is None:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the server cannot decode {kind or 'an object without kind'} ({api_version or 'no apiVersion'}) "
                "from protobuf; send it as application/json",
            )
        obj = decode_message(envelope["raw"], top)
    except ProtobufError as err:
        raise bad_request(f"the protobuf body could not be decoded: {err}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}


def decode_envelope(data: bytes) -> dict[str, Any]:
    """Read the ``runtime.Unknown`` wrapper: type, the object's bytes and their encoding."""
    envelope: dict[str, Any] = {"apiVersion": "", "kind": "", "raw": b""}
    encoding = content_type = ""
    for number, wire, value in iter_fields(data):
        if number == 1:
            for inner, inner_wire, inner_value in iter_fields(_bytes(value, wire, "typeMeta")):
                if inner in (1, 2):
                    envelope["apiVersion" if inner == 1 else "kind"] = _text(inner_value, inner_wire, "typeMeta")
        elif number == 2:
            envelope["raw"] = _bytes(value, wire, "raw")
        elif number == 3:
            encoding = _text(value, wire, "contentEncoding")
        elif number == 4:
            content_type = _text(value, wire, "contentType")
    if encoding:
        raise ProtobufError(f"contentEncoding {encoding!r} is not supported")
    if content_type not in ("", "application/vnd.kubernetes.protobuf"):
        raise ProtobufError(f"contentType {content_type!r} of the raw object is not protobuf")
    return envelope


def decode_message(data: bytes, name: str) -> dict[str, Any]:
    """Decode one message by its field table; JSON omits zero scalars as Go's omitempty does."""
    table = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, wire, value in iter_fields(data):
        field = table.get(number)
        if field is None:
            continue  # a field this server does not model: skip it, as protobuf readers do
        if field.kind is Kind.INLINE:
            out.update(decode_message(_bytes(value, wire, name), field.message))
        elif field.kind is Kind.MAP:
            key, item = _map_entry(_bytes(value, wire, field.name), field)
            out.setdefault(field.name, {})[key] = item
        elif field.repeated:
            out.setdefault(field.name, []).extend(_repeated(value, wire, field))
        else:
            item = _single(value, wire, field)
            if item is _OMIT or (_is_zero(item) and not field.pointer):
                out.pop(field.name, None)  # Go writes every non-pointer field; zero means unset
            else:
                out[field.name] = item
    return out


_OMIT = object()


def _is_zero(value: Any) -> bool:
    return not isinstance(value, (dict, list)) and value in ("", 0, False)


def _single(value: int | bytes, wire: int, field: Field) -> Any:
    match field.kind:
        case Kind.STRING:
            return _text(value, wire, field.name)
        case Kind.BYTES:
            return base64.b64encode(_bytes(value, wire, field.name)).decode()
        case Kind.INT:
            return _int(value, wire, field.name)
        case Kind.BOOL:
            return _int(value, wire, field.name) != 0
        case Kind.MESSAGE:
            return decode_message(_bytes(value, wire, field.name), field.message)
        case Kind.TIME:
            return _time(_bytes(value, wire, field.name))
        case Kind.QUANTITY:
            return _quantity(_bytes(value, wire, field.name))
        case Kind.INT_OR_STRING:
            return _int_or_string(_bytes(value, wire, field.name), pointer=field.pointer)
    raise ProtobufError(f"field {field.name} has an unsupported kind {field.kind}")  # pragma: no cover


def _repeated(value: int | bytes, wire: int, field: Field) -> list[Any]:
    """One element, or for a packed repeated number several in one length-delimited run."""
    if field.kind in (Kind.INT, Kind.BOOL) and wire == LENGTH:
        assert isinstance(value, bytes)
        numbers, pos = [], 0
        while pos < len(value):
            number, pos = read_varint(value, pos)
            numbers.append(_signed(number))
        return numbers if field.kind is Kind.INT else [n != 0 for n in numbers]
    item = _single(value, wire, field)
    return [] if item is _OMIT else [item]


def _map_entry(data: bytes, field: Field) -> tuple[str, Any]:
    key = ""
    item: str | bytes = "" if field.value is Kind.STRING else b""
    for number, wire, value in iter_fields(data):
        if number == 1:
            key = _text(value, wire, f"{field.name} key")
        elif number == 2:
            if field.value is Kind.STRING:
                item = _text(value, wire, f"{field.name}[{key}]")
            else:
                item = _bytes(value, wire, f"{field.name}[{key}]")
    if field.value is Kind.BYTES:
        return key, base64.b64encode(item if isinstance(item, bytes) else b"").decode()
    if field.value is Kind.QUANTITY:
        return key, _quantity(item if isinstance(item, bytes) else b"")
    return key, item


def _time(data: bytes) -> Any:
    """meta.v1.Time: an empty message is the zero time, which JSON writes as null (omitted)."""
    if not data:
        return _OMIT
    seconds = nanos = 0
    for number, wire, value in iter_fields(data):
        if number == 1:
            seconds = _int(value, wire, "seconds")
        elif number == 2:
            nanos = _int(value, wire, "nanos")
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError(f"timestamp {seconds}.{nanos} is out of range") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _quantity(data: bytes) -> str:
    text = ""
    for number, wire, value in iter_fields(data):
        if number == 1:
            text = _text(value, wire, "quantity")
    return text


def _int_or_string(data: bytes, *, pointer: bool) -> Any:
    """intstr.IntOrString {type, intVal, strVal}; a zero value is "unset" unless a pointer."""
    kind, number, text = 0, 0, ""
    for field_number, wire, value in iter_fields(data):
        if field_number == 1:
            kind = _int(value, wire, "type")
        elif field_number == 2:
            number = _int(value, wire, "intVal")
        elif field_number == 3:
            text = _text(value, wire, "strVal")
    result: int | str = text if kind == 1 else number
    return result if (result not in (0, "") or pointer) else _OMIT


# -- the wire format ---------------------------------------------------------------------------


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    for _ in range(MAX_VARINT_BYTES):
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    raise ProtobufError("varint longer than 10 bytes")


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value): an int for numbers, bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        value: int | bytes
        if wire == VARINT:
            value, pos = read_varint(data, pos)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if pos + size > len(data):
                raise ProtobufError("truncated fixed-width field")
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        elif wire == LENGTH:
            length, pos = read_varint(data, pos)
            if length > len(data) - pos:
                raise ProtobufError(f"field {number} claims {length} bytes, {len(data) - pos} remain")
            value, pos = bytes(data[pos:pos + length]), pos + length
        else:
            raise ProtobufError(f"unsupported wire type {wire} (field {number})")
        yield number, wire, value


def _signed(number: int) -> int:
    """int32/int64 are two's complement in 64 bits on the wire (-1 is ten bytes of 0xff...)."""
    return number - (1 << 64) if number >= 1 << 63 else number


def _int(value: int | bytes, wire: int, name: str) -> int:
    if wire != VARINT or not isinstance(value, int):
        raise ProtobufError(f"{name}: expected a varint, got wire type {wire}")
    return _signed(value)


def _bytes(value: int | bytes, wire: int, name: str) -> bytes:
    if wire != LENGTH or not isinstance(value, bytes):
        raise ProtobufError(f"{name}: expected a length-delimited field, got wire type {wire}")
    return value


def _text(value: int | bytes, wire: int, name: str) -> str:
    try:
        return _bytes(value, wire, name).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError(f"{name}: string is not valid UTF-8") from None
