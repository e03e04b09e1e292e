"""Refresh tokens, logout and login limits against a real auth process and MongoDB-wire server."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from lanes_auth.refresh import REFRESH_TOKENS_COLLECTION, hash_refresh_token
from lanes_common.documents import USERS_COLLECTION
from lanes_common.http.problems import PROBLEM_MEDIA_TYPE
from lanes_common.tokens import JwksKeySet, TokenVerifier
from lanes_devstack.services import RunningService

from .processes import AUDIENCE, ISSUER, PASSWORD, AuthProcesses

pytestmark = pytest.mark.integration


def _login(auth: httpx.Client, username: str) -> dict[str, Any]:
    if auth.post(
        "/v1/auth/register", json={"username": username, "password": PASSWORD}
    ).status_code not in (201, 409):
        raise AssertionError("registration failed")
    response = auth.post("/v1/auth/login", json={"login": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def _refresh(auth: httpx.Client, refresh_token: str) -> httpx.Response:
    return auth.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


def _assert_invalid_refresh(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "invalid_refresh_token"


def test_login_returns_a_refresh_token_stored_only_as_its_hash(
    auth: httpx.Client, unique_name: str, mongo: Any
) -> None:
    tokens = _login(auth, unique_name)
    refresh_token = tokens["refresh_token"]
    assert len(refresh_token) >= 40
    assert tokens["refresh_expires_in"] == 14 * 86_400
    stored = mongo[REFRESH_TOKENS_COLLECTION].find_one({"_id": hash_refresh_token(refresh_token)})
    assert stored is not None
    assert refresh_token not in repr(stored)


async def test_refresh_rotates_and_the_new_access_token_verifies(
    auth: httpx.Client, auth_service: RunningService, unique_name: str
) -> None:
    first = _login(auth, unique_name)
    response = _refresh(auth, first["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["token"] == second["access_token"]
    async with httpx.AsyncClient() as http:
        keys = JwksKeySet(f"{auth_service.url}/.well-known/jwks.json", http)
        claims = await TokenVerifier(keys, ISSUER, AUDIENCE).verify(second["access_token"])
    assert claims.username == unique_name
    # The successor works too: rotation continues.
    assert _refresh(auth, second["refresh_token"]).status_code == 200


def test_reusing_a_rotated_token_revokes_the_whole_family(
    auth: httpx.Client, unique_name: str
) -> None:
    first = _login(auth, unique_name)
    second = _refresh(auth, first["refresh_token"]).json()
    _assert_invalid_refresh(_refresh(auth, first["refresh_token"]))
    # The thief or the owner, whoever holds the successor, is out too.
    _assert_invalid_refresh(_refresh(auth, second["refresh_token"]))
    # Another session of the same user is unaffected.
    other = _login(auth, unique_name)
    assert _refresh(auth, other["refresh_token"]).status_code == 200


def test_concurrent_uses_of_one_token_succeed_at_most_once(
    auth_service: RunningService, auth: httpx.Client, unique_name: str
) -> None:
    refresh_token = _login(auth, unique_name)["refresh_token"]

    def use(_: int) -> int:
        with httpx.Client(base_url=auth_service.url, timeout=30.0) as client:
            return _refresh(client, refresh_token).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(use, range(6)))
    assert statuses == [200] + [401] * 5


def test_logout_revokes_the_session_and_ignores_unknown_tokens(
    auth: httpx.Client, unique_name: str
) -> None:
    tokens = _login(auth, unique_name)
    rotated = _refresh(auth, tokens["refresh_token"]).json()
    response = auth.post("/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    assert response.status_code == 204
    _assert_invalid_refresh(_refresh(auth, rotated["refresh_token"]))
    assert auth.post("/v1/auth/logout", json={"refresh_token": "nope"}).status_code == 204


def test_unknown_and_malformed_refresh_tokens_are_refused(auth: httpx.Client) -> None:
    _assert_invalid_refresh(_refresh(auth, uuid.uuid4().hex))
    too_long = auth.post("/v1/auth/refresh", json={"refresh_token": "x" * 129})
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "body.refresh_token"


def test_a_deleted_user_cannot_refresh(auth: httpx.Client, unique_name: str, mongo: Any) -> None:
    tokens = _login(auth, unique_name)
    assert mongo[USERS_COLLECTION].delete_one({"username_key": unique_name}).deleted_count == 1
    _assert_invalid_refresh(_refresh(auth, tokens["refresh_token"]))


def _failed_login(auth: httpx.Client, login: str, address: str) -> httpx.Response:
    return auth.post(
        "/v1/auth/login",
        json={"login": login, "password": "not the password"},
        headers={"x-forwarded-for": address},
    )


@pytest.mark.parametrize("exists", [True, False])
def test_an_account_with_repeated_failures_answers_429_with_retry_after(
    auth: httpx.Client, unique_name: str, exists: bool
) -> None:
    if exists:
        _login(auth, unique_name)
    for n in range(5):
        assert _failed_login(auth, unique_name, f"198.51.100.{n}").status_code == 401
    # Even the right password, from a fresh address: the account is locked for a while.
    blocked = auth.post(
        "/v1/auth/login",
        json={"login": unique_name.upper(), "password": PASSWORD},
        headers={"x-forwarded-for": "198.51.100.99"},
    )
    assert blocked.status_code == 429
    assert blocked.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert blocked.json()["code"] == "too_many_attempts"
    assert 0 < int(blocked.headers["retry-after"]) <= 300


def test_an_address_with_repeated_failures_answers_429(
    auth_processes: AuthProcesses, tmp_path: Path, unique_name: str
) -> None:
    service = auth_processes.start(
        tmp_path, overrides={"LANES_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS": "3"}
    )
    with httpx.Client(base_url=service.url, timeout=30.0) as auth:
        _login(auth, unique_name)
        for n in range(3):
            assert _failed_login(auth, f"{unique_name}-{n}", "203.0.113.5").status_code == 401
        from_there = {"x-forwarded-for": "203.0.113.5"}
        from_elsewhere = {"x-forwarded-for": "203.0.113.6"}
        body = {"login": unique_name, "password": PASSWORD}
        blocked = auth.post("/v1/auth/login", json=body, headers=from_there)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert auth.post("/v1/auth/login", json=body, headers=from_elsewhere).status_code == 200
