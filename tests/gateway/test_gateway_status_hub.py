"""The status hub's logic: fan-out by user, resume within the window, bounds, release."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lanes_common.messages import utc_now
from lanes_common.states import RequestState
from lanes_common.status_events import StatusEvent
from lanes_gateway.events.hub import StatusHub, TooManyStreamsError
from lanes_gateway.events.positions import EventPosition


def event(user: str, request: str = "r1", state: RequestState = RequestState.QUEUED) -> StatusEvent:
    return StatusEvent(
        request_id=request, user_id=user, type="echo", state=state, attempts=0,
        occurred_at=utc_now(),
    )  # fmt: skip


def hub(window_events: int = 100, per_user: int = 2, total: int = 3) -> StatusHub:
    return StatusHub(timedelta(minutes=5), window_events, per_user, total)


async def test_streams_get_only_their_users_events() -> None:
    h = hub()
    alice, _ = h.subscribe("alice")
    bob, _ = h.subscribe("bob")
    h.deliver(0, 1, event("alice"))
    assert [d.position for d in alice.take()] == [EventPosition(0, 1)]
    assert bob.take() == []


async def test_resume_replays_what_was_missed_within_the_window() -> None:
    h = hub(window_events=3)
    h.start_partition(0, 0)
    for offset in range(5):
        h.deliver(0, offset, event("alice", f"r{offset}"))
    _, resume = h.subscribe("alice", EventPosition(0, 2))
    assert resume.complete
    assert [d.position.offset for d in resume.missed] == [3, 4]
    _, too_old = h.subscribe("alice", EventPosition(0, 0))
    assert not too_old.complete


async def test_bounds_answer_too_many_and_unsubscribe_frees() -> None:
    h = hub(per_user=2, total=3)
    first, _ = h.subscribe("alice")
    h.subscribe("alice")
    with pytest.raises(TooManyStreamsError):
        h.subscribe("alice")
    h.subscribe("bob")
    with pytest.raises(TooManyStreamsError):
        h.subscribe("carol")
    h.unsubscribe(first)
    h.unsubscribe(first)  # twice is harmless
    assert h.stream_count == 2
    h.subscribe("carol")


async def test_a_slow_stream_overflows_instead_of_growing() -> None:
    h = StatusHub(timedelta(minutes=5), 100, 1, 1, max_pending_per_stream=2)
    stream, _ = h.subscribe("alice")
    for offset in range(5):
        h.deliver(0, offset, event("alice"))
    assert stream.overflowed and len(stream.pending) == 2


def test_event_ids_parse_strictly() -> None:
    assert EventPosition.parse("3-42") == EventPosition(3, 42)
    assert str(EventPosition(3, 42)) == "3-42"
    for bad in ("", "3", "a-1", "3-", "-1-2", "1-2-3", "9" * 30):
        with pytest.raises(ValueError):
            EventPosition.parse(bad)


def test_supersedes_orders_by_state_then_attempt() -> None:
    queued = event("a")
    processing = queued.model_copy(update={"state": RequestState.PROCESSING, "attempts": 1})
    retried = processing.model_copy(update={"attempts": 2})
    assert processing.supersedes(queued) and retried.supersedes(processing)
    assert not queued.supersedes(processing) and not processing.supersedes(processing)
