"""The dead-letter topic: where a request goes when retrying will not help.

The record keeps its key and value, so a replay puts it back exactly as the
gateway wrote it; headers say why it failed, how often it was tried, and
where it came from.
"""

from __future__ import annotations

import asyncio
import logging

from lanes_common.kafka import AsyncProducer, ProduceError
from lanes_common.types import KafkaHeaders
from lanes_processor.backoff import Backoff
from lanes_processor.records import ConsumedRecord

logger = logging.getLogger(__name__)

HEADER_ERROR = "lanes-error"
HEADER_ERROR_CODE = "lanes-error-code"
HEADER_ATTEMPTS = "lanes-attempts"
HEADER_ORIGIN_TOPIC = "lanes-origin-topic"
HEADER_ORIGIN_PARTITION = "lanes-origin-partition"
HEADER_ORIGIN_OFFSET = "lanes-origin-offset"


def dead_letter_headers(
    record: ConsumedRecord, error_code: str, error: str, attempts: int
) -> KafkaHeaders:
    """The origin's headers plus why and where the record failed."""
    return [
        *record.headers,
        (HEADER_ERROR, error.encode()[:4096]),
        (HEADER_ERROR_CODE, error_code.encode()),
        (HEADER_ATTEMPTS, str(attempts).encode()),
        (HEADER_ORIGIN_TOPIC, record.topic.encode()),
        (HEADER_ORIGIN_PARTITION, str(record.partition).encode()),
        (HEADER_ORIGIN_OFFSET, str(record.offset).encode()),
    ]


class DeadLetterPublisher:
    """Publishes failed records to the dead-letter topic, retrying until Kafka acknowledges."""

    def __init__(self, producer: AsyncProducer, topic: str, backoff: Backoff | None = None) -> None:
        self._producer = producer
        self._topic = topic
        self._backoff = backoff or Backoff(base=0.2, cap=5.0)

    async def publish(
        self, record: ConsumedRecord, error_code: str, error: str, attempts: int
    ) -> None:
        """Return once the dead-letter record is acknowledged (``acks=all``)."""
        headers = dead_letter_headers(record, error_code, error, attempts)
        failures = 0
        while True:
            try:
                await self._producer.produce(self._topic, record.value or b"", record.key, headers)
                return
            except ProduceError as exc:
                failures += 1
                logger.warning("dead-letter publish failed; retrying", extra={"error": str(exc)})
                await asyncio.sleep(self._backoff.delay(failures))
