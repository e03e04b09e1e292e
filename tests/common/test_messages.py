"""The request message survives the trip through Kafka, and bad records are named."""

import json

import pytest

from lanes_common.documents import decode_json_value, encode_json_value
from lanes_common.messages import (
    HEADER_REQUEST_ID,
    MessageDecodeError,
    RequestMessage,
    new_request_id,
    utc_now,
)

AWKWARD_PAYLOAD = {"a.b": {"$set": 1}, "": [None, True, 1.5, "ü"], "$where": "x"}


def test_message_round_trips_with_awkward_payload() -> None:
    message = RequestMessage(
        id=new_request_id(),
        user_id="u1",
        type="echo",
        payload=AWKWARD_PAYLOAD,
        enqueued_at=utc_now(),
    )
    decoded = RequestMessage.decode(message.encode())
    assert decoded == message
    assert message.key() == b"u1"
    assert (HEADER_REQUEST_ID, message.id.encode()) in message.headers()


def test_message_fields_keep_their_wire_order() -> None:
    message = RequestMessage(id="r1", user_id="u1", type="echo", enqueued_at=utc_now())
    assert list(json.loads(message.encode())) == [
        "schema_version",
        "id",
        "user_id",
        "type",
        "payload",
        "enqueued_at",
        "idempotency_key",
        "replay_of",
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [(None, "no value"), (b"{not json", "not JSON"), (b'{"id": "x"}', "not a request message")],
)
def test_decode_names_what_is_wrong(value: bytes | None, reason: str) -> None:
    with pytest.raises(MessageDecodeError, match=reason):
        RequestMessage.decode(value)


def test_user_json_is_stored_as_text_that_round_trips() -> None:
    text = encode_json_value(AWKWARD_PAYLOAD)
    assert isinstance(text, str)
    assert decode_json_value(text) == AWKWARD_PAYLOAD
    assert decode_json_value(None) is None
