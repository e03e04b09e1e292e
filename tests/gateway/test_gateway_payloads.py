"""Payload schemas of the built-in request types: 422 names the field; plugins pass anything."""

from __future__ import annotations

from typing import Any

import pytest

from lanes_gateway.errors import InvalidPayloadError
from lanes_gateway.payloads import PAYLOAD_SCHEMAS, check_payload


@pytest.mark.parametrize(
    ("request_type", "payload"),
    [
        ("echo", None),
        ("echo", {"a.b": {"$gt": [1, None]}}),
        ("echo", "text"),
        ("sleep", {"ms": 0}),
        ("sleep", {"ms": 60_000, "note": "extra fields are the client's business"}),
        ("cpu", {"rounds": 10_000}),
        ("fail", None),
        ("fail", {}),
        ("fail", {"permanent": True, "message": "boom"}),
        ("resize-image", {"anything": ["goes"]}),
        ("my.plugin", 42),
    ],
)
def test_valid_payloads_pass(request_type: str, payload: Any) -> None:
    check_payload(request_type, payload)


@pytest.mark.parametrize(
    ("request_type", "payload", "field"),
    [
        ("sleep", {}, "body.payload.ms"),
        ("sleep", {"ms": -1}, "body.payload.ms"),
        ("sleep", {"ms": 60_001}, "body.payload.ms"),
        ("sleep", {"ms": "10"}, "body.payload.ms"),
        ("sleep", {"ms": True}, "body.payload.ms"),
        ("sleep", {"ms": 1.5}, "body.payload.ms"),
        ("sleep", 10, "body.payload"),
        ("sleep", None, "body.payload"),
        ("cpu", {"rounds": 10_001}, "body.payload.rounds"),
        ("cpu", {"rounds": None}, "body.payload.rounds"),
        ("fail", {"permanent": "yes"}, "body.payload.permanent"),
        ("fail", {"message": 3}, "body.payload.message"),
        ("fail", [1], "body.payload"),
    ],
)
def test_invalid_payloads_name_the_field(request_type: str, payload: Any, field: str) -> None:
    with pytest.raises(InvalidPayloadError) as refused:
        check_payload(request_type, payload)

    assert [error["field"] for error in refused.value.errors] == [field]
    assert refused.value.errors[0]["message"]


def test_the_built_in_types_are_the_processors() -> None:
    assert set(PAYLOAD_SCHEMAS) == {"echo", "sleep", "cpu", "fail"}
