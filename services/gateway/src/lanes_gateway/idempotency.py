"""``Idempotency-Key``: one key, one request, however often (and however concurrently) it is sent.

A key is *claimed* by inserting a document whose ``_id`` is derived from the
user and the key, so exactly one of any number of concurrent requests wins
the claim. The claim holds the request id and the encoded message before
anything is produced, so every later step refers to that one request. No
write marks a claim done: whether its request was accepted is whether the
request's status document exists (it is written only after Kafka's
acknowledgement). A claim is otherwise only re-leased (a Kafka refusal, a
takeover) or deleted (a quota refusal, expiry).

`IdempotencyKeys.claim` tells its caller (`lanes_gateway.enqueue.Enqueuer`,
which owns the order of the steps) what to do:

- `ClaimStatus.NEW`: this call won; it checks the quota and produces, and
  `release` frees the key if the quota refuses (nothing was produced);
- `ClaimStatus.ACCEPTED`: an earlier call's request exists; answer it;
- `ClaimStatus.TAKEN_OVER`: an earlier owner stopped before Kafka's
  acknowledgement, because Kafka refused its record (then `end_lease` invited
  a retry at once) or because it died (its lease, `CLAIM_LEASE`, longer than
  the producer's delivery timeout, ran out): produce *the same message* (same
  id), so a record Kafka did take despite an error is only repeated, and the
  processor's status view is keyed by request id.

A different body under a claimed key is refused at once (409); the same body
while the first call is still producing polls until the request's status
document exists, up to ``LANES_IDEMPOTENCY_WAIT_SECONDS``, then answers 409
"in progress".

Keys expire after ``LANES_IDEMPOTENCY_KEY_TTL_SECONDS``: a TTL index deletes
them on MongoDB, a periodic purge everywhere, and an expired claim found
before either is reused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from lanes_common.messages import RequestMessage, utc_now
from lanes_common.types import MongoDocument
from lanes_gateway.errors import IdempotencyKeyInProgressError, IdempotencyKeyReusedError
from lanes_gateway.store import RequestStore

logger = logging.getLogger(__name__)

IDEMPOTENCY_COLLECTION = "idempotency_keys"
"""One document per claimed (user, key): ``_id`` = `claim_id`."""

IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"
"""Visible ASCII, 1 to 255 characters: what fits in a header unchanged."""

CLAIM_LEASE = timedelta(seconds=60)
"""How long a claim's owner may take to produce: past the producer's 30 s delivery timeout."""

_POLL_FIRST_SECONDS = 0.01
_POLL_MAX_SECONDS = 0.2
PURGE_INTERVAL_SECONDS = 3600.0
"""How often expired claims are purged where no TTL monitor deletes them."""


def claim_id(user_id: str, key: str) -> str:
    """The claim document's ``_id``: keys are scoped to their user, and stored hashed."""
    return hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()


