"""The status document the gateway writes and the filters it reads with."""

from __future__ import annotations

from datetime import UTC, datetime

from lanes_common.documents import decode_json_value, encode_json_value
from lanes_common.messages import RequestMessage
from lanes_common.states import RequestState
from lanes_gateway.cursor import PageCursor
from lanes_gateway.store import page_filter, queued_document

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_queued_document_keeps_user_json_as_text() -> None:
    payload = {"a.b": {"$where": "x"}}
    message = RequestMessage(id="r1", user_id="u1", type="echo", payload=payload, enqueued_at=NOW)

    document = queued_document(message, encode_json_value(payload), 2, 41, NOW)

    assert document["_id"] == "r1"
    assert document["user_id"] == "u1"
    assert (document["state"], document["state_rank"]) == ("queued", RequestState.QUEUED.rank)
    assert (document["partition"], document["offset"], document["attempts"]) == (2, 41, 0)
    assert decode_json_value(document["payload_json"]) == payload
    assert document["enqueued_at"] == NOW
    # Nothing user-controlled is a key of the stored document.
    assert all(isinstance(v, str | int | datetime | None) for v in document.values())


def test_first_page_filter() -> None:
    assert page_filter("u1", None, None) == {"user_id": "u1"}
    assert page_filter("u1", RequestState.FAILED, None) == {"user_id": "u1", "state": "failed"}


def test_next_page_starts_strictly_after_the_cursor() -> None:
    query = page_filter("u1", None, PageCursor(NOW, "r5"))

    assert query == {
        "user_id": "u1",
        "$or": [
            {"enqueued_at": {"$lt": NOW}},
            {"enqueued_at": NOW, "_id": {"$lt": "r5"}},
        ],
    }
