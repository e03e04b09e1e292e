"""The gateway's Kafka producer, instrumented from outside the enqueue code.

Each record is sent inside a producer span whose context travels in the
record's headers (W3C ``traceparent``), so the processor continues the
trace. The send is timed, and counted by request type and result; the log
lines of the request carry its id and user from here on.
"""

from __future__ import annotations

import time

from confluent_kafka import Message
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import Attributes

from lanes_common.kafka import AsyncProducer, ProduceError
from lanes_common.messages import HEADER_REQUEST_ID, HEADER_TYPE
from lanes_common.telemetry.log_context import bind_log_fields
from lanes_common.telemetry.propagation import header_text, inject_trace_context
from lanes_common.telemetry.tracing import tracer
from lanes_common.types import KafkaHeaders
from lanes_gateway import metrics


class TracedProducer(AsyncProducer):
    """An `AsyncProducer` whose records carry the trace context of a span around their send."""

    async def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: KafkaHeaders | None = None,
    ) -> Message:
        """Send as `AsyncProducer.produce` does, inside a producer span, timed and counted."""
        headers = list(headers or [])
        request_id = header_text(headers, HEADER_REQUEST_ID)
        request_type = metrics.request_type_label(header_text(headers, HEADER_TYPE) or "unknown")
        bind_log_fields(
            request_id=request_id, user_id=key.decode(errors="replace") if key else None
        )
        attributes: Attributes = {
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "lanes.request.id": request_id or "",
            "lanes.request.type": request_type,
        }
        with tracer().start_as_current_span(
            f"send {topic}", kind=SpanKind.PRODUCER, attributes=attributes
        ) as span:
            started = time.perf_counter()
            try:
                record = await super().produce(topic, value, key, inject_trace_context(headers))
            except ProduceError:
                metrics.PRODUCE_ERRORS.inc()
                metrics.ENQUEUED.labels(request_type, "unavailable").inc()
                raise
            finally:
                metrics.PRODUCE_SECONDS.observe(time.perf_counter() - started)
            metrics.ENQUEUED.labels(request_type, "accepted").inc()
            span.set_attribute("messaging.destination.partition.id", str(record.partition()))
            span.set_attribute("messaging.kafka.offset", record.offset() or 0)
            return record
