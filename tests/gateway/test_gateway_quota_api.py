"""The per-user quota and the payload schemas through a real gateway (a second one, limit 3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import GatewayStack, TestUser

pytestmark = pytest.mark.integration

LIMIT = 3


@pytest.fixture(scope="module")
def limited(gateway_stack: GatewayStack) -> Iterator[httpx.Client]:
    """A gateway that lets a user have only three queued requests."""
    gateway = gateway_stack.start_gateway({"LANES_MAX_QUEUED_PER_USER": str(LIMIT)})
    try:
        with httpx.Client(base_url=gateway.url, timeout=30.0) as http:
            yield http
    finally:
        gateway.stop()


def _enqueue(http: httpx.Client, user: TestUser, **headers: str) -> httpx.Response:
    return http.post(
        "/v1/requests", json={"type": "echo", "payload": 1}, headers={**user.headers, **headers}
    )


def _assert_over_quota(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["retry-after"]) > 0
    assert answer.json()["code"] == "quota_exceeded"
    assert str(LIMIT) in answer.json()["detail"]


def test_past_the_quota_enqueues_answer_429_and_enqueue_nothing(
    gateway_stack: GatewayStack, limited: httpx.Client
) -> None:
    user, other = gateway_stack.new_user(), gateway_stack.new_user()
    accepted = [_enqueue(limited, user) for _ in range(LIMIT)]

    refused = [
        _enqueue(limited, user),
        _enqueue(limited, user, **{"Idempotency-Key": "k-1"}),
        limited.post("/enqueue", json={"request": "legacy"}, headers=user.headers),
    ]

    assert [answer.status_code for answer in accepted] == [202] * LIMIT
    for answer in refused:
        _assert_over_quota(answer)
    assert limited.get("/v1/queue", headers=user.headers).json()["pending"] == LIMIT
    assert len(gateway_stack.records_for_key(user.id.encode())) == LIMIT
    # The quota is per user: someone else is not affected.
    assert _enqueue(limited, other).status_code == 202


def test_a_cancelled_request_frees_its_place_and_a_refused_key_stays_usable(
    gateway_stack: GatewayStack, limited: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    first, *_ = [_enqueue(limited, user).json()["id"] for _ in range(LIMIT)]
    _assert_over_quota(_enqueue(limited, user, **{"Idempotency-Key": "retry-me"}))

    assert limited.delete(f"/v1/requests/{first}", headers=user.headers).status_code == 200
    retried = _enqueue(limited, user, **{"Idempotency-Key": "retry-me"})

    assert retried.status_code == 202, retried.text
    assert "idempotent-replayed" not in retried.headers


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "sleep", "payload": {"ms": "soon"}}, "body.payload.ms"),
        ({"type": "sleep", "payload": {"ms": 60_001}}, "body.payload.ms"),
        ({"type": "sleep"}, "body.payload"),
        ({"type": "cpu", "payload": {"rounds": -1}}, "body.payload.rounds"),
        ({"type": "fail", "payload": {"permanent": "yes"}}, "body.payload.permanent"),
    ],
)
def test_a_payload_that_does_not_suit_its_type_is_422_naming_the_field(
    gateway_stack: GatewayStack, client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    user = gateway_stack.new_user()

    answer = client.post("/v1/requests", json=body, headers=user.headers)

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert field in answer.json()["detail"]
    assert client.get("/v1/queue", headers=user.headers).json()["pending"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"type": "sleep", "payload": {"ms": 0, "note": "extra fields pass"}},
        {"type": "fail", "payload": None},
        {"type": "some-plugin", "payload": {"whatever": [1, 2]}},
    ],
)
def test_valid_and_plugin_payloads_are_accepted(
    gateway_stack: GatewayStack, client: httpx.Client, body: dict[str, Any]
) -> None:
    user = gateway_stack.new_user()

    assert client.post("/v1/requests", json=body, headers=user.headers).status_code == 202
