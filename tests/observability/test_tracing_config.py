"""Tracing follows the standard OTEL_* variables and exports nothing when none is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from lanes_common.errors import ConfigurationError
from lanes_common.telemetry.tracing import exporter_names, span_exporters, tracer


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, []),
        ({"OTEL_SERVICE_NAME": "x"}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
    ],
)
def test_exporters_come_only_from_the_environment(
    environ: dict[str, str], expected: list[str]
) -> None:
    assert exporter_names(environ) == expected


def test_an_endpoint_gets_the_otlp_http_exporter() -> None:
    (exporter,) = span_exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert isinstance(exporter, OTLPSpanExporter)
    (console,) = span_exporters({"OTEL_TRACES_EXPORTER": "console"})
    assert isinstance(console, ConsoleSpanExporter)


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "zipkin"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
)
def test_an_exporter_lanes_does_not_ship_fails_loudly(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        span_exporters(environ)


def _resource_and_processors(extra_env: dict[str, str]) -> dict[str, object]:
    """configure_tracing in a fresh interpreter: the provider is global, once per process."""
    script = (
        "import json\n"
        "from lanes_common.telemetry.tracing import configure_tracing\n"
        "provider = configure_tracing('gateway')\n"
        "processors = provider._active_span_processor._span_processors\n"
        "print(json.dumps({'service': provider.resource.attributes['service.name'],"
        " 'processors': [type(p).__name__ for p in processors]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_without_otel_variables_nothing_is_exported_and_the_service_is_named() -> None:
    assert _resource_and_processors({}) == {"service": "lanes-gateway", "processors": []}


def test_otel_service_name_wins_and_an_endpoint_adds_a_batch_exporter() -> None:
    configured = _resource_and_processors(
        {"OTEL_SERVICE_NAME": "edge", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    )
    assert configured == {"service": "edge", "processors": ["BatchSpanProcessor"]}


def test_the_tracer_is_built_once_per_provider() -> None:
    assert tracer() is tracer()
    # Spans still go to whichever provider is installed (the session's, here).
    with tracer().start_as_current_span("probe") as span:
        assert span is trace.get_current_span()
