"""Service environment variables: the docker-link-style names Kubernetes gives every container.

As the kubelet's ``getServiceEnvVarMap``: the Services of the pod's namespace when
``enableServiceLinks`` (default true), and the ``kubernetes`` Service of ``default`` always (a
Service of the pod's own namespace with that name wins over it). A Service without a ClusterIP
(headless, ExternalName, not allocated yet) gives nothing. For Service ``my-web`` at 10.96.0.7
with ports ``http`` 80/TCP and 53/UDP::

    MY_WEB_SERVICE_HOST=10.96.0.7       MY_WEB_SERVICE_PORT=80     MY_WEB_SERVICE_PORT_HTTP=80
    MY_WEB_PORT=tcp://10.96.0.7:80      MY_WEB_PORT_80_TCP=tcp://10.96.0.7:80
    MY_WEB_PORT_80_TCP_PROTO=tcp        MY_WEB_PORT_80_TCP_PORT=80 MY_WEB_PORT_80_TCP_ADDR=10.96.0.7
    MY_WEB_PORT_53_UDP=udp://10.96.0.7:53 ...

The environment builder puts these first, so the container's own ``env`` and ``envFrom`` win
(:mod:`kubelet.environment`).
"""

from __future__ import annotations

from collections.abc import Iterable

from apimachinery.models.core import Pod, Service

MASTER_NAMESPACE = "default"
MASTER_SERVICES = frozenset({"kubernetes"})


def variable_name(name: str) -> str:
    """``my-web`` -> ``MY_WEB`` (Kubernetes' makeEnvVariableName)."""
    return name.upper().replace("-", "_")


def has_cluster_ip(service: Service) -> bool:
    ip = service.spec.cluster_ip or ""
    return bool(ip) and ip != "None"


def services_for(pod: Pod, services: Iterable[Service]) -> list[Service]:
    """The Services whose variables the pod's containers get, one per name."""
    namespace = pod.metadata.namespace or "default"
    links = pod.spec.enable_service_links is not False
    chosen: dict[str, Service] = {}
    for service in services:
        name = str(service.metadata.name)
        service_ns = service.metadata.namespace or "default"
        if not has_cluster_ip(service):
            continue
        if service_ns == namespace and links:
            chosen[name] = service
        elif service_ns == MASTER_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
    return [chosen[n] for n in sorted(chosen)]


def service_variables(service: Service) -> dict[str, str]:
    """One Service's variables (see the module's docstring); none without ports."""
    ports = service.spec.ports or []
    if not has_cluster_ip(service) or not ports:
        return {}
    prefix = variable_name(str(service.metadata.name))
    ip = str(service.spec.cluster_ip)
    env = {f"{prefix}_SERVICE_HOST": ip, f"{prefix}_SERVICE_PORT": str(ports[0].port)}
    for port in ports:
        if port.name:
            env[f"{prefix}_SERVICE_PORT_{variable_name(port.name)}"] = str(port.port)
    for index, port in enumerate(ports):
        proto = (port.protocol or "TCP").upper()
        url = f"{proto.lower()}://{ip}:{port.port}"
        link = f"{prefix}_PORT_{port.port}_{proto}"
        if index == 0:
            env[f"{prefix}_PORT"] = url
        env.update(
            {link: url, f"{link}_PROTO": proto.lower(), f"{link}_PORT": str(port.port), f"{link}_ADDR": ip}
        )
    return env


def service_env(pod: Pod, services: Iterable[Service]) -> dict[str, str]:
    """Every variable the pod's containers get from Services."""
    env: dict[str, str] = {}
    for service in services_for(pod, services):
        env.update(service_variables(service))
    return env
