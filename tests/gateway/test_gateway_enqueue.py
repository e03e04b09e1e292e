"""Accepting a request: Kafka decides; the status write after the ack can only help."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from lanes_common.documents import decode_json_value
from lanes_common.kafka import ProduceError
from lanes_common.messages import RequestMessage
from lanes_gateway.enqueue import enqueue_request
from lanes_gateway.errors import EnqueueUnavailableError


class Acknowledged:
    """What confluent-kafka hands back for a delivered record."""

    def __init__(self, partition: int, offset: int) -> None:
        self._partition, self._offset = partition, offset

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


class FakeProducer:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.records: list[dict[str, Any]] = []

    async def produce(self, topic: str, value: bytes, key: bytes, headers: Any) -> Acknowledged:
        if self.error is not None:
            raise self.error
        self.records.append({"topic": topic, "value": value, "key": key, "headers": headers})
        return Acknowledged(partition=1, offset=len(self.records) + 40)


class FakeStore:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.documents: list[dict[str, Any]] = []

    async def insert(self, document: dict[str, Any]) -> bool:
        if self.error is not None:
            raise self.error
        if any(d["_id"] == document["_id"] for d in self.documents):
            return False
        self.documents.append(document)
        return True

    async def count_queued(self, user_id: str) -> int:
        return sum(d["user_id"] == user_id and d["state"] == "queued" for d in self.documents)

    async def exists(self, request_id: str) -> bool:
        return any(d["_id"] == request_id for d in self.documents)


class FakeDeletedUsers:
    """No account was deleted."""

    async def contains(self, user_id: str) -> bool:
        return False


async def test_accepted_request_is_produced_keyed_by_user_then_recorded() -> None:
    producer, store = FakeProducer(), FakeStore()

    message = await enqueue_request(
        producer,
        store,
        "lanes.requests",
        "user-1",
        "echo",
        {"a.b": 1},  # type: ignore[arg-type]
    )

    (record,) = producer.records
    assert record["topic"] == "lanes.requests"
    assert record["key"] == b"user-1"
    assert record["headers"] == message.headers()
    assert RequestMessage.decode(record["value"]) == message
    (document,) = store.documents
    assert (document["_id"], document["partition"], document["offset"]) == (message.id, 1, 41)
    assert decode_json_value(document["payload_json"]) == {"a.b": 1}


async def test_unacknowledged_request_is_refused_and_not_recorded() -> None:
    producer, store = FakeProducer(ProduceError("broker down")), FakeStore()

    with pytest.raises(EnqueueUnavailableError):
        await enqueue_request(producer, store, "t", "user-1", "echo", None)  # type: ignore[arg-type]

    assert store.documents == []


async def test_status_write_failure_after_the_ack_still_accepts() -> None:
    producer, store = FakeProducer(), FakeStore(AutoReconnect("mongo down"))

    message = await enqueue_request(producer, store, "t", "u", "echo", 1)  # type: ignore[arg-type]

    assert len(producer.records) == 1
    assert message.user_id == "u"
