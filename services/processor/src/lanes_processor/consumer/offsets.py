"""Which offset of a partition is safe to commit.

Work within a partition finishes out of order (different users run
concurrently), but a Kafka commit means "everything below this offset is
done". `PartitionOffsets` keeps the offsets received, in order, and only ever
reports the end of the contiguous finished prefix: unfinished work is never
skipped, whatever order the rest completes in.
"""

from __future__ import annotations

from collections import deque


class PartitionOffsets:
    """Offsets received from one partition, and which of them are finished."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._finished: set[int] = set()
        self._committable: int | None = None
        self._committed: int | None = None

    def __len__(self) -> int:
        """How many received offsets are not yet behind the commit point."""
        return len(self._pending)

    def is_behind(self, offset: int) -> bool:
        """True for an offset at or below the last one received (a repeated delivery)."""
        return (bool(self._pending) and offset <= self._pending[-1]) or (
            self._committable is not None and offset < self._committable
        )

    def track(self, offset: int) -> None:
        """Record an offset as received; offsets arrive in increasing order."""
        if self._pending and offset <= self._pending[-1]:
            raise ValueError(f"offset {offset} arrived after {self._pending[-1]}")
        self._pending.append(offset)

    def finish(self, offset: int) -> None:
        """Mark an offset finished and move the commit point past every finished prefix."""
        self._finished.add(offset)
        while self._pending and self._pending[0] in self._finished:
            done = self._pending.popleft()
            self._finished.discard(done)
            self._committable = done + 1

    def commit_contiguous_offsets(self) -> int | None:
        """The next offset to commit, if it moved since the last call; else None.

        A Kafka commit names the next offset to read, so this is one past the
        highest offset below which everything is finished.
        """
        if self._committable is None or self._committable == self._committed:
            return None
        return self._committable

    def committed(self, offset: int) -> None:
        """Record that ``offset`` was committed."""
        self._committed = offset
