"""The shapes of pod-spec structures podvisor stores as plain dicts: for the OpenAPI schemas only.

Fields such as ``securityContext`` or ``affinity`` stay dicts at runtime (the kubelet, scheduler
and admission read them as dicts, and they are stored verbatim). Their Kubernetes structure is
still published, through :class:`~apimachinery.models.base.OpenAPIShape`, because kubectl walks
the schema of every nested map it diffs for ``apply``: an object schema without properties makes
it give up on the server's schemas and warn. ``kubectl explain`` shows these fields too.
"""

from __future__ import annotations

from apimachinery.models.base import Int32, Int64, K8sModel
from apimachinery.models.meta import LabelSelector


class Capabilities(K8sModel):
    """POSIX capabilities to add to or drop from a container's default set."""

    add: list[str] | None = None
    """Capabilities to add, such as NET_ADMIN."""
    drop: list[str] | None = None
    """Capabilities to drop; ALL drops every one."""


class SELinuxOptions(K8sModel):
    """The SELinux label of a container."""

    level: str | None = None
    role: str | None = None
    type: str | None = None
    user: str | None = None


class SeccompProfile(K8sModel):
    """The seccomp filter a container runs under."""

    type: str
    """RuntimeDefault, Localhost or Unconfined."""
    localhost_profile: str | None = None
    """With type Localhost: the profile's path on the node."""


class AppArmorProfile(K8sModel):
    """The AppArmor profile a container runs under."""

    type: str
    """RuntimeDefault, Localhost or Unconfined."""
    localhost_profile: str | None = None


class WindowsSecurityContextOptions(K8sModel):
    """Windows-only settings of a container."""

    gmsa_credential_spec: str | None = None
    gmsa_credential_spec_name: str | None = None
    host_process: bool | None = None
    run_as_user_name: str | None = None


class SecurityContext(K8sModel):
    """Security settings of one container; they override the pod's securityContext."""

    allow_privilege_escalation: bool | None = None
    """Whether a process may gain more privileges than its parent (no_new_privs unset)."""
    app_armor_profile: AppArmorProfile | None = None
    capabilities: Capabilities | None = None
    """Capabilities to add and drop."""
    privileged: bool | None = None
    """Run with every capability and device of the host."""
    proc_mount: str | None = None
    read_only_root_filesystem: bool | None = None
    """Mount the container's root filesystem read-only."""
    run_as_group: Int64 | None = None
    run_as_non_root: bool | None = None
    """Refuse to start a container whose user is root."""
    run_as_user: Int64 | None = None
    """The UID the entrypoint runs as."""
    se_linux_options: SELinuxOptions | None = None
    seccomp_profile: SeccompProfile | None = None
    windows_options: WindowsSecurityContextOptions | None = None


class Sysctl(K8sModel):
    """A namespaced kernel parameter to set for the pod."""

    name: str
    value: str


class PodSecurityContext(K8sModel):
    """Security settings shared by every container of a pod."""

    app_armor_profile: AppArmorProfile | None = None
    fs_group: Int64 | None = None
    """A group that owns the pod's volumes and is added to every container's groups."""
    fs_group_change_policy: str | None = None
    run_as_group: Int64 | None = None
    run_as_non_root: bool | None = None
    run_as_user: Int64 | None = None
    """The UID every container's entrypoint runs as, unless the container says otherwise."""
    se_linux_change_policy: str | None = None
    se_linux_options: SELinuxOptions | None = None
    seccomp_profile: SeccompProfile | None = None
    supplemental_groups: list[Int64] | None = None
    supplemental_groups_policy: str | None = None
    sysctls: list[Sysctl] | None = None
    windows_options: WindowsSecurityContextOptions | None = None


class NodeSelectorRequirement(K8sModel):
    """A condition on a node's labels or fields."""

    key: str
    operator: str
    """In, NotIn, Exists, DoesNotExist, Gt or Lt."""
    values: list[str] | None = None


class NodeSelectorTerm(K8sModel):
    """Conditions that must all hold for a node to match."""

    match_expressions: list[NodeSelectorRequirement] | None = None
    match_fields: list[NodeSelectorRequirement] | None = None


class NodeSelector(K8sModel):
    """Terms of which at least one must match."""

    node_selector_terms: list[NodeSelectorTerm]


class PreferredSchedulingTerm(K8sModel):
    """A node preference and its weight (1-100)."""

    preference: NodeSelectorTerm
    weight: Int32


class NodeAffinity(K8sModel):
    """Which nodes the pod must or would rather run on."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    """Nodes outside these terms are never chosen."""
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] | None = None
    """Nodes matching these terms score higher."""


class PodAffinityTerm(K8sModel):
    """Pods, selected by labels, that a pod wants (or refuses) as neighbours in a topology domain."""

    label_selector: LabelSelector | None = None
    match_label_keys: list[str] | None = None
    mismatch_label_keys: list[str] | None = None
    namespace_selector: LabelSelector | None = None
    namespaces: list[str] | None = None
    topology_key: str
    """The node label whose value defines a domain, such as kubernetes.io/hostname."""


class WeightedPodAffinityTerm(K8sModel):
    """A pod affinity term and its weight (1-100)."""

    pod_affinity_term: PodAffinityTerm
    weight: Int32


class PodAffinity(K8sModel):
    """Pods this pod should run near."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = None
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = None


class PodAntiAffinity(PodAffinity):
    """Pods this pod should run away from."""


class Affinity(K8sModel):
    """Scheduling constraints: node affinity, and pod affinity and anti-affinity."""

    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAntiAffinity | None = None


class PodDNSConfigOption(K8sModel):
    """A resolver option, such as ndots:2."""

    name: str | None = None
    value: str | None = None


class PodDNSConfig(K8sModel):
    """DNS settings merged into those the DNS policy produces."""

    nameservers: list[str] | None = None
    options: list[PodDNSConfigOption] | None = None
    searches: list[str] | None = None


class HostAlias(K8sModel):
    """Host names an IP address gets in the pod's /etc/hosts."""

    ip: str
    hostnames: list[str] | None = None


class TopologySpreadConstraint(K8sModel):
    """How evenly matching pods must be spread across topology domains."""

    label_selector: LabelSelector | None = None
    match_label_keys: list[str] | None = None
    max_skew: Int32
    """The largest allowed difference of matching pods between two domains."""
    min_domains: Int32 | None = None
    node_affinity_policy: str | None = None
    node_taints_policy: str | None = None
    topology_key: str
    when_unsatisfiable: str
    """DoNotSchedule or ScheduleAnyway."""


class KeyToPath(K8sModel):
    """A key of a ConfigMap or Secret and the file it becomes in the volume."""

    key: str
    path: str
    mode: Int32 | None = None


class ConfigMapVolumeSource(K8sModel):
    """A volume whose files are the keys of a ConfigMap."""

    name: str | None = None
    """The ConfigMap's name."""
    items: list[KeyToPath] | None = None
    """Only these keys, at these paths (default: every key, named by the key)."""
    default_mode: Int32 | None = None
    optional: bool | None = None


class SecretVolumeSource(K8sModel):
    """A volume whose files are the keys of a Secret."""

    secret_name: str | None = None
    """The Secret's name."""
    items: list[KeyToPath] | None = None
    default_mode: Int32 | None = None
    optional: bool | None = None
