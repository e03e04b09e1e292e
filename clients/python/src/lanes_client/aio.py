"""`AsyncLanesClient`: the Lanes API on ``httpx.AsyncClient``.

Tokens refresh themselves: shortly before the access token expires, or once
after a 401, the refresh token is exchanged and the call repeated. Calls that
are safe to repeat (reads, cancel, replay, and enqueue, which always sends an
``Idempotency-Key``) are retried on 429/503 after ``Retry-After`` and on lost
connections; errors are `lanes_client.errors` exceptions carrying the code.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from lanes_client.errors import StreamError, TransportError, UnauthorizedError, api_error
from lanes_client.retries import RETRIED_STATUSES, RetryPolicy, retry_after_seconds
from lanes_client.sse import FrameParser
from lanes_client.types import (
    EnqueuedRequest,
    QueueSummary,
    RequestState,
    RequestView,
    StatusEvent,
    StreamedStatus,
    Tokens,
)

Model = TypeVar("Model", bound=BaseModel)
TokensListener = Callable[[Tokens], None]

# Refresh this long before the access token expires, so no call carries a dying one.
REFRESH_MARGIN_SECONDS = 30.0
SEEN_EVENTS_REMEMBERED = 10_000


class AsyncLanesClient:
    """The Lanes API, async. Use as ``async with AsyncLanesClient(url) as lanes: ...``."""

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        access_expires_at: float | None = None,
        on_tokens: TokensListener | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._access_token = access_token
        self._refresh_token = refresh_token
        self._expires_at = access_expires_at
        self._on_tokens = on_tokens
        self._retry = retry or RetryPolicy()
        self._refreshing = asyncio.Lock()

    async def __aenter__(self) -> AsyncLanesClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    # -- accounts ---------------------------------------------------------------------------

    async def register(self, username: str, password: str, email: str | None = None) -> str:
        """Create an account; returns its user id."""
        body: dict[str, Any] = {"username": username, "password": password}
        if email is not None:
            body["email"] = email
        answer = await self._send("POST", "/v1/auth/register", json=body, auth=False)
        return str(answer.json()["id"])

    async def login(self, username: str, password: str) -> Tokens:
        """Log in; the client uses (and refreshes) the tokens from now on."""
        body = {"username": username, "password": password}
        answer = await self._send("POST", "/v1/auth/login", json=body, auth=False, safe=False)
        return self._take_tokens(answer)

    async def refresh(self) -> Tokens:
        """Exchange the refresh token for new tokens now."""
        if self._refresh_token is None:
            raise UnauthorizedError(401, "no_refresh_token", "log in first", {})
        body = {"refresh_token": self._refresh_token}
        answer = await self._send("POST", "/v1/auth/refresh", json=body, auth=False, safe=False)
        return self._take_tokens(answer)

    def _take_tokens(self, answer: httpx.Response) -> Tokens:
        tokens = Tokens.model_validate(answer.json())
        self._access_token = tokens.access_token
        self._expires_at = time.time() + tokens.expires_in
        if tokens.refresh_token is not None:
            self._refresh_token = tokens.refresh_token
        if self._on_tokens is not None:
            self._on_tokens(tokens)
        return tokens

    # -- requests ---------------------------------------------------------------------------

    async def enqueue(
        self, request_type: str, payload: Any = None, *, idempotency_key: str | None = None
    ) -> EnqueuedRequest:
        """Enqueue a request; retried safely (one Idempotency-Key for every try)."""
        key = idempotency_key or str(uuid.uuid4())
        answer = await self._send(
            "POST",
            "/v1/requests",
            json={"type": request_type, "payload": payload},
            headers={"Idempotency-Key": key},
        )
        return EnqueuedRequest.model_validate(answer.json())

    async def get(self, request_id: str) -> RequestView:
        """One request: state, result or error, position and ETA while queued."""
        return _parse(RequestView, await self._send("GET", f"/v1/requests/{request_id}"))

    async def list(
        self, state: RequestState | str | None = None, page_size: int = 50
    ) -> AsyncIterator[RequestView]:
        """Every request of the caller, newest first, fetched a page at a time."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if state is not None:
                params["state"] = str(state)
            if cursor is not None:
                params["cursor"] = cursor
            page = (await self._send("GET", "/v1/requests", params=params)).json()
            for item in page["items"]:
                yield RequestView.model_validate(item)
            cursor = page.get("next_cursor")
            if cursor is None:
                return

    async def cancel(self, request_id: str) -> RequestView:
        """Cancel a queued request (cancelling twice is harmless)."""
        return _parse(RequestView, await self._send("DELETE", f"/v1/requests/{request_id}"))

    async def replay(self, request_id: str) -> EnqueuedRequest:
        """Enqueue a dead-lettered request again (once; repeating answers the same one)."""
        answer = await self._send("POST", f"/v1/requests/{request_id}/replay")
        return EnqueuedRequest.model_validate(answer.json())

    async def queue(self) -> QueueSummary:
        """Counts per state, pending, oldest queued age and the ETA of queued work."""
        return _parse(QueueSummary, await self._send("GET", "/v1/queue"))

    # -- events -----------------------------------------------------------------------------

    async def watch(
        self, request_id: str | None = None, last_event_id: str | None = None
    ) -> AsyncIterator[StatusEvent]:
        """State changes as they happen: one request's until it ends, or all of the caller's.

        A dropped connection is reopened with ``Last-Event-ID``; an expired
        token is refreshed and the stream reopened. Each change is yielded once.
        """
        path = "/v1/events" if request_id is None else f"/v1/requests/{request_id}/events"
        seen: deque[tuple[str, str, int]] = deque(maxlen=SEEN_EVENTS_REMEMBERED)
        failures = 0
        while True:
            headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
            try:
                async for event in self._stream(path, headers):
                    failures = 0
                    if event.id is not None:
                        last_event_id = event.id
                    key = (event.status.request_id, event.status.state.value, event.status.attempts)
                    if key in seen:
                        continue
                    seen.append(key)
                    yield event
                    if request_id is not None and event.status.state.is_terminal:
                        return
            except StreamError as exc:
                if exc.code != "token_expired" or self._refresh_token is None:
                    raise
                await self.refresh()
                continue
            except (httpx.TransportError, TransportError):
                failures += 1
                if failures >= self._retry.max_attempts:
                    raise
            await asyncio.sleep(self._retry.delay(max(failures, 1), None))

    async def _stream(self, path: str, headers: dict[str, str]) -> AsyncIterator[StatusEvent]:
        await self._ensure_fresh_token()
        request = self._http.build_request(
            "GET", path, headers={**headers, **self._auth_headers()}, timeout=None
        )
        response = await self._http.send(request, stream=True)
        try:
            if response.status_code >= 400:
                await response.aread()
                raise _error(response)
            parser = FrameParser()
            async for line in response.aiter_lines():
                frame = parser.feed(line)
                if frame is None:
                    continue
                if frame.event == "status":
                    status = StreamedStatus.model_validate(frame.data)
                    yield StatusEvent(id=frame.id, status=status)
                elif frame.event == "error":
                    raise StreamError(str(frame.data.get("code")), str(frame.data.get("message")))
        finally:
            await response.aclose()

    # -- the one way out ---------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token}"} if self._access_token else {}

    async def _ensure_fresh_token(self) -> None:
        if self._refresh_token is None or self._expires_at is None:
            return
        if time.time() < self._expires_at - REFRESH_MARGIN_SECONDS:
            return
        async with self._refreshing:
            if time.time() >= self._expires_at - REFRESH_MARGIN_SECONDS:
                await self.refresh()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        safe: bool = True,
    ) -> httpx.Response:
        """Send with auth, refresh once on 401, retry safe calls; raise typed errors."""
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            if auth:
                await self._ensure_fresh_token()
            sent_headers = {**(headers or {}), **(self._auth_headers() if auth else {})}
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=sent_headers
                )
            except httpx.TransportError as exc:
                if not safe or attempt >= self._retry.max_attempts:
                    raise TransportError(f"{method} {path}: {exc}") from exc
                await asyncio.sleep(self._retry.delay(attempt, None))
                continue
            if response.status_code == 401 and auth and not refreshed and self._refresh_token:
                refreshed = True
                await self.refresh()
                continue
            if (
                response.status_code in RETRIED_STATUSES
                and safe
                and attempt < self._retry.max_attempts
            ):
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                await asyncio.sleep(self._retry.delay(attempt, wait))
                continue
            if response.status_code >= 400:
                raise _error(response)
            return response


def _error(response: httpx.Response) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = None
    return api_error(
        response.status_code, body, retry_after_seconds(response.headers.get("Retry-After"))
    )


def _parse(model: type[Model], response: httpx.Response) -> Model:
    return model.model_validate(response.json())
