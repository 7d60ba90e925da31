"""Reading ``-f FILE|DIR|-`` into objects, refusing bad or hostile input early and clearly.

Files go through the shared safe YAML loader (size-limited, no aliases, no language tags), so a
"billion laughs" or ``!!python/object`` manifest fails in microseconds. Each object is checked
for what podctl needs before anything is sent (apiVersion, kind, a served type, a name), and
every error names the file, the document number and the field, e.g.
``web.yaml: document 2: metadata.name: Required value``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from apimachinery import resources as res
from apimachinery.resources import ResourceType
from apimachinery.yamlsafe import load_documents
from podctl.errors import PodctlError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Manifest:
    """One object from a manifest file, with where it came from."""

    source: str
    document: int
    obj: dict[str, Any]
    rt: ResourceType

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    def namespace(self, default: str) -> str | None:
        """The object's namespace, else the command's; None for cluster-scoped kinds."""
        if not self.rt.namespaced:
            return None
        return str(self.obj["metadata"].get("namespace") or default)


def manifest_files(paths: list[str], *, recursive: bool) -> list[str]:
    """Expand directories to their manifest files (sorted, like kubectl); ``-`` is stdin."""
    files: list[str] = []
    for given in paths:
        if given == "-":
            files.append(given)
            continue
        path = Path(given)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
            files.extend(str(p) for p in found)
        elif path.exists():
            files.append(given)
        else:
            raise PodctlError(f'the path "{given}" does not exist')
    return files


def read_manifests(paths: list[str], *, recursive: bool = False, stdin: TextIO | None = None) -> list[Manifest]:
    """Every object of every file, in order; raises on the first invalid document."""
    manifests: list[Manifest] = []
    for source in manifest_files(paths, recursive=recursive):
        text = (stdin or sys.stdin).read() if source == "-" else _read_file(source)
        label = "STDIN" if source == "-" else source
        for number, doc in enumerate(load_documents(text, source=label), start=1):
            manifests.extend(_objects(doc, label, number))
    if not manifests:
        raise PodctlError("no objects passed to apply" if paths else "must specify one of -f and -k")
    return manifests


def _read_file(source: str) -> bytes:
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise PodctlError(f"cannot read {source}: {exc.strerror or exc}") from None


def _objects(doc: dict[str, Any], source: str, number: int) -> list[Manifest]:
    """A document's objects: itself, or the items of a ``kind: List``."""
    if doc.get("kind") == "List" or str(doc.get("kind", "")).endswith("List") and "items" in doc:
        items = doc.get("items")
        if not isinstance(items, list):
            raise _field_error(source, number, "items", "must be a list of objects")
        out = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise _field_error(source, number, f"items[{index}]", "must be an object")
            out.append(validate_object(item, source=source, document=number, prefix=f"items[{index}]."))
        return out
    return [validate_object(doc, source=source, document=number)]


def _field_error(source: str, number: int, field: str, message: str) -> PodctlError:
    return PodctlError(f"error validating {source}: document {number}: {field}: {message}")


def validate_object(obj: dict[str, Any], *, source: str, document: int, prefix: str = "") -> Manifest:
    """Check what podctl relies on and find the object's resource type."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not api_version or not isinstance(api_version, str):
        raise _field_error(source, document, prefix + "apiVersion", "Required value")
    if not kind or not isinstance(kind, str):
        raise _field_error(source, document, prefix + "kind", "Required value")
    rt = res.by_kind(kind, api_version)
    if rt is None:
        known = res.by_kind(kind)
        hint = f' (did you mean apiVersion "{known.api_version}"?)' if known else ""
        raise _field_error(source, document, prefix + "kind",
                           f'no matches for kind "{kind}" in version "{api_version}"{hint}')
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        raise _field_error(source, document, prefix + "metadata", "Required value")
    name = metadata.get("name")
    if not name or not isinstance(name, str):
        raise _field_error(source, document, prefix + "metadata.name", "Required value")
    namespace = metadata.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise _field_error(source, document, prefix + "metadata.namespace", "must be a string")
    return Manifest(source=source, document=document, obj=obj, rt=rt)
