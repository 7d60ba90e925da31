"""Server-side printing: the meta.k8s.io/v1 ``Table`` that ``kubectl get`` asks for.

kubectl does not know how to print a Pod; it sends ``Accept: application/json;as=Table;...`` and
prints whatever columns and cells the server returns (a plain list prints only NAME and AGE).
So the columns and the cell values here follow Kubernetes' own printers: the same column names
and priorities, the kubelet-style pod STATUS (``CrashLoopBackOff``, ``Init:0/1``,
``Terminating``), ages in kubectl's HumanDuration rounding. The server always sends every
column; kubectl hides the priority-1 ones unless ``-o wide``.

Everything is a pure function of the wire objects and an injected ``now``, so tests pin time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apimachinery.errors import bad_request
from apimachinery.timeutil import human_age as human_duration  # kubectl's duration.HumanDuration
from apimachinery.timeutil import parse_time

__all__ = ["Column", "human_duration", "to_table"]

Obj = dict[str, Any]
Cell = str | int
Printer = Callable[[Obj, datetime], list[Cell]]

INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")


@dataclass(frozen=True)
class Column:
    """One ``columnDefinitions`` entry; priority 1 columns show only with ``-o wide``."""

    name: str
    description: str
    type: str = "string"
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


# --- table assembly -------------------------------------------------------------------------


def to_table(
    kind: str,
    objects: list[Obj],
    *,
    resource_version: str,
    now: datetime,
    include_object: str = "Metadata",
    continue_token: str | None = None,
) -> Obj:
    """Render ``objects`` of ``kind`` as a Table; unknown kinds get the generic Name/Age table.

    ``include_object`` is the request's ``includeObject`` option: kubectl needs at least the
    metadata (``Metadata``, the default) to add the NAMESPACE column of ``get -A`` and to
    match rows to watch events.
    """
    if include_object not in INCLUDE_OBJECT_VALUES:
        raise bad_request(
            f'unsupported includeObject "{include_object}": must be one of {", ".join(INCLUDE_OBJECT_VALUES)}'
        )
    columns, printer = _PRINTERS.get(kind, _GENERIC)
    now = _aware(now)
    metadata: Obj = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [c.definition() for c in columns],
        "rows": [_row(kind, obj, printer(obj, now), include_object) for obj in objects],
    }


def _row(kind: str, obj: Obj, cells: list[Cell], include_object: str) -> Obj:
    row: Obj = {"cells": cells}
    conditions = _pod_row_conditions(obj) if kind == "Pod" else None
    if conditions:
        row["conditions"] = conditions
    if include_object == "Object":
        row["object"] = obj
    elif include_object == "Metadata":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {},
        }
    return row


# --- small helpers shared by the printers ----------------------------------------------------


def _moment(value: object) -> datetime | None:
    """A stored RFC3339 timestamp (``Z``, ``+00:00``, fractions), or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _since(value: object, now: datetime) -> str:
    """kubectl's ``translateTimestampSince``: ``<unknown>`` for a missing time."""
    moment = _moment(value)
    if moment is None:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


def _get(obj: object, *path: str) -> Any:
    cur: Any = obj
    for step in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(step)
    return cur


def _name(obj: Obj) -> str:
    return str(_get(obj, "metadata", "name") or "")


