"""The attack battery, each attack against a user who has something to lose, with no side effect.

Forged and doctored tokens (``BAD_TOKENS``: alg none, HS256 keyed with the
public key, expired, not yet valid, wrong issuer or audience, tampered
payload, unknown kid, ...) against every route that reads or changes a
request; the token of a deleted account; a reused refresh token; another
user's request ids. Each is refused with the right status, and afterwards
the victim's request is exactly as it was and nothing was enqueued.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.conftest import PASSWORD, GatewayStack, TestUser
from tests.gateway.test_gateway_tokens_api import BAD_TOKENS

pytestmark = pytest.mark.integration


def _enqueue(client: httpx.Client, user: TestUser) -> str:
    answer = client.post("/v1/requests", json={"type": "echo", "payload": 1}, headers=user.headers)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def _snapshot(stack: GatewayStack, user: TestUser) -> list[dict[str, Any]]:
    """Everything stored about the user's requests, and the Kafka records keyed by them."""
    with stack.collection("requests") as requests:
        documents = list(requests.find({"user_id": user.id}).sort("_id"))
    records = [record.value() for record in stack.records_for_key(user.id.encode())]
    return [*documents, {"records": records}]


def _attempts(request_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/v1/requests/{request_id}", None),
        ("DELETE", f"/v1/requests/{request_id}", None),
        ("GET", "/v1/requests", None),
        ("GET", "/v1/queue", None),
        ("POST", "/v1/requests", {"type": "echo", "payload": "forged"}),
        ("POST", "/enqueue", {"request": "forged"}),
        ("GET", "/status", None),
    ]


def _assert_invalid_token(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["content-type"] == "application/problem+json"


def test_bad_tokens_read_change_and_enqueue_nothing(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    victim = gateway_stack.new_user()
    request_id = _enqueue(client, victim)
    before = _snapshot(gateway_stack, victim)

    for kind, make in sorted(BAD_TOKENS.items()):
        headers = {"Authorization": f"Bearer {make(gateway_stack, victim.id)}"}
        for method, path, body in _attempts(request_id):
            answer = client.request(method, path, json=body, headers=headers)
            assert answer.status_code == 401, f"{kind}: {method} {path} answered {answer.text}"
            _assert_invalid_token(answer)
            assert request_id not in answer.text

    assert _snapshot(gateway_stack, victim) == before


def test_another_users_request_cannot_be_read_or_cancelled(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    owner, intruder = gateway_stack.new_user(), gateway_stack.new_user()
    request_id = _enqueue(client, owner)
    before = _snapshot(gateway_stack, owner)

    read = client.get(f"/v1/requests/{request_id}", headers=intruder.headers)
    cancel = client.delete(f"/v1/requests/{request_id}", headers=intruder.headers)

    assert read.status_code == cancel.status_code == 404
    assert (
        read.json()
        == cancel.json()
        == {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "no such request",
            "code": "not_found",
        }
    )
    assert _snapshot(gateway_stack, owner) == before


def test_a_deleted_accounts_tokens_stop_working_at_once(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    login = client.post("/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    refresh_token = login.json()["refresh_token"]
    request_id = _enqueue(client, user)
    before = _snapshot(gateway_stack, user)

    deleted = client.delete("/v1/auth/me", headers=user.headers)

    assert (deleted.status_code, deleted.content) == (204, b"")
    # The access token has not expired, and its signature is still good: the gateway
    # refuses it because the account is gone.
    for method, path, body in _attempts(request_id):
        answer = client.request(method, path, json=body, headers=user.headers)
        _assert_invalid_token(answer)
    assert client.delete("/v1/auth/me", headers=user.headers).status_code == 401
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 401
    relogin = client.post("/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert relogin.status_code == 401
    assert _snapshot(gateway_stack, user) == before
    # The name is free again, for a new account that is not the old one.
    again = client.post("/v1/auth/register", json={"username": user.username, "password": PASSWORD})
    assert again.status_code == 201 and again.json()["id"] != user.id


def test_deleting_an_account_needs_its_own_valid_token(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    victim = gateway_stack.new_user()

    for kind, make in sorted(BAD_TOKENS.items()):
        answer = client.delete(
            "/v1/auth/me", headers={"Authorization": f"Bearer {make(gateway_stack, victim.id)}"}
        )
        assert answer.status_code == 401, f"{kind}: {answer.text}"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert client.delete("/v1/auth/me").status_code == 401

    assert client.get("/v1/queue", headers=victim.headers).status_code == 200


def test_a_reused_refresh_token_ends_the_whole_session(
    gateway_stack: GatewayStack, client: httpx.Client
) -> None:
    user = gateway_stack.new_user()
    login = client.post("/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    stolen = login.json()["refresh_token"]
    rotated = client.post("/v1/auth/refresh", json={"refresh_token": stolen})
    assert rotated.status_code == 200

    reuse = client.post("/v1/auth/refresh", json={"refresh_token": stolen})
    successor = client.post(
        "/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )

    assert reuse.status_code == successor.status_code == 401
    assert reuse.json()["code"] == successor.json()["code"] == "invalid_refresh_token"
    # The access tokens already handed out live until they expire (short-lived by design).
    access = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    assert client.get("/v1/queue", headers=access).status_code == 200
