"""The password policy and the argon2 hashing service."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from lanes_auth.errors import PasswordPolicyError
from lanes_auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordHashing,
    check_password_policy,
)

# Cheap parameters: these tests check behaviour, not argon2's cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.mark.parametrize(
    "password",
    [
        "a" * MIN_PASSWORD_LENGTH,
        "correct horse battery staple",
        "x" * MAX_PASSWORD_LENGTH,
        "пароль-ёжик",
    ],
)
def test_acceptable_passwords_pass(password: str) -> None:
    check_password_policy(password, "alice", "alice@example.com")


@pytest.mark.parametrize(
    ("password", "username", "email", "rule"),
    [
        ("a" * (MIN_PASSWORD_LENGTH - 1), "alice", None, "at least 8"),
        ("", None, "a@example.com", "at least 8"),
        ("a" * (MAX_PASSWORD_LENGTH + 1), "alice", None, "at most 256"),
        ("alice-the-great", "alice-the-great", None, "username"),
        ("ALICE-THE-GREAT", "alice-the-great", None, "username"),
        ("Alice@Example.com", None, "alice@example.com", "email"),
    ],
)
def test_policy_violations_name_the_rule(
    password: str, username: str | None, email: str | None, rule: str
) -> None:
    with pytest.raises(PasswordPolicyError) as caught:
        check_password_policy(password, username, email)
    assert rule in caught.value.message
    assert caught.value.field == "password"
    if password:
        assert password not in str(caught.value)


async def test_hash_is_argon2id_and_verifies_only_the_same_password() -> None:
    hashing = await PasswordHashing.create(FAST_HASHER, max_concurrent=2)
    hashed = await hashing.hash("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert await hashing.verify(hashed, "correct horse")
    assert not await hashing.verify(hashed, "correct horse!")
    assert not await hashing.verify("not-a-hash", "correct horse")


async def test_unknown_user_verification_always_fails() -> None:
    hashing = await PasswordHashing.create(FAST_HASHER)
    assert not await hashing.verify_unknown_user("anything at all")


async def test_hashes_made_with_weaker_parameters_need_rehash() -> None:
    weak = await PasswordHashing.create(FAST_HASHER)
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    strong = await PasswordHashing.create(stronger)
    old_hash = await weak.hash("correct horse")
    assert strong.needs_rehash(old_hash)
    assert not weak.needs_rehash(old_hash)
