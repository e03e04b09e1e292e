"""The two kinds of stream: all of a user's changes, and one request's until it ends.

A stream ends by itself when the caller's token expires (an ``error`` event
``token_expired`` says so), when it fell too far behind (``slow_consumer``),
and, for one request, after its terminal state. Whatever ends it, the
subscription is released (``finally``), also when the client goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from lanes_common.status_events import StatusEvent
from lanes_gateway.events.hub import Delivered, Resume, StatusHub, Subscription
from lanes_gateway.events.sse import HEARTBEAT, control_frame, retry_frame, status_frame


class _Expired(Exception):
    """The caller's token expired while the stream was open."""


async def _next_events(
    subscription: Subscription, expires_at: float, heartbeat_seconds: float
) -> list[Delivered]:
    """The events pending for the stream; empty after ``heartbeat_seconds`` without any."""
    if subscription.pending or subscription.overflowed:
        return subscription.take()
    remaining = expires_at - time.time()
    if remaining <= 0:
        raise _Expired
    try:
        await asyncio.wait_for(subscription.wake.wait(), min(heartbeat_seconds, remaining))
    except TimeoutError:
        if time.time() >= expires_at:
            raise _Expired from None
        return []
    return subscription.take()


async def _live(
    subscription: Subscription, expires_at: float, heartbeat_seconds: float
) -> AsyncGenerator[Delivered | bytes, None]:
    """What a stream sends once it is live, until the token expires or it falls behind.

    Events come as `Delivered`, for the stream to filter and frame; what it
    sends as it is (a heartbeat, the closing error) comes as a frame.
    """
    while True:
        try:
            batch = await _next_events(subscription, expires_at, heartbeat_seconds)
        except _Expired:
            yield control_frame(
                "error", "token_expired", "the access token expired; reconnect with a new one"
            )
            return
        if subscription.overflowed:
            yield control_frame(
                "error",
                "slow_consumer",
                "the stream fell too far behind; reconnect with Last-Event-ID",
            )
            return
        if not batch:
            yield HEARTBEAT
        for delivered in batch:
            yield delivered


async def user_events(
    hub: StatusHub,
    subscription: Subscription,
    resume: Resume,
    expires_at: float,
    heartbeat_seconds: float,
) -> AsyncIterator[bytes]:
    """Every state change of the subscriber's requests while connected, resumed first."""
    try:
        yield retry_frame()
        if not resume.complete:
            yield control_frame(
                "resync",
                "resume_window_passed",
                "events older than the resume window were not kept; read the requests again",
            )
        for delivered in resume.missed:
            yield status_frame(delivered.event, delivered.position)
        async with aclosing(_live(subscription, expires_at, heartbeat_seconds)) as live:
            async for item in live:
                yield item if isinstance(item, bytes) else status_frame(item.event, item.position)
    finally:
        hub.unsubscribe(subscription)


async def request_events(
    hub: StatusHub,
    subscription: Subscription,
    current: StatusEvent,
    expires_at: float,
    heartbeat_seconds: float,
) -> AsyncIterator[bytes]:
    """One request's state from the store, then each later change of it, until terminal.

    The subscription was opened before the store was read, so a change made
    in between arrives as an event; events the store read already showed are
    dropped (`StatusEvent.supersedes`).
    """
    try:
        yield retry_frame()
        yield status_frame(current, None)
        if current.state.is_terminal:
            return
        latest = current
        async with aclosing(_live(subscription, expires_at, heartbeat_seconds)) as live:
            async for item in live:
                if isinstance(item, bytes):
                    yield item
                    continue
                event = item.event
                if event.request_id != current.request_id or not event.supersedes(latest):
                    continue
                latest = event
                yield status_frame(event, item.position)
                if event.state.is_terminal:
                    return
    finally:
        hub.unsubscribe(subscription)
