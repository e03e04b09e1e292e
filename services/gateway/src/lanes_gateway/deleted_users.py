"""Accounts auth has deleted, so that their still-unexpired access tokens stop working.

The gateway verifies tokens with auth's public keys and never asks auth about
them. That keeps auth off the request path, but a token outlives its
account: without a check it would be honoured until it expires
(``LANES_ACCESS_TOKEN_TTL_SECONDS``). So the gateway checks the
``deleted_users`` collection that auth writes when an account is deleted
(`lanes_common.documents.DELETED_USERS_COLLECTION`), by ``_id``.

The answers are cached so that a busy user does not cost a lookup per
request: "deleted" for good (an account never comes back), "not deleted" for
``LANES_DELETED_USERS_CACHE_SECONDS``. A deletion through this gateway is
known at once (`mark_deleted`); one through another replica, or straight
at auth, within that many seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from pymongo.asynchronous.collection import AsyncCollection

from lanes_common.types import MongoDocument

MAX_REMEMBERED_USERS = 100_000
_V = TypeVar("_V")


class DeletedUsers:
    """The ``deleted_users`` collection, read-only from the gateway, with its answers cached."""

    def __init__(
        self,
        collection: AsyncCollection[MongoDocument],
        live_for_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``live_for_seconds``: how long a "not deleted" answer is trusted (0: never)."""
        self._collection = collection
        self._live_for = live_for_seconds
        self._clock = clock
        self._deleted: OrderedDict[str, None] = OrderedDict()
        self._live_until: OrderedDict[str, float] = OrderedDict()

    async def contains(self, user_id: str) -> bool:
        """Whether the account ``user_id`` was deleted."""
        if user_id in self._deleted:
            return True
        now = self._clock()
        until = self._live_until.get(user_id)
        if until is not None and now < until:
            return False
        found = await self._collection.find_one({"_id": user_id}, projection={"_id": True})
        if found is not None:
            self.mark_deleted(user_id)
            return True
        if self._live_for > 0:
            _remember(self._live_until, user_id, now + self._live_for)
        return False

    def mark_deleted(self, user_id: str) -> None:
        """The account is gone (this gateway forwarded its deletion): refuse it from now on."""
        self._live_until.pop(user_id, None)
        _remember(self._deleted, user_id, None)


def _remember(cache: OrderedDict[str, _V], user_id: str, value: _V) -> None:
    cache[user_id] = value
    cache.move_to_end(user_id)
    while len(cache) > MAX_REMEMBERED_USERS:
        cache.popitem(last=False)
