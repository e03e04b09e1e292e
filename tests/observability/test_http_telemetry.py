"""HTTP telemetry: route templates as labels, statuses as answered, FastAPI's server span."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI, Response
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY

from lanes_common.health import health_router
from lanes_common.telemetry.http import (
    UNMATCHED_ROUTE,
    HttpAnswer,
    ResponseObserver,
    fastapi_telemetry,
    instrument_app,
)
from lanes_gateway.body_limit import BodySizeLimitMiddleware

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def count(method: str, route: str, status: int) -> float:
    value = REGISTRY.get_sample_value(
        "lanes_http_requests_total", {"method": method, "route": route, "status": str(status)}
    )
    return value or 0.0


def histogram_count(method: str, route: str, status: int) -> float:
    value = REGISTRY.get_sample_value(
        "lanes_http_request_duration_seconds_count",
        {"method": method, "route": route, "status": str(status)},
    )
    return value or 0.0


def make_app(prefix: str, observed: list[HttpAnswer] | None = None) -> FastAPI:
    app = FastAPI(telemetry=fastapi_telemetry())

    @app.get(f"{prefix}/items/{{item_id}}")
    async def read_item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @app.post(f"{prefix}/items")
    async def create_item(body: dict[str, str], response: Response) -> dict[str, str]:
        response.headers["X-Seen"] = "yes"
        return body

    @app.get(f"{prefix}/boom")
    async def boom() -> None:
        raise RuntimeError("handler bug")

    async def always_ready() -> bool:
        return True

    app.include_router(health_router(lambda: {"self": always_ready}))
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=64)
    instrument_app(app, on_response=None if observed is None else _append_to(observed))
    return app


def _append_to(observed: list[HttpAnswer]) -> ResponseObserver:
    return observed.append


def server_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
def prefix() -> str:
    return f"/t{uuid.uuid4().hex[:8]}"


async def test_requests_are_counted_by_route_template_not_raw_path(prefix: str) -> None:
    route = f"{prefix}/items/{{item_id}}"
    async with client(make_app(prefix)) as http:
        for item in ("a", "b", "c"):
            assert (await http.get(f"{prefix}/items/{item}")).status_code == 200
    assert count("GET", route, 200) == 3
    assert histogram_count("GET", route, 200) == 3
    assert count("GET", f"{prefix}/items/a", 200) == 0


async def test_unknown_paths_share_one_label(prefix: str) -> None:
    before = count("GET", UNMATCHED_ROUTE, 404)
    async with client(make_app(prefix)) as http:
        assert (await http.get(f"{prefix}/nothing/here")).status_code == 404
        assert (await http.get(f"{prefix}/{uuid.uuid4()}")).status_code == 404
    assert count("GET", UNMATCHED_ROUTE, 404) == before + 2


async def test_an_answer_given_before_routing_is_labelled_with_its_route(prefix: str) -> None:
    async with client(make_app(prefix)) as http:
        response = await http.post(f"{prefix}/items", content=b"x" * 100)
    assert response.status_code == 413
    assert count("POST", f"{prefix}/items", 413) == 1


async def test_a_failing_handler_counts_as_500_and_marks_its_span(
    prefix: str, spans: InMemorySpanExporter
) -> None:
    async with client(make_app(prefix)) as http:
        assert (await http.get(f"{prefix}/boom")).status_code == 500
    assert count("GET", f"{prefix}/boom", 500) == 1
    (span,) = server_spans(spans)
    assert span.name == f"GET {prefix}/boom"
    assert span.status.status_code is StatusCode.ERROR


async def test_probes_are_neither_counted_nor_traced(
    prefix: str, spans: InMemorySpanExporter
) -> None:
    before = {route: count("GET", route, 200) for route in ("/healthz", "/readyz", "/metrics")}
    async with client(make_app(prefix)) as http:
        for route in before:
            assert (await http.get(route)).status_code == 200
    assert {route: count("GET", route, 200) for route in before} == before
    assert spans.get_finished_spans() == ()


async def test_server_span_continues_the_callers_trace(
    prefix: str, spans: InMemorySpanExporter
) -> None:
    async with client(make_app(prefix)) as http:
        await http.get(f"{prefix}/items/1", headers={"traceparent": TRACEPARENT})
    (span,) = server_spans(spans)
    assert span.name == f"GET {prefix}/items/{{item_id}}"
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent is not None and format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert span.attributes is not None
    assert span.attributes["http.route"] == f"{prefix}/items/{{item_id}}"
    assert span.attributes["http.response.status_code"] == 200


async def test_observer_sees_every_counted_answer(prefix: str) -> None:
    observed: list[HttpAnswer] = []
    async with client(make_app(prefix, observed)) as http:
        await http.get(f"{prefix}/items/1")
        await http.get("/healthz")
        await http.post(f"{prefix}/items", json={"a": "b"})
    assert [(a.method, a.route, a.status) for a in observed] == [
        ("GET", f"{prefix}/items/{{item_id}}", 200),
        ("POST", f"{prefix}/items", 200),
    ]
    assert observed[1].headers["x-seen"] == "yes"
