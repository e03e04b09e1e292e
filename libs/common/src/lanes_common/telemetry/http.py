"""HTTP telemetry: Prometheus metrics by route template, a log scope per request, and
FastAPI's own OpenTelemetry server spans.

FastAPI opens the server span itself (continuing a caller's ``traceparent``,
named ``METHOD /route/{template}``) once a tracer provider is configured;
`fastapi_telemetry` tells it to leave probes and ``/metrics`` alone and not to
add exporters of its own. `HttpTelemetryMiddleware` counts and times every
request by the template the router matched (``/v1/requests/{request_id}``),
never the raw path, so ids never become label values; a path no route matches
is ``unmatched``. Probes and ``/metrics`` are not counted: they are polled
every few seconds and would drown the real traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lanes_common.telemetry.log_context import log_scope
from lanes_common.telemetry.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

UNMATCHED_ROUTE = "unmatched"
OPERATIONS_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What a service answered to one request, for metrics that read outcomes off answers."""

    method: str
    route: str
    """The route template, or ``unmatched``."""
    status: int
    headers: Headers = field(default_factory=Headers)


ResponseObserver = Callable[[HttpAnswer], None]
"""Called after each counted request with what was answered."""


def _is_operations_request(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in OPERATIONS_ROUTES


def fastapi_telemetry() -> TelemetryConfig:
    """``FastAPI(telemetry=...)`` for a Lanes service: spans for real traffic, not probes.

    Exporters come from `configure_tracing` alone, so FastAPI's own
    environment set-up stays off (it would export every span twice).
    """
    return {"exclude": _is_operations_request, "auto_configure": False}


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The template of the route that serves (or would serve) this request."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    # Answered before routing (a body over the limit, say): find the route it was for.
    partial = None
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            partial = candidate
            break
        if match is Match.PARTIAL and partial is None:
            partial = candidate
    path = getattr(partial, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class HttpTelemetryMiddleware:
    """Counts and times every HTTP request by route template, in a log scope of its own."""

    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[BaseRoute],
        uncounted_routes: Collection[str] = OPERATIONS_ROUTES,
        on_response: ResponseObserver | None = None,
    ) -> None:
        self.app = app
        self._routes = routes
        self._uncounted = frozenset(uncounted_routes)
        self._on_response = on_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, then record its route, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # What the client gets if the app fails before answering.
        answered: Message = {"type": "http.response.start", "status": 500, "headers": []}

        async def send_observing(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = message
            await send(message)

        with log_scope():
            try:
                await self.app(scope, receive, send_observing)
            finally:
                self._record(scope, answered, time.perf_counter() - started)

    def _record(self, scope: Scope, answered: Message, seconds: float) -> None:
        route = route_template(scope, self._routes)
        if route in self._uncounted:
            return
        method, status = str(scope["method"]), int(answered["status"])
        labels = (method, route, str(status))
        HTTP_REQUESTS.labels(*labels).inc()
        HTTP_REQUEST_SECONDS.labels(*labels).observe(seconds)
        if self._on_response is not None:
            headers = Headers(raw=list(answered.get("headers", [])))
            self._on_response(HttpAnswer(method, route, status, headers))


def instrument_app(app: FastAPI, on_response: ResponseObserver | None = None) -> None:
    """Wrap ``app`` in `HttpTelemetryMiddleware`; call it last, so it sees every answer."""
    app.add_middleware(HttpTelemetryMiddleware, routes=app.router.routes, on_response=on_response)
