"""``lanes-replay-dlq``: put dead-lettered requests back into their users' queues.

Each replayed request gets a new id (``replay_of`` names the original) and is
produced keyed by its user, so it joins the *end* of that user's queue:
requests the user enqueued meanwhile keep their order, and the replay runs
after them. The original status document records ``replayed_as``; a request
already replayed is not replayed again, so running the command twice is safe.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition
from pymongo.asynchronous.collection import AsyncCollection

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.errors import LanesError
from lanes_common.kafka import AsyncProducer, producer_config
from lanes_common.logs import configure_logging
from lanes_common.messages import MessageDecodeError, RequestMessage, new_request_id, utc_now
from lanes_common.mongo import create_mongo_client
from lanes_common.states import RequestState
from lanes_common.types import MongoDocument
from lanes_processor.config import ProcessorSettings

logger = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 5.0
READ_DEADLINE_SECONDS = 120.0


class ReplayError(LanesError):
    """The dead-letter topic could not be read."""


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay did."""

    replayed: int
    skipped: int


def read_dead_letters(bootstrap_servers: str, topic: str) -> list[Message]:
    """Every record on the dead-letter topic up to its current end, without joining a group."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            # A group id is required, but nothing is committed and no group is joined.
            "group.id": f"lanes-replay-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=READ_TIMEOUT_SECONDS).topics[topic]
        ends = {}
        for partition in metadata.partitions:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=READ_TIMEOUT_SECONDS
            )
            if high > 0:
                ends[partition] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        records: list[Message] = []
        deadline = time.monotonic() + READ_DEADLINE_SECONDS
        while ends:
            if time.monotonic() > deadline:
                raise ReplayError(
                    f"could not read {topic} to its end within {READ_DEADLINE_SECONDS}s"
                )
            for message in consumer.consume(500, timeout=READ_TIMEOUT_SECONDS):
                if message.error() is not None:
                    continue
                partition, offset = message.partition() or 0, message.offset() or 0
                if partition in ends:
                    records.append(message)
                    if offset + 1 >= ends[partition]:
                        del ends[partition]
        return records
    finally:
        consumer.close()


async def replay(
    records: list[Message],
    producer: AsyncProducer,
    requests_topic: str,
    statuses: AsyncCollection[MongoDocument],
    user_id: str | None = None,
) -> ReplayReport:
    """Re-enqueue the dead-lettered requests among ``records`` (only ``user_id``'s, if given)."""
    replayed = skipped = 0
    for record in records:
        try:
            original = RequestMessage.decode(record.value())
        except MessageDecodeError:
            skipped += 1  # nothing to replay: no id, no user
            continue
        if user_id is not None and original.user_id != user_id:
            continue
        status = await statuses.find_one({"_id": original.id})
        if (
            status is None
            or status.get("state") != RequestState.DEAD_LETTERED.value
            or status.get("replayed_as")
        ):
            skipped += 1
            continue
        again = original.model_copy(
            update={"id": new_request_id(), "enqueued_at": utc_now(), "replay_of": original.id}
        )
        await producer.produce(requests_topic, again.encode(), again.key(), again.headers())
        await statuses.update_one({"_id": original.id}, {"$set": {"replayed_as": again.id}})
        logger.info(
            "dead letter replayed",
            extra={"request_id": original.id, "replayed_as": again.id, "user_id": again.user_id},
        )
        replayed += 1
    return ReplayReport(replayed, skipped)


async def _run(settings: ProcessorSettings, user_id: str | None) -> ReplayReport:
    records = await asyncio.to_thread(
        read_dead_letters, settings.kafka_bootstrap_servers, settings.dead_letter_topic
    )
    mongo = create_mongo_client(settings.mongo_uri)
    producer = AsyncProducer(producer_config(settings.kafka_bootstrap_servers, "lanes-replay"))
    try:
        statuses = mongo[settings.mongo_database][REQUESTS_COLLECTION]
        return await replay(records, producer, settings.requests_topic, statuses, user_id)
    finally:
        await producer.close()
        await mongo.close()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point; settings come from the same ``LANES_*`` variables."""
    parser = argparse.ArgumentParser(prog="lanes-replay-dlq", description=__doc__)
    parser.add_argument("--user", help="replay only this user's dead letters (a user id)")
    args = parser.parse_args(argv)
    settings = ProcessorSettings()
    configure_logging("replay", settings.log_level, settings.log_format)
    report = asyncio.run(_run(settings, args.user))
    sys.stdout.write(f"replayed {report.replayed}, skipped {report.skipped}\n")
