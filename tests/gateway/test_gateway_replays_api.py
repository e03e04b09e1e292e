"""``POST /v1/requests/{id}/replay`` through a real gateway, Kafka and Mongo store.

The test acts as the processor: it stores a dead-lettered request itself, so
no processor needs to run.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from lanes_common.documents import encode_json_value
from lanes_common.messages import RequestMessage
from tests.gateway.conftest import GatewayStack, TestUser

pytestmark = pytest.mark.integration


def _stored(gateway_stack: GatewayStack, user: TestUser, state: str) -> str:
    request_id = str(uuid.uuid4())
    with gateway_stack.collection("requests") as requests:
        requests.insert_one(
            {
                "_id": request_id,
                "user_id": user.id,
                "type": "echo",
                "payload_json": encode_json_value({"n": 7}),
                "state": state,
            }
        )
    return request_id


def test_a_dead_letter_is_replayed_once_as_a_new_request(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    original = _stored(gateway_stack, user, "dead_lettered")

    first = client.post(f"/v1/requests/{original}/replay", headers=user.headers)
    again = client.post(f"/v1/requests/{original}/replay", headers=user.headers)

    assert first.status_code == again.status_code == 202, again.text
    new_id = first.json()["id"]
    assert new_id != original and again.json()["id"] == new_id
    assert first.headers["location"] == f"/v1/requests/{new_id}"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    (record,) = gateway_stack.records_for_key(user.id.encode())
    message = RequestMessage.decode(record.value())
    assert (message.id, message.replay_of, message.payload) == (new_id, original, {"n": 7})
    replayed = client.get(f"/v1/requests/{new_id}", headers=user.headers)
    assert replayed.json()["state"] == "queued"


def test_only_the_owners_dead_letters_can_be_replayed(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    owner, other = gateway_stack.new_user(), gateway_stack.new_user()
    dead = _stored(gateway_stack, owner, "dead_lettered")
    succeeded = _stored(gateway_stack, owner, "succeeded")

    not_dead = client.post(f"/v1/requests/{succeeded}/replay", headers=owner.headers)
    not_theirs = client.post(f"/v1/requests/{dead}/replay", headers=other.headers)
    not_an_id = client.post("/v1/requests/nope/replay", headers=owner.headers)

    assert not_dead.status_code == 409 and not_dead.json()["code"] == "not_replayable"
    assert not_theirs.status_code == not_an_id.status_code == 404
    assert gateway_stack.records_for_key(owner.id.encode()) == []
