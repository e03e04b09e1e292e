"""One request's stream: its state from the store, then each change, in order, to the end."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.events.conftest import EventsStack
from tests.events.sse import Frame, bearer, frames

pytestmark = pytest.mark.integration


async def enqueue(http: httpx.AsyncClient, token: str, body: dict[str, object]) -> str:
    answer = await http.post("/v1/requests", json=body, headers=bearer(token))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


async def read_request_stream(http: httpx.AsyncClient, token: str, request_id: str) -> list[Frame]:
    """Every event of the request's stream until the server ends it."""
    received = []
    url = f"/v1/requests/{request_id}/events"
    async with http.stream("GET", url, headers=bearer(token)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for frame in frames(response):
            received.append(frame)
    return received


async def test_stream_sees_queued_processing_succeeded_in_order(
    events_stack: EventsStack,
) -> None:
    _, token = events_stack.token()
    async with httpx.AsyncClient(base_url=events_stack.url, timeout=30) as http:
        # A request ahead keeps the watched one queued while its stream opens.
        await enqueue(http, token, {"type": "sleep", "payload": {"ms": 400}})
        watched = await enqueue(http, token, {"type": "echo", "payload": {"n": 1}})
        received = await asyncio.wait_for(read_request_stream(http, token, watched), 30)
    assert [f.data["state"] for f in received] == ["queued", "processing", "succeeded"]
    assert {f.data["request_id"] for f in received} == {watched}
    assert received[0].id is None  # read from the store
    assert all(f.id for f in received[1:])  # from the topic: resumable


async def test_retrying_request_shows_each_attempt(events_stack: EventsStack) -> None:
    _, token = events_stack.token()
    async with httpx.AsyncClient(base_url=events_stack.url, timeout=30) as http:
        await enqueue(http, token, {"type": "sleep", "payload": {"ms": 300}})
        failing = await enqueue(http, token, {"type": "fail", "payload": {"message": "no"}})
        received = await asyncio.wait_for(read_request_stream(http, token, failing), 30)
    steps = [(f.data["state"], f.data["attempts"]) for f in received]
    assert steps == [
        ("queued", 0),
        ("processing", 1),
        ("processing", 2),
        ("processing", 3),
        ("dead_lettered", 3),
    ]
    assert received[-1].data["error_code"] == "handler_error"


async def test_finished_request_streams_its_end_and_closes(events_stack: EventsStack) -> None:
    _, token = events_stack.token()
    async with httpx.AsyncClient(base_url=events_stack.url, timeout=30) as http:
        done = await enqueue(http, token, {"type": "echo", "payload": 1})
        first = await asyncio.wait_for(read_request_stream(http, token, done), 30)
        assert first[-1].data["state"] == "succeeded"
        again = await asyncio.wait_for(read_request_stream(http, token, done), 30)
    assert [f.data["state"] for f in again] == ["succeeded"]
