"""The wrappers that instrument the services from outside their code."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from starlette.datastructures import Headers

from lanes_common.telemetry.http import HttpAnswer
from lanes_common.telemetry.log_context import bound_log_fields
from lanes_common.telemetry.metrics import OTHER_LABEL_VALUE, BoundedLabel
from lanes_common.telemetry.propagation import inject_trace_context
from lanes_common.telemetry.tracing import tracer
from lanes_gateway.metrics import record_answer
from lanes_processor.handlers import HandlerRequest
from lanes_processor.records import ConsumedRecord
from lanes_processor.telemetry import traced_handlers, traced_record_runner


def counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


@pytest.mark.parametrize(
    ("answer", "replays", "refusals"),
    [
        (HttpAnswer("POST", "/v1/requests", 202, Headers({"Idempotent-Replayed": "true"})), 1, 0),
        (HttpAnswer("POST", "/v1/requests", 202), 0, 0),
        (HttpAnswer("POST", "/v1/requests", 429), 0, 1),
        (HttpAnswer("POST", "/enqueue", 429), 0, 1),
        (HttpAnswer("POST", "/v1/auth/login", 429), 0, 0),
        (HttpAnswer("GET", "/v1/requests", 200, Headers({"Idempotent-Replayed": "true"})), 0, 0),
    ],
)
def test_replays_and_quota_refusals_are_read_off_enqueue_answers(
    answer: HttpAnswer, replays: int, refusals: int
) -> None:
    before = (
        counter("lanes_gateway_idempotent_replays_total"),
        counter("lanes_gateway_quota_rejections_total"),
    )
    record_answer(answer)
    assert counter("lanes_gateway_idempotent_replays_total") == before[0] + replays
    assert counter("lanes_gateway_quota_rejections_total") == before[1] + refusals


def test_client_chosen_label_values_are_capped() -> None:
    label = BoundedLabel(limit=2)
    labelled = [label(v) for v in ("a", "b", "c", "a", "d")]
    assert labelled == ["a", "b", OTHER_LABEL_VALUE, "a", OTHER_LABEL_VALUE]


async def test_a_record_is_processed_in_the_trace_its_headers_carry(
    spans: InMemorySpanExporter,
) -> None:
    with tracer().start_as_current_span("send", kind=SpanKind.PRODUCER) as producer:
        headers = inject_trace_context([("lanes-request-id", b"r-9"), ("lanes-type", b"echo")])
    seen: dict[str, str] = {}
    handlers = traced_handlers({"echo": _echo})

    async def run(record: ConsumedRecord) -> None:
        seen.update(bound_log_fields())
        await handlers["echo"](HandlerRequest("r-9", "user-9", "echo", {"x": 1}, attempt=1))

    record = ConsumedRecord("requests", 3, 42, b"user-9", b"{}", headers)
    await traced_record_runner(run)(record)

    assert seen == {"request_id": "r-9", "user_id": "user-9"}
    assert bound_log_fields() == {}, "the scope ends with the record"
    _send, handle, process = spans.get_finished_spans()
    assert process.name == "process requests" and process.kind is SpanKind.CONSUMER
    assert process.parent is not None and process.parent.is_remote
    assert process.parent.span_id == producer.get_span_context().span_id
    assert handle.name == "handle echo"
    assert handle.parent is not None and handle.parent.span_id == process.context.span_id


async def _echo(request: HandlerRequest) -> Any:
    return {"echo": request.payload}
