"""The horizontal pod autoscaler: keeps a workload's replicas where its pods' usage meets a target.

Kubernetes' ``pkg/controller/podautoscaler``, one ``sync(key)`` per HorizontalPodAutoscaler every
sync period (``--horizontal-pod-autoscaler-sync-period``, 15 s): read the target's ``scale``
subresource (replicas and the pods' selector), read the pods' usage from the metrics API, ask the
replica calculator for a count per metric (the highest wins), let the behavior rules stabilise
and rate-limit it, write the new count through ``scale``, and record status (currentReplicas,
desiredReplicas, currentMetrics, lastScaleTime, the AbleToScale / ScalingActive / ScalingLimited
conditions) and events (``SuccessfulRescale``). When the metrics cannot be read the target is
left as it is and ScalingActive turns False (``FailedGetResourceMetric``).

Recommendations and scale events live in memory per autoscaler, as in Kubernetes: a new
leadership term starts with none, which at worst delays a scale-down by one window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING
from apimachinery.informer import Informer
from apimachinery.models.apps import Scale
from apimachinery.models.autoscaling import (
    ABLE_TO_SCALE,
    AVERAGE_VALUE,
    FAILED_GET_RESOURCE_METRIC,
    FAILED_GET_SCALE,
    FAILED_UPDATE_SCALE,
    INVALID_SELECTOR,
    SCALING_ACTIVE,
    SCALING_DISABLED,
    SCALING_LIMITED,
    SUCCEEDED_GET_SCALE,
    SUCCEEDED_RESCALE,
    VALID_METRIC_FOUND,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerStatus,
    MetricSpec,
    MetricStatus,
)
from apimachinery.models.core import Pod
from apimachinery.resources import by_kind
from apimachinery.selectors import parse_label_selector
from apimachinery.timeutil import now_rfc3339
from apimachinery.workqueue import WorkQueue
from controllers import podautoscaler_behavior as behavior
from controllers import podautoscaler_status as st
from controllers.base import NAMESPACE_INDEX, Cache, ControllerContext, Queue, add_standard_indexers, key_of
from controllers.podautoscaler_metrics import ApiMetricsSource, MetricsUnavailable, PodMetricsSource, amount
from controllers.podautoscaler_replicas import (
    TOLERANCE,
    MetricError,
    average_value_replicas,
    utilization_replicas,
)

log = logging.getLogger(__name__)

SYNC_PERIOD = 15.0  # kube-controller-manager's --horizontal-pod-autoscaler-sync-period
EVENT_SOURCE = "horizontal-pod-autoscaler"  # the component of its Events, as in Kubernetes
SUCCESSFUL_RESCALE, FAILED_RESCALE, SELECTOR_REQUIRED = "SuccessfulRescale", "FailedRescale", "SelectorRequired"
ABOVE_MAX = "Current number of replicas above Spec.MaxReplicas"
BELOW_MIN = "Current number of replicas below Spec.MinReplicas"
ALL_BELOW = "All metrics below target"


class ScaleApi(Protocol):
    """The untyped request of the API client: the ``scale`` subresource of any scalable kind."""

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: Any = None) -> Any: ...


@dataclass
class Plan:
    """What one sync decided: the replicas to have, why, and what the metrics read."""

    desired: int
    reason: str = ""
    metrics: list[MetricStatus] | None = None
    failed: bool = False  # the metrics could not be computed: leave the target alone


class PodAutoscalerController:
    name = "horizontalpodautoscaler-controller"  # its queue: workqueue_*{name="horizontalpodautoscaler"}
    workers = 2

    def __init__(self, ctx: ControllerContext, hpas: Cache[HorizontalPodAutoscaler], *, scales: ScaleApi,
                 metrics: PodMetricsSource, sync_period: float = SYNC_PERIOD,
                 downscale_window: float = behavior.DOWNSCALE_STABILIZATION, tolerance: float = TOLERANCE,
                 queue: Queue | None = None) -> None:
        self.client, self.clock, self.hpas, self.pods = ctx.client, ctx.clock, hpas, ctx.informers.pods
        self.scales, self.metrics = scales, metrics
        self.sync_period, self.downscale_window, self.tolerance = sync_period, downscale_window, tolerance
        self.recorder = ctx.recorder_for(EVENT_SOURCE)
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.histories: dict[str, behavior.History] = {}
        hpas.add_handler(self._added, self._updated, None)

    def _added(self, hpa: HorizontalPodAutoscaler) -> None:
        self.queue.add(key_of(hpa))

    def _updated(self, old: HorizontalPodAutoscaler, new: HorizontalPodAutoscaler) -> None:
        if old.metadata.generation != new.metadata.generation:  # a spec change; not our status writes
            self.queue.add(key_of(new))

    async def sync(self, key: str) -> None:
        """Scale the target to what its metrics ask for, then look again in one sync period."""
        hpa = self.hpas.get(key)
        if hpa is None:
            self.histories.pop(key, None)
            return
        try:
            await self.reconcile(key, hpa.model_copy(deep=True))
        finally:
            self.queue.add_after(key, self.sync_period)

    async def reconcile(self, key: str, hpa: HorizontalPodAutoscaler) -> None:
        status, now = st.next_status(hpa), now_rfc3339(self.clock)
        ref, namespace = hpa.spec.scale_target_ref, hpa.metadata.namespace or ""
        rt = by_kind(ref.kind, ref.api_version or None)
        path = rt.path(namespace, ref.name, "scale") if rt is not None and "scale" in rt.subresources else ""
        try:
            if not path:
                raise ApiError(404, "NotFound", f"no scale subresource for {ref.api_version}/{ref.kind}")
            scale = Scale.model_validate(await self.scales.request("GET", path))
        except ApiError as err:
            message = f"the HPA controller was unable to get the target's current scale: {err.message}"
            st.with_condition(status, ABLE_TO_SCALE, False, FAILED_GET_SCALE, message, now=now)
            self.recorder.event(hpa, WARNING, FAILED_GET_SCALE, err.message)
            await self._write_status(hpa, status)
            return
        st.with_condition(status, ABLE_TO_SCALE, True, SUCCEEDED_GET_SCALE,
                          "the HPA controller was able to get the target's current scale", now=now)
        current = scale.spec.replicas or 0
        plan = await self._plan(key, hpa, scale, status, now=now)
        status.current_replicas, status.current_metrics = current, plan.metrics
        if not plan.failed:
            status.desired_replicas = plan.desired
            if plan.desired != current and await self._rescale(hpa, scale, path, plan, status, now=now):
                behavior.record_scale(self._history(key), hpa.spec.behavior, previous=current, new=plan.desired,
                                      now=self.clock.monotonic())
                status.last_scale_time = now
        await self._write_status(hpa, status)

    async def _plan(self, key: str, hpa: HorizontalPodAutoscaler, scale: Scale,
                    status: HorizontalPodAutoscalerStatus, *, now: str) -> Plan:
        current, spec = scale.spec.replicas or 0, hpa.spec
        minimum = spec.min_replicas if spec.min_replicas is not None else 1
        if current == 0 and minimum != 0:
            st.with_condition(status, SCALING_ACTIVE, False, SCALING_DISABLED,
                              "scaling is disabled since the replica count of the target is zero", now=now)
            return Plan(0)
        if current > spec.max_replicas:
            return Plan(spec.max_replicas, ABOVE_MAX)
        if current < minimum:
            return Plan(minimum, BELOW_MIN)
        proposal = await self._from_metrics(hpa, scale, status, now=now)
        if proposal.failed:
            return proposal
        bounds = behavior.Bounds(current, proposal.desired, minimum, spec.max_replicas)
        decision = behavior.normalize(self._history(key), bounds, spec.behavior, now=self.clock.monotonic(),
                                      downscale_window=self.downscale_window)
        st.with_condition(status, ABLE_TO_SCALE, True, decision.stabilized_reason, decision.stabilized_message,
                          now=now)
        st.with_condition(status, SCALING_LIMITED, decision.limited, decision.limited_reason,
                          decision.limited_message, now=now)
        return Plan(decision.replicas, proposal.reason, proposal.metrics)

    async def _from_metrics(self, hpa: HorizontalPodAutoscaler, scale: Scale, status: HorizontalPodAutoscalerStatus,
                            *, now: str) -> Plan:
        """The highest count any metric asks for; a failure when all fail, or some fail and it would shrink."""
        selector = scale.status.selector if scale.status else None
        pods = self._selected(hpa, selector, status, now=now)
        if pods is None:
            return Plan(0, failed=True)
        current, specs = scale.spec.replicas or 0, hpa.spec.metrics or []
        statuses, best, best_name, errors = [MetricStatus() for _ in specs], -1, "", []
        for i, metric in enumerate(specs):
            try:
                replicas, statuses[i] = await self._evaluate(hpa, metric, pods, selector=selector or "",
                                                             current=current)
            except (MetricError, MetricsUnavailable) as err:
                errors.append(str(err))
                self.recorder.event(hpa, WARNING, FAILED_GET_RESOURCE_METRIC, str(err))
                continue
            if replicas > best:
                best, best_name = replicas, st.metric_name(metric)
        if not specs or len(errors) == len(specs) or (errors and best < current):
            message = f"the HPA was unable to compute the replica count: {errors[0] if errors else 'no metrics'}"
            st.with_condition(status, SCALING_ACTIVE, False, FAILED_GET_RESOURCE_METRIC, message, now=now)
            return Plan(current, metrics=statuses, failed=True)
        st.with_condition(status, SCALING_ACTIVE, True, VALID_METRIC_FOUND,
                          f"the HPA was able to successfully calculate a replica count from {best_name}", now=now)
        return Plan(best, f"{best_name} above target" if best > current else ALL_BELOW, statuses)

    def _selected(self, hpa: HorizontalPodAutoscaler, text: str | None, status: HorizontalPodAutoscalerStatus, *,
                  now: str) -> list[Pod] | None:
        """The target's pods (from the shared cache), or None with ScalingActive False (InvalidSelector)."""
        try:
            if not text:
                raise ValueError("the HPA target's scale is missing a selector")
            selector = parse_label_selector(text)
        except ValueError as err:
            st.with_condition(status, SCALING_ACTIVE, False, INVALID_SELECTOR, str(err), now=now)
            self.recorder.event(hpa, WARNING, SELECTOR_REQUIRED if not text else INVALID_SELECTOR, str(err))
            return None
        namespace = hpa.metadata.namespace or ""
        return [p for p in self.pods.by_index(NAMESPACE_INDEX, namespace) if selector.matches(p.metadata.labels)]

    async def _evaluate(self, hpa: HorizontalPodAutoscaler, metric: MetricSpec, pods: list[Pod], *, selector: str,
                        current: int) -> tuple[int, MetricStatus]:
        source = metric.resource
        if source is None:
            raise MetricError(f"metric type {metric.type} is not supported")
        target, resource = source.target, source.name
        what = "usage" if target.type == AVERAGE_VALUE else "utilization"
        try:
            usage = await self.metrics.pod_usage(hpa.metadata.namespace or "", selector, resource)
            rows = st.samples(pods, usage, resource)
            if target.type == AVERAGE_VALUE:
                wanted = max(amount(resource, target.average_value or "0"), 1)
                found = average_value_replicas(rows, current_replicas=current, target=wanted, tolerance=self.tolerance)
            else:
                found = utilization_replicas(rows, resource=resource, current_replicas=current,
                                             target=target.average_utilization or 1, tolerance=self.tolerance)
        except (MetricError, MetricsUnavailable) as err:
            raise type(err)(f"failed to get {resource} {what}: {err}") from err
        return found.replicas, st.metric_status(metric, found)

    async def _rescale(self, hpa: HorizontalPodAutoscaler, scale: Scale, path: str, plan: Plan,
                       status: HorizontalPodAutoscalerStatus, *, now: str) -> bool:
        wanted = scale.model_copy(deep=True)
        wanted.spec.replicas = plan.desired
        try:
            await self.scales.request("PUT", path, body=wanted.to_dict())
        except ApiError as err:
            st.with_condition(status, ABLE_TO_SCALE, False, FAILED_UPDATE_SCALE,
                              f"the HPA controller was unable to update the target scale: {err.message}", now=now)
            self.recorder.event(hpa, WARNING, FAILED_RESCALE,
                                f"New size: {plan.desired}; reason: {plan.reason}; error: {err.message}")
            return False
        st.with_condition(status, ABLE_TO_SCALE, True, SUCCEEDED_RESCALE,
                          f"the HPA controller was able to update the target scale to {plan.desired}", now=now)
        self.recorder.event(hpa, NORMAL, SUCCESSFUL_RESCALE, f"New size: {plan.desired}; reason: {plan.reason}")
        log.info("%s: scaled %s/%s to %d (%s)", key_of(hpa), hpa.spec.scale_target_ref.kind,
                 hpa.spec.scale_target_ref.name, plan.desired, plan.reason)
        return True

    async def _write_status(self, hpa: HorizontalPodAutoscaler, status: HorizontalPodAutoscalerStatus) -> None:
        if status == hpa.status:
            return
        hpa.status = status
        try:
            await self.client.replace_status(hpa)
        except ApiError as err:
            if err.code not in (404, 409):  # gone, or changed since: the next sync writes it
                raise

    def _history(self, key: str) -> behavior.History:
        return self.histories.setdefault(key, behavior.History())


def build_podautoscaler(client: Any, ctx: ControllerContext, *,
                        sync_period: float = SYNC_PERIOD) -> tuple[list[Any], list[Informer[Any]]]:
    """The controller over its own HorizontalPodAutoscaler cache, reading the metrics API through ``client``."""
    hpas = Informer(client, HorizontalPodAutoscaler)
    add_standard_indexers(hpas)
    controller = PodAutoscalerController(ctx, hpas, scales=client, metrics=ApiMetricsSource(client),
                                         sync_period=sync_period)
    return [controller], [hpas]
