"""The users' queue documents: the writes that keep them, and what is read from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lanes_common.states import RequestState
from lanes_common.user_queues import (
    ClosedEntry,
    OpenEntry,
    UserQueue,
    entry_key,
    queue_operations,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
RID = "0b9c6f3e-1d2a-4c5b-8e7f-9a0b1c2d3e4f"


def test_request_ids_are_their_own_keys_and_unsafe_ones_are_hashed() -> None:
    assert entry_key(RID) == RID
    for hostile in ("a.b", "$set", "x" * 65, ""):
        key = entry_key(hostile)
        assert "." not in key and not key.startswith("$") and len(key) == 64


def test_opens_are_one_upsert_per_user_raising_the_rank_only() -> None:
    opened = [
        OpenEntry("u1", "r1", RequestState.QUEUED, 5, T0),
        OpenEntry("u1", "r2", RequestState.PROCESSING, 6, T0),
        OpenEntry("u2", "r3", RequestState.QUEUED, None, T0),
    ]

    (u1, u2) = queue_operations(opened, [])

    assert u1._filter == {"_id": "u1"} and u1._upsert
    assert u1._doc == {
        "$max": {"open.r1.r": 0, "open.r2.r": 1},
        "$set": {"open.r1.t": T0, "open.r1.o": 5, "open.r2.t": T0, "open.r2.o": 6},
    }
    # No offset known (the record had none): the entry is kept without one.
    assert u2._doc == {"$max": {"open.r3.r": 0}, "$set": {"open.r3.t": T0}}


def test_a_close_wins_over_an_open_of_the_same_request_and_withdrawals_are_conditional() -> None:
    operations = queue_operations(
        [OpenEntry("u1", "r1", RequestState.PROCESSING, 5, T0)],
        [ClosedEntry("u1", "r1"), ClosedEntry("u1", "r2", only_if_queued=True)],
    )

    (withdraw, close) = operations
    assert withdraw._filter == {"_id": "u1", "open.r2.r": 0}
    assert withdraw._doc == {"$unset": {"open.r2": ""}}
    assert not withdraw._upsert
    assert close._filter == {"_id": "u1"} and close._doc == {"$unset": {"open.r1": ""}}
    assert not close._upsert


def test_a_queue_counts_its_states_positions_and_oldest_queued() -> None:
    later = T0 + timedelta(seconds=5)
    queue = UserQueue.from_document(
        {
            "_id": "u1",
            "open": {
                "a": {"r": 1, "o": 10, "t": T0},
                "b": {"r": 0, "o": 11, "t": T0 + timedelta(seconds=1)},
                "c": {"r": 0, "o": 12, "t": later},
            },
        }
    )

    assert (queue.count(RequestState.QUEUED), queue.count(RequestState.PROCESSING)) == (2, 1)
    assert queue.open_count == 3
    assert [queue.open_before(offset) for offset in (10, 11, 12)] == [0, 1, 2]
    assert queue.oldest_queued_at() == T0 + timedelta(seconds=1)


def test_no_document_is_an_empty_queue() -> None:
    queue = UserQueue.from_document(None)

    assert (queue.open_count, queue.oldest_queued_at(), queue.open_before(99)) == (0, None, 0)
