"""``/v1/requests`` and ``/v1/queue`` through a real gateway, Kafka and MongoDB-wire server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from lanes_common.messages import RequestMessage
from tests.gateway.conftest import GatewayStack

pytestmark = pytest.mark.integration

AWKWARD_PAYLOAD = {"a.b": {"$gt": [1, 2.5, None, True]}, "": "empty key", "ünï": ["çødé"]}


def _enqueue(client: httpx.Client, headers: dict[str, str], payload: Any = None) -> str:
    answer = client.post("/v1/requests", json={"type": "echo", "payload": payload}, headers=headers)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def test_enqueue_answers_after_kafka_stored_it_keyed_by_user(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()

    answer = client.post(
        "/v1/requests", json={"type": "echo", "payload": AWKWARD_PAYLOAD}, headers=user.headers
    )

    assert answer.status_code == 202, answer.text
    body = answer.json()
    request_id = body["id"]
    assert body == {
        "id": request_id,
        "state": "queued",
        "links": {"self": f"/v1/requests/{request_id}"},
    }
    assert answer.headers["location"] == f"/v1/requests/{request_id}"
    record = gateway_stack.records({request_id})[request_id]
    assert record.key() == user.id.encode()
    lanes_headers = {k: v for k, v in record.headers() or [] if k.startswith("lanes-")}
    # Other headers (W3C trace context) may travel too; these are the contract.
    assert lanes_headers == {
        "lanes-schema-version": b"1",
        "lanes-request-id": request_id.encode(),
        "lanes-type": b"echo",
    }
    message = RequestMessage.decode(record.value())
    assert (message.id, message.user_id, message.type) == (request_id, user.id, "echo")
    assert message.payload == AWKWARD_PAYLOAD


def test_read_shows_a_queued_request_with_its_position(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    ids = [_enqueue(client, user.headers, {"n": n}) for n in range(3)]

    views = [client.get(f"/v1/requests/{i}", headers=user.headers) for i in ids]

    assert [v.status_code for v in views] == [200, 200, 200]
    assert [v.json()["position"] for v in views] == [1, 2, 3]
    first = views[0].json()
    assert first["id"] == ids[0]
    assert (first["type"], first["state"], first["attempts"]) == ("echo", "queued", 0)
    assert (first["payload"], first["result"], first["error"]) == ({"n": 0}, None, None)
    assert first["enqueued_at"] and first["updated_at"]
    assert first["started_at"] is None and first["finished_at"] is None


def test_payload_round_trips_whatever_its_keys(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    request_id = _enqueue(client, user.headers, AWKWARD_PAYLOAD)

    view = client.get(f"/v1/requests/{request_id}", headers=user.headers).json()

    assert view["payload"] == AWKWARD_PAYLOAD


def test_times_read_back_with_milliseconds_even_on_a_whole_second(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    """A stored time with zero milliseconds reads as ``.000Z``, like any other (docs/api.md)."""
    user = gateway_stack.new_user()
    request_id = _enqueue(client, user.headers)
    whole_second = datetime(2026, 12, 4, 18, 38, 10, tzinfo=UTC)
    with gateway_stack.collection("requests") as requests:
        requests.update_one(
            {"_id": request_id},
            {
                "$set": {
                    "enqueued_at": whole_second,
                    "updated_at": whole_second + timedelta(milliseconds=511),
                }
            },
        )

    one = client.get(f"/v1/requests/{request_id}", headers=user.headers)
    listed = client.get("/v1/requests", headers=user.headers)

    assert (one.status_code, listed.status_code) == (200, 200), (one.text, listed.text)
    for view in (one.json(), listed.json()["items"][0]):
        assert view["enqueued_at"] == "2026-12-04T18:38:10.000Z"
        assert view["updated_at"] == "2026-12-04T18:38:10.511Z"


def test_another_users_request_is_not_found(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    owner, stranger = gateway_stack.new_user(), gateway_stack.new_user()
    request_id = _enqueue(client, owner.headers)

    theirs = client.get(f"/v1/requests/{request_id}", headers=stranger.headers)
    missing = client.get(f"/v1/requests/{uuid.uuid4()}", headers=stranger.headers)
    garbage = client.get("/v1/requests/not-an-id", headers=stranger.headers)

    assert theirs.status_code == missing.status_code == garbage.status_code == 404
    assert theirs.json() == missing.json() == garbage.json()
    assert theirs.headers["content-type"] == "application/problem+json"
    listed = client.get("/v1/requests", headers=stranger.headers).json()
    assert listed == {"items": [], "next_cursor": None}


def test_list_pages_newest_first(gateway_stack: GatewayStack, client: httpx.Client) -> None:
    user = gateway_stack.new_user()
    ids = [_enqueue(client, user.headers, n) for n in range(5)]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/requests", params=params, headers=user.headers)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(ids))
    assert pages == 3


def test_list_filters_by_state(gateway_stack: GatewayStack, client: httpx.Client) -> None:
    user = gateway_stack.new_user()
    ids = {_enqueue(client, user.headers) for _ in range(2)}

    queued = client.get("/v1/requests", params={"state": "queued"}, headers=user.headers)
    succeeded = client.get("/v1/requests", params={"state": "succeeded"}, headers=user.headers)

    assert {item["id"] for item in queued.json()["items"]} == ids
    assert succeeded.json()["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "bogus"}, "query.cursor"),
        ({"state": "sleeping"}, "query.state"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 1000}, "query.limit"),
    ],
)
def test_list_refuses_bad_parameters(
    gateway_stack: GatewayStack, client: httpx.Client, params: dict[str, Any], field: str
) -> None:
    user = gateway_stack.new_user()

    answer = client.get("/v1/requests", params=params, headers=user.headers)

    assert answer.status_code == 422
    assert field in [error["field"] for error in answer.json()["errors"]]


def test_queue_summary_counts_the_callers_requests(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    empty = client.get("/v1/queue", headers=user.headers).json()
    for _ in range(3):
        _enqueue(client, user.headers)

    summary = client.get("/v1/queue", headers=user.headers).json()

    assert empty["pending"] == 0 and empty["oldest_queued_age_seconds"] is None
    assert summary["counts"] == {
        "queued": 3,
        "processing": 0,
        "succeeded": 0,
        "failed": 0,
        "cancelled": 0,
        "dead_lettered": 0,
    }
    assert summary["pending"] == 3
    assert summary["oldest_queued_age_seconds"] >= 0


def test_malformed_json_is_a_bad_request(gateway_stack: GatewayStack, client: httpx.Client) -> None:
    user = gateway_stack.new_user()

    answer = client.post(
        "/v1/requests",
        content=b'{"type": "echo", "payload": ',
        headers={**user.headers, "content-type": "application/json"},
    )

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "Not A Type", "payload": 1}, "body.type"),
        ({"payload": 1}, "body.type"),
        ({"type": "echo", "payload": 1, "extra": True}, "body.extra"),
    ],
)
def test_invalid_bodies_name_the_field(
    gateway_stack: GatewayStack,
    client: httpx.Client,
    body: dict[str, Any],
    field: str,
) -> None:
    user = gateway_stack.new_user()

    answer = client.post("/v1/requests", json=body, headers=user.headers)

    assert answer.status_code == 422, answer.text
    assert field in [error["field"] for error in answer.json()["errors"]]


def test_deeply_nested_payload_is_refused(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    depth = 5_000

    answer = client.post(
        "/v1/requests",
        content=b'{"type": "echo", "payload": ' + b"[" * depth + b"]" * depth + b"}",
        headers={**user.headers, "content-type": "application/json"},
    )

    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def test_oversized_body_is_refused(gateway_stack: GatewayStack, client: httpx.Client) -> None:
    user = gateway_stack.new_user()
    big = {"type": "echo", "payload": "x" * 70_000}

    announced = client.post("/v1/requests", json=big, headers=user.headers)
    chunked = client.post(
        "/v1/requests",
        content=iter([b'{"type": "echo", "payload": "', b"x" * 70_000, b'"}']),
        headers={**user.headers, "content-type": "application/json"},
    )

    for answer in (announced, chunked):
        assert answer.status_code == 413
        assert answer.json()["code"] == "payload_too_large"
    assert "content-length" not in chunked.request.headers
    summary = client.get("/v1/queue", headers=user.headers).json()
    assert summary["pending"] == 0
