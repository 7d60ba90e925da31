"""``podctl config ...``, ``podctl version`` and ``podctl api-resources``.

``config view`` redacts credentials the way kubectl does (``DATA+OMITTED``, ``REDACTED``)
unless ``--raw``: the output ends up in terminals, screenshots and bug reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apimachinery.kubeconfig import list_contexts, resolve_path, set_current_context
from apimachinery.yamlsafe import load_documents
from podctl import __version__
from podctl.errors import PodctlError
from podctl.printing import render, to_yaml
from podctl.session import Output, Session

_DATA_FIELDS = ("certificate-authority-data", "client-certificate-data", "client-key-data")
_SECRET_FIELDS = ("token", "password")


def read_config(path: Path | None) -> dict[str, Any]:
    resolved = resolve_path(path)
    documents = load_documents(resolved.read_bytes(), source=str(resolved))
    return documents[0] if documents else {}


def redacted(config: dict[str, Any]) -> dict[str, Any]:
    """A copy with certificate data and secrets replaced by kubectl's placeholders."""
    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key in _DATA_FIELDS and item:
                    out[key] = "DATA+OMITTED"
                elif key in _SECRET_FIELDS and item:
                    out[key] = "REDACTED"
                else:
                    out[key] = scrub(item)
            return out
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    result: dict[str, Any] = scrub(config)
    return result


def minified(config: dict[str, Any], context: str | None) -> dict[str, Any]:
    """Only the current (or given) context and the cluster and user it names."""
    name = context or config.get("current-context")
    ctx = next((c for c in config.get("contexts") or [] if c.get("name") == name), None)
    if ctx is None:
        raise PodctlError(f'current-context must exist in order to minify (context "{name}" not found)')
    body = ctx.get("context") or {}
    return {**config, "current-context": name, "contexts": [ctx],
            "clusters": [c for c in config.get("clusters") or [] if c.get("name") == body.get("cluster")],
            "users": [u for u in config.get("users") or [] if u.get("name") == body.get("user")]}


def view(output: Output, path: Path | None, *, raw: bool, minify: bool, context: str | None) -> int:
    config = read_config(path)
    if minify:
        config = minified(config, context)
    output.write(to_yaml(config if raw else redacted(config)))
    return 0


def current_context(output: Output, path: Path | None) -> int:
    name = read_config(path).get("current-context")
    if not name:
        raise PodctlError("current-context is not set")
    output.line(str(name))
    return 0


def use_context(output: Output, path: Path | None, name: str) -> int:
    set_current_context(path, name)
    output.line(f'Switched to context "{name}".')
    return 0


def get_contexts(output: Output, path: Path | None) -> int:
    rows = [["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]]
    rows += [["*" if c.current else "", c.name, c.cluster, c.user, c.namespace] for c in list_contexts(path)]
    for line in render(rows):
        output.line(line)
    return 0


async def version(session: Session) -> int:
    session.output.line(f"Client Version: v{__version__}")
    info = await session.client.request("GET", "/version")
    session.output.line(f"Server Version: {info.get('gitVersion', 'unknown') if isinstance(info, dict) else info}")
    return 0


async def discovery_rows(session: Session) -> list[list[str]]:
    """NAME SHORTNAMES APIVERSION NAMESPACED KIND for every served top-level resource."""
    group_versions = ["v1"] if "v1" in ((await session.client.request("GET", "/api")).get("versions") or []) else []
    groups = (await session.client.request("GET", "/apis")).get("groups") or []
    group_versions += [g["preferredVersion"]["groupVersion"] for g in groups if g.get("preferredVersion")]
    rows: list[list[str]] = []
    for gv in group_versions:
        path = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        for resource in (await session.client.request("GET", path)).get("resources") or []:
            if "/" in resource.get("name", ""):
                continue
            rows.append([resource["name"], ",".join(resource.get("shortNames") or []), gv,
                         "true" if resource.get("namespaced") else "false", resource.get("kind", "")])
    return sorted(rows, key=lambda r: (r[2].partition("/")[0] if "/" in r[2] else "", r[0]))


async def api_resources(session: Session) -> int:
    for line in render([["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], *await discovery_rows(session)]):
        session.output.line(line)
    return 0
