"""Fixtures for the observability proofs: an in-memory span exporter and promtool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lanes_common.telemetry.tracing import configure_tracing
from lanes_devstack.gotools import ensure_promtool

_exporter = InMemorySpanExporter()


@pytest.fixture(scope="session")
def _tracing() -> InMemorySpanExporter:
    """Install the tracer provider once for the session (OpenTelemetry allows one per process)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        configure_tracing("tests", [SimpleSpanProcessor(_exporter)])
    return _exporter


@pytest.fixture
def spans(_tracing: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    """The spans finished during this test, in the order they ended."""
    _tracing.clear()
    yield _tracing
    _tracing.clear()


@pytest.fixture(scope="session")
def promtool() -> str:
    """The promtool binary ``make provision`` built (built here if it has not)."""
    return str(ensure_promtool())
