"""Records read again after a restart or a rebalance: skip the finished ones in batches.

A partition's new owner reads from the commit point, and everything between
the commit point and the partition's end at assignment (the *replay zone*)
may already be terminal: finished beyond a stuck record, or in the last
second before a crash. Each such record would be found *superseded* at its
first status write, but a lane runs one record at a time, so a user with
thousands of them would pay a store round trip each. Instead a lane asks
about all its held records in the replay zone with one ``_id`` query and
finishes the terminal ones without running them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from confluent_kafka import Consumer, KafkaException, TopicPartition
from pymongo.asynchronous.collection import AsyncCollection

from lanes_common.messages import HEADER_REQUEST_ID
from lanes_common.states import TERMINAL_RANK
from lanes_common.types import MongoDocument
from lanes_processor.consumer.group_consumer import WATERMARK_TIMEOUT_SECONDS
from lanes_processor.records import ConsumedRecord

logger = logging.getLogger(__name__)


def replay_zone_end(consumer: Consumer, tp: TopicPartition) -> int:
    """On the Kafka thread: the partition's end now, at assignment (-1 when unknown)."""
    try:
        _, high = consumer.get_watermark_offsets(
            TopicPartition(tp.topic, tp.partition), timeout=WATERMARK_TIMEOUT_SECONDS
        )
    except KafkaException as exc:
        # Only an optimisation: each record's first status write checks again.
        logger.warning("reading the partition end failed", extra={"error": str(exc)})
        return -1
    return int(high)


class FinishedLookup(Protocol):
    """Which of some requests are already terminal."""

    async def terminal(self, request_ids: list[str]) -> set[str]:
        """The ids among ``request_ids`` whose status is terminal."""


class StatusFinishedLookup:
    """`FinishedLookup` on the status collection: one ``_id`` ``$in`` query per call."""

    def __init__(self, collection: AsyncCollection[MongoDocument]) -> None:
        self._collection = collection

    async def terminal(self, request_ids: list[str]) -> set[str]:
        """The ids among ``request_ids`` whose status is terminal."""
        query = {"_id": {"$in": request_ids}, "state_rank": TERMINAL_RANK}
        return {doc["_id"] async for doc in self._collection.find(query, {"_id": 1})}


def request_id(record: ConsumedRecord) -> str | None:
    """The request id the gateway put in the record's headers (None for foreign records)."""
    for name, value in record.headers:
        if name == HEADER_REQUEST_ID and value is not None:
            return value.decode() if isinstance(value, bytes) else value
    return None


async def finished_offsets(lookup: FinishedLookup, records: Iterable[ConsumedRecord]) -> set[int]:
    """The offsets among ``records`` whose request is already terminal."""
    by_id = {}
    for record in records:
        rid = request_id(record)
        if rid is not None:
            by_id[rid] = record.offset
    if not by_id:
        return set()
    terminal = await lookup.terminal(list(by_id))
    return {by_id[rid] for rid in terminal}
