"""Shaping stored documents and counts into the API's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lanes_common.documents import encode_json_value
from lanes_common.states import RequestState
from lanes_common.user_queues import UserQueue
from lanes_gateway.views import queue_position, queue_summary, request_view

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _document(state: RequestState, **fields: object) -> dict[str, object]:
    return {
        "_id": "7d3f6f0e-8a55-4c1e-9f0b-6f4f2b7f8e21",
        "user_id": "user-1",
        "type": "echo",
        "payload_json": encode_json_value({"a.b": {"$c": [1, None]}}),
        "state": state.value,
        "state_rank": state.rank,
        "attempts": 0,
        "result_json": None,
        "error": None,
        "partition": 0,
        "offset": 7,
        "enqueued_at": NOW,
        "started_at": None,
        "finished_at": None,
        "updated_at": NOW,
        **fields,
    }


def test_queued_request_shows_its_position_and_payload() -> None:
    view = request_view(_document(RequestState.QUEUED), position=3)

    assert view.state is RequestState.QUEUED
    assert view.position == 3
    assert view.payload == {"a.b": {"$c": [1, None]}}
    assert view.result is None
    assert view.error is None


def test_position_is_hidden_once_the_request_left_the_queue() -> None:
    view = request_view(_document(RequestState.PROCESSING, attempts=1), position=1)

    assert view.position is None
    assert view.attempts == 1


def test_finished_request_shows_result_or_error() -> None:
    succeeded = request_view(
        _document(RequestState.SUCCEEDED, result_json=encode_json_value([1, "two"])), None
    )
    failed = request_view(
        _document(RequestState.FAILED, error={"code": "boom", "message": "it broke"}), None
    )

    assert succeeded.result == [1, "two"]
    assert failed.error is not None
    assert (failed.error.code, failed.error.message) == ("boom", "it broke")


def test_position_counts_the_unfinished_requests_ahead() -> None:
    assert queue_position(0) == 1
    assert queue_position(4) == 5


def _queue(*entries: tuple[int, datetime]) -> UserQueue:
    """A queue document's entries as (rank, enqueued_at)."""
    return UserQueue.from_document(
        {"open": {f"r{n}": {"r": rank, "o": n, "t": t} for n, (rank, t) in enumerate(entries)}}
    )


def test_queue_summary_names_every_state() -> None:
    queue = _queue((0, NOW), (0, NOW), (1, NOW))
    # Finished counts come from the requests themselves; open ones only from the queue.
    summary = queue_summary(queue, {"succeeded": 5, "queued": 99}, NOW)

    assert summary.counts == {
        RequestState.QUEUED: 2,
        RequestState.PROCESSING: 1,
        RequestState.SUCCEEDED: 5,
        RequestState.FAILED: 0,
        RequestState.CANCELLED: 0,
        RequestState.DEAD_LETTERED: 0,
    }
    assert summary.pending == 3
    assert summary.oldest_queued_age_seconds == 0.0


def test_queue_summary_ages_the_oldest_queued_request() -> None:
    queue = _queue((1, NOW - timedelta(seconds=300)), (0, NOW - timedelta(seconds=90)))

    summary = queue_summary(queue, {}, NOW)

    assert summary.oldest_queued_age_seconds == 90.0


def test_queue_age_is_never_negative_under_clock_skew() -> None:
    summary = queue_summary(_queue((0, NOW + timedelta(seconds=2))), {}, NOW)

    assert summary.oldest_queued_age_seconds == 0.0


def test_empty_queue_summary() -> None:
    summary = queue_summary(UserQueue.from_document(None), {}, NOW)

    assert set(summary.counts.values()) == {0}
    assert summary.pending == 0
