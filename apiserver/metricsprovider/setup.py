"""Wiring the metrics provider into the API server: its routes always, its scraper when enabled.

With the provider off (``--metric-resolution 0``) the routes answer 503, so a client learns
why rather than meeting a 404 under an advertised group. The scraper needs the API server's
kubelet client certificate; without one (in-process tests) nothing is scraped and every list
is empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI

from apiserver.kubeletclient import KubeletTls
from apiserver.metricsprovider.routes import routes
from apiserver.metricsprovider.scraper import Scraper
from apiserver.metricsprovider.storage import MetricsStorage
from apiserver.registry import Registry


def install(app: FastAPI, registry: Registry, *, tls: KubeletTls | None, resolution: float,
            clock: Callable[[], float] = time.time) -> Scraper | None:
    """Add the routes; return the scraper the lifespan runs, None when the provider is off."""
    app.router.routes.extend(routes)
    app.state.metrics_clock = clock
    app.state.metrics_storage = MetricsStorage() if resolution > 0 else None
    if app.state.metrics_storage is None:
        return None
    return Scraper(registry, tls, storage=app.state.metrics_storage, resolution=resolution, clock=clock)
