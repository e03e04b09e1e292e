"""Fan-out of the status topic to connected streams, with a bounded window kept for resumes.

All of it runs on the event loop: the topic reader hands each event over with
``call_soon_threadsafe``, so subscribing and snapshotting the window are one
step and a resuming stream neither misses nor repeats an event.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from lanes_common.messages import utc_now
from lanes_common.status_events import StatusEvent
from lanes_gateway.errors import GatewayError
from lanes_gateway.events.durations import ProcessingDurations
from lanes_gateway.events.positions import EventPosition


class TooManyStreamsError(GatewayError):
    """The caller, or this gateway as a whole, already holds as many streams as allowed."""

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"at most {limit} event streams {scope}; close one first")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Delivered:
    """An event and where it sits on the topic."""

    position: EventPosition
    event: StatusEvent


@dataclass(eq=False)
class Subscription:
    """One connected stream: its pending events and a wake-up for its writer."""

    user_id: str
    max_pending: int
    pending: deque[Delivered] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False
    """The client read too slowly and events were dropped: the stream must end."""

    def push(self, delivered: Delivered) -> None:
        """Queue an event for the stream, or mark it overflowed past ``max_pending``."""
        if len(self.pending) >= self.max_pending:
            self.overflowed = True
        else:
            self.pending.append(delivered)
        self.wake.set()

    def take(self) -> list[Delivered]:
        """Everything pending, oldest first."""
        taken = list(self.pending)
        self.pending.clear()
        self.wake.clear()
        return taken


@dataclass(frozen=True, slots=True)
class Resume:
    """What a subscriber missed: the events to send first, and whether the window held them."""

    missed: list[Delivered]
    complete: bool


class StatusHub:
    """Connected streams by user, the recent events, and the connection bounds."""

    def __init__(
        self,
        window: timedelta,
        max_window_events: int,
        max_streams_per_user: int,
        max_streams: int,
        max_pending_per_stream: int = 1000,
    ) -> None:
        self._window = window
        self._recent: deque[Delivered] = deque()
        self._max_window_events = max_window_events
        # Per partition, the first offset the window still holds (or will hold next).
        self._covered_from: dict[int, int] = {}
        self._streams: dict[str, set[Subscription]] = {}
        self._stream_count = 0
        self._max_per_user = max_streams_per_user
        self._max_streams = max_streams
        self._max_pending = max_pending_per_stream
        self.durations = ProcessingDurations()

    @property
    def stream_count(self) -> int:
        """How many streams are connected to this gateway."""
        return self._stream_count

    def start_partition(self, partition: int, offset: int) -> None:
        """The reader starts ``partition`` at ``offset``: the window covers it from there."""
        self._covered_from[partition] = offset

    def deliver(self, partition: int, offset: int, event: StatusEvent) -> None:
        """Take one event from the topic: remember it and hand it to its user's streams."""
        delivered = Delivered(EventPosition(partition, offset), event)
        self._recent.append(delivered)
        self._covered_from.setdefault(partition, offset)
        self._evict()
        self.durations.observe(event)
        for stream in self._streams.get(event.user_id, ()):
            stream.push(delivered)

    def _evict(self) -> None:
        oldest_kept = utc_now() - self._window
        while self._recent and (
            len(self._recent) > self._max_window_events
            or self._recent[0].event.occurred_at < oldest_kept
        ):
            gone = self._recent.popleft()
            self._covered_from[gone.position.partition] = gone.position.offset + 1

    def subscribe(
        self, user_id: str, after: EventPosition | None = None
    ) -> tuple[Subscription, Resume]:
        """Connect a stream for ``user_id``; with ``after``, also what it missed since then.

        Raises `TooManyStreamsError` past the per-user or total bound.
        """
        streams = self._streams.get(user_id, set())
        if len(streams) >= self._max_per_user:
            raise TooManyStreamsError("per user", self._max_per_user)
        if self._stream_count >= self._max_streams:
            raise TooManyStreamsError("on this gateway", self._max_streams)
        subscription = Subscription(user_id, self._max_pending)
        self._streams.setdefault(user_id, streams).add(subscription)
        self._stream_count += 1
        return subscription, self._missed(user_id, after)

    def _missed(self, user_id: str, after: EventPosition | None) -> Resume:
        if after is None:
            return Resume([], complete=True)
        self._evict()
        covered_from = self._covered_from.get(after.partition)
        complete = covered_from is not None and covered_from <= after.offset + 1
        missed = [
            d
            for d in self._recent
            if d.event.user_id == user_id
            and d.position.partition == after.partition
            and d.position.offset > after.offset
        ]
        return Resume(missed, complete)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Disconnect a stream; its pending events are dropped with it."""
        streams = self._streams.get(subscription.user_id)
        if streams is None or subscription not in streams:
            return
        streams.discard(subscription)
        self._stream_count -= 1
        if not streams:
            del self._streams[subscription.user_id]
