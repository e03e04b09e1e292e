"""Registering accounts and checking credentials: the rules, apart from HTTP and storage."""

from __future__ import annotations

import logging

from lanes_auth.errors import (
    InvalidCredentialsError,
    InvalidInputError,
    LoginThrottledError,
    UserExistsError,
)
from lanes_auth.passwords import PasswordHashing, check_password_policy
from lanes_auth.throttle import LoginThrottle
from lanes_auth.users import User, UserStore, login_key

logger = logging.getLogger(__name__)


class Accounts:
    """Registration and login over a user store, a password hasher and a login throttle."""

    def __init__(
        self, users: UserStore, passwords: PasswordHashing, throttle: LoginThrottle
    ) -> None:
        self._users = users
        self._passwords = passwords
        self._throttle = throttle

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

    async def authenticate(self, login: str, password: str, client_address: str | None) -> User:
        """The user whose login name and password these are.

        Raises `LoginThrottledError` while the account or address has failed
        too often (before checking anything), else `InvalidCredentialsError`
        on failure. Unknown users cost one argon2 verification too, so neither
        the answer nor its timing tells whether an account exists.
        """
        account = login_key(login)
        retry_after = self._throttle.retry_after(account, client_address)
        if retry_after:
            logger.warning("login refused: too many failures", extra={"client": client_address})
            raise LoginThrottledError(retry_after)
        user = await self._users.find_by_login(login)
        if user is None:
            await self._passwords.verify_unknown_user(password)
            self._throttle.record_failure(account, client_address)
            # The login name is not logged: people type their password into it.
            logger.info("login failed: unknown login name", extra={"client": client_address})
            raise InvalidCredentialsError
        if not await self._passwords.verify(user.password_hash, password):
            self._throttle.record_failure(account, client_address)
            logger.info(
                "login failed: wrong password",
                extra={"user_id": user.id, "client": client_address},
            )
            raise InvalidCredentialsError
        self._throttle.record_success(account)
        if self._passwords.needs_rehash(user.password_hash):
            new_hash = await self._passwords.hash(password)
            await self._users.replace_password_hash(user.id, user.password_hash, new_hash)
        return user
