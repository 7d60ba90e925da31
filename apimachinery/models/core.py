"""core/v1 kinds: Pod, Node, Namespace, Event, Service, ConfigMap, Secret, Binding.

Field coverage follows Kubernetes' own types so real manifests validate under
``fieldValidation=Strict``; parts podvisor does not interpret are plain dicts.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from apimachinery.models.base import AnyDict, Int32, Int64, K8sModel, OpenAPIShape, TypedObject
from apimachinery.models.meta import Condition, ObjectMeta
from apimachinery.models.shapes import (
    Affinity,
    ConfigMapVolumeSource,
    HostAlias,
    PodDNSConfig,
    PodSecurityContext,
    SecretVolumeSource,
    SecurityContext,
    TopologySpreadConstraint,
)

IntOrString = int | str


class ObjectFieldSelector(K8sModel):
    """A field of the pod, such as metadata.name or status.podIP."""

    field_path: str
    api_version: str | None = None


class EnvVarSource(K8sModel):
    """Where an environment variable's value comes from."""

    field_ref: ObjectFieldSelector | None = None
    """A field of the pod."""
    resource_field_ref: AnyDict | None = None
    config_map_key_ref: AnyDict | None = None
    secret_key_ref: AnyDict | None = None
    file_key_ref: AnyDict | None = None


class EnvVar(K8sModel):
    """An environment variable of a container."""

    name: str
    """The variable's name."""
    value: str | None = None
    """The value; $(VAR) refers to earlier variables."""
    value_from: EnvVarSource | None = None
    """Take the value from a pod field, a resource, a ConfigMap or a Secret instead."""


class ContainerPort(K8sModel):
    """A network port a container listens on."""

    container_port: int
    """The port number inside the pod's network namespace."""
    name: str | None = None
    """A name services can target instead of the number."""
    host_port: int | None = None
    """Also expose the port on the node."""
    host_ip: str | None = Field(default=None, alias="hostIP")
    protocol: str | None = None
    """TCP (the default), UDP or SCTP."""


class ResourceRequirements(K8sModel):
    """The compute resources a container needs and may use."""

    limits: dict[str, str] | None = None
    """The most the container may use (cpu, memory)."""
    requests: dict[str, str] | None = None
    """What the scheduler reserves for the container."""
    claims: list[AnyDict] | None = None


class VolumeMount(K8sModel):
    """Where a pod volume appears in a container's filesystem."""

    name: str
    """The pod volume's name."""
    mount_path: str
    """The path inside the container."""
    read_only: bool | None = None
    """Mount read-only."""
    sub_path: str | None = None
    """Mount this path inside the volume instead of its root."""
    sub_path_expr: str | None = None
    mount_propagation: str | None = None
    recursive_read_only: str | None = None


class ExecAction(K8sModel):
    """Run a command in the container; exit status 0 is success."""

    command: list[str] | None = None
    """The command and its arguments (not run in a shell)."""


class HTTPHeader(K8sModel):
    """A header sent with an HTTP probe."""

    name: str
    value: str


class HTTPGetAction(K8sModel):
    """An HTTP GET; a status from 200 to 399 is success."""

    port: IntOrString
    """The port: a number or a container port's name."""
    path: str | None = None
    """The request path."""
    host: str | None = None
    """The host to connect to (default: the pod IP)."""
    scheme: str | None = None
    """HTTP (the default) or HTTPS."""
    http_headers: list[HTTPHeader] | None = None


class TCPSocketAction(K8sModel):
    """Open a TCP connection; success if it connects."""

    port: IntOrString
    """The port: a number or a container port's name."""
    host: str | None = None