def _age(obj: Obj, now: datetime) -> str:
    return _since(_get(obj, "metadata", "creationTimestamp"), now)


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def format_labels(labels: dict[str, str] | None) -> str:
    """``labels.FormatLabels``: sorted ``k=v`` pairs, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def selector_string(selector: Obj | None) -> str:
    """A LabelSelector the way ``labels.Selector.String()`` prints it (requirements by key)."""
    if not selector:
        return ""
    requirements: list[tuple[str, str]] = [
        (k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()
    ]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        text = {
            "In": f"{key} in ({values})",
            "NotIn": f"{key} notin ({values})",
            "Exists": key,
            "DoesNotExist": f"!{key}",
        }.get(op, f"{key} {op} ({values})")
        requirements.append((key, text))
    return ",".join(text for _, text in sorted(requirements, key=lambda r: r[0]))


def _containers_and_images(template_spec: object) -> tuple[str, str]:
    containers = _get(template_spec, "containers") or []
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


# --- columns ---------------------------------------------------------------------------------

_NAME = Column("Name", "Name must be unique within a namespace.", format="name")
_AGE = Column("Age", "CreationTimestamp is the time the object was created, shown as its age.")
_CONTAINERS = Column("Containers", "Names of each container in the template.", priority=1)
_IMAGES = Column("Images", "Images referenced by each container in the template.", priority=1)


def _selector_column(priority: int = 1) -> Column:
    return Column("Selector", "Label query over pods that the controller manages.", priority=priority)


POD_COLUMNS = (
    _NAME,
    Column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", "The aggregate status of the containers in this pod."),
    Column(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last "
        "container in this pod has restarted.",
    ),
    _AGE,
    Column("IP", "IP address allocated to the pod.", priority=1),
    Column("Node", "The node the pod is bound to.", priority=1),
    Column("Nominated Node", "The node the scheduler nominated for preemption.", priority=1),
    Column("Readiness Gates", "Pod conditions evaluated for readiness, true/total.", priority=1),
)
DEPLOYMENT_COLUMNS = (
    _NAME,
    Column("Ready", "Number of the pod with ready state"),
    Column("Up-to-date", "Total number of non-terminated pods with the desired template spec."),
    Column("Available", "Total number of available pods (ready for at least minReadySeconds)."),
    _AGE,
    _CONTAINERS,
    _IMAGES,
    _selector_column(),
)
REPLICASET_COLUMNS = (
    _NAME,
    Column("Desired", "Number of desired pods.", type="integer"),
    Column("Current", "The most recently observed number of replicas.", type="integer"),
    Column("Ready", "The number of pods with a Ready condition.", type="integer"),
    _AGE,
    _CONTAINERS,
    _IMAGES,
    _selector_column(),
)
STATEFULSET_COLUMNS = (
    _NAME,
    Column("Ready", "Number of the pod with ready state"),
    _AGE,
    _CONTAINERS,
    _IMAGES,
)
JOB_COLUMNS = (
    _NAME,
    Column("Status", "Status of the job."),
    Column("Completions", "The desired number of successfully finished pods the job should be run with."),
    Column("Duration", "Time required to complete the job."),
    _AGE,
    _CONTAINERS,
    _IMAGES,
    _selector_column(),
)
DAEMONSET_COLUMNS = (
    _NAME,
    Column("Desired", "The desired number of pods.", type="integer"),
    Column("Current", "The current number of pods.", type="integer"),
    Column("Ready", "The number of pods ready.", type="integer"),
    Column("Up-to-date", "The number of pods updated.", type="integer"),
    Column("Available", "The number of pods ready and available.", type="integer"),
    Column("Node Selector", "Which nodes the pods run on (the pod template's nodeSelector)."),
    _AGE,
    _CONTAINERS,
    _IMAGES,
    _selector_column(),
)
REPLICATIONCONTROLLER_COLUMNS = REPLICASET_COLUMNS
CRONJOB_COLUMNS = (
    _NAME,
    Column("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    Column("Timezone", "The time zone name for the given schedule."),
    Column("Suspend", "This flag tells the controller to suspend subsequent executions.", type="boolean"),
    Column("Active", "A list of pointers to currently running jobs.", type="integer"),
    Column("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    _AGE,
    _CONTAINERS,
    _IMAGES,
    _selector_column(),
)
CONTROLLERREVISION_COLUMNS = (
    _NAME,
    Column("Controller", "Controller of the object"),
    Column("Revision", "Revision of the ControllerRevision", type="integer"),
    _AGE,
)
PDB_COLUMNS = (
    _NAME,
    Column("Min Available", "The minimum number of pods that must be available."),
    Column("Max Unavailable", "The maximum number of pods that may be unavailable."),
    Column("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", type="integer"),
    _AGE,
)
NODE_COLUMNS = (
    _NAME,
    Column("Status", "The status of the node"),
    Column("Roles", "The roles of the node"),
    _AGE,
    Column("Version", "Kubelet Version reported by the node."),
    Column("Internal-IP", "The node's InternalIP address.", priority=1),
    Column("External-IP", "The node's ExternalIP address.", priority=1),
    Column("OS-Image", "OS image reported by the node.", priority=1),
    Column("Kernel-Version", "Kernel version reported by the node.", priority=1),
    Column("Container-Runtime", "Container runtime version reported by the node.", priority=1),
)
EVENT_COLUMNS = (
    Column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    Column("Type", "Type of this event (Normal, Warning)."),
    Column("Reason", "Short, machine understandable string that gives the reason for the transition."),
    Column("Object", "The object that this event is about."),
    Column("Subobject", "The part of the object the event is about (fieldPath).", priority=1),
    Column("Source", "The component reporting this event.", priority=1),
    Column("Message", "A human-readable description of the status of this operation."),
    Column("First Seen", "The time at which the event was first recorded.", priority=1),
    Column("Count", "The number of times this event has occurred.", priority=1),
    Column("Name", "Name must be unique within a namespace.", priority=1, format="name"),
)
NAMESPACE_COLUMNS = (_NAME, Column("Status", "The status of the namespace"), _AGE)
LEASE_COLUMNS = (_NAME, Column("Holder", "The identity of the holder of the current lease."), _AGE)
SERVICE_COLUMNS = (
    _NAME,
    Column("Type", "How the Service is exposed."),
    Column("Cluster-IP", "The IP address of the service, usually assigned by the control plane."),
    Column("External-IP", "IP addresses for which nodes also accept traffic for this service."),
    Column("Port(s)", "The list of ports exposed by this service."),
    _AGE,
    Column(
        "Selector",
        "Route service traffic to pods with label keys and values matching this selector.",
        priority=1,
    ),
)
ENDPOINTS_COLUMNS = (
    _NAME,
    Column("Endpoints", "Endpoints is the list of addresses and ports of the pods serving the service."),
    _AGE,
)
ENDPOINTSLICE_COLUMNS = (
    _NAME,
    Column("AddressType", "The IP protocol for this slice."),
    Column("Ports", "The ports exposed by this slice."),
    Column("Endpoints", "Addresses exposed by this slice."),
    _AGE,
)
CONFIGMAP_COLUMNS = (_NAME, Column("Data", "Number of keys in data and binaryData."), _AGE)
SECRET_COLUMNS = (
    _NAME,
    Column("Type", "Used to facilitate programmatic handling of secret data."),
    Column("Data", "Number of keys in data."),
    _AGE,
)
SERVICEACCOUNT_COLUMNS = (_NAME, Column("Secrets", "Number of secrets.", "integer"), _AGE)
GENERIC_COLUMNS = (_NAME, _AGE)
ROLE_COLUMNS = (_NAME, Column("Created At", "Time at which the role was created.", type="date"))
_VOLUME_MODE = Column("VolumeMode", "VolumeMode of the volume.", priority=1)
PV_COLUMNS = (
    _NAME,
    Column("Capacity", "Capacity is the storage capacity of the volume."),
    Column("Access Modes", "AccessModes contains the access modes of the volume."),
    Column("Reclaim Policy", "What happens to the volume when its claim is released."),
    Column("Status", "The phase of the volume."),
    Column("Claim", "The claim the volume is bound to."),
    Column("StorageClass", "StorageClassName of the volume."),
    Column("VolumeAttributesClass", "VolumeAttributesClassName of the volume."),
    Column("Reason", "Why the volume is in its phase."),
    _AGE,
    _VOLUME_MODE,
)
PVC_COLUMNS = (
    _NAME,
    Column("Status", "The phase of the claim."),
    Column("Volume", "The volume bound to the claim."),
    Column("Capacity", "The storage capacity of the bound volume."),
    Column("Access Modes", "The access modes of the bound volume."),
    Column("StorageClass", "StorageClassName of the claim."),
    Column("VolumeAttributesClass", "VolumeAttributesClassName of the claim."),
    _AGE,
    _VOLUME_MODE,
)
STORAGECLASS_COLUMNS = (
    _NAME,
    Column("Provisioner", "Indicates the type of the provisioner."),
    Column("ReclaimPolicy", "Indicates the type of the reclaim policy."),
    Column("VolumeBindingMode", "Indicates when volume binding and dynamic provisioning should occur."),
    Column("AllowVolumeExpansion", "Indicates whether the storage class allows volume expand."),
    _AGE,
)
BINDING_COLUMNS = (
    _NAME,
    Column("Role", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."),
    _AGE,
    Column("Users", "Users in the roleBinding", priority=1),
    Column("Groups", "Groups in the roleBinding", priority=1),
    Column("ServiceAccounts", "ServiceAccounts in the roleBinding", priority=1),
)
HPA_COLUMNS = (
    _NAME,
    Column("Reference", "scaleTargetRef points to the target resource to scale."),
    Column("Targets", "metrics contains the specifications for which to use to calculate the desired replica count."),
    Column("MinPods", "minReplicas is the lower limit for the number of replicas."),
    Column("MaxPods", "maxReplicas is the upper limit for the number of replicas.", type="integer"),
    Column("Replicas", "currentReplicas is current number of replicas of pods managed by this autoscaler.",
           type="integer"),
    _AGE,
)


# --- pods ------------------------------------------------------------------------------------


@dataclass
class _PodTally:
    """What the pod printer accumulates while it walks the container statuses."""

    reason: str
    ready: int = 0
    restarts: int = 0
    last_restart: datetime | None = None
    sidecar_restarts: int = 0
    sidecar_last_restart: datetime | None = None


def _later(current: datetime | None, candidate: object) -> datetime | None:
    moment = _moment(candidate)
    if moment is None or (current is not None and current >= moment):
        return current
    return moment


def _is_sidecar(container: object) -> bool:
    """An init container with ``restartPolicy: Always`` runs beside the app containers."""
    return _get(container, "restartPolicy") == "Always"


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if _int(terminated.get("signal")):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode'))}"


def _scan_init_containers(pod: Obj, tally: _PodTally) -> bool:
    """Walk init containers in order; the first unfinished one names the status. True while initializing."""
    specs = {c.get("name"): c for c in _get(pod, "spec", "initContainers") or []}
    total = len(specs)
    for index, status in enumerate(_get(pod, "status", "initContainerStatuses") or []):
        sidecar = _is_sidecar(specs.get(status.get("name")))
        tally.restarts += _int(status.get("restartCount"))
        finished = _get(status, "lastState", "terminated", "finishedAt")
        tally.last_restart = _later(tally.last_restart, finished)
        if sidecar:
            tally.sidecar_restarts += _int(status.get("restartCount"))
            tally.sidecar_last_restart = _later(tally.sidecar_last_restart, finished)
        terminated = _get(status, "state", "terminated")
        waiting_reason = _get(status, "state", "waiting", "reason")
        if terminated is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and status.get("started"):
            tally.ready += 1 if status.get("ready") else 0
            continue
        if terminated is not None:
            tally.reason = _terminated_reason(terminated, "Init:")
        elif waiting_reason and waiting_reason != "PodInitializing":
            tally.reason = f"Init:{waiting_reason}"
        else:
            tally.reason = f"Init:{index}/{total}"
        return True
    return False


def _condition_true(pod: Obj, condition_type: str) -> bool:
    return any(
        c.get("type") == condition_type and c.get("status") == "True"
        for c in _get(pod, "status", "conditions") or []
    )


def _scan_containers(pod: Obj, tally: _PodTally) -> None:
    """App containers, last to first, so the first container's state wins the STATUS column."""
    tally.restarts = tally.sidecar_restarts
    tally.last_restart = tally.sidecar_last_restart
    has_running = False
    for status in reversed(_get(pod, "status", "containerStatuses") or []):
        tally.restarts += _int(status.get("restartCount"))
        tally.last_restart = _later(tally.last_restart, _get(status, "lastState", "terminated", "finishedAt"))
        state = status.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            tally.reason = str(waiting["reason"])
        elif terminated is not None:
            tally.reason = _terminated_reason(terminated)
        elif status.get("ready") and state.get("running") is not None:
            has_running = True
            tally.ready += 1
    if tally.reason == "Completed" and has_running:
        tally.reason = "Running" if _condition_true(pod, "Ready") else "NotReady"


