"""The ``queued`` documents of accepted requests, group-committed.

Each accepted request needs its status document and an open entry in its
user's queue document. Enqueues that arrive while a batch is on the wire
wait for the next one, so concurrent requests share the round trips
instead of paying one each:

1. the users' open entries (``$max`` on rank 0, one upsert per user);
2. the documents, in one unordered insert (``insert_many(ordered=False)``'s command);
3. only if some insert found its ``_id`` taken (the processor consumed the
   request first and created the document): those entries are withdrawn
   while still ``queued``, so an entry the processor already closed does
   not come back.

All of it happens after Kafka's acknowledgement, so the processor may reach
a request first. The entries go before the documents so that a request whose
document the gateway did create already has its entry, and the processor's
later close removes it; one the processor reached first is step 3's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from pymongo import InsertOne
from pymongo.asynchronous.database import AsyncDatabase

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.mongo import write_unordered
from lanes_common.states import RequestState
from lanes_common.types import MongoDocument
from lanes_common.user_queues import (
    USER_QUEUES_COLLECTION,
    ClosedEntry,
    OpenEntry,
    queue_operations,
)

logger = logging.getLogger(__name__)

MAX_BATCH = 500


@dataclass
class _Pending:
    document: MongoDocument
    done: asyncio.Future[bool] = field(default_factory=asyncio.Future)


class QueuedInserts:
    """Writes ``queued`` status documents in shared batches; run it with `running`."""

    def __init__(self, database: AsyncDatabase[MongoDocument]) -> None:
        self._requests = database[REQUESTS_COLLECTION]
        self._queues = database[USER_QUEUES_COLLECTION]
        self._pending: asyncio.Queue[_Pending] = asyncio.Queue()

    async def insert(self, document: MongoDocument) -> bool:
        """Store a ``queued`` document: True if inserted, False if its request was already stored.

        Raises the store's error when the batch failed (nothing is retried:
        Kafka holds the request, and the processor records it).
        """
        pending = _Pending(document)
        self._pending.put_nowait(pending)
        return await pending.done

    @asynccontextmanager
    async def running(self) -> AsyncIterator[QueuedInserts]:
        """Write batches while the context is open."""
        task = asyncio.create_task(self._write_batches(), name="queued-inserts")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            while not self._pending.empty():
                self._pending.get_nowait().done.cancel()

    async def _write_batches(self) -> None:
        while True:
            batch = [await self._pending.get()]
            while len(batch) < MAX_BATCH and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            try:
                taken = await self._write(batch)
            except Exception as exc:  # every waiter learns of it; the batcher goes on
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(exc)
                continue
            for index, pending in enumerate(batch):
                if not pending.done.done():
                    pending.done.set_result(index not in taken)

    async def _write(self, batch: list[_Pending]) -> set[int]:
        """Write one batch; the indexes whose ``_id`` was taken already."""
        documents = [pending.document for pending in batch]
        opened = [
            OpenEntry(
                d["user_id"], d["_id"], RequestState.QUEUED, d.get("offset"), d["enqueued_at"]
            )
            for d in documents
        ]
        entries = queue_operations(opened, [])
        if await write_unordered(self._queues, entries):
            # Two first upserts of one user's document raced; the second now matches.
            await write_unordered(self._queues, entries)
        taken = await write_unordered(self._requests, [InsertOne(d) for d in documents])
        if taken:
            withdrawn = [
                ClosedEntry(documents[i]["user_id"], documents[i]["_id"], only_if_queued=True)
                for i in sorted(taken)
            ]
            await write_unordered(self._queues, queue_operations([], withdrawn))
        return taken
