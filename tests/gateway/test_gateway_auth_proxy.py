"""``/v1/auth/*`` through the gateway answers exactly what auth answers."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.gateway.conftest import PASSWORD, GatewayStack

pytestmark = pytest.mark.integration


def test_register_and_login_pass_through(gateway_stack: GatewayStack, client: httpx.Client) -> None:
    username = f"p{uuid.uuid4().hex[:10]}"
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}

    registered = client.post("/v1/auth/register", json=body)
    login = client.post("/v1/auth/login", json={"login": username, "password": PASSWORD})

    assert registered.status_code == 201
    assert registered.json() == {
        "id": registered.json()["id"],
        "username": username,
        "email": f"{username}@example.com",
    }
    assert login.status_code == 200
    assert set(login.json()) >= {"access_token", "token_type", "expires_in", "token"}
    assert login.headers["cache-control"] == "no-store"


def test_errors_pass_through_unchanged(gateway_stack: GatewayStack, client: httpx.Client) -> None:
    user = gateway_stack.new_user()
    direct = httpx.post(
        f"{gateway_stack.auth.url}/v1/auth/login",
        json={"username": user.username, "password": "wrong-password"},
    )

    proxied = client.post(
        "/v1/auth/login", json={"username": user.username, "password": "wrong-password"}
    )
    duplicate = client.post(
        "/v1/auth/register", json={"username": user.username, "password": PASSWORD}
    )

    assert (proxied.status_code, proxied.json()) == (direct.status_code, direct.json())
    assert proxied.status_code == 401
    assert proxied.headers["content-type"] == "application/problem+json"
    assert duplicate.status_code == 409


def test_malformed_body_reaches_auth_as_sent(client: httpx.Client) -> None:
    answer = client.post(
        "/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert answer.status_code == 400


def test_forwarded_login_is_size_limited(client: httpx.Client) -> None:
    answer = client.post("/v1/auth/login", json={"username": "u", "password": "p" * 70_000})

    assert answer.status_code == 413
