"""Per-partition backpressure: which partitions to pause and which to resume.

Only a partition whose own held records reach its bound is paused; the others
go on reading. Each partition's bound is the per-partition setting or its
share of the replica's total, whichever is smaller, so the total holds too. A
paused partition resumes once it drained to half its bound (hysteresis, so it
does not flap on every record). A partition whose unfinished span (commit
point to read position, one bit each) passes ``max_span`` pauses as well: the
one cost that grows with records read rather than with records held.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Set
from dataclasses import dataclass
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


@dataclass(frozen=True, slots=True)
class PartitionLoad:
    """What a partition holds now."""

    held: int
    """Records in memory, not yet finished."""
    span: int = 0
    """Offsets from its commit point to its read position."""


@dataclass(frozen=True, slots=True)
class HeldBounds:
    """How many records a replica may hold: per user, per partition and in total."""

    per_user: int
    per_partition: int
    total: int
    max_span: int = 10_000_000

    def partition_bound(self, partitions: int) -> int:
        """One partition's bound when ``partitions`` are assigned."""
        return max(1, min(self.per_partition, self.total // max(1, partitions)))


@dataclass(frozen=True, slots=True)
class PauseDecision(Generic[P]):
    """Partitions to pause and to resume now."""

    pause: frozenset[P]
    resume: frozenset[P]


def decide_pauses(
    loads: Mapping[P, PartitionLoad], paused: Set[P], bounds: HeldBounds
) -> PauseDecision[P]:
    """Pause each partition at its bound; resume each paused one below its low watermark."""
    bound = bounds.partition_bound(len(loads))
    low = bound // 2
    pause: set[P] = set()
    resume: set[P] = set()
    for partition, load in loads.items():
        full = load.held >= bound or load.span >= bounds.max_span
        drained = load.held <= low and load.span < bounds.max_span // 2
        if partition not in paused and full:
            pause.add(partition)
        elif partition in paused and drained:
            resume.add(partition)
    return PauseDecision(frozenset(pause), frozenset(resume))
