"""What the proofs send to Kafka, and what they read back from it.

Requests as the gateway would produce them, with the partition and offset
Kafka acknowledged for each; the consumer group's committed offsets; whole
topics (the dead letters).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.messages import RequestMessage, new_request_id, utc_now


def request(
    user: str, type_: str, payload: Any = None, request_id: str | None = None
) -> RequestMessage:
    """A request message as the gateway would produce it."""
    return RequestMessage(
        id=request_id or new_request_id(),
        user_id=user,
        type=type_,
        payload=payload,
        enqueued_at=utc_now(),
    )


def interleaved_sleeps(
    rng: random.Random, users: int, requests: int, max_ms: int = 4
) -> list[RequestMessage]:
    """``sleep`` requests of 1 to ``max_ms`` ms, an equal share per user, shuffled together.

    Payloads carry each request's number within its user's queue, so a
    failure message can say which one ran out of turn.
    """
    names = [f"user-{rng.getrandbits(32):08x}-{n:03d}" for n in range(users)]
    sequence = [names[n % users] for n in range(requests)]
    rng.shuffle(sequence)
    sent: defaultdict[str, int] = defaultdict(int)
    messages = []
    for user in sequence:
        messages.append(request(user, "sleep", {"ms": rng.randint(1, max_ms), "n": sent[user]}))
        sent[user] += 1
    return messages


@dataclass(frozen=True)
class Produced:
    """A request Kafka acknowledged, and where it stored it."""

    message: RequestMessage
    partition: int
    offset: int

    @property
    def id(self) -> str:
        """The request id."""
        return self.message.id

    @property
    def user(self) -> str:
        """The user id (the record key)."""
        return self.message.user_id


class RequestProducer:
    """Produces requests keyed by user id and returns them once Kafka acknowledged each."""

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self._producer = AsyncProducer(producer_config(bootstrap_servers, "lanes-proof"))
        self._topic = topic

    async def __aenter__(self) -> RequestProducer:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._producer.close()

    async def produce(self, messages: Sequence[RequestMessage]) -> list[Produced]:
        """Produce ``messages`` in list order; one user's records keep that order in Kafka.

        Each ``produce`` call is handed to librdkafka in list order (the
        tasks start in order and call it before their first await), and the
        idempotent producer keeps a partition's records in call order.
        """
        records = await asyncio.gather(
            *(
                self._producer.produce(self._topic, m.encode(), m.key(), m.headers())
                for m in messages
            )
        )
        produced = [
            Produced(m, _partition(r), _offset(r)) for m, r in zip(messages, records, strict=True)
        ]
        _check_offsets_follow_production_order(produced)
        return produced

    async def produce_in_batches(
        self, messages: Sequence[RequestMessage], batch: int = 2_000
    ) -> list[Produced]:
        """`produce`, a batch at a time: a large burst without a future per record at once."""
        produced: list[Produced] = []
        for start in range(0, len(messages), batch):
            produced += await self.produce(messages[start : start + batch])
        _check_offsets_follow_production_order(produced)
        return produced

    async def produce_raw(self, value: bytes, key: bytes) -> None:
        """Produce bytes that are not a request message (what a foreign producer might send)."""
        await self._producer.produce(self._topic, value, key)


def _partition(record: Message) -> int:
    partition = record.partition()
    assert partition is not None
    return partition


def _offset(record: Message) -> int:
    offset = record.offset()
    assert offset is not None and offset >= 0
    return offset


def _check_offsets_follow_production_order(produced: Sequence[Produced]) -> None:
    last: dict[str, int] = {}
    for p in produced:
        assert p.offset > last.get(p.user, -1), f"{p.user}: Kafka did not keep production order"
        last[p.user] = p.offset


def by_user_in_offset_order(produced: Iterable[Produced]) -> dict[str, list[Produced]]:
    """Each user's requests in Kafka order (one user's records share one partition)."""
    users: defaultdict[str, list[Produced]] = defaultdict(list)
    for p in produced:
        users[p.user].append(p)
    for requests in users.values():
        assert len({p.partition for p in requests}) == 1, "one user's records span partitions"
        requests.sort(key=lambda p: p.offset)
    return dict(users)


def committed_offsets(bootstrap_servers: str, group_id: str) -> dict[tuple[str, int], int]:
    """The group's committed offsets, read with the admin API (never joining the group)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id)])
    result = futures[group_id].result(timeout=10)
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions or []
        if tp.offset >= 0 and tp.error is None
    }


def read_whole_topic(bootstrap_servers: str, topic: str, timeout: float = 30.0) -> list[Message]:
    """Every record of ``topic`` up to its current end (read by assignment, no group commits)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"proof-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends: dict[int, int] = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        records: list[Message] = []
        position = dict.fromkeys(ends, -1)
        deadline = utc_now().timestamp() + timeout
        while any(position[p] < ends[p] - 1 for p in ends):
            assert utc_now().timestamp() < deadline, f"{topic}: read {len(records)} records, stuck"
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            records.append(message)
            position[_partition(message)] = _offset(message)
        return records
    finally:
        consumer.close()


def headers_of(record: Message) -> dict[str, str]:
    """A Kafka record's headers as text."""
    raw = record.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return {
        name: value.decode() if isinstance(value, bytes) else str(value) for name, value in pairs
    }
