"""What the processor recorded, read back: status documents and how far a run got.

The embedded MongoDB-wire server serves only ``_id`` lookups from an index;
anything else scans the collection. The readers here therefore fetch a test's whole (small)
collection in one query, no more often than once a second (less often when a
read is slow).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lanes_common.documents import REQUESTS_COLLECTION
from lanes_common.mongo import create_mongo_client
from lanes_common.states import TERMINAL_RANK
from lanes_common.types import MongoDocument
from lanes_devstack.waiting import ConditionTimeoutError, eventually

POLL_SECONDS = 1.0
"""How often a proof reads its statuses: each read is a full scan on the embedded server."""


STATUS_FIELDS = {
    "state": 1,
    "state_rank": 1,
    "attempts": 1,
    "partition": 1,
    "offset": 1,
    "enqueued_at": 1,
    "started_at": 1,
    "finished_at": 1,
    "error": 1,
    "user_id": 1,
}


class StatusReader:
    """Reads the status documents of one proof's database."""

    def __init__(self, mongo_uri: str, database: str) -> None:
        self._client = create_mongo_client(mongo_uri)
        self._collection = self._client[database][REQUESTS_COLLECTION]

    async def __aenter__(self) -> StatusReader:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.close()

    async def all(self) -> dict[str, MongoDocument]:
        """Every status document of the proof, by request id (one query: one scan)."""
        return {doc["_id"]: doc async for doc in self._collection.find({}, STATUS_FIELDS)}

    async def some(self, ids: Iterable[str]) -> dict[str, MongoDocument]:
        """The status documents of ``ids`` (one ``$in`` query on ``_id``)."""
        query = {"_id": {"$in": list(ids)}}
        return {doc["_id"]: doc async for doc in self._collection.find(query, STATUS_FIELDS)}

    async def count(self, query: MongoDocument) -> int:
        """How many status documents match ``query``."""
        return await self._collection.count_documents(query)

    async def wait_count(
        self, query: MongoDocument, count: int, within: float, stalled_after: float = 120.0
    ) -> None:
        """Poll until ``count`` documents match ``query``; fail at the deadline or on a stall."""
        progress = {"seen": -1, "at": time.monotonic()}

        async def reached() -> bool:
            seen = await self.count(query)
            if seen != progress["seen"]:
                progress["seen"], progress["at"] = seen, time.monotonic()
            elif time.monotonic() - progress["at"] > stalled_after:
                raise ConditionTimeoutError(
                    f"{seen} of {count} match {query}; none more for {stalled_after:.0f}s"
                )
            return seen >= count

        await eventually(reached, within, f"{count} documents match {query}", interval=POLL_SECONDS)

    async def one(self, request_id: str) -> MongoDocument | None:
        """One status document (an ``_id`` lookup, cheap on any server)."""
        return await self._collection.find_one({"_id": request_id})

    async def insert(self, document: MongoDocument) -> None:
        """Write a status document directly (as the gateway would)."""
        await self._collection.insert_one(document)

    async def wait_terminal(
        self, ids: Iterable[str], within: float, on_read: RankHistory | None = None
    ) -> dict[str, MongoDocument]:
        """Poll until every request in ``ids`` has a terminal status; return all documents."""
        wanted = set(ids)
        progress = Progress(len(wanted))

        async def all_terminal() -> dict[str, MongoDocument] | None:
            docs = await self.all()
            if on_read is not None:
                on_read.observe(docs)
            progress.seen(docs, wanted)
            return docs if progress.done == len(wanted) else None

        try:
            docs = await eventually(all_terminal, within, "all terminal", interval=POLL_SECONDS)
        except ConditionTimeoutError as exc:
            raise ConditionTimeoutError(f"{exc}; {progress}") from None
        assert docs is not None  # eventually returns only a truthy value
        return docs


@dataclass
class Progress:
    """How far a set of requests got, for a timeout's message."""

    wanted: int
    done: int = 0
    states: dict[str, int] = field(default_factory=dict)

    def seen(self, docs: Mapping[str, MongoDocument], wanted: set[str]) -> None:
        """Count the states of the wanted requests in one read."""
        states: defaultdict[str, int] = defaultdict(int)
        for i in wanted:
            states[docs[i]["state"] if i in docs else "(no document)"] += 1
        self.states = dict(states)
        self.done = terminal_count(docs, wanted)

    def __str__(self) -> str:
        return f"{self.done} of {self.wanted} terminal; states {self.states}"


