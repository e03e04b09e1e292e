"""The status event is a public contract: its key, its field order and its round trip."""

import json

import pytest

from lanes_common.messages import HEADER_REQUEST_ID, utc_now
from lanes_common.states import RequestState
from lanes_common.status_events import (
    HEADER_STATE,
    StatusEvent,
    StatusEventDecodeError,
)


def _event() -> StatusEvent:
    return StatusEvent(
        request_id="r1",
        user_id="u1",
        type="echo",
        state=RequestState.PROCESSING,
        attempts=1,
        occurred_at=utc_now(),
    )


def test_event_round_trips_keyed_by_user() -> None:
    event = _event()
    assert StatusEvent.decode(event.encode()) == event
    assert event.key() == b"u1"
    assert (HEADER_REQUEST_ID, b"r1") in event.headers()
    assert (HEADER_STATE, b"processing") in event.headers()


def test_event_fields_keep_their_wire_order() -> None:
    # docs/architecture.md lists these, in this order, as the topic's contract.
    assert list(json.loads(_event().encode())) == [
        "schema_version",
        "request_id",
        "user_id",
        "type",
        "state",
        "attempts",
        "occurred_at",
        "enqueued_at",
        "started_at",
        "finished_at",
        "error_code",
    ]


def test_unknown_schema_version_is_refused() -> None:
    value = json.dumps({**json.loads(_event().encode()), "schema_version": 2}).encode()
    with pytest.raises(StatusEventDecodeError, match="unknown schema version"):
        StatusEvent.decode(value)
