"""Lease-based leader election, as client-go's ``leaderelection`` package does it.

Several schedulers may run against one apiserver (HA, or a standalone ``podvisor scheduler``
beside a server's embedded one); only the holder of the Lease ``kube-system/podvisor-scheduler``
schedules, so no two of them bind against different views of the cluster.

* A candidate takes the lease when nobody holds it, or when the holder has not renewed it for
  ``leaseDurationSeconds``. Expiry is judged by *when this process saw the record last change*
  (monotonic clock), never by comparing the holder's ``renewTime`` with the local wall clock, so
  clock skew between machines cannot make two leaders.
* Every write carries the resourceVersion that was read: of two candidates racing for an
  expired lease, the apiserver accepts one and answers 409 Conflict to the other.
* The leader renews every ``retry_period`` (2 s); if it cannot renew for ``renew_deadline``
  (10 s), or sees another holder, it stops leading before its lease (15 s) can expire.
* On shutdown the leader releases the lease (empty holder, 1 s duration) so a successor takes
  over at once instead of waiting out the lease.

Nothing here is specific to the scheduler; it belongs in the shared package once both the
controller manager and the scheduler use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from apimachinery.errors import ApiError
from apimachinery.models.apps import Lease, LeaseSpec
from apimachinery.models.base import TypedObject
from apimachinery.models.meta import ObjectMeta
from apimachinery.timeutil import Clock, SystemClock

log = logging.getLogger(__name__)
T = TypeVar("T", bound=TypedObject)

LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
RELEASE_TIMEOUT = 2.0


class LeaseApi(Protocol):
    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T: ...

    async def create(self, obj: T, namespace: str | None = None) -> T: ...

    async def replace(self, obj: T, *, subresource: str | None = None) -> T: ...


def micro_time(seconds: float) -> str:
    """A Kubernetes MicroTime: RFC 3339 with microseconds (``2026-01-02T03:04:05.123456Z``)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        api: LeaseApi,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = LEASE_DURATION,
        renew_deadline: float = RENEW_DEADLINE,
        retry_period: float = RETRY_PERIOD,
        clock: Clock | None = None,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.clock = clock or SystemClock()
        self._observed: LeaseSpec | None = None
        self._observed_at = 0.0  # monotonic time the record last changed, as seen from here

    @property
    def is_leader(self) -> bool:
        return self._observed is not None and self._observed.holder_identity == self.identity

    @property
    def leader(self) -> str | None:
        return self._observed.holder_identity if self._observed else None

    # -- one attempt -----------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """Take or renew the lease once; False when someone else holds it or a write lost a race."""
        now = self.clock.time()
        try:
            lease = await self.api.get(Lease, self.name, self.namespace)
        except ApiError as err:
            if err.code != 404:
                log.warning("reading lease %s/%s: %s", self.namespace, self.name, err.message)
                return False
            return await self._create(now)
        self._observe(lease.spec)
        holder = lease.spec.holder_identity or ""
        if holder and holder != self.identity and not self._expired(lease.spec):
            return False
        spec = self._record(now, previous=lease.spec)
        try:
            updated = await self.api.replace(lease.model_copy(update={"spec": spec}))
        except ApiError as err:
            log.debug("lease %s/%s: %s", self.namespace, self.name, err.message)
            return False
        self._observe(updated.spec)
        return True

    async def _create(self, now: float) -> bool:
        lease = Lease(metadata=ObjectMeta(name=self.name, namespace=self.namespace), spec=self._record(now))
        try:
            created = await self.api.create(lease, self.namespace)
        except ApiError as err:
            log.debug("creating lease %s/%s: %s", self.namespace, self.name, err.message)
            return False
        self._observe(created.spec)
        return True

    def _record(self, now: float, previous: LeaseSpec | None = None) -> LeaseSpec:
        mine = previous is not None and previous.holder_identity == self.identity
        transitions = (previous.lease_transitions or 0) if previous else 0
        return LeaseSpec(
            holder_identity=self.identity,
            lease_duration_seconds=round(self.lease_duration),
            acquire_time=previous.acquire_time if (mine and previous) else micro_time(now),
            renew_time=micro_time(now),
            lease_transitions=transitions if (mine or previous is None) else transitions + 1,
        )

    def _observe(self, spec: LeaseSpec) -> None:
        if spec != self._observed:
            self._observed = spec.model_copy()
            self._observed_at = self.clock.monotonic()

    def _expired(self, spec: LeaseSpec) -> bool:
        duration = spec.lease_duration_seconds or self.lease_duration
        return self._observed_at + duration <= self.clock.monotonic()

    async def release(self) -> bool:
        """Give the lease up (only if still ours) so the next candidate need not wait it out."""
        try:
            lease = await self.api.get(Lease, self.name, self.namespace)
            if lease.spec.holder_identity != self.identity:
                return False
            now = micro_time(self.clock.time())
            spec = LeaseSpec(lease_duration_seconds=1, acquire_time=now, renew_time=now,
                             lease_transitions=lease.spec.lease_transitions)
            updated = await self.api.replace(lease.model_copy(update={"spec": spec}))
        except ApiError as err:
            log.info("releasing lease %s/%s: %s", self.namespace, self.name, err.message)
            return False
        self._observe(updated.spec)
        return True

    # -- campaigning and leading -----------------------------------------------------------

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Forever: wait for the lease, run ``lead()`` while holding it, stop it when the lease is lost.

        Cancelling ``run`` stops ``lead()`` and releases the lease.
        """
        try:
            while True:
                await self._acquire()
                log.info("%s became the leader of %s/%s", self.identity, self.namespace, self.name)
                await self._lead(lead)
                log.warning("%s lost the leadership of %s/%s", self.identity, self.namespace, self.name)
        except asyncio.CancelledError:
            if self.is_leader:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(self.release(), RELEASE_TIMEOUT)
            raise

    async def _acquire(self) -> None:
        while not await self.try_acquire_or_renew():
            await asyncio.sleep(self.retry_period * random.uniform(1.0, 1.2))

    async def _lead(self, lead: Callable[[], Awaitable[None]]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(lead())
        last_renew = self.clock.monotonic()
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=self.retry_period)
                if task.done():
                    break
                if await self.try_acquire_or_renew():
                    last_renew = self.clock.monotonic()
                elif not self.is_leader or self.clock.monotonic() - last_renew > self.renew_deadline:
                    return
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        task.result()  # lead() ended on its own: surface its error, or lead again
