"""DNS names of a pod on its node network: its own name, and the Services that select it.

podvisor has no service proxy. Instead, a pod selected by a Service gets the Service's names as
network aliases on the Docker network, and Docker's embedded DNS answers a name shared by
several containers with all of them in turn (DNS round robin). ``web``, ``web.demo``,
``web.demo.svc`` and ``web.demo.svc.cluster.local`` thus reach the pods of Service ``web`` in
namespace ``demo``, as a headless Service does in Kubernetes. Aliases are fixed when the pod's
sandbox joins the network: a Service created later applies to pods started after it.
"""

from __future__ import annotations

from collections.abc import Iterable

from apimachinery.models.core import Pod, Service

CLUSTER_DOMAIN = "cluster.local"


def service_names(service: Service) -> list[str]:
    name, namespace = service.metadata.name, service.metadata.namespace or "default"
    return [f"{name}", f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}"]


def selects(service: Service, pod: Pod) -> bool:
    """Kubernetes' rule: a Service with a non-empty selector selects pods in its namespace whose
    labels include every selector pair; a Service without a selector selects nothing."""
    selector = service.spec.selector or {}
    if not selector or service.metadata.namespace != pod.metadata.namespace:
        return False
    labels = pod.metadata.labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def pod_aliases(pod: Pod, services: Iterable[Service]) -> list[str]:
    """The pod's name, then the names of every Service selecting it (sorted, no duplicates)."""
    aliases = [str(pod.metadata.name)]
    if pod.spec.hostname and pod.spec.subdomain:
        aliases.append(f"{pod.spec.hostname}.{pod.spec.subdomain}")
    for service in sorted(services, key=lambda s: str(s.metadata.name)):
        if selects(service, pod):
            aliases.extend(n for n in service_names(service) if n not in aliases)
    return aliases