class Probe(K8sModel):
    """A check the kubelet runs against a container to decide if it is alive, ready or started."""

    exec: ExecAction | None = None
    """Run a command in the container."""
    http_get: HTTPGetAction | None = None
    """Send an HTTP GET."""
    tcp_socket: TCPSocketAction | None = None
    """Open a TCP connection."""
    grpc: AnyDict | None = None
    initial_delay_seconds: int | None = None
    """Seconds after the container starts before the first check."""
    timeout_seconds: int | None = None
    """Seconds a check may take (default 1)."""
    period_seconds: int | None = None
    """Seconds between checks (default 10)."""
    success_threshold: int | None = None
    """Consecutive successes after a failure to count as passing (default 1)."""
    failure_threshold: int | None = None
    """Consecutive failures to count as failing (default 3)."""
    termination_grace_period_seconds: Int64 | None = None


class SleepAction(K8sModel):
    """Sleep for a number of seconds."""

    seconds: Int64


class LifecycleHandler(K8sModel):
    """What a lifecycle hook does: exactly one action."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    sleep: SleepAction | None = None
    tcp_socket: TCPSocketAction | None = None


class Lifecycle(K8sModel):
    """Hooks run when a container starts and before it is stopped."""

    post_start: LifecycleHandler | None = None
    """Run right after the container is created; it is killed if this fails."""
    pre_stop: LifecycleHandler | None = None
    """Run before the container is sent its stop signal."""
    stop_signal: str | None = None


class ContainerRestartRuleOnExitCodes(K8sModel):
    """Exit codes a restart rule matches."""

    operator: str
    values: list[Int32] | None = None


class ContainerRestartRule(K8sModel):
    """KEP-5307: how one exit of a container is handled (first matching rule wins)."""

    action: str
    exit_codes: ContainerRestartRuleOnExitCodes | None = None


class Container(K8sModel):
    """A container of a pod: an image, its command, and what it needs."""

    name: str
    """Unique within the pod."""
    image: str | None = None
    """The image to run."""
    command: list[str] | None = None
    """The entrypoint, replacing the image's ENTRYPOINT; not run in a shell."""
    args: list[str] | None = None
    """Arguments to the entrypoint, replacing the image's CMD."""
    working_dir: str | None = None
    """The working directory; defaults to the image's."""
    ports: list[ContainerPort] | None = None
    """Ports the container listens on (informational, and names for services and probes)."""
    env: list[EnvVar] | None = None
    """Environment variables to set."""
    env_from: list[AnyDict] | None = None
    resources: ResourceRequirements | None = None
    """Compute resources the container requests and is limited to."""
    resize_policy: list[AnyDict] | None = None
    restart_policy: str | None = None
    restart_policy_rules: list[ContainerRestartRule] | None = None
    volume_mounts: list[VolumeMount] | None = None
    """Pod volumes to mount into the container's filesystem."""
    volume_devices: list[AnyDict] | None = None
    liveness_probe: Probe | None = None
    """A check whose failure restarts the container."""
    readiness_probe: Probe | None = None
    """A check whose failure takes the pod out of service."""
    startup_probe: Probe | None = None
    """A check that must pass before the other probes start."""
    lifecycle: Annotated[AnyDict, OpenAPIShape(Lifecycle)] | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    image_pull_policy: str | None = None
    """Always, IfNotPresent or Never."""
    security_context: Annotated[AnyDict, OpenAPIShape(SecurityContext)] | None = None
    stdin: bool | None = None
    """Keep stdin open for attach."""
    stdin_once: bool | None = None
    tty: bool | None = None


class EphemeralContainer(Container):
    """A container added to a running pod (``kubectl debug``): run once, never restarted; with
    ``targetContainerName`` it shares that container's process namespace."""

    target_container_name: str | None = None


class EmptyDirVolumeSource(K8sModel):
    """A directory that starts empty and lives as long as the pod."""

    medium: str | None = None
    size_limit: str | None = None


class HostPathVolumeSource(K8sModel):
    """A file or directory of the node."""

    path: str
    type: str | None = None


