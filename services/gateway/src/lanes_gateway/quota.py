"""The per-user quota: how many requests one user may have waiting (``LANES_MAX_QUEUED_PER_USER``).

The quota keeps one user from filling Kafka and the status store for
everyone. It is a soft limit, by design:

- the count is read before producing, and nothing makes "count, then
  produce" atomic (Kafka offers no per-user counter updated together with
  the produce), so parallel enqueues can pass it;
- the count is one lookup of the user's queue document by ``_id``
  (`lanes_common.user_queues`), and still each gateway remembers each
  user's count for `REFRESH_SECONDS` and adds what it accepts meanwhile, so
  a busy user costs no store round trip per enqueue. A count at the limit
  is read again (at most every `RECHECK_SECONDS`) before refusing, so a
  drained queue is noticed at once; a cancellation through this gateway
  forgets the count. Enqueues of one user that find the count stale while it
  is being read share that one read.

So a user can exceed the limit by what other gateway replicas accept within
`REFRESH_SECONDS`, plus what runs in parallel; never by more.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from lanes_gateway.errors import QuotaExceededError
from lanes_gateway.store import RequestStore

REFRESH_SECONDS = 2.0
RECHECK_SECONDS = 0.25
MAX_REMEMBERED_USERS = 10_000


@dataclass(slots=True)
class _QueuedCount:
    count: int
    read_at: float


class Quota:
    """Reserves a place in a user's queue, or refuses with `QuotaExceededError`."""

    def __init__(
        self, store: RequestStore, limit: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self.limit = limit
        self._clock = clock
        self._counts: OrderedDict[str, _QueuedCount] = OrderedDict()
        self._reads: dict[str, asyncio.Task[_QueuedCount]] = {}

    async def reserve(self, user_id: str) -> None:
        """Count one more queued request for the user, unless they are at the limit."""
        now = self._clock()
        known = self._counts.get(user_id)
        if known is None or self._worth_reading(known, now):
            known = await self._shared_read(user_id, now)
        if known.count >= self.limit:
            raise QuotaExceededError(self.limit)
        # Counted before the produce: a failed enqueue over-counts until the next read.
        known.count += 1

    async def _shared_read(self, user_id: str, now: float) -> _QueuedCount:
        """The user's count read afresh, by one store read however many callers ask at once."""
        read = self._reads.get(user_id)
        if read is None:
            read = asyncio.create_task(self._read(user_id, now))
            self._reads[user_id] = read
            read.add_done_callback(lambda done: self._read_finished(user_id, done))
        # Shielded: one caller going away must not cancel the read the others wait on.
        return await asyncio.shield(read)

    async def _read(self, user_id: str, now: float) -> _QueuedCount:
        count = _QueuedCount(await self._store.count_queued(user_id), now)
        self._remember(user_id, count)
        return count

    def _read_finished(self, user_id: str, read: asyncio.Task[_QueuedCount]) -> None:
        if self._reads.get(user_id) is read:
            del self._reads[user_id]
        if not read.cancelled():
            read.exception()  # retrieved here too, in case every caller went away

    def _worth_reading(self, known: _QueuedCount, now: float) -> bool:
        age = now - known.read_at
        return age >= REFRESH_SECONDS or (known.count >= self.limit and age >= RECHECK_SECONDS)

    def forget(self, user_id: str) -> None:
        """The user's queue shrank (a cancellation): read the count again next time."""
        self._counts.pop(user_id, None)

    def _remember(self, user_id: str, count: _QueuedCount) -> None:
        self._counts[user_id] = count
        self._counts.move_to_end(user_id)
        while len(self._counts) > MAX_REMEMBERED_USERS:
            self._counts.popitem(last=False)
