"""The password policy, and argon2 hashing kept off the event loop.

argon2 is deliberately slow and memory-hard (argon2-cffi's defaults follow
RFC 9106's low-memory profile: 64 MiB per hash), so hashes run in worker
threads, at most a few at a time, and never block other requests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lanes_auth.errors import PasswordPolicyError

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


def check_password_policy(password: str, username: str | None, email: str | None) -> None:
    """Raise `PasswordPolicyError` unless ``password`` is acceptable for this account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    folded = password.casefold()
    if username is not None and folded == username.casefold():
        raise PasswordPolicyError("password must not be the username")
    if email is not None and folded == email.casefold():
        raise PasswordPolicyError("password must not be the email address")


class PasswordHashing:
    """argon2 hashing and verification in worker threads, bounded in concurrency.

    The bound caps memory (each hash takes the hasher's ``memory_cost``) and
    keeps a burst of logins from starving the rest of the process.
    """

    def __init__(self, hasher: PasswordHasher, dummy_hash: str, max_concurrent: int) -> None:
        self._hasher = hasher
        self._dummy_hash = dummy_hash
        self._slots = asyncio.Semaphore(max_concurrent)

    @classmethod
    async def create(
        cls, hasher: PasswordHasher | None = None, max_concurrent: int | None = None
    ) -> PasswordHashing:
        """A hashing service whose dummy hash (for unknown users) is already computed."""
        hasher = hasher or PasswordHasher()
        # Verifying against a hash of a random password makes "no such user" cost
        # exactly what "wrong password" costs, so timing does not reveal accounts.
        dummy_hash = await asyncio.to_thread(hasher.hash, secrets.token_urlsafe(32))
        return cls(hasher, dummy_hash, max_concurrent or os.cpu_count() or 1)

    async def hash(self, password: str) -> str:
        """The argon2 hash of ``password`` (salted, parameters encoded in the string)."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches ``password_hash``."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    async def verify_unknown_user(self, password: str) -> bool:
        """Spend the time a real verification costs, then fail (the user does not exist)."""
        await self.verify(self._dummy_hash, password)
        return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with weaker parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except VerificationError:
            return False
        except InvalidHashError:
            logger.error("stored password hash is not an argon2 hash")
            return False