def pod_status(pod: Obj) -> _PodTally:
    """The READY count, STATUS reason and RESTARTS tally kubectl shows for a pod."""
    phase = str(_get(pod, "status", "phase") or "")
    tally = _PodTally(reason=str(_get(pod, "status", "reason") or phase))
    for condition in _get(pod, "status", "conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            tally.reason = "SchedulingGated"
    initializing = _scan_init_containers(pod, tally)
    if not initializing or _condition_true(pod, "Initialized"):
        _scan_containers(pod, tally)
    if _get(pod, "metadata", "deletionTimestamp"):
        if _get(pod, "status", "reason") == "NodeLost":
            tally.reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            tally.reason = "Terminating"
    return tally


def _pod_cells(pod: Obj, now: datetime) -> list[Cell]:
    tally = pod_status(pod)
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    total = len(spec.get("containers") or []) + sum(
        1 for c in spec.get("initContainers") or [] if _is_sidecar(c)
    )
    restarts = str(tally.restarts)
    if tally.restarts and tally.last_restart is not None:
        restarts = f"{tally.restarts} ({human_duration((now - tally.last_restart).total_seconds())} ago)"
    pod_ips = status.get("podIPs") or []
    ip = (pod_ips[0].get("ip") if pod_ips else None) or status.get("podIP") or "<none>"
    return [
        _name(pod),
        f"{tally.ready}/{total}",
        tally.reason,
        restarts,
        _age(pod, now),
        ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        _readiness_gates(pod),
    ]


def _readiness_gates(pod: Obj) -> str:
    gates = _get(pod, "spec", "readinessGates") or []
    if not gates:
        return "<none>"
    true_count = sum(1 for g in gates if _condition_true(pod, str(g.get("conditionType"))))
    return f"{true_count}/{len(gates)}"


def _pod_row_conditions(pod: Obj) -> list[Obj] | None:
    """Finished pods carry a ``Completed`` row condition, as Kubernetes' printer sets it."""
    phase = _get(pod, "status", "phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return None
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


# --- workloads -------------------------------------------------------------------------------


def _deployment_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_get(spec, "template", "spec"))
    desired = _int(spec.get("replicas"), 1)
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{desired}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        _age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def _replicaset_cells(obj: Obj, now: datetime) -> list[Cell]:
    return _replica_cells(obj, now, selector_string(_get(obj, "spec", "selector")) or "<none>")


def _replica_cells(obj: Obj, now: datetime, selector: str) -> list[Cell]:
    """DESIRED CURRENT READY of a replica controller; ReplicaSets and ReplicationControllers
    differ only in how their selector prints."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_get(spec, "template", "spec"))
    return [
        _name(obj),
        _int(spec.get("replicas"), 1),
        _int(status.get("replicas")),
        _int(status.get("readyReplicas")),
        _age(obj, now),
        names,
        images,
        selector,
    ]


def _statefulset_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_get(spec, "template", "spec"))
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'), 1)}",
        _age(obj, now),
        names,
        images,
    ]


def job_status(job: Obj) -> str:
    """The STATUS column of ``kubectl get jobs`` (Kubernetes 1.28+): the first that holds of
    Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet, else Running."""
    if _condition_true(job, "Complete"):
        return "Complete"
    if _condition_true(job, "Failed"):
        return "Failed"
    if _get(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    for condition in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if _condition_true(job, condition):
            return condition
    return "Running"


def _job_completions(spec: Obj, status: Obj) -> str:
    succeeded = _int(status.get("succeeded"))
    if spec.get("completions") is not None:
        return f"{succeeded}/{_int(spec.get('completions'))}"
    parallelism = _int(spec.get("parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(status: Obj, now: datetime) -> str:
    start = _moment(status.get("startTime"))
    if start is None:
        return ""
    end = _moment(status.get("completionTime")) or now
    return human_duration(max((end - start).total_seconds(), 0))


def _job_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers_and_images(_get(spec, "template", "spec"))
    return [
        _name(obj),
        job_status(obj),
        _job_completions(spec, status),
        _job_duration(status, now),
        _age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")) or "<none>",
    ]


def _daemonset_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    template_spec = _get(spec, "template", "spec")
    names, images = _containers_and_images(template_spec)
    node_selector = template_spec.get("nodeSelector") if isinstance(template_spec, dict) else None
    return [
        _name(obj),
        _int(status.get("desiredNumberScheduled")),
        _int(status.get("currentNumberScheduled")),
        _int(status.get("numberReady")),
        _int(status.get("updatedNumberScheduled")),
        _int(status.get("numberAvailable")),
        format_labels(node_selector) if node_selector else "<none>",
        _age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")) or "<none>",
    ]


def _controllerrevision_cells(obj: Obj, now: datetime) -> list[Cell]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    owner = next((r for r in refs if isinstance(r, dict) and r.get("controller")), None)
    controller = "<none>"
    if owner is not None:
        group = str(owner.get("apiVersion") or "").rpartition("/")[0]
        kind = str(owner.get("kind") or "").lower()
        controller = f"{kind}.{group}/{owner.get('name')}" if group else f"{kind}/{owner.get('name')}"
    return [_name(obj), controller, _int(obj.get("revision")), _age(obj, now)]


def _pdb_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    minimum, maximum = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [
        _name(obj),
        "N/A" if minimum is None else str(minimum),
        "N/A" if maximum is None else str(maximum),
        _int(status.get("disruptionsAllowed")),
        _age(obj, now),
    ]


def _replicationcontroller_cells(obj: Obj, now: datetime) -> list[Cell]:
    return _replica_cells(obj, now, format_labels(_get(obj, "spec", "selector")))


def _bool_ptr(value: object) -> str:
    """printBoolPtr: ``True``/``False``, ``<unset>`` for no value."""
    return "<unset>" if not isinstance(value, bool) else str(value)


def _cronjob_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    job_spec = _get(spec, "jobTemplate", "spec") or {}
    names, images = _containers_and_images(_get(job_spec, "template", "spec"))
    last = status.get("lastScheduleTime")
    return [
        _name(obj),
        str(spec.get("schedule") or ""),
        str(spec.get("timeZone") or "<none>"),
        _bool_ptr(spec.get("suspend")),
        len(status.get("active") or []),
        _since(last, now) if last else "<none>",
        _age(obj, now),
        names,
        images,
        selector_string(job_spec.get("selector")) or "<none>",
    ]


# --- nodes -----------------------------------------------------------------------------------


def node_status(node: Obj) -> str:
    """``Ready`` / ``NotReady`` / ``Unknown`` from the Ready condition, plus cordoning."""
    parts = ["Unknown"]
    for condition in _get(node, "status", "conditions") or []:
        if condition.get("type") == "Ready":
            parts = ["Ready" if condition.get("status") == "True" else "NotReady"]
    if _get(node, "spec", "unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(node: Obj) -> str:
    """Roles from ``node-role.kubernetes.io/<role>`` keys and ``kubernetes.io/role=<role>``."""
    roles: set[str] = set()
    for key, value in (_get(node, "metadata", "labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key.removeprefix("node-role.kubernetes.io/"):
            roles.add(key.removeprefix("node-role.kubernetes.io/"))
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, address_type: str) -> str:
    for address in _get(node, "status", "addresses") or []:
        if address.get("type") == address_type:
            return str(address.get("address", ""))
    return "<none>"


def _node_cells(node: Obj, now: datetime) -> list[Cell]:
    info = _get(node, "status", "nodeInfo") or {}
    return [
        _name(node),
        node_status(node),
        node_roles(node),
        _age(node, now),
        str(info.get("kubeletVersion") or ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


# --- events ----------------------------------------------------------------------------------


def _event_cells(event: Obj, now: datetime) -> list[Cell]:
    first = _since(event.get("firstTimestamp"), now)
    if not event.get("firstTimestamp"):
        first = _since(event.get("eventTime"), now)
    last = _since(event.get("lastTimestamp"), now) if event.get("lastTimestamp") else first
    count = _int(event.get("count"))
    series = event.get("series")
    if isinstance(series, dict):
        last = _since(series.get("lastObservedTime"), now)
        count = _int(series.get("count"))
    elif count == 0:
        count = 1  # singleton events from the events.k8s.io API carry no count
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = _event_source(event)
    message = str(event.get("message") or "").strip()
    return [
        last,
        str(event.get("type") or ""),
        str(event.get("reason") or ""),
        target,
        str(involved.get("fieldPath") or ""),
        source,
        message,
        first,
        count,
        _name(event),
    ]


def _event_source(event: Obj) -> str:
    component = _get(event, "source", "component") or event.get("reportingComponent") or ""
    host = _get(event, "source", "host") or event.get("reportingInstance") or ""
    return f"{component}, {host}" if host else str(component)


# --- services and the small kinds --------------------------------------------------------------


def _service_external_ip(service: Obj) -> str:
    spec = service.get("spec") or {}
    external = list(spec.get("externalIPs") or [])
    svc_type = spec.get("type") or "ClusterIP"
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if svc_type == "LoadBalancer":
        ingress = _get(service, "status", "loadBalancer", "ingress") or []
        balancer = sorted(
            {str(i.get("ip") or i.get("hostname")) for i in ingress if i.get("ip") or i.get("hostname")}
        )
        return ",".join(balancer + external) or "<pending>"
    if svc_type == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def _service_ports(service: Obj) -> str:
    pieces = []
    for port in _get(service, "spec", "ports") or []:
        protocol = port.get("protocol") or "TCP"
        node_port = _int(port.get("nodePort"))
        prefix = f"{port.get('port')}:{node_port}" if node_port > 0 else f"{port.get('port')}"
        pieces.append(f"{prefix}/{protocol}")
    return ",".join(pieces) or "<none>"


def _service_cells(service: Obj, now: datetime) -> list[Cell]:
    spec = service.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        _name(service),
        str(spec.get("type") or "ClusterIP"),
        cluster_ips[0] if cluster_ips else "<none>",
        _service_external_ip(service),
        _service_ports(service),
        _age(service, now),
        format_labels(spec.get("selector")),
    ]


#: kubectl lists the first three endpoints, then `` + N more...``.
_LISTED_ENDPOINTS = 3


def _with_more(listed: list[str], count: int, *, empty: str) -> str:
    if count > len(listed):
        return f"{','.join(listed)} + {count - len(listed)} more..."
    return ",".join(listed) or empty


def _host_port(ip: str, port: object) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(endpoints: Obj) -> str:
    """``10.0.0.5:8080,10.0.0.6:8080 + 1 more...``: ready addresses times ports (addresses alone
    for a portless headless subset); ``<none>`` with no subsets, as kubectl's formatEndpoints."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    listed: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [str(a.get("ip") or "") for a in subset.get("addresses") or []]
        pairs = [_host_port(ip, p.get("port")) for p in subset.get("ports") or [] for ip in addresses]
        shown = pairs if subset.get("ports") else addresses
        count += len(shown)
        listed += shown[: max(_LISTED_ENDPOINTS - len(listed), 0)]
    return _with_more(listed, count, empty="")


def _endpoints_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), format_endpoints(obj), _age(obj, now)]


