"""Keyed enqueues (`IdempotencyKeys` under `Enqueuer`) with stand-ins: every branch, in-process.

The claims stand-in is an in-memory dict whose insert is the atomic step, as
a unique ``_id`` is on MongoDB; the real collection is exercised by the
integration tests in ``test_gateway_idempotency_api.py``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from lanes_common.kafka import ProduceError
from lanes_common.messages import RequestMessage, utc_now
from lanes_gateway.enqueue import Enqueued, Enqueuer, NewRequest
from lanes_gateway.errors import (
    EnqueueUnavailableError,
    IdempotencyKeyInProgressError,
    IdempotencyKeyReusedError,
    QuotaExceededError,
)
from lanes_gateway.idempotency import (
    Claim,
    IdempotencyKeys,
    body_fingerprint,
    claim_id,
)
from tests.gateway.test_gateway_enqueue import (
    Acknowledged,
    FakeProducer,
    FakeQuota,
    FakeStore,
    enqueuer_for,
)


class FakeClaims:
    """`IdempotencyClaims` in memory."""

    def __init__(self) -> None:
        self.claims: dict[str, Claim] = {}

    async def try_claim(self, claim: Claim) -> bool:
        if claim.id in self.claims:
            return False
        self.claims[claim.id] = claim
        return True

    async def get(self, claim: str) -> Claim | None:
        return self.claims.get(claim)

    def _replace(self, claim: str, **changes: Any) -> None:
        current = self.claims[claim]
        fields = {name: getattr(current, name) for name in Claim.__slots__}
        self.claims[claim] = Claim(**{**fields, **changes})

    async def set_lease(self, claim: str, until: Any) -> None:
        self._replace(claim, lease_until=until)

    async def release(self, claim: Claim) -> None:
        if claim.id in self.claims and self.claims[claim.id].message.id == claim.message.id:
            del self.claims[claim.id]


class GatedProducer(FakeProducer):
    """Holds every record until the test opens the gate: a slow Kafka."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__(error)
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def produce(self, topic: str, value: bytes, key: bytes, headers: Any) -> Acknowledged:
        self.waiting.set()
        await self.gate.wait()
        return await super().produce(topic, value, key, headers)


class KeyedEnqueuer:
    """The operation under test, called as a keyed route calls it."""

    def __init__(self, enqueuer: Enqueuer, quota: FakeQuota) -> None:
        self.enqueuer, self.quota = enqueuer, quota

    async def enqueue(self, user_id: str, key: str, request_type: str, payload: Any) -> Enqueued:
        return await self.enqueuer.enqueue(NewRequest(user_id, request_type, payload, key))


def _enqueuer(
    producer: FakeProducer, claims: FakeClaims | None = None, wait_seconds: float = 5.0
) -> tuple[KeyedEnqueuer, FakeClaims, FakeStore]:
    claims = claims or FakeClaims()
    store = FakeStore()
    keys = IdempotencyKeys(
        claims=claims,  # type: ignore[arg-type]
        requests=store,  # type: ignore[arg-type]
        key_ttl=timedelta(hours=24),
        wait_seconds=wait_seconds,
    )
    quota = FakeQuota()
    enqueuer = KeyedEnqueuer(enqueuer_for(producer, store, keys=keys, quota=quota), quota)
    return enqueuer, claims, store


def test_claims_are_per_user_and_bodies_compare_as_json() -> None:
    assert claim_id("alice", "k") != claim_id("bob", "k")
    assert claim_id("alice", "k") == claim_id("alice", "k")
    assert body_fingerprint("echo", {"a": 1, "b": [1, 2]}) == body_fingerprint(
        "echo", {"b": [1, 2], "a": 1}
    )
    assert body_fingerprint("echo", {"a": 1}) != body_fingerprint("sleep", {"a": 1})
    assert body_fingerprint("echo", 1) != body_fingerprint("echo", "1")


async def test_a_repeat_answers_the_first_request_without_producing_again() -> None:
    producer = FakeProducer()
    enqueuer, _, store = _enqueuer(producer)

    first = await enqueuer.enqueue("u", "k", "echo", {"n": 1})
    again = await enqueuer.enqueue("u", "k", "echo", {"n": 1})

    assert (first.replayed, again.replayed) == (False, True)
    assert again.message == first.message
    assert first.message.idempotency_key == "k"
    assert len(producer.records) == 1 and len(store.documents) == 1
    assert RequestMessage.decode(producer.records[0]["value"]).idempotency_key == "k"


async def test_the_same_key_with_another_body_is_refused() -> None:
    producer = FakeProducer()
    enqueuer, _, _ = _enqueuer(producer)
    await enqueuer.enqueue("u", "k", "echo", {"n": 1})

    with pytest.raises(IdempotencyKeyReusedError):
        await enqueuer.enqueue("u", "k", "echo", {"n": 2})

    assert len(producer.records) == 1


