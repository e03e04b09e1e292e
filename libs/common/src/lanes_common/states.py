"""The request lifecycle: states and the only direction they may move."""

from __future__ import annotations

from enum import StrEnum


class RequestState(StrEnum):
    """Where a request is in its life.

    ``queued → processing → succeeded | failed | cancelled | dead_lettered``.
    """

    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEAD_LETTERED = "dead_lettered"

    @property
    def rank(self) -> int:
        """Progress along the lifecycle; a write may only raise it."""
        return _RANK[self]

    @property
    def is_terminal(self) -> bool:
        """True once nothing more will happen to the request."""
        return self.rank == TERMINAL_RANK


TERMINAL_RANK = 2
_RANK = {
    RequestState.QUEUED: 0,
    RequestState.PROCESSING: 1,
    RequestState.SUCCEEDED: TERMINAL_RANK,
    RequestState.FAILED: TERMINAL_RANK,
    RequestState.CANCELLED: TERMINAL_RANK,
    RequestState.DEAD_LETTERED: TERMINAL_RANK,
}
TERMINAL_STATES = frozenset(s for s in RequestState if s.is_terminal)
OPEN_STATES = frozenset(s for s in RequestState if not s.is_terminal)


def can_transition(current: RequestState | None, new: RequestState) -> bool:
    """Whether a request in ``current`` (None: not recorded yet) may move to ``new``.

    States only move forward: a late or replayed write never moves a request
    back, and a terminal state is final. ``processing → processing`` is
    allowed because each retry attempt records itself again.
    """
    if current is None:
        return True
    if current.is_terminal:
        return False
    if current is RequestState.PROCESSING and new is RequestState.PROCESSING:
        return True
    return new.rank > current.rank
