"""A consumed Kafka record as plain data, detached from librdkafka's Message."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Message

from lanes_common.types import KafkaHeaders


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """The parts of a consumed Kafka record the processor uses."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: KafkaHeaders


def from_message(message: Message) -> ConsumedRecord:
    """The record a librdkafka message carries (the message must not be an error)."""
    raw_headers = message.headers() or []
    headers = list(raw_headers.items() if isinstance(raw_headers, dict) else raw_headers)
    return ConsumedRecord(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        key=message.key(),
        value=message.value(),
        headers=headers,
    )
