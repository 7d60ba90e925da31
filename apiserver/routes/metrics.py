"""``GET /metrics``: the Prometheus text format of this server and what runs in its process.

A non-resource path, authorised as any other (``system:monitoring`` grants ``get /metrics``).
The API server's own registry comes first, then the registries handed over in
``AppSettings.metrics_registries`` (the controllers and scheduler of ``podvisor server``, one
endpoint as k3s serves). OpenMetrics when the Accept header prefers it, weighing ``q`` as
Prometheus' own negotiation does (ties go to the type listed first); anything else, however odd,
gets the text format.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from apimachinery.errors import ApiError

router = APIRouter()
OPENMETRICS_EOF = b"# EOF\n"
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"  # what kube-apiserver serves and Prometheus reads
OPENMETRICS = "application/openmetrics-text"
TEXT_TYPES = frozenset({"text/plain", "text/*", "*/*"})


def wants_openmetrics(accept: str) -> bool:
    """True when the most preferred type we can serve is OpenMetrics."""
    offered: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(raw)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if q > 0 and (media == OPENMETRICS or media in TEXT_TYPES):
            offered.append((-q, i, media))
    return bool(offered) and min(offered)[2] == OPENMETRICS


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registries: Sequence[CollectorRegistry] = getattr(request.app.state, "metrics_registries", ())
    if not registries:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if wants_openmetrics(request.headers.get("accept", "")):
        parts = [openmetrics.generate_latest(r).removesuffix(OPENMETRICS_EOF) for r in registries]
        return Response(b"".join(parts) + OPENMETRICS_EOF, media_type=openmetrics.CONTENT_TYPE_LATEST)
    body = b"".join(generate_latest(r) for r in registries)
    return Response(body, headers={"content-type": TEXT_FORMAT})
