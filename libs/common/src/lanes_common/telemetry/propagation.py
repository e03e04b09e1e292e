"""W3C trace context across process boundaries: Kafka record headers and HTTP calls.

The propagators are OpenTelemetry's global ones (``OTEL_PROPAGATORS``, by
default W3C ``traceparent``/``tracestate`` and baggage), so whatever a
collector or another service expects is what travels.
"""

from __future__ import annotations

import httpx
from opentelemetry import propagate
from opentelemetry.context import Context

from lanes_common.types import KafkaHeaders


def header_text(headers: KafkaHeaders, name: str) -> str | None:
    """The last value of header ``name`` as text (None when absent or not UTF-8)."""
    found: str | None = None
    for key, value in headers:
        if key != name or value is None:
            continue
        if isinstance(value, bytes):
            try:
                found = value.decode()
            except UnicodeDecodeError:
                continue
        else:
            found = value
    return found


def inject_trace_context(headers: KafkaHeaders) -> KafkaHeaders:
    """``headers`` plus the current trace context; stale trace headers are replaced."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    kept = [(key, value) for key, value in headers if key not in carrier]
    return [*kept, *((key, value.encode()) for key, value in carrier.items())]


def extract_trace_context(headers: KafkaHeaders) -> Context:
    """The trace context a record's headers carry (an empty context when they carry none)."""
    carrier: dict[str, str] = {}
    for key, _ in headers:
        value = header_text(headers, key)
        if value is not None:
            carrier[key] = value
    return propagate.extract(carrier)


async def inject_http_trace_context(request: httpx.Request) -> None:
    """An httpx request hook: the callee continues the caller's trace."""
    propagate.inject(request.headers)
