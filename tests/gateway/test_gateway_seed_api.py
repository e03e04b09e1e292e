"""The seed APIs' routes, at the root and under ``/api``, answer as the seed documents describe."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from lanes_common.messages import RequestMessage
from tests.gateway.conftest import PASSWORD, GatewayStack

pytestmark = pytest.mark.integration

PREFIXES = ["", "/api"]


def _fresh(kind: str) -> str:
    return f"{kind}{uuid.uuid4().hex[:10]}"


def _login(client: httpx.Client, prefix: str, body: dict[str, Any]) -> str:
    answer = client.post(f"{prefix}/login", json=body)
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert answer.json()["access_token"] == token
    return str(token)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_register_and_login_with_name_and_email(client: httpx.Client, prefix: str) -> None:
    email = f"{_fresh('e')}@example.com"

    registered = client.post(
        f"{prefix}/register", json={"name": "User Name", "email": email, "password": PASSWORD}
    )
    token = _login(client, prefix, {"email": email, "password": PASSWORD})

    assert registered.status_code == 201
    assert registered.json() == {"message": "User registered successfully"}
    queue = client.get("/v1/queue", headers={"Authorization": f"Bearer {token}"})
    assert queue.status_code == 200


@pytest.mark.parametrize("prefix", PREFIXES)
def test_register_and_login_with_username(client: httpx.Client, prefix: str) -> None:
    username = _fresh("user")

    registered = client.post(
        f"{prefix}/register", json={"username": username, "password": PASSWORD}
    )
    token = _login(client, prefix, {"username": username, "password": PASSWORD})

    assert (registered.status_code, registered.json()) == (
        201,
        {"message": "User registered successfully"},
    )
    assert client.get("/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("prefix", PREFIXES)
def test_rejected_register_and_login_answer_400(client: httpx.Client, prefix: str) -> None:
    username = _fresh("user")
    body = {"username": username, "password": PASSWORD}
    assert client.post(f"{prefix}/register", json=body).status_code == 201

    duplicate = client.post(f"{prefix}/register", json=body)
    weak = client.post(f"{prefix}/register", json={"username": _fresh("u"), "password": "short"})
    wrong = client.post(f"{prefix}/login", json={"username": username, "password": "wrong-pass"})
    nobody = client.post(f"{prefix}/login", json={"password": PASSWORD})

    for answer in (duplicate, weak, wrong):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert duplicate.json()["code"] == "user_exists"
    assert "token" not in wrong.json()
    assert nobody.status_code == 422


@pytest.mark.parametrize("prefix", PREFIXES)
def test_enqueue_then_status(
    gateway_stack: GatewayStack, client: httpx.Client, prefix: str
) -> None:
    user = gateway_stack.new_user()
    empty = client.get(f"{prefix}/status", headers=user.headers)

    answers = [
        client.post(f"{prefix}/enqueue", json={"request": value}, headers=user.headers)
        for value in ("Your Message", {"task": "resize", "size.x": 3})
    ]
    status = client.get(f"{prefix}/status", headers=user.headers)

    assert empty.json() == {"queueStatus": "empty", "pendingRequests": 0}
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["message"] == "Request enqueued successfully"
    assert status.json() == {"queueStatus": "pending", "pendingRequests": 2}
    first_id = answers[0].json()["id"]
    view = client.get(f"/v1/requests/{first_id}", headers=user.headers).json()
    assert (view["type"], view["payload"], view["state"]) == ("echo", "Your Message", "queued")
    record = gateway_stack.records({first_id})[first_id]
    assert record.key() == user.id.encode()
    assert RequestMessage.decode(record.value()).payload == "Your Message"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_enqueue_needs_a_request_and_a_token(
    gateway_stack: GatewayStack, client: httpx.Client, prefix: str
) -> None:
    user = gateway_stack.new_user()

    anonymous = client.post(f"{prefix}/enqueue", json={"request": "x"})
    no_request = client.post(f"{prefix}/enqueue", json={"message": "x"}, headers=user.headers)

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert no_request.status_code == 422
    assert "body.request" in [error["field"] for error in no_request.json()["errors"]]
