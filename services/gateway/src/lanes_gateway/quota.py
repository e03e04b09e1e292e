"""The per-user quota: how many requests one user may have waiting (``LANES_MAX_QUEUED_PER_USER``).

The quota keeps one user from filling Kafka and the status store for
everyone. It is a soft limit, by design:

- the count is read before producing, and nothing makes "count, then
  produce" atomic (neither Kafka nor FerretDB offers a per-user counter
  updated together with the produce), so parallel enqueues can pass it;
- counting a user's queued requests is an index scan on MongoDB but a scan
  of the whole collection on FerretDB (hundreds of milliseconds at a few
  thousand requests), so each gateway remembers each user's count for
  `REFRESH_SECONDS` and adds what it accepts meanwhile. A count at the limit
  is read again (at most every `RECHECK_SECONDS`) before refusing, so a
  drained queue is noticed at once; a cancellation through this gateway
  forgets the count.

So a user can exceed the limit by what other gateway replicas accept within
`REFRESH_SECONDS`, plus what runs in parallel; never by more.
"""

from __future__ import annotations

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

    async def reserve(self, user_id: str) -> None:
        """Count one more queued request for the user, unless they are at the limit."""
        now = self._clock()
        known = self._counts.get(user_id)
        if known is None or self._worth_reading(known, now):
            known = _QueuedCount(await self._store.count_queued(user_id), now)
            self._remember(user_id, known)
        if known.count >= self.limit:
            raise QuotaExceededError(self.limit)
        # Counted before the produce: a failed enqueue over-counts until the next read.
        known.count += 1

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
