"""The OpenTelemetry tracer provider, configured only by the standard ``OTEL_*`` variables.

Spans are always created (their ids correlate log lines across services, and
the trace context still travels in Kafka headers), but they leave the process
only when an exporter is configured: ``OTEL_TRACES_EXPORTER`` (``otlp``,
``console`` or ``none``), or an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), which implies ``otlp``. With none of
them set, nothing is exported. ``OTEL_SDK_DISABLED=true`` turns tracing off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from lanes_common.errors import ConfigurationError

TRACER_NAME = "lanes"
OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
SUPPORTED_PROTOCOL = "http/protobuf"


_tracers: dict[int, tuple[trace.TracerProvider, trace.Tracer]] = {}


def tracer() -> trace.Tracer:
    """The tracer Lanes code starts its spans with (a no-op until tracing is configured).

    One per tracer provider: ``get_tracer`` builds a new tracer on every call,
    which profiled at a sixth of the processor's CPU when called per span.
    """
    provider = trace.get_tracer_provider()
    known = _tracers.get(id(provider))
    if known is None or known[0] is not provider:
        known = (provider, provider.get_tracer(TRACER_NAME))
        _tracers[id(provider)] = known
    return known[1]


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """Which span exporters the environment asks for; empty means export nothing."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n]
    if not names:
        # The OTLP endpoint alone is how most deployments say "send traces there".
        names = ["otlp"] if any(environ.get(v) for v in OTLP_ENDPOINT_VARIABLES) else []
    if "none" in names:
        return []
    return names


def span_exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    """The span exporters the environment configures (none when no ``OTEL_*`` says so)."""
    return [_exporter(name, environ) for name in exporter_names(environ)]


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise ConfigurationError(
            f"OTEL_TRACES_EXPORTER={name} is not supported here; use otlp, console or none"
        )
    for variable in PROTOCOL_VARIABLES:
        protocol = environ.get(variable, "").strip().lower()
        if protocol:
            if protocol != SUPPORTED_PROTOCOL:
                raise ConfigurationError(
                    f"{variable}={protocol} is not supported: Lanes ships the OTLP "
                    f"{SUPPORTED_PROTOCOL} exporter (a collector's port 4318)"
                )
            break
    # Imported here: it pulls in requests and protobuf, which only exporting needs.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # Endpoint, headers, timeout and compression come from the OTEL_EXPORTER_OTLP_* variables.
    return OTLPSpanExporter()


def configure_tracing(
    service: str, span_processors: Sequence[SpanProcessor] = ()
) -> TracerProvider | None:
    """Install the global tracer provider for ``service``; None when the SDK is disabled.

    ``service`` names the resource (``lanes-<service>``) unless ``OTEL_SERVICE_NAME``
    or ``OTEL_RESOURCE_ATTRIBUTES`` says otherwise; the sampler follows
    ``OTEL_TRACES_SAMPLER``. ``span_processors`` are added to the exporters the
    environment configures (tests pass an in-memory one). Call once per process.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporters = span_exporters(os.environ)
    # The environment's resource attributes win over the default service name.
    resource = Resource.create({SERVICE_NAME: f"lanes-{service}"}).merge(
        OTELResourceDetector().detect()
    )
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    for processor in span_processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider
