"""Status writes to MongoDB: batched, idempotent, and only ever forward.

A state change is a *transition* checked against `can_transition`: a
redelivered or late message cannot move a request back, and repeating a
write is harmless. Transitions from all concurrent requests are gathered into
one batch while the previous batch is on the wire (group commit), which is
where the throughput comes from. A batch that cannot reach the store is
retried until it lands: the caller only finishes (and so only commits the
offset of) a request whose status is durably recorded.

Two ways to apply a batch, picked from what the server is:

- MongoDB: each transition is an update whose filter carries the condition
  (``state_rank`` below the new one), so the check and the write are one
  atomic step. Which ones applied is read from the result's counts, and
  only in the rare case that some did not, from the documents.
- FerretDB v1 (SQLite): it uses an index only for a filter that is exactly
  ``{_id: value}`` and scans the whole collection for anything more, so a
  conditional update costs O(collection). There the batch reads each
  document by ``_id``, checks the transition here, and writes by ``_id``.
  FerretDB does not run conditional updates atomically anyway (two racing
  ones can both win), so nothing is lost; the one writer that can race the
  processor is a cancellation, whose window this leaves as wide as one batch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from lanes_common.documents import encode_json_value
from lanes_common.messages import RequestMessage, utc_now
from lanes_common.mongo import MongoDocument
from lanes_common.states import RequestState, can_transition
from lanes_common.telemetry.log_context import describe_error
from lanes_processor.consumer.retry import Backoff

logger = logging.getLogger(__name__)

# FerretDB v1 (SQLite) hangs on one update command of ~200 statements (seen with
# 100 and 200 here, never with 64); MongoDB does not mind. Chunks this size keep
# both fast.
MAX_OPERATIONS_PER_COMMAND = 32


class WriteOutcome(Enum):
    """What a transition found."""

    APPLIED = "applied"
    """The request moved to the new state."""
    SUPERSEDED = "superseded"
    """The request is already further along (finished or cancelled); nothing changed."""


@dataclass
class _Transition:
    request_id: str
    state: RequestState
    fields: MongoDocument
    """Fields set together with the state."""
    attempt: int | None = None
    """For an attempt start: the attempt number, kept as the maximum seen."""
    materialise: MongoDocument | None = None
    """Fields of the document to create if the gateway's insert never landed."""
    done: asyncio.Future[WriteOutcome] = field(default_factory=asyncio.Future)

    def update(self) -> MongoDocument:
        """The update document for this transition, once it is known to apply."""
        update: MongoDocument = {
            "$set": {"state": self.state.value, "state_rank": self.state.rank, **self.fields}
        }
        if self.attempt is not None:
            update["$max"] = {"attempts": self.attempt}
        if self.materialise is not None:
            update["$setOnInsert"] = self.materialise
        return update


class StatusStore:
    """The ``requests`` collection, written in batches, read by the gateway."""

    def __init__(
        self,
        collection: AsyncCollection[MongoDocument],
        batch_size: int = 500,
        backoff: Backoff | None = None,
        atomic_conditions: bool | None = None,
    ) -> None:
        """``atomic_conditions``: None picks by server (off for FerretDB, on otherwise)."""
        self._collection = collection
        self._batch_size = batch_size
        self._backoff = backoff or Backoff(base=0.1, cap=2.0)
        self._queue: asyncio.Queue[_Transition] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._atomic_conditions = atomic_conditions

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
        """Stop the batch writer; transitions not yet written fail with CancelledError."""
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
        return await self._submit(
            _Transition(
                message.id,
                RequestState.PROCESSING,
                {"started_at": now, "updated_at": now},
                attempt=attempt,
                materialise={
                    "user_id": message.user_id,
                    "type": message.type,
                    "payload_json": encode_json_value(message.payload),
                    "partition": partition,
                    "offset": offset,
                    "enqueued_at": message.enqueued_at,
                    "idempotency_key": message.idempotency_key,
                },
            )
        )

    async def finish(
        self,
        request_id: str,
        state: RequestState,
        result_json: str | None = None,
        error: dict[str, str] | None = None,
        finished_at: datetime | None = None,
    ) -> WriteOutcome:
        """Record a terminal state with its result (JSON text) or error."""
        if not state.is_terminal:
            raise ValueError(f"{state} is not terminal")
        now = finished_at or utc_now()
        fields: MongoDocument = {"finished_at": now, "updated_at": now}
        if result_json is not None:
            fields["result_json"] = result_json
        if error is not None:
            fields["error"] = error
        return await self._submit(_Transition(request_id, state, fields))

    async def _submit(self, transition: _Transition) -> WriteOutcome:
        self._queue.put_nowait(transition)
        return await transition.done

    async def _write_batches(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write_until_recorded(batch)

    async def _write_until_recorded(self, batch: list[_Transition]) -> None:
        failures = 0
        while True:
            # A waiter cancelled (its partition was revoked or lost) must not have its
            # write land late, behind the partition's new owner.
            batch = [t for t in batch if not t.done.cancelled()]
            if not batch:
                return
            try:
                if self._atomic_conditions is None:
                    self._atomic_conditions = not await self._is_ferretdb()
                if self._atomic_conditions:
                    outcomes = await self._apply_conditionally(batch)
                else:
                    outcomes = await self._apply_checked(batch)
            except (PyMongoError, KeyError) as exc:
                # KeyError: PyMongo failing to read FerretDB's answer to a write
                # error. Either way the whole batch is repeated: every transition
                # is checked again, so one that landed is not applied twice.
                failures += 1
                delay = self._backoff.delay(failures)
                logger.warning(
                    "status store write failed; retrying",
                    extra={
                        "writes": len(batch),
                        "retry_in_s": round(delay, 3),
                        "error": describe_error(exc),
                    },
                )
                await asyncio.sleep(delay)
                continue
            for transition, outcome in zip(batch, outcomes, strict=True):
                if not transition.done.done():
                    transition.done.set_result(outcome)
            return

    async def _is_ferretdb(self) -> bool:
        build_info = await self._collection.database.client.admin.command("buildInfo")
        return "ferretdbVersion" in build_info

    async def _bulk_write(self, operations: list[UpdateOne]) -> tuple[int, int]:
        """Write in chunks; returns (matched, upserted) summed over the chunks."""
        matched = upserted = 0
        for start in range(0, len(operations), MAX_OPERATIONS_PER_COMMAND):
            chunk = operations[start : start + MAX_OPERATIONS_PER_COMMAND]
            # An upsert that loses a race with the gateway's insert of the same _id
            # raises here; the batch is repeated and then matches the document.
            result = await self._collection.bulk_write(chunk, ordered=True)
            matched += result.matched_count
            upserted += result.upserted_count
        return matched, upserted

    async def _apply_conditionally(self, batch: list[_Transition]) -> list[WriteOutcome]:
        """Check-and-write in one atomic update per transition (MongoDB)."""
        operations = []
        for t in batch:
            if t.materialise is not None:
                # Create the queued document if missing; never touches an existing one.
                queued = {"state": RequestState.QUEUED.value, "state_rank": 0, "attempts": 0}
                operations.append(
                    UpdateOne(
                        {"_id": t.request_id},
                        {"$setOnInsert": {**t.materialise, **queued}},
                        upsert=True,
                    )
                )
            allowed_below = t.state.rank + (1 if t.state is RequestState.PROCESSING else 0)
            update = t.update()
            update.pop("$setOnInsert", None)
            operations.append(
                UpdateOne({"_id": t.request_id, "state_rank": {"$lt": allowed_below}}, update)
            )
        matched, upserted = await self._bulk_write(operations)
        if matched + upserted == len(operations):
            return [WriteOutcome.APPLIED] * len(batch)
        # Some transition found its request further along: find out which.
        current = await self._read_states([t.request_id for t in batch])
        return [
            WriteOutcome.APPLIED
            if current.get(t.request_id) is t.state
            else WriteOutcome.SUPERSEDED
            for t in batch
        ]

    async def _apply_checked(self, batch: list[_Transition]) -> list[WriteOutcome]:
        """Read by ``_id``, check here, write by ``_id`` (FerretDB's fast path)."""
        current = await self._read_states([t.request_id for t in batch])
        outcomes, operations = [], []
        for t in batch:
            if not can_transition(current.get(t.request_id), t.state):
                outcomes.append(WriteOutcome.SUPERSEDED)
                continue
            current[t.request_id] = t.state
            operations.append(
                UpdateOne({"_id": t.request_id}, t.update(), upsert=t.materialise is not None)
            )
            outcomes.append(WriteOutcome.APPLIED)
        await self._bulk_write(operations)
        return outcomes

    async def _read_states(self, request_ids: list[str]) -> dict[str, RequestState]:
        """Each request's current state, one ``_id`` lookup per request, concurrently."""
        unique = list(dict.fromkeys(request_ids))
        documents = await asyncio.gather(
            *(self._collection.find_one({"_id": i}, {"state": 1}) for i in unique)
        )
        return {
            i: RequestState(doc["state"])
            for i, doc in zip(unique, documents, strict=True)
            if doc is not None and "state" in doc
        }


def _log_writer_death(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.critical("status writer died; no status can be recorded", exc_info=task.exception())
