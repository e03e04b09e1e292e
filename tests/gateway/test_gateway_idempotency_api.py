"""``Idempotency-Key`` on ``POST /v1/requests`` through a real gateway, Kafka and Mongo store."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from lanes_common.messages import RequestMessage
from lanes_gateway.idempotency import IDEMPOTENCY_COLLECTION, claim_id
from tests.gateway.conftest import GatewayStack, TestUser

pytestmark = pytest.mark.integration

PARALLEL = 50


def _enqueue(
    client: httpx.Client, user: TestUser, key: str, payload: Any = None, request_type: str = "echo"
) -> httpx.Response:
    return client.post(
        "/v1/requests",
        json={"type": request_type, "payload": payload},
        headers={**user.headers, "Idempotency-Key": key},
    )


def _request_ids(client: httpx.Client, user: TestUser) -> list[str]:
    page = client.get("/v1/requests", params={"limit": 100}, headers=user.headers)
    assert page.status_code == 200, page.text
    return [item["id"] for item in page.json()["items"]]


def test_the_same_key_and_body_answer_the_same_request_once(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    key = str(uuid.uuid4())

    first = _enqueue(client, user, key, {"b": 2, "a": 1})
    again = _enqueue(client, user, key, {"a": 1, "b": 2})

    assert first.status_code == again.status_code == 202, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    (record,) = gateway_stack.records_for_key(user.id.encode())
    message = RequestMessage.decode(record.value())
    assert (message.id, message.idempotency_key) == (first.json()["id"], key)
    assert _request_ids(client, user) == [first.json()["id"]]


def test_the_same_key_with_another_body_is_a_conflict(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    first = _enqueue(client, user, "order-17", {"qty": 1})

    other_payload = _enqueue(client, user, "order-17", {"qty": 2})
    other_type = _enqueue(client, user, "order-17", {"ms": 1}, request_type="sleep")

    assert first.status_code == 202
    for answer in (other_payload, other_type):
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "idempotency_key_reused"
    assert len(gateway_stack.records_for_key(user.id.encode())) == 1
    assert _request_ids(client, user) == [first.json()["id"]]


def test_keys_belong_to_their_user(gateway_stack: GatewayStack, client: httpx.Client) -> None:
    alice, bob = gateway_stack.new_user(), gateway_stack.new_user()

    for_alice = _enqueue(client, alice, "shared-key", 1)
    for_bob = _enqueue(client, bob, "shared-key", 2)

    assert for_alice.status_code == for_bob.status_code == 202
    assert for_alice.json()["id"] != for_bob.json()["id"]
    assert "idempotent-replayed" not in for_bob.headers
    # The stored key is a hash: neither the key nor the user shows in the _id.
    with gateway_stack.collection(IDEMPOTENCY_COLLECTION) as claims:
        stored = claims.find_one({"_id": claim_id(bob.id, "shared-key")})
    assert stored is not None and stored["request_id"] == for_bob.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\tkey"])
def test_malformed_keys_are_refused_naming_the_header(
    gateway_stack: GatewayStack, client: httpx.Client, key: str
) -> None:
    user = gateway_stack.new_user()

    answer = _enqueue(client, user, key, 1)

    assert answer.status_code == 422, answer.text
    assert "header.Idempotency-Key" in [error["field"] for error in answer.json()["errors"]]
    assert _request_ids(client, user) == []


async def test_fifty_parallel_enqueues_with_one_key_make_exactly_one_request(
    gateway_stack: GatewayStack,
) -> None:
    user = gateway_stack.new_user()
    key = str(uuid.uuid4())
    body = {"type": "echo", "payload": {"order": 42}}
    limits = httpx.Limits(max_connections=PARALLEL)
    async with httpx.AsyncClient(base_url=gateway_stack.url, timeout=60, limits=limits) as http:
        answers = await asyncio.gather(
            *(
                http.post(
                    "/v1/requests", json=body, headers={**user.headers, "Idempotency-Key": key}
                )
                for _ in range(PARALLEL)
            )
        )

    assert [answer.status_code for answer in answers] == [202] * PARALLEL, [
        answer.text for answer in answers if answer.status_code != 202
    ]
    ids = {answer.json()["id"] for answer in answers}
    assert len(ids) == 1
    replayed = [answer.headers.get("idempotent-replayed") for answer in answers]
    assert replayed.count(None) == 1, "exactly one call accepted it; the others replayed"
    records = gateway_stack.records_for_key(user.id.encode())
    assert [RequestMessage.decode(record.value()).id for record in records] == list(ids)
    with gateway_stack.collection("requests") as requests:
        assert requests.count_documents({"user_id": user.id}) == 1
