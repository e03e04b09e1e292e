"""Each user's open requests in one document, so nothing on a request's path counts their history.

The ``user_queues`` collection holds one document per user (``_id`` = user
id) whose ``open`` field maps each of the user's unfinished requests to
``{"r": rank, "o": offset, "t": enqueued_at}`` (rank 0 queued, 1 processing;
the offset orders one user's queue, since all of a user's records share a
partition). The quota, the pending counts, ``position`` and the oldest queued
age are read from it with one lookup by ``_id``, and it holds at most the
user's open requests, which the quota bounds. Finished requests are not in
it: per-state totals of finished requests are counted from ``requests``.

The processor writes it after its conditional write to ``requests``, from
that write's outcome; the gateway writes a ``queued`` entry just before its
insert and withdraws it when the insert lost. Every write is idempotent, so a
repeated or redelivered transition cannot count twice:

- an entry is *opened* with ``$max`` on its rank (repeats and reorderings
  between the gateway's ``queued`` and the processor's ``processing`` land
  on the higher rank);
- it is *closed* with ``$unset`` when its request reaches a terminal state,
  and again whenever the processor finds the request already terminal; an
  entry whose close was lost to a crash is closed by the record's redelivery
  or, failing that, by the gateway's periodic pass over finished requests;
- the gateway, whose ``queued`` insert lost to the processor's upsert (the
  request was consumed first), withdraws its entry only while it is still
  ``queued``, so it never hides a request the processor already started.

The entries are built here and written by `lanes_processor.store` and the
gateway, each in one unordered bulk per batch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pymongo import UpdateOne

from lanes_common.states import RequestState
from lanes_common.types import MongoDocument

USER_QUEUES_COLLECTION = "user_queues"
"""One document per user that ever had an open request: ``_id`` = user id, ``open`` = entries."""

_FIELD_SAFE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def entry_key(request_id: str) -> str:
    """The request's key inside ``open``: its id, or a hash of an id that is no safe field name."""
    if _FIELD_SAFE.match(request_id):
        return request_id
    # Ids come from Kafka records; a '.' or '$' in one must not address another field.
    return hashlib.sha256(request_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OpenEntry:
    """One request that is queued or processing, as the queue document keeps it."""

    user_id: str
    request_id: str
    state: RequestState
    offset: int | None
    enqueued_at: datetime


@dataclass(frozen=True, slots=True)
class ClosedEntry:
    """One request that left the open states (or must no longer be listed as open)."""

    user_id: str
    request_id: str
    only_if_queued: bool = False
    """Close only while the entry is still ``queued`` (the gateway withdrawing its own)."""


def queue_operations(opened: Iterable[OpenEntry], closed: Iterable[ClosedEntry]) -> list[UpdateOne]:
    """The writes that bring the users' queue documents up to date: one per user where possible.

    A request both opened and closed in the same batch ends closed: it is
    terminal, and a terminal state is final.
    """
    closed = list(closed)
    closing = {(c.user_id, entry_key(c.request_id)) for c in closed}
    updates: dict[str, MongoDocument] = {}
    for entry in opened:
        key = entry_key(entry.request_id)
        if (entry.user_id, key) in closing:
            continue
        update = updates.setdefault(entry.user_id, {"$max": {}, "$set": {}})
        update["$max"][f"open.{key}.r"] = entry.state.rank
        update["$set"][f"open.{key}.t"] = entry.enqueued_at
        if entry.offset is not None:
            update["$set"][f"open.{key}.o"] = entry.offset
    operations = [UpdateOne({"_id": user}, update, upsert=True) for user, update in updates.items()]
    unconditional: dict[str, MongoDocument] = {}
    for close in closed:
        key = entry_key(close.request_id)
        if close.only_if_queued:
            operations.append(
                UpdateOne(
                    {"_id": close.user_id, f"open.{key}.r": RequestState.QUEUED.rank},
                    {"$unset": {f"open.{key}": ""}},
                )
            )
        else:
            unconditional.setdefault(close.user_id, {})[f"open.{key}"] = ""
    operations.extend(
        UpdateOne({"_id": user}, {"$unset": fields}) for user, fields in unconditional.items()
    )
    return operations


@dataclass(frozen=True, slots=True)
class QueuedEntry:
    """One open request read back: its rank, offset and enqueue time."""

    rank: int
    offset: int | None
    enqueued_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserQueue:
    """A user's open requests, read from their queue document."""

    entries: dict[str, QueuedEntry]

    @classmethod
    def from_document(cls, document: MongoDocument | None) -> UserQueue:
        """The queue a stored document describes (none stored: empty)."""
        raw = (document or {}).get("open") or {}
        entries = {
            key: QueuedEntry(int(value.get("r", 0)), value.get("o"), value.get("t"))
            for key, value in raw.items()
            if isinstance(value, dict)
        }
        return cls(entries)

    def count(self, state: RequestState) -> int:
        """How many open requests are in ``state`` (queued or processing)."""
        return sum(entry.rank == state.rank for entry in self.entries.values())

    @property
    def open_count(self) -> int:
        """How many requests are queued or processing."""
        return len(self.entries)

    def open_before(self, offset: int) -> int:
        """How many open requests Kafka stored before ``offset`` (they run first)."""
        return sum(
            entry.offset is not None and entry.offset < offset for entry in self.entries.values()
        )

    def oldest_queued_at(self) -> datetime | None:
        """When the oldest still-queued request was enqueued, or None."""
        times = [
            entry.enqueued_at
            for entry in self.entries.values()
            if entry.rank == RequestState.QUEUED.rank and entry.enqueued_at is not None
        ]
        return min(times, default=None)
