"""Which offset of a partition is safe to commit, in memory that does not grow with records.

Work within a partition finishes out of order (different users run
concurrently, and a user's records beyond its bound are re-read later), but a
Kafka commit means "everything below this offset is done". `PartitionOffsets`
keeps one bit per offset from the commit point to the read position: set when
that record finished. The commit point is the first clear bit, so unfinished
work (running, held, or spilled to be re-read) is never skipped, whatever
order the rest completes in. A 100,000-record backlog behind one stuck
request costs 12.5 KB, not a Python set of 100,000 ints.
"""

from __future__ import annotations


class PartitionOffsets:
    """Offsets read from one partition, and which of them are finished."""

    def __init__(self) -> None:
        self._origin = 0
        """The offset of bit 0 of ``_bits`` (always at or below the commit point)."""
        self._bits = bytearray()
        self._low: int | None = None
        """The lowest unfinished offset: the commit point. None until the first read."""
        self._next: int | None = None
        """The offset after the last one read by the partition's consumer."""
        self._moved = False
        self._committed: int | None = None

    @property
    def read_to(self) -> int | None:
        """The offset after the last one read; records below it were all seen once."""
        return self._next

    @property
    def span(self) -> int:
        """Offsets from the commit point to the read position (the bitmap's length in bits)."""
        if self._low is None or self._next is None:
            return 0
        return self._next - self._low

    def is_behind(self, offset: int) -> bool:
        """True for an offset already read (a repeated delivery)."""
        return self._next is not None and offset < self._next

    def track(self, offset: int) -> None:
        """Record an offset as read; offsets arrive in increasing order.

        Offsets skipped between two reads (transaction markers, compaction)
        hold no work and count as finished.
        """
        if self._next is None or self._low is None:
            self._origin = self._low = offset
            self._next = offset + 1
            return
        if offset < self._next:
            raise ValueError(f"offset {offset} arrived after {self._next - 1}")
        for skipped in range(self._next, offset):
            self._set(skipped)
        self._next = offset + 1
        self._advance()

    def finish(self, offset: int) -> None:
        """Mark an offset finished and move the commit point past every finished prefix."""
        if self._low is None or self._next is None or offset < self._low:
            return
        if offset >= self._next:
            raise ValueError(f"offset {offset} finished before it was read")
        self._set(offset)
        self._advance()

    def is_finished(self, offset: int) -> bool:
        """True when ``offset`` is below the commit point or marked finished."""
        if self._low is None or offset < self._low:
            return self._low is not None
        index = offset - self._origin
        byte = index >> 3
        return byte < len(self._bits) and bool(self._bits[byte] >> (index & 7) & 1)

    def _set(self, offset: int) -> None:
        index = offset - self._origin
        byte = index >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte - len(self._bits) + 1))
        self._bits[byte] |= 1 << (index & 7)

    def _advance(self) -> None:
        assert self._low is not None and self._next is not None
        low = self._low
        while low < self._next:
            index = low - self._origin
            byte = index >> 3
            if byte >= len(self._bits):
                break
            if index & 7 == 0 and self._bits[byte] == 0xFF:
                low += 8  # a whole byte of finished offsets
                continue
            if not self._bits[byte] >> (index & 7) & 1:
                break
            low += 1
        low = min(low, self._next)
        if low != self._low:
            self._low = low
            self._moved = True
            # Drop the whole bytes below the commit point (bytearray trims its front cheaply).
            drop = (low - self._origin) >> 3
            if drop:
                del self._bits[:drop]
                self._origin += drop * 8

    def commit_contiguous_offsets(self) -> int | None:
        """The next offset to commit, if it moved since the last call; else None.

        A Kafka commit names the next offset to read, so this is one past the
        highest offset below which everything is finished.
        """
        if not self._moved or self._low is None or self._low == self._committed:
            return None
        return self._low

    def committed(self, offset: int) -> None:
        """Record that ``offset`` was committed."""
        self._committed = offset
