"""``/healthz``, ``/readyz`` and ``/metrics``: the same three probes on every service."""

# Annotations stay evaluated (no ``from __future__ import annotations``): the
# readiness dependency is local to `health_router`, where FastAPI cannot look it up by name.
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from lanes_common.telemetry.metrics import render_metrics

ReadinessCheck = Callable[[], Awaitable[bool]]


def health_router(checks: Callable[..., Mapping[str, ReadinessCheck]]) -> APIRouter:
    """Probes for an app whose readiness is the conjunction of ``checks``.

    ``checks`` is a FastAPI dependency, resolved per request so that it can
    read the resources the lifespan opened (its own dependencies), never
    module globals.
    """
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: every check this service makes passes.",
        responses={503: {"description": "A dependency does not answer."}},
    )
    async def readyz(
        ready_checks: Annotated[Mapping[str, ReadinessCheck], Depends(checks)],
    ) -> JSONResponse:
        results = {name: await check() for name, check in ready_checks.items()}
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics.", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    return router
