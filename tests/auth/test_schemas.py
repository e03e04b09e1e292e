"""Request bodies: which login name is used, and what a username may be."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lanes_auth.api.schemas import LoginRequest, RegisterRequest


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"login": "a", "username": "b", "email": "c@example.com"}, "a"),
        ({"username": "b", "email": "c@example.com"}, "b"),
        ({"email": "c@example.com"}, "c@example.com"),
        ({}, None),
    ],
)
def test_login_name_prefers_login_then_username_then_email(
    body: dict[str, str], expected: str | None
) -> None:
    assert LoginRequest.model_validate({**body, "password": "x"}).login_name() == expected


@pytest.mark.parametrize("username", ["al", "a@b", "-alice", "al ice", "a" * 65, "alice\n"])
def test_usernames_outside_the_pattern_are_refused(username: str) -> None:
    with pytest.raises(ValidationError):
        RegisterRequest.model_validate({"username": username, "password": "long enough"})


def test_passwords_stay_out_of_reprs() -> None:
    body = RegisterRequest.model_validate({"username": "alice", "password": "s3cret-value"})
    assert "s3cret-value" not in repr(body)
    assert "s3cret-value" not in repr(LoginRequest.model_validate({"password": "s3cret-value"}))