class Volume(K8sModel):
    """A named volume that containers of the pod can mount; exactly one source is set."""

    name: str
    empty_dir: EmptyDirVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None
    config_map: Annotated[AnyDict, OpenAPIShape(ConfigMapVolumeSource)] | None = None
    secret: Annotated[AnyDict, OpenAPIShape(SecretVolumeSource)] | None = None
    persistent_volume_claim: AnyDict | None = None
    projected: AnyDict | None = None
    downward_api: AnyDict | None = Field(default=None, alias="downwardAPI")
    nfs: AnyDict | None = None
    csi: AnyDict | None = None
    ephemeral: AnyDict | None = None
    image: AnyDict | None = None


class Toleration(K8sModel):
    """Allows a pod onto nodes with a matching taint."""

    key: str | None = None
    """The taint key; empty with operator Exists matches every taint."""
    operator: str | None = None
    """Equal (the default) or Exists."""
    value: str | None = None
    """The taint value for Equal."""
    effect: str | None = None
    """NoSchedule, PreferNoSchedule or NoExecute; empty matches all."""
    toleration_seconds: Int64 | None = None
    """With NoExecute: how long the pod stays after the taint appears."""


class PodSpec(K8sModel):
    """The desired state of a pod: its containers, volumes, and where and how it runs."""

    containers: list[Container]
    """The pod's containers; at least one."""
    init_containers: list[Container] | None = None
    ephemeral_containers: list[EphemeralContainer] | None = None
    volumes: list[Volume] | None = None
    restart_policy: str | None = None
    """Always (the default), OnFailure or Never."""
    termination_grace_period_seconds: Int64 | None = None
    """Seconds between SIGTERM and SIGKILL when the pod is deleted (default 30)."""
    active_deadline_seconds: Int64 | None = None
    """Seconds the pod may run before it is failed."""
    dns_policy: str | None = None
    dns_config: Annotated[AnyDict, OpenAPIShape(PodDNSConfig)] | None = None
    node_selector: dict[str, str] | None = None
    """Labels a node must have for the pod to be scheduled there."""
    node_name: str | None = None
    """The node the pod runs on; set by the scheduler."""
    service_account_name: str | None = None
    """The service account whose token the pod gets."""
    service_account: str | None = None
    automount_service_account_token: bool | None = None
    host_network: bool | None = None
    """Use the node's network namespace."""
    host_pid: bool | None = Field(default=None, alias="hostPID")
    host_ipc: bool | None = Field(default=None, alias="hostIPC")
    host_users: bool | None = None
    share_process_namespace: bool | None = None
    security_context: Annotated[AnyDict, OpenAPIShape(PodSecurityContext)] | None = None
    image_pull_secrets: list[AnyDict] | None = None
    hostname: str | None = None
    """The pod's hostname; defaults to its name."""
    subdomain: str | None = None
    affinity: Annotated[AnyDict, OpenAPIShape(Affinity)] | None = None
    scheduler_name: str | None = None
    """The scheduler that places the pod."""
    tolerations: list[Toleration] | None = None
    """Taints the pod tolerates."""
    host_aliases: list[Annotated[AnyDict, OpenAPIShape(HostAlias)]] | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    """The pod's priority, from its priority class."""
    readiness_gates: list[AnyDict] | None = None
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None
    preemption_policy: str | None = None
    overhead: dict[str, str] | None = None
    topology_spread_constraints: list[Annotated[AnyDict, OpenAPIShape(TopologySpreadConstraint)]] | None = None
    set_hostname_as_fqdn: bool | None = Field(default=None, alias="setHostnameAsFQDN")
    os: AnyDict | None = None
    scheduling_gates: list[AnyDict] | None = None
    resource_claims: list[AnyDict] | None = None
    resources: ResourceRequirements | None = None


class ContainerStateWaiting(K8sModel):
    """A container that is not running yet, with the reason."""

    reason: str | None = None
    message: str | None = None


