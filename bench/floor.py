"""The raw drain floor: consume request records and bulk-write their final status documents.

No lanes, retries, transitions or telemetry: confluent-kafka consumes a batch,
each record becomes the ``succeeded`` document the processor would end with
(``echo``'s result), and the batch is upserted by ``_id`` in one unordered
``bulk_write`` (as the processor sends its batches), then the offsets are
committed. ``python -m bench.floor --help``; stops on SIGTERM. After each
batch it writes the count written so far to ``--progress-file``.
"""

from __future__ import annotations

import argparse
import json
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from pymongo import MongoClient, UpdateOne

from lanes_common.documents import REQUESTS_COLLECTION, encode_json_value

BATCH = 500


def status_document(value: bytes, partition: int, offset: int, now: datetime) -> dict[str, Any]:
    """The ``succeeded`` document of an ``echo`` request, as the processor leaves it."""
    message = json.loads(value)
    return {
        "_id": message["id"],
        "user_id": message["user_id"],
        "type": message["type"],
        "payload_json": encode_json_value(message.get("payload")),
        "state": "succeeded",
        "state_rank": 2,
        "attempts": 1,
        "result_json": encode_json_value({"echo": message.get("payload")}),
        "error": None,
        "partition": partition,
        "offset": offset,
        "enqueued_at": datetime.fromisoformat(message["enqueued_at"]),
        "started_at": now,
        "finished_at": now,
        "updated_at": now,
        "idempotency_key": message.get("idempotency_key"),
    }


def main() -> None:
    """Consume and write until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    for name in ("bootstrap", "topic", "group", "mongo-uri", "database", "progress-file"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    progress = Path(args.progress_file)
    collection = MongoClient(args.mongo_uri, tz_aware=True)[args.database][REQUESTS_COLLECTION]
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([args.topic])
    written = 0
    progress.write_text("0")
    try:
        while not stopping:
            messages = [m for m in consumer.consume(BATCH, timeout=0.05) if m.error() is None]
            if not messages:
                continue
            now = datetime.now(UTC)
            operations = []
            for m in messages:
                document = status_document(
                    m.value() or b"", m.partition() or 0, m.offset() or 0, now
                )
                operations.append(
                    UpdateOne({"_id": document["_id"]}, {"$set": document}, upsert=True)
                )
            collection.bulk_write(operations, ordered=False)
            consumer.commit(asynchronous=True)
            written += len(messages)
            progress.write_text(str(written))
    finally:
        consumer.close()
        collection.database.client.close()


if __name__ == "__main__":
    main()
