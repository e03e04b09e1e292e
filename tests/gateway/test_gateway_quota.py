"""`Quota`: counts read from the store at most every few seconds, refusals re-checked."""

from __future__ import annotations

import pytest

from lanes_gateway.errors import QuotaExceededError
from lanes_gateway.quota import RECHECK_SECONDS, REFRESH_SECONDS, Quota


class CountingStore:
    """The store's queued count, and how often it was asked."""

    def __init__(self, queued: int) -> None:
        self.queued = queued
        self.reads = 0

    async def count_queued(self, user_id: str) -> int:
        self.reads += 1
        return self.queued


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _quota(queued: int, limit: int = 3) -> tuple[Quota, CountingStore, Clock]:
    store, clock = CountingStore(queued), Clock()
    return Quota(store, limit, clock), store, clock  # type: ignore[arg-type]


async def test_reservations_count_up_to_the_limit_with_one_read() -> None:
    quota, store, _ = _quota(queued=1)

    await quota.reserve("u")
    await quota.reserve("u")
    with pytest.raises(QuotaExceededError):
        await quota.reserve("u")

    assert store.reads == 1


async def test_a_refusal_reads_the_count_again_once_it_is_not_brand_new() -> None:
    quota, store, clock = _quota(queued=3)
    with pytest.raises(QuotaExceededError):
        await quota.reserve("u")
    store.queued = 0  # the processor drained the queue

    with pytest.raises(QuotaExceededError):
        await quota.reserve("u")  # the count is too fresh to read again
    clock.now += RECHECK_SECONDS
    await quota.reserve("u")

    assert store.reads == 2


async def test_the_count_is_read_again_after_the_refresh_interval() -> None:
    quota, store, clock = _quota(queued=0, limit=100)
    await quota.reserve("u")
    store.queued = 99  # another gateway accepted many meanwhile

    await quota.reserve("u")
    clock.now += REFRESH_SECONDS
    with pytest.raises(QuotaExceededError):
        await quota.reserve("u")
        await quota.reserve("u")

    assert store.reads == 2


async def test_users_are_counted_apart_and_forgetting_reads_again() -> None:
    quota, store, _ = _quota(queued=2, limit=3)
    await quota.reserve("alice")
    with pytest.raises(QuotaExceededError):
        await quota.reserve("alice")
    await quota.reserve("bob")
    store.queued = 1  # alice cancelled one

    quota.forget("alice")
    await quota.reserve("alice")

    assert store.reads == 3
