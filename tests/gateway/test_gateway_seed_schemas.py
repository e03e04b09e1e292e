"""The seed APIs' bodies and answers, mapped onto auth and ``/v1``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from lanes_gateway.seed_schemas import (
    LegacyEnqueueBody,
    LegacyLoginBody,
    LegacyRegisterBody,
    legacy_queue_status,
    legacy_token,
)


@pytest.mark.parametrize(
    ("body", "forwarded"),
    [
        (
            {"name": "User Name", "email": "user@example.com", "password": "userpassword"},
            {"name": "User Name", "email": "user@example.com", "password": "userpassword"},
        ),
        (
            {"username": "user1", "password": "pass12345"},
            {"username": "user1", "password": "pass12345"},
        ),
        (
            {"email": "user@example.com", "password": "pw", "role": "admin"},
            {"email": "user@example.com", "password": "pw"},
        ),
    ],
)
def test_seed_register_bodies_map_onto_auth(body: dict[str, Any], forwarded: Any) -> None:
    assert LegacyRegisterBody.model_validate(body).auth_payload() == forwarded


@pytest.mark.parametrize(
    ("body", "forwarded"),
    [
        ({"username": "user1", "password": "p"}, {"username": "user1", "password": "p"}),
        ({"email": "a@example.com", "password": "p"}, {"email": "a@example.com", "password": "p"}),
    ],
)
def test_seed_login_bodies_map_onto_auth(body: dict[str, Any], forwarded: Any) -> None:
    assert LegacyLoginBody.model_validate(body).auth_payload() == forwarded


@pytest.mark.parametrize(
    "body", [{"password": "p"}, {"name": "Only A Name", "password": "p"}, {"username": "u"}]
)
def test_credentials_need_a_login_name_and_password(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LegacyRegisterBody.model_validate(body)


@pytest.mark.parametrize("request_value", ["Your Message", {"a": [1]}, None, 3])
def test_enqueue_takes_any_json_request(request_value: Any) -> None:
    assert LegacyEnqueueBody.model_validate({"request": request_value}).request == request_value


def test_enqueue_needs_the_request_field() -> None:
    with pytest.raises(ValidationError):
        LegacyEnqueueBody.model_validate({"message": "hi"})


def test_token_answer_carries_token_and_access_token() -> None:
    token = legacy_token(
        {"access_token": "jwt", "token_type": "bearer", "expires_in": 900, "token": "jwt"}
    )

    assert token is not None
    assert token.model_dump() == {
        "token": "jwt",
        "access_token": "jwt",
        "token_type": "bearer",
        "expires_in": 900,
    }


@pytest.mark.parametrize("answer", [None, [], {}, {"access_token": 5}])
def test_answer_without_token_is_recognised(answer: Any) -> None:
    assert legacy_token(answer) is None


def test_queue_status() -> None:
    assert legacy_queue_status(5).model_dump() == {"queueStatus": "pending", "pendingRequests": 5}
    assert legacy_queue_status(0).model_dump() == {"queueStatus": "empty", "pendingRequests": 0}
