"""Leader election through a coordination.k8s.io Lease, as client-go's leaderelection package.

Several replicas of a component (controller manager, scheduler) may run; only the holder of the
Lease acts. Usage::

    elector = LeaderElector(client, "kube-system", "podvisor-controller-manager", identity)
    await elector.run(on_started_leading)   # runs until cancelled

``on_started_leading`` is an ``async`` callable started when the Lease is acquired and cancelled
when leadership is lost; the elector then competes again. On cancellation a held Lease is
released (holder cleared, duration 1 s) so a standby takes over at once.

The rules are client-go's:
* a Lease held by someone else is only taken once it has not changed for ``lease_duration``
  seconds *as observed on this process's monotonic clock* (never by comparing the holder's
  renewTime with our wall clock: the machines' clocks may disagree);
* every write is a compare-and-swap on ``resourceVersion``, so two candidates that both see an
  expired Lease cannot both win: one gets 409 Conflict;
* the leader renews every ``retry_period``; if it has not renewed successfully for
  ``renew_deadline`` it steps down (cancels its work) before the Lease can expire for others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.models.apps import Lease, LeaseSpec
from apimachinery.models.meta import ObjectMeta
from apimachinery.timeutil import Clock, SystemClock

log = logging.getLogger(__name__)


def micro_time(seconds: float) -> str:
    """A Lease's MicroTime: RFC 3339 with microseconds."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        client: Any,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.clock = clock or SystemClock()
        self.sleep = sleep
        self._observed: LeaseSpec | None = None
        self._observed_at = 0.0
        self._lease: Lease | None = None
        self.leading = False

    # -- the loop ------------------------------------------------------------------------------

    async def run(self, on_started_leading: Callable[[], Awaitable[Any]]) -> None:
        """Compete for the Lease and lead while holding it, until cancelled or the work ends.

        Losing the Lease cancels the work and competes again; the work returning (or raising)
        releases the Lease and returns (or raises)."""
        while True:
            await self._acquire()
            try:
                finished = await self._lead(on_started_leading)
            except BaseException:
                await self._release()
                raise
            if finished:
                await self._release()
                return

    async def _acquire(self) -> None:
        while not await self.try_acquire_or_renew():
            await self.sleep(self.retry_period)
        self.leading = True
        log.info("%s: became leader of %s/%s", self.identity, self.namespace, self.name)

    async def _lead(self, on_started_leading: Callable[[], Awaitable[Any]]) -> bool:
        """Run the work while renewing; True when the work finished, False when leadership was lost."""
        work = asyncio.ensure_future(on_started_leading())
        try:
            last_renewal = self.clock.monotonic()
            while not work.done():
                await asyncio.wait([work], timeout=self.retry_period)
                if work.done():
                    break
                if await self.try_acquire_or_renew():
                    last_renewal = self.clock.monotonic()
                elif self._held_by_other() or self.clock.monotonic() - last_renewal > self.renew_deadline:
                    log.warning("%s: lost leadership of %s/%s", self.identity, self.namespace, self.name)
                    return False
            work.result()  # re-raise what the work raised
            return True
        finally:
            self.leading = False
            if not work.done():
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)

    def _held_by_other(self) -> bool:
        holder = self._observed.holder_identity if self._observed else None
        return bool(holder) and holder != self.identity

    # -- one attempt ---------------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One compare-and-swap attempt; True when this identity holds the Lease afterwards."""
        now_wall = self.clock.time()
        try:
            lease = await self.client.get(Lease, self.name, self.namespace)
        except ApiError as err:
            if err.code != 404:
                log.debug("%s: reading lease: %s", self.identity, err)
                return False
            return await self._create(now_wall)
        self._observe(lease)
        spec = lease.spec
        mine = spec.holder_identity == self.identity
        expired = self.clock.monotonic() > self._observed_at + float(spec.lease_duration_seconds or 0)
        if spec.holder_identity and not mine and not expired:
            return False
        updated = lease.model_copy(deep=True)
        updated.spec = LeaseSpec(
            holder_identity=self.identity,
            lease_duration_seconds=int(self.lease_duration),
            acquire_time=spec.acquire_time if mine and spec.acquire_time else micro_time(now_wall),
            renew_time=micro_time(now_wall),
            lease_transitions=(spec.lease_transitions or 0) + (0 if mine else 1),
        )
        try:
            self._lease = await self.client.replace(updated)
        except ApiError as err:
            log.debug("%s: lease update failed: %s", self.identity, err)
            return False
        self._observe(self._lease)
        return True

    async def _create(self, now_wall: float) -> bool:
        lease = Lease(
            metadata=ObjectMeta(name=self.name, namespace=self.namespace),
            spec=LeaseSpec(holder_identity=self.identity, lease_duration_seconds=int(self.lease_duration),
                           acquire_time=micro_time(now_wall), renew_time=micro_time(now_wall), lease_transitions=0),
        )
        try:
            self._lease = await self.client.create(lease, self.namespace)
        except ApiError as err:
            log.debug("%s: lease create failed: %s", self.identity, err)
            return False
        self._observe(self._lease)
        return True

    def _observe(self, lease: Lease) -> None:
        """Remember when the Lease last changed, on our own clock."""
        if self._observed is None or lease.spec != self._observed:
            self._observed = lease.spec.model_copy()
            self._observed_at = self.clock.monotonic()

    async def _release(self) -> None:
        """Give the Lease up so a standby can take over without waiting for it to expire."""
        lease = self._lease
        if lease is None or lease.spec.holder_identity != self.identity:
            return
        released = lease.model_copy(deep=True)
        released.spec.holder_identity = None
        released.spec.lease_duration_seconds = 1
        released.spec.renew_time = micro_time(self.clock.time())
        try:
            await asyncio.wait_for(self.client.replace(released), timeout=5.0)
            log.info("%s: released %s/%s", self.identity, self.namespace, self.name)
        except (TimeoutError, ApiError):
            log.debug("%s: could not release the lease", self.identity)