class ContainerStateRunning(K8sModel):
    """A running container and when it started."""

    started_at: str | None = None


class ContainerStateTerminated(K8sModel):
    """A container that exited, with its exit code."""

    exit_code: int
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = Field(default=None, alias="containerID")


class ContainerState(K8sModel):
    """A container's state: exactly one of waiting, running or terminated."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(K8sModel):
    """What the kubelet observed of one container."""

    name: str
    """The container's name."""
    ready: bool = False
    """Whether its readiness probe passes."""
    restart_count: int = 0
    """How many times the container was restarted."""
    image: str = ""
    image_id: str = Field(default="", alias="imageID")
    container_id: str | None = Field(default=None, alias="containerID")
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    started: bool | None = None


class PodIP(K8sModel):
    """An IP address of a pod."""

    ip: str


class PodStatus(K8sModel):
    """What the kubelet last observed of a pod."""

    phase: str | None = None
    """Pending, Running, Succeeded, Failed or Unknown."""
    conditions: list[Condition] | None = None
    """PodScheduled, Initialized, ContainersReady and Ready."""
    message: str | None = None
    reason: str | None = None
    host_ip: str | None = Field(default=None, alias="hostIP")
    host_ips: list[PodIP] | None = Field(default=None, alias="hostIPs")
    pod_ip: str | None = Field(default=None, alias="podIP")
    pod_ips: list[PodIP] | None = Field(default=None, alias="podIPs")
    start_time: str | None = None
    init_container_statuses: list[ContainerStatus] | None = None
    container_statuses: list[ContainerStatus] | None = None
    ephemeral_container_statuses: list[ContainerStatus] | None = None
    qos_class: str | None = None
    nominated_node_name: str | None = None
    observed_generation: Int64 | None = None


class Pod(TypedObject):
    """A Pod is a group of containers that run together on one node, sharing network and storage."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "Pod"
    api_version: str = "v1"
    kind: str = "Pod"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec
    """The desired state of the pod."""
    status: PodStatus | None = None
    """The observed state, written by the kubelet."""


class PodTemplateSpec(K8sModel):
    """The pods a controller creates: their metadata and spec."""

    metadata: ObjectMeta | None = None
    """Labels and annotations of the pods."""
    spec: PodSpec
    """The pods' spec."""


class Taint(K8sModel):
    """Keeps pods off a node unless they tolerate it."""

    key: str
    effect: str
    value: str | None = None
    time_added: str | None = None


class NodeSpec(K8sModel):
    """How a node is configured."""

    pod_cidr: str | None = Field(default=None, alias="podCIDR")
    pod_cidrs: list[str] | None = Field(default=None, alias="podCIDRs")
    provider_id: str | None = Field(default=None, alias="providerID")
    unschedulable: bool | None = None
    """When true, no new pods are scheduled to the node (cordon)."""
    taints: list[Taint] | None = None
    """Taints that repel pods that do not tolerate them."""
    config_source: AnyDict | None = None
    external_id: str | None = Field(default=None, alias="externalID")


class NodeAddress(K8sModel):
    """An address of a node: a type (InternalIP, Hostname, ...) and the address."""

    type: str
    address: str


class NodeSystemInfo(K8sModel):
    """Facts about a node's machine and software."""

    machine_id: str = Field(default="", alias="machineID")
    system_uuid: str = Field(default="", alias="systemUUID")
    boot_id: str = Field(default="", alias="bootID")
    kernel_version: str = ""
    os_image: str = ""
    container_runtime_version: str = ""
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    operating_system: str = ""
    architecture: str = ""


