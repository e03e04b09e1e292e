"""The processor's tracing, wrapped around the runner, its handlers and its status writes.

Each consumed record gets a consumer span whose parent is the producer span
the gateway put into the record's headers, so one trace runs from the HTTP
request to the terminal status write. Inside it: a span per handler attempt
and a span per status write (until the write is durable). Log lines written
meanwhile carry the request id and user id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from opentelemetry.trace import SpanKind
from opentelemetry.util.types import Attributes

from lanes_common.messages import HEADER_REQUEST_ID, HEADER_TYPE, RequestMessage
from lanes_common.states import RequestState
from lanes_common.telemetry.log_context import log_scope
from lanes_common.telemetry.propagation import extract_trace_context, header_text
from lanes_common.telemetry.tracing import tracer
from lanes_processor.consumer.lanes import RunRecord
from lanes_processor.handlers import Handler, HandlerRequest
from lanes_processor.records import ConsumedRecord
from lanes_processor.store import StatusStore, WriteOutcome


def traced_record_runner(run_record: RunRecord) -> RunRecord:
    """``run_record`` inside a consumer span that continues the trace in the record's headers."""

    async def run_traced(record: ConsumedRecord) -> None:
        request_id = header_text(record.headers, HEADER_REQUEST_ID)
        user_id = record.key.decode(errors="replace") if record.key is not None else None
        attributes: Attributes = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "lanes.request.id": request_id or "",
            "lanes.request.type": header_text(record.headers, HEADER_TYPE) or "",
        }
        with (
            log_scope(request_id=request_id, user_id=user_id),
            tracer().start_as_current_span(
                f"process {record.topic}",
                context=extract_trace_context(record.headers),
                kind=SpanKind.CONSUMER,
                attributes=attributes,
            ),
        ):
            await run_record(record)

    return run_traced


def _traced_handler(request_type: str, handler: Handler) -> Handler:
    async def handle_traced(request: HandlerRequest) -> Any:
        with tracer().start_as_current_span(
            f"handle {request_type}",
            attributes={"lanes.request.type": request_type, "lanes.attempt": request.attempt},
        ):
            return await handler(request)

    return handle_traced


def traced_handlers(handlers: Mapping[str, Handler]) -> dict[str, Handler]:
    """The same handlers, each attempt in a span of its own."""
    return {request_type: _traced_handler(request_type, h) for request_type, h in handlers.items()}


class TracedStatusStore(StatusStore):
    """A `StatusStore` whose writes are spans lasting until the write is durable."""

    async def begin_attempt(
        self, message: RequestMessage, partition: int, offset: int, attempt: int
    ) -> WriteOutcome:
        """`StatusStore.begin_attempt` in a span."""
        with tracer().start_as_current_span(
            "status write processing", attributes={"lanes.attempt": attempt}
        ) as span:
            outcome = await super().begin_attempt(message, partition, offset, attempt)
            span.set_attribute("lanes.write.outcome", outcome.value)
            return outcome

    async def finish(
        self,
        message: RequestMessage,
        state: RequestState,
        result_json: str | None = None,
        error: dict[str, str] | None = None,
        finished_at: datetime | None = None,
    ) -> WriteOutcome:
        """`StatusStore.finish` in a span."""
        with tracer().start_as_current_span(f"status write {state.value}") as span:
            outcome = await super().finish(message, state, result_json, error, finished_at)
            span.set_attribute("lanes.write.outcome", outcome.value)
            return outcome
