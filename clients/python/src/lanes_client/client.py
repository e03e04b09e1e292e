"""`LanesClient`: the same API without ``await``, running `AsyncLanesClient` on its own loop.

One implementation serves both: the sync client keeps a private event loop
(``asyncio.Runner``) and drives the async one on it, iterators included.
Use it from one thread at a time, like ``httpx.Client``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypedDict, TypeVar, Unpack

from lanes_client.aio import AsyncLanesClient, TokensListener
from lanes_client.retries import RetryPolicy
from lanes_client.types import (
    EnqueuedRequest,
    QueueSummary,
    RequestState,
    RequestView,
    StatusEvent,
    Tokens,
)

Item = TypeVar("Item")


class ClientOptions(TypedDict, total=False):
    """`AsyncLanesClient`'s keyword options, which `LanesClient` passes on as they are."""

    access_token: str | None
    refresh_token: str | None
    access_expires_at: float | None
    on_tokens: TokensListener | None
    retry: RetryPolicy | None
    timeout: float


class LanesClient:
    """The Lanes API, blocking. Use as ``with LanesClient(url) as lanes: ...``."""

    def __init__(self, base_url: str, **options: Unpack[ClientOptions]) -> None:
        self._runner = asyncio.Runner()
        try:
            self._client = self._runner.run(_construct(base_url, **options))
        except BaseException:
            self._runner.close()  # a bad option must not leak the private loop
            raise

    def __enter__(self) -> LanesClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and the private loop."""
        self._runner.run(self._client.aclose())
        self._runner.close()

    def _iterate(self, items: AsyncIterator[Item]) -> Iterator[Item]:
        try:
            while True:
                try:
                    yield self._runner.run(anext(items))  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            self._runner.run(items.aclose())  # type: ignore[attr-defined]

    def register(self, username: str, password: str, email: str | None = None) -> str:
        """Create an account; returns its user id."""
        return self._runner.run(self._client.register(username, password, email))

    def login(self, username: str, password: str) -> Tokens:
        """Log in; the client uses (and refreshes) the tokens from now on."""
        return self._runner.run(self._client.login(username, password))

    def refresh(self) -> Tokens:
        """Exchange the refresh token for new tokens now."""
        return self._runner.run(self._client.refresh())

    def enqueue(
        self, request_type: str, payload: Any = None, *, idempotency_key: str | None = None
    ) -> EnqueuedRequest:
        """Enqueue a request; retried safely (one Idempotency-Key for every try)."""
        return self._runner.run(
            self._client.enqueue(request_type, payload, idempotency_key=idempotency_key)
        )

    def get(self, request_id: str) -> RequestView:
        """One request: state, result or error, position and ETA while queued."""
        return self._runner.run(self._client.get(request_id))

    def list(
        self, state: RequestState | str | None = None, page_size: int = 50
    ) -> Iterator[RequestView]:
        """Every request of the caller, newest first, fetched a page at a time."""
        return self._iterate(self._client.list(state, page_size))

    def cancel(self, request_id: str) -> RequestView:
        """Cancel a queued request (cancelling twice is harmless)."""
        return self._runner.run(self._client.cancel(request_id))

    def replay(self, request_id: str) -> EnqueuedRequest:
        """Enqueue a dead-lettered request again (once)."""
        return self._runner.run(self._client.replay(request_id))

    def queue(self) -> QueueSummary:
        """Counts per state, pending, oldest queued age and the ETA of queued work."""
        return self._runner.run(self._client.queue())

    def watch(
        self, request_id: str | None = None, last_event_id: str | None = None
    ) -> Iterator[StatusEvent]:
        """State changes as they happen (see `AsyncLanesClient.watch`)."""
        return self._iterate(self._client.watch(request_id, last_event_id))


async def _construct(base_url: str, **options: Unpack[ClientOptions]) -> AsyncLanesClient:
    # Built on the runner's loop, where all its awaits will run.
    return AsyncLanesClient(base_url, **options)