class NodeStatus(K8sModel):
    """What the kubelet last reported about its node."""

    capacity: dict[str, str] | None = None
    """The node's total resources."""
    allocatable: dict[str, str] | None = None
    """What pods may use."""
    phase: str | None = None
    conditions: list[Condition] | None = None
    """Ready and the pressure conditions."""
    addresses: list[NodeAddress] | None = None
    """How to reach the node."""
    daemon_endpoints: AnyDict | None = None
    node_info: NodeSystemInfo | None = None
    images: list[AnyDict] | None = None
    volumes_in_use: list[str] | None = None
    volumes_attached: list[AnyDict] | None = None
    config: AnyDict | None = None
    runtime_handlers: list[AnyDict] | None = None
    features: AnyDict | None = None


class Node(TypedObject):
    """A Node is a machine that runs pods, reported by its kubelet."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "Node"
    api_version: str = "v1"
    kind: str = "Node"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: NodeSpec = Field(default_factory=NodeSpec)
    """How the node is configured."""
    status: NodeStatus | None = None
    """What the kubelet last reported."""


class NamespaceSpec(K8sModel):
    """The finalizers a namespace waits for before it is removed."""

    finalizers: list[str] | None = None


class NamespaceStatus(K8sModel):
    """The namespace's phase: Active or Terminating."""

    phase: str | None = None
    conditions: list[Condition] | None = None


class Namespace(TypedObject):
    """A Namespace is a scope for names, and the unit of deletion of everything in it."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "Namespace"
    api_version: str = "v1"
    kind: str = "Namespace"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: NamespaceSpec | None = None
    status: NamespaceStatus | None = None


class ObjectReference(K8sModel):
    """A reference to an object, or a part of one."""

    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    api_version: str | None = None
    resource_version: str | None = None
    field_path: str | None = None


class EventSource(K8sModel):
    """The component and host that reported an event."""

    component: str | None = None
    host: str | None = None


class Event(TypedObject):
    """An Event reports something that happened to an object, such as a pod scheduled or an image pulled."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "Event"
    api_version: str = "v1"
    kind: str = "Event"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    involved_object: ObjectReference = Field(default_factory=ObjectReference)
    """The object the event is about."""
    reason: str | None = None
    """A CamelCase word saying what happened."""
    message: str | None = None
    """A sentence for humans."""
    source: EventSource | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    count: int | None = None
    """How many times it happened."""
    type: str | None = None
    """Normal or Warning."""
    event_time: str | None = None
    series: AnyDict | None = None
    action: str | None = None
    related: ObjectReference | None = None
    reporting_component: str | None = None
    reporting_instance: str | None = None


class ServicePort(K8sModel):
    """A port a service exposes and where it sends traffic."""

    port: int
    """The port the service listens on."""
    name: str | None = None
    """Unique within the service when there are several ports."""
    protocol: str | None = None
    """TCP (the default), UDP or SCTP."""
    target_port: IntOrString | None = None
    """The pods' port: a number or a container port's name (default: port)."""
    node_port: int | None = None
    app_protocol: str | None = None


class ServiceSpec(K8sModel):
    """What a service exposes and which pods receive its traffic."""

    ports: list[ServicePort] | None = None
    """The ports the service exposes."""
    selector: dict[str, str] | None = None
    """Labels of the pods that receive traffic."""
    cluster_ip: str | None = Field(default=None, alias="clusterIP")
    cluster_ips: list[str] | None = Field(default=None, alias="clusterIPs")
    type: str | None = None
    """ClusterIP (the default), NodePort, LoadBalancer or ExternalName."""
    external_ips: list[str] | None = Field(default=None, alias="externalIPs")
    session_affinity: str | None = None
    load_balancer_ip: str | None = Field(default=None, alias="loadBalancerIP")
    external_name: str | None = None
    external_traffic_policy: str | None = None
    internal_traffic_policy: str | None = None
    ip_families: list[str] | None = Field(default=None, alias="ipFamilies")
    ip_family_policy: str | None = Field(default=None, alias="ipFamilyPolicy")
    publish_not_ready_addresses: bool | None = None
    """Endpoints list pods whether ready or not (headless Services of StatefulSets use it)."""
    session_affinity_config: AnyDict | None = None
    """``{"clientIP": {"timeoutSeconds": N}}`` with sessionAffinity ClientIP (default 10800)."""
    allocate_load_balancer_node_ports: bool | None = None
    health_check_node_port: int | None = None
    traffic_distribution: str | None = None


