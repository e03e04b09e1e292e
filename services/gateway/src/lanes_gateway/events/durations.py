"""Recent processing times per request type, learnt from the status stream; feeds the ETA.

A request's estimated start is ``now + ahead * mean(type)``: the requests
ahead of it in its user's queue (queued or processing) are assumed to take
as long as the recent mean of its own type. The mean is over the last
`SAMPLES_PER_TYPE` finished attempts of that type seen on the status topic
(started → finished); with fewer than `MIN_SAMPLES` there is no estimate.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from lanes_common.states import RequestState
from lanes_common.status_events import StatusEvent

SAMPLES_PER_TYPE = 200
MIN_SAMPLES = 5
# Request types are client-chosen: bound how many the gateway remembers.
MAX_TYPES = 1000
_TIMED_STATES = frozenset({RequestState.SUCCEEDED, RequestState.FAILED})


class ProcessingDurations:
    """A bounded window of processing durations per request type."""

    def __init__(self) -> None:
        self._by_type: dict[str, deque[float]] = {}

    def observe(self, event: StatusEvent) -> None:
        """Learn from a finished request's event (succeeded or failed, with both times)."""
        if event.state not in _TIMED_STATES or event.started_at is None:
            return
        if event.finished_at is None:
            return
        seconds = (event.finished_at - event.started_at).total_seconds()
        if seconds < 0:
            return
        samples = self._by_type.get(event.type)
        if samples is None:
            if len(self._by_type) >= MAX_TYPES:
                self._by_type.pop(next(iter(self._by_type)))
            samples = self._by_type[event.type] = deque(maxlen=SAMPLES_PER_TYPE)
        samples.append(seconds)

    def mean_seconds(self, request_type: str | None = None) -> float | None:
        """The recent mean for one type (every type when None); None with too few samples."""
        if request_type is None:
            samples = [s for window in self._by_type.values() for s in window]
        else:
            samples = list(self._by_type.get(request_type, ()))
        if len(samples) < MIN_SAMPLES:
            return None
        return sum(samples) / len(samples)

    def estimated_start(
        self, ahead: int, now: datetime, request_type: str | None = None
    ) -> datetime | None:
        """When work with ``ahead`` requests before it should start; None without data."""
        if ahead == 0:
            return now
        mean = self.mean_seconds(request_type)
        if mean is None:
            return None
        return now + timedelta(seconds=ahead * mean)
