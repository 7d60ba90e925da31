"""The node agent's entry points: ``run_kubelet`` (one real node) and ``run_hollow_kubelets``.

``Kubelet`` wires one node from injected parts (API client, runtime, pod informer, clock), so
the same class runs a real node on Docker and a hollow node on the in-memory runtime. Start-up
order matters for re-adoption after a restart: subscribe to runtime events, then learn the
desired pods, and only then treat unknown containers as orphans.

Before anything else a kubelet obtains its identity (:mod:`kubelet.join`): its own credential
and serving certificate, reused from its ``--cert-dir`` or obtained by joining.

Shutdown (cancellation) stops the kubelet's own tasks and leaves the containers running: a
restarted kubelet finds them by label and adopts them without restarting any.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.events import EventRecorder
from apimachinery.informer import Informer
from apimachinery.kubeconfig import load_kubeconfig
from apimachinery.models.core import Node, Pod, Service
from apimachinery.models.discovery import EndpointSlice
from apimachinery.models.meta import ObjectMeta
from apimachinery.models.storage import LOCAL_PATH_ROOT_ANNOTATION
from apimachinery.timeutil import Clock, SystemClock
from kubelet import naming, portforward, summary
from kubelet.apirelay import ApiRelay, upstream_of
from kubelet.claims import ClaimVolumes
from kubelet.clusterdns.serving import ClusterDns, cluster_dns
from kubelet.config import KubeletConfig
from kubelet.context import ClientPodApi, NodeContext
from kubelet.dns import PodDns
from kubelet.hoststats import read_host
from kubelet.images import ImageManager
from kubelet.join import JoinError, NodeIdentity, default_cert_dir, ensure_identity
from kubelet.metrics import KubeletMetrics
from kubelet.node import MachineInfo, NodeAgent, node_status
from kubelet.podmanager import PodManager
from kubelet.proxy.setup import start_service_proxy
from kubelet.runtime.base import ContainerRuntime
from kubelet.runtime.instrumented import instrument
from kubelet.sandbox import ensure_pause_image
from kubelet.server import NodeLogs, ServingCert, bind_socket, create_app, serve, serving_context
from kubelet.threads import InlineRunner, Runner, ThreadRunner
from kubelet.tmpfs import Tmpfs
from kubelet.tokens import ClientTokenRequester, TokenManager
from kubelet.volumes import ClientConfigMaps, ProjectedVolumes

log = logging.getLogger(__name__)
_STARTUP_RETRY = 1.0
# Pod API calls queue on a semaphore below the pool size, leaving room for the informers'
# watch streams; Events have a pool of their own so they never wait in front of a status write.
API_CONNECTIONS = 40
API_CALLS = 32
EVENT_CONNECTIONS = 4
HOLLOW_NODE_CONNECTIONS = 4  # per hollow node: its Lease, its pods' status, its events
EVENT_QPS, EVENT_BURST = 50.0, 100  # the kubelet's eventRecordQPS / eventBurst defaults


@dataclass
class Kubelet:
    """One node: registration and heartbeat, the pod sync loop, runtime events and relists."""

    cfg: KubeletConfig
    client: ApiClient
    runtime: ContainerRuntime
    run: Runner
    pods: Informer[Pod]
    clock: Clock = field(default_factory=SystemClock)
    machine: MachineInfo = field(default_factory=MachineInfo.detect)
    watch_runtime_events: bool = True
    port: int = 0
    heartbeat_client: ApiClient | None = None  # its own connection pool: pod traffic never delays the Lease
    events_client: ApiClient | None = None  # its own connection pool, for the same reason
    nodes: Informer[Node] | None = None  # a cache holding this Node as the API has it
    api_limit: asyncio.Semaphore | None = None  # concurrent pod API calls, shared by the nodes of a process
    ctx: NodeContext = field(init=False)
    metrics: KubeletMetrics = field(init=False)
    manager: PodManager = field(init=False)
    agent: NodeAgent = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = KubeletMetrics()  # this node's own registry: many kubelets may share a process
        self.runtime = instrument(self.runtime, self.metrics.runtime_call)
        recorder = EventRecorder(self.events_client or self.client, "kubelet", host=self.cfg.node_name,
                                 qps=EVENT_QPS, burst=EVENT_BURST, monotonic=self.clock.monotonic)
        images = ImageManager(runtime=self.runtime, run=self.run, clock=self.clock.monotonic,
                              pull_failure_memory=self.cfg.pull_failure_memory)
        objects = ClientConfigMaps(self.client)
        self.ctx = NodeContext(cfg=self.cfg, runtime=self.runtime, run=self.run,
                               api=ClientPodApi(self.client, recorder, limit=self.api_limit or asyncio.Semaphore(API_CALLS)),
                               images=images, clock=self.clock,
                               lookup=self.pods.get, config_objects=objects, metrics=self.metrics)
        if not self.cfg.hollow:
            tokens = TokenManager(ClientTokenRequester(self.client), clock=self.clock)
            claims = ClaimVolumes(client=self.client, root=self.cfg.volumes_root(), node=self.cfg.node_name)
            self.ctx.projected = ProjectedVolumes(root=self.cfg.volumes_root(), tokens=tokens,
                                                  config_maps=objects, memory=Tmpfs(), claims=claims)
        self.manager = PodManager(self.ctx)
        self.metrics.watch_pods(self.manager.samples)

    def logs_for(self, namespace: str, name: str) -> NodeLogs | None:
        pod = self.pods.get(f"{namespace}/{name}")
        if pod is not None and pod.spec.node_name not in (None, self.cfg.node_name):
            return None
        return NodeLogs(node=self.cfg.node_name, runtime=self.runtime, run=self.run, pod=pod)

    async def prepare(self) -> None:
        """Everything before pods: runtime facts, the Node, the network and the sandbox image."""
        version = await self.run(self.runtime.version)
        self.ctx.runtime_scheme = version.split("://", 1)[0] or "docker"
        status = node_status(machine=self.machine, address=self.cfg.address, port=self.port,
                             runtime_version=version, max_pods=self.cfg.max_pods)
        self.ctx.allocatable = dict(status.allocatable or {})
        if self.ctx.projected is not None:
            self.ctx.projected.allocatable = self.ctx.allocatable
        self.agent = NodeAgent(
            client=self.heartbeat_client or self.client, name=self.cfg.node_name, status=lambda: status, clock=self.clock,
            lease_interval=self.cfg.lease_interval, lease_duration=self.cfg.lease_duration,
            status_interval=self.cfg.node_status_interval, labels=self._node_labels(),
            observed=self._observed_node, annotations=self._node_annotations(),
        )
        await _retry(self.agent.register, what=f"register node {self.cfg.node_name}")
        await _retry(self.agent.renew_lease, what=f"create the lease of node {self.cfg.node_name}")
        await self.run(self.runtime.ensure_network, self.ctx.network, naming.node_labels(self.cfg.node_name))
        await ensure_pause_image(self.ctx)

    def _observed_node(self) -> Node | None:
        return self.nodes.get(self.cfg.node_name) if self.nodes is not None else None

    def _node_annotations(self) -> dict[str, str]:
        """Where this node keeps local-path volumes, for the provisioner (:mod:`kubelet.claims`)."""
        claims = self.ctx.projected.claims if self.ctx.projected is not None else None
        return {LOCAL_PATH_ROOT_ANNOTATION: str(claims.storage)} if claims is not None else {}

    def _node_labels(self) -> dict[str, str]:
        arch = self.machine.architecture
        return {"kubernetes.io/hostname": self.cfg.node_name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": arch,
                **self.machine.extra_labels}

    def start_pods(self, tasks: list[asyncio.Task[None]]) -> None:
        """Hook the pod informer to the sync loop (its cached pods get workers at once)."""
        self.pods.add_handler(self.manager.on_pod, self.manager.on_pod_update, self.manager.on_pod_deleted)
        if self.watch_runtime_events:
            tasks.append(asyncio.create_task(self.manager.pump_events(), name="runtime-events"))

    async def adopt(self, tasks: list[asyncio.Task[None]]) -> None:
        """After the desired pods are known: orphans get torn down, then relist periodically."""
        self.manager.ready = True
        await _retry(self.manager.relist, what="list the node's containers")
        tasks.append(asyncio.create_task(self.manager.relist_forever(self.cfg.relist_interval), name="relist"))
        tasks.append(asyncio.create_task(self.agent.run(), name="node-heartbeat"))
        if self.ctx.projected is not None:
            tasks.append(asyncio.create_task(self._refresh_volumes(self.ctx.projected), name="volume-refresh"))

    async def _refresh_volumes(self, projected: ProjectedVolumes) -> None:
        """Rewrite volumes of API data as their objects, labels and tokens change (:mod:`kubelet.volumes`);
        first remove what pods that no longer exist left (a kubelet that crashed mid-teardown)."""
        await self.run(projected.remove_orphans, self._known_pod_uids())
        while True:
            await asyncio.sleep(self.cfg.volume_refresh_interval)
            try:
                await projected.refresh()
                if projected.claims is not None:
                    await projected.claims.clean_up()
            except Exception:  # noqa: BLE001 - a failed round is retried on the next
                log.exception("volume refresh failed")

    def _known_pod_uids(self) -> set[str]:
        """Pods of this node the API or the runtime still knows: their directories stay."""
        uids = {p.metadata.uid or "" for p in self.pods.list() if p.spec.node_name == self.cfg.node_name}
        return uids | set(self.manager.workers)

    async def serve_api_to_pods(self) -> ApiRelay | None:
        """Relay the node network's gateway to the API server (:mod:`kubelet.apirelay`)."""
        upstream = upstream_of(load_kubeconfig(self.cfg.kubeconfig).server)
        gateway = await self.run(self.runtime.network_gateway, self.ctx.network)
        if upstream is None or not gateway:
            log.warning("pods of node %s cannot reach the API server (server %s, gateway %r)",
                        self.cfg.node_name, upstream, gateway)
            return None
        relay = ApiRelay(upstream=upstream)
        try:
            self.ctx.in_cluster = await relay.start(gateway)
        except OSError as err:  # the pod network lives elsewhere (a remote Docker daemon)
            log.warning("pods of node %s cannot reach the API server: cannot listen on the pod network's "
                        "gateway %s: %s", self.cfg.node_name, gateway, err)
            return None
        return relay

    async def serve_dns_to_pods(self, services: Informer[Service], slices: Informer[EndpointSlice]) -> ClusterDns | None:
        """Write pods' resolv.conf naming the cluster DNS, and serve it on the pod network's gateway
        (:mod:`kubelet.clusterdns`); None: this node serves none (another may, at the same address)."""
        gateway = await self.run(self.runtime.network_gateway, self.ctx.network)
        nameserver = self.cfg.cluster_dns or gateway
        self.ctx.pod_dns = PodDns(root=self.cfg.volumes_root(), cluster_dns=[nameserver] if nameserver else [],
                                  host_resolv_conf=self.cfg.resolv_conf, zone=self.cfg.cluster_domain)
        if not gateway or not self.cfg.serve_dns:
            if not gateway:
                log.warning("node %s serves no cluster DNS: the pod network %s has no gateway", self.cfg.node_name,
                            self.ctx.network)
            return None
        return cluster_dns(services, slices, address=gateway, zone=self.cfg.cluster_domain,
                           resolv_conf=str(self.cfg.resolv_conf))

    def node_event(self, type_: str, reason: str, message: str) -> None:
        """An Event about this Node (its uid is its name, as the kubelet's node reference has it)."""
        ref = Node(metadata=ObjectMeta(name=self.cfg.node_name, uid=self.cfg.node_name))
        self.ctx.api.event(ref, type_, reason, message)  # type: ignore[arg-type]

    async def stop(self) -> None:
        await self.manager.stop()


