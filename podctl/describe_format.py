"""The building blocks of ``describe`` output, shaped like kubectl's.

kubectl writes ``Key:\\tvalue`` lines through Go's tabwriter (padding 2), so consecutive lines
share aligned columns and a line without a tab starts a new block. :class:`Sheet` does the same:
describers add lines with tab-separated cells and :meth:`Sheet.text` aligns each run of tabbed
lines. The sections every describer shares (labels, events, conditions, pod templates) live
here; all are pure functions of wire dicts and ``now``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apimachinery.timeutil import human_age, parse_time

PADDING = 2
NONE = "<none>"


class Sheet:
    """Lines with tab-separated cells, aligned run by run like Go's tabwriter."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, indent: int, *cells: Any) -> None:
        self.lines.append(" " * indent + "\t".join("" if c is None else str(c) for c in cells))

    def field(self, indent: int, key: str, value: Any) -> None:
        self.add(indent, f"{key}:", NONE if value in (None, "") else value)

    def multi(self, indent: int, key: str, values: list[str]) -> None:
        """``Key:  first`` then one continuation line per further value (``<none>`` if empty)."""
        if not values:
            self.field(indent, key, NONE)
            return
        self.add(indent, f"{key}:", values[0])
        for value in values[1:]:
            self.add(indent, "", value)

    def text(self) -> str:
        out: list[str] = []
        run: list[list[str]] = []
        for line in self.lines + [""]:
            if "\t" in line:
                run.append(line.split("\t"))
                continue
            out.extend(_aligned(run))
            run = []
            out.append(line)
        return "\n".join(out[:-1]) + "\n"


def _aligned(rows: list[list[str]]) -> list[str]:
    widths: dict[int, int] = {}
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            widths[index] = max(widths.get(index, 0), len(cell) + PADDING)
    return ["".join(c.ljust(widths[i]) if i < len(r) - 1 else c for i, c in enumerate(r)).rstrip() for r in rows]


def timestamp(value: str | None) -> str:
    """RFC 1123 with a numeric zone, as kubectl shows times: ``Thu, 26 Nov 2026 02:45:24 +0000``."""
    if not value:
        return NONE
    try:
        return parse_time(value).strftime("%a, %d %b %Y %H:%M:%S +0000")
    except ValueError:
        return value


def age(value: str | None, now: datetime) -> str:
    if not value:
        return NONE
    try:
        return human_age((now - parse_time(value)).total_seconds())
    except ValueError:
        return NONE


def pairs(mapping: dict[str, Any] | None, sep: str = "=") -> list[str]:
    return [f"{k}{sep}{v}" for k, v in sorted((mapping or {}).items())]


def metadata_fields(sheet: Sheet, obj: dict[str, Any], *, namespace: bool = True) -> None:
    meta = obj.get("metadata") or {}
    sheet.field(0, "Name", meta.get("name"))
    if namespace:
        sheet.field(0, "Namespace", meta.get("namespace"))


def labels_annotations(sheet: Sheet, obj: dict[str, Any], indent: int = 0) -> None:
    meta = obj.get("metadata") or {}
    sheet.multi(indent, "Labels", pairs(meta.get("labels")))
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k != "kubectl.kubernetes.io/last-applied-configuration"}
    sheet.multi(indent, "Annotations", pairs(annotations, ": "))


def controlled_by(obj: dict[str, Any]) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return None


def conditions_table(sheet: Sheet, conditions: list[dict[str, Any]], *, reason: bool = True) -> None:
    if not conditions:
        sheet.field(0, "Conditions", NONE)
        return
    sheet.add(0, "Conditions:")
    header = ["Type", "Status", *(["Reason"] if reason else [])]
    sheet.add(2, *header)
    sheet.add(2, *["-" * len(h) for h in header])
    for c in conditions:
        sheet.add(2, c.get("type", ""), c.get("status", ""), *([c.get("reason") or NONE] if reason else []))


def _ports(container: dict[str, Any]) -> tuple[str, str]:
    ports = container.get("ports") or []
    if not ports:
        return NONE, ""
    text = ", ".join(f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in ports)
    hosts = ", ".join(f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}" for p in ports)
    return text, hosts


def _env(container: dict[str, Any]) -> list[str]:
    out = []
    for env in container.get("env") or []:
        if "value" in env:
            out.append(f"{env['name']}:  {env['value']}")
        else:
            source = env.get("valueFrom") or {}
            kind = next(iter(source), "valueFrom")
            out.append(f"{env['name']}:  <set to the key of {kind}>")
    return out


