"""One request, one trace: from the gateway's HTTP span through Kafka to the processor's writes.

The gateway app runs in this process (over httpx's ASGI transport) and the
processor's real consumer engine too, both on the real Kafka and MongoDB-wire server,
with an in-memory span exporter; auth runs as a real process. The trace
context crosses Kafka only in the record's headers, as in production.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.mongo import create_mongo_client
from lanes_common.telemetry.propagation import header_text
from lanes_common.types import KafkaHeaders
from lanes_devstack.waiting import eventually
from lanes_gateway.config import GatewaySettings
from lanes_gateway.main import create_app
from lanes_processor.backoff import Backoff
from lanes_processor.consumer.engine import ProcessorEngine
from lanes_processor.consumer.group_consumer import consumer_config
from lanes_processor.consumer.runner import RequestRunner, RetryPolicy
from lanes_processor.dead_letters import DeadLetterPublisher
from lanes_processor.handlers import load_handlers
from lanes_processor.telemetry import TracedStatusStore, traced_handlers, traced_record_runner
from tests.lifespan import running

pytestmark = pytest.mark.integration

PASSWORD = "correct-horse-battery"


@asynccontextmanager
async def processor(stack: Any) -> AsyncIterator[None]:
    """The processor's engine, wired as `lanes_processor.main.serve` wires it, in this process."""
    env = stack.env()
    mongo = create_mongo_client(stack.mongo_uri)
    producer = AsyncProducer(producer_config(stack.kafka_bootstrap_servers, "trace-test"))
    store = TracedStatusStore(mongo[env["LANES_MONGO_DATABASE"]], timedelta(days=7))
    runner = RequestRunner(
        traced_handlers(load_handlers()),
        store,
        DeadLetterPublisher(producer, env["LANES_DEAD_LETTER_TOPIC"]),
        RetryPolicy(max_attempts=3, backoff=Backoff(0.05, 0.2), handler_timeout=10),
    )
    engine = ProcessorEngine(
        consumer_config(
            stack.kafka_bootstrap_servers, env["LANES_PROCESSOR_GROUP_ID"], "consumer", "trace"
        ),
        env["LANES_REQUESTS_TOPIC"],
        traced_record_runner(runner.run),
    )
    stop = asyncio.Event()
    store.start()
    running = asyncio.create_task(engine.run(stop))
    try:
        yield
    finally:
        stop.set()
        await running
        await store.close()
        await producer.close()
        await mongo.close()


def read_record_headers(bootstrap_servers: str, topic: str, group: str) -> KafkaHeaders:
    """The headers of the first record on ``topic``, read back from Kafka by another group."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap_servers, "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                return list(message.headers() or [])
    finally:
        consumer.close()
    raise AssertionError(f"no record on {topic} within 30s")


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """Names of the span's parents, nearest first, as far as they were recorded here."""
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_one_trace_runs_from_http_through_kafka_to_the_status_write(
    lanes_stack: Any, spans: InMemorySpanExporter
) -> None:
    stack = lanes_stack(processors=0, partitions=2)
    env = stack.env()
    topic = env["LANES_REQUESTS_TOPIC"]
    settings = GatewaySettings(
        kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
        mongo_uri=stack.mongo_uri,
        mongo_database=env["LANES_MONGO_DATABASE"],
        requests_topic=topic,
        dead_letter_topic=env["LANES_DEAD_LETTER_TOPIC"],
        auth_url=env["LANES_AUTH_URL"],
    )
    async with (
        running(create_app(settings)) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30
        ) as client,
        processor(stack),
    ):
        registered = await client.post(
            "/v1/auth/register", json={"username": "tracer", "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        login = await client.post(
            "/v1/auth/login", json={"username": "tracer", "password": PASSWORD}
        )
        headers = {"authorization": f"Bearer {login.json()['access_token']}"}
        accepted = await client.post(
            "/v1/requests", json={"type": "echo", "payload": {"n": 1}}, headers=headers
        )
        assert accepted.status_code == 202, accepted.text
        request_id = accepted.json()["id"]

        async def succeeded() -> bool:
            view = (await client.get(f"/v1/requests/{request_id}", headers=headers)).json()
            return bool(view["state"] == "succeeded")

        await eventually(succeeded, timeout=60, what="the request succeeded")

    finished = list(spans.get_finished_spans())
    (server,) = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /v1/requests"]
    trace_id = server.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in in_trace}
    by_name = {s.name: s for s in in_trace}

    send = by_name[f"send {topic}"]
    process = by_name[f"process {topic}"]
    assert send.kind is SpanKind.PRODUCER and process.kind is SpanKind.CONSUMER
    assert server.name in ancestors(send, by_id), "the send happens inside the HTTP request"

    # The processor's span continues the trace from the record's headers (a remote parent).
    assert process.parent is not None and process.parent.is_remote
    assert process.parent.span_id == send.context.span_id
    assert process.attributes is not None and process.attributes["lanes.request.id"] == request_id

    for name in ("handle echo", "status write processing", "status write succeeded"):
        assert by_name[name].parent is not None, name
        assert by_name[name].parent.span_id == process.context.span_id, name
    assert ancestors(by_name["status write succeeded"], by_id)[-1] == server.name

    # And the header really is on the Kafka record, naming the producer span.
    record_headers = await asyncio.to_thread(
        read_record_headers, stack.kafka_bootstrap_servers, topic, f"{topic}-reader"
    )
    traceparent = header_text(record_headers, "traceparent") or ""
    version, header_trace_id, parent_id, flags = traceparent.split("-")
    assert (version, header_trace_id, parent_id) == (
        "00",
        trace.format_trace_id(trace_id),
        trace.format_span_id(send.context.span_id),
    )
    assert int(flags, 16) & 0x01, "sampled"