async def _retry(fn, *, what: str) -> None:  # type: ignore[no-untyped-def]
    """Start-up steps wait for the apiserver and the runtime instead of failing the kubelet."""
    delay = _STARTUP_RETRY
    while True:
        try:
            await fn()
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - anything transient at start-up
            log.warning("cannot %s yet: %s; retrying in %.0fs", what, err, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def node_identity(cfg: KubeletConfig, *, cert_dir: Path | None = None) -> NodeIdentity:
    """The node's own credential and serving certificate: reused, or obtained by joining.

    The API server being unreachable is waited out; a refused join (JoinError) is not.
    """
    delay = _STARTUP_RETRY
    while True:
        try:
            return await ensure_identity(bootstrap=cfg.kubeconfig, node=cfg.node_name, addresses=[cfg.address],
                                         cert_dir=cert_dir or cfg.cert_dir or default_cert_dir(cfg.node_name))
        except JoinError:
            raise
        except ApiError as err:
            log.warning("cannot obtain the identity of node %s yet: %s; retrying in %.0fs", cfg.node_name, err, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def run_kubelet(cfg: KubeletConfig) -> None:
    """Run one node on Docker until cancelled."""
    from kubelet.runtime.docker import DockerRuntime

    identity = await node_identity(cfg)
    client = ApiClient.from_kubeconfig(identity.kubeconfig, user_agent=f"kubelet/{cfg.node_name}",
                                       max_connections=API_CONNECTIONS)
    heartbeat = ApiClient.from_kubeconfig(identity.kubeconfig, user_agent=f"kubelet/{cfg.node_name}", timeout=10.0,
                                          max_connections=4)
    events = ApiClient.from_kubeconfig(identity.kubeconfig, user_agent=f"kubelet/{cfg.node_name}",
                                       max_connections=EVENT_CONNECTIONS)
    tls = serving_context({cfg.node_name: ServingCert(identity.cert, identity.key)}, client_ca=identity.ca)
    runtime = DockerRuntime(cfg.docker_host)
    runner = ThreadRunner()
    sock = bind_socket(cfg.address, cfg.port)
    pods: Informer[Pod] = Informer(client, Pod, field_selector=f"spec.nodeName={cfg.node_name}")
    nodes: Informer[Node] = Informer(client, Node, field_selector=f"metadata.name={cfg.node_name}")
    kubelet = Kubelet(cfg=cfg, client=client, runtime=runtime, run=runner, pods=pods, port=sock.getsockname()[1],
                      heartbeat_client=heartbeat, events_client=events, nodes=nodes)
    services: Informer[Service] = Informer(client, Service)
    slices: Informer[EndpointSlice] = Informer(client, EndpointSlice)
    kubelet.ctx.services = services.list
    tasks: list[asyncio.Task[None]] = []
    relay: ApiRelay | None = None
    try:
        await kubelet.prepare()
        relay = await kubelet.serve_api_to_pods()
        dns_server = await kubelet.serve_dns_to_pods(services, slices)
        proxy = await start_service_proxy(kubelet.ctx, services=services, slices=slices, event=kubelet.node_event)
        if proxy is not None:
            tasks.append(asyncio.create_task(proxy.run(), name="service-proxy"))
        stats = summary.SummaryProvider(node=cfg.node_name, runtime=runtime, run=runner, lookup=pods.get, host=read_host)
        app = create_app(resolve=kubelet.logs_for, stream_idle_timeout=cfg.stream_idle_timeout,
                         metrics=lambda _server_name: kubelet.metrics,
                         summarize=summary.resolver({cfg.node_name: stats}))
        portforward.install(app, resolve=kubelet.logs_for, idle_timeout=cfg.stream_idle_timeout)
        tasks.append(asyncio.create_task(serve(app, sock, tls), name="kubelet-api"))
        nodes.add_handler(on_delete=lambda _node: kubelet.agent.node_deleted())  # re-register at once
        tasks.append(asyncio.create_task(nodes.run(), name="node-informer"))
        kubelet.start_pods(tasks)
        tasks.append(asyncio.create_task(services.run(), name="service-informer"))
        tasks.append(asyncio.create_task(slices.run(), name="endpointslice-informer"))
        tasks.append(asyncio.create_task(pods.run(), name="pod-informer"))
        await services.wait_synced()
        await slices.wait_synced()
        if dns_server is not None:
            tasks.append(asyncio.create_task(dns_server.run(), name="cluster-dns"))
        await pods.wait_synced()
        await kubelet.adopt(tasks)
        log.info("kubelet %s ready (API on %s:%d)", cfg.node_name, cfg.address, kubelet.port)
        await asyncio.Event().wait()
    finally:
        await _shutdown(tasks, kubelet)
        if relay is not None:
            await relay.close()
        for api in (client, heartbeat, events):
            await api.close()
        runner.shutdown()
        runtime.close()
        sock.close()


async def _shutdown(tasks: list[asyncio.Task[None]], *kubelets: Kubelet) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for kubelet in kubelets:
        with contextlib.suppress(Exception):
            await kubelet.stop()


async def run_hollow_kubelets(cfg: KubeletConfig, *, count: int) -> None:
    """Simulate ``count`` nodes ``{node_name}-{i}`` in this process (kubemark's hollow nodes).

    Shaped to scale to about 1000 nodes and 30000 pods: one pod informer (one watch) for all
    nodes, routed by ``spec.nodeName``; one in-memory runtime per node, called inline (no
    threads); no runtime event threads (fake containers only change when told, and the
    relist catches that); one log server for all nodes (each node's certificate picked by the
    TLS server name). Each node joins as itself and writes through its own small client, so
    the Node authorizer sees every node as the node it is; the informers read through one
    client with ``cfg.hollow_reader``'s identity.
    """
    from kubelet.hollow import HollowRuntime

    base_dir = cfg.cert_dir or default_cert_dir(cfg.node_name)
    node_cfgs = [replace(cfg, node_name=f"{cfg.node_name}-{i}", hollow=True) for i in range(count)]
    identities = await asyncio.gather(*(node_identity(c, cert_dir=base_dir / c.node_name) for c in node_cfgs))
    # every hollow node is a node of its own (its credential, its certificate) and writes as
    # itself; the shared informers read every node's pods, which no node may: they read as
    # the user of --hollow-read-kubeconfig
    clients = [ApiClient.from_kubeconfig(i.kubeconfig, user_agent=f"kubelet/{c.node_name}",
                                         max_connections=HOLLOW_NODE_CONNECTIONS)
               for c, i in zip(node_cfgs, identities, strict=True)]
    if cfg.hollow_reader is None:
        raise ValueError("hollow nodes need cfg.hollow_reader: a kubeconfig that may list every pod and node")
    client = ApiClient.from_kubeconfig(cfg.hollow_reader, user_agent="kubelet/hollow", max_connections=4)
    tls = serving_context({c.node_name: ServingCert(i.cert, i.key) for c, i in zip(node_cfgs, identities, strict=True)},
                          client_ca=identities[0].ca)
    sock = bind_socket(cfg.address, cfg.port)
    pods: Informer[Pod] = Informer(client, Pod)
    nodes: Informer[Node] = Informer(client, Node)
    machine = MachineInfo.detect()
    kubelets: dict[str, Kubelet] = {}
    limit = asyncio.Semaphore(API_CALLS)
    for node_cfg, own in zip(node_cfgs, clients, strict=True):
        kubelets[node_cfg.node_name] = Kubelet(
            cfg=node_cfg, client=own, runtime=HollowRuntime(), run=InlineRunner(), pods=pods, machine=machine,
            watch_runtime_events=False, port=sock.getsockname()[1], heartbeat_client=own, events_client=own,
            api_limit=limit, nodes=nodes,
        )
    tasks: list[asyncio.Task[None]] = []
    try:
        await asyncio.gather(*(k.prepare() for k in kubelets.values()))
        stats = {name: summary.SummaryProvider(node=name, runtime=k.runtime, run=k.run, lookup=pods.get)
                 for name, k in kubelets.items()}
        app = create_app(resolve=_hollow_resolver(pods, kubelets), metrics=_hollow_metrics(kubelets),
                         summarize=summary.resolver(stats))
        tasks.append(asyncio.create_task(serve(app, sock, tls)))
        pods.add_handler(*_route(kubelets))
        tasks.append(asyncio.create_task(pods.run(), name="pod-informer"))
        nodes.add_handler(on_delete=lambda node: _node_deleted(kubelets, node))
        tasks.append(asyncio.create_task(nodes.run(), name="node-informer"))
        await pods.wait_synced()
        for kubelet in kubelets.values():
            await kubelet.adopt(tasks)
            await asyncio.sleep(random.uniform(0, 0.01))  # spread the heartbeats
        log.info("%d hollow kubelets ready", count)
        await asyncio.Event().wait()
    finally:
        await _shutdown(tasks, *kubelets.values())
        for api in (client, *clients):
            await api.close()
        sock.close()


def _node_deleted(kubelets: dict[str, Kubelet], node: Node) -> None:
    if (kubelet := kubelets.get(node.metadata.name or "")) is not None:
        kubelet.agent.node_deleted()


def _route(kubelets: dict[str, Kubelet]):  # type: ignore[no-untyped-def]
    """Informer handlers that hand each pod event to the kubelet of the pod's node only."""

    def manager(pod: Pod) -> PodManager | None:
        kubelet = kubelets.get(pod.spec.node_name or "")
        return kubelet.manager if kubelet is not None else None

    def on_add(pod: Pod) -> None:
        if (m := manager(pod)) is not None:
            m.on_pod(pod)

    def on_update(old: Pod, new: Pod) -> None:
        if (m := manager(new)) is not None:
            m.on_pod(new)

    def on_delete(pod: Pod) -> None:
        if (m := manager(pod)) is not None:
            m.on_pod_deleted(pod)

    return on_add, on_update, on_delete


def _hollow_metrics(kubelets: dict[str, Kubelet]):  # type: ignore[no-untyped-def]
    def resolve(server_name: str | None) -> KubeletMetrics | None:
        kubelet = kubelets.get(server_name or "")
        return kubelet.metrics if kubelet is not None else None

    return resolve


def _hollow_resolver(pods: Informer[Pod], kubelets: dict[str, Kubelet]):  # type: ignore[no-untyped-def]
    def resolve(namespace: str, name: str) -> NodeLogs | None:
        pod = pods.get(f"{namespace}/{name}")
        kubelet = kubelets.get(pod.spec.node_name or "") if pod is not None else None
        return kubelet.logs_for(namespace, name) if kubelet is not None else None

    return resolve


__all__ = ["Kubelet", "KubeletConfig", "run_hollow_kubelets", "run_kubelet"]