def _slice_ports(ports: list[Obj]) -> str:
    shown = [str(p["port"]) if p.get("port") is not None else str(p.get("name") or "*") for p in ports]
    return _with_more(shown[:_LISTED_ENDPOINTS], len(shown), empty="<unset>")


def _slice_addresses(endpoints: list[Obj]) -> str:
    addresses = [str(a) for e in endpoints for a in e.get("addresses") or []]
    return _with_more(addresses[:_LISTED_ENDPOINTS], len(addresses), empty="<unset>")


def _endpointslice_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), str(obj.get("addressType") or ""), _slice_ports(obj.get("ports") or []),
            _slice_addresses(obj.get("endpoints") or []), _age(obj, now)]


def _namespace_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), str(_get(obj, "status", "phase") or ""), _age(obj, now)]


def _lease_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), str(_get(obj, "spec", "holderIdentity") or ""), _age(obj, now)]


def _configmap_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj, now)]


def _secret_cells(obj: Obj, now: datetime) -> list[Cell]:
    keys = set(obj.get("data") or {}) | set(obj.get("stringData") or {})
    return [_name(obj), str(obj.get("type") or "Opaque"), len(keys), _age(obj, now)]


def _serviceaccount_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, now)]


def _role_cells(obj: Obj, now: datetime) -> list[Cell]:
    created = _moment(_get(obj, "metadata", "creationTimestamp"))
    return [_name(obj), created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else ""]


