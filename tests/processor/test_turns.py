"""Fair turns: freed slots go round-robin over the users with work ready."""

from __future__ import annotations

import asyncio

import pytest

from lanes_processor.consumer.turns import FairTurns

WAIT = 2.0


async def settle() -> None:
    """Let every task that can run, run (no timing: a few loop passes)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Users:
    """Users that each want ``turns`` turns; records who got each freed slot."""

    def __init__(self, turns: FairTurns) -> None:
        self.turns = turns
        self.order: list[str] = []
        self.holding: dict[str, asyncio.Event] = {}

    async def want(self, user: str, times: int) -> None:
        for _ in range(times):
            await self.turns.acquire(user)
            self.order.append(user)
            done = self.holding[user] = asyncio.Event()
            await done.wait()
            self.turns.release()

    def finish(self, user: str) -> None:
        self.holding.pop(user).set()


async def test_a_free_slot_is_taken_at_once() -> None:
    turns = FairTurns(2)
    await asyncio.wait_for(turns.acquire("a"), WAIT)
    await asyncio.wait_for(turns.acquire("a"), WAIT)
    assert turns.free == 0


async def test_a_heavy_user_takes_one_turn_per_round_among_light_users() -> None:
    turns = FairTurns(1)
    users = Users(turns)
    tasks = [asyncio.create_task(users.want("heavy", 50))]
    await settle()
    assert users.order == ["heavy"]
    tasks += [asyncio.create_task(users.want(f"light-{n}", 1)) for n in range(3)]
    await settle()
    for _ in range(8):
        users.finish(users.order[-1])
        await settle()
    # After its first turn the heavy user waits behind each light user once, not the reverse.
    assert users.order[:6] == ["heavy", "light-0", "light-1", "light-2", "heavy", "heavy"]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_turns_rotate_over_every_ready_user() -> None:
    turns = FairTurns(2)
    users = Users(turns)
    tasks = [asyncio.create_task(users.want(u, 3)) for u in "abcd"]
    await settle()
    assert users.order == ["a", "b"]
    for _ in range(10):
        users.finish(users.order[-2] if users.order[-2] in users.holding else users.order[-1])
        await settle()
    # Every user got a second turn before any user got a third.
    seconds = [i for i, u in enumerate(users.order) if users.order[: i + 1].count(u) == 2]
    thirds = [i for i, u in enumerate(users.order) if users.order[: i + 1].count(u) == 3]
    assert len(seconds) == 4 and thirds and max(seconds) < min(thirds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_user_who_stops_waiting_is_skipped_and_the_slot_not_lost() -> None:
    turns = FairTurns(1)
    await turns.acquire("holder")
    quitter = asyncio.create_task(turns.acquire("quitter"))
    stayer = asyncio.create_task(turns.acquire("stayer"))
    await settle()
    assert turns.ready_users == 2
    quitter.cancel()
    await asyncio.gather(quitter, return_exceptions=True)
    turns.release()
    await asyncio.wait_for(stayer, WAIT)
    turns.release()
    assert turns.free == 1
    assert turns.ready_users == 0


async def test_a_slot_granted_to_a_cancelled_waiter_passes_on() -> None:
    turns = FairTurns(1)
    await turns.acquire("holder")
    granted_then_cancelled = asyncio.create_task(turns.acquire("a"))
    next_in_line = asyncio.create_task(turns.acquire("b"))
    await settle()
    turns.release()  # "a" is granted the slot ...
    granted_then_cancelled.cancel()  # ... but cancelled before it runs
    await asyncio.gather(granted_then_cancelled, return_exceptions=True)
    await asyncio.wait_for(next_in_line, WAIT)
    assert turns.free == 0


async def test_the_context_manager_releases_on_error() -> None:
    turns = FairTurns(1)
    with pytest.raises(RuntimeError):
        async with turns.turn("a"):
            raise RuntimeError("handler bug")
    assert turns.free == 1


def test_zero_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        FairTurns(0)
