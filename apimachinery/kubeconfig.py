"""kubectl's kubeconfig file: written by ``podvisor`` at startup, read by podctl and the clients.

The file is the same one kubectl reads, so ``kubectl --kubeconfig ~/.podvisor/admin.kubeconfig``
works against podvisor unchanged. Only the parts podvisor uses are interpreted (server, CA,
``insecure-skip-tls-verify``, bearer token or token file, namespace); everything else in an
existing file is preserved when podvisor updates it, so writing into ``~/.kube/config`` adds
podvisor's entries beside the user's clusters instead of replacing them.

The file holds a bearer token, so it is written with mode 0600, atomically (a temporary file in
the same directory, then a rename) so a reader never sees half a file.

Which file: an explicit path, else the first existing entry of ``$KUBECONFIG``, else
``~/.podvisor/admin.kubeconfig``, else ``~/.kube/config``.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from apimachinery.yamlsafe import ManifestError, load_documents

DEFAULT_NAMESPACE = "default"


class KubeconfigError(Exception):
    """The kubeconfig is missing, unreadable or does not define what was asked for."""


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs to reach the API server as one user."""

    server: str
    token: str
    ca_data: bytes | None
    insecure: bool
    namespace: str
    context_name: str


@dataclass(frozen=True)
class ContextInfo:
    """One row of ``podctl config get-contexts``."""

    name: str
    cluster: str
    user: str
    namespace: str
    current: bool


def default_paths() -> list[Path]:
    """Where a kubeconfig is looked for, in order, when no path is given."""
    from_env = [Path(entry).expanduser() for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep) if entry]
    home = Path.home()
    return [*from_env, home / ".podvisor" / "admin.kubeconfig", home / ".kube" / "config"]


def resolve_path(path: Path | None = None) -> Path:
    """The kubeconfig file to use; raises :class:`KubeconfigError` when none exists."""
    if path is not None:
        return Path(path).expanduser()
    candidates = default_paths()
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise KubeconfigError(
        "no kubeconfig found; looked in " + ", ".join(str(c) for c in candidates)
        + " (start podvisor, or pass --kubeconfig)"
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {exc.strerror or exc}") from None
    try:
        documents = load_documents(text, source=str(path))
    except ManifestError as exc:
        raise KubeconfigError(f"invalid kubeconfig: {exc}") from None
    if len(documents) > 1:
        raise KubeconfigError(f"invalid kubeconfig {path}: expected one document, found {len(documents)}")
    return documents[0] if documents else {}


def _write(path: Path, config: dict[str, Any]) -> None:
    """Write atomically with mode 0600 (the file carries credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _named(entries: Any, name: str, *, field: str) -> dict[str, Any] | None:
    """The ``field`` body of the entry called ``name`` in a kubeconfig list."""
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(field)
            return body if isinstance(body, dict) else {}
    return None


def _upsert(entries: Any, name: str, *, field: str, body: dict[str, Any]) -> list[Any]:
    kept = [e for e in entries or [] if not (isinstance(e, dict) and e.get("name") == name)]
    return [*kept, {"name": name, field: body}]


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    token: str,
    ca_pem: bytes | None,
    cluster: str = "podvisor",
    user: str = "admin",
    context: str = "podvisor",
    insecure: bool = False,
    namespace: str = DEFAULT_NAMESPACE,
) -> None:
    """Add or replace podvisor's cluster, user and context in ``path`` and make it current."""
    config = _read(path) if path.exists() else {}
    cluster_body: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster_body["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    if insecure:
        cluster_body["insecure-skip-tls-verify"] = True
    config.update(
        apiVersion="v1",
        kind="Config",
        clusters=_upsert(config.get("clusters"), cluster, field="cluster", body=cluster_body),
        users=_upsert(config.get("users"), user, field="user", body={"token": token}),
        contexts=_upsert(config.get("contexts"), context, field="context",
                         body={"cluster": cluster, "user": user, "namespace": namespace}),
    )
    config["current-context"] = context
    config.setdefault("preferences", {})
    _write(path, config)


def load_kubeconfig(path: Path | None = None, context: str | None = None) -> ClientConfig:
    """The connection settings of ``context`` (default: the file's current context)."""
    resolved = resolve_path(path)
    config = _read(resolved)
    name = context or config.get("current-context") or ""
    if not name:
        raise KubeconfigError(f"{resolved}: no context given and no current-context set")
    ctx = _named(config.get("contexts"), name, field="context")
    if ctx is None:
        raise KubeconfigError(f'{resolved}: context "{name}" not found')
    cluster = _named(config.get("clusters"), ctx.get("cluster", ""), field="cluster")
    if cluster is None or not cluster.get("server"):
        raise KubeconfigError(f'{resolved}: cluster "{ctx.get("cluster", "")}" of context "{name}" has no server')
    user = _named(config.get("users"), ctx.get("user", ""), field="user") or {}
    return ClientConfig(
        server=str(cluster["server"]).rstrip("/"),
        token=_token(user, resolved),
        ca_data=_ca_data(cluster, resolved),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        namespace=str(ctx.get("namespace") or DEFAULT_NAMESPACE),
        context_name=name,
    )


def _relative(path_text: str, kubeconfig: Path) -> Path:
    """File references in a kubeconfig are relative to the kubeconfig's directory."""
    path = Path(path_text).expanduser()
    return path if path.is_absolute() else kubeconfig.parent / path


def _token(user: dict[str, Any], kubeconfig: Path) -> str:
    if user.get("token"):
        return str(user["token"])
    if user.get("tokenFile"):
        try:
            return _relative(str(user["tokenFile"]), kubeconfig).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KubeconfigError(f"{kubeconfig}: cannot read tokenFile: {exc.strerror or exc}") from None
    return ""


def _ca_data(cluster: dict[str, Any], kubeconfig: Path) -> bytes | None:
    if cluster.get("certificate-authority-data"):
        try:
            return base64.b64decode(str(cluster["certificate-authority-data"]), validate=True)
        except (binascii.Error, ValueError):
            raise KubeconfigError(f"{kubeconfig}: certificate-authority-data is not valid base64") from None
    if cluster.get("certificate-authority"):
        try:
            return _relative(str(cluster["certificate-authority"]), kubeconfig).read_bytes()
        except OSError as exc:
            raise KubeconfigError(f"{kubeconfig}: cannot read certificate-authority: {exc.strerror or exc}") from None
    return None


def list_contexts(path: Path | None = None) -> list[ContextInfo]:
    """Every context in the file, in file order, marking the current one."""
    config = _read(resolve_path(path))
    current = config.get("current-context")
    infos = []
    for entry in config.get("contexts") or []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        context = entry.get("context")
        body: dict[str, Any] = context if isinstance(context, dict) else {}
        infos.append(ContextInfo(
            name=str(entry["name"]),
            cluster=str(body.get("cluster", "")),
            user=str(body.get("user", "")),
            namespace=str(body.get("namespace") or ""),
            current=entry["name"] == current,
        ))
    return infos


def set_current_context(path: Path | None, name: str) -> None:
    """``config use-context``: make ``name`` current; raises if the file does not define it."""
    resolved = resolve_path(path)
    config = _read(resolved)
    if _named(config.get("contexts"), name, field="context") is None:
        raise KubeconfigError(f'{resolved}: no context exists with the name: "{name}"')
    config["current-context"] = name
    _write(resolved, config)
