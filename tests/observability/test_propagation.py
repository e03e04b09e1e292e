"""W3C trace context rides in Kafka record headers."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lanes_common.telemetry.propagation import (
    extract_trace_context,
    header_text,
    inject_trace_context,
)
from lanes_common.telemetry.tracing import tracer
from lanes_common.types import KafkaHeaders

STALE = b"00-11111111111111111111111111111111-2222222222222222-01"


def test_injected_context_is_extracted_as_the_parent(spans: InMemorySpanExporter) -> None:
    headers: KafkaHeaders = [("lanes-request-id", b"r-1"), ("traceparent", STALE)]
    with tracer().start_as_current_span("send") as producer:
        sent = inject_trace_context(headers)
    assert [key for key, _ in sent].count("traceparent") == 1, "the stale context is replaced"
    assert header_text(sent, "lanes-request-id") == "r-1"

    with tracer().start_as_current_span("process", context=extract_trace_context(sent)) as child:
        pass
    parent = trace.get_current_span(extract_trace_context(sent)).get_span_context()
    assert parent.is_remote
    assert parent.span_id == producer.get_span_context().span_id
    assert child.get_span_context().trace_id == producer.get_span_context().trace_id


def test_records_without_context_start_a_new_trace(spans: InMemorySpanExporter) -> None:
    context = extract_trace_context([("lanes-type", b"echo"), ("broken", None)])
    assert not trace.get_current_span(context).get_span_context().is_valid


def test_header_text_takes_the_last_decodable_value() -> None:
    headers: KafkaHeaders = [("k", b"one"), ("k", b"\xff\xfe"), ("k", "two"), ("other", b"x")]
    assert header_text(headers, "k") == "two"
    assert header_text(headers, "missing") is None
