"""Deleting an account: it cannot log in, refresh, or use a token it already holds.

Access tokens are verified offline by the gateway, so deleting the user
alone would leave their unexpired tokens working for up to the token
lifetime. Deletion therefore first writes a *tombstone* (``deleted_users``,
``_id`` = user id) that the gateway checks on every request, then revokes
every refresh-token family of the user, then deletes the user document. In
that order a crash part-way leaves the account unusable, and deleting again
(with a token issued before) finishes the job. Requests the user already
enqueued stay accepted: Kafka holds them, and they run or can be cancelled first.
"""

from __future__ import annotations

import contextlib
import logging

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from lanes_auth.refresh import RefreshTokenStore
from lanes_auth.users import UserStore
from lanes_common.messages import utc_now
from lanes_common.types import MongoDocument

logger = logging.getLogger(__name__)


class AccountDeletion:
    """Deletes accounts: tombstone, sessions, then the user."""

    def __init__(
        self,
        users: UserStore,
        refresh_tokens: RefreshTokenStore,
        tombstones: AsyncCollection[MongoDocument],
    ) -> None:
        self._users = users
        self._refresh_tokens = refresh_tokens
        self._tombstones = tombstones

    async def delete(self, user_id: str) -> bool:
        """Delete the account ``user_id``; False when there is no such account (any more)."""
        if await self._users.get(user_id) is None:
            return False
        # A duplicate means an earlier deletion got this far.
        with contextlib.suppress(DuplicateKeyError):
            await self._tombstones.insert_one({"_id": user_id, "deleted_at": utc_now()})
        await self._refresh_tokens.revoke_user(user_id)
        await self._users.delete(user_id)
        logger.info("account deleted", extra={"user_id": user_id})
        return True