def body_fingerprint(request_type: str, payload: Any) -> str:
    """What makes two bodies "the same": type and payload as JSON values, key order aside."""
    canonical = json.dumps(
        {"type": request_type, "payload": payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    """One claimed key: the request it stands for, and how long its owner may take."""

    id: str
    user_id: str
    fingerprint: str
    message: RequestMessage
    lease_until: datetime
    expires_at: datetime

    def document(self) -> MongoDocument:
        """The stored form."""
        return {
            "_id": self.id,
            "user_id": self.user_id,
            "fingerprint": self.fingerprint,
            "request_id": self.message.id,
            "message_json": self.message.model_dump_json(),
            "lease_until": self.lease_until,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_document(cls, document: MongoDocument) -> Claim:
        """Read a stored claim."""
        return cls(
            id=document["_id"],
            user_id=document["user_id"],
            fingerprint=document["fingerprint"],
            message=RequestMessage.model_validate_json(document["message_json"]),
            lease_until=document["lease_until"],
            expires_at=document["expires_at"],
        )


class IdempotencyClaims:
    """The ``idempotency_keys`` collection."""

    def __init__(self, collection: AsyncCollection[MongoDocument]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        """The TTL index on ``expires_at``, which the purge uses too (idempotent)."""
        await self._collection.create_index(
            [("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0
        )

    async def try_claim(self, claim: Claim) -> bool:
        """Insert ``claim``; False when the key is claimed already (atomic on every server)."""
        try:
            await self._collection.insert_one(claim.document())
        except DuplicateKeyError:
            return False
        return True

    async def get(self, claim: str) -> Claim | None:
        """The claim with this id, if any."""
        document = await self._collection.find_one({"_id": claim})
        return None if document is None else Claim.from_document(document)

    async def set_lease(self, claim: str, until: datetime) -> None:
        """Let the claim's owner produce until ``until``; a past time invites a takeover."""
        await self._collection.update_one({"_id": claim}, {"$set": {"lease_until": until}})

    async def release(self, claim: Claim) -> None:
        """Free the key again (nothing was produced, or the claim expired)."""
        await self._collection.delete_one({"_id": claim.id, "request_id": claim.message.id})

    async def purge_expired(self, now: datetime) -> int:
        """Delete expired claims; returns how many went."""
        result = await self._collection.delete_many({"expires_at": {"$lt": now}})
        return result.deleted_count


class ClaimStatus(Enum):
    """What the caller of `IdempotencyKeys.claim` does with the claim it holds."""

    NEW = "new"
    """This call claimed the key: check the quota, then produce."""
    TAKEN_OVER = "taken_over"
    """An earlier owner stopped before Kafka's acknowledgement: produce its message again."""
    ACCEPTED = "accepted"
    """An earlier call's request was accepted: answer it, produce nothing."""


@dataclass(frozen=True, slots=True)
class ClaimedKey:
    """A held claim, and whether it is new, taken over, or already accepted."""

    claim: Claim
    status: ClaimStatus


@dataclass(frozen=True, slots=True)
class IdempotencyKeys:
    """Claims each (user, key) once; everything it needs, wired in the lifespan."""

    claims: IdempotencyClaims
    requests: RequestStore
    key_ttl: timedelta
    wait_seconds: float

    async def claim(self, key: str, message: RequestMessage) -> ClaimedKey:
        """The claim ``key`` holds for ``message``'s body, claiming it for ``message`` if free.

        Raises `IdempotencyKeyReusedError` (same key, other body) and
        `IdempotencyKeyInProgressError` (the first is still being accepted
        after ``wait_seconds``).
        """
        claim_key = claim_id(message.user_id, key)
        fingerprint = body_fingerprint(message.type, message.payload)
        deadline = time.monotonic() + self.wait_seconds
        poll = _POLL_FIRST_SECONDS
        while True:
            now = utc_now()
            mine = Claim(
                id=claim_key,
                user_id=message.user_id,
                fingerprint=fingerprint,
                message=message,
                lease_until=now + CLAIM_LEASE,
                expires_at=now + self.key_ttl,
            )
            if await self.claims.try_claim(mine):
                return ClaimedKey(mine, ClaimStatus.NEW)
            found = await self.claims.get(claim_key)
            if found is None:
                continue  # released between our insert and our read: try again
            if found.expires_at <= now:
                await self.claims.release(found)
                continue
            if found.fingerprint != fingerprint:
                raise IdempotencyKeyReusedError(key)
            if await self.requests.exists(found.message.id):
                return ClaimedKey(found, ClaimStatus.ACCEPTED)
            if found.lease_until <= now:
                # Two racing takeovers may both get here; they produce the same request id.
                await self.claims.set_lease(found.id, utc_now() + CLAIM_LEASE)
                logger.info(
                    "taking over an unfinished idempotency claim", extra={"request": found.id}
                )
                return ClaimedKey(found, ClaimStatus.TAKEN_OVER)
            if time.monotonic() >= deadline:
                raise IdempotencyKeyInProgressError(key)
            await asyncio.sleep(poll)
            poll = min(poll * 2, _POLL_MAX_SECONDS)

    async def release(self, claimed: ClaimedKey) -> None:
        """Free the key: nothing was produced under it."""
        await self.claims.release(claimed.claim)

    async def end_lease(self, claimed: ClaimedKey) -> None:
        """Kafka refused the record but may still have stored it: invite a retry to resend it."""
        await self.claims.set_lease(claimed.claim.id, utc_now())
