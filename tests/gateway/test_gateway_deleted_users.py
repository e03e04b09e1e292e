"""`DeletedUsers`: deleted accounts refused for good, live ones trusted for a few seconds."""

from __future__ import annotations

from typing import Any

from lanes_gateway.deleted_users import DeletedUsers


class Tombstones:
    """The ``deleted_users`` collection's one query, and how often it was asked."""

    def __init__(self) -> None:
        self.deleted: set[str] = set()
        self.reads = 0

    async def find_one(self, query: dict[str, Any], projection: Any = None) -> Any:
        self.reads += 1
        return {"_id": query["_id"]} if query["_id"] in self.deleted else None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _deleted_users(live_for: float) -> tuple[DeletedUsers, Tombstones, Clock]:
    tombstones, clock = Tombstones(), Clock()
    return DeletedUsers(tombstones, live_for, clock), tombstones, clock  # type: ignore[arg-type]


async def test_a_live_account_is_read_once_per_interval() -> None:
    users, tombstones, clock = _deleted_users(live_for=5)

    assert [await users.contains("u") for _ in range(3)] == [False] * 3
    tombstones.deleted.add("u")  # deleted through another gateway
    clock.now += 4.9
    assert not await users.contains("u")
    clock.now += 0.1

    assert await users.contains("u")
    assert tombstones.reads == 2


async def test_a_deleted_account_stays_refused_without_asking_again() -> None:
    users, tombstones, _ = _deleted_users(live_for=5)
    tombstones.deleted.add("u")

    assert await users.contains("u") and await users.contains("u")
    assert tombstones.reads == 1


async def test_a_deletion_forwarded_here_is_refused_at_once() -> None:
    users, tombstones, _ = _deleted_users(live_for=60)
    assert not await users.contains("u")

    users.mark_deleted("u")

    assert await users.contains("u")
    assert tombstones.reads == 1


async def test_no_cache_asks_every_time() -> None:
    users, tombstones, _ = _deleted_users(live_for=0)

    for _ in range(3):
        await users.contains("u")

    assert tombstones.reads == 3
