"""``podctl explain RESOURCE[.field.path]``: a kind's fields, read from the server's OpenAPI v3.

Like kubectl, podctl asks the server rather than its own models, so it explains what the server
it talks to accepts: the ``/openapi/v3`` index names the group/version document, whose
``components.schemas`` entry carrying the kind's ``x-kubernetes-group-version-kind`` is the root
that the field path walks down (through ``$ref``s and array items). The layout is kubectl's.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from apimachinery import resources as res
from apimachinery.resources import ResourceType
from podctl.errors import PodctlError
from podctl.session import Session

Schema = dict[str, Any]
REF_PREFIX = "#/components/schemas/"
INDENT = "    "


@dataclass(frozen=True)
class Target:
    """What ``explain`` was asked about: a resource type and a path of field names under it."""

    rt: ResourceType
    fields: tuple[str, ...]


def parse_target(text: str, api_version: str | None = None) -> Target:
    """``deploy.spec.template`` -> (deployments, ("spec", "template")); the longest known type wins.

    ``api_version`` (``--api-version``) picks the kind's version in another group/version.
    """
    parts = text.split(".")
    if not text or not all(parts):
        raise PodctlError(f'invalid resource or field path "{text}"')
    for cut in range(len(parts), 0, -1):
        rt = res.lookup(".".join(parts[:cut]))
        if rt is None:
            continue
        if api_version is not None and rt.api_version != api_version:
            rt = res.by_kind(rt.kind, api_version)
            if rt is None:
                raise PodctlError(f'couldn\'t find resource for "{api_version}, Kind={parts[0]}"')
        return Target(rt, tuple(parts[cut:]))
    raise PodctlError(f'the server doesn\'t have a resource type "{parts[0]}"')


# --- reading a document ------------------------------------------------------------------------


def find_kind(doc: Schema, rt: ResourceType) -> Schema:
    """The schema whose group-version-kind extension names ``rt``."""
    for schema in doc.get("components", {}).get("schemas", {}).values():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if (gvk.get("group"), gvk.get("version"), gvk.get("kind")) == (rt.group, rt.version, rt.kind):
                return dict(schema)
    raise PodctlError(f"couldn't find resource for \"{rt.api_version}, Kind={rt.kind}\" in the OpenAPI schema")


def resolve(doc: Schema, schema: Schema) -> Schema:
    """Follow a ``$ref`` (plain or in a one-element ``allOf``), keeping the referring description."""
    target = schema
    if "$ref" not in target and len(target.get("allOf", [])) == 1:
        target = {**target, **target["allOf"][0]}
    ref = target.get("$ref")
    if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
        return schema
    named = doc["components"]["schemas"].get(ref[len(REF_PREFIX):], {})
    merged = {**named, **{k: v for k, v in schema.items() if k not in ("$ref", "allOf")}}
    return merged | {"x-podctl-type": ref.rsplit(".", 1)[-1]}


def _element(doc: Schema, schema: Schema) -> Schema:
    """What a field path step descends into: an array's items, otherwise the schema itself."""
    schema = resolve(doc, schema)
    while schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        schema = resolve(doc, schema["items"])
    return schema


def type_name(doc: Schema, schema: Schema) -> str:
    """kubectl's type column: ``[]Container``, ``map[string]string``, ``Object``, ``integer``."""
    if schema.get("type") == "array":
        return "[]" + type_name(doc, schema.get("items", {}))
    ref = schema.get("$ref") or (schema.get("allOf") or [{}])[0].get("$ref")
    if isinstance(ref, str):
        return ref.rsplit(".", 1)[-1]
    if "x-podctl-type" in schema:
        return str(schema["x-podctl-type"])
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "map[string]" + type_name(doc, schema["additionalProperties"])
    if schema.get("type") in (None, "object"):
        return "Object"
    return str(schema["type"])


# --- printing ----------------------------------------------------------------------------------


def _paragraph(text: str | None, *, indent: str, empty: str) -> list[str]:
    if not text:
        return [indent + empty]
    lines: list[str] = []
    for block in text.splitlines():
        lines.extend(textwrap.wrap(block, width=80, initial_indent=indent, subsequent_indent=indent) or [""])
    return lines


def _field_lines(doc: Schema, schema: Schema, *, recursive: bool, depth: int, seen: tuple[str, ...]) -> list[str]:
    lines: list[str] = []
    required = set(schema.get("required", []))
    for name, prop in sorted(schema.get("properties", {}).items()):
        pad = "  " * (depth + 1)
        flag = " -required-" if name in required else ""
        lines.append(f"{pad}{name}\t<{type_name(doc, prop)}>{flag}")
        child = _element(doc, prop)
        kind = child.get("x-podctl-type", "")
        if recursive:
            if child.get("properties") and kind not in seen:
                lines.extend(_field_lines(doc, child, recursive=True, depth=depth + 1, seen=(*seen, kind)))
        else:
            lines.extend(_paragraph(prop.get("description") or child.get("description"),
                                    indent=pad + "  ", empty="<no description>"))
            lines.append("")
    return lines


def render(doc: Schema, target: Target, *, recursive: bool = False) -> str:
    """The whole explanation of ``target`` within ``doc`` (a group/version OpenAPI v3 document)."""
    root = find_kind(doc, target.rt)
    schema, field_schema = root, None
    for step in target.fields:
        properties = _element(doc, schema).get("properties", {})
        if step not in properties:
            raise PodctlError(f'field "{step}" does not exist')
        field_schema = properties[step]
        schema = field_schema
    out = [f"GROUP:      {target.rt.group}"] if target.rt.group else []
    out += [f"KIND:       {target.rt.kind}", f"VERSION:    {target.rt.version}", ""]
    if field_schema is not None:
        out += [f"FIELD: {target.fields[-1]} <{type_name(doc, field_schema)}>", "", ""]
    shown = _element(doc, schema)
    if field_schema is None:
        texts = [root.get("description")]
    else:
        own_type = _element(doc, {k: v for k, v in schema.items() if k != "description"})
        texts = [field_schema.get("description"), own_type.get("description")]
    description = "\n".join(dict.fromkeys(t for t in texts if t))  # the field's, then its type's
    out += ["DESCRIPTION:", *_paragraph(description, indent=INDENT, empty="<empty>")]
    if shown.get("properties"):
        out += ["", "FIELDS:", *_field_lines(doc, shown, recursive=recursive, depth=0,
                                         seen=(shown.get("x-podctl-type", target.rt.kind),))]
    return "\n".join(out).rstrip("\n") + "\n"


async def fetch_document(session: Session, rt: ResourceType) -> Schema:
    """The OpenAPI v3 document of ``rt``'s group/version, by the URL the index gives."""
    index = await session.client.request("GET", "/openapi/v3")
    key = f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"
    entry = index.get("paths", {}).get(key) if isinstance(index, dict) else None
    if not entry:
        raise PodctlError(f"the server publishes no OpenAPI v3 document for {rt.api_version}")
    path, _, query = str(entry["serverRelativeURL"]).partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    doc: Schema = await session.client.request("GET", path, params=params)
    return doc


async def explain(session: Session, text: str, *, recursive: bool, api_version: str | None = None) -> int:
    target = parse_target(text, api_version)
    doc = await fetch_document(session, target.rt)
    session.output.write(render(doc, target, recursive=recursive))
    return 0
