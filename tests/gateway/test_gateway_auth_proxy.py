"""``/v1/auth/*`` through the gateway answers exactly what auth answers."""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from tests.gateway.conftest import PASSWORD, GatewayStack

pytestmark = pytest.mark.integration

# Auth allows 5 failed logins per account in its window (LANES_AUTH_LOGIN_MAX_FAILURES_*).
LOGIN_ATTEMPTS = 10


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


def test_refresh_and_logout_pass_through(gateway_stack: GatewayStack, client: httpx.Client) -> None:
    user = gateway_stack.new_user()
    login = client.post("/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    first = login.json()["refresh_token"]

    renewed = client.post("/v1/auth/refresh", json={"refresh_token": first})
    reused = client.post("/v1/auth/refresh", json={"refresh_token": first})
    logout = client.post("/v1/auth/logout", json={"refresh_token": renewed.json()["refresh_token"]})

    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] != first
    queue = client.get(
        "/v1/queue", headers={"Authorization": f"Bearer {renewed.json()['access_token']}"}
    )
    assert queue.status_code == 200
    assert reused.status_code == 401
    assert (logout.status_code, logout.content) == (204, b"")


@pytest.mark.parametrize("path", ["/v1/auth/login", "/login", "/api/login"])
def test_login_rate_limit_passes_through_with_retry_after(
    gateway_stack: GatewayStack, client: httpx.Client, path: str
) -> None:
    user = gateway_stack.new_user()
    wrong = {"username": user.username, "password": "wrong-password"}

    statuses = []
    for _ in range(LOGIN_ATTEMPTS):
        answer = client.post(path, json=wrong)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break

    assert statuses[-1] == 429, statuses
    assert int(answer.headers["retry-after"]) > 0
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("value", ["Bearer \t", "Bearer ", "Bearer  x "])
def test_a_header_with_trailing_whitespace_is_forwarded_trimmed_not_an_outage(
    gateway_stack: GatewayStack, value: str
) -> None:
    # httpx refuses to send such a header, so the request is written by hand.
    address = urlsplit(gateway_stack.url)
    request = (
        f"DELETE /v1/auth/me HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Authorization: {value}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request.encode("latin-1"))
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk

    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 401"), answer