def _binding_cells(obj: Obj, now: datetime) -> list[Cell]:
    """ROLE is ``Kind/name``; subjects split as rbac.SubjectsStrings does (SAs as ``ns/name``)."""
    ref = obj.get("roleRef") or {}
    by_kind: dict[str, list[str]] = {"User": [], "Group": [], "ServiceAccount": []}
    for subject in obj.get("subjects") or []:
        name = str(subject.get("name") or "")
        if subject.get("kind") == "ServiceAccount" and subject.get("namespace"):
            name = f"{subject['namespace']}/{name}"
        by_kind.setdefault(str(subject.get("kind")), []).append(name)
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(obj, now),
            *(", ".join(by_kind[k]) for k in ("User", "Group", "ServiceAccount"))]


# --- storage ---------------------------------------------------------------------------------

_ACCESS_MODE_SHORT = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                      ("ReadWriteOncePod", "RWOP"))


def _access_modes(modes: object) -> str:
    """kubectl's GetAccessModesAsString: short names, always in the same order."""
    held = modes if isinstance(modes, list) else []
    return ",".join(short for mode, short in _ACCESS_MODE_SHORT if mode in held)


def _storage_class(obj: Obj) -> str:
    return str(_get(obj, "spec", "storageClassName") or "")


def _pv_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("claimRef") or {}
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    phase = "Terminating" if _get(obj, "metadata", "deletionTimestamp") else str(status.get("phase") or "")
    return [_name(obj), str((spec.get("capacity") or {}).get("storage") or ""), _access_modes(spec.get("accessModes")),
            str(spec.get("persistentVolumeReclaimPolicy") or ""), phase, claim, _storage_class(obj),
            str(spec.get("volumeAttributesClassName") or "<unset>"), str(status.get("reason") or ""),
            _age(obj, now), str(spec.get("volumeMode") or "Filesystem")]


