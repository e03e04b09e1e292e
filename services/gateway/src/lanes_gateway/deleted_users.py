"""Accounts auth has deleted, so that their still-unexpired access tokens stop working.

The gateway verifies tokens with auth's public keys and never asks auth about
them. That keeps auth off the request path, but a token outlives its
account: without a check it would be honoured until it expires
(``LANES_ACCESS_TOKEN_TTL_SECONDS``). So every authenticated request costs one
lookup by ``_id`` in the ``deleted_users`` collection that auth writes when an
account is deleted (`lanes_common.documents.DELETED_USERS_COLLECTION`).
"""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from lanes_common.mongo import MongoDocument


class DeletedUsers:
    """The ``deleted_users`` collection, read-only from the gateway."""

    def __init__(self, collection: AsyncCollection[MongoDocument]) -> None:
        self._collection = collection

    async def contains(self, user_id: str) -> bool:
        """Whether the account ``user_id`` was deleted."""
        found = await self._collection.find_one({"_id": user_id}, projection={"_id": True})
        return found is not None
