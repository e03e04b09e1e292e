"""The caller's stream: resume after a forced disconnect, isolation between users, bad input."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from lanes_devstack.waiting import eventually
from tests.events.conftest import EventsStack
from tests.events.sse import Frame, bearer, frames

pytestmark = pytest.mark.integration

TERMINAL = {"succeeded", "failed", "cancelled", "dead_lettered"}


async def enqueue_many(http: httpx.AsyncClient, token: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        answer = await http.post(
            "/v1/requests", json={"type": "sleep", "payload": {"ms": 20, "n": n}},
            headers=bearer(token),
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    return ids


async def read_until(
    http: httpx.AsyncClient,
    token: str,
    done: set[str],
    received: list[Frame],
    last_event_id: str | None = None,
    stop_after: int | None = None,
    opened: asyncio.Event | None = None,
) -> None:
    """Collect `status` frames until every id in ``done`` is terminal, or ``stop_after`` frames."""
    headers = bearer(token) | ({"Last-Event-ID": last_event_id} if last_event_id else {})
    async with http.stream("GET", "/v1/events", headers=headers) as response:
        assert response.status_code == 200
        if opened is not None:
            opened.set()
        count = 0
        async for frame in frames(response):
            assert frame.event == "status", frame
            received.append(frame)
            count += 1
            finished = {f.data["request_id"] for f in received if f.data["state"] in TERMINAL}
            if (done and done <= finished) or (stop_after is not None and count >= stop_after):
                return  # leaving the block drops the connection


async def test_resume_after_forced_disconnect_misses_nothing_and_users_stay_apart(
    events_stack: EventsStack,
) -> None:
    _, alice = events_stack.token()
    _, bob = events_stack.token()
    async with httpx.AsyncClient(base_url=events_stack.url, timeout=60) as http:
        bob_frames: list[Frame] = []
        bob_open = asyncio.Event()
        bob_ids: set[str] = set()
        watching_bob = asyncio.create_task(
            read_until(http, bob, bob_ids, bob_frames, opened=bob_open)
        )
        await asyncio.wait_for(bob_open.wait(), 10)

        first: list[Frame] = []
        alice_open = asyncio.Event()
        reading = asyncio.create_task(
            read_until(http, alice, set(), first, stop_after=4, opened=alice_open)
        )
        await asyncio.wait_for(alice_open.wait(), 10)
        ids = await enqueue_many(http, alice, 10)
        bob_ids.update(await enqueue_many(http, bob, 3))
        await asyncio.wait_for(reading, 30)  # disconnected after 4 events
        assert first[-1].id is not None

        # Continues the same list: a request may have finished before the disconnect.
        every = list(first)
        await asyncio.wait_for(read_until(http, alice, set(ids), every, first[-1].id), 60)
        await asyncio.wait_for(watching_bob, 60)

    seen = [(f.data["request_id"], f.data["state"]) for f in every]
    for request_id in ids:
        states = [state for rid, state in seen if rid == request_id]
        # Every step of every request, in order, across the disconnect.
        assert [s for s in states if s != "queued"] == ["processing", "succeeded"], states
    assert {rid for rid, _ in seen} == set(ids)
    assert {f.data["request_id"] for f in bob_frames} == bob_ids
    positions = [f.id for f in every]
    assert len(positions) == len(set(positions))  # nothing twice across the resume


async def test_bad_input_is_answered_plainly(events_stack: EventsStack) -> None:
    _, token = events_stack.token()
    async with httpx.AsyncClient(base_url=events_stack.url, timeout=30) as http:
        malformed = await http.get(
            "/v1/events", headers=bearer(token) | {"Last-Event-ID": "not-an-id"}
        )
        assert malformed.status_code == 400
        assert malformed.headers["content-type"] == "application/problem+json"
        assert malformed.json()["code"] == "invalid_last_event_id"
        for unknown in ("00000000-0000-4000-8000-000000000000", "nope"):
            missing = await http.get(f"/v1/requests/{unknown}/events", headers=bearer(token))
            assert missing.status_code == 404
            assert missing.json()["code"] == "not_found"
        anonymous = await http.get("/v1/events")
        assert anonymous.status_code == 401


async def test_expired_token_ends_the_stream_with_an_error_event(
    events_stack: EventsStack,
) -> None:
    _, token = events_stack.token(lifetime=2)
    async with (
        httpx.AsyncClient(base_url=events_stack.url, timeout=30) as http,
        http.stream("GET", "/v1/events", headers=bearer(token)) as response,
    ):
        assert response.status_code == 200
        received = [f async for f in frames(response)]
    assert [(f.event, f.data["code"]) for f in received] == [("error", "token_expired")]


async def test_streams_past_the_bound_answer_429_and_closing_frees_them(
    events_stack: EventsStack,
) -> None:
    _, token = events_stack.token()
    async with httpx.AsyncClient(base_url=events_stack.url, timeout=30) as http:
        for _ in range(2):  # the second round proves the first round's streams were freed
            streams = [http.stream("GET", "/v1/events", headers=bearer(token)) for _ in range(3)]
            opened = [await s.__aenter__() for s in streams]
            assert [r.status_code for r in opened] == [200, 200, 200]
            refused = await http.get("/v1/events", headers=bearer(token))
            assert refused.status_code == 429
            assert refused.json()["code"] == "too_many_streams"
            assert refused.headers["retry-after"]
            for s in streams:
                await s.__aexit__(None, None, None)
            await _until_stream_opens(http, token)


async def _until_stream_opens(http: httpx.AsyncClient, token: str) -> None:
    """The server notices closed connections asynchronously: poll until a slot is free."""

    async def stream_opens() -> bool:
        async with http.stream("GET", "/v1/events", headers=bearer(token)) as probe:
            return probe.status_code == 200

    await eventually(stream_opens, 10, "closed streams freed", interval=0.1)
