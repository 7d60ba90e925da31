"""A ``ContainerRuntime`` that counts and times every call: Kubernetes' instrumented runtime service.

One wrapper around whichever runtime a node uses (Docker, the fake, a hollow node's), so no
caller records anything and a method added to the Protocol is measured without a change here:
every public callable attribute is wrapped. The operation type is the method's name
(``create_container``, ``list_containers``, ...), the snake_case names Kubernetes uses for its
CRI calls. A call that raises counts as an error; an iterator a call returns (logs, events) is
timed until it is returned, not while it is consumed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Protocol, cast

from kubelet.runtime.base import ContainerRuntime


class RuntimeRecorder(Protocol):
    def __call__(self, operation: str, seconds: float, *, failed: bool) -> None: ...


class InstrumentedRuntime:
    """Delegates to ``inner``; each method call goes through ``record`` (see the module doc)."""

    def __init__(self, inner: ContainerRuntime, record: RuntimeRecorder,
                 *, monotonic: Callable[[], float] = time.perf_counter) -> None:
        self._inner = inner
        self._record = record
        self._monotonic = monotonic

    @property
    def inner(self) -> ContainerRuntime:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value

        @functools.wraps(value)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = self._monotonic()
            try:
                result = value(*args, **kwargs)
            except BaseException:
                self._record(name, self._monotonic() - began, failed=True)
                raise
            self._record(name, self._monotonic() - began, failed=False)
            return result

        return timed


def instrument(runtime: ContainerRuntime, record: RuntimeRecorder) -> ContainerRuntime:
    """``runtime`` with every call recorded (typed as the Protocol it still satisfies)."""
    return cast(ContainerRuntime, InstrumentedRuntime(runtime, record))
