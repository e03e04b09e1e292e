"""Refresh tokens: opaque, stored only as hashes, rotated on every use, revoked by family.

Each login starts a *family*; every refresh spends the presented token and
issues its successor in the same family. Presenting a token that was already
spent means two parties hold it (one of them stole it), so the whole family
is revoked and both must log in again (OAuth 2.0 Security BCP, §4.14).
Revocation is a flag on the family, so it also covers a successor issued by
a rotation that raced with the reuse.

Spending is an insert into ``refresh_token_spends`` keyed by the token hash:
of any number of concurrent spends, the unique key lets exactly one insert,
and the spend record stays to recognise a later reuse.

Expired documents are purged by `RefreshTokenStore.purge_expired` on a
timer, the same deletion on every server (the embedded one has no TTL
monitor).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from lanes_auth.errors import InvalidRefreshTokenError
from lanes_common.types import MongoDocument

logger = logging.getLogger(__name__)

REFRESH_TOKENS_COLLECTION = "refresh_tokens"
"""One document per refresh token, ``_id`` = SHA-256 of the token; never the token itself."""

REFRESH_SPENDS_COLLECTION = "refresh_token_spends"
"""One document per used refresh token, ``_id`` = its hash: the first use inserts it."""

REFRESH_FAMILIES_COLLECTION = "refresh_token_families"
"""One document per login session, ``_id`` = family id; ``revoked_at`` ends all its tokens."""

MAX_REFRESH_TOKEN_LENGTH = 128
_TOKEN_BYTES = 32


def hash_refresh_token(token: str) -> str:
    """What is stored for a token: its SHA-256, hex (256 random bits need no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedRefreshToken:
    """A new refresh token, as handed to the client once."""

    token: str
    expires_in: int
    family_id: str


@dataclass(frozen=True, slots=True)
class SpentRefreshToken:
    """Whose a successfully spent refresh token was."""

    user_id: str
    family_id: str


class RefreshTokenStore:
    """Refresh tokens and their families in two MongoDB collections."""

    def __init__(
        self,
        tokens: AsyncCollection[MongoDocument],
        spends: AsyncCollection[MongoDocument],
        families: AsyncCollection[MongoDocument],
        ttl_seconds: int,
    ) -> None:
        self._tokens = tokens
        self._spends = spends
        self._families = families
        self._ttl = timedelta(seconds=ttl_seconds)

    async def ensure_indexes(self) -> None:
        """Indexes for revoking a family and for purging expired documents."""
        await self._tokens.create_index([("family_id", ASCENDING)], name="family_id")
        await self._tokens.create_index([("expires_at", ASCENDING)], name="expires_at")
        await self._spends.create_index([("expires_at", ASCENDING)], name="expires_at")
        await self._families.create_index([("expires_at", ASCENDING)], name="expires_at")

    async def start_family(self, user_id: str) -> IssuedRefreshToken:
        """The first refresh token of a new login session."""
        family_id = uuid.uuid4().hex
        await self._families.insert_one(
            {
                "_id": family_id,
                "user_id": user_id,
                "created_at": _now(),
                "revoked_at": None,
                "expires_at": _now() + self._ttl,
            }
        )
        return await self.issue(user_id, family_id)

    async def issue(self, user_id: str, family_id: str) -> IssuedRefreshToken:
        """A new token in ``family_id``; the family lives at least as long as it."""
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        now = _now()
        expires_at = now + self._ttl
        await self._tokens.insert_one(
            {
                "_id": hash_refresh_token(token),
                "family_id": family_id,
                "user_id": user_id,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
        await self._families.update_one({"_id": family_id}, {"$max": {"expires_at": expires_at}})
        return IssuedRefreshToken(token, int(self._ttl.total_seconds()), family_id)

    async def spend(self, token: str) -> SpentRefreshToken:
        """Mark ``token`` used and say whose it was; any problem is `InvalidRefreshTokenError`.

        Reusing a spent token revokes its family before failing.
        """
        now = _now()
        token_id = hash_refresh_token(token)
        doc = await self._tokens.find_one({"_id": token_id})
        if doc is None or doc["expires_at"] <= now:
            raise InvalidRefreshTokenError
        try:
            await self._spends.insert_one(
                {"_id": token_id, "spent_at": now, "expires_at": doc["expires_at"]}
            )
        except DuplicateKeyError:
            logger.warning(
                "spent refresh token presented again; revoking its family",
                extra={"user_id": doc["user_id"], "family_id": doc["family_id"]},
            )
            await self.revoke_family(doc["family_id"])
            raise InvalidRefreshTokenError from None
        family = await self._families.find_one({"_id": doc["family_id"]})
        if family is None or family.get("revoked_at") is not None:
            raise InvalidRefreshTokenError
        return SpentRefreshToken(user_id=doc["user_id"], family_id=doc["family_id"])

    async def revoke_family(self, family_id: str) -> None:
        """End every token of one login session."""
        await self._families.update_one(
            {"_id": family_id, "revoked_at": None}, {"$set": {"revoked_at": _now()}}
        )

    async def revoke_user(self, user_id: str) -> None:
        """End every session of one user (their account is going)."""
        await self._families.update_many(
            {"user_id": user_id, "revoked_at": None}, {"$set": {"revoked_at": _now()}}
        )

    async def revoke(self, token: str) -> None:
        """Log out: revoke the family of ``token``; an unknown token is no error."""
        doc = await self._tokens.find_one({"_id": hash_refresh_token(token)})
        if doc is not None:
            await self.revoke_family(doc["family_id"])

    async def purge_expired(self) -> int:
        """Delete expired tokens and families; returns how many tokens went."""
        now = _now()
        deleted = await self._tokens.delete_many({"expires_at": {"$lt": now}})
        await self._spends.delete_many({"expires_at": {"$lt": now}})
        await self._families.delete_many({"expires_at": {"$lt": now}})
        return deleted.deleted_count


def _now() -> datetime:
    return datetime.now(UTC)
