"""Fair turns: in-flight slots handed round-robin over the users that have work ready.

A slot bounds how many attempts run at once. When more users are ready than
there are slots, a freed slot goes to the user who has waited longest since
their last turn; a user who gets a turn and wants another goes to the back.
So a user's wait for a slot grows with the number of users ready, never with
anyone's backlog. A user waiting out a retry backoff asks for no slot and is
not in the rotation.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class FairTurns:
    """``slots`` attempts at once; waiting users are served in rotation."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("at least one slot is needed")
        self._free = slots
        self._waiting: OrderedDict[Hashable, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def free(self) -> int:
        """Slots nobody holds."""
        return self._free

    @property
    def ready_users(self) -> int:
        """Users waiting for a slot."""
        return len(self._waiting)

    async def acquire(self, user: Hashable) -> None:
        """Wait for this user's turn and take a slot."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(user, deque()).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # the slot was ours already: pass it on
            else:
                self._withdraw(user, granted)
            raise

    def release(self) -> None:
        """Give the slot to the next user in rotation, or free it."""
        while self._waiting:
            user, waiters = self._waiting.popitem(last=False)
            granted = waiters.popleft()
            if waiters:
                self._waiting[user] = waiters  # more ready work: back of the rotation
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1

    def _withdraw(self, user: Hashable, granted: asyncio.Future[None]) -> None:
        waiters = self._waiting.get(user)
        if waiters is None:
            return
        try:
            waiters.remove(granted)
        except ValueError:
            return
        if not waiters:
            del self._waiting[user]

    @asynccontextmanager
    async def turn(self, user: Hashable) -> AsyncIterator[None]:
        """Hold a slot for the body of the ``async with``."""
        await self.acquire(user)
        try:
            yield
        finally:
            self.release()