def _pvc_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if _get(obj, "metadata", "deletionTimestamp") else str(status.get("phase") or "")
    capacity = modes = ""
    if spec.get("volumeName"):
        capacity = str((status.get("capacity") or {}).get("storage") or "")
        modes = _access_modes(status.get("accessModes"))
    return [_name(obj), phase, str(spec.get("volumeName") or ""), capacity, modes, _storage_class(obj),
            str(spec.get("volumeAttributesClassName") or "<unset>"), _age(obj, now),
            str(spec.get("volumeMode") or "Filesystem")]


def _storageclass_cells(obj: Obj, now: datetime) -> list[Cell]:
    name = _name(obj)
    annotations = _get(obj, "metadata", "annotations") or {}
    if "true" in (annotations.get("storageclass.kubernetes.io/is-default-class"),
                  annotations.get("storageclass.beta.kubernetes.io/is-default-class")):
        name += " (default)"
    return [name, str(obj.get("provisioner") or ""), str(obj.get("reclaimPolicy") or "Delete"),
            str(obj.get("volumeBindingMode") or "Immediate"), bool(obj.get("allowVolumeExpansion")), _age(obj, now)]


_HPA_SHOWN_METRICS = 2


def _hpa_metric(spec: Obj, status: Obj | None) -> str:
    """One Resource metric as ``cpu: 42%/50%`` (current/target), ``<unknown>`` before a reading."""
    resource = spec.get("resource") or {}
    target, current_status = resource.get("target") or {}, _get(status, "resource", "current") or {}
    name = resource.get("name") or ""
    if target.get("averageValue") is not None:
        current = current_status.get("averageValue") if status is not None else None
        return f"{name}: {current or '<unknown>'}/{target['averageValue']}"
    used = current_status.get("averageUtilization")
    current = f"{used}%" if isinstance(used, int) else "<unknown>"
    wanted = target.get("averageUtilization")
    return f"{name}: {current}/{f'{wanted}%' if isinstance(wanted, int) else '<auto>'}"


