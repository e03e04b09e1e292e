"""Input validation of ``POST /v1/requests``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from lanes_gateway.schemas import MAX_PAYLOAD_DEPTH, EnqueueBody, json_depth


@pytest.mark.parametrize("request_type", ["echo", "sleep", "a", "img.resize-v2_x", "a" * 64])
def test_valid_types(request_type: str) -> None:
    assert EnqueueBody(type=request_type).type == request_type


@pytest.mark.parametrize(
    "request_type", ["", "Echo", "1echo", "-echo", "echo!", "ec ho", "a" * 65, "echo\n", "é"]
)
def test_invalid_types_are_refused(request_type: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EnqueueBody(type=request_type)

    assert caught.value.errors()[0]["loc"] == ("type",)


@pytest.mark.parametrize(
    "payload", [None, 0, 1.5, "text", True, [], {}, {"a.b": {"$gt": [1, {"": None}]}}]
)
def test_any_json_payload_is_accepted(payload: Any) -> None:
    assert EnqueueBody(type="echo", payload=payload).payload == payload


def test_payload_defaults_to_null() -> None:
    assert EnqueueBody.model_validate({"type": "echo"}).payload is None


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        EnqueueBody.model_validate({"type": "echo", "payload": 1, "priority": 9})


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def test_json_depth() -> None:
    assert json_depth(1) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4
    assert json_depth(_nested(10_000)) == 10_000


def test_payload_nesting_is_limited() -> None:
    EnqueueBody(type="echo", payload=_nested(MAX_PAYLOAD_DEPTH))

    with pytest.raises(ValidationError) as caught:
        EnqueueBody(type="echo", payload=_nested(MAX_PAYLOAD_DEPTH + 1))

    assert caught.value.errors()[0]["loc"] == ("payload",)