async def test_concurrent_repeats_wait_for_the_first_and_answer_its_id() -> None:
    producer = GatedProducer()
    enqueuer, _, _ = _enqueuer(producer)

    calls = [asyncio.create_task(enqueuer.enqueue("u", "k", "echo", 1)) for _ in range(20)]
    await producer.waiting.wait()
    # Every repeat is now polling the pending claim; none has answered.
    assert not any(call.done() for call in calls)
    producer.gate.set()
    answers = await asyncio.gather(*calls)

    assert len({answer.message.id for answer in answers}) == 1
    assert sum(not answer.replayed for answer in answers) == 1
    assert len(producer.records) == 1


async def test_a_repeat_gives_up_with_in_progress_after_its_deadline() -> None:
    producer = GatedProducer()
    enqueuer, _, _ = _enqueuer(producer, wait_seconds=0.1)
    first = asyncio.create_task(enqueuer.enqueue("u", "k", "echo", 1))
    await producer.waiting.wait()

    with pytest.raises(IdempotencyKeyInProgressError):
        await enqueuer.enqueue("u", "k", "echo", 1)

    producer.gate.set()
    assert not (await first).replayed


async def test_after_a_refused_produce_a_retry_sends_the_same_request() -> None:
    producer = FakeProducer(ProduceError("brokers down"))
    enqueuer, claims, _ = _enqueuer(producer)

    with pytest.raises(EnqueueUnavailableError):
        await enqueuer.enqueue("u", "k", "echo", 1)
    (claim,) = claims.claims.values()
    producer.error = None
    retried = await enqueuer.enqueue("u", "k", "echo", 1)

    # The same id: had Kafka kept the first record after all, it is only a repeat.
    assert retried.message.id == claim.message.id
    assert len(producer.records) == 1
    # A repeat now answers from the stored request, without producing.
    assert (await enqueuer.enqueue("u", "k", "echo", 1)).replayed
    assert len(producer.records) == 1


async def test_a_quota_refusal_frees_the_key() -> None:
    producer = FakeProducer()
    enqueuer, claims, _ = _enqueuer(producer)

    enqueuer.quota.full = True

    with pytest.raises(QuotaExceededError):
        await enqueuer.enqueue("u", "k", "echo", 1)

    assert claims.claims == {}
    enqueuer.quota.full = False
    assert not (await enqueuer.enqueue("u", "k", "echo", 1)).replayed
    assert len(producer.records) == 1


async def test_a_repeat_of_an_accepted_key_is_answered_even_past_the_quota() -> None:
    producer = FakeProducer()
    enqueuer, _, _ = _enqueuer(producer)
    first = await enqueuer.enqueue("u", "k", "echo", 1)
    enqueuer.quota.full = True

    again = await enqueuer.enqueue("u", "k", "echo", 1)

    assert (again.message.id, again.replayed) == (first.message.id, True)
    assert len(producer.records) == 1


async def test_a_claim_whose_owner_died_is_taken_over_with_its_request_id() -> None:
    producer = FakeProducer()
    enqueuer, claims, _ = _enqueuer(producer)
    now = utc_now()
    abandoned = Claim(
        id=claim_id("u", "k"),
        user_id="u",
        fingerprint=body_fingerprint("echo", 1),
        message=RequestMessage(
            id="r-1", user_id="u", type="echo", payload=1, enqueued_at=now, idempotency_key="k"
        ),
        lease_until=now - timedelta(seconds=1),
        expires_at=now + timedelta(hours=1),
    )
    claims.claims[abandoned.id] = abandoned

    taken = await enqueuer.enqueue("u", "k", "echo", 1)

    assert taken.message.id == "r-1"
    assert RequestMessage.decode(producer.records[0]["value"]).id == "r-1"


async def test_a_claim_whose_request_was_stored_is_answered_not_resent() -> None:
    producer = FakeProducer()
    enqueuer, claims, store = _enqueuer(producer)
    now = utc_now()
    claim = Claim(
        id=claim_id("u", "k"),
        user_id="u",
        fingerprint=body_fingerprint("echo", 1),
        message=RequestMessage(id="r-1", user_id="u", type="echo", payload=1, enqueued_at=now),
        lease_until=now - timedelta(seconds=1),
        expires_at=now + timedelta(hours=1),
    )
    claims.claims[claim.id] = claim
    # The owner died after Kafka's ack; the status document exists.
    store.documents.append({"_id": "r-1", "user_id": "u", "state": "queued"})

    answer = await enqueuer.enqueue("u", "k", "echo", 1)

    assert (answer.message.id, answer.replayed) == ("r-1", True)
    assert producer.records == []


async def test_an_expired_key_names_a_new_request() -> None:
    producer = FakeProducer()
    enqueuer, claims, _ = _enqueuer(producer)
    first = await enqueuer.enqueue("u", "k", "echo", {"v": 1})
    claims._replace(claim_id("u", "k"), expires_at=utc_now() - timedelta(seconds=1))

    # Even another body: the old key's promise has lapsed.
    second = await enqueuer.enqueue("u", "k", "echo", {"v": 2})

    assert second.message.id != first.message.id and not second.replayed
    assert len(producer.records) == 2
