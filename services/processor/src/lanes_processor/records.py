"""A consumed Kafka record as plain data, detached from librdkafka's Message."""

from __future__ import annotations

from dataclasses import dataclass

from lanes_common.messages import KafkaHeaders


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """The parts of a consumed Kafka record the processor uses."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: KafkaHeaders
