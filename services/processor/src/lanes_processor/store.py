"""Status writes to MongoDB: batched, idempotent, and only ever forward.

Every transition is an update conditional on ``state_rank``, so a redelivered
or late message cannot move a request back, and repeating a write is
harmless. Writes from all concurrent requests are gathered into one ordered
``bulk_write`` while the previous one is on the wire (group commit), which is
where the throughput comes from. A write that cannot reach the store is
retried until it lands: the caller only finishes (and so only commits the
offset of) a request whose status is durably recorded.

The batch holds only writes that cannot fail on a healthy store (an upsert by
``_id`` alone, then conditional updates without upsert): FerretDB v1 stops an
"unordered" batch at its first error and answers without the counts PyMongo
needs, so the duplicate-key trick of a conditional upsert is not used. Whether
an attempt may start is read back once per batch instead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from lanes_common.documents import encode_json_value
from lanes_common.messages import RequestMessage, utc_now
from lanes_common.mongo import MongoDocument
from lanes_common.states import RequestState
from lanes_processor.consumer.retry import Backoff

logger = logging.getLogger(__name__)

# FerretDB v1 (SQLite) hangs on one update command of ~200 statements (seen with
# 100 and 200 here, never with 64); MongoDB
# does not care. Chunks this size keep both fast.
MAX_OPERATIONS_PER_COMMAND = 32


class WriteOutcome(Enum):
    """What a conditional write found."""

    APPLIED = "applied"
    """The document moved to the new state (or already was there)."""
    SUPERSEDED = "superseded"
    """The document is already further along (finished or cancelled); nothing changed."""


@dataclass(frozen=True, slots=True)
class _Update:
    filter: MongoDocument
    update: MongoDocument
    upsert: bool = False

    def as_bulk_operation(self) -> UpdateOne:
        return UpdateOne(self.filter, self.update, upsert=self.upsert)


@dataclass
class _PendingWrite:
    operations: list[_Update]
    done: asyncio.Future[WriteOutcome]
    check_started: str | None = None
    """For an attempt start: the request id whose state tells whether it may run."""


class StatusStore:
    """The ``requests`` collection, written in batches, read by the gateway."""

    def __init__(
        self,
        collection: AsyncCollection[MongoDocument],
        batch_size: int = 500,
        backoff: Backoff | None = None,
    ) -> None:
        self._collection = collection
        self._batch_size = batch_size
        self._backoff = backoff or Backoff(base=0.1, cap=2.0)
        self._queue: asyncio.Queue[_PendingWrite] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    def for_database(
        cls, client: AsyncMongoClient[MongoDocument], database: str, collection: str, **kwargs: Any
    ) -> StatusStore:
        """A store on ``database.collection``."""
        return cls(client[database][collection], **kwargs)

    def start(self) -> None:
        """Start the background batch writer."""
        self._writer = asyncio.create_task(self._write_batches(), name="status-writer")
        self._writer.add_done_callback(_log_writer_death)

    async def close(self) -> None:
        """Stop the batch writer; writes not yet issued fail with CancelledError."""
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait().done.cancel()

    async def begin_attempt(
        self, message: RequestMessage, partition: int, offset: int, attempt: int
    ) -> WriteOutcome:
        """Record that ``attempt`` of a request starts; SUPERSEDED means do not run it.

        The document is created here if the gateway's write never landed, so
        Kafka alone is enough to materialise every request.
        """
        now = utc_now()
        materialise = _Update(
            {"_id": message.id},
            {
                "$setOnInsert": {
                    "user_id": message.user_id,
                    "type": message.type,
                    "payload_json": encode_json_value(message.payload),
                    "state": RequestState.QUEUED.value,
                    "state_rank": RequestState.QUEUED.rank,
                    "attempts": 0,
                    "partition": partition,
                    "offset": offset,
                    "enqueued_at": message.enqueued_at,
                    "idempotency_key": message.idempotency_key,
                },
            },
            upsert=True,
        )
        start = _Update(
            {"_id": message.id, "state_rank": {"$lte": RequestState.PROCESSING.rank}},
            {
                "$set": {
                    "state": RequestState.PROCESSING.value,
                    "state_rank": RequestState.PROCESSING.rank,
                    "started_at": now,
                    "updated_at": now,
                },
                "$max": {"attempts": attempt},
            },
        )
        return await self._submit([materialise, start], check_started=message.id)

    async def finish(
        self,
        request_id: str,
        state: RequestState,
        result: Any = None,
        error: dict[str, str] | None = None,
        finished_at: datetime | None = None,
    ) -> WriteOutcome:
        """Record a terminal state with its result or error."""
        if not state.is_terminal:
            raise ValueError(f"{state} is not terminal")
        now = finished_at or utc_now()
        fields: dict[str, Any] = {
            "state": state.value,
            "state_rank": state.rank,
            "finished_at": now,
            "updated_at": now,
        }
        if result is not None:
            fields["result_json"] = encode_json_value(result)
        if error is not None:
            fields["error"] = error
        operation = _Update(
            {"_id": request_id, "state_rank": {"$lt": state.rank}}, {"$set": fields}
        )
        return await self._submit([operation])

    async def _submit(
        self, operations: list[_Update], check_started: str | None = None
    ) -> WriteOutcome:
        done: asyncio.Future[WriteOutcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_PendingWrite(operations, done, check_started))
        return await done

    async def _write_batches(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write_until_recorded(batch)

    async def _write_until_recorded(self, batch: list[_PendingWrite]) -> None:
        failures = 0
        while True:
            try:
                outcomes = await self._apply(batch)
            except (PyMongoError, KeyError) as exc:
                # KeyError: PyMongo failing to read FerretDB's answer to a write error
                # (a duplicate key when the gateway's insert races our upsert, say).
                # The batch is kept and repeated one write at a time; every write
                # is conditional, so repeating one that landed changes nothing.
                failures += 1
                delay = self._backoff.delay(failures)
                logger.warning(
                    "status store batch failed; retrying write by write",
                    extra={"writes": len(batch), "retry_in_s": round(delay, 3), "error": repr(exc)},
                )
                await asyncio.sleep(delay)
                try:
                    outcomes = await self._apply_one_by_one(batch)
                except PyMongoError as exc_again:
                    logger.warning("status store unavailable", extra={"error": repr(exc_again)})
                    continue
            for pending, outcome in zip(batch, outcomes, strict=True):
                if not pending.done.done():
                    pending.done.set_result(outcome)
            return

    async def _write_one(self, operation: _Update) -> None:
        await self._collection.update_one(
            operation.filter, operation.update, upsert=operation.upsert
        )

    async def _apply_one_by_one(self, batch: list[_PendingWrite]) -> list[WriteOutcome]:
        for pending in batch:
            for operation in pending.operations:
                try:
                    await self._write_one(operation)
                except DuplicateKeyError:
                    # Our upsert lost a race with an insert of the same _id: the
                    # document exists now, so the same write simply matches it.
                    await self._write_one(operation)
        return await self._outcomes(batch)

    async def _apply(self, batch: list[_PendingWrite]) -> list[WriteOutcome]:
        """One ordered bulk write for the batch, then one read for the attempt starts."""
        operations = [op.as_bulk_operation() for pending in batch for op in pending.operations]
        for start in range(0, len(operations), MAX_OPERATIONS_PER_COMMAND):
            chunk = operations[start : start + MAX_OPERATIONS_PER_COMMAND]
            await self._collection.bulk_write(chunk, ordered=True)
        return await self._outcomes(batch)

    async def _outcomes(self, batch: list[_PendingWrite]) -> list[WriteOutcome]:
        """Which attempt starts found their request still open (one read for the batch)."""
        ids = [p.check_started for p in batch if p.check_started is not None]
        processing: set[str] = set()
        if ids:
            cursor = self._collection.find(
                {"_id": {"$in": ids}, "state": RequestState.PROCESSING.value}, {"_id": 1}
            )
            processing = {doc["_id"] async for doc in cursor}
        return [
            WriteOutcome.SUPERSEDED
            if p.check_started is not None and p.check_started not in processing
            else WriteOutcome.APPLIED
            for p in batch
        ]


def _log_writer_death(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.critical("status writer died; no status can be recorded", exc_info=task.exception())
