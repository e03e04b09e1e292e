"""``DELETE /v1/requests/{id}`` through a real gateway and MongoDB-wire server (no processor here).

Where a test needs a request that started or finished, it writes the status
document as the processor would; ``test_gateway_cancel_e2e.py`` runs the real one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from lanes_common.messages import utc_now
from lanes_common.states import RequestState
from tests.gateway.conftest import GatewayStack, TestUser

pytestmark = pytest.mark.integration


def _enqueue(client: httpx.Client, user: TestUser, payload: Any = None) -> str:
    answer = client.post(
        "/v1/requests", json={"type": "echo", "payload": payload}, headers=user.headers
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def _view(client: httpx.Client, user: TestUser, request_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/requests/{request_id}", headers=user.headers)
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    return view


def _act_as_processor(stack: GatewayStack, request_id: str, state: RequestState) -> None:
    now = utc_now()
    fields: dict[str, Any] = {"state": state.value, "state_rank": state.rank, "updated_at": now}
    fields["started_at"] = now
    if state.is_terminal:
        fields["finished_at"] = now
    with stack.collection("requests") as requests:
        assert requests.update_one({"_id": request_id}, {"$set": fields}).matched_count == 1


def test_a_queued_request_is_cancelled_and_leaves_the_queue(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    first, second, third = (_enqueue(client, user, n) for n in range(3))

    answer = client.delete(f"/v1/requests/{second}", headers=user.headers)

    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert (cancelled["id"], cancelled["state"], cancelled["position"]) == (
        second,
        "cancelled",
        None,
    )
    assert cancelled["started_at"] is None
    finished_at = datetime.fromisoformat(cancelled["finished_at"])
    assert finished_at >= datetime.fromisoformat(cancelled["enqueued_at"])
    assert _view(client, user, second) == cancelled
    # The requests behind it move up.
    assert [_view(client, user, i)["position"] for i in (first, third)] == [1, 2]
    summary = client.get("/v1/queue", headers=user.headers).json()
    assert (summary["counts"]["cancelled"], summary["pending"]) == (1, 2)
    listed = client.get("/v1/requests", params={"state": "cancelled"}, headers=user.headers)
    assert [item["id"] for item in listed.json()["items"]] == [second]


def test_cancelling_again_answers_the_cancelled_request_unchanged(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    request_id = _enqueue(client, user)
    first = client.delete(f"/v1/requests/{request_id}", headers=user.headers)

    again = client.delete(f"/v1/requests/{request_id}", headers=user.headers)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()


@pytest.mark.parametrize(
    "state",
    [
        RequestState.PROCESSING,
        RequestState.SUCCEEDED,
        RequestState.FAILED,
        RequestState.DEAD_LETTERED,
    ],
)
def test_a_started_or_finished_request_cannot_be_cancelled(
    gateway_stack: GatewayStack, client: httpx.Client, state: RequestState
) -> None:
    user = gateway_stack.new_user()
    request_id = _enqueue(client, user)
    _act_as_processor(gateway_stack, request_id, state)
    before = _view(client, user, request_id)

    answer = client.delete(f"/v1/requests/{request_id}", headers=user.headers)

    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "not_cancellable"
    assert state.value in answer.json()["detail"]
    assert _view(client, user, request_id) == before


def test_another_users_or_an_unknown_request_is_not_found_and_untouched(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    owner, stranger = gateway_stack.new_user(), gateway_stack.new_user()
    request_id = _enqueue(client, owner)

    answers = [
        client.delete(f"/v1/requests/{request_id}", headers=stranger.headers),
        client.delete(f"/v1/requests/{uuid.uuid4()}", headers=owner.headers),
        client.delete("/v1/requests/not-an-id", headers=owner.headers),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert _view(client, owner, request_id)["state"] == "queued"


def test_the_state_filter_pages_with_a_cursor_newest_first(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    ids = [_enqueue(client, user, n) for n in range(6)]
    for cancelled in (ids[1], ids[4]):
        assert client.delete(f"/v1/requests/{cancelled}", headers=user.headers).status_code == 200

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"state": "queued", "limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = client.get("/v1/requests", params=params, headers=user.headers).json()
        assert all(item["state"] == "queued" for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [ids[5], ids[3], ids[2], ids[0]]
