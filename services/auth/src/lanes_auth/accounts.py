"""Registering accounts and checking credentials: the rules, apart from HTTP and storage."""

from __future__ import annotations

import logging

from lanes_auth.errors import InvalidCredentialsError, InvalidInputError, UserExistsError
from lanes_auth.passwords import PasswordHashing, check_password_policy
from lanes_auth.users import User, UserStore

logger = logging.getLogger(__name__)


class Accounts:
    """Registration and login over a user store and a password hasher."""

    def __init__(self, users: UserStore, passwords: PasswordHashing) -> None:
        self._users = users
        self._passwords = passwords

    async def register(
        self, *, username: str | None, email: str | None, name: str | None, password: str
    ) -> User:
        """Create an account, or raise `InvalidInputError` / `UserExistsError`."""
        if username is None and email is None:
            raise InvalidInputError("username", "a username or an email is required")
        check_password_policy(password, username, email)
        # Checked before hashing so a duplicate costs no argon2 work; the unique
        # indexes still decide when two registrations race.
        taken = await self._users.taken_field(username, email)
        if taken is not None:
            raise UserExistsError(taken)
        password_hash = await self._passwords.hash(password)
        user = await self._users.create(
            username=username, email=email, name=name, password_hash=password_hash
        )
        logger.info("user registered", extra={"user_id": user.id})
        return user

    async def authenticate(self, login: str, password: str) -> User:
        """The user whose login name and password these are, else `InvalidCredentialsError`.

        Unknown users cost one argon2 verification too, so neither the answer
        nor its timing tells whether an account exists.
        """
        user = await self._users.find_by_login(login)
        if user is None:
            await self._passwords.verify_unknown_user(password)
            # The login name is not logged: people type their password into it.
            logger.info("login failed: unknown login name")
            raise InvalidCredentialsError
        if not await self._passwords.verify(user.password_hash, password):
            logger.info("login failed: wrong password", extra={"user_id": user.id})
            raise InvalidCredentialsError
        if self._passwords.needs_rehash(user.password_hash):
            new_hash = await self._passwords.hash(password)
            await self._users.replace_password_hash(user.id, user.password_hash, new_hash)
        return user