def terminal_count(docs: Mapping[str, MongoDocument], ids: Iterable[str]) -> int:
    """How many of ``ids`` have a terminal status in ``docs``."""
    return sum(1 for i in ids if docs.get(i, {}).get("state_rank") == TERMINAL_RANK)


@dataclass
class RankHistory:
    """Every state rank seen for each request across polls: it must never go down."""

    highest: dict[str, int] = field(default_factory=dict)
    regressions: list[str] = field(default_factory=list)
    reads: int = 0
    seen_in_progress: set[str] = field(default_factory=set)

    def observe(self, docs: Mapping[str, MongoDocument]) -> None:
        """Record one read of the statuses."""
        self.reads += 1
        for request_id, doc in docs.items():
            rank = int(doc["state_rank"])
            previous = self.highest.get(request_id)
            if previous is not None and rank < previous:
                self.regressions.append(
                    f"{request_id}: rank {previous} -> {rank} ({doc['state']}) on read {self.reads}"
                )
            if rank < TERMINAL_RANK:
                self.seen_in_progress.add(request_id)
            self.highest[request_id] = max(rank, previous or 0)


class StatusWatcher:
    """Reads a proof's statuses in the background for as long as the proof runs.

    Every read feeds a `RankHistory`, so a state that moves backwards between
    two reads is caught, and keeps the latest documents for progress checks.
    Reads are paced so they take at most a third of the server's time: on
    the embedded server each one scans the collection, and a busy machine slows it.
    """

    def __init__(
        self, reader: StatusReader, ids: Iterable[str], history: RankHistory | None = None
    ) -> None:
        """``history``: carry on an earlier watcher's, when a proof pauses its reads."""
        self.reader = reader
        self.ids = set(ids)
        self.history = history or RankHistory()
        self.latest: dict[str, MongoDocument] = {}
        self.progress = Progress(len(self.ids))
        self._last_progress_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StatusWatcher:
        self._task = asyncio.create_task(self._watch(), name="status-watcher")
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            began = time.monotonic()
            await self.read()
            # Pacing the reads, not waiting for anything.
            await asyncio.sleep(max(POLL_SECONDS, 2 * (time.monotonic() - began)))

    async def read(self) -> dict[str, MongoDocument]:
        """Read every status now, record it, and return it."""
        docs = await self.reader.all()
        self.history.observe(docs)
        before = self.progress.done
        self.progress.seen(docs, self.ids)
        if self.progress.done != before:
            self._last_progress_at = time.monotonic()
        self.latest = docs
        return docs

    @property
    def done(self) -> int:
        """How many of the watched requests were terminal at the last read."""
        return self.progress.done

    async def wait_done(self, count: int, within: float, stalled_after: float = 120.0) -> None:
        """Wait until at least ``count`` watched requests were seen terminal.

        Fails after ``within`` seconds, or sooner when no request became
        terminal for ``stalled_after`` seconds: a lost request shows as a run
        that stops short, and a slow machine as a run that goes on slowly.
        """
        assert self._task is not None and not self._task.done(), "the watcher stopped"
        self._last_progress_at = time.monotonic()

        async def reached() -> bool:
            if self._task is not None and self._task.done():
                self._task.result()  # the watcher died: raise its error here
            if time.monotonic() - self._last_progress_at > stalled_after:
                raise ConditionTimeoutError(f"no request finished for {stalled_after:.0f}s")
            return self.done >= count

        try:
            await eventually(reached, within, f"{count} requests terminal", interval=0.2)
        except ConditionTimeoutError as exc:
            raise ConditionTimeoutError(f"{exc}; {self.progress}") from None

    async def wait_all_done(
        self, within: float, stalled_after: float = 120.0
    ) -> dict[str, MongoDocument]:
        """Wait until every watched request was seen terminal; return a fresh read."""
        await self.wait_done(len(self.ids), within, stalled_after)
        return await self.read()