def hpa_targets(specs: list[Obj], statuses: list[Obj]) -> str:
    """kubectl's formatHPAMetrics: the first two metrics, then ``+ N more...``."""
    if not specs:
        return "<none>"
    shown = [
        _hpa_metric(spec, statuses[i] if i < len(statuses) else None) if spec.get("type") == "Resource"
        else "<unknown type>"
        for i, spec in enumerate(specs)
    ]
    text = ", ".join(shown[:_HPA_SHOWN_METRICS])
    more = len(shown) - _HPA_SHOWN_METRICS
    return f"{text} + {more} more..." if more > 0 else text


def _hpa_cells(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    low = spec.get("minReplicas")
    return [_name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            hpa_targets(spec.get("metrics") or [], status.get("currentMetrics") or []),
            str(low) if isinstance(low, int) else "<unset>", _int(spec.get("maxReplicas")),
            _int(status.get("currentReplicas")), _age(obj, now)]


def _generic_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [_name(obj), _age(obj, now)]


_GENERIC: tuple[tuple[Column, ...], Printer] = (GENERIC_COLUMNS, _generic_cells)
_PRINTERS: dict[str, tuple[tuple[Column, ...], Printer]] = {
    "Pod": (POD_COLUMNS, _pod_cells),
    "Deployment": (DEPLOYMENT_COLUMNS, _deployment_cells),
    "ReplicaSet": (REPLICASET_COLUMNS, _replicaset_cells),
    "StatefulSet": (STATEFULSET_COLUMNS, _statefulset_cells),
    "Job": (JOB_COLUMNS, _job_cells),
    "DaemonSet": (DAEMONSET_COLUMNS, _daemonset_cells),
    "PodDisruptionBudget": (PDB_COLUMNS, _pdb_cells),
    "ControllerRevision": (CONTROLLERREVISION_COLUMNS, _controllerrevision_cells),
    "ReplicationController": (REPLICATIONCONTROLLER_COLUMNS, _replicationcontroller_cells),
    "CronJob": (CRONJOB_COLUMNS, _cronjob_cells),
    "Node": (NODE_COLUMNS, _node_cells),
    "Event": (EVENT_COLUMNS, _event_cells),
    "Namespace": (NAMESPACE_COLUMNS, _namespace_cells),
    "Lease": (LEASE_COLUMNS, _lease_cells),
    "Service": (SERVICE_COLUMNS, _service_cells),
    "Endpoints": (ENDPOINTS_COLUMNS, _endpoints_cells),
    "EndpointSlice": (ENDPOINTSLICE_COLUMNS, _endpointslice_cells),
    "ConfigMap": (CONFIGMAP_COLUMNS, _configmap_cells),
    "Secret": (SECRET_COLUMNS, _secret_cells),
    "ServiceAccount": (SERVICEACCOUNT_COLUMNS, _serviceaccount_cells),
    "Role": (ROLE_COLUMNS, _role_cells),
    "ClusterRole": (ROLE_COLUMNS, _role_cells),
    "RoleBinding": (BINDING_COLUMNS, _binding_cells),
    "ClusterRoleBinding": (BINDING_COLUMNS, _binding_cells),
    "PersistentVolume": (PV_COLUMNS, _pv_cells),
    "PersistentVolumeClaim": (PVC_COLUMNS, _pvc_cells),
    "StorageClass": (STORAGECLASS_COLUMNS, _storageclass_cells),
    "HorizontalPodAutoscaler": (HPA_COLUMNS, _hpa_cells),
}
