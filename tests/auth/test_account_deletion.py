"""``DELETE /v1/auth/me`` on a real auth process: tombstone, sessions revoked, account gone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lanes_auth.refresh import REFRESH_FAMILIES_COLLECTION
from lanes_common.documents import DELETED_USERS_COLLECTION, USERS_COLLECTION
from lanes_common.http.problems import PROBLEM_MEDIA_TYPE

from .processes import PASSWORD

pytestmark = pytest.mark.integration


def _sign_up(auth: httpx.Client, username: str) -> dict[str, Any]:
    registered = auth.post("/v1/auth/register", json={"username": username, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    login = auth.post("/v1/auth/login", json={"login": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens: dict[str, Any] = {**login.json(), "id": registered.json()["id"]}
    return tokens


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_deleting_an_account_ends_everything_it_had(
    auth: httpx.Client, unique_name: str, mongo: Any
) -> None:
    tokens = _sign_up(auth, unique_name)
    second_session = auth.post("/v1/auth/login", json={"login": unique_name, "password": PASSWORD})

    deleted = auth.delete("/v1/auth/me", headers=_bearer(tokens))

    assert (deleted.status_code, deleted.content) == (204, b"")
    user_id = tokens["id"]
    assert mongo[USERS_COLLECTION].find_one({"_id": user_id}) is None
    assert mongo[DELETED_USERS_COLLECTION].find_one({"_id": user_id}) is not None
    families = list(mongo[REFRESH_FAMILIES_COLLECTION].find({"user_id": user_id}))
    assert len(families) == 2 and all(f["revoked_at"] is not None for f in families)
    for refresh_token in (tokens["refresh_token"], second_session.json()["refresh_token"]):
        assert (
            auth.post("/v1/auth/refresh", json={"refresh_token": refresh_token}).status_code == 401
        )
    login = auth.post("/v1/auth/login", json={"login": unique_name, "password": PASSWORD})
    assert (login.status_code, login.json()["code"]) == (401, "invalid_credentials")


def test_a_deleted_accounts_token_cannot_delete_again(auth: httpx.Client, unique_name: str) -> None:
    tokens = _sign_up(auth, unique_name)
    assert auth.delete("/v1/auth/me", headers=_bearer(tokens)).status_code == 204

    again = auth.delete("/v1/auth/me", headers=_bearer(tokens))

    assert again.status_code == 401
    assert again.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert again.headers["www-authenticate"] == 'Bearer realm="lanes", error="invalid_token"'
    # A new account under the old name is a different account, unaffected.
    fresh = _sign_up(auth, unique_name)
    assert fresh["id"] != tokens["id"]
    assert (
        auth.post("/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code
        == 200
    )


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer e30.e30."],
)
def test_deleting_needs_a_valid_bearer_token(
    auth: httpx.Client, unique_name: str, mongo: Any, authorization: str | None
) -> None:
    tokens = _sign_up(auth, unique_name)
    headers = {"Authorization": authorization} if authorization else {}

    answer = auth.delete("/v1/auth/me", headers=headers)

    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith('Bearer realm="lanes"')
    assert mongo[USERS_COLLECTION].find_one({"_id": tokens["id"]}) is not None
    assert mongo[DELETED_USERS_COLLECTION].find_one({"_id": tokens["id"]}) is None
