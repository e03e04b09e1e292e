"""Accepting a request: Kafka decides; the status write after the ack can only help."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from lanes_common.documents import decode_json_value
from lanes_common.kafka import ProduceError
from lanes_common.messages import RequestMessage
from lanes_common.status_events import StatusEvent
from lanes_gateway.enqueue import Enqueuer, NewRequest
from lanes_gateway.errors import EnqueueUnavailableError, QuotaExceededError
from lanes_gateway.idempotency import IdempotencyKeys


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


class FakeQuota:
    """Lets every request in, until the test says the user is full."""

    def __init__(self) -> None:
        self.full = False

    async def reserve(self, user_id: str) -> None:
        if self.full:
            raise QuotaExceededError(3)


class FakeStatusPublisher:
    """Keeps the status events the gateway would publish."""

    def __init__(self) -> None:
        self.events: list[StatusEvent] = []

    def publish_soon(self, event: StatusEvent) -> None:
        self.events.append(event)


def enqueuer_for(
    producer: FakeProducer,
    store: FakeStore,
    topic: str = "t",
    keys: IdempotencyKeys | None = None,
    quota: Any = None,
) -> Enqueuer:
    """The enqueue operation over stand-ins (no idempotency keys unless given)."""
    return Enqueuer(
        quota=quota or FakeQuota(),
        keys=keys,  # type: ignore[arg-type]
        producer=producer,  # type: ignore[arg-type]
        inserts=store,  # type: ignore[arg-type]
        topic=topic,
        status_publisher=FakeStatusPublisher(),  # type: ignore[arg-type]
    )


async def test_accepted_request_is_produced_keyed_by_user_then_recorded() -> None:
    producer, store = FakeProducer(), FakeStore()

    enqueuer = enqueuer_for(producer, store, "lanes.requests")
    message = (await enqueuer.enqueue(NewRequest("user-1", "echo", {"a.b": 1}))).message

    (record,) = producer.records
    assert record["topic"] == "lanes.requests"
    assert record["key"] == b"user-1"
    assert record["headers"] == message.headers()
    assert RequestMessage.decode(record["value"]) == message
    (document,) = store.documents
    assert (document["_id"], document["partition"], document["offset"]) == (message.id, 1, 41)
    assert decode_json_value(document["payload_json"]) == {"a.b": 1}
    (event,) = enqueuer.status_publisher.events  # type: ignore[attr-defined]
    assert (event.request_id, event.state) == (message.id, "queued")


async def test_unacknowledged_request_is_refused_and_not_recorded() -> None:
    producer, store = FakeProducer(ProduceError("broker down")), FakeStore()
    enqueuer = enqueuer_for(producer, store)

    with pytest.raises(EnqueueUnavailableError):
        await enqueuer.enqueue(NewRequest("user-1", "echo", None))

    assert store.documents == []
    assert enqueuer.status_publisher.events == []  # type: ignore[attr-defined]


async def test_a_refused_quota_produces_nothing() -> None:
    producer, store, quota = FakeProducer(), FakeStore(), FakeQuota()
    quota.full = True

    with pytest.raises(QuotaExceededError):
        await enqueuer_for(producer, store, quota=quota).enqueue(NewRequest("u", "echo", 1))

    assert producer.records == [] and store.documents == []


async def test_status_write_failure_after_the_ack_still_accepts() -> None:
    producer, store = FakeProducer(), FakeStore(AutoReconnect("mongo down"))

    message = (await enqueuer_for(producer, store).enqueue(NewRequest("u", "echo", 1))).message

    assert len(producer.records) == 1
    assert message.user_id == "u"