def container_spec(sheet: Sheet, container: dict[str, Any], indent: int, *, name_indent: int) -> None:
    """The spec half of a container block (image, command, ports, env, mounts, probes)."""
    sheet.add(name_indent, f"{container.get('name')}:")
    sheet.field(indent, "Image", container.get("image"))
    port, host = _ports(container)
    sheet.field(indent, "Port", port)
    if host:
        sheet.field(indent, "Host Port", host)
    for key in ("command", "args"):
        if container.get(key):
            sheet.add(indent, f"{key.capitalize()}:")
            for part in container[key]:
                sheet.add(indent + 2, part)
    resources = container.get("resources") or {}
    for title in ("limits", "requests"):
        if resources.get(title):
            sheet.add(indent, f"{title.capitalize()}:")
            for k, v in sorted(resources[title].items()):
                sheet.add(indent + 2, f"{k}:", v)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if container.get(probe):
            sheet.field(indent, probe.replace("Probe", "").capitalize(), probe_text(container[probe]))
    env = _env(container)
    if env:
        sheet.add(indent, "Environment:")
        for line in env:
            sheet.add(indent + 2, line)
    else:
        sheet.field(indent, "Environment", NONE)
    mounts = [f"{m.get('mountPath')} from {m.get('name')} ({'ro' if m.get('readOnly') else 'rw'})"
              for m in container.get("volumeMounts") or []]
    sheet.multi(indent, "Mounts", mounts)


def probe_text(probe: dict[str, Any]) -> str:
    """``http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3``."""
    if "httpGet" in probe:
        h = probe["httpGet"]
        action = f"http-get {h.get('scheme', 'HTTP').lower()}://{h.get('host', '')}:{h.get('port')}{h.get('path', '/')}"
    elif "tcpSocket" in probe:
        action = f"tcp-socket :{probe['tcpSocket'].get('port')}"
    elif "exec" in probe:
        action = "exec [" + " ".join((probe["exec"] or {}).get("command") or []) + "]"
    else:
        action = "unknown"
    return (f"{action} delay={probe.get('initialDelaySeconds', 0)}s timeout={probe.get('timeoutSeconds', 1)}s "
            f"period={probe.get('periodSeconds', 10)}s #success={probe.get('successThreshold', 1)} "
            f"#failure={probe.get('failureThreshold', 3)}")


def volumes(sheet: Sheet, spec: dict[str, Any], indent: int) -> None:
    vols = spec.get("volumes") or []
    if not vols:
        sheet.field(indent, "Volumes", NONE)
        return
    sheet.add(indent, "Volumes:")
    for vol in vols:
        sheet.add(indent + 1, f"{vol.get('name')}:")
        kind = next((k for k in vol if k != "name"), "unknown")
        sheet.field(indent + 2, "Type", kind)
        for k, v in sorted((vol.get(kind) or {}).items()):
            sheet.field(indent + 2, k[:1].upper() + k[1:], v)


def pod_template(sheet: Sheet, template: dict[str, Any]) -> None:
    sheet.add(0, "Pod Template:")
    sheet.multi(2, "Labels", pairs((template.get("metadata") or {}).get("labels")))
    annotations = pairs((template.get("metadata") or {}).get("annotations"), ": ")
    if annotations:
        sheet.multi(2, "Annotations", annotations)
    spec = template.get("spec") or {}
    if spec.get("initContainers"):
        sheet.add(2, "Init Containers:")
        for container in spec["initContainers"]:
            container_spec(sheet, container, 4, name_indent=3)
    sheet.add(2, "Containers:")
    for container in spec.get("containers") or []:
        container_spec(sheet, container, 4, name_indent=3)
    volumes(sheet, spec, 2)


def _event_age(event: dict[str, Any], now: datetime) -> str:
    last = event.get("lastTimestamp") or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp")
    first = event.get("firstTimestamp") or last
    count = int(event.get("count") or 1)
    if count > 1 and first:
        return f"{age(last, now)} (x{count} over {age(first, now)})"
    return age(last, now)


def events_section(sheet: Sheet, events: list[dict[str, Any]], now: datetime) -> None:
    """The ``Events:`` table, oldest first, or ``Events:  <none>``."""
    if not events:
        sheet.field(0, "Events", NONE)
        return
    sheet.add(0, "Events:")
    sheet.add(2, "Type", "Reason", "Age", "From", "Message")
    sheet.add(2, "----", "------", "----", "----", "-------")
    for event in events:
        source = event.get("source") or {}
        origin = event.get("reportingComponent") or source.get("component") or ""
        if source.get("host"):
            origin = f"{origin}, {source['host']}" if origin else source["host"]
        message = " ".join(str(event.get("message") or "").split())
        sheet.add(2, event.get("type", ""), event.get("reason", ""), _event_age(event, now), origin, message)