class EndpointAddress(K8sModel):
    """One endpoint of a Service: a pod's IP."""

    ip: str
    hostname: str | None = None
    node_name: str | None = None
    target_ref: ObjectReference | None = None


class EndpointPort(K8sModel):
    """A port of every address of a subset; ``name`` matches the Service port's name."""

    port: int
    name: str | None = None
    protocol: str | None = None
    app_protocol: str | None = None


class EndpointSubset(K8sModel):
    """Addresses sharing one set of ports; not-ready ones are listed apart."""

    addresses: list[EndpointAddress] | None = None
    not_ready_addresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(TypedObject):
    """The addresses a Service sends traffic to, kept by the endpoints controller (named as the Service)."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "Endpoints"
    api_version: str = "v1"
    kind: str = "Endpoints"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subsets: list[EndpointSubset] | None = None


class Service(TypedObject):
    """A Service gives a set of pods one stable name and address."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "Service"
    api_version: str = "v1"
    kind: str = "Service"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ServiceSpec = Field(default_factory=ServiceSpec)
    """What the service exposes and to which pods."""
    status: AnyDict | None = None


class ConfigMap(TypedObject):
    """A ConfigMap holds configuration for pods as key/value pairs."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "ConfigMap"
    api_version: str = "v1"
    kind: str = "ConfigMap"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    data: dict[str, str] | None = None
    """UTF-8 values by key."""
    binary_data: dict[str, str] | None = None
    """Base64-encoded binary values by key."""
    immutable: bool | None = None
    """When true, the data cannot be changed."""


class Secret(TypedObject):
    """A Secret holds sensitive data such as passwords and tokens."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "Secret"
    api_version: str = "v1"
    kind: str = "Secret"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    data: dict[str, str] | None = None
    """Base64-encoded values by key."""
    string_data: dict[str, str] | None = None
    """Plain-text values by key, merged into data on write."""
    type: str | None = None
    """The kind of secret (Opaque, kubernetes.io/tls, ...)."""
    immutable: bool | None = None
    """When true, the data cannot be changed."""


class Binding(TypedObject):
    """Binds a pod to a node; what the scheduler posts."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "Binding"
    api_version: str = "v1"
    kind: str = "Binding"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    target: ObjectReference
    """The node."""


class ReplicationControllerSpec(K8sModel):
    """The desired state of a ReplicationController."""

    replicas: Int32 | None = None
    """How many pods to run (default 1)."""
    min_ready_seconds: Int32 | None = None
    """Seconds a new pod must be ready before it counts as available (default 0)."""
    selector: dict[str, str] | None = None
    """Labels a pod must carry, all of them, to belong here (defaults to the template's labels)."""
    template: PodTemplateSpec | None = None
    """The pods to create when there are too few (required by validation)."""


class ReplicationControllerStatus(K8sModel):
    """What the replication controller last observed."""

    replicas: int = 0
    """Pods that currently match the selector."""
    fully_labeled_replicas: int | None = None
    ready_replicas: int | None = None
    """Pods whose Ready condition is true."""
    available_replicas: int | None = None
    """Pods ready for at least minReadySeconds."""
    observed_generation: Int64 | None = None
    conditions: list[Condition] | None = None


class ReplicationController(TypedObject):
    """The ReplicaSet's predecessor: a set number of pods selected by label equality only."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "ReplicationController"
    api_version: str = "v1"
    kind: str = "ReplicationController"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReplicationControllerSpec = Field(default_factory=ReplicationControllerSpec)
    """The desired state: the pod template, selector and replica count."""
    status: ReplicationControllerStatus | None = None
    """The observed state, written by the replication controller."""
