"""Log lines carry trace ids and request context, and never a secret or a payload."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo.errors import BulkWriteError

from lanes_common.logs import JsonFormatter
from lanes_common.messages import MessageDecodeError, RequestMessage
from lanes_common.telemetry.log_context import (
    REDACTED,
    LogContextFilter,
    bind_log_fields,
    describe_error,
    log_scope,
)
from lanes_common.telemetry.tracing import tracer

SECRET = "sk-live-" + uuid.uuid4().hex


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing JSON lines through the service handler's filter into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    handler.addFilter(LogContextFilter())
    logger = logging.getLogger(f"lanes.test.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_inside_a_span_carry_its_ids(
    log: tuple[logging.Logger, io.StringIO], spans: InMemorySpanExporter
) -> None:
    logger, stream = log
    logger.info("outside")
    with tracer().start_as_current_span("work") as span:
        logger.info("inside")
    outside, inside = lines(stream)
    assert "trace_id" not in outside
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")


def test_scoped_fields_appear_until_the_scope_ends(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    with log_scope(request_id="r-1"):
        bind_log_fields(user_id="u-1")
        logger.info("scoped")
        logger.info("explicit", extra={"request_id": "r-2"})
    logger.info("after")
    scoped, explicit, after = lines(stream)
    assert (scoped["request_id"], scoped["user_id"]) == ("r-1", "u-1")
    assert (explicit["request_id"], explicit["user_id"]) == ("r-2", "u-1")
    assert "request_id" not in after and "user_id" not in after


def test_sensitive_fields_are_redacted(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = log
    logger.info(
        "careless",
        extra={"password": SECRET, "refresh_token": SECRET, "payload": {"k": SECRET}, "n": 1},
    )
    (line,) = lines(stream)
    assert SECRET not in stream.getvalue()
    assert line["password"] == line["refresh_token"] == line["payload"] == REDACTED
    assert line["n"] == 1


def test_database_errors_are_described_without_the_documents_they_quote() -> None:
    error = BulkWriteError(
        {
            "writeErrors": [
                {
                    "index": 0,
                    "code": 11000,
                    "errmsg": "E11000 duplicate key",
                    "op": {"u": {"$setOnInsert": {"payload_json": SECRET}}},
                }
            ]
        }
    )
    assert SECRET in repr(error)  # what used to be logged
    described = describe_error(error)
    assert SECRET not in described
    assert "11000" in described


def test_an_undecodable_record_is_described_without_its_payload() -> None:
    record = json.dumps({"id": "x", "payload": {"api_key": SECRET}}).encode()
    with pytest.raises(MessageDecodeError) as caught:
        RequestMessage.decode(record)
    assert SECRET not in str(caught.value)
    assert "user_id" in str(caught.value)
