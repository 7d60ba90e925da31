"""``podctl describe``: one readable page per object, with its events.

Each kind kubectl users describe most has its own page (pods, deployments, replicasets,
nodes); other kinds get a generic page of their fields. The object's events are listed with the
field selector kubectl uses (involvedObject kind, name, namespace and uid), oldest first. The
page builders are pure functions of the objects and ``now``; :func:`describe` fetches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.resources import ResourceType
from apimachinery.selectors import selector_to_string
from apimachinery.timeutil import human_age, parse_time
from podctl.describe_format import (
    NONE,
    Sheet,
    age,
    conditions_table,
    container_spec,
    controlled_by,
    events_section,
    labels_annotations,
    metadata_fields,
    pairs,
    pod_template,
    timestamp,
    volumes,
)
from podctl.errors import format_api_error
from podctl.get import event_time
from podctl.resolve import Selection, parse_args
from podctl.rollout import REVISION, revision_of
from podctl.session import Session

Obj = dict[str, Any]


def _state(state: Obj | None, sheet: Sheet, indent: int, title: str) -> None:
    if not state:
        if title == "State":
            sheet.field(indent, title, "Waiting")
        return
    name, detail = next(iter(state.items()))
    sheet.field(indent, title, name.capitalize())
    detail = detail or {}
    for key, label in (("reason", "Reason"), ("message", "Message"), ("exitCode", "Exit Code")):
        if key in detail:
            sheet.field(indent + 2, label, detail[key])
    for key, label in (("startedAt", "Started"), ("finishedAt", "Finished")):
        if key in detail:
            sheet.field(indent + 2, label, timestamp(detail[key]))


def describe_pod(pod: Obj, events: list[Obj], now: datetime) -> str:
    sheet = Sheet()
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    metadata_fields(sheet, pod)
    sheet.field(0, "Priority", spec.get("priority", 0))
    sheet.field(0, "Node", f"{spec['nodeName']}/{status.get('hostIP', '')}" if spec.get("nodeName") else NONE)
    sheet.field(0, "Start Time", timestamp(status.get("startTime")))
    labels_annotations(sheet, pod)
    phase = status.get("phase", "Pending")
    if meta.get("deletionTimestamp"):
        phase = f"Terminating (lasts {age(meta['deletionTimestamp'], now)})"
    sheet.field(0, "Status", phase)
    if status.get("reason"):
        sheet.field(0, "Reason", status["reason"])
    sheet.field(0, "IP", status.get("podIP"))
    sheet.field(0, "Controlled By", controlled_by(pod))
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    sheet.add(0, "Containers:")
    for container in spec.get("containers") or []:
        container_spec(sheet, container, 4, name_indent=2)
        cs = statuses.get(container.get("name")) or {}
        _state(cs.get("state"), sheet, 4, "State")
        _state(cs.get("lastState"), sheet, 4, "Last State")
        sheet.field(4, "Ready", "True" if cs.get("ready") else "False")
        sheet.field(4, "Restart Count", cs.get("restartCount", 0))
    conditions_table(sheet, status.get("conditions") or [], reason=False)
    volumes(sheet, spec, 0)
    sheet.field(0, "QoS Class", status.get("qosClass"))
    sheet.multi(0, "Node-Selectors", pairs(spec.get("nodeSelector")))
    tolerations = [f"{t.get('key', '')}:{t.get('effect', '')} op={t.get('operator', 'Equal')}"
                   + (f" for {t['tolerationSeconds']}s" if "tolerationSeconds" in t else "")
                   for t in spec.get("tolerations") or []]
    sheet.multi(0, "Tolerations", tolerations)
    events_section(sheet, events, now)
    return sheet.text()


def _replica_line(spec: Obj, status: Obj) -> str:
    wanted = spec.get("replicas", 1)
    return (f"{wanted} desired | {status.get('updatedReplicas', 0)} updated | {status.get('replicas', 0)} total | "
            f"{status.get('availableReplicas', 0)} available | {status.get('unavailableReplicas', 0)} unavailable")


def _rs_summary(rs: Obj) -> str:
    status = rs.get("status") or {}
    return f"{rs['metadata']['name']} ({status.get('replicas', 0)}/{(rs.get('spec') or {}).get('replicas', 0)} replicas created)"


def describe_deployment(dep: Obj, replicasets: list[Obj], events: list[Obj], now: datetime) -> str:
    sheet = Sheet()
    meta, spec, status = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    metadata_fields(sheet, dep)
    sheet.field(0, "CreationTimestamp", timestamp(meta.get("creationTimestamp")))
    labels_annotations(sheet, dep)
    sheet.field(0, "Selector", selector_to_string(spec.get("selector")))
    sheet.field(0, "Replicas", _replica_line(spec, status))
    strategy = spec.get("strategy") or {}
    sheet.field(0, "StrategyType", strategy.get("type", "RollingUpdate"))
    sheet.field(0, "MinReadySeconds", spec.get("minReadySeconds", 0))
    rolling = strategy.get("rollingUpdate")
    if rolling is not None or strategy.get("type", "RollingUpdate") == "RollingUpdate":
        rolling = rolling or {}
        sheet.field(0, "RollingUpdateStrategy", f"{rolling.get('maxUnavailable', '25%')} max unavailable, "
                                                f"{rolling.get('maxSurge', '25%')} max surge")
    if spec.get("paused"):
        sheet.field(0, "Paused", "true")
    pod_template(sheet, spec.get("template") or {})
    conditions_table(sheet, status.get("conditions") or [])
    revision = (meta.get("annotations") or {}).get(REVISION)
    newest = [rs for rs in replicasets if revision and str(revision_of(rs)) == str(revision)]
    old = [rs for rs in replicasets if rs not in newest and (rs.get("status") or {}).get("replicas")]
    sheet.field(0, "OldReplicaSets", ", ".join(_rs_summary(rs) for rs in old) or NONE)
    sheet.field(0, "NewReplicaSet", _rs_summary(newest[0]) if newest else NONE)
    events_section(sheet, events, now)
    return sheet.text()


def _pod_phases(pods: list[Obj]) -> str:
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase", "Pending")
        counts[phase] = counts.get(phase, 0) + 1
    return (f"{counts['Running']} Running / {counts['Pending']} Waiting / {counts['Succeeded']} Succeeded / "
            f"{counts['Failed']} Failed")


def describe_replicaset(rs: Obj, pods: list[Obj], events: list[Obj], now: datetime) -> str:
    sheet = Sheet()
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    metadata_fields(sheet, rs)
    sheet.field(0, "Selector", selector_to_string(spec.get("selector")))
    labels_annotations(sheet, rs)
    sheet.field(0, "Controlled By", controlled_by(rs))
    sheet.field(0, "Replicas", f"{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired")
    sheet.field(0, "Pods Status", _pod_phases(pods))
    pod_template(sheet, spec.get("template") or {})
    conditions_table(sheet, status.get("conditions") or [])
    events_section(sheet, events, now)
    return sheet.text()


def describe_job(job: Obj, events: list[Obj], now: datetime) -> str:
    """kubectl's Job describer: counts and limits, when it ran, its pods' tally, the template."""
    sheet = Sheet()
    spec, status = job.get("spec") or {}, job.get("status") or {}
    metadata_fields(sheet, job)
    sheet.field(0, "Selector", selector_to_string(spec.get("selector")))
    labels_annotations(sheet, job)
    sheet.field(0, "Controlled By", controlled_by(job))
    sheet.field(0, "Parallelism", str(spec.get("parallelism", 1)))
    sheet.field(0, "Completions", str(spec["completions"]) if spec.get("completions") is not None else "<unset>")
    sheet.field(0, "Completion Mode", str(spec.get("completionMode") or "NonIndexed"))
    sheet.field(0, "Suspend", "true" if spec.get("suspend") else "false")
    sheet.field(0, "Backoff Limit", str(spec.get("backoffLimit", 6)))
    for key, title in (("ttlSecondsAfterFinished", "TTL Seconds After Finished"),
                       ("activeDeadlineSeconds", "Active Deadline Seconds"),
                       ("backoffLimitPerIndex", "Backoff Limit Per Index"), ("maxFailedIndexes", "Max Failed Indexes")):
        if spec.get(key) is not None:
            sheet.field(0, title, str(spec[key]))
    if status.get("startTime"):
        sheet.field(0, "Start Time", timestamp(status["startTime"]))
    if status.get("completionTime"):
        sheet.field(0, "Completed At", timestamp(status["completionTime"]))
        sheet.field(0, "Duration", human_age((parse_time(status["completionTime"])
                                              - parse_time(status["startTime"])).total_seconds()))
    sheet.field(0, "Pods Statuses", f"{status.get('active', 0)} Active ({status.get('ready', 0)} Ready) / "
                                    f"{status.get('succeeded', 0)} Succeeded / {status.get('failed', 0)} Failed")
    if spec.get("completionMode") == "Indexed":
        sheet.field(0, "Completed Indexes", status.get("completedIndexes") or NONE)
        if spec.get("backoffLimitPerIndex") is not None:
            sheet.field(0, "Failed Indexes", status.get("failedIndexes") or NONE)
    pod_template(sheet, spec.get("template") or {})
    conditions_table(sheet, status.get("conditions") or [])
    events_section(sheet, events, now)
    return sheet.text()


def describe_node(node: Obj, pods: list[Obj], events: list[Obj], now: datetime) -> str:
    sheet = Sheet()
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    metadata_fields(sheet, node, namespace=False)
    roles = sorted(k.split("/", 1)[1] for k in (meta.get("labels") or {}) if k.startswith("node-role.kubernetes.io/"))
    sheet.field(0, "Roles", ",".join(roles) or NONE)
    labels_annotations(sheet, node)
    sheet.field(0, "CreationTimestamp", timestamp(meta.get("creationTimestamp")))
    taints = [f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}" for t in spec.get("taints") or []]
    sheet.multi(0, "Taints", taints)
    sheet.field(0, "Unschedulable", "true" if spec.get("unschedulable") else "false")
    _node_conditions(sheet, status.get("conditions") or [])
    sheet.multi(0, "Addresses", [f"{a.get('type')}: {a.get('address')}" for a in status.get("addresses") or []])
    for title in ("capacity", "allocatable"):
        sheet.add(0, f"{title.capitalize()}:")
        for key, value in sorted((status.get(title) or {}).items()):
            sheet.add(2, f"{key}:", value)
    info = status.get("nodeInfo") or {}
    if info:
        sheet.add(0, "System Info:")
        for key, value in info.items():
            sheet.add(2, f"{key[:1].upper() + key[1:]}:", value)
    _node_pods(sheet, pods, now)
    events_section(sheet, events, now)
    return sheet.text()


def _node_conditions(sheet: Sheet, conditions: list[Obj]) -> None:
    if not conditions:
        sheet.field(0, "Conditions", NONE)
        return
    sheet.add(0, "Conditions:")
    header = ["Type", "Status", "LastHeartbeatTime", "LastTransitionTime", "Reason", "Message"]
    sheet.add(2, *header)
    sheet.add(2, *["-" * len(h) for h in header])
    for c in conditions:
        sheet.add(2, c.get("type", ""), c.get("status", ""), timestamp(c.get("lastHeartbeatTime")),
                  timestamp(c.get("lastTransitionTime")), c.get("reason", ""), c.get("message", ""))


def _node_pods(sheet: Sheet, pods: list[Obj], now: datetime) -> None:
    running = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    sheet.add(0, f"Non-terminated Pods:\t({len(running)} in total)")
    if not running:
        return
    header = ["Namespace", "Name", "CPU Requests", "Memory Requests", "Age"]
    sheet.add(2, *header)
    sheet.add(2, *["-" * len(h) for h in header])
    for pod in running:
        requests: dict[str, list[str]] = {"cpu": [], "memory": []}
        for container in (pod.get("spec") or {}).get("containers") or []:
            for key in requests:
                value = ((container.get("resources") or {}).get("requests") or {}).get(key)
                if value:
                    requests[key].append(str(value))
        meta = pod["metadata"]
        sheet.add(2, meta.get("namespace", ""), meta["name"], "+".join(requests["cpu"]) or "0",
                  "+".join(requests["memory"]) or "0", age(meta.get("creationTimestamp"), now))


def describe_generic(obj: Obj, events: list[Obj], now: datetime) -> str:
    """Kinds without a dedicated page: metadata, then the remaining fields as YAML."""
    sheet = Sheet()
    metadata_fields(sheet, obj, namespace=bool((obj.get("metadata") or {}).get("namespace")))
    labels_annotations(sheet, obj)
    sheet.field(0, "API Version", obj.get("apiVersion"))
    sheet.field(0, "Kind", obj.get("kind"))
    rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    for line in yaml.safe_dump(rest, sort_keys=False, default_flow_style=False).splitlines() if rest else []:
        sheet.add(0, line)
    events_section(sheet, events, now)
    return sheet.text()


async def object_events(session: Session, obj: Obj) -> list[Obj]:
    """Events about ``obj`` (kind, name, namespace and uid must all match), oldest first."""
    meta = obj["metadata"]
    terms = [f"involvedObject.kind={obj.get('kind')}", f"involvedObject.name={meta['name']}",
             f"involvedObject.uid={meta.get('uid', '')}"]
    if meta.get("namespace"):
        terms.append(f"involvedObject.namespace={meta['namespace']}")
    try:
        items, _ = await session.client.list_raw(res.EVENTS, meta.get("namespace"), field_selector=",".join(terms))
    except ApiError:
        return []
    return sorted(items, key=event_time)


async def page(session: Session, rt: ResourceType, obj: Obj, now: datetime) -> str:
    events = await object_events(session, obj)
    namespace = obj["metadata"].get("namespace")
    if rt is res.PODS:
        return describe_pod(obj, events, now)
    if rt is res.NODES:
        pods, _ = await session.client.list_raw(res.PODS, None, field_selector=f"spec.nodeName={obj['metadata']['name']}")
        return describe_node(obj, pods, events, now)
    selector = selector_to_string((obj.get("spec") or {}).get("selector"))
    if rt is res.DEPLOYMENTS:
        from podctl.rollout import owned_replicasets

        return describe_deployment(obj, await owned_replicasets(session, obj), events, now)
    if rt is res.REPLICASETS:
        pods, _ = await session.client.list_raw(res.PODS, namespace, label_selector=selector or None)
        uid = obj["metadata"].get("uid")
        owned = [p for p in pods if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]
        return describe_replicaset(obj, owned, events, now)
    if rt is res.JOBS:
        return describe_job(obj, events, now)
    return describe_generic(obj, events, now)


async def _objects(session: Session, selection: Selection, label_selector: str | None) -> tuple[list[Obj], list[str]]:
    if not selection.names:
        items, _ = await session.client.list_raw(selection.rt, session.ns(selection.rt), label_selector=label_selector)
        return items, []
    found, errors = [], []
    for name in selection.names:
        try:
            found.append(await session.get(selection.rt, name))
        except ApiError as err:
            errors.append(format_api_error(err))
    return found, errors


async def describe(session: Session, args: tuple[str, ...], *, label_selector: str | None = None) -> int:
    now = datetime.fromtimestamp(session.clock.time(), UTC)
    pages, errors = [], []
    for selection in parse_args(args):
        objects, failed = await _objects(session, selection, label_selector)
        errors.extend(failed)
        for obj in objects:
            obj.setdefault("kind", selection.rt.kind)
            pages.append(await page(session, selection.rt, obj, now))
    session.output.write("\n\n".join(p.rstrip("\n") for p in pages) + ("\n" if pages else ""))
    for message in errors:
        session.output.error(message)
    if not pages and not errors:
        session.output.progress(f"No resources found in {session.namespace} namespace.")
    return 1 if errors else 0
