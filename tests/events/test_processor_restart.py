"""Killing the processor mid-stream (SIGKILL) and starting another: every stream still ends.

A request whose terminal write landed just before the kill but whose event
had not been published is consumed again; its write is then superseded and
the processor re-publishes the stored state, so no stream is left waiting.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from lanes_devstack.process import free_port
from lanes_devstack.waiting import eventually
from tests.events.conftest import EventsStack
from tests.events.sse import bearer, frames

pytestmark = pytest.mark.integration

USERS = 3
PER_USER = 12
TERMINAL = {"succeeded", "failed", "cancelled", "dead_lettered"}


async def test_streams_end_terminal_across_a_processor_kill(events_stack: EventsStack) -> None:
    stack = events_stack.stack
    tokens = [events_stack.token()[1] for _ in range(USERS)]
    async with httpx.AsyncClient(base_url=events_stack.url, timeout=60) as http:
        ids: dict[str, list[str]] = {}
        for token in tokens:
            ids[token] = []
            for n in range(PER_USER):
                answer = await http.post(
                    "/v1/requests", json={"type": "sleep", "payload": {"ms": 150, "n": n}},
                    headers=bearer(token),
                )  # fmt: skip
                assert answer.status_code == 202
                ids[token].append(answer.json()["id"])

        async def last_state(token: str, request_id: str) -> str:
            url = f"/v1/requests/{request_id}/events"
            async with http.stream("GET", url, headers=bearer(token)) as response:
                assert response.status_code == 200
                states = [f.data["state"] async for f in frames(response)]
            return states[-1]

        # Two streams per user on requests that finish only after the kill.
        watchers = [
            asyncio.create_task(last_state(token, request_id))
            for token in tokens
            for request_id in ids[token][-2:]
        ]
        victim = stack.processors[0]

        async def some_finished() -> bool:
            answer = await http.get("/v1/queue", headers=bearer(tokens[0]))
            return bool(answer.json()["counts"]["succeeded"] >= 3)

        await eventually(some_finished, 60, "some requests finished before the kill")
        victim.process.kill()
        stack.processors.remove(victim)
        await asyncio.to_thread(stack.start_processor, free_port())
        endings = await asyncio.wait_for(asyncio.gather(*watchers), 180)
    assert set(endings) <= TERMINAL and endings == ["succeeded"] * len(watchers)
